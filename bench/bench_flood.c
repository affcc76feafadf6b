/* SYN-flood stream for the flow-table memcap check (bench/run-flood.sh,
 * docs/robustness.md "Flood").
 *
 *   bench_flood [options]              write the capture to stdout
 *   bench_flood [options] -- CMD ARGS  run CMD with the capture on its stdin
 *                                      (e.g. earlyflow run -r -) and report
 *                                      its peak RSS, exit status and time
 *
 * The capture (classic pcap, Ethernet, microsecond timestamps) is written
 * as it is generated, so 10 million flows need no 700 MB file:
 *   1. before the flood, `active` + `idle` legitimate TCP connections open
 *      (SYN, SYN+ACK, ACK) from 10.1.0.0/16 (active) and 10.2.0.0/16 (idle)
 *      to 192.168.1.0/24 port 443;
 *   2. the flood: `flows` SYNs from random spoofed IPv4 sources and ports
 *      to 192.168.0.10:80, at `rate` packets per second of packet time;
 *      after every `every` flood packets, the next active connection (round
 *      robin) sends one packet, alternating client data and server ACK;
 *      idle connections send nothing more;
 *   3. after the flood, every active connection sends one more packet.
 * Random numbers come from a fixed-seed xorshift: the same options give the
 * same bytes. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct opts {
    uint64_t flows;   /* flood SYNs (each a new flow) */
    uint32_t active;  /* legitimate connections that keep sending */
    uint32_t idle;    /* legitimate connections silent during the flood */
    uint32_t every;   /* flood packets between two active-connection packets */
    double rate;      /* flood packets per second of packet time */
    uint64_t seed;
    char **cmd;       /* NULL: write to stdout */
} opts_t;

#define FRAME_LEN 54 /* Ethernet 14 + IPv4 20 + TCP 20 */
#define REC_LEN (16 + FRAME_LEN)
#define OUT_BUF (1u << 20)

typedef struct out {
    FILE *f;
    unsigned char buf[OUT_BUF];
    size_t n;
    uint64_t packets, bytes;
    int failed;
} out_t;

static void out_flush(out_t *o)
{
    if (o->n && !o->failed && fwrite(o->buf, 1, o->n, o->f) != o->n)
        o->failed = 1;
    o->bytes += o->n;
    o->n = 0;
}

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}
static void put32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void pcap_header(out_t *o)
{
    unsigned char *h = o->buf + o->n;
    put32le(h, 0xa1b2c3d4);
    h[4] = 2, h[5] = 0, h[6] = 4, h[7] = 0; /* version 2.4 */
    memset(h + 8, 0, 8);                   /* thiszone, sigfigs */
    put32le(h + 16, 65535);                /* snaplen */
    put32le(h + 20, 1);                    /* Ethernet */
    o->n += 24;
}

/* One Ethernet/IPv4/TCP record with no payload bytes captured; `ip_len`
 * is the IP total length written in the header (payload not captured:
 * caplen 54, wire length 14 + ip_len). */
static void tcp_packet(out_t *o, uint64_t ts_us, uint32_t src, uint32_t dst, uint16_t sport,
                       uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t ip_len)
{
    if (o->n + REC_LEN > OUT_BUF)
        out_flush(o);
    unsigned char *r = o->buf + o->n;
    put32le(r, (uint32_t)(ts_us / 1000000u));
    put32le(r + 4, (uint32_t)(ts_us % 1000000u));
    put32le(r + 8, FRAME_LEN);
    put32le(r + 12, 14u + ip_len);
    unsigned char *e = r + 16;
    static const unsigned char macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    memcpy(e, macs, 12);
    put16(e + 12, 0x0800);
    unsigned char *ip = e + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, ip_len);
    put16(ip + 4, (uint16_t)seq);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    put16(ip + 10, 0);
    put32(ip + 12, src);
    put32(ip + 16, dst);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, (uint16_t)~sum);
    unsigned char *t = ip + 20;
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    put32(t + 16, 0); /* checksum and urgent pointer: not verified by anyone */
    o->n += REC_LEN;
    o->packets++;
}

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Legitimate connection i: client 10.{1,2}.x.y:(20000 + i % 40000) ->
 * 192.168.1.(i % 250 + 1):443. */
typedef struct conn {
    uint32_t client, server;
    uint16_t cport;
    uint32_t cseq, sseq;
    int turn; /* 0: client sends next, 1: server */
} conn_t;

static void conn_init(conn_t *c, uint32_t i, int idle)
{
    c->client = (10u << 24) | ((idle ? 2u : 1u) << 16) | ((i / 250u) << 8) | (i % 250u + 1u);
    c->server = (192u << 24) | (168u << 16) | (1u << 8) | (i % 250u + 1u);
    c->cport = (uint16_t)(20000u + i % 40000u);
    c->cseq = 1000u + i;
    c->sseq = 900000u + i;
    c->turn = 0;
}

static void conn_handshake(out_t *o, conn_t *c, uint64_t ts)
{
    tcp_packet(o, ts, c->client, c->server, c->cport, 443, SYN, c->cseq++, 0, 40);
    tcp_packet(o, ts + 100, c->server, c->client, 443, c->cport, SYN | ACK, c->sseq++, c->cseq, 40);
    tcp_packet(o, ts + 200, c->client, c->server, c->cport, 443, ACK, c->cseq, c->sseq, 40);
}

