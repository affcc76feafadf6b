#!/usr/bin/env bash
# Packet-path benchmark: decode + flow table + first-k features replayed from
# memory, next to libpcap's own read loop over the same files (same run).
#
#   bench/run-packet-path.sh [BUILD_DIR] [CAPTURE_OR_DIR ...]
#
# BUILD_DIR defaults to ./build (configure and build it first); captures
# default to the shared data folder (EF_SHARED_DATA, else ../shared/data next
# to the source tree), replayed to ~800k packets. Extra options for the
# program go in BENCH_OPTS (e.g. BENCH_OPTS="-n 2000000 -r 5").
# One run takes well under a minute; the figures are the best of 3 runs.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$src_dir/build}
[ $# -gt 0 ] && shift
bin=$build_dir/bench/bench_packet_path
if [ ! -x "$bin" ]; then
    echo "run-packet-path.sh: $bin not found; build first:" >&2
    echo "  cmake -S $src_dir -B $build_dir && cmake --build $build_dir -j2" >&2
    exit 1
fi

inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
    data=${EF_SHARED_DATA:-$src_dir/../shared/data}
    if [ ! -d "$data" ]; then
        echo "run-packet-path.sh: no captures given and $data is absent" >&2
        exit 1
    fi
    inputs=("$data")
fi

model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
cpus=$(nproc 2>/dev/null || echo '?')
echo "machine: ${model:-unknown CPU}, $cpus CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary:  $bin ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build_dir/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?') build)"
# shellcheck disable=SC2086
"$bin" ${BENCH_OPTS:-} "${inputs[@]}" 2> >(grep -v '^skipped:' >&2)
