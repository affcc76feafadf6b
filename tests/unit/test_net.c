/* The training network's contracts: architectures by name, parameter
 * counts (cross-checked against PyTorch's own count for the seed's module
 * layouts), initialisation schemes, bit-identical training from a fixed
 * seed, config validation, variable-length semantics; and the inference
 * API's: no allocation per prediction, one model shared by threads. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/layout.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/rng.h"

/* ---- allocation counting: this executable's malloc family wraps glibc's ----
 * Not under AddressSanitizer, which owns malloc: that build skips the one
 * test that needs the count (the regular build runs it). */
#if defined(__SANITIZE_ADDRESS__)
#define EF_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EF_COUNT_ALLOCS 0
#endif
#endif
#ifndef EF_COUNT_ALLOCS
#define EF_COUNT_ALLOCS 1
#endif

static volatile int counting;
static volatile long allocations;

#if EF_COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n)
{
    if (counting)
        __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (counting)
        __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
#endif

/* ---- architectures and layouts ---- */

START_TEST(architecture_names_round_trip)
{
    for (int a = 0; a < EF_ARCH__COUNT; a++)
        ck_assert_int_eq(ef_arch_from_name(ef_arch_name((ef_arch_t)a)), a);
    ck_assert_int_eq(ef_arch_from_name("LSTM"), -1);
    ck_assert_int_eq(ef_arch_from_name(NULL), -1);
    ck_assert_str_eq(ef_arch_name(EF_ARCH_BIGRU), "bigru");
}
END_TEST

/* sum(p.numel()) and len(list(parameters())) of the PyTorch modules in
 * tools/make_parity_fixtures.py at k=5, hidden 20, 3 layers, context 3,
 * 4 classes (printed by PyTorch 1.13). */
static const struct {
    ef_arch_t arch;
    size_t params;
    int tensors;
} torch_counts[] = {
    {EF_ARCH_MLP, 1144, 8},       {EF_ARCH_LSTM, 8724, 14},  {EF_ARCH_BILSTM, 21664, 30},
    {EF_ARCH_SEQ2SEQ, 10834, 16}, {EF_ARCH_AUTOENC, 21780, 30}, {EF_ARCH_GRU, 6564, 14},
    {EF_ARCH_BIGRU, 14086, 30},
};

START_TEST(parameter_counts_match_pytorch)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, torch_counts[_i].arch, 5, 4);
    ck_assert_int_eq(cfg.hidden, 20);
    ck_assert_int_eq(cfg.layers, 3);
    ck_assert_int_eq(cfg.context, 3);
    ck_assert_int_eq(cfg.features, 2);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, 2, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_uint_eq(ef_net_num_params(net), torch_counts[_i].params);
    ck_assert_int_eq(ef_net_num_tensors(net), torch_counts[_i].tensors);
    /* tensors tile the buffer in order */
    size_t at = 0;
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        ck_assert_uint_eq(t->offset, at);
        at += (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
    }
    ck_assert_uint_eq(at, ef_net_num_params(net));
    ck_assert_ptr_null(ef_net_tensor(net, -1));
    ck_assert_ptr_null(ef_net_tensor(net, ef_net_num_tensors(net)));
    ef_net_free(net);
}
END_TEST

static const struct {
    ef_net_config_t cfg;
    const char *msg;
} bad_cfg[] = {
    {{EF_ARCH_LSTM, 0, 2, 20, 3, 3, 4}, "k 0 out of range 1..20"},
    {{EF_ARCH_LSTM, 21, 2, 20, 3, 3, 4}, "k 21 out of range 1..20"},
    {{EF_ARCH_LSTM, 5, 4, 20, 3, 3, 4}, "features 4 out of range 2..3"},
    {{EF_ARCH_LSTM, 5, 2, 0, 3, 3, 4}, "hidden 0 out of range 1..256"},
    {{EF_ARCH_LSTM, 5, 2, 20, 9, 3, 4}, "layers 9 out of range 1..8"},
    {{EF_ARCH_BILSTM, 5, 2, 20, 3, 65, 4}, "context 65 out of range 1..64"},
    {{EF_ARCH_MLP, 5, 2, 20, 3, 3, 1}, "classes 1 out of range 2..64"},
    {{EF_ARCH_AUTOENC, 5, 2, 20, 3, 3, 4}, "classes 4: the autoencoder has no classes (0)"},
    {{(ef_arch_t)42, 5, 2, 20, 3, 3, 4}, "unknown architecture 42"},
};

