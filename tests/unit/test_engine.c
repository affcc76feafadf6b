/* The early-decision engine (core/ids/engine.h), driven directly: k lists
 * and masks, built-in and per-k model files, a model file of the wrong k,
 * verdicts at exactly the k-th packet and at flow end for short flows, never
 * a second verdict for a k, nothing beyond the 20th packet, flow storage as
 * plain data, and probabilities against PyTorch (the parity fixture of
 * tests/data/host). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "ids/engine.h"
#include "util/json.h"

#define STEER(k) EF_TEST_DATA "/host/steer_k" #k ".safetensors"
#define PARITY EF_TEST_DATA "/host/parity_bilstm_k5.safetensors"

/* Every verdict the engine emits, copied out of the callback. */
typedef struct got {
    int n;
    struct {
        char label[32];
        float score;
        int k, packets, at_flow_end, n_classes;
        char model[64];
        float probs[16];
        char class0[32];
    } v[64];
} got_t;

static void collect(void *user, const ef_verdict_t *v)
{
    got_t *g = user;
    ck_assert_int_lt(g->n, 64);
    ck_assert_int_le(v->n_classes, 16);
    snprintf(g->v[g->n].label, sizeof g->v[0].label, "%s", v->label);
    snprintf(g->v[g->n].model, sizeof g->v[0].model, "%s", v->model);
    snprintf(g->v[g->n].class0, sizeof g->v[0].class0, "%s", v->class_labels[0]);
    g->v[g->n].score = v->score;
    g->v[g->n].k = v->k;
    g->v[g->n].packets = v->packets;
    g->v[g->n].at_flow_end = v->at_flow_end;
    g->v[g->n].n_classes = v->n_classes;
    memcpy(g->v[g->n].probs, v->probs, (size_t)v->n_classes * sizeof(float));
    g->n++;
}

static ef_engine_t *engine(uint32_t mask, const char *model, const char *const per_k[21])
{
    ef_engine_config_t cfg;
    ef_err_t err = {{0}};
    memset(&cfg, 0, sizeof cfg);
    cfg.k_mask = mask;
    cfg.model = model;
    for (int k = 0; per_k && k <= EF_K_MAX; k++)
        cfg.model_for_k[k] = per_k[k];
    ef_engine_t *e = ef_engine_new(&cfg, &err);
    ck_assert_msg(e != NULL, "engine: %s", err.msg);
    return e;
}

/* A steered engine: the four steering models, one per k. */
static ef_engine_t *steer_engine(uint32_t mask)
{
    const char *per_k[21] = {0};
    per_k[3] = STEER(3);
    per_k[5] = STEER(5);
    per_k[10] = STEER(10);
    per_k[20] = STEER(20);
    return engine(mask, NULL, per_k);
}

/* ---- k lists --------------------------------------------------------------- */

