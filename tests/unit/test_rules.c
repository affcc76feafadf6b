/* Rules: parser acceptance for every syntax element, every error path with
 * its file:line:col, matching semantics, pathological inputs, and the
 * `earlyflow rules --check` command. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diags.h"
#include "eftest.h"
#include "data/taxonomy.h"
#include "ids/classification.h"
#include "ids/config.h"
#include "ids/rules.h"

/* ---- helpers ------------------------------------------------------------------ */

static void dump(const diags_t *ds)
{
    for (int i = 0; i < ds->n; i++)
        fprintf(stderr, "  diag: %s\n", ds->line[i]);
}

#define ASSERT_DIAG(ds, needle)                                                                    \
    do {                                                                                           \
        if (!has_diag((ds), (needle))) {                                                           \
            dump(ds);                                                                              \
            ck_abort_msg("missing diagnostic: %s", (needle));                                     \
        }                                                                                          \
    } while (0)

static ef_config_t *config_from(const char *yaml)
{
    ef_err_t err;
    ef_config_t *c = ef_config_load_string("cfg.yaml", yaml, strlen(yaml), NULL, NULL, &err);
    ck_assert_msg(c != NULL, "config: %s", err.msg);
    return c;
}

static ef_ruleset_t *load_with(const char *text, const ef_config_t *cfg, diags_t *ds)
{
    ef_err_t err;
    memset(ds, 0, sizeof *ds);
    ef_rules_opts_t o = {.config = cfg, .diag = collect, .diag_user = ds};
    ef_ruleset_t *rs = ef_ruleset_new(&o, &err);
    ck_assert_msg(rs != NULL, "%s", err.msg);
    ck_assert_int_eq(ef_ruleset_add_string(rs, "t.rules", text, strlen(text), &err), 0);
    ck_assert_int_eq(ef_ruleset_finalize(rs, &err), 0);
    return rs;
}

static ef_ruleset_t *load(const char *text, diags_t *ds)
{
    return load_with(text, NULL, ds);
}

/* Exactly one rule loads with no error. */
static const ef_rule_t *one_rule(ef_ruleset_t *rs, diags_t *ds)
{
    if (ds->errors)
        dump(ds);
    ck_assert_int_eq(ds->errors, 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), 1);
    return ef_ruleset_rule(rs, 0);
}

/* The rule text loads with exactly this error. */
static void expect_error(const char *text, const char *diag)
{
    diags_t ds;
    ef_ruleset_t *rs = load(text, &ds);
    ck_assert_msg(ef_ruleset_count(rs) == 0, "rule loaded but expected: %s", diag);
    ck_assert_uint_eq(ef_ruleset_counts(rs)->skipped, 1);
    ASSERT_DIAG(&ds, diag);
    ef_ruleset_free(rs);
}

typedef struct flow {
    uint8_t c[16], s[16];
    ef_rule_flow_t f;
} flow_t;

static flow_t mkflow(const char *client, uint16_t cport, const char *server, uint16_t sport,
                     uint8_t proto)
{
    flow_t fl;
    memset(&fl, 0, sizeof fl);
    int v6 = strchr(client, ':') != NULL;
    ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, client, fl.c), 1);
    ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, server, fl.s), 1);
    fl.f.ip_version = v6 ? 6 : 4;
    fl.f.proto = proto;
    fl.f.client_port = cport;
    fl.f.server_port = sport;
    return fl;
}

static size_t match(const ef_ruleset_t *rs, flow_t *fl, const char *label, float score, int k,
                    const ef_rule_t **out, size_t max)
{
    ef_verdict_t v = {.label = label, .score = score, .k = k, .packets = k};
    fl->f.client_addr = fl->c;
    fl->f.server_addr = fl->s;
    return ef_ruleset_match(rs, &fl->f, &v, out, max);
}

/* Does the single rule of rs match this flow + verdict? */
static int hits(const ef_ruleset_t *rs, flow_t fl, const char *label, float score, int k)
{
    const ef_rule_t *out[4];
    return match(rs, &fl, label, score, k, out, 4) > 0;
}

static const char *cfg_yaml =
    "vars:\n"
    "  address-groups:\n"
    "    HOME_NET: \"[192.168.0.0/16,10.0.0.0/8]\"\n"
    "    EXTERNAL_NET: \"!$HOME_NET\"\n"
    "    DMZ: \"[$HOME_NET, !10.9.0.0/16]\"\n"
    "    V6NET: \"2001:db8::/32\"\n"
    "  port-groups:\n"
    "    HTTP_PORTS: \"[80,8080]\"\n"
    "    NOT_HTTP: \"!$HTTP_PORTS\"\n"
    "earlyflow:\n"
    "  k: [10, 5]\n";

/* ---- acceptance ---------------------------------------------------------------- */

START_TEST(brief_example_rule)
{
    diags_t ds;
    ef_config_t *cfg = config_from(cfg_yaml);
    ef_ruleset_t *rs = load_with(
        "alert tcp any any -> $HOME_NET any (msg:\"early SYN scan\"; early.label:NetworkScan; "
        "early.score:>=0.9; early.k:5; sid:9100001; rev:1;)\n", cfg, &ds);
    const ef_rule_t *r = one_rule(rs, &ds);
    ck_assert_int_eq(r->action, EF_ACTION_ALERT);
    ck_assert_uint_eq(r->sid, 9100001);
    ck_assert_uint_eq(r->rev, 1);
    ck_assert_uint_eq(r->gid, 1);
    ck_assert_str_eq(r->msg, "early SYN scan");
    ck_assert_int_eq(r->k, 5);
    ck_assert_uint_eq(r->label.mask, 1u << EF_CAT_NETWORKSCAN);
    ck_assert_int_eq(r->score.op, EF_SCORE_GE);
    ck_assert(r->score.a == 0.9f);
    ck_assert_uint_eq(r->priority, 3);
    ck_assert_str_eq(r->category, "");
    ck_assert_ptr_null(r->classtype);
    ck_assert_int_eq(r->has_early, 1);
    ck_assert_str_eq(r->file, "t.rules");
    ck_assert_int_eq(r->line, 1);
    ck_assert_uint_eq(ef_ruleset_k_mask(rs), 1u << 5);
    ck_assert(hits(rs, mkflow("1.2.3.4", 999, "10.1.1.1", 22, 6), "NetworkScan", 0.95f, 5));
    ck_assert(!hits(rs, mkflow("1.2.3.4", 999, "11.1.1.1", 22, 6), "NetworkScan", 0.95f, 5));
    ck_assert(!hits(rs, mkflow("1.2.3.4", 999, "10.1.1.1", 22, 17), "NetworkScan", 0.95f, 5));
    ck_assert(!hits(rs, mkflow("1.2.3.4", 999, "10.1.1.1", 22, 6), "NetworkScan", 0.85f, 5));
    ck_assert(!hits(rs, mkflow("1.2.3.4", 999, "10.1.1.1", 22, 6), "PortScan", 0.95f, 5));
    ck_assert(!hits(rs, mkflow("1.2.3.4", 999, "10.1.1.1", 22, 6), "NetworkScan", 0.95f, 10));
    ef_ruleset_free(rs);
    ef_config_free(cfg);
}
END_TEST

