/* The parameter layout of each architecture: tensor names (the seed's
 * PyTorch state_dict names), shapes and offsets inside one flat buffer.
 * One function decides it, so the trainer, the inference path, the model
 * file and `earlyflow model info` cannot disagree (docs/models.md).
 *
 * Tensor order = the order of the flat buffer = the order tensors are
 * written to a model file. Within an RNN stack: weight_ih_l0, weight_hh_l0,
 * bias_ih_l0, bias_hh_l0, then layer 1, ... (PyTorch's order). */
#ifndef EF_NN_LAYOUT_H
#define EF_NN_LAYOUT_H

#include <stddef.h>

#include "nn/net.h"
#include "util/err.h"

/* Sane limits, enforced for configs and model files alike. */
#define EF_NET_MAX_HIDDEN 256
#define EF_NET_MAX_LAYERS 8
#define EF_NET_MAX_CONTEXT 64
#define EF_NET_MAX_CLASSES 64
#define EF_NET_MAX_TENSORS 80
#define EF_NET_NAME_MAX 48

typedef struct ef_layout {
    int n;
    ef_tensor_info_t t[EF_NET_MAX_TENSORS];
    char names[EF_NET_MAX_TENSORS][EF_NET_NAME_MAX];
    size_t total; /* floats */
} ef_layout_t;

/* Check a config against the limits; -1 with a message naming the field. */
int ef_net_config_check(const ef_net_config_t *cfg, ef_err_t *err);

/* Fill `out` for `cfg` (checked first). */
int ef_layout_build(const ef_net_config_t *cfg, ef_layout_t *out, ef_err_t *err);

/* Index of a tensor by name, or -1. */
int ef_layout_find(const ef_layout_t *l, const char *name);

/* Gates per recurrent cell: 4 (LSTM), 3 (GRU), 0 (mlp). */
int ef_arch_gates(ef_arch_t a);
/* 1 when the architecture has two stacks (forward + time-reversed). */
int ef_arch_bidirectional(ef_arch_t a);
/* The prefix of the first (and second) stack: "encoder.rnn", "forward_lstm.rnn", ... */
const char *ef_arch_stack_prefix(ef_arch_t a, int which);

#endif
