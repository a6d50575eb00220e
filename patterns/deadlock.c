/* deadlock.c -- the Deadlock and Wait Chain patterns, from the wait-for graph.
 *
 * A thread that waits for a lock points at the lock's owner, when an artifact
 * proves the owner (gdb x/4a of an RLock, see threadview.h); each thread waits for
 * at most one lock, so following the pointers from every thread finds every cycle.
 *   deadlock    a cycle: each thread waits for a lock held by the next. A thread
 *               waiting for a plain Lock it holds itself is a cycle of one (an
 *               RLock it holds would be re-entered, not waited for).
 *   wait_chain  a chain that does not close: threads waiting, directly or through
 *               others, for a thread that is not itself waiting for a known owner.
 * Threads whose chain runs into a cycle are listed with the deadlock
 * ("also_waiting"). Where no artifact proves an owner there is no edge: such
 * threads are blocked_thread findings with ownership "unknown", never a guessed
 * deadlock.
 *
 * Findings are emitted at the end of input, when every artifact of a process has
 * been seen. A deadlock's fingerprint is its members' wait sites (module, function,
 * lock kind) in cycle order from the smallest, so the same deadlock in another run
 * of the program folds into the same finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/hash.h"
#include "../correlate/pyframe.h"
#include "pattern.h"
#include "threadview.h"

enum { P_SEVERITY };

static const struct pat_param deadlock_params[] = {
    {"severity", PAT_SEVERITY, "critical", "a cycle of threads waiting for each other's locks"},
    {NULL, 0, NULL, NULL},
};

enum { PW_SEVERITY, PW_MIN_WAITERS };

static const struct pat_param chain_params[] = {
    {"severity", PAT_SEVERITY, "high", "threads waiting, directly or through others, for one thread"},
    {"min_waiters", PAT_INT, "1", "fewest waiting threads that make a chain worth reporting"},
    {NULL, 0, NULL, NULL},
};

struct det {
    struct pat_config cfg;
    struct finding_store *store;
    struct tv v;
    bool chains; /* this instance reports wait_chain, not deadlock */
};

static void *det_create(const struct pat_config *cfg, struct finding_store *store, bool chains)
{
    struct det *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    d->chains = chains;
    return d;
}

static void *dl_create(const struct pat_config *cfg, struct finding_store *store) { return det_create(cfg, store, false); }
static void *wc_create(const struct pat_config *cfg, struct finding_store *store) { return det_create(cfg, store, true); }

static void det_destroy(void *st)
{
    struct det *d = st;
    if (d == NULL)
        return;
    tv_free(&d->v);
    free(d);
}

static int det_event(void *st, const struct event *ev)
{
    struct det *d = st;
    return tv_add(&d->v, ev);
}

/* The next thread in the wait-for graph: the proven owner of the lock t waits for. */
static long next_of(const struct tv_graph *g, size_t i)
{
    const struct tv_thread *t = &g->threads[i];
    if (t->waits_for == 0 || t->wait == TV_IDLE_WAIT)
        return -1;
    const struct tv_lock *l = tv_lock_at(g, t->waits_for);
    if (l == NULL || !l->owner_known || l->owner == 0)
        return -1;
    struct tv_thread *o = tv_thread_by_ident(g, l->owner);
    if (o == NULL)
        return -1;
    if (o == t && l->kind != EV_LOCK_LOCK)
        return -1; /* an RLock (or a lock of unknown kind) its owner would re-enter */
    return (long)(o - g->threads);
}

/* "module.function" of the thread's wait site, for fingerprints. */
static size_t site_key(const struct tv_thread *t, char *buf, size_t n)
{
    const struct ev_dframe *f = tv_innermost_app(t->t);
    if (f == NULL)
        f = tv_innermost_python(t->t);
    if (f == NULL) {
        snprintf(buf, n, "?");
        return 1;
    }
    char mod[256];
    pyframe_module(f->file, mod, sizeof(mod));
    int k = snprintf(buf, n, "%s.%.*s", mod, (int)f->function.len, f->function.ptr ? f->function.ptr : "");
    return k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1;
}

