/* Packet sources over libpcap (see capture.h).
 *
 * Offsets in error messages: for classic pcap the start of every record is
 * known exactly (24-byte file header, then 16 bytes + caplen per record);
 * for pcapng, libpcap's reader position after the last good block
 * (ftell of pcap_file()). Either way an error names the byte where the
 * record that could not be read begins.
 *
 * "Silent empty success" guard: libpcap reports end of file (-2) only when
 * it finds no more bytes. After end of file we still compare the reader's
 * position with the file size; a reader that stopped early (some libpcap
 * versions skip what they cannot parse) is an error, not a short capture.
 * libpcap 1.10 itself refuses a pcapng whose interfaces have different link
 * types with an error at the first packet; that error is passed on with the
 * file name and offset. */
#include "net/capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/decode.h"
#include "util/clock.h"

struct ef_capture {
    pcap_t *p;
    FILE *f;                    /* libpcap's stream (files), NULL when live */
    char *name;
    int linktype;
    int live;
    int return_on_timeout;      /* live: hand read timeouts to the caller */
    int classic;                /* classic pcap: record offsets are computed */
    uint64_t file_size;         /* 0 when unknown (stdin, live) */
    uint64_t next_off;          /* where the next record starts */
    uint64_t packets;
    volatile sig_atomic_t stop; /* set by ef_capture_break */
    int fd;                     /* live: libpcap's selectable descriptor, or -1 */
    int wake[2];                /* live: pipe ef_capture_break writes to, or -1 */
    char *iobuf;                /* files: the stream's buffer (freed after pcap_close) */
};

/* Read buffer of a capture file's stream. stdio's default is the file
 * system's block size (4 KiB here): a 154 MB capture took ~37,000 read()
 * calls, ~15 % of a collect run (docs/performance.md). */
#define CAPTURE_IOBUF (1u << 20)

static ef_capture_t *capture_alloc(const char *name)
{
    ef_capture_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = strdup(name);
    if (!c->name) {
        free(c);
        return NULL;
    }
    c->fd = c->wake[0] = c->wake[1] = -1;
    return c;
}

void ef_capture_close(ef_capture_t *c)
{
    if (!c)
        return;
    if (c->p)
        pcap_close(c->p); /* closes the stream too */
    free(c->iobuf);
    for (int i = 0; i < 2; i++)
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    free(c->name);
    free(c);
}

static int check_linktype(ef_capture_t *c, ef_err_t *err)
{
    c->linktype = pcap_datalink(c->p);
    if (ef_decode_linktype_supported(c->linktype))
        return 0;
    const char *dlt = pcap_datalink_val_to_name(c->linktype);
    return ef_err_set(err,
                      "%s: link type %d (%s) is not supported (Ethernet, Linux SLL/SLL2, "
                      "BSD loopback and raw IP are)",
                      c->name, c->linktype, dlt ? dlt : "unknown");
}

/* Refuse what libpcap would misreport or not read at all. */
static int check_input_file(const char *path, uint64_t *size, ef_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ef_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return ef_err_set(err, "%s: is a directory, expected a pcap or pcapng file", path);
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return ef_err_set(err, "%s: empty file (0 bytes), expected a pcap or pcapng header",
                          path);
    return 0;
}

ef_capture_t *ef_capture_open_file(const char *path, ef_err_t *err)
{
    if (!path || !*path) {
        ef_err_set(err, "capture: no file name given");
        return NULL;
    }
    int is_stdin = strcmp(path, "-") == 0;
    uint64_t size = 0;
    if (!is_stdin && check_input_file(path, &size, err) != 0)
        return NULL;
    ef_capture_t *c = capture_alloc(is_stdin ? "<stdin>" : path);
    if (!c) {
        ef_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (is_stdin) {
        c->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    } else {
        /* Our own stream, so it can have a large buffer (set before any read). */
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            ef_err_set(err, "%s: cannot open: %s", c->name, strerror(errno));
            ef_capture_close(c);
            return NULL;
        }
        c->iobuf = malloc(CAPTURE_IOBUF);
        if (c->iobuf)
            setvbuf(fp, c->iobuf, _IOFBF, CAPTURE_IOBUF);
        c->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
        if (!c->p)
            fclose(fp); /* libpcap leaves the stream to the caller on failure */
    }
    if (!c->p) {
        ef_err_set(err, "%s: byte 0: not a readable pcap or pcapng file (libpcap: %s)",
                   c->name, ebuf);
        ef_capture_close(c);
        return NULL;
    }
    if (check_linktype(c, err) != 0) {
        ef_capture_close(c);
        return NULL;
    }
    c->f = pcap_file(c->p);
    c->file_size = size;
    c->classic = pcap_major_version(c->p) == 2;
    long pos = c->f ? ftell(c->f) : -1;
    c->next_off = pos >= 0 ? (uint64_t)pos : (c->classic ? 24u : 0u);
    return c;
}

