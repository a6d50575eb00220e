/* not_my_version.c -- Not My Version: the code that failed is not the code you think
 * ran. Two signs, from package listings (EV_PACKAGES):
 *
 *   skew   processes of one service run different versions of a library (a host
 *          that missed a deploy, a worker image built from an older lock file);
 *   drift  this run's versions of a library differ from the baseline's (pycorr gate
 *          --baseline hands the baseline's listings over as reference sets before
 *          the run's own inputs).
 *
 * A process is (service, host, pid) as the listing names them, or the stream it came
 * from when it names neither host nor pid; a later listing of the same process
 * replaces the earlier one. A package one process lacks is not skew (optional
 * extras are installed on some hosts only); a package the baseline lacks is not
 * drift (a new dependency is a change, not a mismatch). One finding per (service,
 * package) and sign, so a version pinned on purpose is one known id for a gate's
 * baseline, and the next library to drift is a new one. Listings are kept until the
 * end of input (bounded: max_processes), where the comparison runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/ev_packages.h"
#include "../correlate/hash.h"
#include "pattern.h"

enum { P_SKEW_SEVERITY, P_DRIFT_SEVERITY, P_MAX_PROCESSES };

static const struct pat_param params[] = {
    {"skew_severity", PAT_SEVERITY, "medium", "processes of one service run different versions of a library"},
    {"drift_severity", PAT_SEVERITY, "low", "this run's version of a library differs from the baseline's"},
    {"max_processes", PAT_INT, "256", "package listings kept (processes and baseline sets); more are ignored"},
    {NULL, 0, NULL, NULL},
};

struct proc {
    struct arena a;          /* the cloned event and its listing */
    struct event ev;
    bool reference;
};

struct nmv {
    struct pat_config cfg;
    struct finding_store *store;
    struct proc *procs;
    size_t n, cap;
    uint64_t ignored;
};

static void *nmv_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct nmv *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    return d;
}

static void nmv_destroy(void *st)
{
    struct nmv *d = st;
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++)
        arena_free(&d->procs[i].a);
    free(d->procs);
    free(d);
}

static bool str_same(ev_str a, ev_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0) &&
           ev_str_present(a) == ev_str_present(b);
}

static bool same_process(const struct event *a, const struct event *b)
{
    if (!str_same(a->service, b->service))
        return false;
    bool named = ev_str_present(a->host) || a->pid >= 0;
    if (named != (ev_str_present(b->host) || b->pid >= 0))
        return false;
    if (named)
        return str_same(a->host, b->host) && a->pid == b->pid;
    return a->src.stream != NULL && b->src.stream != NULL && strcmp(a->src.stream, b->src.stream) == 0;
}

static int nmv_event(void *st, const struct event *ev)
{
    struct nmv *d = st;
    const struct ev_packages *pk = ev->u.packages;
    if (ev->kind != EV_PACKAGES || pk == NULL)
        return 0;
    struct proc *p = NULL;
    for (size_t i = 0; i < d->n && p == NULL; i++)
        if (d->procs[i].reference == pk->reference && same_process(&d->procs[i].ev, ev))
            p = &d->procs[i];
    if (p != NULL) {
        arena_reset(&p->a);
    } else {
        if (d->n >= (size_t)d->cfg.v[P_MAX_PROCESSES].i) {
            d->ignored++;
            return 0;
        }
        if (d->n == d->cap) {
            size_t nc = d->cap ? d->cap * 2 : 16;
            struct proc *np = realloc(d->procs, nc * sizeof(*np));
            if (np == NULL)
                return -1;
            d->procs = np;
            d->cap = nc;
        }
        p = &d->procs[d->n++];
        memset(p, 0, sizeof(*p));
        arena_init(&p->a, 0);
    }
    p->reference = pk->reference;
    if (ev_clone(&p->ev, ev, &p->a) != 0) {
        /* Forget the half-copied listing rather than compare garbage. */
        arena_free(&p->a);
        *p = d->procs[--d->n];
        return -1;
    }
    return 0;
}

/* ---- comparison ---- */

/* One package version of one listing, for sorting a service's listings together. */
struct entry {
    const struct ev_package *pkg;
    const struct proc *proc;
};

static int cmp_ev_str(ev_str a, ev_str b)
{
    size_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    return c != 0 ? c : (a.len > b.len) - (a.len < b.len);
}

static int cmp_entry(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;
    int c = cmp_ev_str(a->pkg->name, b->pkg->name);
    if (c == 0)
        c = cmp_ev_str(a->pkg->version, b->pkg->version);
    if (c == 0)
        c = (int)a->proc->reference - (int)b->proc->reference;
    return c;
}

/* "web-1 pid 4242", "web-1", "pid 4242", or the stream's name. */
static void proc_label(const struct proc *p, char *buf, size_t n)
{
    const struct event *e = &p->ev;
    if (ev_str_present(e->host) && e->pid >= 0)
        snprintf(buf, n, "%.*s pid %lld", (int)e->host.len, e->host.ptr, (long long)e->pid);
    else if (ev_str_present(e->host))
        snprintf(buf, n, "%.*s", (int)e->host.len, e->host.ptr);
    else if (e->pid >= 0)
        snprintf(buf, n, "pid %lld", (long long)e->pid);
    else
        snprintf(buf, n, "%s", e->src.stream ? e->src.stream : "?");
}

