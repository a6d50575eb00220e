/* textlog.c -- plain-text logs and stderr: log records and the tracebacks among them.
 *
 * Layers, outermost first:
 *   transport  container-runtime framing: CRI "<time> <stream> <P|F> " prefixes
 *              (P = partial line, joined until F) and docker json-file lines
 *              {"log": "...", "stream": ..., "time": ...}; each stream (stdout,
 *              stderr) gets its own traceback assembler, since their lines
 *              interleave freely.
 *   record     a logging-formatter prefix (logprefix.h) makes a line a log record
 *              with time, level, logger and pid.
 *   traceback  the assembler (tb_asm.h) claims traceback lines; a record or an
 *              introducer ("Exception in thread X:", "Task exception was never
 *              retrieved" + "future: ...") on the line just before a traceback is
 *              absorbed into the exception event.
 *
 * Lines outside tracebacks become log events. They wait in a small queue while a
 * traceback is open, so events come out in line order even though a traceback is
 * only known to be finished a few lines after its end.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ansi.h"
#include "faulthandler.h"
#include "framing.h"
#include "linesplit.h"
#include "logprefix.h"
#include "ipython_tb.h"
#include "parser.h"
#include "pytest_tb.h"
#include "rich_tb.h"
#include "tb.h"
#include "tb_asm.h"
#include "tb_lines.h"
#include "../correlate/evtime.h"
#include "../correlate/traceid.h"

enum transport { TR_UNKNOWN = 0, TR_PLAIN, TR_CRI, TR_DOCKER, TR_FRAMED };

/* Keys keep interleaved writers apart: 0 no stream, 1 stdout, 2 stderr (CRI and
 * docker), and from KEY_NAMED on the writers a collector's framing names (framing.h),
 * each with what its events carry. More writers than keys share the last, KEY_OTHERS,
 * which carries nothing of theirs. */
#define NKEYS 16
#define KEY_NAMED 3
#define KEY_OTHERS (NKEYS - 1)
/* Lines looked at for a collector's framing before a stream is taken as plain: a
 * journal starts with "-- Logs begin at ...", compose's output with "Attaching to". */
#define FRAMING_PROBE_LINES 3
#define QUEUE_MAX_BYTES ((size_t)1 << 20)
#define QUEUE_MAX_ENTRIES 4096

struct qent {
    uint64_t lineno;
    size_t off;
    uint32_t len;
    uint8_t key;
    bool prefixed;
    bool absorbed;
    bool has_tts;      /* transport timestamp */
    bool joined;       /* lines in a message column went on with it (column_join) */
    bool continued;    /* unprefixed lines went on with its message (more_join) */
    int64_t tts;
    uint64_t last_line;
    struct logprefix lp;
};

struct partial {       /* a CRI P-line or docker line without "\n", being joined */
    char *buf;
    size_t len, cap;
    uint64_t lineno;
    bool active;
};

struct textlog {
    struct parser_env env;
    struct linesplit ls;
    enum transport transport;
    struct tb_asm *asm_[NKEYS];
    struct partial partial[NKEYS];
    struct fh_scan *fh[NKEYS]; /* issue #8 hook: faulthandler dumps, per stream */
    /* queue of foreign lines, FIFO */
    struct qent *q;
    size_t qhead, qlen, qcap;
    char *qbuf;
    size_t qbuf_len, qbuf_cap;
    /* scratch */
    char *dbuf;            /* docker unescape */
    size_t dbuf_cap;
    char *abuf;            /* a line without its terminal escapes */
    size_t abuf_cap;
    bool esc_seen;         /* the stream has had an ESC byte: lines are checked for escapes */
    int stop;              /* sink's stop request */
    bool oom;
    struct logprefix_cache lpc;
    /* the note of the chunk base[0..len) being fed (see "notes" below): the part
     * of it made (count entries: line[lo..max), as last looked), the entry the next line's
     * search starts at, and the bytes the parser took for its own (all below
     * `claimed`, an offset in the chunk) */
    struct tl_note *note;
    const char *note_base;
    uint32_t note_len;
    uint32_t note_count, note_lo, note_at;
    uint32_t claimed;
    /* an open section of another tool's traceback layout: a pytest failure report
     * ("____ test_x ____", pytest_tb.h) until the next section or rule, or an IPython
     * traceback (ipython_tb.h) while it goes on; its lines are kept (as offsets into
     * sbuf) until it closes */
    struct {
        enum { SEC_PYTEST, SEC_IPYTHON, SEC_RICH } kind;
        struct iptb_follow ipy;
        struct rtb_follow rich;
        bool open, native, truncated;
        bool captured; /* pytest: past "--- Captured ... ---", the test's output */
        uint8_t key;
        uint64_t first_line, last_line;
        char name[128];
        size_t name_len;
        struct { size_t off; uint32_t n; uint64_t lineno; } *lines;
        size_t nlines, lines_cap;
        char *sbuf;
        size_t len, cap;
        struct arena a; /* the parsed chain, until it is emitted */
        /* the record just before an IPython or rich traceback (RichHandler's
         * "ERROR    msg", logger.exception's): held in the queue while the section
         * is open, and absorbed into its event when the section gives one */
        uint64_t intro_line, rule_line; /* 0: none */
        struct tb_meta intro;
    } ps;
    /* Records whose message goes on on lines indented to a column (logprefix.h,
     * cont_indent: RichHandler, Tornado), per key: the last one, which such lines go
     * on with while they come, and the time a blank time column repeats */
    struct colrec {
        bool active;     /* the last line on this key was the record or went on with it */
        uint64_t line;   /* the record's */
        size_t indent;   /* its message column */
        bool tab;        /* lines go on with it indented by a tab (twisted.logger) */
        size_t width;    /* the column's width, 0 when unknown */
        size_t last_len; /* characters of its last line */
        bool last_word;  /* that line is one word (after its indent): maybe folded */
        bool last_marks; /* that line is carets ("^^^^"): what follows begins a line */
        unsigned blanks; /* blank lines since, joined when the message goes on */
        bool in_tb;      /* the message holds a formatted traceback from here on */
        bool has_ts;
        int64_t ts_ns;
    } col[NKEYS];
    struct arena col_arena; /* a traceback read from such a record's message */
    /* A record at ERROR or above whose message may go on over the unprefixed lines
     * after it, per key: logging writes a message's newlines as they are, and
     * logger.exception's traceback after them. Held until that is known. */
    struct msgmore {
        bool active;
        uint64_t line;   /* the record's */
        unsigned blanks; /* blank lines since, joined when the message goes on */
        unsigned lines;  /* lines joined */
    } more[NKEYS];
    /* Per key: the line of an unprefixed asyncio report's first line while its
     * context lines follow (0: none), held until the traceback after them. */
    uint64_t aio_from[NKEYS];
    char trace_buf[TRACEID_BUFSZ]; /* a record's request id, normalized (set_trace) */
    /* the writers a collector's framing named (keys KEY_NAMED..nkeys) */
    enum framing framing;
    uint8_t frame_key;       /* the last framed line's writer */
    size_t frame_col;        /* its message's column, where journalctl indents the
                                message's further lines to (0: not the journal) */
    uint64_t frame_line;     /* the line its journal entry began on */
    uint8_t nkeys;           /* keys in use: loops over keys stop here */
    uint8_t nnamed;          /* keys KEY_NAMED..nnamed have a writer's name and fields */
    struct keymeta {
        char source[FRAMING_SOURCE_MAX];
        size_t source_len;
        char service[64], host[64];
        size_t service_len, host_len;
        int64_t pid;
    } named[NKEYS];
    /* the line being processed (for the block callback's key) */
    uint8_t cur_key;
    bool cur_has_tts;
    int64_t cur_tts;
};

static const char *const key_names[NKEYS] = {NULL, "stdout", "stderr"};

/* ---- notes ----
 * A line's logging prefix depends on nothing but the line, so an idle thread can
 * read the prefixes of a chunk beside the parser (parser.h, "note"). A note lists
 * complete lines of the chunk, each as linesplit hands it out, with its prefix as
 * logprefix_parse reads it. The parser uses an entry only for the very bytes it
 * describes (same start in the chunk, same length), so whatever framing, joining
 * or truncation happens to a line, the result is the same as without the note.
 *
 * The two meet in the middle. The parser goes through a chunk from the front and
 * the helper notes it from the back, line by line down, publishing what it has
 * made every few lines. Before the parser reads lines nobody noted, it claims them
 * (`parser_at`, a piece of a few KiB at a time), and the helper stops at the first
 * line the parser claimed. So whenever the helper starts (ahead of the parser, or
 * on the chunk the parser is in), no line is read twice but the one or two on
 * which they cross, and a chunk the helper never reaches costs the parser nothing
 * more. The entries sit at the end of the buffer (line[lo..max)), so they are in
 * line order for the parser, which only moves forward. */

struct tl_note_line {
    int64_t ts_ns;
    int64_t pid;
    uint32_t off, len;     /* in the chunk, without "\n" or "\r" */
    uint32_t raw;          /* up to the "\n": len, or len + 1 before "\r\n" */
    uint16_t logger_off, logger_len, thread_off, thread_len, msg_off; /* in the line */
    uint8_t prefixed;      /* logprefix_parse said yes */
    uint8_t has_ts;
    uint8_t level;
    uint8_t plain;         /* prefixed, below WARNING, introduces nothing, not a column */
    uint16_t msg_end, col_end;
    uint8_t flags;         /* NOTE_TIME_OMITTED, NOTE_CONT_TAB */
    uint8_t cont_indent;
};
_Static_assert(sizeof(struct tl_note_line) == 48, "three 16-byte stores a line");
enum { NOTE_TIME_OMITTED = 1, NOTE_CONT_TAB = 2 };

/* Zero until the helper begins (PARSER_NOTE_ZEROED). The helper's fields and the
 * parser's are on cache lines of their own: each side writes only its own. */
struct tl_note {
    /* the helper's */
    uint32_t max;               /* entries the buffer holds */
    _Atomic uint32_t count;     /* entries made: line[max - count..max) */
    _Atomic uint32_t esc;       /* 0 not looked yet; 1 no ESC byte in the chunk; 2 one (ansi.h) */
    char helper_pad[64 - 3 * sizeof(uint32_t)];
    /* the parser's */
    _Atomic uint32_t parser_at; /* lines that start below this offset are the parser's */
    char parser_pad[64 - sizeof(uint32_t)];
    struct tl_note_line line[];
};
_Static_assert(sizeof(struct tl_note) == PARSER_NOTE_ZEROED, "the header is what arrives zeroed");

#define NOTE_PUBLISH_EVERY 16 /* lines between the helper's publications */
#define NOTE_PIECE 4096       /* bytes the parser claims at a time */

/* An entry as six words in the order of its fields (little-endian), so that the
 * helper builds it in registers: built in memory field by field and then copied
 * with wide loads, each load waited for the narrow stores under it (a failed
 * store forward), which was most of the note's time. */
