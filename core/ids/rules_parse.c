/* Parsing rules: the header, the options, the checks across rules
 * (duplicate sids), and every diagnostic with its file:line:col. Reading
 * files into logical rules is in rules_read.c, compiling address and port
 * sets in rules_sets.c, sorting and matching in rules_match.c. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ids/classification.h"
#include "ids/config.h"
#include "ids/rules_internal.h"

/* ---- parse state for one rule ---------------------------------------------------- */

typedef struct opt {
    size_t name_at, name_len;
    size_t val_at, val_len; /* raw value (trimmed); val_at = 0 and len 0 when absent */
    int has_value;
} opt_t;

#define MAX_OPTS 512

typedef struct parse {
    ef_ruleset_t *rs;
    const char *file;
    const ef_logical_rule_t *lg;
    const char *t;   /* lg->text */
    size_t n;
    int errors;
    uint32_t sid;    /* for messages, 0 until known */
    int have_sid;
    opt_t opts[MAX_OPTS];
    int n_opts;
} parse_t;

static void emit(ef_ruleset_t *rs, ef_diag_level_t level, const char *file, int line, int col,
                 const char *msg)
{
    if (level == EF_DIAG_ERROR)
        rs->counts.errors++;
    else
        rs->counts.warnings++;
    if (!rs->opts.diag)
        return;
    ef_diag_t d = {level, file, line, col, msg};
    rs->opts.diag(rs->opts.diag_user, &d);
}

