/* counter_value.c -- the Counter Value pattern: a counter that turns non-finite (a
 * training loss that becomes NaN or infinite) or leaves its normal range.
 *
 * Per process and artifact kind, every counter is followed (at most MAX_COUNTERS per
 * process): the first sample that is NaN or infinite, in step order (or time, or line
 * when there is no step), is the offending sample, reported with the last finite
 * sample before it. The normal range is learned from the first range_warmup samples
 * of a counter that moves both ways (cumulative counters, which only grow, have no
 * range): [min - f * span, max + f * span] with f = range_factor; a finite sample
 * outside it is out of range. One finding per process names every counter that went
 * wrong, the loss (or the earliest) first.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_memory.h"
#include "../correlate/evtime.h"
#include "../correlate/hash.h"
#include "pattern.h"
#include "series.h"

#define MAX_COUNTERS 64

enum { P_SEVERITY, P_RANGE_SEVERITY, P_NONFINITE, P_RANGE_WARMUP, P_RANGE_FACTOR, P_MAX_SERIES };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "high", "severity of a counter that turned NaN or infinite"},
    {"range_severity", PAT_SEVERITY, "medium", "severity of a counter that left its normal range"},
    {"nonfinite", PAT_BOOL, "true", "report counters that turn NaN or infinite"},
    {"range_warmup", PAT_INT, "20", "samples that define a counter's normal range"},
    {"range_factor", PAT_DOUBLE, "10", "how many spans of the normal range a value may stray (0 = no range check)"},
    {"max_series", PAT_INT, "1000", "processes x artifact kinds followed at once"},
    {NULL, 0, NULL, NULL},
};

/* Where a sample stands in its series: step, else time, else line. */
struct at {
    bool set;
    int64_t key;
    bool has_step;
    int64_t step;
    bool has_ts;
    int64_t ts;
    uint64_t line;
    double value;
};

struct ctr {
    char *name;
    struct at bad;        /* first non-finite */
    struct at before;     /* last finite sample before it */
    struct at out;        /* first out of range */
    uint32_t seen;        /* finite samples */
    double wmin, wmax, wprev;
    bool both_ways;       /* warmup moved up and down */
    bool up, down;
};

struct cv_series {
    struct ctr c[MAX_COUNTERS];
    uint32_t n;
    uint64_t dropped;     /* counters beyond MAX_COUNTERS */
};

struct cv {
    struct pat_config cfg;
    struct finding_store *store;
    struct ser_table series;
};

static void user_free(void *p)
{
    struct cv_series *u = p;
    if (u == NULL)
        return;
    for (uint32_t i = 0; i < u->n; i++)
        free(u->c[i].name);
    free(u);
}

static int cv_evict(void *ctx, struct series *s);

static void init_table(struct cv *d)
{
    long long ms = d->cfg.v[P_MAX_SERIES].i;
    ser_table_init(&d->series, ms > 0 && ms < 1000000 ? (uint32_t)ms : 0, 4, 1);
    d->series.user_free = user_free;
    d->series.on_evict = cv_evict;
    d->series.evict_ctx = d;
}

static void *cv_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct cv *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    init_table(d);
    return d;
}

static void cv_destroy(void *st)
{
    struct cv *d = st;
    if (d == NULL)
        return;
    ser_table_free(&d->series);
    free(d);
}

static struct ctr *ctr_of(struct cv_series *u, ev_str name)
{
    for (uint32_t i = 0; i < u->n; i++)
        if (strlen(u->c[i].name) == name.len && memcmp(u->c[i].name, name.ptr, name.len) == 0)
            return &u->c[i];
    if (u->n >= MAX_COUNTERS) {
        u->dropped++;
        return NULL;
    }
    struct ctr *c = &u->c[u->n];
    memset(c, 0, sizeof(*c));
    c->name = malloc((size_t)name.len + 1);
    if (c->name == NULL)
        return NULL;
    memcpy(c->name, name.ptr, name.len);
    c->name[name.len] = '\0';
    u->n++;
    return c;
}

