/* ev_dump.c -- names, look-ups, deep copy and JSON of thread dumps; see ev_dump.h. */
#include "ev_dump.h"

#include <stdio.h>
#include <string.h>

#include "ev_json.h"

const char *ev_dump_format_name(enum ev_dump_format f)
{
    switch (f) {
    case EV_DUMP_GDB: return "gdb";
    case EV_DUMP_PYSPY: return "py-spy";
    case EV_DUMP_PS: return "ps";
    case EV_DUMP_TOP: return "top";
    case EV_DUMP_FAULTHANDLER: break;
    }
    return "faulthandler";
}

const char *ev_dframe_kind_name(enum ev_dframe_kind k)
{
    switch (k) {
    case EV_DF_NATIVE: return "native";
    case EV_DF_BUILTIN: return "builtin";
    case EV_DF_MARKER: return "marker";
    case EV_DF_PYTHON: break;
    }
    return "python";
}

const char *ev_thread_state_name(enum ev_thread_state s)
{
    switch (s) {
    case EV_TS_RUNNING: return "running";
    case EV_TS_IDLE: return "idle";
    case EV_TS_GIL_WAIT: return "gil_wait";
    case EV_TS_DISK: return "disk_wait";
    case EV_TS_STOPPED: return "stopped";
    case EV_TS_ZOMBIE: return "zombie";
    case EV_TS_UNKNOWN: break;
    }
    return NULL;
}

const char *ev_lock_kind_name(enum ev_lock_kind k)
{
    switch (k) {
    case EV_LOCK_LOCK: return "Lock";
    case EV_LOCK_RLOCK: return "RLock";
    case EV_LOCK_UNKNOWN: break;
    }
    return NULL;
}

const struct ev_dthread *ev_dump_thread_by_ident(const struct ev_dump *d, uint64_t ident)
{
    if (ident == 0)
        return NULL;
    for (uint32_t i = 0; i < d->nthreads; i++)
        if (d->threads[i].ident == ident)
            return &d->threads[i];
    return NULL;
}

const struct ev_dthread *ev_dump_thread_by_native(const struct ev_dump *d, int64_t native_id)
{
    if (native_id < 0)
        return NULL;
    for (uint32_t i = 0; i < d->nthreads; i++)
        if (d->threads[i].native_id == native_id)
            return &d->threads[i];
    return NULL;
}

const struct ev_lock *ev_dump_lock(const struct ev_dump *d, uint64_t address)
{
    for (uint32_t i = 0; i < d->nlocks; i++)
        if (d->locks[i].address == address)
            return &d->locks[i];
    return NULL;
}

bool ev_lock_owner_from_words(enum ev_lock_kind kind, const uint64_t *words, unsigned nwords,
                              uint64_t *owner)
{
    /* rlockobject: ob_refcnt, ob_type, rlock_lock (3.13: the PyMutex, padded to a
     * word), rlock_owner. lockobject has in_weakreflist there instead. */
    if (kind != EV_LOCK_RLOCK || nwords < 4)
        return false;
    *owner = words[3];
    return true;
}

const char *ev_dump_signal_of(const char *text, size_t n)
{
    /* faulthandler's handler table names the signal with strsignal()-like text. */
    static const struct {
        const char *text;
        const char *sig;
    } map[] = {
        {"Segmentation fault", "SIGSEGV"},  {"Floating point exception", "SIGFPE"},
        {"Aborted", "SIGABRT"},             {"Bus error", "SIGBUS"},
        {"Illegal instruction", "SIGILL"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t k = strlen(map[i].text);
        if (n == k && memcmp(text, map[i].text, k) == 0)
            return map[i].sig;
    }
    /* gdb: "Program terminated with signal SIGSEGV, Segmentation fault." */
    if (n >= 4 && memcmp(text, "SIG", 3) == 0) {
        static const char *const names[] = {"SIGSEGV", "SIGFPE", "SIGABRT", "SIGBUS", "SIGILL", "SIGKILL", "SIGTERM"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            size_t k = strlen(names[i]);
            if (n >= k && memcmp(text, names[i], k) == 0 && (n == k || text[k] == ',' || text[k] == ' '))
                return names[i];
        }
    }
    return NULL;
}

bool ev_dump_parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        if (n - 2 > 16)
            return false;
        for (size_t i = 2; i < n; i++) {
            char c = p[i];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                return false;
            v = v << 4 | d;
        }
        *out = v;
        return true;
    }
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

