#!/bin/sh
# kafka.sh -- `pycorr consume` against the real Kafka protocol: librdkafka's mock
# cluster in a process of its own (tests/tools/mock_cluster) on loopback, kcat (an
# independent client) producing the corpus, keyed by trace id, into a topic of 4
# partitions. Checked against `pycorr ingest` on the same files:
#   1. consume reports exactly ingest's findings (same ids);
#   2. kill -9 at random points and restart with the same group, several times: every
#      finding is there at the end (duplicates allowed);
#   3. two consumers in one group: every finding between them, each partition owned
#      by exactly one of them once the group is stable;
#   4. the brokers stopped and restarted under a running consumer: nothing lost;
#   plus poison messages to the dead-letter topic, findings to a findings topic, and
#   `--brokers mock:`.
# Every wait is bounded; the whole script takes well under two minutes.
#
# usage: PYCORR=./pycorr TOOLS=build/tools sh tests/e2e/kafka.sh   (KEEP=1 keeps the files)
set -eu
LC_ALL=C
export LC_ALL

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYCORR=${PYCORR:-$ROOT/pycorr}
TOOLS=${TOOLS:-$ROOT/build/tools}
MOCK=$TOOLS/mock_cluster

have() { command -v "$1" >/dev/null 2>&1; }
if ! have kcat; then
    echo "kafka: SKIPPED: kcat is not installed (apt-get install kcat; ./bootstrap.sh test installs it)"
    exit 0
fi
for t in "$MOCK" "$PYCORR"; do
    if [ ! -x "$t" ]; then
        echo "kafka: $t not found (make pycorr tools)" >&2
        exit 2
    fi
done
for t in jq python3; do
    have "$t" || { echo "kafka: $t is needed" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/pycorr-kafka.XXXXXX")
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kafka: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass=0
fail=0
name=""
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $name: $*" >&2
}
expect_eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }

STARTED=$(date +%s)
elapsed() { echo $(($(date +%s) - STARTED)); }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
    limit=$(($(date +%s) + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$limit" ] && return 1
        sleep 0.1
    done
    return 0
}

# stop_wait PID SECONDS: wait for PID to exit, kill -9 it after SECONDS; sets rc.
stop_wait() {
    limit=$(($(date +%s) + $2))
    while kill -0 "$1" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$limit" ]; then
            kill -9 "$1" 2>/dev/null || true
            bad "pid $1 did not exit within $2 s"
            break
        fi
        sleep 0.1
    done
    set +e
    wait "$1"
    rc=$?
    set -e
}

# ---- the broker
"$MOCK" --brokers 1 --topic logs:4 --topic poison:1 --topic dlq:1 --topic findings:2 --topic later:4 \
    --timeout 300 >"$T/mock.addr" 2>"$T/mock.err" &
MOCK_PID=$!
PIDS="$PIDS $MOCK_PID"
wait_for 10 test -s "$T/mock.addr" || { echo "kafka: the mock cluster did not start: $(cat "$T/mock.err")" >&2; exit 1; }
B=$(head -n 1 "$T/mock.addr")

# ---- the input: "key<TAB>payload" per message, as kcat -K '\t' reads it. JSON records
# are keyed by their trace id (any spelling), else by their service, else by file;
# text logs are keyed by file and each file goes to a partition of its own, so each
# process's lines stay in order in one partition, as a log shipper keyed by pod does.
python3 - "$T" "$ROOT"/tests/data/structured/*.jsonl <<'PY'
import json, os, sys
out, files = sys.argv[1], sys.argv[2:]
def trace_of(o, depth=0):
    if not isinstance(o, dict) or depth > 3:
        return None
    for k, v in o.items():
        kl = k.lower().replace("-", "_").replace(".", "_")
        if kl in ("trace_id", "traceid", "dd_trace_id", "logging_googleapis_com/trace") and isinstance(v, (str, int)):
            return str(v).rsplit("/", 1)[-1]
        if isinstance(v, dict):
            t = trace_of(v, depth + 1)
            if t:
                return t
    return None
with open(os.path.join(out, "json.tsv"), "w") as w:
    for f in files:
        base = os.path.basename(f)
        for line in open(f, encoding="utf-8"):
            line = line.rstrip("\n")
            try:
                o = json.loads(line)
            except ValueError:
                o = None
            key = trace_of(o) or (o.get("service") if isinstance(o, dict) and isinstance(o.get("service"), str) else None) or base
            w.write(key + "\t" + line + "\n")
PY
i=0
for f in "$ROOT"/tests/data/corpus/mixed/*.log; do
    base=$(basename "$f")
    sed "s/^/$base	/" "$f" >"$T/text.$i.tsv"
    i=$((i + 1))
done
NTEXT=$i
NMSG=$(cat "$T"/json.tsv "$T"/text.*.tsv | wc -l | tr -d ' ')

produce() { # TOPIC FILE [PARTITION]
    if [ -n "${3:-}" ]; then
        kcat -P -b "$B" -t "$1" -p "$3" -K '\t' -X enable.idempotence=true -l "$2"
    else
        kcat -P -b "$B" -t "$1" -K '\t' -X enable.idempotence=true -l "$2"
    fi
}
produce_json() { produce "$1" "$T/json.tsv"; }
produce_text() {
    k=0
    while [ "$k" -lt "$NTEXT" ]; do
        produce "$1" "$T/text.$k.tsv" "$((k % 4))"
        k=$((k + 1))
    done
}

# What ingest reports for the same files: the expected ids.
"$PYCORR" ingest --format jsonl --no-progress "$ROOT"/tests/data/structured/*.jsonl \
    "$ROOT"/tests/data/corpus/mixed/*.log >"$T/ingest.jsonl" || true
jq -r .id "$T/ingest.jsonl" | sort -u >"$T/expected.ids"
NEXP=$(wc -l <"$T/expected.ids" | tr -d ' ')

# reported FILE: the ids a stream of consume output ends with -- the last record of
# each id, unless that record says it was folded into another finding (a cascade,
# which ingest reports inside the other finding).
reported() {
    jq -c '{id, f: (.folded_into // "")}' "$1" 2>/dev/null |
        awk -F'"' '{ last[$4] = $8 } END { for (i in last) if (last[i] == "") print i }' | sort -u
}
all_ids() { jq -r .id "$@" 2>/dev/null | sort -u; }
# has_all FILE...: every expected id occurs in the files.
has_all() { all_ids "$@" >"$T/have.ids"; [ -z "$(comm -23 "$T/expected.ids" "$T/have.ids")" ]; }
missing() { all_ids "$@" >"$T/have.ids"; comm -23 "$T/expected.ids" "$T/have.ids" | tr '\n' ' '; }

# Settings that make a restarted or second member join fast on the mock cluster.
FAST="-X session.timeout.ms=3000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000"

produce_json logs
produce_text logs
echo "kafka: mock cluster $B; $NMSG messages produced to logs (4 partitions); ingest reports $NEXP findings ($(elapsed) s)"
[ "$NEXP" -gt 0 ] || bad "ingest reported no findings on the corpus"

# ---------------------------------------------------------------- 1. same findings as ingest
name="consume = ingest"
set +e
timeout 60 "$PYCORR" consume --brokers "$B" --topic logs --group g1 --exit-at-end --stats-interval 0 \
    --format jsonl >"$T/c1.jsonl" 2>"$T/c1.err"
rc=$?
set -e
expect_eq "$rc" 0 "exit code (stderr: $(tail -n 3 "$T/c1.err"))"
reported "$T/c1.jsonl" >"$T/c1.ids"
expect_eq "$(tr '\n' ' ' <"$T/c1.ids")" "$(tr '\n' ' ' <"$T/expected.ids")" "finding ids"
expect_eq "$(jq -r '.sources[].stream' "$T/c1.jsonl" | grep -cv '^kafka:logs/[0-3]@[0-9][0-9]*$' || true)" 0 \
    "sources named kafka:topic/partition@offset"
grep -q "from $NMSG messages" "$T/c1.err" && ok || bad "every message read: $(tail -n 1 "$T/c1.err")"
echo "kafka: 1 done ($(elapsed) s)"

# ---------------------------------------------------------------- 2. kill -9 and restart
name="kill -9 and restart"
round=0
killed_at=""
: >"$T/c2.jsonl"
while [ "$round" -lt 4 ]; do
    round=$((round + 1))
    # Small fetches make the read take a while, so the kill lands in the middle.
    # shellcheck disable=SC2086
    "$PYCORR" consume --brokers "$B" --topic logs --group g2 --stats-interval 0 --format jsonl $FAST \
        -X fetch.max.bytes=8192 -X message.max.bytes=8192 -X max.partition.fetch.bytes=2048 \
        >>"$T/c2.jsonl" 2>"$T/c2.$round.err" &
    pid=$!
    PIDS="$PIDS $pid"
    wait_for 20 grep -q "assigned" "$T/c2.$round.err" || bad "round $round: no assignment"
    sleep "$(awk -v s="$$$round" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 5 }')"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    killed_at="$killed_at $(wc -l <"$T/c2.jsonl" | tr -d ' ')"
done
set +e
# shellcheck disable=SC2086
timeout 60 "$PYCORR" consume --brokers "$B" --topic logs --group g2 --exit-at-end --stats-interval 0 \
    --format jsonl $FAST >>"$T/c2.jsonl" 2>"$T/c2.final.err"
rc=$?
set -e
expect_eq "$rc" 0 "final run exit code (stderr: $(tail -n 3 "$T/c2.final.err"))"
if has_all "$T/c2.jsonl"; then ok; else bad "missing after kill -9: $(missing "$T/c2.jsonl")"; fi
echo "kafka: 2 done ($(elapsed) s; output lines when killed:$killed_at)"

# ---------------------------------------------------------------- 3. two consumers, one group
name="two consumers in one group"
# shellcheck disable=SC2086
"$PYCORR" consume --brokers "$B" --topic logs --group g3 --stats-interval 0 --format jsonl $FAST \
    >"$T/c3a.jsonl" 2>"$T/c3a.err" &
pa=$!
# shellcheck disable=SC2086
"$PYCORR" consume --brokers "$B" --topic logs --group g3 --stats-interval 0 --format jsonl $FAST \
    >"$T/c3b.jsonl" 2>"$T/c3b.err" &
pb=$!
PIDS="$PIDS $pa $pb"
# Stable: both hold partitions, and every finding is out between them.
both_assigned() {
    a=$(grep '^pycorr: assigned' "$T/c3a.err" | tail -n 1 | sed 's/^pycorr: assigned//')
    b=$(grep '^pycorr: assigned' "$T/c3b.err" | tail -n 1 | sed 's/^pycorr: assigned//')
    ra=$(grep -c '^pycorr: \(revoked\|lost\)' "$T/c3a.err" || true)
    rb=$(grep -c '^pycorr: \(revoked\|lost\)' "$T/c3b.err" || true)
    aa=$(grep -c '^pycorr: assigned' "$T/c3a.err" || true)
    ab=$(grep -c '^pycorr: assigned' "$T/c3b.err" || true)
    # the last event of each is an assignment that was not revoked since
    [ "$aa" -gt "$ra" ] && [ "$ab" -gt "$rb" ] && [ "$a" != " (none)" ] && [ "$b" != " (none)" ]
}
wait_for 40 both_assigned || bad "the group did not settle with both members holding partitions"
wait_for 30 has_all "$T/c3a.jsonl" "$T/c3b.jsonl" || bad "missing between the two: $(missing "$T/c3a.jsonl" "$T/c3b.jsonl")"
kill -TERM "$pa" "$pb" 2>/dev/null || true
stop_wait "$pa" 20
expect_eq "$rc" 0 "first member exits 0 on SIGTERM"
stop_wait "$pb" 20
expect_eq "$rc" 0 "second member exits 0 on SIGTERM"
# Ownership once stable: each member's last assignment, disjoint, covering all four.
for x in a b; do
    grep '^pycorr: assigned' "$T/c3$x.err" | tail -n 1 | sed 's/^pycorr: assigned //' | tr ' ' '\n' >"$T/own.$x"
done
expect_eq "$(sort "$T/own.a" "$T/own.b" | tr '\n' ' ')" "logs/0 logs/1 logs/2 logs/3 " "partitions covered once"
expect_eq "$(sort "$T/own.a" "$T/own.b" | uniq -d | wc -l | tr -d ' ')" 0 "no partition owned twice"
echo "kafka: 3 done ($(elapsed) s)"

# ---------------------------------------------------------------- 4. brokers down and up
name="brokers stopped and restarted"
produce_json later
# shellcheck disable=SC2086
"$PYCORR" consume --brokers "$B" --topic later --group g4 --stats-interval 0 --format jsonl $FAST \
    -X reconnect.backoff.max.ms=500 >"$T/c4.jsonl" 2>"$T/c4.err" &
p4=$!
PIDS="$PIDS $p4"
wait_for 20 grep -q "assigned" "$T/c4.err" || bad "no assignment"
wait_for 20 test -s "$T/c4.jsonl" || bad "nothing consumed before the outage"
kill -USR1 "$MOCK_PID"
sleep 3
kill -0 "$p4" 2>/dev/null && ok || bad "the consumer died while the brokers were down"
kill -USR2 "$MOCK_PID"
produce_text later
wait_for 40 has_all "$T/c4.jsonl" || bad "missing after the outage: $(missing "$T/c4.jsonl")"
kill -USR1 "$p4" 2>/dev/null || true # a stats line on demand
wait_for 5 grep -q "^pycorr: stats: " "$T/c4.err" || bad "no stats line on SIGUSR1"
kill -TERM "$p4" 2>/dev/null || true
stop_wait "$p4" 20
expect_eq "$rc" 0 "exit code after SIGTERM (stderr: $(tail -n 3 "$T/c4.err"))"
grep -q "lag later/0=" "$T/c4.err" && ok || bad "stats line with lag per partition: $(grep stats "$T/c4.err" | head -n 1)"
echo "kafka: 4 done ($(elapsed) s)"

# ---------------------------------------------------------------- poison, dead letters, findings topic
name="poison messages and dead letters"
printf 'k\t{"level": "ERROR", "message": "cut off\nk\t{"level": "INFO", "message": "fine", "service": "p"}\n' >"$T/poison.tsv"
produce poison "$T/poison.tsv" 0
printf '\001\002\000\003binary' | kcat -P -b "$B" -t poison -p 0
set +e
timeout 60 "$PYCORR" consume --brokers "$B" --topic poison --group g5 --exit-at-end --stats-interval 0 \
    --format jsonl --dead-letter-topic dlq >"$T/c5.jsonl" 2>"$T/c5.err"
rc=$?
set -e
expect_eq "$rc" 0 "exit code (stderr: $(tail -n 3 "$T/c5.err"))"
grep -q "warning (at kafka:poison/0@0)" "$T/c5.err" && ok || bad "invalid JSON reported with its offset: $(head -n 3 "$T/c5.err")"
grep -q "warning (at kafka:poison/0@2)" "$T/c5.err" && ok || bad "binary message reported with its offset"
grep -q ", 2 poison" "$T/c5.err" && ok || bad "poison counted: $(tail -n 1 "$T/c5.err")"
timeout 20 kcat -C -b "$B" -t dlq -e -q -f '%o %h\n' >"$T/dlq.out" 2>/dev/null || true
expect_eq "$(wc -l <"$T/dlq.out" | tr -d ' ')" 2 "two dead letters"
grep -q "pycorr-source=kafka:poison/0@0" "$T/dlq.out" && ok || bad "dead letter names its source: $(cat "$T/dlq.out")"

name="findings topic"
set +e
timeout 60 "$PYCORR" consume --brokers "$B" --topic logs --group g6 --exit-at-end --stats-interval 0 \
    --format jsonl --findings-topic findings >"$T/c6.jsonl" 2>"$T/c6.err"
rc=$?
set -e
expect_eq "$rc" 0 "exit code (stderr: $(tail -n 3 "$T/c6.err"))"
timeout 20 kcat -C -b "$B" -t findings -e -q -f '%s\n' >"$T/f.jsonl" 2>/dev/null || true
if has_all "$T/f.jsonl"; then ok; else bad "missing on the findings topic: $(missing "$T/f.jsonl")"; fi

name="--brokers mock:"
set +e
timeout 30 "$PYCORR" consume --brokers mock: --topic demo --exit-at-end --stats-interval 0 >"$T/c7.out" 2>"$T/c7.err"
rc=$?
set -e
expect_eq "$rc" 0 "exit code (stderr: $(tail -n 3 "$T/c7.err"))"
grep -q "mock cluster on 127.0.0.1:" "$T/c7.err" && ok || bad "prints the mock cluster's address"

name="usage"
set +e
"$PYCORR" consume --topic logs >/dev/null 2>"$T/u.err"
rc=$?
set -e
expect_eq "$rc" 2 "--brokers missing is a usage error"
set +e
"$PYCORR" consume --brokers "$B" --topic logs -X no.such.property=1 >/dev/null 2>"$T/u.err"
rc=$?
set -e
expect_eq "$rc" 2 "a bad -X is a usage error"
grep -q "no.such.property" "$T/u.err" && ok || bad "names the property: $(cat "$T/u.err")"

kill -TERM "$MOCK_PID" 2>/dev/null || true
echo "kafka: $pass passed, $fail failed ($(elapsed) s)"
[ "$fail" -eq 0 ]
