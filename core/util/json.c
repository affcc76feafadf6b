/* Strict JSON parser: recursive descent over a bounded input.
 *
 * Values are appended to one growable array and linked by index while
 * parsing (the array may move as it grows); decoded strings go to one
 * growable text buffer, also by offset. When the whole input has parsed,
 * indices and offsets become pointers, and the document is immutable. */
#include "util/json.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_LEN ((size_t)64 << 20)
#define DEFAULT_MAX_DEPTH 64
#define HARD_MAX_DEPTH 1000 /* recursion: keep the C stack bounded */
#define DEFAULT_MAX_VALUES 1000000

typedef struct node {
    ef_json_value_t v;
    size_t key_off, str_off; /* into the text buffer; SIZE_MAX: none */
    long first, last, next;  /* child/sibling links by index; -1: none */
} node_t;

struct ef_json {
    node_t *nodes;
    size_t n_nodes, cap_nodes;
    char *text;
    size_t text_len, text_cap;
};

typedef struct parser {
    const char *s;
    size_t len, pos;
    const char *name;
    ef_err_t *err;
    int max_depth;
    size_t max_values;
    ef_json_t *doc;
    locale_t c_locale;
    int failed;
} parser_t;

static int fail(parser_t *p, size_t at, const char *what)
{
    if (!p->failed)
        ef_err_set(p->err, "%s: byte %zu: %s", p->name, at, what);
    p->failed = 1;
    return -1;
}

static void skip_ws(parser_t *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static long new_node(parser_t *p, ef_json_type_t type, size_t offset)
{
    ef_json_t *d = p->doc;
    if (d->n_nodes >= p->max_values) {
        fail(p, offset, "too many values in the document");
        return -1;
    }
    if (d->n_nodes == d->cap_nodes) {
        size_t cap = d->cap_nodes ? d->cap_nodes * 2 : 64;
        node_t *nn = realloc(d->nodes, cap * sizeof *nn);
        if (!nn) {
            fail(p, offset, "out of memory");
            return -1;
        }
        d->nodes = nn;
        d->cap_nodes = cap;
    }
    node_t *n = &d->nodes[d->n_nodes];
    memset(n, 0, sizeof *n);
    n->v.type = type;
    n->v.offset = offset;
    n->key_off = n->str_off = SIZE_MAX;
    n->first = n->last = n->next = -1;
    return (long)d->n_nodes++;
}

/* Reserve room for `extra` more bytes in the text buffer. */
static int text_reserve(parser_t *p, size_t extra)
{
    ef_json_t *d = p->doc;
    if (d->text_len + extra <= d->text_cap)
        return 0;
    size_t cap = d->text_cap ? d->text_cap : 256;
    while (cap < d->text_len + extra)
        cap *= 2;
    char *t = realloc(d->text, cap);
    if (!t)
        return fail(p, p->pos, "out of memory");
    d->text = t;
    d->text_cap = cap;
    return 0;
}

static void text_put(parser_t *p, const char *b, size_t n)
{
    memcpy(p->doc->text + p->doc->text_len, b, n);
    p->doc->text_len += n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser_t *p, size_t at, unsigned *out)
{
    if (p->len - at < 4)
        return fail(p, at, "expected 4 hex digits after \\u");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[at + (size_t)i]);
        if (h < 0)
            return fail(p, at + (size_t)i, "expected a hex digit in \\u escape");
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t utf8_encode(unsigned cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_valid_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/* Parse a string at p->pos (which holds '"'); decoded text is appended to
 * the text buffer, NUL-terminated; *off and *len locate it. */
static int parse_string(parser_t *p, size_t *off, size_t *len)
{
    size_t start = p->pos++;
    /* Decoded text is never longer than the raw text. */
    size_t end = start + 1;
    while (end < p->len && p->s[end] != '"')
        end += (p->s[end] == '\\') ? 2 : 1;
    if (end >= p->len)
        return fail(p, start, "unterminated string");
    if (text_reserve(p, end - start + 1) < 0)
        return -1;
    *off = p->doc->text_len;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20)
            return fail(p, p->pos, "control character in string (must be escaped)");
        if (c == '\\') {
            char e = p->s[p->pos + 1];
            char one;
            switch (e) {
            case '"': one = '"'; break;
            case '\\': one = '\\'; break;
            case '/': one = '/'; break;
            case 'b': one = '\b'; break;
            case 'f': one = '\f'; break;
            case 'n': one = '\n'; break;
            case 'r': one = '\r'; break;
            case 't': one = '\t'; break;
            case 'u': {
                unsigned cp;
                if (read_hex4(p, p->pos + 2, &cp) < 0)
                    return -1;
                size_t used = 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(p, p->pos, "lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    size_t at = p->pos + 6;
                    if (at + 1 >= p->len || p->s[at] != '\\' || p->s[at + 1] != 'u')
                        return fail(p, p->pos, "high surrogate not followed by a \\u low surrogate");
                    if (read_hex4(p, at + 2, &lo) < 0)
                        return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(p, at, "expected a low surrogate after a high surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    used = 12;
                }
                char b[4];
                text_put(p, b, utf8_encode(cp, b));
                p->pos += used;
                continue;
            }
            default:
                return fail(p, p->pos, "invalid escape in string");
            }
            text_put(p, &one, 1);
            p->pos += 2;
            continue;
        }
        if (c < 0x80) {
            text_put(p, (const char *)&c, 1);
            p->pos++;
            continue;
        }
        size_t n = utf8_valid_len((const unsigned char *)p->s + p->pos, end - p->pos);
        if (!n)
            return fail(p, p->pos, "invalid UTF-8 in string");
        text_put(p, p->s + p->pos, n);
        p->pos += n;
    }
    p->pos = end + 1;
    *len = p->doc->text_len - *off;
    text_put(p, "", 1);
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser_t *p, long id)
{
    size_t start = p->pos, i = p->pos;
    if (i < p->len && p->s[i] == '-')
        i++;
    if (i >= p->len || !is_digit(p->s[i]))
        return fail(p, i, "expected a digit");
    if (p->s[i] == '0') {
        i++;
        if (i < p->len && is_digit(p->s[i]))
            return fail(p, i, "leading zero in number");
    } else
        while (i < p->len && is_digit(p->s[i]))
            i++;
    if (i < p->len && p->s[i] == '.') {
        i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail(p, i, "expected a digit after the decimal point");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail(p, i, "expected a digit in the exponent");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    size_t n = i - start;
    if (text_reserve(p, n + 1) < 0)
        return -1;
    node_t *nd = &p->doc->nodes[id];
    nd->str_off = p->doc->text_len;
    nd->v.str_len = n;
    text_put(p, p->s + start, n);
    text_put(p, "", 1);
    /* The C locale: a host program may have set a locale whose decimal
     * point is not '.'. */
    nd->v.num = strtod_l(p->doc->text + nd->str_off, NULL, p->c_locale);
    p->pos = i;
    return 0;
}

static int parse_literal(parser_t *p, const char *word, ef_json_type_t type, long *id)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, p->pos, "expected a JSON value");
    *id = new_node(p, type, p->pos);
    if (*id < 0)
        return -1;
    p->pos += n;
    return 0;
}

