/* test_correlate.c -- the correlator and the merge: trace ids in their spellings,
 * time joins and their window, idleness, the open-trace cap, late and out-of-order
 * events, bounded timelines, origin services; the k-way merge's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "correlate/correlator.h"
#include "correlate/merge.h"
#include "correlate/traceid.h"

#define SEC 1000000000LL
#define T0 (1795490554LL * SEC)

struct closed {
    char id[33];
    size_t ntimeline;
    char services[8][CORR_NAME];
    size_t nservices;
    char origin[CORR_NAME];
    size_t nmarks;
    bool early;
    bool by_time_seen;
    uint64_t dropped;
    char first_summary[CORR_SUMMARY];
};

struct sink {
    struct closed c[64];
    size_t n;
};

static void on_closed(void *ctx, const struct corr_trace *t)
{
    struct sink *s = ctx;
    assert_true(s->n < 64);
    struct closed *c = &s->c[s->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", t->id);
    c->ntimeline = t->ntimeline;
    for (size_t i = 0; i < t->nservices && i < 8; i++)
        snprintf(c->services[c->nservices++], CORR_NAME, "%s", t->services[i]);
    if (t->origin_service)
        snprintf(c->origin, sizeof(c->origin), "%s", t->origin_service);
    c->nmarks = t->nmarks;
    c->early = t->evicted_early;
    c->dropped = t->dropped_entries;
    for (size_t i = 0; i < t->ntimeline; i++)
        c->by_time_seen |= t->timeline[i].by_time;
    if (t->ntimeline)
        snprintf(c->first_summary, sizeof(c->first_summary), "%s", t->timeline[0].summary);
}

static struct event mk(const char *trace, const char *service, int64_t ts, enum ev_level lvl, const char *msg)
{
    struct event ev;
    ev_init(&ev, EV_LOG);
    if (trace)
        ev.trace_id = ev_str_make(trace, strlen(trace));
    if (service)
        ev.service = ev_str_make(service, strlen(service));
    ev.has_ts = ts != 0;
    ev.ts_ns = ts;
    ev.level = lvl;
    ev.message = ev_str_make(msg, strlen(msg));
    ev.src.stream = "test.log";
    ev.src.line = 1;
    return ev;
}

/* Feed an event and mark it (as a detector's finding would). */
static const struct event *feed(struct correlator *c, const struct event *ev, void *mark)
{
    const struct event *out;
    assert_int_equal(corr_event(c, ev, &out), 0);
    if (mark)
        assert_int_equal(corr_mark_last(c, mark), 0);
    return out;
}

static int tag_a, tag_b;

static void test_id_spellings_meet(void **state)
{
    (void)state;
    /* One trace written three ways: W3C hex, Datadog decimal (low 64 bits), GCP. */
    char w3c[33], dd[33], gcp[33];
    assert_int_equal(traceid_normalize("8B9D2434E465E150BD9C66B3AD3C2D6D", 32, w3c), 32);
    const char *dec = "13662908291426823533"; /* 0xbd9c66b3ad3c2d6d */
    assert_int_equal(traceid_normalize(dec, strlen(dec), dd), 16);
    const char *g = "projects/shop-prod/traces/8b9d2434e465e150bd9c66b3ad3c2d6d";
    assert_int_equal(traceid_normalize(g, strlen(g), gcp), 32);
    assert_string_equal(dd, "bd9c66b3ad3c2d6d");
    struct sink s = {0};
    struct correlator *c = corr_create(NULL, on_closed, &s);
    struct event a = mk(dd, "inventory", T0 + 1000, EV_LVL_INFO, "reserved");
    struct event b = mk(w3c, "gateway", T0 + 2000, EV_LVL_INFO, "request received");
    struct event d = mk(gcp, "payments", T0 + 3000, EV_LVL_ERROR, "charge failed");
    feed(c, &a, NULL);
    feed(c, &b, NULL);
    feed(c, &d, &tag_a);
    assert_int_equal(corr_open_traces(c), 1);
    corr_finish(c);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.c[0].id, "8b9d2434e465e150bd9c66b3ad3c2d6d"); /* the full id wins */
    assert_int_equal(s.c[0].ntimeline, 3);
    assert_string_equal(s.c[0].origin, "payments");
    corr_destroy(c);
}

