/* Capture: pcap/pcapng reading through libpcap, timestamps, every file
 * error with name and byte offset, input expansion, live capture errors,
 * the pcap -> decode -> flow -> features path with exact values, and a sweep
 * over every shared capture. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eftest.h"
#include "net/capture.h"
#include "net/decode.h"
#include "net/features.h"
#include "net/flow.h"
#include "pktbuild.h"

static char *tmpdir;

static void setup(void)
{
    tmpdir = eft_mkdtemp("capture");
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    eft_rmtree(tmpdir);
    free(tmpdir);
}

static char *tmp(const char *name)
{
    return eft_path(tmpdir, name);
}

/* A pcap with one TCP session (9 packets, 1 exchange) at 1 ms steps. */
static char *session_pcap(const char *name, int linktype, int nsec)
{
    char *path = tmp(name);
    pb_writer_t *w = pb_writer_open(path, linktype, nsec);
    ck_assert_ptr_nonnull(w);
    pb_flow_t fl;
    ck_assert_int_eq(pb_flow_init(&fl, 6, "10.0.0.1", 40000, "10.0.0.2", 80), 0);
    ck_assert_int_eq(pb_tcp_session(w, &fl, 1600000000000000ull, 1000, 2, 100, 1000), 10);
    ck_assert_int_eq(pb_writer_close(w), 0);
    return path;
}

static size_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (size_t)st.st_size;
}

START_TEST(reads_a_pcap_written_by_libpcap)
{
    char *path = session_pcap("s.pcap", PB_DLT_EN10MB, 0);
    ef_err_t err = {{0}};
    ef_capture_t *c = ef_capture_open_file(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(ef_capture_linktype(c), EF_DLT_EN10MB);
    ck_assert_str_eq(ef_capture_name(c), path);
    ck_assert_uint_eq(ef_capture_file_size(c), file_size(path));
    ck_assert_uint_eq(ef_capture_bytes_read(c), 24);
    ef_frame_t fr;
    int n = 0;
    uint64_t expect_off = 24;
    while (ef_capture_next(c, &fr, &err) == 1) {
        ck_assert_uint_eq(fr.ts_us, 1600000000000000ull + 1000u * (uint64_t)n);
        ck_assert_uint_eq(fr.caplen, fr.wirelen);
        expect_off += 16 + fr.caplen;
        ck_assert_uint_eq(ef_capture_bytes_read(c), expect_off);
        n++;
    }
    ck_assert_int_eq(n, 10);
    ck_assert_uint_eq(ef_capture_packets(c), 10);
    ck_assert_uint_eq(ef_capture_bytes_read(c), file_size(path));
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 0); /* stays at end */
    ef_capture_close(c);
    free(path);
}
END_TEST

START_TEST(nanosecond_pcap_gives_microseconds)
{
    char *path = tmp("ns.pcap");
    pb_writer_t *w = pb_writer_open(path, PB_DLT_RAW, 1);
    pb_frame_t f;
    pb_init(&f);
    pb_ipv4(&f, "1.1.1.1", "2.2.2.2", 17, NULL);
    pb_udp(&f, 1, 2);
    pb_finish(&f);
    ck_assert_int_eq(pb_write_ns(w, 1234567891999ull, f.data, f.len, f.len), 0);
    ck_assert_int_eq(pb_write_ns(w, 5000000000001ull, f.data, 20, f.len), 0); /* snaplen 20 */
    ck_assert_int_eq(pb_writer_close(w), 0);
    ef_err_t err;
    ef_capture_t *c = ef_capture_open_file(path, &err);
    ck_assert_ptr_nonnull(c);
    ef_frame_t fr;
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 1);
    ck_assert_uint_eq(fr.ts_us, 1234567891u);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 1);
    ck_assert_uint_eq(fr.ts_us, 5000000000u);
    ck_assert_uint_eq(fr.caplen, 20);
    ck_assert_uint_eq(fr.wirelen, 28);
    ef_packet_t p;
    int lt = ef_capture_linktype(c);
    ck_assert_int_eq(ef_decode(lt, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &p),
                     EF_DEC_MAL_UDP_TRUNC);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 0);
    ef_capture_close(c);
    free(path);
}
END_TEST

