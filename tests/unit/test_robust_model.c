/* Robustness regressions found by fuzzing the model loader (fuzz/fuzz_model.c).
 *
 * Finding 1 (fuzz_model, first run): a model file whose weights are finite
 * but huge (the fuzzer wrote 2.83e38 into mlp2.fc1.weight of the then
 * built-in k=20 BI LSTM) passes the loader's finiteness check, yet its logits overflow
 * to +-inf and the softmax turned them into NaN probabilities: verdicts with
 * a NaN score and an arbitrary label. The softmax now always yields a
 * distribution (nn/ops.h); these tests hold it to that on the inference
 * paths (every cell kernel, the batch paths) and on the softmax itself. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/ops.h"
#include "util/json.h"

/* Byte offset (from the file start) and element count of a tensor. */
static void tensor_span(const unsigned char *buf, size_t len, const char *name, size_t *off,
                        size_t *n)
{
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    ck_assert_uint_le(8 + hlen, len);
    ef_err_t err;
    ef_json_t *doc = ef_json_parse((const char *)buf + 8, hlen, NULL, "header", &err);
    ck_assert_msg(doc != NULL, "%s", err.msg);
    const ef_json_value_t *t = ef_json_get(ef_json_root(doc), name);
    ck_assert_ptr_nonnull(t);
    const ef_json_value_t *o = ef_json_get(t, "data_offsets");
    ck_assert_ptr_nonnull(o);
    uint64_t b, e;
    ck_assert_int_eq(ef_json_u64(o->child, &b), 0);
    ck_assert_int_eq(ef_json_u64(o->child->next, &e), 0);
    *off = 8 + hlen + b;
    *n = (e - b) / 4;
    ef_json_free(doc);
}

/* A model file of `arch` (k = 20, 9 classes, PyTorch init, fixed seed)
 * with every element of `tensor` (NULL: the output layer's weight) set to
 * `value`, or (scale != 0) multiplied by `scale` (kept finite), and the
 * output layer's bias set to head_bias when that is not 0. Built here, so the test does not depend on what
 * the built-in models are. */
static void patch_tensor(unsigned char *buf, size_t len, const char *tensor, float value,
                         float scale)
{
    size_t off, n;
    tensor_span(buf, len, tensor, &off, &n);
    for (size_t i = 0; i < n; i++) { /* little-endian host, as the file */
        float w = value;
        if (scale != 0.0f) {
            memcpy(&w, buf + off + 4 * i, 4);
            w = fmaxf(fminf(w * scale, FLT_MAX), -FLT_MAX);
        }
        memcpy(buf + off + 4 * i, &w, 4);
    }
}

static ef_model_t *patched_model(ef_arch_t arch, const char *tensor, float value, float scale,
                                 float head_bias)
{
    static const char *const labels[] = {"Unlabeled", "HTTP", "Multi", "Alpha", "NetworkScan",
                                         "PortScan", "DoS", "IPv6Tunnel", "Other"};
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, arch, 20, 9);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, 1, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ef_net_init(net, EF_INIT_TORCH, 7);
    ef_preproc_t pp = {4.8f, 10.6f, 0.0f, 1.0f, 0};
    char *dir = eft_mkdtemp("robust-model");
    char *path = eft_path(dir, "m.safetensors");
    ck_assert_msg(ef_net_save(net, &pp, labels, NULL, 0, path, &err) == 0, "%s", err.msg);
    ef_net_free(net);
    size_t len;
    unsigned char *buf = (unsigned char *)eft_read_file(path, &len);
    ck_assert_ptr_nonnull(buf);
    char head[32];
    snprintf(head, sizeof head, "fc%d.weight", arch == EF_ARCH_MLP ? cfg.layers + 1 : 1);
    patch_tensor(buf, len, tensor ? tensor : head, value, scale);
    if (head_bias != 0.0f) {
        strcpy(head + strlen(head) - strlen("weight"), "bias");
        patch_tensor(buf, len, head, head_bias, 0.0f);
    }
    ef_model_t *m = ef_model_load_mem(buf, len, "huge.safetensors", &err);
    ck_assert_msg(m != NULL, "a finite weight must load: %s", err.msg);
    free(buf);
    free(path);
    eft_rmtree(dir);
    free(dir);
    return m;
}

static void assert_distribution(const float *p, int n)
{
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(isfinite(p[i]) && p[i] >= 0.0f && p[i] <= 1.0f, "p[%d] = %g", i, p[i]);
        sum += p[i];
    }
    ck_assert_float_eq_tol(sum, 1.0f, 1e-5f);
}

#define FLOWS 4

