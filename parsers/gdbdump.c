/* gdbdump.c -- gdb output of a live or crashed Python process: `info threads`,
 * `thread apply all py-bt`, `thread apply all bt` and `x/4a ADDR`.
 *
 * One gdb session (attach ... detach) is one EV_THREAD_DUMP event. A thread printed
 * twice (once by py-bt, once by bt) is one thread: its Python frames, built-in calls
 * and native frames are told apart by ev_dframe.kind.
 *
 * What a thread waits for is read, never guessed:
 *   - py-bt's innermost line "<built-in method acquire of _thread.lock object at
 *     remote 0xADDR>" (or __enter__ of _thread.RLock): the thread is inside that
 *     lock's acquire; "Waiting for the GIL" above it means it already left it;
 *   - bt's "rlock_acquire (self=0xADDR" / "lock_PyThread_acquire_lock (self=0xADDR"
 *     when no GIL frame is above it.
 * Who owns a lock is read from `x/4a ADDR`: the fourth word of an RLock is its
 * owner's thread ident (the classic pointer-following of a debugger session). A
 * plain Lock has no owner field, so its owner stays unknown.
 *
 * Line kinds, first match wins:
 *   Thread N (Thread 0xID (LWP M) "name"):    a thread section (py-bt or bt)
 *   [* ]N    Thread 0xID (LWP M) "name" frame  an `info threads` row
 *   Traceback (most recent call first):       py-bt section start
 *     File "f", line N, in fn / <built-in ...> / Waiting for the GIL / ...
 *   #N  0x... in fn (args) at file:line       a native frame
 *   (gdb) x/4a 0xADDR  +  0xADDR:\tW\tW        memory words
 *   [Inferior 1 (process P) detached]         pid; the session ends
 *   Program terminated with signal SIGSEGV, Segmentation fault.
 */
#include <stdlib.h>
#include <string.h>

#include "dumpbuild.h"
#include "linesplit.h"
#include "parser.h"
#include "tb_lines.h"

struct gdbdump {
    struct parser_env env;
    struct linesplit ls;
    struct dumpb b;
    long cur;              /* index of the thread being read, -1 when none */
    bool in_pybt;          /* inside a "Traceback (most recent call first):" section */
    bool pybt_first;       /* the next py-bt line is the innermost */
    bool gil_above;        /* a GIL frame was seen above (inner to) the current native frame */
    uint64_t x_base;       /* address of the x/4a being read, 0 when none */
    unsigned x_words;      /* words read at x_base */
    int32_t signal_thread; /* "Thread N ... received signal": N */
    int stop;
    bool oom;
};

static bool starts(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

static const char *find(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, lit, k) == 0)
            return p + i;
    return NULL;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A "0x..." number at p; returns its length (0 when none) and the value. */
