#!/usr/bin/env bash
# Corrupt inputs through the host (docs/robustness.md, "Corrupt inputs"):
# every case runs `earlyflow run` under a time limit and asserts how it ends
# (exit status, never a signal or a hang) and what it says.
#   - model files: truncated at every section boundary, wrong shape, wrong
#     dtype, NaN and Inf weights, a header claiming huge sizes, not a model:
#     the plugin's init fails, the host exits 1 naming the file; finite but
#     huge weights load and give numeric scores (fuzz finding, see
#     test_robust_model.c);
#   - rules with pathological nesting, length, variables, binary garbage:
#     those rules are skipped with file:line:col, the run goes on (exit 0);
#   - config values of the wrong type and hostile YAML: exit 1 naming the
#     key path and position;
#   - captures truncated mid-record (header or data) and mid-block (pcapng):
#     that input stops with an error naming the file and byte offset, the
#     packets before the cut are processed, the run goes on with the next
#     input and exits 1;
#   - 1 GiB of random bytes on stdin, and a valid pcap header followed by
#     random bytes: refused at byte 0 / byte 24 within seconds;
#   - valid records holding random frames: every packet is counted (decoded
#     or malformed), the run ends normally (a bad packet never stops a run).
set -u
bin=${EF_BIN:?EF_BIN not set}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR not set}
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
tool=${EF_TESTTOOL:?EF_TESTTOOL not set}

