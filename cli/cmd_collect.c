/* earlyflow collect: captures (+ MAWILab labels) -> first-k dataset CSVs.
 *
 * One pass over the inputs, in order: decode -> flow table (per-flow
 * storage: first-k features + nDPI state) -> at each flow's end: label
 * (MAWILab join or --label) -> one row per requested k. Rows are written in
 * flow-end order, which a single-threaded pass makes deterministic. Output
 * files appear only when the whole run succeeded (dataset_csv.h).
 * docs/dataset.md describes the output, docs/labels.md the join. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "data/dataset_csv.h"
#include "data/mawilab.h"
#include "data/taxonomy.h"
#include "net/capture.h"
#include "net/decode.h"
#include "net/features.h"
#include "net/flow.h"
#include "net/ndpi.h"
#include "progress.h"

#define PROG "earlyflow collect"
#define PROGRESS_EVERY 8192 /* packets between progress updates */

static const char usage_text[] =
    "usage: earlyflow collect -r FILE [-r FILE ...] -o DIR [options]\n"
    "\n"
    "Turn captures (and MAWILab label files) into first-k dataset CSVs, one per k:\n"
    "DIR/NAME_K_<k>.csv with pktSize1..k, pktTime1..k, c2s, taxonomy label.\n"
    "\n"
    "  -r, --read FILE        pcap/pcapng file or directory of them (repeatable)\n"
    "  -o, --output DIR       output directory (created if missing)\n"
    "  -k, --k LIST           packet counts, comma-separated (default 3,5,10,20)\n"
    "      --labels FILE      MAWILab label CSV (repeatable; anomalous_suspicious, notice)\n"
    "      --label CATEGORY   give every flow this label (Unlabeled, HTTP, Multi, Alpha,\n"
    "                         NetworkScan, PortScan, DoS, IPv6Tunnel, Other, Unknown)\n"
    "      --name NAME        output name prefix (default: first input's base name)\n"
    "      --extended         add flow id, 5-tuple, start time, directions, nDPI, MAWILab\n"
    "      --pad              also write flows shorter than k (missing packets = 0)\n"
    "      --timeout SECS     idle timeout for every flow state (default 1)\n"
    "      --timeout-new SECS / --timeout-est SECS / --timeout-closed SECS\n"
    "      --memcap BYTES     flow table memory (suffix K, M, G; default 64M)\n"
    "      --no-ndpi          skip nDPI application detection\n"
    "      --progress         draw the progress bar even when stderr is not a terminal\n"
    "      --keep-going       report an unreadable input and continue with the next\n"
    "  -h, --help             this text\n";

/* Set by SIGINT/SIGTERM; the packet loop polls it so the run can remove its
 * temporary files before exiting. A signal handler can only talk through a
 * static flag, hence the one piece of global state. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct opts {
    const char **reads;
    int nreads;
    const char **labels;
    int nlabels;
    int fixed_cat;          /* --label, or -1 */
    int ks[EF_K_MAX];
    int nk;
    const char *outdir;
    const char *name;
    unsigned flags;         /* EF_DATASET_* */
    ef_flow_config_t flow;
    int ndpi;
    int progress;
    int keep_going;
} opts_t;

/* Per-flow storage in the flow table (zeroed when a flow is created). */
typedef struct flow_ext {
    ef_features_t feat;
    ef_ndpi_flow_t app;
} flow_ext_t;

/* Counters of one input file. */
typedef struct input_stats {
    uint64_t packets, not_ip, malformed, flows;
} input_stats_t;

typedef struct collect {
    opts_t o;
    int maxk;
    ef_mawilab_t *labels;
    ef_ndpi_t *ndpi;
    ef_dataset_writer_t *w[EF_K_MAX];
    ef_flow_table_t *table;
    ef_flow_stats_t past;           /* totals of tables already freed */
    ef_decode_stats_t dec;
    uint64_t flows_by_cat[EF_CAT__COUNT];
    uint64_t rows[EF_K_MAX][EF_CAT__COUNT];
    uint64_t max_ts;                /* latest packet time so far */
    int failed;                     /* a row could not be written: err holds why */
    ef_err_t err;
} collect_t;

