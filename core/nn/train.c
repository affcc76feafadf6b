/* The training loop (see nn/train.h for what one run does). */
#include "nn/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/features.h"
#include "util/clock.h"

/* Rows per forward pass when scoring validation/test rows: larger batches
 * amortise the matrix work; the value does not change any result. */
#define EVAL_BATCH 256

/* Stream ids of the generators one run draws from (one seed, many streams,
 * so adding a use of randomness does not shift the others). */
#define STREAM_SHUFFLE 0x53485546ull
#define STREAM_REORDER 0x54524f52ull

void ef_train_opts_default(ef_train_opts_t *o, ef_arch_t arch, int k)
{
    memset(o, 0, sizeof *o);
    ef_net_config_default(&o->net, arch, k, 0);
    o->init = EF_INIT_TORCH;
    o->seed = 1;
    o->epochs = 100;
    o->batch = 20;
    o->lr = 0.001f;
    o->patience = 20;
    o->select = EF_SELECT_F1;
}


void ef_train_fit_preproc(const ef_rows_t *rows, int use_dir, ef_preproc_t *pp)
{
    const ef_dataset_t *ds = rows->ds;
    const size_t k = (size_t)ds->k;
    ef_preproc_fit_begin(pp, use_dir);
    for (size_t i = 0; i < rows->n; i++) {
        size_t r = rows->idx[i];
        ef_preproc_fit_add(pp, ds->size + r * k, ds->iat + r * k, ds->len[r]);
    }
}

void ef_train_make_batch(const ef_dataset_t *ds, const size_t *idx, int B,
                         const ef_preproc_t *pp, double reorder_p, uint64_t reorder_seed,
                         uint64_t pass, float *x, int *n)
{
    const int k = ds->k, F = ef_preproc_features(pp);
    float size[EF_K_MAX], iat[EF_K_MAX];
    unsigned char dir[EF_K_MAX] = {0};
    int perm[EF_K_MAX];
    for (int b = 0; b < B; b++) {
        const size_t r = idx[b];
        const int len = ds->len[r];
        const float *s = ds->size + r * (size_t)k, *t = ds->iat + r * (size_t)k;
        const uint8_t *d = ds->dir ? ds->dir + r * (size_t)k : NULL;
        if (reorder_p > 0) {
            ef_data_rng_t rng;
            ef_data_rng_seed(&rng, reorder_seed, ef_data_reorder_stream(pass, r));
            ef_data_reorder_perm(&rng, len, reorder_p, perm);
        } else {
            for (int j = 0; j < len; j++)
                perm[j] = j;
        }
        for (int j = 0; j < len; j++) {
            size[j] = s[perm[j]];
            iat[j] = t[perm[j]];
            dir[j] = d ? d[perm[j]] : 0;
        }
        float *xb = x + (size_t)b * (size_t)k * (size_t)F;
        ef_preproc_apply(pp, size, iat, d ? dir : NULL, len, xb);
        memset(xb + (size_t)len * (size_t)F, 0, (size_t)(k - len) * (size_t)F * sizeof *xb);
        n[b] = len;
    }
}

void ef_train_balanced_weights(const ef_rows_t *train, int classes, float *w)
{
    size_t *count = calloc((size_t)classes, sizeof *count);
    if (!count) {
        for (int c = 0; c < classes; c++)
            w[c] = 1.0f;
        return;
    }
    for (size_t i = 0; i < train->n; i++) {
        int c = train->ds->label[train->idx[i]];
        if (c >= 0 && c < classes)
            count[c]++;
    }
    for (int c = 0; c < classes; c++)
        w[c] = count[c] ? (float)((double)train->n / ((double)classes * (double)count[c]))
                        : 0.0f;
    free(count);
}

/* Everything one run allocates, freed in one place. */
typedef struct run {
    const ef_train_opts_t *o;
    ef_net_t *net;
    ef_adam_t *opt;
    ef_preproc_t pp;
    int k, F, classes, autoenc, maxb;
    float *x, *probs, *best;
    int *n, *labels;
    size_t *order;
} run_t;

static void run_free(run_t *r)
{
    ef_adam_free(r->opt);
    free(r->x);
    free(r->probs);
    free(r->best);
    free(r->n);
    free(r->labels);
    free(r->order);
}

/* Mean loss over some rows, and their confusion matrix for classifiers. */
static double score_rows(run_t *r, const ef_rows_t *rows, ef_confusion_t *conf)
{
    double loss = 0;
    if (conf)
        ef_confusion_reset(conf);
    for (size_t s = 0; s < rows->n; s += EVAL_BATCH) {
        int B = rows->n - s < EVAL_BATCH ? (int)(rows->n - s) : EVAL_BATCH;
        ef_train_make_batch(rows->ds, rows->idx + s, B, &r->pp, 0, 0, 0, r->x, r->n);
        if (r->autoenc) {
            loss += (double)ef_net_loss(r->net, B, r->x, r->n, NULL, NULL) * B;
            continue;
        }
        ef_net_forward(r->net, B, r->x, r->n, r->probs);
        for (int b = 0; b < B; b++) {
            const float *p = r->probs + (size_t)b * (size_t)r->classes;
            int best = 0;
            for (int c = 1; c < r->classes; c++)
                if (p[c] > p[best])
                    best = c;
            int truth = rows->ds->label[rows->idx[s + (size_t)b]];
            loss += -log(fmax((double)p[truth], 1e-30));
            ef_confusion_add(conf, truth, best);
        }
    }
    return rows->n ? loss / (double)rows->n : 0.0;
}

