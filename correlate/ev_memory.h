/* ev_memory.h -- payloads of the memory kinds: snapshots (tracemalloc, per-type object
 * counts) and counter samples (gc statistics, process counters, training metrics).
 *
 * EV_TRACEMALLOC always carries u.snap. EV_COUNTER always carries u.counters. EV_GC
 * carries either (per-type object counts are a snapshot, gc.get_stats() numbers are
 * counters): both structs start with a tag so ev_snapshot_of()/ev_counters_of() can
 * tell them apart. Like the rest of an event, a payload is a view valid during the
 * sink call; ev_clone() deep-copies it.
 */
#ifndef PYCORR_EV_MEMORY_H
#define PYCORR_EV_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"

enum ev_mem_tag {
    EV_MEM_SNAPSHOT = 0x50414e53, /* "SNAP" */
    EV_MEM_COUNTERS = 0x52544e43, /* "CNTR" */
};

/* What a snapshot measures. */
enum ev_snap_metric {
    SNAP_BYTES = 0,   /* tracemalloc: bytes allocated per site */
    SNAP_OBJECTS,     /* live objects per type (objgraph, gc type counts) */
};

/* How its sites are keyed. */
enum ev_snap_group {
    SNAP_BY_LINENO = 0, /* file:line of the most recent frame */
    SNAP_BY_FILENAME,   /* file only (line 0) */
    SNAP_BY_TRACEBACK,  /* a whole traceback; file:line is its most recent frame */
    SNAP_BY_TYPE,       /* a type name in file, line 0 */
};

/* One site: an allocation site or a type. */
struct ev_snap_site {
    ev_str file;            /* file name, or the type name for SNAP_BY_TYPE */
    uint32_t line;          /* 0 when not applicable */
    int64_t size;           /* bytes, or objects for SNAP_OBJECTS */
    int64_t count;          /* memory blocks; -1 when unknown */
    int64_t size_diff;      /* against the previous snapshot, when has_diff */
    int64_t count_diff;
    struct ev_frame *tb;    /* allocation traceback, oldest frame first (as Python's
                             * Traceback.format prints it); NULL when the artifact has none */
    uint32_t ntb;
};

struct ev_snapshot {
    uint32_t tag;               /* EV_MEM_SNAPSHOT */
    const char *format;         /* static: "pickle", "statistics", "compare", "json",
                                 * "typestats", "show_growth", "most_common_types" */
    enum ev_snap_metric metric;
    enum ev_snap_group group;
    struct ev_snap_site *sites; /* largest first */
    uint32_t nsites;
    uint64_t sites_total;       /* sites the artifact had (>= nsites when cut) */
    bool complete;              /* every site is listed: an absent site has size 0.
                                 * False for top-N listings and show_growth. */
    bool has_diff;              /* size_diff/count_diff are set (compare_to, show_growth) */
    bool has_total;
    int64_t total_size;         /* over all sites of the artifact, when has_total */
    int64_t total_count;        /* -1 when unknown */
    int32_t traceback_limit;    /* frames per traceback the dump was taken with; -1 unknown */
    int64_t seq;                /* a sequence number the artifact carries; -1 when none */
    bool reference;             /* from a baseline run (gate --baseline): a reference to
                                 * compare with (object_distribution_anomaly), never
                                 * judged itself */
};

/* One named number. Values may be non-finite (a diverging training loss). */
struct ev_counter {
    ev_str name;
    double value;
};

struct ev_counters {
    uint32_t tag;               /* EV_MEM_COUNTERS */
    const char *format;         /* static: "proc_status", "gc", "training", "json" */
    struct ev_counter *v;
    uint32_t n;
    bool has_step;
    int64_t step;               /* training step or iteration */
    bool has_clock;
    int64_t clock_ns;           /* a time of day without a date ("03:21:37.027"): only
                                 * differences within one stream mean anything */
};

/* Well-known counter names, so producers and detectors agree. */
#define EV_CTR_THREADS "threads"
#define EV_CTR_FDS "fds"
#define EV_CTR_RSS "rss_bytes"
#define EV_CTR_GC_OBJECTS "gc_objects"

/* The snapshot of ev, or NULL when ev carries none. */
static inline const struct ev_snapshot *ev_snapshot_of(const struct event *ev)
{
    if ((ev->kind != EV_TRACEMALLOC && ev->kind != EV_GC) || ev->u.snap == NULL)
        return NULL;
    return ev->u.snap->tag == EV_MEM_SNAPSHOT ? ev->u.snap : NULL;
}

/* The counters of ev, or NULL when ev carries none. */
static inline const struct ev_counters *ev_counters_of(const struct event *ev)
{
    if ((ev->kind != EV_COUNTER && ev->kind != EV_GC) || ev->u.counters == NULL)
        return NULL;
    return ev->u.counters->tag == EV_MEM_COUNTERS ? ev->u.counters : NULL;
}

/* A counter by name, or NULL. */
const struct ev_counter *ev_counters_get(const struct ev_counters *c, const char *name);

/* Deep copies into arena a; NULL when the arena cannot grow. */
struct ev_snapshot *ev_snapshot_clone(const struct ev_snapshot *s, struct arena *a);
struct ev_counters *ev_counters_clone(const struct ev_counters *c, struct arena *a);

/* JSON of the payloads for `pycorr events`; at most max_sites sites are written (the
 * largest; "sites_total" says how many there were). NULL on OOM. */
json_t *ev_snapshot_to_json(const struct ev_snapshot *s, uint32_t max_sites);
json_t *ev_counters_to_json(const struct ev_counters *c);

const char *ev_snap_metric_name(enum ev_snap_metric m);
const char *ev_snap_group_name(enum ev_snap_group g);

#endif
