/* memory_leak.c -- the Memory Leak pattern: growth that persists across a process's
 * series of snapshots or samples.
 *
 * One detector serves three metrics, named in the evidence: "tracemalloc" (bytes per
 * allocation site), "gc_objects" (live objects, in all or per type) and "rss"
 * (resident set size). Per series (patterns/series.h) it keeps the top sites by size
 * and judges each at the end of input:
 *   - growth: the Theil-Sen slope over the series times its span, robust to noise and
 *     to an odd first or last sample, must reach the metric's minimum (bytes,
 *     objects) and min_growth_percent of the starting size;
 *   - persistence: Mann-Kendall tau (the share of later-higher pairs, -1..1) must
 *     reach min_trend;
 *   - no release: the falls between consecutive snapshots may give back at most
 *     max_release of the rises. A sawtooth (a cache filled then cleared) gives back
 *     most of what it took and is not a leak.
 * Sites are reported by growth, with first and last size and the rate per snapshot
 * (and per second when the snapshots have times), and the allocation traceback of the
 * top site when the dump has one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_memory.h"
#include "../correlate/hash.h"
#include "pattern.h"
#include "series.h"

enum {
    P_SEVERITY,
    P_HIGH_GROWTH,
    P_MIN_SNAPSHOTS,
    P_MIN_BYTES,
    P_MIN_OBJECTS,
    P_MIN_RSS,
    P_MIN_PERCENT,
    P_MIN_TREND,
    P_MAX_RELEASE,
    P_TOP_SITES,
    P_IGNORE_TM,
    P_MAX_SERIES,
};

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "medium", "severity of a leak"},
    {"high_growth_bytes", PAT_INT, "268435456", "a leak of at least this many bytes is high severity"},
    {"min_snapshots", PAT_INT, "3", "snapshots (or samples) a series needs before it is judged"},
    {"min_growth_bytes", PAT_INT, "16384", "least growth of a tracemalloc site, in bytes"},
    {"min_growth_objects", PAT_INT, "500", "least growth of an object count (gc, per type)"},
    {"min_rss_growth_bytes", PAT_INT, "8388608", "least growth of the resident set size"},
    {"min_growth_percent", PAT_DOUBLE, "10", "least growth relative to the first size, in percent"},
    {"min_trend", PAT_DOUBLE, "0.8", "least Mann-Kendall tau (1 = every later snapshot is larger)"},
    {"max_release", PAT_DOUBLE, "0.25", "most of the rises that falls may give back (a sawtooth gives back most)"},
    {"top_sites", PAT_INT, "20", "sites followed per series (the largest; the total is kept besides)"},
    {"ignore_tracemalloc", PAT_BOOL, "true",
     "leave out tracemalloc's own allocations (tracemalloc.py, linecache.py, <frozen importlib>, <unknown>)"},
    {"max_series", PAT_INT, "1000", "processes x artifact kinds followed at once"},
    {NULL, 0, NULL, NULL},
};

/* What a series measures. */
struct ml_user {
    bool counters;               /* columns are counters (gc_objects, rss_bytes) */
    enum ev_snap_metric metric;  /* for snapshot series */
};

struct ml_tb {
    uint32_t n;
    struct {
        char *file;
        uint32_t line;
    } f[];
};

struct ml {
    struct pat_config cfg;
    struct finding_store *store;
    struct ser_table series;
};

static void tb_free(void *p)
{
    struct ml_tb *tb = p;
    if (tb == NULL)
        return;
    for (uint32_t i = 0; i < tb->n; i++)
        free(tb->f[i].file);
    free(tb);
}

static int ml_evict(void *ctx, struct series *s);

static void *ml_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct ml *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    long long top = cfg->v[P_TOP_SITES].i, ms = cfg->v[P_MAX_SERIES].i;
    ser_table_init(&d->series, ms > 0 && ms < 1000000 ? (uint32_t)ms : 0, 0,
                   top > 0 && top <= 1000 ? (uint32_t)top : 0);
    d->series.aux_free = tb_free;
    d->series.user_free = free;
    d->series.on_evict = ml_evict;
    d->series.evict_ctx = d;
    return d;
}

static void ml_destroy(void *st)
{
    struct ml *d = st;
    if (d == NULL)
        return;
    ser_table_free(&d->series);
    free(d);
}

static bool ends_with(ev_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.ptr + s.len - n, suffix, n) == 0;
}

