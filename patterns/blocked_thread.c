/* blocked_thread.c -- the Blocked Thread pattern: a thread stopped inside a lock's
 * acquisition, with its Blocking Module (the application module whose call blocks).
 *
 * A thread is reported when an artifact shows it inside an acquire -- gdb's py-bt
 * built-in line or native rlock_acquire / lock_PyThread_acquire_lock, py-spy's
 * native frames, a Python-level acquire (threading.Semaphore) -- and the wait is
 * not already explained by a deadlock or wait_chain finding:
 *   ownership "unknown"  no artifact proves who holds the lock (faulthandler and
 *                        py-spy never show owners; a plain Lock has no owner field;
 *                        gdb without x/4a of the lock). The owner is not guessed.
 *   owner gone           the lock's owner word names a thread that is not in the
 *                        process any more: an RLock abandoned by a thread that ended
 *                        without releasing it.
 * Waiting by design is not blocking: Thread.join, Condition/Event.wait, queue.get.
 * Several dumps of one process form a series: a thread at the same wait site in
 * stuck_dumps consecutive dumps is reported at stuck_severity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/hash.h"
#include "../correlate/pyframe.h"
#include "pattern.h"
#include "threadview.h"

enum { P_SEVERITY, P_STUCK_SEVERITY, P_STUCK_DUMPS };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "medium", "a thread inside a lock acquisition whose owner is not proven or is gone"},
    {"stuck_severity", PAT_SEVERITY, "high", "the same, at the same site in stuck_dumps consecutive dumps"},
    {"stuck_dumps", PAT_INT, "3", "consecutive dumps at one wait site that make a thread stuck"},
    {NULL, 0, NULL, NULL},
};

struct blocked {
    struct pat_config cfg;
    struct finding_store *store;
    struct tv v;
};

static void *bt_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct blocked *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    return d;
}

static void bt_destroy(void *st)
{
    struct blocked *d = st;
    if (d == NULL)
        return;
    tv_free(&d->v);
    free(d);
}

static int bt_event(void *st, const struct event *ev)
{
    struct blocked *d = st;
    return tv_add(&d->v, ev);
}

/* The call that blocks: the built-in acquire py-bt shows, or the native one. */
static const struct ev_dframe *blocking_call(const struct ev_dthread *t)
{
    for (uint32_t i = 0; t != NULL && i < t->nframes; i++) {
        const struct ev_dframe *f = &t->frames[i];
        if (f->kind == EV_DF_BUILTIN)
            return f;
        if (f->kind == EV_DF_PYTHON)
            break;
    }
    for (uint32_t i = 0; t != NULL && i < t->nframes; i++) {
        const struct ev_dframe *f = &t->frames[i];
        if (f->kind == EV_DF_NATIVE &&
            (ev_str_eq(f->function, "rlock_acquire") || ev_str_eq(f->function, "lock_PyThread_acquire_lock")))
            return f;
    }
    return NULL;
}

