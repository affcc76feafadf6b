/* ef_testtool: what the end-to-end tests (tests/e2e) need beyond POSIX
 * shell tools, so that they run no Python. One binary, one subcommand per
 * need; each validates strictly and exits 1 with a message naming the file
 * and position of the first problem (2 on a usage error).
 *
 *   eve-check [-s] [-e] [-m PREFIX] [-p PATH]... FILE...
 *       every line of each FILE is one complete JSON object (parsed by the
 *       project's strict parser, core/util/json.h) with a string
 *       event_type, and the file ends with a newline (or is empty).
 *       Prints, for each FILE, "lines N", one "type:NAME N" per
 *       event_type seen and "PATH VALUE" for each -p.
 *       -s  exactly one event_type "stats" line, and it is the last line
 *       -e  every event_type is early, alert, stats or flow; early/alert
 *           events hold early.k in {3,5,10,20}, 1 <= early.packets <= k,
 *           early.at_flow_end == (packets < k), and early.probabilities
 *           (when present) summing to 1 within 1e-3
 *       -m  every line but the last has a string early.model starting
 *           with PREFIX
 *       -p  a dot-separated member path (stats.decoder.pkts) of the last
 *           line's object, a number (printed as written) or a string
 *   csv-check FILE [--int NAME LO HI | --num NAME LO HI | --eq NAME TEXT]...
 *       an RFC 4180 CSV (quoted fields allowed) whose header holds every
 *       NAME, whose rows have the header's field count, and whose NAME
 *       columns are integers / numbers within [LO, HI] ("inf" allowed) or
 *       equal TEXT. Prints "csv reader: N rows by column name".
 *   model-damage MODEL OUTDIR
 *       damaged copies of a safetensors model, derived from its layout:
 *       trunc_*.safetensors (cut inside the length, after it, inside and
 *       after the header, after each tensor but the last, one byte short)
 *       and shape, dtype, offsets, meta, hlen_huge, hlen_max, nan, inf,
 *       huge .safetensors; OUTDIR/cases.txt lists "name|expected message"
 *       for all but the trunc_* and huge files.
 *   pcap-offsets PCAP
 *       the byte offset of every record of a classic pcap, one a line.
 *   pcap-to-pcapng PCAP OUT
 *       the same packets as a pcapng file (one section, one interface).
 *   frames OUT LINKTYPE N SEED
 *       a classic pcap (link type 1 or 101) of N valid records holding
 *       random frames, some of them plausible IPv4/IPv6 headers. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* ---- shared helpers --------------------------------------------------------- */

static int usage(void)
{
    fputs("usage: ef_testtool eve-check [-s] [-e] [-m PREFIX] [-p PATH]... FILE...\n"
          "       ef_testtool csv-check FILE [--int NAME LO HI | --num NAME LO HI |\n"
          "                                   --eq NAME TEXT]...\n"
          "       ef_testtool model-damage MODEL OUTDIR\n"
          "       ef_testtool pcap-offsets PCAP\n"
          "       ef_testtool pcap-to-pcapng PCAP OUT\n"
          "       ef_testtool frames OUT LINKTYPE N SEED\n",
          stderr);
    return 2;
}

/* The whole file in one NUL-terminated allocation (the caller frees). */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = cap > SIZE_MAX / 4 ? NULL : realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read the file\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int write_all(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fwrite(a, 1, na, f) == na && (!nb || fwrite(b, 1, nb, f) == nb);
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "%s: write failed\n", path);
        return -1;
    }
    return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p, int big_endian)
{
    if (big_endian)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* ---- eve-check ------------------------------------------------------------- */

#define MAX_PATHS 16
#define MAX_TYPES 32

typedef struct eve_opts {
    int stats_last;          /* -s */
    int events;              /* -e */
    const char *model_prefix; /* -m */
    const char *paths[MAX_PATHS];
    int n_paths;
} eve_opts_t;

typedef struct type_count {
    char name[64];
    size_t n;
} type_count_t;

/* Member `path` ("a.b.c") below obj, or NULL. */
static const ef_json_value_t *get_path(const ef_json_value_t *obj, const char *path)
{
    char key[256];
    while (obj && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key || obj->type != EF_JSON_OBJECT)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = ef_json_get(obj, key);
        path += n + (path[n] == '.');
    }
    return obj;
}

static int is_number(const ef_json_value_t *v)
{
    return v && v->type == EF_JSON_NUMBER;
}

