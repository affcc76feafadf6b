/* Test plugin: an earlyflow plugin built for another ABI version. Every hook
 * is present, but none may ever be called: the host must refuse the plugin
 * on its version before touching anything else. Each hook aborts, so a host
 * that calls one fails loudly. */
#include <stdlib.h>

#include "earlyflow_plugin.h"

static void *w_init(const ef_host_api_t *h, char *e, size_t n) { (void)h; (void)e; (void)n; abort(); }
static void w_deinit(void *c) { (void)c; abort(); }
static size_t w_size(void *c) { (void)c; abort(); }
static void *w_tinit(void *c, void *h, char *e, size_t n) { (void)c; (void)h; (void)e; (void)n; abort(); }
static void w_tdeinit(void *t) { (void)t; abort(); }
static void w_new(void *t, void *s, void *c) { (void)t; (void)s; (void)c; abort(); }
static void w_pkt(void *t, void *s, void *c, const ef_pkt_info_t *p) { (void)t; (void)s; (void)c; (void)p; abort(); }
static void w_end(void *t, void *s, void *c) { (void)t; (void)s; (void)c; abort(); }
static uint32_t w_mask(void *c) { (void)c; abort(); }

static const ef_plugin_t plugin = {
    .abi_version = EF_PLUGIN_ABI_VERSION + 41u,
    .name = "wrong-abi",
    .version = "9.9.9",
    .init = w_init,
    .deinit = w_deinit,
    .flow_storage_size = w_size,
    .thread_init = w_tinit,
    .thread_deinit = w_tdeinit,
    .flow_new = w_new,
    .packet = w_pkt,
    .flow_end = w_end,
    .k_mask = w_mask,
};

__attribute__((visibility("default"))) const ef_plugin_t *earlyflow_plugin_entry(void);

const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return &plugin;
}
