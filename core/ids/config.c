/* Config loading: libyaml events -> a small tree with positions -> typed,
 * validated fields and a flat dotted view. */
#include "ids/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "ids/readfile.h"

/* ---- the tree ------------------------------------------------------------------------ */

typedef enum ykind { Y_NULL = 0, Y_SCALAR, Y_SEQ, Y_MAP } ykind_t;

typedef struct ynode ynode_t;
struct ynode {
    ykind_t kind;
    int line, col;     /* 1-based position of the node */
    char *str;         /* scalar text */
    size_t n, cap;     /* children */
    ynode_t **kids;
    char **keys;       /* mapping keys, parallel to kids */
    int *kline, *kcol; /* mapping key positions */
};

static void ynode_free(ynode_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        ynode_free(n->kids[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    free(n->kline);
    free(n->kcol);
    free(n->str);
    free(n);
}

static ynode_t *map_get(const ynode_t *m, const char *key, size_t *idx)
{
    if (!m || m->kind != Y_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i], key)) {
            if (idx)
                *idx = i;
            return m->kids[i];
        }
    return NULL;
}

/* ---- flat view entries and private state ---------------------------------------------- */

typedef struct flat {
    char *key;
    const char *value;
    int line, col;
} flat_t;

typedef struct var {
    const char *name, *value;
    int line, col;
} var_t;

struct ef_config_priv {
    ynode_t *root;
    char *path;
    flat_t *flat;
    size_t n_flat, cap_flat;
    char **joined;          /* comma-joined sequences (owned) */
    size_t n_joined, cap_joined;
    flat_t *over;           /* ef_config_set overrides */
    size_t n_over;
    var_t *vars[2];
    size_t n_vars[2];
    const char **rule_files;
    const char **plugins;
};

/* ---- diagnostics --------------------------------------------------------------------- */

typedef struct loader {
    const char *name;
    ef_diag_fn diag;
    void *user;
    ef_err_t *err;
    int errors;
    size_t nodes;
} loader_t;

static void lreport(loader_t *l, ef_diag_level_t level, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void lreport(loader_t *l, ef_diag_level_t level, int line, int col, const char *fmt, ...)
{
    char msg[EF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (level == EF_DIAG_ERROR && l->errors++ == 0 && l->err) {
        ef_diag_t d = {level, l->name, line, col, msg};
        char full[EF_ERR_MSG_MAX];
        ef_diag_format(&d, full, sizeof full);
        /* "file:line:col: error: msg" -> "file:line:col: msg" */
        char *e = strstr(full, ": error: ");
        if (e)
            memmove(e + 2, e + 9, strlen(e + 9) + 1);
        ef_err_set(l->err, "%s", full);
    }
    if (l->diag) {
        ef_diag_t d = {level, l->name, line, col, msg};
        l->diag(l->user, &d);
    }
}

/* ---- YAML events -> tree --------------------------------------------------------------- */

typedef struct frame {
    ynode_t *node;
    char *key;      /* pending mapping key (maps only) */
    int kline, kcol;
} frame_t;

static int is_null_scalar(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

static int node_push(ynode_t *parent, ynode_t *kid, char *key, int kline, int kcol)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        ynode_t **kids = realloc(parent->kids, cap * sizeof *kids);
        if (!kids)
            return -1;
        parent->kids = kids;
        if (parent->kind == Y_MAP) {
            char **keys = realloc(parent->keys, cap * sizeof *keys);
            if (keys)
                parent->keys = keys;
            int *kl = keys ? realloc(parent->kline, cap * sizeof *kl) : NULL;
            if (kl)
                parent->kline = kl;
            int *kc = kl ? realloc(parent->kcol, cap * sizeof *kc) : NULL;
            if (kc)
                parent->kcol = kc;
            if (!kc)
                return -1;
        }
        parent->cap = cap;
    }
    parent->kids[parent->n] = kid;
    if (parent->kind == Y_MAP) {
        parent->keys[parent->n] = key;
        parent->kline[parent->n] = kline;
        parent->kcol[parent->n] = kcol;
    }
    parent->n++;
    return 0;
}

/* Attach a finished or opened node to the innermost open collection. */
static int attach(loader_t *l, frame_t *st, int depth, ynode_t **root, ynode_t *node)
{
    if (depth == 0) {
        *root = node;
        return 0;
    }
    frame_t *top = &st[depth - 1];
    if (top->node->kind == Y_SEQ)
        return node_push(top->node, node, NULL, 0, 0) < 0 ? (ynode_free(node), -1) : 0;
    if (!top->key) {
        /* this node is a key */
        if (node->kind == Y_SEQ || node->kind == Y_MAP) {
            lreport(l, EF_DIAG_ERROR, node->line, node->col,
                    "mapping keys must be plain scalars, not %s",
                    node->kind == Y_SEQ ? "sequences" : "mappings");
            ynode_free(node);
            return -2;
        }
        top->key = node->str ? node->str : strdup("");
        node->str = NULL;
        top->kline = node->line;
        top->kcol = node->col;
        ynode_free(node);
        return top->key ? 0 : -1;
    }
    size_t idx;
    if (map_get(top->node, top->key, &idx)) {
        lreport(l, EF_DIAG_WARNING, top->kline, top->kcol,
                "duplicate key '%s' (first at line %d): the later value is used", top->key,
                top->node->kline[idx]);
        ynode_free(top->node->kids[idx]);
        top->node->kids[idx] = node;
        top->node->kline[idx] = top->kline;
        top->node->kcol[idx] = top->kcol;
        free(top->key);
        top->key = NULL;
        return 0;
    }
    if (node_push(top->node, node, top->key, top->kline, top->kcol) < 0) {
        ynode_free(node);
        return -1;
    }
    top->key = NULL;
    return 0;
}

static const char *event_tag(const yaml_event_t *ev)
{
    const yaml_char_t *t = NULL;
    if (ev->type == YAML_SCALAR_EVENT)
        t = ev->data.scalar.tag;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        t = ev->data.sequence_start.tag;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        t = ev->data.mapping_start.tag;
    return (const char *)t;
}

static ynode_t *new_node(loader_t *l, const yaml_event_t *ev, ykind_t kind)
{
    if (++l->nodes > EF_CONFIG_MAX_NODES) {
        lreport(l, EF_DIAG_ERROR, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                "more than %u YAML nodes: refusing to read further", EF_CONFIG_MAX_NODES);
        return NULL;
    }
    ynode_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    const char *tag = event_tag(ev);
    if (tag && strstr(tag, "include"))
        lreport(l, EF_DIAG_WARNING, n->line, n->col,
                "'!include' is not followed by earlyflow: settings in included files are not "
                "read");
    if (kind == Y_SCALAR) {
        n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->str) {
            free(n);
            return NULL;
        }
        if (strlen(n->str) != ev->data.scalar.length) {
            lreport(l, EF_DIAG_ERROR, n->line, n->col, "NUL character inside a value");
            ynode_free(n);
            return NULL;
        }
    }
    return n;
}

