/* event.h -- the normalized event: what every parser emits and every pattern reads.
 *
 * An event is a view, not an owner: its strings are slices (pointer + length) that
 * point into the parser's line buffer or into an arena the parser resets after the
 * sink returns. A consumer that keeps anything past the sink call copies it
 * (ev_clone() deep-copies a whole event into an arena of the caller's).
 *
 * Kinds beyond log and exception (memory snapshots, counters, thread dumps) have a
 * place here so later parsers need no change to the model; their payloads are
 * declared when their parsers land.
 */
#ifndef PYCORR_EVENT_H
#define PYCORR_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* A byte slice; not NUL-terminated. len 0 with ptr NULL means "absent". */
typedef struct ev_str {
    const char *ptr;
    uint32_t len;
} ev_str;

#define EV_STR_NULL ((ev_str){NULL, 0})
#define EV_STR_LIT(s) ((ev_str){(s), (uint32_t)(sizeof(s) - 1)})

static inline ev_str ev_str_make(const char *p, size_t n)
{
    ev_str s = {p, (uint32_t)n};
    return s;
}
static inline bool ev_str_present(ev_str s) { return s.ptr != NULL; }

/* Equality with a C string. Inline so that the length of a literal folds to a
 * constant and most comparisons end at the length check: callers use it in
 * per-field dispatch on the hot path. */
static inline __attribute__((always_inline)) bool ev_str_eq(ev_str a, const char *lit)
{
    size_t n = __builtin_strlen(lit);
    return a.ptr != NULL && a.len == n && __builtin_memcmp(a.ptr, lit, n) == 0;
}

enum ev_kind {
    EV_LOG = 0,      /* a log record without an exception */
    EV_EXCEPTION,    /* a traceback, alone or attached to a log record */
    EV_TRACEMALLOC,  /* a tracemalloc snapshot or statistics listing (u.snap) */
    EV_GC,           /* gc statistics or per-type object counts (u.snap / u.counters) */
    EV_COUNTER,      /* a sample of process or training counters (u.counters) */
    EV_THREAD_DUMP,  /* the threads of a process at one moment (u.dump) */
    EV_THREAD_CPU,   /* per-thread CPU paratext: ps -T, top -H (u.dump) */
    EV_PACKAGES,     /* installed package versions: pip freeze and the like */
    EV_KIND_COUNT
};
const char *ev_kind_name(enum ev_kind k);

/* Ordered by severity so "at or above WARNING" is a comparison. */
enum ev_level {
    EV_LVL_UNKNOWN = 0,
    EV_LVL_TRACE,
    EV_LVL_DEBUG,
    EV_LVL_INFO,
    EV_LVL_NOTICE,
    EV_LVL_WARNING,
    EV_LVL_ERROR,
    EV_LVL_CRITICAL,
};
const char *ev_level_name(enum ev_level l);
/* Parse a level name or OTel/syslog-ish number text ("warn", "ERROR", "fatal", "err").
 * Returns EV_LVL_UNKNOWN for anything it does not know; never fails. */
enum ev_level ev_level_parse(const char *p, size_t n);

enum ev_relation { EV_REL_ROOT = 0, EV_REL_CONTEXT, EV_REL_CAUSE };
const char *ev_relation_name(enum ev_relation r);

struct ev_frame {
    ev_str file;
    ev_str function; /* absent for a SyntaxError location line */
    uint32_t line;
};

struct ev_group;
struct ev_snapshot;
struct ev_counters;
struct ev_dump;
struct ev_packages;

/* SyntaxError details: the location line after the frames is not a frame. */
struct ev_syntax {
    ev_str filename;
    ev_str text;     /* the offending source line, stripped */
    uint32_t lineno;
    int32_t offset;  /* 1-based column of the caret, 0 when absent */
};