START_TEST(bad_configs_are_refused)
{
    ef_err_t err;
    ck_assert_ptr_null(ef_net_new(&bad_cfg[_i].cfg, 4, &err));
    ck_assert_str_eq(err.msg, bad_cfg[_i].msg);
}
END_TEST

START_TEST(bad_batch_size_is_refused)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, EF_ARCH_LSTM, 5, 4);
    ef_err_t err;
    ck_assert_ptr_null(ef_net_new(&cfg, 0, &err));
    ck_assert_str_eq(err.msg, "max_batch 0 out of range 1..65536");
}
END_TEST

/* ---- initialisation ---- */

START_TEST(init_schemes_follow_their_definitions)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, EF_ARCH_BILSTM, 5, 4);
    ef_net_t *net = ef_net_new(&cfg, 1, NULL);
    ef_net_init(net, EF_INIT_TORCH, 1);
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        size_t n = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        /* PyTorch: RNN U(+-1/sqrt(H)); Linear U(+-1/sqrt(fan_in)) */
        double bound = strstr(t->name, ".rnn.") ? 1.0 / sqrt(20.0)
                     : !strncmp(t->name, "mlp", 3) ? 1.0 / sqrt(120.0) : 1.0 / sqrt(6.0);
        double lo = 1, hi = -1, sum = 0;
        for (size_t j = 0; j < n; j++) {
            double v = ef_net_params(net)[t->offset + j];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
            sum += v;
        }
        ck_assert_msg(lo >= -bound && hi <= bound, "%s outside +-%g: [%g, %g]", t->name, bound,
                      lo, hi);
        if (n >= 1000) /* spread over the range, centred */
            ck_assert_msg(hi - lo > 1.9 * bound && fabs(sum / (double)n) < 0.1 * bound, "%s",
                          t->name);
    }
    ef_net_init(net, EF_INIT_SEED_UNIFORM, 1);
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        size_t n = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        double sum = 0;
        for (size_t j = 0; j < n; j++) {
            float v = ef_net_params(net)[t->offset + j];
            if (t->ndim == 1)
                ck_assert_msg(v == 0.0f, "%s: bias not 0", t->name);
            else
                ck_assert_msg(v >= 0.0f && v < 1.0f, "%s: %g not in [0,1)", t->name, v);
            sum += v;
        }
        if (t->ndim == 2 && n >= 1000)
            ck_assert(fabs(sum / (double)n - 0.5) < 0.05);
    }
    ef_net_free(net);
}
END_TEST

/* ---- determinism ---- */

static void train(ef_net_t *net, uint64_t seed, int steps)
{
    ef_net_init(net, EF_INIT_TORCH, seed);
    ef_adam_t *opt = ef_adam_new(ef_net_num_params(net), 1e-2f);
    ef_rng_t r;
    ef_rng_seed(&r, 77);
    float x[8 * 5 * 2];
    int n[8], y[8];
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 80; i++)
            x[i] = ef_rng_uniform(&r);
        for (int b = 0; b < 8; b++) {
            n[b] = 1 + (int)ef_rng_below(&r, 5);
            y[b] = (int)ef_rng_below(&r, 4);
        }
        ef_net_zero_grad(net);
        ef_net_forward_backward(net, 8, x, n, y, NULL);
        ef_adam_step(opt, ef_net_params(net), ef_net_grads(net));
    }
    ef_adam_free(opt);
}

