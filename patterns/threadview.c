/* threadview.c -- dumps of each process kept and joined; see threadview.h. */
#include "threadview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/pyframe.h"

#define TV_ARENA_CAP ((size_t)32 << 20)

/* ---- keeping ---- */

static struct tv_proc *proc_for(struct tv *v, const struct event *ev)
{
    for (size_t i = 0; i < v->n; i++) {
        struct tv_proc *p = &v->procs[i];
        if (ev->pid >= 0 ? p->pid == ev->pid
                         : (p->pid < 0 && p->key != NULL && ev->src.stream != NULL && strcmp(p->key, ev->src.stream) == 0))
            return p;
    }
    if (v->n >= TV_MAX_PROCS)
        return NULL;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        struct tv_proc *np = realloc(v->procs, cap * sizeof(*np));
        if (np == NULL)
            return NULL;
        v->procs = np;
        v->cap = cap;
    }
    struct tv_proc *p = &v->procs[v->n];
    memset(p, 0, sizeof(*p));
    p->pid = ev->pid;
    p->merged_into = -1;
    arena_init(&p->arena, TV_ARENA_CAP);
    if (ev->pid < 0) {
        p->key = strdup(ev->src.stream ? ev->src.stream : "-");
        if (p->key == NULL)
            return NULL;
    }
    v->n++;
    return p;
}

int tv_add(struct tv *v, const struct event *ev)
{
    if ((ev->kind != EV_THREAD_DUMP && ev->kind != EV_THREAD_CPU) || ev->u.dump == NULL)
        return 0;
    v->resolved = false;
    struct tv_proc *p = proc_for(v, ev);
    if (p == NULL) {
        v->dropped++;
        return v->n >= TV_MAX_PROCS ? 0 : -1;
    }
    if (p->nev == p->cap && p->cap < TV_MAX_EVENTS) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        if (cap > TV_MAX_EVENTS)
            cap = TV_MAX_EVENTS;
        struct event *ne = realloc(p->ev, cap * sizeof(*ne));
        if (ne == NULL)
            return -1;
        p->ev = ne;
        p->cap = cap;
    }
    size_t slot = p->nev;
    if (slot >= TV_MAX_EVENTS) {
        /* Full: keep the first ones and the latest. */
        slot = TV_MAX_EVENTS - 1;
        p->dropped++;
    }
    struct event tmp;
    if (ev_clone(&tmp, ev, &p->arena) != 0)
        return -1;
    p->ev[slot] = tmp;
    if (slot == p->nev)
        p->nev++;
    return 0;
}

void tv_free(struct tv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        arena_free(&v->procs[i].arena);
        free(v->procs[i].ev);
        free(v->procs[i].key);
    }
    free(v->procs);
    memset(v, 0, sizeof(*v));
}

static bool proc_has(const struct tv_proc *p, uint64_t ident, int64_t native)
{
    for (size_t e = 0; e < p->nev; e++) {
        const struct ev_dump *d = p->ev[e].u.dump;
        if ((ident && ev_dump_thread_by_ident(d, ident)) || (native >= 0 && ev_dump_thread_by_native(d, native)))
            return true;
    }
    return false;
}

static long root_of(const struct tv *v, long i)
{
    for (int hops = 0; v->procs[i].merged_into >= 0 && hops < TV_MAX_PROCS; hops++)
        i = v->procs[i].merged_into;
    return i;
}