static void syntax_error(loader_t *l, const yaml_parser_t *p)
{
    const yaml_mark_t *m = &p->problem_mark;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->context)
        lreport(l, EF_DIAG_ERROR, (int)m->line + 1, (int)m->column + 1,
                "YAML syntax error: %s %s (line %d)", problem, p->context,
                (int)p->context_mark.line + 1);
    else
        lreport(l, EF_DIAG_ERROR, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s",
                problem);
}

/* Build the tree. Returns 0 (root may be NULL for an empty file) or -1. */
static int build_tree(loader_t *l, const char *text, size_t len, ynode_t **root)
{
    yaml_parser_t parser;
    frame_t st[EF_CONFIG_MAX_DEPTH + 1];
    int depth = 0, docs = 0, rc = 0, done = 0;
    *root = NULL;
    if (!yaml_parser_initialize(&parser)) {
        lreport(l, EF_DIAG_ERROR, 0, 0, "cannot initialise the YAML parser");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(l, &parser);
            rc = -1;
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        ynode_t *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                lreport(l, EF_DIAG_ERROR, line, col,
                        "more than one YAML document ('---'): a config file holds one");
                rc = -1;
            }
            break;
        case YAML_ALIAS_EVENT:
            lreport(l, EF_DIAG_ERROR, line, col,
                    "YAML aliases (*%s) are not supported (Suricata does not resolve them "
                    "either): write the value out", (const char *)ev.data.alias.anchor);
            rc = -1;
            break;
        case YAML_SCALAR_EVENT:
            n = new_node(l, &ev, is_null_scalar(&ev) ? Y_NULL : Y_SCALAR);
            if (n && n->kind == Y_NULL && depth > 0 && st[depth - 1].node->kind == Y_MAP &&
                !st[depth - 1].key) {
                /* an empty key ("? " or ": v") */
                n->kind = Y_SCALAR;
                n->str = strdup("");
            }
            rc = n ? attach(l, st, depth, root, n) : -1;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth >= EF_CONFIG_MAX_DEPTH) {
                lreport(l, EF_DIAG_ERROR, line, col, "nesting deeper than %d levels",
                        EF_CONFIG_MAX_DEPTH);
                rc = -1;
                break;
            }
            n = new_node(l, &ev, ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP);
            rc = n ? attach(l, st, depth, root, n) : -1;
            if (rc == 0) {
                st[depth].node = n;
                st[depth].key = NULL;
                depth++;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                free(st[depth - 1].key);
                depth--;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0)
        free(st[--depth].key);
    yaml_parser_delete(&parser);
    if (rc == -1 && l->errors == 0)
        lreport(l, EF_DIAG_ERROR, 0, 0, "out of memory");
    if (rc != 0) {
        ynode_free(*root);
        *root = NULL;
        return -1;
    }
    return 0;
}

