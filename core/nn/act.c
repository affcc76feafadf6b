#include "nn/act.h"

#include <math.h>

#include "nn/vmath_avx2.h"

void ef_act_sigmoid_libm(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f / (1.0f + expf(-x[i]));
}

void ef_act_tanh_libm(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tanhf(x[i]);
}


static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static void lstm_cell_generic(int B, int H, float *pre, const float *c_prev, float *c, float *h,
                              float *tc)
{
    for (int b = 0; b < B; b++) {
        float *p = pre + (size_t)b * 4 * H;
        size_t o = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float ig = sigm(p[j]), fg = sigm(p[H + j]), gg = tanhf(p[2 * H + j]);
            float og = sigm(p[3 * H + j]);
            p[j] = ig;
            p[H + j] = fg;
            p[2 * H + j] = gg;
            p[3 * H + j] = og;
            c[o + j] = fg * c_prev[o + j] + ig * gg;
            tc[o + j] = tanhf(c[o + j]);
            h[o + j] = og * tc[o + j];
        }
    }
}

static void gru_cell_generic(int B, int H, const float *gi, const float *gh, const float *h_prev,
                             float *act, float *hn, float *h)
{
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 3 * H, o = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float r = sigm(gi[g + j] + gh[g + j]);
            float z = sigm(gi[g + H + j] + gh[g + H + j]);
            float hnv = gh[g + 2 * H + j];
            float n = tanhf(gi[g + 2 * H + j] + r * hnv);
            act[g + j] = r;
            act[g + H + j] = z;
            act[g + 2 * H + j] = n;
            hn[o + j] = hnv;
            h[o + j] = (h_prev[o + j] - n) * z + n;
        }
    }
}

#ifdef EF_HAVE_X86

static EF_AVX2 __m256i tail_mask(int rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static EF_AVX2 void lstm_cell_avx2(int B, int H, float *pre, const float *c_prev, float *c,
                                   float *h, float *tc)
{
    for (int b = 0; b < B; b++) {
        float *p = pre + (size_t)b * 4 * H;
        size_t o = (size_t)b * H;
        for (int j = 0; j < H; j += 8) {
            __m256i m = tail_mask(H - j);
            __m256 ig = ef_sigmoid8(_mm256_maskload_ps(p + j, m));
            __m256 fg = ef_sigmoid8(_mm256_maskload_ps(p + H + j, m));
            __m256 gg = ef_tanh8(_mm256_maskload_ps(p + 2 * H + j, m));
            __m256 og = ef_sigmoid8(_mm256_maskload_ps(p + 3 * H + j, m));
            __m256 cp = _mm256_maskload_ps(c_prev + o + j, m);
            __m256 cn = _mm256_fmadd_ps(fg, cp, _mm256_mul_ps(ig, gg));
            __m256 t = ef_tanh8(cn);
            _mm256_maskstore_ps(p + j, m, ig);
            _mm256_maskstore_ps(p + H + j, m, fg);
            _mm256_maskstore_ps(p + 2 * H + j, m, gg);
            _mm256_maskstore_ps(p + 3 * H + j, m, og);
            _mm256_maskstore_ps(c + o + j, m, cn);
            _mm256_maskstore_ps(tc + o + j, m, t);
            _mm256_maskstore_ps(h + o + j, m, _mm256_mul_ps(og, t));
        }
    }
}

static EF_AVX2 void gru_cell_avx2(int B, int H, const float *gi, const float *gh,
                                  const float *h_prev, float *act, float *hn, float *h)
{
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 3 * H, o = (size_t)b * H;
        for (int j = 0; j < H; j += 8) {
            __m256i m = tail_mask(H - j);
            __m256 r = ef_sigmoid8(_mm256_add_ps(_mm256_maskload_ps(gi + g + j, m),
                                                 _mm256_maskload_ps(gh + g + j, m)));
            __m256 z = ef_sigmoid8(_mm256_add_ps(_mm256_maskload_ps(gi + g + H + j, m),
                                                 _mm256_maskload_ps(gh + g + H + j, m)));
            __m256 hv = _mm256_maskload_ps(gh + g + 2 * H + j, m);
            __m256 n = ef_tanh8(_mm256_fmadd_ps(r, hv, _mm256_maskload_ps(gi + g + 2 * H + j, m)));
            __m256 hp = _mm256_maskload_ps(h_prev + o + j, m);
            _mm256_maskstore_ps(act + g + j, m, r);
            _mm256_maskstore_ps(act + g + H + j, m, z);
            _mm256_maskstore_ps(act + g + 2 * H + j, m, n);
            _mm256_maskstore_ps(hn + o + j, m, hv);
            _mm256_maskstore_ps(h + o + j, m, _mm256_fmadd_ps(_mm256_sub_ps(hp, n), z, n));
        }
    }
}

int ef_act_vectorized(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The tail goes through a zero-padded 8-lane block, so every element gets
 * the same kernel (results do not depend on where an array ends). */
static EF_AVX2 void sigmoid_avx2(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, ef_sigmoid8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        for (size_t j = 0; j < n - i; j++)
            t[j] = x[i + j];
        _mm256_storeu_ps(t, ef_sigmoid8(_mm256_loadu_ps(t)));
        for (size_t j = 0; j < n - i; j++)
            x[i + j] = t[j];
    }
}

static EF_AVX2 void tanh_avx2(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, ef_tanh8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        for (size_t j = 0; j < n - i; j++)
            t[j] = x[i + j];
        _mm256_storeu_ps(t, ef_tanh8(_mm256_loadu_ps(t)));
        for (size_t j = 0; j < n - i; j++)
            x[i + j] = t[j];
    }
}

void ef_act_sigmoid(float *x, size_t n)
{
    if (ef_act_vectorized())
        sigmoid_avx2(x, n);
    else
        ef_act_sigmoid_libm(x, n);
}

void ef_act_tanh(float *x, size_t n)
{
    if (ef_act_vectorized())
        tanh_avx2(x, n);
    else
        ef_act_tanh_libm(x, n);
}

void ef_lstm_cell_forward(int B, int H, float *pre, const float *c_prev, float *c, float *h,
                          float *tc)
{
    if (ef_act_vectorized())
        lstm_cell_avx2(B, H, pre, c_prev, c, h, tc);
    else
        lstm_cell_generic(B, H, pre, c_prev, c, h, tc);
}

void ef_gru_cell_forward(int B, int H, const float *gi, const float *gh, const float *h_prev,
                         float *act, float *hn, float *h)
{
    if (ef_act_vectorized())
        gru_cell_avx2(B, H, gi, gh, h_prev, act, hn, h);
    else
        gru_cell_generic(B, H, gi, gh, h_prev, act, hn, h);
}
#else
int ef_act_vectorized(void)
{
    return 0;
}

void ef_act_sigmoid(float *x, size_t n)
{
    ef_act_sigmoid_libm(x, n);
}

void ef_act_tanh(float *x, size_t n)
{
    ef_act_tanh_libm(x, n);
}

void ef_lstm_cell_forward(int B, int H, float *pre, const float *c_prev, float *c, float *h,
                          float *tc)
{
    lstm_cell_generic(B, H, pre, c_prev, c, h, tc);
}

void ef_gru_cell_forward(int B, int H, const float *gi, const float *gh, const float *h_prev,
                         float *act, float *hn, float *h)
{
    gru_cell_generic(B, H, gi, gh, h_prev, act, hn, h);
}
#endif
