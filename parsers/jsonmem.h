/* jsonmem.h -- memory records inside JSON lines: tracemalloc statistics, gc and
 * objgraph numbers, process counters and training metrics (issue #3).
 *
 * Not a parser of its own: parsers/jsonlog.c tokenizes each line and hands the object
 * here first; a record of one of these shapes becomes EV_TRACEMALLOC, EV_GC or
 * EV_COUNTER events instead of a log event. Shapes (field names as the corpus and the
 * usual samplers write them; see jsonmem.c):
 *   {"stats": [{"file", "line", "size", "count"}, ...], ...}      tracemalloc
 *   {"gc_count": [...], "gc_stats": [...], "objects": N, "typestats": {...}}   gc
 *   {"threads": N, "vm_rss_kb": N, "fds": N, ...}                    process counters
 *   {"step": N, "loss": X, "lr": X, ...}                             training metrics
 */
#ifndef PYCORR_JSONMEM_H
#define PYCORR_JSONMEM_H

#include "../correlate/arena.h"
#include "../correlate/event.h"
#include "jsontok.h"
#include "parser.h"

#define JSONMEM_NOT_MINE (-2)

/* Can a top-level key of this name (raw, as in the line) make a record one of
 * jsonmem's? A record without such a key is never one: jsonlog calls
 * jsonmem_record only when it saw one. */
bool jsonmem_wants_key(const char *name, size_t n);

/* js[0..) holds the line, tok[0..ntok) its tokens (tok[0] the object). keys is the
 * event jsonlog built from the record's common fields (time, service, pid, host...);
 * it is copied, not changed. Scratch goes into arena a (the caller resets it).
 * Returns JSONMEM_NOT_MINE when the record is none of these shapes (nothing was
 * emitted), else what the sink returned (0 go on, > 0 stop) or -1 on OOM. */
int jsonmem_record(const char *js, const jt_tok *tok, int ntok, const struct event *keys, struct arena *a,
                   const struct parser_env *env);

#endif
