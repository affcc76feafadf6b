/* `earlyflow run` as a host: command-line usage, configuration errors,
 * plugin loading failures (missing file, not a shared object, a .so without
 * the entry symbol, NULL entry, wrong ABI version, incomplete hook table:
 * the test plugins of tests/plugins), inputs (several files, a directory,
 * pcapng, stdin, a missing or unreadable file), and the host's side of the
 * hook ABI observed by the recording plugin (tests/plugins/recording.c):
 * one init/deinit, one thread context per worker, every flow started, fed
 * its packets in order with the right directions and sizes, and ended
 * exactly once, from one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_run_util.h"

#define T0 1690000000000000ull
#define MS 1000ull
#define TEST_PLUGIN(name) EF_BINARY_DIR "/tests/plugins/" name ".so"

/* A small capture: `n` UDP flows of 1..3 packets and one TCP session. */
static void write_small(const char *path, int n)
{
    pb_writer_t *w = pb_writer_open(path, PB_DLT_EN10MB, 0);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < n; i++) {
        pb_flow_t fl;
        char cli[32];
        snprintf(cli, sizeof cli, "10.3.%d.%d", i / 200, i % 200 + 1);
        pb_flow_init(&fl, 17, cli, (uint16_t)(3000 + i), "10.4.0.1", 53);
        for (int j = 0; j <= i % 3; j++)
            put_pkt(w, &fl, T0 + (uint64_t)(i * 10 + j) * MS, j % 2 ? PB_S2C : PB_C2S, 0,
                    100 + (unsigned)j);
    }
    pb_flow_t t;
    pb_flow_init(&t, 6, "10.5.0.1", 44444, "10.5.0.2", 80);
    ck_assert_int_eq(pb_tcp_session(w, &t, T0 + (uint64_t)n * 10 * MS, 1000, 2, 100, 500), 10);
    ck_assert_int_eq(pb_writer_close(w), 0);
}

typedef struct env {
    char *dir, *pcap;
} env_t;

static env_t env_new(const char *tag)
{
    env_t v;
    v.dir = eft_mkdtemp(tag);
    v.pcap = eft_path(v.dir, "small.pcap");
    write_small(v.pcap, 5);
    return v;
}

static void env_free(env_t *v)
{
    eft_rmtree(v->dir);
    free(v->dir);
    free(v->pcap);
}

static void expect_fail(const run_t *r, int rc, const char *needle)
{
    ck_assert_msg(r->rc == rc, "exit %d, expected %d; stderr: %s", r->rc, rc, r->err);
    ck_assert_msg(strstr(r->err, needle), "stderr lacks '%s': %s", needle, r->err);
}

/* ---- usage ---------------------------------------------------------------------- */

START_TEST(usage_errors)
{
    env_t v = env_new("run-usage");
    run_t r;
    run_host(&r, "-l '%s'", v.dir);
    expect_fail(&r, 2, "give either -r CAPTURE or -i IFACE");
    run_free(&r);
    run_host(&r, "-r '%s' -i lo", v.pcap);
    expect_fail(&r, 2, "give either -r CAPTURE or -i IFACE");
    run_free(&r);
    run_host(&r, "-r '%s' --workers 0", v.pcap);
    expect_fail(&r, 2, "--workers: expected 1..64, got '0'");
    run_free(&r);
    run_host(&r, "-r '%s' --workers 65", v.pcap);
    expect_fail(&r, 2, "--workers: expected 1..64, got '65'");
    run_free(&r);
    run_host(&r, "-r '%s' --workers 2x", v.pcap);
    expect_fail(&r, 2, "--workers: expected 1..64, got '2x'");
    run_free(&r);
    run_host(&r, "-r '%s' --bogus", v.pcap);
    expect_fail(&r, 2, "usage: earlyflow run");
    run_free(&r);
    run_host(&r, "-r '%s' udp port 53", v.pcap);
    expect_fail(&r, 2, "unexpected argument 'udp' (a BPF filter needs -i)");
    run_free(&r);
    run_host(&r, "--help");
    ck_assert_int_eq(r.rc, 0);
    ck_assert_msg(strstr(r.out, "usage: earlyflow run") && strstr(r.out, "--workers N"), "%s",
                  r.out);
    run_free(&r);
    /* -v: the plugin's informational messages; --progress: a bar on stderr
     * even when it is not a terminal; --no-progress: none */
    run_host(&r, "-q -v --progress -r '%s' -l '%s/v'", v.pcap, v.dir);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_msg(strstr(r.err, "earlyflow: deciding at k=5 with model builtin_k5"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "100%") && strstr(r.err, "small.pcap"), "%s", r.err);
    run_free(&r);
    run_host(&r, "-q --no-progress -r '%s' -l '%s/v'", v.pcap, v.dir);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(r.err, ""); /* quiet: no plugin info, no bar */
    run_free(&r);
    char *vdir = pathf(v.dir, "v");
    eft_rmtree(vdir);
    free(vdir);
    /* nothing was written by any of these */
    char *eve = eft_path(v.dir, "eve.json");
    ck_assert_int_ne(access(eve, F_OK), 0);
    free(eve);
    env_free(&v);
}
END_TEST

