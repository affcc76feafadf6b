#!/bin/bash
# Benchmark of `earlyflow collect` against baselines measured in the same run
# on the same file:
#   - libpcap's own read loop (pcap_next_ex over the file, nothing else): the
#     floor any pcap reader pays;
#   - ndpiReader -i FILE -q (nDPI 4.2's reference reader, Debian libndpi-bin).
# Targets (issue 2): collect >= 10x ndpiReader's packets/s with nDPI off,
# >= 2x with nDPI on.
#
# The capture: every Ethernet capture in ../shared/data (pcapng converted to
# pcap), merged in time order, then repeated with shifted timestamps until it
# holds about TARGET_PACKETS packets (default 800000). It is built once into
# BENCH_DIR (default build/bench-data) and reused.
#
# Usage: bench/run-collect.sh [BUILD_DIR]   (env: TARGET_PACKETS, REPEAT, BENCH_DIR)
# Each tool runs REPEAT times (default 3); the fastest run counts, which
# damps noise from other work on the machine. Both wall time and CPU time
# (user + system) are shown; on a shared machine the CPU time is steadier.
# Compare the ratios, which are measured back to back.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EF_BIN="$BUILD/earlyflow"
SHARED=${EF_SHARED_DATA:-../shared/data}
TARGET_PACKETS=${TARGET_PACKETS:-800000}
REPEAT=${REPEAT:-3}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench-data}

die() { echo "run-collect: $*" >&2; exit 1; }
[ -x "$EF_BIN" ] || die "$EF_BIN not built (cmake --build $BUILD)"
[ -d "$SHARED" ] || die "no shared captures at $SHARED"
for t in mergecap editcap capinfos ndpiReader cc; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
mkdir -p "$BENCH_DIR"
CAP="$BENCH_DIR/collect-bench.pcap"

# --- the capture ------------------------------------------------------------
# The shared captures come from 1970 to today; they are laid end to end in
# time (each shifted to start 60 s after the previous one ends) so the result
# is one plausible trace, then repeated with every copy shifted past the
# previous one (new flows each time, same protocol mix).
build_capture() {
    local tmp="$BENCH_DIR/parts" n=0 cursor=1600000000 parts=() enc s e
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # Ethernet captures only: one link type lets them form one pcap.
    while IFS= read -r f; do
        enc=$(capinfos -T -r -E "$f" 2>/dev/null | cut -f2) || continue
        [ "$enc" = "ether" ] || continue
        n=$((n + 1))
        editcap -F pcap "$f" "$tmp/in$n.pcap" 2>/dev/null || { rm -f "$tmp/in$n.pcap"; continue; }
        s=$(capinfos -T -r -S -a "$tmp/in$n.pcap" | cut -f2 | cut -d. -f1)
        e=$(capinfos -T -r -S -e "$tmp/in$n.pcap" | cut -f2 | cut -d. -f1)
        editcap -t $((cursor - s)) "$tmp/in$n.pcap" "$tmp/part$n.pcap"
        parts+=("$tmp/part$n.pcap")
        cursor=$((cursor + e - s + 60))
    done < <(find "$SHARED" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
    mergecap -a -F pcap -w "$BENCH_DIR/base.pcap" "${parts[@]}"
    local base_pkts span copies list=()
    base_pkts=$(capinfos -T -r -c "$BENCH_DIR/base.pcap" | cut -f2)
    span=$((cursor - 1600000000))
    copies=$(( (TARGET_PACKETS + base_pkts - 1) / base_pkts ))
    for i in $(seq 0 $((copies - 1))); do
        editcap -t $((i * span)) "$BENCH_DIR/base.pcap" "$tmp/copy$i.pcap"
        list+=("$tmp/copy$i.pcap")
    done
    mergecap -a -F pcap -w "$CAP" "${list[@]}"
    rm -rf "$tmp" "$BENCH_DIR/base.pcap"
}
if [ ! -s "$CAP" ]; then
    echo "building $CAP from $SHARED ..." >&2
    build_capture
fi
PKTS=$(capinfos -T -r -c "$CAP" | cut -f2)
BYTES=$(stat -c %s "$CAP")

# --- libpcap's read loop (compiled here: a dozen lines, not project code) ---
LOOP="$BENCH_DIR/pcap_loop"
if [ ! -x "$LOOP" ]; then
    cat > "$BENCH_DIR/pcap_loop.c" <<'EOF'
#include <pcap/pcap.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = argc > 1 ? pcap_open_offline(argv[1], eb) : NULL;
    if (!p) { fprintf(stderr, "%s\n", argc > 1 ? eb : "usage: pcap_loop FILE"); return 1; }
    struct pcap_pkthdr *h; const unsigned char *d; unsigned long n = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) { n++; sum += d[0] + h->caplen; }
    printf("%lu %lu\n", n, sum);
    pcap_close(p);
    return 0;
}
EOF
    cc -O2 -o "$LOOP" "$BENCH_DIR/pcap_loop.c" -lpcap
