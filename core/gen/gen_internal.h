/* Internals of the traffic generator (core/gen/), shared by its files only.
 *
 * Shape of the generator:
 *   plan (gen_plan.c)     category budgets -> benign spawners + anomaly
 *                         instances (spawners) with owned addresses and the
 *                         label rows they imply
 *   spawn                 a spawner, popped from the time heap, creates flows
 *                         (gen_benign.c, gen_anomaly.c)
 *   shape                 a flow yields its packets in time order: the stream
 *                         engine (gen_stream.c) for TCP / QUIC-like / datagram
 *                         conversations, or a short precomputed script
 *   dynamics (gen.c)      loss, duplication, reordering, jitter, one-way
 *   render (gen_render.c) a packet descriptor becomes bytes in the output
 *                         buffer (gen_output.c), checksums included
 *
 * Time is int64 microseconds since the capture start (may be negative for
 * flows that began before the capture; those packets are not written). */
#ifndef EF_GEN_INTERNAL_H
#define EF_GEN_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gen/gen.h"

/* ------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64. One generator
 * per flow and per spawner, so a flow's packets do not depend on how it
 * interleaves with others. */
typedef struct gen_rng {
    uint64_t s[4];
} gen_rng_t;

static inline uint64_t gen_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline void gen_rng_seed(gen_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ gen_mix64(stream ^ 0x5851f42d4c957f2dull);
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ull;
        r->s[i] = gen_mix64(x);
    }
}

