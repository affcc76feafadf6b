/* Packet decode: link layer -> IP -> transport (see decode.h).
 *
 * Every read is preceded by a length check against the bytes captured from
 * that point on; offsets only grow and are bounded by caplen, so no input can
 * make the decoder read outside the frame. Headers are read at fixed offsets;
 * the only loops are over VLAN tags and IPv6 extension headers, both bounded
 * by a small constant. */
#include "net/decode.h"

#include <string.h>

/* Deepest VLAN tag stack decoded (QinQ is 2; a few providers stack 3). */
#define VLAN_MAX_TAGS 4
/* Longest IPv6 extension header chain followed before the packet is called
 * malformed: RFC 8200 order uses at most 6 distinct headers, plus slack for a
 * repeated destination options header. */
#define IP6_EXT_MAX 8

enum {
    ETH_IPV4 = 0x0800,
    ETH_IPV6 = 0x86dd,
    ETH_VLAN = 0x8100,
    ETH_QINQ = 0x88a8,
    ETH_QINQ_OLD = 0x9100,
};

enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMP6 = 58 };

static const char *const status_names[EF_DEC_MAL__COUNT] = {
    [EF_DEC_OK] = "ok",
    [EF_DEC_NOT_IP] = "not_ip",
    [EF_DEC_MAL_LINKTYPE] = "linktype",
    [EF_DEC_MAL_LINK_TRUNC] = "link_trunc",
    [EF_DEC_MAL_IP_VERSION] = "ip_version",
    [EF_DEC_MAL_IP4_TRUNC] = "ip4_trunc",
    [EF_DEC_MAL_IP4_HLEN] = "ip4_hlen",
    [EF_DEC_MAL_IP4_TOTLEN] = "ip4_totlen",
    [EF_DEC_MAL_IP6_TRUNC] = "ip6_trunc",
    [EF_DEC_MAL_IP6_EXT] = "ip6_ext",
    [EF_DEC_MAL_IP6_PLEN] = "ip6_plen",
    [EF_DEC_MAL_TCP_TRUNC] = "tcp_trunc",
    [EF_DEC_MAL_TCP_HLEN] = "tcp_hlen",
    [EF_DEC_MAL_UDP_TRUNC] = "udp_trunc",
    [EF_DEC_MAL_ICMP_TRUNC] = "icmp_trunc",
    [EF_DEC_MAL_VLAN_DEPTH] = "vlan_depth",
};

const char *ef_decode_status_name(ef_decode_status_t s)
{
    if ((unsigned)s >= EF_DEC_MAL__COUNT)
        return "invalid";
    return status_names[s];
}

uint64_t ef_decode_stats_malformed(const ef_decode_stats_t *st)
{
    uint64_t n = 0;
    for (int i = EF_DEC_MAL_FIRST; i < EF_DEC_MAL__COUNT; i++)
        n += st->by_status[i];
    return n;
}

int ef_decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case EF_DLT_NULL:
    case EF_DLT_EN10MB:
    case EF_DLT_RAW:
    case EF_DLT_RAW_ALT:
    case EF_DLT_LINKTYPE_RAW:
    case EF_DLT_LOOP:
    case EF_DLT_LINUX_SLL:
    case EF_DLT_IPV4:
    case EF_DLT_IPV6:
    case EF_DLT_LINUX_SLL2:
        return 1;
    default:
        return 0;
    }
}

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where the IP header starts and which version the link layer announced
 * (0: take it from the header's version nibble). */
typedef struct link_result {
    uint32_t l3_off;
    uint32_t vlan;
    int ip_version;
} link_result_t;

/* Ethertype-addressed payload starting at `off` (Ethernet, SLL, SLL2), with
 * any VLAN tags in front of it: each tag is 2 bytes TCI + 2 bytes type. */
static ef_decode_status_t ethertype_payload(const uint8_t *frame, uint32_t caplen, uint16_t type,
                                            uint32_t off, link_result_t *lr)
{
    uint32_t vlan = 0;
    int tags = 0;
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        if (tags == VLAN_MAX_TAGS)
            return EF_DEC_MAL_VLAN_DEPTH;
        if (caplen < 4 || off > caplen - 4)
            return EF_DEC_MAL_LINK_TRUNC;
        uint32_t vid = rd16(frame + off) & 0x0fffu;
        /* Keep the outer two ids: outer << 12 | inner. */
        if (tags < 2)
            vlan = vlan << 12 | vid;
        type = rd16(frame + off + 2);
        off += 4;
        tags++;
    }
    lr->vlan = vlan;
    lr->l3_off = off;
    if (type == ETH_IPV4)
        lr->ip_version = 4;
    else if (type == ETH_IPV6)
        lr->ip_version = 6;
    else
        return EF_DEC_NOT_IP;
    return EF_DEC_OK;
}

