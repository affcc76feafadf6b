/* First-k features: exact sizes, inter-arrival times (µs; first = 0;
 * reordered = 0 and measured from the latest time), directions and c2s. */
#include "eftest.h"
#include "net/features.h"

_Static_assert(sizeof(ef_features_t) == 136, "features are 136 bytes of plain data");

START_TEST(sizes_iats_and_directions)
{
    ef_features_t f = {0};
    ck_assert_int_eq(ef_features_add(&f, 1000000, 60, 1), 1);
    ck_assert_int_eq(ef_features_add(&f, 1000250, 1500, 0), 2);
    ck_assert_int_eq(ef_features_add(&f, 1001250, 52, 1), 3);
    ck_assert_uint_eq(f.n, 3);
    ck_assert_uint_eq(f.size[0], 60);
    ck_assert_uint_eq(f.size[1], 1500);
    ck_assert_uint_eq(f.size[2], 52);
    ck_assert_uint_eq(f.iat_us[0], 0);
    ck_assert_uint_eq(f.iat_us[1], 250);
    ck_assert_uint_eq(f.iat_us[2], 1000);
    ck_assert_int_eq(ef_features_dir(&f, 0), 1);
    ck_assert_int_eq(ef_features_dir(&f, 1), 0);
    ck_assert_int_eq(ef_features_dir(&f, 2), 1);
    ck_assert_int_eq(ef_features_c2s(&f, 3), 2);
    ck_assert_int_eq(ef_features_c2s(&f, 2), 1);
    ck_assert_int_eq(ef_features_c2s(&f, 10), 2); /* clamped to n */
    ck_assert_int_eq(ef_features_c2s(&f, 0), 0);
    ck_assert(ef_features_iat_s(&f, 2) == 0.001);
    ck_assert_uint_eq(f.last_ts_us, 1001250);
}
END_TEST

START_TEST(reordered_packet_gets_zero_and_does_not_move_the_clock_back)
{
    ef_features_t f = {0};
    ef_features_add(&f, 5000, 100, 1);
    ef_features_add(&f, 7000, 100, 0);
    ef_features_add(&f, 6000, 100, 1); /* stamped before its predecessor */
    ef_features_add(&f, 7500, 100, 0); /* gap from 7000, not from 6000 */
    ef_features_add(&f, 7500, 100, 0); /* same timestamp */
    ck_assert_uint_eq(f.iat_us[1], 2000);
    ck_assert_uint_eq(f.iat_us[2], 0);
    ck_assert_uint_eq(f.iat_us[3], 500);
    ck_assert_uint_eq(f.iat_us[4], 0);
    ck_assert_uint_eq(f.last_ts_us, 7500);
}
END_TEST

START_TEST(keeps_twenty_packets_then_ignores_more)
{
    ef_features_t f = {0};
    for (int i = 0; i < EF_K_MAX; i++)
        ck_assert_int_eq(ef_features_add(&f, 100u * (uint64_t)i, (uint16_t)(40 + i), i % 3 == 0),
                         i + 1);
    ck_assert_int_eq(ef_features_add(&f, 999999, 9999, 1), EF_K_MAX);
    ck_assert_uint_eq(f.n, EF_K_MAX);
    ck_assert_uint_eq(f.size[EF_K_MAX - 1], 40 + EF_K_MAX - 1);
    ck_assert_uint_eq(f.iat_us[EF_K_MAX - 1], 100);
    ck_assert_uint_eq(f.last_ts_us, 100u * (EF_K_MAX - 1));
    /* i % 3 == 0 for i in 0..19: 0,3,...,18 = 7 packets */
    ck_assert_int_eq(ef_features_c2s(&f, 20), 7);
    ck_assert_int_eq(ef_features_c2s(&f, 5), 2);
    ck_assert_uint_eq(f.dir_bits >> EF_K_MAX, 0);
}
END_TEST

START_TEST(long_gaps_saturate)
{
    ef_features_t f = {0};
    ef_features_add(&f, 0, 40, 1);
    ef_features_add(&f, 5000000000ull, 40, 0); /* 5000 s later */
    ck_assert_uint_eq(f.iat_us[1], UINT32_MAX);
    ef_features_add(&f, 5000000001ull, 40, 0);
    ck_assert_uint_eq(f.iat_us[2], 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("features");
    TCase *tc = tcase_create("features");
    tcase_add_test(tc, sizes_iats_and_directions);
    tcase_add_test(tc, reordered_packet_gets_zero_and_does_not_move_the_clock_back);
    tcase_add_test(tc, keeps_twenty_packets_then_ignores_more);
    tcase_add_test(tc, long_gaps_saturate);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
