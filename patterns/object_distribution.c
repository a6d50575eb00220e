/* object_distribution.c -- the Object Distribution Anomaly pattern: the mix of memory
 * by allocation site (or of objects by type) has moved away from what is normal.
 *
 * A distribution is each site's share of the snapshot's total (the sites followed --
 * the largest -- plus "<other sites>" for the rest when the total is known). The
 * divergence between two distributions is the Jensen-Shannon divergence, base 2
 * (0 = the same mix, 1 = nothing in common), named in the evidence. Baselines:
 *   - "first snapshot": a process's last snapshot against its own first one;
 *   - "peer processes": against the pooled mix of the other processes of the same
 *     service (same artifact kind). Among three or more peers only the farthest is
 *     reported; between two, the one where the site that changed most holds the
 *     larger share (the process where something took over);
 *   - "baseline run": against a run recorded earlier (object_distribution.h).
 * Tiny processes are left out (min_total_bytes / min_total_objects): the mix of a few
 * kilobytes swings wildly and means nothing. The contributors are the sites whose
 * share changed most.
 */
#include "object_distribution.h"

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
    P_MIN_DIVERGENCE,
    P_MIN_BYTES,
    P_MIN_OBJECTS,
    P_TOP_SITES,
    P_IGNORE_TM,
    P_FIRST,
    P_PEERS,
    P_MAX_SERIES,
};

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "medium", "severity of an anomalous distribution"},
    {"min_divergence", PAT_DOUBLE, "0.1", "least Jensen-Shannon divergence (base 2, 0..1) that is anomalous"},
    {"min_total_bytes", PAT_INT, "65536", "snapshots smaller than this (bytes traced) are not compared"},
    {"min_total_objects", PAT_INT, "1000", "type counts smaller than this (objects) are not compared"},
    {"top_sites", PAT_INT, "20", "sites followed per process (the largest; the rest is <other sites>)"},
    {"ignore_tracemalloc", PAT_BOOL, "true", "leave out tracemalloc's own allocations"},
    {"compare_first", PAT_BOOL, "true", "compare each process's last snapshot with its first"},
    {"compare_peers", PAT_BOOL, "true", "compare each process with the other processes of its service"},
    {"max_series", PAT_INT, "1000", "processes x artifact kinds followed at once"},
    {NULL, 0, NULL, NULL},
};

struct oda_user {
    enum ev_snap_metric metric;
};

struct oda_baseline {
    struct ser_table series;
    unsigned long snapshots;
};

struct oda {
    struct pat_config cfg;
    struct finding_store *store;
    struct ser_table series;
    struct oda_baseline *base;
};

static void table_init(struct ser_table *t, const struct pat_config *cfg)
{
    long long top = cfg ? cfg->v[P_TOP_SITES].i : 20, ms = cfg ? cfg->v[P_MAX_SERIES].i : 1000;
    ser_table_init(t, ms > 0 && ms < 1000000 ? (uint32_t)ms : 0, 0, top > 0 && top <= 1000 ? (uint32_t)top : 0);
    t->user_free = free;
}

static bool ends_with(ev_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.ptr + s.len - n, suffix, n) == 0;
}

static bool tracemalloc_internal(ev_str f)
{
    return ends_with(f, "/tracemalloc.py") || ends_with(f, "/linecache.py") ||
           (f.len >= 17 && memcmp(f.ptr, "<frozen importlib", 17) == 0) || ev_str_eq(f, "<unknown>");
}

/* Add snapshot ev to table t: a point with the top sites and the total. */
static int collect(struct ser_table *t, const struct event *ev, const struct ev_snapshot *snap, bool ignore_tm)
{
    bool oom;
    struct series *s = ser_find(t, ev, snap->format ? snap->format : "snapshot", &oom);
    if (s == NULL)
        return oom ? -1 : 0;
    if (s->user == NULL) {
        struct oda_user *u = calloc(1, sizeof(*u));
        if (u == NULL)
            return -1;
        u->metric = snap->metric;
        s->user = u;
    }
    int p = ser_point_add(t, s, ev, snap->complete);
    if (p < 0)
        return -1;
    double total = 0;
    for (uint32_t i = 0; i < snap->nsites; i++) {
        const struct ev_snap_site *x = &snap->sites[i];
        if (ignore_tm && snap->metric == SNAP_BYTES && tracemalloc_internal(x->file))
            continue;
        total += (double)x->size;
        if (i < t->max_cols * 4 && ser_set(t, s, p, x->file, x->line, (double)x->size) == -2)
            return -1;
    }
    /* The detector's own total (internals left out), so shares add up. */
    s->pts[p].has_total = true;
    s->pts[p].total = total;
    return 0;
}