START_TEST(actions_and_protocols)
{
    static const struct {
        const char *head;
        ef_rule_action_t action;
        uint8_t proto_yes, proto_no;
        int v4, v6;
    } cases[] = {
        {"alert tcp", EF_ACTION_ALERT, 6, 17, 1, 1},
        {"drop udp", EF_ACTION_DROP, 17, 6, 1, 1},
        {"reject sctp", EF_ACTION_REJECT, 132, 6, 1, 1},
        {"rejectsrc tcp", EF_ACTION_REJECT, 6, 17, 1, 1},
        {"pass ip", EF_ACTION_PASS, 47, 255, 1, 1}, /* 255: no rule excludes it... */
        {"alert icmp", EF_ACTION_ALERT, 1, 6, 1, 1},
        {"alert ICMP", EF_ACTION_ALERT, 58, 17, 1, 1},
        {"alert icmpv4", EF_ACTION_ALERT, 1, 58, 1, 0},
        {"alert icmpv6", EF_ACTION_ALERT, 58, 1, 0, 1},
        {"alert ipv4", EF_ACTION_ALERT, 6, 0, 1, 0},
        {"alert ip6", EF_ACTION_ALERT, 17, 0, 0, 1},
        {"alert TCP", EF_ACTION_ALERT, 6, 1, 1, 1},
        {"ALERT tcp", EF_ACTION_ALERT, 6, 1, 1, 1},
        {"Drop tcp", EF_ACTION_DROP, 6, 1, 1, 1},
        {"rejectboth tcp", EF_ACTION_REJECT, 6, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s any any -> any any (early.k:5; sid:1;)", cases[i].head);
        diags_t ds;
        ef_ruleset_t *rs = load(text, &ds);
        const ef_rule_t *r = one_rule(rs, &ds);
        ck_assert_msg(r->action == cases[i].action, "%s", text);
        ck_assert_msg(hits(rs, mkflow(cases[i].v4 ? "1.1.1.1" : "::1", 1,
                                      cases[i].v4 ? "2.2.2.2" : "::2", 2, cases[i].proto_yes),
                           "Unlabeled", 0.5f, 5),
                      "%s should match proto %u", text, cases[i].proto_yes);
        if (cases[i].proto_no != 255 && cases[i].proto_no != 0)
            ck_assert_msg(!hits(rs, mkflow("1.1.1.1", 1, "2.2.2.2", 2, cases[i].proto_no),
                                "Unlabeled", 0.5f, 5) ||
                              !hits(rs, mkflow("::1", 1, "::2", 2, cases[i].proto_no),
                                    "Unlabeled", 0.5f, 5),
                          "%s should not match proto %u", text, cases[i].proto_no);
        if (!cases[i].v6)
            ck_assert(!hits(rs, mkflow("::1", 1, "::2", 2, cases[i].proto_yes), "Unlabeled",
                            0.5f, 5));
        if (!cases[i].v4)
            ck_assert(!hits(rs, mkflow("1.1.1.1", 1, "2.2.2.2", 2, cases[i].proto_yes),
                            "Unlabeled", 0.5f, 5));
        ef_ruleset_free(rs);
    }
}
END_TEST

/* Address expressions: each case's rule uses the expression as the server
 * (destination) address; listed addresses must / must not match. */
START_TEST(address_expressions)
{
    static const struct {
        const char *expr;
        const char *yes[4];
        const char *no[4];
    } cases[] = {
        {"any", {"1.2.3.4", "::1"}, {NULL}},
        {"10.1.2.3", {"10.1.2.3"}, {"10.1.2.4", "::1"}},
        {"10.0.0.0/8", {"10.0.0.0", "10.255.255.255"}, {"11.0.0.0", "9.255.255.255"}},
        {"10.1.2.3/8", {"10.200.0.1"}, {"11.0.0.0"}},                 /* host bits masked */
        {"10.0.0.0/255.255.0.0", {"10.0.9.9"}, {"10.1.0.0"}},
        {"10.0.0.5-10.0.0.7", {"10.0.0.5", "10.0.0.7"}, {"10.0.0.4", "10.0.0.8"}},
        {"2001:db8::/32", {"2001:db8::1", "2001:db8:ffff::"}, {"2001:db9::", "10.0.0.1"}},
        {"::/0", {"::", "ffff::1"}, {"1.1.1.1"}},
        {"0.0.0.0/0", {"0.0.0.0", "255.255.255.255"}, {"::1"}},
        {"[10.0.0.1,10.0.0.3]", {"10.0.0.1", "10.0.0.3"}, {"10.0.0.2"}},
        {"[10.0.0.0/8, !10.1.0.0/16]", {"10.2.0.1"}, {"10.1.0.1", "11.0.0.1", "::1"}},
        {"![10.0.0.0/8,192.168.0.0/16]", {"11.0.0.1"}, {"10.0.0.1", "192.168.1.1", "::1"}},
        {"!10.0.0.1", {"10.0.0.2", "1.1.1.1"}, {"10.0.0.1", "::1"}},
        {"[[10.0.0.1,[10.0.0.2]],10.0.0.3]", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}, {"10.0.0.4"}},
        {"![10.0.0.0/8,!10.1.0.0/16]", {"10.1.0.5", "11.0.0.1"}, {"10.2.0.1"}},
        {"[!10.0.0.1,!::1]", {"10.0.0.2", "::2"}, {"10.0.0.1", "::1"}},
        {"$HOME_NET", {"192.168.1.1", "10.0.0.1"}, {"172.16.0.1", "::1"}},
        {"$EXTERNAL_NET", {"172.16.0.1", "8.8.8.8"}, {"10.0.0.1", "::1"}},
        {"!$HOME_NET", {"172.16.0.1"}, {"192.168.0.1"}},
        {"$DMZ", {"10.8.0.1", "192.168.0.1"}, {"10.9.1.1"}},
        {"[$HOME_NET,$V6NET]", {"10.0.0.1", "2001:db8::5"}, {"2001:db9::", "1.1.1.1"}},
        {"[ 10.0.0.1 , 10.0.0.2 ]", {"10.0.0.2"}, {"10.0.0.3"}},
    };
    ef_config_t *cfg = config_from(cfg_yaml);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "alert ip any any -> %s any (early.k:5; sid:1;)",
                 cases[i].expr);
        diags_t ds;
        ef_ruleset_t *rs = load_with(text, cfg, &ds);
        if (ds.errors)
            dump(&ds);
        ck_assert_msg(ef_ruleset_count(rs) == 1, "%s did not load", cases[i].expr);
        for (int j = 0; j < 4 && cases[i].yes[j]; j++) {
            const char *c = strchr(cases[i].yes[j], ':') ? "::9" : "9.9.9.9";
            ck_assert_msg(hits(rs, mkflow(c, 1, cases[i].yes[j], 2, 6), "HTTP", 1, 5),
                          "%s should match %s", cases[i].expr, cases[i].yes[j]);
        }
        for (int j = 0; j < 4 && cases[i].no[j]; j++) {
            const char *c = strchr(cases[i].no[j], ':') ? "::9" : "9.9.9.9";
            ck_assert_msg(!hits(rs, mkflow(c, 1, cases[i].no[j], 2, 6), "HTTP", 1, 5),
                          "%s should not match %s", cases[i].expr, cases[i].no[j]);
        }
        ef_ruleset_free(rs);
    }
    ef_config_free(cfg);
}
END_TEST

START_TEST(port_expressions)
{
    static const struct {
        const char *expr;
        int yes[4];
        int no[4];
    } cases[] = {
        {"any", {0, 65535, -1}, {-1}},
        {"80", {80, -1}, {81, 79, -1}},
        {"1:1024", {1, 1024, -1}, {0, 1025, -1}},
        {"1024:", {1024, 65535, -1}, {1023, -1}},
        {":1023", {0, 1023, -1}, {1024, -1}},
        {"[80,443,8000:8080]", {80, 443, 8000, 8080}, {81, 8081, -1}},
        {"!80", {81, 0, -1}, {80, -1}},
        {"![80,443]", {22, -1}, {80, 443, -1}},
        {"[1:1024,!80]", {79, 81, -1}, {80, 1025, -1}},
        {"$HTTP_PORTS", {80, 8080, -1}, {443, -1}},
        {"$NOT_HTTP", {443, -1}, {80, 8080, -1}},
        {"[$HTTP_PORTS,443]", {443, 80, -1}, {22, -1}},
    };
    ef_config_t *cfg = config_from(cfg_yaml);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "alert tcp any any -> any %s (early.k:5; sid:1;)",
                 cases[i].expr);
        diags_t ds;
        ef_ruleset_t *rs = load_with(text, cfg, &ds);
        if (ds.errors)
            dump(&ds);
        ck_assert_msg(ef_ruleset_count(rs) == 1, "%s did not load", cases[i].expr);
        for (int j = 0; j < 4 && cases[i].yes[j] >= 0; j++)
            ck_assert_msg(hits(rs, mkflow("1.1.1.1", 5, "2.2.2.2", (uint16_t)cases[i].yes[j], 6),
                               "HTTP", 1, 5),
                          "%s should match %d", cases[i].expr, cases[i].yes[j]);
        for (int j = 0; j < 4 && cases[i].no[j] >= 0; j++)
            ck_assert_msg(!hits(rs, mkflow("1.1.1.1", 5, "2.2.2.2", (uint16_t)cases[i].no[j], 6),
                                "HTTP", 1, 5),
                          "%s should not match %d", cases[i].expr, cases[i].no[j]);
        ef_ruleset_free(rs);
    }
    ef_config_free(cfg);
}
END_TEST

