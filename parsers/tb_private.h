/* tb_private.h -- between the traceback structural parser and the assembler. */
#ifndef PYCORR_TB_PRIVATE_H
#define PYCORR_TB_PRIVATE_H

#include "tb.h"

struct tb_line {
    const char *p;
    uint32_t n;
    uint64_t lineno;
};

/* Parse the lines of one delimited block (the first line is a header, a frame or an
 * introducer already removed) into out; slices point into the lines' bytes and into
 * arena a. Returns 1 when an exception was found, 0 when none, -1 when the arena is
 * exhausted. *truncated is set when limits cut frames, chain or group members. */
int tb_parse_lines(const struct tb_line *lines, size_t n, const struct parse_limits *lim,
                   struct arena *a, struct ev_chain *out, bool *truncated);

#endif
