#!/usr/bin/env bash
# earlyflow run over every capture in ../shared/data, one run per file, with
# nDPI on, every k (3, 5, 10, 20) and the example rules: no crash (a signal
# exit is a failure), exit 0 -- or exit 1 with an input error naming the file
# for a capture libpcap cannot read whole --, every EVE line a valid JSON
# object of a known event type, and exactly one stats line, the last one.
# Skipped (77) when the shared data folder is absent.
set -u
bin=${EF_BIN:?EF_BIN not set}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR not set}
tool=${EF_TESTTOOL:?EF_TESTTOOL not set}
data=${EF_SHARED_DATA:-}
if [ -z "$data" ] || [ ! -d "$data" ]; then
    echo "run_shared: shared data folder '$data' absent, skipped"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cat >"$tmp/c.yaml" <<'YAML'
vars:
  address-groups:
    HOME_NET: "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups:
    HTTP_PORTS: "[80,8080]"
earlyflow:
  k: [3, 5, 10, 20]
  memcap: 16mb   # plenty for these captures; a smaller table starts faster
YAML

mapfile -t caps < <(find "$data" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
[ "${#caps[@]}" -gt 0 ] || { echo "run_shared: no captures in $data, skipped"; exit 77; }

n=0 refused=0
eves=()
for cap in "${caps[@]}"; do
    n=$((n + 1))
    out="$tmp/out$n"
    "$bin" run -c "$tmp/c.yaml" -S "$src/tests/data/rules/earlyflow.rules" --ndpi \
        -r "$cap" -l "$out" >"$out.stdout" 2>"$out.stderr"
    rc=$?
    [ "$rc" -lt 128 ] || fail "$cap: killed by signal $((rc - 128))"
    if [ "$rc" -ne 0 ]; then
        [ "$rc" -eq 1 ] || fail "$cap: exit $rc: $(cat "$out.stderr")"
        grep -qF -- "$cap" "$out.stderr" || fail "$cap: exit 1 without naming the file: $(cat "$out.stderr")"
        refused=$((refused + 1))
        echo "run_shared: $cap: input error (exit 1): $(tail -1 "$out.stderr")"
    fi
    grep -q "earlyflow run summary" "$out.stdout" || fail "$cap: no summary"
    [ -s "$out/eve.json" ] || fail "$cap: no eve.json"
    eves+=("$out/eve.json")
done
# every line of every EVE file a JSON object of a known event type (early
# and alert events with consistent k, packets, at_flow_end, probabilities),
# exactly one stats line, the last
"$tool" eve-check -s -e "${eves[@]}" >/dev/null || fail "invalid EVE output"
echo "run_shared: $n captures, $refused refused with an input error, every EVE file valid"
