/* analysis.h -- the detectors of a run and the store their findings go to.
 *
 * Shared by every command that analyzes (ingest, gate, consume): one place creates
 * the detectors with their configured parameters and routes each event to the
 * detectors that consume its kind.
 */
#ifndef PYCORR_ANALYSIS_H
#define PYCORR_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../correlate/event.h"
#include "../patterns/finding.h"
#include "cli.h"

struct analysis;

/* NULL with a message in err (a rule-file error: exit 2; or out of memory). */
struct analysis *analysis_create(const struct cli *cli, char *err, size_t errsz);
void analysis_destroy(struct analysis *a);

/* An ev_sink_fn: the event goes to every detector that consumes its kind. */
int analysis_sink(void *ctx, const struct event *ev);

/* End of input: detectors put what they held back into the store. */
void analysis_flush(struct analysis *a);

struct finding_store *analysis_store(struct analysis *a);

/* Correlation counters, or NULL with --no-correlate. */
struct corr_stats;
const struct corr_stats *analysis_corr_stats(const struct analysis *a);

/* Failing traces kept for --by-trace (owned by the analysis; NULL when none). */
json_t *analysis_failing_traces(struct analysis *a, size_t *dropped);

/* Whether a detector ran out of memory at some point (events were lost to it). */
bool analysis_lost_events(const struct analysis *a);

#endif