START_TEST(fixed_seed_gives_bit_identical_training)
{
    ef_arch_t arch = (ef_arch_t)_i;
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, arch, 5, 4);
    ef_net_t *a = ef_net_new(&cfg, 8, NULL), *b = ef_net_new(&cfg, 8, NULL);
    train(a, 5, 20);
    train(b, 5, 20);
    size_t np = ef_net_num_params(a);
    ck_assert(memcmp(ef_net_params(a), ef_net_params(b), np * sizeof(float)) == 0);
    train(b, 6, 20);
    ck_assert(memcmp(ef_net_params(a), ef_net_params(b), np * sizeof(float)) != 0);
    ef_net_free(a);
    ef_net_free(b);
}
END_TEST

/* ---- variable length ---- */

/* A recurrent model sees only the first n steps: whatever follows them in
 * the buffer does not change its output; the MLP sees zeros there. */
START_TEST(steps_after_n_do_not_matter)
{
    ef_arch_t arch = (ef_arch_t)_i;
    if (arch == EF_ARCH_AUTOENC)
        return;
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, arch, 5, 4);
    ef_net_t *net = ef_net_new(&cfg, 2, NULL);
    ef_net_init(net, EF_INIT_TORCH, 3);
    float x[2 * 5 * 2];
    for (int i = 0; i < 20; i++)
        x[i] = 0.1f * (float)(i % 7);
    memcpy(x + 10, x, 10 * sizeof(float));
    for (int i = 16; i < 20; i++) /* sample 1: different steps 3 and 4 */
        x[i] = 0.9f;
    int n[2] = {3, 3};
    float p[8];
    ef_net_forward(net, 2, x, n, p);
    for (int j = 0; j < 4; j++)
        ck_assert_msg(p[j] == p[4 + j], "%s: class %d %g vs %g", ef_arch_name(arch), j, p[j],
                      p[4 + j]);
    /* and the same flow with n = 5 differs */
    int n5[2] = {3, 5};
    ef_net_forward(net, 2, x, n5, p);
    ck_assert(memcmp(p, p + 4, 4 * sizeof(float)) != 0);
    ef_net_free(net);
}
END_TEST

/* ---- inference API ---- */

static ef_model_t *saved_model(ef_arch_t arch, char **dirp)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, arch, 5, 4);
    ef_net_t *net = ef_net_new(&cfg, 1, NULL);
    ef_net_init(net, EF_INIT_TORCH, 9);
    ef_preproc_t pp = {5.3f, 10.5f, 0.0f, 2.0f, 0};
    const char *labels[] = {"Unlabeled", "HTTP", "Alpha", "Multi"};
    *dirp = eft_mkdtemp("net");
    char *path = eft_path(*dirp, "m.safetensors");
    ef_err_t err;
    ck_assert(ef_net_save(net, &pp, labels, NULL, 0, path, &err) == 0);
    ef_model_t *m = ef_model_load_file(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    free(path);
    ef_net_free(net);
    return m;
}

static void flows(float *size, float *iat, uint8_t *dir, int *n, int count)
{
    ef_rng_t r;
    ef_rng_seed(&r, 1234);
    for (int i = 0; i < count * 5; i++) {
        size[i] = 40.0f + (float)ef_rng_below(&r, 1460);
        iat[i] = ef_rng_uniform(&r);
        dir[i] = (uint8_t)(ef_rng_next(&r) & 1);
    }
    for (int b = 0; b < count; b++)
        n[b] = 1 + (int)ef_rng_below(&r, 5);
}

