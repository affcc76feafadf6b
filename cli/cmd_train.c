/* earlyflow train / earlyflow pretrain: fit a model on a dataset CSV.
 *
 * Both read the CSV (nn/data.h), split it (seed protocol or stratified),
 * run the training loop (nn/train.h) with one progress line per epoch on
 * stderr, write the best epoch's weights with provenance metadata, and
 * optionally a curve (PREFIX.tsv + PREFIX.png). docs/training.md. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "nn/data.h"
#include "nn/net.h"
#include "nn/train.h"
#include "plot.h"

typedef struct train_args {
    int pretrain;
    const char *input, *output, *test_csv, *pretrained, *curve, *split_out;
    const char *labels, *class_weights;
    int arch;
    int k, epochs, batch, hidden, layers, context, patience, quiet, direction;
    float lr;
    uint64_t seed;
    ef_init_t init;
    ef_select_t select;
    ef_split_opts_t split;
    double train_reorder;
} train_args_t;

/* Per-epoch callback state: progress lines and the curve file. */
typedef struct progress {
    int quiet, pretrain;
    FILE *curve;
} progress_t;

static void usage(FILE *out, int pretrain)
{
    if (pretrain)
        fputs("usage: earlyflow pretrain -i DATA.csv -o SEQ.safetensors [options]\n"
              "Pre-train the SEQ autoencoder (MSE); then: earlyflow train --model seq2seq "
              "--pretrained SEQ.safetensors ...\n",
              out);
    else
        fputs("usage: earlyflow train -i DATA.csv --model ARCH -o MODEL.safetensors "
              "[options]\n"
              "  --model ARCH         mlp, lstm, bilstm, seq2seq, gru, bigru\n",
              out);
    fputs("  -i, --input FILE     dataset CSV (seed format or collect's output)\n"
          "  -o, --output FILE    model file to write (safetensors)\n"
          "  -k K                 packets per flow; must match the CSV (default: the CSV's)\n"
          "  --labels L1,L2,...   classes in index order, or 'all' (default "
          EF_DATA_SEED_LABELS ")\n"
          "  --epochs N           maximum epochs (default 100)\n"
          "  --patience N         stop after N epochs without improvement, 0 = never "
          "(default 20)\n"
          "  --batch N            mini-batch size (default 20)\n"
          "  --lr X               Adam learning rate (default 0.001)\n"
          "  --hidden N --layers N --context N   network size (default 20, 3, 3)\n"
          "  --seed S             seed for sampling, init and shuffling (default 1)\n"
          "  --init torch|seed    weight init: PyTorch's or the seed's U(0,1) (default torch)\n"
          "  --split seed|stratified   sampling protocol (default seed)\n"
          "  --n-streams N        seed protocol: rows per class at most (default 10000)\n"
          "  --n-test N --n-valid N    seed protocol: per class (default 100, 200)\n"
          "  --fractions A,B,C    stratified: train,valid,test shares (default 0.8,0.1,0.1)\n"
          "  --test-csv FILE      test rows from this file instead of a test split\n"
          "  --direction          use the packet direction as a third input feature\n"
          "  --train-reorder P    augment: swap adjacent packets with probability P\n"
          "  --curve PREFIX       write PREFIX.tsv and PREFIX.png (gnuplot)\n"
          "  --split-out FILE     write the rows of each split (row,split) as CSV\n"
          "  -q, --quiet          no per-epoch progress lines\n",
          out);
    if (!pretrain)
        fputs("  --class-weights none|balanced|w1,w2,...   loss weights (default none)\n"
              "  --select f1|accuracy best epoch by validation macro-F1 or accuracy "
              "(default f1)\n"
              "  --pretrained FILE    start from the matching tensors of a model file "
              "(SEQ: pretrain's output)\n",
              out);
}

