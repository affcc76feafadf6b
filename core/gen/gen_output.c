/* Buffered output files written under a temporary name and renamed into
 * place when complete, so a reader never sees half a capture and a failed
 * run leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen/gen_internal.h"

int ef_gen_out_open(gen_out_t *o, const char *path, size_t cap, ef_err_t *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->path = strdup(path);
    o->buf = malloc(cap);
    if (!o->path || !o->buf) {
        ef_gen_out_abort(o);
        return ef_err_set(err, "%s: out of memory", path);
    }
    o->cap = cap;
    /* O_EXCL on a name of our own: honours the umask, unlike mkstemp's 0600 */
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        free(o->tmp);
        o->tmp = NULL;
        if (asprintf(&o->tmp, "%s.tmp-%ld-%u", path, (long)getpid(), attempt) < 0) {
            o->tmp = NULL;
            ef_gen_out_abort(o);
            return ef_err_set(err, "%s: out of memory", path);
        }
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o->fd >= 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(o->tmp);
    o->tmp = NULL;
    ef_gen_out_abort(o);
    return ef_err_set(err, "%s: cannot create output file: %s", path, strerror(e));
}

int ef_gen_out_flush(gen_out_t *o, ef_err_t *err)
{
    size_t done = 0;
    while (done < o->len) {
        ssize_t w = write(o->fd, o->buf + done, o->len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ef_err_set(err, "%s: write failed at byte %llu: %s", o->path,
                              (unsigned long long)(o->bytes - o->len + done), strerror(errno));
        }
        done += (size_t)w;
    }
    o->len = 0;
    return 0;
}

uint8_t *ef_gen_out_reserve(gen_out_t *o, size_t n, ef_err_t *err)
{
    if (o->cap - o->len < n && ef_gen_out_flush(o, err) < 0)
        return NULL;
    return o->buf + o->len;
}

int ef_gen_out_printf(gen_out_t *o, ef_err_t *err, const char *fmt, ...)
{
    uint8_t *p = ef_gen_out_reserve(o, 1024, err);
    if (!p)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)p, 1024, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= 1024)
        return ef_err_set(err, "%s: line too long", o->path);
    gen_out_commit(o, (size_t)n);
    return 0;
}

int ef_gen_out_finish(gen_out_t *o, ef_err_t *err)
{
    if (ef_gen_out_flush(o, err) < 0)
        return -1;
    int rc = close(o->fd);
    o->fd = -1;
    if (rc < 0)
        return ef_err_set(err, "%s: close failed: %s", o->path, strerror(errno));
    return 0;
}

int ef_gen_out_rename(gen_out_t *o, ef_err_t *err)
{
    if (rename(o->tmp, o->path) < 0)
        return ef_err_set(err, "%s: cannot rename %s into place: %s", o->path, o->tmp,
                          strerror(errno));
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

void ef_gen_out_abort(gen_out_t *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    free(o->buf);
    o->tmp = o->path = NULL;
    o->buf = NULL;
}
