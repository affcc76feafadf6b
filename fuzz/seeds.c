/* Seed corpus writer for the fuzz targets (run by fuzz/make-corpus.sh).
 *
 *   ef_fuzz_seeds OUTDIR [PCAP...]
 *
 * writes, with tests/lib/pktbuild and the generator (core/gen):
 *   OUTDIR/decode/   one frame per file, byte 0 = index of the link type in
 *                    fuzz_decode.c's table, byte 1 = extra wire bytes: every
 *                    link type x IPv4/IPv6 x TCP/UDP/ICMP, VLAN/QinQ, IPv6
 *                    extension headers, fragments, 6in4, TCP options
 *   OUTDIR/capture/  small pcap files for each link type, a nanosecond pcap,
 *                    a snaplen-truncated one, a two-interface pcapng, and
 *                    generated traffic of every MAWILab category (Ethernet
 *                    and raw IP)
 *   OUTDIR/mawilab/  the generator's label file
 *   OUTDIR/dataset_raw/  dataset CSVs from the project's writer (k 3 and 5;
 *                    plain, extended, padded), without the option byte that
 *                    fuzz_dataset expects (make-corpus.sh adds it)
 * and, for each PCAP given (e.g. ../shared/data captures), its first frames
 * into OUTDIR/decode/ (those seeds are built at run time, never committed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset_csv.h"
#include "gen/gen.h"
#include "net/capture.h"
#include "pktbuild.h"

/* Must match fuzz_decode.c's table. */
static const int linktypes[] = {
    PB_DLT_EN10MB, PB_DLT_LINUX_SLL, PB_DLT_LINUX_SLL2, PB_DLT_NULL, PB_DLT_LOOP,
    PB_DLT_RAW,    PB_DLT_RAW_ALT,   PB_DLT_LINKTYPE_RAW, 228 /* IPV4 */, 229 /* IPV6 */,
};
#define N_LT (int)(sizeof linktypes / sizeof linktypes[0])

static const char *outdir;
static int n_written;

static int lt_index(int lt)
{
    for (int i = 0; i < N_LT; i++)
        if (linktypes[i] == lt)
            return i;
    return -1;
}

static void write_seed(const char *sub, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "ef_fuzz_seeds: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    n_written++;
}

static void decode_seed(int lt, const uint8_t *frame, size_t len, const char *tag)
{
    static uint8_t buf[PB_FRAME_MAX + 2];
    static int n;
    int idx = lt_index(lt);
    if (idx < 0 || len > PB_FRAME_MAX)
        return;
    buf[0] = (uint8_t)idx;
    buf[1] = 0;
    memcpy(buf + 2, frame, len);
    char name[256];
    snprintf(name, sizeof name, "%04d_%s_lt%d", n++, tag, lt);
    write_seed("decode", name, buf, len + 2);
}

/* IPv4/IPv6 x transports on one link type. */
static void frames_for_link(int lt)
{
    pb_frame_t *f = malloc(sizeof *f);
    for (int ipv = 4; ipv <= 6; ipv += 2) {
        if ((lt == 228 && ipv == 6) || (lt == 229 && ipv == 4))
            continue;
        const char *src = ipv == 4 ? "10.0.0.1" : "2001:db8::1";
        const char *dst = ipv == 4 ? "10.0.0.2" : "2001:db8::2";
        static const uint8_t protos[] = {6, 17, 1, 41, 47};
        for (size_t i = 0; i < sizeof protos; i++) {
            uint8_t proto = protos[i] == 1 && ipv == 6 ? 58 : protos[i];
            pb_init(f);
            pb_link(f, lt, ipv, 0);
            if (ipv == 4)
                pb_ipv4(f, src, dst, proto, NULL);
            else
                pb_ipv6(f, src, dst, proto);
            if (proto == 6)
                pb_tcp(f, 40000, 80, PB_SYN, 1, 0);
            else if (proto == 17)
                pb_udp(f, 5353, 53);
            else if (proto == 1)
                pb_icmp(f, 8, 0, 0x10001);
            else if (proto == 58)
                pb_icmp6(f, 128, 0, 0x10001);
            else if (proto == 41) {
                pb_ipv6(f, "2001:db8::5", "2001:db8::6", 6);
                pb_tcp(f, 1234, 443, PB_SYN | PB_ACK, 7, 8);
            }
            pb_payload(f, NULL, 12);
            if (pb_finish(f) > 0) {
                char tag[32];
                snprintf(tag, sizeof tag, "v%d_p%u", ipv, proto);
                decode_seed(lt, f->data, f->len, tag);
            }
        }
    }
    free(f);
}

