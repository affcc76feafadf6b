/* Fuzz target: the pcap / pcapng reading path as the host uses it.
 *
 * The input is written to a scratch file and opened with
 * ef_capture_open_file (libpcap underneath, plus earlyflow's own checks:
 * empty file, link type, truncated records, a reader that stops before the
 * end of the file); every frame is decoded and tracked in a small flow table
 * with the features, exactly the host's per-packet path. Oracles beyond the
 * sanitizers: a frame's caplen never exceeds its wirelen, and every refusal
 * or read error carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/capture.h"
#include "net/decode.h"
#include "net/features.h"
#include "net/flow.h"

#define MAX_FRAMES 4096 /* bounds the time one input can take */

typedef struct flow_ext {
    ef_features_t feat;
} flow_ext_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    const char *path = fuzz_scratch_file(".pcap", data, size);
    if (!path)
        return 0;
    ef_err_t err = {{0}};
    ef_capture_t *c = ef_capture_open_file(path, &err);
    if (!c) {
        if (!err.msg[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.memcap = 256 * 1024; /* small: eviction runs too */
    cfg.ext_size = sizeof(flow_ext_t);
    cfg.frag_slots = 64;
    ef_flow_table_t *t = ef_flow_table_new(&cfg, NULL, NULL, &err);
    if (!t)
        abort();
    int linktype = ef_capture_linktype(c);
    ef_frame_t fr;
    int rc = 0, n = 0;
    while (n++ < MAX_FRAMES && (rc = ef_capture_next(c, &fr, &err)) == 1) {
        if (fr.caplen > fr.wirelen)
            abort();
        ef_packet_t p;
        if (ef_decode(linktype, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &p) != EF_DEC_OK)
            continue;
        ef_flow_hit_t hit;
        if (ef_flow_table_track(t, &p, &hit) == 0) {
            flow_ext_t *x = ef_flow_ext(hit.flow);
            ef_features_add(&x->feat, p.ts_us, p.ip_len, hit.c2s);
        }
    }
    if (n <= MAX_FRAMES && rc < 0 && !err.msg[0])
        abort();
    ef_flow_table_flush(t);
    ef_flow_table_free(t);
    ef_capture_close(c);
    return 0;
}
