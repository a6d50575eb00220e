/* handoff.h -- events parsed on one thread, analyzed on another, in order.
 *
 * Parsing (tokenizing, building events) and analysis (correlation, rules,
 * detectors) each take about half of a run; on two cores they can overlap. The
 * producer copies each event into the current batch (an arena, as the merge
 * does) and publishes full batches through a small bounded queue; the consumer
 * takes them in order and hands the events on. Diagnostics travel in the same
 * stream, so they are printed by the consumer in their place and no two threads
 * write to stderr. Memory is bounded by the number of batches in flight.
 */
#ifndef PYCORR_HANDOFF_H
#define PYCORR_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "../correlate/event.h"

struct handoff;

/* NULL on allocation failure. */
struct handoff *handoff_create(void);
void handoff_destroy(struct handoff *h);

/* Producer: copy ev into the current batch (publishing it when full; waits while
 * the queue is full). 0, or -1 when memory ran out (the event is lost) or the
 * consumer has stopped. */
int handoff_event(struct handoff *h, const struct event *ev);
/* Producer: a plain log line; the consumer gets it as the event ev_from_line
 * makes of it. Same return values as handoff_event. */
int handoff_line(struct handoff *h, const struct ev_line *line);
/* Producer: the events that follow come from the stream with this name, which
 * stays valid until the next call (or the end). Optional: it spares a string
 * comparison per event. */
void handoff_stream(struct handoff *h, const char *name);
/* Producer: a diagnostic (kind 0: a malformed record; 1: an unreadable input). */
int handoff_diag(struct handoff *h, int kind, const char *stream, uint64_t line, const char *text);
/* Producer: no more items. */
void handoff_close(struct handoff *h);

/* Consumer: the next item, in order. Returns 1 with *ev set (an event), 2 with
 * *diag_* set (a diagnostic), 0 at the end. The item is valid until the next call. */
int handoff_next(struct handoff *h, const struct event **ev, int *diag_kind, const char **diag_stream,
                 uint64_t *diag_line, const char **diag_text);
/* Either side, before the producer starts: work to do instead of waiting. When a
 * side finds nothing to take (or no room to give), it calls help(ctx) until that
 * returns 0 (nothing to do) or its wait is over. help runs on both threads, one
 * call at a time or at once: it keeps its own state safe. */
void handoff_set_help(struct handoff *h, int (*help)(void *ctx), void *ctx);

/* Consumer: stop early; the producer's next handoff_event returns -1. */
void handoff_cancel(struct handoff *h);

#endif