static int cv_event(void *st, const struct event *ev)
{
    struct cv *d = st;
    const struct ev_counters *cs = ev_counters_of(ev);
    if (cs == NULL || cs->n == 0)
        return 0;
    bool oom;
    /* The series holds no points here, only the per-counter state in user. */
    struct series *s = ser_find(&d->series, ev, cs->format ? cs->format : "counters", &oom);
    if (s == NULL)
        return oom ? -1 : 0;
    if (s->user == NULL && (s->user = calloc(1, sizeof(struct cv_series))) == NULL)
        return -1;
    if (s->npts == 0 && ser_point_add(&d->series, s, ev, false) < 0)
        return -1; /* one point: the stream and keys for the finding */
    struct cv_series *u = s->user;
    struct at at = {
        .set = true,
        .has_step = cs->has_step,
        .step = cs->step,
        .has_ts = ev->has_ts,
        .ts = ev->ts_ns,
        .line = ev->src.line,
    };
    at.key = cs->has_step ? cs->step : ev->has_ts ? ev->ts_ns : (int64_t)ev->src.line;
    long long warm = d->cfg.v[P_RANGE_WARMUP].i;
    double factor = d->cfg.v[P_RANGE_FACTOR].d;
    for (uint32_t i = 0; i < cs->n; i++) {
        struct ctr *c = ctr_of(u, cs->v[i].name);
        if (c == NULL) {
            if (u->n < MAX_COUNTERS)
                return -1;
            continue;
        }
        double v = cs->v[i].value;
        at.value = v;
        if (!isfinite(v)) {
            if (!c->bad.set || at.key < c->bad.key) {
                c->bad = at;
                if (c->before.set && c->before.key >= at.key)
                    c->before.set = false;
            }
            continue;
        }
        if (!c->bad.set || at.key < c->bad.key)
            if (!c->before.set || at.key > c->before.key)
                c->before = at;
        if (c->seen < (uint32_t)(warm > 0 ? warm : 0)) {
            if (c->seen == 0) {
                c->wmin = c->wmax = v;
            } else {
                c->up |= v > c->wprev;
                c->down |= v < c->wprev;
                if (v < c->wmin)
                    c->wmin = v;
                if (v > c->wmax)
                    c->wmax = v;
            }
            c->wprev = v;
            c->seen++;
            c->both_ways = c->up && c->down;
            continue;
        }
        c->seen++;
        if (factor > 0 && c->both_ways) {
            double span = c->wmax - c->wmin;
            if (v < c->wmin - factor * span || v > c->wmax + factor * span)
                if (!c->out.set || at.key < c->out.key)
                    c->out = at;
        }
    }
    return 0;
}

/* ---- findings --------------------------------------------------------------------- */

static json_t *num_json(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

static json_t *at_json(const struct at *a, const char *stream)
{
    json_t *o = json_object();
    if (a->has_step)
        json_object_set_new(o, "step", json_integer(a->step));
    json_object_set_new(o, "value", num_json(a->value));
    if (a->has_ts) {
        char buf[EVTIME_BUFSZ];
        json_object_set_new(o, "ts", json_string(evtime_format(a->ts, buf)));
    }
    json_t *src = json_object();
    json_object_set_new(src, "stream", json_string(stream));
    if (a->line)
        json_object_set_new(src, "line", json_integer((json_int_t)a->line));
    json_object_set_new(o, "source", src);
    return o;
}

static bool lossy(const char *name) { return strstr(name, "loss") != NULL; }

/* Which offending counter leads: a loss first, then the earliest. */
static bool leads(const struct ctr *a, const struct at *aa, const struct ctr *b, const struct at *bb)
{
    if (lossy(a->name) != lossy(b->name))
        return lossy(a->name);
    return aa->key < bb->key;
}

static void value_text(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "nan");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, "%.6g", v);
}