/* ------------------------------------------------------------------------ */
/* Options.                                                                 */

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see earlyflow collect --help)\n");
    return 2;
}

static int parse_k_list(const char *s, opts_t *o)
{
    const char *p = s;
    o->nk = 0;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > EF_K_MAX || (*end && *end != ','))
            return -1;
        for (int i = 0; i < o->nk; i++)
            if (o->ks[i] == v)
                return -1;
        if (o->nk == EF_K_MAX)
            return -1;
        o->ks[o->nk++] = (int)v;
        p = *end ? end + 1 : end;
        if (*end && !*p)
            return -1; /* trailing comma */
    }
    return o->nk ? 0 : -1;
}

static int parse_seconds(const char *s, uint64_t *us)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v <= 0 || v > 86400.0 * 365)
        return -1;
    *us = (uint64_t)llround(v * 1e6);
    return *us ? 0 : -1;
}

static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-')
        return -1;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (*end || v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int push_arg(const char ***list, int *n, const char *arg)
{
    const char **nl = realloc(*list, (size_t)(*n + 1) * sizeof *nl);
    if (!nl)
        return -1;
    nl[(*n)++] = arg;
    *list = nl;
    return 0;
}

enum {
    OPT_LABELS = 256, OPT_LABEL, OPT_NAME, OPT_EXTENDED, OPT_PAD, OPT_TIMEOUT, OPT_TNEW,
    OPT_TEST, OPT_TCLOSED, OPT_MEMCAP, OPT_NO_NDPI, OPT_PROGRESS, OPT_KEEP_GOING,
};

static const struct option long_opts[] = {
    {"read", required_argument, NULL, 'r'},
    {"output", required_argument, NULL, 'o'},
    {"k", required_argument, NULL, 'k'},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"label", required_argument, NULL, OPT_LABEL},
    {"name", required_argument, NULL, OPT_NAME},
    {"extended", no_argument, NULL, OPT_EXTENDED},
    {"pad", no_argument, NULL, OPT_PAD},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"timeout-new", required_argument, NULL, OPT_TNEW},
    {"timeout-est", required_argument, NULL, OPT_TEST},
    {"timeout-closed", required_argument, NULL, OPT_TCLOSED},
    {"memcap", required_argument, NULL, OPT_MEMCAP},
    {"no-ndpi", no_argument, NULL, OPT_NO_NDPI},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_timeout(opts_t *o, int which, const char *arg)
{
    uint64_t us;
    if (parse_seconds(arg, &us) < 0)
        return usage_error("timeout: expected seconds > 0 (e.g. 1 or 0.5), got '%s'", arg);
    for (int s = 0; s < EF_FLOW__STATES; s++)
        if (which < 0 || which == s)
            o->flow.timeout_us[s] = us;
    return 0;
}

