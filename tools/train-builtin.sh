#!/usr/bin/env bash
# tools/train-builtin.sh: train earlyflow's built-in models (models/builtin/
# builtin_k{3,5,10,20}.safetensors) from generated traffic plus the real
# captures of ../shared/data, and measure them on held-out real captures
# with `earlyflow run`. What it does and why: docs/builtin-models.md.
#
# usage: tools/train-builtin.sh [options] [STAGE...]
#   stages (default: data train install measure cards):
#     data     generate captures, collect them and the real captures (runtime
#              label files for attack captures), assemble the training sets
#     compare  candidate architectures / features / class weights trained on
#              the training fold, scored on the validation fold (gen seed 201
#              + the `valid` captures): the measurements behind the choice
#     train    the four built-ins with the chosen configuration
#     install  copy them into models/builtin/ and rebuild earlyflow.so (in the
#              build directory of the earlyflow binary)
#     measure  earlyflow run (built-in models of the .so) on every held-out
#              capture and on a held-out generated capture
#     cards    write models/cards/builtin_k<k>.md from the results
#   --out DIR        work directory (default builtin-work)
#   --bin FILE       earlyflow binary (default $EF_BIN, else build/earlyflow)
#   --plugin FILE    earlyflow.so for measure (default: next to the binary)
#   --data DIR       the real captures (default ../shared/data beside the repo)
#   --quick          small generated data and few epochs (to try the script)
#   --compare-k K    k of the compare stage (default 5)
set -euo pipefail

EF_PROG=train-builtin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
. "$here/lib/common.sh"

out=builtin-work bin="" plugin="" data="" quick=0 compare_k=5 stages=()
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift ;;
    --bin) bin=$2; shift ;;
    --plugin) plugin=$2; shift ;;
    --data) data=$2; shift ;;
    --quick) quick=1 ;;
    --compare-k) compare_k=$2; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    data | compare | train | install | measure | cards) stages+=("$1") ;;
    *) ef_die "unknown option or stage '$1' (see --help)" ;;
    esac
    shift
done
[ ${#stages[@]} -gt 0 ] || stages=(data train install measure cards)
[ -n "$bin" ] && EF_BIN=$bin
EF=$(ef_find_bin "$root")
EF=$(cd "$(dirname "$EF")" && pwd)/$(basename "$EF")
data=${data:-$(dirname "$root")/shared/data}
[ -f "$data/MANIFEST.tsv" ] || ef_die "no real captures: $data/MANIFEST.tsv not found (use --data)"
data=$(cd "$data" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
KS="3 5 10 20"

# ---------------------------------------------------------------------------
# The data. Generated captures: one seed each, with the network dynamics of
# MAWI's link (docs/generator.md "Network dynamics"). 201 = validation
# capture (choices, early-stopping checks, the cards' per-class tables);
# 301 = a held-out generated capture for the final measurement.
# seed flows duration options
GEN_TRAIN="
101 20000 120 -
102 20000 120 --reorder,0.1,--jitter,1
103 20000 120 --loss,0.03,--dup,0.01
104 20000 120 --one-way,0.5
105 20000 120 --reorder,0.05,--jitter,2,--loss,0.01,--one-way,0.2
"
GEN_VALID="201 20000 120 --reorder,0.05,--jitter,1,--loss,0.01,--one-way,0.2"
GEN_HOLDOUT="301 20000 120 --reorder,0.05,--jitter,1,--loss,0.01,--one-way,0.2"
# Real attack captures: at most this many attack flows each (every n-th
# flow), so one large capture (37k spoofed SYNs) does not outweigh the rest.
REAL_CAP=1500
# Real rows are repeated in the training set, attack captures' rows A times and
# benign captures' B times (A/B): ~4k real attack rows and ~700 real benign rows
# against ~115k generated ones. The compare stage measured 4/4 and 4/32.
REAL_WEIGHT=${REAL_WEIGHT:-4/32}
if [ $quick = 1 ]; then
    GEN_TRAIN="101 4000 40 -
102 4000 40 --reorder,0.1,--jitter,1,--one-way,0.3"
    GEN_VALID="201 4000 40 --reorder,0.05,--one-way,0.2"
    GEN_HOLDOUT="301 4000 40 --reorder,0.05,--one-way,0.2"
fi

# ---------------------------------------------------------------------------
# The chosen configuration (docs/builtin-models.md "Choices"; compare stage).
ARCH=${ARCH:-lstm}
TRAIN_OPTS=${TRAIN_OPTS:---direction --hidden 20 --layers 3}
WEIGHTS=${WEIGHTS:-none}   # none | balanced | sqrt | sqrt:u=X | none:u=X (see weights_for)
EPOCHS=${EPOCHS:-80} PATIENCE=${PATIENCE:-12}
[ $quick = 1 ] && EPOCHS=8 PATIENCE=3

category_of() { # MANIFEST category_guess -> label
    case $1 in
    network_scan) echo NetworkScan ;; port_scan) echo PortScan ;; dos) echo DoS ;;
    multi_points) echo Multi ;; http_anomaly) echo HTTP ;; alpha_flow) echo Alpha ;;
    ipv6_tunneling) echo IPv6Tunnel ;; other) echo Other ;; benign) echo Unlabeled ;;
    *) echo "" ;;
    esac
}
capname() { printf '%s\n' "$1" | tr / _ | sed 's/\.\(pcapng\|pcap\|cap\)$//'; }

