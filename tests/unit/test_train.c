/* The training loop on a small separable dataset written at test time:
 * every architecture learns it, a fixed seed gives identical model bytes,
 * and SEQ pre-training carries the encoder over into the classifier. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/data.h"
#include "nn/net.h"
#include "nn/train.h"

static const char *const labels3[] = {"Unlabeled", "HTTP", "Alpha"};
static char *tmpdir;
static ef_dataset_t *ds;
static ef_split_t split;

/* Three classes, k = 5, told apart by packet sizes and their order:
 *   Unlabeled: small packets growing (60, 100, 200, 300, 400) + jitter
 *   HTTP:      the same sizes shrinking (400, 300, 200, 100, 60)
 *   Alpha:     full-size packets close together
 * Times add a second, weaker cue. */
static void write_dataset(const char *path, int per_class)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("pktSize1,pktSize2,pktSize3,pktSize4,pktSize5,pktTime1,pktTime2,pktTime3,pktTime4,"
          "pktTime5,c2s,taxonomy label\n",
          f);
    static const int up[5] = {60, 100, 200, 300, 400};
    ef_data_rng_t r;
    ef_data_rng_seed(&r, 42, 0);
    for (int i = 0; i < per_class * 3; i++) {
        int c = i % 3;
        for (int j = 0; j < 5; j++) {
            int jitter = (int)ef_data_rng_below(&r, 20);
            int s = c == 0 ? up[j] : c == 1 ? up[4 - j] : 1400 + jitter * 5;
            fprintf(f, "%d,", s + jitter);
        }
        for (int j = 0; j < 5; j++) {
            double t = j == 0 ? 0 : (c == 2 ? 0.0001 : 0.01 + 0.02 * c) *
                                        (0.5 + ef_data_rng_uniform(&r));
            fprintf(f, "%.6f,", t);
        }
        fprintf(f, "3,%s\n", labels3[c]);
    }
    fclose(f);
}

static void setup(void)
{
    tmpdir = eft_mkdtemp("train");
    char *csv = eft_path(tmpdir, "sep.csv");
    write_dataset(csv, 160);
    ef_data_opts_t o = {.labels = labels3, .n_labels = 3};
    ef_err_t err;
    ds = ef_data_read(csv, &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ef_split_opts_t so;
    ef_split_opts_default(&so);
    so.n_test = 40;
    so.n_valid = 40;
    so.seed = 3;
    ck_assert_int_eq(ef_data_split(ds, &so, &split, &err), 0);
    free(csv);
}

static void teardown(void)
{
    ef_split_free(&split);
    ef_data_free(ds);
    eft_rmtree(tmpdir);
    free(tmpdir);
}

static ef_rows_t part(const size_t *idx, size_t n)
{
    ef_rows_t r = {ds, idx, n};
    return r;
}

static void quick_opts(ef_train_opts_t *o, ef_arch_t arch)
{
    ef_train_opts_default(o, arch, ds->k);
    o->epochs = 40;
    o->patience = 6;
    o->lr = 0.01f;
    o->seed = 5;
}

static int train(const ef_train_opts_t *o, ef_train_result_t *res, ef_err_t *err)
{
    ef_rows_t tr = part(split.train, split.n_train), va = part(split.valid, split.n_valid),
              te = part(split.test, split.n_test);
    return ef_train_run(&tr, &va, &te, o, res, err);
}

static const ef_arch_t classifiers[] = {EF_ARCH_MLP,     EF_ARCH_LSTM, EF_ARCH_BILSTM,
                                        EF_ARCH_SEQ2SEQ, EF_ARCH_GRU,  EF_ARCH_BIGRU};

START_TEST(every_architecture_learns_a_separable_set)
{
    ef_arch_t arch = classifiers[_i];
    ef_train_opts_t o;
    quick_opts(&o, arch);
    ef_train_result_t res;
    ef_err_t err;
    ck_assert_msg(train(&o, &res, &err) == 0, "%s: %s", ef_arch_name(arch), err.msg);
    ck_assert_msg(res.has_test, "test rows scored");
    ck_assert_msg(res.test.macro_f1 >= 0.95, "%s: test macro-F1 %.3f (valid %.3f at epoch %d)",
                  ef_arch_name(arch), res.test.macro_f1, res.best_valid_f1, res.best_epoch);
    ck_assert_int_eq((int)res.test.total, 120);
    ck_assert_int_le(res.best_epoch, res.epochs_run);
    /* Early stopping: never more than `patience` epochs past the best. */
    ck_assert_int_le(res.epochs_run, res.best_epoch + o.patience);
    ck_assert_float_eq(res.pp.size_min, (float)log2(60.0));
    ef_train_result_free(&res);
}
END_TEST

static void *read_all(const char *path, size_t *len)
{
    void *p = eft_read_file(path, len);
    ck_assert_msg(p != NULL, "read %s", path);
    return p;
}

static void save(const ef_train_result_t *res, const char *name, char **path)
{
    *path = eft_path(tmpdir, name);
    static const ef_kv_t extra[] = {{"train_seed", "5"}};
    ef_err_t err;
    ck_assert_msg(ef_net_save(res->net, &res->pp, labels3, extra, 1, *path, &err) == 0, "%s",
                  err.msg);
}

START_TEST(same_seed_gives_identical_model_bytes)
{
    char *paths[3];
    for (int run = 0; run < 3; run++) {
        ef_train_opts_t o;
        quick_opts(&o, EF_ARCH_BILSTM);
        o.epochs = 3;
        o.train_reorder = 0.2; /* augmentation draws from the seed too */
        o.seed = run < 2 ? 9 : 10;
        ef_train_result_t res;
        ef_err_t err;
        ck_assert_msg(train(&o, &res, &err) == 0, "%s", err.msg);
        char name[32];
        snprintf(name, sizeof name, "m%d.safetensors", run);
        save(&res, name, &paths[run]);
        ef_train_result_free(&res);
    }
    size_t l0, l1, l2;
    char *a = read_all(paths[0], &l0), *b = read_all(paths[1], &l1), *c = read_all(paths[2], &l2);
    ck_assert_uint_eq(l0, l1);
    ck_assert_msg(memcmp(a, b, l0) == 0, "two runs with seed 9 differ");
    ck_assert_msg(l0 != l2 || memcmp(a, c, l0) != 0, "seed 10 gave the same model as seed 9");
    free(a);
    free(b);
    free(c);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}
END_TEST

/* A tensor of a net by name (NULL when absent). */
static const float *tensor(ef_net_t *net, const char *name, size_t *count)
{
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        if (strcmp(t->name, name) != 0)
            continue;
        *count = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        return ef_net_params(net) + t->offset;
    }
    return NULL;
}

