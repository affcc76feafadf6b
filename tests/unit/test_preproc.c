/* The seed's preprocessing: log transforms, one global min/max per feature
 * kind, clipping to [0, 1], the optional direction feature, and fitting. */
#include <math.h>
#include <string.h>

#include "eftest.h"
#include "nn/preproc.h"

static double expect(double v, double lo, double hi)
{
    double s = (v - lo) / (hi - lo);
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

START_TEST(scales_log_values_into_0_1)
{
    ef_preproc_t p = {(float)log2(40.0), (float)log2(1500.0), 0.0f, 3.5f, 0};
    float size[5] = {40, 1500, 256, 576, 41};
    float iat[5] = {0.0f, 10.0f, 0.5f, 1e-6f, 2.0f};
    float x[10];
    ef_preproc_apply(&p, size, iat, NULL, 5, x);
    ck_assert_int_eq(ef_preproc_features(&p), 2);
    for (int i = 0; i < 5; i++) {
        double ws = expect(log2((double)size[i]), p.size_min, p.size_max);
        double wt = expect(log2((double)iat[i] + 1.0), p.time_min, p.time_max);
        ck_assert_msg(fabs(x[2 * i] - ws) < 1e-7, "size %g -> %g, expected %g", size[i], x[2 * i], ws);
        ck_assert_msg(fabs(x[2 * i + 1] - wt) < 1e-7, "iat %g -> %g, expected %g", iat[i],
                      x[2 * i + 1], wt);
    }
    ck_assert(x[0] == 0.0f && x[2] == 1.0f && x[1] == 0.0f);
    ck_assert(x[4] > 0.4f && x[4] < 0.6f); /* 256 sits mid-range on the log scale */
}
END_TEST

START_TEST(clips_outside_the_training_range_and_bad_values)
{
    ef_preproc_t p = {5.0f, 10.0f, 0.0f, 2.0f, 0};
    float size[6] = {20000, 10, 0, -5, NAN, INFINITY};
    float iat[6] = {100, 0, NAN, -0.5f, -2.0f, INFINITY};
    float x[12];
    ef_preproc_apply(&p, size, iat, NULL, 6, x);
    float want[12] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    /* iat -0.5 -> log2(0.5) = -1 -> 0; iat -2 -> log2(-1) = NaN -> 0 */
    for (int i = 0; i < 12; i++)
        ck_assert_msg(x[i] == want[i], "x[%d] = %g, expected %g", i, x[i], want[i]);
}
END_TEST

START_TEST(zero_range_maps_to_zero)
{
    ef_preproc_t p = {6.0f, 6.0f, 1.0f, 1.0f, 0};
    float size = 64, iat = 1, x[2];
    ef_preproc_apply(&p, &size, &iat, NULL, 1, x);
    ck_assert(x[0] == 0.0f && x[1] == 0.0f);
}
END_TEST

START_TEST(direction_is_a_third_feature)
{
    ef_preproc_t p = {5.0f, 10.0f, 0.0f, 2.0f, 1};
    ck_assert_int_eq(ef_preproc_features(&p), 3);
    float size[3] = {64, 64, 64}, iat[3] = {0, 0, 0}, x[9];
    unsigned char dir[3] = {1, 0, 7};
    ef_preproc_apply(&p, size, iat, dir, 3, x);
    ck_assert(x[2] == 1.0f && x[5] == 0.0f && x[8] == 1.0f);
    ef_preproc_apply(&p, size, iat, NULL, 3, x);
    ck_assert(x[2] == 0.0f && x[5] == 0.0f && x[8] == 0.0f);
    ck_assert(x[0] == 0.2f);
}
END_TEST

START_TEST(fit_takes_global_min_and_max_after_the_log)
{
    ef_preproc_t p;
    ef_preproc_fit_begin(&p, 1);
    ck_assert_int_eq(p.use_dir, 1);
    float s1[3] = {100, 60, 1500}, t1[3] = {0, 0.25f, 3.0f};
    float s2[2] = {52, 400}, t2[2] = {7.0f, 0.001f};
    ef_preproc_fit_add(&p, s1, t1, 3);
    ef_preproc_fit_add(&p, s2, t2, 2);
    ck_assert(p.size_min == (float)log2(52.0) && p.size_max == (float)log2(1500.0));
    ck_assert(p.time_min == 0.0f && p.time_max == 3.0f); /* log2(7 + 1) */
    /* the fitted data itself spans [0, 1] */
    float x[9];
    ef_preproc_apply(&p, s1, t1, NULL, 3, x);
    ck_assert(x[6] == 1.0f);
    ef_preproc_apply(&p, s2, t2, NULL, 2, x);
    ck_assert(x[0] == 0.0f && x[1] == 1.0f);
    /* NaN values do not poison the fit */
    float sn = NAN, tn = NAN;
    ef_preproc_fit_add(&p, &sn, &tn, 1);
    ck_assert(p.size_min == (float)log2(52.0) && p.time_max == 3.0f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preproc");
    TCase *tc = tcase_create("preproc");
    tcase_add_test(tc, scales_log_values_into_0_1);
    tcase_add_test(tc, clips_outside_the_training_range_and_bad_values);
    tcase_add_test(tc, zero_range_maps_to_zero);
    tcase_add_test(tc, direction_is_a_third_feature);
    tcase_add_test(tc, fit_takes_global_min_and_max_after_the_log);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