/* The early/alert invariants of -e; 0 when they hold, else a message in why. */
static int check_early(const ef_json_value_t *ev, char *why, size_t n)
{
    const ef_json_value_t *e = ef_json_get(ev, "early");
    if (!e || e->type != EF_JSON_OBJECT)
        return snprintf(why, n, "no \"early\" object"), -1;
    const ef_json_value_t *pk = ef_json_get(e, "packets"), *k = ef_json_get(e, "k");
    const ef_json_value_t *end = ef_json_get(e, "at_flow_end");
    if (!is_number(pk) || !is_number(k))
        return snprintf(why, n, "early.packets or early.k missing or not a number"), -1;
    if (!(1 <= pk->num && pk->num <= k->num) ||
        (k->num != 3 && k->num != 5 && k->num != 10 && k->num != 20))
        return snprintf(why, n, "packets %s for k %s", pk->str, k->str), -1;
    if (!end || (end->type != EF_JSON_TRUE && end->type != EF_JSON_FALSE))
        return snprintf(why, n, "early.at_flow_end missing or not a boolean"), -1;
    if ((end->type == EF_JSON_TRUE) != (pk->num < k->num))
        return snprintf(why, n, "at_flow_end %s with %s of %s packets",
                        end->type == EF_JSON_TRUE ? "true" : "false", pk->str, k->str), -1;
    const ef_json_value_t *pr = ef_json_get(e, "probabilities");
    if (pr) {
        if (pr->type != EF_JSON_OBJECT)
            return snprintf(why, n, "early.probabilities is not an object"), -1;
        double sum = 0;
        for (const ef_json_value_t *c = pr->child; c; c = c->next) {
            if (c->type != EF_JSON_NUMBER)
                return snprintf(why, n, "probability of %s is not a number", c->key), -1;
            sum += c->num;
        }
        if (fabs(sum - 1.0) > 1e-3)
            return snprintf(why, n, "probabilities sum to %g, not 1", sum), -1;
    }
    return 0;
}

/* Counts stay exact: an unusual type is an error, never dropped or merged. */
static int count_type(type_count_t *types, int *n_types, const char *name)
{
    for (int i = 0; i < *n_types; i++)
        if (strcmp(types[i].name, name) == 0) {
            types[i].n++;
            return 0;
        }
    if (*n_types == MAX_TYPES || strlen(name) >= sizeof types[0].name)
        return -1;
    snprintf(types[*n_types].name, sizeof types[*n_types].name, "%s", name);
    types[(*n_types)++].n = 1;
    return 0;
}

/* One line's checks; the caller has parsed it into root. */
static int check_event(const char *path, size_t line, const ef_json_value_t *root, int is_last,
                       const eve_opts_t *o, type_count_t *types, int *n_types, size_t *stats_line)
{
    char why[256];
    if (root->type != EF_JSON_OBJECT) {
        fprintf(stderr, "%s:%zu: a %s, not a JSON object\n", path, line,
                ef_json_type_name(root->type));
        return -1;
    }
    const ef_json_value_t *t = ef_json_get(root, "event_type");
    if (!t || t->type != EF_JSON_STRING) {
        fprintf(stderr, "%s:%zu: no event_type string\n", path, line);
        return -1;
    }
    const char *type = t->str;
    if (count_type(types, n_types, type) != 0) {
        fprintf(stderr, "%s:%zu: event_type '%.80s': more than %d types or longer than %zu bytes\n",
                path, line, type, MAX_TYPES, sizeof types[0].name - 1);
        return -1;
    }
    if (strcmp(type, "stats") == 0) {
        if (*stats_line && o->stats_last) {
            fprintf(stderr, "%s:%zu: a second stats line (the first is line %zu)\n", path, line,
                    *stats_line);
            return -1;
        }
        *stats_line = line;
    }
    if (o->events) {
        int early = !strcmp(type, "early") || !strcmp(type, "alert");
        if (!early && strcmp(type, "stats") != 0 && strcmp(type, "flow") != 0) {
            fprintf(stderr, "%s:%zu: not an EVE event (event_type '%s')\n", path, line, type);
            return -1;
        }
        if (early && check_early(root, why, sizeof why) != 0) {
            fprintf(stderr, "%s:%zu: %s\n", path, line, why);
            return -1;
        }
    }
    if (o->model_prefix && !is_last) {
        const ef_json_value_t *m = get_path(root, "early.model");
        if (!m || m->type != EF_JSON_STRING ||
            strncmp(m->str, o->model_prefix, strlen(o->model_prefix)) != 0) {
            fprintf(stderr, "%s:%zu: early.model is not '%s...'\n", path, line, o->model_prefix);
            return -1;
        }
    }
    return 0;
}

static int print_path(const char *file, const ef_json_value_t *root, const char *path)
{
    const ef_json_value_t *v = root ? get_path(root, path) : NULL;
    if (!v || (v->type != EF_JSON_NUMBER && v->type != EF_JSON_STRING)) {
        fprintf(stderr, "%s: last line has no number or string at %s\n", file, path);
        return -1;
    }
    printf("%s %s\n", path, v->str);
    return 0;
}

