/* Dataset CSV writer: exact text (header, rows, padding, extended columns,
 * quoting) and the temporary-file-then-rename behaviour on success and on
 * every kind of failure. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/dataset_csv.h"
#include "eftest.h"

static char *tmpdir;

static void setup(void)
{
    tmpdir = eft_mkdtemp("dataset");
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    eft_rmtree(tmpdir);
    free(tmpdir);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Number of entries in tmpdir (excluding . and ..). */
static int dir_entries(void)
{
    char *cmd = NULL, *out = NULL;
    ck_assert_int_ge(asprintf(&cmd, "ls -A '%s' | wc -l", tmpdir), 0);
    ck_assert_int_eq(eft_run(cmd, &out, NULL), 0);
    int n = atoi(out);
    free(cmd);
    free(out);
    return n;
}

/* Three packets: 60 bytes c->s at t0, 1500 s->c 500 us later, 40 c->s
 * 250 ms after that. */
static void three_packets(ef_features_t *f)
{
    memset(f, 0, sizeof *f);
    ef_features_add(f, 1574344800000000ull, 60, 1);
    ef_features_add(f, 1574344800000500ull, 1500, 0);
    ef_features_add(f, 1574344800250500ull, 40, 1);
}

/* Write the given flows with k/flags, commit, return the file text. */
static char *write_csv(int k, unsigned flags, const ef_dataset_flow_t *flows, int n)
{
    char *path = eft_path(tmpdir, "out.csv");
    ef_err_t err = {{0}};
    ef_dataset_writer_t *w = ef_dataset_writer_open(path, k, flags, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    for (int i = 0; i < n; i++)
        ck_assert_int_ge(ef_dataset_writer_add(w, &flows[i], &err), 0);
    ck_assert_msg(ef_dataset_writer_commit(w, &err) == 0, "%s", err.msg);
    char *text = eft_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    free(path);
    return text;
}

START_TEST(header_text)
{
    char buf[2048];
    int n = ef_dataset_header(buf, sizeof buf, 3, 0);
    ck_assert_str_eq(buf, "pktSize1,pktSize2,pktSize3,pktTime1,pktTime2,pktTime3,c2s,"
                          "taxonomy label\n");
    ck_assert_int_eq(n, (int)strlen(buf));
    ef_dataset_header(buf, sizeof buf, 1, EF_DATASET_EXTENDED | EF_DATASET_PAD);
    ck_assert_str_eq(buf, "pktSize1,pktTime1,c2s,taxonomy label,flow_id,proto,src_ip,src_port,"
                          "dst_ip,dst_port,start_time,dirs,flow_pkts,end_reason,ndpi_proto,"
                          "mawilab_code,mawilab_heuristic,mawilab_distance,mawilab_detectors,"
                          "mawilab_label,mawilab_anomaly_id,mawilab_dir\n");
    n = ef_dataset_header(buf, sizeof buf, 20, 0);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, ",pktSize20,pktTime1,"));
    ck_assert_ptr_nonnull(strstr(buf, ",pktTime20,c2s,taxonomy label\n"));
    ck_assert_int_eq(ef_dataset_header(buf, sizeof buf, 0, 0), -1);
    ck_assert_int_eq(ef_dataset_header(buf, sizeof buf, EF_K_MAX + 1, 0), -1);
    ck_assert_int_eq(ef_dataset_header(buf, 20, 3, 0), -1);
}
END_TEST

START_TEST(seed_rows)
{
    ef_features_t f3, f5;
    three_packets(&f3);
    three_packets(&f5);
    ef_features_add(&f5, 1574344801250500ull, 52, 0);
    ef_features_add(&f5, 1574344801250501ull, 576, 1);
    ef_dataset_flow_t flows[] = {{.feat = &f3, .label = "HTTP"},
                                 {.feat = &f5, .label = "Unlabeled"}};
    char *text = write_csv(3, 0, flows, 2);
    ck_assert_str_eq(text, "pktSize1,pktSize2,pktSize3,pktTime1,pktTime2,pktTime3,c2s,"
                           "taxonomy label\n"
                           "60,1500,40,0.000000,0.000500,0.250000,2,HTTP\n"
                           "60,1500,40,0.000000,0.000500,0.250000,2,Unlabeled\n");
    free(text);
    /* k = 5: the 3-packet flow is skipped without --pad. */
    text = write_csv(5, 0, flows, 2);
    ck_assert_str_eq(text, "pktSize1,pktSize2,pktSize3,pktSize4,pktSize5,pktTime1,pktTime2,"
                           "pktTime3,pktTime4,pktTime5,c2s,taxonomy label\n"
                           "60,1500,40,52,576,0.000000,0.000500,0.250000,1.000000,0.000001,3,"
                           "Unlabeled\n");
    free(text);
}
END_TEST

