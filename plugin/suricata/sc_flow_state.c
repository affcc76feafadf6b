/* Per-flow state of the Suricata adapter: see sc_flow_state.h. */
#include "sc_flow_state.h"

#include <string.h>

void ef_sc_flow_reset(ef_sc_flow_t *s)
{
    ef_engine_flow_t keep = s->engine;
    memset(s, 0, sizeof *s);
    s->engine = keep;
}

int ef_sc_flow_direction(ef_sc_flow_t *s, int from_first_sender, int syn_ack)
{
    if (!s->oriented) {
        /* The packet that starts the flow decides, as in core/net/flow.h. */
        s->client_sent_first = (uint8_t)(from_first_sender ? !syn_ack : syn_ack);
        s->oriented = 1;
    }
    return (from_first_sender != 0) == (s->client_sent_first != 0);
}

void ef_sc_flow_packet_begin(ef_sc_flow_t *s, uint64_t packet_no)
{
    s->packet_no = packet_no;
    s->window = 0;
}

static uint8_t clamp_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int ef_sc_flow_store(ef_sc_flow_t *s, const ef_verdict_t *v, float min_score)
{
    int slot = ef_sc_slot_of_k(v->k);
    if (slot < 0)
        return -1;
    if (min_score > 0.0f && !(v->score >= min_score))
        return EF_SC_BELOW_MIN_SCORE;
    ef_sc_verdict_t *out = &s->verdict[slot];
    memset(out, 0, sizeof *out);
    out->score = v->score;
    out->packets = clamp_u8(v->packets);
    out->at_flow_end = v->at_flow_end ? 1 : 0;
    int label = v->label ? ef_category_from_label(v->label) : -1;
    out->label = label < 0 ? EF_SC_NO_LABEL : (uint8_t)label;
    if (label < 0)
        s->unmapped++;
    for (int i = 0; v->class_labels && v->probs && i < v->n_classes; i++) {
        int c = v->class_labels[i] ? ef_category_from_label(v->class_labels[i]) : -1;
        if (c < 0 || (out->class_mask >> c & 1u))
            continue; /* outside the taxonomy, or a repeated class */
        out->probs[c] = v->probs[i];
        out->class_mask |= (uint16_t)(1u << c);
        out->order[out->n_order++] = (uint8_t)c;
    }
    s->decided |= (uint8_t)(1u << slot);
    return slot;
}

void ef_sc_flow_packet_end(ef_sc_flow_t *s, int c2s)
{
    /* The first packet each way at or after a verdict: the verdict's own
     * packet always is one, since its slot was not decided before. */
    uint8_t take = (uint8_t)(s->decided & ~s->window_dirs[c2s ? 1 : 0]);
    s->window = take;
    s->window_dirs[c2s ? 1 : 0] |= take;
}

int ef_sc_flow_tcp_closes(ef_sc_flow_t *s, int c2s, uint8_t tcp_flags)
{
    if (tcp_flags & EF_SC_TCP_RST)
        return 1;
    if (!(tcp_flags & EF_SC_TCP_FIN))
        return 0;
    uint8_t before = s->fin;
    s->fin |= (uint8_t)(c2s ? 2u : 1u);
    return s->fin == 3u && before != 3u;
}

int ef_sc_flow_matchable(const ef_sc_flow_t *s, int slot, uint64_t packet_no)
{
    if (slot < 0 || slot >= EF_SC_SLOTS)
        return 0;
    return (s->window >> slot & 1u) && s->packet_no == packet_no;
}

int ef_sc_flow_has(const ef_sc_flow_t *s, int slot)
{
    return slot >= 0 && slot < EF_SC_SLOTS && (s->decided >> slot & 1u);
}

int ef_sc_flow_eve_slot(const ef_sc_flow_t *s)
{
    for (int slot = EF_SC_SLOTS - 1; slot >= 0; slot--)
        if (ef_sc_flow_has(s, slot))
            return slot;
    return -1;
}
