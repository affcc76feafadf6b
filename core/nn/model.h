/* Inference API: a trained model file, loaded once, run on flows.
 *
 * A model (ef_model_t) is immutable after loading and may be shared by any
 * number of threads. Each thread owns an ef_model_scratch_t, sized at
 * creation, so predicting allocates nothing.
 *
 * Inputs are the raw first-k features (net/features.h): packet sizes in bytes,
 * inter-arrival times in seconds, directions (1 = client->server). The model
 * applies the preprocessing recorded in its file (log transforms, min/max
 * scaling, clipping) itself, so callers never scale anything.
 *
 * Short flows: `n` may be smaller than the model's k (a flow that ended
 * early). Recurrent models then run over the n packets they have; the MLP
 * sees the missing packets as padding (docs/models.md). n > k uses the
 * first k packets.
 *
 * OpenBLAS (the BLAS batch path below): the first scratch created sets
 * OpenBLAS to one thread for the whole process. */
#ifndef EF_NN_MODEL_H
#define EF_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "net/features.h"
#include "util/err.h"

typedef struct ef_model ef_model_t;
typedef struct ef_model_scratch ef_model_scratch_t;

/* Load a safetensors model file. The file is untrusted: any inconsistency is
 * refused with a message naming the file and the problem. */
ef_model_t *ef_model_load_file(const char *path, ef_err_t *err);

/* Same from memory (built-in models); `name` is used in messages and as the
 * model name. The bytes are copied; the caller keeps ownership of `data`. */
ef_model_t *ef_model_load_mem(const void *data, size_t len, const char *name, ef_err_t *err);

void ef_model_free(ef_model_t *m);

const char *ef_model_name(const ef_model_t *m);   /* e.g. "builtin_k5" */
const char *ef_model_arch(const ef_model_t *m);   /* "mlp", "lstm", "bilstm", ... */
int ef_model_k(const ef_model_t *m);
int ef_model_num_classes(const ef_model_t *m);
const char *const *ef_model_labels(const ef_model_t *m);

/* A `__metadata__` value of the file, or NULL. */
const char *ef_model_meta(const ef_model_t *m, const char *key);

/* Per-thread scratch for batches of up to max_batch flows. */
ef_model_scratch_t *ef_model_scratch_new(const ef_model_t *m, int max_batch, ef_err_t *err);
void ef_model_scratch_free(ef_model_scratch_t *s);

/* One flow of n packets -> probs[num_classes] (softmax). Returns the index of
 * the most probable class, or -1 when n < 1 or the scratch belongs to another
 * model (probs untouched). Allocates nothing. */
int ef_model_predict(const ef_model_t *m, ef_model_scratch_t *s, const float *size,
                     const float *iat_s, const uint8_t *dir, int n, float *probs);

/* Convenience over ef_model_predict for a feature buffer (first n packets). */
int ef_model_predict_features(const ef_model_t *m, ef_model_scratch_t *s,
                              const ef_features_t *f, int n, float *probs);

/* `batch` flows at once (batch <= max_batch of the scratch). Inputs are
 * row-major [batch][k]; n[b] is flow b's packet count; probs is
 * [batch][num_classes]; classes[b] receives each argmax (may be NULL); a
 * flow with n[b] < 1 gets class -1 and a row of zeros. Returns 0, or -1
 * when batch is out of range or the scratch belongs to another model. */
int ef_model_predict_batch(const ef_model_t *m, ef_model_scratch_t *s, int batch,
                           const float *size, const float *iat_s, const uint8_t *dir,
                           const int *n, float *probs, int *classes);

/* Which cell kernels the model runs (docs/performance.md, "Inference"). AUTO
 * (what loading picks): AVX-512 when the CPU has it (and hidden <= 32),
 * else AVX2+FMA, else portable C. All compute the same function; results
 * differ by float rounding only. Switching repacks the weights: call it
 * before sharing the model between threads (scratch stays valid).
 * Returns -1 when the CPU or the build lacks the kernel (or out of memory);
 * the model then keeps its previous kernel. */
typedef enum ef_model_kernel {
    EF_MODEL_KERNEL_AUTO = 0,
    EF_MODEL_KERNEL_PORTABLE,
    EF_MODEL_KERNEL_AVX2,
    EF_MODEL_KERNEL_AVX512,
} ef_model_kernel_t;
int ef_model_set_kernel(ef_model_t *m, ef_model_kernel_t k);
ef_model_kernel_t ef_model_kernel(const ef_model_t *m);
const char *ef_model_kernel_name(ef_model_kernel_t k); /* "portable", "avx2", ... */

/* How ef_model_predict_batch runs batches of 2 or more flows:
 *   CELLS  the cell kernel above, flow by flow;
 *   BLAS   the training network's batched forward: one OpenBLAS product per
 *          layer and step over the whole batch (the scratch then holds a
 *          copy of the weights and activations for max_batch flows, about
 *          1.7 MB for a 64-flow BI scratch).
 *   AUTO   (the default) BLAS for recurrent models when the cell kernel is
 *          not AVX-512, CELLS otherwise -- the faster one in
 *          bench/run-inference.sh (docs/performance.md, "Inference").
 * The two paths agree to float rounding (not bit for bit). Like the kernel,
 * set it before sharing the model; a scratch created before a switch to
 * BLAS keeps using CELLS. */
typedef enum ef_model_batch_path {
    EF_MODEL_BATCH_AUTO = 0,
    EF_MODEL_BATCH_CELLS,
    EF_MODEL_BATCH_BLAS,
} ef_model_batch_path_t;
void ef_model_set_batch_path(ef_model_t *m, ef_model_batch_path_t p);
/* The path in effect (CELLS or BLAS) for batches of 2 or more. */
ef_model_batch_path_t ef_model_batch_path(const ef_model_t *m);

#endif
