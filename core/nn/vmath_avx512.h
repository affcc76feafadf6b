/* 16-wide exp, sigmoid and tanh for AVX-512F: the same functions as
 * vmath_avx2.h (same range reduction and series, hence the same accuracy,
 * checked by tests/unit/test_act.c), with the polynomials evaluated in
 * Estrin's scheme (a tree of FMAs instead of a chain) because in a
 * recurrent step the activations sit on the critical path, where latency
 * counts more than instruction count. */
#ifndef EF_NN_VMATH_AVX512_H
#define EF_NN_VMATH_AVX512_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define EF_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))

static inline __attribute__((always_inline)) EF_AVX512 __m512 ef_exp16(__m512 x)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f);
    const __m512 ln2_lo = _mm512_set1_ps(-2.12194440054690583e-4f);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    /* e^r = 1 + (r + r^2 q(r)), q = 1/2! + r/3! + ... + r^5/7! in Estrin's
     * form (c2 + c3 r) + r^2 (c4 + c5 r) + r^4 (c6 + c7 r); the 1 is added
     * last so r keeps all its bits, as in the Horner form. */
    __m512 r2 = _mm512_mul_ps(r, r);
    __m512 r4 = _mm512_mul_ps(r2, r2);
    __m512 q23 = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 6.0f), r, _mm512_set1_ps(0.5f));
    __m512 q45 = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 120.0f), r, _mm512_set1_ps(1.0f / 24.0f));
    __m512 q67 = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 5040.0f), r, _mm512_set1_ps(1.0f / 720.0f));
    __m512 q = _mm512_fmadd_ps(q67, r4, _mm512_fmadd_ps(q45, r2, q23));
    __m512 p = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(r2, q, r));
    /* 2^n by building the exponent: n is in [-126, 127] after the clamp */
    return _mm512_scalef_ps(p, n);
}

static inline __attribute__((always_inline)) EF_AVX512 __m512 ef_sigmoid16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, ef_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

/* tanh(x) from a = |x| (clamped) and big = 1 - 2 / (1 + e^2a), the form
 * that is exact enough from |x| = 0.55 up: below it, a (1 + u P(u)) with
 * u = a^2 and P the odd series' next 9 terms in Estrin's form (1 - 2d would
 * cancel); then the sign of x. */
static inline __attribute__((always_inline)) EF_AVX512 __m512 ef_tanh_finish16(__m512 x, __m512 a,
                                                                              __m512 big)
{
    __m512 u = _mm512_mul_ps(a, a);
    __m512 u2 = _mm512_mul_ps(u, u);
    __m512 u4 = _mm512_mul_ps(u2, u2);
    __m512 c1 = _mm512_set1_ps((float)(-1.0 / 3.0)), c2 = _mm512_set1_ps((float)(2.0 / 15.0));
    __m512 c3 = _mm512_set1_ps((float)(-17.0 / 315.0)), c4 = _mm512_set1_ps((float)(62.0 / 2835.0));
    __m512 c5 = _mm512_set1_ps((float)(-1382.0 / 155925.0));
    __m512 c6 = _mm512_set1_ps((float)(21844.0 / 6081075.0));
    __m512 c7 = _mm512_set1_ps((float)(-929569.0 / 638512875.0));
    __m512 c8 = _mm512_set1_ps((float)(6404582.0 / 10854718875.0));
    __m512 c9 = _mm512_set1_ps((float)(-443861162.0 / 1856156927625.0));
    __m512 q12 = _mm512_fmadd_ps(c2, u, c1);
    __m512 q34 = _mm512_fmadd_ps(c4, u, c3);
    __m512 q56 = _mm512_fmadd_ps(c6, u, c5);
    __m512 q78 = _mm512_fmadd_ps(c8, u, c7);
    __m512 q14 = _mm512_fmadd_ps(q34, u2, q12);
    __m512 q58 = _mm512_fmadd_ps(q78, u2, q56);
    __m512 q59 = _mm512_fmadd_ps(c9, u4, q58);
    __m512 q = _mm512_fmadd_ps(q59, u4, q14);
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(q, u), a, a);
    __mmask16 use_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.55f), _CMP_LT_OQ);
    __m512 t = _mm512_mask_blend_ps(use_small, big, small);
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(t),
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

static inline __attribute__((always_inline)) EF_AVX512 __m512 ef_tanh16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 a = _mm512_abs_ps(x);
    a = _mm512_min_ps(a, _mm512_set1_ps(10.0f));
    __m512 e = ef_exp16(_mm512_add_ps(a, a));
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
    return ef_tanh_finish16(x, a, big);
}

/* sigmoid on the lanes of x outside `tanh_lanes`, tanh on those inside,
 * with one exp and one division for both: sigmoid(x) = 1 / (1 + e^-x) and,
 * for a = |x|, tanh(a) = 1 - 2 / (1 + e^2a) share the form 1 / (1 + e^y).
 * Below |x| = 0.55, tanh uses its odd series (1 - 2d would cancel). */
static inline __attribute__((always_inline)) EF_AVX512 __m512 ef_sigtanh16(__m512 x, __mmask16 tanh_lanes)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 a = _mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(10.0f));
    __m512 y = _mm512_mask_blend_ps(tanh_lanes, _mm512_sub_ps(_mm512_setzero_ps(), x),
                                    _mm512_add_ps(a, a));
    __m512 d = _mm512_div_ps(one, _mm512_add_ps(one, ef_exp16(y)));
    if (!tanh_lanes)
        return d;
    __m512 big = _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), d, one);
    return _mm512_mask_blend_ps(tanh_lanes, d, ef_tanh_finish16(x, a, big));
}

#endif /* x86 */
#endif