static json_t *proc_json(const struct proc *p)
{
    json_t *o = json_object();
    if (ev_str_present(p->ev.host))
        json_object_set_new(o, "host", ev_json_str(p->ev.host));
    if (p->ev.pid >= 0)
        json_object_set_new(o, "pid", json_integer(p->ev.pid));
    if (p->ev.src.stream != NULL)
        json_object_set_new(o, "stream", ev_json_cstr(p->ev.src.stream));
    if (ev_str_present(p->ev.u.packages->python))
        json_object_set_new(o, "python", ev_json_str(p->ev.u.packages->python));
    return o;
}

static char *cstr(ev_str s)
{
    return ev_str_present(s) ? strndup(s.ptr, s.len) : NULL;
}

/* The versions of one package in one service, with who runs them. */
struct vinfo {
    ev_str version;
    bool run, base;
    size_t from, to; /* its entries in the run */
};

#define MAX_VERSIONS 32
#define LABELS_PER_VERSION 3

/* Report one package of one service: run[0..n) are its entries, sorted by version,
 * the reference sets' entries after this run's of the same version. */
static int report(struct nmv *d, const struct entry *run, size_t n, ev_str service, bool drift)
{
    const struct ev_package *pkg = run[0].pkg;
    char key[512];
    int kl = snprintf(key, sizeof(key), "%.*s\n%.*s", (int)service.len, service.ptr ? service.ptr : "",
                      (int)pkg->name.len, pkg->name.ptr);
    if (kl < 0 || (size_t)kl >= sizeof(key))
        kl = (int)sizeof(key) - 1;
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "not_my_version", hash_field(HASH_INIT, drift ? "drift" : "skew", drift ? 5 : 4), key,
                    (size_t)kl);
    struct vinfo vi[MAX_VERSIONS];
    size_t nv = 0;
    for (size_t i = 0; i < n && nv < MAX_VERSIONS;) {
        size_t j = i;
        struct vinfo x = {run[i].pkg->version, false, false, i, i};
        while (j < n && cmp_ev_str(run[j].pkg->version, x.version) == 0) {
            x.run |= !run[j].proc->reference;
            x.base |= run[j].proc->reference;
            j++;
        }
        x.to = j;
        vi[nv++] = x;
        i = j;
    }
    /* The occurrences: every process of the run with the package for skew; for drift,
     * the processes that run a version the baseline did not. */
    bool occurs[MAX_VERSIONS];
    const struct event *first = NULL;
    for (size_t k = 0; k < nv; k++) {
        occurs[k] = vi[k].run && !(drift && vi[k].base);
        for (size_t i = vi[k].from; i < vi[k].to && occurs[k] && first == NULL; i++)
            if (!run[i].proc->reference)
                first = &run[i].proc->ev;
    }
    if (first == NULL || finding_store_touch(d->store, id, first) != NULL)
        return 0;

    /* Title: "api runs 2 versions of requests: 2.31.0 (web-1 pid 101), 2.28.2 (web-2)"
     * or "api: requests 2.28.2 in this run (web-2), 2.31.0 in the baseline". */
    char title[1024], label[256];
    size_t o = 0;
#define PUT(...)                                                                      \
    do {                                                                              \
        if (o < sizeof(title)) {                                                      \
            int w_ = snprintf(title + o, sizeof(title) - o, __VA_ARGS__);             \
            o = w_ < 0 ? sizeof(title) : o + (size_t)w_;                              \
        }                                                                             \
    } while (0)
    size_t nrun = 0;
    for (size_t k = 0; k < nv; k++)
        nrun += vi[k].run;
    if (drift) {
        if (service.ptr != NULL)
            PUT("%.*s: ", (int)service.len, service.ptr);
        PUT("%.*s", (int)pkg->name.len, pkg->name.ptr);
    } else if (service.ptr != NULL) {
        PUT("%.*s runs %zu versions of %.*s:", (int)service.len, service.ptr, nrun, (int)pkg->name.len,
            pkg->name.ptr);
    } else {
        PUT("processes run %zu versions of %.*s:", nrun, (int)pkg->name.len, pkg->name.ptr);
    }
    size_t shown = 0;
    for (size_t k = 0; k < nv; k++) {
        if (!vi[k].run || (drift && vi[k].base))
            continue;
        PUT("%s %.*s (", shown++ ? "," : "", (int)vi[k].version.len, vi[k].version.ptr);
        size_t labels = 0, more = 0;
        for (size_t i = vi[k].from; i < vi[k].to; i++) {
            if (run[i].proc->reference)
                continue;
            if (labels == LABELS_PER_VERSION) {
                more++;
                continue;
            }
            proc_label(run[i].proc, label, sizeof(label));
            PUT("%s%s", labels++ ? ", " : "", label);
        }
        if (more)
            PUT(" +%zu more", more);
        PUT(")");
    }
    if (drift) {
        PUT(" in this run,");
        size_t b = 0;
        for (size_t k = 0; k < nv; k++)
            if (vi[k].base)
                PUT("%s %.*s", b++ ? "," : "", (int)vi[k].version.len, vi[k].version.ptr);
        PUT(" in the baseline");
    }
