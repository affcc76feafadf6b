/* Activation functions over float arrays, in place.
 *
 * On x86 CPUs with AVX2+FMA they run 8 lanes at a time (nn/vmath_avx2.h,
 * a few ULPs from the exact value); elsewhere they call libm's expf/tanhf.
 * The choice is made per call from the CPU (no global state). Stateless and
 * thread-safe. */
#ifndef EF_NN_ACT_H
#define EF_NN_ACT_H

#include <stddef.h>

void ef_act_sigmoid(float *x, size_t n);
void ef_act_tanh(float *x, size_t n);

/* 1 when the vectorised kernels are in use on this CPU. */
int ef_act_vectorized(void);

/* Reference versions (libm), for tests and the accuracy report. */
void ef_act_sigmoid_libm(float *x, size_t n);
void ef_act_tanh_libm(float *x, size_t n);

/* Fused recurrent cells over B rows (internal to core/nn; PyTorch's
 * conventions, see docs/models.md).
 *
 * LSTM: pre[B][4H] holds the gate pre-activations in the order i, f, g, o;
 * it is overwritten with the activations (sigmoid, sigmoid, tanh, sigmoid).
 * Then c = f * c_prev + i * g, tc = tanh(c), h = o * tc. */
void ef_lstm_cell_forward(int B, int H, float *pre, const float *c_prev, float *c, float *h,
                          float *tc);
/* GRU: gi[B][3H] = W_ih x + b_ih and gh[B][3H] = W_hh h_prev + b_hh, gate
 * order r, z, n. Writes act[B][3H] = (r, z, n), hn[B][H] = gh's n part,
 * h = (h_prev - n) * z + n, with r = sigmoid(gi_r + gh_r),
 * z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r * gh_n). */
void ef_gru_cell_forward(int B, int H, const float *gi, const float *gh, const float *h_prev,
                         float *act, float *hn, float *h);

#endif
