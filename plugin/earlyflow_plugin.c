/* earlyflow.so: the generic hook ABI (earlyflow_plugin.h) over the engine.
 *
 * Reads like a flow's life: the contexts, init from the host's config, the
 * per-thread set-up, then flow new / packet / flow end. All state lives in the
 * contexts the host holds (plugin context, thread context, flow storage);
 * the one exported symbol is earlyflow_plugin_entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "earlyflow_plugin.h"
#include "ids/engine.h"

#ifndef EF_VERSION
#define EF_VERSION "0.1.0"
#endif

/* Plugin context: read-only after init, shared by every thread. */
typedef struct plugin_ctx {
    const ef_host_api_t *host;
    ef_engine_t *engine;
} plugin_ctx_t;

/* Thread context: the engine's scratch and the host's thread handle. */
typedef struct thread_ctx {
    const plugin_ctx_t *plugin;
    ef_engine_thread_t *engine_thread;
    void *host_thread;
} thread_ctx_t;

/* Passed through the engine to forward a verdict to the host. */
typedef struct verdict_target {
    const thread_ctx_t *thread;
    void *cookie;
} verdict_target_t;

static void host_log(const ef_host_api_t *host, int level, const char *msg)
{
    if (host->log)
        host->log(host->host, level, msg);
}

/* ---- init: configuration and models ---------------------------------- */

static int read_config(const ef_host_api_t *host, ef_engine_config_t *cfg, ef_err_t *err)
{
    const char *klist = host->conf_get(host->host, "earlyflow.k");
    memset(cfg, 0, sizeof *cfg);
    cfg->model = host->conf_get(host->host, "earlyflow.model");
    if (klist && ef_engine_parse_k_list(klist, &cfg->k_mask, err) < 0)
        return ef_err_prefix(err, "earlyflow.k");
    for (int k = 1; k <= EF_K_MAX; k++) {
        char key[32];
        snprintf(key, sizeof key, "earlyflow.models.%d", k);
        cfg->model_for_k[k] = host->conf_get(host->host, key);
    }
    return 0;
}

static void *plugin_init(const ef_host_api_t *host, char *errbuf, size_t errlen)
{
    ef_err_t err = {{0}};
    ef_engine_config_t cfg;
    plugin_ctx_t *p = NULL;

    if (!host || host->abi_version != EF_PLUGIN_ABI_VERSION || !host->conf_get ||
        !host->verdict) {
        snprintf(errbuf, errlen, "earlyflow: host ABI version %u, plugin needs %u",
                 host ? host->abi_version : 0u, EF_PLUGIN_ABI_VERSION);
        return NULL;
    }
    if (read_config(host, &cfg, &err) < 0)
        goto fail;
    p = calloc(1, sizeof *p);
    if (!p) {
        ef_err_set(&err, "out of memory");
        goto fail;
    }
    p->host = host;
    p->engine = ef_engine_new(&cfg, &err);
    if (!p->engine)
        goto fail;
    for (int k = 1; k <= EF_K_MAX; k++) {
        const char *name = ef_engine_model_name(p->engine, k);
        if (name) {
            char msg[128];
            snprintf(msg, sizeof msg, "earlyflow: deciding at k=%d with model %s", k, name);
            host_log(host, EF_LOG_INFO, msg);
        }
    }
    return p;
fail:
    snprintf(errbuf, errlen, "earlyflow: %s", err.msg);
    free(p);
    return NULL;
}

static void plugin_deinit(void *ctx)
{
    plugin_ctx_t *p = ctx;
    if (!p)
        return;
    ef_engine_free(p->engine);
    free(p);
}

static size_t plugin_flow_storage_size(void *ctx)
{
    (void)ctx;
    return sizeof(ef_engine_flow_t);
}

static uint32_t plugin_k_mask(void *ctx)
{
    return ef_engine_k_mask(((plugin_ctx_t *)ctx)->engine);
}

/* ---- threads ------------------------------------------------------------ */

static void *plugin_thread_init(void *ctx, void *host_thread, char *errbuf, size_t errlen)
{
    const plugin_ctx_t *p = ctx;
    ef_err_t err = {{0}};
    thread_ctx_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(errbuf, errlen, "earlyflow: out of memory");
        return NULL;
    }
    t->plugin = p;
    t->host_thread = host_thread;
    t->engine_thread = ef_engine_thread_new(p->engine, &err);
    if (!t->engine_thread) {
        snprintf(errbuf, errlen, "earlyflow: %s", err.msg);
        free(t);
        return NULL;
    }
    return t;
}

static void plugin_thread_deinit(void *thread)
{
    thread_ctx_t *t = thread;
    if (!t)
        return;
    ef_engine_thread_free(t->engine_thread);
    free(t);
}

/* ---- a flow's life ------------------------------------------------------ */

static void forward_verdict(void *user, const ef_verdict_t *v)
{
    const verdict_target_t *target = user;
    target->thread->plugin->host->verdict(target->thread->host_thread, target->cookie, v);
}

static void plugin_flow_new(void *thread, void *storage, void *cookie)
{
    (void)thread;
    (void)cookie;
    ef_engine_flow_init(storage);
}

static void plugin_packet(void *thread, void *storage, void *cookie, const ef_pkt_info_t *pkt)
{
    thread_ctx_t *t = thread;
    verdict_target_t target = {t, cookie};
    ef_engine_packet(t->engine_thread, storage, pkt->ts_us, pkt->ip_len, pkt->to_server,
                     forward_verdict, &target);
}

static void plugin_flow_end(void *thread, void *storage, void *cookie)
{
    thread_ctx_t *t = thread;
    verdict_target_t target = {t, cookie};
    ef_engine_flow_end(t->engine_thread, storage, forward_verdict, &target);
}

/* ---- registration ------------------------------------------------------- */

static const ef_plugin_t plugin = {
    .abi_version = EF_PLUGIN_ABI_VERSION,
    .name = "earlyflow",
    .version = EF_VERSION,
    .init = plugin_init,
    .deinit = plugin_deinit,
    .flow_storage_size = plugin_flow_storage_size,
    .thread_init = plugin_thread_init,
    .thread_deinit = plugin_thread_deinit,
    .flow_new = plugin_flow_new,
    .packet = plugin_packet,
    .flow_end = plugin_flow_end,
    .k_mask = plugin_k_mask,
};

__attribute__((visibility("default"))) const ef_plugin_t *earlyflow_plugin_entry(void);

const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return &plugin;
}
