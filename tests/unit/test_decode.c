/* Packet decode: exact results per link type and header variant, every
 * malformed reason, and truncation at every byte never reading out of bounds
 * (frames are decoded from heap copies of exactly caplen bytes, so ASan or
 * valgrind catch any overread). */
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "net/decode.h"
#include "pktbuild.h"

/* Decode the first `caplen` bytes of `f` (wire length f->len) from an exact
 * heap copy. */
static ef_decode_status_t dec_n(int lt, const pb_frame_t *f, size_t caplen, ef_packet_t *p)
{
    uint8_t *copy = malloc(caplen ? caplen : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, f->data, caplen);
    memset(p, 0xa5, sizeof *p);
    ef_decode_status_t st = ef_decode(lt, copy, (uint32_t)caplen, (uint32_t)f->len, 77, p);
    if (st == EF_DEC_OK) {
        /* l3 must lie inside the frame and l3_caplen must not exceed it */
        ck_assert(p->l3 >= copy && p->l3 <= copy + caplen);
        ck_assert_uint_le((size_t)(p->l3 - copy) + p->l3_caplen, caplen);
        /* rebase to the builder's buffer so callers can compare offsets */
        p->l3 = f->data + (p->l3 - copy);
    }
    free(copy);
    return st;
}

static ef_decode_status_t dec(int lt, const pb_frame_t *f, ef_packet_t *p)
{
    return dec_n(lt, f, f->len, p);
}

static void assert_addr(const uint8_t got[16], const char *text)
{
    uint8_t want[16];
    ck_assert_int_gt(pb_addr(text, want), 0);
    ck_assert_msg(memcmp(got, want, 16) == 0, "address differs from %s", text);
}

/* Ethernet/IPv4/TCP SYN 10.0.0.1:40000 -> 10.0.0.2:80 with `extra` payload. */
static void build_v4_tcp(pb_frame_t *f, int lt, uint8_t flags, size_t payload)
{
    pb_init(f);
    pb_link(f, lt, 4, 0);
    pb_ipv4(f, "10.0.0.1", "10.0.0.2", 6, NULL);
    pb_tcp(f, 40000, 80, flags, 1, 0);
    pb_payload(f, NULL, payload);
    ck_assert_int_gt(pb_finish(f), 0);
}

static void assert_v4_tcp(const ef_packet_t *p, const pb_frame_t *f, size_t l3_off,
                          uint16_t ip_len)
{
    ck_assert_ptr_eq(p->l3, f->data + l3_off);
    ck_assert_uint_eq(p->l3_caplen, f->len - l3_off);
    ck_assert_uint_eq(p->ip_version, 4);
    ck_assert_uint_eq(p->proto, 6);
    ck_assert_uint_eq(p->ip_len, ip_len);
    ck_assert_uint_eq(p->sport, 40000);
    ck_assert_uint_eq(p->dport, 80);
    ck_assert_uint_eq(p->tcp_flags, EF_TCP_SYN);
    ck_assert_uint_eq(p->flags, EF_PKT_HAS_PORTS);
    ck_assert_uint_eq(p->ttl, 64);
    ck_assert_uint_eq(p->ts_us, 77);
    ck_assert_uint_eq(p->frag_id, 0);
    assert_addr(p->src, "10.0.0.1");
    assert_addr(p->dst, "10.0.0.2");
}

START_TEST(each_link_type_finds_ip)
{
    static const struct { int lt; size_t off; } cases[] = {
        {EF_DLT_EN10MB, 14}, {EF_DLT_LINUX_SLL, 16}, {EF_DLT_LINUX_SLL2, 20},
        {EF_DLT_NULL, 4},    {EF_DLT_LOOP, 4},       {EF_DLT_RAW, 0},
        {EF_DLT_RAW_ALT, 0}, {EF_DLT_LINKTYPE_RAW, 0}, {EF_DLT_IPV4, 0},
    };
    pb_frame_t f;
    ef_packet_t p;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        build_v4_tcp(&f, cases[i].lt, PB_SYN, 10);
        ck_assert_uint_eq(f.len, cases[i].off + 50);
        ck_assert_int_eq(dec(cases[i].lt, &f, &p), EF_DEC_OK);
        assert_v4_tcp(&p, &f, cases[i].off, 50);
        ck_assert_uint_eq(p.vlan, 0);
        ck_assert(ef_decode_linktype_supported(cases[i].lt));
    }
}
END_TEST

