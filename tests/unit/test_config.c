/* Config: every key and its default, wrong types with key path and
 * position, unknown keys, the dotted view, YAML errors and hostile files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diags.h"
#include "eftest.h"
#include "ids/config.h"

#define ASSERT_DIAG(ds, needle)                                                                    \
    do {                                                                                           \
        if (!has_diag((ds), (needle))) {                                                           \
            for (int i_ = 0; i_ < (ds)->n; i_++)                                                   \
                fprintf(stderr, "  diag: %s\n", (ds)->line[i_]);                                   \
            ck_abort_msg("missing diagnostic: %s", (needle));                                     \
        }                                                                                          \
    } while (0)

static ef_config_t *parse(const char *yaml, diags_t *ds, ef_err_t *err)
{
    memset(ds, 0, sizeof *ds);
    return ef_config_load_string("c.yaml", yaml, strlen(yaml), collect, ds, err);
}

/* The YAML fails to load with this first error (err) and diagnostic. */
static void expect_error(const char *yaml, const char *msg)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse(yaml, &ds, &err);
    ck_assert_msg(c == NULL, "loaded, expected: %s", msg);
    ASSERT_DIAG(&ds, msg);
    /* err holds the first error with its position (without "error: ") */
    ck_assert_msg(strncmp(err.msg, "c.yaml:", 7) == 0, "%s", err.msg);
}

START_TEST(defaults)
{
    ef_err_t err;
    ef_config_t *c = ef_config_default(&err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->path, "<defaults>");
    ck_assert_ptr_null(c->default_rule_path);
    ck_assert_uint_eq(c->n_rule_files, 0);
    ck_assert_str_eq(c->default_log_dir, ".");
    ck_assert_uint_eq(c->n_plugins, 0);
    ck_assert_ptr_null(c->classification_file);
    const ef_config_earlyflow_t *e = &c->earlyflow;
    ck_assert_str_eq(e->model, "builtin");
    for (int k = 0; k <= EF_K_MAX; k++)
        ck_assert_ptr_null(e->models[k]);
    ck_assert_int_eq(e->n_k, 1);
    ck_assert_int_eq(e->k[0], 5);
    ck_assert_uint_eq(e->k_mask, 1u << 5);
    ck_assert(e->min_score == 0);
    ck_assert_uint_eq(e->timeout_new_us, 1000000);
    ck_assert_uint_eq(e->timeout_established_us, 1000000);
    ck_assert_uint_eq(e->timeout_closed_us, 1000000);
    ck_assert_uint_eq(e->memcap, 64u << 20);
    ck_assert_int_eq(e->ndpi, 0);
    ck_assert_int_eq(e->eve.enabled, 1);
    ck_assert_str_eq(e->eve.filename, "eve.json");
    ck_assert_uint_eq(e->eve.types, EF_EVE_TYPE_EARLY | EF_EVE_TYPE_ALERT | EF_EVE_TYPE_STATS);
    ck_assert_int_eq(e->eve.early_labels, EF_EVE_LABELS_ALL);
    /* the flat view answers the earlyflow.* defaults */
    ck_assert_str_eq(ef_config_get(c, "earlyflow.model"), "builtin");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.k"), "5");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.eve.types"), "early,alert,stats");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.memcap"), "64mb");
    ck_assert_ptr_null(ef_config_get(c, "earlyflow.models.5"));
    ck_assert_ptr_null(ef_config_get(c, "vars.address-groups.HOME_NET"));
    ef_config_free(c);

    /* an empty file is all defaults too */
    diags_t ds;
    c = parse("", &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->earlyflow.model, "builtin");
    ck_assert_int_eq(ds.n, 0);
    ef_config_free(c);
    c = parse("# only a comment\n", &ds, &err);
    ck_assert_ptr_nonnull(c);
    ef_config_free(c);
}
END_TEST

