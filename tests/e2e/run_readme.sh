#!/usr/bin/env bash
# The README's first command, as written there (its `earlyflow run` part,
# with the built binary and the EVE output redirected to a scratch folder):
# it must run the bundled capture with the built-in models and the demo rules,
# load every rule, and show early verdicts and alerts, in the summary and in
# valid EVE JSON.
set -u
bin=${EF_BIN:?EF_BIN not set}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR not set}
tool=${EF_TESTTOOL:?EF_TESTTOOL not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# first ```sh block of the README, last `&&`-separated command
cmd=$(awk '/^```sh/ { inblock = 1; next } inblock && /^```/ { exit } inblock { print }' \
    "$src/README.md" | head -1 | sed 's/.*&& *//')
case "$cmd" in
build/earlyflow\ run\ *) ;;
*) fail "README's first command does not end with 'build/earlyflow run ...': '$cmd'" ;;
esac
args=${cmd#build/earlyflow run }
echo "run_readme: earlyflow run $args -l $tmp"
# shellcheck disable=SC2086  # the README's words, split as a shell would
(cd "$src" && "$bin" run $args -l "$tmp") >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc: $(cat "$tmp/stderr")"
grep -q "rules loaded, 0 skipped" "$tmp/stderr" || fail "not every demo rule loaded: $(cat "$tmp/stderr")"
verdicts=$(awk '$1 == "verdicts" { print $2 }' "$tmp/stdout")
alerts=$(awk '$1 == "alerts" { print $2 }' "$tmp/stdout")
[ "${verdicts:-0}" -gt 0 ] || fail "no verdicts: $(cat "$tmp/stdout")"
[ "${alerts:-0}" -gt 0 ] || fail "no alerts: $(cat "$tmp/stdout")"
# every line one JSON object, the stats line exactly once and last, every
# other line from a built-in model; then the counts against the summary
eve=$("$tool" eve-check -s -m builtin_k -p stats.early.verdicts -p stats.detect.alerts \
    "$tmp/eve.json") || fail "EVE output"
eve_val() { printf '%s\n' "$eve" | awk -v k="$1" '$1 == k { print $2 }'; }
n_alert=$(eve_val type:alert)
[ "${n_alert:-0}" -eq "$alerts" ] || fail "${n_alert:-0} alert events, summary says $alerts"
[ "$(eve_val type:early)" ] || fail "no early events"
[ "$(eve_val stats.early.verdicts)" = "$verdicts" ] && [ "$(eve_val stats.detect.alerts)" = "$alerts" ] ||
    fail "stats disagree with the summary"
echo "run_readme: $verdicts verdicts, $alerts alerts"
