/* The generator's driver: configuration, the time heap that merges every
 * flow's packets into one capture, network dynamics, and the output loop.
 *
 * The heap holds two kinds of items keyed by the time of their next event:
 * spawners (the next flow start of the benign background or of one anomaly)
 * and active flows (the time of their next packet). Popping the minimum
 * gives packets in capture order while only active flows are in memory. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gen/gen_internal.h"
#include "net/decode.h"

static const char default_mix[] =
    "benign=70,HTTP=4,Multi=5,Alpha=1,NetworkScan=8,PortScan=4,DoS=4,IPv6Tunnel=1,Other=3";

const char *ef_gen_default_mix(void)
{
    return default_mix;
}

void ef_gen_config_default(ef_gen_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->duration_s = 60;
    cfg->flows = 10000;
    ef_gen_parse_mix(default_mix, cfg->mix, NULL);
    cfg->start_epoch = 1598936400u;
    cfg->snaplen = 65535;
    cfg->linktype = EF_DLT_EN10MB;
}

static int prob_ok(double p, int allow_one)
{
    return isfinite(p) && p >= 0 && (allow_one ? p <= 1 : p < 1);
}

int ef_gen_config_check(const ef_gen_config_t *cfg, ef_err_t *err)
{
    if (!isfinite(cfg->duration_s) || cfg->duration_s <= 0 || cfg->duration_s > 86400)
        return ef_err_set(err, "duration: %g s is not in (0, 86400]", cfg->duration_s);
    if (cfg->flows < 1 || cfg->flows > 100000000ull)
        return ef_err_set(err, "flows: %llu is not in [1, 100000000]",
                          (unsigned long long)cfg->flows);
    double sum = 0;
    for (int i = 0; i < EF_CAT__COUNT; i++) {
        if (!isfinite(cfg->mix[i]) || cfg->mix[i] < 0)
            return ef_err_set(err, "mix: weight of %s must be a finite number >= 0",
                              ef_category_label((ef_category_t)i));
        sum += cfg->mix[i];
    }
    if (cfg->mix[EF_CAT_UNKNOWN] > 0)
        return ef_err_set(err, "mix: Unknown cannot be generated (MAWILab's 'unknown' has no "
                               "traffic shape)");
    if (!(sum > 0))
        return ef_err_set(err, "mix: all weights are 0");
    if (!prob_ok(cfg->reorder, 0))
        return ef_err_set(err, "reorder: %g is not in [0, 1)", cfg->reorder);
    if (!prob_ok(cfg->loss, 0))
        return ef_err_set(err, "loss: %g is not in [0, 1)", cfg->loss);
    if (!prob_ok(cfg->dup, 0))
        return ef_err_set(err, "dup: %g is not in [0, 1)", cfg->dup);
    if (!prob_ok(cfg->one_way, 1))
        return ef_err_set(err, "one-way: %g is not in [0, 1]", cfg->one_way);
    if (!isfinite(cfg->jitter_ms) || cfg->jitter_ms < 0 || cfg->jitter_ms > 10000)
        return ef_err_set(err, "jitter: %g ms is not in [0, 10000]", cfg->jitter_ms);
    if (cfg->snaplen < 40 || cfg->snaplen > 262144)
        return ef_err_set(err, "snaplen: %u is not in [40, 262144]", cfg->snaplen);
    if (cfg->linktype != EF_DLT_EN10MB && cfg->linktype != EF_DLT_LINKTYPE_RAW)
        return ef_err_set(err, "linktype: %d is not Ethernet (1) or raw IP (101)",
                          cfg->linktype);
    if ((double)cfg->start_epoch + cfg->duration_s + 1 > 4294967295.0)
        return ef_err_set(err, "start: %u + duration does not fit a pcap timestamp",
                          cfg->start_epoch);
    return 0;
}

int ef_gen_parse_mix(const char *spec, double mix[EF_CAT__COUNT], ef_err_t *err)
{
    double out[EF_CAT__COUNT] = {0};
    int seen[EF_CAT__COUNT] = {0};
    const char *p = spec;
    if (!spec || !*spec)
        return ef_err_set(err, "mix: empty specification (expected name=weight,...)");
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t col = (size_t)(p - spec) + 1;
        if (!eq || eq == p)
            return ef_err_set(err, "mix: column %zu: expected name=weight in '%.*s'", col,
                              (int)len, p);
        char name[32];
        size_t nl = (size_t)(eq - p);
        while (nl && isspace((unsigned char)p[nl - 1]))
            nl--;
        const char *ns = p;
        while (nl && isspace((unsigned char)*ns))
            ns++, nl--;
        if (nl == 0 || nl >= sizeof name)
            return ef_err_set(err, "mix: column %zu: bad category name '%.*s'", col, (int)len, p);
        memcpy(name, ns, nl);
        name[nl] = '\0';
        int cat = -1;
        if (!strcasecmp(name, "benign"))
            cat = EF_CAT_UNLABELED;
        for (int i = 0; cat < 0 && i < EF_CAT__COUNT; i++)
            if (!strcasecmp(name, ef_category_label((ef_category_t)i)))
                cat = i;
        if (cat < 0)
            return ef_err_set(err,
                              "mix: column %zu: unknown category '%s' (expected benign, HTTP, "
                              "Multi, Alpha, NetworkScan, PortScan, DoS, IPv6Tunnel, Other)",
                              col, name);
        if (seen[cat]++)
            return ef_err_set(err, "mix: column %zu: category '%s' given twice", col, name);
        char num[64];
        size_t vl = (size_t)(p + len - (eq + 1));
        if (vl == 0 || vl >= sizeof num)
            return ef_err_set(err, "mix: column %zu: missing or too long weight for '%s'", col,
                              name);
        memcpy(num, eq + 1, vl);
        num[vl] = '\0';
        char *e = NULL;
        errno = 0;
        double v = strtod(num, &e);
        while (e && isspace((unsigned char)*e))
            e++;
        if (errno || e == num || *e || !isfinite(v) || v < 0)
            return ef_err_set(err, "mix: column %zu: weight '%s' of '%s' is not a number >= 0",
                              col, num, name);
        out[cat] = v;
        p += len;
        if (*p == ',')
            p++;
    }
    if (mix)
        memcpy(mix, out, sizeof out);
    return 0;
}

double ef_gen_normal(gen_rng_t *r)
{
    double u1 = 1.0 - gen_u01(r), u2 = gen_u01(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ------------------------------------------------------------------ */
