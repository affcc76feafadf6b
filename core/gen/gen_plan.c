/* Planning: flow budgets per category, the benign address pools, one
 * spawner per anomaly with the addresses its label rows name, and the
 * label file itself.
 *
 * Every address written in a label row is allocated here for that anomaly
 * alone (ef_gen_addr_next never repeats), so a row matches the anomaly's
 * flows and nothing else. */
#include <stdio.h>
#include <stdlib.h>

#include "gen/gen_internal.h"

typedef struct variant_info {
    uint8_t category;
    const char *taxonomy;
    double size_median, size_sigma;  /* flows per anomaly */
    uint32_t size_lo, size_hi;
    double rate_median, rate_sigma;  /* new flows per second */
    double rate_lo, rate_hi;
} variant_info_t;

static const variant_info_t variants[GEN_V__COUNT] = {
    [GEN_V_NS_SYN] = {EF_CAT_NETWORKSCAN, "ntscSYN", 40, 1.0, 10, 5000, 40, 1.2, 2, 3000},
    [GEN_V_NS_ACK] = {EF_CAT_NETWORKSCAN, "ntscACK", 30, 1.0, 10, 3000, 40, 1.2, 2, 3000},
    [GEN_V_NS_UDP] = {EF_CAT_NETWORKSCAN, "ntscUDPOther", 30, 1.0, 10, 3000, 30, 1.2, 2, 2000},
    [GEN_V_NS_ICMP] = {EF_CAT_NETWORKSCAN, "ntscICec", 50, 1.0, 10, 5000, 50, 1.2, 2, 3000},
    [GEN_V_PS_SYN] = {EF_CAT_PORTSCAN, "poscaSYN", 60, 1.0, 10, 3000, 300, 1.0, 10, 3000},
    [GEN_V_PS_CONNECT] = {EF_CAT_PORTSCAN, "ptpposcaTCP", 40, 1.0, 10, 1000, 100, 1.0, 5, 1000},
    [GEN_V_DOS_DDOSSYN] = {EF_CAT_DOS, "DDoSSYN", 200, 1.0, 50, 20000, 2000, 1.0, 100, 30000},
    [GEN_V_DOS_PTPSYN] = {EF_CAT_DOS, "ptpDoSSYN", 150, 1.0, 50, 10000, 1000, 1.0, 100, 20000},
    [GEN_V_DOS_UDP] = {EF_CAT_DOS, "DDoSUDP", 100, 1.0, 30, 5000, 500, 1.0, 50, 10000},
    [GEN_V_HTTP_FLOOD] = {EF_CAT_HTTP, "mptpHTTP", 80, 1.0, 20, 5000, 300, 1.0, 20, 5000},
    [GEN_V_HTTP_CRAWL] = {EF_CAT_HTTP, "ptmpHTTP", 20, 0.8, 5, 800, 5, 0.8, 0.5, 50},
    [GEN_V_HTTP_ALPHA] = {EF_CAT_HTTP, "alphflHTTP", 1.3, 0.3, 1, 2, 1, 0.5, 0.3, 3},
    [GEN_V_MULTI_PTMP_UDP] = {EF_CAT_MULTI, "ptmp", 50, 1.0, 10, 3000, 30, 1.0, 2, 500},
    [GEN_V_MULTI_PTMP_TCP] = {EF_CAT_MULTI, "ptmp", 30, 1.0, 10, 2000, 20, 1.0, 2, 500},
    [GEN_V_MULTI_MPTP_UDP] = {EF_CAT_MULTI, "mptp", 50, 1.0, 10, 3000, 30, 1.0, 2, 500},
    [GEN_V_MULTI_REFLECT] = {EF_CAT_MULTI, "mptp", 60, 1.0, 10, 5000, 200, 1.0, 10, 3000},
    [GEN_V_ALPHA] = {EF_CAT_ALPHA, "alphfl", 1.5, 0.5, 1, 3, 1, 0.5, 0.3, 3},
    [GEN_V_TUNNEL] = {EF_CAT_IPV6TUNNEL, "ipv46tun", 3, 0.6, 1, 7, 2, 0.5, 0.5, 5},
    [GEN_V_OTHER_TRACE] = {EF_CAT_OTHER, "ttl_error", 15, 0.8, 5, 300, 20, 1.0, 1, 500},
    [GEN_V_OTHER_TTL] = {EF_CAT_OTHER, "ttl_error", 15, 1.0, 5, 500, 20, 1.0, 1, 500},
    [GEN_V_OTHER_UNREACH] = {EF_CAT_OTHER, "icmp_error", 15, 1.0, 5, 500, 20, 1.0, 1, 500},
};