# captures SPLIT: "path<TAB>label<TAB>selector<TAB>code" of the capture table's
# rows with that split, labels from MANIFEST.tsv.
captures() {
    awk -F'\t' -v want="$1" '
        FNR == NR { if (FNR > 1) cat[$1] = $7; next }
        /^#/ || $1 == "path" { next }
        $2 == want {
            if (!($1 in cat)) { print "captures.tsv: " $1 " is not in MANIFEST.tsv" > "/dev/stderr"; exit 1 }
            print $1 "\t" cat[$1] "\t" $3 "\t" $4
        }' "$data/MANIFEST.tsv" "$here/builtin/captures.tsv"
}

# ---- data -----------------------------------------------------------------
gen_one() { # gen_one SEED FLOWS DURATION OPTS -> $out/gen/SEED/gSEED_K_k.csv
    local seed=$1 flows=$2 dur=$3 opts=$4 d=$out/gen/$1
    local -a o=()
    [ "$opts" != - ] && IFS=, read -r -a o <<<"$opts"
    [ -f "$d/g${seed}_K_20.csv" ] && return 0
    mkdir -p "$d"
    "$EF" gen -o "$d/g$seed.pcap" --labels "$d/g${seed}_anomalous_suspicious.csv" --truth "$d/truth.csv" \
        --seed "$seed" --flows "$flows" --duration "$dur" --snaplen 96 "${o[@]}" >"$d/gen.log" 2>&1 ||
        ef_die "gen seed $seed: $(tail -2 "$d/gen.log")"
    "$EF" collect -r "$d/g$seed.pcap" --labels "$d/g${seed}_anomalous_suspicious.csv" -k 3,5,10,20 \
        --pad --extended --no-ndpi -o "$d" --name "g$seed" >"$d/collect.log" 2>&1 ||
        ef_die "collect seed $seed: $(tail -2 "$d/collect.log")"
    # keep the capture of the held-out seed for `earlyflow run`; the rest only as CSVs
    [ "$seed" = "${GEN_HOLDOUT%% *}" ] || rm -f "$d/g$seed.pcap"
    ef_note "gen seed $seed ($opts): $(awk '$1 == "total" { print $2 }' "$d/collect.log") flows"
}

