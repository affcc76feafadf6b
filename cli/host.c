/* earlyflow's host pipeline (see host.h).
 *
 * reader (calling thread)           worker i (thread, or inline when 1)
 *   capture -> decode -> shard ---->  ring i -> flow table -> plugin hooks
 *                                                         -> verdicts -> sink
 *
 * Rings are single-producer single-consumer byte rings of variable-size
 * records, so a worker reads packets in the reader's order. The reader
 * copies a frame's IP bytes into the ring only when nDPI needs them. */
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "net/capture.h"
#include "net/features.h"
#include "net/ndpi.h"
#include "progress.h"
#include "util/clock.h"

/* ---- per-flow host storage ---------------------------------------------- */

/* Lives in the flow table's ext area; the plugin's storage follows it. */
typedef struct host_flow {
    uint64_t last_pkt_us; /* the flow's latest packet's own timestamp */
    uint64_t ip_bytes[2]; /* IP total lengths, [0] client->server */
    uint8_t alerted;      /* a rule raised an alert on one of its verdicts */
    ef_ndpi_flow_t ndpi;
} host_flow_t;

#define HOST_NDPI_POOL_MAX 65536u
#define HOST_FLOW_BYTES ((sizeof(host_flow_t) + 15u) & ~(size_t)15u)
#define HOST_MAX_PLUGIN_STORAGE ((1u << 20) - HOST_FLOW_BYTES) /* the table's ext limit */

static inline host_flow_t *host_flow(ef_flow_t *f)
{
    return ef_flow_ext(f);
}

static inline void *plugin_storage(ef_flow_t *f)
{
    return (unsigned char *)ef_flow_ext(f) + HOST_FLOW_BYTES;
}

/* ---- SPSC ring ------------------------------------------------------------ */

enum { REC_PACKET = 1, REC_TICK, REC_END, REC_PAD };

typedef struct rec {
    uint32_t len;       /* whole record, multiple of 16 */
    uint32_t type;
    uint32_t l3_copied; /* bytes of IP packet that follow the record header */
    uint32_t pad_;
    ef_packet_t pkt;
} rec_t;

#define REC_HDR (((sizeof(rec_t)) + 15u) & ~(size_t)15u)
#define RING_BYTES (8u << 20)
#define RING_COMMIT_EVERY 64

typedef struct ring {
    unsigned char *buf;
    size_t size;
    _Alignas(64) _Atomic size_t head; /* producer position (published) */
    _Alignas(64) _Atomic size_t tail; /* consumer position */
    _Alignas(64) size_t prod_head;    /* producer position (unpublished) */
    size_t prod_tail_cache;
    unsigned pending;
} ring_t;

static void backoff(unsigned *spins)
{
    if (++*spins < 64)
        return;
    if (*spins < 256) {
        sched_yield();
        return;
    }
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
}

static void ring_publish(ring_t *r)
{
    atomic_store_explicit(&r->head, r->prod_head, memory_order_release);
    r->pending = 0;
}

/* Reserve `len` contiguous bytes; waits for the consumer when full. */
static unsigned char *ring_reserve(ring_t *r, size_t len)
{
    unsigned spins = 0;
    for (;;) {
        size_t off = r->prod_head & (r->size - 1);
        size_t contiguous = r->size - off;
        size_t need = len <= contiguous ? len : contiguous + len; /* pad to wrap */
        if (r->prod_head + need - r->prod_tail_cache <= r->size) {
            if (len > contiguous) {
                rec_t *pad = (rec_t *)(r->buf + off);
                pad->len = (uint32_t)contiguous;
                pad->type = REC_PAD;
                r->prod_head += contiguous;
                off = 0;
            }
            return r->buf + off;
        }
        r->prod_tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r->prod_head + need - r->prod_tail_cache <= r->size)
            continue;
        if (r->pending)
            ring_publish(r); /* let the consumer see what is there */
        backoff(&spins);
    }
}

