/* `earlyflow run` against PyTorch: the host's whole path (capture decode,
 * flow table, the one feature function, the model file's preprocessing, the
 * model, EVE) proven against an independent implementation.
 *
 * tests/data/host/parity_flows.json (tools/make_host_fixture.py) lists flows
 * -- integer IP sizes, microsecond inter-arrival times, directions, UDP or
 * TCP over IPv4 or IPv6 -- and the class probabilities PyTorch computes for
 * each after doing the preprocessing itself, for the small bilstm model
 * parity_bilstm_k5.safetensors (k=5, direction as a third feature). This
 * suite writes those flows into one capture, interleaved, with exactly those
 * sizes and timestamps, runs the host with `model:` set to the file, and
 * compares every early event with PyTorch within 1e-5: flows of 5 packets or
 * more at their 5th packet, shorter ones at flow end on their prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_run_util.h"

#define MAX_FLOWS 64
#define MAX_PKTS 32
#define K 5
#define T0 1700000000000000ull /* 2023-11-14T22:13:20Z */

typedef struct pflow {
    int ipv, proto, n;
    unsigned size[MAX_PKTS];
    uint64_t iat[MAX_PKTS];
    int dir[MAX_PKTS];
    uint64_t ts[MAX_PKTS];
    double probs[8];
    int n_probs;
} pflow_t;

typedef struct fixture {
    int n_flows;
    pflow_t flow[MAX_FLOWS];
    char labels[8][32];
    int n_labels;
} fixture_t;

static void int_array(const ef_json_value_t *a, uint64_t *out, int *n)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->type, EF_JSON_ARRAY);
    ck_assert_uint_le(a->count, MAX_PKTS);
    *n = 0;
    for (const ef_json_value_t *v = a->child; v; v = v->next)
        ck_assert_int_eq(ef_json_u64(v, &out[(*n)++]), 0);
}

static void load_fixture(fixture_t *fx)
{
    char *p = host_data("parity_flows.json");
    ef_json_t *doc = read_json(p);
    const ef_json_value_t *root = ef_json_root(doc);
    memset(fx, 0, sizeof *fx);
    ck_assert_int_eq((int)jnum(root, "k"), K);
    const ef_json_value_t *labels = jget(root, "labels");
    for (const ef_json_value_t *v = labels->child; v; v = v->next)
        snprintf(fx->labels[fx->n_labels++], sizeof fx->labels[0], "%s", v->str);
    const ef_json_value_t *flows = jget(root, "flows");
    ck_assert_ptr_nonnull(flows);
    for (const ef_json_value_t *f = flows->child; f; f = f->next) {
        ck_assert_int_lt(fx->n_flows, MAX_FLOWS);
        pflow_t *pf = &fx->flow[fx->n_flows++];
        uint64_t tmp[MAX_PKTS];
        int n1, n2, n3;
        int_array(jget(f, "sizes"), tmp, &n1);
        for (int i = 0; i < n1; i++)
            pf->size[i] = (unsigned)tmp[i];
        int_array(jget(f, "iat_us"), pf->iat, &n2);
        int_array(jget(f, "dirs"), tmp, &n3);
        for (int i = 0; i < n3; i++)
            pf->dir[i] = (int)tmp[i];
        ck_assert(n1 == n2 && n2 == n3 && n1 >= 1);
        ck_assert_int_eq(pf->dir[0], 1); /* the first packet's sender is the client */
        pf->n = n1;
        pf->ipv = (int)jnum(f, "ip");
        pf->proto = !strcmp(jstr(f, "proto"), "tcp") ? 6 : 17;
        const ef_json_value_t *probs = jget(f, "probs");
        for (const ef_json_value_t *v = probs->child; v; v = v->next)
            pf->probs[pf->n_probs++] = v->num;
        ck_assert_int_eq(pf->n_probs, fx->n_labels);
    }
    ck_assert_int_ge(fx->n_flows, 10);
    ef_json_free(doc);
    free(p);
}

typedef struct pkt_ref {
    uint64_t ts;
    int flow, idx;
} pkt_ref_t;