fi

# --- timing -------------------------------------------------------------------
# measure CMD...: over REPEAT runs, the fastest wall time and the smallest CPU
# time (user + system), in seconds, as "wall cpu". On a shared machine the CPU
# time is the steadier figure (waiting for a core does not count).
timed() { # prints "wall cpu" of one run (bash's time: millisecond resolution)
    local TIMEFORMAT='%3R %3U %3S' t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || return 1
    set -- $t
    echo "$1 $(echo "$2 + $3" | bc -l)"
}
measure() {
    local best_wall="" best_cpu="" line wall cpu
    for _ in $(seq "$REPEAT"); do
        line=$(timed "$@") || die "failed: $*"
        wall=${line% *}
        cpu=${line#* }
        best_wall=$(awk -v a="$wall" -v b="${best_wall:-1e9}" 'BEGIN { print (a < b) ? a : b }')
        best_cpu=$(awk -v a="$cpu" -v b="${best_cpu:-1e9}" 'BEGIN { print (a < b) ? a : b }')
    done
    echo "$best_wall $best_cpu"
}

OUT="$BENCH_DIR/out"
rm -rf "$OUT"
read -r w_loop c_loop < <(measure "$LOOP" "$CAP")
read -r w_off c_off < <(measure "$EF_BIN" collect -r "$CAP" -o "$OUT" --name off --no-ndpi)
read -r w_on c_on < <(measure "$EF_BIN" collect -r "$CAP" -o "$OUT" --name on)
read -r w_ndpi c_ndpi < <(measure ndpiReader -i "$CAP" -q)

# Flows, for the record (from collect's own summary).
flows=$("$EF_BIN" collect -r "$CAP" -o "$OUT" --name count --no-ndpi -k 3 2>&1 |
        awk '/^  total/ {print $2}')

pps() { awk -v p="$PKTS" -v t="$1" 'BEGIN { if (t > 0) printf "%.2f", p / t / 1e6; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "-" }'; }
row() { # name wall cpu
    printf '  %-34s %8s %8s %10s %10s %9s %9s\n' "$1" "$2" "$3" "$(pps "$2")" "$(pps "$3")" \
        "$(ratio "$2" "$w_ndpi")" "$(ratio "$3" "$c_ndpi")"
}

echo "collect benchmark: $CAP"
echo "  $PKTS packets, $((BYTES / 1000000)) MB, $flows flows; best of $REPEAT runs; $(nproc) cores:" \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-34s %8s %8s %10s %10s %9s %9s\n' "" "wall s" "cpu s" "Mpkt/s" "Mpkt/s" \
    "vs ndpiR" "vs ndpiR"
printf '  %-34s %8s %8s %10s %10s %9s %9s\n' "" "" "" "(wall)" "(cpu)" "(wall)" "(cpu)"
row "libpcap read loop (baseline)" "$w_loop" "$c_loop"
row "ndpiReader -i FILE -q (baseline)" "$w_ndpi" "$c_ndpi"
row "earlyflow collect --no-ndpi" "$w_off" "$c_off"
row "earlyflow collect (nDPI on)" "$w_on" "$c_on"
echo "  targets: collect >= 10x ndpiReader with nDPI off, >= 2x with nDPI on"
rm -rf "$OUT"
