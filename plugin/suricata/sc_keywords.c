/* Rule keyword values of the Suricata adapter: see sc_keywords.h. */
#include "sc_keywords.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 32 /* longer than any taxonomy label */
#define NUMBER_MAX 32

const char *ef_sc_kw_name(ef_sc_kw_kind_t kind)
{
    switch (kind) {
    case EF_SC_KW_LABEL: return "early.label";
    case EF_SC_KW_SCORE: return "early.score";
    case EF_SC_KW_K: return "early.k";
    }
    return "early.?";
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int column(const char *start, const char *p)
{
    return (int)(p - start) + 1;
}

static int is_label_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* One list item "[!]Label"; *p is left after it. */
static int parse_label_item(const char *start, const char **p, int *negated, int *cat,
                            ef_err_t *err)
{
    const char *q = skip_blanks(*p);
    *negated = 0;
    if (*q == '!') {
        *negated = 1;
        q = skip_blanks(q + 1);
    }
    const char *word = q;
    while (is_label_char(*q))
        q++;
    size_t n = (size_t)(q - word);
    if (n == 0)
        return ef_err_set(err, "early.label: column %d: expected a label (one of Unlabeled, "
                               "HTTP, Multi, Alpha, NetworkScan, PortScan, DoS, IPv6Tunnel, "
                               "Other, Unknown)", column(start, word));
    char label[LABEL_MAX];
    if (n >= sizeof label)
        return ef_err_set(err, "early.label: column %d: label longer than %d characters",
                          column(start, word), LABEL_MAX - 1);
    memcpy(label, word, n);
    label[n] = '\0';
    *cat = ef_category_from_label(label);
    if (*cat < 0)
        return ef_err_set(err, "early.label: column %d: unknown label '%s' (expected one of "
                               "Unlabeled, HTTP, Multi, Alpha, NetworkScan, PortScan, DoS, "
                               "IPv6Tunnel, Other, Unknown; case matters)",
                          column(start, word), label);
    *p = skip_blanks(q);
    return 0;
}

static int parse_label(const char *value, ef_sc_kw_t *kw, ef_err_t *err)
{
    const char *p = value;
    for (int item = 0;; item++) {
        int negated = 0, cat = 0;
        const char *item_start = skip_blanks(p);
        if (parse_label_item(value, &p, &negated, &cat, err) < 0)
            return -1;
        if (item > 0 && negated != kw->negated)
            return ef_err_set(err, "early.label: column %d: a list is either labels or "
                                   "!labels, not both", column(value, item_start));
        kw->negated = (uint8_t)negated;
        kw->labels |= (uint16_t)(1u << cat);
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return ef_err_set(err, "early.label: column %d: expected ',' or the end of the "
                                   "value, found '%c'", column(value, p), *p);
        p++;
    }
}

int ef_sc_parse_score(const char *s, const char *what, float *out, ef_err_t *err)
{
    const char *p = skip_blanks(s);
    const char *num = p;
    int digits = 0, dots = 0;
    while ((*p >= '0' && *p <= '9') || *p == '.') {
        digits += *p != '.';
        dots += *p == '.';
        p++;
    }
    const char *end = skip_blanks(p);
    if (digits == 0 || dots > 1 || *end != '\0' || (size_t)(p - num) >= NUMBER_MAX)
        return ef_err_set(err, "%s: column %d: expected a number between 0 and 1 such as 0.9",
                          what, column(s, digits == 0 || dots > 1 ? num : end));
    char buf[NUMBER_MAX];
    memcpy(buf, num, (size_t)(p - num));
    buf[p - num] = '\0';
    double v = strtod(buf, NULL);
    if (!(v >= 0.0 && v <= 1.0))
        return ef_err_set(err, "%s: column %d: %s is outside [0, 1] (scores are probabilities)",
                          what, column(s, num), buf);
    *out = (float)v;
    return 0;
}

static int parse_score(const char *value, ef_sc_kw_t *kw, ef_err_t *err)
{
    const char *p = skip_blanks(value);
    if (p[0] == '>' && p[1] == '=')
        kw->op = EF_SC_OP_GE, p += 2;
    else if (p[0] == '<' && p[1] == '=')
        kw->op = EF_SC_OP_LE, p += 2;
    else if (p[0] == '>')
        kw->op = EF_SC_OP_GT, p += 1;
    else if (p[0] == '<')
        kw->op = EF_SC_OP_LT, p += 1;
    else if (p[0] == '=')
        kw->op = EF_SC_OP_EQ, p += 1;
    else
        return ef_err_set(err, "early.score: column %d: expected a comparison <, <=, >, >= or "
                               "= followed by a number, such as >=0.9", column(value, p));
    if (ef_sc_parse_score(p, "early.score", &kw->value, err) < 0) {
        /* Report the column within the whole value, not within the number. */
        ef_err_set(err, "early.score: column %d: expected a number between 0 and 1 after the "
                        "comparison, such as >=0.9", column(value, skip_blanks(p)));
        return -1;
    }
    return 0;
}

static int parse_k(const char *value, ef_sc_kw_t *kw, ef_err_t *err)
{
    const char *p = skip_blanks(value);
    const char *num = p;
    int k = 0;
    while (*p >= '0' && *p <= '9' && k < 100)
        k = k * 10 + (*p++ - '0');
    const char *end = skip_blanks(p);
    if (p == num || *end != '\0' || ef_sc_slot_of_k(k) < 0)
        return ef_err_set(err, "early.k: column %d: expected one of 3, 5, 10, 20",
                          column(value, num));
    kw->k = (uint8_t)k;
    return 0;
}

int ef_sc_kw_parse(ef_sc_kw_kind_t kind, const char *value, ef_sc_kw_t *kw, ef_err_t *err)
{
    memset(kw, 0, sizeof *kw);
    kw->kind = (uint8_t)kind;
    if (!value)
        return ef_err_set(err, "%s: expected a value", ef_sc_kw_name(kind));
    switch (kind) {
    case EF_SC_KW_LABEL: return parse_label(value, kw, err);
    case EF_SC_KW_SCORE: return parse_score(value, kw, err);
    case EF_SC_KW_K: return parse_k(value, kw, err);
    }
    return ef_err_set(err, "unknown early keyword %d", (int)kind);
}

static int compare(ef_sc_op_t op, float a, float b)
{
    switch (op) {
    case EF_SC_OP_LT: return a < b;
    case EF_SC_OP_LE: return a <= b;
    case EF_SC_OP_GT: return a > b;
    case EF_SC_OP_GE: return a >= b;
    case EF_SC_OP_EQ: return a == b;
    }
    return 0;
}

int ef_sc_kw_match(const ef_sc_kw_t *kw, const ef_sc_verdict_t *v)
{
    switch ((ef_sc_kw_kind_t)kw->kind) {
    case EF_SC_KW_LABEL: {
        int in = v->label != EF_SC_NO_LABEL && (kw->labels >> v->label & 1u);
        return kw->negated ? !in : in;
    }
    case EF_SC_KW_SCORE:
        return !isnan(v->score) && compare((ef_sc_op_t)kw->op, v->score, kw->value);
    case EF_SC_KW_K:
        return 1;
    }
    return 0;
}
