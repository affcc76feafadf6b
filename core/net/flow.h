/* Bidirectional flow table with a memory cap.
 *
 * A flow is keyed by (VLAN ids, protocol, the two addresses, the two ports),
 * the same whichever direction a packet travels. Port-less protocols (ICMP,
 * ICMPv6, 6in4, GRE, ...) key with ports 0.
 *
 * Orientation: the client is decided on the flow's first packet and never
 * changes: a pure SYN's sender is the client, a SYN+ACK's receiver is the
 * client, otherwise the first packet's sender is the client.
 *
 * States and timeouts (idle time since the flow's last packet, in packet
 * time, i.e. capture timestamps, never the wall clock):
 *   NEW          packets seen in one direction only
 *   ESTABLISHED  packets seen in both directions
 *   CLOSED       RST seen, or FIN seen from both sides; kept for the closed
 *                timeout so the last ACKs stay in the flow, then ended
 * A pure SYN (SYN without ACK/RST/FIN) that arrives for a CLOSED flow ends it
 * and starts a new flow. The table clock is the latest packet timestamp seen
 * (it never goes back); a flow idle for longer than its state's timeout ends
 * before the next packet is looked up, so that packet starts a new flow.
 *
 * Every flow is reported exactly once to the end callback, with the reason:
 * FIN/RST (closed flow timed out or was replaced), TIMEOUT (idle), EVICTED
 * (table full: the least recently seen flow makes room) or SHUTDOWN
 * (ef_flow_table_flush at end of input). A CLOSED flow always ends as FIN or
 * RST (whichever closed it first), also when evicted or flushed, so EVICTED
 * counts only flows cut short. Eviction ties prefer CLOSED, then NEW, then
 * ESTABLISHED flows. Expiry costs O(1) per expired flow (per-state LRU lists
 * ordered by last packet time).
 *
 * Memory: every entry (ef_flow_t + the caller's ext storage, each rounded up
 * to 16 bytes), the hash buckets (a power of two >= capacity, 4 bytes each)
 * and the first-fragment table (frag_slots rounded up to a power of two, 56
 * bytes each) are allocated once, at creation, within `memcap`; capacity is
 * what fits. The packet path never allocates. Flows of one table are touched
 * by one thread; run one table per worker and shard packets with
 * ef_flow_shard_hash().
 *
 * Fragments: a first fragment with ports is remembered (addresses, protocol,
 * fragment id, VLAN -> ports) for 30 s of packet time in a small fixed table
 * (4-way probing, the oldest entry makes room); a later TCP/UDP fragment
 * joins the flow of its first fragment, or is an orphan (counted, not
 * tracked) when that was not seen. Later fragments of port-less protocols
 * key directly. */
#ifndef EF_NET_FLOW_H
#define EF_NET_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "net/decode.h"
#include "util/err.h"

typedef enum ef_flow_state {
    EF_FLOW_NEW = 0,
    EF_FLOW_ESTABLISHED,
    EF_FLOW_CLOSED,
    EF_FLOW__STATES
} ef_flow_state_t;

typedef enum ef_flow_end_reason {
    EF_END_NONE = 0,     /* flow still active */
    EF_END_FIN,
    EF_END_RST,
    EF_END_TIMEOUT,
    EF_END_EVICTED,
    EF_END_SHUTDOWN,
    EF_END__COUNT
} ef_flow_end_reason_t;

const char *ef_flow_end_reason_name(ef_flow_end_reason_t r); /* "fin", "rst", ... */
const char *ef_flow_state_name(ef_flow_state_t s);           /* "new", ... */

/* Normalised key: side 0 is the lower (address, port) pair. */
typedef struct ef_flow_key {
    uint8_t addr[2][16]; /* IPv4 uses the first 4 bytes */
    uint16_t port[2];
    uint32_t vlan;
    uint8_t proto;
    uint8_t ip_version;
    uint8_t pad_[2];
} ef_flow_key_t;

typedef struct ef_flow {
    ef_flow_key_t key;
    uint8_t client;      /* key side (0/1) of the client */
    uint8_t state;       /* ef_flow_state_t */
    uint8_t tcp_seen;    /* OR of EF_TCP_* flags seen in either direction */
    uint8_t end_reason;  /* ef_flow_end_reason_t, set before the end callback */
    uint32_t pkts[2];    /* [0] client->server, [1] server->client */
    uint64_t id;         /* stable id: hash of key and first timestamp, the same
                            in every run, table size and worker count; 1..2^53-1
                            (exact as a JSON number) */
    uint64_t first_ts_us;/* timestamp of the flow's first packet */
    uint64_t last_ts_us; /* table clock at the flow's latest packet (= its
                            timestamp unless it was stamped before an earlier
                            packet of the capture) */
    /* table internals */
    uint32_t hnext_, lprev_, lnext_;
    uint8_t fin_seen_;   /* bit 0: client FIN, bit 1: server FIN */
    uint8_t list_;
    uint8_t pad_[2];
    /* caller storage (ext_size bytes, 16-byte aligned) follows */
} ef_flow_t;

