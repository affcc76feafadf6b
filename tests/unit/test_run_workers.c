/* `earlyflow run --workers N`: flows are sharded over N threads, each with
 * its own flow table and plugin thread context; the EVE output must be the
 * same set of lines as with one worker (order aside, and the stats line,
 * whose flow-table figures are per worker), on generated traffic
 * (`earlyflow gen`, with reordering and duplicates) and on the real captures
 * of ../shared/data (skipped when absent), with rules and nDPI. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_run_util.h"

static const char rules[] =
    "alert ip any any -> any any (msg:\"scan\"; early.label:NetworkScan,PortScan; early.k:5; sid:1;)\n"
    "alert tcp any any -> any any (msg:\"not benign\"; early.label:!Unlabeled; early.score:>=0.6; "
    "early.k:10; sid:2;)\n"
    "alert udp any any -> any any (msg:\"dos\"; early.label:DoS; early.k:3; sid:3;)\n"
    "pass ip any any -> any 53 (msg:\"dns\"; early.k:3; sid:4;)\n";

/* For the real captures (~59k flows): k=5 only, to keep the suite fast. */
static const char rules_k5[] =
    "alert ip any any -> any any (msg:\"scan\"; early.label:NetworkScan,PortScan; early.k:5; sid:1;)\n"
    "alert tcp any any -> any any (msg:\"not benign\"; early.label:!Unlabeled; early.score:>=0.6; "
    "early.k:5; sid:2;)\n"
    "pass ip any any -> any 53 (msg:\"dns\"; early.k:5; sid:4;)\n";

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The EVE lines of dir/sub/eve.json but the stats line, sorted (as raw
 * text: the other suites check the content; here only sameness counts). The
 * stats line must be the last one; its verdict and alert counts are
 * returned. */
static char **sorted_lines(const char *dir, const char *sub, size_t *n, uint64_t *verdicts,
                           uint64_t *alerts)
{
    char *p = pathf(dir, "%s/eve.json", sub);
    size_t len = 0;
    char *text = eft_read_file(p, &len);
    ck_assert_msg(text && len > 0 && text[len - 1] == '\n', "%s: empty or unterminated", p);
    size_t cap = 1024;
    char **v = malloc(cap * sizeof *v);
    *n = 0;
    char *save = NULL, *stats = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(stats == NULL, "%s: a line after the stats line", p);
        if (strstr(line, "\"event_type\":\"stats\"")) {
            stats = line;
            continue;
        }
        if (*n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = line;
    }
    ck_assert_msg(stats != NULL, "%s: no stats line", p);
    ef_err_t err = {{0}};
    ef_json_t *doc = ef_json_parse(stats, strlen(stats), NULL, p, &err);
    ck_assert_msg(doc != NULL, "%s", err.msg);
    *verdicts = ju64(ef_json_root(doc), "stats.early.verdicts");
    *alerts = ju64(ef_json_root(doc), "stats.detect.alerts");
    ef_json_free(doc);
    qsort(v, *n, sizeof *v, cmp_str);
    /* the lines point into `text`: keep it alive as element n */
    v = realloc(v, (*n + 1) * sizeof *v);
    v[*n] = text;
    free(p);
    return v;
}

static void free_lines(char **v, size_t n)
{
    free(v[n]);
    free(v);
}

/* Run `inputs` with 1, 2 and 4 workers; the sets of lines must be equal.
 * Returns the number of lines compared. */