/* ---- flat view ------------------------------------------------------------------------- */

static int flat_add(ef_config_priv_t *pv, char *key, const char *value, int line, int col)
{
    if (pv->n_flat == pv->cap_flat) {
        size_t cap = pv->cap_flat ? pv->cap_flat * 2 : 64;
        flat_t *v = realloc(pv->flat, cap * sizeof *v);
        if (!v) {
            free(key);
            return -1;
        }
        pv->flat = v;
        pv->cap_flat = cap;
    }
    pv->flat[pv->n_flat++] = (flat_t){key, value, line, col};
    return 0;
}

static char *join_key(const char *prefix, const char *key)
{
    char *s = NULL;
    if (!*prefix)
        return strdup(key);
    return asprintf(&s, "%s.%s", prefix, key) < 0 ? NULL : s;
}

static const char *join_seq(ef_config_priv_t *pv, const ynode_t *seq)
{
    size_t len = 1;
    for (size_t i = 0; i < seq->n; i++) {
        if (seq->kids[i]->kind == Y_SEQ || seq->kids[i]->kind == Y_MAP)
            return NULL;
        len += (seq->kids[i]->str ? strlen(seq->kids[i]->str) : 0) + 1;
    }
    if (pv->n_joined == pv->cap_joined) {
        size_t cap = pv->cap_joined ? pv->cap_joined * 2 : 16;
        char **v = realloc(pv->joined, cap * sizeof *v);
        if (!v)
            return NULL;
        pv->joined = v;
        pv->cap_joined = cap;
    }
    char *s = malloc(len), *w = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < seq->n; i++) {
        const char *v = seq->kids[i]->str ? seq->kids[i]->str : "";
        if (i)
            *w++ = ',';
        memcpy(w, v, strlen(v));
        w += strlen(v);
    }
    *w = '\0';
    pv->joined[pv->n_joined++] = s;
    return s;
}

static int flatten(ef_config_priv_t *pv, const ynode_t *n, const char *prefix)
{
    for (size_t i = 0; i < n->n; i++) {
        char idx[24];
        const char *k = n->kind == Y_MAP ? n->keys[i] : idx;
        if (n->kind == Y_SEQ)
            snprintf(idx, sizeof idx, "%zu", i);
        char *key = join_key(prefix, k);
        if (!key)
            return -1;
        const ynode_t *kid = n->kids[i];
        const char *value = kid->kind == Y_SCALAR ? kid->str
                            : kid->kind == Y_SEQ  ? join_seq(pv, kid)
                                                  : NULL;
        if (flat_add(pv, key, value, kid->line, kid->col) < 0)
            return -1;
        if ((kid->kind == Y_SEQ || kid->kind == Y_MAP) && flatten(pv, kid, key) < 0)
            return -1;
    }
    return 0;
}

static int flat_cmp(const void *a, const void *b)
{
    const flat_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

static const flat_t *flat_find(const ef_config_priv_t *pv, const char *key)
{
    size_t lo = 0, hi = pv->n_flat;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, pv->flat[mid].key);
        if (c == 0) {
            while (mid > 0 && !strcmp(key, pv->flat[mid - 1].key))
                mid--;
            return &pv->flat[mid];
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Defaults of the earlyflow.* keys, answered when the file leaves them out. */
static const struct {
    const char *key, *value;
} flat_defaults[] = {
    {"earlyflow.model", "builtin"},
    {"earlyflow.k", "5"},
    {"earlyflow.min-score", "0"},
    {"earlyflow.flow-timeouts.new", "1"},
    {"earlyflow.flow-timeouts.established", "1"},
    {"earlyflow.flow-timeouts.closed", "1"},
    {"earlyflow.memcap", "64mb"},
    {"earlyflow.ndpi", "no"},
    {"earlyflow.eve.enabled", "yes"},
    {"earlyflow.eve.filename", "eve.json"},
    {"earlyflow.eve.types", "early,alert,stats"},
    {"earlyflow.eve.early-labels", "all"},
};

static int flat_build(ef_config_priv_t *pv)
{
    if (pv->root && pv->root->kind == Y_MAP && flatten(pv, pv->root, "") < 0)
        return -1;
    if (pv->n_flat > 1)
        qsort(pv->flat, pv->n_flat, sizeof *pv->flat, flat_cmp);
    size_t n = pv->n_flat;
    for (size_t i = 0; i < sizeof flat_defaults / sizeof flat_defaults[0]; i++) {
        int present = 0;
        for (size_t lo = 0, hi = n; lo < hi && !present;) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(flat_defaults[i].key, pv->flat[mid].key);
            if (c == 0)
                present = pv->flat[mid].value != NULL;
            if (c <= 0)
                hi = mid;
            if (c >= 0)
                lo = mid + 1;
        }
        if (!present) {
            char *k = strdup(flat_defaults[i].key);
            if (!k || flat_add(pv, k, flat_defaults[i].value, 0, 0) < 0)
                return -1;
        }
    }
    if (pv->n_flat > 1)
        qsort(pv->flat, pv->n_flat, sizeof *pv->flat, flat_cmp);
    return 0;
}

/* ---- value parsers ------------------------------------------------------------------------ */

int ef_parse_decimal(const char *s, double *out)
{
    double v = 0, scale = 1;
    int digits = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (++digits > 18)
            return -1;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            scale /= 10;
            v += (*p++ - '0') * scale;
            digits++;
        }
    }
    if (!digits || *p)
        return -1;
    *out = v;
    return 0;
}