/* One pass over the training rows in a fresh seeded order. */
static double train_epoch(run_t *r, const ef_rows_t *train, int epoch)
{
    const ef_train_opts_t *o = r->o;
    ef_data_rng_t rng;
    ef_data_rng_seed(&rng, o->seed, STREAM_SHUFFLE + (uint64_t)epoch);
    ef_data_shuffle(&rng, r->order, train->n);
    float *params = ef_net_params(r->net);
    const float *grads = ef_net_grads(r->net);
    double total = 0;
    for (size_t s = 0; s < train->n; s += (size_t)o->batch) {
        int B = train->n - s < (size_t)o->batch ? (int)(train->n - s) : o->batch;
        ef_train_make_batch(train->ds, r->order + s, B, &r->pp, o->train_reorder,
                            o->seed ^ STREAM_REORDER, (uint64_t)epoch, r->x, r->n);
        for (int b = 0; b < B; b++)
            r->labels[b] = train->ds->label[r->order[s + (size_t)b]];
        ef_net_zero_grad(r->net);
        float loss = ef_net_forward_backward(r->net, B, r->x, r->n, r->autoenc ? NULL : r->labels,
                                             r->autoenc ? NULL : o->class_weights);
        ef_adam_step(r->opt, params, grads);
        total += (double)loss * B;
    }
    return total / (double)train->n;
}

static int check_rows(const ef_rows_t *rows, const char *what, int k, int classes, int need_dir,
                      ef_err_t *err)
{
    if (!rows || !rows->n)
        return 0;
    const ef_dataset_t *ds = rows->ds;
    if (ds->k != k)
        return ef_err_set(err, "%s: %s rows have k=%d, the network k=%d", ds->path, what, ds->k,
                          k);
    if (ds->n_classes != classes)
        return ef_err_set(err, "%s: %s rows have %d classes, training has %d", ds->path, what,
                          ds->n_classes, classes);
    if (need_dir && !ds->dir)
        return ef_err_set(err, "%s: %s rows carry no directions (needed by --direction)",
                          ds->path, what);
    for (size_t i = 0; i < rows->n; i++)
        if (rows->idx[i] >= ds->n || ds->label[rows->idx[i]] < 0 ||
            ds->label[rows->idx[i]] >= classes)
            return ef_err_set(err, "%s: %s row %zu is not a row of a listed class", ds->path,
                              what, rows->idx[i]);
    return 0;
}

static int check_opts(const ef_train_opts_t *o, ef_err_t *err)
{
    if (o->epochs < 1)
        return ef_err_set(err, "epochs must be >= 1 (got %d)", o->epochs);
    if (o->batch < 1 || o->batch > 65536)
        return ef_err_set(err, "batch must be 1..65536 (got %d)", o->batch);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return ef_err_set(err, "learning rate must be a positive number (got %g)", (double)o->lr);
    if (o->patience < 0)
        return ef_err_set(err, "patience must be >= 0 (got %d)", o->patience);
    if (!(o->train_reorder >= 0 && o->train_reorder <= 1))
        return ef_err_set(err, "reorder probability must be in [0, 1] (got %g)",
                          o->train_reorder);
    return 0;
}

static int run_setup(run_t *r, const ef_rows_t *train, const ef_train_opts_t *o,
                     ef_train_result_t *res, ef_err_t *err)
{
    ef_net_config_t cfg = o->net;
    cfg.features = o->use_dir ? 3 : 2;
    cfg.classes = r->autoenc ? 0 : r->classes;
    ef_train_fit_preproc(train, o->use_dir, &r->pp);
    r->F = cfg.features;
    r->maxb = o->batch > EVAL_BATCH ? o->batch : EVAL_BATCH;
    if (!(r->net = ef_net_new(&cfg, r->maxb, err)))
        return -1;
    ef_net_init(r->net, o->init, o->seed);
    if (o->pretrained) {
        int m = ef_net_load_matching(r->net, o->pretrained, err);
        if (m < 0)
            return -1;
        if (m == 0)
            return ef_err_set(err,
                              "%s: no tensor matches the %s network by name and shape "
                              "(k, hidden, layers and context must equal the pre-training's)",
                              o->pretrained, ef_arch_name(cfg.arch));
        res->pretrained_tensors = m;
    }
    size_t np = ef_net_num_params(r->net);
    size_t xsz = (size_t)r->maxb * (size_t)r->k * (size_t)r->F;
    r->opt = ef_adam_new(np, o->lr);
    r->x = malloc(xsz * sizeof *r->x);
    r->probs = malloc((size_t)r->maxb * (size_t)(r->classes > 0 ? r->classes : 1) *
                      sizeof *r->probs);
    r->best = malloc(np * sizeof *r->best);
    r->n = malloc((size_t)r->maxb * sizeof *r->n);
    r->labels = malloc((size_t)r->maxb * sizeof *r->labels);
    r->order = malloc(train->n * sizeof *r->order);
    if (!r->opt || !r->x || !r->probs || !r->best || !r->n || !r->labels || !r->order)
        return ef_err_set(err, "out of memory");
    memcpy(r->order, train->idx, train->n * sizeof *r->order);
    memcpy(r->best, ef_net_params(r->net), np * sizeof *r->best);
    return 0;
}

