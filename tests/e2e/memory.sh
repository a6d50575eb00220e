#!/bin/sh
# Memory artifacts end to end: tracemalloc dumps, listings and JSON lines, gc and
# objgraph output, process counters and training logs from tests/data/memory, checked
# against its MANIFEST (the corpus ground truth): each leak at its leak_site, nothing
# on the controls; hostile pickles refused and never run (a canary file must not
# appear); dumps read from a tar.zst in the right order; the text report's sparklines.
#
# Sourced by run.sh (uses its run/expect helpers, $PYCORR, $T, $ROOT, have).
M=$T/memory
MD=$ROOT/tests/data/memory
MC=$MD/corpus
MMAN=$MD/MANIFEST.json
mkdir -p "$M"

# truth PATH FIELD: a field of the expected object of a MANIFEST entry.
truth() { jq -r --arg p "$1" --arg f "$2" '.[] | select(.path == $p) | .expected[$f] // "null"' "$MMAN"; }

# Each tracemalloc run, all its layouts at once (a directory), then each layout alone.
for s in procmon_leak ingest_slow_leak procmon_fixed sawtooth_cache; do
    d=memory/tracemalloc/$s
    leak=$(truth "$d/tracemalloc.jsonl" leak)
    site=$(truth "$d/tracemalloc.jsonl" leak_site)
    name="tracemalloc $s, whole directory"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$MC/$d"
    if [ "$leak" = true ]; then
        expect_eq "$(jq -s '[.[] | select(.pattern == "memory_leak")] | length' "$T/out")" 1 "one leak finding for every view of the run"
        expect_eq "$(jq -r 'select(.pattern == "memory_leak") | .evidence.sites[0] | "\(.file):\(.line)"' "$T/out")" "$site" "leak at the ground truth's site"
        expect_eq "$(jq -r 'select(.pattern == "memory_leak") | .count' "$T/out")" 5 "dumps, two listings, compare_to and JSON lines fold"
        expect_eq "$(jq -r 'select(.pattern == "memory_leak") | .evidence.traceback | length > 1' "$T/out")" true "allocation traceback from the dumps"
        expect_eq "$(jq -r 'select(.pattern == "memory_leak") | .pid' "$T/out")" "$(truth "$d/tracemalloc.jsonl" pid)" "pid from the JSON lines"
    else
        expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 0 "no finding on a control"
    fi
    for glob in 'snapshot_*.pickle' 'stats_lineno_*.txt' 'stats_traceback_*.txt' 'compare_*.txt'; do
        name="tracemalloc $s, $glob"
        # shellcheck disable=SC2086
        run 0 "$PYCORR" ingest --format jsonl --no-progress $MC/$d/$glob
        if [ "$leak" = true ]; then
            expect_eq "$(jq -r 'select(.pattern == "memory_leak") | .evidence.sites[0] | "\(.file):\(.line)"' "$T/out")" "$site" "leak site"
            expect_eq "$(jq -r 'select(.pattern == "memory_leak") | .evidence.snapshots' "$T/out")" "$(truth "$d/tracemalloc.jsonl" snapshots)" "every snapshot in the series"
        else
            expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 0 "no finding on a control"
        fi
    done
done

name="text report: sparkline and actionable numbers"
run 0 "$PYCORR" ingest --color never --no-progress "$MC/memory/tracemalloc/procmon_leak"
expect_grep "$T/out" "memory_leak x5  memory grows at monitor.py:32: +909 KiB over 10 snapshots" "headline"
expect_grep "$T/out" "▁▂▃▃▄▅▅▇▇█  monitor.py:32" "growth sparkline"
expect_grep "$T/out" "KiB/snapshot" "rate per snapshot"
expect_grep "$T/out" "allocated at (most recent call last):" "allocation traceback"

name="series from a tar.zst, in name order"
if have zstd; then
    mkdir -p "$M/run"
    cp "$MC"/memory/tracemalloc/ingest_slow_leak/snapshot_*.pickle "$M/run/"
    # members in the archive in reverse order: the numbers in the names decide
    (cd "$M" && tar -cf - $(cd "$M" && ls -r run/snapshot_*.pickle) | zstd -q -o "$M/dumps.tar.zst")
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$M/dumps.tar.zst"
    expect_eq "$(jq -r '.evidence.sites[0] | "\(.file):\(.line)"' "$T/out")" "$(truth memory/tracemalloc/ingest_slow_leak/tracemalloc.jsonl leak_site)" "slow leak in noise"
    expect_eq "$(jq -r '.evidence.order' "$T/out")" "file name number, then modification time" "ordering rule stated"
    expect_eq "$(jq -r '.evidence.sites[0].values | . == (. | sort)' "$T/out")" true "values in snapshot order"
fi

name="events: a dump as a tracemalloc event"
run 0 "$PYCORR" events --no-progress "$MC/memory/tracemalloc/procmon_leak/snapshot_10.pickle"
expect_eq "$(jq -r '.kind' "$T/out")" tracemalloc "kind"
expect_eq "$(jq -r '.snapshot.traceback_limit' "$T/out")" 10 "traceback limit"
expect_eq "$(jq -r '.snapshot.sites[0] | "\(.file):\(.line)"' "$T/out")" /opt/app/procmon/monitor.py:32 "largest site first"

