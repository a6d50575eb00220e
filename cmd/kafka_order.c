/* kafka_order.c -- partitions merged by event time under a watermark; see
 * kafka_order.h. */
#include "kafka_order.h"

#include <stdlib.h>
#include <string.h>

#include "../correlate/merge.h"

struct korder_in {
    struct korder *o;
    struct merge_cursor *cur;
    bool live;
    bool released;           /* free for the next korder_input */
    bool seen;               /* has pushed an event */
    bool have_ts;
    int64_t last_ts;         /* latest event time pushed */
    int64_t min_offset;      /* since the cursor was last empty; -1 none */
    struct korder_in *next;
};

struct korder {
    struct merge *m;
    ev_sink_fn sink;
    void *sink_ctx;
    size_t max_bytes;
    struct korder_in *first;
    size_t held;
};

struct korder *korder_create(ev_sink_fn sink, void *sink_ctx, size_t max_bytes)
{
    struct korder *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return NULL;
    o->m = merge_create();
    if (o->m == NULL) {
        free(o);
        return NULL;
    }
    o->sink = sink;
    o->sink_ctx = sink_ctx;
    o->max_bytes = max_bytes ? max_bytes : (size_t)16 << 20;
    return o;
}

void korder_destroy(struct korder *o)
{
    if (o == NULL)
        return;
    for (struct korder_in *in = o->first; in != NULL;) {
        struct korder_in *next = in->next;
        free(in);
        in = next;
    }
    merge_destroy(o->m);
    free(o);
}

struct korder_in *korder_input(struct korder *o)
{
    for (struct korder_in *in = o->first; in != NULL; in = in->next)
        if (in->released) {
            struct merge_cursor *cur = in->cur;
            struct korder_in *next = in->next;
            memset(in, 0, sizeof(*in));
            in->cur = cur;
            in->next = next;
            in->o = o;
            in->live = true;
            in->min_offset = -1;
            return in;
        }
    struct korder_in *in = calloc(1, sizeof(*in));
    if (in == NULL)
        return NULL;
    in->cur = merge_add(o->m);
    if (in->cur == NULL) {
        free(in);
        return NULL;
    }
    in->o = o;
    in->live = true;
    in->min_offset = -1;
    in->next = o->first;
    o->first = in;
    return in;
}

int korder_push(void *ctx, const struct event *ev)
{
    struct korder_in *in = ctx;
    if (merge_push(in->cur, ev) != 0)
        return in->o->sink(in->o->sink_ctx, ev); /* out of order, but not lost */
    in->o->held++;
    in->seen = true;
    if (ev->has_ts && (!in->have_ts || ev->ts_ns > in->last_ts)) {
        in->last_ts = ev->ts_ns;
        in->have_ts = true;
    }
    int64_t off = ev->src.line > 0 ? (int64_t)ev->src.line - 1 : -1;
    if (off >= 0 && (in->min_offset < 0 || off < in->min_offset))
        in->min_offset = off;
    return 0;
}

void korder_set_live(struct korder_in *in, bool live) { in->live = live; }

int korder_input_release(struct korder_in *in)
{
    in->live = false;
    int rc = merge_pending(in->cur) > 0 ? korder_release(in->o, true) : 0;
    in->released = true;
    return rc;
}

int korder_release(struct korder *o, bool all)
{
    /* The watermark: nothing later than the slowest live input's latest event. A
     * live input that has given nothing yet may still bring the earliest events, so
     * it holds everything back (until it is idle or at its end); one whose events
     * carry no time says nothing about time. */
    bool bounded = false, blocked = false;
    int64_t wm = 0;
    for (struct korder_in *in = o->first; in != NULL && !all; in = in->next) {
        if (!in->live)
            continue;
        if (!in->seen)
            blocked = true;
        else if (in->have_ts && (!bounded || in->last_ts < wm)) {
            wm = in->last_ts;
            bounded = true;
        }
    }
    bool over = !all && merge_bytes(o->m) > o->max_bytes;
    if (blocked && !over)
        return 0;
    for (;;) {
        struct merge_cursor *from;
        const struct event *ev = merge_peek(o->m, &from);
        if (ev == NULL)
            break;
        if (!all && !over && bounded && ev->ts_ns > wm)
            break;
        int rc = o->sink(o->sink_ctx, ev);
        merge_pop(from);
        o->held--;
        if (merge_pending(from) == 0) {
            for (struct korder_in *in = o->first; in != NULL; in = in->next)
                if (in->cur == from)
                    in->min_offset = -1;
            if (over)
                over = merge_bytes(o->m) > o->max_bytes / 2;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int64_t korder_min_offset(const struct korder_in *in) { return in->min_offset; }
size_t korder_pending(const struct korder_in *in) { return merge_pending(in->cur); }
size_t korder_held(const struct korder *o) { return o->held; }
