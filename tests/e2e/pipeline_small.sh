#!/usr/bin/env bash
# tools/pipeline.sh --small end to end (gen -> collect -> train -> eval -> run),
# then this test's own look at each stage's output, computed here
# independently of the pipeline's checks:
#   gen      both captures are pcaps that earlyflow reads whole, with packets
#            of every category (truth), and label files with rows whose
#            taxonomy codes name MAWILab categories;
#   collect  the CSV header, and collect's own per-label flow counts equal the
#            truth's for every anomaly category (benign: at least as many rows;
#            a 1 s idle timeout can cut a long benign flow in two);
#   train    a 9-class model file that loads;
#   eval     accuracy and per-class support in the JSON equal what the
#            predictions file gives; macro-F1 >= 0.45 (majority class: ~0.09);
#   run      one early verdict per flow at k = 5, from the trained model; most
#            anomaly flows (>= 50 %) get the generator's category.
# The pipeline's checkers must also reject tampered inputs.
set -u
bin=${EF_BIN:?EF_BIN not set}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR not set}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ef-pipeline-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

plugin_opt=()
[ -n "${EF_PLUGIN:-}" ] && plugin_opt=(--plugin "$EF_PLUGIN")
out=$tmp/p
if ! "$src/tools/pipeline.sh" --small --out "$out" --bin "$bin" "${plugin_opt[@]}" 2>"$tmp/log"; then
    cat "$tmp/log" >&2
    echo "FAIL: tools/pipeline.sh --small failed" >&2
    exit 1
fi
grep 'ok:' "$tmp/log"

cats="Unlabeled HTTP Multi Alpha NetworkScan PortScan DoS IPv6Tunnel Other"

# ---- gen: pcaps earlyflow reads whole, every category has packets ------------
for cap in train test; do
    [ "$(od -An -tx1 -N4 "$out/$cap.pcap" | tr -d ' \n')" = d4c3b2a1 ] || fail "$cap.pcap: not a little-endian pcap"
    wrote=$(awk '/ packets, / { print $2; exit }' "$out/$cap.gen.log")
    read=$(awk '/ input.*packets/ { print $(NF - 1); exit }' "$out/$cap.collect.log")
    [ -n "$wrote" ] && [ "$wrote" = "$read" ] || fail "$cap.pcap: gen wrote ${wrote:-?} packets, collect read ${read:-?}"
    for c in $cats; do
        p=$(awk -F, -v c="$c" '$2 == c { p += $13 } END { print p + 0 }' "$out/$cap.truth.csv")
        [ "$p" -gt 0 ] || fail "$cap: no packets of $c"
    done
    labels=$out/${cap}_anomalous_suspicious.csv
    [ "$(wc -l <"$labels")" -gt 10 ] || fail "$labels: too few rows"
    # every taxonomy code starts with a MAWILab prefix (docs/labels.md)
    bad=$(awk -F, 'NR > 1 { gsub(/ /, "", $6); if ($6 !~ /^(alphfl|ptmp|mptp|ntsc|dntsc|sntsc|posca|ptpposca|DoS|DDoS|ptpDoS|sptpDoS|distributed_dos|rflat|ipv46tun|ipv4gretun|ttl_error|icmp_error|hostout|netout|malphfl|salphfl)/) n++ } END { print n + 0 }' "$labels")
    [ "$bad" = 0 ] || fail "$labels: $bad rows with an unknown taxonomy code"
done

# ---- collect: header and collect's own per-label counts vs the truth ---------
hdr="pktSize1,pktSize2,pktSize3,pktSize4,pktSize5,pktTime1,pktTime2,pktTime3,pktTime4,pktTime5,c2s,taxonomy label,flow_id,"
[ "$(head -c ${#hdr} "$out/data/train_K_5.csv")" = "$hdr" ] || fail "train_K_5.csv header: $(head -n1 "$out/data/train_K_5.csv" | cut -c1-100)"
for cap in train test; do
    for c in $cats; do
        t=$(awk -F, -v c="$c" '$2 == c { n++ } END { print n + 0 }' "$out/$cap.truth.csv")
        # collect's summary table: "  LABEL  flows  K_5"
        r=$(awk -v c="$c" '$1 == c && NF == 3 { print $3 }' "$out/$cap.collect.log")
        if [ "$c" = Unlabeled ]; then
            [ "${r:-0}" -ge "$t" ] || fail "$cap: $c: $t benign flows generated, ${r:-0} rows"
        else
            [ "${r:-x}" = "$t" ] || fail "$cap: $c: $t flows generated, ${r:-no} rows"
        fi
    done
done

# ---- train: the model file ---------------------------------------------------
model=$out/model/bilstm_k5.safetensors
"$bin" model info "$model" >"$tmp/info" 2>&1 || fail "model info: $(cat "$tmp/info")"
grep -q '^classes: *9 ' "$tmp/info" || fail "model is not a 9-class model"