int ef_parse_size(const char *s, uint64_t *out)
{
    char num[64];
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while ((p[n] >= '0' && p[n] <= '9') || p[n] == '.')
        n++;
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, p, n);
    num[n] = '\0';
    double v;
    if (ef_parse_decimal(num, &v) < 0)
        return -1;
    p += n;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *unit = p;
    size_t ul = strlen(unit);
    while (ul > 0 && (unit[ul - 1] == ' ' || unit[ul - 1] == '\t'))
        ul--;
    double mul = 1;
    if (ul == 0)
        mul = 1;
    else if (ul == 2 && !strncasecmp(unit, "kb", 2))
        mul = 1024.0;
    else if (ul == 2 && !strncasecmp(unit, "mb", 2))
        mul = 1024.0 * 1024;
    else if (ul == 2 && !strncasecmp(unit, "gb", 2))
        mul = 1024.0 * 1024 * 1024;
    else if (ul == 3 && !strncmp(unit, "KiB", 3))
        mul = 1024.0;
    else if (ul == 3 && !strncmp(unit, "MiB", 3))
        mul = 1024.0 * 1024;
    else if (ul == 3 && !strncmp(unit, "GiB", 3))
        mul = 1024.0 * 1024 * 1024;
    else
        return -1;
    double bytes = v * mul;
    if (bytes >= 18446744073709551616.0)
        return -1;
    *out = (uint64_t)bytes;
    return 0;
}

int ef_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* ---- validation ------------------------------------------------------------------------------ */

/* Levenshtein distance, capped: enough to spot a typo in a short key. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

static const char *closest(const char *key, const char *const *known, size_t n, int max)
{
    const char *best = NULL;
    int bd = max + 1;
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(key, known[i]);
        if (d < bd) {
            bd = d;
            best = known[i];
        }
    }
    return best;
}

static void unknown_key(loader_t *l, const ynode_t *map, size_t i, const char *path,
                        const char *const *known, size_t nk)
{
    const char *key = map->keys[i];
    const char *sug = closest(key, known, nk, 2);
    if (sug)
        lreport(l, EF_DIAG_WARNING, map->kline[i], map->kcol[i],
                "%s%s%s: unknown key (did you mean '%s'?)", path, *path ? "." : "", key, sug);
    else
        lreport(l, EF_DIAG_WARNING, map->kline[i], map->kcol[i], "%s%s%s: unknown key, ignored",
                path, *path ? "." : "", key);
}

static const char *describe(const ynode_t *n)
{
    switch (n->kind) {
    case Y_NULL: return "nothing";
    case Y_SEQ: return "a list";
    case Y_MAP: return "a mapping";
    default: return NULL;
    }
}

/* Report "path: expected WHAT, got X" at the node. */
static void bad_value(loader_t *l, const ynode_t *n, const char *path, const char *what)
{
    const char *d = describe(n);
    if (d)
        lreport(l, EF_DIAG_ERROR, n->line, n->col, "%s: expected %s, got %s", path, what, d);
    else
        lreport(l, EF_DIAG_ERROR, n->line, n->col, "%s: expected %s, got '%.80s'", path, what,
                n->str);
}

/* A non-empty string, or NULL (reported) when the node is something else.
 * Null values leave *out unchanged (the default). */
static int want_string(loader_t *l, const ynode_t *n, const char *path, const char **out)
{
    if (!n || n->kind == Y_NULL)
        return 0;
    if (n->kind != Y_SCALAR || !*n->str) {
        bad_value(l, n, path, "a non-empty string");
        return -1;
    }
    *out = n->str;
    return 0;
}

static int want_string_list(loader_t *l, const ynode_t *n, const char *path, const char ***out,
                            size_t *count)
{
    *count = 0;
    if (!n || n->kind == Y_NULL)
        return 0;
    if (n->kind != Y_SEQ) {
        bad_value(l, n, path, "a list of strings");
        return -1;
    }
    const char **v = calloc(n->n + 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s.%zu", path, i);
        if (n->kids[i]->kind != Y_SCALAR || !*n->kids[i]->str) {
            bad_value(l, n->kids[i], p, "a non-empty string");
            free(v);
            return -1;
        }
        v[i] = n->kids[i]->str;
    }
    *out = v;
    *count = n->n;
    return 0;
}

