/* Whole-file reads with a size bound, for the small text inputs of core/ids
 * (config, classification). */
#ifndef EF_IDS_READFILE_H
#define EF_IDS_READFILE_H

#include <stddef.h>

#include "util/err.h"

/* Read `path` into a NUL-terminated malloc'd buffer. Fails (NULL, err names
 * the file and the reason) when it cannot be opened or read, or is larger
 * than `max` bytes. `what` names the input in messages ("config file"). */
char *ef_read_file_bounded(const char *path, size_t max, const char *what, size_t *len,
                           ef_err_t *err);

#endif
