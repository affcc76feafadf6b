/* Matching verdicts against a finalised ruleset.
 *
 * Index: for each k (3, 5, 10, 20) and each label bit, the rules that can
 * match a verdict with that k and label, in match order (action order, then
 * priority, then sid). A verdict looks at one such run only, so the cost
 * grows with the rules that could match it, not with the ruleset. */
#include <stdlib.h>
#include <string.h>

#include "ids/rules_internal.h"

static int k_index(int k)
{
    switch (k) {
    case 3: return 0;
    case 5: return 1;
    case 10: return 2;
    case 20: return 3;
    default: return -1;
    }
}

static int rule_order(const void *x, const void *y)
{
    const ef_rule_slot_t *a = *(const ef_rule_slot_t *const *)x;
    const ef_rule_slot_t *b = *(const ef_rule_slot_t *const *)y;
    if (a->rule.action != b->rule.action)
        return a->rule.action < b->rule.action ? -1 : 1;
    if (a->rule.priority != b->rule.priority)
        return a->rule.priority < b->rule.priority ? -1 : 1;
    if (a->rule.sid != b->rule.sid)
        return a->rule.sid < b->rule.sid ? -1 : 1;
    if (a->rule.gid != b->rule.gid)
        return a->rule.gid < b->rule.gid ? -1 : 1;
    return 0;
}

int ef_ruleset_finalize(ef_ruleset_t *rs, ef_err_t *err)
{
    if (rs->finalized)
        return 0;
    if (rs->n > 1)
        qsort(rs->slots, rs->n, sizeof *rs->slots, rule_order);
    size_t total = 0;
    memset(rs->idx_len, 0, sizeof rs->idx_len);
    rs->k_mask = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const ef_rule_t *r = &rs->slots[i]->rule;
        int ki = k_index(r->k);
        rs->k_mask |= 1u << r->k;
        for (int b = 0; b < 32; b++)
            if (r->label.mask & (1u << b)) {
                rs->idx_len[ki][b]++;
                total++;
            }
    }
    rs->order = malloc((rs->n ? rs->n : 1) * sizeof *rs->order);
    rs->idx_pool = malloc((total ? total : 1) * sizeof *rs->idx_pool);
    if (!rs->order || !rs->idx_pool)
        return ef_err_set(err, "out of memory indexing %zu rules", rs->n);
    size_t off = 0;
    for (int ki = 0; ki < 4; ki++)
        for (int b = 0; b < 32; b++) {
            rs->idx_start[ki][b] = off;
            off += rs->idx_len[ki][b];
            rs->idx_len[ki][b] = 0;
        }
    for (size_t i = 0; i < rs->n; i++) {
        const ef_rule_t *r = &rs->slots[i]->rule;
        rs->order[i] = r;
        int ki = k_index(r->k);
        for (int b = 0; b < 32; b++)
            if (r->label.mask & (1u << b))
                rs->idx_pool[rs->idx_start[ki][b] + rs->idx_len[ki][b]++] = (uint32_t)i;
    }
    rs->finalized = 1;
    return 0;
}

uint32_t ef_ruleset_k_mask(const ef_ruleset_t *rs)
{
    if (rs->finalized)
        return rs->k_mask;
    uint32_t m = 0;
    for (size_t i = 0; i < rs->n; i++)
        m |= 1u << rs->slots[i]->rule.k;
    return m;
}

size_t ef_ruleset_count(const ef_ruleset_t *rs)
{
    return rs->n;
}

const ef_rule_t *ef_ruleset_rule(const ef_ruleset_t *rs, size_t i)
{
    return i < rs->n ? &rs->slots[i]->rule : NULL;
}

static int has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

static int side_match(const struct ef_rule_match_data *m, const ef_rule_flow_t *f, int swap,
                      int ports)
{
    const uint8_t *src = swap ? f->server_addr : f->client_addr;
    const uint8_t *dst = swap ? f->client_addr : f->server_addr;
    uint16_t sp = swap ? f->server_port : f->client_port;
    uint16_t dp = swap ? f->client_port : f->server_port;
    if (!ef_addr_match_test(m->src, f->ip_version, src) ||
        !ef_addr_match_test(m->dst, f->ip_version, dst))
        return 0;
    return !ports || (ef_port_match_test(m->sp, sp) && ef_port_match_test(m->dp, dp));
}

int ef_rule_match_flow(const ef_rule_t *r, const ef_rule_flow_t *f)
{
    const struct ef_rule_match_data *m = r->m_;
    if (f->ip_version != 4 && f->ip_version != 6)
        return 0;
    if (!(m->ip_versions & (1u << f->ip_version)))
        return 0;
    if (!(m->proto_bits[f->proto / 64] & (1ull << (f->proto % 64))))
        return 0;
    /* Suricata checks ports for TCP, UDP and SCTP only */
    int ports = has_ports(f->proto);
    return side_match(m, f, 0, ports) || (r->bidirectional && side_match(m, f, 1, ports));
}

size_t ef_ruleset_match(const ef_ruleset_t *rs, const ef_rule_flow_t *flow, const ef_verdict_t *v,
                        const ef_rule_t **out, size_t max)
{
    int ki = k_index(v->k);
    if (!rs->finalized || ki < 0)
        return 0;
    uint32_t bit = ef_label_bit(v->label);
    int b = __builtin_ctz(bit);
    const uint32_t *run = rs->idx_pool + rs->idx_start[ki][b];
    size_t n = rs->idx_len[ki][b], found = 0;
    for (size_t i = 0; i < n; i++) {
        const ef_rule_t *r = rs->order[run[i]];
        if (!ef_score_match_test(&r->score, v->score) || !ef_rule_match_flow(r, flow))
            continue;
        if (r->action == EF_ACTION_PASS) {
            /* pass rules sort before every other action, so nothing has
             * matched yet: the pass rule is returned alone */
            if (max > 0)
                out[0] = r;
            return 1;
        }
        if (found < max)
            out[found] = r;
        found++;
    }
    return found;
}

ef_ruleset_t *ef_ruleset_load(const char *const *paths, size_t n, const ef_rules_opts_t *opts,
                              ef_err_t *err)
{
    ef_ruleset_t *rs = ef_ruleset_new(opts, err);
    if (!rs)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (ef_ruleset_add_file(rs, paths[i], err) < 0) {
            ef_ruleset_free(rs);
            return NULL;
        }
    if (ef_ruleset_finalize(rs, err) < 0) {
        ef_ruleset_free(rs);
        return NULL;
    }
    return rs;
}