START_TEST(direction_and_bidirectional)
{
    diags_t ds;
    ef_ruleset_t *rs = load("alert tcp 10.0.0.0/8 any -> 192.168.0.0/16 80 (early.k:5; sid:1;)\n"
                            "alert tcp 10.0.0.0/8 any <> 192.168.0.0/16 80 (early.k:10; sid:2;)\n",
                            &ds);
    ck_assert_int_eq(ds.errors, 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), 2);
    flow_t fwd = mkflow("10.1.1.1", 5555, "192.168.1.1", 80, 6);
    flow_t rev = mkflow("192.168.1.1", 80, "10.1.1.1", 5555, 6);
    ck_assert(hits(rs, fwd, "Alpha", 1, 5));
    ck_assert(!hits(rs, rev, "Alpha", 1, 5));  /* '->': client must be the source */
    ck_assert(hits(rs, fwd, "Alpha", 1, 10));
    ck_assert(hits(rs, rev, "Alpha", 1, 10));  /* '<>': either orientation */
    flow_t wrong_port = mkflow("192.168.1.1", 81, "10.1.1.1", 5555, 6);
    ck_assert(!hits(rs, wrong_port, "Alpha", 1, 10));
    ck_assert_int_eq(ef_ruleset_rule(rs, 1)->bidirectional, 1);
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(ports_ignored_for_portless_protocols)
{
    diags_t ds;
    ef_ruleset_t *rs = load("alert ip any 1 -> any 2 (early.k:5; sid:1;)\n", &ds);
    ck_assert_uint_eq(ef_ruleset_count(rs), 1);
    ck_assert(hits(rs, mkflow("1.1.1.1", 0, "2.2.2.2", 0, 1), "Other", 1, 5));
    ck_assert(hits(rs, mkflow("1.1.1.1", 0, "2.2.2.2", 0, 41), "IPv6Tunnel", 1, 5));
    ck_assert(!hits(rs, mkflow("1.1.1.1", 3, "2.2.2.2", 2, 6), "Other", 1, 5));
    ck_assert(hits(rs, mkflow("1.1.1.1", 1, "2.2.2.2", 2, 17), "Other", 1, 5));
    ef_ruleset_free(rs);
    rs = load("alert icmp any 80 -> any any (early.k:5; sid:1;)\n", &ds);
    ck_assert_uint_eq(ef_ruleset_count(rs), 1);
    ASSERT_DIAG(&ds, "t.rules:1:1: warning: rule sid 1: ports are ignored for icmp");
    ck_assert(hits(rs, mkflow("1.1.1.1", 0, "2.2.2.2", 0, 1), "Other", 1, 5));
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(options_and_metadata)
{
    diags_t ds;
    ef_ruleset_t *rs = load(
        "alert tcp any any -> any any (msg:\"a \\\"quoted\\\" \\; semi \\\\ back\"; "
        "classtype:network-scan; metadata: created_at 2026_01_01, tag one, tag two, "
        "solo; reference:url,example.com/x; reference: cve,2024-1; gid:7; rev:3; "
        "early.k:20; sid:42;)", &ds);
    const ef_rule_t *r = one_rule(rs, &ds);
    ck_assert_str_eq(r->msg, "a \"quoted\" ; semi \\ back");
    ck_assert_str_eq(r->classtype, "network-scan");
    ck_assert_str_eq(r->category, "Detection of a Network Scan");
    ck_assert_uint_eq(r->priority, 3);
    ck_assert_uint_eq(r->gid, 7);
    ck_assert_uint_eq(r->rev, 3);
    ck_assert_int_eq(r->k, 20);
    ck_assert_uint_eq(r->n_metadata, 3);
    ck_assert_str_eq(r->metadata[0].key, "created_at");
    ck_assert_str_eq(r->metadata[0].value, "2026_01_01");
    ck_assert_str_eq(r->metadata[2].key, "tag");
    ck_assert_str_eq(r->metadata[2].value, "two");
    ASSERT_DIAG(&ds, "warning: rule sid 42: metadata entry 'solo' has no value");
    ck_assert_uint_eq(r->n_references, 2);
    ck_assert_str_eq(r->references[0].key, "url");
    ck_assert_str_eq(r->references[0].value, "example.com/x");
    ck_assert_str_eq(r->references[1].key, "cve");
    ck_assert_str_eq(r->references[1].value, "2024-1");
    ck_assert_uint_eq(ef_ruleset_k_mask(rs), 1u << 20);
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(priority_and_classtypes)
{
    diags_t ds;
    ef_ruleset_t *rs =
        load("alert ip any any -> any any (classtype:attempted-dos; early.k:5; sid:1;)\n"
             "alert ip any any -> any any (classtype:attempted-dos; priority:1; early.k:5; sid:2;)\n"
             "alert ip any any -> any any (classtype:made-up; early.k:5; sid:3;)\n"
             "alert ip any any -> any any (priority:7; early.k:5; sid:4;)\n", &ds);
    ck_assert_int_eq(ds.errors, 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), 4);
    /* sorted by priority, then sid */
    ck_assert_uint_eq(ef_ruleset_rule(rs, 0)->sid, 2);
    ck_assert_uint_eq(ef_ruleset_rule(rs, 0)->priority, 1);
    ck_assert_uint_eq(ef_ruleset_rule(rs, 1)->sid, 1);
    ck_assert_uint_eq(ef_ruleset_rule(rs, 1)->priority, 2);
    ck_assert_str_eq(ef_ruleset_rule(rs, 1)->category, "Attempted Denial of Service");
    ck_assert_uint_eq(ef_ruleset_rule(rs, 2)->sid, 3);
    ck_assert_uint_eq(ef_ruleset_rule(rs, 2)->priority, 3);
    ck_assert_str_eq(ef_ruleset_rule(rs, 2)->category, "Unknown Classtype");
    ck_assert_uint_eq(ef_ruleset_rule(rs, 3)->priority, 7);
    ASSERT_DIAG(&ds, "t.rules:3:1: warning: rule sid 3: unknown classtype 'made-up'");
    ef_ruleset_free(rs);

    /* a classification file replaces the built-in table */
    const char *cls = "# comment\n"
                      "config classification: made-up,Made Up Things, 1\n"
                      "config classification: bad line\n";
    ef_err_t err;
    memset(&ds, 0, sizeof ds);
    ef_classification_t *c =
        ef_classification_load_string("c.config", cls, strlen(cls), collect, &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(ef_classification_count(c), 1);
    ASSERT_DIAG(&ds, "c.config:3:24: error: expected 'NAME,DESCRIPTION,PRIORITY' (two commas)");
    diags_t ds2 = {0};
    ef_rules_opts_t o = {.classes = c, .diag = collect, .diag_user = &ds2};
    rs = ef_ruleset_new(&o, &err);
    const char *t = "alert ip any any -> any any (classtype:made-up; early.k:5; sid:3;)";
    ef_ruleset_add_string(rs, "t.rules", t, strlen(t), &err);
    ef_ruleset_finalize(rs, &err);
    ck_assert_int_eq(ds2.warnings, 0);
    ck_assert_str_eq(ef_ruleset_rule(rs, 0)->category, "Made Up Things");
    ck_assert_uint_eq(ef_ruleset_rule(rs, 0)->priority, 1);
    ef_ruleset_free(rs);
    ef_classification_free(c);
}
END_TEST

START_TEST(file_layout_comments_continuations)
{
    diags_t ds;
    ef_ruleset_t *rs = load("# a comment\r\n"
                            "\r\n"
                            "   \n"
                            "   # indented comment\n"
                            "alert tcp any any -> any any (msg:\"one\";\\\n"
                            "    early.k:5;   \\\n"
                            "sid:1;)\r\n"
                            "alert tcp any any -> any any (msg:\"two\";early.k:5;sid:2;)   \n"
                            "#alert tcp any any -> any any (sid:3;)\n"
                            "alert\ttcp any any   ->\tany any  (  MSG : \"three\" ; Early.K : 5 ; "
                            "SID : 4 ; )",
                            &ds);
    ck_assert_int_eq(ds.errors, 0);
    ck_assert_int_eq(ds.warnings, 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), 3);
    ck_assert_int_eq(ef_ruleset_rule(rs, 0)->line, 5);
    ck_assert_int_eq(ef_ruleset_rule(rs, 1)->line, 8);
    ck_assert_int_eq(ef_ruleset_rule(rs, 2)->line, 10);
    ck_assert_str_eq(ef_ruleset_rule(rs, 2)->msg, "three");
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(early_keywords)
{
    static const struct {
        const char *opts;
        const char *label;
        float score;
        int k;
        int match;
    } cases[] = {
        /* without early.k the rule decides at the config's first k: 10 */
        {"early.label:NetworkScan,PortScan;", "PortScan", 0.1f, 10, 1},
        {"early.label:NetworkScan, PortScan;", "DoS", 0.1f, 10, 0},
        {"early.label:!Unlabeled;", "DoS", 0.1f, 10, 1},
        {"early.label:!Unlabeled;", "Unlabeled", 0.1f, 10, 0},
        {"early.label:!Unlabeled,Unknown;", "Unknown", 0.1f, 10, 0},
        {"early.label:!Unlabeled;", "SomethingElse", 0.1f, 10, 1},
        {"early.label:Unlabeled;", "SomethingElse", 0.1f, 10, 0},
        {"early.label:NetworkScan;", "NetworkScan", 0.1f, 5, 0},
        {"early.score:>=0.9;", "HTTP", 0.9f, 10, 1},
        {"early.score:>0.9;", "HTTP", 0.9f, 10, 0},
        {"early.score:<0.3;", "HTTP", 0.29f, 10, 1},
        {"early.score:<=0.3;", "HTTP", 0.3f, 10, 1},
        {"early.score:<0.3;", "HTTP", 0.3f, 10, 0},
        {"early.score:=1;", "HTTP", 1.0f, 10, 1},
        {"early.score:0.5;", "HTTP", 0.5f, 10, 1},
        {"early.score:!=0.5;", "HTTP", 0.5f, 10, 0},
        {"early.score:0.5-0.9;", "HTTP", 0.7f, 10, 1},
        {"early.score:0.5-0.9;", "HTTP", 0.5f, 10, 0},  /* ranges exclude their ends */
        {"early.score:0.5<>0.9;", "HTTP", 0.9f, 10, 0},
        {"early.score:!0.5-0.9;", "HTTP", 0.5f, 10, 1},
        {"early.score:!0.5-0.9;", "HTTP", 0.6f, 10, 0},
        {"early.score: >= .25 ;", "HTTP", 0.25f, 10, 1},
        {"early.k:3;", "HTTP", 1, 3, 1},
        {"early.k:3;", "HTTP", 1, 5, 0},
        {"early.k:20;", "HTTP", 1, 20, 1},
        {"early.label:HTTP;", "HTTP", 1, 10, 1}, /* no early.k: the config's first k */
        {"early.label:HTTP;", "HTTP", 1, 5, 0},
    };
    ef_config_t *cfg = config_from(cfg_yaml); /* earlyflow.k: [10, 5] */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "alert ip any any -> any any (%s sid:1;)", cases[i].opts);
        diags_t ds;
        ef_ruleset_t *rs = load_with(text, cfg, &ds);
        if (ds.errors)
            dump(&ds);
        ck_assert_msg(ef_ruleset_count(rs) == 1, "%s did not load", cases[i].opts);
        int k = cases[i].k;
        ck_assert_msg(hits(rs, mkflow("1.1.1.1", 1, "2.2.2.2", 2, 6), cases[i].label,
                           cases[i].score, k) == cases[i].match,
                      "%s with %s %.2f k=%d should %smatch", cases[i].opts, cases[i].label,
                      cases[i].score, k, cases[i].match ? "" : "not ");
        ef_ruleset_free(rs);
    }
    ef_config_free(cfg);
}
END_TEST

