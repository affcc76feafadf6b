/* `earlyflow run -i lo udp port P` on a quiet interface (docs/run.md, "Time,
 * idle flows and EVE flushes in live mode"): the host sees two UDP flows of
 * 3 datagrams each, then nothing. While the process still runs, within
 * 10 s, eve.json must hold both flows' flow-end verdicts: idle flows end on
 * the wall clock, and EVE is flushed about once a second (the writer alone
 * would write the first line at once and keep the second buffered until a
 * later line, so the second line needs the host's flush). Then SIGINT ends
 * the run cleanly (exit 0, "(interrupted)" summary, one stats line, the
 * last) and the stats say both flows ended by timeout, none at shutdown.
 * With 1 and 2 workers (the wall-clock ticks go to every worker). And EVE
 * on a full disk (/dev/full) in live mode: exit 1 with the write error.
 * The suite exits 77 (skipped) with a message when lo cannot be captured
 * on (no CAP_NET_RAW). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/capture.h"
#include "test_run_util.h"
#include "util/clock.h"

/* A bound receiver, so that the datagrams draw no ICMP errors. */
static int receiver(uint16_t port)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a = lo_addr(port);
    ck_assert_msg(bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind port %u: %s", port,
                  strerror(errno));
    return s;
}

/* Two flows (two sockets, two source ports), 3 datagrams each, 20 ms apart. */
static void send_two_flows(uint16_t port)
{
    int s[2] = {socket(AF_INET, SOCK_DGRAM, 0), socket(AF_INET, SOCK_DGRAM, 0)};
    struct sockaddr_in a = lo_addr(port);
    char buf[50];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 2; j++)
            ck_assert_int_eq(sendto(s[j], buf, sizeof buf, 0, (struct sockaddr *)&a, sizeof a),
                             (ssize_t)sizeof buf);
        sleep_ms(20);
    }
    close(s[0]);
    close(s[1]);
}

typedef struct live_run {
    char *dir, *out, *err, *eve;
    pid_t pid;
    uint16_t port;
    int status;
} live_run_t;

/* earlyflow run ARGS... -i lo udp port PORT, in the background. */
static void start(live_run_t *r, int port_offset, const char *const *args, int nargs)
{
    memset(r, 0, sizeof *r);
    r->dir = eft_mkdtemp("run-live-idle");
    r->out = eft_path(r->dir, "stdout");
    r->err = eft_path(r->dir, "stderr");
    r->eve = pathf(r->dir, "log/eve.json");
    r->port = (uint16_t)(30000 + getpid() % 20000 + port_offset);
    char *logdir = pathf(r->dir, "log"), port[8];
    snprintf(port, sizeof port, "%u", r->port);
    const char *argv[32];
    int n = 0;
    argv[n++] = eft_bin();
    argv[n++] = "run";
    argv[n++] = "-l";
    argv[n++] = logdir;
    for (int i = 0; i < nargs; i++)
        argv[n++] = args[i];
    const char *tail[] = {"-i", "lo", "udp", "port", port, NULL};
    for (int i = 0; i < 6; i++)
        argv[n++] = tail[i];
    r->pid = fork();
    ck_assert_int_ge(r->pid, 0);
    if (r->pid == 0) {
        int fo = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(eft_bin(), (char *const *)argv);
        _exit(127);
    }
    free(logdir);
    sleep_ms(1000); /* libpcap opens the interface */
    if (waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
        char *e = eft_read_file(r->err, NULL);
        ck_abort_msg("earlyflow run -i lo ended at once (status %d): %s", r->status, e);
    }
}

static int running(live_run_t *r)
{
    return waitpid(r->pid, &r->status, WNOHANG) == 0;
}

/* SIGINT, then up to 5 s for the exit. */
static void stop(live_run_t *r)
{
    ck_assert_int_eq(kill(r->pid, SIGINT), 0);
    for (int waited = 0; waitpid(r->pid, &r->status, WNOHANG) != r->pid; waited++) {
        if (waited == 250) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, &r->status, 0);
            ck_abort_msg("earlyflow run did not stop within 5 s of SIGINT");
        }
        sleep_ms(20);
    }
}

static void finish(live_run_t *r)
{
    eft_rmtree(r->dir);
    free(r->dir);
    free(r->out);
    free(r->err);
    free(r->eve);
}

/* Early events for flows to `port` decided at flow end on 3 packets (each
 * naming the interface it was captured on). */
