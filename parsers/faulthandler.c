/* faulthandler.c -- faulthandler dumps and fatal-error reports; see faulthandler.h.
 *
 * The scanner is a small state machine over lines:
 *   IDLE    no dump open; a dump-start line opens one
 *   HEADER  a "Fatal Python error" / "Timeout" line was read; the thread sections
 *           follow, possibly after "Python runtime state" and, for a Py_FatalError
 *           with a pending exception, a traceback (left to the caller) -- so up to
 *           HEADER_PATIENCE foreign lines are let through while waiting
 *   THREAD  inside a thread section: frame lines, "<no Python frame>", "..."
 *   GAP     after the blank line that ends a section: another thread, the
 *           "Extension modules" line, or the end of the dump
 * A line that fits no state ends the dump: it is emitted, and the line is foreign.
 */
#include "faulthandler.h"

#include <stdlib.h>
#include <string.h>

#include "dumpbuild.h"

#define HEADER_PATIENCE 64

enum fh_state { FH_IDLE = 0, FH_HEADER, FH_THREAD, FH_GAP };

struct fh_scan {
    const struct parser_env *env;
    struct parser_env benv;  /* the builder's env: emits through on_built */
    fh_emit_fn emit;
    void *ctx;
    struct dumpb b;
    bool b_ready;
    enum fh_state state;
    unsigned waited;         /* foreign lines let through in HEADER */
    long cur;                /* index of the thread being read, -1 when none */
    long current;            /* index of the "Current thread", -1 when none */
    bool c_stack;            /* reading "Current thread's C stack trace" */
};

static bool starts(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

static bool ends(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p + n - k, lit, k) == 0;
}

static int on_built(void *ctx, const struct event *ev)
{
    struct fh_scan *s = ctx;
    return s->emit(s->ctx, ev->src.line, ev);
}

struct fh_scan *fh_scan_create(const struct parser_env *env, fh_emit_fn emit, void *ctx)
{
    struct fh_scan *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->env = env;
    s->benv = *env;
    s->benv.emit = on_built;
    s->benv.emit_ctx = s;
    s->emit = emit;
    s->ctx = ctx;
    s->cur = s->current = -1;
    return s;
}

void fh_scan_destroy(struct fh_scan *s)
{
    if (s == NULL)
        return;
    if (s->b_ready)
        dumpb_free(&s->b);
    free(s);
}

/* ---- line recognizers ---- */

/* "Thread 0x<hex>[ [name]] (most recent call first):", with "Current " before it
 * for the current thread. Sets the id slice and ident. */
static bool thread_header(const char *p, size_t n, bool *current, const char **id, size_t *idlen,
                          uint64_t *ident, const char **name, size_t *namelen)
{
    size_t i;
    *current = false;
    if (starts(p, n, "Current thread 0x")) {
        *current = true;
        i = 15;
    } else if (starts(p, n, "Thread 0x")) {
        i = 7;
    } else {
        return false;
    }
    if (!ends(p, n, " (most recent call first):"))
        return false;
    size_t j = i + 2;
    while (j < n && ((p[j] >= '0' && p[j] <= '9') || (p[j] >= 'a' && p[j] <= 'f') || (p[j] >= 'A' && p[j] <= 'F')))
        j++;
    if (j == i + 2 || !ev_dump_parse_u64(p + i, j - i, ident))
        return false;
    *id = p + i;
    *idlen = j - i;
    *name = NULL;
    *namelen = 0;
    size_t tail = n - strlen(" (most recent call first):");
    if (j < tail && p[j] == ' ' && p[j + 1] == '[' && p[tail - 1] == ']') {
        *name = p + j + 2; /* 3.14 prints the OS thread name in brackets */
        *namelen = tail - 1 - (j + 2);
    } else if (j != tail) {
        return false;
    }
    return true;
}

/* '  File "x.py", line 12 in f' -- faulthandler's frame line (no comma before "in");
 * "???" stands for an unknown file, line or name. */