# gc statistics, objgraph and typestats
for s in procmon_leak procmon_fixed; do
    for f in gc_stats.jsonl gc_print.txt show_growth.txt; do
        p=memory/gc/$s/$f
        name="gc $s $f"
        run 0 "$PYCORR" ingest --format jsonl --no-progress "$MC/$p"
        if [ "$(truth "$p" leak)" = true ]; then
            expect_eq "$(jq -s '[.[] | select(.pattern == "memory_leak" and .evidence.metric == "gc_objects")] | length > 0' "$T/out")" true "gc objects leak"
            if [ "$f" != gc_print.txt ]; then
                expect_grep "$T/out" "\"type\":\"$(truth "$p" leaking_type)\"" "leaking type named"
            fi
        else
            expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 0 "no finding on the fixed program"
        fi
    done
done

name="object distribution: anomalous run among its peers"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$MC/memory/object_distribution/page_cache"
expect_eq "$(jq -s '[.[] | select(.pattern == "object_distribution_anomaly")] | length' "$T/out")" 1 "one anomaly"
expect_eq "$(jq -r 'select(.pattern == "object_distribution_anomaly") | .pid' "$T/out")" "$(truth memory/object_distribution/page_cache/anomalous/tracemalloc.jsonl pid)" "the anomalous process"
expect_eq "$(jq -r 'select(.pattern == "object_distribution_anomaly") | .evidence.contributors[0].name' "$T/out")" "$(truth memory/object_distribution/page_cache/anomalous/tracemalloc.jsonl anomalous_site)" "top contributor"
expect_eq "$(jq -r 'select(.pattern == "object_distribution_anomaly") | .evidence.divergence.method' "$T/out")" jensen_shannon "divergence named"
expect_eq "$(jq -s '[.[] | select(.pid == 8618)] | length' "$T/out")" 0 "nothing on the baseline run"

for f in thread_leak thread_pool_control; do
    for ext in jsonl txt; do
        name="counters $f.$ext"
        run 0 "$PYCORR" ingest --format jsonl --no-progress "$MC/counters/$f.$ext"
        if [ "$(truth "counters/$f.$ext" leak)" = true ]; then
            expect_eq "$(jq -r 'select(.pattern == "handle_leak") | .evidence.resource' "$T/out")" "$(truth "counters/$f.$ext" leaked_resource)" "leaked resource"
        else
            expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 0 "no finding on the fixed pool"
        fi
    done
done

name="training: first non-finite step"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$MC/training/logreg_lr_too_high.jsonl"
expect_eq "$(jq -r 'select(.rule == "builtin.counter_value") | .evidence.first_offending.step' "$T/out")" "$(truth training/logreg_lr_too_high.jsonl first_nonfinite_step)" "first non-finite step"
name="training: healthy run"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$MC/training/logreg_healthy.jsonl"
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 0 "no finding on the healthy run"

name="gate on a leak"
run 1 "$PYCORR" ingest --fail-on medium --no-progress "$MC/memory/tracemalloc/ingest_slow_leak"

# Hostile pickles: refused with a clear error, and never executed.
name="hostile pickle: os.system is never called"
cmd="touch $M/pwned"
n=$(printf '%s' "$cmd" | wc -c | tr -d ' ')
printf '\200\002cos\nsystem\nX' >"$M/evil.pickle"
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' "$n" 0 0 0)" >>"$M/evil.pickle"
printf '%s\205R.' "$cmd" >>"$M/evil.pickle"
run 0 "$PYCORR" ingest --no-progress "$M/evil.pickle"
expect_grep "$T/err" "pickle: global os.system refused" "clear refusal"
if [ -e "$M/pwned" ]; then bad "the pickle ran os.system"; else ok; fi
if have python3; then
    python3 -c 'import pickle,sys; sys.stdout.buffer.write(pickle.dumps(__import__("subprocess").Popen, protocol=4))' >"$M/popen.pickle" 2>/dev/null || true
    run 0 "$PYCORR" ingest --no-progress "$M/popen.pickle"
    expect_grep "$T/err" "pickle: global subprocess.Popen refused" "Python's own pickle of a callable"
fi
for f in "$ROOT"/tests/fuzz/seeds/pickle/hostile_*.pickle; do
    refusal=$(awk -F '\t' -v s="$(basename "$f")" '$1 == s { print $2 }' "$ROOT/tests/fuzz/seeds/pickle/hostile.txt")
    name="hostile seed $(basename "$f")"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$f"
    expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 0 "no finding"
    case $refusal in
    "pickle: not a pickle of protocol 2"*) ;; # plain text: another parser reads it
    *) expect_grep "$T/err" "$refusal" "refused as $refusal" ;;
    esac
done

# The baseline run as object_distribution_anomaly's reference (gate --baseline hands its
# snapshots over marked reference).
name="gate --baseline: the anomalous run against the baseline run"
PC=$MC/memory/object_distribution/page_cache
run 0 "$PYCORR" gate --format jsonl --no-progress --baseline "$PC/baseline/tracemalloc.jsonl" "$PC/anomalous/tracemalloc.jsonl"
expect_eq "$(jq -r 'select(.pattern == "object_distribution_anomaly") | .evidence.baseline' "$T/out")" "baseline run" "compared with the baseline run"
expect_eq "$(jq -r 'select(.pattern == "object_distribution_anomaly") | .evidence.contributors[0].name' "$T/out")" "$(truth memory/object_distribution/page_cache/anomalous/tracemalloc.jsonl anomalous_site)" "top contributor"
name="gate --baseline: the baseline run against itself"
run 0 "$PYCORR" gate --format jsonl --no-progress --baseline "$PC/baseline/tracemalloc.jsonl" "$PC/baseline/tracemalloc.jsonl"
expect_eq "$(jq -s '[.[] | select(.pattern == "object_distribution_anomaly")] | length' "$T/out")" 0 "no anomaly"