static void predict_all_paths(ef_model_t *m)
{
    int k = ef_model_k(m), nc = ef_model_num_classes(m);
    float size[FLOWS * 20], iat[FLOWS * 20], probs[FLOWS * 64];
    int n[FLOWS] = {1, 3, 10, 20}, cls[FLOWS];
    for (int i = 0; i < FLOWS * 20; i++) {
        size[i] = (float)(40 + (i * 131) % 1460);
        iat[i] = 0.002f * (float)(i % 9);
    }
    static const ef_model_kernel_t kernels[] = {EF_MODEL_KERNEL_PORTABLE, EF_MODEL_KERNEL_AVX2,
                                                EF_MODEL_KERNEL_AVX512};
    static const ef_model_batch_path_t paths[] = {EF_MODEL_BATCH_CELLS, EF_MODEL_BATCH_BLAS};
    int ran = 0;
    for (size_t kk = 0; kk < 3; kk++) {
        if (ef_model_set_kernel(m, kernels[kk]) != 0)
            continue; /* this CPU lacks it */
        for (size_t p = 0; p < 2; p++) {
            ef_model_set_batch_path(m, paths[p]);
            ef_err_t err;
            ef_model_scratch_t *s = ef_model_scratch_new(m, FLOWS, &err);
            ck_assert_msg(s != NULL, "%s", err.msg);
            for (int f = 0; f < FLOWS; f++) {
                int c = ef_model_predict(m, s, size + f * k, iat + f * k, NULL, n[f], probs);
                ck_assert_int_ge(c, 0);
                ck_assert_int_lt(c, nc);
                assert_distribution(probs, nc);
            }
            ck_assert_int_eq(ef_model_predict_batch(m, s, FLOWS, size, iat, NULL, n, probs, cls), 0);
            for (int f = 0; f < FLOWS; f++) {
                ck_assert_int_ge(cls[f], 0);
                ck_assert_int_lt(cls[f], nc);
                assert_distribution(probs + f * nc, nc);
            }
            ef_model_scratch_free(s);
            ran++;
        }
    }
    ck_assert_int_ge(ran, 2); /* at least the portable kernel, both batch paths */
}

/* The fuzzer's finding, made deterministic: every weight of the second
 * context MLP of a BI LSTM at +-2.83e38 makes its sums overflow. */
START_TEST(huge_finite_weights_give_finite_probabilities)
{
    ef_model_t *m = patched_model(EF_ARCH_BILSTM, "mlp2.fc1.weight", _i ? -2.83e38f : 2.83e38f, 0.0f,
                                  0.0f);
    predict_all_paths(m);
    ef_model_free(m);
}
END_TEST

/* Huge output layers: the logits themselves overflow. MLP: every output
 * weight and bias FLT_MAX over non-negative ReLU inputs, so every logit is
 * +inf (the old softmax gave NaN: inf - inf). LSTM: the trained signs kept
 * at magnitude FLT_MAX, logits of both signs. */
START_TEST(huge_head_weights_give_finite_probabilities)
{
    ef_model_t *m = _i ? patched_model(EF_ARCH_LSTM, NULL, 0.0f, FLT_MAX, 0.0f)
                       : patched_model(EF_ARCH_MLP, NULL, FLT_MAX, 0.0f, FLT_MAX);
    predict_all_paths(m);
    ef_model_free(m);
}
END_TEST

START_TEST(softmax_of_nonfinite_logits_is_a_distribution)
{
    static const struct {
        float l[4];
        float want[4];
    } cases[] = {
        {{1.0f, 2.0f, 3.0f, 4.0f}, {0.0320586f, 0.0871443f, 0.2368828f, 0.6439142f}},
        {{0.0f, NAN, 0.0f, NAN}, {0.5f, 0.0f, 0.5f, 0.0f}},
        {{INFINITY, 1.0f, INFINITY, NAN}, {0.5f, 0.0f, 0.5f, 0.0f}},
        {{-INFINITY, -INFINITY, 2.0f, -INFINITY}, {0.0f, 0.0f, 1.0f, 0.0f}},
        {{NAN, NAN, NAN, NAN}, {0.25f, 0.25f, 0.25f, 0.25f}},
        {{-INFINITY, NAN, -INFINITY, -INFINITY}, {0.25f, 0.25f, 0.25f, 0.25f}},
        {{-3.0e38f, 3.0e38f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f, 0.0f}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float p[4];
        ef_softmax_rows(p, cases[c].l, 1, 4);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(fabsf(p[j] - cases[c].want[j]) < 1e-6f, "case %zu p[%d] = %g, want %g", c,
                          j, p[j], cases[c].want[j]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("robust_model");
    TCase *tc = tcase_create("overflow");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, huge_finite_weights_give_finite_probabilities, 0, 2);
    tcase_add_loop_test(tc, huge_head_weights_give_finite_probabilities, 0, 2);
    tcase_add_test(tc, softmax_of_nonfinite_logits_is_a_distribution);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
