/* Applications as message scripts for the stream engine.
 *
 * f->app_state[0] counts the messages produced (it is the message index the
 * renderer sees), [1] is the script step, [2] a repeat counter set when the
 * flow is created, [3] app-specific. Sizes and think times are documented in
 * docs/generator.md with where they come from. */
#include "gen/gen_internal.h"

/* Think time that crosses the 1 s flow timeout sometimes, like people do. */
static uint32_t user_think_us(gen_flow_t *f)
{
    return (uint32_t)gen_clampd(gen_exp(&f->rng, 400000.0), 0, 30e6);
}

static uint32_t server_think_us(gen_flow_t *f, double median_us)
{
    return (uint32_t)gen_logn_clamped(&f->rng, median_us, 1.0, 50, 2e6);
}

static void msg_stream(gen_flow_t *f, gen_msg_t *m, int dir, uint32_t bytes, uint32_t think,
                       uint8_t pfx, uint8_t parg)
{
    memset(m, 0, sizeof *m);
    m->dir = (uint8_t)dir;
    m->amount = bytes ? bytes : 1;
    m->think_us = think;
    m->pfx = pfx;
    m->parg = parg;
    if (f->tp == GEN_TP_TCP) {
        m->ans_every = 2; /* delayed ACK: every second full segment */
    } else {
        /* QUIC-like: the receiver acknowledges every second datagram */
        m->ans_every = 2;
        m->ans_min = 25;
        m->ans_max = 45;
        m->ans_pfx = GEN_PFX_QUIC_SHORT;
    }
}

static void msg_dgrams(gen_msg_t *m, int dir, uint32_t count, uint16_t smin, uint16_t smax,
                       uint32_t gap_us, uint32_t think, uint8_t pfx, uint8_t parg)
{
    memset(m, 0, sizeof *m);
    m->dir = (uint8_t)dir;
    m->count_mode = 1;
    m->amount = count ? count : 1;
    m->seg_min = smin;
    m->seg_max = smax < smin ? smin : smax;
    m->gap_us = gap_us ? gap_us : 1000;
    m->think_us = think;
    m->pfx = pfx;
    m->parg = parg;
}

/* One datagram whose size is what its protocol content needs. */
static void msg_one(gen_flow_t *f, gen_msg_t *m, int dir, uint32_t think, uint8_t pfx,
                    uint8_t parg, uint16_t idx)
{
    uint32_t len = ef_gen_pfx_len(f, pfx, parg, idx, 0);
    msg_dgrams(m, dir, 1, (uint16_t)len, (uint16_t)len, 1000, think, pfx, parg);
}

/* TLS 1.3 opening: ClientHello, server flight, client Finished. Returns 1
 * while the opening is not done (m filled). Steps 0..2 of app_state[1]. */
static int tls_opening(gen_flow_t *f, gen_msg_t *m, uint16_t idx)
{
    switch (f->app_state[1]) {
    case 0:
        msg_stream(f, m, 0, ef_gen_pfx_len(f, GEN_PFX_TLS_CH, 0, idx, 0),
                   gen_range(&f->rng, 100, 3000), GEN_PFX_TLS_CH, 0);
        break;
    case 1:
        /* ServerHello + encrypted extensions + certificate chain */
        msg_stream(f, m, 1, gen_range(&f->rng, 2400, 6000), server_think_us(f, 3000),
                   GEN_PFX_TLS_SH, 0);
        break;
    case 2:
        msg_stream(f, m, 0, gen_range(&f->rng, 64, 130), gen_range(&f->rng, 200, 3000),
                   GEN_PFX_TLS_APP, 0);
        break;
    default:
        return 0;
    }
    f->app_state[1]++;
    return 1;
}

