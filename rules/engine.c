/* engine.c -- running rules: match, threshold and sequence rules on events;
 * detector rules and suppressions on findings. See rules.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/evtime.h"
#include "../correlate/hash.h"
#include "fields.h"
#include "prefilter.h"
#include "ruleset_private.h"

const char *rules_finding_pattern(const struct rule *r);

#define TSLOTS 4096        /* keys per threshold rule (direct-mapped) */
#define SSLOTS 8192        /* keys per sequence rule */
#define MAX_LITS 4096
#define MAX_GROUPS 8
#define KEYTEXT 96
#define SUMMARY 96

struct tslot {             /* one key of a threshold rule */
    uint64_t key;          /* 0 = empty */
    int64_t *times;        /* ring of the last `count` event times */
    uint64_t *vals;        /* distinct: value hashes beside their times */
    uint32_t head, n;
};

struct sstep {
    int64_t ts;
    bool has_ts;
    char summary[SUMMARY];
    const char *stream;
    uint64_t line;
};

struct sslot {             /* one key of a sequence rule */
    uint64_t key;
    uint32_t step;         /* steps matched so far; 0 = idle */
    int64_t start;
    char keytext[KEYTEXT];
    char service[64];
    struct sstep steps[MAX_STEPS];
};

struct erule {
    const struct rule *r;
    bool guarded;          /* evaluated only when its guard fires */
    uint8_t min_level;     /* the condition needs at least this level (0: any) */
    bool on_exception;     /* part of the guard: the event is an exception */
    uint64_t visited;      /* event number it was last evaluated for */
    struct tslot *t;
    struct sslot *s;
};

struct group {
    int field;
    uint8_t min_level;     /* the least min_level of its rules: below it, no scan */
    struct ac *exact, *folded;
    uint32_t nlits;        /* ids: exact first, then folded */
    uint32_t nexact;
};

struct rules_engine {
    const struct ruleset *rs;
    uint32_t *always;      /* rules evaluated for every event (no guard) */
    size_t nalways;
    uint32_t *on_exc;      /* rules whose guard fires on exception events */
    size_t non_exc;
    uint32_t *lit_rule[MAX_GROUPS]; /* literal id -> rule index */
    uint32_t *hits;        /* literal ids seen in this event */
    uint32_t hit_group[MAX_LITS];
    struct finding_store *store;
    int64_t today;
    struct erule *er;
    size_t n;
    struct group groups[MAX_GROUPS];
    size_t ngroups;
    uint8_t *seen[MAX_GROUPS];
    int64_t watermark;
    bool have_wm;
    uint64_t events;
    bool *expired;         /* per suppression */
    char *interned[64];    /* stream names for sequence evidence */
    size_t ninterned;
};

/* ---- set-up ---- */

struct lit_tmp {
    char **lits;
    size_t *lens;
    size_t n, cap;
};

static int lit_push(struct lit_tmp *t, const char *s, size_t n)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **nl = realloc(t->lits, cap * sizeof(*nl));
        size_t *ns = realloc(t->lens, cap * sizeof(*ns));
        if (nl)
            t->lits = nl;
        if (ns)
            t->lens = ns;
        if (nl == NULL || ns == NULL)
            return -1;
        t->cap = cap;
    }
    t->lits[t->n] = strndup(s, n);
    t->lens[t->n] = n;
    return t->lits[t->n++] ? 0 : -1;
}

static void lit_free(struct lit_tmp *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->lits[i]);
    free(t->lits);
    free(t->lens);
}

static bool literal_of(const struct rx_required *r)
{
    char lits[8][PREFILTER_LIT_MAX];
    if (r->path != NULL && strchr(r->path, '.'))
        return false;
    return prefilter_literals(r->raw, r->caseless, lits, 8) > 0;
}

