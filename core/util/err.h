/* Errors as values.
 *
 * Functions that can fail take an `ef_err_t *` (may be NULL) and return a
 * status (0 on success, -1 on failure) or a NULL pointer. On failure they
 * write one line into err->msg that names the input (file, line, column or
 * byte offset) and what was expected, e.g.
 *     "rules.txt:12:40: expected ';' after option value"
 * Nothing in core/ prints or exits; callers decide what to do with the text. */
#ifndef EF_UTIL_ERR_H
#define EF_UTIL_ERR_H

#include <stddef.h>

#define EF_ERR_MSG_MAX 512

typedef struct ef_err {
    char msg[EF_ERR_MSG_MAX];
} ef_err_t;

/* printf-style: set err->msg (when err is not NULL) and return -1. */
int ef_err_set(ef_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "<prefix>: <old message>"; returns -1. */
int ef_err_prefix(ef_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
