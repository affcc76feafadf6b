/* The traffic generator: determinism, a capture libpcap reads back, flows
 * shaped like their protocols and categories, a MAWILab label file whose
 * rows match exactly the anomaly flows, and dynamics that do what they say.
 *
 * The capture is decoded here with libpcap and a small parser of our own
 * (Ethernet / raw IP, IPv4 / IPv6, TCP, UDP, ICMP, 6in4), flows are keyed
 * and oriented as a flow table does (pure SYN sender, SYN+ACK receiver,
 * else first sender), and the label rows are joined with MAWILab's rule
 * (every non-empty field equal, rule source = flow client, the most
 * specific row wins). The generator's own per-flow report is the ground
 * truth the join must reproduce. */
#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/mawilab.h"
#include "data/taxonomy.h"
#include "eftest.h"
#include "gen/gen.h"
#include "net/decode.h"

/* ------------------------------------------------------------------ */
/* Running the generator */

typedef struct truth {
    ef_gen_flow_info_t *v;
    size_t n, cap;
} truth_t;

static void on_flow(void *user, const ef_gen_flow_info_t *f)
{
    truth_t *t = user;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        ck_assert_ptr_nonnull(t->v);
    }
    t->v[t->n++] = *f;
}

typedef struct run {
    char *dir, *pcap, *csv;
    truth_t truth;
    ef_gen_stats_t st;
} run_t;

static void small_config(ef_gen_config_t *cfg, uint64_t seed)
{
    ef_gen_config_default(cfg);
    cfg->seed = seed;
    cfg->flows = 1500;
    cfg->duration_s = 20;
    cfg->snaplen = 160;
}

static void gen_run(run_t *r, const ef_gen_config_t *cfg)
{
    memset(r, 0, sizeof *r);
    r->dir = eft_mkdtemp("gen");
    ck_assert_ptr_nonnull(r->dir);
    r->pcap = eft_path(r->dir, "day.pcap");
    r->csv = eft_path(r->dir, "day_anomalous_suspicious.csv");
    ef_err_t err;
    int rc = ef_gen_write(cfg, r->pcap, r->csv, on_flow, &r->truth, &r->st, &err);
    ck_assert_msg(rc == 0, "ef_gen_write: %s", err.msg);
}

static void run_free(run_t *r)
{
    eft_rmtree(r->dir);
    free(r->dir);
    free(r->pcap);
    free(r->csv);
    free(r->truth.v);
}

/* ------------------------------------------------------------------ */
/* A small capture parser */

typedef struct pkt {
    uint64_t ts;
    uint8_t v, proto, inner_v;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t flags, icmp_type;
    uint16_t iplen;
    uint32_t seq, ack, plen;
    uint8_t head[8];        /* first payload bytes (TCP/UDP) */
    uint8_t nhead;
} pkt_t;

