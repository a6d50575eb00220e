/* jsonlog.c -- JSON-lines structured logs: python-json-logger, structlog (string and
 * dict tracebacks), ECS, GCP and Datadog field conventions, OTLP/JSON log exports.
 *
 * This is the hot path of a structured-log run, so a line is never turned into a
 * DOM: jsontok.h tokenizes it into a reused token array, one pass over
 * the top-level keys (and the few nested objects the conventions use: log.*, trace.*,
 * error.*, ...) remembers, per role, the token of the best-ranked field, and only
 * those tokens are decoded. Strings without escapes stay slices of the line; escaped
 * ones are decoded into a per-record arena that is reset after the event is emitted.
 *
 * Field detection ranks candidate names per role ("message" beats "msg" beats
 * structlog's "event"); --map ROLE=FIELD replaces detection for that role with one
 * named field (a key, or a dotted path into nested objects).
 */
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/evtime.h"
#include "../correlate/pyframe.h"
#include "../correlate/traceid.h"
#include "jsonmem.h"
#include "jsontok.h"
#include "linesplit.h"
#include "tb.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* What a field can be. The first ROLE_COUNT slots are the --map roles, in order. */
enum slot {
    S_TS = ROLE_TS,
    S_LEVEL = ROLE_LEVEL,
    S_MESSAGE = ROLE_MESSAGE,
    S_LOGGER = ROLE_LOGGER,
    S_SERVICE = ROLE_SERVICE,
    S_HOST = ROLE_HOST,
    S_PID = ROLE_PID,
    S_THREAD = ROLE_THREAD,
    S_TRACE = ROLE_TRACE_ID,
    S_SPAN = ROLE_SPAN_ID,
    S_EXC = ROLE_EXCEPTION,
    S_EXC_TYPE = ROLE_EXC_TYPE,
    S_EXC_MSG = ROLE_EXC_MESSAGE,
    S_TRACEPARENT = ROLE_COUNT, /* W3C header: a trace id and a span id in one */
    S_OTLP,                     /* resourceLogs: a whole OTLP export batch */
    S_RECORD_TEXT,              /* loguru's formatted record: the traceback when one is named */
    S_COUNT,
    S_NONE = -1
};

_Static_assert(ROLE_COUNT == 13, "slots mirror enum field_role");

/* How a key name is understood: the slot it fills, its rank there (lower wins), and
 * whether an object under it holds more known fields (ECS "log": {"level": ...}). */
struct keyinfo {
    signed char slot;
    unsigned char prio;
    unsigned char container;
};
#define KI(s, p, c) ((struct keyinfo){(signed char)(s), (unsigned char)(p), (unsigned char)(c)})

/* Nested objects are followed this deep at most (process.thread.name is 3). */
#define WALK_MAX_DEPTH 8
/* Longest dotted path compared against names; longer ones match nothing. */
#define PATH_MAX_LEN 256
/* Notes kept per exception of a dict traceback. */
#define MAX_NOTES 64
/* Slots of the known-key table (key_rows): a power of two, over twice the rows. */
#define KEY_SLOTS 256u

/* Per line: for each slot, the token of the best field seen so far. */
struct found {
    int tok[S_COUNT];
    unsigned char prio[S_COUNT];
    bool memkey; /* a top-level key jsonmem_record looks for */
};

struct jsonlog {
    struct parser_env env;
    struct linesplit ls;
    struct jt_parser jt;
    struct arena arena;       /* one record's decoded strings and chains */
    struct arena batch_arena; /* what all records of an OTLP batch share */
    const char *js;           /* the line being parsed */
    int ntok;
    bool has_bs;              /* the line has a backslash: some string may be escaped */
    int stopped;              /* the sink's stop request, or -1 after a fatal error */
    struct event ev;
    char trace_buf[TRACEID_BUFSZ];
    char span_buf[TRACEID_BUFSZ];
    /* --map overrides, copied at open; the strings are the caller's (argv) */
    const char *map_field[ROLE_COUNT];
    size_t map_len[ROLE_COUNT];
    int nmapped;
    unsigned char key_index[KEY_SLOTS]; /* row number + 1 of key_rows, or 0 */
};

/* The names pycorr knows, one (name, slot, rank, container) row each. A nested field is
 * looked up by its dotted path, so "log.level" covers both the ECS literal key and
 * {"log": {"level": ...}}. To add a name, add a row (they are grouped by length). */
