#include "ids/readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ef_read_file_bounded(const char *path, size_t max, const char *what, size_t *len,
                           ef_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ef_err_set(err, "%s: cannot open %s: %s", path, what, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            ef_err_set(err, "%s: out of memory reading %s", path, what);
            break;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n > max) {
            ef_err_set(err, "%s: %s larger than %zu bytes", path, what, max);
            break;
        }
        if (r == 0) {
            if (ferror(f)) {
                ef_err_set(err, "%s: cannot read %s: %s", path, what, strerror(errno));
                break;
            }
            fclose(f);
            buf[n] = '\0';
            if (len)
                *len = n;
            return buf;
        }
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    free(buf);
    fclose(f);
    return NULL;
}
