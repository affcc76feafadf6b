/* EVE JSON writer: building one event line, and writing whole lines. */
#include "ids/eve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "util/clock.h"

/* ---- line builder -------------------------------------------------------------------- */

#define JB_INLINE 4096
#define JB_MAX_DEPTH 16

/* One JSON line under construction. Small lines stay in the inline buffer;
 * larger ones move to the heap. Commas are tracked per nesting level. */
typedef struct jb {
    char *p;
    size_t len, cap;
    int oom;
    int depth;
    unsigned char need_comma[JB_MAX_DEPTH];
    locale_t c_locale;
    char small[JB_INLINE];
} jb_t;

static void jb_init(jb_t *b, locale_t loc)
{
    b->p = b->small;
    b->len = 0;
    b->cap = sizeof b->small;
    b->oom = 0;
    b->depth = 0;
    b->c_locale = loc;
}

static void jb_release(jb_t *b)
{
    if (b->p != b->small)
        free(b->p);
}

static int jb_reserve(jb_t *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap * 2;
    while (cap < b->len + n)
        cap *= 2;
    char *np = b->p == b->small ? malloc(cap) : realloc(b->p, cap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    if (b->p == b->small)
        memcpy(np, b->small, b->len);
    b->p = np;
    b->cap = cap;
    return 0;
}

static inline void jb_raw(jb_t *b, const char *s, size_t n)
{
    if (b->len + n <= b->cap || jb_reserve(b, n) == 0) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

/* Decimal digits of v into the end of buf; returns the first digit. */
static char *u64_digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void jb_lit(jb_t *b, const char *s)
{
    jb_raw(b, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range or a surrogate */
    return n;
}

/* A JSON string: quotes, backslash and control characters escaped, valid
 * UTF-8 copied, every invalid byte replaced by U+FFFD. */
static void jb_str(jb_t *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    jb_raw(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            jb_raw(b, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            jb_raw(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            const char *short_esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                                  : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (short_esc) {
                jb_raw(b, short_esc, 2);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                jb_raw(b, esc, 6);
            }
            i++;
        } else {
            size_t len = utf8_seq(s + i, n - i);
            if (len) {
                jb_raw(b, (const char *)s + i, len);
                i += len;
            } else {
                jb_raw(b, "\\ufffd", 6);
                i++;
            }
        }
    }
    jb_raw(b, "\"", 1);
}

static void jb_sep(jb_t *b)
{
    if (b->depth > 0 && b->need_comma[b->depth - 1])
        jb_raw(b, ",", 1);
    if (b->depth > 0)
        b->need_comma[b->depth - 1] = 1;
}

static void jb_key(jb_t *b, const char *key)
{
    jb_sep(b);
    jb_str(b, key);
    jb_raw(b, ":", 1);
}

static void jb_open(jb_t *b, const char *key, char bracket)
{
    if (key)
        jb_key(b, key);
    else
        jb_sep(b);
    jb_raw(b, &bracket, 1);
    if (b->depth < JB_MAX_DEPTH)
        b->need_comma[b->depth] = 0;
    b->depth++;
}

static void jb_close(jb_t *b, char bracket)
{
    jb_raw(b, &bracket, 1);
    b->depth--;
}

static void jb_u64(jb_t *b, const char *key, uint64_t v)
{
    char num[24], *end = num + sizeof num;
    char *d = u64_digits(v, end);
    if (key)
        jb_key(b, key);
    else
        jb_sep(b);
    jb_raw(b, d, (size_t)(end - d));
}

/* The 6 significant digits of v * 10^(5-exp10), trailing zeros dropped;
 * returns the digit count, or 0 when rounding carries into a 7th digit. */
static int digits6(double v, double scale, char d[6])
{
    uint32_t m = (uint32_t)(v * scale + 0.5);
    if (m >= 1000000u || m < 100000u)
        return 0;
    for (int i = 5; i >= 0; i--) {
        d[i] = (char)('0' + m % 10u);
        m /= 10u;
    }
    int nd = 6;
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    return nd;
}

/* %.6g for 0, 1 and 1e-99 <= v < 1 (probabilities and scores, the bulk of
 * every early event; a confident model gives many below 1e-10) without
 * snprintf: fixed notation down to 1e-4, scientific below with two exponent
 * digits, as %.6g does. Returns the length, or 0 when v is outside that
 * range or rounds up to the next power of ten (snprintf then decides). The
 * last digit can differ from glibc's for values within rounding error of a
 * halfway point (the scaling is not exact); the printed value is then still
 * within one unit of its 6th digit. */
static int fmt_prob6(double v, char *out)
{
    static const double pow10[17] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
                                     1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
    if ((v == 0.0 && !signbit(v)) || v == 1.0) {
        out[0] = v == 0.0 ? '0' : '1';
        return 1;
    }
    if (!(v >= 1e-99 && v < 1.0))
        return 0;
    int shift = 0; /* bring v into [1e-10, 1): 1e10 is exact, each step rounds once */
    while (v < 1e-10) {
        v *= 1e10;
        shift += 10;
    }
    int e = 1; /* v = 0.d... * 10^-(e-1), i.e. the first digit is at 10^-e */
    while (e < 10 && v < 1.0 / pow10[e])
        e++;
    char d[6];
    int nd = digits6(v, pow10[e + 5], d);
    if (nd == 0)
        return 0;
    e += shift;
    int n = 0;
    if (e <= 4) { /* 0.000ddd */
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 1; i < e; i++)
            out[n++] = '0';
        memcpy(out + n, d, (size_t)nd);
        return n + nd;
    }
    out[n++] = d[0]; /* d.ddddde-XX */
    if (nd > 1) {
        out[n++] = '.';
        memcpy(out + n, d + 1, (size_t)(nd - 1));
        n += nd - 1;
    }
    out[n++] = 'e';
    out[n++] = '-';
    out[n++] = (char)('0' + e / 10);
    out[n++] = (char)('0' + e % 10);
    return n;
}

/* Shortest-ish decimal with 6 significant digits (%.6g), in the C locale
 * whatever the process locale is; NaN and infinities become null. */
static void jb_f64(jb_t *b, const char *key, double v)
{
    if (key)
        jb_key(b, key);
    else
        jb_sep(b);
    if (!isfinite(v)) {
        jb_lit(b, "null");
        return;
    }
    char num[40];
    int n = fmt_prob6(v, num);
    if (n == 0) {
        locale_t old = b->c_locale ? uselocale(b->c_locale) : (locale_t)0;
        n = snprintf(num, sizeof num, "%.6g", v);
        if (b->c_locale)
            uselocale(old);
    }
    jb_raw(b, num, (size_t)n);
}

static void jb_strkv(jb_t *b, const char *key, const char *v)
{
    jb_key(b, key);
    jb_str(b, v);
}

static void jb_bool(jb_t *b, const char *key, int v)
{
    jb_key(b, key);
    jb_lit(b, v ? "true" : "false");
}

/* ---- header fields ------------------------------------------------------------------------ */

void ef_eve_timestamp(uint64_t ts_us, char *buf, size_t len)
{
    time_t secs = (time_t)(ts_us / 1000000u);
    unsigned usec = (unsigned)(ts_us % 1000000u);
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, len, "ts-error");
        return;
    }
    long long year = (long long)tm.tm_year + 1900;
    if (year < 0 || year > 9999 || len < 32) {
        snprintf(buf, len, "ts-error");
        return;
    }
    /* fixed layout, written digit by digit (this runs for every event) */
    char t[32] = "YYYY-MM-DDTHH:MM:SS.uuuuuu+0000";
    const struct {
        int pos, width;
        long long v;
    } f[] = {{0, 4, year},       {5, 2, tm.tm_mon + 1}, {8, 2, tm.tm_mday}, {11, 2, tm.tm_hour},
             {14, 2, tm.tm_min}, {17, 2, tm.tm_sec},    {20, 6, usec}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        long long v = f[i].v;
        for (int k = f[i].width - 1; k >= 0; k--, v /= 10)
            t[f[i].pos + k] = (char)('0' + v % 10);
    }
    memcpy(buf, t, 32);
}

const char *ef_eve_proto_name(uint8_t proto)
{
    /* The names Suricata's EVE prints for the protocols a sensor commonly
     * sees (its table follows IANA's keywords). */
    switch (proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 4: return "IP-in-IP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 41: return "IPv6";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "IPv6-ICMP";
    case 89: return "OSPF";
    case 103: return "PIM";
    case 112: return "VRRP";
    case 132: return "SCTP";
    case 136: return "UDPLite";
    default: return NULL;
    }
}

static int proto_has_ports(uint8_t p)
{
    return p == 6 || p == 17 || p == 132;
}

/* Suricata's flow ids are reduced to 51 bits so JSON readers that use
 * doubles keep them exact. */
#define EVE_FLOW_ID_MASK ((1ull << 51) - 1)

static void jb_header(jb_t *b, const ef_eve_flow_t *f, uint64_t ts_us, const char *type)
{
    char ts[64], ip[INET6_ADDRSTRLEN];
    ef_eve_timestamp(ts_us, ts, sizeof ts);
    jb_open(b, NULL, '{');
    jb_strkv(b, "timestamp", ts);
    if (f)
        jb_u64(b, "flow_id", f->flow_id & EVE_FLOW_ID_MASK);
    if (f && f->in_iface)
        jb_strkv(b, "in_iface", f->in_iface);
    jb_strkv(b, "event_type", type);
    if (!f)
        return;
    if (f->n_vlan > 0) {
        jb_open(b, "vlan", '[');
        for (int i = 0; i < f->n_vlan && i < 2; i++)
            jb_u64(b, NULL, f->vlan[i]);
        jb_close(b, ']');
    }
    int af = f->ip_version == 6 ? AF_INET6 : AF_INET;
    int ports = proto_has_ports(f->proto);
    if (f->src_addr && inet_ntop(af, f->src_addr, ip, sizeof ip))
        jb_strkv(b, "src_ip", ip);
    if (ports)
        jb_u64(b, "src_port", f->src_port);
    if (f->dest_addr && inet_ntop(af, f->dest_addr, ip, sizeof ip))
        jb_strkv(b, "dest_ip", ip);
    if (ports)
        jb_u64(b, "dest_port", f->dest_port);
    const char *pn = ef_eve_proto_name(f->proto);
    if (pn) {
        jb_strkv(b, "proto", pn);
    } else {
        char num[8];
        snprintf(num, sizeof num, "%u", f->proto);
        jb_strkv(b, "proto", num);
    }
    if (f->ip_version == 4 || f->ip_version == 6)
        jb_u64(b, "ip_v", f->ip_version);
    if (f->app_proto)
        jb_strkv(b, "app_proto", f->app_proto);
}

static void jb_early(jb_t *b, const ef_verdict_t *v)
{
    jb_open(b, "early", '{');
    jb_strkv(b, "label", v->label);
    jb_f64(b, "score", v->score);
    jb_u64(b, "k", (uint64_t)(v->k > 0 ? v->k : 0));
    jb_u64(b, "packets", (uint64_t)(v->packets > 0 ? v->packets : 0));
    jb_bool(b, "at_flow_end", v->at_flow_end);
    if (v->model)
        jb_strkv(b, "model", v->model);
    if (v->n_classes > 0 && v->class_labels && v->probs) {
        jb_open(b, "probabilities", '{');
        for (int i = 0; i < v->n_classes; i++)
            jb_f64(b, v->class_labels[i] ? v->class_labels[i] : "", v->probs[i]);
        jb_close(b, '}');
    }
    jb_close(b, '}');
}

/* ---- the writer ------------------------------------------------------------------------------ */

#define EVE_BUF (64u * 1024u)

struct ef_eve {
    int fd;
    int owns_fd;
    char *name;
    ef_eve_opts_t opts;
    locale_t c_locale;
    pthread_mutex_t lock;
    char *buf;
    size_t len;
    uint64_t lines, lost;
    int error;             /* errno of the first failed write, sticky */
    char errmsg[EF_ERR_MSG_MAX];
    uint64_t last_write_ns; /* monotonic */
};


ef_eve_t *ef_eve_open_fd(int fd, const char *name, int owns_fd, const ef_eve_opts_t *opts,
                         ef_err_t *err)
{
    ef_eve_t *w = calloc(1, sizeof *w);
    if (!w) {
        ef_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    w->fd = fd;
    w->owns_fd = owns_fd;
    w->name = strdup(name);
    w->buf = malloc(EVE_BUF);
    w->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (opts)
        w->opts = *opts;
    if (!w->opts.flush_every_line_set)
        w->opts.flush_every_line = fd == STDOUT_FILENO;
    if (!w->name || !w->buf || !w->c_locale || pthread_mutex_init(&w->lock, NULL) != 0) {
        ef_err_set(err, "%s: cannot set up the EVE writer", name);
        if (w->c_locale)
            freelocale(w->c_locale);
        free(w->name);
        free(w->buf);
        free(w);
        return NULL;
    }
    w->last_write_ns = ef_mono_ns();
    return w;
}

ef_eve_t *ef_eve_open(const char *path, const ef_eve_opts_t *opts, ef_err_t *err)
{
    if (!strcmp(path, "-"))
        return ef_eve_open_fd(STDOUT_FILENO, "<stdout>", 0, opts, err);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        ef_err_set(err, "%s: cannot open EVE output: %s", path, strerror(errno));
        return NULL;
    }
    ef_eve_t *w = ef_eve_open_fd(fd, path, 1, opts, err);
    if (!w)
        close(fd);
    return w;
}

static size_t count_lines(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += p[i] == '\n';
    return c;
}

/* A write that failed part-way (disk full) cut a line: take the cut part
 * back off a regular file so it still holds complete lines only. Best
 * effort: other files (pipes, devices) cannot be trimmed. */
static void trim_cut_line(ef_eve_t *w, size_t cut)
{
    struct stat st;
    if (fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)cut &&
        ftruncate(w->fd, st.st_size - (off_t)cut) != 0) {
        /* nothing more to do: the error is already reported */
    }
}