struct keyrow {
    const char *name;
    unsigned char len;
    struct keyinfo ki;
};
#define KR(name, s, p, c) {name, sizeof(name) - 1, KI(s, p, c)}
static const struct keyrow key_rows[] = {
    KR("dd", S_NONE, 0, 1),
    KR("ts", S_TS, 1, 0),
    KR("log", S_NONE, 0, 1),
    KR("msg", S_MESSAGE, 1, 0),
    KR("pid", S_PID, 0, 0),
    KR("body", S_MESSAGE, 3, 0),
    KR("date", S_TS, 3, 0),
    KR("host", S_HOST, 0, 1),
    KR("name", S_LOGGER, 1, 0),
    KR("span", S_NONE, 0, 1),
    KR("time", S_TS, 1, 0),
    KR("error", S_NONE, 0, 1),
    KR("event", S_MESSAGE, 2, 0),
    KR("level", S_LEVEL, 0, 0),
    KR("trace", S_NONE, 0, 1),
    KR("logger", S_LOGGER, 0, 0),
    KR("spanId", S_SPAN, 0, 0),
    KR("spanid", S_SPAN, 1, 0),
    KR("status", S_LEVEL, 9, 0),
    KR("thread", S_NONE, 0, 1),
    KR("asctime", S_TS, 2, 0),
    KR("created", S_TS, 4, 0),
    KR("message", S_MESSAGE, 0, 0),
    KR("process", S_PID, 1, 1),
    KR("service", S_SERVICE, 0, 1),
    KR("span.id", S_SPAN, 0, 0),
    KR("span_id", S_SPAN, 0, 0),
    KR("traceId", S_TRACE, 0, 0),
    KR("traceid", S_TRACE, 1, 0),
    KR("datetime", S_TS, 2, 0),
    KR("exc_info", S_EXC, 0, 0),
    KR("exc_text", S_EXC, 1, 0),
    KR("exc_type", S_EXC_TYPE, 0, 0),
    KR("hostname", S_HOST, 0, 0),
    KR("loglevel", S_LEVEL, 1, 0),
    KR("severity", S_LEVEL, 1, 0),
    KR("trace.id", S_TRACE, 0, 0),
    KR("trace_id", S_TRACE, 0, 0),
    KR("exc_value", S_EXC_MSG, 0, 0),
    KR("exception", S_EXC, 0, 1),
    KR("host.name", S_HOST, 0, 0),
    KR("levelname", S_LEVEL, 0, 0),
    KR("log.level", S_LEVEL, 0, 0),
    KR("timestamp", S_TS, 0, 0),
    KR("traceback", S_EXC, 1, 0),
    KR("@timestamp", S_TS, 0, 0),
    KR("dd.service", S_SERVICE, 2, 0),
    KR("dd.span_id", S_SPAN, 1, 0),
    KR("error.kind", S_EXC_TYPE, 1, 0),
    KR("error.type", S_EXC_TYPE, 0, 0),
    KR("level_name", S_LEVEL, 1, 0),
    KR("log.logger", S_LOGGER, 0, 0),
    KR("loggerName", S_LOGGER, 1, 0),
    KR("otelSpanID", S_SPAN, 1, 0),
    KR("stacktrace", S_EXC, 1, 0),
    KR("threadName", S_THREAD, 0, 0),
    KR("dd.trace_id", S_TRACE, 1, 0),
    KR("error.stack", S_EXC, 1, 0),
    KR("exc_message", S_EXC_MSG, 1, 0),
    KR("logger_name", S_LOGGER, 0, 0),
    KR("otelTraceID", S_TRACE, 1, 0),
    KR("process.pid", S_PID, 0, 0),
    KR("serviceName", S_SERVICE, 1, 0),
    KR("stack_trace", S_EXC, 0, 0),
    KR("textPayload", S_MESSAGE, 3, 0),
    KR("thread.name", S_THREAD, 1, 0),
    KR("thread_name", S_THREAD, 0, 0),
    KR("traceparent", S_TRACEPARENT, 0, 0),
    KR("log.original", S_MESSAGE, 8, 0),
    KR("resourceLogs", S_OTLP, 0, 0),
    KR("service.name", S_SERVICE, 0, 0),
    KR("service_name", S_SERVICE, 1, 0),
    KR("severityText", S_LEVEL, 0, 0),
    KR("timeUnixNano", S_TS, 0, 0),
    KR("error.message", S_EXC_MSG, 0, 0),
    KR("host.hostname", S_HOST, 1, 0),
    KR("resource_logs", S_OTLP, 0, 0),
    KR("exception.type", S_EXC_TYPE, 0, 0),
    KR("process.thread", S_NONE, 0, 1),
    KR("error.stack_trace", S_EXC, 0, 0),
    KR("exception.message", S_EXC_MSG, 0, 0),
    KR("process.thread.name", S_THREAD, 0, 0),
    KR("exception.stacktrace", S_EXC, 0, 0),
    KR("observedTimeUnixNano", S_TS, 5, 0),
    KR("logging.googleapis.com/trace", S_TRACE, 1, 0),
    /* loguru's serialize=True: {"text": the formatted line and traceback, "record":
     * {"level": {"name"}, "message", "time": {"repr"}, "name", "extra": {bound
     * fields}, "process": {"id"}, "thread": {"name"}, "exception": {"type", "value"}}} */
    KR("text", S_RECORD_TEXT, 0, 0),
    KR("record", S_NONE, 0, 1),
    KR("record.name", S_LOGGER, 1, 0),
    KR("record.time", S_NONE, 0, 1),
    KR("record.extra", S_NONE, 0, 1),
    KR("record.level", S_NONE, 0, 1),
    KR("record.thread", S_NONE, 0, 1),
    KR("record.message", S_MESSAGE, 1, 0),
    KR("record.process", S_NONE, 0, 1),
    KR("record.exception", S_NONE, 0, 1),
    KR("record.level.name", S_LEVEL, 1, 0),
    KR("record.process.id", S_PID, 1, 0),
    KR("record.thread.name", S_THREAD, 1, 0),
    KR("record.extra.service", S_SERVICE, 1, 0),
    KR("record.time.repr", S_TS, 1, 0), /* exact; the float timestamp is not */
    KR("record.time.timestamp", S_TS, 2, 0),
    KR("record.extra.trace_id", S_TRACE, 1, 0),
    KR("record.extra.span_id", S_SPAN, 1, 0),
    KR("record.exception.type", S_EXC_TYPE, 1, 0),
    KR("record.exception.value", S_EXC_MSG, 1, 0),
    KR("logging.googleapis.com/spanId", S_SPAN, 1, 0),
};
#undef KR

/* Every key of every line is looked up, so the rows sit in an open-addressing table
 * (built per parser at open) hashed on the length and three of the bytes: a key costs
 * a multiply and, as a rule, one length check and one compare of a few words -- a
 * name pycorr does not know usually ends at an empty slot without any compare. */
#define KEY_MAX_LEN 255u

_Static_assert(sizeof(key_rows) / sizeof(key_rows[0]) < KEY_SLOTS / 2, "key table too full");
_Static_assert(sizeof(key_rows) / sizeof(key_rows[0]) < 255, "row numbers are bytes");

static unsigned key_hash(const char *k, size_t n)
{
    uint32_t x = (uint32_t)(unsigned char)k[0] | (uint32_t)(unsigned char)k[n - 1] << 8 |
                 (uint32_t)(unsigned char)k[n / 2] << 16 | (uint32_t)n << 24;
    return (x * UINT32_C(0x9E3779B1)) >> 24;
}

/* a[0..n) == b[0..n), a word at a time (the library call costs more than the compare) */
static inline bool bytes_equal(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x, y, x2, y2;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&x2, a + n - 4, 4);
        memcpy(&y2, b + n - 4, 4);
        return x == y && x2 == y2;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static void key_index_build(unsigned char *index)
{
    memset(index, 0, KEY_SLOTS);
    for (size_t r = 0; r < sizeof(key_rows) / sizeof(key_rows[0]); r++) {
        unsigned h = key_hash(key_rows[r].name, key_rows[r].len);
        while (index[h] != 0)
            h = (h + 1) & (KEY_SLOTS - 1);
        index[h] = (unsigned char)(r + 1);
    }
}

/* The row of the name k[0..n), or NULL. Inlined into the walk: it runs per key. */
static inline const struct keyrow *key_lookup(const unsigned char *index, const char *k, size_t n)
{
    if (n == 0 || n > KEY_MAX_LEN)
        return NULL;
    for (unsigned h = key_hash(k, n);; h = (h + 1) & (KEY_SLOTS - 1)) {
        unsigned r = index[h];
        if (r == 0)
            return NULL;
        const struct keyrow *row = &key_rows[r - 1];
        if (row->len == n && bytes_equal(k, row->name, n))
            return row;
    }
}

/* ---- small helpers ------------------------------------------------------------ */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

__attribute__((format(printf, 3, 4)))
static void diagf(struct jsonlog *st, uint64_t line, const char *fmt, ...)
{
    if (st->env.diag == NULL)
        return;
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    st->env.diag(st->env.diag_ctx, st->env.stream, line, buf);
}

/* Case-insensitive compare against a lowercase ASCII literal of the same length. */
static bool eq_lower(const char *p, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((char)(p[i] | 0x20) != lit[i])
            return false;
    return true;
}

/* The spellings almost every log uses are checked inline; the rest go to the
 * general table. */
static enum ev_level level_of(const char *p, size_t n)
{
    switch (n) {
    case 4:
        if (eq_lower(p, "info", 4))
            return EV_LVL_INFO;
        if (eq_lower(p, "warn", 4))
            return EV_LVL_WARNING;
        break;
    case 5:
        if (eq_lower(p, "error", 5))
            return EV_LVL_ERROR;
        if (eq_lower(p, "debug", 5))
            return EV_LVL_DEBUG;
        break;
    case 7:
        if (eq_lower(p, "warning", 7))
            return EV_LVL_WARNING;
        break;
    case 8:
        if (eq_lower(p, "critical", 8))
            return EV_LVL_CRITICAL;
        break;
    default:
        break;
    }
    return ev_level_parse(p, n);
}

/* OpenTelemetry SeverityNumber ranges. */
static enum ev_level level_of_severity_number(int64_t v)
{
    if (v >= 1 && v <= 4)
        return EV_LVL_TRACE;
    if (v >= 5 && v <= 8)
        return EV_LVL_DEBUG;
    if (v >= 9 && v <= 12)
        return EV_LVL_INFO;
    if (v >= 13 && v <= 16)
        return EV_LVL_WARNING;
    if (v >= 17 && v <= 20)
        return EV_LVL_ERROR;
    if (v >= 21 && v <= 24)
        return EV_LVL_CRITICAL;
    return EV_LVL_UNKNOWN;
}