START_TEST(k_list_parsing)
{
    uint32_t m = 0;
    ef_err_t err = {{0}};
    ck_assert_int_eq(ef_engine_parse_k_list("5", &m, &err), 0);
    ck_assert_uint_eq(m, 1u << 5);
    ck_assert_int_eq(ef_engine_parse_k_list("3,5,10,20", &m, &err), 0);
    ck_assert_uint_eq(m, (1u << 3) | (1u << 5) | (1u << 10) | (1u << 20));
    ck_assert_int_eq(ef_engine_parse_k_list(" 20 ,\t3", &m, &err), 0);
    ck_assert_uint_eq(m, (1u << 3) | (1u << 20));
    ck_assert_int_eq(ef_engine_parse_k_list("5,5", &m, &err), 0);
    ck_assert_uint_eq(m, 1u << 5);

    m = 77;
    ck_assert_int_eq(ef_engine_parse_k_list("", &m, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty k list"));
    ck_assert_int_eq(ef_engine_parse_k_list(NULL, &m, &err), -1);
    ck_assert_int_eq(ef_engine_parse_k_list("3,7", &m, &err), -1);
    ck_assert_msg(strstr(err.msg, "'3,7'") && strstr(err.msg, "column 3"), "%s", err.msg);
    ck_assert_int_eq(ef_engine_parse_k_list("4", &m, &err), -1);
    ck_assert_int_eq(ef_engine_parse_k_list("21", &m, &err), -1);
    ck_assert_int_eq(ef_engine_parse_k_list("-5", &m, &err), -1);
    ck_assert_int_eq(ef_engine_parse_k_list("five", &m, &err), -1);
    ck_assert_int_eq(ef_engine_parse_k_list("3;5", &m, &err), -1);
    ck_assert_msg(strstr(err.msg, "expected ','") && strstr(err.msg, "column 2"), "%s", err.msg);
    ck_assert_int_eq(ef_engine_parse_k_list("3,,5", &m, &err), -1);
    ck_assert_uint_eq(m, 77); /* untouched on error */
}
END_TEST

START_TEST(k_mask_defaults_and_validation)
{
    ef_engine_t *e = engine(0, NULL, NULL);
    ck_assert_uint_eq(ef_engine_k_mask(e), 1u << 5); /* default {5} */
    ck_assert_str_eq(ef_engine_model_name(e, 5), "builtin_k5");
    ck_assert_ptr_null(ef_engine_model_name(e, 3));
    ck_assert_ptr_null(ef_engine_model_name(e, -1));
    ck_assert_ptr_null(ef_engine_model_name(e, 21));
    ef_engine_free(e);

    ef_engine_config_t cfg;
    ef_err_t err = {{0}};
    memset(&cfg, 0, sizeof cfg);
    cfg.k_mask = (1u << 5) | (1u << 4);
    ck_assert_ptr_null(ef_engine_new(&cfg, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "3, 5, 10, 20"));
}
END_TEST

/* ---- models per k -------------------------------------------------------------- */

START_TEST(builtin_models_for_every_k)
{
    ef_engine_t *e = engine((1u << 3) | (1u << 5) | (1u << 10) | (1u << 20), "builtin", NULL);
    ck_assert_str_eq(ef_engine_model_name(e, 3), "builtin_k3");
    ck_assert_str_eq(ef_engine_model_name(e, 5), "builtin_k5");
    ck_assert_str_eq(ef_engine_model_name(e, 10), "builtin_k10");
    ck_assert_str_eq(ef_engine_model_name(e, 20), "builtin_k20");
    ef_engine_free(e);
}
END_TEST

START_TEST(per_k_override_wins_over_model)
{
    const char *per_k[21] = {0};
    per_k[5] = STEER(5);
    ef_engine_t *e = engine((1u << 3) | (1u << 5), "builtin", per_k);
    ck_assert_str_eq(ef_engine_model_name(e, 3), "builtin_k3");
    ck_assert_str_eq(ef_engine_model_name(e, 5), "steer_k5");

    /* and the override is what decides at k=5 */
    ef_err_t err = {{0}};
    ef_engine_thread_t *t = ef_engine_thread_new(e, &err);
    ef_engine_flow_t f;
    got_t g = {0};
    ef_engine_flow_init(&f);
    for (int i = 0; i < 5; i++)
        ef_engine_packet(t, &f, 1000u * (unsigned)i, 40, 1, collect, &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.v[0].model, "builtin_k3");
    ck_assert_str_eq(g.v[1].model, "steer_k5");
    ck_assert_int_eq(g.v[1].n_classes, 10);
    ck_assert_str_eq(g.v[1].label, "NetworkScan");
    ef_engine_thread_free(t);
    ef_engine_free(e);

    /* a model file for every k: it must fit each of them */
    e = engine(1u << 5, STEER(5), NULL);
    ck_assert_str_eq(ef_engine_model_name(e, 5), "steer_k5");
    ef_engine_free(e);
}
END_TEST

START_TEST(model_of_wrong_k_is_an_error)
{
    ef_engine_config_t cfg;
    ef_err_t err = {{0}};
    memset(&cfg, 0, sizeof cfg);
    cfg.k_mask = (1u << 5) | (1u << 10);
    cfg.model = STEER(5); /* fits k=5, not k=10 */
    ck_assert_ptr_null(ef_engine_new(&cfg, &err));
    ck_assert_msg(strstr(err.msg, "steer_k5.safetensors") && strstr(err.msg, "k=5") &&
                      strstr(err.msg, "k=10") && strstr(err.msg, "earlyflow.models.10"),
                  "%s", err.msg);

    memset(&cfg, 0, sizeof cfg);
    cfg.k_mask = 1u << 3;
    cfg.model_for_k[3] = STEER(20);
    ck_assert_ptr_null(ef_engine_new(&cfg, &err));
    ck_assert_msg(strstr(err.msg, "trained for k=20") && strstr(err.msg, "decide at k=3"), "%s",
                  err.msg);

    memset(&cfg, 0, sizeof cfg);
    cfg.k_mask = 1u << 5;
    cfg.model = EF_TEST_DATA "/host/no-such-model.safetensors";
    ck_assert_ptr_null(ef_engine_new(&cfg, &err));
    ck_assert_msg(strstr(err.msg, "no-such-model.safetensors"), "%s", err.msg);

    /* not a model file at all */
    memset(&cfg, 0, sizeof cfg);
    cfg.k_mask = 1u << 5;
    cfg.model = EF_TEST_DATA "/host/steer.json";
    ck_assert_ptr_null(ef_engine_new(&cfg, &err));
    ck_assert_msg(strstr(err.msg, "steer.json"), "%s", err.msg);
}
END_TEST

/* ---- verdict timing -------------------------------------------------------------- */

START_TEST(verdict_at_exactly_the_kth_packet)
{
    ef_engine_t *e = steer_engine((1u << 3) | (1u << 5) | (1u << 10) | (1u << 20));
    ef_err_t err = {{0}};
    ef_engine_thread_t *t = ef_engine_thread_new(e, &err);
    ck_assert_ptr_nonnull(t);
    ef_engine_flow_t f;
    got_t g = {0};
    ef_engine_flow_init(&f);
    for (int i = 1; i <= 30; i++) {
        int before = g.n;
        int r = ef_engine_packet(t, &f, 5000000u + 1000u * (unsigned)i, i == 1 ? 100 : 1500,
                                 i % 2, collect, &g);
        int due = i == 3 || i == 5 || i == 10 || i == 20;
        ck_assert_msg(r == due && g.n == before + due, "packet %d: %d verdicts", i, r);
        if (due) {
            ck_assert_int_eq(g.v[before].k, i);
            ck_assert_int_eq(g.v[before].packets, i);
            ck_assert_int_eq(g.v[before].at_flow_end, 0);
            ck_assert_str_eq(g.v[before].label, "DoS"); /* first packet 100 bytes */
        }
    }
    /* beyond the 20th packet nothing is stored */
    ck_assert_int_eq(f.feat.n, EF_K_MAX);
    /* every k was decided: the end emits nothing */
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 0);
    ck_assert_int_eq(g.n, 4);
    ef_engine_thread_free(t);
    ef_engine_free(e);
}
END_TEST

START_TEST(short_flow_verdicts_at_flow_end)
{
    ef_engine_t *e = steer_engine((1u << 3) | (1u << 5) | (1u << 10) | (1u << 20));
    ef_err_t err = {{0}};
    ef_engine_thread_t *t = ef_engine_thread_new(e, &err);
    ef_engine_flow_t f;
    got_t g = {0};

    /* 4 packets: k=3 on the 3rd, then 5, 10, 20 at the end on 4 packets */
    ef_engine_flow_init(&f);
    for (int i = 0; i < 4; i++)
        ef_engine_packet(t, &f, 1000u * (unsigned)i, 60, 1, collect, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 3);
    ck_assert_int_eq(g.n, 4);
    static const int ks[] = {3, 5, 10, 20};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(g.v[i].k, ks[i]); /* in increasing k */
        ck_assert_int_eq(g.v[i].packets, i == 0 ? 3 : 4);
        ck_assert_int_eq(g.v[i].at_flow_end, i > 0);
        ck_assert_str_eq(g.v[i].label, "PortScan");
        ck_assert_str_eq(g.v[i].model, i == 0 ? "steer_k3" : i == 1   ? "steer_k5"
                                                : i == 2 ? "steer_k10"
                                                         : "steer_k20");
    }
    /* no second verdict: a second end emits nothing */
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 0);
    ck_assert_int_eq(g.n, 4);

    /* one packet: every k at the end, on 1 packet */
    memset(&g, 0, sizeof g);
    ef_engine_flow_init(&f);
    ef_engine_packet(t, &f, 7, 40, 1, collect, &g);
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(g.v[i].packets, 1);
        ck_assert_int_eq(g.v[i].at_flow_end, 1);
        ck_assert_str_eq(g.v[i].label, "NetworkScan");
    }

    /* 19 packets: the k=20 verdict at the end sees 19 */
    memset(&g, 0, sizeof g);
    ef_engine_flow_init(&f);
    for (int i = 0; i < 19; i++)
        ef_engine_packet(t, &f, 1000u * (unsigned)i, 400, 1, collect, &g);
    ck_assert_int_eq(g.n, 3);
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 1);
    ck_assert_int_eq(g.v[3].k, 20);
    ck_assert_int_eq(g.v[3].packets, 19);
    ck_assert_int_eq(g.v[3].at_flow_end, 1);
    ck_assert_str_eq(g.v[3].label, "Multi");

    /* no packet at all: no verdict */
    memset(&g, 0, sizeof g);
    ef_engine_flow_init(&f);
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 0);
    ck_assert_int_eq(g.n, 0);
    ef_engine_thread_free(t);
    ef_engine_free(e);
}
END_TEST

