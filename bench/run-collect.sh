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
# damps noise from other work on the machine. Timings on a shared machine are
# noisy: compare the ratios, which are measured back to back.
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
# best_of CMD...: fastest wall time in seconds over REPEAT runs.
best_of() {
    local best="" t0 t1 el
    for _ in $(seq "$REPEAT"); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || die "failed: $*"
        t1=$(date +%s%N)
        el=$(( t1 - t0 ))
        if [ -z "$best" ] || [ "$el" -lt "$best" ]; then best=$el; fi
    done
    awk -v ns="$best" 'BEGIN { printf "%.4f", ns / 1e9 }'
}

OUT="$BENCH_DIR/out"
rm -rf "$OUT"
t_loop=$(best_of "$LOOP" "$CAP")
t_off=$(best_of "$EF_BIN" collect -r "$CAP" -o "$OUT" --name off --no-ndpi)
t_on=$(best_of "$EF_BIN" collect -r "$CAP" -o "$OUT" --name on)
t_ndpi=$(best_of ndpiReader -i "$CAP" -q)

# Flows, for the record (from collect's own summary).
flows=$("$EF_BIN" collect -r "$CAP" -o "$OUT" --name count --no-ndpi -k 3 2>&1 |
        awk '/^  total/ {print $2}')

pps() { awk -v p="$PKTS" -v t="$1" 'BEGIN { printf "%.2f", p / t / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

echo "collect benchmark: $CAP"
echo "  $PKTS packets, $((BYTES / 1000000)) MB, $flows flows; best of $REPEAT runs; $(nproc) cores:" \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '  %-34s %9s %12s %18s\n' "tool" "seconds" "Mpkt/s" "vs ndpiReader"
printf '  %-34s %9s %12s %18s\n' "libpcap read loop (baseline)" "$t_loop" "$(pps "$t_loop")" "$(ratio "$t_loop" "$t_ndpi")x"
printf '  %-34s %9s %12s %18s\n' "ndpiReader -i FILE -q (baseline)" "$t_ndpi" "$(pps "$t_ndpi")" "1.00x"
printf '  %-34s %9s %12s %18s\n' "earlyflow collect --no-ndpi" "$t_off" "$(pps "$t_off")" "$(ratio "$t_off" "$t_ndpi")x"
printf '  %-34s %9s %12s %18s\n' "earlyflow collect (nDPI on)" "$t_on" "$(pps "$t_on")" "$(ratio "$t_on" "$t_ndpi")x"
echo "  collect --no-ndpi takes $(ratio "$t_loop" "$t_off")x the libpcap loop's time" \
     "(targets: >= 10x ndpiReader with nDPI off, >= 2x with nDPI on)"
rm -rf "$OUT"