static bool starts_with(ev_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

/* tracemalloc's own allocations and import machinery (what Python's documentation
 * filters out before looking at statistics). */
static bool tracemalloc_internal(ev_str file)
{
    return ends_with(file, "/tracemalloc.py") || ends_with(file, "/linecache.py") ||
           starts_with(file, "<frozen importlib") || ev_str_eq(file, "<unknown>") ||
           ev_str_eq(file, "tracemalloc.py") || ev_str_eq(file, "linecache.py");
}

static struct ml_tb *tb_copy(const struct ev_snap_site *site)
{
    struct ml_tb *tb = calloc(1, sizeof(*tb) + site->ntb * sizeof(tb->f[0]));
    if (tb == NULL)
        return NULL;
    for (uint32_t i = 0; i < site->ntb; i++) {
        ev_str f = site->tb[i].file;
        tb->f[i].file = malloc((size_t)f.len + 1);
        if (tb->f[i].file == NULL) {
            tb_free(tb);
            return NULL;
        }
        memcpy(tb->f[i].file, f.ptr, f.len);
        tb->f[i].file[f.len] = '\0';
        tb->f[i].line = site->tb[i].line;
        tb->n = i + 1;
    }
    return tb;
}

static struct series *series_for(struct ml *d, const struct event *ev, const char *format, bool counters,
                                 enum ev_snap_metric metric, int *rc)
{
    bool oom;
    struct series *s = ser_find(&d->series, ev, format, &oom);
    *rc = oom ? -1 : 0;
    if (s == NULL || s->user != NULL)
        return s;
    struct ml_user *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        *rc = -1;
        return NULL;
    }
    u->counters = counters;
    u->metric = metric;
    s->user = u;
    return s;
}

static int on_snapshot(struct ml *d, const struct event *ev, const struct ev_snapshot *snap)
{
    int rc;
    struct series *s = series_for(d, ev, snap->format ? snap->format : "snapshot", false, snap->metric, &rc);
    if (s == NULL)
        return rc;
    /* The snapshot a compare_to() listing was taken against, when the series starts
     * with it: size - size_diff of each site. */
    if (snap->has_diff && s->npts == 0 && snap->metric == SNAP_BYTES) {
        struct event prev = *ev;
        prev.src.line = 0;
        prev.has_ts = false;
        int p = ser_point_add(&d->series, s, &prev, snap->complete);
        if (p < 0)
            return -1;
        for (uint32_t i = 0; i < snap->nsites && i < d->series.max_cols * 4; i++) {
            const struct ev_snap_site *x = &snap->sites[i];
            if (d->cfg.v[P_IGNORE_TM].b && tracemalloc_internal(x->file))
                continue;
            if (ser_set(&d->series, s, p, x->file, x->line, (double)(x->size - x->size_diff)) == -2)
                return -1;
        }
    }
    int p = ser_point_add(&d->series, s, ev, snap->complete);
    if (p < 0)
        return -1;
    double total = 0;
    bool listed_total = !snap->has_total;
    for (uint32_t i = 0; i < snap->nsites; i++) {
        const struct ev_snap_site *x = &snap->sites[i];
        if (d->cfg.v[P_IGNORE_TM].b && tracemalloc_internal(x->file))
            continue;
        if (listed_total)
            total += (double)x->size;
        /* Sites come largest first; a few times the followed count is plenty of
         * candidates, and keeps a 100k-site snapshot cheap. */
        if (i >= d->series.max_cols * 4)
            continue;
        int c = ser_set(&d->series, s, p, x->file, x->line, (double)x->size);
        if (c == -2)
            return -1;
        if (c >= 0 && x->ntb > 1) {
            struct ml_tb *tb = tb_copy(x);
            if (tb == NULL)
                return -1;
            tb_free(s->cols[c].aux);
            s->cols[c].aux = tb;
        }
    }
    s->pts[p].has_total = true;
    s->pts[p].total = snap->has_total ? (double)snap->total_size : total;
    if (snap->seq >= 0) {
        s->pts[p].has_step = true;
        s->pts[p].step = snap->seq;
    }
    return 0;
}

