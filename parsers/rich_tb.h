/* rich_tb.h -- tracebacks drawn by rich (rich.traceback.install, Typer's pretty
 * exceptions, RichHandler) read as exception chains.
 *
 *   ╭───────────────────── Traceback (most recent call last) ──────────────────────╮
 *   │ /srv/app/cli.py:6 in load                                                    │  <- a frame
 *   │    5 │   try:                                                                │
 *   │ ❱  6 │   │   return json.loads(raw)                                          │
 *   ╰──────────────────────────────────────────────────────────────────────────────╯
 *   JSONDecodeError: Expecting property name enclosed in double quotes: line 1
 *   column 2 (char 1)                           <- the message, wrapped at the box's width
 *
 *   The above exception was the direct cause of the following exception:
 *   (the next box and exception line)
 *
 * The box may be indented (RichHandler draws it under its level column); its lines
 * and exception line are read without that indent.
 *
 * A line after the exception line goes on with the message only when it is the
 * wrap of the line before: its first word would not have fitted in the box's width.
 * So a log record right after the exception is not taken for its message. A line
 * indented less than the box is never the traceback's.
 *
 * In a narrow box (RichHandler's message column, 80 columns wide) rich wraps what
 * does not fit: the title is cut short, a frame's "path:line in function" runs over
 * two or three lines (broken at a blank, or a long path folded anywhere), and so do
 * "The above exception was the direct cause of the following exception:" and the
 * exception's message. They are read joined.
 */
#ifndef PYCORR_RICH_TB_H
#define PYCORR_RICH_TB_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_private.h"

/* "╭───── Traceback (most recent call last) ─────╮" */
bool rtb_is_header(const char *p, size_t n);

struct rtb_follow {
    int state;
    size_t width;     /* of the box, in characters */
    size_t indent;    /* blanks before it */
    size_t prev_len;  /* characters of the last message line */
    unsigned lines;
    int sep;          /* a chain's sentence wrapped over lines: which, and how much is read */
    size_t sep_at;
};
void rtb_begin(struct rtb_follow *f, const char *p, size_t n);
/* True when the line belongs to the traceback; false when it ended before it. */
bool rtb_takes(struct rtb_follow *f, const char *p, size_t n);

/* The chain of the traceback's lines (from its first header) into out. 1 when an
 * exception was found, 0 when none, -1 when the arena is exhausted. */
int rtb_parse(const struct tb_line *lines, size_t n, const struct parse_limits *lim, struct arena *a,
              struct ev_chain *out, bool *truncated);

#endif
