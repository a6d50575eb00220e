#!/bin/sh
# End-to-end tests of the pycorr command line: real files, real compressed files and
# archives built here with independent tools (zstd, gzip, xz, bzip2, tar, python's
# zipfile), stdin, exit codes and output formats, checked with jq.
#
# usage: PYCORR=./pycorr sh tests/e2e/run.sh
set -eu
LC_ALL=C
export LC_ALL
unset NO_COLOR || true

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYCORR=${PYCORR:-$ROOT/pycorr}
DATA=$ROOT/tests/data/corpus
T=$(mktemp -d "${TMPDIR:-/tmp}/pycorr-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

pass=0
fail=0
name=""

ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $name: $*" >&2
}
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }
# expect_grep FILE PATTERN WHAT
expect_grep() { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(head -c 400 "$1")"; fi; }
expect_no_grep() { if grep -q -- "$2" "$1"; then bad "$3: '$2' unexpectedly in output"; else ok; fi; }
# run EXPECTED_EXIT CMD... : stdout to $T/out, stderr to $T/err
run() {
    want=$1
    shift
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    if [ "$rc" != "$want" ]; then bad "exit $rc, want $want (stderr: $(head -c 300 "$T/err"))"; else ok; fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- usage
name="help"
run 0 "$PYCORR" --help
expect_grep "$T/out" "usage: pycorr COMMAND" "help text on stdout"
expect_grep "$T/out" "exit status" "exit codes documented"

name="version"
run 0 "$PYCORR" --version
expect_grep "$T/out" "^pycorr [0-9]" "version line"

name="unknown option"
run 2 "$PYCORR" ingest --bogus x
expect_grep "$T/err" "unknown option '--bogus'" "names the flag"
expect_grep "$T/err" "Try 'pycorr --help'" "hint"

name="unknown command"
run 2 "$PYCORR" frobnicate
expect_grep "$T/err" "unknown command 'frobnicate'" "names the command"

name="bad format value"
run 2 "$PYCORR" ingest --format yaml x
expect_grep "$T/err" "unknown format 'yaml'" "names the value"

name="bad severity"
run 2 "$PYCORR" gate --fail-on severe x
expect_grep "$T/err" "unknown severity 'severe'" "names the value"

name="no input"
run 2 "$PYCORR" ingest
expect_grep "$T/err" "no input given" "explains"

name="bad --map"
run 2 "$PYCORR" ingest --map nosuchrole=x "$DATA/tracebacks/simple_keyerror.txt"

name="missing file"
run 3 "$PYCORR" ingest --no-progress "$T/nope.log"
expect_grep "$T/err" "nope.log: No such file or directory" "names the file"

# ---------------------------------------------------------------- events
name="events: one chained traceback"
run 0 "$PYCORR" events "$DATA/tracebacks/chain3_context_cause.txt"
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 1 "one event"
expect_eq "$(jq -r '.kind' "$T/out")" exception "kind"
expect_eq "$(jq -r '[.exception.chain[].relation] | join(",")' "$T/out")" "root,context,cause" "relations"
expect_eq "$(jq -r '.exception.chain[2].type' "$T/out")" "mypkg.errors.ServiceUnavailable" "outermost"
expect_eq "$(jq -r '.source.line' "$T/out")" 1 "first line"

name="events: three tracebacks, three events"
run 0 "$PYCORR" events "$DATA/tracebacks/batch_multi_handled.txt"
expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 3 "exception events"

name="events: logging records carry time, level, logger, pid"
run 0 "$PYCORR" events "$DATA/mixed/app_logging.log"
expect_eq "$(jq -s 'length' "$T/out")" 313 "records (MANIFEST log_records)"
expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 35 "tracebacks"
expect_eq "$(jq -r 'select(.source.line == 12) | [.ts, .level, .logger, .pid, .exception.origin] | join(" ")' "$T/out")" \
    "2026-11-24T03:22:56.548Z ERROR shop.http 8655 logged" "the record of a logged traceback"

name="events: CRI log on stdin"
run 0 sh -c "cat '$DATA/mixed/app_logging_cri.log' | '$PYCORR' events -"
expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 31 "tracebacks (MANIFEST)"
expect_eq "$(jq -r 'select(.source.line == 1) | .source.stream' "$T/out")" "-" "stdin is named '-'"

name="events: docker json-file"
run 0 "$PYCORR" events "$DATA/mixed/app_logging_docker.log"
expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 15 "tracebacks (MANIFEST)"
expect_eq "$(jq -s '[.[] | select(.source.output == "stdout")] | length' "$T/out")" 49 "stdout records"

name="events: Python 3.13 colours (a terminal's output, FORCE_COLOR) are read through"
W=$ROOT/tests/data/wild
run 0 "$PYCORR" events "$W/py313-color-logging.txt"
expect_eq "$(jq -r 'select(.source.line == 2) | [.level, .message] | join(" ")' "$T/out")" \
    "WARNING queue depth 120 above 100" "a coloured level and message"
expect_eq "$(jq -r 'select(.source.line == 12) | [.exception.chain[] | .relation + ":" + .type] | join(",")' "$T/out")" \
    "root:FileNotFoundError,cause:RuntimeError" "a coloured uncaught chain"
expect_eq "$(jq -r 'select(.source.line == 12) | .exception.chain[0].frames[1] | [.file, .line, .function] | join(" ")' "$T/out")" \
    "/srv/app/clog.py 24 load" "a coloured frame"
expect_no_grep "$T/out" 'u001b' "no escape left"

name="ingest: coloured output in plain, CRI and docker framing folds into one finding"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$W/py313-color-logging.txt" "$W/py313-color-logging.cri.log" \
    "$W/py313-color-logging.docker.log"
expect_eq "$(jq -r 'select(.evidence.outermost_type == "RuntimeError") | [.count, .evidence.root_type] | join(" ")' "$T/out")" \
    "3 FileNotFoundError" "the same chain three times"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$W/py313-color-group.txt" "$W/py313-color-syntax.txt"
expect_eq "$(jq -r '.evidence.chain[0].type' "$T/out" | sort | tr '\n' ' ')" "ExceptionGroup SyntaxError " "group and syntax error"
expect_eq "$(jq -r 'select(.evidence.root_type == "ExceptionGroup") | .evidence.chain[0].group.exceptions | length' "$T/out")" 3 "members"

name="events: loguru (default format, diagnose annotations, its '> File' mark), plain and coloured"
for f in loguru-0.6.txt loguru-0.6-color.txt; do
    run 0 "$PYCORR" events "$W/$f"
    expect_eq "$(jq -sc '[.[] | [.kind, .level, .logger] | join(" ")]' "$T/out")" \
        '["log INFO __main__","exception ERROR __main__","exception ERROR __main__","log WARNING __main__"]' \
        "$f: four records, nothing stray"
    expect_eq "$(jq -r 'select(.source.line == 2) | [.message, (.exception.chain[0].frames | length)] | join(" ")' "$T/out")" \
        "batch failed 3" "$f: the caught frame marked '>' kept"
    expect_eq "$(jq -r 'select(.source.line == 21) | [.exception.chain[] | .relation + ":" + .type] | join(",")' "$T/out")" \
        "root:FileNotFoundError,cause:RuntimeError" "$f: @logger.catch chain"
done

name="events: JSON lines of python-json-logger, structlog (text and dict tracebacks) and loguru (serialize)"
for f in python-json-logger-2.0 structlog-22.3-json structlog-22.3-dict loguru-0.6-serialize \
    loguru-0.6-serialize-diagnose; do
    run 0 "$PYCORR" events "$W/$f.jsonl"
    expect_eq "$(jq -sc '[.[] | [.kind, .level, .message] | join(" ")]' "$T/out")" \
        '["log INFO order accepted","exception ERROR order failed"]' "$f: two records"
    expect_eq "$(jq -r 'select(.kind == "exception") | [.exception.chain[] | .relation + ":" + .type + ":" + .message] | join(",")' "$T/out")" \
        "root:KeyError:'qty',cause:$([ $f = structlog-22.3-dict ] && echo json_loggers_app.)OrderError:order 7 has no quantity" \
        "$f: the chain"
    expect_eq "$(jq -r 'select(.kind == "exception") | .exception.chain[0].frames[-1] | [.line, .function] | join(" ")' "$T/out")" \
        "$([ ${f#loguru} = $f ] && echo 18 || echo 19) parse" "$f: the innermost frame"
    expect_eq "$(jq -r 'select(.kind == "exception") | .ts | test("^2026-12-08T00:3[78]:0[0-9][.][0-9]+Z$")' "$T/out")" true "$f: the record's time"
done
run 0 "$PYCORR" events "$W/loguru-0.6-serialize.jsonl"
expect_eq "$(jq -sc '[.[] | [.ts, .service, .logger, .pid, .thread] | map(tostring) | join(" ")]' "$T/out")" \
    '["2026-12-08T00:38:07.676986Z orders __main__ 8440 MainThread","2026-12-08T00:38:07.677541Z orders __main__ 8440 MainThread"]' \
    "loguru: time (to the microsecond), bound service, logger, pid and thread from the record"
run 0 "$PYCORR" events "$W/loguru-0.6-serialize-diagnose.jsonl"
expect_eq "$(jq -r 'select(.kind == "exception") | .exception.chain[1].frames | map(.function) | join(",")' "$T/out")" \
    "<module>,<lambda>,loguru_json,fail,place" "loguru diagnose: the whole stack (backtrace), annotations not frames"
run 0 "$PYCORR" events "$W/python-json-logger-2.0.jsonl"
expect_eq "$(jq -r 'select(.kind == "exception") | [.trace_id, .pid, .logger] | map(tostring) | join(" ")' "$T/out")" \
    "4bf92f3577b34da6a3ce929d0e0e4736 7854 shop.orders" "python-json-logger: extra trace id, process, logger"

name="events: journalctl, docker compose, kubectl --prefix, heroku and CI-runner framing: each writer's lines apart, the collector's fields kept"
for f in journalctl-252-short journalctl-252-short-iso compose-prefix kubectl-prefix heroku-logplex github-actions; do
    run 0 "$PYCORR" events "$W/$f.log"
    expect_eq "$(jq -sc '[.[] | select(.kind == "exception") | [.level, .logger, .message, ([.exception.chain[] | .relation + ":" + .type] | join(","))] | map(tostring) | join(" ")] | sort' "$T/out")" \
        '["ERROR shop.web request 3 failed root:KeyError,cause:ValueError","null null null root:ConnectionError"]' \
        "$f: the logged chain and the crash, nothing else"
    expect_eq "$(jq -s '[.[] | select(.kind == "log" and (.message | test("^(request|job) ")))] | length' "$T/out")" 10 \
        "$f: the ten records"
    expect_no_grep "$T/out" '"message":"[^"]*shop-web\[' "$f: no prefix left in a message"
done
run 0 "$PYCORR" events "$W/journalctl-252-short.log"
expect_eq "$(jq -r 'select(.kind == "exception") | [.service, .host, .pid] | map(tostring) | join(" ")' "$T/out" | sort | tr '\n' ',')" \
    "shop-web shop-vm1 10885,shop-worker shop-vm1 10886," "journal: identifier, host and pid"
expect_eq "$(jq -r 'select(.exception.chain[0].type == "ConnectionError") | .ts // "none"' "$T/out")" none "journal short: no year, no time"
run 0 "$PYCORR" events "$W/journalctl-252-short-iso.log"
expect_eq "$(jq -r 'select(.exception.chain[0].type == "ConnectionError") | .ts' "$T/out")" "2026-12-08T01:17:47Z" \
    "journal short-iso: the collector's time for a line without its own"
run 0 "$PYCORR" events "$W/journalctl-252-multiline.log"
expect_eq "$(jq -sc '[.[] | [.kind, .service, (.exception.chain // [] | map(.relation + ":" + .type) | join(","))] | join(" ")]' "$T/out")" \
    '["log shop-api ","log shop-api ","log shop-api ","exception shop-api root:KeyError,cause:ValueError","log shop-api "]' \
    "journal: a record's further lines, indented to its column, are its writer's (the traceback in one entry)"
expect_eq "$(jq -r 'select(.kind == "exception") | [.message, .exception.origin] | join(" ")' "$T/out")" \
    "request 3 failed logged" "journal: the entry's first line is the record's message"
run 0 "$PYCORR" events "$W/compose-prefix.log"
expect_eq "$(jq -r '.service' "$T/out" | sort -u | tr '\n' ' ')" "web worker " "compose: the service, without the replica number"
run 0 "$PYCORR" events "$W/kubectl-prefix.log"
expect_eq "$(jq -r 'select(.kind == "exception") | [.service, .host] | join(" ")' "$T/out" | sort | tr '\n' ',')" \
    "web web-7d9f8c6b5-x2kqp,worker worker-5b4c7d9f8-m8zt4," "kubectl: the container and the pod"
run 0 "$PYCORR" events "$W/heroku-logplex.log"
expect_eq "$(jq -r 'select(.kind == "exception") | [.service, .host, .ts] | join(" ")' "$T/out" | sort | tr '\n' ',')" \
    "web web.1 2026-12-08T01:17:47.200Z,worker worker.1 2026-12-08T01:17:47.236966Z," \
    "heroku: the process type and dyno; logplex's time for the crash, which has none of its own"
expect_eq "$(jq -r 'select(.service == "worker" and .kind == "log" and (.message | test("crashed"))) | .host' "$T/out")" \
    "worker.1" "heroku: the platform's own line about the dyno"
run 0 "$PYCORR" events "$W/github-actions.log"
expect_eq "$(jq -sc '[.[] | select(.message != null and (.message | test("^##")))] | map(.message) | .[-1]' "$T/out")" \
    '"##[error]Process completed with exit code 1."' "github actions: the runner's error line stays a line, not a note"
expect_eq "$(jq -r 'select(.kind == "exception" and .level == null) | .ts' "$T/out")" "2026-12-08T01:17:47.236966300Z" \
    "github actions: the runner's time for the uncaught crash"

name="events: docker logs -t (a nine-digit time before every line) reads as the log itself"
run 0 "$PYCORR" events "$W/py311-asyncio-logging.txt"
jq -c 'select(.kind == "exception") | [.level, .logger, .message, [.exception.chain[] | .type]]' "$T/out" > "$T/plain.sig"
sed 's/^/2026-12-08T01:05:57.236234100Z /' "$W/py311-asyncio-logging.txt" > "$T/dockert.log"
run 0 "$PYCORR" events "$T/dockert.log"
expect_eq "$(jq -c 'select(.kind == "exception") | [.level, .logger, .message, [.exception.chain[] | .type]]' "$T/out")" \
    "$(cat "$T/plain.sig")" "the same exception events as without the times"
expect_eq "$(jq -s '[.[] | select(.message != null and (.message | test("^2026-12-08T01")))] | length' "$T/out")" 0 \
    "no collector time left in a message"

name="events: a multiprocessing child's traceback keeps its 'Process NAME:' line"
run 0 "$PYCORR" events "$W/py312-multiprocessing.txt"
expect_eq "$(jq -sc '[.[] | [.kind, .message, .exception.origin, (.exception.chain[0].frames | length)]]' "$T/out")" \
    '[["exception","Process Process-1:","process",3]]' "one event, the intro absorbed"

name="pytest: failure reports of every --tb style are exception chains; the gate fails on them"
P=$ROOT/tests/data/wild/pytest
for tb in auto long short; do
    run 0 "$PYCORR" events "$P/pytest-7.2-tb-$tb.txt"
    expect_eq "$(jq -sc '[.[] | select(.exception.origin == "pytest") | .message]' "$T/out")" \
        '["ERROR collecting test_broken_import.py","ERROR at setup of test_with_db","test_bad_price","test_order","test_compare"]' \
        "--tb=$tb: one event per failure, named after the test"
    expect_eq "$(jq -r 'select(.message == "test_order") | [.exception.chain[] | .relation + ":" + .type + ":" + (.frames | length | tostring)] | join(",")' "$T/out")" \
        "root:json.decoder.JSONDecodeError:4,cause:RuntimeError:2" "--tb=$tb: the chain"
done
run 1 "$PYCORR" gate --no-progress --format json "$P/pytest-7.2-tb-auto.txt"
expect_eq "$(jq -r '[.findings[] | select(.pattern == "nested_exception")] | length' "$T/out")" 6 "six findings"
expect_eq "$(jq -r '.findings[] | select(.evidence.root_type == "json.decoder.JSONDecodeError") | .evidence.origin_frame' "$T/out")" \
    "test_shop.py:9 load_order" "the origin is the test's code, not json's"

name="IPython: a notebook's traceback (plain and coloured) is an exception chain"
I=$ROOT/tests/data/wild/ipython
run 0 "$PYCORR" ingest --format jsonl --no-progress "$I/ipython-8.5-ip-nocolor.txt" "$I/ipython-8.5-ip-color.txt" \
    "$I/ipython-8.5-ip-cell.txt"
expect_eq "$(jq -r 'select(.evidence.root_type == "JSONDecodeError") | [.count, .evidence.outermost_type, .evidence.origin_frame] | join(" ")' "$T/out")" \
    "2 RuntimeError /srv/nb/nb.py:4 load" "the chain, plain and coloured folded"
expect_eq "$(jq -r 'select(.evidence.root_type == "ZeroDivisionError") | .evidence.exception_frame' "$T/out")" \
    "Cell In[1]:2 f" "a notebook cell's frame"

name="rich: boxed tracebacks (rich.traceback, RichHandler) are exception chains"
R=$ROOT/tests/data/wild/rich
run 0 "$PYCORR" events "$R/rich-13.3-richhandler.txt"
expect_eq "$(jq -sc '[.[] | select(.level != null or .exception != null) | [.kind, .level, .exception.origin] | map(. // "-") | join(" ")]' "$T/out" | tr -d ' ')" \
    '["logINFO-","exceptionERRORrich","logWARNING-"]' "the ERROR record and its box are one event"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$R/rich-13.3-traceback.txt"
expect_eq "$(jq -r '[.evidence.root_type, .evidence.outermost_type, .evidence.origin_frame] | join(" ")' "$T/out")" \
    "JSONDecodeError RuntimeError /srv/app/rt.py:6 load" "the chain"

name="text report: control sequences from the input are shown, never sent to the terminal"
mkdir -p "$T/evil"
printf '{"level":"ERROR","service":"api\\u001b[2J","message":"boom \\u001b]0;pwned\\u0007 \\u009b2J","exc_info":"Traceback (most recent call last):\\n  File \\"/srv/a.py\\", line 1, in <module>\\nValueError: evil \\u001b[31mred\\u202e"}\n{"level": bad\n' \
    >"$T/evil/$(printf 'svc\033[2J.jsonl')"
run 0 "$PYCORR" ingest --no-progress "$T/evil"
expect_grep "$T/out" 'logged: boom \\x1b]0;pwned\\x07 \\u009b2J' "the message, escaped"
expect_grep "$T/out" 'ValueError: evil \\x1b\[31mred\\u202e' "the exception, escaped"
expect_grep "$T/out" 'svc\\x1b\[2J.jsonl:1' "the file name, escaped"
expect_grep "$T/err" 'svc\\x1b\[2J.jsonl:2): invalid JSON' "the warning's file name, escaped"
expect_eq "$(cat "$T/out" "$T/err" | tr -d '\n' | LC_ALL=C tr -d '\040-\176' | wc -c | tr -d ' ')" 0 \
    "nothing but printable ASCII"
run 0 "$PYCORR" ingest --no-progress --format jsonl "$T/evil"
expect_eq "$(jq -r '.evidence.log_message' "$T/out" | od -An -c | tr -s ' ' | grep -c '033')" 1 "JSON keeps the exact text"
run 1 "$PYCORR" gate --no-progress "$T/evil"
expect_grep "$T/out" 'logged: boom \\x1b]0;pwned' "the gate's report, escaped"
expect_eq "$(LC_ALL=C tr -d '\n\040-\176' <"$T/out" | wc -c | tr -d ' ')" 0 "gate: nothing but printable ASCII"

# ---------------------------------------------------------------- findings
name="ingest jsonl: DESIGN §4 fields"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$DATA/tracebacks/chain3_context_cause.txt"
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 1 "one finding"
for k in id pattern severity rule title trace_id service pid host first_seen last_seen count sources evidence; do
    expect_eq "$(jq "has(\"$k\")" "$T/out")" true "field $k"
done
expect_eq "$(jq -r '.pattern' "$T/out")" nested_exception "pattern"
expect_eq "$(jq -r '[.evidence.chain[].type] | join(" > ")' "$T/out")" \
    "ConnectionRefusedError > TimeoutError > mypkg.errors.ServiceUnavailable" "chain root first"
expect_eq "$(jq -r '.evidence.origin_library' "$T/out")" "socket" "root raised inside the stdlib"
expect_eq "$(jq -r '.evidence.exception_module' "$T/out")" "client" "exception module (application)"
expect_eq "$(jq -r '.sources[0].stream | endswith("chain3_context_cause.txt")' "$T/out")" true "source"
id_plain=$(jq -r .id "$T/out")

name="ingest: same id across runs"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$DATA/tracebacks/chain3_context_cause.txt"
expect_eq "$(jq -r .id "$T/out")" "$id_plain" "stable id"

name="ingest: repeated chain folds into one finding with a count"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$DATA/mixed/app_logging.log"
expect_eq "$(jq -s '[.[] | select(.pattern == "nested_exception") | .count] | add' "$T/out")" 35 "all tracebacks counted"
expect_eq "$(jq -s '[.[] | select(.pattern == "nested_exception")] | length' "$T/out")" 3 "three distinct chains"
expect_eq "$(jq -s '[.[] | .sources | length] | max' "$T/out")" 5 "sample sources bounded"

name="ingest json: one document with a summary"
run 0 "$PYCORR" ingest --format json --no-progress "$DATA/mixed/app_logging.log"
expect_eq "$(jq -r '.summary.records' "$T/out")" 313 "records"
expect_eq "$(jq -r '.summary.tracebacks' "$T/out")" 35 "tracebacks"
expect_eq "$(jq -r '.findings | length' "$T/out")" 3 "findings"

name="ingest text: readable, no colour when not a terminal"
run 0 "$PYCORR" ingest --no-progress "$DATA/tracebacks/chain4_cause_context_cause.txt"
expect_grep "$T/out" "chain, root first" "chain drawn"
expect_grep "$T/out" "^HIGH" "severity first"
expect_no_grep "$T/out" "$(printf '\033')" "no escape codes"
run 0 "$PYCORR" ingest --no-progress --color always "$DATA/tracebacks/chain4_cause_context_cause.txt"
expect_grep "$T/out" "$(printf '\033')\[" "colour when asked"
run 0 env NO_COLOR=1 "$PYCORR" ingest --no-progress --color auto "$DATA/tracebacks/chain4_cause_context_cause.txt"
expect_no_grep "$T/out" "$(printf '\033')" "NO_COLOR respected"

name="ingest -o FILE"
run 0 "$PYCORR" ingest --format jsonl -o "$T/findings.jsonl" "$DATA/tracebacks/simple_keyerror.txt"
expect_eq "$(wc -c <"$T/out" | tr -d ' ')" 0 "nothing on stdout"
expect_eq "$(jq -r .pattern "$T/findings.jsonl")" nested_exception "file written"

name="output that cannot be written"
if [ -w /dev/full ]; then
    run 4 sh -c "'$PYCORR' events '$DATA/mixed/app_logging.log' >/dev/full"
    expect_grep "$T/err" "cannot write the output" "says so"
fi

# ---------------------------------------------------------------- exit codes
name="--fail-on"
run 1 "$PYCORR" ingest --fail-on high --no-progress "$DATA/tracebacks/simple_keyerror.txt"
run 0 "$PYCORR" ingest --fail-on critical --no-progress "$DATA/tracebacks/simple_keyerror.txt"
run 0 "$PYCORR" ingest --no-progress "$DATA/tracebacks/simple_keyerror.txt"

name="gate"
run 1 "$PYCORR" gate --no-progress "$DATA/tracebacks/simple_keyerror.txt"
expect_eq "$(tail -n 1 "$T/err")" "pycorr: gate failed: 1 new high finding (nested_exception); no baseline" "verdict is the last line"
printf 'INFO all good\nINFO still good\n' >"$T/clean.log"
run 0 "$PYCORR" gate --no-progress "$T/clean.log"
expect_eq "$(tail -n 1 "$T/err")" "pycorr: gate passed: no new findings at or above high; no baseline" "verdict"
run 0 "$PYCORR" gate --no-progress --fail-on critical "$DATA/tracebacks/simple_keyerror.txt"

name="unrecognized input"
head -c 4096 /dev/urandom >"$T/blob.bin"
printf '\000\001\002' >>"$T/blob.bin"
run 3 "$PYCORR" ingest --no-progress "$T/blob.bin" "$DATA/tracebacks/simple_keyerror.txt"
expect_grep "$T/err" "blob.bin: unrecognized input format" "names the input"
expect_grep "$T/out" "KeyError" "the other input is still analyzed"

# ---------------------------------------------------------------- bad records
name="malformed JSON lines are reported and skipped"
cp "$ROOT/tests/data/structured/gateway.jsonl" "$T/gw.jsonl" 2>/dev/null ||
    cp "$DATA/../structured/gateway.jsonl" "$T/gw.jsonl"
{
    head -n 3 "$T/gw.jsonl"
    echo '{"level": "ERROR", "message": "broken'
    tail -n +4 "$T/gw.jsonl"
} >"$T/gw-bad.jsonl"
run 0 "$PYCORR" events --no-progress "$T/gw-bad.jsonl"
expect_grep "$T/err" "gw-bad.jsonl:4" "source and line named"
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" "$(wc -l <"$T/gw.jsonl" | tr -d ' ')" "every other record kept"

name="compressed JSON lines parsed on both threads"
# A .zst stream of JSON lines is decoded on the parsing thread, which hands a share
# of the lines to the analysis thread to parse: whatever the share, the events, the
# warnings (in line order) and the count of malformed lines are the plain file's.
if have zstd; then
    awk 'BEGIN {
        for (i = 0; i < 60000; i++) {
            if (i % 997 == 5) { printf "{\"msg\": broken %d\n", i; continue }
            printf "{\"ts\": \"2026-12-07T10:%02d:%02dZ\", \"level\": \"%s\", \"msg\": \"step %d\", \"trace_id\": \"%032x\"}\n",
                (i / 60) % 60, i % 60, (i % 50 == 0 ? "ERROR" : "INFO"), i, i % 700
        }
    }' >"$T/split.jsonl"
    zstd -q -c "$T/split.jsonl" >"$T/split.jsonl.zst"
    run 0 "$PYCORR" events --no-progress "$T/split.jsonl"
    cp "$T/out" "$T/split.events"
    cp "$T/err" "$T/split.err"
    for share in 0 21 64; do
        run 0 env PYCORR_OFFLOAD_SHARE=$share "$PYCORR" events --no-progress "$T/split.jsonl.zst"
        expect_eq "$(sed 's/split.jsonl.zst/split.jsonl/g' "$T/out" | cmp - "$T/split.events" && echo same)" same \
            "events with $share/64 of the lines parsed by the analysis thread"
        expect_eq "$(sed 's/split.jsonl.zst/split.jsonl/g' "$T/err" | cmp - "$T/split.err" && echo same)" same \
            "warnings with $share/64 of the lines parsed by the analysis thread"
    done
    expect_grep "$T/err" "split.jsonl.zst:6)" "the first malformed line named"
    expect_grep "$T/err" "61 malformed records in all" "every malformed line counted"
    # An archive whose JSON-lines members are handed over and whose text member is
    # helped: the same events as each member read alone.
    if have tar; then
        mkdir -p "$T/mixed"
        cp "$T/split.jsonl" "$T/mixed/a.jsonl"
        cp "$DATA/tracebacks/simple_keyerror.txt" "$T/mixed/b.log"
        cp "$T/split.jsonl" "$T/mixed/c.jsonl"
        (cd "$T/mixed" && tar -cf - a.jsonl b.log c.jsonl) | zstd -q -c >"$T/mixed.tar.zst"
        run 0 env PYCORR_OFFLOAD_SHARE=21 "$PYCORR" events --no-progress "$T/mixed.tar.zst"
        sed 's/mixed.tar.zst!//g' "$T/out" >"$T/mixed.events"
        (cd "$T/mixed" && for f in a.jsonl b.log c.jsonl; do "$PYCORR" events --no-progress "$f" 2>/dev/null; done) |
            sed "s|$T/mixed/||g" >"$T/members.events"
        expect_eq "$(sed "s|$T/||g" "$T/mixed.events" | cmp - "$T/members.events" && echo same)" same \
            "a mixed archive's events are its members'"
    fi
    run 0 env PYCORR_OFFLOAD_SHARE=32 "$PYCORR" ingest --format jsonl --no-progress "$T/split.jsonl.zst"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$T/split.jsonl"
    expect_eq "$(jq -c '[.pattern, .count]' "$T/out" | sort | md5sum)" \
        "$(PYCORR_OFFLOAD_SHARE=32 "$PYCORR" ingest --format jsonl --no-progress "$T/split.jsonl.zst" 2>/dev/null |
            jq -c '[.pattern, .count]' | sort | md5sum)" "findings alike"
