#!/bin/sh
# pycorr gate, the CI artifact gate: real archives built here from corpus artifacts
# (tar.zst with tar and zstd, zip with python's zipfile, a tar.gz inside the zip), the
# gate run without a baseline, with a baseline file and with the previous run's
# artifacts; exit codes and the verdict line; the SARIF checked field by field against
# SARIF 2.1.0's required properties and its locations against the MANIFEST; the JUnit
# parsed back with python's xml.etree; the Markdown; Not My Version against
# tests/data/gate/MANIFEST.json; and the README's GitHub Actions and GitLab CI snippets
# run as they are written.
#
# Sourced by run.sh (uses its run/expect helpers, $PYCORR, $T, $ROOT, have).
G=$T/gate
GD=$ROOT/tests/data/gate
GMAN=$GD/MANIFEST.json
C=$ROOT/tests/data/corpus
CMAN=$C/MANIFEST.json
mkdir -p "$G"

# SARIF 2.1.0, field by field: what the specification requires (sarifLog.version and
# runs, run.tool.driver.name, reportingDescriptor.id, result.message.text,
# invocation.executionSuccessful, stack.frames) and what code scanning needs of a
# result (ruleId naming a rule, ruleIndex agreeing, level, a location with an
# artifactLocation.uri and region.startLine >= 1, partialFingerprints), with enums in
# their ranges. Prints one line per violation.
sarif_violations() {
    jq -r '
      def bad(c; m): if c then m else empty end;
      . as $d |
      bad($d.version != "2.1.0"; "version is \($d.version)"),
      bad(($d["$schema"] | type) != "string" or ($d["$schema"] | test("sarif-schema-2\\.1\\.0\\.json$") | not); "$schema"),
      bad(($d.runs | type) != "array" or ($d.runs | length) != 1; "runs"),
      ($d.runs[]? | . as $r |
        bad(($r.tool.driver.name | type) != "string" or $r.tool.driver.name == ""; "tool.driver.name"),
        bad(($r.tool.driver.rules | type) != "array"; "tool.driver.rules"),
        ([$r.tool.driver.rules[]?.id] as $ids |
          bad(($ids | length) != ($ids | unique | length); "a rule id twice"),
          ($r.tool.driver.rules[]? |
            bad((.id | type) != "string" or .id == ""; "a rule without id"),
            bad((.shortDescription.text | type) != "string"; "rule \(.id): shortDescription.text"),
            (.defaultConfiguration.level as $l |
              bad($l != null and (["none","note","warning","error"] | index($l)) == null; "rule level \($l)"))),
          ($r.invocations[]? | bad((.executionSuccessful | type) != "boolean"; "invocation.executionSuccessful")),
          bad(($r.results | type) != "array"; "results"),
          ($r.results[]? | . as $x |
            bad(($x.ruleId | type) != "string" or ($ids | index($x.ruleId)) == null; "ruleId \($x.ruleId) names no rule"),
            bad(($x.ruleIndex | type) != "number" or $r.tool.driver.rules[$x.ruleIndex].id != $x.ruleId; "ruleIndex of \($x.ruleId)"),
            bad(($x.message.text | type) != "string" or $x.message.text == ""; "message.text"),
            bad((["none","note","warning","error"] | index($x.level)) == null; "level \($x.level)"),
            bad(($x.kind // "fail") != "fail" and $x.level != "none"; "kind \($x.kind) with level \($x.level)"),
            bad(($x.locations | type) != "array" or ($x.locations | length) < 1; "locations"),
            ($x.locations[]?.physicalLocation |
              bad((.artifactLocation.uri | type) != "string" or
                  (.artifactLocation.uri | test("^[A-Za-z0-9._~:/?#@!$&()*+,;=%\\[\\]'"'"'-]+$") | not); "uri \(.artifactLocation.uri)"),
              bad((.region.startLine | type) != "number" or .region.startLine < 1; "region.startLine")),
            bad(($x.partialFingerprints | type) != "object" or ($x.partialFingerprints | length) < 1 or
                ([$x.partialFingerprints[] | type] | unique) != ["string"]; "partialFingerprints"),
            bad($x.baselineState != null and
                (["new","unchanged","updated","absent"] | index($x.baselineState)) == null; "baselineState \($x.baselineState)"),
            ($x.stacks[]? | bad((.frames | type) != "array"; "stack.frames")),
            ($x.relatedLocations[]? | bad((.physicalLocation.artifactLocation.uri | type) != "string"; "relatedLocations uri"))
          )))' "$1" 2>&1 || echo "jq failed on $1"
}
expect_sarif() { # FILE WHAT
    sarif_violations "$1" >"$T/sarif-bad"
    if [ -s "$T/sarif-bad" ]; then bad "$2: SARIF: $(head -n 5 "$T/sarif-bad" | tr '\n' ';')"; else ok; fi
}

# JUnit parsed back: prints "tests failures errors testcases failing-testcases" and the
# names of the failing testcases, or "INVALID: why".
junit_summary() {
    python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except ET.ParseError as e:
    print("INVALID: %s" % e); sys.exit(0)
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
if root.tag not in ("testsuites", "testsuite") or not suites:
    print("INVALID: root %s" % root.tag); sys.exit(0)
cases = [c for s in suites for c in s.findall("testcase")]
failing = [c for c in cases if c.find("failure") is not None]
for s in suites:
    if int(s.get("tests")) != len(s.findall("testcase")):
        print("INVALID: tests=%s but %d testcases" % (s.get("tests"), len(s.findall("testcase")))); sys.exit(0)
    if int(s.get("failures")) != len([c for c in s.findall("testcase") if c.find("failure") is not None]):
        print("INVALID: failures attribute"); sys.exit(0)
for c in cases:
    if not c.get("name") or not c.get("classname"):
        print("INVALID: a testcase without name or classname"); sys.exit(0)
print(sum(int(s.get("tests")) for s in suites), sum(int(s.get("failures")) for s in suites),
      sum(int(s.get("errors")) for s in suites), len(cases), len(failing))
for c in failing:
    print(c.get("classname"), c.get("name"), len([l for l in (c.find("failure").text or "").split("\n") if l and not l.startswith(" ")]))
PY
}

# ---------------------------------------------------------------- the CI tarballs
# run1: the shop logs, a worker traceback, package listings of two alike hosts.
# run2: the same plus a new traceback, hosts whose versions differ, and a tar.gz of
# more logs inside the zip (an archive in the archive).
mkdir -p "$G/run1/artifacts/logs" "$G/run1/artifacts/versions" "$G/run2/artifacts/logs" "$G/run2/artifacts/versions" "$G/more/logs"
cp "$C/mixed/app_logging.log" "$G/run1/artifacts/logs/app.log"
cp "$C/tracebacks/chain3_context_cause.txt" "$G/run1/artifacts/logs/worker.txt"
cp "$GD/versions/control/"*.txt "$GD/versions/workers.importlib.jsonl" "$G/run1/artifacts/versions/"
cp "$G/run1/artifacts/logs/"* "$G/run2/artifacts/logs/"
cp "$C/tracebacks/simple_keyerror.txt" "$G/run2/artifacts/logs/keyerror.txt"
cp "$GD/versions/skew/"*.txt "$GD/versions/workers.importlib.jsonl" "$G/run2/artifacts/versions/"
cp "$C/tracebacks/thread_exception.txt" "$G/more/logs/thread.txt"
tb() { jq "[.[] | select(.path == \"$1\") | .expected.traceback_blocks] | add" "$CMAN"; }
tb1=$(($(tb mixed/app_logging.log) + $(tb tracebacks/chain3_context_cause.txt)))
tb2=$((tb1 + $(tb tracebacks/simple_keyerror.txt) + $(tb tracebacks/thread_exception.txt)))
have_archivers=no
if have zstd && have tar && have python3; then
    have_archivers=yes
    (cd "$G/run1" && tar -cf - artifacts | zstd -q -c >"$G/run1.tar.zst")
    (cd "$G/more" && tar -czf "$G/run2/artifacts/more.tar.gz" logs)
    (cd "$G/run2" && python3 -m zipfile -c "$G/run2.zip" artifacts >/dev/null)
fi

if [ "$have_archivers" = yes ]; then
# ---------------------------------------------------------------- without a baseline
name="gate: tar.zst without a baseline"
run 1 "$PYCORR" gate --no-progress --format json --sarif "$G/run1.sarif" --junit "$G/run1.xml" \
    --markdown "$G/run1.md" --write-baseline "$G/base1.json" "$G/run1.tar.zst"
cp "$T/out" "$G/run1.json"
cp "$T/err" "$G/run1.err"
expect_eq "$(jq .summary.tracebacks "$G/run1.json")" "$tb1" "every traceback of the archive (MANIFEST)"
nhigh1=$(jq '[.findings[] | select(.severity == "high" or .severity == "critical")] | length' "$G/run1.json")
expect_eq "$(jq '[.findings[] | select(.pattern == "nested_exception")] | length' "$G/run1.json")" "$nhigh1" \
    "the high findings are the tracebacks"
expect_eq "$(tail -n 1 "$G/run1.err")" "pycorr: gate failed: $nhigh1 new high findings (nested_exception); no baseline" \
    "verdict is the last line"
expect_eq "$(jq -r '[.findings[].baseline_state] | unique | join(",")' "$G/run1.json")" "new" "all new"
expect_eq "$(jq '.verdict.exit_code' "$G/run1.json")" 1 "json verdict"
expect_eq "$(jq '[.findings[] | select(.pattern == "not_my_version")] | length' "$G/run1.json")" 0 \
    "alike hosts: no version finding (MANIFEST control)"
# The same findings as ingest of the unpacked files.
"$PYCORR" ingest --no-progress --format jsonl "$G/run1/artifacts" | jq -r .id | sort >"$G/ids.ingest"
expect_eq "$(jq -r '.findings[].id' "$G/run1.json" | sort | tr '\n' ' ')" "$(tr '\n' ' ' <"$G/ids.ingest")" \
    "the ids of ingest on the unpacked tree"

name="gate: SARIF 2.1.0"
expect_sarif "$G/run1.sarif" "run1"
expect_eq "$(jq '.runs[0].results | length' "$G/run1.sarif")" "$(jq '.findings | length' "$G/run1.json")" "a result per finding"
expect_eq "$(jq '[.runs[0].results[] | select(.baselineState != null)] | length' "$G/run1.sarif")" 0 \
    "no baselineState without a baseline"
expect_eq "$(jq -r '[.runs[0].results[].partialFingerprints["pycorrFindingId/v1"]] | sort | join(" ")' "$G/run1.sarif")" \
    "$(jq -r '[.findings[].id] | sort | join(" ")' "$G/run1.json")" "partialFingerprints are the stable ids"
expect_eq "$(jq -r '[.runs[0].results[] | select(.properties.severity == "high") | .level] | unique | join(",")' "$G/run1.sarif")" \
    "error" "high is level error"
# The origin frame of each chain whose root was raised in application code is the
# result's location (MANIFEST: the root's innermost frame).
jq -r '.[] | select(.path == "mixed/app_logging.log") | .expected.blocks[].chain[0].innermost_frame |
       select(.file | startswith("/opt/app/")) | "file://\(.file):\(.line)"' "$CMAN" | sort -u >"$G/origins.want"
jq -r '.runs[0].results[].locations[0].physicalLocation | "\(.artifactLocation.uri):\(.region.startLine)"' \
    "$G/run1.sarif" | sort -u >"$G/origins.got"
missing=$(comm -23 "$G/origins.want" "$G/origins.got" | tr '\n' ' ')
expect_eq "$missing" "" "origin frames (MANIFEST) as physicalLocation"
expect_eq "$(jq '[.runs[0].results[] | select(.stacks != null)] | length' "$G/run1.sarif")" "$nhigh1" "chains as stacks"
name="gate: --format sarif is the --sarif document"
run 1 "$PYCORR" gate --no-progress --format sarif "$G/run1.tar.zst"
expect_eq "$(jq -S 'del(.runs[0].invocations)' "$T/out" | cksum)" "$(jq -S 'del(.runs[0].invocations)' "$G/run1.sarif" | cksum)" "same SARIF"

name="gate: JUnit"
junit_summary "$G/run1.xml" >"$G/junit1"
expect_no_grep "$G/junit1" "INVALID" "well-formed, counts agree"
expect_eq "$(sed -n 1p "$G/junit1" | cut -d' ' -f5)" 1 "one failing testcase (the rule with new high findings)"
expect_eq "$(sed -n 2p "$G/junit1")" "pycorr.nested_exception nested_exception $nhigh1" "its failure lists each finding"
expect_grep "$G/run1.xml" 'classname="pycorr.deadlock"' "a passing testcase for a detector that found nothing"

name="gate: Markdown"
expect_eq "$(head -n 1 "$G/run1.md")" "### pycorr gate: failed" "heading"
expect_grep "$G/run1.md" "^| Severity | Pattern | Finding | Where | Count | Id |" "the findings table"
expect_eq "$(grep -c '^| \*\*high\*\* | nested_exception |' "$G/run1.md")" "$nhigh1" "a row per new high finding"
expect_grep "$G/run1.md" '`order_api.py:55`' "where: the origin frame"

# ---------------------------------------------------------------- with a baseline file
name="gate: the same run against its own baseline file passes"
run 0 "$PYCORR" gate --no-progress --baseline "$G/base1.json" "$G/run1.tar.zst"
nfind1=$(jq '.findings | length' "$G/run1.json")
expect_eq "$(tail -n 1 "$T/err")" "pycorr: gate passed: no new findings at or above high; $nfind1 known, 0 fixed" "verdict"
expect_eq "$(jq -r '.pycorr_baseline' "$G/base1.json")" 1 "baseline format"
expect_eq "$(jq '[.packages[] | select(.service == "api")] | length' "$G/base1.json")" 2 "the listings kept"

name="gate: zip with a tar.gz inside, against the baseline file"
run 1 "$PYCORR" gate --no-progress --format json --sarif "$G/run2.sarif" --junit "$G/run2.xml" \
    --markdown "$G/run2.md" --baseline "$G/base1.json" "$G/run2.zip"
cp "$T/out" "$G/run2.json"
cp "$T/err" "$G/run2.err"
expect_eq "$(jq .summary.tracebacks "$G/run2.json")" "$tb2" "every traceback, the nested archive's too (MANIFEST)"
expect_eq "$(jq -r '[.findings[].sources[].stream | select(contains("!artifacts/more.tar.gz!logs/thread.txt"))] | length' "$G/run2.json")" \
    1 "a member of the archive in the archive, named outer!member!inner"
expect_eq "$(jq '.verdict.known' "$G/run2.json")" "$nfind1" "run1's findings are known"
nnew_high=$(jq '[.findings[] | select(.baseline_state == "new" and .severity == "high")] | length' "$G/run2.json")
expect_eq "$nnew_high" 2 "two new tracebacks (keyerror.txt, thread.txt)"
nbelow=$(jq '[.findings[] | select(.baseline_state == "new" and .severity != "high" and .severity != "critical")] | length' "$G/run2.json")
expect_eq "$(tail -n 1 "$G/run2.err")" \
    "pycorr: gate failed: 2 new high findings (nested_exception); $nfind1 known, 0 fixed, $nbelow new below high" "verdict"
expect_sarif "$G/run2.sarif" "run2"
expect_eq "$(jq -r '[.runs[0].results[].baselineState] | unique | join(",")' "$G/run2.sarif")" "new,unchanged" \
    "baselineState new and unchanged"
expect_eq "$(jq '[.runs[0].results[] | select(.baselineState == "unchanged")] | length' "$G/run2.sarif")" "$nfind1" \
    "unchanged = known"

name="gate: Not My Version in the zip (MANIFEST)"
jq -c '.expected.skew[] | {package, versions: (.versions | keys | sort)}' "$GMAN" | sort >"$G/skew.want"
jq -c '.findings[] | select(.pattern == "not_my_version" and .evidence.kind == "skew") |
       {package: .evidence.package, versions: ([.evidence.versions[].version] | sort)}' "$G/run2.json" | sort >"$G/skew.got"
expect_eq "$(cat "$G/skew.got")" "$(cat "$G/skew.want")" "skew: packages and versions"
jq -c '.expected.skew_with_control_as_baseline.drift[] | {package, version, baseline_versions}' "$GMAN" | sort >"$G/drift.want"
jq -c '.findings[] | select(.pattern == "not_my_version" and .evidence.kind == "drift") |
       {package: .evidence.package, version: .evidence.versions[0].version, baseline_versions: .evidence.baseline_versions}' \
    "$G/run2.json" | sort >"$G/drift.got"
expect_eq "$(cat "$G/drift.got")" "$(cat "$G/drift.want")" "drift from the baseline file's listings"
expect_eq "$(jq -r '[.findings[] | select(.pattern == "not_my_version" and .evidence.kind == "skew") |
       .evidence.versions[] | select(.version == "2.28.2") | .processes[].host] | join(",")' "$G/run2.json")" "web-2" \
    "the host that runs the old requests"
expect_eq "$(jq '[.findings[] | select(.pattern == "not_my_version" and .service == "worker")] | length' "$G/run2.json")" 0 \
    "alike workers: nothing (MANIFEST)"

name="gate: JUnit and Markdown with a baseline"
junit_summary "$G/run2.xml" >"$G/junit2"
expect_no_grep "$G/junit2" "INVALID" "well-formed"
expect_eq "$(sed -n 2p "$G/junit2")" "pycorr.nested_exception nested_exception 2" "the failure lists the two new ones"
expect_eq "$(python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); print(sum(len([l for l in (c.findtext("system-out") or "").split("\n") if "[known]" in l]) for c in r.iter("testcase")))' "$G/run2.xml")" \
    "$nfind1" "known findings in system-out"
expect_grep "$G/run2.md" "^#### New findings ($(jq '.verdict.new' "$G/run2.json"))" "new findings first"
expect_grep "$G/run2.md" "<summary>Known findings (in the baseline): $nfind1</summary>" "known ones folded"

# ---------------------------------------------------------------- the previous run's artifacts
name="gate: the previous run's artifacts as the baseline"
run 1 "$PYCORR" gate --no-progress --format json --baseline "$G/run1.tar.zst" "$G/run2.zip"
expect_eq "$(jq -S '[.findings[] | {id, baseline_state}] | sort_by(.id)' "$T/out" | cksum)" \
    "$(jq -S '[.findings[] | {id, baseline_state}] | sort_by(.id)' "$G/run2.json" | cksum)" \
    "the same verdict per finding as with the baseline file"
expect_eq "$(jq '.baseline.artifact_paths' "$T/out")" 1 "read as artifacts"
expect_eq "$(tail -n 1 "$T/err")" "$(tail -n 1 "$G/run2.err")" "the same verdict line"

# ---------------------------------------------------------------- fixed and unchecked
name="gate: fixed since the baseline"
mkdir -p "$G/run3/logs"
grep ' INFO ' "$C/mixed/app_logging.log" >"$G/run3/logs/app.log"
cp "$GD/versions/control/"*.txt "$G/run3/"
run 0 "$PYCORR" gate --no-progress --format sarif --baseline "$G/base1.json" "$G/run3"
cp "$T/out" "$G/run3.sarif"
nne=$(jq '[.findings[] | select(.pattern == "nested_exception")] | length' "$G/run1.json")
expect_eq "$(tail -n 1 "$T/err")" "pycorr: gate passed: no new findings at or above high; 0 known, $nne fixed" \
    "the tracebacks are gone from logs of the same service"
expect_sarif "$G/run3.sarif" "run3"
expect_eq "$(jq -r '[.runs[0].results[] | "\(.kind)/\(.level)/\(.baselineState)"] | unique | join(",")' "$G/run3.sarif")" \
    "pass/none/absent" "fixed: kind pass, level none, baselineState absent"
name="gate: unchecked when the run read nothing that could show it"
run 0 "$PYCORR" gate --no-progress --format json --baseline "$G/base1.json" "$GD/versions/control"
expect_eq "$(jq '.verdict.unchecked' "$T/out")" "$nne" "the tracebacks: no logs were read"
expect_eq "$(jq '.verdict.fixed' "$T/out")" 0 "nothing called fixed"
run 0 "$PYCORR" gate --no-progress --baseline "$G/base1.json" --write-baseline "$G/carried.json" "$GD/versions/control"
expect_eq "$(jq '[.findings[] | select(.pattern == "nested_exception")] | length' "$G/carried.json")" "$nne" \
    "unchecked findings carried into the next baseline"

# ---------------------------------------------------------------- memory snapshots
# The baseline run's snapshots are object_distribution_anomaly's reference (the memory
# corpus: the same workload twice, the anomalous run caching a page per request).
OD=$ROOT/tests/data/memory/corpus/memory/object_distribution/page_cache
MMAN=$ROOT/tests/data/memory/MANIFEST.json
if [ -d "$OD" ] && [ -f "$MMAN" ]; then
    name="gate: a baseline run's memory snapshots are the distribution's reference"
    site=$(jq -r '[.[] | select(.scenario == "oda-page_cache" and .expected.role == "anomalous") |
                  .expected.anomalous_site] | unique | .[0]' "$MMAN")
    run 0 "$PYCORR" gate --no-progress --fail-on critical --format json --sarif "$G/oda.sarif" --baseline "$OD/baseline" "$OD/anomalous"
    expect_eq "$(jq '.baseline.memory_snapshots_used > 0' "$T/out")" true "snapshots handed over"
    expect_eq "$(jq -r '[.findings[] | select(.pattern == "object_distribution_anomaly" and .evidence.baseline == "baseline run") |
                        .evidence.contributors[0].name] | unique | join(",")' "$T/out")" "$site" \
        "the anomalous site, against the baseline run (MANIFEST)"
    expect_sarif "$G/oda.sarif" "oda"
    expect_eq "$(jq -r --arg uri "file://${site%:*}" --argjson line "${site##*:}" \
        '[.runs[0].results[] | select(.ruleId | test("object_distribution")) | .locations[0].physicalLocation |
          select(.artifactLocation.uri == $uri and .region.startLine == $line)] | length > 0' "$G/oda.sarif")" true \
        "SARIF: located at the anomalous site"
    run 0 "$PYCORR" gate --no-progress --fail-on critical --format json "$OD/anomalous"
    expect_eq "$(jq '[.findings[] | select(.evidence.baseline == "baseline run")] | length' "$T/out")" 0 \
        "no baseline run without --baseline"
fi

# ---------------------------------------------------------------- exit codes
name="gate: an unreadable input is exit 3, said in the verdict"
run 3 "$PYCORR" gate --no-progress "$G/run1.tar.zst" "$G/nope.tar.zst"
expect_grep "$T/err" "nope.tar.zst: No such file" "names it"
expect_eq "$(tail -n 1 "$T/err" | cut -d';' -f1)" \
    "pycorr: gate failed: 1 input could not be read, $nhigh1 new high findings (nested_exception)" "verdict"
name="gate: an unreadable baseline is exit 3"
run 3 "$PYCORR" gate --no-progress --baseline "$G/nope.json" "$G/run1.tar.zst"
expect_eq "$(tail -n 1 "$T/err")" "pycorr: gate failed: the baseline could not be read" "verdict"
name="gate: a broken baseline file is exit 2"
printf '{"pycorr_baseline": 1, "findings": [{"id": "zz"}]}\n' >"$G/broken.json"
run 2 "$PYCORR" gate --no-progress --baseline "$G/broken.json" "$G/run1.tar.zst"
expect_grep "$T/err" "broken.json: findings\[0\]" "names the entry"
name="gate: an output that cannot be written is exit 4"
run 4 "$PYCORR" gate --no-progress --sarif "$G/no/such/dir/x.sarif" "$G/run1.tar.zst"
expect_eq "$(tail -n 1 "$T/err")" "pycorr: gate failed: the SARIF output could not be written" "verdict"
if [ -w /dev/full ]; then
    run 4 "$PYCORR" gate --no-progress --junit /dev/full "$G/run1.tar.zst"
    expect_grep "$T/err" "No space left on device" "the cause"
fi
name="gate: --write-baseline may name the --baseline it reads"
cp "$G/base1.json" "$G/rolling.json"
run 1 "$PYCORR" gate --no-progress --baseline "$G/rolling.json" --write-baseline "$G/rolling.json" "$G/run2.zip"
expect_eq "$(tail -n 1 "$T/err")" "$(tail -n 1 "$G/run2.err")" "the old one was read first"
run 0 "$PYCORR" gate --no-progress --baseline "$G/rolling.json" "$G/run2.zip"
expect_eq "$(ls "$G" | grep -c 'pycorr-tmp' || true)" 0 "no temporary file left"

name="gate: --format sarif is for gate only"
run 2 "$PYCORR" ingest --format sarif "$G/run1.tar.zst"
expect_grep "$T/err" "only pycorr gate writes it" "says so"

# ---------------------------------------------------------------- hostile titles
name="gate: a title with markup stays inside its table cell, its XML and its JSON"
printf 'Traceback (most recent call last):\n  File "/srv/app/h.py", line 3, in f\nValueError: bad | cell <script>alert(1)</script> & `tick` ]]> \001 end\n' \
    >"$G/hostile.log"
run 1 "$PYCORR" gate --no-progress --format markdown --junit "$G/hostile.xml" --sarif "$G/hostile.sarif" "$G/hostile.log"
expect_grep "$T/out" 'bad \\| cell &lt;script&gt;' "pipe escaped, markup neutralized"
expect_no_grep "$T/out" "<script>" "no raw markup"
expect_eq "$(python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); f=[c.find("failure") for c in r.iter("testcase") if c.find("failure") is not None][0]; print("<script>" in f.text and "]]>" in f.text)' "$G/hostile.xml")" \
    "True" "JUnit parses back with the text intact"