# real_one PATH LABEL SELECTOR CODE -> $out/real/NAME_K_k.csv (rows used)
real_one() {
    local path=$1 label=$2 sel=$3 code=$4 name k
    name=$(capname "$path")
    local d=$out/real
    mkdir -p "$d/all" "$d/labels" "$d/joined"
    [ -f "$d/${name}_K_20.csv" ] && return 0
    "$EF" collect -r "$data/$path" -k 3,5,10,20 --pad --extended --no-ndpi --label Unlabeled \
        -o "$d/all" --name "$name" >"$d/all/$name.log" 2>&1 ||
        ef_die "collect $path: $(tail -2 "$d/all/$name.log")"
    if [ "$label" = Unlabeled ]; then
        for k in $KS; do cp "$d/all/${name}_K_$k.csv" "$d/${name}_K_$k.csv"; done
        return 0
    fi
    # attack capture: runtime label file, joined by collect like a MAWILab day
    awk -v selector="$sel" -v code="$code" -v name="$name" -f "$here/lib/select_attack.awk" \
        "$d/all/${name}_K_20.csv" >"$d/labels/${name}_anomalous_suspicious.csv" 2>"$d/labels/$name.why"
    "$EF" collect -r "$data/$path" --labels "$d/labels/${name}_anomalous_suspicious.csv" -k 3,5,10,20 \
        --pad --extended --no-ndpi -o "$d/joined" --name "$name" >"$d/joined/$name.log" 2>&1 ||
        ef_die "collect $path with its labels: $(tail -2 "$d/joined/$name.log")"
    # keep the labelled flows only (unselected flows of an attack capture are
    # neither attack nor vouched-for benign), at most REAL_CAP of them; the
    # k files list the same flows in the same order (--pad), so one row
    # choice serves all four.
    local n step
    n=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "mawilab_code") c = i; next } $c != "" { n++ } END { print n + 0 }' \
        "$d/joined/${name}_K_20.csv")
    [ "$n" -gt 0 ] || ef_die "$path: no flow matched its runtime label file"
    step=$(((n + REAL_CAP - 1) / REAL_CAP))
    for k in $KS; do
        awk -F, -v step="$step" -v want="$label" '
            NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "mawilab_code") c = i; if ($i == "taxonomy label") l = i }; print; next }
            $c != "" {
                if ($l != want) { print "label " $l " where " want " was written" > "/dev/stderr"; exit 1 }
                if (m++ % step == 0) print
            }' "$d/joined/${name}_K_$k.csv" >"$d/${name}_K_$k.csv"
    done
    ef_note "$path: $label, $(cat "$d/labels/$name.why" | sed 's/^[^:]*: //'); $(($(wc -l <"$d/${name}_K_20.csv") - 1)) rows used"
}

# concat OUT FILES...: one CSV from several with the same header
concat() {
    local o=$1
    shift
    head -n1 "$1" >"$o.tmp"
    local f
    for f in "$@"; do
        [ "$(head -n1 "$f")" = "$(head -n1 "$1")" ] || ef_die "$f: header differs from $1"
        tail -n +2 "$f" >>"$o.tmp"
    done
    mv "$o.tmp" "$o"
}

# assemble SET WEIGHT KS SPLITS...: $out/sets/SET_K_k.csv (k in KS) = the
# generated training seeds + the real captures of the given splits, each real
# row WEIGHT times; WEIGHT A/B: attack captures' rows A times, benign B times
assemble() {
    local set=$1 rw=$2 ks=$3 k f s i n label
    shift 3
    mkdir -p "$out/sets"
    for k in $ks; do
        local files=()
        while read -r s _; do
            [ -n "$s" ] && files+=("$out/gen/$s/g${s}_K_$k.csv")
        done <<<"$GEN_TRAIN"
        for s in "$@"; do
            while IFS=$'\t' read -r path label _; do
                f=$out/real/$(capname "$path")_K_$k.csv
                n=${rw%/*}
                [ "$label" = benign ] && n=${rw#*/}
                for ((i = 0; i < n; i++)); do files+=("$f"); done
            done < <(captures "$s")
        done
        concat "$out/sets/${set}_K_$k.csv" "${files[@]}"
    done
}

# class_counts CSV: "label count" lines, most frequent first
class_counts() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "taxonomy label") l = i; next } { n[$l]++ }
        END { for (c in n) print c, n[c] }' "$1" | sort -k2,2nr
}