static void ring_commit(ring_t *r, size_t len, int flush)
{
    r->prod_head += len;
    if (++r->pending >= RING_COMMIT_EVERY || flush)
        ring_publish(r);
}

/* ---- workers ----------------------------------------------------------- */

/* A verdict's label is valid only during the verdict call (the ABI), so
 * each worker keeps its own copy of every label it counts. */
typedef struct label_count {
    char *label;
    uint64_t n;
} label_count_t;

struct host_worker {
    int id;
    pthread_t thread;
    int started;
    ring_t ring;
    const host_options_t *opt;
    const host_plugin_t *hp;
    void *pctx;
    void *pthread_ctx;
    const host_sink_t *sink;
    ef_flow_table_t *flows;
    ef_ndpi_t *ndpi;
    size_t storage_size;
    /* counters, merged after the run */
    uint64_t packets;
    uint64_t verdicts, verdicts_at_end, alerts;
    label_count_t labels[HOST_MAX_LABELS];
    int n_labels;
    host_sid_count_t *sids;
    int n_sids, cap_sids;
    uint64_t decide_ts_us; /* time of the packet being processed */
    char app_buf[64];
    char err[EF_ERR_MSG_MAX];
};

void host_worker_count_alert(host_worker_t *w, uint32_t gid, uint32_t sid)
{
    w->alerts++;
    for (int i = 0; i < w->n_sids; i++)
        if (w->sids[i].sid == sid && w->sids[i].gid == gid) {
            w->sids[i].count++;
            return;
        }
    if (w->n_sids == w->cap_sids) {
        int cap = w->cap_sids ? w->cap_sids * 2 : 16;
        host_sid_count_t *n = realloc(w->sids, (size_t)cap * sizeof *n);
        if (!n)
            return; /* counted in w->alerts, not per sid */
        w->sids = n;
        w->cap_sids = cap;
    }
    w->sids[w->n_sids++] = (host_sid_count_t){gid, sid, 1};
}

static void count_label(host_worker_t *w, const char *label)
{
    for (int i = 0; i < w->n_labels; i++)
        if (!strcmp(w->labels[i].label, label)) {
            w->labels[i].n++;
            return;
        }
    if (w->n_labels == HOST_MAX_LABELS)
        return; /* counted in w->verdicts, not per label */
    char *copy = strdup(label);
    if (copy)
        w->labels[w->n_labels++] = (label_count_t){copy, 1};
}

/* nDPI's name for the flow so far, or NULL when it has none. */
static const char *app_proto(host_worker_t *w, ef_flow_t *f)
{
    const ef_ndpi_flow_t *h = &host_flow(f)->ndpi;
    /* A guess from ports or addresses is not a detection: an unanswered
     * SYN to port 443 is not TLS. */
    if (!w->ndpi || h->state == EF_NDPI_IDLE || h->state == EF_NDPI_NO_SLOT || h->guessed)
        return NULL;
    const char *name = ef_ndpi_flow_name(w->ndpi, h, w->app_buf, sizeof w->app_buf);
    return strcmp(name, "Unknown") ? name : NULL;
}

/* host API: a verdict for the flow `cookie`, on worker `host_thread`. */
void host_on_verdict(void *host_thread, void *cookie, const ef_verdict_t *v)
{
    host_worker_t *w = host_thread;
    ef_flow_t *f = cookie;
    w->verdicts++;
    if (v->at_flow_end)
        w->verdicts_at_end++;
    count_label(w, v->label);
    if (!w->sink || !w->sink->verdict)
        return;
    host_flow_view_t fv = {
        .flow = f,
        .app_proto = app_proto(w, f),
        .ts_us = v->at_flow_end ? host_flow(f)->last_pkt_us : w->decide_ts_us,
    };
    uint64_t alerts = w->alerts;
    w->sink->verdict(w->sink->ctx, w, &fv, v);
    if (w->alerts != alerts)
        host_flow(f)->alerted = 1;
}