static int parse_frame(int dlt, const uint8_t *d, uint32_t caplen, uint64_t ts, pkt_t *p)
{
    memset(p, 0, sizeof *p);
    p->ts = ts;
    uint32_t off = 0;
    if (dlt == DLT_EN10MB) {
        if (caplen < 14)
            return -1;
        uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
        if (et != 0x0800 && et != 0x86dd)
            return -1;
        off = 14;
    }
    if (caplen < off + 20)
        return -1;
    const uint8_t *ip = d + off;
    uint32_t l4off;
    p->v = ip[0] >> 4;
    if (p->v == 4) {
        p->iplen = (uint16_t)(ip[2] << 8 | ip[3]);
        p->proto = ip[9];
        memcpy(p->src, ip + 12, 4);
        memcpy(p->dst, ip + 16, 4);
        l4off = off + (uint32_t)(ip[0] & 15) * 4;
    } else if (p->v == 6) {
        if (caplen < off + 40)
            return -1;
        p->iplen = (uint16_t)((ip[4] << 8 | ip[5]) + 40);
        p->proto = ip[6];
        memcpy(p->src, ip + 8, 16);
        memcpy(p->dst, ip + 24, 16);
        l4off = off + 40;
    } else {
        return -1;
    }
    const uint8_t *l4 = d + l4off;
    uint32_t l4cap = caplen > l4off ? caplen - l4off : 0;
    uint32_t l4len = p->iplen - (l4off - off);
    if (p->proto == 41) {
        if (l4cap >= 1)
            p->inner_v = l4[0] >> 4;
        return 0;
    }
    if (p->proto == 6 && l4cap >= 20) {
        p->sport = (uint16_t)(l4[0] << 8 | l4[1]);
        p->dport = (uint16_t)(l4[2] << 8 | l4[3]);
        p->seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
        p->ack = (uint32_t)l4[8] << 24 | (uint32_t)l4[9] << 16 | (uint32_t)l4[10] << 8 | l4[11];
        p->flags = l4[13];
        uint32_t hl = (uint32_t)(l4[12] >> 4) * 4;
        p->plen = l4len - hl;
        for (uint32_t i = hl; i < l4cap && p->nhead < 8; i++)
            p->head[p->nhead++] = l4[i];
    } else if (p->proto == 17 && l4cap >= 8) {
        p->sport = (uint16_t)(l4[0] << 8 | l4[1]);
        p->dport = (uint16_t)(l4[2] << 8 | l4[3]);
        p->plen = l4len - 8;
        for (uint32_t i = 8; i < l4cap && p->nhead < 8; i++)
            p->head[p->nhead++] = l4[i];
    } else if ((p->proto == 1 || p->proto == 58) && l4cap >= 1) {
        p->icmp_type = l4[0];
    } else {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Flows keyed and oriented like a flow table */

typedef struct key {
    uint8_t proto, v;
    uint8_t a[16], b[16];
    uint16_t pa, pb;
} fkey_t;

typedef struct tflow {
    fkey_t key;
    uint8_t client[16], server[16];
    uint16_t cport, sport;
    pkt_t *p;                 /* packets in capture order */
    size_t n, cap;
    uint32_t c2s;
    int next;                 /* hash chain */
    const ef_gen_flow_info_t *truth;
} tflow_t;

typedef struct ftable {
    tflow_t *f;
    size_t n, cap;
    int *buckets;
    size_t nb;
    int dlt;
    uint64_t packets;
} ftable_t;

static void make_key(fkey_t *k, uint8_t proto, uint8_t v, const uint8_t *s, uint16_t sp,
                     const uint8_t *d, uint16_t dp)
{
    memset(k, 0, sizeof *k);
    k->proto = proto;
    k->v = v;
    if (proto != 6 && proto != 17)
        sp = dp = 0;
    int swap = memcmp(s, d, 16) > 0 || (memcmp(s, d, 16) == 0 && sp > dp);
    memcpy(k->a, swap ? d : s, 16);
    memcpy(k->b, swap ? s : d, 16);
    k->pa = swap ? dp : sp;
    k->pb = swap ? sp : dp;
}

static uint64_t key_hash(const fkey_t *k)
{
    const uint8_t *b = (const uint8_t *)k;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *k; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static tflow_t *ft_find(ftable_t *t, const fkey_t *k)
{
    for (int i = t->buckets[key_hash(k) % t->nb]; i >= 0; i = t->f[i].next)
        if (!memcmp(&t->f[i].key, k, sizeof *k))
            return &t->f[i];
    return NULL;
}

static tflow_t *ft_add(ftable_t *t, const fkey_t *k)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->f = realloc(t->f, t->cap * sizeof *t->f);
        ck_assert_ptr_nonnull(t->f);
    }
    tflow_t *f = &t->f[t->n];
    memset(f, 0, sizeof *f);
    f->key = *k;
    size_t b = key_hash(k) % t->nb;
    f->next = t->buckets[b];
    t->buckets[b] = (int)t->n++;
    return f;
}

static void ft_read(ftable_t *t, const char *path)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, eb);
    ck_assert_msg(pc != NULL, "libpcap cannot open %s: %s", path, eb);
    memset(t, 0, sizeof *t);
    t->nb = 1 << 16;
    t->buckets = malloc(t->nb * sizeof *t->buckets);
    memset(t->buckets, 0xff, t->nb * sizeof *t->buckets);
    t->dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
        t->packets++;
        pkt_t p;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        ck_assert_msg(parse_frame(t->dlt, d, h->caplen, ts, &p) == 0, "packet %llu undecodable",
                      (unsigned long long)t->packets);
        fkey_t k;
        make_key(&k, p.proto, p.v, p.src, p.sport, p.dst, p.dport);
        tflow_t *f = ft_find(t, &k);
        if (!f) {
            f = ft_add(t, &k);
            int synack = p.proto == 6 && (p.flags & 0x12) == 0x12;
            memcpy(synack ? f->server : f->client, p.src, 16);
            memcpy(synack ? f->client : f->server, p.dst, 16);
            f->cport = synack ? p.dport : p.sport;
            f->sport = synack ? p.sport : p.dport;
            if (p.proto != 6 && p.proto != 17)
                f->cport = f->sport = 0;
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 8;
            f->p = realloc(f->p, f->cap * sizeof *f->p);
            ck_assert_ptr_nonnull(f->p);
        }
        f->p[f->n++] = p;
        f->c2s += !memcmp(p.src, f->client, 16) && (p.proto != 6 && p.proto != 17 ? 1 : p.sport == f->cport);
    }
    ck_assert_int_eq(rc, PCAP_ERROR_BREAK);
    pcap_close(pc);
}

static void ft_free(ftable_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->f[i].p);
    free(t->f);
    free(t->buckets);
}

static int pkt_from_client(const tflow_t *f, const pkt_t *p)
{
    return !memcmp(p->src, f->client, 16) &&
           (f->key.proto != 6 && f->key.proto != 17 ? 1 : p->sport == f->cport);
}

/* Attach the generator's report of each flow. */
static void ft_attach_truth(ftable_t *t, const truth_t *tr)
{
    for (size_t i = 0; i < tr->n; i++) {
        const ef_gen_flow_info_t *g = &tr->v[i];
        fkey_t k;
        make_key(&k, g->proto, g->ip_version, g->client_addr, g->client_port, g->server_addr,
                 g->server_port);
        tflow_t *f = ft_find(t, &k);
        ck_assert_msg(f != NULL, "generated flow %llu (%s) not in the capture",
                      (unsigned long long)g->id, g->shape);
        if (!f->truth || f->truth->category == EF_CAT_UNLABELED)
            f->truth = g;
    }
    for (size_t i = 0; i < t->n; i++)
        ck_assert_msg(t->f[i].truth != NULL, "captured flow %zu has no generated flow", i);
}