stage_data() {
    local seed flows dur opts path label sel code
    while read -r seed flows dur opts; do
        [ -n "$seed" ] && gen_one "$seed" "$flows" "$dur" "$opts"
    done <<<"$GEN_TRAIN
$GEN_VALID
$GEN_HOLDOUT"
    for split in train valid holdout; do
        while IFS=$'\t' read -r path label sel code; do
            [ -n "$label" ] || ef_die "$path: MANIFEST category has no label"
            real_one "$path" "$(category_of "$label")" "$sel" "$code"
        done < <(captures $split)
    done
    rm -f "$out"/sets/fold_w*_K_*.csv   # variants of the compare stage, rebuilt on demand
    assemble fold "$REAL_WEIGHT" "$KS" train        # the training fold of the compare stage
    assemble final "$REAL_WEIGHT" "$KS" train valid # the built-ins' training set
    for k in $KS; do
        local vf=()
        while IFS=$'\t' read -r path _; do vf+=("$out/real/$(capname "$path")_K_$k.csv"); done < <(captures valid)
        concat "$out/sets/valid_real_K_$k.csv" "${vf[@]}"
    done
    {
        printf 'set\tlabel\trows\n'
        for set in fold final valid_real; do
            class_counts "$out/sets/${set}_K_5.csv" | awk -v s=$set '{ printf "%s\t%s\t%s\n", s, $1, $2 }'
        done
        class_counts "$out/gen/${GEN_VALID%% *}/g${GEN_VALID%% *}_K_5.csv" | awk '{ printf "valid_gen\t%s\t%s\n", $1, $2 }'
    } >"$out/sets/counts.tsv"
    ef_note "data ready: $out/sets (class counts in counts.tsv)"
}

# ---- training -------------------------------------------------------------
# weights_for CSV MODE: the --class-weights value for a training CSV
weights_for() {
    case $2 in
    none | balanced) echo "$2" ;;
    none:u=*)
        # uniform weights but Unlabeled's: a prior shift towards "benign"
        awk -v labels="$EF_LABELS9" -v u="${2#none:u=}" 'BEGIN { m = split(labels, L, ",")
            for (i = 1; i <= m; i++) printf "%s%s", (i > 1 ? "," : ""), (L[i] == "Unlabeled" ? u : 1); print "" }'
        ;;
    sqrt | sqrt:u=*)
        # balanced weight of class c is n / (C n_c); its square root keeps
        # rare classes visible without the false alarms full balancing
        # costs on the majority class (compare stage); sqrt:u=X multiplies
        # the Unlabeled weight by X (a prior shift towards "benign")
        local u=1
        case $2 in sqrt:u=*) u=${2#sqrt:u=} ;; esac
        awk -F, -v labels="$EF_LABELS9" -v u="$u" '
            NR == 1 { for (i = 1; i <= NF; i++) if ($i == "taxonomy label") l = i; next }
            { n[$l]++; tot++ }
            END {
                m = split(labels, L, ",")
                for (i = 1; i <= m; i++) printf "%s%.6f", (i > 1 ? "," : ""), sqrt(tot / (m * n[L[i]])) * (L[i] == "Unlabeled" ? u : 1)
                print ""
            }' "$1"
        ;;
    *) ef_die "unknown class weights '$2'" ;;
    esac
}

# train_one CSV K OUTFILE ARCH WEIGHTS [train options...]
train_one() {
    local csv=$1 k=$2 model=$3 arch=$4 w=$5
    shift 5
    local base=${model%.safetensors}
    "$EF" train -i "$csv" --model "$arch" -k "$k" --labels "$EF_LABELS9" \
        --split stratified --fractions 0.9,0.1,0 --class-weights "$(weights_for "$csv" "$w")" \
        --epochs "$EPOCHS" --patience "$PATIENCE" --seed 1 --curve "$base.curve" -q "$@" \
        -o "$model" 2>"$base.train.log" || ef_die "train $model: $(tail -3 "$base.train.log")"
}

# eval_one MODEL CSV JSON [PRED]
eval_one() {
    local p=()
    [ -n "${4:-}" ] && p=(--predictions "$4")
    "$EF" eval -m "$1" -i "$2" --json "$3" "${p[@]}" -q >/dev/null 2>"$3.log" ||
        ef_die "eval $1 on $2: $(tail -3 "$3.log")"
}

