/* MAWILab label files: parse, index, join. See mawilab.h and docs/labels.md. */
#include "data/mawilab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 4096   /* real rows are < 200 bytes; longer is not a label file */
#define MAX_FIELDS 16

/* ------------------------------------------------------------------------ */
/* String arena: chunks never move, so rule->code pointers stay valid.      */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk_t;

static const char *arena_strdup(arena_chunk_t **head, const char *s, size_t n)
{
    arena_chunk_t *c = *head;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        arena_chunk_t *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        *head = c = nc;
    }
    char *p = c->data + c->used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
}

static void arena_free(arena_chunk_t *c)
{
    while (c) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
}

/* ------------------------------------------------------------------------ */
/* The rule index.
 *
 * Every rule sits in exactly one bucket, chosen by its most selective
 * non-empty field: dst IP, else src IP, else dst port, else src port (a rule
 * with no match field is refused at load time). A flow looks up four buckets
 * per direction - its server address in the dst-IP buckets, its client
 * address in the src-IP buckets, its server port, its client port - and
 * checks only the rules found there. A rule in the dst-IP bucket of X can
 * only match flows whose server (forward) or client (reversed) is X, and
 * likewise for the other buckets, so no matching rule is missed.
 *
 * Layout: `order` holds rule indices grouped by bucket, ascending inside a
 * bucket (earlier lines first); an open-addressing hash maps a bucket key to
 * its [first, first + count) range in `order`. Most lookups find nothing
 * (most flows match no rule), so a presence bitmap of 8 bits per key, small
 * enough to stay in cache, answers "certainly absent" before the hash table
 * is touched. */

enum { IX_DST = 1, IX_SRC, IX_DPORT, IX_SPORT };

typedef struct ix_key {
    uint8_t kind;     /* IX_* */
    uint8_t ver;      /* 4/6 for address buckets, 0 for port buckets */
    uint16_t port;
    uint8_t addr[16];
} ix_key_t;

typedef struct ix_slot {
    ix_key_t key;
    uint32_t first, count; /* count 0: empty slot */
} ix_slot_t;

typedef struct ix_entry {
    ix_key_t key;
    uint32_t rule;
} ix_entry_t;

typedef struct file_info {
    const char *path;
    uint32_t rules, anomalies;
    int has_heuristic;
} file_info_t;

struct ef_mawilab {
    ef_mawilab_rule_t *rules;
    uint32_t nrules, cap;
    uint32_t *order;
    ix_slot_t *slots;
    uint32_t slot_mask;      /* capacity - 1 (power of two) */
    uint64_t *present;       /* presence bitmap over key hashes */
    unsigned kinds;          /* bit (1 << IX_*) set when that bucket kind has rules */
    uint32_t present_mask;   /* bits - 1 (power of two) */
    file_info_t *files;
    int nfiles;
    arena_chunk_t *arena;
};

static uint32_t ix_hash(const ix_key_t *k)
{
    uint32_t w[5];
    memcpy(w, k, sizeof w);
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 5; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return (uint32_t)h;
}

_Static_assert(sizeof(ix_key_t) == 20, "ix_key_t is hashed as five words");

static void ix_key_addr(ix_key_t *k, int kind, int ver, const uint8_t *addr)
{
    memset(k, 0, sizeof *k);
    k->kind = (uint8_t)kind;
    k->ver = (uint8_t)ver;
    memcpy(k->addr, addr, ver == 4 ? 4 : 16);
}

static void ix_key_port(ix_key_t *k, int kind, uint16_t port)
{
    memset(k, 0, sizeof *k);
    k->kind = (uint8_t)kind;
    k->port = port;
}

static void ix_key_of_rule(const ef_mawilab_rule_t *r, ix_key_t *k)
{
    if (r->fields & EF_MAWILAB_F_DST)
        ix_key_addr(k, IX_DST, r->ip_version, r->dst);
    else if (r->fields & EF_MAWILAB_F_SRC)
        ix_key_addr(k, IX_SRC, r->ip_version, r->src);
    else if (r->fields & EF_MAWILAB_F_DPORT)
        ix_key_port(k, IX_DPORT, r->dport);
    else
        ix_key_port(k, IX_SPORT, r->sport);
}

