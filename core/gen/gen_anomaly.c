/* Anomalies: each spawner creates the flows of one MAWILab anomaly, one at
 * a time. Shapes and their parameters are documented in docs/generator.md.
 *
 * Orientation is part of the ground truth: every flow here opens with a
 * packet from the side its label row names as the source (probes, SYNs,
 * requests, reflected responses, ICMP errors), so a flow table orients it
 * the way the row expects. */
#include "gen/gen_internal.h"

static gen_flow_t *aflow(gen_ctx_t *c, gen_spawner_t *s, int64_t t, const char *shape,
                         uint8_t tp, uint32_t client, uint16_t cport, uint32_t server,
                         uint16_t sport)
{
    gen_flow_t *f = ef_gen_flow_new(c, t, s->category, s->anomaly_id, s->taxonomy, shape);
    if (!f)
        return NULL;
    f->tp = tp;
    gen_put_v4(f->addr[0], client);
    gen_put_v4(f->addr[1], server);
    f->port[0] = cport;
    f->port[1] = sport;
    if (tp != GEN_TP_TCP)
        f->df = 0;
    return f;
}

/* Raw-socket scanners' probe fingerprints (see docs/generator.md). */
enum { TOOL_ZMAP = 0, TOOL_MASSCAN = 1, TOOL_NMAP = 2 };

static void scanner_host(gen_flow_t *f, uint32_t tool)
{
    uint8_t hops = (uint8_t)gen_range(&f->rng, 5, 25);
    switch (tool) {
    case TOOL_ZMAP:
        f->ttl[0] = (uint8_t)(255 - hops);
        f->syn_win[0] = f->win[0] = 65535;
        f->synopt[0] = GEN_SYNOPT_MSS;
        f->ipid[0] = 54321;
        break;
    case TOOL_MASSCAN:
        f->ttl[0] = (uint8_t)(255 - hops);
        f->syn_win[0] = f->win[0] = 1024;
        f->synopt[0] = GEN_SYNOPT_NONE;
        break;
    default:
        f->ttl[0] = (uint8_t)(64 - hops);
        f->syn_win[0] = f->win[0] = 1024;
        f->synopt[0] = GEN_SYNOPT_MSS;
        break;
    }
    f->mss_opt[0] = 1460;
    ef_gen_flow_tcp_update(f);
}

enum { REPLY_NONE = 0, REPLY_RST, REPLY_SYNACK };

static int64_t reply_time(gen_flow_t *f, int64_t t, int to)
{
    return t + 2 * (int64_t)f->d_us[!to] + gen_range(&f->rng, 20, 300);
}

/* SYN, then nothing, RST+ACK, or SYN+ACK answered by the prober's RST. */
static void syn_probe(gen_flow_t *f, int64_t t, int reply, uint32_t retrans_us)
{
    uint32_t isn = (uint32_t)gen_next(&f->rng);
    gen_pkt_t *p = ef_gen_script_add(f, t, 0, 0x02, 0);
    p->seq = isn;
    p->synopt = f->synopt[0] != GEN_SYNOPT_NONE;
    int64_t rt = reply_time(f, t, 0);
    if (reply == REPLY_RST) {
        p = ef_gen_script_add(f, rt, 1, 0x14, 0);
        p->ack = isn + 1;
    } else if (reply == REPLY_SYNACK) {
        p = ef_gen_script_add(f, rt, 1, 0x12, 0);
        p->seq = (uint32_t)gen_next(&f->rng);
        p->ack = isn + 1;
        p->synopt = 1;
        p = ef_gen_script_add(f, reply_time(f, rt, 1), 0, 0x04, 0);
        p->seq = isn + 1;
    } else if (retrans_us) {
        p = ef_gen_script_add(f, t + retrans_us, 0, 0x02, 0);
        p->seq = isn;
        p->synopt = f->synopt[0] != GEN_SYNOPT_NONE;
    }
    ef_gen_script_finish(f);
}