static void diag_at(parse_t *p, ef_diag_level_t level, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag_at(parse_t *p, ef_diag_level_t level, size_t off, const char *fmt, ...)
{
    char body[EF_ERR_MSG_MAX], msg[EF_ERR_MSG_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (p->have_sid)
        snprintf(msg, sizeof msg, "rule sid %u: %s", p->sid, body);
    else
        snprintf(msg, sizeof msg, "rule: %s", body);
    int line, col;
    ef_logical_locate(p->lg, off, &line, &col);
    if (level == EF_DIAG_ERROR)
        p->errors++;
    emit(p->rs, level, p->file, line, col, msg);
}

#define ERR(p, off, ...) diag_at((p), EF_DIAG_ERROR, (off), __VA_ARGS__)
#define WARN(p, off, ...) diag_at((p), EF_DIAG_WARNING, (off), __VA_ARGS__)

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

static size_t skip_ws(const parse_t *p, size_t i)
{
    while (i < p->n && blank(p->t[i]))
        i++;
    return i;
}

/* A header field: up to the next blank outside brackets. *unclosed is the
 * offset of the outermost '[' left open at the end of the rule, or SIZE_MAX. */
static size_t header_token(const parse_t *p, size_t i, size_t *unclosed)
{
    int depth = 0;
    size_t outer = SIZE_MAX;
    while (i < p->n && (depth > 0 || !blank(p->t[i]))) {
        if (p->t[i] == '[') {
            if (depth++ == 0)
                outer = i;
        } else if (p->t[i] == ']' && depth > 0) {
            depth--;
        }
        i++;
    }
    *unclosed = depth > 0 ? outer : SIZE_MAX;
    return i;
}

/* ---- header ------------------------------------------------------------------- */

static int parse_action(parse_t *p, size_t at, size_t len, ef_rule_action_t *a)
{
    /* case-insensitive, as in Suricata; the reject variants act as reject */
    static const struct {
        const char *name;
        ef_rule_action_t action;
    } names[] = {{"pass", EF_ACTION_PASS},           {"drop", EF_ACTION_DROP},
                 {"reject", EF_ACTION_REJECT},       {"rejectsrc", EF_ACTION_REJECT},
                 {"rejectdst", EF_ACTION_REJECT},    {"rejectboth", EF_ACTION_REJECT},
                 {"alert", EF_ACTION_ALERT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && !strncasecmp(p->t + at, names[i].name, len)) {
            *a = names[i].action;
            return 0;
        }
    ERR(p, at, "expected an action (alert, drop, pass or reject), got '%.*s'",
        (int)(len > 40 ? 40 : len), p->t + at);
    return -1;
}

static void proto_set(struct ef_rule_match_data *m, int proto)
{
    m->proto_bits[proto / 64] |= 1ull << (proto % 64);
}

static int parse_proto(parse_t *p, size_t at, size_t len, struct ef_rule_match_data *m,
                       int *portless)
{
    char w[32];
    if (len == 0 || len >= sizeof w) {
        ERR(p, at, "expected a protocol (ip, tcp, udp, icmp, ...)%s", len ? ", got a long word" : "");
        return -1;
    }
    memcpy(w, p->t + at, len);
    w[len] = '\0';
    m->ip_versions = (1u << 4) | (1u << 6);
    *portless = 0;
    if (!strcasecmp(w, "ip") || !strcasecmp(w, "pkthdr") || !strcasecmp(w, "ipv4") ||
        !strcasecmp(w, "ip4") || !strcasecmp(w, "ipv6") || !strcasecmp(w, "ip6")) {
        memset(m->proto_bits, 0xff, sizeof m->proto_bits);
        if (!strcasecmp(w, "ipv4") || !strcasecmp(w, "ip4"))
            m->ip_versions = 1u << 4;
        else if (!strcasecmp(w, "ipv6") || !strcasecmp(w, "ip6"))
            m->ip_versions = 1u << 6;
    } else if (!strcasecmp(w, "tcp") || !strcasecmp(w, "tcp-pkt") || !strcasecmp(w, "tcp-stream")) {
        proto_set(m, 6);
    } else if (!strcasecmp(w, "udp")) {
        proto_set(m, 17);
    } else if (!strcasecmp(w, "sctp")) {
        proto_set(m, 132);
    } else if (!strcasecmp(w, "icmp")) {
        proto_set(m, 1);
        proto_set(m, 58);
        *portless = 1;
    } else if (!strcasecmp(w, "icmpv4")) {
        proto_set(m, 1);
        m->ip_versions = 1u << 4;
        *portless = 1;
    } else if (!strcasecmp(w, "icmpv6")) {
        proto_set(m, 58);
        m->ip_versions = 1u << 6;
        *portless = 1;
    } else {
        static const char *const app[] = {"http", "http1", "http2", "tls", "dns", "smb", "ftp",
                                          "ssh", "smtp", "dcerpc", "dhcp", "ntp", "krb5",
                                          "snmp", "sip", "rdp", "quic", "mqtt", "imap", "pop3",
                                          "modbus", "dnp3", "enip", "nfs", "ike", "tftp",
                                          "pgsql", "rfb", "telnet", "websocket", "ldap"};
        for (size_t i = 0; i < sizeof app / sizeof app[0]; i++)
            if (!strcasecmp(w, app[i])) {
                ERR(p, at,
                    "protocol '%s' is an application-layer protocol: earlyflow rules match "
                    "the flow header only (use ip, tcp, udp or icmp)", w);
                return -1;
            }
        ERR(p, at,
            "unknown protocol '%s' (expected ip, ipv4, ipv6, tcp, udp, sctp, icmp, icmpv4 or "
            "icmpv6)", w);
        return -1;
    }
    return 0;
}

static int parse_field(parse_t *p, ef_domain_t dom, size_t at, size_t len, const void **out,
                       const char *what)
{
    ef_err_t err;
    size_t bad = 0;
    if (len == 0) {
        ERR(p, at, "expected %s", what);
        return -1;
    }
    const void *m = dom == EF_DOM_ADDR
                        ? (const void *)ef_expr_addr(p->rs->expr, p->t + at, len, &bad, &err)
                        : (const void *)ef_expr_port(p->rs->expr, p->t + at, len, &bad, &err);
    if (!m) {
        ERR(p, at + bad, "%s: %s", what, err.msg);
        return -1;
    }
    *out = m;
    return 0;
}

/* action proto src sp dir dst dp '(' ; returns the offset after '(' or 0. */
static size_t parse_header(parse_t *p, ef_rule_t *r, struct ef_rule_match_data *m, int *portless,
                           int *ports_given)
{
    size_t i = skip_ws(p, 0), e;
    struct {
        size_t at, len;
    } f[7];
    static const char *const names[7] = {"an action", "a protocol", "a source address",
                                         "a source port", "a direction ('->' or '<>')",
                                         "a destination address", "a destination port"};
    for (int k = 0; k < 7; k++) {
        size_t unclosed;
        i = skip_ws(p, i);
        e = header_token(p, i, &unclosed);
        if (unclosed != SIZE_MAX) {
            ERR(p, unclosed, "unterminated list: no ']' closes this '[' in %s", names[k] + 2);
            return 0;
        }
        if (e == i || p->t[i] == '(') {
            ERR(p, i, "expected %s%s", names[k],
                i >= p->n ? ", got the end of the rule" : p->t[i] == '(' ? " before '('" : "");
            return 0;
        }
        f[k].at = i;
        f[k].len = e - i;
        i = e;
    }
    if (parse_action(p, f[0].at, f[0].len, &r->action) < 0 ||
        parse_proto(p, f[1].at, f[1].len, m, portless) < 0)
        return 0;
    const char *dir = p->t + f[4].at;
    if (f[4].len == 2 && !strncmp(dir, "->", 2)) {
        r->bidirectional = 0;
    } else if (f[4].len == 2 && !strncmp(dir, "<>", 2)) {
        r->bidirectional = 1;
    } else if (f[4].len == 2 && !strncmp(dir, "=>", 2)) {
        ERR(p, f[4].at, "direction '=>' (transactional) is not supported: use '->' or '<>'");
        return 0;
    } else {
        ERR(p, f[4].at, "expected a direction '->' or '<>', got '%.*s'", (int)f[4].len, dir);
        return 0;
    }
    const void *src, *dst, *sp, *dp;
    if (parse_field(p, EF_DOM_ADDR, f[2].at, f[2].len, &src, "source address") < 0 ||
        parse_field(p, EF_DOM_PORT, f[3].at, f[3].len, &sp, "source port") < 0 ||
        parse_field(p, EF_DOM_ADDR, f[5].at, f[5].len, &dst, "destination address") < 0 ||
        parse_field(p, EF_DOM_PORT, f[6].at, f[6].len, &dp, "destination port") < 0)
        return 0;
    m->src = src;
    m->dst = dst;
    m->sp = sp;
    m->dp = dp;
    *ports_given = !m->sp->any || !m->dp->any;
    i = skip_ws(p, i);
    if (i >= p->n || p->t[i] != '(') {
        ERR(p, i, "expected '(' to start the rule options%s",
            i >= p->n ? ", got the end of the rule" : "");
        return 0;
    }
    return i + 1;
}

/* ---- options: split ------------------------------------------------------------ */

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

/* Split "name:value; name; ..." up to the closing ')'. Values end at the
 * first ';' not escaped with '\' (Suricata's rule, so a ';' inside a quoted
 * string must be escaped too). */
static int split_options(parse_t *p, size_t i)
{
    for (;;) {
        i = skip_ws(p, i);
        if (i >= p->n) {
            ERR(p, p->n, "expected ')' to close the rule options, got the end of the rule");
            return -1;
        }
        if (p->t[i] == ')')
            break;
        size_t name = i;
        while (i < p->n && is_name_char(p->t[i]))
            i++;
        if (i == name) {
            ERR(p, i, "expected an option name, got '%c'", p->t[i]);
            return -1;
        }
        if (p->n_opts == MAX_OPTS) {
            ERR(p, name, "more than %d options in one rule", MAX_OPTS);
            return -1;
        }
        opt_t *o = &p->opts[p->n_opts++];
        memset(o, 0, sizeof *o);
        o->name_at = name;
        o->name_len = i - name;
        i = skip_ws(p, i);
        if (i < p->n && p->t[i] == ';') {
            i++;
            continue;
        }
        if (i >= p->n || p->t[i] != ':') {
            ERR(p, i, "expected ':' or ';' after option '%.*s'%s", (int)o->name_len,
                p->t + name, i >= p->n ? ", got the end of the rule" : "");
            return -1;
        }
        size_t v = ++i;
        int in_quote = 0;
        size_t quote_at = 0;
        while (i < p->n && p->t[i] != ';') {
            if (p->t[i] == '\\' && i + 1 < p->n) {
                i += 2;
                continue;
            }
            if (p->t[i] == '"') {
                in_quote = !in_quote;
                quote_at = i;
            }
            i++;
        }
        if (in_quote) {
            ERR(p, quote_at, "unterminated string in option '%.*s': a ';' inside a string must "
                             "be written '\\;'", (int)o->name_len, p->t + name);
            return -1;
        }
        if (i >= p->n) {
            size_t end = p->n;
            while (end > v && blank(p->t[end - 1]))
                end--;
            if (end > v && p->t[end - 1] == ')')
                ERR(p, end - 1, "expected ';' after the value of '%.*s' (every option ends with "
                                "';', the last one too)", (int)o->name_len, p->t + name);
            else
                ERR(p, p->n, "expected ';' after the value of '%.*s'", (int)o->name_len,
                    p->t + name);
            return -1;
        }
        size_t a = v, b = i;
        while (a < b && blank(p->t[a]))
            a++;
        while (b > a && blank(p->t[b - 1]))
            b--;
        o->has_value = 1;
        o->val_at = a;
        o->val_len = b - a;
        i++; /* ';' */
    }
    size_t after = skip_ws(p, i + 1);
    if (after < p->n) {
        ERR(p, after, "unexpected text after ')': '%.*s'", (int)(p->n - after > 40 ? 40 : p->n - after),
            p->t + after);
        return -1;
    }
    return 0;
}

/* Keyword names are case-insensitive, as in Suricata. */
static int opt_is(const parse_t *p, const opt_t *o, const char *name)
{
    return strlen(name) == o->name_len && !strncasecmp(p->t + o->name_at, name, o->name_len);
}

/* ---- options: values ------------------------------------------------------------- */

/* Copy a raw value without its escapes ("\;" -> ";"). */
static char *unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        out[w++] = s[i];
    }
    out[w] = '\0';
    return out;
}

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* What one rule's options produce before it becomes a slot. */
typedef struct ropts {
    char *msg;
    char *classtype;
    uint32_t priority;
    int has_priority, has_msg, has_sid, has_rev, has_gid, has_k, has_label, has_score;
    size_t n_meta, n_ref;     /* entries in meta[] / refs[] */
    ef_rule_kv_t meta[MAX_OPTS], refs[MAX_OPTS];
    char *owned[MAX_OPTS * 4];
    size_t n_owned;
} ropts_t;

static char *own(ropts_t *ro, char *s)
{
    if (s && ro->n_owned < sizeof ro->owned / sizeof ro->owned[0])
        ro->owned[ro->n_owned++] = s;
    else if (s) {
        free(s);
        s = NULL;
    }
    return s;
}

static void ropts_free(ropts_t *ro)
{
    for (size_t i = 0; i < ro->n_owned; i++)
        free(ro->owned[i]);
    ro->n_owned = 0;
}

static int check_quotes(parse_t *p, const opt_t *o, const char *name)
{
    if (o->val_len && p->t[o->val_at] == '"') {
        ERR(p, o->val_at, "quotes are not allowed on '%s' (Suricata rejects them)", name);
        return -1;
    }
    return 0;
}

static int opt_msg(parse_t *p, const opt_t *o, ropts_t *ro)
{
    const char *v = p->t + o->val_at;
    size_t n = o->val_len, i = 1;
    if (v[0] != '"') {
        ERR(p, o->val_at, "msg must be a double-quoted string: msg:\"...\";");
        return -1;
    }
    while (i < n && v[i] != '"')
        i += v[i] == '\\' ? 2 : 1;
    if (i >= n) {
        ERR(p, o->val_at + n, "msg: expected a closing '\"'");
        return -1;
    }
    if (i != n - 1) {
        ERR(p, o->val_at + i, "unescaped '\"' inside msg (write '\\\"')");
        return -1;
    }
    if (n == 2) {
        ERR(p, o->val_at, "msg is empty");
        return -1;
    }
    ro->msg = own(ro, unescape(v + 1, n - 2));
    return ro->msg ? 0 : -1;
}

static int opt_uint(parse_t *p, const opt_t *o, const char *name, uint32_t min, uint32_t *out)
{
    if (check_quotes(p, o, name) < 0)
        return -1;
    uint32_t v;
    if (parse_u32(p->t + o->val_at, o->val_len, &v) < 0 || v < min) {
        ERR(p, o->val_at, "%s: expected an integer %u-4294967295, got '%.*s'", name, min,
            (int)(o->val_len > 40 ? 40 : o->val_len), p->t + o->val_at);
        return -1;
    }
    *out = v;
    return 0;
}

static int opt_classtype(parse_t *p, const opt_t *o, ropts_t *ro)
{
    if (check_quotes(p, o, "classtype") < 0)
        return -1;
    const char *v = p->t + o->val_at;
    int ok = o->val_len > 0 && isalpha((unsigned char)v[0]);
    for (size_t i = 0; ok && i < o->val_len; i++)
        ok = isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '_';
    if (!ok || o->val_len > 64) {
        ERR(p, o->val_at, "classtype: expected a name (a letter, then letters, digits, '-' or "
                          "'_'), got '%.*s'", (int)(o->val_len > 40 ? 40 : o->val_len), v);
        return -1;
    }
    ro->classtype = own(ro, strndup(v, o->val_len));
    return ro->classtype ? 0 : -1;
}

/* "key value, key value" — entries without a value are skipped, as
 * Suricata does; a warning says so. */
static int opt_metadata(parse_t *p, const opt_t *o, ropts_t *ro)
{
    char *all = own(ro, unescape(p->t + o->val_at, o->val_len));
    if (!all)
        return -1;
    char *save = NULL;
    for (char *ent = strtok_r(all, ",", &save); ent; ent = strtok_r(NULL, ",", &save)) {
        while (blank(*ent))
            ent++;
        char *end = ent + strlen(ent);
        while (end > ent && blank(end[-1]))
            *--end = '\0';
        char *sp = ent;
        while (*sp && !blank(*sp))
            sp++;
        if (!*sp) {
            if (*ent)
                WARN(p, o->val_at, "metadata entry '%s' has no value: ignored (as Suricata does)",
                     ent);
            continue;
        }
        *sp++ = '\0';
        while (blank(*sp))
            sp++;
        if (ro->n_meta == MAX_OPTS) {
            WARN(p, o->val_at, "more than %d metadata entries: '%s' and later ones are ignored",
                 MAX_OPTS, ent);
            break;
        }
        ro->meta[ro->n_meta].key = ent;
        ro->meta[ro->n_meta].value = sp;
        ro->n_meta++;
    }
    return 0;
}

static int opt_reference(parse_t *p, const opt_t *o, ropts_t *ro)
{
    if (check_quotes(p, o, "reference") < 0)
        return -1;
    char *all = own(ro, unescape(p->t + o->val_at, o->val_len));
    if (!all)
        return -1;
    char *comma = strchr(all, ',');
    if (!comma || comma == all || !comma[1]) {
        ERR(p, o->val_at, "reference: expected 'system,id' (e.g. url,example.com/info)");
        return -1;
    }
    *comma = '\0';
    char *id = comma + 1;
    while (blank(*id))
        id++;
    char *end = comma;
    while (end > all && blank(end[-1]))
        *--end = '\0';
    if (ro->n_ref < MAX_OPTS) {
        ro->refs[ro->n_ref].key = all;
        ro->refs[ro->n_ref].value = id;
        ro->n_ref++;
    }
    return 0;
}

typedef int (*kw_parse_fn)(const char *s, void *out, size_t *bad_at, ef_err_t *err);

static int opt_early(parse_t *p, const opt_t *o, const char *name, kw_parse_fn fn, void *out)
{
    if (check_quotes(p, o, name) < 0)
        return -1;
    char *v = strndup(p->t + o->val_at, o->val_len);
    if (!v)
        return -1;
    ef_err_t err;
    size_t bad = 0;
    int rc = fn(v, out, &bad, &err);
    free(v);
    if (rc < 0)
        ERR(p, o->val_at + bad, "%s: %s", name, err.msg);
    return rc;
}

static int k_parse_adapter(const char *s, void *out, size_t *bad_at, ef_err_t *err)
{
    return ef_rule_k_parse(s, out, bad_at, err);
}
static int label_parse_adapter(const char *s, void *out, size_t *bad_at, ef_err_t *err)
{
    return ef_label_match_parse(s, out, bad_at, err);
}
static int score_parse_adapter(const char *s, void *out, size_t *bad_at, ef_err_t *err)
{
    return ef_score_match_parse(s, out, bad_at, err);
}

static int dup_option(parse_t *p, const opt_t *o, int *seen)
{
    if (*seen) {
        ERR(p, o->name_at, "duplicate '%.*s' option", (int)o->name_len, p->t + o->name_at);
        return 1;
    }
    *seen = 1;
    return 0;
}

/* Find the sid before anything else so every message can name the rule:
 * a plain text search for "sid:" + digits (the options may not parse). */
static void prescan_sid(parse_t *p)
{
    const char *t = p->t;
    int quoted = 0;
    for (size_t i = 0; i + 4 <= p->n; i++) {
        if (t[i] == '\\') {
            i++;
            continue;
        }
        if (t[i] == '"')
            quoted = !quoted;
        if (quoted || strncasecmp(t + i, "sid", 3) || (i > 0 && is_name_char(t[i - 1])))
            continue;
        size_t j = skip_ws(p, i + 3);
        if (j >= p->n || t[j] != ':')
            continue;
        j = skip_ws(p, j + 1);
        size_t d = j;
        while (d < p->n && t[d] >= '0' && t[d] <= '9')
            d++;
        uint32_t v;
        if (parse_u32(t + j, d - j, &v) == 0 && v > 0) {
            p->sid = v;
            p->have_sid = 1;
        }
        return;
    }
}

static int process_options(parse_t *p, ef_rule_t *r, ropts_t *ro)
{
    for (int i = 0; i < p->n_opts; i++) {
        const opt_t *o = &p->opts[i];
        int rc = 0;
        static const char *const known[] = {"msg", "sid", "rev", "gid", "classtype", "priority",
                                            "metadata", "reference", "early.label",
                                            "early.score", "early.k"};
        int is_known = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            is_known |= opt_is(p, o, known[k]);
        if (!is_known) {
            ERR(p, o->name_at,
                "unsupported keyword '%.*s' (earlyflow matches only on flow header and early.*)",
                (int)o->name_len, p->t + o->name_at);
            continue;
        }
        if (!o->has_value || o->val_len == 0) {
            ERR(p, o->name_at, "option '%.*s' needs a value ('%.*s:VALUE;')", (int)o->name_len,
                p->t + o->name_at, (int)o->name_len, p->t + o->name_at);
            continue;
        }
        if (opt_is(p, o, "msg")) {
            if (!dup_option(p, o, &ro->has_msg))
                rc = opt_msg(p, o, ro);
        } else if (opt_is(p, o, "sid")) {
            if (!dup_option(p, o, &ro->has_sid))
                rc = opt_uint(p, o, "sid", 1, &r->sid);
        } else if (opt_is(p, o, "rev")) {
            if (!dup_option(p, o, &ro->has_rev))
                rc = opt_uint(p, o, "rev", 1, &r->rev);
        } else if (opt_is(p, o, "gid")) {
            if (!dup_option(p, o, &ro->has_gid))
                rc = opt_uint(p, o, "gid", 0, &r->gid);
        } else if (opt_is(p, o, "priority")) {
            if (!dup_option(p, o, &ro->has_priority))
                rc = opt_uint(p, o, "priority", 0, &ro->priority);
            if (rc == 0 && ro->priority > 255) {
                ERR(p, o->val_at, "priority: expected 0-255, got %u", ro->priority);
                rc = -1;
            }
        } else if (opt_is(p, o, "classtype")) {
            int seen = ro->classtype != NULL;
            if (!dup_option(p, o, &seen))
                rc = opt_classtype(p, o, ro);
        } else if (opt_is(p, o, "metadata")) {
            rc = opt_metadata(p, o, ro);
        } else if (opt_is(p, o, "reference")) {
            rc = opt_reference(p, o, ro);
        } else if (opt_is(p, o, "early.k")) {
            if (!dup_option(p, o, &ro->has_k))
                rc = opt_early(p, o, "early.k", k_parse_adapter, &r->k);
        } else if (opt_is(p, o, "early.label")) {
            if (!dup_option(p, o, &ro->has_label))
                rc = opt_early(p, o, "early.label", label_parse_adapter, &r->label);
        } else if (opt_is(p, o, "early.score")) {
            if (!dup_option(p, o, &ro->has_score))
                rc = opt_early(p, o, "early.score", score_parse_adapter, &r->score);
        }
        (void)rc; /* errors were reported and counted in p->errors */
    }
    return p->errors ? -1 : 0;
}

/* ---- building the slot -------------------------------------------------------------- */

static const char *intern_file(ef_ruleset_t *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_files; i++)
        if (!strcmp(rs->files[i], name))
            return rs->files[i];
    char **v = realloc(rs->files, (rs->n_files + 1) * sizeof *v);
    if (!v)
        return NULL;
    rs->files = v;
    v[rs->n_files] = strdup(name);
    if (!v[rs->n_files])
        return NULL;
    return v[rs->n_files++];
}

