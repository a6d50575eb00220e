/* merge.c -- k-way merge of event streams by time; see merge.h. */
#include "merge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct merge_cursor {
    struct arena arena;    /* copies of the queued events; reset when drained */
    struct event *q;       /* FIFO */
    size_t head, n, cap;
    int64_t last_ts;       /* of the last event pushed, for events without time */
    bool have_ts;
    bool done;
    struct merge_cursor *next;
    size_t order;          /* ties go to the input named first */
};

struct merge {
    struct merge_cursor *first, *last;
    size_t ncursors;
};

struct merge *merge_create(void)
{
    return calloc(1, sizeof(struct merge));
}

void merge_destroy(struct merge *m)
{
    if (m == NULL)
        return;
    for (struct merge_cursor *c = m->first; c != NULL;) {
        struct merge_cursor *next = c->next;
        arena_free(&c->arena);
        free(c->q);
        free(c);
        c = next;
    }
    free(m);
}

struct merge_cursor *merge_add(struct merge *m)
{
    struct merge_cursor *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    arena_init(&c->arena, 0);
    c->order = m->ncursors++;
    if (m->last)
        m->last->next = c;
    else
        m->first = c;
    m->last = c;
    return c;
}

/* The time an event sorts at. */
static int64_t sort_key(const struct merge_cursor *c, const struct event *ev, int64_t fallback)
{
    (void)c;
    return ev->has_ts ? ev->ts_ns : fallback;
}

int merge_push(struct merge_cursor *c, const struct event *ev)
{
    if (c->head + c->n == c->cap) {
        if (c->head > 0) {
            memmove(c->q, c->q + c->head, c->n * sizeof(*c->q));
            c->head = 0;
        } else {
            size_t cap = c->cap ? c->cap * 2 : 64;
            struct event *nq = realloc(c->q, cap * sizeof(*nq));
            if (nq == NULL)
                return -1;
            c->q = nq;
            c->cap = cap;
        }
    }
    struct event *slot = &c->q[c->head + c->n];
    if (ev_clone(slot, ev, &c->arena) != 0)
        return -1;
    /* An event without time sorts where its input was: keep that in the copy's
     * time field while has_ts stays false for the consumers. */
    if (ev->has_ts) {
        c->last_ts = ev->ts_ns;
        c->have_ts = true;
    } else {
        slot->ts_ns = c->have_ts ? c->last_ts : INT64_MIN;
    }
    c->n++;
    return 0;
}

size_t merge_pending(const struct merge_cursor *c) { return c->n; }
void merge_done(struct merge_cursor *c) { c->done = true; }
bool merge_is_done(const struct merge_cursor *c) { return c->done && c->n == 0; }

const struct event *merge_peek(struct merge *m, struct merge_cursor **from)
{
    struct merge_cursor *best = NULL;
    int64_t best_key = 0;
    for (struct merge_cursor *c = m->first; c != NULL; c = c->next) {
        if (c->n == 0)
            continue;
        const struct event *ev = &c->q[c->head];
        int64_t k = sort_key(c, ev, ev->ts_ns);
        if (best == NULL || k < best_key) {
            best = c;
            best_key = k;
        }
    }
    *from = best;
    return best ? &best->q[best->head] : NULL;
}

void merge_pop(struct merge_cursor *c)
{
    if (c->n == 0)
        return;
    c->head++;
    c->n--;
    if (c->n == 0) {
        c->head = 0;
        arena_reset(&c->arena);
    }
}

size_t merge_bytes(const struct merge *m)
{
    size_t b = 0;
    for (const struct merge_cursor *c = m->first; c != NULL; c = c->next)
        b += c->arena.used_total + c->cap * sizeof(struct event);
    return b;
}
