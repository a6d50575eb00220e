/* kafka_sink.c -- the idempotent producer of findings and dead letters; see
 * kafka_sink.h. */
#include "kafka_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_common.h"

struct kafka_sink {
    rd_kafka_t *rk;
    const char *findings_topic;
    const char *dead_letter_topic;
    struct finding_store *store;
    bool failed;                 /* a delivery failed since kafka_sink_begin */
    struct kafka_sink_stats stats;
};

/* The opaque of a dead letter: findings carry their struct finding. */
static char dead_letter_tag;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct kafka_sink *k = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    k->failed = true;
    k->stats.failed++;
    if (m->_private == &dead_letter_tag) {
        kafka_log("a dead letter could not be delivered: %s", rd_kafka_err2str(m->err));
        return;
    }
    struct finding *f = m->_private;
    kafka_log("finding %s could not be delivered (%s); it will be sent again", f->id, rd_kafka_err2str(m->err));
    finding_store_mark_changed(k->store, f);
}

struct kafka_sink *kafka_sink_create(const struct cli *cli, const char *bootstrap, struct finding_store *store,
                                     char *err, size_t errsz)
{
    static const char *const defaults[] = {
        /* Exactly once per partition and in order across retries and reconnects. */
        "enable.idempotence", "true",
        "linger.ms", "5",
        NULL,
    };
    struct kafka_sink *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    k->findings_topic = cli->findings_topic;
    k->dead_letter_topic = cli->dead_letter_topic;
    k->store = store;
    rd_kafka_conf_t *conf = kafka_conf_new(cli, bootstrap, defaults, err, errsz);
    if (conf == NULL) {
        free(k);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, k);
    char e[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (k->rk == NULL) {
        snprintf(err, errsz, "producer: %s", e);
        free(k);
        return NULL;
    }
    return k;
}

void kafka_sink_destroy(struct kafka_sink *k, int timeout_ms)
{
    if (k == NULL)
        return;
    rd_kafka_flush(k->rk, timeout_ms);
    int left = rd_kafka_outq_len(k->rk);
    if (left > 0)
        kafka_log("%d message%s to Kafka not delivered at exit", left, left == 1 ? "" : "s");
    rd_kafka_destroy(k->rk);
    free(k);
}

void kafka_sink_begin(struct kafka_sink *k) { k->failed = false; }

int kafka_sink_finding(struct kafka_sink *k, struct finding *f, const char *doc)
{
    if (k->findings_topic == NULL)
        return 0;
    const char *key = f->trace_id ? f->trace_id : f->id;
    rd_kafka_resp_err_t r = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(k->findings_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)doc, strlen(doc)), RD_KAFKA_V_OPAQUE(f),
        RD_KAFKA_V_END);
    if (r != RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->failed = true;
        k->stats.failed++;
        finding_store_mark_changed(k->store, f);
        kafka_log("finding %s not queued for %s: %s", f->id, k->findings_topic, rd_kafka_err2str(r));
        return -1;
    }
    k->stats.findings++;
    return 0;
}

int kafka_sink_dead_letter(struct kafka_sink *k, const rd_kafka_message_t *m, const char *source, const char *reason)
{
    if (k->dead_letter_topic == NULL)
        return 0;
    rd_kafka_headers_t *orig = NULL;
    rd_kafka_headers_t *h;
    if (rd_kafka_message_headers((rd_kafka_message_t *)m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig != NULL)
        h = rd_kafka_headers_copy(orig);
    else
        h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "pycorr-source", -1, source, -1);
    rd_kafka_header_add(h, "pycorr-reason", -1, reason, -1);
    rd_kafka_resp_err_t r = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(k->dead_letter_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(&dead_letter_tag), RD_KAFKA_V_END);
    if (r != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(h); /* not taken on failure */
        k->stats.failed++;
        kafka_log("dead letter for %s not queued: %s", source, rd_kafka_err2str(r));
        return -1;
    }
    k->stats.dead_letters++;
    return 0;
}

void kafka_sink_poll(struct kafka_sink *k) { rd_kafka_poll(k->rk, 0); }

void kafka_sink_flush(struct kafka_sink *k, int timeout_ms) { rd_kafka_flush(k->rk, timeout_ms); }

bool kafka_sink_settled(const struct kafka_sink *k) { return !k->failed && rd_kafka_outq_len(k->rk) == 0; }

const struct kafka_sink_stats *kafka_sink_stats(const struct kafka_sink *k) { return &k->stats; }