/* ---- distributions ---------------------------------------------------------------- */

struct entry {
    const char *name;
    uint32_t line;
    double p, q;   /* shares: current, baseline */
    double pv, qv; /* sizes */
};

struct mix {
    struct entry *e;
    uint32_t n, cap;
    double ptotal, qtotal;
};

static struct entry *entry_of(struct mix *m, const char *name, uint32_t line)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].line == line && strcmp(m->e[i].name, name) == 0)
            return &m->e[i];
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 32;
        struct entry *ne = realloc(m->e, cap * sizeof(*ne));
        if (ne == NULL)
            return NULL;
        m->e = ne;
        m->cap = cap;
    }
    struct entry *x = &m->e[m->n++];
    memset(x, 0, sizeof(*x));
    x->name = name;
    x->line = line;
    return x;
}

static const char *const OTHER = "<other sites>";

/* Add point pt of s as weight w of side (0 = current, 1 = baseline). */
static bool add_point(struct mix *m, const struct series *s, uint32_t pt, int side, double w)
{
    double total = s->pts[pt].total, listed = 0;
    if (!(total > 0))
        return true;
    for (uint32_t c = 0; c < s->ncols; c++) {
        double v = s->cols[c].v[pt];
        if (isnan(v) || v <= 0)
            continue;
        struct entry *e = entry_of(m, s->cols[c].name, s->cols[c].line);
        if (e == NULL)
            return false;
        listed += v;
        if (side == 0) {
            e->p += w * v / total;
            e->pv += w * v;
        } else {
            e->q += w * v / total;
            e->qv += w * v;
        }
    }
    if (total - listed > total * 1e-9) {
        struct entry *e = entry_of(m, OTHER, 0);
        if (e == NULL)
            return false;
        if (side == 0) {
            e->p += w * (total - listed) / total;
            e->pv += w * (total - listed);
        } else {
            e->q += w * (total - listed) / total;
            e->qv += w * (total - listed);
        }
    }
    if (side == 0)
        m->ptotal += w * total;
    else
        m->qtotal += w * total;
    return true;
}

static double jsd(const struct mix *m)
{
    double d = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        double p = m->e[i].p, q = m->e[i].q, mid = (p + q) / 2;
        if (p > 0)
            d += 0.5 * p * log2(p / mid);
        if (q > 0)
            d += 0.5 * q * log2(q / mid);
    }
    return d < 0 ? 0 : d > 1 ? 1 : d;
}

static int cmp_change(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    double dx = fabs(x->p - x->q), dy = fabs(y->p - y->q);
    return (dx < dy) - (dx > dy);
}

static bool big_enough(const struct oda *d, const struct series *s, uint32_t pt)
{
    const struct oda_user *u = s->user;
    double min = u->metric == SNAP_OBJECTS ? (double)d->cfg.v[P_MIN_OBJECTS].i : (double)d->cfg.v[P_MIN_BYTES].i;
    return s->pts[pt].total >= min;
}

/* ---- findings --------------------------------------------------------------------- */

