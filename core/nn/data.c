/* Dataset CSV reader, sampling protocols and packet reordering.
 *
 * The reader streams the file through one large buffer, splits lines and
 * fields by hand and parses numbers with its own small parsers: a 1 GB CSV
 * is read in seconds, and every field is checked (docs/training.md). The
 * file's SHA-256 is computed over the same bytes on the way. */
#include "nn/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/taxonomy.h"
#include "net/features.h"

/* ------------------------------------------------------------------------ */
/* Pseudo-random numbers                                                    */
/* ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void ef_data_rng_seed(ef_data_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t mix = splitmix64(&x) ^ stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&mix);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t ef_data_rng_u64(ef_data_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ef_data_rng_uniform(ef_data_rng_t *r)
{
    return (double)(ef_data_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t ef_data_rng_below(ef_data_rng_t *r, uint64_t n)
{
    /* Rejection of the short top range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = ef_data_rng_u64(r);
    while (x >= limit);
    return x % n;
}

void ef_data_shuffle(ef_data_rng_t *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ef_data_rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), for the data file's provenance hash                */
/* ------------------------------------------------------------------------ */

typedef struct sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} sha256_t;

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static inline uint32_t ror32(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_init(sha256_t *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->used = 0;
}

static void sha256_block(sha256_t *s, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

static void sha256_update(sha256_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->bytes += len;
    if (s->used) {
        size_t take = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used < 64)
            return;
        sha256_block(s, s->block);
        s->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        sha256_block(s, p);
    memcpy(s->block, p, len);
    s->used = len;
}

static void sha256_hex(sha256_t *s, char out[65])
{
    uint64_t bits = s->bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, padlen + 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

/* ------------------------------------------------------------------------ */
/* Label lists                                                              */
/* ------------------------------------------------------------------------ */

void ef_data_labels_free(char **labels, int n)
{
    if (!labels)
        return;
    for (int i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

char **ef_data_labels_parse(const char *list, int *n_out, ef_err_t *err)
{
    *n_out = 0;
    if (!list || !*list) {
        ef_err_set(err, "empty label list (expected e.g. %s, or all)", EF_DATA_SEED_LABELS);
        return NULL;
    }
    if (!strcmp(list, "all")) {
        char **out = calloc(EF_CAT__COUNT, sizeof *out);
        for (int c = 0; out && c < EF_CAT__COUNT; c++)
            if (!(out[c] = strdup(ef_category_label((ef_category_t)c)))) {
                ef_data_labels_free(out, c);
                out = NULL;
            }
        if (!out) {
            ef_err_set(err, "out of memory");
            return NULL;
        }
        *n_out = EF_CAT__COUNT;
        return out;
    }
    int cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    if (cap > EF_DATA_MAX_LABELS) {
        ef_err_set(err, "label list has %d names (at most %d)", cap, EF_DATA_MAX_LABELS);
        return NULL;
    }
    char **out = calloc((size_t)cap, sizeof *out);
    if (!out) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    int n = 0;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            ef_err_set(err, "label list '%s': label %d is empty", list, n + 1);
            goto fail;
        }
        if (!(out[n] = strndup(p, len))) {
            ef_err_set(err, "out of memory");
            goto fail;
        }
        for (int i = 0; i < n; i++)
            if (!strcmp(out[i], out[n])) {
                ef_err_set(err, "label list '%s': '%s' appears twice", list, out[n]);
                n++;
                goto fail;
            }
        n++;
        if (!e)
            break;
        p = e + 1;
    }
    *n_out = n;
    return out;
fail:
    ef_data_labels_free(out, n);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* CSV reading                                                              */
/* ------------------------------------------------------------------------ */

enum col_kind { COL_IGNORE = 0, COL_SIZE, COL_TIME, COL_C2S, COL_LABEL, COL_DIRS, COL_DIR };

typedef struct col {
    enum col_kind kind;
    int idx; /* packet index (0-based) for size/time/dir columns */
    char *name;
} col_t;

typedef struct field {
    char *s;
    size_t len;
} field_t;

/* Label name -> index, open addressing (EF_DATA_MAX_LABELS fit at half load). */
#define LABEL_SLOTS (2 * EF_DATA_MAX_LABELS)

typedef struct reader {
    const char *path;
    const ef_data_opts_t *opts;
    ef_err_t *err;
    ef_dataset_t *ds;
    int64_t line;   /* physical line number of the line being parsed */
    int64_t datarow;
    int ncols;
    col_t *cols;
    field_t *fields; /* [ncols + 1] */
    int label_col, dirs_col, have_dir_cols;
    size_t cap;      /* rows allocated */
    int slot[LABEL_SLOTS]; /* label index + 1, 0 = empty */
} reader_t;

static uint32_t hash_str(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Find a label, adding it as unlisted when new. -1 on error. */
static int label_index(reader_t *rd, const char *s, size_t len)
{
    ef_dataset_t *ds = rd->ds;
    uint32_t h = hash_str(s, len) % LABEL_SLOTS;
    for (;; h = (h + 1) % LABEL_SLOTS) {
        int v = rd->slot[h];
        if (v == 0)
            break;
        const char *name = ds->labels[v - 1];
        if (strlen(name) == len && !memcmp(name, s, len))
            return v - 1;
    }
    if (ds->n_labels >= EF_DATA_MAX_LABELS)
        return ef_err_set(rd->err,
                          "%s:%lld: column %d (%s): more than %d distinct labels; is this "
                          "the label column?",
                          rd->path, (long long)rd->line, rd->label_col + 1,
                          rd->cols[rd->label_col].name, EF_DATA_MAX_LABELS);
    char *copy = strndup(s, len);
    if (!copy)
        return ef_err_set(rd->err, "out of memory");
    int idx = ds->n_labels++;
    ds->labels[idx] = copy;
    rd->slot[h] = idx + 1;
    return idx;
}

static int add_listed_labels(reader_t *rd)
{
    for (int i = 0; i < rd->opts->n_labels; i++) {
        const char *l = rd->opts->labels[i];
        if (label_index(rd, l, strlen(l)) != i)
            return ef_err_set(rd->err, "label list: '%s' appears twice", l);
    }
    return 0;
}

static void trim(field_t *f)
{
    while (f->len && (*f->s == ' ' || *f->s == '\t')) {
        f->s++;
        f->len--;
    }
    while (f->len && (f->s[f->len - 1] == ' ' || f->s[f->len - 1] == '\t'))
        f->len--;
}

/* Split one line (no newline) into at most max fields; returns the number
 * of fields found (max + 1 means "more than max"), or -1 on a quoting
 * error. Quoted fields are unescaped in place. */
static int split_fields(char *line, size_t len, field_t *out, int max, int *bad_col)
{
    int n = 0;
    size_t i = 0;
    for (;;) {
        if (n > max)
            return n;
        char *start = line + i;
        size_t flen;
        if (i < len && line[i] == '"') {
            size_t r = i + 1;
            char *dst = line + i;
            size_t o = 0;
            for (;;) {
                if (r >= len) {
                    *bad_col = n + 1;
                    return -1;
                }
                if (line[r] == '"') {
                    if (r + 1 < len && line[r + 1] == '"') {
                        dst[o++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                dst[o++] = line[r++];
            }
            if (r < len && line[r] != ',') {
                *bad_col = n + 1;
                return -1;
            }
            flen = o;
            i = r;
        } else {
            const char *c = memchr(line + i, ',', len - i);
            size_t e = c ? (size_t)(c - line) : len;
            flen = e - i;
            i = e;
        }
        if (n <= max) {
            out[n].s = start;
            out[n].len = flen;
        }
        n++;
        if (i >= len)
            return n;
        i++; /* the comma */
        if (i == len) { /* trailing comma: one more, empty field */
            if (n <= max) {
                out[n].s = line + i;
                out[n].len = 0;
            }
            return n + 1;
        }
    }
}

/* "pktSize12" with prefix "pktSize" -> 12; 0 when the name is not that. */
static int numbered(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return 0;
    const char *p = name + pl;
    if (*p < '1' || *p > '9')
        return 0;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return (int)v;
}

static int col_error(reader_t *rd, int col, const char *fmt, const char *got, size_t glen)
{
    char what[256];
    snprintf(what, sizeof what, fmt, (int)(glen > 40 ? 40 : glen), got);
    return ef_err_set(rd->err, "%s:%lld: column %d (%s): %s", rd->path, (long long)rd->line,
                      col + 1, rd->cols[col].name, what);
}

static int parse_header(reader_t *rd, char *line, size_t len)
{
    const ef_data_opts_t *o = rd->opts;
    if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) { /* UTF-8 byte order mark */
        line += 3;
        len -= 3;
    }
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += line[i] == ',';
    rd->fields = calloc((size_t)n + 2, sizeof *rd->fields);
    rd->cols = calloc((size_t)n, sizeof *rd->cols);
    if (!rd->fields || !rd->cols)
        return ef_err_set(rd->err, "out of memory");
    int bad = 0;
    int got = split_fields(line, len, rd->fields, n, &bad);
    if (got < 0)
        return ef_err_set(rd->err, "%s:1: column %d: unterminated or misplaced quote in header",
                          rd->path, bad);
    rd->ncols = got;
    int size_at[EF_K_MAX + 1], time_at[EF_K_MAX + 1], dir_at[EF_K_MAX + 1];
    for (int j = 0; j <= EF_K_MAX; j++)
        size_at[j] = time_at[j] = dir_at[j] = -1;
    int kmax = 0, c2s_col = -1;
    rd->label_col = rd->dirs_col = -1;
    for (int c = 0; c < got; c++) {
        field_t f = rd->fields[c];
        trim(&f);
        if (!(rd->cols[c].name = strndup(f.s, f.len)))
            return ef_err_set(rd->err, "out of memory");
        const char *name = rd->cols[c].name;
        int *slot = NULL, num = 0;
        enum col_kind kind = COL_IGNORE;
        if ((num = numbered(name, "pktSize"))) {
            kind = COL_SIZE;
            slot = size_at;
        } else if ((num = numbered(name, "pktTime"))) {
            kind = COL_TIME;
            slot = time_at;
        } else if ((num = numbered(name, "pktDir"))) {
            kind = COL_DIR;
            slot = dir_at;
        } else {
            int *which = NULL;
            if (!strcmp(name, "c2s")) {
                which = &c2s_col;
                kind = COL_C2S;
            } else if (!strcmp(name, "taxonomy label")) {
                which = &rd->label_col;
                kind = COL_LABEL;
            } else if (!strcmp(name, "dirs")) {
                which = &rd->dirs_col;
                kind = COL_DIRS;
            }
            if (which && *which >= 0)
                return ef_err_set(rd->err, "%s:1: column %d (%s): duplicate of column %d",
                                  rd->path, c + 1, name, *which + 1);
            if (which)
                *which = c;
        }
        if (slot) {
            if (num > EF_K_MAX)
                return ef_err_set(rd->err, "%s:1: column %d (%s): k is at most %d", rd->path,
                                  c + 1, name, EF_K_MAX);
            if (slot[num] >= 0)
                return ef_err_set(rd->err, "%s:1: column %d (%s): duplicate of column %d",
                                  rd->path, c + 1, name, slot[num] + 1);
            slot[num] = c;
            if (kind == COL_SIZE && num > kmax)
                kmax = num;
        }
        rd->cols[c].kind = kind;
        rd->cols[c].idx = num - 1;
    }
    if (kmax == 0)
        return ef_err_set(rd->err,
                          "%s:1: header has no pktSize1..pktSizeK columns (expected "
                          "pktSize1..K,pktTime1..K,c2s,taxonomy label)",
                          rd->path);
    for (int j = 1; j <= kmax; j++) {
        if (size_at[j] < 0)
            return ef_err_set(rd->err, "%s:1: header has pktSize%d but no pktSize%d", rd->path,
                              kmax, j);
        if (time_at[j] < 0)
            return ef_err_set(rd->err,
                              "%s:1: header has no pktTime%d (expected pktTime1..pktTime%d to "
                              "match pktSize1..pktSize%d)",
                              rd->path, j, kmax, kmax);
    }
    for (int j = kmax + 1; j <= EF_K_MAX; j++)
        if (time_at[j] >= 0)
            return ef_err_set(rd->err, "%s:1: column %d (pktTime%d): header has only pktSize1..%d",
                              rd->path, time_at[j] + 1, j, kmax);
    if (rd->label_col < 0)
        return ef_err_set(rd->err, "%s:1: header has no 'taxonomy label' column", rd->path);
    if (o->k && o->k != kmax)
        return ef_err_set(rd->err,
                          "%s:1: the file has k=%d (pktSize1..pktSize%d) but k=%d was asked for",
                          rd->path, kmax, kmax, o->k);
    rd->have_dir_cols = 1;
    for (int j = 1; j <= kmax; j++)
        rd->have_dir_cols &= dir_at[j] >= 0;
    if (o->need_dir && rd->dirs_col < 0 && !rd->have_dir_cols)
        return ef_err_set(rd->err,
                          "%s:1: the direction feature needs a 'dirs' column or pktDir1..%d "
                          "columns (collect --extended writes them); this file has neither",
                          rd->path, kmax);
    if (rd->dirs_col >= 0)
        rd->have_dir_cols = 0; /* 'dirs' wins when both are present */
    rd->ds->k = kmax;
    return 0;
}

static int grow_rows(reader_t *rd)
{
    ef_dataset_t *ds = rd->ds;
    size_t cap = rd->cap ? rd->cap * 2 : 4096;
    size_t k = (size_t)ds->k;
#define GROW(p, per)                                                                          \
    do {                                                                                       \
        void *np = realloc(ds->p, cap * (per) * sizeof *ds->p);                                \
        if (!np)                                                                               \
            return ef_err_set(rd->err, "out of memory (%zu rows)", cap);                      \
        ds->p = np;                                                                            \
    } while (0)
    GROW(size, k);
    GROW(iat, k);
    if (rd->opts->need_dir)
        GROW(dir, k);
    GROW(len, 1);
    GROW(label, 1);
    GROW(row, 1);
#undef GROW
    rd->cap = cap;
    return 0;
}

/* Integer packet size, 0..65535 bytes; "1500.0" is accepted (float-typed
 * writers), "1500.5" is not. */
static int parse_size(const char *s, size_t len, float *out)
{
    size_t i = 0;
    uint32_t v = 0;
    if (i < len && s[i] == '+')
        i++;
    size_t d0 = i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > 65535)
            return -1;
    }
    if (i == d0)
        return -1;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] == '0'; i++)
            ;
    }
    if (i != len)
        return -1;
    *out = (float)v;
    return 0;
}

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Non-negative decimal with optional fraction and exponent ("0.25",
 * "1e-06", "3."); -1 otherwise (signs, NaN, Inf, junk, overflow). */
static int parse_time(const char *s, size_t len, double *out)
{
    size_t i = 0;
    uint64_t mant = 0;
    int exp10 = 0, digits = 0, sig = 0;
    if (i < len && s[i] == '+')
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (sig < 19) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            if (mant)
                sig++;
        } else {
            exp10++;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                if (mant)
                    sig++;
                exp10--;
            }
        }
    }
    if (!digits)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int neg = 0, e = 0, ed = 0;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            neg = s[i++] == '-';
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, ed++)
            if (e < 10000)
                e = e * 10 + (s[i] - '0');
        if (!ed)
            return -1;
        exp10 += neg ? -e : e;
    }
    if (i != len)
        return -1;
    double v = (double)mant;
    if (mant == 0) {
        v = 0;
    } else if (exp10 < 0) {
        while (exp10 < -22) {
            v /= 1e22;
            exp10 += 22;
        }
        v /= pow10_tab[-exp10];
    } else {
        while (exp10 > 22) {
            v *= 1e22;
            exp10 -= 22;
            if (isinf(v))
                return -1;
        }
        v *= pow10_tab[exp10];
    }
    if (!isfinite(v) || v > 3.0e38) /* must fit a float */
        return -1;
    *out = v;
    return 0;
}

