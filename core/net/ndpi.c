/* nDPI glue: one detection module per thread, per-flow detection state from a
 * bounded pool (see ndpi.h).
 *
 * Pool: `pool_flows` nDPI flow structs in one allocation, a stack of free
 * slot indexes, and a busy flag per slot so that freeing the module can
 * release what nDPI allocated inside slots still held. A slot is zeroed when
 * taken (nDPI expects a zeroed flow struct) and its nDPI-internal memory
 * freed when given back. */
#include "net/ndpi.h"

#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

_Static_assert(sizeof(ef_ndpi_flow_t) == 12, "the per-flow handle is 12 bytes");

struct ef_ndpi {
    struct ndpi_detection_module_struct *mod;
    unsigned char *slots;   /* pool_size x slot_bytes */
    uint32_t *free_stack;
    uint32_t nfree;
    uint8_t *busy;
    size_t slot_bytes;
    uint32_t max_packets;
    int guess;
    ef_ndpi_stats_t stats;
};

void ef_ndpi_config_default(ef_ndpi_config_t *cfg)
{
    cfg->pool_flows = 16384;
    cfg->max_packets = 20;
    cfg->guess = 1;
}

static struct ndpi_flow_struct *slot_at(const ef_ndpi_t *n, uint32_t idx)
{
    return (struct ndpi_flow_struct *)(n->slots + (size_t)idx * n->slot_bytes);
}

