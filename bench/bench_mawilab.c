/* Label join throughput: ef_mawilab_match() on a day-sized rule set, next to
 * a plain scan of every rule per flow (the baseline an index must beat),
 * both measured in this run.
 *
 * usage: bench_mawilab [RULES [FLOWS]]   (defaults 50000 rules, 2000000 flows)
 *
 * Rules are synthetic, shaped like MAWILab days: mostly {src IP, dst IP},
 * {dst IP, dst port}, single addresses, some port-only rules; addresses come
 * from a pool so that a fair share of flows match. The baseline scans all
 * rules for a sample of flows only (it is slow by design). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/mawilab.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rnd(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return (uint32_t)(*st >> 16);
}

#define POOL 30000

static void pool_addr(uint32_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static char *write_rules(int n, uint64_t *st)
{
    char *path = strdup("/tmp/bench_mawilab_XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        perror("mkstemp");
        exit(1);
    }
    fputs("anomalyID, srcIP, srcPort, dstIP, dstPort, taxonomy, heuristic, distance, "
          "nbDetectors, label\n", f);
    static const char *const codes[] = {"ntscSYN", "ptmpHTTP", "alphfl", "DoS", "mptp", "unk"};
    for (int i = 0; i < n; i++) {
        char s[32] = "", d[32] = "", sp[8] = "", dp[8] = "";
        unsigned shape = rnd(st) % 100;
        if (shape < 40 || (shape >= 60 && shape < 75))
            pool_addr(rnd(st) % POOL, s, sizeof s);
        if (shape < 60 || (shape >= 75 && shape < 90))
            pool_addr(rnd(st) % POOL, d, sizeof d);
        if (shape >= 40 && shape < 60)
            snprintf(dp, sizeof dp, "%u", rnd(st) % 1024);
        if (shape >= 90)
            snprintf(dp, sizeof dp, "%u", 1024 + rnd(st) % 60000);
        if (shape >= 95)
            snprintf(sp, sizeof sp, "%u", rnd(st) % 65536);
        fprintf(f, "%d,%s,%s,%s,%s,%s,,0.5,3,anomalous\n", i / 2, s, sp, d, dp,
                codes[rnd(st) % 6]);
    }
    fclose(f);
    return path;
}

typedef struct flow {
    uint8_t c[16], s[16];
    uint16_t cp, sp;
} flow_t;

/* Baseline: every rule, both directions, the documented priority. */
static const ef_mawilab_rule_t *scan(const ef_mawilab_t *m, const flow_t *f)
{
    const ef_mawilab_rule_t *best = NULL;
    int bs = -1;
    for (int dir = 0; dir < 2; dir++) {
        const uint8_t *sa = dir ? f->s : f->c, *da = dir ? f->c : f->s;
        uint16_t spt = dir ? f->sp : f->cp, dpt = dir ? f->cp : f->sp;
        for (uint32_t i = 0; i < ef_mawilab_rule_count(m); i++) {
            const ef_mawilab_rule_t *r = ef_mawilab_rule(m, i);
            if ((r->fields & EF_MAWILAB_F_SRC) && memcmp(r->src, sa, 4))
                continue;
            if ((r->fields & EF_MAWILAB_F_DST) && memcmp(r->dst, da, 4))
                continue;
            if ((r->fields & EF_MAWILAB_F_SPORT) && r->sport != spt)
                continue;
            if ((r->fields & EF_MAWILAB_F_DPORT) && r->dport != dpt)
                continue;
            int sc = __builtin_popcount(r->fields) * 16 + r->fields;
            if (sc > bs) {
                bs = sc;
                best = r;
            }
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    int nrules = argc > 1 ? atoi(argv[1]) : 50000;
    int nflows = argc > 2 ? atoi(argv[2]) : 2000000;
    if (nrules <= 0 || nflows <= 0) {
        fprintf(stderr, "usage: bench_mawilab [RULES [FLOWS]]\n");
        return 2;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull, *st = &seed;
    char *path = write_rules(nrules, st);
    ef_err_t err;
    double t0 = now_s();
    const char *paths[] = {path};
    ef_mawilab_t *m = ef_mawilab_load(paths, 1, &err);
    double t_load = now_s() - t0;
    unlink(path);
    free(path);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    flow_t *flows = calloc((size_t)nflows, sizeof *flows);
    for (int i = 0; i < nflows; i++) {
        uint32_t a = rnd(st) % (POOL * 3), b = rnd(st) % (POOL * 3);
        uint32_t va = htonl(0x0a000000u | a), vb = htonl(0x0a000000u | b);
        memcpy(flows[i].c, &va, 4);
        memcpy(flows[i].s, &vb, 4);
        flows[i].cp = (uint16_t)(1024 + rnd(st) % 60000);
        flows[i].sp = (uint16_t)(rnd(st) % 1024);
    }
    uint64_t matched = 0;
    t0 = now_s();
    for (int i = 0; i < nflows; i++) {
        ef_mawilab_flow_t mf = {flows[i].c, flows[i].s, flows[i].cp, flows[i].sp, 4, 1};
        ef_mawilab_match_t mt;
        ef_mawilab_match(m, &mf, &mt);
        matched += mt.rule != NULL;
    }
    double t_idx = now_s() - t0;
    int sample = nflows < 2000 ? nflows : 2000;
    int agree = 0;
    t0 = now_s();
    for (int i = 0; i < sample; i++) {
        ef_mawilab_flow_t mf = {flows[i].c, flows[i].s, flows[i].cp, flows[i].sp, 4, 1};
        ef_mawilab_match_t mt;
        ef_mawilab_match(m, &mf, &mt);
        const ef_mawilab_rule_t *r = scan(m, &flows[i]);
        agree += (r == NULL) == (mt.rule == NULL) &&
                 (!r || __builtin_popcount(r->fields) == __builtin_popcount(mt.rule->fields));
    }
    double t_scan = now_s() - t0;
    double ns_idx = t_idx / nflows * 1e9, ns_scan = t_scan / sample * 1e9;
    printf("label join: %d rules (loaded and indexed in %.1f ms), %d flows, %.1f%% matched\n",
           nrules, t_load * 1e3, nflows, 100.0 * (double)matched / nflows);
    printf("  indexed join   %10.0f ns/flow  %8.2f M flows/s\n", ns_idx, 1e3 / ns_idx);
    printf("  full scan      %10.0f ns/flow  %8.4f M flows/s  (baseline, %d flows)\n", ns_scan,
           1e3 / ns_scan, sample);
    printf("  speed-up       %10.0fx   (index and scan agree on %d/%d flows)\n",
           ns_scan / ns_idx, agree, sample);
    free(flows);
    ef_mawilab_free(m);
    return agree == sample ? 0 : 1;
}
