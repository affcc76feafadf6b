/* The early-decision engine (see engine.h). */
#include "ids/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin_models.h"
#include "nn/model.h"

/* One model per k the engine decides at. Several k may share a file name but
 * each gets its own loaded copy: models are small (tens of KB) and this keeps
 * ownership trivial. */
struct ef_engine {
    uint32_t k_mask;
    ef_model_t *model[EF_K_MAX + 1];
    int max_classes;
};

struct ef_engine_thread {
    const ef_engine_t *engine;
    ef_model_scratch_t *scratch[EF_K_MAX + 1];
    float *probs;
};

int ef_engine_parse_k_list(const char *s, uint32_t *mask, ef_err_t *err)
{
    uint32_t m = 0;
    const char *p = s;
    if (!s || !*s)
        return ef_err_set(err, "empty k list: expected values among 3, 5, 10, 20");
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || k < 1 || k > EF_K_MAX || !((EF_ENGINE_K_VALID_MASK >> k) & 1u))
            return ef_err_set(err, "k list '%s': expected 3, 5, 10 or 20 at column %d", s,
                              (int)(p - s) + 1);
        m |= 1u << k;
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            return ef_err_set(err, "k list '%s': expected ',' at column %d", s,
                              (int)(p - s) + 1);
    }
    *mask = m;
    return 0;
}

static ef_model_t *load_builtin(int k, ef_err_t *err)
{
    char name[32];
    snprintf(name, sizeof name, "builtin_k%d", k);
    for (size_t i = 0; i < ef_builtin_models_count; i++)
        if (!strcmp(ef_builtin_models[i].name, name))
            return ef_model_load_mem(ef_builtin_models[i].data, ef_builtin_models[i].len, name,
                                     err);
    ef_err_set(err, "no built-in model for k=%d (this build has %zu built-in models)", k,
               ef_builtin_models_count);
    return NULL;
}

/* A model file decides at k when it was trained for exactly that k: a
 * k=5 model cannot see a 10th packet, and running it on a prefix would
 * silently answer a different question. */
static ef_model_t *load_for_k(const ef_engine_config_t *cfg, int k, ef_err_t *err)
{
    const char *path = cfg->model_for_k[k] ? cfg->model_for_k[k] : cfg->model;
    ef_model_t *m;
    if (!path || !strcmp(path, "builtin"))
        return load_builtin(k, err);
    m = ef_model_load_file(path, err);
    if (!m)
        return NULL;
    if (ef_model_k(m) != k) {
        ef_err_set(err, "%s: model was trained for k=%d but is configured to decide at k=%d "
                        "(set earlyflow.models.%d to a k=%d model)",
                   path, ef_model_k(m), k, k, k);
        ef_model_free(m);
        return NULL;
    }
    return m;
}

ef_engine_t *ef_engine_new(const ef_engine_config_t *cfg, ef_err_t *err)
{
    ef_engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    e->k_mask = cfg->k_mask ? cfg->k_mask : (1u << 5);
    if (e->k_mask & ~EF_ENGINE_K_VALID_MASK) {
        ef_err_set(err, "k must be among 3, 5, 10, 20");
        free(e);
        return NULL;
    }
    for (int k = 1; k <= EF_K_MAX; k++) {
        if (!((e->k_mask >> k) & 1u))
            continue;
        e->model[k] = load_for_k(cfg, k, err);
        if (!e->model[k]) {
            ef_engine_free(e);
            return NULL;
        }
        if (ef_model_num_classes(e->model[k]) > e->max_classes)
            e->max_classes = ef_model_num_classes(e->model[k]);
    }
    return e;
}

void ef_engine_free(ef_engine_t *e)
{
    if (!e)
        return;
    for (int k = 0; k <= EF_K_MAX; k++)
        ef_model_free(e->model[k]);
    free(e);
}

uint32_t ef_engine_k_mask(const ef_engine_t *e)
{
    return e->k_mask;
}

const char *ef_engine_model_name(const ef_engine_t *e, int k)
{
    if (k < 0 || k > EF_K_MAX || !e->model[k])
        return NULL;
    return ef_model_name(e->model[k]);
}

ef_engine_thread_t *ef_engine_thread_new(const ef_engine_t *e, ef_err_t *err)
{
    ef_engine_thread_t *t = calloc(1, sizeof *t);
    if (!t) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    t->engine = e;
    t->probs = calloc((size_t)(e->max_classes > 0 ? e->max_classes : 1), sizeof(float));
    if (!t->probs) {
        ef_err_set(err, "out of memory");
        ef_engine_thread_free(t);
        return NULL;
    }
    for (int k = 0; k <= EF_K_MAX; k++) {
        if (!e->model[k])
            continue;
        t->scratch[k] = ef_model_scratch_new(e->model[k], 1, err);
        if (!t->scratch[k]) {
            ef_engine_thread_free(t);
            return NULL;
        }
    }
    return t;
}

void ef_engine_thread_free(ef_engine_thread_t *t)
{
    if (!t)
        return;
    for (int k = 0; k <= EF_K_MAX; k++)
        ef_model_scratch_free(t->scratch[k]);
    free(t->probs);
    free(t);
}

void ef_engine_flow_init(ef_engine_flow_t *f)
{
    memset(f, 0, sizeof *f);
}

static void decide(ef_engine_thread_t *t, ef_engine_flow_t *f, int k, int at_end,
                   ef_engine_verdict_fn fn, void *user)
{
    const ef_model_t *m = t->engine->model[k];
    int n = f->feat.n < k ? f->feat.n : k;
    int c = ef_model_predict_features(m, t->scratch[k], &f->feat, n, t->probs);
    f->decided_mask |= 1u << k;
    if (c < 0)
        return;
    ef_verdict_t v = {
        .label = ef_model_labels(m)[c],
        .score = t->probs[c],
        .k = k,
        .packets = n,
        .at_flow_end = at_end,
        .model = ef_model_name(m),
        .n_classes = ef_model_num_classes(m),
        .class_labels = ef_model_labels(m),
        .probs = t->probs,
    };
    fn(user, &v);
}

int ef_engine_packet(ef_engine_thread_t *t, ef_engine_flow_t *f, uint64_t ts_us,
                     uint16_t ip_len, int to_server, ef_engine_verdict_fn fn, void *user)
{
    if (f->feat.n >= EF_K_MAX)
        return 0;
    int n = ef_features_add(&f->feat, ts_us, ip_len, to_server);
    if (!((t->engine->k_mask >> n) & 1u) || ((f->decided_mask >> n) & 1u))
        return 0;
    decide(t, f, n, 0, fn, user);
    return 1;
}

int ef_engine_flow_end(ef_engine_thread_t *t, ef_engine_flow_t *f, ef_engine_verdict_fn fn,
                       void *user)
{
    int emitted = 0;
    if (f->feat.n == 0)
        return 0;
    uint32_t pending = t->engine->k_mask & ~f->decided_mask;
    for (int k = f->feat.n + 1; k <= EF_K_MAX; k++) {
        if (!((pending >> k) & 1u))
            continue;
        decide(t, f, k, 1, fn, user);
        emitted++;
    }
    return emitted;
}