/* A 0/1 string, separators ignored: writes up to k directions, returns the
 * count of digits, or -1 on another character or more than k digits. */
static int parse_dirs(const char *s, size_t len, uint8_t *dir, int k)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '0' || c == '1') {
            if (n >= k)
                return -1;
            dir[n++] = (uint8_t)(c - '0');
        } else if (!strchr(" ;:|/-_.", c)) {
            return -1;
        }
    }
    return n;
}

/* The column holding packet j's size (the header guarantees one). */
static int size_col(const reader_t *rd, int j)
{
    for (int c = 0; c < rd->ncols; c++)
        if (rd->cols[c].kind == COL_SIZE && rd->cols[c].idx == j)
            return c;
    return 0;
}

static int parse_row(reader_t *rd, char *line, size_t len)
{
    ef_dataset_t *ds = rd->ds;
    const int k = ds->k;
    int bad = 0;
    int got = split_fields(line, len, rd->fields, rd->ncols, &bad);
    if (got < 0)
        return ef_err_set(rd->err, "%s:%lld: column %d: unterminated or misplaced quote",
                          rd->path, (long long)rd->line, bad);
    if (got < rd->ncols)
        return ef_err_set(rd->err, "%s:%lld: column %d (%s): missing (row has %d columns, "
                          "header has %d)",
                          rd->path, (long long)rd->line, got + 1, rd->cols[got].name, got,
                          rd->ncols);
    if (got > rd->ncols)
        return ef_err_set(rd->err, "%s:%lld: column %d: extra column (header has %d)",
                          rd->path, (long long)rd->line, rd->ncols + 1, rd->ncols);
    rd->datarow++;
    ds->n_rows++;

    /* The label first: dropped rows need no further checks. */
    field_t lf = rd->fields[rd->label_col];
    trim(&lf);
    if (lf.len == 0)
        return col_error(rd, rd->label_col, "expected a label, got an empty field%.*s", "", 0);
    if (memchr(lf.s, '\0', lf.len))
        return col_error(rd, rd->label_col, "expected a label, got a NUL byte%.*s", "", 0);
    int label = label_index(rd, lf.s, lf.len);
    if (label < 0)
        return -1;
    ds->count[label]++;
    int listed = label < ds->n_classes;
    if (!listed)
        ds->n_unknown++;

    if (ds->n == rd->cap && grow_rows(rd) < 0)
        return -1;
    size_t r = ds->n;
    float *size = ds->size + r * (size_t)k, *iat = ds->iat + r * (size_t)k;
    uint8_t *dir = rd->opts->need_dir ? ds->dir + r * (size_t)k : NULL;
    int zero_at = -1, n = k;
    for (int c = 0; c < rd->ncols; c++) {
        field_t f = rd->fields[c];
        const col_t *col = &rd->cols[c];
        if (col->kind == COL_IGNORE || col->kind == COL_LABEL)
            continue;
        trim(&f);
        if (col->kind == COL_SIZE) {
            if (parse_size(f.s, f.len, &size[col->idx]) < 0)
                return col_error(rd, c,
                                 "expected a packet size (integer bytes 0..65535), got '%.*s'",
                                 f.s, f.len);
        } else if (col->kind == COL_TIME) {
            double t;
            if (parse_time(f.s, f.len, &t) < 0)
                return col_error(rd, c,
                                 "expected an inter-arrival time (seconds, a non-negative "
                                 "number), got '%.*s'",
                                 f.s, f.len);
            iat[col->idx] = (float)t;
        } else if (col->kind == COL_C2S) {
            double v;
            if (parse_time(f.s, f.len, &v) < 0 || v != floor(v))
                return col_error(rd, c, "expected a packet count (non-negative integer), got "
                                 "'%.*s'", f.s, f.len);
        } else if (col->kind == COL_DIR && dir && rd->have_dir_cols) {
            if (f.len != 1 || (f.s[0] != '0' && f.s[0] != '1'))
                return col_error(rd, c, "expected a direction 0 or 1, got '%.*s'", f.s, f.len);
            dir[col->idx] = (uint8_t)(f.s[0] - '0');
        }
    }
    /* Padding: sizes after the first 0 must all be 0 (collect --pad). */
    for (int j = 0; j < k; j++) {
        if (size[j] == 0 && zero_at < 0) {
            zero_at = j;
            n = j;
        } else if (size[j] != 0 && zero_at >= 0) {
            char what[128];
            snprintf(what, sizeof what,
                     "packet size after padding (pktSize%d is 0: padding must be trailing), "
                     "got '%%.*s'", zero_at + 1);
            int c = size_col(rd, j);
            field_t f = rd->fields[c];
            trim(&f);
            return col_error(rd, c, what, f.s, f.len);
        }
    }
    if (n == 0)
        return col_error(rd, size_col(rd, 0),
                         "expected a packet: pktSize1 is 0, so the row has none%.*s", "", 0);
    for (int j = n; j < k; j++)
        iat[j] = 0; /* padding carries no time */
    if (dir && rd->dirs_col >= 0) {
        field_t f = rd->fields[rd->dirs_col];
        trim(&f);
        memset(dir, 0, (size_t)k);
        int nd = parse_dirs(f.s, f.len, dir, k);
        if (nd < n) {
            char what[128];
            snprintf(what, sizeof what,
                     "expected one direction digit 0/1 per packet (%d packets, at most %d), "
                     "got '%%.*s'", n, k);
            return col_error(rd, rd->dirs_col, what, f.s, f.len);
        }
    }
    if (dir)
        for (int j = n; j < k; j++)
            dir[j] = 0;
    if (!listed && !rd->opts->keep_unknown)
        return 0; /* counted above, not kept */
    ds->len[r] = n;
    ds->label[r] = label;
    ds->row[r] = rd->datarow;
    ds->n++;
    return 0;
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

static int handle_line(reader_t *rd, char *line, size_t len, int *header_done)
{
    rd->line++;
    if (len && line[len - 1] == '\r')
        len--;
    if (memchr(line, '\0', len))
        return ef_err_set(rd->err, "%s:%lld: NUL byte in a text line (is this a CSV file?)",
                          rd->path, (long long)rd->line);
    if (!*header_done) {
        if (parse_header(rd, line, len) < 0)
            return -1;
        *header_done = 1;
        return add_listed_labels(rd);
    }
    if (is_blank(line, len))
        return 0;
    return parse_row(rd, line, len);
}

#define READ_CHUNK (4u << 20)
#define MAX_LINE (16u << 20)

static int read_lines(reader_t *rd, FILE *f, sha256_t *sha)
{
    size_t cap = READ_CHUNK, have = 0;
    char *buf = malloc(cap);
    int header_done = 0, rc = 0;
    if (!buf)
        return ef_err_set(rd->err, "out of memory");
    for (;;) {
        size_t r = fread(buf + have, 1, cap - have, f);
        if (r == 0 && ferror(f)) {
            rc = ef_err_set(rd->err, "%s: read error: %s", rd->path, strerror(errno));
            break;
        }
        sha256_update(sha, buf + have, r);
        have += r;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(buf + start, '\n', have - start))) {
            size_t e = (size_t)(nl - buf);
            if ((rc = handle_line(rd, buf + start, e - start, &header_done)) < 0)
                goto out;
            start = e + 1;
        }
        if (r == 0) { /* end of file: a last line without newline */
            if (start < have)
                rc = handle_line(rd, buf + start, have - start, &header_done);
            break;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == cap) {
            if (cap >= MAX_LINE) {
                rc = ef_err_set(rd->err, "%s:%lld: line longer than %u bytes", rd->path,
                                (long long)rd->line + 1, MAX_LINE);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = ef_err_set(rd->err, "out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
out:
    free(buf);
    if (rc == 0 && !header_done)
        rc = ef_err_set(rd->err,
                        "%s: empty file (expected a header "
                        "pktSize1..K,pktTime1..K,c2s,taxonomy label)",
                        rd->path);
    return rc;
}

/* After reading: every listed class present (unless allowed), rows left. */
static int check_classes(reader_t *rd)
{
    ef_dataset_t *ds = rd->ds;
    if (ds->n_rows == 0)
        return ef_err_set(rd->err, "%s: no data rows after the header", rd->path);
    if (!rd->opts->allow_empty_class) {
        char names[256] = "";
        int missing = 0;
        for (int c = 0; c < ds->n_classes; c++)
            if (ds->count[c] == 0) {
                size_t l = strlen(names);
                snprintf(names + l, sizeof names - l, "%s%s", missing ? ", " : "",
                         ds->labels[c]);
                missing++;
            }
        if (missing)
            return ef_err_set(rd->err,
                              "%s: no rows for class%s %s (%lld data rows; remove the "
                              "class from --labels or use another file)",
                              rd->path, missing > 1 ? "es" : "", names,
                              (long long)ds->n_rows);
    }
    if (ds->n == 0)
        return ef_err_set(rd->err, "%s: none of the %lld rows has a listed label", rd->path,
                          (long long)ds->n_rows);
    return 0;
}

ef_dataset_t *ef_data_read(const char *path, const ef_data_opts_t *opts, ef_err_t *err)
{
    if (!opts || !opts->labels || opts->n_labels < 1 || opts->n_labels > EF_DATA_MAX_LABELS) {
        ef_err_set(err, "%s: a label list of 1..%d classes is needed", path,
                   EF_DATA_MAX_LABELS);
        return NULL;
    }
    reader_t *rd = calloc(1, sizeof *rd);
    ef_dataset_t *ds = calloc(1, sizeof *ds);
    FILE *f = NULL;
    int rc = -1;
    if (!rd || !ds || !(ds->path = strdup(path)) ||
        !(ds->labels = calloc(EF_DATA_MAX_LABELS, sizeof *ds->labels)) ||
        !(ds->count = calloc(EF_DATA_MAX_LABELS, sizeof *ds->count))) {
        ef_err_set(err, "out of memory");
        goto out;
    }
    rd->path = path;
    rd->opts = opts;
    rd->err = err;
    rd->ds = ds;
    ds->n_classes = opts->n_labels;
    if (!(f = fopen(path, "rb"))) {
        ef_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    sha256_t sha;
    sha256_init(&sha);
    if (read_lines(rd, f, &sha) < 0 || check_classes(rd) < 0)
        goto out;
    sha256_hex(&sha, ds->sha256);
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rd) {
        for (int c = 0; c < rd->ncols; c++)
            free(rd->cols[c].name);
        free(rd->cols);
        free(rd->fields);
        free(rd);
    }
    if (rc < 0) {
        ef_data_free(ds);
        return NULL;
    }
    return ds;
}

void ef_data_free(ef_dataset_t *ds)
{
    if (!ds)
        return;
    free(ds->path);
    free(ds->size);
    free(ds->iat);
    free(ds->dir);
    free(ds->len);
    free(ds->label);
    free(ds->row);
    if (ds->labels)
        for (int i = 0; i < ds->n_labels; i++)
            free(ds->labels[i]);
    free(ds->labels);
    free(ds->count);
    free(ds);
}

/* ------------------------------------------------------------------------ */
/* Sampling                                                                 */
/* ------------------------------------------------------------------------ */

void ef_split_opts_default(ef_split_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->protocol = EF_SPLIT_SEED;
    o->n_streams = 10000;
    o->n_test = 100;
    o->n_valid = 200;
    o->frac_train = 0.8;
    o->frac_valid = 0.1;
    o->frac_test = 0.1;
}

void ef_split_free(ef_split_t *s)
{
    if (!s)
        return;
    free(s->train);
    free(s->valid);
    free(s->test);
    memset(s, 0, sizeof *s);
}

/* How many test / validation / training rows a class of `count` rows gives. */
static int class_quota(const ef_dataset_t *ds, int c, const ef_split_opts_t *o, int64_t count,
                       int64_t q[3], ef_err_t *err)
{
    if (o->protocol == EF_SPLIT_SEED) {
        int64_t cap = o->n_streams > 0 && count > o->n_streams ? o->n_streams : count;
        if (cap < o->n_test + o->n_valid + 1)
            return ef_err_set(err,
                              "%s: class %s has %lld rows; the seed protocol needs at least "
                              "%lld (%lld test + %lld validation + 1 training): lower "
                              "--n-test/--n-valid or use --split stratified",
                              ds->path, ds->labels[c], (long long)count,
                              (long long)(o->n_test + o->n_valid + 1), (long long)o->n_test,
                              (long long)o->n_valid);
        q[0] = o->n_test;
        q[1] = o->n_valid;
        q[2] = cap - q[0] - q[1];
        return 0;
    }
    double sum = o->frac_train + o->frac_valid + o->frac_test;
    q[0] = (int64_t)floor(o->frac_test / sum * (double)count + 0.5);
    q[1] = (int64_t)floor(o->frac_valid / sum * (double)count + 0.5);
    q[2] = count - q[0] - q[1];
    if (q[2] < 1)
        return ef_err_set(err,
                          "%s: class %s has %lld rows: too few for the split fractions "
                          "(no training row left)",
                          ds->path, ds->labels[c], (long long)count);
    return 0;
}

int ef_data_split(const ef_dataset_t *ds, const ef_split_opts_t *o, ef_split_t *out,
                  ef_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (o->protocol == EF_SPLIT_SEED && (o->n_test < 0 || o->n_valid < 0))
        return ef_err_set(err, "negative test/validation counts");
    if (o->protocol == EF_SPLIT_STRATIFIED &&
        (!(o->frac_train > 0) || !(o->frac_valid >= 0) || !(o->frac_test >= 0) ||
         !isfinite(o->frac_train + o->frac_valid + o->frac_test)))
        return ef_err_set(err, "split fractions must be >= 0 with a training share > 0");
    size_t *idx = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    out->train = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    out->valid = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    out->test = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    if (!idx || !out->train || !out->valid || !out->test) {
        free(idx);
        ef_split_free(out);
        return ef_err_set(err, "out of memory");
    }
    for (int c = 0; c < ds->n_classes; c++) {
        size_t m = 0;
        for (size_t i = 0; i < ds->n; i++)
            if (ds->label[i] == c)
                idx[m++] = i;
        if (m == 0)
            continue;
        /* One stream per class: a class's draw does not depend on others. */
        ef_data_rng_t rng;
        ef_data_rng_seed(&rng, o->seed, 0x53504c49ull + (uint64_t)c);
        ef_data_shuffle(&rng, idx, m);
        int64_t q[3] = {0, 0, 0};
        if (class_quota(ds, c, o, (int64_t)m, q, err) < 0) {
            free(idx);
            ef_split_free(out);
            return -1;
        }
        size_t p = 0;
        for (int64_t i = 0; i < q[0]; i++)
            out->test[out->n_test++] = idx[p++];
        for (int64_t i = 0; i < q[1]; i++)
            out->valid[out->n_valid++] = idx[p++];
        for (int64_t i = 0; i < q[2]; i++)
            out->train[out->n_train++] = idx[p++];
    }
    free(idx);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reordering                                                               */
/* ------------------------------------------------------------------------ */

int ef_data_reorder_perm(ef_data_rng_t *r, int n, double p, int *perm)
{
    int swaps = 0;
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = 0; i + 1 < n; i++) {
        if (ef_data_rng_uniform(r) < p) {
            perm[i] = i + 1;
            perm[i + 1] = i;
            swaps++;
            i++; /* packet i+1 has moved; it does not swap again */
        }
    }
    return swaps;
}
