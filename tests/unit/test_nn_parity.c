/* PyTorch parity: the fixtures in tests/data/parity/ were written by
 * tools/make_parity_fixtures.py (PyTorch 1.13, the seed's module layouts with
 * the per-sample context layer). The C network core must reproduce, from
 * the same weights and inputs:
 *   logits          within 1e-5 relative   (|c - t| <= 1e-5 * max(|t|, 1))
 *   loss            within 1e-5 relative
 *   every gradient  within 1e-4            (|c - t| <= 1e-4 * max(|t|, 1))
 *   3 Adam steps    the 4 losses within 1e-5 relative
 * and the inference path (ef_model_*, both kernels) the same probabilities
 * from raw packet sizes and times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/layout.h"
#include "nn/model.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/safetensors.h"

#ifndef TOL_LOGIT
#define TOL_LOGIT 1e-5
#endif
#ifndef TOL_GRAD
#define TOL_GRAD 1e-4
#endif
#ifndef TOL_LOSS
#define TOL_LOSS 1e-5
#endif

typedef struct fixture {
    unsigned char *buf;
    size_t len;
    ef_st_file_t st;
    ef_net_config_t cfg;
    int B;
    float lr;
} fixture_t;

static int meta_int(const ef_st_file_t *st, const char *key)
{
    const char *v = ef_st_meta_get(st, key);
    ck_assert_msg(v != NULL, "fixture metadata %s missing", key);
    return atoi(v);
}

static void fixture_open(fixture_t *fx, const char *file)
{
    char path[512];
    ef_err_t err = {{0}};
    snprintf(path, sizeof path, "%s/parity/%s", EF_TEST_DATA, file);
    ck_assert_msg(ef_read_whole_file(path, 1 << 22, &fx->buf, &fx->len, &err) == 0, "%s", err.msg);
    ck_assert_msg(ef_st_parse(&fx->st, fx->buf, fx->len, path, &err) == 0, "%s", err.msg);
    int a = ef_arch_from_name(ef_st_meta_get(&fx->st, "arch"));
    ck_assert_int_ge(a, 0);
    fx->cfg = (ef_net_config_t){.arch = (ef_arch_t)a, .k = meta_int(&fx->st, "k"),
                                .features = meta_int(&fx->st, "features"),
                                .hidden = meta_int(&fx->st, "hidden"),
                                .layers = meta_int(&fx->st, "layers"),
                                .context = meta_int(&fx->st, "context"),
                                .classes = meta_int(&fx->st, "classes")};
    fx->B = meta_int(&fx->st, "batch");
    fx->lr = (float)atof(ef_st_meta_get(&fx->st, "lr"));
}

static void fixture_close(fixture_t *fx)
{
    ef_st_release(&fx->st);
    free(fx->buf);
}

/* A fixture tensor as floats (malloc'd), checking its element count. */
static float *get(const fixture_t *fx, const char *name, size_t expect)
{
    const ef_st_tensor_t *t = ef_st_find(&fx->st, name);
    ck_assert_msg(t != NULL, "fixture tensor %s missing", name);
    ck_assert_msg(t->nelem == expect, "fixture tensor %s: %llu elements, expected %zu", name,
                  (unsigned long long)t->nelem, expect);
    float *v = malloc((expect ? expect : 1) * sizeof *v);
    ck_assert(ef_st_read_f32(t, v) == 0);
    return v;
}

static size_t tensor_count(const ef_tensor_info_t *t)
{
    return (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
}

static void load_params(ef_net_t *net, const fixture_t *fx)
{
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        char name[96];
        snprintf(name, sizeof name, "param.%s", t->name);
        float *v = get(fx, name, tensor_count(t));
        memcpy(ef_net_params(net) + t->offset, v, tensor_count(t) * sizeof(float));
        free(v);
    }
}

static void inputs(const fixture_t *fx, float **x, int **n, int **labels, float **weights)
{
    int B = fx->B, K = fx->cfg.classes ? fx->cfg.classes : 1;
    *x = get(fx, "x", (size_t)B * fx->cfg.k * fx->cfg.features);
    float *nf = get(fx, "n", (size_t)B);
    *n = malloc((size_t)B * sizeof(int));
    for (int b = 0; b < B; b++)
        (*n)[b] = (int)nf[b];
    free(nf);
    if (labels) {
        float *lf = get(fx, "labels", (size_t)B);
        *labels = malloc((size_t)B * sizeof(int));
        for (int b = 0; b < B; b++)
            (*labels)[b] = (int)lf[b];
        free(lf);
        *weights = get(fx, "class_weights", (size_t)K);
    }
}

