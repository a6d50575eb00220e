/* tb_build.h -- an exception chain built up frame by frame, in an arena.
 *
 * For the readers of other tools' traceback layouts (pytest_tb, ipython_tb): frames
 * go onto the exception being read, and the exception onto the chain when its type
 * is known. Limits are kept as tb_parse keeps them: frames past max_frames are
 * counted, not stored; exceptions past max_chain are dropped; either sets truncated.
 */
#ifndef PYCORR_TB_BUILD_H
#define PYCORR_TB_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "../correlate/arena.h"
#include "../correlate/event.h"
#include "parser.h"

struct tb_build {
    struct arena *a;
    const struct parse_limits *lim;
    struct ev_chain *out;
    uint32_t chain_cap;
    bool truncated, oom;
    struct ev_frame *frames; /* of the exception being read */
    uint32_t nframes, frames_cap, frames_total;
};

/* Begin an empty chain in out. */
void tbb_init(struct tb_build *b, struct arena *a, const struct parse_limits *lim, struct ev_chain *out);
/* One more frame; true when it was stored (not cut by the limit, memory there). */
bool tbb_frame(struct tb_build *b, ev_str file, ev_str function, uint32_t line);
/* The exception being read, with its frames, onto the chain (root when it is the
 * first); then the frames start again. */
void tbb_exception(struct tb_build *b, ev_str type, ev_str message, enum ev_relation relation);
/* Forget the frames read since the last exception. */
void tbb_drop_frames(struct tb_build *b);
/* 1 when the chain holds an exception, 0 when not, -1 when memory ran out. */
int tbb_result(const struct tb_build *b, bool *truncated);

#endif