static int flow_end_verdicts(const char *eve, uint16_t port)
{
    eve_t *e = eve_read(eve);
    int n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (is_type(e->ev[i], "early") && ju64(e->ev[i], "dest_port") == port &&
            ju64(e->ev[i], "early.packets") == 3 && jbool(e->ev[i], "early.at_flow_end") == 1) {
            const char *in = jstr(e->ev[i], "in_iface");
            ck_assert_msg(in && !strcmp(in, "lo"), "in_iface %s", in ? in : "(absent)");
            n++;
        }
    eve_free(e);
    return n;
}

static void idle_flows_reach_eve(int workers)
{
    char w[8];
    snprintf(w, sizeof w, "%d", workers);
    const char *args[] = {"--workers", w};
    live_run_t r;
    start(&r, workers, args, 2);
    int rx = receiver(r.port);
    uint64_t t0 = ef_mono_ms();
    send_two_flows(r.port);
    int found = 0;
    while (found < 2 && ef_mono_ms() - t0 < 10000) {
        sleep_ms(100);
        found = flow_end_verdicts(r.eve, r.port);
    }
    ck_assert_msg(found == 2, "%d flow-end verdicts in eve.json within 10 s, expected 2", found);
    ck_assert_msg(running(&r), "earlyflow run ended on its own (status %d)", r.status);
    fprintf(stderr, "test_run_live_idle: %d worker(s): both flow-end verdicts in eve.json %llu ms "
                    "after the first datagram (flow timeout 1 s; shared machine: noisy)\n",
            workers, (unsigned long long)(ef_mono_ms() - t0));

    stop(&r);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %d", r.status);
    char *o = eft_read_file(r.out, NULL);
    ck_assert_msg(o && strstr(o, "earlyflow run summary (interrupted)"), "stdout: %s", o);
    free(o);
    eve_t *e = eve_read(r.eve);
    ck_assert_uint_eq(eve_count(e, "stats"), 1);
    const ef_json_value_t *last = e->ev[e->n - 1];
    ck_assert(is_type(last, "stats"));
    ck_assert_uint_eq(ju64(last, "stats.flow.ended.timeout"), 2);
    ck_assert_uint_eq(ju64(last, "stats.flow.ended.shutdown"), 0);
    ck_assert_uint_eq(ju64(last, "stats.decoder.pkts"), 6);
    eve_free(e);
    close(rx);
    finish(&r);
}

START_TEST(one_worker_idle_flows_reach_eve)
{
    idle_flows_reach_eve(1);
}
END_TEST

START_TEST(two_workers_idle_flows_reach_eve)
{
    idle_flows_reach_eve(2);
}
END_TEST

/* The periodic flush meets a full disk: the error is kept, the run goes on
 * until SIGINT and then exits 1 naming the file. */
START_TEST(full_disk_in_live_mode)
{
    char *cdir = eft_mkdtemp("run-live-full");
    write_text(cdir, "full.yaml", "earlyflow:\n  eve: {filename: /dev/full}\n");
    char *cfg = eft_path(cdir, "full.yaml");
    const char *args[] = {"-c", cfg};
    live_run_t r;
    start(&r, 3, args, 2);
    int rx = receiver(r.port);
    send_two_flows(r.port);
    sleep_ms(3000); /* the flows time out, their lines go to the full disk */
    ck_assert_msg(running(&r), "earlyflow run ended on its own (status %d)", r.status);
    stop(&r);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1, "status %d", r.status);
    char *e = eft_read_file(r.err, NULL), *o = eft_read_file(r.out, NULL);
    ck_assert_msg(e && strstr(e, "earlyflow run: /dev/full: EVE write failed: No space left on "
                                 "device"), "stderr: %s", e);
    const char *v = o ? strstr(o, "\n  verdicts ") : NULL;
    unsigned long verdicts = 0;
    ck_assert_msg(v && sscanf(v, "\n  verdicts %lu", &verdicts) == 1, "stdout: %s", o);
    ck_assert_uint_eq(verdicts, 2);
    free(e);
    free(o);
    close(rx);
    finish(&r);
    eft_rmtree(cdir);
    free(cdir);
    free(cfg);
}
END_TEST

int main(void)
{
    ef_err_t err = {{0}};
    ef_capture_t *probe = ef_capture_open_live("lo", NULL, 0, &err);
    if (!probe) {
        fprintf(stderr, "test_run_live_idle: skipped, cannot capture on lo: %s\n", err.msg);
        return 77;
    }
    ef_capture_close(probe);
    Suite *s = suite_create("run_live_idle");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, one_worker_idle_flows_reach_eve);
    tcase_add_test(tc, two_workers_idle_flows_reach_eve);
    tcase_add_test(tc, full_disk_in_live_mode);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
