/* Bidirectional flow table with a memory cap (see flow.h).
 *
 * Layout: one allocation holds
 *   entries  capacity x stride bytes: ef_flow_t rounded to 16, then the
 *            caller's ext storage rounded to 16;
 *   frags    frag_slots first-fragment records (power of two);
 *   buckets  a power-of-two array of uint32 entry indexes (>= capacity).
 * Entries are named by index; UINT32_MAX (NIL) ends every chain.
 *
 * Invariants:
 *   - every entry is on exactly one of: the free list (linked by hnext_) or
 *     a bucket chain (hnext_) AND the LRU list of its state (lprev_/lnext_);
 *   - each LRU list is ordered by last_ts_us, oldest at the head, because
 *     last_ts_us is the table clock at the flow's latest packet and the clock
 *     never goes back. So the head of each list is the next flow to time out
 *     in that state, and the oldest head of the three lists is the least
 *     recently seen flow;
 *   - deadline[s] is the head of list s's last_ts + timeout (UINT64_MAX when
 *     empty), next_deadline their minimum: one compare per packet tells
 *     whether anything expired.
 * The bucket hash is keyed with a per-table random seed so that crafted
 * addresses cannot pile flows into one chain; nothing observable depends on
 * it (ids use a fixed-key hash, order uses the LRU lists). */
#include "net/flow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "net/features.h"

_Static_assert(sizeof(ef_flow_key_t) == 44, "key layout is hashed as 40 + 4 bytes");
_Static_assert(sizeof(ef_flow_t) + sizeof(ef_features_t) <= 256,
               "per-flow state (flow + first-20 features) must stay within 256 bytes");

#define NIL UINT32_MAX
/* How long a first fragment's ports are remembered (Linux ipfrag_time). */
#define FRAG_LIFETIME_US 30000000u
/* Slots probed per fragment lookup. */
#define FRAG_WAYS 4u
#define FRAG_SLOTS_MAX (1u << 20)
#define EXT_SIZE_MAX (1u << 20)

enum { PROTO_TCP = 6, PROTO_UDP = 17 };
/* fin_seen_ bits */
enum { FIN_CLIENT = 1, FIN_SERVER = 2, CLOSED_BY_RST = 4 };

typedef struct lru {
    uint32_t head, tail;
} lru_t;

typedef struct frag_slot {
    uint8_t src[16], dst[16];
    uint64_t ts_us;
    uint32_t id, vlan;
    uint16_t sport, dport;
    uint8_t proto, ip_version, used, pad_;
} frag_slot_t;

struct ef_flow_table {
    unsigned char *entries;
    uint32_t *buckets;
    frag_slot_t *frags;
    size_t stride;
    uint32_t capacity;
    uint32_t bucket_mask;
    uint32_t nbuckets;
    uint32_t frag_mask;     /* frag slots - 1; unused when frags == NULL */
    uint32_t free_head;
    uint32_t ext_size;
    uint64_t now_us;
    uint64_t next_deadline;
    uint64_t deadline[EF_FLOW__STATES];
    uint64_t timeout_us[EF_FLOW__STATES];
    lru_t lru[EF_FLOW__STATES];
    uint64_t seed[4];
    ef_flow_end_fn on_end;
    void *user;
    ef_flow_stats_t stats;
};

static const char *const reason_names[EF_END__COUNT] = {
    "none", "fin", "rst", "timeout", "evicted", "shutdown",
};
static const char *const state_names[EF_FLOW__STATES] = {"new", "established", "closed"};

const char *ef_flow_end_reason_name(ef_flow_end_reason_t r)
{
    return (unsigned)r < EF_END__COUNT ? reason_names[r] : "invalid";
}

const char *ef_flow_state_name(ef_flow_state_t s)
{
    return (unsigned)s < EF_FLOW__STATES ? state_names[s] : "invalid";
}

void ef_flow_config_default(ef_flow_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->memcap = 64u << 20;
    cfg->ext_size = 0;
    cfg->frag_slots = 4096;
    for (int s = 0; s < EF_FLOW__STATES; s++)
        cfg->timeout_us[s] = 1000000u;
}

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