/* One exception of a chain. */
struct ev_exc {
    ev_str type;             /* as printed: "mypkg.errors.DataError" */
    ev_str message;          /* may contain newlines; empty when none was printed */
    enum ev_relation relation;
    struct ev_frame *frames; /* outermost call first, as printed */
    uint32_t nframes;        /* printed frame lines */
    uint32_t frames_total;   /* printed + "[Previous line repeated N more times]" */
    uint32_t repeat_markers; /* how many such markers were seen */
    ev_str *notes;
    uint32_t nnotes;
    bool has_syntax;
    struct ev_syntax syntax;
    struct ev_group *group;  /* non-NULL for an exception group */
    /* A worker's traceback quoted in the message ('"""' lines around it), as
     * multiprocessing's RemoteTraceback, concurrent.futures' _RemoteTraceback and
     * billiard's (Celery's) ExceptionWithTraceback carry it: parsed, or NULL. The
     * message keeps the text as printed. */
    struct ev_chain *remote;
};

/* Root (printed first) to outermost (printed last). */
struct ev_chain {
    struct ev_exc *exc;
    uint32_t n;
};

struct ev_group {
    struct ev_chain *members; /* one chain per printed member */
    uint32_t n;
    uint32_t more_exceptions; /* "... (and N more exceptions)" */
    bool depth_truncated;     /* "... (max_group_depth is N)" */
};

/* What introduced the traceback. */
enum ev_tb_origin {
    EV_TB_PLAIN = 0,   /* a bare "Traceback (most recent call last):" */
    EV_TB_LOGGED,      /* attached to a log record (logger.exception) */
    EV_TB_THREAD,      /* "Exception in thread NAME:" */
    EV_TB_ASYNCIO,     /* "Task exception was never retrieved" */
    EV_TB_UNRAISABLE,  /* "Exception ignored in: ..." */
    EV_TB_STRUCTURED,  /* rebuilt from a structured record (dict tracebacks, OTel attrs) */
    EV_TB_PROCESS,     /* "Process NAME:" (multiprocessing: a child that died) */
    EV_TB_PYTEST,      /* a pytest failure report ("____ test_x ____"), not CPython's layout */
    EV_TB_IPYTHON,     /* IPython's layout (notebooks, papermill) */
    EV_TB_RICH,        /* drawn in a box by rich (Typer's pretty exceptions, RichHandler) */
    EV_TB_UNITTEST,    /* a unittest failure ("ERROR: test_x (mod.T.test_x)" over a rule) */
};
const char *ev_tb_origin_name(enum ev_tb_origin o);

struct ev_exception {
    struct ev_chain chain;
    enum ev_tb_origin origin;
    ev_str thread_name;  /* for EV_TB_THREAD */
    uint64_t last_line;  /* last line of the block in its stream (0 when unknown) */
    bool interleaved;    /* the block was recovered around foreign lines */
};

struct ev_source {
    const char *stream;  /* display name: "app.log", "a.tar.zst!dir/x.log", "-" */
    uint64_t line;       /* 1-based first line of the record; 0 when not line-based */
};

struct event {
    enum ev_kind kind;
    enum ev_level level;
    bool has_ts;
    int64_t ts_ns;       /* UTC nanoseconds since the epoch */
    int64_t pid;         /* -1 when unknown */
    ev_str service;
    ev_str host;
    ev_str logger;
    ev_str thread;
    ev_str message;
    ev_str trace_id;     /* normalized: lowercase hex (see traceid.h) */
    ev_str span_id;
    ev_str stream_name;  /* stdout/stderr when the prefix said so */
    struct ev_source src;
    /* Payloads of the other kinds are declared by their modules (ev_memory.h,
     * ev_dump.h); they are pointers so the common event stays small. */
    union {
        struct ev_exception exc;             /* EV_EXCEPTION */
        const struct ev_snapshot *snap;      /* EV_TRACEMALLOC, EV_GC type counts */
        const struct ev_counters *counters;  /* EV_COUNTER, EV_GC statistics */
        const struct ev_dump *dump;          /* EV_THREAD_DUMP, EV_THREAD_CPU */
        const struct ev_packages *packages;  /* EV_PACKAGES */
    } u;
};