/* Which variants make up each category, and how often. */
static const struct {
    uint8_t category;
    uint8_t variant;
    double weight;
} variant_mix[] = {
    {EF_CAT_HTTP, GEN_V_HTTP_FLOOD, 0.5},          {EF_CAT_HTTP, GEN_V_HTTP_CRAWL, 0.35},
    {EF_CAT_HTTP, GEN_V_HTTP_ALPHA, 0.15},
    {EF_CAT_MULTI, GEN_V_MULTI_PTMP_UDP, 0.35},    {EF_CAT_MULTI, GEN_V_MULTI_PTMP_TCP, 0.15},
    {EF_CAT_MULTI, GEN_V_MULTI_MPTP_UDP, 0.25},    {EF_CAT_MULTI, GEN_V_MULTI_REFLECT, 0.25},
    {EF_CAT_ALPHA, GEN_V_ALPHA, 1.0},
    {EF_CAT_NETWORKSCAN, GEN_V_NS_SYN, 0.5},       {EF_CAT_NETWORKSCAN, GEN_V_NS_UDP, 0.2},
    {EF_CAT_NETWORKSCAN, GEN_V_NS_ICMP, 0.18},     {EF_CAT_NETWORKSCAN, GEN_V_NS_ACK, 0.12},
    {EF_CAT_PORTSCAN, GEN_V_PS_SYN, 0.8},          {EF_CAT_PORTSCAN, GEN_V_PS_CONNECT, 0.2},
    {EF_CAT_DOS, GEN_V_DOS_DDOSSYN, 0.45},         {EF_CAT_DOS, GEN_V_DOS_PTPSYN, 0.25},
    {EF_CAT_DOS, GEN_V_DOS_UDP, 0.3},
    {EF_CAT_IPV6TUNNEL, GEN_V_TUNNEL, 1.0},
    {EF_CAT_OTHER, GEN_V_OTHER_TRACE, 0.4},        {EF_CAT_OTHER, GEN_V_OTHER_TTL, 0.3},
    {EF_CAT_OTHER, GEN_V_OTHER_UNREACH, 0.3},
};

static uint8_t pick_variant(gen_rng_t *r, uint8_t cat)
{
    double total = 0, u;
    for (size_t i = 0; i < sizeof variant_mix / sizeof variant_mix[0]; i++)
        if (variant_mix[i].category == cat)
            total += variant_mix[i].weight;
    u = gen_u01(r) * total;
    uint8_t last = 0;
    for (size_t i = 0; i < sizeof variant_mix / sizeof variant_mix[0]; i++) {
        if (variant_mix[i].category != cat)
            continue;
        last = variant_mix[i].variant;
        if ((u -= variant_mix[i].weight) < 0)
            return last;
    }
    return last;
}

/* Largest-remainder split of the flow budget over the categories. */
static void category_counts(const ef_gen_config_t *cfg, uint64_t counts[EF_CAT__COUNT])
{
    double sum = 0, rem[EF_CAT__COUNT];
    uint64_t given = 0;
    for (int i = 0; i < EF_CAT__COUNT; i++)
        sum += cfg->mix[i];
    for (int i = 0; i < EF_CAT__COUNT; i++) {
        double exact = (double)cfg->flows * cfg->mix[i] / sum;
        counts[i] = (uint64_t)exact;
        rem[i] = exact - (double)counts[i];
        given += counts[i];
    }
    while (given < cfg->flows) {
        int best = 0;
        for (int i = 1; i < EF_CAT__COUNT; i++)
            if (rem[i] > rem[best])
                best = i;
        counts[best]++;
        rem[best] = -1;
        given++;
    }
}

