/* The training loop: mini-batch Adam over a dataset split, best-validation
 * checkpoint, early stopping, and SEQ pre-training (the autoencoder).
 *
 *   ef_train_opts_t o;
 *   ef_train_opts_default(&o, EF_ARCH_BILSTM, ds->k);
 *   o.seed = 1;
 *   ef_train_result_t r;
 *   if (ef_train_run(&train, &valid, &test, &o, &r, &err) == 0) {
 *       ef_net_save(r.net, &r.pp, labels, extra, n_extra, "m.safetensors", &err);
 *       ef_train_result_free(&r);
 *   }
 *
 * What one run does (docs/training.md):
 *  1. fits the preprocessing (nn/preproc.h) on the training rows only;
 *  2. builds the network, initialises it from `seed`, and for --pretrained
 *     copies the matching tensors of a pre-trained file (SEQ: encoder.* and
 *     mlp1.* of the autoencoder);
 *  3. each epoch: shuffles the training rows with the seeded generator,
 *     optionally reorders packets (train_reorder), runs mini-batches of
 *     forward + backward + one Adam step, then scores the validation rows;
 *  4. keeps the weights of the best validation epoch (macro-F1 by default,
 *     accuracy as the seed did; the autoencoder: lowest validation MSE; ties
 *     keep the earlier epoch) and stops early after `patience` epochs
 *     without improvement;
 *  5. scores the test rows with the best weights.
 * The same inputs and seed give bit-identical weights on one machine.
 *
 * Nothing here prints: progress goes to the on_epoch callback.
 * Thread-safety: one run uses one thread (plus OpenBLAS's own). */
#ifndef EF_NN_TRAIN_H
#define EF_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn/data.h"
#include "nn/metrics.h"
#include "nn/net.h"
#include "nn/preproc.h"
#include "util/err.h"

/* Some rows of a dataset (a split). */
typedef struct ef_rows {
    const ef_dataset_t *ds;
    const size_t *idx;
    size_t n;
} ef_rows_t;

typedef enum ef_select {
    EF_SELECT_F1 = 0,   /* best validation macro-F1 (default) */
    EF_SELECT_ACCURACY, /* best validation accuracy (the seed's choice) */
} ef_select_t;

typedef struct ef_epoch_stats {
    int epoch;          /* 1-based */
    int epochs;         /* the configured maximum */
    double train_loss;  /* mean over the epoch's training rows */
    double valid_loss;  /* mean cross-entropy (classifiers) or MSE (autoenc) */
    double valid_f1;    /* macro-F1 (classifiers; 0 for autoenc) */
    double valid_acc;   /* accuracy (classifiers; 0 for autoenc) */
    double seconds;     /* wall time of the epoch, validation included */
    int improved;       /* this epoch is the new best checkpoint */
} ef_epoch_stats_t;

typedef void (*ef_train_epoch_fn)(void *ctx, const ef_epoch_stats_t *st);

typedef struct ef_train_opts {
    ef_net_config_t net;        /* arch, k, hidden, layers, context; `features`
                                   and `classes` are set from the data */
    int use_dir;                /* third input feature: direction */
    ef_init_t init;             /* default EF_INIT_TORCH */
    uint64_t seed;              /* default 1 */
    int epochs;                 /* default 100 */
    int batch;                  /* default 20 */
    float lr;                   /* default 0.001 */
    int patience;               /* epochs without improvement; 0 = off (default 20) */
    ef_select_t select;         /* default EF_SELECT_F1 */
    const float *class_weights; /* [classes] or NULL (all 1) */
    double train_reorder;       /* reorder probability for augmentation (0) */
    const char *pretrained;     /* model file to copy matching tensors from, or NULL */
    ef_train_epoch_fn on_epoch; /* may be NULL */
    void *ctx;
} ef_train_opts_t;

void ef_train_opts_default(ef_train_opts_t *o, ef_arch_t arch, int k);

typedef struct ef_train_result {
    ef_net_t *net;              /* the best epoch's weights (owned) */
    ef_preproc_t pp;            /* fitted on the training rows */
    int epochs_run, best_epoch;
    double best_train_loss;
    double best_valid_loss, best_valid_f1, best_valid_acc;
    int pretrained_tensors;     /* tensors copied from opts.pretrained */
    int has_test;               /* test rows were given (classifiers) */
    ef_confusion_t test_conf;   /* on the test rows with the best weights */
    ef_metrics_t test;
    double test_loss;           /* autoenc: test MSE */
} ef_train_result_t;

/* Train on `train`, select on `valid`, score `test` (n may be 0). All rows
 * must have k = opts.net.k and listed labels. Returns 0, or -1 with err. */
int ef_train_run(const ef_rows_t *train, const ef_rows_t *valid, const ef_rows_t *test,
                 const ef_train_opts_t *o, ef_train_result_t *res, ef_err_t *err);
void ef_train_result_free(ef_train_result_t *r);

/* scikit-learn's "balanced" weights over the training rows:
 * w_c = n / (classes * n_c); a class without rows gets 0. */
void ef_train_balanced_weights(const ef_rows_t *train, int classes, float *w);

/* Fit the seed's preprocessing on some rows (training split only). */
void ef_train_fit_preproc(const ef_rows_t *rows, int use_dir, ef_preproc_t *pp);

/* Preprocess rows idx[0..B) into x[B][k][F] (zeros after each row's length)
 * and n[B]. With reorder_p > 0 the packets of each row are reordered first
 * (ef_data_reorder_perm), drawn from stream (pass, row) of reorder_seed. */
void ef_train_make_batch(const ef_dataset_t *ds, const size_t *idx, int B,
                         const ef_preproc_t *pp, double reorder_p, uint64_t reorder_seed,
                         uint64_t pass, float *x, int *n);

#endif
