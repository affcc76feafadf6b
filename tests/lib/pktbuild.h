/* pktbuild: exact frames and capture files for tests.
 *
 * Three layers, each usable alone:
 *
 * 1. Frame builder (pb_frame_t): push headers outermost first, then call
 *    pb_finish(), which fills every IP length (IPv4 total length, IPv6
 *    payload length), UDP length and checksum (IPv4 header, TCP, UDP, ICMP,
 *    ICMPv6) from what was pushed. Nothing else is guessed: what you push is
 *    what is in the frame, byte for byte.
 *        pb_frame_t f;
 *        pb_init(&f);
 *        pb_eth(&f, 0x8100);               // Ethernet, type = 802.1Q
 *        pb_vlan(&f, 42, 0x0800);          // VLAN 42 carrying IPv4
 *        pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6, NULL);
 *        pb_tcp(&f, 40000, 80, PB_SYN, 1000, 0);
 *        pb_finish(&f);                    // f.data / f.len: 14+4+20+20 bytes
 *    Malformed frames: build a good one, then patch f.data, or cut f.len.
 *    Header offsets of the last frame are in f.ip_off[] / f.l4_off[].
 *
 * 2. Capture writers: classic pcap through libpcap's own writer
 *    (pb_writer_*, microsecond or nanosecond timestamps), and a minimal
 *    pcapng writer (pb_ng_*: several interfaces with their own link types,
 *    which libpcap itself cannot write).
 *
 * 3. Flow scripts (pb_flow_t): packets of one conversation with addresses,
 *    ports, TCP sequence numbers and the link header filled in, and a whole
 *    TCP session in one call. IP sizes are exact and documented, so tests
 *    can assert feature values: IPv4 + TCP without options = 40 + payload
 *    bytes, IPv4 + UDP = 28 + payload, IPv4 + ICMP echo = 28 + payload; IPv6
 *    adds 20 to each.
 *
 * Addresses are text ("10.0.0.1", "2001:db8::1"); an unparsable address
 * makes the builder's `error` flag stick (pb_finish then returns -1).
 * Functions returning int return 0 (or a count / length) on success and -1
 * on failure. Not thread-safe per object; no global state. */
#ifndef EF_TEST_PKTBUILD_H
#define EF_TEST_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#define PB_FRAME_MAX 70000 /* largest frame the builder holds */
#define PB_MAX_HDRS 8      /* IP (and L4) headers per frame */

/* TCP flags (same values as on the wire). */
enum {
    PB_FIN = 0x01,
    PB_SYN = 0x02,
    PB_RST = 0x04,
    PB_PSH = 0x08,
    PB_ACK = 0x10,
    PB_URG = 0x20,
};

/* Common EtherTypes / link types (libpcap DLT values). */
enum {
    PB_ETH_IPV4 = 0x0800,
    PB_ETH_ARP = 0x0806,
    PB_ETH_VLAN = 0x8100,
    PB_ETH_QINQ = 0x88a8,
    PB_ETH_QINQ_OLD = 0x9100,
    PB_ETH_IPV6 = 0x86dd,
};
enum {
    PB_DLT_NULL = 0,
    PB_DLT_EN10MB = 1,
    PB_DLT_RAW = 12,
    PB_DLT_RAW_ALT = 14,
    PB_DLT_LINKTYPE_RAW = 101,
    PB_DLT_LOOP = 108,
    PB_DLT_LINUX_SLL = 113,
    PB_DLT_IPV4 = 228,
    PB_DLT_IPV6 = 229,
    PB_DLT_LINUX_SLL2 = 276,
};

/* ------------------------------------------------------------------ */
/* 1. Frame builder                                                    */
/* ------------------------------------------------------------------ */

typedef struct pb_frame {
    uint8_t data[PB_FRAME_MAX];
    size_t len;
    int error;                    /* sticky: overflow, bad address, ... */
    /* headers pushed so far, outermost first (for pb_finish and tests) */
    int nip;
    size_t ip_off[PB_MAX_HDRS];
    uint8_t ip_ver[PB_MAX_HDRS];
    uint8_t ip_len_fixed[PB_MAX_HDRS]; /* 1: length given by caller */
    int nl4;
    size_t l4_off[PB_MAX_HDRS];
    uint8_t l4_proto[PB_MAX_HDRS];
    int l4_ip[PB_MAX_HDRS];       /* index into ip_off of the owning IP header */
} pb_frame_t;

