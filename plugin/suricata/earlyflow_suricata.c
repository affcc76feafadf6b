/* earlyflow-suricata.so: the earlyflow engine (core/ids/engine.h) inside
 * Suricata 8, through Suricata's plugin API.
 *
 * The file reads in the order of a flow's life:
 *   1. the plugin's few ids, its per-thread and per-flow state and their
 *      safe getters (Suricata's thread and flow storage hold all state);
 *   2. flow init / update / finish: every packet of a flow goes to the
 *      engine, which emits a verdict on the flow's k-th packet (for every k
 *      of earlyflow.k) and, for shorter flows, when the flow ends;
 *   3. thread init: the engine's per-thread scratch;
 *   4. the rule keywords early.label, early.score, early.k;
 *   5. the EVE callback adding an `early` object to the flow's records;
 *   6. configuration (the `earlyflow:` node of suricata.yaml), registration
 *      and SCPluginRegister, the one exported symbol.
 *
 * Timing inside Suricata (8.0.x): the flow update callback runs before
 * detection on the same packet, so a verdict made on the k-th packet is
 * visible to rules on that packet. The finish callback runs after the
 * flow's EVE record has been written, so the adapter produces flow-end
 * verdicts earlier where it can: on the packet that closes a TCP
 * conversation (RST, or the second FIN), and when the EVE callback is
 * handed the flow's final record (flow / netflow: no packet, end flags
 * set). What remains for the finish callback is only counted.
 * docs/integration-suricata.md has the user-facing account. */
/* suricata-common.h comes first: it sets feature macros for system headers. */
#include "suricata-common.h"
#include "suricata-plugin.h"

#include "conf.h"
#include "decode.h"
#include "detect-engine-helper.h"
#include "detect-parse.h"
#include "detect.h"
#include "flow-callbacks.h"
#include "flow-storage.h"
#include "flow.h"
#include "output-eve.h"
#include "thread-callbacks.h"
#include "thread-storage.h"
#include "util-debug.h"

#include <math.h>

#include "ids/engine.h"
#include "sc_flow_state.h"
#include "sc_keywords.h"

#ifndef EF_VERSION
#define EF_VERSION "unknown"
#endif

/* Written once by Init, before Suricata starts any packet thread; read-only
 * afterwards. Suricata's keyword callbacks take no user pointer, hence a
 * file-scope struct rather than a pointer passed around. */
static struct {
    ef_engine_t *engine;         /* lives until the process exits */
    FlowStorageId flow_id;
    ThreadStorageId thread_id;
    int kw_id[3];                /* by ef_sc_kw_kind_t */
    int default_k;               /* rules without early.k look at this k */
    uint8_t slots;               /* slot bits of the k the engine decides at */
    float min_score;             /* verdicts scoring below are dropped */
} plugin = {
    .flow_id = {.id = -1},
    .thread_id = {.id = -1},
    .kw_id = {-1, -1, -1},
};

/* Per thread: the engine's scratch and a few counters, logged when the
 * thread ends. */
typedef struct ThreadState {
    ef_engine_thread_t *engine;
    uint64_t verdicts;           /* verdicts stored by this thread */
    uint64_t after_record;       /* made at flow end after the flow's EVE record */
    uint64_t unmapped;           /* verdicts whose label is not a taxonomy label */
    uint64_t below_min_score;    /* verdicts dropped by earlyflow.min-score */
    uint64_t flows_without_state; /* flows whose state could not be allocated */
} ThreadState;

static ThreadState *GetThreadState(const ThreadVars *tv)
{
    if (tv == NULL || plugin.thread_id.id < 0)
        return NULL;
    ThreadState *th = ThreadGetStorageById(tv, plugin.thread_id);
    return th != NULL && th->engine != NULL ? th : NULL;
}

static ef_sc_flow_t *GetFlowState(const Flow *f)
{
    if (f == NULL || plugin.flow_id.id < 0)
        return NULL;
    return FlowGetStorageById(f, plugin.flow_id);
}

