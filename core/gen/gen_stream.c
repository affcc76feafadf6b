/* The stream engine: one conversation as seen from a monitor in the middle
 * of the path.
 *
 * Timing model. Each side sits d_us[side] away from the monitor, so a packet
 * from side X seen at time T reaches Y at T + d[Y], and Y's reaction is seen
 * at T + 2 d[Y] (+ Y's think time). The handshake, every message, every
 * answer and the teardown are timed that way, which gives the asymmetric
 * inter-arrival times a backbone capture shows.
 *
 * A conversation is a list of messages (gen_apps.c) alternating between the
 * sides. A message is either a byte stream (cut into MSS-sized segments,
 * paced by a congestion window that starts at 10 segments and doubles every
 * round trip up to cwnd_max, never faster than the bottleneck rate) or a
 * count of datagrams (paced by a fixed or exponential gap). The receiver
 * answers every ans_every segments: TCP pure ACKs (delayed ACK after an odd
 * last segment unless the reply comes first and carries it), QUIC-like
 * acknowledgements, echo replies, RTP in the other direction.
 *
 * Answers are timed from the segment they answer, so they interleave with
 * later segments; they wait in a small ring ordered by time (a window of at
 * most cwnd_max segments in flight bounds it). */
#include "gen/gen_internal.h"

enum { ST_SYN, ST_SYNACK, ST_ACK3, ST_NEXTMSG, ST_MSG, ST_CLOSE1, ST_CLOSE2, ST_CLOSE3, ST_DONE };

#define DELACK_US 40000
#define INIT_CWND 10
#define UNSET INT64_MIN
/* Longest silence inside an anomaly flow: a flow table with a 1 s idle
 * timeout must keep it as one flow, or a fragment could start with the
 * server's packet and no longer match its label row. */
#define ANOMALY_MAX_GAP_US 800000

static void fill(gen_flow_t *f, gen_pkt_t *p, int64_t ts, int dir, uint8_t flags,
                 uint16_t plen)
{
    memset(p, 0, sizeof *p);
    p->ts = ts;
    p->dir = (uint8_t)dir;
    p->flags = flags;
    p->plen = plen;
    p->ipid = f->ipid[dir]++;
    if (f->tp == GEN_TP_TCP && f->tsopt) {
        p->tsv = f->tsbase[dir] + (uint32_t)(uint64_t)(ts / 1000);
        p->tsecr = f->last_tsv[!dir];
        f->last_tsv[dir] = p->tsv;
    }
}

void ef_gen_stream_init(gen_flow_t *f, int64_t t0, int handshake)
{
    gen_stream_t *s = &f->u.st;
    memset(s, 0, sizeof *s);
    f->kind = GEN_K_STREAM;
    s->t0 = t0;
    s->t_last = t0;
    s->handshake = (uint8_t)(handshake && f->tp == GEN_TP_TCP);
    s->phase = s->handshake ? ST_SYN : ST_NEXTMSG;
    s->last_from[0] = s->last_from[1] = UNSET;
    s->nxt[0] = (uint32_t)gen_next(&f->rng);
    s->nxt[1] = (uint32_t)gen_next(&f->rng);
    s->cwnd_max = 64;
    s->prev_dir = 0xff;
    double mbps = gen_logn_clamped(&f->rng, 30.0, 1.0, 2.0, 1000.0);
    s->seg_gap_us = (uint32_t)(1500.0 * 8.0 / mbps);
    if (s->seg_gap_us < 1)
        s->seg_gap_us = 1;
    s->close_us = (uint32_t)gen_exp(&f->rng, 20000.0);
}

static int64_t rtt_us(const gen_flow_t *f)
{
    return 2 * ((int64_t)f->d_us[0] + f->d_us[1]);
}

/* The message after the current one, fetched once and kept. */
static const gen_msg_t *peek_msg(gen_ctx_t *c, gen_flow_t *f)
{
    gen_stream_t *s = &f->u.st;
    if (s->next_state == 0)
        s->next_state = ef_gen_app_next_msg(c, f, &s->next) ? 1 : 2;
    return s->next_state == 1 ? &s->next : NULL;
}

static int take_msg(gen_ctx_t *c, gen_flow_t *f)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *n = peek_msg(c, f);
    if (!n)
        return 0;
    s->m = *n;
    s->next_state = 0;
    return 1;
}

