/* crash.c -- the Crash pattern: a process that died of a fatal signal or a fatal
 * Python error, with the faulting thread's stack and the Exception Module.
 *
 * Evidence comes from one dump event: faulthandler's "Fatal Python error: ..." (the
 * "Current thread" is the one that faulted) or gdb's "received signal" / "Program
 * terminated with signal" (the thread gdb names). The Exception Module is the
 * module of the innermost Python frame of that thread -- where the process was when
 * it died (ctypes for a bad ctypes.string_at) -- and the application frame that led
 * there is named beside it. Crashes of the same shape (error, signal, the modules
 * and functions of the stack) fold into one finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_dump.h"
#include "../correlate/ev_json.h"
#include "../correlate/hash.h"
#include "../correlate/pyframe.h"
#include "pattern.h"
#include "threadview.h"

enum { P_SEVERITY };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "critical", "a fatal signal or a fatal Python error"},
    {NULL, 0, NULL, NULL},
};

struct crash {
    struct pat_config cfg;
    struct finding_store *store;
};

static void *cr_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct crash *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    return d;
}

static void cr_destroy(void *st) { free(st); }
static int cr_flush(void *st) { (void)st; return 0; }

static const struct ev_dthread *faulting_thread(const struct ev_dump *d)
{
    for (uint32_t i = 0; i < d->nthreads; i++)
        if (d->threads[i].is_current)
            return &d->threads[i];
    return d->nthreads ? &d->threads[0] : NULL;
}

static json_t *module_json(const struct ev_dframe *f)
{
    if (f == NULL || !ev_str_present(f->file))
        return json_null();
    char mod[256];
    pyframe_module(f->file, mod, sizeof(mod));
    return json_string(mod);
}

static json_t *thread_json(const struct ev_dthread *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", ev_json_str(t->id));
    json_object_set_new(o, "native_id", t->native_id >= 0 ? json_integer(t->native_id) : json_null());
    json_object_set_new(o, "name", ev_json_str(t->name));
    const struct ev_dframe *py = tv_innermost_python(t);
    json_object_set_new(o, "frame", tv_frame_label(py ? py : (t->nframes ? &t->frames[0] : NULL)));
    json_t *frames = json_array();
    for (uint32_t i = 0; i < t->nframes; i++) {
        const struct ev_dframe *f = &t->frames[i];
        json_t *fj = json_object();
        if (ev_str_present(f->file))
            json_object_set_new(fj, "file", ev_json_str(f->file));
        if (f->line)
            json_object_set_new(fj, "line", json_integer(f->line));
        json_object_set_new(fj, "function", ev_json_str(f->function));
        json_object_set_new(fj, "kind", json_string(ev_dframe_kind_name(f->kind)));
        json_array_append_new(frames, fj);
    }
    json_object_set_new(o, "frames", frames);
    return o;
}

static int cr_event(void *st, const struct event *ev)
{
    struct crash *d = st;
    const struct ev_dump *dp = ev->u.dump;
    if (ev->kind != EV_THREAD_DUMP || dp == NULL || (!ev_str_present(dp->fatal_error) && !ev_str_present(dp->signal)))
        return 0;
    const struct ev_dthread *t = faulting_thread(dp);
    const struct ev_dframe *py = t ? tv_innermost_python(t) : NULL;
    const struct ev_dframe *app = t ? tv_innermost_app(t) : NULL;

    uint64_t fp = hash_field(HASH_INIT, dp->fatal_error.ptr, dp->fatal_error.len);
    fp = hash_field(fp, dp->signal.ptr, dp->signal.len);
    char mod[256];
    for (uint32_t i = 0; t != NULL && i < t->nframes; i++) {
        const struct ev_dframe *f = &t->frames[i];
        if (f->kind != EV_DF_PYTHON)
            continue;
        size_t k = pyframe_module(f->file, mod, sizeof(mod));
        fp = hash_field(fp, mod, k);
        fp = hash_field(fp, f->function.ptr, f->function.len);
    }
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "crash", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "crash";
    f->rule = "builtin.crash";
    f->severity = d->cfg.v[P_SEVERITY].sev;
    f->pid = ev->pid;
    f->service = ev_str_present(ev->service) ? strndup(ev->service.ptr, ev->service.len) : NULL;
    f->host = ev_str_present(ev->host) ? strndup(ev->host.ptr, ev->host.len) : NULL;
    f->trace_id = ev_str_present(ev->trace_id) ? strndup(ev->trace_id.ptr, ev->trace_id.len) : NULL;

    char title[768], where[512] = "";
    int o = 0;
    if (py != NULL) {
        const char *file = py->file.ptr ? py->file.ptr : "?";
        const char *slash = py->file.len ? memrchr(file, '/', py->file.len) : NULL;
        const char *base = file;
        if (slash != NULL) { /* keep the package directory: "ctypes/__init__.py" */
            const char *s2 = slash > file ? memrchr(file, '/', (size_t)(slash - file)) : NULL;
            base = s2 ? s2 + 1 : file;
        }
        o = snprintf(where, sizeof(where), " in %.*s (%.*s:%u)", (int)py->function.len, py->function.ptr,
                     (int)(py->file.len - (size_t)(base - file)), base, py->line);
        if (app != NULL && app != py && o > 0 && (size_t)o < sizeof(where)) {
            const char *af = app->file.ptr ? app->file.ptr : "?";
            const char *as = memrchr(af, '/', app->file.len);
            snprintf(where + o, sizeof(where) - (size_t)o, ", called from %.*s:%u %.*s",
                     (int)(app->file.len - (size_t)(as ? as + 1 - af : 0)), as ? as + 1 : af, app->line,
                     (int)app->function.len, app->function.ptr);
        }
    }
    snprintf(title, sizeof(title), "Crash: %.*s%s%.*s%s%s",
             (int)(dp->fatal_error.len ? dp->fatal_error.len : dp->signal.len),
             dp->fatal_error.len ? dp->fatal_error.ptr : dp->signal.ptr, dp->fatal_error.len && dp->signal.len ? " (" : "",
             (int)(dp->fatal_error.len ? dp->signal.len : 0), dp->signal.ptr ? dp->signal.ptr : "",
             dp->fatal_error.len && dp->signal.len ? ")" : "", where);
    f->title = strdup(title);

    json_t *e = json_object();
    json_object_set_new(e, "signal", ev_json_str(dp->signal));
    json_object_set_new(e, "fatal_error", ev_json_str(dp->fatal_error));
    json_object_set_new(e, "format", json_string(ev_dump_format_name(dp->format)));
    json_object_set_new(e, "thread", t ? thread_json(t) : json_null());
    json_object_set_new(e, "exception_module", module_json(py));
    json_object_set_new(e, "exception_frame", tv_frame_label(py));
    json_object_set_new(e, "app_frame", tv_frame_label(app));
    json_object_set_new(e, "app_module", module_json(app));
    json_object_set_new(e, "threads_in_dump", json_integer(dp->threads_total));
    if (dp->nmodules || dp->modules_total) {
        json_t *m = json_array();
        for (uint32_t i = 0; i < dp->nmodules; i++)
            json_array_append_new(m, ev_json_str(dp->modules[i]));
        json_object_set_new(e, "extension_modules", m);
        json_object_set_new(e, "extension_modules_total", json_integer(dp->modules_total));
    }
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(e, "fingerprint", json_string(fph));
    f->evidence = e;
    return finding_store_insert(d->store, f, ev) != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

const struct pattern pattern_crash = {
    .name = "crash",
    .description = "a fatal signal or fatal Python error, with the faulting thread's stack and exception module",
    .kinds = 1u << EV_THREAD_DUMP,
    .params = params,
    .create = cr_create,
    .on_event = cr_event,
    .flush = cr_flush,
    .destroy = cr_destroy,
};