/* ------------------------------------------------------------------ */
/* The label file and MAWILab's join */

typedef struct rule {
    int64_t id;
    int has[4];               /* src, sport, dst, dport */
    uint8_t src[16], dst[16];
    unsigned sport, dport;
    char tax[64];
} rule_t;

typedef struct rules {
    rule_t *r;
    size_t n;
} rules_t;

static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    f[n++] = p;
    while (*p && n < max) {
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
        p++;
    }
    return n;
}

static void read_rules(const char *path, rules_t *out)
{
    size_t len;
    char *text = eft_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    const char *hdr = "anomalyID, srcIP, srcPort, dstIP, dstPort, taxonomy, heuristic, distance, "
                      "nbDetectors, label\n";
    ck_assert_msg(!strncmp(text, hdr, strlen(hdr)), "label header differs from MAWILab's");
    out->r = NULL;
    out->n = 0;
    size_t cap = 0;
    int64_t last_id = -1;
    char *save = NULL;
    for (char *line = strtok_r(text + strlen(hdr), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[12];
        int nf = split(line, f, 12);
        ck_assert_msg(nf == 10, "row has %d fields, not 10", nf);
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            out->r = realloc(out->r, cap * sizeof *out->r);
        }
        rule_t *r = &out->r[out->n++];
        memset(r, 0, sizeof *r);
        r->id = strtoll(f[0], NULL, 10);
        ck_assert_msg(r->id >= last_id, "anomaly ids not in file order");
        last_id = r->id;
        if ((r->has[0] = *f[1] != '\0'))
            ck_assert_int_eq(inet_pton(AF_INET, f[1], r->src), 1);
        if ((r->has[1] = *f[2] != '\0'))
            r->sport = (unsigned)atoi(f[2]);
        if ((r->has[2] = *f[3] != '\0'))
            ck_assert_int_eq(inet_pton(AF_INET, f[3], r->dst), 1);
        if ((r->has[3] = *f[4] != '\0'))
            r->dport = (unsigned)atoi(f[4]);
        ck_assert_msg(r->has[0] || r->has[2], "row %lld names no address", (long long)r->id);
        snprintf(r->tax, sizeof r->tax, "%s", f[5]);
        ck_assert_msg(ef_taxonomy_category(r->tax) != EF_CAT_UNKNOWN, "taxonomy %s", r->tax);
        int heur = atoi(f[6]);
        ck_assert_msg(heur > 0 && heur < 1000, "heuristic %s", f[6]);
        double dist = strtod(f[7], NULL);
        int nb = atoi(f[8]);
        ck_assert_msg(nb >= 1 && nb <= 12, "nbDetectors %d", nb);
        ck_assert_msg((!strcmp(f[9], "anomalous") && dist > 0) ||
                          (!strcmp(f[9], "suspicious") && dist < 0),
                      "label %s with distance %g", f[9], dist);
    }
    free(text);
}

/* The best row for a flow: most fields, then dst IP > src IP > dst port >
 * src port, then the earlier line. NULL when no row matches. */
static const rule_t *join(const rules_t *rs, const tflow_t *f)
{
    const rule_t *best = NULL;
    int best_n = -1, best_rank = -1;
    for (size_t i = 0; i < rs->n; i++) {
        const rule_t *r = &rs->r[i];
        if (f->key.v != 4 && (r->has[0] || r->has[2]))
            continue;
        if (r->has[0] && memcmp(r->src, f->client, 4))
            continue;
        if (r->has[2] && memcmp(r->dst, f->server, 4))
            continue;
        if (r->has[1] && r->sport != f->cport)
            continue;
        if (r->has[3] && r->dport != f->sport)
            continue;
        int n = r->has[0] + r->has[1] + r->has[2] + r->has[3];
        int rank = 8 * r->has[2] + 4 * r->has[0] + 2 * r->has[3] + r->has[1];
        if (n > best_n || (n == best_n && rank > best_rank)) {
            best = r;
            best_n = n;
            best_rank = rank;
        }
    }
    return best;
}

