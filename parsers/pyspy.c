/* pyspy.c -- `py-spy dump` output, text and --json.
 *
 * Text (py-spy's dump.rs), one dump per "Process" header:
 *   Process 8370: python3 spike.py
 *   Python v3.11.2 (/usr/bin/python3.11)
 *
 *   Thread 8372 (active+gil): "scorer"        native id on Linux; "0X7F.." elsewhere
 *       score_loop (spike.py:42)              a frame: name (file:line) or name (file)
 *           Arguments: / Locals: / name: repr (--locals, skipped)
 * JSON (--json) is a pretty-printed array of stack traces, {"pid", "thread_id",
 * "thread_name", "os_thread_id", "active", "owns_gil", "frames": [{"name",
 * "filename", "module", "short_filename", "line"}]}; a rare, nested document read
 * whole with jansson (bounded by JSON_MAX_DOC), one event per process.
 *
 * py-spy shows no locks and no owners: a thread's state (idle, active, +gil) and,
 * with --native, the C frames (a frame whose file is not Python source is native).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ansi.h"
#include "dumpbuild.h"
#include "linesplit.h"
#include "parser.h"

#define JSON_MAX_DOC ((size_t)64 << 20)

struct pyspy {
    struct parser_env env;
    struct linesplit ls;
    struct dumpb b;
    bool json;           /* decided by the first non-blank byte */
    bool decided;
    char *doc;           /* the JSON input, whole */
    size_t len, cap;
    bool too_big;
    long cur;            /* thread being read (text) */
    int stop;
    bool oom;
};