/* Strict number parsing for option values. */
static int parse_int(const char *s, const char *opt, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "earlyflow: %s: expected an integer %ld..%ld, got '%s'\n", opt, lo, hi,
                s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, const char *opt, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "earlyflow: %s: expected a number in [%g, %g], got '%s'\n", opt, lo, hi,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_fractions(const char *s, ef_split_opts_t *o)
{
    double v[3];
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        char *end;
        v[i] = strtod(p, &end);
        if (end == p || !(v[i] >= 0) || !isfinite(v[i]) ||
            (i < 2 ? (*end != ',' && *end != '/') : *end != '\0')) {
            fprintf(stderr,
                    "earlyflow: --fractions: expected three shares TRAIN,VALID,TEST (e.g. "
                    "0.8,0.1,0.1 or 80/10/10), got '%s'\n",
                    s);
            return -1;
        }
        p = end + 1;
    }
    if (!(v[0] > 0)) {
        fprintf(stderr, "earlyflow: --fractions: the training share must be > 0\n");
        return -1;
    }
    o->frac_train = v[0];
    o->frac_valid = v[1];
    o->frac_test = v[2];
    return 0;
}

enum {
    OPT_MODEL = 256, OPT_LABELS, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_HIDDEN, OPT_LAYERS,
    OPT_CONTEXT, OPT_SEED, OPT_INIT, OPT_CW, OPT_SELECT, OPT_PATIENCE, OPT_PRETRAINED,
    OPT_SPLIT, OPT_NSTREAMS, OPT_NTEST, OPT_NVALID, OPT_FRACTIONS, OPT_TESTCSV, OPT_DIRECTION,
    OPT_REORDER, OPT_CURVE, OPT_SPLITOUT,
};

static const struct option long_opts[] = {
    {"input", required_argument, 0, 'i'},        {"output", required_argument, 0, 'o'},
    {"model", required_argument, 0, OPT_MODEL},  {"labels", required_argument, 0, OPT_LABELS},
    {"epochs", required_argument, 0, OPT_EPOCHS}, {"batch", required_argument, 0, OPT_BATCH},
    {"lr", required_argument, 0, OPT_LR},        {"hidden", required_argument, 0, OPT_HIDDEN},
    {"layers", required_argument, 0, OPT_LAYERS}, {"context", required_argument, 0, OPT_CONTEXT},
    {"seed", required_argument, 0, OPT_SEED},    {"init", required_argument, 0, OPT_INIT},
    {"class-weights", required_argument, 0, OPT_CW},
    {"select", required_argument, 0, OPT_SELECT},
    {"patience", required_argument, 0, OPT_PATIENCE},
    {"pretrained", required_argument, 0, OPT_PRETRAINED},
    {"split", required_argument, 0, OPT_SPLIT},  {"n-streams", required_argument, 0, OPT_NSTREAMS},
    {"n-test", required_argument, 0, OPT_NTEST}, {"n-valid", required_argument, 0, OPT_NVALID},
    {"fractions", required_argument, 0, OPT_FRACTIONS},
    {"test-csv", required_argument, 0, OPT_TESTCSV},
    {"direction", no_argument, 0, OPT_DIRECTION},
    {"train-reorder", required_argument, 0, OPT_REORDER},
    {"curve", required_argument, 0, OPT_CURVE},  {"quiet", no_argument, 0, 'q'},
    {"split-out", required_argument, 0, OPT_SPLITOUT},
    {"help", no_argument, 0, 'h'},               {0, 0, 0, 0},
};

