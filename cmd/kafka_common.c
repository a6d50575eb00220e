/* kafka_common.c -- client configuration, logging, the mock cluster, trace ids from
 * headers and keys; see kafka_common.h. */
#include "kafka_common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka_mock.h>

/* ---- logging ---- */

#define LOG_REPEAT_S 10
#define LOG_RECENT 8

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static bool log_quiet;
static struct {
    char msg[160];
    time_t at;
} log_recent[LOG_RECENT];
static unsigned log_next;

void kafka_log_quiet(bool quiet)
{
    pthread_mutex_lock(&log_mu);
    log_quiet = quiet;
    pthread_mutex_unlock(&log_mu);
}

void kafka_log(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    pthread_mutex_lock(&log_mu);
    bool show = !log_quiet;
    /* A broker that is down is reported by every connection attempt: once is enough. */
    for (unsigned i = 0; show && i < LOG_RECENT; i++)
        if (now - log_recent[i].at < LOG_REPEAT_S && strncmp(log_recent[i].msg, buf, sizeof(log_recent[i].msg) - 1) == 0)
            show = false;
    if (show) {
        size_t keep = strnlen(buf, sizeof(log_recent[log_next].msg) - 1);
        memcpy(log_recent[log_next].msg, buf, keep);
        log_recent[log_next].msg[keep] = '\0';
        log_recent[log_next].at = now;
        log_next = (log_next + 1) % LOG_RECENT;
        fprintf(stderr, "pycorr: kafka: %s\n", buf);
    }
    pthread_mutex_unlock(&log_mu);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)fac;
    /* -X applies to the consumer and the producer alike; each ignores the other's
     * properties, which is what the user meant. */
    if (strstr(buf, "property and will be ignored by this") != NULL)
        return;
    if (level <= 4)
        kafka_log("%s", buf);
}

rd_kafka_conf_t *kafka_conf_new(const struct cli *cli, const char *bootstrap, const char *const *defaults,
                                char *err, size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, e, sizeof(e)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", "pycorr", e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errsz, "%s", e);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (size_t i = 0; defaults != NULL && defaults[i] != NULL; i += 2)
        if (rd_kafka_conf_set(conf, defaults[i], defaults[i + 1], e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errsz, "%s=%s: %s", defaults[i], defaults[i + 1], e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    for (size_t i = 0; i < cli->nkafka_props; i++) {
        const char *kv = cli->kafka_props[i];
        const char *eq = strchr(kv, '=');
        char key[256];
        size_t kl = (size_t)(eq - kv);
        if (kl >= sizeof(key)) {
            snprintf(err, errsz, "-X %s: property name too long", kv);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        memcpy(key, kv, kl);
        key[kl] = '\0';
        if (rd_kafka_conf_set(conf, key, eq + 1, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errsz, "-X %s: %s", kv, e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
}

/* ---- the mock cluster ---- */

struct kafka_mock {
    rd_kafka_t *host;          /* the handle the cluster lives in; talks to no broker */
    rd_kafka_mock_cluster_t *mc;
};

struct kafka_mock *kafka_mock_start(int nbrokers, const char *const *topics, size_t ntopics, int partitions,
                                    char *err, size_t errsz)
{
    struct kafka_mock *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    char e[512];
    m->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (m->host == NULL) {
        snprintf(err, errsz, "mock cluster: %s", e);
        free(m);
        return NULL;
    }
    m->mc = rd_kafka_mock_cluster_new(m->host, nbrokers);
    if (m->mc == NULL) {
        snprintf(err, errsz, "mock cluster: cannot start");
        kafka_mock_stop(m);
        return NULL;
    }
    for (size_t i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t r = rd_kafka_mock_topic_create(m->mc, topics[i], partitions, 1);
        if (r != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errsz, "mock cluster: topic %s: %s", topics[i], rd_kafka_err2str(r));
            kafka_mock_stop(m);
            return NULL;
        }
    }
    return m;
}

const char *kafka_mock_bootstraps(const struct kafka_mock *m) { return rd_kafka_mock_cluster_bootstraps(m->mc); }

void kafka_mock_stop(struct kafka_mock *m)
{
    if (m == NULL)
        return;
    if (m->mc != NULL)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->host != NULL)
        rd_kafka_destroy(m->host);
    free(m);
}

/* ---- trace ids outside the payload ---- */

size_t kafka_message_trace_id(const rd_kafka_message_t *m, char out[TRACEID_BUFSZ])
{
    rd_kafka_headers_t *h = NULL;
    /* rd_kafka_message_headers takes a non-const message: it parses lazily. */
    if (rd_kafka_message_headers((rd_kafka_message_t *)m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h != NULL) {
        const void *v;
        size_t n;
        if (rd_kafka_header_get_last(h, "traceparent", &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v != NULL) {
            size_t k = traceid_from_traceparent(v, n, out);
            if (k > 0)
                return k;
        }
        static const char *const names[] = {"trace_id", "trace-id", "x-trace-id", "x-b3-traceid", "traceid"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (rd_kafka_header_get_last(h, names[i], &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v != NULL) {
                size_t k = traceid_normalize(v, n, out);
                if (k > 0)
                    return k;
            }
    }
    /* A key in decimal is an order or user id far more often than a Datadog trace id. */
    if (m->key == NULL || m->key_len == 0 || m->key_len > 64)
        return 0;
    const char *k = m->key;
    size_t digits = 0;
    while (digits < m->key_len && k[digits] >= '0' && k[digits] <= '9')
        digits++;
    return digits == m->key_len ? 0 : traceid_normalize(k, m->key_len, out);
}