/* Only the k values of the mask decide, also at flow end. */
START_TEST(only_masked_k_decide)
{
    ef_engine_t *e = steer_engine(1u << 10);
    ef_err_t err = {{0}};
    ef_engine_thread_t *t = ef_engine_thread_new(e, &err);
    ef_engine_flow_t f;
    got_t g = {0};
    ef_engine_flow_init(&f);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(ef_engine_packet(t, &f, (unsigned)i, 1000, 0, collect, &g), 0);
    ck_assert_int_eq(ef_engine_flow_end(t, &f, collect, &g), 1);
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(g.v[0].k, 10);
    ck_assert_int_eq(g.v[0].packets, 7);
    ck_assert_str_eq(g.v[0].label, "IPv6Tunnel");
    ef_engine_thread_free(t);
    ef_engine_free(e);
}
END_TEST

/* Flow storage is plain data: a copy taken mid-flow continues exactly like
 * the original (a host may move it), and flow_init resets a used one. */
START_TEST(flow_storage_is_plain_data)
{
    ef_engine_t *e = engine((1u << 3) | (1u << 5), "builtin", NULL);
    ef_err_t err = {{0}};
    ef_engine_thread_t *t = ef_engine_thread_new(e, &err);
    ef_engine_flow_t a, b;
    got_t ga = {0}, gb = {0};
    ef_engine_flow_init(&a);
    ef_engine_packet(t, &a, 100, 60, 1, collect, &ga);
    ef_engine_packet(t, &a, 350, 1500, 0, collect, &ga);
    ef_engine_packet(t, &a, 900, 52, 1, collect, &ga);
    memcpy(&b, &a, sizeof a);
    gb = ga;
    ef_engine_packet(t, &a, 1200, 40, 1, collect, &ga);
    ef_engine_packet(t, &a, 5000, 40, 0, collect, &ga);
    ef_engine_packet(t, &b, 1200, 40, 1, collect, &gb);
    ef_engine_packet(t, &b, 5000, 40, 0, collect, &gb);
    ck_assert_int_eq(ga.n, 2);
    ck_assert_int_eq(gb.n, 2);
    ck_assert_str_eq(ga.v[1].label, gb.v[1].label);
    ck_assert(ga.v[1].score == gb.v[1].score);
    ck_assert_mem_eq(ga.v[1].probs, gb.v[1].probs, (size_t)ga.v[1].n_classes * sizeof(float));

    ef_engine_flow_init(&a);
    ck_assert_int_eq(a.feat.n, 0);
    ck_assert_uint_eq(a.decided_mask, 0);
    ef_engine_thread_free(t);
    ef_engine_free(e);
}
END_TEST

