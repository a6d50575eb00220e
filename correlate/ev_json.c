/* ev_json.c -- events to JSON; see ev_json.h. */
#include "ev_json.h"

#include <stdlib.h>
#include <string.h>

#include "ev_dump.h"
#include "ev_packages.h"
#include "ev_memory.h"
#include "evtime.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return c == 0 ? 0 : 1; /* NUL is valid UTF-8 but jansson's C strings stop at it */
    size_t len;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

json_t *ev_json_str(ev_str s)
{
    if (s.ptr == NULL)
        return json_null();
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = s.len, i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            break;
        i += k;
    }
    if (i == n)
        return json_stringn(s.ptr, n);
    /* Repair: each invalid byte becomes U+FFFD (3 bytes). */
    char *buf = malloc(n * 3 + 1);
    if (buf == NULL)
        return NULL;
    size_t o = 0;
    for (i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, p + i, k);
            o += k;
            i += k;
        }
    }
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j;
}

json_t *ev_json_cstr(const char *s)
{
    return ev_json_str(s ? ev_str_make(s, strlen(s)) : EV_STR_NULL);
}

static void set_str(json_t *o, const char *key, ev_str s)
{
    if (ev_str_present(s))
        json_object_set_new(o, key, ev_json_str(s));
}

json_t *ev_frame_to_json(const struct ev_frame *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", ev_json_str(f->file));
    json_object_set_new(o, "line", json_integer(f->line));
    json_object_set_new(o, "function", ev_json_str(f->function));
    return o;
}

static json_t *group_to_json(const struct ev_group *g)
{
    json_t *o = json_object();
    json_t *members = json_array();
    for (uint32_t i = 0; i < g->n; i++)
        json_array_append_new(members, ev_chain_to_json(&g->members[i]));
    json_object_set_new(o, "exceptions", members);
    json_object_set_new(o, "count", json_integer((json_int_t)g->n + g->more_exceptions));
    json_object_set_new(o, "printed_members", json_integer(g->n));
    json_object_set_new(o, "more_exceptions", json_integer(g->more_exceptions));
    if (g->depth_truncated)
        json_object_set_new(o, "depth_truncated", json_true());
    return o;
}

static json_t *exc_to_json(const struct ev_exc *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", ev_json_str(e->type));
    json_object_set_new(o, "message", ev_json_str(e->message.ptr ? e->message : EV_STR_LIT("")));
    json_object_set_new(o, "relation", json_string(ev_relation_name(e->relation)));
    json_t *frames = json_array();
    for (uint32_t i = 0; i < e->nframes; i++)
        json_array_append_new(frames, ev_frame_to_json(&e->frames[i]));
    json_object_set_new(o, "frames", frames);
    if (e->frames_total != e->nframes)
        json_object_set_new(o, "frames_total", json_integer(e->frames_total));
    if (e->nnotes) {
        json_t *notes = json_array();
        for (uint32_t i = 0; i < e->nnotes; i++)
            json_array_append_new(notes, ev_json_str(e->notes[i]));
        json_object_set_new(o, "notes", notes);
    }
    if (e->has_syntax) {
        json_t *s = json_object();
        json_object_set_new(s, "filename", ev_json_str(e->syntax.filename));
        json_object_set_new(s, "lineno", json_integer(e->syntax.lineno));
        if (e->syntax.offset)
            json_object_set_new(s, "offset", json_integer(e->syntax.offset));
        set_str(s, "text", e->syntax.text);
        json_object_set_new(o, "syntax", s);
    }
    if (e->group != NULL)
        json_object_set_new(o, "group", group_to_json(e->group));
    if (e->remote != NULL)
        json_object_set_new(o, "remote", ev_chain_to_json(e->remote));
    return o;
}

json_t *ev_chain_to_json(const struct ev_chain *chain)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < chain->n; i++)
        json_array_append_new(a, exc_to_json(&chain->exc[i]));
    return a;
}

/* ---- the direct writer: ev_json_dump must write what ev_to_json builds ---- */

/* Pieces are gathered here and given to write in a few calls, not one a piece. */
struct jw {
    json_dump_callback_t write;
    void *ctx;
    int rc;
    bool first;
    size_t len;
    char buf[4096];
};

