/* `earlyflow collect` end to end: captures written here with pktbuild, the
 * real binary run on them, the exact CSV text checked (sizes, times, c2s,
 * labels from a MAWILab file written here, join priorities, --label, --pad,
 * --extended), and every bad input's message and exit status. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eftest.h"
#include "pktbuild.h"

#define T0 1000000000ull /* 1000 s after the epoch, in microseconds */
#define HDR10 "anomalyID, srcIP, srcPort, dstIP, dstPort, taxonomy, heuristic, distance, " \
              "nbDetectors, label\n"

static char *tmpdir;

static void setup(void)
{
    tmpdir = eft_mkdtemp("collect");
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    eft_rmtree(tmpdir);
    free(tmpdir);
}

static char *tpath(const char *name)
{
    return eft_path(tmpdir, name);
}

static void write_text(const char *name, const char *text)
{
    char *p = tpath(name);
    ck_assert_int_eq(eft_write_file(p, text, strlen(text)), 0);
    free(p);
}

/* Run `earlyflow collect <args>` (args formatted, relative paths inside
 * tmpdir). */
static int collect(char **out, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args = NULL;
    ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
    va_end(ap);
    char *cmd = NULL;
    ck_assert_int_ge(asprintf(&cmd, "cd '%s' && '%s' collect %s", tmpdir, eft_bin(), args), 0);
    int rc = eft_run(cmd, out, err);
    free(cmd);
    free(args);
    return rc;
}

static void expect_one_line_rc(int want_rc, const char *fmt, const char *arg,
                               const char *prefix)
{
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, fmt, arg), want_rc);
    ck_assert_msg(!strncmp(err, prefix, strlen(prefix)), "%s", err);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "more than one line: %s", err);
    free(err);
}

static char *read_out(const char *name)
{
    char *p = tpath(name);
    char *text = eft_read_file(p, NULL);
    free(p);
    return text;
}

/* Entries in tmpdir/dir (0 when it does not exist). */
static int entries(const char *dir)
{
    char *cmd = NULL, *out = NULL;
    ck_assert_int_ge(asprintf(&cmd, "ls -A '%s/%s' 2>/dev/null | wc -l", tmpdir, dir), 0);
    eft_run(cmd, &out, NULL);
    int n = out ? atoi(out) : -1;
    free(cmd);
    free(out);
    return n;
}

/* The basic capture, Ethernet, three flows ten seconds apart (so each has
 * ended before the next starts, whatever the timeouts' granularity):
 *   A  TCP 10.0.0.1:40000 -> 10.0.0.2:80, full session, 1 ms apart:
 *      SYN 40, SYN+ACK 40, ACK 40, 140 (100 B request), 240 (200 B reply),
 *      FIN 40, FIN 40, ACK 40; directions 1 0 1 1 0 1 0 1
 *   B  UDP 10.0.0.3:5353 -> 10.0.0.4:53: 38 c->s, +500 us 78 s->c,
 *      +250 ms 38 c->s
 *   C  ICMP echo request 10.0.0.5 -> 10.0.0.6, one packet of 36 bytes */
static void write_basic(const char *name)
{
    char *p = tpath(name);
    pb_writer_t *w = pb_writer_open(p, PB_DLT_EN10MB, 0);
    ck_assert_ptr_nonnull(w);
    pb_flow_t a, b, c;
    ck_assert_int_eq(pb_flow_init(&a, 6, "10.0.0.1", 40000, "10.0.0.2", 80), 0);
    ck_assert_int_eq(pb_tcp_session(w, &a, T0, 1000, 1, 100, 200), 8);
    ck_assert_int_eq(pb_flow_init(&b, 17, "10.0.0.3", 5353, "10.0.0.4", 53), 0);
    ck_assert_int_eq(pb_flow_write(w, &b, T0 + 10000000, PB_C2S, 0, NULL, 10), 0);
    ck_assert_int_eq(pb_flow_write(w, &b, T0 + 10000500, PB_S2C, 0, NULL, 50), 0);
    ck_assert_int_eq(pb_flow_write(w, &b, T0 + 10250500, PB_C2S, 0, NULL, 10), 0);
    ck_assert_int_eq(pb_flow_init(&c, 1, "10.0.0.5", 7, "10.0.0.6", 0), 0);
    ck_assert_int_eq(pb_flow_write(w, &c, T0 + 20000000, PB_C2S, 0, NULL, 8), 0);
    ck_assert_int_eq(pb_writer_close(w), 0);
    free(p);
}