static void link_child(parser_t *p, long parent, long child)
{
    node_t *par = &p->doc->nodes[parent];
    if (par->last < 0)
        par->first = child;
    else
        p->doc->nodes[par->last].next = child;
    par->last = child;
    par->v.count++;
}

static int parse_value(parser_t *p, int depth, long *id);

static int parse_array(parser_t *p, int depth, long *id)
{
    *id = new_node(p, EF_JSON_ARRAY, p->pos);
    if (*id < 0)
        return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        long child;
        if (parse_value(p, depth + 1, &child) < 0)
            return -1;
        link_child(p, *id, child);
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, p->pos, "unterminated array (expected ',' or ']')");
        if (p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        if (p->s[p->pos] != ',')
            return fail(p, p->pos, "expected ',' or ']' in array");
        p->pos++;
    }
}

typedef struct key_ref {
    const char *key;
    size_t len;
} key_ref_t;

static int key_cmp(const void *a, const void *b)
{
    const key_ref_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Sorting the keys keeps the duplicate check O(n log n) on hostile input. */
static int check_duplicate_keys(parser_t *p, long obj)
{
    node_t *o = &p->doc->nodes[obj];
    if (o->v.count < 2)
        return 0;
    key_ref_t *keys = malloc(o->v.count * sizeof *keys);
    if (!keys)
        return fail(p, o->v.offset, "out of memory");
    size_t n = 0;
    for (long c = o->first; c >= 0; c = p->doc->nodes[c].next) {
        keys[n].key = p->doc->text + p->doc->nodes[c].key_off;
        keys[n].len = p->doc->nodes[c].v.key_len;
        n++;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++) {
        if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "duplicate key \"%.80s\" in object", keys[i].key);
            free(keys);
            return fail(p, o->v.offset, msg);
        }
    }
    free(keys);
    return 0;
}

static int parse_object(parser_t *p, int depth, long *id)
{
    *id = new_node(p, EF_JSON_OBJECT, p->pos);
    if (*id < 0)
        return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return fail(p, p->pos, "expected a string key in object");
        size_t koff, klen;
        if (parse_string(p, &koff, &klen) < 0)
            return -1;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return fail(p, p->pos, "expected ':' after object key");
        p->pos++;
        long child;
        if (parse_value(p, depth + 1, &child) < 0)
            return -1;
        p->doc->nodes[child].key_off = koff;
        p->doc->nodes[child].v.key_len = klen;
        link_child(p, *id, child);
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, p->pos, "unterminated object (expected ',' or '}')");
        if (p->s[p->pos] == '}') {
            p->pos++;
            return check_duplicate_keys(p, *id);
        }
        if (p->s[p->pos] != ',')
            return fail(p, p->pos, "expected ',' or '}' in object");
        p->pos++;
    }
}