static void test_time_join_window(void **state)
{
    (void)state;
    struct sink s = {0};
    struct corr_config cfg = {.window_ns = 2 * SEC};
    struct correlator *c = corr_create(&cfg, on_closed, &s);
    struct event a = mk("0af7651916cd43dd8448eb211c80319c", "billing", T0, EV_LVL_INFO, "started");
    a.pid = 42;
    feed(c, &a, NULL);
    /* An error of the same process 1 s later, without a trace id: joined. */
    struct event e = mk(NULL, "billing", T0 + SEC, EV_LVL_ERROR, "failed");
    e.pid = 42;
    const struct event *out = feed(c, &e, &tag_a);
    assert_true(ev_str_eq(out->trace_id, "0af7651916cd43dd8448eb211c80319c"));
    /* An INFO record is not a failure: not joined. */
    struct event i = mk(NULL, "billing", T0 + SEC, EV_LVL_INFO, "health check");
    i.pid = 42;
    out = feed(c, &i, NULL);
    assert_false(ev_str_present(out->trace_id));
    /* Another process: not joined. */
    struct event o = mk(NULL, "billing", T0 + SEC, EV_LVL_ERROR, "other pid");
    o.pid = 43;
    out = feed(c, &o, NULL);
    assert_false(ev_str_present(out->trace_id));
    /* Outside the window: not joined. */
    struct event late = mk(NULL, "billing", T0 + 5 * SEC, EV_LVL_ERROR, "much later");
    late.pid = 42;
    out = feed(c, &late, NULL);
    assert_false(ev_str_present(out->trace_id));
    assert_int_equal(corr_get_stats(c)->joined_by_time, 1);
    corr_finish(c);
    assert_int_equal(s.n, 1);
    assert_true(s.c[0].by_time_seen);
    corr_destroy(c);
}

static void test_idle_close_and_late_events(void **state)
{
    (void)state;
    struct sink s = {0};
    struct corr_config cfg = {.idle_ns = 10 * SEC, .lateness_ns = 2 * SEC};
    struct correlator *c = corr_create(&cfg, on_closed, &s);
    struct event a = mk("11111111111111111111111111111111", "a", T0, EV_LVL_ERROR, "first");
    feed(c, &a, &tag_a);
    /* Out of order by 1 s (within the lateness): same trace, not late. */
    struct event b = mk("22222222222222222222222222222222", "b", T0 + 3 * SEC, EV_LVL_INFO, "b");
    feed(c, &b, NULL);
    struct event a2 = mk("11111111111111111111111111111111", "a", T0 + 2 * SEC, EV_LVL_INFO, "second");
    feed(c, &a2, NULL);
    assert_int_equal(corr_get_stats(c)->late_events, 0);
    assert_int_equal(s.n, 0);
    /* The watermark passes idle + lateness beyond trace 1's last event: it closes. */
    struct event far = mk("33333333333333333333333333333333", "c", T0 + 15 * SEC, EV_LVL_INFO, "later");
    feed(c, &far, NULL);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.c[0].id, "11111111111111111111111111111111");
    assert_int_equal(s.c[0].ntimeline, 2);
    assert_false(s.c[0].early);
    /* An event older than watermark - lateness is counted late; its closed trace
     * opens afresh rather than resurrecting the old state. */
    struct event old = mk("11111111111111111111111111111111", "a", T0 + 4 * SEC, EV_LVL_ERROR, "stray");
    feed(c, &old, &tag_b);
    assert_int_equal(corr_get_stats(c)->late_events, 1);
    corr_finish(c);
    assert_int_equal(s.n, 2); /* traces without marks are not reported */
    assert_string_equal(s.c[1].first_summary, "stray");
    corr_destroy(c);
}

/* A timeline entry of an exception says what failed: for a carrier of a worker's
 * traceback (Celery's), the worker's outermost exception. */
static void test_carrier_summary(void **state)
{
    (void)state;
    struct sink s = {0};
    struct correlator *c = corr_create(NULL, on_closed, &s);
    struct ev_exc worker[2] = {
        {.type = EV_STR_LIT("ValueError"), .message = EV_STR_LIT("not json")},
        {.type = EV_STR_LIT("LookupError"), .message = EV_STR_LIT("order payload unreadable"),
         .relation = EV_REL_CAUSE},
    };
    struct ev_chain remote = {worker, 2};
    struct ev_exc carrier = {.type = EV_STR_LIT("billiard.einfo.ExceptionWithTraceback"),
                             .message = EV_STR_LIT("\n\"\"\"\nTraceback ...\n\"\"\""),
                             .remote = &remote};
    struct event e = mk("e729a1a873f640e78ab82197b43da558", "worker", T0, EV_LVL_ERROR, "Task raised");
    e.kind = EV_EXCEPTION;
    e.u.exc.chain = (struct ev_chain){&carrier, 1};
    feed(c, &e, &tag_a);
    corr_finish(c);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.c[0].first_summary, "LookupError: order payload unreadable");
    corr_destroy(c);
}

