/* Address and port sets for rule headers: interval sets, the expression
 * evaluator (lists, negation, variables) and the compiled match tables. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ids/config.h"
#include "ids/rules_internal.h"

/* ---- 128-bit values ----------------------------------------------------------- */

int ef_u128_cmp(ef_u128_t x, ef_u128_t y)
{
    if (x.hi != y.hi)
        return x.hi < y.hi ? -1 : 1;
    if (x.lo != y.lo)
        return x.lo < y.lo ? -1 : 1;
    return 0;
}

static ef_u128_t u128(uint64_t hi, uint64_t lo)
{
    ef_u128_t v = {hi, lo};
    return v;
}

static ef_u128_t u128_inc(ef_u128_t x)
{
    if (++x.lo == 0)
        x.hi++;
    return x;
}

static ef_u128_t u128_dec(ef_u128_t x)
{
    if (x.lo-- == 0)
        x.hi--;
    return x;
}

static ef_u128_t u128_from_bytes(const uint8_t *b, int n)
{
    ef_u128_t v = {0, 0};
    for (int i = 0; i < n; i++) {
        v.hi = (v.hi << 8) | (v.lo >> 56);
        v.lo = (v.lo << 8) | b[i];
    }
    return v;
}

/* Mask of the low (bits - prefix) bits, i.e. the host part of a prefix. */
static ef_u128_t host_mask(int bits, int prefix)
{
    int host = bits - prefix;
    ef_u128_t m = {0, 0};
    if (host >= 128) {
        m.hi = m.lo = UINT64_MAX;
    } else if (host >= 64) {
        m.lo = UINT64_MAX;
        m.hi = host == 64 ? 0 : (UINT64_MAX >> (128 - host));
    } else if (host > 0) {
        m.lo = UINT64_MAX >> (64 - host);
    }
    return m;
}

/* ---- interval sets ------------------------------------------------------------ */

void ef_iset_free(ef_iset_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

int ef_iset_push(ef_iset_t *s, ef_u128_t a, ef_u128_t b)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        ef_ival_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].a = a;
    s->v[s->n].b = b;
    s->n++;
    return 0;
}

/* Merge overlapping or adjacent intervals of an array sorted by start;
 * returns the new length. */
static size_t coalesce(ef_ival_t *v, size_t n)
{
    if (n == 0)
        return 0;
    size_t w = 0;
    for (size_t i = 1; i < n; i++) {
        ef_ival_t *last = &v[w];
        int adjacent = ef_u128_cmp(last->b, v[i].a) >= 0 ||
                       ef_u128_cmp(u128_inc(last->b), v[i].a) == 0;
        if (adjacent) {
            if (ef_u128_cmp(v[i].b, last->b) > 0)
                last->b = v[i].b;
        } else {
            v[++w] = v[i];
        }
    }
    return w + 1;
}

int ef_iset_contains(const ef_iset_t *s, ef_u128_t x)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ef_u128_cmp(x, s->v[mid].a) < 0)
            hi = mid;
        else if (ef_u128_cmp(x, s->v[mid].b) > 0)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int ival_cmp(const void *x, const void *y)
{
    const ef_ival_t *p = x, *q = y;
    return ef_u128_cmp(p->a, q->a);
}

/* Restore the invariant of an array of intervals in any order. */
static void iset_normalize(ef_iset_t *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof *s->v, ival_cmp);
    s->n = coalesce(s->v, s->n);
}

/* dst := dst ∪ src (both normalized): a linear merge, so repeated unions
 * with a large set cost O(n) each, not O(n log n). */
static int iset_union(ef_iset_t *dst, const ef_iset_t *src)
{
    if (src->n == 0)
        return 0;
    size_t n = dst->n + src->n;
    ef_ival_t *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    size_t i = 0, j = 0, w = 0;
    while (i < dst->n || j < src->n) {
        if (j >= src->n || (i < dst->n && ef_u128_cmp(dst->v[i].a, src->v[j].a) <= 0))
            v[w++] = dst->v[i++];
        else
            v[w++] = src->v[j++];
    }
    free(dst->v);
    dst->v = v;
    dst->cap = n;
    dst->n = coalesce(v, n);
    return 0;
}

/* out := a − b (both normalized); a linear sweep. */
static int iset_diff(ef_iset_t *out, const ef_iset_t *a, const ef_iset_t *b)
{
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        ef_u128_t lo = a->v[i].a, hi = a->v[i].b;
        int empty = 0;
        while (j < b->n && ef_u128_cmp(b->v[j].b, lo) < 0)
            j++;
        for (size_t k = j; k < b->n && ef_u128_cmp(b->v[k].a, hi) <= 0; k++) {
            if (ef_u128_cmp(b->v[k].a, lo) > 0 &&
                ef_iset_push(out, lo, u128_dec(b->v[k].a)) < 0)
                return -1;
            if (ef_u128_cmp(b->v[k].b, hi) >= 0) {
                empty = 1;
                break;
            }
            lo = u128_inc(b->v[k].b);
        }
        if (!empty && ef_iset_push(out, lo, hi) < 0)
            return -1;
    }
    return 0;
}