/* Rules for the basic capture, exercising the priorities:
 *  A matches line 2 (dst IP), line 3 (dst IP + dst port) and line 4 (src IP +
 *    dst IP): the {src IP, dst IP} pair outranks {dst IP, dst port} although
 *    it comes later -> HTTP.
 *  B matches line 5 (dst port only) and line 6 (dst IP + dst port) -> DoS.
 *  C matches line 7 only reversed (rule src = C's server) -> Other, "rev". */
static const char basic_labels[] =
    HDR10
    "1,,,10.0.0.2,,ntscSYN,10,0.1,3,anomalous\n"
    "2,,,10.0.0.2,80,alphfl,,0.2,3,anomalous\n"
    "3,10.0.0.1,,10.0.0.2,,ptmpHTTP,503,0.3,4,suspicious\n"
    "4,,,,53,ntscUDP,,0.4,1,notice\n"
    "5,,,10.0.0.4,53,rflatNTP,,0.5,2,anomalous\n"
    "6,10.0.0.6,,10.0.0.5,,icmp_error,20,0.6,2,suspicious\n";

START_TEST(rows_and_labels)
{
    write_basic("basic.pcap");
    write_text("labels.csv", basic_labels);
    char *err = NULL;
    int rc = collect(NULL, &err, "-r basic.pcap --labels labels.csv -k 3,5 -o out --no-ndpi");
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    char *k3 = read_out("out/basic_K_3.csv");
    char *k5 = read_out("out/basic_K_5.csv");
    ck_assert_str_eq(k3, "pktSize1,pktSize2,pktSize3,pktTime1,pktTime2,pktTime3,c2s,"
                         "taxonomy label\n"
                         "40,40,40,0.000000,0.001000,0.001000,2,HTTP\n"
                         "38,78,38,0.000000,0.000500,0.250000,2,DoS\n");
    ck_assert_str_eq(k5, "pktSize1,pktSize2,pktSize3,pktSize4,pktSize5,pktTime1,pktTime2,"
                         "pktTime3,pktTime4,pktTime5,c2s,taxonomy label\n"
                         "40,40,40,140,240,0.000000,0.001000,0.001000,0.001000,0.001000,3,"
                         "HTTP\n");
    ck_assert_int_eq(entries("out"), 2); /* no temporary files left */
    /* The summary: per-label flows and rows per k, inputs, malformed. */
    ck_assert_ptr_nonnull(strstr(err, "labels labels.csv: 6 rules, 6 anomalies\n"));
    ck_assert_ptr_nonnull(strstr(err, "  label             flows        K_3        K_5\n"
                                      "  HTTP                  1          1          1\n"
                                      "  DoS                   1          1          0\n"
                                      "  Other                 1          0          0\n"
                                      "  total                 3          2          1\n"));
    ck_assert_ptr_nonnull(strstr(err, "basic.pcap"));
    ck_assert_ptr_nonnull(strstr(err, "malformed packets: 0\n"));
    free(k3);
    free(k5);
    free(err);
}
END_TEST

