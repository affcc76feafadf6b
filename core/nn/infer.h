/* Single-flow inference kernels (internal to core/nn; used by model.c).
 *
 * Weights are repacked at load time for a matrix-vector product that keeps
 * its accumulators in registers: each gate block is padded from H to Hp
 * (a multiple of 8) rows, and the matrix is stored transposed, W^T[in][R]
 * with R = 4 * Hp rows, so the product is a sum over inputs j of column j
 * (R contiguous floats) times x[j].
 *
 *   LSTM rows: [i | f | g | o]             bias = b_ih + b_hh
 *   GRU rows:  [r | z | n_input | n_hidden] bias = (b_ir + b_hr, b_iz + b_hz,
 *              b_in, b_hn); the input matrix is zero in the n_hidden block and
 *              the hidden matrix zero in the n_input block, so n's
 *              r * (W_hn h + b_hn) can be formed after the product.
 *
 * Padded rows have zero weights and biases, so padded h/c lanes stay 0.
 * Two implementations: AVX2+FMA (chosen at load when the CPU has it) and
 * portable C. Both compute the same function; results differ in the last
 * bits (FMA rounding). */
#ifndef EF_NN_INFER_H
#define EF_NN_INFER_H

typedef struct ef_infer_layer_args {
    const float *wx;   /* [nx][R] */
    int nx;            /* input width (features, or H for upper layers) */
    const float *wh;   /* [H][R] */
    int H, Hp, R;
    const float *bias; /* [R] */
    const float *in;   /* [n][in_stride] */
    int in_stride;
    int n;             /* steps */
    float *out;        /* [n][Hp] h after each step */
    float *c;          /* [Hp] cell state (LSTM), zero on entry */
    float *acc;        /* [R] scratch */
    const float *zero; /* [Hp] zeros: the initial h */
} ef_infer_layer_args_t;

typedef void (*ef_infer_layer_fn)(const ef_infer_layer_args_t *a);

void ef_infer_lstm_layer_generic(const ef_infer_layer_args_t *a);
void ef_infer_gru_layer_generic(const ef_infer_layer_args_t *a);
/* y[R] = bias + sum_j wt[j][.] * x[j], j < nx (a dense layer, transposed) */
void ef_infer_dense_generic(const float *wt, int nx, const float *x, const float *bias, int R,
                            float *y);

#if defined(__x86_64__) || defined(__i386__)
#define EF_INFER_HAVE_AVX2 1
void ef_infer_lstm_layer_avx2(const ef_infer_layer_args_t *a);
void ef_infer_gru_layer_avx2(const ef_infer_layer_args_t *a);
void ef_infer_dense_avx2(const float *wt, int nx, const float *x, const float *bias, int R,
                         float *y);
#endif

#endif
