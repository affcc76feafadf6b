/* The early-decision engine: host-independent core of earlyflow.so.
 *
 * Both plugin front ends (the generic hook ABI in plugin/earlyflow_plugin.c
 * and the Suricata 8 adapter in plugin/suricata/) are thin layers over this:
 * the engine owns the models (one per k), the per-flow feature buffer
 * (net/features.h: the one feature function) and the decision of when to run
 * a model:
 *   - on the flow's k-th packet, for every k in the engine's k set, so the
 *     verdict is available while that packet is being processed;
 *   - at flow end, for every k in the set that the flow never reached, on
 *     the packets it had (at least one).
 *
 * Ownership and threads: ef_engine_t is read-only after ef_engine_new and
 * shared by all threads; ef_engine_thread_t (scratch) is per thread;
 * ef_engine_flow_t is the per-flow storage a host provides (plain data,
 * fixed size, no pointers, initialised by ef_engine_flow_init). */
#ifndef EF_IDS_ENGINE_H
#define EF_IDS_ENGINE_H

#include <stdint.h>

#include "earlyflow_plugin.h"
#include "net/features.h"
#include "util/err.h"

#define EF_ENGINE_K_VALID_MASK ((1u << 3) | (1u << 5) | (1u << 10) | (1u << 20))

typedef struct ef_engine_config {
    const char *model;                /* "builtin" (default when NULL) or a path */
    const char *model_for_k[EF_K_MAX + 1]; /* per-k override paths (NULL: none) */
    uint32_t k_mask;                  /* bit k set: decide at k; 0 means {5} */
} ef_engine_config_t;

typedef struct ef_engine ef_engine_t;
typedef struct ef_engine_thread ef_engine_thread_t;

typedef struct ef_engine_flow {
    ef_features_t feat;
    uint32_t decided_mask;  /* bit k set: verdict for k already emitted */
} ef_engine_flow_t;

/* Loads one model per k in the mask. For "builtin", the built-in model of
 * each k (models/builtin/builtin_k<k>.safetensors) is used. */
ef_engine_t *ef_engine_new(const ef_engine_config_t *cfg, ef_err_t *err);
void ef_engine_free(ef_engine_t *e);
uint32_t ef_engine_k_mask(const ef_engine_t *e);
/* The model deciding at k (NULL if k is not in the set). */
const char *ef_engine_model_name(const ef_engine_t *e, int k);

ef_engine_thread_t *ef_engine_thread_new(const ef_engine_t *e, ef_err_t *err);
void ef_engine_thread_free(ef_engine_thread_t *t);

void ef_engine_flow_init(ef_engine_flow_t *f);

/* Receives verdicts synchronously; `v` is valid during the call only. */
typedef void (*ef_engine_verdict_fn)(void *user, const ef_verdict_t *v);

/* One packet of a flow (in arrival order). Emits the verdicts due at this
 * packet. Returns the number of verdicts emitted. */
int ef_engine_packet(ef_engine_thread_t *t, ef_engine_flow_t *f, uint64_t ts_us,
                     uint16_t ip_len, int to_server, ef_engine_verdict_fn fn, void *user);

/* The flow ended: emits the verdicts of every k it did not reach. */
int ef_engine_flow_end(ef_engine_thread_t *t, ef_engine_flow_t *f, ef_engine_verdict_fn fn,
                       void *user);

/* Parse "3,5,10" into a k mask; -1 with err on anything else. */
int ef_engine_parse_k_list(const char *s, uint32_t *mask, ef_err_t *err);

#endif
