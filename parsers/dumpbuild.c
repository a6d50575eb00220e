/* dumpbuild.c -- assembling one dump for the dump parsers; see dumpbuild.h. */
#include "dumpbuild.h"

#include <stdlib.h>
#include <string.h>

static void clear_scalars(struct dumpb *b)
{
    memset(&b->d, 0, sizeof(b->d));
    b->d.format = b->format;
    b->d.clock_s = -1;
    b->nthreads = b->nframes = b->nlocks = b->nmodules = 0;
    b->pid = -1;
    b->first_line = 0;
    b->level = EV_LVL_UNKNOWN;
}

void dumpb_init(struct dumpb *b, const struct parser_env *env, enum ev_dump_format f)
{
    memset(b, 0, sizeof(*b));
    b->env = env;
    b->format = f;
    /* One dump's strings: a few MiB at most, well inside the record limit. */
    arena_init(&b->arena, env->limits->max_record * 4);
    clear_scalars(b);
}

void dumpb_free(struct dumpb *b)
{
    arena_free(&b->arena);
    free(b->threads);
    free(b->fthr);
    free(b->frames);
    free(b->locks);
    free(b->modules);
    memset(b, 0, sizeof(*b));
}

void dumpb_reset(struct dumpb *b)
{
    arena_reset(&b->arena);
    clear_scalars(b);
}

void dumpb_touch(struct dumpb *b, uint64_t ln)
{
    if (b->first_line == 0)
        b->first_line = ln;
    if (ln > b->d.last_line)
        b->d.last_line = ln;
}

bool dumpb_empty(const struct dumpb *b) { return b->first_line == 0; }

ev_str dumpb_str(struct dumpb *b, const char *p, size_t n)
{
    char *s = arena_strndup(&b->arena, p, n);
    if (s == NULL) {
        b->oom = true;
        return EV_STR_NULL;
    }
    return ev_str_make(s, n);
}

/* Grow *arr (of *cap elements of size sz) to hold need elements. */
static bool grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * sz);
    if (p == NULL)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

struct ev_dthread *dumpb_thread(struct dumpb *b)
{
    b->d.threads_total++;
    if (b->nthreads >= DUMPB_MAX_THREADS)
        return NULL;
    if (!grow((void **)&b->threads, &b->thr_cap, b->nthreads + 1, sizeof(*b->threads))) {
        b->oom = true;
        return NULL;
    }
    struct ev_dthread *t = &b->threads[b->nthreads];
    memset(t, 0, sizeof(*t));
    t->native_id = -1;
    t->cpu_seconds = -1;
    b->nthreads++;
    return t;
}

struct ev_dthread *dumpb_find_number(struct dumpb *b, int32_t number)
{
    for (size_t i = 0; i < b->nthreads && number != 0; i++)
        if (b->threads[i].number == number)
            return &b->threads[i];
    return NULL;
}

struct ev_dthread *dumpb_find_ident(struct dumpb *b, uint64_t ident)
{
    for (size_t i = 0; i < b->nthreads && ident != 0; i++)
        if (b->threads[i].ident == ident)
            return &b->threads[i];
    return NULL;
}

struct ev_dthread *dumpb_find_native(struct dumpb *b, int64_t native_id)
{
    for (size_t i = 0; i < b->nthreads && native_id >= 0; i++)
        if (b->threads[i].native_id == native_id)
            return &b->threads[i];
    return NULL;
}

struct ev_dthread *dumpb_last_thread(struct dumpb *b)
{
    return b->nthreads ? &b->threads[b->nthreads - 1] : NULL;
}

struct ev_dframe *dumpb_frame(struct dumpb *b, struct ev_dthread *t)
{
    if (t == NULL || t < b->threads || t >= b->threads + b->nthreads)
        return NULL;
    t->frames_total++;
    if (t->nframes >= b->env->limits->max_frames)
        return NULL;
    if (!grow((void **)&b->frames, &b->fr_cap, b->nframes + 1, sizeof(*b->frames)) ||
        !grow((void **)&b->fthr, &b->fthr_cap, b->nframes + 1, sizeof(*b->fthr))) {
        b->oom = true;
        return NULL;
    }
    b->fthr[b->nframes] = (uint32_t)(t - b->threads);
    struct ev_dframe *f = &b->frames[b->nframes++];
    memset(f, 0, sizeof(*f));
    t->nframes++;
    return f;
}