static void on_flow_end(void *user, ef_flow_t *f)
{
    host_worker_t *w = user;
    host_flow_t *hf = host_flow(f);
    if (w->ndpi) /* final answer before the last verdicts are logged */
        ef_ndpi_flow_end(w->ndpi, &hf->ndpi);
    w->hp->api->flow_end(w->pthread_ctx, plugin_storage(f), f);
    if (w->sink && w->sink->flow_end) { /* after the flow-end verdicts: `alerted` is final */
        host_flow_view_t fv = {.flow = f, .app_proto = app_proto(w, f), .ts_us = hf->last_pkt_us};
        host_flow_summary_t sum = {
            .ip_bytes = {hf->ip_bytes[0], hf->ip_bytes[1]},
            .last_pkt_us = hf->last_pkt_us,
            .alerted = hf->alerted,
        };
        w->sink->flow_end(w->sink->ctx, w, &fv, &sum);
    }
}

static void worker_packet(host_worker_t *w, const ef_packet_t *p)
{
    ef_flow_hit_t hit;
    w->decide_ts_us = p->ts_us;
    if (ef_flow_table_track(w->flows, p, &hit) < 0)
        return;
    w->packets++;
    host_flow(hit.flow)->last_pkt_us = p->ts_us;
    host_flow(hit.flow)->ip_bytes[!hit.c2s] += p->ip_len;
    if (hit.is_new) /* the table zeroed the ext area: nDPI handle idle */
        w->hp->api->flow_new(w->pthread_ctx, plugin_storage(hit.flow), hit.flow);
    if (w->ndpi)
        ef_ndpi_packet(w->ndpi, &host_flow(hit.flow)->ndpi, p);
    ef_pkt_info_t info = {
        .ts_us = p->ts_us,
        .ip_len = p->ip_len,
        .to_server = hit.c2s,
        .proto = p->proto,
        .tcp_flags = p->tcp_flags,
    };
    w->hp->api->packet(w->pthread_ctx, plugin_storage(hit.flow), hit.flow, &info);
}