START_TEST(ipv6_on_each_link_type)
{
    static const int lts[] = {EF_DLT_EN10MB, EF_DLT_LINUX_SLL, EF_DLT_LINUX_SLL2, EF_DLT_NULL,
                              EF_DLT_LOOP,   EF_DLT_RAW,       EF_DLT_IPV6};
    pb_frame_t f;
    ef_packet_t p;
    for (size_t i = 0; i < sizeof lts / sizeof lts[0]; i++) {
        pb_init(&f);
        pb_link(&f, lts[i], 6, 0);
        size_t off = f.len;
        pb_ipv6(&f, "2001:db8::1", "2001:db8::2", 17);
        pb_udp(&f, 5353, 53);
        pb_payload(&f, NULL, 12);
        pb_finish(&f);
        ck_assert_int_eq(dec(lts[i], &f, &p), EF_DEC_OK);
        ck_assert_ptr_eq(p.l3, f.data + off);
        ck_assert_uint_eq(p.ip_version, 6);
        ck_assert_uint_eq(p.proto, 17);
        ck_assert_uint_eq(p.ip_len, 60);
        ck_assert_uint_eq(p.sport, 5353);
        ck_assert_uint_eq(p.dport, 53);
        ck_assert_uint_eq(p.ttl, 64);
        assert_addr(p.src, "2001:db8::1");
        assert_addr(p.dst, "2001:db8::2");
    }
}
END_TEST

START_TEST(null_link_accepts_both_byte_orders_and_all_inet6_values)
{
    static const uint32_t v6[] = {24, 28, 30};
    pb_frame_t f;
    ef_packet_t p;
    for (int be = 0; be < 2; be++) {
        for (size_t i = 0; i < 3; i++) {
            pb_init(&f);
            pb_null(&f, v6[i], be);
            pb_ipv6(&f, "::1", "::2", 58);
            pb_icmp6(&f, 128, 0, 0);
            pb_finish(&f);
            ck_assert_int_eq(dec(be ? EF_DLT_LOOP : EF_DLT_NULL, &f, &p), EF_DEC_OK);
            ck_assert_uint_eq(p.ip_version, 6);
            ck_assert_uint_eq(p.icmp_type, 128);
        }
        pb_init(&f);
        pb_null(&f, 2, be);
        pb_ipv4(&f, "127.0.0.1", "127.0.0.1", 1, NULL);
        pb_icmp(&f, 8, 0, 0);
        pb_finish(&f);
        ck_assert_int_eq(dec(EF_DLT_NULL, &f, &p), EF_DEC_OK);
        ck_assert_uint_eq(p.ip_version, 4);
        /* an unknown address family (7: AF_ISO... whatever) is not IP */
        pb_init(&f);
        pb_null(&f, 7, be);
        pb_payload(&f, NULL, 30);
        pb_finish(&f);
        ck_assert_int_eq(dec(EF_DLT_NULL, &f, &p), EF_DEC_NOT_IP);
    }
}
END_TEST

START_TEST(vlan_tags_single_qinq_and_9100)
{
    static const uint16_t outer_tpids[] = {PB_ETH_VLAN, PB_ETH_QINQ, PB_ETH_QINQ_OLD};
    pb_frame_t f;
    ef_packet_t p;
    /* single 802.1Q tag */
    pb_init(&f);
    pb_eth(&f, PB_ETH_VLAN);
    pb_vlan(&f, 42, PB_ETH_IPV4);
    pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6, NULL);
    pb_tcp(&f, 40000, 80, PB_SYN, 1, 0);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    assert_v4_tcp(&p, &f, 18, 40);
    ck_assert_uint_eq(p.vlan, 42);
    /* two tags, each outer TPID */
    for (size_t i = 0; i < 3; i++) {
        pb_init(&f);
        pb_eth(&f, outer_tpids[i]);
        pb_vlan(&f, 100, PB_ETH_VLAN);
        pb_vlan(&f, 200, PB_ETH_IPV4);
        pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6, NULL);
        pb_tcp(&f, 40000, 80, PB_SYN, 1, 0);
        pb_finish(&f);
        ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
        assert_v4_tcp(&p, &f, 22, 40);
        ck_assert_uint_eq(p.vlan, 100u << 12 | 200u);
    }
    /* four tags decode (outer two kept); five are too deep */
    for (int tags = 3; tags <= 5; tags++) {
        pb_init(&f);
        pb_eth(&f, PB_ETH_QINQ);
        for (int t = 1; t <= tags; t++)
            pb_vlan(&f, (uint16_t)t, t == tags ? PB_ETH_IPV4 : PB_ETH_VLAN);
        pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6, NULL);
        pb_tcp(&f, 40000, 80, PB_SYN, 1, 0);
        pb_finish(&f);
        ef_decode_status_t st = dec(EF_DLT_EN10MB, &f, &p);
        if (tags <= 4) {
            ck_assert_int_eq(st, EF_DEC_OK);
            ck_assert_uint_eq(p.vlan, 1u << 12 | 2u);
            ck_assert_uint_eq(p.dport, 80);
        } else {
            ck_assert_int_eq(st, EF_DEC_MAL_VLAN_DEPTH);
        }
    }
    /* VLAN on a Linux cooked capture */
    pb_init(&f);
    pb_sll(&f, PB_ETH_VLAN);
    pb_vlan(&f, 7, PB_ETH_IPV6);
    pb_ipv6(&f, "::1", "::2", 17);
    pb_udp(&f, 1, 2);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_LINUX_SLL, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.vlan, 7);
    ck_assert_uint_eq(p.dport, 2);
}
END_TEST