static void check_labels_exact(const run_t *run)
{
    ftable_t t;
    rules_t rs;
    ft_read(&t, run->pcap);
    ft_attach_truth(&t, &run->truth);
    read_rules(run->csv, &rs);
    /* and the project's own join (core/data/mawilab.h), which also tries
     * rules reversed: it must agree, with forward matches */
    ef_err_t err;
    const char *paths[] = {run->csv};
    ef_mawilab_t *ml = ef_mawilab_load(paths, 1, &err);
    ck_assert_msg(ml != NULL, "ef_mawilab_load: %s", err.msg);
    size_t anomalies = 0;
    for (size_t i = 0; i < t.n; i++) {
        const tflow_t *f = &t.f[i];
        const rule_t *r = join(&rs, f);
        ef_category_t got = r ? ef_taxonomy_category(r->tax) : EF_CAT_UNLABELED;
        ck_assert_msg(got == f->truth->category, "flow %llu (%s): labelled %s, generated as %s",
                      (unsigned long long)f->truth->id, f->truth->shape, ef_category_label(got),
                      ef_category_label(f->truth->category));
        if (r) {
            ck_assert_int_eq(r->id, f->truth->anomaly_id);
            anomalies++;
        }
        ef_mawilab_flow_t mf = {f->client, f->server, f->cport, f->sport, f->key.v,
                                (uint8_t)(f->key.proto == 6 || f->key.proto == 17)};
        ef_mawilab_match_t mm;
        ef_mawilab_match(ml, &mf, &mm);
        ck_assert_msg(mm.category == f->truth->category, "flow %llu (%s): collect's join says %s",
                      (unsigned long long)f->truth->id, f->truth->shape,
                      ef_category_label(mm.category));
        if (mm.rule) {
            ck_assert_uint_eq(mm.rule->anomaly_id, (uint64_t)f->truth->anomaly_id);
            ck_assert_int_eq(mm.reversed, 0);
        }
    }
    ef_mawilab_free(ml);
    ck_assert_msg(anomalies > 0, "no anomaly flow in the capture");
    free(rs.r);
    ft_free(&t);
}

/* ------------------------------------------------------------------ */
/* Tests */

START_TEST(mix_specs_parse)
{
    double mix[EF_CAT__COUNT];
    ef_err_t err;
    ck_assert_int_eq(ef_gen_parse_mix("benign=80, NetworkScan=5,dos=3.5", mix, &err), 0);
    ck_assert(mix[EF_CAT_UNLABELED] == 80 && mix[EF_CAT_NETWORKSCAN] == 5 &&
              mix[EF_CAT_DOS] == 3.5 && mix[EF_CAT_HTTP] == 0);
    ck_assert_int_eq(ef_gen_parse_mix(ef_gen_default_mix(), mix, &err), 0);
    for (int c = 0; c < EF_CAT__COUNT; c++)
        ck_assert_msg(c == EF_CAT_UNKNOWN ? mix[c] == 0 : mix[c] > 0, "default mix %d", c);
    static const struct {
        const char *spec, *needle;
    } bad[] = {
        {"benign=80,Scans=3", "unknown category 'Scans'"},
        {"benign=1,Benign=2", "given twice"},
        {"benign", "expected name=weight"},
        {"benign=-1", "not a number >= 0"},
        {"benign=abc", "not a number >= 0"},
        {"benign=", "missing"},
        {"", "empty"},
        {"=3", "expected name=weight"},
        {"averyveryveryverylongcategoryname=3", "bad category name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(ef_gen_parse_mix(bad[i].spec, mix, &err), -1);
        ck_assert_msg(strstr(err.msg, bad[i].needle), "'%s' -> '%s'", bad[i].spec, err.msg);
    }
}
END_TEST

START_TEST(config_ranges_are_checked)
{
    ef_gen_config_t c;
    ef_err_t err;
    ef_gen_config_default(&c);
    ck_assert_int_eq(ef_gen_config_check(&c, &err), 0);
    static const struct {
        int field;
        double value;
        const char *needle;
    } bad[] = {
        {0, 0, "duration"}, {0, -1, "duration"}, {1, 1.0, "loss"}, {2, 1.5, "reorder"},
        {3, -0.1, "dup"}, {4, 1.01, "one-way"}, {5, -1, "jitter"}, {6, 10, "snaplen"},
        {7, 0, "flows"}, {8, 1, "Unknown"}, {9, 0, "all weights"}, {10, 2, "linktype"},
        {11, NAN, "loss"}, {12, 4294967280.0, "start"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ef_gen_config_default(&c);
        switch (bad[i].field) {
        case 0: c.duration_s = bad[i].value; break;
        case 1: c.loss = bad[i].value; break;
        case 2: c.reorder = bad[i].value; break;
        case 3: c.dup = bad[i].value; break;
        case 4: c.one_way = bad[i].value; break;
        case 5: c.jitter_ms = bad[i].value; break;
        case 6: c.snaplen = (uint32_t)bad[i].value; break;
        case 7: c.flows = 0; break;
        case 8: c.mix[EF_CAT_UNKNOWN] = 1; break;
        case 9: memset(c.mix, 0, sizeof c.mix); break;
        case 10: c.linktype = 2; break;
        case 12: c.start_epoch = (uint32_t)bad[i].value; break;
        default: c.loss = bad[i].value; break;
        }
        ck_assert_int_eq(ef_gen_config_check(&c, &err), -1);
        ck_assert_msg(strstr(err.msg, bad[i].needle), "case %zu: '%s'", i, err.msg);
    }
}
END_TEST

static int files_equal(const char *a, const char *b)
{
    size_t la, lb;
    char *x = eft_read_file(a, &la), *y = eft_read_file(b, &lb);
    int eq = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return eq;
}

START_TEST(same_seed_same_bytes)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 5);
    cfg.loss = 0.01;
    cfg.reorder = 0.05;
    cfg.jitter_ms = 1;
    run_t a, b, c;
    gen_run(&a, &cfg);
    gen_run(&b, &cfg);
    cfg.seed = 6;
    gen_run(&c, &cfg);
    ck_assert_msg(files_equal(a.pcap, b.pcap), "same seed, different captures");
    ck_assert_msg(files_equal(a.csv, b.csv), "same seed, different label files");
    ck_assert_msg(!files_equal(a.pcap, c.pcap), "another seed, same capture");
    ck_assert_msg(!files_equal(a.csv, c.csv), "another seed, same label file");
    ck_assert_uint_eq(a.st.packets, b.st.packets);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}