static bool is_numeric_primitive(const char *js, const jt_tok *t)
{
    char c = js[t->start];
    return t->type == JSMN_PRIMITIVE && (c == '-' || (c >= '0' && c <= '9'));
}

/* Whether a value of this JSON type can fill the slot; a field of the right name but
 * the wrong type (exc_info: true, host: {...}) is not a candidate. */
static inline bool slot_accepts(int slot, const char *js, const jt_tok *v)
{
    switch (slot) {
    case S_TS:
        /* GCP also writes {"seconds": S, "nanos": N} */
        return v->type == JSMN_STRING || v->type == JSMN_OBJECT || is_numeric_primitive(js, v);
    case S_PID:
    case S_TRACE:
    case S_SPAN:
        return v->type == JSMN_STRING || is_numeric_primitive(js, v);
    case S_EXC:
        return v->type == JSMN_STRING || v->type == JSMN_ARRAY;
    case S_OTLP:
        return v->type == JSMN_ARRAY;
    default:
        return v->type == JSMN_STRING;
    }
}

static void consider(struct found *f, int slot, unsigned prio, int tok)
{
    if (f->tok[slot] < 0 || prio < f->prio[slot]) {
        f->tok[slot] = tok;
        f->prio[slot] = (unsigned char)prio;
    }
}

/* ---- field detection ---------------------------------------------------------- */

/* Does a mapped field name this path, or lie below it? */
static void map_match(const struct jsonlog *st, struct found *f, const char *name, size_t n, int v,
                      bool *descend)
{
    const char *js = st->js;
    const jt_tok *vt = &st->jt.tok[v];
    for (int r = 0; r < ROLE_COUNT; r++) {
        const char *m = st->map_field[r];
        if (m == NULL)
            continue;
        size_t ml = st->map_len[r];
        if (ml == n && memcmp(m, name, n) == 0) {
            if (slot_accepts(r, js, vt))
                consider(f, r, 0, v);
        } else if (ml > n && m[n] == '.' && memcmp(m, name, n) == 0) {
            *descend = true;
        }
    }
}

/* Walk the key/value pairs of object obj. path is the dotted name of obj ("" at the
 * top), so nested fields are named like literal dotted keys ("log.level" either way). */
static void walk_object(struct jsonlog *st, struct found *f, int obj, const char *path, size_t plen,
                        int depth)
{
    const jt_tok *t = st->jt.tok;
    const char *js = st->js;
    int n = st->ntok;
    int end = t[obj].end;
    int j = obj + 1;
    while (j < n && t[j].start < end) {
        /* jt_parse hands over well-formed members only: a key string, then its value */
        int k = j, v = j + 1;
        if (v >= n)
            break;
        j = t[v].type == JSMN_STRING || t[v].type == JSMN_PRIMITIVE ? v + 1 : jt_skip(t, n, v);

        const char *name = js + t[k].start;
        size_t nn = (size_t)(t[k].end - t[k].start);
        char buf[PATH_MAX_LEN];
        if (plen > 0) {
            if (plen + 1 + nn > sizeof(buf))
                continue;
            memcpy(buf, path, plen);
            buf[plen] = '.';
            memcpy(buf + plen + 1, name, nn);
            name = buf;
            nn += plen + 1;
        }
        const struct keyrow *row = key_lookup(st->key_index, name, nn);
        if (row == NULL && st->has_bs && nn < sizeof(buf) &&
            memchr(js + t[k].start, '\\', (size_t)(t[k].end - t[k].start)) != NULL) {
            /* An escaped key ("log\u002elevel") is rare; decode it and look again. */
            char dec[PATH_MAX_LEN];
            size_t dn = 0;
            if (plen > 0) {
                memcpy(dec, path, plen);
                dec[plen] = '.';
                dn = plen + 1;
            }
            dn += jt_unescape(js + t[k].start, (size_t)(t[k].end - t[k].start), dec + dn);
            memcpy(buf, dec, dn);
            name = buf;
            nn = dn;
            row = key_lookup(st->key_index, name, nn);
        }
        /* No log field is one of jsonmem's keys: only unknown top-level keys can
         * make this a memory, gc, counter or training record. */
        if (row == NULL && plen == 0 && !f->memkey)
            f->memkey = jsonmem_wants_key(js + t[k].start, (size_t)(t[k].end - t[k].start));
        struct keyinfo ki = row != NULL ? row->ki : KI(S_NONE, 0, 0);
        if (ki.slot != S_NONE && (ki.slot >= ROLE_COUNT || st->map_field[ki.slot] == NULL) &&
            slot_accepts(ki.slot, js, &t[v]))
            consider(f, ki.slot, ki.prio, v);
        bool descend = ki.container;
        if (st->nmapped > 0)
            map_match(st, f, name, nn, v, &descend);
        if (descend && t[v].type == JSMN_OBJECT && depth < WALK_MAX_DEPTH)
            walk_object(st, f, v, name, nn, depth + 1);
    }
}

/* The value token of key in object obj, or -1. */
static int obj_get(const struct jsonlog *st, int obj, const char *key)
{
    const jt_tok *t = st->jt.tok;
    int n = st->ntok, end = t[obj].end;
    if (t[obj].type != JSMN_OBJECT)
        return -1;
    int j = obj + 1;
    while (j < n && t[j].start < end) {
        int v = j + 1;
        if (t[j].type != JSMN_STRING || v >= n || t[v].start >= end)
            return -1;
        if (jt_eq(st->js, &t[j], key))
            return v;
        j = jt_skip(t, n, v);
    }
    return -1;
}

/* Iterate the elements of array arr: for (int e = arr_first(..); e >= 0; e = arr_next(..)) */
static int arr_first(const struct jsonlog *st, int arr)
{
    const jt_tok *t = st->jt.tok;
    if (arr < 0 || t[arr].type != JSMN_ARRAY || arr + 1 >= st->ntok || t[arr + 1].start >= t[arr].end)
        return -1;
    return arr + 1;
}

static int arr_next(const struct jsonlog *st, int arr, int e)
{
    const jt_tok *t = st->jt.tok;
    int j = jt_skip(t, st->ntok, e);
    return j < st->ntok && t[j].start < t[arr].end ? j : -1;
}

static uint32_t arr_count(const struct jsonlog *st, int arr, jsmntype_t type)
{
    uint32_t c = 0;
    for (int e = arr_first(st, arr); e >= 0; e = arr_next(st, arr, e))
        if (st->jt.tok[e].type == type)
            c++;
    return c;
}

/* ---- exceptions ----------------------------------------------------------------- */

static ev_str tok_str(struct jsonlog *st, int i, struct arena *a)
{
    if (i < 0)
        return EV_STR_NULL;
    /* Most lines hold no backslash at all; then no string needs decoding and each
     * is its own slice, without a scan per string. */
    if (!st->has_bs)
        return jt_raw(st->js, &st->jt.tok[i]);
    return jt_str(st->js, &st->jt.tok[i], a);
}

/* structlog writes the bare class name; CPython prints non-builtin classes with their
 * module, and the module is best known from the file of the innermost frame. */
