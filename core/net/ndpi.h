/* Application protocol of a flow with nDPI (Debian's libndpi 4.2), from its
 * first packets only.
 *
 * Usage, per worker thread:
 *     ef_ndpi_t *nd = ef_ndpi_new(&cfg, &err);        // once per thread
 *     // per flow: an ef_ndpi_flow_t inside the flow's ext storage, zeroed
 *     // at flow creation (the flow table does that)
 *     ef_ndpi_packet(nd, &handle, &pkt);               // every packet; cheap
 *                                                      // once the flow is done
 *     ef_ndpi_flow_end(nd, &handle);                   // in the flow end callback
 *     ef_ndpi_flow_name(nd, &handle, buf, sizeof buf); // "TLS.Google", "DNS", "Unknown"
 *     ef_ndpi_free(nd);
 *
 * Per-flow detection state (nDPI's ndpi_flow_struct, ~700 bytes) comes from
 * a pool preallocated at creation with room for `pool_flows` flows in
 * detection at once. A flow takes a slot at its first packet and gives it
 * back as soon as its result is final: nDPI detected the protocol (and has
 * nothing more to dissect), or `max_packets` packets were fed (then nDPI's
 * giveup decides, guessing from ports/addresses when `guess` is on), or the
 * flow ended (ef_ndpi_flow_end). When the pool is empty, a new flow gets no
 * detection (state EF_NDPI_NO_SLOT, name "Unknown") and is counted.
 *
 * Later IP fragments are not fed (they carry no transport header).
 * Our code allocates nothing per packet; nDPI itself may allocate inside
 * a flow's state (e.g. TLS certificate buffers), released with the slot.
 *
 * Threads: an ef_ndpi_t and the flows fed to it belong to one thread. */
#ifndef EF_NET_NDPI_H
#define EF_NET_NDPI_H

#include <stddef.h>
#include <stdint.h>

#include "net/decode.h"
#include "util/err.h"

typedef struct ef_ndpi ef_ndpi_t;

typedef enum ef_ndpi_state {
    EF_NDPI_IDLE = 0,   /* no packet fed yet (a zeroed handle) */
    EF_NDPI_RUNNING,    /* holds a pool slot, detection in progress */
    EF_NDPI_DONE,       /* result final, slot released */
    EF_NDPI_NO_SLOT,    /* the pool was empty at the flow's first packet */
} ef_ndpi_state_t;

/* Per-flow handle: plain data, 12 bytes, lives in the flow's ext storage.
 * Zero-initialised = IDLE. */
typedef struct ef_ndpi_flow {
    uint32_t slot;      /* pool index + 1 while RUNNING, else 0 */
    uint16_t master;    /* nDPI master protocol id (0: unknown), e.g. TLS */
    uint16_t app;       /* nDPI application protocol id, e.g. Google */
    uint8_t state;      /* ef_ndpi_state_t */
    uint8_t packets;    /* packets fed to nDPI */
    uint8_t guessed;    /* 1: result from giveup's guess, not from payload */
    uint8_t pad_;
} ef_ndpi_flow_t;

typedef struct ef_ndpi_config {
    uint32_t pool_flows;   /* flows in detection at once (default 16384, about
                              11 MB per thread with nDPI 4.2's 688-byte state) */
    uint32_t max_packets;  /* packets fed per flow at most, 1..255 (default 20) */
    int guess;             /* giveup may guess by port/address (default 1) */
} ef_ndpi_config_t;

void ef_ndpi_config_default(ef_ndpi_config_t *cfg);

/* One detection module (all protocols enabled) and the slot pool. NULL with
 * err set on a bad config or when nDPI or the pool cannot be allocated. */
ef_ndpi_t *ef_ndpi_new(const ef_ndpi_config_t *cfg, ef_err_t *err);
/* Frees the module and the pool, including slots still held. */
void ef_ndpi_free(ef_ndpi_t *n);

/* Feed one decoded packet of the flow (p->l3 must still point into the
 * frame). Returns 1 while the flow is still in detection, 0 once its
 * result is final or it has no slot. */
int ef_ndpi_packet(ef_ndpi_t *n, ef_ndpi_flow_t *f, const ef_packet_t *p);

/* The flow ends (or its result is wanted now): a running detection gives
 * up and releases its slot. Idempotent; call it for every flow. */
void ef_ndpi_flow_end(ef_ndpi_t *n, ef_ndpi_flow_t *f);

/* Protocol name as nDPI prints it ("TLS.Google", "DNS", "Unknown") into
 * buf; returns buf. */
const char *ef_ndpi_flow_name(const ef_ndpi_t *n, const ef_ndpi_flow_t *f, char *buf, size_t len);

typedef struct ef_ndpi_stats {
    uint64_t pool_size;    /* slots */
    uint64_t slot_bytes;   /* bytes per slot (nDPI's flow struct) */
    uint64_t in_use;       /* slots held now */
    uint64_t peak_in_use;
    uint64_t flows;        /* flows that got a slot */
    uint64_t no_slot;      /* flows that found the pool empty */
    uint64_t detected;     /* results from payload */
    uint64_t guessed;      /* results from giveup's guess */
    uint64_t unknown;      /* no result */
    uint64_t packets;      /* packets fed to nDPI */
} ef_ndpi_stats_t;

const ef_ndpi_stats_t *ef_ndpi_stats(const ef_ndpi_t *n);

#endif