/* Hosts and paths */

uint16_t ef_gen_ephemeral_port(gen_rng_t *r)
{
    double u = gen_u01(r);
    if (u < 0.45)
        return (uint16_t)gen_range(r, 32768, 60999); /* Linux */
    if (u < 0.85)
        return (uint16_t)gen_range(r, 49152, 65535); /* Windows, macOS */
    return (uint16_t)gen_range(r, 1024, 65535);      /* NAT rewrites */
}

void ef_gen_path_delays(gen_flow_t *f)
{
    /* The monitor sits on WIDE's transit link: one end is usually close
     * (Japan), the other anywhere. One-way delays from the monitor. */
    double near = gen_logn_clamped(&f->rng, 3000, 0.8, 200, 30000);
    double u = gen_u01(&f->rng), far;
    if (u < 0.45)
        far = gen_logn_clamped(&f->rng, 12000, 0.6, 2000, 60000);   /* Japan, East Asia */
    else if (u < 0.85)
        far = gen_logn_clamped(&f->rng, 60000, 0.25, 40000, 110000); /* North America */
    else
        far = gen_logn_clamped(&f->rng, 120000, 0.25, 80000, 200000); /* Europe, elsewhere */
    int near_side = gen_chance(&f->rng, 0.5);
    f->d_us[near_side] = (uint32_t)near;
    f->d_us[!near_side] = (uint32_t)far;
}