# run NAME ARGS...: earlyflow run with a 60 s limit; output in $tmp/NAME.{out,err}
run() {
    local name=$1
    shift
    timeout 60 "$bin" run "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    if [ "$rc" -eq 124 ]; then
        fail "$name: still running after 60 s"
    elif [ "$rc" -ge 128 ]; then
        fail "$name: killed by signal $((rc - 128)): $(tail -3 "$tmp/$name.err")"
    fi
}
# expect NAME RC TEXT: the run ended with RC and stderr holds TEXT
expect() {
    [ "$rc" -eq "$2" ] || fail "$1: exit $rc, expected $2: $(tail -3 "$tmp/$1.err")"
    grep -qF -- "$3" "$tmp/$1.err" || fail "$1: stderr lacks '$3': $(tail -3 "$tmp/$1.err")"
}
stat_of() { # stat_of EVE KEY: a counter of the last stats event
    grep '"event_type":"stats"' "$1" | tail -1 | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# A small capture of every category (and its packet count).
"$bin" gen -q -o "$tmp/a.pcap" -l "$tmp/a.csv" -n 60 -d 2 -s 3 || { echo "gen failed" >&2; exit 1; }
"$bin" gen -q -o "$tmp/b.pcap" -l "$tmp/b.csv" -n 20 -d 1 -s 4 || { echo "gen failed" >&2; exit 1; }
run plain -r "$tmp/a.pcap" -l "$tmp/plain"
[ "$rc" -eq 0 ] || fail "a clean run failed: $(cat "$tmp/plain.err")"
a_pkts=$(stat_of "$tmp/plain/eve.json" pkts)
run plainb -r "$tmp/b.pcap" -l "$tmp/plainb"
b_pkts=$(stat_of "$tmp/plainb/eve.json" pkts)

# ---- model files ---------------------------------------------------------------
# Damaged copies of the built-in model, computed from its layout (see
# tests/tools/ef_testtool.c, model-damage): cut at every section boundary
# (inside the length, after it, inside and after the header, after each
# tensor but the last, one byte short); the first tensor's shape and dtype
# changed, its offsets past the data, metadata "hidden" out of range, header
# lengths of 2^40 and 2^64-1, NaN in the last bias, -Inf in the first, and
# (accepted) every weight of the last two weight tensors at 2.83e38. The
# expected message of each case goes to cases.txt (name|text).
"$tool" model-damage "$src/models/builtin/builtin_k5.safetensors" "$tmp"
[ $? -eq 0 ] || { echo "robust_corrupt_inputs: could not write the model files" >&2; exit 1; }
cp "$tmp/a.pcap" "$tmp/pcap_as_model.safetensors"

model_case() { # model_case NAME TEXT
    printf 'earlyflow:\n  model: %s\n' "$tmp/$1.safetensors" >"$tmp/m_$1.yaml"
    run "m_$1" -c "$tmp/m_$1.yaml" -r "$tmp/a.pcap" -l "$tmp/m_$1"
    expect "m_$1" 1 "failed to initialise: earlyflow: $tmp/$1.safetensors: "
    grep -qF -- "$2" "$tmp/m_$1.err" || fail "m_$1: stderr lacks '$2': $(tail -1 "$tmp/m_$1.err")"
}
for f in "$tmp"/trunc_*.safetensors; do
    model_case "$(basename "$f" .safetensors)" ""
done
while IFS='|' read -r name text; do
    model_case "$name" "$text"
done <"$tmp/cases.txt"
[ "$(wc -l <"$tmp/cases.txt")" -eq 8 ] || fail "model cases not written"
model_case pcap_as_model ""
# per-k model files are checked the same way
printf 'earlyflow:\n  k: [5, 20]\n  models:\n    20: %s\n' "$tmp/dtype.safetensors" >"$tmp/m_perk.yaml"
run m_perk -c "$tmp/m_perk.yaml" -r "$tmp/a.pcap" -l "$tmp/m_perk"
expect m_perk 1 "dtype.safetensors"
# huge finite weights: accepted, and every score is a number
printf 'earlyflow:\n  model: %s\n' "$tmp/huge.safetensors" >"$tmp/m_huge.yaml"
run m_huge -c "$tmp/m_huge.yaml" -r "$tmp/a.pcap" -l "$tmp/m_huge"
[ "$rc" -eq 0 ] || fail "huge weights: exit $rc: $(tail -2 "$tmp/m_huge.err")"
n_early=$(grep -c '"event_type":"early"' "$tmp/m_huge/eve.json")
n_num=$(grep '"event_type":"early"' "$tmp/m_huge/eve.json" | grep -c '"score":[0-9]')
[ "$n_early" -gt 0 ] && [ "$n_early" -eq "$n_num" ] ||
    fail "huge weights: $n_num of $n_early early events have a numeric score"
grep -q 'null' "$tmp/m_huge/eve.json" && fail "huge weights: a null (NaN) in the EVE output"

# ---- rules ----------------------------------------------------------------------
awk 'function rep(s, n) { while (n-- > 0) printf "%s", s }
BEGIN {
    printf "alert tcp "; rep("[", 4000); printf "10.0.0.1"; rep("]", 4000)
    print " any -> any any (msg:\"deep\"; sid:1;)"
    printf "alert tcp any "; rep("[!", 2000); printf "80"; rep("]", 2000)
    print " -> any any (msg:\"deep ports\"; sid:2;)"
    printf "alert tcp any any -> any any (msg:\""; rep("A", 200000); print "\"; sid:3;)"
    rep("alert tcp any any -> any any (msg:\"continued\"; \\\n", 3000); print "sid:4;)"
    print "alert tcp $NOPE any -> any any (msg:\"unknown var\"; sid:5;)"
    printf "alert tcp any any -> any any ("; rep("early.label:DoS; ", 1000); print "sid:6;)"
    print "alert tcp any any -> any any (msg:\"fine\"; early.label:DoS; sid:7; rev:1;)"
}' >"$tmp/patho.rules"
awk 'BEGIN { for (i = 0; i < 20000; i++)
    printf "alert tcp 10.%d.0.0/16 any -> any %d (msg:\"r%d\"; early.label:DoS; sid:%d;)\n", i % 250, i % 65535, i, i + 1 }' >"$tmp/many.rules"
run r_patho -S "$tmp/patho.rules" -r "$tmp/a.pcap" -l "$tmp/r_patho"
expect r_patho 0 "1 rules loaded, 6 skipped"
for t in "patho.rules:1:" "nested deeper than 64 levels" "patho.rules:2:" "patho.rules:3:1: error" \
         "longer than 8192 bytes" "unknown address variable \$NOPE"; do
    grep -qF -- "$t" "$tmp/r_patho.err" || fail "pathological rules: stderr lacks '$t'"