static size_t hex_at(const char *p, size_t n, uint64_t *v)
{
    if (n < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
        return 0;
    size_t j = 2;
    while (j < n && is_hex(p[j]))
        j++;
    if (j == 2 || !ev_dump_parse_u64(p, j, v))
        return 0;
    return j;
}

/* A decimal number at p; returns its length (0 when none). */
static size_t dec_at(const char *p, size_t n, int64_t *v)
{
    size_t j = 0;
    int64_t x = 0;
    while (j < n && j < 18 && p[j] >= '0' && p[j] <= '9')
        x = x * 10 + (p[j++] - '0');
    if (j == 0)
        return 0;
    *v = x;
    return j;
}

static struct ev_dthread *cur_thread(struct gdbdump *g)
{
    return g->cur >= 0 && (size_t)g->cur < g->b.nthreads ? &g->b.threads[g->cur] : NULL;
}

/* The thread gdb numbers n, created when new. */
static struct ev_dthread *thread_numbered(struct gdbdump *g, int32_t number)
{
    struct ev_dthread *t = dumpb_find_number(&g->b, number);
    if (t == NULL) {
        t = dumpb_thread(&g->b);
        if (t == NULL)
            return NULL;
        t->number = number;
    }
    g->cur = (long)(t - g->b.threads);
    return t;
}

/* "Thread 0xID (LWP M) "name"" or "LWP M" or "process M", at p. Fills t; returns
 * the bytes used (0 when the target id is not one of these). */
static size_t target_id(struct gdbdump *g, struct ev_dthread *t, const char *p, size_t n)
{
    size_t i = 0;
    uint64_t ident;
    int64_t lwp;
    size_t k;
    if (starts(p, n, "Thread 0x") && (k = hex_at(p + 7, n - 7, &ident)) > 0) {
        if (t != NULL && !ev_str_present(t->id)) {
            t->id = dumpb_str(&g->b, p + 7, k);
            t->ident = ident;
        }
        i = 7 + k;
        if (starts(p + i, n - i, " (LWP ") && (k = dec_at(p + i + 6, n - i - 6, &lwp)) > 0 && i + 6 + k < n &&
            p[i + 6 + k] == ')') {
            if (t != NULL)
                t->native_id = lwp;
            i += 6 + k + 1;
        }
    } else if ((starts(p, n, "LWP ") || starts(p, n, "process ")) &&
               (k = dec_at(p + (p[0] == 'L' ? 4 : 8), n - (p[0] == 'L' ? 4 : 8), &lwp)) > 0) {
        if (t != NULL)
            t->native_id = lwp;
        i = (p[0] == 'L' ? 4 : 8) + k;
    } else {
        return 0;
    }
    if (i + 2 < n && p[i] == ' ' && p[i + 1] == '"') {
        const char *q = memchr(p + i + 2, '"', n - i - 2);
        if (q != NULL) {
            if (t != NULL && !ev_str_present(t->name))
                t->name = dumpb_str(&g->b, p + i + 2, (size_t)(q - (p + i + 2)));
            i = (size_t)(q - p) + 1;
        }
    }
    return i;
}

/* "Thread N (TARGET):" */
static bool thread_header(struct gdbdump *g, const char *p, size_t n)
{
    int64_t num;
    size_t k;
    if (!starts(p, n, "Thread ") || (k = dec_at(p + 7, n - 7, &num)) == 0 || !starts(p + 7 + k, n - 7 - k, " (") ||
        n < 2 || p[n - 1] != ':' || p[n - 2] != ')')
        return false;
    size_t s = 7 + k + 2;
    if (target_id(g, NULL, p + s, n - s) == 0)
        return false;
    struct ev_dthread *t = thread_numbered(g, (int32_t)num);
    if (t != NULL)
        target_id(g, t, p + s, n - s);
    g->in_pybt = false;
    g->gil_above = false;
    return true;
}

/* "* 1    Thread 0x7f.. (LWP 8340) "python3" 0x... in fn (...)" */
static bool info_threads_row(struct gdbdump *g, const char *p, size_t n)
{
    size_t i = 0;
    bool current = false;
    if (n > 2 && p[0] == '*' && p[1] == ' ') {
        current = true;
        i = 2;
    }
    while (i < n && p[i] == ' ')
        i++;
    int64_t num;
    size_t k = dec_at(p + i, n - i, &num);
    if (k == 0 || i + k >= n || p[i + k] != ' ')
        return false;
    i += k;
    while (i < n && p[i] == ' ')
        i++;
    if (target_id(g, NULL, p + i, n - i) == 0)
        return false;
    struct ev_dthread *t = thread_numbered(g, (int32_t)num);
    if (t == NULL)
        return true;
    size_t used = target_id(g, t, p + i, n - i);
    t->is_current = t->is_current || current;
    g->cur = -1; /* a row is not a section: frames that follow are not this thread's */
    (void)used;
    return true;
}

/* What a native frame says of a lock wait: "rlock_acquire (self=0xADDR", ... */
static void native_lock(struct gdbdump *g, struct ev_dthread *t, const char *fn, size_t fl, const char *p, size_t n)
{
    enum ev_lock_kind kind;
    if (fl == 13 && memcmp(fn, "rlock_acquire", 13) == 0)
        kind = EV_LOCK_RLOCK;
    else if (fl == 26 && memcmp(fn, "lock_PyThread_acquire_lock", 26) == 0)
        kind = EV_LOCK_LOCK;
    else
        return;
    const char *s = find(p, n, "(self=0x");
    uint64_t addr;
    if (s == NULL || hex_at(s + 6, (size_t)(p + n - (s + 6)), &addr) == 0)
        return;
    struct ev_lock *l = dumpb_lock(&g->b, addr);
    if (l != NULL && l->kind == EV_LOCK_UNKNOWN)
        l->kind = kind;
    if (t->waits_for == 0 && !g->gil_above)
        t->waits_for = addr;
}

/* "#3  0x00007f.. in do_futex_wait (sem=...) at ./nptl/sem_waitcommon.c:111"
 * "#13 _PyEval_EvalFrameDefault (...) at ../Python/ceval.c:4425"
 * "#27 0x00007f.. in clone3 () from /lib/x86_64-linux-gnu/libc.so.6" */
static bool native_frame(struct gdbdump *g, const char *p, size_t n)
{
    if (n < 4 || p[0] != '#' || p[1] < '0' || p[1] > '9')
        return false;
    size_t i = 1;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    while (i < n && p[i] == ' ')
        i++;
    uint64_t pc;
    size_t k = hex_at(p + i, n - i, &pc);
    if (k > 0) {
        i += k;
        if (!starts(p + i, n - i, " in "))
            return false;
        i += 4;
    }
    size_t fs = i;
    while (i < n && p[i] != ' ' && p[i] != '(')
        i++;
    if (i == fs)
        return false;
    struct ev_dthread *t = cur_thread(g);
    if (t == NULL)
        return true; /* a frame outside any thread section (the attach stop line) */
    if (p[1] == '0' && p[2] == ' ')
        g->gil_above = false; /* "#0": a new stack */
    const char *fn = p + fs;
    size_t fl = i - fs;
    if ((fl == 8 && memcmp(fn, "take_gil", 8) == 0) || (fl == 8 && memcmp(fn, "drop_gil", 8) == 0))
        g->gil_above = true;
    native_lock(g, t, fn, fl, p + i, n - i);
    struct ev_dframe *f = dumpb_frame(&g->b, t);
    if (f == NULL)
        return true;
    f->kind = EV_DF_NATIVE;
    f->function = dumpb_str(&g->b, fn, fl);
    /* " at file:line" or " from lib" ends the line (arguments may hold anything). */
    const char *at = NULL;
    for (size_t j = n; j > i + 4; j--)
        if (memcmp(p + j - 4, ") at ", 4) == 0 || memcmp(p + j - 4, " at ", 4) == 0) {
            at = p + j;
            break;
        }
    const char *from = find(p + i, n - i, ") from ");
    if (at != NULL && (from == NULL || at > from)) {
        const char *colon = NULL;
        for (const char *q = p + n; q > at; q--)
            if (q[-1] == ':') {
                colon = q - 1;
                break;
            }
        int64_t ln = 0;
        size_t digits = colon != NULL ? (size_t)(p + n - colon - 1) : 0;
        if (digits > 0 && dec_at(colon + 1, digits, &ln) == digits) {
            f->file = dumpb_str(&g->b, at, (size_t)(colon - at));
            f->line = (uint32_t)ln;
        } else {
            f->file = dumpb_str(&g->b, at, (size_t)(p + n - at));
        }
    } else if (from != NULL) {
        f->file = dumpb_str(&g->b, from + 7, (size_t)(p + n - (from + 7)));
    }
    return true;
}

/* "  <built-in method NAME of TYPE object at remote 0xADDR>" */
static void builtin_line(struct gdbdump *g, struct ev_dthread *t, const char *p, size_t n, bool innermost)
{
    struct ev_dframe *f;
    const char *in = p + 3;
    size_t m = n - 4; /* without "  <" and ">" */
    const char *name = in, *type = NULL;
    size_t nl = m, tl = 0;
    uint64_t addr = 0;
    if (starts(in, m, "built-in method ")) {
        name = in + 16;
        const char *of = find(name, (size_t)(in + m - name), " of ");
        nl = of ? (size_t)(of - name) : (size_t)(in + m - name);
        /* After " of ": from " of " itself, "... of object at remote" would find
         * " object" inside it, before the type's start. */
        const char *obj = of ? find(of + 4, (size_t)(in + m - (of + 4)), " object at remote 0x") : NULL;
        if (obj != NULL) {
            type = of + 4;
            tl = (size_t)(obj - type);
            hex_at(obj + 18, (size_t)(in + m - (obj + 18)), &addr);
        }
    } else if (starts(in, m, "built-in function ")) {
        name = in + 18;
        nl = (size_t)(in + m - name);
    }
    char buf[256];
    size_t bl;
    if (type != NULL && !(tl == 6 && memcmp(type, "module", 6) == 0) && tl + nl + 1 < sizeof(buf)) {
        memcpy(buf, type, tl);
        buf[tl] = '.';
        memcpy(buf + tl + 1, name, nl);
        bl = tl + 1 + nl;
    } else {
        bl = nl < sizeof(buf) ? nl : sizeof(buf) - 1;
        memcpy(buf, name, bl);
    }
    f = dumpb_frame(&g->b, t);
    if (f != NULL) {
        f->kind = EV_DF_BUILTIN;
        f->function = dumpb_str(&g->b, buf, bl);
        f->object = addr;
    }
    bool acquire = (nl == 7 && memcmp(name, "acquire", 7) == 0) || (nl == 9 && memcmp(name, "__enter__", 9) == 0) ||
                   (nl == 12 && memcmp(name, "acquire_lock", 12) == 0);
    if (!acquire || addr == 0 || type == NULL)
        return;
    enum ev_lock_kind kind = EV_LOCK_UNKNOWN;
    if (tl == 13 && memcmp(type, "_thread.RLock", 13) == 0)
        kind = EV_LOCK_RLOCK;
    else if (tl == 12 && memcmp(type, "_thread.lock", 12) == 0)
        kind = EV_LOCK_LOCK;
    else
        return;
    struct ev_lock *l = dumpb_lock(&g->b, addr);
    if (l != NULL && l->kind == EV_LOCK_UNKNOWN)
        l->kind = kind;
    if (innermost)
        t->waits_for = addr;
}

static void pybt_line(struct gdbdump *g, const char *p, size_t n)
{
    struct ev_dthread *t = cur_thread(g);
    if (t == NULL)
        return;
    bool innermost = g->pybt_first;
    g->pybt_first = false;
    struct tbl_frame tf;
    if (tbl_frame(p, n, &tf) && tf.func != NULL) {
        struct ev_dframe *f = dumpb_frame(&g->b, t);
        if (f != NULL) {
            f->kind = EV_DF_PYTHON;
            f->file = dumpb_str(&g->b, tf.file, tf.file_len);
            f->function = dumpb_str(&g->b, tf.func, tf.func_len);
            f->line = tf.line;
        }
        return;
    }
    if (n > 4 && starts(p, n, "  <") && p[n - 1] == '>') {
        builtin_line(g, t, p, n, innermost);
        return;
    }
    if (starts(p, n, "    ")) {
        g->pybt_first = innermost; /* the source line under a frame */
        return;
    }
    const char *marker = NULL;
    if (starts(p, n, "  Waiting for the GIL")) {
        marker = "Waiting for the GIL";
        t->state = EV_TS_GIL_WAIT;
    } else if (starts(p, n, "  Garbage-collecting")) {
        marker = "Garbage-collecting";
    } else if (starts(p, n, "  (unable to read python frame information)")) {
        marker = "unable to read python frame information";
    } else if (starts(p, n, "  (frame information optimized out)")) {
        marker = "frame information optimized out";
    }
    if (marker != NULL) {
        struct ev_dframe *f = dumpb_frame(&g->b, t);
        if (f != NULL) {
            f->kind = EV_DF_MARKER;
            f->function = ev_str_make(marker, strlen(marker)); /* static text */
        }
        return;
    }
    g->in_pybt = false; /* anything else ends the section */
}

/* "0x7f387e98f5c0:\t0x4\t0x13a24f60" (a symbol "<sym+off>" may follow an address). */
static bool words_line(struct gdbdump *g, const char *p, size_t n)
{
    uint64_t addr;
    size_t i = hex_at(p, n, &addr);
    if (i == 0)
        return false;
    if (i + 1 < n && p[i] == ' ' && p[i + 1] == '<') {
        const char *q = memchr(p + i, '>', n - i);
        if (q == NULL)
            return false;
        i = (size_t)(q - p) + 1;
    }
    if (i >= n || p[i] != ':')
        return false;
    i++;
    if (g->x_base == 0 || addr != g->x_base + 8 * (uint64_t)g->x_words) {
        g->x_base = addr; /* words without a command echo: a new object */
        g->x_words = 0;
    }
    struct ev_lock *l = dumpb_lock(&g->b, g->x_base);
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        uint64_t w;
        size_t k = hex_at(p + i, n - i, &w);
        if (k == 0)
            break;
        i += k;
        if (i + 1 < n && p[i] == ' ' && p[i + 1] == '<') {
            const char *q = memchr(p + i, '>', n - i);
            i = q ? (size_t)(q - p) + 1 : n;
        }
        if (l != NULL && l->nwords < 4 && g->x_words == l->nwords)
            l->words[l->nwords++] = w;
        g->x_words++;
    }
    return true;
}