/* Reads of a live capture wait in live_wait (poll on libpcap's descriptor
 * and a wake-up pipe, bounded by EF_CAPTURE_READ_TIMEOUT_MS), not inside
 * libpcap: with TPACKET_V3 (Linux) libpcap's own read timeout does not
 * expire while no packet arrives, so a blocking read would never come back
 * on a quiet interface. Where libpcap has no selectable descriptor, reads
 * block in libpcap as before (and time out only if libpcap does). */
static int setup_wait(ef_capture_t *c, ef_err_t *err)
{
    c->fd = pcap_get_selectable_fd(c->p);
    if (c->fd < 0)
        return 0;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (pcap_setnonblock(c->p, 1, ebuf) != 0)
        return ef_err_set(err, "live capture on %s: cannot make reads non-blocking: %s",
                          c->name, ebuf);
    if (pipe(c->wake) != 0)
        return ef_err_set(err, "live capture on %s: cannot create a wake-up pipe: %s", c->name,
                          strerror(errno));
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(c->wake[i], F_GETFL);
        if (fl < 0 || fcntl(c->wake[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
            fcntl(c->wake[i], F_SETFD, FD_CLOEXEC) != 0)
            return ef_err_set(err, "live capture on %s: wake-up pipe: %s", c->name,
                              strerror(errno));
    }
    return 0;
}

ef_capture_t *ef_capture_open_live(const char *iface, const char *bpf, int snaplen,
                                   ef_err_t *err)
{
    if (!iface || !*iface) {
        ef_err_set(err, "live capture: no interface given");
        return NULL;
    }
    ef_capture_t *c = capture_alloc(iface);
    if (!c) {
        ef_err_set(err, "live capture on %s: out of memory", iface);
        return NULL;
    }
    c->live = 1;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    c->p = pcap_create(iface, ebuf);
    if (!c->p) {
        ef_err_set(err, "live capture on %s: %s", iface, ebuf);
        ef_capture_close(c);
        return NULL;
    }
    pcap_set_snaplen(c->p, snaplen > 0 ? snaplen : 65535);
    pcap_set_promisc(c->p, 1);
    /* Immediate mode: a verdict is due at a flow's k-th packet, not when a
     * kernel buffer fills. The timeout only bounds how long a read blocks. */
    pcap_set_immediate_mode(c->p, 1);
    pcap_set_timeout(c->p, EF_CAPTURE_READ_TIMEOUT_MS);
    int rc = pcap_activate(c->p);
    if (rc < 0) {
        const char *detail = pcap_geterr(c->p);
        ef_err_set(err, "live capture on %s: %s%s%s", iface, pcap_statustostr(rc),
                   detail && *detail ? ": " : "", detail ? detail : "");
        ef_capture_close(c);
        return NULL;
    }
    if (check_linktype(c, err) != 0) {
        ef_capture_close(c);
        return NULL;
    }
    if (bpf && *bpf) {
        struct bpf_program prog;
        if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            ef_err_set(err, "live capture on %s: BPF filter \"%s\": %s", iface, bpf,
                       pcap_geterr(c->p));
            ef_capture_close(c);
            return NULL;
        }
        rc = pcap_setfilter(c->p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            ef_err_set(err, "live capture on %s: cannot set BPF filter \"%s\": %s", iface, bpf,
                       pcap_geterr(c->p));
            ef_capture_close(c);
            return NULL;
        }
    }
    if (setup_wait(c, err) != 0) {
        ef_capture_close(c);
        return NULL;
    }
    return c;
}

static uint64_t reader_pos(const ef_capture_t *c)
{
    long pos = c->f ? ftell(c->f) : -1;
    return pos >= 0 ? (uint64_t)pos : c->next_off;
}