END_TEST

START_TEST(capture_reads_back_through_libpcap)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 7);
    for (int raw = 0; raw < 2; raw++) {
        cfg.linktype = raw ? EF_DLT_LINKTYPE_RAW : EF_DLT_EN10MB;
        run_t r;
        gen_run(&r, &cfg);
        ftable_t t;
        ft_read(&t, r.pcap);
        ck_assert_int_eq(t.dlt, raw ? DLT_RAW : DLT_EN10MB);
        ck_assert_uint_eq(t.packets, r.st.packets);
        ck_assert_uint_gt(t.packets, 10000);
        /* time order, inside the capture window */
        uint64_t first = (uint64_t)cfg.start_epoch * 1000000u;
        uint64_t end = first + (uint64_t)(cfg.duration_s * 1e6);
        uint64_t flows_total = 0;
        for (int c = 0; c < EF_CAT__COUNT; c++)
            flows_total += r.st.flows[c];
        ck_assert_uint_eq(flows_total, r.truth.n);
        for (size_t i = 0; i < t.n; i++)
            for (size_t k = 0; k < t.f[i].n; k++) {
                ck_assert(t.f[i].p[k].ts >= first && t.f[i].p[k].ts < end);
                if (k)
                    ck_assert(t.f[i].p[k].ts >= t.f[i].p[k - 1].ts);
            }
        ft_free(&t);
        run_free(&r);
    }
}
END_TEST

START_TEST(label_rows_match_exactly_the_anomaly_flows)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 11);
    run_t r;
    gen_run(&r, &cfg);
    for (int c = 0; c < EF_CAT__COUNT; c++)
        if (c != EF_CAT_UNKNOWN)
            ck_assert_msg(r.st.flows[c] > 0, "no %s flow", ef_category_label((ef_category_t)c));
    check_labels_exact(&r);
    run_free(&r);
}
END_TEST

START_TEST(labels_stay_exact_under_dynamics)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 12);
    cfg.loss = 0.1;
    cfg.dup = 0.05;
    cfg.reorder = 0.2;
    cfg.one_way = 0.5;
    cfg.jitter_ms = 2;
    run_t r;
    gen_run(&r, &cfg);
    check_labels_exact(&r);
    run_free(&r);
}
END_TEST

/* Flows of one shape, from seeds 1.. until some appear (anomaly variants
 * are drawn at random; a rich mix makes each likely). */
typedef struct shaped {
    run_t run;
    ftable_t t;
} shaped_t;

static void find_shape(shaped_t *s, const char *shape)
{
    for (uint64_t seed = 1; seed <= 12; seed++) {
        ef_gen_config_t cfg;
        small_config(&cfg, seed);
        cfg.flows = 1200;
        cfg.duration_s = 10;
        ck_assert_int_eq(ef_gen_parse_mix("benign=20,HTTP=10,Multi=10,Alpha=3,NetworkScan=15,"
                                          "PortScan=10,DoS=15,IPv6Tunnel=5,Other=10",
                                          cfg.mix, NULL), 0);
        gen_run(&s->run, &cfg);
        for (size_t i = 0; i < s->run.truth.n; i++)
            if (!strcmp(s->run.truth.v[i].shape, shape)) {
                ft_read(&s->t, s->run.pcap);
                ft_attach_truth(&s->t, &s->run.truth);
                return;
            }
        run_free(&s->run);
    }
    ck_abort_msg("no seed in 1..12 produced a '%s' flow", shape);
}

static void shaped_free(shaped_t *s)
{
    ft_free(&s->t);
    run_free(&s->run);
}

static size_t count_shape(const shaped_t *s, const char *shape)
{
    size_t n = 0;
    for (size_t i = 0; i < s->t.n; i++)
        n += !strcmp(s->t.f[i].truth->shape, shape);
    return n;
}

START_TEST(syn_scan_probes_are_pure_syns)
{
    shaped_t s;
    find_shape(&s, "syn-probe");
    for (size_t i = 0; i < s.t.n; i++) {
        const tflow_t *f = &s.t.f[i];
        if (strcmp(f->truth->shape, "syn-probe"))
            continue;
        ck_assert_uint_le(f->n, 3);
        ck_assert_msg(f->p[0].flags == 0x02 && pkt_from_client(f, &f->p[0]), "opens with a SYN");
        ck_assert(f->p[0].iplen == 40 || f->p[0].iplen == 44);
        for (size_t k = 0; k < f->n; k++) {
            if (pkt_from_client(f, &f->p[k]))
                ck_assert_msg(f->p[k].flags == 0x02 || f->p[k].flags == 0x04,
                              "scanner sends SYN or RST only, not 0x%x", f->p[k].flags);
            else
                ck_assert(f->p[k].flags == 0x14 || f->p[k].flags == 0x12);
            ck_assert_uint_eq(f->p[k].plen, 0);
        }
        ck_assert_int_eq(f->truth->category, EF_CAT_NETWORKSCAN);
    }
    shaped_free(&s);
}
END_TEST