START_TEST(padding_writes_zeros)
{
    ef_features_t f;
    three_packets(&f);
    ef_dataset_flow_t flow = {.feat = &f, .label = "DoS"};
    char *text = write_csv(5, EF_DATASET_PAD, &flow, 1);
    ck_assert_str_eq(text, "pktSize1,pktSize2,pktSize3,pktSize4,pktSize5,pktTime1,pktTime2,"
                           "pktTime3,pktTime4,pktTime5,c2s,taxonomy label\n"
                           "60,1500,40,0,0,0.000000,0.000500,0.250000,0.000000,0.000000,2,DoS\n");
    free(text);
}
END_TEST

START_TEST(large_and_saturated_times)
{
    ef_features_t f;
    memset(&f, 0, sizeof f);
    ef_features_add(&f, 1000, 40, 1);
    ef_features_add(&f, 1000 + 123456789ull, 65535, 0);        /* 123.456789 s */
    ef_features_add(&f, 1000 + 123456789ull + (1ull << 40), 20, 0); /* saturates */
    ef_dataset_flow_t flow = {.feat = &f, .label = "Other"};
    char *text = write_csv(3, 0, &flow, 1);
    ck_assert_ptr_nonnull(strstr(text, "\n40,65535,20,0.000000,123.456789,4294.967295,1,Other\n"));
    free(text);
}
END_TEST

