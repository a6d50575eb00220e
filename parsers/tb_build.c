/* tb_build.c -- see tb_build.h. */
#include "tb_build.h"

#include <string.h>

void tbb_init(struct tb_build *b, struct arena *a, const struct parse_limits *lim, struct ev_chain *out)
{
    memset(b, 0, sizeof(*b));
    b->a = a;
    b->lim = lim;
    b->out = out;
    out->exc = NULL;
    out->n = 0;
}

static void *grow(struct tb_build *b, void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    uint32_t nc = *cap ? *cap * 2 : 8;
    void *na = arena_alloc(b->a, nc * elem);
    if (na == NULL) {
        b->oom = true;
        return NULL;
    }
    if (n)
        memcpy(na, arr, n * elem);
    *cap = nc;
    return na;
}

bool tbb_frame(struct tb_build *b, ev_str file, ev_str function, uint32_t line)
{
    b->frames_total++;
    if (b->nframes >= b->lim->max_frames) {
        b->truncated = true;
        return false;
    }
    struct ev_frame *f = grow(b, b->frames, b->nframes, &b->frames_cap, sizeof(*f));
    if (f == NULL)
        return false;
    b->frames = f;
    f[b->nframes] = (struct ev_frame){.file = file, .function = function, .line = line};
    b->nframes++;
    return true;
}

void tbb_drop_frames(struct tb_build *b)
{
    b->frames = NULL;
    b->nframes = b->frames_cap = b->frames_total = 0;
}

void tbb_exception(struct tb_build *b, ev_str type, ev_str message, enum ev_relation relation)
{
    if (b->out->n >= b->lim->max_chain) {
        b->truncated = true;
    } else {
        struct ev_exc *arr = grow(b, b->out->exc, b->out->n, &b->chain_cap, sizeof(*arr));
        if (arr != NULL) {
            b->out->exc = arr;
            struct ev_exc *e = &arr[b->out->n++];
            memset(e, 0, sizeof(*e));
            e->type = type;
            e->message = message;
            e->relation = b->out->n == 1 ? EV_REL_ROOT : relation;
            e->frames = b->frames;
            e->nframes = b->nframes;
            e->frames_total = b->frames_total;
        }
    }
    tbb_drop_frames(b);
}

int tbb_result(const struct tb_build *b, bool *truncated)
{
    if (truncated != NULL)
        *truncated = b->truncated;
    if (b->oom)
        return -1;
    return b->out->n > 0 ? 1 : 0;
}
