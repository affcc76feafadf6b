/* Packet sources: pcap / pcapng files (through libpcap) and live interfaces.
 *
 * A capture yields frames in file order with the capture's link type.
 * Errors name the file and the byte offset (files) or the interface (live):
 *     "trace.pcap: byte 81234: truncated packet record (caplen 1514, 320 bytes left)"
 * A file that libpcap opens but whose interfaces it cannot read yields an
 * error, not an empty success: libpcap's own refusal is passed on, and after
 * end of file the reader's position must have reached the file size. A link
 * type ef_decode() does not support is refused at open. Timestamps are
 * microseconds (nanosecond files are converted by libpcap, truncating).
 * One capture is used by one thread; only ef_capture_break() may be called
 * from another thread or a signal handler.
 *
 * Live captures: libpcap in promiscuous, immediate mode (each packet is
 * handed over as soon as the kernel has it). A read waits at most
 * EF_CAPTURE_READ_TIMEOUT_MS for a packet (poll on libpcap's descriptor;
 * libpcap's own read timeout is not relied on: with TPACKET_V3 it does not
 * expire while nothing arrives). Timestamps are the kernel's, i.e. the wall
 * clock (CLOCK_REALTIME), in microseconds, so they can step with the clock.
 * By default ef_capture_next() waits on across read timeouts until a packet
 * arrives or the capture is broken; after ef_capture_return_on_timeout(c, 1)
 * it returns EF_CAPTURE_TIMEOUT instead, so that a caller can advance its
 * own clocks and flush its output while the interface is quiet.
 * ef_capture_break() wakes a waiting read at once (a pipe the read polls). */
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

/* Bound on how long one read of a live capture waits for a packet (also
 * given to libpcap as its read timeout): short enough that a caller's idle
 * flows end and its output is flushed within a fraction of a second of
 * being due, long enough that a quiet interface costs ~10 wake-ups a
 * second. */
#define EF_CAPTURE_READ_TIMEOUT_MS 100

/* What ef_capture_next() returns. */
enum {
    EF_CAPTURE_ERROR = -1,  /* err set */
    EF_CAPTURE_END = 0,     /* end of input, or ef_capture_break() was called */
    EF_CAPTURE_FRAME = 1,   /* *frame filled */
    EF_CAPTURE_TIMEOUT = 2, /* live, after ef_capture_return_on_timeout(c, 1) only:
                               no packet within EF_CAPTURE_READ_TIMEOUT_MS; call again */
};

/* Next frame: returns 1 with *frame filled, 0 at end of input, -1 on error
 * (err set), 2 (EF_CAPTURE_TIMEOUT) on a live capture set to return on
 * timeouts when no packet arrived within the read timeout. Returns 0 after
 * ef_capture_break(). wirelen >= caplen always. */
int ef_capture_next(ef_capture_t *c, ef_frame_t *frame, ef_err_t *err);

/* Live captures: on = 1 makes ef_capture_next() return EF_CAPTURE_TIMEOUT
 * when a read timeout passes without a packet; on = 0 (the default) makes it
 * wait on. No effect on files, which never time out. */
void ef_capture_return_on_timeout(ef_capture_t *c, int on);

/* Make ef_capture_next() return 0, also when blocked on a live interface,
 * and on every later call (async-signal-safe). */
void ef_capture_break(ef_capture_t *c);

int ef_capture_linktype(const ef_capture_t *c);
const char *ef_capture_name(const ef_capture_t *c);
uint64_t ef_capture_bytes_read(const ef_capture_t *c); /* file offset, for progress */
uint64_t ef_capture_file_size(const ef_capture_t *c);  /* 0 when unknown / live */
uint64_t ef_capture_packets(const ef_capture_t *c);    /* frames returned so far */
void ef_capture_close(ef_capture_t *c);

/* Expand inputs: files as given ("-" too), directories into their regular
 * files sorted by name (byte order; not recursive, hidden files skipped).
 * *out is a NULL-terminated array the caller frees with
 * ef_capture_inputs_free. A path that does not exist, a directory with no
 * files, or no input at all is an error (-1, err set, *out NULL). */
int ef_capture_expand_inputs(const char *const *paths, int npaths, char ***out, int *nout,
                             ef_err_t *err);
void ef_capture_inputs_free(char **list);

#endif
