/* Test plugin: records how a host drives the hook ABI, and checks the
 * host's side of the contract on the way.
 *
 * Configuration (through the host's conf_get):
 *   recorder.file   path of the record (appended to; required)
 *   recorder.label  label of the verdicts it emits (default "Other")
 *
 * Record lines (one write(2) each, O_APPEND, so threads do not interleave):
 *   init abi=<host abi>
 *   thread_init <thread-no>
 *   flow <packets> c2s=<n> bytes=<sum ip_len> first=<ts> last=<ts>
 *        proto=<p> flags=<or of tcp flags> thread=<thread-no> errors=<n>
 *   thread_deinit <thread-no>
 *   deinit
 * `errors` counts contract violations seen for that flow: storage that was
 * not initialised by flow_new (or reused after flow_end), hooks of one flow
 * from different threads, timestamps going backwards. A host that calls
 * flow_end twice, or packet after flow_end, gets an "error" line.
 *
 * Verdicts: at the flow's 3rd packet (k=3, label from recorder.label,
 * score 0.75, probabilities {label: 0.75, "Unlabeled": 0.25}), and at flow
 * end for flows of 1-2 packets (at_flow_end). k_mask is {3}. The verdict's
 * strings are overwritten as soon as the callback returns ("stale-..."), as
 * the ABI allows. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "earlyflow_plugin.h"

#define MAGIC_LIVE 0x52454331u /* "REC1" */
#define MAGIC_DEAD 0xdeadf10bu

typedef struct rec_ctx {
    const ef_host_api_t *host;
    int fd;
    const char *label;
    int next_thread; /* only touched by thread_init, which hosts call serially */
} rec_ctx_t;

typedef struct rec_thread {
    rec_ctx_t *ctx;
    void *host_thread;
    int no;
    /* The verdict's strings live here during the callback and are
     * overwritten right after it: the ABI says they are valid only during
     * the call, and a host that keeps the pointers shows garbage. */
    char label[64], model[64], unl[64];
} rec_thread_t;

typedef struct rec_flow {
    uint32_t magic;
    uint32_t packets, c2s, errors;
    uint64_t bytes, first, last;
    const rec_thread_t *thread;
    uint8_t proto, flags, decided;
} rec_flow_t;

static void record(const rec_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void record(const rec_ctx_t *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(c->fd, line, (size_t)n) != n)
        c->host->log(c->host->host, EF_LOG_ERROR, "recorder: short write");
}

static void *r_init(const ef_host_api_t *host, char *err, size_t errlen)
{
    const char *path = host->conf_get(host->host, "recorder.file");
    const char *label = host->conf_get(host->host, "recorder.label");
    if (!path) {
        snprintf(err, errlen, "recorder: recorder.file is not set");
        return NULL;
    }
    rec_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "recorder: out of memory");
        return NULL;
    }
    c->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->fd < 0) {
        snprintf(err, errlen, "recorder: cannot open %s", path);
        free(c);
        return NULL;
    }
    c->host = host;
    c->label = label ? label : "Other";
    record(c, "init abi=%u", host->abi_version);
    return c;
}

static void r_deinit(void *ctx)
{
    rec_ctx_t *c = ctx;
    record(c, "deinit");
    close(c->fd);
    free(c);
}

static size_t r_size(void *ctx)
{
    (void)ctx;
    return sizeof(rec_flow_t);
}

static uint32_t r_mask(void *ctx)
{
    (void)ctx;
    return 1u << 3;
}

static void *r_tinit(void *ctx, void *host_thread, char *err, size_t errlen)
{
    rec_ctx_t *c = ctx;
    rec_thread_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "recorder: out of memory");
        return NULL;
    }
    t->ctx = c;
    t->host_thread = host_thread;
    t->no = c->next_thread++;
    record(c, "thread_init %d", t->no);
    return t;
}

static void r_tdeinit(void *thread)
{
    rec_thread_t *t = thread;
    record(t->ctx, "thread_deinit %d", t->no);
    free(t);
}

static void emit(rec_thread_t *t, void *cookie, rec_flow_t *f, int at_end)
{
    snprintf(t->label, sizeof t->label, "%s", t->ctx->label);
    snprintf(t->model, sizeof t->model, "recorder");
    snprintf(t->unl, sizeof t->unl, "Unlabeled");
    const char *labels[2] = {t->label, t->unl};
    float probs[2] = {0.75f, 0.25f};
    ef_verdict_t v = {
        .label = t->label,
        .score = 0.75f,
        .k = 3,
        .packets = (int)f->packets,
        .at_flow_end = at_end,
        .model = t->model,
        .n_classes = 2,
        .class_labels = labels,
        .probs = probs,
    };
    f->decided = 1;
    t->ctx->host->verdict(t->host_thread, cookie, &v);
    /* gone after the call */
    snprintf(t->label, sizeof t->label, "stale-label");
    snprintf(t->model, sizeof t->model, "stale-model");
    snprintf(t->unl, sizeof t->unl, "stale-class");
}

static void r_new(void *thread, void *storage, void *cookie)
{
    rec_flow_t *f = storage;
    (void)cookie;
    memset(f, 0, sizeof *f);
    f->magic = MAGIC_LIVE;
    f->thread = thread;
}

static void r_pkt(void *thread, void *storage, void *cookie, const ef_pkt_info_t *p)
{
    rec_thread_t *t = thread;
    rec_flow_t *f = storage;
    if (f->magic != MAGIC_LIVE) {
        record(t->ctx, "error packet on a flow that flow_new did not start (or that ended)");
        return;
    }
    if (f->thread != t)
        f->errors++;
    if (f->packets == 0) {
        f->first = p->ts_us;
        f->proto = p->proto;
    } else if (p->ts_us < f->last) {
        f->errors++;
    }
    if (p->proto != f->proto)
        f->errors++;
    f->last = p->ts_us;
    f->packets++;
    f->c2s += p->to_server ? 1u : 0u;
    f->bytes += p->ip_len;
    f->flags |= p->tcp_flags;
    if (f->packets == 3)
        emit(t, cookie, f, 0);
}

static void r_end(void *thread, void *storage, void *cookie)
{
    rec_thread_t *t = thread;
    rec_flow_t *f = storage;
    if (f->magic != MAGIC_LIVE) {
        record(t->ctx, "error flow_end on a flow that flow_new did not start (or that ended)");
        return;
    }
    if (f->thread != t)
        f->errors++;
    if (!f->decided && f->packets > 0)
        emit(t, cookie, f, 1);
    record(t->ctx,
           "flow %u c2s=%u bytes=%llu first=%llu last=%llu proto=%u flags=%u thread=%d "
           "errors=%u",
           f->packets, f->c2s, (unsigned long long)f->bytes, (unsigned long long)f->first,
           (unsigned long long)f->last, f->proto, f->flags, t->no, f->errors);
    f->magic = MAGIC_DEAD;
}

static const ef_plugin_t plugin = {
    .abi_version = EF_PLUGIN_ABI_VERSION,
    .name = "recorder",
    .version = "0.0.1",
    .init = r_init,
    .deinit = r_deinit,
    .flow_storage_size = r_size,
    .thread_init = r_tinit,
    .thread_deinit = r_tdeinit,
    .flow_new = r_new,
    .packet = r_pkt,
    .flow_end = r_end,
    .k_mask = r_mask,
};

__attribute__((visibility("default"))) const ef_plugin_t *earlyflow_plugin_entry(void);

const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return &plugin;
}
