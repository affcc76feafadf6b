/* Inference cell kernel, segmented layout, AVX-512 (see infer.h).
 *
 * A job's accumulators (5 zmm for H = 20) stay in registers across the
 * product, then go through a small stack buffer for the cell update, whose
 * segment structure depends on H at run time.
 *
 * Lockstep: EF_INFER_LOCKSTEP independent jobs can share the loop over
 * columns (their accumulators side by side in the 32 registers) so their
 * dependency chains overlap. Measured on the shared Zen 4 development
 * machine (docs/performance.md, "Inference"): 2 jobs as fast as 1, 4 jobs 6%
 * slower -- a busy SMT sibling already fills the gaps. The default is 1;
 * build with -DEF_INFER_LOCKSTEP=2 or 4 to measure again elsewhere. */
#include "nn/infer.h"

#include "nn/vmath_avx512.h"

int ef_infer_shape_segment(ef_infer_shape_t *sh, int H)
{
    int u = 0, v = 0, n = 0;
    while (H - u >= 16) {
        sh->seg[n].u0 = u;
        sh->seg[n].w = 16;
        sh->seg[n++].v0 = v;
        u += 16;
        v += 4;
    }
    int r = H - u;
    if (r > 0) {
        int w = r > 8 ? 16 : r > 4 ? 8 : 4;
        sh->seg[n].u0 = u;
        sh->seg[n].w = w;
        sh->seg[n++].v0 = v;
        v += w / 4;
    }
    sh->nseg = n;
    sh->R = 16 * v;
    return v;
}

int ef_infer_row_segmented(const ef_infer_shape_t *sh, int gate, int unit)
{
    for (int s = 0; s < sh->nseg; s++) {
        int u0 = sh->seg[s].u0, w = sh->seg[s].w, v0 = sh->seg[s].v0;
        if (unit < u0 || unit >= u0 + w)
            continue;
        int lane = unit - u0;
        if (w == 16)
            return (v0 + gate) * 16 + lane;
        if (w == 8)
            return (v0 + gate / 2) * 16 + (gate % 2) * 8 + lane;
        return v0 * 16 + gate * 4 + lane;
    }
    return -1;
}

#ifdef EF_INFER_HAVE_X86

/* ---- cell updates, one segment of one job ---- */

static inline EF_AVX512 __m256 lo8(__m512 v)
{
    return _mm512_castps512_ps256(v);
}

static inline EF_AVX512 __m256 hi8(__m512 v)
{
    return _mm512_extractf32x8_ps(v, 1);
}

static inline EF_AVX512 __m256 tanh8z(__m256 v)
{
    return lo8(ef_tanh16(_mm512_zextps256_ps512(v)));
}

static inline EF_AVX512 __m128 tanh4z(__m128 v)
{
    return _mm512_castps512_ps128(ef_tanh16(_mm512_zextps128_ps512(v)));
}

static inline __attribute__((always_inline)) EF_AVX512 void lstm_segment(const float *a, int w, float *c, float *h)
{
    if (w == 16) {
        __m512 i = ef_sigmoid16(_mm512_load_ps(a)), f = ef_sigmoid16(_mm512_load_ps(a + 16));
        __m512 g = ef_tanh16(_mm512_load_ps(a + 32)), o = ef_sigmoid16(_mm512_load_ps(a + 48));
        __m512 cn = _mm512_fmadd_ps(f, _mm512_loadu_ps(c), _mm512_mul_ps(i, g));
        _mm512_storeu_ps(c, cn);
        _mm512_storeu_ps(h, _mm512_mul_ps(o, ef_tanh16(cn)));
    } else if (w == 8) {
        /* (i | f), (g | o): tanh on g's 8 lanes only */
        __m512 s = ef_sigmoid16(_mm512_load_ps(a)), q = ef_sigtanh16(_mm512_load_ps(a + 16), 0x00FF);
        __m256 g = lo8(q), o = hi8(q);
        __m256 cn = _mm256_fmadd_ps(hi8(s), _mm256_loadu_ps(c), _mm256_mul_ps(lo8(s), g));
        _mm256_storeu_ps(c, cn);
        _mm256_storeu_ps(h, _mm256_mul_ps(o, tanh8z(cn)));
    } else {
        /* (i | f | g | o): tanh on g's 4 lanes only */
        __m512 s = ef_sigtanh16(_mm512_load_ps(a), 0x0F00);
        __m128 i = _mm512_extractf32x4_ps(s, 0), f = _mm512_extractf32x4_ps(s, 1);
        __m128 g = _mm512_extractf32x4_ps(s, 2), o = _mm512_extractf32x4_ps(s, 3);
        __m128 cn = _mm_fmadd_ps(f, _mm_loadu_ps(c), _mm_mul_ps(i, g));
        _mm_storeu_ps(c, cn);
        _mm_storeu_ps(h, _mm_mul_ps(o, tanh4z(cn)));
    }
}

