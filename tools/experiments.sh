#!/usr/bin/env bash
# tools/experiments.sh: the paper's experiments, regenerated on generated
# MAWI-like traffic by one command; writes docs/results.md and the plots in
# docs/results/ (gnuplot).
#
#   main        mlp, lstm (FWD), bilstm (BI), seq2seq (SEQ: pretrain + train
#               --pretrained), gru, bigru  x  k = 3, 5, 10, 20  x  5 seeds,
#               the seed's protocol (4 classes Unlabeled,HTTP,Alpha,Multi;
#               at most 10,000 flows per class, 100 test / 200 validation per
#               class); macro-F1 and per-class F1 on the test split and on a
#               separately generated "new day"
#   reorder     k = 5: models trained on clean data evaluated with --reorder P,
#               and models trained with --train-reorder P, P = 0.1 .. 0.5
#   imbalance   k = 5, on the first day of the month (to bound the time):
#               the seed's balanced sampling vs the natural class ratios
#               (--split stratified), with and without --class-weights
#               balanced, with and without SEQ pre-training; scored on the
#               new day (natural ratios)
#
# usage: tools/experiments.sh [--quick] [--out DIR] [--docs DIR] [--jobs N] [--bin EARLYFLOW]
#                             [--data PREFIX --newday PREFIX]
#   --quick   tiny data and few epochs (minutes; checks the machinery only)
#   --out     work directory (default experiments-work)
#   --docs    where results.md and results/*.png go (default: the repo's docs/;
#             with --quick: OUT/docs)
#   --jobs    training runs in parallel (default 2; each is single-threaded)
#   --report-only  rewrite results.md and the plots from an earlier run in OUT
#   --data    use PREFIX_K_{3,5,10,20}.csv (e.g. the real 0901_0930 files,
#             docs/reproduce-mawilab.md) instead of generated traffic; needs
#             --newday PREFIX: a day kept out of PREFIX for the new-day scores;
#             the report then goes to OUT/docs unless --docs says otherwise
set -euo pipefail

EF_PROG=experiments
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
. "$here/lib/common.sh"

# ---- one job (run by xargs from the main process) ---------------------------
if [ "${1:-}" = --job ]; then
    shift
    . "$here/experiments/job.sh"
    run_job "$@"
    exit $?
fi

quick=0 out=experiments-work docs="" jobs=2 bin="" data_prefix="" newday_prefix="" report_only=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --docs) docs=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --bin) bin=$2; shift ;;
    --data) data_prefix=$2; shift ;;
    --newday) newday_prefix=$2; shift ;;
    --report-only) report_only=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) ef_die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[ -n "$bin" ] && EF_BIN=$bin
EF=$(ef_find_bin "$root")
EF=$(cd "$(dirname "$EF")" && pwd)/$(basename "$EF")
for c in gen collect train pretrain eval; do ef_has_cmd "$EF" $c || ef_die "this earlyflow build has no '$c' command"; done
command -v gnuplot >/dev/null || ef_die "gnuplot is needed for the plots (apt-get install gnuplot-nox)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "$docs" ]; then
    if [ $quick = 1 ] || [ -n "$data_prefix" ]; then docs=$out/docs; else docs=$root/docs; fi
fi
mkdir -p "$docs/results"
docs=$(cd "$docs" && pwd)

# ---- the settings -------------------------------------------------------------
# Data: generated "month" = 3 days (gen seeds 1-3), and a separate "new day"
# (seed 9), each --flows FLOWS over DURATION s with the 4-class mix below
# (anomalous classes a minority, as on a real link, but frequent enough for
# the seed's per-class sampling: Multi flows are short, only ~5 % reach 20
# packets, so Multi needs 16 % of the flows for 301+ rows at k = 20), collected
# without --pad (flows with at least k packets, like the released K_k files).
MIX=benign=76,HTTP=5,Alpha=3,Multi=16
MONTH_SEEDS="1 2 3" DAY_SEED=9
FLOWS=16000 DURATION=120
ARCHS="mlp lstm bilstm seq2seq gru bigru"
KS="3 5 10 20"
SEEDS="1 2 3 4 5"
SIDE_SEEDS="1 2 3"   # seeds of the reorder-trained and imbalance runs (time budget)
PS="0.1 0.2 0.3 0.5"
REORDER_ARCHS="mlp lstm bilstm"
IMB_ARCHS="lstm bilstm seq2seq seq2seq-nopre"
EPOCHS=60 PATIENCE=10 PRE_EPOCHS=40 PRE_PATIENCE=8 NSTREAMS=10000 NTEST=100 NVALID=200
if [ $quick = 1 ]; then
    FLOWS=2500 DURATION=40 SEEDS="1 2" SIDE_SEEDS="1 2" KS="3 5" PS="0.2 0.5"
    EPOCHS=6 PATIENCE=3 PRE_EPOCHS=3 PRE_PATIENCE=2 NSTREAMS=2000 NTEST=10 NVALID=20
