#include "host_plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int host_plugin_load(host_plugin_t *hp, const char *path, ef_err_t *err)
{
    struct stat st;
    memset(hp, 0, sizeof *hp);
    snprintf(hp->path, sizeof hp->path, "%s", path);
    if (stat(path, &st) != 0)
        return ef_err_set(err, "plugin %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ef_err_set(err, "plugin %s: not a regular file", path);
    /* dlopen only searches the library path for names without a slash; a
     * plugin is always a file path. */
    char full[4096 + 2];
    snprintf(full, sizeof full, "%s%s", strchr(path, '/') ? "" : "./", path);
    hp->handle = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (!hp->handle) {
        const char *why = dlerror();
        /* A failed RTLD_NOW open runs none of the object's code. Unresolved
         * symbols are what a Suricata plugin (listed in a shared
         * suricata.yaml) gives outside Suricata: flagged so that a list of
         * plugins can skip it. */
        hp->unresolved = why && strstr(why, "undefined symbol") != NULL;
        return ef_err_set(err, "plugin %s: cannot load shared object: %s", path,
                          why ? why : "unknown error");
    }
    ef_plugin_entry_fn entry;
    void *sym = dlsym(hp->handle, EF_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        host_plugin_unload(hp);
        return ef_err_set(err, "plugin %s: not an earlyflow plugin (no symbol %s)", path,
                          EF_PLUGIN_ENTRY_SYMBOL);
    }
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, as POSIX allows */
    hp->api = entry();
    if (!hp->api) {
        host_plugin_unload(hp);
        return ef_err_set(err, "plugin %s: entry point returned no plugin", path);
    }
    if (hp->api->abi_version != EF_PLUGIN_ABI_VERSION) {
        unsigned v = hp->api->abi_version;
        host_plugin_unload(hp);
        return ef_err_set(err, "plugin %s: ABI version %u, this host speaks version %u "
                               "(rebuild the plugin against this earlyflow)",
                          path, v, EF_PLUGIN_ABI_VERSION);
    }
    const ef_plugin_t *a = hp->api;
    const char *missing = !a->init                ? "init"
                          : !a->deinit            ? "deinit"
                          : !a->flow_storage_size ? "flow_storage_size"
                          : !a->thread_init       ? "thread_init"
                          : !a->thread_deinit     ? "thread_deinit"
                          : !a->flow_new          ? "flow_new"
                          : !a->packet            ? "packet"
                          : !a->flow_end          ? "flow_end"
                          : !a->k_mask            ? "k_mask"
                                                  : NULL;
    if (missing) {
        host_plugin_unload(hp);
        return ef_err_set(err, "plugin %s: incomplete hook table (%s is NULL)", path, missing);
    }
    return 0;
}

void host_plugin_unload(host_plugin_t *hp)
{
    if (hp->handle)
        dlclose(hp->handle);
    hp->handle = NULL;
    hp->api = NULL;
}

int host_plugin_default_path(char *buf, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char installed[4096 + 512];
    int m = snprintf(installed, sizeof installed, "%s/%s/%s", exe,
                     EF_INSTALLED_PLUGIN_RELDIR, EF_DEFAULT_PLUGIN);
    if ((size_t)snprintf(buf, len, "%s/%s", exe, EF_DEFAULT_PLUGIN) >= len)
        return -1;
    if (access(buf, F_OK) == 0 || m < 0 || (size_t)m >= sizeof installed ||
        access(installed, F_OK) != 0)
        return 0;
    if ((size_t)m >= len)
        return -1;
    memcpy(buf, installed, (size_t)m + 1);
    return 0;
}