static void conn_next(out_t *o, conn_t *c, uint64_t ts)
{
    if (c->turn == 0) {
        tcp_packet(o, ts, c->client, c->server, c->cport, 443, PSH | ACK, c->cseq, c->sseq, 140);
        c->cseq += 100;
    } else {
        tcp_packet(o, ts, c->server, c->client, 443, c->cport, ACK, c->sseq, c->cseq, 40);
    }
    c->turn ^= 1;
}

static int generate(const opts_t *op, out_t *o)
{
    uint32_t nconn = op->active + op->idle;
    conn_t *conns = calloc(nconn ? nconn : 1, sizeof *conns);
    if (!conns)
        return -1;
    uint64_t ts = 1600000000000000ull; /* 2020-09-13 */
    pcap_header(o);
    for (uint32_t i = 0; i < nconn; i++) {
        conn_init(&conns[i], i < op->active ? i : i - op->active, i >= op->active);
        conn_handshake(o, &conns[i], ts);
        ts += 1000;
    }
    uint64_t t0 = ts + 100000, rng = op->seed * 0x9e3779b97f4a7c15ull + 1;
    const uint32_t target = (192u << 24) | (168u << 16) | 10u;
    uint32_t next_active = 0;
    for (uint64_t i = 0; i < op->flows && !o->failed; i++) {
        uint64_t r = xorshift(&rng);
        uint32_t src = (uint32_t)r;
        if ((src >> 24) == 10 || (src >> 24) == 192) /* keep out of the legitimate ranges */
            src ^= 0x80000000u;
        uint64_t now = t0 + (uint64_t)((double)i * 1e6 / op->rate);
        tcp_packet(o, now, src, target, (uint16_t)(1024u + (r >> 32) % 64000u), 80, SYN,
                   (uint32_t)(r >> 16), 0, 40);
        if (op->active && op->every && (i + 1) % op->every == 0) {
            conn_next(o, &conns[next_active], now);
            next_active = (next_active + 1) % op->active;
        }
    }
    ts = t0 + (uint64_t)((double)op->flows * 1e6 / op->rate) + 1000;
    for (uint32_t i = 0; i < op->active; i++)
        conn_next(o, &conns[i], ts + i);
    out_flush(o);
    free(conns);
    return o->failed ? -1 : 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Run cmd with our output on its stdin; report its peak RSS. */
static int run_child(const opts_t *op, out_t *o)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("bench_flood: pipe");
        return 1;
    }
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_flood: fork");
        return 1;
    }
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execvp(op->cmd[0], op->cmd);
        fprintf(stderr, "bench_flood: cannot run %s: %s\n", op->cmd[0], strerror(errno));
        _exit(127);
    }
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    o->f = fdopen(fds[1], "w");
    int gen = o->f ? generate(op, o) : -1;
    if (o->f)
        fclose(o->f);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    double secs = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("flood.packets %" PRIu64 "\n", o->packets);
    printf("flood.bytes %" PRIu64 "\n", o->bytes);
    printf("flood.seconds %.2f\n", secs);
    printf("flood.packets_per_s %.0f\n", secs > 0 ? (double)o->packets / secs : 0.0);
    printf("child.peak_rss_kib %ld\n", ru.ru_maxrss);
    if (WIFEXITED(status))
        printf("child.exit %d\n", WEXITSTATUS(status));
    else
        printf("child.signal %d\n", WTERMSIG(status));
    fflush(stdout);
    if (gen < 0 && !(WIFEXITED(status) && WEXITSTATUS(status) != 0))
        fprintf(stderr, "bench_flood: the child stopped reading its input\n");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && gen == 0 ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_flood [-n FLOWS] [-a ACTIVE] [-i IDLE] [-e EVERY] [-r RATE] [-s SEED]\n"
               "                   [-- CMD ARGS...]\n"
               "  -n FLOWS   flood SYNs, each a new flow (default 10000000)\n"
               "  -a ACTIVE  legitimate connections that keep sending (default 200)\n"
               "  -i IDLE    legitimate connections silent during the flood (default 100)\n"
               "  -e EVERY   flood packets between two active-connection packets (default 100)\n"
               "  -r RATE    flood packets per second of packet time (default 2000000)\n"
               "  -s SEED    random seed (default 1)\n"
               "Without CMD the capture goes to stdout; with CMD it goes to CMD's stdin and\n"
               "CMD's peak RSS, exit status and time are printed.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end || !*s || *s == '-')
        return -1;
    *v = x;
    return 0;
}

int main(int argc, char **argv)
{
    opts_t op = {10000000u, 200, 100, 100, 2e6, 1, NULL};
    int c;
    uint64_t v = 0;
    while ((c = getopt(argc, argv, "n:a:i:e:r:s:h")) != -1) {
        int bad = c != 'h' && parse_u64(optarg, &v) != 0;
        switch (c) {
        case 'n': op.flows = v; break;
        case 'a': op.active = (uint32_t)v; bad |= v > 1000000; break;
        case 'i': op.idle = (uint32_t)v; bad |= v > 1000000; break;
        case 'e': op.every = (uint32_t)v; break;
        case 'r': op.rate = (double)v; bad |= v == 0; break;
        case 's': op.seed = v; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "bench_flood: -%c: bad value '%s'\n", c, optarg);
            return 2;
        }
    }
    if (optind < argc)
        op.cmd = argv + optind;
    static out_t o;
    if (!op.cmd) {
        o.f = stdout;
        return generate(&op, &o) == 0 ? 0 : 1;
    }
    return run_child(&op, &o);
}