START_TEST(every_key)
{
    diags_t ds = {0};
    ef_err_t err;
    ef_config_t *c = ef_config_load(EF_TEST_DATA "/config/full.yaml", collect, &ds, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(ds.n, 0); /* outputs:, af-packet: are Suricata's: no warning */
    ck_assert_str_eq(c->path, EF_TEST_DATA "/config/full.yaml");
    ck_assert_str_eq(c->default_rule_path, "/etc/earlyflow/rules");
    ck_assert_uint_eq(c->n_rule_files, 2);
    ck_assert_str_eq(c->rule_files[0], "earlyflow.rules");
    ck_assert_str_eq(c->rule_files[1], "/abs/local.rules");
    ck_assert_str_eq(c->default_log_dir, "/var/log/earlyflow");
    ck_assert_str_eq(c->classification_file, "/etc/earlyflow/classification.config");
    ck_assert_uint_eq(c->n_plugins, 1);
    ck_assert_str_eq(c->plugins[0], "/usr/lib/earlyflow/earlyflow.so");
    const ef_config_earlyflow_t *e = &c->earlyflow;
    ck_assert_str_eq(e->model, "/models/k5.safetensors");
    ck_assert_str_eq(e->models[3], "/models/k3.safetensors");
    ck_assert_str_eq(e->models[20], "/models/k20.safetensors");
    ck_assert_ptr_null(e->models[5]);
    ck_assert_int_eq(e->n_k, 3);
    ck_assert_int_eq(e->k[0], 3);
    ck_assert_int_eq(e->k[1], 5);
    ck_assert_int_eq(e->k[2], 20);
    ck_assert_uint_eq(e->k_mask, (1u << 3) | (1u << 5) | (1u << 20));
    ck_assert(e->min_score == 0.25);
    ck_assert_uint_eq(e->timeout_new_us, 2000000);
    ck_assert_uint_eq(e->timeout_established_us, 30500000);
    ck_assert_uint_eq(e->timeout_closed_us, 0);
    ck_assert_uint_eq(e->memcap, 128u << 20);
    ck_assert_int_eq(e->ndpi, 1);
    ck_assert_int_eq(e->eve.enabled, 0);
    ck_assert_str_eq(e->eve.filename, "early.json");
    ck_assert_uint_eq(e->eve.types,
                      EF_EVE_TYPE_EARLY | EF_EVE_TYPE_ALERT | EF_EVE_TYPE_STATS | EF_EVE_TYPE_FLOW);
    ck_assert_int_eq(e->eve.early_labels, EF_EVE_LABELS_ATTACKS);

    int line, col;
    const char *v = ef_config_var(c, EF_VAR_ADDRESS, "HOME_NET", &line, &col);
    ck_assert_str_eq(v, "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]");
    ck_assert_int_eq(line, 7);
    ck_assert_int_eq(col, 15);
    ck_assert_str_eq(ef_config_var(c, EF_VAR_PORT, "SSH_PORTS", NULL, NULL), "22");
    ck_assert_ptr_null(ef_config_var(c, EF_VAR_PORT, "HOME_NET", NULL, NULL));
    ck_assert_uint_eq(ef_config_var_count(c, EF_VAR_ADDRESS), 3);
    ck_assert_str_eq(ef_config_var_name(c, EF_VAR_ADDRESS, 2), "DNS_SERVERS");
    ck_assert_ptr_null(ef_config_var_name(c, EF_VAR_ADDRESS, 3));

    char *p = ef_config_rule_file(c, 0);
    ck_assert_str_eq(p, "/etc/earlyflow/rules/earlyflow.rules");
    free(p);
    p = ef_config_rule_file(c, 1);
    ck_assert_str_eq(p, "/abs/local.rules");
    free(p);
    ck_assert_ptr_null(ef_config_rule_file(c, 2));
    p = ef_config_log_path(c, "eve.json");
    ck_assert_str_eq(p, "/var/log/earlyflow/eve.json");
    free(p);
    p = ef_config_log_path(c, "-");
    ck_assert_str_eq(p, "-");
    free(p);
    ef_config_free(c);
}
END_TEST

START_TEST(flat_view)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = ef_config_load(EF_TEST_DATA "/config/full.yaml", collect, &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(ef_config_get(c, "earlyflow.model"), "/models/k5.safetensors");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.k"), "3,5,20");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.k.1"), "5");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.models.20"), "/models/k20.safetensors");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.flow-timeouts.established"), "30.5");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.memcap"), "128mb");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.eve.types"), "early,alert,stats,flow");
    ck_assert_str_eq(ef_config_get(c, "rule-files"), "earlyflow.rules,/abs/local.rules");
    ck_assert_str_eq(ef_config_get(c, "rule-files.1"), "/abs/local.rules");
    ck_assert_str_eq(ef_config_get(c, "vars.address-groups.EXTERNAL_NET"), "!$HOME_NET");
    ck_assert_str_eq(ef_config_get(c, "outputs.0.eve-log.filename"), "eve.json");
    ck_assert_ptr_null(ef_config_get(c, "outputs"));         /* a list of mappings */
    ck_assert_ptr_null(ef_config_get(c, "earlyflow.models")); /* a mapping */
    ck_assert_ptr_null(ef_config_get(c, "earlyflow.nope"));
    ck_assert_ptr_null(ef_config_get(c, ""));
    int line, col;
    ck_assert_int_eq(ef_config_mark(c, "earlyflow.min-score", &line, &col), 0);
    ck_assert_int_eq(line, 37);
    ck_assert_int_eq(col, 14);
    ck_assert_int_eq(ef_config_mark(c, "earlyflow.nope", &line, &col), -1);
    /* overrides win, the latest first; typed fields keep the file's value */
    ck_assert_int_eq(ef_config_set(c, "earlyflow.k", "3,5,10,20", &err), 0);
    ck_assert_int_eq(ef_config_set(c, "earlyflow.k", "5,10", &err), 0);
    ck_assert_int_eq(ef_config_set(c, "earlyflow.extra", "x", &err), 0);
    ck_assert_str_eq(ef_config_get(c, "earlyflow.k"), "5,10");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.extra"), "x");
    ck_assert_int_eq(c->earlyflow.n_k, 3);
    ef_config_free(c);
}
END_TEST

