/* MAWILab label files: both layouts, validation with file:line, and every
 * join rule (specificity, field rank, line order, direction, IPv6, ports). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/mawilab.h"
#include "eftest.h"

#define HDR10 "anomalyID, srcIP, srcPort, dstIP, dstPort, taxonomy, heuristic, distance, " \
              "nbDetectors, label\n"

static char *tmpdir;

static void setup(void)
{
    tmpdir = eft_mkdtemp("mawilab");
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    eft_rmtree(tmpdir);
    free(tmpdir);
}

/* Write `text` to tmpdir/name; returns the path (freed by the caller). */
static char *write_labels(const char *name, const char *text)
{
    char *p = eft_path(tmpdir, name);
    ck_assert_int_eq(eft_write_file(p, text, strlen(text)), 0);
    return p;
}

static ef_mawilab_t *load_text(const char *text)
{
    char *p = write_labels("labels.csv", text);
    ef_err_t err = {{0}};
    const char *paths[] = {p};
    ef_mawilab_t *m = ef_mawilab_load(paths, 1, &err);
    ck_assert_msg(m != NULL, "load failed: %s", err.msg);
    free(p);
    return m;
}

/* Loading must fail with exactly "<path>:<rest>". */
static void expect_error(const char *text, const char *rest)
{
    char *p = write_labels("bad.csv", text);
    ef_err_t err = {{0}};
    const char *paths[] = {p};
    ef_mawilab_t *m = ef_mawilab_load(paths, 1, &err);
    ck_assert_ptr_null(m);
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s:%s", p, rest), 0);
    ck_assert_str_eq(err.msg, want);
    free(want);
    free(p);
}

typedef struct flow_spec {
    uint8_t cli[16], srv[16];
    ef_mawilab_flow_t f;
} flow_spec_t;

static void make_flow(flow_spec_t *fs, const char *cli, int cport, const char *srv, int sport)
{
    memset(fs, 0, sizeof *fs);
    int v6 = strchr(cli, ':') != NULL;
    ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, cli, fs->cli), 1);
    ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, srv, fs->srv), 1);
    fs->f.client_addr = fs->cli;
    fs->f.server_addr = fs->srv;
    fs->f.ip_version = v6 ? 6 : 4;
    fs->f.has_ports = cport >= 0;
    fs->f.client_port = (uint16_t)(cport < 0 ? 0 : cport);
    fs->f.server_port = (uint16_t)(sport < 0 ? 0 : sport);
}

/* Line of the winning rule for a flow, 0 when unlabeled; *reversed set. */
static uint32_t winner(const ef_mawilab_t *m, const char *cli, int cport, const char *srv,
                       int sport, int *reversed)
{
    flow_spec_t fs;
    make_flow(&fs, cli, cport, srv, sport);
    ef_mawilab_match_t mt;
    ef_mawilab_match(m, &fs.f, &mt);
    if (reversed)
        *reversed = mt.reversed;
    if (!mt.rule) {
        ck_assert_int_eq(mt.category, EF_CAT_UNLABELED);
        return 0;
    }
    ck_assert_int_eq(mt.category, mt.rule->category);
    return mt.rule->line;
}