void ef_gen_host_defaults(gen_flow_t *f, int side, int os)
{
    static const uint16_t mss_v4[] = {1460, 1460, 1460, 1460, 1460, 1460, 1414, 1414, 1452, 1400};
    uint8_t hops = (uint8_t)gen_range(&f->rng, 3, 22);
    switch (os) {
    case 0: /* Linux */
        f->ttl[side] = (uint8_t)(64 - hops);
        f->syn_win[side] = gen_chance(&f->rng, 0.8) ? 64240 : 29200;
        f->win[side] = (uint16_t)gen_range(&f->rng, 250, 2000);
        f->synopt[side] = GEN_SYNOPT_LINUX;
        break;
    case 1: /* Windows */
        f->ttl[side] = (uint8_t)(128 - hops);
        f->syn_win[side] = gen_chance(&f->rng, 0.7) ? 64240 : 65535;
        f->win[side] = (uint16_t)gen_range(&f->rng, 256, 1030);
        f->synopt[side] = GEN_SYNOPT_WINDOWS;
        break;
    case 2: /* macOS / iOS */
        f->ttl[side] = (uint8_t)(64 - hops);
        f->syn_win[side] = 65535;
        f->win[side] = (uint16_t)gen_range(&f->rng, 2000, 4100);
        f->synopt[side] = GEN_SYNOPT_MAC;
        break;
    default: /* embedded, appliances, raw-socket tools */
        f->ttl[side] = (uint8_t)(255 - hops);
        f->syn_win[side] = (uint16_t)gen_range(&f->rng, 1024, 65535);
        f->win[side] = f->syn_win[side];
        f->synopt[side] = GEN_SYNOPT_MSS;
        break;
    }
    f->mss_opt[side] = mss_v4[gen_below(&f->rng, 10)];
    f->ipid[side] = (uint16_t)gen_next(&f->rng);
    f->tsbase[side] = (uint32_t)gen_next(&f->rng);
}

void ef_gen_flow_tcp_update(gen_flow_t *f)
{
    f->tsopt = (f->synopt[0] == GEN_SYNOPT_LINUX || f->synopt[0] == GEN_SYNOPT_MAC) &&
               (f->synopt[1] == GEN_SYNOPT_LINUX || f->synopt[1] == GEN_SYNOPT_MAC);
    uint16_t mss = f->mss_opt[0] < f->mss_opt[1] ? f->mss_opt[0] : f->mss_opt[1];
    f->mss[0] = f->mss[1] = (uint16_t)(mss - (f->tsopt ? 12 : 0));
}

static int random_os(gen_rng_t *r)
{
    double u = gen_u01(r);
    return u < 0.5 ? 0 : u < 0.8 ? 1 : u < 0.95 ? 2 : 3;
}

/* ------------------------------------------------------------------ */
/* Flow pool */

static gen_flow_t *flow_alloc(gen_ctx_t *c)
{
    if (!c->free_flows) {
        enum { CHUNK = 256 };
        if (c->nchunks == c->cap_chunks) {
            size_t n = c->cap_chunks ? 2 * c->cap_chunks : 64;
            void **nc = realloc(c->chunks, n * sizeof *nc);
            if (!nc)
                return NULL;
            c->chunks = nc;
            c->cap_chunks = n;
        }
        gen_flow_t *blk = malloc(CHUNK * sizeof *blk);
        if (!blk)
            return NULL;
        c->chunks[c->nchunks++] = blk;
        for (int i = CHUNK - 1; i >= 0; i--) {
            blk[i].next_free = c->free_flows;
            c->free_flows = &blk[i];
        }
    }
    gen_flow_t *f = c->free_flows;
    c->free_flows = f->next_free;
    return f;
}

gen_flow_t *ef_gen_flow_new(gen_ctx_t *c, int64_t t0, uint8_t category, int32_t anomaly,
                            const char *taxonomy, const char *shape)
{
    gen_flow_t *f = flow_alloc(c);
    if (!f) {
        if (!c->failed)
            ef_err_set(c->err, "out of memory after %llu flows",
                       (unsigned long long)c->next_uid);
        c->failed = 1;
        return NULL;
    }
    memset(f, 0, sizeof *f);
    f->item.type = GEN_IT_FLOW;
    f->item.uid = c->next_uid++;
    f->item.key = t0;
    gen_rng_seed(&f->rng, c->cfg.seed, f->item.uid * 2 + 1);
    gen_rng_seed(&f->drng, c->cfg.seed ^ 0xd7a5ull, f->item.uid * 2 + 1);
    f->hseed = gen_hash3(c->cfg.seed, f->item.uid, 0x4a5);
    f->ipv = 4;
    f->df = 1;
    f->category = category;
    f->anomaly = anomaly;
    f->taxonomy = taxonomy ? taxonomy : "";
    f->shape = shape;
    f->protect = category != EF_CAT_UNLABELED;
    f->mac_side = (uint8_t)gen_below(&f->rng, 2);
    f->flabel = (uint32_t)gen_next(&f->rng);
    ef_gen_host_defaults(f, 0, random_os(&f->rng));
    ef_gen_host_defaults(f, 1, gen_chance(&f->rng, 0.85) ? 0 : random_os(&f->rng));
    ef_gen_path_delays(f);
    ef_gen_flow_tcp_update(f);
    c->active++;
    if (c->active > c->st.peak_active_flows)
        c->st.peak_active_flows = c->active;
    return f;
}

