/* The strict JSON parser: valid documents decode exactly, every kind of
 * malformed input is refused with a message naming the byte offset, and
 * the limits hold on hostile input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "util/json.h"

static ef_json_t *parse(const char *s, ef_err_t *err)
{
    return ef_json_parse(s, strlen(s), NULL, "t.json", err);
}

START_TEST(parses_values_and_structure)
{
    ef_err_t err;
    ef_json_t *d = parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"x\"}, "
                         "\"e\": []}\n", &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    const ef_json_value_t *r = ef_json_root(d);
    ck_assert_int_eq(r->type, EF_JSON_OBJECT);
    ck_assert_uint_eq(r->count, 3);
    const ef_json_value_t *a = ef_json_get(r, "a");
    ck_assert_int_eq(a->type, EF_JSON_ARRAY);
    ck_assert_uint_eq(a->count, 5);
    const ef_json_value_t *v = a->child;
    ck_assert(v->type == EF_JSON_NUMBER && v->num == 1.0);
    v = v->next;
    ck_assert(v->type == EF_JSON_NUMBER && v->num == -2500.0);
    ck_assert_str_eq(v->str, "-2.5e3");
    v = v->next;
    ck_assert_int_eq(v->type, EF_JSON_TRUE);
    ck_assert_int_eq(v->next->type, EF_JSON_FALSE);
    ck_assert_int_eq(v->next->next->type, EF_JSON_NULL);
    ck_assert_ptr_null(v->next->next->next);
    ck_assert_str_eq(ef_json_get(ef_json_get(r, "b"), "c")->str, "x");
    ck_assert_uint_eq(ef_json_get(r, "e")->count, 0);
    ck_assert_ptr_null(ef_json_get(r, "zz"));
    ck_assert_ptr_null(ef_json_get(a, "a")); /* not an object */
    ef_json_free(d);
}
END_TEST

