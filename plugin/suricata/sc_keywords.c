/* Rule keyword values of the Suricata adapter: see sc_keywords.h. */
#include "sc_keywords.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORD_MAX 32   /* longer than any taxonomy label */
#define DIGITS_MAX 40 /* a score needs nowhere near this many */

const char *ef_sc_kw_name(ef_sc_kw_kind_t kind)
{
    switch (kind) {
    case EF_SC_KW_LABEL: return "early.label";
    case EF_SC_KW_SCORE: return "early.score";
    case EF_SC_KW_K: return "early.k";
    }
    return "early.?";
}

static size_t skip_blanks(const char *s, size_t i)
{
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    return i;
}

/* ---- early.label ---------------------------------------------------------- */

static int unknown_label(const char *s, size_t at, size_t n, ef_err_t *err)
{
    char word[WORD_MAX * 2];
    snprintf(word, sizeof(word), "%.*s", (int)(n < WORD_MAX ? n : WORD_MAX), s + at);
    for (int c = 0; c < EF_CAT__COUNT; c++) {
        const char *label = ef_category_label((ef_category_t)c);
        if (strlen(label) == n && strncasecmp(label, s + at, n) == 0)
            return ef_err_set(err, "early.label: column %zu: unknown label '%s' (labels are "
                                   "case-sensitive: did you mean '%s'?)", at + 1, word, label);
    }
    return ef_err_set(err, "early.label: column %zu: unknown label '%s' (expected one of "
                           "Unlabeled, HTTP, Multi, Alpha, NetworkScan, PortScan, DoS, "
                           "IPv6Tunnel, Other, Unknown)", at + 1, word);
}

static int parse_label(const char *s, ef_sc_kw_t *kw, ef_err_t *err)
{
    size_t i = skip_blanks(s, 0);
    int negate = 0;
    uint32_t listed = 0;
    if (s[i] == '!') {
        negate = 1;
        i = skip_blanks(s, i + 1);
    }
    for (;;) {
        size_t start = i;
        while (s[i] != '\0' && s[i] != ',' && s[i] != ' ' && s[i] != '\t')
            i++;
        size_t n = i - start;
        if (n == 0)
            return ef_err_set(err, "early.label: column %zu: expected a label%s", start + 1,
                              s[start] != '\0' ? " before ','" : "");
        if (s[start] == '!')
            return ef_err_set(err, "early.label: column %zu: '!' negates the whole list: write "
                                   "it once, before the first label (early.label:!A,B means "
                                   "neither A nor B)", start + 1);
        char word[WORD_MAX];
        int c = -1;
        if (n < sizeof(word)) {
            memcpy(word, s + start, n);
            word[n] = '\0';
            c = ef_category_from_label(word);
        }
        if (c < 0)
            return unknown_label(s, start, n, err);
        listed |= 1u << c;
        i = skip_blanks(s, i);
        if (s[i] == '\0')
            break;
        if (s[i] != ',')
            return ef_err_set(err, "early.label: column %zu: expected ',' between labels, got "
                                   "'%c'", i + 1, s[i]);
        i = skip_blanks(s, i + 1);
    }
    uint32_t all = ((1u << EF_CAT__COUNT) - 1u) | (1u << EF_SC_LABEL_FOREIGN);
    kw->labels = negate ? all & ~listed : listed;
    return 0;
}

/* ---- early.score ---------------------------------------------------------- */

/* A probability at s[*i]: digits with an optional fraction, within [0, 1]. */
static int parse_probability(const char *s, size_t *i, const char *what, float *out,
                             ef_err_t *err)
{
    size_t start = *i, p = *i;
    while (s[p] >= '0' && s[p] <= '9')
        p++;
    size_t int_digits = p - start, frac_digits = 0;
    if (s[p] == '.') {
        size_t f = ++p;
        while (s[p] >= '0' && s[p] <= '9')
            p++;
        frac_digits = p - f;
    }
    if (int_digits + frac_digits == 0)
        return ef_err_set(err, "%s: column %zu: expected a score between 0 and 1 such as 0.9",
                          what, start + 1);
    if (p - start > DIGITS_MAX)
        return ef_err_set(err, "%s: column %zu: number longer than %d characters", what,
                          start + 1, DIGITS_MAX);
    char buf[DIGITS_MAX + 1];
    memcpy(buf, s + start, p - start);
    buf[p - start] = '\0';
    double v = strtod(buf, NULL);
    if (!(v <= 1.0))
        return ef_err_set(err, "%s: column %zu: score %s is above 1 (scores are probabilities)",
                          what, start + 1, buf);
    *out = (float)v;
    *i = p;
    return 0;
}

