/* Fuzz target: the dataset CSV reader (core/nn/data.h) and the sampling on
 * what it returns.
 *
 * Input: byte 0 picks the reader options (bit 0 need_dir, bit 1
 * keep_unknown, bit 2 allow_empty_class, bits 3-5 the expected k: 0 = from
 * the header, or 3/5/10/20, bit 6 the seed's four labels instead of the
 * whole taxonomy); the rest is the CSV file (written to a scratch file:
 * ef_data_read reads paths). An accepted dataset is split both ways.
 * Oracles beyond the sanitizers: a refusal has a message; every kept row
 * has 1..k packets, finite sizes in 0..65535 and finite times >= 0 with
 * zeros past its length, directions 0/1, a label index below n_labels and
 * (unless unknown rows are kept) below n_classes; split indices are rows of
 * listed classes, each used at most once. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nn/data.h"

static void check_rows(const ef_dataset_t *ds, const ef_data_opts_t *o)
{
    if (ds->k < 1 || ds->k > 1024 || (o->k && ds->k != o->k) || (int64_t)ds->n > ds->n_rows ||
        ds->n_classes != o->n_labels || ds->n_labels < ds->n_classes)
        abort();
    for (size_t i = 0; i < ds->n; i++) {
        int len = ds->len[i];
        if (len < 1 || len > ds->k || ds->label[i] < 0 || ds->label[i] >= ds->n_labels ||
            (!o->keep_unknown && ds->label[i] >= ds->n_classes))
            abort();
        for (int j = 0; j < ds->k; j++) {
            float s = ds->size[i * (size_t)ds->k + j], t = ds->iat[i * (size_t)ds->k + j];
            if (!isfinite(s) || !isfinite(t) || s < 0 || s > 65535 || t < 0 ||
                (j >= len && (s != 0 || t != 0)))
                abort();
            if (ds->dir && ds->dir[i * (size_t)ds->k + j] > 1)
                abort();
        }
    }
    for (int l = 0; l < ds->n_labels; l++)
        if (!ds->labels[l] || ds->count[l] < 0)
            abort();
}

static void check_split(const ef_dataset_t *ds, ef_split_protocol_t proto)
{
    ef_split_opts_t so;
    ef_split_opts_default(&so);
    so.protocol = proto;
    so.n_test = 2;
    so.n_valid = 3;
    so.seed = 7;
    ef_split_t sp;
    ef_err_t err = {{0}};
    if (ef_data_split(ds, &so, &sp, &err) != 0) {
        if (!err.msg[0])
            abort();
        return;
    }
    unsigned char *used = calloc(ds->n ? ds->n : 1, 1);
    if (!used)
        abort();
    const size_t *parts[3] = {sp.train, sp.valid, sp.test};
    size_t counts[3] = {sp.n_train, sp.n_valid, sp.n_test};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < counts[p]; i++) {
            size_t r = parts[p][i];
            if (r >= ds->n || used[r]++ || ds->label[r] >= ds->n_classes)
                abort();
        }
    free(used);
    ef_split_free(&sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int ks[8] = {0, 3, 5, 10, 20, 0, 1, 2};
    if (size < 1 || size > (1u << 20))
        return 0;
    const char *path = fuzz_scratch_file(".csv", data + 1, size - 1);
    if (!path)
        return 0;
    ef_err_t err = {{0}};
    int n_labels = 0;
    char **labels = ef_data_labels_parse((data[0] & 64) ? EF_DATA_SEED_LABELS : "all", &n_labels,
                                         &err);
    if (!labels)
        abort();
    ef_data_opts_t o = {
        .labels = (const char *const *)labels,
        .n_labels = n_labels,
        .k = ks[(data[0] >> 3) & 7],
        .need_dir = data[0] & 1,
        .keep_unknown = (data[0] >> 1) & 1,
        .allow_empty_class = (data[0] >> 2) & 1,
    };
    ef_dataset_t *ds = ef_data_read(path, &o, &err);
    if (!ds) {
        if (!err.msg[0])
            abort();
    } else {
        check_rows(ds, &o);
        check_split(ds, EF_SPLIT_SEED);
        check_split(ds, EF_SPLIT_STRATIFIED);
        ef_data_free(ds);
    }
    ef_data_labels_free(labels, n_labels);
    return 0;
}
