/* `earlyflow run` output: EVE early events field by field, verdict timing
 * (each k at exactly its k-th packet, emitted while that packet is
 * processed; at flow end for shorter flows), the final stats event, the
 * summary on stdout, app_proto from nDPI, min-score, early-labels and the
 * eve options. Captures are written here with pktbuild; the steering models
 * of tests/data/host make each flow's label a function of its first packet's
 * size (steer.json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_run_util.h"

#define T0 1600000000000000ull /* 2020-09-13T12:26:40Z */
#define MS 1000ull

/* ---- the reference capture ----------------------------------------------------- */

enum { FA, FB, FC, FD, NFLOWS };

typedef struct step {
    unsigned t_ms;
    int flow, dir;
    uint8_t flags;
    unsigned size;
} step_t;

/* A: TCP/IPv4 10.0.0.1:40000 -> 192.168.1.2:80, 12 packets, first 40 bytes
 *    (NetworkScan); its 5th packet goes server -> client.
 * B: UDP/IPv6 [2001:db8::1]:5353 -> [2001:db8::2]:53, 2 packets, first 400
 *    bytes (Multi).
 * C: ICMP/IPv4 echo 10.0.0.5 -> 10.0.0.6, 3 packets, first 1000 (IPv6Tunnel).
 * D: UDP/IPv4 on VLAN 42, 172.16.0.1:1234 -> 172.16.0.2:9999, 1 packet of
 *    250 (Unlabeled). */
static const step_t script[] = {
    {0, FA, PB_C2S, PB_SYN, 40},
    {1, FC, PB_C2S, 0, 1000},
    {2, FA, PB_S2C, PB_SYN | PB_ACK, 40},
    {2, FC, PB_S2C, 0, 1000},
    {3, FA, PB_C2S, PB_ACK, 40},  /* A's 3rd: k=3 */
    {4, FC, PB_C2S, 0, 1000},     /* C's 3rd: k=3 */
    {4, FB, PB_C2S, 0, 400},
    {5, FA, PB_C2S, PB_PSH | PB_ACK, 300},
    {7, FA, PB_S2C, PB_PSH | PB_ACK, 1400}, /* A's 5th, server -> client */
    {8, FD, PB_C2S, 0, 250},
    {9, FA, PB_C2S, PB_ACK, 40},
    {10, FB, PB_S2C, 0, 120},
    {11, FA, PB_C2S, PB_PSH | PB_ACK, 200},
    {12, FA, PB_S2C, PB_PSH | PB_ACK, 900},
    {13, FA, PB_C2S, PB_ACK, 40},
    {15, FA, PB_C2S, PB_PSH | PB_ACK, 100}, /* A's 10th */
    {16, FA, PB_S2C, PB_ACK, 40},
    {18, FA, PB_C2S, PB_ACK, 40},           /* A's 12th and last */
};
#define NSTEPS (sizeof script / sizeof script[0])

static void open_flows(pb_flow_t fl[NFLOWS])
{
    ck_assert_int_eq(pb_flow_init(&fl[FA], 6, "10.0.0.1", 40000, "192.168.1.2", 80), 0);
    ck_assert_int_eq(pb_flow_init(&fl[FB], 17, "2001:db8::1", 5353, "2001:db8::2", 53), 0);
    ck_assert_int_eq(pb_flow_init(&fl[FC], 1, "10.0.0.5", 0, "10.0.0.6", 0), 0);
    ck_assert_int_eq(pb_flow_init(&fl[FD], 17, "172.16.0.1", 1234, "172.16.0.2", 9999), 0);
    fl[FD].vlan = 42;
}

static void write_reference(const char *path)
{
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    pb_flow_t fl[NFLOWS];
    ck_assert_ptr_nonnull(w);
    open_flows(fl);
    for (size_t i = 0; i < NSTEPS; i++)
        put_pkt(w, &fl[script[i].flow], T0 + script[i].t_ms * MS, script[i].dir, script[i].flags,
                script[i].size);
    ck_assert_int_eq(pb_writer_close(w), 0);
}

/* Time of the n-th (1-based) packet of a flow in the script. */
static uint64_t pkt_time(int flow, int n)
{
    for (size_t i = 0; i < NSTEPS; i++)
        if (script[i].flow == flow && --n == 0)
            return T0 + script[i].t_ms * MS;
    ck_abort_msg("no such packet");
    return 0;
}

