/* tracemalloc.c -- tracemalloc Snapshot.dump() files: one EV_TRACEMALLOC event per
 * dump, with the statistics('lineno') of the snapshot and, for the largest sites,
 * the allocation traceback that contributed most.
 *
 * The dump is read by the safe pickle machine (pickle.h). Traces are consumed as the
 * machine appends them to Snapshot.traces._traces and folded into a table of sites
 * (file, line of the most recent frame, as Python's statistics('lineno') keys them)
 * and a table of distinct tracebacks, so memory is that of the distinct sites and
 * tracebacks, never of the traces. Layouts handled: the raw trace tuples of Python
 * 3.4 (size, traceback), 3.6 (domain, size, traceback) and 3.9+ (domain, size,
 * traceback, total_nframe), and Trace/Traceback/Frame instances.
 *
 * A dump has no time, pid or service: the event carries only its stream name, and
 * the series rule (patterns/series.h) orders such snapshots by the numbers in their
 * names, then by modification time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_memory.h"
#include "../correlate/hugepage.h"
#include "../correlate/hash.h"
#include "parser.h"
#include "pickle.h"

/* Sites kept per dump; the rest are folded into one "<other sites>" entry. */
#define TM_MAX_SITES (1u << 20)
/* Sites whose allocation traceback is attached to the event (the largest). */
#define TM_TB_SITES 32
/* Frames kept per attached traceback. */
#define TM_TB_FRAMES 64

struct tm_site {
    pk_val file;        /* a str in the machine */
    ev_str name;        /* its bytes */
    uint32_t line;
    uint64_t hash;
    int64_t size, count;
    pk_val best_tb;     /* the traceback that allocated most here */
    bool best_tb_obj;   /* it is a Traceback instance (frames oldest first) */
    int64_t best_tb_size;
};

struct tm_tb {
    pk_val tb;          /* 0 = empty slot */
    uint32_t site;
    uint32_t count : 31;
    uint32_t multi : 1; /* more than one frame: worth showing as the site's traceback */
    int64_t size;
};

struct tm {
    struct parser_env env;
    struct pk_vm *vm;
    bool failed, done;
    struct tm_site *sites;
    uint32_t nsites, sites_cap;
    uint32_t *site_slots;       /* open addressing: index + 1; 0 empty */
    uint32_t site_slots_cap;
    struct tm_tb *tbs;
    uint32_t ntbs, tbs_cap;
    uint64_t ntraces, bad_traces;
    int64_t total_size;
    bool overflowed;
    uint32_t other_site;        /* index + 1 of "<other sites>", 0 when none */
};

static const char *const stream_keys[] = {"_traces", "traces", NULL};