static void jw_flush(struct jw *w)
{
    if (w->rc == 0 && w->len > 0 && w->write(w->buf, w->len, w->ctx) != 0)
        w->rc = -1;
    w->len = 0;
}

static void jw_raw(struct jw *w, const char *s, size_t n)
{
    if (n <= sizeof(w->buf) - w->len) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        return;
    }
    jw_flush(w);
    if (n <= sizeof(w->buf)) {
        memcpy(w->buf, s, n);
        w->len = n;
    } else if (w->rc == 0 && w->write(s, n, w->ctx) != 0) {
        w->rc = -1;
    }
}

static void jw_lit(struct jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

/* A string as jansson writes it, after ev_json_str's repair: bytes of invalid
 * UTF-8 (and NUL) as U+FFFD, '"' and '\\' and control characters escaped, the
 * rest as it is. */
static void jw_string(struct jw *w, ev_str s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = s.len, i = 0, run = 0;
    jw_raw(w, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? utf8_seq(p + i, n - i) : 0;
        if (k > 0) {
            i += k;
            continue;
        }
        jw_raw(w, (const char *)p + run, i - run);
        char esc[8];
        const char *e = esc;
        size_t el = 2;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default:
            if (c == 0 || c >= 0x80) {
                e = "\xEF\xBF\xBD"; /* NUL ends a C string: repaired like a bad byte */
                el = 3;
            } else {
                snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
                el = 6;
            }
        }
        jw_raw(w, e, el);
        run = ++i;
    }
    jw_raw(w, (const char *)p + run, n - run);
    jw_raw(w, "\"", 1);
}

static void jw_key(struct jw *w, const char *key)
{
    jw_raw(w, w->first ? "\"" : ",\"", w->first ? 1 : 2);
    w->first = false;
    jw_lit(w, key);
    jw_raw(w, "\":", 2);
}

static void jw_str_field(struct jw *w, const char *key, ev_str s)
{
    if (!ev_str_present(s))
        return;
    jw_key(w, key);
    jw_string(w, s);
}

