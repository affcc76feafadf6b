/* Test plugin: a plugin that fails or misbehaves the way a third-party
 * plugin might, chosen by the environment variable EF_MISBEHAVE (read once
 * in init; test_robust_plugin.c runs `earlyflow run -P misbehaving.so`):
 *   init_fail         init returns NULL with a reason
 *   init_silent       init returns NULL and writes nothing into err
 *   init_unterminated init fills err to its last byte with no NUL
 *   thread_fail       the second thread_init fails (reason given)
 *   thread_silent     every thread_init fails, err untouched
 *   huge_storage      flow_storage_size asks for SIZE_MAX / 2 bytes
 *   (unset)           a well-behaved plugin that decides nothing
 * Every context is heap memory freed by its deinit, so leak checkers see a
 * host that forgets a deinit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "earlyflow_plugin.h"

typedef struct ctx {
    char mode[32];
    int threads; /* thread_init calls so far (hosts call it serially) */
} ctx_t;

static int mode_is(const ctx_t *c, const char *m)
{
    return strcmp(c->mode, m) == 0;
}

static void *m_init(const ef_host_api_t *h, char *err, size_t errlen)
{
    (void)h;
    const char *m = getenv("EF_MISBEHAVE");
    if (m && !strcmp(m, "init_fail")) {
        strncpy(err, "misbehaving: told to fail", errlen - 1);
        err[errlen - 1] = '\0';
        return NULL;
    }
    if (m && !strcmp(m, "init_silent"))
        return NULL;
    if (m && !strcmp(m, "init_unterminated")) {
        memset(err, 'X', errlen);
        return NULL;
    }
    ctx_t *c = calloc(1, sizeof *c);
    if (c && m)
        strncpy(c->mode, m, sizeof c->mode - 1);
    return c;
}

static void m_deinit(void *ctx)
{
    free(ctx);
}

static size_t m_size(void *ctx)
{
    return mode_is(ctx, "huge_storage") ? SIZE_MAX / 2 : 16;
}

static void *m_tinit(void *ctx, void *host_thread, char *err, size_t errlen)
{
    (void)host_thread;
    ctx_t *c = ctx;
    c->threads++;
    if (mode_is(c, "thread_silent") || (mode_is(c, "thread_fail") && c->threads == 2)) {
        if (mode_is(c, "thread_fail")) {
            strncpy(err, "misbehaving: no second thread", errlen - 1);
            err[errlen - 1] = '\0';
        }
        return NULL;
    }
    return malloc(64);
}

static void m_tdeinit(void *thread)
{
    free(thread);
}

static void m_new(void *t, void *s, void *c)
{
    (void)t;
    (void)c;
    memset(s, 0, 16);
}

static void m_pkt(void *t, void *s, void *c, const ef_pkt_info_t *p)
{
    (void)t;
    (void)c;
    (void)p;
    ((unsigned char *)s)[0]++;
}

static void m_end(void *t, void *s, void *c)
{
    (void)t;
    (void)s;
    (void)c;
}

static uint32_t m_mask(void *c)
{
    (void)c;
    return 1u << 5;
}

static const ef_plugin_t plugin = {
    .abi_version = EF_PLUGIN_ABI_VERSION,
    .name = "misbehaving",
    .version = "0.0.1",
    .init = m_init,
    .deinit = m_deinit,
    .flow_storage_size = m_size,
    .thread_init = m_tinit,
    .thread_deinit = m_tdeinit,
    .flow_new = m_new,
    .packet = m_pkt,
    .flow_end = m_end,
    .k_mask = m_mask,
};

__attribute__((visibility("default"))) const ef_plugin_t *earlyflow_plugin_entry(void);

const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return &plugin;
}
