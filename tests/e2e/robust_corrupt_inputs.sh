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
py=$(command -v python3) || { echo "robust_corrupt_inputs: python3 absent, skipped"; exit 77; }

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
"$py" - "$src/models/builtin/builtin_k5.safetensors" "$tmp" <<'PY'
import json, struct, sys
path, out = sys.argv[1], sys.argv[2]
d = open(path, "rb").read()
hlen = struct.unpack("<Q", d[:8])[0]
hdr = json.loads(d[8:8 + hlen])
tensors = sorted((v["data_offsets"], k) for k, v in hdr.items() if k != "__metadata__")
base = 8 + hlen
def put(name, data):
    open(f"{out}/{name}.safetensors", "wb").write(data)
# truncated at every section boundary: inside the length, after it, inside
# the header, after the header, after each tensor but the last, one byte short
cuts = {"len4": 4, "len8": 8, "header_half": 8 + hlen // 2, "header_end": base}
for i, (off, name) in enumerate(tensors[:-1]):
    cuts[f"tensor{i:02d}"] = base + off[1]
cuts["last_byte"] = len(d) - 1
for tag, n in cuts.items():
    put(f"trunc_{tag}", d[:n])
def with_header(h):
    b = json.dumps(h, separators=(",", ":")).encode()
    return struct.pack("<Q", len(b)) + b + d[base:]
# The damage is computed from whatever the built-in model's layout is; the
# expected message of each case goes to cases.txt (name|text).
cases = open(f"{out}/cases.txt", "w")
first = tensors[0][1]
a, b = hdr[first]["shape"][0], hdr[first]["shape"][-1]
h = json.loads(d[8:8 + hlen]); h[first]["shape"] = [a // 2, b * 2]; put("shape", with_header(h))
cases.write(f"shape|tensor {first}: shape [{a // 2},{b * 2}], expected [{a},{b}]\n")
h = json.loads(d[8:8 + hlen]); h[first]["dtype"] = "I32"; put("dtype", with_header(h))
cases.write(f"dtype|tensor {first}: dtype I32, expected F32\n")
h = json.loads(d[8:8 + hlen]); h[first]["data_offsets"] = [0, 18446744073709551615]
put("offsets", with_header(h))
cases.write("offsets|run past the data section\n")
h = json.loads(d[8:8 + hlen]); h["__metadata__"]["hidden"] = "4000000000"; put("meta", with_header(h))
cases.write('meta|metadata hidden "4000000000" is out of range\n')
put("hlen_huge", struct.pack("<Q", 1 << 40) + d[8:])
cases.write("hlen_huge|header length 1099511627776 exceeds\n")
put("hlen_max", struct.pack("<Q", (1 << 64) - 1) + d[8:])
cases.write("hlen_max|header length\n")
def patch_float(tensor, value):
    (b, e), = [o for o, k in tensors if k == tensor]
    x = bytearray(d)
    for at in range(base + b, base + e, 4):
        x[at:at + 4] = struct.pack("<f", value)
    return bytes(x)
biases = [k for _, k in tensors if "bias" in k]
weights = [k for _, k in tensors if "weight" in k]
put("nan", patch_float(biases[-1], float("nan")))
cases.write(f"nan|tensor {biases[-1]}: element 0 is NaN\n")
put("inf", patch_float(biases[0], float("-inf")))
cases.write(f"inf|tensor {biases[0]}: element 0 is infinite\n")
# finite but huge (the fuzz finding): every weight of the output layer and
# of the layer before it at 2.83e38
x = patch_float(weights[-1], 2.83e38)
d = x
put("huge", patch_float(weights[-2], 2.83e38))
PY
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
"$py" - "$tmp" <<'PY'
import sys
out = sys.argv[1]
with open(f"{out}/patho.rules", "w") as f:
    f.write("alert tcp " + "[" * 4000 + "10.0.0.1" + "]" * 4000 + " any -> any any (msg:\"deep\"; sid:1;)\n")
    f.write("alert tcp any " + "[!" * 2000 + "80" + "]" * 2000 + " -> any any (msg:\"deep ports\"; sid:2;)\n")
    f.write("alert tcp any any -> any any (msg:\"" + "A" * 200000 + "\"; sid:3;)\n")
    f.write("alert tcp any any -> any any (msg:\"continued\"; \\\n" * 3000 + "sid:4;)\n")
    f.write("alert tcp $NOPE any -> any any (msg:\"unknown var\"; sid:5;)\n")
    f.write("alert tcp any any -> any any (" + "early.label:DoS; " * 1000 + "sid:6;)\n")
    f.write("alert tcp any any -> any any (msg:\"fine\"; early.label:DoS; sid:7; rev:1;)\n")
with open(f"{out}/many.rules", "w") as f:
    for i in range(20000):
        f.write(f"alert tcp 10.{i % 250}.0.0/16 any -> any {i % 65535} (msg:\"r{i}\"; early.label:DoS; sid:{i + 1};)\n")
PY
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
read -r last_off size < <("$py" - "$tmp/a.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 24
last = off
while off < len(d):
    last = off
    off += 16 + struct.unpack("<I", d[off + 8:off + 12])[0]
print(last, len(d))
PY
)
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
# pcapng cut inside its last block (written by `earlyflow gen`? no: converted
# here from classic pcap records, one interface)
"$py" - "$tmp/a.pcap" "$tmp/a.pcapng" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
out = open(sys.argv[2], "wb")
def block(t, body):
    n = 12 + len(body) + (-len(body) % 4)
    out.write(struct.pack("<II", t, n) + body + b"\0" * (-len(body) % 4) + struct.pack("<I", n))
block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
block(1, struct.pack("<HHI", 1, 0, 65535))
off = 24
while off < len(d):
    s, us, cap, wire = struct.unpack("<IIII", d[off:off + 16])
    ts = s * 1000000 + us
    block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, cap, wire) + d[off + 16:off + 16 + cap])
    off += 16 + cap
PY
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
    "$py" - "$tmp/frames$lt.pcap" "$lt" <<'PY'
import os, random, struct, sys
lt = int(sys.argv[2])
random.seed(lt)
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, lt))
link = 14 if lt == 1 else 0
for i in range(20000):
    n = random.choice([0, 1, 13, 14, 20, 34, 40, 54, 60, random.randrange(0, 1600)])
    frame = bytearray(os.urandom(n))
    if lt == 1 and n >= 14 and i % 2:
        frame[12:14] = random.choice([b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x88\xa8"])
    ip = link
    if i % 4 == 1 and n >= ip + 20:  # plausible IPv4: lengths right, the rest random
        frame[ip] = 0x45
        frame[ip + 2:ip + 4] = struct.pack(">H", n - ip)
        frame[ip + 6] &= 0x40   # mostly not a fragment
        frame[ip + 9] = random.choice([1, 6, 6, 17, 17, 41, 47, 58, 132])
    elif i % 4 == 3 and n >= ip + 40:  # plausible IPv6
        frame[ip] = 0x60
        frame[ip + 4:ip + 6] = struct.pack(">H", n - ip - 40)
        frame[ip + 6] = random.choice([0, 6, 17, 43, 44, 58, 60, 59])
    out.write(struct.pack("<IIII", 1600000000 + i // 1000, i % 1000 * 1000, n, n + random.randrange(0, 3)) + frame)
PY
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