const char *ev_dump_addr(uint64_t a, char *buf)
{
    snprintf(buf, 19, "0x%llx", (unsigned long long)a);
    return buf;
}

/* ---- deep copy ---- */

#define DUP(dst, src)                                  \
    do {                                               \
        (dst) = ev_str_dup(a, (src));                  \
        if ((src).ptr != NULL && (dst).ptr == NULL)    \
            return NULL;                               \
    } while (0)

static void *copy_array(struct arena *a, const void *src, size_t n, size_t size)
{
    if (n == 0 || src == NULL)
        return NULL;
    void *p = arena_alloc(a, n * size);
    if (p != NULL)
        memcpy(p, src, n * size);
    return p;
}

static struct ev_dthread *clone_thread(struct ev_dthread *t, const struct ev_dthread *s, struct arena *a)
{
    *t = *s;
    DUP(t->id, s->id);
    DUP(t->name, s->name);
    t->frames = NULL;
    if (s->nframes) {
        if ((t->frames = copy_array(a, s->frames, s->nframes, sizeof(*t->frames))) == NULL)
            return NULL;
        for (uint32_t k = 0; k < s->nframes; k++) {
            DUP(t->frames[k].file, s->frames[k].file);
            DUP(t->frames[k].function, s->frames[k].function);
        }
    }
    t->holds = NULL;
    if (s->nholds && (t->holds = copy_array(a, s->holds, s->nholds, sizeof(*t->holds))) == NULL)
        return NULL;
    return t;
}

struct ev_dump *ev_dump_clone(const struct ev_dump *src, struct arena *a)
{
    struct ev_dump *d = arena_alloc(a, sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *src;
    DUP(d->header, src->header);
    DUP(d->fatal_error, src->fatal_error);
    DUP(d->signal, src->signal);
    DUP(d->python, src->python);
    d->modules = NULL;
    if (src->nmodules) {
        if ((d->modules = arena_alloc(a, src->nmodules * sizeof(*d->modules))) == NULL)
            return NULL;
        for (uint32_t i = 0; i < src->nmodules; i++)
            DUP(d->modules[i], src->modules[i]);
    }
    d->threads = NULL;
    if (src->nthreads) {
        if ((d->threads = arena_calloc(a, src->nthreads, sizeof(*d->threads))) == NULL)
            return NULL;
        for (uint32_t i = 0; i < src->nthreads; i++)
            if (clone_thread(&d->threads[i], &src->threads[i], a) == NULL)
                return NULL;
    }
    d->locks = NULL;
    if (src->nlocks && (d->locks = copy_array(a, src->locks, src->nlocks, sizeof(*d->locks))) == NULL)
        return NULL;
    return d;
}

/* ---- JSON ---- */

static json_t *addr_json(uint64_t v)
{
    char buf[24];
    return json_string(ev_dump_addr(v, buf));
}

static json_t *dframe_json(const struct ev_dframe *f)
{
    json_t *o = json_object();
    if (f->kind != EV_DF_PYTHON)
        json_object_set_new(o, "kind", json_string(ev_dframe_kind_name(f->kind)));
    if (ev_str_present(f->file))
        json_object_set_new(o, "file", ev_json_str(f->file));
    if (f->line)
        json_object_set_new(o, "line", json_integer(f->line));
    json_object_set_new(o, "function", ev_json_str(f->function));
    if (f->object)
        json_object_set_new(o, "object", addr_json(f->object));
    return o;
}

static json_t *dthread_json(const struct ev_dthread *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", ev_json_str(t->id));
    if (t->native_id >= 0)
        json_object_set_new(o, "native_id", json_integer(t->native_id));
    if (t->number)
        json_object_set_new(o, "number", json_integer(t->number));
    if (ev_str_present(t->name))
        json_object_set_new(o, "name", ev_json_str(t->name));
    if (t->is_current)
        json_object_set_new(o, "current", json_true());
    if (t->gil)
        json_object_set_new(o, "gil", json_true());
    if (ev_thread_state_name(t->state) != NULL)
        json_object_set_new(o, "state", json_string(ev_thread_state_name(t->state)));
    json_object_set_new(o, "waits_for", t->waits_for ? addr_json(t->waits_for) : json_null());
    json_t *holds = json_array();
    for (uint32_t i = 0; i < t->nholds; i++)
        json_array_append_new(holds, addr_json(t->holds[i]));
    json_object_set_new(o, "holds", holds);
    if (t->has_cpu) {
        json_object_set_new(o, "cpu_percent", json_real(t->cpu_percent));
        if (t->cpu_seconds >= 0)
            json_object_set_new(o, "cpu_seconds", json_real(t->cpu_seconds));
    }
    if (t->nframes || t->frames_total) {
        json_t *fr = json_array();
        for (uint32_t i = 0; i < t->nframes; i++)
            json_array_append_new(fr, dframe_json(&t->frames[i]));
        json_object_set_new(o, "frames", fr);
        if (t->frames_total != t->nframes)
            json_object_set_new(o, "frames_total", json_integer(t->frames_total));
    }
    return o;
}

static json_t *lock_json(const struct ev_lock *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "address", addr_json(l->address));
    const char *k = ev_lock_kind_name(l->kind);
    json_object_set_new(o, "kind", k ? json_string(k) : json_null());
    json_object_set_new(o, "owner", l->owner_known ? addr_json(l->owner) : json_null());
    json_object_set_new(o, "ownership", json_string(l->owner_known ? "known" : "unknown"));
    if (l->count >= 0)
        json_object_set_new(o, "count", json_integer(l->count));
    if (l->nwords) {
        json_t *w = json_array();
        for (unsigned i = 0; i < l->nwords && i < 4; i++)
            json_array_append_new(w, addr_json(l->words[i]));
        json_object_set_new(o, "words", w);
    }
    return o;
}

