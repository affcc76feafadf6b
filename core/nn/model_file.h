/* earlyflow model files: safetensors with a fixed tensor layout per
 * architecture and a __metadata__ block (docs/model-file.md).
 *
 * ef_model_file_parse is the one validator used by the inference loader
 * (model.c), the trainer's loader (ef_net_load) and `earlyflow model info`.
 * It refuses, with "NAME: what is wrong", anything that is not exactly a
 * model this build can run: see docs/model-file.md for the rule list. */
#ifndef EF_NN_MODEL_FILE_H
#define EF_NN_MODEL_FILE_H

#include <stddef.h>

#include "nn/layout.h"
#include "nn/net.h"
#include "nn/preproc.h"
#include "util/err.h"

#define EF_MODEL_FORMAT "earlyflow-model"
#define EF_MODEL_FORMAT_VERSION "1"
/* Largest model file read from disk: the largest valid layout (bilstm with
 * every dimension at its limit: 16.3 M floats, 65.2 MB) plus a 1 MiB header
 * fits (test_model_file.c). */
#define EF_MODEL_MAX_FILE ((size_t)64 << 20)

typedef struct ef_model_file {
    ef_net_config_t cfg;
    ef_preproc_t pp;
    int n_labels;
    char **labels;        /* n_labels strings (NULL-terminated array) */
    ef_layout_t layout;
    float *params;        /* layout.total floats, in layout order, all finite */
    size_t n_meta;
    char **meta_keys;     /* every __metadata__ entry, in file order */
    char **meta_values;
} ef_model_file_t;

/* Validate and decode `len` bytes. On success the struct owns copies of
 * everything (the buffer may be freed); release with ef_model_file_free. */
int ef_model_file_parse(const void *buf, size_t len, const char *name, ef_model_file_t *out,
                        ef_err_t *err);
/* Read and parse a file from disk. */
int ef_model_file_read(const char *path, ef_model_file_t *out, ef_err_t *err);
void ef_model_file_free(ef_model_file_t *f);

const char *ef_model_file_meta(const ef_model_file_t *f, const char *key);

/* Metadata keys every model file carries (the rest is provenance). */
int ef_model_meta_reserved(const char *key);

/* Write a model file from a layout and its parameters (ef_net_save is
 * this for a net). */
int ef_model_file_write(const char *path, const ef_net_config_t *cfg, const float *params,
                        const ef_preproc_t *pp, const char *const *labels, const ef_kv_t *extra,
                        int n_extra, ef_err_t *err);

#endif
