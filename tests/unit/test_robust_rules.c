/* Rules from sources that never end (docs/robustness.md, "Corrupt
 * inputs"). Found while testing `earlyflow run -S`: /dev/zero (one endless
 * line) made the loader spin forever in bounded memory, and an endless
 * stream of short lines (a pipe) never ended either and would overflow the
 * int line counter after 2^31 lines. A source larger than
 * EF_RULES_MAX_BYTES is now refused as a whole, like an I/O error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eftest.h"
#include "ids/rules.h"

static ef_ruleset_t *new_ruleset(void)
{
    ef_rules_opts_t o = {0};
    ef_err_t err;
    ef_ruleset_t *rs = ef_ruleset_new(&o, &err);
    ck_assert_msg(rs != NULL, "%s", err.msg);
    return rs;
}

START_TEST(endless_line_is_refused)
{
    ef_ruleset_t *rs = new_ruleset();
    ef_err_t err;
    ck_assert_int_eq(ef_ruleset_add_file(rs, "/dev/zero", &err), -1);
    ck_assert_msg(strstr(err.msg, "/dev/zero: rules larger than 268435456 bytes") != NULL, "%s",
                  err.msg);
    ef_ruleset_free(rs);
}
END_TEST

/* A child writes comment lines (4 KiB each) into a pipe until it is killed. */
START_TEST(endless_stream_of_lines_is_refused)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        static char block[65536];
        memset(block, 'x', sizeof block);
        for (size_t i = 0; i < sizeof block; i += 4096) {
            block[i] = '#';
            block[i + 4095] = '\n';
        }
        while (write(fds[1], block, sizeof block) > 0)
            ;
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    ef_ruleset_t *rs = new_ruleset();
    ef_err_t err;
    ck_assert_int_eq(ef_ruleset_add_file(rs, path, &err), -1);
    ck_assert_msg(strstr(err.msg, "rules larger than 268435456 bytes (stopped reading at line ") !=
                      NULL, "%s", err.msg);
    close(fds[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ef_ruleset_free(rs);
}
END_TEST

/* The same limit holds for text in memory; text just under it loads. */
START_TEST(text_limit)
{
    size_t n = EF_RULES_MAX_BYTES + 1;
    char *text = malloc(n);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', n); /* comment lines of 64 KiB */
    for (size_t i = 65535; i < n; i += 65536)
        text[i] = '\n';
    const char rule[] = "alert tcp any any -> any any (msg:\"x\"; early.label:DoS; sid:1;)\n";
    memcpy(text, rule, sizeof rule - 1);
    ef_ruleset_t *rs = new_ruleset();
    ef_err_t err;
    ck_assert_int_eq(ef_ruleset_add_string(rs, "big", text, n, &err), -1);
    ck_assert_msg(strstr(err.msg, "big: rules larger than") != NULL, "%s", err.msg);
    ef_ruleset_free(rs);
    rs = new_ruleset();
    ck_assert_int_eq(ef_ruleset_add_string(rs, "fits", text, n - 1, &err), 0);
    ck_assert_int_eq(ef_ruleset_finalize(rs, &err), 0);
    ck_assert_uint_eq(ef_ruleset_count(rs), 1);
    ef_ruleset_free(rs);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("robust_rules");
    TCase *tc = tcase_create("endless");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, endless_line_is_refused);
    tcase_add_test(tc, endless_stream_of_lines_is_refused);
    tcase_add_test(tc, text_limit);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
