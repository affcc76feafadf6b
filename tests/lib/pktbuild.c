/* pktbuild: exact frames and capture files for tests (see pktbuild.h). */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Frame builder                                                       */
/* ------------------------------------------------------------------ */

void pb_init(pb_frame_t *f)
{
    f->len = 0;
    f->error = 0;
    f->nip = 0;
    f->nl4 = 0;
}

/* Reserve n bytes at the end of the frame; NULL (and error) on overflow. */
static uint8_t *push(pb_frame_t *f, size_t n)
{
    if (f->error || n > PB_FRAME_MAX - f->len) {
        f->error = 1;
        return NULL;
    }
    uint8_t *p = f->data + f->len;
    memset(p, 0, n);
    f->len += n;
    return p;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int pb_addr(const char *text, uint8_t out[16])
{
    memset(out, 0, 16);
    if (!text)
        return -1;
    if (strchr(text, ':'))
        return inet_pton(AF_INET6, text, out) == 1 ? 6 : -1;
    return inet_pton(AF_INET, text, out) == 1 ? 4 : -1;
}

void pb_eth(pb_frame_t *f, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    uint8_t *p = push(f, 14);
    if (!p)
        return;
    memcpy(p, macs, 12);
    put16(p + 12, type);
}

void pb_vlan(pb_frame_t *f, uint16_t vid, uint16_t type)
{
    uint8_t *p = push(f, 4);
    if (!p)
        return;
    put16(p, vid & 0x0fffu);
    put16(p + 2, type);
}

void pb_sll(pb_frame_t *f, uint16_t type)
{
    uint8_t *p = push(f, 16);
    if (!p)
        return;
    put16(p, 0);      /* packet type: to us */
    put16(p + 2, 1);  /* ARPHRD_ETHER */
    put16(p + 4, 6);  /* address length */
    p[6] = 2;         /* source MAC 02:00:00:00:00:01, 2 bytes padding */
    p[11] = 1;
    put16(p + 14, type);
}

void pb_sll2(pb_frame_t *f, uint16_t type)
{
    uint8_t *p = push(f, 20);
    if (!p)
        return;
    put16(p, type);
    put32(p + 4, 1);  /* interface index */
    put16(p + 8, 1);  /* ARPHRD_ETHER */
    p[10] = 0;        /* packet type: to us */
    p[11] = 6;        /* address length */
    p[12] = 2;
    p[17] = 1;
}

void pb_null(pb_frame_t *f, uint32_t af, int big_endian)
{
    uint8_t *p = push(f, 4);
    if (!p)
        return;
    if (big_endian) {
        put32(p, af);
    } else {
        p[0] = (uint8_t)af;
        p[1] = (uint8_t)(af >> 8);
        p[2] = (uint8_t)(af >> 16);
        p[3] = (uint8_t)(af >> 24);
    }
}

void pb_link(pb_frame_t *f, int linktype, int ipv, uint16_t vlan)
{
    uint16_t type = ipv == 6 ? PB_ETH_IPV6 : PB_ETH_IPV4;
    switch (linktype) {
    case PB_DLT_EN10MB:
        if (vlan) {
            pb_eth(f, PB_ETH_VLAN);
            pb_vlan(f, vlan, type);
        } else {
            pb_eth(f, type);
        }
        break;
    case PB_DLT_LINUX_SLL:
        pb_sll(f, type);
        break;
    case PB_DLT_LINUX_SLL2:
        pb_sll2(f, type);
        break;
    case PB_DLT_NULL:
        pb_null(f, ipv == 6 ? 30 : 2, 0);
        break;
    case PB_DLT_LOOP:
        pb_null(f, ipv == 6 ? 30 : 2, 1);
        break;
    case PB_DLT_RAW:
    case PB_DLT_RAW_ALT:
    case PB_DLT_LINKTYPE_RAW:
    case PB_DLT_IPV4:
    case PB_DLT_IPV6:
        break;
    default:
        f->error = 1;
    }
}

static void note_ip(pb_frame_t *f, size_t off, int ver, int len_fixed)
{
    if (f->nip == PB_MAX_HDRS) {
        f->error = 1;
        return;
    }
    f->ip_off[f->nip] = off;
    f->ip_ver[f->nip] = (uint8_t)ver;
    f->ip_len_fixed[f->nip] = (uint8_t)len_fixed;
    f->nip++;
}

static void note_l4(pb_frame_t *f, size_t off, uint8_t proto)
{
    if (f->nl4 == PB_MAX_HDRS || f->nip == 0) {
        f->error = 1;
        return;
    }
    f->l4_off[f->nl4] = off;
    f->l4_proto[f->nl4] = proto;
    f->l4_ip[f->nl4] = f->nip - 1;
    f->nl4++;
}

void pb_ipv4(pb_frame_t *f, const char *src, const char *dst, uint8_t proto, const pb_ip4_t *opt)
{
    static const pb_ip4_t none;
    if (!opt)
        opt = &none;
    size_t optlen = (opt->options_len + 3u) & ~(size_t)3u;
    if (optlen > 40) {
        f->error = 1;
        return;
    }
    size_t off = f->len;
    uint8_t *p = push(f, 20 + optlen);
    if (!p)
        return;
    uint8_t a[16], b[16];
    if (pb_addr(src, a) != 4 || pb_addr(dst, b) != 4) {
        f->error = 1;
        return;
    }
    p[0] = (uint8_t)(0x40 | ((20 + optlen) / 4));
    put16(p + 2, opt->tot_len);
    put16(p + 4, opt->id);
    uint32_t frag = (uint32_t)(opt->frag_off / 8) & 0x1fffu;
    if (opt->more_frags)
        frag |= 0x2000u;
    if (opt->dont_frag)
        frag |= 0x4000u;
    put16(p + 6, frag);
    p[8] = opt->ttl ? opt->ttl : 64;
    p[9] = proto;
    memcpy(p + 12, a, 4);
    memcpy(p + 16, b, 4);
    if (opt->options_len)
        memcpy(p + 20, opt->options, opt->options_len);
    note_ip(f, off, 4, opt->tot_len != 0);
}

void pb_ipv6(pb_frame_t *f, const char *src, const char *dst, uint8_t next)
{
    size_t off = f->len;
    uint8_t *p = push(f, 40);
    if (!p)
        return;
    if (pb_addr(src, p + 8) != 6 || pb_addr(dst, p + 24) != 6) {
        f->error = 1;
        return;
    }
    p[0] = 0x60;
    p[6] = next;
    p[7] = 64;
    note_ip(f, off, 6, 0);
}

void pb_ipv6_ext(pb_frame_t *f, uint8_t type, uint8_t next, size_t len)
{
    int ah = type == 51;
    if (ah ? (len < 12 || len % 4 || len > 1028) : (len < 8 || len % 8 || len > 2048)) {
        f->error = 1;
        return;
    }
    uint8_t *p = push(f, len);
    if (!p)
        return;
    p[0] = next;
    p[1] = (uint8_t)(ah ? len / 4 - 2 : len / 8 - 1);
}

void pb_ipv6_frag(pb_frame_t *f, uint8_t next, uint16_t offset, int more, uint32_t id)
{
    uint8_t *p = push(f, 8);
    if (!p)
        return;
    p[0] = next;
    put16(p + 2, (uint32_t)(offset & 0xfff8u) | (more ? 1u : 0u));
    put32(p + 4, id);
}

void pb_tcp_opts(pb_frame_t *f, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                 uint32_t ack, const uint8_t *opts, size_t optlen)
{
    size_t padded = (optlen + 3u) & ~(size_t)3u;
    if (padded > 40) {
        f->error = 1;
        return;
    }
    size_t off = f->len;
    uint8_t *p = push(f, 20 + padded);
    if (!p)
        return;
    put16(p, sport);
    put16(p + 2, dport);
    put32(p + 4, seq);
    put32(p + 8, ack);
    p[12] = (uint8_t)(((20 + padded) / 4) << 4);
    p[13] = flags;
    put16(p + 14, 65535);
    if (optlen)
        memcpy(p + 20, opts, optlen);
    note_l4(f, off, 6);
}

void pb_tcp(pb_frame_t *f, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
            uint32_t ack)
{
    pb_tcp_opts(f, sport, dport, flags, seq, ack, NULL, 0);
}

void pb_udp(pb_frame_t *f, uint16_t sport, uint16_t dport)
{
    size_t off = f->len;
    uint8_t *p = push(f, 8);
    if (!p)
        return;
    put16(p, sport);
    put16(p + 2, dport);
    note_l4(f, off, 17);
}

static void icmp_common(pb_frame_t *f, uint8_t proto, uint8_t type, uint8_t code, uint32_t rest)
{
    size_t off = f->len;
    uint8_t *p = push(f, 8);
    if (!p)
        return;
    p[0] = type;
    p[1] = code;
    put32(p + 4, rest);
    note_l4(f, off, proto);
}

void pb_icmp(pb_frame_t *f, uint8_t type, uint8_t code, uint32_t rest)
{
    icmp_common(f, 1, type, code, rest);
}

void pb_icmp6(pb_frame_t *f, uint8_t type, uint8_t code, uint32_t rest)
{
    icmp_common(f, 58, type, code, rest);
}

void pb_payload(pb_frame_t *f, const void *data, size_t len)
{
    uint8_t *p = push(f, len);
    if (!p)
        return;
    if (data)
        memcpy(p, data, len);
    else
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)i;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

/* End of the IP packet whose header starts at ip_off, within the frame. */
static size_t ip_end(const pb_frame_t *f, int i, size_t limit)
{
    size_t off = f->ip_off[i];
    const uint8_t *p = f->data + off;
    size_t end = f->ip_ver[i] == 4 ? off + (size_t)(p[2] << 8 | p[3])
                                   : off + 40 + (size_t)(p[4] << 8 | p[5]);
    return end < limit ? end : limit;
}

static void l4_checksum(pb_frame_t *f, int j, size_t limit)
{
    int i = f->l4_ip[j];
    size_t off = f->l4_off[j], end = ip_end(f, i, limit);
    if (end <= off)
        return;
    uint8_t *l4 = f->data + off, *ip = f->data + f->ip_off[i];
    size_t len = end - off;
    uint8_t proto = f->l4_proto[j];
    size_t cs_at = proto == 6 ? 16 : proto == 17 ? 6 : 2;
    if (len < cs_at + 2)
        return;
    l4[cs_at] = l4[cs_at + 1] = 0;
    uint32_t sum = 0;
    if (proto != 1) { /* pseudo-header (ICMPv4 has none) */
        if (f->ip_ver[i] == 4)
            sum = csum_add(sum, ip + 12, 8);
        else
            sum = csum_add(sum, ip + 8, 32);
        sum += proto + (uint32_t)len;
    }
    sum = csum_add(sum, l4, len);
    uint16_t c = csum_fold(sum);
    if (proto == 17 && c == 0)
        c = 0xffff;
    put16(l4 + cs_at, c);
}

int pb_finish(pb_frame_t *f)
{
    if (f->error)
        return -1;
    size_t end = f->len;
    for (int i = 0; i < f->nip; i++) {
        uint8_t *p = f->data + f->ip_off[i];
        size_t n = end - f->ip_off[i];
        if (f->ip_ver[i] == 4) {
            if (!f->ip_len_fixed[i])
                put16(p + 2, n > 0xffff ? 0xffff : (uint32_t)n);
        } else {
            put16(p + 4, n - 40 > 0xffff ? 0xffff : (uint32_t)(n - 40));
        }
    }
    for (int j = 0; j < f->nl4; j++)
        if (f->l4_proto[j] == 17) {
            size_t n = ip_end(f, f->l4_ip[j], end) - f->l4_off[j];
            put16(f->data + f->l4_off[j] + 4, (uint32_t)n);
        }
    /* Innermost first: an outer checksum (ICMP error) covers inner bytes. */
    for (int j = f->nl4 - 1; j >= 0; j--)
        l4_checksum(f, j, end);
    for (int i = 0; i < f->nip; i++) {
        if (f->ip_ver[i] != 4)
            continue;
        uint8_t *p = f->data + f->ip_off[i];
        size_t hl = (size_t)(p[0] & 15) * 4;
        p[10] = p[11] = 0;
        put16(p + 10, csum_fold(csum_add(0, p, hl)));
    }
    return (int)f->len;
}

/* ------------------------------------------------------------------ */
/* Capture writers                                                     */
/* ------------------------------------------------------------------ */

struct pb_writer {
    pcap_t *dead;
    pcap_dumper_t *dump;
    int linktype;
    int nsec;
    int failed;
};

pb_writer_t *pb_writer_open(const char *path, int linktype, int nsec)
{
    pb_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->linktype = linktype;
    w->nsec = nsec;
    w->dead = pcap_open_dead_with_tstamp_precision(
        linktype, 262144, nsec ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    if (w->dead)
        w->dump = pcap_dump_open(w->dead, path);
    if (!w->dump) {
        if (w->dead)
            pcap_close(w->dead);
        free(w);
        return NULL;
    }
    return w;
}

int pb_writer_linktype(const pb_writer_t *w)
{
    return w->linktype;
}

int pb_write_ns(pb_writer_t *w, uint64_t ts_ns, const uint8_t *data, size_t caplen, size_t len)
{
    if (caplen > len || len > UINT32_MAX) {
        w->failed = 1;
        return -1;
    }
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(ts_ns / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(w->nsec ? ts_ns % 1000000000u : ts_ns % 1000000000u / 1000u);
    h.caplen = (bpf_u_int32)caplen;
    h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)w->dump, &h, data);
    return 0;
}

int pb_write(pb_writer_t *w, uint64_t ts_us, const pb_frame_t *f)
{
    if (f->error) {
        w->failed = 1;
        return -1;
    }
    return pb_write_ns(w, ts_us * 1000u, f->data, f->len, f->len);
}

int pb_writer_close(pb_writer_t *w)
{
    if (!w)
        return -1;
    int rc = w->failed ? -1 : 0;
    if (pcap_dump_flush(w->dump) != 0)
        rc = -1;
    pcap_dump_close(w->dump);
    pcap_close(w->dead);
    free(w);
    return rc;
}

struct pb_ng {
    FILE *f;
    int nif;
    int failed;
};

static void ng_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* One block: type, total length, body (padded to 4), total length. */
static int ng_block(pb_ng_t *w, uint32_t type, const uint8_t *body, size_t n)
{
    size_t padded = (n + 3u) & ~(size_t)3u;
    uint8_t hdr[8], trail[4], pad[3] = {0, 0, 0};
    uint32_t total = (uint32_t)(12 + padded);
    ng_le32(hdr, type);
    ng_le32(hdr + 4, total);
    ng_le32(trail, total);
    if (fwrite(hdr, 1, 8, w->f) != 8 || fwrite(body, 1, n, w->f) != n ||
        fwrite(pad, 1, padded - n, w->f) != padded - n || fwrite(trail, 1, 4, w->f) != 4) {
        w->failed = 1;
        return -1;
    }
    return 0;
}

pb_ng_t *pb_ng_open(const char *path)
{
    pb_ng_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->f = fopen(path, "wb");
    if (!w->f) {
        free(w);
        return NULL;
    }
    uint8_t shb[16];
    ng_le32(shb, 0x1a2b3c4d);       /* byte-order magic */
    shb[4] = 1;                     /* version 1.0 */
    shb[5] = 0;
    shb[6] = 0;
    shb[7] = 0;
    memset(shb + 8, 0xff, 8);       /* section length unknown */
    ng_block(w, 0x0a0d0d0a, shb, sizeof shb);
    return w;
}

int pb_ng_interface(pb_ng_t *w, int linktype)
{
    uint8_t idb[8] = {0};
    idb[0] = (uint8_t)linktype;
    idb[1] = (uint8_t)(linktype >> 8);
    ng_le32(idb + 4, 262144);       /* snaplen */
    if (ng_block(w, 1, idb, sizeof idb) != 0)
        return -1;
    return w->nif++;
}

int pb_ng_packet(pb_ng_t *w, int iface, uint64_t ts_us, const uint8_t *data, size_t len)
{
    if (len > PB_FRAME_MAX) {
        w->failed = 1;
        return -1;
    }
    uint8_t *body = malloc(20 + len);
    if (!body) {
        w->failed = 1;
        return -1;
    }
    ng_le32(body, (uint32_t)iface);
    ng_le32(body + 4, (uint32_t)(ts_us >> 32));
    ng_le32(body + 8, (uint32_t)ts_us);
    ng_le32(body + 12, (uint32_t)len);
    ng_le32(body + 16, (uint32_t)len);
    memcpy(body + 20, data, len);
    int rc = ng_block(w, 6, body, 20 + len);
    free(body);
    return rc;
}

int pb_ng_close(pb_ng_t *w)
{
    if (!w)
        return -1;
    int rc = w->failed ? -1 : 0;
    if (fclose(w->f) != 0)
        rc = -1;
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Flow scripts                                                        */
/* ------------------------------------------------------------------ */

int pb_flow_init(pb_flow_t *fl, uint8_t proto, const char *client, uint16_t cport,
                 const char *server, uint16_t sport)
{
    uint8_t a[16];
    memset(fl, 0, sizeof *fl);
    int va = pb_addr(client, a), vb = pb_addr(server, a);
    if (va < 0 || va != vb || strlen(client) >= sizeof fl->addr[0] ||
        strlen(server) >= sizeof fl->addr[1])
        return -1;
    fl->ipv = va;
    strcpy(fl->addr[PB_C2S], client);
    strcpy(fl->addr[PB_S2C], server);
    fl->port[PB_C2S] = cport;
    fl->port[PB_S2C] = sport;
    fl->proto = proto;
    fl->seq[PB_C2S] = 1000;
    fl->seq[PB_S2C] = 5000;
    return 0;
}

int pb_flow_frame(pb_frame_t *f, int linktype, pb_flow_t *fl, int dir, uint8_t flags,
                  const void *payload, size_t len)
{
    int s = dir ? 1 : 0, d = !s;
    pb_init(f);
    pb_link(f, linktype, fl->ipv, fl->vlan);
    if (fl->ipv == 4)
        pb_ipv4(f, fl->addr[s], fl->addr[d], fl->proto, NULL);
    else
        pb_ipv6(f, fl->addr[s], fl->addr[d], fl->proto);
    switch (fl->proto) {
    case 6: {
        uint32_t ack = (flags & PB_ACK) ? fl->seq[d] : 0;
        pb_tcp(f, fl->port[s], fl->port[d], flags, fl->seq[s], ack);
        fl->seq[s] += (uint32_t)len + ((flags & PB_SYN) ? 1u : 0u) + ((flags & PB_FIN) ? 1u : 0u);
        break;
    }
    case 17:
        pb_udp(f, fl->port[s], fl->port[d]);
        break;
    case 1:
    case 58: {
        /* Echo: id = client port, sequence counts requests (a reply
         * echoes the latest request's number). */
        if (s == PB_C2S)
            fl->seq[PB_C2S]++;
        uint32_t rest = (uint32_t)fl->port[PB_C2S] << 16 | (fl->seq[PB_C2S] & 0xffffu);
        if (fl->proto == 1)
            pb_icmp(f, s == PB_C2S ? 8 : 0, 0, rest);
        else
            pb_icmp6(f, s == PB_C2S ? 128 : 129, 0, rest);
        break;
    }
    default:
        break;
    }
    pb_payload(f, payload, len);
    return pb_finish(f);
}

int pb_flow_write(pb_writer_t *w, pb_flow_t *fl, uint64_t ts_us, int dir, uint8_t flags,
                  const void *payload, size_t len)
{
    pb_frame_t *f = malloc(sizeof *f);
    if (!f)
        return -1;
    int rc = -1;
    if (pb_flow_frame(f, w->linktype, fl, dir, flags, payload, len) >= 0)
        rc = pb_write(w, ts_us, f);
    free(f);
    return rc;
}

int pb_tcp_session(pb_writer_t *w, pb_flow_t *fl, uint64_t t0_us, uint64_t gap_us,
                   int exchanges, size_t req_len, size_t resp_len)
{
    int n = 0, rc = 0;
    uint64_t t = t0_us;
#define STEP(dir, flags, len)                                                   \
    do {                                                                        \
        rc |= pb_flow_write(w, fl, t, dir, flags, NULL, len);                   \
        t += gap_us;                                                            \
        n++;                                                                    \
    } while (0)
    STEP(PB_C2S, PB_SYN, 0);
    STEP(PB_S2C, PB_SYN | PB_ACK, 0);
    STEP(PB_C2S, PB_ACK, 0);
    for (int i = 0; i < exchanges; i++) {
        STEP(PB_C2S, PB_PSH | PB_ACK, req_len);
        STEP(PB_S2C, PB_PSH | PB_ACK, resp_len);
    }
    STEP(PB_C2S, PB_FIN | PB_ACK, 0);
    STEP(PB_S2C, PB_FIN | PB_ACK, 0);
    STEP(PB_C2S, PB_ACK, 0);
#undef STEP
    return rc ? -1 : n;
}
