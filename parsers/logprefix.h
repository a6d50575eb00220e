/* logprefix.h -- recognize the prefix a logging formatter put before a message.
 *
 * Understood: an optional timestamp (ISO 8601 / Python asctime, optionally in
 * brackets, optionally followed by a numeric zone), then in any order a level name
 * (bare, "[ERROR]", "ERROR:"), a pid ("[pid=12]", "[12]", "pid=12"), and a logger
 * name (a dotted name, or any name followed by ':' or " - " or " ["); also Python's
 * basicConfig layout "LEVEL:logger:message" and uvicorn's "LEVEL:    message";
 * Flask's "LEVEL in module:", Scrapy's "[logger] LEVEL:", Airflow's "{file.py:12}",
 * Django's "LEVEL time", loguru's "name:function:line - ", absl-py/glog's
 * "E1207 14:25:24.238000 4242 app.py:42]"; rich's RichHandler, "[12/07/26 17:22:34] LEVEL
 * message   file.py:12", its level padded to eight, its time column blank when the time
 * repeats, and its message a column of its own; coloredlogs' "time HOST name[PID] LEVEL";
 * AWS Lambda's "[LEVEL]\tTIME\tREQUEST-ID\tmessage"; access logs in the common or
 * combined log format ("HOST - USER [07/Dec/2026:19:52:55 +0000] ...": gunicorn, nginx).
 * A line is a record when it has a timestamp or a level in one of these layouts.
 */
#ifndef PYCORR_LOGPREFIX_H
#define PYCORR_LOGPREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

/* Offsets are 32 bits: a line is far shorter, and the struct is copied for every
 * line (the cache, the queue, notes). */
struct logprefix {
    int64_t ts_ns;
    int64_t pid;          /* -1 when absent */
    enum ev_level level;
    uint32_t logger_off, logger_len;
    uint32_t thread_off, thread_len;
    uint32_t host_off, host_len;
    uint32_t trace_off, trace_len; /* an id that names the request (AWS Lambda's) */
    uint32_t msg_off;     /* the message runs from here to the end of the line */
    uint32_t msg_end;     /* ...or to here, when not 0 (a column follows it) */
    uint32_t col_end;     /* where the message column ends, when a column follows it */
    bool has_ts;
    bool time_omitted;    /* a time column left blank: the time of the record before */
    uint8_t cont_indent;  /* not 0: lines indented this far go on with the message
                             (RichHandler's message column; Tornado indents by four) */
    bool cont_tab;        /* ...by a tab instead (twisted.logger): cont_indent is 1 */
};

/* True when p starts with a log-record prefix; *out describes it. Never allocates. */
bool logprefix_parse(const char *p, size_t n, struct logprefix *out);

/* Prefixes seen lately, so that the next line with the same prefix (but for its
 * time) is read by a compare. One per thread of reading; logprefix_cache_init before
 * use. */
#define LOGPREFIX_CACHE_SETS 32 /* of two entries each */
#define LOGPREFIX_CACHE_BYTES 96
struct logprefix_cache_entry {
    uint32_t ts_end;                   /* 0: empty */
    struct logprefix res;
    char bytes[LOGPREFIX_CACHE_BYTES]; /* the line from ts_end to res.msg_off */
};
struct logprefix_cache_set {
    struct logprefix_cache_entry e[2];
    uint8_t last;                      /* the entry used last */
};
struct logprefix_cache {
    struct logprefix_cache_set set[LOGPREFIX_CACHE_SETS];
    uint64_t hits; /* lines read by a compare */
};
void logprefix_cache_init(struct logprefix_cache *c);

/* logprefix_parse through the cache: always the same result. */
bool logprefix_equal(const struct logprefix *a, const struct logprefix *b);
bool logprefix_cached(struct logprefix_cache *c, const char *p, size_t n, struct logprefix *out);

#endif