static int on_counters(struct ml *d, const struct event *ev, const struct ev_counters *c)
{
    const struct ev_counter *gc = ev_counters_get(c, EV_CTR_GC_OBJECTS);
    const struct ev_counter *rss = ev_counters_get(c, EV_CTR_RSS);
    if (gc == NULL && rss == NULL)
        return 0;
    int rc;
    struct series *s = series_for(d, ev, c->format ? c->format : "counters", true, SNAP_OBJECTS, &rc);
    if (s == NULL)
        return rc;
    int p = ser_point_add(&d->series, s, ev, false);
    if (p < 0)
        return -1;
    s->pts[p].has_clock = c->has_clock;
    s->pts[p].clock_ns = c->clock_ns;
    s->pts[p].has_step = c->has_step;
    s->pts[p].step = c->step;
    if (gc != NULL && isfinite(gc->value) &&
        ser_set(&d->series, s, p, EV_STR_LIT(EV_CTR_GC_OBJECTS), 0, gc->value) == -2)
        return -1;
    if (rss != NULL && isfinite(rss->value) && ser_set(&d->series, s, p, EV_STR_LIT(EV_CTR_RSS), 0, rss->value) == -2)
        return -1;
    return 0;
}

static int ml_event(void *st, const struct event *ev)
{
    struct ml *d = st;
    const struct ev_snapshot *snap = ev_snapshot_of(ev);
    if (snap != NULL)
        return snap->reference ? 0 : on_snapshot(d, ev, snap); /* a baseline's is no series */
    const struct ev_counters *c = ev_counters_of(ev);
    if (c != NULL)
        return on_counters(d, ev, c);
    return 0;
}

/* ---- judging ---------------------------------------------------------------------- */

enum unit { U_BYTES, U_OBJECTS };

struct leak_site {
    uint32_t col;
    struct ser_trend tr;
    double first, last; /* first and last known values, as measured */
};

static int cmp_leak(const void *a, const void *b)
{
    const struct leak_site *x = a, *y = b;
    double gx = x->last - x->first, gy = y->last - y->first;
    return (gx < gy) - (gx > gy);
}

static const char *metric_of(const struct series *s, const struct ser_col *col, enum unit *unit)
{
    const struct ml_user *u = s->user;
    if (u->counters) {
        if (strcmp(col->name, EV_CTR_RSS) == 0) {
            *unit = U_BYTES;
            return "rss";
        }
        *unit = U_OBJECTS;
        return "gc_objects";
    }
    *unit = u->metric == SNAP_OBJECTS ? U_OBJECTS : U_BYTES;
    return u->metric == SNAP_OBJECTS ? "gc_objects" : "tracemalloc";
}

static bool qualifies(const struct ml *d, const struct series *s, const struct ser_col *col, struct ser_trend *tr)
{
    if (!ser_trend(col->v, s->npts, tr))
        return false;
    if (tr->n < (uint32_t)(d->cfg.v[P_MIN_SNAPSHOTS].i > 2 ? d->cfg.v[P_MIN_SNAPSHOTS].i : 2))
        return false;
    enum unit unit;
    const char *metric = metric_of(s, col, &unit);
    double min = strcmp(metric, "rss") == 0       ? (double)d->cfg.v[P_MIN_RSS].i
                 : unit == U_OBJECTS               ? (double)d->cfg.v[P_MIN_OBJECTS].i
                                                   : (double)d->cfg.v[P_MIN_BYTES].i;
    if (!(tr->growth >= min) || !(tr->last - tr->first > 0))
        return false;
    if (tr->first > 0 && tr->growth < tr->first * d->cfg.v[P_MIN_PERCENT].d / 100.0)
        return false;
    return tr->tau >= d->cfg.v[P_MIN_TREND].d && tr->release <= d->cfg.v[P_MAX_RELEASE].d;
}

static json_t *values_json(const struct series *s, const struct ser_col *col)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < s->npts; i++)
        json_array_append_new(a, isnan(col->v[i]) ? json_null() : json_integer((json_int_t)llround(col->v[i])));
    return a;
}

static void site_label(const struct series *s, const struct ser_col *col, char *buf, size_t n)
{
    const struct ml_user *u = s->user;
    if (u->counters)
        snprintf(buf, n, "%s", strcmp(col->name, EV_CTR_RSS) == 0 ? "resident set size" : "gc-tracked objects");
    else if (u->metric == SNAP_OBJECTS || col->line == 0)
        snprintf(buf, n, "%s", col->name);
    else {
        const char *slash = strrchr(col->name, '/');
        snprintf(buf, n, "%s:%u", slash ? slash + 1 : col->name, col->line);
    }
}

/* Fingerprints of the findings made from keyed series, so an unkeyed series (dumps
 * without a pid) showing the same leak folds into them. */
struct fp_seen {
    uint64_t fp;
    char id[FINDING_ID_LEN + 1];
};

