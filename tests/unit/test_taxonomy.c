/* Taxonomy codes from real MAWILab files map to the right category. */
#include "eftest.h"
#include "data/taxonomy.h"

START_TEST(real_codes_map_by_prefix)
{
    static const struct { const char *code; ef_category_t cat; } cases[] = {
        {"ntscSYN139445", EF_CAT_NETWORKSCAN}, {"ntscUDPOther", EF_CAT_NETWORKSCAN},
        {"ntscICecrqICecrprp", EF_CAT_NETWORKSCAN}, {"mptpla", EF_CAT_MULTI},
        {"ptmpla", EF_CAT_MULTI}, {"poscaSYN", EF_CAT_PORTSCAN},
        {"ptpDoSSYN", EF_CAT_DOS}, {"DDoSUDP", EF_CAT_DOS}, {"rflatNTP", EF_CAT_DOS},
        {"ipv4gretun", EF_CAT_IPV6TUNNEL}, {"alphfl", EF_CAT_ALPHA},
        {"ttl_error", EF_CAT_OTHER}, {"unk", EF_CAT_UNKNOWN}, {"", EF_CAT_UNKNOWN},
        {"somethingnew", EF_CAT_UNKNOWN}, {"ptpposcaUDP", EF_CAT_NETWORKSCAN},
        {"ptpposcaTCP", EF_CAT_PORTSCAN}, {"dntscSYN", EF_CAT_NETWORKSCAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(ef_taxonomy_category(cases[i].code) == cases[i].cat, "code %s -> %s",
                      cases[i].code, ef_category_label(ef_taxonomy_category(cases[i].code)));
}
END_TEST

START_TEST(http_codes_win_over_multi_and_alpha)
{
    ck_assert_int_eq(ef_taxonomy_category("ptmpHTTP"), EF_CAT_HTTP);
    ck_assert_int_eq(ef_taxonomy_category("mptpHTTP"), EF_CAT_HTTP);
    ck_assert_int_eq(ef_taxonomy_category("alphflHTTP"), EF_CAT_HTTP);
    ck_assert_int_eq(ef_taxonomy_category("ptmplaHTTP"), EF_CAT_HTTP);
    ck_assert_int_eq(ef_taxonomy_category("mptplaHTTP"), EF_CAT_HTTP);
    ck_assert_int_eq(ef_taxonomy_category("ptmp"), EF_CAT_MULTI);
}
END_TEST

START_TEST(labels_round_trip)
{
    for (int c = 0; c < EF_CAT__COUNT; c++)
        ck_assert_int_eq(ef_category_from_label(ef_category_label((ef_category_t)c)), c);
    ck_assert_int_eq(ef_category_from_label("networkscan"), -1);
    ck_assert_str_eq(ef_category_label(EF_CAT_IPV6TUNNEL), "IPv6Tunnel");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("taxonomy");
    TCase *tc = tcase_create("map");
    tcase_add_test(tc, real_codes_map_by_prefix);
    tcase_add_test(tc, http_codes_win_over_multi_and_alpha);
    tcase_add_test(tc, labels_round_trip);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
