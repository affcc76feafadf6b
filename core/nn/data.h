/* Dataset CSVs for training and evaluation: reading, sampling, reordering.
 *
 * Accepted files (docs/training.md): the seed's header
 *     pktSize1..pktSizeK, pktTime1..pktTimeK, c2s, taxonomy label
 * and `earlyflow collect`'s output, including --extended (extra columns after
 * the label). Columns are found by header name, never by position, so any
 * extra column is ignored. Sizes are integer bytes (0..65535), times are
 * inter-arrival seconds (>= 0). Size 0 is padding (collect --pad): a row's
 * packet count n is its number of leading non-zero sizes, and a non-zero size
 * after a 0 is an error. The optional direction feature comes from a `dirs`
 * column (one 0/1 digit per packet, separators ignored) or from `pktDir1..K`
 * columns.
 *
 * Every problem is reported as "file:line: column N (name): what was
 * expected". Rows whose label is not in the label list are dropped and
 * counted (the seed's policy), or kept with a label index >= n_classes when
 * the caller asks (evaluation reports them).
 *
 * Thread-safety: a dataset is plain data; read-only use from many threads is
 * safe. Nothing here prints. */
#ifndef EF_NN_DATA_H
#define EF_NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* The seed's label config, in class-index order. */
#define EF_DATA_SEED_LABELS "Unlabeled,HTTP,Alpha,Multi"
/* At most this many distinct label strings in one file (known + unknown). */
#define EF_DATA_MAX_LABELS 4096

/* --- Deterministic pseudo-random numbers (xoshiro256**, seeded through
 * splitmix64). Every random choice in sampling, shuffling and reordering
 * goes through one of these, so a seed fixes the outcome. ---------------- */
typedef struct ef_data_rng {
    uint64_t s[4];
} ef_data_rng_t;

/* Independent streams for one seed: (seed, stream) -> generator state. */
void ef_data_rng_seed(ef_data_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t ef_data_rng_u64(ef_data_rng_t *r);
double ef_data_rng_uniform(ef_data_rng_t *r);            /* [0, 1) */
uint64_t ef_data_rng_below(ef_data_rng_t *r, uint64_t n); /* [0, n), unbiased; n > 0 */
/* Fisher-Yates shuffle of idx[n]. */
void ef_data_shuffle(ef_data_rng_t *r, size_t *idx, size_t n);

/* --- Reading ------------------------------------------------------------ */

/* Comma-separated label list -> malloc'd array of malloc'd strings (free
 * with ef_data_labels_free). "all" expands to the full taxonomy in
 * data/taxonomy.h order. Empty names and duplicates are errors. */
char **ef_data_labels_parse(const char *list, int *n_out, ef_err_t *err);
void ef_data_labels_free(char **labels, int n);

typedef struct ef_data_opts {
    const char *const *labels; /* class names, index = class; required */
    int n_labels;              /* 1..EF_DATA_MAX_LABELS */
    int k;                     /* expected k (0: whatever the header says) */
    int need_dir;              /* 1: read directions; error when absent */
    int keep_unknown;          /* 1: keep rows with unlisted labels */
    int allow_empty_class;     /* 1: a listed class may have no rows */
} ef_data_opts_t;

/* Features are row-major: size[i*k + j] is row i's
 * packet j. Entries at j >= len[i] are 0. */
typedef struct ef_dataset {
    char *path;
    char sha256[65];     /* hex digest of the file's bytes */
    int k;
    size_t n;            /* rows kept */
    float *size;         /* [n][k] bytes */
    float *iat;          /* [n][k] seconds */
    uint8_t *dir;        /* [n][k] 0/1, or NULL unless opts.need_dir */
    int *len;            /* [n] packets, 1..k */
    int *label;          /* [n] < n_classes: a listed class; else unknown */
    int64_t *row;        /* [n] data row number (1 = first row after header) */
    int n_classes;       /* = opts.n_labels */
    int n_labels;        /* n_classes + distinct unlisted labels seen */
    char **labels;       /* [n_labels] names; [0, n_classes) = opts.labels */
    int64_t *count;      /* [n_labels] data rows per label, kept or not */
    int64_t n_rows;      /* data rows in the file */
    int64_t n_unknown;   /* rows whose label is not listed */
} ef_dataset_t;

/* Read a dataset CSV. Returns NULL with err on any problem. The whole file
 * is checked before anything is returned. Free with ef_data_free. */
ef_dataset_t *ef_data_read(const char *path, const ef_data_opts_t *opts, ef_err_t *err);
void ef_data_free(ef_dataset_t *ds);

/* --- Sampling ----------------------------------------------------------- */

typedef enum ef_split_protocol {
    EF_SPLIT_SEED = 0,   /* per class: cap n_streams at random, then n_test
                            test and n_valid validation rows, rest training */
    EF_SPLIT_STRATIFIED, /* per class: fractions of its rows (natural ratios) */
} ef_split_protocol_t;

typedef struct ef_split_opts {
    ef_split_protocol_t protocol;
    int64_t n_streams;   /* seed: per-class cap (default 10000; <= 0: no cap) */
    int64_t n_test;      /* seed: per class (default 100) */
    int64_t n_valid;     /* seed: per class (default 200) */
    double frac_train, frac_valid, frac_test; /* stratified; normalised by their sum */
    uint64_t seed;
} ef_split_opts_t;

void ef_split_opts_default(ef_split_opts_t *o);

/* Indices into the dataset's rows. Only rows of listed classes take part. */
typedef struct ef_split {
    size_t *train, *valid, *test;
    size_t n_train, n_valid, n_test;
} ef_split_t;

int ef_data_split(const ef_dataset_t *ds, const ef_split_opts_t *o, ef_split_t *out,
                  ef_err_t *err);
void ef_split_free(ef_split_t *s);

/* --- Reordering (out-of-order packets) -----------------------------------
 * One pass over positions i = 0..n-2: with probability p the packets at i
 * and i+1 swap places (size, time and direction move together) and i+1 is
 * skipped, so a packet moves at most one place. Writes the permutation
 * perm[n] (new position j holds old packet perm[j]) and returns the number
 * of swaps. */
int ef_data_reorder_perm(ef_data_rng_t *r, int n, double p, int *perm);

/* Stream id for row `row` in reorder pass `pass` (e.g. training epoch), so
 * a row's reordering depends on (seed, pass, row) only. */
static inline uint64_t ef_data_reorder_stream(uint64_t pass, uint64_t row)
{
    return 0x52454f52ull ^ (pass << 40) ^ row;
}

#endif
