#!/usr/bin/env bash
# earlyflow gen -> earlyflow collect: collect's MAWILab join labels every
# flow of a generated capture with the category the generator made it with
# (read from gen --truth), also under network dynamics; anomaly flows match
# forward (rule source = flow client) and are not split by the 1 s timeout.
set -u
bin=${EF_BIN:?EF_BIN not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

check() { # check NAME GEN-OPTIONS...
    local name=$1
    shift
    "$bin" gen -o "$tmp/$name.pcap" --labels "$tmp/${name}_anomalous_suspicious.csv" \
        --truth "$tmp/$name.truth" --flows 1500 --duration 20 --snaplen 96 -q "$@" ||
        fail "$name: gen failed"
    "$bin" collect -r "$tmp/$name.pcap" --labels "$tmp/${name}_anomalous_suspicious.csv" \
        -o "$tmp/$name" -k 3 --pad --extended --no-ndpi 2>"$tmp/$name.log" ||
        fail "$name: collect failed: $(cat "$tmp/$name.log")"
    # truth: flow_id,category,anomalyID,taxonomy,shape,proto,client,client_port,server,server_port,...
    # rows:  ...,c2s,taxonomy label(8),flow_id,proto(10),src_ip,src_port,dst_ip,dst_port(14),...,mawilab_dir(last)
    awk -F, -v name="$name" '
        FNR == 1 { next }
        FILENAME ~ /truth$/ {
            cp = $8; sp = $10
            if ($6 != 6 && $6 != 17) { cp = ""; sp = "" }
            cat[$6 "|" $7 "|" cp "|" $9 "|" sp] = $2
            cat[$6 "|" $9 "|" sp "|" $7 "|" cp] = $2   # a fragment may start from the server
            if ($2 != "Unlabeled") anomalies++
            next
        }
        {
            rows++
            k = $10 "|" $11 "|" $12 "|" $13 "|" $14
            if (!(k in cat)) { printf "%s: collected flow %s not generated\n", name, k; bad++; next }
            if (cat[k] != $8) { printf "%s: flow %s labelled %s, generated as %s\n", name, k, $8, cat[k]; bad++ }
            if ($8 != "Unlabeled") {
                labelled++
                if ($NF != "fwd") { printf "%s: anomaly flow %s matched %s\n", name, k, $NF; bad++ }
            }
        }
        END {
            if (labelled != anomalies) { printf "%s: %d anomaly flows generated, %d labelled\n", name, anomalies, labelled; bad++ }
            if (rows < 1000) { printf "%s: only %d rows\n", name, rows; bad++ }
            printf "%s: %d rows, %d anomaly flows, %d mismatches\n", name, rows, labelled, bad
            exit bad > 0
        }' "$tmp/$name.truth" "$tmp/$name/${name}_K_3.csv" || fail "$name: labels disagree"
}

check clean --seed 2
check dynamics --seed 3 --loss 0.05 --dup 0.02 --reorder 0.1 --one-way 0.3 --jitter 1
echo ok
