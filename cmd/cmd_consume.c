/* cmd_consume.c -- `pycorr consume`: a member of a Kafka consumer group that runs each
 * message through the parsers and detectors as `ingest` does, and emits findings as
 * they appear.
 *
 * The loop is librdkafka's canonical consumer: signal handlers only set flags; the
 * poll times out every 100 ms so the flags are seen; every message is destroyed on
 * every path; the rebalance callback speaks the eager and the cooperative protocol;
 * rd_kafka_consumer_close comes before rd_kafka_destroy.
 *
 * At-least-once (the librdkafka author's recipe): enable.auto.offset.store=false and
 * auto commit kept, so only offsets this program stored are ever committed. Every
 * tick (TICK_S) the findings created or changed since the last tick are drained from
 * the store and written out (the output flushed) and produced to --findings-topic,
 * so findings stream as they appear. Offsets move only at analysis checkpoints:
 * detectors keep series (memory growth, counters, thread dumps) and the correlator
 * keeps open traces, and what they will conclude depends on messages already read.
 * A checkpoint hands every event on (the time merge, kafka_order.h), flushes the
 * analysis (analysis_flush: series judged, traces closed) and emits; then each
 * partition's safe offset -- before it no parser holds a line back (an open
 * traceback; kafka_source.h) -- is stored: at once when only the output is written,
 * one tick later when findings also go to Kafka and all were acknowledged.
 * Checkpoints come every CHECKPOINT_S while messages flow, when no message came for
 * IDLE_FLUSH_S, on a revocation and at exit; the price is that a trace or a series
 * spanning a checkpoint is judged in two parts. A partition whose parser holds lines
 * and stays idle for IDLE_FLUSH_S is finished, so one unfinished traceback cannot
 * hold its commit back for ever. Redelivery after a crash is harmless: findings
 * have stable ids.
 *
 * A revoked partition is finished (its parsers emit what they held), its findings are
 * emitted and its offset committed synchronously before it goes; a lost one is
 * finished but not committed (it is someone else's now). SIGINT/SIGTERM do the same
 * for every partition, then close.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "../rules/rules.h"
#include "analysis.h"
#include "commands.h"
#include "kafka_common.h"
#include "kafka_order.h"
#include "kafka_sink.h"
#include "kafka_source.h"
#include "report.h"
#include "version.h"

#define POLL_MS 100
#define TICK_S 0.25
#define IDLE_FLUSH_S 2.0
#define DEFAULT_STATS_S 60.0
/* Analysis checkpoints (see the top comment): at most this far apart while messages
 * keep coming, and as soon as no message came for IDLE_FLUSH_S. */
#define CHECKPOINT_S 30.0
#define MOCK_PARTITIONS 4
#define FINAL_FLUSH_MS 10000
#define REVOKE_FLUSH_MS 5000
#define DIAG_WINDOW_S 10.0
#define DIAG_PER_WINDOW 20
#define LAG_SHOWN 16
/* A partition without a message for this long stops holding the time merge back. */
#define LIVE_S 1.0

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_stats;

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_stats_signal(int sig)
{
    (void)sig;
    g_stats = 1;
}