START_TEST(header_with_spaces_ten_fields)
{
    ef_mawilab_t *m = load_text(HDR10
        "7,10.0.0.1,1234,10.0.0.2,80,ptmpHTTP,503,0.5,4,anomalous\n"
        "8,,,10.0.0.9,,ntscSYN139445,10,-0.25,3,suspicious\n"
        "9,10.0.0.3,,,,alphfl,,,,notice\n");
    ck_assert_uint_eq(ef_mawilab_rule_count(m), 3);
    const ef_mawilab_rule_t *r = ef_mawilab_rule(m, 0);
    ck_assert_uint_eq(r->anomaly_id, 7);
    ck_assert_uint_eq(r->line, 2);
    ck_assert_int_eq(r->fields, EF_MAWILAB_F_SRC | EF_MAWILAB_F_DST | EF_MAWILAB_F_SPORT |
                                    EF_MAWILAB_F_DPORT);
    ck_assert_int_eq(r->ip_version, 4);
    ck_assert_int_eq(r->sport, 1234);
    ck_assert_int_eq(r->dport, 80);
    ck_assert_str_eq(r->code, "ptmpHTTP");
    ck_assert_int_eq(r->category, EF_CAT_HTTP);
    ck_assert_int_eq(r->heuristic, 503);
    ck_assert_str_eq(r->distance, "0.5");
    ck_assert_int_eq(r->nb_detectors, 4);
    ck_assert_int_eq(r->label, EF_MAWILAB_ANOMALOUS);
    r = ef_mawilab_rule(m, 1);
    ck_assert_int_eq(r->fields, EF_MAWILAB_F_DST);
    ck_assert_int_eq(r->category, EF_CAT_NETWORKSCAN);
    ck_assert_str_eq(r->distance, "-0.25");
    ck_assert_int_eq(r->label, EF_MAWILAB_SUSPICIOUS);
    r = ef_mawilab_rule(m, 2);
    ck_assert_int_eq(r->heuristic, -1);
    ck_assert_int_eq(r->nb_detectors, -1);
    ck_assert_str_eq(r->distance, "");
    ck_assert_int_eq(r->label, EF_MAWILAB_NOTICE);
    ck_assert_str_eq(ef_mawilab_label_name(r->label), "notice");
    ck_assert_ptr_null(ef_mawilab_rule(m, 3));
    ef_mawilab_file_info_t fi;
    ck_assert_int_eq(ef_mawilab_file_count(m), 1);
    ck_assert_int_eq(ef_mawilab_file_info(m, 0, &fi), 0);
    ck_assert_int_eq(fi.has_heuristic, 1);
    ck_assert_uint_eq(fi.rules, 3);
    ck_assert_uint_eq(fi.anomalies, 3);
    ck_assert_int_eq(ef_mawilab_file_info(m, 1, &fi), -1);
    ef_mawilab_free(m);
}
END_TEST

/* The published variant: 10 names in the header, 9 fields per row. */
START_TEST(nine_field_rows_lack_heuristic)
{
    ef_mawilab_t *m = load_text(HDR10
        "0,192.0.2.1,,198.51.100.7,,ipv4gretun,0.23108,6,anomalous\r\n"
        "0,192.0.2.1,,198.51.100.8,,ipv4gretun,0.23108,6,anomalous\r\n"
        "1,,,203.0.113.5,1433,ntscSYN,0.02434,3,suspicious\r\n");
    ck_assert_uint_eq(ef_mawilab_rule_count(m), 3);
    const ef_mawilab_rule_t *r = ef_mawilab_rule(m, 0);
    ck_assert_str_eq(r->code, "ipv4gretun");
    ck_assert_int_eq(r->category, EF_CAT_IPV6TUNNEL);
    ck_assert_int_eq(r->heuristic, -1);
    ck_assert_str_eq(r->distance, "0.23108");
    ck_assert_int_eq(r->nb_detectors, 6);
    ck_assert_int_eq(r->label, EF_MAWILAB_ANOMALOUS);
    r = ef_mawilab_rule(m, 2);
    ck_assert_int_eq(r->dport, 1433);
    ck_assert_int_eq(r->fields, EF_MAWILAB_F_DST | EF_MAWILAB_F_DPORT);
    ck_assert_int_eq(r->nb_detectors, 3);
    ck_assert_int_eq(r->label, EF_MAWILAB_SUSPICIOUS);
    ef_mawilab_file_info_t fi;
    ck_assert_int_eq(ef_mawilab_file_info(m, 0, &fi), 0);
    ck_assert_int_eq(fi.has_heuristic, 0);
    ck_assert_uint_eq(fi.anomalies, 2); /* anomaly 0 spans two lines */
    ef_mawilab_free(m);
}
END_TEST

/* Columns are read by their header names, whatever the order and case;
 * blank lines and a UTF-8 byte-order mark are tolerated. */
