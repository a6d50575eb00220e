/* analysis.h -- the detectors, rules and correlation of a run, and the findings they
 * produce.
 *
 * Shared by every command that analyzes (ingest, gate, consume, rules test): one
 * place loads the rules (the shipped catalog plus --rules), creates the detectors
 * the rules configure, correlates each event, routes it to the rules engine and to
 * the detectors that consume its kind, and at the end turns the store into the list
 * of findings to report: rules applied, suppressions honoured, cascades folded.
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
struct ruleset;

/* Load the rule set of cli (shipped + --rules). NULL with "file:line:col: message"
 * in err (exit 2). */
struct ruleset *analysis_load_rules(const struct cli *cli, char *err, size_t errsz);

/* NULL with a message in err. rs is borrowed and must outlive the analysis. */
struct analysis *analysis_create(const struct cli *cli, const struct ruleset *rs, char *err, size_t errsz);
void analysis_destroy(struct analysis *a);

/* An ev_sink_fn: the event goes to the rules and every detector of its kind. */
int analysis_sink(void *ctx, const struct event *ev);

/* End of input: detectors and rules put what they held back into the store; open
 * traces close. */
void analysis_flush(struct analysis *a);

struct analysis_counts {
    size_t folded;       /* symptoms folded into a cascade's primary */
    size_t suppressed;   /* by suppressions */
    size_t unclaimed;    /* detector findings no rule of their pattern wanted */
    char expired[8][160];/* suppressions that expired, to warn about */
    size_t nexpired;
};

/* The findings to report, most severe first (owned by the analysis; valid until the
 * next call or destroy). Call after analysis_flush. */
struct finding **analysis_findings(struct analysis *a, size_t *n, struct analysis_counts *counts);

struct finding_store *analysis_store(struct analysis *a);

/* Correlation counters, or NULL with --no-correlate. */
struct corr_stats;
const struct corr_stats *analysis_corr_stats(const struct analysis *a);

/* Failing traces kept for --by-trace (owned by the analysis; NULL when none). */
json_t *analysis_failing_traces(struct analysis *a, size_t *dropped);

/* Whether memory ran short somewhere (events were lost to a detector or rule). */
bool analysis_lost_events(const struct analysis *a);

#endif
