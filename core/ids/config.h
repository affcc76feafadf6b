/* Configuration: a suricata.yaml-style YAML file, read with libyaml.
 *
 * earlyflow reads the keys it shares with Suricata (vars.address-groups,
 * vars.port-groups, default-rule-path, rule-files, default-log-dir,
 * classification-file, plugins) and its own `earlyflow:` section, so one
 * file can serve both hosts. docs/config.md lists every key with its type
 * and default.
 *
 * Strictness: a value of the wrong type is an error that names the key path
 * and the position, e.g.
 *   "suricata.yaml:12:10: earlyflow.flow-timeouts.new: expected a number of
 *    seconds >= 0, got 'abc'"
 * Unknown keys inside `earlyflow:` (and inside `vars:`) are warnings. Other
 * top-level keys belong to Suricata and are silently accepted, except keys
 * within two edits of a key earlyflow reads ("rule-file"), which warn as
 * likely typos. Every error and warning goes to the diagnostic callback; a
 * load with any error fails.
 *
 * Untrusted input: file size, nesting depth and node count are bounded;
 * YAML aliases are refused (Suricata's loader does not resolve them), so
 * "billion laughs" files cannot expand.
 *
 * Ownership and threads: every string in ef_config_t belongs to the config
 * and lives until ef_config_free. A config is read-only after loading
 * (ef_config_set is the one exception: call it before sharing the config);
 * reads are then safe from any thread. */
#ifndef EF_IDS_CONFIG_H
#define EF_IDS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ids/diag.h"
#include "net/features.h"
#include "util/err.h"

#define EF_CONFIG_MAX_BYTES (16u << 20) /* larger files are refused */
#define EF_CONFIG_MAX_DEPTH 64          /* nesting of mappings/sequences */
#define EF_CONFIG_MAX_NODES 1000000u

/* ef_config_eve_t.types */
enum {
    EF_EVE_TYPE_EARLY = 1u << 0,
    EF_EVE_TYPE_ALERT = 1u << 1,
    EF_EVE_TYPE_STATS = 1u << 2,
    EF_EVE_TYPE_FLOW = 1u << 3,
};

typedef enum ef_eve_labels {
    EF_EVE_LABELS_ALL = 0,     /* an early event for every verdict */
    EF_EVE_LABELS_ATTACKS = 1, /* only for verdicts whose label is not Unlabeled */
} ef_eve_labels_t;

typedef struct ef_config_eve {
    int enabled;                  /* default 1 */
    const char *filename;         /* default "eve.json", relative to the log dir; "-" = stdout */
    uint32_t types;               /* default early|alert|stats */
    ef_eve_labels_t early_labels; /* default all */
} ef_config_eve_t;

typedef struct ef_config_earlyflow {
    const char *model;                  /* "builtin" (default) or a model file path */
    const char *models[EF_K_MAX + 1];   /* per-k model file (NULL: use `model`) */
    int k[4];                           /* earlyflow.k in file order (default {5}) */
    int n_k;
    uint32_t k_mask;                    /* bit k set for each k above */
    double min_score;                   /* 0..1, default 0 */
    uint64_t timeout_new_us;            /* flow-timeouts, default 1 s each */
    uint64_t timeout_established_us;
    uint64_t timeout_closed_us;
    uint64_t memcap;                    /* bytes, default 64 MiB */
    int ndpi;                           /* default 0 */
    ef_config_eve_t eve;
} ef_config_earlyflow_t;

typedef struct ef_config_priv ef_config_priv_t;

typedef struct ef_config {
    const char *path;                 /* file name, "<defaults>" for ef_config_default */
    const char *default_rule_path;    /* NULL: rule files are used as given */
    const char *const *rule_files;
    size_t n_rule_files;
    const char *default_log_dir;      /* default "." */
    const char *const *plugins;
    size_t n_plugins;
    const char *classification_file;  /* NULL: the built-in classtypes */
    ef_config_earlyflow_t earlyflow;
    ef_config_priv_t *priv_;
} ef_config_t;

/* Load a file / text. Problems go to diag (may be NULL); on any error the
 * result is NULL and err holds the first one, with its position. */
ef_config_t *ef_config_load(const char *path, ef_diag_fn diag, void *user, ef_err_t *err);
ef_config_t *ef_config_load_string(const char *name, const char *text, size_t len,
                                   ef_diag_fn diag, void *user, ef_err_t *err);
/* Every default, no file. */
ef_config_t *ef_config_default(ef_err_t *err);
void ef_config_free(ef_config_t *c);

const char *ef_config_path(const ef_config_t *c);

/* ---- flat dotted view (the plugin ABI's conf_get) ---------------------------
 * "earlyflow.model" -> "builtin"; "earlyflow.k" -> "3,5" (a sequence of
 * scalars is its values joined by ','); "rule-files.0" -> first element;
 * "earlyflow.models.5" -> path; "vars.address-groups.HOME_NET" -> value.
 * The earlyflow.* keys of docs/config.md answer their default when the file
 * does not set them. NULL for anything else that is unset or is a mapping.
 * The string lives until ef_config_free. */
const char *ef_config_get(const ef_config_t *c, const char *key);

/* Override one key of the flat view (e.g. the host widening "earlyflow.k"
 * with the k values its rules need). Typed fields are not changed. */
int ef_config_set(ef_config_t *c, const char *key, const char *value, ef_err_t *err);

/* Position of a key's value in the file (0 when unknown). */
int ef_config_mark(const ef_config_t *c, const char *key, int *line, int *col);

/* ---- variables ------------------------------------------------------------------ */
typedef enum ef_var_kind { EF_VAR_ADDRESS = 0, EF_VAR_PORT = 1 } ef_var_kind_t;

/* Value of $name (without the '$') and where it is defined; NULL if unset. */
const char *ef_config_var(const ef_config_t *c, ef_var_kind_t kind, const char *name, int *line,
                          int *col);
size_t ef_config_var_count(const ef_config_t *c, ef_var_kind_t kind);
const char *ef_config_var_name(const ef_config_t *c, ef_var_kind_t kind, size_t i);

/* ---- paths ----------------------------------------------------------------------- */
/* Rule file i joined to default-rule-path when relative (malloc'd). */
char *ef_config_rule_file(const ef_config_t *c, size_t i);
/* `name` joined to default-log-dir when relative; "-" stays "-" (malloc'd). */
char *ef_config_log_path(const ef_config_t *c, const char *name);

/* ---- value parsers (shared with other readers of the same syntax) ------------ */
/* Suricata size strings: "1048576", "64mb", "1.5gb", "512KiB" (all units are
 * powers of 1024; kb/mb/gb case-insensitive). */
int ef_parse_size(const char *s, uint64_t *out);
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int ef_parse_bool(const char *s, int *out);
/* Non-negative decimal without exponent or sign: "5", "0.25", ".5". */
int ef_parse_decimal(const char *s, double *out);

#endif