#undef PUT

    json_t *versions = json_array(), *base = json_array(), *e = json_object();
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL || e == NULL || versions == NULL || base == NULL) {
        free(f);
        json_decref(e);
        json_decref(versions);
        json_decref(base);
        return -1;
    }
    for (size_t k = 0; k < nv; k++) {
        if (vi[k].base)
            json_array_append_new(base, ev_json_str(vi[k].version));
        if (!vi[k].run)
            continue;
        json_t *procs = json_array();
        for (size_t i = vi[k].from; i < vi[k].to; i++)
            if (!run[i].proc->reference)
                json_array_append_new(procs, proc_json(run[i].proc));
        json_t *v = json_object();
        json_object_set_new(v, "version", ev_json_str(vi[k].version));
        json_object_set_new(v, "processes", procs);
        json_array_append_new(versions, v);
    }
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "not_my_version";
    f->rule = "builtin.not_my_version";
    f->severity = d->cfg.v[drift ? P_DRIFT_SEVERITY : P_SKEW_SEVERITY].sev;
    f->title = strdup(title);
    f->service = cstr(service);
    f->pid = -1;
    json_object_set_new(e, "kind", json_string(drift ? "drift" : "skew"));
    json_object_set_new(e, "package", ev_json_str(pkg->name));
    json_object_set_new(e, "versions", versions);
    if (json_array_size(base) > 0)
        json_object_set_new(e, "baseline_versions", base);
    else
        json_decref(base);
    f->evidence = e;
    /* The store owns f from here, even on failure. */
    if (finding_store_insert(d->store, f, first) == NULL)
        return finding_store_dropped(d->store) ? 0 : -1;
    for (size_t k = 0; k < nv; k++)
        for (size_t i = vi[k].from; i < vi[k].to && occurs[k]; i++)
            if (!run[i].proc->reference && &run[i].proc->ev != first)
                finding_store_touch(d->store, id, &run[i].proc->ev);
    return 0;
}

/* Compare the listings of one service: members[0..m). */
static int compare_service(struct nmv *d, struct proc **members, size_t m)
{
    size_t total = 0, nrun = 0, nref = 0;
    for (size_t i = 0; i < m; i++) {
        total += members[i]->ev.u.packages->n;
        if (members[i]->reference)
            nref++;
        else
            nrun++;
    }
    if (nrun == 0 || (nrun < 2 && nref == 0) || total == 0)
        return 0;
    struct entry *v = malloc(total * sizeof(*v));
    if (v == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < members[i]->ev.u.packages->n; j++)
            v[k++] = (struct entry){&members[i]->ev.u.packages->pkgs[j], members[i]};
    qsort(v, total, sizeof(*v), cmp_entry);
    ev_str service = members[0]->ev.service;
    int rc = 0;
    for (size_t i = 0; i < total && rc == 0;) {
        size_t j = i;
        size_t run_versions = 0, unknown_to_base = 0;
        bool in_base = false;
        while (j < total && cmp_ev_str(v[j].pkg->name, v[i].pkg->name) == 0) {
            /* Per version: is it in this run, in the baseline? */
            size_t s = j;
            bool run = false, base = false;
            while (j < total && cmp_ev_str(v[j].pkg->name, v[s].pkg->name) == 0 &&
                   cmp_ev_str(v[j].pkg->version, v[s].pkg->version) == 0) {
                run |= !v[j].proc->reference;
                base |= v[j].proc->reference;
                j++;
            }
            run_versions += run;
            unknown_to_base += run && !base;
            in_base |= base;
        }
        if (run_versions >= 2)
            rc = report(d, v + i, j - i, service, false);
        if (rc == 0 && in_base && unknown_to_base > 0)
            rc = report(d, v + i, j - i, service, true);
        i = j;
    }
    free(v);
    return rc;
}

static int nmv_flush(void *st)
{
    struct nmv *d = st;
    if (d->n == 0)
        return 0;
    struct proc **members = malloc(d->n * sizeof(*members));
    bool *done = calloc(d->n, sizeof(*done));
    if (members == NULL || done == NULL) {
        free(members);
        free(done);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (done[i])
            continue;
        size_t m = 0;
        for (size_t j = i; j < d->n; j++)
            if (!done[j] && str_same(d->procs[j].ev.service, d->procs[i].ev.service)) {
                done[j] = true;
                members[m++] = &d->procs[j];
            }
        if (compare_service(d, members, m) != 0)
            rc = -1;
    }
    free(members);
    free(done);
    return rc;
}

const struct pattern pattern_not_my_version = {
    .name = "not_my_version",
    .description = "processes of one service run different versions of a library, or other versions than "
                   "the baseline's",
    .kinds = 1u << EV_PACKAGES,
    .params = params,
    .create = nmv_create,
    .on_event = nmv_event,
    .flush = nmv_flush,
    .destroy = nmv_destroy,
};