void pb_init(pb_frame_t *f);

/* Link layers. pb_eth: MACs 02:00:00:00:00:01 -> 02:00:00:00:00:02 and
 * `type`; pb_vlan: one tag (TCI = vid, priority 0) followed by `type`. */
void pb_eth(pb_frame_t *f, uint16_t type);
void pb_vlan(pb_frame_t *f, uint16_t vid, uint16_t type);
void pb_sll(pb_frame_t *f, uint16_t type);  /* Linux cooked v1, 16 bytes */
void pb_sll2(pb_frame_t *f, uint16_t type); /* Linux cooked v2, 20 bytes */
/* BSD loopback: address family `af` (2, 24, 28, 30, ...) in big-endian
 * (DLT_LOOP) or little-endian (DLT_NULL written on x86) byte order. */
void pb_null(pb_frame_t *f, uint32_t af, int big_endian);
/* The link header `linktype` uses to carry IP version `ipv` (raw link
 * types: nothing). Ethernet gets `vlan` tags when non-zero (802.1Q). */
void pb_link(pb_frame_t *f, int linktype, int ipv, uint16_t vlan);

/* IPv4. `opt` may be NULL (ttl 64, id 0, not fragmented, no options). */
typedef struct pb_ip4 {
    uint8_t ttl;              /* 0 means 64 */
    uint16_t id;
    uint16_t frag_off;        /* fragment offset in bytes (multiple of 8) */
    int more_frags;           /* MF flag */
    int dont_frag;            /* DF flag */
    const uint8_t *options;   /* copied, then padded with zeros to 4 bytes */
    size_t options_len;       /* at most 40 */
    uint16_t tot_len;         /* non-zero: use as total length as is */
} pb_ip4_t;
void pb_ipv4(pb_frame_t *f, const char *src, const char *dst, uint8_t proto, const pb_ip4_t *opt);

/* IPv6 fixed header with `next` as next header and hop limit 64. */
void pb_ipv6(pb_frame_t *f, const char *src, const char *dst, uint8_t next);
/* Extension header `type` (0 hop-by-hop, 43 routing, 60 destination
 * options: len multiple of 8, >= 8; 51 AH: len multiple of 4, >= 12) whose
 * next header is `next`; the body is zero (routing: type 0, 0 segments). */
void pb_ipv6_ext(pb_frame_t *f, uint8_t type, uint8_t next, size_t len);
/* Fragment header: offset in bytes (multiple of 8), M flag, id. */
void pb_ipv6_frag(pb_frame_t *f, uint8_t next, uint16_t offset, int more, uint32_t id);

/* Transport. pb_tcp: 20-byte header, window 65535; pb_tcp_opts adds
 * `optlen` option bytes (padded with zeros, i.e. EOL, to 4 bytes). */
void pb_tcp(pb_frame_t *f, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
            uint32_t ack);
void pb_tcp_opts(pb_frame_t *f, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                 uint32_t ack, const uint8_t *opts, size_t optlen);
void pb_udp(pb_frame_t *f, uint16_t sport, uint16_t dport);
/* ICMP / ICMPv6: type, code, checksum, then the 4-byte `rest` (echo: id <<
 * 16 | seq; errors: 0, or the MTU for "packet too big"). */
void pb_icmp(pb_frame_t *f, uint8_t type, uint8_t code, uint32_t rest);
void pb_icmp6(pb_frame_t *f, uint8_t type, uint8_t code, uint32_t rest);
/* Payload bytes; data NULL writes len bytes of a fixed pattern (i & 0xff). */
void pb_payload(pb_frame_t *f, const void *data, size_t len);

/* Fill lengths and checksums. Returns the frame length, or -1 when an
 * earlier call failed (error flag). Bytes pushed after pb_finish (e.g.
 * Ethernet padding via pb_payload) are left out of every length. */
int pb_finish(pb_frame_t *f);

