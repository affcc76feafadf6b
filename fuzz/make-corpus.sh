#!/bin/sh
# Builds the seed corpora of the fuzz targets (docs/robustness.md).
#
#   fuzz/make-corpus.sh BUILD_FUZZ_DIR OUTDIR
#
# OUTDIR/<target>/ gets:
#   decode, capture  frames and captures written by ef_fuzz_seeds
#                    (tests/lib/pktbuild and the generator), plus the first
#                    frames of every capture in ../shared/data and the small
#                    captures themselves, when that folder is present
#   mawilab          the generator's label files, and the real MAWILab file
#                    from ../shared/data when present
#   config, rules    the project's fixtures (tests/data) and a few variants
#   model            the committed model files (tests/data/parity, models/builtin)
#   json             the JSON headers of those model files, and a few documents
#   dataset          dataset CSVs in the seed's and collect's layouts
# OUTDIR belongs under the build directory: seeds made from ../shared/data
# must never be committed.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 BUILD_FUZZ_DIR OUTDIR" >&2; exit 2; }
BUILD=$1
OUT=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${EF_SHARED_DATA:-$SRC/../shared/data}

mkdir -p "$OUT"
for t in decode capture mawilab config rules model json dataset dataset_raw; do
    rm -rf "${OUT:?}/$t"
    mkdir -p "$OUT/$t"
done

# ---- frames and captures ---------------------------------------------------
shared_pcaps=""
if [ -d "$SHARED" ]; then
    shared_pcaps=$(find "$SHARED" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
else
    echo "make-corpus: $SHARED absent: no seeds from shared captures"
fi
# shellcheck disable=SC2086
"$BUILD/fuzz/ef_fuzz_seeds" "$OUT" $shared_pcaps
for f in $shared_pcaps; do
    # whole small captures (at most 64 KiB: large seeds slow every mutation)
    if [ "$(wc -c <"$f")" -le 65536 ]; then
        cp "$f" "$OUT/capture/shared_$(basename "$f")"
    fi
done

# ---- MAWILab labels ----------------------------------------------------------
if [ -f "$SHARED/mawilab_labels/20191121_anomalous_suspicious.csv" ]; then
    cp "$SHARED/mawilab_labels/20191121_anomalous_suspicious.csv" "$OUT/mawilab/shared_real.csv"
fi
printf 'anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,heuristic,distance,nbDetectors,label\n0,10.0.0.1,,10.0.0.2,80,ptmpHTTP,20,-0.5,3,anomalous\n1,2001:db8::1,1234,,,ntscSYN,1,,,suspicious\n' \
    >"$OUT/mawilab/small10.csv"
printf '\357\273\277anomalyID, srcIP, srcPort, dstIP, dstPort, taxonomy, heuristic, distance, nbDetectors, label\r\n7,,,192.0.2.9,,alphflHTTP,-0.1,2,notice\r\n' \
    >"$OUT/mawilab/bom9.csv"

# ---- config and rules ---------------------------------------------------------
cp "$SRC"/tests/data/config/*.yaml "$OUT/config/"
printf 'earlyflow:\n  memcap: 64mb\n  k: [3, 20]\n  flow-timeouts: {new: 0.5, established: 2, closed: 0}\n  eve: {filename: "-", types: [early, flow]}\n' \
    >"$OUT/config/flow.yaml"
printf 'vars:\n  address-groups:\n    A: "[$B,!10.0.0.0/8]"\n    B: "$A"\nearlyflow:\n  memcap: [1]\n  k: five\n  ndpi: maybe\n' \
    >"$OUT/config/wrong_types.yaml"
printf 'a: &x [1, 2]\nb: *x\n' >"$OUT/config/alias.yaml"
cp "$SRC"/tests/data/rules/*.rules "$OUT/rules/"
printf 'alert tcp [10.0.0.0/8,![10.1.0.0/16,10.2.0.0/16]] [1:1024,!80] <> $HOME_NET !$HTTP_PORTS (msg:"nest"; early.label:!Unlabeled,Unknown; early.score:0.2<>0.8; sid:1;)\n' \
    >"$OUT/rules/nested.rules"

# ---- models and JSON ----------------------------------------------------------
cp "$SRC"/tests/data/parity/*.safetensors "$SRC"/models/builtin/*.safetensors "$OUT/model/"
for f in "$OUT"/model/*.safetensors; do
    n=$(od -An -t u8 -N8 "$f" | tr -d ' ')
    tail -c +9 "$f" | head -c "$n" >"$OUT/json/$(basename "$f" .safetensors).json"
done
printf '{"a":[1,-2.5e-3,true,false,null],"b":{"c":"\\u00e9\\ud83d\\ude00\\n"},"d":18446744073709551615}' \
    >"$OUT/json/mixed.json"
printf '[[[[[[[[[[]]]]]]]]]]' >"$OUT/json/deep.json"

# ---- dataset CSVs ----------------------------------------------------------------
# fuzz_dataset's byte 0 picks the reader options (see fuzz_dataset.c): all
# labels with k from the header; need_dir + keep_unknown; k = 5; the seed's
# labels + allow_empty_class + keep_unknown.
printf 'pktSize1,pktSize2,pktSize3,pktTime1,pktTime2,pktTime3,c2s,taxonomy label\n60,52,1500,0,0.001,0.25,2,Unlabeled\n40,0,0,0,0,0,1,HTTP\n' \
    >"$OUT/dataset_raw/seed_k3.csv"
printf 'pktSize1,pktSize2,pktTime1,pktTime2,pktDir1,pktDir2,c2s,taxonomy label,flow_id\n60,40,0,1e-3,1,0,1,Multi,7\n' \
    >"$OUT/dataset_raw/dirs_k2.csv"
for f in "$OUT"/dataset_raw/*.csv; do
    b=$(basename "$f" .csv)
    for opt in 000 003 020 106; do
        { printf "\\$opt"; cat "$f"; } >"$OUT/dataset/${b}_o$opt"
    done
done
rm -rf "${OUT:?}/dataset_raw"

for t in decode capture mawilab config rules model json dataset; do
    printf 'make-corpus: %-8s %5d seeds %8d bytes\n' "$t" "$(find "$OUT/$t" -type f | wc -l)" \
        "$(find "$OUT/$t" -type f -exec cat {} + | wc -c)"
done
