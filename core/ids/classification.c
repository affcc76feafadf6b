#include "ids/classification.h"
#include "ids/readfile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries of Suricata's standard classification.config that describe what
 * a flow-level early verdict can mean (names, texts and priorities as
 * Suricata ships them, so alerts carry the same category either way). */
static const ef_classtype_t builtin[] = {
    {"not-suspicious", "Not Suspicious Traffic", 3},
    {"unknown", "Unknown Traffic", 3},
    {"bad-unknown", "Potentially Bad Traffic", 2},
    {"attempted-recon", "Attempted Information Leak", 2},
    {"successful-recon-limited", "Information Leak", 2},
    {"successful-recon-largescale", "Large Scale Information Leak", 2},
    {"attempted-dos", "Attempted Denial of Service", 2},
    {"successful-dos", "Denial of Service", 2},
    {"tcp-connection", "A TCP connection was detected", 4},
    {"unusual-client-port-connection", "A client was using an unusual port", 2},
    {"network-scan", "Detection of a Network Scan", 3},
    {"denial-of-service", "Detection of a Denial of Service Attack", 2},
    {"non-standard-protocol", "Detection of a non-standard protocol or event", 2},
    {"protocol-command-decode", "Generic Protocol Command Decode", 3},
    {"misc-activity", "Misc activity", 3},
    {"misc-attack", "Misc Attack", 2},
    {"icmp-event", "Generic ICMP event", 3},
    {"policy-violation", "Potential Corporate Privacy Violation", 1},
};

#define CLASS_MAX_FILE (16u << 20)

struct ef_classification {
    ef_classtype_t *v;
    size_t n, cap;
};

void ef_classification_free(ef_classification_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->v[i].name);
        free((char *)c->v[i].description);
    }
    free(c->v);
    free(c);
}

const ef_classtype_t *ef_classification_find(const ef_classification_t *c, const char *name)
{
    if (!name)
        return NULL;
    if (!c) {
        for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
            if (!strcmp(builtin[i].name, name))
                return &builtin[i];
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].name, name))
            return &c->v[i];
    return NULL;
}

size_t ef_classification_count(const ef_classification_t *c)
{
    return c ? c->n : sizeof builtin / sizeof builtin[0];
}

typedef struct reader {
    const char *name;
    ef_diag_fn diag;
    void *user;
} reader_t;

static void report(const reader_t *r, ef_diag_level_t level, int line, int col, const char *msg)
{
    if (!r->diag)
        return;
    ef_diag_t d = {level, r->name, line, col, msg};
    r->diag(r->user, &d);
}

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Expect `word` at p (after blanks); returns the position after it or NULL. */
static const char *expect_word(const char *p, const char *end, const char *word)
{
    p = skip_blank(p, end);
    size_t n = strlen(word);
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
        return NULL;
    return p + n;
}

static int add_entry(ef_classification_t *c, const char *name, size_t nlen, const char *desc,
                     size_t dlen, int prio, int *replaced)
{
    char *n = strndup(name, nlen), *d = strndup(desc, dlen);
    if (!n || !d) {
        free(n);
        free(d);
        return -1;
    }
    *replaced = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!strcmp(c->v[i].name, n)) {
            free(n);
            free((char *)c->v[i].description);
            c->v[i].description = d;
            c->v[i].priority = prio;
            *replaced = 1;
            return 0;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        ef_classtype_t *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            free(n);
            free(d);
            return -1;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].name = n;
    c->v[c->n].description = d;
    c->v[c->n].priority = prio;
    c->n++;
    return 0;
}

