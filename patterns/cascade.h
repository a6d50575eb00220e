/* cascade.h -- what a closed trace tells the findings it produced.
 *
 * When the correlator closes a trace, each finding that occurred in it gets (once,
 * from the first such trace) the trace's bounded timeline, the services it crossed
 * and origin_service, the service whose error came first. When the trace holds
 * findings from more than one service, they are one failure seen in several places
 * (a cascade): the finding of the origin service is the primary, and each other is
 * counted as its symptom for that occurrence; a finding whose every occurrence was a
 * symptom is folded into its primary and reported in the primary's evidence
 * ("cascade") instead of on its own.
 *
 * Closed traces with a failure are also kept, bounded, for the per-trace report.
 */
#ifndef PYCORR_CASCADE_H
#define PYCORR_CASCADE_H

#include <jansson.h>
#include <stddef.h>

#include "../correlate/correlator.h"
#include "finding.h"

struct cascade;

/* NULL on allocation failure. keep_traces bounds the failing traces kept for the
 * per-trace report (0 keeps none). */
struct cascade *cascade_create(struct finding_store *store, size_t keep_traces);
void cascade_destroy(struct cascade *c);

/* The corr_closed_fn: ctx is the struct cascade. */
void cascade_trace_closed(void *ctx, const struct corr_trace *t);

/* Failing traces kept for the per-trace report, in the order they closed: each a
 * JSON object {trace_id, services, origin_service, first_seen, last_seen, timeline,
 * findings}. Owned by the cascade. dropped counts failing traces not kept. */
json_t *cascade_traces(struct cascade *c, size_t *dropped);

/* The timeline of a closed trace as a JSON array (also used by the reports). */
json_t *cascade_timeline_json(const struct corr_trace *t);

#endif