START_TEST(non_ip_frames)
{
    pb_frame_t f;
    ef_packet_t p;
    pb_init(&f);
    pb_eth(&f, PB_ETH_ARP);
    pb_payload(&f, NULL, 28);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_NOT_IP);
    /* 802.3 length field + LLC */
    pb_init(&f);
    pb_eth(&f, 46);
    pb_payload(&f, NULL, 46);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_NOT_IP);
    pb_init(&f);
    pb_sll2(&f, PB_ETH_ARP);
    pb_payload(&f, NULL, 28);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_LINUX_SLL2, &f, &p), EF_DEC_NOT_IP);
    /* VLAN-tagged ARP */
    pb_init(&f);
    pb_eth(&f, PB_ETH_VLAN);
    pb_vlan(&f, 3, PB_ETH_ARP);
    pb_payload(&f, NULL, 28);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_NOT_IP);
}
END_TEST

START_TEST(ipv4_options_are_skipped)
{
    static const uint8_t opts[] = {0x94, 0x04, 0x00, 0x00, /* router alert */
                                   0x01, 0x07, 0x03, 0x04}; /* NOP, RR (cut, any bytes) */
    pb_frame_t f;
    ef_packet_t p;
    pb_ip4_t o = {.options = opts, .options_len = sizeof opts, .ttl = 3};
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "192.0.2.1", "198.51.100.7", 17, &o);
    pb_udp(&f, 123, 4567);
    pb_payload(&f, NULL, 5);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.ip_len, 28 + 8 + 5);
    ck_assert_uint_eq(p.sport, 123);
    ck_assert_uint_eq(p.dport, 4567);
    ck_assert_uint_eq(p.ttl, 3);
    assert_addr(p.src, "192.0.2.1");
    assert_addr(p.dst, "198.51.100.7");
}
END_TEST

START_TEST(ipv6_extension_headers)
{
    pb_frame_t f;
    ef_packet_t p;
    /* hop-by-hop (8) -> routing (24) -> destination options (16) -> AH (24)
     * -> TCP: AH's length counts 4-byte units minus 2 */
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV6);
    pb_ipv6(&f, "2001:db8::a", "2001:db8::b", 0);
    pb_ipv6_ext(&f, 0, 43, 8);
    pb_ipv6_ext(&f, 43, 60, 24);
    pb_ipv6_ext(&f, 60, 51, 16);
    pb_ipv6_ext(&f, 51, 6, 24);
    pb_tcp(&f, 1234, 443, PB_SYN | PB_ACK, 9, 10);
    pb_payload(&f, NULL, 3);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.proto, 6);
    ck_assert_uint_eq(p.sport, 1234);
    ck_assert_uint_eq(p.dport, 443);
    ck_assert_uint_eq(p.tcp_flags, EF_TCP_SYN | EF_TCP_ACK);
    ck_assert_uint_eq(p.ip_len, 40 + 8 + 24 + 16 + 24 + 20 + 3);
    ck_assert_uint_eq(p.flags, EF_PKT_HAS_PORTS);
    /* the same chain, AH length read the hop-by-hop way, would land 4 bytes
     * off: ports would differ. Check a minimal 12-byte AH too. */
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 51);
    pb_ipv6_ext(&f, 51, 17, 12);
    pb_udp(&f, 777, 888);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.sport, 777);
    ck_assert_uint_eq(p.dport, 888);
    /* no next header (59): port-less */
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 60);
    pb_ipv6_ext(&f, 60, 59, 8);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.proto, 59);
    ck_assert_uint_eq(p.flags, 0);
}
END_TEST

START_TEST(ipv6_extension_chain_limits)
{
    pb_frame_t f;
    ef_packet_t p;
    /* 8 destination options headers are followed, 9 are too many */
    for (int n = 8; n <= 9; n++) {
        pb_init(&f);
        pb_ipv6(&f, "::1", "::2", 60);
        for (int i = 0; i < n; i++)
            pb_ipv6_ext(&f, 60, i == n - 1 ? 17 : 60, 8);
        pb_udp(&f, 1, 2);
        pb_finish(&f);
        ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), n == 8 ? EF_DEC_OK : EF_DEC_MAL_IP6_EXT);
    }
    /* an extension header longer than the payload */
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 0);
    pb_ipv6_ext(&f, 0, 17, 8);
    pb_udp(&f, 1, 2);
    pb_finish(&f);
    f.data[41] = 3; /* claims 32 bytes; 16 remain */
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_MAL_IP6_EXT);
    /* fragment header cut short */
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 44);
    pb_payload(&f, NULL, 6);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_MAL_IP6_EXT);
}
END_TEST

