/* gate.h -- pycorr gate's verdict on a run: every finding with its state against the
 * baseline, the baseline's findings that are gone, and the writers of the formats CI
 * systems show (SARIF for code scanning, JUnit for test views, Markdown for a pull
 * request comment or a job summary).
 *
 * A finding is new when its stable id is in no baseline, known when it is. A
 * baseline finding absent from this run is fixed when this run read artifacts of the
 * kind that showed it (logs for an exception, memory snapshots for a leak, ...) for
 * its service; otherwise this run could not have seen it, and it is unchecked --
 * neither fixed nor failing, and carried into a baseline written from this run.
 */
#ifndef PYCORR_GATE_H
#define PYCORR_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../patterns/finding.h"
#include "pipeline.h"

enum gate_state { GATE_NEW = 0, GATE_KNOWN, GATE_FIXED, GATE_UNCHECKED };
const char *gate_state_name(enum gate_state s); /* "new", "known", "fixed", "unchecked" */

/* One line of the verdict: a finding of this run, or a baseline finding that is gone.
 * Strings are borrowed from the finding or the baseline (file is owned by the result). */
struct gate_item {
    enum gate_state state;
    bool fails;                 /* new and at or above --fail-on */
    const char *id, *pattern, *rule, *title, *service;
    enum severity severity;
    uint64_t count;
    char *file;                 /* code location: the origin frame, an allocation site,
                                 * the frame a thread waits in; NULL when none */
    uint32_t line;
    const char *stream;         /* where it was seen first (an artifact), or NULL */
    uint64_t stream_line;
    const struct finding *f;    /* this run's finding; NULL for fixed and unchecked */
};

struct gate_result {
    struct gate_item *items;    /* new, known, fixed, unchecked; each most severe first */
    size_t n;
    size_t nnew, nknown, nfixed, nunchecked, nfailing;
    bool has_baseline;
    enum severity fail_on;
    const struct run_stats *stats;
    size_t folded, suppressed;  /* findings folded into a cascade, hidden by suppressions */
    int exit_code;
    char verdict[768];          /* "gate failed: 2 new high findings (...)", no prefix */
};

/* The code location a finding's evidence points at: "file:line function" strings
 * (origin_frame, app_frame, blocking_frame, exception_frame, frame), then the threads'
 * frames, then memory sites and contributors ({"file", "line"}). Returns true with file
 * (NUL-terminated, cut to filesz) and *line set. */
bool gate_code_location(const json_t *evidence, char *file, size_t filesz, uint32_t *line);

/* The writers. Each returns 0, or -1 when memory ran out; write errors stay in the
 * FILE for the caller's one check. */
int gate_write_sarif(FILE *out, const struct gate_result *g);
int gate_write_junit(FILE *out, const struct gate_result *g);
int gate_write_markdown(FILE *out, const struct gate_result *g);

#endif
