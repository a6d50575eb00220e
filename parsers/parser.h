/* parser.h -- the contract every artifact parser keeps, and the registry that bids.
 *
 * A parser is one const struct: a name, a bid over the first bytes of a stream, and
 * open/feed/finish/close callbacks. Parsers are push-based so the same parser serves
 * files (chunks of a stream) and Kafka (one message at a time). The core never names
 * a concrete parser: parser_registry[] is the only list, and parser_detect() asks
 * each bidder, cheap ones first, and takes the highest bid.
 *
 * Parsers never print and never exit: records they cannot read are reported through
 * env->diag with the stream and line, counted by the caller, and skipped.
 */
#ifndef PYCORR_PARSER_H
#define PYCORR_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

/* A malformed or truncated record: where and why. reason is a short phrase without
 * the location ("invalid JSON: unexpected end of input"). */
typedef void (*diag_fn)(void *ctx, const char *stream, uint64_t line, const char *reason);

/* Bounds that keep hostile input from costing unbounded memory or time. */
struct parse_limits {
    size_t max_line;        /* bytes of one line kept; the rest is dropped (and reported) */
    uint32_t max_frames;    /* frames kept per exception; more are counted, not stored */
    uint32_t max_chain;     /* exceptions kept per chain */
    uint32_t max_group_depth;
    uint32_t max_group_members;
    uint32_t max_json_tokens; /* tokens of one JSON line */
    uint32_t max_json_depth;
    size_t max_record;      /* bytes of one multi-line record (a traceback block) */
};
extern const struct parse_limits parse_limits_default;

/* Roles a structured-log field can play; --map ROLE=FIELD names the field. */
enum field_role {
    ROLE_TS = 0,
    ROLE_LEVEL,
    ROLE_MESSAGE,
    ROLE_LOGGER,
    ROLE_SERVICE,
    ROLE_HOST,
    ROLE_PID,
    ROLE_THREAD,
    ROLE_TRACE_ID,
    ROLE_SPAN_ID,
    ROLE_EXCEPTION,     /* a formatted traceback string, or structlog's dict list */
    ROLE_EXC_TYPE,
    ROLE_EXC_MESSAGE,
    ROLE_COUNT
};

/* User overrides: for each role, the input field that carries it (dotted path for
 * nested objects, e.g. "req.trace"), or NULL to detect. */
struct field_map {
    const char *field[ROLE_COUNT];
};
/* The role's name as users write it in --map ("trace_id"); NULL for an invalid role. */
const char *field_role_name(enum field_role r);
/* Parse "ROLE=FIELD" into map. Returns 0, or -1 with a message in err. */
int field_map_set(struct field_map *map, const char *spec, char *err, size_t errsz);

struct parser_env {
    const char *stream;           /* display name for sources and diagnostics */
    ev_sink_fn emit;
    void *emit_ctx;
    diag_fn diag;
    void *diag_ctx;
    const struct field_map *map;  /* may be NULL */
    const struct parse_limits *limits; /* never NULL */
    /* Optional: a plain log line goes here instead of to emit as an event (same
     * context and return values as emit). A parser need not use it. */
    int (*emit_line)(void *ctx, const struct ev_line *line);
    /* Optional, for parsers with parse_line: offered each whole line (with emit_ctx)
     * before it is parsed; 1 when it took the line, to be given to parse_line of
     * another instance (on another thread), 0 to parse it here. */
    int (*offload)(void *ctx, const char *line, size_t len, uint64_t lineno);
};

struct parser {
    const char *name;
    const char *description;
    /* Records cost much more to parse than to copy (long structured lines): the
     * pipeline may then parse on a thread of its own and hand events over. */
    bool parse_on_own_thread;
    /* Bits of evidence that buf (the first bytes of a stream; at_eof when that is
     * all there is) is this parser's format; 0 = not mine. Must not keep buf. */
    int (*bid)(const char *buf, size_t len, bool at_eof);
    /* NULL on allocation failure. The env is copied. */
    void *(*open)(const struct parser_env *env);
    /* Consume the next bytes. 0 = go on; > 0 = the sink asked to stop; < 0 = a fatal
     * error (out of memory). */
    int (*feed)(void *st, const char *buf, size_t len);
    /* End of input: flush pending records. Same return values as feed. */
    int (*finish)(void *st);
    /* Release everything; accepts NULL. */
    void (*close)(void *st);
    /* Optional (NULL: nothing is held once feed returns). The first line fed whose
     * events have not all been emitted yet -- an open traceback, lines queued behind
     * it, a partial line -- or 0 when none is. A Kafka consumer commits an offset only
     * when the lines up to it are out (at-least-once). */
    uint64_t (*held_from)(void *st);
    /* Optional, both or neither: work that needs nothing but one chunk's bytes (where
     * its lines start, what their prefixes say), which the pipeline has any idle
     * thread do ahead of feed, or beside it. note is a src_note_fn: it writes at
     * most cap bytes about chunk[0..len) to out (64-byte aligned), touching nothing
     * else. take_note gives the parser the note of the chunk base[0..len) that the
     * bytes fed next come from (NULL when there is none); it stays valid until the
     * next take_note. A note arrives with its first PARSER_NOTE_ZEROED bytes zero,
     * and note may run on it at any time until the next take_note, even during
     * feed: the note's format must let both sides go on safely (textlog's meet in
     * the middle). The parser must come to the same events with or without notes,
     * whenever they are made. */
    void (*note)(const char *chunk, size_t len, void *out, size_t cap);
    void (*take_note)(void *st, const void *note, const char *base, size_t len);
    /* Optional, for formats whose every line is a record of its own (JSON lines):
     * parse one whole line (without its newline) as feed would have, emitting its
     * events. An instance fed nothing else can parse the lines another offloaded.
     * Same return values as feed. */
    int (*parse_line)(void *st, const char *line, size_t len, uint64_t lineno);
};

#define PARSER_NOTE_ZEROED 128

/* NULL-terminated, cheap bidders first. */
extern const struct parser *const parser_registry[];

/* The highest bidder for buf, or NULL when every bid is 0. *bid_out gets the bid. */
const struct parser *parser_detect(const char *buf, size_t len, bool at_eof, int *bid_out);

/* Look a parser up by name ("text", "jsonl"); NULL when none has that name. */
const struct parser *parser_by_name(const char *name);

#endif