START_TEST(columns_by_header_name)
{
    ef_mawilab_t *m = load_text("\xef\xbb\xbf" "label,taxonomy,DSTIP,dstPort,srcIP,srcPort,"
                                "anomalyID\n\n  \nnotice,DoS,10.1.1.1,53,,,42\n");
    ck_assert_uint_eq(ef_mawilab_rule_count(m), 1);
    const ef_mawilab_rule_t *r = ef_mawilab_rule(m, 0);
    ck_assert_uint_eq(r->anomaly_id, 42);
    ck_assert_uint_eq(r->line, 4);
    ck_assert_int_eq(r->dport, 53);
    ck_assert_int_eq(r->category, EF_CAT_DOS);
    ck_assert_int_eq(r->label, EF_MAWILAB_NOTICE);
    ck_assert_int_eq(r->heuristic, -1);
    ck_assert_uint_eq(winner(m, "10.9.9.9", 5555, "10.1.1.1", 53, NULL), 4);
    ef_mawilab_free(m);
}
END_TEST

START_TEST(header_only_file_matches_nothing)
{
    ef_mawilab_t *m = load_text(HDR10);
    ck_assert_uint_eq(ef_mawilab_rule_count(m), 0);
    ck_assert_uint_eq(winner(m, "10.0.0.1", 1, "10.0.0.2", 2, NULL), 0);
    ef_mawilab_free(m);
    ef_mawilab_match_t mt;
    flow_spec_t fs;
    make_flow(&fs, "10.0.0.1", 1, "10.0.0.2", 2);
    ef_mawilab_match(NULL, &fs.f, &mt);
    ck_assert_ptr_null(mt.rule);
    ck_assert_int_eq(mt.category, EF_CAT_UNLABELED);
}
END_TEST

START_TEST(wildcards_match_anything)
{
    ef_mawilab_t *m = load_text(HDR10
        "1,,,,445,posca,4,1,1,anomalous\n"          /* any flow to port 445 */
        "2,172.16.0.9,,,,ntscIC,,1,1,anomalous\n"   /* anything from 172.16.0.9 */
        "3,,7000,,,DoS,,1,1,anomalous\n");          /* anything from port 7000 */
    ck_assert_uint_eq(winner(m, "10.0.0.1", 40000, "10.0.0.2", 445, NULL), 2);
    ck_assert_uint_eq(winner(m, "10.0.0.3", 1, "10.0.0.4", 445, NULL), 2);
    ck_assert_uint_eq(winner(m, "172.16.0.9", 1, "10.0.0.4", 80, NULL), 3);
    ck_assert_uint_eq(winner(m, "10.0.0.5", 7000, "10.0.0.6", 80, NULL), 4);
    ck_assert_uint_eq(winner(m, "10.0.0.5", 7001, "10.0.0.6", 80, NULL), 0);
    /* Port-less flows (ICMP) never match a rule that names a port... */
    ck_assert_uint_eq(winner(m, "10.0.0.1", -1, "10.0.0.2", -1, NULL), 0);
    /* ...but do match an address-only rule. */
    ck_assert_uint_eq(winner(m, "172.16.0.9", -1, "10.0.0.2", -1, NULL), 3);
    ef_mawilab_free(m);
}
END_TEST

START_TEST(multi_line_anomaly_shares_its_id)
{
    ef_mawilab_t *m = load_text(HDR10
        "5,10.0.0.1,,10.0.0.2,,mptp,,1,2,anomalous\n"
        "6,10.9.0.1,,10.9.0.2,,unk,,1,2,suspicious\n"
        "5,10.0.0.1,,10.0.0.3,,mptp,,1,2,anomalous\n");
    flow_spec_t fs;
    ef_mawilab_match_t a, b;
    make_flow(&fs, "10.0.0.1", 1, "10.0.0.2", 2);
    ef_mawilab_match(m, &fs.f, &a);
    make_flow(&fs, "10.0.0.1", 1, "10.0.0.3", 2);
    ef_mawilab_match(m, &fs.f, &b);
    ck_assert_ptr_nonnull(a.rule);
    ck_assert_ptr_nonnull(b.rule);
    ck_assert_uint_eq(a.rule->line, 2);
    ck_assert_uint_eq(b.rule->line, 4);
    ck_assert_uint_eq(a.rule->anomaly_id, 5);
    ck_assert_uint_eq(b.rule->anomaly_id, 5);
    ck_assert_int_eq(a.category, EF_CAT_MULTI);
    ef_mawilab_file_info_t fi;
    ef_mawilab_file_info(m, 0, &fi);
    ck_assert_uint_eq(fi.rules, 3);
    ck_assert_uint_eq(fi.anomalies, 2);
    ef_mawilab_free(m);
}
END_TEST