void ef_rule_slot_free(ef_rule_slot_t *s)
{
    if (!s)
        return;
    free(s->strings);
    free(s->kv);
    free(s);
}

/* Copy the rule's strings into one block the slot owns. */
static ef_rule_slot_t *make_slot(const ef_rule_t *r, const struct ef_rule_match_data *m,
                                 const ropts_t *ro, const char *category)
{
    size_t need = 0;
    const char *strs[3] = {ro->msg ? ro->msg : "", ro->classtype, category ? category : ""};
    for (int i = 0; i < 3; i++)
        need += strs[i] ? strlen(strs[i]) + 1 : 0;
    for (size_t i = 0; i < ro->n_meta; i++)
        need += strlen(ro->meta[i].key) + strlen(ro->meta[i].value) + 2;
    for (size_t i = 0; i < ro->n_ref; i++)
        need += strlen(ro->refs[i].key) + strlen(ro->refs[i].value) + 2;
    ef_rule_slot_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->strings = malloc(need);
    size_t nkv = ro->n_meta + ro->n_ref;
    s->kv = nkv ? calloc(nkv, sizeof *s->kv) : NULL;
    if (!s->strings || (nkv && !s->kv)) {
        ef_rule_slot_free(s);
        return NULL;
    }
    char *w = s->strings;
#define PUT(dst, src)                                                                              \
    do {                                                                                           \
        size_t l_ = strlen(src) + 1;                                                               \
        memcpy(w, (src), l_);                                                                      \
        (dst) = w;                                                                                 \
        w += l_;                                                                                   \
    } while (0)
    s->rule = *r;
    PUT(s->rule.msg, strs[0]);
    s->rule.classtype = NULL;
    if (strs[1])
        PUT(s->rule.classtype, strs[1]);
    PUT(s->rule.category, strs[2]);
    for (size_t i = 0; i < ro->n_meta; i++) {
        PUT(s->kv[i].key, ro->meta[i].key);
        PUT(s->kv[i].value, ro->meta[i].value);
    }
    for (size_t i = 0; i < ro->n_ref; i++) {
        PUT(s->kv[ro->n_meta + i].key, ro->refs[i].key);
        PUT(s->kv[ro->n_meta + i].value, ro->refs[i].value);
    }
#undef PUT
    s->rule.n_metadata = ro->n_meta;
    s->rule.metadata = ro->n_meta ? s->kv : NULL;
    s->rule.n_references = ro->n_ref;
    s->rule.references = ro->n_ref ? s->kv + ro->n_meta : NULL;
    s->match = *m;
    s->rule.m_ = &s->match;
    return s;
}