static void test_cap_evicts_oldest(void **state)
{
    (void)state;
    struct sink s = {0};
    struct corr_config cfg = {.max_traces = 4};
    struct correlator *c = corr_create(&cfg, on_closed, &s);
    static int tags[10];
    for (int i = 0; i < 10; i++) {
        char id[33];
        snprintf(id, sizeof(id), "%032x", i + 1);
        struct event e = mk(id, "svc", T0 + i * 1000, EV_LVL_ERROR, "boom");
        feed(c, &e, &tags[i]);
        assert_true(corr_open_traces(c) <= 4);
    }
    assert_int_equal(corr_get_stats(c)->evicted_early, 6);
    assert_int_equal(s.n, 6);
    assert_true(s.c[0].early);
    assert_string_equal(s.c[0].id, "00000000000000000000000000000001"); /* oldest first */
    corr_finish(c);
    assert_int_equal(s.n, 10);
    corr_destroy(c);
}

/* Thousands of traces (more than one chunk of the trace pool), some of them first
 * seen without a time, closed three ways: by idleness as the clock moves, by a jump
 * of the clock past the whole ring, and at the end (the untimed). Each is reported
 * once, with all of its entries. */
struct tally {
    unsigned char seen[3000];
    size_t closed, entries, twice;
};

static void on_tally(void *ctx, const struct corr_trace *t)
{
    struct tally *y = ctx;
    unsigned i = (unsigned)strtoul(t->id, NULL, 16) - 1;
    assert_true(i < 3000);
    if (y->seen[i]++)
        y->twice++;
    y->closed++;
    y->entries += t->ntimeline;
    assert_int_equal(t->ntimeline, i % 3 + 1);
}

static void test_many_traces_close_once(void **state)
{
    (void)state;
    static struct tally y;
    memset(&y, 0, sizeof(y));
    struct corr_config cfg = {.idle_ns = 2 * SEC, .lateness_ns = 1 * SEC};
    struct correlator *c = corr_create(&cfg, on_tally, &y);
    static int tag;
    size_t want_entries = 0;
    int untimed = 0;
    for (int i = 0; i < 3000; i++) {
        char id[33];
        snprintf(id, sizeof(id), "%032x", i + 1);
        for (int k = 0; k <= i % 3; k++) {
            /* Every fifth trace starts untimed; with one entry it stays so. */
            int64_t ts = k == 0 && i % 5 == 0 ? 0 : T0 + (int64_t)i * 2000000;
            struct event e = mk(id, "svc", ts, EV_LVL_ERROR, "boom");
            feed(c, &e, &tag);
            want_entries++;
        }
        untimed += i % 5 == 0 && i % 3 == 0;
    }
    size_t by_idleness = y.closed;
    assert_true(by_idleness > 1000); /* the clock moved 6 s; traces idle 3 s close */
    struct event far = mk("ffffffffffffffffffffffffffffffff", "svc", T0 + 10000 * SEC, EV_LVL_INFO, "later");
    feed(c, &far, NULL);
    assert_int_equal(y.closed, 3000 - untimed); /* the jump closed every timed one */
    assert_int_equal(corr_open_traces(c), (size_t)untimed + 1);
    corr_finish(c);
    assert_int_equal(y.closed, 3000);
    assert_int_equal(y.twice, 0);
    assert_int_equal(y.entries, want_entries);
    corr_destroy(c);
}

static void test_timeline_bounded_keeps_errors(void **state)
{
    (void)state;
    struct sink s = {0};
    struct corr_config cfg = {.max_timeline = 5};
    struct correlator *c = corr_create(&cfg, on_closed, &s);
    const char *id = "44444444444444444444444444444444";
    for (int i = 0; i < 100; i++) {
        struct event e = mk(id, "svc", T0 + i * 1000, EV_LVL_INFO, "noise");
        feed(c, &e, NULL);
    }
    struct event err = mk(id, "worker", T0 + 200000, EV_LVL_ERROR, "the failure");
    feed(c, &err, &tag_a);
    corr_finish(c);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0].ntimeline, 5);
    assert_int_equal(s.c[0].dropped, 96);
    assert_string_equal(s.c[0].origin, "worker"); /* the error survived the bound */
    corr_destroy(c);
}