static bool frame_line(const char *p, size_t n, ev_str *file, uint32_t *line, ev_str *func)
{
    if (!starts(p, n, "  File "))
        return false;
    size_t i = 7;
    size_t mark = 0;
    for (size_t k = n; k >= i + 7; k--) /* the last ", line ": a path may hold one */
        if (memcmp(p + k - 7, ", line ", 7) == 0) {
            mark = k - 7;
            break;
        }
    if (mark == 0)
        return false;
    if (p[i] == '"' && mark > i + 1 && p[mark - 1] == '"')
        *file = ev_str_make(p + i + 1, mark - 1 - (i + 1));
    else if (mark - i == 3 && memcmp(p + i, "???", 3) == 0)
        *file = EV_STR_NULL;
    else
        return false;
    size_t k = mark + 7;
    uint32_t v = 0;
    if (starts(p + k, n - k, "???")) {
        k += 3;
    } else {
        size_t d = k;
        while (k < n && p[k] >= '0' && p[k] <= '9' && k - d < 9)
            v = v * 10 + (uint32_t)(p[k++] - '0');
        if (k == d)
            return false;
    }
    if (!starts(p + k, n - k, " in "))
        return false;
    *line = v;
    *func = ev_str_make(p + k + 4, n - k - 4);
    return true;
}

/* '  Binary file "/usr/bin/python3", at _Py_DumpStack+0x4c [0x55..]' (3.14 C stack). */
static bool c_frame_line(const char *p, size_t n, ev_str *file, ev_str *func)
{
    if (!starts(p, n, "  Binary file \""))
        return false;
    const char *q = memchr(p + 15, '"', n - 15);
    if (q == NULL)
        return false;
    *file = ev_str_make(p + 15, (size_t)(q - (p + 15)));
    size_t k = (size_t)(q - p) + 1;
    *func = EV_STR_NULL;
    if (starts(p + k, n - k, ", at ")) {
        size_t s = k + 5, e = s;
        while (e < n && p[e] != ' ' && p[e] != '+')
            e++;
        *func = ev_str_make(p + s, e - s);
    }
    return true;
}

static bool fatal_header(const char *p, size_t n, size_t *msg_off)
{
    if (starts(p, n, "Fatal Python error: ")) {
        *msg_off = 20;
        return true;
    }
    if (starts(p, n, "Windows fatal exception: ")) {
        *msg_off = 25;
        return true;
    }
    return false;
}

/* "Timeout (0:00:05)!" written by dump_traceback_later. */
static bool timeout_header(const char *p, size_t n)
{
    return starts(p, n, "Timeout (") && n >= 12 && n < 40 && p[n - 1] == '!' && p[n - 2] == ')';
}

bool fh_is_dump_start(const char *p, size_t n)
{
    size_t off;
    bool cur;
    const char *id, *name;
    size_t idl, nl;
    uint64_t ident;
    return fatal_header(p, n, &off) || timeout_header(p, n) || starts(p, n, "Stack (most recent call first):") ||
           thread_header(p, n, &cur, &id, &idl, &ident, &name, &nl);
}

/* ---- the machine ---- */

static struct ev_dthread *cur_thread(struct fh_scan *s)
{
    return s->cur >= 0 && (size_t)s->cur < s->b.nthreads ? &s->b.threads[s->cur] : NULL;
}

static int finish_dump(struct fh_scan *s)
{
    s->state = FH_IDLE;
    s->cur = s->current = -1;
    s->c_stack = false;
    s->waited = 0;
    if (!s->b_ready)
        return 0;
    return dumpb_emit(&s->b, EV_THREAD_DUMP);
}

static void open_dump(struct fh_scan *s, uint64_t ln)
{
    if (!s->b_ready) {
        dumpb_init(&s->b, &s->benv, EV_DUMP_FAULTHANDLER);
        s->b_ready = true;
    }
    dumpb_reset(&s->b);
    dumpb_touch(&s->b, ln);
    s->cur = s->current = -1;
    s->c_stack = false;
    s->waited = 0;
}

static void add_thread(struct fh_scan *s, bool current, const char *id, size_t idl, uint64_t ident,
                       const char *name, size_t nl)
{
    struct ev_dthread *t = dumpb_thread(&s->b);
    if (t == NULL) {
        s->cur = -1;
        return;
    }
    t->id = dumpb_str(&s->b, id, idl);
    t->ident = ident;
    t->is_current = current;
    if (name != NULL)
        t->name = dumpb_str(&s->b, name, nl);
    s->cur = (long)(s->b.nthreads - 1);
    if (current)
        s->current = s->cur;
}