/* Largest |c - t| / max(|t|, 1) over a tensor. */
static double max_rel_err(const float *c, const float *t, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - (double)t[i]) / fmax(fabs((double)t[i]), 1.0);
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

static void check_close(const char *what, const char *arch, const float *c, const float *t,
                        size_t n, double tol)
{
    double e = max_rel_err(c, t, n);
    ck_assert_msg(e <= tol, "%s %s: max error %.3g > %.1g", arch, what, e, tol);
}

static const char *const full_archs[] = {"mlp", "lstm", "bilstm", "seq2seq", "autoenc", "gru",
                                         "bigru"};

/* ---- training path: forward, loss, gradients, Adam ---- */

START_TEST(forward_loss_and_gradients_match_pytorch)
{
    const char *arch = full_archs[_i];
    char file[64];
    snprintf(file, sizeof file, "%s.safetensors", arch);
    fixture_t fx;
    fixture_open(&fx, file);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&fx.cfg, fx.B, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    load_params(net, &fx);
    float *x, *w;
    int *n, *labels;
    inputs(&fx, &x, &n, &labels, &w);
    int B = fx.B, K = fx.cfg.classes;

    ef_net_zero_grad(net);
    float loss = ef_net_forward_backward(net, B, x, n, labels, w);
    float *tloss = get(&fx, "loss", 1);
    check_close("loss", arch, &loss, tloss, 1, TOL_LOSS);
    if (fx.cfg.arch != EF_ARCH_AUTOENC) {
        float *tl = get(&fx, "logits", (size_t)B * K);
        check_close("logits", arch, ef_net_logits(net), tl, (size_t)B * K, TOL_LOGIT);
        free(tl);
    }
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        char name[96];
        snprintf(name, sizeof name, "grad.%s", t->name);
        float *tg = get(&fx, name, tensor_count(t));
        check_close(name, arch, ef_net_grads(net) + t->offset, tg, tensor_count(t), TOL_GRAD);
        free(tg);
    }
    /* the forward-only call gives the same outputs */
    if (fx.cfg.arch == EF_ARCH_AUTOENC) {
        size_t nr = (size_t)B * fx.cfg.k * fx.cfg.features;
        float *recon = malloc(nr * sizeof *recon);
        float *tr = get(&fx, "recon", nr);
        ef_net_forward(net, B, x, n, recon);
        check_close("recon", arch, recon, tr, nr, TOL_LOGIT);
        free(recon);
        free(tr);
    } else {
        float *probs = malloc((size_t)B * K * sizeof *probs);
        ef_net_forward(net, B, x, n, probs);
        for (int b = 0; b < B; b++) {
            double s = 0;
            for (int j = 0; j < K; j++)
                s += probs[b * K + j];
            ck_assert_msg(fabs(s - 1.0) < 1e-5, "%s probabilities of sample %d sum to %g", arch,
                          b, s);
        }
        free(probs);
    }
    free(tloss);
    free(x);
    free(n);
    free(labels);
    free(w);
    ef_net_free(net);
    fixture_close(&fx);
}
END_TEST

START_TEST(three_adam_steps_match_pytorch)
{
    const char *arch = full_archs[_i];
    char file[64];
    snprintf(file, sizeof file, "%s.safetensors", arch);
    fixture_t fx;
    fixture_open(&fx, file);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&fx.cfg, fx.B, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    load_params(net, &fx);
    float *x, *w;
    int *n, *labels;
    inputs(&fx, &x, &n, &labels, &w);
    ef_adam_t *opt = ef_adam_new(ef_net_num_params(net), fx.lr);
    float losses[4];
    for (int s = 0; s < 3; s++) {
        ef_net_zero_grad(net);
        losses[s] = ef_net_forward_backward(net, fx.B, x, n, labels, w);
        ef_adam_step(opt, ef_net_params(net), ef_net_grads(net));
    }
    losses[3] = ef_net_loss(net, fx.B, x, n, labels, w);
    float *t = get(&fx, "adam_losses", 4);
    check_close("adam losses", arch, losses, t, 4, TOL_LOSS);
    /* the steps did change the loss (the comparison is not vacuous) */
    ck_assert_msg(fabsf(losses[3] - losses[0]) > 1e-4f, "%s: Adam steps changed nothing", arch);
    free(t);
    ef_adam_free(opt);
    free(x);
    free(n);
    free(labels);
    free(w);
    ef_net_free(net);
    fixture_close(&fx);
}
END_TEST

