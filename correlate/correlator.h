/* correlator.h -- events put back together per trace and per process, in bounded
 * memory.
 *
 * Events arrive in (nearly) event-time order. An event with a trace id joins its
 * trace; one without joins the trace active in the same process (host, service,
 * pid -- or the same stream when it names no process) within a time window, and is
 * marked as joined by time. Each open trace keeps a bounded timeline of one-line
 * summaries and the marks its consumer attached (e.g. the findings its events
 * produced). A trace closes when it has been idle for idle_ns of event time (the
 * watermark is the latest event time seen, minus the allowed lateness), when the
 * open-trace cap forces the oldest out, or at the end; its consumer then gets the
 * whole timeline, the services in time order and the service that failed first.
 *
 * Trace ids are keyed by their low 64 bits, so a Datadog decimal id (64 bits) and
 * the 128-bit W3C id of the same trace meet; the full id is kept when seen.
 */
#ifndef PYCORR_CORRELATOR_H
#define PYCORR_CORRELATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct corr_config {
    int64_t idle_ns;        /* a trace idle this long (event time) is closed; 0 = 30 s */
    int64_t window_ns;      /* time join window for events without a trace id; 0 = 5 s */
    int64_t lateness_ns;    /* tolerated disorder; 0 = 5 s */
    size_t max_traces;      /* open traces; 0 = 20000 */
    size_t max_timeline;    /* entries kept per trace; 0 = 24 */
    size_t max_procs;       /* processes remembered for time joins; 0 = 20000 */
    bool infer_service;     /* no service field: take the logger's first component */
};

#define CORR_SUMMARY 88
#define CORR_NAME 48

struct corr_entry {
    int64_t ts;
    bool has_ts;
    bool by_time;            /* joined to the trace by time, not by id */
    enum ev_kind kind;
    enum ev_level level;
    char service[CORR_NAME];
    char summary[CORR_SUMMARY];
    const char *stream;      /* interned: valid while the correlator lives */
    uint64_t line;
};

struct corr_mark {
    void *tag;               /* the consumer's: a finding */
    int64_t ts;
    bool has_ts;
    const char *service;     /* interned: valid while the correlator lives; "" unknown */
};

/* What the consumer gets when a trace closes (valid during the callback). */
struct corr_trace {
    char id[33];             /* normalized; 32 hex when the full id was seen */
    int64_t first_ts, last_ts;
    bool has_ts;
    const struct corr_entry *timeline;  /* time order */
    size_t ntimeline;
    uint64_t dropped_entries;           /* events beyond max_timeline (not kept) */
    const char *services[16];           /* in order of first appearance in time */
    size_t nservices;
    const char *origin_service;         /* whose error came first; NULL if no error */
    int64_t origin_ts;
    const struct corr_mark *marks;
    size_t nmarks;
    bool evicted_early;                 /* closed by the cap, not by idleness */
};

typedef void (*corr_closed_fn)(void *ctx, const struct corr_trace *t);

struct corr_stats {
    uint64_t traces;         /* traces opened */
    uint64_t open_peak;
    uint64_t evicted_early;  /* closed by the cap before they were idle */
    uint64_t joined_by_time;
    uint64_t late_events;    /* older than the watermark minus the lateness */
    uint64_t services_inferred;
};

struct correlator;

/* NULL on allocation failure. */
struct correlator *corr_create(const struct corr_config *cfg, corr_closed_fn closed, void *ctx);
void corr_destroy(struct correlator *c);

/* Correlate one event. *out is ev itself, or a copy (in the correlator's scratch,
 * valid until the next call) with the trace id and service filled in; pass *out to
 * the detectors. Returns 0, or -1 when memory ran out (the event is passed through
 * uncorrelated). */
int corr_event(struct correlator *c, const struct event *ev, const struct event **out);

/* Attach a mark to the trace of the last event given to corr_event (no-op when it
 * had none). Returns 0, or -1 when the trace's marks are full. */
int corr_mark_last(struct correlator *c, void *tag);

/* Close every trace idle by the current watermark (called by corr_event). */
void corr_expire(struct correlator *c);

/* Close every open trace (end of input). */
void corr_finish(struct correlator *c);

const struct corr_stats *corr_get_stats(const struct correlator *c);
size_t corr_open_traces(const struct correlator *c);

#endif
