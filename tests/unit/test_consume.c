/* test_consume.c -- the Kafka consumer's pieces that need no broker: messages to
 * events per partition (kafka_source), what a partition may commit while a traceback
 * is open, poison messages, the DESIGN spelling of Kafka sources, the time merge of
 * partitions (kafka_order), and the finding store's drain list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cmd/kafka_order.h"
#include "cmd/kafka_source.h"
#include "patterns/finding.h"

#define MAXEV 64

struct got {
    size_t n;
    enum ev_kind kind[MAXEV];
    char stream[MAXEV][64];
    uint64_t line[MAXEV];
    char trace[MAXEV][40];
    bool has_ts[MAXEV];
    int64_t ts[MAXEV];
    unsigned diags;
    char diag_src[128];
};

static int collect(void *ctx, const struct event *ev)
{
    struct got *g = ctx;
    if (g->n >= MAXEV)
        return 0;
    g->kind[g->n] = ev->kind;
    snprintf(g->stream[g->n], sizeof(g->stream[0]), "%s", ev->src.stream ? ev->src.stream : "");
    g->line[g->n] = ev->src.line;
    snprintf(g->trace[g->n], sizeof(g->trace[0]), "%.*s", (int)ev->trace_id.len,
             ev->trace_id.ptr ? ev->trace_id.ptr : "");
    g->has_ts[g->n] = ev->has_ts;
    g->ts[g->n] = ev->ts_ns;
    g->n++;
    return 0;
}

static void on_diag(void *ctx, const char *source, const char *reason)
{
    struct got *g = ctx;
    (void)reason;
    if (g->diags++ == 0)
        snprintf(g->diag_src, sizeof(g->diag_src), "%s", source);
}

static struct ksrc *make_src(struct got *g, size_t max_message)
{
    memset(g, 0, sizeof(*g));
    struct ksrc_config cfg = {.sink = collect, .sink_ctx = g, .diag = on_diag, .diag_ctx = g,
                              .max_message = max_message};
    struct ksrc *s = ksrc_create(&cfg);
    assert_non_null(s);
    return s;
}

static int feed(struct ksrc *s, struct kpart *p, int64_t off, const char *text, struct kfeed_result *res)
{
    struct kmsg m = {.payload = text, .len = strlen(text), .offset = off};
    return ksrc_feed(s, p, &m, res);
}

static size_t count_kind(const struct got *g, enum ev_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        n += g->kind[i] == k;
    return n;
}

/* A traceback logged one line a message: reassembled, named by the offset of its log
 * record, and holding the partition's commit back until it is out. */
static void test_traceback_across_messages(void **state)
{
    (void)state;
    struct got g;
    struct ksrc *s = make_src(&g, 0);
    struct kpart *p = ksrc_partition(s, "orders", 3, true);
    assert_non_null(p);
    assert_string_equal(kpart_name(p), "kafka:orders/3");
    assert_int_equal(kpart_safe_offset(p), -1);
    static const char *const lines[] = {
        "2026-11-24 03:22:56,100 INFO app.api request 1 ok",
        "2026-11-24 03:22:56,533 ERROR app.api request 2 failed",
        "Traceback (most recent call last):",
        "  File \"/srv/app/api.py\", line 10, in handle",
        "    charge(order)",
        "ValueError: card declined",
    };
    struct kfeed_result res;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        assert_int_equal(feed(s, p, 100 + (int64_t)i, lines[i], &res), 0);
        assert_false(res.poison);
    }
    /* The traceback may still go on: it is held, and so is the record that logged it. */
    assert_int_equal(count_kind(&g, EV_EXCEPTION), 0);
    assert_true(kpart_holds(p));
    assert_true(kpart_safe_offset(p) <= 101);
    assert_int_equal(kpart_next_offset(p), 106);

    /* Later records end it (within a few lines, bounded by the assembler). */
    int64_t off = 106;
    while (count_kind(&g, EV_EXCEPTION) == 0 && off < 120) {
        char rec[96];
        snprintf(rec, sizeof(rec), "2026-11-24 03:22:57,%03d INFO app.api request %d ok", (int)(off - 100),
                 (int)off);
        assert_int_equal(feed(s, p, off++, rec, &res), 0);
    }
    assert_int_equal(count_kind(&g, EV_EXCEPTION), 1);
    size_t e = 0;
    while (g.kind[e] != EV_EXCEPTION)
        e++;
    assert_string_equal(g.stream[e], "kafka:orders/3");
    assert_int_equal(g.line[e], 101 + 1); /* offset + 1: the ERROR record's message */

    assert_true(kpart_safe_offset(p) > 101);
    assert_int_equal(ksrc_finish(s, p), 0);
    assert_false(kpart_holds(p));
    assert_int_equal(kpart_safe_offset(p), off);
    /* every record but the one absorbed into the exception */
    assert_int_equal(count_kind(&g, EV_LOG), (size_t)(off - 100) - 5);
    assert_int_equal(g.diags, 0);
    ksrc_destroy(s);
}