/* Parse a textual IPv4/IPv6 address into 16 bytes (IPv4 in the first 4,
 * rest zero). Returns 4 or 6, or -1. */
int pb_addr(const char *text, uint8_t out[16]);

/* ------------------------------------------------------------------ */
/* 2. Capture writers                                                  */
/* ------------------------------------------------------------------ */

typedef struct pb_writer pb_writer_t;

/* Classic pcap via libpcap (pcap_open_dead_with_tstamp_precision +
 * pcap_dump_open), snaplen 262144. `nsec` selects nanosecond timestamps. */
pb_writer_t *pb_writer_open(const char *path, int linktype, int nsec);
int pb_writer_linktype(const pb_writer_t *w);
/* One record. ts_ns is nanoseconds since the epoch (written as µs in a
 * microsecond file, truncating). caplen < len writes a snaplen-truncated
 * record (only caplen bytes stored, wire length len). */
int pb_write_ns(pb_writer_t *w, uint64_t ts_ns, const uint8_t *data, size_t caplen, size_t len);
/* Convenience: whole frame, microsecond timestamp. */
int pb_write(pb_writer_t *w, uint64_t ts_us, const pb_frame_t *f);
/* Flush and close; returns -1 if writing failed at any point. */
int pb_writer_close(pb_writer_t *w);

/* Minimal pcapng writer: a section header, interfaces, enhanced packet
 * blocks. Timestamps are microseconds (default if_tsresol). */
typedef struct pb_ng pb_ng_t;
pb_ng_t *pb_ng_open(const char *path);
/* Adds an interface description block; returns its index. */
int pb_ng_interface(pb_ng_t *w, int linktype);
int pb_ng_packet(pb_ng_t *w, int iface, uint64_t ts_us, const uint8_t *data, size_t len);
int pb_ng_close(pb_ng_t *w);

/* ------------------------------------------------------------------ */
/* 3. Flow scripts                                                     */
/* ------------------------------------------------------------------ */

enum { PB_C2S = 0, PB_S2C = 1 };

typedef struct pb_flow {
    int ipv;              /* 4 or 6 */
    char addr[2][64];     /* [PB_C2S] client, [PB_S2C] server, as text */
    uint16_t port[2];     /* client port, server port */
    uint8_t proto;        /* 6 TCP, 17 UDP, 1/58 ICMP (echo), other: raw */
    uint16_t vlan;        /* 802.1Q tag on Ethernet links (0: none) */
    uint32_t seq[2];      /* next TCP sequence number per side */
} pb_flow_t;

/* A flow between client:cport and server:sport. Initial sequence numbers
 * are 1000 (client) and 5000 (server). Returns -1 on a bad address or
 * mixed IPv4/IPv6. */
int pb_flow_init(pb_flow_t *fl, uint8_t proto, const char *client, uint16_t cport,
                 const char *server, uint16_t sport);

/* Build one packet of the flow (link header for `linktype`) into `f`.
 * TCP: `flags` as given; the ACK number is the peer's next sequence number
 * when PB_ACK is set; SYN and FIN count one sequence number. ICMP: echo
 * request (c2s) / reply (s2c). `payload` NULL: pattern bytes. Returns the
 * frame length or -1. */
int pb_flow_frame(pb_frame_t *f, int linktype, pb_flow_t *fl, int dir, uint8_t flags,
                  const void *payload, size_t len);
/* Build and write one packet. */
int pb_flow_write(pb_writer_t *w, pb_flow_t *fl, uint64_t ts_us, int dir, uint8_t flags,
                  const void *payload, size_t len);

/* A whole TCP session, one packet every gap_us from t0_us:
 *   SYN c->s, SYN+ACK s->c, ACK c->s,
 *   `exchanges` x (PSH+ACK c->s with req_len bytes, PSH+ACK s->c with
 *   resp_len bytes),
 *   FIN+ACK c->s, FIN+ACK s->c, ACK c->s.
 * Returns the number of packets written (6 + 2 * exchanges) or -1. */
int pb_tcp_session(pb_writer_t *w, pb_flow_t *fl, uint64_t t0_us, uint64_t gap_us,
                   int exchanges, size_t req_len, size_t resp_len);

#endif