START_TEST(extended_columns_and_quoting)
{
    char *lab = eft_path(tmpdir, "labels.csv");
    const char *labels =
        "anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,heuristic,distance,nbDetectors,label\n"
        "17,,,10.0.0.2,80,ptmp\"HTTP\",503,0.52721,9,suspicious\n"
        "18,2001:db8::2,,,,ntscIC,,,,notice\n";
    ck_assert_int_eq(eft_write_file(lab, labels, strlen(labels)), 0);
    ef_err_t err;
    const char *paths[] = {lab};
    ef_mawilab_t *m = ef_mawilab_load(paths, 1, &err);
    ck_assert_ptr_nonnull(m);

    uint8_t c4[16] = {0}, s4[16] = {0}, c6[16], s6[16];
    inet_pton(AF_INET, "10.0.0.1", c4);
    inet_pton(AF_INET, "10.0.0.2", s4);
    inet_pton(AF_INET6, "2001:db8::1", c6);
    inet_pton(AF_INET6, "2001:db8::2", s6);
    ef_mawilab_flow_t mf4 = {c4, s4, 40000, 80, 4, 1};
    ef_mawilab_flow_t mf6 = {c6, s6, 0, 0, 6, 0};
    ef_mawilab_match_t m4, m6;
    ef_mawilab_match(m, &mf4, &m4);
    ef_mawilab_match(m, &mf6, &m6);
    ck_assert_ptr_nonnull(m4.rule);
    ck_assert_ptr_nonnull(m6.rule);
    ck_assert_int_eq(m6.reversed, 1);

    ef_features_t f;
    three_packets(&f);
    ef_dataset_flow_t flows[] = {
        {.feat = &f, .label = "HTTP", .flow_id = 18446744073709551615ull, .ip_version = 4,
         .proto = 6, .has_ports = 1, .client_addr = c4, .server_addr = s4, .client_port = 40000,
         .server_port = 80, .start_ts_us = 1574344800000000ull, .pkts = 9, .end_reason = "fin",
         .app = "HTTP,Proxy", .match = &m4},
        {.feat = &f, .label = "Unlabeled", .flow_id = 7, .ip_version = 6, .proto = 58,
         .has_ports = 0, .client_addr = c6, .server_addr = s6,
         .start_ts_us = 1574344800000001ull, .pkts = 3, .end_reason = "timeout",
         .app = "ICMPV6", .match = &m6},
        {.feat = &f, .label = "Unlabeled", .flow_id = 8, .ip_version = 4, .proto = 17,
         .has_ports = 1, .client_addr = c4, .server_addr = s4, .client_port = 53,
         .server_port = 0, .start_ts_us = 5, .pkts = 3},
    };
    char *text = write_csv(2, EF_DATASET_EXTENDED, flows, 3);
    ck_assert_str_eq(text,
        "pktSize1,pktSize2,pktTime1,pktTime2,c2s,taxonomy label,flow_id,proto,src_ip,src_port,"
        "dst_ip,dst_port,start_time,dirs,flow_pkts,end_reason,ndpi_proto,mawilab_code,"
        "mawilab_heuristic,mawilab_distance,mawilab_detectors,mawilab_label,mawilab_anomaly_id,"
        "mawilab_dir\n"
        "60,1500,0.000000,0.000500,1,HTTP,18446744073709551615,6,10.0.0.1,40000,10.0.0.2,80,"
        "1574344800.000000,10,9,fin,\"HTTP,Proxy\",\"ptmp\"\"HTTP\"\"\",503,0.52721,9,"
        "suspicious,17,fwd\n"
        "60,1500,0.000000,0.000500,1,Unlabeled,7,58,2001:db8::1,,2001:db8::2,,"
        "1574344800.000001,10,3,timeout,ICMPV6,ntscIC,,,,notice,18,rev\n"
        "60,1500,0.000000,0.000500,1,Unlabeled,8,17,10.0.0.1,53,10.0.0.2,0,0.000005,10,3,,"
        ",,,,,,,\n");
    free(text);

    /* Padded extended row: dirs lists the packets there are. */
    flows[0].match = NULL;
    text = write_csv(4, EF_DATASET_EXTENDED | EF_DATASET_PAD, flows, 1);
    ck_assert_ptr_nonnull(strstr(text, "\n60,1500,40,0,0.000000,0.000500,0.250000,0.000000,2,"
                                       "HTTP,18446744073709551615,6,10.0.0.1,40000,10.0.0.2,80,"
                                       "1574344800.000000,101,9,fin,\"HTTP,Proxy\",,,,,,,\n"));
    free(text);
    ef_mawilab_free(m);
    free(lab);
}
END_TEST

START_TEST(rows_beyond_the_buffer)
{
    ef_features_t f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < EF_K_MAX; i++)
        ef_features_add(&f, 1000000ull * (uint64_t)i, (uint16_t)(1000 + i), i & 1);
    char *path = eft_path(tmpdir, "big.csv");
    ef_err_t err;
    ef_dataset_writer_t *w = ef_dataset_writer_open(path, 20, 0, &err);
    ck_assert_ptr_nonnull(w);
    ef_dataset_flow_t flow = {.feat = &f, .label = "Alpha"};
    for (int i = 0; i < 20000; i++)
        ck_assert_int_eq(ef_dataset_writer_add(w, &flow, &err), 1);
    ck_assert_uint_eq(ef_dataset_writer_rows(w), 20000);
    ck_assert_int_eq(ef_dataset_writer_commit(w, &err), 0);
    size_t len;
    char *text = eft_read_file(path, &len);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    ck_assert_int_eq(lines, 20001);
    const char *row = "1000,1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014,"
                      "1015,1016,1017,1018,1019,0.000000,1.000000,1.000000,1.000000,1.000000,"
                      "1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,"
                      "1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,10,Alpha\n";
    ck_assert_int_eq(memcmp(text + len - strlen(row), row, strlen(row)), 0);
    free(text);
    free(path);
}
END_TEST

