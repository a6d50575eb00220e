#!/bin/sh
# bench.sh SIZE_MB -- throughput and peak memory of `pycorr ingest`, side by side with
# zstd, jq and an honest Python script (baseline.py) on the same generated input.
#
# Prints a table and one line per performance target with PASS/FAIL, but exits 0 either
# way: the benchmark reports, the test suite asserts. It exits non-zero only when it
# cannot run at all (missing generator, pycorr, unwritable temp dir).
#
# Environment:
#   PYCORR        pycorr executable (default: ./pycorr of this repo)
#   TOOLS         directory with gen_bench and rusage_run (default: build/tools)
#   PYTHON        Python interpreter for the baseline (default: python3)
#   BENCH_REPEAT  runs of each row that a target depends on; best wall time is kept,
#                 highest peak RSS (default 3: one run on a shared VM is noise)
#   BENCH_FLAT=1  also run pycorr on 100 MB and BENCH_FLAT_MB (default 2048) of input
#                 and check that peak RSS does not grow with input size
#   BENCH_CORR=1  also run pycorr with correlation on 256, 1024 and 4096 MB (millions of
#                 distinct traces; BENCH_CORR_MB overrides the sizes) and check that
#                 peak RSS stays flat
#   BENCH_SEED    generator seed (default 1)
#   TMPDIR        where the inputs go (default: build/bench); needs ~2.2x SIZE of space
set -eu
LC_ALL=C
export LC_ALL

SIZE=${1:-256}
case $SIZE in
'' | *[!0-9]*) echo "usage: bench.sh SIZE_MB" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYCORR=${PYCORR:-$ROOT/pycorr}
TOOLS=${TOOLS:-$ROOT/build/tools}
PYTHON=${PYTHON:-python3}
REPEAT=${BENCH_REPEAT:-3}
SEED=${BENCH_SEED:-1}
FLAT_MB=${BENCH_FLAT_MB:-2048}
BASELINE=$ROOT/tests/bench/baseline.py
GEN=$TOOLS/gen_bench
RUN=$TOOLS/rusage_run

for t in "$GEN" "$RUN" "$PYCORR"; do
    if [ ! -x "$t" ]; then
        echo "bench: $t not found; run 'make pycorr tools' first" >&2
        exit 2
    fi
done

if [ -n "${TMPDIR:-}" ]; then tmpbase=$TMPDIR; else tmpbase=$ROOT/build/bench; fi
mkdir -p "$tmpbase"
WORK=$(mktemp -d "$tmpbase/pycorr-bench.XXXXXX")
# Inputs are GBs with BENCH_FLAT: never leave them behind, also on ^C.
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

have() { command -v "$1" >/dev/null 2>&1; }

# Measure one build: in a shared tree `make` may replace ./pycorr while the bench runs
# (seen: the 100 MB and 2 GB rows of BENCH_FLAT measured two different binaries).
cp "$PYCORR" "$WORK/pycorr"
PYCORR=$WORK/pycorr

# field NAME FILE: value of NAME=... in a key=value line (gen_bench, rusage_run output).
field() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) } END { print v }' "$2"; }

# gen FORMAT MB OUT: generate an input; sets g_bytes and g_records.
gen() {
    "$GEN" --format "$1" --size-mb "$2" --seed "$SEED" -o "$3" 2>"$WORK/gen.log" || {
        cat "$WORK/gen.log" >&2
        echo "bench: gen_bench failed" >&2
        exit 2
    }
    g_bytes=$(field bytes "$WORK/gen.log")
    g_records=$(field records "$WORK/gen.log")
    g_tb=$(field tracebacks "$WORK/gen.log")
    g_chained=$(field chained "$WORK/gen.log")
}

hr() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }

printf_row() {
    printf '%-44s %9s %12s %9s %8s' "$1" "$2" "$3" "$4" "$5"
    if [ -n "${6:-}" ]; then printf '  %s' "$6"; fi
    echo
}