done
run r_many -S "$tmp/many.rules" -r "$tmp/a.pcap" -l "$tmp/r_many"
expect r_many 0 "20000 rules loaded, 0 skipped"
head -c 20000 /dev/urandom >"$tmp/garbage.rules"
run r_garbage -S "$tmp/garbage.rules" -r "$tmp/a.pcap" -l "$tmp/r_garbage"
expect r_garbage 0 "0 rules loaded"

# ---- config ---------------------------------------------------------------------
config_case() { # config_case NAME TEXT YAML
    printf '%s\n' "$3" >"$tmp/c_$1.yaml"
    run "c_$1" -c "$tmp/c_$1.yaml" -r "$tmp/a.pcap" -l "$tmp/c_$1"
    expect "c_$1" 1 "$2"
}
config_case memcap "c_memcap.yaml:2:11: earlyflow.memcap: expected a size" $'earlyflow:\n  memcap: [1]'
config_case memcap_big "earlyflow.memcap" $'earlyflow:\n  memcap: 99999999gb'
config_case k "earlyflow.k: expected a k of 3, 5, 10 or 20, got 'five'" $'earlyflow:\n  k: five'
config_case ndpi "earlyflow.ndpi: expected yes or no" $'earlyflow:\n  ndpi: maybe'
config_case score "earlyflow.min-score" $'earlyflow:\n  min-score: 2'
config_case eve "earlyflow.eve: expected a mapping" $'earlyflow:\n  eve: 3'
config_case timeout "earlyflow.flow-timeouts.new" $'earlyflow:\n  flow-timeouts: {new: -1}'
config_case types "earlyflow.eve.types" $'earlyflow:\n  eve: {types: [early, bogus]}'
config_case section "earlyflow" $'earlyflow: [1, 2]'
config_case rulefiles "rule-files" $'rule-files: {a: b}'
config_case alias "YAML aliases" $'a: &x [1, 2]\nb: *x'
config_case nesting "nesting deeper than 64 levels" "x: $(printf '[%.0s' $(seq 100))$(printf ']%.0s' $(seq 100))"
config_case vars "in a cycle" $'vars:\n  address-groups:\n    A: "$B"\n    B: "[$A,10.0.0.0/8]"\nrule-files: [x.rules]'
head -c 5000 /dev/urandom >"$tmp/c_garbage.yaml"
run c_garbage -c "$tmp/c_garbage.yaml" -r "$tmp/a.pcap" -l "$tmp/c_garbage"
expect c_garbage 1 "c_garbage.yaml:"
head -c $((17 << 20)) /dev/zero | tr '\0' '#' >"$tmp/c_big.yaml"
run c_big -c "$tmp/c_big.yaml" -r "$tmp/a.pcap" -l "$tmp/c_big"
expect c_big 1 "c_big.yaml"

# ---- captures -------------------------------------------------------------------
# Record offsets of a.pcap (classic pcap: 24-byte header, 16 + caplen each).
offsets=$("$tool" pcap-offsets "$tmp/a.pcap") && [ -n "$offsets" ] ||
    { echo "robust_corrupt_inputs: no record offsets in a.pcap" >&2; exit 1; }
