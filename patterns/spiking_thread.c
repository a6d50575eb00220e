/* spiking_thread.c -- the Spiking Thread pattern: a thread that burns a CPU, named
 * by its stack.
 *
 * CPU paratext (ps -T, top -H) gives per-thread CPU by native thread id; a thread
 * dump of the same process that prints native ids (gdb "LWP n", py-spy) gives the
 * stack, so the two are joined by native id (threadview.h groups them by pid, or by
 * shared thread ids when the paratext has no pid).
 *
 * The leader row. ps and top read the thread-group leader's row (thread id = pid)
 * from the process-wide counters, so it shows the sum of every thread: when its
 * value is at least the sum of the other rows, the leader's own share is the
 * difference. Without that, an idle MainThread next to one spinning worker looks
 * like two spinning threads.
 *
 * Roles: "main" (the leader), "application" (its stack has Python frames),
 * "runtime" (a stack without Python frames: interpreter, extension or library
 * threads), "unknown" (no dump of the thread). Several samples of one process form
 * a series: the finding keeps the highest share and counts the samples over the
 * threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/hash.h"
#include "../correlate/pyframe.h"
#include "pattern.h"
#include "threadview.h"

enum { P_SEVERITY, P_CPU_PERCENT };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "medium", "a thread at or above cpu_percent"},
    {"cpu_percent", PAT_DOUBLE, "50", "a thread's own CPU share (percent of one core) that makes it spiking"},
    {NULL, 0, NULL, NULL},
};

struct spiking {
    struct pat_config cfg;
    struct finding_store *store;
    struct tv v;
};

static void *sp_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct spiking *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    return d;
}

static void sp_destroy(void *st)
{
    struct spiking *d = st;
    if (d == NULL)
        return;
    tv_free(&d->v);
    free(d);
}

static int sp_event(void *st, const struct event *ev)
{
    struct spiking *d = st;
    return tv_add(&d->v, ev);
}

#define MAX_ROWS 1024

struct row_stat {
    int64_t native_id;
    const struct ev_dthread *row;   /* the row of the highest share */
    const struct event *sample;
    double own_pct, printed_pct;
    double own_s;                   /* own CPU seconds, -1 unknown */
    bool leader_adjusted;
    unsigned over;                  /* samples at or above the threshold */
};

/* The leader's own share of a sample: the row minus the other rows, when the row
 * holds the process-wide sum. Returns the index of the leader, -1 when none. */
static long leader_of(const struct ev_dump *d, int64_t pid, double *sum_pct, double *sum_s)
{
    long lead = -1;
    for (uint32_t i = 0; i < d->nthreads; i++) {
        int64_t nid = d->threads[i].native_id;
        if (pid >= 0 ? nid == pid : (lead < 0 || nid < d->threads[lead].native_id))
            lead = (long)i;
    }
    if (lead < 0 || d->nthreads < 2)
        return -1;
    double sp = 0, ss = 0;
    bool have_s = true;
    for (uint32_t i = 0; i < d->nthreads; i++) {
        if ((long)i == lead)
            continue;
        sp += d->threads[i].cpu_percent;
        if (d->threads[i].cpu_seconds < 0)
            have_s = false;
        ss += d->threads[i].cpu_seconds;
    }
    const struct ev_dthread *l = &d->threads[lead];
    /* Rounding in the printed values: a tenth of a percent per row, a hundredth
     * of a second per row. */
    double tol_p = 0.1 * d->nthreads + 0.5, tol_s = 0.01 * d->nthreads + 0.005;
    bool aggregate = sp > 0 && l->cpu_percent + tol_p >= sp &&
                     (!have_s || l->cpu_seconds < 0 || l->cpu_seconds + tol_s >= ss);
    if (!aggregate)
        return -1;
    *sum_pct = sp;
    *sum_s = have_s ? ss : -1;
    return lead;
}

static const char *role_of(const struct tv_graph *g, const struct tv_thread *t, int64_t native_id)
{
    if (g->pid >= 0 && native_id == g->pid)
        return "main";
    if (t == NULL || t->t == NULL || t->t->nframes == 0)
        return "unknown";
    return t->t->npython > 0 ? "application" : "runtime";
}

