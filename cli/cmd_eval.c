/* earlyflow eval: score a model file on a dataset CSV.
 *
 * Runs the inference API (nn/model.h) in batches over every row, exactly
 * as a host would (raw sizes and times in, the model's own preprocessing),
 * and reports per-class precision / recall / F1, macro and weighted F1,
 * accuracy and the confusion matrix as text, JSON and a PNG heat map.
 * docs/training.md. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "net/features.h"
#include "nn/data.h"
#include "nn/metrics.h"
#include "nn/model.h"
#include "plot.h"

#define EVAL_BATCH 256

typedef struct eval_args {
    const char *model, *input, *json, *predictions, *confusion_png;
    double reorder;
    uint64_t seed;
    int quiet;
} eval_args_t;

static void usage(FILE *out)
{
    fputs("usage: earlyflow eval -m MODEL.safetensors -i DATA.csv [options]\n"
          "  -m, --model FILE        model file\n"
          "  -i, --input FILE        dataset CSV (k must equal the model's)\n"
          "  --json FILE             write every figure as JSON\n"
          "  --predictions FILE      one CSV row per input row: row, true, predicted, "
          "probabilities\n"
          "  --confusion-png FILE    confusion matrix heat map (gnuplot)\n"
          "  --reorder P             swap adjacent packets with probability P first\n"
          "  --seed S                seed of the reordering (default 1)\n"
          "  -q, --quiet             no report on stdout\n",
          out);
}

enum { OPT_JSON = 256, OPT_PRED, OPT_PNG, OPT_REORDER, OPT_SEED };

static const struct option long_opts[] = {
    {"model", required_argument, 0, 'm'},         {"input", required_argument, 0, 'i'},
    {"json", required_argument, 0, OPT_JSON},     {"predictions", required_argument, 0, OPT_PRED},
    {"confusion-png", required_argument, 0, OPT_PNG},
    {"reorder", required_argument, 0, OPT_REORDER}, {"seed", required_argument, 0, OPT_SEED},
    {"quiet", no_argument, 0, 'q'},               {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* 0 ok, 1 help shown, 2 usage error. */
