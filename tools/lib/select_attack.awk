# select_attack.awk -v selector=S -v code=C -v name=N FLOWS.csv > LABELS.csv
# Writes a MAWILab-format label file naming the attack flows of one attack
# capture, from collect's --extended --pad output of that capture (every flow
# of the capture is one row). The label file is then joined by
# `earlyflow collect --labels` like a real MAWILab day.
#
# Selectors (docs/builtin-models.md, "Labels for real captures"):
#   host   the attack host A is the address that takes part in the most flows
#          (as client or server): the scanner of a scan, the victim of a flood
#          or reflection, the hub of a P2P swarm. Its flows are the attack,
#          except flows to or from infrastructure services (DNS 53, DHCP 67/68,
#          NTP 123, NetBIOS 137/138, SSDP 1900, mDNS 5353, LLMNR 5355) unless
#          that port is the anomaly's own (the most common server port of A's
#          flows, either side). Ties: the address seen first.
#   heavy  flows holding at least 10 % of the capture's packets (alpha flows:
#          the bulk transfers, not their control connections).
#   all    every flow of the capture.
# Every selected flow gets one row with its exact addresses and, for TCP and
# UDP, ports (`id,client,cport,server,sport,code,,,,anomalous`): the file
# lists exactly the flows chosen, nothing broader. Flows not selected stay
# unlabelled; train-builtin.sh leaves them out of training.
# A summary goes to stderr.
BEGIN {
    FS = ","
    split("53 67 68 123 137 138 1900 5353 5355", tmp, " ")
    for (i in tmp) infra[tmp[i]] = 1
}
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    n++
    p[n] = $(col["proto"]); c[n] = $(col["src_ip"]); cp[n] = $(col["src_port"])
    s[n] = $(col["dst_ip"]); sp[n] = $(col["dst_port"]); pk[n] = $(col["flow_pkts"]) + 0
    total += pk[n]
    if (!(c[n] in cnt)) order[++na] = c[n]
    cnt[c[n]]++
    if (s[n] != c[n]) {
        if (!(s[n] in cnt)) order[++na] = s[n]
        cnt[s[n]]++
    }
}
function ported(i) { return p[i] == 6 || p[i] == 17 }
function infra_flow(i) { return ported(i) && (cp[i] in infra || sp[i] in infra) && cp[i] != own && sp[i] != own }
END {
    if (n == 0) { print name ": no flows" > "/dev/stderr"; exit 1 }
    if (selector == "host") {
        for (j = 1; j <= na; j++) if (cnt[order[j]] > best) { best = cnt[order[j]]; A = order[j] }
        # the anomaly's own port: the port most common among A's flows (either
        # side: a scan's target port, a flood's victim port, a reflector's service)
        for (i = 1; i <= n; i++) if ((c[i] == A || s[i] == A) && ported(i)) {
            if (++pc[sp[i]] > pbest) { pbest = pc[sp[i]]; own = sp[i] }
            if (cp[i] != sp[i] && ++pc[cp[i]] > pbest) { pbest = pc[cp[i]]; own = cp[i] }
        }
        for (i = 1; i <= n; i++) sel[i] = (c[i] == A || s[i] == A) && !infra_flow(i)
        why = "host " A " (in " best " of " n " flows)"
    } else if (selector == "heavy") {
        for (i = 1; i <= n; i++) sel[i] = pk[i] >= 0.1 * total
        why = "flows with >= 10% of " total " packets"
    } else if (selector == "all") {
        for (i = 1; i <= n; i++) sel[i] = 1
        why = "every flow"
    } else {
        print name ": unknown selector '" selector "'" > "/dev/stderr"; exit 1
    }
    print "anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,heuristic,distance,nbDetectors,label"
    for (i = 1; i <= n; i++) {
        if (!sel[i]) continue
        key = ported(i) ? c[i] "," cp[i] "," s[i] "," sp[i] : c[i] ",," s[i] ","
        if (key in done) continue
        done[key] = 1
        print "0," key "," code ",,,,anomalous"
        rows++; chosen++
    }
    for (i = 1; i <= n; i++) nsel += sel[i]
    printf "%s: %s: %d of %d flows selected, %d label rows\n", name, why, nsel, n, rows > "/dev/stderr"
}