START_TEST(reads_pcapng)
{
    char *path = tmp("one.pcapng");
    pb_ng_t *w = pb_ng_open(path);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(pb_ng_interface(w, PB_DLT_EN10MB), 0);
    ck_assert_int_eq(pb_ng_interface(w, PB_DLT_EN10MB), 1);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "192.0.2.1", 5353, "192.0.2.2", 53);
    pb_frame_t f;
    for (int i = 0; i < 3; i++) {
        pb_flow_frame(&f, PB_DLT_EN10MB, &fl, i & 1, 0, NULL, 10 + (size_t)i);
        ck_assert_int_eq(pb_ng_packet(w, i & 1, 7000000u + (uint64_t)i, f.data, f.len), 0);
    }
    ck_assert_int_eq(pb_ng_close(w), 0);
    ef_err_t err;
    ef_capture_t *c = ef_capture_open_file(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ef_frame_t fr;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ef_capture_next(c, &fr, &err), 1);
        ck_assert_uint_eq(fr.ts_us, 7000000u + (uint64_t)i);
        ck_assert_uint_eq(fr.caplen, 14 + 28 + 10 + (uint32_t)i);
    }
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 0);
    ck_assert_uint_eq(ef_capture_bytes_read(c), file_size(path));
    ef_capture_close(c);
    free(path);
}
END_TEST

/* libpcap 1.10 cannot read a pcapng whose interfaces differ in link type:
 * an error naming file and offset, never an empty success. */
START_TEST(pcapng_with_mixed_interfaces_is_an_error)
{
    char *path = tmp("mixed.pcapng");
    pb_ng_t *w = pb_ng_open(path);
    pb_ng_interface(w, PB_DLT_EN10MB);
    pb_ng_interface(w, PB_DLT_NULL);
    pb_frame_t f;
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "192.0.2.1", 5353, "192.0.2.2", 53);
    pb_flow_frame(&f, PB_DLT_EN10MB, &fl, 0, 0, NULL, 4);
    pb_ng_packet(w, 0, 1, f.data, f.len);
    pb_ng_close(w);
    ef_err_t err = {{0}};
    ef_capture_t *c = ef_capture_open_file(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ef_frame_t fr;
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), -1);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, ": byte ") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "share one link type") != NULL, "%s", err.msg);
    ef_capture_close(c);
    free(path);
}
END_TEST

static void assert_open_fails(const char *path, const char *want)
{
    ef_err_t err = {{0}};
    ck_assert_ptr_null(ef_capture_open_file(path, &err));
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message lacks file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks '%s': %s", want, err.msg);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
}

START_TEST(bad_files_are_refused_at_open)
{
    char *txt = tmp("notes.txt");
    ck_assert_int_eq(eft_write_file(txt, "hello, this is not a capture\n", 29), 0);
    assert_open_fails(txt, "byte 0: not a readable pcap or pcapng file");
    char *empty = tmp("empty.pcap");
    ck_assert_int_eq(eft_write_file(empty, "", 0), 0);
    assert_open_fails(empty, "empty file (0 bytes)");
    char *missing = tmp("missing.pcap");
    assert_open_fails(missing, "cannot open: No such file or directory");
    assert_open_fails(tmpdir, "is a directory");
    /* a pcap file header cut after 10 bytes */
    char *good = session_pcap("good.pcap", PB_DLT_EN10MB, 0);
    size_t len;
    char *bytes = eft_read_file(good, &len);
    char *cut = tmp("cut-header.pcap");
    eft_write_file(cut, bytes, 10);
    assert_open_fails(cut, "byte 0: not a readable pcap or pcapng file");
    /* unsupported link type (802.11) */
    char *wifi = tmp("wifi.pcap");
    pb_writer_t *w = pb_writer_open(wifi, 105, 0);
    pb_writer_close(w);
    assert_open_fails(wifi, "link type 105 (IEEE802_11) is not supported");
    ef_err_t err;
    ck_assert_ptr_null(ef_capture_open_file(NULL, &err));
    ck_assert_str_eq(err.msg, "capture: no file name given");
    free(bytes);
    free(txt);
    free(empty);
    free(missing);
    free(good);
    free(cut);
    free(wifi);
}
END_TEST

/* Cut a 10-packet capture inside its last record: 9 packets, then an error
 * naming the record's offset. */