START_TEST(transport_variants)
{
    pb_frame_t f;
    ef_packet_t p;
    /* ICMP echo */
    pb_init(&f);
    pb_ipv4(&f, "10.1.1.1", "10.2.2.2", 1, NULL);
    pb_icmp(&f, 8, 0, 0x00010002);
    pb_payload(&f, NULL, 56);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.proto, 1);
    ck_assert_uint_eq(p.icmp_type, 8);
    ck_assert_uint_eq(p.icmp_code, 0);
    ck_assert_uint_eq(p.ip_len, 84);
    ck_assert_uint_eq(p.flags, 0);
    ck_assert_uint_eq(p.sport, 0);
    /* ICMP error (port unreachable) quoting a UDP packet: its own flow,
     * port-less, type/code of the outer message */
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "10.2.2.2", "10.1.1.1", 1, NULL);
    pb_icmp(&f, 3, 3, 0);
    pb_ip4_t inner = {.tot_len = 100};
    pb_ipv4(&f, "10.1.1.1", "10.2.2.2", 17, &inner);
    pb_udp(&f, 5000, 33434);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.proto, 1);
    ck_assert_uint_eq(p.icmp_type, 3);
    ck_assert_uint_eq(p.icmp_code, 3);
    ck_assert_uint_eq(p.ip_len, 20 + 8 + 20 + 8);
    ck_assert_uint_eq(p.flags, 0);
    assert_addr(p.src, "10.2.2.2");
    /* ICMPv6 */
    pb_init(&f);
    pb_ipv6(&f, "fe80::1", "ff02::1", 58);
    pb_icmp6(&f, 134, 0, 0);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_IPV6, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.icmp_type, 134);
    /* GRE and ESP: port-less, proto kept */
    static const uint8_t others[] = {47, 50, 4, 132};
    for (size_t i = 0; i < sizeof others; i++) {
        pb_init(&f);
        pb_ipv4(&f, "10.0.0.1", "10.0.0.2", others[i], NULL);
        pb_payload(&f, NULL, 24);
        pb_finish(&f);
        ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
        ck_assert_uint_eq(p.proto, others[i]);
        ck_assert_uint_eq(p.flags, 0);
        ck_assert_uint_eq(p.sport + p.dport, 0);
    }
}
END_TEST

START_TEST(six_in_four_is_the_outer_flow)
{
    pb_frame_t f;
    ef_packet_t p;
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "192.0.2.1", "192.88.99.1", 41, NULL);
    pb_ipv6(&f, "2002:c000:201::1", "2001:db8::1", 6);
    pb_tcp(&f, 50000, 80, PB_SYN, 1, 0);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.ip_version, 4);
    ck_assert_uint_eq(p.proto, 41);
    ck_assert_uint_eq(p.ip_len, 20 + 40 + 20);
    ck_assert_uint_eq(p.flags, 0);
    ck_assert_uint_eq(p.sport, 0);
    ck_assert_uint_eq(p.tcp_flags, 0);
    assert_addr(p.src, "192.0.2.1");
    assert_addr(p.dst, "192.88.99.1");
}
END_TEST

START_TEST(ipv4_fragments)
{
    pb_frame_t f;
    ef_packet_t p;
    pb_ip4_t first = {.id = 0xbeef, .more_frags = 1};
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 17, &first);
    pb_udp(&f, 1111, 2222);
    pb_payload(&f, NULL, 1472);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_FRAG | EF_PKT_HAS_PORTS);
    ck_assert_uint_eq(p.frag_id, 0xbeef);
    ck_assert_uint_eq(p.sport, 1111);
    /* later fragment: its first bytes look like ports but must not be read */
    pb_ip4_t later = {.id = 0xbeef, .frag_off = 1480};
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 17, &later);
    pb_payload(&f, "\x12\x34\x56\x78\x00\x10\x00\x00", 8);
    pb_payload(&f, NULL, 100);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_FRAG | EF_PKT_FRAG_LATER);
    ck_assert_uint_eq(p.frag_id, 0xbeef);
    ck_assert_uint_eq(p.proto, 17);
    ck_assert_uint_eq(p.sport, 0);
    ck_assert_uint_eq(p.dport, 0);
    ck_assert_uint_eq(p.ip_len, 128);
    /* DF alone is not a fragment */
    pb_ip4_t df = {.dont_frag = 1, .id = 9};
    pb_init(&f);
    pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6, &df);
    pb_tcp(&f, 1, 2, PB_ACK, 0, 0);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_HAS_PORTS);
    ck_assert_uint_eq(p.frag_id, 0);
    /* a tiny first fragment holding only the ports is not malformed */
    pb_ip4_t tiny = {.id = 5, .more_frags = 1};
    pb_init(&f);
    pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6, &tiny);
    pb_tcp(&f, 1, 2, PB_SYN, 0, 0);
    pb_finish(&f);
    f.len -= 4; /* 16 TCP bytes in this fragment */
    f.data[3] = 36;
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_FRAG | EF_PKT_HAS_PORTS | EF_PKT_L4_PARTIAL);
    ck_assert_uint_eq(p.tcp_flags, EF_TCP_SYN);
}
END_TEST

