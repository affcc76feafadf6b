#include "ids/diag.h"

#include <stdio.h>

int ef_diag_format(const ef_diag_t *d, char *buf, size_t len)
{
    const char *level = d->level == EF_DIAG_ERROR ? "error" : "warning";
    const char *file = d->file ? d->file : "<input>";
    if (d->line > 0 && d->col > 0)
        return snprintf(buf, len, "%s:%d:%d: %s: %s", file, d->line, d->col, level, d->msg);
    if (d->line > 0)
        return snprintf(buf, len, "%s:%d: %s: %s", file, d->line, level, d->msg);
    return snprintf(buf, len, "%s: %s: %s", file, level, d->msg);
}