static int pkt_count(int flow)
{
    int n = 0;
    for (size_t i = 0; i < NSTEPS; i++)
        n += script[i].flow == flow;
    return n;
}

/* Which flow an event is about, from its addresses. */
static int flow_of(const ef_json_value_t *ev)
{
    const char *src = jstr(ev, "src_ip");
    ck_assert_ptr_nonnull(src);
    if (!strcmp(src, "10.0.0.1"))
        return FA;
    if (!strcmp(src, "2001:db8::1"))
        return FB;
    if (!strcmp(src, "10.0.0.5"))
        return FC;
    if (!strcmp(src, "172.16.0.1"))
        return FD;
    ck_abort_msg("event for an unexpected source %s", src);
    return -1;
}

typedef struct ctx {
    char *dir, *pcap, *eve;
    run_t r;
    eve_t *e;
} ctx_t;

/* Write the reference capture and a config, run, read the EVE file. */
static void run_reference(ctx_t *c, const char *k_list, const char *extra_cfg, const char *flags)
{
    c->dir = eft_mkdtemp("run-eve");
    c->pcap = eft_path(c->dir, "ref.pcap");
    c->eve = eft_path(c->dir, "eve.json");
    write_reference(c->pcap);
    char *cfg = steer_config(k_list, extra_cfg);
    write_text(c->dir, "c.yaml", cfg);
    free(cfg);
    run_host(&c->r, "-c '%s/c.yaml' -r '%s' -l '%s' %s", c->dir, c->pcap, c->dir,
             flags ? flags : "");
    ck_assert_msg(c->r.rc == 0, "rc %d: %s", c->r.rc, c->r.err);
    c->e = eve_read(c->eve);
}

static void ctx_free(ctx_t *c)
{
    eve_free(c->e);
    run_free(&c->r);
    eft_rmtree(c->dir);
    free(c->dir);
    free(c->pcap);
    free(c->eve);
}

/* ---- early events ----------------------------------------------------------------- */