/* A trace id from headers or key and the message time fill what the payload lacks,
 * never what it has. */
static void test_trace_and_time_from_message(void **state)
{
    (void)state;
    struct got g;
    struct ksrc *s = make_src(&g, 0);
    struct kpart *p = ksrc_partition(s, "t", 0, true);
    struct kfeed_result res;
    const char *tid = "0af7651916cd43dd8448eb211c80319c";
    struct kmsg m = {.payload = "{\"level\": \"ERROR\", \"message\": \"no trace here\"}",
                     .offset = 7, .has_ts = true, .ts_ns = 1795490532000000000LL,
                     .trace_id = tid, .trace_id_len = strlen(tid)};
    m.len = strlen(m.payload);
    assert_int_equal(ksrc_feed(s, p, &m, &res), 0);
    const char *own = "{\"level\": \"ERROR\", \"message\": \"x\", \"trace_id\": \"4bf92f3577b34da6a3ce929d0e0e4736\", "
                      "\"timestamp\": \"2026-11-24T03:22:34.751574+00:00\"}";
    struct kmsg m2 = m;
    m2.payload = own;
    m2.len = strlen(own);
    m2.offset = 8;
    assert_int_equal(ksrc_feed(s, p, &m2, &res), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.trace[0], tid);
    assert_true(g.has_ts[0]);
    assert_true(g.ts[0] == 1795490532000000000LL);
    assert_int_equal(g.line[0], 8);
    assert_string_equal(g.trace[1], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_true(g.ts[1] != 1795490532000000000LL);
    assert_int_equal(kpart_safe_offset(p), 9);
    ksrc_destroy(s);
}

/* Invalid JSON, binary data and oversized messages are poison, reported with their
 * offset; the partition moves on. */
static void test_poison(void **state)
{
    (void)state;
    struct got g;
    struct ksrc *s = make_src(&g, 64);
    struct kpart *p = ksrc_partition(s, "t", 1, true);
    struct kfeed_result res;
    assert_int_equal(feed(s, p, 5, "{\"level\": \"ERROR\", \"message\": \"cut", &res), 0);
    assert_true(res.poison);
    assert_true(res.reason[0] != '\0');
    assert_string_equal(g.diag_src, "kafka:t/1@5");
    struct kmsg bin = {.payload = "\x01\x02\x00\x03", .len = 4, .offset = 6};
    assert_int_equal(ksrc_feed(s, p, &bin, &res), 0);
    assert_true(res.poison);
    char big[200];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(feed(s, p, 7, big, &res), 0);
    assert_true(res.poison);
    assert_non_null(strstr(res.reason, "over the limit"));
    assert_int_equal(feed(s, p, 8, "{\"level\": \"INFO\", \"message\": \"fine\"}", &res), 0);
    assert_false(res.poison);
    assert_int_equal(kpart_stats(p)->poison, 3);
    assert_int_equal(kpart_safe_offset(p), 9);
    ksrc_destroy(s);
}

/* JSON and text in one partition each get their own parser. */
static void test_mixed_partition(void **state)
{
    (void)state;
    struct got g;
    struct ksrc *s = make_src(&g, 0);
    struct kpart *p = ksrc_partition(s, "mixed", 0, true);
    struct kfeed_result res;
    assert_int_equal(feed(s, p, 0, "{\"level\": \"INFO\", \"message\": \"json one\"}", &res), 0);
    assert_int_equal(feed(s, p, 1, "2026-11-24 03:22:56,100 INFO app text one", &res), 0);
    assert_int_equal(feed(s, p, 2, "{\"level\": \"INFO\", \"message\": \"json two\"}", &res), 0);
    assert_int_equal(ksrc_finish(s, p), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.diags, 0);
    assert_int_equal(ksrc_partition(s, "mixed", 0, false), p);
    assert_null(ksrc_partition(s, "mixed", 1, false));
    ksrc_remove(s, p);
    assert_null(ksrc_partition_at(s, 0));
    ksrc_destroy(s);
}

static void test_source_json(void **state)
{
    (void)state;
    json_error_t err;
    json_t *f = json_loads("{\"sources\": [{\"stream\": \"kafka:t/3\", \"line\": 8}, {\"stream\": \"app.log\", \"line\": 4}],"
                           " \"evidence\": {\"timeline\": [{\"source\": {\"stream\": \"kafka:t/3\", \"line\": 1}}]}}",
                           0, &err);
    assert_non_null(f);
    kafka_source_json(f);
    json_t *s0 = json_array_get(json_object_get(f, "sources"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "stream")), "kafka:t/3@7");
    assert_null(json_object_get(s0, "line"));
    json_t *s1 = json_array_get(json_object_get(f, "sources"), 1);
    assert_string_equal(json_string_value(json_object_get(s1, "stream")), "app.log");
    assert_int_equal(json_integer_value(json_object_get(s1, "line")), 4);
    json_t *tl = json_object_get(json_array_get(json_object_get(json_object_get(f, "evidence"), "timeline"), 0), "source");
    assert_string_equal(json_string_value(json_object_get(tl, "stream")), "kafka:t/3@0");
    json_decref(f);
}