void tv_resolve(struct tv *v)
{
    if (v->resolved)
        return;
    for (size_t i = 0; i < v->n; i++) {
        struct tv_proc *p = &v->procs[i];
        if (p->pid >= 0 || p->merged_into >= 0)
            continue;
        long best = -1;
        for (size_t j = 0; j < v->n && best < 0; j++) {
            if (j == i || root_of(v, (long)j) == (long)i)
                continue;
            const struct tv_proc *q = &v->procs[j];
            for (size_t e = 0; e < p->nev && best < 0; e++) {
                const struct ev_dump *d = p->ev[e].u.dump;
                for (uint32_t t = 0; t < d->nthreads; t++) {
                    /* Native ids are per machine: only a process with a pid vouches. */
                    int64_t native = q->pid >= 0 ? d->threads[t].native_id : -1;
                    if (proc_has(q, d->threads[t].ident, native)) {
                        best = (long)j;
                        break;
                    }
                }
            }
        }
        if (best >= 0)
            p->merged_into = root_of(v, best);
    }
    v->resolved = true;
}

/* ---- frames ---- */

static bool str_is(ev_str s, const char *lit) { return ev_str_eq(s, lit); }

static bool ends_with(ev_str s, const char *lit)
{
    size_t k = strlen(lit);
    return s.ptr != NULL && s.len >= k && memcmp(s.ptr + s.len - k, lit, k) == 0;
}

const struct ev_dframe *tv_innermost_python(const struct ev_dthread *t)
{
    for (uint32_t i = 0; t != NULL && i < t->nframes; i++)
        if (t->frames[i].kind == EV_DF_PYTHON)
            return &t->frames[i];
    return NULL;
}

const struct ev_dframe *tv_innermost_app(const struct ev_dthread *t)
{
    for (uint32_t i = 0; t != NULL && i < t->nframes; i++)
        if (t->frames[i].kind == EV_DF_PYTHON && ev_str_present(t->frames[i].file) &&
            pyframe_classify(t->frames[i].file) == PYFRAME_APP)
            return &t->frames[i];
    return NULL;
}

/* The Python frame after f (its caller), or NULL. */
static const struct ev_dframe *caller_of(const struct ev_dthread *t, const struct ev_dframe *f)
{
    for (const struct ev_dframe *c = f + 1; c < t->frames + t->nframes; c++)
        if (c->kind == EV_DF_PYTHON)
            return c;
    return NULL;
}

static bool native_lock_wait(const struct ev_dthread *t)
{
    /* py-spy --native or a bt without py-bt: the C acquire of a Python lock. */
    for (uint32_t i = 0; i < t->nframes; i++) {
        const struct ev_dframe *f = &t->frames[i];
        if (f->kind == EV_DF_PYTHON)
            return false; /* only frames inner to the first Python frame count */
        if (f->kind == EV_DF_NATIVE && (str_is(f->function, "take_gil") || str_is(f->function, "drop_gil")))
            return false;
        if (f->kind == EV_DF_NATIVE && (str_is(f->function, "rlock_acquire") ||
                                        str_is(f->function, "lock_PyThread_acquire_lock") ||
                                        str_is(f->function, "_thread_RLock_acquire_impl") ||
                                        str_is(f->function, "_thread_lock_acquire_impl")))
            return true;
    }
    return false;
}

static enum tv_wait classify(const struct ev_dthread *t, uint64_t waits_for)
{
    const struct ev_dframe *py = tv_innermost_python(t);
    if (py != NULL && ends_with(py->file, "/threading.py")) {
        if (str_is(py->function, "_wait_for_tstate_lock") || str_is(py->function, "join"))
            return TV_IDLE_WAIT; /* joining a thread: waits for it to end */
        if (str_is(py->function, "wait") || str_is(py->function, "wait_for")) {
            /* Condition.wait under Semaphore.acquire is a semaphore acquisition. */
            const struct ev_dframe *c = caller_of(t, py);
            if (c != NULL && ends_with(c->file, "/threading.py") && str_is(c->function, "acquire"))
                return TV_LOCK;
            return TV_IDLE_WAIT;
        }
        if (str_is(py->function, "acquire"))
            return TV_LOCK;
    }
    if (py != NULL && ends_with(py->file, "/queue.py") &&
        (str_is(py->function, "get") || str_is(py->function, "put") || str_is(py->function, "join")))
        return TV_IDLE_WAIT;
    if (waits_for != 0 || native_lock_wait(t))
        return TV_LOCK;
    return TV_RUNNABLE;
}

