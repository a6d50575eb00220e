/* faulthandler.h -- faulthandler dumps and fatal-error reports inside a text stream.
 *
 * CPython's faulthandler writes straight to stderr, so its output lands in the
 * middle of whatever else the process printed: log records, tracebacks. The scanner
 * below recognizes a dump line by line and emits it as one EV_THREAD_DUMP event;
 * every other line is left to the caller. The text parser (textlog.c) offers it
 * each line through a small hook, so a crash report 100 MB into a log is read as
 * well as one at the top of a file; the `faulthandler` parser is the text parser
 * chosen by a stronger bid when a stream starts with a dump.
 *
 * Recognized (CPython 3.x faulthandler.c and traceback.c):
 *   Fatal Python error: Segmentation fault       (or any Py_FatalError text)
 *   Windows fatal exception: access violation
 *   Timeout (0:00:05)!                           (dump_traceback_later)
 *   Python runtime state: initialized
 *   Current thread 0x00007f.. (most recent call first):
 *   Thread 0x00007f.. (most recent call first):
 *   Stack (most recent call first):              (all_threads=False)
 *     File "x.py", line 12 in f                  (no comma before "in")
 *     File ???, line ??? in f  /  <no Python frame>  /  ...
 *   Current thread's C stack trace (most recent call first):   (3.14)
 *     Binary file "/usr/bin/python3", at _Py_DumpStack+0x4c [0x55..]
 *   Extension modules: numpy.core._multiarray_umath, ... (total: 12)
 */
#ifndef PYCORR_FAULTHANDLER_H
#define PYCORR_FAULTHANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

enum fh_claim { FH_FOREIGN = 0, FH_CLAIMED };

/* Called with each finished dump; first_line is where it began. The event is valid
 * only during the call. Non-zero asks the parser to stop. */
typedef int (*fh_emit_fn)(void *ctx, uint64_t first_line, const struct event *ev);

struct fh_scan;

/* NULL on allocation failure. env is kept by pointer (it must outlive the scanner);
 * its emit is not used: dumps go to emit(ctx, ...). */
struct fh_scan *fh_scan_create(const struct parser_env *env, fh_emit_fn emit, void *ctx);
void fh_scan_destroy(struct fh_scan *s);

/* Offer one line (without its newline). *claim says whether it belongs to a dump.
 * A line that ends a dump is FH_FOREIGN; the dump is emitted before returning.
 * Returns 0, the emit callback's non-zero value, or -1 when memory ran out. */
int fh_scan_line(struct fh_scan *s, const char *p, size_t n, uint64_t lineno, enum fh_claim *claim);

/* End of input: emit a dump still open. */
int fh_scan_finish(struct fh_scan *s);

/* The first line of a dump still being read (its event not emitted yet), or 0. */
uint64_t fh_scan_held_from(const struct fh_scan *s);

/* Is this line the first line of a dump? (for bids; never allocates) */
bool fh_is_dump_start(const char *p, size_t n);

#endif
