/* Rules: Suricata rule syntax matched against early verdicts.
 *
 *   action proto src_addr src_port direction dst_addr dst_port (options)
 *
 * e.g.
 *   alert tcp any any -> $HOME_NET any (msg:"early SYN scan"; \
 *       early.label:NetworkScan; early.score:>=0.9; early.k:5; sid:9100001; rev:1;)
 *
 * The same file loads in Suricata (through the adapter, which registers the
 * early.* keywords) and in earlyflow's own host. docs/rules.md is the
 * reference: the grammar, every keyword, the matching semantics and where
 * earlyflow differs from Suricata.
 *
 * Loading: a ruleset is built from one or more files (or strings), then
 * finalised. Every problem is reported through the diagnostic callback with
 * file:line:col; a rule with an error is skipped and the rest of the file
 * still loads. Only I/O failures (cannot open or read a file, or a source
 * larger than EF_RULES_MAX_BYTES, e.g. an endless stream) fail a load as a
 * whole.
 *
 * Matching: a verdict of a flow matches a rule when the rule's early.k equals
 * the verdict's k, its early.label and early.score conditions hold, the
 * protocol matches and the header holds with the flow's client as the rule's
 * source and the server as its destination (`<>`: either way round). The
 * matching rules come out in Suricata's default action order (pass, drop,
 * reject, alert), then by priority (1 first), then by sid; a matching pass
 * rule ends the list (it is returned alone).
 *
 * Ownership and threads: a ruleset is built by one thread; after
 * ef_ruleset_finalize it is read-only and ef_ruleset_match may run
 * concurrently from any number of threads. Rules (and every string they
 * point to) live until ef_ruleset_free. */
#ifndef EF_IDS_RULES_H
#define EF_IDS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "earlyflow_plugin.h"
#include "ids/diag.h"
#include "util/err.h"

struct ef_config;
struct ef_classification;

/* Suricata's rule size limit (DETECT_MAX_RULE_SIZE): a logical rule, after
 * joining continuation lines, may not be longer. */
#define EF_RULE_MAX_LEN 8192
/* Largest rules file or string read (Suricata's full ET ruleset is ~40 MB). */
#define EF_RULES_MAX_BYTES ((uint64_t)256 << 20)
/* Nesting limit for address/port lists and variables (Suricata uses 64). */
#define EF_RULE_MAX_DEPTH 64

/* Values ordered as Suricata's default action-order. */
typedef enum ef_rule_action {
    EF_ACTION_PASS = 0,
    EF_ACTION_DROP,
    EF_ACTION_REJECT,
    EF_ACTION_ALERT,
    EF_ACTION__COUNT
} ef_rule_action_t;

const char *ef_rule_action_name(ef_rule_action_t a); /* "pass", "drop", ... */

/* ---- early.* keyword values (also used by the Suricata adapter) ---------- */

/* early.label: a label or a comma-separated list of labels from the
 * taxonomy (core/data/taxonomy.h, case-sensitive), optionally negated as a
 * whole with one leading '!': `NetworkScan`, `NetworkScan,PortScan`,
 * `!Unlabeled`, `!Unlabeled,Unknown`. The mask has bit c set for every
 * category c the rule accepts, and EF_LABEL_BIT_FOREIGN set when a label
 * outside the taxonomy is accepted (only negated lists accept those). */
#define EF_LABEL_BIT_FOREIGN 31
typedef struct ef_label_match {
    uint32_t mask;
} ef_label_match_t;

/* The bit of a verdict label: 1 << category, or 1 << EF_LABEL_BIT_FOREIGN. */
uint32_t ef_label_bit(const char *label);

/* Parse an early.label value. On error returns -1, fills err (no location)
 * and, when bad_at is not NULL, the byte offset in `s` of the problem. */
int ef_label_match_parse(const char *s, ef_label_match_t *out, size_t *bad_at, ef_err_t *err);
int ef_label_match_test(const ef_label_match_t *m, const char *label);

/* early.score: Suricata's float comparison modes on a value in [0, 1]:
 *   0.9 or =0.9  equal          !=0.9      not equal
 *   >0.5  >=0.9  <0.3  <=0.3    greater / less (or equal)
 *   0.5-0.9 (or 0.5<>0.9)       exclusive range: 0.5 < score < 0.9
 *   !0.5-0.9                    outside: score <= 0.5 or score >= 0.9 */
typedef enum ef_score_op {
    EF_SCORE_ANY = 0, /* no early.score in the rule */
    EF_SCORE_EQ,
    EF_SCORE_NE,
    EF_SCORE_LT,
    EF_SCORE_LE,
    EF_SCORE_GT,
    EF_SCORE_GE,
    EF_SCORE_RANGE,
    EF_SCORE_NOT_RANGE
} ef_score_op_t;

typedef struct ef_score_match {
    ef_score_op_t op;
    float a, b; /* b only for the range modes */
} ef_score_match_t;

int ef_score_match_parse(const char *s, ef_score_match_t *out, size_t *bad_at, ef_err_t *err);
int ef_score_match_test(const ef_score_match_t *m, float score);

/* early.k: one of 3, 5, 10, 20. */
int ef_rule_k_parse(const char *s, int *k, size_t *bad_at, ef_err_t *err);

/* ---- rules ---------------------------------------------------------------- */