#define NOTE_W_OK (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && offsetof(struct tl_note_line, off) == 16 &&     \
                   offsetof(struct tl_note_line, raw) == 24 && offsetof(struct tl_note_line, logger_off) == 28 && \
                   offsetof(struct tl_note_line, thread_off) == 32 &&                                        \
                   offsetof(struct tl_note_line, prefixed) == 38 && offsetof(struct tl_note_line, level) == 40 && \
                   offsetof(struct tl_note_line, msg_end) == 42 && offsetof(struct tl_note_line, flags) == 46)
_Static_assert(NOTE_W_OK, "tl_note_line's words are as note_put packs them");

/* Write a note line, given as its six words. The helper writes notes that the
 * parsing thread reads on its core, into buffers that thread read last time:
 * ordinary stores would first fetch each line back from that core (the note's
 * first store was two thirds of its time); streaming stores fetch nothing.
 * note_publish fences them. */
static inline void note_put(struct tl_note_line *dst, const uint64_t w[6])
{
#if defined(__SSE2__)
    __m128i *d = (__m128i *)(void *)dst;
    _mm_stream_si128(d, _mm_set_epi64x((long long)w[1], (long long)w[0]));
    _mm_stream_si128(d + 1, _mm_set_epi64x((long long)w[3], (long long)w[2]));
    _mm_stream_si128(d + 2, _mm_set_epi64x((long long)w[5], (long long)w[4]));
#else
    memcpy(dst, w, sizeof(*dst));
#endif
}

static void note_publish(struct tl_note *note, uint32_t count)
{
#if defined(__SSE2__)
    _mm_sfence(); /* the streamed lines before the count that shows them */
#endif
    atomic_store_explicit(&note->count, count, memory_order_release);
}

static bool may_introduce(const char *msg, size_t n);

/* A record that goes out as it is: below WARNING, introducing nothing, and not a
 * message column that the next lines may go on with. */
static bool is_plain(const struct logprefix *lp, const char *p, size_t n)
{
    return lp->level != EV_LVL_UNKNOWN && lp->level < EV_LVL_WARNING && !lp->cont_indent &&
           !may_introduce(p + lp->msg_off, n - lp->msg_off);
}

/* The note entry of line p[0..n) ("\n" at p + raw) as note_put takes it; false
 * when the line gets none (a note has no room for hosts and ids, nor for offsets
 * past 16 bits). */
static bool note_line(struct logprefix_cache *lpc, const char *chunk, const char *p, size_t raw, uint64_t w[6])
{
    size_t n = raw;
    if (n > UINT16_MAX)
        return false;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    w[2] = (uint64_t)(p - chunk) | (uint64_t)n << 32;
    struct logprefix lp;
    if (n == 0 || !logprefix_cached(lpc, p, n, &lp)) {
        w[0] = w[1] = w[4] = w[5] = 0;
        w[3] = raw;
        return true;
    }
    if (lp.host_len || lp.trace_len)
        return false;
    w[0] = (uint64_t)lp.ts_ns;
    w[1] = (uint64_t)lp.pid;
    w[3] = raw | (uint64_t)(uint16_t)lp.logger_off << 32 | (uint64_t)(uint16_t)lp.logger_len << 48;
    w[4] = (uint64_t)(uint16_t)lp.thread_off | (uint64_t)(uint16_t)lp.thread_len << 16 |
           (uint64_t)(uint16_t)lp.msg_off << 32 | (uint64_t)1 << 48 /* prefixed */ | (uint64_t)(lp.has_ts != 0) << 56;
    unsigned flags = (lp.time_omitted ? NOTE_TIME_OMITTED : 0) | (lp.cont_tab ? NOTE_CONT_TAB : 0);
    w[5] = (uint64_t)(uint8_t)lp.level | (uint64_t)is_plain(&lp, p, n) << 8 | (uint64_t)(uint16_t)lp.msg_end << 16 |
           (uint64_t)(uint16_t)lp.col_end << 32 | (uint64_t)flags << 48 | (uint64_t)(uint8_t)lp.cont_indent << 56;
    return true;
}

/* The helper: note the chunk's complete lines from the last down, until the
 * parser's claim or the buffer's room stops it. */
static void textlog_note(const char *chunk, size_t len, void *out, size_t cap)
{
    struct tl_note *note = out;
    if (cap < sizeof(*note) + sizeof(note->line[0]) || len > UINT32_MAX || ((uintptr_t)note & 63) != 0)
        return;
    uint32_t max = (uint32_t)((cap - sizeof(*note)) / sizeof(note->line[0]));
    note->max = max;
    atomic_store_explicit(&note->esc, memchr(chunk, ANSI_ESC, len) != NULL ? 2u : 1u, memory_order_release);
    /* The helper's thread keeps its prefixes from chunk to chunk: begun cold on
     * each, the note parsed a few lines in full every time. */
    static _Thread_local struct logprefix_cache lpc;
    static _Thread_local bool lpc_ready;
    if (!lpc_ready) {
        logprefix_cache_init(&lpc);
        lpc_ready = true;
    }
    uint32_t k = max; /* the next entry goes at line[k - 1] */
    const char *nl = memrchr(chunk, '\n', len);
    while (nl != NULL && k > 0) {
        const char *prev = nl > chunk ? memrchr(chunk, '\n', (size_t)(nl - chunk)) : NULL;
        const char *p = prev != NULL ? prev + 1 : chunk;
        if ((size_t)(p - chunk) < atomic_load_explicit(&note->parser_at, memory_order_relaxed))
            break; /* the parser's from here down */
        uint64_t w[6];
        if (note_line(&lpc, chunk, p, (size_t)(nl - p), w)) {
            note_put(&note->line[--k], w);
            if ((max - k) % NOTE_PUBLISH_EVERY == 0)
                note_publish(note, max - k);
        }
        nl = prev;
    }
    note_publish(note, max - k);
}

static void textlog_take_note(void *st, const void *note, const char *base, size_t len)
{
    struct textlog *t = st;
    t->note = len <= UINT32_MAX ? (struct tl_note *)(uintptr_t)note : NULL;
    t->note_base = base;
    t->note_len = (uint32_t)len;
    t->note_count = t->note_lo = t->note_at = 0;
    t->claimed = 0;
}

/* Look again at what the helper made, when the line at off is below all of it
 * (it only adds below). Whether anything at or above off is made now. */
static bool note_refresh(struct textlog *t, uint32_t off)
{
    const struct tl_note *note = t->note;
    if (t->note_count == 0 || off < note->line[t->note_lo].off) {
        uint32_t count = atomic_load_explicit(&note->count, memory_order_acquire);
        if (count > t->note_count) {
            t->note_count = count;
            t->note_lo = t->note_at = note->max - count;
        }
    }
    return t->note_count > 0 && note->line[note->max - 1].off >= off;
}

/* The entry the search for the line at off ends on: the first made at or after
 * off, or NULL when there is none. */
static const struct tl_note_line *note_seek(struct textlog *t, uint32_t off)
{
    if (!note_refresh(t, off))
        return NULL;
    const struct tl_note *note = t->note;
    uint32_t max = note->max;
    while (t->note_at < max && note->line[t->note_at].off < off)
        t->note_at++;
    return t->note_at < max ? &note->line[t->note_at] : NULL;
}

/* The note's entry of the line that starts at p, or NULL. Lines come in order,
 * so the search goes on from where the last one ended; lines the parser claimed
 * are nobody's. */
static const struct tl_note_line *noted_at(struct textlog *t, const char *p)
{
    if (t->note == NULL || p < t->note_base || p >= t->note_base + t->note_len)
        return NULL;
    uint32_t off = (uint32_t)(p - t->note_base);
    if (off < t->claimed)
        return NULL;
    const struct tl_note_line *e = note_seek(t, off);
    return e != NULL && e->off == off ? e : NULL;
}

/* The entry for the line p[0..n): the same start and the same length. */
static const struct tl_note_line *noted(struct textlog *t, const char *p, size_t n)
{
    const struct tl_note_line *e = noted_at(t, p);
    return e != NULL && e->len == n ? e : NULL;
}

static void prefix_from_note(const struct tl_note_line *e, struct logprefix *lp)
{
    lp->has_ts = e->has_ts;
    lp->ts_ns = e->ts_ns;
    lp->level = (enum ev_level)e->level;
    lp->pid = e->pid;
    lp->logger_off = e->logger_off;
    lp->logger_len = e->logger_len;
    lp->thread_off = e->thread_off;
    lp->thread_len = e->thread_len;
    lp->msg_off = e->msg_off;
    lp->host_off = lp->host_len = 0; /* a line with a host or an id is never noted */
    lp->trace_off = lp->trace_len = 0;
    lp->msg_end = e->msg_end;
    lp->col_end = e->col_end;
    lp->time_omitted = (e->flags & NOTE_TIME_OMITTED) != 0;
    lp->cont_indent = e->cont_indent;
    lp->cont_tab = (e->flags & NOTE_CONT_TAB) != 0;
}

/* ---- the queue ---- */

/* The record's request id as the event's trace id: normalized (a UUID's dashes
 * gone, so the correlator keys it), else as written. */
static void set_trace(struct textlog *t, struct event *ev, const char *line, const struct logprefix *lp)
{
    if (lp->trace_len == 0)
        return;
    size_t n = traceid_normalize(line + lp->trace_off, lp->trace_len, t->trace_buf);
    ev->trace_id = n ? ev_str_make(t->trace_buf, n) : ev_str_make(line + lp->trace_off, lp->trace_len);
}

/* What a collector said of key's writer, where the line itself said nothing. */
static void key_meta(const struct textlog *t, uint8_t key, struct event *ev)
{
    if (key < KEY_NAMED || key >= t->nnamed)
        return;
    const struct keymeta *m = &t->named[key];
    if (!ev_str_present(ev->service) && m->service_len > 0)
        ev->service = ev_str_make(m->service, m->service_len);
    if (!ev_str_present(ev->host) && m->host_len > 0)
        ev->host = ev_str_make(m->host, m->host_len);
    if (ev->pid < 0)
        ev->pid = m->pid;
}

/* The key of a framed line's writer: the one it had, or a new one (the last when
 * all are taken). */
static uint8_t named_key(struct textlog *t, const struct framed *f)
{
    for (uint8_t k = KEY_NAMED; k < t->nnamed; k++)
        if (t->named[k].source_len == f->source_len && memcmp(t->named[k].source, f->source, f->source_len) == 0)
            return k;
    if (t->nnamed == KEY_OTHERS) {
        t->nkeys = NKEYS;
        return KEY_OTHERS;
    }
    struct keymeta *m = &t->named[t->nnamed];
    memcpy(m->source, f->source, f->source_len);
    m->source_len = f->source_len;
    m->service_len = f->service != NULL && f->service_len < sizeof(m->service) ? f->service_len : 0;
    memcpy(m->service, f->service != NULL ? f->service : "", m->service_len);
    m->host_len = f->host != NULL && f->host_len < sizeof(m->host) ? f->host_len : 0;
    memcpy(m->host, f->host != NULL ? f->host : "", m->host_len);
    m->pid = f->pid;
    t->nkeys = ++t->nnamed;
    return (uint8_t)(t->nnamed - 1);
}