static size_t compare_workers(const char *dir, const char *inputs, const char *flags)
{
    static const int workers[] = {1, 2, 4};
    char **base = NULL;
    size_t nbase = 0;
    uint64_t v0 = 0, a0 = 0;
    for (int i = 0; i < 3; i++) {
        run_t r;
        run_host(&r, "-q -c '%s/c.yaml' -S '%s/r.rules' %s -l '%s/w%d' --workers %d %s", dir, dir,
                 inputs, dir, workers[i], workers[i], flags);
        ck_assert_msg(r.rc == 0, "--workers %d: exit %d: %s", workers[i], r.rc, r.err);
        run_free(&r);
        char sub[16];
        snprintf(sub, sizeof sub, "w%d", workers[i]);
        size_t n = 0;
        uint64_t v = 0, a = 0;
        char **lines = sorted_lines(dir, sub, &n, &v, &a);
        if (i == 0) {
            base = lines;
            nbase = n;
            v0 = v;
            a0 = a;
            ck_assert_uint_gt(n, 100);
            ck_assert_uint_gt(a, 0);
            continue;
        }
        ck_assert_msg(n == nbase, "--workers %d: %zu lines, 1 worker: %zu", workers[i], n, nbase);
        for (size_t l = 0; l < n; l++)
            ck_assert_msg(!strcmp(lines[l], base[l]), "--workers %d differs:\n  %s\nvs\n  %s",
                          workers[i], lines[l], base[l]);
        ck_assert_uint_eq(v, v0);
        ck_assert_uint_eq(a, a0);
        free_lines(lines, n);
    }
    free_lines(base, nbase);
    return nbase;
}

START_TEST(generated_traffic)
{
    char *dir = eft_mkdtemp("run-workers-gen");
    char *cmd = NULL;
    ck_assert_int_ge(asprintf(&cmd,
                              "'%s' gen -q -o '%s/g.pcap' --labels '%s/g.csv' --flows 1500 "
                              "--duration 10 --snaplen 96 --reorder 0.05 --dup 0.01 --seed 7",
                              eft_bin(), dir, dir),
                     0);
    char *err = NULL;
    ck_assert_msg(eft_run(cmd, NULL, &err) == 0, "gen: %s", err);
    free(err);
    free(cmd);
    write_text(dir, "c.yaml", "earlyflow:\n  k: [3, 5, 10, 20]\n");
    write_text(dir, "r.rules", rules);
    char *in = NULL;
    ck_assert_int_ge(asprintf(&in, "-r '%s/g.pcap'", dir), 0);
    size_t n = compare_workers(dir, in, "--no-ndpi");
    ck_assert_uint_gt(n, 1000);
    free(in);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* Every capture of ../shared/data that libpcap can read whole, in one run. */
static void add_captures(const char *dir, char **args, size_t *len, size_t *cap, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = eft_path(dir, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        const char *p = names[i];
        size_t pl = strlen(p);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            add_captures(p, args, len, cap, count);
        } else if ((pl > 5 && !strcmp(p + pl - 5, ".pcap")) ||
                   (pl > 7 && !strcmp(p + pl - 7, ".pcapng"))) {
            /* libpcap cannot read pcapng files whose interfaces have
             * different link types; that one file would end the run */
            if (!strstr(p, "cyanivde_traceroute.pcapng")) {
                while (*len + pl + 8 > *cap)
                    *args = realloc(*args, *cap *= 2);
                *len += (size_t)sprintf(*args + *len, " -r '%s'", p);
                (*count)++;
            }
        }
        free(names[i]);
    }
    free(names);
}

START_TEST(real_captures)
{
    const char *shared = eft_shared_data();
    if (!shared) {
        fprintf(stderr, "test_run_workers: ../shared/data absent, real captures skipped\n");
        return;
    }
    char *dir = eft_mkdtemp("run-workers-real");
    size_t cap = 4096, len = 0;
    char *args = calloc(1, cap);
    int count = 0;
    add_captures(shared, &args, &len, &cap, &count);
    if (count == 0) {
        fprintf(stderr, "test_run_workers: no captures in %s, skipped\n", shared);
    } else {
        write_text(dir, "c.yaml", "earlyflow:\n  k: [5]\n");
        write_text(dir, "r.rules", rules_k5);
        size_t n = compare_workers(dir, args, "--ndpi");
        fprintf(stderr, "test_run_workers: %d captures, %zu EVE lines equal with 1, 2, 4 workers\n",
                count, n);
    }
    free(args);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_workers");
    TCase *tc = tcase_create("workers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, generated_traffic);
    tcase_add_test(tc, real_captures);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
