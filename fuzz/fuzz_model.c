/* Fuzz target: the model file loader (safetensors header, metadata, tensor
 * layout, weights) and inference on whatever it accepts.
 *
 * The input is a model file's bytes (ef_model_load_mem). An accepted model
 * is run on a few fixed flows, short and long, with every cell kernel this
 * CPU has and the batch path. Oracles beyond the sanitizers: a refusal has a
 * message; an accepted model's k, class count and labels are sane, and its
 * probabilities are finite numbers in [0, 1]. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

#define FLOWS 3

static void check_probs(const float *p, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(p[i]) || p[i] < 0.0f || p[i] > 1.0f + 1e-5f)
            abort();
}

static void run_flows(ef_model_t *m, ef_model_scratch_t *s, int k, int nc)
{
    float size[FLOWS * EF_K_MAX], iat[FLOWS * EF_K_MAX];
    uint8_t dir[FLOWS * EF_K_MAX];
    int n[FLOWS] = {1, k > 2 ? k / 2 : 1, k};
    for (int i = 0; i < FLOWS * EF_K_MAX; i++) {
        size[i] = (float)(40 + (i * 97) % 1460);
        iat[i] = (i % 5) ? 0.001f * (float)(i % 7) : 0.0f;
        dir[i] = (uint8_t)(i % 3 != 0);
    }
    float probs[FLOWS * 64];
    int cls[FLOWS];
    for (int f = 0; f < FLOWS; f++) {
        int c = ef_model_predict(m, s, size + f * k, iat + f * k, dir + f * k, n[f], probs);
        if (c < 0 || c >= nc)
            abort();
        check_probs(probs, nc);
    }
    if (ef_model_predict_batch(m, s, FLOWS, size, iat, dir, n, probs, cls) != 0)
        abort();
    check_probs(probs, FLOWS * nc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ef_err_t err = {{0}};
    ef_model_t *m = ef_model_load_mem(data, size, "fuzz.safetensors", &err);
    if (!m) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    int k = ef_model_k(m), nc = ef_model_num_classes(m);
    const char *const *labels = ef_model_labels(m);
    if (k < 1 || k > EF_K_MAX || nc < 1 || nc > 64 || !labels || !ef_model_name(m) ||
        !ef_model_arch(m))
        abort();
    for (int i = 0; i < nc; i++)
        if (!labels[i])
            abort();
    (void)ef_model_meta(m, "arch");
    static const ef_model_kernel_t kernels[] = {EF_MODEL_KERNEL_PORTABLE, EF_MODEL_KERNEL_AVX2,
                                                EF_MODEL_KERNEL_AVX512};
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        if (ef_model_set_kernel(m, kernels[i]) != 0)
            continue;
        ef_model_scratch_t *s = ef_model_scratch_new(m, FLOWS, &err);
        if (!s)
            abort();
        run_flows(m, s, k, nc);
        ef_model_scratch_free(s);
    }
    ef_model_free(m);
    return 0;
}
