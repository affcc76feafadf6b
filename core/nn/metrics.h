/* Classification metrics: confusion matrix, per-class precision / recall /
 * F1, macro and weighted F1, accuracy.
 *
 * Conventions (the same as scikit-learn's defaults, so numbers compare):
 *   precision_c = tp / (tp + fp), 0 when the class was never predicted
 *   recall_c    = tp / (tp + fn), 0 when the class has no true rows
 *   f1_c        = 2pr / (p + r), 0 when p + r = 0
 *   macro F1    = mean of f1_c over the classes that occur in the truth or
 *                 in the predictions ("present"); a class absent from both
 *                 has no defined score and is left out (present = 0)
 *   weighted F1 = sum of f1_c * support_c / total
 *   accuracy    = trace / total
 * An empty matrix (total 0) gives all zeros.
 *
 * Thread-safety: plain data, no shared state. */
#ifndef EF_NN_METRICS_H
#define EF_NN_METRICS_H

#include <stdint.h>

#include "util/err.h"

typedef struct ef_confusion {
    int n;        /* classes */
    int64_t *m;   /* [n][n]: m[true * n + predicted] */
} ef_confusion_t;

int ef_confusion_init(ef_confusion_t *c, int n, ef_err_t *err);
void ef_confusion_free(ef_confusion_t *c);
void ef_confusion_reset(ef_confusion_t *c);
/* Count one row; out-of-range indices are ignored (returns -1). */
int ef_confusion_add(ef_confusion_t *c, int truth, int predicted);

typedef struct ef_class_metrics {
    double precision, recall, f1;
    int64_t support;    /* true rows of the class */
    int64_t predicted;  /* rows predicted as the class */
    int present;        /* counted in the macro average */
} ef_class_metrics_t;

typedef struct ef_metrics {
    int n;
    ef_class_metrics_t *per_class; /* [n], owned */
    double macro_f1, weighted_f1, accuracy;
    double macro_precision, macro_recall;
    int64_t total;
} ef_metrics_t;

int ef_metrics_compute(const ef_confusion_t *c, ef_metrics_t *out, ef_err_t *err);
void ef_metrics_free(ef_metrics_t *m);

#endif
