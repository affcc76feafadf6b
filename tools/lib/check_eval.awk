# check_eval.awk EVAL.json PREDICTIONS.csv: does earlyflow eval's JSON agree
# with its own --predictions? Recomputes, from the predictions alone, the
# confusion matrix, per-class support / predicted / precision / recall / F1,
# accuracy and macro-F1 (scikit-learn's definitions, as docs/training.md
# states), and compares each with the JSON (counts exactly, ratios within
# 1e-4). Prints "ok ..." or the disagreements; exit status 1 on any.
# It reads the layout earlyflow eval writes (one per_class object and one
# confusion row per line), not arbitrary JSON.
function absd(a, b) { return a > b ? a - b : b - a }
function num(s, key,    n) {
    n = length(key)
    if (match(s, "\"" key "\": *-?[0-9][0-9.eE+-]*")) { s = substr(s, RSTART + n + 3); sub(/^ */, "", s); return s + 0 }
    return ""
}
function str(s, key) {
    if (match(s, "\"" key "\": *\"[^\"]*\"")) { s = substr(s, RSTART, RLENGTH); sub(/^"[^"]*": *"/, "", s); sub(/"$/, "", s); return s }
    return ""
}
function problem(msg) { printf "  %s\n", msg; bad++ }
BEGIN { bad = 0; crow = 0; nj = 0 }
FNR == 1 { file++ }
file == 1 {
    if ($0 ~ /^  "scored":/) jscored = num($0, "scored")
    if ($0 ~ /^  "accuracy":/) jacc = num($0, "accuracy")
    if ($0 ~ /^  "macro_f1":/) jmacro = num($0, "macro_f1")
    if ($0 ~ /^  "confusion":/) inconf = 1
    if ($0 ~ /"label":/ && $0 ~ /"support":/) {
        c = nj++
        jlab[c] = str($0, "label"); jsup[c] = num($0, "support"); jpred[c] = num($0, "predicted")
        jp[c] = num($0, "precision"); jr[c] = num($0, "recall"); jf[c] = num($0, "f1")
        jin[c] = ($0 ~ /"in_macro": *true/)
        idx[jlab[c]] = c
        next
    }
    if (inconf && $0 ~ /^ *\[[0-9]/) {
        s = $0; gsub(/[^0-9,]/, "", s)
        m = split(s, v, ",")
        for (j = 1; j <= m; j++) jconf[crow, j - 1] = v[j] + 0
        crow++
    }
    if (inconf && $0 ~ /^  \]/) inconf = 0
    next
}
FNR == 1 {   # predictions header: row,true,predicted,p_<label>...
    if ($0 !~ /^row,true,predicted,p_/) problem("predictions header is '" $0 "'")
    FS = ","
    next
}
{
    split($0, f, ",")
    if (!(f[2] in idx)) { unscored++; next }
    if (!(f[3] in idx)) { problem("row " f[1] ": predicted label '" f[3] "' is not a model class"); next }
    # the predicted class must be the most probable one (ties: the first)
    best = 4
    for (j = 5; j <= nj + 3; j++) if (f[j] + 0 > f[best] + 0) best = j
    if (best - 4 != idx[f[3]] && f[best] + 0 > f[4 + idx[f[3]]] + 0)
        if (++argmax <= 3) problem("row " f[1] ": predicted " f[3] " but " jlab[best - 4] " has the higher probability")
    conf[idx[f[2]], idx[f[3]]]++
    n++
}
END {
    if (n != jscored) problem(sprintf("JSON scores %d rows, predictions hold %d scored rows", jscored, n))
    if (crow != nj) problem(sprintf("JSON confusion has %d rows for %d classes", crow, nj))
    correct = 0; sumf = 0; present = 0
    for (a = 0; a < nj; a++) {
        sup = 0; pr = 0
        for (b = 0; b < nj; b++) {
            if (conf[a, b] + 0 != jconf[a, b]) problem(sprintf("confusion[%s][%s]: JSON %d, predictions %d", jlab[a], jlab[b], jconf[a, b], conf[a, b]))
            sup += conf[a, b]; pr += conf[b, a]
        }
        correct += conf[a, a]
        p = pr ? conf[a, a] / pr : 0
        r = sup ? conf[a, a] / sup : 0
        f1 = (p + r) ? 2 * p * r / (p + r) : 0
        if (sup != jsup[a]) problem(sprintf("%s: support JSON %d, predictions %d", jlab[a], jsup[a], sup))
        if (pr != jpred[a]) problem(sprintf("%s: predicted JSON %d, predictions %d", jlab[a], jpred[a], pr))
        if (absd(p, jp[a]) > 1e-4 || absd(r, jr[a]) > 1e-4 || absd(f1, jf[a]) > 1e-4)
            problem(sprintf("%s: P/R/F1 JSON %.4f/%.4f/%.4f, predictions %.4f/%.4f/%.4f", jlab[a], jp[a], jr[a], jf[a], p, r, f1))
        if (sup + pr > 0) { sumf += f1; present++ }
        if ((sup + pr > 0) != jin[a]) problem(jlab[a] ": in_macro disagrees")
    }
    acc = n ? correct / n : 0
    macro = present ? sumf / present : 0
    if (absd(acc, jacc) > 1e-4) problem(sprintf("accuracy JSON %.6f, predictions %.6f", jacc, acc))
    if (absd(macro, jmacro) > 1e-4) problem(sprintf("macro-F1 JSON %.6f, predictions %.6f", jmacro, macro))
    if (!bad) printf "  ok: %d scored rows (%d unscored), accuracy %.4f, macro-F1 %.4f agree with the JSON\n", n, unscored, acc, macro
    exit bad > 0
}
