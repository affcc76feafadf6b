#!/bin/sh
# Flood check (docs/robustness.md, "Flood"): 10 million new flows with
# spoofed random sources (SYN-flood shape) streamed through `earlyflow run
# -r -` at a 64 MB flow memcap, with legitimate connections established
# before the flood. Prints the figures and fails when one check does not hold:
#   - the host exits 0 (no crash);
#   - its peak RSS stays under memcap + OVERHEAD_MIB (default 16 MiB: see
#     docs/robustness.md for what the fixed overhead holds), and a flood adds
#     at most GROWTH_MIB over a run of the same config without the flood
#     (4 MiB, plus what the flood touches of preallocated pools: 48 MiB per
#     worker for nDPI's, 8 MiB per worker ring when WORKERS > 1);
#   - evictions are counted (stats event flow.evicted) and equal
#     created - capacity (every flow beyond the table's capacity evicted one);
#   - every active legitimate connection (keeps sending during the flood)
#     gets exactly one verdict at its 5th packet (not at flow end): the
#     least recently seen flow is evicted, so active flows survive;
#   - every idle legitimate connection (silent during the flood) is evicted
#     and gets its flow-end verdict.
#
#   bench/run-flood.sh [BUILD_DIR] [FLOWS]      (defaults: ./build, 10000000)
# Options through the environment: WORKERS (default 1), NDPI (0/1, default 0),
# ACTIVE (200), IDLE (100), OVERHEAD_MIB (16; add 64 per worker with NDPI=1,
# 8 per worker ring when WORKERS > 1).
set -eu
src_dir=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src_dir/build}
flows=${2:-10000000}
workers=${WORKERS:-1}
ndpi=${NDPI:-0}
active=${ACTIVE:-200}
idle=${IDLE:-100}
memcap_mib=64
growth_mib=4
[ "$workers" -gt 1 ] && growth_mib=$((growth_mib + 8 * workers))
[ "$ndpi" = 1 ] && growth_mib=$((growth_mib + 48 * workers))
if [ -z "${OVERHEAD_MIB:-}" ]; then
    OVERHEAD_MIB=16
    [ "$workers" -gt 1 ] && OVERHEAD_MIB=$((OVERHEAD_MIB + 8 * workers))
    [ "$ndpi" = 1 ] && OVERHEAD_MIB=$((OVERHEAD_MIB + 64 * workers))
fi
bin=$build/earlyflow
flood=$build/bench/bench_flood
for f in "$bin" "$flood"; do
    [ -x "$f" ] || { echo "run-flood.sh: $f not found; build $build first" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ef_flood.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
ndpi_flag=--no-ndpi
[ "$ndpi" = 1 ] && ndpi_flag=--ndpi
cat >"$work/flood.yaml" <<YAML
earlyflow:
  memcap: ${memcap_mib}mb
  k: [5]
  # Suricata's default timeouts: flows end by eviction, not by timeout.
  flow-timeouts: {new: 30, established: 300, closed: 10}
  eve:
    filename: eve.json
    types: [alert, stats]
YAML
cat >"$work/flood.rules" <<'RULES'
alert tcp 10.1.0.0/16 any -> any any (msg:"active legitimate connection"; early.k:5; sid:1; rev:1;)
alert tcp 10.2.0.0/16 any -> any any (msg:"idle legitimate connection"; early.k:5; sid:2; rev:1;)
RULES

run() { # run NAME FLOWS
    mkdir -p "$work/$1"
    "$flood" -n "$2" -a "$active" -i "$idle" -- "$bin" run -q -r - -c "$work/flood.yaml" \
        -S "$work/flood.rules" -l "$work/$1" --workers "$workers" $ndpi_flag \
        >"$work/$1.out" 2>"$work/$1.err" || true
}
val() { sed -n "s/^$2 //p" "$work/$1.out"; }
stat() { # stat NAME KEY: a counter of the final stats event
    grep '"event_type":"stats"' "$work/$1/eve.json" | tail -1 |
        sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

echo "flood: $flows SYN flows, $active active + $idle idle legitimate connections," \
     "memcap ${memcap_mib} MiB, workers $workers, nDPI $ndpi;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
run base 0
run flood "$flows"

fail=0
check() { # check CONDITION MESSAGE
    if eval "$1"; then echo "  ok   $2"; else echo "  FAIL $2"; fail=1; fi
}
base_rss=$(val base child.peak_rss_kib)
rss=$(val flood child.peak_rss_kib)
limit=$(( (memcap_mib + OVERHEAD_MIB) * 1024 ))
evicted=$(stat flood evicted)
created=$(stat flood created)
capacity=$(stat flood capacity)
eve=$work/flood/eve.json
a_ok=$(grep '"signature_id":1,' "$eve" | grep -c '"packets":5,"at_flow_end":false' || true)
a_all=$(grep -c '"signature_id":1,' "$eve" || true)
a_uniq=$(grep '"signature_id":1,' "$eve" | sed 's/.*"src_ip":"\([^"]*\)","src_port":\([0-9]*\).*/\1:\2/' | sort -u | wc -l)
i_end=$(grep '"signature_id":2,' "$eve" | grep -c '"packets":3,"at_flow_end":true' || true)
i_all=$(grep -c '"signature_id":2,' "$eve" || true)

printf '  packets streamed     %s (%s MB) in %s s: %s packets/s\n' "$(val flood flood.packets)" \
    "$(( $(val flood flood.bytes) / 1000000 ))" "$(val flood flood.seconds)" \
    "$(val flood flood.packets_per_s)"
printf '  peak RSS             %s KiB with the flood, %s KiB without (limit %s KiB = %s + %s MiB)\n' \
    "$rss" "$base_rss" "$limit" "$memcap_mib" "$OVERHEAD_MIB"
printf '  flows                created %s, capacity %s, evicted %s\n' "$created" "$capacity" "$evicted"
printf '  active connections   %s alerts (%s at the 5th packet, %s distinct), expected %s\n' \
    "$a_all" "$a_ok" "$a_uniq" "$active"
printf '  idle connections     %s alerts (%s at flow end after 3 packets), expected %s\n' \
    "$i_all" "$i_end" "$idle"
check '[ "$(val flood child.exit)" = 0 ] && [ "$(val base child.exit)" = 0 ]' \
    "earlyflow run exited 0$(sed -n 's/^earlyflow run: \(.*error.*\)/: \1/p' "$work/flood.err" | head -1)"
check '[ "$rss" -le "$limit" ]' "peak RSS under memcap + overhead"
check '[ "$rss" -le $((base_rss + growth_mib * 1024)) ]' \
    "the flood adds $(( (rss - base_rss) / 1024 )) MiB to the RSS (at most $growth_mib)"
check '[ -n "$evicted" ] && [ "$evicted" -gt 0 ] && [ "$evicted" -eq $((created - capacity)) ]' \
    "evictions counted: created - capacity"
check '[ "$a_ok" -eq "$active" ] && [ "$a_all" -eq "$active" ] && [ "$a_uniq" -eq "$active" ]' \
    "active connections survive and get their k=5 verdict"
check '[ "$i_end" -eq "$idle" ] && [ "$i_all" -eq "$idle" ]' \
    "idle connections are evicted with a flow-end verdict"
exit $fail