expect_sarif "$G/hostile.sarif" "hostile"
fi # have_archivers

# ---------------------------------------------------------------- the README's CI snippets
# The lines between the pycorr-ci markers of each snippet, as the README has them.
snippet() { # github|gitlab
    sed -n "/# >>> pycorr-ci $1/,/# <<< pycorr-ci $1/p" "$ROOT/README.md" |
        sed -e 's/^ *//' -e 's/^- //' -e "s/^'\\(.*\\)'\$/\\1/" -e "s/''/'/g"
}
mkdir -p "$G/bin"
ln -sf "$PYCORR" "$G/bin/pycorr"
ci_artifacts() { # DIR
    mkdir -p "$1/artifacts/logs" "$1/artifacts/versions"
    cp "$C/mixed/app_logging.log" "$1/artifacts/logs/app.log"
    cp "$C/tracebacks/chain3_context_cause.txt" "$1/artifacts/logs/worker.txt"
    cp "$GD/versions/control/"*.txt "$1/artifacts/versions/"
}
name="README: the GitHub Actions snippet"
snippet github >"$G/github.sh"
expect_grep "$G/github.sh" "pycorr gate" "the snippet is found"
if have zstd && have tar; then
    ci_artifacts "$G/gh"
    : >"$G/gh/step-summary.md"
    run 1 sh -c "cd '$G/gh' && PATH='$G/bin':\$PATH GITHUB_STEP_SUMMARY='$G/gh/step-summary.md' sh -e '$G/github.sh'"
    expect_grep "$T/err" "^pycorr: gate failed: .* new high findings (nested_exception); no baseline" "first run fails"
    expect_sarif "$G/gh/pycorr.sarif" "github run 1"
    junit_summary "$G/gh/pycorr-junit.xml" >"$G/gh/junit"
    expect_no_grep "$G/gh/junit" "INVALID" "JUnit"
    expect_eq "$(head -n 1 "$G/gh/step-summary.md")" "### pycorr gate: failed" "the job summary"
    # The workflow's main-branch steps keep the baseline for the next run.
    mv "$G/gh/pycorr-baseline.next.json" "$G/gh/pycorr-baseline.json"
    run 0 sh -c "cd '$G/gh' && PATH='$G/bin':\$PATH GITHUB_STEP_SUMMARY='$G/gh/step-summary.md' sh -e '$G/github.sh'"
    expect_grep "$T/err" "^pycorr: gate passed: no new findings at or above high; [0-9]* known, 0 fixed" "second run passes"
    expect_eq "$(jq -r '[.runs[0].results[].baselineState] | unique | join(",")' "$G/gh/pycorr.sarif")" "unchanged" \
        "the SARIF says unchanged"