/* Reset *ev to an empty event of kind k (pid -1, everything absent). Inline: every
 * line of a text log builds an event, and a call to memset for a struct this size
 * cost more than the stores themselves. */
static inline void ev_init(struct event *ev, enum ev_kind k)
{
#ifdef __SSE2__
    /* Sixteen-byte stores: compilers turn a zeroing of this size into "rep stos",
     * whose start-up costs more than the whole store sequence. The empty asm hides
     * that the value is zero, so the stores stay stores. */
    char *p = (char *)ev;
    __m128i z = _mm_setzero_si128();
    __asm__("" : "+x"(z));
    size_t i = 0;
    for (; i + 16 <= sizeof(*ev); i += 16)
        _mm_storeu_si128((__m128i *)(void *)(p + i), z);
    for (; i < sizeof(*ev); i++)
        p[i] = 0;
    ev->kind = k;
    ev->pid = -1;
#else
    *ev = (struct event){.kind = k, .pid = -1};
#endif
}

/* A plain log line in parts, as the text parser finds it: all a plain EV_LOG
 * event carries, without building the event. The parser hands it on as it is; the
 * pipeline's handoff packs it with one copy of the line; ev_from_line makes the
 * event wherever one is needed, so a line becomes the same event every way. */
struct ev_line {
    const char *p;        /* the line; every slice below is inside p[0..len) */
    uint32_t len;
    uint32_t logger_off, logger_len; /* len 0: absent */
    uint32_t thread_off, thread_len;
    uint32_t host_off, host_len;
    uint32_t msg_off;     /* the message runs to the end of the line */
    bool has_ts;
    uint8_t level;        /* enum ev_level */
    int64_t ts_ns;
    int64_t pid;          /* -1 when unknown */
    const char *stream;   /* src.stream */
    uint64_t lineno;
    const char *stream_name; /* NULL, or a name that outlives the run ("stderr") */
    uint32_t stream_name_len;
};

/* Every field a line sets, set on ev: an EV_LOG event (ev_init'ed once; the fields
 * a line never sets must still be as ev_init left them). */
static inline void ev_from_line(struct event *ev, const struct ev_line *l)
{
    ev->level = (enum ev_level)l->level;
    ev->has_ts = l->has_ts;
    ev->ts_ns = l->ts_ns;
    ev->pid = l->pid;
    ev->logger = l->logger_len ? ev_str_make(l->p + l->logger_off, l->logger_len) : EV_STR_NULL;
    ev->thread = l->thread_len ? ev_str_make(l->p + l->thread_off, l->thread_len) : EV_STR_NULL;
    ev->host = l->host_len ? ev_str_make(l->p + l->host_off, l->host_len) : EV_STR_NULL;
    ev->message = ev_str_make(l->p + l->msg_off, l->len - l->msg_off);
    ev->stream_name = l->stream_name ? ev_str_make(l->stream_name, l->stream_name_len) : EV_STR_NULL;
    ev->src.stream = l->stream;
    ev->src.line = l->lineno;
}

/* Deep-copy src into dst; every slice of dst points into arena a.
 * Returns 0, or -1 when the arena cannot grow (dst is then unusable). */
int ev_clone(struct event *dst, const struct event *src, struct arena *a);

/* The same, but dst->src.stream is set to stream (a copy the caller keeps alive)
 * instead of a fresh copy of the name: copies of many events of one stream share
 * one name. NULL copies as ev_clone does. */
int ev_clone_with_stream(struct event *dst, const struct event *src, struct arena *a, const char *stream);

/* Copy a slice into the arena (NUL-terminated there). Absent stays absent.
 * On allocation failure the result is absent. */
ev_str ev_str_dup(struct arena *a, ev_str s);

/* The sink every parser emits to. The event is valid only during the call.
 * A non-zero return asks the parser to stop (the caller will close it). */
typedef int (*ev_sink_fn)(void *ctx, const struct event *ev);

#endif
