/* Plugin safety (docs/robustness.md): the host survives plugins that fail
 * or misbehave (tests/plugins/misbehaving.c, mode from EF_MISBEHAVE): a
 * message naming the plugin and the reason, exit 1, no crash, and every
 * thread the plugin did initialise is deinitialised (the ASan stage's leak
 * checker sees a forgotten one). Missing file, not a plugin and wrong ABI
 * are tested in test_run_host.c.
 *
 * Found here: a plugin that failed init or thread_init without writing its
 * error buffer made the host print uninitialised stack bytes, one that
 * wrote no NUL made it read past the buffer, and a flow storage size
 * above 4 GiB wrapped the host's 32-bit per-flow size (a tiny storage the
 * plugin then wrote past). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "pktbuild.h"

#define PLUGIN EF_BINARY_DIR "/tests/plugins/misbehaving.so"

static char *dir, *cap;

static void setup(void)
{
    dir = eft_mkdtemp("robust-plugin");
    cap = eft_path(dir, "a.pcap");
    pb_writer_t *w = pb_writer_open(cap, PB_DLT_EN10MB, 0);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 8; i++) { /* flows spread over the workers */
        char client[32];
        snprintf(client, sizeof client, "10.0.0.%d", i + 1);
        pb_flow_t fl;
        ck_assert_int_eq(pb_flow_init(&fl, 6, client, 40000, "10.9.9.9", 80), 0);
        ck_assert_int_ge(pb_tcp_session(w, &fl, 1600000000000000ull + (uint64_t)i * 1000u, 100,
                                        2, 10, 100), 0);
    }
    ck_assert_int_eq(pb_writer_close(w), 0);
}

static void teardown(void)
{
    eft_rmtree(dir);
    free(dir);
    free(cap);
}

/* Run the host with the plugin in `mode`; returns the exit status. */
static int run_mode(const char *mode, int workers, char **err)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "EF_MISBEHAVE=%s '%s' run -q -P '%s' --workers %d -r '%s' -l '%s/o'",
             mode, eft_bin(), PLUGIN, workers, cap, dir);
    int rc = eft_run(cmd, NULL, err);
    ck_assert_msg(rc >= 0 && rc < 128, "%s: exit %d (a signal?): %s", mode, rc, *err);
    return rc;
}

static void expect_failure(const char *mode, int workers, const char *want)
{
    char *err = NULL;
    int rc = run_mode(mode, workers, &err);
    ck_assert_msg(rc == 1, "%s, %d workers: exit %d: %s", mode, workers, rc, err);
    ck_assert_msg(strstr(err, want) != NULL, "%s, %d workers: stderr lacks \"%s\": %s", mode,
                  workers, want, err);
    ck_assert_msg(!strstr(err, "Sanitizer"), "%s", err);
    free(err);
}

START_TEST(init_failures_are_reported)
{
    expect_failure("init_fail", 1, "misbehaving.so failed to initialise: misbehaving: told to fail");
    expect_failure("init_silent", 1, "misbehaving.so failed to initialise: (the plugin gave no reason)");
    /* the unterminated message is cut at the buffer's end (a read past it
     * is what the ASan stage would report) */
    char *err = NULL;
    ck_assert_int_eq(run_mode("init_unterminated", 1, &err), 1);
    char *x = strstr(err, "failed to initialise: XXX");
    ck_assert_msg(x != NULL, "%s", err);
    size_t n = strspn(x + strlen("failed to initialise: "), "X");
    ck_assert_uint_lt(n, 512);
    free(err);
}
END_TEST

START_TEST(thread_init_failures_are_reported)
{
    /* _i: 1, 2 or 4 workers; the second thread fails only with 2 or more */
    static const int workers[] = {2, 4, 1};
    int w = workers[_i];
    expect_failure("thread_silent", w, "plugin thread init failed: (the plugin gave no reason)");
    if (w > 1)
        expect_failure("thread_fail", w, "plugin thread init failed: misbehaving: no second thread");
}
END_TEST

START_TEST(huge_flow_storage_is_refused)
{
    expect_failure("huge_storage", 1, "bytes of storage per flow");
    expect_failure("huge_storage", 3, "bytes of storage per flow");
}
END_TEST

START_TEST(well_behaved_mode_runs)
{
    for (int w = 1; w <= 4; w *= 2) {
        char *err = NULL;
        ck_assert_msg(run_mode("none", w, &err) == 0, "%d workers: %s", w, err);
        free(err);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("robust_plugin");
    TCase *tc = tcase_create("misbehaving");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, init_failures_are_reported);
    tcase_add_loop_test(tc, thread_init_failures_are_reported, 0, 3);
    tcase_add_test(tc, huge_flow_storage_is_refused);
    tcase_add_test(tc, well_behaved_mode_runs);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