static int emit(struct ml *d, struct series *s, struct leak_site *ls, size_t nls, struct fp_seen **seen,
                size_t *nseen)
{
    const struct ser_col *top = &s->cols[ls[0].col];
    enum unit unit;
    const char *metric = metric_of(s, top, &unit);
    uint64_t fp = hash_field(HASH_INIT, metric, strlen(metric));
    fp = hash_field(fp, top->name, strlen(top->name));
    fp = hash_field(fp, &top->line, sizeof(top->line));
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    bool fold = false;
    if (ser_unkeyed(s) && seen != NULL) {
        for (size_t i = 0; i < *nseen; i++)
            if ((*seen)[i].fp == fp) {
                memcpy(f->id, (*seen)[i].id, sizeof(f->id));
                fold = true;
                break;
            }
    }
    if (!fold) /* the same leak in a series of the same service gets the same id */
        finding_make_id(f->id, "memory_leak", fp, s->service, s->service ? strlen(s->service) : 0);
    f->pattern = "memory_leak";
    f->rule = "builtin.memory_leak";
    f->service = s->service ? strdup(s->service) : NULL;
    f->host = s->host ? strdup(s->host) : NULL;
    f->pid = s->pid;

    double total_growth = 0;
    for (size_t i = 0; i < nls; i++)
        total_growth += ls[i].last - ls[i].first;
    f->severity = unit == U_BYTES && total_growth >= (double)d->cfg.v[P_HIGH_GROWTH].i ? SEV_HIGH
                                                                                      : d->cfg.v[P_SEVERITY].sev;
    double secs = 0;
    bool timed = s->npts > 1 && ser_seconds(s, 0, s->npts - 1, &secs) && secs > 0;

    json_t *e = json_object();
    json_object_set_new(e, "metric", json_string(metric));
    json_object_set_new(e, "unit", json_string(unit == U_BYTES ? "bytes" : "objects"));
    json_object_set_new(e, "snapshots", json_integer(s->npts));
    json_object_set_new(e, "order", json_string(ser_order_rule(s)));
    json_object_set_new(e, "source_format", json_string(s->format));
    if (s->decimated)
        json_object_set_new(e, "snapshots_dropped", json_integer((json_int_t)s->decimated));
    json_object_set_new(e, unit == U_BYTES ? "total_growth_bytes" : "total_growth_objects",
                        json_integer((json_int_t)llround(total_growth)));
    if (s->npts > 1 && s->pts[0].has_total && s->pts[s->npts - 1].has_total) {
        json_object_set_new(e, "total_first", json_integer((json_int_t)llround(s->pts[0].total)));
        json_object_set_new(e, "total_last", json_integer((json_int_t)llround(s->pts[s->npts - 1].total)));
    }
    if (timed)
        json_object_set_new(e, "duration_s", json_real(secs));
    json_t *sites = json_array();
    for (size_t i = 0; i < nls && i < 10; i++) {
        const struct ser_col *col = &s->cols[ls[i].col];
        const struct ml_user *u = s->user;
        json_t *j = json_object();
        if (u->counters)
            json_object_set_new(j, "counter", json_string(col->name));
        else if (u->metric == SNAP_OBJECTS)
            json_object_set_new(j, "type", json_string(col->name));
        else {
            json_object_set_new(j, "file", json_string(col->name));
            json_object_set_new(j, "line", json_integer(col->line));
        }
        double g = ls[i].last - ls[i].first;
        json_object_set_new(j, "first_size", json_integer((json_int_t)llround(ls[i].first)));
        json_object_set_new(j, "last_size", json_integer((json_int_t)llround(ls[i].last)));
        json_object_set_new(j, "growth", json_integer((json_int_t)llround(g)));
        if (unit == U_BYTES)
            json_object_set_new(j, "growth_bytes", json_integer((json_int_t)llround(g)));
        json_object_set_new(j, "growth_rate", json_real(ls[i].tr.slope));
        if (timed)
            json_object_set_new(j, "growth_rate_per_s", json_real(g / secs));
        json_object_set_new(j, "trend", json_real(ls[i].tr.tau));
        json_object_set_new(j, "values", values_json(s, col));
        json_array_append_new(sites, j);
    }
    json_object_set_new(e, "sites", sites);
    const struct ml_tb *tb = top->aux;
    if (tb != NULL && tb->n > 0) {
        json_t *a = json_array();
        for (uint32_t i = 0; i < tb->n; i++) {
            json_t *fr = json_object();
            json_object_set_new(fr, "file", json_string(tb->f[i].file));
            json_object_set_new(fr, "line", json_integer(tb->f[i].line));
            json_array_append_new(a, fr);
        }
        json_object_set_new(e, "traceback", a);
    }
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(e, "fingerprint", json_string(fph));
    f->evidence = e;

    char label[300], g1[32], g2[32], title[512];
    site_label(s, top, label, sizeof(label));
    double g = ls[0].last - ls[0].first;
    if (unit == U_BYTES)
        snprintf(title, sizeof(title), "memory grows at %s: %s over %u snapshots (%s/snapshot)%s", label,
                 ser_human_bytes(g, true, g1, sizeof(g1)), s->npts, ser_human_bytes(ls[0].tr.slope, false, g2, sizeof(g2)),
                 nls > 1 ? " and at other sites" : "");
    else
        snprintf(title, sizeof(title), "%s%s grow by %+.0f over %u samples (%.0f/sample)%s", label,
                 ((const struct ml_user *)s->user)->counters ? "" : " objects", g, s->npts, ls[0].tr.slope,
                 nls > 1 ? " and other types" : "");
    f->title = strdup(title);

    json_t *tbj = json_incref(json_object_get(e, "traceback")); /* f (and e) may be freed by a fold */
    struct finding *in = ser_insert_finding(d->store, f, s);
    if (in == NULL) {
        json_decref(tbj);
        return finding_store_dropped(d->store) ? 0 : -1;
    }
    if (!ser_unkeyed(s) && seen != NULL) {
        struct fp_seen *ns = realloc(*seen, (*nseen + 1) * sizeof(*ns));
        if (ns == NULL) {
            json_decref(tbj);
            return -1;
        }
        *seen = ns;
        ns[*nseen].fp = fp;
        memcpy(ns[*nseen].id, in->id, sizeof(ns[*nseen].id));
        (*nseen)++;
    }
    if (tbj != NULL && json_object_get(in->evidence, "traceback") == NULL) {
        /* Folded into a view without tracebacks (JSON lines, a lineno listing); this
         * series (a dump with traceback_limit > 1) has one. */
        json_object_set(in->evidence, "traceback", tbj);
    }
    json_decref(tbj);
    return 0;
}

