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
    return o;
}

json_t *ev_chain_to_json(const struct ev_chain *chain)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < chain->n; i++)
        json_array_append_new(a, exc_to_json(&chain->exc[i]));
    return a;
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
    if (ev->kind == EV_EXCEPTION) {
        const struct ev_exception *x = &ev->u.exc;
        json_t *e = json_object();
        json_object_set_new(e, "origin", json_string(ev_tb_origin_name(x->origin)));
        set_str(e, "thread_name", x->thread_name);
        if (x->last_line)
            json_object_set_new(e, "last_line", json_integer((json_int_t)x->last_line));
        if (x->interleaved)
            json_object_set_new(e, "interleaved", json_true());
        json_object_set_new(e, "chain", ev_chain_to_json(&x->chain));
        if (x->chain.n > 0 && x->chain.exc[x->chain.n - 1].group != NULL)
            json_object_set_new(e, "group", group_to_json(x->chain.exc[x->chain.n - 1].group));
        json_object_set_new(o, "exception", e);
    }
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
