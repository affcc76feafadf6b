/* Flow table: orientation, states, timeouts per state, each end reason
 * exactly once, SYN restart, eviction order under a tiny memcap, floods,
 * fragments, tunnels, ICMP errors, ids, shard hash, and the first-k
 * features of decoded frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "net/decode.h"
#include "net/features.h"
#include "net/flow.h"
#include "pktbuild.h"

_Static_assert(sizeof(ef_flow_t) + sizeof(ef_features_t) <= 256, "per-flow state <= 256 B");

/* ---- recorder of end callbacks ---- */

#define MAX_ENDS 20000
typedef struct ended {
    uint64_t id;
    uint8_t reason, state, client;
    uint32_t pkts[2];
    uint16_t cport, sport;
    uint64_t first_ts, last_ts;
    int nfeat;
} ended_t;

typedef struct recorder {
    ended_t e[MAX_ENDS];
    int n;
} recorder_t;

static void on_end(void *user, ef_flow_t *f)
{
    recorder_t *r = user;
    ck_assert_int_lt(r->n, MAX_ENDS);
    ended_t *e = &r->e[r->n++];
    e->id = f->id;
    e->reason = f->end_reason;
    e->state = f->state;
    e->client = f->client;
    e->pkts[0] = f->pkts[0];
    e->pkts[1] = f->pkts[1];
    e->cport = ef_flow_client_port(f);
    e->sport = ef_flow_server_port(f);
    e->first_ts = f->first_ts_us;
    e->last_ts = f->last_ts_us;
    e->nfeat = 0;
}

static recorder_t *rec_new(void)
{
    recorder_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    return r;
}

static ef_flow_table_t *table(recorder_t *r, uint64_t memcap, uint32_t ext)
{
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    if (memcap)
        cfg.memcap = memcap;
    cfg.ext_size = ext;
    ef_err_t err = {{0}};
    ef_flow_table_t *t = ef_flow_table_new(&cfg, on_end, r, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    return t;
}

/* ---- packets built directly ---- */

static ef_packet_t pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                       uint8_t proto, uint8_t flags, uint64_t ts)
{
    ef_packet_t p;
    memset(&p, 0, sizeof p);
    int v = pb_addr(src, p.src);
    ck_assert_int_eq(pb_addr(dst, p.dst), v);
    p.ip_version = (uint8_t)v;
    p.proto = proto;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.ts_us = ts;
    p.ip_len = 40;
    if (proto == 6 || proto == 17)
        p.flags = EF_PKT_HAS_PORTS;
    return p;
}

static ef_flow_hit_t track(ef_flow_table_t *t, ef_packet_t p)
{
    ef_flow_hit_t h;
    ck_assert_int_eq(ef_flow_table_track(t, &p, &h), 0);
    return h;
}

#define A "10.0.0.1"
#define B "10.0.0.2"