/* Rule bodies "srcIP,srcPort,dstIP,dstPort" for the flow
 * 10.0.0.1:1111 -> 10.0.0.2:80, each matching it. */
#define S "10.0.0.1"
#define D "10.0.0.2"
static const struct {
    const char *name, *body;
} shapes[] = {
    {"all four", S ",1111," D ",80"},
    {"src dst dport", S ",," D ",80"},
    {"src dst sport", S ",1111," D ","},
    {"dst dport sport", ",1111," D ",80"},
    {"src dport sport", S ",1111,,80"},
    {"src dst", S ",," D ","},
    {"dst dport", ",," D ",80"},
    {"dst sport", ",1111," D ","},
    {"src dport", S ",,,80"},
    {"src sport", S ",1111,,"},
    {"dport sport", ",1111,,80"},
    {"dst", ",," D ","},
    {"src", S ",,,"},
    {"dport", ",,,80"},
    {"sport", ",1111,,"},
};
#undef S
#undef D

/* shapes[] is in strict priority order: every earlier shape beats every
 * later one, whichever comes first in the file. */
START_TEST(priority_order_of_every_pair)
{
    size_t n = sizeof shapes / sizeof shapes[0];
    for (size_t a = 0; a < n; a++) {
        for (size_t b = a + 1; b < n; b++) {
            for (int swap = 0; swap < 2; swap++) {
                char *text = NULL;
                size_t first = swap ? b : a, second = swap ? a : b;
                ck_assert_int_ge(asprintf(&text, HDR10 "1,%s,unk,,1,1,anomalous\n"
                                          "2,%s,unk,,1,1,anomalous\n",
                                          shapes[first].body, shapes[second].body), 0);
                ef_mawilab_t *m = load_text(text);
                uint32_t want = swap ? 3 : 2; /* the line holding shape a */
                ck_assert_msg(winner(m, "10.0.0.1", 1111, "10.0.0.2", 80, NULL) == want,
                              "'%s' should beat '%s'", shapes[a].name, shapes[b].name);
                ef_mawilab_free(m);
                free(text);
            }
        }
    }
}
END_TEST

START_TEST(full_tie_goes_to_earlier_line_and_file)
{
    ef_mawilab_t *m = load_text(HDR10
        "1,,,10.0.0.2,,unk,,1,1,anomalous\n"
        "2,10.0.0.1,,,,unk,,1,1,anomalous\n"
        "3,,,10.0.0.2,,DoS,,1,1,anomalous\n");
    ck_assert_uint_eq(winner(m, "10.0.0.1", 1, "10.0.0.2", 2, NULL), 2);
    ef_mawilab_free(m);

    char *a = write_labels("a.csv", HDR10 "1,,,10.0.0.2,,DoS,,1,1,anomalous\n");
    char *b = write_labels("b.csv", HDR10 "\n\n1,,,10.0.0.2,,ptmp,,1,1,notice\n");
    const char *paths[] = {b, a};
    ef_err_t err;
    m = ef_mawilab_load(paths, 2, &err);
    ck_assert_ptr_nonnull(m);
    flow_spec_t fs;
    ef_mawilab_match_t mt;
    make_flow(&fs, "10.0.0.1", 1, "10.0.0.2", 2);
    ef_mawilab_match(m, &fs.f, &mt);
    ck_assert_int_eq(mt.rule->file, 0); /* b.csv was given first */
    ck_assert_int_eq(mt.category, EF_CAT_MULTI);
    ck_assert_int_eq(mt.rule->label, EF_MAWILAB_NOTICE);
    ck_assert_int_eq(ef_mawilab_file_count(m), 2);
    ef_mawilab_free(m);
    free(a);
    free(b);
}
END_TEST

