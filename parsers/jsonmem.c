/* jsonmem.c -- memory, gc, counter and training records in JSON lines; see jsonmem.h.
 *
 * Recognition looks only at the record's top-level keys, in this order:
 *   1. "stats" (or "top_stats", "statistics"): an array of objects with a size ->
 *      one EV_TRACEMALLOC snapshot. Each element: "file"/"filename", "line"/"lineno",
 *      "size" (bytes), "count", optional "size_diff", "count_diff", and "traceback"
 *      (frames {"file", "line"}, oldest first). "seq" numbers the snapshot.
 *   2. "typestats" (objgraph.typestats(): type -> count) -> an EV_GC snapshot by type;
 *      "gc_count" (gc.get_count()), "gc_stats" (gc.get_stats()), "objects"
 *      (len(gc.get_objects())) -> an EV_GC counters event.
 *   3. process counters "threads"/"num_threads", "vm_rss_kb"/"rss_bytes"/"rss",
 *      "fds"/"num_fds"/"open_fds" -> EV_COUNTER.
 *   4. a step ("step", "global_step", "iteration", "epoch") with at least one metric
 *      ("loss" or a name containing it, "accuracy", "lr", "grad_norm", ...) and no
 *      message -> EV_COUNTER with every numeric field (NaN and Infinity included, as
 *      Python's json module writes them): a training log.
 * Anything else is left to the log path (JSONMEM_NOT_MINE).
 */
#include "jsonmem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_memory.h"

#define JM_MAX_SITES 100000
#define JM_MAX_COUNTERS 64
#define JM_MAX_FRAMES 64

struct jm {
    const char *js;
    const jt_tok *t;
    int n;
    struct arena *a;
};

static bool key_is(const struct jm *m, int k, const char *lit) { return jt_eq(m->js, &m->t[k], lit); }

