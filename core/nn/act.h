/* Activation functions and fused recurrent cells over float arrays
 * (internal to core/nn).
 *
 * Each has three implementations: portable C (libm expf/tanhf), AVX2+FMA
 * (nn/vmath_avx2.h) and AVX-512 (nn/vmath_avx512.h), the vector ones a few
 * ULPs from the exact value (tests/unit/test_act.c). The plain calls pick
 * the best the CPU has, per call (no global state); the _isa variants run
 * a given one, for tests and benchmarks, and return -1 when the CPU lacks
 * it. Stateless and thread-safe. */
#ifndef EF_NN_ACT_H
#define EF_NN_ACT_H

#include <stddef.h>

typedef enum ef_isa {
    EF_ISA_AUTO = 0,
    EF_ISA_PORTABLE,
    EF_ISA_AVX2,   /* AVX2 + FMA */
    EF_ISA_AVX512, /* AVX-512 F, VL, DQ (+ AVX2, FMA) */
} ef_isa_t;

/* 1 when this CPU (and build) can run `isa`; AUTO and PORTABLE always. */
int ef_isa_supported(ef_isa_t isa);
/* The best supported ISA. */
ef_isa_t ef_isa_best(void);
const char *ef_isa_name(ef_isa_t isa);

void ef_act_sigmoid(float *x, size_t n);
void ef_act_tanh(float *x, size_t n);
int ef_act_sigmoid_isa(ef_isa_t isa, float *x, size_t n);
int ef_act_tanh_isa(ef_isa_t isa, float *x, size_t n);

/* LSTM: pre[B][4H] holds the gate pre-activations in the order i, f, g, o;
 * it is overwritten with the activations (sigmoid, sigmoid, tanh, sigmoid).
 * Then c = f * c_prev + i * g, tc = tanh(c), h = o * tc. */
void ef_lstm_cell_forward(int B, int H, float *pre, const float *c_prev, float *c, float *h,
                          float *tc);
int ef_lstm_cell_forward_isa(ef_isa_t isa, int B, int H, float *pre, const float *c_prev,
                             float *c, float *h, float *tc);

/* GRU: gi[B][3H] = W_ih x + b_ih and gh[B][3H] = W_hh h_prev + b_hh, gate
 * order r, z, n. Writes act[B][3H] = (r, z, n), hn[B][H] = gh's n part,
 * h = (h_prev - n) * z + n, with r = sigmoid(gi_r + gh_r),
 * z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r * gh_n). */
void ef_gru_cell_forward(int B, int H, const float *gi, const float *gh, const float *h_prev,
                         float *act, float *hn, float *h);
int ef_gru_cell_forward_isa(ef_isa_t isa, int B, int H, const float *gi, const float *gh,
                            const float *h_prev, float *act, float *hn, float *h);

#endif