/* ---- configuration errors ---------------------------------------------------------- */

START_TEST(config_errors)
{
    env_t v = env_new("run-config");
    static const struct {
        const char *yaml, *needle;
    } cases[] = {
        {"earlyflow:\n  k: [5, 7]\n", "c.yaml:2:10: error: earlyflow.k.1: expected a k of 3, 5, 10 or 20, got '7'"},
        {"earlyflow:\n  flow-timeouts:\n    new: abc\n",
         "c.yaml:3:10: error: earlyflow.flow-timeouts.new: expected a number of seconds"},
        {"earlyflow:\n  memcap: lots\n", "c.yaml:2:11: error: earlyflow.memcap: expected a size"},
        {"earlyflow:\n  min-score: 1.5\n", "earlyflow.min-score"},
        {"earlyflow:\n  ndpi: maybe\n", "earlyflow.ndpi"},
        {"earlyflow:\n  eve:\n    types: [early, bogus]\n", "earlyflow.eve.types"},
        {"rule-files: a.rules\n", "c.yaml:1:13: error: rule-files: expected a list of strings"},
        {"earlyflow: [1, 2\n", "c.yaml:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(v.dir, "c.yaml", cases[i].yaml);
        run_t r;
        run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s/o'", v.dir, v.pcap, v.dir);
        ck_assert_msg(r.rc == 1, "case %zu: exit %d; %s", i, r.rc, r.err);
        ck_assert_msg(strstr(r.err, cases[i].needle), "case %zu: stderr lacks '%s': %s", i,
                      cases[i].needle, r.err);
        run_free(&r);
    }
    /* an unknown key warns and the run goes on */
    write_text(v.dir, "w.yaml", "earlyflow:\n  modle: builtin\n");
    run_t r;
    run_host(&r, "-c '%s/w.yaml' -r '%s' -l '%s/o'", v.dir, v.pcap, v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "w.yaml:2:3: warning: earlyflow.modle: unknown key (did you mean "
                                "'model'?)"),
                  "%s", r.err);
    run_free(&r);
    /* a missing config file */
    run_host(&r, "-c '%s/none.yaml' -r '%s' -l '%s/o'", v.dir, v.pcap, v.dir);
    expect_fail(&r, 1, "none.yaml: cannot open config file");
    run_free(&r);
    /* a model the plugin cannot load: init fails with the plugin's reason */
    write_text(v.dir, "m.yaml", "earlyflow:\n  model: /nonexistent/x.safetensors\n");
    run_host(&r, "-c '%s/m.yaml' -r '%s' -l '%s/o'", v.dir, v.pcap, v.dir);
    expect_fail(&r, 1, "failed to initialise: earlyflow: /nonexistent/x.safetensors");
    run_free(&r);
    env_free(&v);
}
END_TEST

/* An EVE file that cannot be written (/dev/full): exit 1 with the file, the
 * reason and how many lines were lost (all of them), summary still printed;
 * with 2 workers writing at once too. */
START_TEST(eve_write_failure)
{
    env_t v = env_new("run-evefail");
    write_text(v.dir, "c.yaml", "earlyflow:\n  eve:\n    filename: /dev/full\n");
    for (int workers = 1; workers <= 2; workers++) {
        run_t r;
        run_host(&r, "-c '%s/c.yaml' -r '%s' --workers %d", v.dir, v.pcap, workers);
        /* 6 flows: 6 early events and the stats line */
        expect_fail(&r, 1, "earlyflow run: /dev/full: EVE write failed: No space left on device "
                           "(7 lines lost)");
        ck_assert_msg(strstr(r.out, "verdicts                6"), "%s", r.out);
        run_free(&r);
    }
    env_free(&v);
}
END_TEST