/* Drain one worker's ring until its END record. */
static void *worker_main(void *arg)
{
    host_worker_t *w = arg;
    ring_t *r = &w->ring;
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    unsigned spins = 0;
    for (;;) {
        size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (head == tail) {
            backoff(&spins);
            continue;
        }
        spins = 0;
        while (tail != head) {
            rec_t *rec = (rec_t *)(r->buf + (tail & (r->size - 1)));
            uint32_t len = rec->len;
            switch (rec->type) {
            case REC_PACKET:
                if (rec->l3_copied)
                    rec->pkt.l3 = (const uint8_t *)rec + REC_HDR;
                worker_packet(w, &rec->pkt);
                break;
            case REC_TICK:
                ef_flow_table_expire(w->flows, rec->pkt.ts_us);
                break;
            case REC_END:
                atomic_store_explicit(&r->tail, tail + len, memory_order_release);
                return NULL;
            default:
                break;
            }
            tail += len;
        }
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
}

static int worker_setup(host_worker_t *w, int id, const host_options_t *opt,
                        const host_plugin_t *hp, void *pctx, const host_sink_t *sink,
                        ef_err_t *err)
{
    char errbuf[EF_ERR_MSG_MAX] = "";
    w->id = id;
    w->opt = opt;
    w->hp = hp;
    w->pctx = pctx;
    w->sink = sink;
    w->storage_size = hp->api->flow_storage_size(pctx);
    /* The table holds at most 1 MiB of caller storage per flow; a larger
     * request must not wrap the 32-bit size below into a tiny storage. */
    if (w->storage_size > HOST_MAX_PLUGIN_STORAGE)
        return ef_err_set(err, "plugin %s asks for %zu bytes of storage per flow (at most %zu)",
                          hp->path, w->storage_size, (size_t)HOST_MAX_PLUGIN_STORAGE);

    ef_flow_config_t fc = opt->flow;
    fc.memcap = opt->flow.memcap / (uint64_t)opt->workers;
    fc.ext_size = (uint32_t)(HOST_FLOW_BYTES + w->storage_size);
    w->flows = ef_flow_table_new(&fc, on_flow_end, w, err);
    if (!w->flows)
        return ef_err_prefix(err, "worker %d flow table", id);
    if (opt->ndpi) {
        ef_ndpi_config_t nc;
        ef_ndpi_config_default(&nc);
        nc.max_packets = EF_K_MAX;
        /* Detection state is ~700 bytes a flow and only held while a flow
         * is being detected; a pool as large as the flow table would cost
         * more than the table itself. Flows that find it empty are counted
         * (stats: ndpi.no_slot). */
        uint64_t cap = ef_flow_table_stats(w->flows)->capacity;
        nc.pool_flows = (uint32_t)(cap < HOST_NDPI_POOL_MAX ? cap : HOST_NDPI_POOL_MAX);
        w->ndpi = ef_ndpi_new(&nc, err);
        if (!w->ndpi)
            return ef_err_prefix(err, "worker %d nDPI", id);
    }
    w->pthread_ctx = hp->api->thread_init(pctx, w, errbuf, sizeof errbuf);
    errbuf[sizeof errbuf - 1] = '\0'; /* a plugin's message is untrusted too */
    if (!w->pthread_ctx)
        return ef_err_set(err, "plugin thread init failed: %s",
                          errbuf[0] ? errbuf : "(the plugin gave no reason)");
    if (opt->workers > 1) {
        w->ring.size = RING_BYTES;
        w->ring.buf = aligned_alloc(64, RING_BYTES);
        if (!w->ring.buf)
            return ef_err_set(err, "worker %d: out of memory for its packet ring", id);
    }
    return 0;
}

static void worker_teardown(host_worker_t *w)
{
    if (w->flows)
        ef_flow_table_free(w->flows);
    if (w->pthread_ctx)
        w->hp->api->thread_deinit(w->pthread_ctx);
    ef_ndpi_free(w->ndpi);
    free(w->ring.buf);
    free(w->sids);
    for (int i = 0; i < w->n_labels; i++)
        free(w->labels[i].label);
}

/* ---- reader ------------------------------------------------------------ */

typedef struct reader {
    const host_options_t *opt;
    host_worker_t *workers;
    int n;
    ef_decode_stats_t decode;
    uint64_t bytes;
    uint64_t first_ts, last_ts, last_tick;
    uint64_t bytes_done; /* file bytes of the inputs already read */
    int copy_l3;
    int input_errors;
    /* live capture only (host.h, HOST_LIVE_TICK_US): monotonic clock, µs */
    int live;
    const host_sink_t *sink;
    uint64_t frame_mono; /* when the latest frame was read */
    uint64_t tick_mono, flush_mono;
} reader_t;

#define TICK_US 100000u /* workers expire idle flows at least every 100 ms of packet time */

static void push_record(host_worker_t *w, uint32_t type, const ef_packet_t *p, int copy_l3,
                        int flush)
{
    uint32_t l3 = (copy_l3 && p) ? p->l3_caplen : 0;
    size_t len = (REC_HDR + l3 + 15u) & ~(size_t)15u;
    rec_t *rec = (rec_t *)ring_reserve(&w->ring, len);
    rec->len = (uint32_t)len;
    rec->type = type;
    rec->l3_copied = l3;
    if (p)
        rec->pkt = *p;
    if (l3)
        memcpy((unsigned char *)rec + REC_HDR, p->l3, l3);
    ring_commit(&w->ring, len, flush);
}

/* Advance every worker's flow clock to `ts_us` (never back), ending the
 * flows idle for longer than their timeout. */
static void tick_workers(reader_t *rd, uint64_t ts_us)
{
    if (ts_us < rd->last_tick)
        ts_us = rd->last_tick;
    rd->last_tick = ts_us;
    if (rd->n == 1) {
        ef_flow_table_expire(rd->workers[0].flows, ts_us);
        return;
    }
    ef_packet_t tick;
    memset(&tick, 0, sizeof tick);
    tick.ts_us = ts_us;
    for (int i = 0; i < rd->n; i++)
        push_record(&rd->workers[i], REC_TICK, &tick, 0, 1);
}

static void dispatch(reader_t *rd, const ef_packet_t *p)
{
    if (rd->n == 1) {
        worker_packet(&rd->workers[0], p);
        return;
    }
    uint32_t h = ef_flow_shard_hash(p);
    push_record(&rd->workers[h % (uint32_t)rd->n], REC_PACKET, p, rd->copy_l3, 0);
    if (p->ts_us >= rd->last_tick + TICK_US)
        tick_workers(rd, p->ts_us);
}


/* Live capture, after a frame or a read timeout: tick the flow clocks on
 * the wall clock mapped onto packet time, and flush the sink (host.h). */
static void live_clock(reader_t *rd)
{
    uint64_t mono = ef_mono_us();
    if (rd->last_ts && mono - rd->tick_mono >= HOST_LIVE_TICK_US) {
        rd->tick_mono = mono;
        tick_workers(rd, rd->last_ts + (mono - rd->frame_mono));
    }
    if (mono - rd->flush_mono >= HOST_LIVE_FLUSH_US) {
        rd->flush_mono = mono;
        if (rd->sink && rd->sink->flush)
            rd->sink->flush(rd->sink->ctx);
    }
}

static int read_capture(reader_t *rd, ef_capture_t *c, ef_progress_t *prog, ef_err_t *err)
{
    uint64_t base = rd->bytes_done;
    ef_frame_t fr;
    int linktype = ef_capture_linktype(c);
    int rc = EF_CAPTURE_END;
    uint64_t n = 0;
    while (!*rd->opt->stop) {
        rc = ef_capture_next(c, &fr, err);
        if (rc == EF_CAPTURE_TIMEOUT) { /* live, nothing for a while */
            live_clock(rd);
            continue;
        }
        if (rc != EF_CAPTURE_FRAME)
            break;
        ef_packet_t p;
        ef_decode_status_t s = ef_decode(linktype, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &p);
        ef_decode_stats_add(&rd->decode, s);
        rd->bytes += fr.wirelen;
        if (!rd->first_ts)
            rd->first_ts = fr.ts_us;
        if (fr.ts_us > rd->last_ts)
            rd->last_ts = fr.ts_us;
        if (s == EF_DEC_OK)
            dispatch(rd, &p);
        if (rd->live) { /* frames that are not IP (ARP, ...) tell the time too */
            rd->frame_mono = ef_mono_us();
            live_clock(rd);
        }
        if (prog && (++n & 0x3fff) == 0)
            ef_progress_update(prog, base + ef_capture_bytes_read(c), rd->decode.packets);
    }
    rd->bytes_done = base + ef_capture_bytes_read(c);
    if (*rd->opt->stop)
        return 0;
    return rc < 0 ? -1 : 0;
}

static int read_all(reader_t *rd, ef_err_t *err)
{
    const host_options_t *opt = rd->opt;
    if (opt->iface) {
        ef_capture_t *c = ef_capture_open_live(opt->iface, opt->bpf, 0, err);
        if (!c)
            return -1;
        ef_capture_return_on_timeout(c, 1);
        rd->live = 1;
        rd->tick_mono = rd->flush_mono = ef_mono_us();
        if (opt->capture_slot)
            *opt->capture_slot = c;
        int rc = read_capture(rd, c, NULL, err);
        if (opt->capture_slot)
            *opt->capture_slot = NULL;
        ef_capture_close(c);
        return rc;
    }
    uint64_t total = 0;
    for (int i = 0; i < opt->n_inputs; i++) {
        struct stat st;
        if (stat(opt->inputs[i], &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    ef_progress_t *prog = NULL;
    if (opt->progress >= 0)
        prog = ef_progress_new(stderr, "run", total, opt->progress > 0, EF_PROGRESS_MIN_BYTES);
    int rc = 0;
    for (int i = 0; i < opt->n_inputs && !*opt->stop && rc == 0; i++) {
        ef_capture_t *c = ef_capture_open_file(opt->inputs[i], err);
        if (c) {
            char item[256];
            snprintf(item, sizeof item, "(%d/%d) %s", i + 1, opt->n_inputs, ef_capture_name(c));
            ef_progress_set_item(prog, item);
            if (opt->capture_slot)
                *opt->capture_slot = c;
            rc = read_capture(rd, c, prog, err);
            if (opt->capture_slot)
                *opt->capture_slot = NULL;
            ef_capture_close(c);
        } else {
            rc = *opt->stop ? 0 : -1; /* a signal interrupted the open (EINTR) */
        }
        if (rc < 0 && opt->input_error) { /* skip this input, go on with the next */
            opt->input_error(opt->input_error_user, err);
            rd->input_errors++;
            rc = 0;
        }
    }
    if (rc < 0)
        ef_progress_abandon(prog);
    else
        ef_progress_finish(prog);
    return rc;
}

/* ---- the run ----------------------------------------------------------- */

static void merge_stats(host_stats_t *st, reader_t *rd, host_worker_t *ws, int n)
{
    st->packets = rd->decode.packets;
    st->bytes = rd->bytes;
    st->decode = rd->decode;
    st->first_ts_us = rd->first_ts;
    st->last_ts_us = rd->last_ts;
    st->input_errors = rd->input_errors;
    for (int i = 0; i < n; i++) {
        host_worker_t *w = &ws[i];
        if (!w->flows)
            continue; /* set-up failed before this worker had a table */
        const ef_flow_stats_t *fs = ef_flow_table_stats(w->flows);
        st->bytes_per_flow = ef_flow_table_bytes_per_flow(w->flows);
        st->plugin_bytes_per_flow = w->storage_size;
        st->flow.capacity += fs->capacity;
        st->flow.active += fs->active;
        st->flow.peak_active += fs->peak_active;
        st->flow.created += fs->created;
        for (int r = 0; r < EF_END__COUNT; r++)
            st->flow.ended[r] += fs->ended[r];
        st->flow.packets += fs->packets;
        st->flow.frag_later += fs->frag_later;
        st->flow.frag_orphans += fs->frag_orphans;
        st->verdicts += w->verdicts;
        st->verdicts_at_end += w->verdicts_at_end;
        st->alerts += w->alerts;
        if (w->ndpi) {
            const ef_ndpi_stats_t *ns = ef_ndpi_stats(w->ndpi);
            st->ndpi_detected += ns->detected;
            st->ndpi_no_slot += ns->no_slot;
            st->ndpi_pool_slots += ns->pool_size;
            st->ndpi_slot_bytes = ns->slot_bytes;
        }
        for (int l = 0; l < w->n_labels; l++) {
            int j;
            for (j = 0; j < st->n_labels; j++)
                if (!strcmp(st->label[j], w->labels[l].label))
                    break;
            if (j == st->n_labels) {
                char *copy = st->n_labels < HOST_MAX_LABELS ? strdup(w->labels[l].label) : NULL;
                if (!copy)
                    continue;
                st->label[st->n_labels++] = copy;
            }
            st->verdicts_by_label[j] += w->labels[l].n;
        }
        for (int s = 0; s < w->n_sids; s++) {
            int j;
            for (j = 0; j < st->n_sids; j++)
                if (st->sids[j].sid == w->sids[s].sid && st->sids[j].gid == w->sids[s].gid)
                    break;
            if (j == st->n_sids) {
                host_sid_count_t *nsids = realloc(st->sids, (size_t)(j + 1) * sizeof *nsids);
                if (!nsids)
                    continue;
                st->sids = nsids;
                st->sids[st->n_sids++] = (host_sid_count_t){w->sids[s].gid, w->sids[s].sid, 0};
            }
            st->sids[j].count += w->sids[s].count;
        }
    }
}

static int cmp_sid(const void *a, const void *b)
{
    const host_sid_count_t *x = a, *y = b;
    if (x->gid != y->gid)
        return x->gid < y->gid ? -1 : 1;
    return x->sid < y->sid ? -1 : x->sid > y->sid;
}

void host_stats_free(host_stats_t *st)
{
    free(st->sids);
    st->sids = NULL;
    st->n_sids = 0;
    for (int l = 0; l < st->n_labels; l++)
        free((char *)st->label[l]);
    st->n_labels = 0;
}


int host_run(const host_options_t *opt, const host_plugin_t *hp, void *pctx,
             const host_sink_t *sink, host_stats_t *stats, ef_err_t *err)
{
    int n = opt->workers < 1 ? 1 : opt->workers > HOST_MAX_WORKERS ? HOST_MAX_WORKERS
                                                                    : opt->workers;
    host_options_t o = *opt;
    o.workers = n;
    host_worker_t *ws = calloc((size_t)n, sizeof *ws);
    reader_t rd = {.opt = &o, .workers = ws, .n = n, .copy_l3 = o.ndpi, .sink = sink};
    int rc = -1;
    memset(stats, 0, sizeof *stats);
    if (!ws)
        return ef_err_set(err, "out of memory");
    for (int i = 0; i < n; i++)
        if (worker_setup(&ws[i], i, &o, hp, pctx, sink, err) < 0)
            goto out;
    if (n > 1) {
        /* Workers inherit a mask without SIGINT/SIGTERM, so a stop signal is
         * always handled on this (the reading) thread, which owns the
         * capture the handler breaks. */
        sigset_t stop_sigs, old;
        sigemptyset(&stop_sigs);
        sigaddset(&stop_sigs, SIGINT);
        sigaddset(&stop_sigs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);
        int trc = 0;
        for (int i = 0; i < n && trc == 0; i++) {
            trc = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
            if (trc != 0)
                ef_err_set(err, "cannot start worker thread %d: %s", i, strerror(trc));
            else
                ws[i].started = 1;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (trc != 0)
            goto out;
    }
    double t0 = ef_mono_s();
    rc = read_all(&rd, err);
    /* End of input (or an error, or a signal): every worker drains its ring,
     * then its flows end, so every flow gets its end-of-flow verdicts. */
    for (int i = 0; i < n; i++)
        if (ws[i].started)
            push_record(&ws[i], REC_END, NULL, 0, 1);
    for (int i = 0; i < n; i++) {
        if (ws[i].started)
            pthread_join(ws[i].thread, NULL);
        ws[i].started = 0;
        if (ws[i].flows)
            ef_flow_table_flush(ws[i].flows);
    }
    stats->seconds = ef_mono_s() - t0;
    stats->interrupted = *opt->stop != 0;
out:
    for (int i = 0; i < n; i++) {
        if (ws[i].started) { /* a thread failed to start: stop the others */
            push_record(&ws[i], REC_END, NULL, 0, 1);
            pthread_join(ws[i].thread, NULL);
        }
    }
    merge_stats(stats, &rd, ws, n);
    if (stats->n_sids > 1)
        qsort(stats->sids, (size_t)stats->n_sids, sizeof *stats->sids, cmp_sid);
    for (int i = 0; i < n; i++)
        worker_teardown(&ws[i]);
    free(ws);
    return rc;
}
