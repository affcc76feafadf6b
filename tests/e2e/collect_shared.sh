#!/bin/bash
# `earlyflow collect` over every capture in ../shared/data (skipped when the
# folder is absent): no crash, no hang; a capture is either collected (its
# packets, flows and malformed packets are printed) or refused with one line
# naming it. Then: the real MAWILab label file parses and joins, one run over
# all folders with --keep-going completes, and the output is byte-identical
# when run twice.
set -u
SHARED=${EF_SHARED_DATA:-}
if [ -z "$SHARED" ] || [ ! -d "$SHARED" ]; then
    echo "skip: shared data folder absent (${SHARED:-unset})"
    exit 77
fi
: "${EF_BIN:?}" "${EF_TESTTOOL:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; status=1; }
status=0

# Field count of every CSV row must equal the header's (rows with quoted
# fields are skipped: a quoted comma would fool awk).
check_csv() {
    awk -F, 'NR == 1 { n = NF; next } /"/ { next } NF != n { print FILENAME ":" NR ": " NF " fields, header has " n; bad = 1 }
             END { exit bad }' "$1"
}

printf '%-60s %9s %8s %9s %7s\n' "capture" "packets" "flows" "malformed" "rows_k3"
n=0
refused=0
while IFS= read -r f; do
    n=$((n + 1))
    rel=${f#"$SHARED"/}
    out="$work/o$n"
    timeout 120 "$EF_BIN" collect -r "$f" -o "$out" --name c -k 3,5 --extended \
        >/dev/null 2>"$work/err"
    rc=$?
    case $rc in
    0)
        # The per-input row of the summary: path packets not-IP malformed flows.
        read -r pk _nip mal fl < <(awk -v f="$f" '$1 == f { print $2, $3, $4, $5 }' "$work/err")
        rows=$(($(wc -l < "$out/c_K_3.csv") - 1))
        printf '%-60s %9s %8s %9s %7s\n' "$rel" "${pk:-?}" "${fl:-?}" "${mal:-?}" "$rows"
        [ -n "${pk:-}" ] || fail "$rel: no summary line for the input"
        check_csv "$out/c_K_3.csv" || fail "$rel: bad K_3 CSV"
        check_csv "$out/c_K_5.csv" || fail "$rel: bad K_5 CSV"
        [ "$(ls -A "$out" | wc -l)" = 2 ] || fail "$rel: unexpected files in output: $(ls -A "$out")"
        ;;
    1)
        refused=$((refused + 1))
        lines=$(wc -l < "$work/err")
        printf '%-60s refused: %s\n' "$rel" "$(head -c 200 "$work/err")"
        [ "$lines" = 1 ] || fail "$rel: refusal is $lines lines"
        grep -q "^earlyflow collect: $f: " "$work/err" || fail "$rel: refusal does not name the file"
        [ -z "$(ls -A "$out" 2>/dev/null)" ] || fail "$rel: refused but left files: $(ls -A "$out")"
        ;;
    124) fail "$rel: collect hung (killed after 120 s)" ;;
    *) fail "$rel: exit status $rc: $(head -c 300 "$work/err")" ;;
    esac
done < <(find "$SHARED" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
echo "$n captures, $refused refused"
[ "$n" -gt 0 ] || fail "no captures found under $SHARED"

# The multi-interface pcapng that libpcap reads as zero packets is refused.
tr="$SHARED/misc-traceroute/cyanivde_traceroute.pcapng"
if [ -f "$tr" ]; then
    "$EF_BIN" collect -r "$tr" -o "$work/tr" --no-ndpi 2>"$work/err" && fail "$tr was not refused"
    echo "cyanivde_traceroute.pcapng: $(cat "$work/err")"
fi

# The real label file (9-field rows) joined against a capture.
labels="$SHARED/mawilab_labels/20191121_anomalous_suspicious.csv"
cap=$(find "$SHARED" -name dns.pcap | head -n1)
if [ -f "$labels" ] && [ -n "$cap" ]; then
    if "$EF_BIN" collect -r "$cap" --labels "$labels" -o "$work/lab" -k 3 --extended \
        2>"$work/err" >/dev/null; then
        grep -q "labels $labels: 245 rules, 173 anomalies (rows without heuristic)" "$work/err" ||
            fail "label summary: $(head -n1 "$work/err")"
        echo "real label file: $(grep 'labels ' "$work/err")"
    else
        fail "collect with the real label file: $(cat "$work/err")"
    fi
fi

# Every folder in one run, twice: completes, identical output.
dirs=()
for d in "$SHARED"/*/; do dirs+=(-r "$d"); done
for run in 1 2; do
    timeout 300 "$EF_BIN" collect "${dirs[@]}" -o "$work/all$run" --name all --extended \
        --keep-going >/dev/null 2>"$work/err$run"
    rc=$?
    [ $rc = 0 ] || fail "all-folders run $run: status $rc: $(tail -n 3 "$work/err$run")"
done
for k in 3 5 10 20; do
    cmp -s "$work/all1/all_K_$k.csv" "$work/all2/all_K_$k.csv" ||
        fail "all-folders K_$k differs between two identical runs"
done
grep -E '^  (total|malformed|flows:)' "$work/err1" | sed 's/^/all folders: /'

# The seed's loader reads columns by name: check the names and value types.
specs=()
for i in 1 2 3 4 5; do
    specs+=(--int "pktSize$i" 20 65535 --num "pktTime$i" 0 inf)
done
"$EF_TESTTOOL" csv-check "$work/all1/all_K_5.csv" "${specs[@]}" --int c2s 0 5 \
    --eq "taxonomy label" Unlabeled || fail "CSV not readable by name"
exit $status
