/* EVE writer: exact event lines, JSON validity and escaping, numbers in any
 * locale, whole-line output, write errors (/dev/full, closed fd) and
 * concurrent writers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eftest.h"
#include "ids/eve.h"
#include "ids/rules.h"

/* ---- a small JSON validator -----------------------------------------------------
 * Strict RFC 8259 grammar; strings are decoded (escapes and \u sequences,
 * including surrogate pairs) so tests can compare what a reader would get. */
typedef struct jv {
    const char *s;
    size_t i, n;
    int depth;
} jv_t;

static int jv_value(jv_t *p);

static void jv_ws(jv_t *p)
{
    while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
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

static void put_utf8(char *out, size_t *w, unsigned cp)
{
    if (cp < 0x80) {
        out[(*w)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*w)++] = (char)(0xc0 | (cp >> 6));
        out[(*w)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*w)++] = (char)(0xe0 | (cp >> 12));
        out[(*w)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*w)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*w)++] = (char)(0xf0 | (cp >> 18));
        out[(*w)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*w)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*w)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* Parse a string at p->i; decoded bytes into out (if not NULL). */
static int jv_string(jv_t *p, char *out, size_t *outlen)
{
    size_t w = 0;
    if (p->i >= p->n || p->s[p->i] != '"')
        return -1;
    p->i++;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"') {
            if (outlen)
                *outlen = w;
            return 0;
        }
        if (c < 0x20)
            return -1; /* raw control characters are invalid */
        if (c != '\\') {
            if (out)
                out[w] = (char)c;
            w++;
            continue;
        }
        if (p->i >= p->n)
            return -1;
        char e = p->s[p->i++];
        const char *simple = "\"\\/bfnrt", *map = "\"\\/\b\f\n\r\t";
        const char *at = strchr(simple, e);
        if (at && e) {
            if (out)
                out[w] = map[at - simple];
            w++;
            continue;
        }
        if (e != 'u' || p->i + 4 > p->n)
            return -1;
        unsigned cp = 0;
        for (int k = 0; k < 4; k++) {
            int h = hexval(p->s[p->i++]);
            if (h < 0)
                return -1;
            cp = cp * 16 + (unsigned)h;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                return -1;
            p->i += 2;
            unsigned lo = 0;
            for (int k = 0; k < 4; k++) {
                int h = hexval(p->s[p->i++]);
                if (h < 0)
                    return -1;
                lo = lo * 16 + (unsigned)h;
            }
            if (lo < 0xdc00 || lo > 0xdfff)
                return -1;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return -1;
        }
        char tmp[4];
        size_t tw = 0;
        put_utf8(tmp, &tw, cp);
        if (out)
            memcpy(out + w, tmp, tw);
        w += tw;
    }
    return -1;
}

static int jv_number(jv_t *p)
{
    size_t st = p->i;
    if (p->i < p->n && p->s[p->i] == '-')
        p->i++;
    if (p->i < p->n && p->s[p->i] == '0')
        p->i++;
    else if (p->i < p->n && p->s[p->i] >= '1' && p->s[p->i] <= '9')
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    else
        return -1;
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        size_t d = p->i;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
        if (p->i == d)
            return -1;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        size_t d = p->i;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
        if (p->i == d)
            return -1;
    }
    return p->i > st ? 0 : -1;
}

static int jv_lit(jv_t *p, const char *lit)
{
    size_t n = strlen(lit);
    if (p->i + n > p->n || strncmp(p->s + p->i, lit, n))
        return -1;
    p->i += n;
    return 0;
}

static int jv_container(jv_t *p, char open, char close)
{
    if (++p->depth > 64)
        return -1;
    p->i++;
    jv_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        p->depth--;
        return 0;
    }
    for (;;) {
        jv_ws(p);
        if (open == '{') {
            if (jv_string(p, NULL, NULL) < 0)
                return -1;
            jv_ws(p);
            if (p->i >= p->n || p->s[p->i++] != ':')
                return -1;
        }
        if (jv_value(p) < 0)
            return -1;
        jv_ws(p);
        if (p->i >= p->n)
            return -1;
        char c = p->s[p->i++];
        if (c == close) {
            p->depth--;
            return 0;
        }
        if (c != ',')
            return -1;
    }
}

