/* Rules in `earlyflow run`: which rules raise alerts for which verdicts,
 * through the whole host (capture -> verdict -> rules -> EVE alert events,
 * stats and summary). Covers rules from -S and from the config's rule-files
 * with default-rule-path, address/port variables from vars, direction (the
 * client is the source) and `<>`, early.label lists and negation,
 * early.score comparisons and ranges, early.k (and the k it adds), pass
 * rules, drop rules in a passive host, the alert object's fields, and rules
 * with errors skipped with file:line:col while the rest load. Labels and
 * scores come from the steering models (tests/data/host/steer.json): a
 * flow's first packet size picks them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_run_util.h"

#define T0 1650000000000000ull
#define MS 1000ull

typedef struct tflow {
    uint8_t proto;
    const char *cli;
    uint16_t cport;
    const char *srv;
    uint16_t sport;
    unsigned first; /* first packet's IP size: the label */
} tflow_t;

/* One packet each: every verdict is at flow end (k=5 and k=3 alike). */
static const tflow_t flows[] = {
    /* F1 */ {6, "203.0.113.5", 40000, "192.168.1.10", 80, 40},    /* NetworkScan .978, ext->home */
    /* F2 */ {6, "192.168.1.20", 50000, "203.0.113.9", 8080, 40},  /* NetworkScan, home->ext */
    /* F3 */ {17, "192.168.1.30", 1234, "192.168.1.31", 53, 100},  /* DoS .992, internal DNS */
    /* F4 */ {17, "192.168.1.40", 1111, "192.168.1.41", 2222, 60}, /* PortScan .976 */
    /* F5 */ {17, "203.0.113.7", 5555, "192.168.2.2", 9999, 48},   /* NetworkScan .594 */
    /* F6 */ {17, "203.0.113.8", 6666, "192.168.3.3", 443, 250},   /* Unlabeled .984 */
};
#define NF (int)(sizeof flows / sizeof flows[0])

static const char vars_yaml[] = "vars:\n"
                                "  address-groups:\n"
                                "    HOME_NET: \"[192.168.0.0/16]\"\n"
                                "    EXTERNAL_NET: \"!$HOME_NET\"\n"
                                "  port-groups:\n"
                                "    WEB: \"[80,8080]\"\n";

static const char rules_text[] =
    "# rules for test_run_rules\n"
    "alert tcp $EXTERNAL_NET any -> $HOME_NET $WEB (msg:\"ext scan\"; early.label:NetworkScan; "
    "early.score:>=0.9; classtype:network-scan; sid:1; rev:3;)\n"
    "alert tcp $HOME_NET 80 <> $EXTERNAL_NET any (msg:\"either way\"; early.label:NetworkScan; "
    "sid:2;)\n"
    "alert tcp $HOME_NET 80 -> $EXTERNAL_NET any (msg:\"one way\"; early.label:NetworkScan; sid:12;)\n"
    "alert udp any any -> any any (msg:\"label list\"; early.label:DoS,PortScan; sid:3;)\n"
    "alert udp any any -> any any (msg:\"negated list\"; early.label:!NetworkScan,Unlabeled; "
    "sid:4;)\n"
    "alert udp any any -> any any (msg:\"low score\"; early.label:NetworkScan; early.score:<0.9; "
    "priority:1; sid:5;)\n"
    "alert udp any any -> any ![53,9999] (msg:\"ports\"; early.score:>0.95; sid:6;)\n"
    "drop udp any any -> 192.168.3.0/24 1:1024 (msg:\"drop is logged allowed\"; early.k:3; "
    "sid:7;)\n"
    "alert ip any any -> any any (msg:\"score range\"; early.score:0.5-0.6; gid:7; sid:8;)\n"
    "pass udp $HOME_NET any -> $HOME_NET 53 (msg:\"internal dns is fine\"; sid:9;)\n"
    "alert udp any any -> any any (msg:\"never at k=10\"; early.k:10; early.label:Other; "
    "sid:10;)\n";

/* Expected alerts: sids per flow (k=5 unless noted). */
static const int expect[NF][4] = {
    {1, 2, 0},    /* F1: ext scan, <> (server side is home:80); not 12 */
    {0},          /* F2: home -> ext: sid 1 is directional */
    {0},          /* F3: the pass rule silences 3 and 4 */
    {3, 4, 6, 0}, /* F4 */
    {5, 8, 0},    /* F5 */
    {6, 7, 0},    /* F6: 7 at k=3 */
};