struct ev_lock *dumpb_lock(struct dumpb *b, uint64_t address)
{
    for (size_t i = 0; i < b->nlocks; i++)
        if (b->locks[i].address == address)
            return &b->locks[i];
    if (b->nlocks >= DUMPB_MAX_LOCKS)
        return NULL;
    if (!grow((void **)&b->locks, &b->lock_cap, b->nlocks + 1, sizeof(*b->locks))) {
        b->oom = true;
        return NULL;
    }
    struct ev_lock *l = &b->locks[b->nlocks++];
    memset(l, 0, sizeof(*l));
    l->address = address;
    l->count = -1;
    return l;
}

void dumpb_module(struct dumpb *b, const char *p, size_t n)
{
    b->d.modules_total++;
    if (b->nmodules >= EV_DUMP_MAX_MODULES)
        return;
    if (!grow((void **)&b->modules, &b->mod_cap, b->nmodules + 1, sizeof(*b->modules))) {
        b->oom = true;
        return;
    }
    ev_str s = dumpb_str(b, p, n);
    if (ev_str_present(s))
        b->modules[b->nmodules++] = s;
}

/* Lay out arrays, derive waits' lock kinds and holds from proven owners. */
static int finalize(struct dumpb *b)
{
    struct ev_dump *d = &b->d;
    d->threads = b->threads;
    d->nthreads = (uint32_t)b->nthreads;
    d->locks = b->locks;
    d->nlocks = (uint32_t)b->nlocks;
    d->modules = b->modules;
    d->nmodules = (uint32_t)b->nmodules;
    if (d->modules_total < d->nmodules)
        d->modules_total = d->nmodules;
    for (size_t i = 0; i < b->nlocks; i++) {
        struct ev_lock *l = &b->locks[i];
        uint64_t owner;
        if (!l->owner_known && ev_lock_owner_from_words(l->kind, l->words, l->nwords, &owner)) {
            l->owner_known = true;
            l->owner = owner;
        }
    }
    /* Group frames by thread, keeping each thread's frames in arrival order. */
    struct ev_dframe *sorted = NULL;
    if (b->nframes) {
        sorted = arena_alloc(&b->arena, b->nframes * sizeof(*sorted));
        if (sorted == NULL)
            return -1;
        size_t off = 0;
        for (size_t i = 0; i < b->nthreads; i++) {
            b->threads[i].frames = b->threads[i].nframes ? sorted + off : NULL;
            off += b->threads[i].nframes;
            b->threads[i].nframes = 0;
        }
        for (size_t k = 0; k < b->nframes; k++) {
            struct ev_dthread *t = &b->threads[b->fthr[k]];
            t->frames[t->nframes++] = b->frames[k];
        }
    }
    for (size_t i = 0; i < b->nthreads; i++) {
        struct ev_dthread *t = &b->threads[i];
        if (t->nframes == 0)
            t->frames = NULL;
        t->npython = 0;
        for (uint32_t k = 0; k < t->nframes; k++)
            t->npython += t->frames[k].kind == EV_DF_PYTHON;
        t->holds = NULL;
        t->nholds = 0;
        size_t n = 0;
        for (size_t k = 0; k < b->nlocks; k++)
            n += b->locks[k].owner_known && b->locks[k].owner != 0 && b->locks[k].owner == t->ident;
        if (n == 0)
            continue;
        t->holds = arena_alloc(&b->arena, n * sizeof(*t->holds));
        if (t->holds == NULL)
            return -1;
        for (size_t k = 0; k < b->nlocks; k++)
            if (b->locks[k].owner_known && b->locks[k].owner != 0 && b->locks[k].owner == t->ident)
                t->holds[t->nholds++] = b->locks[k].address;
    }
    return 0;
}

int dumpb_emit(struct dumpb *b, enum ev_kind k)
{
    if (dumpb_empty(b)) {
        dumpb_reset(b);
        return 0;
    }
    if (b->oom || finalize(b) != 0) {
        b->oom = false;
        dumpb_reset(b);
        return -1;
    }
    struct event ev;
    ev_init(&ev, k);
    ev.src.stream = b->env->stream;
    ev.src.line = b->first_line;
    ev.pid = b->pid;
    ev.level = b->level;
    if (ev_str_present(b->d.header))
        ev.message = b->d.header;
    ev.u.dump = &b->d;
    int rc = b->env->emit(b->env->emit_ctx, &ev);
    dumpb_reset(b);
    return rc;
}