fi

name="hostile: a 3 MB line"
{
    echo "INFO start"
    head -c 3000000 /dev/zero | tr '\0' 'x'
    echo
    cat "$DATA/tracebacks/simple_keyerror.txt"
} >"$T/long.log"
run 0 "$PYCORR" events --no-progress "$T/long.log"
expect_grep "$T/err" "long.log:2" "the long line is named"
expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 1 "the traceback after it survives"

name="hostile: deeply nested JSON"
{
    head -n 2 "$T/gw.jsonl"
    python3 -c 'print("{\"a\":" * 100000 + "1" + "}" * 100000)' 2>/dev/null ||
        awk 'BEGIN{for(i=0;i<100000;i++)printf "{\"a\":"; printf "1"; for(i=0;i<100000;i++)printf "}"; print ""}'
} >"$T/deep.jsonl"
run 0 "$PYCORR" events --no-progress "$T/deep.jsonl"
expect_grep "$T/err" "deep.jsonl:3" "rejected with its line"
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 2 "the good lines kept"

name="hostile: invalid UTF-8 stays valid JSON"
printf '2026-11-24 03:22:56,533 ERROR app bad \377\376 bytes\nTraceback (most recent call last):\n  File "a.py", line 1, in f\nValueError: \377oops\n' >"$T/utf8.log"
run 0 "$PYCORR" events --no-progress "$T/utf8.log"
expect_eq "$(jq -r '.exception.chain[0].message' "$T/out")" "$(printf '\357\277\275oops')" "replacement character"