static int set_option(train_args_t *a, int c, const char *v)
{
    double d;
    int n;
    switch (c) {
    case 'i': a->input = v; return 0;
    case 'o': a->output = v; return 0;
    case 'k': return parse_int(v, "-k", 1, 20, &a->k);
    case OPT_MODEL:
        a->arch = ef_arch_from_name(v);
        if (a->arch < 0 || a->arch == EF_ARCH_AUTOENC) {
            fprintf(stderr, "earlyflow: --model: expected mlp, lstm, bilstm, seq2seq, gru or "
                            "bigru, got '%s'\n", v);
            return -1;
        }
        return 0;
    case OPT_LABELS: a->labels = v; return 0;
    case OPT_EPOCHS: return parse_int(v, "--epochs", 1, 1000000, &a->epochs);
    case OPT_BATCH: return parse_int(v, "--batch", 1, 65536, &a->batch);
    case OPT_LR:
        if (parse_double(v, "--lr", 1e-12, 100, &d) < 0)
            return -1;
        a->lr = (float)d;
        return 0;
    case OPT_HIDDEN: return parse_int(v, "--hidden", 1, 4096, &a->hidden);
    case OPT_LAYERS: return parse_int(v, "--layers", 1, 64, &a->layers);
    case OPT_CONTEXT: return parse_int(v, "--context", 1, 4096, &a->context);
    case OPT_SEED: {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-') {
            fprintf(stderr, "earlyflow: --seed: expected a non-negative integer, got '%s'\n",
                    v);
            return -1;
        }
        a->seed = s;
        return 0;
    }
    case OPT_INIT:
        if (strcmp(v, "torch") && strcmp(v, "seed")) {
            fprintf(stderr, "earlyflow: --init: expected torch or seed, got '%s'\n", v);
            return -1;
        }
        a->init = v[0] == 't' ? EF_INIT_TORCH : EF_INIT_SEED_UNIFORM;
        return 0;
    case OPT_CW: a->class_weights = v; return 0;
    case OPT_SELECT:
        if (strcmp(v, "f1") && strcmp(v, "accuracy")) {
            fprintf(stderr, "earlyflow: --select: expected f1 or accuracy, got '%s'\n", v);
            return -1;
        }
        a->select = v[0] == 'f' ? EF_SELECT_F1 : EF_SELECT_ACCURACY;
        return 0;
    case OPT_PATIENCE: return parse_int(v, "--patience", 0, 1000000, &a->patience);
    case OPT_PRETRAINED: a->pretrained = v; return 0;
    case OPT_SPLIT:
        if (strcmp(v, "seed") && strcmp(v, "stratified")) {
            fprintf(stderr, "earlyflow: --split: expected seed or stratified, got '%s'\n", v);
            return -1;
        }
        a->split.protocol = v[0] == 's' && v[1] == 'e' ? EF_SPLIT_SEED : EF_SPLIT_STRATIFIED;
        return 0;
    case OPT_NSTREAMS:
        if (parse_int(v, "--n-streams", 0, 2000000000, &n) < 0)
            return -1;
        a->split.n_streams = n;
        return 0;
    case OPT_NTEST:
        if (parse_int(v, "--n-test", 0, 100000000, &n) < 0)
            return -1;
        a->split.n_test = n;
        return 0;
    case OPT_NVALID:
        if (parse_int(v, "--n-valid", 1, 100000000, &n) < 0)
            return -1;
        a->split.n_valid = n;
        return 0;
    case OPT_FRACTIONS: return parse_fractions(v, &a->split);
    case OPT_TESTCSV: a->test_csv = v; return 0;
    case OPT_DIRECTION: a->direction = 1; return 0;
    case OPT_REORDER: return parse_double(v, "--train-reorder", 0, 1, &a->train_reorder);
    case OPT_CURVE: a->curve = v; return 0;
    case OPT_SPLITOUT: a->split_out = v; return 0;
    case 'q': a->quiet = 1; return 0;
    }
    return -1;
}

/* Options only `train` has. */
static int train_only(int c)
{
    return c == OPT_MODEL || c == OPT_CW || c == OPT_SELECT || c == OPT_PRETRAINED;
}