START_TEST(wrong_types_name_key_and_position)
{
    expect_error("earlyflow:\n  flow-timeouts:\n    new: abc\n",
                 "c.yaml:3:10: error: earlyflow.flow-timeouts.new: expected a number of seconds "
                 ">= 0, got 'abc'");
    expect_error("earlyflow:\n  flow-timeouts:\n    closed: -1\n",
                 "c.yaml:3:13: error: earlyflow.flow-timeouts.closed: expected a number of "
                 "seconds >= 0, got '-1'");
    expect_error("earlyflow:\n  flow-timeouts: 5\n",
                 "c.yaml:2:18: error: earlyflow.flow-timeouts: expected a mapping with new, "
                 "established, closed, got '5'");
    expect_error("earlyflow:\n  k: [5, 7]\n",
                 "c.yaml:2:10: error: earlyflow.k.1: expected a k of 3, 5, 10 or 20, got '7'");
    expect_error("earlyflow:\n  k: []\n",
                 "c.yaml:2:6: error: earlyflow.k: expected a k or a list of k values from 3, 5, "
                 "10, 20, got a list");
    expect_error("earlyflow:\n  k: four\n",
                 "c.yaml:2:6: error: earlyflow.k: expected a k of 3, 5, 10 or 20, got 'four'");
    expect_error("earlyflow:\n  min-score: 1.5\n",
                 "c.yaml:2:14: error: earlyflow.min-score: expected a number between 0 and 1, "
                 "got '1.5'");
    expect_error("earlyflow:\n  memcap: lots\n",
                 "c.yaml:2:11: error: earlyflow.memcap: expected a size such as 64mb or 1gb");
    expect_error("earlyflow:\n  memcap: 0\n", "c.yaml:2:11: error: earlyflow.memcap:");
    expect_error("earlyflow:\n  memcap: 2048gb\n", "c.yaml:2:11: error: earlyflow.memcap:");
    expect_error("earlyflow:\n  ndpi: maybe\n",
                 "c.yaml:2:9: error: earlyflow.ndpi: expected yes or no, got 'maybe'");
    expect_error("earlyflow:\n  model: [a, b]\n",
                 "c.yaml:2:10: error: earlyflow.model: expected a non-empty string, got a list");
    expect_error("earlyflow:\n  model: \"\"\n",
                 "c.yaml:2:10: error: earlyflow.model: expected a non-empty string, got ''");
    expect_error("earlyflow:\n  models:\n    7: m.safetensors\n",
                 "c.yaml:3:5: error: earlyflow.models.7: expected a k of 3, 5, 10 or 20 as the "
                 "key, got '7'");
    expect_error("earlyflow:\n  models: m.safetensors\n",
                 "c.yaml:2:11: error: earlyflow.models: expected a mapping of k: model file");
    expect_error("earlyflow:\n  eve:\n    types: [early, json]\n",
                 "c.yaml:3:20: error: earlyflow.eve.types.1: expected one of early, alert, "
                 "stats, flow, got 'json'");
    expect_error("earlyflow:\n  eve:\n    types: early\n",
                 "c.yaml:3:12: error: earlyflow.eve.types: expected a list from early, alert, "
                 "stats, flow, got 'early'");
    expect_error("earlyflow:\n  eve:\n    early-labels: some\n",
                 "c.yaml:3:19: error: earlyflow.eve.early-labels: expected 'all' or 'attacks'");
    expect_error("earlyflow:\n  eve:\n    enabled: perhaps\n",
                 "c.yaml:3:14: error: earlyflow.eve.enabled: expected yes or no");
    expect_error("earlyflow:\n  eve: on\n",
                 "c.yaml:2:8: error: earlyflow.eve: expected a mapping");
    expect_error("earlyflow: 5\n", "c.yaml:1:12: error: earlyflow: expected a mapping, got '5'");
    expect_error("rule-files: a.rules\n",
                 "c.yaml:1:13: error: rule-files: expected a list of strings, got 'a.rules'");
    expect_error("rule-files:\n  - a.rules\n  - {x: 1}\n",
                 "c.yaml:3:5: error: rule-files.1: expected a non-empty string, got a mapping");
    expect_error("plugins: [\"\"]\n",
                 "c.yaml:1:11: error: plugins.0: expected a non-empty string, got ''");
    expect_error("default-log-dir: [a]\n",
                 "c.yaml:1:18: error: default-log-dir: expected a non-empty string, got a list");
    expect_error("vars: [1]\n", "c.yaml:1:7: error: vars: expected a mapping");
    expect_error("vars:\n  address-groups:\n    HOME_NET: [10.0.0.0/8]\n",
                 "c.yaml:3:15: error: vars.address-groups.HOME_NET: expected an address string "
                 "such as \"[10.0.0.0/8,192.168.0.0/16]\", got a list");
    expect_error("vars:\n  port-groups: 80\n",
                 "c.yaml:2:16: error: vars.port-groups: expected a mapping of NAME: value");
    expect_error("- a\n- b\n",
                 "c.yaml:1:1: error: the top level: expected a mapping (key: value lines), got "
                 "a list");
}
END_TEST