/* Request/response pairs over TLS (HTTPS, tunnelled web). */
static int app_https(gen_flow_t *f, gen_msg_t *m, uint16_t idx)
{
    if (tls_opening(f, m, idx))
        return 1;
    uint32_t step = f->app_state[1]++ - 3;
    if (f->app_state[2] == 0)
        return 0;
    if (step % 2 == 0) {
        uint32_t think = step == 0 ? gen_range(&f->rng, 0, 2000) : user_think_us(f);
        msg_stream(f, m, 0, gen_range(&f->rng, 200, 900), think, GEN_PFX_TLS_APP, 0);
    } else {
        uint32_t body = (uint32_t)gen_logn_clamped(&f->rng, 6000, 1.6, 200, 3e6);
        msg_stream(f, m, 1, body, server_think_us(f, 8000), GEN_PFX_TLS_APP, 0);
        f->app_state[2]--;
    }
    return 1;
}

/* Plain HTTP/1.1: GET and response, keep-alive. */
static int app_http(gen_flow_t *f, gen_msg_t *m, uint16_t idx, uint8_t get_arg, double median,
                    double sigma, double hi)
{
    uint32_t step = f->app_state[1]++;
    if (f->app_state[2] == 0)
        return 0;
    if (step % 2 == 0) {
        uint32_t think = step == 0 ? gen_range(&f->rng, 0, 2000) : user_think_us(f);
        msg_stream(f, m, 0, ef_gen_pfx_len(f, GEN_PFX_HTTP_GET, get_arg, idx, 0), think,
                   GEN_PFX_HTTP_GET, get_arg);
    } else {
        uint32_t body = (uint32_t)gen_logn_clamped(&f->rng, median, sigma, 300, hi);
        msg_stream(f, m, 1, body, server_think_us(f, 10000), GEN_PFX_HTTP_RESP, 0);
        f->app_state[2]--;
    }
    return 1;
}

/* Transfer: one request, one large response or upload. app_flags bit 0:
 * over TLS; bit 1: upload; bit 2: opaque payload (no HTTP text). */
static int app_bulk(gen_flow_t *f, gen_msg_t *m, uint16_t idx, double median, double sigma,
                    double lo, double hi)
{
    if ((f->app_flags & 1) && tls_opening(f, m, idx))
        return 1;
    uint32_t step = f->app_state[1]++ - ((f->app_flags & 1) ? 3 : 0);
    uint8_t tls = f->app_flags & 1, opaque = (f->app_flags & 4) != 0;
    uint8_t req = tls ? GEN_PFX_TLS_APP : opaque ? GEN_PFX_NONE : GEN_PFX_HTTP_GET;
    uint8_t resp = tls ? GEN_PFX_TLS_APP : opaque ? GEN_PFX_NONE : GEN_PFX_HTTP_RESP;
    int upload = (f->app_flags & 2) != 0;
    switch (step) {
    case 0:
        msg_stream(f, m, 0,
                   req == GEN_PFX_HTTP_GET ? ef_gen_pfx_len(f, req, 0, idx, 0)
                                           : gen_range(&f->rng, 100, 700),
                   gen_range(&f->rng, 0, 2000), req, 0);
        return 1;
    case 1:
        msg_stream(f, m, upload ? 0 : 1, (uint32_t)gen_logn_clamped(&f->rng, median, sigma, lo, hi),
                   server_think_us(f, 10000), upload ? req : resp, 0);
        return 1;
    case 2:
        if (!upload)
            return 0;
        msg_stream(f, m, 1, gen_range(&f->rng, 100, 400), server_think_us(f, 5000), resp, 0);
        return 1;
    default:
        return 0;
    }
}