static int judge(struct ml *d, struct series *s, struct fp_seen **seen, size_t *nseen)
{
    ser_sort(s);
    const struct ml_user *u = s->user;
    struct leak_site *ls = calloc(s->ncols ? s->ncols : 1, sizeof(*ls));
    if (ls == NULL)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (uint32_t c = 0; c < s->ncols; c++) {
        struct ser_trend tr;
        if (!qualifies(d, s, &s->cols[c], &tr))
            continue;
        ls[n].col = c;
        ls[n].tr = tr;
        ls[n].first = tr.first;
        ls[n].last = tr.last;
        n++;
    }
    if (n > 0) {
        qsort(ls, n, sizeof(*ls), cmp_leak);
        if (u->counters) {
            /* Counters are different problems: one finding each. */
            for (size_t i = 0; i < n && rc == 0; i++)
                rc = emit(d, s, &ls[i], 1, seen, nseen);
        } else {
            rc = emit(d, s, ls, n, seen, nseen);
        }
    }
    free(ls);
    return rc;
}

static int ml_flush(void *st)
{
    struct ml *d = st;
    struct fp_seen *seen = NULL;
    size_t nseen = 0;
    int rc = 0;
    /* Keyed series first, so the unkeyed views of the same leak fold into them; among
     * the unkeyed, complete dumps first: their evidence (all sites, tracebacks) leads. */
    for (int pass = 0; pass < 3 && rc == 0; pass++)
        for (uint32_t i = 0; i < d->series.n && rc == 0; i++) {
            struct series *s = d->series.s[i];
            int want = !ser_unkeyed(s) ? 0 : s->npts > 0 && s->pts[0].complete ? 1 : 2;
            if (want == pass)
                rc = judge(d, s, &seen, &nseen);
        }
    free(seen);
    return rc;
}

/* A series evicted to make room (its process went quiet): judged now. */
static int ml_evict(void *ctx, struct series *s)
{
    return judge(ctx, s, NULL, NULL);
}

const struct pattern pattern_memory_leak = {
    .name = "memory_leak",
    .description = "memory (tracemalloc sites, gc object counts, RSS) that grows across a process's snapshots "
                   "and is not given back",
    .kinds = (1u << EV_TRACEMALLOC) | (1u << EV_GC) | (1u << EV_COUNTER),
    .params = params,
    .create = ml_create,
    .on_event = ml_event,
    .flush = ml_flush,
    .destroy = ml_destroy,
};
