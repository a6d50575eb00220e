/* correlator.c -- traces and time joins in bounded memory; see correlator.h. */
#include "correlator.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hash.h"
#include "traceid.h"

#define MAX_MARKS 16
#define INTERN_MAX 8192

/* A timeline entry as kept while the trace is open: names are interned, and
 * entries live in one pool, linked per trace, so memory follows the events held
 * rather than a per-trace reserve. */
struct centry {
    int64_t ts;
    uint64_t line;
    const char *stream;
    const char *service;   /* "" when unknown */
    uint32_t next;         /* next entry of the trace, or NIL */
    uint8_t has_ts, by_time, kind, level;
    char summary[CORR_SUMMARY];
};

#define NIL UINT32_MAX

/* What an event and a closing trace read first, in the first cache line: closing
 * idle traces is a walk over traces not touched for a while, a miss each. */
struct trace {
    uint64_t key;
    int64_t first_ts, last_ts;
    int64_t err_ts;
    uint32_t head, tail;     /* entries, in arrival order */
    uint32_t ntl;
    uint32_t nmarks;
    uint32_t bucket;         /* ring index, or NBUCKETS when the trace has no time */
    uint32_t idx;            /* in the trace pool, for the bucket links */
    bool has_ts;
    bool has_error;
    uint32_t capmarks;
    struct corr_mark *marks; /* allocated on the first mark: few traces have findings */
    const char *err_service;
    uint64_t dropped;
    char id[33];
};

#define NBUCKETS 1024

/* Traces live in chunks that never move (the open table points at them), numbered,
 * so the bucket lists can be links of numbers in one dense array: walking a bucket
 * reads that array (a few hundred KiB at most, cached) and fetches the traces ahead
 * of the walk, instead of waiting for each trace to learn where the next one is. */
#define TCHUNK_BITS 10
#define TCHUNK ((uint32_t)1 << TCHUNK_BITS)

struct tlink {
    uint32_t prev, next;     /* within its bucket, in order of last activity */
};

struct bucket {
    uint32_t head, tail;     /* trace numbers, NIL when empty */
};

struct slot {
    uint64_t key;        /* 0 = empty (a trace key is never 0) */
    struct trace *t;
};

struct proc {
    uint64_t key;        /* 0 = empty */
    uint64_t trace_key;
    int64_t last_ts;
};

