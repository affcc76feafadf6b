# tools/experiments/report.sh: tables and plots of tools/experiments.sh
# (sourced by it). Reads $out/runs/*/*.json (earlyflow eval --json) and the
# training curves; writes $docs/results.md and $docs/results/*.png.

# flatten: one line per eval JSON:
#   kind arch k seed arg eval macro_f1 accuracy f1_<class>... (class order of
#   the model) and the confusion matrix flattened row by row (last field,
#   values separated by ':')
flatten() {
    local f
    for f in "$out"/runs/*/*.json; do
        [ -e "$f" ] || continue
        awk -v file="$f" '
            /^  "macro_f1":/ { v = $2; sub(/,/, "", v); macro = v }
            /^  "accuracy":/ { v = $2; sub(/,/, "", v); acc = v }
            /"label":.*"f1":/ {
                s = $0; sub(/.*"f1": */, "", s); sub(/,.*/, "", s); f1 = f1 "\t" s
                l = $0; sub(/.*"label": "/, "", l); sub(/".*/, "", l); labs = labs (labs ? "," : "") l
            }
            /^    \[[0-9]/ { r = $0; gsub(/[^0-9,]/, "", r); sub(/,$/, "", r); gsub(/,/, ":", r); conf = conf (conf ? ":" : "") r }
            END {
                n = split(file, p, "/"); kind = p[n - 1]; base = p[n]
                sub(/\.json$/, "", base)
                if (base ~ /\.test$/) { ev = "test"; sub(/\.test$/, "", base) }
                else if (base ~ /\.day$/) { ev = "day"; sub(/\.day$/, "", base) }
                else if (match(base, /\.r[0-9.]+$/)) { ev = substr(base, RSTART + 1); base = substr(base, 1, RSTART - 1) }
                # base: ARCH_kK_sS[_ARG]; ARCH may hold a "-" but no "_"
                m = split(base, q, "_")
                arg = (m >= 4) ? q[4] : "-"
                sub(/^p/, "", arg)
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\t%s\n", kind, q[1], substr(q[2], 2), substr(q[3], 2), arg, ev, macro, acc, labs, f1, conf
            }' "$f"
    done
}

# stats: mean and sample standard deviation of column 1 per key (rest of line)
#   input "value<TAB>key", output "key<TAB>mean<TAB>std<TAB>n"
stats() {
    awk -F'\t' '{ k = $2; for (i = 3; i <= NF; i++) k = k "\t" $i; n[k]++; s[k] += $1; q[k] += $1 * $1 }
        END { for (k in n) { m = s[k] / n[k]; v = n[k] > 1 ? (q[k] - n[k] * m * m) / (n[k] - 1) : 0; if (v < 0) v = 0
            printf "%s\t%.4f\t%.4f\t%d\n", k, m, sqrt(v), n[k] } }'
}

pretty() { # arch -> the paper's name
    case $1 in
    mlp) echo MLP ;; lstm) echo "FWD (lstm)" ;; bilstm) echo "BI (bilstm)" ;;
    seq2seq) echo "SEQ (seq2seq)" ;; seq2seq-nopre) echo "SEQ without pre-training" ;;
    gru) echo GRU ;; bigru) echo BiGRU ;; *) echo "$1" ;;
    esac
}

# cell FILE KEY: "mean ± std" of a stats file row whose key is KEY
cell() {
    awk -F'\t' -v key="$2" '{ k = $1; for (i = 2; i <= NF - 3; i++) k = k "\t" $i }
        k == key { printf "%.3f ± %.3f", $(NF - 2), $(NF - 1); found = 1 } END { if (!found) printf "n/a" }' "$1"
}