static ef_decode_status_t link_ethernet(const uint8_t *frame, uint32_t caplen, link_result_t *lr)
{
    if (caplen < 14)
        return EF_DEC_MAL_LINK_TRUNC;
    return ethertype_payload(frame, caplen, rd16(frame + 12), 14, lr);
}

/* Linux cooked v1: 16 bytes, protocol (ethertype) in the last two. */
static ef_decode_status_t link_sll(const uint8_t *frame, uint32_t caplen, link_result_t *lr)
{
    if (caplen < 16)
        return EF_DEC_MAL_LINK_TRUNC;
    return ethertype_payload(frame, caplen, rd16(frame + 14), 16, lr);
}

/* Linux cooked v2: 20 bytes, protocol (ethertype) in the first two. */
static ef_decode_status_t link_sll2(const uint8_t *frame, uint32_t caplen, link_result_t *lr)
{
    if (caplen < 20)
        return EF_DEC_MAL_LINK_TRUNC;
    return ethertype_payload(frame, caplen, rd16(frame), 20, lr);
}

/* BSD loopback: a 4-byte address family in the byte order of the capturing
 * host (DLT_NULL) or network order (DLT_LOOP); files exist with either, so
 * both orders are accepted. AF_INET6 differs between BSDs: 24, 28 or 30. */
static ef_decode_status_t link_null(const uint8_t *frame, uint32_t caplen, link_result_t *lr)
{
    if (caplen < 4)
        return EF_DEC_MAL_LINK_TRUNC;
    uint32_t af = rd32(frame);
    if (af > 0xffffu)
        af = (uint32_t)frame[3] << 24 | (uint32_t)frame[2] << 16 | (uint32_t)frame[1] << 8 |
             frame[0];
    lr->l3_off = 4;
    lr->vlan = 0;
    switch (af) {
    case 2:
        lr->ip_version = 4;
        return EF_DEC_OK;
    case 24:
    case 28:
    case 30:
        lr->ip_version = 6;
        return EF_DEC_OK;
    default:
        return EF_DEC_NOT_IP;
    }
}

static ef_decode_status_t decode_link(int linktype, const uint8_t *frame, uint32_t caplen,
                                      link_result_t *lr)
{
    switch (linktype) {
    case EF_DLT_EN10MB:
        return link_ethernet(frame, caplen, lr);
    case EF_DLT_LINUX_SLL:
        return link_sll(frame, caplen, lr);
    case EF_DLT_LINUX_SLL2:
        return link_sll2(frame, caplen, lr);
    case EF_DLT_NULL:
    case EF_DLT_LOOP:
        return link_null(frame, caplen, lr);
    case EF_DLT_RAW:
    case EF_DLT_RAW_ALT:
    case EF_DLT_LINKTYPE_RAW:
        lr->l3_off = 0;
        lr->vlan = 0;
        lr->ip_version = 0;
        return EF_DEC_OK;
    case EF_DLT_IPV4:
    case EF_DLT_IPV6:
        lr->l3_off = 0;
        lr->vlan = 0;
        lr->ip_version = linktype == EF_DLT_IPV4 ? 4 : 6;
        return EF_DEC_OK;
    default:
        return EF_DEC_MAL_LINKTYPE;
    }
}