# runonce KEY OKCODES CMD...
# Runs CMD once under rusage_run and folds the result into r_KEY_{best,rss,code}: the
# best wall time and the highest peak RSS over runs. After a failed run the row stays
# failed and is not run again. Stdout goes to /dev/null, or to $WORK/out.KEY when
# KEEP_OUT=1 (a few dozen summary lines; costs nothing measurable).
runonce() {
    key=$1 okcodes=$2
    shift 2
    code=$(val "$key" code)
    case "$code" in '' | ok) ;; *) return 0 ;; esac
    rm -f "$WORK/ru"
    if [ "${KEEP_OUT:-0}" = 1 ]; then sink=$WORK/out.$key; else sink=/dev/null; fi
    "$RUN" -o "$WORK/ru" --stdout "$sink" -- "$@" 2>"$WORK/err.$key" || true
    if [ -s "$WORK/ru" ]; then code=$(field exit "$WORK/ru"); else code=127; fi
    case " $okcodes " in
    *" $code "*) ;;
    *) eval "r_${key}_code=\$code"; return 0 ;;
    esac
    w=$(field wall_s "$WORK/ru")
    r=$(field maxrss_kb "$WORK/ru")
    best=$(val "$key" best)
    rss=$(val "$key" rss)
    best=$(awk -v a="$best" -v b="$w" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
    if [ -z "$rss" ] || [ "$r" -gt "$rss" ]; then rss=$r; fi
    eval "r_${key}_code=ok r_${key}_best=\$best r_${key}_rss=\$rss"
}

# report KEY LABEL BYTES RECORDS
# Prints the row of KEY and sets r_KEY_mbps (unrounded, so a target is never passed
# by rounding) and r_KEY_ok. BYTES is the uncompressed input size, so every row's MB/s
# is work done per input byte.
report() {
    key=$1 label=$2 bytes=$3 recs=$4
    code=$(val "$key" code)
    if [ "$code" = ok ]; then
        best=$(val "$key" best)
        mbps=$(awk -v b="$bytes" -v w="$best" 'BEGIN { if (w < 0.001) w = 0.001; printf "%.6f", b / 1e6 / w }')
        rps=$(awk -v n="$recs" -v w="$best" 'BEGIN { if (w < 0.001) w = 0.001; printf "%.0f", n / w }')
        rssm=$(awk -v k="$(val "$key" rss)" 'BEGIN { printf "%.1f", k / 1024 }')
        printf_row "$label" "$(awk -v m="$mbps" 'BEGIN { printf "%.1f", m }')" "$(hr "$rps")" "$rssm" "$best" ""
        eval "r_${key}_mbps=\$mbps r_${key}_rssm=\$rssm r_${key}_ok=1"
    else
        printf_row "$label" "-" "-" "-" "-" "FAILED (exit ${code:-?})"
        sed -n '1,5s/^/      | /p' "$WORK/err.$key"
        eval "r_${key}_ok=0"
    fi
}

skip_row() {
    printf_row "$1" "-" "-" "-" "-" "skipped: $2"
    eval "r_${3}_ok=0"
}

# target LABEL VALUE_TEXT PASS(1/0/-) TARGET_TEXT
target() {
    case $3 in
    1) mark=PASS ;;
    0) mark=FAIL ;;
    *) mark=SKIP ;;
    esac
    printf '  [%s] %s: %s (target %s)\n' "$mark" "$1" "$2" "$4"
}

ok() { eval "[ \"\${r_$1_ok:-0}\" = 1 ]"; }
val() { eval "printf '%s' \"\${r_$1_$2:-}\""; }

