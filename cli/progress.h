/* A one-line progress bar on a terminal, shared by the commands that read
 * captures (collect, run).
 *
 *   collect [##########..........]  50%  12.3/24.6 MB  1.21 Mpkt/s  ETA 0:10  (2/5) day2.pcap
 *
 * It draws only when asked to (`force`, e.g. --progress) or when the stream
 * is a terminal and the input is at least `min_bytes` long, so pipes, logs
 * and small inputs stay clean. Redraws are rate-limited (10 per second) and
 * cost one clock read per ef_progress_update call, so callers can update
 * every few thousand packets. When the total size is unknown (standard
 * input, live capture) the bar shows bytes, packets and rate only.
 *
 * Not thread-safe: one bar per command, updated by the thread that reads. */
#ifndef EF_CLI_PROGRESS_H
#define EF_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

/* Inputs smaller than this get no bar unless forced (4 MiB). */
#define EF_PROGRESS_MIN_BYTES (4u * 1024u * 1024u)

typedef struct ef_progress ef_progress_t;

/* `title` is printed first ("collect"); `total_bytes` 0 means unknown.
 * Returns NULL when allocation fails; every function accepts NULL. */
ef_progress_t *ef_progress_new(FILE *out, const char *title, uint64_t total_bytes, int force,
                               uint64_t min_bytes);

/* Whether this bar draws at all. */
int ef_progress_enabled(const ef_progress_t *p);

/* Name the current input ("(2/5) day2.pcap"); the string is copied. */
void ef_progress_set_item(ef_progress_t *p, const char *item);

/* Report bytes consumed so far (over all inputs) and packets seen. */
void ef_progress_update(ef_progress_t *p, uint64_t done_bytes, uint64_t packets);

/* Draw the final state (100 % when the total is known), end the line, free. */
void ef_progress_finish(ef_progress_t *p);

/* Remove the bar's line without a final draw (e.g. before an error
 * message), then free. */
void ef_progress_abandon(ef_progress_t *p);

#endif