static int end_session(struct gdbdump *g)
{
    g->cur = -1;
    g->in_pybt = false;
    g->x_base = 0;
    g->x_words = 0;
    g->signal_thread = 0;
    int rc = dumpb_emit(&g->b, EV_THREAD_DUMP);
    if (rc < 0)
        g->oom = true;
    else if (rc > 0)
        g->stop = rc;
    return rc;
}

/* "Program terminated with signal SIGSEGV, Segmentation fault." and
 * "Thread 2 "python3" received signal SIGSEGV, Segmentation fault." */
static bool signal_line(struct gdbdump *g, const char *p, size_t n)
{
    const char *s = find(p, n, "signal SIG");
    if (s == NULL || !(starts(p, n, "Program terminated with signal ") || starts(p, n, "Program received signal ") ||
                       (starts(p, n, "Thread ") && find(p, n, " received signal ") != NULL)))
        return false;
    s += 7;
    const char *comma = memchr(s, ',', (size_t)(p + n - s));
    size_t sl = comma ? (size_t)(comma - s) : (size_t)(p + n - s);
    struct ev_dump *d = &g->b.d;
    d->header = dumpb_str(&g->b, p, n);
    d->signal = dumpb_str(&g->b, s, sl);
    if (comma != NULL) {
        const char *m = comma + 1;
        while (m < p + n && *m == ' ')
            m++;
        size_t ml = (size_t)(p + n - m);
        if (ml > 0 && m[ml - 1] == '.')
            ml--;
        d->fatal_error = dumpb_str(&g->b, m, ml);
    }
    g->b.level = EV_LVL_CRITICAL;
    int64_t num;
    if (starts(p, n, "Thread ") && dec_at(p + 7, n - 7, &num) > 0)
        g->signal_thread = (int32_t)num;
    return true;
}

