/* Single-flow recurrent layers: a register-blocked matrix-vector product
 * per step followed by the cell update (see infer.h for the layout). On
 * 20x80-sized matrices a BLAS call costs more in setup than the whole
 * product; docs/performance-inference.md has the measurements. */
#include "nn/infer.h"

#include <math.h>

#include "nn/vmath_avx2.h"

/* ---- portable C ---- */

static void gemv_generic(const float *wx, int nx, const float *x, const float *wh, int nh,
                         const float *h, const float *bias, int R, float *acc)
{
    for (int r = 0; r < R; r++)
        acc[r] = bias[r];
    for (int j = 0; j < nx; j++) {
        const float *w = wx + (size_t)j * R;
        float xj = x[j];
        for (int r = 0; r < R; r++)
            acc[r] += w[r] * xj;
    }
    for (int j = 0; j < nh; j++) {
        const float *w = wh + (size_t)j * R;
        float hj = h[j];
        for (int r = 0; r < R; r++)
            acc[r] += w[r] * hj;
    }
}

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void ef_infer_dense_generic(const float *wt, int nx, const float *x, const float *bias, int R,
                            float *y)
{
    gemv_generic(wt, nx, x, NULL, 0, NULL, bias, R, y);
}

void ef_infer_lstm_layer_generic(const ef_infer_layer_args_t *a)
{
    int Hp = a->Hp;
    for (int t = 0; t < a->n; t++) {
        const float *h = t ? a->out + (size_t)(t - 1) * Hp : a->zero;
        gemv_generic(a->wx, a->nx, a->in + (size_t)t * a->in_stride, a->wh, a->H, h, a->bias,
                     a->R, a->acc);
        float *ho = a->out + (size_t)t * Hp;
        for (int u = 0; u < Hp; u++) {
            float ig = sigm(a->acc[u]), fg = sigm(a->acc[Hp + u]);
            float gg = tanhf(a->acc[2 * Hp + u]), og = sigm(a->acc[3 * Hp + u]);
            a->c[u] = fg * a->c[u] + ig * gg;
            ho[u] = og * tanhf(a->c[u]);
        }
    }
}

void ef_infer_gru_layer_generic(const ef_infer_layer_args_t *a)
{
    int Hp = a->Hp;
    for (int t = 0; t < a->n; t++) {
        const float *h = t ? a->out + (size_t)(t - 1) * Hp : a->zero;
        gemv_generic(a->wx, a->nx, a->in + (size_t)t * a->in_stride, a->wh, a->H, h, a->bias,
                     a->R, a->acc);
        float *ho = a->out + (size_t)t * Hp;
        for (int u = 0; u < Hp; u++) {
            float r = sigm(a->acc[u]), z = sigm(a->acc[Hp + u]);
            float n = tanhf(a->acc[2 * Hp + u] + r * a->acc[3 * Hp + u]);
            ho[u] = (h[u] - n) * z + n;
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

EF_AVX2 void ef_infer_lstm_layer_avx2(const ef_infer_layer_args_t *a)
{
    int Hp = a->Hp;
    const float *acc = a->acc;
    for (int t = 0; t < a->n; t++) {
        const float *h = t ? a->out + (size_t)(t - 1) * Hp : a->zero;
        gemv_avx2(a->wx, a->nx, a->in + (size_t)t * a->in_stride, a->wh, a->H, h, a->bias, a->R,
                  a->acc);
        float *ho = a->out + (size_t)t * Hp;
        for (int u = 0; u < Hp; u += 8) {
            __m256 ig = ef_sigmoid8(_mm256_loadu_ps(acc + u));
            __m256 fg = ef_sigmoid8(_mm256_loadu_ps(acc + Hp + u));
            __m256 gg = ef_tanh8(_mm256_loadu_ps(acc + 2 * Hp + u));
            __m256 og = ef_sigmoid8(_mm256_loadu_ps(acc + 3 * Hp + u));
            __m256 c = _mm256_fmadd_ps(fg, _mm256_loadu_ps(a->c + u), _mm256_mul_ps(ig, gg));
            _mm256_storeu_ps(a->c + u, c);
            _mm256_storeu_ps(ho + u, _mm256_mul_ps(og, ef_tanh8(c)));
        }
    }
}

EF_AVX2 void ef_infer_gru_layer_avx2(const ef_infer_layer_args_t *a)
{
    int Hp = a->Hp;
    const float *acc = a->acc;
    for (int t = 0; t < a->n; t++) {
        const float *h = t ? a->out + (size_t)(t - 1) * Hp : a->zero;
        gemv_avx2(a->wx, a->nx, a->in + (size_t)t * a->in_stride, a->wh, a->H, h, a->bias, a->R,
                  a->acc);
        float *ho = a->out + (size_t)t * Hp;
        for (int u = 0; u < Hp; u += 8) {
            __m256 r = ef_sigmoid8(_mm256_loadu_ps(acc + u));
            __m256 z = ef_sigmoid8(_mm256_loadu_ps(acc + Hp + u));
            __m256 n = ef_tanh8(_mm256_fmadd_ps(r, _mm256_loadu_ps(acc + 3 * Hp + u),
                                                _mm256_loadu_ps(acc + 2 * Hp + u)));
            __m256 hp = _mm256_loadu_ps(h + u);
            _mm256_storeu_ps(ho + u, _mm256_fmadd_ps(_mm256_sub_ps(hp, n), z, n));
        }
    }
}
#endif