/* Give each guarded rule's literals a place in their field's automaton. */
static int build_prefilter(struct rules_engine *e)
{
    struct lit_tmp ex[MAX_GROUPS] = {{0}}, fo[MAX_GROUPS] = {{0}};
    /* literal i of group g (exact list, folded list) belongs to rule owner */
    uint32_t *owner_ex[MAX_GROUPS] = {0}, *owner_fo[MAX_GROUPS] = {0};
    size_t cap_fo[MAX_GROUPS] = {0};
    int rc = 0;
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        struct erule *er = &e->er[i];
        if (er->r->kind != RK_MATCH && er->r->kind != RK_THRESHOLD)
            continue;
        struct rx_guard g;
        if (!rx_guard(er->r->match, rules_event_field_is_exception, literal_of, &g))
            continue;
        /* Every regex of the guard needs its group before the rule is guarded. */
        size_t groups[RX_GUARD_MAX];
        bool ok = true;
        for (size_t k = 0; k < g.nre && ok; k++) {
            size_t gi = 0;
            while (gi < e->ngroups && e->groups[gi].field != g.re[k].field)
                gi++;
            if (gi == e->ngroups) {
                if (e->ngroups == MAX_GROUPS)
                    ok = false;
                else
                    e->groups[e->ngroups++].field = g.re[k].field;
            }
            groups[k] = gi;
        }
        if (!ok)
            continue;
        for (size_t k = 0; k < g.nre && rc == 0; k++) {
            /* One case-folded automaton per field: a case-sensitive literal then
             * passes a few more candidates to the full regex, never fewer, and
             * each field is read once. */
            char lits[8][PREFILTER_LIT_MAX];
            size_t nl = prefilter_literals(g.re[k].raw, true, lits, 8);
            size_t gi = groups[k];
            struct lit_tmp *t = &fo[gi];
            uint32_t **own = &owner_fo[gi];
            size_t *cap = &cap_fo[gi];
            for (size_t l = 0; l < nl && rc == 0; l++) {
                if (t->n == *cap) {
                    size_t nc = *cap ? *cap * 2 : 16;
                    uint32_t *no = realloc(*own, nc * sizeof(*no));
                    if (no == NULL) {
                        rc = -1;
                        break;
                    }
                    *own = no;
                    *cap = nc;
                }
                (*own)[t->n] = (uint32_t)i;
                rc = lit_push(t, lits[l], strlen(lits[l]));
            }
        }
        er->guarded = true;
        er->on_exception = g.exceptions;
    }
    for (size_t gi = 0; gi < e->ngroups && rc == 0; gi++) {
        struct group *gr = &e->groups[gi];
        gr->nexact = (uint32_t)ex[gi].n;
        gr->nlits = (uint32_t)(ex[gi].n + fo[gi].n);
        if (gr->nlits > MAX_LITS) {
            rc = -1;
            break;
        }
        if (ex[gi].n && (gr->exact = ac_build((const char *const *)ex[gi].lits, ex[gi].lens, ex[gi].n, false)) == NULL)
            rc = -1;
        if (fo[gi].n && (gr->folded = ac_build((const char *const *)fo[gi].lits, fo[gi].lens, fo[gi].n, true)) == NULL)
            rc = -1;
        e->seen[gi] = calloc(gr->nlits ? gr->nlits : 1, 1);
        e->lit_rule[gi] = calloc(gr->nlits ? gr->nlits : 1, sizeof(uint32_t));
        if (e->seen[gi] == NULL || e->lit_rule[gi] == NULL) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < ex[gi].n; k++)
            e->lit_rule[gi][k] = owner_ex[gi][k];
        for (size_t k = 0; k < fo[gi].n; k++)
            e->lit_rule[gi][ex[gi].n + k] = owner_fo[gi][k];
    }
    for (size_t gi = 0; gi < MAX_GROUPS; gi++) {
        lit_free(&ex[gi]);
        lit_free(&fo[gi]);
        free(owner_ex[gi]);
        free(owner_fo[gi]);
    }
    return rc;
}

