/* Packet decode: link layer -> IP -> transport, without copying.
 *
 * ef_decode() reads one captured frame and fills an ef_packet_t with what the
 * flow table and the features need. It never reads past `caplen`, never
 * allocates, and keeps no state, so it is safe to call from any thread.
 *
 * Supported link types (libpcap DLT_* values): EN10MB (Ethernet, with 802.1Q,
 * 802.1ad/QinQ tags), LINUX_SLL, LINUX_SLL2, NULL and LOOP (BSD loopback),
 * RAW / IPV4 / IPV6 (raw IP). Network layer: IPv4 (with options), IPv6 with
 * extension headers (hop-by-hop, routing, fragment, destination options, AH).
 * Transport: TCP, UDP (ports, TCP flags), ICMP and ICMPv6 (type, code); every
 * other IP protocol - including 6in4 (41), GRE (47), ESP (50) and IP-in-IP (4)
 * - is a port-less packet of that protocol: tunnels are flows of their outer
 * header and their payload is not decoded.
 *
 * Sizes: `ip_len` is the IP total length from the header (IPv4 total length,
 * IPv6 payload length + 40), so a frame cut short by the capture's snaplen
 * keeps its true size. A frame whose IP header itself is cut off, or whose
 * transport header is too short to hold the ports, is malformed and counted;
 * a TCP header that holds the ports but not the flags is decoded with
 * EF_PKT_L4_PARTIAL set and flags 0 (PARTIAL is also set when the flags are
 * there but the rest of the TCP header, or UDP's 8 bytes, are not). An empty
 * frame on a raw-IP link type has no version nibble: EF_DEC_MAL_IP_VERSION.
 * Checksums are not verified (offloaded captures carry wrong ones).
 *
 * Fragments: the first fragment (offset 0) carries the transport header and
 * is decoded normally with EF_PKT_FRAG set; a later fragment (offset > 0) has
 * EF_PKT_FRAG_LATER set, no ports (0) and `frag_id` set, so the flow table
 * can attribute it to the flow of its first fragment (see flow.h); its
 * `proto` is that of the fragmented packet (IPv6: the fragment header's next
 * header). Fragments are not reassembled. */
#ifndef EF_NET_DECODE_H
#define EF_NET_DECODE_H

#include <stdint.h>

/* libpcap link types (values fixed by the pcap format). */
enum {
    EF_DLT_NULL = 0,
    EF_DLT_EN10MB = 1,
    EF_DLT_RAW = 12,         /* OpenBSD's value; 14 on some systems */
    EF_DLT_RAW_ALT = 14,
    EF_DLT_LINKTYPE_RAW = 101,
    EF_DLT_LOOP = 108,
    EF_DLT_LINUX_SLL = 113,
    EF_DLT_IPV4 = 228,
    EF_DLT_IPV6 = 229,
    EF_DLT_LINUX_SLL2 = 276,
};

/* ef_packet_t.flags */
enum {
    EF_PKT_HAS_PORTS = 1u << 0,  /* TCP/UDP ports decoded (sport/dport valid) */
    EF_PKT_FRAG = 1u << 1,       /* IP fragment (first or later) */
    EF_PKT_FRAG_LATER = 1u << 2, /* fragment with offset > 0: no L4 header */
    EF_PKT_L4_PARTIAL = 1u << 3, /* transport header cut short by caplen */
    EF_PKT_TRUNCATED = 1u << 4,  /* caplen < bytes the IP header says exist */
};

/* TCP flag bits as on the wire. */
enum {
    EF_TCP_FIN = 0x01,
    EF_TCP_SYN = 0x02,
    EF_TCP_RST = 0x04,
    EF_TCP_PSH = 0x08,
    EF_TCP_ACK = 0x10,
    EF_TCP_URG = 0x20,
};

/* Decode outcome. EF_DEC_OK and EF_DEC_NOT_IP are normal; every value from
 * EF_DEC_MAL_FIRST on is a malformed packet, counted by reason. */