START_TEST(reverse_direction)
{
    ef_mawilab_t *m = load_text(HDR10
        "1,10.0.0.2,80,10.0.0.1,,DoS,,1,1,anomalous\n"     /* src = server: 3 fields */
        "2,,,10.0.0.2,80,ptmp,,1,1,anomalous\n"           /* forward: 2 fields */
        "3,10.0.0.7,,10.0.0.8,,alphfl,,1,1,anomalous\n"   /* matches both ways */
        "4,,,10.0.0.7,,ntscSYN,,1,1,anomalous\n");
    int rev = -1;
    /* The reversed rule is more specific: it wins and says so. */
    ck_assert_uint_eq(winner(m, "10.0.0.1", 5000, "10.0.0.2", 80, &rev), 2);
    ck_assert_int_eq(rev, 1);
    /* Only the forward one matches. */
    ck_assert_uint_eq(winner(m, "10.0.0.3", 5000, "10.0.0.2", 80, &rev), 3);
    ck_assert_int_eq(rev, 0);
    /* Only a reversed one matches: rule src 10.0.0.2:80 = the server. */
    ck_assert_uint_eq(winner(m, "10.0.0.1", 6000, "10.0.0.2", 81, &rev), 0);
    ck_assert_uint_eq(winner(m, "10.0.0.1", 6000, "10.0.0.2", 80, &rev), 2);
    ck_assert_int_eq(rev, 1);
    /* .7 -> .8: forward line 4 (2 fields) beats reversed line 5 (1 field);
     * .8 -> .7: reversed line 4 (2 fields) beats forward line 5 (1 field). */
    ck_assert_uint_eq(winner(m, "10.0.0.7", 1, "10.0.0.8", 2, &rev), 4);
    ck_assert_int_eq(rev, 0);
    ck_assert_uint_eq(winner(m, "10.0.0.8", 1, "10.0.0.7", 2, &rev), 4);
    ck_assert_int_eq(rev, 1);
    ef_mawilab_free(m);

    /* Equal specificity in both directions: forward wins even over an
     * earlier line. */
    m = load_text(HDR10
        "1,,,10.0.0.1,,DoS,,1,1,anomalous\n"
        "2,,,10.0.0.2,,ptmp,,1,1,anomalous\n");
    ck_assert_uint_eq(winner(m, "10.0.0.1", 1, "10.0.0.2", 2, &rev), 3);
    ck_assert_int_eq(rev, 0);
    ck_assert_uint_eq(winner(m, "10.0.0.2", 1, "10.0.0.1", 2, &rev), 2);
    ck_assert_int_eq(rev, 0);
    ef_mawilab_free(m);
}
END_TEST

START_TEST(ipv6_rules)
{
    ef_mawilab_t *m = load_text(HDR10
        "1,2001:db8::1,,2001:db8::2,443,ptmpHTTP,,1,1,anomalous\n"
        "2,,,2001:db8::2,,ipv46tun,,1,1,suspicious\n"
        "3,,,10.0.0.2,,DoS,,1,1,anomalous\n");
    ck_assert_uint_eq(winner(m, "2001:db8::1", 5, "2001:db8::2", 443, NULL), 2);
    ck_assert_uint_eq(winner(m, "2001:db8::9", 5, "2001:db8::2", 443, NULL), 3);
    ck_assert_uint_eq(winner(m, "2001:db8::2", 5, "2001:db8::9", 443, NULL), 3);
    ck_assert_uint_eq(winner(m, "2001:db8::9", 5, "2001:db8::3", 443, NULL), 0);
    /* ::a00:2 carries 10.0.0.2 in its last bytes, 0a00:0002:: in its first:
     * neither is the IPv4 rule's address. */
    ck_assert_uint_eq(winner(m, "2001:db8::9", 5, "a00:2::", 443, NULL), 0);
    ck_assert_uint_eq(winner(m, "2001:db8::9", 5, "::a00:2", 443, NULL), 0);
    ck_assert_int_eq(ef_mawilab_rule(m, 0)->ip_version, 6);
    ef_mawilab_free(m);
}
END_TEST

