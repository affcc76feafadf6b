/* Central-difference gradient checks: for tiny models of every
 * architecture, d(loss)/d(p) from ef_net_forward_backward agrees with
 * (L(p + e) - L(p - e)) / 2e for every element of every parameter tensor.
 *
 * Tolerance (float32 loss, e = 2^-9 ~ 2e-3): the difference quotient carries
 * a rounding error of about ulp(L) / e ~ 1e-4 / 2 for L ~ 1 and a truncation
 * error e^2 L''' / 6 ~ 1e-6, so an element passes when
 *     |numeric - analytic| <= 3e-4 + 1e-2 * |analytic|.
 * A wrong backward (a missing term, a transposed matrix, a wrong gate)
 * produces errors of the order of the gradient itself, far above that;
 * tests/unit/test_nn_parity.c holds the exact (1e-4) comparison with
 * PyTorch. The check is also run with the variable-length batch, and each
 * tensor must have some gradient > 1e-3 (so the comparison is not 0 = 0),
 * except the context-layer rows that the classifier never reads, whose
 * gradient must be exactly 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/layout.h"
#include "nn/net.h"
#include "nn/rng.h"

#define EPS (1.0f / 512.0f)
#ifndef TOL_ABS
#define TOL_ABS 3e-4
#endif
#ifndef TOL_REL
#define TOL_REL 1e-2
#endif

static const ef_arch_t archs[] = {EF_ARCH_MLP, EF_ARCH_LSTM, EF_ARCH_BILSTM, EF_ARCH_SEQ2SEQ,
                                  EF_ARCH_AUTOENC, EF_ARCH_GRU, EF_ARCH_BIGRU};

enum { B = 4, K = 3, T = 3 };

/* Rows of the context layer's output that feed the classifier (the top
 * layer's h part); the other rows have no effect on a classifier's loss. */
static int ctx_row_used(const ef_net_config_t *c, int row)
{
    int per = ef_arch_gates(c->arch) == 4 ? 2 : 1;
    int top = (c->layers - 1) * per * c->context;
    return row >= top && row < top + c->context;
}

static int unused_element(const ef_net_config_t *c, const ef_tensor_info_t *t, size_t e)
{
    if (c->arch == EF_ARCH_AUTOENC || strncmp(t->name, "mlp", 3) != 0)
        return 0;
    int row = t->ndim == 2 ? (int)(e / (size_t)t->shape[1]) : (int)e;
    return !ctx_row_used(c, row);
}

START_TEST(gradients_match_central_differences)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, archs[_i], T, K);
    cfg.hidden = 3;
    cfg.layers = 2;
    cfg.context = 2;
    if (archs[_i] == EF_ARCH_BIGRU)
        cfg.features = 3;
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, B, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ef_net_init(net, EF_INIT_TORCH, 11 + (uint64_t)_i);
    /* larger weights than the default make every nonlinearity matter */
    float *p = ef_net_params(net);
    for (size_t i = 0; i < ef_net_num_params(net); i++)
        p[i] *= 2.5f;
    ef_rng_t rng;
    ef_rng_seed(&rng, 5);
    float x[B * T * 3];
    for (int i = 0; i < B * T * cfg.features; i++)
        x[i] = ef_rng_uniform(&rng);
    int n[B] = {3, 2, 1, 3};
    int labels[B] = {0, 2, 1, 2};
    float w[K] = {0.7f, 1.5f, 1.1f};

    ef_net_zero_grad(net);
    ef_net_forward_backward(net, B, x, n, labels, w);
    size_t np = ef_net_num_params(net);
    float *grad = malloc(np * sizeof *grad);
    memcpy(grad, ef_net_grads(net), np * sizeof *grad);

    for (int ti = 0; ti < ef_net_num_tensors(net); ti++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, ti);
        size_t count = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        double worst = 0.0, largest = 0.0;
        size_t worst_at = 0;
        for (size_t e = 0; e < count; e++) {
            float *q = p + t->offset + e, keep = *q;
            *q = keep + EPS;
            double lp = ef_net_loss(net, B, x, n, labels, w);
            *q = keep - EPS;
            double lm = ef_net_loss(net, B, x, n, labels, w);
            *q = keep;
            double num = (lp - lm) / (2.0 * EPS), ana = grad[t->offset + e];
            if (unused_element(&cfg, t, e)) {
                ck_assert_msg(ana == 0.0 && num == 0.0, "%s %s[%zu]: unused row has gradient %g",
                              ef_arch_name(cfg.arch), t->name, e, ana);
                continue;
            }
            double excess = fabs(num - ana) - (TOL_ABS + TOL_REL * fabs(ana));
            if (excess > worst || e == 0) {
                worst = excess;
                worst_at = e;
            }
            largest = fmax(largest, fabs(ana));
        }
        size_t e = worst_at;
        ck_assert_msg(worst <= 0.0, "%s %s[%zu]: analytic %.6g, numeric off by %.3g beyond "
                      "tolerance", ef_arch_name(cfg.arch), t->name, e, grad[t->offset + e], worst);
        ck_assert_msg(largest > 1e-3, "%s %s: all gradients below 1e-3 (%.3g): the check "
                      "would be vacuous", ef_arch_name(cfg.arch), t->name, largest);
    }
    free(grad);
    ef_net_free(net);
}
END_TEST

/* The gradient is a sum over the batch: two calls on halves add up to the
 * call on the whole (up to the mean's weighting), and zero_grad resets. */
START_TEST(gradients_accumulate_and_reset)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, EF_ARCH_BILSTM, T, K);
    cfg.hidden = 4;
    ef_net_t *net = ef_net_new(&cfg, B, NULL);
    ef_net_init(net, EF_INIT_TORCH, 3);
    float x[B * T * 2];
    for (int i = 0; i < B * T * 2; i++)
        x[i] = (float)(i % 7) / 7.0f;
    int n[B] = {3, 3, 2, 1}, labels[B] = {0, 1, 2, 0};
    size_t np = ef_net_num_params(net);
    ef_net_zero_grad(net);
    ef_net_forward_backward(net, B, x, n, labels, NULL);
    float *whole = malloc(np * sizeof(float));
    memcpy(whole, ef_net_grads(net), np * sizeof(float));
    ef_net_zero_grad(net);
    for (size_t i = 0; i < np; i++)
        ck_assert(ef_net_grads(net)[i] == 0.0f);
    ef_net_forward_backward(net, 2, x, n, labels, NULL);
    ef_net_forward_backward(net, 2, x + 2 * T * 2, n + 2, labels + 2, NULL);
    /* each half is a mean over 2: the sum of the halves is twice the whole */
    for (size_t i = 0; i < np; i++)
        ck_assert_msg(fabsf(ef_net_grads(net)[i] - 2.0f * whole[i]) <= 1e-6f + 1e-5f * fabsf(whole[i]),
                      "param %zu: %g vs 2 x %g", i, ef_net_grads(net)[i], whole[i]);
    free(whole);
    ef_net_free(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("central");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, gradients_match_central_differences, 0,
                        (int)(sizeof archs / sizeof archs[0]));
    tcase_add_test(tc, gradients_accumulate_and_reset);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
