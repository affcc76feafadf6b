/* The Suricata adapter's Suricata-free half: per-flow state (orientation,
 * verdict storage, rule match window, TCP close, what EVE shows) and the
 * early.label / early.score / early.k values. Suricata itself cannot run
 * here (docs/integration-suricata.md), so this is what runs in CI.
 *
 * The two sources are compiled into this test directly: they belong to
 * earlyflow-suricata.so, which is only built when Suricata headers exist. */
#include "eftest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "suricata/sc_flow_state.c"
#include "suricata/sc_keywords.c"

static const char *const all_labels[] = {"Unlabeled", "HTTP", "Multi", "Alpha", "NetworkScan",
                                         "PortScan", "DoS", "IPv6Tunnel", "Other", "Unknown"};

/* A verdict as the engine hands it over: `label` wins with `score`, the
 * other classes share the rest. */
static ef_verdict_t make_verdict(int k, const char *label, float score, float *probs)
{
    for (int i = 0; i < 10; i++)
        probs[i] = strcmp(all_labels[i], label) == 0 ? score : (1.0f - score) / 9.0f;
    ef_verdict_t v = {.label = label, .score = score, .k = k, .packets = k,
                      .model = "test", .n_classes = 10, .class_labels = all_labels,
                      .probs = probs};
    return v;
}

static ef_sc_flow_t fresh_flow(void)
{
    ef_sc_flow_t s;
    memset(&s, 0xa5, sizeof s); /* reset must not rely on zeroed storage */
    ef_sc_flow_reset(&s);
    return s;
}

/* ---- orientation ---- */

START_TEST(first_sender_is_client)
{
    ef_sc_flow_t s = fresh_flow();
    ck_assert_int_eq(ef_sc_flow_direction(&s, 1, 0), 1); /* SYN from A */
    ck_assert_int_eq(ef_sc_flow_direction(&s, 0, 1), 0); /* SYN+ACK back */
    ck_assert_int_eq(ef_sc_flow_direction(&s, 1, 0), 1);
}
END_TEST

START_TEST(syn_ack_first_makes_its_receiver_client)
{
    /* Capture started mid-handshake: the SYN+ACK sender is the server. */
    ef_sc_flow_t s = fresh_flow();
    ck_assert_int_eq(ef_sc_flow_direction(&s, 1, 1), 0);
    ck_assert_int_eq(ef_sc_flow_direction(&s, 0, 0), 1);
    ck_assert_int_eq(ef_sc_flow_direction(&s, 1, 0), 0);
}
END_TEST

START_TEST(later_syn_ack_does_not_reorient)
{
    ef_sc_flow_t s = fresh_flow();
    ck_assert_int_eq(ef_sc_flow_direction(&s, 1, 0), 1);
    ck_assert_int_eq(ef_sc_flow_direction(&s, 1, 1), 1);
    ck_assert_int_eq(ef_sc_flow_direction(&s, 0, 1), 0);
}
END_TEST

/* ---- verdict storage ---- */

START_TEST(store_maps_labels_to_taxonomy)
{
    ef_sc_flow_t s = fresh_flow();
    float probs[10];
    ef_verdict_t v = make_verdict(5, "NetworkScan", 0.875f, probs);
    ck_assert_int_eq(ef_sc_flow_store(&s, &v, 0.0f), 1);
    ck_assert_uint_eq(s.decided, 1u << 1);
    const ef_sc_verdict_t *out = &s.verdict[1];
    ck_assert_uint_eq(out->label, EF_CAT_NETWORKSCAN);
    ck_assert_float_eq(out->score, 0.875f);
    ck_assert_uint_eq(out->packets, 5);
    ck_assert_uint_eq(out->at_flow_end, 0);
    ck_assert_uint_eq(out->class_mask, (1u << EF_CAT__COUNT) - 1);
    ck_assert_float_eq(out->probs[EF_CAT_NETWORKSCAN], 0.875f);
    ck_assert_float_eq_tol(out->probs[EF_CAT_DOS], 0.125f / 9.0f, 1e-7f);
    ck_assert_uint_eq(s.unmapped, 0);
}
END_TEST

