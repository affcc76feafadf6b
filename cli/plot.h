/* PNG plots through gnuplot: a training curve and a confusion heat map.
 *
 * Each function writes a gnuplot script to a temporary file and runs
 * `gnuplot` on it. Plots are a convenience: when gnuplot is not installed
 * the functions return EF_PLOT_MISSING and the caller warns and carries on
 * (the data files stay). Strings taken from files (labels, paths) are put
 * in single-quoted gnuplot strings with backquotes removed, so they cannot
 * run commands. */
#ifndef EF_CLI_PLOT_H
#define EF_CLI_PLOT_H

#include <stdint.h>

#include "util/err.h"

enum { EF_PLOT_OK = 0, EF_PLOT_MISSING = 1, EF_PLOT_FAILED = -1 };

/* The curve file `tsv` (header line, then epoch, loss, f1, acc or, with
 * pretrain, epoch, loss, valid_loss) -> png. */
int ef_plot_curve(const char *tsv, const char *png, int pretrain, ef_err_t *err);

/* Confusion matrix m[n][n] (m[true * n + predicted]) -> png heat map; the
 * colour is the row share (recall), the text the count. */
int ef_plot_confusion(const char *png, const char *const *labels, int n, const int64_t *m,
                      ef_err_t *err);

#endif