static inline uint64_t load64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* 64x64 -> 128-bit multiply folded to 64 bits: a strong, cheap mixer. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A key as machine words: ef_flow_key_t's 44 bytes read as 5 x uint64 and
 * one uint32. The packet path builds these in registers (a key assembled
 * in memory field by field and read back as words stalls on store
 * forwarding) and only stores them into the entry of a new flow. */
typedef struct kw {
    uint64_t w[5];
    uint32_t t;
} kw_t;

static inline kw_t key_words(const ef_flow_key_t *k)
{
    const unsigned char *b = (const unsigned char *)k;
    kw_t w;
    for (int i = 0; i < 5; i++)
        w.w[i] = load64(b + 8 * i);
    w.t = load32(b + 40);
    return w;
}

static inline void key_store(ef_flow_key_t *k, const kw_t *w)
{
    unsigned char *b = (unsigned char *)k;
    memcpy(b, w->w, 40);
    memcpy(b + 40, &w->t, 4);
}

static inline uint64_t kw_hash(const kw_t *k, const uint64_t s[4])
{
    uint64_t x = mum(k->w[0] ^ s[0], k->w[1] ^ s[1]);
    uint64_t y = mum(k->w[2] ^ s[2], k->w[3] ^ s[3]);
    uint64_t z = mum(k->w[4] ^ s[1], (uint64_t)k->t ^ s[2]);
    return mum(x ^ z ^ s[3], y ^ s[0]);
}

static inline uint64_t key_hash(const ef_flow_key_t *k, const uint64_t s[4])
{
    kw_t w = key_words(k);
    return kw_hash(&w, s);
}

static inline int kw_eq(const ef_flow_key_t *a, const kw_t *k)
{
    const unsigned char *x = (const unsigned char *)a;
    uint64_t d = (load64(x) ^ k->w[0]) | (load64(x + 8) ^ k->w[1]) |
                 (load64(x + 16) ^ k->w[2]) | (load64(x + 24) ^ k->w[3]) |
                 (load64(x + 32) ^ k->w[4]) | (load32(x + 40) ^ k->t);
    return d == 0;
}

/* Fixed keys (hex digits of pi) for everything that must be the same in
 * every table and every run: flow ids and shard hashes. */
static const uint64_t fixed_seed[4] = {0x243f6a8885a308d3u, 0x13198a2e03707344u,
                                       0xa4093822299f31d0u, 0x082efa98ec4e6c89u};

static uint64_t flow_id(const ef_flow_key_t *k, uint64_t first_ts_us)
{
    uint64_t h = mum(key_hash(k, fixed_seed) ^ first_ts_us, 0x9e3779b97f4a7c15u);
    /* 53 bits: exact in JSON numbers (doubles) */
    h &= (1ull << 53) - 1;
    return h ? h : 1;
}

uint32_t ef_flow_shard_hash(const ef_packet_t *p)
{
    uint64_t a = mum(load64(p->src) ^ fixed_seed[0], load64(p->src + 8) ^ fixed_seed[1]);
    uint64_t b = mum(load64(p->dst) ^ fixed_seed[0], load64(p->dst + 8) ^ fixed_seed[1]);
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t h = mum(lo ^ fixed_seed[2],
                     hi ^ fixed_seed[3] ^ ((uint64_t)p->vlan << 8 | p->proto));
    return (uint32_t)(h ^ (h >> 32));
}