static int64_t cap_gap(const gen_flow_t *f, int64_t from, int64_t t)
{
    if (f->protect && t - from > ANOMALY_MAX_GAP_US)
        return from + ANOMALY_MAX_GAP_US;
    return t;
}

static void begin_msg(gen_flow_t *f)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *m = &s->m;
    int x = m->dir, y = !x;
    int64_t base;
    if (s->last_from[x] == UNSET && s->last_from[y] == UNSET)
        base = s->t0;
    else if (s->last_from[y] == UNSET || m->dir == s->prev_dir)
        base = s->last_from[x];
    else
        base = s->last_from[y] + 2 * (int64_t)f->d_us[x];
    int64_t start = base + m->think_us;
    if (start < s->t_last)
        start = s->t_last;
    start = cap_gap(f, s->t_last, start);
    s->round_start = s->next_seg = start;
    s->round_size = m->gap_us ? 1 : INIT_CWND;
    s->round_pos = 0;
    s->rem = m->amount;
    s->off = 0;
    s->unans = 0;
    s->prev_dir = (uint8_t)x;
    s->msg_index++;
}

static void push_answer(gen_stream_t *s, int64_t ts, uint32_t ack, uint16_t len, uint16_t idx)
{
    if (s->qn == GEN_ANSQ)
        return; /* cannot happen with the pacing limits; dropping keeps order */
    /* Entries arrive in time order except a delayed ACK (+40 ms) that may be
     * followed by nothing else in the same message: keep the ring sorted. */
    unsigned pos = s->qn;
    while (pos > 0) {
        unsigned prev = (s->qh + pos - 1) % GEN_ANSQ;
        if (s->q[prev].ts <= ts)
            break;
        s->q[(s->qh + pos) % GEN_ANSQ] = s->q[prev];
        pos--;
    }
    unsigned at = (s->qh + pos) % GEN_ANSQ;
    s->q[at].ts = ts;
    s->q[at].ack = ack;
    s->q[at].len = len;
    s->q[at].idx = idx;
    s->qn++;
}

static void emit_answer(gen_flow_t *f, gen_pkt_t *p)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *m = &s->m;
    int y = !m->dir;
    unsigned h = s->qh;
    s->qh = (uint8_t)((s->qh + 1) % GEN_ANSQ);
    s->qn--;
    switch (f->tp) {
    case GEN_TP_TCP:
        fill(f, p, s->q[h].ts, y, 0x10, s->q[h].len);
        p->seq = s->nxt[y];
        p->ack = s->q[h].ack;
        s->nxt[y] += s->q[h].len;
        break;
    case GEN_TP_UDP:
        fill(f, p, s->q[h].ts, y, 0, s->q[h].len);
        p->pfx = m->ans_pfx;
        p->parg = m->ans_parg;
        p->off = s->q[h].idx;
        p->mlen = p->plen;
        break;
    default:
        fill(f, p, s->q[h].ts, y, f->icmp_type[y], s->q[h].len);
        p->seq = s->q[h].idx;
        break;
    }
    p->msg = (uint16_t)(s->msg_index - 1);
}

static uint16_t answer_len(gen_flow_t *f, const gen_msg_t *m)
{
    if (m->ans_max == 0)
        return 0;
    return (uint16_t)gen_range(&f->rng, m->ans_min, m->ans_max);
}

static void schedule_answer(gen_ctx_t *c, gen_flow_t *f, const gen_pkt_t *p, int last)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *m = &s->m;
    int x = m->dir, y = !x;
    if (!m->ans_every)
        return;
    s->unans++;
    /* Linux acknowledges every segment at the start of a connection
     * ("quick ACK" mode), every second one after that. */
    int quick = f->tp == GEN_TP_TCP && s->rx[y] < 16;
    if (f->tp == GEN_TP_TCP && s->rx[y] < UINT16_MAX)
        s->rx[y]++;
    if (s->unans < m->ans_every && !last && !quick)
        return;
    uint32_t odd = s->unans == 1;
    s->unans = 0;
    if (m->count_mode && m->ans_prob_pct && gen_below(&f->rng, 100) >= m->ans_prob_pct)
        return;
    int64_t at = p->ts + 2 * (int64_t)f->d_us[y] + m->ans_delay_us + gen_below(&f->rng, 60);
    if (f->tp == GEN_TP_TCP && last && odd) {
        /* Delayed ACK, unless the receiver's reply leaves first and carries it. */
        const gen_msg_t *n = peek_msg(c, f);
        if (n && n->dir == y && n->think_us < DELACK_US)
            return;
        at += DELACK_US;
    }
    uint16_t idx = (uint16_t)(m->count_mode ? p->off : 0);
    push_answer(s, at, s->nxt[x], answer_len(f, m), idx);
}

