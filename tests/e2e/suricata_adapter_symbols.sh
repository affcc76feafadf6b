#!/usr/bin/env bash
# earlyflow-suricata.so, when it was built (only when Suricata 8.0 headers
# were found at configure time), is loadable the way Suricata loads it:
#   - SCPluginRegister is its one exported symbol (the core's ef_* stay
#     internal, so they cannot clash with anything in Suricata's process);
#   - after the dynamic linker has resolved it against its own libraries,
#     every symbol left undefined is one Suricata's executable provides
#     (Suricata 8.0's plugin API, exported with -rdynamic): in particular the
#     engine (ef_*) is linked in, not missing.
# Skipped (77) when the adapter was not built.
set -u
so="${EF_BINARY_DIR:?}/earlyflow-suricata.so"
if [ ! -f "$so" ]; then
    echo "SKIP: $so not built (no Suricata 8.0 headers; see docs/integration-suricata.md)"
    exit 77
fi
for tool in nm ldd; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
fail=0

exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
if [ "$exported" != "SCPluginRegister " ]; then
    echo "FAIL: exported symbols are '$exported', expected only SCPluginRegister"
    fail=1
fi

# The Suricata functions and data the adapter uses (all defined non-static
# in Suricata 8.0.x: flow-storage.c, thread-storage.c, flow-callbacks.c,
# thread-callbacks.c, output-eve.c, detect-engine-helper.c, detect-parse.c,
# conf.c, util-mem.c, util-debug.c and rust/src/jsonbuilder.rs).
suricata='^(SCJb[A-Za-z]+|SCLog|SCLogErr|SCCallocFunc|SCConfGet|SCConfGetNode|SCDetectHelperNewKeywordId|SCEveRegisterCallback|SCFlowRegister(Init|Update|Finish)Callback|SCThreadRegisterInitCallback|SCSigMatchAppendSMToList|(Flow|Thread)StorageRegister|(Flow|Thread)(Get|Set)StorageById|sigmatch_table)$'
unresolved=$(ldd -r "$so" 2>&1 | awk '/undefined symbol:/{print $3}' | sort)
if [ -z "$unresolved" ]; then
    echo "FAIL: no undefined symbols at all: the adapter does not call Suricata?"
    fail=1
fi
foreign=$(printf '%s\n' "$unresolved" | grep -Ev "$suricata" | tr '\n' ' ')
if [ -n "$foreign" ]; then
    echo "FAIL: undefined symbols Suricata does not provide: $foreign"
    fail=1
fi
for needed in SCFlowRegisterUpdateCallback FlowStorageRegister ThreadStorageRegister \
              SCEveRegisterCallback SCDetectHelperNewKeywordId sigmatch_table; do
    printf '%s\n' "$unresolved" | grep -qx "$needed" ||
        { echo "FAIL: $needed is not referenced"; fail=1; }
done
[ "$fail" = 0 ] && echo "OK: $so exports SCPluginRegister only; $(printf '%s\n' "$unresolved" | wc -l) symbols left for Suricata"
exit "$fail"