START_TEST(rows_go_to_a_hidden_temp_until_commit)
{
    char *path = eft_path(tmpdir, "data_K_3.csv");
    ef_err_t err;
    ef_dataset_writer_t *w = ef_dataset_writer_open(path, 3, 0, &err);
    ck_assert_ptr_nonnull(w);
    const char *tmp = ef_dataset_writer_temp_path(w);
    ck_assert_str_eq(ef_dataset_writer_path(w), path);
    ck_assert(exists(tmp));
    ck_assert(!exists(path));
    const char *base = strrchr(tmp, '/') + 1;
    ck_assert_int_eq(base[0], '.');
    ck_assert_int_eq(strncmp(base, ".data_K_3.csv.", 14), 0);
    ck_assert_str_eq(tmp + strlen(tmp) - 5, ".part");
    char *tmpcopy = strdup(tmp);
    ck_assert_int_eq(ef_dataset_writer_finish(w, &err), 0);
    ck_assert_int_eq(ef_dataset_writer_finish(w, &err), 0); /* idempotent */
    ck_assert(!exists(path));
    ck_assert_int_eq(ef_dataset_writer_commit(w, &err), 0);
    ck_assert(exists(path));
    ck_assert(!exists(tmpcopy));
    ck_assert_int_eq(dir_entries(), 1);
    free(tmpcopy);

    /* Abort: neither the target nor the temporary file remains; an older
     * complete file under the target name is left as it was. */
    w = ef_dataset_writer_open(path, 3, 0, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(dir_entries(), 2);
    ef_features_t f;
    three_packets(&f);
    ef_dataset_flow_t flow = {.feat = &f, .label = "DoS"};
    ck_assert_int_eq(ef_dataset_writer_add(w, &flow, &err), 1);
    ef_dataset_writer_abort(w);
    ck_assert_int_eq(dir_entries(), 1);
    char *text = eft_read_file(path, NULL);
    ck_assert_ptr_null(strstr(text, "DoS"));
    free(text);
    ef_dataset_writer_abort(NULL);
    free(path);
}
END_TEST

START_TEST(commit_failure_leaves_nothing)
{
    /* rename() onto a directory fails: the commit reports it and removes
     * the temporary file. */
    char *path = eft_path(tmpdir, "x_K_3.csv");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ef_err_t err;
    ef_dataset_writer_t *w = ef_dataset_writer_open(path, 3, 0, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ef_dataset_writer_commit(w, &err), -1);
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s: cannot move the finished file into place: Is a "
                              "directory", path), 0);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(dir_entries(), 1); /* just the directory */
    free(want);
    free(path);
}
END_TEST

/* Write failures come from a file-size limit (write() fails with EFBIG).
 * The limit is set in a child process so it never touches the test runner
 * (Check may run without fork); the child reports through a pipe:
 * "<add rc> <finish rc> <commit rc> <target exists> <temp exists>", then the
 * add, finish and commit messages, one per line. */
typedef struct limited {
    int add_rc, finish_rc, commit_rc, target_exists, temp_exists;
    char add_err[EF_ERR_MSG_MAX], finish_err[EF_ERR_MSG_MAX], commit_err[EF_ERR_MSG_MAX];
    char temp[1024];
} limited_t;

static void limited_child(int fd, const char *path, rlim_t limit, int k, int rows)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
        _exit(3);
    ef_err_t add = {{0}}, fin = {{0}}, com = {{0}};
    ef_dataset_writer_t *w = ef_dataset_writer_open(path, k, 0, &add);
    if (!w)
        _exit(4);
    char *tmp = strdup(ef_dataset_writer_temp_path(w));
    ef_features_t f;
    three_packets(&f);
    ef_dataset_flow_t flow = {.feat = &f, .label = "DoS"};
    int rc = 1;
    for (int i = 0; i < rows && rc == 1; i++)
        rc = ef_dataset_writer_add(w, &flow, &add);
    int frc = ef_dataset_writer_finish(w, &fin);
    int crc = ef_dataset_writer_commit(w, &com);
    dprintf(fd, "%d %d %d %d %d\n%s\n%s\n%s\n%s\n", rc, frc, crc, exists(path), exists(tmp),
            add.msg, fin.msg, com.msg, tmp);
    _exit(0);
}