static int parse_value(parser_t *p, int depth, long *id)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, p->pos, "unexpected end of input (expected a JSON value)");
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        if (depth >= p->max_depth)
            return fail(p, p->pos, "nesting too deep");
        return c == '{' ? parse_object(p, depth, id) : parse_array(p, depth, id);
    }
    if (c == '"') {
        *id = new_node(p, EF_JSON_STRING, p->pos);
        if (*id < 0)
            return -1;
        size_t off, len;
        if (parse_string(p, &off, &len) < 0)
            return -1;
        p->doc->nodes[*id].str_off = off;
        p->doc->nodes[*id].v.str_len = len;
        return 0;
    }
    if (c == '-' || is_digit(c)) {
        *id = new_node(p, EF_JSON_NUMBER, p->pos);
        if (*id < 0)
            return -1;
        return parse_number(p, *id);
    }
    if (c == 't')
        return parse_literal(p, "true", EF_JSON_TRUE, id);
    if (c == 'f')
        return parse_literal(p, "false", EF_JSON_FALSE, id);
    if (c == 'n')
        return parse_literal(p, "null", EF_JSON_NULL, id);
    return fail(p, p->pos, "expected a JSON value");
}

/* Indices and offsets -> pointers, once nothing moves any more. */
static void resolve(ef_json_t *d)
{
    for (size_t i = 0; i < d->n_nodes; i++) {
        node_t *n = &d->nodes[i];
        n->v.key = n->key_off == SIZE_MAX ? NULL : d->text + n->key_off;
        n->v.str = n->str_off == SIZE_MAX ? NULL : d->text + n->str_off;
        n->v.child = n->first < 0 ? NULL : &d->nodes[n->first].v;
        n->v.next = n->next < 0 ? NULL : &d->nodes[n->next].v;
    }
}

ef_json_t *ef_json_parse(const char *text, size_t len, const ef_json_limits_t *lim,
                         const char *name, ef_err_t *err)
{
    parser_t p = {.s = text, .len = len, .name = name ? name : "json", .err = err};
    size_t max_len = lim && lim->max_len ? lim->max_len : DEFAULT_MAX_LEN;
    p.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    if (p.max_depth > HARD_MAX_DEPTH)
        p.max_depth = HARD_MAX_DEPTH;
    p.max_values = lim && lim->max_values ? lim->max_values : DEFAULT_MAX_VALUES;
    if (len > max_len) {
        ef_err_set(err, "%s: %zu bytes of JSON, more than the limit of %zu", p.name, len,
                   max_len);
        return NULL;
    }
    if (!text && len) {
        ef_err_set(err, "%s: no input", p.name);
        return NULL;
    }
    p.doc = calloc(1, sizeof *p.doc);
    p.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!p.doc || !p.c_locale) {
        ef_err_set(err, "%s: out of memory", p.name);
        free(p.doc);
        if (p.c_locale)
            freelocale(p.c_locale);
        return NULL;
    }
    long root;
    int rc = parse_value(&p, 0, &root);
    if (rc == 0) {
        skip_ws(&p);
        if (p.pos != p.len)
            rc = fail(&p, p.pos, "unexpected data after the JSON value");
    }
    freelocale(p.c_locale);
    if (rc < 0) {
        ef_json_free(p.doc);
        return NULL;
    }
    resolve(p.doc);
    return p.doc;
}

void ef_json_free(ef_json_t *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    free(doc->text);
    free(doc);
}

const ef_json_value_t *ef_json_root(const ef_json_t *doc)
{
    return doc && doc->n_nodes ? &doc->nodes[0].v : NULL;
}

const ef_json_value_t *ef_json_get(const ef_json_value_t *obj, const char *key)
{
    if (!obj || obj->type != EF_JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (const ef_json_value_t *c = obj->child; c; c = c->next)
        if (c->key_len == n && memcmp(c->key, key, n) == 0)
            return c;
    return NULL;
}

int ef_json_u64(const ef_json_value_t *v, uint64_t *out)
{
    if (!v || v->type != EF_JSON_NUMBER || v->str_len == 0)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v->str_len; i++) {
        char c = v->str[i];
        if (!is_digit(c))
            return -1;
        unsigned d = (unsigned)(c - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

const char *ef_json_type_name(ef_json_type_t t)
{
    switch (t) {
    case EF_JSON_NULL: return "null";
    case EF_JSON_FALSE: return "false";
    case EF_JSON_TRUE: return "true";
    case EF_JSON_NUMBER: return "number";
    case EF_JSON_STRING: return "string";
    case EF_JSON_ARRAY: return "array";
    case EF_JSON_OBJECT: return "object";
    }
    return "?";
}