/* SSH: banners, key exchange, authentication, then keystrokes and echoes. */
static int app_ssh(gen_flow_t *f, gen_msg_t *m, uint16_t idx)
{
    uint32_t step = f->app_state[1]++;
    static const struct {
        uint8_t dir;
        uint16_t lo, hi;
    } kex[] = {
        {0, 1200, 1500}, {1, 1000, 1100}, {0, 48, 100}, {1, 500, 1100},
        {0, 44, 100},    {1, 44, 100},    {0, 100, 700}, {1, 50, 100},
        {0, 100, 700},   {1, 30, 60},
    };
    if (step == 0) {
        msg_stream(f, m, 1, ef_gen_pfx_len(f, GEN_PFX_SSH_BANNER, 1, idx, 0),
                   server_think_us(f, 2000), GEN_PFX_SSH_BANNER, 1);
        return 1;
    }
    if (step == 1) {
        msg_stream(f, m, 0, ef_gen_pfx_len(f, GEN_PFX_SSH_BANNER, 0, idx, 0),
                   gen_range(&f->rng, 100, 2000), GEN_PFX_SSH_BANNER, 0);
        return 1;
    }
    step -= 2;
    if (step < sizeof kex / sizeof kex[0]) {
        msg_stream(f, m, kex[step].dir, gen_range(&f->rng, kex[step].lo, kex[step].hi),
                   kex[step].dir ? server_think_us(f, 3000) : gen_range(&f->rng, 100, 5000),
                   GEN_PFX_SSH_PKT, 0);
        return 1;
    }
    step -= sizeof kex / sizeof kex[0];
    if (f->app_state[2] == 0)
        return 0;
    if (step % 2 == 0) {
        uint32_t think = f->app_flags & 1 ? gen_range(&f->rng, 1000, 50000) : user_think_us(f);
        msg_stream(f, m, 0, gen_range(&f->rng, 36, 52), think, GEN_PFX_SSH_PKT, 0);
    } else {
        uint32_t out = gen_chance(&f->rng, 0.1)
                           ? (uint32_t)gen_logn_clamped(&f->rng, 3000, 1.2, 100, 200000)
                           : gen_range(&f->rng, 36, 68);
        msg_stream(f, m, 1, out, server_think_us(f, 1500), GEN_PFX_SSH_PKT, 0);
        f->app_state[2]--;
    }
    return 1;
}

/* SMTP with STARTTLS, then the message over TLS. */
static int app_smtp(gen_flow_t *f, gen_msg_t *m, uint16_t idx)
{
    uint32_t step = f->app_state[1];
    if (step < 5) {
        int dir = (step % 2 == 0) ? 1 : 0; /* server speaks first */
        f->app_state[1]++;
        msg_stream(f, m, dir, ef_gen_pfx_len(f, GEN_PFX_SMTP, (uint8_t)step, idx, 0),
                   dir ? server_think_us(f, 5000) : gen_range(&f->rng, 200, 5000),
                   GEN_PFX_SMTP, (uint8_t)step);
        return 1;
    }
    f->app_state[1] -= 5;
    int opening = tls_opening(f, m, idx);
    f->app_state[1] += 5;
    if (opening)
        return 1;
    step = f->app_state[1]++ - 8;
    static const uint8_t dirs[] = {0, 1, 0, 1};
    if (step >= sizeof dirs)
        return 0;
    uint32_t len = step == 0 ? (uint32_t)gen_logn_clamped(&f->rng, 20000, 1.0, 1500, 2e6)
                             : gen_range(&f->rng, 30, 110);
    msg_stream(f, m, dirs[step], len,
               dirs[step] ? server_think_us(f, 20000) : gen_range(&f->rng, 100, 3000),
               GEN_PFX_TLS_APP, 0);
    return 1;
}

