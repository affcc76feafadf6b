#include "nn/metrics.h"

#include <stdlib.h>
#include <string.h>

int ef_confusion_init(ef_confusion_t *c, int n, ef_err_t *err)
{
    c->n = 0;
    c->m = NULL;
    if (n < 1 || n > 4096)
        return ef_err_set(err, "confusion matrix: %d classes (expected 1..4096)", n);
    if (!(c->m = calloc((size_t)n * (size_t)n, sizeof *c->m)))
        return ef_err_set(err, "out of memory");
    c->n = n;
    return 0;
}

void ef_confusion_free(ef_confusion_t *c)
{
    free(c->m);
    c->m = NULL;
    c->n = 0;
}

void ef_confusion_reset(ef_confusion_t *c)
{
    memset(c->m, 0, (size_t)c->n * (size_t)c->n * sizeof *c->m);
}

int ef_confusion_add(ef_confusion_t *c, int truth, int predicted)
{
    if (truth < 0 || truth >= c->n || predicted < 0 || predicted >= c->n)
        return -1;
    c->m[(size_t)truth * (size_t)c->n + (size_t)predicted]++;
    return 0;
}

static double ratio(int64_t a, int64_t b)
{
    return b > 0 ? (double)a / (double)b : 0.0;
}

int ef_metrics_compute(const ef_confusion_t *c, ef_metrics_t *out, ef_err_t *err)
{
    memset(out, 0, sizeof *out);
    const int n = c->n;
    if (!(out->per_class = calloc((size_t)(n > 0 ? n : 1), sizeof *out->per_class)))
        return ef_err_set(err, "out of memory");
    out->n = n;
    int64_t trace = 0;
    for (int t = 0; t < n; t++)
        for (int p = 0; p < n; p++) {
            int64_t v = c->m[(size_t)t * (size_t)n + (size_t)p];
            out->per_class[t].support += v;
            out->per_class[p].predicted += v;
            out->total += v;
            if (t == p)
                trace += v;
        }
    int present = 0;
    for (int k = 0; k < n; k++) {
        ef_class_metrics_t *m = &out->per_class[k];
        int64_t tp = c->m[(size_t)k * (size_t)n + (size_t)k];
        m->precision = ratio(tp, m->predicted);
        m->recall = ratio(tp, m->support);
        double s = m->precision + m->recall;
        m->f1 = s > 0 ? 2.0 * m->precision * m->recall / s : 0.0;
        m->present = m->support > 0 || m->predicted > 0;
        if (m->present) {
            present++;
            out->macro_f1 += m->f1;
            out->macro_precision += m->precision;
            out->macro_recall += m->recall;
        }
        out->weighted_f1 += m->f1 * (double)m->support;
    }
    if (present) {
        out->macro_f1 /= present;
        out->macro_precision /= present;
        out->macro_recall /= present;
    }
    out->weighted_f1 = out->total ? out->weighted_f1 / (double)out->total : 0.0;
    out->accuracy = ratio(trace, out->total);
    return 0;
}

void ef_metrics_free(ef_metrics_t *m)
{
    free(m->per_class);
    memset(m, 0, sizeof *m);
}