struct rules_engine *rules_engine_create(const struct ruleset *rs, struct finding_store *store, int64_t today)
{
    struct rules_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->rs = rs;
    e->store = store;
    e->today = today;
    e->er = calloc(rs->nrules ? rs->nrules : 1, sizeof(*e->er));
    e->expired = calloc(rs->nsups ? rs->nsups : 1, sizeof(*e->expired));
    if (e->er == NULL || e->expired == NULL) {
        rules_engine_free(e);
        return NULL;
    }
    for (size_t i = 0; i < rs->nrules; i++) {
        const struct rule *r = rs->rules[i];
        if (!r->enabled || r->kind == RK_DETECTOR)
            continue;
        struct erule *er = &e->er[e->n++];
        er->r = r;
        if (r->kind == RK_THRESHOLD && (er->t = calloc(TSLOTS, sizeof(*er->t))) == NULL)
            goto oom;
        if (r->kind == RK_SEQUENCE && (er->s = calloc(SSLOTS, sizeof(*er->s))) == NULL)
            goto oom;
    }
    if (build_prefilter(e) != 0)
        goto oom;
    e->always = calloc(e->n ? e->n : 1, sizeof(*e->always));
    e->on_exc = calloc(e->n ? e->n : 1, sizeof(*e->on_exc));
    e->hits = calloc(MAX_LITS, sizeof(*e->hits));
    if (e->always == NULL || e->on_exc == NULL || e->hits == NULL)
        goto oom;
    enum rx_ftype lt;
    int level_field = rules_event_context.resolve("level", &lt);
    for (size_t i = 0; i < e->n; i++) {
        struct erule *er = &e->er[i];
        if (er->r->kind == RK_MATCH || er->r->kind == RK_THRESHOLD)
            er->min_level = (uint8_t)rx_min_value(er->r->match, level_field);
        if (!er->guarded)
            e->always[e->nalways++] = (uint32_t)i;
        else if (er->on_exception)
            e->on_exc[e->non_exc++] = (uint32_t)i;
    }
    for (size_t g = 0; g < e->ngroups; g++) {
        uint8_t m = UINT8_MAX;
        for (uint32_t l = 0; l < e->groups[g].nlits; l++) {
            uint8_t rl = e->er[e->lit_rule[g][l]].min_level;
            if (rl < m)
                m = rl;
        }
        e->groups[g].min_level = m == UINT8_MAX ? 0 : m;
    }
    return e;
oom:
    rules_engine_free(e);
    return NULL;
}

void rules_engine_free(struct rules_engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++) {
        if (e->er[i].t != NULL)
            for (size_t k = 0; k < TSLOTS; k++) {
                free(e->er[i].t[k].times);
                free(e->er[i].t[k].vals);
            }
        free(e->er[i].t);
        free(e->er[i].s);
    }
    for (size_t g = 0; g < e->ngroups; g++) {
        ac_free(e->groups[g].exact);
        ac_free(e->groups[g].folded);
        free(e->seen[g]);
        free(e->lit_rule[g]);
    }
    free(e->always);
    free(e->on_exc);
    free(e->hits);
    for (size_t i = 0; i < e->ninterned; i++)
        free(e->interned[i]);
    free(e->er);
    free(e->expired);
    free(e);
}

/* ---- findings from event rules ---- */

static const char *intern_stream(struct rules_engine *e, const char *s)
{
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < e->ninterned; i++)
        if (strcmp(e->interned[i], s) == 0)
            return e->interned[i];
    if (e->ninterned == 64)
        return "(stream)";
    e->interned[e->ninterned] = strdup(s);
    return e->interned[e->ninterned] ? e->interned[e->ninterned++] : "(stream)";
}

