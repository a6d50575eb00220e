/* series.h -- bounded per-process series of snapshots or samples, and the trend
 * statistics the memory detectors judge them by.
 *
 * A series is keyed by (host, service, pid, artifact format). An artifact without
 * any of host, service and pid (a bare Snapshot.dump(), a statistics() listing) is
 * keyed by its directory instead, so the dumps of one run form one series and two
 * runs in two directories stay apart.
 *
 * Points arrive in input order and are ordered when the series is read, by the
 * documented rule (the report states which applied):
 *   1. the event time, when every point has one ("timestamp");
 *   2. otherwise the numbers in the stream's file name, compared as numbers
 *      (snapshot_2 before snapshot_10), then the file's modification time, then the
 *      line within the stream ("file name number, then modification time").
 *
 * Memory is bounded three ways: at most max_series series (further keys are counted
 * and dropped), at most max_points points per series (when full, every other point
 * is dropped, first and last kept, so a long series keeps its shape at half the
 * resolution), and at most max_cols named columns per series -- the top sites by
 * size, not every site of a 100k-site snapshot; the total of each snapshot is kept
 * besides. A column that enters late has no value (NaN) for the earlier points.
 *
 * Nothing here prints; allocation failures are returned.
 */
#ifndef PYCORR_SERIES_H
#define PYCORR_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"
#include "finding.h"

struct ser_point {
    bool has_ts;
    int64_t ts;           /* event time, ns */
    bool has_clock;
    int64_t clock_ns;     /* time of day only (counters text); for rates within a stream */
    uint32_t stream;      /* index into the series' stream names */
    uint64_t line;
    uint64_t arrival;
    bool has_total;
    double total;
    bool complete;        /* a column without a value here is 0, not unknown */
    bool has_step;
    int64_t step;
};

struct ser_col {
    char *name;           /* file, type or counter name */
    uint32_t line;
    uint64_t hash;
    double *v;            /* per point; NaN = unknown */
    double peak;          /* largest value seen, for eviction */
    void *aux;            /* the owner's, freed with ser_table's aux_free */
};

struct ser_reported {
    char id[FINDING_ID_LEN + 1];
    bool owned; /* made by this series, not folded into another's */
};

struct series {
    char *host, *service; /* NULL when unknown */
    int64_t pid;          /* -1 when unknown */
    char *scope;          /* directory, for series without keys; NULL otherwise */
    const char *format;   /* static */
    uint64_t key_hash;
    struct ser_point *pts;
    uint32_t npts, cap_pts;
    struct ser_col *cols;
    uint32_t ncols;
    char **streams;       /* distinct stream names */
    int64_t *mtimes;      /* their modification times (ns), -1 unknown */
    uint32_t nstreams;
    uint64_t decimated;   /* points dropped to stay within max_points */
    uint64_t last_arrival;/* when it last got a point, for eviction */
    bool sorted;
    void *user;           /* the owner's per-series state, freed with user_free */
    struct ser_reported *reported; /* findings this series made or joined (ser_report) */
    uint32_t nreported;
};

struct ser_table {
    struct series **s;
    uint32_t n, cap;
    uint32_t max_series, max_points, max_cols;
    uint64_t arrivals;
    uint64_t dropped_series;  /* not followed: the table was full and nothing evicted */
    uint64_t evicted;         /* judged early to make room */
    void (*aux_free)(void *aux);
    void (*user_free)(void *user);
    /* When set, a full table makes room by judging and freeing the series that has
     * gone longest without a point (a process that has gone away); its return is
     * ignored. Without it, new series are dropped. */
    int (*on_evict)(void *ctx, struct series *s);
    void *evict_ctx;
};

/* Limits of 0 take the defaults (1000 series, 120 points, 20 columns). */
void ser_table_init(struct ser_table *t, uint32_t max_series, uint32_t max_points, uint32_t max_cols);
void ser_table_free(struct ser_table *t);

/* The series of ev's process for format, created when new. NULL when the table is
 * full and evicts nothing (counted in dropped_series) or memory ran out (*oom set).
 * Series live until ser_table_free: a detector judges them at every flush (consume
 * flushes at each checkpoint) and a series goes on across flushes. */
struct series *ser_find(struct ser_table *t, const struct event *ev, const char *format, bool *oom);

/* Append a point for ev; returns its index or -1 on OOM. complete: the point lists
 * every column (an absent one is 0). */
int ser_point_add(struct ser_table *t, struct series *s, const struct event *ev, bool complete);

/* Set column (name, line) at point p. Columns are admitted while there is room; a
 * full series admits a name only when value beats the smallest peak (which is then
 * evicted). Returns the column index, -1 when not admitted, -2 on OOM. */
int ser_set(struct ser_table *t, struct series *s, int p, ev_str name, uint32_t line, double value);

/* Sort the points by the ordering rule (idempotent). */
void ser_sort(struct series *s);

/* The ordering rule that applied, for the report. */
const char *ser_order_rule(const struct series *s);

/* Whether the series has no host, service or pid (keyed by directory). */
bool ser_unkeyed(const struct series *s);

/* Seconds between points a and b when both have event time or both a clock within
 * one stream; false otherwise. */
bool ser_seconds(const struct series *s, uint32_t a, uint32_t b, double *out);

/* Trend of v[0..n) (NaN entries skipped): Theil-Sen growth over the span, Mann-Kendall
 * tau, and how much of the rise was given back (sum of falls / sum of rises). */
struct ser_trend {
    uint32_t n;           /* known values */
    double first, last, min, max;
    double growth;        /* Theil-Sen slope x (n - 1) */
    double slope;         /* per step */
    double tau;           /* -1 .. 1 */
    double release;       /* 0 = never fell */
};
/* Returns false when fewer than 2 values are known or memory ran out. */
bool ser_trend(const double *v, uint32_t n, struct ser_trend *out);

/* Natural comparison of two file names: digit runs compare as numbers. */
int ser_natural_cmp(const char *a, const char *b);


/* ---- findings of series (shared by the memory detectors) ---- */

/* "1.9 MiB", "190 KiB", "512 B"; signed when plus is set ("+1.9 MiB"). Returns buf. */
char *ser_human_bytes(double b, bool plus, char *buf, size_t n);

/* An event standing for point p of s (its keys, time and source), to insert or fold a
 * finding with. The event's strings point into s. */
void ser_point_event(const struct series *s, uint32_t p, struct event *ev);

/* Put f, made from series s, into the store, with ev for its time and source:
 *   - s made this id before (an earlier flush judged it): the stored finding is
 *     brought up to date -- evidence and title replaced, time range extended -- and
 *     its count stays, since it is the same occurrence seen longer;
 *   - s was folded into it before: only the time range is extended;
 *   - another series made it (another view of the same problem): folded, count + 1;
 *   - else inserted.
 * Takes ownership of f. Returns the stored finding or NULL (dropped or OOM). */
struct finding *ser_report(struct finding_store *st, struct finding *f, struct series *s, const struct event *ev);

/* ser_report with the series' first point as the event, then the time range and the
 * sources of all its points. */
struct finding *ser_insert_finding(struct finding_store *st, struct finding *f, struct series *s);

#endif