START_TEST(all_errors_are_reported)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse("earlyflow:\n  ndpi: maybe\n  min-score: x\n  k: [1]\n", &ds, &err);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(ds.errors, 3);
    ck_assert_str_eq(err.msg, "c.yaml:2:9: earlyflow.ndpi: expected yes or no, got 'maybe'");
}
END_TEST

START_TEST(null_values_keep_defaults)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse("earlyflow:\n  model:\n  k: ~\n  eve:\nvars:\nrule-files:\n", &ds,
                           &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_str_eq(c->earlyflow.model, "builtin");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.model"), "builtin");
    ck_assert_int_eq(c->earlyflow.k[0], 5);
    ck_assert_uint_eq(c->n_rule_files, 0);
    ef_config_free(c);
}
END_TEST

START_TEST(scalar_k_and_duplicates)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse("earlyflow:\n  k: 10\n", &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->earlyflow.n_k, 1);
    ck_assert_int_eq(c->earlyflow.k[0], 10);
    ck_assert_str_eq(ef_config_get(c, "earlyflow.k"), "10");
    ef_config_free(c);
    c = parse("earlyflow:\n  k: [20, 5, 20]\n", &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->earlyflow.n_k, 2);
    ck_assert_int_eq(c->earlyflow.k[0], 20);
    ASSERT_DIAG(&ds, "c.yaml:2:14: warning: earlyflow.k.2: k 20 is listed twice");
    ef_config_free(c);
}
END_TEST

