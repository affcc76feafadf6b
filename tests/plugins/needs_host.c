/* Test plugin: shaped like a Suricata plugin. It exports its own
 * registration function, which calls a function only the host program
 * (Suricata) provides, so it cannot be loaded with RTLD_NOW outside that
 * program, and it has no earlyflow_plugin_entry. A `plugins:` list shared
 * with Suricata names such files: earlyflow run must skip it with a note,
 * without running any of its code (its constructor would say so on
 * stderr). */
#include <stdio.h>

void SCTestHostOnlyLog(const char *msg); /* left undefined on purpose */
__attribute__((visibility("default"))) const void *SCPluginRegister(void);

__attribute__((constructor)) static void announce(void)
{
    fputs("needs_host: constructor ran\n", stderr);
    SCTestHostOnlyLog("loaded");
}

const void *SCPluginRegister(void)
{
    SCTestHostOnlyLog("registering");
    return 0;
}
