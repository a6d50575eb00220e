/* handle_leak.c -- the Handle Leak pattern: threads or open file descriptors of a
 * process that only grow.
 *
 * Per process series of counter samples (patterns/series.h), each of "threads" and
 * "fds" is judged at the end of input: the Theil-Sen growth over the series must
 * reach min_growth, nearly every later sample must be higher (Mann-Kendall tau at
 * least min_trend) and the count must almost never fall (falls give back at most
 * max_release of the rises). A pool that starts its threads and keeps them (1, 5, 5,
 * 5, ...) has no growth after the start and is not a leak.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_dump.h"
#include "../correlate/ev_memory.h"
#include "../correlate/hash.h"
#include "pattern.h"
#include "series.h"

enum { P_SEVERITY, P_MIN_SAMPLES, P_MIN_GROWTH, P_MIN_TREND, P_MAX_RELEASE, P_MAX_SERIES };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "high", "severity of a thread or descriptor leak"},
    {"min_samples", PAT_INT, "5", "samples a process needs before it is judged"},
    {"min_growth", PAT_INT, "10", "least growth of the count over the series"},
    {"min_trend", PAT_DOUBLE, "0.9", "least Mann-Kendall tau (1 = every later sample is higher)"},
    {"max_release", PAT_DOUBLE, "0.05", "most of the rises that falls may give back"},
    {"max_series", PAT_INT, "1000", "processes x artifact kinds followed at once"},
    {NULL, 0, NULL, NULL},
};

struct hl {
    struct pat_config cfg;
    struct finding_store *store;
    struct ser_table series;
};

static int hl_evict(void *ctx, struct series *s);

static void init_table(struct hl *d)
{
    long long ms = d->cfg.v[P_MAX_SERIES].i;
    ser_table_init(&d->series, ms > 0 && ms < 1000000 ? (uint32_t)ms : 0, 0, 2);
    d->series.on_evict = hl_evict;
    d->series.evict_ctx = d;
}

static void *hl_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct hl *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    init_table(d);
    return d;
}

static void hl_destroy(void *st)
{
    struct hl *d = st;
    if (d == NULL)
        return;
    ser_table_free(&d->series);
    free(d);
}

/* Thread dumps of one process over time are a series of thread counts too
 * (issue #8): each dump is one sample of "threads". */
static int hl_dump(struct hl *d, const struct event *ev)
{
    const struct ev_dump *dump = ev->u.dump;
    if (dump == NULL || dump->threads_total == 0)
        return 0;
    bool oom;
    struct series *s = ser_find(&d->series, ev, "thread_dump", &oom);
    if (s == NULL)
        return oom ? -1 : 0;
    int p = ser_point_add(&d->series, s, ev, false);
    if (p < 0)
        return -1;
    if (ser_set(&d->series, s, p, EV_STR_LIT(EV_CTR_THREADS), 0, (double)dump->threads_total) == -2)
        return -1;
    return 0;
}

static int hl_event(void *st, const struct event *ev)
{
    struct hl *d = st;
    if (ev->kind == EV_THREAD_DUMP)
        return hl_dump(d, ev);
    const struct ev_counters *c = ev_counters_of(ev);
    if (c == NULL)
        return 0;
    const struct ev_counter *th = ev_counters_get(c, EV_CTR_THREADS), *fd = ev_counters_get(c, EV_CTR_FDS);
    if ((th == NULL || !isfinite(th->value)) && (fd == NULL || !isfinite(fd->value)))
        return 0;
    bool oom;
    struct series *s = ser_find(&d->series, ev, c->format ? c->format : "counters", &oom);
    if (s == NULL)
        return oom ? -1 : 0;
    int p = ser_point_add(&d->series, s, ev, false);
    if (p < 0)
        return -1;
    s->pts[p].has_clock = c->has_clock;
    s->pts[p].clock_ns = c->clock_ns;
    if (th != NULL && isfinite(th->value) &&
        ser_set(&d->series, s, p, EV_STR_LIT(EV_CTR_THREADS), 0, th->value) == -2)
        return -1;
    if (fd != NULL && isfinite(fd->value) && ser_set(&d->series, s, p, EV_STR_LIT(EV_CTR_FDS), 0, fd->value) == -2)
        return -1;
    return 0;
}

struct seen {
    uint64_t fp;
    int64_t pid;
    char id[FINDING_ID_LEN + 1];
};

static json_t *values_json(const struct series *s, const struct ser_col *col)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < s->npts; i++)
        json_array_append_new(a, isnan(col->v[i]) ? json_null() : json_integer((json_int_t)llround(col->v[i])));
    return a;
}