START_TEST(unknown_keys_warn)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse("earlyflow:\n"
                           "  modle: x\n"
                           "  something: 1\n"
                           "  flow-timeouts:\n"
                           "    establised: 3\n"
                           "  eve:\n"
                           "    file: x\n"
                           "vars:\n"
                           "  adress-groups: {}\n"
                           "rule-file: [a]\n"
                           "earlyflw: {}\n"
                           "include: other.yaml\n"
                           "outputs: []\n"
                           "detect-engine: [{profile: medium}]\n"
                           "stream: {memcap: 64mb}\n",
                           &ds, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(ds.errors, 0);
    ASSERT_DIAG(&ds, "c.yaml:2:3: warning: earlyflow.modle: unknown key (did you mean 'model'?)");
    ASSERT_DIAG(&ds, "c.yaml:3:3: warning: earlyflow.something: unknown key, ignored");
    ASSERT_DIAG(&ds, "c.yaml:5:5: warning: earlyflow.flow-timeouts.establised: unknown key (did "
                     "you mean 'established'?)");
    ASSERT_DIAG(&ds, "c.yaml:7:5: warning: earlyflow.eve.file: unknown key, ignored");
    ASSERT_DIAG(&ds, "c.yaml:9:3: warning: vars.adress-groups: unknown key (did you mean "
                     "'address-groups'?)");
    ASSERT_DIAG(&ds, "c.yaml:10:1: warning: rule-file: unknown top-level key (did you mean "
                     "'rule-files'?)");
    ASSERT_DIAG(&ds, "c.yaml:11:1: warning: earlyflw: unknown top-level key (did you mean "
                     "'earlyflow'?)");
    ASSERT_DIAG(&ds, "c.yaml:12:1: warning: include: earlyflow does not read included files");
    ck_assert_int_eq(ds.warnings, 8); /* outputs, detect-engine, stream: silent */
    ef_config_free(c);
}
END_TEST

START_TEST(duplicate_keys_warn_later_wins)
{
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse("earlyflow:\n  model: a\n  model: b\n", &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->earlyflow.model, "b");
    ck_assert_str_eq(ef_config_get(c, "earlyflow.model"), "b");
    ASSERT_DIAG(&ds, "c.yaml:3:3: warning: duplicate key 'model' (first at line 2): the later "
                     "value is used");
    ef_config_free(c);
}
END_TEST

START_TEST(yaml_syntax_errors)
{
    expect_error("earlyflow:\n  model: \"unterminated\n",
                 "c.yaml:3:1: error: YAML syntax error: found unexpected end of stream while "
                 "scanning a quoted scalar (line 2)");
    expect_error("a: b\n c: d\n", "c.yaml:2:3: error: YAML syntax error: mapping values are not "
                                  "allowed in this context");
    expect_error("earlyflow:\n  k: [3, 5\n", "c.yaml:3:1: error: YAML syntax error:");
    expect_error("a: 1\n---\nb: 2\n",
                 "c.yaml:2:1: error: more than one YAML document ('---'): a config file holds "
                 "one");
    expect_error("? [a, b]\n: c\n",
                 "c.yaml:1:3: error: mapping keys must be plain scalars, not sequences");
    expect_error("a: \"x\\0y\"\n", "c.yaml:1:4: error: NUL character inside a value");
}
END_TEST

