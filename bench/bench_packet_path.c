/* Packet-path benchmark: decode + flow table + first-k features over an
 * in-memory packet array, next to libpcap's own read loop over the same
 * files measured in the same run.
 *
 *   bench_packet_path [-n PACKETS] [-r REPEAT] [-k MAXPKTS] [-m MODE] PATH...
 *
 * -m runs one mode only (for profiling): libpcap, decode, flow or ndpi.
 * -p sets the nDPI slot pool (flows in detection at once; default 65536,
 * enough for every flow of the shared corpus to get a slot).
 *
 * PATH: capture files or directories (searched one level deep, like the
 * shared data folder). Every readable capture is loaded once into memory;
 * the replay walks the array as many times as needed to reach PACKETS
 * (default 800000), shifting timestamps so each pass continues the
 * timeline. Each file's timestamps are rebased to follow the previous file
 * (2 s apart) so that files from different years form one clock.
 *
 * Modes (each timed REPEAT times, default 3, best run reported):
 *   libpcap     pcap_next_ex over the same files, same number of packets
 *   decode      ef_decode only
 *   flow        decode + flow lookup/insert + feature append (nDPI off)
 *   flow+ndpi   the same with nDPI on each flow's first MAXPKTS packets */
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/capture.h"
#include "net/decode.h"
#include "net/features.h"
#include "net/flow.h"
#include "net/ndpi.h"

typedef struct frame_ref {
    uint64_t off;     /* into the data buffer */
    uint64_t ts_us;   /* rebased */
    uint32_t caplen, wirelen;
    int linktype;
} frame_ref_t;

typedef struct corpus {
    unsigned char *data;
    size_t used, cap;
    frame_ref_t *frames;
    size_t n, ncap;
    uint64_t span_us;   /* rebased timeline length */
    char **files;       /* files that loaded */
    int nfiles;
} corpus_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return q;
}

static int load_file(corpus_t *c, const char *path)
{
    ef_err_t err;
    ef_capture_t *cap = ef_capture_open_file(path, &err);
    if (!cap) {
        fprintf(stderr, "skipped: %s\n", err.msg);
        return -1;
    }
    size_t first = c->n, used0 = c->used;
    uint64_t base = c->n ? c->span_us + 2000000u : 0, t0 = 0, tmax = 0;
    ef_frame_t fr;
    int r;
    while ((r = ef_capture_next(cap, &fr, &err)) == 1) {
        if (c->n == first)
            t0 = fr.ts_us;
        uint64_t rel = fr.ts_us > t0 ? fr.ts_us - t0 : 0;
        if (c->used + fr.caplen > c->cap) {
            c->cap = (c->cap + fr.caplen) * 2;
            c->data = xrealloc(c->data, c->cap);
        }
        if (c->n == c->ncap) {
            c->ncap = c->ncap ? c->ncap * 2 : 65536;
            c->frames = xrealloc(c->frames, c->ncap * sizeof *c->frames);
        }
        memcpy(c->data + c->used, fr.data, fr.caplen);
        c->frames[c->n++] = (frame_ref_t){c->used, base + rel, fr.caplen, fr.wirelen,
                                          ef_capture_linktype(cap)};
        c->used += fr.caplen;
        if (base + rel > tmax)
            tmax = base + rel;
    }
    ef_capture_close(cap);
    if (r < 0) {
        fprintf(stderr, "skipped: %s\n", err.msg);
        c->n = first;
        c->used = used0;
        return -1;
    }
    if (c->n > first)
        c->span_us = tmax;
    c->files = xrealloc(c->files, (size_t)(c->nfiles + 1) * sizeof *c->files);
    c->files[c->nfiles++] = strdup(path);
    return 0;
}

static int is_capture_name(const char *name)
{
    return strstr(name, ".pcap") != NULL;
}

static void load_path(corpus_t *c, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "skipped: %s: cannot open\n", path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        load_file(c, path);
        return;
    }
    if (depth > 1)
        return;
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            char *p = NULL;
            if (asprintf(&p, "%s/%s", path, ents[i]->d_name) >= 0) {
                struct stat s2;
                if (stat(p, &s2) == 0 &&
                    (S_ISDIR(s2.st_mode) || is_capture_name(ents[i]->d_name)))
                    load_path(c, p, depth + 1);
                free(p);
            }
        }
        free(ents[i]);
    }
    free(ents);
}

/* ---- modes ---- */

typedef struct result {
    double best_s;
    uint64_t packets;
    uint64_t flows;
    uint64_t malformed;
} result_t;

static uint64_t sink;
/* Replay only: touch frame i + PREFETCH_AHEAD while processing frame i, as a
 * capture ring that just received the packet would have it in cache. */
#define PREFETCH_AHEAD 4
static int prefetch = 1;
static int bucket_prefetch = 1;

#define USAGE                                                                              \
    "usage: %s [-n PACKETS] [-r REPEAT] [-k NDPI_MAX_PKTS] [-m MODE] [-p NDPI_POOL] PATH...\n"