START_TEST(default_k)
{
    diags_t ds;
    ef_ruleset_t *rs = load("alert ip any any -> any any (early.label:DoS; sid:1;)", &ds);
    ck_assert_int_eq(one_rule(rs, &ds)->k, 5); /* no config: 5 */
    ef_ruleset_free(rs);
    ef_err_t err;
    ef_rules_opts_t o = {.default_k = 20};
    rs = ef_ruleset_new(&o, &err);
    const char *t = "alert ip any any -> any any (early.label:DoS; sid:1;)";
    ef_ruleset_add_string(rs, "t", t, strlen(t), &err);
    ef_ruleset_finalize(rs, &err);
    ck_assert_int_eq(ef_ruleset_rule(rs, 0)->k, 20);
    ef_ruleset_free(rs);
    o.default_k = 4;
    ck_assert_ptr_null(ef_ruleset_new(&o, &err));
    ck_assert_str_eq(err.msg, "default early.k must be 3, 5, 10 or 20, got 4");
}
END_TEST

START_TEST(rule_without_early_keyword_warns)
{
    diags_t ds;
    ef_ruleset_t *rs = load("alert ip any any -> any any (msg:\"all\"; sid:1;)", &ds);
    const ef_rule_t *r = one_rule(rs, &ds);
    ck_assert_int_eq(r->has_early, 0);
    ASSERT_DIAG(&ds, "t.rules:1:1: warning: rule sid 1: no early.* keyword: matches every "
                     "verdict at k=5");
    ck_assert(hits(rs, mkflow("1.1.1.1", 1, "2.2.2.2", 2, 6), "Anything", 0, 5));
    ef_ruleset_free(rs);
}
END_TEST

/* ---- matching order ------------------------------------------------------------- */

START_TEST(action_order_priority_sid_and_pass)
{
    diags_t ds;
    ef_ruleset_t *rs = load("alert ip any any -> any any (early.k:5; priority:1; sid:10;)\n"
                            "alert ip any any -> any any (early.k:5; priority:1; sid:9;)\n"
                            "reject ip any any -> any any (early.k:5; priority:3; sid:8;)\n"
                            "drop ip any any -> any any (early.k:5; priority:4; sid:7;)\n"
                            "alert ip any any -> any any (early.k:5; priority:2; sid:1;)\n"
                            "pass ip 10.0.0.0/8 any -> any any (early.label:Unlabeled; "
                            "early.k:5; sid:100;)\n", &ds);
    ck_assert_int_eq(ds.errors, 0);
    const ef_rule_t *out[8];
    flow_t fl = mkflow("1.1.1.1", 1, "2.2.2.2", 2, 6);
    size_t n = match(rs, &fl, "Unlabeled", 1, 5, out, 8);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(out[0]->sid, 7);  /* drop */
    ck_assert_uint_eq(out[1]->sid, 8);  /* reject */
    ck_assert_uint_eq(out[2]->sid, 9);  /* alert, priority 1, lower sid first */
    ck_assert_uint_eq(out[3]->sid, 10);
    ck_assert_uint_eq(out[4]->sid, 1);  /* alert, priority 2 */
    /* only max written, all counted */
    ck_assert_uint_eq(match(rs, &fl, "Unlabeled", 1, 5, out, 2), 5);
    ck_assert_uint_eq(out[1]->sid, 8);
    /* a matching pass rule stops everything else */
    flow_t inside = mkflow("10.0.0.1", 1, "2.2.2.2", 2, 6);
    n = match(rs, &inside, "Unlabeled", 1, 5, out, 8);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0]->sid, 100);
    ck_assert_int_eq(out[0]->action, EF_ACTION_PASS);
    /* the pass rule does not apply to other labels */
    ck_assert_uint_eq(match(rs, &inside, "DoS", 1, 5, out, 8), 5);
    /* verdicts at a k no rule uses match nothing */
    ck_assert_uint_eq(match(rs, &inside, "DoS", 1, 3, out, 8), 0);
    ck_assert_uint_eq(match(rs, &inside, "DoS", 1, 7, out, 8), 0);
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(duplicate_sid_across_files)
{
    ef_err_t err;
    diags_t ds = {0};
    ef_rules_opts_t o = {.diag = collect, .diag_user = &ds};
    ef_ruleset_t *rs = ef_ruleset_new(&o, &err);
    const char *a = "alert ip any any -> any any (early.k:5; sid:5;)\n";
    const char *b = "\nalert ip any any -> any any (early.k:5; sid:5;)\n"
                    "alert ip any any -> any any (early.k:5; gid:2; sid:5;)\n";
    ef_ruleset_add_string(rs, "a.rules", a, strlen(a), &err);
    ef_ruleset_add_string(rs, "b.rules", b, strlen(b), &err);
    ef_ruleset_finalize(rs, &err);
    ck_assert_uint_eq(ef_ruleset_count(rs), 2); /* gid 2 is another id */
    ASSERT_DIAG(&ds, "b.rules:2:1: error: rule sid 5: duplicate sid 5 (gid 1) - first defined at "
                     "a.rules:1; this rule is skipped");
    ck_assert_uint_eq(ef_ruleset_counts(rs)->skipped, 1);
    ck_assert_uint_eq(ef_ruleset_counts(rs)->loaded, 2);
    /* adding after finalize is refused */
    ck_assert_int_eq(ef_ruleset_add_string(rs, "c", a, strlen(a), &err), -1);
    ef_ruleset_free(rs);
}
END_TEST

/* ---- error paths, each with file:line:col ------------------------------------------ */

START_TEST(header_errors)
{
    expect_error("alrt tcp any any -> any any (sid:1;)",
                 "t.rules:1:1: error: rule sid 1: expected an action (alert, drop, pass or "
                 "reject), got 'alrt'");
    expect_error("alert http any any -> any any (sid:1;)",
                 "t.rules:1:7: error: rule sid 1: protocol 'http' is an application-layer");
    expect_error("alert tpc any any -> any any (sid:1;)",
                 "t.rules:1:7: error: rule sid 1: unknown protocol 'tpc'");
    expect_error("alert tcp any any <- any any (sid:1;)",
                 "t.rules:1:19: error: rule sid 1: expected a direction '->' or '<>', got '<-'");
    expect_error("alert tcp any any => any any (sid:1;)",
                 "t.rules:1:19: error: rule sid 1: direction '=>' (transactional) is not "
                 "supported");
    expect_error("alert tcp any any -> any (sid:1;)",
                 "t.rules:1:26: error: rule sid 1: expected a destination port before '('");
    expect_error("alert tcp any any -> any any",
                 "t.rules:1:29: error: rule: expected '(' to start the rule options, got the "
                 "end of the rule");
    expect_error("alert tcp any any -> any any sid:1;)",
                 "t.rules:1:30: error: rule sid 1: expected '(' to start the rule options");
    expect_error("alert tcp",
                 "t.rules:1:10: error: rule: expected a source address, got the end of the "
                 "rule");
}
END_TEST