START_TEST(aliases_are_refused)
{
    /* billion laughs: would expand to 10^9 nodes if aliases were resolved */
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
                       "\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                       "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    expect_error(bomb, "c.yaml:2:8: error: YAML aliases (*a) are not supported");
    /* anchors alone are harmless */
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse("earlyflow: &ef\n  model: x\n", &ds, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->earlyflow.model, "x");
    ef_config_free(c);
}
END_TEST

START_TEST(deep_nesting_and_size_bounds)
{
    size_t n = 100000;
    char *yaml = malloc(2 * n + 16);
    memcpy(yaml, "a: ", 3);
    memset(yaml + 3, '[', n);
    memset(yaml + 3 + n, ']', n);
    yaml[3 + 2 * n] = '\0';
    expect_error(yaml, "c.yaml:1:67: error: nesting deeper than 64 levels");
    free(yaml);

    /* block style nesting too */
    size_t cap = 64 * 200 + 16, w = 0;
    yaml = malloc(cap);
    for (int d = 0; d < 80; d++)
        w += (size_t)snprintf(yaml + w, cap - w, "%*sk%d:\n", d, "", d);
    expect_error(yaml, "error: nesting deeper than 64 levels");
    free(yaml);

    /* more nodes than the bound */
    size_t count = EF_CONFIG_MAX_NODES + 10;
    yaml = malloc(count * 2 + 16);
    w = 0;
    memcpy(yaml, "a: [", 4);
    w = 4;
    for (size_t i = 0; i < count; i++) {
        yaml[w++] = '1';
        yaml[w++] = ',';
    }
    yaml[w - 1] = ']';
    yaml[w] = '\0';
    clock_t t0 = clock();
    expect_error(yaml, "YAML nodes: refusing to read further");
    ck_assert((double)(clock() - t0) / CLOCKS_PER_SEC < 20);
    free(yaml);

    /* larger than the file limit */
    size_t big = EF_CONFIG_MAX_BYTES + 1;
    yaml = malloc(big + 1);
    memset(yaml, '#', big);
    yaml[big] = '\0';
    diags_t ds;
    ef_err_t err;
    memset(&ds, 0, sizeof ds);
    ck_assert_ptr_null(ef_config_load_string("c.yaml", yaml, big, collect, &ds, &err));
    ck_assert_str_eq(err.msg, "c.yaml: config larger than 16777216 bytes");
    char *dir = eft_mkdtemp("cfg-big");
    char *path = eft_path(dir, "big.yaml");
    eft_write_file(path, yaml, big);
    ck_assert_ptr_null(ef_config_load(path, NULL, NULL, &err));
    char want[512];
    snprintf(want, sizeof want, "%s: config file larger than 16777216 bytes", path);
    ck_assert_str_eq(err.msg, want);
    free(path);
    eft_rmtree(dir);
    free(dir);
    free(yaml);
}
END_TEST

