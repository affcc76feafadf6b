/* First-k packet features: THE definition, used by collect, train/eval, the
 * plugin and the host alike, so training and serving cannot drift.
 *
 * For each of a flow's first EF_K_MAX packets, in arrival order:
 *   size      IP total length in bytes (ef_packet_t.ip_len)
 *   iat       inter-arrival time since the flow's previous packet (either
 *             direction), in microseconds; the first packet's is 0; a packet
 *             stamped earlier than its predecessor (capture reordering) gets 0
 *   direction 1 when the packet went client -> server, 0 otherwise
 * Datasets print iat in seconds (microseconds / 1e6, six decimals).
 *
 * The struct is plain data (no pointers), 136 bytes, zero-initialised = empty.
 * Not thread-safe by itself: one flow is updated by one thread at a time. */
#ifndef EF_NET_FEATURES_H
#define EF_NET_FEATURES_H

#include <stdint.h>

#define EF_K_MAX 20

typedef struct ef_features {
    uint64_t last_ts_us;         /* timestamp of the latest stored packet */
    uint32_t iat_us[EF_K_MAX];   /* saturates at UINT32_MAX (~71 minutes) */
    uint16_t size[EF_K_MAX];
    uint32_t dir_bits;           /* bit i set: packet i went client -> server */
    uint8_t n;                   /* packets stored, 0..EF_K_MAX */
} ef_features_t;

/* Append one packet if fewer than EF_K_MAX are stored. Returns the number of
 * packets stored after the call (unchanged when already full). */
int ef_features_add(ef_features_t *f, uint64_t ts_us, uint16_t ip_len, int c2s);

/* Number of the first k stored packets that went client -> server (the
 * dataset's `c2s` column). k is clamped to n. */
int ef_features_c2s(const ef_features_t *f, int k);

static inline int ef_features_dir(const ef_features_t *f, int i)
{
    return (int)((f->dir_bits >> i) & 1u);
}

static inline double ef_features_iat_s(const ef_features_t *f, int i)
{
    return (double)f->iat_us[i] / 1e6;
}

#endif
