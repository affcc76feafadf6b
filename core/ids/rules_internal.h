/* Internals shared by the rules_*.c files: address and port sets and the
 * expression evaluator that builds them from rule headers and variables. Not
 * part of the public API. */
#ifndef EF_IDS_RULES_INTERNAL_H
#define EF_IDS_RULES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ids/rules.h"
#include "util/err.h"

/* ---- interval sets ----------------------------------------------------------
 * A set of unsigned values (IPv4 addresses, IPv6 addresses or ports) as a
 * sorted array of inclusive intervals. Invariant:
 * intervals are disjoint, not adjacent (a.b + 1 < next.a) and sorted, so a
 * value is in the set iff a binary search finds an interval holding it.
 * Values are 128-bit so one implementation serves all three domains.
 * Every operation keeps the invariant (unions merge, differences sweep). */
typedef struct ef_u128 {
    uint64_t hi, lo;
} ef_u128_t;

typedef struct ef_ival {
    ef_u128_t a, b;
} ef_ival_t;

typedef struct ef_iset {
    ef_ival_t *v;
    size_t n, cap;
} ef_iset_t;

int ef_u128_cmp(ef_u128_t x, ef_u128_t y);
void ef_iset_free(ef_iset_t *s);
int ef_iset_push(ef_iset_t *s, ef_u128_t a, ef_u128_t b);
int ef_iset_contains(const ef_iset_t *s, ef_u128_t x);

/* ---- domain sets --------------------------------------------------------- */
typedef enum ef_domain { EF_DOM_ADDR = 0, EF_DOM_PORT = 1 } ef_domain_t;

/* f[0]: IPv4 addresses or ports; f[1]: IPv6 addresses (addresses only). */
typedef struct ef_dset {
    ef_iset_t f[2];
} ef_dset_t;

void ef_dset_free(ef_dset_t *d);

/* ---- expression evaluation -------------------------------------------------
 * Parses an address or port expression (`any`, literals, CIDR, ranges, lists,
 * negation, $VARIABLES) into its final set, with Suricata's semantics:
 * inside a list (and through variables used without '!'), positive and
 * negated items are collected separately and the result is the positives
 * minus the negated; when a list has negated items of an address family but
 * no positive item of that family, the positives of that family are the
 * whole family. Variables are resolved through the config, evaluated once
 * each (memoised), with cycle detection and a work budget, so nesting or
 * repetition cannot blow up time, memory or the stack. */
typedef struct ef_expr_ctx ef_expr_ctx_t;

ef_expr_ctx_t *ef_expr_ctx_new(const struct ef_config *cfg);
void ef_expr_ctx_free(ef_expr_ctx_t *c);

/* On error returns -1, err holds the message and *bad_at the byte offset in
 * s where the problem is (for an error inside a variable's value: the
 * offset of the $VARIABLE reference; the message names the variable and
 * where the config defines it). */
int ef_expr_eval(ef_expr_ctx_t *c, ef_domain_t dom, const char *s, size_t len, ef_dset_t *out,
                 size_t *bad_at, ef_err_t *err);

struct ef_addr_match;
struct ef_port_match;
/* The compiled set of a header field. Rules with the same field text share
 * one table, owned by the context (valid until ef_expr_ctx_free). NULL with
 * err and *bad_at on error. */
const struct ef_addr_match *ef_expr_addr(ef_expr_ctx_t *c, const char *s, size_t len,
                                         size_t *bad_at, ef_err_t *err);
const struct ef_port_match *ef_expr_port(ef_expr_ctx_t *c, const char *s, size_t len,
                                         size_t *bad_at, ef_err_t *err);

/* Every variable of one kind must evaluate; used by `rules --check` to
 * report bad variables even when no rule uses them. Calls fn for each
 * failing variable. Returns the number of bad variables. */
typedef void (*ef_var_error_fn)(void *user, ef_domain_t dom, const char *name, int line, int col,
                                const char *msg);
int ef_expr_check_vars(ef_expr_ctx_t *c, ef_var_error_fn fn, void *user);

/* ---- compiled headers -------------------------------------------------------- */
typedef struct ef_addr4_range {
    uint32_t a, b;
} ef_addr4_range_t;
typedef struct ef_port_range {
    uint16_t a, b;
} ef_port_range_t;

typedef struct ef_addr_match {
    int any;                 /* matches every address of both families */
    size_t n4, n6;
    ef_addr4_range_t *v4;
    ef_ival_t *v6;
} ef_addr_match_t;

typedef struct ef_port_match {
    int any;
    size_t n;
    ef_port_range_t *v;
} ef_port_match_t;

struct ef_rule_match_data {
    uint64_t proto_bits[4];  /* bit p: IP protocol p accepted */
    uint8_t ip_versions;     /* bit 4 / bit 6 */
    const ef_addr_match_t *src, *dst; /* shared, owned by the ruleset's ef_expr_ctx_t */
    const ef_port_match_t *sp, *dp;
};

int ef_addr_match_test(const ef_addr_match_t *m, int ip_version, const uint8_t *addr);
int ef_port_match_test(const ef_port_match_t *m, uint16_t port);

/* ---- logical rules (rules_read.c) ------------------------------------------- */
#define EF_RULE_MAX_SEGS 4096

/* One rule as read from a file: physical lines joined, with the position of
 * each line's bytes so diagnostics can name the physical line and column. */
typedef struct ef_logical_rule {
    char text[EF_RULE_MAX_LEN + 1]; /* NUL-terminated (unless too_long) */
    size_t len;
    struct {
        size_t off;  /* where this physical line's bytes start in text */
        int line;
    } segs[EF_RULE_MAX_SEGS];
    int n_segs;
    int first_line;
    int too_long;    /* longer than EF_RULE_MAX_LEN (text not kept) */
    int indented;    /* the first line starts with a blank */
} ef_logical_rule_t;

void ef_logical_locate(const ef_logical_rule_t *lg, size_t off, int *line, int *col);

/* Read rules from f (or text/len when f is NULL) and call fn for each
 * logical rule; fn returns -1 only when out of memory, which stops the read.
 * Returns 0, or -1 with err on a read error or out of memory. */
typedef int (*ef_rule_fn)(void *user, const ef_logical_rule_t *lg);
int ef_rules_read(const char *name, FILE *f, const char *text, size_t len, ef_rule_fn fn,
                  void *user, ef_err_t *err);

/* ---- ruleset internals shared by rules_parse.c and rules_match.c ---------- */
typedef struct ef_rule_slot {
    ef_rule_t rule;
    struct ef_rule_match_data match;
    char *strings;           /* one allocation for msg/classtype/kv strings */
    ef_rule_kv_t *kv;        /* metadata then references */
} ef_rule_slot_t;

struct ef_ruleset {
    ef_rules_opts_t opts;
    int default_k;
    ef_expr_ctx_t *expr;
    ef_rule_slot_t **slots;
    size_t n, cap;
    char **files;            /* interned file names (rules point into them) */
    size_t n_files;
    ef_rules_counts_t counts;
    int finalized;
    /* duplicate detection: open-addressing set of (gid << 32 | sid) + 1 */
    uint64_t *ids;
    size_t ids_cap, ids_n;
    /* match index (after finalize): per k and label bit, rule indexes in
     * match order; -1 terminated runs inside idx_pool */
    const ef_rule_t **order;
    uint32_t *idx_pool;
    size_t idx_start[4][33];
    size_t idx_len[4][33];
    uint32_t k_mask;
};

void ef_rule_slot_free(ef_rule_slot_t *s);

#endif
