/* cascade.c -- timelines and cascades from closed traces; see cascade.h. */
#include "cascade.h"

#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/evtime.h"

struct cascade {
    struct finding_store *store;
    size_t keep;
    json_t *traces;
    size_t dropped;
};

struct cascade *cascade_create(struct finding_store *store, size_t keep_traces)
{
    struct cascade *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->store = store;
    c->keep = keep_traces;
    c->traces = json_array();
    if (c->traces == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void cascade_destroy(struct cascade *c)
{
    if (c == NULL)
        return;
    json_decref(c->traces);
    free(c);
}

json_t *cascade_traces(struct cascade *c, size_t *dropped)
{
    *dropped = c->dropped;
    return c->traces;
}

static json_t *time_or_null(bool has, int64_t ts)
{
    char buf[EVTIME_BUFSZ];
    return has ? json_string(evtime_format(ts, buf)) : json_null();
}

json_t *cascade_timeline_json(const struct corr_trace *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->ntimeline; i++) {
        const struct corr_entry *e = &t->timeline[i];
        json_t *o = json_object();
        json_object_set_new(o, "ts", time_or_null(e->has_ts, e->ts));
        json_object_set_new(o, "service", e->service[0] ? ev_json_cstr(e->service) : json_null());
        json_object_set_new(o, "kind", json_string(ev_kind_name(e->kind)));
        json_object_set_new(o, "level", e->level ? json_string(ev_level_name(e->level)) : json_null());
        json_object_set_new(o, "summary", ev_json_cstr(e->summary));
        json_t *src = json_object();
        json_object_set_new(src, "stream", ev_json_cstr(e->stream));
        if (e->line)
            json_object_set_new(src, "line", json_integer((json_int_t)e->line));
        json_object_set_new(o, "source", src);
        if (e->by_time)
            json_object_set_new(o, "joined_by", json_string("time"));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *services_json(const struct corr_trace *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->nservices; i++)
        json_array_append_new(a, ev_json_cstr(t->services[i]));
    return a;
}

static bool any_by_time(const struct corr_trace *t)
{
    for (size_t i = 0; i < t->ntimeline; i++)
        if (t->timeline[i].by_time)
            return true;
    return false;
}

/* The trace's context, once per finding: from the first trace it occurred in. */
static void attach_context(struct cascade *c, struct finding *f, const struct corr_trace *t)
{
    if (f->evidence == NULL || json_object_get(f->evidence, "timeline") != NULL)
        return;
    json_object_set_new(f->evidence, "timeline", cascade_timeline_json(t));
    if (t->dropped_entries)
        json_object_set_new(f->evidence, "timeline_dropped", json_integer((json_int_t)t->dropped_entries));
    json_object_set_new(f->evidence, "trace_services", services_json(t));
    json_object_set_new(f->evidence, "origin_service",
                        t->origin_service ? ev_json_cstr(t->origin_service) : json_null());
    json_object_set_new(f->evidence, "correlated_by", json_string(any_by_time(t) ? "trace_id+time" : "trace_id"));
    /* The first occurrence may have carried only the 64-bit spelling. */
    if (t->id[0] && (f->trace_id == NULL || strlen(f->trace_id) < strlen(t->id))) {
        free(f->trace_id);
        f->trace_id = strdup(t->id);
    }
    finding_store_mark_changed(c->store, f); /* consume emits the update */
}

/* Record g as a symptom of primary in primary's evidence.cascade. */
static void add_symptom(struct cascade *c, struct finding *primary, struct finding *g, const char *service)
{
    /* consume emits both updates */
    finding_store_mark_changed(c->store, g);
    finding_store_mark_changed(c->store, primary);
    g->symptom_count++;
    if (g->folded_into[0] == '\0')
        memcpy(g->folded_into, primary->id, sizeof(g->folded_into));
    if (primary->evidence == NULL)
        return;
    json_t *cas = json_object_get(primary->evidence, "cascade");
    if (cas == NULL) {
        cas = json_array();
        json_object_set_new(primary->evidence, "cascade", cas);
    }
    size_t i;
    json_t *m;
    json_array_foreach(cas, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "id")), g->id) == 0) {
            json_object_set_new(m, "count", json_integer(json_integer_value(json_object_get(m, "count")) + 1));
            return;
        }
    }
    m = json_object();
    json_object_set_new(m, "id", json_string(g->id));
    json_object_set_new(m, "pattern", json_string(g->pattern));
    json_object_set_new(m, "service", service && *service ? ev_json_cstr(service) : json_null());
    json_object_set_new(m, "title", ev_json_cstr(g->title));
    json_object_set_new(m, "count", json_integer(1));
    json_array_append_new(cas, m);
}

void cascade_trace_closed(void *ctx, const struct corr_trace *t)
{
    struct cascade *c = ctx;
    if (t->nmarks == 0)
        return;
    for (size_t i = 0; i < t->nmarks; i++)
        attach_context(c, t->marks[i].tag, t);

    /* A cascade: findings of more than one service in one trace. The primary is
     * the origin service's earliest finding, else the earliest finding. */
    bool several = false;
    for (size_t i = 1; i < t->nmarks && !several; i++)
        several = strcmp(t->marks[i].service, t->marks[0].service) != 0;
    const struct corr_mark *primary = NULL;
    for (size_t i = 0; i < t->nmarks; i++) {
        const struct corr_mark *m = &t->marks[i];
        bool origin = t->origin_service != NULL && strcmp(m->service, t->origin_service) == 0;
        bool p_origin = primary != NULL && t->origin_service != NULL &&
                        strcmp(primary->service, t->origin_service) == 0;
        if (primary == NULL || (origin && !p_origin) ||
            (origin == p_origin && m->has_ts && (!primary->has_ts || m->ts < primary->ts)))
            primary = m;
    }
    if (several) {
        struct finding *pf = primary->tag;
        for (size_t i = 0; i < t->nmarks; i++) {
            struct finding *g = t->marks[i].tag;
            if (g != pf && strcmp(t->marks[i].service, primary->service) != 0)
                add_symptom(c, pf, g, t->marks[i].service);
        }
    }

    if (c->keep == 0)
        return;
    if (json_array_size(c->traces) >= c->keep) {
        c->dropped++;
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "trace_id", t->id[0] ? json_string(t->id) : json_null());
    json_object_set_new(o, "services", services_json(t));
    json_object_set_new(o, "origin_service", t->origin_service ? ev_json_cstr(t->origin_service) : json_null());
    json_object_set_new(o, "first_seen", time_or_null(t->has_ts, t->first_ts));
    json_object_set_new(o, "last_seen", time_or_null(t->has_ts, t->last_ts));
    json_object_set_new(o, "timeline", cascade_timeline_json(t));
    json_t *fs = json_array();
    for (size_t i = 0; i < t->nmarks; i++) {
        const struct finding *f = t->marks[i].tag;
        json_t *fo = json_object();
        json_object_set_new(fo, "id", json_string(f->id));
        json_object_set_new(fo, "pattern", json_string(f->pattern));
        json_object_set_new(fo, "severity", json_string(severity_name(f->severity)));
        json_object_set_new(fo, "title", ev_json_cstr(f->title));
        json_object_set_new(fo, "service", t->marks[i].service[0] ? ev_json_cstr(t->marks[i].service) : json_null());
        json_array_append_new(fs, fo);
    }
    json_object_set_new(o, "findings", fs);
    json_array_append_new(c->traces, o);
}