/* A line outside tracebacks as a log event. lp is its prefix, or NULL. */
static int emit_line(struct textlog *t, const char *p, size_t len, uint64_t lineno, uint8_t key,
                     const struct logprefix *lp, bool has_tts, int64_t tts)
{
    struct ev_line l = {
        .p = p,
        .len = (uint32_t)len,
        .level = EV_LVL_UNKNOWN,
        .pid = -1,
        .stream = t->env.stream,
        .lineno = lineno,
    };
    if (key_names[key]) {
        l.stream_name = key_names[key];
        l.stream_name_len = (uint32_t)strlen(key_names[key]);
    }
    if (lp != NULL) {
        l.has_ts = lp->has_ts;
        l.ts_ns = lp->ts_ns;
        l.level = (uint8_t)lp->level;
        l.pid = lp->pid;
        l.logger_off = (uint32_t)lp->logger_off;
        l.logger_len = (uint32_t)lp->logger_len;
        l.thread_off = (uint32_t)lp->thread_off;
        l.thread_len = (uint32_t)lp->thread_len;
        l.host_off = (uint32_t)lp->host_off;
        l.host_len = (uint32_t)lp->host_len;
        l.msg_off = (uint32_t)lp->msg_off;
    }
    if (!l.has_ts && has_tts) {
        l.has_ts = true;
        l.ts_ns = tts;
    }
    int rc;
    if (t->env.emit_line != NULL && (lp == NULL || lp->trace_len == 0) && key < KEY_NAMED) {
        rc = t->env.emit_line(t->env.emit_ctx, &l);
    } else {
        /* A line with a request id goes as an event: the id, normalized, is not a
         * slice of the line (rare: AWS Lambda's records); so does a line of a writer
         * a collector named, with what the collector said of it. */
        struct event ev;
        ev_init(&ev, EV_LOG);
        ev_from_line(&ev, &l);
        if (lp != NULL)
            set_trace(t, &ev, p, lp);
        key_meta(t, key, &ev);
        rc = t->env.emit(t->env.emit_ctx, &ev);
    }
    if (rc != 0)
        t->stop = rc;
    return rc;
}

static int emit_exception(struct textlog *t, struct event *ev, uint8_t key, bool truncated, uint64_t first_line,
                          const char *what);

/* A record whose message column held a formatted traceback (RichHandler without
 * rich_tracebacks prints logger.exception's text there, wrapped): an exception
 * event like logger.exception's. 0 when it holds none (nothing emitted). */
static int emit_column_traceback(struct textlog *t, const struct qent *e)
{
    static const char head[] = "Traceback (most recent call last):";
    const char *line = t->qbuf + e->off;
    const char *msg = line + e->lp.msg_off;
    size_t mn = e->len - e->lp.msg_off;
    const char *tb = memmem(msg, mn, head, sizeof(head) - 1);
    if (tb == NULL || (tb > msg && tb[-1] != '\n'))
        return 0;
    arena_reset(&t->col_arena);
    struct event ev;
    ev_init(&ev, EV_LOG);
    struct ev_line l = {
        .p = line,
        .len = (uint32_t)(tb > msg ? tb - 1 - line : tb - line),
        .level = (uint8_t)e->lp.level,
        .has_ts = e->lp.has_ts,
        .ts_ns = e->lp.ts_ns,
        .pid = e->lp.pid,
        .logger_off = (uint32_t)e->lp.logger_off,
        .logger_len = (uint32_t)e->lp.logger_len,
        .thread_off = (uint32_t)e->lp.thread_off,
        .thread_len = (uint32_t)e->lp.thread_len,
        .host_off = (uint32_t)e->lp.host_off,
        .host_len = (uint32_t)e->lp.host_len,
        .msg_off = (uint32_t)e->lp.msg_off,
        .stream = t->env.stream,
        .lineno = e->lineno,
    };
    ev_from_line(&ev, &l);
    set_trace(t, &ev, line, &e->lp);
    int rc = tb_parse_text(tb, (size_t)(msg + mn - tb), t->env.limits, &t->col_arena, &ev.u.exc);
    if (rc <= 0 || ev.u.exc.chain.n == 0)
        return rc < 0 ? -1 : 0;
    ev.kind = EV_EXCEPTION;
    if (ev.u.exc.origin == EV_TB_PLAIN || ev.u.exc.origin == EV_TB_STRUCTURED)
        ev.u.exc.origin = EV_TB_LOGGED; /* as a structured log's exc_info field */
    ev.u.exc.last_line = e->last_line;
    if (!ev.has_ts && e->has_tts) {
        ev.has_ts = true;
        ev.ts_ns = e->tts;
    }
    return emit_exception(t, &ev, e->key, false, e->lineno, "traceback") == 0 ? 1 : -1;
}

/* A record whose message may have gone on over the lines after it, but that
 * introduced no traceback: the lines are not known to be its message (a handler
 * that prints messages alone writes records like them), so they go out as they
 * came, each a line with its own number. */
static int emit_continued(struct textlog *t, const struct qent *e)
{
    const char *line = t->qbuf + e->off, *end = line + e->len;
    const char *nl = memchr(line, '\n', e->len);
    size_t head = nl != NULL ? (size_t)(nl - line) : e->len;
    int rc = emit_line(t, line, head, e->lineno, e->key, e->prefixed ? &e->lp : NULL, e->has_tts, e->tts);
    uint64_t ln = e->lineno;
    for (const char *q = line + head; q < end && rc == 0;) {
        q++; /* past the newline ending line ln */
        ln++;
        nl = memchr(q, '\n', (size_t)(end - q));
        size_t k = nl != NULL ? (size_t)(nl - q) : (size_t)(end - q);
        if (k > 0)
            rc = emit_line(t, q, k, ln, e->key, NULL, e->has_tts, e->tts);
        q += k;
    }
    return rc;
}

static int emit_entry(struct textlog *t, const struct qent *e)
{
    if (e->continued)
        return emit_continued(t, e);
    if (e->joined && e->prefixed) {
        int rc = emit_column_traceback(t, e);
        if (rc != 0)
            return rc < 0 ? (t->stop ? t->stop : -1) : 0;
    }
    return emit_line(t, t->qbuf + e->off, e->len, e->lineno, e->key, e->prefixed ? &e->lp : NULL, e->has_tts,
                     e->tts);
}

/* Emit queued lines numbered below bound (or all of them when force). */
static int release(struct textlog *t, uint64_t bound, bool force_one)
{
    while (t->qlen > 0) {
        struct qent *e = &t->q[t->qhead];
        if (e->lineno >= bound && !force_one)
            break;
        force_one = false;
        int rc = e->absorbed ? 0 : emit_entry(t, e);
        t->qhead++;
        t->qlen--;
        if (rc != 0) {
            t->stop = rc;
            return rc;
        }
    }
    if (t->qlen == 0) {
        t->qhead = 0;
        t->qbuf_len = 0;
    }
    return 0;
}

/* A byte buffer of at least need bytes, grown by doubling from first: 0, or -1
 * when memory ran out (the buffer is then as it was). */
static int buf_reserve(char **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    char *nb = realloc(*buf, c);
    if (nb == NULL)
        return -1;
    *buf = nb;
    *cap = c;
    return 0;
}

/* Room for n more bytes of queued lines: 0, or -1 when memory ran out. */
static int qbuf_room(struct textlog *t, size_t n)
{
    return buf_reserve(&t->qbuf, &t->qbuf_cap, t->qbuf_len + n, 8192);
}

static int enqueue(struct textlog *t, const char *p, size_t n, uint64_t lineno, bool prefixed,
                   const struct logprefix *lp)
{
    while (t->qlen >= QUEUE_MAX_ENTRIES || (t->qlen > 0 && t->qbuf_len + n > QUEUE_MAX_BYTES)) {
        /* Bounded: an open traceback cannot hold back output without limit. */
        int rc = release(t, 0, true);
        if (rc != 0)
            return rc;
    }
    if (t->qhead + t->qlen == t->qcap) {
        if (t->qhead > 0) {
            memmove(t->q, t->q + t->qhead, t->qlen * sizeof(*t->q));
            t->qhead = 0;
        } else {
            size_t cap = t->qcap ? t->qcap * 2 : 64;
            struct qent *nq = realloc(t->q, cap * sizeof(*nq));
            if (nq == NULL)
                return -1;
            t->q = nq;
            t->qcap = cap;
        }
    }
    if (qbuf_room(t, n) != 0)
        return -1;
    memcpy(t->qbuf + t->qbuf_len, p, n);
    struct qent *e = &t->q[t->qhead + t->qlen];
    e->lineno = lineno;
    e->off = t->qbuf_len;
    e->len = (uint32_t)n;
    e->key = t->cur_key;
    e->prefixed = prefixed;
    e->absorbed = false;
    e->joined = false;
    e->continued = false;
    e->last_line = lineno;
    e->has_tts = t->cur_has_tts;
    e->tts = t->cur_tts;
    if (prefixed)
        e->lp = *lp;
    t->qbuf_len += n;
    t->qlen++;
    return 0;
}

/* The queued entry of line ln on the current key, or NULL. */
static struct qent *queued_line(struct textlog *t, uint64_t ln)
{
    for (size_t i = t->qlen; i > 0; i--) {
        struct qent *e = &t->q[t->qhead + i - 1];
        if ((e->lineno == ln || (e->continued && e->last_line == ln)) && e->key == t->cur_key && !e->absorbed)
            return e;
        if (e->lineno < ln && !e->continued)
            break;
    }
    return NULL;
}

static ev_str entry_message(const struct textlog *t, const struct qent *e)
{
    const char *p = t->qbuf + e->off;
    size_t off = e->prefixed ? e->lp.msg_off : 0;
    return ev_str_make(p + off, e->len - off);
}

static bool str_starts(ev_str s, const char *lit)
{
    size_t k = strlen(lit);
    return s.len >= k && memcmp(s.ptr, lit, k) == 0;
}

