/* Trainable networks: the paper's four models and GRU variants.
 *
 * An ef_net_t owns one contiguous float buffer of parameters, one of
 * gradients (same layout) and the activations for batches of up to
 * max_batch sequences, all allocated in ef_net_new. Every sample is computed
 * on its own (no mixing across the batch, unlike the reference code's
 * context layer).
 *
 * Inputs are already preprocessed (nn/preproc.h): x is [B][k][F] row-major
 * with F input features per step; n[b] (1..k) is sample b's real length.
 * Recurrent architectures run over the first n[b] steps only (the backward
 * direction over those steps reversed); the MLP sees steps >= n[b] as zeros.
 *
 * Architectures (docs/models.md):
 *   mlp      F*k -> hidden -> hidden -> hidden -> classes, ReLU (fc1..fc4)
 *   lstm     FWD: LSTM stack, top layer's last h -> Linear(classes)
 *   bilstm   BI: forward and time-reversed LSTM stacks, each (h,c) of all
 *            layers -> Linear(2*layers*hidden -> 2*layers*context); the top
 *            layer's context h of both -> Linear(2*context -> classes)
 *   seq2seq  SEQ classifier: LSTM stack -> context layer -> top layer's
 *            context h -> Linear(context -> classes)
 *   autoenc  SEQ pre-training: encoder + context -> Linear(back to (h,c)) ->
 *            LSTM decoder, autoregressive from a zero start token, ReLU
 *            outputs fed back; MSE against the input sequence
 *   gru, bigru  as lstm / bilstm with GRU cells (h only; context from h)
 *
 * Thread-safety: an ef_net_t is used by one thread at a time.
 * OpenBLAS: the first ef_net_new sets OpenBLAS to one thread for the whole
 * process (its threads cost more than they give on these small matrices;
 * docs/performance.md, "Inference"). */
#ifndef EF_NN_NET_H
#define EF_NN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/preproc.h"
#include "util/err.h"

typedef enum ef_arch {
    EF_ARCH_MLP = 0,
    EF_ARCH_LSTM,
    EF_ARCH_BILSTM,
    EF_ARCH_SEQ2SEQ,
    EF_ARCH_AUTOENC,
    EF_ARCH_GRU,
    EF_ARCH_BIGRU,
    EF_ARCH__COUNT
} ef_arch_t;

const char *ef_arch_name(ef_arch_t a);   /* "mlp", "lstm", ... */
int ef_arch_from_name(const char *name); /* -1 when unknown */

typedef struct ef_net_config {
    ef_arch_t arch;
    int k;          /* sequence length (steps) */
    int features;   /* input features per step: 2, or 3 with direction */
    int hidden;     /* default 20 */
    int layers;     /* default 3 */
    int context;    /* default 3 (bilstm, seq2seq, autoenc, bigru) */
    int classes;    /* output classes (ignored by autoenc) */
} ef_net_config_t;

/* Seed defaults: hidden 20, layers 3, context 3, features 2. */
void ef_net_config_default(ef_net_config_t *cfg, ef_arch_t arch, int k, int classes);

typedef enum ef_init {
    EF_INIT_TORCH = 0,     /* PyTorch's defaults: U(-1/sqrt(fan), 1/sqrt(fan)) */
    EF_INIT_SEED_UNIFORM,  /* the reference code: weights U(0,1), biases 0 */
} ef_init_t;

typedef struct ef_net ef_net_t;

ef_net_t *ef_net_new(const ef_net_config_t *cfg, int max_batch, ef_err_t *err);
void ef_net_free(ef_net_t *net);
const ef_net_config_t *ef_net_config(const ef_net_t *net);

size_t ef_net_num_params(const ef_net_t *net);
float *ef_net_params(ef_net_t *net);
float *ef_net_grads(ef_net_t *net);

/* Named tensors inside the parameter buffer, in the seed's PyTorch
 * state_dict naming (e.g. "forward_lstm.rnn.weight_ih_l0"). */
typedef struct ef_tensor_info {
    const char *name;
    size_t offset;     /* floats from the start of the parameter buffer */
    int ndim;
    int shape[2];
} ef_tensor_info_t;
int ef_net_num_tensors(const ef_net_t *net);
const ef_tensor_info_t *ef_net_tensor(const ef_net_t *net, int i);

/* Deterministic for a given seed. */
void ef_net_init(ef_net_t *net, ef_init_t scheme, uint64_t seed);

void ef_net_zero_grad(ef_net_t *net);

/* In the three calls below, n may be NULL (every sample has k steps);
 * n[b] outside 0..k is clamped (0: an empty sequence, the RNN state stays
 * zero). B above max_batch is clamped to max_batch. Labels outside
 * 0..classes-1 count with weight 0.
 *
 * Forward + backward over a batch (B <= max_batch): returns the mean loss
 * over the batch and ADDS d(mean loss)/d(param) into the gradient buffer.
 * Classifiers: cross-entropy against labels[B], weighted by class_weights
 * (NULL: all 1; weighted mean as PyTorch's reduction='mean'). autoenc: MSE
 * between reconstruction and x (labels unused). */
float ef_net_forward_backward(ef_net_t *net, int B, const float *x, const int *n,
                              const int *labels, const float *class_weights);

/* Forward only. Classifiers write softmax probabilities out[B][classes];
 * autoenc writes the reconstruction out[B][k][F] (zeros at steps >= n[b]). */
void ef_net_forward(ef_net_t *net, int B, const float *x, const int *n, float *out);

/* Classifiers: the logits [B][classes] of the latest forward pass (any of
 * the three calls above), owned by the net, valid until the next call.
 * Meaningless for autoenc. */
const float *ef_net_logits(const ef_net_t *net);

/* Mean loss of a batch without touching gradients. */
float ef_net_loss(ef_net_t *net, int B, const float *x, const int *n, const int *labels,
                  const float *class_weights);

/* Adam with PyTorch's defaults (betas 0.9/0.999, eps 1e-8, no weight decay). */
typedef struct ef_adam ef_adam_t;
ef_adam_t *ef_adam_new(size_t n_params, float lr);
void ef_adam_step(ef_adam_t *opt, float *params, const float *grads);
void ef_adam_free(ef_adam_t *opt);

/* Metadata key/value written into the model file's __metadata__. */
typedef struct ef_kv {
    const char *key;
    const char *value;
} ef_kv_t;

/* Write a model file (safetensors): tensors by name, __metadata__ with the
 * format version, architecture, dims, k, labels, preprocessing and `extra`
 * (provenance). Written to a temporary name and renamed, so a failed write
 * never leaves a file that looks complete. */
int ef_net_save(const ef_net_t *net, const ef_preproc_t *pp, const char *const *labels,
                const ef_kv_t *extra, int n_extra, const char *path, ef_err_t *err);

/* Build a net from a model file (for fine-tuning or continued training). */
ef_net_t *ef_net_load(const char *path, int max_batch, ef_preproc_t *pp_out, ef_err_t *err);

/* Copy every tensor of `path` whose name matches a tensor of `net`
 * (SEQ: the autoencoder's encoder.* and mlp1.* into the classifier).
 * A name match with a different shape is an error (the pre-training would
 * silently not carry over). Returns the number of tensors copied, or -1
 * with err. */
int ef_net_load_matching(ef_net_t *net, const char *path, ef_err_t *err);

#endif
