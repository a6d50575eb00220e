#!/bin/sh
# bench_memory.sh -- loading a large tracemalloc dump: `pycorr ingest` beside Python's
# own tracemalloc.Snapshot.load() + statistics('lineno') (tests/bench/
# tracemalloc_baseline.py). Called by bench.sh; runs alone too.
#
# The dump is generated with python3 by tracemalloc itself (gen_tracemalloc.py), so
# without python3 the benchmark is skipped. Both sides must report the same sites and
# total size (checked through `pycorr events`) before their times are compared.
# Prints one row each and the target line; exits 0 either way (the bench reports, the
# tests assert), non-zero only when it cannot run at all.
#
# Environment:
#   PYCORR, TOOLS (rusage_run), PYTHON as in bench.sh; BENCH_REPEAT (default 3: best
#   wall time, highest peak RSS); MEM_BENCH_TRACES (default 1000000),
#   MEM_BENCH_SITES (default 100000), MEM_BENCH_NFRAME (default 5); TMPDIR.
set -eu
LC_ALL=C
export LC_ALL

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYCORR=${PYCORR:-$ROOT/pycorr}
TOOLS=${TOOLS:-$ROOT/build/tools}
PYTHON=${PYTHON:-python3}
REPEAT=${BENCH_REPEAT:-3}
TRACES=${MEM_BENCH_TRACES:-1000000}
SITES=${MEM_BENCH_SITES:-100000}
NFRAME=${MEM_BENCH_NFRAME:-5}
RUN=$TOOLS/rusage_run

echo
echo "tracemalloc dump: pycorr ingest vs Python's tracemalloc.Snapshot.load + statistics('lineno')"
if [ -z "$PYTHON" ] || ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "  [SKIP] no python3 to generate the dump with"
    exit 0
fi
for t in "$RUN" "$PYCORR"; do
    if [ ! -x "$t" ]; then
        echo "bench_memory: $t not found; run 'make pycorr tools' first" >&2
        exit 2
    fi
done
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
W=$(mktemp -d "${TMPDIR:-/tmp}/pycorr-bench-mem.XXXXXX")
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DUMP=$W/snapshot.pickle
"$PYTHON" "$ROOT/tests/bench/gen_tracemalloc.py" "$TRACES" "$SITES" "$NFRAME" "$DUMP"
BYTES=$(wc -c <"$DUMP" | tr -d ' ')
echo "  dump: $BYTES bytes, $TRACES traces, $SITES sites, $NFRAME frames per traceback (protocol 5, by tracemalloc)"

# The same work on both sides: sites and total size.
want=$("$PYTHON" "$ROOT/tests/bench/tracemalloc_baseline.py" "$DUMP")
got=$("$PYCORR" events --no-progress "$DUMP" | awk '
    { if (match($0, /"sites_total":[0-9]+/)) s = substr($0, RSTART + 14, RLENGTH - 14)
      if (match($0, /"total_size":[0-9]+/)) t = substr($0, RSTART + 13, RLENGTH - 13) }
    END { printf "sites=%s total=%s\n", s, t }')
if [ "$want" != "$got" ]; then
    echo "  [FAIL] pycorr and Python disagree: python $want, pycorr $got"
    exit 0
fi
echo "  same work: $got"

field() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) } END { print v }' "$2"; }

# measure KEY CMD...: best wall and highest RSS over REPEAT runs into KEY_wall, KEY_rss.
measure() {
    key=$1
    shift
    best="" rss=0
    i=0
    while [ "$i" -lt "$REPEAT" ]; do
        rm -f "$W/ru"
        "$RUN" -o "$W/ru" --stdout /dev/null -- "$@" 2>"$W/err" || true
        if [ "$(field exit "$W/ru")" != 0 ]; then
            echo "  [FAIL] $key did not run: $(head -c 300 "$W/err")"
            eval "${key}_wall= ${key}_rss="
            return 0
        fi
        w=$(field wall_s "$W/ru")
        r=$(field maxrss_kb "$W/ru")
        best=$(awk -v a="$best" -v b="$w" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
        [ "$r" -gt "$rss" ] && rss=$r
        i=$((i + 1))
    done
    eval "${key}_wall=\$best ${key}_rss=\$rss"
}

measure pc "$PYCORR" ingest --no-progress --format jsonl "$DUMP"
measure py "$PYTHON" "$ROOT/tests/bench/tracemalloc_baseline.py" "$DUMP"

row() {
    if [ -z "$2" ]; then
        printf '  %-44s %9s %12s %9s %8s\n' "$1" - - - -
        return
    fi
    awk -v l="$1" -v w="$2" -v r="$3" -v b="$BYTES" -v n="$TRACES" 'BEGIN {
        if (w < 0.001) w = 0.001
        printf "  %-44s %9.1f %12.0f %9.1f %8.3f\n", l, b / 1e6 / w, n / w, r / 1024, w }'
}
printf '  %-44s %9s %12s %9s %8s\n' command MB/s traces/s "RSS MiB" "wall s"
row "pycorr ingest snapshot.pickle" "$pc_wall" "$pc_rss"
row "python3 Snapshot.load + statistics('lineno')" "$py_wall" "$py_rss"
if [ -n "$pc_wall" ] && [ -n "$py_wall" ]; then
    x=$(awk -v a="$py_wall" -v b="$pc_wall" 'BEGIN { if (b < 0.001) b = 0.001; printf "%.2f", a / b }')
    m=$(awk -v a="$pc_rss" -v b="$py_rss" 'BEGIN { printf "%.2f", a / b }')
    pass=$(awk -v x="$x" -v a="$pc_rss" -v b="$py_rss" 'BEGIN { print (x >= 5 && a < b) ? "PASS" : "FAIL" }')
    printf '  [%s] tracemalloc dump: %sx faster than Python, %sx its peak memory (target >= 5x faster, less memory)\n' \
        "$pass" "$x" "$m"
fi
exit 0