START_TEST(truncated_last_record_is_an_error_with_its_offset)
{
    char *good = session_pcap("good.pcap", PB_DLT_EN10MB, 0);
    size_t len;
    char *bytes = eft_read_file(good, &len);
    /* the last record: 16-byte header + 54-byte ACK */
    size_t last = len - 16 - 54;
    static const size_t cuts[] = {20, 5}; /* bytes kept of the last record */
    for (int i = 0; i < 2; i++) {
        char *cut = tmp(i ? "cut-hdr.pcap" : "cut-data.pcap");
        eft_write_file(cut, bytes, last + cuts[i]);
        ef_err_t err = {{0}};
        ef_capture_t *c = ef_capture_open_file(cut, &err);
        ck_assert_ptr_nonnull(c);
        ef_frame_t fr;
        int n = 0, r;
        while ((r = ef_capture_next(c, &fr, &err)) == 1)
            n++;
        ck_assert_int_eq(n, 9);
        ck_assert_int_eq(r, -1);
        char want[64];
        snprintf(want, sizeof want, ": byte %zu: truncated packet record", last);
        ck_assert_msg(strncmp(err.msg, cut, strlen(cut)) == 0, "%s", err.msg);
        ck_assert_msg(strstr(err.msg, want) != NULL, "want '%s' in: %s", want, err.msg);
        ef_capture_close(c);
        free(cut);
    }
    free(bytes);
    free(good);
}
END_TEST

START_TEST(stdin_and_break)
{
    char *path = session_pcap("s.pcap", PB_DLT_LINUX_SLL, 0);
    ck_assert_ptr_nonnull(freopen(path, "rb", stdin));
    ef_err_t err;
    ef_capture_t *c = ef_capture_open_file("-", &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_str_eq(ef_capture_name(c), "<stdin>");
    ck_assert_int_eq(ef_capture_linktype(c), EF_DLT_LINUX_SLL);
    ck_assert_uint_eq(ef_capture_file_size(c), 0);
    ef_frame_t fr;
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 1);
    ef_capture_break(c);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 0);
    ef_capture_close(c);
    free(path);
}
END_TEST

static int touch(const char *dir, const char *name)
{
    char *p = eft_path(dir, name);
    int rc = eft_write_file(p, "x", 1);
    free(p);
    return rc;
}

START_TEST(expand_inputs_sorts_directories_and_keeps_files)
{
    char *dir = tmp("in");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    touch(dir, "b.pcap");
    touch(dir, "a.pcapng");
    touch(dir, "B.pcap");
    touch(dir, ".hidden.pcap");
    char *sub = eft_path(dir, "sub");
    mkdir(sub, 0700);
    touch(sub, "deep.pcap");
    char *single = tmp("z.pcap");
    eft_write_file(single, "x", 1);
    const char *paths[] = {single, dir, "-"};
    char **out;
    int n;
    ef_err_t err;
    ck_assert_int_eq(ef_capture_expand_inputs(paths, 3, &out, &n, &err), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(out[0], single);
    char *want1 = eft_path(dir, "B.pcap"), *want2 = eft_path(dir, "a.pcapng"),
         *want3 = eft_path(dir, "b.pcap");
    ck_assert_str_eq(out[1], want1);
    ck_assert_str_eq(out[2], want2);
    ck_assert_str_eq(out[3], want3);
    ck_assert_str_eq(out[4], "-");
    ck_assert_ptr_null(out[5]);
    ef_capture_inputs_free(out);
    /* errors: missing path, empty directory, nothing at all */
    char *missing = tmp("nope");
    const char *bad[] = {single, missing};
    ck_assert_int_eq(ef_capture_expand_inputs(bad, 2, &out, &n, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(err.msg, "nope: cannot open"));
    char *emptydir = tmp("emptydir");
    mkdir(emptydir, 0700);
    const char *bad2[] = {emptydir};
    ck_assert_int_eq(ef_capture_expand_inputs(bad2, 1, &out, &n, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "directory holds no files"));
    ck_assert_int_eq(ef_capture_expand_inputs(NULL, 0, &out, &n, &err), -1);
    ck_assert_str_eq(err.msg, "no input files given");
    ef_capture_inputs_free(NULL);
    free(want1);
    free(want2);
    free(want3);
    free(missing);
    free(emptydir);
    free(single);
    free(sub);
    free(dir);
}
END_TEST

START_TEST(live_capture_errors_name_the_interface)
{
    ef_err_t err = {{0}};
    ck_assert_ptr_null(ef_capture_open_live("ef-no-such-if0", NULL, 0, &err));
    ck_assert_msg(strncmp(err.msg, "live capture on ef-no-such-if0: ", 32) == 0, "%s", err.msg);
    ck_assert_ptr_null(ef_capture_open_live("", NULL, 0, &err));
    ck_assert_str_eq(err.msg, "live capture: no interface given");
}
END_TEST

static void *breaker(void *arg)
{
    usleep(200000);
    ef_capture_break(arg);
    return NULL;
}

/* Needs permission to capture on lo; without it the error is checked. */
START_TEST(live_capture_on_loopback_filters_and_breaks)
{
    ef_err_t err = {{0}};
    ef_capture_t *c = ef_capture_open_live("lo", "udp dst port 9 and src host 192.0.2.77", 0, &err);
    if (!c) {
        ck_assert_msg(strncmp(err.msg, "live capture on lo: ", 20) == 0, "%s", err.msg);
        fprintf(stderr, "live capture on lo not permitted here, checked the error only: %s\n",
                err.msg);
        return;
    }
    ck_assert_int_eq(ef_capture_linktype(c), EF_DLT_EN10MB);
    ck_assert_uint_eq(ef_capture_bytes_read(c), 0);
    /* the filter matches nothing: next blocks until the break */
    pthread_t th;
    pthread_create(&th, NULL, breaker, c);
    ef_frame_t fr;
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), 0);
    pthread_join(th, NULL);
    ef_capture_close(c);
    ck_assert_ptr_null(ef_capture_open_live("lo", "this is not bpf", 0, &err));
    ck_assert_msg(strstr(err.msg, "live capture on lo: BPF filter \"this is not bpf\": ") != NULL,
                  "%s", err.msg);
}
END_TEST