/* The index must find exactly what a plain scan of all rules finds. The
 * reference below re-implements the documented join independently. */
static int ref_score(const ef_mawilab_rule_t *r)
{
    int n = 0;
    for (int b = 0; b < 4; b++)
        n += (r->fields >> b) & 1;
    return n * 16 + r->fields;
}

static int ref_one_way(const ef_mawilab_t *m, const uint8_t *s, int sp, const uint8_t *d, int dp,
                       uint32_t *best)
{
    int bs = -1;
    for (uint32_t i = 0; i < ef_mawilab_rule_count(m); i++) {
        const ef_mawilab_rule_t *r = ef_mawilab_rule(m, i);
        if ((r->fields & EF_MAWILAB_F_SRC) && memcmp(r->src, s, 4))
            continue;
        if ((r->fields & EF_MAWILAB_F_DST) && memcmp(r->dst, d, 4))
            continue;
        if ((r->fields & EF_MAWILAB_F_SPORT) && r->sport != sp)
            continue;
        if ((r->fields & EF_MAWILAB_F_DPORT) && r->dport != dp)
            continue;
        if (ref_score(r) > bs) {
            bs = ref_score(r);
            *best = i;
        }
    }
    return bs;
}

START_TEST(index_agrees_with_full_scan)
{
    /* Small address and port spaces so that many rules overlap. */
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, HDR10);
    unsigned seed = 12345;
    for (int i = 0; i < 3000; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned v = seed >> 8;
        char src[24] = "", dst[24] = "", sp[8] = "", dp[8] = "";
        if (v & 1) snprintf(src, sizeof src, "10.0.0.%u", (v >> 4) % 8);
        if (v & 2) snprintf(dst, sizeof dst, "10.0.0.%u", (v >> 7) % 8);
        if (v & 4) snprintf(sp, sizeof sp, "%u", (v >> 10) % 4);
        if (v & 8) snprintf(dp, sizeof dp, "%u", (v >> 12) % 4);
        if (!(v & 15)) snprintf(dp, sizeof dp, "9");
        len += (size_t)snprintf(text + len, cap - len, "%d,%s,%s,%s,%s,unk,,1,1,notice\n", i,
                                src, sp, dst, dp);
    }
    ef_mawilab_t *m = load_text(text);
    free(text);
    for (int c = 0; c < 8; c++)
        for (int s = 0; s < 8; s++)
            for (int cp = 0; cp < 5; cp++)
                for (int sp = 0; sp < 5; sp++) {
                    char ca[24], sa[24];
                    snprintf(ca, sizeof ca, "10.0.0.%d", c);
                    snprintf(sa, sizeof sa, "10.0.0.%d", s);
                    flow_spec_t fs;
                    make_flow(&fs, ca, cp == 4 ? 9 : cp, sa, sp == 4 ? 9 : sp);
                    ef_mawilab_match_t mt;
                    ef_mawilab_match(m, &fs.f, &mt);
                    uint32_t fb = 0, rb = 0;
                    int f = ref_one_way(m, fs.cli, fs.f.client_port, fs.srv, fs.f.server_port,
                                        &fb);
                    int r = ref_one_way(m, fs.srv, fs.f.server_port, fs.cli, fs.f.client_port,
                                        &rb);
                    if (f < 0 && r < 0) {
                        ck_assert_ptr_null(mt.rule);
                        continue;
                    }
                    uint32_t want = r > f ? rb : fb;
                    ck_assert_ptr_nonnull(mt.rule);
                    ck_assert_ptr_eq(mt.rule, ef_mawilab_rule(m, want));
                    ck_assert_int_eq(mt.reversed, r > f);
                }
    ef_mawilab_free(m);
}
END_TEST