struct consumer {
    const struct cli *cli;
    FILE *out;
    enum out_format fmt;
    bool color;
    rd_kafka_t *rk;
    struct analysis *an;
    struct ksrc *src;
    struct korder *order;             /* partitions merged by event time */
    struct korder_in *cur_in;         /* the partition being fed */
    struct kafka_sink *sink;          /* NULL without --findings-topic / --dead-letter-topic */
    rd_kafka_topic_partition_list_t *pending; /* offsets waiting for the sink to settle */
    int code;                         /* exit code when something went wrong */
    bool output_failed;
    /* counters */
    uint64_t msgs, bytes, poison, malformed, findings_new, findings_out;
    uint64_t diag_suppressed;
    double last_checkpoint, last_any_msg;
    double first_msg;                 /* monotonic time of the first message; 0 none */
    bool unflushed;                   /* events reached the analysis since the checkpoint */
    struct finding **rep_set;         /* reported findings, a pointer set per drain */
    size_t rep_cap;
    double diag_window_at;
    unsigned diag_in_window;
    double stats_at;
    uint64_t stats_msgs, stats_bytes;
    struct finding **drain_buf;
    bool *drain_new;
    size_t drain_cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool want_color(const struct cli *cli, FILE *out)
{
    if (cli->color == COLOR_ALWAYS)
        return true;
    if (cli->color == COLOR_NEVER)
        return false;
    const char *nc = getenv("NO_COLOR");
    if (nc != NULL && nc[0] != '\0')
        return false;
    return isatty(fileno(out));
}

/* ---- malformed records ---- */

static void on_diag(void *ctx, const char *source, const char *reason)
{
    struct consumer *c = ctx;
    c->malformed++;
    if (c->cli->quiet)
        return;
    double t = now_s();
    if (t - c->diag_window_at >= DIAG_WINDOW_S) {
        if (c->diag_suppressed > 0)
            fprintf(stderr, "pycorr: warning: %" PRIu64 " more malformed records not shown\n", c->diag_suppressed);
        c->diag_window_at = t;
        c->diag_in_window = 0;
        c->diag_suppressed = 0;
    }
    if (c->diag_in_window++ < DIAG_PER_WINDOW)
        fprintf(stderr, "pycorr: warning (at %s): %s\n", source, reason);
    else
        c->diag_suppressed++;
}

/* ---- partitions and the time merge ---- */

/* The partition's state and its input of the time merge, created on first use. */
static struct kpart *partition(struct consumer *c, const char *topic, int32_t part)
{
    struct kpart *p = ksrc_partition(c->src, topic, part, true);
    if (p == NULL)
        return NULL;
    struct kpart_user *u = kpart_user(p);
    if (u->order_in == NULL)
        u->order_in = korder_input(c->order);
    return u->order_in ? p : NULL;
}

/* ksrc's sink: events of the partition being fed wait in the time merge. */
static int to_order(void *ctx, const struct event *ev)
{
    struct consumer *c = ctx;
    return c->cur_in ? korder_push(c->cur_in, ev) : analysis_sink(c->an, ev);
}

static int finish_partition(struct consumer *c, struct kpart *p)
{
    c->cur_in = kpart_user(p)->order_in;
    int rc = ksrc_finish(c->src, p);
    c->cur_in = NULL;
    return rc;
}

/* ---- findings out ---- */

static int grow_drain(struct consumer *c, size_t n)
{
    if (n <= c->drain_cap)
        return 0;
    size_t cap = c->drain_cap ? c->drain_cap : 64;
    while (cap < n)
        cap *= 2;
    struct finding **nb = realloc(c->drain_buf, cap * sizeof(*nb));
    if (nb == NULL)
        return -1;
    c->drain_buf = nb;
    bool *nn = realloc(c->drain_new, cap * sizeof(*nn));
    if (nn == NULL)
        return -1;
    c->drain_new = nn;
    c->drain_cap = cap;
    return 0;
}

/* Write the findings created or changed since the last drain: jsonl prints each of
 * them, text each new one, json nothing until the end (one document). Produced to
 * --findings-topic too. The list is copied and marked drained first, so a finding
 * whose production fails is put back for the next drain. */
static void emit_findings(struct consumer *c)
{
    struct finding_store *store = analysis_store(c->an);
    size_t n;
    struct finding **ch = finding_store_changed(store, &n);
    if (n == 0)
        return;
    if (grow_drain(c, n) != 0) {
        fprintf(stderr, "pycorr: error: out of memory while emitting findings\n");
        c->code = EXIT_INPUT;
        g_stop = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        c->drain_buf[i] = ch[i];
        c->drain_new[i] = ch[i]->drained_count == 0;
    }
    finding_store_drained(store);
    /* What ingest would report: the rules' claims and suppressions applied, cascade
     * symptoms folded. A finding folded since it was emitted is emitted once more,
     * saying so. */
    size_t nrep;
    struct analysis_counts counts;
    struct finding **rep = analysis_findings(c->an, &nrep, &counts);
    size_t cap = 16;
    while (cap < nrep * 2)
        cap *= 2;
    if (cap > c->rep_cap) {
        struct finding **nb = realloc(c->rep_set, cap * sizeof(*nb));
        if (nb == NULL) {
            fprintf(stderr, "pycorr: error: out of memory while emitting findings\n");
            c->code = EXIT_INPUT;
            g_stop = 1;
            return;
        }
        c->rep_set = nb;
        c->rep_cap = cap;
    }
    memset(c->rep_set, 0, cap * sizeof(*c->rep_set));
    for (size_t i = 0; i < nrep; i++) {
        size_t h = ((uintptr_t)rep[i] >> 4) & (cap - 1);
        while (c->rep_set[h] != NULL)
            h = (h + 1) & (cap - 1);
        c->rep_set[h] = rep[i];
    }
    for (size_t i = 0; i < n; i++) {
        struct finding *f = c->drain_buf[i];
        size_t h = ((uintptr_t)f >> 4) & (cap - 1);
        while (c->rep_set[h] != NULL && c->rep_set[h] != f)
            h = (h + 1) & (cap - 1);
        bool reported = c->rep_set[h] == f;
        if (!reported && (c->drain_new[i] || finding_is_reported(f))) {
            /* Suppressed, not claimed by a rule, or folded before it was shown: not
             * shown. Asked again next time, as rules may decide at a checkpoint. */
            if (c->drain_new[i]) {
                f->drained_count = 0;
                finding_store_mark_changed(store, f);
            }
            continue;
        }
        char *doc = NULL;
        if (c->fmt == FMT_JSONL || c->sink != NULL) {
            json_t *j = finding_to_json(f);
            /* A finding can be folded into another one when its trace closes (a
             * cascade); the update says so, as ingest's report leaves it out. */
            if (j != NULL && !reported)
                json_object_set_new(j, "folded_into", json_string(f->folded_into));
            if (j != NULL)
                kafka_source_json(j);
            doc = j ? json_dumps(j, JSON_COMPACT) : NULL;
            json_decref(j);
            if (doc == NULL) {
                fprintf(stderr, "pycorr: error: out of memory while emitting finding %s\n", f->id);
                finding_store_mark_changed(store, f);
                continue;
            }
        }
        if (c->fmt == FMT_JSONL) {
            fputs(doc, c->out);
            fputc('\n', c->out);
        } else if (c->fmt == FMT_TEXT && c->drain_new[i] && reported) {
            report_text_finding(c->out, c->color, f);
        }
        c->findings_out++;
        c->findings_new += c->drain_new[i];
        if (c->sink != NULL)
            kafka_sink_finding(c->sink, f, doc);
        free(doc);
    }
}

static bool flush_output(struct consumer *c)
{
    if (c->output_failed)
        return false;
    if (fflush(c->out) != 0 || ferror(c->out)) {
        fprintf(stderr, "pycorr: error: cannot write the output: %s; stopping without committing\n",
                strerror(errno ? errno : EIO));
        c->output_failed = true;
        c->code = EXIT_OUTPUT;
        g_stop = 1;
        return false;
    }
    return true;
}

/* ---- offsets ---- */

/* Offsets that moved past what was stored, for the given partitions (all when NULL). */
static rd_kafka_topic_partition_list_t *safe_offsets(struct consumer *c, const rd_kafka_topic_partition_list_t *only)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0;; i++) {
        struct kpart *p = ksrc_partition_at(c->src, i);
        if (p == NULL)
            break;
        if (only != NULL && rd_kafka_topic_partition_list_find(only, kpart_topic(p), kpart_partition(p)) == NULL)
            continue;
        int64_t o = kpart_safe_offset(p);
        /* Events still waiting in the time merge have not reached the detectors. */
        struct korder_in *in = kpart_user(p)->order_in;
        int64_t held = in ? korder_min_offset(in) : -1;
        if (held >= 0 && held < o)
            o = held;
        if (o >= 0 && o > kpart_user(p)->stored)
            rd_kafka_topic_partition_list_add(l, kpart_topic(p), kpart_partition(p))->offset = o;
    }
    return l;
}

