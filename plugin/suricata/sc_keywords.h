/* Values of the rule keywords early.label, early.score and early.k as the
 * Suricata adapter parses and matches them; free of Suricata types so they
 * are tested without Suricata (tests/unit/test_suricata_adapter.c).
 *
 * Syntax and meaning are those of earlyflow's own rules (docs/rules.md), so
 * one rules file means the same in both hosts:
 *   early.label:NetworkScan             one taxonomy label (case-sensitive)
 *   early.label:NetworkScan,PortScan    any of these labels
 *   early.label:!Unlabeled,Unknown      one leading '!' negates the whole
 *                                       list: neither of these labels (a
 *                                       label outside the taxonomy matches)
 *   early.score:0.9  =0.9  !=0.9        equal / not equal
 *   early.score:>0.5 >=0.9 <0.3 <=0.3   comparisons
 *   early.score:0.5-0.9 (or 0.5<>0.9)   exclusive range: 0.5 < score < 0.9
 *   early.score:!0.5-0.9                outside: score <= 0.5 or >= 0.9
 *                                       (numbers: digits with an optional
 *                                       fraction, within [0, 1])
 *   early.k:5                           one of 3, 5, 10, 20
 * Blanks around items, commas and operators are allowed. Values are
 * untrusted text: every error names the keyword, the 1-based column in the
 * value and what was expected. */
#ifndef EF_SC_KEYWORDS_H
#define EF_SC_KEYWORDS_H

#include <stdint.h>

#include "sc_flow_state.h"
#include "util/err.h"

typedef enum ef_sc_kw_kind { EF_SC_KW_LABEL, EF_SC_KW_SCORE, EF_SC_KW_K } ef_sc_kw_kind_t;

typedef enum ef_sc_op {
    EF_SC_OP_EQ,
    EF_SC_OP_NE,
    EF_SC_OP_LT,
    EF_SC_OP_LE,
    EF_SC_OP_GT,
    EF_SC_OP_GE,
    EF_SC_OP_RANGE,     /* a < score < b */
    EF_SC_OP_NOT_RANGE  /* score <= a || score >= b */
} ef_sc_op_t;

/* early.label's bit for a verdict label outside the taxonomy. */
#define EF_SC_LABEL_FOREIGN 31

/* One parsed keyword. `k` is the decision point whose verdict the keyword
 * looks at: the value of early.k for EF_SC_KW_K; for the others the rule's
 * early.k, filled in by the adapter when the rule is set up. */
typedef struct ef_sc_kw {
    uint8_t kind;      /* ef_sc_kw_kind_t */
    uint8_t k;
    uint8_t op;        /* score: ef_sc_op_t */
    uint32_t labels;   /* label: bit c for every accepted category c, and
                          EF_SC_LABEL_FOREIGN when foreign labels are accepted */
    float a, b;        /* score: the number(s); b only for the ranges */
} ef_sc_kw_t;

/* Name of a keyword as written in rules ("early.label", ...). */
const char *ef_sc_kw_name(ef_sc_kw_kind_t kind);

/* Parse one keyword value. 0 on success; -1 with err on anything else. */
int ef_sc_kw_parse(ef_sc_kw_kind_t kind, const char *value, ef_sc_kw_t *kw, ef_err_t *err);

/* 1 when the verdict satisfies the keyword (early.k: always, since the
 * verdict it is given is already the one for its k). Scores compare as C
 * floats do: a NaN score satisfies only != and nothing else. */
int ef_sc_kw_match(const ef_sc_kw_t *kw, const ef_sc_verdict_t *v);

/* A threshold setting (earlyflow.min-score): a decimal number in [0, 1] and
 * nothing else. `what` names the input in the error message. */
int ef_sc_parse_score(const char *s, const char *what, float *out, ef_err_t *err);

#endif
