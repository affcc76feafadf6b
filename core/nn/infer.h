/* Single-flow inference kernels (internal to core/nn; used by model.c).
 *
 * The unit of work is a "cell job": one step of one recurrent layer of one
 * flow, gates = bias + W_ih x + W_hh h_prev, then the cell update. model.c
 * schedules jobs in wavefront order (layer l at step t together with layer
 * l+1 at step t-1, both directions of a bidirectional model, several flows
 * of a batch) and hands each kernel up to EF_INFER_MAX_JOBS independent
 * jobs at once, so their dependency chains (the activations sit on the
 * critical path of every step) overlap. docs/performance.md, "Inference" has
 * the measurements behind this design.
 *
 * Weights are repacked at load time, transposed (W^T[in][R]: column j is R
 * contiguous floats) so a product is a sum of columns scaled by x[j] with
 * the accumulators in registers. The rows are the four gate blocks
 *   LSTM: i, f, g, o              bias = b_ih + b_hh
 *   GRU:  r, z, n_input, n_hidden bias = (b_ir + b_hr, b_iz + b_hz, b_in, b_hn)
 * (the GRU's input matrix is zero in the n_hidden block and its hidden
 * matrix zero in the n_input block, so r * (W_hn h + b_hn) can be formed
 * after the product), laid out in one of two ways:
 *
 *   padded (portable C, AVX2): each gate block padded from H to Hp8 (a
 *     multiple of 8) rows: row = gate * Hp8 + unit.
 *   segmented (AVX-512): the units are cut into segments of 16, 8 or 4;
 *     a 16-unit segment takes 4 vectors of 16 rows (one per gate), an
 *     8-unit segment 2 vectors (i|f, g|o), a 4-unit segment 1 vector
 *     (i|f|g|o). H = 20 is 16 + 4: 5 vectors, no padding at all.
 *
 * Padded rows have zero weights and biases, so padded h and c lanes stay 0.
 * All kernels compute the same function; results differ in the last bits
 * (FMA contraction, evaluation order). */
#ifndef EF_NN_INFER_H
#define EF_NN_INFER_H

#include "nn/layout.h"

#define EF_INFER_MAX_JOBS 4
#define EF_INFER_MAX_SEGS (EF_NET_MAX_HIDDEN / 16 + 1)

typedef struct ef_infer_shape {
    int gru;    /* 0: LSTM, 1: GRU */
    int H;      /* hidden units */
    int R;      /* rows of the repacked matrices */
    int Hs;     /* floats per h/c vector in the scratch (>= every layout's width) */
    /* segmented layout */
    int nseg;
    struct {
        int u0, w, v0; /* first unit, width 16/8/4, first vector */
    } seg[EF_INFER_MAX_SEGS];
} ef_infer_shape_t;

typedef struct ef_cell_job {
    const float *wx;    /* [nx][R] */
    int nx;
    const float *x;     /* [nx] layer input at this step */
    const float *wh;    /* [H][R] */
    const float *hprev; /* [Hs] h at the previous step (zeros at step 0) */
    const float *bias;  /* [R] */
    float *c;           /* [Hs] LSTM cell state, updated in place */
    float *h;           /* [Hs] h after this step */
} ef_cell_job_t;

typedef void (*ef_infer_cells_fn)(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs);
/* y[R] = bias + sum_j wt[j][.] * x[j] (a dense layer, transposed, R % 8 == 0) */
typedef void (*ef_infer_dense_fn)(const float *wt, int nx, const float *x, const float *bias,
                                  int R, float *y);

/* Row of (gate, unit) in each layout. */
int ef_infer_row_padded(const ef_infer_shape_t *sh, int gate, int unit);
int ef_infer_row_segmented(const ef_infer_shape_t *sh, int gate, int unit);
/* Fill the segment table and R for the segmented layout; returns the
 * number of 16-row vectors (0 when H is too large for the AVX-512 kernel). */
int ef_infer_shape_segment(ef_infer_shape_t *sh, int H);

void ef_infer_cells_generic(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs);
void ef_infer_dense_generic(const float *wt, int nx, const float *x, const float *bias, int R,
                            float *y);

#if defined(__x86_64__) || defined(__i386__)
#define EF_INFER_HAVE_X86 1
void ef_infer_cells_avx2(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs);
void ef_infer_dense_avx2(const float *wt, int nx, const float *x, const float *bias, int R,
                         float *y);
/* Segmented layout, at most EF_INFER_AVX512_MAX_VECS vectors per job. */
#define EF_INFER_AVX512_MAX_VECS 8
void ef_infer_cells_avx512(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs);
#endif

#endif