static void copy_cstr(char *dst, size_t dstsz, const char *p, size_t n)
{
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static void meta_from_record(struct tb_meta *m, const struct textlog *t, const struct qent *e)
{
    const char *p = t->qbuf + e->off;
    m->record_line = e->lineno;
    if (!e->prefixed)
        return;
    if (e->lp.has_ts) {
        m->has_ts = true;
        m->ts_ns = e->lp.ts_ns;
    }
    m->level = e->lp.level;
    m->pid = e->lp.pid;
    if (e->lp.logger_len)
        copy_cstr(m->logger, sizeof(m->logger), p + e->lp.logger_off, e->lp.logger_len);
    if (e->lp.thread_len)
        copy_cstr(m->thread, sizeof(m->thread), p + e->lp.thread_off, e->lp.thread_len);
    if (e->lp.host_len)
        copy_cstr(m->host, sizeof(m->host), p + e->lp.host_off, e->lp.host_len);
    if (e->lp.trace_len) {
        size_t n = traceid_normalize(p + e->lp.trace_off, e->lp.trace_len, m->trace_id);
        if (n == 0)
            copy_cstr(m->trace_id, sizeof(m->trace_id), p + e->lp.trace_off, e->lp.trace_len);
    }
    ev_str msg = entry_message(t, e);
    copy_cstr(m->message, sizeof(m->message), msg.ptr, msg.len);
    m->message_len = (uint32_t)strlen(m->message);
}

/* Could a record with this message be absorbed by a traceback on the next line,
 * whatever its level? (attach_intro's introducers; the first line of an asyncio
 * report is absorbed two lines before the traceback.) */
static bool may_introduce(const char *msg, size_t n)
{
    return tbl_introducer(msg, n) != TBL_INTRO_NONE;
}

/* Context lines asyncio prints between its report's message and the traceback
 * ("handle:", "protocol:", "transport:"), at most. */
#define AIO_CONTEXT_MAX 4

/* An introducer that printed the line alone: the event's message, for what it
 * names (the object of an unraisable exception, the callback, the process). */
static void message_from_line(struct tb_meta *m, ev_str line)
{
    if (m->message_len == 0) {
        copy_cstr(m->message, sizeof(m->message), line.ptr, tbl_rtrim(line.ptr, line.len));
        m->message_len = (uint32_t)strlen(m->message);
    }
}

/* A rule drawn with c alone, as wide as a terminal's report: "-----...-----". */
static bool is_rule_of(ev_str s, char c)
{
    size_t n = tbl_rtrim(s.ptr, s.len);
    if (n < 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s.ptr[i] != c)
            return false;
    return true;
}

/* unittest's "ERROR: test_x (mod.T.test_x)" or "FAIL: ..." (a subtest adds
 * " (i=1)"; a class fixture is "setUpClass (mod.T)"). A prefixed line was read as
 * level ERROR with the rest as its message. */
static bool unittest_failure(ev_str msg, bool prefixed)
{
    if (!prefixed && !str_starts(msg, "ERROR: ") && !str_starts(msg, "FAIL: "))
        return false;
    size_t n = tbl_rtrim(msg.ptr, msg.len);
    const char *open = memchr(msg.ptr, '(', n);
    return n < 512 && open != NULL && msg.ptr[n - 1] == ')' && memchr(msg.ptr, ' ', (size_t)(open - msg.ptr)) != NULL;
}

/* A traceback started at line ln: absorb the record or introducer just before it. */
static void attach_intro(struct textlog *t, struct tb_asm *as, uint64_t ln)
{
    /* Filled in place: the record is over a kilobyte, and the block zeroed it. */
    struct tb_meta *m = tb_asm_started_meta(as);
    if (m == NULL)
        return;
    m->present = true;
    m->origin = EV_TB_PLAIN;
    if (t->cur_has_tts) {
        m->has_ts = true;
        m->ts_ns = t->cur_tts;
    }
    struct qent *prev = ln > 1 ? queued_line(t, ln - 1) : NULL;
    if (prev == NULL)
        return;
    ev_str msg = entry_message(t, prev);
    enum tbl_intro intro = tbl_introducer(msg.ptr, msg.len);
    /* asyncio's report: its message, then its context (the future or handle, the
     * protocol and transport), then the traceback. */
    struct qent *first = NULL, *prev2 = NULL;
    ev_str msg2 = ev_str_make("", 0);
    for (uint64_t k = 2; intro == TBL_INTRO_ASYNCIO_CONTEXT && k <= AIO_CONTEXT_MAX + 1 && k < ln; k++) {
        struct qent *e = queued_line(t, ln - k);
        if (e == NULL)
            break;
        msg2 = entry_message(t, e);
        enum tbl_intro ek = tbl_introducer(msg2.ptr, msg2.len);
        if (ek == TBL_INTRO_ASYNCIO)
            first = e;
        if (ek != TBL_INTRO_ASYNCIO_CONTEXT)
            break;
    }
    if (first != NULL) {
        meta_from_record(m, t, first);
        m->origin = EV_TB_ASYNCIO;
        m->level = EV_LVL_ERROR; /* asyncio logs its reports with logger.error */
        message_from_line(m, msg2);
        for (uint64_t l = first->lineno; l < ln; l++) {
            struct qent *e = queued_line(t, l);
            if (e != NULL)
                e->absorbed = true;
        }
    } else if (intro == TBL_INTRO_ASYNCIO) {
        meta_from_record(m, t, prev);
        m->origin = EV_TB_ASYNCIO;
        m->level = EV_LVL_ERROR;
        message_from_line(m, msg);
        prev->absorbed = true;
    } else if (intro == TBL_INTRO_THREAD) {
        meta_from_record(m, t, prev);
        m->origin = EV_TB_THREAD;
        copy_cstr(m->thread, sizeof(m->thread), msg.ptr + 20, tbl_rtrim(msg.ptr, msg.len) - 21);
        prev->absorbed = true;
    } else if (intro == TBL_INTRO_PROCESS || intro == TBL_INTRO_UNRAISABLE) {
        /* multiprocessing's "Process NAME:" names the child; sys.unraisablehook's
         * line names the object whose finalizer (or callback) raised. */
        meta_from_record(m, t, prev);
        m->origin = intro == TBL_INTRO_PROCESS ? EV_TB_PROCESS : EV_TB_UNRAISABLE;
        message_from_line(m, msg);
        prev->absorbed = true;
    } else if (is_rule_of(msg, '-') && ln > 2 && (prev2 = queued_line(t, ln - 2)) != NULL &&
               unittest_failure(entry_message(t, prev2), prev2->prefixed)) {
        /* unittest's report of a test that failed or raised: "ERROR: test_x
         * (mod.T.test_x)", a rule, the traceback. logging's default format reads
         * "ERROR:" as a level; the line is the event's message either way. */
        struct qent *rec = prev2;
        meta_from_record(m, t, rec);
        m->origin = EV_TB_UNITTEST;
        m->level = EV_LVL_ERROR;
        ev_str whole = ev_str_make(t->qbuf + rec->off, rec->len);
        m->message_len = 0;
        message_from_line(m, whole);
        rec->absorbed = true;
        prev->absorbed = true;
    } else if (!prev->prefixed && t->transport == TR_FRAMED && t->frame_col > 0 && t->frame_line == ln - 1 &&
               prev->key == t->cur_key && msg.len < 512) {
        /* One journal entry: a record's message, then its traceback on the entry's
         * further lines (systemd's JournalHandler stores logger.exception so). */
        meta_from_record(m, t, prev);
        m->origin = EV_TB_LOGGED;
        message_from_line(m, msg);
        prev->absorbed = true;
    } else if (!prev->prefixed && str_starts(msg, "Internal Server Error: ") && msg.len < 512) {
        /* Django's django.request record for a 500, which its console handler
         * prints as the message alone: logged at ERROR. */
        meta_from_record(m, t, prev);
        m->origin = EV_TB_LOGGED;
        m->level = EV_LVL_ERROR;
        message_from_line(m, msg);
        prev->absorbed = true;
    } else if (prev->prefixed && (prev->lp.level >= EV_LVL_WARNING || prev->lp.level == EV_LVL_UNKNOWN)) {
        /* logger.exception() logs at ERROR; an INFO record just before a
         * traceback is more likely another process's line than its owner. */
        meta_from_record(m, t, prev);
        m->origin = EV_TB_LOGGED;
        prev->absorbed = true;
    }
}

/* ---- traceback blocks ---- */

/* What the record that introduced a traceback says, onto its event (slices into m). */
static void event_from_meta(struct event *ev, const struct tb_meta *m)
{
    ev->has_ts = m->has_ts;
    ev->ts_ns = m->ts_ns;
    ev->level = m->level;
    ev->pid = m->pid;
    if (m->logger[0])
        ev->logger = ev_str_make(m->logger, strlen(m->logger));
    if (m->message_len)
        ev->message = ev_str_make(m->message, m->message_len);
    if (m->thread[0])
        ev->thread = ev_str_make(m->thread, strlen(m->thread));
    if (m->host[0])
        ev->host = ev_str_make(m->host, strlen(m->host));
    if (m->trace_id[0])
        ev->trace_id = ev_str_make(m->trace_id, strlen(m->trace_id));
}

/* An exception event of stream key out to the sink; what names it in the warning
 * when limits cut it. */
static int emit_exception(struct textlog *t, struct event *ev, uint8_t key, bool truncated, uint64_t first_line,
                          const char *what)
{
    if (key_names[key])
        ev->stream_name = ev_str_make(key_names[key], strlen(key_names[key]));
    key_meta(t, key, ev);
    if (truncated && t->env.diag) {
        char why[96];
        snprintf(why, sizeof(why), "%s longer than the record limit, truncated", what);
        t->env.diag(t->env.diag_ctx, t->env.stream, first_line, why);
    }
    int rc = t->env.emit(t->env.emit_ctx, ev);
    if (rc != 0)
        t->stop = rc;
    return rc;
}

static int on_block(void *ctx, const struct tb_block_out *blk)
{
    struct textlog *t = ctx;
    const struct tb_meta *m = blk->meta;
    uint64_t line = m->present && m->record_line ? m->record_line : blk->first_line;
    if (release(t, line, false) != 0)
        return t->stop;
    struct event ev;
    ev_init(&ev, EV_EXCEPTION);
    ev.u.exc = *blk->exc;
    ev.src.stream = t->env.stream;
    ev.src.line = line;
    if (m->present)
        event_from_meta(&ev, m);
    return emit_exception(t, &ev, t->cur_key, blk->truncated, blk->first_line, "traceback");
}

static void on_incomplete(void *ctx, uint64_t first_line, const char *reason)
{
    struct textlog *t = ctx;
    if (t->env.diag)
        t->env.diag(t->env.diag_ctx, t->env.stream, first_line, reason);
}

/* A block the assembler gives back (its lines never met an exception line: a
 * traceback cut short, print_stack's frames, stack_info): its lines are lines, in
 * their place in the queue, and the record it had taken as introducer is one again.
 * Nothing after the block's first line has left the queue, since the open block held
 * it (but when the queue's bounds forced it out: then they come late, not never). */
/* logging's stack_info: the record, then "Stack (most recent call last):" and the
 * frames, all of them its message. One event, out before anything queued after it. */
static int emit_with_stack(struct textlog *t, struct qent *e, const struct tb_line *L, size_t n)
{
    if (release(t, e->lineno, false) != 0)
        return t->stop ? t->stop : -1;
    size_t len = e->len;
    for (size_t k = 0; k < n; k++)
        len += 1 + L[k].n;
    if (len > t->env.limits->max_record)
        return 1; /* too long to be one record: the lines go back as lines */
    char *buf = malloc(len);
    if (buf == NULL)
        return -1;
    memcpy(buf, t->qbuf + e->off, e->len);
    size_t at = e->len;
    for (size_t k = 0; k < n; k++) {
        buf[at++] = '\n';
        memcpy(buf + at, L[k].p, L[k].n);
        at += L[k].n;
    }
    e->absorbed = true;
    int rc = emit_line(t, buf, at, e->lineno, e->key, e->prefixed ? &e->lp : NULL, e->has_tts, e->tts);
    free(buf);
    return rc;
}

static int on_unclaimed(void *ctx, const struct tb_line *L, size_t n, uint64_t intro_line, bool stack)
{
    struct textlog *t = ctx;
    for (size_t i = t->qlen; intro_line != 0 && i > 0; i--) {
        struct qent *e = &t->q[t->qhead + i - 1];
        if (e->lineno == intro_line && e->key == t->cur_key) {
            e->absorbed = false;
            if (stack) {
                int rc = emit_with_stack(t, e, L, n);
                if (rc <= 0)
                    return rc;
            }
            break;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (tbl_is_blank(L[k].p, L[k].n))
            continue;
        struct logprefix lp;
        bool prefixed = logprefix_parse(L[k].p, L[k].n, &lp);
        if (enqueue(t, L[k].p, L[k].n, L[k].lineno, prefixed, &lp) != 0)
            return -1;
        /* into its place: the entries after it move up one */
        size_t j = t->qhead + t->qlen - 1;
        while (j > t->qhead && t->q[j - 1].lineno > t->q[j].lineno) {
            struct qent tmp = t->q[j - 1];
            t->q[j - 1] = t->q[j];
            t->q[j] = tmp;
            j--;
        }
    }
    return 0;
}

static struct tb_asm *asm_for(struct textlog *t, uint8_t key)
{
    if (t->asm_[key] == NULL && (t->asm_[key] = tb_asm_create(t->env.limits, on_block, on_incomplete, t)) != NULL)
        tb_asm_set_unclaimed(t->asm_[key], on_unclaimed);
    return t->asm_[key];
}

static uint64_t min_open(const struct textlog *t)
{
    /* An open section holds the lines from its start (or its record's) back, so
     * that its event comes out in order, before them. */
    uint64_t m = !t->ps.open         ? UINT64_MAX
                 : t->ps.intro_line ? t->ps.intro_line
                 : t->ps.rule_line  ? t->ps.rule_line
                                    : t->ps.first_line;
    for (int k = 0; k < t->nkeys; k++) {
        if (t->asm_[k] != NULL) {
            uint64_t v = tb_asm_min_open_line(t->asm_[k]);
            if (v < m)
                m = v;
        }
        if (t->col[k].active && t->col[k].line < m)
            m = t->col[k].line; /* its message may go on on the next line */
        if (t->more[k].active && t->more[k].line < m)
            m = t->more[k].line;
    }
    return m;
}

/* ---- hook (issue #8): faulthandler dumps and fatal-error reports ----
 * parsers/faulthandler.c recognizes them; the lines it claims are neither records
 * nor tracebacks. A finished dump is emitted after the queued lines before it. */

static int on_fh_dump(void *ctx, uint64_t first_line, const struct event *ev)
{
    struct textlog *t = ctx;
    uint64_t mo = min_open(t);
    if (release(t, first_line < mo ? first_line : mo, false) != 0)
        return t->stop;
    int rc = t->env.emit(t->env.emit_ctx, ev);
    if (rc != 0)
        t->stop = rc;
    return rc;
}

/* 1 when the dump scanner took the line, 0 when it is the text parser's, or the
 * scanner's error. */
static int fh_hook(struct textlog *t, const char *p, size_t n, uint64_t lineno)
{
    if (t->fh[t->cur_key] == NULL && (t->fh[t->cur_key] = fh_scan_create(&t->env, on_fh_dump, t)) == NULL)
        return -1;
    enum fh_claim fc;
    int rc = fh_scan_line(t->fh[t->cur_key], p, n, lineno, &fc);
    if (rc != 0)
        return rc;
    return fc == FH_CLAIMED;
}

/* ---- pytest failure sections ---- */

/* The section's lines are its event's, as a CPython traceback's are: none of them
 * is a log event too. (What a test printed or logged, after pytest's "Captured"
 * rule, stays: those lines are not the section's.) */
static void absorb_section(struct textlog *t)
{
    for (size_t i = t->qlen; i > 0; i--) {
        struct qent *e = &t->q[t->qhead + i - 1];
        if (e->lineno < t->ps.first_line)
            break;
        if (e->key == t->ps.key && e->lineno <= t->ps.last_line)
            e->absorbed = true;
    }
}

/* The open section as an exception event, when its lines hold a pytest report (not
 * a CPython traceback, which the assembler has read). */
static int close_section(struct textlog *t)
{
    t->ps.open = false;
    if (t->ps.native || t->ps.nlines == 0)
        return 0;
    arena_reset(&t->ps.a);
    struct tb_line *L = arena_alloc(&t->ps.a, t->ps.nlines * sizeof(*L));
    if (L == NULL)
        return -1;
    for (size_t i = 0; i < t->ps.nlines; i++)
        L[i] = (struct tb_line){t->ps.sbuf + t->ps.lines[i].off, t->ps.lines[i].n, t->ps.lines[i].lineno};
    struct ev_chain chain;
    bool truncated = false;
    int (*parse)(const struct tb_line *, size_t, const struct parse_limits *, struct arena *, struct ev_chain *,
                 bool *) = t->ps.kind == SEC_PYTEST ? pytb_parse : t->ps.kind == SEC_IPYTHON ? iptb_parse : rtb_parse;
    int found = parse(L, t->ps.nlines, t->env.limits, &t->ps.a, &chain, &truncated);
    if (found <= 0)
        return found;
    uint64_t line = t->ps.first_line;
    const struct tb_meta *m = t->ps.intro_line ? &t->ps.intro : NULL;
    struct qent *e;
    if (m != NULL) {
        line = t->ps.intro_line;
        if ((e = queued_line(t, t->ps.intro_line)) != NULL)
            e->absorbed = true;
    }
    /* IPython's rule above its traceback is part of it. */
    if (t->ps.rule_line && (e = queued_line(t, t->ps.rule_line)) != NULL)
        e->absorbed = true;
    absorb_section(t);
    if (release(t, line, false) != 0)
        return t->stop;
    struct event ev;
    ev_init(&ev, EV_EXCEPTION);
    ev.u.exc.chain = chain;
    static const enum ev_tb_origin origins[] = {EV_TB_PYTEST, EV_TB_IPYTHON, EV_TB_RICH};
    static const char *const what[] = {"pytest report", "IPython traceback", "rich traceback"};
    ev.u.exc.origin = origins[t->ps.kind];
    ev.u.exc.last_line = t->ps.last_line;
    ev.src.stream = t->env.stream;
    ev.src.line = line;
    if (t->ps.name_len)
        ev.message = ev_str_make(t->ps.name, t->ps.name_len);
    if (m != NULL)
        event_from_meta(&ev, m);
    return emit_exception(t, &ev, t->ps.key, truncated || t->ps.truncated, t->ps.first_line, what[t->ps.kind]);
}

/* The record that introduces the traceback starting at line ln, if any: the line
 * before it (IPython draws a rule between), logged at WARNING or above. */
static void take_intro(struct textlog *t, uint64_t ln)
{
    t->ps.intro_line = t->ps.rule_line = 0;
    struct qent *prev = ln > 1 ? queued_line(t, ln - 1) : NULL;
    if (prev != NULL && !prev->prefixed) {
        ev_str s = entry_message(t, prev);
        if (s.len >= 20 && s.ptr[0] == '-' && s.ptr[s.len - 1] == '-') {
            t->ps.rule_line = ln - 1;
            prev = ln > 2 ? queued_line(t, ln - 2) : NULL;
        }
    }
    if (prev == NULL && t->col[t->cur_key].active)
        prev = queued_line(t, t->col[t->cur_key].line); /* a record whose message wrapped */
    if (prev == NULL && t->more[t->cur_key].active)
        prev = queued_line(t, t->more[t->cur_key].line); /* a message of several lines */
    if (prev == NULL || !prev->prefixed || prev->lp.level < EV_LVL_WARNING || prev->absorbed)
        return;
    memset(&t->ps.intro, 0, sizeof(t->ps.intro));
    meta_from_record(&t->ps.intro, t, prev);
    t->ps.intro_line = prev->lineno;
}

/* Could the line open a section: pytest's "___", IPython's "...)", rich's box corner
 * (maybe indented)? A cheap look, for every line. */
static bool may_open_section(const char *p, size_t n)
{
    if (p[0] == '_' || p[n - 1] == ')')
        return true;
    size_t i = 0;
    while (i < n && i < 64 && p[i] == ' ')
        i++;
    return i < n && (unsigned char)p[i] == 0xe2;
}

/* Watch for pytest's sections: a header opens one, the next header or a "====" rule
 * closes it, and the lines between are kept. The lines go on to the rest of the
 * parser as well: one holding a CPython traceback (--tb=native) is the assembler's. */
static int section_line(struct textlog *t, const char *p, size_t n, uint64_t lineno)
{
    size_t off = 0, len = 0;
    bool header = p[0] == '_' && pytb_is_header(p, n, &off, &len);
    bool same_key = t->ps.key == t->cur_key;
    if (t->ps.open && same_key) {
        bool ends = t->ps.kind == SEC_PYTEST    ? header || (p[0] == '=' && pytb_is_rule(p, n))
                    : t->ps.kind == SEC_IPYTHON ? !iptb_takes(&t->ps.ipy, p, n)
                                                : !rtb_takes(&t->ps.rich, p, n);
        if (ends) {
            int rc = close_section(t);
            if (rc != 0)
                return rc;
        }
    }
    bool ipy = !header && !t->ps.open && p[n - 1] == ')' && iptb_is_header(p, n);
    bool rich = !header && !ipy && !t->ps.open && rtb_is_header(p, n);
    if (header || ipy || rich) {
        t->ps.open = true;
        t->ps.kind = header ? SEC_PYTEST : ipy ? SEC_IPYTHON : SEC_RICH;
        t->ps.native = t->ps.truncated = t->ps.captured = false;
        t->ps.key = t->cur_key;
        t->ps.first_line = t->ps.last_line = lineno;
        t->ps.name_len = len < sizeof(t->ps.name) ? len : sizeof(t->ps.name) - 1;
        memcpy(t->ps.name, p + off, t->ps.name_len);
        t->ps.nlines = t->ps.len = 0;
        t->ps.intro_line = t->ps.rule_line = 0;
        if (header)
            return 0;
        if (ipy) /* the header is the block's first line */
            iptb_begin(&t->ps.ipy, p, n);
        else
            rtb_begin(&t->ps.rich, p, n);
        take_intro(t, lineno);
    }
    if (!t->ps.open || t->ps.key != t->cur_key || t->ps.native || t->ps.captured)
        return 0;
    if (t->ps.kind == SEC_PYTEST && pytb_is_captured(p, n)) {
        t->ps.captured = true;
        return 0;
    }
    if (t->ps.kind == SEC_PYTEST &&
        (tbl_is_header(p, n) ||
         (n > 4 && p[0] == ' ' && memchr(p, '+', 8 < n ? 8 : n) != NULL && tbl_is_group_structure(p, n)))) {
        t->ps.native = true;
        return 0;
    }
    if (t->ps.len + n > t->env.limits->max_record || t->ps.nlines >= 20000) {
        t->ps.truncated = true;
        return 0;
    }
    if (t->ps.nlines == t->ps.lines_cap) {
        size_t cap = t->ps.lines_cap ? t->ps.lines_cap * 2 : 64;
        void *nl = realloc(t->ps.lines, cap * sizeof(*t->ps.lines));
        if (nl == NULL)
            return -1;
        t->ps.lines = nl;
        t->ps.lines_cap = cap;
    }
    if (buf_reserve(&t->ps.sbuf, &t->ps.cap, t->ps.len + n, 8192) != 0)
        return -1;
    if (n > 0)
        memcpy(t->ps.sbuf + t->ps.len, p, n);
    t->ps.lines[t->ps.nlines].off = t->ps.len;
    t->ps.lines[t->ps.nlines].n = (uint32_t)n;
    t->ps.lines[t->ps.nlines].lineno = lineno;
    t->ps.nlines++;
    t->ps.len += n;
    t->ps.last_line = lineno;
    return 0;
}

/* p[0..n) without its terminal escapes, in the parser's scratch buffer. */
static int strip_escapes(struct textlog *t, const char **p, size_t *n)
{
    if (buf_reserve(&t->abuf, &t->abuf_cap, *n, 256) != 0)
        return -1;
    *n = ansi_strip(*p, *n, t->abuf);
    *p = t->abuf;
    return 0;
}

/* ---- RichHandler's message column ---- */

static size_t utf8_chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xc0) != 0x80;
    return c;
}