# ---- eval: JSON vs predictions -----------------------------------------------
acc_json=$(awk '/"accuracy":/ { v = $2; sub(/,/, "", v); print v; exit }' "$out/eval.json")
acc_pred=$(awk -F, 'NR > 1 { n++; if ($2 == $3) r++ } END { printf "%.6f", r / n }' "$out/predictions.csv")
awk -v a="$acc_json" -v b="$acc_pred" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' ||
    fail "eval accuracy $acc_json, predictions give $acc_pred"
for c in $cats; do
    sj=$(awk -v c="\"$c\"" 'index($0, "\"label\": " c ",") { s = $0; sub(/.*"support": /, "", s); sub(/,.*/, "", s); print s }' "$out/eval.json")
    sp=$(awk -F, -v c="$c" '$2 == c { n++ } END { print n + 0 }' "$out/predictions.csv")
    [ "$sj" = "$sp" ] || fail "eval support of $c: JSON ${sj:-none}, predictions $sp"
done
f1=$(awk '/"macro_f1":/ { v = $2; sub(/,/, "", v); print v; exit }' "$out/eval.json")
awk -v f="$f1" 'BEGIN { exit !(f >= 0.45) }' || fail "macro-F1 $f1 < 0.45"

# ---- run: one verdict per flow, mostly the right category --------------------
flows=$(awk '$1 == "flows" { print $2; exit }' "$out/run/summary.txt")
early=$(grep -c '"event_type":"early"' "$out/run/eve.json")
[ "$early" = "$flows" ] || fail "run: $flows flows but $early early verdicts"
[ "$(grep -c '"model":"bilstm_k5"' "$out/run/eve.json")" = "$early" ] || fail "run: verdicts not all from bilstm_k5"
share=$(awk -F, '
    FNR == NR { if (NR > 1 && $2 != "Unlabeled") { p = ($6 == 6 || $6 == 17); cat[$7 " " (p ? $8 : "") " " $9 " " (p ? $10 : "")] = $2; n++ }; next }
    /"event_type":"early"/ {
        s = $0; ip = s; sub(/.*"src_ip":"/, "", ip); sub(/".*/, "", ip)
        dip = s; sub(/.*"dest_ip":"/, "", dip); sub(/".*/, "", dip)
        sp = ""; dp = ""
        if (s ~ /"src_port":/) { sp = s; sub(/.*"src_port":/, "", sp); sub(/,.*/, "", sp); dp = s; sub(/.*"dest_port":/, "", dp); sub(/,.*/, "", dp) }
        lab = s; sub(/.*"early":\{"label":"/, "", lab); sub(/".*/, "", lab)
        key = ip " " sp " " dip " " dp
        if (key in cat && cat[key] == lab) right++
    }
    END { printf "%.4f", right / n }' "$out/test.truth.csv" "$out/run/eve.json")
awk -v s="$share" 'BEGIN { exit !(s >= 0.5) }' || fail "run: only $share of anomaly flows got their category"
echo "run: $share of the anomaly flows got their category"

# ---- the checkers reject tampered outputs ------------------------------------
lib=$src/tools/lib
awk -F, 'NR == 2 { $2 = ($2 == "DoS") ? "HTTP" : "DoS" } { print }' OFS=, "$out/test.truth.csv" >"$tmp/truth-bad"
awk -f "$lib/check_collect.awk" "$tmp/truth-bad" "$out/data/test_K_5.csv" >"$tmp/c" 2>&1 &&
    fail "check_collect.awk accepted a truth file with a changed category"
awk -F, 'NR == 2 { $3 = ($3 == "Unlabeled") ? "HTTP" : "Unlabeled" } { print }' OFS=, "$out/predictions.csv" >"$tmp/pred-bad"
awk -f "$lib/check_eval.awk" "$out/eval.json" "$tmp/pred-bad" >"$tmp/c" 2>&1 &&
    fail "check_eval.awk accepted a changed prediction"
awk -f "$lib/eve_early.awk" "$out/run/eve.json" | awk -F'\t' 'BEGIN { OFS = "\t" } { $7 = "Unlabeled"; print }' >"$tmp/v-bad"
awk -v k=5 -v floor=0.5 -f "$lib/check_run.awk" "$out/test.truth.csv" "$tmp/v-bad" >"$tmp/c" 2>&1 &&
    fail "check_run.awk accepted verdicts that miss every anomaly"
"$src/tools/pipeline.sh" --bogus >"$tmp/c" 2>&1 && fail "pipeline.sh accepted an unknown option"
grep -q "unknown option '--bogus'" "$tmp/c" || fail "pipeline.sh --bogus: $(cat "$tmp/c")"
"$src/tools/pipeline.sh" --k 7 >"$tmp/c" 2>&1 && fail "pipeline.sh accepted --k 7"

[ $fails -eq 0 ] || exit 1
echo "pipeline_small: all stage outputs check"