static int push_slot(ef_ruleset_t *rs, ef_rule_slot_t *s)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        ef_rule_slot_t **v = realloc(rs->slots, cap * sizeof *v);
        if (!v)
            return -1;
        rs->slots = v;
        rs->cap = cap;
    }
    rs->slots[rs->n++] = s;
    return 0;
}

/* ---- duplicate sids ---------------------------------------------------------------- */

static uint64_t id_key(uint32_t gid, uint32_t sid)
{
    return ((uint64_t)gid << 32 | sid) + 1; /* 0 marks an empty slot */
}

static size_t id_probe(const ef_ruleset_t *rs, uint64_t key)
{
    size_t mask = rs->ids_cap - 1, i = (size_t)(key * 0x9E3779B97F4A7C15ull) & mask;
    while (rs->ids[2 * i] && rs->ids[2 * i] != key)
        i = (i + 1) & mask;
    return i;
}

/* Returns the index + 1 of the slot already holding (gid, sid), or 0. */
static size_t id_find(const ef_ruleset_t *rs, uint32_t gid, uint32_t sid)
{
    if (!rs->ids_cap)
        return 0;
    size_t i = id_probe(rs, id_key(gid, sid));
    return rs->ids[2 * i] ? (size_t)rs->ids[2 * i + 1] : 0;
}

