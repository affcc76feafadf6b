#!/usr/bin/env bash
# Output that cannot be written (docs/robustness.md, "Output integrity"):
# `earlyflow run` reports the EVE file and the reason and exits 1 -- never a
# silent loss. A full disk (/dev/full; a file size limit that makes writes
# fail part-way, as a filling disk does), an unwritable or impossible log
# dir, a closed stdout pipe. When writing fails part-way the file keeps
# only complete lines, and the lines written plus the lines reported lost
# are every line the run produced.
set -u
bin=${EF_BIN:?EF_BIN not set}
tool=${EF_TESTTOOL:?EF_TESTTOOL not set}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
expect() { # expect NAME RC TEXT
    [ "$rc" -eq "$2" ] || fail "$1: exit $rc, expected $2: $(tail -2 "$tmp/$1.err")"
    grep -qF -- "$3" "$tmp/$1.err" || fail "$1: stderr lacks '$3': $(tail -2 "$tmp/$1.err")"
}
"$bin" gen -q -o "$tmp/a.pcap" -l "$tmp/a.csv" -n 600 -d 4 -s 5 || { echo "gen failed" >&2; exit 1; }
# every k and flow events: a few thousand lines
printf 'earlyflow:\n  k: [3, 5, 10, 20]\n  eve: {types: [early, alert, flow, stats]}\n' >"$tmp/many.yaml"

# a clean run: how many lines this input gives
"$bin" run -q -c "$tmp/many.yaml" -r "$tmp/a.pcap" -l "$tmp/clean" 2>"$tmp/clean.err"
rc=$?
[ "$rc" -eq 0 ] || fail "clean run: exit $rc"
total=$(wc -l <"$tmp/clean/eve.json")
[ "$total" -gt 1000 ] || fail "clean run: only $total lines (the file-size cases need more than 1000)"

# full disk
for w in 1 2; do
    printf 'earlyflow:\n  k: [3, 5, 10, 20]\n  eve: {filename: /dev/full, types: [early, alert, flow, stats]}\n' >"$tmp/full.yaml"
    "$bin" run -q -c "$tmp/full.yaml" --workers $w -r "$tmp/a.pcap" >"$tmp/full$w.out" 2>"$tmp/full$w.err"
    rc=$?
    expect "full$w" 1 "/dev/full: EVE write failed: No space left on device"
    expect "full$w" 1 "($total lines lost)"
done

# a disk that fills up during the run: writes past 64 KiB / 300 KiB fail
# (EFBIG, with SIGXFSZ ignored), part-way through a buffer
for limit in 128 600; do
    name=limit$limit
    mkdir "$tmp/$name"
    (trap '' XFSZ; ulimit -f "$limit"; exec "$bin" run -q -c "$tmp/many.yaml" -r "$tmp/a.pcap" -l "$tmp/$name") \
        >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    expect "$name" 1 "$tmp/$name/eve.json: EVE write failed: File too large"
    lost=$(tail -1 "$tmp/$name.err" | sed -n 's/.*(\([0-9]*\) lines lost)$/\1/p')
    # every line complete JSON, the file ending with a newline
    kept=$(set -o pipefail; "$tool" eve-check "$tmp/$name/eve.json" | awk '$1 == "lines" { print $2 }') ||
        fail "$name: EVE file damaged"
    [ -n "$lost" ] && [ -n "$kept" ] && [ $((kept + lost)) -eq "$total" ] ||
        fail "$name: $kept lines kept + ${lost:-?} reported lost != $total lines of a clean run"
done

# log dirs that cannot hold the file
printf 'x\n' >"$tmp/afile"
"$bin" run -q -r "$tmp/a.pcap" -l "$tmp/afile/sub" >"$tmp/notdir.out" 2>"$tmp/notdir.err"
rc=$?
expect notdir 1 "log dir $tmp/afile/sub: Not a directory"
"$bin" run -q -r "$tmp/a.pcap" -l "$tmp/afile" >"$tmp/isfile.out" 2>"$tmp/isfile.err"
rc=$?
expect isfile 1 "log dir $tmp/afile: not a directory"
if [ "$(id -u)" -eq 0 ]; then
    # root may write anywhere a mode allows; procfs refuses new files to root
    # too (and is mounted wherever earlyflow runs: the host reads
    # /proc/self/exe; sysfs is not, e.g. in a chroot)
    ro=/proc
else
    mkdir "$tmp/ro"
    chmod 0555 "$tmp/ro"
    ro=$tmp/ro
fi
"$bin" run -q -r "$tmp/a.pcap" -l "$ro" >"$tmp/ro.out" 2>"$tmp/ro.err"
rc=$?
expect ro 1 "$ro/eve.json: cannot open EVE output: "
"$bin" run -q -r "$tmp/a.pcap" -l "$ro/sub/dir" >"$tmp/ro2.out" 2>"$tmp/ro2.err"
rc=$?
expect ro2 1 "log dir $ro/sub/dir: "

# EVE on stdout into a pipe that closes
printf 'earlyflow:\n  eve: {filename: "-"}\n' >"$tmp/stdout.yaml"
"$bin" run -q -c "$tmp/stdout.yaml" -r "$tmp/a.pcap" 2>"$tmp/pipe.err" | head -c 300 >/dev/null
rc=${PIPESTATUS[0]}
expect pipe 1 "<stdout>: EVE write failed: Broken pipe"

if [ "$failures" -gt 0 ]; then
    echo "robust_output: $failures failure(s)" >&2
    exit 1
fi
echo "robust_output: all cases passed"