typedef struct ef_rule_kv {
    const char *key;   /* metadata key, or reference system ("url", "cve") */
    const char *value;
} ef_rule_kv_t;

struct ef_rule_match_data; /* compiled header (private to rules_*.c) */

typedef struct ef_rule {
    ef_rule_action_t action;
    uint32_t gid;          /* default 1 */
    uint32_t sid;          /* > 0, unique per gid in a ruleset */
    uint32_t rev;          /* 0 when the rule has none */
    uint32_t priority;     /* explicit, else the classtype's, else 3 */
    const char *msg;       /* "" when the rule has none */
    const char *classtype; /* NULL when the rule has none */
    const char *category;  /* classtype description; "" when no classtype */
    int k;                 /* early.k, or the configured default */
    int has_early;         /* the rule uses at least one early.* keyword */
    ef_label_match_t label; /* all labels when the rule has no early.label */
    ef_score_match_t score; /* EF_SCORE_ANY when the rule has no early.score */
    int bidirectional;     /* `<>` */
    size_t n_metadata;
    const ef_rule_kv_t *metadata;   /* "key value" pairs, in rule order */
    size_t n_references;
    const ef_rule_kv_t *references; /* "system,id" pairs, in rule order */
    const char *file;      /* where the rule was read */
    int line;              /* its first line */
    const struct ef_rule_match_data *m_;
} ef_rule_t;

/* ---- loading -------------------------------------------------------------- */

typedef struct ef_rules_opts {
    /* Variables (vars.address-groups / vars.port-groups) and the default
     * early.k (the first value of earlyflow.k). NULL: no variables, k 5. */
    const struct ef_config *config;
    /* classtype table; NULL: the built-in defaults (classification.h). */
    const struct ef_classification *classes;
    /* Overrides the default early.k when non-zero (3, 5, 10 or 20). */
    int default_k;
    ef_diag_fn diag; /* may be NULL: problems are then only counted */
    void *diag_user;
} ef_rules_opts_t;

typedef struct ef_rules_counts {
    unsigned loaded;   /* rules in the ruleset */
    unsigned skipped;  /* rules left out because of an error */
    unsigned errors;   /* error diagnostics (a skipped rule has >= 1) */
    unsigned warnings;
} ef_rules_counts_t;

typedef struct ef_ruleset ef_ruleset_t;

/* `opts` (and the config and classes it points to) must outlive the loads;
 * it is copied. */
ef_ruleset_t *ef_ruleset_new(const ef_rules_opts_t *opts, ef_err_t *err);
void ef_ruleset_free(ef_ruleset_t *rs);

/* Add every valid rule of a file. Returns 0, or -1 with err when the file
 * cannot be opened or read (rule problems never fail the call). */
int ef_ruleset_add_file(ef_ruleset_t *rs, const char *path, ef_err_t *err);
/* Same for text in memory; `name` is used in diagnostics. */
int ef_ruleset_add_string(ef_ruleset_t *rs, const char *name, const char *text, size_t len,
                          ef_err_t *err);

/* Sort and index the rules; afterwards the ruleset is read-only and can be
 * matched. Returns 0 or -1 (out of memory). */
int ef_ruleset_finalize(ef_ruleset_t *rs, ef_err_t *err);

const ef_rules_counts_t *ef_ruleset_counts(const ef_ruleset_t *rs);

/* Bit k set for every early.k some loaded rule uses. */
uint32_t ef_ruleset_k_mask(const ef_ruleset_t *rs);

/* Rules in match order (after finalize). */
size_t ef_ruleset_count(const ef_ruleset_t *rs);
const ef_rule_t *ef_ruleset_rule(const ef_ruleset_t *rs, size_t i);

/* Convenience: new + add every file + finalize. On an I/O error returns NULL
 * with err; rule problems go to opts->diag. */
ef_ruleset_t *ef_ruleset_load(const char *const *paths, size_t n, const ef_rules_opts_t *opts,
                              ef_err_t *err);

/* Evaluate every variable of the config's vars.address-groups and
 * vars.port-groups (not only those a rule uses) and report each bad one
 * through diag, located in the config file. Returns the number of bad
 * variables. */
int ef_rules_check_vars(const struct ef_config *config, ef_diag_fn diag, void *user);

/* ---- matching ------------------------------------------------------------- */

/* The flow a verdict belongs to, oriented: client = the side that opened it. */
typedef struct ef_rule_flow {
    uint8_t ip_version;           /* 4 or 6 */
    uint8_t proto;                /* IP protocol number */
    uint16_t client_port;         /* 0 for port-less protocols */
    uint16_t server_port;
    const uint8_t *client_addr;   /* 4 or 16 bytes, network order */
    const uint8_t *server_addr;
} ef_rule_flow_t;

/* Fill out[0..max) with the rules matching the verdict, in match order, and
 * return how many matched (when more than max matched, only max are written;
 * size out with ef_ruleset_count to get them all). A matching pass rule is
 * returned alone. */
size_t ef_ruleset_match(const ef_ruleset_t *rs, const ef_rule_flow_t *flow, const ef_verdict_t *v,
                        const ef_rule_t **out, size_t max);

/* Header-only test of one rule (protocol, addresses, ports, direction). */
int ef_rule_match_flow(const ef_rule_t *r, const ef_rule_flow_t *flow);

#endif
