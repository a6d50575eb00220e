#!/bin/sh
# The rules engine from the command line: rule tests (shipped and README examples),
# check and its file:line:col errors, user rules in ingest, suppressions by id and by
# condition, an expired suppression, and a shipped rule replaced by the user's.
#
# Sourced by run.sh (uses its run/expect helpers, $PYCORR, $T, $ROOT, $DATA).

name="rules test: the shipped catalog"
run 0 "$PYCORR" rules test
expect_grep "$T/out" " 0 failed" "every shipped rule test passes"
expect_eq "$(grep -c '^ok .*(rules/python.rules' "$T/out")" "$("$PYCORR" rules list | grep -c '(rules/python.rules')" \
    "every domain rule has a test"

name="rules test: the README examples"
run 0 "$PYCORR" rules test "$ROOT/tests/rules/examples.rules"
expect_grep "$T/out" "5 rule tests, 9 expectations: 5 passed, 0 failed" "all examples pass"

name="rules test: a failing expectation fails"
sed 's/expect finding count 1 severity critical/expect finding count 2 severity critical/' \
    "$ROOT/tests/rules/examples.rules" >"$T/wrong.rules"
run 1 "$PYCORR" rules test "$T/wrong.rules"
expect_grep "$T/err" "wrong.rules:80: test psycopg2_wrapped_deep: expected count 2, got 1" "names file and line"

name="rules check: errors name file:line:col, exit 2"
printf 'rule ok\n  match level >= ERROR\n\nrule bad\n  description: x\n  match level >= LOUD\n' >"$T/bad.rules"
run 2 "$PYCORR" rules check "$T/bad.rules"
expect_grep "$T/err" "bad.rules:6:18: 'LOUD' is not a level" "position of the bad value"
printf 'rule r\n  match message ~ /a(b/\n' >"$T/re.rules"
run 2 "$PYCORR" rules check "$T/re.rules"
expect_grep "$T/err" "re.rules:2:.*bad regex: missing closing parenthesis" "regex error"
printf 'rule r\n  frobnicate now\n' >"$T/dir.rules"
run 2 "$PYCORR" rules check "$T/dir.rules"
expect_grep "$T/err" "dir.rules:2:3: unknown directive 'frobnicate'" "unknown directive"
printf 'rule r\n  pattern: nested_exception\n  set min_chian = 2\n' >"$T/param.rules"
run 2 "$PYCORR" ingest --no-progress --rules "$T/param.rules" "$DATA/tracebacks/simple_keyerror.txt"
expect_grep "$T/err" "param.rules:3:7: nested_exception: no parameter named 'min_chian'" "unknown parameter"
run 0 "$PYCORR" rules check "$ROOT/tests/rules/examples.rules"
expect_grep "$T/out" "examples.rules: ok (5 rules, 0 suppressions, 5 tests)" "a good file"

name="user rules in ingest"
run 0 "$PYCORR" ingest --format jsonl --no-progress --rules "$ROOT/tests/rules/examples.rules" \
    "$ROOT/tests/data/structured/gateway.jsonl"
expect_eq "$(jq -r 'select(.rule == "http_5xx_burst") | .pattern' "$T/out" | head -n 1)" threshold "threshold finding"
expect_eq "$(jq -r 'select(.rule == "http_5xx_burst") | .tags | join(",")' "$T/out" | head -n 1)" http "tags carried"

name="a shipped rule replaced by the user's"
printf 'rule nested_exception\n  description: mine\n  pattern: nested_exception\n  set severity = low\n' >"$T/low.rules"
run 0 "$PYCORR" ingest --format jsonl --no-progress --rules "$T/low.rules" "$DATA/tracebacks/simple_keyerror.txt"
expect_eq "$(jq -r '.severity' "$T/out")" low "the user's severity"
run 0 "$PYCORR" rules list --rules "$T/low.rules"
expect_grep "$T/out" "mine (.*low.rules:1)" "listed from the user's file"

name="suppressions"
id=$("$PYCORR" ingest --format jsonl --no-progress "$DATA/tracebacks/simple_keyerror.txt" | jq -r .id)
printf 'suppress known_keyerror\n  description: tracked in JIRA-1\n  id: %s\n' "$id" >"$T/sup.rules"
run 0 "$PYCORR" ingest --format json --no-progress --rules "$T/sup.rules" "$DATA/tracebacks/simple_keyerror.txt"
expect_eq "$(jq -r '.findings | length' "$T/out")" 0 "suppressed by id"
expect_eq "$(jq -r '.summary.suppressed_findings' "$T/out")" 1 "counted"
printf 'suppress no_keyerrors\n  when evidence.root_type == "KeyError" and service exists\n' >"$T/sup2.rules"
run 0 "$PYCORR" ingest --format json --no-progress --rules "$T/sup2.rules" "$DATA/tracebacks/simple_keyerror.txt"
expect_eq "$(jq -r '.findings | length' "$T/out")" 1 "the condition does not hold (no service): kept"
printf 'suppress no_keyerrors\n  when evidence.root_type == "KeyError"\n  until: 2020-01-31\n' >"$T/sup3.rules"
run 0 "$PYCORR" ingest --format json --no-progress --rules "$T/sup3.rules" "$DATA/tracebacks/simple_keyerror.txt"
expect_eq "$(jq -r '.findings | length' "$T/out")" 1 "an expired suppression no longer applies"
expect_grep "$T/err" "suppression no_keyerrors (.*sup3.rules:1) expired on 2020-01-31 and no longer applies" "and says so"

name="domain rules on corpus artifacts"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$DATA/training/logreg_lr_too_high.stderr.txt"
expect_eq "$(jq -r 'select(.rule == "nonfinite_training_loss") | .pattern' "$T/out")" counter_value "non-finite loss"
run 0 "$PYCORR" ingest --format jsonl --no-progress "$DATA/tracebacks/recursion_self.txt"
expect_eq "$(jq -r 'select(.rule == "recursion_error") | .pattern' "$T/out")" stack_overflow "RecursionError"
