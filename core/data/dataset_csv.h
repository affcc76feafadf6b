/* Writer of the dataset CSV (the seed's format, docs/dataset.md).
 *
 * One file per k, one row per flow:
 *     pktSize1..pktSizeK, pktTime1..pktTimeK, c2s, taxonomy label
 * sizes are IP total lengths (integers), times are inter-arrival times in
 * seconds with six decimals (exact: printed from integer microseconds), c2s
 * counts the client->server packets among the row's packets, and the last
 * column (whose header name holds a space, as in the seed) is the category
 * label. EF_DATASET_EXTENDED appends columns that trace a row back to its
 * packets and its MAWILab rule (names in ef_dataset_header / docs/dataset.md).
 *
 * Padding (EF_DATASET_PAD): a flow with fewer than k packets still gets a
 * row; each missing packet is written as size 0 and time 0.000000. No IP
 * packet is 0 bytes long, so size 0 marks padding; readers treat it as "no
 * packet". Without the flag such flows are skipped.
 *
 * Atomicity: rows go to a hidden temporary file beside the target
 * (".NAME.<pid>.<n>.part" in the same directory); only
 * ef_dataset_writer_commit() renames it to the target name. A run that fails
 * or is interrupted leaves no file under the target name (an older complete
 * file of that name, if any, is left untouched until the rename replaces it).
 *
 * Ownership and threads: a writer is used by one thread; the flow passed to
 * ef_dataset_writer_add is only read during the call. */
#ifndef EF_DATA_DATASET_CSV_H
#define EF_DATA_DATASET_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "data/mawilab.h"
#include "net/features.h"
#include "util/err.h"

enum {
    EF_DATASET_EXTENDED = 1u << 0,
    EF_DATASET_PAD = 1u << 1,
};

/* What one row needs. Only `feat` and `label` are used without
 * EF_DATASET_EXTENDED. */
typedef struct ef_dataset_flow {
    const ef_features_t *feat;   /* the flow's first packets */
    const char *label;           /* category label, e.g. "NetworkScan" */
    /* extended columns */
    uint64_t flow_id;
    uint8_t ip_version;          /* 4 or 6 */
    uint8_t proto;               /* IP protocol number */
    uint8_t has_ports;           /* 0: port columns stay empty (ICMP, 6in4, ...) */
    const uint8_t *client_addr;  /* 16 bytes, IPv4 in the first 4 */
    const uint8_t *server_addr;
    uint16_t client_port, server_port;
    uint64_t start_ts_us;        /* first packet, microseconds since the epoch */
    uint64_t pkts;               /* packets of the whole flow, both directions */
    const char *end_reason;      /* "fin", "rst", "timeout", ... (NULL: empty) */
    const char *app;             /* nDPI protocol name (NULL: empty) */
    const ef_mawilab_match_t *match; /* NULL or no rule: MAWILab columns empty */
} ef_dataset_flow_t;

/* The header line (with "\n") into buf; returns its length, or -1 when it
 * does not fit or k is out of range. */
int ef_dataset_header(char *buf, size_t cap, int k, unsigned flags);

typedef struct ef_dataset_writer ef_dataset_writer_t;

/* Create the temporary file beside `path` and write the header. k is 1..EF_K_MAX. */
ef_dataset_writer_t *ef_dataset_writer_open(const char *path, int k, unsigned flags,
                                            ef_err_t *err);

/* Write the flow's row. Returns 1 when written, 0 when the flow has fewer
 * than k packets and EF_DATASET_PAD is not set, -1 on a write error. */
int ef_dataset_writer_add(ef_dataset_writer_t *w, const ef_dataset_flow_t *f, ef_err_t *err);

uint64_t ef_dataset_writer_rows(const ef_dataset_writer_t *w);
const char *ef_dataset_writer_path(const ef_dataset_writer_t *w);      /* the target */
const char *ef_dataset_writer_temp_path(const ef_dataset_writer_t *w); /* where rows go */

/* Flush and sync the temporary file and close it (idempotent). After a
 * failure the writer can only be aborted. Call this on every writer of a set
 * before committing any, so a late write error renames nothing. */
int ef_dataset_writer_finish(ef_dataset_writer_t *w, ef_err_t *err);

/* Finish if needed, rename the temporary file to the target and free the
 * writer. On failure the temporary file is removed; the writer is freed
 * either way. */
int ef_dataset_writer_commit(ef_dataset_writer_t *w, ef_err_t *err);

/* Remove the temporary file and free the writer (NULL is fine). */
void ef_dataset_writer_abort(ef_dataset_writer_t *w);

#endif