static void write_flows(const char *path)
{
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < NF; i++) {
        pb_flow_t fl;
        ck_assert_int_eq(pb_flow_init(&fl, flows[i].proto, flows[i].cli, flows[i].cport,
                                      flows[i].srv, flows[i].sport),
                         0);
        put_pkt(w, &fl, T0 + (uint64_t)i * MS, PB_C2S, flows[i].proto == 6 ? PB_SYN : 0,
                flows[i].first);
    }
    ck_assert_int_eq(pb_writer_close(w), 0);
}

static int flow_index(const ef_json_value_t *ev)
{
    for (int i = 0; i < NF; i++)
        if (!strcmp(jstr(ev, "src_ip"), flows[i].cli))
            return i;
    ck_abort_msg("alert for an unknown flow %s", jstr(ev, "src_ip"));
    return -1;
}

/* The alerts of a run must be exactly `expect`. */
static void check_alerts(const eve_t *e)
{
    int got[NF][16] = {{0}};
    size_t total = 0, want_total = 0;
    for (size_t i = 0; i < e->n; i++) {
        const ef_json_value_t *ev = e->ev[i];
        if (!is_type(ev, "alert"))
            continue;
        int f = flow_index(ev);
        uint64_t sid = ju64(ev, "alert.signature_id");
        ck_assert_uint_lt(sid, 16);
        got[f][sid]++;
        total++;
        /* the verdict that raised it rides along */
        steer_probe_t p = steer_probe(flows[f].first);
        ck_assert_str_eq(jstr(ev, "early.label"), p.label);
        ck_assert_uint_eq(ju64(ev, "early.k"), sid == 7 ? 3 : 5);
        ck_assert_str_eq(jstr(ev, "alert.action"), "allowed");
    }
    for (int f = 0; f < NF; f++) {
        for (int j = 0; expect[f][j]; j++) {
            ck_assert_msg(got[f][expect[f][j]] == 1, "flow F%d: sid %d raised %d times", f + 1,
                          expect[f][j], got[f][expect[f][j]]);
            want_total++;
        }
    }
    ck_assert_msg(total == want_total, "%zu alerts, expected %zu", total, want_total);
}

typedef struct env {
    char *dir, *pcap;
} env_t;

static env_t env_new(void)
{
    env_t v;
    v.dir = eft_mkdtemp("run-rules");
    v.pcap = eft_path(v.dir, "f.pcap");
    write_flows(v.pcap);
    write_text(v.dir, "r.rules", rules_text);
    return v;
}

static void env_free(env_t *v)
{
    eft_rmtree(v->dir);
    free(v->dir);
    free(v->pcap);
}

static eve_t *read_eve_in(const char *dir, const char *sub)
{
    char *p = pathf(dir, "%s/eve.json", sub);
    eve_t *e = eve_read(p);
    free(p);
    return e;
}