START_TEST(ipv6_fragments)
{
    pb_frame_t f;
    ef_packet_t p;
    pb_init(&f);
    pb_ipv6(&f, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(&f, 0, 44, 8);
    pb_ipv6_frag(&f, 17, 0, 1, 0xcafe0001);
    pb_udp(&f, 53, 5353);
    pb_payload(&f, NULL, 64);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_FRAG | EF_PKT_HAS_PORTS);
    ck_assert_uint_eq(p.frag_id, 0xcafe0001);
    ck_assert_uint_eq(p.sport, 53);
    pb_init(&f);
    pb_ipv6(&f, "2001:db8::1", "2001:db8::2", 44);
    pb_ipv6_frag(&f, 17, 72, 0, 0xcafe0001);
    pb_payload(&f, NULL, 30);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_FRAG | EF_PKT_FRAG_LATER);
    ck_assert_uint_eq(p.proto, 17);
    ck_assert_uint_eq(p.frag_id, 0xcafe0001);
    ck_assert_uint_eq(p.ip_len, 40 + 8 + 30);
    ck_assert_uint_eq(p.sport, 0);
    /* atomic fragment (offset 0, no M flag): decoded fully */
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 44);
    pb_ipv6_frag(&f, 6, 0, 0, 1);
    pb_tcp(&f, 10, 20, PB_RST, 0, 0);
    pb_finish(&f);
    ck_assert_int_eq(dec(EF_DLT_RAW, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_FRAG | EF_PKT_HAS_PORTS);
    ck_assert_uint_eq(p.tcp_flags, EF_TCP_RST);
}
END_TEST