static bool starts(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

static bool python_file(const char *f, size_t n)
{
    return (n >= 3 && memcmp(f + n - 3, ".py", 3) == 0) || (n >= 4 && memcmp(f + n - 4, ".pyx", 4) == 0) ||
           (n >= 4 && memcmp(f + n - 4, ".pyw", 4) == 0) || starts(f, n, "<frozen ") || starts(f, n, "<string>");
}

static int emit(struct pyspy *s)
{
    int rc = dumpb_emit(&s->b, EV_THREAD_DUMP);
    if (rc < 0)
        s->oom = true;
    else if (rc > 0)
        s->stop = rc;
    s->cur = -1;
    return rc;
}

/* ---- text ---- */

/* "Thread 8372 (active+gil): "scorer"" or "Thread 0X7F.. (idle)" */
static bool thread_line(struct pyspy *s, const char *p, size_t n)
{
    if (!starts(p, n, "Thread "))
        return false;
    size_t i = 7, j = i;
    while (j < n && p[j] != ' ')
        j++;
    uint64_t v;
    bool hex = j - i > 2 && p[i] == '0' && (p[i + 1] == 'X' || p[i + 1] == 'x');
    if (j == i || !ev_dump_parse_u64(p + i, j - i, &v) || !starts(p + j, n - j, " ("))
        return false;
    const char *close = memchr(p + j, ')', n - j);
    if (close == NULL)
        return false;
    const char *st = p + j + 2;
    size_t sl = (size_t)(close - st);
    struct ev_dthread *t = dumpb_thread(&s->b);
    if (t == NULL)
        return true;
    s->cur = (long)(s->b.nthreads - 1);
    t->id = dumpb_str(&s->b, p + i, j - i);
    if (hex)
        t->ident = v;
    else
        t->native_id = (int64_t)v;
    if (sl == 4 && memcmp(st, "idle", 4) == 0)
        t->state = EV_TS_IDLE;
    else if (starts(st, sl, "active"))
        t->state = EV_TS_RUNNING;
    t->gil = sl >= 4 && memcmp(st + sl - 4, "+gil", 4) == 0;
    const char *q = close + 1;
    if (q + 3 < p + n && q[0] == ':' && q[1] == ' ' && q[2] == '"' && p[n - 1] == '"')
        t->name = dumpb_str(&s->b, q + 3, (size_t)(p + n - 1 - (q + 3)));
    return true;
}

/* "    name (file:line)" */
static bool frame_line(struct pyspy *s, const char *p, size_t n)
{
    if (!starts(p, n, "    ") || starts(p, n, "        ") || n < 8 || p[n - 1] != ')')
        return false;
    const char *open = NULL;
    for (size_t k = n - 1; k > 4; k--)
        if (p[k] == '(' && p[k - 1] == ' ') {
            open = p + k;
            break;
        }
    if (open == NULL)
        return false;
    const char *name = p + 4;
    size_t nl = (size_t)(open - 1 - name);
    const char *file = open + 1;
    size_t fl = (size_t)(p + n - 1 - file);
    uint32_t line = 0;
    const char *colon = memrchr(file, ':', fl);
    if (colon != NULL) {
        uint64_t v;
        size_t dl = (size_t)(file + fl - colon - 1);
        if (dl > 0 && ev_dump_parse_u64(colon + 1, dl, &v) && v < UINT32_MAX) {
            line = (uint32_t)v;
            fl = (size_t)(colon - file);
        }
    }
    struct ev_dthread *t = s->cur >= 0 ? &s->b.threads[s->cur] : NULL;
    struct ev_dframe *f = dumpb_frame(&s->b, t);
    if (f != NULL) {
        f->kind = python_file(file, fl) ? EV_DF_PYTHON : EV_DF_NATIVE;
        f->function = dumpb_str(&s->b, name, nl);
        f->file = dumpb_str(&s->b, file, fl);
        f->line = line;
    }
    return true;
}

static int text_line(void *ctx, const char *p0, size_t n, uint64_t ln, bool truncated)
{
    struct pyspy *s = ctx;
    (void)truncated;
    if (s->stop)
        return s->stop;
    char buf[4096];
    const char *p = p0;
    if (n <= sizeof(buf) && memchr(p0, ANSI_ESC, n) != NULL) {
        n = ansi_strip(p0, n, buf);
        p = buf;
    }
    if (starts(p, n, "Process ")) {
        if (emit(s) != 0)
            return s->oom ? -1 : s->stop;
        uint64_t pid;
        const char *colon = memchr(p, ':', n);
        if (colon != NULL && ev_dump_parse_u64(p + 8, (size_t)(colon - p - 8), &pid))
            s->b.pid = (int64_t)pid;
        s->b.d.header = dumpb_str(&s->b, p, n);
        dumpb_touch(&s->b, ln);
        return s->b.oom ? -1 : 0;
    }
    if (starts(p, n, "Python v")) {
        const char *sp = memchr(p + 8, ' ', n - 8);
        s->b.d.python = dumpb_str(&s->b, p + 8, sp ? (size_t)(sp - (p + 8)) : n - 8);
    } else if (thread_line(s, p, n) || frame_line(s, p, n)) {
        /* taken */
    } else if (n == 0 || starts(p, n, "        ")) {
        return 0; /* blank, or --locals lines */
    } else {
        if (s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, ln, "not a py-spy dump line, skipped");
        return 0;
    }
    dumpb_touch(&s->b, ln);
    return s->b.oom ? -1 : 0;
}

/* ---- JSON ---- */

static int64_t jint(const json_t *o, const char *k, int64_t dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static ev_str jstr(struct pyspy *s, const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return EV_STR_NULL;
    return dumpb_str(&s->b, json_string_value(v), json_string_length(v));
}

static int json_doc(struct pyspy *s, const json_t *doc, uint64_t line)
{
    if (!json_is_array(doc)) {
        if (s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, line, "py-spy JSON is not an array of stack traces, skipped");
        return 0;
    }
    /* One event per process, in the order the processes first appear. */
    size_t n = json_array_size(doc);
    for (size_t first = 0; first < n; first++) {
        int64_t pid = jint(json_array_get(doc, first), "pid", -1);
        bool seen = false;
        for (size_t k = 0; k < first && !seen; k++)
            seen = jint(json_array_get(doc, k), "pid", -1) == pid;
        if (seen)
            continue;
        s->b.pid = pid;
        dumpb_touch(&s->b, line);
        for (size_t k = first; k < n; k++) {
            const json_t *tr = json_array_get(doc, k);
            if (!json_is_object(tr) || jint(tr, "pid", -1) != pid)
                continue;
            struct ev_dthread *t = dumpb_thread(&s->b);
            if (t == NULL)
                break;
            int64_t tid = jint(tr, "thread_id", 0);
            char id[24];
            t->ident = (uint64_t)tid;
            t->id = dumpb_str(&s->b, id, (size_t)strlen(ev_dump_addr((uint64_t)tid, id)));
            t->native_id = jint(tr, "os_thread_id", -1);
            t->name = jstr(s, tr, "thread_name");
            t->state = json_is_true(json_object_get(tr, "active")) ? EV_TS_RUNNING : EV_TS_IDLE;
            t->gil = json_is_true(json_object_get(tr, "owns_gil"));
            const json_t *frames = json_object_get(tr, "frames");
            for (size_t f = 0; f < json_array_size(frames); f++) {
                const json_t *fr = json_array_get(frames, f);
                struct ev_dframe *df = dumpb_frame(&s->b, &s->b.threads[s->b.nthreads - 1]);
                if (df == NULL)
                    continue;
                df->function = jstr(s, fr, "name");
                df->file = jstr(s, fr, "filename");
                int64_t l = jint(fr, "line", 0);
                df->line = l > 0 && l < UINT32_MAX ? (uint32_t)l : 0;
                bool native = json_is_string(json_object_get(fr, "module")) ||
                              !python_file(df->file.ptr ? df->file.ptr : "", df->file.len);
                df->kind = native ? EV_DF_NATIVE : EV_DF_PYTHON;
            }
        }
        if (emit(s) != 0)
            return s->oom ? -1 : s->stop;
    }
    return 0;
}

static int json_finish(struct pyspy *s)
{
    if (s->too_big) {
        if (s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, 1, "py-spy JSON larger than 64 MiB, skipped");
        return 0;
    }
    size_t off = 0;
    uint64_t line = 1;
    while (off < s->len) {
        while (off < s->len && (s->doc[off] == ' ' || s->doc[off] == '\n' || s->doc[off] == '\r' || s->doc[off] == '\t'))
            line += s->doc[off++] == '\n';
        if (off >= s->len)
            break;
        json_error_t err;
        json_t *doc = json_loadb(s->doc + off, s->len - off, JSON_DISABLE_EOF_CHECK, &err);
        if (doc == NULL) {
            if (s->env.diag)
                s->env.diag(s->env.diag_ctx, s->env.stream, line + (uint64_t)(err.line > 0 ? err.line - 1 : 0),
                            "invalid py-spy JSON, rest skipped");
            return 0;
        }
        int rc = json_doc(s, doc, line);
        json_decref(doc);
        if (rc != 0)
            return rc;
        size_t used = (size_t)err.position;
        if (used == 0)
            break;
        for (size_t k = off; k < off + used; k++)
            line += s->doc[k] == '\n';
        off += used;
    }
    return 0;
}

/* ---- the parser ---- */

static void *pyspy_open(const struct parser_env *env)
{
    struct pyspy *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->env = *env;
    if (s->env.limits == NULL)
        s->env.limits = &parse_limits_default;
    linesplit_init(&s->ls, s->env.limits->max_line);
    dumpb_init(&s->b, &s->env, EV_DUMP_PYSPY);
    s->cur = -1;
    return s;
}

static int pyspy_feed(void *st, const char *buf, size_t len)
{
    struct pyspy *s = st;
    if (!s->decided) {
        size_t i = 0;
        while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
            i++;
        if (i == len && s->len == 0)
            return 0;
        s->decided = true;
        s->json = i < len && buf[i] == '[';
    }
    if (!s->json) {
        int rc = linesplit_feed(&s->ls, buf, len, text_line, s);
        return s->oom ? -1 : rc;
    }
    if (s->too_big || s->len + len > JSON_MAX_DOC) {
        s->too_big = true;
        return 0;
    }
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + len)
            cap *= 2;
        char *nb = realloc(s->doc, cap);
        if (nb == NULL)
            return -1;
        s->doc = nb;
        s->cap = cap;
    }
    memcpy(s->doc + s->len, buf, len);
    s->len += len;
    return 0;
}

