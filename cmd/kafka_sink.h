/* kafka_sink.h -- what pycorr consume writes back to Kafka: findings (JSON per
 * DESIGN §4, keyed by trace id or else finding id) and poison messages (the original
 * payload, key and headers plus pycorr-source and pycorr-reason headers), through one
 * idempotent producer.
 *
 * At-least-once needs to know when output is safely out: kafka_sink_settled() is true
 * when every message produced so far was acknowledged and none failed since the last
 * kafka_sink_begin(). A finding whose delivery fails is put back into the store's
 * drain list (finding_store_mark_changed) so it is produced again by the next drain.
 */
#ifndef PYCORR_KAFKA_SINK_H
#define PYCORR_KAFKA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "../patterns/finding.h"
#include "cli.h"

struct kafka_sink;

/* NULL with a message in err. store: where failed findings are put back. */
struct kafka_sink *kafka_sink_create(const struct cli *cli, const char *bootstrap, struct finding_store *store,
                                     char *err, size_t errsz);
/* Flushes for at most timeout_ms, then destroys; accepts NULL. */
void kafka_sink_destroy(struct kafka_sink *k, int timeout_ms);

/* A new batch of output starts: failures before it have been put back. */
void kafka_sink_begin(struct kafka_sink *k);
/* Produce f, serialized as doc (JSON; copied), to --findings-topic (no-op without
 * one). 0, or -1 (queue full or another local error; f is put back into the drain
 * list and the batch is not settled). */
int kafka_sink_finding(struct kafka_sink *k, struct finding *f, const char *doc);
/* Produce a poison message to --dead-letter-topic (no-op without one). */
int kafka_sink_dead_letter(struct kafka_sink *k, const rd_kafka_message_t *m, const char *source,
                           const char *reason);
/* Serve delivery reports without blocking. */
void kafka_sink_poll(struct kafka_sink *k);
/* Wait up to timeout_ms for everything produced to be acknowledged. */
void kafka_sink_flush(struct kafka_sink *k, int timeout_ms);
/* Everything produced was acknowledged and nothing failed since kafka_sink_begin. */
bool kafka_sink_settled(const struct kafka_sink *k);

struct kafka_sink_stats {
    uint64_t findings, dead_letters, failed;
};
const struct kafka_sink_stats *kafka_sink_stats(const struct kafka_sink *k);

#endif