struct correlator {
    struct corr_config cfg;
    corr_closed_fn closed;
    void *ctx;
    /* open traces: linear probing on key (kept in the slot, so a probe touches one
     * cache line), backward-shift deletion */
    struct slot *slots;
    size_t cap, n;
    /* Open traces by the time of their last event, in buckets of gran_ns: a ring
     * covering twice idle + lateness, so placing a trace is O(1) even when events
     * come out of order, and closing idle traces takes whole buckets. Traces
     * without any time wait in their own list. */
    struct bucket *buckets;   /* NBUCKETS ring + 1 untimed list at [NBUCKETS] */
    int64_t gran_ns;
    /* corr_expire's bound for the watermark it last saw: a division per event
     * otherwise, and most events do not move the watermark. */
    int64_t exp_watermark;
    int64_t exp_horizon, exp_last_full;
    bool exp_valid;
    int64_t base;             /* absolute number of the oldest bucket in use */
    bool have_base;
    struct proc *procs;   /* direct-mapped: a collision replaces the older process */
    size_t nprocs;
    char **interned;      /* stream names, kept for timeline entries */
    size_t ninterned, interned_cap;
    int64_t watermark;
    bool have_watermark;
    struct centry *pool;  /* timeline entries of every open trace (reserved, see pool_reserve) */
    uint32_t pool_cap, pool_free, pool_max;
    size_t pool_bytes;
    struct corr_entry *out; /* a closing trace's timeline for the consumer */
    size_t out_cap;
    const char **names;   /* interned service names (open addressing by hash) */
    size_t names_cap, nnames;
    const char *last_name;  /* the last name interned, for the common repeat */
    size_t last_name_len;
    struct trace **tchunks; /* the trace pool: ntraces numbered traces in chunks */
    uint32_t ntraces, ntchunks;
    struct tlink *links;    /* bucket links, by trace number */
    uint32_t spare;         /* closed traces for reuse (linked by links[].next), NIL */
    struct trace *last;   /* trace of the last event, for corr_mark_last */
    uint32_t last_entry;  /* its timeline entry (pool index), NIL when it was not kept */
    struct event scratch;
    char scratch_id[33];
    char scratch_service[CORR_NAME];
    struct corr_stats stats;
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

struct correlator *corr_create(const struct corr_config *cfg, corr_closed_fn closed, void *ctx)
{
    struct correlator *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (cfg != NULL)
        c->cfg = *cfg;
    if (c->cfg.idle_ns <= 0)
        c->cfg.idle_ns = 30LL * 1000000000LL;
    if (c->cfg.window_ns <= 0)
        c->cfg.window_ns = 5LL * 1000000000LL;
    if (c->cfg.lateness_ns <= 0)
        c->cfg.lateness_ns = 5LL * 1000000000LL;
    if (c->cfg.max_traces == 0)
        c->cfg.max_traces = 20000;
    if (c->cfg.max_timeline == 0)
        c->cfg.max_timeline = 24;
    if (c->cfg.max_procs == 0)
        c->cfg.max_procs = 4096;
    c->closed = closed;
    c->ctx = ctx;
    c->gran_ns = 2 * (c->cfg.idle_ns + c->cfg.lateness_ns) / NBUCKETS + 1;
    c->buckets = malloc((NBUCKETS + 1) * sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    for (uint32_t b = 0; b <= NBUCKETS; b++)
        c->buckets[b].head = c->buckets[b].tail = NIL;
    c->spare = NIL;
    /* The table grows with the open traces (up to twice the cap), so a small run
     * touches little memory. */
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof(*c->slots));
    c->pool_free = NIL;
    c->nprocs = 1;
    while (c->nprocs < c->cfg.max_procs)
        c->nprocs *= 2;
    c->procs = calloc(c->nprocs, sizeof(*c->procs));
    if (c->slots == NULL || c->procs == NULL) {
        corr_destroy(c);
        return NULL;
    }
    return c;
}

static inline struct trace *trace_at(const struct correlator *c, uint32_t i)
{
    return &c->tchunks[i >> TCHUNK_BITS][i & (TCHUNK - 1)];
}

/* A closed trace's number for the next one (its marks array too). */
static void trace_recycle(struct correlator *c, struct trace *t)
{
    c->links[t->idx].next = c->spare;
    c->spare = t->idx;
}

/* A trace from the spares, or a new chunk of them. NULL when out of memory. */
static struct trace *trace_take(struct correlator *c)
{
    if (c->spare == NIL) {
        if (c->ntraces > NIL - TCHUNK)
            return NULL;
        struct trace **nc = realloc(c->tchunks, (c->ntchunks + 1) * sizeof(*nc));
        if (nc == NULL)
            return NULL;
        c->tchunks = nc;
        struct tlink *nl = realloc(c->links, (size_t)(c->ntraces + TCHUNK) * sizeof(*nl));
        if (nl == NULL)
            return NULL;
        c->links = nl;
        struct trace *chunk = aligned_alloc(64, TCHUNK * sizeof(*chunk));
        if (chunk == NULL)
            return NULL;
        memset(chunk, 0, TCHUNK * sizeof(*chunk));
        c->tchunks[c->ntchunks++] = chunk;
        /* Numbered from the top down, so the spares hand out the lowest first. */
        for (uint32_t k = TCHUNK; k-- > 0;) {
            chunk[k].idx = c->ntraces + k;
            trace_recycle(c, &chunk[k]);
        }
        c->ntraces += TCHUNK;
    }
    uint32_t idx = c->spare;
    struct trace *t = trace_at(c, idx);
    c->spare = c->links[idx].next;
    /* Spares come back in the order traces close, scattered: fetch the next one
     * now, so the next new trace does not wait for it. */
    if (c->spare != NIL)
        __builtin_prefetch(trace_at(c, c->spare), 1);
    struct corr_mark *marks = t->marks;
    uint32_t capmarks = t->capmarks;
    memset(t, 0, sizeof(*t));
    t->marks = marks;
    t->capmarks = capmarks;
    t->idx = idx;
    return t;
}

/* ---- the entry pool ---- */

/* The pool is reserved once as address space (no memory until touched) so it
 * grows without copying, and asks for transparent huge pages: on a VM each 4 KiB
 * page fault is costly, and the pool is touched all over. */
static int pool_reserve(struct correlator *c)
{
    size_t max = c->cfg.max_traces * c->cfg.max_timeline + 1024;
    if (max > ((size_t)1 << 24))
        max = (size_t)1 << 24; /* 2 GiB of address space at most */
    size_t bytes = max * sizeof(struct centry);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    c->pool = p;
    c->pool_max = (uint32_t)max;
    c->pool_bytes = bytes;
    return 0;
}

static uint32_t entry_new(struct correlator *c)
{
    if (c->pool_free == NIL) {
        if (c->pool == NULL && pool_reserve(c) != 0)
            return NIL;
        uint32_t cap = c->pool_cap ? c->pool_cap * 2 : 1024;
        if (cap > c->pool_max)
            cap = c->pool_max;
        if (cap == c->pool_cap)
            return NIL;
        for (uint32_t i = c->pool_cap; i < cap; i++)
            c->pool[i].next = i + 1 < cap ? i + 1 : NIL;
        c->pool_free = c->pool_cap;
        c->pool_cap = cap;
    }
    uint32_t i = c->pool_free;
    c->pool_free = c->pool[i].next;
    c->pool[i].next = NIL;
    /* Freed entries are scattered through the pool: fetch the next one now, so
     * the next event does not wait for it. */
    if (c->pool_free != NIL)
        __builtin_prefetch(&c->pool[c->pool_free], 1);
    return i;
}

static void entries_release(struct correlator *c, struct trace *t)
{
    if (t->head == NIL)
        return;
    c->pool[t->tail].next = c->pool_free;
    c->pool_free = t->head;
    t->head = t->tail = NIL;
    t->ntl = 0;
}


void corr_destroy(struct correlator *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->ntraces; i++)
        free(trace_at(c, i)->marks);
    for (uint32_t k = 0; k < c->ntchunks; k++)
        free(c->tchunks[k]);
    free(c->tchunks);
    free(c->links);
    free(c->buckets);
    for (size_t i = 0; i < c->ninterned; i++)
        free(c->interned[i]);
    for (size_t i = 0; i < c->names_cap; i++)
        free((char *)c->names[i]);
    free(c->names);
    free(c->out);
    if (c->pool != NULL)
        munmap(c->pool, c->pool_bytes);
    free(c->interned);
    free(c->slots);
    free(c->procs);
    free(c);
}