static void flow_free(gen_ctx_t *c, gen_flow_t *f)
{
    c->active--;
    f->next_free = c->free_flows;
    c->free_flows = f;
}

/* ------------------------------------------------------------------ */
/* Heap */

static int item_less(const gen_item_t *a, const gen_item_t *b)
{
    return a->key < b->key || (a->key == b->key && a->uid < b->uid);
}

static void sift_down(gen_ctx_t *c, size_t i)
{
    gen_item_t **h = c->heap;
    size_t n = c->nheap;
    gen_item_t *x = h[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n)
            break;
        size_t m = (l + 1 < n && item_less(h[l + 1], h[l])) ? l + 1 : l;
        if (!item_less(h[m], x))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static int heap_push(gen_ctx_t *c, gen_item_t *it)
{
    if (c->nheap == c->cap_heap) {
        size_t n = c->cap_heap ? 2 * c->cap_heap : 1024;
        gen_item_t **nh = realloc(c->heap, n * sizeof *nh);
        if (!nh) {
            if (!c->failed)
                ef_err_set(c->err, "out of memory with %zu active flows", c->nheap);
            c->failed = 1;
            return -1;
        }
        c->heap = nh;
        c->cap_heap = n;
    }
    size_t i = c->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_less(it, c->heap[parent]))
            break;
        c->heap[i] = c->heap[parent];
        i = parent;
    }
    c->heap[i] = it;
    return 0;
}

static void heap_pop(gen_ctx_t *c)
{
    c->heap[0] = c->heap[--c->nheap];
    if (c->nheap)
        sift_down(c, 0);
}

/* ------------------------------------------------------------------ */
/* Dynamics: capture loss, duplicates, reordering, jitter, one direction */

static int stage_loss(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p)
{
    for (;;) {
        if (!ef_gen_shape_next(c, f, p))
            return 0;
        if (p->ts < 0)
            continue; /* before the capture started */
        if ((f->keep == 1 && p->dir) || (f->keep == 2 && !p->dir))
            continue;
        if (c->cfg.loss > 0 && !(f->protect && f->passed == 0) &&
            gen_chance(&f->drng, c->cfg.loss)) {
            c->st.lost++;
            continue;
        }
        f->passed++;
        return 1;
    }
}

static int stage_dup(gen_ctx_t *c, gen_flow_t *f, gen_pkt_t *p)
{
    if (f->have_dup) {
        *p = f->dupp;
        f->have_dup = 0;
        return 1;
    }
    if (!stage_loss(c, f, p))
        return 0;
    if (c->cfg.dup > 0 && gen_chance(&f->drng, c->cfg.dup)) {
        f->dupp = *p;
        f->dupp.ts += gen_range(&f->drng, 1, 30);
        f->have_dup = 1;
        c->st.duplicated++;
    }
    return 1;
}

/* The flow's next captured packet into f->cur; 0 when the flow is over. */
static int next_out(gen_ctx_t *c, gen_flow_t *f)
{
    if (!f->have_look) {
        if (!stage_dup(c, f, &f->look))
            return 0;
        f->have_look = 1;
    }
    gen_pkt_t b;
    int have_b = stage_dup(c, f, &b);
    gen_pkt_t *out = &f->cur;
    if (have_b && c->cfg.reorder > 0 && !(f->protect && f->out_pkts == 0) &&
        gen_chance(&f->drng, c->cfg.reorder)) {
        /* adjacent swap: the capture sees b where a was, and a next */
        int64_t ta = f->look.ts;
        *out = b;
        out->ts = ta;
        f->look.ts = b.ts;
        c->st.reordered++;
    } else {
        *out = f->look;
        f->look = b;
    }
    f->have_look = (uint8_t)have_b;
    if (c->cfg.jitter_ms > 0)
        out->ts += (int64_t)gen_exp(&f->drng, c->cfg.jitter_ms * 1000.0);
    if (out->ts < f->last_out)
        out->ts = f->last_out;
    f->last_out = out->ts;
    f->item.key = out->ts;
    return 1;
}