static void check_vars(loader_t *l, ef_config_t *c, const ynode_t *vars)
{
    static const char *const known[] = {"address-groups", "port-groups"};
    if (!vars || vars->kind == Y_NULL)
        return;
    if (vars->kind != Y_MAP) {
        bad_value(l, vars, "vars", "a mapping with address-groups and port-groups");
        return;
    }
    for (size_t i = 0; i < vars->n; i++) {
        int kind = !strcmp(vars->keys[i], "address-groups") ? EF_VAR_ADDRESS
                   : !strcmp(vars->keys[i], "port-groups")  ? EF_VAR_PORT
                                                            : -1;
        if (kind < 0) {
            unknown_key(l, vars, i, "vars", known, 2);
            continue;
        }
        const ynode_t *g = vars->kids[i];
        char path[64];
        snprintf(path, sizeof path, "vars.%s", vars->keys[i]);
        if (g->kind == Y_NULL)
            continue;
        if (g->kind != Y_MAP) {
            bad_value(l, g, path, "a mapping of NAME: value");
            continue;
        }
        var_t *v = calloc(g->n ? g->n : 1, sizeof *v);
        if (!v) {
            lreport(l, EF_DIAG_ERROR, g->line, g->col, "out of memory");
            return;
        }
        size_t nv = 0;
        for (size_t j = 0; j < g->n; j++) {
            const ynode_t *val = g->kids[j];
            if (val->kind != Y_SCALAR || !*val->str) {
                char p[320];
                snprintf(p, sizeof p, "%s.%.200s", path, g->keys[j]);
                bad_value(l, val, p,
                          kind == EF_VAR_ADDRESS ? "an address string such as "
                                                   "\"[10.0.0.0/8,192.168.0.0/16]\""
                                                 : "a port string such as \"[80,8080]\"");
                continue;
            }
            v[nv++] = (var_t){g->keys[j], val->str, val->line, val->col};
        }
        free(c->priv_->vars[kind]);
        c->priv_->vars[kind] = v;
        c->priv_->n_vars[kind] = nv;
    }
}

static int want_seconds(loader_t *l, const ynode_t *n, const char *path, uint64_t *us)
{
    double v;
    if (!n || n->kind == Y_NULL)
        return 0;
    if (n->kind != Y_SCALAR || ef_parse_decimal(n->str, &v) < 0 || v > 1e9) {
        bad_value(l, n, path, "a number of seconds >= 0");
        return -1;
    }
    *us = (uint64_t)(v * 1e6 + 0.5);
    return 0;
}

static void check_timeouts(loader_t *l, ef_config_earlyflow_t *e, const ynode_t *t)
{
    static const char *const known[] = {"new", "established", "closed"};
    if (!t || t->kind == Y_NULL)
        return;
    if (t->kind != Y_MAP) {
        bad_value(l, t, "earlyflow.flow-timeouts", "a mapping with new, established, closed");
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        char path[64];
        const char *k = t->keys[i];
        snprintf(path, sizeof path, "earlyflow.flow-timeouts.%.30s", k);
        if (!strcmp(k, "new"))
            want_seconds(l, t->kids[i], path, &e->timeout_new_us);
        else if (!strcmp(k, "established"))
            want_seconds(l, t->kids[i], path, &e->timeout_established_us);
        else if (!strcmp(k, "closed"))
            want_seconds(l, t->kids[i], path, &e->timeout_closed_us);
        else
            unknown_key(l, t, i, "earlyflow.flow-timeouts", known, 3);
    }
}

static int k_value(const char *s)
{
    if (!strcmp(s, "3"))
        return 3;
    if (!strcmp(s, "5"))
        return 5;
    if (!strcmp(s, "10"))
        return 10;
    if (!strcmp(s, "20"))
        return 20;
    return -1;
}

static void check_k(loader_t *l, ef_config_earlyflow_t *e, const ynode_t *n)
{
    if (!n || n->kind == Y_NULL)
        return;
    const ynode_t *const *items = n->kind == Y_SEQ ? (const ynode_t *const *)n->kids : &n;
    size_t count = n->kind == Y_SEQ ? n->n : 1;
    if (n->kind == Y_MAP || count == 0) {
        bad_value(l, n, "earlyflow.k", "a k or a list of k values from 3, 5, 10, 20");
        return;
    }
    int ks[4], nk = 0;
    uint32_t mask = 0;
    for (size_t i = 0; i < count; i++) {
        const ynode_t *it = items[i];
        int k = it->kind == Y_SCALAR ? k_value(it->str) : -1;
        char path[48] = "earlyflow.k";
        if (n->kind == Y_SEQ)
            snprintf(path, sizeof path, "earlyflow.k.%zu", i);
        if (k < 0) {
            bad_value(l, it, path, "a k of 3, 5, 10 or 20");
            return;
        }
        if (mask & (1u << k)) {
            lreport(l, EF_DIAG_WARNING, it->line, it->col, "%s: k %d is listed twice", path, k);
            continue;
        }
        mask |= 1u << k;
        ks[nk++] = k;
    }
    memcpy(e->k, ks, sizeof ks);
    e->n_k = nk;
    e->k_mask = mask;
}