typedef enum ef_decode_status {
    EF_DEC_OK = 0,
    EF_DEC_NOT_IP,              /* valid frame carrying ARP, LLDP, ... */
    EF_DEC_MAL_FIRST,
    EF_DEC_MAL_LINKTYPE = EF_DEC_MAL_FIRST, /* unsupported link type */
    EF_DEC_MAL_LINK_TRUNC,      /* link header (incl. VLAN tags) cut short */
    EF_DEC_MAL_IP_VERSION,      /* IP version field not 4/6 where IP expected */
    EF_DEC_MAL_IP4_TRUNC,       /* fewer than 20 bytes, or options cut short */
    EF_DEC_MAL_IP4_HLEN,        /* IHL < 5 */
    EF_DEC_MAL_IP4_TOTLEN,      /* total length < header length, or > frame */
    EF_DEC_MAL_IP6_TRUNC,       /* fewer than 40 bytes */
    EF_DEC_MAL_IP6_EXT,         /* extension header cut short or chain too long */
    EF_DEC_MAL_IP6_PLEN,        /* payload length larger than the frame */
    EF_DEC_MAL_TCP_TRUNC,       /* not even the 4 port bytes captured */
    EF_DEC_MAL_TCP_HLEN,        /* data offset < 5, or beyond the segment
                                   (the latter not checked on fragments) */
    EF_DEC_MAL_UDP_TRUNC,       /* not even the 4 port bytes captured */
    EF_DEC_MAL_ICMP_TRUNC,      /* not even type and code captured */
    EF_DEC_MAL_VLAN_DEPTH,      /* more than 4 stacked VLAN tags */
    EF_DEC_MAL__COUNT
} ef_decode_status_t;

/* Short stable name of a status, e.g. "ip4_trunc" (for stats and logs). */
const char *ef_decode_status_name(ef_decode_status_t s);

typedef struct ef_packet {
    uint64_t ts_us;       /* capture time, microseconds since the epoch */
    const uint8_t *l3;    /* start of the IP header inside the frame */
    uint32_t l3_caplen;   /* captured bytes from l3 on, at most the IP length
                             (link-layer padding after the packet excluded) */
    uint32_t frag_id;     /* IPv4 identification / IPv6 fragment id */
    uint32_t vlan;        /* one tag: its id; two or more: outer id << 12 | next
                             id (tags beyond the second are skipped); 0: none */
    uint16_t ip_len;      /* IP total length from the header (IPv6: payload
                             length + 40, saturated at 65535) */
    uint16_t sport, dport;/* host byte order; 0 when EF_PKT_HAS_PORTS is clear */
    uint8_t ip_version;   /* 4 or 6 */
    uint8_t proto;        /* transport protocol (after IPv6 extension headers) */
    uint8_t tcp_flags;    /* EF_TCP_* (TCP only) */
    uint8_t icmp_type;    /* ICMP/ICMPv6 only */
    uint8_t icmp_code;
    uint8_t ttl;          /* IPv4 TTL / IPv6 hop limit */
    uint8_t flags;        /* EF_PKT_* */
    uint8_t src[16];      /* IPv4: first 4 bytes, rest zero */
    uint8_t dst[16];
} ef_packet_t;

/* Decode one frame. `wirelen` is the original length on the wire (>= caplen;
 * a smaller value is taken as caplen). On EF_DEC_OK `out` is filled and
 * `out->l3` points into `frame`; on any other status `out` is unspecified. */
ef_decode_status_t ef_decode(int linktype, const uint8_t *frame, uint32_t caplen,
                             uint32_t wirelen, uint64_t ts_us, ef_packet_t *out);

/* Whether ef_decode() supports this link type. */
int ef_decode_linktype_supported(int linktype);

/* Per-reason counters, owned by the caller (one per thread). */
typedef struct ef_decode_stats {
    uint64_t packets;                  /* frames offered to ef_decode */
    uint64_t by_status[EF_DEC_MAL__COUNT];
} ef_decode_stats_t;

static inline void ef_decode_stats_add(ef_decode_stats_t *st, ef_decode_status_t s)
{
    st->packets++;
    st->by_status[s]++;
}

/* Sum of all malformed reasons. */
uint64_t ef_decode_stats_malformed(const ef_decode_stats_t *st);

#endif
