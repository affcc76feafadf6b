/* Dataset CSV writer: rows into a hidden temporary file, renamed at commit.
 * See dataset_csv.h and docs/dataset.md. */
#include "data/dataset_csv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_BUF (256u * 1024u)

struct ef_dataset_writer {
    char *path, *tmp;
    int fd;            /* -1 once finished */
    int k;
    unsigned flags;
    int werr;          /* errno of the first write failure, 0 if none */
    uint64_t rows;
    size_t used;
    char buf[OUT_BUF];
};

/* Extended column names, in order (docs/dataset.md describes each). */
static const char *const ext_columns[] = {
    "flow_id", "proto", "src_ip", "src_port", "dst_ip", "dst_port", "start_time", "dirs",
    "flow_pkts", "end_reason", "ndpi_proto", "mawilab_code", "mawilab_heuristic",
    "mawilab_distance", "mawilab_detectors", "mawilab_label", "mawilab_anomaly_id",
    "mawilab_dir",
};

/* ------------------------------------------------------------------------ */
/* Buffered output. A write error is remembered and reported by the next
 * add/finish; later output is dropped (the file will be discarded anyway). */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void flush_buf(ef_dataset_writer_t *w)
{
    if (!w->werr && w->used)
        w->werr = write_all(w->fd, w->buf, w->used);
    w->used = 0;
}

static void put(ef_dataset_writer_t *w, const char *s, size_t n)
{
    if (n > OUT_BUF - w->used)
        flush_buf(w);
    if (n > OUT_BUF) {
        if (!w->werr)
            w->werr = write_all(w->fd, s, n);
        return;
    }
    memcpy(w->buf + w->used, s, n);
    w->used += n;
}

static void put_str(ef_dataset_writer_t *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_ch(ef_dataset_writer_t *w, char c)
{
    if (w->used == OUT_BUF)
        flush_buf(w);
    w->buf[w->used++] = c;
}

/* Room for n more bytes in the buffer (n is small: numbers only). */
static char *room(ef_dataset_writer_t *w, size_t n)
{
    if (OUT_BUF - w->used < n)
        flush_buf(w);
    return w->buf + w->used;
}

/* Decimal digits two at a time: numbers are most of the output. */
static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes v in decimal at out (at most 20 bytes); returns the length. */
static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(tmp + i, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(tmp + i, digit_pairs + 2 * v, 2);
    } else {
        tmp[--i] = (char)('0' + v);
    }
    memcpy(out, tmp + i, sizeof tmp - i);
    return sizeof tmp - i;
}

static void put_u64(ef_dataset_writer_t *w, uint64_t v)
{
    w->used += fmt_u64(room(w, 20), v);
}

/* Microseconds as seconds with exactly six decimals, from integers: no
 * floating-point rounding can make two writers disagree. */
static void put_seconds(ef_dataset_writer_t *w, uint64_t us)
{
    char *out = room(w, 27);
    size_t n = fmt_u64(out, us / 1000000u);
    unsigned f = (unsigned)(us % 1000000u);
    out[n] = '.';
    memcpy(out + n + 1, digit_pairs + 2 * (f / 10000), 2);
    memcpy(out + n + 3, digit_pairs + 2 * (f / 100 % 100), 2);
    memcpy(out + n + 5, digit_pairs + 2 * (f % 100), 2);
    w->used += n + 7;
}

/* A text field, quoted only when it holds a comma, a quote or a line break
 * (RFC 4180: quotes doubled inside). */
static void put_field(ef_dataset_writer_t *w, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        put_str(w, s);
        return;
    }
    put_ch(w, '"');
    for (; *s; s++) {
        if (*s == '"')
            put_ch(w, '"');
        put_ch(w, *s);
    }
    put_ch(w, '"');
}

static void put_addr(ef_dataset_writer_t *w, int ver, const uint8_t *a)
{
    char txt[INET6_ADDRSTRLEN];
    if (a && inet_ntop(ver == 6 ? AF_INET6 : AF_INET, a, txt, sizeof txt))
        put_str(w, txt);
}

