/* Test helper: collect the diagnostics (errors and warnings with file, line
 * and column) that the config loader and the rules parser report, formatted
 * as a user sees them, and look for one by substring. */
#ifndef EF_TEST_DIAGS_H
#define EF_TEST_DIAGS_H

#include <string.h>

#include "ids/diag.h"

#define MAX_DIAGS 64
typedef struct diags {
    char line[MAX_DIAGS][700];
    int n, errors, warnings;
} diags_t;

/* An ef_diag callback; `user` is a zeroed diags_t. */
static inline void collect(void *user, const ef_diag_t *d)
{
    diags_t *ds = user;
    if (d->level == EF_DIAG_ERROR)
        ds->errors++;
    else
        ds->warnings++;
    if (ds->n < MAX_DIAGS)
        ef_diag_format(d, ds->line[ds->n++], sizeof ds->line[0]);
}

static inline int has_diag(const diags_t *ds, const char *needle)
{
    for (int i = 0; i < ds->n; i++)
        if (strstr(ds->line[i], needle))
            return 1;
    return 0;
}

#endif