void ef_dset_free(ef_dset_t *d)
{
    ef_iset_free(&d->f[0]);
    ef_iset_free(&d->f[1]);
}

/* ---- domains ---------------------------------------------------------------- */

static int dom_families(ef_domain_t dom)
{
    return dom == EF_DOM_ADDR ? 2 : 1;
}

static ef_u128_t family_max(ef_domain_t dom, int f)
{
    if (dom == EF_DOM_PORT)
        return u128(0, 65535);
    return f == 0 ? u128(0, UINT32_MAX) : u128(UINT64_MAX, UINT64_MAX);
}

/* An expression's value before closing: positives and negated items. */
typedef struct pn {
    ef_dset_t p, n;
} pn_t;

static void pn_free(pn_t *x)
{
    ef_dset_free(&x->p);
    ef_dset_free(&x->n);
}

/* ---- evaluation context --------------------------------------------------------- */

enum { VAR_NEW = 0, VAR_BUSY, VAR_DONE, VAR_BAD };

typedef struct var_memo {
    char *name;
    ef_domain_t dom;
    int state;
    pn_t value;     /* flattened value (for use without '!') */
    char *error;    /* message when VAR_BAD */
} var_memo_t;

/* Work budget: intervals handled by unions and differences while
 * evaluating one field (variables it uses are evaluated once per context and
 * memoised). Generous for real configs (a few thousand), small enough that
 * crafted inputs finish in well under a second. */
#define EXPR_WORK_BUDGET 20000000u
/* All variables of a context together (each is evaluated once). */
#define EXPR_VARS_BUDGET 100000000u

/* Compiled field tables shared by rules with identical field text. */
typedef struct field_cache_entry {
    char *text;          /* NULL: empty slot */
    ef_domain_t dom;
    uint64_t hash;
    void *match;         /* ef_addr_match_t or ef_port_match_t */
} field_cache_entry_t;

struct ef_expr_ctx {
    const ef_config_t *cfg;
    var_memo_t *vars;
    size_t n_vars, cap_vars;
    uint64_t work;       /* spent on the field (or variable) being evaluated */
    uint64_t vars_work;  /* spent on all variables so far */
    /* names of the variables being evaluated, outermost first (cycles) */
    const char *busy[EF_RULE_MAX_DEPTH + 1];
    int n_busy;
    int cycle;           /* the error being propagated is a cycle report */
    int wrapped;         /* ... or already names the variable at fault */
    field_cache_entry_t *cache;
    size_t cache_cap, cache_n;
};

ef_expr_ctx_t *ef_expr_ctx_new(const ef_config_t *cfg)
{
    ef_expr_ctx_t *c = calloc(1, sizeof *c);
    if (c)
        c->cfg = cfg;
    return c;
}

static void addr_match_free(ef_addr_match_t *m);
static void port_match_free(ef_port_match_t *m);

void ef_expr_ctx_free(ef_expr_ctx_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_vars; i++) {
        free(c->vars[i].name);
        free(c->vars[i].error);
        pn_free(&c->vars[i].value);
    }
    free(c->vars);
    for (size_t i = 0; i < c->cache_cap; i++) {
        if (!c->cache[i].text)
            continue;
        free(c->cache[i].text);
        if (c->cache[i].dom == EF_DOM_ADDR)
            addr_match_free(c->cache[i].match);
        else
            port_match_free(c->cache[i].match);
    }
    free(c->cache);
    free(c);
}

static var_memo_t *memo_get(ef_expr_ctx_t *c, ef_domain_t dom, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_vars; i++)
        if (c->vars[i].dom == dom && strlen(c->vars[i].name) == len &&
            !memcmp(c->vars[i].name, name, len))
            return &c->vars[i];
    if (c->n_vars == c->cap_vars) {
        size_t cap = c->cap_vars ? c->cap_vars * 2 : 16;
        var_memo_t *v = realloc(c->vars, cap * sizeof *v);
        if (!v)
            return NULL;
        c->vars = v;
        c->cap_vars = cap;
    }
    var_memo_t *m = &c->vars[c->n_vars];
    memset(m, 0, sizeof *m);
    m->name = strndup(name, len);
    if (!m->name)
        return NULL;
    m->dom = dom;
    c->n_vars++;
    return m;
}

/* One evaluation: the text, where errors are, and how deep we are. */
typedef struct ev {
    ef_expr_ctx_t *c;
    ef_domain_t dom;
    const char *s;
    size_t len, pos;
    int depth;
    size_t bad_at;
    ef_err_t *err;
} ev_t;