/* A record whose further lines are indented (logprefix.h, cont_indent) was queued:
 * the next lines may go on with its message. */
static void column_opened(struct textlog *t, const struct logprefix *lp, const char *p, size_t n,
                          size_t padded_n, uint64_t lineno)
{
    struct colrec *c = &t->col[t->cur_key];
    c->active = true;
    c->line = lineno;
    c->indent = lp->cont_indent;
    c->tab = lp->cont_tab;
    /* A message column is as wide as the console left it (rich wraps at it); lines
     * indented by a formatter (Tornado) are never wrapped. */
    size_t end = lp->col_end ? lp->col_end : padded_n;
    c->width = lp->cont_indent == lp->msg_off && end > lp->msg_off ? end - lp->msg_off : 0;
    c->last_len = n > lp->msg_off ? utf8_chars(p + lp->msg_off, n - lp->msg_off) : 0;
    c->last_word = false;
    c->last_marks = false;
    c->blanks = 0;
    c->in_tb = false;
}

/* What column_join needs to know of the line it joined, s[0..k). */
static void column_note_piece(struct colrec *c, const char *s, size_t k)
{
    size_t i = 0;
    while (i < k && s[i] == ' ')
        i++;
    c->last_len = utf8_chars(s, k);
    c->last_word = memchr(s + i, ' ', k - i) == NULL;
    c->last_marks = i < k;
    for (size_t j = i; j < k && c->last_marks; j++)
        c->last_marks = s[j] == '^' || s[j] == '~';
}