/* ---- plugin loading ---------------------------------------------------------------- */

START_TEST(plugin_load_failures)
{
    env_t v = env_new("run-plugin");
    write_text(v.dir, "text.so", "not an ELF file\n");
    static const struct {
        const char *plugin, *needle;
    } cases[] = {
        {"/nonexistent/earlyflow.so", "plugin /nonexistent/earlyflow.so: No such file or directory"},
        {NULL /* text.so */, "text.so: cannot load shared object"},
        {NULL /* the directory */, "not a regular file"},
        {TEST_PLUGIN("noentry"), "noentry.so: not an earlyflow plugin (no symbol earlyflow_plugin_entry)"},
        {TEST_PLUGIN("null_entry"), "null_entry.so: entry point returned no plugin"},
        {TEST_PLUGIN("wrong_abi"), "wrong_abi.so: ABI version 42, this host speaks version 1"},
        {TEST_PLUGIN("incomplete"), "incomplete.so: incomplete hook table (packet is NULL)"},
    };
    char *text = eft_path(v.dir, "text.so");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = cases[i].plugin ? cases[i].plugin : i == 1 ? text : v.dir;
        run_t r;
        run_host(&r, "-P '%s' -r '%s' -l '%s/o'", p, v.pcap, v.dir);
        ck_assert_msg(r.rc == 1, "%s: exit %d (a crash is >= 128); %s", p, r.rc, r.err);
        ck_assert_msg(strstr(r.err, cases[i].needle), "%s: stderr lacks '%s': %s", p,
                      cases[i].needle, r.err);
        run_free(&r);
    }
    char *eve = pathf(v.dir, "o/eve.json");
    ck_assert_int_ne(access(eve, F_OK), 0); /* refused before any output */
    free(eve);
    free(text);
    env_free(&v);
}
END_TEST

/* `plugins:` in the config: a Suricata-only .so (no entry symbol) is skipped
 * with a note; a broken earlyflow plugin is an error naming the entry. */
START_TEST(plugins_from_config)
{
    env_t v = env_new("run-plugins-cfg");
    char *cfg = NULL;
    run_t r;
    ck_assert_int_ge(asprintf(&cfg, "plugins:\n  - %s\n  - %s\n  - %s\n",
                              TEST_PLUGIN("noentry"), TEST_PLUGIN("needs_host"), eft_plugin()),
                     0);
    write_text(v.dir, "a.yaml", cfg);
    free(cfg);
    run_host(&r, "-c '%s/a.yaml' -r '%s' -l '%s/o'", v.dir, v.pcap, v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "note: plugin") && strstr(r.err, "noentry.so: not an earlyflow "
                                                                 "plugin") &&
                      strstr(r.err, "skipped"),
                  "%s", r.err);
    /* a Suricata-style plugin with symbols only Suricata provides: skipped,
     * the note names the missing symbol, its constructor never ran */
    ck_assert_msg(strstr(r.err, "needs_host.so: cannot load shared object: ") &&
                      strstr(r.err, "undefined symbol: SCTestHostOnlyLog (skipped"),
                  "%s", r.err);
    ck_assert_msg(!strstr(r.err, "constructor ran"), "%s", r.err);
    run_free(&r);
    /* given with -P, it is an error naming the missing symbol */
    run_host(&r, "-P '%s' -r '%s' -l '%s/o5'", TEST_PLUGIN("needs_host"), v.pcap, v.dir);
    expect_fail(&r, 1, "undefined symbol: SCTestHostOnlyLog");
    run_free(&r);

    ck_assert_int_ge(asprintf(&cfg, "plugins:\n  - %s\n", TEST_PLUGIN("wrong_abi")), 0);
    write_text(v.dir, "b.yaml", cfg);
    free(cfg);
    run_host(&r, "-c '%s/b.yaml' -r '%s' -l '%s/o2'", v.dir, v.pcap, v.dir);
    expect_fail(&r, 1, "b.yaml: plugins[0]: plugin");
    ck_assert_msg(strstr(r.err, "ABI version 42"), "%s", r.err);
    run_free(&r);

    /* -P wins over the config's list */
    run_host(&r, "-c '%s/b.yaml' -P '%s' -r '%s' -l '%s/o3'", v.dir, eft_plugin(), v.pcap, v.dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    run_free(&r);

    /* a plugin name without a slash is a file in the current directory, not
     * a library search */
    char *cmd = NULL;
    ck_assert_int_ge(asprintf(&cmd, "cp '%s' '%s/ef.so' && cd '%s' && '%s' run -q -P ef.so -r "
                                    "small.pcap -l o4",
                              eft_plugin(), v.dir, v.dir, eft_bin()),
                     0);
    char *err = NULL;
    ck_assert_int_eq(eft_run(cmd, NULL, &err), 0);
    free(err);
    free(cmd);
    env_free(&v);
}
END_TEST

