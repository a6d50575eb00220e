/* jsonout.c -- see jsonout.h. */
#include "jsonout.h"

#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"

struct jbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* Kept for the next document: a run writes millions of them alike. */
static struct jbuf buf;

static int append(const char *s, size_t n, void *ctx)
{
    struct jbuf *b = ctx;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = true;
            return -1;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int flush_line(FILE *out, bool newline);

int jsonout_write(FILE *out, const json_t *j, size_t flags, bool newline)
{
    buf.len = 0;
    buf.oom = false;
    if (json_dump_callback(j, append, &buf, flags) != 0)
        return -1;
    return flush_line(out, newline);
}

int jsonout_event(FILE *out, const struct event *ev)
{
    buf.len = 0;
    buf.oom = false;
    if (ev_json_dump(ev, append, &buf) != 0)
        return -1;
    return flush_line(out, true);
}

static int flush_line(FILE *out, bool newline)
{
    if (newline)
        buf.p[buf.len++] = '\n'; /* append kept a byte free */
    if (buf.len > 0 && fwrite(buf.p, 1, buf.len, out) != buf.len)
        return -1;
    /* A document of megabytes (a report) does not keep its buffer. */
    if (buf.cap > ((size_t)1 << 20)) {
        free(buf.p);
        buf.p = NULL;
        buf.cap = 0;
    }
    return 0;
}