static void store_offsets(struct consumer *c, rd_kafka_topic_partition_list_t *l)
{
    if (l == NULL || l->cnt == 0)
        return;
    rd_kafka_resp_err_t r = rd_kafka_offsets_store(c->rk, l);
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        struct kpart *p = ksrc_partition(c->src, tp->topic, tp->partition, false);
        /* A partition revoked since the list was made is not ours to store. */
        if (p != NULL && tp->err == RD_KAFKA_RESP_ERR_NO_ERROR && r != RD_KAFKA_RESP_ERR__INVALID_ARG)
            kpart_user(p)->stored = tp->offset;
    }
}

/* ---- the periodic work ---- */

/* Every event read so far through the detectors and the correlator: what they held
 * comes out, so the offsets computed next cover only concluded work. */
static void checkpoint(struct consumer *c, double t)
{
    korder_release(c->order, true);
    analysis_flush(c->an);
    c->last_checkpoint = t;
    c->unflushed = false;
}

static void tick(struct consumer *c, double t)
{
    /* An unfinished traceback must not hold its partition's commit back for ever. */
    for (size_t i = 0;; i++) {
        struct kpart *p = ksrc_partition_at(c->src, i);
        if (p == NULL)
            break;
        struct kpart_user *u = kpart_user(p);
        if (kpart_holds(p) && t - u->last_msg_s >= IDLE_FLUSH_S) {
            c->unflushed = true;
            if (finish_partition(c, p) < 0) {
                fprintf(stderr, "pycorr: error: out of memory\n");
                c->code = EXIT_INPUT;
                g_stop = 1;
            }
        }
        if (u->order_in != NULL) {
            /* Behind its high watermark it is live however long the wait: under a
             * backlog librdkafka serves the partitions in turns. */
            int64_t lo = -1, hi = -1, pos = kpart_next_offset(p);
            bool behind = rd_kafka_get_watermark_offsets(c->rk, kpart_topic(p), kpart_partition(p), &lo, &hi) ==
                              RD_KAFKA_RESP_ERR_NO_ERROR &&
                          hi >= 0 && hi > (pos >= 0 ? pos : lo);
            korder_set_live(u->order_in, !u->at_eof && (behind || t - u->last_msg_s < LIVE_S));
        }
    }
    bool due = c->unflushed && (t - c->last_any_msg >= IDLE_FLUSH_S || t - c->last_checkpoint >= CHECKPOINT_S);
    if (due)
        checkpoint(c, t);
    else
        korder_release(c->order, false);
    if (c->sink != NULL) {
        kafka_sink_poll(c->sink);
        /* Last tick's findings are all acknowledged: its offsets are safe. */
        if (c->pending != NULL && kafka_sink_settled(c->sink)) {
            store_offsets(c, c->pending);
            rd_kafka_topic_partition_list_destroy(c->pending);
            c->pending = NULL;
        }
        kafka_sink_begin(c->sink);
    }
    emit_findings(c);
    if (!flush_output(c))
        return;
    if (c->fmt == FMT_JSON || !due)
        return; /* json: one document at the end, nothing is out before it */
    rd_kafka_topic_partition_list_t *l = safe_offsets(c, NULL);
    if (c->sink == NULL) {
        store_offsets(c, l);
        rd_kafka_topic_partition_list_destroy(l);
    } else {
        if (c->pending != NULL)
            rd_kafka_topic_partition_list_destroy(c->pending);
        c->pending = l;
    }
}