/* Suricata's own count of the flow's packets: identifies "the current
 * packet" between the flow update callback and the keyword matches. */
static uint64_t FlowPacketNumber(const Flow *f)
{
    return (uint64_t)f->todstpktcnt + f->tosrcpktcnt;
}

/* Where engine verdicts go while a thread works on one flow. */
typedef struct VerdictSink {
    ef_sc_flow_t *state;
    ThreadState *thread;
} VerdictSink;

static void StoreVerdict(void *user, const ef_verdict_t *v)
{
    VerdictSink *sink = user;
    uint32_t unmapped = sink->state->unmapped;
    int slot = ef_sc_flow_store(sink->state, v, plugin.min_score);
    if (slot == EF_SC_BELOW_MIN_SCORE)
        sink->thread->below_min_score++;
    if (slot < 0)
        return;
    sink->thread->verdicts++;
    sink->thread->unmapped += sink->state->unmapped - unmapped;
}

/* The verdicts of every k the flow did not reach, once per flow. Returns
 * how many were made. */
static int EndFlow(ef_sc_flow_t *state, ThreadState *th)
{
    if (state->ended)
        return 0;
    state->ended = 1;
    VerdictSink sink = {state, th};
    return ef_engine_flow_end(th->engine, &state->engine, StoreVerdict, &sink);
}

/* ---- Flow life ---------------------------------------------------------- */

static void FlowStateFree(void *ptr)
{
    SCFree(ptr);
}

static void OnFlowInit(ThreadVars *tv, Flow *f, const Packet *p, void *user)
{
    if (f == NULL || plugin.flow_id.id < 0)
        return;
    /* A recycled flow has had its storage freed; reuse anything left over. */
    ef_sc_flow_t *state = FlowGetStorageById(f, plugin.flow_id);
    if (state == NULL) {
        state = SCCalloc(1, sizeof(*state));
        if (state == NULL) {
            ThreadState *th = GetThreadState(tv);
            if (th != NULL)
                th->flows_without_state++;
            return;
        }
        if (FlowSetStorageById(f, plugin.flow_id, state) != 0) {
            SCFree(state);
            return;
        }
    }
    ef_engine_flow_init(&state->engine);
    ef_sc_flow_reset(state);
}

/* IP total length as earlyflow's features define it (IPv6: payload length
 * plus the fixed header, clamped to 16 bits). 0 when the packet has no IP
 * layer. */
static uint16_t PacketIpLength(const Packet *p)
{
    if (PacketIsIPv4(p))
        return IPV4_GET_RAW_IPLEN(PacketGetIPv4(p));
    if (PacketIsIPv6(p)) {
        uint32_t len = IPV6_HEADER_LEN + (uint32_t)IPV6_GET_RAW_PLEN(PacketGetIPv6(p));
        return len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
    }
    return 0;
}

static uint64_t PacketTimeUs(const Packet *p)
{
    return (uint64_t)SCTIME_SECS(p->ts) * 1000000u + (uint64_t)SCTIME_USECS(p->ts);
}

/* 1 when the packet comes from the host that sent the flow's first packet.
 * Suricata's to-server flag follows any later re-orientation of the flow
 * (FlowSwap sets FLOW_DIR_REVERSED); undoing it gives the fixed view. */
static int PacketFromFirstSender(const Flow *f, const Packet *p)
{
    int to_server = (p->flowflags & FLOW_PKT_TOSERVER) != 0;
    int reversed = (f->flags & FLOW_DIR_REVERSED) != 0;
    return to_server != reversed;
}