START_TEST(syn_sender_is_client_whatever_the_key_order)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, 0);
    /* B (higher address) sends the SYN: key side 0 is A, client is side 1 */
    ef_flow_hit_t h = track(t, pkt(B, 5555, A, 80, 6, EF_TCP_SYN, 10));
    ck_assert_int_eq(h.is_new, 1);
    ck_assert_int_eq(h.c2s, 1);
    ck_assert_uint_eq(h.flow->client, 1);
    ck_assert_uint_eq(ef_flow_client_port(h.flow), 5555);
    ck_assert_uint_eq(ef_flow_server_port(h.flow), 80);
    uint8_t a[16];
    pb_addr(B, a);
    ck_assert(memcmp(ef_flow_client_addr(h.flow), a, 16) == 0);
    pb_addr(A, a);
    ck_assert(memcmp(ef_flow_server_addr(h.flow), a, 16) == 0);
    ck_assert_uint_eq(h.flow->state, EF_FLOW_NEW);
    ef_flow_t *f = h.flow;
    h = track(t, pkt(A, 80, B, 5555, 6, EF_TCP_SYN | EF_TCP_ACK, 20));
    ck_assert_ptr_eq(h.flow, f);
    ck_assert_int_eq(h.is_new, 0);
    ck_assert_int_eq(h.c2s, 0);
    ck_assert_uint_eq(f->state, EF_FLOW_ESTABLISHED);
    ck_assert_uint_eq(f->pkts[0], 1);
    ck_assert_uint_eq(f->pkts[1], 1);
    ck_assert_uint_eq(f->tcp_seen, EF_TCP_SYN | EF_TCP_ACK);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(syn_ack_first_makes_its_receiver_the_client)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, 0);
    ef_flow_hit_t h = track(t, pkt(A, 443, B, 40000, 6, EF_TCP_SYN | EF_TCP_ACK, 10));
    ck_assert_int_eq(h.c2s, 0);
    ck_assert_uint_eq(ef_flow_client_port(h.flow), 40000);
    ck_assert_uint_eq(ef_flow_server_port(h.flow), 443);
    h = track(t, pkt(B, 40000, A, 443, 6, EF_TCP_ACK, 11));
    ck_assert_int_eq(h.c2s, 1);
    /* mid-stream ACK first: its sender is the client */
    h = track(t, pkt(A, 22, B, 50000, 6, EF_TCP_ACK | EF_TCP_PSH, 12));
    ck_assert_int_eq(h.is_new, 1);
    ck_assert_int_eq(h.c2s, 1);
    ck_assert_uint_eq(ef_flow_client_port(h.flow), 22);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(udp_first_sender_is_client_and_ipv6_keys)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, 0);
    ef_flow_hit_t h = track(t, pkt("2001:db8::9", 53, "2001:db8::1", 5353, 17, 0, 5));
    ck_assert_int_eq(h.c2s, 1);
    ck_assert_uint_eq(ef_flow_client_port(h.flow), 53);
    ck_assert_uint_eq(h.flow->key.ip_version, 6);
    ef_flow_t *f = h.flow;
    h = track(t, pkt("2001:db8::1", 5353, "2001:db8::9", 53, 17, 0, 6));
    ck_assert_ptr_eq(h.flow, f);
    ck_assert_int_eq(h.c2s, 0);
    ck_assert_uint_eq(f->state, EF_FLOW_ESTABLISHED);
    /* same addresses, other protocol / port / VLAN: other flows */
    ef_packet_t tcp = pkt("2001:db8::9", 53, "2001:db8::1", 5353, 6, EF_TCP_SYN, 7);
    ck_assert_int_eq(track(t, tcp).is_new, 1);
    ck_assert_int_eq(track(t, pkt("2001:db8::9", 54, "2001:db8::1", 5353, 17, 0, 7)).is_new, 1);
    ef_packet_t v = pkt("2001:db8::9", 53, "2001:db8::1", 5353, 17, 0, 8);
    v.vlan = 12;
    ck_assert_int_eq(track(t, v).is_new, 1);
    /* same address pair, ports only differ in side: a host talking to itself */
    h = track(t, pkt(A, 1000, A, 2000, 17, 0, 9));
    ef_flow_t *self = h.flow;
    ck_assert_int_eq(h.c2s, 1);
    h = track(t, pkt(A, 2000, A, 1000, 17, 0, 9));
    ck_assert_ptr_eq(h.flow, self);
    ck_assert_int_eq(h.c2s, 0);
    ck_assert_uint_eq(ef_flow_table_stats(t)->active, 5);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(fin_from_both_sides_closes_and_closed_timeout_ends_as_fin)
{
    recorder_t *r = rec_new();
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.timeout_us[EF_FLOW_NEW] = 1000000;
    cfg.timeout_us[EF_FLOW_ESTABLISHED] = 5000000;
    cfg.timeout_us[EF_FLOW_CLOSED] = 200000;
    ef_flow_table_t *t = ef_flow_table_new(&cfg, on_end, r, NULL);
    ck_assert_ptr_nonnull(t);
    ef_flow_t *f = track(t, pkt(A, 1, B, 2, 6, EF_TCP_SYN, 1000000)).flow;
    track(t, pkt(B, 2, A, 1, 6, EF_TCP_SYN | EF_TCP_ACK, 1000010));
    track(t, pkt(A, 1, B, 2, 6, EF_TCP_FIN | EF_TCP_ACK, 1000020));
    ck_assert_uint_eq(f->state, EF_FLOW_ESTABLISHED);
    track(t, pkt(B, 2, A, 1, 6, EF_TCP_FIN | EF_TCP_ACK, 1000030));
    ck_assert_uint_eq(f->state, EF_FLOW_CLOSED);
    track(t, pkt(A, 1, B, 2, 6, EF_TCP_ACK, 1000040)); /* last ACK stays in */
    ck_assert_uint_eq(f->pkts[0], 3);
    ck_assert_int_eq(r->n, 0);
    /* idle exactly the closed timeout: still there; 1 µs more: ended */
    ef_flow_table_expire(t, 1200040);
    ck_assert_int_eq(r->n, 0);
    ef_flow_table_expire(t, 1200041);
    ck_assert_int_eq(r->n, 1);
    ck_assert_uint_eq(r->e[0].reason, EF_END_FIN);
    ck_assert_uint_eq(r->e[0].pkts[0], 3);
    ck_assert_uint_eq(r->e[0].pkts[1], 2);
    ck_assert_uint_eq(r->e[0].first_ts, 1000000);
    ck_assert_uint_eq(r->e[0].last_ts, 1000040);
    ck_assert_uint_eq(ef_flow_table_stats(t)->ended[EF_END_FIN], 1);
    ck_assert_uint_eq(ef_flow_table_stats(t)->active, 0);
    ef_flow_table_flush(t);
    ck_assert_int_eq(r->n, 1);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(rst_closes_and_syn_restarts_a_closed_flow)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, 0);
    ef_flow_t *f = track(t, pkt(A, 1, B, 2, 6, EF_TCP_SYN, 100)).flow;
    uint64_t id1 = f->id;
    track(t, pkt(B, 2, A, 1, 6, EF_TCP_RST | EF_TCP_ACK, 200));
    ck_assert_uint_eq(f->state, EF_FLOW_CLOSED);
    /* an ACK does not restart; a SYN+ACK neither */
    ck_assert_int_eq(track(t, pkt(A, 1, B, 2, 6, EF_TCP_ACK, 300)).is_new, 0);
    ck_assert_int_eq(track(t, pkt(B, 2, A, 1, 6, EF_TCP_SYN | EF_TCP_ACK, 301)).is_new, 0);
    ck_assert_int_eq(r->n, 0);
    /* a pure SYN from the other side restarts: old flow ends as RST */
    ef_flow_hit_t h = track(t, pkt(B, 2, A, 1, 6, EF_TCP_SYN, 400));
    ck_assert_int_eq(h.is_new, 1);
    ck_assert_int_eq(h.c2s, 1);
    ck_assert_uint_eq(ef_flow_client_port(h.flow), 2);
    ck_assert_int_eq(r->n, 1);
    ck_assert_uint_eq(r->e[0].reason, EF_END_RST);
    ck_assert_uint_eq(r->e[0].id, id1);
    ck_assert_uint_eq(r->e[0].pkts[0] + r->e[0].pkts[1], 4);
    ck_assert_uint_ne(h.flow->id, id1);
    ck_assert_uint_eq(h.flow->pkts[0], 1);
    ck_assert_uint_eq(h.flow->state, EF_FLOW_NEW);
    /* a SYN to an ESTABLISHED flow is just a packet of it */
    track(t, pkt(A, 1, B, 2, 6, EF_TCP_SYN | EF_TCP_ACK, 500));
    ck_assert_int_eq(track(t, pkt(B, 2, A, 1, 6, EF_TCP_SYN, 501)).is_new, 0);
    ef_flow_table_flush(t);
    ck_assert_int_eq(r->n, 2);
    ck_assert_uint_eq(r->e[1].reason, EF_END_SHUTDOWN);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(timeouts_per_state)
{
    recorder_t *r = rec_new();
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.timeout_us[EF_FLOW_NEW] = 1000;
    cfg.timeout_us[EF_FLOW_ESTABLISHED] = 5000;
    cfg.timeout_us[EF_FLOW_CLOSED] = 300;
    ef_flow_table_t *t = ef_flow_table_new(&cfg, on_end, r, NULL);
    ck_assert_ptr_nonnull(t);
    track(t, pkt(A, 1, B, 100, 17, 0, 10000));                 /* NEW */
    track(t, pkt(A, 2, B, 200, 17, 0, 10000));                 /* ESTABLISHED */
    track(t, pkt(B, 200, A, 2, 17, 0, 10100));
    track(t, pkt(A, 3, B, 300, 6, EF_TCP_SYN, 10000));         /* CLOSED by RST */
    track(t, pkt(B, 300, A, 3, 6, EF_TCP_RST, 10200));
    ef_flow_table_expire(t, 10500); /* idle exactly 300 µs: not yet */
    ck_assert_int_eq(r->n, 0);
    ef_flow_table_expire(t, 10501);
    ck_assert_int_eq(r->n, 1);
    ck_assert_uint_eq(r->e[0].sport, 300);
    ck_assert_uint_eq(r->e[0].reason, EF_END_RST);
    ef_flow_table_expire(t, 11000);
    ck_assert_int_eq(r->n, 1);
    ef_flow_table_expire(t, 11001);
    ck_assert_int_eq(r->n, 2);
    ck_assert_uint_eq(r->e[1].sport, 100);
    ck_assert_uint_eq(r->e[1].reason, EF_END_TIMEOUT);
    ck_assert_uint_eq(r->e[1].state, EF_FLOW_NEW);
    /* packets advance the clock too: a late packet of the established flow
     * (idle 5001 µs) finds it ended and starts a new flow */
    ef_flow_hit_t h = track(t, pkt(A, 2, B, 200, 17, 0, 15101));
    ck_assert_int_eq(r->n, 3);
    ck_assert_uint_eq(r->e[2].sport, 200);
    ck_assert_uint_eq(r->e[2].reason, EF_END_TIMEOUT);
    ck_assert_uint_eq(r->e[2].state, EF_FLOW_ESTABLISHED);
    ck_assert_int_eq(h.is_new, 1);
    /* a packet stamped in the past does not move the clock back */
    h = track(t, pkt(A, 9, B, 9, 17, 0, 100));
    ck_assert_uint_eq(h.flow->first_ts_us, 100);
    ck_assert_uint_eq(h.flow->last_ts_us, 15101);
    const ef_flow_stats_t *st = ef_flow_table_stats(t);
    ck_assert_uint_eq(st->ended[EF_END_TIMEOUT], 2);
    ck_assert_uint_eq(st->ended[EF_END_RST], 1);
    ck_assert_uint_eq(st->created, 5);
    ck_assert_uint_eq(st->packets, 7);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(default_config)
{
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    ck_assert_uint_eq(cfg.memcap, 64u << 20);
    ck_assert_uint_eq(cfg.frag_slots, 4096);
    ck_assert_uint_eq(cfg.ext_size, 0);
    for (int s = 0; s < EF_FLOW__STATES; s++)
        ck_assert_uint_eq(cfg.timeout_us[s], 1000000);
    ck_assert_str_eq(ef_flow_end_reason_name(EF_END_EVICTED), "evicted");
    ck_assert_str_eq(ef_flow_end_reason_name(EF_END_FIN), "fin");
    ck_assert_str_eq(ef_flow_end_reason_name(EF_END_SHUTDOWN), "shutdown");
    ck_assert_str_eq(ef_flow_state_name(EF_FLOW_ESTABLISHED), "established");
    ck_assert_str_eq(ef_flow_state_name(EF_FLOW__STATES), "invalid");
}
END_TEST

/* memcap for exactly n flows with no fragment table. */
static ef_flow_table_t *tiny_table(recorder_t *r, uint32_t n, uint32_t ext)
{
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.frag_slots = 0;
    cfg.ext_size = ext;
    size_t stride = ((sizeof(ef_flow_t) + 15) & ~(size_t)15) + ((ext + 15) & ~15u);
    uint32_t b = 1;
    while (b < n)
        b <<= 1;
    cfg.memcap = n * stride + b * 4;
    ef_err_t err;
    ef_flow_table_t *t = ef_flow_table_new(&cfg, on_end, r, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    ck_assert_uint_eq(ef_flow_table_stats(t)->capacity, n);
    return t;
}

START_TEST(eviction_takes_the_least_recently_seen_flow)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = tiny_table(r, 4, 0);
    for (uint16_t i = 1; i <= 4; i++)
        track(t, pkt(A, i, B, 80, 17, 0, i));
    track(t, pkt(A, 1, B, 80, 17, 0, 5));     /* flow 1 seen again */
    track(t, pkt(B, 80, A, 3, 17, 0, 6));     /* flow 3 established */
    track(t, pkt(A, 5, B, 80, 17, 0, 7));     /* full: evicts flow 2 */
    ck_assert_int_eq(r->n, 1);
    ck_assert_uint_eq(r->e[0].cport, 2);
    ck_assert_uint_eq(r->e[0].reason, EF_END_EVICTED);
    track(t, pkt(A, 6, B, 80, 17, 0, 8));     /* evicts flow 4 */
    track(t, pkt(A, 7, B, 80, 17, 0, 9));     /* evicts flow 1 */
    track(t, pkt(A, 8, B, 80, 17, 0, 10));    /* evicts flow 3 (established) */
    ck_assert_int_eq(r->n, 4);
    ck_assert_uint_eq(r->e[1].cport, 4);
    ck_assert_uint_eq(r->e[2].cport, 1);
    ck_assert_uint_eq(r->e[3].cport, 3);
    ck_assert_uint_eq(r->e[3].state, EF_FLOW_ESTABLISHED);
    const ef_flow_stats_t *st = ef_flow_table_stats(t);
    ck_assert_uint_eq(st->ended[EF_END_EVICTED], 4);
    ck_assert_uint_eq(st->active, 4);
    ck_assert_uint_eq(st->peak_active, 4);
    /* flush: oldest first */
    ef_flow_table_flush(t);
    ck_assert_int_eq(r->n, 8);
    for (int i = 4; i < 8; i++) {
        ck_assert_uint_eq(r->e[i].cport, (uint16_t)(i + 1));
        ck_assert_uint_eq(r->e[i].reason, EF_END_SHUTDOWN);
    }
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(eviction_of_a_closed_flow_reports_its_close)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = tiny_table(r, 2, 0);
    track(t, pkt(A, 1, B, 80, 6, EF_TCP_SYN, 1));
    track(t, pkt(A, 2, B, 80, 6, EF_TCP_SYN, 1));
    track(t, pkt(B, 80, A, 2, 6, EF_TCP_RST | EF_TCP_ACK, 1)); /* same time: tie */
    track(t, pkt(A, 3, B, 80, 6, EF_TCP_SYN, 2));
    ck_assert_int_eq(r->n, 1);
    ck_assert_uint_eq(r->e[0].cport, 2);  /* the closed one goes first on a tie */
    ck_assert_uint_eq(r->e[0].reason, EF_END_RST);
    ck_assert_uint_eq(ef_flow_table_stats(t)->ended[EF_END_EVICTED], 0);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(flood_of_new_flows_stays_within_capacity)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = tiny_table(r, 64, 136);
    char src[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(src, sizeof src, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        ef_flow_hit_t h = track(t, pkt(src, (uint16_t)(1024 + i % 5000), B, 80, 6, EF_TCP_SYN,
                                       1000000 + (uint64_t)i));
        ck_assert_int_eq(h.is_new, 1);
        ck_assert_uint_le(ef_flow_table_stats(t)->active, 64);
    }
    const ef_flow_stats_t *st = ef_flow_table_stats(t);
    ck_assert_uint_eq(st->created, 10000);
    ck_assert_uint_eq(st->ended[EF_END_EVICTED], 10000 - 64);
    ck_assert_uint_eq(st->active, 64);
    ef_flow_table_flush(t);
    ck_assert_int_eq(r->n, 10000);
    /* every flow ended once: ids unique */
    for (int i = 1; i < r->n; i++)
        ck_assert_uint_ne(r->e[i].id, r->e[i - 1].id);
    uint64_t sum = 0;
    for (int i = 0; i < EF_END__COUNT; i++)
        sum += st->ended[i];
    ck_assert_uint_eq(sum, st->created);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(every_flow_ends_exactly_once_under_mixed_load)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = tiny_table(r, 50, 16);
    uint64_t x = 12345;
    char src[32];
    uint64_t ts = 1000;
    for (int i = 0; i < 6000; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        int host = (int)(x >> 33) % 120;
        snprintf(src, sizeof src, "10.1.0.%d", host);
        static const uint8_t flags[] = {EF_TCP_SYN, EF_TCP_ACK, EF_TCP_FIN, EF_TCP_RST,
                                        EF_TCP_SYN | EF_TCP_ACK};
        uint8_t fl = flags[(x >> 20) % 5];
        ts += (x >> 40) % 60000; /* sometimes beyond the 1 s timeout in sum */
        ef_flow_hit_t h = (x >> 10) & 1 ? track(t, pkt(src, 1000, B, 80, 6, fl, ts))
                                        : track(t, pkt(B, 80, src, 1000, 6, fl, ts));
        unsigned char *ext = ef_flow_ext(h.flow);
        if (h.is_new)
            for (int j = 0; j < 16; j++)
                ck_assert_uint_eq(ext[j], 0);
        memset(ext, 0xee, 16);
    }
    ef_flow_table_flush(t);
    const ef_flow_stats_t *st = ef_flow_table_stats(t);
    ck_assert_uint_eq((uint64_t)r->n, st->created);
    ck_assert_uint_eq(st->active, 0);
    uint64_t pk = 0;
    for (int i = 0; i < r->n; i++)
        pk += r->e[i].pkts[0] + r->e[i].pkts[1];
    ck_assert_uint_eq(pk, 6000);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

START_TEST(memcap_errors_and_per_flow_bytes)
{
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    ef_err_t err;
    cfg.memcap = 1000; /* less than the 4096-slot fragment table */
    ck_assert_ptr_null(ef_flow_table_new(&cfg, NULL, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "memcap 1000 bytes holds no flow"));
    cfg.memcap = 64u << 20;
    cfg.ext_size = 2u << 20;
    ck_assert_ptr_null(ef_flow_table_new(&cfg, NULL, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "ext_size"));
    cfg.ext_size = 0;
    cfg.frag_slots = 1u << 21;
    ck_assert_ptr_null(ef_flow_table_new(&cfg, NULL, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "frag_slots"));
    /* default table with the first-20 features as ext storage */
    ef_flow_config_default(&cfg);
    cfg.ext_size = sizeof(ef_features_t);
    ef_flow_table_t *t = ef_flow_table_new(&cfg, NULL, NULL, &err);
    ck_assert_ptr_nonnull(t);
    size_t per = ef_flow_table_bytes_per_flow(t);
    /* entry 96 + ext 136 rounded to 144, plus a share of <= 2 buckets */
    ck_assert_uint_ge(per, 96 + 144 + 4);
    ck_assert_uint_le(per, 96 + 144 + 8);
    uint64_t cap = ef_flow_table_stats(t)->capacity;
    ck_assert_uint_le(cap * 244 + 4096 * 56, 64u << 20);
    ck_assert_uint_gt(cap, 260000);
    ef_flow_table_free(t);
    ef_flow_table_free(NULL);
}
END_TEST

START_TEST(ids_are_stable_across_tables_and_directions)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t1 = table(r, 0, 0), *t2 = tiny_table(r, 3, 200);
    ef_flow_hit_t h1 = track(t1, pkt(A, 7, B, 8, 17, 0, 123456));
    ef_flow_hit_t h2 = track(t2, pkt(B, 8, A, 7, 17, 0, 123456));
    ck_assert_uint_eq(h1.flow->id, h2.flow->id);
    ck_assert_uint_gt(h1.flow->id, 0);
    ck_assert_uint_lt(h1.flow->id, 1ull << 53);
    ef_flow_hit_t h3 = track(t2, pkt(A, 7, B, 9, 17, 0, 123456));
    ef_flow_hit_t h4 = track(t2, pkt(A, 7, B, 9, 6, EF_TCP_SYN, 123457));
    ck_assert_uint_ne(h3.flow->id, h1.flow->id);
    ck_assert_uint_ne(h4.flow->id, h3.flow->id);
    /* the first timestamp is part of the id */
    ef_flow_table_t *t3 = table(r, 0, 0);
    ck_assert_uint_ne(track(t3, pkt(A, 7, B, 8, 17, 0, 123457)).flow->id, h1.flow->id);
    ef_flow_table_free(t1);
    ef_flow_table_free(t2);
    ef_flow_table_free(t3);
    free(r);
}
END_TEST

START_TEST(shard_hash_is_symmetric_and_ignores_ports)
{
    ef_packet_t a = pkt(A, 1, B, 2, 6, 0, 0), b = pkt(B, 2, A, 1, 6, 0, 0);
    ck_assert_uint_eq(ef_flow_shard_hash(&a), ef_flow_shard_hash(&b));
    ef_packet_t frag = pkt(A, 0, B, 0, 6, 0, 0);
    frag.flags = EF_PKT_FRAG | EF_PKT_FRAG_LATER;
    ck_assert_uint_eq(ef_flow_shard_hash(&a), ef_flow_shard_hash(&frag));
    ef_packet_t c = pkt("2001:db8::1", 1, "2001:db8::2", 2, 17, 0, 0);
    ef_packet_t d = pkt("2001:db8::2", 9, "2001:db8::1", 1, 17, 0, 0);
    ck_assert_uint_eq(ef_flow_shard_hash(&c), ef_flow_shard_hash(&d));
    /* spread: 1000 client hosts over 4 workers, none empty or > 2x fair */
    int bins[4] = {0};
    char src[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(src, sizeof src, "192.168.%d.%d", i / 250, i % 250);
        ef_packet_t p = pkt(src, 1, B, 80, 6, 0, 0);
        bins[ef_flow_shard_hash(&p) % 4]++;
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_lt(bins[i], 500);
}
END_TEST

/* ---- through the decoder ---- */

static ef_packet_t decode(const pb_frame_t *f, int lt, uint64_t ts)
{
    ef_packet_t p;
    ck_assert_int_eq(ef_decode(lt, f->data, (uint32_t)f->len, (uint32_t)f->len, ts, &p),
                     EF_DEC_OK);
    return p;
}

START_TEST(fragments_join_their_first_fragment_or_are_orphans)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, 0);
    pb_frame_t f;
    pb_ip4_t first = {.id = 77, .more_frags = 1}, later = {.id = 77, .frag_off = 1480};
    /* UDP 10.0.0.1:5000 -> 10.0.0.2:53 first fragment */
    pb_init(&f);
    pb_ipv4(&f, A, B, 17, &first);
    pb_udp(&f, 5000, 53);
    pb_payload(&f, NULL, 1472);
    pb_finish(&f);
    ef_flow_t *fl = track(t, decode(&f, EF_DLT_RAW, 100)).flow;
    /* later fragment */
    pb_init(&f);
    pb_ipv4(&f, A, B, 17, &later);
    pb_payload(&f, NULL, 500);
    pb_finish(&f);
    ef_packet_t lp = decode(&f, EF_DLT_RAW, 101);
    ef_flow_hit_t h = track(t, lp);
    ck_assert_ptr_eq(h.flow, fl);
    ck_assert_int_eq(h.c2s, 1);
    ck_assert_uint_eq(fl->pkts[0], 2);
    /* a later fragment with another id: orphan */
    pb_init(&f);
    pb_ip4_t other = {.id = 78, .frag_off = 8};
    pb_ipv4(&f, A, B, 17, &other);
    pb_payload(&f, NULL, 100);
    pb_finish(&f);
    ef_packet_t op = decode(&f, EF_DLT_RAW, 102);
    ef_flow_hit_t oh;
    ck_assert_int_eq(ef_flow_table_track(t, &op, &oh), -1);
    /* same id in the other direction is another datagram: orphan too */
    pb_init(&f);
    pb_ipv4(&f, B, A, 17, &later);
    pb_payload(&f, NULL, 100);
    pb_finish(&f);
    op = decode(&f, EF_DLT_RAW, 103);
    ck_assert_int_eq(ef_flow_table_track(t, &op, &oh), -1);
    /* an ICMP later fragment needs no first fragment */
    pb_init(&f);
    pb_ip4_t icl = {.id = 5, .frag_off = 1480};
    pb_ipv4(&f, A, B, 1, &icl);
    pb_payload(&f, NULL, 100);
    pb_finish(&f);
    h = track(t, decode(&f, EF_DLT_RAW, 104));
    ck_assert_int_eq(h.is_new, 1);
    ck_assert_uint_eq(h.flow->key.proto, 1);
    /* IPv6: first fragment of TCP, then the later one */
    pb_init(&f);
    pb_ipv6(&f, "2001:db8::1", "2001:db8::2", 44);
    pb_ipv6_frag(&f, 6, 0, 1, 0xabcdef);
    pb_tcp(&f, 4444, 443, EF_TCP_ACK, 1, 1);
    pb_payload(&f, NULL, 1000);
    pb_finish(&f);
    ef_flow_t *f6 = track(t, decode(&f, EF_DLT_RAW, 105)).flow;
    pb_init(&f);
    pb_ipv6(&f, "2001:db8::1", "2001:db8::2", 44);
    pb_ipv6_frag(&f, 6, 1032, 0, 0xabcdef);
    pb_payload(&f, NULL, 200);
    pb_finish(&f);
    ck_assert_ptr_eq(track(t, decode(&f, EF_DLT_RAW, 106)).flow, f6);
    const ef_flow_stats_t *st = ef_flow_table_stats(t);
    ck_assert_uint_eq(st->frag_later, 3);
    ck_assert_uint_eq(st->frag_orphans, 2);
    ck_assert_uint_eq(st->packets, 5);
    /* 30 s later the first fragment is forgotten */
    lp.ts_us = 101 + 30000001;
    ck_assert_int_eq(ef_flow_table_track(t, &lp, &oh), -1);
    ef_flow_table_free(t);
    /* without a fragment table every later TCP/UDP fragment is an orphan */
    ef_flow_table_t *t0 = tiny_table(r, 8, 0);
    pb_init(&f);
    pb_ipv4(&f, A, B, 17, &first);
    pb_udp(&f, 5000, 53);
    pb_finish(&f);
    track(t0, decode(&f, EF_DLT_RAW, 1));
    lp.ts_us = 2;
    ck_assert_int_eq(ef_flow_table_track(t0, &lp, &oh), -1);
    ck_assert_uint_eq(ef_flow_table_stats(t0)->frag_orphans, 1);
    ef_flow_table_free(t0);
    free(r);
}
END_TEST

START_TEST(six_in_four_and_icmp_errors_are_their_own_flows)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, 0);
    pb_frame_t f;
    /* 6in4 both ways: one outer flow, proto 41, no ports */
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "192.0.2.1", "192.88.99.1", 41, NULL);
    pb_ipv6(&f, "2002:c000:201::1", "2001:db8::1", 6);
    pb_tcp(&f, 50000, 80, PB_SYN, 1, 0);
    pb_finish(&f);
    ef_flow_hit_t h = track(t, decode(&f, EF_DLT_EN10MB, 10));
    pb_init(&f);
    pb_eth(&f, PB_ETH_IPV4);
    pb_ipv4(&f, "192.88.99.1", "192.0.2.1", 41, NULL);
    pb_ipv6(&f, "2001:db8::1", "2002:c000:201::1", 6);
    pb_tcp(&f, 80, 50000, PB_SYN | PB_ACK, 1, 2);
    pb_finish(&f);
    ef_flow_hit_t h2 = track(t, decode(&f, EF_DLT_EN10MB, 11));
    ck_assert_ptr_eq(h.flow, h2.flow);
    ck_assert_uint_eq(h.flow->key.proto, 41);
    ck_assert_uint_eq(h.flow->key.port[0] + h.flow->key.port[1], 0);
    ck_assert_uint_eq(h.flow->state, EF_FLOW_ESTABLISHED);
    ck_assert_uint_eq(h.flow->tcp_seen, 0); /* inner TCP flags are not the flow's */
    ck_assert_int_eq(h2.c2s, 0);
    /* UDP probe, then the router's ICMP error about it: two flows */
    pb_init(&f);
    pb_ipv4(&f, A, "198.51.100.9", 17, NULL);
    pb_udp(&f, 40000, 33434);
    pb_finish(&f);
    ef_flow_t *probe = track(t, decode(&f, EF_DLT_RAW, 20)).flow;
    pb_init(&f);
    pb_ipv4(&f, "203.0.113.1", A, 1, NULL);
    pb_icmp(&f, 11, 0, 0);
    pb_ipv4(&f, A, "198.51.100.9", 17, NULL);
    pb_udp(&f, 40000, 33434);
    pb_finish(&f);
    h = track(t, decode(&f, EF_DLT_RAW, 21));
    ck_assert_int_eq(h.is_new, 1);
    ck_assert_ptr_ne(h.flow, probe);
    ck_assert_uint_eq(h.flow->key.proto, 1);
    ck_assert_int_eq(h.c2s, 1); /* the router sent first: it is the "client" */
    ck_assert_uint_eq(probe->pkts[0] + probe->pkts[1], 1);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