START_TEST(early_event_fields)
{
    ctx_t c;
    run_reference(&c, "[5]", NULL, NULL);
    static const char *const labels[] = {"Unlabeled", "HTTP",     "Multi",      "Alpha",
                                         "NetworkScan", "PortScan", "DoS",      "IPv6Tunnel",
                                         "Other",     "Unknown"};
    static const unsigned first[NFLOWS] = {40, 400, 1000, 250};
    int seen[NFLOWS] = {0};
    uint64_t ids[NFLOWS] = {0};
    for (size_t i = 0; i < c.e->n; i++) {
        const ef_json_value_t *ev = c.e->ev[i];
        if (!is_type(ev, "early"))
            continue;
        int f = flow_of(ev);
        seen[f]++;
        /* the field order is Suricata's (vlan, when tagged, after event_type) */
        const char *order[] = {"timestamp", "flow_id", "event_type", "src_ip"};
        const ef_json_value_t *m = ev->child;
        for (int o = 0; o < 4; o++, m = m->next) {
            if (o == 3 && !strcmp(m->key, "vlan"))
                m = m->next;
            ck_assert_str_eq(m->key, order[o]);
        }
        ids[f] = ju64(ev, "flow_id");
        ck_assert_uint_gt(ids[f], 0);
        ck_assert_uint_lt(ids[f], 1ull << 53);
        ck_assert_ptr_null(jget(ev, "app_proto")); /* nDPI is off by default */
        steer_probe_t p = steer_probe(first[f]);
        ck_assert_str_eq(jstr(ev, "early.label"), p.label);
        ck_assert_double_eq_tol(jnum(ev, "early.score"), p.score, 1e-5);
        ck_assert_uint_eq(ju64(ev, "early.k"), 5);
        ck_assert_str_eq(jstr(ev, "early.model"), "steer_k5");
        const ef_json_value_t *probs = jget(ev, "early.probabilities");
        ck_assert_ptr_nonnull(probs);
        ck_assert_uint_eq(probs->count, 10);
        double sum = 0;
        int ci = 0;
        for (const ef_json_value_t *v = probs->child; v; v = v->next, ci++) {
            ck_assert_str_eq(v->key, labels[ci]);
            ck_assert(v->num >= 0 && v->num <= 1);
            sum += v->num;
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-4);
        char ts[40];
        switch (f) {
        case FA:
            ck_assert_str_eq(jstr(ev, "dest_ip"), "192.168.1.2");
            ck_assert_uint_eq(ju64(ev, "src_port"), 40000);
            ck_assert_uint_eq(ju64(ev, "dest_port"), 80);
            ck_assert_str_eq(jstr(ev, "proto"), "TCP");
            ck_assert_uint_eq(ju64(ev, "ip_v"), 4);
            ck_assert_uint_eq(ju64(ev, "early.packets"), 5);
            ck_assert_int_eq(jbool(ev, "early.at_flow_end"), 0);
            /* decided on its 5th packet, which went server -> client */
            ts_text(pkt_time(FA, 5), ts, sizeof ts);
            ck_assert_str_eq(jstr(ev, "timestamp"), ts);
            ck_assert_str_eq(ts, "2020-09-13T12:26:40.007000+0000");
            break;
        case FB:
            ck_assert_str_eq(jstr(ev, "dest_ip"), "2001:db8::2");
            ck_assert_uint_eq(ju64(ev, "src_port"), 5353);
            ck_assert_uint_eq(ju64(ev, "dest_port"), 53);
            ck_assert_str_eq(jstr(ev, "proto"), "UDP");
            ck_assert_uint_eq(ju64(ev, "ip_v"), 6);
            ck_assert_uint_eq(ju64(ev, "early.packets"), 2);
            ck_assert_int_eq(jbool(ev, "early.at_flow_end"), 1);
            ts_text(pkt_time(FB, 2), ts, sizeof ts); /* its last packet */
            ck_assert_str_eq(jstr(ev, "timestamp"), ts);
            break;
        case FC:
            ck_assert_str_eq(jstr(ev, "dest_ip"), "10.0.0.6");
            ck_assert_ptr_null(jget(ev, "src_port")); /* no ports for ICMP */
            ck_assert_ptr_null(jget(ev, "dest_port"));
            ck_assert_str_eq(jstr(ev, "proto"), "ICMP");
            ck_assert_uint_eq(ju64(ev, "early.packets"), 3);
            ck_assert_int_eq(jbool(ev, "early.at_flow_end"), 1);
            break;
        case FD: {
            const ef_json_value_t *vlan = jget(ev, "vlan");
            ck_assert_ptr_nonnull(vlan);
            ck_assert_uint_eq(vlan->count, 1);
            ck_assert_double_eq(vlan->child->num, 42);
            ck_assert_uint_eq(ju64(ev, "early.packets"), 1);
            break;
        }
        }
    }
    for (int f = 0; f < NFLOWS; f++)
        ck_assert_int_eq(seen[f], 1);
    for (int a = 0; a < NFLOWS; a++)
        for (int b = a + 1; b < NFLOWS; b++)
            ck_assert_uint_ne(ids[a], ids[b]);
    ctx_free(&c);
}
END_TEST

/* k = 3, 5, 10, 20: each k its own verdict, at exactly its k-th packet or
 * at flow end with the packets the flow had; never a second one. */
START_TEST(verdict_timing_every_k)
{
    ctx_t c;
    run_reference(&c, "[3, 5, 10, 20]", NULL, NULL);
    static const int ks[] = {3, 5, 10, 20};
    int got[NFLOWS][21] = {{0}};
    size_t line_of[NFLOWS][21] = {{0}};
    for (size_t i = 0; i < c.e->n; i++) {
        const ef_json_value_t *ev = c.e->ev[i];
        if (!is_type(ev, "early"))
            continue;
        int f = flow_of(ev);
        int k = (int)ju64(ev, "early.k");
        ck_assert(k == 3 || k == 5 || k == 10 || k == 20);
        got[f][k]++;
        line_of[f][k] = i;
        int n = pkt_count(f);
        int at_end = n < k;
        int packets = at_end ? n : k;
        char ts[40], model[32];
        ts_text(pkt_time(f, packets), ts, sizeof ts);
        snprintf(model, sizeof model, "steer_k%d", k);
        ck_assert_msg(!strcmp(jstr(ev, "timestamp"), ts), "flow %d k=%d at %s, expected %s", f, k,
                      jstr(ev, "timestamp"), ts);
        ck_assert_uint_eq(ju64(ev, "early.packets"), (unsigned)packets);
        ck_assert_int_eq(jbool(ev, "early.at_flow_end"), at_end);
        ck_assert_str_eq(jstr(ev, "early.model"), model);
    }
    for (int f = 0; f < NFLOWS; f++)
        for (int i = 0; i < 4; i++)
            ck_assert_msg(got[f][ks[i]] == 1, "flow %d: %d verdicts at k=%d", f, got[f][ks[i]],
                          ks[i]);
    ck_assert_uint_eq(eve_count(c.e, "early"), 16);
    /* Emitted while processing the packet, in capture order: A's 3rd packet
     * (3 ms), then C's 3rd (4 ms), then A's 5th (7 ms), A's 10th (15 ms). */
    ck_assert_uint_lt(line_of[FA][3], line_of[FC][3]);
    ck_assert_uint_lt(line_of[FC][3], line_of[FA][5]);
    ck_assert_uint_lt(line_of[FA][5], line_of[FA][10]);
    /* ... and nothing waits for the end of the capture: only events of
     * flows that ended (the shutdown) come after A's 10th-packet verdict */
    for (size_t i = 0; i < line_of[FA][10]; i++)
        if (is_type(c.e->ev[i], "early"))
            ck_assert_int_eq(jbool(c.e->ev[i], "early.at_flow_end"), 0);
    ctx_free(&c);
}
END_TEST