/* A number token (NaN/Infinity included) as a double. */
static bool num(const struct jm *m, int i, double *out)
{
    if (i < 0 || m->t[i].type != JSMN_PRIMITIVE)
        return false;
    const char *p = m->js + m->t[i].start;
    size_t len = (size_t)(m->t[i].end - m->t[i].start);
    if (len == 0 || len > 63 || !(p[0] == '-' || (p[0] >= '0' && p[0] <= '9') || p[0] == 'N' || p[0] == 'I'))
        return false;
    char buf[64];
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (strcmp(buf, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    if (strcmp(buf, "Infinity") == 0 || strcmp(buf, "-Infinity") == 0) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0';
}

static bool int_of(const struct jm *m, int i, int64_t *out)
{
    double d;
    if (!num(m, i, &d) || !isfinite(d) || d != floor(d) || fabs(d) > 9e18)
        return false;
    *out = (int64_t)d;
    return true;
}

/* The value token of key in object obj, or -1. */
static int get(const struct jm *m, int obj, const char *key)
{
    if (obj < 0 || m->t[obj].type != JSMN_OBJECT)
        return -1;
    int end = m->t[obj].end;
    for (int j = obj + 1; j < m->n && m->t[j].start < end;) {
        int v = j + 1;
        if (v >= m->n || m->t[j].type != JSMN_STRING)
            return -1;
        if (key_is(m, j, key))
            return v;
        j = jt_skip(m->t, m->n, v);
    }
    return -1;
}

static int get2(const struct jm *m, int obj, const char *a, const char *b)
{
    int v = get(m, obj, a);
    return v >= 0 ? v : get(m, obj, b);
}

/* for (int e = first(m, arr); e >= 0; e = next(m, arr, e)) over array or object
 * members (an object member is its key token). */
static int first(const struct jm *m, int c)
{
    if (c < 0 || c + 1 >= m->n || m->t[c + 1].start >= m->t[c].end)
        return -1;
    return c + 1;
}

static int next(const struct jm *m, int c, int e)
{
    int j = jt_skip(m->t, m->n, m->t[c].type == JSMN_OBJECT ? e + 1 : e);
    return j < m->n && m->t[j].start < m->t[c].end ? j : -1;
}

static int emit(const struct parser_env *env, struct event *ev)
{
    return env->emit ? env->emit(env->emit_ctx, ev) : 0;
}

static void base_event(struct event *ev, const struct event *keys, enum ev_kind kind)
{
    *ev = *keys;
    ev->kind = kind;
    ev->level = EV_LVL_UNKNOWN;
    ev->message = EV_STR_NULL;
    ev->logger = EV_STR_NULL;
}

/* ---- tracemalloc ------------------------------------------------------------------ */

static int cmp_site(const void *a, const void *b)
{
    const struct ev_snap_site *x = a, *y = b;
    return (x->size < y->size) - (x->size > y->size);
}

static int tracemalloc_record(struct jm *m, int stats, const struct event *keys, const struct parser_env *env)
{
    uint32_t cap = (uint32_t)(m->t[stats].size < JM_MAX_SITES ? m->t[stats].size : JM_MAX_SITES);
    struct ev_snap_site *sites = cap ? arena_calloc(m->a, cap, sizeof(*sites)) : NULL;
    if (cap && sites == NULL)
        return -1;
    uint32_t n = 0;
    bool diff = false;
    for (int e = first(m, stats); e >= 0 && n < cap; e = next(m, stats, e)) {
        if (m->t[e].type != JSMN_OBJECT)
            continue;
        int64_t size, line = 0, count = -1, v;
        int f = get2(m, e, "file", "filename");
        if (f < 0 || m->t[f].type != JSMN_STRING || !int_of(m, get2(m, e, "size", "size_bytes"), &size))
            continue;
        struct ev_snap_site *s = &sites[n];
        s->file = jt_str(m->js, &m->t[f], m->a);
        if (!int_of(m, get2(m, e, "line", "lineno"), &line) || line < 0 || line > UINT32_MAX)
            line = 0;
        int_of(m, get(m, e, "count"), &count);
        s->line = (uint32_t)line;
        s->size = size;
        s->count = count;
        if (int_of(m, get(m, e, "size_diff"), &v)) {
            s->size_diff = v;
            diff = true;
        }
        if (int_of(m, get(m, e, "count_diff"), &v))
            s->count_diff = v;
        int tb = get(m, e, "traceback");
        if (tb >= 0 && m->t[tb].type == JSMN_ARRAY && m->t[tb].size > 0) {
            uint32_t nf = (uint32_t)(m->t[tb].size < JM_MAX_FRAMES ? m->t[tb].size : JM_MAX_FRAMES);
            s->tb = arena_calloc(m->a, nf, sizeof(*s->tb));
            if (s->tb == NULL)
                return -1;
            for (int fr = first(m, tb); fr >= 0 && s->ntb < nf; fr = next(m, tb, fr)) {
                int ff = get2(m, fr, "file", "filename");
                int64_t fl = 0;
                if (ff < 0 || m->t[ff].type != JSMN_STRING)
                    continue;
                int_of(m, get2(m, fr, "line", "lineno"), &fl);
                s->tb[s->ntb].file = jt_str(m->js, &m->t[ff], m->a);
                s->tb[s->ntb].line = fl > 0 && fl <= UINT32_MAX ? (uint32_t)fl : 0;
                s->ntb++;
            }
        }
        if (ev_str_present(s->file))
            n++;
    }
    qsort(sites, n, sizeof(*sites), cmp_site);
    int64_t seq = -1, total = 0;
    int_of(m, get(m, 0, "seq"), &seq);
    bool has_total = int_of(m, get2(m, 0, "total_size", "total"), &total);
    struct ev_snapshot snap = {
        .tag = EV_MEM_SNAPSHOT,
        .format = "json",
        .metric = SNAP_BYTES,
        .group = SNAP_BY_LINENO,
        .sites = sites,
        .nsites = n,
        .sites_total = (uint64_t)m->t[stats].size,
        .complete = false,
        .has_diff = diff,
        .has_total = has_total,
        .total_size = total,
        .total_count = -1,
        .traceback_limit = -1,
        .seq = seq,
    };
    struct event ev;
    base_event(&ev, keys, EV_TRACEMALLOC);
    ev.u.snap = &snap;
    return emit(env, &ev);
}

/* ---- gc --------------------------------------------------------------------------- */

static int gc_record(struct jm *m, int typestats, int count, int stats, int objects, const struct event *keys,
                     const struct parser_env *env)
{
    int rc = 0;
    struct event ev;
    struct ev_counter v[16];
    uint32_t nv = 0;
    double x;
    if (objects >= 0 && num(m, objects, &x))
        v[nv++] = (struct ev_counter){EV_STR_LIT(EV_CTR_GC_OBJECTS), x};
    static const char *const cnames[] = {"gc_count0", "gc_count1", "gc_count2"};
    int k = 0;
    for (int e = first(m, count); e >= 0 && k < 3 && m->t[count].type == JSMN_ARRAY; e = next(m, count, e), k++)
        if (num(m, e, &x))
            v[nv++] = (struct ev_counter){ev_str_make(cnames[k], strlen(cnames[k])), x};
    double tot[3] = {0, 0, 0};
    bool any = false;
    for (int e = first(m, stats); e >= 0 && m->t[stats].type == JSMN_ARRAY; e = next(m, stats, e)) {
        static const char *const keys3[] = {"collections", "collected", "uncollectable"};
        for (int j = 0; j < 3; j++)
            if (num(m, get(m, e, keys3[j]), &x)) {
                tot[j] += x;
                any = true;
            }
    }
    if (any) {
        v[nv++] = (struct ev_counter){EV_STR_LIT("gc_collections"), tot[0]};
        v[nv++] = (struct ev_counter){EV_STR_LIT("gc_collected"), tot[1]};
        v[nv++] = (struct ev_counter){EV_STR_LIT("gc_uncollectable"), tot[2]};
    }
    int64_t it;
    if (nv > 0) {
        struct ev_counters c = {.tag = EV_MEM_COUNTERS, .format = "gc", .v = v, .n = nv};
        if (int_of(m, get(m, 0, "iteration"), &it)) {
            c.has_step = true;
            c.step = it;
        }
        base_event(&ev, keys, EV_GC);
        ev.u.counters = &c;
        rc = emit(env, &ev);
        if (rc != 0)
            return rc;
    }
    if (typestats >= 0 && m->t[typestats].type == JSMN_OBJECT) {
        uint32_t cap = (uint32_t)(m->t[typestats].size < JM_MAX_SITES ? m->t[typestats].size : JM_MAX_SITES);
        struct ev_snap_site *sites = cap ? arena_calloc(m->a, cap, sizeof(*sites)) : NULL;
        if (cap && sites == NULL)
            return -1;
        uint32_t n = 0;
        int64_t total = 0, c;
        for (int e = first(m, typestats); e >= 0 && n < cap; e = next(m, typestats, e)) {
            if (m->t[e].type != JSMN_STRING || !int_of(m, e + 1, &c))
                continue;
            sites[n].file = jt_str(m->js, &m->t[e], m->a);
            sites[n].size = c;
            sites[n].count = -1;
            total += c;
            n++;
        }
        qsort(sites, n, sizeof(*sites), cmp_site);
        struct ev_snapshot snap = {
            .tag = EV_MEM_SNAPSHOT,
            .format = "typestats",
            .metric = SNAP_OBJECTS,
            .group = SNAP_BY_TYPE,
            .sites = sites,
            .nsites = n,
            .sites_total = n,
            .complete = true, /* typestats() counts every gc-tracked object */
            .has_total = true,
            .total_size = total,
            .total_count = -1,
            .traceback_limit = -1,
            .seq = int_of(m, get(m, 0, "iteration"), &it) ? it : -1,
        };
        base_event(&ev, keys, EV_GC);
        ev.u.snap = &snap;
        rc = emit(env, &ev);
    }
    return rc;
}

/* ---- counters --------------------------------------------------------------------- */

static bool has_word(ev_str k, const char *w, size_t n)
{
    for (size_t i = 0; i + n <= k.len; i++)
        if (memcmp(k.ptr + i, w, n) == 0)
            return true;
    return false;
}

struct name {
    const char *s;
    size_t n;
};
#define NAME(x) {x, sizeof(x) - 1}

/* Every key of every JSON line passes here: compare lengths before bytes. */
static bool in_names(ev_str k, const struct name *names)
{
    for (size_t i = 0; names[i].s != NULL; i++)
        if (k.len == names[i].n && memcmp(k.ptr, names[i].s, k.len) == 0)
            return true;
    return false;
}

static bool is_metric_name(ev_str k)
{
    static const struct name names[] = {NAME("accuracy"), NAME("acc"), NAME("lr"), NAME("learning_rate"),
                                        NAME("grad_norm"), NAME("perplexity"), NAME("ppl"), NAME("reward"),
                                        NAME("val_accuracy"), NAME("top1"), NAME("top5"), NAME("f1"), {NULL, 0}};
    return has_word(k, "loss", 4) || in_names(k, names);
}

static bool is_key_field(ev_str k)
{
    static const struct name names[] = {NAME("ts"), NAME("time"), NAME("timestamp"), NAME("@timestamp"), NAME("pid"),
                                        NAME("step"), NAME("global_step"), NAME("iteration"), NAME("epoch"),
                                        NAME("seq"), NAME("samples"), NAME("steps"), NAME("params"), {NULL, 0}};
    return in_names(k, names);
}

/* The top-level keys a memory, gc, counter or training record is known by. jsonlog
 * asks about every top-level key it does not know itself. */
enum key_kind {
    JK_NONE = 0, JK_STATS, JK_TYPESTATS, JK_GC_COUNT, JK_GC_STATS, JK_OBJECTS, JK_THREADS, JK_RSS_KB, JK_RSS,
    JK_FDS, JK_STEP_MAIN, JK_STEP, JK_MESSAGE
};

#define MK(s, k) {s, sizeof(s) - 1, k}
static const struct {
    const char *name;
    unsigned char len;
    unsigned char kind;
} mem_keys[] = {
    MK("stats", JK_STATS),         MK("top_stats", JK_STATS),      MK("statistics", JK_STATS),
    MK("typestats", JK_TYPESTATS), MK("gc_count", JK_GC_COUNT),    MK("gc_stats", JK_GC_STATS),
    MK("objects", JK_OBJECTS),     MK("gc_objects", JK_OBJECTS),   MK("threads", JK_THREADS),
    MK("num_threads", JK_THREADS), MK("vm_rss_kb", JK_RSS_KB),     MK("rss_kb", JK_RSS_KB),
    MK("rss_bytes", JK_RSS),       MK("rss", JK_RSS),              MK("fds", JK_FDS),
    MK("num_fds", JK_FDS),         MK("open_fds", JK_FDS),         MK("step", JK_STEP_MAIN),
    MK("global_step", JK_STEP_MAIN), MK("iteration", JK_STEP),     MK("epoch", JK_STEP),
    MK("message", JK_MESSAGE),     MK("msg", JK_MESSAGE),          MK("event", JK_MESSAGE),
    MK("exc_type", JK_MESSAGE),    MK("traceback", JK_MESSAGE),    MK("exception", JK_MESSAGE),
};
#undef MK

static enum key_kind key_kind(ev_str n)
{
    for (size_t i = 0; i < sizeof(mem_keys) / sizeof(mem_keys[0]); i++)
        if (mem_keys[i].len == n.len && memcmp(mem_keys[i].name, n.ptr, n.len) == 0)
            return (enum key_kind)mem_keys[i].kind;
    return JK_NONE;
}

bool jsonmem_wants_key(const char *name, size_t n)
{
    enum key_kind k = key_kind(ev_str_make(name, n));
    return k != JK_NONE && k != JK_MESSAGE;
}

int jsonmem_record(const char *js, const jt_tok *tok, int ntok, const struct event *keys, struct arena *a,
                   const struct parser_env *env)
{
    struct jm m = {js, tok, ntok, a};
    if (ntok < 3 || tok[0].type != JSMN_OBJECT)
        return JSONMEM_NOT_MINE;
    int stats = -1, typestats = -1, gc_count = -1, gc_stats = -1, objects = -1, step = -1;
    int threads = -1, rss_kb = -1, rss = -1, fds = -1;
    bool message = false;
    for (int k = first(&m, 0); k >= 0; k = next(&m, 0, k)) {
        if (tok[k].type != JSMN_STRING || k + 1 >= ntok)
            return JSONMEM_NOT_MINE;
        int v = k + 1;
        jsmntype_t vt = tok[v].type;
        switch (key_kind(jt_raw(js, &tok[k]))) {
        case JK_STATS:
            if (vt == JSMN_ARRAY)
                stats = v;
            break;
        case JK_TYPESTATS:
            if (vt == JSMN_OBJECT)
                typestats = v;
            break;
        case JK_GC_COUNT:
            if (vt == JSMN_ARRAY)
                gc_count = v;
            break;
        case JK_GC_STATS:
            if (vt == JSMN_ARRAY)
                gc_stats = v;
            break;
        case JK_OBJECTS:
            if (vt == JSMN_PRIMITIVE)
                objects = v;
            break;
        case JK_THREADS:
            threads = v;
            break;
        case JK_RSS_KB:
            rss_kb = v;
            break;
        case JK_RSS:
            rss = v;
            break;
        case JK_FDS:
            fds = v;
            break;
        case JK_STEP_MAIN:
            step = v;
            break;
        case JK_STEP:
            if (step < 0)
                step = v;
            break;
        case JK_MESSAGE:
            if (vt == JSMN_STRING)
                message = true;
            break;
        default:
            break;
        }
    }
    if (stats >= 0 && tok[stats].size > 0 && tok[stats + 1].type == JSMN_OBJECT &&
        get2(&m, stats + 1, "size", "size_bytes") >= 0)
        return tracemalloc_record(&m, stats, keys, env);
    if (typestats >= 0 || gc_count >= 0 || gc_stats >= 0 || (objects >= 0 && get(&m, 0, "kind") >= 0 &&
                                                              jt_eq(js, &tok[get(&m, 0, "kind")], "gc")))
        return gc_record(&m, typestats, gc_count, gc_stats, objects, keys, env);

    struct ev_counter v[JM_MAX_COUNTERS];
    uint32_t nv = 0;
    double x;
    if (threads >= 0 || rss_kb >= 0 || rss >= 0 || fds >= 0) {
        if (threads >= 0 && num(&m, threads, &x))
            v[nv++] = (struct ev_counter){EV_STR_LIT(EV_CTR_THREADS), x};
        if (rss_kb >= 0 && num(&m, rss_kb, &x))
            v[nv++] = (struct ev_counter){EV_STR_LIT(EV_CTR_RSS), x * 1024};
        else if (rss >= 0 && num(&m, rss, &x))
            v[nv++] = (struct ev_counter){EV_STR_LIT(EV_CTR_RSS), x};
        if (fds >= 0 && num(&m, fds, &x))
            v[nv++] = (struct ev_counter){EV_STR_LIT(EV_CTR_FDS), x};
        if (nv == 0)
            return JSONMEM_NOT_MINE;
        struct ev_counters c = {.tag = EV_MEM_COUNTERS, .format = "json", .v = v, .n = nv};
        struct event ev;
        base_event(&ev, keys, EV_COUNTER);
        ev.u.counters = &c;
        return emit(env, &ev);
    }
    int64_t st;
    /* A training record: a step, a metric, and no message. The metric names are
     * looked for only then (a log record has a message). */
    bool metric = false;
    if (step >= 0 && !message)
        for (int k = first(&m, 0); k >= 0 && !metric; k = next(&m, 0, k))
            metric = tok[k + 1].type == JSMN_PRIMITIVE && is_metric_name(jt_raw(js, &tok[k]));
    if (step >= 0 && metric && !message && int_of(&m, step, &st)) {
        for (int k = first(&m, 0); k >= 0 && nv < JM_MAX_COUNTERS; k = next(&m, 0, k)) {
            ev_str name = jt_raw(js, &tok[k]);
            if (is_key_field(name) || memchr(name.ptr, '\\', name.len) != NULL || !num(&m, k + 1, &x))
                continue;
            v[nv++] = (struct ev_counter){name, x};
        }
        struct ev_counters c = {.tag = EV_MEM_COUNTERS, .format = "training", .v = v, .n = nv,
                                .has_step = true, .step = st};
        struct event ev;
        base_event(&ev, keys, EV_COUNTER);
        ev.u.counters = &c;
        return emit(env, &ev);
    }
    return JSONMEM_NOT_MINE;
}
