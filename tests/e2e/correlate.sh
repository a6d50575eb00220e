#!/bin/sh
# Correlation across sources: the shop scenario (gateway -> orders -> inventory,
# payments, notifier), once as five service logs with five trace-id spellings and
# once as one OTLP export, checked against the MANIFEST trace truth: for every
# failing trace, its services, the services whose exceptions it holds, the service
# that failed first and the root cause; for the OTLP export also the time order.
#
# Sourced by run.sh (uses its run/expect helpers, $PYCORR, $T, $ROOT).
S=$ROOT/tests/data/structured
EXP=$S/traces.json

check_traces() { # $1: label, $2: document from --format json --by-trace
    jq -r -n --slurpfile exp "$EXP" --slurpfile got "$2" '
      $exp[0].traces as $E | $got[0] as $G |
      $E | to_entries[] | .key as $id | .value as $e |
      ([$G.traces[] | select(.trace_id == $id)] | .[0]) as $t |
      if $t == null then "missing trace \($id)"
      elif $t.origin_service != $e.origin_service then "\($id): origin \($t.origin_service) != \($e.origin_service)"
      elif ($t.services | sort) != ($e.services | sort) then "\($id): services \($t.services) != \($e.services)"
      elif ([$e.exceptions[].service] | sort | unique) !=
           ([$t.findings[] | select(.pattern == "nested_exception") | .service] | sort | unique)
        then "\($id): exception services differ"
      else
        ([$t.findings[] | select(.pattern == "nested_exception" and .service == $e.origin_service) | .id] | .[0]) as $fid |
        ([$G.findings[] | select(.id == $fid)] | .[0]) as $f |
        if $f == null then "\($id): the origin finding is not reported"
        elif $f.evidence.root_type != $e.root_cause.type then "\($id): root \($f.evidence.root_type) != \($e.root_cause.type)"
        else empty end
      end' >"$T/trace-errors" 2>&1 || echo "jq failed" >>"$T/trace-errors"
    if [ -s "$T/trace-errors" ]; then bad "$1: $(head -n 5 "$T/trace-errors")"; else ok; fi
    expect_eq "$(jq '[.traces[]] | length' "$2")" "$(jq '.traces | length' "$EXP")" "$1: failing traces"
}

name="correlate: five service logs, five trace-id spellings"
run 0 "$PYCORR" ingest --by-trace --format json --no-progress \
    "$S/gateway.jsonl" "$S/orders.jsonl" "$S/inventory.jsonl" "$S/payments.jsonl" "$S/notifier.ecs.jsonl"
cp "$T/out" "$T/five.json"
check_traces "five logs" "$T/five.json"
expect_eq "$(jq -r '.summary.correlation.traces' "$T/five.json")" 30 "every trace of the run"

name="correlate: a cascade is one finding"
run 0 "$PYCORR" ingest --format json --no-progress \
    "$S/gateway.jsonl" "$S/orders.jsonl" "$S/inventory.jsonl" "$S/payments.jsonl" "$S/notifier.ecs.jsonl"
expect_eq "$(jq -r '[.findings[] | select(.evidence.root_type == "TimeoutError")] | length' "$T/out")" 1 \
    "the payment timeout is reported once"
expect_eq "$(jq -r '.findings[] | select(.evidence.root_type == "TimeoutError") | [.evidence.cascade[].service] | sort | join(",")' "$T/out")" \
    "gateway,orders" "downstream services folded into it"
expect_eq "$(jq -r '[.findings[] | select(.title | startswith("orders.OrderFailed"))] | length' "$T/out")" 0 \
    "the orders symptom is not a finding of its own"
expect_eq "$(jq -r '.findings[] | select(.evidence.root_type == "TimeoutError") | .evidence.origin_service' "$T/out")" \
    payments "origin service"
expect_eq "$(jq -r '.findings[] | select(.service == "inventory") | .trace_id | length' "$T/out")" 32 \
    "the Datadog 64-bit id resolved to the full trace id"

name="correlate: the OTLP export alone, in time order"
run 0 "$PYCORR" ingest --by-trace --format json --no-progress "$S/otlp_logs.jsonl"
cp "$T/out" "$T/otlp.json"
check_traces "otlp" "$T/otlp.json"
jq -r -n --slurpfile exp "$EXP" --slurpfile got "$T/otlp.json" '
  $exp[0].traces | to_entries[] | .key as $id | .value as $e |
  ([$got[0].traces[] | select(.trace_id == $id)] | .[0]) as $t |
  if [$t.timeline[].service] != [$e.event_order[][0]] then "\($id): order \([$t.timeline[].service])" else empty end' \
    >"$T/order-errors" 2>&1 || echo "jq failed" >>"$T/order-errors"
if [ -s "$T/order-errors" ]; then bad "time order: $(head -n 3 "$T/order-errors")"; else ok; fi

name="correlate: text timeline per trace"
run 0 "$PYCORR" ingest --by-trace --no-progress "$S/otlp_logs.jsonl"
expect_grep "$T/out" "trace 8b9d2434e465e150bd9c66b3ad3c2d6d  gateway > orders > inventory > payments   failed first: payments" "trace headline"
expect_grep "$T/out" "<- origin" "origin marked"

name="correlate: a traceback without trace id joins its process by time"
cat >"$T/svc.jsonl" <<'JL'
{"timestamp": "2026-11-24T03:22:34.100000+00:00", "level": "INFO", "logger": "billing.api", "message": "invoice started", "trace_id": "0af7651916cd43dd8448eb211c80319c", "pid": 4242}
{"timestamp": "2026-11-24T03:22:34.300000+00:00", "level": "ERROR", "logger": "billing.api", "message": "invoice failed", "pid": 4242, "exc_info": "Traceback (most recent call last):\n  File \"/srv/billing/api.py\", line 10, in run\n    total()\nZeroDivisionError: division by zero"}
{"timestamp": "2026-11-24T03:22:59.300000+00:00", "level": "ERROR", "logger": "billing.api", "message": "much later", "pid": 4242, "exc_info": "Traceback (most recent call last):\n  File \"/srv/billing/api.py\", line 20, in later\n    x()\nKeyError: 'x'"}
JL
run 0 "$PYCORR" ingest --format jsonl --no-progress --window 2s "$T/svc.jsonl"
expect_eq "$(jq -r 'select(.evidence.root_type == "ZeroDivisionError") | .trace_id' "$T/out")" \
    "0af7651916cd43dd8448eb211c80319c" "joined to the active trace"
expect_eq "$(jq -r 'select(.evidence.root_type == "ZeroDivisionError") | .evidence.correlated_by' "$T/out")" \
    "trace_id+time" "the report says the join was by time"
expect_eq "$(jq -r 'select(.evidence.root_type == "KeyError") | .trace_id' "$T/out")" "null" \
    "outside the window: not joined"

name="correlate: --no-correlate"
run 0 "$PYCORR" ingest --format json --no-progress --no-correlate "$S/payments.jsonl"
expect_eq "$(jq -r '.summary | has("correlation")' "$T/out")" false "no correlation summary"