START_TEST(ddos_sources_are_spoofed_and_unique)
{
    shaped_t s;
    find_shape(&s, "ddos-syn");
    int64_t id = -1;
    size_t n = 0;
    uint8_t (*srcs)[4] = malloc(s.t.n * 4);
    for (size_t i = 0; i < s.t.n; i++) {
        const tflow_t *f = &s.t.f[i];
        if (strcmp(f->truth->shape, "ddos-syn"))
            continue;
        if (id < 0)
            id = f->truth->anomaly_id;
        if (f->truth->anomaly_id != id)
            continue;
        ck_assert_msg(f->p[0].flags == 0x02, "DDoS flow opens with a SYN");
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(memcmp(srcs[k], f->client, 4), "spoofed source repeated");
        memcpy(srcs[n++], f->client, 4);
        ck_assert_int_eq(f->truth->category, EF_CAT_DOS);
    }
    ck_assert_uint_ge(n, 50);
    /* one target, one port */
    for (size_t i = 0; i < s.t.n; i++) {
        const tflow_t *f = &s.t.f[i];
        if (f->truth->anomaly_id == id && !strcmp(f->truth->shape, "ddos-syn"))
            ck_assert(!memcmp(f->server, f->truth->server_addr, 4) &&
                      f->sport == f->truth->server_port);
    }
    free(srcs);
    shaped_free(&s);
}
END_TEST

START_TEST(tunnel_packets_are_6in4)
{
    shaped_t s;
    find_shape(&s, "6in4");
    size_t seen = 0;
    for (size_t i = 0; i < s.t.n; i++) {
        const tflow_t *f = &s.t.f[i];
        if (strcmp(f->truth->shape, "6in4"))
            continue;
        ck_assert_int_eq(f->key.proto, 41);
        for (size_t k = 0; k < f->n; k++)
            ck_assert_int_eq(f->p[k].inner_v, 6);
        ck_assert_int_eq(f->truth->category, EF_CAT_IPV6TUNNEL);
        seen++;
    }
    ck_assert_uint_gt(seen, 0);
    shaped_free(&s);
}
END_TEST

/* SYN, SYN+ACK acknowledging it, ACK, then data whose sequence numbers
 * continue without holes in each direction. */
static void check_tcp_conversation(const tflow_t *f, const char *first_bytes)
{
    ck_assert_uint_ge(f->n, 4);
    const pkt_t *syn = &f->p[0], *sa = &f->p[1], *ack = &f->p[2];
    ck_assert_int_eq(syn->flags, 0x02);
    ck_assert_int_eq(sa->flags, 0x12);
    ck_assert_uint_eq(sa->ack, syn->seq + 1);
    ck_assert_int_eq(ack->flags & 0x17, 0x10);
    ck_assert_uint_eq(ack->seq, syn->seq + 1);
    ck_assert_uint_eq(ack->ack, sa->seq + 1);
    uint32_t next[2] = {syn->seq + 1, sa->seq + 1};
    int found = 0;
    for (size_t k = 3; k < f->n; k++) {
        const pkt_t *p = &f->p[k];
        int d = !pkt_from_client(f, p);
        ck_assert_msg(p->seq == next[d], "flow %s: seq %u where %u was next", f->truth->shape,
                      p->seq, next[d]);
        next[d] += p->plen + ((p->flags & 0x01) ? 1 : 0);
        if (!d && p->plen && first_bytes && !found) {
            ck_assert_msg(!memcmp(p->head, first_bytes, strlen(first_bytes)),
                          "first request starts with '%.4s'", (const char *)p->head);
            found = 1;
        }
    }
    if (first_bytes)
        ck_assert_msg(found, "no request in a %s flow", f->truth->shape);
}

START_TEST(http_floods_handshake_and_get)
{
    shaped_t s;
    find_shape(&s, "http-flood");
    size_t checked = 0;
    for (size_t i = 0; i < s.t.n; i++) {
        const tflow_t *f = &s.t.f[i];
        if (!strcmp(f->truth->shape, "http-flood") && f->n >= 5) {
            check_tcp_conversation(f, "GET ");
            ck_assert_int_eq(f->sport, 80);
            checked++;
        }
    }
    ck_assert_uint_gt(checked, 10);
    shaped_free(&s);
}
END_TEST

START_TEST(benign_tcp_follows_the_protocol)
{
    run_t r;
    ef_gen_config_t cfg;
    small_config(&cfg, 21);
    gen_run(&r, &cfg);
    ftable_t t;
    ft_read(&t, r.pcap);
    ft_attach_truth(&t, &r.truth);
    size_t https = 0, http = 0;
    for (size_t i = 0; i < t.n; i++) {
        const tflow_t *f = &t.f[i];
        if (f->key.proto != 6 || f->n < 4 || f->p[0].flags != 0x02)
            continue; /* started before the capture */
        if (!strcmp(f->truth->shape, "https")) {
            check_tcp_conversation(f, "\x16\x03\x01");
            https++;
        } else if (!strcmp(f->truth->shape, "http")) {
            check_tcp_conversation(f, "GET /");
            http++;
        } else if (f->truth->category == EF_CAT_UNLABELED) {
            check_tcp_conversation(f, NULL);
        }
    }
    ck_assert_uint_gt(https, 50);
    ck_assert_uint_gt(http, 5);
    /* bimodal sizes: many small (ACKs, requests) and many MTU-sized */
    uint64_t small = 0, large = 0, all = 0;
    for (size_t i = 0; i < t.n; i++)
        for (size_t k = 0; k < t.f[i].n; k++) {
            all++;
            small += t.f[i].p[k].iplen <= 80;
            large += t.f[i].p[k].iplen >= 1400;
        }
    ck_assert_msg(small * 4 >= all && large * 5 >= all && (small + large) * 10 >= all * 6,
                  "sizes not bimodal: %llu small, %llu large of %llu",
                  (unsigned long long)small, (unsigned long long)large, (unsigned long long)all);
    ft_free(&t);
    run_free(&r);
}
END_TEST

