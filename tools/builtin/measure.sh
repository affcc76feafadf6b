# tools/builtin/measure.sh: the measure and cards stages of
# tools/train-builtin.sh (sourced by it; uses its variables and helpers).

# measure_config FILE MODE: an earlyflow config deciding at every k, with the
# built-in models (MODE builtin) or the trained files in $out/models (files)
measure_config() {
    {
        printf '%%YAML 1.1\n---\nearlyflow:\n'
        if [ "$2" = files ]; then
            printf '  models:\n'
            for k in $KS; do printf '    %s: %s\n' "$k" "$out/models/builtin_k$k.safetensors"; done
        else
            printf '  model: builtin\n'
        fi
        printf '  k: [3, 5, 10, 20]\n  eve:\n    types: [early, stats]\n'
    } >"$1"
}

# run_capture CONFIG PCAP DIR: earlyflow run -> DIR/verdicts.tsv
run_capture() {
    local popt=()
    [ -n "$plugin" ] && popt=(-P "$plugin")
    mkdir -p "$3"
    "$EF" run -c "$1" -r "$2" -l "$3" "${popt[@]}" >"$3/summary.txt" 2>&1 ||
        ef_die "earlyflow run on $2: $(tail -3 "$3/summary.txt")"
    awk -f "$here/lib/eve_early.awk" "$3/eve.json" >"$3/verdicts.tsv"
    rm -f "$3/eve.json"
}

# score_attack LABELS VERDICTS CATEGORY: per k, the capture's attack flows
# (the flows its runtime label file names) and how their verdicts read, also
# counting only verdicts with score >= 0.9 (the demo rules' early.score):
#   k flows tagged_attack right tagged_attack_s90 right_s90
score_attack() {
    awk -F'\t' -v cat="$3" '
        FNR == NR {
            if (FNR == 1) next
            split($0, f, ",")
            a[f[2] "|" f[3] "|" f[4] "|" f[5]] = 1
            a[f[4] "|" f[5] "|" f[2] "|" f[3]] = 1
            next
        }
        ($2 "|" $3 "|" $4 "|" $5) in a {
            n[$6]++
            if ($7 != "Unlabeled") t[$6]++
            if ($7 == cat) r[$6]++
            if ($7 != "Unlabeled" && $8 >= 0.9) t9[$6]++
            if ($7 == cat && $8 >= 0.9) r9[$6]++
        }
        END { split("3 5 10 20", K, " "); for (i = 1; i <= 4; i++) print K[i], n[K[i]] + 0, t[K[i]] + 0, r[K[i]] + 0, t9[K[i]] + 0, r9[K[i]] + 0 }' "$1" "$2"
}

# score_benign VERDICTS: per k: k flows tagged_attack tagged_attack_s90
score_benign() {
    awk -F'\t' '{ n[$6]++; if ($7 != "Unlabeled") t[$6]++; if ($7 != "Unlabeled" && $8 >= 0.9) t9[$6]++ }
        END { split("3 5 10 20", K, " "); for (i = 1; i <= 4; i++) print K[i], n[K[i]] + 0, t[K[i]] + 0, t9[K[i]] + 0 }' "$1"
}

