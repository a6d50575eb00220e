/* tb.h -- CPython traceback grammar: lines in, exception chains out.
 *
 * One state machine understands every layout CPython 3.x prints: chained exceptions
 * (cause and context), exception groups nested to any depth ("| " margins, "+-+---- N
 * ----", "and N more exceptions"), notes, caret lines, "[Previous line repeated N more
 * times]", SyntaxError location lines, multi-line and empty messages, and the
 * introducers "Exception in thread ...", "Task exception was never retrieved" and
 * "Exception ignored in: ...".
 *
 * The streaming assembler (tb_asm_*) serves text logs: the caller feeds lines whose
 * prefixes it already stripped and learns whether each line belonged to a block.
 * tb_parse_text() serves a traceback held whole in a structured-log field.
 */
#ifndef PYCORR_TB_H
#define PYCORR_TB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/arena.h"
#include "../correlate/event.h"
#include "parser.h"

/* Parse a complete formatted traceback into out; every slice points into arena a.
 * Returns 1 when a traceback was found, 0 when the text holds none, -1 when the
 * arena is exhausted. When the text holds several tracebacks, the first is taken. */
int tb_parse_text(const char *text, size_t n, const struct parse_limits *lim, struct arena *a,
                  struct ev_exception *out);

/* True when name (as printed, e.g. "KeyError") is a builtin exception class, which
 * CPython prints without a module. */
bool tb_is_builtin_exception(const char *name, size_t n);

#endif
