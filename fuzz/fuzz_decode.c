/* Fuzz target: packet decode over every supported link type.
 *
 * Input: byte 0 picks the link type (index into the supported list; the
 * values past it pick an unsupported type), byte 1 how many bytes of the
 * frame count as captured beyond caplen on the wire (wirelen), the rest is
 * the frame. Oracles beyond the sanitizers: a decoded packet's pointers and
 * lengths lie inside the frame, and the packet can be tracked by a flow
 * table and turned into features. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/decode.h"
#include "net/features.h"
#include "net/flow.h"

static const int linktypes[] = {
    EF_DLT_EN10MB, EF_DLT_LINUX_SLL, EF_DLT_LINUX_SLL2, EF_DLT_NULL, EF_DLT_LOOP,
    EF_DLT_RAW,    EF_DLT_RAW_ALT,   EF_DLT_LINKTYPE_RAW, EF_DLT_IPV4, EF_DLT_IPV6,
    /* unsupported: must be refused, not decoded */
    105 /* IEEE 802.11 */, 127 /* radiotap */,
};
#define N_LINKTYPES (sizeof linktypes / sizeof linktypes[0])

static void check_packet(const ef_packet_t *p, const uint8_t *frame, uint32_t caplen)
{
    if (p->l3 < frame || p->l3 > frame + caplen)
        abort();
    if ((size_t)(p->l3 - frame) + p->l3_caplen > caplen)
        abort();
    if (p->ip_version != 4 && p->ip_version != 6)
        abort();
    if (!(p->flags & EF_PKT_HAS_PORTS) && (p->sport || p->dport))
        abort();
}

static void track(const ef_packet_t *p)
{
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.memcap = 64 * 1024;
    cfg.frag_slots = 16;
    ef_flow_table_t *t = ef_flow_table_new(&cfg, NULL, NULL, NULL);
    if (!t)
        abort();
    ef_flow_hit_t hit;
    ef_packet_t q = *p;
    for (int i = 0; i < 3; i++) { /* new flow, then the same flow again */
        q.ts_us = p->ts_us + (uint64_t)i * 1000u;
        if (ef_flow_table_track(t, &q, &hit) == 0) {
            ef_features_t f;
            memset(&f, 0, sizeof f);
            ef_features_add(&f, q.ts_us, q.ip_len, hit.c2s);
        }
    }
    ef_flow_table_flush(t);
    ef_flow_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 70000)
        return 0;
    int linktype = linktypes[data[0] % N_LINKTYPES];
    uint32_t extra = data[1];
    /* A copy of exactly the frame's bytes, so ASan sees any over-read. */
    uint32_t caplen = (uint32_t)(size - 2);
    uint8_t *frame = malloc(caplen ? caplen : 1);
    if (!frame)
        return 0;
    memcpy(frame, data + 2, caplen);
    ef_packet_t p;
    ef_decode_status_t s = ef_decode(linktype, frame, caplen, caplen + extra, 1000000, &p);
    if ((unsigned)s >= EF_DEC_MAL__COUNT)
        abort();
    if (!ef_decode_linktype_supported(linktype) && s != EF_DEC_MAL_LINKTYPE)
        abort();
    if (s == EF_DEC_OK) {
        check_packet(&p, frame, caplen);
        track(&p);
    }
    free(frame);
    return 0;
}
