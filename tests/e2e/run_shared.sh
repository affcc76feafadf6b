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
# every EVE file in one Python run (interpreter start-up is slow here)
python3 - "${eves[@]}" <<'PY' || fail "invalid EVE output"
import json, sys
for path in sys.argv[1:]:
    lines = open(path, "rb").read().split(b"\n")
    if lines[-1] != b"":
        sys.exit("%s: last line not terminated" % path)
    lines = lines[:-1]
    types = []
    for i, raw in enumerate(lines, 1):
        try:
            ev = json.loads(raw.decode("utf-8"))
        except Exception as e:
            sys.exit("%s:%d: not valid JSON: %s" % (path, i, e))
        if not isinstance(ev, dict) or ev.get("event_type") not in ("early", "alert", "stats", "flow"):
            sys.exit("%s:%d: not an EVE event: %r" % (path, i, raw[:200]))
        if ev["event_type"] in ("early", "alert"):
            e = ev["early"]
            if "probabilities" in e and abs(sum(e["probabilities"].values()) - 1.0) > 1e-3:
                sys.exit("%s:%d: probabilities do not sum to 1" % (path, i))
            if not 1 <= e["packets"] <= e["k"] or e["k"] not in (3, 5, 10, 20):
                sys.exit("%s:%d: packets %r for k %r" % (path, i, e["packets"], e["k"]))
            if e["at_flow_end"] != (e["packets"] < e["k"]):
                sys.exit("%s:%d: at_flow_end %r with %r of %r packets" % (path, i, e["at_flow_end"], e["packets"], e["k"]))
        types.append(ev["event_type"])
    if types.count("stats") != 1 or types[-1] != "stats":
        sys.exit("%s: %d stats lines, last is %s" % (path, types.count("stats"), types[-1] if types else None))
PY
echo "run_shared: $n captures, $refused refused with an input error, every EVE file valid"