/* 0 ok, 1 --help shown, 2 usage error. */
static int parse_args(int argc, char **argv, train_args_t *a)
{
    memset(a, 0, sizeof *a);
    a->arch = -1;
    a->epochs = 100;
    a->batch = 20;
    a->lr = 0.001f;
    a->hidden = 20;
    a->layers = 3;
    a->context = 3;
    a->patience = 20;
    a->seed = 1;
    a->init = EF_INIT_TORCH;
    a->select = EF_SELECT_F1;
    a->labels = EF_DATA_SEED_LABELS;
    ef_split_opts_default(&a->split);
    a->pretrain = !strcmp(argv[0], "pretrain");
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":i:o:k:qh", long_opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout, a->pretrain);
            return 1;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "earlyflow %s: %s '%s'\n", argv[0],
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            usage(stderr, a->pretrain);
            return 2;
        }
        if (a->pretrain && train_only(c)) {
            fprintf(stderr, "earlyflow pretrain: '%s' is an option of train only\n",
                    argv[optind - 1]);
            return 2;
        }
        if (set_option(a, c, optarg) < 0)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "earlyflow %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return 2;
    }
    if (!a->input || !a->output || (!a->pretrain && a->arch < 0)) {
        fprintf(stderr, "earlyflow %s: -i DATA.csv%s and -o FILE are required\n", argv[0],
                a->pretrain ? "" : ", --model ARCH");
        usage(stderr, a->pretrain);
        return 2;
    }
    if (a->pretrain)
        a->arch = EF_ARCH_AUTOENC;
    return 0;
}

static void on_epoch(void *ctx, const ef_epoch_stats_t *st)
{
    progress_t *p = ctx;
    if (!p->quiet) {
        if (p->pretrain)
            fprintf(stderr, "epoch %4d/%d  loss %.6f  valid MSE %.6f  %.2f s%s\n", st->epoch,
                    st->epochs, st->train_loss, st->valid_loss, st->seconds,
                    st->improved ? "  *" : "");
        else
            fprintf(stderr, "epoch %4d/%d  loss %.6f  valid F1 %.4f  acc %.4f  %.2f s%s\n",
                    st->epoch, st->epochs, st->train_loss, st->valid_f1, st->valid_acc,
                    st->seconds, st->improved ? "  *" : "");
    }
    if (p->curve) {
        if (p->pretrain)
            fprintf(p->curve, "%d\t%.6f\t%.6f\n", st->epoch, st->train_loss, st->valid_loss);
        else
            fprintf(p->curve, "%d\t%.6f\t%.6f\t%.6f\n", st->epoch, st->train_loss, st->valid_f1,
                    st->valid_acc);
        fflush(p->curve);
    }
}

/* "Unlabeled 1000, HTTP 20" for the listed classes of some rows. */
static void print_class_counts(const char *what, const ef_dataset_t *ds, const size_t *idx,
                               size_t n)
{
    int64_t *count = calloc((size_t)ds->n_classes, sizeof *count);
    if (!count)
        return;
    for (size_t i = 0; i < n; i++)
        count[ds->label[idx[i]]]++;
    fprintf(stderr, "%-10s %7zu rows:", what, n);
    for (int c = 0; c < ds->n_classes; c++)
        fprintf(stderr, " %s %lld%s", ds->labels[c], (long long)count[c],
                c + 1 < ds->n_classes ? "," : "\n");
    free(count);
}

/* The seed's policy drops rows with unlisted labels; say how many. */
static void report_dropped(const ef_dataset_t *ds)
{
    fprintf(stderr, "%s: %lld data rows, k=%d", ds->path, (long long)ds->n_rows, ds->k);
    if (!ds->n_unknown) {
        fputc('\n', stderr);
        return;
    }
    fprintf(stderr, "; dropped %lld rows whose label is not in the list:", (long long)ds->n_unknown);
    int shown = 0;
    for (int l = ds->n_classes; l < ds->n_labels; l++) {
        if (shown++ == 20) {
            fprintf(stderr, " ... (%d labels)", ds->n_labels - ds->n_classes);
            break;
        }
        fprintf(stderr, " %s %lld%s", ds->labels[l], (long long)ds->count[l],
                l + 1 < ds->n_labels ? "," : "");
    }
    fputc('\n', stderr);
}