/* "Extension modules: a, b, c (total: 3)" */
static void modules_line(struct fh_scan *s, const char *p, size_t n)
{
    size_t i = 19, end = n;
    const char *tot = NULL;
    for (size_t k = n; k > i + 8; k--)
        if (memcmp(p + k - 9, " (total: ", 9) == 0) {
            tot = p + k;
            end = k - 9;
            break;
        }
    while (i < end) {
        size_t j = i;
        while (j < end && p[j] != ',')
            j++;
        size_t a = i, z = j;
        while (a < z && p[a] == ' ')
            a++;
        if (z > a)
            dumpb_module(&s->b, p + a, z - a);
        i = j + 1;
    }
    if (tot != NULL) {
        uint64_t v;
        const char *q = memchr(tot, ')', (size_t)(p + n - tot));
        if (q != NULL && ev_dump_parse_u64(tot, (size_t)(q - tot), &v) && v < UINT32_MAX &&
            v >= s->b.d.modules_total)
            s->b.d.modules_total = (uint32_t)v;
    }
}

/* A line that starts a dump section (thread, stack, C stack). Returns true when
 * it was one and was taken. */
static bool section_start(struct fh_scan *s, const char *p, size_t n)
{
    bool cur;
    const char *id, *name;
    size_t idl, nl;
    uint64_t ident;
    if (thread_header(p, n, &cur, &id, &idl, &ident, &name, &nl)) {
        add_thread(s, cur, id, idl, ident, name, nl);
        s->c_stack = false;
        s->state = FH_THREAD;
        return true;
    }
    if (starts(p, n, "Stack (most recent call first):")) {
        /* all_threads=False: the calling thread, id not printed. */
        add_thread(s, true, NULL, 0, 0, NULL, 0);
        s->c_stack = false;
        s->state = FH_THREAD;
        return true;
    }
    if (starts(p, n, "Current thread's C stack trace")) {
        s->cur = s->current;
        s->c_stack = true;
        s->state = FH_THREAD;
        return true;
    }
    return false;
}

static int start_line(struct fh_scan *s, const char *p, size_t n, uint64_t ln)
{
    size_t off;
    if (fatal_header(p, n, &off)) {
        open_dump(s, ln);
        struct ev_dump *d = &s->b.d;
        d->header = dumpb_str(&s->b, p, n);
        d->fatal_error = dumpb_str(&s->b, p + off, n - off);
        const char *sig = ev_dump_signal_of(p + off, n - off);
        if (sig != NULL)
            d->signal = ev_str_make(sig, strlen(sig)); /* static text */
        s->b.level = EV_LVL_CRITICAL;
        s->state = FH_HEADER;
        return 1;
    }
    if (timeout_header(p, n)) {
        open_dump(s, ln);
        s->b.d.header = dumpb_str(&s->b, p, n);
        s->state = FH_HEADER;
        return 1;
    }
    if (fh_is_dump_start(p, n)) {
        open_dump(s, ln);
        section_start(s, p, n);
        return 1;
    }
    return 0;
}

