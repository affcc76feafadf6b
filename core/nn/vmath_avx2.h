/* 8-wide exp, sigmoid and tanh for AVX2+FMA, accurate to a few float ULPs
 * (measured by tests/unit/test_act.c against double precision; see
 * docs/models.md "Numerics"). These are not approximations in the
 * fast-math sense: they are the same kind of vectorised exact kernel as
 * PyTorch's CPU tanh/sigmoid (SLEEF, ~1 ULP), derived here from Taylor
 * series so every coefficient is a plain 1/k! or a tanh series term.
 * vmath_avx512.h is the same arithmetic 16 lanes wide.
 *
 * Only included by files compiled for x86; every function carries the
 * target attribute, so callers must be avx2,fma functions too (runtime
 * dispatch happens in act.c / infer.c). */
#ifndef EF_NN_VMATH_AVX2_H
#define EF_NN_VMATH_AVX2_H

#if defined(__x86_64__) || defined(__i386__)
#define EF_HAVE_X86 1
#include <immintrin.h>

#define EF_AVX2 __attribute__((target("avx2,fma")))

/* e^x for x in [-87.3, 88]; inputs outside are clamped (exp(-87.3) is the
 * smallest normal float region; 88 keeps 2^n finite). The callers only need
 * that range: sigmoid saturates long before, tanh uses |x| <= 10. */
static inline __attribute__((always_inline)) EF_AVX2 __m256 ef_exp8(__m256 x)
{
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f);        /* 355/512, exact */
    const __m256 ln2_lo = _mm256_set1_ps(-2.12194440054690583e-4f);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    __m256i ni = _mm256_cvtps_epi32(_mm256_mul_ps(x, log2e)); /* round to nearest */
    __m256 n = _mm256_cvtepi32_ps(ni);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r); /* |r| <= ln2/2 */
    /* Taylor to r^7 (truncation < 6e-9 relative on |r| <= 0.347), as
     * e^r = 1 + (r + r^2 q(r)), q = 1/2! + r/3! + ... + r^5/7! evaluated in
     * Estrin's form (a tree, not a chain: the activations are on the
     * critical path of every recurrent step); 1 is added last so r keeps
     * all its bits. */
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 r4 = _mm256_mul_ps(r2, r2);
    __m256 q23 = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 6.0f), r, _mm256_set1_ps(0.5f));
    __m256 q45 = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 120.0f), r, _mm256_set1_ps(1.0f / 24.0f));
    __m256 q67 = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 5040.0f), r, _mm256_set1_ps(1.0f / 720.0f));
    __m256 q = _mm256_fmadd_ps(q67, r4, _mm256_fmadd_ps(q45, r2, q23));
    __m256 p = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(r2, q, r));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* 1 / (1 + e^-x) */
static inline __attribute__((always_inline)) EF_AVX2 __m256 ef_sigmoid8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = ef_exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

/* tanh: an odd Taylor polynomial below |x| = 0.55 (where 1 - 2/(e^2x + 1)
 * would cancel), the exp form above, sign restored; |x| is capped at 10,
 * where tanh is 1 in float. */
static inline __attribute__((always_inline)) EF_AVX2 __m256 ef_tanh8(__m256 x)
{
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 sign = _mm256_and_ps(x, sign_mask);
    __m256 a = _mm256_andnot_ps(sign_mask, x);
    a = _mm256_min_ps(a, _mm256_set1_ps(10.0f));
    /* large: 1 - 2 / (e^(2a) + 1) */
    __m256 e = ef_exp8(_mm256_add_ps(a, a));
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    /* small: a (1 + u P(u)), u = a^2, tanh's series to a^19 (truncation
     * < 1e-8 relative), P in Estrin's form */
    __m256 u = _mm256_mul_ps(a, a);
    __m256 u2 = _mm256_mul_ps(u, u);
    __m256 u4 = _mm256_mul_ps(u2, u2);
    __m256 q12 = _mm256_fmadd_ps(_mm256_set1_ps((float)(2.0 / 15.0)), u,
                                 _mm256_set1_ps((float)(-1.0 / 3.0)));
    __m256 q34 = _mm256_fmadd_ps(_mm256_set1_ps((float)(62.0 / 2835.0)), u,
                                 _mm256_set1_ps((float)(-17.0 / 315.0)));
    __m256 q56 = _mm256_fmadd_ps(_mm256_set1_ps((float)(21844.0 / 6081075.0)), u,
                                 _mm256_set1_ps((float)(-1382.0 / 155925.0)));
    __m256 q78 = _mm256_fmadd_ps(_mm256_set1_ps((float)(6404582.0 / 10854718875.0)), u,
                                 _mm256_set1_ps((float)(-929569.0 / 638512875.0)));
    __m256 q14 = _mm256_fmadd_ps(q34, u2, q12);
    __m256 q58 = _mm256_fmadd_ps(q78, u2, q56);
    __m256 q59 = _mm256_fmadd_ps(_mm256_set1_ps((float)(-443861162.0 / 1856156927625.0)), u4,
                                 q58);
    __m256 q = _mm256_fmadd_ps(q59, u4, q14);
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(q, u), a, a);
    __m256 use_small = _mm256_cmp_ps(a, _mm256_set1_ps(0.55f), _CMP_LT_OQ);
    __m256 t = _mm256_blendv_ps(big, small, use_small);
    return _mm256_or_ps(t, sign);
}

#endif /* x86 */
#endif
