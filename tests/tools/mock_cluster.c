/* mock_cluster -- librdkafka's Kafka-protocol mock cluster as a process of its own,
 * so kcat and pycorr talk to a real broker on loopback in the tests.
 *
 *   mock_cluster [--brokers N] [--topic NAME:PARTITIONS]... [--timeout SECONDS]
 *
 * Prints the bootstrap address ("127.0.0.1:PORT,...") as the first line on stdout,
 * then serves until SIGTERM or SIGINT (or --timeout, default 600 s, so a test that
 * forgets it cannot leave it behind for ever). SIGUSR1 takes every broker down
 * (connections closed, new ones refused) and SIGUSR2 brings them back, for tests of a
 * broker outage under a running client. Topics not created with --topic are created on
 * first use with 4 partitions.
 *
 * Signals are taken synchronously with sigtimedwait in the main thread: the mock API
 * is not async-signal-safe, and librdkafka's own threads must never see them, so they
 * are blocked before the first thread starts.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void usage(void)
{
    fprintf(stderr, "usage: mock_cluster [--brokers N] [--topic NAME:PARTITIONS]... [--timeout SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int nbrokers = 1;
    long timeout_s = 600;
    const char *topics[64];
    int ntopics = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            nbrokers = atoi(argv[++i]);
            if (nbrokers < 1 || nbrokers > 16)
                usage();
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && ntopics < 64) {
            topics[ntopics++] = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_s = atol(argv[++i]);
        } else {
            usage();
        }
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the cluster; it talks to no broker itself. */
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mock_cluster: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "mock_cluster: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (mc == NULL) {
        fprintf(stderr, "mock_cluster: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 0; i < ntopics; i++) {
        char name[256];
        const char *colon = strrchr(topics[i], ':');
        int parts = colon ? atoi(colon + 1) : 4;
        size_t n = colon ? (size_t)(colon - topics[i]) : strlen(topics[i]);
        if (n == 0 || n >= sizeof(name) || parts < 1)
            usage();
        memcpy(name, topics[i], n);
        name[n] = '\0';
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, nbrokers < 3 ? nbrokers : 3);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "mock_cluster: topic %s: %s\n", name, rd_kafka_err2str(e));
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    time_t deadline = time(NULL) + timeout_s;
    int rc = 0;
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                perror("mock_cluster: sigtimedwait");
                rc = 1;
                break;
            }
            if (time(NULL) >= deadline) {
                fprintf(stderr, "mock_cluster: timeout after %ld s, exiting\n", timeout_s);
                break;
            }
            continue;
        }
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            for (int b = 1; b <= nbrokers; b++) {
                if (sig == SIGUSR1)
                    rd_kafka_mock_broker_set_down(mc, b);
                else
                    rd_kafka_mock_broker_set_up(mc, b);
            }
            fprintf(stderr, "mock_cluster: brokers %s\n", sig == SIGUSR1 ? "down" : "up");
            continue;
        }
        break;
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
