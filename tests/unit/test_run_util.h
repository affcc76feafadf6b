/* Shared by the test_run*.c suites (tests of `earlyflow run`): run the built
 * binary, read its EVE output with the strict JSON parser, write flows into
 * captures with exact IP sizes and timestamps, and read the JSON fixtures of
 * tests/data/host/ (tools/make_host_fixture.py).
 *
 * Header-only (every function static and marked unused) so each suite stays
 * one file; not part of tests/lib because only these suites need it. */
#ifndef EF_TEST_RUN_UTIL_H
#define EF_TEST_RUN_UTIL_H

#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eftest.h"
#include "pktbuild.h"
#include "util/json.h"

#define RU_UNUSED __attribute__((unused))

static RU_UNUSED void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* 127.0.0.1:port, for the live-capture suites' senders and receivers */
static RU_UNUSED struct sockaddr_in lo_addr(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* ---- EVE files ------------------------------------------------------------ */

typedef struct eve {
    size_t n;                    /* lines */
    ef_json_t **doc;             /* one parsed document per line */
    const ef_json_value_t **ev;  /* its root object */
    char **line;                 /* the raw line text */
} eve_t;

/* Every line of `path` must be one valid JSON object (strict parser) and
 * the file must end with a newline. */
static RU_UNUSED eve_t *eve_read(const char *path)
{
    size_t len = 0;
    char *text = eft_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read EVE file %s", path);
    ck_assert_msg(len == 0 || text[len - 1] == '\n', "%s does not end with a newline", path);
    eve_t *e = calloc(1, sizeof *e);
    size_t cap = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        if (e->n == cap) {
            cap = cap ? cap * 2 : 64;
            e->doc = realloc(e->doc, cap * sizeof *e->doc);
            e->ev = realloc(e->ev, cap * sizeof *e->ev);
            e->line = realloc(e->line, cap * sizeof *e->line);
        }
        ef_err_t err = {{0}};
        e->line[e->n] = strndup(p, (size_t)(nl - p));
        e->doc[e->n] = ef_json_parse(p, (size_t)(nl - p), NULL, path, &err);
        ck_assert_msg(e->doc[e->n] != NULL, "%s line %zu is not valid JSON: %s: %s", path,
                      e->n + 1, err.msg, e->line[e->n]);
        e->ev[e->n] = ef_json_root(e->doc[e->n]);
        ck_assert_msg(e->ev[e->n]->type == EF_JSON_OBJECT, "%s line %zu is not an object", path,
                      e->n + 1);
        e->n++;
        p = nl + 1;
    }
    free(text);
    return e;
}

static RU_UNUSED void eve_free(eve_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        ef_json_free(e->doc[i]);
        free(e->line[i]);
    }
    free(e->doc);
    free(e->ev);
    free(e->line);
    free(e);
}

/* Member by dotted path ("early.label"), or NULL. */
static RU_UNUSED const ef_json_value_t *jget(const ef_json_value_t *v, const char *path)
{
    char part[128];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        ck_assert(n < sizeof part);
        memcpy(part, path, n);
        part[n] = '\0';
        if (v->type != EF_JSON_OBJECT)
            return NULL;
        v = ef_json_get(v, part);
        path += n + (dot ? 1 : 0);
    }
    return v;
}

static RU_UNUSED const char *jstr(const ef_json_value_t *v, const char *path)
{
    const ef_json_value_t *m = jget(v, path);
    return m && m->type == EF_JSON_STRING ? m->str : NULL;
}

/* NAN when missing or not a number. */
static RU_UNUSED double jnum(const ef_json_value_t *v, const char *path)
{
    const ef_json_value_t *m = jget(v, path);
    return m && m->type == EF_JSON_NUMBER ? m->num : NAN;
}

/* The member must exist and be a non-negative integer. */
static RU_UNUSED uint64_t ju64(const ef_json_value_t *v, const char *path)
{
    uint64_t out = 0;
    const ef_json_value_t *m = jget(v, path);
    ck_assert_msg(m != NULL, "missing %s", path);
    ck_assert_msg(ef_json_u64(m, &out) == 0, "%s is not an unsigned integer", path);
    return out;
}

/* 1 true, 0 false, -1 missing or not a bool. */
static RU_UNUSED int jbool(const ef_json_value_t *v, const char *path)
{
    const ef_json_value_t *m = jget(v, path);
    if (!m)
        return -1;
    return m->type == EF_JSON_TRUE ? 1 : m->type == EF_JSON_FALSE ? 0 : -1;
}

static RU_UNUSED int is_type(const ef_json_value_t *ev, const char *type)
{
    const char *t = jstr(ev, "event_type");
    return t && !strcmp(t, type);
}

static RU_UNUSED size_t eve_count(const eve_t *e, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += is_type(e->ev[i], type);
    return n;
}

/* Suricata's EVE timestamp of a capture time, computed here independently of
 * the writer: "YYYY-MM-DDTHH:MM:SS.uuuuuu+0000". */
