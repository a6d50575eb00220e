#!/bin/sh
# bench_kafka.sh SIZE_MB -- consumption throughput of `pycorr consume` (full analysis)
# beside `kcat -C` reading the same topic to /dev/null, both from librdkafka's mock
# cluster (tests/tools/mock_cluster) on loopback. Called by bench.sh; reports, exits 0.
#
# The mock cluster keeps about 5 MB per partition (older messages are dropped), so the
# input is capped at KAFKA_BENCH_MB (default 64, at most SIZE) spread over 24
# partitions; the number of messages actually in the topic is counted and used.
# pycorr's rate runs from its first message to its last (its own summary line), so
# the consumer-group join, which kcat -C does not do, is left out; kcat's is its whole
# run. Messages are keyed by trace id (DESIGN §6). Target: pycorr at least half of
# kcat's rate.
#
# Environment: PYCORR, TOOLS (gen_bench, rusage_run, mock_cluster), BENCH_REPEAT,
# BENCH_SEED, KAFKA_BENCH_MB, TMPDIR.
set -eu
LC_ALL=C
export LC_ALL

SIZE=${1:-256}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYCORR=${PYCORR:-$ROOT/pycorr}
TOOLS=${TOOLS:-$ROOT/build/tools}
REPEAT=${BENCH_REPEAT:-3}
SEED=${BENCH_SEED:-1}
MB=${KAFKA_BENCH_MB:-64}
[ "$MB" -gt "$SIZE" ] && MB=$SIZE
PARTS=24

echo
echo "kafka: pycorr consume vs kcat -C"
if ! command -v kcat >/dev/null 2>&1; then
    echo "  [SKIP] kcat is not installed (apt-get install kcat)"
    exit 0
fi
for t in "$TOOLS/gen_bench" "$TOOLS/rusage_run" "$TOOLS/mock_cluster" "$PYCORR"; do
    if [ ! -x "$t" ]; then
        echo "  [SKIP] $t not found (make pycorr tools)"
        exit 0
    fi
done

if [ -n "${TMPDIR:-}" ]; then tmpbase=$TMPDIR; else tmpbase=$ROOT/build/bench; fi
mkdir -p "$tmpbase"
W=$(mktemp -d "$tmpbase/pycorr-kbench.XXXXXX")
MOCK_PID=""
trap '[ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; rm -rf "$W"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

field() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) } END { print v }' "$2"; }

"$TOOLS/mock_cluster" --topic "bench:$PARTS" --timeout 900 >"$W/addr" 2>"$W/mock.err" &
MOCK_PID=$!
i=0
while [ ! -s "$W/addr" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
B=$(head -n 1 "$W/addr")
[ -n "$B" ] || { echo "  [SKIP] the mock cluster did not start: $(cat "$W/mock.err")"; exit 0; }

"$TOOLS/gen_bench" --format jsonl --size-mb "$MB" --seed "$SEED" -o "$W/in.jsonl" 2>/dev/null
# Keyed by trace id, as DESIGN §6 has producers do: a trace's records stay in order in
# one partition.
sed -E 's/^(.*"trace_id": "([0-9a-f]+)".*)$/\2	\1/; t; s/^/-	/' "$W/in.jsonl" >"$W/in.tsv"
timeout 300 kcat -P -b "$B" -t bench -K '\t' -l "$W/in.tsv"
# What the topic holds (the mock may have dropped the oldest of a full partition).
timeout 300 kcat -C -b "$B" -t bench -e -q -o beginning -f '%S\n' >"$W/sizes"
MSGS=$(wc -l <"$W/sizes" | tr -d ' ')
BYTES=$(awk '{ s += $1 } END { printf "%.0f", s }' "$W/sizes")
echo "  topic: $MSGS messages, $BYTES bytes of payload in $PARTS partitions (${MB} MB generated)"

best_k='' best_p='' n=0
while [ "$n" -lt "$REPEAT" ]; do
    n=$((n + 1))
    "$TOOLS/rusage_run" -o "$W/ru" --stdout /dev/null -- kcat -C -b "$B" -t bench -e -q -o beginning 2>/dev/null || true
    w=$(field wall_s "$W/ru")
    best_k=$(awk -v a="$best_k" -v b="$w" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
    timeout 300 "$PYCORR" consume --brokers "$B" --topic bench --group "bench$n" --exit-at-end \
        --stats-interval 0 --format jsonl >/dev/null 2>"$W/p.err" || true
    s=$(sed -n 's/^pycorr: consume: read [0-9]* bytes in \([0-9.]*\) s.*/\1/p' "$W/p.err")
    got=$(sed -n 's/^pycorr: consume: [0-9]* findings .* from \([0-9]*\) messages.*/\1/p' "$W/p.err")
    if [ -z "$s" ] || [ "$got" != "$MSGS" ]; then
        echo "  pycorr run $n failed or read $got of $MSGS messages: $(tail -n 2 "$W/p.err")"
        continue
    fi
    best_p=$(awk -v a="$best_p" -v b="$s" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
done

row() { printf '  %-44s %9s %12s %8s\n' "$1" "$2" "$3" "$4"; }
row "command" "MB/s" "msgs/s" "s"
if [ -n "$best_k" ]; then
    km=$(awk -v b="$BYTES" -v w="$best_k" 'BEGIN { if (w < 0.001) w = 0.001; printf "%.6f", b / 1e6 / w }')
    row "kcat -C (to /dev/null)" "$(awk -v m="$km" 'BEGIN { printf "%.1f", m }')" \
        "$(awk -v n="$MSGS" -v w="$best_k" 'BEGIN { printf "%.0f", n / w }')" "$best_k"
fi
if [ -n "$best_p" ]; then
    pm=$(awk -v b="$BYTES" -v w="$best_p" 'BEGIN { if (w < 0.001) w = 0.001; printf "%.6f", b / 1e6 / w }')
    row "pycorr consume (full analysis)" "$(awk -v m="$pm" 'BEGIN { printf "%.1f", m }')" \
        "$(awk -v n="$MSGS" -v w="$best_p" 'BEGIN { printf "%.0f", n / w }')" "$best_p"
fi
if [ -n "$best_k" ] && [ -n "$best_p" ]; then
    r=$(awk -v a="$pm" -v b="$km" 'BEGIN { print a / b }')
    mark=$(awk -v r="$r" 'BEGIN { print (r >= 0.5) ? "PASS" : "FAIL" }')
    printf '  [%s] pycorr consume vs kcat -C: %s (target >= 0.5x)\n' "$mark" "$(awk -v r="$r" 'BEGIN { printf "%.2fx", r }')"
else
    echo "  [FAIL] pycorr consume vs kcat -C: n/a (a run failed)"
fi
exit 0
