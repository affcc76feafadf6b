#include "nn/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

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
