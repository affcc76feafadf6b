#!/bin/sh
# Runs every fuzz target for a bounded time over its seed corpus
# (docs/robustness.md). Any crash, sanitizer report, leak, timeout or
# out-of-memory fails the script.
#
#   fuzz/run-fuzz.sh [-t SECONDS] [-b BUILD_FUZZ_DIR] [TARGET...]
#
#   -t SECONDS  fuzzing time per target (default 45)
#   -b DIR      the fuzz build (default build-fuzz; configured and built here
#               when missing: cmake -DCMAKE_C_COMPILER=clang -DEF_FUZZ=ON)
#   TARGET      decode capture mawilab config rules model json dataset
#               (default: every fuzz_* target that is built)
#
# The corpus is built fresh in BUILD/corpus (fuzz/make-corpus.sh); what a
# run discovers goes to BUILD/corpus-new/<target> (never committed), and a
# crashing input is saved as BUILD/findings/<target>/crash-* with the
# command that reproduces it.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=45
BUILD=$SRC/build-fuzz
while getopts t:b: opt; do
    case $opt in
        t) SECS=$OPTARG ;;
        b) BUILD=$OPTARG ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
JOBS=$(nproc 2>/dev/null || echo 2)
[ "$JOBS" -gt 2 ] && JOBS=2

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DEF_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" --target fuzz_all -j"$JOBS" >/dev/null
"$SRC/fuzz/make-corpus.sh" "$BUILD" "$BUILD/corpus"

targets=$*
if [ -z "$targets" ]; then
    for f in "$BUILD"/fuzz/fuzz_*; do
        targets="$targets ${f##*/fuzz_}"
    done
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ef_fuzz.XXXXXX")
[ -w /dev/shm ] && { rmdir "$scratch"; scratch=$(mktemp -d /dev/shm/ef_fuzz.XXXXXX); }
trap 'rm -rf "$scratch"' EXIT INT TERM
export EF_FUZZ_TMP=$scratch
# Leaks fail (ASan's leak checker runs at the end of every input batch);
# UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

fail=0
printf '%-8s %10s %8s %8s %8s %s\n' target execs secs corpus new_cov result
for t in $targets; do
    bin=$BUILD/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "run-fuzz: no target fuzz_$t" >&2; fail=1; continue; }
    seeds=$BUILD/corpus/$t
    new=$BUILD/corpus-new/$t
    out=$BUILD/findings/$t
    mkdir -p "$seeds" "$new" "$out"
    log=$out/fuzz.log
    # Inputs up to 1 MiB for readers of whole files; 64 KiB otherwise.
    case $t in
        capture|model|mawilab|dataset) maxlen=1048576 ;;
        *) maxlen=65536 ;;
    esac
    start=$(date +%s)
    rc=0
    "$bin" "$new" "$seeds" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -max_len=$maxlen -print_final_stats=1 -artifact_prefix="$out/" >"$log" 2>&1 || rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    ncorp=$(find "$seeds" "$new" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAIL (exit $rc; $log)"
        fail=1
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -5 | sed 's/^/    /'
    fi
    printf '%-8s %10s %8s %8s %8s %s\n' "$t" "${execs:-?}" "$secs" "$ncorp" "${cov:-?}" "$result"
done
exit $fail