static int jv_value(jv_t *p)
{
    jv_ws(p);
    if (p->i >= p->n)
        return -1;
    char c = p->s[p->i];
    if (c == '{')
        return jv_container(p, '{', '}');
    if (c == '[')
        return jv_container(p, '[', ']');
    if (c == '"')
        return jv_string(p, NULL, NULL);
    if (c == 't')
        return jv_lit(p, "true");
    if (c == 'f')
        return jv_lit(p, "false");
    if (c == 'n')
        return jv_lit(p, "null");
    return jv_number(p);
}

/* One complete JSON object, nothing else on the line. */
static int json_valid(const char *s, size_t n)
{
    jv_t p = {s, 0, n, 0};
    jv_ws(&p);
    if (p.i >= n || s[p.i] != '{' || jv_value(&p) < 0)
        return 0;
    jv_ws(&p);
    return p.i == n;
}

/* Decoded value of "key":"..." (first occurrence) into out. */
static int json_string_field(const char *line, const char *key, char *out, size_t *outlen)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *at = strstr(line, pat);
    if (!at)
        return -1;
    jv_t p = {line, (size_t)(at - line) + strlen(pat) - 1, strlen(line), 0};
    return jv_string(&p, out, outlen);
}

/* Every line of a file is valid JSON; returns the number of lines. */
static size_t check_lines(const char *text, size_t len)
{
    size_t lines = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        ck_assert_msg(json_valid(text + start, i - start), "invalid JSON line %zu: %.*s", lines + 1,
                      (int)(i - start > 300 ? 300 : i - start), text + start);
        lines++;
        start = i + 1;
    }
    ck_assert_msg(start == len, "file ends with a partial line");
    return lines;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static const char *labels3[] = {"Unlabeled", "PortScan", "NetworkScan"};
static const float probs3[] = {0.01f, 0.02f, 0.97f};

static ef_verdict_t sample_verdict(void)
{
    ef_verdict_t v = {.label = "NetworkScan", .score = 0.97f, .k = 5, .packets = 5,
                      .at_flow_end = 0, .model = "builtin_k5", .n_classes = 3,
                      .class_labels = labels3, .probs = probs3};
    return v;
}

static uint8_t a4[4] = {10, 0, 0, 1}, b4[4] = {10, 0, 0, 2};

static ef_eve_flow_t sample_flow(void)
{
    ef_eve_flow_t f = {.ts_us = 1796398603123456ull, .flow_id = UINT64_MAX, .ip_version = 4,
                       .proto = 6, .src_port = 40000, .dest_port = 80, .src_addr = a4,
                       .dest_addr = b4};
    return f;
}

typedef struct tmpfile_ {
    char *dir, *path;
} tmpf_t;

static tmpf_t tmp_out(const char *tag)
{
    tmpf_t t;
    t.dir = eft_mkdtemp(tag);
    t.path = eft_path(t.dir, "eve.json");
    return t;
}