static int eve_check_file(const char *path, const eve_opts_t *o)
{
    size_t len;
    char *data = read_all(path, &len);
    if (!data)
        return -1;
    int rc = 0;
    if (len && data[len - 1] != '\n') {
        fprintf(stderr, "%s: the file ends inside a line (no final newline)\n", path);
        rc = -1;
    }
    size_t n_lines = 0;
    for (size_t i = 0; i < len; i++)
        n_lines += data[i] == '\n';
    type_count_t types[MAX_TYPES];
    int n_types = 0;
    size_t stats_line = 0;
    ef_json_t *last = NULL;
    size_t line = 0;
    for (char *s = data; rc == 0 && s < data + len;) {
        char *nl = memchr(s, '\n', (size_t)(data + len - s));
        line++;
        char name[4096];
        snprintf(name, sizeof name, "%s:%zu", path, line);
        ef_err_t err;
        ef_json_t *doc = ef_json_parse(s, (size_t)(nl - s), NULL, name, &err);
        if (!doc) {
            fprintf(stderr, "%s (not valid JSON)\n", err.msg);
            rc = -1;
            break;
        }
        ef_json_free(last);
        last = doc;
        rc = check_event(path, line, ef_json_root(doc), line == n_lines, o, types, &n_types,
                         &stats_line);
        s = nl + 1;
    }
    if (rc == 0 && o->stats_last && (stats_line == 0 || stats_line != n_lines)) {
        fprintf(stderr, "%s: the stats line is %s, expected exactly one, the last of %zu\n", path,
                stats_line ? "not last" : "missing", n_lines);
        rc = -1;
    }
    if (rc == 0) {
        printf("lines %zu\n", n_lines);
        for (int i = 0; i < n_types; i++)
            printf("type:%s %zu\n", types[i].name, types[i].n);
        for (int i = 0; rc == 0 && i < o->n_paths; i++)
            rc = print_path(path, last ? ef_json_root(last) : NULL, o->paths[i]);
    }
    ef_json_free(last);
    free(data);
    return rc;
}

static int cmd_eve_check(int argc, char **argv)
{
    eve_opts_t o = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-s"))
            o.stats_last = 1;
        else if (!strcmp(argv[i], "-e"))
            o.events = 1;
        else if (!strcmp(argv[i], "-m") && i + 1 < argc)
            o.model_prefix = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc && o.n_paths < MAX_PATHS)
            o.paths[o.n_paths++] = argv[++i];
        else
            return usage();
    }
    if (i == argc)
        return usage();
    for (; i < argc; i++)
        if (eve_check_file(argv[i], &o) != 0)
            return 1;
    return 0;
}

/* ---- csv-check ------------------------------------------------------------- */

/* One CSV record at a time out of an in-memory file (RFC 4180: fields may be
 * quoted, "" inside quotes is one quote, quoted fields may span lines; the
 * record ends at LF or CRLF). Fields are decoded into `text`, NUL-separated. */
typedef struct csv_reader {
    const char *s, *end;
    size_t line; /* line number where the current record starts */
    size_t next_line;
    char *text;
    size_t text_cap;
    char **fields;
    size_t n_fields, fields_cap;
} csv_reader_t;

static int csv_push(csv_reader_t *r, size_t at, char c)
{
    if (at >= r->text_cap) {
        size_t cap = r->text_cap ? r->text_cap * 2 : 4096;
        char *t = realloc(r->text, cap);
        if (!t) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
        r->text = t;
        r->text_cap = cap;
    }
    r->text[at] = c;
    return 0;
}

/* 1: a record in r->fields, 0: end of input, -1: malformed or no memory. */
static int csv_next(csv_reader_t *r, const char *path)
{
    /* blank lines hold no record (as in Python's csv module) */
    while (r->s < r->end &&
           (*r->s == '\n' || (*r->s == '\r' && r->s + 1 < r->end && r->s[1] == '\n'))) {
        r->s += *r->s == '\r' ? 2 : 1;
        r->next_line++;
    }
    if (r->s >= r->end)
        return 0;
    r->line = r->next_line;
    size_t at = 0, n = 0;
    size_t starts[4096];
    starts[n++] = 0;
    int quoted = 0, was_quoted = 0;
    for (;;) {
        char c = r->s < r->end ? *r->s : '\n';
        int at_end = r->s >= r->end;
        if (quoted) {
            if (at_end) {
                fprintf(stderr, "%s:%zu: quoted field not closed\n", path, r->line);
                return -1;
            }
            r->s++;
            if (c == '"' && r->s < r->end && *r->s == '"') {
                r->s++;
            } else if (c == '"') {
                quoted = 0;
                continue;
            }
            r->next_line += c == '\n';
            if (csv_push(r, at++, c) != 0)
                return -1;
            continue;
        }
        if (!at_end)
            r->s++;
        if (c == '"' && !was_quoted && at == starts[n - 1]) {
            quoted = was_quoted = 1;
        } else if (c == '"') {
            fprintf(stderr, "%s:%zu: quote inside an unquoted field\n", path, r->line);
            return -1;
        } else if (c == ',' || c == '\n' || (c == '\r' && r->s < r->end && *r->s == '\n')) {
            if (csv_push(r, at++, '\0') != 0)
                return -1;
            if (c != ',') {
                r->s += c == '\r';
                r->next_line++;
                break;
            }
            if (n == sizeof starts / sizeof starts[0]) {
                fprintf(stderr, "%s:%zu: more than %zu fields\n", path, r->line, n);
                return -1;
            }
            starts[n++] = at;
            was_quoted = 0;
        } else if (csv_push(r, at++, c) != 0) {
            return -1;
        }
    }
    if (n > r->fields_cap) {
        char **f = realloc(r->fields, n * sizeof *f);
        if (!f) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
        r->fields = f;
        r->fields_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        r->fields[i] = r->text + starts[i];
    r->n_fields = n;
    return 1;
}

typedef enum { SPEC_INT, SPEC_NUM, SPEC_EQ } spec_kind_t;

typedef struct csv_spec {
    spec_kind_t kind;
    const char *name;
    double lo, hi;    /* SPEC_INT, SPEC_NUM */
    const char *text; /* SPEC_EQ */
    size_t col;
} csv_spec_t;

static int parse_bound(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && !isnan(*out) ? 0 : -1;
}

/* Strict numbers: an optional '-' and digits for SPEC_INT; a whole strtod
 * token that is not NaN for SPEC_NUM. */
static int field_value(const csv_spec_t *sp, const char *f, double *out)
{
    if (sp->kind == SPEC_INT) {
        const char *d = f + (*f == '-');
        if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 15)
            return -1;
        *out = strtod(f, NULL);
        return 0;
    }
    return parse_bound(f, out) == 0 && !isinf(*out) ? 0 : -1;
}