static void OnFlowUpdate(ThreadVars *tv, Flow *f, Packet *p, void *user)
{
    if (f == NULL || p == NULL)
        return;
    ef_sc_flow_t *state = GetFlowState(f);
    ThreadState *th = GetThreadState(tv);
    if (state == NULL || th == NULL)
        return;
    ef_sc_flow_packet_begin(state, FlowPacketNumber(f));

    /* ICMP errors quoting a flow's packet are attached to that flow; they
     * are not the flow's own packets. */
    if (PKT_IS_PSEUDOPKT(p) || p->proto != f->proto)
        return;
    uint16_t ip_len = PacketIpLength(p);
    if (ip_len == 0)
        return;
    uint8_t tcp_flags = PacketIsTCP(p) ? PacketGetTCP(p)->th_flags : 0;
    int syn_ack = (tcp_flags & (EF_SC_TCP_SYN | EF_SC_TCP_ACK)) == (EF_SC_TCP_SYN | EF_SC_TCP_ACK);
    int c2s = ef_sc_flow_direction(state, PacketFromFirstSender(f, p), syn_ack);

    /* Once every k is decided the engine has nothing left to do. */
    if (!state->ended && (state->decided & plugin.slots) != plugin.slots) {
        VerdictSink sink = {state, th};
        ef_engine_packet(th->engine, &state->engine, PacketTimeUs(p), ip_len, c2s, StoreVerdict,
                         &sink);
        /* The conversation is over: decide now, while rules still see a
         * packet of the flow, rather than after its EVE record. */
        if (tcp_flags != 0 && ef_sc_flow_tcp_closes(state, c2s, tcp_flags))
            EndFlow(state, th);
    }
    ef_sc_flow_packet_end(state, c2s);
}

static void OnFlowFinish(ThreadVars *tv, Flow *f, void *user)
{
    ef_sc_flow_t *state = GetFlowState(f);
    ThreadState *th = GetThreadState(tv);
    if (state == NULL || th == NULL)
        return;
    /* Only when no EVE flow record ended the flow: these verdicts reach
     * nothing but this thread's counters. Suricata frees the state next. */
    int late = EndFlow(state, th);
    if (late > 0)
        th->after_record += (uint64_t)late;
}

/* ---- Threads ------------------------------------------------------------ */

static void ThreadStateFree(void *ptr)
{
    ThreadState *th = ptr;
    if (th == NULL)
        return;
    if (th->verdicts > 0 || th->below_min_score > 0 || th->flows_without_state > 0)
        SCLogInfo("earlyflow: %" PRIu64 " verdicts (%" PRIu64 " made after the flow's EVE "
                  "record, %" PRIu64 " with a label outside the taxonomy), %" PRIu64
                  " below earlyflow.min-score dropped, %" PRIu64
                  " flows without state (out of memory)",
                  th->verdicts, th->after_record, th->unmapped, th->below_min_score,
                  th->flows_without_state);
    ef_engine_thread_free(th->engine);
    SCFree(th);
}

/* Runs for every Suricata thread as it is created (packet workers, and the
 * flow manager / recycler threads that end flows). */
static void OnThreadInit(ThreadVars *tv, void *user)
{
    if (tv == NULL || plugin.thread_id.id < 0)
        return;
    ThreadState *th = SCCalloc(1, sizeof(*th));
    if (th == NULL)
        FatalError("earlyflow: out of memory for thread state");
    ef_err_t err;
    th->engine = ef_engine_thread_new(plugin.engine, &err);
    if (th->engine == NULL)
        FatalError("earlyflow: thread scratch: %s", err.msg);
    if (ThreadSetStorageById(tv, plugin.thread_id, th) != 0)
        ThreadStateFree(th);
}

/* ---- Rule keywords ------------------------------------------------------ */

static int IsEarlyKeyword(uint16_t type)
{
    for (int i = 0; i < 3; i++)
        if (plugin.kw_id[i] >= 0 && type == (uint16_t)plugin.kw_id[i])
            return 1;
    return 0;
}

/* One Match for all three keywords: the flow must have a verdict for the
 * keyword's k, this packet must be in that verdict's match window (see
 * sc_flow_state.h), and the verdict must satisfy the keyword. */