static ev_str qualify_type(struct arena *a, ev_str type, ev_str innermost_file)
{
    if (type.ptr == NULL || type.len == 0 || innermost_file.ptr == NULL ||
        memchr(type.ptr, '.', type.len) != NULL || tb_is_builtin_exception(type.ptr, type.len))
        return type;
    char mod[256];
    size_t ml = pyframe_module(innermost_file, mod, sizeof(mod));
    if (ml == 0 || ml >= sizeof(mod) || mod[0] == '<')
        return type;
    char *q = arena_alloc(a, ml + 1 + type.len + 1);
    if (q == NULL)
        return EV_STR_NULL;
    memcpy(q, mod, ml);
    q[ml] = '.';
    memcpy(q + ml + 1, type.ptr, type.len);
    q[ml + 1 + type.len] = '\0';
    return ev_str_make(q, ml + 1 + type.len);
}

static int dict_chain(struct jsonlog *st, int arr, struct ev_chain *out, uint32_t gdepth);

/* structlog pads long stacks with {"filename": "", "lineno": -1, "name": "Skipped
 * frames: N"}: not a frame, but N frames that were there. */
static bool skipped_marker(ev_str name, int64_t lineno, uint32_t *skipped)
{
    static const char pfx[] = "Skipped frames: ";
    if (lineno != -1 || name.ptr == NULL || name.len < sizeof(pfx) - 1 ||
        memcmp(name.ptr, pfx, sizeof(pfx) - 1) != 0)
        return false;
    uint32_t v = 0;
    for (size_t i = sizeof(pfx) - 1; i < name.len && name.ptr[i] >= '0' && name.ptr[i] <= '9'; i++)
        v = v < 100000000u ? v * 10 + (uint32_t)(name.ptr[i] - '0') : v;
    *skipped = v;
    return true;
}

static int dict_frames(struct jsonlog *st, int arr, struct ev_exc *ex, ev_str *innermost)
{
    struct arena *a = &st->arena;
    uint32_t count = arr_count(st, arr, JSMN_OBJECT);
    uint32_t keep = count < st->env.limits->max_frames ? count : st->env.limits->max_frames;
    if (keep > 0) {
        ex->frames = arena_calloc(a, keep, sizeof(*ex->frames));
        if (ex->frames == NULL)
            return -1;
    }
    uint32_t total = 0;
    for (int e = arr_first(st, arr); e >= 0; e = arr_next(st, arr, e)) {
        if (st->jt.tok[e].type != JSMN_OBJECT)
            continue;
        int fi = obj_get(st, e, "filename"), li = obj_get(st, e, "lineno"), ni = obj_get(st, e, "name");
        int64_t lineno = 0;
        if (li >= 0 && !jt_int(st->js, &st->jt.tok[li], &lineno))
            lineno = 0;
        ev_str name = ni >= 0 && st->jt.tok[ni].type == JSMN_STRING ? tok_str(st, ni, a) : EV_STR_NULL;
        uint32_t skipped;
        if (skipped_marker(name, lineno, &skipped)) {
            total += skipped;
            continue;
        }
        ev_str file = fi >= 0 && st->jt.tok[fi].type == JSMN_STRING ? tok_str(st, fi, a) : EV_STR_NULL;
        *innermost = file;
        if (ex->nframes < keep) {
            struct ev_frame *fr = &ex->frames[ex->nframes++];
            fr->file = file;
            fr->function = name;
            fr->line = lineno > 0 && lineno <= UINT32_MAX ? (uint32_t)lineno : 0;
        }
        total++;
    }
    ex->frames_total = total;
    return 0;
}

static int dict_syntax(struct jsonlog *st, int obj, struct ev_exc *ex)
{
    struct arena *a = &st->arena;
    const jt_tok *t = st->jt.tok;
    int i;
    ex->has_syntax = true;
    if ((i = obj_get(st, obj, "filename")) >= 0 && t[i].type == JSMN_STRING)
        ex->syntax.filename = tok_str(st, i, a);
    if ((i = obj_get(st, obj, "line")) >= 0 && t[i].type == JSMN_STRING) {
        ev_str s = tok_str(st, i, a);
        while (s.len > 0 && is_ws(*s.ptr)) {
            s.ptr++;
            s.len--;
        }
        while (s.len > 0 && is_ws(s.ptr[s.len - 1]))
            s.len--;
        ex->syntax.text = s;
    }
    int64_t v;
    if ((i = obj_get(st, obj, "lineno")) >= 0 && jt_int(st->js, &t[i], &v) && v > 0 && v <= UINT32_MAX)
        ex->syntax.lineno = (uint32_t)v;
    if ((i = obj_get(st, obj, "offset")) >= 0 && jt_int(st->js, &t[i], &v) && v > 0 && v <= INT32_MAX)
        ex->syntax.offset = (int32_t)v;
    /* The chain convention is the bare message for a SyntaxError, which str(exc)
     * decorates with "(file, line N)". */
    if ((i = obj_get(st, obj, "msg")) >= 0 && t[i].type == JSMN_STRING)
        ex->message = tok_str(st, i, a);
    return 0;
}

static int dict_group(struct jsonlog *st, int arr, struct ev_exc *ex, uint32_t gdepth)
{
    const struct parse_limits *lim = st->env.limits;
    struct ev_group *g = arena_calloc(&st->arena, 1, sizeof(*g));
    if (g == NULL)
        return -1;
    ex->group = g;
    uint32_t count = arr_count(st, arr, JSMN_ARRAY);
    if (gdepth + 1 > lim->max_group_depth) {
        g->depth_truncated = true;
        return 0;
    }
    uint32_t keep = count < lim->max_group_members ? count : lim->max_group_members;
    g->more_exceptions = count - keep;
    if (keep == 0)
        return 0;
    g->members = arena_calloc(&st->arena, keep, sizeof(*g->members));
    if (g->members == NULL)
        return -1;
    for (int e = arr_first(st, arr); e >= 0 && g->n < keep; e = arr_next(st, arr, e)) {
        if (st->jt.tok[e].type != JSMN_ARRAY)
            continue;
        if (dict_chain(st, e, &g->members[g->n], gdepth + 1) < 0)
            return -1;
        g->n++;
    }
    return 0;
}

/* One stack dict: {exc_type, exc_value, exc_notes, syntax_error, is_cause, frames,
 * is_group, exceptions}. Frame locals are never read: they may hold secrets. */
