/* Benign background: the applications a transit link carries, between a
 * pool of clients and a Zipf-popular pool of servers. Benign hosts never
 * appear in a label row. */
#include "gen/gen_internal.h"

typedef struct app_weight {
    uint8_t app;
    uint8_t weight;
} app_weight_t;

/* Share of benign flows per application (percent). Web dominates MAWI
 * (Schumann et al. 2022: >90 % of the bytes, ~3/4 encrypted); DNS is the
 * most common UDP flow; QUIC carries a growing share of web. */
static const app_weight_t mix_main[] = {
    {GEN_APP_HTTPS, 36}, {GEN_APP_QUIC, 14}, {GEN_APP_HTTP, 8},      {GEN_APP_DNS, 18},
    {GEN_APP_NTP, 3},    {GEN_APP_SSH, 2},   {GEN_APP_BULK, 5},      {GEN_APP_SMTP, 2},
    {GEN_APP_PING, 2},   {GEN_APP_RTP, 1},   {GEN_APP_TCP_OTHER, 9},
};
/* Flows already running at capture start: the long ones. */
static const app_weight_t mix_pre[] = {
    {GEN_APP_BULK, 40}, {GEN_APP_SSH, 20}, {GEN_APP_RTP, 20}, {GEN_APP_QUIC, 20},
};

static uint8_t pick_app(gen_rng_t *r, const app_weight_t *w, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i].weight;
    unsigned u = gen_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (u < w[i].weight)
            return w[i].app;
        u -= w[i].weight;
    }
    return w[n - 1].app;
}

uint32_t ef_gen_pick_server(gen_ctx_t *c, gen_rng_t *r, uint32_t *index)
{
    double u = gen_u01(r);
    uint32_t lo = 0, hi = c->nservers - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->server_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    *index = lo;
    return c->servers[lo];
}

static uint32_t geometric(gen_rng_t *r, double p_stop, uint32_t cap)
{
    uint32_t n = 1;
    while (n < cap && !gen_chance(r, p_stop))
        n++;
    return n;
}

static const char *app_shape(uint8_t app)
{
    switch (app) {
    case GEN_APP_HTTPS: return "https";
    case GEN_APP_HTTP: return "http";
    case GEN_APP_BULK: return "bulk";
    case GEN_APP_SSH: return "ssh";
    case GEN_APP_SMTP: return "smtp";
    case GEN_APP_QUIC: return "quic";
    case GEN_APP_DNS: return "dns";
    case GEN_APP_NTP: return "ntp";
    case GEN_APP_PING: return "ping";
    case GEN_APP_RTP: return "rtp";
    default: return "tcp-other";
    }
}

static void set_close(gen_flow_t *f, double p_fin, double p_rst, double client_closes)
{
    double u = gen_u01(&f->rng);
    gen_stream_t *s = &f->u.st;
    s->close = u < p_fin ? GEN_CLOSE_FIN : u < p_fin + p_rst ? GEN_CLOSE_RST : GEN_CLOSE_NONE;
    s->closer = gen_chance(&f->rng, client_closes) ? 0 : 1;
}

/* IPv6 endpoints for the same pool slots (2001:db8::/32). */
static void make_v6(gen_ctx_t *c, gen_flow_t *f, uint32_t client_ix, uint32_t server_ix)
{
    f->ipv = 6;
    ef_gen_addr_v6(gen_hash3(c->cfg.seed, 0xc1, client_ix), f->addr[0]);
    ef_gen_addr_v6(gen_hash3(c->cfg.seed, 0x5e, server_ix), f->addr[1]);
    for (int i = 0; i < 2; i++)
        f->mss_opt[i] = (uint16_t)(f->mss_opt[i] - 20);
    ef_gen_flow_tcp_update(f);
}