static int EarlyMatch(DetectEngineThreadCtx *det_ctx, Packet *p, const Signature *s,
                      const SigMatchCtx *ctx)
{
    if (p == NULL || p->flow == NULL || ctx == NULL || PKT_IS_PSEUDOPKT(p))
        return 0;
    const ef_sc_kw_t *kw = (const ef_sc_kw_t *)ctx;
    const ef_sc_flow_t *state = GetFlowState(p->flow);
    if (state == NULL)
        return 0;
    int slot = ef_sc_slot_of_k(kw->k);
    if (!ef_sc_flow_matchable(state, slot, FlowPacketNumber(p->flow)))
        return 0;
    return ef_sc_kw_match(kw, &state->verdict[slot]);
}

/* early.k may come before or after early.label / early.score in a rule:
 * whichever comes second copies or hands over the k. Each early.* keyword
 * may appear once per rule, as in earlyflow's own rules. */
static int ResolveRuleK(Signature *s, ef_sc_kw_t *kw)
{
    for (SigMatch *sm = s->init_data->smlists[DETECT_SM_LIST_MATCH]; sm != NULL; sm = sm->next) {
        if (!IsEarlyKeyword(sm->type))
            continue;
        ef_sc_kw_t *other = (ef_sc_kw_t *)sm->ctx;
        if (kw->kind == other->kind) {
            SCLogError("%s: given twice in one rule", ef_sc_kw_name((ef_sc_kw_kind_t)kw->kind));
            return -1;
        }
        if (kw->kind == EF_SC_KW_K)
            other->k = kw->k;
        else if (other->kind == EF_SC_KW_K)
            kw->k = other->k;
    }
    if (kw->k == 0)
        kw->k = (uint8_t)plugin.default_k;
    return 0;
}

static int EarlySetup(DetectEngineCtx *de_ctx, Signature *s, const char *arg,
                      ef_sc_kw_kind_t kind)
{
    ef_sc_kw_t *kw = SCCalloc(1, sizeof(*kw));
    if (kw == NULL)
        return -1;
    ef_err_t err;
    if (ef_sc_kw_parse(kind, arg, kw, &err) < 0) {
        SCLogError("%s", err.msg);
        goto error;
    }
    if (kind == EF_SC_KW_K && !(ef_engine_k_mask(plugin.engine) >> kw->k & 1u)) {
        SCLogError("early.k:%d: earlyflow does not decide at k=%d; add %d to earlyflow.k in "
                   "suricata.yaml",
                   kw->k, kw->k, kw->k);
        goto error;
    }
    if (ResolveRuleK(s, kw) < 0)
        goto error;
    if (SCSigMatchAppendSMToList(de_ctx, s, (uint16_t)plugin.kw_id[kind], (SigMatchCtx *)kw,
                                 DETECT_SM_LIST_MATCH) == NULL)
        goto error;
    return 0;
error:
    SCFree(kw);
    return -1;
}

static int EarlyLabelSetup(DetectEngineCtx *de_ctx, Signature *s, const char *arg)
{
    return EarlySetup(de_ctx, s, arg, EF_SC_KW_LABEL);
}

static int EarlyScoreSetup(DetectEngineCtx *de_ctx, Signature *s, const char *arg)
{
    return EarlySetup(de_ctx, s, arg, EF_SC_KW_SCORE);
}

static int EarlyKSetup(DetectEngineCtx *de_ctx, Signature *s, const char *arg)
{
    return EarlySetup(de_ctx, s, arg, EF_SC_KW_K);
}

static void EarlyFree(DetectEngineCtx *de_ctx, void *ptr)
{
    SCFree(ptr);
}

/* ---- EVE ---------------------------------------------------------------- */

/* Scores are float32; six decimals print them without float noise. */
static double Rounded(float v)
{
    return round((double)v * 1e6) / 1e6;
}

