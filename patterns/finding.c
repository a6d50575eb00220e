/* finding.c -- the folding store of findings; see finding.h. */
#include "finding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/evtime.h"
#include "../correlate/hash.h"

struct finding_store {
    struct finding **slots;   /* open addressing by id hash */
    size_t cap, n, max;
    struct finding **order;   /* insertion order */
    size_t order_cap;
    struct finding **sorted;
    uint64_t dropped;
    struct finding **changed; /* the drain list; capacity order_cap */
    size_t nchanged;
    struct finding *touched[FINDING_TOUCHED_MAX];
    size_t ntouched;
    struct finding *touched_out[FINDING_TOUCHED_MAX];
};

const char *severity_name(enum severity s)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    return (unsigned)s <= SEV_CRITICAL ? names[s] : "unknown";
}

int severity_parse(const char *name, enum severity *out)
{
    for (int s = SEV_INFO; s <= SEV_CRITICAL; s++)
        if (strcmp(name, severity_name((enum severity)s)) == 0) {
            *out = (enum severity)s;
            return 0;
        }
    return -1;
}

struct finding_store *finding_store_create(size_t max_findings)
{
    struct finding_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cap = 1024;
    s->slots = calloc(s->cap, sizeof(*s->slots));
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    s->max = max_findings ? max_findings : 100000;
    return s;
}

static void finding_free(struct finding *f)
{
    if (f == NULL)
        return;
    free(f->title);
    free(f->trace_id);
    free(f->service);
    free(f->host);
    for (size_t i = 0; i < f->nsources; i++)
        free(f->sources[i].stream);
    json_decref(f->evidence);
    json_decref(f->tags);
    free(f);
}

void finding_store_destroy(struct finding_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        finding_free(s->order[i]);
    free(s->slots);
    free(s->order);
    free(s->sorted);
    free(s->changed);
    free(s);
}

void finding_make_id(char out[FINDING_ID_LEN + 1], const char *pattern, uint64_t fingerprint,
                     const char *key, size_t key_len)
{
    uint64_t h = hash_field(HASH_INIT, pattern, strlen(pattern));
    h = hash_field(h, &fingerprint, sizeof(fingerprint));
    if (key != NULL)
        h = hash_field(h, key, key_len);
    /* By hand, not snprintf: every exception event asks, folded or new. */
    for (int i = FINDING_ID_LEN - 1; i >= 0; i--, h >>= 4)
        out[i] = "0123456789abcdef"[h & 15];
    out[FINDING_ID_LEN] = '\0';
}

static size_t slot_of(const struct finding_store *s, const char *id)
{
    uint64_t h = hash_bytes(HASH_INIT, id, FINDING_ID_LEN);
    size_t i = (size_t)h & (s->cap - 1);
    while (s->slots[i] != NULL && memcmp(s->slots[i]->id, id, FINDING_ID_LEN) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static void add_source(struct finding *f, const struct event *ev)
{
    if (ev->src.stream == NULL)
        return;
    if (f->nsources >= FINDING_MAX_SOURCES) {
        f->more_sources++;
        return;
    }
    char *stream = strdup(ev->src.stream);
    if (stream == NULL) {
        f->more_sources++;
        return;
    }
    f->sources[f->nsources].stream = stream;
    f->sources[f->nsources].line = ev->src.line;
    f->nsources++;
}

static void note_touched(struct finding_store *s, struct finding *f)
{
    for (size_t i = 0; i < s->ntouched; i++)
        if (s->touched[i] == f)
            return;
    if (s->ntouched < FINDING_TOUCHED_MAX)
        s->touched[s->ntouched++] = f;
}

struct finding **finding_store_take_touched(struct finding_store *s, size_t *n)
{
    memcpy(s->touched_out, s->touched, s->ntouched * sizeof(*s->touched));
    *n = s->ntouched;
    s->ntouched = 0;
    return s->touched_out;
}

static void fold(struct finding *f, const struct event *ev)
{
    /* Occurrences from several processes: no single pid describes the finding. */
    if (f->count > 0 && f->pid != ev->pid)
        f->pid = -1;
    f->count++;
    if (ev->has_ts) {
        if (!f->has_time || ev->ts_ns < f->first_seen)
            f->first_seen = ev->ts_ns;
        if (!f->has_time || ev->ts_ns > f->last_seen)
            f->last_seen = ev->ts_ns;
        f->has_time = true;
    }
    add_source(f, ev);
}

void finding_store_mark_changed(struct finding_store *s, struct finding *f)
{
    if (!f->changed) {
        f->changed = true;
        s->changed[s->nchanged++] = f;
    }
}

struct finding *finding_store_touch(struct finding_store *s, const char *id, const struct event *ev)
{
    struct finding *f = s->slots[slot_of(s, id)];
    if (f != NULL && ev != NULL) {
        fold(f, ev);
        note_touched(s, f);
        finding_store_mark_changed(s, f);
    }
    return f;
}

static int grow(struct finding_store *s)
{
    size_t ncap = s->cap * 2;
    struct finding **ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return -1;
    struct finding **old = s->slots;
    size_t ocap = s->cap;
    s->slots = ns;
    s->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i] != NULL)
            s->slots[slot_of(s, old[i]->id)] = old[i];
    free(old);
    return 0;
}