static int reply_kind(gen_rng_t *r, double p_rst, double p_synack)
{
    double u = gen_u01(r);
    return u < p_rst ? REPLY_RST : u < p_rst + p_synack ? REPLY_SYNACK : REPLY_NONE;
}

static void spawn_syn_scan(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    uint16_t port = s->ports[s->done % s->nports];
    uint32_t tool = s->param[0];
    uint16_t sport = s->sport ? s->sport : (uint16_t)gen_range(&s->rng, 32768, 61000);
    s->done++;
    gen_flow_t *f = aflow(c, s, t, "syn-probe", GEN_TP_TCP, s->owned[0], sport,
                          ef_gen_addr_next(c), port);
    if (!f)
        return;
    scanner_host(f, tool);
    int reply = reply_kind(&f->rng, 0.10, 0.05);
    uint32_t retrans = (tool == TOOL_NMAP && reply == REPLY_NONE && gen_chance(&f->rng, 0.3))
                           ? gen_range(&f->rng, 300000, 800000)
                           : 0;
    syn_probe(f, t, reply, retrans);
    ef_gen_flow_start(c, f);
}

static void spawn_ack_scan(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_flow_t *f = aflow(c, s, t, "ack-probe", GEN_TP_TCP, s->owned[0], s->sport,
                          ef_gen_addr_next(c), s->ports[0]);
    if (!f)
        return;
    scanner_host(f, TOOL_NMAP);
    gen_pkt_t *p = ef_gen_script_add(f, t, 0, 0x10, 0);
    p->seq = (uint32_t)gen_next(&f->rng);
    p->ack = (uint32_t)gen_next(&f->rng);
    uint32_t ack = p->ack;
    if (gen_chance(&f->rng, 0.3)) { /* unfiltered: the target resets */
        p = ef_gen_script_add(f, reply_time(f, t, 0), 1, 0x04, 0);
        p->seq = ack;
    }
    ef_gen_script_finish(f);
    ef_gen_flow_start(c, f);
}

/* UDP probe payload and answer for a scanned service. */
static void udp_service(uint16_t port, uint8_t *pfx, uint8_t *parg, uint16_t *len,
                        uint16_t *ans_lo, uint16_t *ans_hi)
{
    *parg = 0;
    *ans_lo = 40, *ans_hi = 200;
    switch (port) {
    case 53: *pfx = GEN_PFX_DNS_Q, *parg = 3, *len = 0, *ans_lo = 300, *ans_hi = 1400; break;
    case 123: *pfx = GEN_PFX_NTP_C, *len = 48, *ans_lo = 48, *ans_hi = 48; break;
    case 161: *pfx = GEN_PFX_SNMP, *len = 43, *ans_lo = 60, *ans_hi = 300; break;
    case 1900: *pfx = GEN_PFX_SSDP, *len = 0, *ans_lo = 250, *ans_hi = 350; break;
    case 5060: *pfx = GEN_PFX_SIP, *len = 0, *ans_lo = 300, *ans_hi = 600; break;
    case 11211: *pfx = GEN_PFX_MEMCACHED, *len = 15, *ans_lo = 1000, *ans_hi = 1400; break;
    case 137: *pfx = GEN_PFX_NONE, *len = 50, *ans_lo = 200, *ans_hi = 260; break;
    case 19: *pfx = GEN_PFX_NONE, *len = 1, *ans_lo = 70, *ans_hi = 1024; break;
    case 389: *pfx = GEN_PFX_NONE, *len = 52, *ans_lo = 1000, *ans_hi = 1400; break;
    case 3478: *pfx = GEN_PFX_NONE, *len = 20, *ans_lo = 68, *ans_hi = 100; break;
    case 5683: *pfx = GEN_PFX_NONE, *len = 21, *ans_lo = 50, *ans_hi = 400; break;
    default: *pfx = GEN_PFX_NONE, *len = 4, *ans_lo = 40, *ans_hi = 200; break;
    }
}