static int id_add(ef_ruleset_t *rs, uint32_t gid, uint32_t sid, size_t slot_plus1)
{
    if ((rs->ids_n + 1) * 2 > rs->ids_cap) {
        size_t cap = rs->ids_cap ? rs->ids_cap * 2 : 256;
        uint64_t *old = rs->ids;
        size_t old_cap = rs->ids_cap;
        rs->ids = calloc(cap * 2, sizeof *rs->ids);
        if (!rs->ids) {
            rs->ids = old;
            return -1;
        }
        rs->ids_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[2 * i]) {
                size_t j = id_probe(rs, old[2 * i]);
                rs->ids[2 * j] = old[2 * i];
                rs->ids[2 * j + 1] = old[2 * i + 1];
            }
        free(old);
    }
    size_t i = id_probe(rs, id_key(gid, sid));
    rs->ids[2 * i] = id_key(gid, sid);
    rs->ids[2 * i + 1] = slot_plus1;
    rs->ids_n++;
    return 0;
}

/* ---- one rule ------------------------------------------------------------------------- */

/* Reject control characters and non-ASCII bytes, as Suricata does. */
static int check_bytes(parse_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        unsigned char c = (unsigned char)p->t[i];
        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            ERR(p, i, "byte 0x%02x is not allowed in a rule (Suricata accepts printable ASCII "
                      "and tabs only)", c);
            return -1;
        }
    }
    return 0;
}