void ef_gen_spawn_benign(gen_ctx_t *c, gen_spawner_t *s, int64_t t)
{
    s->done++;
    gen_rng_t *r = &s->rng;
    uint8_t app = s->variant == GEN_V_BENIGN_PRE
                      ? pick_app(r, mix_pre, sizeof mix_pre / sizeof mix_pre[0])
                      : pick_app(r, mix_main, sizeof mix_main / sizeof mix_main[0]);
    gen_flow_t *f = ef_gen_flow_new(c, t, EF_CAT_UNLABELED, -1, "", app_shape(app));
    if (!f)
        return;
    uint32_t ci = gen_below(&f->rng, c->nclients), si = 0;
    uint32_t server;
    if (app == GEN_APP_DNS)
        server = c->resolvers[si = gen_below(&f->rng, 12)];
    else if (app == GEN_APP_NTP)
        server = c->ntp_servers[si = gen_below(&f->rng, 6)];
    else
        server = ef_gen_pick_server(c, &f->rng, &si);
    gen_put_v4(f->addr[0], c->clients[ci]);
    gen_put_v4(f->addr[1], server);
    f->app = app;
    f->port[0] = ef_gen_ephemeral_port(&f->rng);
    int v6ok = app == GEN_APP_HTTPS || app == GEN_APP_QUIC || app == GEN_APP_DNS ||
               app == GEN_APP_HTTP || app == GEN_APP_BULK;
    if (v6ok && gen_chance(&f->rng, 0.1))
        make_v6(c, f, ci, si);
    int handshake = 1;
    switch (app) {
    case GEN_APP_HTTPS:
        f->tp = GEN_TP_TCP;
        f->port[1] = 443;
        f->app_state[2] = geometric(&f->rng, 0.35, 30);
        ef_gen_stream_init(f, t, handshake);
        set_close(f, 0.6, 0.15, 0.6);
        break;
    case GEN_APP_HTTP:
        f->tp = GEN_TP_TCP;
        f->port[1] = gen_chance(&f->rng, 0.9) ? 80 : 8080;
        f->app_state[2] = geometric(&f->rng, 0.4, 20);
        ef_gen_stream_init(f, t, handshake);
        set_close(f, 0.7, 0.0, 0.5);
        break;
    case GEN_APP_BULK:
        f->tp = GEN_TP_TCP;
        f->app_flags = gen_chance(&f->rng, 0.7) ? 1 : 0;
        f->port[1] = f->app_flags ? 443 : 80;
        ef_gen_stream_init(f, t, handshake);
        set_close(f, 0.9, 0.05, 0.5);
        break;
    case GEN_APP_SSH:
        f->tp = GEN_TP_TCP;
        f->port[1] = 22;
        f->app_state[2] = (uint32_t)gen_logn_clamped(&f->rng, 60, 1.0, 5, 2000);
        ef_gen_stream_init(f, t, handshake);
        set_close(f, 0.95, 0.0, 0.9);
        break;
    case GEN_APP_SMTP:
        f->tp = GEN_TP_TCP;
        f->port[1] = gen_chance(&f->rng, 0.7) ? 25 : 587;
        ef_gen_host_defaults(f, 0, 0); /* mail servers on both ends */
        ef_gen_flow_tcp_update(f);
        ef_gen_stream_init(f, t, handshake);
        set_close(f, 0.95, 0.0, 0.8);
        break;
    case GEN_APP_QUIC:
        f->tp = GEN_TP_UDP;
        f->port[1] = 443;
        f->df = 1;
        f->mss[0] = f->mss[1] = (uint16_t)(f->ipv == 6 ? 1330 : 1350);
        f->app_state[2] = geometric(&f->rng, 0.3, 40);
        f->app_flags = gen_chance(&f->rng, 0.4);
        ef_gen_stream_init(f, t, 0);
        break;
    case GEN_APP_DNS:
        f->tp = GEN_TP_UDP;
        f->df = 0;
        f->port[1] = 53;
        f->app_state[2] = gen_chance(&f->rng, 0.5) ? 2 : 1;
        f->app_state[3] = gen_below(&f->rng, 6) == 0 ? 2 : gen_below(&f->rng, 2);
        ef_gen_stream_init(f, t, 0);
        break;
    case GEN_APP_NTP:
        f->tp = GEN_TP_UDP;
        f->df = 0;
        f->port[1] = 123;
        if (gen_chance(&f->rng, 0.5))
            f->port[0] = 123;
        f->app_state[2] = 1;
        f->app_flags = 1;
        ef_gen_stream_init(f, t, 0);
        break;
    case GEN_APP_PING:
        f->tp = GEN_TP_ICMP;
        f->icmp_type[0] = 8;
        f->icmp_type[1] = 0;
        f->port[0] = (uint16_t)gen_next(&f->rng);
        f->app_state[2] = geometric(&f->rng, 0.25, 10);
        f->app_state[3] = gen_chance(&f->rng, 0.6) ? 56 : 32;
        ef_gen_stream_init(f, t, 0);
        break;
    case GEN_APP_RTP:
        f->tp = GEN_TP_UDP;
        f->df = 0;
        f->port[0] = (uint16_t)(2 * gen_range(&f->rng, 8192, 16383));
        f->port[1] = (uint16_t)(2 * gen_range(&f->rng, 8192, 16383));
        f->app_state[2] = (uint32_t)(50 * gen_logn_clamped(&f->rng, 8, 1.0, 2, 120));
        f->app_state[3] = gen_below(&f->rng, 20000);
        ef_gen_stream_init(f, t, 0);
        break;
    default: {
        static const uint16_t ports[] = {3389, 5222, 993, 995, 1935, 8443, 5228, 4070};
        f->tp = GEN_TP_TCP;
        f->port[1] = gen_chance(&f->rng, 0.7) ? ports[gen_below(&f->rng, 8)]
                                              : (uint16_t)gen_range(&f->rng, 1024, 49151);
        f->app_state[2] = gen_range(&f->rng, 1, 5);
        ef_gen_stream_init(f, t, handshake);
        set_close(f, 0.6, 0.2, 0.5);
        break;
    }
    }
    ef_gen_flow_start(c, f);
}