last_off=${offsets##*$'\n'}
head -c $((last_off + 20)) "$tmp/a.pcap" >"$tmp/cut_data.pcap"   # inside the last record's data
head -c $((last_off + 9)) "$tmp/a.pcap" >"$tmp/cut_hdr.pcap"     # inside its record header
head -c 10 "$tmp/a.pcap" >"$tmp/cut_file.pcap"                   # inside the file header
for cut in cut_data cut_hdr; do
    run "$cut" -r "$tmp/$cut.pcap" -r "$tmp/b.pcap" -l "$tmp/$cut"
    expect "$cut" 1 "$tmp/$cut.pcap: byte $last_off: truncated packet record"
    grep -qF "1 of 2 inputs could not be read to their end" "$tmp/$cut.err" ||
        fail "$cut: no final input-error line"
    pkts=$(stat_of "$tmp/$cut/eve.json" pkts)
    [ "$pkts" = $((a_pkts - 1 + b_pkts)) ] ||
        fail "$cut: $pkts packets processed, expected $((a_pkts - 1)) before the cut + $b_pkts of the next input"
done
run cut_file -r "$tmp/cut_file.pcap" -l "$tmp/cut_file"
expect cut_file 1 "$tmp/cut_file.pcap: byte 0: not a readable pcap or pcapng file"
# pcapng cut inside its last block (`earlyflow gen` writes classic pcap: the
# records of a.pcap are converted here, one section, one interface)
"$tool" pcap-to-pcapng "$tmp/a.pcap" "$tmp/a.pcapng" ||
    { echo "robust_corrupt_inputs: could not write a.pcapng" >&2; exit 1; }
ng_size=$(wc -c <"$tmp/a.pcapng")
head -c $((ng_size - 7)) "$tmp/a.pcapng" >"$tmp/cut_ng.pcapng"
run ng_full -r "$tmp/a.pcapng" -l "$tmp/ng_full"
[ "$rc" -eq 0 ] && [ "$(stat_of "$tmp/ng_full/eve.json" pkts)" = "$a_pkts" ] ||
    fail "the pcapng copy does not read like the pcap: $(tail -2 "$tmp/ng_full.err")"
run cut_ng -r "$tmp/cut_ng.pcapng" -l "$tmp/cut_ng"
expect cut_ng 1 "$tmp/cut_ng.pcapng: byte "
[ "$(stat_of "$tmp/cut_ng/eve.json" pkts)" = $((a_pkts - 1)) ] || fail "cut pcapng: packets before the cut not processed"

# 1 GiB of random bytes on stdin: refused at once (head stops on SIGPIPE)
start=$(date +%s)
head -c 1G /dev/urandom | timeout 60 "$bin" run -r - -l "$tmp/rand" >"$tmp/rand.out" 2>"$tmp/rand.err"
rc=${PIPESTATUS[1]}
expect rand 1 "<stdin>: byte 0: not a readable pcap or pcapng file"
[ $(( $(date +%s) - start )) -le 20 ] || fail "random stdin: took more than 20 s"
# a valid pcap header followed by random bytes
start=$(date +%s)
{ printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00'
  head -c 1G /dev/urandom; } | timeout 60 "$bin" run -r - -l "$tmp/randh" >"$tmp/randh.out" 2>"$tmp/randh.err"
rc=${PIPESTATUS[1]}
expect randh 1 "<stdin>: byte 24: "
[ $(( $(date +%s) - start )) -le 20 ] || fail "pcap header + random bytes: took more than 20 s"

# Valid records with random frames, on Ethernet and raw IP: no packet stops a run.
for lt in 1 101; do
    # 20000 records; frame lengths at the decoders' boundaries, random bytes,
    # some plausible IPv4/IPv6 headers (ef_testtool frames; seeded)
    "$tool" frames "$tmp/frames$lt.pcap" "$lt" 20000 "$lt" ||
        { echo "robust_corrupt_inputs: could not write frames$lt.pcap" >&2; exit 1; }
    run "frames$lt" --ndpi -r "$tmp/frames$lt.pcap" -l "$tmp/frames$lt"
    [ "$rc" -eq 0 ] || fail "random frames (link type $lt): exit $rc: $(tail -2 "$tmp/frames$lt.err")"
    [ "$(stat_of "$tmp/frames$lt/eve.json" pkts)" = 20000 ] ||
        fail "random frames (link type $lt): not every packet counted"
    mal=$(stat_of "$tmp/frames$lt/eve.json" malformed)
    [ -n "$mal" ] && [ "$mal" -gt 0 ] || fail "random frames (link type $lt): no malformed packet counted"
done

if [ "$failures" -gt 0 ]; then
    echo "robust_corrupt_inputs: $failures failure(s)" >&2
    exit 1
fi
echo "robust_corrupt_inputs: all cases passed"