static int check_row(const char *path, const csv_reader_t *r, size_t row, const csv_spec_t *specs,
                     int n_specs)
{
    for (int i = 0; i < n_specs; i++) {
        const csv_spec_t *sp = &specs[i];
        const char *f = r->fields[sp->col];
        double v;
        if (sp->kind == SPEC_EQ) {
            if (strcmp(f, sp->text) != 0) {
                fprintf(stderr, "%s:%zu: row %zu: %s is '%s', expected '%s'\n", path, r->line, row,
                        sp->name, f, sp->text);
                return -1;
            }
        } else if (field_value(sp, f, &v) != 0 || v < sp->lo || v > sp->hi) {
            fprintf(stderr, "%s:%zu: row %zu: %s is '%s', expected %s in [%g, %g]\n", path,
                    r->line, row, sp->name, f, sp->kind == SPEC_INT ? "an integer" : "a number",
                    sp->lo, sp->hi);
            return -1;
        }
    }
    return 0;
}

static int parse_specs(int argc, char **argv, csv_spec_t *specs, int *n_specs, int max)
{
    for (int i = 0; i < argc;) {
        if (*n_specs == max)
            return -1;
        csv_spec_t *sp = &specs[*n_specs];
        memset(sp, 0, sizeof *sp);
        int range = !strcmp(argv[i], "--int") || !strcmp(argv[i], "--num");
        if (range && argc - i >= 4) {
            sp->kind = argv[i][2] == 'i' ? SPEC_INT : SPEC_NUM;
            sp->name = argv[i + 1];
            if (parse_bound(argv[i + 2], &sp->lo) != 0 || parse_bound(argv[i + 3], &sp->hi) != 0)
                return -1;
            i += 4;
        } else if (!strcmp(argv[i], "--eq") && argc - i >= 3) {
            sp->kind = SPEC_EQ;
            sp->name = argv[i + 1];
            sp->text = argv[i + 2];
            i += 3;
        } else {
            return -1;
        }
        (*n_specs)++;
    }
    return 0;
}

static int cmd_csv_check(int argc, char **argv)
{
    enum { MAX_SPECS = 256 };
    csv_spec_t specs[MAX_SPECS];
    int n_specs = 0;
    if (argc < 2 || parse_specs(argc - 2, argv + 2, specs, &n_specs, MAX_SPECS) != 0)
        return usage();
    const char *path = argv[1];
    size_t len;
    char *data = read_all(path, &len);
    if (!data)
        return 1;
    csv_reader_t r = {.s = data, .end = data + len, .next_line = 1};
    int rc = 1;
    size_t rows = 0, width;
    if (csv_next(&r, path) != 1) {
        fprintf(stderr, "%s: no header\n", path);
        goto out;
    }
    width = r.n_fields;
    int missing = 0;
    for (int i = 0; i < n_specs; i++) {
        size_t c = 0;
        while (c < width && strcmp(r.fields[c], specs[i].name) != 0)
            c++;
        if (c == width) {
            fprintf(stderr, "%s: missing column '%s'\n", path, specs[i].name);
            missing = 1;
        }
        specs[i].col = c;
    }
    if (missing)
        goto out;
    int got;
    while ((got = csv_next(&r, path)) == 1) {
        rows++;
        if (r.n_fields != width) {
            fprintf(stderr, "%s:%zu: row %zu has %zu fields, the header %zu\n", path, r.line, rows,
                    r.n_fields, width);
            goto out;
        }
        if (check_row(path, &r, rows, specs, n_specs) != 0)
            goto out;
    }
    if (got == 0) {
        printf("csv reader: %zu rows by column name\n", rows);
        rc = 0;
    }
out:
    free(r.text);
    free(r.fields);
    free(data);
    return rc;
}

/* ---- model-damage ---------------------------------------------------------- */

typedef struct tensor {
    const char *name;
    uint64_t begin, end; /* data_offsets */
    const ef_json_value_t *v;
} tensor_t;