static const uint16_t scan_tcp_ports[] = {23, 22, 80, 443, 445, 3389, 8080, 1433, 3306, 5900,
                                          6379, 8443, 81, 2323, 7547, 5555, 8088, 9200, 21, 25};
static const uint16_t scan_udp_ports[] = {53, 123, 161, 1900, 5060, 11211, 137, 19, 389, 3478,
                                          5683, 10001};

static uint16_t heuristic_for_port(uint16_t port, uint16_t fallback)
{
    switch (port) {
    case 445: return 4;   /* SMB */
    case 139: return 2;   /* NetBIOS */
    case 137: return 2;
    case 135: return 3;   /* RPC */
    case 21: return 51;   /* FTP */
    case 22: return 52;   /* SSH */
    case 80: return 53;   /* HTTP */
    case 443: return 54;  /* HTTPS */
    default: return fallback;
    }
}

static uint16_t traffic_heuristic(uint16_t port)
{
    switch (port) {
    case 21: return 501;
    case 22: return 502;
    case 80: return 503;
    case 443: return 504;
    default: return 901; /* unknown port */
    }
}

static void pick_ports(gen_rng_t *r, gen_spawner_t *s, const uint16_t *list, size_t n,
                       unsigned count)
{
    static const uint16_t pairs[][2] = {{80, 443}, {139, 445}, {22, 2222}, {23, 2323}};
    if (count == 2) {
        const uint16_t *p = pairs[gen_below(r, 4)];
        s->ports[0] = p[0];
        s->ports[1] = p[1];
        s->nports = 2;
        return;
    }
    s->nports = 0;
    while (s->nports < count) {
        uint16_t port = gen_chance(r, 0.1) ? (uint16_t)gen_range(r, 1024, 65535)
                                           : list[gen_below(r, (uint32_t)n)];
        int dup = 0;
        for (unsigned i = 0; i < s->nports; i++)
            dup |= s->ports[i] == port;
        if (!dup)
            s->ports[s->nports++] = port;
    }
}

static void plan_timing(gen_ctx_t *c, gen_spawner_t *s, const variant_info_t *vi)
{
    double d = c->cfg.duration_s;
    double rate = gen_logn_clamped(&s->rng, vi->rate_median, vi->rate_sigma, vi->rate_lo,
                                   vi->rate_hi);
    double span = s->total / rate, max_span = 0.85 * d;
    if (span > max_span) {
        span = max_span;
        rate = s->total / span;
    }
    double latest = d - span - 0.05 * d;
    if (latest < 0)
        latest = 0;
    if (s->variant == GEN_V_ALPHA || s->variant == GEN_V_TUNNEL || s->variant == GEN_V_HTTP_ALPHA)
        latest = 0.6 * d; /* heavy flows: leave them time to be heavy */
    s->rate = rate;
    s->start = (int64_t)(gen_u01(&s->rng) * latest * 1e6);
    s->cursor = INT64_MIN;
}

static void plan_labels(gen_spawner_t *s)
{
    /* MAWILab: "anomalous" rows have a positive distance to the normal
     * traffic and many detectors; "suspicious" ones are near the boundary. */
    s->anomalous = gen_chance(&s->rng, 0.45);
    if (s->anomalous) {
        s->distance = 0.01 + 0.69 * gen_u01(&s->rng);
        s->nb_detectors = (uint8_t)(3 + (unsigned)(s->distance * 13));
        if (s->nb_detectors > 12)
            s->nb_detectors = 12;
    } else {
        s->distance = -(0.01 + 0.35 * gen_u01(&s->rng));
        s->nb_detectors = (uint8_t)gen_range(&s->rng, 1, 4);
    }
}