static char *site_label(const struct tv_thread *t)
{
    const struct ev_dframe *f = tv_innermost_app(t->t);
    if (f == NULL)
        f = tv_innermost_python(t->t);
    char buf[512];
    if (f == NULL)
        snprintf(buf, sizeof(buf), "%.*s", (int)t->id.len, t->id.ptr ? t->id.ptr : "?");
    else {
        const char *file = f->file.ptr ? f->file.ptr : "?";
        size_t fl = f->file.len;
        const char *slash = fl ? memrchr(file, '/', fl) : NULL;
        if (slash != NULL) {
            fl -= (size_t)(slash + 1 - file);
            file = slash + 1;
        }
        snprintf(buf, sizeof(buf), "%.*s:%u %.*s", (int)fl, file, f->line, (int)f->function.len,
                 f->function.ptr ? f->function.ptr : "");
    }
    return strdup(buf);
}

static char *str_dup_ev(ev_str s) { return ev_str_present(s) ? strndup(s.ptr, s.len) : NULL; }

static void set_keys(struct finding *f, const struct tv_graph *g, const struct event *ev)
{
    f->service = str_dup_ev(ev->service);
    f->host = str_dup_ev(ev->host);
    f->pid = g->pid;
}

static int insert(struct det *d, struct finding *f, const struct event *ev)
{
    return finding_store_insert(d->store, f, ev) != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

static json_t *locks_json(const struct tv_graph *g, const long *members, size_t n)
{
    char a[24];
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        const struct tv_thread *t = &g->threads[members[k]];
        const struct tv_lock *l = tv_lock_at(g, t->waits_for);
        if (l == NULL)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "address", json_string(tv_addr(l->address, a)));
        const char *kn = ev_lock_kind_name(l->kind);
        json_object_set_new(o, "kind", kn ? json_string(kn) : json_null());
        const struct tv_thread *ow = tv_thread_by_ident(g, l->owner);
        json_object_set_new(o, "owner", ow ? ev_json_str(ow->id) : json_string(tv_addr(l->owner, a)));
        json_t *w = json_array();
        json_array_append_new(w, ev_json_str(t->id));
        json_object_set_new(o, "waiters", w);
        if (l->owner_src != NULL) {
            json_t *s = json_object();
            json_object_set_new(s, "stream", ev_json_cstr(l->owner_src->src.stream));
            json_object_set_new(s, "format", json_string(ev_dump_format_name(l->owner_src->u.dump->format)));
            json_object_set_new(o, "owner_proven_by", s);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static int report_cycle(struct det *d, const struct tv_graph *g, const long *cyc, size_t n, const long *next)
{
    /* Canonical rotation: start at the member with the smallest site key. */
    char best[600] = "", key[600];
    size_t start = 0;
    for (size_t k = 0; k < n; k++) {
        site_key(&g->threads[cyc[k]], key, sizeof(key));
        if (k == 0 || strcmp(key, best) < 0) {
            memcpy(best, key, sizeof(best));
            start = k;
        }
    }
    long ord[64];
    for (size_t k = 0; k < n; k++)
        ord[k] = cyc[(start + k) % n];
    uint64_t fp = hash_field(HASH_INIT, "deadlock", 8);
    for (size_t k = 0; k < n; k++) {
        size_t kl = site_key(&g->threads[ord[k]], key, sizeof(key));
        fp = hash_field(fp, key, kl);
        const struct tv_lock *l = tv_lock_at(g, g->threads[ord[k]].waits_for);
        const char *kn = l ? ev_lock_kind_name(l->kind) : NULL;
        fp = hash_field(fp, kn ? kn : "?", kn ? strlen(kn) : 1);
    }
    const struct event *ev = g->threads[ord[0]].src ? g->threads[ord[0]].src : g->first;
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "deadlock", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "deadlock";
    f->rule = "builtin.deadlock";
    f->severity = d->cfg.v[P_SEVERITY].sev;
    set_keys(f, g, ev);
    /* Title: "Deadlock: 2 threads wait for each other's RLocks (a.py:25 f -> b.py:34 g)" */
    const struct tv_lock *l0 = tv_lock_at(g, g->threads[ord[0]].waits_for);
    const char *kn = l0 ? ev_lock_kind_name(l0->kind) : NULL;
    char title[1024];
    int o;
    if (n == 1)
        o = snprintf(title, sizeof(title), "Deadlock: a thread waits for the %s it holds itself (", kn ? kn : "lock");
    else
        o = snprintf(title, sizeof(title), "Deadlock: %zu threads wait for each other's %ss (", n, kn ? kn : "lock");
    bool same = n > 1;
    char *first = site_label(&g->threads[ord[0]]);
    for (size_t k = 1; k < n && same; k++) {
        char *s = site_label(&g->threads[ord[k]]);
        same = s != NULL && first != NULL && strcmp(s, first) == 0;
        free(s);
    }
    if (same && o > 0 && (size_t)o < sizeof(title))
        o += snprintf(title + o, sizeof(title) - (size_t)o, "all at %s", first ? first : "?");
    for (size_t k = 0; !same && k < n && o > 0 && (size_t)o < sizeof(title) - 8; k++) {
        char *s = site_label(&g->threads[ord[k]]);
        o += snprintf(title + o, sizeof(title) - (size_t)o, "%s%s", k ? " -> " : "", s ? s : "?");
        free(s);
    }
    free(first);
    if (o > 0 && (size_t)o < sizeof(title) - 2)
        snprintf(title + o, sizeof(title) - (size_t)o, ")");
    f->title = strdup(title);

    json_t *e = json_object();
    json_t *threads = json_array(), *cycle = json_array();
    for (size_t k = 0; k < n; k++) {
        const struct tv_thread *t = &g->threads[ord[k]];
        json_t *tj = tv_thread_json(g, t);
        const struct tv_thread *ow = &g->threads[next[ord[k]]];
        json_object_set_new(tj, "waits_for_owner", ev_json_str(ow->id));
        json_array_append_new(threads, tj);
        json_array_append_new(cycle, ev_json_str(t->id));
    }
    json_object_set_new(e, "threads", threads);
    json_object_set_new(e, "cycle", cycle);
    json_object_set_new(e, "ownership", json_string("known"));
    json_object_set_new(e, "locks", locks_json(g, ord, n));
    /* Threads whose chain runs into the cycle. */
    json_t *also = json_array();
    for (size_t i = 0; i < g->nthreads; i++) {
        bool member = false;
        for (size_t k = 0; k < n; k++)
            member |= (size_t)ord[k] == i;
        long x = (long)i;
        for (size_t hops = 0; !member && x >= 0 && hops < g->nthreads; hops++) {
            x = next[x];
            for (size_t k = 0; k < n && x >= 0; k++)
                if (ord[k] == x) {
                    json_array_append_new(also, tv_thread_json(g, &g->threads[i]));
                    x = -1;
                    break;
                }
        }
    }
    if (json_array_size(also))
        json_object_set_new(e, "also_waiting", also);
    else
        json_decref(also);
    json_object_set_new(e, "threads_in_process", json_integer((json_int_t)g->nthreads));
    json_object_set_new(e, "artifacts", tv_artifacts_json(g));
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(e, "fingerprint", json_string(fph));
    f->evidence = e;
    return insert(d, f, ev);
}

static int report_chain(struct det *d, const struct tv_graph *g, size_t head, const long *next, const bool *in_cycle)
{
    /* Members: every thread whose walk ends at head without meeting a cycle,
     * farthest waiter first (by distance to the head). */
    long members[256];
    size_t dist[256];
    size_t n = 0;
    for (size_t i = 0; i < g->nthreads && n < 256; i++) {
        if (i == head || in_cycle[i])
            continue;
        long x = (long)i;
        size_t hops = 0;
        while (x >= 0 && (size_t)x != head && !in_cycle[x] && hops < g->nthreads) {
            x = next[x];
            hops++;
        }
        if (x == (long)head && hops > 0) {
            members[n] = (long)i;
            dist[n++] = hops;
        }
    }
    if ((long long)n < d->cfg.v[PW_MIN_WAITERS].i || n == 0)
        return 0;
    for (size_t a = 1; a < n; a++) /* by distance, descending; stable */
        for (size_t b = a; b > 0 && dist[b - 1] < dist[b]; b--) {
            long tm = members[b];
            members[b] = members[b - 1];
            members[b - 1] = tm;
            size_t td = dist[b];
            dist[b] = dist[b - 1];
            dist[b - 1] = td;
        }
    const struct tv_thread *h = &g->threads[head];
    char key[600];
    uint64_t fp = hash_field(HASH_INIT, "wait_chain", 10);
    size_t kl = site_key(h, key, sizeof(key));
    fp = hash_field(fp, key, kl);
    for (size_t k = 0; k < n; k++) {
        kl = site_key(&g->threads[members[k]], key, sizeof(key));
        fp = hash_field(fp, key, kl);
    }
    const struct event *ev = h->src ? h->src : g->first;
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "wait_chain", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "wait_chain";
    f->rule = "builtin.wait_chain";
    f->severity = d->cfg.v[PW_SEVERITY].sev;
    set_keys(f, g, ev);
    char *hs = site_label(h);
    char title[768];
    snprintf(title, sizeof(title), "Wait chain: %zu thread%s wait%s behind thread %.*s (at %s)", n, n == 1 ? "" : "s",
             n == 1 ? "s" : "", (int)h->id.len, h->id.ptr ? h->id.ptr : "?", hs ? hs : "?");
    free(hs);
    f->title = strdup(title);
    json_t *e = json_object();
    json_t *threads = json_array(), *order = json_array();
    for (size_t k = 0; k < n; k++) {
        const struct tv_thread *t = &g->threads[members[k]];
        json_t *tj = tv_thread_json(g, t);
        json_object_set_new(tj, "waits_for_owner", ev_json_str(g->threads[next[members[k]]].id));
        json_array_append_new(threads, tj);
        json_array_append_new(order, ev_json_str(t->id));
    }
    json_array_append_new(threads, tv_thread_json(g, h));
    json_array_append_new(order, ev_json_str(h->id));
    json_object_set_new(e, "threads", threads);
    json_object_set_new(e, "chain", order);
    json_object_set_new(e, "cycle", json_array());
    json_object_set_new(e, "head", ev_json_str(h->id));
    json_object_set_new(e, "head_state", json_string(h->waits_for ? "waiting (owner unknown)"
                                                     : h->wait == TV_IDLE_WAIT ? "idle wait" : "not waiting"));
    json_object_set_new(e, "ownership", json_string("known"));
    json_object_set_new(e, "locks", locks_json(g, members, n));
    json_object_set_new(e, "artifacts", tv_artifacts_json(g));
    f->evidence = e;
    return insert(d, f, ev);
}

static int analyze(struct det *d, const struct tv_graph *g)
{
    size_t n = g->nthreads;
    if (n == 0)
        return 0;
    long *next = malloc(n * sizeof(*next));
    unsigned char *color = calloc(n, 1);
    bool *in_cycle = calloc(n, sizeof(*in_cycle));
    long *path = malloc(n * sizeof(*path));
    int rc = 0;
    if (next == NULL || color == NULL || in_cycle == NULL || path == NULL) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        next[i] = next_of(g, i);
    for (size_t s = 0; s < n && rc == 0; s++) {
        size_t len = 0;
        long x = (long)s;
        while (x >= 0 && color[x] == 0) {
            color[x] = 1;
            path[len++] = x;
            x = next[x];
        }
        if (x >= 0 && color[x] == 1) {
            size_t k = 0;
            while (path[k] != x)
                k++;
            size_t cl = len - k;
            for (size_t m = k; m < len; m++)
                in_cycle[path[m]] = true;
            if (!d->chains && cl <= 64)
                rc = report_cycle(d, g, path + k, cl, next);
        }
        for (size_t m = 0; m < len; m++)
            color[path[m]] = 2;
    }
    if (d->chains && rc == 0) {
        /* A head is a thread some waiter points at that is not in a cycle and
         * does not itself point anywhere. */
        for (size_t hd = 0; hd < n && rc == 0; hd++) {
            if (in_cycle[hd] || next[hd] >= 0)
                continue;
            bool pointed = false;
            for (size_t i = 0; i < n; i++)
                pointed |= next[i] == (long)hd;
            if (pointed)
                rc = report_chain(d, g, hd, next, in_cycle);
        }
    }
out:
    free(next);
    free(color);
    free(in_cycle);
    free(path);
    return rc;
}

static int det_flush(void *st)
{
    struct det *d = st;
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

const struct pattern pattern_deadlock = {
    .name = "deadlock",
    .description = "threads waiting in a cycle for each other's locks (owners proven by gdb x/4a words)",
    .kinds = 1u << EV_THREAD_DUMP,
    .params = deadlock_params,
    .create = dl_create,
    .on_event = det_event,
    .flush = det_flush,
    .destroy = det_destroy,
};

const struct pattern pattern_wait_chain = {
    .name = "wait_chain",
    .description = "threads waiting, directly or through others, for one thread that is not waiting",
    .kinds = 1u << EV_THREAD_DUMP,
    .params = chain_params,
    .create = wc_create,
    .on_event = det_event,
    .flush = det_flush,
    .destroy = det_destroy,
};