static void report_flow(gen_ctx_t *c, gen_flow_t *f)
{
    if (!f->out_pkts)
        return;
    c->st.flows[f->category]++;
    if (!c->on_flow)
        return;
    ef_gen_flow_info_t info;
    memset(&info, 0, sizeof info);
    /* A flow table's orientation: SYN+ACK first means its receiver is the
     * client; any other first packet's sender is. */
    int cdir = f->first_dir;
    if (f->tp == GEN_TP_TCP && !f->encap && (f->first_flags & 0x12) == 0x12)
        cdir = !cdir;
    info.id = f->item.uid;
    info.category = (ef_category_t)f->category;
    info.anomaly_id = f->anomaly;
    info.taxonomy = f->taxonomy;
    info.shape = f->shape ? f->shape : "";
    if (f->encap) {
        info.ip_version = 4;
        info.proto = 41;
        memcpy(info.client_addr, f->outer[cdir], 4);
        memcpy(info.server_addr, f->outer[!cdir], 4);
    } else {
        info.ip_version = f->ipv;
        info.proto = f->tp == GEN_TP_TCP ? 6 : f->tp == GEN_TP_UDP ? 17 : (f->ipv == 6 ? 58 : 1);
        memcpy(info.client_addr, f->addr[cdir], 16);
        memcpy(info.server_addr, f->addr[!cdir], 16);
        if (f->tp != GEN_TP_ICMP) {
            info.client_port = f->port[cdir];
            info.server_port = f->port[!cdir];
        }
    }
    uint64_t base = (uint64_t)c->cfg.start_epoch * 1000000ull;
    info.first_ts_us = base + (uint64_t)f->first_ts;
    info.last_ts_us = base + (uint64_t)f->last_out;
    info.packets = f->out_pkts;
    info.packets_c2s = cdir == 0 ? f->out_c2s : f->out_pkts - f->out_c2s;
    info.bytes = f->out_bytes;
    c->on_flow(c->user, &info);
}

void ef_gen_flow_start(gen_ctx_t *c, gen_flow_t *f)
{
    if (c->cfg.one_way > 0 && gen_chance(&f->drng, c->cfg.one_way))
        /* Anomaly flows keep the direction their label row describes. */
        f->keep = f->protect ? 1 : (uint8_t)(1 + gen_below(&f->drng, 2));
    if (!next_out(c, f)) {
        flow_free(c, f);
        return;
    }
    if (heap_push(c, &f->item) < 0)
        flow_free(c, f);
}

/* ------------------------------------------------------------------ */
/* Output */

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int write_pcap_header(gen_ctx_t *c)
{
    uint8_t *h = ef_gen_out_reserve(&c->pcap, 24, c->err);
    if (!h)
        return -1;
    put_le32(h, 0xa1b2c3d4u);
    h[4] = 2, h[5] = 0, h[6] = 4, h[7] = 0;       /* version 2.4 */
    put_le32(h + 8, 0);
    put_le32(h + 12, 0);
    put_le32(h + 16, c->cfg.snaplen);
    put_le32(h + 20, (uint32_t)c->cfg.linktype);
    gen_out_commit(&c->pcap, 24);
    return 0;
}

static int write_packet(gen_ctx_t *c, gen_flow_t *f)
{
    uint8_t *rec = ef_gen_out_reserve(&c->pcap, 16 + GEN_MAX_FRAME, c->err);
    if (!rec)
        return -1;
    uint16_t ip_len;
    uint32_t wire = ef_gen_render(c, f, &f->cur, rec + 16, &ip_len);
    uint32_t cap = wire < c->cfg.snaplen ? wire : c->cfg.snaplen;
    uint64_t abs = (uint64_t)c->cfg.start_epoch * 1000000ull + (uint64_t)f->cur.ts;
    put_le32(rec, (uint32_t)(abs / 1000000u));
    put_le32(rec + 4, (uint32_t)(abs % 1000000u));
    put_le32(rec + 8, cap);
    put_le32(rec + 12, wire);
    gen_out_commit(&c->pcap, 16 + cap);
    if (f->out_pkts == 0) {
        f->first_ts = f->cur.ts;
        f->first_dir = f->cur.dir;
        f->first_flags = f->cur.flags;
    }
    f->out_pkts++;
    f->out_c2s += f->cur.dir == 0;
    f->out_bytes += ip_len;
    c->st.packets++;
    return 0;
}