static void bench_libpcap(const corpus_t *c, int passes, result_t *res)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    uint64_t n = 0;
    double t = now_s();
    for (int p = 0; p < passes; p++) {
        for (int i = 0; i < c->nfiles; i++) {
            pcap_t *pc = pcap_open_offline_with_tstamp_precision(c->files[i],
                                                                PCAP_TSTAMP_PRECISION_MICRO, ebuf);
            if (!pc)
                continue;
            struct pcap_pkthdr *h;
            const u_char *d;
            while (pcap_next_ex(pc, &h, &d) == 1) {
                sink += h->caplen + d[0];
                n++;
            }
            pcap_close(pc);
        }
    }
    double dt = now_s() - t;
    if (res->packets == 0 || dt < res->best_s)
        res->best_s = dt;
    res->packets = n;
}

static void bench_decode(const corpus_t *c, int passes, result_t *res)
{
    ef_decode_stats_t st = {0};
    double t = now_s();
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < c->n; i++) {
            const frame_ref_t *f = &c->frames[i];
            if (prefetch && i + PREFETCH_AHEAD < c->n)
                __builtin_prefetch(c->data + c->frames[i + PREFETCH_AHEAD].off);
            ef_packet_t pk;
            ef_decode_status_t s =
                ef_decode(f->linktype, c->data + f->off, f->caplen, f->wirelen, f->ts_us, &pk);
            ef_decode_stats_add(&st, s);
            sink += pk.sport;
        }
    }
    double dt = now_s() - t;
    if (res->packets == 0 || dt < res->best_s)
        res->best_s = dt;
    res->packets = st.packets;
    res->malformed = ef_decode_stats_malformed(&st);
}

typedef struct flow_ext {
    ef_features_t feat;
    ef_ndpi_flow_t ndpi;
} flow_ext_t;

typedef struct run_ctx {
    ef_ndpi_t *ndpi;
    uint64_t ended;
    uint64_t feat_pkts;
} run_ctx_t;

static void on_end(void *user, ef_flow_t *f)
{
    run_ctx_t *r = user;
    flow_ext_t *x = ef_flow_ext(f);
    if (r->ndpi)
        ef_ndpi_flow_end(r->ndpi, &x->ndpi);
    r->feat_pkts += x->feat.n;
    r->ended++;
}

static size_t bench_flow(const corpus_t *c, int passes, int with_ndpi, uint32_t ndpi_max,
                         uint32_t ndpi_pool, int report, result_t *res)
{
    run_ctx_t rc = {0};
    ef_err_t err;
    if (with_ndpi) {
        ef_ndpi_config_t nc;
        ef_ndpi_config_default(&nc);
        nc.max_packets = ndpi_max;
        if (ndpi_pool)
            nc.pool_flows = ndpi_pool;
        rc.ndpi = ef_ndpi_new(&nc, &err);
        if (!rc.ndpi) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
    }
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.ext_size = with_ndpi ? sizeof(flow_ext_t) : sizeof(ef_features_t);
    ef_flow_table_t *t = ef_flow_table_new(&cfg, on_end, &rc, &err);
    if (!t) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    uint64_t shift = c->span_us + 2000000u;
    double t0 = now_s();
    /* One packet decoded ahead, so its bucket can be prefetched while the
     * current one is tracked (what a batch-reading host would do). */
    ef_packet_t pkts[2];
    int have = 0, cur = 0;
    for (int p = 0; p <= passes; p++) {
        uint64_t add = shift * (uint64_t)p;
        size_t n = p < passes ? c->n : 1; /* last round: drain */
        for (size_t i = 0; i < n; i++) {
            int next_ok = 0;
            if (p < passes) {
                const frame_ref_t *f = &c->frames[i];
                if (prefetch && i + PREFETCH_AHEAD < c->n)
                    __builtin_prefetch(c->data + c->frames[i + PREFETCH_AHEAD].off);
                next_ok = ef_decode(f->linktype, c->data + f->off, f->caplen, f->wirelen,
                                    f->ts_us + add, &pkts[!cur]) == EF_DEC_OK;
                if (next_ok && bucket_prefetch)
                    ef_flow_table_prefetch(t, &pkts[!cur]);
            }
            if (have) {
                ef_packet_t *pk = &pkts[cur];
                ef_flow_hit_t h;
                if (ef_flow_table_track(t, pk, &h) == 0) {
                    flow_ext_t *x = ef_flow_ext(h.flow);
                    ef_features_add(&x->feat, pk->ts_us, pk->ip_len, h.c2s);
                    if (rc.ndpi && x->ndpi.state <= EF_NDPI_RUNNING)
                        ef_ndpi_packet(rc.ndpi, &x->ndpi, pk);
                }
            }
            have = next_ok;
            if (next_ok)
                cur = !cur;
        }
    }
    ef_flow_table_flush(t);
    double dt = now_s() - t0;
    if (res->packets == 0 || dt < res->best_s)
        res->best_s = dt;
    res->packets = (uint64_t)passes * c->n;
    res->flows = ef_flow_table_stats(t)->created;
    if (getenv("EF_BENCH_VERBOSE"))
        fprintf(stderr, "  peak active %llu capacity %llu evicted %llu\n",
                (unsigned long long)ef_flow_table_stats(t)->peak_active,
                (unsigned long long)ef_flow_table_stats(t)->capacity,
                (unsigned long long)ef_flow_table_stats(t)->ended[EF_END_EVICTED]);
    size_t per_flow = ef_flow_table_bytes_per_flow(t);
    if (rc.ndpi && report) {
        const ef_ndpi_stats_t *ns = ef_ndpi_stats(rc.ndpi);
        fprintf(stderr,
                "  nDPI: %llu flows detected from payload, %llu guessed, %llu unknown, %llu "
                "without slot; %llu packets fed; slot %llu bytes x %llu\n",
                (unsigned long long)ns->detected, (unsigned long long)ns->guessed,
                (unsigned long long)ns->unknown, (unsigned long long)ns->no_slot,
                (unsigned long long)ns->packets, (unsigned long long)ns->slot_bytes,
                (unsigned long long)ns->pool_size);
    }
    ef_ndpi_free(rc.ndpi);
    ef_flow_table_free(t);
    return per_flow;
}