struct finding *finding_store_insert(struct finding_store *s, struct finding *f, const struct event *ev)
{
    size_t slot = slot_of(s, f->id);
    if (s->slots[slot] != NULL) {
        /* Same id built twice: fold instead (even when the store is full: it is
         * not a new distinct id). */
        finding_free(f);
        if (ev != NULL) {
            fold(s->slots[slot], ev);
            note_touched(s, s->slots[slot]);
            finding_store_mark_changed(s, s->slots[slot]);
        }
        return s->slots[slot];
    }
    if (s->n >= s->max || ((s->n + 1) * 2 > s->cap && grow(s) != 0)) {
        s->dropped++;
        finding_free(f);
        return NULL;
    }
    if (s->n == s->order_cap) {
        size_t cap = s->order_cap ? s->order_cap * 2 : 256;
        struct finding **no = realloc(s->order, cap * sizeof(*no));
        if (no == NULL) {
            s->dropped++;
            finding_free(f);
            return NULL;
        }
        s->order = no;
        /* The drain list holds each finding at most once: order's capacity fits. */
        struct finding **nc = realloc(s->changed, cap * sizeof(*nc));
        if (nc == NULL) {
            s->dropped++;
            finding_free(f);
            return NULL;
        }
        s->changed = nc;
        s->order_cap = cap;
    }
    slot = slot_of(s, f->id); /* grow() may have rehashed */
    f->count = 0;
    f->has_time = false;
    f->order = s->n;
    if (ev != NULL)
        fold(f, ev);
    s->slots[slot] = f;
    s->order[s->n++] = f;
    note_touched(s, f);
    f->drained_count = 0;
    f->changed = false;
    finding_store_mark_changed(s, f);
    return f;
}

struct finding **finding_store_changed(struct finding_store *s, size_t *n)
{
    *n = s->nchanged;
    return s->changed;
}

void finding_store_drained(struct finding_store *s)
{
    for (size_t i = 0; i < s->nchanged; i++) {
        s->changed[i]->changed = false;
        s->changed[i]->drained_count = s->changed[i]->count;
    }
    s->nchanged = 0;
}

size_t finding_store_count(const struct finding_store *s) { return s->n; }
uint64_t finding_store_dropped(const struct finding_store *s) { return s->dropped; }

static int cmp_findings(const void *a, const void *b)
{
    const struct finding *x = *(const struct finding *const *)a;
    const struct finding *y = *(const struct finding *const *)b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

struct finding **finding_store_sorted(struct finding_store *s, size_t *n)
{
    free(s->sorted);
    s->sorted = malloc((s->n ? s->n : 1) * sizeof(*s->sorted));
    if (s->sorted == NULL) {
        *n = 0;
        return NULL;
    }
    if (s->n > 0) {
        memcpy(s->sorted, s->order, s->n * sizeof(*s->sorted));
        qsort(s->sorted, s->n, sizeof(*s->sorted), cmp_findings);
    }
    *n = s->n;
    return s->sorted;
}

static void set_opt_str(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? ev_json_cstr(v) : json_null());
}

json_t *finding_to_json(const struct finding *f)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    char buf[EVTIME_BUFSZ];
    json_object_set_new(o, "id", json_string(f->id));
    json_object_set_new(o, "pattern", json_string(f->pattern));
    json_object_set_new(o, "severity", json_string(severity_name(f->severity)));
    json_object_set_new(o, "rule", json_string(f->rule));
    set_opt_str(o, "title", f->title);
    set_opt_str(o, "trace_id", f->trace_id);
    set_opt_str(o, "service", f->service);
    json_object_set_new(o, "pid", f->pid >= 0 ? json_integer(f->pid) : json_null());
    set_opt_str(o, "host", f->host);
    json_object_set_new(o, "first_seen", f->has_time ? json_string(evtime_format(f->first_seen, buf)) : json_null());
    json_object_set_new(o, "last_seen", f->has_time ? json_string(evtime_format(f->last_seen, buf)) : json_null());
    json_object_set_new(o, "count", json_integer((json_int_t)f->count));
    json_t *srcs = json_array();
    for (size_t i = 0; i < f->nsources; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "stream", ev_json_cstr(f->sources[i].stream));
        if (f->sources[i].line)
            json_object_set_new(s, "line", json_integer((json_int_t)f->sources[i].line));
        json_array_append_new(srcs, s);
    }
    json_object_set_new(o, "sources", srcs);
    if (f->more_sources)
        json_object_set_new(o, "more_sources", json_integer((json_int_t)f->more_sources));
    if (f->tags != NULL)
        json_object_set(o, "tags", f->tags);
    json_object_set(o, "evidence", f->evidence ? f->evidence : json_object());
    if (f->evidence == NULL)
        json_decref(json_object_get(o, "evidence"));
    return o;
}
