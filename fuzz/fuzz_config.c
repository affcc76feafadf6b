/* Fuzz target: the YAML configuration loader.
 *
 * The input is a config file's text (ef_config_load_string). When it loads,
 * its flat view is read back for every key the plugin and host read, the
 * rule-file and log paths are built, every address/port variable is
 * evaluated by the rules engine (as `earlyflow rules --check -c` does), and
 * a rule using $HOME_NET / $HTTP_PORTS is loaded against it. Oracles: a
 * refusal has a message; a diagnostic always has a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ids/config.h"
#include "ids/rules.h"

static const char *const keys[] = {
    "earlyflow.model", "earlyflow.k", "earlyflow.models.3", "earlyflow.models.5",
    "earlyflow.models.10", "earlyflow.models.20", "earlyflow.min-score",
    "earlyflow.memcap", "earlyflow.ndpi", "earlyflow.eve.filename", "earlyflow.eve.types",
    "rule-files.0", "plugins.0", "vars.address-groups.HOME_NET", "default-log-dir",
    "earlyflow", "vars", "", ".", "earlyflow..model",
};

static void on_diag(void *user, const ef_diag_t *d)
{
    (void)user;
    if (!d->msg)
        abort();
    char buf[256];
    ef_diag_format(d, buf, sizeof buf);
}

static const char rule[] =
    "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:\"x\"; "
    "early.label:NetworkScan; sid:1; rev:1;)\n";

static void use_config(ef_config_t *c)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        (void)ef_config_get(c, keys[i]);
    for (size_t i = 0; i < c->n_rule_files; i++)
        free(ef_config_rule_file(c, i));
    free(ef_config_log_path(c, "eve.json"));
    int line, col;
    (void)ef_config_mark(c, "earlyflow.k", &line, &col);
    (void)ef_rules_check_vars(c, on_diag, NULL);
    ef_rules_opts_t ro = {.config = c, .diag = on_diag};
    ef_err_t err;
    ef_ruleset_t *rs = ef_ruleset_new(&ro, &err);
    if (!rs)
        abort();
    if (ef_ruleset_add_string(rs, "fuzz.rules", rule, sizeof rule - 1, &err) < 0)
        abort();
    ef_ruleset_finalize(rs, &err);
    ef_ruleset_free(rs);
    /* The host's one write to the flat view. */
    (void)ef_config_set(c, "earlyflow.k", "3,5,20", &err);
    (void)ef_config_get(c, "earlyflow.k");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    ef_err_t err = {{0}};
    ef_config_t *c = ef_config_load_string("fuzz.yaml", (const char *)data, size, on_diag,
                                           NULL, &err);
    if (!c) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    use_config(c);
    ef_config_free(c);
    return 0;
}