static uint16_t segment_len(gen_flow_t *f)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *m = &s->m;
    if (m->count_mode)
        return (uint16_t)gen_range(&f->rng, m->seg_min, m->seg_max);
    uint32_t mss = f->mss[m->dir] ? f->mss[m->dir] : 1400;
    return (uint16_t)(s->rem < mss ? s->rem : mss);
}

static void pace_next(gen_flow_t *f, const gen_pkt_t *p)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *m = &s->m;
    if (m->gap_us) {
        double g = m->gap_exp ? gen_exp(&f->rng, m->gap_us)
                              : m->gap_us * (0.9 + 0.2 * gen_u01(&f->rng));
        int64_t next = p->ts + (g < 1 ? 1 : (int64_t)g);
        s->next_seg = cap_gap(f, p->ts, next);
        return;
    }
    uint32_t mss = f->mss[m->dir] ? f->mss[m->dir] : 1400;
    int64_t tx = (int64_t)s->seg_gap_us * (p->plen + 60) / (mss + 60);
    if (tx < 1)
        tx = 1;
    if (++s->round_pos >= s->round_size) {
        int64_t next = s->round_start + rtt_us(f);
        if (next < p->ts + tx)
            next = p->ts + tx; /* window larger than the pipe: back to back */
        s->round_start = next;
        s->round_pos = 0;
        s->round_size = s->round_size * 2 > s->cwnd_max ? s->cwnd_max : s->round_size * 2;
        s->next_seg = next;
    } else {
        s->next_seg = p->ts + tx;
    }
}

static void emit_segment(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p)
{
    gen_stream_t *s = &f->u.st;
    const gen_msg_t *m = &s->m;
    int x = m->dir, y = !x;
    uint16_t len = segment_len(f);
    uint32_t consumed = m->count_mode ? 1 : len;
    int last = s->rem <= consumed;
    switch (f->tp) {
    case GEN_TP_TCP:
        fill(f, p, s->next_seg, x, (uint8_t)(0x10 | (last ? 0x08 : 0)), len);
        p->seq = s->nxt[x];
        p->ack = s->nxt[y];
        s->nxt[x] += len;
        break;
    case GEN_TP_UDP:
        fill(f, p, s->next_seg, x, 0, len);
        break;
    default:
        fill(f, p, s->next_seg, x, f->icmp_type[x], len);
        p->seq = s->off;
        break;
    }
    p->off = s->off;
    p->msg = (uint16_t)(s->msg_index - 1);
    p->mlen = m->count_mode ? len : m->amount;
    if (m->count_mode || s->off == 0) {
        p->pfx = m->pfx;
        p->parg = m->parg;
    }
    s->rem -= consumed;
    s->off += consumed;
    schedule_answer(c, f, p, last);
    pace_next(f, p);
}

/* One step of the current message: the earlier of the next answer and the
 * next segment. Returns 0 when the message is over. */
static int msg_step(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p)
{
    gen_stream_t *s = &f->u.st;
    int have_seg = s->rem > 0;
    if (s->qn > 0 && (!have_seg || s->q[s->qh].ts <= s->next_seg)) {
        emit_answer(f, p);
        return 1;
    }
    if (!have_seg)
        return 0;
    emit_segment(c, f, p);
    return 1;
}

