/* event.c -- names, level parsing and deep copy for the event model; see event.h. */
#include "event.h"

#include <string.h>

#include "ev_dump.h"
#include "ev_packages.h"
#include "ev_memory.h"

const char *ev_kind_name(enum ev_kind k)
{
    static const char *const names[EV_KIND_COUNT] = {
        "log", "exception", "tracemalloc", "gc", "counter", "thread_dump", "thread_cpu", "packages",
    };
    return (unsigned)k < EV_KIND_COUNT ? names[k] : "unknown";
}

const char *ev_level_name(enum ev_level l)
{
    static const char *const names[] = {
        NULL, "TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL",
    };
    return (unsigned)l < sizeof(names) / sizeof(names[0]) ? names[l] : NULL;
}

/* Case-insensitive equality with a lowercase literal of the same length. */
static bool lower_eq(const char *p, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((char)(p[i] | 0x20) != lit[i])
            return false;
    return true;
}

enum ev_level ev_level_parse(const char *p, size_t n)
{
    /* Runs once per log line: dispatch on length, then compare. */
    if (p == NULL)
        return EV_LVL_UNKNOWN;
    switch (n) {
    case 3:
        if (lower_eq(p, "err", 3))
            return EV_LVL_ERROR;
        break;
    case 4:
        if (lower_eq(p, "info", 4))
            return EV_LVL_INFO;
        if (lower_eq(p, "warn", 4))
            return EV_LVL_WARNING;
        if (lower_eq(p, "crit", 4))
            return EV_LVL_CRITICAL;
        break;
    case 5:
        if (lower_eq(p, "debug", 5))
            return EV_LVL_DEBUG;
        if (lower_eq(p, "error", 5))
            return EV_LVL_ERROR;
        if (lower_eq(p, "fatal", 5))
            return EV_LVL_CRITICAL;
        if (lower_eq(p, "trace", 5))
            return EV_LVL_TRACE;
        if (lower_eq(p, "alert", 5) || lower_eq(p, "emerg", 5) || lower_eq(p, "panic", 5))
            return EV_LVL_CRITICAL;
        break;
    case 6:
        if (lower_eq(p, "notice", 6))
            return EV_LVL_NOTICE;
        break;
    case 7:
        if (lower_eq(p, "warning", 7))
            return EV_LVL_WARNING;
        if (lower_eq(p, "success", 7))
            return EV_LVL_INFO; /* loguru's, between INFO and WARNING */
        break;
    case 8:
        if (lower_eq(p, "critical", 8))
            return EV_LVL_CRITICAL;
        break;
    case 9:
        if (lower_eq(p, "exception", 9) || lower_eq(p, "emergency", 9))
            return lower_eq(p, "exception", 9) ? EV_LVL_ERROR : EV_LVL_CRITICAL;
        break;
    case 11:
        if (lower_eq(p, "information", 11))
            return EV_LVL_INFO;
        break;
    default:
        break;
    }
    /* OpenTelemetry SeverityText like "INFO2", "ERROR3": strip the digit. */
    if (n >= 4 && n <= 9 && p[n - 1] >= '1' && p[n - 1] <= '4')
        return ev_level_parse(p, n - 1);
    return EV_LVL_UNKNOWN;
}

const char *ev_relation_name(enum ev_relation r)
{
    switch (r) {
    case EV_REL_CONTEXT: return "context";
    case EV_REL_CAUSE: return "cause";
    case EV_REL_ROOT: break;
    }
    return "root";
}

const char *ev_tb_origin_name(enum ev_tb_origin o)
{
    switch (o) {
    case EV_TB_LOGGED: return "logged";
    case EV_TB_THREAD: return "thread";
    case EV_TB_ASYNCIO: return "asyncio";
    case EV_TB_UNRAISABLE: return "unraisable";
    case EV_TB_STRUCTURED: return "structured";
    case EV_TB_PROCESS: return "process";
    case EV_TB_PYTEST: return "pytest";
    case EV_TB_IPYTHON: return "ipython";
    case EV_TB_RICH: return "rich";
    case EV_TB_UNITTEST: return "unittest";
    case EV_TB_PLAIN: break;
    }
    return "traceback";
}

ev_str ev_str_dup(struct arena *a, ev_str s)
{
    if (s.ptr == NULL)
        return s;
    char *p = arena_strndup(a, s.ptr, s.len);
    if (p == NULL)
        return EV_STR_NULL;
    return ev_str_make(p, s.len);
}

static int clone_chain(struct ev_chain *dst, const struct ev_chain *src, struct arena *a);

static int clone_group(struct ev_group **dstp, const struct ev_group *src, struct arena *a)
{
    struct ev_group *g = arena_alloc(a, sizeof(*g));
    if (g == NULL)
        return -1;
    *g = *src;
    g->members = NULL;
    if (src->n) {
        g->members = arena_calloc(a, src->n, sizeof(*g->members));
        if (g->members == NULL)
            return -1;
        for (uint32_t i = 0; i < src->n; i++)
            if (clone_chain(&g->members[i], &src->members[i], a) != 0)
                return -1;
    }
    *dstp = g;
    return 0;
}

#define DUP_OR_FAIL(dst, src)                                \
    do {                                                     \
        (dst) = ev_str_dup(a, (src));                        \
        if ((src).ptr != NULL && (dst).ptr == NULL)          \
            return -1;                                       \
    } while (0)