START_TEST(nine_field_labels_and_default_ks)
{
    write_basic("basic.pcap");
    /* The published variant: header of 10 names, rows of 9 fields. */
    write_text("l9.csv", HDR10 "0,,,10.0.0.4,,DDoSUDP,0.23108,6,anomalous\n");
    char *err = NULL;
    int rc = collect(NULL, &err, "-r basic.pcap --labels l9.csv -o out --no-ndpi --name day");
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(entries("out"), 4);
    char *k3 = read_out("out/day_K_3.csv");
    ck_assert_ptr_nonnull(strstr(k3, "\n40,40,40,0.000000,0.001000,0.001000,2,Unlabeled\n"
                                     "38,78,38,0.000000,0.000500,0.250000,2,DoS\n"));
    char *k20 = read_out("out/day_K_20.csv");
    ck_assert_ptr_nonnull(k20);
    ck_assert_ptr_null(strchr(k20, '\n') ? strchr(strchr(k20, '\n') + 1, '\n') : NULL);
    ck_assert_ptr_nonnull(strstr(err, "1 rules, 1 anomalies (rows without heuristic)"));
    free(k3);
    free(k20);
    free(err);
}
END_TEST

START_TEST(fixed_label_and_padding)
{
    write_basic("basic.pcap");
    char *err = NULL;
    int rc = collect(NULL, &err, "-r basic.pcap --label NetworkScan -k 4 --pad -o out --no-ndpi");
    ck_assert_msg(rc == 0, "%s", err);
    char *k4 = read_out("out/basic_K_4.csv");
    ck_assert_str_eq(k4, "pktSize1,pktSize2,pktSize3,pktSize4,pktTime1,pktTime2,pktTime3,"
                         "pktTime4,c2s,taxonomy label\n"
                         "40,40,40,140,0.000000,0.001000,0.001000,0.001000,3,NetworkScan\n"
                         "38,78,38,0,0.000000,0.000500,0.250000,0.000000,2,NetworkScan\n"
                         "36,0,0,0,0.000000,0.000000,0.000000,0.000000,1,NetworkScan\n");
    free(k4);
    free(err);
}
END_TEST

/* Replace column `col` (0-based) of every data row with "ID". */
static void mask_column(char *text, int col, char *out)
{
    const char *p = strchr(text, '\n') + 1;
    size_t o = (size_t)(p - text);
    memcpy(out, text, o);
    while (*p) {
        int c = 0;
        while (*p && *p != '\n') {
            if (*p == ',') {
                c++;
                out[o++] = *p++;
                if (c == col) {
                    memcpy(out + o, "ID", 2);
                    o += 2;
                    while (*p && *p != ',' && *p != '\n')
                        p++;
                }
                continue;
            }
            out[o++] = *p++;
        }
        if (*p)
            out[o++] = *p++;
    }
    out[o] = '\0';
}

START_TEST(extended_columns)
{
    write_basic("basic.pcap");
    write_text("labels.csv", basic_labels);
    char *err = NULL;
    int rc = collect(NULL, &err,
                     "-r basic.pcap --labels labels.csv -k 1 --extended -o out --no-ndpi");
    ck_assert_msg(rc == 0, "%s", err);
    char *k1 = read_out("out/basic_K_1.csv");
    char masked[4096];
    ck_assert_uint_lt(strlen(k1), sizeof masked - 64);
    mask_column(k1, 4, masked); /* flow_id: a hash, checked for presence below */
    ck_assert_str_eq(masked,
        "pktSize1,pktTime1,c2s,taxonomy label,flow_id,proto,src_ip,src_port,dst_ip,dst_port,"
        "start_time,dirs,flow_pkts,end_reason,ndpi_proto,mawilab_code,mawilab_heuristic,"
        "mawilab_distance,mawilab_detectors,mawilab_label,mawilab_anomaly_id,mawilab_dir\n"
        "40,0.000000,1,HTTP,ID,6,10.0.0.1,40000,10.0.0.2,80,1000.000000,1,8,fin,,ptmpHTTP,503,"
        "0.3,4,suspicious,3,fwd\n"
        "38,0.000000,1,DoS,ID,17,10.0.0.3,5353,10.0.0.4,53,1010.000000,1,3,timeout,,rflatNTP,,"
        "0.5,2,anomalous,5,fwd\n"
        "36,0.000000,1,Other,ID,1,10.0.0.5,,10.0.0.6,,1020.000000,1,1,shutdown,,icmp_error,20,"
        "0.6,2,suspicious,6,rev\n");
    /* Flow ids are decimal and differ. */
    unsigned long long id[3];
    const char *p = k1;
    for (int i = 0; i < 3; i++) {
        p = strchr(p, '\n') + 1;
        ck_assert_int_eq(sscanf(p, "%*[^,],%*[^,],%*[^,],%*[^,],%llu,", &id[i]), 1);
    }
    ck_assert(id[0] != id[1] && id[1] != id[2] && id[0] != id[2]);
    free(k1);
    free(err);
}
END_TEST

