/* EVE output when the disk fills up (docs/robustness.md, "Output
 * integrity"). A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored: writes past
 * it fail with EFBIG as on a full disk) makes a buffered write fail part-way
 * through a line. Found while testing `earlyflow run` on a full disk: the
 * file kept the cut line (invalid JSON at the end) and the lines of the
 * failed buffer that had been written were counted as lost too. Now the
 * cut line is trimmed off and every line is either in the file or counted
 * in ef_eve_lost, exactly once. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eftest.h"
#include "ids/eve.h"
#include "util/json.h"

/* Emit `n` stats lines of ~200 bytes; returns how many calls failed. */
static int emit(ef_eve_t *w, int n)
{
    int failed = 0;
    ef_stats_t *s = ef_stats_new();
    if (!s)
        _exit(7);
    for (int i = 0; i < n; i++) {
        ef_stats_set_u64(s, "decoder.pkts", (uint64_t)i);
        ef_stats_set_u64(s, "padding.a_long_counter_name_to_make_lines_longer", 123456789u);
        ef_stats_set_u64(s, "padding.another_long_counter_name_for_the_same", 987654321u);
        ef_err_t err;
        if (ef_eve_stats(w, 1600000000000000ull + (uint64_t)i, s, &err) < 0) {
            if (!strstr(err.msg, "EVE write failed: File too large"))
                _exit(6); /* runs in the child: no Check assertions there */
            failed++;
        }
    }
    ef_stats_free(s);
    return failed;
}

/* Lines of a file, each asserted to be one valid JSON object. */
static size_t valid_lines(const char *path)
{
    size_t len, n = 0;
    char *text = eft_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(len == 0 || text[len - 1] == '\n', "the file ends inside a line");
    for (char *p = text; p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        ck_assert_ptr_nonnull(nl);
        ef_err_t err;
        ef_json_t *doc = ef_json_parse(p, (size_t)(nl - p), NULL, "line", &err);
        ck_assert_msg(doc != NULL, "line %zu: %s", n + 1, err.msg);
        ef_json_free(doc);
        n++;
        p = nl + 1;
    }
    free(text);
    return n;
}

/* In a child process (the limit must not hit Check's own files): open the
 * EVE file, emit n lines under a file size limit, report lost and failed
 * calls through the pipe. */
static void write_limited(const char *path, long limit, int n, int fd)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(3);
    ef_err_t err;
    ef_eve_t *w = ef_eve_open(path, NULL, &err);
    if (!w)
        _exit(4);
    long r[3];
    r[0] = emit(w, n);
    r[1] = (long)ef_eve_lost(w);
    r[2] = ef_eve_close(w, &err);
    _exit(write(fd, r, sizeof r) == (ssize_t)sizeof r ? 0 : 5);
}

START_TEST(full_disk_keeps_whole_lines_and_counts_the_rest)
{
    static const long limits[] = {1000, 70000, 150001};
    char *dir = eft_mkdtemp("eve-full");
    char *path = eft_path(dir, "eve.json");
    int n = 2000; /* ~400 KB: more than any limit */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        write_limited(path, limits[_i], n, fds[1]);
    close(fds[1]);
    long r[3];
    ck_assert_int_eq(read(fds[0], r, sizeof r), (ssize_t)sizeof r);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_gt(r[0], 0);  /* calls that failed */
    ck_assert_int_gt(r[1], 0);  /* lines lost */
    ck_assert_int_lt(r[2], 0);  /* close reports the failure too */
    size_t in_file = valid_lines(path);
    ck_assert_msg(in_file + (size_t)r[1] == (size_t)n, "%zu lines in the file + %ld lost != %d emitted",
                  in_file, r[1], n);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("robust_eve");
    TCase *tc = tcase_create("full_disk");
    tcase_add_loop_test(tc, full_disk_keeps_whole_lines_and_counts_the_rest, 0, 3);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