/* ------------------------------------------------------------------------ */
/* Rows.                                                                    */

static void put_packets(ef_dataset_writer_t *w, const ef_features_t *f)
{
    int n = f->n < w->k ? f->n : w->k;
    for (int i = 0; i < w->k; i++) {
        put_u64(w, i < n ? f->size[i] : 0);
        put_ch(w, ',');
    }
    for (int i = 0; i < w->k; i++) {
        put_seconds(w, i < n ? f->iat_us[i] : 0);
        put_ch(w, ',');
    }
    put_u64(w, (uint64_t)ef_features_c2s(f, w->k));
}

static void put_mawilab(ef_dataset_writer_t *w, const ef_mawilab_match_t *m)
{
    const ef_mawilab_rule_t *r = m ? m->rule : NULL;
    if (!r) {
        put_str(w, ",,,,,,,");
        return;
    }
    put_ch(w, ',');
    put_field(w, r->code);
    put_ch(w, ',');
    if (r->heuristic >= 0)
        put_u64(w, (uint64_t)r->heuristic);
    put_ch(w, ',');
    put_field(w, r->distance);
    put_ch(w, ',');
    if (r->nb_detectors >= 0)
        put_u64(w, (uint64_t)r->nb_detectors);
    put_ch(w, ',');
    put_str(w, ef_mawilab_label_name((ef_mawilab_label_t)r->label));
    put_ch(w, ',');
    put_u64(w, r->anomaly_id);
    put_ch(w, ',');
    put_str(w, m->reversed ? "rev" : "fwd");
}

static void put_extended(ef_dataset_writer_t *w, const ef_dataset_flow_t *f)
{
    int n = f->feat->n < w->k ? f->feat->n : w->k;
    put_ch(w, ',');
    put_u64(w, f->flow_id);
    put_ch(w, ',');
    put_u64(w, f->proto);
    put_ch(w, ',');
    put_addr(w, f->ip_version, f->client_addr);
    put_ch(w, ',');
    if (f->has_ports)
        put_u64(w, f->client_port);
    put_ch(w, ',');
    put_addr(w, f->ip_version, f->server_addr);
    put_ch(w, ',');
    if (f->has_ports)
        put_u64(w, f->server_port);
    put_ch(w, ',');
    put_seconds(w, f->start_ts_us);
    put_ch(w, ',');
    for (int i = 0; i < n; i++)
        put_ch(w, (char)('0' + ef_features_dir(f->feat, i)));
    put_ch(w, ',');
    put_u64(w, f->pkts);
    put_ch(w, ',');
    put_field(w, f->end_reason);
    put_ch(w, ',');
    put_field(w, f->app);
    put_mawilab(w, f->match);
}

int ef_dataset_writer_add(ef_dataset_writer_t *w, const ef_dataset_flow_t *f, ef_err_t *err)
{
    if (w->fd < 0)
        return ef_err_set(err, "%s: writer already finished", w->path);
    if (f->feat->n < w->k && !(w->flags & EF_DATASET_PAD))
        return 0;
    put_packets(w, f->feat);
    put_ch(w, ',');
    put_field(w, f->label);
    if (w->flags & EF_DATASET_EXTENDED)
        put_extended(w, f);
    put_ch(w, '\n');
    if (w->werr)
        return ef_err_set(err, "%s: write failed: %s", w->tmp, strerror(w->werr));
    w->rows++;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Header, open, finish, commit.                                            */

static int append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap)
        return -1;
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return 0;
}

int ef_dataset_header(char *buf, size_t cap, int k, unsigned flags)
{
    if (k < 1 || k > EF_K_MAX)
        return -1;
    size_t len = 0;
    char name[24];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 1; i <= k; i++) {
            snprintf(name, sizeof name, "%s%d,", pass ? "pktTime" : "pktSize", i);
            if (append(buf, cap, &len, name) < 0)
                return -1;
        }
    if (append(buf, cap, &len, "c2s,taxonomy label") < 0)
        return -1;
    if (flags & EF_DATASET_EXTENDED)
        for (size_t i = 0; i < sizeof ext_columns / sizeof ext_columns[0]; i++)
            if (append(buf, cap, &len, ",") < 0 || append(buf, cap, &len, ext_columns[i]) < 0)
                return -1;
    if (append(buf, cap, &len, "\n") < 0)
        return -1;
    return (int)len;
}