START_TEST(address_and_port_errors)
{
    expect_error("alert tcp 10.0.0.256 any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: source address: expected an IPv4 or IPv6 "
                 "address, CIDR, range, list or variable, got '10.0.0.256'");
    expect_error("alert tcp [1.1.1.1,10.0.0.0/33] any -> any any (sid:1;)",
                 "t.rules:1:20: error: rule sid 1: source address: expected a prefix length "
                 "0-32 after '/', got '33'");
    expect_error("alert tcp any any -> 10.0.0.9-10.0.0.1 any (sid:1;)",
                 "t.rules:1:22: error: rule sid 1: destination address: address range "
                 "'10.0.0.9-10.0.0.1' ends before it starts");
    expect_error("alert tcp any any -> [1.1.1.1 any (sid:1;)",
                 "t.rules:1:22: error: rule sid 1: unterminated list: no ']' closes this '[' in "
                 "destination address");
    expect_error("alert tcp [1.1.1.1,[2.2.2.2] any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: unterminated list: no ']' closes this '[' in "
                 "source address");
    expect_error("alert tcp [1.1.1.1]] any -> any any (sid:1;)",
                 "t.rules:1:20: error: rule sid 1: source address: unexpected ']' after the "
                 "address");
    expect_error("alert tcp any any -> [] any (sid:1;)",
                 "t.rules:1:22: error: rule sid 1: destination address: empty list '[]'");
    expect_error("alert tcp !any any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: source address: the address expression "
                 "matches nothing (everything is negated)");
    expect_error("alert tcp any any -> any [80,!80] (sid:1;)",
                 "t.rules:1:26: error: rule sid 1: destination port: the port expression "
                 "matches nothing");
    expect_error("alert tcp any 65536 -> any any (sid:1;)",
                 "t.rules:1:15: error: rule sid 1: source port: expected a port 0-65535, "
                 "range, list or variable, got '65536'");
    expect_error("alert tcp any any -> any 90:80 (sid:1;)",
                 "t.rules:1:26: error: rule sid 1: destination port: port range '90:80' ends "
                 "before it starts");
    expect_error("alert tcp any any -> any [80,abc] (sid:1;)",
                 "t.rules:1:30: error: rule sid 1: destination port: expected a port 0-65535");
    expect_error("alert tcp !!1.1.1.1 any -> any any (sid:1;)",
                 "t.rules:1:12: error: rule sid 1: source address: double negation '!!' is not "
                 "allowed");
    expect_error("alert tcp $HOME_NET any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: source address: unknown address variable "
                 "$HOME_NET (not in vars.address-groups)");
    expect_error("alert tcp any $HOME_NET -> any any (sid:1;)",
                 "t.rules:1:15: error: rule sid 1: source port: unknown port variable $HOME_NET "
                 "(not in vars.port-groups)");
    expect_error("alert tcp 1.1.1.1,2.2.2.2 any -> any any (sid:1;)",
                 "t.rules:1:18: error: rule sid 1: source address: unexpected ',' after the "
                 "address (lists need '[...]')");
}
END_TEST

START_TEST(more_error_paths)
{
    char text[9000];
    /* a protocol word longer than any protocol */
    expect_error("alert abcdefghijklmnopqrstuvwxyzabcdefghij any any -> any any (sid:1;)",
                 "t.rules:1:7: error: rule sid 1: expected a protocol (ip, tcp, udp, icmp, ...), "
                 "got a long word");
    /* an address item longer than any address */
    int w = snprintf(text, sizeof text, "alert ip ");
    memset(text + w, '1', 200);
    snprintf(text + w + 200, sizeof text - (size_t)w - 200, " any -> any any (sid:1;)");
    expect_error(text, "t.rules:1:10: error: rule sid 1: source address: address item too long "
                       "(200 bytes)");
    expect_error("alert tcp any : -> any any (sid:1;)",
                 "t.rules:1:15: error: rule sid 1: source port: expected a port range 'A:B', "
                 "'A:' or ':B', got ':'");
    expect_error("alert tcp $ any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: source address: expected a variable name "
                 "after '$'");
    expect_error("alert tcp [,1.1.1.1] any -> any any (sid:1;)",
                 "t.rules:1:12: error: rule sid 1: source address: unexpected ','");
    expect_error("alert tcp 1.1.1.1-::1 any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: source address: address range '1.1.1.1-::1' "
                 "mixes IPv4 and IPv6");
    expect_error("alert tcp 10.0.0.0/255.0.255.0 any -> any any (sid:1;)",
                 "t.rules:1:11: error: rule sid 1: source address: expected a prefix length 0-32 "
                 "after '/', got '255.0.255.0'");
    /* more than 512 options */
    w = snprintf(text, sizeof text, "alert ip any any -> any any (sid:1; ");
    for (int i = 0; i < 600; i++)
        w += snprintf(text + w, sizeof text - (size_t)w, "a; ");
    snprintf(text + w, sizeof text - (size_t)w, ")");
    expect_error(text, "t.rules:1:1570: error: rule sid 1: more than 512 options in one rule");
    /* more than 512 metadata entries: a warning, the rule loads */
    w = snprintf(text, sizeof text, "alert ip any any -> any any (early.k:5; sid:1; metadata:");
    for (int i = 0; i < 600; i++)
        w += snprintf(text + w, sizeof text - (size_t)w, "k%d v,", i);
    snprintf(text + w, sizeof text - (size_t)w, ";)");
    diags_t ds;
    ef_ruleset_t *rs = load(text, &ds);
    ck_assert_uint_eq(one_rule(rs, &ds)->n_metadata, 512);
    ASSERT_DIAG(&ds, "t.rules:1:57: warning: rule sid 1: more than 512 metadata entries: 'k512' "
                     "and later ones are ignored");
    ef_ruleset_free(rs);
}
END_TEST

/* A chain of 70 variables is cut at the nesting limit; a field that unions
 * a huge variable over and over stops at the work budget, quickly. */
