/* EVE JSON output: one JSON object per line, with Suricata's field names.
 *
 *   {"timestamp":"2026-12-04T15:36:43.123456+0000","flow_id":1234,
 *    "event_type":"early","src_ip":"10.0.0.1","src_port":40000,
 *    "dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","ip_v":4,
 *    "early":{"label":"NetworkScan","score":0.97,"k":5,"packets":5,
 *             "at_flow_end":false,"model":"builtin_k5",
 *             "probabilities":{"Unlabeled":0.01,...}}}
 *
 * Events: `early` (one per verdict), `alert` (one per matching rule:
 * Suricata's alert object plus the early object), `flow` (optional, at
 * flow end) and `stats` (counters, normally once at the end). docs/eve.md
 * is the schema with examples.
 *
 * Fields: timestamp in UTC with microseconds and "+0000"; flow_id reduced
 * to 51 bits as Suricata does (exact in JSON doubles); src = the flow's
 * client, dest = its server; ports only for TCP, UDP and SCTP; proto as
 * Suricata names it ("TCP", "UDP", "ICMP", "IPv6-ICMP", ...) or the number.
 * Strings are escaped (quotes, backslash, control characters) and invalid
 * UTF-8 bytes become U+FFFD; numbers ignore the process locale; a float
 * that is NaN or infinite is written as null.
 *
 * Output integrity: each event is built in memory and appended whole to the
 * writer's buffer, and the buffer is only ever written out at line
 * boundaries, so the file holds complete lines whatever happens between
 * events. The buffer is written when full, on ef_eve_flush, when a line
 * arrives at least a second after the last write, and on close (or on
 * every line with flush_every_line, the default for stdout). A failed write
 * (ENOSPC, EIO, EBADF, EPIPE when SIGPIPE is ignored) is an error naming
 * the file, returned by that call and by every later one (the writer stops
 * writing), and counted in ef_eve_lost: output is never lost silently.
 *
 * Threads: one writer may be shared by several threads: events are built
 * without locks and appended under an internal mutex, so lines never
 * interleave. A stats object is not thread-safe (one thread fills it). */
#ifndef EF_IDS_EVE_H
#define EF_IDS_EVE_H

#include <stddef.h>
#include <stdint.h>

#include "earlyflow_plugin.h"
#include "ids/rules.h"
#include "util/err.h"

typedef struct ef_eve ef_eve_t;

typedef struct ef_eve_opts {
    /* Write every line at once (default: 1 for stdout, 0 for files). */
    int flush_every_line;
    int flush_every_line_set; /* 1: use flush_every_line as given */
    /* 1 when the host really blocks traffic (an IPS): drop and reject rules
     * then log action "blocked". earlyflow's own host is passive: 0, and
     * every alert says "allowed" (see docs/eve.md). */
    int blocking;
} ef_eve_opts_t;

/* Open `path` for appending (created 0644), or stdout when path is "-".
 * opts may be NULL (defaults). */
ef_eve_t *ef_eve_open(const char *path, const ef_eve_opts_t *opts, ef_err_t *err);
/* Write to an open descriptor; `name` is used in messages. The descriptor is
 * closed by ef_eve_close only when owns_fd is 1. */
ef_eve_t *ef_eve_open_fd(int fd, const char *name, int owns_fd, const ef_eve_opts_t *opts,
                         ef_err_t *err);
int ef_eve_flush(ef_eve_t *w, ef_err_t *err);
/* Flush, close and free. Returns -1 when this or any earlier write failed. */
int ef_eve_close(ef_eve_t *w, ef_err_t *err);

uint64_t ef_eve_lines(const ef_eve_t *w); /* lines accepted */
uint64_t ef_eve_lost(const ef_eve_t *w);  /* lines not written because of an error */

/* The flow an event is about. */
typedef struct ef_eve_flow {
    uint64_t ts_us;            /* event time (capture clock), microseconds */
    uint64_t flow_id;
    uint8_t ip_version;        /* 4 or 6 */
    uint8_t proto;             /* IP protocol number */
    uint16_t src_port;         /* client port */
    uint16_t dest_port;        /* server port */
    uint8_t n_vlan;            /* 0-2 */
    uint16_t vlan[2];
    const uint8_t *src_addr;   /* client, 4 or 16 bytes */
    const uint8_t *dest_addr;  /* server */
    const char *in_iface;      /* NULL: not logged */
    const char *app_proto;     /* NULL: not logged (nDPI off) */
} ef_eve_flow_t;

int ef_eve_early(ef_eve_t *w, const ef_eve_flow_t *f, const ef_verdict_t *v, ef_err_t *err);
int ef_eve_alert(ef_eve_t *w, const ef_eve_flow_t *f, const ef_verdict_t *v, const ef_rule_t *r,
                 ef_err_t *err);

/* What a `flow` event reports (Suricata's flow object). */
typedef struct ef_eve_flow_info {
    uint64_t pkts_toserver, pkts_toclient;
    uint64_t bytes_toserver, bytes_toclient;
    int has_bytes;
    uint64_t start_us, end_us;
    const char *state;         /* "new", "established", "closed" */
    const char *reason;        /* "timeout", "shutdown", "forced", ... */
    int alerted;
} ef_eve_flow_info_t;

int ef_eve_flow(ef_eve_t *w, const ef_eve_flow_t *f, const ef_eve_flow_info_t *info,
                ef_err_t *err);

/* ---- stats ------------------------------------------------------------------
 * A nested object of counters addressed by dotted paths, kept in insertion
 * order: ef_stats_add_u64(s, "verdicts.NetworkScan", 1) gives
 * "stats":{"verdicts":{"NetworkScan":1}}. Path parts are non-empty and
 * contain no '.'; at most 8 levels. A path that would turn a counter into
 * an object (or the reverse) is refused. */
typedef struct ef_stats ef_stats_t;

ef_stats_t *ef_stats_new(void);
void ef_stats_free(ef_stats_t *s);
/* Each returns 0, or -1 for a bad path, a type clash or out of memory. */
int ef_stats_set_u64(ef_stats_t *s, const char *path, uint64_t v);
int ef_stats_add_u64(ef_stats_t *s, const char *path, uint64_t v);
int ef_stats_set_f64(ef_stats_t *s, const char *path, double v);
int ef_stats_get_u64(const ef_stats_t *s, const char *path, uint64_t *v);

int ef_eve_stats(ef_eve_t *w, uint64_t ts_us, const ef_stats_t *s, ef_err_t *err);

/* ---- pieces, exposed for tests and other writers -------------------------------- */
/* "2026-12-04T15:36:43.123456+0000" into buf (>= 32 bytes). */
void ef_eve_timestamp(uint64_t ts_us, char *buf, size_t len);
/* Suricata's protocol name for EVE, or NULL when it prints the number. */
const char *ef_eve_proto_name(uint8_t proto);

#endif