static void summarize(const struct event *ev, char *out, size_t outsz)
{
    struct rx_values v;
        v.n = 0; /* the arrays are written before they are read */
    enum rx_ftype t;
    int f = rules_event_context.resolve("message", &t);
    rules_event_context.get(ev, f, NULL, &v);
    ev_str s = v.n ? v.s[0] : EV_STR_LIT("");
    size_t n = s.len;
    const char *nl = n ? memchr(s.ptr, '\n', n) : NULL;
    if (nl)
        n = (size_t)(nl - s.ptr);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, s.ptr, n);
    out[n] = '\0';
}

static json_t *event_json_brief(const struct event *ev)
{
    json_t *o = json_object();
    char buf[EVTIME_BUFSZ];
    json_object_set_new(o, "ts", ev->has_ts ? json_string(evtime_format(ev->ts_ns, buf)) : json_null());
    json_object_set_new(o, "service", ev_json_str(ev->service));
    json_object_set_new(o, "level", ev->level ? json_string(ev_level_name(ev->level)) : json_null());
    char s[SUMMARY];
    summarize(ev, s, sizeof(s));
    json_object_set_new(o, "message", ev_json_cstr(s));
    if (ev->kind == EV_EXCEPTION && ev->u.exc.chain.n)
        json_object_set_new(o, "exception", ev_json_str(ev->u.exc.chain.exc[ev->u.exc.chain.n - 1].type));
    json_t *src = json_object();
    json_object_set_new(src, "stream", ev_json_cstr(ev->src.stream));
    if (ev->src.line)
        json_object_set_new(src, "line", json_integer((json_int_t)ev->src.line));
    json_object_set_new(o, "source", src);
    return o;
}

/* Fold into the rule's finding for key, or create it with evidence (taken). */
static int rule_finding(struct rules_engine *e, const struct rule *r, const struct event *ev, const char *key,
                        json_t *evidence)
{
    const char *pattern = rules_finding_pattern(r);
    uint64_t fp = hash_field(HASH_INIT, r->id, strlen(r->id));
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, pattern, fp, key, key ? strlen(key) : 0);
    if (finding_store_touch(e->store, id, ev) != NULL) {
        json_decref(evidence);
        return 0;
    }
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        json_decref(evidence);
        return -1;
    }
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = pattern;
    f->rule = r->id;
    f->severity = r->severity_set ? r->severity : SEV_MEDIUM;
    char title[512];
    if (r->title != NULL)
        rules_render_template(r->title, &rules_event_context, ev, title, sizeof(title));
    else
        snprintf(title, sizeof(title), "%s", r->description ? r->description : r->id);
    f->title = strdup(title);
    f->trace_id = ev_str_present(ev->trace_id) ? strndup(ev->trace_id.ptr, ev->trace_id.len) : NULL;
    f->service = ev_str_present(ev->service) ? strndup(ev->service.ptr, ev->service.len) : NULL;
    f->host = ev_str_present(ev->host) ? strndup(ev->host.ptr, ev->host.len) : NULL;
    f->pid = ev->pid;
    json_object_set_new(evidence, "rule", json_string(r->id));
    if (r->description)
        json_object_set_new(evidence, "description", ev_json_cstr(r->description));
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(evidence, "fingerprint", json_string(fph));
    f->evidence = evidence;
    if (r->tags != NULL)
        f->tags = json_incref(r->tags);
    return finding_store_insert(e->store, f, ev) != NULL || finding_store_dropped(e->store) ? 0 : -1;
}

/* The key text of an event for fields (joined by '|'); false when one is absent. */
static bool key_of(const struct event *ev, const int *fields, size_t nf, char *out, size_t outsz, uint64_t *h)
{
    size_t o = 0;
    *h = HASH_INIT;
    out[0] = '\0';
    for (size_t i = 0; i < nf; i++) {
        struct rx_values v;
        v.n = 0; /* the arrays are written before they are read */
        rules_event_context.get(ev, fields[i], NULL, &v);
        if (v.n == 0)
            return false;
        char num[32];
        ev_str s = v.s[0];
        if (v.is_num[0]) {
            snprintf(num, sizeof(num), "%g", v.d[0]);
            s = ev_str_make(num, strlen(num));
        }
        *h = hash_field(*h, s.ptr, s.len);
        int k = snprintf(out + o, outsz - o, "%s%.*s", i ? "|" : "", (int)s.len, s.ptr);
        if (k > 0)
            o = o + (size_t)k < outsz ? o + (size_t)k : outsz - 1;
    }
    *h |= 1u;
    return true;
}