static int ev_fail(ev_t *e, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int ev_fail(ev_t *e, size_t at, const char *fmt, ...)
{
    if (e->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err->msg, sizeof e->err->msg, fmt, ap);
        va_end(ap);
    }
    e->bad_at = at;
    return -1;
}

static int charge(ev_t *e, size_t n)
{
    e->c->work += n;
    if (e->c->work > EXPR_WORK_BUDGET)
        return ev_fail(e, e->pos, "%s expression too large: more than %u intervals to combine",
                       e->dom == EF_DOM_ADDR ? "address" : "port", EXPR_WORK_BUDGET);
    return 0;
}

static int dset_union(ev_t *e, ef_dset_t *dst, const ef_dset_t *src)
{
    for (int f = 0; f < dom_families(e->dom); f++) {
        if (charge(e, dst->f[f].n + src->f[f].n) < 0)
            return -1;
        if (iset_union(&dst->f[f], &src->f[f]) < 0)
            return ev_fail(e, e->pos, "out of memory");
    }
    return 0;
}

static int pn_union(ev_t *e, pn_t *dst, const pn_t *src)
{
    return dset_union(e, &dst->p, &src->p) < 0 ? -1 : dset_union(e, &dst->n, &src->n);
}

/* Final set of a value: per family, positives (the whole family when there
 * are none but there are negated items) minus negated items. */
static int pn_close(ev_t *e, const pn_t *x, ef_dset_t *out)
{
    for (int f = 0; f < dom_families(e->dom); f++) {
        ef_iset_t full = {0}, *pos = (ef_iset_t *)&x->p.f[f];
        if (x->p.f[f].n == 0 && x->n.f[f].n > 0) {
            if (ef_iset_push(&full, u128(0, 0), family_max(e->dom, f)) < 0)
                return ev_fail(e, e->pos, "out of memory");
            pos = &full;
        }
        if (charge(e, pos->n + x->n.f[f].n) < 0) {
            ef_iset_free(&full);
            return -1;
        }
        out->f[f].n = 0;
        int rc = iset_diff(&out->f[f], pos, &x->n.f[f]);
        ef_iset_free(&full);
        if (rc < 0)
            return ev_fail(e, e->pos, "out of memory");
    }
    return 0;
}

/* ---- atoms ----------------------------------------------------------------------- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int is_atom_char(char ch)
{
    return ch && ch != ',' && ch != '[' && ch != ']' && ch != '!' && ch != '$' && !is_space(ch);
}

static void skip_ws(ev_t *e)
{
    while (e->pos < e->len && is_space(e->s[e->pos]))
        e->pos++;
}

/* Parse an IP address text (no prefix) into a value and family. */
static int parse_ip(const char *txt, ef_u128_t *v, int *fam)
{
    uint8_t buf[16];
    if (strchr(txt, ':')) {
        if (inet_pton(AF_INET6, txt, buf) != 1)
            return -1;
        *v = u128_from_bytes(buf, 16);
        *fam = 1;
    } else {
        if (inet_pton(AF_INET, txt, buf) != 1)
            return -1;
        *v = u128_from_bytes(buf, 4);
        *fam = 0;
    }
    return 0;
}