static int judge(struct cv *d, struct series *s)
{
    struct cv_series *u = s->user;
    if (u == NULL || s->npts == 0)
        return 0;
    const char *stream = s->streams[s->pts[0].stream];
    const struct ctr *lead = NULL;
    const struct at *lead_at = NULL;
    bool lead_bad = false;
    json_t *list = json_array();
    for (uint32_t i = 0; i < u->n; i++) {
        const struct ctr *c = &u->c[i];
        const struct at *a = NULL;
        bool bad = false;
        if (d->cfg.v[P_NONFINITE].b && c->bad.set) {
            a = &c->bad;
            bad = true;
        } else if (c->out.set) {
            a = &c->out;
        }
        if (a == NULL)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "counter", json_string(c->name));
        json_object_set_new(o, "kind", json_string(bad ? "non-finite" : "out of range"));
        json_object_set_new(o, "first_offending", at_json(a, stream));
        if (bad && c->before.set)
            json_object_set_new(o, "last_normal", at_json(&c->before, stream));
        if (!bad) {
            json_t *r = json_array();
            double span = c->wmax - c->wmin, f = d->cfg.v[P_RANGE_FACTOR].d;
            json_array_append_new(r, json_real(c->wmin - f * span));
            json_array_append_new(r, json_real(c->wmax + f * span));
            json_object_set_new(o, "normal_range", r);
        }
        json_array_append_new(list, o);
        /* Non-finite outranks out of range. */
        if (lead == NULL || (bad && !lead_bad) || (bad == lead_bad && leads(c, a, lead, lead_at))) {
            lead = c;
            lead_at = a;
            lead_bad = bad;
        }
    }
    if (lead == NULL) {
        json_decref(list);
        return 0;
    }
    uint64_t fp = hash_field(HASH_INIT, lead->name, strlen(lead->name));
    fp = hash_field(fp, lead_bad ? "nonfinite" : "range", lead_bad ? 9 : 5);
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        json_decref(list);
        return -1;
    }
    finding_make_id(f->id, "counter_value", fp, s->service, s->service ? strlen(s->service) : 0);
    f->pattern = "counter_value";
    f->rule = "builtin.counter_value";
    f->severity = lead_bad ? d->cfg.v[P_SEVERITY].sev : d->cfg.v[P_RANGE_SEVERITY].sev;
    f->service = s->service ? strdup(s->service) : NULL;
    f->host = s->host ? strdup(s->host) : NULL;
    f->pid = s->pid;
    json_t *e = json_object();
    json_object_set_new(e, "counter", json_string(lead->name));
    json_object_set_new(e, "kind", json_string(lead_bad ? "non-finite" : "out of range"));
    json_object_set_new(e, "source_format", json_string(s->format));
    json_object_set_new(e, "first_offending", at_json(lead_at, stream));
    if (lead_bad && lead->before.set)
        json_object_set_new(e, "last_normal", at_json(&lead->before, stream));
    json_object_set_new(e, "counters", list);
    f->evidence = e;
    char v[32], where[48] = "", title[400];
    value_text(lead_at->value, v, sizeof(v));
    if (lead_at->has_step)
        snprintf(where, sizeof(where), " at step %lld", (long long)lead_at->step);
    else if (lead_at->line)
        snprintf(where, sizeof(where), " at line %llu", (unsigned long long)lead_at->line);
    size_t others = json_array_size(list) - 1;
    char more[64] = "";
    if (others)
        snprintf(more, sizeof(more), " (and %zu other counter%s)", others, others == 1 ? "" : "s");
    if (lead_bad)
        snprintf(title, sizeof(title), "%s became %s%s%s", lead->name, v, where, more);
    else
        snprintf(title, sizeof(title), "%s left its normal range: %s%s%s", lead->name, v, where, more);
    f->title = strdup(title);
    /* The finding's time and source: the offending sample. */
    struct event ev;
    ser_point_event(s, 0, &ev);
    ev.has_ts = lead_at->has_ts;
    ev.ts_ns = lead_at->ts;
    ev.src.line = lead_at->line;
    struct finding *in = ser_report(d->store, f, s, &ev);
    return in != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

/* A series evicted to make room (its process went quiet): judged now. */
static int cv_evict(void *ctx, struct series *s)
{
    return judge(ctx, s);
}

static int cv_flush(void *st)
{
    struct cv *d = st;
    int rc = 0;
    for (uint32_t i = 0; i < d->series.n && rc == 0; i++)
        rc = judge(d, d->series.s[i]);
    return rc;
}

const struct pattern pattern_counter_value = {
    .name = "counter_value",
    .description = "a counter (training loss, gauge) that turns NaN or infinite or leaves its normal range",
    .kinds = (1u << EV_COUNTER) | (1u << EV_GC),
    .params = params,
    .create = cv_create,
    .on_event = cv_event,
    .flush = cv_flush,
    .destroy = cv_destroy,
};