static int do_match(struct rules_engine *e, const struct erule *er, const struct event *ev)
{
    json_t *evd = json_object();
    json_object_set_new(evd, "example", event_json_brief(ev));
    char key[KEYTEXT];
    snprintf(key, sizeof(key), "%.*s", (int)ev->service.len, ev->service.ptr ? ev->service.ptr : "");
    return rule_finding(e, er->r, ev, key, evd);
}

static int do_threshold(struct rules_engine *e, struct erule *er, const struct event *ev)
{
    const struct rule *r = er->r;
    char keytext[KEYTEXT];
    uint64_t h;
    if (!key_of(ev, r->by, r->nby, keytext, sizeof(keytext), &h) || !ev->has_ts)
        return 0;
    struct tslot *t = &er->t[h & (TSLOTS - 1)];
    if (t->key != h) {
        /* Direct-mapped: a colliding key starts over (bounded memory). */
        t->key = h;
        t->head = t->n = 0;
    }
    uint32_t cap = (uint32_t)r->count;
    if (t->times == NULL && (t->times = calloc(cap, sizeof(*t->times))) == NULL)
        return -1;
    if (r->distinct >= 0 && t->vals == NULL && (t->vals = calloc(cap, sizeof(*t->vals))) == NULL)
        return -1;
    int64_t now = ev->ts_ns, from = now - r->window_ns;
    /* Forget what fell out of the window. */
    while (t->n > 0 && t->times[t->head] < from) {
        t->head = (t->head + 1) % cap;
        t->n--;
    }
    uint64_t vh = 0;
    if (r->distinct >= 0) {
        struct rx_values v;
        v.n = 0; /* the arrays are written before they are read */
        rules_event_context.get(ev, r->distinct, NULL, &v);
        if (v.n == 0)
            return 0;
        vh = v.is_num[0] ? hash_bytes(HASH_INIT, &v.d[0], sizeof(double)) : hash_bytes(HASH_INIT, v.s[0].ptr, v.s[0].len);
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t k = (t->head + i) % cap;
            if (t->vals[k] == vh) {
                t->times[k] = now; /* seen again: still one distinct value */
                return 0;
            }
        }
    }
    uint32_t slot = (t->head + t->n) % cap;
    t->times[slot] = now;
    if (t->vals)
        t->vals[slot] = vh;
    t->n++;
    if (t->n < cap)
        return 0;
    /* Reached: one occurrence per full window; start counting afresh. */
    int64_t first = t->times[t->head];
    t->head = t->n = 0;
    json_t *evd = json_object();
    json_object_set_new(evd, "count", json_integer(r->count));
    json_object_set_new(evd, "window_s", json_real((double)r->window_ns / 1e9));
    json_t *kobj = json_object();
    for (size_t i = 0; i < r->nby; i++) {
        struct rx_values v;
        v.n = 0; /* the arrays are written before they are read */
        rules_event_context.get(ev, r->by[i], NULL, &v);
        if (v.n)
            json_object_set_new(kobj, r->by_names[i],
                                v.is_num[0] ? json_real(v.d[0]) : ev_json_str(v.s[0]));
    }
    json_object_set_new(evd, "key", kobj);
    if (r->distinct_name)
        json_object_set_new(evd, "distinct", json_string(r->distinct_name));
    char buf[EVTIME_BUFSZ];
    json_object_set_new(evd, "from", json_string(evtime_format(first, buf)));
    json_object_set_new(evd, "to", json_string(evtime_format(now, buf)));
    json_object_set_new(evd, "example", event_json_brief(ev));
    return rule_finding(e, r, ev, keytext, evd);
}

