# tools/lib/common.sh: shell helpers shared by tools/pipeline.sh,
# tools/train-builtin.sh and tools/experiments.sh (sourced, not run).
# Needs: bash, awk (any POSIX awk; mawk is what Debian installs), coreutils.

EF_LABELS9=Unlabeled,HTTP,Multi,Alpha,NetworkScan,PortScan,DoS,IPv6Tunnel,Other
EF_LABELS4=Unlabeled,HTTP,Alpha,Multi

ef_die() {
    printf '%s: error: %s\n' "${EF_PROG:-earlyflow-tools}" "$*" >&2
    exit 1
}

ef_note() {
    printf '%s: %s\n' "${EF_PROG:-earlyflow-tools}" "$*" >&2
}

# ef_find_bin ROOT: the earlyflow binary: $EF_BIN, else ROOT/build/earlyflow.
ef_find_bin() {
    local b=${EF_BIN:-$1/build/earlyflow}
    [ -x "$b" ] || ef_die "no earlyflow binary at $b (build first, or set EF_BIN / --bin)"
    printf '%s\n' "$b"
}

# ef_has_cmd EF CMD: does this earlyflow build have the command?
ef_has_cmd() {
    "$1" "$2" --help >/dev/null 2>&1
}

# ef_seed_header K [extended]: the dataset CSV header collect writes.
ef_seed_header() {
    local k=$1 j h=""
    for ((j = 1; j <= k; j++)); do h="${h}pktSize$j,"; done
    for ((j = 1; j <= k; j++)); do h="${h}pktTime$j,"; done
    h="${h}c2s,taxonomy label"
    [ "${2:-}" = extended ] &&
        h="$h,flow_id,proto,src_ip,src_port,dst_ip,dst_port,start_time,dirs,flow_pkts,end_reason,ndpi_proto,mawilab_code,mawilab_heuristic,mawilab_distance,mawilab_detectors,mawilab_label,mawilab_anomaly_id,mawilab_dir"
    printf '%s\n' "$h"
}

# ef_json_num FILE KEY: a top-level number of earlyflow eval's JSON.
ef_json_num() {
    awk -v key="\"$2\":" 'index($0, key) == 3 { v = $0; sub(/.*": */, "", v); sub(/,$/, "", v); print v; exit }' "$1"
}

# ef_macro_f1_from_log FILE: the "test: macro-F1 X" figure of a train log.
ef_test_f1_from_log() {
    awk '/^test: macro-F1/ { v = $3; sub(/,$/, "", v); print v; exit }' "$1"
}

# ef_elapsed START: seconds since START (from date +%s.%N), 1 decimal.
ef_elapsed() {
    awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}
