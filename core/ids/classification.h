/* Classtypes: the `classtype` rule keyword's table (Suricata's
 * classification.config), giving an alert its category text (EVE
 * alert.category) and its default priority (alert.severity).
 *
 * File format, one entry per line, '#' comments:
 *   config classification: network-scan,Detection of a Network Scan,3
 *
 * Without a file, a built-in table holds the entries of Suricata's standard
 * classification.config that fit flow-level verdicts (docs/rules.md lists
 * them). Read-only after loading; safe to share between threads. */
#ifndef EF_IDS_CLASSIFICATION_H
#define EF_IDS_CLASSIFICATION_H

#include "ids/diag.h"
#include "util/err.h"

typedef struct ef_classtype {
    const char *name;
    const char *description;
    int priority;
} ef_classtype_t;

typedef struct ef_classification ef_classification_t;

/* Read a classification file. Bad lines are reported through diag and
 * skipped; only an unreadable file fails (NULL with err). */
ef_classification_t *ef_classification_load(const char *path, ef_diag_fn diag, void *user,
                                            ef_err_t *err);
ef_classification_t *ef_classification_load_string(const char *name, const char *text,
                                                   size_t len, ef_diag_fn diag, void *user,
                                                   ef_err_t *err);
void ef_classification_free(ef_classification_t *c);

/* Entry by name (case-sensitive); c == NULL searches the built-in table. */
const ef_classtype_t *ef_classification_find(const ef_classification_t *c, const char *name);
size_t ef_classification_count(const ef_classification_t *c);

/* Suricata's defaults for rules without priority / with an unknown classtype. */
#define EF_DEFAULT_PRIORITY 3
#define EF_UNKNOWN_CLASSTYPE_DESCRIPTION "Unknown Classtype"

#endif