static int on_line(void *ctx, const char *p, size_t n, uint64_t lineno, bool truncated)
{
    struct gdbdump *g = ctx;
    if (g->stop)
        return g->stop;
    if (truncated && g->env.diag)
        g->env.diag(g->env.diag_ctx, g->env.stream, lineno, "line longer than the line limit, truncated");
    int64_t v;
    if (starts(p, n, "[Inferior ") && find(p, n, "(process ") != NULL) {
        const char *s = find(p, n, "(process ");
        if (dec_at(s + 9, (size_t)(p + n - s - 9), &v) > 0)
            g->b.pid = v;
        dumpb_touch(&g->b, lineno);
        if (g->signal_thread) {
            struct ev_dthread *t = dumpb_find_number(&g->b, g->signal_thread);
            if (t != NULL)
                t->is_current = true;
        }
        return end_session(g) < 0 ? -1 : g->stop;
    }
    if (n == 0)
        return 0;
    if (g->in_pybt && (p[0] == ' ')) {
        pybt_line(g, p, n);
        dumpb_touch(&g->b, lineno);
        return g->b.oom ? -1 : 0;
    }
    g->in_pybt = false;
    if (thread_header(g, p, n)) {
        /* a section */
    } else if (starts(p, n, "Traceback (most recent call first):")) {
        g->in_pybt = true;
        g->pybt_first = true;
    } else if (starts(p, n, "Unable to locate python frame")) {
        struct ev_dthread *t = cur_thread(g);
        struct ev_dframe *f = t ? dumpb_frame(&g->b, t) : NULL;
        if (f != NULL) {
            f->kind = EV_DF_MARKER;
            f->function = EV_STR_LIT("no Python frame");
        }
    } else if (native_frame(g, p, n)) {
        /* taken */
    } else if (starts(p, n, "(gdb) x/")) {
        const char *s = find(p, n, " 0x");
        uint64_t a;
        if (s != NULL && hex_at(s + 1, (size_t)(p + n - s - 1), &a) > 0) {
            g->x_base = a;
            g->x_words = 0;
            dumpb_lock(&g->b, a);
        }
    } else if (words_line(g, p, n)) {
        /* taken */
    } else if (signal_line(g, p, n)) {
        /* taken */
    } else if (starts(p, n, "[Current thread is ")) {
        int64_t num;
        if (dec_at(p + 19, n - 19, &num) > 0) {
            struct ev_dthread *t = thread_numbered(g, (int32_t)num);
            if (t != NULL)
                t->is_current = true;
            g->cur = -1;
        }
    } else if (starts(p, n, "Attaching to process ") && dec_at(p + 21, n - 21, &v) > 0) {
        g->b.pid = v;
    } else if (info_threads_row(g, p, n)) {
        /* taken */
    } else {
        return 0; /* gdb chatter: "[New LWP n]", "Reading symbols", source echo lines */
    }
    dumpb_touch(&g->b, lineno);
    return g->b.oom ? -1 : 0;
}

