/* Test plugin: the right ABI version but a hook table with a NULL hook
 * (no `packet`). The host must refuse it before calling anything; every
 * hook that is present aborts, so a host that calls one fails loudly. */
#include <stdlib.h>

#include "earlyflow_plugin.h"

static void *i_init(const ef_host_api_t *h, char *e, size_t n) { (void)h; (void)e; (void)n; abort(); }
static void i_deinit(void *c) { (void)c; abort(); }
static size_t i_size(void *c) { (void)c; abort(); }
static void *i_tinit(void *c, void *h, char *e, size_t n) { (void)c; (void)h; (void)e; (void)n; abort(); }
static void i_tdeinit(void *t) { (void)t; abort(); }
static void i_new(void *t, void *s, void *c) { (void)t; (void)s; (void)c; abort(); }
static void i_end(void *t, void *s, void *c) { (void)t; (void)s; (void)c; abort(); }
static uint32_t i_mask(void *c) { (void)c; abort(); }

static const ef_plugin_t plugin = {
    .abi_version = EF_PLUGIN_ABI_VERSION,
    .name = "incomplete",
    .version = "0.0.1",
    .init = i_init,
    .deinit = i_deinit,
    .flow_storage_size = i_size,
    .thread_init = i_tinit,
    .thread_deinit = i_tdeinit,
    .flow_new = i_new,
    .packet = NULL,
    .flow_end = i_end,
    .k_mask = i_mask,
};

__attribute__((visibility("default"))) const ef_plugin_t *earlyflow_plugin_entry(void);

const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return &plugin;
}