# summary_lines MACRO_TSV: a few facts read off the tables, as bullets
summary_lines() {
    local a
    # best model per k (test split and new day)
    for ev in test day; do
        awk -F'\t' -v ev=$ev '$1 == "main" && $5 == ev { if (!($3 in best) || $6 > best[$3]) { best[$3] = $6; who[$3] = $2; sd[$3] = $7 }; sum[$3] += $6; n[$3]++ }
            END { printf "- Best model per k on the %s: ", ev == "test" ? "test split" : "new day"; sep = ""
                split("3 5 10 20", K, " ")
                for (i = 1; i <= 4; i++) { k = K[i]; if (!(k in best)) continue
                    printf "%sk = %s %s %.3f (mean of all models %.3f)", sep, k, who[k], best[k], sum[k] / n[k]; sep = "; " }
                print "." }' "$1"
    done | sed 's/ mlp / MLP /g; s/ lstm / FWD /g; s/ bilstm / BI /g; s/ seq2seq / SEQ /g; s/ gru / GRU /g; s/ bigru / BiGRU /g'
    # reordering at the largest P
    local pmax=${PS##* }
    for a in $REORDER_ARCHS; do
        awk -F'\t' -v a=$a -v e="r$pmax" -v p=$pmax '$2 == a && $3 == 5 {
                if ($1 == "main" && $5 == "test") c0 = $6
                if ($1 == "main" && $5 == e) c = $6
                if ($1 == "reorder" && $4 == p && $5 == e) t = $6 }
            END { if (c0 != "" && c != "" && t != "") printf "%s %.3f -> %.3f (clean training), %.3f (trained with reordering)\n", a, c0, c, t }' "$1"
    done | sed 's/^mlp /MLP /; s/^lstm /FWD /; s/^bilstm /BI /' |
        awk -v p=$pmax 'NR == 1 { printf "- Reordering, k = 5, P = %s: macro-F1 ", p } { printf "%s%s", (NR > 1 ? "; " : ""), $0 } END { if (NR) print "." }'
    # class imbalance: which training is best per model
    for a in $IMB_ARCHS; do
        awk -F'\t' -v a=$a '$1 == "imb" && $2 == a && $5 == "day" { v[$4] = $6 }
            END { b = "seed"; for (m in v) if (v[m] > v[b]) b = m
                printf "%s: best %s (%.3f; balanced sampling %.3f, natural %.3f, natural + weights %.3f)\n", a, b, v[b], v["seed"], v["strat"], v["strat-w"] }' "$1"
    done | sed 's/^lstm:/FWD:/; s/^bilstm:/BI:/; s/^seq2seq-nopre:/SEQ without pre-training:/; s/^seq2seq:/SEQ:/; s/best seed/best balanced sampling/; s/best strat-w/best natural + weights/; s/best strat/best natural ratios/' |
        awk 'NR == 1 { printf "- Class imbalance (new day, k = 5): " } { printf "%s%s", (NR > 1 ? "; " : ""), $0 } END { if (NR) print "." }'
}

