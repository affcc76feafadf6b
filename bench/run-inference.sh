#!/bin/bash
# Inference benchmark: earlyflow's kernels and PyTorch on the same workloads
# (every classifier architecture, k=5, the seed's dimensions), one core,
# printed side by side with ratios. Not a test: run it on a quiet machine.
#
#   bench/run-inference.sh [--quick] [BUILD_DIR]      (default: ./build)
#
# Columns: µs per flow (thread CPU time, best of several runs) for the
# portable C kernel (the in-run baseline), AVX2, AVX-512 (when the CPU has
# them), the OpenBLAS batched path (batch 64 only) and PyTorch 1.13
# (torch.set_num_threads(1); skipped when torch is not installed), then
# torch / earlyflow-best and portable / earlyflow-best.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=""
build="$root/build"
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) build="$a" ;;
  esac
done
bin="$build/bench/bench_inference"
[ -x "$bin" ] || { echo "run-inference.sh: $bin not built (cmake --build $build)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== earlyflow ($(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
"$bin" $quick | tee "$tmp/c.txt"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
  /usr/bin/python3 "$root/tools/bench_torch_infer.py" $quick | tee "$tmp/t.txt"
else
  echo "== PyTorch not installed (/usr/bin/python3 cannot import torch): column skipped"
  : > "$tmp/t.txt"
fi

echo
cat "$tmp/c.txt" "$tmp/t.txt" | awk '
  /^calibration/ { split($2, kv, "="); peak = peak ? peak : kv[2]; next }
  /^arch=/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    key = f["arch"] SUBSEP f["batch"]; us[key, f["kernel"]] = f["us_per_flow"]
    if (!(f["arch"] in seen)) { seen[f["arch"]] = 1; order[++n] = f["arch"] }
  }
  function cell(v) { return v == "" ? "      -" : sprintf("%7.2f", v) }
  END {
    printf "µs per flow, k=5, hidden 20, 3 layers (thread CPU time; FMA peak measured in the run: %s GFLOP/s)\n", peak
    printf "%-8s %5s %9s %7s %7s %7s %9s | %9s %9s\n", "arch", "batch", "portable", "avx2", "avx512", "blas", "pytorch", "torch/ef", "port/ef"
    for (i = 1; i <= n; i++) for (bi = 1; bi <= 2; bi++) {
      b = bi == 1 ? 1 : 64; a = order[i]; k = a SUBSEP b
      best = ""
      split("avx512 avx2 blas portable", ks, " ")
      for (j = 1; j <= 4; j++) { v = us[k, ks[j]]; if (v != "" && (best == "" || v + 0 < best + 0)) best = v }
      t = us[k, "torch"]; p = us[k, "portable"]
      printf "%-8s %5d %9s %7s %7s %7s %9s | %9s %9s\n", a, b, cell(p), cell(us[k, "avx2"]), cell(us[k, "avx512"]), cell(us[k, "blas"]), cell(t),
        (t != "" && best != "") ? sprintf("%8.0fx", t / best) : "        -",
        (p != "" && best != "") ? sprintf("%8.1fx", p / best) : "        -"
    }
  }'