static void WriteVerdictFields(SCJsonBuilder *jb, int slot, const ef_sc_verdict_t *v)
{
    if (v->label == EF_SC_NO_LABEL)
        SCJbSetFormatted(jb, "\"label\":null");
    else
        SCJbSetString(jb, "label", ef_category_label((ef_category_t)v->label));
    SCJbSetFloat(jb, "score", Rounded(v->score));
    SCJbSetUint(jb, "k", (uint64_t)ef_sc_k_of_slot(slot));
    SCJbSetUint(jb, "packets", v->packets);
    SCJbSetBool(jb, "at_flow_end", v->at_flow_end != 0);
    const char *model = ef_engine_model_name(plugin.engine, ef_sc_k_of_slot(slot));
    if (model != NULL)
        SCJbSetString(jb, "model", model);
}

/* "early": the verdict of the largest k decided so far; with several k
 * decided, "by_k" lists all of them (without probabilities). */
static void WriteEarly(SCJsonBuilder *jb, const ef_sc_flow_t *state, int shown)
{
    const ef_sc_verdict_t *v = &state->verdict[shown];
    if (!SCJbOpenObject(jb, "early"))
        return;
    WriteVerdictFields(jb, shown, v);
    /* In the model's class order, left out when the model gives none. */
    if (v->n_order > 0 && SCJbOpenObject(jb, "probabilities")) {
        for (int i = 0; i < v->n_order && i < EF_CAT__COUNT; i++) {
            ef_category_t c = (ef_category_t)v->order[i];
            SCJbSetFloat(jb, ef_category_label(c), Rounded(v->probs[c]));
        }
        SCJbClose(jb);
    }
    int listed = 0;
    for (int slot = 0; slot < EF_SC_SLOTS; slot++)
        listed += ef_sc_flow_has(state, slot);
    if (listed > 1 && SCJbOpenArray(jb, "by_k")) {
        for (int slot = 0; slot < EF_SC_SLOTS; slot++) {
            if (!ef_sc_flow_has(state, slot) || !SCJbStartObject(jb))
                continue;
            WriteVerdictFields(jb, slot, &state->verdict[slot]);
            SCJbClose(jb);
        }
        SCJbClose(jb);
    }
    SCJbClose(jb);
}

/* Suricata calls this for every EVE record it builds; packet and flow may
 * each be NULL (stats, records without a flow, flow records). */
static void OnEveRecord(ThreadVars *tv, const Packet *p, Flow *f, SCJsonBuilder *jb, void *user)
{
    if (f == NULL || jb == NULL)
        return;
    ef_sc_flow_t *state = GetFlowState(f);
    if (state == NULL)
        return;
    /* No packet and end flags set: this is the flow's final record (flow or
     * netflow). Make the flow-end verdicts now so the record carries them. */
    if (p == NULL && f->flow_end_flags != 0 && !state->ended) {
        ThreadState *th = GetThreadState(tv);
        if (th != NULL)
            EndFlow(state, th);
    }
    int shown = ef_sc_flow_eve_slot(state);
    if (shown >= 0)
        WriteEarly(jb, state, shown);
}

/* ---- Configuration and registration ------------------------------------- */

/* earlyflow.k as "3,5": a scalar ("5", "3,5") or a YAML sequence. */
static int ReadKList(char *buf, size_t size, ef_err_t *err)
{
    buf[0] = '\0';
    SCConfNode *node = SCConfGetNode("earlyflow.k");
    if (node == NULL)
        return 0;
    if (TAILQ_EMPTY(&node->head)) {
        if (node->val == NULL || strlen(node->val) >= size)
            return ef_err_set(err, "earlyflow.k: expected a list of k such as [3, 5]");
        memcpy(buf, node->val, strlen(node->val) + 1);
        return 0;
    }
    SCConfNode *item;
    size_t used = 0;
    TAILQ_FOREACH (item, &node->head, next) {
        size_t n = item->val != NULL ? strlen(item->val) : 0;
        if (n == 0 || used + n + 2 > size)
            return ef_err_set(err, "earlyflow.k.%s: expected one of 3, 5, 10, 20", item->name);
        if (used > 0)
            buf[used++] = ',';
        memcpy(buf + used, item->val, n + 1);
        used += n;
    }
    return 0;
}