/* Does the line go on with the open record's message: indented to its column, and
 * not rich's box (its traceback)? */
static bool column_continues(const struct textlog *t, const char *p, size_t n)
{
    const struct colrec *c = &t->col[t->cur_key];
    if (!c->active || n <= c->indent)
        return false;
    if (c->tab)
        return p[0] == '\t';
    for (size_t i = 0; i < c->indent; i++)
        if (p[i] != ' ')
            return false;
    const unsigned char *q = (const unsigned char *)p + c->indent;
    return !(n - c->indent >= 3 && q[0] == 0xe2 && (q[1] == 0x95 || q[1] == 0x94));
}

/* The queued record of line `line` when it is the last thing queued, on this key,
 * and may grow by more bytes (so that a line can go on with its message); NULL
 * when not. Room for them is made in the queue's buffer: *err is set when memory
 * ran out. */
static struct qent *growable_record(struct textlog *t, uint64_t line, size_t more, bool *err)
{
    *err = false;
    if (t->qlen == 0)
        return NULL;
    struct qent *e = &t->q[t->qhead + t->qlen - 1];
    if (e->lineno != line || e->key != t->cur_key || e->absorbed || t->qbuf_len != e->off + e->len ||
        (size_t)e->len + more > t->env.limits->max_record || (size_t)e->len + more > UINT16_MAX)
        return NULL;
    if (qbuf_room(t, more) != 0) {
        *err = true;
        return NULL;
    }
    return e;
}

/* Append to record e (growable_record's): newlines newlines, the separator sep
 * (none when 0), then s[0..k), the text of line lineno. */
static void record_append(struct textlog *t, struct qent *e, unsigned newlines, char sep, const char *s,
                          size_t k, uint64_t lineno)
{
    size_t add = 0;
    for (unsigned i = 0; i < newlines; i++)
        t->qbuf[t->qbuf_len + add++] = '\n';
    if (sep != 0)
        t->qbuf[t->qbuf_len + add++] = sep;
    memcpy(t->qbuf + t->qbuf_len + add, s, k);
    t->qbuf_len += add + k;
    e->len += (uint32_t)(add + k);
    e->last_line = lineno;
}

/* Join the line to the record's message, as rich broke it: nothing between where
 * a word longer than the column was folded (the line before fills the column), a
 * blank where it wrapped at one (this line's first word would not have fitted on
 * the line before), else a newline (the message had one; a line indented further
 * always begins one). 1 when joined; 0 when it cannot be (the record is not the last
 * thing queued, or it grew too long), and the line is a line of its own. */
static int column_join(struct textlog *t, const char *p, size_t n, uint64_t lineno)
{
    struct colrec *c = &t->col[t->cur_key];
    const char *s = p + c->indent;
    size_t k = n - c->indent;
    bool err;
    struct qent *e = growable_record(t, c->line, c->blanks + 1 + k, &err);
    if (e == NULL)
        return err ? -1 : 0;
    size_t w = 0;
    while (w < k && s[w] != ' ')
        w++;
    char sep = '\n';
    static const char tb_head[] = "Traceback (most recent call";
    if (k >= sizeof(tb_head) - 1 && memcmp(s, tb_head, sizeof(tb_head) - 1) == 0)
        c->in_tb = true;
    size_t tl, ml;
    const char *m;
    if (c->width > 0 && s[0] != ' ' && c->blanks == 0) {
        bool marks = s[0] == '^' || s[0] == '~';
        if (c->last_len == c->width && c->last_word)
            sep = 0; /* a word longer than the column, folded */
        else if (c->last_marks && !marks)
            sep = '\n'; /* a traceback's carets end their line */
        else if (c->in_tb && tbl_exception_line(s, k, true, &tl, &m, &ml))
            sep = '\n'; /* in a traceback, "Type: message" begins a line */
        else if (c->last_len + 1 + utf8_chars(s, w) > c->width)
            sep = ' ';
    }
    record_append(t, e, c->blanks, sep, s, k, lineno);
    e->joined = true;
    c->blanks = 0;
    column_note_piece(c, s, k);
    return 1;
}

/* Could the unprefixed line introduce a traceback itself ("Exception in thread X:",
 * Django's "Internal Server Error: /path", multiprocessing's "Process NAME:")? Then
 * it is no record's message. */
static bool own_line(const char *p, size_t n)
{
    if (may_introduce(p, n) || str_starts(ev_str_make(p, n), "Internal Server Error: "))
        return true;
    /* A rule ("-----", "=====", "_____"): IPython draws one before its traceback,
     * pytest between its sections. */
    size_t i = 0;
    while (i < n && (p[i] == '-' || p[i] == '=' || p[i] == '_' || p[i] == ' '))
        i++;
    return i == n && n >= 20;
}

/* Twisted logs an unhandled Deferred's failure as two records: "Unhandled error in
 * Deferred:", then one with an empty message whose lines (indented by a tab) are
 * the traceback. The empty record (lp, line lineno) is the first's: its lines go on
 * with the first's message. True when the record just before is that one. */
static bool failure_goes_on(struct textlog *t, const struct logprefix *lp, const char *p, uint64_t lineno)
{
    struct qent *prev = lineno > 1 ? queued_line(t, lineno - 1) : NULL;
    if (prev == NULL || !prev->prefixed || !prev->lp.cont_tab || prev->continued || prev->joined)
        return false;
    const char *q = t->qbuf + prev->off;
    ev_str msg = entry_message(t, prev);
    size_t ml = tbl_rtrim(msg.ptr, msg.len);
    if (ml == 0 || msg.ptr[ml - 1] != ':' || prev->lp.logger_len != lp->logger_len ||
        memcmp(q + prev->lp.logger_off, p + lp->logger_off, lp->logger_len) != 0)
        return false;
    column_opened(t, &prev->lp, q, prev->len, prev->len, prev->lineno);
    return true;
}

/* Follow an unprefixed asyncio report (aio_from) over its context lines. */
static void aio_track(struct textlog *t, const char *p, size_t n, uint64_t lineno, bool prefixed)
{
    uint64_t *af = &t->aio_from[t->cur_key];
    enum tbl_intro k = prefixed ? TBL_INTRO_NONE : tbl_introducer(p, n);
    if (k == TBL_INTRO_ASYNCIO)
        *af = lineno;
    else if (!(k == TBL_INTRO_ASYNCIO_CONTEXT && *af != 0 && lineno - *af <= AIO_CONTEXT_MAX))
        *af = 0;
}

/* Join an unprefixed line to the message of the record before it (t->more): 1 when
 * joined; 0 when it cannot be (the record is not the last thing queued, or it grew
 * too long), and the line is a line of its own. */
#define MORE_MAX_LINES 256 /* lines joined to one record at most */
static int more_join(struct textlog *t, const char *p, size_t n, uint64_t lineno)
{
    struct msgmore *mm = &t->more[t->cur_key];
    if (mm->lines >= MORE_MAX_LINES)
        return 0;
    bool err;
    struct qent *e = growable_record(t, mm->line, mm->blanks + 1 + n, &err);
    if (e == NULL)
        return err ? -1 : 0;
    /* Only the lines right after it, so that each joined line's number is known
     * from its place in the message (see emit_continued). */
    if (lineno != e->last_line + mm->blanks + 1)
        return 0;
    record_append(t, e, mm->blanks, '\n', p, n, lineno);
    e->continued = true;
    mm->blanks = 0;
    mm->lines++;
    return 1;
}

/* One logical line (transport framing removed). */
/* Nothing open, nothing waiting: a plain record goes out as it comes (content_line).
 * What min_open looks at, and the queue. */
static bool quiet(const struct textlog *t)
{
    return t->qlen == 0 && min_open(t) == UINT64_MAX;
}

