/* earlyflow's own host: packets from captures or an interface, decoded and
 * tracked in flow tables, handed to a plugin through the hook ABI exactly as
 * an IDS would, with the plugin's verdicts sent to an output sink (rules and
 * EVE, wired by cmd_run.c).
 *
 * Threads: one reader (the calling thread) decodes frames and shards them by
 * ef_flow_shard_hash over `workers` worker threads, each with its own flow
 * table, plugin thread context and counters. With one worker everything runs
 * on the calling thread, with no queues. A flow lives in exactly one worker,
 * so plugin hooks for a flow never run concurrently. */
#ifndef EF_CLI_HOST_H
#define EF_CLI_HOST_H

#include <signal.h>
#include <stdint.h>

#include "earlyflow_plugin.h"
#include "host_plugin.h"
#include "net/decode.h"
#include "net/flow.h"
#include "util/err.h"

#define HOST_MAX_WORKERS 64
#define HOST_MAX_LABELS 32

typedef struct host_worker host_worker_t;

/* What the host knows of a flow when a verdict arrives. */
typedef struct host_flow_view {
    const ef_flow_t *flow;
    const char *app_proto;   /* nDPI protocol name, NULL when unknown/off */
    uint64_t ts_us;          /* time of the packet (or flow end) that decided */
} host_flow_view_t;

/* Receives verdicts on worker threads (so it must be thread-safe when
 * workers > 1) and reports each alert it raises with host_worker_count_alert.
 * `flush` (optional, NULL: none) is called on the reader thread every
 * HOST_LIVE_FLUSH_US of wall time during a live capture, also while no
 * packet arrives, so that buffered output reaches its file; with workers > 1
 * it runs concurrently with verdict calls. */
/* What the host counted of a flow, given at its end. */
typedef struct host_flow_summary {
    uint64_t ip_bytes[2];   /* sum of IP total lengths, [0] client->server */
    uint64_t last_pkt_us;   /* the latest packet's own timestamp */
    int alerted;            /* the sink raised an alert on one of its verdicts */
} host_flow_summary_t;

typedef struct host_sink {
    void *ctx;
    void (*verdict)(void *ctx, host_worker_t *w, const host_flow_view_t *fv,
                    const ef_verdict_t *v);
    void (*flush)(void *ctx);
    /* Optional: once per ended flow, after its flow-end verdicts (on the
     * flow's worker thread; fv->ts_us is its latest packet's timestamp). */
    void (*flow_end)(void *ctx, host_worker_t *w, const host_flow_view_t *fv,
                     const host_flow_summary_t *sum);
} host_sink_t;

/* Live capture (-i): flow clocks and output do not wait for packets.
 * Every HOST_LIVE_TICK_US of wall time (checked after each frame and after
 * each read timeout, EF_CAPTURE_READ_TIMEOUT_MS) every worker's flow table
 * is advanced to "now" in packet time: the latest frame timestamp plus the
 * wall time elapsed since that frame was read. Kernel timestamps are the
 * wall clock, so this is at most the present and never ahead of a packet
 * still to come; it never moves back. Idle flows then end (and get their
 * flow-end verdicts) about their timeout after their last packet, on a
 * quiet interface too. Captures from files keep pure packet time. */
#define HOST_LIVE_TICK_US 100000u
#define HOST_LIVE_FLUSH_US 1000000u

typedef struct host_options {
    const char *const *inputs;  /* capture files (already expanded), or NULL */
    int n_inputs;
    const char *iface;          /* live interface, or NULL */
    const char *bpf;            /* filter for live capture (may be NULL) */
    int workers;                /* >= 1 */
    ef_flow_config_t flow;      /* memcap is the total over all workers */
    int ndpi;                   /* nDPI on/off */
    int progress;               /* 1 force a progress bar, 0 auto (terminal and
                                   big input), -1 never */
    volatile sig_atomic_t *stop;/* set by a signal handler to stop early */
    /* When non-NULL, the capture being read is published here so a signal
     * handler can ef_capture_break() it (live captures block in libpcap). */
    struct ef_capture *volatile *capture_slot;
    /* Called for each capture file that cannot be opened or read to its end
     * (corrupt, truncated mid-record): the run then goes on with the next
     * input (docs/robustness.md). NULL: the first such error ends the run. */
    void (*input_error)(void *user, const ef_err_t *err);
    void *input_error_user;
} host_options_t;

/* Alerts of one (gid, sid). */
typedef struct host_sid_count {
    uint32_t gid, sid;
    uint64_t count;
} host_sid_count_t;

/* Counters of one run (summed over workers). */
typedef struct host_stats {
    uint64_t packets, bytes;
    ef_decode_stats_t decode;
    ef_flow_stats_t flow;
    uint64_t verdicts;
    int n_labels;
    const char *label[HOST_MAX_LABELS]; /* owned by the stats (host_stats_free) */
    uint64_t verdicts_by_label[HOST_MAX_LABELS];
    uint64_t verdicts_at_end;   /* emitted at flow end (short flows) */
    uint64_t alerts;
    host_sid_count_t *sids;     /* alerts per sid, sorted by (gid, sid) */
    int n_sids;
    uint64_t ndpi_detected;     /* flows nDPI named from their payload */
    uint64_t ndpi_no_slot;      /* flows that found nDPI's pool empty */
    /* Memory per tracked flow: the flow table's bytes per flow (entry, the
     * host's per-flow data, the plugin's storage and the share of the hash
     * buckets), of which the plugin's storage is plugin_bytes_per_flow;
     * nDPI's detection state is held only while a flow is being inspected,
     * from a pool of ndpi_pool_slots (over all workers) x ndpi_slot_bytes. */
    uint64_t bytes_per_flow;
    uint64_t plugin_bytes_per_flow;
    uint64_t ndpi_pool_slots, ndpi_slot_bytes;
    double seconds;             /* wall time of the packet loop */
    uint64_t first_ts_us, last_ts_us;
    int interrupted;            /* stopped by a signal */
    int input_errors;           /* inputs skipped through input_error */
} host_stats_t;

/* Run the whole pipeline: plugin already loaded and initialised (`pctx`).
 * Returns 0, or -1 with err (an input error aborts the run unless
 * opt->input_error takes it: the message names the file and byte offset).
 * Stats are filled in both cases. */
int host_run(const host_options_t *opt, const host_plugin_t *hp, void *pctx,
             const host_sink_t *sink, host_stats_t *stats, ef_err_t *err);

void host_stats_free(host_stats_t *stats);

/* The host API's verdict hook (ef_host_api_t.verdict): host_thread is the
 * worker given to the plugin's thread_init, cookie the flow. It counts the
 * verdict and hands it to the run's sink. */
void host_on_verdict(void *host_thread, void *cookie, const ef_verdict_t *v);

/* Count an alert for a sid from inside a sink's verdict callback. */
void host_worker_count_alert(host_worker_t *w, uint32_t gid, uint32_t sid);

#endif