/* earlyflow.models.<k>: one model file per k. */
static int ReadPerKModels(ef_engine_config_t *cfg, ef_err_t *err)
{
    SCConfNode *node = SCConfGetNode("earlyflow.models");
    if (node == NULL)
        return 0;
    SCConfNode *item;
    TAILQ_FOREACH (item, &node->head, next) {
        int k = (int)strtol(item->name, NULL, 10);
        char canonical[8];
        snprintf(canonical, sizeof(canonical), "%d", k);
        if (ef_sc_slot_of_k(k) < 0 || strcmp(canonical, item->name) != 0)
            return ef_err_set(err, "earlyflow.models.%s: expected a k (3, 5, 10 or 20) as key",
                              item->name);
        if (item->val == NULL || item->val[0] == '\0')
            return ef_err_set(err, "earlyflow.models.%s: expected a model file path", item->name);
        cfg->model_for_k[k] = item->val;
    }
    return 0;
}

/* Keys of the `earlyflow:` section that only earlyflow's own host reads
 * (docs/config.md): one file may serve both hosts, so these are noted, not
 * warned about. Anything else is a likely typo. */
static void CheckSectionKeys(void)
{
    static const char *const used[] = {"model", "models", "k", "min-score"};
    static const char *const own_host[] = {"flow-timeouts", "memcap", "ndpi", "eve"};
    SCConfNode *node = SCConfGetNode("earlyflow");
    if (node == NULL)
        return;
    SCConfNode *item;
    TAILQ_FOREACH (item, &node->head, next) {
        int known = 0;
        for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
            known |= strcmp(item->name, used[i]) == 0;
        for (size_t i = 0; !known && i < sizeof(own_host) / sizeof(own_host[0]); i++) {
            if (strcmp(item->name, own_host[i]) == 0) {
                SCLogConfig("earlyflow.%s: used by earlyflow's own host only; inside Suricata "
                            "its flow, stream, app-layer and output settings apply",
                            item->name);
                known = 1;
            }
        }
        if (!known)
            SCLogWarning("earlyflow.%s: unknown key, ignored (known: model, models, k, "
                         "min-score; own-host only: flow-timeouts, memcap, ndpi, eve)",
                         item->name);
    }
}

static int ReadConfig(ef_engine_config_t *cfg, int *first_k, ef_err_t *err)
{
    char k_list[64];
    memset(cfg, 0, sizeof(*cfg));
    *first_k = 0;
    const char *model = NULL;
    if (SCConfGet("earlyflow.model", &model) == 1)
        cfg->model = model;
    if (ReadKList(k_list, sizeof(k_list), err) < 0 || ReadPerKModels(cfg, err) < 0)
        return -1;
    if (k_list[0] != '\0') {
        if (ef_engine_parse_k_list(k_list, &cfg->k_mask, err) < 0)
            return ef_err_prefix(err, "earlyflow.k");
        /* As in earlyflow's own rules: the first k listed is the default. */
        *first_k = (int)strtol(k_list, NULL, 10);
    }
    const char *min_score = NULL;
    if (SCConfGet("earlyflow.min-score", &min_score) == 1 && min_score != NULL &&
        ef_sc_parse_min_score(min_score, &plugin.min_score, err) < 0)
        return -1;
    CheckSectionKeys();
    return 0;
}

static void RegisterKeyword(ef_sc_kw_kind_t kind, const char *desc,
                            int (*setup)(DetectEngineCtx *, Signature *, const char *))
{
    int id = SCDetectHelperNewKeywordId();
    if (id < 0)
        FatalError("earlyflow: no room for rule keyword %s", ef_sc_kw_name(kind));
    plugin.kw_id[kind] = id;
    sigmatch_table[id].name = ef_sc_kw_name(kind);
    sigmatch_table[id].desc = desc;
    sigmatch_table[id].Match = EarlyMatch;
    sigmatch_table[id].Setup = setup;
    sigmatch_table[id].Free = EarlyFree;
    /* No SIGMATCH_QUOTES_OPTIONAL: quoted values are refused, as earlyflow's
     * own rules refuse them; no SIGMATCH_HANDLE_NEGATION: early.label's '!'
     * is part of the value its parser reads. */
    sigmatch_table[id].flags = 0;
}

