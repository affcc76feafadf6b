# check_run.awk -v k=K -v floor=F TRUTH.csv VERDICTS.tsv: earlyflow run's
# verdicts at k (tools/lib/eve_early.awk output) against the generator's
# ground truth (gen --truth). Every flow the host saw gets exactly one verdict
# at k (at its k-th packet, or at its end from its prefix when shorter).
# Reports, per category, how many truth flows got a verdict and how many of
# those carry the right label; for anomaly flows also how many were tagged
# with any attack category; for benign flows how many were tagged as an
# attack. Exit status 1 when an anomaly flow has no verdict or several, when
# a verdict names a flow the generator did not make, or when the share of
# anomaly flows with the right label is below floor.
function key(p, c, cp, s, sp) {
    if (p != 6 && p != 17) { cp = ""; sp = "" }
    return p "|" c "|" cp "|" s "|" sp
}
BEGIN { FS = ","; bad = 0 }
FNR == 1 { file++; if (file == 2) FS = "\t"; if (file == 1) next }
file == 1 {
    truth[key($6, $7, $8, $9, $10)] = $2
    rk = key($6, $9, $10, $7, $8)
    if (!(rk in truth)) rtruth[rk] = $2
    n[$2]++
    next
}
$6 != k { next }
{
    kk = key($1, $2, $3, $4, $5)
    t = (kk in truth) ? truth[kk] : ((kk in rtruth) ? rtruth[kk] : "")
    if (t == "") { if (++unknown <= 5) printf "  verdict for flow %s, which was not generated\n", kk; bad++; next }
    verdicts++
    if (t != "Unlabeled") {
        if (kk in got) { printf "  anomaly flow %s got several verdicts at k=%d\n", kk, k; bad++; next }
        got[kk] = 1
        seen[t]++
        if ($7 == t) right[t]++
        if ($7 != "Unlabeled") attack[t]++
        aflows++; aright += ($7 == t); aattack += ($7 != "Unlabeled")
    } else {
        bverd++
        seen[t]++
        if ($7 == t) right[t]++
        if ($7 != "Unlabeled") bfp++
    }
}
END {
    for (kk in truth) if (truth[kk] != "Unlabeled" && !(kk in got)) {
        if (++missing <= 5) printf "  anomaly flow %s (%s) got no verdict at k=%d\n", kk, truth[kk], k
        bad++
    }
    split("Unlabeled HTTP Multi Alpha NetworkScan PortScan DoS IPv6Tunnel Other", order, " ")
    printf "  %-12s %8s %8s %8s %8s\n", "category", "flows", "verdicts", "right", "attack"
    for (i = 1; i <= 9; i++) {
        c = order[i]
        if (!(c in n)) continue
        printf "  %-12s %8d %8d %8d %8s\n", c, n[c], seen[c], right[c], c == "Unlabeled" ? bfp " (false alarms)" : attack[c] + 0
    }
    share = aflows ? aright / aflows : 0
    printf "anomaly_flows %d\nanomaly_right %d\nanomaly_right_share %.4f\nanomaly_attack_share %.4f\nbenign_verdicts %d\nbenign_false_alarm_share %.4f\nunknown_verdicts %d\nmissing_verdicts %d\n",
        aflows, aright, share, aflows ? aattack / aflows : 0, bverd, bverd ? bfp / bverd : 0, unknown, missing
    if (share < floor) { printf "  only %.4f of anomaly flows got the right label (floor %.2f)\n", share, floor; bad++ }
    exit bad > 0
}
