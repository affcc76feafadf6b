#!/usr/bin/env bash
# SIGINT / SIGTERM during `earlyflow run` (docs/robustness.md, "Signals"):
# the run stops, every flow still in the table gets its flow-end handling,
# the summary says "(interrupted)", the exit status is 0, and the EVE file
# holds only complete JSON lines ending with exactly one stats line.
# Cases: a SYN-flood stream on stdin (bench_flood) with 1, 2 and 4 workers,
# SIGINT and SIGTERM; a stream that pauses mid-way (the reader is blocked in
# read(2)); a stream that has not sent its pcap header yet (blocked in the
# open: regression for an interrupted open reported as an input error).
set -u
bin=${EF_BIN:?EF_BIN not set}
flood=${EF_BINARY_DIR:?EF_BINARY_DIR not set}/bench/bench_flood
[ -x "$flood" ] || { echo "robust_signals: $flood not built, skipped"; exit 77; }
tool=${EF_TESTTOOL:?EF_TESTTOOL not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
# A small table: the flood's flows are evicted (and logged) from the start.
printf 'earlyflow:\n  memcap: 2mb\n' >"$tmp/c.yaml"

# check_eve NAME: every line one JSON object, exactly one stats line, the last
check_eve() {
    local out
    out=$("$tool" eve-check -s -p stats.decoder.pkts "$tmp/$1/eve.json") || {
        fail "$1: EVE file damaged"
        return
    }
    printf '%s\n' "$out" |
        awk '$1 == "lines" { n = $2 } $1 == "stats.decoder.pkts" { p = $2 }
             END { printf "  %s lines, %s packets\n", n, p }'
}

# stop_run NAME SIGNAL DELAY PRODUCER... : run the producer into `earlyflow
# run -r -`, send SIGNAL to earlyflow after DELAY seconds, check how it ended.
stop_run() {
    local name=$1 sig=$2 delay=$3 workers=$4
    shift 4
    mkdir -p "$tmp/$name"
    rm -f "$tmp/fifo"
    mkfifo "$tmp/fifo"
    "$@" >"$tmp/fifo" 2>/dev/null &
    local producer=$!
    "$bin" run -c "$tmp/c.yaml" -r - -l "$tmp/$name" --workers "$workers" <"$tmp/fifo" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    local pid=$!
    sleep "$delay"
    kill -s "$sig" "$pid" 2>/dev/null || fail "$name: earlyflow had already ended"
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 60 ]; do
        sleep 0.5
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$name: still running 30 s after $sig"
        kill -KILL "$pid"
    fi
    wait "$pid"
    local rc=$?
    kill "$producer" 2>/dev/null
    wait "$producer" 2>/dev/null
    echo "$name: $sig after ${delay}s: exit $rc"
    [ "$rc" -eq 0 ] || fail "$name: exit $rc after $sig, expected 0: $(tail -2 "$tmp/$name.err")"
    grep -q "earlyflow run summary (interrupted)" "$tmp/$name.out" || fail "$name: no '(interrupted)' summary"
    [ -s "$tmp/$name.err" ] && ! grep -q "rules loaded" "$tmp/$name.err" &&
        fail "$name: unexpected messages: $(head -3 "$tmp/$name.err")"
    check_eve "$name"
}

stop_run int_1 INT 1 1 "$flood" -n 100000000
stop_run term_2 TERM 1 2 "$flood" -n 100000000
stop_run int_4 INT 1 4 "$flood" -n 100000000
# the producer pauses after 2000 flows: earlyflow waits in read(2)
stop_run paused INT 2 1 sh -c "'$flood' -n 2000; exec sleep 20"
pk=$(grep -o '"pkts":[0-9]*' "$tmp/paused/eve.json" | tail -1)
# 2000 SYNs + 300 handshakes + 20 interleaved + 200 final packets
[ "$pk" = '"pkts":3120' ] || fail "paused: stats $pk, expected every packet sent before the pause (3120)"
# nothing sent yet: earlyflow waits for the pcap header
stop_run no_header TERM 1 1 sleep 20

if [ "$failures" -gt 0 ]; then
    echo "robust_signals: $failures failure(s)" >&2
    exit 1
fi
echo "robust_signals: all cases passed"