/* A DNS query nDPI recognises from its payload. */
static const uint8_t dns_query[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01,
};

START_TEST(ndpi_names_the_application)
{
    char *p = tpath("dns.pcap");
    pb_writer_t *w = pb_writer_open(p, PB_DLT_EN10MB, 0);
    pb_flow_t fl;
    ck_assert_int_eq(pb_flow_init(&fl, 17, "10.0.0.3", 40000, "10.0.0.4", 53), 0);
    ck_assert_int_eq(pb_flow_write(w, &fl, T0, PB_C2S, 0, dns_query, sizeof dns_query), 0);
    ck_assert_int_eq(pb_writer_close(w), 0);
    free(p);
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, "-r dns.pcap -k 1 --extended -o out"), 0);
    char *k1 = read_out("out/dns_K_1.csv");
    ck_assert_msg(strstr(k1, ",shutdown,DNS,,,,,,,\n") != NULL, "%s", k1);
    free(k1);
    free(err);
    /* --no-ndpi leaves the column empty. */
    ck_assert_int_eq(collect(NULL, &err, "-r dns.pcap -k 1 --extended -o out2 --no-ndpi"), 0);
    k1 = read_out("out2/dns_K_1.csv");
    ck_assert_ptr_nonnull(strstr(k1, ",shutdown,,,,,,,,\n"));
    free(k1);
    free(err);
}
END_TEST

/* Two captures of one UDP flow's halves. In time order they continue each
 * other: one flow of 4 packets. When the second file is older by more than
 * the longest timeout, they are unrelated captures: two flows of 2 packets.
 * Older by less (jitter between chunks of one trace): one flow. */
static void write_half(const char *name, uint64_t t)
{
    char *p = tpath(name);
    pb_writer_t *w = pb_writer_open(p, PB_DLT_EN10MB, 0);
    pb_flow_t fl;
    ck_assert_int_eq(pb_flow_init(&fl, 17, "10.0.0.3", 5353, "10.0.0.4", 53), 0);
    ck_assert_int_eq(pb_flow_write(w, &fl, t, PB_C2S, 0, NULL, 10), 0);
    ck_assert_int_eq(pb_flow_write(w, &fl, t + 100, PB_S2C, 0, NULL, 20), 0);
    ck_assert_int_eq(pb_writer_close(w), 0);
    free(p);
}