/* A rule's early.k that earlyflow.k lacks widens the set of k decided. */
START_TEST(k_widened_by_rules)
{
    ctx_t c;
    char *rules = NULL;
    c.dir = NULL;
    char *tmp = eft_mkdtemp("run-eve-rules");
    rules = eft_path(tmp, "r.rules");
    write_text(tmp, "r.rules",
               "alert ip any any -> any any (msg:\"ten\"; early.label:!Unknown; early.k:10; sid:10;)\n");
    char flags[512];
    snprintf(flags, sizeof flags, "-S '%s'", rules);
    run_reference(&c, "[5]", NULL, flags);
    int k5 = 0, k10 = 0, k3 = 0;
    for (size_t i = 0; i < c.e->n; i++)
        if (is_type(c.e->ev[i], "early")) {
            int k = (int)ju64(c.e->ev[i], "early.k");
            k5 += k == 5;
            k10 += k == 10;
            k3 += k == 3;
        }
    ck_assert_int_eq(k5, NFLOWS);
    ck_assert_int_eq(k10, NFLOWS);
    ck_assert_int_eq(k3, 0);
    ck_assert_uint_eq(eve_count(c.e, "alert"), NFLOWS); /* one per flow at k=10 */
    ck_assert_msg(strstr(c.r.err, "deciding also at k=10 (early.k of loaded rules; "
                                  "earlyflow.k is 5)"),
                  "%s", c.r.err);
    ctx_free(&c);
    eft_rmtree(tmp);
    free(tmp);
    free(rules);
}
END_TEST

/* ---- stats and summary ------------------------------------------------------------ */

