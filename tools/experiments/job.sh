# tools/experiments/job.sh: one training run of tools/experiments.sh
# (sourced by `experiments.sh --job KIND ARCH K SEED [ARG]`). Environment from
# experiments.sh: EF out EPOCHS PATIENCE PRE_EPOCHS PRE_PATIENCE NSTREAMS NTEST NVALID PS.
#
#   main ARCH K SEED          the seed's protocol; evaluations on the test
#                             split, the new day and (k = 5) the test split
#                             reordered with each P of PS
#   reorder ARCH K SEED P     trained with --train-reorder P; evaluated on
#                             the test split reordered with P
#   imb ARCH K SEED MODE      on the imbalance data (imb_K_k.csv: one day);
#                             MODE seed: the seed's protocol; strat: natural
#                             class ratios (stratified 80/10/10); strat-w:
#                             the same with balanced class weights;
#                             evaluated on the new day
# ARCH seq2seq = pretrain + train --pretrained; seq2seq-nopre = the same
# classifier from a random initialisation.

# test_rows CSV SPLITS OUT: the rows of CSV that SPLITS (train --split-out)
# marks as test, as a CSV (same header)
test_rows() {
    awk -F, 'FNR == NR { if ($2 == "test") t[$1] = 1; next } FNR == 1 || (FNR - 1) in t' "$2" "$1" >"$3.tmp.$$"
    mv "$3.tmp.$$" "$3"
}

run_job() {
    local kind=$1 arch=$2 k=$3 seed=$4 arg=${5:-}
    local csv=$out/data/month_K_$k.csv day=$out/data/newday_K_$k.csv
    [ "$kind" = imb ] && csv=$out/data/imb_K_$k.csv
    local d=$out/runs/$kind name proto=() extra=()
    export OPENBLAS_NUM_THREADS=1
    mkdir -p "$d"
    case $kind in
    main) name=${arch}_k${k}_s$seed ;;
    reorder) name=${arch}_k${k}_s${seed}_p$arg; extra=(--train-reorder "$arg") ;;
    imb) name=${arch}_k${k}_s${seed}_$arg ;;
    *) echo "unknown job kind $kind" >&2; return 2 ;;
    esac
    [ -f "$d/$name.done" ] && return 0
    if [ "$kind" = imb ] && [ "$arg" != seed ]; then
        proto=(--split stratified --fractions 0.8,0.1,0.1)
        [ "$arg" = strat-w ] && extra+=(--class-weights balanced)
    else
        proto=(--split seed --n-streams "$NSTREAMS" --n-test "$NTEST" --n-valid "$NVALID")
    fi
    local model=$d/$name.safetensors real=$arch pre=()
    local t0
    t0=$(date +%s.%N)
    case $arch in
    seq2seq)
        "$EF" pretrain -i "$csv" -k "$k" --seed "$seed" "${proto[@]}" --epochs "$PRE_EPOCHS" \
            --patience "$PRE_PATIENCE" --curve "$d/$name.pre" -q -o "$d/$name.pre.safetensors" \
            2>"$d/$name.pre.log" || { echo "pretrain $name failed: $(tail -2 "$d/$name.pre.log")" >&2; return 1; }
        pre=(--pretrained "$d/$name.pre.safetensors")
        ;;
    seq2seq-nopre) real=seq2seq ;;
    esac
    "$EF" train -i "$csv" --model "$real" -k "$k" --seed "$seed" "${proto[@]}" "${extra[@]}" "${pre[@]}" \
        --epochs "$EPOCHS" --patience "$PATIENCE" --curve "$d/$name.curve" --split-out "$d/$name.split" \
        -q -o "$model" 2>"$d/$name.log" || { echo "train $name failed: $(tail -2 "$d/$name.log")" >&2; return 1; }
    awk -v s="$(date +%s.%N)" -v a="$t0" 'BEGIN { printf "%.2f\n", s - a }' >"$d/$name.seconds"
    rm -f "$d/$name.curve.png" "$d/$name.pre.png"
    # test rows of this split (the same for every arch of one k, seed, protocol)
    local tc=$out/runs/test_${kind}_k${k}_s${seed}${arg:+_$arg}.csv
    test_rows "$csv" "$d/$name.split" "$tc"
    rm -f "$d/$name.split"
    case $kind in
    main)
        "$EF" eval -m "$model" -i "$tc" --json "$d/$name.test.json" -q >/dev/null 2>>"$d/$name.log" || return 1
        "$EF" eval -m "$model" -i "$day" --json "$d/$name.day.json" -q >/dev/null 2>>"$d/$name.log" || return 1
        if [ "$k" = 5 ]; then
            local p
            for p in $PS; do
                "$EF" eval -m "$model" -i "$tc" --reorder "$p" --seed "$seed" --json "$d/$name.r$p.json" -q \
                    >/dev/null 2>>"$d/$name.log" || return 1
            done
        fi
        ;;
    reorder)
        "$EF" eval -m "$model" -i "$tc" --reorder "$arg" --seed "$seed" --json "$d/$name.r$arg.json" -q \
            >/dev/null 2>>"$d/$name.log" || return 1
        ;;
    imb)
        "$EF" eval -m "$model" -i "$day" --json "$d/$name.day.json" -q >/dev/null 2>>"$d/$name.log" || return 1
        ;;
    esac
    rm -f "$model" "$d/$name.pre.safetensors"
    touch "$d/$name.done"
}