fi
export EF out EPOCHS PATIENCE PRE_EPOCHS PRE_PATIENCE NSTREAMS NTEST NVALID PS

t_start=$(date +%s.%N)
timing=$out/timing.tsv
[ $report_only = 1 ] || : >"$timing"
stamp() { printf '%s\t%s\n' "$1" "$(ef_elapsed "$2")" >>"$timing"; }

# ---- data ---------------------------------------------------------------------
make_data() {
local t0 s k f
t0=$(date +%s.%N)
mkdir -p "$out/data"
if [ -n "$data_prefix" ]; then
    [ -n "$newday_prefix" ] || ef_die "--data needs --newday (a day kept out of the training data)"
    for k in 3 5 10 20; do
        [ -f "${data_prefix}_K_$k.csv" ] || ef_die "no ${data_prefix}_K_$k.csv"
        [ -f "${newday_prefix}_K_$k.csv" ] || ef_die "no ${newday_prefix}_K_$k.csv"
        ln -sf "$(cd "$(dirname "$data_prefix")" && pwd)/$(basename "$data_prefix")_K_$k.csv" "$out/data/month_K_$k.csv"
        ln -sf "$(cd "$(dirname "$newday_prefix")" && pwd)/$(basename "$newday_prefix")_K_$k.csv" "$out/data/newday_K_$k.csv"
        ln -sf "$out/data/month_K_$k.csv" "$out/data/imb_K_$k.csv"
    done
fi
for s in $MONTH_SEEDS $DAY_SEED; do
    [ -n "$data_prefix" ] && break
    [ -f "$out/data/day$s.done" ] && continue
    "$EF" gen -o "$out/data/day$s.pcap" --labels "$out/data/day${s}_anomalous_suspicious.csv" \
        --seed "$s" --flows $FLOWS --duration $DURATION --mix $MIX --snaplen 96 -q ||
        ef_die "gen seed $s failed"
    "$EF" collect -r "$out/data/day$s.pcap" --labels "$out/data/day${s}_anomalous_suspicious.csv" \
        -k 3,5,10,20 --no-ndpi -o "$out/data" --name "day$s" >"$out/data/day$s.collect.log" 2>&1 ||
        ef_die "collect seed $s: $(tail -2 "$out/data/day$s.collect.log")"
    rm -f "$out/data/day$s.pcap"
    touch "$out/data/day$s.done"
done
for k in 3 5 10 20; do
    [ -n "$data_prefix" ] && break
    f=$out/data/month_K_$k.csv
    head -n1 "$out/data/day${MONTH_SEEDS%% *}_K_$k.csv" >"$f"
    for s in $MONTH_SEEDS; do tail -n +2 "$out/data/day${s}_K_$k.csv" >>"$f"; done
    cp "$out/data/day${DAY_SEED}_K_$k.csv" "$out/data/newday_K_$k.csv"
    cp "$out/data/day${MONTH_SEEDS%% *}_K_$k.csv" "$out/data/imb_K_$k.csv"
done
stamp data "$t0"
ef_note "data: $(for k in 3 5 10 20; do printf 'K_%s %s rows; ' $k $(($(wc -l <"$out/data/month_K_$k.csv") - 1)); done)"
}

# ---- the jobs -------------------------------------------------------------------
run_jobs() {
local t0 k a s p m
t0=$(date +%s.%N)
{
    # the longest first, so the parallel slots end together
    for k in $(echo $KS | tr ' ' '\n' | sort -rn); do
        for a in bilstm seq2seq bigru lstm gru mlp; do
            case " $ARCHS " in *" $a "*) ;; *) continue ;; esac
            for s in $SEEDS; do echo "main $a $k $s"; done
        done
    done
    for a in $REORDER_ARCHS; do for p in $PS; do for s in $SIDE_SEEDS; do echo "reorder $a 5 $s $p"; done; done; done
    for a in $IMB_ARCHS; do for m in seed strat strat-w; do for s in $SIDE_SEEDS; do echo "imb $a 5 $s $m"; done; done; done
} >"$out/jobs.txt"
ef_note "$(wc -l <"$out/jobs.txt") training runs, $jobs at a time"
xargs -P "$jobs" -L 1 "$0" --job <"$out/jobs.txt" || ef_die "a training run failed (see $out/runs/*/*.log)"
stamp training "$t0"
}

if [ $report_only = 1 ]; then
    [ -s "$timing" ] || ef_die "--report-only: no earlier run in $out"
    sed -i '/^report\t/d' "$timing"
else
    make_data
    run_jobs
fi

# ---- tables and plots ---------------------------------------------------------
t_report=$(date +%s.%N)
. "$here/experiments/report.sh"
write_report
stamp report "$t_report"
ef_note "done in $(ef_elapsed "$t_start") s: $docs/results.md"
