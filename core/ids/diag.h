/* Diagnostics for user-written inputs (rules files, config files).
 *
 * A loader that can find several problems in one input (a rules file with
 * ten bad rules, a config with two unknown keys) reports each one through an
 * ef_diag_fn callback instead of stopping at the first, so `earlyflow rules
 * --check` and the host can show them all. The callback receives a
 * diagnostic valid only during the call; it runs in the loader's thread. */
#ifndef EF_IDS_DIAG_H
#define EF_IDS_DIAG_H

#include <stddef.h>

typedef enum ef_diag_level { EF_DIAG_ERROR = 0, EF_DIAG_WARNING = 1 } ef_diag_level_t;

typedef struct ef_diag {
    ef_diag_level_t level;
    const char *file; /* input name as given to the loader */
    int line;         /* 1-based; 0 when the problem has no line */
    int col;          /* 1-based byte column; 0 when not meaningful */
    const char *msg;  /* what is wrong and what was expected, no location */
} ef_diag_t;

typedef void (*ef_diag_fn)(void *user, const ef_diag_t *d);

/* "file:line:col: error: msg" (line/col left out when 0). Returns the
 * length snprintf would have written. */
int ef_diag_format(const ef_diag_t *d, char *buf, size_t len);

#endif