# ---- inputs
rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo "pycorr bench: tree $rev, $(nproc 2>/dev/null || echo '?') CPUs, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "generating ${SIZE} MB inputs (seed $SEED) in $WORK"
gen jsonl "$SIZE" "$WORK/in.jsonl"
J_BYTES=$g_bytes J_RECORDS=$g_records
echo "  jsonl: $(hr "$J_BYTES") bytes, $(hr "$J_RECORDS") records, $(hr "$g_tb") with tracebacks ($(hr "$g_chained") chained)"
gen text "$SIZE" "$WORK/in.txt"
T_BYTES=$g_bytes T_RECORDS=$g_records
echo "  text:  $(hr "$T_BYTES") bytes, $(hr "$T_RECORDS") records, $(hr "$g_tb") with tracebacks ($(hr "$g_chained") chained)"
if have zstd; then
    zstd -q -T0 -f "$WORK/in.jsonl" -o "$WORK/in.jsonl.zst"
    Z_BYTES=$(wc -c <"$WORK/in.jsonl.zst" | tr -d ' ')
    echo "  jsonl.zst: $(hr "$Z_BYTES") bytes ($(awk -v a="$J_BYTES" -v b="$Z_BYTES" 'BEGIN { printf "%.1f", a / b }'):1)"
fi
# Time the interpreter itself, not a launcher in front of it (pyenv's shim costs
# ~0.2 s per start, which would flatter pycorr on small inputs).
if have "$PYTHON"; then
    PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)' 2>/dev/null) || PYTHON=
else
    PYTHON=
fi

# 200 user match rules of the kinds teams write: a literal message regex, some
# caseless, some guarded by a level, some on exception types; a few match the input.
awk 'BEGIN {
    split("timeout refused reset unavailable denied overflow corrupt stale throttled exhausted", w, " ")
    for (i = 1; i <= 200; i++) {
        printf "rule user_%03d\n  description: generated rule %d\n", i, i
        k = i % 5
        if (k == 0) printf "  match level >= WARNING and message ~ /svc%03d %s/\n", i, w[i % 10 + 1]
        else if (k == 1) printf "  match message ~ /upstream-%03d (%s|error)/i\n", i, w[i % 10 + 1]
        else if (k == 2) printf "  match exception.types == \"mod%03d.%sError\"\n", i, w[i % 10 + 1]
        else if (k == 3) printf "  match level >= ERROR and message ~ /request failed with status 5\\d\\d/ and service == \"svc%03d\"\n", i
        else printf "  match message ~ /queue %03d is %s/\n", i, w[i % 10 + 1]
        printf "  severity: medium\n\n"
    }
}' >"$WORK/user200.rules"
"$PYCORR" rules check "$WORK/user200.rules" >/dev/null || { echo "bench: generated rules do not check" >&2; exit 2; }

echo
echo "MB/s and records/s count uncompressed input; the pycorr rows and python3 baseline.py"
echo "in.jsonl ran $REPEAT interleaved rounds (best wall time, highest RSS kept), the rest once."
printf_row "command" "MB/s" "records/s" "RSS MiB" "wall s" ""
printf_row "-------" "----" "---------" "-------" "------" ""

# The rows the targets compare run interleaved, REPEAT rounds of one run each, so a
# burst of load on a shared machine hits pycorr and Python alike instead of one row.
i=0
while [ "$i" -lt "$REPEAT" ]; do
    i=$((i + 1))
    KEEP_OUT=1 runonce pj "0 1" "$PYCORR" ingest --format jsonl --no-progress "$WORK/in.jsonl"
    if [ -f "$WORK/in.jsonl.zst" ]; then
        runonce pz "0 1" "$PYCORR" ingest --format jsonl --no-progress "$WORK/in.jsonl.zst"
    fi
    runonce pt "0 1" "$PYCORR" ingest --format jsonl --no-progress "$WORK/in.txt"
    runonce pn "0 1" "$PYCORR" ingest --format jsonl --no-progress --no-correlate "$WORK/in.jsonl"
    runonce pr "0 1" "$PYCORR" ingest --format jsonl --no-progress --rules "$WORK/user200.rules" "$WORK/in.jsonl"
    if [ -n "$PYTHON" ]; then
        KEEP_OUT=1 runonce py "0" "$PYTHON" "$BASELINE" "$WORK/in.jsonl"
    fi
