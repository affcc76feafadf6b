/* Reading rules files into logical rules: comments and blank lines skipped,
 * continuation lines (trailing '\') joined, every byte position mapped back
 * to its physical line and column, all in bounded memory. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids/rules_internal.h"

/* ---- input: physical lines, bounded -------------------------------------------- */

/* A source of bytes (a FILE or memory) read in chunks, so a 10 MB line costs
 * no more memory than a short one: bytes past the rule size limit are
 * counted and dropped. */
typedef struct src {
    FILE *f;
    const char *mem;
    size_t mem_len, mem_pos;
    char chunk[65536];
    size_t ck_len, ck_pos;
    uint64_t total;  /* bytes read so far */
    int eof, ioerr;
    int too_big;     /* stopped at EF_RULES_MAX_BYTES */
} src_t;

static int src_fill(src_t *s)
{
    if (s->eof)
        return 0;
    if (s->f) {
        s->ck_len = fread(s->chunk, 1, sizeof s->chunk, s->f);
        if (s->ck_len == 0) {
            s->ioerr = ferror(s->f) ? errno ? errno : EIO : 0;
            s->eof = 1;
        }
    } else {
        size_t n = s->mem_len - s->mem_pos;
        if (n > sizeof s->chunk)
            n = sizeof s->chunk;
        if (n)
            memcpy(s->chunk, s->mem + s->mem_pos, n);
        s->mem_pos += n;
        s->ck_len = n;
        if (n == 0)
            s->eof = 1;
    }
    s->ck_pos = 0;
    /* An endless source (/dev/zero, a stream) must end: refuse it whole. */
    s->total += s->ck_len;
    if (s->total > EF_RULES_MAX_BYTES) {
        s->too_big = 1;
        s->eof = 1;
        s->ck_len = 0;
    }
    return s->ck_len > 0;
}

/* One physical line into buf (without '\n'); bytes beyond cap are dropped
 * and counted in *total; *last is the line's last non-space byte (0 if
 * none), seen even when the line was cut. Returns 0 at end of input with
 * nothing read. */
static int src_line(src_t *s, char *buf, size_t cap, size_t *len, size_t *total, char *last)
{
    size_t n = 0, all = 0;
    int any = 0;
    *last = 0;
    for (;;) {
        if (s->ck_pos == s->ck_len && !src_fill(s))
            break;
        any = 1;
        const char *p = s->chunk + s->ck_pos;
        size_t avail = s->ck_len - s->ck_pos;
        const char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (n < cap) {
            size_t room = cap - n;
            memcpy(buf + n, p, take < room ? take : room);
            n += take < room ? take : room;
        }
        for (size_t k = take; k > 0; k--)
            if (!isspace((unsigned char)p[k - 1])) {
                *last = p[k - 1];
                break;
            }
        all += take;
        s->ck_pos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    *len = n;
    *total = all;
    return any;
}

/* ---- logical rules ---------------------------------------------------------- */

#define LINE_CAP (EF_RULE_MAX_LEN + 2)

typedef struct logical {
    ef_logical_rule_t rule;
    char line[LINE_CAP];
} logical_t;

/* Next rule from the source. Returns 1 with a rule in lg, 0 at the end. */
static int next_logical(src_t *s, logical_t *L, int *lineno)
{
    ef_logical_rule_t *lg = &L->rule;
    int cont = 0;
    lg->len = 0;
    lg->n_segs = 0;
    lg->too_long = 0;
    lg->indented = 0;
    for (;;) {
        size_t n, total;
        char last;
        if (!src_line(s, L->line, LINE_CAP, &n, &total, &last))
            return cont ? 1 : 0; /* a trailing '\' at end of file ends the rule */
        ++*lineno;
        if (total > n)
            lg->too_long = 1;
        while (n > 0 && L->line[n - 1] == '\r')
            n--;
        size_t lead = 0;
        while (lead < n && (L->line[lead] == ' ' || L->line[lead] == '\t'))
            lead++;
        if (!cont) {
            if (lead == n || L->line[lead] == '#')
                continue; /* blank line or comment */
            lg->first_line = *lineno;
            lg->indented = lead > 0;
        }
        size_t end = n;
        while (end > 0 && isspace((unsigned char)L->line[end - 1]))
            end--;
        int more = last == '\\';
        if (more && end > 0 && L->line[end - 1] == '\\')
            end--;
        else
            end = n;
        if (lg->n_segs < EF_RULE_MAX_SEGS) {
            lg->segs[lg->n_segs].off = lg->len;
            lg->segs[lg->n_segs].line = *lineno;
            lg->n_segs++;
        } else {
            lg->too_long = 1;
        }
        if (lg->len + end > EF_RULE_MAX_LEN) {
            lg->too_long = 1;
        } else if (!lg->too_long) {
            memcpy(lg->text + lg->len, L->line, end);
            lg->len += end;
        }
        if (!more) {
            lg->text[lg->len] = '\0';
            return 1;
        }
        cont = 1;
    }
}

void ef_logical_locate(const ef_logical_rule_t *lg, size_t off, int *line, int *col)
{
    int i = lg->n_segs - 1;
    while (i > 0 && lg->segs[i].off > off)
        i--;
    if (i < 0) {
        *line = lg->first_line;
        *col = (int)off + 1;
        return;
    }
    *line = lg->segs[i].line;
    *col = (int)(off - lg->segs[i].off) + 1;
}

int ef_rules_read(const char *name, FILE *f, const char *text, size_t len, ef_rule_fn fn,
                  void *user, ef_err_t *err)
{
    src_t *s = calloc(1, sizeof *s);
    logical_t *L = malloc(sizeof *L);
    if (!s || !L) {
        free(s);
        free(L);
        return ef_err_set(err, "%s: out of memory", name);
    }
    s->f = f;
    s->mem = text;
    s->mem_len = len;
    int lineno = 0, rc = 0;
    while (next_logical(s, L, &lineno)) {
        L->rule.text[L->rule.len] = '\0';
        if (fn(user, &L->rule) < 0) {
            rc = ef_err_set(err, "%s:%d: out of memory", name, L->rule.first_line);
            break;
        }
    }
    if (rc == 0 && s->too_big)
        rc = ef_err_set(err, "%s: rules larger than %llu bytes (stopped reading at line %d)", name,
                        (unsigned long long)EF_RULES_MAX_BYTES, lineno);
    else if (rc == 0 && s->ioerr)
        rc = ef_err_set(err, "%s: read error after line %d: %s", name, lineno,
                        strerror(s->ioerr));
    free(L);
    free(s);
    return rc;
}