static void spawn_udp_scan(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    uint16_t port = s->ports[0];
    uint16_t sport = s->sport ? s->sport : (uint16_t)gen_range(&s->rng, 1024, 65535);
    uint32_t target = ef_gen_addr_next(c);
    s->done++;
    gen_flow_t *f = aflow(c, s, t, "udp-probe", GEN_TP_UDP, s->owned[0], sport, target, port);
    if (!f)
        return;
    uint8_t pfx, parg;
    uint16_t len, alo, ahi;
    udp_service(port, &pfx, &parg, &len, &alo, &ahi);
    if (!len)
        len = (uint16_t)ef_gen_pfx_len(f, pfx, parg, 0, 0);
    gen_pkt_t *p = ef_gen_script_add(f, t, 0, 0, len);
    p->pfx = pfx;
    p->parg = parg;
    p->mlen = len;
    double u = gen_u01(&f->rng);
    int64_t rt = reply_time(f, t, 0);
    if (u < 0.08) { /* the service answers */
        uint16_t alen = (uint16_t)gen_range(&f->rng, alo, ahi);
        p = ef_gen_script_add(f, rt, 1, 0, alen);
        p->mlen = alen;
        if (pfx == GEN_PFX_DNS_Q)
            p->pfx = GEN_PFX_DNS_R, p->parg = 3, p->msg = 1;
        else if (pfx == GEN_PFX_NTP_C)
            p->pfx = GEN_PFX_NTP_S;
        else if (pfx == GEN_PFX_SSDP || pfx == GEN_PFX_MEMCACHED)
            p->pfx = pfx, p->parg = 1;
    }
    ef_gen_script_finish(f);
    uint8_t probe_ttl = (uint8_t)(64 - gen_range(&f->rng, 5, 25));
    ef_gen_flow_start(c, f);
    if (u < 0.08 || u >= 0.20 || s->resp_id < 0)
        return;
    /* ICMP port unreachable from the target: a flow of its own, which the
     * response anomaly's row (destination = scanner) labels. */
    s->done++;
    gen_flow_t *e = ef_gen_flow_new(c, rt, s->category, s->resp_id, "ntscUDPUDPICrp",
                                    "icmp-port-unreach");
    if (!e)
        return;
    e->tp = GEN_TP_ICMP;
    e->df = 0;
    gen_put_v4(e->addr[0], target);
    gen_put_v4(e->addr[1], s->owned[0]);
    e->q_proto = 17;
    e->q_ttl = probe_ttl;
    memcpy(e->q_dst, e->addr[0], 4);
    e->q_ports[0] = sport;
    e->q_ports[1] = port;
    e->q_len = (uint16_t)(28 + len);
    uint16_t quoted = (uint16_t)(gen_chance(&e->rng, 0.5) ? 28 : e->q_len);
    p = ef_gen_script_add(e, rt, 0, 3, quoted);
    p->code = 3;
    p->pfx = GEN_PFX_ICMP_QUOTE;
    ef_gen_script_finish(e);
    ef_gen_flow_start(c, e);
}

static void spawn_icmp_scan(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_flow_t *f = aflow(c, s, t, "echo-probe", GEN_TP_ICMP, s->owned[0], 0,
                          ef_gen_addr_next(c), 0);
    if (!f)
        return;
    scanner_host(f, TOOL_ZMAP);
    f->icmp_type[0] = 8;
    f->icmp_type[1] = 0;
    f->port[0] = (uint16_t)gen_next(&f->rng);
    uint16_t len = (uint16_t)s->param[0];
    uint32_t seq = gen_below(&f->rng, 65536);
    gen_pkt_t *p = ef_gen_script_add(f, t, 0, 8, len);
    p->seq = seq;
    if (gen_chance(&f->rng, 0.2)) {
        p = ef_gen_script_add(f, reply_time(f, t, 0), 1, 0, len);
        p->seq = seq;
    }
    ef_gen_script_finish(f);
    ef_gen_flow_start(c, f);
}