static int tensor_cmp(const void *a, const void *b)
{
    const tensor_t *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* A growable output buffer for re-serialised headers. */
typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
} buf_t;

static void buf_put(buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void buf_str(buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void emit_string(buf_t *b, const char *s, size_t n)
{
    buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            buf_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            buf_put(b, esc, 6);
        } else {
            buf_put(b, (const char *)&s[i], 1);
        }
    }
    buf_put(b, "\"", 1);
}

/* A change to a header: the value `target` is written as `raw` JSON text. */
typedef struct subst {
    const ef_json_value_t *target;
    const char *raw;
} subst_t;

/* Compact JSON (no spaces), members in document order, `s` applied. */
static void emit_value(buf_t *b, const ef_json_value_t *v, const subst_t *s)
{
    if (s && v == s->target) {
        buf_str(b, s->raw);
        return;
    }
    switch (v->type) {
    case EF_JSON_NULL: buf_str(b, "null"); break;
    case EF_JSON_FALSE: buf_str(b, "false"); break;
    case EF_JSON_TRUE: buf_str(b, "true"); break;
    case EF_JSON_NUMBER: buf_put(b, v->str, v->str_len); break;
    case EF_JSON_STRING: emit_string(b, v->str, v->str_len); break;
    case EF_JSON_ARRAY:
    case EF_JSON_OBJECT:
        buf_str(b, v->type == EF_JSON_ARRAY ? "[" : "{");
        for (const ef_json_value_t *c = v->child; c; c = c->next) {
            if (c != v->child)
                buf_str(b, ",");
            if (v->type == EF_JSON_OBJECT) {
                emit_string(b, c->key, c->key_len);
                buf_str(b, ":");
            }
            emit_value(b, c, s);
        }
        buf_str(b, v->type == EF_JSON_ARRAY ? "]" : "}");
        break;
    }
}

typedef struct model {
    const char *out;          /* output folder */
    const unsigned char *d;   /* the model file */
    size_t len;
    size_t base;              /* first byte of the data section */
    const ef_json_value_t *root;
    tensor_t *t;
    size_t n;
} model_t;

static int put_file(const model_t *m, const char *name, const void *a, size_t na, const void *b,
                    size_t nb)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", m->out, name);
    return write_all(path, a, na, b, nb);
}

/* NAME.safetensors: the header re-serialised with `s` applied, then the
 * original data section. */
static int put_with_header(const model_t *m, const char *name, const subst_t *s)
{
    buf_t b = {0};
    buf_put(&b, "12345678", 8); /* the length, filled in below */
    emit_value(&b, m->root, s);
    if (b.oom) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    put_le64((unsigned char *)b.p, b.n - 8);
    int rc = put_file(m, name, b.p, b.n, m->d + m->base, m->len - m->base);
    free(b.p);
    return rc;
}

/* NAME.safetensors: the model with every float of each tensor in `names`
 * (NULL-terminated) set to the float whose bits are `bits`. */