static int report(struct spiking *d, const struct tv_graph *g, const struct row_stat *rs)
{
    const struct tv_thread *t = tv_thread_by_native(g, rs->native_id);
    const char *role = role_of(g, t, rs->native_id);
    const struct ev_dframe *py = t ? tv_innermost_python(t->t) : NULL;
    const struct ev_dframe *app = t ? tv_innermost_app(t->t) : NULL;
    const struct ev_dframe *site = app ? app : py ? py : (t && t->t && t->t->nframes ? &t->t->frames[0] : NULL);
    uint64_t fp = hash_field(HASH_INIT, role, strlen(role));
    char mod[256] = "";
    if (site != NULL && site->kind == EV_DF_PYTHON) {
        pyframe_module(site->file, mod, sizeof(mod));
        fp = hash_field(fp, mod, strlen(mod));
        fp = hash_field(fp, site->function.ptr, site->function.len);
    } else if (site != NULL) {
        fp = hash_field(fp, site->function.ptr, site->function.len);
    } else if (ev_str_present(rs->row->name)) {
        fp = hash_field(fp, rs->row->name.ptr, rs->row->name.len);
    }
    const struct event *ev = rs->sample;
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "spiking_thread", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "spiking_thread";
    f->rule = "builtin.spiking_thread";
    f->severity = d->cfg.v[P_SEVERITY].sev;
    f->pid = g->pid;
    f->service = ev_str_present(ev->service) ? strndup(ev->service.ptr, ev->service.len) : NULL;
    f->host = ev_str_present(ev->host) ? strndup(ev->host.ptr, ev->host.len) : NULL;
    char title[768], where[512] = "";
    if (site != NULL && site->kind == EV_DF_PYTHON) {
        const char *file = site->file.ptr ? site->file.ptr : "?";
        const char *slash = strrchr(file, '/');
        snprintf(where, sizeof(where), " in %.*s (%.*s:%u)", (int)site->function.len, site->function.ptr,
                 (int)(site->file.len - (size_t)(slash ? slash + 1 - file : 0)), slash ? slash + 1 : file, site->line);
    } else if (site != NULL) {
        snprintf(where, sizeof(where), " in %.*s (native)", (int)site->function.len, site->function.ptr);
    } else {
        snprintf(where, sizeof(where), " (no stack of this thread in the input)");
    }
    /* The thread's own name (py-spy's Python name) over the paratext's command. */
    ev_str nm = t != NULL && ev_str_present(t->name) ? t->name : rs->row->name;
    snprintf(title, sizeof(title), "Spiking %s thread %lld%s%.*s%s at %.0f%% CPU%s",
             strcmp(role, "runtime") == 0 ? "runtime" : strcmp(role, "main") == 0 ? "main" : "", (long long)rs->native_id,
             ev_str_present(nm) ? " (" : "", (int)nm.len, nm.ptr ? nm.ptr : "", ev_str_present(nm) ? ")" : "", rs->own_pct,
             where);
    /* "Spiking  thread" when the role adds no word. */
    char *dbl = strstr(title, "Spiking  thread");
    if (dbl != NULL)
        memmove(dbl + 8, dbl + 9, strlen(dbl + 9) + 1);
    f->title = strdup(title);

    json_t *e = json_object();
    json_t *th;
    if (t != NULL) {
        th = tv_thread_json(g, t);
    } else {
        th = json_object();
        json_object_set_new(th, "id", ev_json_str(rs->row->id));
        json_object_set_new(th, "native_id", json_integer(rs->native_id));
        json_object_set_new(th, "name", ev_json_str(rs->row->name));
        json_object_set_new(th, "frame", json_null());
    }
    json_object_set_new(th, "role", json_string(role));
    json_object_set_new(th, "cpu_percent", json_real(rs->own_pct));
    if (rs->own_s >= 0)
        json_object_set_new(th, "cpu_seconds", json_real(rs->own_s));
    json_t *threads = json_array();
    json_array_append_new(threads, th);
    json_object_set_new(e, "threads", threads);
    json_object_set_new(e, "role", json_string(role));
    json_object_set_new(e, "cpu_percent", json_real(rs->own_pct));
    json_object_set_new(e, "printed_cpu_percent", json_real(rs->printed_pct));
    if (rs->leader_adjusted)
        json_object_set_new(e, "leader_row_adjusted", json_true());
    json_object_set_new(e, "samples", json_integer((json_int_t)g->ncpu));
    json_object_set_new(e, "samples_over_threshold", json_integer(rs->over));
    json_object_set_new(e, "threshold_percent", json_real(d->cfg.v[P_CPU_PERCENT].d));
    json_object_set_new(e, "stack_joined", t != NULL && t->t != NULL ? json_true() : json_false());
    json_object_set_new(e, "artifacts", tv_artifacts_json(g));
    f->evidence = e;
    return finding_store_insert(d->store, f, ev) != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

static int analyze(struct spiking *d, const struct tv_graph *g)
{
    struct row_stat *rs = calloc(MAX_ROWS, sizeof(*rs));
    if (rs == NULL)
        return -1;
    size_t nrs = 0;
    double thr = d->cfg.v[P_CPU_PERCENT].d;
    for (size_t s = 0; s < g->ncpu; s++) {
        const struct event *ev = g->cpu[s];
        const struct ev_dump *dp = ev->u.dump;
        int64_t pid = ev->pid >= 0 ? ev->pid : g->pid;
        double sum_p = 0, sum_s = -1;
        long lead = leader_of(dp, pid, &sum_p, &sum_s);
        for (uint32_t i = 0; i < dp->nthreads; i++) {
            const struct ev_dthread *r = &dp->threads[i];
            if (!r->has_cpu || r->native_id < 0)
                continue;
            double pct = r->cpu_percent, secs = r->cpu_seconds;
            bool adj = (long)i == lead;
            if (adj) {
                pct = pct > sum_p ? pct - sum_p : 0;
                secs = sum_s >= 0 && secs >= 0 ? (secs > sum_s ? secs - sum_s : 0) : -1;
            }
            struct row_stat *x = NULL;
            for (size_t k = 0; k < nrs; k++)
                if (rs[k].native_id == r->native_id)
                    x = &rs[k];
            if (x == NULL) {
                if (nrs == MAX_ROWS)
                    continue;
                x = &rs[nrs++];
                x->native_id = r->native_id;
                x->own_pct = -1;
            }
            if (pct >= thr)
                x->over++;
            if (pct > x->own_pct) {
                x->own_pct = pct;
                x->printed_pct = r->cpu_percent;
                x->own_s = secs;
                x->row = r;
                x->sample = ev;
                x->leader_adjusted = adj;
            }
        }
    }
    int rc = 0;
    for (size_t k = 0; k < nrs && rc == 0; k++)
        if (rs[k].over > 0)
            rc = report(d, g, &rs[k]);
    free(rs);
    return rc;
}

static int sp_flush(void *st)
{
    struct spiking *d = st;
    tv_resolve(&d->v);
    int rc = 0;
    for (size_t i = 0; i < d->v.n; i++) {
        if (d->v.procs[i].merged_into >= 0)
            continue;
        struct tv_graph g;
        if (tv_graph_build(&d->v, i, &g) != 0)
            return -1;
        if (g.ncpu > 0 && analyze(d, &g) != 0)
            rc = -1;
        tv_graph_free(&g);
    }
    return rc;
}

const struct pattern pattern_spiking_thread = {
    .name = "spiking_thread",
    .description = "a thread burning CPU (ps -T / top -H) joined by native id to its stack in a dump",
    .kinds = (1u << EV_THREAD_DUMP) | (1u << EV_THREAD_CPU),
    .params = params,
    .create = sp_create,
    .on_event = sp_event,
    .flush = sp_flush,
    .destroy = sp_destroy,
};