done
# Context rows: one run each.
if [ -f "$WORK/in.jsonl.zst" ]; then runonce zd "0" zstd -dc "$WORK/in.jsonl.zst"; fi
if have jq; then runonce jq "0" jq -c 'select(.level=="ERROR")' "$WORK/in.jsonl"; fi
runonce ev "0" "$PYCORR" events --no-progress "$WORK/in.txt"
if [ -n "$PYTHON" ]; then runonce pyt "0" "$PYTHON" "$BASELINE" --text "$WORK/in.txt"; fi

report pj "pycorr ingest in.jsonl" "$J_BYTES" "$J_RECORDS"
if [ -f "$WORK/in.jsonl.zst" ]; then
    report pz "pycorr ingest in.jsonl.zst" "$J_BYTES" "$J_RECORDS"
else
    skip_row "pycorr ingest in.jsonl.zst" "zstd not installed" pz
fi
report pt "pycorr ingest in.txt (text log)" "$T_BYTES" "$T_RECORDS"
report pn "pycorr ingest --no-correlate in.jsonl" "$J_BYTES" "$J_RECORDS"
report pr "pycorr ingest --rules user200.rules in.jsonl" "$J_BYTES" "$J_RECORDS"
if [ -f "$WORK/in.jsonl.zst" ]; then
    report zd "zstd -dc in.jsonl.zst" "$J_BYTES" "$J_RECORDS"
else
    skip_row "zstd -dc in.jsonl.zst" "zstd not installed" zd
fi
JQ_LABEL="jq -c 'select(.level==\"ERROR\")' in.jsonl"
if have jq; then
    report jq "$JQ_LABEL" "$J_BYTES" "$J_RECORDS"
else
    skip_row "$JQ_LABEL" "jq not installed" jq
fi
report ev "pycorr events in.txt (every event as JSON)" "$T_BYTES" "$T_RECORDS"
if [ -n "$PYTHON" ]; then
    report py "python3 baseline.py in.jsonl" "$J_BYTES" "$J_RECORDS"
    report pyt "python3 baseline.py --text in.txt" "$T_BYTES" "$T_RECORDS"
else
    skip_row "python3 baseline.py in.jsonl" "python3 not installed" py
    skip_row "python3 baseline.py --text in.txt" "python3 not installed" pyt
fi

# ---- peak RSS flat across input sizes (optional: needs FLAT_MB of disk and time)
if [ "${BENCH_FLAT:-0}" = 1 ]; then
    rm -f "$WORK/in.txt" "$WORK/in.jsonl.zst"
    for mb in 100 "$FLAT_MB"; do
        gen jsonl "$mb" "$WORK/flat.jsonl"
        runonce "f$mb" "0 1" "$PYCORR" ingest --format jsonl --no-progress "$WORK/flat.jsonl"
        report "f$mb" "pycorr ingest ${mb} MB jsonl" "$g_bytes" "$g_records"
        rm -f "$WORK/flat.jsonl"
    done
fi

# ---- correlation in bounded memory: peak RSS flat from 0.25 to 4 GB of input with
# millions of distinct traces (optional: needs ~4 GB of disk and a few minutes)
CORR_SIZES=${BENCH_CORR_MB:-256 1024 4096}
CORR_BIG=$(echo $CORR_SIZES | tr ' ' '\n' | sort -n | tail -1)
if [ "${BENCH_CORR:-0}" = 1 ]; then
    rm -f "$WORK/in.txt" "$WORK/in.jsonl.zst"
    for mb in $CORR_SIZES; do
        gen jsonl "$mb" "$WORK/corr.jsonl"
        runonce "c$mb" "0 1" "$PYCORR" ingest --format json --no-progress -o "$WORK/corr-$mb.json" "$WORK/corr.jsonl"
        traces=$(jq -r '.summary.correlation.traces // "?"' "$WORK/corr-$mb.json" 2>/dev/null || echo "?")
        peakopen=$(jq -r '.summary.correlation.open_traces_peak // "?"' "$WORK/corr-$mb.json" 2>/dev/null || echo "?")
        report "c$mb" "pycorr ingest ${mb} MB ($(hr "$traces") traces, $(hr "$peakopen") open at most)" "$g_bytes" "$g_records"
        # The largest input also runs without correlation: the overhead target is
        # stated for the big input, where the trace table is under the most pressure.
        if [ "$mb" = "$CORR_BIG" ]; then
            runonce cbn "0 1" "$PYCORR" ingest --format json --no-progress --no-correlate "$WORK/corr.jsonl"
            report cbn "pycorr ingest --no-correlate ${mb} MB" "$g_bytes" "$g_records"
        fi
        rm -f "$WORK/corr.jsonl"
    done