# attack_share PRED: share of rows predicted as an attack (not Unlabeled)
attack_share() {
    awk -F, 'NR > 1 { n++; if ($3 != "Unlabeled") a++ } END { printf "%.3f", n ? a / n : 0 }' "$1"
}
right_share() {
    awk -F, 'NR > 1 { n++; if ($3 == $2) a++ } END { printf "%.3f", n ? a / n : 0 }' "$1"
}

# score_valid MODEL DIR: validation-fold figures of one model
#   gen_f1       macro-F1 on the generated validation capture (seed 201)
#   caps_major   validation attack captures whose majority of attack flows
#                is tagged as an attack (of N)
#   benign_fa    share of validation benign flows tagged as an attack
score_valid() {
    local m=$1 d=$2 k path label name vs=${GEN_VALID%% *}
    k=$("$EF" model info "$m" | awk '$1 == "k:" { print $2 }')
    mkdir -p "$d"
    eval_one "$m" "$out/gen/$vs/g${vs}_K_$k.csv" "$d/gen.json" "$d/gen.pred"
    local f1 caps=0 major=0 bn=0 bfa=0 detail="" s n a
    f1=$(ef_json_num "$d/gen.json" macro_f1)
    while IFS=$'\t' read -r path label _; do
        name=$(capname "$path")
        eval_one "$m" "$out/real/${name}_K_$k.csv" "$d/$name.json" "$d/$name.pred"
        if [ "$(category_of "$label")" = Unlabeled ]; then
            read -r n a < <(awk -F, 'NR > 1 { n++; if ($3 != "Unlabeled") a++ } END { print n + 0, a + 0 }' "$d/$name.pred")
            bn=$((bn + n)); bfa=$((bfa + a))
        else
            caps=$((caps + 1))
            s=$(attack_share "$d/$name.pred")
            awk -v s="$s" 'BEGIN { exit !(s > 0.5) }' && major=$((major + 1))
            detail="$detail $name=$s/$(right_share "$d/$name.pred")"
        fi
    done < <(captures valid)
    printf '%s\t%s/%s\t%s\t%s\n' "$f1" "$major" "$caps" \
        "$(awk -v a=$bfa -v n=$bn 'BEGIN { printf "%.4f", n ? a / n : 0 }')" "$detail"
}