static int report(struct blocked *d, const struct tv_graph *g, const struct tv_thread *t, bool owner_gone,
                  uint64_t owner)
{
    const struct ev_dframe *app = tv_innermost_app(t->t);
    const struct ev_dframe *py = tv_innermost_python(t->t);
    const struct ev_dframe *site = app != NULL ? app : py;
    const struct tv_lock *l = t->waits_for ? tv_lock_at(g, t->waits_for) : NULL;
    const char *kind = l ? ev_lock_kind_name(l->kind) : NULL;
    char mod[256] = "";
    if (site != NULL)
        pyframe_module(site->file, mod, sizeof(mod));
    uint64_t fp = hash_field(HASH_INIT, mod, strlen(mod));
    if (site != NULL)
        fp = hash_field(fp, site->function.ptr, site->function.len);
    fp = hash_field(fp, kind ? kind : "?", kind ? strlen(kind) : 1);
    fp = hash_field(fp, owner_gone ? "gone" : "unknown", owner_gone ? 4 : 7);
    const struct event *ev = t->src ? t->src : g->first;
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "blocked_thread", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "blocked_thread";
    f->rule = "builtin.blocked_thread";
    bool stuck = (long long)t->same_site >= d->cfg.v[P_STUCK_DUMPS].i;
    f->severity = stuck ? d->cfg.v[P_STUCK_SEVERITY].sev : d->cfg.v[P_SEVERITY].sev;
    f->service = ev_str_present(ev->service) ? strndup(ev->service.ptr, ev->service.len) : NULL;
    f->host = ev_str_present(ev->host) ? strndup(ev->host.ptr, ev->host.len) : NULL;
    f->pid = g->pid;
    char title[768], where[512] = "?", a[24], b[24];
    if (site != NULL) {
        const char *file = site->file.ptr ? site->file.ptr : "?";
        const char *slash = strrchr(file, '/');
        snprintf(where, sizeof(where), "%.*s:%u %.*s", (int)(site->file.len - (size_t)(slash ? slash + 1 - file : 0)),
                 slash ? slash + 1 : file, site->line, (int)site->function.len, site->function.ptr ? site->function.ptr : "");
    }
    if (owner_gone)
        snprintf(title, sizeof(title), "Blocked thread %.*s at %s: waits for %s %s held by thread %s, which no longer exists",
                 (int)t->id.len, t->id.ptr ? t->id.ptr : "?", where, kind ? kind : "lock", tv_addr(t->waits_for, a),
                 tv_addr(owner, b));
    else if (t->waits_for)
        snprintf(title, sizeof(title), "Blocked thread %.*s at %s: waits for %s %s (owner not in the artifact)",
                 (int)t->id.len, t->id.ptr ? t->id.ptr : "?", where, kind ? kind : "lock", tv_addr(t->waits_for, a));
    else
        snprintf(title, sizeof(title), "Blocked thread %.*s at %s: inside a lock acquisition (lock and owner not in the artifact)",
                 (int)t->id.len, t->id.ptr ? t->id.ptr : "?", where);
    f->title = strdup(title);
    json_t *e = json_object();
    json_t *threads = json_array();
    json_array_append_new(threads, tv_thread_json(g, t));
    json_object_set_new(e, "threads", threads);
    json_object_set_new(e, "cycle", json_array());
    json_object_set_new(e, "ownership", json_string(owner_gone ? "known" : "unknown"));
    if (owner_gone) {
        json_object_set_new(e, "owner", json_string(tv_addr(owner, a)));
        json_object_set_new(e, "owner_alive", json_false());
    }
    json_object_set_new(e, "blocking_module", site ? json_string(mod) : json_null());
    json_object_set_new(e, "blocking_frame", tv_frame_label(site));
    const struct ev_dframe *call = blocking_call(t->t);
    json_object_set_new(e, "blocking_call", call ? ev_json_str(call->function) : json_null());
    json_object_set_new(e, "dumps", json_integer(t->seen));
    json_object_set_new(e, "same_site_dumps", json_integer(t->same_site));
    json_object_set_new(e, "artifacts", tv_artifacts_json(g));
    f->evidence = e;
    return finding_store_insert(d->store, f, ev) != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

static int analyze(struct blocked *d, const struct tv_graph *g)
{
    for (size_t i = 0; i < g->nthreads; i++) {
        const struct tv_thread *t = &g->threads[i];
        if (t->wait != TV_LOCK)
            continue;
        const struct tv_lock *l = t->waits_for ? tv_lock_at(g, t->waits_for) : NULL;
        bool gone = false;
        uint64_t owner = 0;
        if (l != NULL && l->owner_known) {
            if (l->owner == 0)
                continue; /* free: the thread was about to get it */
            owner = l->owner;
            if (tv_thread_by_ident(g, owner) != NULL)
                continue; /* the owner is alive: deadlock or wait_chain tell this */
            gone = true;
        }
        if (report(d, g, t, gone, owner) != 0)
            return -1;
    }
    return 0;
}

static int bt_flush(void *st)
{
    struct blocked *d = st;
    tv_resolve(&d->v);
    int rc = 0;
    for (size_t i = 0; i < d->v.n; i++) {
        if (d->v.procs[i].merged_into >= 0)
            continue;
        struct tv_graph g;
        if (tv_graph_build(&d->v, i, &g) != 0)
            return -1;
        if (g.first != NULL && analyze(d, &g) != 0)
            rc = -1;
        tv_graph_free(&g);
    }
    return rc;
}

const struct pattern pattern_blocked_thread = {
    .name = "blocked_thread",
    .description = "a thread inside a lock acquisition whose owner is unknown or gone, with its blocking module",
    .kinds = 1u << EV_THREAD_DUMP,
    .params = params,
    .create = bt_create,
    .on_event = bt_event,
    .flush = bt_flush,
    .destroy = bt_destroy,
};
