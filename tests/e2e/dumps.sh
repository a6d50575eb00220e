#!/bin/sh
# Thread dumps and crashes through the command line: each corpus scenario folder
# ingested as a user would (`pycorr ingest DIR`), findings checked with jq against
# the MANIFEST ground truth of tests/data/dumps: the deadlocked threads, their locks
# and owners; the spiking thread; the crash signal, thread and function. Also the
# events a dump becomes, the text report's cycle drawing, the gate, and the honesty
# rule (no owner in the artifact: no deadlock).
#
# Sourced by run.sh (uses its run/expect helpers, $PYCORR, $T, $ROOT).
D=$ROOT/tests/data/dumps
M=$D/MANIFEST.json

# The ground truth of one file: jq expression over its "expected".
truth() { jq -r --arg p "$1" ".[] | select(.path == \$p) | .expected | $2" "$M"; }
# Lowercase hex without leading zeros, one per line, sorted: ids compare as numbers.
norm() { sed 's/^0x0*/0x/' | sort; }

for sc in rlock_deadlock rlock_deadlock_3way rlock_deadlock_exception; do
    name="deadlock $sc"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$D/$sc"
    expect_eq "$(jq -s '[.[] | select(.pattern == "deadlock")] | length' "$T/out")" 1 "one deadlock"
    expect_eq "$(jq -s '[.[] | select(.pattern != "deadlock" and (.pattern | test("thread|chain|crash")))] | length' "$T/out")" 0 \
        "no other thread finding"
    got=$(jq -r 'select(.pattern == "deadlock") | .evidence.cycle[]' "$T/out" | norm | tr '\n' ' ')
    want=$(truth "$sc/gdb_bt.txt" '. as $e | .deadlocked_threads[] as $n | $e.threads[] | select(.name == $n) | .ident_hex' |
        norm | tr '\n' ' ')
    expect_eq "$got" "$want" "the deadlocked threads"
    got=$(jq -r 'select(.pattern == "deadlock") | .evidence.locks[] | "\(.address)=\(.owner)"' "$T/out" |
        sed 's/=0x0*/=0x/' | sort | tr '\n' ' ')
    want=$(truth "$sc/gdb_bt.txt" '.locks[] | "\(.address)=\(.owner_ident_hex)"' | sort | tr '\n' ' ')
    expect_eq "$got" "$want" "the locks and their owners"
    expect_eq "$(jq -r 'select(.pattern == "deadlock") | .evidence.ownership' "$T/out")" known "ownership known"
    expect_eq "$(jq -r 'select(.pattern == "deadlock") | .pid' "$T/out")" "$(truth "$sc/gdb_bt.txt" .pid)" "pid"
done

name="deadlock drawn as a cycle"
run 0 "$PYCORR" ingest --no-progress --color never "$D/rlock_deadlock"
expect_grep "$T/out" "holds 0x7f387e98f5c0, waits for RLock 0x7f387e98f580 held by thread 0x00007f387e1556c0" "A holds, waits, held by B"
expect_grep "$T/out" "at /opt/app/locks/deadlock.py:25 thread_1" "each thread with its frame"
expect_grep "$T/out" "back to thread" "the cycle closes"

name="gate fails on a deadlock"
run 1 "$PYCORR" gate --no-progress "$D/rlock_deadlock"
expect_grep "$T/err" "gate failed" "verdict"

name="owners never guessed"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$D/rlock_deadlock/gdb_bt.txt" "$D/rlock_deadlock/faulthandler.txt"
expect_eq "$(jq -s '[.[] | select(.pattern == "deadlock")] | length' "$T/out")" 0 "no deadlock without owners"
expect_eq "$(jq -s '[.[] | select(.pattern == "blocked_thread" and .evidence.ownership == "unknown")] | length' "$T/out")" \
    "$(truth rlock_deadlock/gdb_bt.txt '.blocked_threads | length')" "blocked threads, ownership unknown"