static int parse_args(int argc, char **argv, eval_args_t *a)
{
    memset(a, 0, sizeof *a);
    a->seed = 1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:i:qh", long_opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'i': a->input = optarg; break;
        case OPT_JSON: a->json = optarg; break;
        case OPT_PRED: a->predictions = optarg; break;
        case OPT_PNG: a->confusion_png = optarg; break;
        case 'q': a->quiet = 1; break;
        case OPT_REORDER:
            errno = 0;
            a->reorder = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(a->reorder >= 0 && a->reorder <= 1)) {
                fprintf(stderr, "earlyflow eval: --reorder: expected a probability in [0, 1], "
                                "got '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_SEED:
            errno = 0;
            a->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "earlyflow eval: --seed: expected a non-negative integer, got "
                                "'%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 1;
        default:
            fprintf(stderr, "earlyflow eval: %s '%s'\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "earlyflow eval: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!a->model || !a->input) {
        fprintf(stderr, "earlyflow eval: -m MODEL and -i DATA.csv are required\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* Does the model take the direction as a third feature? Recorded in its
 * metadata by the training side (nn/net.h ef_net_save). */
static int model_uses_dir(const ef_model_t *m)
{
    const char *v = ef_model_meta(m, "features");
    if (v && !strcmp(v, "3"))
        return 1;
    v = ef_model_meta(m, "use_dir");
    return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

/* Predictions for every row: probs[n][classes], pred[n]. */
typedef struct scored {
    float *probs;
    int *pred;
} scored_t;

static int predict_all(const ef_model_t *m, const ef_dataset_t *ds, const eval_args_t *a,
                       scored_t *out, ef_err_t *err)
{
    const int k = ds->k, C = ef_model_num_classes(m);
    out->probs = malloc((ds->n ? ds->n : 1) * (size_t)C * sizeof *out->probs);
    out->pred = malloc((ds->n ? ds->n : 1) * sizeof *out->pred);
    float *size = malloc((size_t)EVAL_BATCH * (size_t)k * sizeof *size);
    float *iat = malloc((size_t)EVAL_BATCH * (size_t)k * sizeof *iat);
    uint8_t *dir = calloc((size_t)EVAL_BATCH * (size_t)k, 1);
    int n[EVAL_BATCH];
    ef_model_scratch_t *s = ef_model_scratch_new(m, EVAL_BATCH, err);
    int rc = -1;
    if (!s)
        goto out;
    if (!out->probs || !out->pred || !size || !iat || !dir) {
        ef_err_set(err, "out of memory");
        goto out;
    }
    for (size_t r0 = 0; r0 < ds->n; r0 += EVAL_BATCH) {
        int B = ds->n - r0 < EVAL_BATCH ? (int)(ds->n - r0) : EVAL_BATCH;
        for (int b = 0; b < B; b++) {
            size_t r = r0 + (size_t)b, off = r * (size_t)k, bo = (size_t)b * (size_t)k;
            int perm[EF_K_MAX];
            n[b] = ds->len[r];
            for (int j = 0; j < k; j++)
                perm[j] = j;
            if (a->reorder > 0) {
                /* Per (seed, row): a row's reordering does not depend on batching. */
                ef_data_rng_t rng;
                ef_data_rng_seed(&rng, a->seed, ef_data_reorder_stream(0, (uint64_t)ds->row[r]));
                ef_data_reorder_perm(&rng, n[b], a->reorder, perm);
            }
            for (int j = 0; j < k; j++) {
                size[bo + (size_t)j] = ds->size[off + (size_t)perm[j]];
                iat[bo + (size_t)j] = ds->iat[off + (size_t)perm[j]];
                dir[bo + (size_t)j] = ds->dir ? ds->dir[off + (size_t)perm[j]] : 0;
            }
        }
        if (ef_model_predict_batch(m, s, B, size, iat, ds->dir ? dir : NULL, n,
                                   out->probs + r0 * (size_t)C, out->pred + r0) < 0) {
            ef_err_set(err, "%s: prediction failed on rows %zu..%zu", a->model, r0 + 1,
                       r0 + (size_t)B);
            goto out;
        }
    }
    rc = 0;
out:
    ef_model_scratch_free(s);
    free(size);
    free(iat);
    free(dir);
    return rc;
}

/* --- Text report -------------------------------------------------------- */

static void print_report(FILE *f, const eval_args_t *a, const ef_dataset_t *ds,
                         const ef_metrics_t *mt, const ef_confusion_t *conf)
{
    int w = 12;
    for (int c = 0; c < ds->n_classes; c++)
        if ((int)strlen(ds->labels[c]) > w)
            w = (int)strlen(ds->labels[c]);
    fprintf(f, "model %s on %s (%lld rows scored", a->model, ds->path, (long long)mt->total);
    if (a->reorder > 0)
        fprintf(f, ", reorder p=%g seed %llu", a->reorder, (unsigned long long)a->seed);
    fprintf(f, ")\n\n%-*s %9s %9s %9s %9s\n", w, "class", "precision", "recall", "f1",
            "support");
    for (int c = 0; c < ds->n_classes; c++) {
        const ef_class_metrics_t *p = &mt->per_class[c];
        fprintf(f, "%-*s %9.4f %9.4f %9.4f %9lld%s\n", w, ds->labels[c], p->precision,
                p->recall, p->f1, (long long)p->support, p->present ? "" : "  (absent)");
    }
    fprintf(f, "\n%-*s %9.4f %9.4f %9.4f %9lld\n", w, "macro avg", mt->macro_precision,
            mt->macro_recall, mt->macro_f1, (long long)mt->total);
    fprintf(f, "%-*s %9s %9s %9.4f %9lld\n", w, "weighted avg", "", "", mt->weighted_f1,
            (long long)mt->total);
    fprintf(f, "%-*s %9s %9s %9.4f %9lld\n\n", w, "accuracy", "", "", mt->accuracy,
            (long long)mt->total);
    fprintf(f, "confusion matrix (rows: true class, columns: predicted)\n%-*s", w, "");
    for (int p = 0; p < conf->n; p++)
        fprintf(f, " %9.9s", ds->labels[p]);
    fputc('\n', f);
    for (int t = 0; t < conf->n; t++) {
        fprintf(f, "%-*s", w, ds->labels[t]);
        for (int p = 0; p < conf->n; p++)
            fprintf(f, " %9lld", (long long)conf->m[t * conf->n + p]);
        fputc('\n', f);
    }
}

/* --- JSON ---------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6f", v);
    else
        fputs("null", f);
}

static void write_json(FILE *f, const eval_args_t *a, const ef_model_t *m,
                       const ef_dataset_t *ds, const ef_metrics_t *mt,
                       const ef_confusion_t *conf, const int64_t *unknown_pred)
{
    fputs("{\n  \"model\": ", f);
    json_str(f, a->model);
    fputs(",\n  \"arch\": ", f);
    json_str(f, ef_model_arch(m));
    fprintf(f, ",\n  \"k\": %d,\n  \"data\": ", ef_model_k(m));
    json_str(f, ds->path);
    fprintf(f, ",\n  \"data_sha256\": \"%s\",\n  \"rows\": %lld,\n  \"scored\": %lld,\n",
            ds->sha256, (long long)ds->n_rows, (long long)mt->total);
    fprintf(f, "  \"reorder\": %g,\n  \"seed\": %llu,\n  \"labels\": [", a->reorder,
            (unsigned long long)a->seed);
    for (int c = 0; c < ds->n_classes; c++) {
        json_str(f, ds->labels[c]);
        fputs(c + 1 < ds->n_classes ? ", " : "],\n", f);
    }
    fputs("  \"accuracy\": ", f);
    json_num(f, mt->accuracy);
    fputs(",\n  \"macro_f1\": ", f);
    json_num(f, mt->macro_f1);
    fputs(",\n  \"weighted_f1\": ", f);
    json_num(f, mt->weighted_f1);
    fputs(",\n  \"macro_precision\": ", f);
    json_num(f, mt->macro_precision);
    fputs(",\n  \"macro_recall\": ", f);
    json_num(f, mt->macro_recall);
    fputs(",\n  \"per_class\": [\n", f);
    for (int c = 0; c < ds->n_classes; c++) {
        const ef_class_metrics_t *p = &mt->per_class[c];
        fputs("    {\"label\": ", f);
        json_str(f, ds->labels[c]);
        fputs(", \"precision\": ", f);
        json_num(f, p->precision);
        fputs(", \"recall\": ", f);
        json_num(f, p->recall);
        fputs(", \"f1\": ", f);
        json_num(f, p->f1);
        fprintf(f, ", \"support\": %lld, \"predicted\": %lld, \"in_macro\": %s}%s\n",
                (long long)p->support, (long long)p->predicted, p->present ? "true" : "false",
                c + 1 < ds->n_classes ? "," : "");
    }
    fputs("  ],\n  \"confusion\": [\n", f);
    for (int t = 0; t < conf->n; t++) {
        fputs("    [", f);
        for (int p = 0; p < conf->n; p++)
            fprintf(f, "%lld%s", (long long)conf->m[t * conf->n + p], p + 1 < conf->n ? ", " : "");
        fputs(t + 1 < conf->n ? "],\n" : "]\n", f);
    }
    /* Rows whose label the model lacks: counted, with what they were called. */
    fprintf(f, "  ],\n  \"unknown_label_rows\": %lld,\n  \"unknown_labels\": [",
            (long long)ds->n_unknown);
    for (int l = ds->n_classes; l < ds->n_labels; l++) {
        fputs(l > ds->n_classes ? ",\n    {\"label\": " : "\n    {\"label\": ", f);
        json_str(f, ds->labels[l]);
        fprintf(f, ", \"rows\": %lld, \"predicted\": [", (long long)ds->count[l]);
        for (int c = 0; c < ds->n_classes; c++)
            fprintf(f, "%lld%s", (long long)unknown_pred[(size_t)(l - ds->n_classes) *
                                                         (size_t)ds->n_classes + (size_t)c],
                    c + 1 < ds->n_classes ? ", " : "]}");
    }
    fputs(ds->n_labels > ds->n_classes ? "\n  ]\n}\n" : "]\n}\n", f);
}

/* --- Predictions CSV ------------------------------------------------------ */

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_predictions(FILE *f, const ef_dataset_t *ds, const scored_t *sc)
{
    fputs("row,true,predicted", f);
    for (int c = 0; c < ds->n_classes; c++) {
        char name[300];
        snprintf(name, sizeof name, "p_%s", ds->labels[c]);
        fputc(',', f);
        csv_field(f, name);
    }
    fputc('\n', f);
    for (size_t r = 0; r < ds->n; r++) {
        fprintf(f, "%lld,", (long long)ds->row[r]);
        csv_field(f, ds->labels[ds->label[r]]);
        fputc(',', f);
        csv_field(f, ds->labels[sc->pred[r]]);
        const float *p = sc->probs + r * (size_t)ds->n_classes;
        for (int c = 0; c < ds->n_classes; c++)
            fprintf(f, ",%.6f", (double)p[c]);
        fputc('\n', f);
    }
}

/* Write through a temporary name so a failed run leaves no complete-looking
 * file behind. */

static int write_file(const char *path, void (*fn)(FILE *, void *), void *ctx, ef_err_t *err)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return ef_err_set(err, "out of memory");
    FILE *f = fopen(tmp, "w");
    if (!f) {
        ef_err_set(err, "%s: cannot write: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    fn(f, ctx);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        ef_err_set(err, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

typedef struct outputs {
    const eval_args_t *a;
    const ef_model_t *m;
    const ef_dataset_t *ds;
    const ef_metrics_t *mt;
    const ef_confusion_t *conf;
    const scored_t *sc;
    const int64_t *unknown_pred;
} outputs_t;

static void json_writer(FILE *f, void *ctx)
{
    outputs_t *o = ctx;
    write_json(f, o->a, o->m, o->ds, o->mt, o->conf, o->unknown_pred);
}

static void pred_writer(FILE *f, void *ctx)
{
    outputs_t *o = ctx;
    write_predictions(f, o->ds, o->sc);
}

/* Labels in the data that the model lacks: said on stderr, never silent. */
static void report_unknown(const ef_dataset_t *ds, const int64_t *unknown_pred)
{
    if (!ds->n_unknown)
        return;
    fprintf(stderr,
            "earlyflow eval: %lld rows have labels the model does not know; they are "
            "predicted (see --predictions) but not scored:",
            (long long)ds->n_unknown);
    for (int l = ds->n_classes; l < ds->n_labels; l++) {
        const int64_t *p = unknown_pred + (size_t)(l - ds->n_classes) * (size_t)ds->n_classes;
        int top = 0;
        for (int c = 1; c < ds->n_classes; c++)
            if (p[c] > p[top])
                top = c;
        fprintf(stderr, " %s %lld (mostly predicted %s)%s", ds->labels[l],
                (long long)ds->count[l], ds->labels[top], l + 1 < ds->n_labels ? "," : "\n");
    }
}

typedef struct eval_job {
    ef_model_t *m;
    ef_dataset_t *ds;
    scored_t sc;
    ef_confusion_t conf;
    ef_metrics_t mt;
    int64_t *unknown_pred;
} eval_job_t;

static void eval_job_free(eval_job_t *j)
{
    ef_model_free(j->m);
    ef_data_free(j->ds);
    free(j->sc.probs);
    free(j->sc.pred);
    if (j->conf.m)
        ef_confusion_free(&j->conf);
    if (j->mt.per_class)
        ef_metrics_free(&j->mt);
    free(j->unknown_pred);
}

static int load(eval_job_t *j, const eval_args_t *a, ef_err_t *err)
{
    if (!(j->m = ef_model_load_file(a->model, err)))
        return -1;
    if (ef_model_num_classes(j->m) < 1)
        return ef_err_set(err, "%s is a %s model without classes (a pre-training "
                          "autoencoder?); evaluate a classifier",
                          a->model, ef_model_arch(j->m));
    ef_data_opts_t o = {.labels = ef_model_labels(j->m),
                        .n_labels = ef_model_num_classes(j->m),
                        .need_dir = model_uses_dir(j->m),
                        .keep_unknown = 1,
                        .allow_empty_class = 1};
    if (!(j->ds = ef_data_read(a->input, &o, err)))
        return -1;
    if (j->ds->k != ef_model_k(j->m))
        return ef_err_set(err, "%s has k=%d (pktSize1..pktSize%d) but the model %s has k=%d",
                          a->input, j->ds->k, j->ds->k, a->model, ef_model_k(j->m));
    return 0;
}

static int score(eval_job_t *j, ef_err_t *err)
{
    const ef_dataset_t *ds = j->ds;
    const int C = ds->n_classes;
    int n_unknown = ds->n_labels - C;
    if (ef_confusion_init(&j->conf, C, err) < 0)
        return -1;
    if (!(j->unknown_pred = calloc((size_t)(n_unknown ? n_unknown : 1) * (size_t)C,
                                   sizeof *j->unknown_pred)))
        return ef_err_set(err, "out of memory");
    for (size_t r = 0; r < ds->n; r++) {
        if (ds->label[r] < C)
            ef_confusion_add(&j->conf, ds->label[r], j->sc.pred[r]);
        else
            j->unknown_pred[(size_t)(ds->label[r] - C) * (size_t)C + (size_t)j->sc.pred[r]]++;
    }
    return ef_metrics_compute(&j->conf, &j->mt, err);
}

int ef_cmd_eval(int argc, char **argv)
{
    eval_args_t a;
    int prc = parse_args(argc, argv, &a);
    if (prc)
        return prc == 1 ? 0 : 2;
    eval_job_t j = {0};
    ef_err_t err;
    int rc = 1;
    if (load(&j, &a, &err) < 0 || predict_all(j.m, j.ds, &a, &j.sc, &err) < 0 ||
        score(&j, &err) < 0) {
        fprintf(stderr, "earlyflow eval: %s\n", err.msg);
        goto out;
    }
    report_unknown(j.ds, j.unknown_pred);
    if (!a.quiet)
        print_report(stdout, &a, j.ds, &j.mt, &j.conf);
    outputs_t o = {&a, j.m, j.ds, &j.mt, &j.conf, &j.sc, j.unknown_pred};
    if ((a.json && write_file(a.json, json_writer, &o, &err) < 0) ||
        (a.predictions && write_file(a.predictions, pred_writer, &o, &err) < 0)) {
        fprintf(stderr, "earlyflow eval: %s\n", err.msg);
        goto out;
    }
    if (a.confusion_png) {
        int p = ef_plot_confusion(a.confusion_png, (const char *const *)j.ds->labels,
                                  j.conf.n, j.conf.m, &err);
        if (p != EF_PLOT_OK)
            fprintf(stderr, "earlyflow eval: warning: %s; no %s\n", err.msg, a.confusion_png);
    }
    rc = 0;
out:
    eval_job_free(&j);
    return rc;
}