static int run_loop(gen_ctx_t *c)
{
    while (c->nheap && !c->failed) {
        gen_item_t *top = c->heap[0];
        if (top->key >= c->end_us)
            break;
        if (top->type == GEN_IT_SPAWNER) {
            gen_spawner_t *s = (gen_spawner_t *)top;
            int64_t t = top->key;
            heap_pop(c);
            if (s->variant == GEN_V_BENIGN || s->variant == GEN_V_BENIGN_PRE)
                ef_gen_spawn_benign(c, s, t);
            else
                ef_gen_spawn_anomaly(c, s, t);
            int64_t next = ef_gen_spawner_next_time(c, s);
            if (next != INT64_MAX) {
                s->item.key = next;
                heap_push(c, &s->item);
            }
            continue;
        }
        gen_flow_t *f = (gen_flow_t *)top;
        if (write_packet(c, f) < 0)
            return -1;
        if (next_out(c, f)) {
            sift_down(c, 0);
        } else {
            heap_pop(c);
            report_flow(c, f);
            flow_free(c, f);
        }
    }
    if (c->failed)
        return -1;
    /* The capture ends: flows still running are reported as they are. */
    for (size_t i = 0; i < c->nheap; i++) {
        if (c->heap[i]->type != GEN_IT_FLOW)
            continue;
        gen_flow_t *f = (gen_flow_t *)c->heap[i];
        report_flow(c, f);
        flow_free(c, f);
    }
    c->nheap = 0;
    return 0;
}

static void ctx_free(gen_ctx_t *c)
{
    for (size_t i = 0; i < c->nchunks; i++)
        free(c->chunks[i]);
    free(c->chunks);
    free(c->heap);
    free(c->spawners);
    free(c->clients);
    free(c->servers);
    free(c->server_cdf);
    free(c->filler);
    free(c->fsum);
    ef_gen_out_abort(&c->pcap);
    ef_gen_out_abort(&c->labels);
    free(c);
}

int ef_gen_write(const ef_gen_config_t *cfg, const char *pcap_path, const char *labels_path,
                 ef_gen_flow_fn on_flow, void *user, ef_gen_stats_t *stats, ef_err_t *err)
{
    if (ef_gen_config_check(cfg, err) < 0)
        return -1;
    if (!pcap_path || !*pcap_path || !labels_path || !*labels_path)
        return ef_err_set(err, "gen: both an output capture and a label file are needed");
    if (!strcmp(pcap_path, labels_path))
        return ef_err_set(err, "%s: the capture and the label file must be different files",
                          pcap_path);
    gen_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return ef_err_set(err, "%s: out of memory", pcap_path);
    c->pcap.fd = c->labels.fd = -1;
    c->cfg = *cfg;
    c->err = err;
    c->on_flow = on_flow;
    c->user = user;
    c->end_us = (int64_t)(cfg->duration_s * 1e6);
    gen_rng_seed(&c->rng, cfg->seed, 0x9a11ull);
    c->filler = malloc(GEN_FILLER_BYTES + GEN_FILLER_SLACK);
    c->fsum = malloc(((GEN_FILLER_BYTES + GEN_FILLER_SLACK) / 2 + 1) * sizeof *c->fsum);
    if (!c->filler || !c->fsum) {
        ctx_free(c);
        return ef_err_set(err, "%s: out of memory", pcap_path);
    }
    ef_gen_filler_init(c);
    ef_gen_addr_init(c);
    int rc = -1;
    if (ef_gen_plan(c, err) < 0)
        goto out;
    if (ef_gen_out_open(&c->labels, labels_path, 1 << 16, err) < 0 ||
        ef_gen_out_open(&c->pcap, pcap_path, 4 << 20, err) < 0)
        goto out;
    if (ef_gen_write_labels(c, err) < 0 || write_pcap_header(c) < 0)
        goto out;
    for (size_t i = 0; i < c->nspawners; i++) {
        gen_spawner_t *s = &c->spawners[i];
        int64_t t = ef_gen_spawner_next_time(c, s);
        if (t == INT64_MAX)
            continue;
        s->item.key = t;
        if (heap_push(c, &s->item) < 0)
            goto out;
    }
    if (run_loop(c) < 0)
        goto out;
    if (ef_gen_out_finish(&c->labels, err) < 0 || ef_gen_out_finish(&c->pcap, err) < 0)
        goto out;
    if (ef_gen_out_rename(&c->labels, err) < 0)
        goto out;
    if (ef_gen_out_rename(&c->pcap, err) < 0) {
        unlink(labels_path); /* neither file, rather than labels without a capture */
        goto out;
    }
    c->st.bytes = c->pcap.bytes;
    if (stats)
        *stats = c->st;
    rc = 0;
out:
    ctx_free(c);
    return rc;
}