START_TEST(predicting_allocates_nothing)
{
    static const ef_arch_t archs[] = {EF_ARCH_MLP, EF_ARCH_LSTM, EF_ARCH_BILSTM, EF_ARCH_SEQ2SEQ,
                                      EF_ARCH_GRU, EF_ARCH_BIGRU};
    char *dir;
    ef_model_t *m = saved_model(archs[_i], &dir);
    enum { N = 64 };
    float size[N * 5], iat[N * 5], probs[N * 4];
    uint8_t d[N * 5];
    int n[N], cls[N];
    flows(size, iat, d, n, N);
    for (int p = EF_MODEL_BATCH_CELLS; p <= EF_MODEL_BATCH_BLAS; p++) {
        ef_model_set_batch_path(m, (ef_model_batch_path_t)p);
        ef_model_scratch_t *s = ef_model_scratch_new(m, N, NULL);
        /* warm-up: OpenBLAS sets up its buffers on first use */
        ef_model_predict_batch(m, s, N, size, iat, d, n, probs, cls);
        allocations = 0;
        counting = 1;
        for (int rep = 0; rep < 20; rep++) {
            for (int b = 0; b < N; b++)
                ef_model_predict(m, s, size + 5 * b, iat + 5 * b, d + 5 * b, n[b], probs);
            ef_model_predict_batch(m, s, N, size, iat, d, n, probs, cls);
        }
        counting = 0;
        ck_assert_msg(allocations == 0, "%s: %ld allocations in 1300 predictions (path %d)",
                      ef_model_arch(m), allocations, p);
        ef_model_scratch_free(s);
    }
    ef_model_free(m);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

typedef struct worker {
    const ef_model_t *m;
    const float *size, *iat;
    const uint8_t *d;
    const int *n;
    float probs[256 * 4];
    int ok;
} worker_t;

static void *work(void *p)
{
    worker_t *w = p;
    ef_model_scratch_t *s = ef_model_scratch_new(w->m, 1, NULL);
    w->ok = s != NULL;
    for (int rep = 0; rep < 20 && s; rep++)
        for (int b = 0; b < 256; b++)
            ef_model_predict(w->m, s, w->size + 5 * b, w->iat + 5 * b, w->d + 5 * b, w->n[b],
                             w->probs + 4 * b);
    ef_model_scratch_free(s);
    return NULL;
}

START_TEST(one_model_shared_by_threads)
{
    char *dir;
    ef_model_t *m = saved_model(EF_ARCH_BILSTM, &dir);
    enum { N = 256, T = 4 };
    static float size[N * 5], iat[N * 5], want[N * 4];
    static uint8_t d[N * 5];
    static int n[N];
    flows(size, iat, d, n, N);
    ef_model_scratch_t *s = ef_model_scratch_new(m, 1, NULL);
    for (int b = 0; b < N; b++)
        ef_model_predict(m, s, size + 5 * b, iat + 5 * b, d + 5 * b, n[b], want + 4 * b);
    ef_model_scratch_free(s);
    pthread_t th[T];
    worker_t *w = calloc(T, sizeof *w);
    for (int t = 0; t < T; t++) {
        w[t] = (worker_t){.m = m, .size = size, .iat = iat, .d = d, .n = n};
        pthread_create(&th[t], NULL, work, &w[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        ck_assert(w[t].ok);
        ck_assert(memcmp(w[t].probs, want, sizeof want) == 0);
    }
    free(w);
    ef_model_free(m);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, architecture_names_round_trip);
    tcase_add_loop_test(tc, parameter_counts_match_pytorch, 0,
                        (int)(sizeof torch_counts / sizeof torch_counts[0]));
    tcase_add_loop_test(tc, bad_configs_are_refused, 0, (int)(sizeof bad_cfg / sizeof bad_cfg[0]));
    tcase_add_test(tc, bad_batch_size_is_refused);
    tcase_add_test(tc, init_schemes_follow_their_definitions);
    tcase_add_loop_test(tc, fixed_seed_gives_bit_identical_training, 0, EF_ARCH__COUNT);
    tcase_add_loop_test(tc, steps_after_n_do_not_matter, 0, EF_ARCH__COUNT);
    if (EF_COUNT_ALLOCS)
        tcase_add_loop_test(tc, predicting_allocates_nothing, 0, 6);
    tcase_add_test(tc, one_model_shared_by_threads);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
