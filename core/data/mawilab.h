/* MAWILab label files and the label join.
 *
 * A MAWILab day comes with `YYYYMMDD_anomalous_suspicious.csv` and
 * `YYYYMMDD_notice.csv`, one rule per line:
 *     anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,heuristic,distance,nbDetectors,label
 * Header names may carry leading spaces; srcIP/srcPort/dstIP/dstPort may be
 * empty (wildcard); one anomaly may span several lines (same anomalyID);
 * label is anomalous / suspicious / notice; addresses are IPv4 or IPv6.
 * Some published files name 10 columns in the header but carry 9 fields per
 * row (heuristic missing); the layout is detected per file from its first
 * row and every row must follow it. Rules, the join order and the direction
 * handling are documented in docs/labels.md.
 *
 * Ownership and threads: ef_mawilab_load() returns an immutable set owned by
 * the caller (ef_mawilab_free). Once loaded, the set is only read, so any
 * number of threads may call ef_mawilab_match() on it at once. */
#ifndef EF_DATA_MAWILAB_H
#define EF_DATA_MAWILAB_H

#include <stdint.h>

#include "data/taxonomy.h"
#include "util/err.h"

typedef enum ef_mawilab_label {
    EF_MAWILAB_ANOMALOUS = 0,
    EF_MAWILAB_SUSPICIOUS,
    EF_MAWILAB_NOTICE,
} ef_mawilab_label_t;

/* "anomalous", "suspicious", "notice". */
const char *ef_mawilab_label_name(ef_mawilab_label_t l);

/* ef_mawilab_rule_t.fields: which of the four match fields are non-empty.
 * The bit values are the join's tie-break rank (dst IP > src IP > dst port
 * > src port), so among rules with as many fields the larger mask wins. */
enum {
    EF_MAWILAB_F_SPORT = 1u << 0,
    EF_MAWILAB_F_DPORT = 1u << 1,
    EF_MAWILAB_F_SRC = 1u << 2,
    EF_MAWILAB_F_DST = 1u << 3,
};

typedef struct ef_mawilab_rule {
    uint8_t src[16];         /* IPv4 in the first 4 bytes, rest zero */
    uint8_t dst[16];
    uint16_t sport, dport;   /* valid when the F_SPORT / F_DPORT bit is set */
    uint8_t fields;          /* EF_MAWILAB_F_* of the non-empty fields */
    uint8_t ip_version;      /* 4 or 6 when an address is set, else 0 */
    uint8_t label;           /* ef_mawilab_label_t */
    uint8_t category;        /* ef_category_t of `code` */
    int32_t heuristic;       /* -1 when absent (empty, or the 9-field layout) */
    int32_t nb_detectors;    /* -1 when empty */
    const char *distance;    /* as written in the file ("" when empty) */
    const char *code;        /* taxonomy code as written, e.g. "ntscSYN139445" */
    uint64_t anomaly_id;
    uint32_t line;           /* 1-based line in its file */
    uint16_t file;           /* index of its file in load order */
} ef_mawilab_rule_t;

typedef struct ef_mawilab ef_mawilab_t;

/* Load label files, in order, into one rule set. Every row is validated; the
 * first bad one fails the whole load with "path:line: expected ..." (nothing
 * is returned). `npaths` may be 0 (an empty set that matches nothing). */
ef_mawilab_t *ef_mawilab_load(const char *const *paths, int npaths, ef_err_t *err);

void ef_mawilab_free(ef_mawilab_t *m);

/* Number of rules (rows) and rule i in load order (file order, then line). */
uint32_t ef_mawilab_rule_count(const ef_mawilab_t *m);
const ef_mawilab_rule_t *ef_mawilab_rule(const ef_mawilab_t *m, uint32_t i);

/* Per-file facts, for summaries. */
typedef struct ef_mawilab_file_info {
    const char *path;        /* as given to ef_mawilab_load */
    uint32_t rules;
    uint32_t anomalies;      /* distinct anomalyID values in the file */
    int has_heuristic;       /* 0: the 9-field layout (or no rows at all) */
} ef_mawilab_file_info_t;

int ef_mawilab_file_count(const ef_mawilab_t *m);
int ef_mawilab_file_info(const ef_mawilab_t *m, int i, ef_mawilab_file_info_t *out);

/* A flow as the join sees it: client = the side that sent first (see
 * net/flow.h). Addresses are 16 bytes (IPv4 in the first 4). Port-less
 * flows (ICMP, 6in4, ...) set has_ports = 0 and never match a rule that
 * names a port. */
typedef struct ef_mawilab_flow {
    const uint8_t *client_addr;
    const uint8_t *server_addr;
    uint16_t client_port, server_port;
    uint8_t ip_version;      /* 4 or 6 */
    uint8_t has_ports;
} ef_mawilab_flow_t;

typedef struct ef_mawilab_match {
    const ef_mawilab_rule_t *rule; /* NULL: no rule matched */
    ef_category_t category;        /* EF_CAT_UNLABELED when rule is NULL */
    uint8_t reversed;              /* 1: rule src = flow server, dst = client */
} ef_mawilab_match_t;

/* The best rule for a flow: forward (rule src = client, dst = server) and
 * reversed; the more specific match wins, forward on equal specificity.
 * `m` may be NULL (every flow is unlabeled). Thread-safe, allocation-free. */
void ef_mawilab_match(const ef_mawilab_t *m, const ef_mawilab_flow_t *f,
                      ef_mawilab_match_t *out);

#endif