static inline __attribute__((always_inline)) EF_AVX512 void gru_segment(const float *a, int w, const float *hp, float *h)
{
    if (w == 16) {
        __m512 r = ef_sigmoid16(_mm512_load_ps(a)), z = ef_sigmoid16(_mm512_load_ps(a + 16));
        __m512 n = ef_tanh16(_mm512_fmadd_ps(r, _mm512_load_ps(a + 48), _mm512_load_ps(a + 32)));
        _mm512_storeu_ps(h, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(hp), n), z, n));
    } else if (w == 8) {
        __m512 s = ef_sigmoid16(_mm512_load_ps(a)), q = _mm512_load_ps(a + 16);
        __m256 n = tanh8z(_mm256_fmadd_ps(lo8(s), hi8(q), lo8(q)));
        __m256 z = hi8(s);
        _mm256_storeu_ps(h, _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(hp), n), z, n));
    } else {
        __m512 q = _mm512_load_ps(a), s = ef_sigmoid16(q);
        __m128 r = _mm512_extractf32x4_ps(s, 0), z = _mm512_extractf32x4_ps(s, 1);
        __m128 n = tanh4z(_mm_fmadd_ps(r, _mm512_extractf32x4_ps(q, 3),
                                       _mm512_extractf32x4_ps(q, 2)));
        _mm_storeu_ps(h, _mm_fmadd_ps(_mm_sub_ps(_mm_loadu_ps(hp), n), z, n));
    }
}

/* ---- M jobs of NV vectors in lockstep ---- */

/* GCC cannot see that the segment table only addresses the NV vectors
 * stored into `buf` (ef_infer_shape_segment builds both from H). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

static inline __attribute__((always_inline)) EF_AVX512 void
cells_impl(const ef_infer_shape_t *sh, const int NV, const int M, const ef_cell_job_t *jobs)
{
    __m512 acc[EF_INFER_MAX_JOBS][EF_INFER_AVX512_MAX_VECS];
    float buf[EF_INFER_MAX_JOBS][EF_INFER_AVX512_MAX_VECS * 16] __attribute__((aligned(64)));
    const int R = sh->R;
#pragma GCC unroll 4
    for (int m = 0; m < M; m++) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[m][v] = _mm512_loadu_ps(jobs[m].bias + 16 * v);
        for (int c = 0; c < jobs[m].nx; c++) {
            const float *w = jobs[m].wx + (size_t)c * R;
            __m512 xb = _mm512_set1_ps(jobs[m].x[c]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[m][v] = _mm512_fmadd_ps(_mm512_loadu_ps(w + 16 * v), xb, acc[m][v]);
        }
    }
    for (int c = 0; c < sh->H; c++) {
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            const float *w = jobs[m].wh + (size_t)c * R;
            __m512 hb = _mm512_set1_ps(jobs[m].hprev[c]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[m][v] = _mm512_fmadd_ps(_mm512_loadu_ps(w + 16 * v), hb, acc[m][v]);
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < M; m++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            _mm512_store_ps(buf[m] + 16 * v, acc[m][v]);
    for (int s = 0; s < sh->nseg; s++) {
        int u0 = sh->seg[s].u0, w = sh->seg[s].w, v0 = sh->seg[s].v0;
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            if (sh->gru)
                gru_segment(buf[m] + 16 * v0, w, jobs[m].hprev + u0, jobs[m].h + u0);
            else
                lstm_segment(buf[m] + 16 * v0, w, jobs[m].c + u0, jobs[m].h + u0);
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#ifndef EF_INFER_LOCKSTEP
#define EF_INFER_LOCKSTEP 1
#endif

#if EF_INFER_LOCKSTEP >= 4
#define LOCKSTEP_MORE(NV)                                                                      \
    case 2: cells_impl(sh, NV, 2, jobs); break;                                                \
    case 3: cells_impl(sh, NV, 3, jobs); break;                                                \
    case 4: cells_impl(sh, NV, 4, jobs); break;
#elif EF_INFER_LOCKSTEP >= 2
#define LOCKSTEP_MORE(NV)                                                                      \
    case 2: cells_impl(sh, NV, 2, jobs); break;
#else
#define LOCKSTEP_MORE(NV)
#endif

#define FOR_M(NV)                                                                              \
    case NV:                                                                                   \
        switch (take) {                                                                        \
            LOCKSTEP_MORE(NV)                                                                  \
        default: cells_impl(sh, NV, 1, jobs); break;                                           \
        }                                                                                      \
        break;

EF_AVX512 void ef_infer_cells_avx512(const ef_infer_shape_t *sh, int M, const ef_cell_job_t *jobs)
{
    int NV = sh->R / 16;
    /* keep the accumulators within the 32 registers */
    int max_m = NV <= 6 ? 4 : 3;
    if (max_m > EF_INFER_LOCKSTEP)
        max_m = EF_INFER_LOCKSTEP;
    while (M > 0) {
        int take = M < max_m ? M : max_m;
        switch (NV) {
            FOR_M(1)
            FOR_M(2)
            FOR_M(3)
            FOR_M(4)
            FOR_M(5)
            FOR_M(6)
            FOR_M(7)
            FOR_M(8)
        default: break;
        }
        jobs += take;
        M -= take;
    }
}
#endif