/* Port scans: one scanner, one target, each port once. */
static uint16_t scan_port(const gen_spawner_t *s, uint32_t j)
{
    if (s->param[2])
        return (uint16_t)(1 + (s->param[0] + j) % 65535);
    if (j < 1024)
        return (uint16_t)(1 + (s->param[0] + j * s->param[1]) % 1024);
    return (uint16_t)(1025 + ((j - 1024) * 7919u) % 64511);
}

static void spawn_port_scan(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    uint16_t port = scan_port(s, s->done);
    int connect = s->variant == GEN_V_PS_CONNECT;
    uint16_t sport = connect ? ef_gen_ephemeral_port(&s->rng) : s->sport;
    s->done++;
    gen_flow_t *f = aflow(c, s, t, connect ? "connect-probe" : "port-probe", GEN_TP_TCP,
                          s->owned[0], sport, s->owned[1], port);
    if (!f)
        return;
    if (!connect) {
        scanner_host(f, TOOL_NMAP);
        syn_probe(f, t, reply_kind(&f->rng, 0.85, 0.03), 0);
        ef_gen_flow_start(c, f);
        return;
    }
    ef_gen_host_defaults(f, 0, 0);
    ef_gen_flow_tcp_update(f);
    double u = gen_u01(&f->rng);
    if (u < 0.85) {
        syn_probe(f, t, REPLY_RST, 0);
    } else if (u < 0.90) { /* open: connect() completes, then the scanner resets */
        uint32_t isn = (uint32_t)gen_next(&f->rng), isn_s = (uint32_t)gen_next(&f->rng);
        gen_pkt_t *p = ef_gen_script_add(f, t, 0, 0x02, 0);
        p->seq = isn, p->synopt = 1;
        int64_t t1 = reply_time(f, t, 0), t2 = reply_time(f, t1, 1);
        p = ef_gen_script_add(f, t1, 1, 0x12, 0);
        p->seq = isn_s, p->ack = isn + 1, p->synopt = 1;
        p = ef_gen_script_add(f, t2, 0, 0x10, 0);
        p->seq = isn + 1, p->ack = isn_s + 1;
        p = ef_gen_script_add(f, t2 + gen_range(&f->rng, 50, 2000), 0, 0x14, 0);
        p->seq = isn + 1, p->ack = isn_s + 1;
        ef_gen_script_finish(f);
    } else {
        syn_probe(f, t, REPLY_NONE, 0);
    }
    ef_gen_flow_start(c, f);
}

static void spawn_syn_flood(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    int ddos = s->variant == GEN_V_DOS_DDOSSYN;
    uint32_t src = ddos ? ef_gen_addr_next(c) : s->owned[0];
    uint32_t dst = ddos ? s->owned[0] : s->owned[1];
    /* spoofed floods randomise the source port; a single flooder counts up */
    uint16_t sport = ddos ? (uint16_t)gen_range(&s->rng, 1024, 65535)
                          : (uint16_t)(1024 + (s->param[0] + s->done) % 64512);
    s->done++;
    gen_flow_t *f = aflow(c, s, t, ddos ? "ddos-syn" : "syn-flood", GEN_TP_TCP, src, sport, dst,
                          s->ports[0]);
    if (!f)
        return;
    f->ttl[0] = (uint8_t)gen_range(&f->rng, 30, 250);
    f->syn_win[0] = (uint16_t)gen_range(&f->rng, 512, 65535);
    f->synopt[0] = gen_chance(&f->rng, ddos ? 0.5 : 0.8) ? GEN_SYNOPT_NONE : GEN_SYNOPT_LINUX;
    ef_gen_flow_tcp_update(f);
    /* the target answers while it can; a real source resets the stray SYN+ACK */
    int reply = gen_chance(&f->rng, ddos ? 0.5 : 0.3) ? REPLY_SYNACK : REPLY_NONE;
    if (reply == REPLY_SYNACK && (ddos || gen_chance(&f->rng, 0.5))) {
        uint32_t isn = (uint32_t)gen_next(&f->rng);
        gen_pkt_t *p = ef_gen_script_add(f, t, 0, 0x02, 0);
        p->seq = isn;
        p->synopt = f->synopt[0] != GEN_SYNOPT_NONE;
        p = ef_gen_script_add(f, reply_time(f, t, 0), 1, 0x12, 0);
        p->seq = (uint32_t)gen_next(&f->rng);
        p->ack = isn + 1;
        p->synopt = 1;
        ef_gen_script_finish(f);
    } else {
        syn_probe(f, t, reply, 0);
    }
    ef_gen_flow_start(c, f);
}