/* Two thread contexts of one engine compute the same verdicts. */
START_TEST(thread_contexts_agree)
{
    ef_engine_t *e = engine(1u << 5, "builtin", NULL);
    ef_err_t err = {{0}};
    ef_engine_thread_t *t1 = ef_engine_thread_new(e, &err);
    ef_engine_thread_t *t2 = ef_engine_thread_new(e, &err);
    ck_assert_ptr_nonnull(t1);
    ck_assert_ptr_nonnull(t2);
    ef_engine_flow_t f1, f2;
    got_t g1 = {0}, g2 = {0};
    ef_engine_flow_init(&f1);
    ef_engine_flow_init(&f2);
    static const uint16_t sizes[] = {60, 60, 52, 1400, 40};
    for (int i = 0; i < 5; i++) {
        ef_engine_packet(t1, &f1, 1000u * (unsigned)i * (unsigned)i, sizes[i], i != 1, collect, &g1);
        ef_engine_packet(t2, &f2, 1000u * (unsigned)i * (unsigned)i, sizes[i], i != 1, collect, &g2);
    }
    ck_assert_int_eq(g1.n, 1);
    ck_assert_int_eq(g2.n, 1);
    ck_assert_mem_eq(g1.v[0].probs, g2.v[0].probs, (size_t)g1.v[0].n_classes * sizeof(float));
    float sum = 0;
    for (int c = 0; c < g1.v[0].n_classes; c++)
        sum += g1.v[0].probs[c];
    ck_assert_float_eq_tol(sum, 1.0f, 1e-5f);
    ck_assert_str_eq(g1.v[0].class0, "Unlabeled");
    ef_engine_thread_free(t1);
    ef_engine_thread_free(t2);
    ef_engine_free(e);
}
END_TEST