/* Feature values of a decoded TCP exchange, through the table's direction
 * and the one feature function, including a reordered packet. */
START_TEST(first_k_features_of_a_decoded_exchange)
{
    recorder_t *r = rec_new();
    ef_flow_table_t *t = table(r, 0, sizeof(ef_features_t));
    pb_flow_t fl;
    ck_assert_int_eq(pb_flow_init(&fl, 6, "192.0.2.10", 51000, "198.51.100.20", 443), 0);
    pb_frame_t f;
    static const struct { int dir; uint8_t flags; size_t len; uint64_t ts; } s[] = {
        {PB_C2S, PB_SYN, 0, 1000000},        {PB_S2C, PB_SYN | PB_ACK, 0, 1000150},
        {PB_C2S, PB_ACK, 0, 1000300},        {PB_C2S, PB_PSH | PB_ACK, 517, 1000310},
        {PB_S2C, PB_ACK, 1400, 1000900},     {PB_S2C, PB_PSH | PB_ACK, 300, 1000850},
        {PB_C2S, PB_ACK, 0, 1001000},
    };
    ef_flow_t *flow = NULL;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        pb_flow_frame(&f, PB_DLT_EN10MB, &fl, s[i].dir, s[i].flags, NULL, s[i].len);
        ef_flow_hit_t h = track(t, decode(&f, EF_DLT_EN10MB, s[i].ts));
        ck_assert_int_eq(h.c2s, s[i].dir == PB_C2S);
        flow = h.flow;
        ef_features_add(ef_flow_ext(h.flow), s[i].ts, decode(&f, EF_DLT_EN10MB, 0).ip_len,
                        h.c2s);
    }
    const ef_features_t *ft = ef_flow_ext(flow);
    static const uint16_t sizes[] = {40, 40, 40, 557, 1440, 340, 40};
    static const uint32_t iats[] = {0, 150, 150, 10, 590, 0, 100};
    ck_assert_uint_eq(ft->n, 7);
    for (int i = 0; i < 7; i++) {
        ck_assert_uint_eq(ft->size[i], sizes[i]);
        ck_assert_uint_eq(ft->iat_us[i], iats[i]);
        ck_assert_int_eq(ef_features_dir(ft, i), s[i].dir == PB_C2S);
    }
    ck_assert_int_eq(ef_features_c2s(ft, 5), 3);
    ck_assert_int_eq(ef_features_c2s(ft, 7), 4);
    ck_assert_uint_eq(((uintptr_t)ft) % 16, 0);
    ef_flow_table_free(t);
    free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("flow");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, syn_sender_is_client_whatever_the_key_order);
    tcase_add_test(tc, syn_ack_first_makes_its_receiver_the_client);
    tcase_add_test(tc, udp_first_sender_is_client_and_ipv6_keys);
    tcase_add_test(tc, fin_from_both_sides_closes_and_closed_timeout_ends_as_fin);
    tcase_add_test(tc, rst_closes_and_syn_restarts_a_closed_flow);
    tcase_add_test(tc, timeouts_per_state);
    tcase_add_test(tc, default_config);
    tcase_add_test(tc, eviction_takes_the_least_recently_seen_flow);
    tcase_add_test(tc, eviction_of_a_closed_flow_reports_its_close);
    tcase_add_test(tc, flood_of_new_flows_stays_within_capacity);
    tcase_add_test(tc, every_flow_ends_exactly_once_under_mixed_load);
    tcase_add_test(tc, memcap_errors_and_per_flow_bytes);
    tcase_add_test(tc, ids_are_stable_across_tables_and_directions);
    tcase_add_test(tc, shard_hash_is_symmetric_and_ignores_ports);
    tcase_add_test(tc, fragments_join_their_first_fragment_or_are_orphans);
    tcase_add_test(tc, six_in_four_and_icmp_errors_are_their_own_flows);
    tcase_add_test(tc, first_k_features_of_a_decoded_exchange);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