/* QUIC-like: long-header handshake datagrams, then short-header data. */
static int app_quic(gen_flow_t *f, gen_msg_t *m)
{
    uint32_t step = f->app_state[1]++;
    switch (step) {
    case 0:
        msg_dgrams(m, 0, 1, 1252, 1350, 1000, 0, GEN_PFX_QUIC_LONG, 0);
        return 1;
    case 1:
        msg_dgrams(m, 1, gen_range(&f->rng, 2, 4), 1200, 1350, 60, server_think_us(f, 2000),
                   GEN_PFX_QUIC_LONG, 1);
        return 1;
    case 2:
        msg_dgrams(m, 0, gen_range(&f->rng, 1, 2), 40, 150, 200, gen_range(&f->rng, 100, 2000),
                   GEN_PFX_QUIC_LONG, 2);
        return 1;
    default:
        break;
    }
    step -= 3;
    if (f->app_state[2] == 0) {
        if (f->app_flags & 1) { /* CONNECTION_CLOSE */
            f->app_flags &= (uint8_t)~1u;
            msg_dgrams(m, 0, 1, 30, 60, 1000, user_think_us(f), GEN_PFX_QUIC_SHORT, 0);
            return 1;
        }
        return 0;
    }
    if (step % 2 == 0) {
        uint32_t think = step == 0 ? gen_range(&f->rng, 0, 1000) : user_think_us(f);
        msg_dgrams(m, 0, 1, 40, 400, 1000, think, GEN_PFX_QUIC_SHORT, 0);
    } else {
        uint32_t body = (uint32_t)gen_logn_clamped(&f->rng, 8000, 1.6, 300, 3e6);
        msg_stream(f, m, 1, body, server_think_us(f, 8000), GEN_PFX_QUIC_SHORT, 0);
        f->app_state[2]--;
    }
    return 1;
}

/* DNS: one or two query/response pairs (A, then AAAA). */
static int app_dns(gen_flow_t *f, gen_msg_t *m, uint16_t idx)
{
    uint32_t step = f->app_state[1]++;
    if (step / 2 >= f->app_state[2])
        return 0;
    uint8_t qtype = (uint8_t)(step / 2 == 0 ? f->app_state[3] % 3 : 1);
    if (step % 2 == 0) {
        msg_one(f, m, 0, step == 0 ? 0 : gen_range(&f->rng, 50, 3000), GEN_PFX_DNS_Q, qtype, idx);
    } else {
        /* cache hit at the resolver, or a recursive lookup */
        uint32_t think = gen_chance(&f->rng, 0.7)
                             ? (uint32_t)gen_logn_clamped(&f->rng, 1500, 0.6, 100, 20000)
                             : (uint32_t)gen_logn_clamped(&f->rng, 40000, 0.8, 5000, 700000);
        msg_one(f, m, 1, think, GEN_PFX_DNS_R, qtype, idx);
    }
    return 1;
}

/* Datagram exchanges: DHT queries, NTP, ... app_state[2] exchanges,
 * app_flags bit 0: the server answers. */
static int app_exchange(gen_flow_t *f, gen_msg_t *m, uint16_t idx, uint8_t qpfx, uint8_t rpfx)
{
    uint32_t step = f->app_state[1]++;
    if (step / 2 >= f->app_state[2])
        return 0;
    if (step % 2 == 0) {
        uint32_t think = step == 0 ? 0 : gen_range(&f->rng, 20000, 500000);
        msg_one(f, m, 0, think, qpfx, 0, idx);
        return 1;
    }
    if (!(f->app_flags & 1)) {
        /* no answer: wait for the next query */
        f->app_state[1]++;
        if ((step + 1) / 2 >= f->app_state[2])
            return 0;
        msg_one(f, m, 0, gen_range(&f->rng, 200000, 700000), qpfx, 0, idx);
        return 1;
    }
    uint8_t rarg = (uint8_t)(rpfx == GEN_PFX_DHT ? 1 + (f->app_state[3] & 1) : 0);
    msg_one(f, m, 1, server_think_us(f, 1000), rpfx, rarg, idx);
    return 1;
}