static void test_origin_is_earliest_error(void **state)
{
    (void)state;
    struct sink s = {0};
    struct correlator *c = corr_create(NULL, on_closed, &s);
    const char *id = "55555555555555555555555555555555";
    /* Arrival order differs from time order: the gateway's error arrives first
     * but happened last. */
    struct event g = mk(id, "gateway", T0 + 900, EV_LVL_ERROR, "503");
    struct event o = mk(id, "orders", T0 + 800, EV_LVL_ERROR, "order failed");
    struct event p = mk(id, "payments", T0 + 700, EV_LVL_ERROR, "timeout");
    struct event r = mk(id, "gateway", T0 + 100, EV_LVL_INFO, "request");
    feed(c, &g, &tag_a);
    feed(c, &o, NULL);
    feed(c, &p, &tag_b);
    feed(c, &r, NULL);
    corr_finish(c);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.c[0].origin, "payments");
    assert_int_equal(s.c[0].nservices, 3);
    assert_string_equal(s.c[0].services[0], "gateway"); /* by time: the request came first */
    assert_string_equal(s.c[0].services[1], "payments");
    assert_int_equal(s.c[0].nmarks, 2);
    corr_destroy(c);
}

static void test_service_inferred_from_logger(void **state)
{
    (void)state;
    struct corr_config cfg = {.infer_service = true};
    struct correlator *c = corr_create(&cfg, NULL, NULL);
    struct event e = mk(NULL, NULL, T0, EV_LVL_INFO, "x");
    e.logger = EV_STR_LIT("payments.acquirer");
    const struct event *out = feed(c, &e, NULL);
    assert_true(ev_str_eq(out->service, "payments"));
    e.logger = EV_STR_LIT("root");
    out = feed(c, &e, NULL);
    assert_false(ev_str_present(out->service));
    e.logger = EV_STR_LIT("taskinstance.py"); /* Airflow's "{taskinstance.py:1851}": a file */
    out = feed(c, &e, NULL);
    assert_false(ev_str_present(out->service));
    corr_destroy(c);
}

static void test_merge_order(void **state)
{
    (void)state;
    struct merge *m = merge_create();
    struct merge_cursor *a = merge_add(m), *b = merge_add(m);
    int64_t ta[] = {10, 30, 50}, tb[] = {20, 40};
    for (size_t i = 0; i < 3; i++) {
        struct event e = mk(NULL, "a", T0 + ta[i], EV_LVL_INFO, "a");
        assert_int_equal(merge_push(a, &e), 0);
    }
    for (size_t i = 0; i < 2; i++) {
        struct event e = mk(NULL, "b", T0 + tb[i], EV_LVL_INFO, "b");
        assert_int_equal(merge_push(b, &e), 0);
    }
    /* An untimed event sorts where its input was. */
    struct event u = mk(NULL, "b", 0, EV_LVL_INFO, "untimed");
    assert_int_equal(merge_push(b, &u), 0);
    int64_t want[] = {10, 20, 30, 40, 40, 50};
    for (size_t i = 0; i < 6; i++) {
        struct merge_cursor *from;
        const struct event *e = merge_peek(m, &from);
        assert_non_null(e);
        assert_int_equal(e->ts_ns, T0 + want[i]);
        if (i == 4)
            assert_false(e->has_ts);
        merge_pop(from);
    }
    struct merge_cursor *from;
    assert_null(merge_peek(m, &from));
    assert_int_equal(merge_bytes(m) < 100000, 1);
    merge_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_spellings_meet),
        cmocka_unit_test(test_time_join_window),
        cmocka_unit_test(test_idle_close_and_late_events),
        cmocka_unit_test(test_cap_evicts_oldest),
        cmocka_unit_test(test_carrier_summary),
        cmocka_unit_test(test_many_traces_close_once),
        cmocka_unit_test(test_timeline_bounded_keeps_errors),
        cmocka_unit_test(test_origin_is_earliest_error),
        cmocka_unit_test(test_service_inferred_from_logger),
        cmocka_unit_test(test_merge_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