static void check_models(loader_t *l, ef_config_earlyflow_t *e, const ynode_t *n)
{
    if (!n || n->kind == Y_NULL)
        return;
    if (n->kind != Y_MAP) {
        bad_value(l, n, "earlyflow.models", "a mapping of k: model file");
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "earlyflow.models.%.30s", n->keys[i]);
        int k = k_value(n->keys[i]);
        if (k < 0) {
            lreport(l, EF_DIAG_ERROR, n->kline[i], n->kcol[i],
                    "%s: expected a k of 3, 5, 10 or 20 as the key, got '%.30s'", path,
                    n->keys[i]);
            continue;
        }
        want_string(l, n->kids[i], path, &e->models[k]);
    }
}

static void check_eve(loader_t *l, ef_config_eve_t *eve, const ynode_t *n)
{
    static const char *const known[] = {"enabled", "filename", "types", "early-labels"};
    if (!n || n->kind == Y_NULL)
        return;
    if (n->kind != Y_MAP) {
        bad_value(l, n, "earlyflow.eve", "a mapping (enabled, filename, types, early-labels)");
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i];
        const ynode_t *v = n->kids[i];
        if (!strcmp(k, "enabled")) {
            if (v->kind == Y_NULL)
                continue;
            if (v->kind != Y_SCALAR || ef_parse_bool(v->str, &eve->enabled) < 0)
                bad_value(l, v, "earlyflow.eve.enabled", "yes or no");
        } else if (!strcmp(k, "filename")) {
            want_string(l, v, "earlyflow.eve.filename", &eve->filename);
        } else if (!strcmp(k, "early-labels")) {
            if (v->kind == Y_NULL)
                continue;
            if (v->kind == Y_SCALAR && !strcmp(v->str, "all"))
                eve->early_labels = EF_EVE_LABELS_ALL;
            else if (v->kind == Y_SCALAR && !strcmp(v->str, "attacks"))
                eve->early_labels = EF_EVE_LABELS_ATTACKS;
            else
                bad_value(l, v, "earlyflow.eve.early-labels", "'all' or 'attacks'");
        } else if (!strcmp(k, "types")) {
            if (v->kind == Y_NULL)
                continue;
            if (v->kind != Y_SEQ) {
                bad_value(l, v, "earlyflow.eve.types", "a list from early, alert, stats, flow");
                continue;
            }
            uint32_t types = 0;
            int ok = 1;
            for (size_t j = 0; j < v->n; j++) {
                static const char *const names[] = {"early", "alert", "stats", "flow"};
                const ynode_t *it = v->kids[j];
                int t = -1;
                for (int m = 0; m < 4 && it->kind == Y_SCALAR; m++)
                    if (!strcmp(it->str, names[m]))
                        t = m;
                char path[48];
                snprintf(path, sizeof path, "earlyflow.eve.types.%zu", j);
                if (t < 0) {
                    bad_value(l, it, path, "one of early, alert, stats, flow");
                    ok = 0;
                } else {
                    types |= 1u << t;
                }
            }
            if (ok)
                eve->types = types;
        } else {
            unknown_key(l, n, i, "earlyflow.eve", known, 4);
        }
    }
}

static void check_earlyflow(loader_t *l, ef_config_earlyflow_t *e, const ynode_t *n)
{
    static const char *const known[] = {"model", "models", "k", "min-score", "flow-timeouts",
                                        "memcap", "ndpi", "eve"};
    if (!n || n->kind == Y_NULL)
        return;
    if (n->kind != Y_MAP) {
        bad_value(l, n, "earlyflow", "a mapping");
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i];
        const ynode_t *v = n->kids[i];
        if (!strcmp(k, "model")) {
            want_string(l, v, "earlyflow.model", &e->model);
        } else if (!strcmp(k, "models")) {
            check_models(l, e, v);
        } else if (!strcmp(k, "k")) {
            check_k(l, e, v);
        } else if (!strcmp(k, "min-score")) {
            double d;
            if (v->kind == Y_NULL)
                continue;
            if (v->kind != Y_SCALAR || ef_parse_decimal(v->str, &d) < 0 || d > 1.0)
                bad_value(l, v, "earlyflow.min-score", "a number between 0 and 1");
            else
                e->min_score = d;
        } else if (!strcmp(k, "flow-timeouts")) {
            check_timeouts(l, e, v);
        } else if (!strcmp(k, "memcap")) {
            uint64_t b;
            if (v->kind == Y_NULL)
                continue;
            if (v->kind != Y_SCALAR || ef_parse_size(v->str, &b) < 0 || b == 0 ||
                b > (1ull << 40))
                bad_value(l, v, "earlyflow.memcap",
                          "a size such as 64mb or 1gb (units kb, mb, gb; at most 1024gb)");
            else
                e->memcap = b;
        } else if (!strcmp(k, "ndpi")) {
            if (v->kind == Y_NULL)
                continue;
            if (v->kind != Y_SCALAR || ef_parse_bool(v->str, &e->ndpi) < 0)
                bad_value(l, v, "earlyflow.ndpi", "yes or no");
        } else if (!strcmp(k, "eve")) {
            check_eve(l, &e->eve, v);
        } else {
            unknown_key(l, n, i, "earlyflow", known, 8);
        }
    }
}

