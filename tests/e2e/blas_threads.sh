#!/usr/bin/env bash
# earlyflow runs with one OpenBLAS thread (cli/main.c): Debian's pthread
# OpenBLAS would otherwise start a thread pool at load time whose idle
# threads spin for ~0.1 s of CPU in every process. Observed from outside: a
# run blocked opening its capture (a FIFO nobody writes yet) has exactly one
# thread; with OPENBLAS_NUM_THREADS set by the user, the user's value holds
# (more threads on a machine with more than one CPU).
set -u
bin=${EF_BIN:?EF_BIN not set}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# threads_while_blocked [ENV...]: thread count of `earlyflow run -r FIFO`
threads_while_blocked() {
    rm -f "$tmp/fifo"
    mkfifo "$tmp/fifo" || fail "mkfifo"
    env "$@" "$bin" run -r "$tmp/fifo" -l "$tmp/log" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    local n=0 i
    # the FIFO open blocks in the main thread; wait until the process is
    # there (after its possible re-exec) and has stopped starting threads
    for i in $(seq 50); do
        sleep 0.1
        [ -r "/proc/$pid/cmdline" ] || continue
        [ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$bin")" ] || continue
        [ "$(env -i cat "/proc/$pid/environ" 2>/dev/null | tr '\0' '\n' | grep -c '^OPENBLAS_NUM_THREADS=')" -ge 1 ] || continue
        [ "$i" -ge 5 ] && break
    done
    n=$(ls "/proc/$pid/task" | wc -l)
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
    echo "$n"
}

n=$(threads_while_blocked)
[ "$n" -eq 1 ] || fail "earlyflow run has $n threads while blocked before reading, expected 1"
if [ "$(nproc)" -ge 2 ]; then
    n=$(threads_while_blocked OPENBLAS_NUM_THREADS=2)
    [ "$n" -ge 2 ] || fail "with OPENBLAS_NUM_THREADS=2 earlyflow run has $n threads, expected >= 2 (the user's setting must hold)"
else
    echo "one CPU: the OPENBLAS_NUM_THREADS=2 case is not checked"
fi
echo "blas_threads: ok"
