/* linesplit.c -- see linesplit.h. */
#include "linesplit.h"

#include <stdlib.h>
#include <string.h>

void linesplit_init(struct linesplit *ls, size_t max_line)
{
    memset(ls, 0, sizeof(*ls));
    ls->max_line = max_line ? max_line : ((size_t)1 << 20);
}

static int deliver(struct linesplit *ls, const char *p, size_t n, bool truncated, line_fn fn, void *ctx)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    ls->lineno++;
    return fn(ctx, p, n, ls->lineno, truncated);
}

static int carry(struct linesplit *ls, const char *p, size_t n)
{
    size_t room = ls->max_line - ls->len;
    if (n > room) {
        n = room;
        ls->carried_truncated = true;
        ls->skipping = true;
    }
    if (ls->len + n > ls->cap) {
        size_t cap = ls->cap ? ls->cap : 256;
        while (cap < ls->len + n)
            cap *= 2;
        char *nb = realloc(ls->buf, cap);
        if (nb == NULL)
            return -1;
        ls->buf = nb;
        ls->cap = cap;
    }
    memcpy(ls->buf + ls->len, p, n);
    ls->len += n;
    return 0;
}

int linesplit_line(struct linesplit *ls, const char *p, size_t n, line_fn fn, void *ctx)
{
    if (n > ls->max_line)
        return deliver(ls, p, ls->max_line, true, fn, ctx);
    return deliver(ls, p, n, false, fn, ctx);
}

int linesplit_feed(struct linesplit *ls, const char *data, size_t n, line_fn fn, void *ctx)
{
    const char *p = data, *end = data + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            if (!ls->skipping && carry(ls, p, (size_t)(end - p)) != 0)
                return -1;
            return 0;
        }
        int rc;
        if (ls->len > 0 || ls->skipping) {
            if (!ls->skipping && carry(ls, p, (size_t)(nl - p)) != 0)
                return -1;
            rc = deliver(ls, ls->buf, ls->len, ls->carried_truncated, fn, ctx);
            ls->len = 0;
            ls->skipping = false;
            ls->carried_truncated = false;
        } else {
            rc = linesplit_line(ls, p, (size_t)(nl - p), fn, ctx);
        }
        if (rc != 0)
            return rc;
        p = nl + 1;
    }
    return 0;
}

int linesplit_finish(struct linesplit *ls, line_fn fn, void *ctx)
{
    if (ls->len == 0 && !ls->skipping)
        return 0;
    int rc = deliver(ls, ls->buf, ls->len, ls->carried_truncated, fn, ctx);
    ls->len = 0;
    ls->skipping = false;
    ls->carried_truncated = false;
    return rc;
}

void linesplit_free(struct linesplit *ls)
{
    free(ls->buf);
    ls->buf = NULL;
    ls->len = ls->cap = 0;
}
