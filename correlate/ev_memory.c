/* ev_memory.c -- copies and JSON of the memory payloads; see ev_memory.h. */
#include "ev_memory.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ev_json.h"

const char *ev_snap_metric_name(enum ev_snap_metric m)
{
    return m == SNAP_OBJECTS ? "objects" : "bytes";
}

const char *ev_snap_group_name(enum ev_snap_group g)
{
    switch (g) {
    case SNAP_BY_FILENAME: return "filename";
    case SNAP_BY_TRACEBACK: return "traceback";
    case SNAP_BY_TYPE: return "type";
    case SNAP_BY_LINENO: break;
    }
    return "lineno";
}

const struct ev_counter *ev_counters_get(const struct ev_counters *c, const char *name)
{
    for (uint32_t i = 0; c != NULL && i < c->n; i++)
        if (ev_str_eq(c->v[i].name, name))
            return &c->v[i];
    return NULL;
}

/* Copy s into a, failing (false) only when s was present and the copy was not made. */
static bool dup_ok(struct arena *a, ev_str *dst, ev_str s)
{
    *dst = ev_str_dup(a, s);
    return s.ptr == NULL || dst->ptr != NULL;
}

struct ev_snapshot *ev_snapshot_clone(const struct ev_snapshot *s, struct arena *a)
{
    struct ev_snapshot *d = arena_alloc(a, sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *s;
    d->sites = NULL;
    if (s->nsites == 0)
        return d;
    d->sites = arena_alloc(a, (size_t)s->nsites * sizeof(*d->sites));
    if (d->sites == NULL)
        return NULL;
    for (uint32_t i = 0; i < s->nsites; i++) {
        const struct ev_snap_site *x = &s->sites[i];
        struct ev_snap_site *y = &d->sites[i];
        *y = *x;
        if (!dup_ok(a, &y->file, x->file))
            return NULL;
        y->tb = NULL;
        if (x->ntb == 0)
            continue;
        y->tb = arena_alloc(a, (size_t)x->ntb * sizeof(*y->tb));
        if (y->tb == NULL)
            return NULL;
        for (uint32_t k = 0; k < x->ntb; k++) {
            y->tb[k].line = x->tb[k].line;
            if (!dup_ok(a, &y->tb[k].file, x->tb[k].file) || !dup_ok(a, &y->tb[k].function, x->tb[k].function))
                return NULL;
        }
    }
    return d;
}

struct ev_counters *ev_counters_clone(const struct ev_counters *c, struct arena *a)
{
    struct ev_counters *d = arena_alloc(a, sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    d->v = NULL;
    if (c->n == 0)
        return d;
    d->v = arena_alloc(a, (size_t)c->n * sizeof(*d->v));
    if (d->v == NULL)
        return NULL;
    for (uint32_t i = 0; i < c->n; i++) {
        d->v[i].value = c->v[i].value;
        if (!dup_ok(a, &d->v[i].name, c->v[i].name))
            return NULL;
    }
    return d;
}

/* JSON has no NaN or Infinity: non-finite values are written as the strings Python's
 * json module would print ("NaN", "Infinity", "-Infinity"). */
static json_t *number(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    if (v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *ev_snapshot_to_json(const struct ev_snapshot *s, uint32_t max_sites)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "format", json_string(s->format ? s->format : "unknown"));
    json_object_set_new(o, "metric", json_string(ev_snap_metric_name(s->metric)));
    json_object_set_new(o, "group_by", json_string(ev_snap_group_name(s->group)));
    json_object_set_new(o, "complete", json_boolean(s->complete));
    if (s->traceback_limit >= 0)
        json_object_set_new(o, "traceback_limit", json_integer(s->traceback_limit));
    if (s->seq >= 0)
        json_object_set_new(o, "seq", json_integer(s->seq));
    if (s->reference)
        json_object_set_new(o, "reference", json_true());
    if (s->has_total) {
        json_object_set_new(o, "total_size", json_integer(s->total_size));
        if (s->total_count >= 0)
            json_object_set_new(o, "total_count", json_integer(s->total_count));
    }
    json_object_set_new(o, "sites_total", json_integer((json_int_t)s->sites_total));
    json_t *arr = json_array();
    uint32_t n = s->nsites < max_sites ? s->nsites : max_sites;
    for (uint32_t i = 0; i < n; i++) {
        const struct ev_snap_site *x = &s->sites[i];
        json_t *j = json_object();
        json_object_set_new(j, s->group == SNAP_BY_TYPE ? "type" : "file", ev_json_str(x->file));
        if (s->group != SNAP_BY_TYPE)
            json_object_set_new(j, "line", json_integer(x->line));
        json_object_set_new(j, "size", json_integer(x->size));
        if (x->count >= 0)
            json_object_set_new(j, "count", json_integer(x->count));
        if (s->has_diff) {
            json_object_set_new(j, "size_diff", json_integer(x->size_diff));
            json_object_set_new(j, "count_diff", json_integer(x->count_diff));
        }
        if (x->ntb > 0) {
            json_t *tb = json_array();
            for (uint32_t k = 0; k < x->ntb; k++)
                json_array_append_new(tb, ev_frame_to_json(&x->tb[k]));
            json_object_set_new(j, "traceback", tb);
        }
        json_array_append_new(arr, j);
    }
    json_object_set_new(o, "sites", arr);
    return o;
}

json_t *ev_counters_to_json(const struct ev_counters *c)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "format", json_string(c->format ? c->format : "unknown"));
    if (c->has_step)
        json_object_set_new(o, "step", json_integer(c->step));
    if (c->has_clock) {
        char t[32];
        int64_t s = c->clock_ns / 1000000000, ms = c->clock_ns / 1000000 % 1000;
        snprintf(t, sizeof(t), "%02lld:%02lld:%02lld.%03lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60), (long long)ms);
        json_object_set_new(o, "time_of_day", json_string(t));
    }
    json_t *v = json_object();
    for (uint32_t i = 0; i < c->n; i++) {
        char name[128];
        size_t n = c->v[i].name.len < sizeof(name) - 1 ? c->v[i].name.len : sizeof(name) - 1;
        memcpy(name, c->v[i].name.ptr, n);
        name[n] = '\0';
        json_object_set_new(v, name, number(c->v[i].value));
    }
    json_object_set_new(o, "values", v);
    return o;
}
