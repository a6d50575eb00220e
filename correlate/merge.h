/* merge.h -- several event streams merged by event time, in bounded memory.
 *
 * Each input is close to time-ordered on its own, so a k-way merge of the inputs'
 * heads gives a stream close to time order for the correlator, which needs memory
 * for open traces only. Every input has a cursor holding the events its parser
 * emitted from the last slice of bytes (deep copies in the cursor's arena, freed
 * when the cursor drains). An event without a time sorts at its input's last known
 * time, so it stays beside its neighbours.
 */
#ifndef PYCORR_MERGE_H
#define PYCORR_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

struct merge;
struct merge_cursor;

/* NULL on allocation failure. */
struct merge *merge_create(void);
void merge_destroy(struct merge *m);

/* A new input; NULL on allocation failure. The cursor lives until merge_destroy. */
struct merge_cursor *merge_add(struct merge *m);

/* Copy ev into the cursor's queue. 0, or -1 when memory ran out (ev is lost). */
int merge_push(struct merge_cursor *c, const struct event *ev);

/* Events waiting in the cursor. */
size_t merge_pending(const struct merge_cursor *c);

/* The input will give no more events. */
void merge_done(struct merge_cursor *c);
bool merge_is_done(const struct merge_cursor *c);

/* The earliest head event among the cursors, or NULL when every cursor is empty.
 * Only meaningful when every cursor that is not done has an event waiting (the
 * caller refills first). *from is set to its cursor. */
const struct event *merge_peek(struct merge *m, struct merge_cursor **from);

/* Drop the head event of c (after it was handed on). */
void merge_pop(struct merge_cursor *c);

/* Bytes held in cursor queues right now (for bounds and tests). */
size_t merge_bytes(const struct merge *m);

#endif
