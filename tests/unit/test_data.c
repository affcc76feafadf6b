/* Dataset CSV reading, label lists, sampling protocols and reordering. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/data.h"

static const char *const seed_labels[] = {"Unlabeled", "HTTP", "Alpha", "Multi"};
static char *tmpdir;
static char *csv_path;

static void setup(void)
{
    tmpdir = eft_mkdtemp("data");
    ck_assert_ptr_nonnull(tmpdir);
    csv_path = eft_path(tmpdir, "d.csv");
}

static void teardown(void)
{
    eft_rmtree(tmpdir);
    free(tmpdir);
    free(csv_path);
}

static ef_data_opts_t opts_for(const char *const *labels, int n)
{
    ef_data_opts_t o = {.labels = labels, .n_labels = n};
    return o;
}

/* Write text to d.csv and read it; returns the dataset or NULL with err. */
static ef_dataset_t *read_text(const char *text, const ef_data_opts_t *o, ef_err_t *err)
{
    ck_assert_int_eq(eft_write_file(csv_path, text, strlen(text)), 0);
    memset(err->msg, 0, sizeof err->msg);
    return ef_data_read(csv_path, o, err);
}

/* The error text for reading `text` with `o`, without the temp-dir prefix. */
static const char *error_of(const char *text, const ef_data_opts_t *o)
{
    static ef_err_t err;
    ef_dataset_t *ds = read_text(text, o, &err);
    ck_assert_msg(ds == NULL, "expected an error for:\n%s", text);
    size_t dl = strlen(tmpdir);
    ck_assert_msg(!strncmp(err.msg, tmpdir, dl), "message names the file: %s", err.msg);
    return err.msg + dl + 1; /* "d.csv:..." */
}

#define HDR3 "pktSize1,pktSize2,pktSize3,pktTime1,pktTime2,pktTime3,c2s,taxonomy label\n"