START_TEST(several_inputs_and_directories)
{
    char *in = tpath("in");
    ck_assert_int_eq(mkdir(in, 0755), 0);
    free(in);
    write_half("in/a.pcap", T0);
    write_half("in/b.pcap", T0 + 200);
    write_half("c.pcap", T0 + 200 - 5000000); /* 5 s older than b */
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, "-r in -k 2,4 -o out --no-ndpi"), 0);
    char *k4 = read_out("out/in_K_4.csv");
    ck_assert_str_eq(strchr(k4, '\n') + 1,
                     "38,48,38,48,0.000000,0.000100,0.000100,0.000100,2,Unlabeled\n");
    free(k4);
    free(err);
    /* b, then c (5 s older: beyond the 1 s timeout): two flows. */
    ck_assert_int_eq(collect(NULL, &err, "-r in/b.pcap -r c.pcap -k 2,4 -o out2 --no-ndpi"), 0);
    char *k2 = read_out("out2/b_K_2.csv");
    ck_assert_str_eq(strchr(k2, '\n') + 1, "38,48,0.000000,0.000100,1,Unlabeled\n"
                                           "38,48,0.000000,0.000100,1,Unlabeled\n");
    k4 = read_out("out2/b_K_4.csv");
    ck_assert_str_eq(strchr(k4, '\n'), "\n");
    free(k2);
    free(k4);
    free(err);
    /* The same with a 10 s timeout: c is within reach, the flow continues
     * (c's packets are stamped earlier: inter-arrival 0, see features.h). */
    ck_assert_int_eq(collect(NULL, &err, "-r in/b.pcap -r c.pcap -k 4 -o out3 --no-ndpi "
                                         "--timeout 10"), 0);
    k4 = read_out("out3/b_K_4.csv");
    ck_assert_str_eq(strchr(k4, '\n') + 1,
                     "38,48,38,48,0.000000,0.000100,0.000000,0.000000,2,Unlabeled\n");
    free(k4);
    free(err);
}
END_TEST

/* A table too small for the trace evicts; evicted flows still get rows,
 * and the summary's count agrees with the rows' end_reason. */
START_TEST(small_memcap_evicts)
{
    char *p = tpath("many.pcap");
    pb_writer_t *w = pb_writer_open(p, PB_DLT_EN10MB, 0);
    for (int i = 0; i < 300; i++) {
        pb_flow_t fl;
        ck_assert_int_eq(pb_flow_init(&fl, 17, "10.1.0.1", (uint16_t)(10000 + i), "10.2.0.2", 53),
                         0);
        ck_assert_int_eq(pb_flow_write(w, &fl, T0 + 1000ull * (uint64_t)i, PB_C2S, 0, NULL, 4), 0);
    }
    ck_assert_int_eq(pb_writer_close(w), 0);
    free(p);
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, "-r many.pcap -k 1 --extended -o out --no-ndpi "
                                         "--memcap 240K"), 0);
    unsigned long long ev = 0;
    const char *e = strstr(err, "  evictions: ");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(sscanf(e, "  evictions: %llu;", &ev), 1);
    ck_assert_uint_gt(ev, 0);
    char *k1 = read_out("out/many_K_1.csv");
    unsigned long long rows = 0, evicted = 0;
    for (const char *q = strchr(k1, '\n') + 1; *q; q = strchr(q, '\n') + 1) {
        rows++;
        const char *nl = strchr(q, '\n');
        const char *hit = strstr(q, ",evicted,");
        evicted += hit && hit < nl;
    }
    ck_assert_uint_eq(rows, 300);
    ck_assert_uint_eq(evicted, ev);
    free(k1);
    free(err);
    /* A memcap that holds no flow at all is refused, naming the problem. */
    expect_one_line_rc(1, "-r many.pcap -o out2 --memcap %s --no-ndpi", "1",
                       "earlyflow collect: flow table: memcap 1 bytes holds no flow");
}
END_TEST

START_TEST(progress_bar_when_forced)
{
    write_basic("basic.pcap");
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, "-r basic.pcap -o out --no-ndpi --progress"), 0);
    ck_assert_ptr_nonnull(strstr(err, "collect [####################] 100%"));
    free(err);
    /* Not a terminal, not forced: no bar. */
    ck_assert_int_eq(collect(NULL, &err, "-r basic.pcap -o out2 --no-ndpi"), 0);
    ck_assert_ptr_null(strstr(err, "####"));
    free(err);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad input: one line naming the file, status 1 (2 for usage), no CSV.     */