START_TEST(snaplen_truncated_frames_keep_true_size)
{
    pb_frame_t f;
    ef_packet_t p;
    build_v4_tcp(&f, EF_DLT_EN10MB, PB_SYN | PB_ACK, 1400);
    /* snaplen 68: IP + TCP headers complete, payload cut */
    ck_assert_int_eq(dec_n(EF_DLT_EN10MB, &f, 68, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.ip_len, 1440);
    ck_assert_uint_eq(p.l3_caplen, 54);
    ck_assert_uint_eq(p.flags, EF_PKT_HAS_PORTS | EF_PKT_TRUNCATED);
    ck_assert_uint_eq(p.tcp_flags, EF_TCP_SYN | EF_TCP_ACK);
    /* cut inside the TCP header after the flags */
    ck_assert_int_eq(dec_n(EF_DLT_EN10MB, &f, 14 + 20 + 16, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_HAS_PORTS | EF_PKT_TRUNCATED | EF_PKT_L4_PARTIAL);
    ck_assert_uint_eq(p.tcp_flags, EF_TCP_SYN | EF_TCP_ACK);
    /* ports but no flags */
    ck_assert_int_eq(dec_n(EF_DLT_EN10MB, &f, 14 + 20 + 10, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.flags, EF_PKT_HAS_PORTS | EF_PKT_TRUNCATED | EF_PKT_L4_PARTIAL);
    ck_assert_uint_eq(p.tcp_flags, 0);
    ck_assert_uint_eq(p.dport, 80);
}
END_TEST

START_TEST(ethernet_padding_is_not_part_of_the_packet)
{
    pb_frame_t f;
    ef_packet_t p;
    build_v4_tcp(&f, EF_DLT_EN10MB, PB_ACK, 0);
    pb_payload(&f, NULL, 6); /* pad to the 60-byte minimum */
    ck_assert_uint_eq(f.len, 60);
    ck_assert_int_eq(dec(EF_DLT_EN10MB, &f, &p), EF_DEC_OK);
    ck_assert_uint_eq(p.ip_len, 40);
    ck_assert_uint_eq(p.l3_caplen, 40);
    ck_assert_uint_eq(p.flags, EF_PKT_HAS_PORTS);
}
END_TEST

/* One crafted frame per malformed reason. */
START_TEST(every_malformed_reason)
{
    pb_frame_t f;
    ef_packet_t p;
    int seen[EF_DEC_MAL__COUNT] = {0};
#define EXPECT(lt, st)                                                              \
    do {                                                                            \
        ef_decode_status_t got_ = dec(lt, &f, &p);                                  \
        ck_assert_msg(got_ == (st), "line %d: got %s want %s", __LINE__,            \
                      ef_decode_status_name(got_), ef_decode_status_name(st));      \
        seen[st] = 1;                                                               \
    } while (0)

    build_v4_tcp(&f, EF_DLT_EN10MB, PB_SYN, 0);
    EXPECT(105, EF_DEC_MAL_LINKTYPE); /* 802.11 */
    ck_assert(!ef_decode_linktype_supported(105));

    f.len = 13;
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_LINK_TRUNC);
    pb_init(&f);
    pb_eth(&f, PB_ETH_VLAN);
    pb_payload(&f, "\x00\x05\x08", 3); /* tag cut */
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_LINK_TRUNC);
    build_v4_tcp(&f, EF_DLT_LINUX_SLL, PB_SYN, 0);
    f.len = 15;
    EXPECT(EF_DLT_LINUX_SLL, EF_DEC_MAL_LINK_TRUNC);
    f.len = 19;
    EXPECT(EF_DLT_LINUX_SLL2, EF_DEC_MAL_LINK_TRUNC);
    f.len = 3;
    EXPECT(EF_DLT_NULL, EF_DEC_MAL_LINK_TRUNC);

    build_v4_tcp(&f, EF_DLT_EN10MB, PB_SYN, 0);
    f.data[14] = 0x65; /* says IPv4, carries version 6 */
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_IP_VERSION);
    build_v4_tcp(&f, EF_DLT_RAW, PB_SYN, 0);
    f.data[0] = 0x55;
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP_VERSION);
    f.len = 0;
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP_VERSION);
    build_v4_tcp(&f, EF_DLT_IPV6, PB_SYN, 0); /* IPv4 on the IPv6 link type */
    EXPECT(EF_DLT_IPV6, EF_DEC_MAL_IP_VERSION);

    build_v4_tcp(&f, EF_DLT_EN10MB, PB_SYN, 0);
    f.len = 14 + 19;
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_IP4_TRUNC);
    f.len = 14;
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_IP4_TRUNC);
    build_v4_tcp(&f, EF_DLT_RAW, PB_SYN, 0);
    f.data[0] = 0x4f; /* 60-byte header, 40 bytes captured */
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP4_TRUNC);
    f.data[0] = 0x44;
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP4_HLEN);
    build_v4_tcp(&f, EF_DLT_RAW, PB_SYN, 0);
    f.data[2] = 0;
    f.data[3] = 19;
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP4_TOTLEN);
    f.data[3] = 41; /* one more than on the wire */
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP4_TOTLEN);

    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV6);
    pb_ipv6(&f, "::1", "::2", 17);
    pb_udp(&f, 1, 2);
    pb_finish(&f);
    f.len = 14 + 39;
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_IP6_TRUNC);
    f.len = 14;
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_IP6_TRUNC);
    f.len = 14 + 48;
    f.data[14 + 5] = 9; /* payload length 9, 8 on the wire */
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_IP6_PLEN);
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 43);
    pb_payload(&f, NULL, 1);
    pb_finish(&f);
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_IP6_EXT);

    build_v4_tcp(&f, EF_DLT_RAW, PB_SYN, 0);
    f.len = 23;
    f.data[3] = 23;
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_TCP_TRUNC);
    build_v4_tcp(&f, EF_DLT_RAW, PB_SYN, 0);
    f.data[32] = 0x40; /* data offset 4 */
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_TCP_HLEN);
    f.data[32] = 0x60; /* 24-byte header in a 20-byte segment */
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_TCP_HLEN);

    pb_init(&f);
    pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 17, NULL);
    pb_payload(&f, NULL, 3);
    pb_finish(&f);
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_UDP_TRUNC);
    pb_init(&f);
    pb_ipv6(&f, "::1", "::2", 58);
    pb_payload(&f, NULL, 1);
    pb_finish(&f);
    EXPECT(EF_DLT_RAW, EF_DEC_MAL_ICMP_TRUNC);

    pb_init(&f);
    pb_eth(&f, PB_ETH_VLAN);
    for (int i = 0; i < 5; i++)
        pb_vlan(&f, 1, PB_ETH_VLAN);
    EXPECT(EF_DLT_EN10MB, EF_DEC_MAL_VLAN_DEPTH);