static void random_seed(uint64_t seed[4], const void *salt)
{
    if (getrandom(seed, 4 * sizeof seed[0], GRND_NONBLOCK) == (ssize_t)(4 * sizeof seed[0]))
        return;
    /* No entropy yet (early boot): clock and address; only chain balance
     * under attack depends on it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)(uintptr_t)salt;
    for (int i = 0; i < 4; i++)
        seed[i] = x = mum(x ^ fixed_seed[i], 0x9e3779b97f4a7c15u);
}

/* ------------------------------------------------------------------ */
/* Entries, buckets, LRU lists                                         */
/* ------------------------------------------------------------------ */

static inline ef_flow_t *ent(const ef_flow_table_t *t, uint32_t i)
{
    return (ef_flow_t *)(t->entries + (size_t)i * t->stride);
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void refresh_deadline(ef_flow_table_t *t, int s)
{
    uint32_t h = t->lru[s].head;
    t->deadline[s] = h == NIL ? UINT64_MAX : sat_add(ent(t, h)->last_ts_us, t->timeout_us[s]);
    uint64_t m = t->deadline[0];
    for (int i = 1; i < EF_FLOW__STATES; i++)
        if (t->deadline[i] < m)
            m = t->deadline[i];
    t->next_deadline = m;
}

static void lru_unlink(ef_flow_table_t *t, ef_flow_t *f)
{
    lru_t *l = &t->lru[f->list_];
    uint32_t prev = f->lprev_, next = f->lnext_;
    if (next != NIL)
        ent(t, next)->lprev_ = prev;
    else
        l->tail = prev;
    if (prev != NIL) {
        ent(t, prev)->lnext_ = next;
    } else {
        l->head = next;
        refresh_deadline(t, f->list_);
    }
}

static void lru_push(ef_flow_table_t *t, int s, uint32_t idx, ef_flow_t *f)
{
    lru_t *l = &t->lru[s];
    f->list_ = (uint8_t)s;
    f->lnext_ = NIL;
    f->lprev_ = l->tail;
    if (l->tail != NIL) {
        ent(t, l->tail)->lnext_ = idx;
        l->tail = idx;
    } else {
        l->head = l->tail = idx;
        refresh_deadline(t, s);
    }
}

static void chain_unlink(ef_flow_table_t *t, uint32_t idx, ef_flow_t *f)
{
    uint32_t *link = &t->buckets[key_hash(&f->key, t->seed) & t->bucket_mask];
    while (*link != idx)
        link = &ent(t, *link)->hnext_;
    *link = f->hnext_;
}

static ef_flow_end_reason_t closed_reason(const ef_flow_t *f)
{
    return (f->fin_seen_ & CLOSED_BY_RST) ? EF_END_RST : EF_END_FIN;
}

/* A closed flow always ends as FIN/RST, whatever removes it. */
static ef_flow_end_reason_t reason_for(const ef_flow_t *f, ef_flow_end_reason_t r)
{
    return f->state == EF_FLOW_CLOSED ? closed_reason(f) : r;
}

static void end_flow(ef_flow_table_t *t, uint32_t idx, ef_flow_end_reason_t reason)
{
    ef_flow_t *f = ent(t, idx);
    chain_unlink(t, idx, f);
    lru_unlink(t, f);
    f->end_reason = (uint8_t)reason;
    t->stats.ended[reason]++;
    t->stats.active--;
    if (t->on_end)
        t->on_end(t->user, f);
    f->hnext_ = t->free_head;
    t->free_head = idx;
}

/* List whose head is the least recently seen flow; ties prefer closed, then
 * new, then established flows. -1 when the table is empty. */
static int oldest_list(const ef_flow_table_t *t)
{
    static const int order[EF_FLOW__STATES] = {EF_FLOW_CLOSED, EF_FLOW_NEW, EF_FLOW_ESTABLISHED};
    int best = -1;
    uint64_t best_ts = 0;
    for (int i = 0; i < EF_FLOW__STATES; i++) {
        int s = order[i];
        uint32_t h = t->lru[s].head;
        if (h == NIL)
            continue;
        uint64_t ts = ent(t, h)->last_ts_us;
        if (best < 0 || ts < best_ts) {
            best = s;
            best_ts = ts;
        }
    }
    return best;
}

static void expire_until(ef_flow_table_t *t, uint64_t now)
{
    while (t->next_deadline < now) {
        int s = 0;
        for (int i = 1; i < EF_FLOW__STATES; i++)
            if (t->deadline[i] < t->deadline[s])
                s = i;
        uint32_t idx = t->lru[s].head;
        end_flow(t, idx, reason_for(ent(t, idx), EF_END_TIMEOUT));
    }
}

void ef_flow_table_expire(ef_flow_table_t *t, uint64_t now_us)
{
    if (now_us > t->now_us)
        t->now_us = now_us;
    expire_until(t, t->now_us);
}

void ef_flow_table_flush(ef_flow_table_t *t)
{
    int s;
    while ((s = oldest_list(t)) >= 0) {
        uint32_t idx = t->lru[s].head;
        end_flow(t, idx, reason_for(ent(t, idx), EF_END_SHUTDOWN));
    }
}

/* ------------------------------------------------------------------ */
/* First-fragment memory                                               */
/* ------------------------------------------------------------------ */

static uint64_t frag_hash(const ef_flow_table_t *t, const ef_packet_t *p)
{
    uint64_t a = mum(load64(p->src) ^ t->seed[0], load64(p->src + 8) ^ t->seed[1]);
    uint64_t b = mum(load64(p->dst) ^ t->seed[2], load64(p->dst + 8) ^ t->seed[3]);
    uint64_t c = (uint64_t)p->frag_id << 32 | (uint64_t)p->vlan << 8 | p->proto;
    return mum(a ^ c ^ t->seed[1], b ^ t->seed[0]);
}

static int frag_match(const frag_slot_t *s, const ef_packet_t *p)
{
    return s->used && s->id == p->frag_id && s->proto == p->proto && s->vlan == p->vlan &&
           s->ip_version == p->ip_version && memcmp(s->src, p->src, 16) == 0 &&
           memcmp(s->dst, p->dst, 16) == 0;
}

static int frag_live(const ef_flow_table_t *t, const frag_slot_t *s)
{
    return s->used && t->now_us - s->ts_us <= FRAG_LIFETIME_US;
}

/* A first fragment with ports: remember them for its later fragments. The
 * victim among the probed slots is a matching, free or stale one, else the
 * oldest. */
static void frag_remember(ef_flow_table_t *t, const ef_packet_t *p)
{
    if (!t->frags)
        return;
    uint32_t base = (uint32_t)frag_hash(t, p), victim = NIL;
    uint32_t ways = t->frag_mask + 1 < FRAG_WAYS ? t->frag_mask + 1 : FRAG_WAYS;
    for (uint32_t i = 0; i < ways; i++) {
        uint32_t j = (base + i) & t->frag_mask;
        frag_slot_t *s = &t->frags[j];
        if (frag_match(s, p) || !frag_live(t, s)) {
            victim = j;
            break;
        }
        if (victim == NIL || s->ts_us < t->frags[victim].ts_us)
            victim = j;
    }
    frag_slot_t *s = &t->frags[victim];
    memcpy(s->src, p->src, 16);
    memcpy(s->dst, p->dst, 16);
    s->ts_us = t->now_us;
    s->id = p->frag_id;
    s->vlan = p->vlan;
    s->sport = p->sport;
    s->dport = p->dport;
    s->proto = p->proto;
    s->ip_version = p->ip_version;
    s->used = 1;
}

static int frag_ports(const ef_flow_table_t *t, const ef_packet_t *p, uint16_t *sport,
                      uint16_t *dport)
{
    if (!t->frags)
        return 0;
    uint32_t base = (uint32_t)frag_hash(t, p);
    uint32_t ways = t->frag_mask + 1 < FRAG_WAYS ? t->frag_mask + 1 : FRAG_WAYS;
    for (uint32_t i = 0; i < ways; i++) {
        const frag_slot_t *s = &t->frags[(base + i) & t->frag_mask];
        if (frag_match(s, p) && frag_live(t, s)) {
            *sport = s->sport;
            *dport = s->dport;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* Most flows that fit in `avail` bytes with buckets = a power of two at
 * least the flow count (load factor <= 1). */
static uint64_t fit_capacity(uint64_t avail, uint64_t stride, uint64_t *nbuckets)
{
    uint64_t best = 0, best_b = 1;
    for (uint64_t b = 1; b <= (1ull << 31); b <<= 1) {
        if (b * 4 > avail)
            break;
        uint64_t n = (avail - b * 4) / stride;
        if (n > b)
            n = b;
        if (n > best) {
            best = n;
            best_b = b;
        }
    }
    if (best > NIL - 1)
        best = NIL - 1;
    *nbuckets = best_b;
    return best;
}

ef_flow_table_t *ef_flow_table_new(const ef_flow_config_t *cfg, ef_flow_end_fn on_end,
                                   void *user, ef_err_t *err)
{
    ef_flow_config_t def;
    if (!cfg) {
        ef_flow_config_default(&def);
        cfg = &def;
    }
    if (cfg->ext_size > EXT_SIZE_MAX) {
        ef_err_set(err, "flow table: ext_size %u bytes is above the %u-byte limit",
                   cfg->ext_size, EXT_SIZE_MAX);
        return NULL;
    }
    if (cfg->frag_slots > FRAG_SLOTS_MAX) {
        ef_err_set(err, "flow table: frag_slots %u is above the limit of %u", cfg->frag_slots,
                   FRAG_SLOTS_MAX);
        return NULL;
    }
    size_t stride = round16(sizeof(ef_flow_t)) + round16(cfg->ext_size);
    uint64_t nfrag = cfg->frag_slots ? pow2_at_least(cfg->frag_slots) : 0;
    uint64_t frag_bytes = nfrag * sizeof(frag_slot_t);
    uint64_t one_flow = stride + 4 + frag_bytes;
    if (cfg->memcap < one_flow) {
        ef_err_set(err,
                   "flow table: memcap %llu bytes holds no flow (need at least %llu: %zu per "
                   "flow + 4 per bucket + %llu for %llu fragment slots)",
                   (unsigned long long)cfg->memcap, (unsigned long long)one_flow, stride,
                   (unsigned long long)frag_bytes, (unsigned long long)nfrag);
        return NULL;
    }
    uint64_t nbuckets;
    uint64_t cap = fit_capacity(cfg->memcap - frag_bytes, stride, &nbuckets);
    ef_flow_table_t *t = calloc(1, sizeof *t);
    size_t bytes = (size_t)(cap * stride + frag_bytes + nbuckets * 4);
    unsigned char *mem = t ? aligned_alloc(64, (bytes + 63) & ~(size_t)63) : NULL;
    if (!mem) {
        free(t);
        ef_err_set(err, "flow table: cannot allocate %zu bytes (memcap %llu)", bytes,
                   (unsigned long long)cfg->memcap);
        return NULL;
    }
    t->entries = mem;
    t->frags = nfrag ? (frag_slot_t *)(mem + cap * stride) : NULL;
    t->buckets = (uint32_t *)(mem + cap * stride + frag_bytes);
    t->stride = stride;
    t->capacity = (uint32_t)cap;
    t->nbuckets = (uint32_t)nbuckets;
    t->bucket_mask = (uint32_t)(nbuckets - 1);
    t->frag_mask = nfrag ? (uint32_t)(nfrag - 1) : 0;
    t->ext_size = cfg->ext_size;
    t->on_end = on_end;
    t->user = user;
    memset(t->buckets, 0xff, nbuckets * 4); /* NIL */
    if (nfrag)
        memset(t->frags, 0, frag_bytes);
    /* Free list in index order, so the first flows take the first entries. */
    for (uint32_t i = 0; i < cap; i++)
        ent(t, i)->hnext_ = i + 1 < cap ? i + 1 : NIL;
    t->free_head = 0;
    for (int s = 0; s < EF_FLOW__STATES; s++) {
        t->lru[s].head = t->lru[s].tail = NIL;
        t->timeout_us[s] = cfg->timeout_us[s];
        t->deadline[s] = UINT64_MAX;
    }
    t->next_deadline = UINT64_MAX;
    random_seed(t->seed, t);
    t->stats.capacity = cap;
    return t;
}

void ef_flow_table_free(ef_flow_table_t *t)
{
    if (!t)
        return;
    free(t->entries);
    free(t);
}

const ef_flow_stats_t *ef_flow_table_stats(const ef_flow_table_t *t)
{
    return &t->stats;
}

size_t ef_flow_table_bytes_per_flow(const ef_flow_table_t *t)
{
    return t->stride + ((size_t)t->nbuckets * 4 + t->capacity - 1) / t->capacity;
}

/* ------------------------------------------------------------------ */
/* The packet path                                                     */
/* ------------------------------------------------------------------ */

static inline uint64_t be64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(load64(p));
#else
    return load64(p);
#endif
}

/* Normalised key words; returns the key side (0/1) of the packet's sender.
 * Side 0 is the numerically lower (address, port) pair. */
static inline int make_key(const ef_packet_t *p, uint16_t sport, uint16_t dport, kw_t *k)
{
    uint64_t s0 = load64(p->src), s1 = load64(p->src + 8);
    uint64_t d0 = load64(p->dst), d1 = load64(p->dst + 8);
    uint64_t bs0 = be64(p->src), bd0 = be64(p->dst);
    int swap;
    if (bs0 != bd0) {
        swap = bs0 > bd0;
    } else {
        uint64_t bs1 = be64(p->src + 8), bd1 = be64(p->dst + 8);
        swap = bs1 != bd1 ? bs1 > bd1 : sport > dport;
    }
    k->w[0] = swap ? d0 : s0;
    k->w[1] = swap ? d1 : s1;
    k->w[2] = swap ? s0 : d0;
    k->w[3] = swap ? s1 : d1;
    uint16_t port0 = swap ? dport : sport, port1 = swap ? sport : dport;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    k->w[4] = (uint64_t)port0 | (uint64_t)port1 << 16 | (uint64_t)p->vlan << 32;
    k->t = (uint32_t)p->proto | (uint32_t)p->ip_version << 8;
#else
    ef_flow_key_t key;
    memcpy(key.addr[0], &k->w[0], 16);
    memcpy(key.addr[1], &k->w[2], 16);
    key.port[0] = port0;
    key.port[1] = port1;
    key.vlan = p->vlan;
    key.proto = p->proto;
    key.ip_version = p->ip_version;
    key.pad_[0] = key.pad_[1] = 0;
    *k = key_words(&key);
#endif
    return swap;
}

static inline int is_pure_syn(uint8_t flags)
{
    return (flags & (EF_TCP_SYN | EF_TCP_ACK | EF_TCP_RST | EF_TCP_FIN)) == EF_TCP_SYN;
}

static inline int is_syn_ack(uint8_t flags)
{
    return (flags & (EF_TCP_SYN | EF_TCP_ACK)) == (EF_TCP_SYN | EF_TCP_ACK);
}

static ef_flow_t *create_flow(ef_flow_table_t *t, const kw_t *k, uint32_t bucket,
                              int sender, uint8_t tcp_flags, uint64_t ts_us, uint32_t *idx_out)
{
    if (t->free_head == NIL) {
        int s = oldest_list(t);
        uint32_t victim = t->lru[s].head;
        end_flow(t, victim, reason_for(ent(t, victim), EF_END_EVICTED));
    }
    uint32_t idx = t->free_head;
    ef_flow_t *f = ent(t, idx);
    t->free_head = f->hnext_;
    key_store(&f->key, k);
    /* The client is the SYN's sender, the SYN+ACK's receiver, else the
     * first packet's sender. */
    f->client = (uint8_t)(is_syn_ack(tcp_flags) ? !sender : sender);
    f->state = EF_FLOW_NEW;
    f->tcp_seen = 0;
    f->end_reason = EF_END_NONE;
    f->pkts[0] = f->pkts[1] = 0;
    f->id = flow_id(&f->key, ts_us);
    f->first_ts_us = ts_us;
    f->last_ts_us = t->now_us;
    f->fin_seen_ = 0;
    f->hnext_ = t->buckets[bucket];
    t->buckets[bucket] = idx;
    if (t->ext_size)
        memset(ef_flow_ext(f), 0, t->ext_size);
    lru_push(t, EF_FLOW_NEW, idx, f);
    t->stats.created++;
    if (++t->stats.active > t->stats.peak_active)
        t->stats.peak_active = t->stats.active;
    *idx_out = idx;
    return f;
}

static inline void update_flow(ef_flow_table_t *t, uint32_t idx, ef_flow_t *f, int c2s,
                               uint8_t tcp_flags)
{
    f->pkts[!c2s]++;
    int state = f->state;
    if (tcp_flags) {
        f->tcp_seen |= tcp_flags;
        if (state != EF_FLOW_CLOSED) {
            if (tcp_flags & EF_TCP_RST)
                f->fin_seen_ |= CLOSED_BY_RST;
            if (tcp_flags & EF_TCP_FIN)
                f->fin_seen_ |= c2s ? FIN_CLIENT : FIN_SERVER;
        }
    }
    if (state != EF_FLOW_CLOSED) {
        if ((f->fin_seen_ & CLOSED_BY_RST) ||
            (f->fin_seen_ & (FIN_CLIENT | FIN_SERVER)) == (FIN_CLIENT | FIN_SERVER))
            state = EF_FLOW_CLOSED;
        else if (f->pkts[0] && f->pkts[1])
            state = EF_FLOW_ESTABLISHED;
    }
    f->last_ts_us = t->now_us;
    if (state != f->state || t->lru[state].tail != idx) {
        lru_unlink(t, f);
        f->state = (uint8_t)state;
        lru_push(t, state, idx, f);
    } else if (t->lru[state].head == idx) {
        refresh_deadline(t, state); /* alone in its list: its deadline moved */
    }
}

static inline ef_flow_t *find_flow(const ef_flow_table_t *t, uint32_t bucket, const kw_t *k,
                                   uint32_t *idx_out)
{
    for (uint32_t i = t->buckets[bucket]; i != NIL;) {
        ef_flow_t *f = ent(t, i);
        if (kw_eq(&f->key, k)) {
            *idx_out = i;
            return f;
        }
        i = f->hnext_;
    }
    return NULL;
}

void ef_flow_table_prefetch(const ef_flow_table_t *t, const ef_packet_t *p)
{
    kw_t k;
    make_key(p, p->sport, p->dport, &k);
    __builtin_prefetch(&t->buckets[(uint32_t)kw_hash(&k, t->seed) & t->bucket_mask]);
}

int ef_flow_table_track(ef_flow_table_t *t, const ef_packet_t *p, ef_flow_hit_t *hit)
{
    if (p->ts_us > t->now_us)
        t->now_us = p->ts_us;
    if (t->next_deadline < t->now_us)
        expire_until(t, t->now_us);

    uint16_t sport = p->sport, dport = p->dport;
    if (p->flags & EF_PKT_FRAG) {
        if (p->flags & EF_PKT_FRAG_LATER) {
            /* Port-less protocols key the same without the first fragment. */
            if ((p->proto == PROTO_TCP || p->proto == PROTO_UDP) &&
                !frag_ports(t, p, &sport, &dport)) {
                t->stats.frag_orphans++;
                return -1;
            }
            t->stats.frag_later++;
        } else if (p->flags & EF_PKT_HAS_PORTS) {
            frag_remember(t, p);
        }
    }

    kw_t k;
    int sender = make_key(p, sport, dport, &k);
    uint32_t bucket = (uint32_t)kw_hash(&k, t->seed) & t->bucket_mask;
    uint8_t tcp_flags = p->proto == PROTO_TCP ? p->tcp_flags : 0;
    uint32_t idx;
    ef_flow_t *f = find_flow(t, bucket, &k, &idx);
    int is_new = 0;
    if (f && f->state == EF_FLOW_CLOSED && is_pure_syn(tcp_flags)) {
        end_flow(t, idx, closed_reason(f)); /* a new connection reuses the ports */
        f = NULL;
    }
    if (!f) {
        f = create_flow(t, &k, bucket, sender, tcp_flags, p->ts_us, &idx);
        is_new = 1;
    }
    int c2s = sender == f->client;
    update_flow(t, idx, f, c2s, tcp_flags);
    t->stats.packets++;
    hit->flow = f;
    hit->c2s = (uint8_t)c2s;
    hit->is_new = (uint8_t)is_new;
    return 0;
}