START_TEST(categories_have_their_shapes)
{
    shaped_t s;
    find_shape(&s, "port-probe");
    int64_t ps_id = -1;
    size_t ps_flows = 0;
    const tflow_t *ps0 = NULL;
    for (size_t i = 0; i < s.t.n; i++) {
        const tflow_t *f = &s.t.f[i];
        const ef_gen_flow_info_t *g = f->truth;
        switch (g->category) {
        case EF_CAT_PORTSCAN:
            /* one scanner, one target, each port once */
            if (ps_id < 0 && !strcmp(g->shape, "port-probe"))
                ps_id = g->anomaly_id, ps0 = f;
            if (g->anomaly_id == ps_id) {
                ck_assert(!memcmp(f->client, ps0->client, 16) && !memcmp(f->server, ps0->server, 16));
                ck_assert_uint_le(f->n, 3);
                ps_flows++;
            }
            break;
        case EF_CAT_ALPHA:
            if (f->n >= 500) {
                size_t big = 0;
                for (size_t k = 0; k < f->n; k++)
                    big += f->p[k].iplen >= 1100;
                ck_assert_msg(big * 3 >= f->n, "alpha flow without heavy packets");
            }
            break;
        case EF_CAT_OTHER:
            ck_assert(f->key.proto == 1);
            for (size_t k = 0; k < f->n; k++)
                ck_assert(f->p[k].icmp_type == 11 || f->p[k].icmp_type == 3);
            break;
        case EF_CAT_NETWORKSCAN:
            ck_assert_uint_le(f->n, 3);
            break;
        default:
            break;
        }
        /* anomaly flows stay one flow for a 1 s idle timeout: no gap > 0.8 s */
        if (g->category != EF_CAT_UNLABELED)
            for (size_t k = 1; k < f->n; k++)
                ck_assert_msg(f->p[k].ts - f->p[k - 1].ts <= 800000, "%s flow idle %llu us",
                              g->shape, (unsigned long long)(f->p[k].ts - f->p[k - 1].ts));
    }
    ck_assert_uint_ge(ps_flows, 20);
    /* ports of the port scan are distinct */
    for (size_t i = 0; i < s.t.n; i++)
        for (size_t j = i + 1; j < s.t.n; j++) {
            const tflow_t *a = &s.t.f[i], *b = &s.t.f[j];
            if (a->truth->anomaly_id == ps_id && b->truth->anomaly_id == ps_id &&
                a->truth->category == EF_CAT_PORTSCAN)
                ck_assert(a->sport != b->sport);
        }
    ck_assert_uint_gt(count_shape(&s, "port-probe"), 0);
    shaped_free(&s);
}
END_TEST

/* Packets of a run, for dynamics comparisons on the same seed. */
START_TEST(dynamics_change_what_they_should)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 31);
    run_t base;
    gen_run(&base, &cfg);
    double n0 = (double)base.st.packets;

    cfg.loss = 0.2;
    run_t loss;
    gen_run(&loss, &cfg);
    double ratio = loss.st.packets / n0;
    ck_assert_msg(ratio > 0.76 && ratio < 0.84, "loss 0.2 kept %.3f of the packets", ratio);
    ck_assert_uint_gt(loss.st.lost, 0);
    run_free(&loss);

    cfg.loss = 0;
    cfg.dup = 0.1;
    run_t dup;
    gen_run(&dup, &cfg);
    ratio = dup.st.packets / n0;
    ck_assert_msg(ratio > 1.07 && ratio < 1.13, "dup 0.1 gave %.3f x the packets", ratio);
    run_free(&dup);

    cfg.dup = 0;
    cfg.one_way = 1;
    run_t ow;
    gen_run(&ow, &cfg);
    ftable_t t;
    ft_read(&t, ow.pcap);
    for (size_t i = 0; i < t.n; i++)
        ck_assert_msg(t.f[i].c2s == 0 || t.f[i].c2s == t.f[i].n, "one-way flow has both directions");
    ft_free(&t);
    ck_assert(ow.st.packets < base.st.packets * 0.8);
    run_free(&ow);

    /* reordering: data segments arrive with decreasing sequence numbers */
    cfg.one_way = 0;
    for (int on = 0; on < 2; on++) {
        cfg.reorder = on ? 0.2 : 0;
        run_t ro;
        gen_run(&ro, &cfg);
        ft_read(&t, ro.pcap);
        uint64_t backwards = 0;
        for (size_t i = 0; i < t.n; i++) {
            const tflow_t *f = &t.f[i];
            uint32_t last[2] = {0, 0};
            int have[2] = {0, 0};
            for (size_t k = 0; k < f->n; k++) {
                const pkt_t *p = &f->p[k];
                if (f->key.proto != 6 || !p->plen)
                    continue;
                int d = !pkt_from_client(f, p);
                if (have[d] && (int32_t)(p->seq - last[d]) < 0)
                    backwards++;
                last[d] = p->seq;
                have[d] = 1;
            }
        }
        if (on)
            ck_assert_uint_gt(backwards, 1000);
        else
            ck_assert_uint_eq(backwards, 0);
        ck_assert_uint_eq(ro.st.packets, base.st.packets);
        ft_free(&t);
        run_free(&ro);
    }

    /* jitter moves timestamps, not packets */
    cfg.reorder = 0;
    cfg.jitter_ms = 5;
    run_t jit;
    gen_run(&jit, &cfg);
    ratio = jit.st.packets / n0;
    ck_assert_msg(ratio > 0.98 && ratio < 1.02, "jitter changed the packet count: %.3f", ratio);
    ck_assert(!files_equal(jit.pcap, base.pcap));
    run_free(&jit);
    run_free(&base);
}
END_TEST

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