/* Interactive TCP on other ports: a few small exchanges. */
static int app_tcp_other(gen_flow_t *f, gen_msg_t *m)
{
    uint32_t step = f->app_state[1]++;
    if (f->app_state[2] == 0)
        return 0;
    if (step % 2 == 0) {
        msg_stream(f, m, 0, gen_range(&f->rng, 40, 800), step ? user_think_us(f) : 0,
                   GEN_PFX_NONE, 0);
    } else {
        msg_stream(f, m, 1, (uint32_t)gen_logn_clamped(&f->rng, 1500, 1.5, 20, 500000),
                   server_think_us(f, 5000), GEN_PFX_NONE, 0);
        f->app_state[2]--;
    }
    return 1;
}

/* Receiver answers every n datagrams so that the answers in flight fit the
 * engine's ring (a round trip's worth of datagrams / n <= 40). */
static uint8_t answer_every(const gen_flow_t *f, uint32_t gap_us, uint32_t want)
{
    uint64_t window = 2ull * (f->d_us[0] > f->d_us[1] ? f->d_us[0] : f->d_us[1]) + 50000;
    uint64_t inflight = window / (gap_us ? gap_us : 1) + 1;
    uint64_t n = inflight / 40 + 1;
    if (n < want)
        n = want;
    return n > 255 ? 0 : (uint8_t)n;
}