static void expect_failure(int want_rc, const char *want_err, const char *fmt, const char *arg)
{
    char *err = NULL, *out = NULL;
    int rc = collect(&out, &err, fmt, arg);
    ck_assert_msg(rc == want_rc, "rc %d, stderr: %s", rc, err);
    ck_assert_msg(strstr(err, want_err) != NULL, "stderr lacks '%s': %s", want_err, err);
    ck_assert_int_eq(entries("out"), 0);
    free(err);
    free(out);
}

/* The error is the first stderr line and there is only one line. */
static void expect_one_line(const char *fmt, const char *arg, const char *prefix)
{
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, fmt, arg), 1);
    ck_assert_msg(!strncmp(err, prefix, strlen(prefix)), "%s", err);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "more than one line: %s", err);
    free(err);
}

START_TEST(not_a_capture)
{
    write_text("notes.txt", "this is not a capture file, just some text\n");
    expect_one_line("-r %s -o out --no-ndpi", "notes.txt", "earlyflow collect: notes.txt: ");
    ck_assert_int_eq(entries("out"), 0);
    write_text("empty.pcap", "");
    expect_one_line("-r %s -o out --no-ndpi", "empty.pcap", "earlyflow collect: empty.pcap: ");
    ck_assert_int_eq(entries("out"), 0);
    expect_one_line("-r %s -o out --no-ndpi", "missing.pcap",
                    "earlyflow collect: missing.pcap: ");
    /* --keep-going: the bad file is reported, the good one collected. */
    write_basic("basic.pcap");
    char *err = NULL;
    ck_assert_int_eq(collect(NULL, &err, "-r notes.txt -r basic.pcap -k 3 -o out --no-ndpi "
                                         "--keep-going"), 0);
    ck_assert_ptr_nonnull(strstr(err, "earlyflow collect: notes.txt: "));
    ck_assert_ptr_nonnull(strstr(err, "(skipping the rest of this input: --keep-going)\n"));
    ck_assert_ptr_nonnull(strstr(err, "earlyflow collect: 1 input could not be read "
                                      "completely\n"));
    char *k3 = read_out("out/notes.txt_K_3.csv"); /* NAME: only capture extensions go */
    ck_assert_str_eq(strchr(k3, '\n') + 1, "40,40,40,0.000000,0.001000,0.001000,2,Unlabeled\n"
                                           "38,78,38,0.000000,0.000500,0.250000,2,Unlabeled\n");
    free(k3);
    free(err);
}
END_TEST

START_TEST(capture_without_packets)
{
    char *p = tpath("none.pcap");
    pb_writer_t *w = pb_writer_open(p, PB_DLT_EN10MB, 0);
    ck_assert_int_eq(pb_writer_close(w), 0);
    free(p);
    expect_failure(1, "earlyflow collect: none.pcap: expected packets, the capture holds none\n",
                   "-r %s -o out --no-ndpi", "none.pcap");
}
END_TEST

START_TEST(truncated_capture)
{
    write_basic("basic.pcap");
    size_t len;
    char *p = tpath("basic.pcap"), *data = eft_read_file(p, &len);
    char *q = tpath("cut.pcap");
    ck_assert_int_eq(eft_write_file(q, data, len - 10), 0); /* last record cut short */
    expect_failure(1, "earlyflow collect: cut.pcap: ", "-r %s -o out --no-ndpi", "cut.pcap");
    char *err = NULL;
    collect(NULL, &err, "-r cut.pcap -o out --no-ndpi");
    ck_assert_msg(strstr(err, "byte") != NULL, "no offset in: %s", err); /* names the offset */
    free(err);
    /* --keep-going: the packets before the cut still make rows. */
    ck_assert_int_eq(collect(NULL, &err, "-r cut.pcap -k 3 -o out --no-ndpi --keep-going"), 0);
    ck_assert_ptr_nonnull(strstr(err, "cut.pcap: "));
    ck_assert_ptr_nonnull(strstr(err, "--keep-going"));
    char *k3 = read_out("out/cut_K_3.csv");
    ck_assert_ptr_nonnull(strstr(k3, "\n38,78,38,0.000000,0.000500,0.250000,2,Unlabeled\n"));
    free(k3);
    free(err);
    free(data);
    free(p);
    free(q);
}
END_TEST