static int parse_class_weights(const char *spec, const ef_rows_t *train, int classes, float *w)
{
    if (!spec || !strcmp(spec, "none"))
        return 0;
    if (!strcmp(spec, "balanced")) {
        ef_train_balanced_weights(train, classes, w);
        return 1;
    }
    const char *p = spec;
    for (int c = 0; c < classes; c++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0) || !isfinite(v) ||
            (c + 1 < classes ? *end != ',' : *end != '\0')) {
            fprintf(stderr,
                    "earlyflow: --class-weights: expected none, balanced or %d non-negative "
                    "numbers separated by commas (one per class), got '%s'\n",
                    classes, spec);
            return -1;
        }
        w[c] = (float)v;
        p = end + 1;
    }
    return 1;
}

/* The command line as run, for the model's provenance. */
static char *command_line(int argc, char **argv)
{
    size_t len = strlen("earlyflow") + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) * 4 + 3;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    p += sprintf(p, "earlyflow");
    for (int i = 0; i < argc; i++) {
        int plain = argv[i][0] != '\0' && strcspn(argv[i], " \t'\"\\$`;&|<>()*?") ==
                                              strlen(argv[i]);
        *p++ = ' ';
        if (plain) {
            p += sprintf(p, "%s", argv[i]);
            continue;
        }
        *p++ = '\'';
        for (const char *q = argv[i]; *q; q++) {
            if (*q == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *q;
            }
        }
        *p++ = '\'';
        *p = '\0';
    }
    return s;
}

/* Provenance metadata: key/value strings kept alive until the save. */
#define MAX_META 32
typedef struct meta {
    ef_kv_t kv[MAX_META];
    char *owned[MAX_META];
    int n;
} meta_t;

static void meta_add(meta_t *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void meta_add(meta_t *m, const char *key, const char *fmt, ...)
{
    if (m->n >= MAX_META)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *v = NULL;
    if (vasprintf(&v, fmt, ap) < 0)
        v = NULL;
    va_end(ap);
    if (!v)
        return;
    m->owned[m->n] = v;
    m->kv[m->n].key = key;
    m->kv[m->n].value = v;
    m->n++;
}

static void meta_free(meta_t *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->owned[i]);
}

static void describe_sampling(const train_args_t *a, char *out, size_t cap)
{
    const ef_split_opts_t *s = &a->split;
    int n = s->protocol == EF_SPLIT_SEED
                ? snprintf(out, cap, "seed: per class n_streams=%lld, test=%lld, valid=%lld",
                           (long long)s->n_streams, (long long)(a->test_csv ? 0 : s->n_test),
                           (long long)s->n_valid)
                : snprintf(out, cap, "stratified: train/valid/test shares %g/%g/%g",
                           s->frac_train, s->frac_valid, a->test_csv ? 0.0 : s->frac_test);
    if (a->test_csv && n >= 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, "; test rows from %s", a->test_csv);
}

