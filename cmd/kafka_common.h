/* kafka_common.h -- what the consumer and the findings producer share: client
 * configuration (defaults, then the user's -X properties, logging), the embedded mock
 * cluster behind `--brokers mock:`, and the trace id a message carries outside its
 * payload (a traceparent header, or a key that is a trace id).
 */
#ifndef PYCORR_KAFKA_COMMON_H
#define PYCORR_KAFKA_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "../correlate/traceid.h"
#include "cli.h"

/* A client configuration: bootstrap servers, client.id, the given defaults (pairs
 * of key, value; NULL-terminated), then every -X KEY=VALUE of cli in order, so the
 * user has the last word. Logs go to stderr as "pycorr: kafka: ...", repeats within
 * a few seconds suppressed. NULL with a message in err (a bad -X: exit 2). */
rd_kafka_conf_t *kafka_conf_new(const struct cli *cli, const char *bootstrap, const char *const *defaults,
                                char *err, size_t errsz);

/* Print "pycorr: kafka: MESSAGE" on stderr unless the same message was printed in
 * the last few seconds or kafka_log_quiet(true) was called. Thread-safe: librdkafka
 * calls the log callback from its own threads. */
void kafka_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kafka_log_quiet(bool quiet);

/* librdkafka's mock cluster, in this process (`--brokers mock:`). */
struct kafka_mock;
/* Starts nbrokers brokers on loopback and creates the topics with partitions each.
 * NULL with a message in err. */
struct kafka_mock *kafka_mock_start(int nbrokers, const char *const *topics, size_t ntopics, int partitions,
                                    char *err, size_t errsz);
const char *kafka_mock_bootstraps(const struct kafka_mock *m);
void kafka_mock_stop(struct kafka_mock *m);

/* The trace id a message carries outside its payload: a "traceparent" header (W3C),
 * else a "trace_id"/"trace-id"/"x-trace-id"/"x-b3-traceid" header, else the key when it
 * is a trace id in any known spelling but decimal (a decimal key is an order or user
 * id far more often than a Datadog trace id). Writes it normalized to out and returns its
 * length, or 0 when there is none. */
size_t kafka_message_trace_id(const rd_kafka_message_t *m, char out[TRACEID_BUFSZ]);

#endif
