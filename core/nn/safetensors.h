/* safetensors: the container of earlyflow's model files (and of the parity
 * fixtures), read as untrusted input.
 *
 * Layout: 8 bytes little-endian u64 N, then N bytes of JSON header, then the
 * data section. The header maps each tensor name to
 *   {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
 * (offsets relative to the data section), plus an optional "__metadata__"
 * object of string -> string.
 *
 * ef_st_parse checks everything a reader relies on: header length within
 * EF_ST_MAX_HEADER and within the buffer, strict JSON (util/json.h), known
 * dtypes, shapes whose byte size matches their offsets (no overflow), and
 * offsets that tile the data section exactly (sorted, no gap, no overlap, no
 * trailing bytes). Messages read "NAME: what is wrong".
 *
 * Ownership: a parsed ef_st_file_t points into the caller's buffer (tensor
 * data) and owns its header strings; ef_st_release frees the latter. The
 * buffer must outlive the ef_st_file_t. Not thread-safe to parse into one
 * struct from two threads; reading a parsed one concurrently is fine. */
#ifndef EF_NN_SAFETENSORS_H
#define EF_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/json.h"

#define EF_ST_MAX_HEADER ((uint64_t)1 << 20) /* 1 MiB of JSON header */
#define EF_ST_MAX_DIMS 8
#define EF_ST_MAX_TENSORS 4096

typedef struct ef_st_tensor {
    const char *name;
    const char *dtype;                /* as in the file: "F32", "I64", ... */
    size_t dtype_size;                /* bytes per element */
    int ndim;
    uint64_t shape[EF_ST_MAX_DIMS];
    uint64_t nelem;
    const unsigned char *data;        /* inside the parsed buffer */
    size_t nbytes;
    uint64_t begin, end;              /* data_offsets as in the header */
} ef_st_tensor_t;

typedef struct ef_st_meta {
    const char *key;
    const char *value;
} ef_st_meta_t;

typedef struct ef_st_file {
    ef_st_tensor_t *tensors;  /* in header order */
    size_t n_tensors;
    ef_st_meta_t *meta;       /* __metadata__ in header order */
    size_t n_meta;
    uint64_t header_len;
    size_t data_start;        /* 8 + header_len */
    ef_json_t *json;          /* owns the strings above */
} ef_st_file_t;

/* Parse `len` bytes at `buf`. `name` names the input in messages. */
int ef_st_parse(ef_st_file_t *f, const void *buf, size_t len, const char *name, ef_err_t *err);
void ef_st_release(ef_st_file_t *f);

const ef_st_tensor_t *ef_st_find(const ef_st_file_t *f, const char *name);
const char *ef_st_meta_get(const ef_st_file_t *f, const char *key);

/* Copy an F32 tensor into `out` (nelem floats), converting from little
 * endian. -1 when the dtype is not F32. */
int ef_st_read_f32(const ef_st_tensor_t *t, float *out);

/* Writing. Every tensor is F32 here (the only dtype earlyflow writes). */
typedef struct ef_st_out {
    const char *name;
    int ndim;
    uint64_t shape[EF_ST_MAX_DIMS];
    const float *data;        /* product(shape) floats */
} ef_st_out_t;

/* Serialise to a malloc'd buffer (*out, *out_len; caller frees). The header
 * holds __metadata__ first (when n_meta > 0), then the tensors in the given
 * order, padded with spaces so the data section starts 8-byte aligned.
 * Names, keys and values must be valid UTF-8. */
int ef_st_serialize(const ef_st_out_t *t, size_t n, const ef_st_meta_t *meta, size_t n_meta,
                    unsigned char **out, size_t *out_len, ef_err_t *err);

/* Serialise and write to `path` through a temporary file in the same folder
 * and a rename, so a failed write never leaves a complete-looking file. */
int ef_st_write_file(const char *path, const ef_st_out_t *t, size_t n, const ef_st_meta_t *meta,
                     size_t n_meta, ef_err_t *err);

/* Read a whole file into a malloc'd buffer (at most max_len bytes; larger
 * files are refused). Shared by the model and fixture loaders. */
int ef_read_whole_file(const char *path, size_t max_len, unsigned char **out, size_t *out_len,
                       ef_err_t *err);

#endif