/* Owned addresses, ports and parameters of one anomaly. */
static void plan_instance(gen_ctx_t *c, gen_spawner_t *s)
{
    gen_rng_t *r = &s->rng;
    const variant_info_t *vi = &variants[s->variant];
    s->taxonomy = vi->taxonomy;
    s->resp_id = -1;
    s->owned[0] = ef_gen_addr_next(c);
    s->nowned = 1;
    switch (s->variant) {
    case GEN_V_NS_SYN: {
        double u = gen_u01(r);
        unsigned np = u < 0.75 ? 1 : u < 0.95 ? 2 : 3;
        pick_ports(r, s, scan_tcp_ports, sizeof scan_tcp_ports / 2, np);
        s->param[0] = gen_below(r, 3);                      /* 0 zmap, 1 masscan, 2 nmap */
        s->sport = s->param[0] == 0 ? 0 : (uint16_t)gen_range(r, 1024, 65535);
        int has139 = 0, has445 = 0;
        for (unsigned i = 0; i < s->nports; i++)
            has139 |= s->ports[i] == 139, has445 |= s->ports[i] == 445;
        if (has139 && has445)
            s->taxonomy = "ntscSYN139445";
        s->heuristic = heuristic_for_port(s->ports[0], 10);
        break;
    }
    case GEN_V_NS_ACK:
        pick_ports(r, s, scan_tcp_ports, 4, 1);
        s->sport = (uint16_t)gen_range(r, 1024, 65535);
        s->heuristic = heuristic_for_port(s->ports[0], 11);
        break;
    case GEN_V_NS_UDP:
        s->ports[0] = scan_udp_ports[gen_below(r, sizeof scan_udp_ports / 2)];
        s->nports = 1;
        s->sport = gen_chance(r, 0.7) ? (uint16_t)gen_range(r, 1024, 65535) : 0;
        s->heuristic = heuristic_for_port(s->ports[0], 901);
        s->resp_id = 0; /* has a response anomaly; numbered later */
        break;
    case GEN_V_NS_ICMP:
        s->param[0] = (uint32_t[]){0, 8, 56}[gen_below(r, 3)]; /* echo payload bytes */
        s->heuristic = 20;
        break;
    case GEN_V_PS_SYN:
    case GEN_V_PS_CONNECT:
        s->owned[s->nowned++] = ef_gen_addr_next(c);
        s->sport = (uint16_t)gen_range(r, 1024, 65535);
        s->param[0] = gen_below(r, 1024);                   /* port permutation offset */
        s->param[1] = 2 * gen_below(r, 512) + 1;            /* odd stride: a permutation */
        s->param[2] = gen_chance(r, 0.3);                   /* sequential order */
        s->heuristic = 10;
        break;
    case GEN_V_DOS_DDOSSYN:
    case GEN_V_DOS_PTPSYN: {
        static const uint16_t targets[] = {80, 443, 22, 25, 3389, 8080};
        if (s->variant == GEN_V_DOS_PTPSYN)
            s->owned[s->nowned++] = ef_gen_addr_next(c);
        s->ports[0] = gen_chance(r, 0.85) ? targets[gen_below(r, 6)]
                                          : (uint16_t)gen_range(r, 1024, 65535);
        s->nports = 1;
        s->param[0] = gen_range(r, 1024, 60000);            /* first source port */
        s->heuristic = 10;
        break;
    }
    case GEN_V_DOS_UDP:
        s->ports[0] = gen_chance(r, 0.5) ? (uint16_t)gen_range(r, 1, 65535)
                                         : (uint16_t[]){53, 80, 123, 443, 27015}[gen_below(r, 5)];
        s->nports = 1;
        s->param[0] = gen_chance(r, 0.3) ? 0 : gen_range(r, 1, 1400); /* payload bytes */
        s->heuristic = 901;
        break;
    case GEN_V_HTTP_FLOOD:
        s->ports[0] = 80;
        s->nports = 1;
        s->param[0] = (uint32_t)gen_next(r);                /* the page every bot asks */
        s->heuristic = 53;
        break;
    case GEN_V_HTTP_CRAWL:
        s->ports[0] = 80;
        s->nports = 1;
        s->heuristic = 503;
        break;
    case GEN_V_HTTP_ALPHA:
        s->owned[s->nowned++] = ef_gen_addr_next(c);
        s->ports[0] = 80;
        s->nports = 1;
        s->heuristic = 503;
        break;
    case GEN_V_MULTI_PTMP_UDP:
        s->sport = gen_chance(r, 0.3) ? 6881 : (uint16_t)gen_range(r, 10000, 65000);
        s->heuristic = 901;
        break;
    case GEN_V_MULTI_PTMP_TCP:
        s->ports[0] = gen_chance(r, 0.3) ? 6881 : (uint16_t)gen_range(r, 10000, 65000);
        s->nports = 1;
        s->param[0] = (uint32_t)gen_next(r);                /* swarm info hash */
        s->heuristic = 901;
        break;
    case GEN_V_MULTI_MPTP_UDP:
        s->ports[0] = gen_chance(r, 0.4) ? (uint16_t[]){6881, 27015, 3478, 9987}[gen_below(r, 4)]
                                         : (uint16_t)gen_range(r, 10000, 65000);
        s->nports = 1;
        s->heuristic = 901;
        break;
    case GEN_V_MULTI_REFLECT: {
        static const uint16_t svc[] = {123, 53, 1900, 11211, 19};
        s->param[0] = gen_below(r, 5);
        s->sport = svc[s->param[0]];
        s->param[1] = gen_chance(r, 0.7) ? gen_range(r, 1024, 65535) : 0; /* victim port */
        s->heuristic = 901;
        break;
    }
    case GEN_V_ALPHA: {
        static const uint16_t tcp_ports[] = {22, 873, 5201, 443, 8000};
        static const uint16_t udp_ports[] = {4500, 1194, 51820};
        s->owned[s->nowned++] = ef_gen_addr_next(c);
        s->nports = (uint8_t)s->total;
        for (unsigned i = 0; i < s->nports; i++) {
            int udp = gen_chance(r, 0.3);
            uint16_t port;
            int dup;
            do {
                port = gen_chance(r, 0.7) ? (udp ? udp_ports[gen_below(r, 3)]
                                                 : tcp_ports[gen_below(r, 5)])
                                          : (uint16_t)gen_range(r, 1024, 65535);
                dup = 0;
                for (unsigned k = 0; k < i; k++)
                    dup |= s->ports[k] == port;
            } while (dup);
            s->ports[i] = port;
            s->param[i] = (uint32_t)udp;
        }
        s->heuristic = traffic_heuristic(s->ports[0]);
        break;
    }
    case GEN_V_TUNNEL:
        for (unsigned i = 0; i < s->total && s->nowned < GEN_MAX_OWNED; i++)
            s->owned[s->nowned++] = ef_gen_addr_next(c);
        s->param[0] = gen_chance(r, 0.5);                   /* relay opens the flows */
        s->heuristic = 901;
        break;
    case GEN_V_OTHER_TRACE:
        s->param[0] = gen_chance(r, 0.7) ? 17 : 1;          /* UDP (Unix) or ICMP (Windows) */
        s->param[1] = gen_range(r, 33000, 65000);           /* traceroute source port */
        s->heuristic = 901;
        break;
    default: /* GEN_V_OTHER_TTL, GEN_V_OTHER_UNREACH */
        s->heuristic = 901;
        break;
    }
}