write_report() {
    local R=$out/report
    mkdir -p "$R"
    flatten >"$R/all.tsv"
    [ -s "$R/all.tsv" ] || ef_die "no evaluation results in $out/runs"
    local labels
    labels=$(awk -F'\t' 'NR == 1 { print $9 }' "$R/all.tsv")
    local nc
    nc=$(echo "$labels" | awk -F, '{ print NF }')
    # macro-F1 per (kind, arch, k, arg, eval)
    awk -F'\t' '{ print $7 "\t" $1 "\t" $2 "\t" $3 "\t" $5 "\t" $6 }' "$R/all.tsv" | stats | sort >"$R/macro.tsv"
    # per-class F1 per (kind, arch, k, arg, eval, class)
    awk -F'\t' -v nc="$nc" '{ split($9, L, ","); for (c = 1; c <= nc; c++) print $(9 + c) "\t" $1 "\t" $2 "\t" $3 "\t" $5 "\t" $6 "\t" L[c] }' \
        "$R/all.tsv" | stats | sort >"$R/perclass.tsv"
    plots

    local md=$docs/results.md a k p m c
    local seeds_n
    seeds_n=$(echo $SEEDS | wc -w)
    {
        if [ -n "$data_prefix" ]; then
            cat <<EOF
# Results: the paper's experiments on $(basename "$data_prefix")_K_k.csv

Generated by \`tools/experiments.sh --data $data_prefix --newday $newday_prefix\` on
$(date -u +%Y-%m-%d), $("$EF" --version 2>/dev/null | head -n1 || true). The paper (Kim et al.,
LCN 2022) reports up to 94.8 % F1 at k = 5 on MAWILab September 2020 data; compare the
k = 5 column below with it (docs/reproduce-mawilab.md says what differs).

## Data

- Training ("month"): \`${data_prefix}_K_{3,5,10,20}.csv\`, labels \`$EF_LABELS4\` (rows of
  other labels are dropped, as the seed does).
- New day (scores only): \`${newday_prefix}_K_{3,5,10,20}.csv\`.

EOF
        else
            cat <<EOF
# Results: the paper's experiments on generated traffic

**These are not the paper's numbers.** The paper (Kim et al., LCN 2022) reports up to
94.8 % F1 at k = 5 on MAWILab September 2020 data, which is not reachable from here. Every
figure below comes from traffic made by \`earlyflow gen\` (docs/generator.md) and says how
earlyflow's implementation of the paper's models behaves on *that* data. To run the same
experiments on the real data, see docs/reproduce-mawilab.md.

Generated by \`tools/experiments.sh\`$( [ $quick = 1 ] && echo " --quick (a QUICK RUN: tiny data, few epochs; not the reference figures)") on $(date -u +%Y-%m-%d),
$("$EF" --version 2>/dev/null | head -n1 || true) (commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)).
Do not edit by hand: rerun the command.

## Data

- A generated "month": three days, \`earlyflow gen --seed S --flows $FLOWS --duration $DURATION
  --mix $MIX --snaplen 96\` for S = $(echo $MONTH_SEEDS | sed 's/ /, /g'), each collected with \`earlyflow collect
  --labels dayS_anomalous_suspicious.csv -k 3,5,10,20\` (flows with at least k packets, as in
  the released K_k files; no \`--pad\`) and concatenated per k, as docs/dataset.md does for the
  25 MAWI days.
- A "new day" for out-of-sample scores: the same command with seed $DAY_SEED (never trained on).
- The paper's 4-class setting: labels \`$EF_LABELS4\`; flows of other classes are not generated.

EOF
        fi
        cat <<EOF
Rows per class (month / new day):

| k | $(echo "$labels" | sed 's/,/ | /g') |
|---|$(echo "$labels" | sed 's/[^,]*/---/g; s/,/|/g')|
EOF
        for k in $KS; do
            printf '| %s |' "$k"
            for c in $(echo "$labels" | tr , ' '); do
                printf ' %s / %s |' \
                    "$(awk -F, -v c="$c" 'NR > 1 && $NF == c { n++ } END { print n + 0 }' "$out/data/month_K_$k.csv")" \
                    "$(awk -F, -v c="$c" 'NR > 1 && $NF == c { n++ } END { print n + 0 }' "$out/data/newday_K_$k.csv")"
            done
            echo
        done
        cat <<EOF

## Protocol

The seed's (docs/training.md "Sampling"): per class at most $NSTREAMS flows, of which $NTEST are
test and $NVALID validation rows, the rest training; the seed's preprocessing; hidden 20, 3 layers,
context 3, Adam lr 0.001, batch 20, PyTorch's default initialisation (\`--init torch\`);
checkpoint of the best validation macro-F1. Differences from the seed, all for the time budget
or for correctness: at most $EPOCHS epochs with patience $PATIENCE (pre-training $PRE_EPOCHS /
$PRE_PATIENCE) instead of 1,000 (10,000); every sample computed on its own (the reference mixes
the LSTM states of a batch in its context layer, see docs/models.md). $seeds_n seeds ($(echo $SEEDS | tr ' ' ,)) per
configuration of the model x k grid, seeds $(echo $SIDE_SEEDS | tr ' ' ,) for the reorder-trained and class-imbalance runs
(time budget): each seed draws its own split, initialisation and shuffling. "Test" is the
seed protocol's balanced test split ($NTEST flows per class); "new day" is every flow of the
separately generated day, at its natural class ratios (harder: other hosts, other anomalies).
Scores are scikit-learn-style macro-F1 over the 4 classes, mean ± sample standard deviation
over the seeds.

## Summary (computed from the tables below)

$(summary_lines "$R/macro.tsv")

## Macro-F1 by model and k (test split)

| model | $(for k in $KS; do printf 'k = %s | ' $k; done)
|---|$(for k in $KS; do printf -- '---|'; done)
EOF
        for a in $ARCHS; do
            printf '| %s |' "$(pretty $a)"
            for k in $KS; do printf ' %s |' "$(cell "$R/macro.tsv" "main	$a	$k	-	test")"; done
            echo
        done
        cat <<EOF

![macro-F1 vs k](results/f1_vs_k.png)

## Macro-F1 by model and k (new day, natural class ratios)

| model | $(for k in $KS; do printf 'k = %s | ' $k; done)
|---|$(for k in $KS; do printf -- '---|'; done)
EOF
        for a in $ARCHS; do
            printf '| %s |' "$(pretty $a)"
            for k in $KS; do printf ' %s |' "$(cell "$R/macro.tsv" "main	$a	$k	-	day")"; done
            echo
        done
        cat <<EOF

## Per-class F1 (test split, mean over seeds)

| model | k | $(echo "$labels" | sed 's/,/ | /g') |
|---|---|$(echo "$labels" | sed 's/[^,]*/---/g; s/,/|/g')|
EOF
        for a in $ARCHS; do
            for k in $KS; do
                printf '| %s | %s |' "$(pretty $a)" "$k"
                for c in $(echo "$labels" | tr , ' '); do
                    printf ' %s |' "$(awk -F'\t' -v a=$a -v k=$k -v c=$c '$1 == "main" && $2 == a && $3 == k && $5 == "test" && $6 == c { printf "%.3f", $7 }' "$R/perclass.tsv")"
                done
                echo
            done
        done
        cat <<EOF

Confusion matrices at k = 5 (test split, summed over the seeds; colour = share of the true
class, number = flows):

![confusion matrices k=5](results/confusion_k5.png)

Training curves at k = 5, seed 1 (validation macro-F1 per epoch; the kept checkpoint is the
best one):

![training curves k=5](results/curves_k5.png)

## Out-of-order packets (k = 5)

"clean": trained on the data as captured, evaluated on the test split with each row's
adjacent packets swapped with probability P (\`earlyflow eval --reorder P\`); "reorder P":
trained with the same augmentation (\`--train-reorder P\`) and evaluated at the same P.
P = 0 is the unmodified test split.

| model | training | P = 0 | $(for p in $PS; do printf 'P = %s | ' $p; done)
|---|---|---|$(for p in $PS; do printf -- '---|'; done)
EOF
        for a in $REORDER_ARCHS; do
            printf '| %s | clean | %s |' "$(pretty $a)" "$(cell "$R/macro.tsv" "main	$a	5	-	test")"
            for p in $PS; do printf ' %s |' "$(cell "$R/macro.tsv" "main	$a	5	-	r$p")"; done
            echo
            printf '| %s | reorder P | %s |' "$(pretty $a)" "$(cell "$R/macro.tsv" "main	$a	5	-	test")"
            for p in $PS; do printf ' %s |' "$(cell "$R/macro.tsv" "reorder	$a	5	$p	r$p")"; done
            echo
        done
        for a in $ARCHS; do
            case " $REORDER_ARCHS " in *" $a "*) continue ;; esac
            printf '| %s | clean | %s |' "$(pretty $a)" "$(cell "$R/macro.tsv" "main	$a	5	-	test")"
            for p in $PS; do printf ' %s |' "$(cell "$R/macro.tsv" "main	$a	5	-	r$p")"; done
            echo
        done
        cat <<EOF

![macro-F1 vs reorder probability](results/reorder.png)

## Class imbalance (k = 5, scored on the new day)

Three ways to train on the same data, the first day of the month (one day rather than three
to keep this block short): the seed's balanced sampling (at most $NSTREAMS flows
per class: the majority class is cut down), the natural class ratios (\`--split stratified
--fractions 0.8,0.1,0.1\`: every flow, the majority class dominates), and the natural ratios
with \`--class-weights balanced\` (each class's loss weighted by n / (classes x n_c)). All are
scored on the new day at its natural ratios, where macro-F1 rewards the rare classes as much
as the common one.

| model | balanced sampling (seed) | natural ratios | natural + balanced weights |
|---|---|---|---|
EOF
        for a in $IMB_ARCHS; do
            printf '| %s | %s | %s | %s |\n' "$(pretty $a)" "$(cell "$R/macro.tsv" "imb	$a	5	seed	day")" \
                "$(cell "$R/macro.tsv" "imb	$a	5	strat	day")" "$(cell "$R/macro.tsv" "imb	$a	5	strat-w	day")"
        done
        cat <<EOF

Per-class F1 on the new day (mean over seeds):

| model | training | $(echo "$labels" | sed 's/,/ | /g') |
|---|---|$(echo "$labels" | sed 's/[^,]*/---/g; s/,/|/g')|
EOF
        for a in $IMB_ARCHS; do
            for m in seed strat strat-w; do
                local kind=imb arg=$m name
                case $m in seed) name="balanced sampling" ;; strat) name="natural ratios" ;; strat-w) name="natural + weights" ;; esac
                printf '| %s | %s |' "$(pretty $a)" "$name"
                for c in $(echo "$labels" | tr , ' '); do
                    printf ' %s |' "$(awk -F'\t' -v kind=$kind -v a=$a -v arg=$arg -v c=$c '$1 == kind && $2 == a && $3 == 5 && $4 == arg && $5 == "day" && $6 == c { printf "%.3f", $7 }' "$R/perclass.tsv")"
                done
                echo
            done
        done
        cat <<EOF

![class imbalance](results/imbalance.png)

## Time

Measured on the machine that ran the command ($(nproc) cores, shared with other work while
it ran: treat as indicative), $jobs training runs at a time, each single-threaded:

| stage | seconds |
|---|---|
EOF
        # stages of the run that trained (a --report-only rerun keeps them)
        awk -F'\t' -v rep="$(ef_elapsed "$t_report")" '$1 != "report" { printf "| %s | %s |\n", $1, $2; s += $2 }
            END { printf "| tables and plots | %s |\n| **total** (the whole command) | %.1f (%.1f min) |\n", rep, s + rep, (s + rep) / 60 }' "$timing"
        echo
        awk -F'\t' '{ n++; s += $1 } END { printf "%d training runs (pre-training included), %.1f s each on average.\n", n, s / n }' \
            <(cat "$out"/runs/*/*.seconds)
        cat <<EOF

## Reading these numbers

- The generator knows the truth exactly, so there is no label noise here; MAWILab's labels
  are detector output (docs/generator.md "Limits"), which makes the paper's task harder in
  one way and its test split easier in another (flows of one anomaly land on both sides of a
  random split, as they do here within the month).
- The "test" split is the seed protocol's: balanced, $NTEST flows per class, drawn from the same
  days as the training rows, so it is optimistic; the "new day" column is the honest
  out-of-sample figure.
- Reordering here is the adjacent-swap definition of docs/training.md, applied after
  capture; MAWI's own reordering is rarer and not only adjacent.
EOF
    } >"$md.tmp"
    mv "$md.tmp" "$md"
}

# ---- plots (gnuplot scripts in tools/experiments/*.gp) ----------------------------
plots() {
    local R=$out/report P=$docs/results a k p
    # f1 vs k: one block per arch: k mean std
    : >"$R/f1_vs_k.dat"
    for a in $ARCHS; do
        printf '"%s"\n' "$(pretty $a)" >>"$R/f1_vs_k.dat"
        awk -F'\t' -v a=$a '$1 == "main" && $2 == a && $4 == "-" && $5 == "test" { print $3, $6, $7 }' "$R/macro.tsv" |
            sort -n >>"$R/f1_vs_k.dat"
        printf '\n\n' >>"$R/f1_vs_k.dat"
    done
    gnuplot -e "datafile='$R/f1_vs_k.dat'; outfile='$P/f1_vs_k.png'; n=$(echo $ARCHS | wc -w)" "$here/experiments/f1_vs_k.gp"

    # reorder: per arch two blocks (clean, trained): P mean std
    : >"$R/reorder.dat"
    for a in $REORDER_ARCHS; do
        for t in clean trained; do
            printf '"%s, %s"\n' "$(pretty $a)" "$([ $t = clean ] && echo "clean training" || echo "trained with reorder P")" >>"$R/reorder.dat"
            awk -F'\t' -v a=$a '$1 == "main" && $2 == a && $3 == 5 && $5 == "test" { print 0, $6, $7 }' "$R/macro.tsv" >>"$R/reorder.dat"
            for p in $PS; do
                if [ $t = clean ]; then
                    awk -F'\t' -v a=$a -v e="r$p" -v p=$p '$1 == "main" && $2 == a && $3 == 5 && $5 == e { print p, $6, $7 }' "$R/macro.tsv"
                else
                    awk -F'\t' -v a=$a -v e="r$p" -v p=$p '$1 == "reorder" && $2 == a && $3 == 5 && $4 == p && $5 == e { print p, $6, $7 }' "$R/macro.tsv"
                fi
            done >>"$R/reorder.dat"
            printf '\n\n' >>"$R/reorder.dat"
        done
    done
    gnuplot -e "datafile='$R/reorder.dat'; outfile='$P/reorder.png'; n=$(($(echo $REORDER_ARCHS | wc -w) * 2))" "$here/experiments/reorder.gp"

    # confusion matrices at k = 5, summed over seeds, one matrix file per arch
    local labels i=0 files=""
    labels=$(awk -F'\t' 'NR == 1 { print $9 }' "$R/all.tsv")
    for a in $ARCHS; do
        awk -F'\t' -v a=$a -v labels="$labels" '
            $1 == "main" && $2 == a && $3 == 5 && $6 == "test" { m = split($NF, v, ":"); for (i = 1; i <= m; i++) s[i] += v[i] }
            END {
                n = split(labels, L, ","); idx = 0
                for (r = 0; r < n; r++) { t = 0; for (c = 0; c < n; c++) t += s[r * n + c + 1]
                    for (c = 0; c < n; c++) printf "%d %d %.4f %d\n", c, r, t ? s[r * n + c + 1] / t : 0, s[r * n + c + 1]
                    print "" }
            }' "$R/all.tsv" >"$R/confusion_$a.dat"
        files="$files $R/confusion_$a.dat"
        i=$((i + 1))
    done
    gnuplot -e "files='${files# }'; titles='$(for a in $ARCHS; do printf '%s|' "$(pretty $a)"; done)'; labels='$labels'; outfile='$P/confusion_k5.png'" \
        "$here/experiments/confusion.gp"

    # training curves at k = 5, seed 1
    files=""
    for a in $ARCHS; do
        [ -f "$out/runs/main/${a}_k5_s1.curve.tsv" ] && files="$files $out/runs/main/${a}_k5_s1.curve.tsv"
    done
    gnuplot -e "files='${files# }'; titles='$(for a in $ARCHS; do printf '%s|' "$(pretty $a)"; done)'; outfile='$P/curves_k5.png'" \
        "$here/experiments/curves.gp"

    # imbalance: rows = arch, columns = the three trainings
    : >"$R/imbalance.dat"
    for a in $IMB_ARCHS; do
        printf '"%s" %s %s %s\n' "$(pretty $a)" \
            "$(awk -F'\t' -v a=$a '$1 == "imb" && $2 == a && $4 == "seed" && $5 == "day" { printf "%s %s", $6, $7 }' "$R/macro.tsv")" \
            "$(awk -F'\t' -v a=$a '$1 == "imb" && $2 == a && $4 == "strat" && $5 == "day" { printf "%s %s", $6, $7 }' "$R/macro.tsv")" \
            "$(awk -F'\t' -v a=$a '$1 == "imb" && $2 == a && $4 == "strat-w" && $5 == "day" { printf "%s %s", $6, $7 }' "$R/macro.tsv")" >>"$R/imbalance.dat"
    done
    gnuplot -e "datafile='$R/imbalance.dat'; outfile='$P/imbalance.png'" "$here/experiments/imbalance.gp"
}
