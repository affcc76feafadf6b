/* Packet sources: pcap / pcapng files (through libpcap) and live interfaces.
 *
 * A capture yields frames in file order with the capture's link type.
 * Errors name the file and the byte offset (files) or the interface (live):
 *     "trace.pcap: byte 81234: truncated packet record (caplen 1514, 320 bytes left)"
 * A file that libpcap opens but whose interfaces it cannot read yields an
 * error, not an empty success. One capture is used by one thread. */
#ifndef EF_NET_CAPTURE_H
#define EF_NET_CAPTURE_H

#include <stdint.h>

#include "util/err.h"

typedef struct ef_frame {
    const uint8_t *data;   /* valid until the next ef_capture_next call */
    uint32_t caplen;
    uint32_t wirelen;
    uint64_t ts_us;
} ef_frame_t;

typedef struct ef_capture ef_capture_t;

/* Open a pcap or pcapng file ("-" reads standard input). */
ef_capture_t *ef_capture_open_file(const char *path, ef_err_t *err);

/* Open a live interface; `bpf` may be NULL. snaplen 0 means 65535. */
ef_capture_t *ef_capture_open_live(const char *iface, const char *bpf, int snaplen,
                                   ef_err_t *err);

/* Next frame: returns 1 with *frame filled, 0 at end of input, -1 on error
 * (err set). A live capture returns 0 after ef_capture_break(). */
int ef_capture_next(ef_capture_t *c, ef_frame_t *frame, ef_err_t *err);

/* Make a blocked live ef_capture_next() return (async-signal-safe). */
void ef_capture_break(ef_capture_t *c);

int ef_capture_linktype(const ef_capture_t *c);
const char *ef_capture_name(const ef_capture_t *c);
uint64_t ef_capture_bytes_read(const ef_capture_t *c); /* file offset, for progress */
uint64_t ef_capture_file_size(const ef_capture_t *c);  /* 0 when unknown / live */
void ef_capture_close(ef_capture_t *c);

/* Expand inputs: files as given, directories into their regular files sorted
 * by name (not recursive, hidden files skipped). *out is a NULL-terminated
 * array the caller frees with ef_capture_inputs_free. */
int ef_capture_expand_inputs(const char *const *paths, int npaths, char ***out, int *nout,
                             ef_err_t *err);
void ef_capture_inputs_free(char **list);

#endif