static void tm_diag(struct tm *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tm_diag(struct tm *t, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (t->env.diag)
        t->env.diag(t->env.diag_ctx, t->env.stream, 0, msg);
}

/* ---- tables ----------------------------------------------------------------------- */

static bool sites_rehash(struct tm *t, uint32_t cap)
{
    uint32_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (uint32_t i = 0; i < t->nsites; i++) {
        uint32_t j = (uint32_t)t->sites[i].hash & (cap - 1);
        while (slots[j] != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = i + 1;
    }
    free(t->site_slots);
    t->site_slots = slots;
    t->site_slots_cap = cap;
    return true;
}

/* The index of site (file, line), added when new; UINT32_MAX on OOM. */
static uint32_t site_of(struct tm *t, pk_val file, ev_str name, uint32_t line)
{
    uint64_t h = pk_str_hash(t->vm, file) * 1099511628211ULL ^ line;
    h ^= h >> 29;
    if (t->site_slots_cap == 0 && !sites_rehash(t, 1024))
        return UINT32_MAX;
    uint32_t j = (uint32_t)h & (t->site_slots_cap - 1);
    while (t->site_slots[j] != 0) {
        struct tm_site *s = &t->sites[t->site_slots[j] - 1];
        if (s->hash == h && s->line == line && s->name.len == name.len &&
            (s->file == file || memcmp(s->name.ptr, name.ptr, name.len) == 0))
            return t->site_slots[j] - 1;
        j = (j + 1) & (t->site_slots_cap - 1);
    }
    if (t->nsites >= TM_MAX_SITES) {
        if (!t->overflowed) {
            tm_diag(t, "more than %u allocation sites: the rest are counted as <other sites>", TM_MAX_SITES);
            t->overflowed = true;
        }
        if (t->other_site != 0)
            return t->other_site - 1;
    }
    if (t->nsites == t->sites_cap) {
        uint32_t cap = t->sites_cap ? t->sites_cap * 2 : 256;
        struct tm_site *ns = realloc(t->sites, (size_t)cap * sizeof(*ns));
        if (ns == NULL)
            return UINT32_MAX;
        t->sites = ns;
        t->sites_cap = cap;
    }
    uint32_t i = t->nsites++;
    struct tm_site *s = &t->sites[i];
    memset(s, 0, sizeof(*s));
    s->file = file;
    s->name = name;
    s->line = line;
    s->hash = h;
    if (t->overflowed) {
        s->name = EV_STR_LIT("<other sites>");
        s->line = 0;
        s->file = PK_NULL;
        t->other_site = i + 1;
        /* not in the hash table: reached through other_site only */
        return i;
    }
    if ((size_t)t->nsites * 2 > t->site_slots_cap) {
        if (!sites_rehash(t, t->site_slots_cap * 2))
            return UINT32_MAX;
    } else {
        j = (uint32_t)h & (t->site_slots_cap - 1);
        while (t->site_slots[j] != 0)
            j = (j + 1) & (t->site_slots_cap - 1);
        t->site_slots[j] = i + 1;
    }
    return i;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static bool tbs_grow(struct tm *t)
{
    uint32_t cap = t->tbs_cap ? t->tbs_cap * 2 : 1024;
    struct tm_tb *n = calloc(cap, sizeof(*n));
    if (n == NULL)
        return false;
    hugepage_hint(n, (size_t)cap * sizeof(*n));
    for (uint32_t i = 0; i < t->tbs_cap; i++) {
        if (t->tbs[i].tb == PK_NULL)
            continue;
        uint32_t j = (uint32_t)mix(t->tbs[i].tb) & (cap - 1);
        while (n[j].tb != PK_NULL)
            j = (j + 1) & (cap - 1);
        n[j] = t->tbs[i];
    }
    free(t->tbs);
    t->tbs = n;
    t->tbs_cap = cap;
    return true;
}

/* The entry of traceback tb (a node of the machine), NULL when new (*slot is where it
 * goes), or NULL with *slot UINT32_MAX on OOM. Tracebacks are shared between traces,
 * so this one probe replaces decoding the frames of every trace. */
static struct tm_tb *tb_find(struct tm *t, pk_val tb, uint32_t *slot)
{
    if ((size_t)(t->ntbs + 1) * 4 > (size_t)t->tbs_cap * 3 && !tbs_grow(t)) {
        *slot = UINT32_MAX;
        return NULL;
    }
    uint32_t j = (uint32_t)mix(tb) & (t->tbs_cap - 1);
    while (t->tbs[j].tb != PK_NULL && t->tbs[j].tb != tb)
        j = (j + 1) & (t->tbs_cap - 1);
    *slot = j;
    return t->tbs[j].tb != PK_NULL ? &t->tbs[j] : NULL;
}

/* ---- traces ----------------------------------------------------------------------- */

/* The state dict of an instance: BUILD's state is a dict, or (dict, slots) for
 * classes with __slots__ (Trace, Traceback and Frame have them). */
static pk_val state_get(struct pk_vm *vm, pk_val obj, const char *key)
{
    pk_val st = pk_obj_state(vm, obj);
    if (pk_type(vm, st) == PK_T_DICT)
        return pk_dict_get(vm, st, key);
    if (pk_type(vm, st) == PK_T_TUPLE && pk_len(vm, st) == 2) {
        pk_val v = pk_dict_get(vm, pk_item(vm, st, 1), key);
        if (v == PK_NULL)
            v = pk_dict_get(vm, pk_item(vm, st, 0), key);
        return v;
    }
    /* Built by REDUCE with positional arguments: the first one. */
    pk_val args = pk_obj_args(vm, obj);
    return pk_len(vm, args) >= 1 ? pk_item(vm, args, 0) : PK_NULL;
}

/* A frame (filename, lineno) as a tuple or a Frame instance. */
static bool frame_of(struct pk_vm *vm, pk_val fr, pk_val *file, ev_str *name, uint32_t *line)
{
    if (pk_obj_class(vm, fr) == PKG_FRAME)
        fr = state_get(vm, fr, "_frame");
    if (pk_type(vm, fr) != PK_T_TUPLE || pk_len(vm, fr) < 2)
        return false;
    int64_t ln;
    *file = pk_item(vm, fr, 0);
    if (!pk_str(vm, *file, name) || !pk_int(vm, pk_item(vm, fr, 1), &ln))
        return false;
    *line = ln < 0 ? 0 : ln > UINT32_MAX ? UINT32_MAX : (uint32_t)ln;
    return true;
}

/* The frames tuple of a traceback; *oldest_first for a Traceback instance. */
static pk_val tb_frames(struct pk_vm *vm, pk_val tb, bool *oldest_first)
{
    *oldest_first = false;
    if (pk_obj_class(vm, tb) == PKG_TRACEBACK) {
        *oldest_first = true;
        return state_get(vm, tb, "_frames");
    }
    return tb;
}

static int consume_trace(struct tm *t, pk_val item)
{
    struct pk_vm *vm = t->vm;
    if (pk_obj_class(vm, item) == PKG_TRACE)
        item = state_get(vm, item, "_trace");
    uint32_t n = pk_len(vm, item);
    int64_t size = 0;
    pk_val tb = PK_NULL;
    bool ok = pk_type(vm, item) == PK_T_TUPLE && n >= 2 && n <= 4;
    if (ok) {
        unsigned si = n == 2 ? 0 : 1;
        ok = pk_int(vm, pk_item(vm, item, si), &size);
        tb = pk_item(vm, item, si + 1);
        ok = ok && tb != PK_NULL;
    }
    if (!ok) {
        if (t->bad_traces++ == 0)
            tm_diag(t, "pickle: a trace is not (domain, size, traceback, total_nframe); such traces are skipped");
        return 1;
    }
    uint32_t slot;
    struct tm_tb *known = tb_find(t, tb, &slot);
    if (known == NULL && slot == UINT32_MAX) {
        pk_fail(vm, "out of memory");
        return -1;
    }
    /* Sizes add up per traceback (an entry already in cache) and per site at the end. */
    if (known != NULL) {
        known->size += size;
        if (known->count < 0x7fffffff)
            known->count++;
    } else {
        bool oldest_first;
        pk_val frames = tb_frames(vm, tb, &oldest_first);
        uint32_t nf = pk_len(vm, frames);
        pk_val file = PK_NULL;
        ev_str name = EV_STR_LIT("<unknown>");
        uint32_t line = 0;
        if (nf > 0 && !frame_of(vm, pk_item(vm, frames, oldest_first ? nf - 1 : 0), &file, &name, &line)) {
            if (t->bad_traces++ == 0)
                tm_diag(t, "pickle: a traceback frame is not (filename, lineno); such traces are skipped");
            return 1;
        }
        uint32_t s = site_of(t, file, name, line);
        if (s == UINT32_MAX) {
            pk_fail(vm, "out of memory");
            return -1;
        }
        /* site_of does not touch the traceback table: slot is still where tb goes */
        t->tbs[slot].tb = tb;
        t->tbs[slot].site = s;
        t->tbs[slot].size = size;
        t->tbs[slot].count = 1;
        t->tbs[slot].multi = nf > 1;
        t->ntbs++;
    }
    t->total_size += size;
    t->ntraces++;
    return 1;
}

/* The traceback-table slot a coming trace will probe, fetched ahead of time: the
 * table is megabytes and each probe a cache miss. */
static int prefetch_trace(void *ctx, struct pk_vm *vm, pk_val item)
{
    struct tm *t = ctx;
    uint32_t n = pk_len(vm, item);
    if (t->tbs_cap == 0 || n < 2 || n > 4)
        return 0;
    pk_val tb = pk_item(vm, item, n == 2 ? 1 : 2);
    __builtin_prefetch(&t->tbs[(uint32_t)mix(tb) & (t->tbs_cap - 1)]);
    return 0;
}

static int on_trace(void *ctx, struct pk_vm *vm, pk_val item)
{
    (void)vm;
    return consume_trace(ctx, item);
}

/* ---- the snapshot ----------------------------------------------------------------- */

static int cmp_site_size(const void *a, const void *b)
{
    const struct ev_snap_site *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    size_t n = x->file.len < y->file.len ? x->file.len : y->file.len;
    int c = memcmp(x->file.ptr, y->file.ptr, n);
    return c ? c : (x->file.len > y->file.len) - (x->file.len < y->file.len);
}

/* The frames of traceback tb, oldest first (as Traceback.format prints them). */
static uint32_t tb_to_frames(struct pk_vm *vm, pk_val tb, bool is_obj, struct ev_frame *out, uint32_t max)
{
    (void)is_obj;
    bool oldest_first;
    pk_val frames = tb_frames(vm, tb, &oldest_first);
    uint32_t nf = pk_len(vm, frames), k = 0;
    /* Keep the most recent frames when there are too many. */
    uint32_t start = nf > max ? nf - max : 0;
    for (uint32_t i = start; i < nf; i++) {
        uint32_t idx = oldest_first ? i : nf - 1 - i;
        pk_val file;
        ev_str name;
        uint32_t line;
        if (!frame_of(vm, pk_item(vm, frames, idx), &file, &name, &line))
            continue;
        out[k].file = name;
        out[k].function = EV_STR_NULL;
        out[k].line = line;
        k++;
    }
    return k;
}

static int finish_snapshot(struct tm *t)
{
    struct pk_vm *vm = t->vm;
    pk_val snap = pk_result(vm);
    if (pk_obj_class(vm, snap) != PKG_SNAPSHOT) {
        tm_diag(t, "pickle: not a tracemalloc snapshot (the pickled object is not tracemalloc.Snapshot)");
        return 0;
    }
    int64_t limit = -1;
    pk_val lim = state_get(vm, snap, "traceback_limit");
    if (!pk_int(vm, lim, &limit))
        limit = -1;
    /* Traces not consumed on the way (a tuple, or an unusual layout). */
    pk_val traces = state_get(vm, snap, "traces");
    if (pk_obj_class(vm, traces) == PKG_TRACES)
        traces = state_get(vm, traces, "_traces");
    enum pk_type tt = pk_type(vm, traces);
    if (tt != PK_T_LIST && tt != PK_T_TUPLE) {
        tm_diag(t, "pickle: tracemalloc snapshot without a list of traces");
        return 0;
    }
    for (uint32_t i = 0; i < pk_len(vm, traces); i++)
        if (consume_trace(t, pk_item(vm, traces, i)) < 0)
            return -1;

    /* Sites' sizes from their tracebacks, and each site's allocation traceback: the
     * one that allocated most there. */
    for (uint32_t i = 0; i < t->tbs_cap; i++) {
        struct tm_tb *b = &t->tbs[i];
        if (b->tb == PK_NULL)
            continue;
        struct tm_site *s = &t->sites[b->site];
        s->size += b->size;
        s->count += b->count;
        if (!b->multi)
            continue;
        if (b->size > s->best_tb_size || s->best_tb == PK_NULL) {
            s->best_tb = b->tb;
            s->best_tb_size = b->size;
        }
    }

    struct ev_snap_site *sites = calloc(t->nsites ? t->nsites : 1, sizeof(*sites));
    struct ev_frame *frames = calloc((size_t)TM_TB_SITES * TM_TB_FRAMES, sizeof(*frames));
    pk_val *best = calloc(t->nsites ? t->nsites : 1, sizeof(*best));
    int rc = -1;
    if (sites == NULL || frames == NULL || best == NULL)
        goto out;
    for (uint32_t i = 0; i < t->nsites; i++) {
        const struct tm_site *s = &t->sites[i];
        sites[i].file = s->name;
        sites[i].line = s->line;
        sites[i].size = s->size;
        sites[i].count = s->count;
        /* the traceback's handle rides in size_diff until the sort is done */
        best[i] = s->best_tb;
        sites[i].size_diff = (int64_t)i;
    }
    qsort(sites, t->nsites, sizeof(*sites), cmp_site_size);
    for (uint32_t i = 0; i < t->nsites; i++) {
        uint32_t orig = (uint32_t)sites[i].size_diff;
        sites[i].size_diff = 0;
        if (i < TM_TB_SITES && best[orig] != PK_NULL) {
            struct ev_frame *f = frames + (size_t)i * TM_TB_FRAMES;
            sites[i].ntb = tb_to_frames(vm, best[orig], false, f, TM_TB_FRAMES);
            sites[i].tb = sites[i].ntb ? f : NULL;
        }
    }
    struct ev_snapshot snapshot = {
        .tag = EV_MEM_SNAPSHOT,
        .format = "pickle",
        .metric = SNAP_BYTES,
        .group = SNAP_BY_LINENO,
        .sites = sites,
        .nsites = t->nsites,
        .sites_total = t->nsites,
        .complete = true,
        .has_total = true,
        .total_size = t->total_size,
        .total_count = (int64_t)t->ntraces,
        .traceback_limit = limit < 0 || limit > INT32_MAX ? -1 : (int32_t)limit,
        .seq = -1,
    };
    struct event ev;
    ev_init(&ev, EV_TRACEMALLOC);
    ev.src.stream = t->env.stream;
    ev.u.snap = &snapshot;
    rc = t->env.emit ? t->env.emit(t->env.emit_ctx, &ev) : 0;
out:
    free(sites);
    free(frames);
    free(best);
    return rc;
}

/* ---- the parser ------------------------------------------------------------------- */

static void *tm_open(const struct parser_env *env)
{
    struct tm *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->env = *env;
    t->vm = pk_create(NULL);
    if (t->vm == NULL) {
        free(t);
        return NULL;
    }
    pk_set_stream(t->vm, stream_keys, on_trace, t);
    pk_set_stream_prefetch(t->vm, prefetch_trace);
    return t;
}

static void release_tables(struct tm *t)
{
    pk_destroy(t->vm);
    t->vm = NULL;
    free(t->sites);
    free(t->site_slots);
    free(t->tbs);
    t->sites = NULL;
    t->site_slots = NULL;
    t->tbs = NULL;
    t->nsites = t->sites_cap = t->site_slots_cap = t->ntbs = t->tbs_cap = 0;
}

static void refuse(struct tm *t)
{
    tm_diag(t, "%s (at byte %llu); the dump is skipped", pk_error(t->vm),
            (unsigned long long)pk_error_offset(t->vm));
    t->failed = true;
    release_tables(t);
}

static int tm_feed(void *st, const char *buf, size_t len)
{
    struct tm *t = st;
    if (t->failed || t->done)
        return 0;
    int r = pk_feed(t->vm, buf, len);
    if (r == PK_ERROR) {
        if (strcmp(pk_error(t->vm), "pickle: out of memory") == 0)
            return -1;
        refuse(t);
        return 0;
    }
    if (r == PK_DONE) {
        t->done = true;
        int rc = finish_snapshot(t);
        release_tables(t);
        return rc;
    }
    return 0;
}

static int tm_finish(void *st)
{
    struct tm *t = st;
    if (t->failed || t->done)
        return 0;
    if (pk_finish(t->vm) == PK_ERROR)
        refuse(t);
    return 0;
}

static void tm_close(void *st)
{
    struct tm *t = st;
    if (t == NULL)
        return;
    release_tables(t);
    free(t);
}

/* A pickle of protocol 2 to 5 (PROTO first) is worth a few bits, so a pickle that is
 * not a snapshot still gets a clear refusal instead of "unrecognized format"; the
 * tracemalloc.Snapshot global right after the header makes it certain. */
static int tm_bid(const char *buf, size_t len, bool at_eof)
{
    (void)at_eof;
    const unsigned char *p = (const unsigned char *)buf;
    /* PROTO of any plausible version: 0x80 is never the first byte of text. */
    if (len < 3 || p[0] != 0x80 || p[1] > 16)
        return 0;
    size_t n = len < 256 ? len : 256;
    if (memmem(p, n, "tracemalloc", 11) != NULL && memmem(p, n, "Snapshot", 8) != NULL)
        return 60;
    return 6;
}

const struct parser parser_tracemalloc = {
    .name = "tracemalloc",
    .description = "tracemalloc Snapshot.dump() pickles (protocols 2-5), read without executing anything",
    .bid = tm_bid,
    .open = tm_open,
    .feed = tm_feed,
    .finish = tm_finish,
    .close = tm_close,
};