/* Two partitions merged by time: nothing later than the slowest live one goes on. */
static void test_order_merge(void **state)
{
    (void)state;
    struct got g;
    memset(&g, 0, sizeof(g));
    struct korder *o = korder_create(collect, &g, 0);
    assert_non_null(o);
    struct korder_in *a = korder_input(o), *b = korder_input(o);
    assert_non_null(a);
    assert_non_null(b);
    struct event ev;
    ev_init(&ev, EV_LOG);
    ev.has_ts = true;
    ev.src.stream = "kafka:t/0";
    static const int64_t ta[] = {1, 3, 5}, tb[] = {2, 4};
    for (int i = 0; i < 3; i++) {
        ev.ts_ns = ta[i];
        ev.src.line = (uint64_t)(10 + i) + 1;
        assert_int_equal(korder_push(a, &ev), 0);
    }
    assert_int_equal(korder_release(o, false), 0);
    assert_int_equal(g.n, 0); /* b is live and has said nothing yet */
    for (int i = 0; i < 2; i++) {
        ev.ts_ns = tb[i];
        ev.src.line = (uint64_t)(20 + i) + 1;
        assert_int_equal(korder_push(b, &ev), 0);
    }
    assert_int_equal(korder_min_offset(a), 10);
    assert_int_equal(korder_release(o, false), 0);
    assert_int_equal(g.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(g.ts[i] == (int64_t)i + 1);
    assert_int_equal(korder_pending(a), 1);
    assert_int_equal(korder_min_offset(b), -1); /* drained */
    korder_set_live(b, false);
    assert_int_equal(korder_release(o, false), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(korder_held(o), 0);
    assert_int_equal(korder_min_offset(a), -1);
    /* A released input (a revoked partition) is reused, not added to. */
    assert_int_equal(korder_input_release(b), 0);
    assert_ptr_equal(korder_input(o), b);
    korder_destroy(o);
}

static struct finding *new_finding(const char *id)
{
    struct finding *f = calloc(1, sizeof(*f));
    snprintf(f->id, sizeof(f->id), "%s", id);
    f->pattern = "error_message";
    f->rule = "test";
    f->pid = -1;
    f->title = strdup(id);
    return f;
}

/* The drain list: new findings, folds of emitted ones, and put-backs. */
static void test_finding_drain(void **state)
{
    (void)state;
    struct finding_store *st = finding_store_create(0);
    struct event ev;
    ev_init(&ev, EV_LOG);
    ev.src.stream = "kafka:t/0";
    ev.src.line = 1;
    struct finding *a = finding_store_insert(st, new_finding("aaaaaaaaaaaaaaaa"), &ev);
    struct finding *b = finding_store_insert(st, new_finding("bbbbbbbbbbbbbbbb"), &ev);
    assert_non_null(a);
    assert_non_null(b);
    size_t n;
    struct finding **ch = finding_store_changed(st, &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(ch[0], a);
    assert_int_equal(a->drained_count, 0);
    finding_store_drained(st);
    finding_store_changed(st, &n);
    assert_int_equal(n, 0);
    assert_int_equal(a->drained_count, 1);
    assert_non_null(finding_store_touch(st, a->id, &ev));
    assert_non_null(finding_store_touch(st, a->id, &ev));
    ch = finding_store_changed(st, &n);
    assert_int_equal(n, 1); /* once, however often it folded */
    assert_ptr_equal(ch[0], a);
    finding_store_drained(st);
    assert_int_equal(a->drained_count, 3);
    finding_store_mark_changed(st, b);
    ch = finding_store_changed(st, &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(ch[0], b);
    finding_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceback_across_messages),
        cmocka_unit_test(test_trace_and_time_from_message),
        cmocka_unit_test(test_poison),
        cmocka_unit_test(test_mixed_partition),
        cmocka_unit_test(test_source_json),
        cmocka_unit_test(test_order_merge),
        cmocka_unit_test(test_finding_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