/* ---- inputs ------------------------------------------------------------------------ */

/* packets 1-3 of a flow in one file, 4-6 in the next: one flow across files */
static void write_split(const char *a, const char *b)
{
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "10.6.0.1", 6000, "10.6.0.2", 6001);
    pb_writer_t *w = pb_writer_open(a, PB_DLT_EN10MB, 0);
    for (int i = 0; i < 3; i++)
        put_pkt(w, &fl, T0 + (uint64_t)i * MS, i % 2, 0, 100);
    ck_assert_int_eq(pb_writer_close(w), 0);
    w = pb_writer_open(b, PB_DLT_RAW, 0);
    for (int i = 3; i < 6; i++)
        put_pkt(w, &fl, T0 + (uint64_t)i * MS, i % 2, 0, 100);
    ck_assert_int_eq(pb_writer_close(w), 0);
}

static void check_split_run(const run_t *r, const char *dir, const char *sub)
{
    ck_assert_msg(r->rc == 0, "%s", r->err);
    char *p = pathf(dir, "%s/eve.json", sub);
    eve_t *e = eve_read(p);
    ck_assert_uint_eq(eve_count(e, "early"), 1);
    const ef_json_value_t *ev = e->ev[0];
    ck_assert_uint_eq(ju64(ev, "early.packets"), 5);
    ck_assert_int_eq(jbool(ev, "early.at_flow_end"), 0);
    char ts[40];
    ts_text(T0 + 4 * MS, ts, sizeof ts);
    ck_assert_str_eq(jstr(ev, "timestamp"), ts);
    ck_assert_uint_eq(ju64(e->ev[e->n - 1], "stats.decoder.pkts"), 6);
    eve_free(e);
    free(p);
}