/* ---- the graph ---- */

static bool same_frame(const struct ev_dframe *a, const struct ev_dframe *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->line == b->line && a->file.len == b->file.len && a->function.len == b->function.len &&
           (a->file.len == 0 || memcmp(a->file.ptr, b->file.ptr, a->file.len) == 0) &&
           (a->function.len == 0 || memcmp(a->function.ptr, b->function.ptr, a->function.len) == 0);
}

static const struct ev_dframe *innermost_any(const struct ev_dthread *t)
{
    const struct ev_dframe *py = tv_innermost_python(t);
    return py != NULL ? py : (t->nframes ? &t->frames[0] : NULL);
}

struct tv_thread *tv_thread_by_ident(const struct tv_graph *g, uint64_t ident)
{
    for (size_t i = 0; i < g->nthreads && ident != 0; i++)
        if (g->threads[i].ident == ident)
            return &g->threads[i];
    return NULL;
}

struct tv_thread *tv_thread_by_native(const struct tv_graph *g, int64_t native_id)
{
    for (size_t i = 0; i < g->nthreads && native_id >= 0; i++)
        if (g->threads[i].native_id == native_id)
            return &g->threads[i];
    return NULL;
}

const struct tv_lock *tv_lock_at(const struct tv_graph *g, uint64_t address)
{
    for (size_t i = 0; i < g->nlocks; i++)
        if (g->locks[i].address == address)
            return &g->locks[i];
    return NULL;
}

struct tv_thread *tv_owner_of_wait(const struct tv_graph *g, const struct tv_thread *t, bool *gone)
{
    *gone = false;
    const struct tv_lock *l = t->waits_for ? tv_lock_at(g, t->waits_for) : NULL;
    if (l == NULL || !l->owner_known || l->owner == 0)
        return NULL;
    struct tv_thread *o = tv_thread_by_ident(g, l->owner);
    if (o == NULL)
        *gone = true;
    return o;
}

static int richness(enum ev_dump_format f)
{
    switch (f) {
    case EV_DUMP_GDB: return 3;
    case EV_DUMP_PYSPY: return 2;
    case EV_DUMP_FAULTHANDLER: return 1;
    case EV_DUMP_PS:
    case EV_DUMP_TOP: break;
    }
    return 0;
}

/* The events of process i and of those joined to it, in order. */
static size_t gather(const struct tv *v, size_t i, const struct event **out, size_t max)
{
    size_t n = 0;
    for (size_t j = 0; j < v->n; j++) {
        if (root_of(v, (long)j) != (long)i)
            continue;
        for (size_t e = 0; e < v->procs[j].nev && n < max; e++)
            out[n++] = &v->procs[j].ev[e];
    }
    return n;
}

/* Grow an array of n elements of size sz by one; NULL on OOM. */
static void *push(void **arr, size_t *n, size_t *cap, size_t sz)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, c * sz);
        if (p == NULL)
            return NULL;
        *arr = p;
        *cap = c;
    }
    char *slot = (char *)*arr + (*n)++ * sz;
    memset(slot, 0, sz);
    return slot;
}

struct lock_acc {
    struct tv_lock l;
    uint64_t words[4];
    uint8_t nwords;
    const struct event *words_src;
};