static int clone_exc(struct ev_exc *d, const struct ev_exc *s, struct arena *a)
{
    *d = *s;
    DUP_OR_FAIL(d->type, s->type);
    DUP_OR_FAIL(d->message, s->message);
    d->frames = NULL;
    if (s->nframes) {
        d->frames = arena_alloc(a, s->nframes * sizeof(*d->frames));
        if (d->frames == NULL)
            return -1;
        for (uint32_t i = 0; i < s->nframes; i++) {
            d->frames[i].line = s->frames[i].line;
            DUP_OR_FAIL(d->frames[i].file, s->frames[i].file);
            DUP_OR_FAIL(d->frames[i].function, s->frames[i].function);
        }
    }
    d->notes = NULL;
    if (s->nnotes) {
        d->notes = arena_alloc(a, s->nnotes * sizeof(*d->notes));
        if (d->notes == NULL)
            return -1;
        for (uint32_t i = 0; i < s->nnotes; i++)
            DUP_OR_FAIL(d->notes[i], s->notes[i]);
    }
    if (s->has_syntax) {
        DUP_OR_FAIL(d->syntax.filename, s->syntax.filename);
        DUP_OR_FAIL(d->syntax.text, s->syntax.text);
    }
    d->group = NULL;
    if (s->group != NULL && clone_group(&d->group, s->group, a) != 0)
        return -1;
    d->remote = NULL;
    if (s->remote != NULL) {
        if ((d->remote = arena_alloc(a, sizeof(*d->remote))) == NULL ||
            clone_chain(d->remote, s->remote, a) != 0)
            return -1;
    }
    return 0;
}

static int clone_chain(struct ev_chain *dst, const struct ev_chain *src, struct arena *a)
{
    dst->n = src->n;
    dst->exc = NULL;
    if (src->n == 0)
        return 0;
    dst->exc = arena_calloc(a, src->n, sizeof(*dst->exc));
    if (dst->exc == NULL)
        return -1;
    for (uint32_t i = 0; i < src->n; i++)
        if (clone_exc(&dst->exc[i], &src->exc[i], a) != 0)
            return -1;
    return 0;
}

/* The top-level strings of an event, copied into one block: copying events is on
 * the hot path of merging and of the parsing thread, so one allocation, not eight. */
static int clone_strings(struct event *dst, const struct event *src, struct arena *a)
{
    const ev_str *from[] = {&src->service, &src->host, &src->logger, &src->thread, &src->message,
                            &src->trace_id, &src->span_id, &src->stream_name};
    ev_str *to[] = {&dst->service, &dst->host, &dst->logger, &dst->thread, &dst->message,
                    &dst->trace_id, &dst->span_id, &dst->stream_name};
    size_t total = 0;
    for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++)
        if (from[i]->ptr != NULL)
            total += (size_t)from[i]->len + 1;
    if (total == 0)
        return 0;
    char *p = arena_alloc(a, total);
    if (p == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
        if (from[i]->ptr == NULL)
            continue;
        memcpy(p, from[i]->ptr, from[i]->len);
        p[from[i]->len] = '\0';
        *to[i] = ev_str_make(p, from[i]->len);
        p += from[i]->len + 1;
    }
    return 0;
}

int ev_clone_with_stream(struct event *dst, const struct event *src, struct arena *a, const char *stream)
{
    *dst = *src;
    if (clone_strings(dst, src, a) != 0)
        return -1;
    if (stream != NULL) {
        dst->src.stream = stream;
    } else if (src->src.stream != NULL) {
        dst->src.stream = arena_strndup(a, src->src.stream, strlen(src->src.stream));
        if (dst->src.stream == NULL)
            return -1;
    }
    if (src->kind == EV_EXCEPTION) {
        DUP_OR_FAIL(dst->u.exc.thread_name, src->u.exc.thread_name);
        if (clone_chain(&dst->u.exc.chain, &src->u.exc.chain, a) != 0)
            return -1;
    }
    /* Memory snapshots and counter samples (issue #3): payloads in ev_memory.h. */
    if (ev_snapshot_of(src) != NULL) {
        if ((dst->u.snap = ev_snapshot_clone(src->u.snap, a)) == NULL)
            return -1;
    } else if (ev_counters_of(src) != NULL) {
        if ((dst->u.counters = ev_counters_clone(src->u.counters, a)) == NULL)
            return -1;
    }
    /* Package versions (issue #7): the payload is defined in ev_packages.h. */
    if (src->kind == EV_PACKAGES && src->u.packages != NULL) {
        if ((dst->u.packages = ev_packages_clone(src->u.packages, a)) == NULL)
            return -1;
    }
    /* Thread dumps and CPU paratext (issue #8): the payload is defined in ev_dump.h. */
    if ((src->kind == EV_THREAD_DUMP || src->kind == EV_THREAD_CPU) && src->u.dump != NULL) {
        if ((dst->u.dump = ev_dump_clone(src->u.dump, a)) == NULL)
            return -1;
    }
    return 0;
}

int ev_clone(struct event *dst, const struct event *src, struct arena *a)
{
    return ev_clone_with_stream(dst, src, a, NULL);
}
