# eve_early.awk: earlyflow's EVE JSON lines -> one tab-separated line per
# `early` event: proto src sport dst dport k label score packets at_flow_end.
# proto is the IP protocol number (EVE writes Suricata's names); ports are
# empty for protocols without ports, as in collect's CSV and gen's truth
# (after tools/lib keys), so the three join on the same key.
# It reads the one-object-per-line layout earlyflow's EVE writer produces
# (docs/eve.md); it is not a general JSON parser.
function jstr(s, key,    n) {
    n = length(key)
    if (match(s, "\"" key "\":\"[^\"]*\""))
        return substr(s, RSTART + n + 4, RLENGTH - n - 5)
    return ""
}
function jnum(s, key,    n) {
    n = length(key)
    if (match(s, "\"" key "\":-?[0-9][0-9.eE+-]*"))
        return substr(s, RSTART + n + 3, RLENGTH - n - 3)
    return ""
}
function protonum(p) {
    if (p == "TCP") return 6
    if (p == "UDP") return 17
    if (p == "ICMP") return 1
    if (p == "IPv6-ICMP") return 58
    if (p == "IPv6") return 41
    if (p == "IP-in-IP") return 4
    if (p == "GRE") return 47
    if (p == "SCTP") return 132
    return p
}
BEGIN { OFS = "\t" }
/"event_type":"early"/ {
    p = protonum(jstr($0, "proto"))
    sp = jnum($0, "src_port"); dp = jnum($0, "dest_port")
    e = $0; sub(/.*"early":\{/, "", e)
    fe = (e ~ /"at_flow_end":true/) ? 1 : 0
    print p, jstr($0, "src_ip"), sp, jstr($0, "dest_ip"), dp, jnum(e, "k"), jstr(e, "label"), jnum(e, "score"), jnum(e, "packets"), fe
}
