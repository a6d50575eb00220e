/* nested_exception.c -- the Nested Exception pattern: an exception and the chain of
 * exceptions it was raised from or while handling.
 *
 * Every exception event is a chain (a lone exception is a chain of one). Chains of
 * the same shape raised by the same code fold into one finding (the Stack Trace Set
 * idea): the fingerprint covers each exception's type and relation and each frame's
 * module and function, recursively through exception groups and the worker
 * tracebacks quoted in messages (ev_exc.remote), and leaves out line numbers and
 * messages, which change with every deploy and every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/hash.h"
#include "../correlate/pyframe.h"
#include "pattern.h"

enum { P_SEVERITY, P_WARNING_SEVERITY, P_INFO_SEVERITY, P_INTERRUPT_SEVERITY, P_MIN_CHAIN };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "high", "an exception logged at ERROR or above, or printed bare on stderr"},
    {"warning_severity", PAT_SEVERITY, "medium", "an exception logged at WARNING"},
    {"info_severity", PAT_SEVERITY, "low", "an exception logged at INFO or DEBUG"},
    {"interrupt_severity", PAT_SEVERITY, "info", "KeyboardInterrupt, SystemExit, GeneratorExit"},
    {"min_chain", PAT_INT, "1", "shortest chain reported (1 reports lone exceptions too)"},
    {NULL, 0, NULL, NULL},
};

struct nested {
    struct pat_config cfg;
    struct finding_store *store;
};

static void *ne_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct nested *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    return d;
}

static void ne_destroy(void *st) { free(st); }
static int ne_flush(void *st) { (void)st; return 0; }

static uint64_t fp_chain(uint64_t h, const struct ev_chain *c);

static uint64_t fp_exc(uint64_t h, const struct ev_exc *e)
{
    char mod[256];
    h = hash_field(h, e->type.ptr, e->type.len);
    h = hash_field(h, ev_relation_name(e->relation), strlen(ev_relation_name(e->relation)));
    for (uint32_t i = 0; i < e->nframes; i++) {
        size_t k = pyframe_module(e->frames[i].file, mod, sizeof(mod));
        h = hash_field(h, mod, k);
        h = hash_field(h, e->frames[i].function.ptr, e->frames[i].function.len);
    }
    if (e->group != NULL) {
        h = hash_field(h, "group", 5);
        for (uint32_t i = 0; i < e->group->n; i++)
            h = fp_chain(h, &e->group->members[i]);
    }
    if (e->remote != NULL) {
        /* The worker's failure is the shape that matters: without it, every
         * failure that reached a pool's caller through the same call would fold
         * into one finding. */
        h = hash_field(h, "remote", 6);
        h = fp_chain(h, e->remote);
    }
    return h;
}

/* Where the chain began: its root, or when the root carries a worker's traceback
 * (a _RemoteTraceback printed as the cause), that traceback's root, and so on. */
static const struct ev_exc *first_cause(const struct ev_chain *c, bool *remote)
{
    const struct ev_exc *r = &c->exc[0];
    *remote = false;
    for (int depth = 0; depth < 8 && r->remote != NULL && r->remote->n > 0; depth++) {
        r = &r->remote->exc[0];
        *remote = true;
    }
    return r;
}

/* A carrier that prints nothing but the worker's traceback (billiard's
 * ExceptionWithTraceback as Celery logs it): its message adds nothing. */
static bool only_carries(const struct ev_exc *e)
{
    if (e->remote == NULL || e->remote->n == 0)
        return false;
    const char *m = e->message.ptr;
    size_t i = 0;
    while (i < e->message.len && (m[i] == ' ' || m[i] == '\n'))
        i++;
    return i + 3 <= e->message.len && memcmp(m + i, "\"\"\"", 3) == 0;
}

static uint64_t fp_chain(uint64_t h, const struct ev_chain *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        h = fp_exc(h, &c->exc[i]);
    return hash_field(h, "end", 3);
}

/* The innermost frame of e in application code, or the innermost of all. */
static const struct ev_frame *origin_frame(const struct ev_exc *e, bool *is_app)
{
    for (uint32_t i = e->nframes; i > 0; i--)
        if (pyframe_classify(e->frames[i - 1].file) == PYFRAME_APP) {
            *is_app = true;
            return &e->frames[i - 1];
        }
    *is_app = false;
    return e->nframes ? &e->frames[e->nframes - 1] : NULL;
}

