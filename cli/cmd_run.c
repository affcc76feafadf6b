/* earlyflow run: earlyflow's own IDS host.
 *
 * Loads the configuration (suricata.yaml style) and the rules, loads
 * earlyflow.so through dlopen and the hook ABI exactly as an IDS would, runs
 * captures or a live interface through it, logs EVE JSON and prints a
 * summary. Flags follow Suricata's where they overlap (-c -r -i -S -l). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "data/taxonomy.h"
#include "host.h"
#include "host_plugin.h"
#include "ids/config.h"
#include "ids/eve.h"
#include "ids/rules.h"
#include "net/capture.h"

/* Signal handling needs process-wide state; it lives here, in the command,
 * never in the library. */
static volatile sig_atomic_t stop_requested;
static struct ef_capture *volatile current_capture;

/* Runs on the reading thread only: the host's workers block SIGINT and
 * SIGTERM (cli/host.c), so the capture cannot be closed under it. */
static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    stop_requested = 1;
    struct ef_capture *c = current_capture; /* read once */
    if (c)
        ef_capture_break(c);
    errno = saved;
}

typedef struct run_args {
    const char *config;
    const char **inputs;
    int n_inputs;
    const char *iface;
    char *bpf;
    const char *rules;
    const char *logdir;
    const char *plugin;
    int workers;
    int ndpi;          /* -1: from config */
    int progress;      /* 1 force, 0 auto, -1 off */
    int verbose;
    int quiet;
} run_args_t;

/* Everything a verdict needs on its way to rules and EVE. */
typedef struct run_ctx {
    ef_config_t *cfg;
    ef_ruleset_t *rules;
    ef_eve_t *eve;
    uint32_t eve_types;
    int attacks_only;
    float min_score;
    int verbose;
    const char *iface;      /* live capture: logged as in_iface */
    char eve_error[EF_ERR_MSG_MAX];
    atomic_int eve_failed;  /* workers may fail to write at the same time */
} run_ctx_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: earlyflow run [-c CONFIG] (-r CAPTURE... | -i IFACE [BPF]) [options]\n"
            "\n"
            "  -c FILE         configuration (suricata.yaml style; docs/config.md)\n"
            "  -r PATH         pcap/pcapng file or directory (repeatable; '-' = stdin)\n"
            "  -i IFACE        live capture; trailing arguments form a BPF filter\n"
            "  -S FILE         rules file (replaces the config's rule-files)\n"
            "  -l DIR          log directory for eve.json (default: config's\n"
            "                  default-log-dir, else .)\n"
            "  -P, --plugin F  plugin .so to load (default: the config's plugins:, else\n"
            "                  earlyflow.so next to this binary)\n"
            "  --workers N     worker threads, flows sharded by hash (default 1)\n"
            "  --ndpi/--no-ndpi  application protocol detection (default: config)\n"
            "  --progress/--no-progress  progress bar on stderr (default: when\n"
            "                  stderr is a terminal and input is large)\n"
            "  -v              log plugin messages; -q: no summary\n");
}