START_TEST(pretrained_encoder_carries_into_seq2seq)
{
    ef_train_opts_t o;
    quick_opts(&o, EF_ARCH_AUTOENC);
    o.epochs = 3;
    ef_train_result_t ae;
    ef_err_t err;
    ck_assert_msg(train(&o, &ae, &err) == 0, "%s", err.msg);
    ck_assert_msg(isfinite(ae.best_valid_loss) && ae.best_valid_loss < 0.5, "valid MSE %g",
                  ae.best_valid_loss);
    char *ae_path;
    save(&ae, "ae.safetensors", &ae_path);

    /* With a vanishing learning rate the classifier keeps what it loaded. */
    quick_opts(&o, EF_ARCH_SEQ2SEQ);
    o.epochs = 1;
    o.lr = 1e-20f;
    o.pretrained = ae_path;
    ef_train_result_t cls;
    ck_assert_msg(train(&o, &cls, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(cls.pretrained_tensors, 4 * o.net.layers + 2); /* encoder + mlp1 */
    static const char *const shared[] = {"encoder.rnn.weight_ih_l0", "encoder.rnn.bias_hh_l2",
                                         "mlp1.fc1.weight", "mlp1.fc1.bias"};
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        size_t na = 0, nc = 0;
        const float *a = tensor(ae.net, shared[i], &na), *c = tensor(cls.net, shared[i], &nc);
        ck_assert_msg(a && c, "tensor %s in both", shared[i]);
        ck_assert_uint_eq(na, nc);
        ck_assert_msg(memcmp(a, c, na * sizeof *a) == 0, "%s copied", shared[i]);
    }
    ef_train_result_free(&cls);

    /* And it learns from there. */
    quick_opts(&o, EF_ARCH_SEQ2SEQ);
    o.pretrained = ae_path;
    ck_assert_msg(train(&o, &cls, &err) == 0, "%s", err.msg);
    ck_assert_msg(cls.test.macro_f1 >= 0.95, "pre-trained SEQ test macro-F1 %.3f",
                  cls.test.macro_f1);
    ef_train_result_free(&cls);

    /* A pre-training of another size does not fit: refused. */
    quick_opts(&o, EF_ARCH_SEQ2SEQ);
    o.net.hidden = 8;
    o.pretrained = ae_path;
    ck_assert_int_eq(train(&o, &cls, &err), -1);
    ck_assert_msg(strstr(err.msg, "encoder.rnn.weight_ih_l0: shape") != NULL, "%s", err.msg);
    /* An MLP shares no tensor name with the autoencoder: refused. */
    quick_opts(&o, EF_ARCH_MLP);
    o.pretrained = ae_path;
    ck_assert_int_eq(train(&o, &cls, &err), -1);
    ck_assert_msg(strstr(err.msg, "no tensor matches the mlp network") != NULL, "%s", err.msg);
    ef_train_result_free(&ae);
    free(ae_path);
}
END_TEST

typedef struct history {
    int n;
    ef_epoch_stats_t st[64];
} history_t;

static void record(void *ctx, const ef_epoch_stats_t *st)
{
    history_t *h = ctx;
    if (h->n < 64)
        h->st[h->n++] = *st;
}

/* The kept epoch is the first one with the best validation score: macro-F1
 * by default, accuracy on request; the callback sees every epoch. */
START_TEST(checkpoint_is_the_best_validation_epoch)
{
    for (int sel = 0; sel < 2; sel++) {
        ef_train_opts_t o;
        quick_opts(&o, EF_ARCH_LSTM);
        o.lr = 0.002f;
        o.epochs = 12;
        o.patience = 0;
        o.select = sel ? EF_SELECT_ACCURACY : EF_SELECT_F1;
        history_t h = {0};
        o.on_epoch = record;
        o.ctx = &h;
        ef_train_result_t res;
        ef_err_t err;
        ck_assert_msg(train(&o, &res, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(h.n, 12);
        ck_assert_int_eq(res.epochs_run, 12);
        int best = 0;
        for (int e = 0; e < h.n; e++) {
            double v = sel ? h.st[e].valid_acc : h.st[e].valid_f1;
            double b = sel ? h.st[best].valid_acc : h.st[best].valid_f1;
            if (v > b)
                best = e;
            ck_assert_int_eq(h.st[e].epoch, e + 1);
            ck_assert(h.st[e].seconds >= 0);
        }
        ck_assert_int_eq(res.best_epoch, best + 1);
        ck_assert_double_eq(res.best_valid_f1, h.st[best].valid_f1);
        ck_assert_double_eq(res.best_valid_acc, h.st[best].valid_acc);
        ck_assert_int_eq(h.st[best].improved, 1);
        ef_train_result_free(&res);
    }
}
END_TEST

START_TEST(bad_options_and_rows_are_refused)
{
    ef_train_opts_t o;
    quick_opts(&o, EF_ARCH_LSTM);
    ef_train_result_t res;
    ef_err_t err;
    o.epochs = 0;
    ck_assert_int_eq(train(&o, &res, &err), -1);
    ck_assert_str_eq(err.msg, "epochs must be >= 1 (got 0)");
    quick_opts(&o, EF_ARCH_LSTM);
    o.net.k = 4;
    ck_assert_int_eq(train(&o, &res, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "the data has k=5 but the network k=4"));
    quick_opts(&o, EF_ARCH_LSTM);
    o.use_dir = 1;
    ck_assert_int_eq(train(&o, &res, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "carry no directions"));
    quick_opts(&o, EF_ARCH_LSTM);
    ef_rows_t tr = part(split.train, split.n_train), none = part(split.valid, 0);
    ck_assert_int_eq(ef_train_run(&tr, &none, NULL, &o, &res, &err), -1);
    ck_assert_str_eq(err.msg, "no validation rows (the best epoch is chosen on them)");
    quick_opts(&o, EF_ARCH_LSTM);
    o.pretrained = "/nonexistent/ae.safetensors";
    ck_assert_int_eq(train(&o, &res, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/ae.safetensors"));
}
END_TEST

START_TEST(balanced_weights_and_preproc_fit_on_training_rows)
{
    /* 3 classes: weights n / (3 * n_c); a class without rows gets 0. */
    size_t idx[] = {0, 3, 6, 9, 1}; /* rows 0,3,6,9 are class 0; row 1 class 1 */
    ef_rows_t r = part(idx, 5);
    float w[3];
    ef_train_balanced_weights(&r, 3, w);
    ck_assert_float_eq_tol(w[0], 5.0f / 12.0f, 1e-6f);
    ck_assert_float_eq_tol(w[1], 5.0f / 3.0f, 1e-6f);
    ck_assert_float_eq(w[2], 0.0f);
    /* The fit sees only the given rows: class 0 rows only -> sizes <= 419. */
    ef_preproc_t pp;
    ef_rows_t r0 = part(idx, 4);
    ef_train_fit_preproc(&r0, 0, &pp);
    ck_assert_float_le(pp.size_max, (float)log2(419.0) + 1e-6f);
    ck_assert_float_ge(pp.size_min, (float)log2(60.0) - 1e-6f);
    /* Batches: padded steps are zero, lengths copied. */
    float x[2 * 5 * 2];
    int n[2];
    ef_train_make_batch(ds, idx, 2, &pp, 0, 0, 0, x, n);
    ck_assert_int_eq(n[0], 5);
    for (int i = 0; i < 20; i++)
        ck_assert(x[i] >= 0 && x[i] <= 1);
    /* Row 0's first packet by the documented formula; its time is 0. */
    double want = (log2(ds->size[0]) - pp.size_min) / (pp.size_max - pp.size_min);
    ck_assert_double_eq_tol(x[0], want, 1e-6);
    ck_assert_float_eq(x[1], 0.0f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, every_architecture_learns_a_separable_set, 0,
                        (int)(sizeof classifiers / sizeof classifiers[0]));
    tcase_add_test(tc, same_seed_gives_identical_model_bytes);
    tcase_add_test(tc, pretrained_encoder_carries_into_seq2seq);
    tcase_add_test(tc, checkpoint_is_the_best_validation_epoch);
    tcase_add_test(tc, bad_options_and_rows_are_refused);
    tcase_add_test(tc, balanced_weights_and_preproc_fit_on_training_rows);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
