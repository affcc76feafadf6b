/* `earlyflow rules --check`: load rules the way the host does and print
 * every problem with its file:line:col, then a summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ids/classification.h"
#include "ids/config.h"
#include "ids/rules.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: earlyflow rules --check [-c CONFIG] [FILE...]\n"
            "\n"
            "Check rules files: every error and warning is printed as FILE:LINE:COL, then a\n"
            "summary. Without FILE, the config's rule-files are checked. With -c, variables\n"
            "($HOME_NET, ...), the default early.k and the classification file come from\n"
            "the config.\n"
            "\n"
            "  -c, --config FILE   suricata.yaml-style config (vars, earlyflow.k, ...)\n"
            "      --check         check the rules (the only mode)\n"
            "  -h, --help          this text\n"
            "\n"
            "Exit status: 0 when every rule loaded, 1 when any rule or the config has an\n"
            "error, 2 on a usage error.\n");
}

typedef struct tally {
    unsigned errors, warnings;
} tally_t;

static void print_diag(void *user, const ef_diag_t *d)
{
    tally_t *t = user;
    char line[1024];
    ef_diag_format(d, line, sizeof line);
    fprintf(stderr, "%s\n", line);
    if (d->level == EF_DIAG_ERROR)
        t->errors++;
    else
        t->warnings++;
}

static void print_k_mask(uint32_t mask)
{
    static const int ks[] = {3, 5, 10, 20};
    int first = 1;
    for (int i = 0; i < 4; i++)
        if (mask & (1u << ks[i])) {
            printf("%s%d", first ? "" : ",", ks[i]);
            first = 0;
        }
    if (first)
        printf("none");
}

/* Load the config and its classification file; NULL config is fine. */
static int load_config(const char *path, tally_t *t, ef_config_t **cfg,
                       ef_classification_t **classes)
{
    ef_err_t err;
    *cfg = NULL;
    *classes = NULL;
    if (!path)
        return 0;
    *cfg = ef_config_load(path, print_diag, t, &err);
    if (!*cfg) {
        if (t->errors == 0) /* I/O problem: not reported as a diagnostic */
            fprintf(stderr, "earlyflow rules: %s\n", err.msg);
        return -1;
    }
    if (ef_rules_check_vars(*cfg, print_diag, t) < 0)
        return -1;
    if ((*cfg)->classification_file) {
        *classes = ef_classification_load((*cfg)->classification_file, print_diag, t, &err);
        if (!*classes) {
            fprintf(stderr, "earlyflow rules: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static int check(const char *config, char **files, int n_files)
{
    tally_t t = {0, 0};
    ef_config_t *cfg;
    ef_classification_t *classes;
    int status = 0;
    if (load_config(config, &t, &cfg, &classes) < 0) {
        status = 1;
        goto out;
    }
    if (n_files == 0 && (!cfg || cfg->n_rule_files == 0)) {
        fprintf(stderr, "earlyflow rules: no rules file given%s\n",
                cfg ? " and the config has no rule-files" : " (and no -c CONFIG)");
        status = 2;
        goto out;
    }
    ef_rules_opts_t opts = {.config = cfg, .classes = classes, .diag = print_diag,
                            .diag_user = &t};
    ef_err_t err;
    ef_ruleset_t *rs = ef_ruleset_new(&opts, &err);
    if (!rs) {
        fprintf(stderr, "earlyflow rules: %s\n", err.msg);
        status = 1;
        goto out;
    }
    size_t total = n_files ? (size_t)n_files : cfg->n_rule_files;
    for (size_t i = 0; i < total; i++) {
        char *path = n_files ? strdup(files[i]) : ef_config_rule_file(cfg, i);
        if (!path || ef_ruleset_add_file(rs, path, &err) < 0) {
            fprintf(stderr, "earlyflow rules: %s\n", path ? err.msg : "out of memory");
            status = 1;
        }
        free(path);
    }
    if (ef_ruleset_finalize(rs, &err) < 0) {
        fprintf(stderr, "earlyflow rules: %s\n", err.msg);
        status = 1;
    }
    const ef_rules_counts_t *c = ef_ruleset_counts(rs);
    printf("%u rule%s loaded, %u skipped, %u error%s, %u warning%s; early.k used: ", c->loaded,
           c->loaded == 1 ? "" : "s", c->skipped, t.errors, t.errors == 1 ? "" : "s",
           t.warnings, t.warnings == 1 ? "" : "s");
    print_k_mask(ef_ruleset_k_mask(rs));
    printf("\n");
    if (c->skipped || t.errors)
        status = 1;
    ef_ruleset_free(rs);
out:
    ef_classification_free(classes);
    ef_config_free(cfg);
    return status;
}

int ef_cmd_rules(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int do_check = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'C':
            do_check = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!do_check) {
        fprintf(stderr, "earlyflow rules: nothing to do (use --check)\n");
        usage(stderr);
        return 2;
    }
    return check(config, argv + optind, argc - optind);
}