START_TEST(stats_event_and_summary)
{
    ctx_t c;
    char *tmp = eft_mkdtemp("run-eve-stats");
    char *rules = eft_path(tmp, "r.rules");
    write_text(tmp, "r.rules",
               "alert tcp any any -> any 80 (msg:\"scan of port 80\"; early.label:NetworkScan; "
               "early.k:3; sid:9100001; rev:2;)\n"
               "alert ip any any -> any any (msg:\"anything at 20\"; early.k:20; sid:9100002;)\n");
    char flags[512];
    snprintf(flags, sizeof flags, "-S '%s'", rules);
    run_reference(&c, "[3, 5, 10, 20]", NULL, flags);

    /* exactly one stats event, the last line, at the last packet's time */
    ck_assert_uint_eq(eve_count(c.e, "stats"), 1);
    const ef_json_value_t *st = c.e->ev[c.e->n - 1];
    ck_assert(is_type(st, "stats"));
    char ts[40];
    ts_text(T0 + 18 * MS, ts, sizeof ts);
    ck_assert_str_eq(jstr(st, "timestamp"), ts);
    ck_assert_ptr_null(jget(st, "flow_id"));
    ck_assert_uint_eq(ju64(st, "stats.decoder.pkts"), NSTEPS);
    ck_assert_uint_eq(ju64(st, "stats.decoder.malformed"), 0);
    ck_assert_uint_eq(ju64(st, "stats.flow.created"), NFLOWS);
    ck_assert_uint_eq(ju64(st, "stats.flow.ended.shutdown"), NFLOWS);
    ck_assert_uint_eq(ju64(st, "stats.early.verdicts"), 16);
    /* at flow end: A k=20; B all 4; C 5/10/20; D all 4 */
    ck_assert_uint_eq(ju64(st, "stats.early.at_flow_end"), 1 + 4 + 3 + 4);
    ck_assert_uint_eq(ju64(st, "stats.early.labels.NetworkScan"), 4);
    ck_assert_uint_eq(ju64(st, "stats.early.labels.Multi"), 4);
    ck_assert_uint_eq(ju64(st, "stats.early.labels.IPv6Tunnel"), 4);
    ck_assert_uint_eq(ju64(st, "stats.early.labels.Unlabeled"), 4);
    ck_assert_uint_eq(ju64(st, "stats.detect.alerts"), 1 + NFLOWS);
    ck_assert_uint_eq(ju64(st, "stats.detect.sids.1:9100001"), 1);
    ck_assert_uint_eq(ju64(st, "stats.detect.sids.1:9100002"), NFLOWS);
    ck_assert_uint_eq(eve_count(c.e, "alert"), 1 + NFLOWS);
    ck_assert_uint_eq(eve_count(c.e, "early"), 16);
    /* memory per tracked flow: the plugin's storage is part of it, and the
     * table that many flows need fits the memcap (default 64 MiB) */
    uint64_t per_flow = ju64(st, "stats.flow.bytes_per_flow");
    uint64_t plugin = ju64(st, "stats.flow.plugin_bytes_per_flow");
    uint64_t capacity = ju64(st, "stats.flow.capacity");
    ck_assert_uint_gt(plugin, 0);
    ck_assert_uint_gt(per_flow, plugin);
    ck_assert_uint_le(capacity * per_flow, 64ull << 20);
    ck_assert_uint_gt(capacity * per_flow, 60ull << 20);
    char mem[160];
    snprintf(mem, sizeof mem, "memory       %12llu  bytes per tracked flow (%llu of them the plugin's)\n",
             (unsigned long long)per_flow, (unsigned long long)plugin);
    ck_assert_msg(strstr(c.r.out, mem), "no '%s' in %s", mem, c.r.out);

    /* the summary on stdout says the same */
    const char *out = c.r.out;
    char want[128];
    snprintf(want, sizeof want, "packets      %12zu", NSTEPS);
    ck_assert_msg(strstr(out, want), "no '%s' in:\n%s", want, out);
    ck_assert_msg(strstr(out, "flows                   4  (ended:"), "%s", out);
    ck_assert_msg(strstr(out, "verdicts               16  (12 at flow end)"), "%s", out);
    ck_assert_msg(strstr(out, "    NetworkScan           4\n"), "%s", out);
    ck_assert_msg(strstr(out, "    Unlabeled             4\n"), "%s", out);
    ck_assert_msg(strstr(out, "alerts                  5\n"), "%s", out);
    ck_assert_msg(strstr(out, "1:9100001             1  scan of port 80\n"), "%s", out);
    ck_assert_msg(strstr(out, "1:9100002             4  anything at 20\n"), "%s", out);
    snprintf(want, sizeof want, "eve          %12zu  lines in %s", c.e->n, c.eve);
    ck_assert_msg(strstr(out, want), "no '%s' in:\n%s", want, out);
    /* -q: no summary */
    run_t q;
    run_host(&q, "-q -c '%s/c.yaml' -r '%s' -l '%s/q'", c.dir, c.pcap, c.dir);
    ck_assert_int_eq(q.rc, 0);
    ck_assert_str_eq(q.out, "");
    run_free(&q);
    ctx_free(&c);
    eft_rmtree(tmp);
    free(tmp);
    free(rules);
}
END_TEST

/* ---- filters: min-score, early-labels, eve options -------------------------------- */

/* Flows whose first packet is 40 (NetworkScan, 0.978), 48 (NetworkScan,
 * 0.59) and 250 bytes (Unlabeled, 0.984). */
static void write_three(const char *path)
{
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    static const unsigned sizes[] = {40, 48, 250};
    for (int i = 0; i < 3; i++) {
        pb_flow_t fl;
        char cli[32];
        snprintf(cli, sizeof cli, "10.9.0.%d", i + 1);
        pb_flow_init(&fl, 17, cli, 1000, "10.9.9.9", 7777);
        put_pkt(w, &fl, T0 + (uint64_t)i * MS, PB_C2S, 0, sizes[i] < 28 ? 28 : sizes[i]);
    }
    ck_assert_int_eq(pb_writer_close(w), 0);
}