/* Parse one logical rule; returns -1 only when out of memory. */
static int parse_rule(ef_ruleset_t *rs, const char *file, const ef_logical_rule_t *lg)
{
    parse_t *p = calloc(1, sizeof *p);
    ropts_t *ro = calloc(1, sizeof *ro);
    if (!p || !ro) {
        free(p);
        free(ro);
        return -1;
    }
    p->rs = rs;
    p->file = file;
    p->lg = lg;
    p->t = lg->text;
    p->n = lg->len;
    int oom = 0;
    ef_rule_t r = {0};
    struct ef_rule_match_data m = {0};
    r.gid = 1;
    r.k = rs->default_k;
    r.label.mask = ~0u;
    r.score.op = EF_SCORE_ANY;
    r.file = file;
    r.line = lg->first_line;
    int portless = 0, ports_given = 0;

    if (lg->too_long) {
        /* the text was not kept: locate by the rule's first line */
        char msg[128];
        snprintf(msg, sizeof msg, "rule: rule longer than %d bytes (Suricata's limit)",
                 EF_RULE_MAX_LEN);
        p->errors++;
        emit(rs, EF_DIAG_ERROR, file, lg->first_line, 1, msg);
        goto done;
    }
    prescan_sid(p);
    if (check_bytes(p) < 0)
        goto done;
    size_t opt_start = parse_header(p, &r, &m, &portless, &ports_given);
    if (!opt_start)
        goto done;
    /* options are split even if the sid is unknown, so errors can name it */
    if (split_options(p, opt_start) < 0)
        goto done;
    process_options(p, &r, ro);
    if (!ro->has_sid)
        ERR(p, 0, "rule has no sid (every rule needs 'sid:N;')");
    if (p->errors)
        goto done;

    size_t first = id_find(rs, r.gid, r.sid);
    if (first) {
        const ef_rule_t *o = &rs->slots[first - 1]->rule;
        ERR(p, 0, "duplicate sid %u (gid %u) - first defined at %s:%d; this rule is skipped",
            r.sid, r.gid, o->file, o->line);
        goto done;
    }
    const char *category = "";
    uint32_t prio = EF_DEFAULT_PRIORITY;
    if (ro->classtype) {
        const ef_classtype_t *ct = ef_classification_find(rs->opts.classes, ro->classtype);
        if (ct) {
            category = ct->description;
            prio = (uint32_t)ct->priority;
        } else {
            category = EF_UNKNOWN_CLASSTYPE_DESCRIPTION;
            WARN(p, 0, "unknown classtype '%s': category \"%s\", priority %d (as Suricata)",
                 ro->classtype, EF_UNKNOWN_CLASSTYPE_DESCRIPTION, EF_DEFAULT_PRIORITY);
        }
    }
    r.priority = ro->has_priority ? ro->priority : prio;
    r.has_early = ro->has_k || ro->has_label || ro->has_score;
    if (!r.has_early)
        WARN(p, 0, "no early.* keyword: matches every verdict at k=%d (in Suricata it would "
                   "match every packet)", r.k);
    if (portless && ports_given)
        WARN(p, 0, "ports are ignored for icmp (only TCP, UDP and SCTP flows have ports)");
    if (lg->indented)
        WARN(p, 0, "the rule's line starts with a blank: Suricata silently ignores such lines");

    ef_rule_slot_t *s = make_slot(&r, &m, ro, category);
    if (!s || push_slot(rs, s) < 0 || id_add(rs, r.gid, r.sid, rs->n) < 0) {
        if (s && (rs->n == 0 || rs->slots[rs->n - 1] != s))
            ef_rule_slot_free(s);
        oom = 1;
        goto done;
    }
    rs->counts.loaded++;
done:
    if (p->errors)
        rs->counts.skipped++;
    ropts_free(ro);
    free(ro);
    free(p);
    return oom ? -1 : 0;
}