static int file_read_error(ef_capture_t *c, ef_err_t *err)
{
    const char *msg = pcap_geterr(c->p);
    if (strstr(msg, "truncated"))
        return ef_err_set(err, "%s: byte %llu: truncated packet record (libpcap: %s)", c->name,
                          (unsigned long long)c->next_off, msg);
    if (strstr(msg, "different from the type of the first interface"))
        return ef_err_set(err,
                          "%s: byte %llu: cannot read packet: %s (libpcap reads only pcapng "
                          "files whose interfaces share one link type)",
                          c->name, (unsigned long long)c->next_off, msg);
    return ef_err_set(err, "%s: byte %llu: cannot read packet: %s", c->name,
                      (unsigned long long)c->next_off, msg);
}

static int file_end(ef_capture_t *c, ef_err_t *err)
{
    uint64_t pos = reader_pos(c);
    if (c->file_size && pos < c->file_size)
        return ef_err_set(err,
                          "%s: byte %llu: libpcap stopped reading %llu bytes before the end of "
                          "the file after %llu packets",
                          c->name, (unsigned long long)pos,
                          (unsigned long long)(c->file_size - pos),
                          (unsigned long long)c->packets);
    return 0;
}

static void fill_frame(ef_capture_t *c, const struct pcap_pkthdr *h, const u_char *data,
                       ef_frame_t *frame)
{
    frame->data = data;
    frame->caplen = h->caplen;
    frame->wirelen = h->len > h->caplen ? h->len : h->caplen;
    int64_t sec = h->ts.tv_sec, usec = h->ts.tv_usec;
    frame->ts_us = sec < 0 ? 0 : (uint64_t)sec * 1000000u + (uint64_t)(usec < 0 ? 0 : usec);
    c->packets++;
}

static int file_next(ef_capture_t *c, ef_frame_t *frame, ef_err_t *err)
{
    if (c->stop)
        return EF_CAPTURE_END;
    struct pcap_pkthdr *h;
    const u_char *data;
    int r = pcap_next_ex(c->p, &h, &data);
    if (r == 1) {
        fill_frame(c, h, data, frame);
        c->next_off = c->classic ? c->next_off + 16u + h->caplen : reader_pos(c);
        return EF_CAPTURE_FRAME;
    }
    if (r == PCAP_ERROR_BREAK)
        return file_end(c, err) == 0 ? EF_CAPTURE_END : EF_CAPTURE_ERROR;
    return file_read_error(c, err);
}

/* Wait until the capture socket is readable, a break arrives or the read
 * timeout passes. Returns 1 (readable or woken), 0 (timeout), -1 (error). */
static int live_wait(ef_capture_t *c, ef_err_t *err)
{
    struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->wake[0], .events = POLLIN}};
    int r = poll(pfd, 2, EF_CAPTURE_READ_TIMEOUT_MS);
    if (r < 0 && errno != EINTR)
        return ef_err_set(err, "live capture on %s: waiting for packets: %s", c->name,
                          strerror(errno));
    /* POLLERR (e.g. the interface went down) is left to the next read:
     * libpcap reports what is fatal (the interface disappeared) and carries
     * on through what is not (down, then up again). */
    if (pfd[0].revents & POLLNVAL)
        return ef_err_set(err, "live capture on %s: the capture socket was closed", c->name);
    return r != 0;
}


static int live_next(ef_capture_t *c, ef_frame_t *frame, ef_err_t *err)
{
    uint64_t since = 0; /* when this call started waiting (ms), 0: not yet */
    for (;;) {
        if (c->stop)
            return EF_CAPTURE_END;
        struct pcap_pkthdr *h;
        const u_char *data;
        int r = pcap_next_ex(c->p, &h, &data);
        if (r == 1) {
            fill_frame(c, h, data, frame);
            return EF_CAPTURE_FRAME;
        }
        if (r == PCAP_ERROR_BREAK)
            return EF_CAPTURE_END;
        if (r < 0)
            return ef_err_set(err, "live capture on %s: %s", c->name, pcap_geterr(c->p));
        /* nothing buffered (non-blocking read), or libpcap's own read timeout */
        if (c->return_on_timeout) {
            /* a socket that keeps waking us with frames libpcap drops (a
             * filter run in user space) must not hold back the timeout */
            uint64_t now = ef_mono_ms();
            if (!since)
                since = now;
            else if (now - since >= EF_CAPTURE_READ_TIMEOUT_MS)
                return EF_CAPTURE_TIMEOUT;
        }
        int w = c->fd >= 0 ? live_wait(c, err) : 0;
        if (w < 0)
            return EF_CAPTURE_ERROR;
        if (w == 0 && c->return_on_timeout && !c->stop)
            return EF_CAPTURE_TIMEOUT;
    }
}