static void EarlyflowInit(void)
{
    ef_engine_config_t cfg;
    ef_err_t err;
    int first_k;
    if (ReadConfig(&cfg, &first_k, &err) < 0)
        FatalError("earlyflow: %s", err.msg);
    plugin.engine = ef_engine_new(&cfg, &err);
    if (plugin.engine == NULL)
        FatalError("earlyflow: %s", err.msg);
    uint32_t mask = ef_engine_k_mask(plugin.engine);
    for (int slot = 0; slot < EF_SC_SLOTS; slot++)
        if (mask >> ef_sc_k_of_slot(slot) & 1u)
            plugin.slots |= (uint8_t)(1u << slot);
    if (plugin.slots == 0)
        FatalError("earlyflow: the engine decides at no k of 3, 5, 10, 20 (mask 0x%x)", mask);
    /* The first k of earlyflow.k; without one, the smallest the engine uses. */
    if (first_k > 0 && first_k <= EF_K_MAX && (mask >> first_k & 1u))
        plugin.default_k = first_k;
    for (int slot = 0; plugin.default_k == 0 && slot < EF_SC_SLOTS; slot++)
        if (plugin.slots >> slot & 1u)
            plugin.default_k = ef_sc_k_of_slot(slot);

    plugin.flow_id = FlowStorageRegister("earlyflow", sizeof(void *), NULL, FlowStateFree);
    plugin.thread_id = ThreadStorageRegister("earlyflow", sizeof(void *), NULL, ThreadStateFree);
    if (plugin.flow_id.id < 0 || plugin.thread_id.id < 0)
        FatalError("earlyflow: could not register flow/thread storage");
    if (!SCFlowRegisterInitCallback(OnFlowInit, NULL) ||
        !SCFlowRegisterUpdateCallback(OnFlowUpdate, NULL) ||
        !SCFlowRegisterFinishCallback(OnFlowFinish, NULL) ||
        !SCThreadRegisterInitCallback(OnThreadInit, NULL) ||
        !SCEveRegisterCallback(OnEveRecord, NULL))
        FatalError("earlyflow: could not register callbacks (out of memory)");

    RegisterKeyword(EF_SC_KW_LABEL, "match the earlyflow verdict's MAWILab label", EarlyLabelSetup);
    RegisterKeyword(EF_SC_KW_SCORE, "match the earlyflow verdict's score", EarlyScoreSetup);
    RegisterKeyword(EF_SC_KW_K, "choose the k whose earlyflow verdict a rule looks at",
                    EarlyKSetup);

    char models[160] = "";
    for (int slot = 0; slot < EF_SC_SLOTS; slot++) {
        int k = ef_sc_k_of_slot(slot);
        const char *name = ef_engine_model_name(plugin.engine, k);
        if (name != NULL && strlen(models) + strlen(name) + 8 < sizeof(models))
            snprintf(models + strlen(models), sizeof(models) - strlen(models), "%sk=%d:%s",
                     models[0] != '\0' ? ", " : "", k, name);
    }
    SCLogConfig("earlyflow: deciding with %s; rules without early.k use k=%d", models,
                plugin.default_k);
}

const SCPlugin *SCPluginRegister(void) __attribute__((visibility("default")));

const SCPlugin *SCPluginRegister(void)
{
    static const SCPlugin registration = {
        .version = SC_API_VERSION,
        .suricata_version = SC_PACKAGE_VERSION,
        .name = "earlyflow",
        .plugin_version = EF_VERSION,
        .license = "GPLv2",
        .author = "earlyflow contributors",
        .Init = EarlyflowInit,
    };
    return &registration;
}