START_TEST(store_follows_the_models_class_order)
{
    /* A model with three classes in its own order. */
    static const char *const labels[] = {"DoS", "Unlabeled", "HTTP"};
    const float probs[] = {0.25f, 0.5f, 0.25f};
    ef_verdict_t v = {.label = "Unlabeled", .score = 0.5f, .k = 20, .packets = 7,
                      .at_flow_end = 1, .n_classes = 3, .class_labels = labels, .probs = probs};
    ef_sc_flow_t s = fresh_flow();
    ck_assert_int_eq(ef_sc_flow_store(&s, &v, 0.0f), 3);
    const ef_sc_verdict_t *out = &s.verdict[3];
    ck_assert_uint_eq(out->label, EF_CAT_UNLABELED);
    ck_assert_uint_eq(out->class_mask,
                      (1u << EF_CAT_DOS) | (1u << EF_CAT_UNLABELED) | (1u << EF_CAT_HTTP));
    ck_assert_float_eq(out->probs[EF_CAT_DOS], 0.25f);
    ck_assert_float_eq(out->probs[EF_CAT_UNLABELED], 0.5f);
    ck_assert_uint_eq(out->packets, 7);
    ck_assert_uint_eq(out->at_flow_end, 1);
}
END_TEST

START_TEST(store_keeps_labels_outside_the_taxonomy_as_no_label)
{
    static const char *const labels[] = {"benign", "PortScan"};
    const float probs[] = {0.75f, 0.25f};
    ef_verdict_t v = {.label = "benign", .score = 0.75f, .k = 3, .packets = 3,
                      .n_classes = 2, .class_labels = labels, .probs = probs};
    ef_sc_flow_t s = fresh_flow();
    ck_assert_int_eq(ef_sc_flow_store(&s, &v, 0.0f), 0);
    ck_assert_uint_eq(s.verdict[0].label, EF_SC_NO_LABEL);
    ck_assert_uint_eq(s.verdict[0].class_mask, 1u << EF_CAT_PORTSCAN);
    ck_assert_uint_eq(s.unmapped, 1);
    /* NULL label and class arrays are survivable too. */
    ef_verdict_t bare = {.label = NULL, .score = 0.5f, .k = 10, .packets = 300};
    ck_assert_int_eq(ef_sc_flow_store(&s, &bare, 0.0f), 2);
    ck_assert_uint_eq(s.verdict[2].label, EF_SC_NO_LABEL);
    ck_assert_uint_eq(s.verdict[2].class_mask, 0);
    ck_assert_uint_eq(s.verdict[2].packets, 255); /* clamped, not wrapped */
    ck_assert_uint_eq(s.unmapped, 2);
}
END_TEST

START_TEST(store_refuses_other_k)
{
    ef_sc_flow_t s = fresh_flow();
    float probs[10];
    int bad_k[] = {0, 1, 4, 6, 21, -3};
    for (size_t i = 0; i < sizeof bad_k / sizeof bad_k[0]; i++) {
        ef_verdict_t v = make_verdict(bad_k[i], "DoS", 0.9f, probs);
        ck_assert_int_eq(ef_sc_flow_store(&s, &v, 0.0f), -1);
    }
    ck_assert_uint_eq(s.decided, 0);
}
END_TEST

/* ---- rule match window ---- */

/* One packet through the state as the adapter's flow update does it,
 * storing a verdict for k on that packet when verdict_k != 0. */
static void packet(ef_sc_flow_t *s, uint64_t no, int c2s, int verdict_k)
{
    float probs[10];
    ef_sc_flow_packet_begin(s, no);
    if (verdict_k) {
        ef_verdict_t v = make_verdict(verdict_k, "PortScan", 0.9f, probs);
        ck_assert_int_ge(ef_sc_flow_store(s, &v, 0.0f), 0);
    }
    ef_sc_flow_packet_end(s, c2s);
}

START_TEST(window_is_verdict_packet_and_first_packet_back)
{
    ef_sc_flow_t s = fresh_flow();
    int k5 = ef_sc_slot_of_k(5);
    packet(&s, 1, 1, 0);
    packet(&s, 2, 0, 0);
    packet(&s, 3, 1, 0);
    packet(&s, 4, 1, 0);
    ck_assert(!ef_sc_flow_matchable(&s, k5, 4));
    packet(&s, 5, 1, 5); /* the 5th packet, client -> server, decides */
    ck_assert(ef_sc_flow_matchable(&s, k5, 5));
    packet(&s, 6, 1, 0); /* same direction again: no second chance */
    ck_assert(!ef_sc_flow_matchable(&s, k5, 6));
    packet(&s, 7, 0, 0); /* first packet the other way */
    ck_assert(ef_sc_flow_matchable(&s, k5, 7));
    packet(&s, 8, 0, 0);
    packet(&s, 9, 1, 0);
    ck_assert(!ef_sc_flow_matchable(&s, k5, 8));
    ck_assert(!ef_sc_flow_matchable(&s, k5, 9));
}
END_TEST