static int parse_args(int argc, char **argv, run_args_t *a)
{
    static const struct option longopts[] = {
        {"plugin", required_argument, 0, 'P'},
        {"workers", required_argument, 0, 'w'},
        {"ndpi", no_argument, 0, 'N'},
        {"no-ndpi", no_argument, 0, 'n'},
        {"progress", no_argument, 0, 'p'},
        {"no-progress", no_argument, 0, 'x'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    memset(a, 0, sizeof *a);
    a->workers = 1;
    a->ndpi = -1;
    a->inputs = calloc((size_t)argc + 1, sizeof *a->inputs);
    if (!a->inputs)
        return 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:r:i:S:l:P:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'r': a->inputs[a->n_inputs++] = optarg; break;
        case 'i': a->iface = optarg; break;
        case 'S': a->rules = optarg; break;
        case 'l': a->logdir = optarg; break;
        case 'P': a->plugin = optarg; break;
        case 'w': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > HOST_MAX_WORKERS) {
                fprintf(stderr, "earlyflow run: --workers: expected 1..%d, got '%s'\n",
                        HOST_MAX_WORKERS, optarg);
                return 2;
            }
            a->workers = (int)n;
            break;
        }
        case 'N': a->ndpi = 1; break;
        case 'n': a->ndpi = 0; break;
        case 'p': a->progress = 1; break;
        case 'x': a->progress = -1; break;
        case 'v': a->verbose = 1; break;
        case 'q': a->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (!!a->iface + !!a->n_inputs != 1) {
        fprintf(stderr, "earlyflow run: give either -r CAPTURE or -i IFACE\n");
        usage(stderr);
        return 2;
    }
    if (optind < argc) {
        if (!a->iface) {
            fprintf(stderr, "earlyflow run: unexpected argument '%s' (a BPF filter needs -i)\n",
                    argv[optind]);
            return 2;
        }
        size_t len = 1;
        for (int i = optind; i < argc; i++)
            len += strlen(argv[i]) + 1;
        a->bpf = calloc(1, len);
        if (!a->bpf)
            return 1;
        for (int i = optind; i < argc; i++) {
            if (i > optind)
                strcat(a->bpf, " ");
            strcat(a->bpf, argv[i]);
        }
    }
    return 0;
}

/* A capture that cannot be read to its end is reported and skipped; the
 * run goes on and exits 1 at the end (docs/robustness.md). */
static void input_error(void *user, const ef_err_t *err)
{
    (void)user;
    fprintf(stderr, "earlyflow run: %s\n", err->msg);
}

