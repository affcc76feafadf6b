# check_collect.awk TRUTH.csv DATA_K_k.csv (collect --extended --pad output):
# collect's labels against the generator's ground truth (gen --truth).
#   - every anomaly flow of the truth is one row with its category, and the
#     rows of each anomaly category are exactly the truth's flows of it;
#   - every benign flow of the truth appears, and only as Unlabeled (collect's
#     1 s idle timeout may cut a long benign flow into several rows: all of
#     them must be Unlabeled);
#   - no row is a flow the generator did not make.
# Prints one "category truth rows" line per category, then "ok" or the
# problems; exit status 1 on any problem.
# Keys: proto|client|client_port|server|server_port, ports only for TCP/UDP.
function key(p, c, cp, s, sp) {
    if (p != 6 && p != 17) { cp = ""; sp = "" }
    return p "|" c "|" cp "|" s "|" sp
}
BEGIN { FS = ","; bad = 0 }
FNR == 1 {
    file++
    if (file == 2) for (i = 1; i <= NF; i++) col[$i] = i
    next
}
file == 1 {   # truth: flow_id,category,anomalyID,taxonomy,shape,proto,client,client_port,server,server_port,...
    k = key($6, $7, $8, $9, $10)
    truth[k] = $2
    rk = key($6, $9, $10, $7, $8)       # a benign fragment may start from the server
    if (!(rk in truth)) rtruth[rk] = $2
    ntruth[$2]++
    cats[$2] = 1
    next
}
{
    k = key($(col["proto"]), $(col["src_ip"]), $(col["src_port"]), $(col["dst_ip"]), $(col["dst_port"]))
    lab = $(col["taxonomy label"])
    rows++
    cats[lab] = 1
    t = (k in truth) ? truth[k] : ((k in rtruth) ? rtruth[k] : "")
    if (t == "") {
        if (++unknown <= 5) printf "  row %d: flow %s (%s) was not generated\n", FNR, k, lab
        bad++
        next
    }
    if (t != lab) {
        if (++wrong <= 5) printf "  row %d: flow %s labelled %s, generated as %s\n", FNR, k, lab, t
        bad++
    }
    if (lab != "Unlabeled") {
        if (k in seen) { printf "  flow %s (%s) is split into several rows\n", k, lab; bad++ }
        seen[k] = 1
    }
    nrows[lab]++
    if (lab == "Unlabeled") benign_seen[k] = 1
}
END {
    for (k in truth) if (truth[k] == "Unlabeled" && !(k in benign_seen)) {
        if (++missing <= 5) printf "  benign flow %s has no row\n", k
        bad++
    }
    for (c in cats) {
        printf "  %-12s truth %7d  rows %7d\n", c, ntruth[c], nrows[c]
        if (c != "Unlabeled" && ntruth[c] != nrows[c]) bad++
        if (c == "Unlabeled" && nrows[c] < ntruth[c]) bad++
    }
    printf "  %d rows; %d problems (unknown flows %d, wrong labels %d, benign missing %d)\n",
        rows, bad, unknown, wrong, missing
    exit bad > 0
}