name="spiking thread"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$D/spiking_thread"
expect_eq "$(jq -s '[.[] | select(.pattern == "spiking_thread")] | length' "$T/out")" 1 "one spiking thread (not the leader row)"
expect_eq "$(jq -r 'select(.pattern == "spiking_thread") | .evidence.threads[0].native_id' "$T/out")" \
    "$(truth spiking_thread/ps_threads.txt .spiking_thread.native_id)" "native id"
expect_eq "$(jq -r 'select(.pattern == "spiking_thread") | .evidence.threads[0].id' "$T/out" | norm)" \
    "$(truth spiking_thread/ps_threads.txt .spiking_thread.ident_hex | norm)" "joined to its thread"
expect_grep "$T/out" "$(truth spiking_thread/ps_threads.txt .spiking_thread.function)" "its function"

for sc in segfault_ctypes segfault_in_thread; do
    name="crash $sc"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$D/$sc/stderr.txt"
    expect_eq "$(jq -r 'select(.pattern == "crash") | .evidence.signal' "$T/out")" "$(truth "$sc/stderr.txt" .signal)" "signal"
    expect_eq "$(jq -r 'select(.pattern == "crash") | .evidence.thread.id' "$T/out")" \
        "$(truth "$sc/stderr.txt" .crashing_thread_ident_hex)" "faulting thread"
    expect_eq "$(jq -r 'select(.pattern == "crash") | .evidence.thread.frames[0].function' "$T/out")" \
        "$(truth "$sc/stderr.txt" .crashing_function)" "crashing function"
    expect_eq "$(jq -r 'select(.pattern == "crash") | .severity' "$T/out")" critical "severity"
done

name="dump events"
run 0 "$PYCORR" events --no-progress "$D/rlock_deadlock/gdb_bt.txt"
expect_eq "$(jq -r .kind "$T/out")" thread_dump "one thread_dump event"
expect_eq "$(jq -r '.dump.threads | length' "$T/out")" "$(truth rlock_deadlock/gdb_bt.txt .threads_alive)" "every thread"
expect_eq "$(jq -r '[.dump.threads[].frames[] | select(.kind == "native")] | length > 0' "$T/out")" true "native frames told apart"
run 0 "$PYCORR" events --no-progress "$D/spiking_thread/top_threads.txt"
expect_eq "$(jq -r '.kind + " " + .dump.format' "$T/out")" "thread_cpu top" "top -H is CPU paratext"

name="crash inside a compressed log"
if have zstd; then
    { printf '2026-11-24 03:21:28,632 INFO starting\n'; cat "$D/segfault_in_thread/stderr.txt"; } | zstd -q -c >"$T/crash.log.zst"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$T/crash.log.zst"
    expect_eq "$(jq -s '[.[] | select(.pattern == "crash")] | length' "$T/out")" 1 "crash found"
fi

name="dumps: thread counts over a series of dumps (Handle Leak)"
mkdir -p "$T/tleak" "$T/tsteady"
for k in 0 1 2 3 4 5 6 7; do
    awk -v n=$((2 + 6 * k)) 'BEGIN {
        for (t = 0; t < n; t++) {
            printf "Thread 0x00007f%010x (most recent call first):\n", t
            print "  File \"/opt/app/pool.py\", line 12 in worker"
            print "  File \"/usr/lib/python3.11/threading.py\", line 975 in run"
            print ""
        }
        print "Current thread 0x00007fffffffff00 (most recent call first):"
        print "  File \"/opt/app/main.py\", line 40 in <module>"
    }' >"$T/tleak/dump_0$k.txt"
    awk 'BEGIN {
        for (t = 0; t < 5; t++) {
            printf "Thread 0x00007f%010x (most recent call first):\n", t
            print "  File \"/opt/app/pool.py\", line 12 in worker"
            print ""
        }
    }' >"$T/tsteady/dump_0$k.txt"
done
run 0 "$PYCORR" ingest --format jsonl --no-progress "$T/tleak"
expect_eq "$(jq -r 'select(.pattern == "handle_leak") | .evidence.sites[0].name // .title' "$T/out" | head -n 1 | grep -c threads)" 1 \
    "growing thread counts are a handle leak"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$T/tsteady"
expect_eq "$(jq -s '[.[] | select(.pattern == "handle_leak")] | length' "$T/out")" 0 "a steady pool is not"