START_TEST(output_errors_name_the_file_and_leave_nothing)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 3);
    cfg.flows = 100;
    ef_err_t err;
    char *dir = eft_mkdtemp("generr");
    char *pcap = eft_path(dir, "x.pcap"), *csv = eft_path(dir, "x.csv");
    char *missing_pcap = eft_path(dir, "no/such/dir/x.pcap");
    char *missing_csv = eft_path(dir, "no/such/dir/x.csv");

    ck_assert_int_eq(ef_gen_write(&cfg, missing_pcap, csv, NULL, NULL, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, missing_pcap), "message: %s", err.msg);
    ck_assert_uint_eq(count_entries(dir), 0);

    ck_assert_int_eq(ef_gen_write(&cfg, pcap, missing_csv, NULL, NULL, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, missing_csv), "message: %s", err.msg);
    ck_assert_uint_eq(count_entries(dir), 0);

    ck_assert_int_eq(ef_gen_write(&cfg, pcap, pcap, NULL, NULL, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "different files"), "message: %s", err.msg);

    cfg.loss = 2;
    ck_assert_int_eq(ef_gen_write(&cfg, pcap, csv, NULL, NULL, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "loss"), "message: %s", err.msg);
    ck_assert_uint_eq(count_entries(dir), 0);

    cfg.loss = 0;
    ck_assert_int_eq(ef_gen_write(&cfg, pcap, csv, NULL, NULL, NULL, &err), 0);
    ck_assert_uint_eq(count_entries(dir), 2); /* no temporary files left */
    eft_rmtree(dir);
    free(dir);
    free(pcap);
    free(csv);
    free(missing_pcap);
    free(missing_csv);
}
END_TEST

/* A write that fails half-way (file size limit) is reported with the file
 * and the byte offset, and removes both temporary files. */
START_TEST(write_failure_is_reported_and_cleaned_up)
{
    ef_gen_config_t cfg;
    small_config(&cfg, 3);
    char *dir = eft_mkdtemp("genfull");
    char *pcap = eft_path(dir, "x.pcap"), *csv = eft_path(dir, "x.csv");
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {1 << 20, 1 << 20};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ef_err_t err;
    ck_assert_int_eq(ef_gen_write(&cfg, pcap, csv, NULL, NULL, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, pcap) && strstr(err.msg, "write failed at byte"),
                  "message: %s", err.msg);
    ck_assert_uint_eq(count_entries(dir), 0);
    eft_rmtree(dir);
    free(dir);
    free(pcap);
    free(csv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gen");
    TCase *api = tcase_create("api");
    tcase_add_test(api, mix_specs_parse);
    tcase_add_test(api, config_ranges_are_checked);
    tcase_add_test(api, output_errors_name_the_file_and_leave_nothing);
    tcase_add_test(api, write_failure_is_reported_and_cleaned_up);
    suite_add_tcase(s, api);
    TCase *out = tcase_create("output");
    tcase_set_timeout(out, 120);
    tcase_add_test(out, same_seed_same_bytes);
    tcase_add_test(out, capture_reads_back_through_libpcap);
    tcase_add_test(out, label_rows_match_exactly_the_anomaly_flows);
    tcase_add_test(out, labels_stay_exact_under_dynamics);
    tcase_add_test(out, dynamics_change_what_they_should);
    suite_add_tcase(s, out);
    TCase *shapes = tcase_create("shapes");
    tcase_set_timeout(shapes, 120);
    tcase_add_test(shapes, syn_scan_probes_are_pure_syns);
    tcase_add_test(shapes, ddos_sources_are_spoofed_and_unique);
    tcase_add_test(shapes, tunnel_packets_are_6in4);
    tcase_add_test(shapes, http_floods_handshake_and_get);
    tcase_add_test(shapes, benign_tcp_follows_the_protocol);
    tcase_add_test(shapes, categories_have_their_shapes);
    suite_add_tcase(s, shapes);
    return eft_run_suite(s);
}