static int report(struct oda *d, struct series *s, struct mix *m, double div, const char *baseline,
                  json_t *detail)
{
    const struct oda_user *u = s->user;
    bool bytes = u->metric == SNAP_BYTES;
    qsort(m->e, m->n, sizeof(*m->e), cmp_change);
    const struct entry *top = m->n ? &m->e[0] : NULL;
    /* The top contributor that is a real site, for the fingerprint and title. */
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].name != OTHER) {
            top = &m->e[i];
            break;
        }
    uint64_t fp = hash_field(HASH_INIT, baseline, strlen(baseline));
    fp = hash_field(fp, s->format, strlen(s->format));
    if (top != NULL) {
        fp = hash_field(fp, top->name, strlen(top->name));
        fp = hash_field(fp, &top->line, sizeof(top->line));
    }
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        json_decref(detail);
        return -1;
    }
    finding_make_id(f->id, "object_distribution_anomaly", fp, s->service, s->service ? strlen(s->service) : 0);
    f->pattern = "object_distribution_anomaly";
    f->rule = "builtin.object_distribution_anomaly";
    f->severity = d->cfg.v[P_SEVERITY].sev;
    f->service = s->service ? strdup(s->service) : NULL;
    f->host = s->host ? strdup(s->host) : NULL;
    f->pid = s->pid;

    json_t *e = json_object();
    json_object_set_new(e, "baseline", json_string(baseline));
    if (detail != NULL)
        json_object_set_new(e, "baseline_detail", detail);
    json_t *dv = json_object();
    json_object_set_new(dv, "method", json_string("jensen_shannon"));
    json_object_set_new(dv, "base", json_integer(2));
    json_object_set_new(dv, "value", json_real(round(div * 10000) / 10000));
    json_object_set_new(e, "divergence", dv);
    json_object_set_new(e, "metric", json_string(bytes ? "tracemalloc" : "gc_objects"));
    json_object_set_new(e, "unit", json_string(bytes ? "bytes" : "objects"));
    json_object_set_new(e, "source_format", json_string(s->format));
    json_object_set_new(e, "current_total", json_integer((json_int_t)llround(m->ptotal)));
    json_object_set_new(e, "baseline_total", json_integer((json_int_t)llround(m->qtotal)));
    json_t *arr = json_array();
    for (uint32_t i = 0; i < m->n && i < 10; i++) {
        const struct entry *x = &m->e[i];
        json_t *c = json_object();
        char name[600];
        if (x->line > 0)
            snprintf(name, sizeof(name), "%s:%u", x->name, x->line);
        else
            snprintf(name, sizeof(name), "%s", x->name);
        json_object_set_new(c, "name", json_string(name));
        if (bytes && x->name != OTHER) {
            json_object_set_new(c, "file", json_string(x->name));
            json_object_set_new(c, "line", json_integer(x->line));
        } else if (x->name != OTHER) {
            json_object_set_new(c, "type", json_string(x->name));
        }
        json_object_set_new(c, "baseline_share", json_real(round(x->q * 10000) / 10000));
        json_object_set_new(c, "current_share", json_real(round(x->p * 10000) / 10000));
        json_object_set_new(c, "baseline_size", json_integer((json_int_t)llround(x->qv)));
        json_object_set_new(c, "current_size", json_integer((json_int_t)llround(x->pv)));
        json_array_append_new(arr, c);
    }
    json_object_set_new(e, "contributors", arr);
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(e, "fingerprint", json_string(fph));
    f->evidence = e;

    char title[600], label[400] = "?";
    if (top != NULL) {
        const char *slash = bytes ? strrchr(top->name, '/') : NULL;
        if (top->line > 0)
            snprintf(label, sizeof(label), "%s:%u", slash ? slash + 1 : top->name, top->line);
        else
            snprintf(label, sizeof(label), "%s", top->name);
    }
    snprintf(title, sizeof(title), "%s mix differs from the %s: %s %s %.0f%% of %s (was %.0f%%)",
             bytes ? "memory" : "object", baseline, label, top && top->p >= top->q ? "holds" : "fell to",
             top ? top->p * 100 : 0, bytes ? "traced memory" : "objects", top ? top->q * 100 : 0);
    f->title = strdup(title);
    struct finding *in = ser_insert_finding(d->store, f, s);
    return in != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

/* Last snapshot against the first. */
static int judge_first(struct oda *d, struct series *s)
{
    if (s->npts < 2 || !big_enough(d, s, 0) || !big_enough(d, s, s->npts - 1))
        return 0;
    struct mix m = {0};
    int rc = 0;
    if (add_point(&m, s, s->npts - 1, 0, 1) && add_point(&m, s, 0, 1, 1)) {
        double div = jsd(&m);
        if (div >= d->cfg.v[P_MIN_DIVERGENCE].d) {
            json_t *detail = json_object();
            json_object_set_new(detail, "snapshots", json_integer(s->npts));
            json_object_set_new(detail, "order", json_string(ser_order_rule(s)));
            rc = report(d, s, &m, div, "first snapshot", detail);
        }
    } else {
        rc = -1;
    }
    free(m.e);
    return rc;
}

static bool same_group(const struct series *a, const struct series *b)
{
    return a != b && a->service != NULL && b->service != NULL && strcmp(a->service, b->service) == 0 &&
           strcmp(a->format, b->format) == 0 && a->pid != b->pid &&
           ((const struct oda_user *)a->user)->metric == ((const struct oda_user *)b->user)->metric;
}

