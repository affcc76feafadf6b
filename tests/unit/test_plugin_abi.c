/* earlyflow.so through its hook ABI, the way a third-party host uses it:
 * dlopen the built plugin, look up the one entry symbol, check the ABI
 * version, give it a minimal host API (conf_get from a small table, log,
 * verdict), drive flows and check the verdicts, run two worker threads with
 * their own thread contexts, and check that init refuses a host of another
 * ABI version and bad configuration with a message. Nothing here links the
 * engine: only earlyflow_plugin.h and dlopen. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "earlyflow_plugin.h"
#include "eftest.h"

#define STEER(k) EF_TEST_DATA "/host/steer_k" #k ".safetensors"
#define GUARD 64

/* ---- a minimal host ----------------------------------------------------------- */

typedef struct conf_entry {
    const char *key, *value;
} conf_entry_t;

typedef struct host {
    const conf_entry_t *conf;
    char asked[32][48]; /* keys the plugin asked for */
    int n_asked;
    char log[8][256];
    int n_log;
} host_t;

/* What a worker thread of the host knows; the verdict hook gets it back. */
typedef struct worker {
    int id;
    const void *cookie_in_packet; /* the flow being handed to the plugin */
    int packet_no;                /* its packet number (1-based), 0 at flow end */
    int in_hook;
    int n;
    struct {
        const void *cookie;
        char label[32];
        int k, packets, at_end, during_packet_no;
        float score, sum;
    } v[64];
    int errors;
} worker_t;

static const char *conf_get(void *h, const char *key)
{
    host_t *host = h;
    if (host->n_asked < 32)
        snprintf(host->asked[host->n_asked++], sizeof host->asked[0], "%s", key);
    for (const conf_entry_t *e = host->conf; e && e->key; e++)
        if (!strcmp(e->key, key))
            return e->value;
    return NULL;
}

static void log_msg(void *h, int level, const char *msg)
{
    host_t *host = h;
    (void)level;
    if (host->n_log < 8)
        snprintf(host->log[host->n_log++], sizeof host->log[0], "%s", msg);
}

static void on_verdict(void *host_thread, void *cookie, const ef_verdict_t *v)
{
    worker_t *w = host_thread;
    /* synchronous, from inside a hook of this worker, for the flow in hand */
    if (!w->in_hook || cookie != w->cookie_in_packet || w->n >= 64) {
        w->errors++;
        return;
    }
    w->v[w->n].cookie = cookie;
    snprintf(w->v[w->n].label, sizeof w->v[0].label, "%s", v->label);
    w->v[w->n].k = v->k;
    w->v[w->n].packets = v->packets;
    w->v[w->n].at_end = v->at_flow_end;
    w->v[w->n].during_packet_no = w->packet_no;
    w->v[w->n].score = v->score;
    float sum = 0;
    for (int c = 0; c < v->n_classes; c++)
        sum += v->probs[c];
    w->v[w->n].sum = sum;
    w->n++;
}

typedef struct plugin {
    void *dl;
    const ef_plugin_t *p;
} plugin_t;

