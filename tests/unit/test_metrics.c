/* Confusion matrices and F1 on cases computed by hand. */
#include <math.h>

#include "eftest.h"
#include "nn/metrics.h"

#define NEAR(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-12, "%s = %.15g, expected %.15g", #a, \
                                 (double)(a), (double)(b))

static void fill(ef_confusion_t *c, const int *truth, const int *pred, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(ef_confusion_add(c, truth[i], pred[i]), 0);
}

START_TEST(three_classes_by_hand)
{
    /* truth: 0 0 0 0 1 1 2 2 2 2 ; pred: 0 0 1 2 1 0 2 2 2 1
     * class 0: tp 2, fp 1 (a 1 predicted 0), fn 2 -> p 2/3, r 1/2, f1 4/7
     * class 1: tp 1, fp 2, fn 1              -> p 1/3, r 1/2, f1 2/5
     * class 2: tp 3, fp 1, fn 1              -> p 3/4, r 3/4, f1 3/4 */
    const int t[] = {0, 0, 0, 0, 1, 1, 2, 2, 2, 2};
    const int p[] = {0, 0, 1, 2, 1, 0, 2, 2, 2, 1};
    ef_confusion_t c;
    ef_metrics_t m;
    ck_assert_int_eq(ef_confusion_init(&c, 3, NULL), 0);
    fill(&c, t, p, 10);
    ck_assert_int_eq((int)c.m[0 * 3 + 1], 1);
    ck_assert_int_eq((int)c.m[1 * 3 + 0], 1);
    ck_assert_int_eq(ef_metrics_compute(&c, &m, NULL), 0);
    NEAR(m.per_class[0].precision, 2.0 / 3);
    NEAR(m.per_class[0].recall, 0.5);
    NEAR(m.per_class[0].f1, 4.0 / 7);
    NEAR(m.per_class[1].f1, 0.4);
    NEAR(m.per_class[2].f1, 0.75);
    ck_assert_int_eq((int)m.per_class[2].support, 4);
    ck_assert_int_eq((int)m.per_class[1].predicted, 3);
    NEAR(m.accuracy, 0.6);
    NEAR(m.macro_f1, (4.0 / 7 + 0.4 + 0.75) / 3);
    NEAR(m.weighted_f1, (4 * 4.0 / 7 + 2 * 0.4 + 4 * 0.75) / 10);
    NEAR(m.macro_precision, (2.0 / 3 + 1.0 / 3 + 0.75) / 3);
    ck_assert_int_eq((int)m.total, 10);
    ef_metrics_free(&m);
    ef_confusion_free(&c);
}
END_TEST

START_TEST(empty_classes)
{
    /* Class 1 never occurs and is never predicted: left out of the macro
     * mean. Class 2 never occurs but is predicted once: present, F1 0.
     * Class 3 occurs but is never predicted: precision 0, F1 0. */
    const int t[] = {0, 0, 0, 3};
    const int p[] = {0, 0, 2, 0};
    ef_confusion_t c;
    ef_metrics_t m;
    ck_assert_int_eq(ef_confusion_init(&c, 4, NULL), 0);
    fill(&c, t, p, 4);
    ck_assert_int_eq(ef_metrics_compute(&c, &m, NULL), 0);
    /* class 0: tp 2, fp 1, fn 1 -> f1 2/3 */
    NEAR(m.per_class[0].f1, 2.0 / 3);
    ck_assert_int_eq(m.per_class[1].present, 0);
    NEAR(m.per_class[1].f1, 0);
    ck_assert_int_eq(m.per_class[2].present, 1);
    NEAR(m.per_class[2].precision, 0);
    NEAR(m.per_class[2].recall, 0);
    ck_assert_int_eq(m.per_class[3].present, 1);
    NEAR(m.per_class[3].precision, 0);
    NEAR(m.macro_f1, (2.0 / 3) / 3);
    NEAR(m.weighted_f1, 3 * (2.0 / 3) / 4);
    NEAR(m.accuracy, 0.5);
    ef_metrics_free(&m);
    /* Nothing counted: all zeros, nothing present. */
    ef_confusion_reset(&c);
    ck_assert_int_eq(ef_metrics_compute(&c, &m, NULL), 0);
    NEAR(m.macro_f1, 0);
    NEAR(m.accuracy, 0);
    ck_assert_int_eq((int)m.total, 0);
    ef_metrics_free(&m);
    ef_confusion_free(&c);
}
END_TEST

START_TEST(perfect_and_bad_input)
{
    ef_confusion_t c;
    ef_metrics_t m;
    ef_err_t err;
    ck_assert_int_eq(ef_confusion_init(&c, 2, NULL), 0);
    const int t[] = {0, 1, 1};
    fill(&c, t, t, 3);
    ck_assert_int_eq(ef_confusion_add(&c, 2, 0), -1);
    ck_assert_int_eq(ef_confusion_add(&c, 0, -1), -1);
    ck_assert_int_eq(ef_metrics_compute(&c, &m, NULL), 0);
    NEAR(m.macro_f1, 1);
    NEAR(m.accuracy, 1);
    ck_assert_int_eq((int)m.total, 3);
    ef_metrics_free(&m);
    ef_confusion_free(&c);
    ck_assert_int_eq(ef_confusion_init(&c, 0, &err), -1);
    ck_assert_str_eq(err.msg, "confusion matrix: 0 classes (expected 1..4096)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("f1");
    tcase_add_test(tc, three_classes_by_hand);
    tcase_add_test(tc, empty_classes);
    tcase_add_test(tc, perfect_and_bad_input);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