static void spawn_udp_flood(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_flow_t *f = aflow(c, s, t, "udp-flood", GEN_TP_UDP, ef_gen_addr_next(c),
                          (uint16_t)gen_range(&s->rng, 1024, 65535), s->owned[0], s->ports[0]);
    if (!f)
        return;
    f->ttl[0] = (uint8_t)gen_range(&f->rng, 30, 250);
    f->app = GEN_APP_UDP_FLOOD;
    f->app_state[2] = (uint32_t)gen_logn_clamped(&f->rng, 20, 1.0, 3, 300);
    f->app_state[3] = s->param[0];
    ef_gen_stream_init(f, t, 0);
    ef_gen_flow_start(c, f);
}

static void spawn_http(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_flow_t *f;
    if (s->variant == GEN_V_HTTP_FLOOD) {
        if (s->param[3] == 0) { /* next bot: 1-5 connections each */
            s->param[2] = ef_gen_addr_next(c);
            s->param[3] = gen_range(&s->rng, 1, 5);
        }
        s->param[3]--;
        f = aflow(c, s, t, "http-flood", GEN_TP_TCP, s->param[2],
                  ef_gen_ephemeral_port(&s->rng), s->owned[0], 80);
        if (!f)
            return;
        f->app = GEN_APP_HTTP_FLOOD;
        f->app_state[2] = gen_chance(&f->rng, 0.6) ? 1 : gen_range(&f->rng, 2, 20);
        f->app_state[3] = s->param[0];
        ef_gen_stream_init(f, t, 1);
        f->u.st.close = gen_chance(&f->rng, 0.5) ? GEN_CLOSE_RST : GEN_CLOSE_FIN;
        f->u.st.closer = 0;
    } else if (s->variant == GEN_V_HTTP_CRAWL) {
        uint32_t ix;
        uint32_t server = ef_gen_pick_server(c, &s->rng, &ix);
        f = aflow(c, s, t, "crawler", GEN_TP_TCP, s->owned[0], ef_gen_ephemeral_port(&s->rng),
                  server, 80);
        if (!f)
            return;
        ef_gen_host_defaults(f, 0, 0);
        ef_gen_flow_tcp_update(f);
        f->app = GEN_APP_CRAWL;
        f->app_state[2] = gen_range(&f->rng, 2, 15);
        ef_gen_stream_init(f, t, 1);
        f->u.st.close = GEN_CLOSE_FIN;
        f->u.st.closer = 0;
    } else {
        f = aflow(c, s, t, "http-bulk", GEN_TP_TCP, s->owned[0], ef_gen_ephemeral_port(&s->rng),
                  s->owned[1], 80);
        if (!f)
            return;
        f->app = GEN_APP_HTTP_BULK;
        ef_gen_stream_init(f, t, 1);
        f->u.st.close = GEN_CLOSE_FIN;
        f->u.st.closer = 1;
    }
    ef_gen_flow_start(c, f);
}