int ef_capture_next(ef_capture_t *c, ef_frame_t *frame, ef_err_t *err)
{
    return c->live ? live_next(c, frame, err) : file_next(c, frame, err);
}

void ef_capture_return_on_timeout(ef_capture_t *c, int on)
{
    c->return_on_timeout = on != 0;
}

void ef_capture_break(ef_capture_t *c)
{
    c->stop = 1;
    if (!c->live)
        return;
    pcap_breakloop(c->p);
    if (c->wake[1] >= 0) { /* wakes live_wait's poll; a full pipe is awake already */
        ssize_t n = write(c->wake[1], "", 1);
        (void)n;
    }
}

int ef_capture_linktype(const ef_capture_t *c)
{
    return c->linktype;
}

const char *ef_capture_name(const ef_capture_t *c)
{
    return c->name;
}

uint64_t ef_capture_bytes_read(const ef_capture_t *c)
{
    return c->live ? 0 : reader_pos(c);
}

uint64_t ef_capture_file_size(const ef_capture_t *c)
{
    return c->file_size;
}

uint64_t ef_capture_packets(const ef_capture_t *c)
{
    return c->packets;
}

/* ------------------------------------------------------------------ */
/* Input lists                                                         */
/* ------------------------------------------------------------------ */

typedef struct strvec {
    char **v;
    int n, cap;
} strvec_t;

static int vec_push(strvec_t *s, char *str)
{
    if (!str)
        return -1;
    if (s->n + 2 > s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(str);
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + (size_t)slash + b + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (slash)
        p[a] = '/';
    memcpy(p + a + (size_t)slash, name, b + 1);
    return p;
}

/* Regular, non-hidden files of `dir`, sorted by name, appended to `out`. */
static int expand_dir(const char *dir, strvec_t *out, ef_err_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ef_err_set(err, "%s: cannot list directory: %s", dir, strerror(errno));
    strvec_t found = {0};
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = join_path(dir, e->d_name);
        struct stat st;
        if (!p || stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (vec_push(&found, p) != 0) {
            rc = ef_err_set(err, "%s: out of memory listing directory", dir);
            break;
        }
    }
    closedir(d);
    if (rc == 0 && found.n == 0)
        rc = ef_err_set(err, "%s: directory holds no files (hidden files and subdirectories "
                             "are skipped)", dir);
    if (rc == 0)
        qsort(found.v, (size_t)found.n, sizeof *found.v, cmp_names);
    for (int i = 0; i < found.n; i++) {
        if (rc == 0 && vec_push(out, found.v[i]) != 0)
            rc = ef_err_set(err, "%s: out of memory listing directory", dir);
        else if (rc != 0)
            free(found.v[i]);
    }
    free(found.v);
    return rc;
}

int ef_capture_expand_inputs(const char *const *paths, int npaths, char ***out, int *nout,
                             ef_err_t *err)
{
    strvec_t list = {0};
    int rc = 0;
    *out = NULL;
    *nout = 0;
    for (int i = 0; i < npaths && rc == 0; i++) {
        const char *p = paths[i];
        struct stat st;
        if (!p || !*p)
            rc = ef_err_set(err, "input %d: empty file name", i + 1);
        else if (strcmp(p, "-") == 0)
            rc = vec_push(&list, strdup(p)) == 0 ? 0 : ef_err_set(err, "out of memory");
        else if (stat(p, &st) != 0)
            rc = ef_err_set(err, "%s: cannot open: %s", p, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = expand_dir(p, &list, err);
        else
            rc = vec_push(&list, strdup(p)) == 0 ? 0 : ef_err_set(err, "out of memory");
    }
    if (rc == 0 && list.n == 0)
        rc = ef_err_set(err, "no input files given");
    if (rc != 0) {
        for (int i = 0; i < list.n; i++)
            free(list.v[i]);
        free(list.v);
        return -1;
    }
    *out = list.v;
    *nout = list.n;
    return 0;
}

void ef_capture_inputs_free(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}
