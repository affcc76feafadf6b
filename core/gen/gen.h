/* Labelled traffic generator: a pcap of benign background traffic plus
 * anomalies of every MAWILab category, and the label file that describes the
 * anomalies in MAWILab's own CSV format.
 *
 *     ef_gen_config_t cfg;
 *     ef_gen_config_default(&cfg);
 *     cfg.seed = 7;
 *     cfg.flows = 2000;
 *     if (ef_gen_write(&cfg, "day.pcap", "day_anomalous_suspicious.csv",
 *                      NULL, NULL, &stats, &err) < 0)
 *         fprintf(stderr, "%s\n", err.msg);
 *
 * What is generated (docs/generator.md has every shape and its numbers):
 * flows follow their protocols (TCP handshakes with consistent seq/ack,
 * MSS-sized bulk data paced by a congestion window, delayed ACKs, FIN/RST
 * teardown; UDP request/response; ICMP echo and errors), are merged by
 * timestamp into one capture, and pass through optional network dynamics
 * (loss, duplication, adjacent reordering, jitter, one-directional capture).
 *
 * Ground truth: every anomaly flow matches a row of its own anomaly in the
 * label file, and no other flow matches any row, under MAWILab's join (a row
 * matches a flow when each non-empty field equals the flow's field, rule
 * source = flow client; also when rules are tried reversed, as
 * core/data/mawilab.h does). Addresses that appear in rows are used by their
 * anomaly only. The flow client is what a flow table decides from the first
 * captured packet (pure SYN sender, SYN+ACK receiver, else the sender); the
 * dynamics never drop or displace the first captured packet of an anomaly
 * flow, so that orientation stays the one the rows describe.
 *
 * Determinism: the same configuration gives byte-identical files (all
 * randomness comes from the seed; output is little-endian whatever the
 * host; distributions use libm's log/exp/cos, so identical bytes are
 * guaranteed for one build and expected across glibc machines).
 *
 * Memory: bounded by the flows active at one time and the anomaly count, not
 * by the capture size; packets are written as they are produced.
 *
 * Thread-safety: ef_gen_write keeps all state in its own context; separate
 * calls may run in parallel. */
#ifndef EF_GEN_GEN_H
#define EF_GEN_GEN_H

#include <stdint.h>

#include "data/taxonomy.h"
#include "util/err.h"

typedef struct ef_gen_config {
    uint64_t seed;
    double duration_s;        /* capture length in seconds (default 60) */
    uint64_t flows;           /* flows to generate, all categories (default 20000) */
    /* Relative weight of each category in flows (EF_CAT_UNLABELED = benign).
     * EF_CAT_UNKNOWN must be 0: MAWILab's "unknown" has no shape to draw. */
    double mix[EF_CAT__COUNT];
    uint32_t start_epoch;     /* first second of the capture (default 1598936400,
                                 2020-09-01 05:00 UTC = 14:00 JST, MAWI's slot) */
    double reorder;           /* P(a packet swaps place with the next of its flow) */
    double jitter_ms;         /* mean extra delay per packet (exponential), ms */
    double loss;              /* P(a packet is not captured) */
    double dup;               /* P(a packet is captured twice) */
    double one_way;           /* P(a flow is captured in one direction only) */
    uint32_t snaplen;         /* bytes kept per packet (default 65535) */
    int linktype;             /* EF_DLT_EN10MB (default) or EF_DLT_LINKTYPE_RAW */
} ef_gen_config_t;

void ef_gen_config_default(ef_gen_config_t *cfg);

/* Check ranges; the message names the option, e.g. "loss: 1.5 is not in [0, 1)". */
int ef_gen_config_check(const ef_gen_config_t *cfg, ef_err_t *err);

/* Parse "benign=80,NetworkScan=5,DoS=3" (category labels or "benign",
 * case-insensitive) into mix[]; categories not named get weight 0. */
int ef_gen_parse_mix(const char *spec, double mix[EF_CAT__COUNT], ef_err_t *err);

/* Default mix as a spec string (for --help and docs). */
const char *ef_gen_default_mix(void);

/* One generated flow, reported once when it ends (or when the capture ends).
 * Only flows with at least one captured packet are reported. Addresses and
 * orientation are as a flow table sees them in the capture: the client is
 * the sender of the first captured packet (the receiver if that packet is a
 * SYN+ACK). For 6in4 flows the addresses are the outer IPv4 ones and proto
 * is 41. */
typedef struct ef_gen_flow_info {
    uint64_t id;               /* creation order */
    ef_category_t category;
    int64_t anomaly_id;        /* -1 for benign flows */
    const char *taxonomy;      /* MAWILab code, "" for benign (static string) */
    const char *shape;         /* e.g. "https", "syn-probe", "ddos-syn" (static string) */
    uint8_t ip_version;
    uint8_t proto;
    uint16_t client_port, server_port;
    uint8_t client_addr[16], server_addr[16]; /* IPv4 in the first 4 bytes */
    uint64_t first_ts_us, last_ts_us;         /* epoch microseconds */
    uint32_t packets;          /* captured packets (after dynamics) */
    uint32_t packets_c2s;      /* of which client -> server */
    uint64_t bytes;            /* IP bytes of the captured packets */
} ef_gen_flow_info_t;

typedef void (*ef_gen_flow_fn)(void *user, const ef_gen_flow_info_t *flow);

typedef struct ef_gen_stats {
    uint64_t packets;          /* records written */
    uint64_t bytes;            /* pcap file size */
    uint64_t flows[EF_CAT__COUNT]; /* reported flows per category */
    uint64_t anomalies;        /* anomaly ids in the label file */
    uint64_t label_rows;
    uint64_t lost, duplicated, reordered; /* dynamics actually applied */
    uint64_t peak_active_flows;
} ef_gen_stats_t;

/* Generate into pcap_path and labels_path. Both are written to temporary
 * names in their folders and renamed when complete; on failure neither file
 * is created (nor left half-written) and err names the file. on_flow (may be
 * NULL) is called for every flow, in end order. stats may be NULL. */
int ef_gen_write(const ef_gen_config_t *cfg, const char *pcap_path, const char *labels_path,
                 ef_gen_flow_fn on_flow, void *user, ef_gen_stats_t *stats, ef_err_t *err);

#endif