/* Caller storage of a flow, zeroed when the flow is created. */
static inline void *ef_flow_ext(ef_flow_t *f)
{
    return (unsigned char *)f + ((sizeof(ef_flow_t) + 15u) & ~(size_t)15u);
}

/* Client / server address and port of a flow. */
static inline const uint8_t *ef_flow_client_addr(const ef_flow_t *f) { return f->key.addr[f->client]; }
static inline const uint8_t *ef_flow_server_addr(const ef_flow_t *f) { return f->key.addr[!f->client]; }
static inline uint16_t ef_flow_client_port(const ef_flow_t *f) { return f->key.port[f->client]; }
static inline uint16_t ef_flow_server_port(const ef_flow_t *f) { return f->key.port[!f->client]; }

typedef struct ef_flow_config {
    uint64_t memcap;            /* bytes for entries + buckets (default 64 MiB) */
    uint32_t ext_size;          /* caller bytes per flow (default 0) */
    uint32_t frag_slots;        /* first-fragment memory for later fragments (default
                                   4096; 0: every later TCP/UDP fragment is an orphan) */
    uint64_t timeout_us[EF_FLOW__STATES]; /* per state; defaults 1 s each */
} ef_flow_config_t;

void ef_flow_config_default(ef_flow_config_t *cfg);

typedef struct ef_flow_stats {
    uint64_t capacity;          /* max flows at once (from memcap) */
    uint64_t active;            /* flows in the table now */
    uint64_t peak_active;
    uint64_t created;
    uint64_t ended[EF_END__COUNT]; /* by reason; [EF_END_EVICTED] = evictions */
    uint64_t packets;           /* packets attributed to a flow */
    uint64_t frag_later;        /* later fragments attributed to their flow */
    uint64_t frag_orphans;      /* later fragments whose first fragment was not seen */
} ef_flow_stats_t;

typedef struct ef_flow_table ef_flow_table_t;

/* Called once per flow when it ends; flow->end_reason tells why. The flow
 * and its ext storage are valid during the call only. The callback must not
 * call back into the table. */
typedef void (*ef_flow_end_fn)(void *user, ef_flow_t *flow);

/* cfg NULL means defaults. Fails (NULL, err set) when memcap holds not even
 * one flow, ext_size > 1 MiB, frag_slots > 2^20, or memory is short. */
ef_flow_table_t *ef_flow_table_new(const ef_flow_config_t *cfg, ef_flow_end_fn on_end,
                                   void *user, ef_err_t *err);
/* Frees the table; flows still in it are dropped without a callback (call
 * ef_flow_table_flush first to report them). */
void ef_flow_table_free(ef_flow_table_t *t);

typedef struct ef_flow_hit {
    ef_flow_t *flow;
    uint8_t c2s;       /* 1: this packet went client -> server */
    uint8_t is_new;    /* 1: the flow was created by this packet */
} ef_flow_hit_t;

/* Track one decoded packet: advance the clock to p->ts_us, end flows whose
 * timeout expired, find or create the packet's flow (evicting when full),
 * update state and counters. Returns 0 and fills *hit, or -1 when the packet
 * cannot be attributed to a flow (a later fragment whose first fragment was
 * not seen; counted in frag_orphans). End callbacks may run inside. */
int ef_flow_table_track(ef_flow_table_t *t, const ef_packet_t *p, ef_flow_hit_t *hit);

/* Optional hint for batch processing: start loading the hash bucket of the
 * packet's flow (call for packet i+1 while packet i is being processed).
 * Changes nothing observable. */
void ef_flow_table_prefetch(const ef_flow_table_t *t, const ef_packet_t *p);

/* End every flow idle for longer than its state's timeout at `now_us`. */
void ef_flow_table_expire(ef_flow_table_t *t, uint64_t now_us);

/* End every flow (reason SHUTDOWN, or FIN/RST when already closed), oldest
 * first. */
void ef_flow_table_flush(ef_flow_table_t *t);

const ef_flow_stats_t *ef_flow_table_stats(const ef_flow_table_t *t);

/* Bytes one flow costs in this table (entry + ext + its share of buckets;
 * the fixed first-fragment table is not included). */
size_t ef_flow_table_bytes_per_flow(const ef_flow_table_t *t);

/* Hash for sharding packets over worker threads: symmetric (same for both
 * directions) and built from VLAN, protocol and addresses only, so later
 * fragments land on the same worker as their first fragment. */
uint32_t ef_flow_shard_hash(const ef_packet_t *p);

#endif