static int ix_entry_cmp(const void *a, const void *b)
{
    const ix_entry_t *x = a, *y = b;
    int c = memcmp(&x->key, &y->key, sizeof x->key);
    if (c)
        return c;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* The bitmap uses other hash bits than the slot index. */
static uint32_t ix_bit(const ef_mawilab_t *m, uint32_t h)
{
    return ((h >> 16) | (h << 16)) & m->present_mask;
}

static const ix_slot_t *ix_find(const ef_mawilab_t *m, const ix_key_t *k)
{
    if (!m->slots)
        return NULL;
    uint32_t h = ix_hash(k), b = ix_bit(m, h);
    if (!(m->present[b >> 6] & (1ull << (b & 63))))
        return NULL;
    for (uint32_t i = h & m->slot_mask;; i = (i + 1) & m->slot_mask) {
        const ix_slot_t *s = &m->slots[i];
        if (s->count == 0)
            return NULL;
        if (!memcmp(&s->key, k, sizeof *k))
            return s;
    }
}

static int ix_build(ef_mawilab_t *m, ef_err_t *err)
{
    if (m->nrules == 0)
        return 0;
    ix_entry_t *e = malloc((size_t)m->nrules * sizeof *e);
    m->order = malloc((size_t)m->nrules * sizeof *m->order);
    uint32_t cap = 16;
    while (cap < 2u * m->nrules)
        cap <<= 1;
    m->slots = calloc(cap, sizeof *m->slots);
    uint32_t bits = 4096; /* >= 8 bits per rule (hence per key) */
    while (bits < 8u * m->nrules)
        bits <<= 1;
    m->present = calloc(bits / 64, sizeof *m->present);
    m->present_mask = bits - 1;
    if (!e || !m->order || !m->slots || !m->present) {
        free(e);
        return ef_err_set(err, "out of memory indexing %u label rules", m->nrules);
    }
    m->slot_mask = cap - 1;
    for (uint32_t i = 0; i < m->nrules; i++) {
        ix_key_of_rule(&m->rules[i], &e[i].key);
        e[i].rule = i;
        m->kinds |= 1u << e[i].key.kind;
    }
    qsort(e, m->nrules, sizeof *e, ix_entry_cmp);
    for (uint32_t i = 0; i < m->nrules;) {
        uint32_t j = i;
        while (j < m->nrules && !memcmp(&e[j].key, &e[i].key, sizeof e[i].key)) {
            m->order[j] = e[j].rule;
            j++;
        }
        uint32_t h = ix_hash(&e[i].key), s = h & m->slot_mask, b = ix_bit(m, h);
        m->present[b >> 6] |= 1ull << (b & 63);
        while (m->slots[s].count)
            s = (s + 1) & m->slot_mask;
        m->slots[s].key = e[i].key;
        m->slots[s].first = i;
        m->slots[s].count = j - i;
        i = j;
    }
    free(e);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing.                                                                 */

enum col {
    COL_ID, COL_SRC, COL_SPORT, COL_DST, COL_DPORT,
    COL_TAX, COL_HEUR, COL_DIST, COL_NBDET, COL_LABEL, COL__COUNT
};

static const char *const col_names[COL__COUNT] = {
    "anomalyID", "srcIP", "srcPort", "dstIP", "dstPort",
    "taxonomy", "heuristic", "distance", "nbDetectors", "label",
};

#define HEADER_TEXT \
    "anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,heuristic,distance,nbDetectors,label"

/* Per-file parse state. */
typedef struct parser {
    const char *path;
    uint32_t line;
    int header_cols[MAX_FIELDS]; /* column of each header position */
    int nheader;
    int row_cols[MAX_FIELDS];    /* column of each row field, once detected */
    int nrow;                    /* 0 until the first data row */
    uint32_t layout_line;        /* line whose field count fixed the layout */
    int has_heuristic;
} parser_t;

/* Copy of a field for an error message: bounded, printable. */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t n = 0, i = 0;
    for (; s[i] && n + 4 < cap; i++)
        buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Split at commas in place; returns the field count (may exceed `max`, in
 * which case only the first `max` are stored). */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (n < max)
            fields[n] = trim(p);
        n++;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static int parse_header(parser_t *ps, char **f, int n, ef_err_t *err)
{
    char buf[64];
    if (n > MAX_FIELDS)
        return ef_err_set(err, "%s:%u: expected MAWILab header " HEADER_TEXT ", got %d columns",
                          ps->path, ps->line, n);
    int seen[COL__COUNT] = {0};
    for (int i = 0; i < n; i++) {
        int c = 0;
        while (c < COL__COUNT && strcasecmp(f[i], col_names[c]) != 0)
            c++;
        if (c == COL__COUNT)
            return ef_err_set(err, "%s:%u: expected MAWILab header " HEADER_TEXT
                              ", got unknown column '%s'",
                              ps->path, ps->line, shown(f[i], buf, sizeof buf));
        if (seen[c]++)
            return ef_err_set(err, "%s:%u: header names column '%s' twice", ps->path, ps->line,
                              col_names[c]);
        ps->header_cols[i] = c;
    }
    static const int required[] = {COL_ID, COL_SRC, COL_SPORT, COL_DST, COL_DPORT, COL_TAX,
                                   COL_LABEL};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!seen[required[i]])
            return ef_err_set(err, "%s:%u: expected MAWILab header " HEADER_TEXT
                              ", column '%s' is missing",
                              ps->path, ps->line, col_names[required[i]]);
    ps->nheader = n;
    return 0;
}

/* Fix the row layout from the first data row: the header's columns, or the
 * header's columns without heuristic when rows carry one field fewer (the
 * published variant whose rows lack the heuristic value). */
static int detect_layout(parser_t *ps, int n, ef_err_t *err)
{
    int heur_pos = -1;
    for (int i = 0; i < ps->nheader; i++)
        if (ps->header_cols[i] == COL_HEUR)
            heur_pos = i;
    if (n == ps->nheader) {
        memcpy(ps->row_cols, ps->header_cols, sizeof ps->row_cols);
        ps->has_heuristic = heur_pos >= 0;
    } else if (n == ps->nheader - 1 && heur_pos >= 0) {
        int j = 0;
        for (int i = 0; i < ps->nheader; i++)
            if (i != heur_pos)
                ps->row_cols[j++] = ps->header_cols[i];
        ps->has_heuristic = 0;
    } else {
        return ef_err_set(err, "%s:%u: expected %d fields as named in the header%s, got %d",
                          ps->path, ps->line, ps->nheader,
                          heur_pos >= 0 ? " (or one fewer, without heuristic)" : "", n);
    }
    ps->nrow = n;
    ps->layout_line = ps->line;
    return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_addr(const char *s, uint8_t out[16], uint8_t *ver)
{
    memset(out, 0, 16);
    if (strchr(s, ':')) {
        *ver = 6;
        return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
    }
    *ver = 4;
    return inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

static int bad_field(const parser_t *ps, int col, const char *what, const char *value,
                     ef_err_t *err)
{
    char buf[64];
    return ef_err_set(err, "%s:%u: expected %s as %s, got '%s'", ps->path, ps->line,
                      col_names[col], what, shown(value, buf, sizeof buf));
}

static int parse_label(const char *s, uint8_t *out)
{
    static const char *const names[] = {"anomalous", "suspicious", "notice"};
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(s, names[i])) {
            *out = (uint8_t)i;
            return 0;
        }
    return -1;
}

static int is_number(const char *s)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    return *s && !*end && errno == 0 && isfinite(d);
}

/* Parse one address field into the rule; all addresses of a rule share one
 * IP version (a rule mixing them could never match a flow). */
static int rule_addr(const parser_t *ps, int col, const char *v, ef_mawilab_rule_t *r,
                     ef_err_t *err)
{
    uint8_t ver;
    uint8_t *dst = col == COL_SRC ? r->src : r->dst;
    if (parse_addr(v, dst, &ver) < 0)
        return bad_field(ps, col, "an IPv4 or IPv6 address", v, err);
    if (r->ip_version && r->ip_version != ver)
        return ef_err_set(err, "%s:%u: expected srcIP and dstIP of one IP version, got IPv%d "
                          "and IPv%d", ps->path, ps->line, r->ip_version, ver);
    r->ip_version = ver;
    r->fields |= col == COL_SRC ? EF_MAWILAB_F_SRC : EF_MAWILAB_F_DST;
    return 0;
}

static int rule_port(const parser_t *ps, int col, const char *v, ef_mawilab_rule_t *r,
                     ef_err_t *err)
{
    uint64_t p;
    if (parse_u64(v, 65535, &p) < 0)
        return bad_field(ps, col, "a port number 0-65535", v, err);
    if (col == COL_SPORT) {
        r->sport = (uint16_t)p;
        r->fields |= EF_MAWILAB_F_SPORT;
    } else {
        r->dport = (uint16_t)p;
        r->fields |= EF_MAWILAB_F_DPORT;
    }
    return 0;
}

static int rule_field(ef_mawilab_t *m, const parser_t *ps, int col, const char *v,
                      ef_mawilab_rule_t *r, ef_err_t *err)
{
    uint64_t u;
    switch (col) {
    case COL_ID:
        if (parse_u64(v, UINT64_MAX, &r->anomaly_id) < 0)
            return bad_field(ps, col, "a non-negative integer", v, err);
        return 0;
    case COL_SRC:
    case COL_DST:
        return *v ? rule_addr(ps, col, v, r, err) : 0;
    case COL_SPORT:
    case COL_DPORT:
        return *v ? rule_port(ps, col, v, r, err) : 0;
    case COL_TAX:
        r->code = arena_strdup(&m->arena, v, strlen(v));
        return r->code ? 0 : ef_err_set(err, "%s:%u: out of memory", ps->path, ps->line);
    case COL_HEUR:
        if (*v && parse_u64(v, INT32_MAX, &u) < 0)
            return bad_field(ps, col, "a non-negative integer or empty", v, err);
        r->heuristic = *v ? (int32_t)u : -1;
        return 0;
    case COL_DIST:
        if (*v && !is_number(v))
            return bad_field(ps, col, "a number or empty", v, err);
        r->distance = arena_strdup(&m->arena, v, strlen(v));
        return r->distance ? 0 : ef_err_set(err, "%s:%u: out of memory", ps->path, ps->line);
    case COL_NBDET:
        if (*v && parse_u64(v, INT32_MAX, &u) < 0)
            return bad_field(ps, col, "a non-negative integer or empty", v, err);
        r->nb_detectors = *v ? (int32_t)u : -1;
        return 0;
    case COL_LABEL:
        if (parse_label(v, &r->label) < 0)
            return bad_field(ps, col, "anomalous, suspicious or notice", v, err);
        return 0;
    }
    return 0;
}

static int push_rule(ef_mawilab_t *m, const ef_mawilab_rule_t *r, ef_err_t *err)
{
    if (m->nrules == m->cap) {
        if (m->cap >= UINT32_MAX / 2)
            return ef_err_set(err, "too many label rules");
        uint32_t cap = m->cap ? m->cap * 2 : 256;
        ef_mawilab_rule_t *nr = realloc(m->rules, (size_t)cap * sizeof *nr);
        if (!nr)
            return ef_err_set(err, "out of memory reading label rules");
        m->rules = nr;
        m->cap = cap;
    }
    m->rules[m->nrules++] = *r;
    return 0;
}

static int parse_row(ef_mawilab_t *m, parser_t *ps, char **f, int n, uint16_t file,
                     ef_err_t *err)
{
    if (!ps->nrow && detect_layout(ps, n, err) < 0)
        return -1;
    if (n != ps->nrow)
        return ef_err_set(err, "%s:%u: expected %d fields like line %u, got %d", ps->path,
                          ps->line, ps->nrow, ps->layout_line, n);
    ef_mawilab_rule_t r;
    memset(&r, 0, sizeof r);
    r.heuristic = -1;
    r.nb_detectors = -1;
    r.distance = "";
    r.code = "";
    r.line = ps->line;
    r.file = file;
    for (int i = 0; i < n; i++)
        if (rule_field(m, ps, ps->row_cols[i], f[i], &r, err) < 0)
            return -1;
    if (!r.fields)
        return ef_err_set(err, "%s:%u: expected at least one of srcIP, srcPort, dstIP, dstPort "
                          "(a rule with none would label every flow)", ps->path, ps->line);
    r.category = (uint8_t)ef_taxonomy_category(r.code);
    return push_rule(m, &r, err);
}

/* Read one physical line into buf (without its line end). Bounded: a line
 * longer than LINE_MAX_BYTES or holding a NUL byte is an error, so a binary
 * file given by mistake fails fast instead of being slurped. Returns 1 for a
 * line, 0 at end of file, -1 on error. */
static int read_line(parser_t *ps, FILE *fp, char *buf, ef_err_t *err)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc(fp)) != EOF && c != '\n') {
        if (c == '\0')
            return ef_err_set(err, "%s:%u: expected text, found a NUL byte", ps->path,
                              ps->line + 1);
        if (n == LINE_MAX_BYTES)
            return ef_err_set(err, "%s:%u: expected a label row, got a line longer than %d "
                              "bytes", ps->path, ps->line + 1, LINE_MAX_BYTES);
        buf[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return 0;
    ps->line++;
    while (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (ps->line == 1 && !strncmp(buf, "\xef\xbb\xbf", 3))
        memmove(buf, buf + 3, n - 2);
    return 1;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t count_anomalies(const ef_mawilab_t *m, uint32_t first, uint32_t n)
{
    if (n == 0)
        return 0;
    uint64_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        ids[i] = m->rules[first + i].anomaly_id;
    qsort(ids, n, sizeof *ids, cmp_u64);
    uint32_t distinct = 1;
    for (uint32_t i = 1; i < n; i++)
        distinct += ids[i] != ids[i - 1];
    free(ids);
    return distinct;
}

static int load_file(ef_mawilab_t *m, const char *path, uint16_t file, ef_err_t *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return ef_err_set(err, "%s: cannot open label file: %s", path, strerror(errno));
    parser_t ps = {.path = path};
    uint32_t first = m->nrules;
    char line[LINE_MAX_BYTES + 1], *fields[MAX_FIELDS];
    int rc = 0, got;
    while (rc == 0 && (got = read_line(&ps, fp, line, err)) != 0) {
        if (got < 0) {
            rc = -1;
            break;
        }
        if (is_blank(line))
            continue;
        int n = split(line, fields, MAX_FIELDS);
        if (n > MAX_FIELDS)
            rc = ef_err_set(err, "%s:%u: expected at most %d fields, got %d", path, ps.line,
                            COL__COUNT, n);
        else if (!ps.nheader)
            rc = parse_header(&ps, fields, n, err);
        else
            rc = parse_row(m, &ps, fields, n, file, err);
    }
    if (rc == 0 && ferror(fp))
        rc = ef_err_set(err, "%s: read error after line %u: %s", path, ps.line, strerror(errno));
    if (rc == 0 && !ps.nheader)
        rc = ef_err_set(err, "%s:%u: expected MAWILab header " HEADER_TEXT ", got an empty file",
                        path, ps.line + 1);
    fclose(fp);
    if (rc < 0)
        return -1;
    file_info_t *fi = &m->files[file];
    fi->path = path;
    fi->rules = m->nrules - first;
    fi->anomalies = count_anomalies(m, first, fi->rules);
    fi->has_heuristic = ps.has_heuristic;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API.                                                              */

const char *ef_mawilab_label_name(ef_mawilab_label_t l)
{
    switch (l) {
    case EF_MAWILAB_ANOMALOUS: return "anomalous";
    case EF_MAWILAB_SUSPICIOUS: return "suspicious";
    case EF_MAWILAB_NOTICE: return "notice";
    }
    return "?";
}

ef_mawilab_t *ef_mawilab_load(const char *const *paths, int npaths, ef_err_t *err)
{
    if (npaths < 0 || npaths > UINT16_MAX) {
        ef_err_set(err, "expected at most %d label files, got %d", UINT16_MAX, npaths);
        return NULL;
    }
    ef_mawilab_t *m = calloc(1, sizeof *m);
    if (m && npaths)
        m->files = calloc((size_t)npaths, sizeof *m->files);
    if (!m || (npaths && !m->files)) {
        ef_mawilab_free(m);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    for (int i = 0; i < npaths; i++) {
        if (load_file(m, paths[i], (uint16_t)i, err) < 0) {
            ef_mawilab_free(m);
            return NULL;
        }
        m->nfiles++;
    }
    if (ix_build(m, err) < 0) {
        ef_mawilab_free(m);
        return NULL;
    }
    return m;
}

void ef_mawilab_free(ef_mawilab_t *m)
{
    if (!m)
        return;
    free(m->rules);
    free(m->order);
    free(m->slots);
    free(m->present);
    free(m->files);
    arena_free(m->arena);
    free(m);
}

uint32_t ef_mawilab_rule_count(const ef_mawilab_t *m)
{
    return m ? m->nrules : 0;
}

const ef_mawilab_rule_t *ef_mawilab_rule(const ef_mawilab_t *m, uint32_t i)
{
    return m && i < m->nrules ? &m->rules[i] : NULL;
}

int ef_mawilab_file_count(const ef_mawilab_t *m)
{
    return m ? m->nfiles : 0;
}

int ef_mawilab_file_info(const ef_mawilab_t *m, int i, ef_mawilab_file_info_t *out)
{
    if (!m || i < 0 || i >= m->nfiles)
        return -1;
    out->path = m->files[i].path;
    out->rules = m->files[i].rules;
    out->anomalies = m->files[i].anomalies;
    out->has_heuristic = m->files[i].has_heuristic;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The join.                                                                */

typedef struct best {
    int score;        /* -1: none */
    uint32_t rule;
} best_t;

/* More non-empty fields first, then the field rank encoded in the mask. */
static int rule_score(const ef_mawilab_rule_t *r)
{
    return (__builtin_popcount(r->fields) << 4) | r->fields;
}

static int rule_matches(const ef_mawilab_rule_t *r, int ver, int has_ports, const uint8_t *src,
                        uint16_t sport, const uint8_t *dst, uint16_t dport)
{
    size_t alen = ver == 4 ? 4 : 16;
    if ((r->fields & (EF_MAWILAB_F_SRC | EF_MAWILAB_F_DST)) && r->ip_version != ver)
        return 0;
    if ((r->fields & EF_MAWILAB_F_DST) && memcmp(r->dst, dst, alen) != 0)
        return 0;
    if ((r->fields & EF_MAWILAB_F_SRC) && memcmp(r->src, src, alen) != 0)
        return 0;
    if ((r->fields & (EF_MAWILAB_F_SPORT | EF_MAWILAB_F_DPORT)) && !has_ports)
        return 0;
    if ((r->fields & EF_MAWILAB_F_DPORT) && r->dport != dport)
        return 0;
    if ((r->fields & EF_MAWILAB_F_SPORT) && r->sport != sport)
        return 0;
    return 1;
}

static void scan_bucket(const ef_mawilab_t *m, const ix_key_t *k, int ver, int has_ports,
                        const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport,
                        best_t *b)
{
    if (!(m->kinds & (1u << k->kind)))
        return;
    const ix_slot_t *s = ix_find(m, k);
    if (!s)
        return;
    for (uint32_t i = s->first; i < s->first + s->count; i++) {
        uint32_t ri = m->order[i];
        const ef_mawilab_rule_t *r = &m->rules[ri];
        int sc = rule_score(r);
        if (sc < b->score || (sc == b->score && ri > b->rule))
            continue;
        if (rule_matches(r, ver, has_ports, src, sport, dst, dport)) {
            b->score = sc;
            b->rule = ri;
        }
    }
}

/* Best rule with rule src = (src, sport) and rule dst = (dst, dport). */
static best_t match_one_way(const ef_mawilab_t *m, int ver, int has_ports, const uint8_t *src,
                            uint16_t sport, const uint8_t *dst, uint16_t dport)
{
    best_t b = {-1, 0};
    ix_key_t k;
    ix_key_addr(&k, IX_DST, ver, dst);
    scan_bucket(m, &k, ver, has_ports, src, sport, dst, dport, &b);
    ix_key_addr(&k, IX_SRC, ver, src);
    scan_bucket(m, &k, ver, has_ports, src, sport, dst, dport, &b);
    if (has_ports) {
        ix_key_port(&k, IX_DPORT, dport);
        scan_bucket(m, &k, ver, has_ports, src, sport, dst, dport, &b);
        ix_key_port(&k, IX_SPORT, sport);
        scan_bucket(m, &k, ver, has_ports, src, sport, dst, dport, &b);
    }
    return b;
}

void ef_mawilab_match(const ef_mawilab_t *m, const ef_mawilab_flow_t *f, ef_mawilab_match_t *out)
{
    out->rule = NULL;
    out->category = EF_CAT_UNLABELED;
    out->reversed = 0;
    if (!m || m->nrules == 0 || (f->ip_version != 4 && f->ip_version != 6))
        return;
    best_t fwd = match_one_way(m, f->ip_version, f->has_ports, f->client_addr, f->client_port,
                               f->server_addr, f->server_port);
    best_t rev = match_one_way(m, f->ip_version, f->has_ports, f->server_addr, f->server_port,
                               f->client_addr, f->client_port);
    /* The more specific direction wins; on equal specificity the forward one
     * (the rule's src is the side that started the flow). */
    best_t *b = rev.score > fwd.score ? &rev : &fwd;
    if (b->score < 0)
        return;
    out->rule = &m->rules[b->rule];
    out->category = (ef_category_t)out->rule->category;
    out->reversed = b == &rev;
}