static plugin_t load(void)
{
    plugin_t pl;
    pl.dl = dlopen(eft_plugin(), RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(pl.dl != NULL, "dlopen %s: %s", eft_plugin(), dlerror());
    void *sym = dlsym(pl.dl, EF_PLUGIN_ENTRY_SYMBOL);
    ck_assert_msg(sym != NULL, "no %s", EF_PLUGIN_ENTRY_SYMBOL);
    /* The library inside stays inside: a host's own ef_* symbols (or another
     * copy of earlyflow) can never be bound to the plugin's. */
    ck_assert_msg(dlsym(pl.dl, "ef_engine_new") == NULL, "earlyflow.so exports ef_engine_new");
    ck_assert_msg(dlsym(pl.dl, "ef_model_predict") == NULL, "earlyflow.so exports ef_model_predict");
    ef_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    pl.p = entry();
    ck_assert_ptr_nonnull(pl.p);
    return pl;
}

static ef_host_api_t api_for(host_t *h)
{
    ef_host_api_t api = {
        .abi_version = EF_PLUGIN_ABI_VERSION,
        .host = h,
        .conf_get = conf_get,
        .log = log_msg,
        .verdict = on_verdict,
    };
    return api;
}

/* One flow of `n` packets through the plugin: storage from malloc, filled
 * with garbage (a host zeroes nothing) and guarded on both sides. */
static void drive_flow(const ef_plugin_t *p, void *th, worker_t *w, size_t size, int n,
                       uint16_t first_size, const void *cookie)
{
    unsigned char *mem = malloc(size + 2 * GUARD);
    memset(mem, 0xA5, size + 2 * GUARD);
    void *storage = mem + GUARD;
    p->flow_new(th, storage, (void *)cookie);
    w->cookie_in_packet = cookie;
    w->in_hook = 1;
    for (int i = 1; i <= n; i++) {
        ef_pkt_info_t pkt = {
            .ts_us = 1000000u + 1000u * (unsigned)i,
            .ip_len = i == 1 ? first_size : 1500,
            .to_server = (uint8_t)(i % 2),
            .proto = 17,
        };
        w->packet_no = i;
        p->packet(th, storage, (void *)cookie, &pkt);
    }
    w->packet_no = 0;
    p->flow_end(th, storage, (void *)cookie);
    w->in_hook = 0;
    for (int i = 0; i < GUARD; i++) {
        ck_assert_uint_eq(mem[i], 0xA5);
        ck_assert_uint_eq(mem[GUARD + size + i], 0xA5);
    }
    free(mem);
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(registration)
{
    plugin_t pl = load();
    ck_assert_uint_eq(pl.p->abi_version, EF_PLUGIN_ABI_VERSION);
    ck_assert_str_eq(pl.p->name, "earlyflow");
    ck_assert_ptr_nonnull(pl.p->version);
    ck_assert_int_gt((int)strlen(pl.p->version), 0);
    ck_assert(pl.p->init && pl.p->deinit && pl.p->flow_storage_size && pl.p->thread_init &&
              pl.p->thread_deinit && pl.p->flow_new && pl.p->packet && pl.p->flow_end &&
              pl.p->k_mask);
    dlclose(pl.dl);
}
END_TEST

START_TEST(defaults_decide_at_5_with_builtin)
{
    plugin_t pl = load();
    host_t h = {0};
    ef_host_api_t api = api_for(&h);
    char err[256] = "";
    void *ctx = pl.p->init(&api, err, sizeof err);
    ck_assert_msg(ctx != NULL, "init: %s", err);
    ck_assert_uint_eq(pl.p->k_mask(ctx), 1u << 5);
    /* it read its keys through conf_get */
    int model = 0, k = 0, per_k = 0;
    for (int i = 0; i < h.n_asked; i++) {
        model += !strcmp(h.asked[i], "earlyflow.model");
        k += !strcmp(h.asked[i], "earlyflow.k");
        per_k += !strcmp(h.asked[i], "earlyflow.models.5");
    }
    ck_assert(model == 1 && k == 1 && per_k == 1);
    /* and said which model decides */
    ck_assert_int_ge(h.n_log, 1);
    ck_assert_ptr_nonnull(strstr(h.log[0], "k=5"));
    ck_assert_ptr_nonnull(strstr(h.log[0], "builtin_k5"));

    size_t size = pl.p->flow_storage_size(ctx);
    ck_assert_uint_gt(size, 0);
    ck_assert_uint_le(size, 1024);
    worker_t *w = calloc(1, sizeof *w);
    void *th = pl.p->thread_init(ctx, w, err, sizeof err);
    ck_assert_msg(th != NULL, "thread_init: %s", err);
    int cookie1, cookie2;
    drive_flow(pl.p, th, w, size, 7, 60, &cookie1);
    drive_flow(pl.p, th, w, size, 2, 60, &cookie2);
    ck_assert_int_eq(w->errors, 0);
    ck_assert_int_eq(w->n, 2);
    ck_assert_ptr_eq(w->v[0].cookie, &cookie1);
    ck_assert_int_eq(w->v[0].k, 5);
    ck_assert_int_eq(w->v[0].during_packet_no, 5); /* while the 5th packet was handled */
    ck_assert_int_eq(w->v[0].packets, 5);
    ck_assert_int_eq(w->v[0].at_end, 0);
    ck_assert_ptr_eq(w->v[1].cookie, &cookie2);
    ck_assert_int_eq(w->v[1].during_packet_no, 0); /* in flow_end */
    ck_assert_int_eq(w->v[1].packets, 2);
    ck_assert_int_eq(w->v[1].at_end, 1);
    for (int i = 0; i < 2; i++) {
        ck_assert_float_eq_tol(w->v[i].sum, 1.0f, 1e-5f);
        ck_assert(w->v[i].score > 0.0f && w->v[i].score <= 1.0f);
    }
    pl.p->thread_deinit(th);
    pl.p->deinit(ctx);
    dlclose(pl.dl);
    free(w);
}
END_TEST

/* ---- two worker threads ----------------------------------------------------------- */

typedef struct thread_job {
    const ef_plugin_t *p;
    void *ctx;
    size_t size;
    worker_t w;
    void *th;
    int flows[40];
    char err[256];
} thread_job_t;

static const uint16_t first_sizes[] = {40, 60, 100, 160, 250, 400, 640, 1000, 1400, 1900};
static const char *const labels[] = {"NetworkScan", "PortScan", "DoS",        "HTTP",  "Unlabeled",
                                     "Multi",       "Alpha",    "IPv6Tunnel", "Other", "Unknown"};

static void *worker_main(void *arg)
{
    thread_job_t *j = arg;
    j->th = j->p->thread_init(j->ctx, &j->w, j->err, sizeof j->err);
    if (!j->th)
        return NULL;
    for (int round = 0; round < 50; round++) {
        j->w.n = 0;
        /* 10 flows of 3 packets (k=3 on the 3rd) and 10 of 2 (at the end) */
        for (int f = 0; f < 20; f++)
            drive_flow(j->p, j->th, &j->w, j->size, f < 10 ? 3 : 2, first_sizes[(f + j->w.id) % 10],
                       &j->flows[f]);
        for (int f = 0; f < 20; f++) {
            if (j->w.v[f].cookie != &j->flows[f] ||
                strcmp(j->w.v[f].label, labels[(f + j->w.id) % 10]) ||
                j->w.v[f].at_end != (f >= 10) || j->w.v[f].k != 3)
                j->w.errors++;
        }
        if (j->w.n != 20)
            j->w.errors++;
    }
    j->p->thread_deinit(j->th);
    return NULL;
}

START_TEST(two_threads)
{
    plugin_t pl = load();
    static const conf_entry_t conf[] = {
        {"earlyflow.k", "3"},
        {"earlyflow.model", STEER(3)},
        {NULL, NULL},
    };
    host_t h = {.conf = conf};
    ef_host_api_t api = api_for(&h);
    char err[256] = "";
    void *ctx = pl.p->init(&api, err, sizeof err);
    ck_assert_msg(ctx != NULL, "init: %s", err);
    ck_assert_uint_eq(pl.p->k_mask(ctx), 1u << 3);
    thread_job_t *jobs = calloc(2, sizeof *jobs);
    pthread_t tid[2];
    for (int i = 0; i < 2; i++) {
        jobs[i].p = pl.p;
        jobs[i].ctx = ctx;
        jobs[i].size = pl.p->flow_storage_size(ctx);
        jobs[i].w.id = i + 3;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(tid[i], NULL);
        ck_assert_msg(jobs[i].th != NULL, "thread_init: %s", jobs[i].err);
        ck_assert_int_eq(jobs[i].w.errors, 0);
    }
    free(jobs);
    pl.p->deinit(ctx);
    dlclose(pl.dl);
}
END_TEST

/* ---- init refuses ------------------------------------------------------------------ */

START_TEST(init_refuses_another_abi)
{
    plugin_t pl = load();
    host_t h = {0};
    ef_host_api_t api = api_for(&h);
    char err[256] = "";
    api.abi_version = EF_PLUGIN_ABI_VERSION + 1;
    ck_assert_ptr_null(pl.p->init(&api, err, sizeof err));
    char want[96];
    snprintf(want, sizeof want, "host ABI version %u, plugin needs %u", EF_PLUGIN_ABI_VERSION + 1,
             EF_PLUGIN_ABI_VERSION);
    ck_assert_msg(strstr(err, want), "%s", err);
    ck_assert_int_eq(h.n_asked, 0); /* refused before reading anything */

    api = api_for(&h);
    api.verdict = NULL; /* a host without a verdict hook cannot use it */
    err[0] = '\0';
    ck_assert_ptr_null(pl.p->init(&api, err, sizeof err));
    ck_assert_int_gt((int)strlen(err), 0);

    api = api_for(&h);
    api.conf_get = NULL;
    err[0] = '\0';
    ck_assert_ptr_null(pl.p->init(&api, err, sizeof err));
    ck_assert_int_gt((int)strlen(err), 0);

    err[0] = '\0';
    ck_assert_ptr_null(pl.p->init(NULL, err, sizeof err));
    ck_assert_int_gt((int)strlen(err), 0);
    dlclose(pl.dl);
}
END_TEST

START_TEST(init_refuses_bad_config)
{
    plugin_t pl = load();
    static const conf_entry_t bad_k[] = {{"earlyflow.k", "5,7"}, {NULL, NULL}};
    static const conf_entry_t no_file[] = {{"earlyflow.model", "/nonexistent/m.safetensors"},
                                           {NULL, NULL}};
    static const conf_entry_t wrong_k[] = {{"earlyflow.k", "10"},
                                           {"earlyflow.models.10", STEER(5)},
                                           {NULL, NULL}};
    struct {
        const conf_entry_t *conf;
        const char *needle;
    } cases[] = {
        {bad_k, "earlyflow.k"},
        {no_file, "/nonexistent/m.safetensors"},
        {wrong_k, "k=10"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        host_t h = {.conf = cases[i].conf};
        ef_host_api_t api = api_for(&h);
        char err[512] = "";
        ck_assert_ptr_null(pl.p->init(&api, err, sizeof err));
        ck_assert_msg(strstr(err, cases[i].needle) && !strncmp(err, "earlyflow: ", 11),
                      "case %zu: %s", i, err);
    }
    /* a tiny error buffer is not overrun */
    host_t h = {.conf = bad_k};
    ef_host_api_t api = api_for(&h);
    char small[8 + 8];
    memset(small, 'x', sizeof small);
    ck_assert_ptr_null(pl.p->init(&api, small, 8));
    ck_assert_uint_eq(strlen(small), 7);
    for (size_t i = 8; i < sizeof small; i++)
        ck_assert_int_eq(small[i], 'x');
    dlclose(pl.dl);
}
END_TEST

/* Per-k model paths through conf_get; k values the plugin reports. */
START_TEST(per_k_models_from_conf)
{
    plugin_t pl = load();
    static const conf_entry_t conf[] = {
        {"earlyflow.k", "3,5,20"},
        {"earlyflow.models.3", STEER(3)},
        {"earlyflow.models.20", STEER(20)},
        {NULL, NULL},
    };
    host_t h = {.conf = conf};
    ef_host_api_t api = api_for(&h);
    char err[256] = "";
    void *ctx = pl.p->init(&api, err, sizeof err);
    ck_assert_msg(ctx != NULL, "init: %s", err);
    ck_assert_uint_eq(pl.p->k_mask(ctx), (1u << 3) | (1u << 5) | (1u << 20));
    int seen = 0;
    for (int i = 0; i < h.n_log; i++)
        seen += (strstr(h.log[i], "k=3 with model steer_k3") != NULL) +
                (strstr(h.log[i], "k=5 with model builtin_k5") != NULL) +
                (strstr(h.log[i], "k=20 with model steer_k20") != NULL);
    ck_assert_int_eq(seen, 3);
    worker_t *w = calloc(1, sizeof *w);
    void *th = pl.p->thread_init(ctx, w, err, sizeof err);
    int cookie;
    drive_flow(pl.p, th, w, pl.p->flow_storage_size(ctx), 25, 400, &cookie);
    ck_assert_int_eq(w->errors, 0);
    ck_assert_int_eq(w->n, 3);
    ck_assert_int_eq(w->v[0].during_packet_no, 3);
    ck_assert_str_eq(w->v[0].label, "Multi");
    ck_assert_int_eq(w->v[1].during_packet_no, 5);
    ck_assert_int_eq(w->v[2].during_packet_no, 20);
    ck_assert_str_eq(w->v[2].label, "Multi");
    pl.p->thread_deinit(th);
    pl.p->deinit(ctx);
    dlclose(pl.dl);
    free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plugin_abi");
    TCase *tc = tcase_create("abi");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, registration);
    tcase_add_test(tc, defaults_decide_at_5_with_builtin);
    tcase_add_test(tc, two_threads);
    tcase_add_test(tc, init_refuses_another_abi);
    tcase_add_test(tc, init_refuses_bad_config);
    tcase_add_test(tc, per_k_models_from_conf);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