# ---------------------------------------------------------------- sources
name="zstd, multi-frame"
if have zstd; then
    head -n 400 "$DATA/mixed/app_logging.log" | zstd -q -c >"$T/app.log.zst"
    tail -n +401 "$DATA/mixed/app_logging.log" | zstd -q -c >>"$T/app.log.zst"
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$T/app.log.zst"
    "$PYCORR" ingest --format jsonl --no-progress "$DATA/mixed/app_logging.log" | jq -r .id | sort >"$T/ids.plain"
    expect_eq "$(jq -r .id "$T/out" | sort | tr '\n' ' ')" "$(tr '\n' ' ' <"$T/ids.plain")" "same findings as plain"
    expect_eq "$(jq -r '.sources[0].stream' "$T/out" | head -n 1 | sed 's|.*/||')" "app.log.zst" "source named"
    expect_eq "$(jq -s '[.[].count] | add' "$T/out")" 35 "every traceback"
fi

name="gzip, xz, bzip2"
for z in gzip xz bzip2; do
    if have "$z"; then
        "$z" -c "$DATA/mixed/app_logging_cri.log" >"$T/cri.$z"
        run 0 "$PYCORR" events --no-progress "$T/cri.$z"
        expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 31 "$z"
    fi
done

name="tar.zst archive read in place"
if have zstd && have tar; then
    mkdir -p "$T/arch/logs/deep"
    cp "$DATA/tracebacks/chain3_context_cause.txt" "$T/arch/logs/worker.txt"
    cp "$DATA/mixed/app_logging.log" "$T/arch/logs/deep/app.log"
    (cd "$T/arch" && tar -cf - logs | zstd -q -c >"$T/ci.tar.zst")
    run 0 "$PYCORR" events --no-progress "$T/ci.tar.zst"
    expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 36 "tracebacks of both members"
    expect_eq "$(jq -r 'select(.kind == "exception") | .source.stream' "$T/out" | sed "s|^$T/||" | sort -u | tr '\n' ' ')" \
        "ci.tar.zst!logs/deep/app.log ci.tar.zst!logs/worker.txt " "members named archive!member"
    expect_eq "$(find "$T/arch" -newer "$T/ci.tar.zst" | wc -l | tr -d ' ')" 0 "nothing extracted"