static int dict_stack(struct jsonlog *st, int obj, struct ev_exc *ex, bool *is_cause, uint32_t gdepth)
{
    struct arena *a = &st->arena;
    const jt_tok *t = st->jt.tok;
    const char *js = st->js;
    int type = -1, value = -1, frames = -1, syntax = -1, notes = -1, members = -1;
    bool is_group = false;
    int n = st->ntok, end = t[obj].end;
    for (int j = obj + 1; j < n && t[j].start < end;) {
        int v = j + 1;
        if (t[j].type != JSMN_STRING || v >= n || t[v].start >= end)
            break;
        const jt_tok *k = &t[j];
        if (jt_eq(js, k, "exc_type") && t[v].type == JSMN_STRING)
            type = v;
        else if (jt_eq(js, k, "exc_value") && t[v].type == JSMN_STRING)
            value = v;
        else if (jt_eq(js, k, "is_cause"))
            *is_cause = jt_is_true(js, &t[v]);
        else if (jt_eq(js, k, "frames") && t[v].type == JSMN_ARRAY)
            frames = v;
        else if (jt_eq(js, k, "syntax_error") && t[v].type == JSMN_OBJECT)
            syntax = v;
        else if (jt_eq(js, k, "exc_notes") && t[v].type == JSMN_ARRAY)
            notes = v;
        else if (jt_eq(js, k, "is_group"))
            is_group = jt_is_true(js, &t[v]);
        else if (jt_eq(js, k, "exceptions") && t[v].type == JSMN_ARRAY)
            members = v;
        j = jt_skip(t, n, v);
    }
    ev_str innermost = EV_STR_NULL;
    if (frames >= 0 && dict_frames(st, frames, ex, &innermost) < 0)
        return -1;
    ex->type = qualify_type(a, tok_str(st, type, a), innermost);
    ex->message = value >= 0 ? tok_str(st, value, a) : EV_STR_LIT("");
    if (syntax >= 0 && dict_syntax(st, syntax, ex) < 0)
        return -1;
    uint32_t nn = notes >= 0 ? arr_count(st, notes, JSMN_STRING) : 0;
    if (nn > MAX_NOTES)
        nn = MAX_NOTES;
    if (nn > 0) {
        ex->notes = arena_calloc(a, nn, sizeof(*ex->notes));
        if (ex->notes == NULL)
            return -1;
        for (int e = arr_first(st, notes); e >= 0 && ex->nnotes < nn; e = arr_next(st, notes, e))
            if (t[e].type == JSMN_STRING)
                ex->notes[ex->nnotes++] = tok_str(st, e, a);
    }
    if (is_group && members >= 0 && dict_group(st, members, ex, gdepth) < 0)
        return -1;
    if ((type >= 0 && ex->type.ptr == NULL) || ex->message.ptr == NULL)
        return -1; /* the arena ran out */
    return 0;
}

/* structlog dict_tracebacks: a list of stack dicts, outermost exception first. The
 * chain is root first, so the list is read backwards; is_cause on an exception says
 * it was the __cause__ of the next outer one. */
static int dict_chain(struct jsonlog *st, int arr, struct ev_chain *out, uint32_t gdepth)
{
    out->exc = NULL;
    out->n = 0;
    uint32_t count = arr_count(st, arr, JSMN_OBJECT);
    if (count == 0)
        return 0;
    uint32_t keep = count < st->env.limits->max_chain ? count : st->env.limits->max_chain;
    struct ev_exc *ex = arena_calloc(&st->arena, keep, sizeof(*ex));
    if (ex == NULL)
        return -1;
    uint32_t idx = 0;
    for (int e = arr_first(st, arr); e >= 0; e = arr_next(st, arr, e)) {
        if (st->jt.tok[e].type != JSMN_OBJECT)
            continue;
        uint32_t rf = count - 1 - idx++; /* position root first */
        if (rf >= keep)
            continue; /* over max_chain: the outermost ones go */
        bool is_cause = false;
        if (dict_stack(st, e, &ex[rf], &is_cause, gdepth) < 0)
            return -1;
        /* ex[rf + 1] was filled before (it comes earlier in the list). */
        if (rf + 1 < keep)
            ex[rf + 1].relation = is_cause ? EV_REL_CAUSE : EV_REL_CONTEXT;
    }
    ex[0].relation = EV_REL_ROOT;
    out->exc = ex;
    out->n = keep;
    return 0;
}

/* A chain of one from a type and message field (ECS error.type without a stack). */
static int single_chain(struct jsonlog *st, ev_str type, ev_str msg, struct ev_exception *out)
{
    struct ev_exc *ex = arena_calloc(&st->arena, 1, sizeof(*ex));
    if (ex == NULL)
        return -1;
    ex->type = type;
    ex->message = msg.ptr != NULL ? msg : EV_STR_LIT("");
    ex->relation = EV_REL_ROOT;
    out->chain.exc = ex;
    out->chain.n = 1;
    out->origin = EV_TB_STRUCTURED;
    return 0;
}

/* logger.exception() outside an except block formats sys.exc_info() of nothing, which
 * prints "NoneType: None": no exception happened. */
static bool none_exception(const struct ev_chain *c)
{
    return c->n == 1 && c->exc[0].nframes == 0 && ev_str_eq(c->exc[0].type, "NoneType");
}

/* Fill ev's exception from a formatted traceback text, a dict traceback list, or a
 * type/message pair, in that order of preference. Returns -1 when the arena ran out. */
static int build_exception(struct jsonlog *st, struct event *ev, int text_tok, int list_tok,
                           ev_str type, ev_str msg, uint64_t line)
{
    struct ev_exception *x = &ev->u.exc;
    bool have = false;
    if (text_tok >= 0) {
        ev_str text = tok_str(st, text_tok, &st->arena);
        if (text.ptr == NULL)
            return -1;
        int rc = tb_parse_text(text.ptr, text.len, st->env.limits, &st->arena, x);
        if (rc < 0)
            return -1;
        if (rc > 0 && x->chain.n > 0 && !none_exception(&x->chain)) {
            have = true;
            /* The text came from a log record's field; an introducer the grammar
             * recognized (thread, asyncio) says more and is kept. */
            if (x->origin == EV_TB_PLAIN || x->origin == EV_TB_STRUCTURED)
                x->origin = EV_TB_LOGGED;
        } else {
            memset(x, 0, sizeof(*x));
        }
    } else if (list_tok >= 0) {
        if (dict_chain(st, list_tok, &x->chain, 0) < 0)
            return -1;
        have = x->chain.n > 0;
        x->origin = EV_TB_STRUCTURED;
    }
    if (!have && type.ptr != NULL && type.len > 0) {
        if (single_chain(st, type, msg, x) < 0)
            return -1;
        have = true;
    }
    if (have) {
        ev->kind = EV_EXCEPTION;
        x->last_line = line;
    }
    return 0;
}

/* ---- events ----------------------------------------------------------------------- */

static int emit(struct jsonlog *st)
{
    int rc = st->env.emit ? st->env.emit(st->env.emit_ctx, &st->ev) : 0;
    if (rc != 0) {
        st->stopped = 1;
        return 1;
    }
    return 0;
}

static void set_ts(struct event *ev, ev_str s)
{
    int64_t ns;
    if (s.ptr != NULL && evtime_parse_field(s.ptr, s.len, &ns)) {
        ev->ts_ns = ns;
        ev->has_ts = true;
    }
}

static void set_ts_object(struct jsonlog *st, struct event *ev, int obj)
{
    int64_t secs, nanos = 0;
    int si = obj_get(st, obj, "seconds"), ni = obj_get(st, obj, "nanos");
    if (si < 0 || !jt_int(st->js, &st->jt.tok[si], &secs) || secs > INT64_MAX / 1000000000 ||
        secs < INT64_MIN / 1000000000)
        return;
    if (ni >= 0 && (!jt_int(st->js, &st->jt.tok[ni], &nanos) || nanos < 0 || nanos > 999999999))
        nanos = 0;
    ev->ts_ns = secs * 1000000000 + nanos;
    ev->has_ts = true;
}

/* 16 or 32 lowercase hex digits, not all zero: the spelling nearly every log already
 * uses, so the id can stay a slice of the line. Two ids per record: 16 bytes a step. */
static bool is_normal_hex_id(ev_str s)
{
    if (s.len != 32 && s.len != 16)
        return false;
#ifdef __SSE2__
    /* c - '0' <= 9 or c - 'a' <= 5, unsigned: min(x, k) == x */
    const __m128i c0 = _mm_set1_epi8('0'), ca = _mm_set1_epi8('a');
    const __m128i k9 = _mm_set1_epi8(9), k5 = _mm_set1_epi8(5);
    unsigned good = 0xFFFF, zeros = 0xFFFF;
    for (uint32_t off = 0; off < s.len; off += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s.ptr + off));
        __m128i d = _mm_sub_epi8(v, c0), l = _mm_sub_epi8(v, ca);
        __m128i ok = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, k9), d), _mm_cmpeq_epi8(_mm_min_epu8(l, k5), l));
        good &= (unsigned)_mm_movemask_epi8(ok);
        zeros &= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c0));
    }
    return good == 0xFFFF && zeros != 0xFFFF;