static int grow(gen_spawner_t **arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? 2 * *cap : 64;
    while (n < need)
        n *= 2;
    gen_spawner_t *na = realloc(*arr, n * sizeof *na);
    if (!na)
        return -1;
    *arr = na;
    *cap = n;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const gen_spawner_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->item.uid < y->item.uid ? -1 : x->item.uid > y->item.uid;
}

static int plan_pools(gen_ctx_t *c, uint64_t benign, ef_err_t *err)
{
    uint64_t nc = benign / 8, ns = benign / 25;
    c->nclients = (uint32_t)(nc < 64 ? 64 : nc > 2000000 ? 2000000 : nc);
    c->nservers = (uint32_t)(ns < 32 ? 32 : ns > 500000 ? 500000 : ns);
    c->clients = malloc(c->nclients * sizeof *c->clients);
    c->servers = malloc(c->nservers * sizeof *c->servers);
    c->server_cdf = malloc(c->nservers * sizeof *c->server_cdf);
    if (!c->clients || !c->servers || !c->server_cdf)
        return ef_err_set(err, "out of memory planning %u hosts", c->nclients + c->nservers);
    for (uint32_t i = 0; i < c->nclients; i++)
        c->clients[i] = ef_gen_addr_next(c);
    double acc = 0;
    for (uint32_t i = 0; i < c->nservers; i++) {
        c->servers[i] = ef_gen_addr_next(c);
        acc += 1.0 / (i + 1.0); /* Zipf(1): a few servers get most flows */
        c->server_cdf[i] = acc;
    }
    for (uint32_t i = 0; i < c->nservers; i++)
        c->server_cdf[i] /= acc;
    for (size_t i = 0; i < sizeof c->resolvers / sizeof c->resolvers[0]; i++)
        c->resolvers[i] = ef_gen_addr_next(c);
    for (size_t i = 0; i < sizeof c->ntp_servers / sizeof c->ntp_servers[0]; i++)
        c->ntp_servers[i] = ef_gen_addr_next(c);
    return 0;
}