static void write_json_doc(struct consumer *c);

/* Finish the given partitions (all when NULL), checkpoint, emit (at the end, with
 * --format json, the document), and commit synchronously when commit is set and
 * everything is out. Returns whether the offsets were committed. */
static bool settle(struct consumer *c, const rd_kafka_topic_partition_list_t *only, bool commit, int flush_ms)
{
    for (size_t i = 0;; i++) {
        struct kpart *p = ksrc_partition_at(c->src, i);
        if (p == NULL)
            break;
        if (only == NULL || rd_kafka_topic_partition_list_find(only, kpart_topic(p), kpart_partition(p)) != NULL)
            if (finish_partition(c, p) < 0)
                fprintf(stderr, "pycorr: error: out of memory while finishing %s\n", kpart_name(p));
    }
    checkpoint(c, now_s());
    if (c->sink != NULL)
        kafka_sink_begin(c->sink);
    emit_findings(c);
    if (only == NULL && c->fmt == FMT_JSON)
        write_json_doc(c);
    bool ok = flush_output(c);
    if (c->sink != NULL) {
        kafka_sink_flush(c->sink, flush_ms);
        ok = ok && kafka_sink_settled(c->sink);
    }
    if (!commit)
        return false;
    if (!ok) {
        kafka_log("offsets not committed: findings not safely out");
        return false;
    }
    rd_kafka_topic_partition_list_t *l = safe_offsets(c, only);
    bool done = true;
    if (l->cnt > 0) {
        store_offsets(c, l);
        rd_kafka_resp_err_t r = rd_kafka_commit(c->rk, l, 0);
        if (r != RD_KAFKA_RESP_ERR_NO_ERROR && r != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            kafka_log("commit failed: %s (the partitions will be read again from the last commit)",
                      rd_kafka_err2str(r));
            done = false;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return done;
}

/* ---- rebalance ---- */

static void log_partitions(const struct consumer *c, const char *what, const rd_kafka_topic_partition_list_t *l)
{
    if (c->cli->quiet)
        return;
    fprintf(stderr, "pycorr: %s", what);
    for (int i = 0; i < l->cnt; i++)
        fprintf(stderr, "%s%s/%" PRId32, i ? " " : " ", l->elems[i].topic, l->elems[i].partition);
    if (l->cnt == 0)
        fprintf(stderr, " (none)");
    fputc('\n', stderr);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    struct consumer *c = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t r = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        double t = now_s();
        for (int i = 0; i < parts->cnt; i++) {
            struct kpart *p = partition(c, parts->elems[i].topic, parts->elems[i].partition);
            if (p != NULL)
                kpart_user(p)->last_msg_s = t;
        }
        log_partitions(c, "assigned", parts);
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            r = rd_kafka_assign(rk, parts);
    } else {
        bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            kafka_log("rebalance failed: %s", rd_kafka_err2str(err));
        /* Their parsers' held lines come out and their offsets are committed before the
         * next owner starts; the JSON document is written only at exit, so with
         * --format json nothing is committed early. */
        settle(c, parts, !lost && c->fmt != FMT_JSON, REVOKE_FLUSH_MS);
        log_partitions(c, lost ? "lost" : "revoked", parts);
        for (int i = 0; i < parts->cnt; i++) {
            struct kpart *p = ksrc_partition(c->src, parts->elems[i].topic, parts->elems[i].partition, false);
            if (p == NULL)
                continue;
            /* Its input of the time merge (emptied by settle) is reused. */
            if (kpart_user(p)->order_in != NULL)
                korder_input_release(kpart_user(p)->order_in);
            ksrc_remove(c->src, p);
        }
        if (coop && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            e = rd_kafka_incremental_unassign(rk, parts);
        else
            r = rd_kafka_assign(rk, NULL);
    }
    if (e != NULL) {
        kafka_log("rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else if (r != RD_KAFKA_RESP_ERR_NO_ERROR) {
        kafka_log("rebalance: %s", rd_kafka_err2str(r));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        kafka_log("fatal error: %s", buf);
        c->code = EXIT_INPUT;
        g_stop = 1;
        return;
    }
    /* "... failed: Connection refused (after 0ms in state CONNECT)": the timing
     * differs on every retry and would defeat the repeat filter. */
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", reason);
    char *after = strstr(buf, " (after ");
    if (after != NULL)
        *after = '\0';
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        kafka_log("all brokers are down; retrying");
    else
        kafka_log("%s", buf);
}

/* ---- messages ---- */

static void on_message(struct consumer *c, rd_kafka_message_t *m, double t)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        struct kpart *p = partition(c, rd_kafka_topic_name(m->rkt), m->partition);
        if (p != NULL) {
            kpart_user(p)->at_eof = true;
            kpart_user(p)->high = m->offset;
            korder_set_live(kpart_user(p)->order_in, false);
        }
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->rkt != NULL)
            kafka_log("%s [%" PRId32 "]: %s", rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_message_errstr(m));
        else
            kafka_log("%s", rd_kafka_message_errstr(m));
        return;
    }
    struct kpart *p = partition(c, rd_kafka_topic_name(m->rkt), m->partition);
    if (p == NULL) {
        fprintf(stderr, "pycorr: error: out of memory\n");
        c->code = EXIT_INPUT;
        g_stop = 1;
        return;
    }
    c->msgs++;
    c->bytes += m->len;
    struct kpart_user *u = kpart_user(p);
    u->last_msg_s = t;
    u->at_eof = false;
    c->last_any_msg = t;
    if (c->first_msg == 0)
        c->first_msg = t;
    c->unflushed = true;
    char tid[TRACEID_BUFSZ];
    size_t tl = kafka_message_trace_id(m, tid);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts_ms = rd_kafka_message_timestamp(m, &tstype);
    struct kmsg km = {
        .payload = m->payload,
        .len = m->len,
        .offset = m->offset,
        .has_ts = tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts_ms >= 0,
        .ts_ns = ts_ms * 1000000,
        .trace_id = tl ? tid : NULL,
        .trace_id_len = tl,
    };
    struct kfeed_result res;
    c->cur_in = u->order_in;
    korder_set_live(c->cur_in, true);
    int rc = ksrc_feed(c->src, p, &km, &res);
    c->cur_in = NULL;
    if (rc >= 0)
        rc = korder_release(c->order, false);
    if (rc < 0) {
        fprintf(stderr, "pycorr: error: out of memory at %s@%" PRId64 "\n", kpart_name(p), m->offset);
        c->code = EXIT_INPUT;
        g_stop = 1;
        return;
    }
    if (res.poison) {
        c->poison++;
        if (c->sink != NULL) {
            char source[512];
            snprintf(source, sizeof(source), "%s@%" PRId64, kpart_name(p), m->offset);
            kafka_sink_dead_letter(c->sink, m, source, res.reason);
        }
    }
}