/* Top-level keys earlyflow reads; others are Suricata's and pass silently
 * unless they look like a typo of one of these. */
static const char *const top_known[] = {"vars",         "default-rule-path",
                                        "rule-files",   "default-log-dir",
                                        "plugins",      "classification-file",
                                        "earlyflow"};

static void check_root(loader_t *l, ef_config_t *c, const ynode_t *root)
{
    ef_config_priv_t *pv = c->priv_;
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i];
        const ynode_t *v = root->kids[i];
        size_t nk = 0;
        if (!strcmp(k, "vars")) {
            check_vars(l, c, v);
        } else if (!strcmp(k, "default-rule-path")) {
            want_string(l, v, k, &c->default_rule_path);
        } else if (!strcmp(k, "default-log-dir")) {
            want_string(l, v, k, &c->default_log_dir);
        } else if (!strcmp(k, "classification-file")) {
            want_string(l, v, k, &c->classification_file);
        } else if (!strcmp(k, "rule-files")) {
            free(pv->rule_files);
            pv->rule_files = NULL;
            if (want_string_list(l, v, k, &pv->rule_files, &nk) == 0) {
                c->rule_files = pv->rule_files;
                c->n_rule_files = nk;
            }
        } else if (!strcmp(k, "plugins")) {
            free(pv->plugins);
            pv->plugins = NULL;
            if (want_string_list(l, v, k, &pv->plugins, &nk) == 0) {
                c->plugins = pv->plugins;
                c->n_plugins = nk;
            }
        } else if (!strcmp(k, "earlyflow")) {
            check_earlyflow(l, &c->earlyflow, v);
        } else if (!strcmp(k, "include")) {
            lreport(l, EF_DIAG_WARNING, root->kline[i], root->kcol[i],
                    "include: earlyflow does not read included files; put earlyflow's "
                    "settings in this file");
        } else {
            const char *sug = closest(k, top_known, sizeof top_known / sizeof top_known[0], 2);
            if (sug)
                lreport(l, EF_DIAG_WARNING, root->kline[i], root->kcol[i],
                        "%s: unknown top-level key (did you mean '%s'?)", k, sug);
        }
    }
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void set_defaults(ef_config_t *c)
{
    c->default_log_dir = ".";
    ef_config_earlyflow_t *e = &c->earlyflow;
    e->model = "builtin";
    e->k[0] = 5;
    e->n_k = 1;
    e->k_mask = 1u << 5;
    e->min_score = 0;
    e->timeout_new_us = e->timeout_established_us = e->timeout_closed_us = 1000000;
    e->memcap = 64ull << 20;
    e->ndpi = 0;
    e->eve.enabled = 1;
    e->eve.filename = "eve.json";
    e->eve.types = EF_EVE_TYPE_EARLY | EF_EVE_TYPE_ALERT | EF_EVE_TYPE_STATS;
    e->eve.early_labels = EF_EVE_LABELS_ALL;
}

void ef_config_free(ef_config_t *c)
{
    if (!c)
        return;
    ef_config_priv_t *pv = c->priv_;
    if (pv) {
        ynode_free(pv->root);
        free(pv->path);
        for (size_t i = 0; i < pv->n_flat; i++)
            free(pv->flat[i].key);
        free(pv->flat);
        for (size_t i = 0; i < pv->n_joined; i++)
            free(pv->joined[i]);
        free(pv->joined);
        for (size_t i = 0; i < pv->n_over; i++) {
            free(pv->over[i].key);
            free((char *)pv->over[i].value);
        }
        free(pv->over);
        free(pv->vars[0]);
        free(pv->vars[1]);
        free(pv->rule_files);
        free(pv->plugins);
        free(pv);
    }
    free(c);
}