static RU_UNUSED void ts_text(uint64_t us, char *buf, size_t len)
{
    time_t s = (time_t)(us / 1000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06u+0000", (unsigned)(us % 1000000u));
}

/* ---- running the host ------------------------------------------------------ */

typedef struct run {
    int rc;
    char *out, *err;
} run_t;

static RU_UNUSED void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* `earlyflow run ARGS` (a printf format); stdout/stderr captured. */
static RU_UNUSED __attribute__((format(printf, 2, 3))) void run_host(run_t *r, const char *fmt, ...)
{
    char *args = NULL, *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
    va_end(ap);
    ck_assert_int_ge(asprintf(&cmd, "'%s' run %s", eft_bin(), args), 0);
    r->out = r->err = NULL;
    r->rc = eft_run(cmd, &r->out, &r->err);
    if (!r->out)
        r->out = strdup("");
    if (!r->err)
        r->err = strdup("");
    free(args);
    free(cmd);
}

static RU_UNUSED void write_text(const char *dir, const char *name, const char *text)
{
    char *p = eft_path(dir, name);
    ck_assert_int_eq(eft_write_file(p, text, strlen(text)), 0);
    free(p);
}

/* dir/name in a static-per-call malloc'd string the caller frees. */
static RU_UNUSED char *pathf(const char *dir, const char *fmt, ...)
{
    char *name = NULL;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&name, fmt, ap), 0);
    va_end(ap);
    char *p = eft_path(dir, name);
    free(name);
    return p;
}

/* ---- flows with exact IP sizes ------------------------------------------------ */

/* Bytes of IP + transport headers the builder adds to a payload. */
static RU_UNUSED size_t hdr_bytes(const pb_flow_t *fl)
{
    size_t ip = fl->ipv == 4 ? 20 : 40;
    switch (fl->proto) {
    case 6: return ip + 20;
    case 17: return ip + 8;
    case 1:
    case 58: return ip + 8;
    default: return ip;
    }
}

/* One packet of exactly `ip_size` IP bytes. */
static RU_UNUSED void put_pkt(pb_writer_t *w, pb_flow_t *fl, uint64_t ts_us, int dir,
                              uint8_t flags, size_t ip_size)
{
    size_t h = hdr_bytes(fl);
    ck_assert_uint_ge(ip_size, h);
    ck_assert_int_eq(pb_flow_write(w, fl, ts_us, dir, flags, NULL, ip_size - h), 0);
}

/* ---- tests/data/host fixtures ------------------------------------------------ */

static RU_UNUSED char *host_data(const char *name)
{
    return eft_path(EF_TEST_DATA "/host", name);
}

static RU_UNUSED ef_json_t *read_json(const char *path)
{
    size_t len = 0;
    char *text = eft_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    ef_err_t err = {{0}};
    ef_json_t *doc = ef_json_parse(text, len, NULL, path, &err);
    ck_assert_msg(doc != NULL, "%s: %s", path, err.msg);
    free(text);
    return doc;
}

/* The steering models (tests/data/host/steer.json): the first packet's IP
 * size decides the label. */
typedef struct steer_probe {
    unsigned size;
    char label[32];
    double score;
} steer_probe_t;

/* The probe of a given size (it must be one of steer.json's probes). */
static RU_UNUSED steer_probe_t steer_probe(unsigned size)
{
    char *p = host_data("steer.json");
    ef_json_t *doc = read_json(p);
    steer_probe_t out = {0};
    const ef_json_value_t *probes = jget(ef_json_root(doc), "probes");
    ck_assert_ptr_nonnull(probes);
    for (const ef_json_value_t *v = probes->child; v; v = v->next)
        if ((unsigned)jnum(v, "size") == size) {
            out.size = size;
            snprintf(out.label, sizeof out.label, "%s", jstr(v, "label"));
            out.score = jnum(v, "score");
        }
    ck_assert_msg(out.size == size, "steer.json has no probe of size %u", size);
    ef_json_free(doc);
    free(p);
    return out;
}

/* The first-packet size that steers a flow to `label` with its top score. */
static RU_UNUSED unsigned steer_size(const char *label)
{
    char *p = host_data("steer.json");
    ef_json_t *doc = read_json(p);
    const ef_json_value_t *c = jget(jget(ef_json_root(doc), "centres"), label);
    ck_assert_msg(c != NULL, "steer.json has no centre for %s", label);
    unsigned size = (unsigned)c->num;
    ef_json_free(doc);
    free(p);
    return size;
}

/* A config (YAML text) with the four steering models, `k_list` (e.g.
 * "[5]") and long flow timeouts, plus `extra` lines appended. */
static RU_UNUSED char *steer_config(const char *k_list, const char *extra)
{
    char *s = NULL;
    ck_assert_int_ge(asprintf(&s,
                              "earlyflow:\n"
                              "  models:\n"
                              "    3: %s/host/steer_k3.safetensors\n"
                              "    5: %s/host/steer_k5.safetensors\n"
                              "    10: %s/host/steer_k10.safetensors\n"
                              "    20: %s/host/steer_k20.safetensors\n"
                              "  k: %s\n"
                              "  flow-timeouts: {new: 60, established: 60, closed: 60}\n"
                              "%s",
                              EF_TEST_DATA, EF_TEST_DATA, EF_TEST_DATA, EF_TEST_DATA, k_list,
                              extra ? extra : ""),
                     0);
    return s;
}

#endif
