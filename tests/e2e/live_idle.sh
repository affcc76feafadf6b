#!/usr/bin/env bash
# Live capture on a quiet interface (docs/run.md, "Live capture"): `earlyflow
# run -i lo udp port P` sees two UDP flows of 3 datagrams each, then
# nothing. While the process still runs, within 10 s, eve.json must hold
# both flows' flow-end verdicts: idle flows end on the wall clock, and EVE
# is flushed about once a second (the writer alone would write the first
# line at once and keep the second buffered until a later line). Then
# SIGINT ends the run cleanly (exit 0, "(interrupted)" summary, one stats
# line, last) and the stats say the flows ended by timeout, none at
# shutdown. With 1 and 2 workers (every worker gets the wall-clock ticks).
# And EVE on a full disk (/dev/full): the failed periodic flush is kept and
# reported, the run ends with exit 1 after SIGINT. Skipped (77) when lo
# cannot be captured on.
set -u
bin=${EF_BIN:?EF_BIN not set}
py=$(command -v python3) || { echo "live_idle: python3 absent, skipped"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# send_udp PORT N: two flows (two sockets), N datagrams each, 20 ms apart
send_udp() {
    "$py" - "$1" "$2" <<'PY'
import socket, sys, time
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for _ in range(int(sys.argv[2])):
    for s in socks:
        s.sendto(b"x" * 50, ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.02)
PY
}

# verdict_count EVE PORT: early events for a flow to PORT decided at flow end
# on 3 packets
verdict_count() {
    "$py" - "$1" "$2" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        e = json.loads(line)
        if (e.get("event_type") == "early" and e.get("dest_port") == int(sys.argv[2])
                and e["early"]["packets"] == 3 and e["early"]["at_flow_end"]):
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}

# check_end NAME: complete JSON lines, one stats line (the last), the flow
# ended by timeout
check_end() {
    "$py" - "$tmp/$1/eve.json" <<'PY' || fail "$1: EVE file"
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
if lines[-1] != b"":
    sys.exit("the file ends inside a line")
events = [json.loads(l) for l in lines[:-1]]
stats = [i for i, e in enumerate(events) if e.get("event_type") == "stats"]
if stats != [len(events) - 1]:
    sys.exit(f"stats lines at {stats}, expected one, the last of {len(events)}")
ended = events[-1]["stats"]["flow"]["ended"]
if ended["timeout"] != 2 or ended["shutdown"] != 0:
    sys.exit(f"flow ends {ended}: expected both flows to time out, none left at shutdown")
PY
}

# start NAME PORT ARGS...: earlyflow run ARGS -i lo udp port PORT in the
# background (pid in $pid); 1 when it could not start (failure recorded)
start() {
    local name=$1 port=$2
    shift 2
    mkdir -p "$tmp/$name"
    "$bin" run "$@" -i lo udp port "$port" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    sleep 1 # libpcap opens the interface
    kill -0 "$pid" 2>/dev/null && return 0
    wait "$pid"
    pid=
    if grep -qiE "permission|not permitted" "$tmp/$name.err"; then
        echo "live_idle: skipped, cannot capture on lo: $(head -1 "$tmp/$name.err")"
        exit 77
    fi
    fail "$name: earlyflow run -i lo ended at once: $(head -2 "$tmp/$name.err")"
    return 1
}

# stop NAME: SIGINT, wait up to 5 s; the exit status in $rc
stop() {
    local waited=0
    kill -INT "$pid"
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 25 ]; do
        sleep 0.2
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$1: still running 5 s after SIGINT"
        kill -KILL "$pid"
    fi
    wait "$pid"
    rc=$?
    pid=
}

run_case() {
    local name=$1 workers=$2 port=$3
    start "$name" "$port" -l "$tmp/$name" --workers "$workers" || return
    local t0 waited=0 found=0
    t0=$(date +%s%N)
    send_udp "$port" 3
    while [ $waited -lt 50 ]; do # 10 s
        sleep 0.2
        waited=$((waited + 1))
        found=$(verdict_count "$tmp/$name/eve.json" "$port")
        [ "$found" -ge 2 ] && break
    done
    if [ "$found" -eq 2 ] && kill -0 "$pid" 2>/dev/null; then
        echo "$name: both flow-end verdicts in eve.json $((($(date +%s%N) - t0) / 1000000)) ms" \
            "after the first datagram (flow timeout 1 s; shared machine: noisy)"
    else
        fail "$name: $found flow-end verdicts for port $port in eve.json within 10 s" \
            "(expected 2, with the run still going)"
    fi
    stop "$name"
    [ "$rc" -eq 0 ] || fail "$name: exit $rc after SIGINT: $(tail -2 "$tmp/$name.err")"
    grep -q "earlyflow run summary (interrupted)" "$tmp/$name.out" ||
        fail "$name: no '(interrupted)' summary"
    check_end "$name"
}

full_disk() {
    local name=full port=$1
    printf 'earlyflow:\n  eve: {filename: /dev/full}\n' >"$tmp/full.yaml"
    start "$name" "$port" -c "$tmp/full.yaml" || return
    send_udp "$port" 3
    sleep 3 # the flows time out, their lines are flushed into a full disk
    stop "$name"
    echo "$name: exit $rc: $(tail -1 "$tmp/$name.err")"
    [ "$rc" -eq 1 ] || fail "$name: exit $rc, expected 1"
    grep -q "^earlyflow run: /dev/full: EVE write failed: No space left on device" \
        "$tmp/$name.err" || fail "$name: no EVE write error: $(tail -2 "$tmp/$name.err")"
    grep -q "verdicts *2 " "$tmp/$name.out" || fail "$name: summary: $(cat "$tmp/$name.out")"
}

rc=0
base=$((30000 + $$ % 20000))
run_case one_worker 1 "$base"
run_case two_workers 2 $((base + 1))
full_disk $((base + 2))

[ "$failures" -eq 0 ] || { echo "live_idle: $failures failures"; exit 1; }
echo "live_idle: ok"