typedef struct load_ctx {
    ef_ruleset_t *rs;
    const char *file;
} load_ctx_t;

static int on_rule(void *user, const ef_logical_rule_t *lg)
{
    load_ctx_t *lc = user;
    return parse_rule(lc->rs, lc->file, lg);
}

static int load(ef_ruleset_t *rs, const char *name, FILE *f, const char *text, size_t len,
                ef_err_t *err)
{
    if (rs->finalized)
        return ef_err_set(err, "%s: ruleset already finalized", name);
    load_ctx_t lc = {rs, intern_file(rs, name)};
    if (!lc.file)
        return ef_err_set(err, "%s: out of memory", name);
    return ef_rules_read(name, f, text, len, on_rule, &lc, err);
}

int ef_ruleset_add_file(ef_ruleset_t *rs, const char *path, ef_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ef_err_set(err, "%s: cannot open rules file: %s", path, strerror(errno));
    int rc = load(rs, path, f, NULL, 0, err);
    fclose(f);
    return rc;
}

int ef_ruleset_add_string(ef_ruleset_t *rs, const char *name, const char *text, size_t len,
                          ef_err_t *err)
{
    return load(rs, name, NULL, text, len, err);
}

/* ---- ruleset life cycle ------------------------------------------------------------------ */

ef_ruleset_t *ef_ruleset_new(const ef_rules_opts_t *opts, ef_err_t *err)
{
    ef_ruleset_t *rs = calloc(1, sizeof *rs);
    if (!rs) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    if (opts)
        rs->opts = *opts;
    rs->default_k = 5;
    if (rs->opts.config && rs->opts.config->earlyflow.n_k > 0)
        rs->default_k = rs->opts.config->earlyflow.k[0];
    if (rs->opts.default_k) {
        int k = rs->opts.default_k;
        if (k != 3 && k != 5 && k != 10 && k != 20) {
            ef_err_set(err, "default early.k must be 3, 5, 10 or 20, got %d", k);
            free(rs);
            return NULL;
        }
        rs->default_k = k;
    }
    rs->expr = ef_expr_ctx_new(rs->opts.config);
    if (!rs->expr) {
        free(rs);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    return rs;
}

void ef_ruleset_free(ef_ruleset_t *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        ef_rule_slot_free(rs->slots[i]);
    free(rs->slots);
    for (size_t i = 0; i < rs->n_files; i++)
        free(rs->files[i]);
    free(rs->files);
    free(rs->ids);
    free(rs->order);
    free(rs->idx_pool);
    ef_expr_ctx_free(rs->expr);
    free(rs);
}

const ef_rules_counts_t *ef_ruleset_counts(const ef_ruleset_t *rs)
{
    return &rs->counts;
}

/* ---- variables ---------------------------------------------------------------------------- */

typedef struct var_report {
    const ef_config_t *cfg;
    ef_diag_fn diag;
    void *user;
} var_report_t;

static void report_var(void *user, ef_domain_t dom, const char *name, int line, int col,
                       const char *msg)
{
    var_report_t *vr = user;
    if (!vr->diag)
        return;
    char full[EF_ERR_MSG_MAX + 64];
    /* messages about a variable itself already start with "in $NAME" */
    if (!strncmp(msg, "in $", 4))
        snprintf(full, sizeof full, "%s", msg);
    else
        snprintf(full, sizeof full, "%s.%s: %s",
                 dom == EF_DOM_ADDR ? "vars.address-groups" : "vars.port-groups", name, msg);
    ef_diag_t d = {EF_DIAG_ERROR, ef_config_path(vr->cfg), line, col, full};
    vr->diag(vr->user, &d);
}

int ef_rules_check_vars(const ef_config_t *config, ef_diag_fn diag, void *user)
{
    if (!config)
        return 0;
    ef_expr_ctx_t *c = ef_expr_ctx_new(config);
    if (!c)
        return -1;
    var_report_t vr = {config, diag, user};
    int bad = ef_expr_check_vars(c, report_var, &vr);
    ef_expr_ctx_free(c);
    return bad;
}