/* Transport header at `l4`: `avail` bytes captured, `seglen` bytes in the
 * segment according to the IP header (avail <= seglen). */
static ef_decode_status_t decode_l4(const uint8_t *l4, uint32_t avail, uint32_t seglen,
                                    ef_packet_t *o)
{
    switch (o->proto) {
    case PROTO_TCP: {
        if (avail < 4)
            return EF_DEC_MAL_TCP_TRUNC;
        o->sport = rd16(l4);
        o->dport = rd16(l4 + 2);
        o->flags |= EF_PKT_HAS_PORTS;
        if (avail < 14) {
            o->flags |= EF_PKT_L4_PARTIAL;
            return EF_DEC_OK;
        }
        uint32_t doff = (uint32_t)(l4[12] >> 4) * 4u;
        /* A first fragment may legitimately end inside its TCP header (a
         * tiny fragment); only a whole segment must hold its header. */
        if (doff < 20 || (doff > seglen && !(o->flags & EF_PKT_FRAG)))
            return EF_DEC_MAL_TCP_HLEN;
        o->tcp_flags = l4[13];
        if (doff > avail)
            o->flags |= EF_PKT_L4_PARTIAL;
        return EF_DEC_OK;
    }
    case PROTO_UDP:
        if (avail < 4)
            return EF_DEC_MAL_UDP_TRUNC;
        o->sport = rd16(l4);
        o->dport = rd16(l4 + 2);
        o->flags |= EF_PKT_HAS_PORTS;
        if (avail < 8)
            o->flags |= EF_PKT_L4_PARTIAL;
        return EF_DEC_OK;
    case PROTO_ICMP:
    case PROTO_ICMP6:
        if (avail < 2)
            return EF_DEC_MAL_ICMP_TRUNC;
        o->icmp_type = l4[0];
        o->icmp_code = l4[1];
        return EF_DEC_OK;
    default:
        return EF_DEC_OK;
    }
}

static ef_decode_status_t decode_ip4(const uint8_t *ip, uint32_t cap, uint32_t wire,
                                     ef_packet_t *o)
{
    if (cap < 20)
        return EF_DEC_MAL_IP4_TRUNC;
    uint32_t hlen = (uint32_t)(ip[0] & 0x0f) * 4u;
    if (hlen < 20)
        return EF_DEC_MAL_IP4_HLEN;
    if (hlen > cap)
        return EF_DEC_MAL_IP4_TRUNC;
    uint32_t tot = rd16(ip + 2);
    if (tot < hlen || tot > wire)
        return EF_DEC_MAL_IP4_TOTLEN;
    if (cap > tot)
        cap = tot; /* link-layer padding is not part of the packet */
    else if (cap < tot)
        o->flags |= EF_PKT_TRUNCATED;
    o->l3 = ip;
    o->l3_caplen = cap;
    o->ip_len = (uint16_t)tot;
    o->ip_version = 4;
    o->ttl = ip[8];
    o->proto = ip[9];
    memcpy(o->src, ip + 12, 4);
    memset(o->src + 4, 0, 12);
    memcpy(o->dst, ip + 16, 4);
    memset(o->dst + 4, 0, 12);
    uint16_t frag = rd16(ip + 6);
    if (frag & 0x3fffu) { /* MF set or offset > 0 */
        o->flags |= EF_PKT_FRAG;
        o->frag_id = rd16(ip + 4);
        if (frag & 0x1fffu) {
            o->flags |= EF_PKT_FRAG_LATER;
            return EF_DEC_OK;
        }
    }
    return decode_l4(ip + hlen, cap - hlen, tot - hlen, o);
}