START_TEST(file_errors)
{
    ef_err_t err;
    ck_assert_ptr_null(ef_config_load("/nonexistent/suricata.yaml", NULL, NULL, &err));
    ck_assert_str_eq(err.msg, "/nonexistent/suricata.yaml: cannot open config file: No such file "
                              "or directory");
    char *dir = eft_mkdtemp("cfg-dir");
    ck_assert_ptr_null(ef_config_load(dir, NULL, NULL, &err));
    ck_assert_msg(strstr(err.msg, "cannot read config file"), "%s", err.msg);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(value_parsers)
{
    uint64_t b;
    static const struct {
        const char *s;
        uint64_t v;
    } sizes[] = {{"0", 0},          {"1048576", 1048576}, {"64mb", 64u << 20},
                 {"64MB", 64u << 20}, {"1gb", 1u << 30},  {"1.5gb", 3u << 29},
                 {"512KiB", 512u << 10}, {"2 mb", 2u << 20}, {"10kb", 10240}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ck_assert_msg(ef_parse_size(sizes[i].s, &b) == 0, "%s", sizes[i].s);
        ck_assert_msg(b == sizes[i].v, "%s -> %llu", sizes[i].s, (unsigned long long)b);
    }
    static const char *const bad_sizes[] = {"", "mb", "-1mb", "1tb", "1 m", "1e3", "1.2.3",
                                            "99999999999999999999gb", "64kib"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++)
        ck_assert_msg(ef_parse_size(bad_sizes[i], &b) == -1, "%s", bad_sizes[i]);
    int v;
    ck_assert(ef_parse_bool("YES", &v) == 0 && v == 1);
    ck_assert(ef_parse_bool("on", &v) == 0 && v == 1);
    ck_assert(ef_parse_bool("1", &v) == 0 && v == 1);
    ck_assert(ef_parse_bool("False", &v) == 0 && v == 0);
    ck_assert(ef_parse_bool("off", &v) == 0 && v == 0);
    ck_assert_int_eq(ef_parse_bool("2", &v), -1);
    ck_assert_int_eq(ef_parse_bool("", &v), -1);
    double d;
    ck_assert(ef_parse_decimal("0.25", &d) == 0 && d == 0.25);
    ck_assert(ef_parse_decimal(".5", &d) == 0 && d == 0.5);
    ck_assert(ef_parse_decimal("5.", &d) == 0 && d == 5);
    ck_assert_int_eq(ef_parse_decimal("-1", &d), -1);
    ck_assert_int_eq(ef_parse_decimal("1e3", &d), -1);
    ck_assert_int_eq(ef_parse_decimal("nan", &d), -1);
    ck_assert_int_eq(ef_parse_decimal(".", &d), -1);
    ck_assert_int_eq(ef_parse_decimal("1,5", &d), -1);
}
END_TEST

START_TEST(suricata_header_and_real_layout)
{
    /* a suricata.yaml excerpt: version directive, comments, flow mappings */
    const char *yaml = "%YAML 1.1\n"
                       "---\n"
                       "vars:\n"
                       "  address-groups:\n"
                       "    HOME_NET: \"[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]\"\n"
                       "    EXTERNAL_NET: \"!$HOME_NET\"\n"
                       "  port-groups:\n"
                       "    HTTP_PORTS: \"80\"\n"
                       "default-log-dir: /var/log/suricata/\n"
                       "stats:\n  enabled: yes\n  interval: 8\n"
                       "outputs:\n  - fast:\n      enabled: yes\n"
                       "plugins:\n  - /usr/lib/suricata/earlyflow.so\n"
                       "earlyflow: {model: builtin, k: [5], eve: {types: [early, alert]}}\n";
    diags_t ds;
    ef_err_t err;
    ef_config_t *c = parse(yaml, &ds, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(ds.n, 0);
    ck_assert_uint_eq(c->earlyflow.eve.types, EF_EVE_TYPE_EARLY | EF_EVE_TYPE_ALERT);
    char *p = ef_config_log_path(c, "eve.json");
    ck_assert_str_eq(p, "/var/log/suricata/eve.json");
    free(p);
    ck_assert_str_eq(ef_config_get(c, "stats.interval"), "8");
    ef_config_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_key);
    tcase_add_test(tc, flat_view);
    tcase_add_test(tc, wrong_types_name_key_and_position);
    tcase_add_test(tc, all_errors_are_reported);
    tcase_add_test(tc, null_values_keep_defaults);
    tcase_add_test(tc, scalar_k_and_duplicates);
    tcase_add_test(tc, unknown_keys_warn);
    tcase_add_test(tc, duplicate_keys_warn_later_wins);
    tcase_add_test(tc, yaml_syntax_errors);
    tcase_add_test(tc, aliases_are_refused);
    tcase_add_test(tc, deep_nesting_and_size_bounds);
    tcase_add_test(tc, file_errors);
    tcase_add_test(tc, value_parsers);
    tcase_add_test(tc, suricata_header_and_real_layout);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