int ef_gen_plan(gen_ctx_t *c, ef_err_t *err)
{
    uint64_t counts[EF_CAT__COUNT];
    category_counts(&c->cfg, counts);
    if (plan_pools(c, counts[EF_CAT_UNLABELED], err) < 0)
        return -1;
    gen_spawner_t *arr = NULL;
    size_t n = 0, cap = 0;
    int64_t d_us = c->end_us;
    /* benign: a few long flows already running when the capture starts */
    uint64_t pre = counts[EF_CAT_UNLABELED] / 25;
    uint64_t main_flows = counts[EF_CAT_UNLABELED] - pre;
    for (int k = 0; k < 2; k++) {
        uint64_t total = k ? pre : main_flows;
        if (!total)
            continue;
        if (grow(&arr, &cap, n + 1) < 0)
            goto oom;
        gen_spawner_t *s = &arr[n++];
        memset(s, 0, sizeof *s);
        s->item.type = GEN_IT_SPAWNER;
        s->item.uid = c->next_uid++;
        gen_rng_seed(&s->rng, c->cfg.seed, 0xbe9100ull + (uint64_t)k);
        s->variant = k ? GEN_V_BENIGN_PRE : GEN_V_BENIGN;
        s->category = EF_CAT_UNLABELED;
        s->total = (uint32_t)total;
        s->anomaly_id = -1;
        s->resp_id = -1;
        int64_t lead = d_us / 6 < 10000000 ? d_us / 6 : 10000000;
        s->t_lo = k ? -lead : 0;
        s->t_hi = k ? 0 : d_us;
        s->cursor = s->t_lo;
    }
    size_t first_anomaly = n;
    static const uint8_t order[] = {EF_CAT_HTTP, EF_CAT_MULTI, EF_CAT_ALPHA, EF_CAT_NETWORKSCAN,
                                    EF_CAT_PORTSCAN, EF_CAT_DOS, EF_CAT_IPV6TUNNEL, EF_CAT_OTHER};
    for (size_t oi = 0; oi < sizeof order; oi++) {
        uint8_t cat = order[oi];
        uint64_t left = counts[cat];
        while (left > 0) {
            if (grow(&arr, &cap, n + 1) < 0)
                goto oom;
            gen_spawner_t *s = &arr[n++];
            memset(s, 0, sizeof *s);
            s->item.type = GEN_IT_SPAWNER;
            s->item.uid = c->next_uid++;
            gen_rng_seed(&s->rng, c->cfg.seed, 0xa40a11ull + s->item.uid);
            s->category = cat;
            s->variant = pick_variant(&s->rng, cat);
            const variant_info_t *vi = &variants[s->variant];
            uint64_t size = (uint64_t)gen_logn_clamped(&s->rng, vi->size_median, vi->size_sigma,
                                                       vi->size_lo, vi->size_hi);
            if (size > left || left - size < vi->size_lo)
                size = left < vi->size_hi ? left : size;
            if (size > left)
                size = left;
            s->total = (uint32_t)size;
            left -= size;
            plan_instance(c, s);
            plan_timing(c, s, vi);
            plan_labels(s);
        }
    }
    /* MAWILab numbers anomalies in file order; ours follow start time. */
    qsort(arr + first_anomaly, n - first_anomaly, sizeof *arr, by_start);
    int32_t id = 0;
    for (size_t i = first_anomaly; i < n; i++) {
        arr[i].anomaly_id = id++;
        if (arr[i].resp_id >= 0)
            arr[i].resp_id = id++;
    }
    c->spawners = arr;
    c->nspawners = n;
    c->next_anomaly_id = id;
    c->st.anomalies = (uint64_t)id;
    return 0;
oom:
    free(arr);
    return ef_err_set(err, "out of memory planning anomalies");
}