START_TEST(inputs)
{
    char *dir = eft_mkdtemp("run-inputs");
    char *cap = pathf(dir, "caps");
    ck_assert_int_eq(mkdir(cap, 0755), 0);
    char *a = pathf(dir, "caps/a.pcap"), *b = pathf(dir, "caps/b.pcap");
    write_split(a, b);
    char *cfg = steer_config("[5]", NULL);
    write_text(dir, "c.yaml", cfg);
    free(cfg);
    run_t r;

    /* two -r files (Ethernet, then raw IP) */
    run_host(&r, "-c '%s/c.yaml' -r '%s' -r '%s' -l '%s/o1'", dir, a, b, dir);
    check_split_run(&r, dir, "o1");
    run_free(&r);
    /* a directory: its files in name order */
    run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s/o2'", dir, cap, dir);
    check_split_run(&r, dir, "o2");
    run_free(&r);

    /* pcapng, two interfaces (libpcap needs them to share a link type) */
    char *ng = pathf(dir, "x.pcapng");
    pb_ng_t *w = pb_ng_open(ng);
    int eth = pb_ng_interface(w, PB_DLT_EN10MB), eth2 = pb_ng_interface(w, PB_DLT_EN10MB);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "10.7.0.1", 7000, "10.7.0.2", 7001);
    for (int i = 0; i < 6; i++) {
        pb_frame_t *f = malloc(sizeof *f);
        ck_assert_int_ge(pb_flow_frame(f, PB_DLT_EN10MB, &fl, i % 2, 0, NULL,
                                       72),
                         0);
        ck_assert_int_eq(pb_ng_packet(w, i < 3 ? eth : eth2, T0 + (uint64_t)i * MS, f->data, f->len),
                         0);
        free(f);
    }
    ck_assert_int_eq(pb_ng_close(w), 0);
    run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s/o3'", dir, ng, dir);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    char *p = pathf(dir, "o3/eve.json");
    eve_t *e = eve_read(p);
    ck_assert_uint_eq(eve_count(e, "early"), 1);
    ck_assert_str_eq(jstr(e->ev[0], "early.label"), steer_probe(100).label); /* 72 + 28 */
    ck_assert_uint_eq(ju64(e->ev[0], "early.packets"), 5);
    eve_free(e);
    free(p);
    run_free(&r);

    /* stdin */
    run_host(&r, "-c '%s/c.yaml' -r - -l '%s/o4' < '%s'", dir, dir, ng);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    p = pathf(dir, "o4/eve.json");
    e = eve_read(p);
    ck_assert_uint_eq(eve_count(e, "early"), 1);
    ck_assert_uint_eq(ju64(e->ev[e->n - 1], "stats.decoder.pkts"), 6);
    eve_free(e);
    free(p);
    run_free(&r);

    /* a missing file among several: nothing runs */
    run_host(&r, "-c '%s/c.yaml' -r '%s' -r '%s/missing.pcap' -l '%s/o5'", dir, a, dir, dir);
    expect_fail(&r, 1, "missing.pcap: cannot open: No such file or directory");
    char *o5 = pathf(dir, "o5/eve.json");
    ck_assert_int_ne(access(o5, F_OK), 0);
    free(o5);
    run_free(&r);
    /* a file that is not a capture: an error naming it and the offset */
    run_host(&r, "-c '%s/c.yaml' -r '%s/c.yaml' -l '%s/o6'", dir, dir, dir);
    expect_fail(&r, 1, "c.yaml: byte 0: not a readable pcap or pcapng file");
    run_free(&r);
    /* an empty directory */
    char *empty = pathf(dir, "empty");
    ck_assert_int_eq(mkdir(empty, 0755), 0);
    run_host(&r, "-c '%s/c.yaml' -r '%s' -l '%s/o7'", dir, empty, dir);
    expect_fail(&r, 1, "directory holds no files");
    run_free(&r);
    /* garbage on stdin */
    run_host(&r, "-c '%s/c.yaml' -r - -l '%s/o8' < '%s/c.yaml'", dir, dir, dir);
    ck_assert_int_eq(r.rc, 1);
    ck_assert_int_gt((int)strlen(r.err), 0);
    run_free(&r);

    free(empty);
    free(ng);
    free(a);
    free(b);
    free(cap);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- the host's side of the ABI, seen by the recording plugin ------------------------ */

typedef struct rec_flow {
    unsigned packets, c2s, proto, errors;
    unsigned long long bytes, first, last;
    int thread;
} rec_flow_t;