/* The mix of s against the pooled mix of its peers. */
static bool peer_mix(struct oda *d, struct series *s, struct mix *m, int *npeers)
{
    *npeers = 0;
    for (uint32_t j = 0; j < d->series.n; j++) {
        struct series *o = d->series.s[j];
        if (same_group(s, o) && o->npts > 0 && big_enough(d, o, o->npts - 1))
            (*npeers)++;
    }
    if (*npeers == 0)
        return true;
    if (!add_point(m, s, s->npts - 1, 0, 1))
        return false;
    for (uint32_t j = 0; j < d->series.n; j++) {
        struct series *o = d->series.s[j];
        if (same_group(s, o) && o->npts > 0 && big_enough(d, o, o->npts - 1) &&
            !add_point(m, o, o->npts - 1, 1, 1.0 / *npeers))
            return false;
    }
    return true;
}

/* Share (current) of the entry that changed most, other sites aside. */
static double top_share(struct mix *m)
{
    qsort(m->e, m->n, sizeof(*m->e), cmp_change);
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].name != OTHER)
            return m->e[i].p;
    return 0;
}

static int judge_peers(struct oda *d)
{
    int rc = 0;
    for (uint32_t i = 0; i < d->series.n && rc == 0; i++) {
        struct series *s = d->series.s[i];
        if (s->service == NULL || s->npts == 0 || !big_enough(d, s, s->npts - 1))
            continue;
        struct mix m = {0};
        int npeers;
        if (!peer_mix(d, s, &m, &npeers)) {
            free(m.e);
            return -1;
        }
        double div = npeers ? jsd(&m) : 0;
        bool report_it = npeers > 0 && div >= d->cfg.v[P_MIN_DIVERGENCE].d;
        /* Is s the odd one out? */
        for (uint32_t j = 0; j < d->series.n && report_it; j++) {
            struct series *o = d->series.s[j];
            if (!same_group(s, o) || o->npts == 0 || !big_enough(d, o, o->npts - 1))
                continue;
            struct mix om = {0};
            int on;
            if (!peer_mix(d, o, &om, &on)) {
                free(om.e);
                free(m.e);
                return -1;
            }
            double odiv = jsd(&om);
            if (npeers == 1) {
                /* Two processes diverge equally: the one where the most-changed site
                 * holds the larger share is the one that changed. */
                struct mix cm = {0};
                cm.e = malloc(m.n * sizeof(*cm.e));
                if (cm.e != NULL) {
                    memcpy(cm.e, m.e, m.n * sizeof(*cm.e));
                    cm.n = cm.cap = m.n;
                    double mine = top_share(&cm), theirs = top_share(&om);
                    if (mine < theirs || (mine == theirs && s->pid > o->pid))
                        report_it = false;
                }
                free(cm.e);
            } else if (odiv > div || (odiv == div && o->pid < s->pid)) {
                report_it = false; /* another peer is farther out */
            }
            free(om.e);
        }
        if (report_it) {
            json_t *detail = json_object();
            json_t *pids = json_array();
            for (uint32_t j = 0; j < d->series.n; j++) {
                struct series *o = d->series.s[j];
                if (same_group(s, o) && o->npts > 0 && big_enough(d, o, o->npts - 1))
                    json_array_append_new(pids, o->pid >= 0 ? json_integer(o->pid) : json_null());
            }
            json_object_set_new(detail, "peer_pids", pids);
            json_object_set_new(detail, "service", json_string(s->service));
            rc = report(d, s, &m, div, "peer processes", detail);
        }
        free(m.e);
    }
    return rc;
}

static int judge_baseline(struct oda *d, struct series *s)
{
    if (d->base == NULL || s->npts == 0 || !big_enough(d, s, s->npts - 1))
        return 0;
    const struct oda_user *u = s->user;
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct mix m = {0};
        if (pass == 1 && (n == 0 || !add_point(&m, s, s->npts - 1, 0, 1))) {
            free(m.e);
            return n == 0 ? 0 : -1;
        }
        for (uint32_t j = 0; j < d->base->series.n; j++) {
            struct series *b = d->base->series.s[j];
            const struct oda_user *bu = b->user;
            /* Same artifact kind and metric; the same service when both name one. */
            if (b->npts == 0 || strcmp(b->format, s->format) != 0 || bu->metric != u->metric ||
                (s->service && b->service && strcmp(s->service, b->service) != 0))
                continue;
            if (pass == 0)
                n++;
            else if (!add_point(&m, b, b->npts - 1, 1, 1.0 / n)) {
                free(m.e);
                return -1;
            }
        }
        if (pass == 1) {
            double div = jsd(&m);
            int rc = 0;
            if (div >= d->cfg.v[P_MIN_DIVERGENCE].d) {
                json_t *detail = json_object();
                json_object_set_new(detail, "processes", json_integer(n));
                rc = report(d, s, &m, div, "baseline run", detail);
            }
            free(m.e);
            return rc;
        }
    }
    return 0;
}

