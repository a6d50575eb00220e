/* linesplit.h -- split pushed bytes into lines without copying complete ones.
 *
 * Lines wholly inside a chunk are handed out as slices of that chunk; only a line
 * that straddles two chunks is assembled in the splitter's buffer. A line longer
 * than max_line is cut: its first max_line bytes are delivered with truncated set
 * and the rest is skipped. "\r\n" endings lose the "\r".
 */
#ifndef PYCORR_LINESPLIT_H
#define PYCORR_LINESPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return non-zero to stop; the value is passed back by linesplit_feed/finish. */
typedef int (*line_fn)(void *ctx, const char *line, size_t len, uint64_t lineno, bool truncated);

struct linesplit {
    char *buf;        /* partial line carried between chunks */
    size_t len, cap;
    size_t max_line;
    uint64_t lineno;  /* number of the last line delivered */
    bool skipping;    /* inside the dropped tail of an over-long line */
    bool carried_truncated;
};

void linesplit_init(struct linesplit *ls, size_t max_line);
/* 0, the callback's non-zero value, or -1 when memory ran out. */
int linesplit_feed(struct linesplit *ls, const char *data, size_t n, line_fn fn, void *ctx);
/* Deliver one line known to be complete: p[0..n) with p[n] == '\n' (not passed),
 * exactly as linesplit_feed would deliver it. Only when nothing is carried
 * (linesplit_idle). Returns what linesplit_feed would. */
int linesplit_line(struct linesplit *ls, const char *p, size_t n, line_fn fn, void *ctx);
/* True when no partial line is carried or being skipped: the next byte fed starts a
 * line. */
static inline bool linesplit_idle(const struct linesplit *ls)
{
    return ls->len == 0 && !ls->skipping;
}
/* Deliver a final line without a newline, if any. */
int linesplit_finish(struct linesplit *ls, line_fn fn, void *ctx);
void linesplit_free(struct linesplit *ls);

#endif