START_TEST(malformed_rows_name_file_and_line)
{
    expect_error(HDR10 "1,10.0.0.1,,10.0.0.2,,unk,,1,1,anomalous\n"
                 "x,10.0.0.1,,10.0.0.2,,unk,,1,1,anomalous\n",
                 "3: expected anomalyID as a non-negative integer, got 'x'");
    expect_error(HDR10 "-1,10.0.0.1,,,,unk,,1,1,anomalous\n",
                 "2: expected anomalyID as a non-negative integer, got '-1'");
    expect_error(HDR10 "1,10.0.0.256,,,,unk,,1,1,anomalous\n",
                 "2: expected srcIP as an IPv4 or IPv6 address, got '10.0.0.256'");
    expect_error(HDR10 "1,,,2001:db8:::1,,unk,,1,1,anomalous\n",
                 "2: expected dstIP as an IPv4 or IPv6 address, got '2001:db8:::1'");
    expect_error(HDR10 "1,,65536,10.0.0.1,,unk,,1,1,anomalous\n",
                 "2: expected srcPort as a port number 0-65535, got '65536'");
    expect_error(HDR10 "1,,,10.0.0.1,http,unk,,1,1,anomalous\n",
                 "2: expected dstPort as a port number 0-65535, got 'http'");
    expect_error(HDR10 "1,,,10.0.0.1,,unk,five,1,1,anomalous\n",
                 "2: expected heuristic as a non-negative integer or empty, got 'five'");
    expect_error(HDR10 "1,,,10.0.0.1,,unk,,far,1,anomalous\n",
                 "2: expected distance as a number or empty, got 'far'");
    expect_error(HDR10 "1,,,10.0.0.1,,unk,,1,x1,anomalous\n",
                 "2: expected nbDetectors as a non-negative integer or empty, got 'x1'");
    expect_error(HDR10 "1,,,10.0.0.1,,unk,,1,1,benign\n",
                 "2: expected label as anomalous, suspicious or notice, got 'benign'");
    expect_error(HDR10 "1,10.0.0.1,,2001:db8::1,,unk,,1,1,anomalous\n",
                 "2: expected srcIP and dstIP of one IP version, got IPv4 and IPv6");
    expect_error(HDR10 "1,,,,,unk,,1,1,anomalous\n",
                 "2: expected at least one of srcIP, srcPort, dstIP, dstPort (a rule with "
                 "none would label every flow)");
    /* Field counts: neither 10 nor 9 on the first row; a later row that
     * breaks the layout the first row fixed. */
    expect_error(HDR10 "1,,,10.0.0.1,,unk,1,anomalous\n",
                 "2: expected 10 fields as named in the header (or one fewer, without "
                 "heuristic), got 8");
    expect_error(HDR10 "1,,,10.0.0.1,,unk,0.1,1,anomalous\n"
                 "2,,,10.0.0.1,,unk,,0.1,1,anomalous\n",
                 "3: expected 9 fields like line 2, got 10");
    expect_error(HDR10 "1,,,10.0.0.1,,unk,,0.1,1,anomalous,,,,,,,,,,,,,,\n",
                 "2: expected at most 10 fields, got 24");
    /* Headers. */
    expect_error("", "1: expected MAWILab header anomalyID,srcIP,srcPort,dstIP,dstPort,"
                 "taxonomy,heuristic,distance,nbDetectors,label, got an empty file");
    expect_error("1,,,10.0.0.1,,unk,,1,1,anomalous\n",
                 "1: expected MAWILab header anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,"
                 "heuristic,distance,nbDetectors,label, got unknown column '1'");
    expect_error("anomalyID,srcIP,srcPort,dstIP,dstPort,label\n",
                 "1: expected MAWILab header anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,"
                 "heuristic,distance,nbDetectors,label, column 'taxonomy' is missing");
    expect_error("anomalyID,srcIP,srcIP,dstIP,dstPort,label\n",
                 "1: header names column 'srcIP' twice");
}
END_TEST