fi
name="README: the GitLab CI snippet"
snippet gitlab >"$G/gitlab.sh"
expect_grep "$G/gitlab.sh" "pycorr gate" "the snippet is found"
ci_artifacts "$G/gl"
# curl stubbed: the first pipeline finds no baseline; the next gets the one kept.
printf 'curl() { [ -f .baseline-kept ] && cp .baseline-kept pycorr-baseline.json; }\n' >"$G/gl-prelude.sh"
run 1 sh -c "cd '$G/gl' && PATH='$G/bin':\$PATH && . '$G/gl-prelude.sh' && . '$G/gitlab.sh'"
expect_grep "$T/err" "^pycorr: gate failed: .* new high findings (nested_exception); no baseline" "first pipeline fails"
junit_summary "$G/gl/pycorr-junit.xml" >"$G/gl/junit"
expect_no_grep "$G/gl/junit" "INVALID" "the JUnit report GitLab reads"
expect_eq "$(sed -n 1p "$G/gl/junit" | cut -d' ' -f5)" 1 "one failing testcase"
expect_sarif "$G/gl/pycorr.sarif" "gitlab"
cp "$G/gl/pycorr-baseline.json" "$G/gl/.baseline-kept"
rm -f "$G/gl/pycorr-baseline.json"
run 0 sh -c "cd '$G/gl' && PATH='$G/bin':\$PATH && . '$G/gl-prelude.sh' && . '$G/gitlab.sh'"
expect_grep "$T/err" "^pycorr: gate passed: no new findings at or above high" "the next pipeline passes"
junit_summary "$G/gl/pycorr-junit.xml" >"$G/gl/junit"
expect_eq "$(sed -n 1p "$G/gl/junit" | cut -d' ' -f5)" 0 "no failing testcase"

# ---------------------------------------------------------------- Not My Version on a terminal
name="not_my_version in the text report: a line per version, and the baseline's"
run 0 "$PYCORR" gate --no-progress --baseline "$GD/versions/control" "$GD/versions/skew"
expect_grep "$T/out" "^         requests  2\.28\.2  web-2 pid 3117 (Python 3\.11\.6)$" "the old version and who runs it"
expect_grep "$T/out" "^                   2\.31\.0  web-1 pid 4242 (Python 3\.11\.6)$" "the other version under it"
expect_grep "$T/out" "^         baseline  2\.31\.0$" "what the baseline runs"
expect_grep "$T/out" "^         urllib3   1\.26\.18  web-2 pid 3117" "the version column fits the longest"
run 0 "$PYCORR" ingest --no-progress "$GD/versions/skew"
expect_no_grep "$T/out" "^         baseline" "no baseline line without a baseline"