START_TEST(rules_from_S)
{
    env_t v = env_new();
    char *cfg = steer_config("[5]", vars_yaml);
    write_text(v.dir, "c.yaml", cfg);
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -S '%s/r.rules' -r '%s' -l '%s/o'", v.dir, v.dir, v.pcap, v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "11 rules loaded, 0 skipped"), "%s", r.err);
    eve_t *e = read_eve_in(v.dir, "o");
    check_alerts(e);

    /* the alert object, field by field */
    int checked = 0;
    for (size_t i = 0; i < e->n; i++) {
        const ef_json_value_t *ev = e->ev[i];
        if (!is_type(ev, "alert"))
            continue;
        uint64_t sid = ju64(ev, "alert.signature_id");
        if (sid == 1) {
            ck_assert_uint_eq(ju64(ev, "alert.gid"), 1);
            ck_assert_uint_eq(ju64(ev, "alert.rev"), 3);
            ck_assert_str_eq(jstr(ev, "alert.signature"), "ext scan");
            ck_assert_str_eq(jstr(ev, "alert.category"), "Detection of a Network Scan");
            ck_assert_uint_eq(ju64(ev, "alert.severity"), 3);
            ck_assert_str_eq(jstr(ev, "src_ip"), "203.0.113.5");
            ck_assert_str_eq(jstr(ev, "dest_ip"), "192.168.1.10");
            ck_assert_uint_eq(ju64(ev, "dest_port"), 80);
            ck_assert_str_eq(jstr(ev, "proto"), "TCP");
            ck_assert_double_eq_tol(jnum(ev, "early.score"), steer_probe(40).score, 1e-5);
            ck_assert_int_eq(jbool(ev, "early.at_flow_end"), 1);
            ck_assert_ptr_nonnull(jget(ev, "flow_id"));
            checked++;
        } else if (sid == 5) {
            ck_assert_uint_eq(ju64(ev, "alert.severity"), 1); /* priority:1 */
            ck_assert_uint_eq(ju64(ev, "alert.rev"), 0);
            ck_assert_str_eq(jstr(ev, "alert.category"), "");
            checked++;
        } else if (sid == 7) {
            ck_assert_str_eq(jstr(ev, "alert.action"), "allowed"); /* a passive host */
            ck_assert_uint_eq(ju64(ev, "early.k"), 3);
            ck_assert_str_eq(jstr(ev, "early.model"), "steer_k3");
            checked++;
        } else if (sid == 8) {
            ck_assert_uint_eq(ju64(ev, "alert.gid"), 7);
            checked++;
        }
    }
    ck_assert_int_eq(checked, 4);
    /* an alert carries the flow_id of its flow's early events */
    for (size_t i = 0; i < e->n; i++) {
        if (!is_type(e->ev[i], "alert"))
            continue;
        int matched = 0;
        for (size_t j = 0; j < e->n; j++)
            if (is_type(e->ev[j], "early") &&
                !strcmp(jstr(e->ev[j], "src_ip"), jstr(e->ev[i], "src_ip"))) {
                ck_assert_uint_eq(ju64(e->ev[j], "flow_id"), ju64(e->ev[i], "flow_id"));
                ck_assert_str_eq(jstr(e->ev[j], "timestamp"), jstr(e->ev[i], "timestamp"));
                matched++;
            }
        ck_assert_int_ge(matched, 1);
    }
    /* the k=3 verdicts exist because sid 7 asked for them (config says [5]) */
    size_t k3 = 0;
    for (size_t i = 0; i < e->n; i++)
        if (is_type(e->ev[i], "early") && ju64(e->ev[i], "early.k") == 3)
            k3++;
    ck_assert_uint_eq(k3, NF);
    /* stats and summary count alerts per gid:sid */
    const ef_json_value_t *st = e->ev[e->n - 1];
    ck_assert_uint_eq(ju64(st, "stats.detect.alerts"), 9);
    ck_assert_uint_eq(ju64(st, "stats.detect.sids.1:6"), 2);
    ck_assert_uint_eq(ju64(st, "stats.detect.sids.7:8"), 1);
    ck_assert_ptr_null(jget(st, "stats.detect.sids.1:9")); /* pass rules raise nothing */
    ck_assert_msg(strstr(r.out, "    1:6                   2  ports\n"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "    7:8                   1  score range\n"), "%s", r.out);
    /* sorted by (gid, sid) */
    const char *s1 = strstr(r.out, "    1:1 "), *s7 = strstr(r.out, "    1:7 "),
               *s8 = strstr(r.out, "    7:8 ");
    ck_assert(s1 && s7 && s8 && s1 < s7 && s7 < s8);
    eve_free(e);
    run_free(&r);
    free(cfg);
    env_free(&v);
}
END_TEST

/* The same rules from the config: rule-files joined to default-rule-path;
 * -S replaces the config's rule-files. */