START_TEST(reads_seed_format_exactly)
{
    static const char *const labels[] = {"Unlabeled", "HTTP"};
    ef_data_opts_t o = opts_for(labels, 2);
    ef_err_t err;
    ef_dataset_t *ds = read_text(HDR3 "60,1500,40,0,0.25,1e-06,2,HTTP\n"
                                      "52,52,0,0,0.000123,0,1,Unlabeled\n"
                                      "100,200,300,0,1.5,2.5,3,HTTP\n",
                                 &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ck_assert_int_eq(ds->k, 3);
    ck_assert_uint_eq(ds->n, 3);
    ck_assert_int_eq(ds->n_rows, 3);
    ck_assert_float_eq(ds->size[0], 60);
    ck_assert_float_eq(ds->size[1], 1500);
    ck_assert_float_eq(ds->size[2], 40);
    ck_assert_float_eq(ds->iat[1], 0.25f);
    ck_assert_float_eq(ds->iat[2], 1e-06f);
    ck_assert_float_eq(ds->iat[4], 0.000123f);
    ck_assert_float_eq(ds->iat[8], 2.5f);
    ck_assert_int_eq(ds->len[0], 3);
    ck_assert_int_eq(ds->len[1], 2);
    ck_assert_int_eq(ds->label[0], 1);
    ck_assert_int_eq(ds->label[1], 0);
    ck_assert_int_eq((int)ds->row[2], 3);
    ck_assert_int_eq((int)ds->count[0], 1);
    ck_assert_int_eq((int)ds->count[1], 2);
    ck_assert_ptr_null(ds->dir);
    /* The provenance hash agrees with coreutils' sha256sum. */
    char *cmd = NULL, *out = NULL;
    ck_assert_int_ge(asprintf(&cmd, "sha256sum '%s'", csv_path), 0);
    ck_assert_int_eq(eft_run(cmd, &out, NULL), 0);
    ck_assert_msg(!strncmp(out, ds->sha256, 64), "%s vs %s", out, ds->sha256);
    free(cmd);
    free(out);
    ef_data_free(ds);
}
END_TEST

START_TEST(reads_extended_columns_by_name)
{
    /* Label before the features, quoted fields, CRLF, a BOM, blank lines,
     * extra columns (collect --extended) and a 'dirs' column. */
    ef_data_opts_t o = opts_for(seed_labels, 4);
    o.need_dir = 1;
    ef_err_t err;
    ef_dataset_t *ds = read_text(
        "\xef\xbb\xbf" "flow_id,taxonomy label,pktTime1,pktTime2,pktSize2,pktSize1,c2s,"
        "dirs,proto,\"note\"\r\n"
        "7,Alpha,0,0.5,80,90,1,\"1;0\",\"TLS,Google\",\"say \"\"hi\"\"\"\r\n"
        "\r\n"
        "8,Multi,0,0,0,44,1,1,DNS,x\r\n"
        "9,HTTP,0,2,1,2,2,11,HTTP,y\r\n"
        "10,Unlabeled,0,3,3,4,0,01,HTTP,y\r\n\r\n",
        &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ck_assert_int_eq(ds->k, 2);
    ck_assert_uint_eq(ds->n, 4);
    ck_assert_float_eq(ds->size[0], 90);
    ck_assert_float_eq(ds->size[1], 80);
    ck_assert_float_eq(ds->iat[1], 0.5f);
    ck_assert_int_eq(ds->label[0], 2);
    ck_assert_int_eq(ds->dir[0], 1);
    ck_assert_int_eq(ds->dir[1], 0);
    ck_assert_int_eq(ds->len[1], 1);  /* padded row */
    ck_assert_int_eq(ds->dir[3], 0);  /* padding direction */
    ck_assert_int_eq(ds->dir[6], 0);
    ck_assert_int_eq(ds->dir[7], 1);
    ck_assert_int_eq((int)ds->row[1], 2); /* blank lines are not data rows */
    ef_data_free(ds);
}
END_TEST

START_TEST(reads_pktdir_columns)
{
    static const char *const labels[] = {"A"};
    ef_data_opts_t o = opts_for(labels, 1);
    o.need_dir = 1;
    ef_err_t err;
    ef_dataset_t *ds = read_text("pktSize1,pktSize2,pktTime1,pktTime2,pktDir1,pktDir2,c2s,"
                                 "taxonomy label\n1,2,0,0,1,0,1,A\n",
                                 &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ck_assert_int_eq(ds->dir[0], 1);
    ck_assert_int_eq(ds->dir[1], 0);
    ef_data_free(ds);
    ck_assert_str_eq(error_of("pktSize1,pktTime1,pktDir1,c2s,taxonomy label\n1,0,2,1,A\n", &o),
                     "d.csv:2: column 3 (pktDir1): expected a direction 0 or 1, got '2'");
}
END_TEST

START_TEST(unknown_labels_dropped_and_counted)
{
    static const char *const labels[] = {"Unlabeled", "HTTP"};
    ef_data_opts_t o = opts_for(labels, 2);
    ef_err_t err;
    const char *text = HDR3 "1,1,1,0,0,0,0,HTTP\n"
                            "1,1,1,0,0,0,0,DoS\n"
                            "1,1,1,0,0,0,0,Unlabeled\n"
                            "1,1,1,0,0,0,0,DoS\n"
                            "1,1,1,0,0,0,0,NetworkScan\n";
    ef_dataset_t *ds = read_text(text, &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_int_eq((int)ds->n_rows, 5);
    ck_assert_int_eq((int)ds->n_unknown, 3);
    ck_assert_int_eq(ds->n_labels, 4);
    ck_assert_str_eq(ds->labels[2], "DoS");
    ck_assert_int_eq((int)ds->count[2], 2);
    ck_assert_str_eq(ds->labels[3], "NetworkScan");
    ck_assert_int_eq((int)ds->row[1], 3);
    ef_data_free(ds);
    /* Kept when asked (evaluation reports them). */
    o.keep_unknown = 1;
    ds = read_text(text, &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ck_assert_uint_eq(ds->n, 5);
    ck_assert_int_eq(ds->label[1], 2);
    ck_assert_int_eq(ds->label[4], 3);
    ef_data_free(ds);
}
END_TEST

START_TEST(accepts_float_typed_sizes_only_when_integral)
{
    static const char *const labels[] = {"A"};
    ef_data_opts_t o = opts_for(labels, 1);
    ef_err_t err;
    ef_dataset_t *ds = read_text("pktSize1,pktTime1,c2s,taxonomy label\n1500.0,0,1.0,A\n", &o,
                                 &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    ck_assert_float_eq(ds->size[0], 1500);
    ef_data_free(ds);
    ck_assert_str_eq(error_of("pktSize1,pktTime1,c2s,taxonomy label\n1500.5,0,1,A\n", &o),
                     "d.csv:2: column 1 (pktSize1): expected a packet size (integer bytes "
                     "0..65535), got '1500.5'");
}
END_TEST

/* Every error names file:line: column N (name) and what was expected. */
START_TEST(row_errors_name_line_and_column)
{
    static const char *const labels[] = {"Unlabeled", "HTTP"};
    ef_data_opts_t o = opts_for(labels, 2);
    static const struct {
        const char *rows, *msg;
    } cases[] = {
        {"1,1,1,0,0,0,0\n", "d.csv:2: column 8 (taxonomy label): missing (row has 7 columns, "
                            "header has 8)"},
        {"1,1,1,0,0,0,0,HTTP,9\n", "d.csv:2: column 9: extra column (header has 8)"},
        {"1,1,1,0,0,0,0,HTTP\n1,x,1,0,0,0,0,HTTP\n",
         "d.csv:3: column 2 (pktSize2): expected a packet size (integer bytes 0..65535), got "
         "'x'"},
        {"1,-5,1,0,0,0,0,HTTP\n", "d.csv:2: column 2 (pktSize2): expected a packet size "
                                  "(integer bytes 0..65535), got '-5'"},
        {"1,65536,1,0,0,0,0,HTTP\n", "d.csv:2: column 2 (pktSize2): expected a packet size "
                                     "(integer bytes 0..65535), got '65536'"},
        {"1,1,1,0,-0.5,0,0,HTTP\n", "d.csv:2: column 5 (pktTime2): expected an inter-arrival "
                                    "time (seconds, a non-negative number), got '-0.5'"},
        {"1,1,1,0,NaN,0,0,HTTP\n", "d.csv:2: column 5 (pktTime2): expected an inter-arrival "
                                   "time (seconds, a non-negative number), got 'NaN'"},
        {"1,1,1,0,inf,0,0,HTTP\n", "d.csv:2: column 5 (pktTime2): expected an inter-arrival "
                                   "time (seconds, a non-negative number), got 'inf'"},
        {"1,1,1,0,1e999,0,0,HTTP\n", "d.csv:2: column 5 (pktTime2): expected an inter-arrival "
                                     "time (seconds, a non-negative number), got '1e999'"},
        {"1,1,1,0,,0,0,HTTP\n", "d.csv:2: column 5 (pktTime2): expected an inter-arrival "
                                "time (seconds, a non-negative number), got ''"},
        {"1,1,1,0,0,0,1.5,HTTP\n", "d.csv:2: column 7 (c2s): expected a packet count "
                                   "(non-negative integer), got '1.5'"},
        {"1,1,1,0,0,0,0,\n", "d.csv:2: column 8 (taxonomy label): expected a label, got an "
                             "empty field"},
        {"1,0,7,0,0,0,0,HTTP\n", "d.csv:2: column 3 (pktSize3): packet size after padding "
                                 "(pktSize2 is 0: padding must be trailing), got '7'"},
        {"0,0,0,0,0,0,0,HTTP\n", "d.csv:2: column 1 (pktSize1): expected a packet: pktSize1 "
                                 "is 0, so the row has none"},
        {"1,1,1,0,0,0,0,\"HTTP\n", "d.csv:2: column 8: unterminated or misplaced quote"},
        {"1,1,1,0,0,0,0,\"HT\"TP\n", "d.csv:2: column 8: unterminated or misplaced quote"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s1,1,1,0,0,0,0,Unlabeled\n", HDR3, cases[i].rows);
        ck_assert_str_eq(error_of(text, &o), cases[i].msg);
    }
}
END_TEST

START_TEST(nul_byte_is_refused)
{
    static const char *const labels[] = {"A"};
    ef_data_opts_t o = opts_for(labels, 1);
    const char text[] = "pktSize1,pktTime1,c2s,taxonomy label\n1,0,1,A\0B\n";
    ck_assert_int_eq(eft_write_file(csv_path, text, sizeof text - 1), 0);
    ef_err_t err;
    ck_assert_ptr_null(ef_data_read(csv_path, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "d.csv:2: NUL byte in a text line"));
}
END_TEST

START_TEST(header_and_file_errors)
{
    static const char *const labels[] = {"Unlabeled", "HTTP"};
    ef_data_opts_t o = opts_for(labels, 2);
    ck_assert_str_eq(error_of("", &o), "d.csv: empty file (expected a header "
                                       "pktSize1..K,pktTime1..K,c2s,taxonomy label)");
    ck_assert_str_eq(error_of(HDR3, &o), "d.csv: no data rows after the header");
    ck_assert_str_eq(error_of("a,b,taxonomy label\n1,2,HTTP\n", &o),
                     "d.csv:1: header has no pktSize1..pktSizeK columns (expected "
                     "pktSize1..K,pktTime1..K,c2s,taxonomy label)");
    ck_assert_str_eq(error_of("pktSize1,pktSize3,pktTime1,pktTime2,pktTime3,taxonomy label\n",
                              &o),
                     "d.csv:1: header has pktSize3 but no pktSize2");
    ck_assert_str_eq(error_of("pktSize1,pktSize2,pktTime1,taxonomy label\n", &o),
                     "d.csv:1: header has no pktTime2 (expected pktTime1..pktTime2 to match "
                     "pktSize1..pktSize2)");
    ck_assert_str_eq(error_of("pktSize1,pktTime1,pktTime2,taxonomy label\n", &o),
                     "d.csv:1: column 3 (pktTime2): header has only pktSize1..1");
    ck_assert_str_eq(error_of("pktSize1,pktTime1,c2s,label\n", &o),
                     "d.csv:1: header has no 'taxonomy label' column");
    ck_assert_str_eq(error_of("pktSize1,pktTime1,pktSize1,taxonomy label\n", &o),
                     "d.csv:1: column 3 (pktSize1): duplicate of column 1");
    ck_assert_str_eq(error_of("pktSize1,pktTime1,taxonomy label,taxonomy label\n", &o),
                     "d.csv:1: column 4 (taxonomy label): duplicate of column 3");
    ck_assert_str_eq(error_of("pktSize21,pktTime1,taxonomy label\n", &o),
                     "d.csv:1: column 1 (pktSize21): k is at most 20");
    ef_data_opts_t o5 = o;
    o5.k = 5;
    ck_assert_str_eq(error_of(HDR3 "1,1,1,0,0,0,0,HTTP\n", &o5),
                     "d.csv:1: the file has k=3 (pktSize1..pktSize3) but k=5 was asked for");
    ef_data_opts_t od = o;
    od.need_dir = 1;
    ck_assert_str_eq(error_of(HDR3 "1,1,1,0,0,0,0,HTTP\n", &od),
                     "d.csv:1: the direction feature needs a 'dirs' column or pktDir1..3 "
                     "columns (collect --extended writes them); this file has neither");
    ck_assert_str_eq(error_of("pktSize1,pktSize2,pktTime1,pktTime2,dirs,taxonomy label\n"
                              "5,5,0,0,1,HTTP\n",
                              &od),
                     "d.csv:2: column 5 (dirs): expected one direction digit 0/1 per packet "
                     "(2 packets, at most 2), got '1'");
    ck_assert_str_eq(error_of("pktSize1,pktSize2,pktTime1,pktTime2,dirs,taxonomy label\n"
                              "5,5,0,0,1x,HTTP\n",
                              &od),
                     "d.csv:2: column 5 (dirs): expected one direction digit 0/1 per packet "
                     "(2 packets, at most 2), got '1x'");
    /* A listed class with no rows, and no listed rows at all. */
    ck_assert_str_eq(error_of(HDR3 "1,1,1,0,0,0,0,HTTP\n1,1,1,0,0,0,0,DoS\n", &o),
                     "d.csv: no rows for class Unlabeled (2 data rows; remove the class from "
                     "--labels or use another file)");
    ef_data_opts_t oe = o;
    oe.allow_empty_class = 1;
    ck_assert_str_eq(error_of(HDR3 "1,1,1,0,0,0,0,DoS\n", &oe),
                     "d.csv: none of the 1 rows has a listed label");
    ef_err_t err;
    ck_assert_ptr_null(ef_data_read("/nonexistent/x.csv", &o, &err));
    ck_assert_str_eq(err.msg, "/nonexistent/x.csv: cannot open: No such file or directory");
}
END_TEST

START_TEST(label_lists)
{
    ef_err_t err;
    int n;
    char **l = ef_data_labels_parse(EF_DATA_SEED_LABELS, &n, &err);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(l[2], "Alpha");
    ef_data_labels_free(l, n);
    l = ef_data_labels_parse("all", &n, &err);
    ck_assert_int_eq(n, 10);
    ck_assert_str_eq(l[0], "Unlabeled");
    ck_assert_str_eq(l[4], "NetworkScan");
    ck_assert_str_eq(l[9], "Unknown");
    ef_data_labels_free(l, n);
    ck_assert_ptr_null(ef_data_labels_parse("A,,B", &n, &err));
    ck_assert_str_eq(err.msg, "label list 'A,,B': label 2 is empty");
    ck_assert_ptr_null(ef_data_labels_parse("A,B,A", &n, &err));
    ck_assert_str_eq(err.msg, "label list 'A,B,A': 'A' appears twice");
    ck_assert_ptr_null(ef_data_labels_parse("", &n, &err));
}
END_TEST

/* A file with counts[c] rows of class c (row values encode the row). */
static ef_dataset_t *make_classes(const int *counts, int nc, const char *const *labels)
{
    FILE *f = fopen(csv_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("pktSize1,pktTime1,c2s,taxonomy label\n", f);
    int row = 0;
    int left[16];
    memcpy(left, counts, (size_t)nc * sizeof *left);
    /* Interleave classes so file order is not class order. */
    for (int any = 1; any;) {
        any = 0;
        for (int c = 0; c < nc; c++)
            if (left[c]-- > 0) {
                fprintf(f, "%d,0,1,%s\n", 1 + row++ % 60000, labels[c]);
                any = 1;
            }
    }
    fclose(f);
    ef_data_opts_t o = opts_for(labels, nc);
    ef_err_t err;
    ef_dataset_t *ds = ef_data_read(csv_path, &o, &err);
    ck_assert_msg(ds != NULL, "%s", err.msg);
    return ds;
}

static int count_class(const ef_dataset_t *ds, const size_t *idx, size_t n, int c)
{
    int m = 0;
    for (size_t i = 0; i < n; i++)
        m += ds->label[idx[i]] == c;
    return m;
}

static void assert_disjoint(const ef_dataset_t *ds, const ef_split_t *s)
{
    char *seen = calloc(ds->n, 1);
    const size_t *parts[3] = {s->train, s->valid, s->test};
    size_t ns[3] = {s->n_train, s->n_valid, s->n_test};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < ns[p]; i++) {
            ck_assert_uint_lt(parts[p][i], ds->n);
            ck_assert_msg(!seen[parts[p][i]], "row %zu in two splits", parts[p][i]);
            seen[parts[p][i]] = 1;
        }
    free(seen);
}

START_TEST(seed_protocol_counts_and_determinism)
{
    static const char *const labels[] = {"A", "B", "C"};
    const int counts[] = {500, 301, 2500};
    ef_dataset_t *ds = make_classes(counts, 3, labels);
    ef_split_opts_t o;
    ef_split_opts_default(&o);
    o.n_streams = 1000;
    o.seed = 7;
    ef_split_t s, s2, s3;
    ef_err_t err;
    ck_assert_int_eq(ef_data_split(ds, &o, &s, &err), 0);
    const int want_train[] = {200, 1, 700};
    for (int c = 0; c < 3; c++) {
        ck_assert_int_eq(count_class(ds, s.test, s.n_test, c), 100);
        ck_assert_int_eq(count_class(ds, s.valid, s.n_valid, c), 200);
        ck_assert_int_eq(count_class(ds, s.train, s.n_train, c), want_train[c]);
    }
    assert_disjoint(ds, &s);
    ck_assert_int_eq(ef_data_split(ds, &o, &s2, &err), 0);
    ck_assert_mem_eq(s.train, s2.train, s.n_train * sizeof *s.train);
    ck_assert_mem_eq(s.test, s2.test, s.n_test * sizeof *s.test);
    o.seed = 8;
    ck_assert_int_eq(ef_data_split(ds, &o, &s3, &err), 0);
    ck_assert_uint_eq(s3.n_train, s.n_train);
    ck_assert_msg(memcmp(s.train, s3.train, s.n_train * sizeof *s.train) != 0,
                  "another seed draws other rows");
    /* The 700 of class C out of 2500 are a random draw, not the first 1000. */
    size_t late = 0;
    for (size_t i = 0; i < s.n_train; i++)
        late += ds->label[s.train[i]] == 2 && ds->row[s.train[i]] > 2000;
    ck_assert_uint_gt(late, 50);
    ef_split_free(&s);
    ef_split_free(&s2);
    ef_split_free(&s3);

    o.n_test = 250; /* 250 + 200 + 1 > 301 rows of class B */
    ck_assert_int_eq(ef_data_split(ds, &o, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "class B has 301 rows; the seed protocol needs at "
                                          "least 451 (250 test + 200 validation + 1 training)"));
    ef_data_free(ds);
}
END_TEST

START_TEST(stratified_keeps_class_ratios)
{
    static const char *const labels[] = {"A", "B", "C"};
    const int counts[] = {1000, 100, 7};
    ef_dataset_t *ds = make_classes(counts, 3, labels);
    ef_split_opts_t o;
    ef_split_opts_default(&o);
    o.protocol = EF_SPLIT_STRATIFIED;
    o.frac_train = 80;
    o.frac_valid = 10;
    o.frac_test = 10; /* normalised by the sum */
    o.seed = 1;
    ef_split_t s;
    ef_err_t err;
    ck_assert_int_eq(ef_data_split(ds, &o, &s, &err), 0);
    ck_assert_int_eq(count_class(ds, s.train, s.n_train, 0), 800);
    ck_assert_int_eq(count_class(ds, s.valid, s.n_valid, 0), 100);
    ck_assert_int_eq(count_class(ds, s.test, s.n_test, 0), 100);
    ck_assert_int_eq(count_class(ds, s.train, s.n_train, 1), 80);
    ck_assert_int_eq(count_class(ds, s.test, s.n_test, 1), 10);
    ck_assert_int_eq(count_class(ds, s.test, s.n_test, 2), 1); /* round(0.7) */
    ck_assert_int_eq(count_class(ds, s.train, s.n_train, 2), 5);
    assert_disjoint(ds, &s);
    ef_split_free(&s);
    /* No test share (a separate --test-csv). */
    o.frac_test = 0;
    ck_assert_int_eq(ef_data_split(ds, &o, &s, &err), 0);
    ck_assert_uint_eq(s.n_test, 0);
    ck_assert_int_eq(count_class(ds, s.valid, s.n_valid, 0), 111); /* 1000 / 9 */
    ef_split_free(&s);
    o.frac_train = 0;
    ck_assert_int_eq(ef_data_split(ds, &o, &s, &err), -1);
    ck_assert_str_eq(err.msg, "split fractions must be >= 0 with a training share > 0");
    ef_data_free(ds);
    const int tiny[] = {50, 1};
    ds = make_classes(tiny, 2, labels);
    o.frac_train = 1;
    o.frac_valid = 1;
    o.frac_test = 0;
    ck_assert_int_eq(ef_data_split(ds, &o, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "class B has 1 rows: too few for the split "
                                          "fractions (no training row left)"));
    ef_data_free(ds);
}
END_TEST

/* Expected swaps of the one-pass reorder on n packets (by recursion). */
static double expected_swaps(int n, double p)
{
    double e[32] = {0};
    for (int m = 2; m <= n; m++)
        e[m] = p * (1 + e[m - 2]) + (1 - p) * e[m - 1];
    return e[n];
}

START_TEST(reorder_is_deterministic_with_the_right_rate)
{
    int perm[5], perm2[5];
    for (uint64_t row = 0; row < 50; row++) {
        ef_data_rng_t a, b;
        ef_data_rng_seed(&a, 3, ef_data_reorder_stream(0, row));
        ef_data_rng_seed(&b, 3, ef_data_reorder_stream(0, row));
        ef_data_reorder_perm(&a, 5, 0.3, perm);
        ef_data_reorder_perm(&b, 5, 0.3, perm2);
        ck_assert_mem_eq(perm, perm2, sizeof perm);
    }
    const double ps[] = {0.0, 0.1, 0.5, 1.0};
    for (size_t t = 0; t < 4; t++) {
        ef_data_rng_t r;
        ef_data_rng_seed(&r, 11, 0);
        const int trials = 20000;
        long swaps = 0, bad = 0;
        for (int i = 0; i < trials; i++) {
            swaps += ef_data_reorder_perm(&r, 5, ps[t], perm);
            int used[5] = {0};
            for (int j = 0; j < 5; j++) {
                bad += abs(perm[j] - j) > 1; /* moves at most one place */
                used[perm[j]]++;
            }
            for (int j = 0; j < 5; j++)
                bad += used[j] != 1; /* a permutation */
        }
        ck_assert_int_eq(bad, 0);
        double mean = (double)swaps / trials, want = expected_swaps(5, ps[t]);
        ck_assert_msg(fabs(mean - want) < 0.02, "p=%g: %g swaps per row, expected %g", ps[t],
                      mean, want);
    }
    /* p = 1 swaps (0,1) and (2,3); one packet cannot swap. */
    ef_data_rng_t r;
    ef_data_rng_seed(&r, 1, 0);
    ck_assert_int_eq(ef_data_reorder_perm(&r, 5, 1.0, perm), 2);
    const int want[] = {1, 0, 3, 2, 4};
    ck_assert_mem_eq(perm, want, sizeof want);
    ck_assert_int_eq(ef_data_reorder_perm(&r, 1, 1.0, perm), 0);
}
END_TEST

START_TEST(rng_below_and_shuffle)
{
    ef_data_rng_t r;
    ef_data_rng_seed(&r, 5, 0);
    int hist[3] = {0};
    for (int i = 0; i < 30000; i++)
        hist[ef_data_rng_below(&r, 3)]++;
    for (int i = 0; i < 3; i++)
        ck_assert_int_gt(hist[i], 9500);
    size_t idx[100];
    for (size_t i = 0; i < 100; i++)
        idx[i] = i;
    ef_data_shuffle(&r, idx, 100);
    size_t sum = 0, moved = 0;
    for (size_t i = 0; i < 100; i++) {
        sum += idx[i];
        moved += idx[i] != i;
    }
    ck_assert_uint_eq(sum, 4950);
    ck_assert_uint_gt(moved, 80);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reads_seed_format_exactly);
    tcase_add_test(tc, reads_extended_columns_by_name);
    tcase_add_test(tc, reads_pktdir_columns);
    tcase_add_test(tc, unknown_labels_dropped_and_counted);
    tcase_add_test(tc, accepts_float_typed_sizes_only_when_integral);
    tcase_add_test(tc, row_errors_name_line_and_column);
    tcase_add_test(tc, nul_byte_is_refused);
    tcase_add_test(tc, header_and_file_errors);
    tcase_add_test(tc, label_lists);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("sample");
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, seed_protocol_counts_and_determinism);
    tcase_add_test(ts, stratified_keeps_class_ratios);
    tcase_add_test(ts, reorder_is_deterministic_with_the_right_rate);
    tcase_add_test(ts, rng_below_and_shuffle);
    suite_add_tcase(s, ts);
    return eft_run_suite(s);
}