static ef_decode_status_t decode_ip6(const uint8_t *ip, uint32_t cap, uint32_t wire,
                                     ef_packet_t *o)
{
    if (cap < 40)
        return EF_DEC_MAL_IP6_TRUNC;
    uint32_t tot = (uint32_t)rd16(ip + 4) + 40u;
    if (tot > wire)
        return EF_DEC_MAL_IP6_PLEN;
    if (cap > tot)
        cap = tot;
    else if (cap < tot)
        o->flags |= EF_PKT_TRUNCATED;
    o->l3 = ip;
    o->l3_caplen = cap;
    o->ip_len = tot > 0xffffu ? 0xffffu : (uint16_t)tot;
    o->ip_version = 6;
    o->ttl = ip[7];
    memcpy(o->src, ip + 8, 16);
    memcpy(o->dst, ip + 24, 16);

    uint8_t nh = ip[6];
    uint32_t off = 40;
    for (int n = 0;; n++) {
        uint32_t len;
        switch (nh) {
        case 0:  /* hop-by-hop options */
        case 43: /* routing */
        case 60: /* destination options */
            if (n == IP6_EXT_MAX || cap - off < 2)
                return EF_DEC_MAL_IP6_EXT;
            len = ((uint32_t)ip[off + 1] + 1u) * 8u;
            break;
        case 51: /* authentication header: length in 4-byte units, minus 2 */
            if (n == IP6_EXT_MAX || cap - off < 2)
                return EF_DEC_MAL_IP6_EXT;
            len = ((uint32_t)ip[off + 1] + 2u) * 4u;
            break;
        case 44: { /* fragment */
            if (n == IP6_EXT_MAX || cap - off < 8)
                return EF_DEC_MAL_IP6_EXT;
            uint16_t frag = rd16(ip + off + 2);
            o->flags |= EF_PKT_FRAG;
            o->frag_id = rd32(ip + off + 4);
            nh = ip[off];
            off += 8;
            if (frag & 0xfff8u) {
                o->flags |= EF_PKT_FRAG_LATER;
                o->proto = nh;
                return EF_DEC_OK;
            }
            continue;
        }
        default:
            o->proto = nh;
            return decode_l4(ip + off, cap - off, tot - off, o);
        }
        if (len > cap - off)
            return EF_DEC_MAL_IP6_EXT;
        nh = ip[off];
        off += len;
    }
}

ef_decode_status_t ef_decode(int linktype, const uint8_t *frame, uint32_t caplen,
                             uint32_t wirelen, uint64_t ts_us, ef_packet_t *out)
{
    link_result_t lr;
    ef_decode_status_t st = decode_link(linktype, frame, caplen, &lr);
    if (st != EF_DEC_OK)
        return st;
    if (wirelen < caplen)
        wirelen = caplen; /* a bogus record: trust what was captured */
    const uint8_t *ip = frame + lr.l3_off;
    uint32_t cap = caplen - lr.l3_off, wire = wirelen - lr.l3_off;

    out->ts_us = ts_us;
    out->vlan = lr.vlan;
    out->frag_id = 0;
    out->sport = 0;
    out->dport = 0;
    out->tcp_flags = 0;
    out->icmp_type = 0;
    out->icmp_code = 0;
    out->flags = 0;

    int version = cap ? ip[0] >> 4 : 0;
    if (lr.ip_version == 0) {
        if (version != 4 && version != 6)
            return EF_DEC_MAL_IP_VERSION;
    } else if (cap == 0) {
        return lr.ip_version == 4 ? EF_DEC_MAL_IP4_TRUNC : EF_DEC_MAL_IP6_TRUNC;
    } else if (version != lr.ip_version) {
        return EF_DEC_MAL_IP_VERSION;
    }
    if (version == 4)
        return decode_ip4(ip, cap, wire, out);
    return decode_ip6(ip, cap, wire, out);
}