START_TEST(window_needs_the_current_packet_number)
{
    ef_sc_flow_t s = fresh_flow();
    int k3 = ef_sc_slot_of_k(3);
    packet(&s, 3, 0, 3);
    ck_assert(ef_sc_flow_matchable(&s, k3, 3));
    /* A packet the update callback never saw (same count, e.g. a pseudo
     * packet, or another number) must not match. */
    ck_assert(!ef_sc_flow_matchable(&s, k3, 4));
    ck_assert(!ef_sc_flow_matchable(&s, k3, 2));
    /* A skipped packet (begin without end) clears the window. */
    ef_sc_flow_packet_begin(&s, 4);
    ck_assert(!ef_sc_flow_matchable(&s, k3, 4));
    ck_assert(!ef_sc_flow_matchable(&s, -1, 4));
    ck_assert(!ef_sc_flow_matchable(&s, EF_SC_SLOTS, 4));
}
END_TEST

START_TEST(window_slots_are_independent)
{
    ef_sc_flow_t s = fresh_flow();
    int k3 = ef_sc_slot_of_k(3), k5 = ef_sc_slot_of_k(5);
    packet(&s, 1, 1, 0);
    packet(&s, 2, 0, 0);
    packet(&s, 3, 1, 3);
    ck_assert(ef_sc_flow_matchable(&s, k3, 3));
    ck_assert(!ef_sc_flow_matchable(&s, k5, 3));
    packet(&s, 4, 1, 0);
    packet(&s, 5, 0, 5); /* decides k=5 and is k=3's first packet back */
    ck_assert(ef_sc_flow_matchable(&s, k3, 5));
    ck_assert(ef_sc_flow_matchable(&s, k5, 5));
    packet(&s, 6, 1, 0);
    ck_assert(!ef_sc_flow_matchable(&s, k3, 6));
    ck_assert(ef_sc_flow_matchable(&s, k5, 6));
}
END_TEST

START_TEST(verdict_between_packets_opens_the_next_ones)
{
    /* Flow-end verdicts made outside a packet (EVE record, finish). */
    ef_sc_flow_t s = fresh_flow();
    float probs[10];
    packet(&s, 1, 1, 0);
    ef_verdict_t v = make_verdict(5, "NetworkScan", 0.99f, probs);
    v.packets = 1;
    v.at_flow_end = 1;
    ck_assert_int_eq(ef_sc_flow_store(&s, &v, 0.0f), 1);
    ck_assert(!ef_sc_flow_matchable(&s, 1, 1)); /* packet 1 was already inspected */
    packet(&s, 2, 0, 0);
    ck_assert(ef_sc_flow_matchable(&s, 1, 2));
}
END_TEST

/* ---- TCP close ---- */

START_TEST(rst_closes_at_once)
{
    ef_sc_flow_t s = fresh_flow();
    ck_assert(!ef_sc_flow_tcp_closes(&s, 1, EF_SC_TCP_SYN));
    ck_assert(ef_sc_flow_tcp_closes(&s, 0, EF_SC_TCP_RST | EF_SC_TCP_ACK));
}
END_TEST

START_TEST(fin_closes_when_both_sides_sent_one)
{
    ef_sc_flow_t s = fresh_flow();
    ck_assert(!ef_sc_flow_tcp_closes(&s, 1, EF_SC_TCP_FIN | EF_SC_TCP_ACK));
    ck_assert(!ef_sc_flow_tcp_closes(&s, 1, EF_SC_TCP_FIN)); /* retransmitted */
    ck_assert(!ef_sc_flow_tcp_closes(&s, 1, EF_SC_TCP_ACK));
    ck_assert(ef_sc_flow_tcp_closes(&s, 0, EF_SC_TCP_FIN | EF_SC_TCP_ACK));
    ck_assert(!ef_sc_flow_tcp_closes(&s, 0, EF_SC_TCP_FIN)); /* only once */
    ck_assert(!ef_sc_flow_tcp_closes(&s, 1, EF_SC_TCP_ACK));
}
END_TEST

