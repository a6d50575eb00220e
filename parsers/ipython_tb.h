/* ipython_tb.h -- IPython's tracebacks (notebooks, papermill, nbconvert) read as
 * exception chains.
 *
 * IPython (ultratb, 8.x) does not print CPython's layout:
 *
 *   ---------------------------------------------------------------------------
 *   JSONDecodeError                           Traceback (most recent call last)
 *   File /srv/nb/load.py:4, in load(raw)            <- a frame: file:line, function
 *         3 try:
 *   ----> 4     return json.loads(raw)              <- numbered context
 *   Cell In[5], line 2, in f(x)                     <- a notebook cell (8.x)
 *   <ipython-input-5-1f2e3d> in f(x)                <- a notebook cell (7.x), its
 *   ----> 2     return 1 / x                           line from the arrow
 *
 *   JSONDecodeError: Expecting value: line 1 column 1 (char 0)
 *
 *   The above exception was the direct cause of the following exception:
 *   (the next exception, the same way)
 *
 * The header names the type (its short name, as IPython prints it), so the
 * exception line is the first after it that starts with that name; indented lines
 * right after it go on with its message. A block is followed line by line
 * (iptb_takes) so that a text parser knows where it ends.
 */
#ifndef PYCORR_IPYTHON_TB_H
#define PYCORR_IPYTHON_TB_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_private.h"

/* "JSONDecodeError    Traceback (most recent call last)": the start of a block. */
bool iptb_is_header(const char *p, size_t n);

/* Where a block is, line by line. */
struct iptb_follow {
    int state;
    char type[96];       /* the type the current header names */
    size_t type_len;
    unsigned lines;      /* in this state, to bound a block that never ends */
};
/* Begin at a header line. */
void iptb_begin(struct iptb_follow *f, const char *p, size_t n);
/* True when the line belongs to the block; false when the block ended before it. */
bool iptb_takes(struct iptb_follow *f, const char *p, size_t n);

/* The chain of a block's lines (from its first header) into out; slices point into the
 * lines and arena a. 1 when an exception was found, 0 when none, -1 when the arena is
 * exhausted. *truncated is set when limits cut frames or the chain. */
int iptb_parse(const struct tb_line *lines, size_t n, const struct parse_limits *lim, struct arena *a,
               struct ev_chain *out, bool *truncated);

#endif