int tv_graph_build(const struct tv *v, size_t i, struct tv_graph *g)
{
    memset(g, 0, sizeof(*g));
    g->proc = &v->procs[i];
    g->pid = v->procs[i].pid;
    const struct event *evs[4096];
    size_t nev = gather(v, i, evs, sizeof(evs) / sizeof(evs[0]));
    size_t tcap = 0, lcap = 0, nacc = 0;
    struct lock_acc *acc = NULL;
    for (size_t e = 0; e < nev; e++) {
        const struct event *ev = evs[e];
        const struct ev_dump *d = ev->u.dump;
        if (ev->kind == EV_THREAD_CPU) {
            if (g->ncpu < TV_MAX_EVENTS)
                g->cpu[g->ncpu++] = ev;
            continue;
        }
        if (g->first == NULL)
            g->first = ev;
        if (g->pid < 0 && ev->pid >= 0)
            g->pid = ev->pid;
        for (uint32_t k = 0; k < d->nthreads; k++) {
            const struct ev_dthread *r = &d->threads[k];
            uint64_t ident = r->ident;
            /* A record without an ident finds its thread by native id (py-spy text). */
            struct tv_thread *t = ident ? tv_thread_by_ident(g, ident) : tv_thread_by_native(g, r->native_id);
            if (t == NULL && ident && r->native_id >= 0)
                t = tv_thread_by_native(g, r->native_id);
            if (t == NULL) {
                t = push((void **)&g->threads, &g->nthreads, &tcap, sizeof(*g->threads));
                if (t == NULL)
                    goto oom;
                t->native_id = -1;
            }
            if (t->ident == 0 && ident) {
                t->ident = ident;
                t->id = r->id;
            }
            if (!ev_str_present(t->id))
                t->id = r->id;
            if (t->native_id < 0)
                t->native_id = r->native_id;
            /* py-spy names threads as Python does; gdb and ps give the OS name. */
            if (ev_str_present(r->name) && (!ev_str_present(t->name) || d->format == EV_DUMP_PYSPY))
                t->name = r->name;
            const struct ev_dframe *site = innermost_any(r);
            if (t->t != NULL && r->nframes > 0)
                t->same_site = same_frame(innermost_any(t->t), site) ? t->same_site + 1 : 1;
            else if (r->nframes > 0)
                t->same_site = 1;
            t->seen++;
            /* The richest record stands for the thread: gdb shows waits and native
             * frames, py-spy names, faulthandler only Python frames; among equals
             * the latest wins. */
            if (t->t == NULL || (r->nframes > 0 && richness(d->format) >= richness(t->src->u.dump->format))) {
                t->t = r;
                t->src = ev;
                t->waits_for = r->waits_for;
            }
        }
        for (uint32_t k = 0; k < d->nlocks; k++) {
            const struct ev_lock *r = &d->locks[k];
            struct lock_acc *a = NULL;
            for (size_t x = 0; x < nacc; x++)
                if (acc[x].l.address == r->address)
                    a = &acc[x];
            if (a == NULL) {
                a = push((void **)&acc, &nacc, &lcap, sizeof(*acc));
                if (a == NULL)
                    goto oom;
                a->l.address = r->address;
            }
            if (a->l.kind == EV_LOCK_UNKNOWN)
                a->l.kind = r->kind;
            if (r->owner_known) {
                a->l.owner_known = true;
                a->l.owner = r->owner;
                a->l.owner_src = ev;
            }
            if (r->nwords == 4 && a->nwords < 4) {
                memcpy(a->words, r->words, sizeof(a->words));
                a->nwords = 4;
                a->words_src = ev;
            }
        }
    }
    /* The join: an RLock's kind from one artifact, its words from another. */
    if (nacc) {
        g->locks = calloc(nacc, sizeof(*g->locks));
        if (g->locks == NULL)
            goto oom;
        for (size_t x = 0; x < nacc; x++) {
            uint64_t owner;
            if (!acc[x].l.owner_known && ev_lock_owner_from_words(acc[x].l.kind, acc[x].words, acc[x].nwords, &owner)) {
                acc[x].l.owner_known = true;
                acc[x].l.owner = owner;
                acc[x].l.owner_src = acc[x].words_src;
            }
            g->locks[x] = acc[x].l;
        }
        g->nlocks = nacc;
    }
    free(acc);
    for (size_t k = 0; k < g->nthreads; k++)
        g->threads[k].wait = classify(g->threads[k].t, g->threads[k].waits_for);
    return 0;
oom:
    free(acc);
    tv_graph_free(g);
    return -1;
}