fi

# ---- same job? A speed ratio means nothing if pycorr skipped work: compare how many
# tracebacks each folded into how many groups (pycorr also reports the ERROR records
# without a traceback as error_message; those are not part of the comparison).
if ok pj && ok py; then
    echo
    "$PYTHON" - "$WORK/out.pj" "$WORK/out.py" "$J_RECORDS" <<'PY' || echo "  (work check failed to run)"
import json, sys
def fold(path):
    groups = total = 0
    for line in open(path):
        try:
            f = json.loads(line)
        except ValueError:
            continue
        if isinstance(f, dict) and f.get("pattern") == "nested_exception":
            groups += 1
            total += int(f.get("count") or 0)
    return groups, total
pg, pt = fold(sys.argv[1])
bg, bt = fold(sys.argv[2])
mark = "OK" if (pg, pt) == (bg, bt) else "DIFF"
print("  [%s] same job: pycorr folded %d tracebacks into %d nested_exception findings, "
      "baseline.py %d into %d fingerprints" % (mark, pt, pg, bt, bg))
PY
fi

# ---- targets
# Each target: PASS (1), FAIL (0), or SKIP (-) when a row it needs did not run.
echo
echo "targets:"
if ok pj && ok py; then
    r=$(awk -v a="$(val pj mbps)" -v b="$(val py mbps)" 'BEGIN { print a / b }')
    target "pycorr jsonl vs python" "$(awk -v r="$r" 'BEGIN { printf "%.1fx", r }')" \
        "$(awk -v r="$r" 'BEGIN { print (r >= 5) ? 1 : 0 }')" ">= 5x"
else
    if ok pj && [ -z "$PYTHON" ]; then st=-; else st=0; fi
    target "pycorr jsonl vs python" "n/a" "$st" ">= 5x"
fi
if ok pj && ok pz; then
    r=$(awk -v a="$(val pz mbps)" -v b="$(val pj mbps)" 'BEGIN { print a / b }')
    target ".zst vs plain" "$(awk -v r="$r" 'BEGIN { printf "%.0f%%", 100 * r }')" \
        "$(awk -v r="$r" 'BEGIN { print (r >= 0.8) ? 1 : 0 }')" ">= 80%"
else
    if have zstd; then st=0; else st=-; fi
    target ".zst vs plain" "n/a" "$st" ">= 80%"
fi
if ok pj && ok pt; then
    r=$(awk -v a="$(val pt mbps)" -v b="$(val pj mbps)" 'BEGIN { print a / b }')
    target "text vs jsonl per byte" "$(awk -v r="$r" 'BEGIN { printf "%.2fx", r }')" \
        "$(awk -v r="$r" 'BEGIN { print (r >= 1) ? 1 : 0 }')" ">= 1x"
else
    target "text vs jsonl per byte" "n/a" 0 ">= 1x"