static int cmp_pkt(const void *a, const void *b)
{
    const pkt_ref_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->flow != y->flow)
        return x->flow - y->flow;
    return x->idx - y->idx;
}

static void flow_addrs(int i, int ipv, char *cli, char *srv, size_t len)
{
    if (ipv == 4) {
        snprintf(cli, len, "10.1.%d.1", i);
        snprintf(srv, len, "10.2.%d.2", i);
    } else {
        snprintf(cli, len, "2001:db8:1::%x", i + 1);
        snprintf(srv, len, "2001:db8:2::%x", i + 1);
    }
}

/* All flows in one capture: flow i starts at T0 + i * 137 ms, its packets
 * follow its inter-arrival times, and the capture is in time order. */
static void write_capture(fixture_t *fx, const char *path)
{
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    pb_flow_t fl[MAX_FLOWS];
    pkt_ref_t *refs = calloc(MAX_FLOWS * MAX_PKTS, sizeof *refs);
    int nref = 0;
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < fx->n_flows; i++) {
        pflow_t *pf = &fx->flow[i];
        char cli[64], srv[64];
        flow_addrs(i, pf->ipv, cli, srv, sizeof cli);
        ck_assert_int_eq(pb_flow_init(&fl[i], (uint8_t)pf->proto, cli, (uint16_t)(20000 + i), srv,
                                      (uint16_t)(5000 + i)),
                         0);
        uint64_t t = T0 + (uint64_t)i * 137000u;
        for (int j = 0; j < pf->n; j++) {
            t += pf->iat[j];
            pf->ts[j] = t;
            refs[nref++] = (pkt_ref_t){t, i, j};
        }
    }
    qsort(refs, (size_t)nref, sizeof *refs, cmp_pkt);
    for (int r = 0; r < nref; r++) {
        pflow_t *pf = &fx->flow[refs[r].flow];
        int j = refs[r].idx;
        uint8_t flags = 0;
        if (pf->proto == 6)
            flags = j == 0 ? PB_SYN : PB_ACK;
        put_pkt(w, &fl[refs[r].flow], refs[r].ts, pf->dir[j] ? PB_C2S : PB_S2C, flags,
                pf->size[j]);
    }
    ck_assert_int_eq(pb_writer_close(w), 0);
    free(refs);
}

static void check_event(const fixture_t *fx, const ef_json_value_t *ev, int *seen)
{
    uint64_t sport = ju64(ev, "src_port");
    ck_assert_msg(sport >= 20000 && sport < 20000u + (unsigned)fx->n_flows,
                  "event for an unknown flow (src_port %llu)", (unsigned long long)sport);
    int i = (int)(sport - 20000);
    const pflow_t *pf = &fx->flow[i];
    char cli[64], srv[64], ts[40];
    flow_addrs(i, pf->ipv, cli, srv, sizeof cli);
    seen[i]++;

    ck_assert_str_eq(jstr(ev, "src_ip"), cli);
    ck_assert_str_eq(jstr(ev, "dest_ip"), srv);
    ck_assert_uint_eq(ju64(ev, "dest_port"), 5000u + (unsigned)i);
    ck_assert_str_eq(jstr(ev, "proto"), pf->proto == 6 ? "TCP" : "UDP");
    ck_assert_uint_eq(ju64(ev, "ip_v"), (unsigned)pf->ipv);

    int at_end = pf->n < K;
    int used = at_end ? pf->n : K;
    ts_text(pf->ts[used - 1], ts, sizeof ts);
    ck_assert_str_eq(jstr(ev, "timestamp"), ts);
    ck_assert_uint_eq(ju64(ev, "early.k"), K);
    ck_assert_uint_eq(ju64(ev, "early.packets"), (unsigned)used);
    ck_assert_int_eq(jbool(ev, "early.at_flow_end"), at_end);
    ck_assert_str_eq(jstr(ev, "early.model"), "parity_bilstm_k5");

    const ef_json_value_t *probs = jget(ev, "early.probabilities");
    ck_assert_ptr_nonnull(probs);
    ck_assert_uint_eq(probs->count, (size_t)fx->n_labels);
    int c = 0, best = 0;
    double sum = 0;
    for (const ef_json_value_t *v = probs->child; v; v = v->next, c++) {
        ck_assert_str_eq(v->key, fx->labels[c]); /* the model's class order */
        ck_assert_msg(fabs(v->num - pf->probs[c]) <= 1e-5,
                      "flow %d (%d packets) class %s: host %.8g, PyTorch %.8g", i, pf->n,
                      fx->labels[c], v->num, pf->probs[c]);
        if (pf->probs[c] > pf->probs[best])
            best = c;
        sum += v->num;
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-5);
    ck_assert_str_eq(jstr(ev, "early.label"), fx->labels[best]);
    ck_assert_double_eq_tol(jnum(ev, "early.score"), pf->probs[best], 1e-5);
}