static int judge_col(struct hl *d, struct series *s, const struct ser_col *col, struct seen **seen, size_t *nseen)
{
    struct ser_trend tr;
    if (!ser_trend(col->v, s->npts, &tr) || tr.n < (uint32_t)(d->cfg.v[P_MIN_SAMPLES].i > 2 ? d->cfg.v[P_MIN_SAMPLES].i : 2))
        return 0;
    if (!(tr.growth >= (double)d->cfg.v[P_MIN_GROWTH].i) || tr.tau < d->cfg.v[P_MIN_TREND].d ||
        tr.release > d->cfg.v[P_MAX_RELEASE].d || !(tr.last > tr.first))
        return 0;
    bool threads = strcmp(col->name, EV_CTR_THREADS) == 0;
    uint64_t fp = hash_field(HASH_INIT, col->name, strlen(col->name));
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    /* Samples of the same process with and without its service name (text and JSON
     * lines of one sampler) are one problem. */
    bool fold = false;
    for (size_t i = 0; seen != NULL && i < *nseen && s->service == NULL; i++)
        if ((*seen)[i].fp == fp && ((*seen)[i].pid == s->pid || ser_unkeyed(s))) {
            memcpy(f->id, (*seen)[i].id, sizeof(f->id));
            fold = true;
            break;
        }
    if (!fold)
        finding_make_id(f->id, "handle_leak", fp, s->service, s->service ? strlen(s->service) : 0);
    f->pattern = "handle_leak";
    f->rule = "builtin.handle_leak";
    f->severity = d->cfg.v[P_SEVERITY].sev;
    f->service = s->service ? strdup(s->service) : NULL;
    f->host = s->host ? strdup(s->host) : NULL;
    f->pid = s->pid;
    double secs = 0;
    bool timed = s->npts > 1 && ser_seconds(s, 0, s->npts - 1, &secs) && secs > 0;
    json_t *e = json_object();
    json_object_set_new(e, "resource", json_string(threads ? "threads" : "fds"));
    json_object_set_new(e, "samples", json_integer(tr.n));
    json_object_set_new(e, "order", json_string(ser_order_rule(s)));
    json_object_set_new(e, "first", json_integer((json_int_t)llround(tr.first)));
    json_object_set_new(e, "last", json_integer((json_int_t)llround(tr.last)));
    json_object_set_new(e, "growth", json_integer((json_int_t)llround(tr.last - tr.first)));
    json_object_set_new(e, "growth_rate", json_real(tr.slope));
    if (timed) {
        json_object_set_new(e, "duration_s", json_real(secs));
        json_object_set_new(e, "growth_rate_per_s", json_real((tr.last - tr.first) / secs));
    }
    json_object_set_new(e, "trend", json_real(tr.tau));
    json_object_set_new(e, "values", values_json(s, col));
    f->evidence = e;
    char title[300], rate[64] = "";
    if (timed)
        snprintf(rate, sizeof(rate), ", %.1f/s", (tr.last - tr.first) / secs);
    snprintf(title, sizeof(title), "%s only grow: %.0f \u2192 %.0f over %u samples (%+.1f/sample%s)",
             threads ? "threads" : "open file descriptors", tr.first, tr.last, tr.n, tr.slope, rate);
    f->title = strdup(title);
    struct finding *in = ser_insert_finding(d->store, f, s);
    if (in == NULL)
        return finding_store_dropped(d->store) ? 0 : -1;
    if (s->service != NULL && seen != NULL) {
        struct seen *ns = realloc(*seen, (*nseen + 1) * sizeof(*ns));
        if (ns == NULL)
            return -1;
        *seen = ns;
        ns[*nseen].fp = fp;
        ns[*nseen].pid = s->pid;
        memcpy(ns[*nseen].id, in->id, sizeof(ns[*nseen].id));
        (*nseen)++;
    }
    return 0;
}

static int hl_flush(void *st)
{
    struct hl *d = st;
    struct seen *seen = NULL;
    size_t nseen = 0;
    int rc = 0;
    /* Series with a service first, so the others fold into them. */
    for (int pass = 0; pass < 2 && rc == 0; pass++)
        for (uint32_t i = 0; i < d->series.n && rc == 0; i++) {
            struct series *s = d->series.s[i];
            if ((s->service == NULL) != (pass == 1))
                continue;
            ser_sort(s);
            for (uint32_t c = 0; c < s->ncols && rc == 0; c++)
                rc = judge_col(d, s, &s->cols[c], &seen, &nseen);
        }
    free(seen);
    return rc;
}

/* A series evicted to make room (its process went quiet): judged now. */
static int hl_evict(void *ctx, struct series *s)
{
    int rc = 0;
    ser_sort(s);
    for (uint32_t c = 0; c < s->ncols && rc == 0; c++)
        rc = judge_col(ctx, s, &s->cols[c], NULL, NULL);
    return rc;
}

const struct pattern pattern_handle_leak = {
    .name = "handle_leak",
    .description = "thread or open file descriptor counts of a process that only grow",
    .kinds = (1u << EV_COUNTER) | (1u << EV_THREAD_DUMP),
    .params = params,
    .create = hl_create,
    .on_event = hl_event,
    .flush = hl_flush,
    .destroy = hl_destroy,
};