fi
peak=0 all=1
for k in pj pz pt; do
    if ok "$k"; then
        peak=$(awk -v a="$peak" -v b="$(val "$k" rssm)" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
    elif [ "$k" != pz ] || have zstd; then
        all=0
    fi
done
if [ "$all" = 1 ]; then pv="$peak MiB"; else pv="n/a"; fi
target "peak RSS" "$pv" "$(awk -v p="$peak" -v a="$all" 'BEGIN { print (a && p < 64) ? 1 : 0 }')" "< 64 MiB"
if ok pj && ok pr; then
    r=$(awk -v a="$(val pj mbps)" -v b="$(val pr mbps)" 'BEGIN { print a / b }')
    target "200 user match rules cost" "$(awk -v r="$r" 'BEGIN { printf "%.2fx", r }')" \
        "$(awk -v r="$r" 'BEGIN { print (r <= 2) ? 1 : 0 }')" "<= 2x ingest without them"
fi
if ok pj && ok pn; then
    r=$(awk -v a="$(val pn mbps)" -v b="$(val pj mbps)" 'BEGIN { print a / b - 1 }')
    target "correlation overhead" "$(awk -v r="$r" 'BEGIN { printf "%+.0f%%", 100 * r }')" \
        "$(awk -v r="$r" 'BEGIN { print (r <= 0.25) ? 1 : 0 }')" "<= 25% over --no-correlate"
fi
if [ "${BENCH_CORR:-0}" = 1 ]; then
    lo="" hi="" allc=1
    for mb in $CORR_SIZES; do
        if ok "c$mb"; then
            v=$(val "c$mb" rssm)
            [ -z "$lo" ] && lo=$v
            hi=$v
        else
            allc=0
        fi
    done
    if [ "$allc" = 1 ]; then
        pass=$(awk -v s="$lo" -v b="$hi" 'BEGIN { d = s * 0.10; if (d < 4) d = 4; print (b <= s + d && b < 64) ? 1 : 0 }')
        target "correlation RSS $(echo $CORR_SIZES | tr ' ' '/') MB" "$lo -> $hi MiB" "$pass" "flat: +max(10%, 4 MiB), < 64 MiB"
    else
        target "correlation RSS" "n/a" 0 "flat, < 64 MiB"
    fi
    if ok "c$CORR_BIG" && ok cbn; then
        r=$(awk -v a="$(val cbn mbps)" -v b="$(val "c$CORR_BIG" mbps)" 'BEGIN { print a / b - 1 }')
        target "correlation overhead at $CORR_BIG MB" "$(awk -v r="$r" 'BEGIN { printf "%+.0f%%", 100 * r }')" \
            "$(awk -v r="$r" 'BEGIN { print (r <= 0.25) ? 1 : 0 }')" "<= 25% over --no-correlate"
    fi
fi
if [ "${BENCH_FLAT:-0}" = 1 ]; then
    if ok f100 && ok "f$FLAT_MB"; then
        small=$(val f100 rssm) big=$(val "f$FLAT_MB" rssm)
        # "Flat": the large run may exceed the small one by at most 10% or 4 MiB,
        # whichever is more; allocator noise is not growth.
        pass=$(awk -v s="$small" -v b="$big" 'BEGIN { d = s * 0.10; if (d < 4) d = 4; print (b <= s + d && b < 64) ? 1 : 0 }')
        target "peak RSS 100 MB -> $FLAT_MB MB" "$small -> $big MiB" "$pass" "flat: +max(10%, 4 MiB), < 64 MiB"
    else
        target "peak RSS 100 MB -> $FLAT_MB MB" "n/a" 0 "flat, < 64 MiB"
    fi
else
    target "peak RSS flat 100 MB -> $FLAT_MB MB" "not measured" - "flat; run with BENCH_FLAT=1"
fi
PYCORR="$PYCORR" TOOLS="$TOOLS" PYTHON="${PYTHON:-python3}" BENCH_REPEAT="$REPEAT" TMPDIR="$WORK" sh "$ROOT/tests/bench/bench_memory.sh" || true
PYCORR="$PYCORR" TOOLS="$TOOLS" BENCH_REPEAT="$REPEAT" TMPDIR="$WORK" sh "$ROOT/tests/bench/bench_kafka.sh" "$SIZE" || echo "  (kafka bench failed to run)"
exit 0