static int put_patched(const model_t *m, const char *name, const char *const *names, uint32_t bits)
{
    unsigned char *x = malloc(m->len);
    if (!x)
        return -1;
    memcpy(x, m->d, m->len);
    for (; *names; names++)
        for (size_t i = 0; i < m->n; i++) {
            if (strcmp(m->t[i].name, *names) != 0)
                continue;
            for (uint64_t at = m->base + m->t[i].begin; at + 4 <= m->base + m->t[i].end; at += 4)
                put_le32(x + at, bits);
        }
    int rc = put_file(m, name, x, m->len, NULL, 0);
    free(x);
    return rc;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Tensors of the header, sorted by their data offsets (the file's order). */
static int load_tensors(model_t *m, const char *path)
{
    m->t = calloc(m->root->count ? m->root->count : 1, sizeof *m->t);
    if (!m->t)
        return -1;
    for (const ef_json_value_t *c = m->root->child; c; c = c->next) {
        if (!strcmp(c->key, "__metadata__"))
            continue;
        const ef_json_value_t *o = ef_json_get(c, "data_offsets");
        tensor_t *t = &m->t[m->n];
        if (!o || o->type != EF_JSON_ARRAY || o->count != 2 || ef_json_u64(o->child, &t->begin) ||
            ef_json_u64(o->child->next, &t->end) || t->begin > t->end ||
            t->end > m->len - m->base) {
            fprintf(stderr, "%s: tensor %s: bad data_offsets\n", path, c->key);
            return -1;
        }
        t->name = c->key;
        t->v = c;
        m->n++;
    }
    if (m->n < 2) {
        fprintf(stderr, "%s: fewer than 2 tensors\n", path);
        return -1;
    }
    qsort(m->t, m->n, sizeof *m->t, tensor_cmp);
    return 0;
}

/* Cut the file at every section boundary: trunc_<tag>.safetensors. */
static int put_truncations(const model_t *m)
{
    size_t hlen = m->base - 8;
    struct { const char *tag; size_t n; } cuts[] = {
        {"len4", 4}, {"len8", 8}, {"header_half", 8 + hlen / 2}, {"header_end", m->base},
        {"last_byte", m->len - 1},
    };
    char name[64];
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(name, sizeof name, "trunc_%s", cuts[i].tag);
        if (put_file(m, name, m->d, cuts[i].n, NULL, 0) != 0)
            return -1;
    }
    for (size_t i = 0; i + 1 < m->n; i++) {
        snprintf(name, sizeof name, "trunc_tensor%02zu", i);
        if (put_file(m, name, m->d, m->base + m->t[i].end, NULL, 0) != 0)
            return -1;
    }
    return 0;
}

/* The header changes (shape, dtype, offsets, metadata) and what the loader
 * must say about each. */
static int put_header_cases(const model_t *m, FILE *cases)
{
    const tensor_t *first = &m->t[0];
    const ef_json_value_t *shape = ef_json_get(first->v, "shape");
    const ef_json_value_t *dtype = ef_json_get(first->v, "dtype");
    const ef_json_value_t *hidden = get_path(m->root, "__metadata__.hidden");
    if (!shape || shape->type != EF_JSON_ARRAY || !shape->count || !dtype || !hidden) {
        fprintf(stderr, "tensor %s: no shape or dtype, or no metadata 'hidden'\n", first->name);
        return -1;
    }
    uint64_t a, b;
    const ef_json_value_t *last_dim = shape->child;
    while (last_dim->next)
        last_dim = last_dim->next;
    if (ef_json_u64(shape->child, &a) || ef_json_u64(last_dim, &b)) {
        fprintf(stderr, "tensor %s: shape is not integers\n", first->name);
        return -1;
    }
    char raw[128];
    snprintf(raw, sizeof raw, "[%llu,%llu]", (unsigned long long)(a / 2),
             (unsigned long long)(b * 2));
    subst_t s = {shape, raw};
    if (put_with_header(m, "shape", &s) != 0)
        return -1;
    fprintf(cases, "shape|tensor %s: shape %s, expected [%llu,%llu]\n", first->name, raw,
            (unsigned long long)a, (unsigned long long)b);
    s = (subst_t){dtype, "\"I32\""};
    if (put_with_header(m, "dtype", &s) != 0)
        return -1;
    fprintf(cases, "dtype|tensor %s: dtype I32, expected F32\n", first->name);
    s = (subst_t){ef_json_get(first->v, "data_offsets"), "[0,18446744073709551615]"};
    if (put_with_header(m, "offsets", &s) != 0)
        return -1;
    fprintf(cases, "offsets|run past the data section\n");
    s = (subst_t){hidden, "\"4000000000\""};
    if (put_with_header(m, "meta", &s) != 0)
        return -1;
    fprintf(cases, "meta|metadata hidden \"4000000000\" is out of range\n");
    return 0;
}

/* A header length of 2^40 and of 2^64 - 1 in front of the original rest. */
static int put_length_cases(const model_t *m, FILE *cases)
{
    unsigned char len[8];
    put_le64(len, (uint64_t)1 << 40);
    if (put_file(m, "hlen_huge", len, 8, m->d + 8, m->len - 8) != 0)
        return -1;
    fprintf(cases, "hlen_huge|header length 1099511627776 exceeds\n");
    put_le64(len, UINT64_MAX);
    if (put_file(m, "hlen_max", len, 8, m->d + 8, m->len - 8) != 0)
        return -1;
    fprintf(cases, "hlen_max|header length\n");
    return 0;
}

/* NaN and -Inf biases (refused), and finite but huge weights in the last
 * two weight tensors (accepted: the fuzz finding in test_robust_model.c). */
static int put_value_cases(const model_t *m, FILE *cases)
{
    const char *bias_first = NULL, *bias_last = NULL, *w_last = NULL, *w_prev = NULL;
    for (size_t i = 0; i < m->n; i++) {
        if (strstr(m->t[i].name, "bias")) {
            bias_first = bias_first ? bias_first : m->t[i].name;
            bias_last = m->t[i].name;
        }
        if (strstr(m->t[i].name, "weight")) {
            w_prev = w_last;
            w_last = m->t[i].name;
        }
    }
    if (!bias_first || !w_prev) {
        fprintf(stderr, "the model needs a bias and two weight tensors\n");
        return -1;
    }
    const char *nan_t[] = {bias_last, NULL}, *inf_t[] = {bias_first, NULL};
    const char *huge_t[] = {w_last, w_prev, NULL};
    if (put_patched(m, "nan", nan_t, 0x7fc00000u) != 0)
        return -1;
    fprintf(cases, "nan|tensor %s: element 0 is NaN\n", bias_last);
    if (put_patched(m, "inf", inf_t, 0xff800000u) != 0)
        return -1;
    fprintf(cases, "inf|tensor %s: element 0 is infinite\n", bias_first);
    return put_patched(m, "huge", huge_t, float_bits(2.83e38f));
}

static int cmd_model_damage(int argc, char **argv)
{
    if (argc != 3)
        return usage();
    model_t m = {.out = argv[2]};
    char *d = read_all(argv[1], &m.len);
    if (!d)
        return 1;
    m.d = (const unsigned char *)d;
    int rc = 1;
    ef_json_t *doc = NULL;
    FILE *cases = NULL;
    uint64_t hlen = 0;
    for (int i = 7; m.len >= 8 && i >= 0; i--)
        hlen = hlen << 8 | m.d[i];
    if (m.len < 8 || hlen > m.len - 8) {
        fprintf(stderr, "%s: not a safetensors file\n", argv[1]);
        goto out;
    }
    m.base = 8 + (size_t)hlen;
    ef_err_t err;
    doc = ef_json_parse(d + 8, (size_t)hlen, NULL, argv[1], &err);
    if (!doc || ef_json_root(doc)->type != EF_JSON_OBJECT) {
        fprintf(stderr, "%s: header: %s\n", argv[1], doc ? "not an object" : err.msg);
        goto out;
    }
    m.root = ef_json_root(doc);
    if (load_tensors(&m, argv[1]) != 0 || put_truncations(&m) != 0)
        goto out;
    char path[4096];
    snprintf(path, sizeof path, "%s/cases.txt", m.out);
    cases = fopen(path, "w");
    if (!cases) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        goto out;
    }
    if (put_header_cases(&m, cases) == 0 && put_length_cases(&m, cases) == 0 &&
        put_value_cases(&m, cases) == 0)
        rc = 0;
out:
    if (cases && fclose(cases) != 0) {
        fprintf(stderr, "%s/cases.txt: write failed\n", m.out);
        rc = 1;
    }
    free(m.t);
    ef_json_free(doc);
    free(d);
    return rc;
}