#undef EXPECT
    for (int s = EF_DEC_MAL_FIRST; s < EF_DEC_MAL__COUNT; s++)
        ck_assert_msg(seen[s], "no test frame for %s", ef_decode_status_name(s));
}
END_TEST

START_TEST(status_names_are_distinct)
{
    for (int a = 0; a < EF_DEC_MAL__COUNT; a++) {
        const char *na = ef_decode_status_name((ef_decode_status_t)a);
        ck_assert_ptr_nonnull(na);
        ck_assert_str_ne(na, "invalid");
        for (int b = a + 1; b < EF_DEC_MAL__COUNT; b++)
            ck_assert_str_ne(na, ef_decode_status_name((ef_decode_status_t)b));
    }
    ck_assert_str_eq(ef_decode_status_name(EF_DEC_MAL_IP4_TRUNC), "ip4_trunc");
    ck_assert_str_eq(ef_decode_status_name(EF_DEC_MAL__COUNT), "invalid");
    ef_decode_stats_t st = {0};
    ef_decode_stats_add(&st, EF_DEC_OK);
    ef_decode_stats_add(&st, EF_DEC_NOT_IP);
    ef_decode_stats_add(&st, EF_DEC_MAL_TCP_HLEN);
    ef_decode_stats_add(&st, EF_DEC_MAL_LINKTYPE);
    ck_assert_uint_eq(st.packets, 4);
    ck_assert_uint_eq(ef_decode_stats_malformed(&st), 2);
}
END_TEST

/* Every prefix of a valid frame decodes to the status its length implies. */
START_TEST(truncation_at_every_offset_ipv4_tcp)
{
    pb_frame_t f;
    ef_packet_t p;
    build_v4_tcp(&f, EF_DLT_EN10MB, PB_SYN, 20);
    for (size_t n = 0; n <= f.len; n++) {
        ef_decode_status_t st = dec_n(EF_DLT_EN10MB, &f, n, &p);
        if (n < 14)
            ck_assert_int_eq(st, EF_DEC_MAL_LINK_TRUNC);
        else if (n < 34)
            ck_assert_int_eq(st, EF_DEC_MAL_IP4_TRUNC);
        else if (n < 38)
            ck_assert_int_eq(st, EF_DEC_MAL_TCP_TRUNC);
        else {
            ck_assert_int_eq(st, EF_DEC_OK);
            ck_assert_uint_eq(p.ip_len, 60);
            ck_assert_uint_eq(p.dport, 80);
            ck_assert_uint_eq(p.tcp_flags, n >= 48 ? EF_TCP_SYN : 0);
            ck_assert_uint_eq(!!(p.flags & EF_PKT_L4_PARTIAL), n < 54);
            ck_assert_uint_eq(!!(p.flags & EF_PKT_TRUNCATED), n < f.len);
        }
    }
}
END_TEST

