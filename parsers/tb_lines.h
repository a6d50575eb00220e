/* tb_lines.h -- recognizers for the lines CPython prints in a traceback.
 *
 * Shared by the structural parser (a block of lines -> a chain) and the streaming
 * assembler (which lines belong to a block). All take a line without its newline and
 * never allocate.
 */
#ifndef PYCORR_TB_LINES_H
#define PYCORR_TB_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

enum tb_sep { TB_SEP_NONE = 0, TB_SEP_CAUSE, TB_SEP_CONTEXT };

/* "Traceback (most recent call last):" */
bool tbl_is_header(const char *p, size_t n);
/* "Stack (most recent call last):": logging's stack_info, a stack with no exception. */
bool tbl_is_stack_header(const char *p, size_t n);
/* "Exception Group Traceback (most recent call last):" (margin already stripped) */
bool tbl_is_group_header(const char *p, size_t n);
/* The two chain sentences. */
enum tb_sep tbl_separator(const char *p, size_t n);

struct tbl_frame {
    const char *file;
    size_t file_len;
    const char *func; /* NULL for a SyntaxError location line */
    size_t func_len;
    uint32_t line;
};
/* '  File "x.py", line 12, in f' (or without ", in f"); also loguru's '> File ...',
 * the frame it marks as the one that caught the exception; and IPython 8's own
 * '  Cell In[1], line 2, in f' and '  File PATH:LINE in f' (in its Plain mode, and
 * before a SyntaxError without ", in f"). */
bool tbl_frame(const char *p, size_t n, struct tbl_frame *out);

/* The digits at p[0..n): their value (capped), their count in *used. */
uint32_t tbl_digits(const char *p, size_t n, size_t *used);
/* "PATH:LINE", the whole of p[0..n) (IPython's locations): the path's length and the
 * line. False when it does not end in ":digits" or the path is empty. */
bool tbl_path_line(const char *p, size_t n, size_t *path_len, uint32_t *line);

/* "  [Previous line repeated 995 more times]": returns true and the count. */
bool tbl_repeat_marker(const char *p, size_t n, uint32_t *count);

/* An exception line "pkg.Type: message" or a bare "pkg.Type". On success the type is
 * p[0..*type_len) and the message starts at *msg (length *msg_len; 0 when none).
 * strict rejects bare lowercase words ("worker: job 5 ok") that are unlikely types. */
bool tbl_exception_line(const char *p, size_t n, bool strict, size_t *type_len,
                        const char **msg, size_t *msg_len);

/* A CI runner's own line: GitHub Actions' and Azure Pipelines' "##[error]...",
 * "##[group]...", and the workflow commands scripts print ("::error file=x::msg").
 * Never an exception's note, though it may follow one unindented. */
bool tbl_is_runner_line(const char *p, size_t n);

/* Twisted's "--- <exception caught here> ---" between the frames of a Failure: the
 * stack down to where it was caught above, the traceback below. */
bool tbl_is_caught_marker(const char *p, size_t n);

/* An exception line's type as CPython names it: Twisted's Failure writes the
 * builtins' module ("builtins.KeyError"), which CPython leaves out. */
ev_str tbl_type(const char *p, size_t type_len);

/* An unindented line after an exception line that is known to be its message's
 * (CPython prints a message's lines and a note's alike): SQLAlchemy's "[SQL: ...]",
 * "[parameters: ...]" and "(Background on this error at: ...)". */
bool tbl_message_line(const char *p, size_t n);

/* An exception message whose further lines, indented or not, are all its own:
 * pydantic's "2 validation errors for Order" (then each field's name, unindented,
 * and its error). */
bool tbl_message_spans_lines(const char *msg, size_t n);

/* Only whitespace. */
bool tbl_is_blank(const char *p, size_t n);

/* Strip the exception-group margin of depth d (2*d spaces then '|' or '+', then an
 * optional space). Depth 0 strips nothing. False when the line lacks the margin. */
bool tbl_margin(const char *p, size_t n, unsigned d, const char **content, size_t *content_len);

/* A line of exception-group structure at any depth: spaces then '|' or '+'. */
bool tbl_is_group_structure(const char *p, size_t n);

/* The length of p[0..n) without trailing blanks, tabs and '\r'. */
size_t tbl_rtrim(const char *p, size_t n);

/* Number of leading spaces. */
size_t tbl_indent(const char *p, size_t n);

/* The lines CPython and asyncio print to say whose traceback follows. They come
 * right before it (asyncio's two lines, before it in turn), so a line of these is
 * never a note of the exception printed before it: it opens the next report. */
enum tbl_intro {
    TBL_INTRO_NONE = 0,
    TBL_INTRO_THREAD,     /* "Exception in thread NAME:" (threading.excepthook) */
    TBL_INTRO_UNRAISABLE, /* "Exception ignored in: OBJ", "Exception ignored in atexit
                           * callback: F" and the like; "Error in atexit._run_exitfuncs:" */
    TBL_INTRO_PROCESS,    /* "Process NAME:" (multiprocessing: a child that died) */
    TBL_INTRO_ASYNCIO,    /* the first line of asyncio's report: "Task exception was never
                           * retrieved", "Future exception ...", "Exception in callback CB",
                           * "Fatal error: protocol.data_received() call failed." */
    TBL_INTRO_ASYNCIO_CONTEXT, /* the lines after it: "future: <Task ...>", "handle: <Handle
                                * ...>", "protocol: <...>", "transport: <...>" */
};
enum tbl_intro tbl_introducer(const char *p, size_t n);

#endif