static void spawn_multi(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_flow_t *f;
    switch (s->variant) {
    case GEN_V_MULTI_PTMP_UDP:
    case GEN_V_MULTI_MPTP_UDP: {
        int out = s->variant == GEN_V_MULTI_PTMP_UDP;
        uint32_t peer = ef_gen_addr_next(c);
        uint16_t peer_port = (uint16_t)gen_range(&s->rng, 1024, 65535);
        f = out ? aflow(c, s, t, "p2p-udp", GEN_TP_UDP, s->owned[0], s->sport, peer, peer_port)
                : aflow(c, s, t, "p2p-inbound", GEN_TP_UDP, peer, peer_port, s->owned[0],
                        s->ports[0]);
        if (!f)
            return;
        f->app = GEN_APP_P2P_UDP;
        f->app_state[2] = gen_range(&f->rng, 1, 3);
        f->app_state[3] = (uint32_t)gen_next(&f->rng);
        f->app_flags = (uint8_t)gen_chance(&f->rng, out ? 0.6 : 0.8);
        ef_gen_stream_init(f, t, 0);
        break;
    }
    case GEN_V_MULTI_PTMP_TCP: {
        f = aflow(c, s, t, "p2p-tcp", GEN_TP_TCP, s->owned[0], ef_gen_ephemeral_port(&s->rng),
                  ef_gen_addr_next(c), s->ports[0]);
        if (!f)
            return;
        double u = gen_u01(&f->rng);
        if (u < 0.5) { /* peer gone: SYN and a retransmission */
            syn_probe(f, t, REPLY_NONE, gen_chance(&f->rng, 0.5) ? gen_range(&f->rng, 200000, 800000) : 0);
        } else if (u < 0.7) {
            syn_probe(f, t, REPLY_RST, 0);
        } else {
            f->app = GEN_APP_P2P_TCP;
            f->app_state[2] = gen_range(&f->rng, 1, 4);
            f->app_state[3] = s->param[0];
            ef_gen_stream_init(f, t, 1);
            f->u.st.close = gen_chance(&f->rng, 0.7) ? GEN_CLOSE_FIN : GEN_CLOSE_RST;
            f->u.st.closer = (uint8_t)gen_below(&f->rng, 2);
        }
        break;
    }
    default: { /* reflected responses converging on one host */
        static const uint8_t pfx[] = {GEN_PFX_NTP_MON, GEN_PFX_DNS_R, GEN_PFX_SSDP,
                                      GEN_PFX_MEMCACHED, GEN_PFX_NONE};
        static const uint16_t lo[] = {440, 900, 250, 1100, 200}, hi[] = {490, 1400, 350, 1400, 1024};
        uint32_t svc = s->param[0];
        uint16_t vport = s->param[1] ? (uint16_t)s->param[1] : (uint16_t)gen_range(&s->rng, 1024, 65535);
        f = aflow(c, s, t, "reflection", GEN_TP_UDP, ef_gen_addr_next(c), s->sport, s->owned[0],
                  vport);
        if (!f)
            return;
        f->app = GEN_APP_REFLECT;
        f->app_state[2] = (uint32_t)gen_logn_clamped(&f->rng, 5, 1.0, 1, 100);
        f->app_state[3] = (uint32_t)lo[svc] | (uint32_t)hi[svc] << 16;
        f->app_flags = (uint8_t)(pfx[svc] << 4);
        ef_gen_stream_init(f, t, 0);
        break;
    }
    }
    ef_gen_flow_start(c, f);
}

static void spawn_alpha(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    unsigned i = s->done++;
    uint16_t port = s->ports[i % s->nports];
    int udp = (int)s->param[i % s->nports];
    gen_flow_t *f = aflow(c, s, t, udp ? "alpha-udp" : "alpha-tcp", udp ? GEN_TP_UDP : GEN_TP_TCP,
                          s->owned[0], udp && port == 4500 ? 4500 : ef_gen_ephemeral_port(&s->rng),
                          s->owned[1], port);
    if (!f)
        return;
    if (udp) {
        f->app = GEN_APP_ALPHA_UDP;
        f->app_state[2] = (uint32_t)gen_logn_clamped(&f->rng, 2000, 0.7, 500, 30000);
        f->app_state[3] = (uint32_t)(1e6 / gen_logn_clamped(&f->rng, 2000, 0.6, 300, 10000));
        ef_gen_stream_init(f, t, 0);
    } else {
        ef_gen_host_defaults(f, 0, 0);
        ef_gen_host_defaults(f, 1, 0);
        ef_gen_flow_tcp_update(f);
        f->app = GEN_APP_ALPHA_TCP;
        f->app_flags = (uint8_t)((port == 443 ? 1 : 4) | (gen_chance(&f->rng, 0.5) ? 2 : 0));
        ef_gen_stream_init(f, t, 1);
        f->u.st.close = GEN_CLOSE_FIN;
        f->u.st.closer = (uint8_t)gen_below(&f->rng, 2);
        /* heavy flows: a wide receive window and a fast path */
        f->u.st.cwnd_max = 64;
        f->u.st.seg_gap_us = (uint32_t)gen_range(&f->rng, 12, 300);
    }
    ef_gen_flow_start(c, f);
}

