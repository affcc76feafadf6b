/* Inference cell kernels, padded layout: portable C and AVX2+FMA. On the
 * seed's 20x80 matrices a BLAS call costs more in setup than the whole
 * product, hence these register-blocked loops (measurements in
 * docs/performance.md, "Inference"). */
#include "nn/infer.h"

#include <math.h>

#include "nn/vmath_avx2.h"

int ef_infer_row_padded(const ef_infer_shape_t *sh, int gate, int unit)
{
    return gate * (sh->R / 4) + unit;
}

/* ---- portable C ---- */

static void gemv_generic(const ef_cell_job_t *j, int H, int R, float *acc)
{
    for (int r = 0; r < R; r++)
        acc[r] = j->bias[r];
    for (int c = 0; c < j->nx; c++) {
        const float *w = j->wx + (size_t)c * R;
        float xc = j->x[c];
        for (int r = 0; r < R; r++)
            acc[r] += w[r] * xc;
    }
    for (int c = 0; c < H; c++) {
        const float *w = j->wh + (size_t)c * R;
        float hc = j->hprev[c];
        for (int r = 0; r < R; r++)
            acc[r] += w[r] * hc;
    }
}

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void ef_infer_dense_generic(const float *wt, int nx, const float *x, const float *bias, int R,
                            float *y)
{
    for (int r = 0; r < R; r++)
        y[r] = bias[r];
    for (int c = 0; c < nx; c++)
        for (int r = 0; r < R; r++)
            y[r] += wt[(size_t)c * R + r] * x[c];
}

void ef_infer_cells_generic(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs)
{
    float acc[4 * EF_NET_MAX_HIDDEN];
    int P = sh->R / 4;
    for (int m = 0; m < M; m++) {
        const ef_cell_job_t *j = &jobs[m];
        gemv_generic(j, sh->H, sh->R, acc);
        for (int u = 0; u < P; u++) {
            if (!sh->gru) {
                float ig = sigm(acc[u]), fg = sigm(acc[P + u]);
                float gg = tanhf(acc[2 * P + u]), og = sigm(acc[3 * P + u]);
                j->c[u] = fg * j->c[u] + ig * gg;
                j->h[u] = og * tanhf(j->c[u]);
            } else {
                float r = sigm(acc[u]), z = sigm(acc[P + u]);
                float n = tanhf(acc[2 * P + u] + r * acc[3 * P + u]);
                j->h[u] = (j->hprev[u] - n) * z + n;
            }
        }
    }
}

/* ---- AVX2 + FMA ---- */
#ifdef EF_HAVE_X86

/* NV accumulators of 8 rows stay in registers across the whole sum; the
 * 12-wide block covers an H=20 LSTM (4 gates x 24 rows) in one pass. */
#define DEFINE_GEMV_BLOCK(NV)                                                                  \
    static inline EF_AVX2 void gemv_block_##NV(const float *wx, int nx, const float *x,       \
                                               const float *wh, int nh, const float *h,       \
                                               const float *bias, int R, float *acc)          \
    {                                                                                          \
        __m256 s[NV];                                                                          \
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) s[v] =                           \
            _mm256_loadu_ps(bias + 8 * v);                                                     \
        for (int j = 0; j < nx; j++) {                                                         \
            const float *w = wx + (size_t)j * R;                                               \
            __m256 xb = _mm256_broadcast_ss(x + j);                                            \
            _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) s[v] =                       \
                _mm256_fmadd_ps(_mm256_loadu_ps(w + 8 * v), xb, s[v]);                         \
        }                                                                                      \
        for (int j = 0; j < nh; j++) {                                                         \
            const float *w = wh + (size_t)j * R;                                               \
            __m256 hb = _mm256_broadcast_ss(h + j);                                            \
            _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) s[v] =                       \
                _mm256_fmadd_ps(_mm256_loadu_ps(w + 8 * v), hb, s[v]);                         \
        }                                                                                      \
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++)                                  \
            _mm256_storeu_ps(acc + 8 * v, s[v]);                                               \
    }

DEFINE_GEMV_BLOCK(12)
DEFINE_GEMV_BLOCK(4)
DEFINE_GEMV_BLOCK(1)

static EF_AVX2 void gemv_avx2(const float *wx, int nx, const float *x, const float *wh, int nh,
                              const float *h, const float *bias, int R, float *acc)
{
    int r = 0;
    for (; r + 96 <= R; r += 96)
        gemv_block_12(wx + r, nx, x, wh + r, nh, h, bias + r, R, acc + r);
    for (; r + 32 <= R; r += 32)
        gemv_block_4(wx + r, nx, x, wh + r, nh, h, bias + r, R, acc + r);
    for (; r < R; r += 8)
        gemv_block_1(wx + r, nx, x, wh + r, nh, h, bias + r, R, acc + r);
}

EF_AVX2 void ef_infer_dense_avx2(const float *wt, int nx, const float *x, const float *bias,
                                 int R, float *y)
{
    gemv_avx2(wt, nx, x, wt, 0, x, bias, R, y);
}

EF_AVX2 void ef_infer_cells_avx2(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs)
{
    float acc[4 * EF_NET_MAX_HIDDEN] __attribute__((aligned(32)));
    int P = sh->R / 4;
    for (int m = 0; m < M; m++) {
        const ef_cell_job_t *j = &jobs[m];
        gemv_avx2(j->wx, j->nx, j->x, j->wh, sh->H, j->hprev, j->bias, sh->R, acc);
        for (int u = 0; u < P; u += 8) {
            if (!sh->gru) {
                __m256 ig = ef_sigmoid8(_mm256_load_ps(acc + u));
                __m256 fg = ef_sigmoid8(_mm256_load_ps(acc + P + u));
                __m256 gg = ef_tanh8(_mm256_load_ps(acc + 2 * P + u));
                __m256 og = ef_sigmoid8(_mm256_load_ps(acc + 3 * P + u));
                __m256 c = _mm256_fmadd_ps(fg, _mm256_loadu_ps(j->c + u), _mm256_mul_ps(ig, gg));
                _mm256_storeu_ps(j->c + u, c);
                _mm256_storeu_ps(j->h + u, _mm256_mul_ps(og, ef_tanh8(c)));
            } else {
                __m256 r = ef_sigmoid8(_mm256_load_ps(acc + u));
                __m256 z = ef_sigmoid8(_mm256_load_ps(acc + P + u));
                __m256 n = ef_tanh8(_mm256_fmadd_ps(r, _mm256_load_ps(acc + 3 * P + u),
                                                    _mm256_load_ps(acc + 2 * P + u)));
                __m256 hp = _mm256_loadu_ps(j->hprev + u);
                _mm256_storeu_ps(j->h + u, _mm256_fmadd_ps(_mm256_sub_ps(hp, n), z, n));
            }
        }
    }
}
#endif
