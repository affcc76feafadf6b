/* Rule matching cost per verdict: the indexed ef_ruleset_match against a
 * baseline in the same run, a plain scan of every rule with the same tests
 * (k, label, score, header). Also EVE early-line cost to /dev/null.
 *
 *   bench_rules [RULES] [VERDICTS]      defaults 10000 rules, 1000000 verdicts
 *
 * Prints ns per verdict for both and their ratio. Timings on a shared
 * machine are noisy: compare the ratio, rerun on a quiet machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/taxonomy.h"
#include "ids/eve.h"
#include "ids/rules.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static const int ks[4] = {3, 5, 10, 20};

int main(int argc, char **argv)
{
    size_t n_rules = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t n_verdicts = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    size_t cap = n_rules * 160 + 1;
    char *text = malloc(cap);
    size_t w = 0;
    for (size_t i = 0; i < n_rules; i++) {
        const char *label = ef_category_label((ef_category_t)(rnd() % EF_CAT__COUNT));
        w += (size_t)snprintf(text + w, cap - w,
                              "alert %s any any -> 10.%u.%u.0/24 %s (early.label:%s; "
                              "early.score:>=0.%u; early.k:%d; sid:%zu;)\n",
                              rnd() % 2 ? "tcp" : "ip", rnd() % 4, rnd() % 256,
                              rnd() % 3 ? "any" : "[80,443,8000:8100]", label, rnd() % 10,
                              ks[rnd() % 4], i + 1);
    }
    ef_err_t err;
    ef_ruleset_t *rs = ef_ruleset_new(NULL, &err);
    double t0 = now();
    if (!rs || ef_ruleset_add_string(rs, "bench", text, w, &err) < 0 ||
        ef_ruleset_finalize(rs, &err) < 0) {
        fprintf(stderr, "bench_rules: %s\n", err.msg);
        return 1;
    }
    double t_load = now() - t0;

    /* verdicts: random flows into the rules' address space */
    typedef struct {
        uint8_t c[4], s[4];
        uint16_t sp, dp;
        uint8_t proto;
        ef_verdict_t v;
    } item_t;
    item_t *items = malloc(n_verdicts * sizeof *items);
    for (size_t i = 0; i < n_verdicts; i++) {
        item_t *it = &items[i];
        uint32_t c = rnd(), s = rnd();
        memcpy(it->c, &c, 4);
        it->s[0] = 10;
        it->s[1] = (uint8_t)(s % 4);
        it->s[2] = (uint8_t)(s >> 8);
        it->s[3] = (uint8_t)(s >> 16);
        it->sp = (uint16_t)rnd();
        it->dp = rnd() % 2 ? 80 : (uint16_t)rnd();
        it->proto = rnd() % 2 ? 6 : 17;
        it->v.label = ef_category_label((ef_category_t)(rnd() % EF_CAT__COUNT));
        it->v.score = (float)(rnd() % 1000) / 1000.0f;
        it->v.k = ks[rnd() % 4];
    }
    const ef_rule_t **out = malloc(n_rules * sizeof *out);
    size_t hits_idx = 0, hits_scan = 0;

    t0 = now();
    for (size_t i = 0; i < n_verdicts; i++) {
        item_t *it = &items[i];
        ef_rule_flow_t f = {4, it->proto, it->sp, it->dp, it->c, it->s};
        hits_idx += ef_ruleset_match(rs, &f, &it->v, out, n_rules);
    }
    double t_idx = now() - t0;

    /* baseline: every rule, same tests, no index (fewer verdicts: it is slow) */
    size_t n_scan = n_verdicts / 10 ? n_verdicts / 10 : 1;
    size_t hits_idx_sub = 0;
    for (size_t i = 0; i < n_scan; i++) {
        item_t *it = &items[i];
        ef_rule_flow_t f = {4, it->proto, it->sp, it->dp, it->c, it->s};
        hits_idx_sub += ef_ruleset_match(rs, &f, &it->v, out, n_rules);
    }
    t0 = now();
    for (size_t i = 0; i < n_scan; i++) {
        item_t *it = &items[i];
        ef_rule_flow_t f = {4, it->proto, it->sp, it->dp, it->c, it->s};
        for (size_t r = 0; r < ef_ruleset_count(rs); r++) {
            const ef_rule_t *rule = ef_ruleset_rule(rs, r);
            if (rule->k == it->v.k && ef_label_match_test(&rule->label, it->v.label) &&
                ef_score_match_test(&rule->score, it->v.score) && ef_rule_match_flow(rule, &f))
                hits_scan++;
        }
    }
    double t_scan = now() - t0;

    /* EVE early lines to /dev/null */
    ef_eve_t *eve = ef_eve_open("/dev/null", NULL, &err);
    static const char *labels[3] = {"Unlabeled", "PortScan", "NetworkScan"};
    static const float probs[3] = {0.01f, 0.02f, 0.97f};
    ef_verdict_t v = {"NetworkScan", 0.97f, 5, 5, 0, "builtin_k5", 3, labels, probs};
    uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    ef_eve_flow_t ef = {.ts_us = 1796398603123456ull, .flow_id = 1, .ip_version = 4, .proto = 6,
                        .src_port = 1, .dest_port = 2, .src_addr = a, .dest_addr = b};
    size_t n_eve = n_verdicts / 2 ? n_verdicts / 2 : 1;
    t0 = now();
    for (size_t i = 0; i < n_eve; i++) {
        ef.flow_id = i;
        ef_eve_early(eve, &ef, &v, &err);
    }
    ef_eve_close(eve, &err);
    double t_eve = now() - t0;

    double ns_idx = t_idx / (double)n_verdicts * 1e9, ns_scan = t_scan / (double)n_scan * 1e9;
    printf("rules: %zu loaded in %.3f s (%.0f rules/s)\n", ef_ruleset_count(rs), t_load,
           (double)ef_ruleset_count(rs) / t_load);
    printf("indexed match: %.0f ns/verdict (%zu verdicts, %zu matches)\n", ns_idx, n_verdicts,
           hits_idx);
    printf("baseline scan: %.0f ns/verdict (%zu verdicts, %zu matches; indexed on the same: %zu)\n",
           ns_scan, n_scan, hits_scan, hits_idx_sub);
    printf("ratio baseline/indexed: %.1fx\n", ns_scan / ns_idx);
    printf("eve early line to /dev/null: %.0f ns/line\n", t_eve / (double)n_eve * 1e9);
    /* the two must agree (pass rules aside: the bench has none) */
    if (hits_scan != hits_idx_sub) {
        fprintf(stderr, "bench_rules: indexed and scan disagree (%zu vs %zu)\n", hits_idx_sub,
                hits_scan);
        return 1;
    }
    ef_ruleset_free(rs);
    free(items);
    free(out);
    free(text);
    return 0;
}
