/* arena.h -- a bump allocator for per-record scratch memory.
 *
 * Parsers build one record's data (frames, unescaped strings) in an arena and reset
 * it after the record is emitted, so steady-state parsing allocates nothing: reset
 * keeps the memory of the largest block for the next record. An arena has a hard
 * cap so hostile input cannot make it grow without bound.
 */
#ifndef PYCORR_ARENA_H
#define PYCORR_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head; /* current block; older blocks follow */
    size_t used_total;        /* bytes handed out since the last reset */
    size_t cap;               /* hard limit on bytes handed out; 0 = default */
};

#define ARENA_DEFAULT_CAP ((size_t)64 << 20)

/* An arena needs no set-up beyond zeroing: struct arena a = {0}. */
void arena_init(struct arena *a, size_t cap);

/* Return n bytes aligned for any type, or NULL when the cap would be exceeded or
 * memory is exhausted (the arena is unchanged then). */
void *arena_alloc(struct arena *a, size_t n);

/* Like arena_alloc, zero-filled. */
void *arena_calloc(struct arena *a, size_t count, size_t size);

/* Copy n bytes and a terminating NUL; NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* Grow the most recent allocation p (of old_n bytes) to new_n bytes, moving it when
 * it cannot grow in place. Returns the new pointer or NULL (p stays valid). */
void *arena_grow(struct arena *a, void *p, size_t old_n, size_t new_n);

/* Forget every allocation; keep the largest block for reuse. */
void arena_reset(struct arena *a);

/* Free everything. Accepts an arena that was never used. */
void arena_free(struct arena *a);

#endif