/* The engine's probabilities against PyTorch's for the parity flows (the
 * same comparison test_run_model makes through the whole host). */
START_TEST(probabilities_match_pytorch)
{
    size_t len = 0;
    char *text = eft_read_file(EF_TEST_DATA "/host/parity_flows.json", &len);
    ck_assert_ptr_nonnull(text);
    ef_err_t err = {{0}};
    ef_json_t *doc = ef_json_parse(text, len, NULL, "parity_flows.json", &err);
    ck_assert_msg(doc != NULL, "%s", err.msg);
    ef_engine_t *e = engine(1u << 5, PARITY, NULL);
    ef_engine_thread_t *t = ef_engine_thread_new(e, &err);
    int flows = 0;
    for (const ef_json_value_t *fl = ef_json_get(ef_json_root(doc), "flows")->child; fl;
         fl = fl->next, flows++) {
        const ef_json_value_t *s = ef_json_get(fl, "sizes")->child;
        const ef_json_value_t *a = ef_json_get(fl, "iat_us")->child;
        const ef_json_value_t *d = ef_json_get(fl, "dirs")->child;
        ef_engine_flow_t f;
        got_t g = {0};
        uint64_t ts = 1000000;
        ef_engine_flow_init(&f);
        for (; s && a && d; s = s->next, a = a->next, d = d->next) {
            ts += (uint64_t)a->num;
            ef_engine_packet(t, &f, ts, (uint16_t)s->num, (int)d->num, collect, &g);
        }
        ef_engine_flow_end(t, &f, collect, &g);
        ck_assert_int_eq(g.n, 1);
        int c = 0;
        for (const ef_json_value_t *p = ef_json_get(fl, "probs")->child; p; p = p->next, c++)
            ck_assert_msg(fabs(g.v[0].probs[c] - p->num) <= 1e-5, "flow %d class %d: %.8g vs %.8g",
                          flows, c, g.v[0].probs[c], p->num);
        ck_assert_int_eq(c, 3);
    }
    ck_assert_int_ge(flows, 10);
    ef_engine_thread_free(t);
    ef_engine_free(e);
    ef_json_free(doc);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, k_list_parsing);
    tcase_add_test(tc, k_mask_defaults_and_validation);
    tcase_add_test(tc, builtin_models_for_every_k);
    tcase_add_test(tc, per_k_override_wins_over_model);
    tcase_add_test(tc, model_of_wrong_k_is_an_error);
    tcase_add_test(tc, verdict_at_exactly_the_kth_packet);
    tcase_add_test(tc, short_flow_verdicts_at_flow_end);
    tcase_add_test(tc, only_masked_k_decide);
    tcase_add_test(tc, flow_storage_is_plain_data);
    tcase_add_test(tc, thread_contexts_agree);
    tcase_add_test(tc, probabilities_match_pytorch);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