static void row(const char *name, const result_t *r, const result_t *base)
{
    double pps = (double)r->packets / r->best_s;
    double ns = r->best_s * 1e9 / (double)r->packets;
    double bpps = (double)base->packets / base->best_s;
    printf("%-34s %12.0f %10.1f %10.2fx\n", name, pps, ns, pps / bpps);
}

int main(int argc, char **argv)
{
    uint64_t target = 800000;
    int repeat = 3;
    /* Pool large enough that no flow of the shared corpus goes without
     * detection, so (c) measures nDPI on every flow. */
    uint32_t ndpi_max = 20, ndpi_pool = 65536;
    const char *only = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "n:r:k:m:p:")) != -1) {
        switch (opt) {
        case 'n':
            target = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            repeat = atoi(optarg);
            break;
        case 'k':
            ndpi_max = (uint32_t)atoi(optarg);
            break;
        case 'm':
            only = optarg;
            break;
        case 'p':
            ndpi_pool = (uint32_t)atoi(optarg);
            break;
        default:
            fprintf(stderr, USAGE, argv[0]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, USAGE, argv[0]);
        return 2;
    }
    if (repeat < 1)
        repeat = 1;
    if (getenv("EF_BENCH_NO_PREFETCH"))
        prefetch = 0;
    if (getenv("EF_BENCH_NO_BUCKET_PREFETCH"))
        bucket_prefetch = 0;
    corpus_t c = {0};
    for (int i = optind; i < argc; i++)
        load_path(&c, argv[i], 0);
    if (c.n == 0) {
        fprintf(stderr, "no packets loaded\n");
        return 1;
    }
    int passes = (int)((target + c.n - 1) / c.n);
    if (passes < 1)
        passes = 1;
    printf("input: %d capture files, %zu packets, %.1f MB in memory; %d passes = %llu packets\n",
           c.nfiles, c.n, (double)c.used / 1e6, passes, (unsigned long long)c.n * passes);

    result_t rp = {0}, rd = {0}, rf = {0}, rn = {0};
    size_t per_flow = 0, per_flow_ndpi = 0;
    if (only) {
        result_t r = {0};
        for (int i = 0; i < repeat; i++) {
            if (!strcmp(only, "libpcap"))
                bench_libpcap(&c, passes, &r);
            else if (!strcmp(only, "decode"))
                bench_decode(&c, passes, &r);
            else
                bench_flow(&c, passes, !strcmp(only, "ndpi"), ndpi_max, ndpi_pool, i == repeat - 1,
                           &r);
        }
        printf("%s: %.1f ns/packet\n", only, r.best_s * 1e9 / (double)r.packets);
        return 0;
    }
    for (int i = 0; i < repeat; i++) {
        bench_libpcap(&c, passes, &rp);
        bench_decode(&c, passes, &rd);
        per_flow = bench_flow(&c, passes, 0, ndpi_max, ndpi_pool, 0, &rf);
        per_flow_ndpi = bench_flow(&c, passes, 1, ndpi_max, ndpi_pool, i == repeat - 1, &rn);
    }
    printf("flows: %llu (timeouts 1 s, memcap 64 MiB); malformed packets: %llu\n",
           (unsigned long long)rf.flows, (unsigned long long)rd.malformed);
    printf("\n%-34s %12s %10s %11s\n", "mode (best of runs)", "packets/s", "ns/packet",
           "vs libpcap");
    row("libpcap read loop (pcap_next_ex)", &rp, &rp);
    row("decode only", &rd, &rp);
    row("decode+flow+features, nDPI off", &rf, &rp);
    row("decode+flow+features, nDPI on", &rn, &rp);
    printf("\nbytes per flow in the table: %zu (nDPI off: entry %zu + features %zu, rounded, "
           "+ bucket share); %zu with the nDPI handle; plus one nDPI slot while detecting\n",
           per_flow, sizeof(ef_flow_t), sizeof(ef_features_t), per_flow_ndpi);
    if (sink == 42)
        printf(" ");
    for (int i = 0; i < c.nfiles; i++)
        free(c.files[i]);
    free(c.files);
    free(c.frames);
    free(c.data);
    return 0;
}
