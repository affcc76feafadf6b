/* gnuplot driver (cli/plot.h). */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A single-quoted gnuplot string: '' escapes a quote; backquotes (command
 * substitution) and control characters become '?'. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            fputs("''", f);
        else if (c == '`' || c < 0x20 || c == 0x7f)
            fputc('?', f);
        else
            fputc(c, f);
    }
    fputc('\'', f);
}

static void put_terminal(FILE *f, const char *png, int w, int h)
{
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size "
               "%d,%d } else { set terminal png size %d,%d }\n",
            w, h, w, h);
    fputs("set output ", f);
    put_quoted(f, png);
    fputc('\n', f);
}

static char *temp_file(const char *suffix, int *fd)
{
    const char *dir = getenv("TMPDIR");
    char *p = NULL;
    if (asprintf(&p, "%s/earlyflow-plot-XXXXXX%s", dir && *dir ? dir : "/tmp", suffix) < 0)
        return NULL;
    if ((*fd = mkstemps(p, (int)strlen(suffix))) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* First line of a file, for gnuplot's complaint. */
static void first_line(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(out, (int)cap, f)) {
        out[strcspn(out, "\n")] = '\0';
        if (out[0] && strspn(out, " ^") != strlen(out))
            break; /* skip gnuplot's echo of the command and its caret line */
    }
    fclose(f);
}

static int run_script(const char *script, size_t len, const char *png, ef_err_t *err)
{
    int sfd = -1, efd = -1, rc = EF_PLOT_FAILED;
    char *spath = temp_file(".gp", &sfd), *epath = spath ? temp_file(".err", &efd) : NULL;
    if (!spath || !epath) {
        ef_err_set(err, "cannot create a temporary file for gnuplot: %s", strerror(errno));
        goto out;
    }
    if (write(sfd, script, len) != (ssize_t)len) {
        ef_err_set(err, "%s: write failed: %s", spath, strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    char *argv[] = {"gnuplot", spath, NULL};
    pid_t pid;
    int e = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        rc = e == ENOENT ? EF_PLOT_MISSING : EF_PLOT_FAILED;
        ef_err_set(err, "cannot run gnuplot: %s", strerror(e));
        goto out;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    struct stat st;
    int got_png = stat(png, &st) == 0 && st.st_size > 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            rc = EF_PLOT_MISSING;
            ef_err_set(err, "cannot run gnuplot");
            goto out;
        }
        char line[256];
        first_line(epath, line, sizeof line);
        ef_err_set(err, "gnuplot failed on %s: %s", png, line[0] ? line : "no message");
    } else if (!got_png) {
        ef_err_set(err, "gnuplot wrote no image to %s", png);
    } else {
        rc = EF_PLOT_OK;
    }
    if (rc != EF_PLOT_OK && !got_png)
        unlink(png); /* gnuplot may leave an empty file behind */
out:
    if (sfd >= 0)
        close(sfd);
    if (efd >= 0)
        close(efd);
    if (spath)
        unlink(spath);
    if (epath)
        unlink(epath);
    free(spath);
    free(epath);
    return rc;
}

int ef_plot_curve(const char *tsv, const char *png, int pretrain, ef_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ef_err_set(err, "out of memory");
    put_terminal(f, png, 900, 500);
    fputs("set datafile separator '\\t'\nset key below horizontal\nset bmargin 5\n"
          "set xlabel 'epoch'\nset grid\nset ylabel 'loss'\n",
          f);
    fputs("set title 'earlyflow training'\n", f);
    fputs("data = ", f);
    put_quoted(f, tsv);
    fputc('\n', f);
    if (pretrain) {
        fputs("plot data using 1:2 skip 1 with lines lw 2 title 'training MSE', "
              "data using 1:3 skip 1 with lines lw 2 title 'validation MSE'\n",
              f);
    } else {
        fputs("set y2label 'validation score'\nset y2range [0:1]\nset y2tics\nset ytics nomirror\n"
              "plot data using 1:2 skip 1 axes x1y1 with lines lw 2 title 'training loss', "
              "data using 1:3 skip 1 axes x1y2 with lines lw 2 title 'validation macro-F1', "
              "data using 1:4 skip 1 axes x1y2 with lines lw 2 dt 2 title 'validation "
              "accuracy'\n",
              f);
    }
    if (fclose(f) != 0) {
        free(text);
        return ef_err_set(err, "out of memory");
    }
    int rc = run_script(text, len, png, err);
    free(text);
    return rc;
}

int ef_plot_confusion(const char *png, const char *const *labels, int n, const int64_t *m,
                      ef_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ef_err_set(err, "out of memory");
    int side = 160 + 60 * n;
    put_terminal(f, png, side + 160, side + 60);
    fputs("set title 'confusion matrix (colour: share of the true class)'\n"
          "set xlabel 'predicted'\nset ylabel 'true'\nunset key\n"
          "set cbrange [0:1]\nset palette defined (0 'white', 1 '#08306b')\n",
          f);
    fprintf(f, "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", n - 1, n - 1);
    for (int axis = 0; axis < 2; axis++) {
        fputs(axis ? "set ytics (" : "set xtics rotate by -30 (", f);
        for (int c = 0; c < n; c++) {
            put_quoted(f, labels[c]);
            fprintf(f, " %d%s", c, c + 1 < n ? ", " : ")\n");
        }
    }
    /* Rows of (x = predicted, y = true, share, count). */
    fputs("$M << EOD\n", f);
    for (int t = 0; t < n; t++) {
        int64_t row = 0;
        for (int p = 0; p < n; p++)
            row += m[(size_t)t * (size_t)n + (size_t)p];
        for (int p = 0; p < n; p++) {
            int64_t v = m[(size_t)t * (size_t)n + (size_t)p];
            fprintf(f, "%d %d %.6f %lld\n", p, t, row ? (double)v / (double)row : 0.0,
                    (long long)v);
        }
    }
    fputs("EOD\n", f);
    fputs("plot $M using 1:2:3 with image, "
          "$M using 1:2:(sprintf('%d', $4)):($3 > 0.5 ? 0xffffff : 0) "
          "with labels tc rgb variable\n",
          f);
    if (fclose(f) != 0) {
        free(text);
        return ef_err_set(err, "out of memory");
    }
    int rc = run_script(text, len, png, err);
    free(text);
    return rc;
}