int ef_gen_app_next_msg(gen_ctx_t *c, gen_flow_t *f, gen_msg_t *m)
{
    (void)c;
    uint16_t idx = (uint16_t)f->app_state[0];
    int ok;
    switch (f->app) {
    case GEN_APP_HTTPS:
        ok = app_https(f, m, idx);
        break;
    case GEN_APP_HTTP:
        ok = app_http(f, m, idx, 0, 4000, 1.5, 2e6);
        break;
    case GEN_APP_BULK:
        ok = app_bulk(f, m, idx, 300e3, 1.5, 50e3, 20e6);
        break;
    case GEN_APP_SSH:
        ok = app_ssh(f, m, idx);
        break;
    case GEN_APP_SMTP:
        ok = app_smtp(f, m, idx);
        break;
    case GEN_APP_QUIC:
        ok = app_quic(f, m);
        break;
    case GEN_APP_DNS:
        ok = app_dns(f, m, idx);
        break;
    case GEN_APP_NTP:
        ok = app_exchange(f, m, idx, GEN_PFX_NTP_C, GEN_PFX_NTP_S);
        break;
    case GEN_APP_PING: {
        uint32_t step = f->app_state[1]++;
        if (step)
            return 0;
        uint16_t size = (uint16_t)f->app_state[3];
        msg_dgrams(m, 0, f->app_state[2], size, size, 1000000, 0, GEN_PFX_NONE, 0);
        m->ans_every = 1;
        m->ans_min = m->ans_max = size;
        m->ans_delay_us = gen_range(&f->rng, 20, 400);
        ok = 1;
        break;
    }
    case GEN_APP_RTP: {
        uint32_t step = f->app_state[1]++;
        if (step)
            return 0;
        msg_dgrams(m, 0, f->app_state[2], 160, 180, 20000, 0, GEN_PFX_RTP, 0);
        m->ans_every = 1;
        m->ans_min = 160;
        m->ans_max = 180;
        m->ans_pfx = GEN_PFX_RTP;
        m->ans_parg = 1;
        m->ans_delay_us = f->app_state[3] % 20000;
        ok = 1;
        break;
    }
    case GEN_APP_TCP_OTHER:
        ok = app_tcp_other(f, m);
        break;
    case GEN_APP_HTTP_FLOOD: {
        uint32_t step = f->app_state[1]++;
        if (f->app_state[2] == 0)
            return 0;
        if (step % 2 == 0) {
            msg_stream(f, m, 0, ef_gen_pfx_len(f, GEN_PFX_HTTP_GET, 2, idx, 0),
                       step ? gen_range(&f->rng, 0, 30000) : gen_range(&f->rng, 0, 2000),
                       GEN_PFX_HTTP_GET, 2);
        } else {
            int busy = gen_chance(&f->rng, 0.4); /* 503 from an overloaded server */
            msg_stream(f, m, 1, busy ? gen_range(&f->rng, 200, 420) : gen_range(&f->rng, 400, 6000),
                       (uint32_t)gen_logn_clamped(&f->rng, 20000, 1.0, 500, 500000),
                       GEN_PFX_HTTP_RESP, (uint8_t)busy);
            f->app_state[2]--;
        }
        ok = 1;
        break;
    }
    case GEN_APP_CRAWL: {
        uint32_t step = f->app_state[1]++;
        if (f->app_state[2] == 0)
            return 0;
        uint8_t robots = step == 0;
        if (step % 2 == 0) {
            msg_stream(f, m, 0, ef_gen_pfx_len(f, GEN_PFX_HTTP_GET, robots ? 1 : 3, idx, 0),
                       step ? gen_range(&f->rng, 100000, 700000) : gen_range(&f->rng, 0, 2000),
                       GEN_PFX_HTTP_GET, robots ? 1 : 3);
        } else {
            uint32_t body = step == 1 ? gen_range(&f->rng, 100, 2000)
                                      : (uint32_t)gen_logn_clamped(&f->rng, 15000, 1.0, 1000, 200000);
            msg_stream(f, m, 1, body, server_think_us(f, 15000), GEN_PFX_HTTP_RESP, 0);
            f->app_state[2]--;
        }
        ok = 1;
        break;
    }
    case GEN_APP_HTTP_BULK:
        ok = app_bulk(f, m, idx, 8e6, 0.6, 2e6, 40e6);
        break;
    case GEN_APP_ALPHA_TCP:
        ok = app_bulk(f, m, idx, 2e6, 0.8, 500e3, 60e6);
        break;
    case GEN_APP_ALPHA_UDP: {
        uint32_t step = f->app_state[1]++;
        if (step)
            return 0;
        uint32_t gap = f->app_state[3] ? f->app_state[3] : 500;
        msg_dgrams(m, 0, f->app_state[2], 1100, 1400, gap, 0, GEN_PFX_NONE, 0);
        m->ans_every = answer_every(f, gap, 32);
        m->ans_min = 40;
        m->ans_max = 80;
        ok = 1;
        break;
    }
    case GEN_APP_P2P_UDP:
        ok = app_exchange(f, m, idx, GEN_PFX_DHT, GEN_PFX_DHT);
        break;
    case GEN_APP_P2P_TCP: {
        uint32_t step = f->app_state[1]++;
        if (step >= 2 + 2 * f->app_state[2])
            return 0;
        if (step < 2)
            msg_stream(f, m, (int)step, 68, step ? server_think_us(f, 2000) : 1000, GEN_PFX_BT_HS, 0);
        else
            msg_stream(f, m, (int)(step % 2), gen_range(&f->rng, 5, 300),
                       gen_range(&f->rng, 1000, 200000), GEN_PFX_NONE, 0);
        ok = 1;
        break;
    }
    case GEN_APP_REFLECT: {
        uint32_t step = f->app_state[1]++;
        if (step)
            return 0;
        uint16_t lo = (uint16_t)(f->app_state[3] & 0xffff), hi = (uint16_t)(f->app_state[3] >> 16);
        uint8_t pfx = (uint8_t)(f->app_flags >> 4);
        msg_dgrams(m, 0, f->app_state[2], lo, hi, 5000, 0, pfx, 1);
        m->gap_exp = 1;
        ok = 1;
        break;
    }
    case GEN_APP_UDP_FLOOD: {
        uint32_t step = f->app_state[1]++;
        if (step)
            return 0;
        uint16_t size = (uint16_t)f->app_state[3];
        msg_dgrams(m, 0, f->app_state[2], size, size, 2000, 0, GEN_PFX_NONE, 0);
        m->gap_exp = 1;
        ok = 1;
        break;
    }
    default:
        return 0;
    }
    if (ok)
        f->app_state[0]++;
    return ok;
}
