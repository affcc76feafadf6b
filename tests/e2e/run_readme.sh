#!/usr/bin/env bash
# The README's first command, as written there (its `earlyflow run` part,
# with the built binary and the EVE output redirected to a scratch folder):
# it must run the bundled capture with the built-in models and the demo rules,
# load every rule, and show early verdicts and alerts, in the summary and in
# valid EVE JSON.
set -u
bin=${EF_BIN:?EF_BIN not set}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR not set}
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
python3 - "$tmp/eve.json" "$verdicts" "$alerts" <<'PY' || fail "EVE output"
import json, sys
path, verdicts, alerts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
events = [json.loads(l) for l in open(path, encoding="utf-8")]
kinds = [e["event_type"] for e in events]
if kinds.count("alert") != alerts:
    sys.exit("%d alert events, summary says %d" % (kinds.count("alert"), alerts))
if not kinds.count("early"):
    sys.exit("no early events")
if kinds[-1] != "stats" or kinds.count("stats") != 1:
    sys.exit("stats line missing or not last")
st = events[-1]["stats"]
if st["early"]["verdicts"] != verdicts or st["detect"]["alerts"] != alerts:
    sys.exit("stats disagree with the summary")
for e in events[:-1]:
    if e["early"]["model"].startswith("builtin_k") is False:
        sys.exit("not a built-in model: %r" % e["early"]["model"])
PY
echo "run_readme: $verdicts verdicts, $alerts alerts"
