/* kafka_order.h -- the partitions of a topic merged by event time under a watermark,
 * before the correlator sees them (DESIGN §6: "Kafka partitions are merged the same
 * way").
 *
 * A consumer receives partitions in fetch-sized bursts: a few thousand records of one
 * partition, then of another, each burst close to time order but the bursts far
 * apart. The correlator expects nearly time-ordered events (its idle order, its time
 * joins); this stage holds each partition's events (deep copies, correlate/merge.h)
 * and hands on the earliest while it is not later than the watermark: the latest
 * event time of the slowest partition that is still live. A partition that is idle
 * or read to its end does not hold the watermark back; a bound on the bytes held
 * releases the earliest events early.
 *
 * At-least-once: an event held here has not reached the detectors, so its message is
 * not safely done; korder_min_offset tells the consumer not to commit past it.
 * Kafka events carry OFFSET + 1 as src.line (kafka_source.h).
 */
#ifndef PYCORR_KAFKA_ORDER_H
#define PYCORR_KAFKA_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

struct korder;
struct korder_in;

/* NULL on allocation failure. Released events go to sink. max_bytes: more than this
 * held releases the earliest regardless of the watermark (0 = 16 MiB). */
struct korder *korder_create(ev_sink_fn sink, void *sink_ctx, size_t max_bytes);
void korder_destroy(struct korder *o);

/* An input (a partition): a released one is reused, else a new one that lives until
 * korder_destroy. NULL on allocation failure. */
struct korder_in *korder_input(struct korder *o);
/* The partition went (revoked): hand on what it holds, then the input may be reused,
 * so rebalances do not add inputs without end. */
int korder_input_release(struct korder_in *in);

/* An ev_sink_fn: ctx is the korder_in. Returns 0; when memory runs out the event goes
 * straight to the sink instead (out of order, but not lost) and its value is returned. */
int korder_push(void *ctx, const struct event *ev);

/* Whether the input holds the watermark back (live) or not (idle, at its end,
 * revoked). */
void korder_set_live(struct korder_in *in, bool live);

/* Hand on what the watermark allows (or everything when all). Returns the sink's
 * first non-zero value, else 0. */
int korder_release(struct korder *o, bool all);

/* The smallest offset among the input's held events (conservative: since it was last
 * empty), or -1 when it holds none. */
int64_t korder_min_offset(const struct korder_in *in);

/* Events held for this input. */
size_t korder_pending(const struct korder_in *in);

/* Events held, in all inputs. */
size_t korder_held(const struct korder *o);

#endif