/* ---- the detector ----------------------------------------------------------------- */

static int oda_evict(void *ctx, struct series *s);

static void *oda_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct oda *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    table_init(&d->series, cfg);
    d->series.on_evict = oda_evict;
    d->series.evict_ctx = d;
    return d;
}

static void oda_destroy(void *st)
{
    struct oda *d = st;
    if (d == NULL)
        return;
    ser_table_free(&d->series);
    oda_baseline_destroy(d->base);
    free(d);
}

static int oda_event(void *st, const struct event *ev)
{
    struct oda *d = st;
    const struct ev_snapshot *snap = ev_snapshot_of(ev);
    /* show_growth lists only the types that grew: not a distribution. */
    if (snap == NULL || (snap->has_diff && snap->metric == SNAP_OBJECTS))
        return 0;
    if (snap->reference) {
        /* A baseline run's snapshot handed over with the run (gate --baseline). */
        if (d->base == NULL && (d->base = oda_baseline_create()) == NULL)
            return -1;
        return oda_baseline_sink(d->base, ev);
    }
    return collect(&d->series, ev, snap, d->cfg.v[P_IGNORE_TM].b);
}

static int oda_flush(void *st)
{
    struct oda *d = st;
    int rc = 0;
    for (uint32_t i = 0; i < d->series.n; i++)
        ser_sort(d->series.s[i]);
    for (uint32_t i = 0; d->base != NULL && i < d->base->series.n; i++)
        ser_sort(d->base->series.s[i]);
    for (uint32_t i = 0; i < d->series.n && rc == 0 && d->cfg.v[P_FIRST].b; i++)
        rc = judge_first(d, d->series.s[i]);
    if (rc == 0 && d->cfg.v[P_PEERS].b)
        rc = judge_peers(d);
    for (uint32_t i = 0; i < d->series.n && rc == 0; i++)
        rc = judge_baseline(d, d->series.s[i]);
    return rc;
}

/* A series evicted to make room (its process went quiet): judged on its own now. */
static int oda_evict(void *ctx, struct series *s)
{
    struct oda *d = ctx;
    ser_sort(s);
    int rc = d->cfg.v[P_FIRST].b ? judge_first(d, s) : 0;
    return rc == 0 ? judge_baseline(d, s) : rc;
}

const struct pattern pattern_object_distribution_anomaly = {
    .name = "object_distribution_anomaly",
    .description = "the mix of memory by site (or objects by type) departs from the process's first snapshot, "
                   "its peers or a baseline run",
    .kinds = (1u << EV_TRACEMALLOC) | (1u << EV_GC),
    .params = params,
    .create = oda_create,
    .on_event = oda_event,
    .flush = oda_flush,
    .destroy = oda_destroy,
};

/* ---- baseline runs ---------------------------------------------------------------- */

struct oda_baseline *oda_baseline_create(void)
{
    struct oda_baseline *b = calloc(1, sizeof(*b));
    if (b != NULL)
        table_init(&b->series, NULL);
    return b;
}

void oda_baseline_destroy(struct oda_baseline *b)
{
    if (b == NULL)
        return;
    ser_table_free(&b->series);
    free(b);
}

int oda_baseline_sink(void *ctx, const struct event *ev)
{
    struct oda_baseline *b = ctx;
    const struct ev_snapshot *snap = ev_snapshot_of(ev);
    if (snap == NULL || (snap->has_diff && snap->metric == SNAP_OBJECTS))
        return 0;
    b->snapshots++;
    if (collect(&b->series, ev, snap, true) != 0)
        return -1;
    return 0;
}

unsigned long oda_baseline_snapshots(const struct oda_baseline *b) { return b ? b->snapshots : 0; }

void oda_set_baseline(void *detector, struct oda_baseline *b)
{
    struct oda *d = detector;
    for (uint32_t i = 0; b != NULL && i < b->series.n; i++)
        ser_sort(b->series.s[i]);
    oda_baseline_destroy(d->base);
    d->base = b;
}