static void spawn_tunnel(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    unsigned i = s->done++;
    uint32_t relay = s->owned[0], peer = s->owned[1 + i % (s->nowned - 1)];
    uint32_t a = s->param[0] ? relay : peer, b = s->param[0] ? peer : relay;
    gen_flow_t *f = ef_gen_flow_new(c, t, s->category, s->anomaly_id, s->taxonomy, "6in4");
    if (!f)
        return;
    f->encap = 1;
    f->ipv = 6;
    f->tp = GEN_TP_TCP;
    for (int k = 0; k < 4; k++) {
        f->outer[0][k] = (uint8_t)(a >> (24 - 8 * k));
        f->outer[1][k] = (uint8_t)(b >> (24 - 8 * k));
    }
    ef_gen_addr_v6(gen_hash3(c->cfg.seed, a, f->item.uid), f->addr[0]);
    ef_gen_addr_v6(gen_hash3(c->cfg.seed, b, f->item.uid ^ 0x77), f->addr[1]);
    f->port[0] = ef_gen_ephemeral_port(&f->rng);
    f->port[1] = gen_chance(&f->rng, 0.8) ? 443 : 80;
    /* IPv6 inside a 1500-byte IPv4 path: 1480-byte inner MTU */
    f->mss_opt[0] = f->mss_opt[1] = 1420;
    ef_gen_flow_tcp_update(f);
    f->app = f->port[1] == 443 ? GEN_APP_HTTPS : GEN_APP_HTTP;
    f->app_state[2] = gen_range(&f->rng, 2, 20);
    ef_gen_stream_init(f, t, 1);
    f->u.st.close = GEN_CLOSE_FIN;
    f->u.st.closer = 0;
    ef_gen_flow_start(c, f);
}

static void icmp_errors(gen_flow_t *f, int64_t t, uint8_t type, uint8_t code, unsigned n,
                        uint32_t gap_lo, uint32_t gap_hi, uint16_t plen)
{
    for (unsigned k = 0; k < n; k++) {
        gen_pkt_t *p = ef_gen_script_add(f, t, 0, type, plen);
        p->code = code;
        p->pfx = GEN_PFX_ICMP_QUOTE;
        p->off = k;
        t += gen_range(&f->rng, gap_lo, gap_hi);
    }
    ef_gen_script_finish(f);
}