/* ---- pcap files ------------------------------------------------------------ */

/* A classic pcap in memory: its byte order and the offset of each record. */
typedef struct pcap_file {
    unsigned char *d;
    size_t len;
    int big_endian;
    uint32_t snaplen, linktype;
} pcap_file_t;

static int pcap_open(pcap_file_t *p, const char *path)
{
    p->d = (unsigned char *)read_all(path, &p->len);
    if (!p->d)
        return -1;
    uint32_t magic = p->len >= 24 ? get32(p->d, 0) : 0;
    if (magic != 0xa1b2c3d4u && magic != 0xd4c3b2a1u) {
        fprintf(stderr, "%s: byte 0: not a microsecond classic pcap\n", path);
        free(p->d);
        return -1;
    }
    p->big_endian = magic == 0xd4c3b2a1u;
    p->snaplen = get32(p->d + 16, p->big_endian);
    p->linktype = get32(p->d + 20, p->big_endian);
    return 0;
}

/* The record at *off: its caplen, or -1 (message printed) when it runs past
 * the end of the file. */
static long pcap_record(const pcap_file_t *p, const char *path, size_t off)
{
    if (p->len - off < 16) {
        fprintf(stderr, "%s: byte %zu: truncated record header\n", path, off);
        return -1;
    }
    uint32_t cap = get32(p->d + off + 8, p->big_endian);
    if (p->len - off - 16 < cap) {
        fprintf(stderr, "%s: byte %zu: record data runs past the end\n", path, off);
        return -1;
    }
    return (long)cap;
}

static int cmd_pcap_offsets(int argc, char **argv)
{
    pcap_file_t p;
    if (argc != 2)
        return usage();
    if (pcap_open(&p, argv[1]) != 0)
        return 1;
    int rc = 0;
    for (size_t off = 24; off < p.len;) {
        long cap = pcap_record(&p, argv[1], off);
        if (cap < 0) {
            rc = 1;
            break;
        }
        printf("%zu\n", off);
        off += 16 + (size_t)cap;
    }
    free(p.d);
    return rc;
}

/* One pcapng block: type, total length, body padded to 4 bytes, length. */
static int put_block(FILE *f, uint32_t type, const unsigned char *body, size_t n,
                     const unsigned char *tail, size_t n_tail)
{
    static const unsigned char zero[4];
    size_t data = n + n_tail, pad = (4 - data % 4) % 4;
    unsigned char h[8], t[4];
    put_le32(h, type);
    put_le32(h + 4, (uint32_t)(12 + data + pad));
    put_le32(t, (uint32_t)(12 + data + pad));
    return fwrite(h, 1, 8, f) == 8 && fwrite(body, 1, n, f) == n &&
                   (!n_tail || fwrite(tail, 1, n_tail, f) == n_tail) &&
                   fwrite(zero, 1, pad, f) == pad && fwrite(t, 1, 4, f) == 4
               ? 0
               : -1;
}