ef_ndpi_t *ef_ndpi_new(const ef_ndpi_config_t *cfg, ef_err_t *err)
{
    ef_ndpi_config_t def;
    if (!cfg) {
        ef_ndpi_config_default(&def);
        cfg = &def;
    }
    if (cfg->pool_flows == 0 || cfg->pool_flows > (1u << 24)) {
        ef_err_set(err, "nDPI: pool_flows %u out of range 1..%u", cfg->pool_flows, 1u << 24);
        return NULL;
    }
    if (cfg->max_packets == 0 || cfg->max_packets > 255) {
        ef_err_set(err, "nDPI: max_packets %u out of range 1..255", cfg->max_packets);
        return NULL;
    }
    ef_ndpi_t *n = calloc(1, sizeof *n);
    if (!n) {
        ef_err_set(err, "nDPI: out of memory");
        return NULL;
    }
    /* Keep slots 16-byte aligned whatever nDPI's struct size is. */
    n->slot_bytes = ((size_t)ndpi_detection_get_sizeof_ndpi_flow_struct() + 15u) & ~(size_t)15u;
    n->max_packets = cfg->max_packets;
    n->guess = cfg->guess ? 1 : 0;
    n->slots = aligned_alloc(16, n->slot_bytes * cfg->pool_flows);
    n->free_stack = malloc(sizeof *n->free_stack * cfg->pool_flows);
    n->busy = calloc(cfg->pool_flows, 1);
    if (!n->slots || !n->free_stack || !n->busy) {
        ef_err_set(err, "nDPI: cannot allocate a pool of %u flows (%zu bytes each)",
                   cfg->pool_flows, n->slot_bytes);
        ef_ndpi_free(n);
        return NULL;
    }
    n->mod = ndpi_init_detection_module(ndpi_no_prefs);
    if (!n->mod) {
        ef_err_set(err, "nDPI: cannot initialise the detection module");
        ef_ndpi_free(n);
        return NULL;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(n->mod, &all);
    ndpi_finalize_initialization(n->mod);
    /* Hand out low indexes first. */
    for (uint32_t i = 0; i < cfg->pool_flows; i++)
        n->free_stack[i] = cfg->pool_flows - 1 - i;
    n->nfree = cfg->pool_flows;
    n->stats.pool_size = cfg->pool_flows;
    n->stats.slot_bytes = n->slot_bytes;
    return n;
}

void ef_ndpi_free(ef_ndpi_t *n)
{
    if (!n)
        return;
    if (n->slots && n->busy)
        for (uint64_t i = 0; i < n->stats.pool_size; i++)
            if (n->busy[i])
                ndpi_free_flow_data(slot_at(n, (uint32_t)i));
    if (n->mod)
        ndpi_exit_detection_module(n->mod);
    free(n->slots);
    free(n->free_stack);
    free(n->busy);
    free(n);
}

static void release_slot(ef_ndpi_t *n, ef_ndpi_flow_t *f)
{
    uint32_t idx = f->slot - 1;
    ndpi_free_flow_data(slot_at(n, idx));
    n->busy[idx] = 0;
    n->free_stack[n->nfree++] = idx;
    n->stats.in_use--;
    f->slot = 0;
}

/* Record the final result and give the slot back. */
static void finish(ef_ndpi_t *n, ef_ndpi_flow_t *f, ndpi_protocol proto, int guessed)
{
    f->master = proto.master_protocol;
    f->app = proto.app_protocol;
    f->guessed = (uint8_t)guessed;
    f->state = EF_NDPI_DONE;
    if (f->master == NDPI_PROTOCOL_UNKNOWN && f->app == NDPI_PROTOCOL_UNKNOWN)
        n->stats.unknown++;
    else if (guessed)
        n->stats.guessed++;
    else
        n->stats.detected++;
    release_slot(n, f);
}

static void give_up(ef_ndpi_t *n, ef_ndpi_flow_t *f)
{
    uint8_t was_guessed = 0;
    ndpi_protocol proto = ndpi_detection_giveup(n->mod, slot_at(n, f->slot - 1),
                                                (uint8_t)n->guess, &was_guessed);
    finish(n, f, proto, was_guessed != 0);
}

static int take_slot(ef_ndpi_t *n, ef_ndpi_flow_t *f)
{
    if (n->nfree == 0) {
        f->state = EF_NDPI_NO_SLOT;
        n->stats.no_slot++;
        return 0;
    }
    uint32_t idx = n->free_stack[--n->nfree];
    memset(slot_at(n, idx), 0, n->slot_bytes);
    n->busy[idx] = 1;
    f->slot = idx + 1;
    f->state = EF_NDPI_RUNNING;
    f->packets = 0;
    n->stats.flows++;
    if (++n->stats.in_use > n->stats.peak_in_use)
        n->stats.peak_in_use = n->stats.in_use;
    return 1;
}

int ef_ndpi_packet(ef_ndpi_t *n, ef_ndpi_flow_t *f, const ef_packet_t *p)
{
    if (f->state == EF_NDPI_IDLE && !take_slot(n, f))
        return 0;
    if (f->state != EF_NDPI_RUNNING)
        return 0;
    if (p->flags & EF_PKT_FRAG_LATER)
        return 1;
    struct ndpi_flow_struct *flow = slot_at(n, f->slot - 1);
    uint16_t len = p->l3_caplen > 0xffffu ? 0xffffu : (uint16_t)p->l3_caplen;
    ndpi_protocol proto = ndpi_detection_process_packet(n->mod, flow, p->l3, len, p->ts_us / 1000u);
    f->packets++;
    n->stats.packets++;
    int known = proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
                proto.master_protocol != NDPI_PROTOCOL_UNKNOWN;
    if (known && !ndpi_extra_dissection_possible(n->mod, flow)) {
        finish(n, f, proto, 0);
        return 0;
    }
    if (f->packets >= n->max_packets) {
        if (known)
            finish(n, f, proto, 0);
        else
            give_up(n, f);
        return 0;
    }
    return 1;
}

void ef_ndpi_flow_end(ef_ndpi_t *n, ef_ndpi_flow_t *f)
{
    if (f->state == EF_NDPI_RUNNING)
        give_up(n, f);
}

const char *ef_ndpi_flow_name(const ef_ndpi_t *n, const ef_ndpi_flow_t *f, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    ndpi_protocol proto;
    memset(&proto, 0, sizeof proto);
    proto.master_protocol = f->master;
    proto.app_protocol = f->app;
    ndpi_protocol2name(n->mod, proto, buf, len > 0xffffu ? 0xffffu : (u_int)len);
    buf[len - 1] = '\0';
    return buf;
}

const ef_ndpi_stats_t *ef_ndpi_stats(const ef_ndpi_t *n)
{
    return &n->stats;
}