/* ---- what EVE shows ---- */

START_TEST(eve_shows_largest_k)
{
    ef_sc_flow_t s = fresh_flow();
    float probs[10];
    ck_assert_int_eq(ef_sc_flow_eve_slot(&s), -1);
    ef_verdict_t v3 = make_verdict(3, "HTTP", 0.95f, probs);
    ef_sc_flow_store(&s, &v3, 0.0f);
    ck_assert_int_eq(ef_sc_flow_eve_slot(&s), 0);
    ef_verdict_t v10 = make_verdict(10, "HTTP", 0.6f, probs);
    ef_sc_flow_store(&s, &v10, 0.0f);
    ck_assert_int_eq(ef_sc_flow_eve_slot(&s), 2);
    ck_assert(ef_sc_flow_has(&s, 0));
    ck_assert(!ef_sc_flow_has(&s, 1)); /* k=5 never decided */
    ck_assert(ef_sc_flow_has(&s, 2));
    ck_assert(!ef_sc_flow_has(&s, 9));
    ck_assert(!ef_sc_flow_has(&s, -1));
}
END_TEST

START_TEST(min_score_drops_verdicts)
{
    ef_sc_flow_t s = fresh_flow();
    float probs[10];
    ef_verdict_t low = make_verdict(5, "DoS", 0.49f, probs);
    ck_assert_int_eq(ef_sc_flow_store(&s, &low, 0.5f), EF_SC_BELOW_MIN_SCORE);
    ck_assert_uint_eq(s.decided, 0);
    ck_assert_int_eq(ef_sc_flow_eve_slot(&s), -1);
    ef_verdict_t nan_score = make_verdict(5, "DoS", NAN, probs);
    ck_assert_int_eq(ef_sc_flow_store(&s, &nan_score, 0.5f), EF_SC_BELOW_MIN_SCORE);
    ck_assert_int_eq(ef_sc_flow_store(&s, &nan_score, 0.0f), 1); /* no threshold: kept */
    ef_verdict_t at = make_verdict(3, "DoS", 0.5f, probs);
    ck_assert_int_eq(ef_sc_flow_store(&s, &at, 0.5f), 0); /* "below" is strict */
}
END_TEST

START_TEST(probabilities_keep_the_model_order)
{
    static const char *const labels[] = {"PortScan", "custom", "Unlabeled", "PortScan"};
    const float probs[] = {0.5f, 0.25f, 0.125f, 0.125f};
    ef_verdict_t v = {.label = "PortScan", .score = 0.5f, .k = 5, .packets = 5,
                      .n_classes = 4, .class_labels = labels, .probs = probs};
    ef_sc_flow_t s = fresh_flow();
    ck_assert_int_eq(ef_sc_flow_store(&s, &v, 0.0f), 1);
    const ef_sc_verdict_t *out = &s.verdict[1];
    ck_assert_uint_eq(out->n_order, 2); /* the foreign class and the repeat are left out */
    ck_assert_uint_eq(out->order[0], EF_CAT_PORTSCAN);
    ck_assert_uint_eq(out->order[1], EF_CAT_UNLABELED);
    ck_assert_float_eq(out->probs[EF_CAT_PORTSCAN], 0.5f);
}
END_TEST

/* ---- keyword values ----
 * The grammar itself is earlyflow's (ef_label_match_parse & co., tested in
 * test_rules.c); these tests pin what the adapter adds: dispatch by keyword,
 * the keyword name and column in errors, and matching on stored verdicts. */

static ef_sc_kw_t parse_ok(ef_sc_kw_kind_t kind, const char *value)
{
    ef_sc_kw_t kw;
    ef_err_t err = {{0}};
    int rc = ef_sc_kw_parse(kind, value, &kw, &err);
    ck_assert_msg(rc == 0, "'%s' refused: %s", value, err.msg);
    ck_assert_uint_eq(kw.kind, kind);
    return kw;
}