/* The epochs: train, score validation, keep the best, stop early. */
static int run_epochs(run_t *r, const ef_rows_t *train, const ef_rows_t *valid,
                      ef_train_result_t *res, ef_err_t *err)
{
    const ef_train_opts_t *o = r->o;
    ef_confusion_t conf = {0};
    if (!r->autoenc && ef_confusion_init(&conf, r->classes, err) < 0)
        return -1;
    double best_score = -INFINITY;
    int since_best = 0, rc = 0;
    const size_t np = ef_net_num_params(r->net);
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double t0 = ef_mono_s();
        ef_epoch_stats_t st = {.epoch = epoch, .epochs = o->epochs};
        st.train_loss = train_epoch(r, train, epoch);
        if (!isfinite(st.train_loss)) {
            rc = ef_err_set(err, "training diverged at epoch %d (loss %g): lower --lr", epoch,
                            st.train_loss);
            break;
        }
        st.valid_loss = score_rows(r, valid, r->autoenc ? NULL : &conf);
        double score = -st.valid_loss;
        if (!r->autoenc) {
            ef_metrics_t m;
            if ((rc = ef_metrics_compute(&conf, &m, err)) < 0)
                break;
            st.valid_f1 = m.macro_f1;
            st.valid_acc = m.accuracy;
            ef_metrics_free(&m);
            score = o->select == EF_SELECT_ACCURACY ? st.valid_acc : st.valid_f1;
        }
        st.improved = score > best_score;
        if (st.improved) {
            best_score = score;
            since_best = 0;
            memcpy(r->best, ef_net_params(r->net), np * sizeof *r->best);
            res->best_epoch = epoch;
            res->best_train_loss = st.train_loss;
            res->best_valid_loss = st.valid_loss;
            res->best_valid_f1 = st.valid_f1;
            res->best_valid_acc = st.valid_acc;
        } else {
            since_best++;
        }
        res->epochs_run = epoch;
        st.seconds = ef_mono_s() - t0;
        if (o->on_epoch)
            o->on_epoch(o->ctx, &st);
        if (o->patience && since_best >= o->patience)
            break;
    }
    ef_confusion_free(&conf);
    memcpy(ef_net_params(r->net), r->best, np * sizeof *r->best);
    return rc;
}

int ef_train_run(const ef_rows_t *train, const ef_rows_t *valid, const ef_rows_t *test,
                 const ef_train_opts_t *o, ef_train_result_t *res, ef_err_t *err)
{
    memset(res, 0, sizeof *res);
    if (check_opts(o, err) < 0)
        return -1;
    if (!train || !train->n)
        return ef_err_set(err, "no training rows");
    if (!valid || !valid->n)
        return ef_err_set(err, "no validation rows (the best epoch is chosen on them)");
    run_t r = {.o = o, .k = train->ds->k, .classes = train->ds->n_classes};
    r.autoenc = o->net.arch == EF_ARCH_AUTOENC;
    if (o->net.k != r.k)
        return ef_err_set(err, "%s: the data has k=%d but the network k=%d", train->ds->path,
                          r.k, o->net.k);
    if (check_rows(train, "training", r.k, r.classes, o->use_dir, err) < 0 ||
        check_rows(valid, "validation", r.k, r.classes, o->use_dir, err) < 0 ||
        check_rows(test, "test", r.k, r.classes, o->use_dir, err) < 0)
        return -1;
    int rc = -1;
    if (run_setup(&r, train, o, res, err) < 0 || run_epochs(&r, train, valid, res, err) < 0)
        goto out;
    if (test && test->n) {
        if (r.autoenc) {
            res->test_loss = score_rows(&r, test, NULL);
        } else {
            if (ef_confusion_init(&res->test_conf, r.classes, err) < 0)
                goto out;
            res->test_loss = score_rows(&r, test, &res->test_conf);
            if (ef_metrics_compute(&res->test_conf, &res->test, err) < 0)
                goto out;
        }
        res->has_test = 1;
    }
    res->pp = r.pp;
    res->net = r.net;
    r.net = NULL;
    rc = 0;
out:
    ef_net_free(r.net);
    run_free(&r);
    if (rc < 0)
        ef_train_result_free(res);
    return rc;
}

void ef_train_result_free(ef_train_result_t *r)
{
    ef_net_free(r->net);
    r->net = NULL;
    if (r->test_conf.m)
        ef_confusion_free(&r->test_conf);
    if (r->test.per_class)
        ef_metrics_free(&r->test);
}