stage_measure() {
    local d=$out/measure mode=${MEASURE_MODE:-builtin}
    local hs=${GEN_HOLDOUT%% *}
    rm -rf "$d"
    mkdir -p "$d"
    measure_config "$d/earlyflow.yaml" "$mode"
    # the .so must carry the models of $out/models: same verdicts both ways
    if [ "$mode" = builtin ]; then
        measure_config "$d/files.yaml" files
        run_capture "$d/earlyflow.yaml" "$out/gen/$hs/g$hs.pcap" "$d/gen$hs"
        run_capture "$d/files.yaml" "$out/gen/$hs/g$hs.pcap" "$d/gen$hs-files"
        cmp -s "$d/gen$hs/verdicts.tsv" "$d/gen$hs-files/verdicts.tsv" ||
            ef_die "earlyflow.so's built-in models give other verdicts than $out/models: install them and rebuild (or MEASURE_MODE=files)"
        ef_note "earlyflow.so's built-ins give the same $(wc -l <"$d/gen$hs/verdicts.tsv") verdicts as $out/models/*.safetensors"
    else
        run_capture "$d/earlyflow.yaml" "$out/gen/$hs/g$hs.pcap" "$d/gen$hs"
    fi
    for k in $KS; do
        awk -v k="$k" -v floor=0 -f "$here/lib/check_run.awk" "$out/gen/$hs/truth.csv" \
            "$d/gen$hs/verdicts.tsv" >"$d/gen$hs/check_k$k" 2>&1 || true
    done
    printf 'capture\tcategory\tk\tattack_flows\ttagged_attack\tright_category\ttagged_attack_s90\tright_category_s90\n' >"$d/attack.tsv"
    printf 'capture\tk\tflows\ttagged_attack\ttagged_attack_s90\n' >"$d/benign.tsv"
    local path label name cat
    while IFS=$'\t' read -r path label _; do
        name=$(capname "$path")
        cat=$(category_of "$label")
        run_capture "$d/earlyflow.yaml" "$data/$path" "$d/$name"
        if [ "$cat" = Unlabeled ]; then
            score_benign "$d/$name/verdicts.tsv" | awk -v c="$name" '{ printf "%s\t%s\t%s\t%s\t%s\n", c, $1, $2, $3, $4 }' >>"$d/benign.tsv"
        else
            score_attack "$out/real/labels/${name}_anomalous_suspicious.csv" "$d/$name/verdicts.tsv" "$cat" |
                awk -v c="$name" -v cat="$cat" '{ printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c, cat, $1, $2, $3, $4, $5, $6 }' >>"$d/attack.tsv"
        fi
    done < <(captures holdout)
    measure_summary | tee "$d/summary.txt" >&2
}

# measure_summary: the headline figures per k
measure_summary() {
    local d=$out/measure hs=${GEN_HOLDOUT%% *}
    awk -F'\t' '
        FNR == 1 { file++; next }
        file == 1 {
            caps[$3]++
            if ($4 > 0 && $5 / $4 > 0.5) major[$3]++
            if ($4 > 0 && $6 / $4 > 0.5) rmaj[$3]++
            if ($4 > 0 && $7 / $4 > 0.5) major9[$3]++
            fl[$3] += $4; tg[$3] += $5; rt[$3] += $6; tg9[$3] += $7
            next
        }
        { bn[$2] += $3; bt[$2] += $4; bt9[$2] += $5 }
        END {
            print "held-out real captures (earlyflow run, built-in models):"
            print "  k   attack captures with >50% of attack flows tagged attack (right category)   attack flows tagged attack (right)   benign flows tagged attack"
            split("3 5 10 20", K, " ")
            for (i = 1; i <= 4; i++) {
                k = K[i]
                printf "  %-3s %d/%d = %.0f%% (%d/%d)%37s %d/%d = %.1f%% (%.1f%%)%9s %d/%d = %.2f%%\n", k,
                    major[k], caps[k], 100 * major[k] / caps[k], rmaj[k], caps[k], "",
                    tg[k], fl[k], 100 * tg[k] / fl[k], 100 * rt[k] / fl[k], "",
                    bt[k], bn[k], bn[k] ? 100 * bt[k] / bn[k] : 0
            }
            print "  the same, counting only verdicts with score >= 0.9 (early.score:>=0.9 in a rule):"
            for (i = 1; i <= 4; i++) {
                k = K[i]
                printf "  %-3s %d/%d captures, attack flows %d/%d = %.1f%%, benign flows %d/%d = %.2f%%\n", k,
                    major9[k], caps[k], tg9[k], fl[k], 100 * tg9[k] / fl[k],
                    bt9[k], bn[k], bn[k] ? 100 * bt9[k] / bn[k] : 0
            }
        }' "$d/attack.tsv" "$d/benign.tsv"
    echo "held-out generated capture (seed $hs, earlyflow run):"
    for k in $KS; do
        awk -v k="$k" '$1 == "anomaly_right_share" { r = $2 } $1 == "anomaly_attack_share" { a = $2 }
            $1 == "benign_false_alarm_share" { b = $2 }
            END { printf "  k=%-3s anomaly flows right category %.1f%%, tagged attack %.1f%%; benign flows tagged attack %.2f%%\n", k, 100 * r, 100 * a, 100 * b }' \
            "$d/gen$hs/check_k$k"
    done
}

stage_cards() {
    . "$here/builtin/cards.sh"
    write_cards
}
