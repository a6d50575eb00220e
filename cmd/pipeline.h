/* pipeline.h -- inputs to events: expand paths to streams, detect each stream's
 * format, run its parser, and hand every event to one sink.
 *
 * The pipeline owns the user-facing account of the run: malformed records are
 * printed as "pycorr: warning (at SOURCE:LINE): reason" (the first few per stream)
 * and counted; inputs that cannot be read at all are printed and counted; progress
 * is drawn on stderr when it is a terminal.
 */
#ifndef PYCORR_PIPELINE_H
#define PYCORR_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../correlate/event.h"
#include "cli.h"

struct run_stats {
    uint64_t inputs;         /* streams read */
    uint64_t bytes;          /* decoded bytes parsed */
    uint64_t events;
    uint64_t exceptions;
    uint64_t malformed;
    uint64_t unreadable;     /* paths or streams that could not be read at all */
    uint64_t by_parser_text, by_parser_jsonl;
};

struct pipeline {
    const struct cli *cli;
    ev_sink_fn sink;
    void *sink_ctx;
    struct run_stats stats;
    bool progress;           /* draw a progress line */
    /* private */
    uint64_t total_raw, done_raw;
    double started, last_draw;
    uint64_t lost_events;    /* copies for the merge that memory refused */
    bool stopped;            /* the sink asked to stop */
    bool failed;             /* out of memory */
};

/* Run every path of cli through the parsers into sink. Returns 0, or -1 when memory
 * ran out or the sink asked to stop with an error (already reported). */
int pipeline_run(struct pipeline *pl);

/* Whether stderr is a terminal and progress was not turned off. */
bool pipeline_wants_progress(const struct cli *cli);

#endif