static void fill_step(struct rules_engine *e, struct sstep *st, const struct event *ev)
{
    st->ts = ev->ts_ns;
    st->has_ts = ev->has_ts;
    summarize(ev, st->summary, sizeof(st->summary));
    st->stream = intern_stream(e, ev->src.stream);
    st->line = ev->src.line;
}

static int seq_fire(struct rules_engine *e, const struct erule *er, struct sslot *s, const struct event *ev,
                    bool missing)
{
    const struct rule *r = er->r;
    json_t *evd = json_object();
    json_object_set_new(evd, "key", json_object());
    json_object_set_new(json_object_get(evd, "key"), r->seq_by_name, ev_json_cstr(s->keytext));
    json_t *steps = json_array();
    char buf[EVTIME_BUFSZ];
    for (uint32_t i = 0; i < s->step; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "ts", s->steps[i].has_ts ? json_string(evtime_format(s->steps[i].ts, buf)) : json_null());
        json_object_set_new(o, "message", ev_json_cstr(s->steps[i].summary));
        json_t *src = json_object();
        json_object_set_new(src, "stream", ev_json_cstr(s->steps[i].stream));
        json_object_set_new(src, "line", json_integer((json_int_t)s->steps[i].line));
        json_object_set_new(o, "source", src);
        json_array_append_new(steps, o);
    }
    json_object_set_new(evd, "steps", steps);
    json_object_set_new(evd, "span_s", json_real((double)r->span_ns / 1e9));
    if (missing)
        json_object_set_new(evd, "missing", json_string("the 'not followed by' step never came within the span"));
    /* The occurrence is dated by the first step, and its source is the first step's. */
    struct event first;
    ev_init(&first, EV_LOG);
    first.has_ts = s->steps[0].has_ts;
    first.ts_ns = s->steps[0].ts;
    first.src.stream = s->steps[0].stream;
    first.src.line = s->steps[0].line;
    first.service = ev_str_make(s->service, strlen(s->service));
    if (!missing && ev != NULL) {
        first.trace_id = ev->trace_id;
        first.host = ev->host;
        first.pid = ev->pid;
    }
    first.message = ev_str_make(s->steps[0].summary, strlen(s->steps[0].summary));
    int rc = rule_finding(e, r, &first, s->service, evd);
    s->step = 0;
    s->key = 0;
    return rc;
}

static int do_sequence(struct rules_engine *e, struct erule *er, const struct event *ev)
{
    const struct rule *r = er->r;
    char keytext[KEYTEXT];
    uint64_t h;
    if (!key_of(ev, &r->seq_by, 1, keytext, sizeof(keytext), &h))
        return 0;
    struct sslot *s = &er->s[h & (SSLOTS - 1)];
    if (s->key == h && s->step > 0) {
        if (ev->has_ts && ev->ts_ns - s->start > r->span_ns) {
            /* Out of the span: "not followed by" has won; "then" has lost. */
            if (r->steps[s->step].negated && seq_fire(e, er, s, NULL, true) != 0)
                return -1;
            s->step = 0;
            s->key = 0;
        } else if (rx_eval(r->steps[s->step].expr, &rules_event_context, ev)) {
            if (r->steps[s->step].negated) {
                s->step = 0; /* B came: nothing to report */
                s->key = 0;
                return 0;
            }
            fill_step(e, &s->steps[s->step], ev);
            s->step++;
            if (s->step == r->nsteps)
                return seq_fire(e, er, s, ev, false);
            return 0;
        }
    }
    if ((s->key != h || s->step == 0) && rx_eval(r->steps[0].expr, &rules_event_context, ev)) {
        if (s->key != 0 && s->key != h && s->step > 0 && r->steps[s->step].negated && ev->has_ts &&
            ev->ts_ns - s->start > r->span_ns && seq_fire(e, er, s, NULL, true) != 0)
            return -1;
        s->key = h;
        s->step = 1;
        s->start = ev->ts_ns;
        snprintf(s->keytext, sizeof(s->keytext), "%s", keytext);
        snprintf(s->service, sizeof(s->service), "%.*s", (int)ev->service.len, ev->service.ptr ? ev->service.ptr : "");
        fill_step(e, &s->steps[0], ev);
    }
    return 0;
}