json_t *ev_dump_to_json(const struct ev_dump *d)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "format", json_string(ev_dump_format_name(d->format)));
    if (ev_str_present(d->header))
        json_object_set_new(o, "header", ev_json_str(d->header));
    if (ev_str_present(d->fatal_error))
        json_object_set_new(o, "fatal_error", ev_json_str(d->fatal_error));
    if (ev_str_present(d->signal))
        json_object_set_new(o, "signal", ev_json_str(d->signal));
    if (ev_str_present(d->python))
        json_object_set_new(o, "python", ev_json_str(d->python));
    if (d->clock_s >= 0) {
        char buf[16];
        snprintf(buf, sizeof(buf), "%02d:%02d:%02d", d->clock_s / 3600, d->clock_s / 60 % 60, d->clock_s % 60);
        json_object_set_new(o, "clock", json_string(buf));
    }
    json_t *th = json_array();
    for (uint32_t i = 0; i < d->nthreads; i++)
        json_array_append_new(th, dthread_json(&d->threads[i]));
    json_object_set_new(o, "threads", th);
    if (d->threads_total != d->nthreads)
        json_object_set_new(o, "threads_total", json_integer(d->threads_total));
    if (d->nlocks) {
        json_t *lk = json_array();
        for (uint32_t i = 0; i < d->nlocks; i++)
            json_array_append_new(lk, lock_json(&d->locks[i]));
        json_object_set_new(o, "locks", lk);
    }
    if (d->nmodules || d->modules_total) {
        json_t *m = json_array();
        for (uint32_t i = 0; i < d->nmodules; i++)
            json_array_append_new(m, ev_json_str(d->modules[i]));
        json_object_set_new(o, "extension_modules", m);
        if (d->modules_total != d->nmodules)
            json_object_set_new(o, "extension_modules_total", json_integer(d->modules_total));
    }
    if (d->last_line)
        json_object_set_new(o, "last_line", json_integer((json_int_t)d->last_line));
    return o;
}