START_TEST(rules_from_config)
{
    env_t v = env_new();
    char *extra = NULL, *cfg = NULL;
    ck_assert_int_ge(asprintf(&extra, "%sdefault-rule-path: %s\nrule-files:\n  - r.rules\n",
                              vars_yaml, v.dir),
                     0);
    cfg = steer_config("[5]", extra);
    write_text(v.dir, "c.yaml", cfg);
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s/o'", v.dir, v.pcap, v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    eve_t *e = read_eve_in(v.dir, "o");
    check_alerts(e);
    eve_free(e);
    run_free(&r);

    /* a config naming a missing rules file: the load fails, naming it */
    free(extra);
    free(cfg);
    ck_assert_int_ge(asprintf(&extra, "%sdefault-rule-path: %s\nrule-files:\n  - missing.rules\n",
                              vars_yaml, v.dir),
                     0);
    cfg = steer_config("[5]", extra);
    write_text(v.dir, "c2.yaml", cfg);
    run_host(&r, "-c '%s/c2.yaml' -r '%s' -l '%s/o2'", v.dir, v.pcap, v.dir);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_msg(strstr(r.err, "missing.rules"), "%s", r.err);
    run_free(&r);
    /* ... unless -S replaces the list */
    write_text(v.dir, "one.rules",
               "alert udp any any -> any any (msg:\"only\"; early.label:Unlabeled; sid:77;)\n");
    run_host(&r, "-c '%s/c2.yaml' -S '%s/one.rules' -r '%s' -l '%s/o3'", v.dir, v.dir, v.pcap,
             v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    e = read_eve_in(v.dir, "o3");
    ck_assert_uint_eq(eve_count(e, "alert"), 1);
    eve_free(e);
    run_free(&r);
    free(extra);
    free(cfg);
    env_free(&v);
}
END_TEST

/* A rule using a variable the config does not define is skipped with its
 * position; a broken variable definition stops the run. */
START_TEST(rule_variables)
{
    env_t v = env_new();
    char *cfg = steer_config("[5]", NULL); /* no vars at all */
    write_text(v.dir, "c.yaml", cfg);
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -S '%s/r.rules' -r '%s' -l '%s/o'", v.dir, v.dir, v.pcap, v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char want[512];
    snprintf(want, sizeof want, "%s/r.rules:2:11: error: rule sid 1: source address: unknown "
                                "address variable $EXTERNAL_NET", v.dir);
    ck_assert_msg(strstr(r.err, want), "no '%s' in %s", want, r.err);
    ck_assert_msg(strstr(r.err, "7 rules loaded, 4 skipped"), "%s", r.err);
    run_free(&r);
    free(cfg);

    cfg = steer_config("[5]", "vars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/33]\"\n");
    write_text(v.dir, "c2.yaml", cfg);
    run_host(&r, "-c '%s/c2.yaml' -S '%s/r.rules' -r '%s' -l '%s/o2'", v.dir, v.dir, v.pcap,
             v.dir);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_msg(strstr(r.err, "HOME_NET") && strstr(r.err, "c2.yaml"), "%s", r.err);
    run_free(&r);
    free(cfg);
    env_free(&v);
}
END_TEST

START_TEST(rules_with_errors_are_skipped)
{
    env_t v = env_new();
    char *cfg = steer_config("[5]", NULL);
    write_text(v.dir, "c.yaml", cfg);
    write_text(v.dir, "bad.rules",
               "alert udp any any -> any any (msg:\"good\"; early.label:!Unknown; sid:100;)\n"
               "alert udp any any -> any any (msg:\"c\"; content:\"x\"; sid:101;)\n"
               "alert udp any any -> any any (msg:\"bad label\"; early.label:Scan; sid:102;)\n"
               "alert udp any any -> any any (msg:\"no sid\";)\n"
               "alert udp any any -> any any (msg:\"bad k\"; early.k:7; sid:104;)\n"
               "alert foo any any -> any any (msg:\"bad proto\"; sid:105;)\n"
               "alert udp any any -> any any (msg:\"also good\"; early.score:>0.5; sid:106;)\n");
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -S '%s/bad.rules' -r '%s' -l '%s/o'", v.dir, v.dir, v.pcap,
             v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    static const char *const diags[] = {
        "bad.rules:2:40: error: rule sid 101: unsupported keyword 'content'",
        "bad.rules:3:60: error: rule sid 102: early.label: unknown label 'Scan'",
        "bad.rules:4:1: error: rule: rule has no sid",
        "bad.rules:5:",
        "bad.rules:6:",
    };
    for (size_t i = 0; i < sizeof diags / sizeof diags[0]; i++)
        ck_assert_msg(strstr(r.err, diags[i]), "no '%s' in %s", diags[i], r.err);
    ck_assert_msg(strstr(r.err, "2 rules loaded, 5 skipped"), "%s", r.err);
    eve_t *e = read_eve_in(v.dir, "o");
    /* sid 100 for every UDP flow (none is Unknown), sid 106 too (every score
     * is > 0.5); the two TCP flows match neither */
    size_t a100 = 0, a106 = 0, other = 0;
    for (size_t i = 0; i < e->n; i++)
        if (is_type(e->ev[i], "alert")) {
            uint64_t sid = ju64(e->ev[i], "alert.signature_id");
            a100 += sid == 100;
            a106 += sid == 106;
            other += sid != 100 && sid != 106;
        }
    ck_assert_uint_eq(a100, NF - 2);
    ck_assert_uint_eq(a106, NF - 2);
    ck_assert_uint_eq(other, 0);
    eve_free(e);
    run_free(&r);

    /* a file where every rule is broken: the run goes on with verdicts only */
    write_text(v.dir, "allbad.rules", "this is not a rule\n");
    run_host(&r, "-c '%s/c.yaml' -S '%s/allbad.rules' -r '%s' -l '%s/o2'", v.dir, v.dir, v.pcap,
             v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "allbad.rules:1:"), "%s", r.err);
    e = read_eve_in(v.dir, "o2");
    ck_assert_uint_eq(eve_count(e, "alert"), 0);
    ck_assert_uint_eq(eve_count(e, "early"), NF);
    eve_free(e);
    run_free(&r);

    /* -S naming a missing file: an error naming it */
    run_host(&r, "-S '%s/nope.rules' -r '%s' -l '%s/o3'", v.dir, v.pcap, v.dir);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_msg(strstr(r.err, "nope.rules"), "%s", r.err);
    run_free(&r);
    free(cfg);
    env_free(&v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_rules");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rules_from_S);
    tcase_add_test(tc, rules_from_config);
    tcase_add_test(tc, rule_variables);
    tcase_add_test(tc, rules_with_errors_are_skipped);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