static void spawn_other(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_flow_t *f;
    if (s->variant == GEN_V_OTHER_TRACE) {
        /* traceroute replies: each router on the path answers the host's
         * three probes with ICMP time exceeded */
        if (s->param[3] == 0) {
            s->param[2] = ef_gen_addr_next(c);       /* next traceroute target */
            s->param[3] = gen_range(&s->rng, 8, 25); /* routers on its path */
            s->param[4] = 0;
        }
        s->param[3]--;
        uint32_t hop = ++s->param[4];
        f = aflow(c, s, t, "ttl-exceeded", GEN_TP_ICMP, ef_gen_addr_next(c), 0, s->owned[0], 0);
        if (!f)
            return;
        f->q_proto = (uint8_t)s->param[0];
        f->q_ttl = 1;
        uint32_t target = s->param[2];
        for (int k = 0; k < 4; k++)
            f->q_dst[k] = (uint8_t)(target >> (24 - 8 * k));
        f->q_ports[0] = (uint16_t)(f->q_proto == 17 ? s->param[1] : s->param[1] & 0xffff);
        f->q_ports[1] = (uint16_t)(f->q_proto == 17 ? 33434 + 3 * hop : 3 * hop);
        f->q_len = f->q_proto == 17 ? 60 : 92;
        f->ttl[0] = (uint8_t)(255 - hop);
        unsigned n = gen_chance(&f->rng, 0.8) ? 3 : gen_range(&f->rng, 1, 2);
        uint16_t plen = gen_chance(&f->rng, 0.5) ? 28 : f->q_len;
        icmp_errors(f, t, 11, 0, n, 1000, 60000, plen);
    } else {
        int ttl = s->variant == GEN_V_OTHER_TTL;
        uint32_t dest = ef_gen_addr_next(c);
        f = aflow(c, s, t, ttl ? "ttl-exceeded" : "icmp-unreach", GEN_TP_ICMP, s->owned[0], 0,
                  dest, 0);
        if (!f)
            return;
        static const uint8_t protos[] = {6, 17, 17, 1};
        f->q_proto = protos[gen_below(&f->rng, 4)];
        f->q_ttl = ttl ? 1 : (uint8_t)gen_range(&f->rng, 30, 120);
        uint32_t qd = (uint32_t)gen_hash3(c->cfg.seed, f->item.uid, 0x9d);
        for (int k = 0; k < 4; k++)
            f->q_dst[k] = (uint8_t)(qd >> (24 - 8 * k));
        f->q_ports[0] = ef_gen_ephemeral_port(&f->rng);
        f->q_ports[1] = f->q_proto == 6 ? 443 : f->q_proto == 17 ? 53 : 1;
        f->q_len = (uint16_t)gen_range(&f->rng, 40, 1500);
        static const uint8_t codes[] = {1, 3, 13, 10};
        uint8_t code = ttl ? 0 : codes[gen_below(&f->rng, 4)];
        uint16_t plen = gen_chance(&f->rng, 0.5) ? 28 : (uint16_t)(f->q_len < 548 ? f->q_len : 548);
        icmp_errors(f, t, ttl ? 11 : 3, code, gen_range(&f->rng, 1, 3), 1000, 200000, plen);
    }
    ef_gen_flow_start(c, f);
}

void ef_gen_spawn_anomaly(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    switch (s->variant) {
    case GEN_V_NS_SYN:
        spawn_syn_scan(c, s, t);
        break;
    case GEN_V_NS_ACK:
        spawn_ack_scan(c, s, t);
        break;
    case GEN_V_NS_UDP:
        spawn_udp_scan(c, s, t);
        break;
    case GEN_V_NS_ICMP:
        spawn_icmp_scan(c, s, t);
        break;
    case GEN_V_PS_SYN:
    case GEN_V_PS_CONNECT:
        spawn_port_scan(c, s, t);
        break;
    case GEN_V_DOS_DDOSSYN:
    case GEN_V_DOS_PTPSYN:
        spawn_syn_flood(c, s, t);
        break;
    case GEN_V_DOS_UDP:
        spawn_udp_flood(c, s, t);
        break;
    case GEN_V_HTTP_FLOOD:
    case GEN_V_HTTP_CRAWL:
    case GEN_V_HTTP_ALPHA:
        spawn_http(c, s, t);
        break;
    case GEN_V_ALPHA:
        spawn_alpha(c, s, t);
        break;
    case GEN_V_TUNNEL:
        spawn_tunnel(c, s, t);
        break;
    case GEN_V_OTHER_TRACE:
    case GEN_V_OTHER_TTL:
    case GEN_V_OTHER_UNREACH:
        spawn_other(c, s, t);
        break;
    default:
        spawn_multi(c, s, t);
        break;
    }
}
