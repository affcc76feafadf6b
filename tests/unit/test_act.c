/* Activation kernels, every implementation this CPU has (portable C,
 * AVX2, AVX-512): sigmoid/tanh are accurate to a few float ULPs against
 * double precision over the whole useful range (the same standard as libm),
 * and the fused LSTM/GRU cells compute PyTorch's cell equations.
 * docs/models.md "Numerics" quotes these bounds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/act.h"
#include "nn/ops.h"

static double ulps(float got, double want)
{
    float w = (float)fabs(want);
    double ulp = w == 0.0f ? ldexp(1.0, -149) : (double)(nextafterf(w, INFINITY) - w);
    return fabs((double)got - want) / ulp;
}

/* Every float in [lo, hi) at a stride, plus tiny magnitudes. */
static size_t grid(float *x, size_t cap, float lo, float hi)
{
    size_t n = 0;
    for (double v = lo; v < hi && n < cap - 2000; v += (hi - lo) / (double)(cap - 2000))
        x[n++] = (float)v;
    for (int i = 1; i <= 1000 && n < cap; i++) {
        x[n++] = (float)(i * 1e-7);
        x[n++] = (float)(-i * 1e-4);
    }
    return n;
}

static const ef_isa_t isas[] = {EF_ISA_PORTABLE, EF_ISA_AVX2, EF_ISA_AVX512};

START_TEST(sigmoid_and_tanh_are_accurate)
{
    ef_isa_t isa = isas[_i];
    if (!ef_isa_supported(isa)) {
        ck_assert_int_eq(ef_act_tanh_isa(isa, NULL, 0), -1);
        return; /* this CPU cannot run it */
    }
    enum { CAP = 1 << 20 };
    float *x = malloc(CAP * sizeof *x), *y = malloc(CAP * sizeof *y);
    size_t n = grid(x, CAP, -30.0f, 30.0f);
    memcpy(y, x, n * sizeof *y);
    ck_assert_int_eq(ef_act_sigmoid_isa(isa, y, n), 0);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, ulps(y[i], 1.0 / (1.0 + exp(-(double)x[i]))));
    ck_assert_msg(worst <= 3.0, "%s sigmoid: %.2f ulp", ef_isa_name(isa), worst);
    memcpy(y, x, n * sizeof *y);
    ck_assert_int_eq(ef_act_tanh_isa(isa, y, n), 0);
    worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, ulps(y[i], tanh((double)x[i])));
    ck_assert_msg(worst <= 2.5, "%s tanh: %.2f ulp", ef_isa_name(isa), worst);
    /* saturation and symmetry */
    float e[6] = {100.0f, -100.0f, 0.0f, -0.0f, 1e30f, -1e30f};
    ef_act_tanh_isa(isa, e, 6);
    ck_assert(e[0] == 1.0f && e[1] == -1.0f && e[2] == 0.0f && e[4] == 1.0f && e[5] == -1.0f);
    float s[3] = {100.0f, -100.0f, 0.0f};
    ef_act_sigmoid_isa(isa, s, 3);
    ck_assert(s[0] == 1.0f && s[1] < 1e-38f && s[1] >= 0.0f && s[2] == 0.5f);
    free(x);
    free(y);
}
END_TEST

START_TEST(array_tails_use_the_same_kernel)
{
    /* the element value does not depend on its position or the array size */
    for (size_t k = 0; k < 3; k++) {
        if (!ef_isa_supported(isas[k]))
            continue;
        float a[37], b[1];
        for (int i = 0; i < 37; i++)
            a[i] = 0.37f;
        ef_act_tanh_isa(isas[k], a, 37);
        b[0] = 0.37f;
        ef_act_tanh_isa(isas[k], b, 1);
        for (int i = 0; i < 37; i++)
            ck_assert(a[i] == b[0]);
    }
}
END_TEST