/* pcap -> capture -> decode -> flow table -> features, exact values. */
typedef struct flow_rec {
    int n;
    ef_features_t feat[8];
    uint8_t reason[8];
} flow_rec_t;

static void keep_features(void *user, ef_flow_t *f)
{
    flow_rec_t *r = user;
    if (r->n < 8) {
        r->feat[r->n] = *(ef_features_t *)ef_flow_ext(f);
        r->reason[r->n] = f->end_reason;
        r->n++;
    }
}

START_TEST(features_from_a_recorded_session)
{
    char *path = session_pcap("sess.pcap", PB_DLT_EN10MB, 0);
    ef_err_t err;
    ef_capture_t *c = ef_capture_open_file(path, &err);
    flow_rec_t rec = {0};
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.ext_size = sizeof(ef_features_t);
    ef_flow_table_t *t = ef_flow_table_new(&cfg, keep_features, &rec, &err);
    ef_frame_t fr;
    while (ef_capture_next(c, &fr, &err) == 1) {
        ef_packet_t p;
        int lt = ef_capture_linktype(c);
        ck_assert_int_eq(ef_decode(lt, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &p), EF_DEC_OK);
        ef_flow_hit_t h;
        ck_assert_int_eq(ef_flow_table_track(t, &p, &h), 0);
        ef_features_add(ef_flow_ext(h.flow), p.ts_us, p.ip_len, h.c2s);
    }
    ef_flow_table_flush(t);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_uint_eq(rec.reason[0], EF_END_FIN);
    const ef_features_t *ft = &rec.feat[0];
    /* SYN, SYN+ACK, ACK, 2 x (100 B request, 1000 B response), FIN, FIN, ACK */
    static const uint16_t sizes[] = {40, 40, 40, 140, 1040, 140, 1040, 40, 40, 40};
    static const int dirs[] = {1, 0, 1, 1, 0, 1, 0, 1, 0, 1};
    ck_assert_uint_eq(ft->n, 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_uint_eq(ft->size[i], sizes[i]);
        ck_assert_uint_eq(ft->iat_us[i], i ? 1000 : 0);
        ck_assert_int_eq(ef_features_dir(ft, i), dirs[i]);
    }
    ck_assert_int_eq(ef_features_c2s(ft, 3), 2);
    ck_assert_int_eq(ef_features_c2s(ft, 10), 6);
    ef_flow_table_free(t);
    ef_capture_close(c);
    free(path);
}
END_TEST

/* Every shared capture through capture + decode + flow table: no crash,
 * per-file figures printed; the one unreadable pcapng must be an error. */
