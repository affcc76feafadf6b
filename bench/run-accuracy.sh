#!/bin/bash
# Accuracy comparison: test macro-F1 of BI (bilstm) and SEQ (pretrain +
# seq2seq) trained by earlyflow in C vs a PyTorch reference with the
# per-sample fix (tools/torch_reference_train.py), on the same CSV and the
# same rows (earlyflow's --split-out feeds the reference), mean +- std over
# seeds. Same hyper-parameters on both sides: hidden 20, 3 layers, context 3,
# Adam lr 0.001, batch 20, best validation macro-F1, patience 10.
#
# usage: bench/run-accuracy.sh [BUILD_DIR] [CSV]
#   CSV defaults to a synthetic file made by tools/make_synthetic_csv.py (NOT
#   MAWILab data); pass a real K_5 CSV to compare on it.
# env: SEEDS (default "1 2 3 4 5"), EPOCHS (30), PRE_EPOCHS (30), ARCHS ("bilstm seq2seq"),
#      N_STREAMS (per-class cap of the seed protocol, default 10000)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN="$BUILD/earlyflow"
PY=/usr/bin/python3
SEEDS=${SEEDS:-1 2 3 4 5}
EPOCHS=${EPOCHS:-30}
PRE_EPOCHS=${PRE_EPOCHS:-30}
ARCHS=${ARCHS:-bilstm seq2seq}
W=$(mktemp -d "${TMPDIR:-/tmp}/ef-accuracy-XXXXXX")
trap 'rm -rf "$W"' EXIT
CSV=${2:-}
if [ -z "$CSV" ]; then
    CSV="$W/synthetic_K_5.csv"
    "$PY" tools/make_synthetic_csv.py -k 5 --rows 1000,1000,1000,1000 --seed 7 -o "$CSV"
    echo "data: synthetic (tools/make_synthetic_csv.py -k 5 --rows 1000x4 --seed 7)"
else
    echo "data: $CSV"
fi
COMMON=(--epochs "$EPOCHS" --patience 10 --batch 20 --lr 0.001 --n-streams "${N_STREAMS:-10000}")
: >"$W/results"
for seed in $SEEDS; do
    for arch in $ARCHS; do
        pre=()
        if [ "$arch" = seq2seq ]; then
            OPENBLAS_NUM_THREADS=1 "$BIN" pretrain -q -i "$CSV" --seed "$seed" "${COMMON[@]}" \
                --epochs "$PRE_EPOCHS" -o "$W/ae$seed.safetensors" 2>/dev/null
            pre=(--pretrained "$W/ae$seed.safetensors")
        fi
        OPENBLAS_NUM_THREADS=1 "$BIN" train -q -i "$CSV" --model "$arch" --seed "$seed" \
            "${COMMON[@]}" "${pre[@]}" --split-out "$W/split$seed.csv" \
            -o "$W/m.safetensors" 2>"$W/log"
        c=$(sed -n 's/^test: macro-F1 \([0-9.]*\),.*/\1/p' "$W/log")
        t=$("$PY" tools/torch_reference_train.py --csv "$CSV" --split "$W/split$seed.csv" \
            --arch "$arch" --seed "$seed" --epochs "$EPOCHS" --pretrain-epochs "$PRE_EPOCHS" \
            --patience 10 | sed -n 's/.*"test_f1": \([0-9.]*\).*/\1/p')
        echo "seed $seed $arch: earlyflow $c  torch $t"
        echo "$arch $c $t" >>"$W/results"
    done
done
awk '{ n[$1]++; c[$1] += $2; cc[$1] += $2 * $2; t[$1] += $3; tt[$1] += $3 * $3 }
     END { printf "%-8s %22s %22s\n", "arch", "earlyflow test F1", "torch test F1"
           for (a in n) {
               mc = c[a] / n[a]; mt = t[a] / n[a]
               sc = n[a] > 1 ? sqrt((cc[a] - n[a] * mc * mc) / (n[a] - 1)) : 0
               st = n[a] > 1 ? sqrt((tt[a] - n[a] * mt * mt) / (n[a] - 1)) : 0
               printf "%-8s %14.4f +- %.4f %14.4f +- %.4f   (%d seeds)\n", a, mc, sc, mt, st, n[a] } }' "$W/results"