START_TEST(min_score_and_attacks_only)
{
    char *dir = eft_mkdtemp("run-eve-min");
    char *pcap = eft_path(dir, "three.pcap");
    write_three(pcap);
    char *cfg = steer_config("[5]", "  min-score: 0.9\n  eve:\n    early-labels: attacks\n");
    write_text(dir, "c.yaml", cfg);
    write_text(dir, "r.rules",
               "alert udp any any -> any any (msg:\"all\"; early.label:NetworkScan,Unlabeled; sid:1;)\n");
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -S '%s/r.rules' -r '%s' -l '%s'", dir, dir, pcap, dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char *evp = eft_path(dir, "eve.json");
    eve_t *e = eve_read(evp);
    /* early: only the 40-byte flow (48 is below min-score, 250 is Unlabeled) */
    ck_assert_uint_eq(eve_count(e, "early"), 1);
    /* alerts: 40 and 250 (early-labels does not filter alerts); 48 is below
     * min-score and reaches no rule */
    ck_assert_uint_eq(eve_count(e, "alert"), 2);
    for (size_t i = 0; i < e->n; i++) {
        if (is_type(e->ev[i], "early"))
            ck_assert_str_eq(jstr(e->ev[i], "src_ip"), "10.9.0.1");
        if (is_type(e->ev[i], "alert"))
            ck_assert_str_ne(jstr(e->ev[i], "src_ip"), "10.9.0.2");
        if (!is_type(e->ev[i], "stats"))
            ck_assert(jnum(e->ev[i], "early.score") >= 0.9);
    }
    /* the host still counts every verdict */
    const ef_json_value_t *st = e->ev[e->n - 1];
    ck_assert_uint_eq(ju64(st, "stats.early.verdicts"), 3);
    eve_free(e);
    run_free(&r);
    free(evp);
    free(cfg);
    free(pcap);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- flow events ------------------------------------------------------------------- */

/* earlyflow.eve.types with `flow`: one flow event per flow, after the flow's
 * early events, with packets and IP bytes per direction as the script sent
 * them, and `alerted` true exactly for the flow a rule alerted on. */
START_TEST(flow_events)
{
    ctx_t c;
    char *tmp = eft_mkdtemp("run-eve-flow-rules");
    char *rules = eft_path(tmp, "r.rules");
    write_text(tmp, "r.rules",
               "alert ip any any -> any any (msg:\"scan\"; early.label:NetworkScan; sid:7;)\n");
    char flags[512];
    snprintf(flags, sizeof flags, "-S '%s'", rules);
    run_reference(&c, "[3, 5]", "  eve:\n    types: [early, alert, stats, flow]\n", flags);
    ck_assert_uint_eq(eve_count(c.e, "flow"), NFLOWS);
    ck_assert_uint_gt(eve_count(c.e, "alert"), 0);
    uint64_t pkts[NFLOWS][2] = {{0}}, bytes[NFLOWS][2] = {{0}};
    for (size_t i = 0; i < NSTEPS; i++) {
        int d = script[i].dir == PB_C2S ? 0 : 1;
        pkts[script[i].flow][d]++;
        bytes[script[i].flow][d] += script[i].size;
    }
    int seen[NFLOWS] = {0}, alerted[NFLOWS] = {0};
    for (size_t i = 0; i < c.e->n; i++) {
        const ef_json_value_t *ev = c.e->ev[i];
        if (is_type(ev, "alert"))
            alerted[flow_of(ev)] = 1;
        if (is_type(ev, "early"))
            ck_assert_msg(!seen[flow_of(ev)], "early event after the flow event of flow %d",
                          flow_of(ev));
        if (!is_type(ev, "flow"))
            continue;
        int f = flow_of(ev);
        ck_assert_int_eq(seen[f]++, 0);
        ck_assert_uint_eq(ju64(ev, "flow.pkts_toserver"), pkts[f][0]);
        ck_assert_uint_eq(ju64(ev, "flow.pkts_toclient"), pkts[f][1]);
        ck_assert_uint_eq(ju64(ev, "flow.bytes_toserver"), bytes[f][0]);
        ck_assert_uint_eq(ju64(ev, "flow.bytes_toclient"), bytes[f][1]);
        ck_assert_int_eq(jbool(ev, "flow.alerted"), alerted[f]);
        ck_assert_ptr_nonnull(jstr(ev, "flow.state"));
        ck_assert_ptr_nonnull(jstr(ev, "flow.reason"));
        const char *start = jstr(ev, "flow.start"), *end = jstr(ev, "flow.end");
        ck_assert(start && end && strcmp(start, end) <= 0);
        ck_assert_ptr_null(jget(ev, "in_iface")); /* files: no interface */
    }
    ck_assert_int_eq(alerted[FA], 1);
    ck_assert_int_eq(alerted[FD], 0);
    ctx_free(&c);
    eft_rmtree(tmp);
    free(tmp);
    free(rules);
}
END_TEST

START_TEST(eve_options)
{
    char *dir = eft_mkdtemp("run-eve-opts");
    char *pcap = eft_path(dir, "three.pcap");
    write_three(pcap);

    /* types: [early] only */
    char *cfg = steer_config("[5]", "  eve:\n    types: [early]\n");
    write_text(dir, "c1.yaml", cfg);
    free(cfg);
    write_text(dir, "r.rules", "alert udp any any -> any any (msg:\"x\"; sid:1;)\n");
    run_t r;
    run_host(&r, "-c '%s/c1.yaml' -S '%s/r.rules' -r '%s' -l '%s/a'", dir, dir, pcap, dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char *evp = pathf(dir, "a/eve.json");
    eve_t *e = eve_read(evp);
    ck_assert_uint_eq(e->n, 3);
    ck_assert_uint_eq(eve_count(e, "early"), 3);
    eve_free(e);
    free(evp);
    run_free(&r);

    /* filename "-": EVE on stdout, nothing else (the summary goes to stderr) */
    cfg = steer_config("[5]", "  eve:\n    filename: \"-\"\n");
    write_text(dir, "c2.yaml", cfg);
    free(cfg);
    run_host(&r, "-c '%s/c2.yaml' -r '%s' -l '%s/b'", dir, pcap, dir);
    ck_assert_msg(strstr(r.err, "earlyflow run summary"), "%s", r.err);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char *outp = eft_path(dir, "stdout.json");
    write_text(dir, "stdout.json", r.out);
    e = eve_read(outp);
    ck_assert_uint_eq(eve_count(e, "early"), 3);
    ck_assert_uint_eq(eve_count(e, "stats"), 1);
    eve_free(e);
    free(outp);
    run_free(&r);

    /* enabled: no -- no file at all, the summary still counts */
    cfg = steer_config("[5]", "  eve:\n    enabled: no\n");
    write_text(dir, "c3.yaml", cfg);
    free(cfg);
    run_host(&r, "-c '%s/c3.yaml' -r '%s' -l '%s/c'", dir, pcap, dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char *none = pathf(dir, "c/eve.json");
    ck_assert_int_ne(access(none, F_OK), 0);
    ck_assert_msg(strstr(r.out, "verdicts                3"), "%s", r.out);
    free(none);
    run_free(&r);

    /* default-log-dir from the config when there is no -l */
    char *extra = NULL;
    ck_assert_int_ge(asprintf(&extra, "default-log-dir: %s/d\n", dir), 0);
    cfg = steer_config("[5]", NULL);
    char *full = NULL;
    ck_assert_int_ge(asprintf(&full, "%s%s", cfg, extra), 0);
    write_text(dir, "c4.yaml", full);
    run_host(&r, "-c '%s/c4.yaml' -r '%s'", dir, pcap);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    evp = pathf(dir, "d/eve.json");
    e = eve_read(evp);
    ck_assert_uint_eq(eve_count(e, "early"), 3);
    eve_free(e);
    free(evp);
    run_free(&r);
    free(full);
    free(extra);
    free(cfg);

    /* -l that is a file: a clear error */
    run_host(&r, "-c '%s/c1.yaml' -r '%s' -l '%s'", dir, pcap, pcap);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_msg(strstr(r.err, "not a directory"), "%s", r.err);
    run_free(&r);

    free(pcap);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- app_proto from nDPI ------------------------------------------------------------- */

static const char http_req[] = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                               "User-Agent: earlyflow-test\r\nAccept: */*\r\n\r\n";
static const char http_resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                "Content-Length: 5\r\nServer: test\r\n\r\nhello";

/* A DNS query for www.example.com (A) and its answer. */
static size_t dns_msg(uint8_t *b, int response)
{
    static const uint8_t q[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
    static const uint8_t a[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34};
    size_t n = 0;
    uint8_t hdr[12] = {0x12, 0x34, response ? 0x81 : 0x01, response ? 0x80 : 0x00, 0, 1, 0,
                       response ? 1 : 0, 0, 0, 0, 0};
    memcpy(b + n, hdr, sizeof hdr);
    n += sizeof hdr;
    memcpy(b + n, q, sizeof q);
    n += sizeof q;
    if (response) {
        memcpy(b + n, a, sizeof a);
        n += sizeof a;
    }
    return n;
}

static void write_apps(const char *path)
{
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    pb_flow_t h, d;
    uint64_t t = T0;
    pb_flow_init(&h, 6, "10.0.0.1", 50000, "10.0.0.80", 80);
    pb_flow_write(w, &h, t += MS, PB_C2S, PB_SYN, NULL, 0);
    pb_flow_write(w, &h, t += MS, PB_S2C, PB_SYN | PB_ACK, NULL, 0);
    pb_flow_write(w, &h, t += MS, PB_C2S, PB_ACK, NULL, 0);
    pb_flow_write(w, &h, t += MS, PB_C2S, PB_PSH | PB_ACK, http_req, sizeof http_req - 1);
    pb_flow_write(w, &h, t += MS, PB_S2C, PB_PSH | PB_ACK, http_resp, sizeof http_resp - 1);
    pb_flow_write(w, &h, t += MS, PB_C2S, PB_ACK, NULL, 0);
    pb_flow_init(&d, 17, "10.0.0.2", 40001, "10.0.0.53", 53);
    uint8_t msg[128];
    size_t n = dns_msg(msg, 0);
    pb_flow_write(w, &d, t += MS, PB_C2S, 0, msg, n);
    n = dns_msg(msg, 1);
    pb_flow_write(w, &d, t += MS, PB_S2C, 0, msg, n);
    ck_assert_int_eq(pb_writer_close(w), 0);
}

/* _i: 0 --ndpi, 1 config ndpi: yes, 2 config yes but --no-ndpi, 3 default */
START_TEST(app_proto_from_ndpi)
{
    char *dir = eft_mkdtemp("run-eve-ndpi");
    char *pcap = eft_path(dir, "apps.pcap");
    write_apps(pcap);
    char *cfg = steer_config("[5]", _i == 1 || _i == 2 ? "  ndpi: yes\n" : NULL);
    write_text(dir, "c.yaml", cfg);
    static const char *const flags[] = {"--ndpi", "", "--no-ndpi", ""};
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s' %s", dir, pcap, dir, flags[_i]);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char *evp = eft_path(dir, "eve.json");
    eve_t *e = eve_read(evp);
    int on = _i <= 1, n = 0;
    for (size_t i = 0; i < e->n; i++) {
        const ef_json_value_t *ev = e->ev[i];
        if (!is_type(ev, "early"))
            continue;
        n++;
        const char *app = jstr(ev, "app_proto");
        uint64_t port = ju64(ev, "dest_port");
        if (!on) {
            ck_assert_ptr_null(jget(ev, "app_proto"));
        } else if (port == 80) {
            ck_assert_msg(app && !strcmp(app, "HTTP"), "HTTP flow: app_proto %s", app);
            ck_assert_int_eq(jbool(ev, "early.at_flow_end"), 0); /* named by its 5th packet */
        } else {
            ck_assert_msg(app && !strcmp(app, "DNS"), "DNS flow: app_proto %s", app);
        }
    }
    ck_assert_int_eq(n, 2);
    if (on)
        ck_assert_uint_eq(ju64(e->ev[e->n - 1], "stats.app_layer.ndpi.detected"), 2);
    eve_free(e);
    run_free(&r);
    free(evp);
    free(cfg);
    free(pcap);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_eve");
    TCase *tc = tcase_create("eve");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, early_event_fields);
    tcase_add_test(tc, verdict_timing_every_k);
    tcase_add_test(tc, k_widened_by_rules);
    tcase_add_test(tc, stats_event_and_summary);
    tcase_add_test(tc, min_score_and_attacks_only);
    tcase_add_test(tc, eve_options);
    tcase_add_test(tc, flow_events);
    tcase_add_loop_test(tc, app_proto_from_ndpi, 0, 4);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