static void build_meta(meta_t *m, const train_args_t *a, const ef_dataset_t *ds,
                       const ef_dataset_t *test_ds, const ef_split_t *sp,
                       const ef_train_result_t *r, const char *cw, char *cmdline)
{
    char sampling[512];
    describe_sampling(a, sampling, sizeof sampling);
    meta_add(m, "train_data", "%s", ds->path);
    meta_add(m, "train_data_sha256", "%s", ds->sha256);
    meta_add(m, "train_sampling", "%s", sampling);
    meta_add(m, "train_rows", "%zu train, %zu valid, %zu test", sp->n_train, sp->n_valid,
             test_ds ? test_ds->n : sp->n_test);
    meta_add(m, "train_dropped_rows", "%lld", (long long)ds->n_unknown);
    meta_add(m, "train_seed", "%llu", (unsigned long long)a->seed);
    meta_add(m, "train_init", "%s", a->init == EF_INIT_TORCH ? "torch" : "seed");
    meta_add(m, "train_epochs_max", "%d", a->epochs);
    meta_add(m, "train_epochs_run", "%d", r->epochs_run);
    meta_add(m, "train_best_epoch", "%d", r->best_epoch);
    meta_add(m, "train_patience", "%d", a->patience);
    meta_add(m, "train_batch", "%d", a->batch);
    meta_add(m, "train_lr", "%g", (double)a->lr);
    meta_add(m, "train_reorder", "%g", a->train_reorder);
    if (a->pretrain) {
        meta_add(m, "valid_mse", "%.6f", r->best_valid_loss);
        if (r->has_test)
            meta_add(m, "test_mse", "%.6f", r->test_loss);
    } else {
        meta_add(m, "train_select", "%s", a->select == EF_SELECT_F1 ? "macro_f1" : "accuracy");
        meta_add(m, "train_class_weights", "%s", cw);
        meta_add(m, "valid_macro_f1", "%.6f", r->best_valid_f1);
        meta_add(m, "valid_accuracy", "%.6f", r->best_valid_acc);
        if (r->has_test) {
            meta_add(m, "test_macro_f1", "%.6f", r->test.macro_f1);
            meta_add(m, "test_accuracy", "%.6f", r->test.accuracy);
        }
        if (a->pretrained)
            meta_add(m, "train_pretrained", "%s (%d tensors)", a->pretrained,
                     r->pretrained_tensors);
    }
    if (test_ds) {
        meta_add(m, "test_data", "%s", test_ds->path);
        meta_add(m, "test_data_sha256", "%s", test_ds->sha256);
    }
    if (cmdline) {
        m->owned[m->n] = cmdline;
        m->kv[m->n].key = "train_command";
        m->kv[m->n].value = cmdline;
        m->n++;
    }
}

static void print_result(const train_args_t *a, const ef_dataset_t *ds,
                         const ef_train_result_t *r)
{
    if (a->pretrain) {
        fprintf(stderr, "best epoch %d of %d: valid MSE %.6f", r->best_epoch, r->epochs_run,
                r->best_valid_loss);
        if (r->has_test)
            fprintf(stderr, "; test MSE %.6f", r->test_loss);
        fputc('\n', stderr);
        return;
    }
    fprintf(stderr, "best epoch %d of %d: valid macro-F1 %.4f, accuracy %.4f\n", r->best_epoch,
            r->epochs_run, r->best_valid_f1, r->best_valid_acc);
    if (!r->has_test)
        return;
    fprintf(stderr, "test: macro-F1 %.4f, weighted F1 %.4f, accuracy %.4f (%lld rows);",
            r->test.macro_f1, r->test.weighted_f1, r->test.accuracy, (long long)r->test.total);
    for (int c = 0; c < ds->n_classes; c++)
        fprintf(stderr, " %s F1 %.4f%s", ds->labels[c], r->test.per_class[c].f1,
                c + 1 < ds->n_classes ? "," : "\n");
}

static FILE *open_curve(const train_args_t *a, char **tsv)
{
    if (asprintf(tsv, "%s.tsv", a->curve) < 0) {
        *tsv = NULL;
        return NULL;
    }
    FILE *f = fopen(*tsv, "w");
    if (!f) {
        fprintf(stderr, "earlyflow: %s: cannot write: %s\n", *tsv, strerror(errno));
        return NULL;
    }
    fputs(a->pretrain ? "epoch\tloss\tvalid_loss\n" : "epoch\tloss\tf1\tacc\n", f);
    return f;
}

static void plot_curve(const train_args_t *a, const char *tsv)
{
    char *png = NULL;
    if (asprintf(&png, "%s.png", a->curve) < 0)
        return;
    ef_err_t err;
    int rc = ef_plot_curve(tsv, png, a->pretrain, &err);
    if (rc == EF_PLOT_MISSING)
        fprintf(stderr, "earlyflow: warning: %s; the curve is in %s (no %s)\n", err.msg, tsv,
                png);
    else if (rc != EF_PLOT_OK)
        fprintf(stderr, "earlyflow: warning: %s\n", err.msg);
    free(png);
}

