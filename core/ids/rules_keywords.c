/* Values of the early.* rule keywords: early.label, early.score, early.k.
 * Shared by earlyflow's rules loader and the Suricata adapter so a rule
 * means the same in both hosts. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "data/taxonomy.h"
#include "ids/rules.h"

const char *ef_rule_action_name(ef_rule_action_t a)
{
    static const char *const names[EF_ACTION__COUNT] = {"pass", "drop", "reject", "alert"};
    return (unsigned)a < EF_ACTION__COUNT ? names[a] : "alert";
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static size_t skip_blank(const char *s, size_t i)
{
    while (s[i] && is_blank(s[i]))
        i++;
    return i;
}

static int fail_at(size_t *bad_at, size_t at, ef_err_t *err, const char *fmt, const char *arg)
{
    if (bad_at)
        *bad_at = at;
    return ef_err_set(err, fmt, arg);
}

/* ---- early.label --------------------------------------------------------- */

uint32_t ef_label_bit(const char *label)
{
    int c = label ? ef_category_from_label(label) : -1;
    return c >= 0 ? 1u << c : 1u << EF_LABEL_BIT_FOREIGN;
}

static int label_error(const char *s, size_t at, size_t n, size_t *bad_at, ef_err_t *err)
{
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(n < 60 ? n : 60), s + at);
    for (int c = 0; c < EF_CAT__COUNT; c++) {
        const char *l = ef_category_label((ef_category_t)c);
        if (strlen(l) == n && !strncasecmp(l, s + at, n)) {
            if (bad_at)
                *bad_at = at;
            return ef_err_set(err, "unknown label '%s' (labels are case-sensitive: did you mean "
                                   "'%s'?)", word, l);
        }
    }
    if (bad_at)
        *bad_at = at;
    return ef_err_set(err, "unknown label '%s' (expected one of Unlabeled, HTTP, Multi, Alpha, "
                           "NetworkScan, PortScan, DoS, IPv6Tunnel, Other, Unknown)", word);
}

int ef_label_match_parse(const char *s, ef_label_match_t *out, size_t *bad_at, ef_err_t *err)
{
    size_t i = skip_blank(s, 0);
    int negate = 0;
    uint32_t mask = 0;
    if (s[i] == '!') {
        negate = 1;
        i = skip_blank(s, i + 1);
    }
    for (;;) {
        size_t start = i;
        while (s[i] && s[i] != ',' && !is_blank(s[i]))
            i++;
        size_t n = i - start;
        if (n == 0)
            return fail_at(bad_at, start, err, "expected a label%s",
                           s[start] ? " before ','" : "");
        if (s[start] == '!')
            return fail_at(bad_at, start, err, "%s",
                           "'!' negates the whole list: write it once, before the first label "
                           "(early.label:!A,B means neither A nor B)");
        char word[32];
        int c = -1;
        if (n < sizeof word) {
            memcpy(word, s + start, n);
            word[n] = '\0';
            c = ef_category_from_label(word);
        }
        if (c < 0)
            return label_error(s, start, n, bad_at, err);
        mask |= 1u << c;
        i = skip_blank(s, i);
        if (!s[i])
            break;
        if (s[i] != ',')
            return fail_at(bad_at, i, err, "expected ',' between labels, got '%s'", s + i);
        i = skip_blank(s, i + 1);
    }
    uint32_t all = ((1u << EF_CAT__COUNT) - 1u) | (1u << EF_LABEL_BIT_FOREIGN);
    out->mask = negate ? all & ~mask : mask;
    return 0;
}

int ef_label_match_test(const ef_label_match_t *m, const char *label)
{
    return (m->mask & ef_label_bit(label)) != 0;
}

/* ---- early.score --------------------------------------------------------- */

