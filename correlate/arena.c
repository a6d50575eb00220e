/* arena.c -- bump allocator; see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    max_align_t data[];
};

#define ARENA_MIN_BLOCK ((size_t)16 << 10)
#define ARENA_ALIGN (sizeof(max_align_t))

void arena_init(struct arena *a, size_t cap)
{
    a->head = NULL;
    a->used_total = 0;
    a->cap = cap;
}

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t cap = a->cap ? a->cap : ARENA_DEFAULT_CAP;
    size_t need = align_up(n ? n : 1);
    /* Compare against the room left, not the sum, which can wrap around. */
    if (need < n || a->used_total > cap || need > cap - a->used_total)
        return NULL;
    struct arena_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        size_t size = ARENA_MIN_BLOCK;
        if (b != NULL && b->size * 2 > size)
            size = b->size * 2;
        while (size < need && size <= SIZE_MAX / 2)
            size *= 2;
        if (size < need)
            size = need;
        if (size > SIZE_MAX - sizeof(struct arena_block))
            return NULL;
        struct arena_block *nb = malloc(sizeof(*nb) + size);
        if (nb == NULL)
            return NULL;
        nb->next = b;
        nb->size = size;
        nb->used = 0;
        a->head = nb;
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    a->used_total += need;
    return p;
}

void *arena_calloc(struct arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(a, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *arena_grow(struct arena *a, void *p, size_t old_n, size_t new_n)
{
    struct arena_block *b = a->head;
    if (p != NULL && b != NULL) {
        size_t old_aligned = align_up(old_n ? old_n : 1);
        size_t new_aligned = align_up(new_n ? new_n : 1);
        char *end = (char *)b->data + b->used;
        size_t cap = a->cap ? a->cap : ARENA_DEFAULT_CAP;
        /* The last allocation of the current block can grow in place. */
        if ((char *)p + old_aligned == end && new_aligned >= old_aligned &&
            b->size - b->used >= new_aligned - old_aligned &&
            a->used_total + (new_aligned - old_aligned) <= cap) {
            b->used += new_aligned - old_aligned;
            a->used_total += new_aligned - old_aligned;
            return p;
        }
    }
    void *q = arena_alloc(a, new_n);
    if (q != NULL && p != NULL && old_n)
        memcpy(q, p, old_n < new_n ? old_n : new_n);
    return q;
}

void arena_reset(struct arena *a)
{
    struct arena_block *b = a->head, *keep = NULL;
    while (b != NULL) {
        struct arena_block *next = b->next;
        if (keep == NULL || b->size > keep->size) {
            free(keep);
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used_total = 0;
}

void arena_free(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b != NULL) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
