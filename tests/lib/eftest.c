#include "eftest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *eft_mkdtemp(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = NULL;
    if (asprintf(&tmpl, "%s/eftest-%s-XXXXXX", base && *base ? base : "/tmp", tag) < 0)
        return NULL;
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

void eft_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = eft_path(path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                eft_rmtree(p);
            else
                unlink(p);
            free(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *eft_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

char *eft_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int eft_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int eft_run(const char *cmdline, char **out, char **err)
{
    char *dir = eft_mkdtemp("run");
    if (!dir)
        return -1;
    char *o = eft_path(dir, "out"), *e = eft_path(dir, "err"), *full = NULL;
    int rc = -1;
    if (asprintf(&full, "(%s) >'%s' 2>'%s'", cmdline, o, e) >= 0) {
        int st = system(full);
        if (st != -1 && WIFEXITED(st))
            rc = WEXITSTATUS(st);
        else if (st != -1 && WIFSIGNALED(st))
            rc = 128 + WTERMSIG(st);
    }
    if (out)
        *out = eft_read_file(o, NULL);
    if (err)
        *err = eft_read_file(e, NULL);
    free(full);
    free(o);
    free(e);
    eft_rmtree(dir);
    free(dir);
    return rc;
}

const char *eft_bin(void)
{
    return EF_BINARY_DIR "/earlyflow";
}

const char *eft_plugin(void)
{
    return EF_BINARY_DIR "/earlyflow.so";
}

const char *eft_shared_data(void)
{
    struct stat st;
    const char *env = getenv("EF_SHARED_DATA");
    const char *p = env && *env ? env : EF_SHARED_DATA;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
        return p;
    return NULL;
}

int eft_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