static void print_diag(void *user, const ef_diag_t *d)
{
    (void)user;
    char buf[1024];
    ef_diag_format(d, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
}

/* ---- host API for the plugin ------------------------------------------------ */

static const char *host_conf_get(void *host, const char *key)
{
    return ef_config_get(((run_ctx_t *)host)->cfg, key);
}

static void host_log(void *host, int level, const char *msg)
{
    run_ctx_t *ctx = host;
    if (level <= EF_LOG_WARNING || ctx->verbose)
        fprintf(stderr, "%s\n", msg);
}

/* ---- verdict sink: EVE and rules --------------------------------------------- */

static void eve_flow_of(const run_ctx_t *ctx, const host_flow_view_t *fv, ef_eve_flow_t *ef)
{
    const ef_flow_t *f = fv->flow;
    memset(ef, 0, sizeof *ef);
    ef->in_iface = ctx->iface;
    ef->ts_us = fv->ts_us;
    ef->flow_id = f->id;
    ef->ip_version = f->key.ip_version;
    ef->proto = f->key.proto;
    ef->src_port = ef_flow_client_port(f);
    ef->dest_port = ef_flow_server_port(f);
    ef->src_addr = ef_flow_client_addr(f);
    ef->dest_addr = ef_flow_server_addr(f);
    ef->app_proto = fv->app_proto;
    if (f->key.vlan >> 12) {
        ef->n_vlan = 2;
        ef->vlan[0] = (uint16_t)((f->key.vlan >> 12) & 0xfff);
        ef->vlan[1] = (uint16_t)(f->key.vlan & 0xfff);
    } else if (f->key.vlan) {
        ef->n_vlan = 1;
        ef->vlan[0] = (uint16_t)f->key.vlan;
    }
}

/* Keeps the first EVE error (read after the workers are joined). */
static void eve_failed(run_ctx_t *ctx, const ef_err_t *err)
{
    if (atomic_exchange(&ctx->eve_failed, 1) == 0)
        snprintf(ctx->eve_error, sizeof ctx->eve_error, "%s", err->msg);
}

static void sink_verdict(void *user, host_worker_t *w, const host_flow_view_t *fv,
                         const ef_verdict_t *v)
{
    run_ctx_t *ctx = user;
    ef_eve_flow_t ef;
    ef_err_t err;
    if (v->score < ctx->min_score)
        return;
    eve_flow_of(ctx, fv, &ef);
    int attack = strcmp(v->label, ef_category_label(EF_CAT_UNLABELED)) != 0;
    if (ctx->eve && (ctx->eve_types & EF_EVE_TYPE_EARLY) && (attack || !ctx->attacks_only))
        if (ef_eve_early(ctx->eve, &ef, v, &err) < 0)
            eve_failed(ctx, &err);
    if (!ctx->rules)
        return;
    const ef_rule_t *hits[64];
    ef_rule_flow_t rf = {
        .ip_version = ef.ip_version,
        .proto = ef.proto,
        .client_port = ef.src_port,
        .server_port = ef.dest_port,
        .client_addr = ef.src_addr,
        .server_addr = ef.dest_addr,
    };
    size_t n = ef_ruleset_match(ctx->rules, &rf, v, hits, sizeof hits / sizeof hits[0]);
    if (n > sizeof hits / sizeof hits[0])
        n = sizeof hits / sizeof hits[0];
    for (size_t i = 0; i < n; i++) {
        if (hits[i]->action == EF_ACTION_PASS)
            continue; /* a pass rule silences the others and logs nothing */
        host_worker_count_alert(w, hits[i]->gid, hits[i]->sid);
        if (ctx->eve && (ctx->eve_types & EF_EVE_TYPE_ALERT))
            if (ef_eve_alert(ctx->eve, &ef, v, hits[i], &err) < 0)
                eve_failed(ctx, &err);
    }
}

/* Live capture: buffered EVE lines reach the file about once a second,
 * also while the interface is quiet (host.h, HOST_LIVE_FLUSH_US). */
static void sink_flush(void *user)
{
    run_ctx_t *ctx = user;
    ef_err_t err;
    if (ctx->eve && !atomic_load(&ctx->eve_failed) && ef_eve_flush(ctx->eve, &err) < 0)
        eve_failed(ctx, &err);
}

/* A `flow` event per ended flow (earlyflow.eve.types: [..., flow]; the
 * callback is installed only then). */
static void sink_flow_end(void *user, host_worker_t *w, const host_flow_view_t *fv,
                          const host_flow_summary_t *sum)
{
    run_ctx_t *ctx = user;
    const ef_flow_t *f = fv->flow;
    ef_eve_flow_t ef;
    eve_flow_of(ctx, fv, &ef);
    ef_eve_flow_info_t info = {
        .pkts_toserver = f->pkts[0],
        .pkts_toclient = f->pkts[1],
        .bytes_toserver = sum->ip_bytes[0],
        .bytes_toclient = sum->ip_bytes[1],
        .has_bytes = 1,
        .start_us = f->first_ts_us,
        .end_us = sum->last_pkt_us,
        .state = ef_flow_state_name((ef_flow_state_t)f->state),
        .reason = ef_flow_end_reason_name((ef_flow_end_reason_t)f->end_reason),
        .alerted = sum->alerted,
    };
    ef_err_t err;
    if (ef_eve_flow(ctx->eve, &ef, &info, &err) < 0)
        eve_failed(ctx, &err);
}

/* ---- set-up ---------------------------------------------------------------------- */

static ef_ruleset_t *load_rules(const run_args_t *a, ef_config_t *cfg, ef_err_t *err)
{
    ef_rules_opts_t ro = {.config = cfg, .diag = print_diag};
    char **files = NULL;
    size_t n = 0;
    ef_ruleset_t *rs = NULL;
    if (a->rules) {
        files = calloc(1, sizeof *files);
        if (files && (files[0] = strdup(a->rules)))
            n = 1;
    } else if (cfg->n_rule_files) {
        files = calloc(cfg->n_rule_files, sizeof *files);
        for (size_t i = 0; files && i < cfg->n_rule_files; i++)
            if ((files[n] = ef_config_rule_file(cfg, i)))
                n++;
    }
    if (n == 0) {
        free(files);
        return NULL; /* no rules: verdicts only */
    }
    if (ef_rules_check_vars(cfg, print_diag, NULL) > 0)
        ef_err_set(err, "%s: bad address or port variables", ef_config_path(cfg));
    else
        rs = ef_ruleset_load((const char *const *)files, n, &ro, err);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rs;
}

static int widen_k(ef_config_t *cfg, const ef_ruleset_t *rs, int quiet, ef_err_t *err)
{
    uint32_t mask = cfg->earlyflow.k_mask | (rs ? ef_ruleset_k_mask(rs) : 0);
    char buf[32] = "", added[32] = "";
    for (int k = 1; k <= EF_K_MAX; k++) {
        if (!((mask >> k) & 1u))
            continue;
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", *buf ? "," : "", k);
        if (!((cfg->earlyflow.k_mask >> k) & 1u))
            snprintf(added + strlen(added), sizeof added - strlen(added), "%s%d",
                     *added ? "," : "", k);
    }
    /* Say so: a model file configured for earlyflow.k may not fit the added
     * k, and the plugin's error would otherwise look unrelated to the rules. */
    if (*added && !quiet)
        fprintf(stderr, "earlyflow run: deciding also at k=%s (early.k of loaded rules; "
                        "earlyflow.k is %s)\n",
                added, ef_config_get(cfg, "earlyflow.k"));
    return ef_config_set(cfg, "earlyflow.k", buf, err);
}

/* The plugin: --plugin, else the first `plugins:` entry that is an earlyflow
 * hook-ABI plugin, else earlyflow.so next to this binary. */
static int load_plugin(const run_args_t *a, const ef_config_t *cfg, host_plugin_t *hp,
                       ef_err_t *err)
{
    char def[4096];
    if (a->plugin)
        return host_plugin_load(hp, a->plugin, err);
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        if (host_plugin_load(hp, cfg->plugins[i], err) == 0)
            return 0;
        if (!strstr(err->msg, "not an earlyflow plugin") && !hp->unresolved)
            return ef_err_prefix(err, "%s: plugins[%zu]", ef_config_path(cfg), i);
        fprintf(stderr, "earlyflow run: note: %s (skipped; Suricata plugins are loaded by "
                        "Suricata)\n", err->msg);
    }
    if (host_plugin_default_path(def, sizeof def) < 0)
        return ef_err_set(err, "cannot locate %s next to this binary; use --plugin",
                          EF_DEFAULT_PLUGIN);
    return host_plugin_load(hp, def, err);
}