static char *slurp(const tmpf_t *t, size_t *len)
{
    char *s = eft_read_file(t->path, len);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void tmp_done(tmpf_t *t)
{
    eft_rmtree(t->dir);
    free(t->dir);
    free(t->path);
}

/* ---- exact events ---------------------------------------------------------------------- */

START_TEST(early_event_exact)
{
    tmpf_t t = tmp_out("eve-early");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    v.at_flow_end = 1;
    v.packets = 2;
    v.n_classes = 0;
    v.model = NULL;
    f.ip_version = 6;
    f.proto = 58;
    uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, d6[16] = {0xfe, 0x80, [15] = 0x22};
    f.src_addr = s6;
    f.dest_addr = d6;
    f.flow_id = 42;
    f.in_iface = "eth0";
    f.app_proto = "failed";
    f.n_vlan = 2;
    f.vlan[0] = 10;
    f.vlan[1] = 20;
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    ck_assert_uint_eq(ef_eve_lines(w), 2);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_str_eq(
        s,
        "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\",\"flow_id\":2251799813685247,"
        "\"event_type\":\"early\",\"src_ip\":\"10.0.0.1\",\"src_port\":40000,"
        "\"dest_ip\":\"10.0.0.2\",\"dest_port\":80,\"proto\":\"TCP\",\"ip_v\":4,"
        "\"early\":{\"label\":\"NetworkScan\",\"score\":0.97,\"k\":5,\"packets\":5,"
        "\"at_flow_end\":false,\"model\":\"builtin_k5\",\"probabilities\":{\"Unlabeled\":0.01,"
        "\"PortScan\":0.02,\"NetworkScan\":0.97}}}\n"
        "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\",\"flow_id\":42,"
        "\"in_iface\":\"eth0\",\"event_type\":\"early\",\"vlan\":[10,20],"
        "\"src_ip\":\"2001:db8::1\",\"dest_ip\":\"fe80::22\",\"proto\":\"IPv6-ICMP\",\"ip_v\":6,"
        "\"app_proto\":\"failed\",\"early\":{\"label\":\"NetworkScan\",\"score\":0.97,\"k\":5,"
        "\"packets\":2,\"at_flow_end\":true}}\n");
    ck_assert_uint_eq(check_lines(s, len), 2);
    free(s);
    tmp_done(&t);
}
END_TEST

static ef_ruleset_t *rules(const char *text)
{
    ef_err_t err;
    ef_ruleset_t *rs = ef_ruleset_new(NULL, &err);
    ck_assert_int_eq(ef_ruleset_add_string(rs, "t.rules", text, strlen(text), &err), 0);
    ck_assert_int_eq(ef_ruleset_finalize(rs, &err), 0);
    return rs;
}

START_TEST(alert_event_exact)
{
    ef_ruleset_t *rs = rules(
        "alert tcp any any -> any any (msg:\"early SYN scan\"; early.label:NetworkScan; "
        "classtype:network-scan; metadata:created_at 2026_01_01, tag a, tag b; "
        "reference:url,example.com/scan; early.k:5; sid:9100001; rev:2;)\n"
        "drop tcp any any -> any any (msg:\"d\"; early.k:5; priority:1; gid:3; sid:7;)\n"
        "reject tcp any any -> any any (early.k:5; sid:8;)\n");
    tmpf_t t = tmp_out("eve-alert");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ef_eve_flow_t f = sample_flow();
    f.proto = 17;
    f.flow_id = 77;
    ef_verdict_t v = sample_verdict();
    v.n_classes = 0;
    const ef_rule_t *alert = NULL, *drop = NULL, *reject = NULL;
    for (size_t i = 0; i < ef_ruleset_count(rs); i++) {
        const ef_rule_t *r = ef_ruleset_rule(rs, i);
        if (r->sid == 9100001)
            alert = r;
        else if (r->sid == 7)
            drop = r;
        else
            reject = r;
    }
    ck_assert_int_eq(ef_eve_alert(w, &f, &v, alert, &err), 0);
    ck_assert_int_eq(ef_eve_alert(w, &f, &v, drop, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    /* a blocking host (IPS) says "blocked" for drop and reject */
    ef_eve_opts_t o = {.blocking = 1};
    w = ef_eve_open(t.path, &o, &err);
    ck_assert_int_eq(ef_eve_alert(w, &f, &v, drop, &err), 0);
    ck_assert_int_eq(ef_eve_alert(w, &f, &v, reject, &err), 0);
    ck_assert_int_eq(ef_eve_alert(w, &f, &v, alert, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);

    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 5);
    const char *head = "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\",\"flow_id\":77,"
                       "\"event_type\":\"alert\",\"src_ip\":\"10.0.0.1\",\"src_port\":40000,"
                       "\"dest_ip\":\"10.0.0.2\",\"dest_port\":80,\"proto\":\"UDP\",\"ip_v\":4,";
    const char *early = "\"early\":{\"label\":\"NetworkScan\",\"score\":0.97,\"k\":5,"
                        "\"packets\":5,\"at_flow_end\":false,\"model\":\"builtin_k5\"}}\n";
    char want[4096];
    snprintf(want, sizeof want,
             "%s\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":9100001,\"rev\":2,"
             "\"signature\":\"early SYN scan\",\"category\":\"Detection of a Network Scan\","
             "\"severity\":3,\"references\":[\"url,example.com/scan\"],\"metadata\":{"
             "\"created_at\":[\"2026_01_01\"],\"tag\":[\"a\",\"b\"]}},%s"
             "%s\"alert\":{\"action\":\"allowed\",\"gid\":3,\"signature_id\":7,\"rev\":0,"
             "\"signature\":\"d\",\"category\":\"\",\"severity\":1},%s"
             "%s\"alert\":{\"action\":\"blocked\",\"gid\":3,\"signature_id\":7,\"rev\":0,"
             "\"signature\":\"d\",\"category\":\"\",\"severity\":1},%s"
             "%s\"alert\":{\"action\":\"blocked\",\"gid\":1,\"signature_id\":8,\"rev\":0,"
             "\"signature\":\"\",\"category\":\"\",\"severity\":3},%s",
             head, early, head, early, head, early, head, early);
    ck_assert_int_eq(strncmp(s, want, strlen(want)), 0);
    ck_assert_msg(strstr(s + strlen(want), "\"action\":\"allowed\",\"gid\":1,\"signature_id\":"
                                            "9100001") != NULL, "alert stays allowed");
    free(s);
    tmp_done(&t);
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(flow_and_stats_events)
{
    tmpf_t t = tmp_out("eve-stats");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ef_eve_flow_t f = sample_flow();
    f.proto = 47; /* GRE: no ports */
    ef_eve_flow_info_t info = {.pkts_toserver = 3, .pkts_toclient = 2, .bytes_toserver = 300,
                               .bytes_toclient = 200, .has_bytes = 1,
                               .start_us = 1796398600000001ull, .end_us = 1796398603123456ull,
                               .state = "established", .reason = "timeout", .alerted = 1};
    ck_assert_int_eq(ef_eve_flow(w, &f, &info, &err), 0);
    f.proto = 99;
    info.has_bytes = 0;
    info.alerted = 0;
    info.state = NULL;
    ck_assert_int_eq(ef_eve_flow(w, &f, &info, &err), 0);

    ef_stats_t *st = ef_stats_new();
    ck_assert_int_eq(ef_stats_set_u64(st, "packets", 1000), 0);
    ck_assert_int_eq(ef_stats_add_u64(st, "verdicts.NetworkScan", 2), 0);
    ck_assert_int_eq(ef_stats_add_u64(st, "verdicts.Unlabeled", 5), 0);
    ck_assert_int_eq(ef_stats_add_u64(st, "verdicts.NetworkScan", 3), 0);
    ck_assert_int_eq(ef_stats_set_u64(st, "alerts.9100001", 4), 0);
    ck_assert_int_eq(ef_stats_set_f64(st, "rate.packets_per_s", 1234.5), 0);
    ck_assert_int_eq(ef_stats_set_f64(st, "rate.bad", NAN), 0);
    ck_assert_int_eq(ef_stats_set_f64(st, "rate.inf", INFINITY), 0);
    ck_assert_int_eq(ef_stats_set_u64(st, "flow.evicted", 0), 0);
    /* refused: a counter cannot become an object and the reverse */
    ck_assert_int_eq(ef_stats_set_u64(st, "packets.x", 1), -1);
    ck_assert_int_eq(ef_stats_set_u64(st, "verdicts", 1), -1);
    ck_assert_int_eq(ef_stats_set_f64(st, "packets", 1), -1);
    ck_assert_int_eq(ef_stats_set_u64(st, "a..b", 1), -1);
    ck_assert_int_eq(ef_stats_set_u64(st, "", 1), -1);
    ck_assert_int_eq(ef_stats_set_u64(st, "a.b.c.d.e.f.g.h.i", 1), -1);
    ck_assert_int_eq(ef_stats_set_u64(st, "a.b.c.d.e.f.g.h", 1), 0);
    uint64_t got;
    ck_assert_int_eq(ef_stats_get_u64(st, "verdicts.NetworkScan", &got), 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(ef_stats_get_u64(st, "verdicts", &got), -1);
    ck_assert_int_eq(ef_stats_get_u64(st, "nope", &got), -1);
    ck_assert_int_eq(ef_eve_stats(w, 1796398603123456ull, st, &err), 0);
    ck_assert_int_eq(ef_eve_stats(w, 0, NULL, &err), 0);
    ef_stats_free(st);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);

    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 4);
    ck_assert_str_eq(
        s,
        "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\",\"flow_id\":2251799813685247,"
        "\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\","
        "\"proto\":\"GRE\",\"ip_v\":4,\"flow\":{\"pkts_toserver\":3,\"pkts_toclient\":2,"
        "\"bytes_toserver\":300,\"bytes_toclient\":200,"
        "\"start\":\"2026-12-04T15:36:40.000001+0000\","
        "\"end\":\"2026-12-04T15:36:43.123456+0000\",\"age\":3,\"state\":\"established\","
        "\"reason\":\"timeout\",\"alerted\":true}}\n"
        "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\",\"flow_id\":2251799813685247,"
        "\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\","
        "\"proto\":\"99\",\"ip_v\":4,\"flow\":{\"pkts_toserver\":3,\"pkts_toclient\":2,"
        "\"start\":\"2026-12-04T15:36:40.000001+0000\","
        "\"end\":\"2026-12-04T15:36:43.123456+0000\",\"age\":3,"
        "\"reason\":\"timeout\",\"alerted\":false}}\n"
        "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\",\"event_type\":\"stats\","
        "\"stats\":{\"packets\":1000,\"verdicts\":{\"NetworkScan\":5,\"Unlabeled\":5},"
        "\"alerts\":{\"9100001\":4},\"rate\":{\"packets_per_s\":1234.5,\"bad\":null,"
        "\"inf\":null},\"flow\":{\"evicted\":0},\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{"
        "\"g\":{\"h\":1}}}}}}}}}\n"
        "{\"timestamp\":\"1970-01-01T00:00:00.000000+0000\",\"event_type\":\"stats\","
        "\"stats\":{}}\n");
    free(s);
    tmp_done(&t);
}
END_TEST

/* Many keys under one object (alerts per sid): counts stay right, order is
 * insertion order, and it is fast. */
START_TEST(stats_with_many_keys)
{
    ef_stats_t *st = ef_stats_new();
    char key[64];
    for (int round = 0; round < 20; round++)
        for (int sid = 0; sid < 5000; sid++) {
            snprintf(key, sizeof key, "alerts.%d", 9100000 + sid);
            ck_assert_int_eq(ef_stats_add_u64(st, key, (uint64_t)sid), 0);
        }
    uint64_t v;
    ck_assert_int_eq(ef_stats_get_u64(st, "alerts.9100000", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(ef_stats_get_u64(st, "alerts.9104999", &v), 0);
    ck_assert_uint_eq(v, 20u * 4999u);
    ck_assert_int_eq(ef_stats_get_u64(st, "alerts.9105000", &v), -1);
    tmpf_t t = tmp_out("eve-many");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ck_assert_int_eq(ef_eve_stats(w, 0, st, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 1);
    ck_assert_msg(strstr(s, "\"stats\":{\"alerts\":{\"9100000\":0,\"9100001\":20,\"9100002\":40,"),
                  "%.200s", s);
    ck_assert_msg(strstr(s, "\"9104999\":99980}}}\n") != NULL, "end of the line");
    free(s);
    tmp_done(&t);
    ef_stats_free(st);
}
END_TEST

START_TEST(timestamps_and_protocols)
{
    char ts[64];
    ef_eve_timestamp(0, ts, sizeof ts);
    ck_assert_str_eq(ts, "1970-01-01T00:00:00.000000+0000");
    ef_eve_timestamp(1796398603123456ull, ts, sizeof ts);
    ck_assert_str_eq(ts, "2026-12-04T15:36:43.123456+0000");
    ef_eve_timestamp(951782400999999ull, ts, sizeof ts); /* leap day 2000 */
    ck_assert_str_eq(ts, "2000-02-29T00:00:00.999999+0000");
    ef_eve_timestamp(253402300799999999ull, ts, sizeof ts); /* last microsecond of 9999 */
    ck_assert_str_eq(ts, "9999-12-31T23:59:59.999999+0000");
    ef_eve_timestamp(253402300800000000ull, ts, sizeof ts); /* year 10000: Suricata's marker */
    ck_assert_str_eq(ts, "ts-error");
    ef_eve_timestamp(UINT64_MAX, ts, sizeof ts);
    ck_assert_str_eq(ts, "ts-error");
    ck_assert_str_eq(ef_eve_proto_name(1), "ICMP");
    ck_assert_str_eq(ef_eve_proto_name(6), "TCP");
    ck_assert_str_eq(ef_eve_proto_name(17), "UDP");
    ck_assert_str_eq(ef_eve_proto_name(41), "IPv6");
    ck_assert_str_eq(ef_eve_proto_name(58), "IPv6-ICMP");
    ck_assert_str_eq(ef_eve_proto_name(132), "SCTP");
    ck_assert_ptr_null(ef_eve_proto_name(253));
}
END_TEST

/* ---- escaping ----------------------------------------------------------------------------- */

static char *one_early_line(const char *label, const char *model)
{
    tmpf_t t = tmp_out("eve-esc");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    v.label = label;
    v.model = model;
    v.n_classes = 0;
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 1);
    tmp_done(&t);
    return s;
}

START_TEST(string_escaping)
{
    char ctl[40];
    for (int i = 1; i < 32; i++)
        ctl[i - 1] = (char)i;
    strcpy(ctl + 31, "\"\\/\x7f");
    char *s = one_early_line(ctl, "m");
    ck_assert_msg(strstr(s, "\"label\":\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t"
                            "\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
                            "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
                            "\\u001e\\u001f\\\"\\\\/\\u007f\""), "%s", s);
    char dec[256];
    size_t dl;
    ck_assert_int_eq(json_string_field(s, "label", dec, &dl), 0);
    ck_assert_uint_eq(dl, strlen(ctl));
    ck_assert_int_eq(memcmp(dec, ctl, dl), 0);
    free(s);

    /* valid UTF-8 is kept as is */
    const char *utf = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    s = one_early_line(utf, "m");
    ck_assert_int_eq(json_string_field(s, "label", dec, &dl), 0);
    ck_assert_uint_eq(dl, strlen(utf));
    ck_assert_int_eq(memcmp(dec, utf, dl), 0);
    free(s);

    /* every invalid byte becomes U+FFFD */
    static const struct {
        const char *in, *out;
    } bad[] = {
        {"a\xff" "b", "a\\ufffdb"},                  /* never valid */
        {"\xc0\x80", "\\ufffd\\ufffd"},                /* overlong NUL */
        {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},     /* overlong '/' */
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},     /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* above U+10FFFF */
        {"x\xe2\x82", "x\\ufffd\\ufffd"},              /* truncated at the end */
        {"\xe2\x82" "a", "\\ufffd\\ufffda"},           /* truncated in the middle */
        {"\x80\xbf", "\\ufffd\\ufffd"},                /* lone continuation bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = one_early_line(bad[i].in, bad[i].in);
        char want[128];
        snprintf(want, sizeof want, "\"label\":\"%s\"", bad[i].out);
        ck_assert_msg(strstr(s, want) != NULL, "case %zu: %s", i, s);
        snprintf(want, sizeof want, "\"model\":\"%s\"", bad[i].out);
        ck_assert_msg(strstr(s, want) != NULL, "case %zu: %s", i, s);
        free(s);
    }
    /* a rule message with quotes and backslashes survives into the alert */
    ef_ruleset_t *rs = rules("alert ip any any -> any any (msg:\"say \\\"hi\\\" \\\\o/\"; "
                             "early.k:5; sid:1;)");
    tmpf_t t = tmp_out("eve-esc2");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    ck_assert_int_eq(ef_eve_alert(w, &f, &v, ef_ruleset_rule(rs, 0), &err), 0);
    ef_eve_close(w, &err);
    size_t len;
    s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 1);
    ck_assert_int_eq(json_string_field(s, "signature", dec, &dl), 0);
    dec[dl] = '\0';
    ck_assert_str_eq(dec, "say \"hi\" \\o/");
    free(s);
    tmp_done(&t);
    ef_ruleset_free(rs);
}
END_TEST

START_TEST(numbers_ignore_the_locale)
{
    /* build a German locale (decimal comma) in a temp dir */
    char *dir = eft_mkdtemp("eve-locale");
    char *cmd = NULL;
    ck_assert_int_ge(asprintf(&cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>/dev/null", dir),
                     0);
    int rc = eft_run(cmd, NULL, NULL);
    free(cmd);
    if (rc != 0) {
        fprintf(stderr, "numbers_ignore_the_locale: localedef unavailable, nothing checked\n");
        eft_rmtree(dir);
        free(dir);
        return;
    }
    setenv("LOCPATH", dir, 1);
    ck_assert_ptr_nonnull(setlocale(LC_ALL, "de_DE.UTF-8"));
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 0.5);
    ck_assert_str_eq(probe, "0,5"); /* the locale really uses a comma */
    ef_stats_t *st = ef_stats_new();
    ef_stats_set_f64(st, "x", 1234.5);
    tmpf_t t = tmp_out("eve-loc");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    ck_assert_int_eq(ef_eve_stats(w, 0, st, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    setlocale(LC_ALL, "C");
    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 2);
    ck_assert_msg(strstr(s, "\"score\":0.97,") && strstr(s, "\"x\":1234.5}"), "%s", s);
    free(s);
    ef_stats_free(st);
    tmp_done(&t);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* Probabilities are printed without snprintf (the writer's fast path): over
 * many values spanning every decade, the text must be what %.6g prints,
 * except that a value within rounding noise of a halfway point may differ by
 * one unit in the 6th digit; and it must parse back to 6 significant digits. */
START_TEST(probabilities_print_as_6g)
{
    enum { N = 20000 };
    static const char *lab[1] = {"p"};
    tmpf_t t = tmp_out("eve-6g");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    ef_eve_flow_t f = sample_flow();
    float vals[N];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;
        /* log-uniform over 1e-7..1 for half the values, over 1e-45..1 (float
         * denormals included) for the others, plus exact edges and decade
         * boundaries */
        vals[i] = (float)pow(10.0, (i & 1 ? -45.0 : -7.0) * u);
        if (i < 16) {
            static const float edge[16] = {0.0f,        1.0f,   1e-4f,     0.1f,
                                           0.01f,       0.999999f, 0.0999999f, 5e-5f,
                                           1e-10f,      9.99999e-11f, 1e-20f, 1.17549435e-38f,
                                           1.4e-45f,    0.9999999f, 1e-30f, 3.3e-21f};
            vals[i] = edge[i];
        }
        ef_verdict_t v = {.label = "p", .score = vals[i], .k = 5, .packets = 5, .model = "m",
                          .n_classes = 1, .class_labels = lab, .probs = &vals[i]};
        ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    }
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    size_t len;
    char *text = slurp(&t, &len);
    char *line = text;
    int differ = 0;
    for (int i = 0; i < N; i++) {
        char *score = strstr(line, "\"score\":");
        ck_assert_ptr_nonnull(score);
        score += 8;
        size_t n = strcspn(score, ",");
        char want[40];
        snprintf(want, sizeof want, "%.6g", (double)vals[i]);
        if (strlen(want) != n || strncmp(score, want, n) != 0) {
            double got = strtod(score, NULL);
            ck_assert_msg(fabs(got - vals[i]) <= 1.01 * fabs(strtod(want, NULL) - vals[i]) +
                                                     1e-6 * vals[i],
                          "value %.9g printed as %.*s, %%.6g gives %s", (double)vals[i], (int)n,
                          score, want);
            differ++;
        }
        line = strchr(score, '\n');
        ck_assert_ptr_nonnull(line);
    }
    ck_assert_msg(differ <= N / 1000, "%d of %d values differ from %%.6g", differ, N);
    free(text);
    tmp_done(&t);
}
END_TEST

/* ---- output integrity and errors ---------------------------------------------------------------- */

START_TEST(only_whole_lines_reach_the_file)
{
    tmpf_t t = tmp_out("eve-whole");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    for (int i = 0; i < 3000; i++)
        ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    /* before any flush: the file holds only complete lines (buffer-sized
     * batches cut at line boundaries) */
    size_t len;
    char *s = slurp(&t, &len);
    size_t n = check_lines(s, len);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, 3000);
    free(s);
    ck_assert_int_eq(ef_eve_flush(w, &err), 0);
    s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 3000);
    free(s);
    /* a line larger than the buffer keeps its place between small ones */
    size_t big = 200000;
    char *label = malloc(big + 1);
    memset(label, 'L', big);
    label[big] = '\0';
    ef_verdict_t bv = v;
    bv.label = label;
    v.label = "before";
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    ck_assert_int_eq(ef_eve_early(w, &f, &bv, &err), 0);
    v.label = "after";
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 3003);
    char *b = strstr(s, "\"label\":\"before\""), *l = strstr(s, "LLLL"),
         *a = strstr(s, "\"label\":\"after\"");
    ck_assert(b && l && a && b < l && l < a);
    free(s);
    free(label);
    tmp_done(&t);
}
END_TEST

START_TEST(dev_full_is_an_error)
{
    ef_err_t err;
    ef_eve_t *w = ef_eve_open("/dev/full", NULL, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0); /* buffered */
    ck_assert_int_eq(ef_eve_flush(w, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/full: EVE write failed: No space left on device (1 lines "
                              "lost)");
    /* every later write fails too and is counted */
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/full: EVE write failed: No space left on device (2 lines "
                              "lost)");
    ck_assert_uint_eq(ef_eve_lost(w), 2);
    ck_assert_int_eq(ef_eve_close(w, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/full: EVE write failed: No space left on device (2 lines "
                              "lost)");
    /* with per-line flushing the first write reports it */
    ef_eve_opts_t o = {.flush_every_line = 1, .flush_every_line_set = 1};
    w = ef_eve_open("/dev/full", &o, &err);
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/full: EVE write failed: No space left on device (1 lines "
                              "lost)");
    ck_assert_int_eq(ef_eve_close(w, &err), -1);
}
END_TEST

START_TEST(closed_descriptor_and_bad_path)
{
    ef_err_t err;
    int fd = open("/dev/null", O_WRONLY);
    ef_eve_t *w = ef_eve_open_fd(fd, "null-then-closed", 0, NULL, &err);
    close(fd);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    ck_assert_int_eq(ef_eve_close(w, &err), -1);
    ck_assert_str_eq(err.msg, "null-then-closed: EVE write failed: Bad file descriptor (1 lines "
                              "lost)");
    ck_assert_ptr_null(ef_eve_open("/nonexistent-dir/eve.json", NULL, &err));
    ck_assert_str_eq(err.msg, "/nonexistent-dir/eve.json: cannot open EVE output: No such file "
                              "or directory");
    /* a closed pipe with SIGPIPE ignored gives EPIPE */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    ef_eve_opts_t o = {.flush_every_line = 1, .flush_every_line_set = 1};
    w = ef_eve_open_fd(p[1], "pipe", 1, &o, &err);
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), -1);
    ck_assert_str_eq(err.msg, "pipe: EVE write failed: Broken pipe (1 lines lost)");
    ck_assert_int_eq(ef_eve_close(w, &err), -1);
}
END_TEST

START_TEST(stdout_output)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    ck_assert_int_eq(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
    close(p[1]);
    ef_err_t err;
    ef_eve_t *w = ef_eve_open("-", NULL, &err);
    ck_assert_ptr_nonnull(w);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    ck_assert_int_eq(ef_eve_early(w, &f, &v, &err), 0);
    /* stdout is flushed line by line: the line is readable before close */
    char buf[2048];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    dup2(saved, STDOUT_FILENO); /* fd 1 was not closed by the writer */
    close(saved);
    close(p[0]);
    ck_assert_uint_eq(check_lines(buf, (size_t)n), 1);
    ck_assert_msg(strncmp(buf, "{\"timestamp\":\"2026-12-04T15:36:43.123456+0000\"", 45) == 0,
                  "%s", buf);
}
END_TEST

typedef struct worker {
    ef_eve_t *w;
    int id;
    int failures;
} worker_t;

static void *write_many(void *arg)
{
    worker_t *wk = arg;
    char model[32];
    snprintf(model, sizeof model, "worker-%d", wk->id);
    ef_eve_flow_t f = sample_flow();
    ef_verdict_t v = sample_verdict();
    v.model = model;
    ef_err_t err;
    for (int i = 0; i < 5000; i++) {
        f.flow_id = (uint64_t)wk->id * 100000u + (uint64_t)i;
        if (ef_eve_early(wk->w, &f, &v, &err) < 0)
            wk->failures++;
    }
    return NULL;
}

START_TEST(concurrent_writers_never_interleave)
{
    tmpf_t t = tmp_out("eve-mt");
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(t.path, NULL, &err);
    pthread_t th[4];
    worker_t wk[4];
    for (int i = 0; i < 4; i++) {
        wk[i] = (worker_t){w, i, 0};
        pthread_create(&th[i], NULL, write_many, &wk[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(wk[i].failures, 0);
    }
    ck_assert_uint_eq(ef_eve_lines(w), 20000);
    ck_assert_int_eq(ef_eve_close(w, &err), 0);
    size_t len;
    char *s = slurp(&t, &len);
    ck_assert_uint_eq(check_lines(s, len), 20000);
    /* each worker's lines are all there (counted line by line: strstr over
     * the whole file would be quadratic under AddressSanitizer) */
    size_t count[4] = {0};
    for (char *line = s, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        const char *m = strstr(line, "\"model\":\"worker-");
        ck_assert_ptr_nonnull(m);
        int id = m[strlen("\"model\":\"worker-")] - '0';
        ck_assert(id >= 0 && id < 4);
        count[id]++;
    }
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(count[i], 5000);
    free(s);
    tmp_done(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eve");
    TCase *tc = tcase_create("write");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, early_event_exact);
    tcase_add_test(tc, probabilities_print_as_6g);
    tcase_add_test(tc, alert_event_exact);
    tcase_add_test(tc, flow_and_stats_events);
    tcase_add_test(tc, stats_with_many_keys);
    tcase_add_test(tc, timestamps_and_protocols);
    tcase_add_test(tc, string_escaping);
    tcase_add_test(tc, numbers_ignore_the_locale);
    tcase_add_test(tc, only_whole_lines_reach_the_file);
    tcase_add_test(tc, dev_full_is_an_error);
    tcase_add_test(tc, closed_descriptor_and_bad_path);
    tcase_add_test(tc, stdout_output);
    tcase_add_test(tc, concurrent_writers_never_interleave);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
