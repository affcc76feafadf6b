#!/bin/sh
# Training speed: seconds per epoch of the seed configuration (3-layer LSTM,
# hidden 20, k = 5, 20,000 sequences, batch 20) in earlyflow's C core and in
# PyTorch (one thread each), measured in this run, and their ratio.
# Also the BI model (bilstm) the same way.
#
# usage: bench/run-training.sh [BUILD_DIR]     (default: build)
# Keep the machine otherwise idle: the figures are wall-clock times.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BENCH="$BUILD/bench/bench_train"
[ -x "$BENCH" ] || { echo "run-training: build first ($BENCH missing)" >&2; exit 1; }
EPOCHS=${EF_BENCH_EPOCHS:-3}
TORCH_EPOCHS=${EF_BENCH_TORCH_EPOCHS:-2}
PY=/usr/bin/python3

have_torch=0
if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
    have_torch=1
fi

printf '%-8s %14s %14s %8s\n' arch "C s/epoch" "torch s/epoch" speedup
for arch in lstm bilstm; do
    c=$(OPENBLAS_NUM_THREADS=1 "$BENCH" --arch "$arch" --epochs "$EPOCHS" 2>/dev/null | awk '/^c_seconds_per_epoch/ {print $2}')
    if [ "$have_torch" = 1 ]; then
        t=$("$PY" tools/bench_torch_train.py --arch "$arch" --epochs "$TORCH_EPOCHS" 2>/dev/null |
            awk '/^torch_seconds_per_epoch/ {print $2}')
        ratio=$(awk -v c="$c" -v t="$t" 'BEGIN { printf "%.1fx", t / c }')
    else
        t="n/a"
        ratio="n/a (no torch)"
    fi
    printf '%-8s %14s %14s %8s\n' "$arch" "$c" "$t" "$ratio"
done
echo "(20,000 sequences, k=5, hidden 20, 3 layers, batch 20, Adam; one thread each;"
echo " C: median of $EPOCHS epochs, PyTorch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '-'): median of $TORCH_EPOCHS)"