/* Everything a run owns, freed in one place. */
typedef struct job {
    char **labels;
    int n_labels;
    ef_dataset_t *ds, *test_ds;
    ef_split_t split;
    size_t *test_all;
    float *weights;
    ef_train_result_t res;
    FILE *curve;
    char *tsv;
} job_t;

static void job_free(job_t *j)
{
    ef_data_labels_free(j->labels, j->n_labels);
    ef_data_free(j->ds);
    ef_data_free(j->test_ds);
    ef_split_free(&j->split);
    free(j->test_all);
    free(j->weights);
    ef_train_result_free(&j->res);
    if (j->curve)
        fclose(j->curve);
    free(j->tsv);
}

static int load_data(job_t *j, const train_args_t *a, ef_err_t *err)
{
    if (!(j->labels = ef_data_labels_parse(a->labels, &j->n_labels, err)))
        return -1;
    ef_data_opts_t dopts = {.labels = (const char *const *)j->labels,
                            .n_labels = j->n_labels,
                            .k = a->k,
                            .need_dir = a->direction};
    if (!(j->ds = ef_data_read(a->input, &dopts, err)))
        return -1;
    report_dropped(j->ds);
    ef_split_opts_t so = a->split;
    so.seed = a->seed;
    if (a->test_csv) {
        so.n_test = 0;
        so.frac_test = 0;
        dopts.k = j->ds->k;
        dopts.allow_empty_class = 1;
        if (!(j->test_ds = ef_data_read(a->test_csv, &dopts, err)))
            return -1;
        report_dropped(j->test_ds);
        if (!(j->test_all = malloc(j->test_ds->n * sizeof *j->test_all)))
            return ef_err_set(err, "out of memory");
        for (size_t i = 0; i < j->test_ds->n; i++)
            j->test_all[i] = i;
    }
    return ef_data_split(j->ds, &so, &j->split, err);
}

/* The data row numbers of each split, so another tool (e.g. the PyTorch
 * reference, tools/torch_reference_train.py) can use exactly these rows. */
static int write_split(const char *path, const ef_dataset_t *ds, const ef_split_t *sp,
                       ef_err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return ef_err_set(err, "%s: cannot write: %s", path, strerror(errno));
    fputs("row,split\n", f);
    const size_t *parts[3] = {sp->train, sp->valid, sp->test};
    const size_t ns[3] = {sp->n_train, sp->n_valid, sp->n_test};
    static const char *const names[3] = {"train", "valid", "test"};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < ns[p]; i++)
            fprintf(f, "%lld,%s\n", (long long)ds->row[parts[p][i]], names[p]);
    if (ferror(f) | (fclose(f) != 0))
        return ef_err_set(err, "%s: write failed", path);
    return 0;
}

static void set_train_opts(const train_args_t *a, const ef_dataset_t *ds, ef_train_opts_t *o)
{
    ef_train_opts_default(o, (ef_arch_t)a->arch, ds->k);
    o->net.hidden = a->hidden;
    o->net.layers = a->layers;
    o->net.context = a->context;
    o->use_dir = a->direction;
    o->init = a->init;
    o->seed = a->seed;
    o->epochs = a->epochs;
    o->batch = a->batch;
    o->lr = a->lr;
    o->patience = a->patience;
    o->select = a->select;
    o->train_reorder = a->train_reorder;
    o->pretrained = a->pretrained;
    fprintf(stderr, "%s %s: k=%d hidden=%d layers=%d context=%d, %d epochs max, batch %d, "
            "lr %g, seed %llu\n",
            a->pretrain ? "pre-training" : "training", ef_arch_name((ef_arch_t)a->arch), ds->k,
            a->hidden, a->layers, a->context, a->epochs, a->batch, (double)a->lr,
            (unsigned long long)a->seed);
}

/* --class-weights into j->weights (and its text for the metadata); 0 when
 * none, 1 when set, -1 on a bad value. */