fi

name="zip archive"
if have python3; then
    (cd "$T/arch" && python3 -m zipfile -c "$T/ci.zip" logs >/dev/null)
    run 0 "$PYCORR" ingest --format jsonl --no-progress "$T/ci.zip"
    expect_eq "$(jq -s '[.[].count] | add' "$T/out")" 36 "findings count every traceback"
    expect_grep "$T/out" 'ci.zip!logs/worker.txt' "member name"
fi

name="directory, recursive"
run 0 "$PYCORR" events --no-progress "$DATA/tracebacks"
expect_eq "$(jq -s '[.[] | select(.kind == "exception")] | length' "$T/out")" 36 "every traceback of every file"

name="rules list"
run 0 "$PYCORR" rules list
expect_grep "$T/out" "nested_exception" "detector listed"
expect_grep "$T/out" "min_chain" "parameters listed"

# ---------------------------------------------------------------- families
. "$ROOT/tests/e2e/versions.sh"
. "$ROOT/tests/e2e/correlate.sh"
. "$ROOT/tests/e2e/rules.sh"
. "$ROOT/tests/e2e/gate.sh"
. "$ROOT/tests/e2e/dumps.sh"
. "$ROOT/tests/e2e/memory.sh"
PYCORR="$PYCORR" sh "$ROOT/tests/e2e/kafka.sh" && ok || bad "tests/e2e/kafka.sh (pycorr consume) failed, see above"

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