static int parse_score(const char *s, ef_sc_kw_t *kw, ef_err_t *err)
{
    static const struct {
        const char *token;
        ef_sc_op_t op;
    } ops[] = {{">=", EF_SC_OP_GE}, {"<=", EF_SC_OP_LE}, {"!=", EF_SC_OP_NE},
               {">", EF_SC_OP_GT},  {"<", EF_SC_OP_LT},  {"=", EF_SC_OP_EQ}};
    size_t i = skip_blanks(s, 0);
    int have_op = 0, negated_range = 0;
    kw->op = EF_SC_OP_EQ;
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]) && !have_op; o++) {
        size_t n = strlen(ops[o].token);
        if (strncmp(s + i, ops[o].token, n) == 0) {
            kw->op = (uint8_t)ops[o].op;
            i = skip_blanks(s, i + n);
            have_op = 1;
        }
    }
    if (!have_op && s[i] == '!') {
        negated_range = 1;
        i = skip_blanks(s, i + 1);
    }
    if (parse_probability(s, &i, "early.score", &kw->a, err) < 0)
        return -1;
    i = skip_blanks(s, i);
    if (!have_op && (s[i] == '-' || (s[i] == '<' && s[i + 1] == '>'))) {
        size_t op_at = i;
        i = skip_blanks(s, i + (s[i] == '-' ? 1 : 2));
        if (parse_probability(s, &i, "early.score", &kw->b, err) < 0)
            return -1;
        if (!(kw->a < kw->b))
            return ef_err_set(err, "early.score: column %zu: a score range 'A-B' needs A < B "
                                   "(both ends are excluded)", op_at + 1);
        kw->op = (uint8_t)(negated_range ? EF_SC_OP_NOT_RANGE : EF_SC_OP_RANGE);
        i = skip_blanks(s, i);
    } else if (negated_range) {
        return ef_err_set(err, "early.score: column %zu: '!' only negates a range "
                               "('!0.2-0.8'); for not-equal write '!=0.5'", i + 1);
    }
    if (s[i] != '\0')
        return ef_err_set(err, "early.score: column %zu: unexpected '%c' (expected a comparison "
                               "such as '>=0.9', '<0.3' or a range '0.5-0.9')", i + 1, s[i]);
    return 0;
}

int ef_sc_parse_score(const char *s, const char *what, float *out, ef_err_t *err)
{
    size_t i = skip_blanks(s, 0);
    float v;
    if (parse_probability(s, &i, what, &v, err) < 0)
        return -1;
    i = skip_blanks(s, i);
    if (s[i] != '\0')
        return ef_err_set(err, "%s: column %zu: expected a number between 0 and 1, got '%s'",
                          what, i + 1, s + i);
    *out = v;
    return 0;
}

/* ---- early.k -------------------------------------------------------------- */

static int parse_k(const char *s, ef_sc_kw_t *kw, ef_err_t *err)
{
    size_t i = skip_blanks(s, 0), start = i;
    int k = 0;
    while (s[i] >= '0' && s[i] <= '9' && k < 1000)
        k = k * 10 + (s[i++] - '0');
    size_t end = skip_blanks(s, i);
    if (i == start || s[end] != '\0' || ef_sc_slot_of_k(k) < 0)
        return ef_err_set(err, "early.k: column %zu: expected a k of 3, 5, 10 or 20, got '%s'",
                          start + 1, s + start);
    kw->k = (uint8_t)k;
    return 0;
}

int ef_sc_kw_parse(ef_sc_kw_kind_t kind, const char *value, ef_sc_kw_t *kw, ef_err_t *err)
{
    memset(kw, 0, sizeof(*kw));
    kw->kind = (uint8_t)kind;
    if (value == NULL)
        return ef_err_set(err, "%s: expected a value", ef_sc_kw_name(kind));
    switch (kind) {
    case EF_SC_KW_LABEL: return parse_label(value, kw, err);
    case EF_SC_KW_SCORE: return parse_score(value, kw, err);
    case EF_SC_KW_K: return parse_k(value, kw, err);
    }
    return ef_err_set(err, "unknown early keyword %d", (int)kind);
}

/* ---- matching ------------------------------------------------------------- */

static int score_holds(ef_sc_op_t op, float score, float a, float b)
{
    switch (op) {
    case EF_SC_OP_EQ: return score == a;
    case EF_SC_OP_NE: return score != a;
    case EF_SC_OP_LT: return score < a;
    case EF_SC_OP_LE: return score <= a;
    case EF_SC_OP_GT: return score > a;
    case EF_SC_OP_GE: return score >= a;
    case EF_SC_OP_RANGE: return score > a && score < b;
    case EF_SC_OP_NOT_RANGE: return score <= a || score >= b;
    }
    return 0;
}

int ef_sc_kw_match(const ef_sc_kw_t *kw, const ef_sc_verdict_t *v)
{
    switch ((ef_sc_kw_kind_t)kw->kind) {
    case EF_SC_KW_LABEL: {
        unsigned bit = v->label < EF_CAT__COUNT ? v->label : EF_SC_LABEL_FOREIGN;
        return (kw->labels >> bit & 1u) != 0;
    }
    case EF_SC_KW_SCORE:
        return score_holds((ef_sc_op_t)kw->op, v->score, kw->a, kw->b);
    case EF_SC_KW_K:
        return 1;
    }
    return 0;
}
