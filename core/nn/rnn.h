/* A stack of recurrent layers (LSTM or GRU, PyTorch conventions) over a
 * batch of variable-length sequences, with its backward pass (internal to
 * core/nn; used by net.c).
 *
 * Buffers are time-major: a [T][B][X] buffer holds, for each step t, B rows
 * of X floats, so a step is one contiguous [B][X] block for the matrix
 * products. The stride of a step is B*X for the batch size B of the current
 * call (buffers are sized for max_batch).
 *
 * Variable length: sample b is active at steps t < n[b]. At inactive steps
 * its state is carried unchanged (h_t = h_{t-1}, c_t = c_{t-1}), so the
 * state in the last slot is the state after its n[b]-th step, and in the
 * backward pass gradients pass through those steps untouched.
 *
 * h[l] holds T+1 slots: slot 0 is the initial state, slot t+1 the state
 * after step t; c[l] likewise (LSTM). */
#ifndef EF_NN_RNN_H
#define EF_NN_RNN_H

#include <stddef.h>

#include "nn/layout.h"

typedef struct ef_rnn {
    int gates;   /* 4: LSTM (i, f, g, o), 3: GRU (r, z, n) */
    int L, H, In, T, Bmax;
    /* parameters and their gradients, inside the net's flat buffers */
    const float *w_ih[EF_NET_MAX_LAYERS], *w_hh[EF_NET_MAX_LAYERS];
    const float *b_ih[EF_NET_MAX_LAYERS], *b_hh[EF_NET_MAX_LAYERS];
    float *gw_ih[EF_NET_MAX_LAYERS], *gw_hh[EF_NET_MAX_LAYERS];
    float *gb_ih[EF_NET_MAX_LAYERS], *gb_hh[EF_NET_MAX_LAYERS];
    /* activations */
    float *x;                         /* [T][B][In] layer-0 input */
    float *act[EF_NET_MAX_LAYERS];    /* [T][B][G*H] gate activations (LSTM: pre first) */
    float *hn[EF_NET_MAX_LAYERS];     /* GRU: [T][B][H] W_hn h + b_hn */
    float *h[EF_NET_MAX_LAYERS];      /* [T+1][B][H] */
    float *c[EF_NET_MAX_LAYERS];      /* LSTM: [T+1][B][H] */
    float *tc[EF_NET_MAX_LAYERS];     /* LSTM: [T][B][H] tanh(c) */
    /* backward */
    float *dpre[EF_NET_MAX_LAYERS];   /* [T][B][G*H] d(input-side pre-activations) */
    float *dgh[EF_NET_MAX_LAYERS];    /* GRU: [T][B][3H] d(hidden-side pre-activations) */
    float *dseq[2];                   /* [T][B][H] d(layer outputs), alternating */
    float *dh, *dc, *tmp;             /* [B][H] carries */
    float *gh;                        /* GRU: [B][3H] hidden-side products */
} ef_rnn_t;

/* Dimensions (no memory yet). */
void ef_rnn_init(ef_rnn_t *r, int gates, int L, int H, int In, int T, int Bmax);
/* Floats of activation memory the stack needs. */
size_t ef_rnn_arena_floats(const ef_rnn_t *r);
/* Carve the activation buffers out of `arena` (ef_rnn_arena_floats floats). */
void ef_rnn_bind_arena(ef_rnn_t *r, float *arena);
/* Point the parameters at the tensors named "<prefix>.weight_ih_l0", ... */
int ef_rnn_bind_params(ef_rnn_t *r, const ef_layout_t *lay, const char *prefix, float *params,
                       float *grads);

/* Set the initial state (slot 0) of every layer from h0/c0 [L][B][H], or
 * zeros when NULL. */
void ef_rnn_set_initial(ef_rnn_t *r, int B, const float *h0, const float *c0);

/* The whole stack over r->x, layer by layer (initial state set before). */
void ef_rnn_forward(ef_rnn_t *r, int B, const int *n);

/* Backward of ef_rnn_forward. dh_top [T][B][H]: gradient w.r.t. the top
 * layer's outputs (NULL: none); dhn/dcn [L][B][H]: gradients w.r.t. the
 * final states (NULL: none). Adds parameter gradients; writes the gradients
 * w.r.t. the initial states into dh0/dc0 [L][B][H] when not NULL. */
void ef_rnn_backward(ef_rnn_t *r, int B, const int *n, const float *dh_top, const float *dhn,
                     const float *dcn, float *dh0, float *dc0);

/* One step of one layer, for the autoregressive decoder: computes the input
 * projection of in[B][In_l] (layer input at step t), then the cell. */
void ef_rnn_step_forward(ef_rnn_t *r, int l, int t, int B, const int *n, const float *in);

/* Backward of one step of one layer. dh [B][H]: total gradient w.r.t. h_t
 * (outside + carried); dc [B][H]: in: gradient w.r.t. c_t, out: w.r.t.
 * c_{t-1} (LSTM; ignored for GRU). Writes d(h_{t-1}) into dh_prev and, when
 * din is not NULL, d(input at step t) into din [B][In_l]. Fills dpre (and
 * dgh) at step t; the parameter gradients come from ef_rnn_weight_grads. */
void ef_rnn_step_backward(ef_rnn_t *r, int l, int t, int B, const int *n, const float *dh,
                          float *dc, float *dh_prev, float *din);

/* Parameter gradients of layer l from its dpre/dgh over all steps. */
void ef_rnn_weight_grads(ef_rnn_t *r, int l, int B);

/* The input sequence of layer l: r->x for layer 0, the layer below's
 * outputs (h slots 1..T) otherwise. */
const float *ef_rnn_layer_input(const ef_rnn_t *r, int l, int B);
/* Final state of layer l (slot T): [B][H]. */
static inline float *ef_rnn_final_h(const ef_rnn_t *r, int l, int B)
{
    return r->h[l] + (size_t)r->T * B * r->H;
}
static inline float *ef_rnn_final_c(const ef_rnn_t *r, int l, int B)
{
    return r->c[l] + (size_t)r->T * B * r->H;
}

#endif