static int pyspy_finish(void *st)
{
    struct pyspy *s = st;
    int rc;
    if (s->json)
        rc = json_finish(s);
    else if ((rc = linesplit_finish(&s->ls, text_line, s)) == 0)
        rc = emit(s);
    return s->oom ? -1 : rc;
}

static void pyspy_close(void *st)
{
    struct pyspy *s = st;
    if (s == NULL)
        return;
    linesplit_free(&s->ls);
    dumpb_free(&s->b);
    free(s->doc);
    free(s);
}

/* Evidence: the "Process N:" + "Python v" header, a "Thread N (idle|active...)" line,
 * or a JSON array whose objects have py-spy's keys. */
static int pyspy_bid(const char *buf, size_t len, bool at_eof)
{
    (void)at_eof;
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
        i++;
    if (i < len && buf[i] == '[') {
        static const char *const keys[] = {"\"thread_id\"", "\"owns_gil\"", "\"os_thread_id\""};
        int found = 0;
        for (size_t k = 0; k < 3; k++)
            for (size_t j = i; j + strlen(keys[k]) <= len; j++)
                if (buf[j] == '"' && memcmp(buf + j, keys[k], strlen(keys[k])) == 0) {
                    found++;
                    break;
                }
        return found >= 2 ? 60 : 0;
    }
    const char *nl = memchr(buf + i, '\n', len - i);
    size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
    if (starts(buf + i, n, "Process ") && memchr(buf + i, ':', n) != NULL && nl != NULL &&
        starts(nl + 1, (size_t)(buf + len - nl - 1), "Python v"))
        return 60;
    for (size_t k = i; k + 12 < len; k++)
        if ((k == 0 || buf[k - 1] == '\n') && starts(buf + k, len - k, "Thread ")) {
            const char *sp = memchr(buf + k + 7, ' ', len - k - 7 < 24 ? len - k - 7 : 24);
            if (sp != NULL && (starts(sp, (size_t)(buf + len - sp), " (idle)") ||
                               starts(sp, (size_t)(buf + len - sp), " (active")))
                return 40;
        }
    return 0;
}

const struct parser parser_pyspy = {
    .name = "py-spy",
    .description = "py-spy dump output, text and --json",
    .bid = pyspy_bid,
    .open = pyspy_open,
    .feed = pyspy_feed,
    .finish = pyspy_finish,
    .close = pyspy_close,
};