START_TEST(pcapng_libpcap_cannot_read)
{
    /* Two interfaces with different link types: libpcap refuses. */
    char *p = tpath("multi.pcapng");
    pb_ng_t *w = pb_ng_open(p);
    ck_assert_ptr_nonnull(w);
    int i0 = pb_ng_interface(w, PB_DLT_EN10MB);
    int i1 = pb_ng_interface(w, PB_DLT_RAW);
    pb_frame_t *f = malloc(sizeof *f);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "10.0.0.1", 1, "10.0.0.2", 2);
    pb_flow_frame(f, PB_DLT_EN10MB, &fl, PB_C2S, 0, NULL, 4);
    ck_assert_int_eq(pb_ng_packet(w, i0, T0, f->data, f->len), 0);
    pb_flow_frame(f, PB_DLT_RAW, &fl, PB_C2S, 0, NULL, 4);
    ck_assert_int_eq(pb_ng_packet(w, i1, T0 + 1, f->data, f->len), 0);
    ck_assert_int_eq(pb_ng_close(w), 0);
    free(f);
    free(p);
    expect_failure(1, "earlyflow collect: multi.pcapng: ", "-r %s -o out --no-ndpi",
                   "multi.pcapng");

    const char *shared = eft_shared_data();
    if (!shared) {
        fprintf(stderr, "skip: shared data absent, cyanivde_traceroute.pcapng not tried\n");
        return;
    }
    char *real = eft_path(shared, "misc-traceroute/cyanivde_traceroute.pcapng");
    struct stat st;
    if (stat(real, &st) == 0) {
        char *want = NULL;
        ck_assert_int_ge(asprintf(&want, "earlyflow collect: %s: ", real), 0);
        expect_failure(1, want, "-r %s -o out --no-ndpi", real);
        free(want);
    }
    free(real);
}
END_TEST

START_TEST(bad_label_file)
{
    write_basic("basic.pcap");
    write_text("bad.csv", HDR10 "1,,,10.0.0.2,,ntscSYN,10,0.1,3,anomalous\n"
                                "2,,,10.0.0.300,,ntscSYN,10,0.1,3,anomalous\n");
    expect_failure(1, "earlyflow collect: bad.csv:3: expected dstIP as an IPv4 or IPv6 "
                      "address, got '10.0.0.300'\n",
                   "-r basic.pcap --labels %s -o out --no-ndpi", "bad.csv");
    expect_failure(1, "earlyflow collect: nope.csv: cannot open label file: No such file",
                   "-r basic.pcap --labels %s -o out --no-ndpi", "nope.csv");
}
END_TEST

START_TEST(unwritable_output)
{
    write_basic("basic.pcap");
    write_text("plainfile", "x");
    expect_one_line("-r basic.pcap -o %s --no-ndpi", "plainfile",
                    "earlyflow collect: plainfile: expected an output directory, found a file\n");
    expect_one_line("-r basic.pcap -o %s --no-ndpi", "no/such/dir",
                    "earlyflow collect: no/such/dir: cannot create output directory: No such "
                    "file or directory\n");
    /* /proc takes no new files, not even from root. */
    expect_one_line("-r basic.pcap -o %s --no-ndpi", "/proc",
                    "earlyflow collect: /proc/basic_K_3.csv: cannot create output file: ");
    if (geteuid() != 0) {
        char *ro = tpath("ro");
        ck_assert_int_eq(mkdir(ro, 0555), 0);
        expect_one_line("-r basic.pcap -o %s --no-ndpi", "ro",
                        "earlyflow collect: ro/basic_K_3.csv: cannot create output file: "
                        "Permission denied\n");
        free(ro);
    }
}
END_TEST

