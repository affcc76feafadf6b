#include "nn/act.h"

#include <math.h>

#include "nn/vmath_avx2.h"
#include "nn/vmath_avx512.h"

static void sigmoid_generic(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void tanh_generic(float *x, size_t n)
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

/* AVX-512 versions: 16 lanes and k-masked tails (AMD's AVX2 masked stores
 * are slow; AVX-512 masked stores are not). */
#define EF_AVX512_ACT __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))

static EF_AVX512_ACT void lstm_cell_avx512(int B, int H, float *pre, const float *c_prev,
                                            float *c, float *h, float *tc)
{
    for (int b = 0; b < B; b++) {
        float *p = pre + (size_t)b * 4 * H;
        size_t o = (size_t)b * H;
        for (int j = 0; j < H; j += 16) {
            __mmask16 m = (__mmask16)(H - j >= 16 ? 0xFFFF : (1u << (H - j)) - 1);
            __m512 ig = ef_sigmoid16(_mm512_maskz_loadu_ps(m, p + j));
            __m512 fg = ef_sigmoid16(_mm512_maskz_loadu_ps(m, p + H + j));
            __m512 gg = ef_tanh16(_mm512_maskz_loadu_ps(m, p + 2 * H + j));
            __m512 og = ef_sigmoid16(_mm512_maskz_loadu_ps(m, p + 3 * H + j));
            __m512 cp = _mm512_maskz_loadu_ps(m, c_prev + o + j);
            __m512 cn = _mm512_fmadd_ps(fg, cp, _mm512_mul_ps(ig, gg));
            __m512 t = ef_tanh16(cn);
            _mm512_mask_storeu_ps(p + j, m, ig);
            _mm512_mask_storeu_ps(p + H + j, m, fg);
            _mm512_mask_storeu_ps(p + 2 * H + j, m, gg);
            _mm512_mask_storeu_ps(p + 3 * H + j, m, og);
            _mm512_mask_storeu_ps(c + o + j, m, cn);
            _mm512_mask_storeu_ps(tc + o + j, m, t);
            _mm512_mask_storeu_ps(h + o + j, m, _mm512_mul_ps(og, t));
        }
    }
}

static EF_AVX512_ACT void gru_cell_avx512(int B, int H, const float *gi, const float *gh,
                                           const float *h_prev, float *act, float *hn, float *h)
{
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 3 * H, o = (size_t)b * H;
        for (int j = 0; j < H; j += 16) {
            __mmask16 m = (__mmask16)(H - j >= 16 ? 0xFFFF : (1u << (H - j)) - 1);
            __m512 r = ef_sigmoid16(_mm512_add_ps(_mm512_maskz_loadu_ps(m, gi + g + j),
                                                  _mm512_maskz_loadu_ps(m, gh + g + j)));
            __m512 z = ef_sigmoid16(_mm512_add_ps(_mm512_maskz_loadu_ps(m, gi + g + H + j),
                                                  _mm512_maskz_loadu_ps(m, gh + g + H + j)));
            __m512 hv = _mm512_maskz_loadu_ps(m, gh + g + 2 * H + j);
            __m512 n = ef_tanh16(
                _mm512_fmadd_ps(r, hv, _mm512_maskz_loadu_ps(m, gi + g + 2 * H + j)));
            __m512 hp = _mm512_maskz_loadu_ps(m, h_prev + o + j);
            _mm512_mask_storeu_ps(act + g + j, m, r);
            _mm512_mask_storeu_ps(act + g + H + j, m, z);
            _mm512_mask_storeu_ps(act + g + 2 * H + j, m, n);
            _mm512_mask_storeu_ps(hn + o + j, m, hv);
            _mm512_mask_storeu_ps(h + o + j, m, _mm512_fmadd_ps(_mm512_sub_ps(hp, n), z, n));
        }
    }
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

static EF_AVX512_ACT void sigmoid_avx512(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, ef_sigmoid16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static EF_AVX512_ACT void tanh_avx512(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, ef_tanh16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
#endif /* EF_HAVE_X86 */

/* ---- dispatch ---- */

int ef_isa_supported(ef_isa_t isa)
{
    switch (isa) {
    case EF_ISA_AUTO:
    case EF_ISA_PORTABLE:
        return 1;
#ifdef EF_HAVE_X86
    case EF_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EF_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

ef_isa_t ef_isa_best(void)
{
    return ef_isa_supported(EF_ISA_AVX512) ? EF_ISA_AVX512
         : ef_isa_supported(EF_ISA_AVX2) ? EF_ISA_AVX2 : EF_ISA_PORTABLE;
}

const char *ef_isa_name(ef_isa_t isa)
{
    switch (isa) {
    case EF_ISA_PORTABLE: return "portable";
    case EF_ISA_AVX2: return "avx2";
    case EF_ISA_AVX512: return "avx512";
    default: return "auto";
    }
}

static ef_isa_t resolve(ef_isa_t isa)
{
    if (isa == EF_ISA_AUTO)
        return ef_isa_best();
    return ef_isa_supported(isa) ? isa : (ef_isa_t)-1;
}

int ef_act_sigmoid_isa(ef_isa_t isa, float *x, size_t n)
{
    switch (resolve(isa)) {
    case EF_ISA_PORTABLE: sigmoid_generic(x, n); return 0;
#ifdef EF_HAVE_X86
    case EF_ISA_AVX2: sigmoid_avx2(x, n); return 0;
    case EF_ISA_AVX512: sigmoid_avx512(x, n); return 0;
#endif
    default: return -1;
    }
}

int ef_act_tanh_isa(ef_isa_t isa, float *x, size_t n)
{
    switch (resolve(isa)) {
    case EF_ISA_PORTABLE: tanh_generic(x, n); return 0;
#ifdef EF_HAVE_X86
    case EF_ISA_AVX2: tanh_avx2(x, n); return 0;
    case EF_ISA_AVX512: tanh_avx512(x, n); return 0;
#endif
    default: return -1;
    }
}

void ef_act_sigmoid(float *x, size_t n)
{
    ef_act_sigmoid_isa(EF_ISA_AUTO, x, n);
}

void ef_act_tanh(float *x, size_t n)
{
    ef_act_tanh_isa(EF_ISA_AUTO, x, n);
}

int ef_lstm_cell_forward_isa(ef_isa_t isa, int B, int H, float *pre, const float *c_prev,
                             float *c, float *h, float *tc)
{
    switch (resolve(isa)) {
    case EF_ISA_PORTABLE: lstm_cell_generic(B, H, pre, c_prev, c, h, tc); return 0;
#ifdef EF_HAVE_X86
    case EF_ISA_AVX2: lstm_cell_avx2(B, H, pre, c_prev, c, h, tc); return 0;
    case EF_ISA_AVX512: lstm_cell_avx512(B, H, pre, c_prev, c, h, tc); return 0;
#endif
    default: return -1;
    }
}

void ef_lstm_cell_forward(int B, int H, float *pre, const float *c_prev, float *c, float *h,
                          float *tc)
{
    ef_lstm_cell_forward_isa(EF_ISA_AUTO, B, H, pre, c_prev, c, h, tc);
}

int ef_gru_cell_forward_isa(ef_isa_t isa, int B, int H, const float *gi, const float *gh,
                            const float *h_prev, float *act, float *hn, float *h)
{
    switch (resolve(isa)) {
    case EF_ISA_PORTABLE: gru_cell_generic(B, H, gi, gh, h_prev, act, hn, h); return 0;
#ifdef EF_HAVE_X86
    case EF_ISA_AVX2: gru_cell_avx2(B, H, gi, gh, h_prev, act, hn, h); return 0;
    case EF_ISA_AVX512: gru_cell_avx512(B, H, gi, gh, h_prev, act, hn, h); return 0;
#endif
    default: return -1;
    }
}

void ef_gru_cell_forward(int B, int H, const float *gi, const float *gh, const float *h_prev,
                         float *act, float *hn, float *h)
{
    ef_gru_cell_forward_isa(EF_ISA_AUTO, B, H, gi, gh, h_prev, act, hn, h);
}
