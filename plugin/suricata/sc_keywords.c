/* Rule keyword values of the Suricata adapter: see sc_keywords.h. */
#include "sc_keywords.h"

#include <string.h>

const char *ef_sc_kw_name(ef_sc_kw_kind_t kind)
{
    switch (kind) {
    case EF_SC_KW_LABEL: return "early.label";
    case EF_SC_KW_SCORE: return "early.score";
    case EF_SC_KW_K: return "early.k";
    }
    return "early.?";
}

int ef_sc_kw_parse(ef_sc_kw_kind_t kind, const char *value, ef_sc_kw_t *kw, ef_err_t *err)
{
    memset(kw, 0, sizeof(*kw));
    kw->kind = (uint8_t)kind;
    if (value == NULL)
        return ef_err_set(err, "%s: expected a value", ef_sc_kw_name(kind));
    size_t bad_at = 0;
    int rc = -1, k = 0;
    switch (kind) {
    case EF_SC_KW_LABEL: rc = ef_label_match_parse(value, &kw->label, &bad_at, err); break;
    case EF_SC_KW_SCORE: rc = ef_score_match_parse(value, &kw->score, &bad_at, err); break;
    case EF_SC_KW_K:
        rc = ef_rule_k_parse(value, &k, &bad_at, err);
        kw->k = (uint8_t)k;
        break;
    }
    if (rc < 0)
        return ef_err_prefix(err, "%s: column %zu", ef_sc_kw_name(kind), bad_at + 1);
    return 0;
}

int ef_sc_kw_match(const ef_sc_kw_t *kw, const ef_sc_verdict_t *v)
{
    switch ((ef_sc_kw_kind_t)kw->kind) {
    case EF_SC_KW_LABEL: {
        /* NULL is what ef_label_bit takes for a label outside the taxonomy. */
        const char *label =
            v->label < EF_CAT__COUNT ? ef_category_label((ef_category_t)v->label) : NULL;
        return ef_label_match_test(&kw->label, label);
    }
    case EF_SC_KW_SCORE:
        return ef_score_match_test(&kw->score, v->score);
    case EF_SC_KW_K:
        return 1;
    }
    return 0;
}

int ef_sc_parse_min_score(const char *s, float *out, ef_err_t *err)
{
    /* A plain number is early.score's equality form: reuse its parser so the
     * number syntax is the same, and refuse every other form. */
    ef_score_match_t m;
    size_t bad_at = 0;
    if (s == NULL || ef_score_match_parse(s, &m, &bad_at, err) < 0)
        return ef_err_prefix(err, "earlyflow.min-score: column %zu", bad_at + 1);
    size_t i = strspn(s, " \t");
    if (m.op != EF_SCORE_EQ || s[i] == '=')
        return ef_err_set(err, "earlyflow.min-score: column %zu: expected a number between 0 "
                               "and 1, got '%s'", i + 1, s + i);
    *out = m.a;
    return 0;
}
