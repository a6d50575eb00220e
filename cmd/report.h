/* report.h -- findings to the reader: a text report for people, JSON for tools.
 *
 * The text report groups findings most severe first, draws exception chains from the
 * root to the outermost exception, and uses colour only when asked to (a terminal,
 * NO_COLOR unset, or --color always). json is one document with a summary; jsonl is
 * one finding per line (DESIGN §4).
 */
#ifndef PYCORR_REPORT_H
#define PYCORR_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "../correlate/correlator.h"
#include "../patterns/finding.h"
#include "cli.h"
#include "pipeline.h"

struct report_ctx {
    FILE *out;
    bool color;
    const struct run_stats *stats;
    uint64_t dropped_findings;
    size_t folded_findings;             /* symptoms folded into a cascade's primary */
    size_t suppressed_findings;         /* by suppressions */
    const struct corr_stats *corr;      /* NULL without correlation */
    json_t *traces;                     /* --by-trace: failing traces, or NULL */
    size_t traces_dropped;
    const char *command;   /* "ingest", "gate" */
};

/* Write the findings; returns 0, or -1 when memory ran out (write errors are left
 * in the FILE for the caller's one check at exit). */
int report_write(enum out_format fmt, struct finding *const *f, size_t n, const struct report_ctx *ctx);

/* One finding in the text report's layout, without the summary (pycorr consume prints
 * each new finding as it appears). */
void report_text_finding(FILE *out, bool color, const struct finding *f);

#endif
