/* baseline.h -- what pycorr gate compares a run with, and what a run leaves for the
 * next one.
 *
 * A --baseline PATH is either a baseline file (written by `pycorr gate
 * --write-baseline FILE`; a `--format json` report or `--format jsonl` findings of
 * ingest or gate are read as well) or the previous run's artifacts (files,
 * directories, archives), which are read through the same pipeline, detectors and
 * rules as the run itself, in an analysis of their own, all such paths together as
 * one run. Either way the baseline holds findings by stable id, the package
 * listings the previous run saw (the reference for not_my_version's drift) and, from
 * artifacts, its memory snapshots (the reference object_distribution_anomaly is to
 * compare with; see cmd_gate.c).
 *
 * A run observer sits between the pipeline and the analysis and notes what a run saw
 * besides findings: the kinds of artifacts and the services (so that a baseline
 * finding absent now is called fixed only when this run could have shown it), and
 * the package listings and snapshots to keep.
 */
#ifndef PYCORR_BASELINE_H
#define PYCORR_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../correlate/event.h"
#include "../patterns/finding.h"
#include "cli.h"
#include "gate.h"

struct ruleset;

/* ---- run observer ---- */

#define OBS_MAX_SERVICES 1024
#define OBS_MAX_PACKAGES 512   /* package listings kept */
#define OBS_MAX_SNAPSHOTS 256  /* processes x (format, metric) whose last snapshot is kept */

struct kept_snapshot;

struct run_observer {
    ev_sink_fn next;           /* where every event goes on to (the analysis) */
    void *next_ctx;
    unsigned kinds;            /* bit (1 << EV_...) per kind seen */
    char **services;           /* services seen (the service field, or a logger's first
                                * component, as the correlator infers it) */
    size_t nservices;
    bool services_full;        /* more than OBS_MAX_SERVICES: every service counts as seen */
    bool keep_snapshots;
    struct arena arena;        /* the kept events */
    const struct event **packages;
    size_t npackages;
    struct kept_snapshot **kept;  /* the last snapshot of each process, format and metric */
    const struct event **snapshots; /* their events, in the order first seen */
    size_t nsnapshots;
    uint64_t not_kept;         /* listings or snapshots over the bounds or out of memory */
};

void observer_init(struct run_observer *o, ev_sink_fn next, void *next_ctx, bool keep_snapshots);
void observer_free(struct run_observer *o);
/* An ev_sink_fn (ctx is the observer): note, keep, pass on. */
int observer_sink(void *ctx, const struct event *ev);
/* Whether the run read artifacts that could show a finding of a detector consuming
 * kinds (the artifact family counts: logs and exceptions are one) for service (NULL:
 * any). */
bool observer_covers(const struct run_observer *o, unsigned kinds, const char *service);

/* ---- baseline ---- */

struct baseline_finding {
    char id[FINDING_ID_LEN + 1];
    char *pattern, *rule, *title, *service;
    enum severity severity;
    uint64_t count;
    unsigned kinds;            /* event kinds its detector reads; ~0u when unknown */
    char *file;                /* code location, or NULL */
    uint32_t line;
    char *stream;              /* first seen at, or NULL */
    uint64_t stream_line;
    bool seen;                 /* this run has it too (set by the caller) */
};

struct baseline;

/* NULL when memory ran out. */
struct baseline *baseline_create(void);
void baseline_destroy(struct baseline *bl);

/* Load cli->baselines: baseline files are read, artifact paths analyzed together with
 * cli's options and the rule set rs. Returns EXIT_OK; EXIT_INPUT when a path cannot be
 * read at all (err says which); EXIT_USAGE for a baseline file that does not parse
 * (err: "FILE: reason"); -1 when memory ran out. Diagnostics of the artifacts'
 * records are printed by the pipeline as for any input. */
int baseline_load(struct baseline *bl, const struct cli *cli, const struct ruleset *rs, char *err, size_t errsz);

size_t baseline_count(const struct baseline *bl);
struct baseline_finding *baseline_get(struct baseline *bl, size_t i);
/* The finding with this id, or NULL. */
struct baseline_finding *baseline_find(struct baseline *bl, const char *id);

/* The previous run's package listings as EV_PACKAGES events whose payload is marked
 * reference, for the detectors before this run's inputs (owned by bl). */
size_t baseline_packages(const struct baseline *bl, const struct event *const **out);
/* The previous run's memory snapshots: the last one of each process, artifact format
 * and metric (what a reference is made of), as EV_TRACEMALLOC and EV_GC events; only
 * from artifacts: a baseline file does not carry them. Owned by bl. */
size_t baseline_snapshots(const struct baseline *bl, const struct event *const **out);
/* How many baseline files and artifact paths were read. */
void baseline_sources(const struct baseline *bl, size_t *files, size_t *artifact_paths);

/* Write a baseline file for the next run: this run's findings (new and known), the
 * baseline's unchecked findings carried over, this run's package listings and the
 * baseline's listings of services this run listed none for. Returns 0, or -1 when
 * memory ran out (write errors stay in out). */
int baseline_write(FILE *out, const struct gate_result *g, const struct run_observer *run,
                   const struct baseline *bl);

#endif