/* _i: workers 1, 2, 4 */
START_TEST(host_contract_recorded)
{
    static const int workers[] = {1, 2, 4};
    const int nw = workers[_i];
    enum { NUDP = 60 };
    char *dir = eft_mkdtemp("run-record");
    char *pcap = eft_path(dir, "s.pcap");
    write_small(pcap, NUDP);
    char *rec = eft_path(dir, "record.txt");
    char *cfg = NULL;
    ck_assert_int_ge(asprintf(&cfg, "recorder:\n  file: %s\n  label: PortScan\n", rec), 0);
    write_text(dir, "c.yaml", cfg);
    run_t r;
    run_host(&r, "-c '%s/c.yaml' -P '%s' -r '%s' -l '%s' --workers %d", dir,
             TEST_PLUGIN("recording"), pcap, dir, nw);
    ck_assert_msg(r.rc == 0, "%s", r.err);

    char *text = eft_read_file(rec, NULL);
    ck_assert_ptr_nonnull(text);
    int inits = 0, deinits = 0, tinit = 0, tdeinit = 0, nflows = 0;
    rec_flow_t fl[NUDP + 1];
    char *save = NULL;
    int line_no = 0, last_is_deinit = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        last_is_deinit = 0;
        ck_assert_msg(strncmp(line, "error", 5), "recorder: %s", line);
        if (!strcmp(line, "init abi=1")) {
            ck_assert_int_eq(line_no, 1);
            inits++;
        } else if (!strcmp(line, "deinit")) {
            deinits++;
            last_is_deinit = 1;
        } else if (!strncmp(line, "thread_init ", 12)) {
            tinit++;
        } else if (!strncmp(line, "thread_deinit ", 14)) {
            tdeinit++;
        } else {
            rec_flow_t *f = &fl[nflows];
            ck_assert_int_lt(nflows, NUDP + 1);
            ck_assert_msg(sscanf(line,
                                 "flow %u c2s=%u bytes=%llu first=%llu last=%llu proto=%u "
                                 "flags=%*u thread=%d errors=%u",
                                 &f->packets, &f->c2s, &f->bytes, &f->first, &f->last, &f->proto,
                                 &f->thread, &f->errors) == 8,
                          "bad record line: %s", line);
            ck_assert_msg(f->errors == 0, "contract violated: %s", line);
            ck_assert_int_lt(f->thread, nw);
            nflows++;
        }
    }
    ck_assert_int_eq(inits, 1);
    ck_assert_int_eq(deinits, 1);
    ck_assert(last_is_deinit);
    ck_assert_int_eq(tinit, nw);
    ck_assert_int_eq(tdeinit, nw);
    ck_assert_int_eq(nflows, NUDP + 1);
    /* each flow as written: UDP flow i has i % 3 + 1 packets of 100, 101,
     * 102 bytes, alternating direction; the TCP session 10 packets */
    int matched[NUDP + 1] = {0};
    for (int k = 0; k < nflows; k++) {
        const rec_flow_t *f = &fl[k];
        if (f->proto == 6) {
            ck_assert_uint_eq(f->packets, 10);
            ck_assert_uint_eq(f->c2s, 6);
            ck_assert_uint_eq(f->bytes, 6 * 40 + 2 * 140 + 2 * 540); /* 6 bare, 2+2 data */
            matched[NUDP]++;
            continue;
        }
        unsigned long long rel = (f->first - T0) / MS;
        ck_assert_uint_eq(rel % 10, 0);
        int i = (int)(rel / 10);
        ck_assert_int_lt(i, NUDP);
        unsigned n = (unsigned)(i % 3 + 1);
        ck_assert_uint_eq(f->proto, 17);
        ck_assert_uint_eq(f->packets, n);
        ck_assert_uint_eq(f->c2s, (n + 1) / 2);
        ck_assert_uint_eq(f->bytes, n * 100 + n * (n - 1) / 2);
        ck_assert_uint_eq(f->last, T0 + ((unsigned long long)i * 10 + n - 1) * MS);
        matched[i]++;
    }
    for (int i = 0; i <= NUDP; i++)
        ck_assert_int_eq(matched[i], 1);

    /* the plugin's own verdicts reach EVE: k=3 at the 3rd packet, else at
     * flow end; label and model as the plugin said */
    char *evp = eft_path(dir, "eve.json");
    eve_t *e = eve_read(evp);
    ck_assert_uint_eq(eve_count(e, "early"), NUDP + 1);
    for (size_t i = 0; i < e->n; i++) {
        const ef_json_value_t *ev = e->ev[i];
        if (!is_type(ev, "early"))
            continue;
        ck_assert_str_eq(jstr(ev, "early.label"), "PortScan");
        ck_assert_str_eq(jstr(ev, "early.model"), "recorder");
        uint64_t packets = ju64(ev, "early.packets");
        ck_assert_int_eq(jbool(ev, "early.at_flow_end"), packets < 3);
        ck_assert_double_eq_tol(jnum(ev, "early.probabilities.Unlabeled"), 0.25, 1e-9);
    }
    /* the host keeps no pointer into the verdict past the callback: the
     * plugin overwrites its strings right after each call */
    ck_assert_uint_eq(ju64(e->ev[e->n - 1], "stats.early.labels.PortScan"), NUDP + 1);
    ck_assert_ptr_null(strstr(r.out, "stale"));
    ck_assert_msg(strstr(r.out, "    PortScan   "), "%s", r.out);
    eve_free(e);
    free(evp);
    free(text);
    run_free(&r);
    free(cfg);
    free(rec);
    free(pcap);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_host");
    TCase *tc = tcase_create("host");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, eve_write_failure);
    tcase_add_test(tc, plugin_load_failures);
    tcase_add_test(tc, plugins_from_config);
    tcase_add_test(tc, inputs);
    tcase_add_loop_test(tc, host_contract_recorded, 0, 3);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
