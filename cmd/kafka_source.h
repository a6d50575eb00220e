/* kafka_source.h -- Kafka messages to events: the parsers of each partition, and
 * which offset of it is safe to commit.
 *
 * Knows nothing of librdkafka, so it is unit-tested with plain structs. Each
 * (topic, partition) keeps one parser instance per format seen in it ("lanes": the
 * JSON records and the text lines of a partition each get their own, detected per
 * message by the same bidding as files), and each message is fed to its lane as its
 * payload plus '\n'. Text lines of one partition therefore reach one text parser in
 * order, and a traceback spread over several messages is reassembled.
 *
 * Where an event came from: parsers number the lines they are fed, so each lane keeps
 * a small map from its line numbers to the offsets of the messages that carried them
 * (only for messages whose lines may still produce events). A wrapping sink rewrites
 * the event's source to the partition and the message's offset -- src.stream
 * "kafka:TOPIC/PARTITION", src.line OFFSET + 1 (0 keeps meaning "unknown") -- and
 * fills what the payload lacked from the message: the trace id (traceparent header or
 * key) and the time (the message timestamp). The same map turns a parser's
 * diagnostics into offsets, and a diagnostic about the message being fed makes it a
 * poison message.
 *
 * Why not a stream name per message: the partition is the stream. The correlator joins
 * events without a trace id by stream and interns stream names, and the finding store
 * groups sources by stream; a name per offset would be a new stream per message. The
 * DESIGN spelling "kafka:TOPIC/PARTITION@OFFSET" is made where sources are written:
 * kafka_source_json() for JSON, the text report for "seen at".
 *
 * At-least-once: a parser may hold lines back (an open traceback; see held_from in
 * parser.h). kpart_safe_offset() is the offset to commit: the first message some of
 * whose lines are still held, or the one after the last message fed.
 */
#ifndef PYCORR_KAFKA_SOURCE_H
#define PYCORR_KAFKA_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../correlate/event.h"
#include "../parsers/parser.h"

/* One message as the source needs it. */
struct kmsg {
    const char *payload;
    size_t len;
    int64_t offset;
    bool has_ts;
    int64_t ts_ns;            /* the message timestamp */
    const char *trace_id;     /* normalized (traceid.h), from headers or key; NULL = none */
    size_t trace_id_len;
};

/* A malformed record: source is "kafka:TOPIC/PARTITION@OFFSET". */
typedef void (*ksrc_diag_fn)(void *ctx, const char *source, const char *reason);

struct ksrc_config {
    ev_sink_fn sink;
    void *sink_ctx;
    ksrc_diag_fn diag;        /* may be NULL */
    void *diag_ctx;
    const struct field_map *map;       /* may be NULL */
    const struct parse_limits *limits; /* NULL = parse_limits_default */
    size_t max_message;       /* larger payloads are poison; 0 = limits->max_record */
};

/* What became of one message. */
struct kfeed_result {
    bool poison;              /* malformed or oversized: count it, dead-letter it */
    char reason[160];         /* the first reason, when poison */
};

struct ksrc;
struct kpart;

struct kpart_stats {
    uint64_t messages, bytes, events, exceptions, malformed, poison;
};

/* NULL on allocation failure. The config is copied. */
struct ksrc *ksrc_create(const struct ksrc_config *cfg);
/* Closes every partition's parsers without finishing them (nothing more is emitted). */
void ksrc_destroy(struct ksrc *s);

/* The partition's state, created on first use. NULL when create is false and it
 * does not exist, or on allocation failure. */
struct kpart *ksrc_partition(struct ksrc *s, const char *topic, int32_t partition, bool create);
/* Every partition in creation order: i from 0 while the result is not NULL. */
struct kpart *ksrc_partition_at(struct ksrc *s, size_t i);
/* Forget a partition (after ksrc_finish if its lines must still come out). */
void ksrc_remove(struct ksrc *s, struct kpart *p);

/* Feed one message. Returns 0, > 0 when the sink asked to stop, -1 when memory ran
 * out (the message is then lost to analysis; the caller reports it). */
int ksrc_feed(struct ksrc *s, struct kpart *p, const struct kmsg *m, struct kfeed_result *res);

/* Finish the partition's parsers (emit everything held) and start afresh: the next
 * message opens new ones. For end of input, a revoked partition, or an idle one.
 * Same return values as ksrc_feed. */
int ksrc_finish(struct ksrc *s, struct kpart *p);

/* The offset to commit for p: every line of the messages before it has been
 * emitted. -1 when no message was fed yet. */
int64_t kpart_safe_offset(const struct kpart *p);
/* After the last message fed (the consumer's position); -1 before the first. */
int64_t kpart_next_offset(const struct kpart *p);
/* Whether a parser of p holds lines back (an open traceback and what waits on it). */
bool kpart_holds(const struct kpart *p);
const char *kpart_topic(const struct kpart *p);
int32_t kpart_partition(const struct kpart *p);
/* "kafka:TOPIC/PARTITION" */
const char *kpart_name(const struct kpart *p);
const struct kpart_stats *kpart_stats(const struct kpart *p);

/* Caller's per-partition bookkeeping (the consumer's), kept here so it needs no map
 * of its own. */
struct kpart_user {
    double last_msg_s;        /* monotonic time of the last message */
    bool at_eof;              /* the partition was read to its end */
    int64_t stored;           /* the last offset stored for commit; -1 none */
    int64_t high;             /* high watermark last seen; -1 unknown */
    void *order_in;           /* its input of the time merge (kafka_order.h) */
};
struct kpart_user *kpart_user(struct kpart *p);

/* Rewrite the sources in a finding's JSON (finding_to_json) from the event model's
 * {"stream": "kafka:T/P", "line": OFFSET + 1} to DESIGN §4's {"stream":
 * "kafka:T/P@OFFSET"}: its "sources" and the "source" of each evidence.timeline entry.
 * Other sources are left alone. */
void kafka_source_json(json_t *finding);

#endif