static void jw_int_field(struct jw *w, const char *key, long long v)
{
    char num[24];
    size_t i = sizeof(num);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        num[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        num[--i] = '-';
    jw_key(w, key);
    jw_raw(w, num + i, sizeof(num) - i);
}

/* A payload still built as a tree: few events have one. */
static void jw_tree_field(struct jw *w, const char *key, json_t *j)
{
    if (j == NULL) {
        w->rc = -1;
        return;
    }
    jw_key(w, key);
    jw_flush(w);
    if (w->rc == 0 && json_dump_callback(j, w->write, w->ctx, JSON_COMPACT) != 0)
        w->rc = -1;
    json_decref(j);
}

static json_t *exception_to_json(const struct ev_exception *x);

int ev_json_dump(const struct event *ev, json_dump_callback_t write, void *ctx)
{
    struct jw w;
    w.write = write;
    w.ctx = ctx;
    w.rc = 0;
    w.first = true;
    w.len = 0;
    jw_raw(&w, "{", 1);
    if (ev->has_ts) {
        char buf[EVTIME_BUFSZ];
        jw_key(&w, "ts");
        jw_lit(&w, "\"");
        jw_lit(&w, evtime_format(ev->ts_ns, buf));
        jw_lit(&w, "\"");
    }
    jw_key(&w, "kind");
    jw_string(&w, ev_str_make(ev_kind_name(ev->kind), strlen(ev_kind_name(ev->kind))));
    jw_str_field(&w, "service", ev->service);
    jw_str_field(&w, "host", ev->host);
    if (ev->pid >= 0)
        jw_int_field(&w, "pid", (long long)ev->pid);
    jw_str_field(&w, "trace_id", ev->trace_id);
    jw_str_field(&w, "span_id", ev->span_id);
    if (ev->level != EV_LVL_UNKNOWN) {
        jw_key(&w, "level");
        jw_string(&w, ev_str_make(ev_level_name(ev->level), strlen(ev_level_name(ev->level))));
    }
    jw_str_field(&w, "logger", ev->logger);
    jw_str_field(&w, "thread", ev->thread);
    jw_str_field(&w, "message", ev->message);
    jw_key(&w, "source");
    jw_raw(&w, "{", 1);
    w.first = true;
    jw_key(&w, "stream");
    if (ev->src.stream != NULL)
        jw_string(&w, ev_str_make(ev->src.stream, strlen(ev->src.stream)));
    else
        jw_lit(&w, "null");
    if (ev->src.line)
        jw_int_field(&w, "line", (long long)ev->src.line);
    jw_str_field(&w, "output", ev->stream_name);
    jw_raw(&w, "}", 1);
    if (ev->kind == EV_EXCEPTION)
        jw_tree_field(&w, "exception", exception_to_json(&ev->u.exc));
    if (ev_snapshot_of(ev) != NULL)
        jw_tree_field(&w, "snapshot", ev_snapshot_to_json(ev->u.snap, 200));
    else if (ev_counters_of(ev) != NULL)
        jw_tree_field(&w, "counters", ev_counters_to_json(ev->u.counters));
    if ((ev->kind == EV_THREAD_DUMP || ev->kind == EV_THREAD_CPU) && ev->u.dump != NULL)
        jw_tree_field(&w, "dump", ev_dump_to_json(ev->u.dump));
    if (ev->kind == EV_PACKAGES && ev->u.packages != NULL)
        jw_tree_field(&w, "packages", ev_packages_to_json(ev->u.packages));
    jw_raw(&w, "}", 1);
    jw_flush(&w);
    return w.rc;
}

static json_t *exception_to_json(const struct ev_exception *x)
{
    json_t *e = json_object();
    if (e == NULL)
        return NULL;
    json_object_set_new(e, "origin", json_string(ev_tb_origin_name(x->origin)));
    set_str(e, "thread_name", x->thread_name);
    if (x->last_line)
        json_object_set_new(e, "last_line", json_integer((json_int_t)x->last_line));
    if (x->interleaved)
        json_object_set_new(e, "interleaved", json_true());
    json_object_set_new(e, "chain", ev_chain_to_json(&x->chain));
    if (x->chain.n > 0 && x->chain.exc[x->chain.n - 1].group != NULL)
        json_object_set_new(e, "group", group_to_json(x->chain.exc[x->chain.n - 1].group));
    return e;
}

json_t *ev_to_json(const struct event *ev)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (ev->has_ts) {
        char buf[EVTIME_BUFSZ];
        json_object_set_new(o, "ts", json_string(evtime_format(ev->ts_ns, buf)));
    }
    json_object_set_new(o, "kind", json_string(ev_kind_name(ev->kind)));
    set_str(o, "service", ev->service);
    set_str(o, "host", ev->host);
    if (ev->pid >= 0)
        json_object_set_new(o, "pid", json_integer(ev->pid));
    set_str(o, "trace_id", ev->trace_id);
    set_str(o, "span_id", ev->span_id);
    if (ev->level != EV_LVL_UNKNOWN)
        json_object_set_new(o, "level", json_string(ev_level_name(ev->level)));
    set_str(o, "logger", ev->logger);
    set_str(o, "thread", ev->thread);
    set_str(o, "message", ev->message);
    json_t *src = json_object();
    json_object_set_new(src, "stream", ev_json_cstr(ev->src.stream));
    if (ev->src.line)
        json_object_set_new(src, "line", json_integer((json_int_t)ev->src.line));
    set_str(src, "output", ev->stream_name);
    json_object_set_new(o, "source", src);
    if (ev->kind == EV_EXCEPTION)
        json_object_set_new(o, "exception", exception_to_json(&ev->u.exc));
    if (ev_snapshot_of(ev) != NULL) /* issue #3: ev_memory.h */
        json_object_set_new(o, "snapshot", ev_snapshot_to_json(ev->u.snap, 200));
    else if (ev_counters_of(ev) != NULL)
        json_object_set_new(o, "counters", ev_counters_to_json(ev->u.counters));
    if ((ev->kind == EV_THREAD_DUMP || ev->kind == EV_THREAD_CPU) && ev->u.dump != NULL)
        json_object_set_new(o, "dump", ev_dump_to_json(ev->u.dump)); /* issue #8 */
    if (ev->kind == EV_PACKAGES && ev->u.packages != NULL)
        json_object_set_new(o, "packages", ev_packages_to_json(ev->u.packages)); /* issue #7 */
    return o;
}