/* Write n bytes (whole lines) to the descriptor; sets the sticky error.
 * On failure *lines_done (may be NULL) gets the number of complete lines
 * that were written before it. */
static int write_all(ef_eve_t *w, const char *p, size_t n, size_t *lines_done)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(w->fd, p + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            w->error = r < 0 ? errno : EIO;
            snprintf(w->errmsg, sizeof w->errmsg, "%s: EVE write failed: %s", w->name,
                     strerror(w->error));
            size_t whole = done;
            while (whole > 0 && p[whole - 1] != '\n')
                whole--;
            if (whole < done)
                trim_cut_line(w, done - whole);
            if (lines_done)
                *lines_done = count_lines(p, whole);
            return -1;
        }
        done += (size_t)r;
    }
    w->last_write_ns = ef_mono_ns();
    return 0;
}

/* Caller holds the lock. */
static int flush_locked(ef_eve_t *w)
{
    if (w->error)
        return -1;
    if (w->len == 0)
        return 0;
    size_t written = 0;
    int rc = write_all(w, w->buf, w->len, &written);
    if (rc < 0)
        w->lost += count_lines(w->buf, w->len) - written;
    w->len = 0;
    return rc;
}

static int fail_with(ef_eve_t *w, ef_err_t *err)
{
    ef_err_set(err, "%s (%llu lines lost)", w->errmsg[0] ? w->errmsg : "EVE write failed",
               (unsigned long long)w->lost);
    return -1;
}