/* _i: number of workers (1, then 3). */
START_TEST(host_matches_pytorch)
{
    static const int workers[] = {1, 3};
    fixture_t *fx = malloc(sizeof *fx);
    load_fixture(fx);
    char *dir = eft_mkdtemp("run-model");
    char *pcap = eft_path(dir, "flows.pcap");
    char *model = host_data("parity_bilstm_k5.safetensors");
    write_capture(fx, pcap);
    char *cfg = NULL;
    ck_assert_int_ge(asprintf(&cfg,
                              "earlyflow:\n  model: %s\n  k: [5]\n"
                              "  flow-timeouts: {new: 60, established: 60, closed: 60}\n",
                              model),
                     0);
    write_text(dir, "c.yaml", cfg);

    run_t r;
    run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s' --workers %d", dir, pcap, dir, workers[_i]);
    ck_assert_msg(r.rc == 0, "rc %d, stderr: %s", r.rc, r.err);
    char *evepath = eft_path(dir, "eve.json");
    eve_t *e = eve_read(evepath);
    int seen[MAX_FLOWS] = {0};
    size_t early = 0;
    for (size_t l = 0; l < e->n; l++)
        if (is_type(e->ev[l], "early")) {
            check_event(fx, e->ev[l], seen);
            early++;
        }
    for (int i = 0; i < fx->n_flows; i++)
        ck_assert_msg(seen[i] == 1, "flow %d has %d early events, expected 1", i, seen[i]);
    ck_assert_uint_eq(early, (size_t)fx->n_flows);
    /* the summary counts the same verdicts */
    char want[64];
    snprintf(want, sizeof want, "verdicts     %12d", fx->n_flows);
    ck_assert_msg(strstr(r.out, want), "summary lacks '%s': %s", want, r.out);

    eve_free(e);
    run_free(&r);
    free(evepath);
    free(cfg);
    free(model);
    free(pcap);
    eft_rmtree(dir);
    free(dir);
    free(fx);
}
END_TEST

/* The same flows through a model file configured for the wrong k: refused
 * at start-up with a message naming the file and both k values. */
START_TEST(model_for_wrong_k_is_refused)
{
    char *dir = eft_mkdtemp("run-model-k");
    char *model = host_data("parity_bilstm_k5.safetensors");
    char *cfg = NULL;
    ck_assert_int_ge(asprintf(&cfg, "earlyflow:\n  model: %s\n  k: [3]\n", model), 0);
    write_text(dir, "c.yaml", cfg);
    char *one = eft_path(dir, "one.pcap");
    pb_writer_t *w = pb_writer_open(one, PB_DLT_EN10MB, 0);
    free(one);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "10.0.0.1", 1000, "10.0.0.2", 53);
    put_pkt(w, &fl, T0, PB_C2S, 0, 100);
    pb_writer_close(w);
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -r '%s/one.pcap' -l '%s'", dir, dir, dir);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_msg(strstr(r.err, "parity_bilstm_k5.safetensors") &&
                      strstr(r.err, "trained for k=5") && strstr(r.err, "decide at k=3"),
                  "stderr: %s", r.err);
    run_free(&r);
    free(cfg);
    free(model);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_model");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, host_matches_pytorch, 0, 2);
    tcase_add_test(tc, model_for_wrong_k_is_refused);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