int64_t ef_gen_spawner_next_time(gen_ctx_t *c, gen_spawner_t *s)
{
    (void)c;
    if (s->done >= s->total)
        return INT64_MAX;
    if (s->variant == GEN_V_BENIGN || s->variant == GEN_V_BENIGN_PRE) {
        /* the next of (total - done) sorted uniform start times */
        double left = (double)(s->total - s->done);
        double v = 1.0 - gen_u01(&s->rng);
        s->u += (1.0 - s->u) * (1.0 - pow(v, 1.0 / left));
        int64_t t = s->t_lo + (int64_t)(s->u * (double)(s->t_hi - s->t_lo));
        if (t < s->cursor)
            t = s->cursor;
        s->cursor = t;
        return t;
    }
    int64_t t;
    if (s->cursor == INT64_MIN)
        t = s->start;
    else
        t = s->cursor + 1 + (int64_t)gen_exp(&s->rng, 1e6 / s->rate);
    s->cursor = t;
    return t;
}

/* ------------------------------------------------------------------ */
/* The label file */

static int row(gen_ctx_t *c, int32_t id, uint32_t src, int sport, uint32_t dst, int dport,
               const char *tax, const gen_spawner_t *s, int response, ef_err_t *err)
{
    char sa[16] = "", da[16] = "", sp[12] = "", dp[12] = "";
    if (src)
        ef_gen_format_v4(src, sa);
    if (dst)
        ef_gen_format_v4(dst, da);
    if (sport >= 0)
        snprintf(sp, sizeof sp, "%d", sport);
    if (dport >= 0)
        snprintf(dp, sizeof dp, "%d", dport);
    double dist = response ? -(0.05 + fabs(s->distance) / 4) : s->distance;
    int nb = response ? 2 : s->nb_detectors;
    int anomalous = response ? 0 : s->anomalous;
    c->st.label_rows++;
    return ef_gen_out_printf(&c->labels, err, "%d,%s,%s,%s,%s,%s,%u,%.5f,%d,%s\n", id, sa, sp,
                             da, dp, tax, response ? 901u : s->heuristic, dist, nb,
                             anomalous ? "anomalous" : "suspicious");
}

