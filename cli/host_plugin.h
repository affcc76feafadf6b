/* Loading a plugin the way an IDS does: dlopen, one entry symbol, an ABI
 * version check, then only the hooks of earlyflow_plugin.h. */
#ifndef EF_CLI_HOST_PLUGIN_H
#define EF_CLI_HOST_PLUGIN_H

#include "earlyflow_plugin.h"
#include "util/err.h"

typedef struct host_plugin {
    void *handle;            /* dlopen handle */
    const ef_plugin_t *api;  /* the plugin's hooks */
    char path[4096];
    int unresolved;          /* the last load failed on an undefined symbol */
} host_plugin_t;

/* Load and check a plugin file. Errors name the path and say whether the
 * file is missing, not a shared object, not an earlyflow plugin (no entry
 * symbol), or built for another ABI version. */
int host_plugin_load(host_plugin_t *hp, const char *path, ef_err_t *err);
void host_plugin_unload(host_plugin_t *hp);

/* Where earlyflow.so is looked for when neither -P nor the config's
 * `plugins:` names one: next to the running binary (a build tree), else in
 * the installed plugin directory relative to the binary's directory
 * (bin/../lib/earlyflow for `cmake --install`). Writes into buf the first of
 * the two that exists, or the first one when neither does (so the error
 * names it); -1 when the binary cannot be located or buf is too small. */
int host_plugin_default_path(char *buf, size_t len);

#endif