typedef struct sweep {
    uint64_t flows;
} sweep_t;

static void count_flow(void *user, ef_flow_t *f)
{
    (void)f;
    ((sweep_t *)user)->flows++;
}

static void sweep_dir(const char *dir, int *files, int *errors)
{
    const char *paths[] = {dir};
    char **list;
    int n;
    ef_err_t err;
    if (ef_capture_expand_inputs(paths, 1, &list, &n, &err) != 0)
        return;
    for (int i = 0; i < n; i++) {
        const char *name = strrchr(list[i], '/') + 1;
        if (!strstr(name, ".pcap"))
            continue;
        (*files)++;
        ef_capture_t *c = ef_capture_open_file(list[i], &err);
        if (!c) {
            (*errors)++;
            fprintf(stderr, "  %-50s open error: %s\n", name, err.msg);
            continue;
        }
        sweep_t sw = {0};
        ef_flow_table_t *t = ef_flow_table_new(NULL, count_flow, &sw, &err);
        ef_decode_stats_t ds = {0};
        ef_frame_t fr;
        int r;
        uint64_t orphans = 0;
        while ((r = ef_capture_next(c, &fr, &err)) == 1) {
            ef_packet_t p;
            ef_decode_status_t st =
                ef_decode(ef_capture_linktype(c), fr.data, fr.caplen, fr.wirelen, fr.ts_us, &p);
            ef_decode_stats_add(&ds, st);
            ef_flow_hit_t h;
            if (st == EF_DEC_OK && ef_flow_table_track(t, &p, &h) != 0)
                orphans++;
        }
        ef_flow_table_flush(t);
        if (r < 0) {
            (*errors)++;
            fprintf(stderr, "  %-50s read error: %s\n", name, err.msg);
            ck_assert_ptr_nonnull(strstr(err.msg, list[i]));
        }
        /* known unreadable by libpcap 1.10 (interfaces of different link
         * types): must be an error, never an empty success */
        if (!strcmp(name, "cyanivde_traceroute.pcapng"))
            ck_assert_msg(r < 0, "%s read as %llu packets without error", name,
                          (unsigned long long)ds.packets);
        fprintf(stderr, "  %-50s %7llu packets %6llu flows %5llu malformed %5llu not-ip\n", name,
                (unsigned long long)ds.packets, (unsigned long long)sw.flows,
                (unsigned long long)ef_decode_stats_malformed(&ds),
                (unsigned long long)ds.by_status[EF_DEC_NOT_IP]);
        ck_assert_uint_eq(sw.flows, ef_flow_table_stats(t)->created);
        ef_flow_table_free(t);
        ef_capture_close(c);
    }
    ef_capture_inputs_free(list);
}

START_TEST(every_shared_capture)
{
    const char *base = eft_shared_data();
    if (!base) {
        fprintf(stderr, "shared data folder absent: skipping the shared capture sweep\n");
        return;
    }
    struct dirent **subs;
    int nsub = scandir(base, &subs, NULL, alphasort);
    ck_assert_int_ge(nsub, 0);
    int files = 0, errors = 0;
    for (int i = 0; i < nsub; i++) {
        char *sub = eft_path(base, subs[i]->d_name);
        struct stat st;
        if (subs[i]->d_name[0] != '.' && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s/\n", subs[i]->d_name);
            sweep_dir(sub, &files, &errors);
        }
        free(sub);
        free(subs[i]);
    }
    free(subs);
    fprintf(stderr, "%d capture files, %d with errors\n", files, errors);
    ck_assert_int_gt(files, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("capture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reads_a_pcap_written_by_libpcap);
    tcase_add_test(tc, nanosecond_pcap_gives_microseconds);
    tcase_add_test(tc, reads_pcapng);
    tcase_add_test(tc, pcapng_with_mixed_interfaces_is_an_error);
    tcase_add_test(tc, bad_files_are_refused_at_open);
    tcase_add_test(tc, truncated_last_record_is_an_error_with_its_offset);
    tcase_add_test(tc, stdin_and_break);
    tcase_add_test(tc, expand_inputs_sorts_directories_and_keeps_files);
    tcase_add_test(tc, live_capture_errors_name_the_interface);
    tcase_add_test(tc, live_capture_on_loopback_filters_and_breaks);
    tcase_add_test(tc, features_from_a_recorded_session);
    tcase_add_test(tc, every_shared_capture);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
