/* Test plugin: a valid shared object that is not an earlyflow plugin (it
 * exports a function, but not earlyflow_plugin_entry). The host must refuse
 * it with "not an earlyflow plugin". */
int some_other_plugin_init(void);

int some_other_plugin_init(void)
{
    return 42;
}