START_TEST(usage_errors)
{
    write_basic("basic.pcap");
    static const char *const bad_k[] = {"3,x", "0", "21", "3,3", "3,", ",3", "", "3;5"};
    for (size_t i = 0; i < sizeof bad_k / sizeof bad_k[0]; i++) {
        char *arg = NULL;
        ck_assert_int_ge(asprintf(&arg, "-r basic.pcap -o out -k '%s'", bad_k[i]), 0);
        expect_failure(2, "earlyflow collect: -k: expected distinct packet counts 1-20", "%s",
                       arg);
        free(arg);
    }
    expect_failure(2, "--label and --labels exclude each other", "%s",
                   "-r basic.pcap -o out --label DoS --labels x.csv");
    expect_failure(2, "--label: expected one of Unlabeled, HTTP", "%s",
                   "-r basic.pcap -o out --label dos");
    expect_failure(2, "no input", "%s", "-o out");
    expect_failure(2, "no output directory", "%s", "-r basic.pcap");
    expect_failure(2, "timeout: expected seconds", "%s", "-r basic.pcap -o out --timeout 0");
    expect_failure(2, "timeout: expected seconds", "%s", "-r basic.pcap -o out --timeout-est x");
    expect_failure(2, "--memcap: expected a byte count", "%s", "-r basic.pcap -o out --memcap 1T");
    expect_failure(2, "unknown option '--bogus'", "%s", "-r basic.pcap -o out --bogus");
    expect_failure(2, "unexpected argument 'basic.pcap'", "%s", "-o out basic.pcap");
    expect_failure(2, "--name: expected a file name prefix", "%s",
                   "-r basic.pcap -o out --name a/b");
    char *out = NULL;
    ck_assert_int_eq(collect(&out, NULL, "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: earlyflow collect"));
    free(out);
}
END_TEST

START_TEST(interrupted_run_leaves_no_csv)
{
    write_basic("basic.pcap");
    /* stdin stays open after the capture's bytes, so collect blocks in read
     * until SIGINT arrives. */
    char *err = NULL;
    int rc;
    char *cmd = NULL;
    ck_assert_int_ge(asprintf(&cmd, "cd '%s' && (cat basic.pcap; sleep 2) | "
                              "timeout --preserve-status -s INT 0.5 "
                              "'%s' collect -r - -o out --no-ndpi", tmpdir, eft_bin()), 0);
    rc = eft_run(cmd, NULL, &err);
    ck_assert_msg(rc == 130, "rc %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "interrupted; no CSV written"));
    ck_assert_int_eq(entries("out"), 0);
    free(cmd);
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("collect");
    TCase *tc = tcase_create("output");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rows_and_labels);
    tcase_add_test(tc, nine_field_labels_and_default_ks);
    tcase_add_test(tc, fixed_label_and_padding);
    tcase_add_test(tc, extended_columns);
    tcase_add_test(tc, ndpi_names_the_application);
    tcase_add_test(tc, several_inputs_and_directories);
    tcase_add_test(tc, small_memcap_evicts);
    tcase_add_test(tc, progress_bar_when_forced);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("bad_input");
    tcase_set_timeout(tb, 60);
    tcase_add_checked_fixture(tb, setup, teardown);
    tcase_add_test(tb, not_a_capture);
    tcase_add_test(tb, capture_without_packets);
    tcase_add_test(tb, truncated_capture);
    tcase_add_test(tb, pcapng_libpcap_cannot_read);
    tcase_add_test(tb, bad_label_file);
    tcase_add_test(tb, unwritable_output);
    tcase_add_test(tb, usage_errors);
    tcase_add_test(tb, interrupted_run_leaves_no_csv);
    suite_add_tcase(s, tb);
    return eft_run_suite(s);
}