/* ---- the open-trace table ---- */

static size_t slot_find(const struct correlator *c, uint64_t key)
{
    size_t i = (size_t)mix(key) & (c->cap - 1);
    while (c->slots[i].key != 0 && c->slots[i].key != key)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static struct trace *trace_get(const struct correlator *c, uint64_t key)
{
    return c->slots[slot_find(c, key)].t;
}

static void slot_delete(struct correlator *c, uint64_t key)
{
    size_t i = slot_find(c, key);
    if (c->slots[i].key == 0)
        return;
    c->slots[i].key = 0;
    c->slots[i].t = NULL;
    c->n--;
    /* Backward shift: move later entries of the run into the hole when their home
     * slot is not after it, so lookups never stop early. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & (c->cap - 1);
        if (c->slots[j].key == 0)
            return;
        size_t home = (size_t)mix(c->slots[j].key) & (c->cap - 1);
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            c->slots[i] = c->slots[j];
            c->slots[j].key = 0;
            c->slots[j].t = NULL;
            i = j;
        }
    }
}

static int grow_table(struct correlator *c)
{
    size_t ncap = c->cap * 2;
    struct slot *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return -1;
    struct slot *old = c->slots;
    size_t ocap = c->cap;
    c->slots = ns;
    c->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key != 0)
            c->slots[slot_find(c, old[i].key)] = old[i];
    free(old);
    return 0;
}

static void lru_unlink(struct correlator *c, struct trace *t)
{
    struct bucket *b = &c->buckets[t->bucket];
    struct tlink *l = &c->links[t->idx];
    if (l->prev != NIL)
        c->links[l->prev].next = l->next;
    else
        b->head = l->next;
    if (l->next != NIL)
        c->links[l->next].prev = l->prev;
    else
        b->tail = l->prev;
    l->prev = l->next = NIL;
}

/* Put t at the end of the bucket of its last event time. */
static void lru_place(struct correlator *c, struct trace *t)
{
    uint32_t idx = NBUCKETS;
    if (t->has_ts) {
        int64_t b = t->last_ts / c->gran_ns;
        if (!c->have_base) {
            c->base = b;
            c->have_base = true;
        }
        /* Older than the oldest bucket in use (a late event): the oldest bucket.
         * Newer than the ring reaches cannot happen: corr_expire has moved the
         * ring up to the watermark before any event is placed. */
        if (b < c->base)
            b = c->base;
        if (b >= c->base + NBUCKETS)
            b = c->base + NBUCKETS - 1;
        idx = (uint32_t)(b & (NBUCKETS - 1));
    }
    struct bucket *bk = &c->buckets[idx];
    t->bucket = idx;
    c->links[t->idx].next = NIL;
    c->links[t->idx].prev = bk->tail;
    if (bk->tail != NIL)
        c->links[bk->tail].next = t->idx;
    else
        bk->head = t->idx;
    bk->tail = t->idx;
}

static void lru_append(struct correlator *c, struct trace *t)
{
    lru_place(c, t);
}

/* The trace idle longest: the head of the oldest non-empty bucket, else an
 * untimed one. */
static struct trace *oldest_trace(const struct correlator *c)
{
    for (int64_t b = c->base; c->have_base && b < c->base + NBUCKETS; b++) {
        uint32_t i = c->buckets[b & (NBUCKETS - 1)].head;
        if (i != NIL)
            return trace_at(c, i);
    }
    uint32_t i = c->buckets[NBUCKETS].head;
    return i != NIL ? trace_at(c, i) : NULL;
}

/* ---- closing a trace ---- */

/* A timestamp of whole milliseconds is taken to mean millisecond precision (Python's
 * asctime), so it only orders before a finer one when its whole interval does. */
static int64_t ts_grain(int64_t ts)
{
    if (ts % 1000000 == 0)
        return 1000000;
    if (ts % 1000 == 0)
        return 1000;
    return 1;
}

static bool definitely_before(const struct corr_entry *a, const struct corr_entry *b)
{
    if (!a->has_ts || !b->has_ts)
        return a->has_ts && !b->has_ts;
    return a->ts + ts_grain(a->ts) <= b->ts;
}

/* Stable insertion sort: an entry moves earlier only past entries it is certainly
 * earlier than; overlapping clock precisions keep arrival order. */
static void sort_timeline(struct corr_entry *e, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct corr_entry x = e[i];
        uint32_t j = i;
        while (j > 0 && definitely_before(&x, &e[j - 1])) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = x;
    }
}

static void finish_trace(struct correlator *c, struct trace *t, bool early);

static void close_trace(struct correlator *c, struct trace *t, bool early)
{
    lru_unlink(c, t);
    finish_trace(c, t, early);
}

/* Close a trace already out of every list. */
static void finish_trace(struct correlator *c, struct trace *t, bool early)
{
    slot_delete(c, t->key);
    if (c->last == t)
        c->last = NULL;
    if (early)
        c->stats.evicted_early++;
    /* Only traces that produced findings are worth a reader's time. */
    if (c->closed != NULL && t->nmarks > 0) {
        if (c->out_cap < t->ntl) {
            struct corr_entry *n = realloc(c->out, t->ntl * sizeof(*n));
            if (n == NULL)
                goto done;
            c->out = n;
            c->out_cap = t->ntl;
        }
        uint32_t i = 0;
        for (uint32_t k = t->head; k != NIL; k = c->pool[k].next, i++) {
            const struct centry *e = &c->pool[k];
            struct corr_entry *o = &c->out[i];
            o->ts = e->ts;
            o->has_ts = e->has_ts;
            o->by_time = e->by_time;
            o->kind = (enum ev_kind)e->kind;
            o->level = (enum ev_level)e->level;
            size_t sl = strlen(e->service);
            if (sl >= sizeof(o->service))
                sl = sizeof(o->service) - 1;
            memcpy(o->service, e->service, sl);
            o->service[sl] = '\0';
            memcpy(o->summary, e->summary, sizeof(o->summary));
            o->stream = e->stream;
            o->line = e->line;
        }
        /* Entries arrive nearly in time order; make it exact for the reader. */
        sort_timeline(c->out, t->ntl);
        struct corr_trace ct;
        memset(&ct, 0, sizeof(ct));
        memcpy(ct.id, t->id, sizeof(ct.id));
        ct.first_ts = t->first_ts;
        ct.last_ts = t->last_ts;
        ct.has_ts = t->has_ts;
        ct.timeline = c->out;
        ct.ntimeline = t->ntl;
        ct.dropped_entries = t->dropped;
        for (uint32_t e = 0; e < t->ntl && ct.nservices < 16; e++) {
            const char *sv = c->out[e].service;
            if (sv[0] == '\0')
                continue;
            bool seen = false;
            for (size_t k = 0; k < ct.nservices && !seen; k++)
                seen = strcmp(ct.services[k], sv) == 0;
            if (!seen)
                ct.services[ct.nservices++] = sv;
        }
        ct.origin_service = t->has_error && t->err_service[0] ? t->err_service : NULL;
        ct.origin_ts = t->err_ts;
        ct.marks = t->marks;
        ct.nmarks = t->nmarks;
        ct.evicted_early = early;
        c->closed(c->ctx, &ct);
    }
done:
    entries_release(c, t);
    trace_recycle(c, t);
}

/* Fetch what settling trace i will touch: the trace, and once it is here, its
 * table slot and last timeline entry. */
static inline void settle_prefetch_trace(const struct correlator *c, uint32_t i)
{
    __builtin_prefetch(trace_at(c, i), 1);
}

static inline void settle_prefetch_rest(const struct correlator *c, uint32_t i)
{
    const struct trace *t = trace_at(c, i);
    __builtin_prefetch(&c->slots[(size_t)mix(t->key) & (c->cap - 1)], 1);
    if (t->tail != NIL)
        __builtin_prefetch(&c->pool[t->tail], 1);
}

/* Settle a detached trace: close it when idle, else put it in the bucket of its
 * last event. */
static void settle(struct correlator *c, struct trace *t, int64_t horizon)
{
    if (t->has_ts && t->last_ts >= horizon)
        lru_place(c, t);
    else
        finish_trace(c, t, false);
}

#define SETTLE_AHEAD 8 /* traces fetched ahead of the walk */

/* Settle every trace of a chain of links starting at i (detached: settling relinks
 * each, so the next one is read first). The walk fetches traces SETTLE_AHEAD ahead,
 * and their slots and entries half as far, so their misses overlap. */
static void settle_chain(struct correlator *c, uint32_t i, int64_t horizon)
{
    uint32_t far = i, near = i;
    for (unsigned k = 0; k < SETTLE_AHEAD && far != NIL; k++) {
        settle_prefetch_trace(c, far);
        far = c->links[far].next;
    }
    for (unsigned k = 0; k < SETTLE_AHEAD / 2 && near != NIL; k++)
        near = c->links[near].next;
    while (i != NIL) {
        uint32_t next = c->links[i].next;
        if (far != NIL) {
            settle_prefetch_trace(c, far);
            far = c->links[far].next;
        }
        if (near != NIL) {
            settle_prefetch_rest(c, near);
            near = c->links[near].next;
        }
        settle(c, trace_at(c, i), horizon);
        i = next;
    }
}

/* Retire one bucket. Placement is lazy: an event does not move its trace (which
 * spares list work and its cache misses per event), so a bucket may hold traces
 * touched since; those move on to the bucket of their last event. */
static void retire_bucket(struct correlator *c, struct bucket *bk, int64_t horizon)
{
    uint32_t chain = bk->head;
    bk->head = bk->tail = NIL;
    settle_chain(c, chain, horizon);
}

void corr_expire(struct correlator *c)
{
    if (!c->have_watermark || !c->have_base)
        return;
    if (!c->exp_valid || c->exp_watermark != c->watermark) {
        c->exp_watermark = c->watermark;
        c->exp_horizon = c->watermark - c->cfg.lateness_ns - c->cfg.idle_ns;
        c->exp_last_full = c->exp_horizon / c->gran_ns - 1;
        c->exp_valid = true;
    }
    int64_t horizon = c->exp_horizon;
    int64_t last_full = c->exp_last_full;
    if (last_full - c->base >= NBUCKETS) {
        /* The watermark jumped past the whole ring: the ring starts anew there. */
        uint32_t all = NIL;
        for (uint32_t b = 0; b < NBUCKETS; b++) {
            uint32_t i = c->buckets[b].head;
            c->buckets[b].head = c->buckets[b].tail = NIL;
            while (i != NIL) {
                uint32_t next = c->links[i].next;
                c->links[i].next = all;
                all = i;
                i = next;
            }
        }
        c->base = last_full + 1;
        settle_chain(c, all, horizon);
        return;
    }
    while (c->base <= last_full) {
        retire_bucket(c, &c->buckets[c->base & (NBUCKETS - 1)], horizon);
        c->base++;
    }
}

void corr_finish(struct correlator *c)
{
    /* Oldest bucket first, then the untimed; each bucket in order of activity. */
    for (int64_t b = c->base; c->have_base && b < c->base + NBUCKETS; b++) {
        struct bucket *bk = &c->buckets[b & (NBUCKETS - 1)];
        while (bk->head != NIL)
            close_trace(c, trace_at(c, bk->head), false);
    }
    while (c->buckets[NBUCKETS].head != NIL)
        close_trace(c, trace_at(c, c->buckets[NBUCKETS].head), false);
}

/* ---- helpers ---- */

static const char *intern(struct correlator *c, const char *s)
{
    if (s == NULL)
        return NULL;
    /* Streams change rarely: the last few names are the likely hits. */
    for (size_t i = c->ninterned; i > 0 && i + 8 > c->ninterned; i--)
        if (strcmp(c->interned[i - 1], s) == 0)
            return c->interned[i - 1];
    for (size_t i = 0; i + 8 <= c->ninterned; i++)
        if (strcmp(c->interned[i], s) == 0)
            return c->interned[i];
    if (c->ninterned >= INTERN_MAX)
        return "(stream)";
    if (c->ninterned == c->interned_cap) {
        size_t cap = c->interned_cap ? c->interned_cap * 2 : 16;
        char **n = realloc(c->interned, cap * sizeof(*n));
        if (n == NULL)
            return "(stream)";
        c->interned = n;
        c->interned_cap = cap;
    }
    char *d = strdup(s);
    if (d == NULL)
        return "(stream)";
    c->interned[c->ninterned++] = d;
    return d;
}

/* A service name, interned: one short string per service for all its events. */
static const char *intern_service(struct correlator *c, ev_str s)
{
    if (s.ptr == NULL || s.len == 0)
        return "";
    size_t len = s.len < CORR_NAME - 1 ? s.len : CORR_NAME - 1;
    /* Consecutive events mostly share their service. */
    if (c->last_name != NULL && c->last_name_len == len && memcmp(c->last_name, s.ptr, len) == 0)
        return c->last_name;
    if (c->names_cap == 0) {
        c->names = calloc(1024, sizeof(*c->names));
        if (c->names == NULL)
            return "";
        c->names_cap = 1024;
    }
    uint64_t h = hash_bytes(HASH_INIT, s.ptr, len);
    size_t i = (size_t)h & (c->names_cap - 1);
    while (c->names[i] != NULL) {
        if (strncmp(c->names[i], s.ptr, len) == 0 && c->names[i][len] == '\0') {
            c->last_name = c->names[i];
            c->last_name_len = len;
            return c->names[i];
        }
        i = (i + 1) & (c->names_cap - 1);
    }
    if (c->nnames * 2 >= c->names_cap)
        return "(many services)"; /* bounded: a hostile input cannot grow it */
    char *d = strndup(s.ptr, len);
    if (d == NULL)
        return "";
    c->names[i] = d;
    c->nnames++;
    c->last_name = d;
    c->last_name_len = len;
    return d;
}

/* Low 64 bits of a normalized hex trace id; 0 when it is not one. */
static uint64_t trace_key(ev_str id)
{
    uint64_t k = 0;
    return hex_tail64(id.ptr, id.len, &k) ? k : 0;
}

static void copy_name(char *dst, size_t dstsz, ev_str s)
{
    size_t n = s.ptr ? s.len : 0;
    if (n >= dstsz)
        n = dstsz - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

/* One line of what happened: the message, or the outermost exception. */
static void summarize(char *dst, size_t dstsz, const struct event *ev)
{
    ev_str s = ev->message;
    char buf[CORR_SUMMARY];
    if (ev->kind == EV_EXCEPTION && ev->u.exc.chain.n > 0) {
        const struct ev_exc *o = &ev->u.exc.chain.exc[ev->u.exc.chain.n - 1];
        /* A carrier of a worker's traceback (Celery's ExceptionWithTraceback) says
         * nothing of its own: the worker's outermost exception does. */
        for (int depth = 0; depth < 4 && o->remote != NULL && o->remote->n > 0 && ev->u.exc.chain.n == 1 &&
                            (o->message.len == 0 || o->message.ptr[0] == '\n' || o->message.ptr[0] == '"');
             depth++)
            o = &o->remote->exc[o->remote->n - 1];
        size_t ml = o->message.len;
        const char *nl = ml ? memchr(o->message.ptr, '\n', ml) : NULL;
        if (nl)
            ml = (size_t)(nl - o->message.ptr);
        int k = snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)o->type.len, o->type.ptr, ml ? ": " : "",
                         (int)ml, o->message.ptr ? o->message.ptr : "");
        s = ev_str_make(buf, k < 0 ? 0 : (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf) - 1);
    }
    size_t n = s.ptr ? s.len : 0;
    const char *nl = n ? memchr(s.ptr, '\n', n) : NULL;
    if (nl)
        n = (size_t)(nl - s.ptr);
    if (n >= dstsz) {
        n = dstsz - 4;
        memcpy(dst, s.ptr, n);
        memcpy(dst + n, "...", 4);
        return;
    }
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static uint64_t proc_key(const struct event *ev)
{
    uint64_t h = HASH_INIT;
    bool any = false;
    if (ev_str_present(ev->host)) {
        h = hash_field(h, ev->host.ptr, ev->host.len);
        any = true;
    }
    if (ev_str_present(ev->service)) {
        h = hash_field(h, ev->service.ptr, ev->service.len);
        any = true;
    }
    if (ev->pid >= 0) {
        h = hash_field(h, &ev->pid, sizeof(ev->pid));
        any = true;
    }
    if (!any) {
        if (ev->src.stream == NULL)
            return 0;
        h = hash_field(h, "stream", 6);
        h = hash_field(h, ev->src.stream, strlen(ev->src.stream));
    }
    return h | 1u;
}

static bool is_error(const struct event *ev)
{
    return ev->kind == EV_EXCEPTION || ev->level >= EV_LVL_ERROR || ev->kind == EV_THREAD_DUMP;
}

static struct trace *trace_open(struct correlator *c, uint64_t key)
{
    if (c->n >= c->cfg.max_traces) {
        struct trace *old = oldest_trace(c);
        if (old != NULL)
            close_trace(c, old, true);
    }
    struct trace *t = trace_take(c);
    if (t == NULL)
        return NULL;
    t->key = key;
    t->head = t->tail = NIL;
    if ((c->n + 1) * 2 > c->cap && grow_table(c) != 0) {
        trace_recycle(c, t);
        return NULL;
    }
    size_t slot = slot_find(c, key);
    c->slots[slot].key = key;
    c->slots[slot].t = t;
    c->n++;
    lru_append(c, t);
    c->stats.traces++;
    if (c->n > c->stats.open_peak)
        c->stats.open_peak = c->n;
    return t;
}

static int add_entry(struct correlator *c, struct trace *t, const struct event *ev, bool by_time,
                     uint32_t *index)
{
    uint32_t k;
    if (t->ntl >= c->cfg.max_timeline) {
        /* Full: an error still gets in, in place of the latest non-error entry. */
        t->dropped++;
        if (!is_error(ev))
            return 1;
        k = NIL;
        for (uint32_t j = t->head; j != NIL; j = c->pool[j].next)
            if (c->pool[j].kind != EV_EXCEPTION && c->pool[j].level < EV_LVL_ERROR)
                k = j;
        if (k == NIL)
            return 1;
    } else {
        if ((k = entry_new(c)) == NIL)
            return -1;
        if (t->tail == NIL)
            t->head = k;
        else
            c->pool[t->tail].next = k;
        t->tail = k;
        t->ntl++;
    }
    struct centry *e = &c->pool[k];
    e->ts = ev->ts_ns;
    e->has_ts = ev->has_ts;
    e->by_time = by_time;
    e->kind = (uint8_t)ev->kind;
    e->level = (uint8_t)ev->level;
    e->service = intern_service(c, ev->service);
    summarize(e->summary, sizeof(e->summary), ev);
    e->stream = intern(c, ev->src.stream);
    e->line = ev->src.line;
    *index = k;
    return 0;
}

/* ---- the event ---- */

int corr_event(struct correlator *c, const struct event *ev, const struct event **out)
{
    *out = ev;
    c->last = NULL;
    const struct event *cur = ev;
    if (ev->has_ts) {
        if (!c->have_watermark || ev->ts_ns > c->watermark) {
            c->watermark = ev->ts_ns;
            c->have_watermark = true;
            corr_expire(c); /* before placing: keeps the ring ahead of the watermark */
        } else if (ev->ts_ns < c->watermark - c->cfg.lateness_ns) {
            c->stats.late_events++;
        }
    }
    /* A service named by nothing but the logger: "payments.acquirer" -> payments.
     * Not from a file name standing for the logger (Airflow's "taskinstance.py"). */
    if (c->cfg.infer_service && !ev_str_present(ev->service) && ev->logger.len > 0 &&
        !(ev->logger.len > 3 && memcmp(ev->logger.ptr + ev->logger.len - 3, ".py", 3) == 0)) {
        const char *dot = memchr(ev->logger.ptr, '.', ev->logger.len);
        if (dot != NULL && dot > ev->logger.ptr) {
            size_t sl = (size_t)(dot - ev->logger.ptr);
            if (sl >= sizeof(c->scratch_service))
                sl = sizeof(c->scratch_service) - 1;
            c->scratch = *ev;
            memcpy(c->scratch_service, ev->logger.ptr, sl);
            c->scratch_service[sl] = '\0';
            c->scratch.service = ev_str_make(c->scratch_service, sl);
            cur = &c->scratch;
            c->stats.services_inferred++;
        }
    }
    uint64_t key = trace_key(cur->trace_id);
    bool by_time = false;
    /* The process table serves time joins: it is written by events with a trace
     * id and read by failures without one; other events need not touch it. */
    bool joinable = cur->kind != EV_LOG || cur->level >= EV_LVL_WARNING;
    uint64_t pk = key != 0 || joinable ? proc_key(cur) : 0;
    struct proc *pr = pk ? &c->procs[(size_t)mix(pk) & (c->nprocs - 1)] : NULL;
    /* Only failures are worth joining by time: a stray health check is not part of
     * the request that happened to precede it. */
    if (key == 0 && pr != NULL && pr->key == pk && pr->trace_key != 0 && cur->has_ts &&
        (cur->kind != EV_LOG || cur->level >= EV_LVL_WARNING)) {
        int64_t d = cur->ts_ns - pr->last_ts;
        if (d < 0)
            d = -d;
        if (d <= c->cfg.window_ns) {
            struct trace *t = trace_get(c, pr->trace_key);
            if (t != NULL) {
                key = pr->trace_key;
                by_time = true;
                if (cur != &c->scratch) {
                    c->scratch = *cur;
                    cur = &c->scratch;
                }
                memcpy(c->scratch_id, t->id, sizeof(c->scratch_id));
                c->scratch.trace_id = ev_str_make(c->scratch_id, strlen(c->scratch_id));
                c->stats.joined_by_time++;
            }
        }
    }
    *out = cur;
    if (key == 0) {
        corr_expire(c);
        return 0;
    }
    struct trace *t = trace_get(c, key);
    if (t == NULL && (t = trace_open(c, key)) == NULL)
        return -1;
    if (!by_time && cur->trace_id.len > strlen(t->id))
        copy_name(t->id, sizeof(t->id), cur->trace_id);
    if (cur->has_ts) {
        if (!t->has_ts || cur->ts_ns < t->first_ts)
            t->first_ts = cur->ts_ns;
        if (!t->has_ts || cur->ts_ns > t->last_ts)
            t->last_ts = cur->ts_ns;
        t->has_ts = true;
    }
    uint32_t index = 0;
    int rc = add_entry(c, t, cur, by_time, &index);
    if (rc < 0)
        return -1;
    if (is_error(cur) && (!t->has_error || (cur->has_ts && cur->ts_ns < t->err_ts))) {
        t->has_error = true;
        t->err_ts = cur->ts_ns;
        t->err_service = intern_service(c, cur->service);
    }
    if (!by_time && pr != NULL) {
        pr->key = pk;
        pr->trace_key = key;
        pr->last_ts = cur->has_ts ? cur->ts_ns : pr->last_ts;
    }
    if (t->bucket == NBUCKETS && t->has_ts) {
        /* Its first time: out of the untimed list into the ring. Otherwise the
         * trace stays put until its bucket is retired (see retire_bucket). */
        lru_unlink(c, t);
        lru_place(c, t);
    }
    c->last = t;
    c->last_entry = rc == 0 ? index : NIL;
    corr_expire(c);
    return 0;
}

int corr_mark_last(struct correlator *c, void *tag)
{
    struct trace *t = c->last;
    if (t == NULL)
        return 0;
    for (uint32_t i = 0; i < t->nmarks; i++)
        if (t->marks[i].tag == tag)
            return 0; /* one mark per finding and trace */
    if (t->nmarks >= MAX_MARKS)
        return -1;
    if (t->nmarks == t->capmarks) {
        uint32_t cap = t->capmarks ? t->capmarks * 2 : 2;
        struct corr_mark *n = realloc(t->marks, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        t->marks = n;
        t->capmarks = cap;
    }
    struct corr_mark *m = &t->marks[t->nmarks++];
    memset(m, 0, sizeof(*m));
    m->tag = tag;
    m->service = "";
    if (c->last_entry != NIL) {
        const struct centry *e = &c->pool[c->last_entry];
        m->ts = e->ts;
        m->has_ts = e->has_ts;
        m->service = e->service;
    }
    return 0;
}

const struct corr_stats *corr_get_stats(const struct correlator *c) { return &c->stats; }
size_t corr_open_traces(const struct correlator *c) { return c->n; }