static inline uint64_t gen_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t gen_next(gen_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = gen_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gen_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static inline double gen_u01(gen_rng_t *r)
{
    return (double)(gen_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n). */
static inline uint32_t gen_below(gen_rng_t *r, uint32_t n)
{
    return (uint32_t)(((gen_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform integer in [lo, hi]. */
static inline uint32_t gen_range(gen_rng_t *r, uint32_t lo, uint32_t hi)
{
    return lo + gen_below(r, hi - lo + 1);
}

static inline int gen_chance(gen_rng_t *r, double p)
{
    return p > 0 && gen_u01(r) < p;
}

static inline double gen_exp(gen_rng_t *r, double mean)
{
    return -mean * log1p(-gen_u01(r));
}

double ef_gen_normal(gen_rng_t *r);

static inline double gen_lognormal(gen_rng_t *r, double median, double sigma)
{
    return median * exp(sigma * ef_gen_normal(r));
}

static inline double gen_clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Draw from a lognormal and clamp into [lo, hi]. */
static inline double gen_logn_clamped(gen_rng_t *r, double median, double sigma, double lo,
                                      double hi)
{
    return gen_clampd(gen_lognormal(r, median, sigma), lo, hi);
}

/* Stable hash of a few words (payload contents, names). */
static inline uint64_t gen_hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return gen_mix64(a ^ gen_mix64(b ^ gen_mix64(c)));
}

/* ------------------------------------------------------------------ */
/* Packets and flows */

enum { GEN_TP_TCP = 0, GEN_TP_UDP, GEN_TP_ICMP };

/* Payload prefixes: protocol headers written at the start of a payload
 * (the rest of the payload is pseudo-random filler). */
enum {
    GEN_PFX_NONE = 0,
    GEN_PFX_TLS_CH,      /* TLS ClientHello record */
    GEN_PFX_TLS_SH,      /* ServerHello + ChangeCipherSpec + first app-data record */
    GEN_PFX_TLS_APP,     /* TLS application-data record header */
    GEN_PFX_HTTP_GET,    /* full HTTP/1.1 GET request (parg: 1 robots.txt, 2 flood) */
    GEN_PFX_HTTP_RESP,   /* response header (parg: 1 = 503) */
    GEN_PFX_DNS_Q,
    GEN_PFX_DNS_R,
    GEN_PFX_NTP_C,
    GEN_PFX_NTP_S,
    GEN_PFX_SSH_BANNER,
    GEN_PFX_SSH_PKT,
    GEN_PFX_SMTP,        /* SMTP command / reply line, parg = step */
    GEN_PFX_QUIC_LONG,
    GEN_PFX_QUIC_SHORT,
    GEN_PFX_SSDP,        /* parg: 1 = response */
    GEN_PFX_SIP,
    GEN_PFX_SNMP,
    GEN_PFX_DHT,         /* parg: 0 query, 1 short reply, 2 nodes reply */
    GEN_PFX_BT_HS,
    GEN_PFX_MEMCACHED,   /* parg: 1 = response */
    GEN_PFX_NTP_MON,     /* NTP mode 7 monlist response */
    GEN_PFX_RTP,
    GEN_PFX_ICMP_QUOTE,  /* quoted original datagram of an ICMP error */
    GEN_PFX__COUNT
};

/* One packet before rendering. Everything that must survive duplication or
 * reordering unchanged (IP id, TCP timestamp) is fixed here. */
typedef struct gen_pkt {
    int64_t ts;
    uint32_t seq, ack;   /* TCP; ICMP echo: seq in `seq` */
    uint32_t off;        /* payload offset in its message (datagram index in count mode) */
    uint32_t tsv, tsecr; /* TCP timestamp value and echo reply */
    uint32_t mlen;       /* length of the message this segment belongs to */
    uint16_t plen;       /* transport payload bytes (ICMP: after the 8-byte header) */
    uint16_t msg;        /* message index within the flow */
    uint16_t ipid;
    uint8_t dir;         /* 0 client -> server, 1 server -> client */
    uint8_t flags;       /* TCP flags, or ICMP type */
    uint8_t code;        /* ICMP code */
    uint8_t pfx;         /* GEN_PFX_* */
    uint8_t parg;        /* prefix variant */
    uint8_t synopt;      /* 1: write this side's SYN options */
} gen_pkt_t;

/* A message: what one side sends before the other reacts. */
typedef struct gen_msg {
    uint32_t amount;       /* bytes (stream mode) or datagrams (count mode) */
    uint32_t gap_us;       /* gap pacing: mean spacing; 0: congestion-window pacing */
    uint32_t think_us;     /* sender's delay before the first segment */
    uint32_t ans_delay_us; /* receiver's extra delay before each answer */
    uint16_t seg_min, seg_max; /* count mode: datagram payload sizes */
    uint16_t ans_min, ans_max; /* answer payload sizes (TCP: 0 = pure ACK) */
    uint8_t dir;
    uint8_t pfx, parg;     /* prefix of the first segment (every datagram in count mode) */
    uint8_t ans_pfx, ans_parg;
    uint8_t count_mode;
    uint8_t ans_every;     /* answer every n segments (0: never) */
    uint8_t gap_exp;       /* 1: exponential gaps; 0: regular +-10 % */
    uint8_t ans_prob_pct;  /* count mode: answer probability in % (0 = 100) */
} gen_msg_t;

#define GEN_ANSQ 48
#define GEN_SCRIPT_MAX 8

enum { GEN_CLOSE_NONE = 0, GEN_CLOSE_FIN, GEN_CLOSE_RST };

/* The stream engine's state; see gen_stream.c. */
typedef struct gen_stream {
    uint8_t phase;
    uint8_t handshake;     /* TCP three-way handshake first */
    uint8_t close;         /* GEN_CLOSE_* */
    uint8_t closer;        /* side that closes */
    uint8_t next_state;    /* 0 not fetched, 1 held in `next`, 2 no more messages */
    uint8_t prev_dir;
    uint8_t last_dir;      /* side of the last packet */
    uint8_t qh, qn;        /* answer queue ring */
    uint16_t msg_index;
    uint16_t cwnd_max;
    uint32_t rem, off, unans, round_size, round_pos;
    uint32_t seg_gap_us;   /* bottleneck serialisation time of a full segment */
    uint32_t close_us;     /* idle time before the closer closes */
    int64_t t0, t_last;
    int64_t round_start, next_seg;
    int64_t last_from[2];
    uint32_t nxt[2];
    uint16_t rx[2];        /* data segments received per side (quick ACKs) */
    gen_msg_t m, next;
    struct {
        int64_t ts;
        uint32_t ack;
        uint16_t len;
        uint16_t idx;
    } q[GEN_ANSQ];
} gen_stream_t;

enum { GEN_K_STREAM = 0, GEN_K_SCRIPT };

typedef struct gen_item {
    int64_t key;           /* time of the next event */
    uint64_t uid;          /* creation order: ties break by it */
    uint8_t type;          /* GEN_IT_* */
} gen_item_t;

enum { GEN_IT_FLOW = 0, GEN_IT_SPAWNER };

typedef struct gen_flow gen_flow_t;
struct gen_flow {
    gen_item_t item;
    gen_flow_t *next_free;
    gen_rng_t rng;         /* the flow's shape */
    gen_rng_t drng;        /* network dynamics: apart, so they never change the shape */
    uint64_t hseed;        /* content hash seed */
    /* identity */
    uint8_t ipv;           /* 4 or 6 (inner version for 6in4) */
    uint8_t tp;            /* GEN_TP_* */
    uint8_t encap;         /* 6in4: outer IPv4, protocol 41 */
    uint8_t mac_side;
    uint8_t addr[2][16];   /* [0] client, [1] server */
    uint8_t outer[2][4];   /* 6in4 outer endpoints, [0] on the client side */
    uint16_t port[2];      /* TCP/UDP ports; ICMP echo: port[0] = identifier */
    uint8_t icmp_type[2];  /* ICMP type of segments / answers */
    uint8_t ttl[2];
    uint16_t ipid[2];
    uint16_t win[2], syn_win[2];
    uint16_t mss[2];       /* payload bytes of a full segment */
    uint16_t mss_opt[2];   /* MSS option value announced in the SYN */
    uint8_t synopt[2];     /* GEN_SYNOPT_* */
    uint8_t tsopt;         /* both sides use TCP timestamps */
    uint8_t df;            /* IPv4 don't-fragment */
    uint32_t tsbase[2];
    uint32_t last_tsv[2];  /* each side's latest timestamp value, echoed by the other */
    uint32_t flabel;
    uint32_t d_us[2];      /* one-way delay monitor <-> side */
    /* quoted datagram of ICMP errors */
    uint8_t q_proto;
    uint8_t q_ttl;
    uint8_t q_dst[4];
    uint16_t q_ports[2];
    uint16_t q_len;
    /* truth */
    uint8_t category;
    int32_t anomaly;
    const char *taxonomy;
    const char *shape;
    /* application script */
    uint8_t app;
    uint8_t app_flags;
    uint32_t app_state[4];
    /* dynamics and accounting */
    uint8_t keep;          /* 0 both, 1 client->server only, 2 server->client only */
    uint8_t protect;       /* anomaly: first captured packet never lost/moved */
    uint8_t have_look, have_dup, kind;
    uint32_t passed;       /* packets past loss */
    gen_pkt_t cur, look, dupp;
    int64_t last_out, first_ts;
    uint8_t first_dir, first_flags;
    uint32_t out_pkts, out_c2s;
    uint64_t out_bytes;
    union {
        gen_stream_t st;
        struct {
            gen_pkt_t p[GEN_SCRIPT_MAX + 1]; /* + spare */
            uint8_t n, i;
        } sc;
    } u;
};

enum { GEN_SYNOPT_NONE = 0, GEN_SYNOPT_MSS, GEN_SYNOPT_LINUX, GEN_SYNOPT_WINDOWS, GEN_SYNOPT_MAC };

/* Spawners: a stream of flow start times plus what the flows share. */
#define GEN_MAX_OWNED 8
#define GEN_MAX_PORTS 3

typedef struct gen_spawner {
    gen_item_t item;
    gen_rng_t rng;
    uint8_t category;
    uint8_t variant;       /* GEN_V_* */
    uint8_t nports, nowned;
    uint16_t ports[GEN_MAX_PORTS];
    uint16_t sport;        /* fixed source port (0: random per flow) */
    uint32_t owned[GEN_MAX_OWNED]; /* IPv4, host order */
    int32_t anomaly_id;
    int32_t resp_id;       /* id of the response anomaly (UDP scans), -1 */
    uint16_t heuristic;
    uint8_t nb_detectors;
    uint8_t anomalous;     /* label: anomalous (1) or suspicious (0) */
    double distance;
    const char *taxonomy;
    uint32_t total, done;
    double rate;           /* flows per second */
    int64_t start;
    int64_t cursor;        /* time of the last spawn */
    uint32_t param[6];     /* variant parameters (tool, sizes, ...) */
    /* benign: sorted uniform start times over [t_lo, t_hi) */
    double u;
    int64_t t_lo, t_hi;
} gen_spawner_t;

enum {
    GEN_V_BENIGN = 0,
    GEN_V_BENIGN_PRE,      /* long flows already running at capture start */
    GEN_V_NS_SYN, GEN_V_NS_ACK, GEN_V_NS_UDP, GEN_V_NS_ICMP,
    GEN_V_PS_SYN, GEN_V_PS_CONNECT,
    GEN_V_DOS_DDOSSYN, GEN_V_DOS_PTPSYN, GEN_V_DOS_UDP,
    GEN_V_HTTP_FLOOD, GEN_V_HTTP_CRAWL, GEN_V_HTTP_ALPHA,
    GEN_V_MULTI_PTMP_UDP, GEN_V_MULTI_PTMP_TCP, GEN_V_MULTI_MPTP_UDP, GEN_V_MULTI_REFLECT,
    GEN_V_ALPHA,
    GEN_V_TUNNEL,
    GEN_V_OTHER_TRACE, GEN_V_OTHER_TTL, GEN_V_OTHER_UNREACH,
    GEN_V__COUNT
};

/* ------------------------------------------------------------------ */
/* Output */
typedef struct gen_out {
    int fd;
    char *path;            /* final name */
    char *tmp;             /* temporary name while writing */
    uint8_t *buf;
    size_t len, cap;
    uint64_t bytes;
} gen_out_t;

int ef_gen_out_open(gen_out_t *o, const char *path, size_t cap, ef_err_t *err);
/* Room for n bytes at the end of the buffer (flushing first if needed). */
uint8_t *ef_gen_out_reserve(gen_out_t *o, size_t n, ef_err_t *err);
static inline void gen_out_commit(gen_out_t *o, size_t n)
{
    o->len += n;
    o->bytes += n;
}
int ef_gen_out_printf(gen_out_t *o, ef_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ef_gen_out_flush(gen_out_t *o, ef_err_t *err);
/* Flush and close (the file keeps its temporary name). */
int ef_gen_out_finish(gen_out_t *o, ef_err_t *err);
/* Move the closed temporary file to the final name. */
int ef_gen_out_rename(gen_out_t *o, ef_err_t *err);
/* Close and remove the temporary file (safe to call twice). */
void ef_gen_out_abort(gen_out_t *o);

/* ------------------------------------------------------------------ */
/* The generator context */
#define GEN_FILLER_BYTES 65536u
#define GEN_FILLER_SLACK 4096u

typedef struct gen_ctx {
    ef_gen_config_t cfg;
    gen_rng_t rng;                 /* planning only */
    int64_t end_us;
    /* addresses */
    uint64_t addr_ctr;
    uint32_t addr_key[4];
    uint32_t *clients, nclients;
    uint32_t *servers, nservers;
    double *server_cdf;            /* Zipf popularity */
    uint32_t resolvers[12], ntp_servers[6];
    /* payload filler and its 16-bit word prefix sums */
    uint8_t *filler;
    uint64_t *fsum;
    /* flows */
    uint64_t next_uid;
    gen_flow_t *free_flows;
    void **chunks;
    size_t nchunks, cap_chunks;
    uint64_t active;
    /* time heap */
    gen_item_t **heap;
    size_t nheap, cap_heap;
    /* anomalies */
    gen_spawner_t *spawners;       /* benign first, then anomalies by start */
    size_t nspawners;
    int32_t next_anomaly_id;
    /* output */
    gen_out_t pcap, labels;
    ef_gen_flow_fn on_flow;
    void *user;
    ef_gen_stats_t st;
    ef_err_t *err;
    int failed;
} gen_ctx_t;

/* gen_addr.c */
void ef_gen_addr_init(gen_ctx_t *c);
uint32_t ef_gen_addr_next(gen_ctx_t *c);            /* fresh public-looking IPv4 */
void ef_gen_addr_v6(uint64_t h, uint8_t out[16]);   /* 2001:db8::/32 from a hash */
int ef_gen_addr_usable(uint32_t a);
static inline void gen_put_v4(uint8_t out[16], uint32_t a)
{
    memset(out, 0, 16);
    out[0] = (uint8_t)(a >> 24);
    out[1] = (uint8_t)(a >> 16);
    out[2] = (uint8_t)(a >> 8);
    out[3] = (uint8_t)a;
}
void ef_gen_format_v4(uint32_t a, char out[16]);

/* gen.c: flows and the heap */
gen_flow_t *ef_gen_flow_new(gen_ctx_t *c, int64_t t0, uint8_t category, int32_t anomaly,
                            const char *taxonomy, const char *shape);
/* Choose dynamics, compute the first packet and schedule the flow (or end
 * it at once when nothing of it is captured). */
void ef_gen_flow_start(gen_ctx_t *c, gen_flow_t *f);
void ef_gen_path_delays(gen_flow_t *f);            /* d_us[] from the RTT model */
void ef_gen_host_defaults(gen_flow_t *f, int side, int os); /* ttl, window, options */
/* Recompute timestamps use and segment sizes after changing options/MSS. */
void ef_gen_flow_tcp_update(gen_flow_t *f);
uint16_t ef_gen_ephemeral_port(gen_rng_t *r);

/* gen_stream.c */
void ef_gen_stream_init(gen_flow_t *f, int64_t t0, int handshake);
int ef_gen_stream_next(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p);
/* Scripts: short flows precomputed at creation. */
gen_pkt_t *ef_gen_script_add(gen_flow_t *f, int64_t ts, int dir, uint8_t flags, uint16_t plen);
void ef_gen_script_finish(gen_flow_t *f);
/* Next packet of a flow's shape (stream or script); 0 when it has no more. */
int ef_gen_shape_next(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p);

/* gen_apps.c: message scripts (benign and anomalous applications) */
enum {
    GEN_APP_NONE = 0,
    GEN_APP_HTTPS, GEN_APP_HTTP, GEN_APP_BULK, GEN_APP_SSH, GEN_APP_SMTP, GEN_APP_QUIC,
    GEN_APP_DNS, GEN_APP_NTP, GEN_APP_PING, GEN_APP_RTP, GEN_APP_TCP_OTHER,
    GEN_APP_HTTP_FLOOD, GEN_APP_CRAWL, GEN_APP_HTTP_BULK, GEN_APP_ALPHA_TCP,
    GEN_APP_ALPHA_UDP, GEN_APP_P2P_UDP, GEN_APP_P2P_TCP, GEN_APP_REFLECT, GEN_APP_UDP_FLOOD,
    GEN_APP__COUNT
};
int ef_gen_app_next_msg(gen_ctx_t *c, gen_flow_t *f, gen_msg_t *m);
/* Natural length of a fully determined payload (DNS, HTTP request, ...). */
uint32_t ef_gen_pfx_len(const gen_flow_t *f, uint8_t pfx, uint8_t parg, uint16_t msg,
                        uint32_t idx);

/* gen_benign.c / gen_anomaly.c / gen_plan.c */
void ef_gen_spawn_benign(gen_ctx_t *c, gen_spawner_t *s, int64_t t);
/* A benign server address by Zipf popularity (its pool index in *index). */
uint32_t ef_gen_pick_server(gen_ctx_t *c, gen_rng_t *r, uint32_t *index);
void ef_gen_spawn_anomaly(gen_ctx_t *c, gen_spawner_t *s, int64_t t);
int ef_gen_plan(gen_ctx_t *c, ef_err_t *err);
int ef_gen_write_labels(gen_ctx_t *c, ef_err_t *err);
/* Next spawn time of a spawner, or INT64_MAX when it has no more flows. */
int64_t ef_gen_spawner_next_time(gen_ctx_t *c, gen_spawner_t *s);

/* gen_render.c */
#define GEN_MAX_FRAME 2048
void ef_gen_filler_init(gen_ctx_t *c);
/* Write the frame of p into out (room for GEN_MAX_FRAME bytes); returns the
 * frame length on the wire. */
uint32_t ef_gen_render(const gen_ctx_t *c, const gen_flow_t *f, const gen_pkt_t *p,
                       uint8_t *out, uint16_t *ip_len);
/* Build the payload prefix; returns its natural length (bytes written are
 * min(natural, cap)). */
size_t ef_gen_prefix(const gen_flow_t *f, uint8_t pfx, uint8_t parg, uint16_t msg,
                     uint32_t idx, uint32_t msg_len, uint8_t *buf, size_t cap);

#endif
