#include "nn/ops.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EF_OPS_X86 1
#define EF_OPS_AVX2 __attribute__((target("avx2,fma")))
static int ops_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_one_thread(void)
{
    openblas_set_num_threads(1);
}

void ef_blas_single_thread(void)
{
    pthread_once(&blas_once, blas_one_thread);
}

void ef_mm_nt(int M, int N, int K, const float *A, const float *W, float *C, float beta)
{
    if (M <= 0 || N <= 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, W, K, beta, C, N);
}

void ef_mm_nn(int M, int N, int K, const float *A, const float *B, float *C, float beta)
{
    if (M <= 0 || N <= 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, beta, C, N);
}

void ef_mm_tn_acc(int M, int N, int K, const float *A, const float *B, float *C)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 1.0f, C, N);
}

void ef_dense_forward(float *out, const float *x, const float *w, const float *b, int B, int K,
                      int N)
{
    for (int r = 0; r < B; r++)
        memcpy(out + (size_t)r * N, b, (size_t)N * sizeof *out);
    ef_mm_nt(B, N, K, x, w, out, 1.0f);
}

void ef_dense_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, int B, int K, int N)
{
    ef_mm_tn_acc(N, K, B, dout, x, dw);
    for (int r = 0; r < B; r++)
        for (int j = 0; j < N; j++)
            db[j] += dout[(size_t)r * N + j];
    if (dx)
        ef_mm_nn(B, K, N, dout, w, dx, 0.0f);
}

void ef_relu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void ef_relu_backward(float *d, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(y[i] > 0.0f))
            d[i] = 0.0f;
}

void ef_softmax_rows(float *probs, const float *logits, int B, int K)
{
    for (int r = 0; r < B; r++) {
        const float *l = logits + (size_t)r * K;
        float *p = probs + (size_t)r * K;
        float mx = l[0];
        for (int j = 1; j < K; j++)
            if (l[j] > mx)
                mx = l[j];
        float sum = 0.0f;
        for (int j = 0; j < K; j++) {
            p[j] = expf(l[j] - mx);
            sum += p[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < K; j++)
            p[j] *= inv;
    }
}

float ef_cross_entropy(const float *probs, const float *logits, const int *labels,
                       const float *class_weights, int B, int K, float *dlogits)
{
    double num = 0.0, den = 0.0;
    for (int r = 0; r < B; r++) {
        int y = labels[r];
        if (y < 0 || y >= K)
            continue;
        double w = class_weights ? class_weights[y] : 1.0;
        /* -log softmax from the logits (log-sum-exp), not from the rounded
         * probability, so a confident wrong answer does not hit log(0). */
        const float *l = logits + (size_t)r * K;
        double mx = l[0];
        for (int j = 1; j < K; j++)
            if (l[j] > mx)
                mx = l[j];
        double s = 0.0;
        for (int j = 0; j < K; j++)
            s += exp((double)l[j] - mx);
        num += w * (mx + log(s) - (double)l[y]);
        den += w;
    }
    if (dlogits) {
        memset(dlogits, 0, (size_t)B * K * sizeof *dlogits);
        if (den > 0.0)
            for (int r = 0; r < B; r++) {
                int y = labels[r];
                if (y < 0 || y >= K)
                    continue;
                float scale = (float)((class_weights ? class_weights[y] : 1.0) / den);
                for (int j = 0; j < K; j++)
                    dlogits[(size_t)r * K + j] = probs[(size_t)r * K + j] * scale;
                dlogits[(size_t)r * K + y] -= scale;
            }
    }
    return den > 0.0 ? (float)(num / den) : 0.0f;
}

static void colsum_generic(float *acc, const float *m, size_t rows, int cols)
{
    for (size_t i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            acc[j] += m[i * (size_t)cols + j];
}

#ifdef EF_OPS_X86
static EF_OPS_AVX2 void colsum_avx2(float *acc, const float *m, size_t rows, int cols)
{
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
        __m256 s = _mm256_loadu_ps(acc + j);
        for (size_t i = 0; i < rows; i++)
            s = _mm256_add_ps(s, _mm256_loadu_ps(m + i * (size_t)cols + j));
        _mm256_storeu_ps(acc + j, s);
    }
    for (; j < cols; j++)
        for (size_t i = 0; i < rows; i++)
            acc[j] += m[i * (size_t)cols + j];
}
#endif

void ef_add_colsum(float *acc, const float *m, size_t rows, int cols)
{
#ifdef EF_OPS_X86
    if (ops_avx2()) {
        colsum_avx2(acc, m, rows, cols);
        return;
    }
#endif
    colsum_generic(acc, m, rows, cols);
}

static void adam_generic(size_t n, float *p, const float *g, float *m, float *v, float b1, float b2,
                         float eps, float step_size, float bc2_sqrt, size_t from)
{
    for (size_t i = from; i < n; i++) {
        m[i] = m[i] * b1 + g[i] * (1.0f - b1);
        v[i] = v[i] * b2 + g[i] * g[i] * (1.0f - b2);
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

#ifdef EF_OPS_X86
/* The same operations as adam_generic, 8 lanes at a time, no contraction
 * into FMAs: element results are identical to the scalar loop. */
static EF_OPS_AVX2 size_t adam_avx2(size_t n, float *p, const float *g, float *m, float *v,
                                    float b1, float b2, float eps, float step_size,
                                    float bc2_sqrt)
{
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - b1), c2 = _mm256_set1_ps(1.0f - b2);
    const __m256 ve = _mm256_set1_ps(eps), vs = _mm256_set1_ps(step_size);
    const __m256 vq = _mm256_set1_ps(bc2_sqrt);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), vb1), _mm256_mul_ps(gi, c1));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), vb2),
                                  _mm256_mul_ps(_mm256_mul_ps(gi, gi), c2));
        __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vq), ve);
        __m256 pi = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_mul_ps(vs, _mm256_div_ps(mi, den)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    return i;
}
#endif

void ef_adam_update(size_t n, float *p, const float *g, float *m, float *v, float b1, float b2,
                    float eps, float step_size, float bc2_sqrt)
{
    size_t from = 0;
#ifdef EF_OPS_X86
    if (ops_avx2())
        from = adam_avx2(n, p, g, m, v, b1, b2, eps, step_size, bc2_sqrt);
#endif
    adam_generic(n, p, g, m, v, b1, b2, eps, step_size, bc2_sqrt, from);
}
