/* logprefix.h -- recognize the prefix a logging formatter put before a message.
 *
 * Understood: an optional timestamp (ISO 8601 / Python asctime, optionally in
 * brackets, optionally followed by a numeric zone), then in any order a level name
 * (bare, "[ERROR]", "ERROR:"), a pid ("[pid=12]", "[12]", "pid=12"), and a logger
 * name (a dotted name, or any name followed by ':' or " - " or " ["); also Python's
 * basicConfig layout "LEVEL:logger:message" and uvicorn's "LEVEL:    message".
 * A line is a record when it has a timestamp or a level in one of these layouts.
 */
#ifndef PYCORR_LOGPREFIX_H
#define PYCORR_LOGPREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

struct logprefix {
    bool has_ts;
    int64_t ts_ns;
    enum ev_level level;
    int64_t pid;          /* -1 when absent */
    size_t logger_off, logger_len;
    size_t thread_off, thread_len;
    size_t msg_off;       /* the message runs from here to the end of the line */
};

/* True when p starts with a log-record prefix; *out describes it. Never allocates. */
bool logprefix_parse(const char *p, size_t n, struct logprefix *out);

#endif