#else
    unsigned char bad = 0, nonzero = 0;
    for (uint32_t off = 0; off < s.len; off += 16) {
        const unsigned char *p = (const unsigned char *)s.ptr + off;
        for (int i = 0; i < 16; i++) {
            unsigned char c = p[i];
            unsigned char digit = (unsigned char)(c - '0') <= 9;
            unsigned char lower = (unsigned char)(c - 'a') <= 5;
            bad |= (unsigned char)(digit | lower) ^ 1;
            nonzero |= c ^ (unsigned char)'0';
        }
    }
    return bad == 0 && nonzero != 0;
#endif
}

static void set_trace(struct jsonlog *st, struct event *ev, ev_str s)
{
    if (is_normal_hex_id(s)) {
        ev->trace_id = s;
        return;
    }
    size_t n = s.ptr ? traceid_normalize(s.ptr, s.len, st->trace_buf) : 0;
    if (n > 0)
        ev->trace_id = ev_str_make(st->trace_buf, n);
}

static void set_span(struct jsonlog *st, struct event *ev, ev_str s)
{
    if (s.len == 16 && is_normal_hex_id(s)) {
        ev->span_id = s;
        return;
    }
    size_t n = s.ptr ? spanid_normalize(s.ptr, s.len, st->span_buf) : 0;
    if (n > 0)
        ev->span_id = ev_str_make(st->span_buf, n);
}

/* A W3C traceparent fills the trace and span ids the record did not name otherwise
 * (unless --map reserved them for another field). */
static void set_from_traceparent(struct jsonlog *st, struct event *ev, ev_str s, bool trace, bool span)
{
    if (s.ptr == NULL)
        return;
    if (trace && !ev_str_present(ev->trace_id)) {
        size_t n = traceid_from_traceparent(s.ptr, s.len, st->trace_buf);
        if (n > 0)
            ev->trace_id = ev_str_make(st->trace_buf, n);
    }
    /* version(2) - trace-id(32) - parent-id(16) - flags(2) */
    if (span && !ev_str_present(ev->span_id) && s.len >= 55 && s.ptr[35] == '-' && s.ptr[52] == '-')
        set_span(st, ev, ev_str_make(s.ptr + 36, 16));
}

/* One ordinary record (not an OTLP batch) from the fields found in it. */
static int record_emit(struct jsonlog *st, const struct found *f, uint64_t line)
{
    struct event *ev = &st->ev;
    struct arena *a = &st->arena;
    const jt_tok *t = st->jt.tok;
    int i;
    ev_init(ev, EV_LOG);
    ev->src.stream = st->env.stream;
    ev->src.line = line;

    if ((i = f->tok[S_TS]) >= 0) {
        if (t[i].type == JSMN_OBJECT)
            set_ts_object(st, ev, i);
        else
            set_ts(ev, tok_str(st, i, a));
    }
    if ((i = f->tok[S_LEVEL]) >= 0) {
        ev_str s = tok_str(st, i, a);
        if (s.ptr != NULL)
            ev->level = level_of(s.ptr, s.len);
    }
    ev->message = tok_str(st, f->tok[S_MESSAGE], a);
    ev->logger = tok_str(st, f->tok[S_LOGGER], a);
    ev->service = tok_str(st, f->tok[S_SERVICE], a);
    ev->host = tok_str(st, f->tok[S_HOST], a);
    ev->thread = tok_str(st, f->tok[S_THREAD], a);
    int64_t pid;
    if ((i = f->tok[S_PID]) >= 0 && jt_int(st->js, &t[i], &pid) && pid >= 0)
        ev->pid = pid;
    if ((i = f->tok[S_TRACE]) >= 0)
        set_trace(st, ev, tok_str(st, i, a));
    if ((i = f->tok[S_SPAN]) >= 0)
        set_span(st, ev, tok_str(st, i, a));
    if ((i = f->tok[S_TRACEPARENT]) >= 0)
        set_from_traceparent(st, ev, tok_str(st, i, a), st->map_field[ROLE_TRACE_ID] == NULL,
                             st->map_field[ROLE_SPAN_ID] == NULL);

    /* Memory, gc, counter and training records (issue #3): parsers/jsonmem.c knows
     * their shapes and emits them, with this record's keys, instead of a log event. */
    if (f->memkey && f->tok[S_EXC] < 0 && f->tok[S_EXC_TYPE] < 0) {
        int mrc = jsonmem_record(st->js, t, st->ntok, ev, a, &st->env);
        if (mrc != JSONMEM_NOT_MINE) {
            arena_reset(a);
            return mrc;
        }
    }

    int xt = f->tok[S_EXC];
    /* loguru names the exception in the record and prints its traceback only in
     * the formatted text, after the record's own line. */
    if (xt < 0 && f->tok[S_EXC_TYPE] >= 0)
        xt = f->tok[S_RECORD_TEXT];
    if (xt >= 0 || f->tok[S_EXC_TYPE] >= 0) {
        bool text = xt >= 0 && t[xt].type == JSMN_STRING;
        int rc = build_exception(st, ev, text ? xt : -1, text ? -1 : xt,
                                 tok_str(st, f->tok[S_EXC_TYPE], a), tok_str(st, f->tok[S_EXC_MSG], a),
                                 line);
        if (rc < 0) {
            diagf(st, line, "record too large to decode, skipped");
            arena_reset(a);
            return 0;
        }
    }
    int rc = emit(st);
    arena_reset(a);
    return rc;
}

/* ---- OTLP/JSON ------------------------------------------------------------------------ */

/* What the records of one resourceLogs element share. */
struct otlp_res {
    ev_str service, host, logger;
    int64_t pid;
};

/* The scalar inside an AnyValue object ({"stringValue": "x"}, {"intValue": "8607"}),
 * or -1 for arrays, kvlists and anything odd. */
static int any_value(const struct jsonlog *st, int obj)
{
    const jt_tok *t = st->jt.tok;
    if (obj < 0 || t[obj].type != JSMN_OBJECT || obj + 2 >= st->ntok || t[obj + 1].start >= t[obj].end)
        return -1;
    int v = obj + 2;
    return t[v].type == JSMN_STRING || t[v].type == JSMN_PRIMITIVE ? v : -1;
}

/* Attributes are [{"key": K, "value": AnyValue}]: call back with the key token and
 * the scalar value token. */
struct otlp_attr {
    int key, value;
};

static int attr_at(const struct jsonlog *st, int kv, struct otlp_attr *out)
{
    out->key = obj_get(st, kv, "key");
    out->value = any_value(st, obj_get(st, kv, "value"));
    return out->key >= 0 && out->value >= 0 && st->jt.tok[out->key].type == JSMN_STRING ? 0 : -1;
}