static int spawner_rows(gen_ctx_t *c, const gen_spawner_t *s, ef_err_t *err)
{
    int32_t id = s->anomaly_id;
    const char *t = s->taxonomy;
    uint32_t a = s->owned[0], b = s->nowned > 1 ? s->owned[1] : 0;
    int sp = s->sport ? s->sport : -1;
    int rc = 0;
    switch (s->variant) {
    case GEN_V_NS_SYN:
    case GEN_V_NS_ACK:
    case GEN_V_NS_UDP:
        /* network scan: the scanner and each probed port; targets vary */
        for (unsigned i = 0; i < s->nports && rc == 0; i++)
            rc = row(c, id, a, sp, 0, s->ports[i], t, s, 0, err);
        if (rc == 0 && s->resp_id >= 0) /* ICMP port unreachable answers */
            rc = row(c, s->resp_id, 0, -1, a, -1, "ntscUDPUDPICrp", s, 1, err);
        return rc;
    case GEN_V_NS_ICMP:
        return row(c, id, a, -1, 0, -1, t, s, 0, err);
    case GEN_V_PS_SYN:
    case GEN_V_PS_CONNECT:
        return row(c, id, a, -1, b, -1, t, s, 0, err);
    case GEN_V_DOS_DDOSSYN:
        return row(c, id, 0, -1, a, s->ports[0], t, s, 0, err);
    case GEN_V_DOS_PTPSYN:
        return row(c, id, a, -1, b, s->ports[0], t, s, 0, err);
    case GEN_V_DOS_UDP:
        return row(c, id, 0, -1, a, s->ports[0], t, s, 0, err);
    case GEN_V_HTTP_FLOOD:
        return row(c, id, 0, -1, a, 80, t, s, 0, err);
    case GEN_V_HTTP_CRAWL:
        return row(c, id, a, -1, 0, 80, t, s, 0, err);
    case GEN_V_HTTP_ALPHA:
        return row(c, id, a, -1, b, 80, t, s, 0, err);
    case GEN_V_MULTI_PTMP_UDP:
        return row(c, id, a, s->sport, 0, -1, t, s, 0, err);
    case GEN_V_MULTI_PTMP_TCP:
        return row(c, id, a, -1, 0, s->ports[0], t, s, 0, err);
    case GEN_V_MULTI_MPTP_UDP:
        return row(c, id, 0, -1, a, s->ports[0], t, s, 0, err);
    case GEN_V_MULTI_REFLECT:
        return row(c, id, 0, s->sport, a, -1, t, s, 0, err);
    case GEN_V_ALPHA:
        for (unsigned i = 0; i < s->nports && rc == 0; i++)
            rc = row(c, id, a, -1, b, s->ports[i], t, s, 0, err);
        return rc;
    case GEN_V_TUNNEL:
        for (unsigned i = 1; i < s->nowned && rc == 0; i++)
            rc = s->param[0] ? row(c, id, a, -1, s->owned[i], -1, t, s, 0, err)
                             : row(c, id, s->owned[i], -1, a, -1, t, s, 0, err);
        return rc;
    case GEN_V_OTHER_TRACE:
        return row(c, id, 0, -1, a, -1, t, s, 0, err);
    default: /* TTL exceeded or unreachable sent by one router to many */
        return row(c, id, a, -1, 0, -1, t, s, 0, err);
    }
}

int ef_gen_write_labels(gen_ctx_t *c, ef_err_t *err)
{
    if (ef_gen_out_printf(&c->labels, err, "anomalyID, srcIP, srcPort, dstIP, dstPort, "
                                           "taxonomy, heuristic, distance, nbDetectors, "
                                           "label\n") < 0)
        return -1;
    for (size_t i = 0; i < c->nspawners; i++) {
        const gen_spawner_t *s = &c->spawners[i];
        if (s->anomaly_id < 0)
            continue;
        if (spawner_rows(c, s, err) < 0)
            return -1;
    }
    return 0;
}
