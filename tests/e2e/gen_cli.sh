#!/usr/bin/env bash
# earlyflow gen on the command line: usage errors exit 2 with a message that
# names the option, output errors exit 1 naming the file and leave nothing
# behind, and a small run writes a capture, a MAWILab label file and the
# ground truth, byte-identical when run again with the same seed.
set -u
bin=${EF_BIN:?EF_BIN not set}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect STATUS NEEDLE ARGS...: run `earlyflow gen ARGS`, check the exit
# status and that stderr contains NEEDLE (when not empty).
expect() {
    local want=$1 needle=$2
    shift 2
    "$bin" gen "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "gen $*: exit $rc, expected $want; stderr: $(cat "$tmp/stderr")"
    if [ -n "$needle" ]; then
        grep -qF -- "$needle" "$tmp/stderr" || fail "gen $*: stderr lacks '$needle': $(cat "$tmp/stderr")"
    fi
}

o=(-o "$tmp/x.pcap" --labels "$tmp/x.csv" --flows 200 --duration 5 --snaplen 96)

# usage errors
expect 2 "are required"
expect 2 "are required" -o "$tmp/x.pcap"
expect 2 "are required" --labels "$tmp/x.csv"
expect 2 "unknown category 'Scans'" "${o[@]}" --mix benign=5,Scans=1
expect 2 "Unknown cannot be generated" "${o[@]}" --mix benign=5,Unknown=1
expect 2 "loss: 1.5 is not in [0, 1)" "${o[@]}" --loss 1.5
expect 2 "--loss: 'abc' is not a number" "${o[@]}" --loss abc
expect 2 "one-way" "${o[@]}" --one-way 2
expect 2 "--flows: '-3' is not a non-negative integer" "${o[@]}" --flows -3
expect 2 "flows: 0 is not in" "${o[@]}" --flows 0
expect 2 "snaplen: 10 is not in" "${o[@]}" --snaplen 10
expect 2 "duration" "${o[@]}" --duration 0
expect 2 "--linktype: 'tokenring'" "${o[@]}" --linktype tokenring
expect 2 "unknown option '--bogus'" "${o[@]}" --bogus
expect 2 "needs a value" "${o[@]}" --seed
expect 2 "unexpected argument 'extra'" "${o[@]}" extra
[ ! -e "$tmp/x.pcap" ] && [ ! -e "$tmp/x.csv" ] || fail "a usage error wrote output"

# help
"$bin" gen --help >"$tmp/help" 2>&1 || fail "gen --help failed"
grep -q "usage: earlyflow gen" "$tmp/help" || fail "gen --help: no usage line"

# output errors: the message names the file; nothing is left behind
expect 1 "$tmp/no/such/dir/x.pcap" -o "$tmp/no/such/dir/x.pcap" --labels "$tmp/x.csv" --flows 50
expect 1 "$tmp/no/dir/x.csv" -o "$tmp/x.pcap" --labels "$tmp/no/dir/x.csv" --flows 50
mkdir "$tmp/isdir.pcap"
expect 1 "$tmp/isdir.pcap" -o "$tmp/isdir.pcap" --labels "$tmp/x.csv" --flows 50
expect 1 "$tmp/no/t.csv" "${o[@]}" --truth "$tmp/no/t.csv"
left=$(find "$tmp" -name '*.tmp-*' -o -name 'x.pcap' -o -name 'x.csv' | wc -l)
[ "$left" -eq 0 ] || fail "failed runs left $left files: $(ls -R "$tmp")"

# a small run, twice
"$bin" gen "${o[@]}" --seed 4 --truth "$tmp/t.csv" >"$tmp/summary" 2>"$tmp/stderr" ||
    fail "gen run failed: $(cat "$tmp/stderr")"
grep -q "packets" "$tmp/summary" || fail "no summary: $(cat "$tmp/summary")"
head -1 "$tmp/x.csv" | grep -qx "anomalyID, srcIP, srcPort, dstIP, dstPort, taxonomy, heuristic, distance, nbDetectors, label" ||
    fail "label header: $(head -1 "$tmp/x.csv")"
[ "$(awk -F, 'NR > 1 && NF != 10' "$tmp/x.csv" | wc -l)" -eq 0 ] || fail "label rows without 10 fields"
head -1 "$tmp/t.csv" | grep -q "^flow_id,category,anomalyID" || fail "truth header"
rows=$(($(wc -l <"$tmp/t.csv") - 1))
[ "$rows" -gt 100 ] || fail "truth has $rows flows"
# every anomaly id in the truth has rows in the label file
for id in $(awk -F, 'NR > 1 && $3 >= 0 {print $3}' "$tmp/t.csv" | sort -u); do
    grep -q "^$id," "$tmp/x.csv" || fail "anomaly $id has no label row"
done
cp "$tmp/x.pcap" "$tmp/first.pcap"
cp "$tmp/x.csv" "$tmp/first.csv"
"$bin" gen "${o[@]}" --seed 4 -q >"$tmp/stdout" 2>&1 || fail "second run failed"
[ ! -s "$tmp/stdout" ] || fail "-q still printed: $(cat "$tmp/stdout")"
cmp -s "$tmp/x.pcap" "$tmp/first.pcap" || fail "same seed, different capture"
cmp -s "$tmp/x.csv" "$tmp/first.csv" || fail "same seed, different label file"
"$bin" gen "${o[@]}" --seed 5 -q || fail "third run failed"
! cmp -s "$tmp/x.pcap" "$tmp/first.pcap" || fail "another seed, same capture"
echo "ok"