static int otlp_record(struct jsonlog *st, int rec, const struct otlp_res *res, uint64_t line)
{
    struct event *ev = &st->ev;
    struct arena *a = &st->arena;
    const jt_tok *t = st->jt.tok;
    const char *js = st->js;
    ev_init(ev, EV_LOG);
    ev->src.stream = st->env.stream;
    ev->src.line = line;
    ev->service = res->service;
    ev->host = res->host;
    ev->logger = res->logger;
    ev->pid = res->pid;

    int64_t ts = 0, observed = 0, sevnum = 0;
    int sevtext = -1, body = -1, attrs = -1, trace = -1, span = -1;
    int n = st->ntok, end = t[rec].end;
    for (int j = rec + 1; j < n && t[j].start < end;) {
        int v = j + 1;
        if (t[j].type != JSMN_STRING || v >= n || t[v].start >= end)
            break;
        const jt_tok *k = &t[j];
        if (jt_eq(js, k, "timeUnixNano") || jt_eq(js, k, "time_unix_nano")) {
            if (!jt_int(js, &t[v], &ts))
                ts = 0;
        } else if (jt_eq(js, k, "observedTimeUnixNano") || jt_eq(js, k, "observed_time_unix_nano")) {
            if (!jt_int(js, &t[v], &observed))
                observed = 0;
        } else if (jt_eq(js, k, "severityNumber") || jt_eq(js, k, "severity_number")) {
            if (!jt_int(js, &t[v], &sevnum))
                sevnum = 0;
        } else if (jt_eq(js, k, "severityText") || jt_eq(js, k, "severity_text")) {
            sevtext = t[v].type == JSMN_STRING ? v : -1;
        } else if (jt_eq(js, k, "body")) {
            body = t[v].type == JSMN_STRING ? v : any_value(st, v);
        } else if (jt_eq(js, k, "attributes")) {
            attrs = v;
        } else if (jt_eq(js, k, "traceId") || jt_eq(js, k, "trace_id")) {
            trace = t[v].type == JSMN_STRING ? v : -1;
        } else if (jt_eq(js, k, "spanId") || jt_eq(js, k, "span_id")) {
            span = t[v].type == JSMN_STRING ? v : -1;
        }
        j = jt_skip(t, n, v);
    }
    /* 0 means "unknown" in OTLP; the collector's observed time stands in for it. */
    if (ts <= 0)
        ts = observed;
    if (ts > 0) {
        ev->ts_ns = ts;
        ev->has_ts = true;
    }
    if (sevtext >= 0) {
        ev_str s = tok_str(st, sevtext, a);
        if (s.ptr != NULL)
            ev->level = level_of(s.ptr, s.len);
    }
    if (ev->level == EV_LVL_UNKNOWN)
        ev->level = level_of_severity_number(sevnum);
    ev->message = tok_str(st, body, a);
    if (trace >= 0)
        set_trace(st, ev, tok_str(st, trace, a));
    if (span >= 0)
        set_span(st, ev, tok_str(st, span, a));

    int xtype = -1, xmsg = -1, xstack = -1;
    for (int e = arr_first(st, attrs); e >= 0; e = arr_next(st, attrs, e)) {
        struct otlp_attr at;
        if (attr_at(st, e, &at) != 0)
            continue;
        const jt_tok *k = &t[at.key];
        if (jt_eq(js, k, "exception.type"))
            xtype = at.value;
        else if (jt_eq(js, k, "exception.message"))
            xmsg = at.value;
        else if (jt_eq(js, k, "exception.stacktrace"))
            xstack = t[at.value].type == JSMN_STRING ? at.value : -1;
        else if (jt_eq(js, k, "thread.name"))
            ev->thread = tok_str(st, at.value, a);
    }
    if (xstack >= 0 || xtype >= 0) {
        if (build_exception(st, ev, xstack, -1, tok_str(st, xtype, a), tok_str(st, xmsg, a), line) < 0) {
            diagf(st, line, "OTLP log record too large to decode, skipped");
            arena_reset(a);
            return 0;
        }
    }
    int rc = emit(st);
    arena_reset(a);
    return rc;
}