int fh_scan_line(struct fh_scan *s, const char *p, size_t n, uint64_t lineno, enum fh_claim *claim)
{
    *claim = FH_FOREIGN;
    if (s->state == FH_IDLE) {
        /* The hot path for every log line: one byte decides most lines. */
        if (n < 12 || (p[0] != 'F' && p[0] != 'T' && p[0] != 'C' && p[0] != 'S' && p[0] != 'W'))
            return 0;
        if (start_line(s, p, n, lineno))
            *claim = FH_CLAIMED;
        return s->b_ready && s->b.oom ? -1 : 0;
    }
    bool blank = n == 0 || (n == 1 && p[0] == ' ');
    int rc = 0;
    switch (s->state) {
    case FH_HEADER:
        if (blank || starts(p, n, "Python runtime state: ")) {
            *claim = FH_CLAIMED;
            break;
        }
        if (section_start(s, p, n)) {
            *claim = FH_CLAIMED;
            break;
        }
        if (starts(p, n, "Extension modules: ")) {
            modules_line(s, p, n);
            s->state = FH_GAP;
            *claim = FH_CLAIMED;
            break;
        }
        if (fh_is_dump_start(p, n)) {
            /* Another header: the first report had no thread section. */
            if ((rc = finish_dump(s)) != 0)
                return rc;
            return fh_scan_line(s, p, n, lineno, claim);
        }
        /* A traceback or log line between the header and the threads: not ours,
         * but the dump is still coming. */
        if (++s->waited > HEADER_PATIENCE)
            rc = finish_dump(s);
        return rc;
    case FH_THREAD: {
        ev_str file, func;
        uint32_t line;
        struct ev_dthread *t = cur_thread(s);
        if (frame_line(p, n, &file, &line, &func)) {
            struct ev_dframe *f = dumpb_frame(&s->b, t);
            if (f != NULL) {
                f->kind = EV_DF_PYTHON;
                f->file = ev_str_present(file) ? dumpb_str(&s->b, file.ptr, file.len) : EV_STR_NULL;
                f->line = line;
                f->function = dumpb_str(&s->b, func.ptr, func.len);
            }
            *claim = FH_CLAIMED;
        } else if (c_frame_line(p, n, &file, &func)) {
            struct ev_dframe *f = dumpb_frame(&s->b, t);
            if (f != NULL) {
                f->kind = EV_DF_NATIVE;
                f->file = dumpb_str(&s->b, file.ptr, file.len);
                if (ev_str_present(func))
                    f->function = dumpb_str(&s->b, func.ptr, func.len);
            }
            *claim = FH_CLAIMED;
        } else if (starts(p, n, "  <no Python frame>") || starts(p, n, "  <truncated rest of calls>") ||
                   (n == 5 && memcmp(p, "  ...", 5) == 0) || starts(p, n, "  <tstate is freed>")) {
            if (t != NULL)
                t->frames_total++; /* an elided frame is still a frame the thread had */
            if (starts(p, n, "  <no Python frame>") && t != NULL)
                t->frames_total--;
            *claim = FH_CLAIMED;
        } else if (blank) {
            s->state = FH_GAP;
            *claim = FH_CLAIMED;
        } else if (section_start(s, p, n)) {
            *claim = FH_CLAIMED;
        } else if (starts(p, n, "Extension modules: ")) {
            modules_line(s, p, n);
            s->state = FH_GAP;
            *claim = FH_CLAIMED;
        } else {
            return finish_dump(s);
        }
        break;
    }
    case FH_GAP:
        if (blank || (n == 3 && memcmp(p, "...", 3) == 0)) {
            *claim = FH_CLAIMED; /* "..." = more threads than faulthandler prints */
        } else if (section_start(s, p, n)) {
            *claim = FH_CLAIMED;
        } else if (starts(p, n, "Extension modules: ")) {
            modules_line(s, p, n);
            *claim = FH_CLAIMED;
        } else {
            if ((rc = finish_dump(s)) != 0)
                return rc;
            /* The line after a dump may start the next one. */
            return fh_scan_line(s, p, n, lineno, claim);
        }
        break;
    case FH_IDLE:
        break;
    }
    if (*claim == FH_CLAIMED)
        dumpb_touch(&s->b, lineno);
    return s->b.oom ? -1 : 0;
}

uint64_t fh_scan_held_from(const struct fh_scan *s)
{
    return s != NULL && s->state != FH_IDLE && s->b_ready ? s->b.first_line : 0;
}

int fh_scan_finish(struct fh_scan *s)
{
    if (s->state == FH_IDLE)
        return 0;
    return finish_dump(s);
}

/* ---- the parser ---- */

/* A stream that starts with a dump is the text parser's input all the same: the
 * rest of such a stderr (log records, tracebacks) is text, and the text parser
 * hands dumps to the scanner above. This entry exists so detection names the
 * format: it bids on dump evidence and runs the text parser. */
extern const struct parser parser_text;

static int fh_bid(const char *buf, size_t len, bool at_eof)
{
    (void)at_eof;
    size_t i = 0;
    bool first = true;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        size_t m = n && buf[i + n - 1] == '\r' ? n - 1 : n;
        if (m >= 12 && fh_is_dump_start(buf + i, m)) {
            /* The next non-blank line should be a frame, a thread or the runtime
             * state; a lone "Fatal Python error" is evidence enough too. */
            size_t off;
            if (first)
                return 48;
            if (fatal_header(buf + i, m, &off))
                return 24;
            const char *q = nl ? nl + 1 : buf + len;
            if (q < buf + len && (size_t)(buf + len - q) >= 7 && memcmp(q, "  File ", 7) == 0)
                return 24;
        }
        first = false;
        if (nl == NULL)
            break;
        i += n + 1;
    }
    return 0;
}

static void *fh_open(const struct parser_env *env) { return parser_text.open(env); }
static int fh_feed(void *st, const char *buf, size_t len) { return parser_text.feed(st, buf, len); }
static int fh_finish(void *st) { return parser_text.finish(st); }
static void fh_close(void *st) { parser_text.close(st); }
static uint64_t fh_held_from(void *st) { return parser_text.held_from != NULL ? parser_text.held_from(st) : 0; }

const struct parser parser_faulthandler = {
    .name = "faulthandler",
    .description = "faulthandler dumps and 'Fatal Python error' crash reports (with the stderr around them)",
    .bid = fh_bid,
    .open = fh_open,
    .feed = fh_feed,
    .finish = fh_finish,
    .close = fh_close,
    .held_from = fh_held_from,
};