static json_t *module_of(const struct ev_frame *f)
{
    char mod[256];
    if (f == NULL)
        return json_null();
    pyframe_module(f->file, mod, sizeof(mod));
    return json_string(mod);
}

static json_t *frame_label(const struct ev_frame *f)
{
    if (f == NULL)
        return json_null();
    char buf[1024];
    snprintf(buf, sizeof(buf), "%.*s:%u %.*s", (int)f->file.len, f->file.ptr, f->line,
             (int)f->function.len, f->function.ptr ? f->function.ptr : "");
    return ev_json_cstr(buf);
}

static json_t *chain_evidence(const struct ev_chain *c);

static json_t *group_evidence(const struct ev_group *g)
{
    json_t *o = json_object();
    json_t *members = json_array();
    for (uint32_t i = 0; i < g->n; i++)
        json_array_append_new(members, chain_evidence(&g->members[i]));
    json_object_set_new(o, "exceptions", members);
    json_object_set_new(o, "printed_members", json_integer(g->n));
    json_object_set_new(o, "more_exceptions", json_integer(g->more_exceptions));
    return o;
}

static json_t *chain_evidence(const struct ev_chain *c)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < c->n; i++) {
        const struct ev_exc *e = &c->exc[i];
        json_t *o = json_object();
        json_object_set_new(o, "type", ev_json_str(e->type));
        json_object_set_new(o, "message", ev_json_str(e->message.ptr ? e->message : EV_STR_LIT("")));
        json_object_set_new(o, "relation", json_string(ev_relation_name(e->relation)));
        json_t *frames = json_array();
        for (uint32_t k = 0; k < e->nframes; k++)
            json_array_append_new(frames, ev_frame_to_json(&e->frames[k]));
        json_object_set_new(o, "frames", frames);
        if (e->frames_total != e->nframes)
            json_object_set_new(o, "frames_total", json_integer(e->frames_total));
        bool app;
        const struct ev_frame *of = origin_frame(e, &app);
        json_object_set_new(o, "module", module_of(of));
        if (e->nnotes) {
            json_t *notes = json_array();
            for (uint32_t k = 0; k < e->nnotes; k++)
                json_array_append_new(notes, ev_json_str(e->notes[k]));
            json_object_set_new(o, "notes", notes);
        }
        if (e->group != NULL)
            json_object_set_new(o, "group", group_evidence(e->group));
        if (e->remote != NULL)
            json_object_set_new(o, "remote", chain_evidence(e->remote));
        json_array_append_new(arr, o);
    }
    return arr;
}

static bool is_interrupt(ev_str type)
{
    return ev_str_eq(type, "KeyboardInterrupt") || ev_str_eq(type, "SystemExit") ||
           ev_str_eq(type, "GeneratorExit") || ev_str_eq(type, "asyncio.exceptions.CancelledError") ||
           ev_str_eq(type, "asyncio.CancelledError");
}

static char *str_dup_ev(ev_str s)
{
    if (!ev_str_present(s))
        return NULL;
    return strndup(s.ptr, s.len);
}

static char *make_title(const struct ev_chain *c)
{
    const struct ev_exc *outer = &c->exc[c->n - 1];
    if (c->n == 1 && only_carries(outer)) {
        /* The worker's failure, and what carried it. */
        char *inner = make_title(outer->remote);
        if (inner == NULL)
            return NULL;
        char buf[640];
        snprintf(buf, sizeof(buf), "%s, in a worker (%.*s)", inner, (int)outer->type.len, outer->type.ptr);
        free(inner);
        return strdup(buf);
    }
    bool remote;
    const struct ev_exc *root = first_cause(c, &remote);
    size_t ml = outer->message.len;
    const char *msg = outer->message.ptr ? outer->message.ptr : "";
    const char *nl = ml ? memchr(msg, '\n', ml) : NULL;
    if (nl != NULL)
        ml = (size_t)(nl - msg);
    bool cut = ml > 120;
    if (cut)
        ml = 117;
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%.*s%s%.*s%s", (int)outer->type.len, outer->type.ptr,
                     ml ? ": " : "", (int)ml, msg, cut ? "..." : "");
    if (c->n > 1 && n > 0 && (size_t)n < sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n, " (%s %.*s%s%s)",
                 c->exc[1].relation == EV_REL_CAUSE ? "caused by" : "while handling",
                 (int)root->type.len, root->type.ptr, remote ? " in a worker" : "",
                 c->n > 2 ? ", ..." : "");
    return strdup(buf);
}

