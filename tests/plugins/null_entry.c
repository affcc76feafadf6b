/* Test plugin: exports the entry symbol, but the entry returns NULL (no
 * plugin). The host must refuse it with a message, not crash. */
#include <stddef.h>

#include "earlyflow_plugin.h"

__attribute__((visibility("default"))) const ef_plugin_t *earlyflow_plugin_entry(void);

const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return NULL;
}