/* Sequences whose span passed without their "not followed by" step. */
static int sweep(struct rules_engine *e, bool all)
{
    for (size_t i = 0; i < e->n; i++) {
        struct erule *er = &e->er[i];
        if (er->s == NULL || !er->r->steps[er->r->nsteps - 1].negated)
            continue;
        for (size_t k = 0; k < SSLOTS; k++) {
            struct sslot *s = &er->s[k];
            if (s->step == 0 || s->step != er->r->nsteps - 1)
                continue;
            bool past = e->have_wm && e->watermark - s->start > er->r->span_ns;
            if (past && seq_fire(e, er, s, NULL, true) != 0)
                return -1;
            if (all && !past) {
                /* Input ended inside the span: unknown, so nothing is claimed. */
                s->step = 0;
                s->key = 0;
            }
        }
    }
    return 0;
}

int rules_engine_event(struct rules_engine *e, const struct event *ev)
{
    if (e->n == 0)
        return 0;
    if (ev->has_ts && (!e->have_wm || ev->ts_ns > e->watermark)) {
        e->watermark = ev->ts_ns;
        e->have_wm = true;
    }
    /* One pass per prefiltered field: which literals this event holds. Only the
     * rules of those literals, and the rules no literal guards, are evaluated. */
    size_t nhits = 0;
    uint8_t ev_level = ev->level != EV_LVL_UNKNOWN ? (uint8_t)ev->level : ev->kind == EV_EXCEPTION ? EV_LVL_ERROR : 0;
    for (size_t g = 0; g < e->ngroups; g++) {
        struct group *gr = &e->groups[g];
        if (ev_level < gr->min_level)
            continue; /* every rule of this field needs a higher level */
        struct rx_values v;
        v.n = 0; /* the arrays are written before they are read */
        rules_event_context.get(ev, gr->field, NULL, &v);
        size_t before = nhits;
        for (size_t i = 0; i < v.n; i++) {
            if (v.is_num[i])
                continue;
            if (gr->exact)
                nhits = ac_scan(gr->exact, v.s[i].ptr, v.s[i].len, e->seen[g], 0, e->hits, nhits, MAX_LITS);
            if (gr->folded)
                nhits = ac_scan(gr->folded, v.s[i].ptr, v.s[i].len, e->seen[g], gr->nexact, e->hits, nhits, MAX_LITS);
        }
        for (size_t h = before; h < nhits; h++) {
            e->hit_group[h] = (uint32_t)g;
            e->seen[g][e->hits[h]] = 0; /* reset for the next event as we go */
        }
    }
    int rc = 0;
    uint64_t stamp = ++e->events;
    bool exc = ev->kind == EV_EXCEPTION;
    /* As the level field reads it: a bare traceback counts as an error. */
    uint8_t level = ev->level != EV_LVL_UNKNOWN ? (uint8_t)ev->level : exc ? EV_LVL_ERROR : 0;
    size_t nexc = exc ? e->non_exc : 0;
    for (size_t k = 0; k < e->nalways + nexc + nhits && rc == 0; k++) {
        uint32_t idx;
        if (k < e->nalways)
            idx = e->always[k];
        else if (k < e->nalways + nexc)
            idx = e->on_exc[k - e->nalways];
        else
            idx = e->lit_rule[e->hit_group[k - e->nalways - nexc]][e->hits[k - e->nalways - nexc]];
        struct erule *er = &e->er[idx];
        if (er->visited == stamp || level < er->min_level)
            continue; /* guarded twice (two literals, or a literal and the exception), or below its level */
        er->visited = stamp;
        switch (er->r->kind) {
        case RK_MATCH:
            if (rx_eval(er->r->match, &rules_event_context, ev))
                rc = do_match(e, er, ev);
            break;
        case RK_THRESHOLD:
            if (rx_eval(er->r->match, &rules_event_context, ev))
                rc = do_threshold(e, er, ev);
            break;
        case RK_SEQUENCE:
            rc = do_sequence(e, er, ev);
            break;
        default:
            break;
        }
    }
    if (rc == 0 && (e->events & 1023) == 0)
        rc = sweep(e, false);
    return rc;
}