static int ensure_dir(const char *dir, ef_err_t *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : ef_err_set(err, "log dir %s: not a directory", dir);
    if (mkdir(dir, 0755) != 0)
        return ef_err_set(err, "log dir %s: %s", dir, strerror(errno));
    return 0;
}

static char *eve_path(const run_args_t *a, const ef_config_t *cfg, ef_err_t *err)
{
    const char *name = cfg->earlyflow.eve.filename;
    char *p = NULL;
    if (!strcmp(name, "-"))
        return strdup("-");
    if (name[0] == '/')
        return strdup(name);
    const char *dir = a->logdir ? a->logdir : cfg->default_log_dir;
    if (ensure_dir(dir, err) < 0)
        return NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/* ---- summary ----------------------------------------------------------------- */

static const char *rule_msg(const ef_ruleset_t *rs, uint32_t gid, uint32_t sid)
{
    for (size_t i = 0; rs && i < ef_ruleset_count(rs); i++) {
        const ef_rule_t *r = ef_ruleset_rule(rs, i);
        if (r->sid == sid && r->gid == gid)
            return r->msg;
    }
    return "";
}

static void print_summary(FILE *out, const host_stats_t *st, const ef_ruleset_t *rs,
                          const char *eve, uint64_t eve_lines)
{
    double pps = st->seconds > 0 ? (double)st->packets / st->seconds : 0;
    uint64_t mal = ef_decode_stats_malformed(&st->decode);
    fprintf(out, "\nearlyflow run summary%s\n", st->interrupted ? " (interrupted)" : "");
    if (st->input_errors)
        fprintf(out, "  input errors %12d  inputs not read to their end (errors on stderr)\n",
                st->input_errors);
    fprintf(out, "  packets      %12" PRIu64 "  (%.1f MB, %.0f packets/s, %.3f s)\n",
            st->packets, (double)st->bytes / 1e6, pps, st->seconds);
    fprintf(out, "  malformed    %12" PRIu64, mal);
    for (int s = EF_DEC_MAL_FIRST; s < EF_DEC_MAL__COUNT; s++)
        if (st->decode.by_status[s])
            fprintf(out, "  %s=%" PRIu64, ef_decode_status_name((ef_decode_status_t)s),
                    st->decode.by_status[s]);
    fprintf(out, "\n  non-IP       %12" PRIu64 "\n", st->decode.by_status[EF_DEC_NOT_IP]);
    fprintf(out, "  flows        %12" PRIu64 "  (ended:", st->flow.created);
    for (int r = EF_END_FIN; r < EF_END__COUNT; r++)
        fprintf(out, " %s=%" PRIu64, ef_flow_end_reason_name((ef_flow_end_reason_t)r),
                st->flow.ended[r]);
    fprintf(out, "; peak %" PRIu64 " of %" PRIu64 ")\n", st->flow.peak_active,
            st->flow.capacity);
    fprintf(out, "  memory       %12" PRIu64 "  bytes per tracked flow (%" PRIu64
                 " of them the plugin's)", st->bytes_per_flow, st->plugin_bytes_per_flow);
    if (st->ndpi_pool_slots)
        fprintf(out, "; nDPI: %" PRIu64 " bytes per flow under inspection, pool of %" PRIu64,
                st->ndpi_slot_bytes, st->ndpi_pool_slots);
    fprintf(out, "\n");
    if (st->ndpi_detected || st->ndpi_no_slot)
        fprintf(out, "  app proto    %12" PRIu64 "  flows named by nDPI (%" PRIu64
                     " found its pool full)\n", st->ndpi_detected, st->ndpi_no_slot);
    fprintf(out, "  verdicts     %12" PRIu64 "  (%" PRIu64 " at flow end)\n", st->verdicts,
            st->verdicts_at_end);
    for (int l = 0; l < st->n_labels; l++)
        fprintf(out, "    %-12s %10" PRIu64 "\n", st->label[l], st->verdicts_by_label[l]);
    fprintf(out, "  alerts       %12" PRIu64 "\n", st->alerts);
    for (int i = 0; i < st->n_sids; i++)
        fprintf(out, "    %u:%-10u %10" PRIu64 "  %s\n", st->sids[i].gid, st->sids[i].sid,
                st->sids[i].count, rule_msg(rs, st->sids[i].gid, st->sids[i].sid));
    if (eve)
        fprintf(out, "  eve          %12" PRIu64 "  lines in %s\n", eve_lines, eve);
}

static int write_stats(run_ctx_t *ctx, const host_stats_t *st, ef_err_t *err)
{
    ef_stats_t *s = ef_stats_new();
    int rc = -1;
    char path[128];
    if (!s)
        return ef_err_set(err, "out of memory");
    ef_stats_set_u64(s, "decoder.pkts", st->packets);
    ef_stats_set_u64(s, "decoder.bytes", st->bytes);
    ef_stats_set_u64(s, "decoder.malformed", ef_decode_stats_malformed(&st->decode));
    ef_stats_set_u64(s, "decoder.non_ip", st->decode.by_status[EF_DEC_NOT_IP]);
    for (int d = EF_DEC_MAL_FIRST; d < EF_DEC_MAL__COUNT; d++)
        if (st->decode.by_status[d]) {
            snprintf(path, sizeof path, "decoder.invalid.%s",
                     ef_decode_status_name((ef_decode_status_t)d));
            ef_stats_set_u64(s, path, st->decode.by_status[d]);
        }
    ef_stats_set_u64(s, "flow.created", st->flow.created);
    for (int r = EF_END_FIN; r < EF_END__COUNT; r++) {
        snprintf(path, sizeof path, "flow.ended.%s",
                 ef_flow_end_reason_name((ef_flow_end_reason_t)r));
        ef_stats_set_u64(s, path, st->flow.ended[r]);
    }
    ef_stats_set_u64(s, "flow.evicted", st->flow.ended[EF_END_EVICTED]);
    ef_stats_set_u64(s, "flow.capacity", st->flow.capacity);
    ef_stats_set_u64(s, "flow.peak", st->flow.peak_active);
    ef_stats_set_u64(s, "flow.frag_orphans", st->flow.frag_orphans);
    ef_stats_set_u64(s, "flow.bytes_per_flow", st->bytes_per_flow);
    ef_stats_set_u64(s, "flow.plugin_bytes_per_flow", st->plugin_bytes_per_flow);
    ef_stats_set_u64(s, "app_layer.ndpi.detected", st->ndpi_detected);
    ef_stats_set_u64(s, "app_layer.ndpi.no_slot", st->ndpi_no_slot);
    ef_stats_set_u64(s, "app_layer.ndpi.pool_slots", st->ndpi_pool_slots);
    ef_stats_set_u64(s, "app_layer.ndpi.slot_bytes", st->ndpi_slot_bytes);
    ef_stats_set_u64(s, "early.verdicts", st->verdicts);
    ef_stats_set_u64(s, "early.at_flow_end", st->verdicts_at_end);
    for (int l = 0; l < st->n_labels; l++) {
        snprintf(path, sizeof path, "early.labels.%s", st->label[l]);
        ef_stats_set_u64(s, path, st->verdicts_by_label[l]);
    }
    ef_stats_set_u64(s, "detect.alerts", st->alerts);
    for (int i = 0; i < st->n_sids; i++) {
        snprintf(path, sizeof path, "detect.sids.%u:%u", st->sids[i].gid, st->sids[i].sid);
        ef_stats_set_u64(s, path, st->sids[i].count);
    }
    ef_stats_set_f64(s, "uptime", st->seconds);
    rc = ef_eve_stats(ctx->eve, st->last_ts_us, s, err);
    ef_stats_free(s);
    return rc;
}

/* ---- the command --------------------------------------------------------------- */

int ef_cmd_run(int argc, char **argv)
{
    run_args_t a;
    run_ctx_t ctx = {0};
    host_plugin_t hp = {0};
    void *pctx = NULL;
    char **inputs = NULL;
    int n_inputs = 0;
    char *eve = NULL;
    ef_err_t err = {{0}};
    host_stats_t st = {0};
    int rc = 1;
    char perr[EF_ERR_MSG_MAX] = "";

    int prc = parse_args(argc, argv, &a);
    if (prc) { /* usage error or --help: nothing else was set up */
        free(a.bpf);
        free(a.inputs);
        return prc < 0 ? 0 : prc;
    }

    ctx.verbose = a.verbose;
    ctx.cfg = a.config ? ef_config_load(a.config, print_diag, NULL, &err) : ef_config_default(&err);
    if (!ctx.cfg)
        goto fail;
    ctx.rules = load_rules(&a, ctx.cfg, &err);
    if (!ctx.rules && err.msg[0])
        goto fail;
    if (ctx.rules) {
        const ef_rules_counts_t *rc2 = ef_ruleset_counts(ctx.rules);
        if (!a.quiet)
            fprintf(stderr, "earlyflow run: %u rules loaded, %u skipped\n", rc2->loaded,
                    rc2->skipped);
    }
    if (widen_k(ctx.cfg, ctx.rules, a.quiet, &err) < 0)
        goto fail;
    ctx.min_score = (float)ctx.cfg->earlyflow.min_score;
    ctx.attacks_only = ctx.cfg->earlyflow.eve.early_labels == EF_EVE_LABELS_ATTACKS;
    ctx.eve_types = ctx.cfg->earlyflow.eve.types;

    if (a.n_inputs &&
        ef_capture_expand_inputs(a.inputs, a.n_inputs, &inputs, &n_inputs, &err) < 0)
        goto fail;

    if (load_plugin(&a, ctx.cfg, &hp, &err) < 0)
        goto fail;
    ef_host_api_t api = {
        .abi_version = EF_PLUGIN_ABI_VERSION,
        .host = &ctx,
        .conf_get = host_conf_get,
        .log = host_log,
        .verdict = host_on_verdict,
    };
    pctx = hp.api->init(&api, perr, sizeof perr);
    perr[sizeof perr - 1] = '\0'; /* a plugin's message is untrusted too */
    if (!pctx) {
        ef_err_set(&err, "plugin %s failed to initialise: %s", hp.path,
                   perr[0] ? perr : "(the plugin gave no reason)");
        goto fail;
    }

    if (ctx.cfg->earlyflow.eve.enabled) {
        eve = eve_path(&a, ctx.cfg, &err);
        if (!eve)
            goto fail;
        ctx.eve = ef_eve_open(eve, NULL, &err);
        if (!ctx.eve)
            goto fail;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    host_options_t ho = {
        .inputs = (const char *const *)inputs,
        .n_inputs = n_inputs,
        .iface = a.iface,
        .bpf = a.bpf,
        .workers = a.workers,
        .ndpi = a.ndpi >= 0 ? a.ndpi : ctx.cfg->earlyflow.ndpi,
        .progress = a.progress,
        .stop = &stop_requested,
        .capture_slot = &current_capture,
        .input_error = input_error,
    };
    ef_flow_config_default(&ho.flow);
    ho.flow.memcap = ctx.cfg->earlyflow.memcap;
    ho.flow.timeout_us[EF_FLOW_NEW] = ctx.cfg->earlyflow.timeout_new_us;
    ho.flow.timeout_us[EF_FLOW_ESTABLISHED] = ctx.cfg->earlyflow.timeout_established_us;
    ho.flow.timeout_us[EF_FLOW_CLOSED] = ctx.cfg->earlyflow.timeout_closed_us;
    ctx.iface = a.iface;
    /* no flow-end callback unless flow events are written: the host would
     * otherwise look up each ended flow's nDPI name for nothing */
    int flow_events = ctx.eve && (ctx.eve_types & EF_EVE_TYPE_FLOW);
    host_sink_t sink = {&ctx, sink_verdict, sink_flush, flow_events ? sink_flow_end : NULL};

    int run_rc = host_run(&ho, &hp, pctx, &sink, &st, &err);
    ef_err_t serr = {{0}};
    if (ctx.eve && (ctx.eve_types & EF_EVE_TYPE_STATS) && write_stats(&ctx, &st, &serr) < 0)
        eve_failed(&ctx, &serr);
    uint64_t lines = ctx.eve ? ef_eve_lines(ctx.eve) : 0;
    if (ctx.eve && ef_eve_close(ctx.eve, &serr) < 0) {
        /* the workers are done: close's message, with the final count of
         * lost lines, replaces the first one */
        snprintf(ctx.eve_error, sizeof ctx.eve_error, "%s", serr.msg);
        atomic_store(&ctx.eve_failed, 1);
    }
    ctx.eve = NULL;
    /* EVE on stdout (filename "-") stays pure JSON lines for jq and the
     * like: the summary then goes to stderr. */
    if (!a.quiet)
        print_summary(eve && !strcmp(eve, "-") ? stderr : stdout, &st, ctx.rules, eve, lines);
    fflush(stdout);
    if (run_rc < 0)
        goto fail;
    if (st.input_errors) {
        ef_err_t ierr;
        ef_err_set(&ierr, "%d of %d inputs could not be read to their end (errors above)%s",
                   st.input_errors, n_inputs,
                   st.input_errors < n_inputs ? "; the run went on with the others" : "");
        if (!atomic_load(&ctx.eve_failed)) {
            err = ierr;
            goto fail;
        }
        fprintf(stderr, "earlyflow run: %s\n", ierr.msg); /* and the EVE error below */
    }
    if (atomic_load(&ctx.eve_failed)) {
        ef_err_set(&err, "%s", ctx.eve_error);
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "earlyflow run: %s\n", err.msg);
out:
    if (ctx.eve)
        ef_eve_close(ctx.eve, NULL);
    if (pctx)
        hp.api->deinit(pctx);
    host_plugin_unload(&hp);
    host_stats_free(&st);
    ef_capture_inputs_free(inputs);
    ef_ruleset_free(ctx.rules);
    ef_config_free(ctx.cfg);
    free(eve);
    free(a.bpf);
    free(a.inputs);
    return rc;
}