static int content_line(struct textlog *t, const char *p, size_t n, uint64_t lineno)
{
    /* Coloured output (Python 3.13+ on a terminal, colourful formatters) is read
     * as the same text without its colours. Only streams that have shown an ESC
     * pay for the check; docker's lines show theirs only once unescaped. */
    if ((t->esc_seen || t->transport == TR_DOCKER) && n > 0 && memchr(p, ANSI_ESC, n) != NULL &&
        strip_escapes(t, &p, &n) != 0)
        return -1;
    /* Blanks at the end say nothing (RichHandler pads every line to the console's
     * width); a record's message should not carry them. */
    size_t padded_n = n;
    if (n > 0 && p[n - 1] == ' ')
        n = tbl_rtrim(p, n);
    if (n > 0 && (t->ps.open || may_open_section(p, n))) {
        int rc = section_line(t, p, n, lineno);
        if (rc != 0)
            return rc;
    }
    int fh = fh_hook(t, p, n, lineno);
    if (fh != 0)
        return fh > 0 ? 0 : fh;
    struct tb_asm *as = asm_for(t, t->cur_key);
    if (as == NULL)
        return -1;
    struct logprefix lp;
    bool prefixed, plain;
    const struct tl_note_line *e = noted(t, p, n);
    if (e != NULL) {
        prefixed = e->prefixed;
        plain = e->plain;
        if (prefixed)
            prefix_from_note(e, &lp);
    } else {
        prefixed = n > 0 && logprefix_cached(&t->lpc, p, n, &lp);
        plain = prefixed && is_plain(&lp, p, n);
    }
    if (plain && !lp.time_omitted && quiet(t) && tb_asm_quiet_record(as)) {
        /* The common case at its shortest: a plain record with nothing open or
         * waiting. What follows would find it foreign to the assembler, forget
         * any asyncio report, and emit it straight from the line. */
        t->aio_from[t->cur_key] = 0;
        return emit_line(t, p, n, lineno, t->cur_key, &lp, t->cur_has_tts, t->cur_tts);
    }
    aio_track(t, p, n, lineno, prefixed);
    struct colrec *col = &t->col[t->cur_key];
    if (prefixed && (lp.cont_indent || lp.time_omitted)) {
        /* RichHandler: a blank time column repeats the last time; its path column is
         * not the message's */
        if (lp.time_omitted && col->has_ts) {
            lp.has_ts = true;
            lp.ts_ns = col->ts_ns;
        } else if (lp.has_ts) {
            col->has_ts = true;
            col->ts_ns = lp.ts_ns;
        }
        if (lp.msg_end > lp.msg_off && lp.msg_end < n)
            n = lp.msg_end;
    }
    if (col->active) {
        /* The column's lines are the record's, whatever they hold (a traceback that
         * logging formatted into the message too): not the assembler's. */
        if (!prefixed && n == 0 && col->blanks < 8) {
            col->blanks++; /* maybe an empty line of the message: known when it goes on */
            return 0;
        }
        int joined = !prefixed && column_continues(t, p, n) ? column_join(t, p, n, lineno) : 0;
        if (joined < 0)
            return -1;
        if (joined > 0)
            return 0; /* the record waits in the queue for more */
        col->active = false;
    }
    enum tb_claim claim;
    int rc = tb_asm_line(as, p, n, lineno, prefixed, &claim);
    if (rc != 0)
        return rc < 0 ? -1 : rc;
    struct msgmore *mm = &t->more[t->cur_key];
    if (mm->active) {
        /* The record's message goes on over the lines no traceback takes. Blank
         * lines are held until it is known whether the message goes on after them. */
        if (claim == TB_FOREIGN && !prefixed) {
            if (n == 0 && mm->blanks < 8) {
                mm->blanks++;
                return 0;
            }
            /* Not a line that may start a block with the next one (a remote
             * traceback's carrier): the block takes it from the queue. */
            bool own = own_line(p, n) || tb_asm_carrier_line(as) == lineno || t->ps.open;
            int joined = n > 0 && !own ? more_join(t, p, n, lineno) : 0;
            if (joined < 0)
                return -1;
            if (joined > 0)
                return 0; /* the record waits in the queue for more */
        }
        mm->active = false;
    }
    if (claim == TB_FOREIGN && plain) {
        /* The common case: a plain record. Nothing before it can be absorbed by a
         * traceback any more (only the line just before one is, or the two of an
         * asyncio report), and it introduces nothing itself: what waits goes out
         * up to it, and when no traceback is open it goes out straight from the
         * line, without the queue. */
        uint64_t mo = min_open(t);
        if (t->qlen > 0 && release(t, mo < lineno ? mo : lineno, false) != 0)
            return t->stop;
        if (t->qlen == 0 && mo == UINT64_MAX)
            return emit_line(t, p, n, lineno, t->cur_key, &lp, t->cur_has_tts, t->cur_tts);
    }
    if (claim == TB_STARTED) {
        uint64_t first = tb_asm_started_line(as);
        if (first != 0 && first < lineno) {
            struct qent *carrier = queued_line(t, first);
            if (carrier != NULL)
                carrier->absorbed = true;
        }
        attach_intro(t, as, first ? first : lineno);
    }
    else if (claim == TB_FOREIGN && prefixed && lp.cont_tab && lp.msg_off >= n && failure_goes_on(t, &lp, p, lineno)) {
        return 0; /* the record before takes the failure's lines */
    }
    else if (claim == TB_FOREIGN && !tbl_is_blank(p, n)) {
        rc = enqueue(t, p, n, lineno, prefixed, &lp);
        if (rc != 0)
            return rc;
        if (prefixed && lp.cont_indent) {
            column_opened(t, &lp, p, n, padded_n, lineno);
        } else if (prefixed && lp.level >= EV_LVL_ERROR) {
            /* logger.exception's level. A WARNING before a bare traceback is more
             * likely a record of its own (a message-only handler's lines between)
             * than the crash's: the crash keeps its own severity. */
            mm->active = true;
            mm->line = lineno;
            mm->blanks = 0;
            mm->lines = 0;
        }
    }
    /* Keep the last two lines: the next line may start a traceback they introduce;
     * more while an asyncio report's context lines go on. */
    uint64_t bound = lineno > 1 ? lineno - 1 : 0;
    uint64_t af = t->aio_from[t->cur_key];
    if (af != 0 && af < bound)
        bound = af;
    uint64_t mo = min_open(t);
    return release(t, mo < bound ? mo : bound, false);
}

/* ---- transports ---- */

static int partial_add(struct partial *pa, const char *p, size_t n, uint64_t lineno, size_t max)
{
    if (!pa->active) {
        pa->active = true;
        pa->len = 0;
        pa->lineno = lineno;
    }
    if (pa->len + n > max)
        n = pa->len < max ? max - pa->len : 0;
    if (buf_reserve(&pa->buf, &pa->cap, pa->len + n, 1024) != 0)
        return -1;
    if (n > 0) /* an empty partial may come first, before any buffer exists */
        memcpy(pa->buf + pa->len, p, n);
    pa->len += n;
    return 0;
}

/* Deliver a complete logical line for key, joining any pending partial. */
static int keyed_line(struct textlog *t, uint8_t key, const char *p, size_t n, uint64_t lineno,
                      bool complete)
{
    struct partial *pa = &t->partial[key];
    t->cur_key = key;
    if (!complete || pa->active) {
        if (partial_add(pa, p, n, lineno, t->env.limits->max_line) != 0)
            return -1;
        if (!complete)
            return 0;
        pa->active = false;
        return content_line(t, pa->buf, pa->len, pa->lineno);
    }
    return content_line(t, p, n, lineno);
}

