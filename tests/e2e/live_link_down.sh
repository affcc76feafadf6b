#!/usr/bin/env bash
# `earlyflow run -i lo` in a private network namespace while lo goes down and
# comes back up: the run carries on (an interface going down is not the end
# of a capture), flows from before and after are both in the EVE output, and
# SIGINT still ends it with exit 0. Needs root (network namespaces), unshare
# (util-linux) and ip (iproute2); skipped otherwise.
set -u
bin=${EF_BIN:?EF_BIN not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null ||
    ! unshare -n true 2>/dev/null; then
    echo "skip: needs root, unshare and ip to run a capture in a private network namespace"
    exit 77
fi

# send PORT: three one-datagram UDP flows to 127.0.0.1:PORT
unshare -n bash -c '
    bin=$1 tmp=$2
    send() { for i in 1 2 3; do echo x >/dev/udp/127.0.0.1/$1; done; }
    ip link set lo up || exit 90
    "$bin" run -l "$tmp/log" -i lo udp >"$tmp/out" 2>"$tmp/err" &
    p=$!
    for i in $(seq 50); do [ -s "$tmp/err" ] || [ -e "$tmp/log" ] && break; sleep 0.1; done
    sleep 0.5
    send 9999
    ip link set lo down
    sleep 1
    kill -0 $p 2>/dev/null || exit 91
    ip link set lo up
    sleep 0.5
    send 9998
    sleep 2.5   # flow timeout (1 s) + tick + EVE flush
    kill -INT $p
    wait $p
    echo "rc=$?" >"$tmp/rc"
' _ "$bin" "$tmp"
case $? in
    90) echo "skip: cannot bring lo up in a network namespace"; exit 77 ;;
    91) fail "earlyflow run ended when lo went down: $(cat "$tmp/err")" ;;
esac
[ "$(cat "$tmp/rc" 2>/dev/null)" = rc=0 ] || fail "exit $(cat "$tmp/rc" 2>/dev/null): $(cat "$tmp/err")"
before=$(grep '"event_type":"early"' "$tmp/log/eve.json" | grep -c '"dest_port":9999')
after=$(grep '"event_type":"early"' "$tmp/log/eve.json" | grep -c '"dest_port":9998')
[ "$before" -eq 3 ] || fail "$before verdicts for the 3 flows sent before lo went down: $(cat "$tmp/err")"
[ "$after" -eq 3 ] || fail "$after verdicts for the 3 flows sent after lo came back: $(cat "$tmp/err")"
echo "live_link_down: ok"
