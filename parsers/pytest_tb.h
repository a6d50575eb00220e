/* pytest_tb.h -- pytest's failure reports read as exception chains.
 *
 * pytest prints a failing test as a section of its own, not as a CPython traceback:
 *
 *   ________________________________ test_order ________________________________
 *   (locals, and the function's source with '>' at the failing line)
 *   test_shop.py:9:                                  <- long entry: file and line
 *   _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _   <- between entries
 *   json/decoder.py:337: in decode                   <- short entry: with the function
 *       obj, end = self.raw_decode(s, idx=_w(s, 0).end())
 *   E   json.decoder.JSONDecodeError: Expecting ...  <- the exception, 'E' lines
 *   json/decoder.py:353: JSONDecodeError             <- the last entry names the type
 *
 *   The above exception was the direct cause of the following exception:
 *   (the next exception of the chain, the same way)
 *
 * A long entry's function is the first `def NAME(` of its listing. The type comes
 * from the first 'E' line ("pkg.Type: message") when it agrees with the type on the
 * last location line; an assertion pytest rewrote ("E   assert 1 == 2") takes the
 * location line's type and keeps the whole 'E' text as its message. Sections of
 * --tb=long, auto and short are read; --tb=native prints CPython tracebacks, which
 * the traceback assembler reads instead.
 */
#ifndef PYCORR_PYTEST_TB_H
#define PYCORR_PYTEST_TB_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_private.h"

/* "____ test_name ____" (underscores, a blank, the name, a blank, underscores): the
 * start of a section; the name is p[*name_off..*name_off + *name_len). */
bool pytb_is_header(const char *p, size_t n, size_t *name_off, size_t *name_len);
/* "==== short test summary info ====" and the like: the end of the failures. */
bool pytb_is_rule(const char *p, size_t n);

/* "---- Captured stdout call ----" and the like: what the test printed or logged
 * follows, not the traceback. */
bool pytb_is_captured(const char *p, size_t n);

/* The chain of one section's lines (after its header) into out; slices point into the
 * lines and arena a. 1 when an exception was found, 0 when none, -1 when the arena is
 * exhausted. *truncated is set when limits cut frames or the chain. */
int pytb_parse(const struct tb_line *lines, size_t n, const struct parse_limits *lim, struct arena *a,
               struct ev_chain *out, bool *truncated);

#endif