/* Unsigned decimal with no sign, no leading '+', bounded. */
static int parse_uint(const char *txt, unsigned long max, unsigned long *out)
{
    if (!*txt)
        return -1;
    unsigned long v = 0;
    for (const char *p = txt; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* Prefix length from "/24" or "/255.255.255.0" (contiguous IPv4 masks). */
static int parse_prefix(const char *txt, int fam, int *prefix)
{
    unsigned long n;
    if (parse_uint(txt, fam == 0 ? 32 : 128, &n) == 0) {
        *prefix = (int)n;
        return 0;
    }
    if (fam != 0)
        return -1;
    uint8_t m[4];
    if (inet_pton(AF_INET, txt, m) != 1)
        return -1;
    uint32_t mask = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
    uint32_t inv = ~mask;
    if (inv & (inv + 1)) /* ones must be contiguous from the top */
        return -1;
    int bits = 0;
    while (bits < 32 && (mask & (0x80000000u >> bits)))
        bits++;
    *prefix = bits;
    return 0;
}

static int addr_atom(ev_t *e, const char *txt, size_t at, pn_t *out)
{
    char a[128];
    const char *slash = strchr(txt, '/'), *dash = strchr(txt, '-');
    ef_u128_t lo, hi;
    int fam, fam2;
    if (dash && !slash) {
        size_t n = (size_t)(dash - txt);
        if (n >= sizeof a)
            return ev_fail(e, at, "address '%s' is too long", txt);
        memcpy(a, txt, n);
        a[n] = '\0';
        if (parse_ip(a, &lo, &fam) < 0 || parse_ip(dash + 1, &hi, &fam2) < 0)
            return ev_fail(e, at, "expected an address range 'A-B', got '%s'", txt);
        if (fam != fam2)
            return ev_fail(e, at, "address range '%s' mixes IPv4 and IPv6", txt);
        if (ef_u128_cmp(lo, hi) > 0)
            return ev_fail(e, at, "address range '%s' ends before it starts", txt);
    } else {
        size_t n = slash ? (size_t)(slash - txt) : strlen(txt);
        if (n >= sizeof a)
            return ev_fail(e, at, "address '%s' is too long", txt);
        memcpy(a, txt, n);
        a[n] = '\0';
        if (parse_ip(a, &lo, &fam) < 0)
            return ev_fail(e, at, "expected an IPv4 or IPv6 address, CIDR, range, list or "
                                  "variable, got '%s'", txt);
        int bits = fam == 0 ? 32 : 128, prefix = bits;
        if (slash && parse_prefix(slash + 1, fam, &prefix) < 0)
            return ev_fail(e, at, "expected a prefix length 0-%d after '/', got '%s'", bits,
                           slash + 1);
        ef_u128_t hm = host_mask(bits, prefix);
        lo.hi &= ~hm.hi;
        lo.lo &= ~hm.lo;
        hi = lo;
        hi.hi |= hm.hi;
        hi.lo |= hm.lo;
    }
    if (ef_iset_push(&out->p.f[fam], lo, hi) < 0)
        return ev_fail(e, at, "out of memory");
    return 0;
}

static int port_atom(ev_t *e, const char *txt, size_t at, pn_t *out)
{
    unsigned long lo = 0, hi = 65535;
    const char *colon = strchr(txt, ':');
    char a[16];
    if (colon) {
        size_t n = (size_t)(colon - txt);
        if (n >= sizeof a)
            return ev_fail(e, at, "expected a port 0-65535, got '%s'", txt);
        memcpy(a, txt, n);
        a[n] = '\0';
        if (n && parse_uint(a, 65535, &lo) < 0)
            return ev_fail(e, at, "expected a port range 'A:B' with ports 0-65535, got '%s'",
                           txt);
        if (colon[1] && parse_uint(colon + 1, 65535, &hi) < 0)
            return ev_fail(e, at, "expected a port range 'A:B' with ports 0-65535, got '%s'",
                           txt);
        if (!n && !colon[1])
            return ev_fail(e, at, "expected a port range 'A:B', 'A:' or ':B', got ':'");
        if (lo > hi)
            return ev_fail(e, at, "port range '%s' ends before it starts", txt);
    } else {
        if (parse_uint(txt, 65535, &lo) < 0)
            return ev_fail(e, at, "expected a port 0-65535, range, list or variable, got '%s'",
                           txt);
        hi = lo;
    }
    if (ef_iset_push(&out->p.f[0], u128(0, lo), u128(0, hi)) < 0)
        return ev_fail(e, at, "out of memory");
    return 0;
}

static int all_families(ev_t *e, ef_dset_t *d)
{
    for (int f = 0; f < dom_families(e->dom); f++) {
        d->f[f].n = 0;
        if (ef_iset_push(&d->f[f], u128(0, 0), family_max(e->dom, f)) < 0)
            return ev_fail(e, e->pos, "out of memory");
    }
    return 0;
}

/* ---- recursive descent ------------------------------------------------------------ */

static int eval_item(ev_t *e, pn_t *out);
static int eval_var_value(ef_expr_ctx_t *c, ef_domain_t dom, var_memo_t *m, int depth,
                          ef_err_t *err);

/* Items of a list are combined so that a list costs O(n log n) in its
 * items: a large item (a variable) is merged linearly into the result; small
 * items (literals) wait in a pending buffer that is sorted and merged when it
 * outgrows the result. Either way the result stays normalized. */
#define LIST_BIG_ITEM 64

static int pending_flush(ev_t *e, ef_iset_t *dst, ef_iset_t *pend)
{
    if (pend->n == 0)
        return 0;
    if (charge(e, pend->n + dst->n) < 0)
        return -1;
    iset_normalize(pend);
    int rc = iset_union(dst, pend);
    pend->n = 0;
    return rc < 0 ? ev_fail(e, e->pos, "out of memory") : 0;
}

static int list_add(ev_t *e, ef_dset_t *dst, ef_dset_t *pend, const ef_dset_t *src)
{
    for (int f = 0; f < dom_families(e->dom); f++) {
        const ef_iset_t *in = &src->f[f];
        if (in->n >= LIST_BIG_ITEM) {
            if (charge(e, dst->f[f].n + in->n) < 0)
                return -1;
            if (iset_union(&dst->f[f], in) < 0)
                return ev_fail(e, e->pos, "out of memory");
            continue;
        }
        if (charge(e, in->n) < 0)
            return -1;
        for (size_t i = 0; i < in->n; i++)
            if (ef_iset_push(&pend->f[f], in->v[i].a, in->v[i].b) < 0)
                return ev_fail(e, e->pos, "out of memory");
        size_t limit = dst->f[f].n > 1024 ? dst->f[f].n : 1024;
        if (pend->f[f].n > limit && pending_flush(e, &dst->f[f], &pend->f[f]) < 0)
            return -1;
    }
    return 0;
}

static int eval_list(ev_t *e, pn_t *out)
{
    size_t open = e->pos++;
    pn_t pend = {0};
    int rc = 0;
    skip_ws(e);
    if (e->pos < e->len && e->s[e->pos] == ']')
        return ev_fail(e, open, "empty list '[]'");
    for (;;) {
        pn_t item = {0};
        skip_ws(e);
        rc = eval_item(e, &item);
        if (rc == 0)
            rc = list_add(e, &out->p, &pend.p, &item.p);
        if (rc == 0)
            rc = list_add(e, &out->n, &pend.n, &item.n);
        pn_free(&item);
        if (rc < 0)
            break;
        skip_ws(e);
        if (e->pos >= e->len) {
            rc = ev_fail(e, open, "unterminated list: expected ']' to close the '[' here");
            break;
        }
        if (e->s[e->pos] == ']') {
            e->pos++;
            for (int f = 0; f < dom_families(e->dom) && rc == 0; f++) {
                rc = pending_flush(e, &out->p.f[f], &pend.p.f[f]);
                if (rc == 0)
                    rc = pending_flush(e, &out->n.f[f], &pend.n.f[f]);
            }
            break;
        }
        if (e->s[e->pos] != ',') {
            rc = ev_fail(e, e->pos, "expected ',' or ']' in list, got '%c'", e->s[e->pos]);
            break;
        }
        e->pos++;
    }
    pn_free(&pend);
    return rc;
}

static int eval_var(ev_t *e, pn_t *out)
{
    size_t at = e->pos++;
    size_t start = e->pos;
    while (e->pos < e->len &&
           (isalnum((unsigned char)e->s[e->pos]) || e->s[e->pos] == '_' || e->s[e->pos] == '-'))
        e->pos++;
    if (e->pos == start)
        return ev_fail(e, at, "expected a variable name after '$'");
    var_memo_t *m = memo_get(e->c, e->dom, e->s + start, e->pos - start);
    if (!m)
        return ev_fail(e, at, "out of memory");
    ef_err_t verr;
    if (eval_var_value(e->c, e->dom, m, e->depth, &verr) < 0)
        return ev_fail(e, at, "%s", verr.msg);
    /* the memo array may have grown (moved) during the evaluation */
    m = memo_get(e->c, e->dom, e->s + start, e->pos - start);
    if (!m)
        return ev_fail(e, at, "out of memory");
    return pn_union(e, out, &m->value);
}

static int eval_negation(ev_t *e, pn_t *out)
{
    e->pos++;
    skip_ws(e);
    if (e->pos < e->len && e->s[e->pos] == '!')
        return ev_fail(e, e->pos, "double negation '!!' is not allowed");
    pn_t inner = {0};
    ef_dset_t closed = {0};
    int rc = eval_item(e, &inner);
    if (rc == 0)
        rc = pn_close(e, &inner, &closed);
    if (rc == 0)
        rc = dset_union(e, &out->n, &closed);
    pn_free(&inner);
    ef_dset_free(&closed);
    return rc;
}

static int eval_atom(ev_t *e, pn_t *out)
{
    size_t at = e->pos;
    while (e->pos < e->len && is_atom_char(e->s[e->pos]))
        e->pos++;
    size_t n = e->pos - at;
    if (n == 0) {
        if (e->pos >= e->len)
            return ev_fail(e, at, "expected an %s, got the end of the field",
                           e->dom == EF_DOM_ADDR ? "address" : "port");
        return ev_fail(e, at, "unexpected '%c'", e->s[e->pos]);
    }
    char txt[160];
    if (n >= sizeof txt)
        return ev_fail(e, at, "%s item too long (%zu bytes)",
                       e->dom == EF_DOM_ADDR ? "address" : "port", n);
    memcpy(txt, e->s + at, n);
    txt[n] = '\0';
    if (!strcasecmp(txt, "any")) {
        if (all_families(e, &out->p) < 0)
            return -1;
        return 0;
    }
    return e->dom == EF_DOM_ADDR ? addr_atom(e, txt, at, out) : port_atom(e, txt, at, out);
}

static int eval_item(ev_t *e, pn_t *out)
{
    if (e->depth >= EF_RULE_MAX_DEPTH)
        return ev_fail(e, e->pos, "lists, negations and variables nested deeper than %d levels",
                       EF_RULE_MAX_DEPTH);
    e->depth++;
    int rc;
    if (e->pos >= e->len)
        rc = ev_fail(e, e->pos, "expected an %s, got the end of the field",
                     e->dom == EF_DOM_ADDR ? "address" : "port");
    else if (e->s[e->pos] == '[')
        rc = eval_list(e, out);
    else if (e->s[e->pos] == '!')
        rc = eval_negation(e, out);
    else if (e->s[e->pos] == '$')
        rc = eval_var(e, out);
    else
        rc = eval_atom(e, out);
    /* every branch leaves out normalized: atoms add one interval to an empty
     * value, unions merge, differences keep order */
    e->depth--;
    return rc;
}

/* Evaluate a whole field into its flattened (positives, negated) pair. */
static int eval_top(ev_t *e, pn_t *out)
{
    skip_ws(e);
    if (eval_item(e, out) < 0)
        return -1;
    skip_ws(e);
    if (e->pos < e->len)
        return ev_fail(e, e->pos, "unexpected '%c' after the %s (lists need '[...]')",
                       e->s[e->pos], e->dom == EF_DOM_ADDR ? "address" : "port");
    return 0;
}

static const char *dom_vars_key(ef_domain_t dom)
{
    return dom == EF_DOM_ADDR ? "vars.address-groups" : "vars.port-groups";
}

static int cycle_error(ef_expr_ctx_t *c, const char *name, ef_domain_t dom, ef_err_t *err)
{
    char chain[EF_ERR_MSG_MAX] = "";
    size_t used = 0;
    int from = 0;
    for (int i = 0; i < c->n_busy; i++)
        if (!strcmp(c->busy[i], name))
            from = i;
    for (int i = from; i < c->n_busy && used < sizeof chain; i++)
        used += (size_t)snprintf(chain + used, sizeof chain - used, "$%s -> ", c->busy[i]);
    c->cycle = 1;
    return ef_err_set(err, "variables refer to each other in a cycle: %s$%s (in %s)", chain, name,
                      dom_vars_key(dom));
}

static int var_fail(ef_expr_ctx_t *c, ef_domain_t dom, const char *name, ef_err_t *err,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Mark a variable bad with a message (built before err is overwritten). */
static int var_fail(ef_expr_ctx_t *c, ef_domain_t dom, const char *name, ef_err_t *err,
                    const char *fmt, ...)
{
    char msg[EF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    var_memo_t *m = memo_get(c, dom, name, strlen(name));
    if (m) {
        m->state = VAR_BAD;
        free(m->error);
        m->error = strdup(msg);
    }
    return ef_err_set(err, "%s", msg);
}

static int eval_var_value(ef_expr_ctx_t *c, ef_domain_t dom, var_memo_t *m, int depth,
                          ef_err_t *err)
{
    if (m->state == VAR_DONE)
        return 0;
    if (m->state == VAR_BAD)
        return ef_err_set(err, "%s", m->error ? m->error : "bad variable");
    if (m->state == VAR_BUSY)
        return cycle_error(c, m->name, dom, err);
    int line = 0, col = 0;
    const char *val =
        c->cfg ? ef_config_var(c->cfg, dom == EF_DOM_ADDR ? EF_VAR_ADDRESS : EF_VAR_PORT, m->name,
                               &line, &col)
               : NULL;
    if (!val) /* not memoised as bad: the message is the same each time anyway */
        return ef_err_set(err, "unknown %s variable $%s (not in %s)",
                          dom == EF_DOM_ADDR ? "address" : "port", m->name, dom_vars_key(dom));
    if (c->n_busy >= EF_RULE_MAX_DEPTH)
        return ef_err_set(err, "variables nested deeper than %d levels", EF_RULE_MAX_DEPTH);
    const char *name = m->name; /* heap string: stays put when c->vars moves */
    const char *file = ef_config_path(c->cfg);
    m->state = VAR_BUSY;
    c->busy[c->n_busy++] = name;
    ev_t e = {.c = c, .dom = dom, .s = val, .len = strlen(val), .depth = depth, .err = err};
    pn_t value = {0};
    /* a variable has its own budget (its value is memoised, not charged to
     * every field that uses it); all variables share a larger one */
    uint64_t outer_work = c->work;
    c->work = 0;
    int rc = eval_top(&e, &value);
    c->vars_work += c->work;
    c->work = outer_work;
    c->n_busy--;
    if (rc == 0 && c->vars_work > EXPR_VARS_BUDGET) {
        rc = ef_err_set(err, "variables too large: more than %u intervals to combine in all of "
                             "%s", EXPR_VARS_BUDGET, dom_vars_key(dom));
        e.bad_at = 0;
    }
    if (rc < 0) {
        pn_free(&value);
        /* the message names the variable whose own text is wrong (or the
         * cycle); variables that merely use it pass it on unchanged */
        int passed_on = c->cycle || c->wrapped;
        c->wrapped = 1;
        if (c->n_busy == 0)
            c->cycle = c->wrapped = 0;
        if (passed_on)
            return var_fail(c, dom, name, err, "%s", err->msg);
        return var_fail(c, dom, name, err, "in $%s (%s.%s at %s:%d:%d), column %zu of its value: %s",
                        name, dom_vars_key(dom), name, file, line, col, e.bad_at + 1, err->msg);
    }
    ef_dset_t closed = {0};
    rc = pn_close(&e, &value, &closed);
    int nothing = rc == 0 && closed.f[0].n == 0 && closed.f[1].n == 0;
    ef_dset_free(&closed);
    if (rc < 0 || nothing) {
        pn_free(&value);
        c->wrapped = c->n_busy > 0;
        return var_fail(c, dom, name, err, "in $%s (%s.%s at %s:%d:%d): %s", name,
                        dom_vars_key(dom), name, file, line, col,
                        nothing ? "the value matches nothing (everything is negated)" : err->msg);
    }
    m = memo_get(c, dom, name, strlen(name));
    if (!m) {
        pn_free(&value);
        return ef_err_set(err, "out of memory");
    }
    m->value = value;
    m->state = VAR_DONE;
    return 0;
}

int ef_expr_eval(ef_expr_ctx_t *c, ef_domain_t dom, const char *s, size_t len, ef_dset_t *out,
                 size_t *bad_at, ef_err_t *err)
{
    ev_t e = {.c = c, .dom = dom, .s = s, .len = len, .err = err};
    c->work = 0;
    c->cycle = c->wrapped = 0;
    pn_t value = {0};
    int rc = eval_top(&e, &value);
    if (rc == 0)
        rc = pn_close(&e, &value, out);
    pn_free(&value);
    if (rc == 0 && out->f[0].n == 0 && out->f[1].n == 0)
        rc = ev_fail(&e, 0, "the %s expression matches nothing (everything is negated)",
                     dom == EF_DOM_ADDR ? "address" : "port");
    if (rc < 0) {
        ef_dset_free(out);
        if (bad_at)
            *bad_at = e.bad_at;
    }
    return rc;
}

int ef_expr_check_vars(ef_expr_ctx_t *c, ef_var_error_fn fn, void *user)
{
    int bad = 0;
    if (!c->cfg)
        return 0;
    for (int dom = 0; dom < 2; dom++) {
        int kind = dom == EF_DOM_ADDR ? EF_VAR_ADDRESS : EF_VAR_PORT;
        size_t n = ef_config_var_count(c->cfg, kind);
        for (size_t i = 0; i < n; i++) {
            int line = 0, col = 0;
            const char *name = ef_config_var_name(c->cfg, kind, i);
            ef_config_var(c->cfg, kind, name, &line, &col);
            var_memo_t *m = memo_get(c, (ef_domain_t)dom, name, strlen(name));
            ef_err_t err;
            c->work = 0;
            c->cycle = c->wrapped = 0;
            if (!m) {
                fn(user, (ef_domain_t)dom, name, line, col, "out of memory");
                bad++;
            } else if (eval_var_value(c, (ef_domain_t)dom, m, 0, &err) < 0) {
                fn(user, (ef_domain_t)dom, name, line, col, err.msg);
                bad++;
            }
        }
    }
    return bad;
}

/* ---- compiled match tables ------------------------------------------------------------ */

static int is_full(const ef_iset_t *s, ef_u128_t max)
{
    return s->n == 1 && s->v[0].a.hi == 0 && s->v[0].a.lo == 0 && !ef_u128_cmp(s->v[0].b, max);
}

static void addr_match_free(ef_addr_match_t *m)
{
    if (!m)
        return;
    free(m->v4);
    free(m->v6);
    free(m);
}

static void port_match_free(ef_port_match_t *m)
{
    if (!m)
        return;
    free(m->v);
    free(m);
}

static ef_addr_match_t *addr_match_build(const ef_dset_t *d)
{
    ef_addr_match_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (is_full(&d->f[0], u128(0, UINT32_MAX)) && is_full(&d->f[1], u128(UINT64_MAX, UINT64_MAX))) {
        m->any = 1;
        return m;
    }
    if (d->f[0].n) {
        m->v4 = malloc(d->f[0].n * sizeof *m->v4);
        if (!m->v4)
            goto oom;
        for (size_t i = 0; i < d->f[0].n; i++) {
            m->v4[i].a = (uint32_t)d->f[0].v[i].a.lo;
            m->v4[i].b = (uint32_t)d->f[0].v[i].b.lo;
        }
        m->n4 = d->f[0].n;
    }
    if (d->f[1].n) {
        m->v6 = malloc(d->f[1].n * sizeof *m->v6);
        if (!m->v6)
            goto oom;
        memcpy(m->v6, d->f[1].v, d->f[1].n * sizeof *m->v6);
        m->n6 = d->f[1].n;
    }
    return m;
oom:
    addr_match_free(m);
    return NULL;
}

static ef_port_match_t *port_match_build(const ef_dset_t *d)
{
    ef_port_match_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (is_full(&d->f[0], u128(0, 65535))) {
        m->any = 1;
        return m;
    }
    if (d->f[0].n) {
        m->v = malloc(d->f[0].n * sizeof *m->v);
        if (!m->v) {
            port_match_free(m);
            return NULL;
        }
        for (size_t i = 0; i < d->f[0].n; i++) {
            m->v[i].a = (uint16_t)d->f[0].v[i].a.lo;
            m->v[i].b = (uint16_t)d->f[0].v[i].b.lo;
        }
        m->n = d->f[0].n;
    }
    return m;
}

static uint64_t text_hash(ef_domain_t dom, const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)dom;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static field_cache_entry_t *cache_slot(ef_expr_ctx_t *c, ef_domain_t dom, const char *s,
                                       size_t len, uint64_t h)
{
    size_t mask = c->cache_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        field_cache_entry_t *e = &c->cache[i];
        if (!e->text || (e->hash == h && e->dom == dom && strlen(e->text) == len &&
                         !memcmp(e->text, s, len)))
            return e;
    }
}

static int cache_grow(ef_expr_ctx_t *c)
{
    size_t cap = c->cache_cap ? c->cache_cap * 2 : 64;
    field_cache_entry_t *old = c->cache;
    size_t old_cap = c->cache_cap;
    c->cache = calloc(cap, sizeof *c->cache);
    if (!c->cache) {
        c->cache = old;
        return -1;
    }
    c->cache_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].text)
            *cache_slot(c, old[i].dom, old[i].text, strlen(old[i].text), old[i].hash) = old[i];
    free(old);
    return 0;
}

static void *expr_compile(ef_expr_ctx_t *c, ef_domain_t dom, const char *s, size_t len,
                          size_t *bad_at, ef_err_t *err)
{
    if ((c->cache_n + 1) * 2 > c->cache_cap && cache_grow(c) < 0) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    uint64_t h = text_hash(dom, s, len);
    field_cache_entry_t *slot = cache_slot(c, dom, s, len, h);
    if (slot->text)
        return slot->match;
    ef_dset_t d = {0};
    if (ef_expr_eval(c, dom, s, len, &d, bad_at, err) < 0)
        return NULL;
    void *m = dom == EF_DOM_ADDR ? (void *)addr_match_build(&d) : (void *)port_match_build(&d);
    ef_dset_free(&d);
    char *text = m ? strndup(s, len) : NULL;
    if (!text) {
        if (dom == EF_DOM_ADDR)
            addr_match_free(m);
        else
            port_match_free(m);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    slot->text = text;
    slot->dom = dom;
    slot->hash = h;
    slot->match = m;
    c->cache_n++;
    return m;
}

const ef_addr_match_t *ef_expr_addr(ef_expr_ctx_t *c, const char *s, size_t len, size_t *bad_at,
                                    ef_err_t *err)
{
    return expr_compile(c, EF_DOM_ADDR, s, len, bad_at, err);
}

const ef_port_match_t *ef_expr_port(ef_expr_ctx_t *c, const char *s, size_t len, size_t *bad_at,
                                    ef_err_t *err)
{
    return expr_compile(c, EF_DOM_PORT, s, len, bad_at, err);
}

int ef_addr_match_test(const ef_addr_match_t *m, int ip_version, const uint8_t *addr)
{
    if (m->any)
        return 1;
    if (ip_version == 4) {
        uint32_t x = ((uint32_t)addr[0] << 24) | ((uint32_t)addr[1] << 16) |
                     ((uint32_t)addr[2] << 8) | addr[3];
        size_t lo = 0, hi = m->n4;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (x < m->v4[mid].a)
                hi = mid;
            else if (x > m->v4[mid].b)
                lo = mid + 1;
            else
                return 1;
        }
        return 0;
    }
    if (ip_version == 6) {
        ef_iset_t s = {(ef_ival_t *)m->v6, m->n6, m->n6};
        return ef_iset_contains(&s, u128_from_bytes(addr, 16));
    }
    return 0;
}

int ef_port_match_test(const ef_port_match_t *m, uint16_t port)
{
    if (m->any)
        return 1;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (port < m->v[mid].a)
            hi = mid;
        else if (port > m->v[mid].b)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}