void rules_engine_flush(struct rules_engine *e)
{
    sweep(e, true);
}

/* ---- findings after the detectors ---- */

static const struct rule *claim(const struct rules_engine *e, const struct finding *f, bool *any_rule)
{
    *any_rule = false;
    for (size_t i = 0; i < e->rs->nrules; i++) {
        const struct rule *r = e->rs->rules[i];
        if (r->kind != RK_DETECTOR || strcmp(r->pattern, f->pattern) != 0)
            continue;
        *any_rule = true;
        if (!r->enabled)
            continue;
        if (r->when == NULL || rx_eval(r->when, &rules_finding_context, f))
            return r;
    }
    return NULL;
}

static bool suppressed(struct rules_engine *e, const struct finding *f)
{
    for (size_t i = 0; i < e->rs->nsups; i++) {
        const struct suppression *s = e->rs->sups[i];
        bool hit = (s->finding_id && strcmp(s->finding_id, f->id) == 0) ||
                   (s->fingerprint && f->evidence &&
                    json_is_string(json_object_get(f->evidence, "fingerprint")) &&
                    strcmp(json_string_value(json_object_get(f->evidence, "fingerprint")), s->fingerprint) == 0) ||
                   (s->when && !s->finding_id && !s->fingerprint && rx_eval(s->when, &rules_finding_context, f));
        if (s->when && (s->finding_id || s->fingerprint))
            hit = hit && rx_eval(s->when, &rules_finding_context, f);
        if (!hit)
            continue;
        if (s->until_day >= 0 && e->today > s->until_day) {
            e->expired[i] = true; /* it would have applied: say it no longer does */
            continue;
        }
        return true;
    }
    return false;
}

size_t rules_engine_apply(struct rules_engine *e, struct finding *const *f, size_t n, bool *keep)
{
    size_t nsup = 0;
    for (size_t i = 0; i < n; i++) {
        struct finding *x = f[i];
        keep[i] = true;
        bool from_event_rule = false;
        for (size_t k = 0; k < e->n && !from_event_rule; k++)
            from_event_rule = x->rule == e->er[k].r->id;
        if (!from_event_rule) {
            bool any;
            const struct rule *r = claim(e, x, &any);
            if (r == NULL && any) {
                keep[i] = false; /* the rules for this pattern want none of it */
                continue;
            }
            if (r != NULL) {
                x->rule = r->id;
                if (r->severity_set)
                    x->severity = r->severity;
                if (r->title != NULL) {
                    char title[512];
                    rules_render_template(r->title, &rules_finding_context, x, title, sizeof(title));
                    free(x->title);
                    x->title = strdup(title);
                }
                if (r->tags != NULL && x->tags == NULL)
                    x->tags = json_incref(r->tags);
            }
        }
        if (suppressed(e, x)) {
            keep[i] = false;
            nsup++;
        }
    }
    return nsup;
}

size_t rules_engine_expired(const struct rules_engine *e, char out[][160], size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < e->rs->nsups && k < max; i++)
        if (e->expired[i]) {
            const struct suppression *s = e->rs->sups[i];
            snprintf(out[k++], 160, "suppression %s (%s:%d) expired on %s and no longer applies", s->id, s->source,
                     s->line, s->until_text ? s->until_text : "?");
        }
    return k;
}