static double sg(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

START_TEST(lstm_cell_follows_pytorch)
{
    ef_isa_t isa = isas[_i];
    if (!ef_isa_supported(isa))
        return;
    enum { B = 3, H = 11 }; /* H not a multiple of 8: the masked tail is exercised */
    float pre[B * 4 * H], orig[B * 4 * H], cp[B * H], c[B * H], h[B * H], tc[B * H];
    for (int i = 0; i < B * 4 * H; i++)
        orig[i] = pre[i] = (float)sin(i * 1.7) * 3.0f;
    for (int i = 0; i < B * H; i++)
        cp[i] = (float)cos(i * 0.9);
    ck_assert_int_eq(ef_lstm_cell_forward_isa(isa, B, H, pre, cp, c, h, tc), 0);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *p = orig + b * 4 * H;
            double ig = sg(p[j]), fg = sg(p[H + j]), gg = tanh(p[2 * H + j]), og = sg(p[3 * H + j]);
            double cc = fg * cp[b * H + j] + ig * gg, hh = og * tanh(cc);
            ck_assert(fabs(c[b * H + j] - cc) < 1e-6 && fabs(h[b * H + j] - hh) < 1e-6);
            ck_assert(fabs(pre[b * 4 * H + 2 * H + j] - gg) < 1e-6);
            ck_assert(fabs(pre[b * 4 * H + 3 * H + j] - og) < 1e-6);
            ck_assert(fabs(tc[b * H + j] - tanh(cc)) < 1e-6);
        }
}
END_TEST

START_TEST(gru_cell_follows_pytorch)
{
    ef_isa_t isa = isas[_i];
    if (!ef_isa_supported(isa))
        return;
    enum { B = 2, H = 9 };
    float gi[B * 3 * H], gh[B * 3 * H], hp[B * H], act[B * 3 * H], hn[B * H], h[B * H];
    for (int i = 0; i < B * 3 * H; i++) {
        gi[i] = (float)sin(i * 0.77) * 2.0f;
        gh[i] = (float)cos(i * 1.31) * 2.0f;
    }
    for (int i = 0; i < B * H; i++)
        hp[i] = (float)sin(i * 2.1);
    ck_assert_int_eq(ef_gru_cell_forward_isa(isa, B, H, gi, gh, hp, act, hn, h), 0);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *a = gi + b * 3 * H, *g = gh + b * 3 * H;
            double r = sg(a[j] + g[j]), z = sg(a[H + j] + g[H + j]);
            double n = tanh(a[2 * H + j] + r * g[2 * H + j]);
            double want = (1.0 - z) * n + z * hp[b * H + j];
            ck_assert(fabs(h[b * H + j] - want) < 1e-6);
            ck_assert(hn[b * H + j] == g[2 * H + j]);
            ck_assert(fabs(act[b * 3 * H + 2 * H + j] - n) < 1e-6);
        }
}
END_TEST

/* The vectorised Adam update is element for element the scalar formula
 * (no FMA contraction), so training is bit-identical whichever runs. */
START_TEST(adam_update_is_the_scalar_formula)
{
    enum { N = 29 };
    float p[N], g[N], m[N], v[N], rp[N], rm[N], rv[N];
    for (int i = 0; i < N; i++) {
        rp[i] = p[i] = (float)sin(i * 0.3);
        g[i] = (float)cos(i * 1.1) * 0.01f;
        rm[i] = m[i] = (float)sin(i * 2.0) * 0.001f;
        rv[i] = v[i] = (float)(i % 5) * 1e-6f;
    }
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, ss = 0.0123f, q = 0.0447f;
    ef_adam_update(N, p, g, m, v, b1, b2, eps, ss, q);
    for (int i = 0; i < N; i++) {
        rm[i] = rm[i] * b1 + g[i] * (1.0f - b1);
        rv[i] = rv[i] * b2 + g[i] * g[i] * (1.0f - b2);
        float den = sqrtf(rv[i]) / q + eps;
        rp[i] -= ss * (rm[i] / den);
        ck_assert_msg(p[i] == rp[i] && m[i] == rm[i] && v[i] == rv[i], "element %d", i);
    }
}
END_TEST

START_TEST(column_sums)
{
    float m[7 * 19], acc[19];
    for (int i = 0; i < 7 * 19; i++)
        m[i] = (float)(i % 11) - 5.0f;
    for (int j = 0; j < 19; j++)
        acc[j] = 1.0f;
    ef_add_colsum(acc, m, 7, 19);
    for (int j = 0; j < 19; j++) {
        float want = 1.0f;
        for (int i = 0; i < 7; i++)
            want += m[i * 19 + j];
        ck_assert(acc[j] == want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("act");
    TCase *tc = tcase_create("act");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, sigmoid_and_tanh_are_accurate, 0, 3);
    tcase_add_test(tc, array_tails_use_the_same_kernel);
    tcase_add_loop_test(tc, lstm_cell_follows_pytorch, 0, 3);
    tcase_add_loop_test(tc, gru_cell_follows_pytorch, 0, 3);
    tcase_add_test(tc, adam_update_is_the_scalar_formula);
    tcase_add_test(tc, column_sums);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