START_TEST(decodes_escapes_and_utf8)
{
    ef_err_t err;
    ef_json_t *d = parse("[\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\\ud83d\\ude00\","
                         " \"caf\xc3\xa9\", \"a\\u0000b\"]", &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    const ef_json_value_t *v = ef_json_root(d)->child;
    ck_assert_str_eq(v->str, "q\"b\\s/\b\f\n\r\t");
    v = v->next;
    ck_assert_str_eq(v->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    v = v->next;
    ck_assert_str_eq(v->str, "caf\xc3\xa9");
    v = v->next;
    ck_assert_uint_eq(v->str_len, 3);
    ck_assert(memcmp(v->str, "a\0b", 3) == 0);
    ef_json_free(d);
}
END_TEST

START_TEST(exact_unsigned_integers)
{
    ef_err_t err;
    ef_json_t *d = parse("[0, 18446744073709551615, 18446744073709551616, 1.0, 1e3, -1, 9007199254740993]", &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    const ef_json_value_t *v = ef_json_root(d)->child;
    uint64_t u;
    ck_assert(ef_json_u64(v, &u) == 0 && u == 0);
    v = v->next;
    ck_assert(ef_json_u64(v, &u) == 0 && u == UINT64_MAX);
    v = v->next;
    ck_assert_int_eq(ef_json_u64(v, &u), -1); /* overflow */
    v = v->next;
    ck_assert_int_eq(ef_json_u64(v, &u), -1); /* fraction */
    v = v->next;
    ck_assert_int_eq(ef_json_u64(v, &u), -1); /* exponent */
    v = v->next;
    ck_assert_int_eq(ef_json_u64(v, &u), -1); /* negative */
    v = v->next;
    ck_assert(ef_json_u64(v, &u) == 0 && u == 9007199254740993ull); /* beyond double */
    ck_assert_int_eq(ef_json_u64(ef_json_root(d), &u), -1);          /* not a number */
    ef_json_free(d);
}
END_TEST

/* Each malformed input and the message it must produce. */
static const struct {
    const char *text;
    const char *msg;
} bad[] = {
    {"", "t.json: byte 0: unexpected end of input (expected a JSON value)"},
    {"   ", "t.json: byte 3: unexpected end of input"},
    {"{", "t.json: byte 1: expected a string key in object"},
    {"[1,]", "t.json: byte 3: expected a JSON value"},
    {"{\"a\":1,}", "t.json: byte 7: expected a string key in object"},
    {"{\"a\" 1}", "t.json: byte 5: expected ':' after object key"},
    {"{\"a\":1 \"b\":2}", "t.json: byte 7: expected ',' or '}' in object"},
    {"[1 2]", "t.json: byte 3: expected ',' or ']' in array"},
    {"[1", "t.json: byte 2: unterminated array"},
    {"{\"a\":1", "t.json: byte 6: unterminated object"},
    {"01", "t.json: byte 1: leading zero in number"},
    {"-", "t.json: byte 1: expected a digit"},
    {"1.", "t.json: byte 2: expected a digit after the decimal point"},
    {"1e+", "t.json: byte 3: expected a digit in the exponent"},
    {"NaN", "t.json: byte 0: expected a JSON value"},
    {"Infinity", "t.json: byte 0: expected a JSON value"},
    {"tru", "t.json: byte 0: expected a JSON value"},
    {"[1] x", "t.json: byte 4: unexpected data after the JSON value"},
    {"\"abc", "t.json: byte 0: unterminated string"},
    {"\"a\tb\"", "t.json: byte 2: control character in string"},
    {"\"\\x\"", "t.json: byte 1: invalid escape in string"},
    {"\"\\u12g4\"", "t.json: byte 5: expected a hex digit in \\u escape"},
    {"\"\\ud800\"", "t.json: byte 1: high surrogate not followed by a \\u low surrogate"},
    {"\"\\ud800\\u0041\"", "t.json: byte 7: expected a low surrogate after a high surrogate"},
    {"\"\\udc00\"", "t.json: byte 1: lone low surrogate in \\u escape"},
    {"\"\xc3\"", "t.json: byte 1: invalid UTF-8 in string"},
    {"\"\xc0\xaf\"", "t.json: byte 1: invalid UTF-8 in string"},         /* overlong */
    {"\"\xed\xa0\x80\"", "t.json: byte 1: invalid UTF-8 in string"},     /* surrogate */
    {"\"\xf4\x90\x80\x80\"", "t.json: byte 1: invalid UTF-8 in string"}, /* > U+10FFFF */
    {"{\"a\":1,\"b\":2,\"a\":3}", "t.json: byte 0: duplicate key \"a\" in object"},
    {"// c\n1", "t.json: byte 0: expected a JSON value"},
};

START_TEST(malformed_inputs_are_refused_with_the_offset)
{
    ef_err_t err;
    memset(&err, 0, sizeof err);
    ef_json_t *d = parse(bad[_i].text, &err);
    ck_assert_msg(d == NULL, "accepted: %s", bad[_i].text);
    ck_assert_msg(strncmp(err.msg, bad[_i].msg, strlen(bad[_i].msg)) == 0,
                  "input %s: got \"%s\", expected \"%s\"", bad[_i].text, err.msg, bad[_i].msg);
}
END_TEST

START_TEST(embedded_nul_outside_strings_is_refused)
{
    ef_err_t err;
    ef_json_t *d = ef_json_parse("[1]\0", 4, NULL, "t.json", &err);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(err.msg, "t.json: byte 3: unexpected data after the JSON value");
}
END_TEST

START_TEST(limits_hold)
{
    ef_err_t err;
    /* depth: 65 nested arrays with the default limit of 64 */
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    ck_assert_ptr_null(parse(deep, &err));
    ck_assert_str_eq(err.msg, "t.json: byte 64: nesting too deep");
    deep[64] = ']';
    memmove(deep + 65, deep + 66, 65);
    ef_json_t *ok = ef_json_parse(deep, 128, NULL, "t.json", &err);
    ck_assert_msg(ok != NULL, "64 levels: %s", err.msg);
    ef_json_free(ok);
    /* a deep hostile document does not exhaust the stack */
    size_t n = 1 << 20;
    char *big = malloc(n);
    memset(big, '[', n);
    ef_json_limits_t lim = {.max_depth = 100000};
    ck_assert_ptr_null(ef_json_parse(big, n, &lim, "deep", &err));
    ck_assert_str_eq(err.msg, "deep: byte 1000: nesting too deep");
    /* length */
    lim = (ef_json_limits_t){.max_len = 10};
    ck_assert_ptr_null(ef_json_parse("[1,2,3,4,5,6]", 13, &lim, "t.json", &err));
    ck_assert_str_eq(err.msg, "t.json: 13 bytes of JSON, more than the limit of 10");
    /* values */
    lim = (ef_json_limits_t){.max_values = 3};
    ck_assert_ptr_null(ef_json_parse("[1,2,3]", 7, &lim, "t.json", &err));
    ck_assert_str_eq(err.msg, "t.json: byte 5: too many values in the document");
    /* many keys in one object: the duplicate check stays fast */
    size_t keys = 100000, at = 0;
    char *obj = realloc(big, keys * 16 + 16);
    obj[at++] = '{';
    for (size_t i = 0; i < keys; i++)
        at += (size_t)sprintf(obj + at, "%s\"k%zu\":0", i ? "," : "", i);
    obj[at++] = '}';
    ef_json_t *many = ef_json_parse(obj, at, NULL, "many", &err);
    ck_assert_msg(many != NULL, "%s", err.msg);
    ck_assert_uint_eq(ef_json_root(many)->count, keys);
    ef_json_free(many);
    free(obj);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parses_values_and_structure);
    tcase_add_test(tc, decodes_escapes_and_utf8);
    tcase_add_test(tc, exact_unsigned_integers);
    tcase_add_loop_test(tc, malformed_inputs_are_refused_with_the_offset, 0,
                        (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, embedded_nul_outside_strings_is_refused);
    tcase_add_test(tc, limits_hold);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
