/* Dense building blocks over flat row-major float buffers (internal to
 * core/nn). Shapes are spelled in the parameter names: a [M][K] buffer is
 * M rows of K floats. Matrix products go to OpenBLAS (cblas_sgemm). */
#ifndef EF_NN_OPS_H
#define EF_NN_OPS_H

#include <stddef.h>

/* Set OpenBLAS to one thread, once per process (pthread_once). Our
 * matrices are small: OpenBLAS's worker threads only add synchronisation
 * and a 512 KiB allocation per threaded call (measured), and inside an IDS
 * worker they would compete with the host's own threads. Called by
 * ef_net_new and ef_model_scratch_new; it changes OpenBLAS's process-wide
 * setting (docs/performance.md, "Inference"). */
void ef_blas_single_thread(void);

/* C[M][N] = A[M][K] . W[N][K]^T + beta * C   (a Linear layer's product) */
void ef_mm_nt(int M, int N, int K, const float *A, const float *W, float *C, float beta);
/* C[M][N] = A[M][K] . B[K][N] + beta * C      (input gradients: dY . W) */
void ef_mm_nn(int M, int N, int K, const float *A, const float *B, float *C, float beta);
/* C[M][N] += A[K][M]^T . B[K][N]              (weight gradients: dY^T . X) */
void ef_mm_tn_acc(int M, int N, int K, const float *A, const float *B, float *C);

/* out[B][N] = x[B][K] . w[N][K]^T + b[N] */
void ef_dense_forward(float *out, const float *x, const float *w, const float *b, int B, int K,
                      int N);
/* dw[N][K] += dout^T . x; db[N] += sum over rows of dout; dx[B][K] = dout . w
 * (dx may be NULL when the input needs no gradient). */
void ef_dense_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, int B, int K, int N);

/* y[i] = max(x[i], 0), in place allowed */
void ef_relu_forward(float *y, const float *x, size_t n);
/* d[i] *= (y[i] > 0) */
void ef_relu_backward(float *d, const float *y, size_t n);

/* Row-wise softmax of logits[B][K] into probs (numerically stable). */
void ef_softmax_rows(float *probs, const float *logits, int B, int K);

/* Mean cross-entropy of probs[B][K] against labels, weighted as PyTorch's
 * CrossEntropyLoss(weight=w, reduction='mean'): sum_b w[y_b] * -log p_b[y_b]
 * / sum_b w[y_b]. Labels outside 0..K-1 are ignored (weight 0). When dlogits
 * is not NULL it receives d(loss)/d(logits). Returns 0 when no sample
 * counts. */
float ef_cross_entropy(const float *probs, const float *logits, const int *labels,
                       const float *class_weights, int B, int K, float *dlogits);

/* acc[cols] += sum over the rows of m[rows][cols] (bias gradients). */
void ef_add_colsum(float *acc, const float *m, size_t rows, int cols);

/* The per-element Adam update (PyTorch's formula and order of operations):
 * m = m*b1 + g*(1-b1); v = v*b2 + g*g*(1-b2);
 * p -= step_size * (m / (sqrt(v) / bc2_sqrt + eps)). */
void ef_adam_update(size_t n, float *p, const float *g, float *m, float *v, float b1, float b2,
                    float eps, float step_size, float bc2_sqrt);

#endif