static void emit_close(gen_flow_t *f, gen_pkt_t *p)
{
    gen_stream_t *s = &f->u.st;
    int x = s->closer, y = !x;
    int64_t t;
    switch (s->phase) {
    case ST_CLOSE1:
        t = s->t_last + (s->last_dir == y ? 2 * (int64_t)f->d_us[x] : 0) + s->close_us;
        t = cap_gap(f, s->t_last, t);
        if (s->close == GEN_CLOSE_RST) {
            fill(f, p, t, x, 0x14, 0);
            p->seq = s->nxt[x];
            p->ack = s->nxt[y];
            s->phase = ST_DONE;
        } else {
            fill(f, p, t, x, 0x11, 0);
            p->seq = s->nxt[x]++;
            p->ack = s->nxt[y];
            s->phase = ST_CLOSE2;
        }
        break;
    case ST_CLOSE2:
        fill(f, p, s->t_last + 2 * (int64_t)f->d_us[y] + gen_below(&f->rng, 200), y, 0x11, 0);
        p->seq = s->nxt[y]++;
        p->ack = s->nxt[x];
        s->phase = ST_CLOSE3;
        break;
    default:
        fill(f, p, s->t_last + 2 * (int64_t)f->d_us[x] + gen_below(&f->rng, 200), x, 0x10, 0);
        p->seq = s->nxt[x];
        p->ack = s->nxt[y];
        s->phase = ST_DONE;
        break;
    }
}

int ef_gen_stream_next(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p)
{
    gen_stream_t *s = &f->u.st;
    for (;;) {
        switch (s->phase) {
        case ST_SYN:
            fill(f, p, s->t0, 0, 0x02, 0);
            p->seq = s->nxt[0]++;
            p->synopt = 1;
            s->phase = ST_SYNACK;
            goto out;
        case ST_SYNACK:
            fill(f, p, s->last_from[0] + 2 * (int64_t)f->d_us[1] + gen_range(&f->rng, 20, 300),
                 1, 0x12, 0);
            p->seq = s->nxt[1]++;
            p->ack = s->nxt[0];
            p->synopt = 1;
            s->phase = ST_ACK3;
            goto out;
        case ST_ACK3:
            fill(f, p, s->last_from[1] + 2 * (int64_t)f->d_us[0] + gen_range(&f->rng, 5, 100),
                 0, 0x10, 0);
            p->seq = s->nxt[0];
            p->ack = s->nxt[1];
            s->phase = ST_NEXTMSG;
            goto out;
        case ST_NEXTMSG:
            if (!take_msg(c, f)) {
                s->phase = (f->tp == GEN_TP_TCP && s->close != GEN_CLOSE_NONE) ? ST_CLOSE1
                                                                               : ST_DONE;
                continue;
            }
            begin_msg(f);
            s->phase = ST_MSG;
            continue;
        case ST_MSG:
            if (msg_step(c, f, p))
                goto out;
            s->phase = ST_NEXTMSG;
            continue;
        case ST_CLOSE1:
        case ST_CLOSE2:
        case ST_CLOSE3:
            emit_close(f, p);
            goto out;
        default:
            return 0;
        }
    }
out:
    /* Never go back in time within a flow (guards rounding in the model). */
    if (p->ts < s->t_last)
        p->ts = s->t_last;
    s->t_last = p->ts;
    s->last_from[p->dir] = p->ts;
    s->last_dir = p->dir;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Scripts */

gen_pkt_t *ef_gen_script_add(gen_flow_t *f, int64_t ts, int dir, uint8_t flags, uint16_t plen)
{
    f->kind = GEN_K_SCRIPT;
    /* A script longer than GEN_SCRIPT_MAX is a bug; the spare slot absorbs
     * it without being emitted. */
    gen_pkt_t *p = f->u.sc.n < GEN_SCRIPT_MAX ? &f->u.sc.p[f->u.sc.n++] : &f->u.sc.p[GEN_SCRIPT_MAX];
    fill(f, p, ts, dir, flags, plen);
    return p;
}

void ef_gen_script_finish(gen_flow_t *f)
{
    /* insertion sort by time, stable */
    for (unsigned i = 1; i < f->u.sc.n; i++) {
        gen_pkt_t k = f->u.sc.p[i];
        unsigned j = i;
        while (j > 0 && f->u.sc.p[j - 1].ts > k.ts) {
            f->u.sc.p[j] = f->u.sc.p[j - 1];
            j--;
        }
        f->u.sc.p[j] = k;
    }
    f->u.sc.i = 0;
}

int ef_gen_shape_next(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p)
{
    if (f->kind == GEN_K_STREAM)
        return ef_gen_stream_next(c, f, p);
    if (f->u.sc.i >= f->u.sc.n)
        return 0;
    *p = f->u.sc.p[f->u.sc.i++];
    return 1;
}