/* ---- inference path ---- */

/* Raw inputs that the preprocessing (constants 0..1, see below) maps back to
 * the fixture's x: size = 2^x0, iat = 2^x1 - 1. */
static void raw_from_x(const float *x, int F, int k, float *size, float *iat, uint8_t *dir)
{
    for (int t = 0; t < k; t++) {
        size[t] = (float)exp2((double)x[t * F]);
        iat[t] = (float)(exp2((double)x[t * F + 1]) - 1.0);
        dir[t] = F == 3 ? (uint8_t)(x[t * F + 2] > 0.5f) : 0;
    }
}

static ef_model_t *model_from_net(ef_net_t *net, const char *dir, const char *tag)
{
    const ef_net_config_t *c = ef_net_config(net);
    ef_preproc_t pp = {0.0f, 1.0f, 0.0f, 1.0f, c->features == 3};
    const char *labels[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    char *path = NULL;
    ck_assert(asprintf(&path, "%s/%s.safetensors", dir, tag) > 0);
    ef_err_t err;
    ck_assert_msg(ef_net_save(net, &pp, labels, NULL, 0, path, &err) == 0, "%s", err.msg);
    ef_model_t *m = ef_model_load_file(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    free(path);
    return m;
}

static void check_inference(ef_model_t *m, const float *x, const int *n, const float *logits,
                            int B, int k, int F, int K, const char *what)
{
    ef_model_kernel_t kernels[] = {EF_MODEL_KERNEL_PORTABLE, EF_MODEL_KERNEL_AVX2,
                                   EF_MODEL_KERNEL_AVX512};
    ef_model_batch_path_t paths[] = {EF_MODEL_BATCH_CELLS, EF_MODEL_BATCH_BLAS};
    for (size_t ki = 0; ki < 3; ki++) {
        if (ef_model_set_kernel(m, kernels[ki]) < 0)
            continue; /* a CPU without it: the other kernels are still checked */
        for (size_t pi = 0; pi < 2; pi++) {
            ef_model_set_batch_path(m, paths[pi]);
            ck_assert_int_eq(ef_model_batch_path(m), paths[pi]);
            ef_err_t err;
            ef_model_scratch_t *s = ef_model_scratch_new(m, B, &err);
            ck_assert_msg(s != NULL, "%s", err.msg);
            float *size = malloc((size_t)B * k * sizeof(float));
            float *iat = malloc((size_t)B * k * sizeof(float));
            uint8_t *dir = malloc((size_t)B * k);
            float *probs = malloc((size_t)B * K * sizeof(float));
            float *want = malloc((size_t)K * sizeof(float));
            int *cls = malloc((size_t)B * sizeof(int));
            for (int b = 0; b < B; b++)
                raw_from_x(x + (size_t)b * k * F, F, k, size + b * k, iat + b * k, dir + b * k);
            ck_assert_int_eq(ef_model_predict_batch(m, s, B, size, iat, dir, n, probs, cls), 0);
            for (int b = 0; b < B; b++) {
                /* softmax of PyTorch's logits, in double */
                double mx = logits[b * K], sum = 0;
                for (int j = 1; j < K; j++)
                    mx = fmax(mx, logits[b * K + j]);
                for (int j = 0; j < K; j++)
                    sum += exp(logits[b * K + j] - mx);
                int best = 0;
                for (int j = 0; j < K; j++) {
                    want[j] = (float)(exp(logits[b * K + j] - mx) / sum);
                    if (logits[b * K + j] > logits[b * K + best])
                        best = j;
                }
                char label[128];
                snprintf(label, sizeof label, "%s %s/%s probs of sample %d", what,
                         ef_model_kernel_name(kernels[ki]), pi ? "blas" : "cells", b);
                check_close(label, ef_model_arch(m), probs + b * K, want, (size_t)K, TOL_LOGIT);
                ck_assert_int_eq(cls[b], best);
                /* the single-flow call agrees with the batch call: bit for bit
                 * on the cell path, to float rounding on the BLAS path */
                float one[16];
                ck_assert_int_eq(ef_model_predict(m, s, size + b * k, iat + b * k, dir + b * k,
                                                  n[b], one), best);
                if (pi == 0)
                    ck_assert(memcmp(one, probs + b * K, (size_t)K * sizeof(float)) == 0);
                else
                    check_close(label, "single vs batch", one, probs + b * K, (size_t)K, 1e-6);
            }
            free(size);
            free(iat);
            free(dir);
            free(probs);
            free(want);
            free(cls);
            ef_model_scratch_free(s);
        }
    }
}

START_TEST(inference_path_matches_pytorch)
{
    const char *arch = full_archs[_i];
    if (!strcmp(arch, "autoenc"))
        return; /* not a classifier: refused by ef_model (test_model_file) */
    char file[64];
    snprintf(file, sizeof file, "%s.safetensors", arch);
    fixture_t fx;
    fixture_open(&fx, file);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&fx.cfg, fx.B, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    load_params(net, &fx);
    float *x;
    int *n;
    inputs(&fx, &x, &n, NULL, NULL);
    float *tl = get(&fx, "logits", (size_t)fx.B * fx.cfg.classes);
    char *dir = eft_mkdtemp("parity");
    ef_model_t *m = model_from_net(net, dir, arch);
    check_inference(m, x, n, tl, fx.B, fx.cfg.k, fx.cfg.features, fx.cfg.classes, "small");
    ef_model_free(m);
    eft_rmtree(dir);
    free(dir);
    free(tl);
    free(x);
    free(n);
    ef_net_free(net);
    fixture_close(&fx);
}
END_TEST

/* ---- the seed's dimensions (k=5, H=20, 3 layers), forward only ---- */

/* The fixture script's formula_weights: tensor i, element e:
 * 1.2 / sqrt(fan) * sin(0.731 e + 1.37 i + 0.5), fan = the last dimension of
 * the tensor, or for a bias of the weight named like it ("bias" -> "weight"). */
static int fan_of(ef_net_t *net, const ef_tensor_info_t *t)
{
    if (t->ndim == 2)
        return t->shape[1];
    char name[96];
    const char *b = strstr(t->name, "bias");
    snprintf(name, sizeof name, "%.*sweight%s", (int)(b - t->name), t->name, b + 4);
    for (int i = 0; i < ef_net_num_tensors(net); i++)
        if (!strcmp(ef_net_tensor(net, i)->name, name))
            return ef_net_tensor(net, i)->shape[1];
    ck_abort_msg("no weight for %s", t->name);
    return 1;
}

static void formula_weights(ef_net_t *net)
{
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        int fan = fan_of(net, t);
        double amp = 1.2 / sqrt((double)fan);
        float *p = ef_net_params(net) + t->offset;
        for (size_t e = 0; e < tensor_count(t); e++)
            p[e] = (float)(amp * sin(0.731 * (double)e + 1.37 * i + 0.5));
    }
}

static const char *const seed_archs[] = {"mlp", "lstm", "bilstm", "seq2seq", "gru", "bigru"};

START_TEST(seed_dimensions_match_pytorch)
{
    const char *arch = seed_archs[_i];
    char file[64];
    snprintf(file, sizeof file, "seed_%s.safetensors", arch);
    fixture_t fx;
    fixture_open(&fx, file);
    ck_assert_int_eq(fx.cfg.hidden, 20);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&fx.cfg, fx.B, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    formula_weights(net);
    float *x;
    int *n;
    inputs(&fx, &x, &n, NULL, NULL);
    int K = fx.cfg.classes;
    float *tl = get(&fx, "logits", (size_t)fx.B * K);
    float *probs = malloc((size_t)fx.B * K * sizeof *probs);
    ef_net_forward(net, fx.B, x, n, probs);
    check_close("seed-dims logits", arch, ef_net_logits(net), tl, (size_t)fx.B * K, TOL_LOGIT);
    char *dir = eft_mkdtemp("parity");
    ef_model_t *m = model_from_net(net, dir, arch);
    check_inference(m, x, n, tl, fx.B, fx.cfg.k, fx.cfg.features, K, "seed-dims");
    ef_model_free(m);
    eft_rmtree(dir);
    free(dir);
    free(probs);
    free(tl);
    free(x);
    free(n);
    ef_net_free(net);
    fixture_close(&fx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_parity");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 60);
    int nfull = (int)(sizeof full_archs / sizeof full_archs[0]);
    int nseed = (int)(sizeof seed_archs / sizeof seed_archs[0]);
    tcase_add_loop_test(tc, forward_loss_and_gradients_match_pytorch, 0, nfull);
    tcase_add_loop_test(tc, three_adam_steps_match_pytorch, 0, nfull);
    tcase_add_loop_test(tc, inference_path_matches_pytorch, 0, nfull);
    tcase_add_loop_test(tc, seed_dimensions_match_pytorch, 0, nseed);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
