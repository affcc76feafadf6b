/* Values of the rule keywords early.label, early.score and early.k as the
 * Suricata adapter parses and matches them; free of Suricata types so they
 * are tested without Suricata (tests/unit/test_suricata_adapter.c).
 *
 * The grammar and meaning are earlyflow's own (docs/rules.md): the values
 * are parsed and tested by the same functions as earlyflow's rules loader
 * (ef_label_match_parse, ef_score_match_parse, ef_rule_k_parse in
 * core/ids/rules.h), so a value means the same in both hosts. This layer
 * adds what Suricata needs: one struct per keyword as its SigMatchCtx, the
 * k the keyword looks at, and errors that name the keyword and the 1-based
 * column in the value (Suricata prints the whole rule next to them). */
#ifndef EF_SC_KEYWORDS_H
#define EF_SC_KEYWORDS_H

#include <stdint.h>

#include "ids/rules.h"
#include "sc_flow_state.h"
#include "util/err.h"

typedef enum ef_sc_kw_kind { EF_SC_KW_LABEL, EF_SC_KW_SCORE, EF_SC_KW_K } ef_sc_kw_kind_t;

/* One parsed keyword. `k` is the decision point whose verdict the keyword
 * looks at: the value of early.k for EF_SC_KW_K; for the others the rule's
 * early.k, filled in by the adapter when the rule is set up. */
typedef struct ef_sc_kw {
    uint8_t kind;             /* ef_sc_kw_kind_t */
    uint8_t k;
    ef_label_match_t label;   /* EF_SC_KW_LABEL */
    ef_score_match_t score;   /* EF_SC_KW_SCORE */
} ef_sc_kw_t;

/* Name of a keyword as written in rules ("early.label", ...). */
const char *ef_sc_kw_name(ef_sc_kw_kind_t kind);

/* Parse one keyword value. 0 on success; -1 with err on anything else. */
int ef_sc_kw_parse(ef_sc_kw_kind_t kind, const char *value, ef_sc_kw_t *kw, ef_err_t *err);

/* 1 when the verdict satisfies the keyword (early.k: always, since the
 * verdict it is given is already the one for its k). A verdict label outside
 * the taxonomy is a foreign label (matched only by negated lists). */
int ef_sc_kw_match(const ef_sc_kw_t *kw, const ef_sc_verdict_t *v);

/* The earlyflow.min-score setting: a decimal number in [0, 1] and nothing
 * else (same number syntax as early.score). */
int ef_sc_parse_min_score(const char *s, float *out, ef_err_t *err);

#endif