static int cmd_pcap_to_pcapng(int argc, char **argv)
{
    pcap_file_t p;
    if (argc != 3)
        return usage();
    if (pcap_open(&p, argv[1]) != 0)
        return 1;
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
        free(p.d);
        return 1;
    }
    unsigned char shb[16], idb[8], epb[20];
    put_le32(shb, 0x1A2B3C4Du);                     /* byte-order magic */
    shb[4] = 1, shb[5] = 0, shb[6] = 0, shb[7] = 0; /* version 1.0 */
    put_le64(shb + 8, UINT64_MAX);                  /* section length: unknown */
    put_le32(idb, p.linktype & 0xffffu);            /* link type, 2 reserved bytes */
    put_le32(idb + 4, 65535);                       /* snaplen */
    int rc = put_block(f, 0x0A0D0D0Au, shb, 16, NULL, 0) | put_block(f, 1, idb, 8, NULL, 0);
    for (size_t off = 24; rc == 0 && off < p.len;) {
        long cap = pcap_record(&p, argv[1], off);
        if (cap < 0) {
            rc = -1;
            break;
        }
        const unsigned char *r = p.d + off;
        uint64_t ts = (uint64_t)get32(r, p.big_endian) * 1000000u + get32(r + 4, p.big_endian);
        put_le32(epb, 0); /* interface 0 */
        put_le32(epb + 4, (uint32_t)(ts >> 32));
        put_le32(epb + 8, (uint32_t)ts);
        put_le32(epb + 12, (uint32_t)cap);
        put_le32(epb + 16, get32(r + 12, p.big_endian));
        rc = put_block(f, 6, epb, 20, r + 16, (size_t)cap);
        off += 16 + (size_t)cap;
    }
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "%s: not written\n", argv[2]);
        rc = -1;
    }
    free(p.d);
    return rc ? 1 : 0;
}

/* ---- frames ---------------------------------------------------------------- */

/* splitmix64: a seeded, reproducible stream (no global state). */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rand_below(uint64_t *s, unsigned n)
{
    return (unsigned)(next_rand(s) % n);
}

/* Frame i: random bytes of a length that hits the decoder's boundaries; on
 * Ethernet every other frame gets a real ethertype; every fourth (from 1) a
 * plausible IPv4 header, every fourth (from 3) a plausible IPv6 header. */
static size_t make_frame(uint64_t *s, unsigned i, int ethernet, unsigned char *f)
{
    static const unsigned lens[] = {0, 1, 13, 14, 20, 34, 40, 54, 60};
    static const unsigned char types[][2] = {{8, 0}, {0x86, 0xdd}, {0x81, 0}, {0x88, 0xa8}};
    static const unsigned char v4[] = {1, 6, 6, 17, 17, 41, 47, 58, 132};
    static const unsigned char v6[] = {0, 6, 17, 43, 44, 58, 60, 59};
    unsigned pick = rand_below(s, 10);
    size_t n = pick < 9 ? lens[pick] : rand_below(s, 1600);
    for (size_t j = 0; j < n; j++)
        f[j] = (unsigned char)next_rand(s);
    if (ethernet && n >= 14 && i % 2)
        memcpy(f + 12, types[rand_below(s, 4)], 2);
    size_t ip = ethernet ? 14 : 0;
    if (i % 4 == 1 && n >= ip + 20) {
        f[ip] = 0x45;
        f[ip + 2] = (unsigned char)((n - ip) >> 8), f[ip + 3] = (unsigned char)(n - ip);
        f[ip + 6] &= 0x40; /* mostly not a fragment */
        f[ip + 9] = v4[rand_below(s, sizeof v4)];
    } else if (i % 4 == 3 && n >= ip + 40) {
        f[ip] = 0x60;
        f[ip + 4] = (unsigned char)((n - ip - 40) >> 8), f[ip + 5] = (unsigned char)(n - ip - 40);
        f[ip + 6] = v6[rand_below(s, sizeof v6)];
    }
    return n;
}

static int cmd_frames(int argc, char **argv)
{
    if (argc != 5)
        return usage();
    char *end;
    unsigned long lt = strtoul(argv[2], &end, 10);
    unsigned long n = strtoul(argv[3], NULL, 10);
    uint64_t seed = strtoull(argv[4], NULL, 10);
    if (*end || (lt != 1 && lt != 101) || n == 0 || n > 10000000)
        return usage();
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    unsigned char h[24] = {0}, rec[16], frame[1600];
    put_le32(h, 0xa1b2c3d4u);
    h[4] = 2, h[6] = 4; /* version 2.4 */
    put_le32(h + 16, 65535);
    put_le32(h + 20, (uint32_t)lt);
    int ok = fwrite(h, 1, 24, f) == 24;
    for (unsigned long i = 0; ok && i < n; i++) {
        size_t len = make_frame(&seed, (unsigned)i, lt == 1, frame);
        put_le32(rec, (uint32_t)(1600000000 + i / 1000));
        put_le32(rec + 4, (uint32_t)(i % 1000 * 1000));
        put_le32(rec + 8, (uint32_t)len);
        put_le32(rec + 12, (uint32_t)(len + rand_below(&seed, 3)));
        ok = fwrite(rec, 1, 16, f) == 16 && fwrite(frame, 1, len, f) == len;
    }
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "%s: write failed\n", argv[1]);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {
        {"eve-check", cmd_eve_check},       {"csv-check", cmd_csv_check},
        {"model-damage", cmd_model_damage}, {"pcap-offsets", cmd_pcap_offsets},
        {"pcap-to-pcapng", cmd_pcap_to_pcapng}, {"frames", cmd_frames},
    };
    for (size_t i = 0; argc > 1 && i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    return usage();
}