stage_compare() {
    local k=$compare_k d=$out/compare
    mkdir -p "$d"
    [ -f "$out/sets/fold_K_$k.csv" ] || ef_die "no $out/sets/fold_K_$k.csv: run the data stage first"
    # name | arch | class weights | train options | real-row weight (default REAL_WEIGHT)
    local cands="
bilstm-dir-sqrt|bilstm|sqrt|--direction|4/4
bilstm-dir-none|bilstm|none|--direction|4/4
bilstm-dir-sqrt-rb32|bilstm|sqrt|--direction|4/32
bilstm-dir-none-rb32|bilstm|none|--direction|4/32
bilstm-dir-u4-rb32|bilstm|none:u=4|--direction|4/32
bilstm-dir-u16-rb32|bilstm|none:u=16|--direction|4/32
bilstm-nodir-none-rb32|bilstm|none||4/32
bigru-dir-none-rb32|bigru|none|--direction|4/32
lstm-dir-none-rb32|lstm|none|--direction|4/32
mlp-dir-none-rb32|mlp|none|--direction|4/32
gru-dir-none-rb32|gru|none|--direction|4/32
"
    [ -n "${CANDIDATES:-}" ] && cands=$CANDIDATES
    [ -f "$d/compare_k$k.tsv" ] || printf 'candidate\tk\tepochs\tseconds\tgen_valid_macro_f1\tvalid_attack_captures_majority\tvalid_benign_false_alarms\tper_capture(attack_share/right_share)\n' >"$d/compare_k$k.tsv"
    local name arch w opts rw csv
    while IFS='|' read -r name arch w opts rw; do
        [ -n "$name" ] || continue
        rw=${rw:-$REAL_WEIGHT}
        csv=$out/sets/fold_K_$k.csv
        if [ "$rw" != "$REAL_WEIGHT" ]; then
            csv=$out/sets/fold_w${rw/\//-}_K_$k.csv
            [ -f "$csv" ] || assemble "fold_w${rw/\//-}" "$rw" "$k" train
        fi
        local t0 m=$d/${name}_k$k.safetensors
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086
        [ -f "$m" ] || train_one "$csv" "$k" "$m" "$arch" "$w" $opts
        local secs ep
        secs=$(ef_elapsed "$t0")
        ep=$(($(wc -l <"$d/${name}_k$k.curve.tsv") - 1))
        printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$k" "$ep" "$secs" "$(score_valid "$m" "$d/$name-k$k")" |
            tee -a "$d/compare_k$k.tsv" >&2
    done <<<"$cands"
    compare_rank "$d/compare_k$k.tsv" | tee "$d/ranked_k$k.md" >&2
}

# compare_rank TSV: the candidates as a markdown table, best first, by the
# selection score = mean share of attack flows tagged as an attack over the
# validation attack captures (each capture counts once) - share of validation
# benign flows tagged as an attack
compare_rank() {
    awk -F'\t' 'NR > 1 {
            n = split($8, caps, " "); s = 0; m = 0
            for (i = 1; i <= n; i++) { split(caps[i], kv, "="); split(kv[2], v, "/"); s += v[1]; m++ }
            mean = m ? s / m : 0
            printf "%.3f\t| %s | %s | %.3f | %s | %.1f %% | %.1f %% | %.3f |\n", mean - $7, $1, $3, $5, $6, 100 * mean, 100 * $7, mean - $7
        }' "$1" | sort -t"$(printf '\t')" -k1,1nr | cut -f2 |
        { echo "| candidate | epochs | gen-valid macro-F1 | attack captures mostly tagged | mean attack-flow share | benign tagged attack | score |"
          echo "|---|---|---|---|---|---|---|"; cat; }
}

stage_train() {
    local k d=$out/models
    mkdir -p "$d"
    for k in $KS; do
        local csv=$out/sets/final_K_$k.csv t0
        [ -f "$csv" ] || ef_die "no $csv: run the data stage first"
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086
        train_one "$csv" "$k" "$d/builtin_k$k.safetensors" "$ARCH" "$WEIGHTS" $TRAIN_OPTS
        echo "$(ef_elapsed "$t0")" >"$d/builtin_k$k.seconds"
        score_valid "$d/builtin_k$k.safetensors" "$d/valid-k$k" >"$d/builtin_k$k.valid.tsv"
        ef_note "builtin_k$k: $(awk '/^best epoch/' "$d/builtin_k$k.train.log"); gen-valid macro-F1 $(cut -f1 "$d/builtin_k$k.valid.tsv") ($(cat "$d/builtin_k$k.seconds") s)"
    done
}

stage_install() {
    local k
    for k in $KS; do
        [ -f "$out/models/builtin_k$k.safetensors" ] || ef_die "no trained builtin_k$k: run the train stage"
        cp "$out/models/builtin_k$k.safetensors" "$root/models/builtin/builtin_k$k.safetensors"
    done
    # embed them: rebuild the plugin of the build directory the binary comes from
    local bdir
    bdir=$(dirname "$EF")
    if [ -f "$bdir/CMakeCache.txt" ]; then
        cmake --build "$bdir" -j2 --target earlyflow_plugin >"$out/models/rebuild.log" 2>&1 ||
            ef_die "rebuilding earlyflow.so in $bdir failed: $(tail -3 "$out/models/rebuild.log")"
        ef_note "installed into $root/models/builtin/ and rebuilt $bdir/earlyflow.so"
    else
        ef_note "installed into $root/models/builtin/; rebuild earlyflow.so to embed them"
    fi
}

. "$here/builtin/measure.sh"

for st in "${stages[@]}"; do
    t_st=$(date +%s.%N)
    "stage_$st"
    ef_note "stage $st done in $(ef_elapsed "$t_st") s"
done