static ef_config_t *config_new(const char *name, ef_err_t *err)
{
    ef_config_t *c = calloc(1, sizeof *c);
    if (c)
        c->priv_ = calloc(1, sizeof *c->priv_);
    if (c && c->priv_)
        c->priv_->path = strdup(name);
    if (!c || !c->priv_ || !c->priv_->path) {
        ef_config_free(c);
        ef_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    c->path = c->priv_->path;
    set_defaults(c);
    return c;
}

ef_config_t *ef_config_load_string(const char *name, const char *text, size_t len,
                                   ef_diag_fn diag, void *user, ef_err_t *err)
{
    ef_config_t *c = config_new(name, err);
    if (!c)
        return NULL;
    loader_t l = {name, diag, user, err, 0, 0};
    if (len > EF_CONFIG_MAX_BYTES) {
        lreport(&l, EF_DIAG_ERROR, 0, 0, "config larger than %u bytes", EF_CONFIG_MAX_BYTES);
        ef_config_free(c);
        return NULL;
    }
    if (build_tree(&l, text, len, &c->priv_->root) < 0) {
        ef_config_free(c);
        return NULL;
    }
    const ynode_t *root = c->priv_->root;
    if (root && root->kind != Y_MAP && root->kind != Y_NULL)
        bad_value(&l, root, "the top level", "a mapping (key: value lines)");
    else if (root && root->kind == Y_MAP)
        check_root(&l, c, root);
    if (l.errors == 0 && flat_build(c->priv_) < 0)
        lreport(&l, EF_DIAG_ERROR, 0, 0, "out of memory");
    if (l.errors) {
        ef_config_free(c);
        return NULL;
    }
    return c;
}

ef_config_t *ef_config_load(const char *path, ef_diag_fn diag, void *user, ef_err_t *err)
{
    size_t len;
    char *text = ef_read_file_bounded(path, EF_CONFIG_MAX_BYTES, "config file", &len, err);
    if (!text)
        return NULL;
    ef_config_t *c = ef_config_load_string(path, text, len, diag, user, err);
    free(text);
    return c;
}

ef_config_t *ef_config_default(ef_err_t *err)
{
    ef_config_t *c = config_new("<defaults>", err);
    if (c && flat_build(c->priv_) < 0) {
        ef_config_free(c);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    return c;
}

const char *ef_config_path(const ef_config_t *c)
{
    return c ? c->path : "<no config>";
}

const char *ef_config_get(const ef_config_t *c, const char *key)
{
    if (!c || !key)
        return NULL;
    const ef_config_priv_t *pv = c->priv_;
    for (size_t i = pv->n_over; i-- > 0;)
        if (!strcmp(pv->over[i].key, key))
            return pv->over[i].value;
    const flat_t *f = flat_find(pv, key);
    return f ? f->value : NULL;
}

int ef_config_set(ef_config_t *c, const char *key, const char *value, ef_err_t *err)
{
    ef_config_priv_t *pv = c->priv_;
    flat_t *v = realloc(pv->over, (pv->n_over + 1) * sizeof *v);
    if (!v)
        return ef_err_set(err, "out of memory");
    pv->over = v;
    char *k = strdup(key), *val = value ? strdup(value) : NULL;
    if (!k || (value && !val)) {
        free(k);
        free(val);
        return ef_err_set(err, "out of memory");
    }
    pv->over[pv->n_over++] = (flat_t){k, val, 0, 0};
    return 0;
}

int ef_config_mark(const ef_config_t *c, const char *key, int *line, int *col)
{
    const flat_t *f = c ? flat_find(c->priv_, key) : NULL;
    *line = f ? f->line : 0;
    *col = f ? f->col : 0;
    return f && f->line ? 0 : -1;
}

const char *ef_config_var(const ef_config_t *c, ef_var_kind_t kind, const char *name, int *line,
                          int *col)
{
    if (!c || (kind != EF_VAR_ADDRESS && kind != EF_VAR_PORT))
        return NULL;
    const ef_config_priv_t *pv = c->priv_;
    for (size_t i = 0; i < pv->n_vars[kind]; i++)
        if (!strcmp(pv->vars[kind][i].name, name)) {
            if (line)
                *line = pv->vars[kind][i].line;
            if (col)
                *col = pv->vars[kind][i].col;
            return pv->vars[kind][i].value;
        }
    return NULL;
}

size_t ef_config_var_count(const ef_config_t *c, ef_var_kind_t kind)
{
    return c && (kind == EF_VAR_ADDRESS || kind == EF_VAR_PORT) ? c->priv_->n_vars[kind] : 0;
}

const char *ef_config_var_name(const ef_config_t *c, ef_var_kind_t kind, size_t i)
{
    return i < ef_config_var_count(c, kind) ? c->priv_->vars[kind][i].name : NULL;
}

static char *join_path(const char *dir, const char *name)
{
    char *s = NULL;
    if (!dir || !*dir || name[0] == '/')
        return strdup(name);
    size_t n = strlen(dir);
    if (asprintf(&s, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name) < 0)
        return NULL;
    return s;
}

char *ef_config_rule_file(const ef_config_t *c, size_t i)
{
    if (i >= c->n_rule_files)
        return NULL;
    return join_path(c->default_rule_path, c->rule_files[i]);
}

char *ef_config_log_path(const ef_config_t *c, const char *name)
{
    if (!strcmp(name, "-"))
        return strdup("-");
    return join_path(c->default_log_dir, name);
}