/* A probability: digits with an optional fraction, within [0, 1]. */
static int parse_prob(const char *s, size_t *i, float *out, size_t *bad_at, ef_err_t *err)
{
    size_t start = *i, p = *i;
    double v = 0, scale = 1;
    int digits = 0;
    while (s[p] >= '0' && s[p] <= '9') {
        v = v * 10 + (s[p++] - '0');
        digits++;
        if (digits > 20)
            break;
    }
    if (s[p] == '.') {
        p++;
        while (s[p] >= '0' && s[p] <= '9') {
            scale /= 10;
            v += (s[p++] - '0') * scale;
            digits++;
            if (digits > 40)
                break;
        }
    }
    if (!digits)
        return fail_at(bad_at, start, err, "expected a score between 0 and 1, got '%s'",
                       s + start);
    if (v > 1.0)
        return fail_at(bad_at, start, err, "score '%s' is above 1 (scores are probabilities)",
                       s + start);
    *out = (float)v;
    *i = p;
    return 0;
}

int ef_score_match_parse(const char *s, ef_score_match_t *out, size_t *bad_at, ef_err_t *err)
{
    static const struct {
        const char *tok;
        ef_score_op_t op;
    } ops[] = {{">=", EF_SCORE_GE}, {"<=", EF_SCORE_LE}, {"!=", EF_SCORE_NE},
               {">", EF_SCORE_GT},  {"<", EF_SCORE_LT},  {"=", EF_SCORE_EQ}};
    ef_score_match_t m = {EF_SCORE_EQ, 0, 0};
    size_t i = skip_blank(s, 0), neg_at = 0;
    int negated_range = 0, have_op = 0;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        size_t n = strlen(ops[k].tok);
        if (!strncmp(s + i, ops[k].tok, n)) {
            m.op = ops[k].op;
            i = skip_blank(s, i + n);
            have_op = 1;
            break;
        }
    }
    if (!have_op && s[i] == '!') {
        negated_range = 1;
        neg_at = i;
        i = skip_blank(s, i + 1);
    }
    if (parse_prob(s, &i, &m.a, bad_at, err) < 0)
        return -1;
    i = skip_blank(s, i);
    if (!have_op && (s[i] == '-' || (s[i] == '<' && s[i + 1] == '>'))) {
        size_t op_at = i;
        i = skip_blank(s, i + (s[i] == '-' ? 1 : 2));
        if (parse_prob(s, &i, &m.b, bad_at, err) < 0)
            return -1;
        if (!(m.a < m.b))
            return fail_at(bad_at, op_at, err, "%s",
                           "a score range 'A-B' needs A < B (both ends are excluded)");
        m.op = negated_range ? EF_SCORE_NOT_RANGE : EF_SCORE_RANGE;
        i = skip_blank(s, i);
    } else if (negated_range) {
        return fail_at(bad_at, neg_at, err, "%s",
                       "'!' only negates a range ('!0.2-0.8'); for not-equal write '!=0.5'");
    }
    if (s[i])
        return fail_at(bad_at, i, err,
                       "unexpected '%s' (expected a comparison such as '>=0.9', '<0.3' or a "
                       "range '0.5-0.9')", s + i);
    *out = m;
    return 0;
}

int ef_score_match_test(const ef_score_match_t *m, float score)
{
    switch (m->op) {
    case EF_SCORE_ANY: return 1;
    case EF_SCORE_EQ: return score == m->a;
    case EF_SCORE_NE: return score != m->a;
    case EF_SCORE_LT: return score < m->a;
    case EF_SCORE_LE: return score <= m->a;
    case EF_SCORE_GT: return score > m->a;
    case EF_SCORE_GE: return score >= m->a;
    case EF_SCORE_RANGE: return score > m->a && score < m->b;
    case EF_SCORE_NOT_RANGE: return score <= m->a || score >= m->b;
    }
    return 0;
}

/* ---- early.k ------------------------------------------------------------- */

int ef_rule_k_parse(const char *s, int *k, size_t *bad_at, ef_err_t *err)
{
    size_t i = skip_blank(s, 0), start = i;
    int v = 0;
    while (s[i] >= '0' && s[i] <= '9' && v < 1000)
        v = v * 10 + (s[i++] - '0');
    size_t end = skip_blank(s, i);
    if (i == start || s[end] || (v != 3 && v != 5 && v != 10 && v != 20))
        return fail_at(bad_at, start, err, "expected a k of 3, 5, 10 or 20, got '%s'", s + start);
    *k = v;
    return 0;
}