/* The value is refused with "<keyword>: column <col>: ..." containing `want`. */
static void parse_fails(ef_sc_kw_kind_t kind, const char *value, int col, const char *want)
{
    ef_sc_kw_t kw;
    ef_err_t err = {{0}};
    char prefix[64];
    ck_assert_msg(ef_sc_kw_parse(kind, value, &kw, &err) == -1, "'%s' accepted", value);
    if (value)
        snprintf(prefix, sizeof prefix, "%s: column %d: ", ef_sc_kw_name(kind), col);
    else
        snprintf(prefix, sizeof prefix, "%s: ", ef_sc_kw_name(kind));
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "'%s': %s (want prefix %s)",
                  value, err.msg, prefix);
    ck_assert_msg(strstr(err.msg, want) != NULL, "'%s': %s (want %s)", value, err.msg, want);
}

START_TEST(keyword_values_parse)
{
    ck_assert(parse_ok(EF_SC_KW_LABEL, "NetworkScan,PortScan").label.mask ==
              ((1u << EF_CAT_NETWORKSCAN) | (1u << EF_CAT_PORTSCAN)));
    ck_assert_uint_eq(parse_ok(EF_SC_KW_LABEL, "DoS").k, 0); /* set by the rule later */
    ef_sc_kw_t kw = parse_ok(EF_SC_KW_SCORE, ">=0.9");
    ck_assert_int_eq(kw.score.op, EF_SCORE_GE);
    ck_assert_float_eq(kw.score.a, 0.9f);
    kw = parse_ok(EF_SC_KW_SCORE, "!0.2-0.8");
    ck_assert_int_eq(kw.score.op, EF_SCORE_NOT_RANGE);
    ck_assert_uint_eq(parse_ok(EF_SC_KW_K, "3").k, 3);
    ck_assert_uint_eq(parse_ok(EF_SC_KW_K, " 20 ").k, 20);
}
END_TEST

START_TEST(keyword_values_refused_with_column)
{
    parse_fails(EF_SC_KW_LABEL, "DoS,Scan", 5, "unknown label 'Scan'");
    parse_fails(EF_SC_KW_LABEL, "networkscan", 1, "did you mean 'NetworkScan'");
    parse_fails(EF_SC_KW_LABEL, "DoS,!HTTP", 5, "negates the whole list");
    parse_fails(EF_SC_KW_LABEL, "\"DoS\"", 1, "unknown label");
    parse_fails(EF_SC_KW_LABEL, "", 1, "expected a label");
    parse_fails(EF_SC_KW_SCORE, ">=1.5", 3, "above 1");
    parse_fails(EF_SC_KW_SCORE, ">=0.9x", 6, "unexpected");
    parse_fails(EF_SC_KW_SCORE, "0.9-0.5", 4, "A < B");
    parse_fails(EF_SC_KW_K, "4", 1, "3, 5, 10 or 20");
    parse_fails(EF_SC_KW_K, "  7", 3, "3, 5, 10 or 20");
    parse_fails(EF_SC_KW_LABEL, NULL, 0, "expected a value");
    parse_fails(EF_SC_KW_SCORE, NULL, 0, "expected a value");
}
END_TEST

START_TEST(min_score_setting)
{
    float v = -1.0f;
    ef_err_t err = {{0}};
    ck_assert_int_eq(ef_sc_parse_min_score(" 0.8 ", &v, &err), 0);
    ck_assert_float_eq(v, 0.8f);
    ck_assert_int_eq(ef_sc_parse_min_score("0", &v, &err), 0);
    ck_assert_float_eq(v, 0.0f);
    static const struct { const char *text; int col; const char *want; } bad[] = {
        {"2", 1, "above 1"}, {"high", 1, "expected a score"}, {"0.5 0.6", 5, "unexpected"},
        {">=0.5", 1, "expected a number"}, {"=0.5", 1, "expected a number"},
        {"0.2-0.4", 1, "expected a number"}, {"1e-3", 2, "unexpected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 0.75f;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "earlyflow.min-score: column %d: ", bad[i].col);
        ck_assert_msg(ef_sc_parse_min_score(bad[i].text, &v, &err) == -1, "%s", bad[i].text);
        ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s: %s", bad[i].text,
                      err.msg);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "%s: %s", bad[i].text, err.msg);
        ck_assert_float_eq(v, 0.75f); /* untouched on failure */
    }
    ck_assert_int_eq(ef_sc_parse_min_score(NULL, &v, &err), -1);
}
END_TEST