/* Returns -1 to go on, or an exit status (0 for --help). */
static int parse_opts(int argc, char **argv, opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->fixed_cat = -1;
    o->ndpi = 1;
    ef_flow_config_default(&o->flow);
    static const int paper_ks[] = {3, 5, 10, 20};
    memcpy(o->ks, paper_ks, sizeof paper_ks);
    o->nk = 4;
    int c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:o:k:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (push_arg(&o->reads, &o->nreads, optarg) < 0)
                return usage_error("%s", "out of memory");
            break;
        case 'o': o->outdir = optarg; break;
        case 'k':
            if (parse_k_list(optarg, o) < 0)
                return usage_error("-k: expected distinct packet counts 1-20 separated by "
                                   "commas (e.g. 3,5,10,20), got '%s'", optarg);
            break;
        case OPT_LABELS:
            if (push_arg(&o->labels, &o->nlabels, optarg) < 0)
                return usage_error("%s", "out of memory");
            break;
        case OPT_LABEL:
            o->fixed_cat = ef_category_from_label(optarg);
            if (o->fixed_cat < 0)
                return usage_error("--label: expected one of Unlabeled, HTTP, Multi, Alpha, "
                                   "NetworkScan, PortScan, DoS, IPv6Tunnel, Other, Unknown; "
                                   "got '%s'", optarg);
            break;
        case OPT_NAME:
            if (!*optarg || strchr(optarg, '/'))
                return usage_error("--name: expected a file name prefix without '/', got '%s'",
                                   optarg);
            o->name = optarg;
            break;
        case OPT_EXTENDED: o->flags |= EF_DATASET_EXTENDED; break;
        case OPT_PAD: o->flags |= EF_DATASET_PAD; break;
        case OPT_TIMEOUT:
        case OPT_TNEW:
        case OPT_TEST:
        case OPT_TCLOSED:
            rc = parse_timeout(o, c == OPT_TIMEOUT ? -1 : c == OPT_TNEW ? EF_FLOW_NEW
                               : c == OPT_TEST ? EF_FLOW_ESTABLISHED : EF_FLOW_CLOSED, optarg);
            if (rc)
                return rc;
            break;
        case OPT_MEMCAP:
            if (parse_bytes(optarg, &o->flow.memcap) < 0)
                return usage_error("--memcap: expected a byte count (e.g. 64M), got '%s'",
                                   optarg);
            break;
        case OPT_NO_NDPI: o->ndpi = 0; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_KEEP_GOING: o->keep_going = 1; break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s' (inputs go after -r)", argv[optind]);
    if (!o->nreads)
        return usage_error("%s", "no input: give at least one -r FILE");
    if (!o->outdir)
        return usage_error("%s", "no output directory: give -o DIR");
    if (o->nlabels && o->fixed_cat >= 0)
        return usage_error("%s", "--label and --labels exclude each other (one label for "
                                 "every flow, or labels from MAWILab files)");
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Flow end: label the flow and write its rows.                             */

static ef_category_t label_flow(const collect_t *c, const ef_flow_t *fl, ef_mawilab_match_t *m)
{
    memset(m, 0, sizeof *m);
    if (c->o.fixed_cat >= 0)
        return (ef_category_t)c->o.fixed_cat;
    ef_mawilab_flow_t mf = {
        .client_addr = ef_flow_client_addr(fl),
        .server_addr = ef_flow_server_addr(fl),
        .client_port = ef_flow_client_port(fl),
        .server_port = ef_flow_server_port(fl),
        .ip_version = fl->key.ip_version,
        .has_ports = fl->key.proto == 6 || fl->key.proto == 17,
    };
    ef_mawilab_match(c->labels, &mf, m);
    return m->category;
}

static void on_flow_end(void *user, ef_flow_t *fl)
{
    collect_t *c = user;
    flow_ext_t *x = ef_flow_ext(fl);
    char app[64] = "";
    if (c->ndpi) {
        ef_ndpi_flow_end(c->ndpi, &x->app);
        ef_ndpi_flow_name(c->ndpi, &x->app, app, sizeof app);
    }
    if (c->failed || x->feat.n == 0)
        return;
    ef_mawilab_match_t m;
    ef_category_t cat = label_flow(c, fl, &m);
    ef_dataset_flow_t row = {
        .feat = &x->feat,
        .label = ef_category_label(cat),
        .flow_id = fl->id,
        .ip_version = fl->key.ip_version,
        .proto = fl->key.proto,
        .has_ports = fl->key.proto == 6 || fl->key.proto == 17,
        .client_addr = ef_flow_client_addr(fl),
        .server_addr = ef_flow_server_addr(fl),
        .client_port = ef_flow_client_port(fl),
        .server_port = ef_flow_server_port(fl),
        .start_ts_us = fl->first_ts_us,
        .pkts = (uint64_t)fl->pkts[0] + fl->pkts[1],
        .end_reason = ef_flow_end_reason_name((ef_flow_end_reason_t)fl->end_reason),
        .app = c->ndpi ? app : NULL,
        .match = &m,
    };
    c->flows_by_cat[cat]++;
    for (int i = 0; i < c->o.nk; i++) {
        int rc = ef_dataset_writer_add(c->w[i], &row, &c->err);
        if (rc < 0) {
            c->failed = 1;
            return;
        }
        c->rows[i][cat] += (uint64_t)rc;
    }
}

/* ------------------------------------------------------------------------ */
/* Flow tables. Inputs in time order share one table, so flows spanning
 * consecutive files of one trace stay whole. A new table is started when an
 * input's first packet is older than the latest packet so far by more than
 * the longest timeout: such inputs are unrelated captures, whose flows must
 * not absorb each other's packets (the table's clock never runs back, so
 * they would all look idle). A smaller step back is boundary jitter between
 * chunks of one trace and keeps the table. */

static uint64_t longest_timeout(const opts_t *o)
{
    uint64_t m = 0;
    for (int s = 0; s < EF_FLOW__STATES; s++)
        if (o->flow.timeout_us[s] > m)
            m = o->flow.timeout_us[s];
    return m;
}

static int unrelated_input(const collect_t *c, uint64_t first_ts)
{
    return first_ts + longest_timeout(&c->o) < c->max_ts;
}

static void stats_accumulate(ef_flow_stats_t *sum, const ef_flow_stats_t *s)
{
    sum->capacity = s->capacity;
    if (s->peak_active > sum->peak_active)
        sum->peak_active = s->peak_active;
    sum->created += s->created;
    for (int r = 0; r < EF_END__COUNT; r++)
        sum->ended[r] += s->ended[r];
    sum->packets += s->packets;
    sum->frag_later += s->frag_later;
    sum->frag_orphans += s->frag_orphans;
}

static void table_close(collect_t *c)
{
    if (!c->table)
        return;
    ef_flow_table_flush(c->table);
    stats_accumulate(&c->past, ef_flow_table_stats(c->table));
    ef_flow_table_free(c->table);
    c->table = NULL;
}

static int table_open(collect_t *c, ef_err_t *err)
{
    ef_flow_config_t cfg = c->o.flow;
    cfg.ext_size = sizeof(flow_ext_t);
    c->table = ef_flow_table_new(&cfg, on_flow_end, c, err);
    return c->table ? 0 : -1;
}

static ef_flow_stats_t total_flow_stats(const collect_t *c)
{
    ef_flow_stats_t s = c->past;
    if (c->table)
        stats_accumulate(&s, ef_flow_table_stats(c->table));
    return s;
}

/* ------------------------------------------------------------------------ */
/* Reading one input.                                                       */

static void track_packet(collect_t *c, const ef_packet_t *p)
{
    ef_flow_hit_t hit;
    if (ef_flow_table_track(c->table, p, &hit) < 0)
        return;
    flow_ext_t *x = ef_flow_ext(hit.flow);
    if (x->feat.n >= c->maxk)
        return;
    ef_features_add(&x->feat, p->ts_us, p->ip_len, hit.c2s);
    /* nDPI sees only the packets the features keep (up to the largest k),
     * and nothing once its result is final. */
    if (c->ndpi && x->app.state <= EF_NDPI_RUNNING)
        ef_ndpi_packet(c->ndpi, &x->app, p);
}

/* Returns 0 at the end of the input, -1 on a read error (err set), 1 when
 * interrupted or a row could not be written.
 *
 * With nDPI off, a packet is tracked only after the next one has been
 * decoded and its flow's hash bucket prefetched, so that cache miss overlaps
 * the current packet's work (the flow table is the hot spot). nDPI reads a
 * packet's bytes, which the next read overwrites, so with nDPI on every
 * packet is tracked at once. Either way packets reach the table in order. */
static int read_input(collect_t *c, ef_capture_t *cap, input_stats_t *is, ef_progress_t *bar,
                      uint64_t bytes_before, ef_err_t *err)
{
    int linktype = ef_capture_linktype(cap);
    ef_frame_t fr;
    ef_packet_t pkt[2];
    int cur = 0, pending = 0; /* pending: pkt[!cur] still to be tracked */
    uint64_t created0 = total_flow_stats(c).created;
    int rc, first = 1;
    while ((rc = ef_capture_next(cap, &fr, err)) == 1) {
        if (first && unrelated_input(c, fr.ts_us)) {
            table_close(c);
            if (table_open(c, err) < 0)
                return -1;
        }
        first = 0;
        if (fr.ts_us > c->max_ts)
            c->max_ts = fr.ts_us;
        ef_decode_status_t st = ef_decode(linktype, fr.data, fr.caplen, fr.wirelen, fr.ts_us,
                                          &pkt[cur]);
        ef_decode_stats_add(&c->dec, st);
        is->packets++;
        if (st == EF_DEC_OK && c->ndpi) {
            track_packet(c, &pkt[cur]);
        } else if (st == EF_DEC_OK) {
            ef_flow_table_prefetch(c->table, &pkt[cur]);
            if (pending)
                track_packet(c, &pkt[!cur]);
            pending = 1;
            cur = !cur;
        } else if (st == EF_DEC_NOT_IP) {
            is->not_ip++;
        } else {
            is->malformed++;
        }
        if (c->failed || interrupted)
            break;
        if (is->packets % PROGRESS_EVERY == 0)
            ef_progress_update(bar, bytes_before + ef_capture_bytes_read(cap), c->dec.packets);
    }
    if (pending && !c->failed && !interrupted)
        track_packet(c, &pkt[!cur]);
    is->flows = total_flow_stats(c).created - created0;
    if (rc < 0)
        return -1;
    if (c->failed || interrupted)
        return 1;
    if (is->packets == 0)
        return ef_err_set(err, "%s: expected packets, the capture holds none",
                          ef_capture_name(cap));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Output files.                                                            */

/* NAME default: the first input's base name without its extension. */
static char *default_name(const char *input)
{
    size_t n = strlen(input);
    while (n > 1 && input[n - 1] == '/')
        n--;
    const char *base = input;
    for (size_t i = 0; i < n; i++)
        if (input[i] == '/' && i + 1 < n)
            base = input + i + 1;
    size_t len = (size_t)(input + n - base);
    static const char *const exts[] = {".pcapng", ".pcap", ".cap", ".dmp"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t el = strlen(exts[i]);
        if (len > el && !strncmp(base + len - el, exts[i], el)) {
            len -= el;
            break;
        }
    }
    if (!strcmp(input, "-"))
        return strdup("stdin");
    return strndup(base, len);
}

static int prepare_outdir(const char *dir, ef_err_t *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode)
                   ? 0
                   : ef_err_set(err, "%s: expected an output directory, found a file", dir);
    if (mkdir(dir, 0777) < 0)
        return ef_err_set(err, "%s: cannot create output directory: %s", dir, strerror(errno));
    return 0;
}

static int open_writers(collect_t *c, const char *name, ef_err_t *err)
{
    for (int i = 0; i < c->o.nk; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s_K_%d.csv", c->o.outdir, name, c->o.ks[i]) < 0)
            return ef_err_set(err, "out of memory");
        c->w[i] = ef_dataset_writer_open(path, c->o.ks[i], c->o.flags, err);
        free(path);
        if (!c->w[i])
            return -1;
    }
    return 0;
}

/* Finish every file first, then rename them all: a late write error leaves
 * no CSV of this run behind. */
static int commit_writers(collect_t *c, ef_err_t *err)
{
    for (int i = 0; i < c->o.nk; i++)
        if (ef_dataset_writer_finish(c->w[i], err) < 0)
            return -1;
    int rc = 0;
    for (int i = 0; i < c->o.nk; i++) {
        if (rc == 0)
            rc = ef_dataset_writer_commit(c->w[i], err);
        else
            ef_dataset_writer_abort(c->w[i]);
        c->w[i] = NULL;
    }
    return rc;
}

static void abort_writers(collect_t *c)
{
    for (int i = 0; i < c->o.nk; i++) {
        ef_dataset_writer_abort(c->w[i]);
        c->w[i] = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* The summary on stderr.                                                   */

static void print_inputs(char **inputs, const input_stats_t *is, int n)
{
    fprintf(stderr, "  %-40s %12s %10s %10s %10s\n", "input", "packets", "not-IP", "malformed",
            "flows");
    for (int i = 0; i < n; i++)
        fprintf(stderr, "  %-40s %12llu %10llu %10llu %10llu\n", inputs[i],
                (unsigned long long)is[i].packets, (unsigned long long)is[i].not_ip,
                (unsigned long long)is[i].malformed, (unsigned long long)is[i].flows);
}

static void print_malformed(const ef_decode_stats_t *d)
{
    fprintf(stderr, "  malformed packets: %llu", (unsigned long long)ef_decode_stats_malformed(d));
    const char *sep = " (";
    for (int s = EF_DEC_MAL_FIRST; s < EF_DEC_MAL__COUNT; s++) {
        if (!d->by_status[s])
            continue;
        fprintf(stderr, "%s%s %llu", sep, ef_decode_status_name((ef_decode_status_t)s),
                (unsigned long long)d->by_status[s]);
        sep = ", ";
    }
    fprintf(stderr, "%s\n", *sep == ',' ? ")" : "");
}

static void print_flows(const ef_flow_stats_t *fs)
{
    fprintf(stderr, "  flows: %llu (peak %llu in a table of %llu); ended by",
            (unsigned long long)fs->created, (unsigned long long)fs->peak_active,
            (unsigned long long)fs->capacity);
    for (int r = EF_END_FIN; r < EF_END__COUNT; r++)
        fprintf(stderr, "%s %s %llu", r == EF_END_FIN ? "" : ",",
                ef_flow_end_reason_name((ef_flow_end_reason_t)r),
                (unsigned long long)fs->ended[r]);
    fprintf(stderr, "\n  evictions: %llu; later fragments: %llu (%llu orphans)\n",
            (unsigned long long)fs->ended[EF_END_EVICTED], (unsigned long long)fs->frag_later,
            (unsigned long long)fs->frag_orphans);
}

static void print_ndpi(const ef_ndpi_t *nd)
{
    if (!nd)
        return;
    const ef_ndpi_stats_t *s = ef_ndpi_stats(nd);
    fprintf(stderr, "  nDPI: %llu flows detected from payload, %llu guessed, %llu unknown, "
            "%llu without a detection slot (pool of %llu)\n",
            (unsigned long long)s->detected, (unsigned long long)s->guessed,
            (unsigned long long)s->unknown, (unsigned long long)s->no_slot,
            (unsigned long long)s->pool_size);
}

static void print_labels(const collect_t *c)
{
    fprintf(stderr, "  %-12s %10s", "label", "flows");
    for (int i = 0; i < c->o.nk; i++) {
        char h[16];
        snprintf(h, sizeof h, "K_%d", c->o.ks[i]);
        fprintf(stderr, " %10s", h);
    }
    fputc('\n', stderr);
    uint64_t tot_flows = 0, tot_rows[EF_K_MAX] = {0};
    for (int cat = 0; cat < EF_CAT__COUNT; cat++) {
        tot_flows += c->flows_by_cat[cat];
        for (int i = 0; i < c->o.nk; i++)
            tot_rows[i] += c->rows[i][cat];
        if (!c->flows_by_cat[cat])
            continue;
        fprintf(stderr, "  %-12s %10llu", ef_category_label((ef_category_t)cat),
                (unsigned long long)c->flows_by_cat[cat]);
        for (int i = 0; i < c->o.nk; i++)
            fprintf(stderr, " %10llu", (unsigned long long)c->rows[i][cat]);
        fputc('\n', stderr);
    }
    fprintf(stderr, "  %-12s %10llu", "total", (unsigned long long)tot_flows);
    for (int i = 0; i < c->o.nk; i++)
        fprintf(stderr, " %10llu", (unsigned long long)tot_rows[i]);
    fputc('\n', stderr);
}

static void print_summary(const collect_t *c, char **inputs, const input_stats_t *is, int n)
{
    ef_flow_stats_t fs = total_flow_stats(c);
    fprintf(stderr, PROG ": %d input%s, %llu packets\n", n, n == 1 ? "" : "s",
            (unsigned long long)c->dec.packets);
    print_inputs(inputs, is, n);
    print_malformed(&c->dec);
    print_flows(&fs);
    print_ndpi(c->ndpi);
    print_labels(c);
}

static void print_label_files(const ef_mawilab_t *m)
{
    for (int i = 0; i < ef_mawilab_file_count(m); i++) {
        ef_mawilab_file_info_t fi;
        ef_mawilab_file_info(m, i, &fi);
        fprintf(stderr, PROG ": labels %s: %u rules, %u anomalies%s\n", fi.path, fi.rules,
                fi.anomalies, fi.has_heuristic || !fi.rules ? "" : " (rows without heuristic)");
    }
}

/* ------------------------------------------------------------------------ */
/* The command.                                                             */

static uint64_t total_size(char **inputs)
{
    uint64_t sum = 0;
    for (int i = 0; inputs[i]; i++) {
        struct stat st;
        if (!strcmp(inputs[i], "-") || stat(inputs[i], &st) < 0 || !S_ISREG(st.st_mode))
            return 0; /* unknown: the bar shows no percentage */
        sum += (uint64_t)st.st_size;
    }
    return sum;
}

/* Read every input; returns 0, 1 (failure printed) or 130 (interrupted). */
static int read_inputs(collect_t *c, char **inputs, int n, input_stats_t *is)
{
    ef_progress_t *bar = ef_progress_new(stderr, "collect", total_size(inputs), c->o.progress,
                                         EF_PROGRESS_MIN_BYTES);
    uint64_t bytes_before = 0;
    int failures = 0;
    for (int i = 0; i < n; i++) {
        ef_err_t err = {{0}};
        char item[96];
        snprintf(item, sizeof item, "(%d/%d) %s", i + 1, n, inputs[i]);
        ef_progress_set_item(bar, item);
        ef_capture_t *cap = ef_capture_open_file(inputs[i], &err);
        int rc = cap ? read_input(c, cap, &is[i], bar, bytes_before, &err) : -1;
        if (cap) {
            bytes_before += ef_capture_file_size(cap);
            ef_capture_close(cap);
        }
        if (rc == 0)
            continue;
        if (interrupted) { /* whatever the read returned: EINTR is no bad input */
            ef_progress_abandon(bar);
            fprintf(stderr, PROG ": interrupted; no CSV written\n");
            return 130;
        }
        if (rc > 0) { /* a row could not be written */
            ef_progress_abandon(bar);
            fprintf(stderr, PROG ": %s\n", c->err.msg);
            return 1;
        }
        if (!c->o.keep_going) {
            ef_progress_abandon(bar);
            fprintf(stderr, PROG ": %s\n", err.msg);
            return 1;
        }
        failures++;
        ef_progress_abandon(bar);
        fprintf(stderr, PROG ": %s (skipping the rest of this input: --keep-going)\n", err.msg);
        bar = ef_progress_new(stderr, "collect", total_size(inputs), c->o.progress,
                              EF_PROGRESS_MIN_BYTES);
    }
    ef_progress_update(bar, bytes_before, c->dec.packets);
    ef_progress_finish(bar);
    if (failures)
        fprintf(stderr, PROG ": %d input%s could not be read completely\n", failures,
                failures == 1 ? "" : "s");
    return 0;
}

/* nDPI sees each flow's first packets (up to the largest k). Its pool gets
 * one slot per flow the table can hold, so no flow goes without detection:
 * a dataset's ndpi_proto column should not depend on how busy the trace
 * was. Slots are only touched when used (688 bytes each with nDPI 4.2), so
 * memory follows the flows actually in detection, bounded via --memcap. */
static int ndpi_open(collect_t *c, ef_err_t *err)
{
    ef_ndpi_config_t nc;
    ef_ndpi_config_default(&nc);
    nc.max_packets = (uint32_t)c->maxk;
    uint64_t cap = ef_flow_table_stats(c->table)->capacity;
    nc.pool_flows = (uint32_t)(cap < (1u << 24) ? cap : (1u << 24));
    c->ndpi = ef_ndpi_new(&nc, err);
    return c->ndpi ? 0 : -1;
}

static int setup(collect_t *c, ef_err_t *err)
{
    c->maxk = 0;
    for (int i = 0; i < c->o.nk; i++)
        if (c->o.ks[i] > c->maxk)
            c->maxk = c->o.ks[i];
    if (c->o.nlabels) {
        c->labels = ef_mawilab_load(c->o.labels, c->o.nlabels, err);
        if (!c->labels)
            return -1;
        print_label_files(c->labels);
    }
    char *name = c->o.name ? strdup(c->o.name) : default_name(c->o.reads[0]);
    if (!name)
        return ef_err_set(err, "out of memory");
    int rc = prepare_outdir(c->o.outdir, err);
    if (rc == 0)
        rc = open_writers(c, name, err);
    free(name);
    if (rc == 0)
        rc = table_open(c, err);
    if (rc == 0 && c->o.ndpi)
        rc = ndpi_open(c, err);
    return rc;
}

static void teardown(collect_t *c)
{
    if (c->table) {
        /* Drop remaining flows without writing rows (the run failed). */
        c->failed = 1;
        table_close(c);
    }
    abort_writers(c);
    ef_ndpi_free(c->ndpi);
    ef_mawilab_free(c->labels);
    free(c->o.reads);
    free(c->o.labels);
}

static int run(collect_t *c, char **inputs, int n)
{
    ef_err_t err = {{0}};
    if (setup(c, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    input_stats_t *is = calloc((size_t)n, sizeof *is);
    if (!is) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    int rc = read_inputs(c, inputs, n, is);
    if (rc == 0 && interrupted) {
        fprintf(stderr, PROG ": interrupted; no CSV written\n");
        rc = 130;
    }
    if (rc == 0) {
        table_close(c); /* remaining flows end now (reason "shutdown") */
        if (c->failed) {
            fprintf(stderr, PROG ": %s\n", c->err.msg);
            rc = 1;
        } else if (commit_writers(c, &err) < 0) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            rc = 1;
        } else {
            print_summary(c, inputs, is, n);
        }
    }
    free(is);
    return rc;
}

int ef_cmd_collect(int argc, char **argv)
{
    collect_t *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    int rc = parse_opts(argc, argv, &c->o);
    if (rc >= 0) {
        free(c->o.reads);
        free(c->o.labels);
        free(c);
        return rc;
    }
    char **inputs = NULL;
    int n = 0;
    ef_err_t err = {{0}};
    if (ef_capture_expand_inputs(c->o.reads, c->o.nreads, &inputs, &n, &err) < 0 || n == 0) {
        if (n == 0 && inputs)
            ef_err_set(&err, "%s: expected capture files, found none", c->o.reads[0]);
        fprintf(stderr, PROG ": %s\n", err.msg);
        ef_capture_inputs_free(inputs);
        free(c->o.reads);
        free(c->o.labels);
        free(c);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;
    rc = run(c, inputs, n);
    teardown(c);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    ef_capture_inputs_free(inputs);
    free(c);
    return rc;
}