static int ne_event(void *st, const struct event *ev)
{
    struct nested *d = st;
    const struct ev_chain *c = &ev->u.exc.chain;
    if (ev->kind != EV_EXCEPTION || c->n == 0 || (long long)c->n < d->cfg.v[P_MIN_CHAIN].i)
        return 0;
    uint64_t fp = fp_chain(HASH_INIT, c);
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "nested_exception", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;

    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "nested_exception";
    f->rule = "builtin.nested_exception";
    const struct ev_exc *outer = &c->exc[c->n - 1];
    const struct ev_exc *root = &c->exc[0];
    bool remote_origin;
    const struct ev_exc *origin = first_cause(c, &remote_origin);
    if (c->n == 1 && only_carries(outer)) {
        origin = first_cause(outer->remote, &remote_origin);
        remote_origin = true;
    }
    if (is_interrupt(outer->type))
        f->severity = d->cfg.v[P_INTERRUPT_SEVERITY].sev;
    else if (ev->level == EV_LVL_WARNING)
        f->severity = d->cfg.v[P_WARNING_SEVERITY].sev;
    else if (ev->level != EV_LVL_UNKNOWN && ev->level < EV_LVL_WARNING)
        f->severity = d->cfg.v[P_INFO_SEVERITY].sev;
    else
        f->severity = d->cfg.v[P_SEVERITY].sev;
    f->title = make_title(c);
    f->trace_id = str_dup_ev(ev->trace_id);
    f->service = str_dup_ev(ev->service);
    f->host = str_dup_ev(ev->host);
    f->pid = ev->pid;

    json_t *e = json_object();
    json_object_set_new(e, "chain", chain_evidence(c));
    json_object_set_new(e, "chain_length", json_integer(c->n));
    json_object_set_new(e, "root_type", ev_json_str(root->type));
    json_object_set_new(e, "outermost_type", ev_json_str(outer->type));
    bool app_o, app_r;
    const struct ev_frame *fo = origin_frame(outer, &app_o);
    const struct ev_frame *fr = origin_frame(origin, &app_r);
    json_object_set_new(e, "exception_module", module_of(fo));
    json_object_set_new(e, "exception_frame", frame_label(fo));
    json_object_set_new(e, "origin_module", module_of(fr));
    json_object_set_new(e, "origin_frame", frame_label(fr));
    if (remote_origin) {
        /* The origin is in a worker's traceback, quoted in a message. */
        json_object_set_new(e, "origin_type", ev_json_str(origin->type));
        json_object_set_new(e, "origin_remote", json_true());
    }
    if (origin->nframes > 0) {
        const struct ev_frame *inner = &origin->frames[origin->nframes - 1];
        enum pyframe_class cls = pyframe_classify(inner->file);
        if (cls != PYFRAME_APP) {
            /* The root was raised inside a library: name it beside the caller. */
            json_object_set_new(e, "origin_library", module_of(inner));
            json_object_set_new(e, "origin_library_kind", json_string(pyframe_class_name(cls)));
        }
    }
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(e, "fingerprint", json_string(fph));
    json_object_set_new(e, "origin", json_string(ev_tb_origin_name(ev->u.exc.origin)));
    if (ev_str_present(ev->u.exc.thread_name))
        json_object_set_new(e, "thread_name", ev_json_str(ev->u.exc.thread_name));
    if (ev_str_present(ev->logger))
        json_object_set_new(e, "logger", ev_json_str(ev->logger));
    if (ev_str_present(ev->message))
        json_object_set_new(e, "log_message", ev_json_str(ev->message));
    if (outer->group != NULL)
        json_object_set_new(e, "group", group_evidence(outer->group));
    f->evidence = e;
    return finding_store_insert(d->store, f, ev) != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

const struct pattern pattern_nested_exception = {
    .name = "nested_exception",
    .description = "an exception with the chain it was raised from or while handling, folded by chain shape",
    .kinds = 1u << EV_EXCEPTION,
    .params = params,
    .create = ne_create,
    .on_event = ne_event,
    .flush = ne_flush,
    .destroy = ne_destroy,
};
