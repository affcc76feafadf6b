/* Live capture read timeouts (core/net/capture.h): on `lo` with a BPF filter
 * for one UDP port, ef_capture_next() returns EF_CAPTURE_TIMEOUT when asked
 * to and no packet comes, frames when packets come, waits across timeouts
 * by default, and returns EF_CAPTURE_END after ef_capture_break() whichever
 * mode; a file capture is not affected by the setting. Without capture
 * permission on lo the live tests are left out with a message (main probes
 * lo first) and the file test still runs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "eftest.h"
#include "net/capture.h"
#include "pktbuild.h"
#include "util/clock.h"

static uint64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}


/* A UDP port for this process's filter (distinct from other suites'). */
static uint16_t test_port(void)
{
    return (uint16_t)(41000 + getpid() % 20000);
}

/* lo captured for `udp dst port PORT` (main checked that lo opens). */
static ef_capture_t *open_lo(uint16_t port)
{
    char bpf[64];
    ef_err_t err = {{0}};
    snprintf(bpf, sizeof bpf, "udp dst port %u", port);
    ef_capture_t *c = ef_capture_open_live("lo", bpf, 0, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    return c;
}

static void send_udp(uint16_t port, int n)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[64];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(sendto(s, buf, sizeof buf, 0, (struct sockaddr *)&a, sizeof a),
                         (ssize_t)sizeof buf);
    close(s);
}

START_TEST(quiet_interface_times_out_then_frames_then_times_out)
{
    uint16_t port = test_port();
    ef_capture_t *c = open_lo(port);
    ef_capture_return_on_timeout(c, 1);
    ef_err_t err = {{0}};
    ef_frame_t fr;
    /* nothing matches yet: a timeout, after about one read timeout */
    uint64_t t0 = ef_mono_ms();
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_TIMEOUT);
    ck_assert_uint_lt(ef_mono_ms() - t0, 5000); /* bounded, not a measurement */
    ck_assert_uint_eq(ef_capture_packets(c), 0);

    uint64_t before = wall_us();
    send_udp(port, 3);
    int frames = 0, timeouts = 0;
    while (frames < 3 && timeouts < 20) { /* 20 read timeouts: 2 s */
        int r = ef_capture_next(c, &fr, &err);
        ck_assert_msg(r == EF_CAPTURE_FRAME || r == EF_CAPTURE_TIMEOUT, "r=%d %s", r, err.msg);
        if (r == EF_CAPTURE_TIMEOUT) {
            timeouts++;
            continue;
        }
        frames++;
        /* Ethernet on lo: 14 + 20 (IPv4) + 8 (UDP) + 64 bytes of payload */
        ck_assert_uint_eq(fr.caplen, 14 + 20 + 8 + 64);
        /* live timestamps are the wall clock */
        ck_assert_uint_ge(fr.ts_us + 1000000u, before);
        ck_assert_uint_le(fr.ts_us, wall_us() + 1000000u);
    }
    ck_assert_int_eq(frames, 3);
    ck_assert_uint_eq(ef_capture_packets(c), 3);
    /* drained: the next read times out again */
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_TIMEOUT);
    /* break: end, then end for good */
    ef_capture_break(c);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_END);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_END);
    ef_capture_close(c);
}
END_TEST

static void *break_after_300ms(void *arg)
{
    usleep(300000);
    ef_capture_break(arg);
    return NULL;
}

/* Default: ef_capture_next waits across read timeouts (300 ms is three of
 * them) and returns only for the break. The same break also ends a capture
 * set to return on timeouts, in at most one more call. */
START_TEST(default_waits_across_timeouts_until_break)
{
    ef_capture_t *c = open_lo(test_port());
    ef_err_t err = {{0}};
    ef_frame_t fr;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, break_after_300ms, c), 0);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_END);
    pthread_join(th, NULL);
    ef_capture_close(c);

    c = open_lo(test_port());
    ef_capture_return_on_timeout(c, 1);
    ck_assert_int_eq(pthread_create(&th, NULL, break_after_300ms, c), 0);
    int r, timeouts = 0;
    while ((r = ef_capture_next(c, &fr, &err)) == EF_CAPTURE_TIMEOUT)
        timeouts++;
    pthread_join(th, NULL);
    ck_assert_int_eq(r, EF_CAPTURE_END);
    ck_assert_int_ge(timeouts, 1); /* the break came after at least one timeout */
    /* switched back off: waits again (until this second break) */
    ef_capture_return_on_timeout(c, 0);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_END);
    ef_capture_close(c);
}
END_TEST

/* A file never times out: frames, then end, with the setting on. */
START_TEST(file_capture_ignores_the_setting)
{
    char *dir = eft_mkdtemp("capture-live");
    char *path = eft_path(dir, "two.pcap");
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 2; i++) {
        pb_frame_t f;
        pb_init(&f);
        pb_eth(&f, PB_ETH_IPV4);
        pb_ipv4(&f, "10.0.0.1", "10.0.0.2", 17, NULL);
        pb_udp(&f, 1234, 53);
        pb_payload(&f, NULL, 10);
        ck_assert_int_gt(pb_finish(&f), 0);
        ck_assert_int_eq(pb_write(w, 1000000u + (uint64_t)i, &f), 0);
    }
    ck_assert_int_eq(pb_writer_close(w), 0);
    ef_err_t err = {{0}};
    ef_capture_t *c = ef_capture_open_file(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ef_capture_return_on_timeout(c, 1);
    ef_frame_t fr;
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_FRAME);
    ck_assert_uint_eq(fr.ts_us, 1000000u);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_FRAME);
    ck_assert_uint_eq(fr.ts_us, 1000001u);
    ck_assert_int_eq(ef_capture_next(c, &fr, &err), EF_CAPTURE_END);
    ef_capture_close(c);
    eft_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture_live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 30);
    ef_err_t err = {{0}};
    ef_capture_t *probe = ef_capture_open_live("lo", NULL, 0, &err);
    if (probe) {
        ef_capture_close(probe);
        tcase_add_test(tc, quiet_interface_times_out_then_frames_then_times_out);
        tcase_add_test(tc, default_waits_across_timeouts_until_break);
    } else {
        fprintf(stderr, "test_capture_live: live tests skipped, cannot capture on lo: %s\n",
                err.msg);
    }
    tcase_add_test(tc, file_capture_ignores_the_setting);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
