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
/* Producer: a line to be parsed on the consumer's side (by parser, whose lines are
 * records of their own: parser.h's parse_line), its bytes copied. Same return
 * values as handoff_event. */
int handoff_raw(struct handoff *h, const void *parser, const char *stream, const char *line, size_t len,
                uint64_t lineno);
/* Producer: should the next line go raw? Lines go raw in the share that keeps both
 * sides busy: more while the consumer finds nothing to take when a batch is
 * published, fewer while the producer waits for room. */
bool handoff_offload(struct handoff *h);
/* Before the producer starts: a fixed share of lines (in 64ths) goes raw, whatever
 * the sides do (tests). */
void handoff_fix_offload(struct handoff *h, unsigned share64);
/* Producer: no more items. */
void handoff_close(struct handoff *h);

enum handoff_kind { HO_END = 0, HO_EVENT, HO_DIAG, HO_RAW };
struct handoff_item {
    const struct event *ev; /* HO_EVENT */
    int diag_kind;          /* HO_DIAG */
    const char *stream;     /* HO_DIAG (may be NULL), HO_RAW */
    uint64_t line;          /* HO_DIAG, HO_RAW: the line number */
    const char *text;       /* HO_DIAG: the message; HO_RAW: the line's bytes */
    size_t len;             /* HO_RAW */
    const void *parser;     /* HO_RAW */
};
/* Consumer: the next item, in order, into *it; its kind, HO_END at the end. The
 * item is valid until the next call. */
enum handoff_kind handoff_next(struct handoff *h, struct handoff_item *it);
/* Either side, before the producer starts: work to do instead of waiting. When a
 * side finds nothing to take (or no room to give), it calls help(ctx) until that
 * returns 0 (nothing to do) or its wait is over. help runs on both threads, one
 * call at a time or at once: it keeps its own state safe. */
void handoff_set_help(struct handoff *h, int (*help)(void *ctx), void *ctx);

/* Consumer: stop early; the producer's next handoff_event returns -1. */
void handoff_cancel(struct handoff *h);

#endif