START_TEST(keywords_match_verdicts)
{
    ef_sc_verdict_t scan = {.score = 0.92f, .label = EF_CAT_NETWORKSCAN};
    ef_sc_verdict_t benign = {.score = 0.5f, .label = EF_CAT_UNLABELED};
    ef_sc_verdict_t odd = {.score = NAN, .label = EF_SC_NO_LABEL};

    ef_sc_kw_t kw = parse_ok(EF_SC_KW_LABEL, "NetworkScan,PortScan");
    ck_assert(ef_sc_kw_match(&kw, &scan));
    ck_assert(!ef_sc_kw_match(&kw, &benign));
    ck_assert(!ef_sc_kw_match(&kw, &odd));
    kw = parse_ok(EF_SC_KW_LABEL, "!Unlabeled,Unknown");
    ck_assert(ef_sc_kw_match(&kw, &scan));
    ck_assert(!ef_sc_kw_match(&kw, &benign));
    ck_assert(ef_sc_kw_match(&kw, &odd)); /* a foreign label is neither */

    static const struct { const char *rule; int scan, benign, nan; } cases[] = {
        {">=0.92", 1, 0, 0}, {">0.92", 0, 0, 0}, {"<0.6", 0, 1, 0}, {"<=0.5", 0, 1, 0},
        {"=0.5", 0, 1, 0},   {"0.5", 0, 1, 0},   {"!=0.5", 1, 0, 1},
        {"0.5-0.95", 1, 0, 0}, /* both ends excluded */
        {"0.4-0.6", 0, 1, 0},  {"!0.4-0.6", 1, 0, 0}, {"!0.5-0.6", 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kw = parse_ok(EF_SC_KW_SCORE, cases[i].rule);
        ck_assert_msg(ef_sc_kw_match(&kw, &scan) == cases[i].scan, "%s on 0.92", cases[i].rule);
        ck_assert_msg(ef_sc_kw_match(&kw, &benign) == cases[i].benign, "%s on 0.5",
                      cases[i].rule);
        ck_assert_msg(ef_sc_kw_match(&kw, &odd) == cases[i].nan, "%s on NaN", cases[i].rule);
    }

    kw = parse_ok(EF_SC_KW_K, "5");
    ck_assert(ef_sc_kw_match(&kw, &odd));
}
END_TEST

START_TEST(slots_and_k_round_trip)
{
    static const int ks[] = {3, 5, 10, 20};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(ef_sc_slot_of_k(ks[i]), i);
        ck_assert_int_eq(ef_sc_k_of_slot(i), ks[i]);
    }
    ck_assert_int_eq(ef_sc_k_of_slot(4), 0);
    ck_assert_int_eq(ef_sc_k_of_slot(-1), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("suricata_adapter");
    TCase *flow = tcase_create("flow_state");
    tcase_add_test(flow, first_sender_is_client);
    tcase_add_test(flow, syn_ack_first_makes_its_receiver_client);
    tcase_add_test(flow, later_syn_ack_does_not_reorient);
    tcase_add_test(flow, store_maps_labels_to_taxonomy);
    tcase_add_test(flow, store_follows_the_models_class_order);
    tcase_add_test(flow, store_keeps_labels_outside_the_taxonomy_as_no_label);
    tcase_add_test(flow, store_refuses_other_k);
    tcase_add_test(flow, window_is_verdict_packet_and_first_packet_back);
    tcase_add_test(flow, window_needs_the_current_packet_number);
    tcase_add_test(flow, window_slots_are_independent);
    tcase_add_test(flow, verdict_between_packets_opens_the_next_ones);
    tcase_add_test(flow, rst_closes_at_once);
    tcase_add_test(flow, fin_closes_when_both_sides_sent_one);
    tcase_add_test(flow, eve_shows_largest_k);
    tcase_add_test(flow, min_score_drops_verdicts);
    tcase_add_test(flow, probabilities_keep_the_model_order);
    tcase_add_test(flow, slots_and_k_round_trip);
    suite_add_tcase(s, flow);
    TCase *kw = tcase_create("keywords");
    tcase_add_test(kw, keyword_values_parse);
    tcase_add_test(kw, keyword_values_refused_with_column);
    tcase_add_test(kw, min_score_setting);
    tcase_add_test(kw, keywords_match_verdicts);
    suite_add_tcase(s, kw);
    return eft_run_suite(s);
}