/* Ethernet and IPv6 header variants the decoder loops over. */
static void frames_special(void)
{
    pb_frame_t *f = malloc(sizeof *f);
    /* QinQ + VLAN */
    pb_init(f);
    pb_eth(f, PB_ETH_QINQ);
    pb_vlan(f, 100, PB_ETH_VLAN);
    pb_vlan(f, 200, PB_ETH_IPV4);
    pb_ipv4(f, "192.168.1.1", "192.168.1.2", 17, NULL);
    pb_udp(f, 1000, 2000);
    if (pb_finish(f) > 0)
        decode_seed(PB_DLT_EN10MB, f->data, f->len, "qinq");
    /* IPv6 extension chain: hop-by-hop, routing, destination options, AH, fragment */
    pb_init(f);
    pb_eth(f, PB_ETH_IPV6);
    pb_ipv6(f, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(f, 0, 43, 8);
    pb_ipv6_ext(f, 43, 60, 8);
    pb_ipv6_ext(f, 60, 51, 16);
    pb_ipv6_ext(f, 51, 44, 12);
    pb_ipv6_frag(f, 6, 0, 1, 77);
    pb_tcp(f, 1, 2, PB_SYN, 0, 0);
    if (pb_finish(f) > 0)
        decode_seed(PB_DLT_EN10MB, f->data, f->len, "v6ext");
    /* IPv4 first and later fragment, IPv4 options, TCP options */
    static const uint8_t ipopt[] = {0x94, 0x04, 0, 0}; /* router alert */
    static const uint8_t tcpopt[] = {2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2};
    pb_ip4_t o = {.id = 4242, .more_frags = 1, .options = ipopt, .options_len = 4};
    pb_init(f);
    pb_eth(f, PB_ETH_IPV4);
    pb_ipv4(f, "10.1.1.1", "10.2.2.2", 6, &o);
    pb_tcp_opts(f, 5555, 22, PB_SYN, 1, 0, tcpopt, sizeof tcpopt);
    if (pb_finish(f) > 0)
        decode_seed(PB_DLT_EN10MB, f->data, f->len, "frag1");
    o.frag_off = 64;
    o.more_frags = 0;
    pb_init(f);
    pb_eth(f, PB_ETH_IPV4);
    pb_ipv4(f, "10.1.1.1", "10.2.2.2", 6, &o);
    pb_payload(f, NULL, 40);
    if (pb_finish(f) > 0)
        decode_seed(PB_DLT_EN10MB, f->data, f->len, "frag2");
    /* ARP (not IP) */
    pb_init(f);
    pb_eth(f, PB_ETH_ARP);
    pb_payload(f, NULL, 28);
    if (pb_finish(f) > 0)
        decode_seed(PB_DLT_EN10MB, f->data, f->len, "arp");
    free(f);
}

/* A short TCP session and a UDP exchange on link type lt. */
static void capture_for_link(int lt, int nsec, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/capture/%s", outdir, name);
    pb_writer_t *w = pb_writer_open(path, lt, nsec);
    if (!w) { /* libpcap cannot write some DLT values (14: DLT_RAW's alias) */
        fprintf(stderr, "ef_fuzz_seeds: note: libpcap cannot write link type %d\n", lt);
        return;
    }
    int v6 = lt == 229;
    pb_flow_t fl;
    pb_flow_init(&fl, 6, v6 ? "2001:db8::1" : "10.0.0.1", 40000, v6 ? "2001:db8::2" : "10.0.0.2",
                 80);
    pb_tcp_session(w, &fl, 1600000000000000ull, 1000, 1, 20, 100);
    pb_flow_init(&fl, 17, v6 ? "2001:db8::3" : "10.0.0.3", 5353, v6 ? "2001:db8::4" : "10.0.0.4",
                 53);
    pb_flow_write(w, &fl, 1600000000010000ull, PB_C2S, 0, NULL, 30);
    pb_flow_write(w, &fl, 1600000000011000ull, PB_S2C, 0, NULL, 90);
    if (pb_writer_close(w) < 0) {
        fprintf(stderr, "ef_fuzz_seeds: cannot write %s\n", path);
        exit(1);
    }
    n_written++;
}

static void captures(void)
{
    char name[64];
    for (int i = 0; i < N_LT; i++) {
        snprintf(name, sizeof name, "lt%d.pcap", linktypes[i]);
        capture_for_link(linktypes[i], 0, name);
    }
    capture_for_link(PB_DLT_EN10MB, 1, "nsec.pcap");

    /* snaplen-truncated records */
    char path[4096];
    snprintf(path, sizeof path, "%s/capture/snaplen.pcap", outdir);
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    pb_frame_t *f = malloc(sizeof *f);
    pb_flow_t fl;
    pb_flow_init(&fl, 6, "10.9.0.1", 1111, "10.9.0.2", 443);
    for (int i = 0; w && i < 4; i++) {
        pb_flow_frame(f, PB_DLT_EN10MB, &fl, i & 1, PB_ACK, NULL, 600);
        pb_write_ns(w, 1600000000000000000ull + (uint64_t)i * 1000000u, f->data, 54, f->len);
    }
    if (!w || pb_writer_close(w) < 0)
        exit(1);
    n_written++;

    /* pcapng, two interfaces with different link types (libpcap refuses
     * this at the first packet of the second) and one with one interface */
    snprintf(path, sizeof path, "%s/capture/two_if.pcapng", outdir);
    pb_ng_t *ng = pb_ng_open(path);
    int a = pb_ng_interface(ng, PB_DLT_EN10MB), b = pb_ng_interface(ng, PB_DLT_RAW);
    pb_flow_frame(f, PB_DLT_EN10MB, &fl, 0, PB_SYN, NULL, 0);
    pb_ng_packet(ng, a, 1600000000000000ull, f->data, f->len);
    pb_flow_frame(f, PB_DLT_RAW, &fl, 1, PB_SYN | PB_ACK, NULL, 0);
    pb_ng_packet(ng, b, 1600000000001000ull, f->data, f->len);
    if (pb_ng_close(ng) < 0)
        exit(1);
    snprintf(path, sizeof path, "%s/capture/one_if.pcapng", outdir);
    ng = pb_ng_open(path);
    a = pb_ng_interface(ng, PB_DLT_EN10MB);
    for (int i = 0; i < 3; i++) {
        pb_flow_frame(f, PB_DLT_EN10MB, &fl, i & 1, i ? PB_ACK : PB_SYN, NULL, 10);
        pb_ng_packet(ng, a, 1600000000000000ull + (uint64_t)i * 500u, f->data, f->len);
    }
    if (pb_ng_close(ng) < 0)
        exit(1);
    n_written += 2;
    free(f);
}

/* Generated traffic of every category: small enough for a fuzz seed. */
static void generated(int raw)
{
    ef_gen_config_t cfg;
    ef_gen_config_default(&cfg);
    cfg.seed = raw ? 2 : 1;
    cfg.flows = 20;
    cfg.duration_s = 1;
    cfg.snaplen = raw ? 96 : 128; /* headers only: small seeds mutate faster */
    cfg.linktype = raw ? PB_DLT_LINKTYPE_RAW : PB_DLT_EN10MB;
    char pcap[4096], labels[4096];
    snprintf(pcap, sizeof pcap, "%s/capture/gen_%s.pcap", outdir, raw ? "raw" : "eth");
    snprintf(labels, sizeof labels, "%s/mawilab/gen_%s_anomalous_suspicious.csv", outdir,
             raw ? "raw" : "eth");
    ef_err_t err;
    if (ef_gen_write(&cfg, pcap, labels, NULL, NULL, NULL, &err) < 0) {
        fprintf(stderr, "ef_fuzz_seeds: %s\n", err.msg);
        exit(1);
    }
    n_written += 2;
}

/* Dataset CSVs as `earlyflow collect` writes them. */
static void datasets(void)
{
    static const char *const labels[] = {"Unlabeled", "HTTP", "NetworkScan", "DoS", "Other"};
    static const unsigned flag_sets[] = {0, EF_DATASET_EXTENDED, EF_DATASET_PAD,
                                         EF_DATASET_EXTENDED | EF_DATASET_PAD};
    static const uint8_t a[16] = {10, 0, 0, 1}, b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    for (int k = 3; k <= 5; k += 2)
        for (size_t fs = 0; fs < sizeof flag_sets / sizeof flag_sets[0]; fs++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/dataset_raw/k%d_f%u.csv", outdir, k, flag_sets[fs]);
            ef_err_t err;
            ef_dataset_writer_t *w = ef_dataset_writer_open(path, k, flag_sets[fs], &err);
            if (!w) {
                fprintf(stderr, "ef_fuzz_seeds: %s\n", err.msg);
                exit(1);
            }
            for (int r = 0; r < 8; r++) {
                ef_features_t feat;
                memset(&feat, 0, sizeof feat);
                int n = 1 + r % (k + 1); /* some flows shorter than k */
                for (int i = 0; i < n; i++)
                    ef_features_add(&feat, 1600000000000000ull + (uint64_t)(i * i * 1500 + r),
                                    (uint16_t)(40 + (r * 131 + i * 17) % 1460), (i + r) % 2);
                ef_dataset_flow_t f = {
                    .feat = &feat, .label = labels[r % 5], .flow_id = 1000u + (uint64_t)r,
                    .ip_version = r % 3 ? 4 : 6, .proto = r % 4 ? 6 : 1, .has_ports = r % 4 != 0,
                    .client_addr = r % 3 ? a : b, .server_addr = r % 3 ? a : b,
                    .client_port = 40000, .server_port = 80, .start_ts_us = 1600000000000000ull,
                    .pkts = (uint64_t)n, .end_reason = "fin", .app = r % 2 ? "TLS" : NULL,
                };
                if (ef_dataset_writer_add(w, &f, &err) < 0) {
                    fprintf(stderr, "ef_fuzz_seeds: %s\n", err.msg);
                    exit(1);
                }
            }
            if (ef_dataset_writer_commit(w, &err) < 0) {
                fprintf(stderr, "ef_fuzz_seeds: %s\n", err.msg);
                exit(1);
            }
            n_written++;
        }
}

/* The first frames of a capture as decode seeds. */
static void frames_from(const char *path, int max)
{
    ef_err_t err;
    ef_capture_t *c = ef_capture_open_file(path, &err);
    if (!c) {
        fprintf(stderr, "ef_fuzz_seeds: skipping %s\n", err.msg);
        return;
    }
    ef_frame_t fr;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char tag[64];
    snprintf(tag, sizeof tag, "%.40s", base);
    for (char *p = tag; *p; p++)
        if (*p == '.' || *p == ' ')
            *p = '_';
    for (int i = 0; i < max && ef_capture_next(c, &fr, &err) == 1; i++)
        decode_seed(ef_capture_linktype(c), fr.data, fr.caplen > 2048 ? 2048 : fr.caplen, tag);
    ef_capture_close(c);
}

static void mkdir_sub(const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ef_fuzz_seeds: cannot create %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ef_fuzz_seeds OUTDIR [PCAP...]\n");
        return 2;
    }
    outdir = argv[1];
    mkdir_sub("");
    mkdir_sub("decode");
    mkdir_sub("capture");
    mkdir_sub("mawilab");
    mkdir_sub("dataset_raw");
    for (int i = 0; i < N_LT; i++)
        frames_for_link(linktypes[i]);
    frames_special();
    captures();
    generated(0);
    generated(1);
    datasets();
    for (int i = 2; i < argc; i++)
        frames_from(argv[i], 8);
    printf("ef_fuzz_seeds: %d seeds in %s\n", n_written, outdir);
    return 0;
}