START_TEST(variable_depth_and_work_budget)
{
    size_t cap = 4u << 20, w = 0;
    char *yaml = malloc(cap);
    w += (size_t)snprintf(yaml + w, cap - w, "vars:\n  address-groups:\n    C0: \"10.0.0.1\"\n");
    for (int i = 1; i < 70; i++)
        w += (size_t)snprintf(yaml + w, cap - w, "    C%d: \"$C%d\"\n", i, i - 1);
    w += (size_t)snprintf(yaml + w, cap - w, "    BIG: \"[");
    for (int i = 0; i < 200000; i += 2) /* every other address: 100000 intervals */
        w += (size_t)snprintf(yaml + w, cap - w, "%s11.%d.%d.%d", i ? "," : "", i >> 16,
                              (i >> 8) & 255, i & 255);
    w += (size_t)snprintf(yaml + w, cap - w, "]\"\n");
    ef_err_t err;
    ef_config_t *cfg = ef_config_load_string("cfg.yaml", yaml, w, NULL, NULL, &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    char text[2048];
    int n = snprintf(text, sizeof text, "alert ip $C69 any -> any any (sid:1;)\nalert ip [");
    for (int i = 0; i < 300; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s$BIG", i ? "," : "");
    snprintf(text + n, sizeof text - (size_t)n, "] any -> any any (sid:2;)\n");
    diags_t ds;
    clock_t t0 = clock();
    ef_ruleset_t *rs = load_with(text, cfg, &ds);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_uint_eq(ef_ruleset_count(rs), 0);
    ASSERT_DIAG(&ds, "t.rules:1:10: error: rule sid 1: source address: in $C6 "
                     "(vars.address-groups.C6 at cfg.yaml:9:9), column 1 of its value: lists, "
                     "negations and variables nested deeper than 64 levels");
    ASSERT_DIAG(&ds, "error: rule sid 2: source address: address expression too large: more "
                     "than 20000000 intervals to combine");
    ck_assert_msg(secs < 5, "took %.1f s", secs);
    ef_ruleset_free(rs);
    ef_config_free(cfg);
    free(yaml);
}
END_TEST

START_TEST(variable_errors_name_the_config)
{
    ef_config_t *cfg = config_from("vars:\n"
                                   "  address-groups:\n"
                                   "    A: \"[$B]\"\n"
                                   "    B: \"[10.0.0.1,$A]\"\n"
                                   "    BAD: \"[10.0.0.1, 300.1.1.1]\"\n"
                                   "    USES_BAD: \"[$BAD]\"\n"
                                   "    EMPTY: \"[1.1.1.1,!1.1.1.1]\"\n");
    diags_t ds;
    ef_ruleset_t *rs = load_with("alert ip $A any -> any any (sid:1;)\n"
                                 "alert ip $USES_BAD any -> any any (sid:2;)\n"
                                 "alert ip any any -> $EMPTY any (sid:3;)\n", cfg, &ds);
    ck_assert_uint_eq(ef_ruleset_count(rs), 0);
    ASSERT_DIAG(&ds, "t.rules:1:10: error: rule sid 1: source address: variables refer to each "
                     "other in a cycle: $A -> $B -> $A (in vars.address-groups)");
    ASSERT_DIAG(&ds, "t.rules:2:10: error: rule sid 2: source address: in $BAD "
                     "(vars.address-groups.BAD at cfg.yaml:5:10), column 12 of its value: "
                     "expected an IPv4 or IPv6 address, CIDR, range, list or variable, got "
                     "'300.1.1.1'");
    ASSERT_DIAG(&ds, "t.rules:3:21: error: rule sid 3: destination address: in $EMPTY "
                     "(vars.address-groups.EMPTY at cfg.yaml:7:12): the value matches nothing");
    ef_ruleset_free(rs);
    /* every variable is checked, used or not */
    memset(&ds, 0, sizeof ds);
    ck_assert_int_eq(ef_rules_check_vars(cfg, collect, &ds), 5);
    ASSERT_DIAG(&ds, "cfg.yaml:5:10: error: in $BAD (vars.address-groups.BAD at cfg.yaml:5:10), "
                     "column 12 of its value: expected an IPv4 or IPv6 address");
    ef_config_free(cfg);
}
END_TEST

START_TEST(option_errors)
{
    expect_error("alert tcp any any -> any any (msg:\"x\"; content:\"abc\"; early.k:5; sid:7;)",
                 "t.rules:1:40: error: rule sid 7: unsupported keyword 'content' (earlyflow "
                 "matches only on flow header and early.*)");
    expect_error("alert tcp any any -> any any (flow:to_server; pcre:\"/x/\"; sid:7;)",
                 "t.rules:1:47: error: rule sid 7: unsupported keyword 'pcre'");
    expect_error("alert tcp any any -> any any (msg:\"no sid\"; early.k:5;)",
                 "t.rules:1:1: error: rule: rule has no sid (every rule needs 'sid:N;')");
    expect_error("alert tcp any any -> any any (early.k:5; sid:1)",
                 "t.rules:1:47: error: rule sid 1: expected ';' after the value of 'sid' (every "
                 "option ends with ';', the last one too)");
    expect_error("alert tcp any any -> any any (msg:\"a;b\"; sid:1;)",
                 "t.rules:1:35: error: rule sid 1: unterminated string in option 'msg': a ';' "
                 "inside a string must be written '\\;'");
    expect_error("alert tcp any any -> any any (msg:plain; sid:1;)",
                 "t.rules:1:35: error: rule sid 1: msg must be a double-quoted string");
    expect_error("alert tcp any any -> any any (msg:\"a\"b; sid:1;)",
                 "t.rules:1:37: error: rule sid 1: unescaped '\"' inside msg");
    expect_error("alert tcp any any -> any any (msg:\"a\"b\"c\"; sid:1;)",
                 "t.rules:1:37: error: rule sid 1: unescaped '\"' inside msg");
    expect_error("alert tcp any any -> any any (msg:\"\"; sid:1;)",
                 "t.rules:1:35: error: rule sid 1: msg is empty");
    expect_error("alert tcp any any -> any any (sid:\"1\";)",
                 "t.rules:1:35: error: rule: quotes are not allowed on 'sid'");
    expect_error("alert tcp any any -> any any (sid:0;)",
                 "t.rules:1:35: error: rule: sid: expected an integer 1-4294967295, got '0'");
    expect_error("alert tcp any any -> any any (sid:4294967296;)",
                 "t.rules:1:35: error: rule: sid: expected an integer 1-4294967295");
    expect_error("alert tcp any any -> any any (sid:1; rev:x;)",
                 "t.rules:1:42: error: rule sid 1: rev: expected an integer 1-4294967295, got "
                 "'x'");
    expect_error("alert tcp any any -> any any (sid:1; priority:256;)",
                 "t.rules:1:47: error: rule sid 1: priority: expected 0-255, got 256");
    expect_error("alert tcp any any -> any any (msg:\"a\"; msg:\"b\"; sid:1;)",
                 "t.rules:1:40: error: rule sid 1: duplicate 'msg' option");
    expect_error("alert tcp any any -> any any (sid:1; sid:2;)",
                 "t.rules:1:38: error: rule sid 1: duplicate 'sid' option");
    expect_error("alert tcp any any -> any any (sid:1; classtype:bad class;)",
                 "t.rules:1:48: error: rule sid 1: classtype: expected a name");
    expect_error("alert tcp any any -> any any (sid:1; reference:nocomma;)",
                 "t.rules:1:48: error: rule sid 1: reference: expected 'system,id'");
    expect_error("alert tcp any any -> any any (sid:1; msg;)",
                 "t.rules:1:38: error: rule sid 1: option 'msg' needs a value ('msg:VALUE;')");
    expect_error("alert tcp any any -> any any (sid:1; early.k:5 early.label:DoS;)",
                 "t.rules:1:46: error: rule sid 1: early.k: expected a k of 3, 5, 10 or 20, "
                 "got '5 early.label:DoS'");
    expect_error("alert tcp any any -> any any (sid:1; = ;)",
                 "t.rules:1:38: error: rule sid 1: expected an option name, got '='");
    expect_error("alert tcp any any -> any any (sid:1; foo bar;)",
                 "t.rules:1:42: error: rule sid 1: expected ':' or ';' after option 'foo'");
    expect_error("alert tcp any any -> any any (sid:1; early.k:5;",
                 "t.rules:1:48: error: rule sid 1: expected ')' to close the rule options, got "
                 "the end of the rule");
    expect_error("alert tcp any any -> any any (sid:1; early.k:5;) extra",
                 "t.rules:1:50: error: rule sid 1: unexpected text after ')': 'extra'");
    expect_error("alert tcp any any -> any any (msg:\"caf\xc3\xa9\"; sid:1;)",
                 "t.rules:1:39: error: rule sid 1: byte 0xc3 is not allowed in a rule");
}
END_TEST

START_TEST(early_keyword_errors)
{
    expect_error("alert ip any any -> any any (early.label:networkscan; sid:1;)",
                 "t.rules:1:42: error: rule sid 1: early.label: unknown label 'networkscan' "
                 "(labels are case-sensitive: did you mean 'NetworkScan'?)");
    expect_error("alert ip any any -> any any (early.label:DoS,Bogus; sid:1;)",
                 "t.rules:1:46: error: rule sid 1: early.label: unknown label 'Bogus' "
                 "(expected one of Unlabeled, HTTP");
    expect_error("alert ip any any -> any any (early.label:DoS,!HTTP; sid:1;)",
                 "t.rules:1:46: error: rule sid 1: early.label: '!' negates the whole list");
    expect_error("alert ip any any -> any any (early.label:DoS,; sid:1;)",
                 "t.rules:1:46: error: rule sid 1: early.label: expected a label");
    expect_error("alert ip any any -> any any (early.label:\"DoS\"; sid:1;)",
                 "t.rules:1:42: error: rule sid 1: quotes are not allowed on 'early.label'");
    expect_error("alert ip any any -> any any (early.score:>=1.5; sid:1;)",
                 "t.rules:1:44: error: rule sid 1: early.score: score '1.5' is above 1");
    expect_error("alert ip any any -> any any (early.score:high; sid:1;)",
                 "t.rules:1:42: error: rule sid 1: early.score: expected a score between 0 and "
                 "1, got 'high'");
    expect_error("alert ip any any -> any any (early.score:0.9-0.5; sid:1;)",
                 "t.rules:1:45: error: rule sid 1: early.score: a score range 'A-B' needs A < B");
    expect_error("alert ip any any -> any any (early.score:!0.5; sid:1;)",
                 "t.rules:1:42: error: rule sid 1: early.score: '!' only negates a range");
    expect_error("alert ip any any -> any any (early.score:>0.5x; sid:1;)",
                 "t.rules:1:46: error: rule sid 1: early.score: unexpected 'x'");
    expect_error("alert ip any any -> any any (early.k:7; sid:1;)",
                 "t.rules:1:38: error: rule sid 1: early.k: expected a k of 3, 5, 10 or 20, got "
                 "'7'");
    expect_error("alert ip any any -> any any (early.k:5; early.k:10; sid:1;)",
                 "t.rules:1:41: error: rule sid 1: duplicate 'early.k' option");
}
END_TEST

/* Errors on continuation lines point at the physical line and column. */
START_TEST(errors_on_continuation_lines)
{
    expect_error("# header\n"
                 "alert tcp any any -> any any ( \\\n"
                 "  msg:\"x\"; \\\n"
                 "  content:\"y\"; sid:3;)\n",
                 "t.rules:4:3: error: rule sid 3: unsupported keyword 'content'");
    expect_error("alert tcp any any \\\n"
                 "  -> 10.0.0.1/99 any (sid:3;)\n",
                 "t.rules:2:6: error: rule sid 3: destination address: expected a prefix length");
}
END_TEST

START_TEST(each_bad_rule_is_reported_and_the_rest_loads)
{
    diags_t ds;
    ef_ruleset_t *rs = load("alert ip any any -> any any (early.k:5; sid:1;)\n"
                            "alert ip any any -> any any (content:\"x\"; flow:established; "
                            "sid:2;)\n"
                            "garbage\n"
                            "alert ip any any -> any any (early.k:5; sid:3;)\n", &ds);
    ck_assert_uint_eq(ef_ruleset_count(rs), 2);
    const ef_rules_counts_t *c = ef_ruleset_counts(rs);
    ck_assert_uint_eq(c->loaded, 2);
    ck_assert_uint_eq(c->skipped, 2);
    ck_assert_uint_eq(c->errors, 3); /* content, flow, garbage */
    ASSERT_DIAG(&ds, "t.rules:2:30: error: rule sid 2: unsupported keyword 'content'");
    ASSERT_DIAG(&ds, "t.rules:2:43: error: rule sid 2: unsupported keyword 'flow'");
    ASSERT_DIAG(&ds, "t.rules:3:8: error: rule: expected a protocol");
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(indented_rule_warns)
{
    diags_t ds;
    ef_ruleset_t *rs = load("  alert ip any any -> any any (early.k:5; sid:1;)", &ds);
    one_rule(rs, &ds);
    ASSERT_DIAG(&ds, "t.rules:1:1: warning: rule sid 1: the rule's line starts with a blank: "
                     "Suricata silently ignores such lines");
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(io_errors)
{
    ef_err_t err;
    ef_ruleset_t *rs = ef_ruleset_new(NULL, &err);
    ck_assert_int_eq(ef_ruleset_add_file(rs, "/nonexistent/x.rules", &err), -1);
    ck_assert_str_eq(err.msg, "/nonexistent/x.rules: cannot open rules file: No such file or "
                              "directory");
    char *dir = eft_mkdtemp("rules-io");
    ck_assert_int_eq(ef_ruleset_add_file(rs, dir, &err), -1); /* a directory: read fails */
    ck_assert_msg(strstr(err.msg, "read error") != NULL, "%s", err.msg);
    const char *paths[] = {"/nonexistent/y.rules"};
    ck_assert_ptr_null(ef_ruleset_load(paths, 1, NULL, &err));
    ck_assert_str_eq(err.msg, "/nonexistent/y.rules: cannot open rules file: No such file or "
                              "directory");
    eft_rmtree(dir);
    free(dir);
    ef_ruleset_free(rs);
}
END_TEST

/* ---- pathological inputs --------------------------------------------------------------- */

START_TEST(deep_nesting_is_bounded)
{
    size_t n = 100000;
    char *text = malloc(n * 2 + 200);
    strcpy(text, "alert ip ");
    memset(text + 9, '[', n);
    strcpy(text + 9 + n, " any -> any any (sid:1;)\nalert ip any any -> any any (early.k:5; sid:2;)");
    diags_t ds;
    ef_ruleset_t *rs = load(text, &ds);
    /* the first line is longer than the rule limit; the second still loads */
    ck_assert_uint_eq(ef_ruleset_count(rs), 1);
    ASSERT_DIAG(&ds, "t.rules:1:1: error: rule: rule longer than 8192 bytes");
    ef_ruleset_free(rs);
    /* within the size limit, nesting is cut at 64 levels */
    n = 4000;
    strcpy(text, "alert ip ");
    memset(text + 9, '[', n);
    strcpy(text + 9 + n, "1.1.1.1");
    memset(text + 16 + n, ']', n);
    strcpy(text + 16 + 2 * n, " any -> any any (sid:1;)");
    rs = load(text, &ds);
    ck_assert_uint_eq(ef_ruleset_count(rs), 0);
    ASSERT_DIAG(&ds, "t.rules:1:74: error: rule sid 1: source address: lists, negations and "
                     "variables nested deeper than 64 levels");
    ef_ruleset_free(rs);
    /* 2000 negations */
    strcpy(text, "alert ip ");
    for (size_t i = 0; i < 2000; i++)
        strcpy(text + 9 + 2 * i, "![");
    strcpy(text + 9 + 4000, "1.1.1.1");
    memset(text + 16 + 4000, ']', 2000);
    strcpy(text + 16 + 6000, " any -> any any (sid:1;)");
    rs = load(text, &ds);
    ck_assert_uint_eq(ef_ruleset_count(rs), 0);
    ASSERT_DIAG(&ds, "nested deeper than 64 levels");
    ef_ruleset_free(rs);
    free(text);
}
END_TEST

START_TEST(ten_megabyte_line_is_bounded)
{
    size_t n = 10u << 20;
    char *text = malloc(n + 200);
    strcpy(text, "alert ip any any -> any any (msg:\"");
    size_t at = strlen(text);
    memset(text + at, 'a', n);
    /* the long line ends with a continuation: its next line belongs to it */
    strcpy(text + at + n, "\"; \\\nsid:1;)\nalert ip any any -> any any (early.k:5; sid:2;)\n");
    diags_t ds;
    clock_t t0 = clock();
    ef_ruleset_t *rs = load(text, &ds);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_uint_eq(ef_ruleset_count(rs), 1);
    ck_assert_uint_eq(ef_ruleset_rule(rs, 0)->sid, 2);
    ck_assert_int_eq(ef_ruleset_rule(rs, 0)->line, 3);
    ASSERT_DIAG(&ds, "t.rules:1:1: error: rule: rule longer than 8192 bytes (Suricata's limit)");
    ck_assert_msg(secs < 5, "10 MB line took %.1f s", secs); /* linear, not quadratic */
    ef_ruleset_free(rs);
    free(text);
}
END_TEST

/* Variables that reference each other many times (a "billion laughs" of
 * address groups) and a huge group evaluate once each. */
START_TEST(variable_bombs_and_huge_lists)
{
    size_t cap = 4u << 20;
    char *yaml = malloc(cap);
    size_t w = (size_t)snprintf(yaml, cap, "vars:\n  address-groups:\n    V0: \"[");
    for (int i = 0; i < 100000; i += 2) /* every other address: 50000 intervals */
        w += (size_t)snprintf(yaml + w, cap - w, "%s10.%d.%d.%d", i ? "," : "", i >> 16,
                              (i >> 8) & 255, i & 255);
    w += (size_t)snprintf(yaml + w, cap - w, "]\"\n");
    for (int level = 1; level <= 30; level++) {
        w += (size_t)snprintf(yaml + w, cap - w, "    V%d: \"[", level);
        for (int j = 0; j < 10; j++)
            w += (size_t)snprintf(yaml + w, cap - w, "%s$V%d", j ? "," : "", level - 1);
        w += (size_t)snprintf(yaml + w, cap - w, "]\"\n");
    }
    ef_err_t err;
    ef_config_t *cfg = ef_config_load_string("big.yaml", yaml, w, NULL, NULL, &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    diags_t ds;
    clock_t t0 = clock();
    ef_ruleset_t *rs = load_with("alert ip $V30 any -> any any (early.k:5; sid:1;)\n"
                                 "alert ip [$V30,!10.0.0.8] any -> any any (early.k:5; sid:2;)\n",
                                 cfg, &ds);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_int_eq(ds.errors, 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), 2);
    ck_assert_msg(secs < 10, "took %.1f s", secs);
    const ef_rule_t *out[2];
    flow_t a = mkflow("10.1.134.158", 1, "1.1.1.1", 2, 6); /* i = 99998 */
    ck_assert_uint_eq(match(rs, &a, "DoS", 1, 5, out, 2), 2);
    flow_t b = mkflow("10.0.0.8", 1, "1.1.1.1", 2, 6); /* negated in sid 2 */
    ck_assert_uint_eq(match(rs, &b, "DoS", 1, 5, out, 2), 1);
    flow_t b2 = mkflow("10.0.0.4", 1, "1.1.1.1", 2, 6);
    ck_assert_uint_eq(match(rs, &b2, "DoS", 1, 5, out, 2), 2);
    flow_t c = mkflow("10.0.0.5", 1, "1.1.1.1", 2, 6); /* odd: not in V0 */
    ck_assert_uint_eq(match(rs, &c, "DoS", 1, 5, out, 2), 0);
    flow_t d = mkflow("10.1.134.160", 1, "1.1.1.1", 2, 6); /* past the end */
    ck_assert_uint_eq(match(rs, &d, "DoS", 1, 5, out, 2), 0);
    ef_ruleset_free(rs);
    ef_config_free(cfg);
    free(yaml);
}
END_TEST

START_TEST(many_rules_load_and_match)
{
    size_t n = 20000, cap = n * 120;
    char *text = malloc(cap);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += (size_t)snprintf(text + w, cap - w,
                              "alert tcp any any -> 10.%zu.%zu.0/24 %zu (early.label:%s; "
                              "early.k:%d; sid:%zu;)\n",
                              i >> 8, i & 255, 1 + i % 1000, i % 2 ? "DoS" : "PortScan",
                              i % 3 ? 5 : 10, i + 1);
    diags_t ds;
    ef_ruleset_t *rs = load(text, &ds);
    ck_assert_int_eq(ds.errors, 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), n);
    ck_assert_uint_eq(ef_ruleset_k_mask(rs), (1u << 5) | (1u << 10));
    /* rule i = 777: 10.3.9.0/24 port 778, DoS, k 10 (777 % 3 == 0) */
    const ef_rule_t *out[4];
    flow_t f = mkflow("1.1.1.1", 1, "10.3.9.7", 778, 6);
    ck_assert_uint_eq(match(rs, &f, "DoS", 1, 10, out, 4), 1);
    ck_assert_uint_eq(out[0]->sid, 778);
    ck_assert_uint_eq(match(rs, &f, "DoS", 1, 5, out, 4), 0);
    ck_assert_uint_eq(match(rs, &f, "PortScan", 1, 10, out, 4), 0);
    ef_ruleset_free(rs);
    free(text);
}
END_TEST

/* ---- the command ------------------------------------------------------------------------- */

START_TEST(cli_rules_check)
{
    char *dir = eft_mkdtemp("rules-cli");
    char *good = eft_path(dir, "good.rules"), *bad = eft_path(dir, "bad.rules");
    char *cfg = eft_path(dir, "suricata.yaml");
    const char *g = "alert tcp any any -> $HOME_NET any (msg:\"scan\"; early.label:NetworkScan; "
                    "early.k:10; sid:1;)\n";
    const char *b = "alert tcp any any -> any any (content:\"x\"; sid:2;)\n"
                    "alert tcp any any -> any any (early.k:3; sid:3;)\n";
    char *yaml = NULL;
    ck_assert_int_ge(asprintf(&yaml,
                              "vars:\n  address-groups:\n    HOME_NET: \"10.0.0.0/8\"\n"
                              "default-rule-path: %s\nrule-files:\n  - good.rules\n", dir), 0);
    eft_write_file(good, g, strlen(g));
    eft_write_file(bad, b, strlen(b));
    eft_write_file(cfg, yaml, strlen(yaml));
    char *cmd = NULL, *out = NULL, *errs = NULL;

    ck_assert_int_ge(asprintf(&cmd, "%s rules --check -c %s", eft_bin(), cfg), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 0);
    ck_assert_str_eq(out, "1 rule loaded, 0 skipped, 0 errors, 0 warnings; early.k used: 10\n");
    free(cmd), free(out), free(errs);

    ck_assert_int_ge(asprintf(&cmd, "%s rules --check %s %s", eft_bin(), good, bad), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 1);
    /* without -c, $HOME_NET is unknown: good.rules fails too */
    ck_assert_str_eq(out, "1 rule loaded, 2 skipped, 2 errors, 0 warnings; early.k used: 3\n");
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s:1:22: error: rule sid 1: destination address: unknown "
                                     "address variable $HOME_NET", good), 0);
    ck_assert_msg(strstr(errs, want), "stderr: %s", errs);
    free(want);
    ck_assert_int_ge(asprintf(&want, "%s:1:31: error: rule sid 2: unsupported keyword 'content' "
                                     "(earlyflow matches only on flow header and early.*)", bad), 0);
    ck_assert_msg(strstr(errs, want), "stderr: %s", errs);
    free(want), free(cmd), free(out), free(errs);

    /* config errors and bad variables fail the check too */
    const char *badcfg = "vars:\n  port-groups:\n    P: \"[80,70000]\"\nearlyflow:\n  k: [7]\n";
    eft_write_file(cfg, badcfg, strlen(badcfg));
    ck_assert_int_ge(asprintf(&cmd, "%s rules --check -c %s %s", eft_bin(), cfg, good), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 1);
    ck_assert_int_ge(asprintf(&want, "%s:5:7: error: earlyflow.k.0: expected a k of 3, 5, 10 or "
                                     "20, got '7'", cfg), 0);
    ck_assert_msg(strstr(errs, want), "stderr: %s", errs);
    free(want), free(cmd), free(out), free(errs);
    badcfg = "vars:\n  port-groups:\n    P: \"[80,70000]\"\n";
    eft_write_file(cfg, badcfg, strlen(badcfg));
    ck_assert_int_ge(asprintf(&cmd, "%s rules --check -c %s %s", eft_bin(), cfg, bad), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 1);
    ck_assert_int_ge(asprintf(&want, "%s:3:8: error: in $P (vars.port-groups.P at %s:3:8), column "
                                     "5 of its value: expected a port 0-65535, range, list or "
                                     "variable, got '70000'", cfg, cfg), 0);
    ck_assert_msg(strstr(errs, want), "stderr: %s", errs);
    ck_assert_str_eq(out, "1 rule loaded, 1 skipped, 2 errors, 0 warnings; early.k used: 3\n");
    free(want), free(cmd), free(out), free(errs);

    ck_assert_int_ge(asprintf(&cmd, "%s rules %s", eft_bin(), good), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 2);
    free(cmd), free(out), free(errs);
    ck_assert_int_ge(asprintf(&cmd, "%s rules --check", eft_bin()), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 2);
    free(cmd), free(out), free(errs);
    ck_assert_int_ge(asprintf(&cmd, "%s rules --check /nonexistent.rules", eft_bin()), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 1);
    ck_assert_msg(strstr(errs, "/nonexistent.rules: cannot open rules file"), "%s", errs);
    free(cmd), free(out), free(errs);
    ck_assert_int_ge(asprintf(&cmd, "%s rules --help", eft_bin()), 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 0);
    ck_assert_msg(strstr(out, "usage: earlyflow rules --check"), "%s", out);
    free(cmd), free(out), free(errs);

    free(yaml);
    free(good), free(bad), free(cfg);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(repository_fixtures)
{
    /* tests/data/rules: a good file that loads cleanly with its config and
     * a bad one whose every line is a different error */
    ef_err_t err;
    ef_config_t *cfg = ef_config_load(EF_TEST_DATA "/config/full.yaml", NULL, NULL, &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    diags_t ds = {0};
    ef_rules_opts_t o = {.config = cfg, .diag = collect, .diag_user = &ds};
    const char *good[] = {EF_TEST_DATA "/rules/earlyflow.rules"};
    ef_ruleset_t *rs = ef_ruleset_load(good, 1, &o, &err);
    ck_assert_ptr_nonnull(rs);
    if (ds.errors || ds.warnings)
        dump(&ds);
    ck_assert_int_eq(ds.errors + ds.warnings, 0);
    ck_assert_uint_ge(ef_ruleset_count(rs), 5);
    ef_ruleset_free(rs);
    memset(&ds, 0, sizeof ds);
    const char *bad[] = {EF_TEST_DATA "/rules/errors.rules"};
    rs = ef_ruleset_load(bad, 1, &o, &err);
    ck_assert_ptr_nonnull(rs);
    ck_assert_uint_eq(ef_ruleset_count(rs), 0);
    ck_assert_uint_eq(ef_ruleset_counts(rs)->skipped, (unsigned)ds.errors);
    ck_assert_int_ge(ds.errors, 8);
    ef_ruleset_free(rs);
    ef_config_free(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("parse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, brief_example_rule);
    tcase_add_test(tc, actions_and_protocols);
    tcase_add_test(tc, address_expressions);
    tcase_add_test(tc, port_expressions);
    tcase_add_test(tc, direction_and_bidirectional);
    tcase_add_test(tc, ports_ignored_for_portless_protocols);
    tcase_add_test(tc, options_and_metadata);
    tcase_add_test(tc, priority_and_classtypes);
    tcase_add_test(tc, file_layout_comments_continuations);
    tcase_add_test(tc, early_keywords);
    tcase_add_test(tc, default_k);
    tcase_add_test(tc, rule_without_early_keyword_warns);
    tcase_add_test(tc, action_order_priority_sid_and_pass);
    tcase_add_test(tc, duplicate_sid_across_files);
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, address_and_port_errors);
    tcase_add_test(tc, more_error_paths);
    tcase_add_test(tc, variable_depth_and_work_budget);
    tcase_add_test(tc, variable_errors_name_the_config);
    tcase_add_test(tc, option_errors);
    tcase_add_test(tc, early_keyword_errors);
    tcase_add_test(tc, errors_on_continuation_lines);
    tcase_add_test(tc, each_bad_rule_is_reported_and_the_rest_loads);
    tcase_add_test(tc, indented_rule_warns);
    tcase_add_test(tc, io_errors);
    tcase_add_test(tc, deep_nesting_is_bounded);
    tcase_add_test(tc, ten_megabyte_line_is_bounded);
    tcase_add_test(tc, variable_bombs_and_huge_lists);
    tcase_add_test(tc, many_rules_load_and_match);
    tcase_add_test(tc, cli_rules_check);
    tcase_add_test(tc, repository_fixtures);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