START_TEST(truncation_at_every_offset_ipv6_chain)
{
    pb_frame_t f;
    ef_packet_t p;
    pb_init(&f);
    pb_eth(&f, PB_ETH_VLAN);
    pb_vlan(&f, 9, PB_ETH_IPV6);
    pb_ipv6(&f, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(&f, 0, 51, 8);
    pb_ipv6_ext(&f, 51, 44, 16);
    pb_ipv6_frag(&f, 17, 0, 1, 77);
    pb_udp(&f, 1000, 2000);
    pb_payload(&f, NULL, 10);
    pb_finish(&f);
    size_t l3 = 18, l4 = l3 + 40 + 8 + 16 + 8;
    for (size_t n = 0; n <= f.len; n++) {
        ef_decode_status_t st = dec_n(EF_DLT_EN10MB, &f, n, &p);
        if (n < 18)
            ck_assert_int_eq(st, EF_DEC_MAL_LINK_TRUNC);
        else if (n < l3 + 40)
            ck_assert_int_eq(st, EF_DEC_MAL_IP6_TRUNC);
        else if (n < l4)
            ck_assert_int_eq(st, EF_DEC_MAL_IP6_EXT);
        else if (n < l4 + 4)
            ck_assert_int_eq(st, EF_DEC_MAL_UDP_TRUNC);
        else {
            ck_assert_int_eq(st, EF_DEC_OK);
            ck_assert_uint_eq(p.dport, 2000);
            ck_assert_uint_eq(p.vlan, 9);
            ck_assert_uint_eq(p.frag_id, 77);
        }
    }
}
END_TEST

/* Prefixes of assorted valid frames on every link type: never a crash or an
 * out-of-bounds read (ASan/valgrind), always a known status. */
START_TEST(truncation_never_reads_out_of_bounds)
{
    static const int lts[] = {EF_DLT_EN10MB, EF_DLT_LINUX_SLL, EF_DLT_LINUX_SLL2, EF_DLT_NULL,
                              EF_DLT_LOOP, EF_DLT_RAW};
    pb_frame_t f;
    ef_packet_t p;
    for (size_t li = 0; li < sizeof lts / sizeof lts[0]; li++) {
        for (int variant = 0; variant < 5; variant++) {
            pb_init(&f);
            pb_link(&f, lts[li], variant < 2 ? 4 : 6, lts[li] == EF_DLT_EN10MB ? 5 : 0);
            switch (variant) {
            case 0: {
                static const uint8_t o[] = {1, 1, 1, 1};
                pb_ip4_t opt = {.options = o, .options_len = 4};
                pb_ipv4(&f, "1.2.3.4", "5.6.7.8", 6, &opt);
                pb_tcp(&f, 1, 2, PB_ACK, 3, 4);
                break;
            }
            case 1:
                pb_ipv4(&f, "1.2.3.4", "5.6.7.8", 1, NULL);
                pb_icmp(&f, 11, 0, 0);
                pb_ipv4(&f, "5.6.7.8", "9.9.9.9", 17, NULL);
                pb_udp(&f, 3, 4);
                break;
            case 2:
                pb_ipv6(&f, "::1", "::2", 60);
                pb_ipv6_ext(&f, 60, 6, 16);
                pb_tcp(&f, 1, 2, PB_FIN, 3, 4);
                break;
            case 3:
                pb_ipv6(&f, "::1", "::2", 58);
                pb_icmp6(&f, 1, 4, 0);
                break;
            default:
                pb_ipv6(&f, "::1", "::2", 44);
                pb_ipv6_frag(&f, 6, 8, 0, 1);
                break;
            }
            pb_payload(&f, NULL, 7);
            ck_assert_int_gt(pb_finish(&f), 0);
            for (size_t n = 0; n <= f.len; n++) {
                ef_decode_status_t st = dec_n(lts[li], &f, n, &p);
                ck_assert_int_lt(st, EF_DEC_MAL__COUNT);
                if (n == f.len)
                    ck_assert_int_eq(st, EF_DEC_OK);
            }
        }
    }
}
END_TEST

/* Random bytes after valid link headers: no crash, bounded results. */
START_TEST(random_frames_stay_in_bounds)
{
    static const int lts[] = {EF_DLT_EN10MB, EF_DLT_LINUX_SLL, EF_DLT_LINUX_SLL2, EF_DLT_NULL,
                              EF_DLT_RAW, EF_DLT_IPV4, EF_DLT_IPV6};
    uint64_t x = 0x9e3779b97f4a7c15u;
    pb_frame_t f;
    ef_packet_t p;
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        int lt = lts[i % 7];
        pb_init(&f);
        pb_link(&f, lt, (i & 8) ? 6 : 4, 0);
        size_t n = (size_t)(i % 97);
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f.data[f.len++] = (uint8_t)x;
        }
        /* steer half the frames into plausible IP headers */
        size_t l3 = f.len - n;
        if ((i & 1) && n > 0)
            f.data[l3] = (i & 8) ? 0x60 : 0x45;
        ef_decode_status_t st = dec(lt, &f, &p);
        ck_assert_int_lt(st, EF_DEC_MAL__COUNT);
        ok += st == EF_DEC_OK;
    }
    ck_assert_int_gt(ok, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, each_link_type_finds_ip);
    tcase_add_test(tc, ipv6_on_each_link_type);
    tcase_add_test(tc, null_link_accepts_both_byte_orders_and_all_inet6_values);
    tcase_add_test(tc, vlan_tags_single_qinq_and_9100);
    tcase_add_test(tc, non_ip_frames);
    tcase_add_test(tc, ipv4_options_are_skipped);
    tcase_add_test(tc, ipv6_extension_headers);
    tcase_add_test(tc, ipv6_extension_chain_limits);
    tcase_add_test(tc, transport_variants);
    tcase_add_test(tc, six_in_four_is_the_outer_flow);
    tcase_add_test(tc, ipv4_fragments);
    tcase_add_test(tc, ipv6_fragments);
    tcase_add_test(tc, snaplen_truncated_frames_keep_true_size);
    tcase_add_test(tc, ethernet_padding_is_not_part_of_the_packet);
    tcase_add_test(tc, every_malformed_reason);
    tcase_add_test(tc, status_names_are_distinct);
    tcase_add_test(tc, truncation_at_every_offset_ipv4_tcp);
    tcase_add_test(tc, truncation_at_every_offset_ipv6_chain);
    tcase_add_test(tc, truncation_never_reads_out_of_bounds);
    tcase_add_test(tc, random_frames_stay_in_bounds);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
