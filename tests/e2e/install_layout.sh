#!/usr/bin/env bash
# `cmake --install` into a scratch prefix: the installed earlyflow finds the
# installed earlyflow.so on its own (bin/../lib/earlyflow), runs the installed
# examples, and names the paths it tried when the plugin is missing.
set -u
build=${EF_BINARY_DIR:?EF_BINARY_DIR not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
    fail "cmake --install failed: $(tail -5 "$tmp/install.log")"
bin=$tmp/prefix/bin/earlyflow
share=$tmp/prefix/share/earlyflow/examples
so=$(find "$tmp/prefix" -name earlyflow.so)
[ -x "$bin" ] || fail "no bin/earlyflow in the installed tree"
[ -n "$so" ] || fail "no earlyflow.so in the installed tree"
case $so in
    "$tmp"/prefix/lib*/earlyflow/earlyflow.so) ;;
    *) fail "earlyflow.so installed at $so, expected lib*/earlyflow/" ;;
esac
[ -f "$share/demo.pcap" ] && [ -f "$share/demo.rules" ] || fail "examples not installed in $share"

# No -P, no plugins: in the config: the installed plugin must be found, from
# any working directory.
cd "$tmp"
"$bin" run -S "$share/demo.rules" -r "$share/demo.pcap" -l "$tmp/log" >"$tmp/run.out" 2>"$tmp/run.err" ||
    fail "installed run failed: $(cat "$tmp/run.err")"
grep -q '"event_type":"early"' "$tmp/log/eve.json" || fail "installed run wrote no verdicts"
grep -q '"event_type":"alert"' "$tmp/log/eve.json" || fail "installed run raised no alert with demo.rules"

# The plugin removed: a clear error naming the path, exit 1.
rm -f "$so"
"$bin" run -r "$share/demo.pcap" -l "$tmp/log2" >"$tmp/miss.out" 2>"$tmp/miss.err"
rc=$?
[ "$rc" -eq 1 ] || fail "run without a plugin: exit $rc, expected 1"
grep -q "plugin $tmp/prefix/bin/earlyflow.so: No such file or directory" "$tmp/miss.err" ||
    fail "run without a plugin: unexpected message: $(cat "$tmp/miss.err")"
echo "install_layout: ok"