void tv_graph_free(struct tv_graph *g)
{
    free(g->threads);
    free(g->locks);
    memset(g, 0, sizeof(*g));
}

/* ---- evidence ---- */

const char *tv_addr(uint64_t a, char *buf) { return ev_dump_addr(a, buf); }

json_t *tv_frame_label(const struct ev_dframe *f)
{
    if (f == NULL)
        return json_null();
    char buf[1024];
    if (f->kind == EV_DF_PYTHON)
        snprintf(buf, sizeof(buf), "%.*s:%u %.*s", (int)f->file.len, f->file.ptr ? f->file.ptr : "", f->line,
                 (int)f->function.len, f->function.ptr ? f->function.ptr : "");
    else
        snprintf(buf, sizeof(buf), "%.*s", (int)f->function.len, f->function.ptr ? f->function.ptr : "");
    return ev_json_cstr(buf);
}

json_t *tv_thread_json(const struct tv_graph *g, const struct tv_thread *t)
{
    char a[24];
    json_t *o = json_object();
    json_object_set_new(o, "id", ev_json_str(t->id));
    json_object_set_new(o, "native_id", t->native_id >= 0 ? json_integer(t->native_id) : json_null());
    json_object_set_new(o, "name", ev_json_str(t->name));
    json_object_set_new(o, "waits_for", t->waits_for ? json_string(tv_addr(t->waits_for, a)) : json_null());
    const struct tv_lock *wl = t->waits_for ? tv_lock_at(g, t->waits_for) : NULL;
    if (wl != NULL && ev_lock_kind_name(wl->kind) != NULL)
        json_object_set_new(o, "lock_kind", json_string(ev_lock_kind_name(wl->kind)));
    json_t *holds = json_array();
    for (size_t i = 0; i < g->nlocks; i++)
        if (g->locks[i].owner_known && g->locks[i].owner != 0 && g->locks[i].owner == t->ident)
            json_array_append_new(holds, json_string(tv_addr(g->locks[i].address, a)));
    json_object_set_new(o, "holds", holds);
    const struct ev_dframe *py = tv_innermost_python(t->t);
    json_object_set_new(o, "frame", tv_frame_label(py != NULL ? py : (t->t && t->t->nframes ? &t->t->frames[0] : NULL)));
    const struct ev_dframe *app = tv_innermost_app(t->t);
    if (app != NULL && app != py)
        json_object_set_new(o, "app_frame", tv_frame_label(app));
    json_t *stack = json_array();
    for (uint32_t i = 0; t->t != NULL && i < t->t->nframes && json_array_size(stack) < 24; i++)
        if (t->t->frames[i].kind != EV_DF_NATIVE)
            json_array_append_new(stack, tv_frame_label(&t->t->frames[i]));
    json_object_set_new(o, "stack", stack);
    return o;
}

json_t *tv_artifacts_json(const struct tv_graph *g)
{
    json_t *arr = json_array();
    /* The events of the graph are reachable through its threads, locks and samples. */
    const struct event *seen[64];
    size_t n = 0;
    for (size_t i = 0; i < g->nthreads + g->nlocks + g->ncpu; i++) {
        const struct event *ev = i < g->nthreads ? g->threads[i].src
                                 : i < g->nthreads + g->nlocks ? g->locks[i - g->nthreads].owner_src
                                                               : g->cpu[i - g->nthreads - g->nlocks];
        if (ev == NULL)
            continue;
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= seen[k] == ev;
        if (dup || n == 64)
            continue;
        seen[n++] = ev;
        json_t *o = json_object();
        json_object_set_new(o, "stream", ev_json_cstr(ev->src.stream));
        json_object_set_new(o, "line", json_integer((json_int_t)ev->src.line));
        json_object_set_new(o, "format", json_string(ev_dump_format_name(ev->u.dump->format)));
        json_array_append_new(arr, o);
    }
    return arr;
}
