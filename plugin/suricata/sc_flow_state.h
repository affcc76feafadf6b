/* Per-flow state of the Suricata adapter, kept free of Suricata types so it
 * can be tested without Suricata (tests/unit/test_suricata_adapter.c).
 *
 * One ef_sc_flow_t lives in Suricata's flow storage for every flow. It holds
 * the engine's per-flow feature buffer, the latest verdict for each k, and
 * the little bookkeeping the rule keywords need:
 *
 *   orientation   the client is decided on the flow's first packet exactly as
 *                 earlyflow's own flow table does (core/net/flow.h): the
 *                 sender of the first packet, except that a first packet
 *                 with SYN+ACK makes its receiver the client. Suricata may
 *                 re-orient a flow later (midstream pick-up, protocol
 *                 detection); the features must not follow, because the
 *                 models were trained on earlyflow's orientation.
 *   match window  a verdict for k can be matched by rules on the packet that
 *                 produced it and on the first later packet going the other
 *                 way (at most one packet per direction): directional rule
 *                 headers get one chance in each direction and a flow
 *                 raises at most two alerts per rule, never one per packet.
 *   TCP close     a RST, or a FIN once both sides have sent one, ends the
 *                 TCP conversation; the adapter then produces the verdicts
 *                 of the k the flow never reached while that packet is
 *                 still being inspected, so rules can alert on short flows.
 *
 * Invariants: `decided` has a bit per slot holding a verdict; `window` is a
 * subset of `decided` and is only meaningful for the packet whose number is
 * `packet_no`; window_dirs[d] lists the slots whose window already took its
 * packet in direction d (1 = client -> server).
 *
 * Not thread-safe: a flow's state is touched by one thread at a time (the
 * thread holding Suricata's flow lock). Plain data; ef_sc_flow_reset plus
 * ef_engine_flow_init(&s->engine) initialise it. */
#ifndef EF_SC_FLOW_STATE_H
#define EF_SC_FLOW_STATE_H

#include <stdint.h>

#include "data/taxonomy.h"
#include "earlyflow_plugin.h"
#include "ids/engine.h"

/* One slot per decision point: k = 3, 5, 10, 20. */
#define EF_SC_SLOTS 4
#define EF_SC_NO_LABEL 0xffu /* the model's label is not a taxonomy label */

/* TCP header flag bits (RFC 9293). */
#define EF_SC_TCP_FIN 0x01u
#define EF_SC_TCP_SYN 0x02u
#define EF_SC_TCP_RST 0x04u
#define EF_SC_TCP_ACK 0x10u

static inline int ef_sc_slot_of_k(int k)
{
    switch (k) {
    case 3: return 0;
    case 5: return 1;
    case 10: return 2;
    case 20: return 3;
    default: return -1;
    }
}

static inline int ef_sc_k_of_slot(int slot)
{
    static const int k[EF_SC_SLOTS] = {3, 5, 10, 20};
    return slot >= 0 && slot < EF_SC_SLOTS ? k[slot] : 0;
}

/* A verdict as the adapter keeps it: labels as taxonomy categories, so the
 * record outlives the engine call that produced it. */
typedef struct ef_sc_verdict {
    float score;                 /* probability of the winning class */
    float probs[EF_CAT__COUNT];  /* by category; valid where class_mask has its bit */
    uint16_t class_mask;         /* bit c: the model has category c among its classes */
    uint8_t order[EF_CAT__COUNT]; /* those categories in the model's class order */
    uint8_t n_order;
    uint8_t label;               /* ef_category_t, or EF_SC_NO_LABEL */
    uint8_t packets;             /* packets the model saw */
    uint8_t at_flow_end;         /* 1: the flow ended before k packets */
} ef_sc_verdict_t;

typedef struct ef_sc_flow {
    ef_engine_flow_t engine;              /* the engine's feature buffer */
    ef_sc_verdict_t verdict[EF_SC_SLOTS]; /* valid where `decided` has the bit */
    uint64_t packet_no;      /* host's packet count of the flow at the current packet */
    uint32_t unmapped;       /* verdicts whose label is outside the taxonomy */
    uint8_t decided;         /* slot bits holding a verdict */
    uint8_t window;          /* slot bits rules may match on the current packet */
    uint8_t window_dirs[2];  /* [c2s]: slots whose window took a packet that way */
    uint8_t oriented;        /* 1 once the first packet fixed the client */
    uint8_t client_sent_first; /* 1: the client sent the flow's first packet */
    uint8_t fin;             /* bit c2s: a FIN went that way */
    uint8_t ended;           /* 1: the engine's flow end already ran */
} ef_sc_flow_t;

/* Zero everything but the engine part (call ef_engine_flow_init for it). */
void ef_sc_flow_reset(ef_sc_flow_t *s);

/* Direction of a packet in earlyflow's orientation: 1 client -> server.
 * from_first_sender: the packet's source is the source of the flow's first
 * packet. syn_ack: the packet is TCP with both SYN and ACK (only the first
 * call looks at it). */
int ef_sc_flow_direction(ef_sc_flow_t *s, int from_first_sender, int syn_ack);

/* A new packet of the flow, numbered by the host; clears the match window. */
void ef_sc_flow_packet_begin(ef_sc_flow_t *s, uint64_t packet_no);

/* Keeps a verdict, labels mapped to taxonomy categories: a winning label
 * outside the taxonomy is kept as EF_SC_NO_LABEL and counted in `unmapped`,
 * other classes outside it are left out of `probs`. A verdict scoring below
 * min_score (earlyflow.min-score; with min_score > 0 a NaN score counts as
 * below) is dropped as if never made, as earlyflow's own host does.
 * Returns the verdict's slot; -1 when its k is none of 3, 5, 10, 20, or -2
 * when it is below min_score (nothing is stored in either case). */
#define EF_SC_BELOW_MIN_SCORE (-2)
int ef_sc_flow_store(ef_sc_flow_t *s, const ef_verdict_t *v, float min_score);

/* The current packet (direction c2s) has been handed to the engine and its
 * verdicts stored: decide which slots rules may match on it. */
void ef_sc_flow_packet_end(ef_sc_flow_t *s, int c2s);

/* 1 when this TCP packet ends the conversation: a RST, or the FIN that makes
 * both directions closed. Remembers FINs. */
int ef_sc_flow_tcp_closes(ef_sc_flow_t *s, int c2s, uint8_t tcp_flags);

/* 1 when rules looking at `slot` may match the packet numbered packet_no. */
int ef_sc_flow_matchable(const ef_sc_flow_t *s, int slot, uint64_t packet_no);

/* 1 when the flow holds a verdict for `slot`. */
int ef_sc_flow_has(const ef_sc_flow_t *s, int slot);

/* The slot whose verdict is EVE's `early` object: the largest k decided so
 * far, or -1. */
int ef_sc_flow_eve_slot(const ef_sc_flow_t *s);

#endif