START_TEST(nul_and_overlong_lines)
{
    char *p = eft_path(tmpdir, "nul.csv");
    static const char nul[] = HDR10 "1,,,10.0.0.1,\0,unk,,1,1,anomalous\n";
    ck_assert_int_eq(eft_write_file(p, nul, sizeof nul - 1), 0);
    ef_err_t err;
    const char *paths[] = {p};
    ck_assert_ptr_null(ef_mawilab_load(paths, 1, &err));
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s:2: expected text, found a NUL byte", p), 0);
    ck_assert_str_eq(err.msg, want);
    free(want);

    char *big = malloc(10000);
    memset(big, 'a', 9999);
    big[9999] = '\0';
    char *text = NULL;
    ck_assert_int_ge(asprintf(&text, HDR10 "%s\n", big), 0);
    ck_assert_int_eq(eft_write_file(p, text, strlen(text)), 0);
    ck_assert_ptr_null(ef_mawilab_load(paths, 1, &err));
    ck_assert_int_ge(asprintf(&want, "%s:2: expected a label row, got a line longer than 4096 "
                              "bytes", p), 0);
    ck_assert_str_eq(err.msg, want);
    free(want);
    free(text);
    free(big);
    free(p);
}
END_TEST

START_TEST(missing_file)
{
    char *p = eft_path(tmpdir, "nope.csv");
    ef_err_t err;
    const char *paths[] = {p};
    ck_assert_ptr_null(ef_mawilab_load(paths, 1, &err));
    char *want = NULL;
    ck_assert_int_ge(asprintf(&want, "%s: cannot open label file: No such file or directory", p),
                     0);
    ck_assert_str_eq(err.msg, want);
    free(want);
    free(p);
}
END_TEST

START_TEST(real_file_from_shared_data)
{
    const char *shared = eft_shared_data();
    if (!shared) {
        fprintf(stderr, "skip: no shared data folder\n");
        return;
    }
    char *p = eft_path(shared, "mawilab_labels/20191121_anomalous_suspicious.csv");
    FILE *probe = fopen(p, "r");
    if (!probe) {
        fprintf(stderr, "skip: %s absent\n", p);
        free(p);
        return;
    }
    fclose(probe);
    ef_err_t err = {{0}};
    const char *paths[] = {p};
    ef_mawilab_t *m = ef_mawilab_load(paths, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ef_mawilab_file_info_t fi;
    ck_assert_int_eq(ef_mawilab_file_info(m, 0, &fi), 0);
    ck_assert_uint_eq(fi.rules, 245);      /* MANIFEST.tsv: 245 rows */
    ck_assert_uint_eq(fi.anomalies, 173);  /* ... and 173 anomalies */
    ck_assert_int_eq(fi.has_heuristic, 0); /* the 9-field variant */
    int labels[3] = {0}, unknown = 0;
    for (uint32_t i = 0; i < fi.rules; i++) {
        const ef_mawilab_rule_t *r = ef_mawilab_rule(m, i);
        labels[r->label]++;
        unknown += r->category == EF_CAT_UNKNOWN && strncmp(r->code, "unk", 3) != 0 &&
                   strcmp(r->code, "empty") != 0;
        ck_assert_int_eq(r->heuristic, -1);
        ck_assert_int_ge(r->nb_detectors, 1);
        ck_assert_int_ne(r->distance[0], '\0');
    }
    ck_assert_int_eq(labels[EF_MAWILAB_ANOMALOUS] + labels[EF_MAWILAB_SUSPICIOUS], 245);
    ck_assert_int_eq(labels[EF_MAWILAB_NOTICE], 0);
    ck_assert_int_eq(unknown, 0); /* every code maps through a known prefix */
    ef_mawilab_free(m);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mawilab");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, header_with_spaces_ten_fields);
    tcase_add_test(tc, nine_field_rows_lack_heuristic);
    tcase_add_test(tc, columns_by_header_name);
    tcase_add_test(tc, header_only_file_matches_nothing);
    tcase_add_test(tc, malformed_rows_name_file_and_line);
    tcase_add_test(tc, nul_and_overlong_lines);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, real_file_from_shared_data);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("join");
    tcase_add_checked_fixture(tj, setup, teardown);
    tcase_add_test(tj, wildcards_match_anything);
    tcase_add_test(tj, multi_line_anomaly_shares_its_id);
    tcase_add_test(tj, priority_order_of_every_pair);
    tcase_add_test(tj, full_tie_goes_to_earlier_line_and_file);
    tcase_add_test(tj, reverse_direction);
    tcase_add_test(tj, ipv6_rules);
    tcase_add_test(tj, index_agrees_with_full_scan);
    suite_add_tcase(s, tj);
    return eft_run_suite(s);
}