static int set_class_weights(job_t *j, const train_args_t *a, const ef_rows_t *train,
                             char *text, size_t cap)
{
    snprintf(text, cap, "none");
    if (a->pretrain)
        return 0;
    if (!(j->weights = calloc((size_t)j->ds->n_classes, sizeof *j->weights)))
        return -1;
    int w = parse_class_weights(a->class_weights, train, j->ds->n_classes, j->weights);
    if (w <= 0)
        return w;
    size_t l = 0;
    for (int c = 0; c < j->ds->n_classes && l < cap; c++)
        l += (size_t)snprintf(text + l, cap - l, "%s%g", c ? "," : "", (double)j->weights[c]);
    fprintf(stderr, "class weights: %s\n", text);
    return 1;
}

static int save_model(const job_t *j, const train_args_t *a, const char *cw, int argc,
                      char **argv, ef_err_t *err)
{
    meta_t meta = {0};
    build_meta(&meta, a, j->ds, j->test_ds, &j->split, &j->res, cw, command_line(argc, argv));
    int rc = ef_net_save(j->res.net, &j->res.pp, (const char *const *)j->labels, meta.kv, meta.n,
                         a->output, err);
    meta_free(&meta);
    if (rc == 0)
        fprintf(stderr, "wrote %s\n", a->output);
    return rc;
}

/* Load, split, train, save; returns the exit status. */
static int run_job(job_t *j, const train_args_t *a, int argc, char **argv)
{
    ef_err_t err;
    if (load_data(j, a, &err) < 0 ||
        (a->split_out && write_split(a->split_out, j->ds, &j->split, &err) < 0))
        goto fail;
    ef_rows_t train = {j->ds, j->split.train, j->split.n_train};
    ef_rows_t valid = {j->ds, j->split.valid, j->split.n_valid};
    ef_rows_t test = j->test_ds ? (ef_rows_t){j->test_ds, j->test_all, j->test_ds->n}
                                : (ef_rows_t){j->ds, j->split.test, j->split.n_test};
    print_class_counts("training", j->ds, train.idx, train.n);
    print_class_counts("validation", j->ds, valid.idx, valid.n);
    print_class_counts("test", test.ds, test.idx, test.n);
    char cw_text[512];
    int w = set_class_weights(j, a, &train, cw_text, sizeof cw_text);
    if (w < 0)
        return 2;
    ef_train_opts_t o;
    set_train_opts(a, j->ds, &o);
    o.class_weights = w ? j->weights : NULL;
    progress_t prog = {.quiet = a->quiet, .pretrain = a->pretrain};
    if (a->curve && !(prog.curve = j->curve = open_curve(a, &j->tsv)))
        return 1;
    o.on_epoch = on_epoch;
    o.ctx = &prog;
    if (ef_train_run(&train, &valid, &test, &o, &j->res, &err) < 0)
        goto fail;
    if (a->pretrained)
        fprintf(stderr, "loaded %d tensors from %s\n", j->res.pretrained_tensors, a->pretrained);
    print_result(a, j->ds, &j->res);
    if (save_model(j, a, cw_text, argc, argv, &err) < 0)
        goto fail;
    if (j->curve) {
        fclose(j->curve);
        j->curve = NULL;
        plot_curve(a, j->tsv);
    }
    return 0;
fail:
    fprintf(stderr, "earlyflow: %s\n", err.msg);
    return 1;
}

static int run_training(int argc, char **argv)
{
    train_args_t a;
    int prc = parse_args(argc, argv, &a);
    if (prc)
        return prc == 1 ? 0 : 2;
    job_t j = {0};
    int rc = run_job(&j, &a, argc, argv);
    job_free(&j);
    return rc;
}

int ef_cmd_train(int argc, char **argv)
{
    return run_training(argc, argv);
}

int ef_cmd_pretrain(int argc, char **argv)
{
    return run_training(argc, argv);
}