/* ---- stats ---- */

static void print_stats(struct consumer *c, double t)
{
    double dt = t - c->stats_at;
    if (dt <= 0)
        dt = 1e-3;
    char lag[1024] = "";
    size_t used = 0, shown = 0, held = 0, nparts = 0;
    int64_t total_lag = 0;
    for (size_t i = 0;; i++) {
        struct kpart *p = ksrc_partition_at(c->src, i);
        if (p == NULL)
            break;
        nparts++;
        held += kpart_holds(p);
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(c->rk, kpart_topic(p), kpart_partition(p), &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            hi = kpart_user(p)->high;
        int64_t pos = kpart_next_offset(p);
        if (hi < 0 || pos < 0) {
            if (shown++ < LAG_SHOWN && used < sizeof(lag))
                used += (size_t)snprintf(lag + used, sizeof(lag) - used, " %s/%" PRId32 "=?", kpart_topic(p),
                                         kpart_partition(p));
            continue;
        }
        int64_t l = hi > pos ? hi - pos : 0;
        total_lag += l;
        if (shown++ < LAG_SHOWN && used < sizeof(lag))
            used += (size_t)snprintf(lag + used, sizeof(lag) - used, " %s/%" PRId32 "=%" PRId64, kpart_topic(p),
                                     kpart_partition(p), l);
    }
    if (shown > LAG_SHOWN && used < sizeof(lag))
        snprintf(lag + used, sizeof(lag) - used, " (+%zu more; total %" PRId64 ")", shown - LAG_SHOWN, total_lag);
    fprintf(stderr,
            "pycorr: stats: %" PRIu64 " messages (%.0f/s, %.2f MB/s), %zu partitions, lag%s, "
            "open tracebacks in %zu, findings %zu (%" PRIu64 " new), malformed %" PRIu64 ", poison %" PRIu64 "\n",
            c->msgs, (double)(c->msgs - c->stats_msgs) / dt, (double)(c->bytes - c->stats_bytes) / dt / 1e6, nparts,
            shown ? lag : " n/a", held, finding_store_count(analysis_store(c->an)), c->findings_new, c->malformed,
            c->poison);
    c->stats_at = t;
    c->stats_msgs = c->msgs;
    c->stats_bytes = c->bytes;
}

static bool all_at_eof(struct consumer *c)
{
    size_t n = 0;
    for (size_t i = 0;; i++, n++) {
        struct kpart *p = ksrc_partition_at(c->src, i);
        if (p == NULL)
            break;
        if (!kpart_user(p)->at_eof)
            return false;
    }
    return n > 0;
}

/* ---- setup ---- */

static rd_kafka_t *consumer_new(struct consumer *c, const char *bootstrap, char *err, size_t errsz)
{
    const char *group = c->cli->group ? c->cli->group : "pycorr";
    const char *const defaults[] = {
        "group.id", group,
        /* at-least-once: only offsets this program stored are committed */
        "enable.auto.offset.store", "false",
        "enable.auto.commit", "true",
        "auto.commit.interval.ms", "1000",
        /* a new group reads what is there rather than only what comes next */
        "auto.offset.reset", "earliest",
        "enable.partition.eof", "true",
        NULL,
    };
    rd_kafka_conf_t *conf = kafka_conf_new(c->cli, bootstrap, defaults, err, errsz);
    if (conf == NULL)
        return NULL;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, c);
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (rk == NULL) {
        snprintf(err, errsz, "%s", e);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static int subscribe(struct consumer *c)
{
    const struct cli *cli = c->cli;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)cli->ntopics + 1);
    for (size_t i = 0; i < cli->ntopics; i++)
        rd_kafka_topic_partition_list_add(l, cli->topics[i], RD_KAFKA_PARTITION_UA);
    char *re = NULL;
    if (cli->topic_regex != NULL) {
        /* librdkafka takes a subscription starting with '^' as a regex. */
        size_t n = strlen(cli->topic_regex);
        re = malloc(n + 2);
        if (re == NULL) {
            rd_kafka_topic_partition_list_destroy(l);
            return -1;
        }
        snprintf(re, n + 2, "%s%s", cli->topic_regex[0] == '^' ? "" : "^", cli->topic_regex);
        rd_kafka_topic_partition_list_add(l, re, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t r = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    free(re);
    if (r != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "pycorr: error: cannot subscribe: %s\n", rd_kafka_err2str(r));
        return -1;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_stats_signal;
    sigaction(SIGUSR1, &sa, NULL);
}

static void write_json_doc(struct consumer *c)
{
    struct finding_store *store = analysis_store(c->an);
    size_t n;
    struct analysis_counts counts;
    struct finding **f = analysis_findings(c->an, &n, &counts);
    size_t reported = n;
    {
        /* The findings as ingest's json document has them, sources in Kafka's spelling. */
        json_t *doc = json_object();
        json_t *sum = json_object();
        json_object_set_new(doc, "pycorr", json_string(PYCORR_VERSION));
        json_object_set_new(doc, "command", json_string("consume"));
        json_object_set_new(sum, "messages", json_integer((json_int_t)c->msgs));
        json_object_set_new(sum, "bytes", json_integer((json_int_t)c->bytes));
        json_object_set_new(sum, "malformed", json_integer((json_int_t)c->malformed));
        json_object_set_new(sum, "poison", json_integer((json_int_t)c->poison));
        json_object_set_new(sum, "findings", json_integer((json_int_t)reported));
        json_object_set_new(sum, "dropped_findings", json_integer((json_int_t)finding_store_dropped(store)));
        json_object_set_new(doc, "summary", sum);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *j = finding_to_json(f[i]);
            if (j != NULL) {
                kafka_source_json(j);
                json_array_append_new(arr, j);
            }
        }
        json_object_set_new(doc, "findings", arr);
        if (json_dumpf(doc, c->out, JSON_INDENT(2)) != 0)
            fprintf(stderr, "pycorr: error: out of memory while writing the report\n");
        fputc('\n', c->out);
        json_decref(doc);
    }
}

static void final_report(struct consumer *c)
{
    size_t reported;
    struct analysis_counts counts;
    analysis_findings(c->an, &reported, &counts);
    if (c->cli->quiet)
        return;
    fprintf(stderr,
            "pycorr: consume: %zu findings (%" PRIu64 " first seen in this run) from %" PRIu64
            " messages, %" PRIu64 " malformed, %" PRIu64 " poison\n",
            reported, c->findings_new, c->msgs, c->malformed, c->poison);
    /* The rate from the first message to the last (group join and shutdown left
     * out): what `make bench` compares with kcat. */
    double span = c->last_any_msg - c->first_msg;
    if (c->msgs > 0 && span > 0)
        fprintf(stderr, "pycorr: consume: read %" PRIu64 " bytes in %.3f s (%.1f MB/s, %.0f messages/s)\n", c->bytes,
                span, (double)c->bytes / span / 1e6, (double)c->msgs / span);
}

static int fail_on_code(const struct consumer *c)
{
    if (!c->cli->fail_on_set)
        return EXIT_OK;
    size_t n;
    struct analysis_counts counts;
    struct finding **f = analysis_findings(c->an, &n, &counts);
    for (size_t i = 0; i < n; i++)
        if (f[i]->severity >= c->cli->fail_on)
            return EXIT_FINDINGS;
    return EXIT_OK;
}

int cmd_consume(const struct cli *cli, FILE *out)
{
    char err[512];
    struct consumer c = {.cli = cli, .out = out};
    c.fmt = cli->format_set ? cli->format : isatty(fileno(out)) ? FMT_TEXT : FMT_JSONL;
    c.color = c.fmt == FMT_TEXT && want_color(cli, out);
    int code = EXIT_OK;
    struct kafka_mock *mock = NULL;
    const char *bootstrap = cli->brokers;
    if (strncmp(cli->brokers, "mock:", 5) == 0) {
        mock = kafka_mock_start(1, cli->topics, cli->ntopics, MOCK_PARTITIONS, err, sizeof(err));
        if (mock == NULL) {
            fprintf(stderr, "pycorr: error: %s\n", err);
            return EXIT_INPUT;
        }
        bootstrap = kafka_mock_bootstraps(mock);
        fprintf(stderr, "pycorr: mock cluster on %s (%d partitions a topic); produce into it with e.g.\n"
                        "  kcat -P -b %s -t %s -p 0 -l samples/app.log\n",
                bootstrap, MOCK_PARTITIONS, bootstrap, cli->ntopics ? cli->topics[0] : "TOPIC");
    }
    /* The rules live as long as the analysis: freed after it, at the end. */
    struct ruleset *rs = analysis_load_rules(cli, err, sizeof(err));
    c.an = rs ? analysis_create(cli, rs, err, sizeof(err)) : NULL;
    if (c.an == NULL) {
        ruleset_free(rs);
        fprintf(stderr, "pycorr: error: %s\n", err);
        kafka_mock_stop(mock);
        return EXIT_USAGE;
    }
    struct ksrc_config kc = {
        .sink = to_order,
        .sink_ctx = &c,
        .diag = on_diag,
        .diag_ctx = &c,
        .map = &cli->map,
        .limits = &parse_limits_default,
    };
    c.src = ksrc_create(&kc);
    c.order = korder_create(analysis_sink, c.an, 0);
    if (c.src == NULL || c.order == NULL) {
        fprintf(stderr, "pycorr: error: out of memory\n");
        code = EXIT_INPUT;
        goto out;
    }
    if (cli->findings_topic != NULL || cli->dead_letter_topic != NULL) {
        c.sink = kafka_sink_create(cli, bootstrap, analysis_store(c.an), err, sizeof(err));
        if (c.sink == NULL) {
            fprintf(stderr, "pycorr: error: %s\n", err);
            code = EXIT_USAGE;
            goto out;
        }
    }
    c.rk = consumer_new(&c, bootstrap, err, sizeof(err));
    if (c.rk == NULL) {
        fprintf(stderr, "pycorr: error: %s\n", err);
        code = EXIT_USAGE;
        goto out;
    }
    if (subscribe(&c) != 0) {
        code = EXIT_INPUT;
        goto out;
    }
    g_stop = 0;
    g_stats = 0;
    install_signals();

    double interval = cli->stats_interval < 0 ? DEFAULT_STATS_S : cli->stats_interval;
    double t = now_s();
    double next_tick = t + TICK_S;
    double next_stats = interval > 0 ? t + interval : 0;
    c.stats_at = t;
    c.diag_window_at = t;
    c.last_checkpoint = t;
    c.last_any_msg = t;
    while (!g_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c.rk, POLL_MS);
        t = now_s();
        if (m != NULL) {
            on_message(&c, m, t);
            rd_kafka_message_destroy(m);
        }
        if (t >= next_tick) {
            tick(&c, t);
            next_tick = t + TICK_S;
        }
        if (g_stats || (next_stats > 0 && t >= next_stats)) {
            g_stats = 0;
            print_stats(&c, t);
            if (interval > 0)
                next_stats = t + interval;
        }
        if (cli->exit_at_end && all_at_eof(&c))
            break;
    }

    /* Drain: every partition finished, the analysis flushed, findings out, offsets
     * committed -- unless the output failed, when nothing may be committed. */
    settle(&c, NULL, !c.output_failed, FINAL_FLUSH_MS);
    if (analysis_lost_events(c.an))
        fprintf(stderr, "pycorr: warning: memory ran short; some events were not analyzed\n");
    final_report(&c);
    code = c.code != EXIT_OK ? c.code : fail_on_code(&c);

out:
    if (c.rk != NULL) {
        rd_kafka_consumer_close(c.rk);
        rd_kafka_destroy(c.rk);
    }
    if (c.pending != NULL)
        rd_kafka_topic_partition_list_destroy(c.pending);
    kafka_sink_destroy(c.sink, FINAL_FLUSH_MS);
    ksrc_destroy(c.src);
    korder_destroy(c.order);
    analysis_destroy(c.an);
    ruleset_free(rs);
    kafka_mock_stop(mock);
    free(c.drain_buf);
    free(c.rep_set);
    free(c.drain_new);
    return code;
}
