/* earlyflow plugin ABI: how any host (an IDS, a packet broker, earlyflow's own
 * `earlyflow run`) drives earlyflow.so.
 *
 * Life cycle, as the host sees it:
 *
 *   handle = dlopen("earlyflow.so", RTLD_NOW | RTLD_LOCAL);
 *   entry  = (ef_plugin_entry_fn)dlsym(handle, EF_PLUGIN_ENTRY_SYMBOL);
 *   p      = entry();
 *   if (p->abi_version != EF_PLUGIN_ABI_VERSION) refuse the plugin;
 *   ctx    = p->init(&host_api, err, sizeof err);        once, before traffic
 *   size   = p->flow_storage_size(ctx);                  bytes per flow
 *   th     = p->thread_init(ctx, host_thread, err, ...); once per worker thread
 *   for each flow (in the worker that owns it):
 *       p->flow_new(th, storage, cookie);                storage: `size` bytes
 *       p->packet(th, storage, cookie, &pkt_info);       every packet, in order
 *       p->flow_end(th, storage, cookie);                exactly once
 *   p->thread_deinit(th); p->deinit(ctx); dlclose(handle);
 *
 * Verdicts: while handling a packet (the flow's k-th packet, for every k the
 * plugin was configured with) or a flow end (flows shorter than their k), the
 * plugin calls host->verdict(host_thread, cookie, &verdict) synchronously, in
 * the calling thread. The verdict and everything it points to are valid only
 * during that call.
 *
 * Memory and threads: the plugin keeps no global mutable state. Per-flow state
 * lives in the host-provided storage (the host zeroes nothing: flow_new
 * initialises it); per-thread state in the object thread_init returns. The
 * plugin context is read-only after init and shared by all threads. A flow's
 * hooks are never called concurrently.
 *
 * Configuration: the plugin reads what it needs through host->conf_get with
 * dotted keys under "earlyflow." (see docs/config.md). Sequences are passed as
 * comma-separated values. Keys the plugin reads:
 *   earlyflow.model          "builtin" (default) or a model file path
 *   earlyflow.models.<k>     model file for one k (overrides earlyflow.model)
 *   earlyflow.k              k values to decide at, e.g. "3,5" (default "5")
 *
 * Versioning: EF_PLUGIN_ABI_VERSION changes whenever a struct below changes
 * layout or meaning; hosts must refuse any other version. */
#ifndef EARLYFLOW_PLUGIN_H
#define EARLYFLOW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EF_PLUGIN_ABI_VERSION 1u
#define EF_PLUGIN_ENTRY_SYMBOL "earlyflow_plugin_entry"

enum ef_log_level { EF_LOG_ERROR = 0, EF_LOG_WARNING = 1, EF_LOG_INFO = 2, EF_LOG_DEBUG = 3 };

/* What the plugin needs to know about one packet of a flow. */
typedef struct ef_pkt_info {
    uint64_t ts_us;     /* capture time, microseconds */
    uint16_t ip_len;    /* IP total length */
    uint8_t to_server;  /* 1: client -> server */
    uint8_t proto;      /* IP protocol number */
    uint8_t tcp_flags;  /* TCP flags (0 for other protocols) */
    uint8_t reserved[3];
} ef_pkt_info_t;

/* One early decision for one flow. */
typedef struct ef_verdict {
    const char *label;        /* winning class, e.g. "NetworkScan" */
    float score;              /* its probability, 0..1 */
    int k;                    /* the k this verdict answers (3, 5, 10, 20) */
    int packets;              /* packets the model saw: k, or fewer at flow end */
    int at_flow_end;          /* 1: flow ended before k packets */
    const char *model;        /* model name, e.g. "builtin_k5" */
    int n_classes;
    const char *const *class_labels; /* n_classes labels */
    const float *probs;       /* n_classes probabilities, same order */
} ef_verdict_t;

/* Services the host offers the plugin. */
typedef struct ef_host_api {
    uint32_t abi_version;     /* EF_PLUGIN_ABI_VERSION the host was built with */
    void *host;               /* opaque, passed back to conf_get and log */
    /* Configuration value for a dotted key, or NULL when unset. The string
     * stays valid until deinit. */
    const char *(*conf_get)(void *host, const char *key);
    void (*log)(void *host, int level, const char *msg);
    /* A verdict for the flow identified by `cookie`, on the thread whose
     * thread_init received `host_thread`. */
    void (*verdict)(void *host_thread, void *cookie, const ef_verdict_t *v);
} ef_host_api_t;

/* The plugin's hooks. All function pointers are non-NULL. */
typedef struct ef_plugin {
    uint32_t abi_version;     /* EF_PLUGIN_ABI_VERSION */
    const char *name;         /* "earlyflow" */
    const char *version;      /* plugin release, e.g. "0.1.0" */

    /* Reads configuration, loads models. Returns the plugin context or NULL
     * with a one-line reason in err. */
    void *(*init)(const ef_host_api_t *host, char *err, size_t errlen);
    void (*deinit)(void *ctx);

    /* Bytes of per-flow storage the host must provide (fixed after init). */
    size_t (*flow_storage_size)(void *ctx);

    /* Per worker thread; NULL with err on failure. */
    void *(*thread_init)(void *ctx, void *host_thread, char *err, size_t errlen);
    void (*thread_deinit)(void *thread);

    void (*flow_new)(void *thread, void *storage, void *cookie);
    void (*packet)(void *thread, void *storage, void *cookie, const ef_pkt_info_t *pkt);
    void (*flow_end)(void *thread, void *storage, void *cookie);

    /* The set of k values the plugin decides at, as a bit mask (bit k set). */
    uint32_t (*k_mask)(void *ctx);
} ef_plugin_t;

/* The one exported symbol of a plugin. */
typedef const ef_plugin_t *(*ef_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
