/* earlyflow.so: the generic hook ABI (earlyflow_plugin.h). Work in progress. */
#include "earlyflow_plugin.h"

const ef_plugin_t *earlyflow_plugin_entry(void) __attribute__((visibility("default")));
const ef_plugin_t *earlyflow_plugin_entry(void)
{
    return 0;
}