/* One line "config classification: name,description,priority". */
static int parse_line(ef_classification_t *c, const reader_t *r, int lineno, const char *line,
                      const char *end)
{
    char msg[512];
    const char *p = skip_blank(line, end);
    if (p == end || *p == '#' || *p == '\r')
        return 0;
    const char *q = expect_word(p, end, "config");
    if (q)
        q = expect_word(q, end, "classification");
    if (q)
        q = expect_word(q, end, ":");
    if (!q) {
        report(r, EF_DIAG_ERROR, lineno, (int)(p - line) + 1,
               "expected 'config classification: NAME,DESCRIPTION,PRIORITY'");
        return 1;
    }
    while (end > q && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *name = skip_blank(q, end);
    const char *comma1 = memchr(name, ',', (size_t)(end - name));
    const char *comma2 = NULL;
    for (const char *s = end; s > name; s--)
        if (s[-1] == ',') {
            comma2 = s - 1;
            break;
        }
    if (!comma1 || comma2 == comma1) {
        report(r, EF_DIAG_ERROR, lineno, (int)(name - line) + 1,
               "expected 'NAME,DESCRIPTION,PRIORITY' (two commas)");
        return 1;
    }
    const char *nend = comma1;
    while (nend > name && (nend[-1] == ' ' || nend[-1] == '\t'))
        nend--;
    int ok = nend > name && isalpha((unsigned char)*name);
    for (const char *s = name; ok && s < nend; s++)
        ok = isalnum((unsigned char)*s) || *s == '-' || *s == '_';
    if (!ok) {
        snprintf(msg, sizeof msg,
                 "expected a classtype name (a letter, then letters, digits, '-' or '_'), "
                 "got '%.*s'", (int)(nend - name), name);
        report(r, EF_DIAG_ERROR, lineno, (int)(name - line) + 1, msg);
        return 1;
    }
    const char *desc = skip_blank(comma1 + 1, comma2);
    const char *dend = comma2;
    while (dend > desc && (dend[-1] == ' ' || dend[-1] == '\t'))
        dend--;
    if (dend == desc) {
        report(r, EF_DIAG_ERROR, lineno, (int)(comma1 - line) + 2, "expected a description");
        return 1;
    }
    const char *pr = skip_blank(comma2 + 1, end);
    long prio = 0;
    int digits = 0;
    for (const char *s = pr; s < end && digits >= 0; s++, digits++) {
        if (*s < '0' || *s > '9' || prio > 100000)
            digits = -2;
        else
            prio = prio * 10 + (*s - '0');
    }
    if (digits <= 0 || prio > 255) {
        snprintf(msg, sizeof msg, "expected a priority 0-255 after the last ',', got '%.*s'",
                 (int)(end - pr), pr);
        report(r, EF_DIAG_ERROR, lineno, (int)(pr - line) + 1, msg);
        return 1;
    }
    int replaced;
    if (add_entry(c, name, (size_t)(nend - name), desc, (size_t)(dend - desc), (int)prio,
                  &replaced) < 0)
        return -1;
    if (replaced) {
        snprintf(msg, sizeof msg, "classtype '%.*s' defined again: the later entry is used",
                 (int)(nend - name), name);
        report(r, EF_DIAG_WARNING, lineno, (int)(name - line) + 1, msg);
    }
    return 0;
}

ef_classification_t *ef_classification_load_string(const char *name, const char *text,
                                                   size_t len, ef_diag_fn diag, void *user,
                                                   ef_err_t *err)
{
    ef_classification_t *c = calloc(1, sizeof *c);
    if (!c) {
        ef_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    reader_t r = {name, diag, user};
    const char *p = text, *end = text + len;
    for (int lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (memchr(p, '\0', (size_t)(le - p))) {
            report(&r, EF_DIAG_ERROR, lineno, 0, "NUL byte in line");
        } else if (parse_line(c, &r, lineno, p, le) < 0) {
            ef_classification_free(c);
            ef_err_set(err, "%s: out of memory", name);
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    return c;
}

ef_classification_t *ef_classification_load(const char *path, ef_diag_fn diag, void *user,
                                            ef_err_t *err)
{
    size_t n;
    char *buf = ef_read_file_bounded(path, CLASS_MAX_FILE, "classification file", &n, err);
    if (!buf)
        return NULL;
    ef_classification_t *c = ef_classification_load_string(path, buf, n, diag, user, err);
    free(buf);
    return c;
}