static bool cri_prefix(const char *p, size_t n, int64_t *ts, uint8_t *key, bool *complete,
                       size_t *content_off)
{
    size_t used = evtime_parse_prefix(p, n, ts);
    if (used == 0 || used >= n || p[used] != ' ')
        return false;
    size_t i = used + 1;
    if (n - i >= 7 && memcmp(p + i, "stdout ", 7) == 0)
        *key = 1;
    else if (n - i >= 7 && memcmp(p + i, "stderr ", 7) == 0)
        *key = 2;
    else
        return false;
    i += 7;
    if (i + 1 > n || (p[i] != 'P' && p[i] != 'F') || (i + 1 < n && p[i + 1] != ' '))
        return false;
    *complete = p[i] == 'F';
    *content_off = i + 1 < n ? i + 2 : n;
    return true;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescape the JSON string starting after its opening quote at p (n bytes left).
 * Writes to out (room for n bytes is enough: escapes never expand). Returns the
 * number of input bytes up to and including the closing quote, or 0 if malformed. */
static size_t json_unescape(const char *p, size_t n, char *out, size_t *out_len)
{
    size_t i = 0, o = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            *out_len = o;
            return i + 1;
        }
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            return 0;
        char e = p[i + 1];
        i += 2;
        switch (e) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case '/': out[o++] = '/'; break;
        case '\\': out[o++] = '\\'; break;
        case '"': out[o++] = '"'; break;
        case 'u': {
            if (i + 4 > n)
                return 0;
            int h[4];
            for (int k = 0; k < 4; k++)
                if ((h[k] = hex_value(p[i + (size_t)k])) < 0)
                    return 0;
            uint32_t cp = (uint32_t)(h[0] << 12 | h[1] << 8 | h[2] << 4 | h[3]);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && p[i] == '\\' && p[i + 1] == 'u') {
                int l[4], ok = 1;
                for (int k = 0; k < 4; k++)
                    if ((l[k] = hex_value(p[i + 2 + (size_t)k])) < 0)
                        ok = 0;
                uint32_t lo = ok ? (uint32_t)(l[0] << 12 | l[1] << 8 | l[2] << 4 | l[3]) : 0;
                if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD;
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

/* Find `"key":"` after position from; returns the offset after the opening quote. */
static size_t find_key(const char *p, size_t n, size_t from, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = from; i + k <= n; i++)
        if (memcmp(p + i, key, k) == 0)
            return i + k;
    return 0;
}

static int docker_line(struct textlog *t, const char *p, size_t n, uint64_t lineno)
{
    static const char lead[] = "{\"log\":\"";
    if (n < sizeof(lead) - 1 || memcmp(p, lead, sizeof(lead) - 1) != 0) {
        if (t->env.diag)
            t->env.diag(t->env.diag_ctx, t->env.stream, lineno, "not a docker json-file line, skipped");
        return 0;
    }
    if (n > t->dbuf_cap) {
        char *nb = realloc(t->dbuf, n);
        if (nb == NULL)
            return -1;
        t->dbuf = nb;
        t->dbuf_cap = n;
    }
    size_t off = sizeof(lead) - 1, len = 0;
    size_t used = json_unescape(p + off, n - off, t->dbuf, &len);
    if (used == 0) {
        if (t->env.diag)
            t->env.diag(t->env.diag_ctx, t->env.stream, lineno, "invalid JSON string in docker log line, skipped");
        return 0;
    }
    size_t rest = off + used;
    uint8_t key = 0;
    size_t s = find_key(p, n, rest, "\"stream\":\"");
    if (s && n - s >= 6 && memcmp(p + s, "stdout", 6) == 0)
        key = 1;
    else if (s && n - s >= 6 && memcmp(p + s, "stderr", 6) == 0)
        key = 2;
    size_t ts = find_key(p, n, rest, "\"time\":\"");
    t->cur_has_tts = false;
    if (ts) {
        const char *q = memchr(p + ts, '"', n - ts);
        int64_t v;
        if (q != NULL && evtime_parse_field(p + ts, (size_t)(q - (p + ts)), &v)) {
            t->cur_has_tts = true;
            t->cur_tts = v;
        }
    }
    bool complete = len > 0 && t->dbuf[len - 1] == '\n';
    if (complete)
        len--;
    if (len > 0 && t->dbuf[len - 1] == '\r')
        len--;
    return keyed_line(t, key, t->dbuf, len, lineno, complete);
}

static int on_line(void *ctx, const char *p, size_t n, uint64_t lineno, bool truncated)
{
    struct textlog *t = ctx;
    if (t->stop)
        return t->stop;
    if (truncated && t->env.diag)
        t->env.diag(t->env.diag_ctx, t->env.stream, lineno, "line longer than the line limit, truncated");
    if (t->transport == TR_UNKNOWN) {
        int64_t ts;
        uint8_t key;
        bool complete;
        size_t off;
        if (n > 8 && memcmp(p, "{\"log\":\"", 8) == 0)
            t->transport = TR_DOCKER;
        else if (cri_prefix(p, n, &ts, &key, &complete, &off))
            t->transport = TR_CRI;
        else if ((t->framing = framing_detect(p, n)) != FR_NONE)
            t->transport = TR_FRAMED;
        else if (n > 7 && p[0] == '(' && framing_parse(FR_RAY, p, n, &(struct framed){0})) {
            t->transport = TR_FRAMED;
            t->framing = FR_RAY;
        }
        else if (lineno >= FRAMING_PROBE_LINES)
            t->transport = TR_PLAIN;
    }
    int rc;
    switch (t->transport) {
    case TR_FRAMED: {
        struct framed f;
        if (!framing_parse(t->framing, p, n, &f)) {
            size_t col = t->frame_col;
            if (col > 0 && n >= col && tbl_indent(p, n) >= col) {
                /* journalctl prints a message's further lines indented to its
                 * column (a blank one as the column's blanks): the same writer's
                 * next line, on its key. */
                rc = keyed_line(t, t->frame_key, p + col, n - col, lineno, true);
                break;
            }
            /* The collector's own line ("-- Boot 2f3c... --"): on no writer. */
            t->frame_col = 0;
            t->cur_has_tts = false;
            rc = keyed_line(t, 0, p, n, lineno, true);
            break;
        }
        t->cur_has_tts = f.has_ts;
        t->cur_tts = f.ts_ns;
        t->frame_key = f.source_len > 0 ? named_key(t, &f) : 0;
        t->frame_col = t->framing == FR_JOURNAL ? f.content_off : 0;
        t->frame_line = lineno;
        rc = keyed_line(t, t->frame_key, p + f.content_off, n - f.content_off, lineno, true);
        break;
    }
    case TR_DOCKER:
        rc = docker_line(t, p, n, lineno);
        break;
    case TR_CRI: {
        int64_t ts;
        uint8_t key;
        bool complete;
        size_t off;
        if (!cri_prefix(p, n, &ts, &key, &complete, &off)) {
            /* A line without framing in a CRI file: keep it, on no stream. */
            t->cur_has_tts = false;
            rc = keyed_line(t, 0, p, n, lineno, true);
            break;
        }
        t->cur_has_tts = true;
        t->cur_tts = ts;
        rc = keyed_line(t, key, p + off, n - off, lineno, complete);
        break;
    }
    default: {
        struct framed f;
        if (n > 7 && p[0] == '(' && t->transport == TR_PLAIN && framing_parse(FR_RAY, p, n, &f)) {
            /* Ray's driver: its workers' lines come among its own, from any line on. */
            t->transport = TR_FRAMED;
            t->framing = FR_RAY;
            return on_line(ctx, p, n, lineno, false);
        }
        t->cur_key = 0;
        t->cur_has_tts = false;
        rc = content_line(t, p, n, lineno);
        break;
    }
    }
    if (rc < 0)
        t->oom = true;
    return rc;
}

/* ---- the parser ---- */

static void *textlog_open(const struct parser_env *env)
{
    struct textlog *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->env = *env;
    if (t->env.limits == NULL)
        t->env.limits = &parse_limits_default;
    linesplit_init(&t->ls, t->env.limits->max_line);
    logprefix_cache_init(&t->lpc);
    t->nkeys = t->nnamed = KEY_NAMED;
    return t;
}

/* The parser takes the chunk's bytes below `to` for its own: the helper stops
 * there. */
static void note_claim(struct textlog *t, uint32_t to)
{
    if (to <= t->claimed)
        return;
    t->claimed = to;
    atomic_store_explicit(&t->note->parser_at, to, memory_order_relaxed);
}

/* Feed with the chunk's note: the lines it lists are delivered where it says they
 * end, without searching for their newlines again. What it does not cover yet (a
 * line carried from the chunk before, lines the helper has not come down to, the
 * tail after the last line) the parser claims a piece at a time and puts through
 * the splitter as usual. */
static int feed_noted(struct textlog *t, const char *p, const char *end)
{
    const char *base = t->note_base;
    if (p < base || end > base + t->note_len)
        return linesplit_feed(&t->ls, p, (size_t)(end - p), on_line, t);
    int rc;
    if (!linesplit_idle(&t->ls)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL ? nl + 1 : end;
        note_claim(t, (uint32_t)(stop - base));
        if ((rc = linesplit_feed(&t->ls, p, (size_t)(stop - p), on_line, t)) != 0)
            return rc;
        p = stop;
    }
    while (p < end) {
        uint32_t off = (uint32_t)(p - base);
        const struct tl_note_line *e = off >= t->claimed ? note_seek(t, off) : NULL;
        if (e != NULL && e->off == off && (size_t)(end - p) > e->raw) {
            if ((rc = linesplit_line(&t->ls, p, e->raw, on_line, t)) != 0)
                return rc;
            p += e->raw + 1;
            continue;
        }
        /* A piece of its own: NOTE_PIECE bytes or up to the next line noted,
         * through to the end of the line it ends in. */
        size_t lim = (size_t)off + NOTE_PIECE;
        if (e != NULL && e->off > off && e->off < lim)
            lim = e->off;
        const char *q = lim < (size_t)(end - base) ? base + lim : end;
        const char *nl = memchr(q - 1, '\n', (size_t)(end - (q - 1)));
        const char *stop = nl != NULL ? nl + 1 : end;
        note_claim(t, (uint32_t)(stop - base));
        if ((rc = linesplit_feed(&t->ls, p, (size_t)(stop - p), on_line, t)) != 0)
            return rc;
        p = stop;
    }
    return 0;
}

static int textlog_feed(void *st, const char *buf, size_t len)
{
    struct textlog *t = st;
    if (!t->esc_seen) {
        /* Sticky: a line carried into the next chunk was checked with its start.
         * The helper looks at the whole chunk: an ESC anywhere in it turns the
         * check on a little early, which changes nothing but the check's cost. */
        unsigned esc = 0;
        if (t->note != NULL && buf >= t->note_base && buf + len <= t->note_base + t->note_len)
            esc = atomic_load_explicit(&t->note->esc, memory_order_acquire);
        t->esc_seen = esc != 0 ? esc == 2 : memchr(buf, ANSI_ESC, len) != NULL;
    }
    int rc = t->note != NULL ? feed_noted(t, buf, buf + len) : linesplit_feed(&t->ls, buf, len, on_line, t);
    return t->oom ? -1 : rc;
}

static int textlog_finish(void *st)
{
    struct textlog *t = st;
    int rc = linesplit_finish(&t->ls, on_line, t);
    if (rc != 0)
        return t->oom ? -1 : rc;
    for (uint8_t k = 0; k < NKEYS; k++) {
        struct partial *pa = &t->partial[k];
        if (pa->active) {
            pa->active = false;
            t->cur_key = k;
            if ((rc = content_line(t, pa->buf, pa->len, pa->lineno)) != 0)
                return rc;
        }
    }
    if (t->ps.open && (rc = close_section(t)) != 0)
        return rc;
    for (uint8_t k = 0; k < NKEYS; k++) {
        if (t->fh[k] != NULL && (rc = fh_scan_finish(t->fh[k])) != 0) /* issue #8 hook */
            return rc;
        if (t->asm_[k] == NULL)
            continue;
        t->cur_key = k;
        if ((rc = tb_asm_flush(t->asm_[k])) != 0)
            return rc;
    }
    return release(t, UINT64_MAX, false);
}

static void textlog_close(void *st)
{
    struct textlog *t = st;
    if (t == NULL)
        return;
    for (int k = 0; k < NKEYS; k++) {
        tb_asm_destroy(t->asm_[k]);
        fh_scan_destroy(t->fh[k]);
        free(t->partial[k].buf);
    }
    linesplit_free(&t->ls);
    free(t->q);
    free(t->qbuf);
    free(t->dbuf);
    free(t->abuf);
    free(t->ps.lines);
    free(t->ps.sbuf);
    arena_free(&t->ps.a);
    arena_free(&t->col_arena);
    free(t);
}

/* The oldest line not yet out: the queue head, an open traceback, a CRI/docker
 * partial line being joined, or a line the splitter is still assembling. */
static uint64_t textlog_held_from(void *st)
{
    const struct textlog *t = st;
    uint64_t m = min_open(t);
    /* An open block may have absorbed the record or introducer up to two lines
     * before it (attach_intro); its event will be named after that line. */
    if (m != UINT64_MAX)
        m = m > 2 ? m - 2 : 1;
    if (t->qlen > 0 && t->q[t->qhead].lineno < m)
        m = t->q[t->qhead].lineno;
    for (int k = 0; k < NKEYS; k++)
        if (t->partial[k].active && t->partial[k].lineno < m)
            m = t->partial[k].lineno;
    if (t->ps.open && t->ps.first_line < m)
        m = t->ps.first_line;
    for (int k = 0; k < NKEYS; k++) { /* issue #8 hook: a dump still being read */
        uint64_t d = fh_scan_held_from(t->fh[k]);
        if (d != 0 && d < m)
            m = d;
    }
    if ((t->ls.len > 0 || t->ls.skipping) && t->ls.lineno + 1 < m)
        m = t->ls.lineno + 1;
    return m == UINT64_MAX ? 0 : m;
}

/* Evidence: docker framing and CRI prefixes are strong; tracebacks and logging
 * prefixes are good; any other text is a weak fallback; binary data is not ours. */
static int textlog_bid(const char *buf, size_t len, bool at_eof)
{
    (void)at_eof;
    if (len == 0)
        return 1;
    size_t bad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0)
            return 0;
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b)
            bad++;
    }
    if (bad * 20 > len)
        return 0;
    const char *nl = memchr(buf, '\n', len);
    size_t first = nl ? (size_t)(nl - buf) : len;
    if (first > 8 && memcmp(buf, "{\"log\":\"", 8) == 0)
        return 40;
    int64_t ts;
    uint8_t key;
    bool complete;
    size_t off;
    if (cri_prefix(buf, first, &ts, &key, &complete, &off))
        return 30;
    static const char tb[] = "Traceback (most recent call last):";
    for (size_t i = 0; i + sizeof(tb) - 1 <= len; i++)
        if (buf[i] == 'T' && memcmp(buf + i, tb, sizeof(tb) - 1) == 0)
            return 20;
    struct logprefix lp;
    char plain[512];
    const char *line = buf;
    if (first <= sizeof(plain) && memchr(buf, ANSI_ESC, first) != NULL) {
        first = ansi_strip(buf, first, plain);
        line = plain;
    }
    if (logprefix_parse(line, first, &lp))
        return 16;
    if (buf[0] == '{' || buf[0] == '[')
        return 1; /* JSON that the JSON parser refused: still readable as text */
    return 2;
}

const struct parser parser_text = {
    .name = "text",
    .parse_on_own_thread = true,
    .description = "plain-text logs and stderr: Python logging records, tracebacks, CRI and docker framing",
    .bid = textlog_bid,
    .open = textlog_open,
    .feed = textlog_feed,
    .finish = textlog_finish,
    .close = textlog_close,
    .held_from = textlog_held_from,
    .note = textlog_note,
    .take_note = textlog_take_note,
};