/* Append one complete line (without its '\n'). */
static int emit_line(ef_eve_t *w, jb_t *b, ef_err_t *err)
{
    if (b->oom) {
        pthread_mutex_lock(&w->lock);
        w->lost++;
        pthread_mutex_unlock(&w->lock);
        return ef_err_set(err, "%s: out of memory building an EVE line (1 line lost)", w->name);
    }
    jb_raw(b, "\n", 1);
    if (b->oom)
        return ef_err_set(err, "%s: out of memory", w->name);
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    if (w->error) {
        w->lost++;
        rc = -1;
    } else {
        if (w->len + b->len > EVE_BUF)
            rc = flush_locked(w);
        if (rc == 0 && b->len > EVE_BUF) {
            rc = write_all(w, b->p, b->len, NULL);
        } else if (rc == 0) {
            memcpy(w->buf + w->len, b->p, b->len);
            w->len += b->len;
        }
        if (rc < 0) {
            w->lost++;
        } else {
            w->lines++;
            if (w->opts.flush_every_line || ef_mono_ns() - w->last_write_ns >= 1000000000u)
                rc = flush_locked(w);
        }
    }
    if (rc < 0)
        fail_with(w, err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int ef_eve_flush(ef_eve_t *w, ef_err_t *err)
{
    pthread_mutex_lock(&w->lock);
    int rc = flush_locked(w);
    if (rc < 0)
        fail_with(w, err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int ef_eve_close(ef_eve_t *w, ef_err_t *err)
{
    if (!w)
        return 0;
    int rc = ef_eve_flush(w, err);
    if (w->owns_fd && close(w->fd) < 0 && rc == 0) {
        rc = ef_err_set(err, "%s: closing EVE output failed: %s", w->name, strerror(errno));
    }
    pthread_mutex_destroy(&w->lock);
    freelocale(w->c_locale);
    free(w->buf);
    free(w->name);
    free(w);
    return rc;
}

uint64_t ef_eve_lines(const ef_eve_t *w)
{
    return w->lines;
}

uint64_t ef_eve_lost(const ef_eve_t *w)
{
    return w->lost;
}

/* ---- events -------------------------------------------------------------------------------------- */

int ef_eve_early(ef_eve_t *w, const ef_eve_flow_t *f, const ef_verdict_t *v, ef_err_t *err)
{
    jb_t line, *b = &line;
    jb_init(b, w->c_locale);
    jb_header(b, f, f->ts_us, "early");
    jb_early(b, v);
    jb_close(b, '}');
    int rc = emit_line(w, b, err);
    jb_release(b);
    return rc;
}

static const char *alert_action(const ef_eve_t *w, const ef_rule_t *r)
{
    if (w->opts.blocking && (r->action == EF_ACTION_DROP || r->action == EF_ACTION_REJECT))
        return "blocked";
    return "allowed";
}

/* Suricata's layout: "metadata":{"key":["value",...]}, keys in first-seen order. */
static void jb_metadata(jb_t *b, const ef_rule_t *r)
{
    if (!r->n_metadata)
        return;
    jb_open(b, "metadata", '{');
    for (size_t i = 0; i < r->n_metadata; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(r->metadata[j].key, r->metadata[i].key);
        if (seen)
            continue;
        jb_open(b, r->metadata[i].key, '[');
        for (size_t j = i; j < r->n_metadata; j++)
            if (!strcmp(r->metadata[j].key, r->metadata[i].key)) {
                jb_sep(b);
                jb_str(b, r->metadata[j].value);
            }
        jb_close(b, ']');
    }
    jb_close(b, '}');
}

int ef_eve_alert(ef_eve_t *w, const ef_eve_flow_t *f, const ef_verdict_t *v, const ef_rule_t *r,
                 ef_err_t *err)
{
    jb_t line, *b = &line;
    jb_init(b, w->c_locale);
    jb_header(b, f, f->ts_us, "alert");
    jb_open(b, "alert", '{');
    jb_strkv(b, "action", alert_action(w, r));
    jb_u64(b, "gid", r->gid);
    jb_u64(b, "signature_id", r->sid);
    jb_u64(b, "rev", r->rev);
    jb_strkv(b, "signature", r->msg ? r->msg : "");
    jb_strkv(b, "category", r->category ? r->category : "");
    jb_u64(b, "severity", r->priority);
    if (r->n_references) {
        jb_open(b, "references", '[');
        for (size_t i = 0; i < r->n_references; i++) {
            char *ref = NULL;
            if (asprintf(&ref, "%s,%s", r->references[i].key, r->references[i].value) < 0) {
                b->oom = 1;
                break;
            }
            jb_sep(b);
            jb_str(b, ref);
            free(ref);
        }
        jb_close(b, ']');
    }
    jb_metadata(b, r);
    jb_close(b, '}');
    jb_early(b, v);
    jb_close(b, '}');
    int rc = emit_line(w, b, err);
    jb_release(b);
    return rc;
}

int ef_eve_flow(ef_eve_t *w, const ef_eve_flow_t *f, const ef_eve_flow_info_t *info,
                ef_err_t *err)
{
    char ts[64];
    jb_t line, *b = &line;
    jb_init(b, w->c_locale);
    jb_header(b, f, f->ts_us, "flow");
    jb_open(b, "flow", '{');
    jb_u64(b, "pkts_toserver", info->pkts_toserver);
    jb_u64(b, "pkts_toclient", info->pkts_toclient);
    if (info->has_bytes) {
        jb_u64(b, "bytes_toserver", info->bytes_toserver);
        jb_u64(b, "bytes_toclient", info->bytes_toclient);
    }
    ef_eve_timestamp(info->start_us, ts, sizeof ts);
    jb_strkv(b, "start", ts);
    ef_eve_timestamp(info->end_us, ts, sizeof ts);
    jb_strkv(b, "end", ts);
    uint64_t s0 = info->start_us / 1000000u, s1 = info->end_us / 1000000u;
    jb_u64(b, "age", s1 > s0 ? s1 - s0 : 0);
    if (info->state)
        jb_strkv(b, "state", info->state);
    if (info->reason)
        jb_strkv(b, "reason", info->reason);
    jb_bool(b, "alerted", info->alerted);
    jb_close(b, '}');
    jb_close(b, '}');
    int rc = emit_line(w, b, err);
    jb_release(b);
    return rc;
}

/* ---- stats ------------------------------------------------------------------------------------------- */

#define STATS_MAX_DEPTH 8

typedef enum { ST_OBJ = 0, ST_U64, ST_F64 } st_type_t;

typedef struct st_node st_node_t;
/* A stats object keeps its children in insertion order (output order) and,
 * once it has many, an open-addressing index of them by key, so counting
 * alerts for thousands of sids stays O(1) per update. */
#define ST_INDEX_FROM 16

struct st_node {
    char *key;
    st_type_t type;
    uint64_t u;
    double d;
    st_node_t **kids;
    size_t n, cap;
    uint32_t *index;      /* kid number + 1, 0 = empty; NULL below ST_INDEX_FROM */
    size_t index_cap;
};

static uint64_t st_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static int st_index_build(st_node_t *n)
{
    size_t cap = 64;
    while (cap < n->n * 2)
        cap *= 2;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        size_t j = st_hash(n->kids[i]->key, strlen(n->kids[i]->key)) & (cap - 1);
        while (idx[j])
            j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)i + 1;
    }
    free(n->index);
    n->index = idx;
    n->index_cap = cap;
    return 0;
}

struct ef_stats {
    st_node_t root;
};

static void st_free(st_node_t *n)
{
    for (size_t i = 0; i < n->n; i++) {
        st_free(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    free(n->index);
    free(n->key);
}

ef_stats_t *ef_stats_new(void)
{
    return calloc(1, sizeof(ef_stats_t));
}

void ef_stats_free(ef_stats_t *s)
{
    if (!s)
        return;
    st_free(&s->root);
    free(s);
}

static int st_key_is(const st_node_t *c, const char *key, size_t len)
{
    return strlen(c->key) == len && !memcmp(c->key, key, len);
}

static st_node_t *st_child(st_node_t *n, const char *key, size_t len, int create)
{
    if (n->index) {
        size_t mask = n->index_cap - 1;
        for (size_t j = st_hash(key, len) & mask; n->index[j]; j = (j + 1) & mask)
            if (st_key_is(n->kids[n->index[j] - 1], key, len))
                return n->kids[n->index[j] - 1];
    } else {
        for (size_t i = 0; i < n->n; i++)
            if (st_key_is(n->kids[i], key, len))
                return n->kids[i];
    }
    if (!create || n->n >= UINT32_MAX - 1)
        return NULL;
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        st_node_t **k = realloc(n->kids, cap * sizeof *k);
        if (!k)
            return NULL;
        n->kids = k;
        n->cap = cap;
    }
    st_node_t *c = calloc(1, sizeof *c);
    if (!c || !(c->key = strndup(key, len))) {
        free(c);
        return NULL;
    }
    c->type = ST_OBJ;
    n->kids[n->n++] = c;
    if (n->n >= ST_INDEX_FROM && n->n * 2 > n->index_cap) {
        if (st_index_build(n) < 0) {
            /* no index: lookups fall back to the linear scan, still correct */
            free(n->index);
            n->index = NULL;
            n->index_cap = 0;
        }
    } else if (n->index) {
        size_t mask = n->index_cap - 1, j = st_hash(key, len) & mask;
        while (n->index[j])
            j = (j + 1) & mask;
        n->index[j] = (uint32_t)n->n;
    }
    return c;
}

/* The leaf for a path, created (as an untyped node) when asked. */
static st_node_t *st_path(st_node_t *root, const char *path, int create)
{
    st_node_t *n = root;
    int depth = 0;
    const char *p = path;
    if (!path || !*path)
        return NULL;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || ++depth > STATS_MAX_DEPTH || n->type != ST_OBJ)
            return NULL;
        st_node_t *c = st_child(n, p, len, create);
        if (!c)
            return NULL;
        if (!dot)
            return c;
        if (c->type != ST_OBJ)
            return NULL; /* a counter cannot hold children */
        n = c;
        p = dot + 1;
    }
}

static st_node_t *st_leaf(ef_stats_t *s, const char *path, st_type_t type)
{
    st_node_t *n = st_path(&s->root, path, 1);
    if (!n)
        return NULL;
    if (n->type == ST_OBJ && n->n > 0)
        return NULL; /* an object cannot become a counter */
    if (n->type != ST_OBJ && n->type != type)
        return NULL;
    n->type = type;
    return n;
}

int ef_stats_set_u64(ef_stats_t *s, const char *path, uint64_t v)
{
    st_node_t *n = st_leaf(s, path, ST_U64);
    if (!n)
        return -1;
    n->u = v;
    return 0;
}

int ef_stats_add_u64(ef_stats_t *s, const char *path, uint64_t v)
{
    st_node_t *n = st_leaf(s, path, ST_U64);
    if (!n)
        return -1;
    n->u += v;
    return 0;
}

int ef_stats_set_f64(ef_stats_t *s, const char *path, double v)
{
    st_node_t *n = st_leaf(s, path, ST_F64);
    if (!n)
        return -1;
    n->d = v;
    return 0;
}

int ef_stats_get_u64(const ef_stats_t *s, const char *path, uint64_t *v)
{
    st_node_t *n = st_path((st_node_t *)&s->root, path, 0);
    if (!n || n->type != ST_U64)
        return -1;
    *v = n->u;
    return 0;
}

static void jb_stats(jb_t *b, const st_node_t *n)
{
    for (size_t i = 0; i < n->n; i++) {
        const st_node_t *c = n->kids[i];
        if (c->type == ST_U64) {
            jb_u64(b, c->key, c->u);
        } else if (c->type == ST_F64) {
            jb_f64(b, c->key, c->d);
        } else {
            jb_open(b, c->key, '{');
            jb_stats(b, c);
            jb_close(b, '}');
        }
    }
}

int ef_eve_stats(ef_eve_t *w, uint64_t ts_us, const ef_stats_t *s, ef_err_t *err)
{
    jb_t line, *b = &line;
    jb_init(b, w->c_locale);
    jb_header(b, NULL, ts_us, "stats");
    jb_open(b, "stats", '{');
    if (s)
        jb_stats(b, &s->root);
    jb_close(b, '}');
    jb_close(b, '}');
    int rc = emit_line(w, b, err);
    jb_release(b);
    return rc;
}