static int otlp_scope(struct jsonlog *st, int sl, struct otlp_res *res, uint64_t line)
{
    int scope = obj_get(st, sl, "scope");
    if (scope < 0)
        scope = obj_get(st, sl, "instrumentationLibrary"); /* before OTLP 0.15 */
    int name = scope >= 0 ? obj_get(st, scope, "name") : -1;
    res->logger = name >= 0 && st->jt.tok[name].type == JSMN_STRING ? tok_str(st, name, &st->batch_arena)
                                                                    : EV_STR_NULL;
    int recs = obj_get(st, sl, "logRecords");
    if (recs < 0)
        recs = obj_get(st, sl, "log_records");
    for (int e = arr_first(st, recs); e >= 0; e = arr_next(st, recs, e)) {
        if (st->jt.tok[e].type != JSMN_OBJECT)
            continue;
        int rc = otlp_record(st, e, res, line);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int otlp_resource(struct jsonlog *st, int rl, uint64_t line)
{
    const jt_tok *t = st->jt.tok;
    struct otlp_res res = {.pid = -1};
    int resource = obj_get(st, rl, "resource");
    int attrs = resource >= 0 ? obj_get(st, resource, "attributes") : -1;
    for (int e = arr_first(st, attrs); e >= 0; e = arr_next(st, attrs, e)) {
        struct otlp_attr at;
        if (attr_at(st, e, &at) != 0)
            continue;
        const jt_tok *k = &t[at.key];
        if (jt_eq(st->js, k, "service.name"))
            res.service = tok_str(st, at.value, &st->batch_arena);
        else if (jt_eq(st->js, k, "host.name"))
            res.host = tok_str(st, at.value, &st->batch_arena);
        else if (jt_eq(st->js, k, "process.pid")) {
            int64_t pid;
            if (jt_int(st->js, &t[at.value], &pid) && pid >= 0)
                res.pid = pid;
        }
    }
    int sls = obj_get(st, rl, "scopeLogs");
    if (sls < 0)
        sls = obj_get(st, rl, "scope_logs");
    if (sls < 0)
        sls = obj_get(st, rl, "instrumentationLibraryLogs");
    for (int e = arr_first(st, sls); e >= 0; e = arr_next(st, sls, e)) {
        if (t[e].type != JSMN_OBJECT)
            continue;
        int rc = otlp_scope(st, e, &res, line);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* One ExportLogsServiceRequest per line: every log record becomes an event, and all
 * of them carry the line of the batch. */
static int otlp_batch(struct jsonlog *st, int arr, uint64_t line)
{
    int rc = 0;
    for (int e = arr_first(st, arr); e >= 0 && rc == 0; e = arr_next(st, arr, e))
        if (st->jt.tok[e].type == JSMN_OBJECT)
            rc = otlp_resource(st, e, line);
    arena_reset(&st->batch_arena);
    return rc;
}

/* ---- the parser --------------------------------------------------------------------- */

#define OFFLOAD_MAX ((size_t)64 << 10) /* longer lines are parsed where they are read */

static int parse_record(struct jsonlog *st, const char *line, size_t len, uint64_t lineno);

static int on_line(void *ctx, const char *line, size_t len, uint64_t lineno, bool truncated)
{
    struct jsonlog *st = ctx;
    if (truncated) {
        diagf(st, lineno, "line longer than %zu bytes, skipped", st->env.limits->max_line);
        return 0;
    }
    if (lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        len -= 3;
    }
    /* Lines are records of their own: another thread may parse this one. */
    if (st->env.offload != NULL && len <= OFFLOAD_MAX && st->env.offload(st->env.emit_ctx, line, len, lineno) != 0)
        return 0;
    return parse_record(st, line, len, lineno);
}

static int parse_record(struct jsonlog *st, const char *line, size_t len, uint64_t lineno)
{
    int ntok = 0;
    size_t pos = 0;
    enum jt_status s = jt_parse(&st->jt, line, len, &ntok, &pos);
    switch (s) {
    case JT_OK:
        break;
    case JT_EMPTY:
        return 0;
    case JT_NOMEM:
        st->stopped = -1;
        return -1;
    case JT_SYNTAX:
    case JT_TRAILING:
        diagf(st, lineno, "invalid JSON: %s at column %zu", jt_status_text(s), pos + 1);
        return 0;
    case JT_TOO_MANY:
        diagf(st, lineno, "invalid JSON: more than %u tokens", (unsigned)st->jt.max_tokens);
        return 0;
    case JT_TOO_DEEP:
        diagf(st, lineno, "invalid JSON: nested deeper than %u levels", (unsigned)st->jt.max_depth);
        return 0;
    default:
        diagf(st, lineno, "invalid JSON: %s", jt_status_text(s));
        return 0;
    }
    st->js = line;
    st->ntok = ntok;
    st->has_bs = st->jt.escaped; /* backslashes stand only in strings, as escapes */
    struct found f;
    for (int k = 0; k < S_COUNT; k++)
        f.tok[k] = -1;
    f.memkey = false;
    walk_object(st, &f, 0, "", 0, 0);
    if (f.tok[S_OTLP] >= 0)
        return otlp_batch(st, f.tok[S_OTLP], lineno);
    return record_emit(st, &f, lineno);
}

static void *jsonlog_open(const struct parser_env *env)
{
    /* Cache lines of its own (see grow_tokens in jsontok.c): its event is rewritten
     * for every line, maybe beside another thread's parser. */
    size_t size = (sizeof(struct jsonlog) + 63) & ~(size_t)63;
    struct jsonlog *st = aligned_alloc(64, size);
    if (st == NULL)
        return NULL;
    memset(st, 0, size);
    st->env = *env;
    if (st->env.limits == NULL)
        st->env.limits = &parse_limits_default;
    const struct parse_limits *lim = st->env.limits;
    linesplit_init(&st->ls, lim->max_line);
    jt_init(&st->jt, lim->max_json_tokens, lim->max_json_depth);
    key_index_build(st->key_index);
    arena_init(&st->arena, 0);
    arena_init(&st->batch_arena, 0);
    if (env->map != NULL) {
        for (int r = 0; r < ROLE_COUNT; r++) {
            const char *m = env->map->field[r];
            if (m == NULL || *m == '\0')
                continue;
            st->map_field[r] = m;
            st->map_len[r] = strlen(m);
            st->nmapped++;
        }
    }
    return st;
}

static int jsonlog_feed(void *vst, const char *buf, size_t len)
{
    struct jsonlog *st = vst;
    if (st->stopped != 0)
        return st->stopped;
    int rc = linesplit_feed(&st->ls, buf, len, on_line, st);
    if (rc < 0)
        st->stopped = -1;
    return rc;
}

static int jsonlog_finish(void *vst)
{
    struct jsonlog *st = vst;
    if (st->stopped != 0)
        return st->stopped;
    int rc = linesplit_finish(&st->ls, on_line, st);
    if (rc < 0)
        st->stopped = -1;
    return rc;
}

static int jsonlog_parse_line(void *vst, const char *line, size_t len, uint64_t lineno)
{
    struct jsonlog *st = vst;
    if (st->stopped != 0)
        return st->stopped;
    int rc = parse_record(st, line, len, lineno);
    if (rc < 0)
        st->stopped = -1;
    return rc;
}

static void jsonlog_close(void *vst)
{
    struct jsonlog *st = vst;
    if (st == NULL)
        return;
    linesplit_free(&st->ls);
    jt_free(&st->jt);
    arena_free(&st->arena);
    arena_free(&st->batch_arena);
    free(st);
}

/* ---- detection ------------------------------------------------------------------------ */

#define BID_TOKENS 512

/* docker's json-file driver wraps each line of plain text in {"log", "stream",
 * "time"}; those belong to the text parser, which unwraps them. */
static bool docker_shaped(const char *js, const jt_tok *t, int n, bool complete)
{
    bool log = false, stream = false;
    for (int j = 1; j < n; j++) {
        if (t[j].parent != 0)
            continue;
        if (jt_eq(js, &t[j], "log")) {
            /* the value may be cut off by the end of the window */
            log = j + 1 >= n || (t[j + 1].type == JSMN_STRING && t[j + 1].parent == j);
        } else if (jt_eq(js, &t[j], "stream")) {
            stream = true;
        } else if (!jt_eq(js, &t[j], "time") && !jt_eq(js, &t[j], "attrs")) {
            return false;
        }
    }
    return log && (stream || !complete);
}

/* Evidence from one line of the window: -1 for a docker json-file line, 0 for not
 * JSON, 2 for a start that cannot be judged (a lone '{'), 20 for a valid prefix of an
 * object cut by the window, 24 for one whole object, 30 for an OTLP export batch. */
static int bid_line(const char *line, size_t n, bool complete)
{
    jt_tok tok[BID_TOKENS];
    int ntok = 0;
    enum jt_status s = jt_parse_prefix(tok, BID_TOKENS, line, n, &ntok);
    if (s == JT_SYNTAX || ntok < 1 || tok[0].type != JSMN_OBJECT)
        return s == JT_TRUNCATED && ntok <= 1 ? 2 : 0;
    if (docker_shaped(line, tok, ntok, complete && s != JT_TOO_MANY))
        return -1;
    bool first_key = ntok >= 2 && tok[1].type == JSMN_STRING && tok[1].parent == 0;
    if (first_key && (jt_eq(line, &tok[1], "resourceLogs") || jt_eq(line, &tok[1], "resource_logs")))
        return 30;
    if (s == JT_OK && complete) {
        for (size_t k = (size_t)tok[0].end; k < n; k++)
            if (!is_ws(line[k]))
                return 0; /* more than one value: not a JSON line */
        return 24;
    }
    /* A line longer than the window or than the tokens a bid looks at (an OTLP batch,
     * a big record): what we saw is an object with at least one complete key. */
    if ((s == JT_TOO_MANY || (s == JT_TRUNCATED && !complete)) && first_key)
        return 20;
    return 2; /* an object cut short at the end of the input */
}

static int jsonlog_bid(const char *buf, size_t len, bool at_eof)
{
    size_t i = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && is_ws(buf[i]))
        i++;
    if (i == len || buf[i] != '{')
        return 0;
    int first = 0;
    /* A first line cut by log rotation should not hide a JSON-lines file: when it
     * does not parse, a few more lines of the window may vouch for the format. */
    for (int lines = 0; lines < 4 && i < len; lines++) {
        const char *line = buf + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        int r = bid_line(line, n, nl != NULL || at_eof);
        if (r < 0)
            return 0;
        if (lines == 0) {
            if (r >= 20)
                return r;
            first = r;
        } else if (r >= 24) {
            return 20;
        }
        if (nl == NULL)
            break;
        i = (size_t)(nl - buf) + 1;
        while (i < len && is_ws(buf[i]))
            i++;
    }
    return first;
}

const struct parser parser_jsonlog = {
    .parse_on_own_thread = true,
    .name = "jsonl",
    .description = "JSON-lines structured logs (python-json-logger, structlog, ECS, GCP, Datadog, OTLP/JSON)",
    .bid = jsonlog_bid,
    .open = jsonlog_open,
    .feed = jsonlog_feed,
    .finish = jsonlog_finish,
    .close = jsonlog_close,
    .parse_line = jsonlog_parse_line,
};
