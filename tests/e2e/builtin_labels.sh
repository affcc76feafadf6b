#!/usr/bin/env bash
# tools/lib/select_attack.awk, the runtime label files of tools/train-builtin.sh,
# on a capture whose truth is known (earlyflow gen --truth):
#   host   on a capture of port scans and some benign traffic, picks the
#          scanner and labels its flows, and no benign flow that does not
#          involve it; joined by `earlyflow collect --labels`, every selected
#          flow gets the category and only those;
#   heavy  picks the flows with >= 10 % of the packets;
#   all    every flow;
#   an unknown selector and an empty flow file are errors.
set -u
bin=${EF_BIN:?EF_BIN not set}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR not set}
sel=$src/tools/lib/select_attack.awk
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ef-builtin-labels-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# port scans (one scanner, one target each) dominating a little benign traffic, so
# that the address in the most flows is a scan's (as in the real attack captures)
"$bin" gen -o "$tmp/c.pcap" --labels "$tmp/gen.csv" --truth "$tmp/truth.csv" --seed 5 \
    --flows 400 --duration 20 --mix benign=30,PortScan=70 --snaplen 96 -q || { echo "FAIL: gen"; exit 1; }
"$bin" collect -r "$tmp/c.pcap" --label Unlabeled -k 20 --pad --extended --no-ndpi -o "$tmp/all" \
    --name c >/dev/null 2>&1 || { echo "FAIL: collect"; exit 1; }
flows=$tmp/all/c_K_20.csv

# ---- host -----------------------------------------------------------------------
awk -v selector=host -v code=poscaSYN -v name=c -f "$sel" "$flows" >"$tmp/host.csv" 2>"$tmp/host.why" ||
    fail "host selector failed: $(cat "$tmp/host.why")"
host=$(sed -n 's/.*: host \([^ ]*\) (in .*/\1/p' "$tmp/host.why")
[ -n "$host" ] || fail "host selector names no host: $(cat "$tmp/host.why")"
# it is the address in the most flows (as client or server), computed here
busiest=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { a = $(c["src_ip"]); b = $(c["dst_ip"]); n[a]++; if (b != a) n[b]++ }
    END { for (h in n) if (n[h] > m) { m = n[h]; w = h } print w }' "$flows")
[ "$host" = "$busiest" ] || fail "host selector picked $host, the busiest address is $busiest"
[ "$(head -n1 "$tmp/host.csv")" = "anomalyID,srcIP,srcPort,dstIP,dstPort,taxonomy,heuristic,distance,nbDetectors,label" ] ||
    fail "label file header: $(head -n1 "$tmp/host.csv")"
# the host is a port scan's scanner or target in the truth
awk -F, -v h="$host" '$2 == "PortScan" && ($7 == h || $9 == h) { found = 1 } END { exit !found }' "$tmp/truth.csv" ||
    fail "host $host is in no PortScan flow of the truth"
# every row involves the host; every row is a flow of the capture
awk -F, -v h="$host" 'NR > 1 && $2 != h && $4 != h { bad++ } END { exit bad > 0 }' "$tmp/host.csv" ||
    fail "a label row does not involve $host"
rows=$(($(wc -l <"$tmp/host.csv") - 1))
[ "$rows" -ge 20 ] || fail "host selector wrote only $rows rows"
# joined by collect: exactly the listed flows get PortScan
"$bin" collect -r "$tmp/c.pcap" --labels "$tmp/host.csv" -k 20 --pad --extended --no-ndpi -o "$tmp/j" \
    --name c >/dev/null 2>"$tmp/j.log" || fail "collect with the runtime label file: $(tail -2 "$tmp/j.log")"
awk -F, -v h="$host" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    {
        inv = ($(c["src_ip"]) == h || $(c["dst_ip"]) == h)
        lab = $(c["taxonomy label"])
        if (lab == "PortScan" && !inv) { print "labelled flow without the host: " $0; bad++ }
        if (lab == "PortScan") n++
    }
    END { if (n < 20) { print "only " n " PortScan flows"; bad++ } exit bad > 0 }' "$tmp/j/c_K_20.csv" >"$tmp/j.check" ||
    fail "joined labels: $(head -3 "$tmp/j.check")"
# every PortScan flow of the truth that involves the host is labelled, except
# probes of infrastructure ports (DNS, DHCP, NTP, NetBIOS, ...), which the
# selector leaves out unless they are the anomaly's own port
want=$(awk -F, -v h="$host" 'BEGIN { split("53 67 68 123 137 138 1900 5353 5355", p, " "); for (i in p) infra[p[i]] = 1 }
    $2 == "PortScan" && ($7 == h || $9 == h) && !($8 in infra || $10 in infra) { n++ } END { print n + 0 }' "$tmp/truth.csv")
got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $(c["taxonomy label"]) == "PortScan" { n++ } END { print n + 0 }' "$tmp/j/c_K_20.csv")
[ "$got" -ge "$want" ] || fail "truth has $want PortScan flows of $host, the join labelled $got"

# ---- heavy: flows with >= 10 % of the packets ---------------------------------
awk -v selector=heavy -v code=alphfl -v name=c -f "$sel" "$flows" >"$tmp/heavy.csv" 2>"$tmp/heavy.why" ||
    fail "heavy selector failed"
want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { p[NR] = $(c["flow_pkts"]); t += p[NR] }
    END { for (r in p) if (p[r] >= 0.1 * t) n++; print n + 0 }' "$flows")
got=$(sed -n 's/.*: \([0-9]*\) of [0-9]* flows selected.*/\1/p' "$tmp/heavy.why")
[ "$got" = "$want" ] || fail "heavy selected ${got:-?} flows, $want hold >= 10 % of the packets"

# ---- all ------------------------------------------------------------------------
awk -v selector=all -v code=ptmp -v name=c -f "$sel" "$flows" >/dev/null 2>"$tmp/all.why" || fail "all selector failed"
n=$(($(wc -l <"$flows") - 1))
grep -q ": $n of $n flows selected" "$tmp/all.why" || fail "all: $(cat "$tmp/all.why") (want $n of $n)"

# ---- errors -------------------------------------------------------------------------
awk -v selector=bogus -v code=x -v name=c -f "$sel" "$flows" >/dev/null 2>"$tmp/e" && fail "unknown selector accepted"
grep -q "unknown selector 'bogus'" "$tmp/e" || fail "unknown selector message: $(cat "$tmp/e")"
head -n1 "$flows" >"$tmp/empty.csv"
awk -v selector=host -v code=x -v name=empty -f "$sel" "$tmp/empty.csv" >/dev/null 2>"$tmp/e" && fail "empty flow file accepted"
grep -q "empty: no flows" "$tmp/e" || fail "empty file message: $(cat "$tmp/e")"

[ $fails -eq 0 ] || exit 1
echo "builtin_labels: host $host, $rows label rows; heavy and all selectors; errors"