static void *gdb_open(const struct parser_env *env)
{
    struct gdbdump *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->env = *env;
    if (g->env.limits == NULL)
        g->env.limits = &parse_limits_default;
    linesplit_init(&g->ls, g->env.limits->max_line);
    dumpb_init(&g->b, &g->env, EV_DUMP_GDB);
    g->cur = -1;
    return g;
}

static int gdb_feed(void *st, const char *buf, size_t len)
{
    struct gdbdump *g = st;
    int rc = linesplit_feed(&g->ls, buf, len, on_line, g);
    return g->oom ? -1 : rc;
}

static int gdb_finish(void *st)
{
    struct gdbdump *g = st;
    int rc = linesplit_finish(&g->ls, on_line, g);
    if (rc != 0)
        return g->oom ? -1 : rc;
    if (g->signal_thread) {
        struct ev_dthread *t = dumpb_find_number(&g->b, g->signal_thread);
        if (t != NULL)
            t->is_current = true;
    }
    rc = end_session(g);
    return g->oom ? -1 : rc;
}

static void gdb_close(void *st)
{
    struct gdbdump *g = st;
    if (g == NULL)
        return;
    linesplit_free(&g->ls);
    dumpb_free(&g->b);
    free(g);
}

/* Evidence: a gdb thread header is unmistakable; gdb's attach chatter and prompt
 * are strong; native frame lines and x/4a words are good. */
static int gdb_bid(const char *buf, size_t len, bool at_eof)
{
    (void)at_eof;
    int best = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        const char *p = buf + i;
        int64_t v;
        size_t k;
        if (starts(p, n, "Thread ") && (k = dec_at(p + 7, n - 7, &v)) > 0 &&
            (starts(p + 7 + k, n - 7 - k, " (Thread 0x") || starts(p + 7 + k, n - 7 - k, " (LWP ")))
            return 50;
        if (starts(p, n, "[New LWP ") || starts(p, n, "[Thread debugging using libthread_db") ||
            starts(p, n, "(gdb) ") || starts(p, n, "[Inferior 1 (process "))
            best = best > 40 ? best : 40;
        else if (starts(p, n, "#0  ") && find(p, n, " at ") != NULL)
            best = best > 30 ? best : 30;
        if (nl == NULL)
            break;
        i += n + 1;
    }
    return best;
}

const struct parser parser_gdb = {
    .name = "gdb",
    .description = "gdb output: info threads, thread apply all bt / py-bt, x/4a lock words",
    .bid = gdb_bid,
    .open = gdb_open,
    .feed = gdb_feed,
    .finish = gdb_finish,
    .close = gdb_close,
};