static void run_limited(const char *path, rlim_t limit, int k, int rows, limited_t *out)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        limited_child(fds[1], path, limit, k, rows);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    memset(out, 0, sizeof *out);
    char first[64];
    ck_assert_ptr_nonnull(fgets(first, sizeof first, in));
    ck_assert_int_eq(sscanf(first, "%d %d %d %d %d", &out->add_rc, &out->finish_rc,
                            &out->commit_rc, &out->target_exists, &out->temp_exists), 5);
    char *lines[] = {out->add_err, out->finish_err, out->commit_err, out->temp};
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(fgets(lines[i], EF_ERR_MSG_MAX, in));
        lines[i][strcspn(lines[i], "\n")] = '\0';
    }
    fclose(in);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(write_failure_leaves_nothing)
{
    char *path = eft_path(tmpdir, "y_K_3.csv");
    limited_t r;
    run_limited(path, 100000, 3, 100000, &r);
    ck_assert_int_eq(r.add_rc, -1);
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s: write failed: File too large", r.temp), 0);
    ck_assert_str_eq(r.add_err, want);
    ck_assert_int_eq(r.finish_rc, -1);
    ck_assert_str_eq(r.finish_err, want);
    ck_assert_int_eq(r.commit_rc, -1);
    ck_assert_str_eq(r.commit_err, want);
    ck_assert_int_eq(r.target_exists, 0);
    ck_assert_int_eq(r.temp_exists, 0);
    ck_assert_int_eq(dir_entries(), 0);
    free(want);
    free(path);
}
END_TEST

START_TEST(late_write_failure_found_by_finish)
{
    /* Rows that fit the buffer but not the file: every add succeeds, the
     * flush in finish() fails, and commit renames nothing. */
    char *path = eft_path(tmpdir, "z.csv");
    limited_t r;
    run_limited(path, 50, 1, 10, &r);
    ck_assert_int_eq(r.add_rc, 1);
    ck_assert_int_eq(r.finish_rc, -1);
    ck_assert_ptr_nonnull(strstr(r.finish_err, ": write failed: File too large"));
    ck_assert_int_eq(r.commit_rc, -1);
    ck_assert_int_eq(r.target_exists, 0);
    ck_assert_int_eq(r.temp_exists, 0);
    ck_assert_int_eq(dir_entries(), 0);
    free(path);
}
END_TEST

START_TEST(open_failures)
{
    ef_err_t err;
    char *path = eft_path(tmpdir, "missing/x.csv");
    ck_assert_ptr_null(ef_dataset_writer_open(path, 3, 0, &err));
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s: cannot create output file: No such file or directory",
                              path), 0);
    ck_assert_str_eq(err.msg, want);
    free(want);
    free(path);

    path = eft_path(tmpdir, "x.csv");
    ck_assert_ptr_null(ef_dataset_writer_open(path, 0, 0, &err));
    ck_assert_int_ge(asprintf(&want, "%s: expected k between 1 and 20, got 0", path), 0);
    ck_assert_str_eq(err.msg, want);
    free(want);
    ck_assert_ptr_null(ef_dataset_writer_open(path, 21, 0, &err));
    free(path);

    if (geteuid() == 0) {
        fprintf(stderr, "skip: read-only directory check (running as root)\n");
        return;
    }
    char *ro = eft_path(tmpdir, "ro");
    ck_assert_int_eq(mkdir(ro, 0555), 0);
    path = eft_path(ro, "x.csv");
    ck_assert_ptr_null(ef_dataset_writer_open(path, 3, 0, &err));
    ck_assert_int_ge(asprintf(&want, "%s: cannot create output file: Permission denied", path),
                     0);
    ck_assert_str_eq(err.msg, want);
    chmod(ro, 0755);
    free(want);
    free(path);
    free(ro);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset_csv");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, header_text);
    tcase_add_test(tc, seed_rows);
    tcase_add_test(tc, padding_writes_zeros);
    tcase_add_test(tc, large_and_saturated_times);
    tcase_add_test(tc, extended_columns_and_quoting);
    tcase_add_test(tc, rows_beyond_the_buffer);
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("atomic");
    tcase_add_checked_fixture(ta, setup, teardown);
    tcase_add_test(ta, rows_go_to_a_hidden_temp_until_commit);
    tcase_add_test(ta, commit_failure_leaves_nothing);
    tcase_add_test(ta, write_failure_leaves_nothing);
    tcase_add_test(ta, late_write_failure_found_by_finish);
    tcase_add_test(ta, open_failures);
    suite_add_tcase(s, ta);
    return eft_run_suite(s);
}
