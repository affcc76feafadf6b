#!/usr/bin/env bash
# Generator throughput (packets/s written) against baselines measured in the
# same run: raw write() of the same bytes to the same folder, and libpcap's
# read loop over the written capture. Target: >= 1 M packets/s.
#
#   bench/run-gen.sh [BUILD_DIR] [OUT_DIR]
#
# OUT_DIR defaults to /dev/shm when it exists (memory-backed: measures the
# generator, not the disk), else $TMPDIR or /tmp. Each run stays well under a
# minute; numbers on a shared machine are noisy.
set -euo pipefail
build=${1:-build}
out=${2:-}
if [ -z "$out" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then out=/dev/shm; else out=${TMPDIR:-/tmp}; fi
fi
cmake --build "$build" --target bench_gen earlyflow -j2 >/dev/null
echo "== full packets (snaplen 65535, the default)"
"$build/bench/bench_gen" --flows 5000 --snaplen 65535 --dir "$out"
echo "== header-only packets (snaplen 96, MAWI-like)"
"$build/bench/bench_gen" --flows 10000 --snaplen 96 --dir "$out"
echo "== the small preset through the command line (earlyflow gen --flows 2000)"
tmp=$(mktemp -d "$out/run-gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$build/earlyflow" gen -o "$tmp/s.pcap" --labels "$tmp/s.csv" --flows 2000
start=$(date +%s.%N)
cat "$tmp/s.pcap" >"$tmp/copy.pcap"
end=$(date +%s.%N)
echo "baseline: cat copy of the same capture: $(echo "$end - $start" | bc) s"