/* Hidden name in the target's directory, so rename() stays on one file
 * system and a listing of finished CSVs never shows it. */
static int open_temp(ef_dataset_writer_t *w, ef_err_t *err)
{
    const char *slash = strrchr(w->path, '/');
    int dirlen = slash ? (int)(slash - w->path + 1) : 0;
    const char *base = w->path + dirlen;
    for (int attempt = 0; attempt < 100; attempt++) {
        free(w->tmp);
        w->tmp = NULL;
        if (asprintf(&w->tmp, "%.*s.%s.%ld.%d.part", dirlen, w->path, base, (long)getpid(),
                     attempt) < 0) {
            w->tmp = NULL;
            return ef_err_set(err, "%s: out of memory", w->path);
        }
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd >= 0)
            return 0;
        if (errno != EEXIST)
            return ef_err_set(err, "%s: cannot create output file: %s", w->path,
                              strerror(errno));
    }
    return ef_err_set(err, "%s: cannot create a temporary file beside it (100 names taken)",
                      w->path);
}

ef_dataset_writer_t *ef_dataset_writer_open(const char *path, int k, unsigned flags,
                                            ef_err_t *err)
{
    if (k < 1 || k > EF_K_MAX) {
        ef_err_set(err, "%s: expected k between 1 and %d, got %d", path, EF_K_MAX, k);
        return NULL;
    }
    ef_dataset_writer_t *w = malloc(sizeof *w);
    if (!w) {
        ef_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    memset(w, 0, offsetof(ef_dataset_writer_t, buf));
    w->fd = -1;
    w->k = k;
    w->flags = flags;
    w->path = strdup(path);
    if (!w->path || open_temp(w, err) < 0) {
        if (!w->path)
            ef_err_set(err, "%s: out of memory", path);
        free(w->path);
        free(w->tmp);
        free(w);
        return NULL;
    }
    char hdr[1024];
    int n = ef_dataset_header(hdr, sizeof hdr, k, flags);
    put(w, hdr, (size_t)n);
    return w;
}

uint64_t ef_dataset_writer_rows(const ef_dataset_writer_t *w)
{
    return w->rows;
}

const char *ef_dataset_writer_path(const ef_dataset_writer_t *w)
{
    return w->path;
}

const char *ef_dataset_writer_temp_path(const ef_dataset_writer_t *w)
{
    return w->tmp;
}

int ef_dataset_writer_finish(ef_dataset_writer_t *w, ef_err_t *err)
{
    if (w->fd < 0)
        return w->werr ? ef_err_set(err, "%s: write failed: %s", w->tmp, strerror(w->werr)) : 0;
    flush_buf(w);
    /* The data must be on disk before the rename makes the name visible, or
     * a crash could leave a complete-looking name over missing data. */
    if (!w->werr && fsync(w->fd) < 0 && errno != EINVAL && errno != EROFS)
        w->werr = errno;
    if (close(w->fd) < 0 && !w->werr)
        w->werr = errno;
    w->fd = -1;
    if (w->werr)
        return ef_err_set(err, "%s: write failed: %s", w->tmp, strerror(w->werr));
    return 0;
}

static void writer_free(ef_dataset_writer_t *w)
{
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w->tmp);
    free(w);
}

int ef_dataset_writer_commit(ef_dataset_writer_t *w, ef_err_t *err)
{
    int rc = ef_dataset_writer_finish(w, err);
    if (rc == 0 && rename(w->tmp, w->path) < 0)
        rc = ef_err_set(err, "%s: cannot move the finished file into place: %s", w->path,
                        strerror(errno));
    if (rc < 0)
        unlink(w->tmp);
    writer_free(w);
    return rc;
}

void ef_dataset_writer_abort(ef_dataset_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    unlink(w->tmp);
    writer_free(w);
}
