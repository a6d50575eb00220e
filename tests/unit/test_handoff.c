/* test_handoff.c -- events cross from a parsing thread to the analysis thread
 * unchanged and in order: packed log events with any mix of strings (absent and
 * empty told apart), plain lines (struct ev_line) with and without each slice,
 * too long or with a pid too large for their compact record, records larger
 * than a batch, exception events deep-copied,
 * diagnostics in their place, stream names that change (announced or not, one
 * buffer reused for new names), and an early cancel. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/handoff.h"

#define NITEMS 20000

/* The items as the old interface gave them: 1 an event, 2 a diagnostic, 0 the end. */
static int next_item(struct handoff *h, const struct event **ev, int *kind, const char **stream, uint64_t *line,
                     const char **text)
{
    struct handoff_item it;
    enum handoff_kind k = handoff_next(h, &it);
    if (k == HO_EVENT)
        *ev = it.ev;
    if (k == HO_DIAG) {
        *kind = it.diag_kind;
        *stream = it.stream;
        *line = it.line;
        *text = it.text;
    }
    assert_true(k != HO_RAW);
    return k == HO_EVENT ? 1 : k == HO_DIAG ? 2 : 0;
}
#define BIG (300u << 10)

static char *big_text;

/* A plain line for item i: "<time> LEVEL logger [thread] message" with the logger,
 * thread and stream name each there or not; some too long or with a 64-bit pid. */
static void make_line(int i, struct ev_line *l, char *buf, size_t cap)
{
    bool logger = i % 3 != 0, thread = i % 4 == 1, huge = i % 5003 == 11;
    int n = snprintf(buf, cap, "2024-05-01 10:00:00,%03d INFO ", i % 1000);
    memset(l, 0, sizeof(*l));
    if (logger) {
        l->logger_off = (uint32_t)n;
        n += snprintf(buf + n, cap - (size_t)n, "app.mod%d", i % 13);
        l->logger_len = (uint32_t)n - l->logger_off;
        buf[n++] = ' ';
    }
    if (thread) {
        buf[n++] = '[';
        l->thread_off = (uint32_t)n;
        n += snprintf(buf + n, cap - (size_t)n, "worker-%d", i % 7);
        l->thread_len = (uint32_t)n - l->thread_off;
        buf[n++] = ']';
        buf[n++] = ' ';
    }
    l->msg_off = (uint32_t)n;
    if (huge) {
        memset(buf + n, 'x', 70000); /* past a compact record's 16-bit offsets */
        n += 70000;
    } else {
        n += snprintf(buf + n, cap - (size_t)n, "line %d done%.*s", i, i % 50,
                      "01234567890123456789012345678901234567890123456789");
    }
    l->p = buf;
    l->len = (uint32_t)n;
    l->has_ts = i % 2 == 0;
    l->ts_ns = l->has_ts ? 1700000000000000000LL + i : 0;
    l->level = (uint8_t)(i % 8);
    l->pid = i % 6 == 0 ? -1 : i % 6 == 1 ? (int64_t)1 << 40 : 4000 + i; /* 2^40: not 32 bits */
    l->lineno = (uint64_t)i + 1;
    if (i % 5 == 2) {
        l->stream_name = "stderr";
        l->stream_name_len = 6;
    }
}

/* Item i, built the same way on both sides. Returns 0 for an event, 1 for a
 * diagnostic, 2 for a plain line (in *line; *ev is its event). strs holds the
 * event's strings, linebuf the line. */
static int make_item(int i, struct event *ev, char strs[8][64], struct ev_exc *exc, struct ev_frame *fr,
                     struct ev_line *line, char *linebuf, size_t linecap)
{
    ev_init(ev, i % 11 == 5 ? EV_EXCEPTION : EV_LOG);
    ev->level = (enum ev_level)(i % 8);
    ev->has_ts = i % 3 != 0;
    ev->ts_ns = ev->has_ts ? 1700000000000000000LL + i : 0;
    ev->pid = i % 5 == 0 ? -1 : 1000 + i;
    ev->src.line = (uint64_t)i + 1;
    /* Three stream names; the third is rebuilt in one buffer with new text, the
     * case of a name freed and another made at the same address. */
    static _Thread_local char reused[32]; /* per side: both build items */
    if (i % 1000 < 400)
        ev->src.stream = "a.log";
    else if (i % 1000 < 700)
        ev->src.stream = "archive.tar.zst!b.log";
    else {
        snprintf(reused, sizeof(reused), "c%d.log", i / 100);
        ev->src.stream = reused;
    }
    if (i % 97 == 13)
        return 1; /* a diagnostic; the stream name above is still this item's */
    if (i % 11 == 3 || i % 11 == 4) {
        /* Lines right after packed events with every string, so a field a line
         * leaves absent shows if the consumer's event kept it. */
        const char *stream = ev->src.stream;
        make_line(i, line, linebuf, linecap);
        line->stream = stream;
        ev_init(ev, EV_LOG);
        ev_from_line(ev, line);
        return 2;
    }
    ev_str *f[8] = {&ev->service, &ev->host, &ev->logger, &ev->thread,
                    &ev->message, &ev->trace_id, &ev->span_id, &ev->stream_name};
    for (int k = 0; k < 8; k++) {
        int mode = (i * 7 + k * 3) % 5; /* 0: absent, 1: empty, else text */
        if (mode == 0)
            continue;
        int n = mode == 1 ? 0 : snprintf(strs[k], 64, "s%d-%d%.*s", k, i, i % 40, "0123456789012345678901234567890123456789");
        *f[k] = ev_str_make(strs[k], (size_t)n);
    }
    if (i % 4001 == 7)
        ev->message = ev_str_make(big_text, BIG); /* larger than a batch buffer */
    if (ev->kind == EV_EXCEPTION) {
        memset(exc, 0, sizeof(*exc));
        exc->type = ev_str_make("ValueError", 10);
        exc->message = ev_str_make(strs[0], strlen(strs[0]));
        fr->file = ev_str_make("/app/x.py", 9);
        fr->function = ev_str_make("f", 1);
        fr->line = (uint32_t)i;
        exc->frames = fr;
        exc->nframes = 1;
        ev->u.exc.chain.exc = exc;
        ev->u.exc.chain.n = 1;
    }
    return 0;
}

/* Slices are not NUL-terminated (event.h); packed strings happen to be, and are
 * checked for it, lines are not. */
static bool expect_nul = true;

static void str_equal(ev_str got, ev_str want)
{
    assert_true((got.ptr == NULL) == (want.ptr == NULL));
    assert_int_equal(got.len, want.len);
    if (want.ptr != NULL) {
        assert_memory_equal(got.ptr, want.ptr, want.len);
        if (expect_nul)
            assert_int_equal(got.ptr[got.len], '\0');
    }
}

#define LINECAP 72000

struct producer {
    struct handoff *h;
    int upto;
    bool slow; /* pause now and then, so the consumer waits */
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->upto; i++) {
        struct event ev;
        char strs[8][64];
        struct ev_exc exc;
        struct ev_frame fr;
        struct ev_line line;
        static _Thread_local char linebuf[LINECAP];
        int rc;
        int is_diag = make_item(i, &ev, strs, &exc, &fr, &line, linebuf, sizeof(linebuf));
        /* Announce some names (the pipeline does, per stream), among them the
         * reused buffer each time it holds a new name; the rest go unannounced. */
        if (i % 1000 == 0 || (i % 1000 >= 700 && i % 100 == 0))
            handoff_stream(p->h, ev.src.stream);
        if (is_diag == 1) {
            char text[32];
            snprintf(text, sizeof(text), "diag %d", i);
            rc = handoff_diag(p->h, i % 2, i % 4 ? "d.log" : NULL, (uint64_t)i, text);
        } else if (is_diag == 2) {
            rc = handoff_line(p->h, &line);
        } else {
            rc = handoff_event(p->h, &ev);
        }
        if (rc != 0)
            break; /* cancelled */
        if (p->slow && i % 2000 == 1999)
            usleep(2000);
    }
    handoff_close(p->h);
    return NULL;
}

static void test_events_cross_unchanged(void **state)
{
    (void)state;
    struct handoff *h = handoff_create();
    assert_non_null(h);
    struct producer p = {h, NITEMS};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
    int i = 0, got;
    const struct event *ev;
    int kind;
    const char *stream, *text;
    uint64_t line;
    while ((got = next_item(h, &ev, &kind, &stream, &line, &text)) != 0) {
        struct event want;
        char strs[8][64];
        struct ev_exc exc;
        struct ev_frame fr;
        struct ev_line want_line;
        static char linebuf[LINECAP];
        int is_diag = make_item(i, &want, strs, &exc, &fr, &want_line, linebuf, sizeof(linebuf));
        expect_nul = is_diag != 2;
        if (got != (is_diag == 1 ? 2 : 1))
            fail_msg("item %d: got %d, want item kind %d", i, got, is_diag);
        if (is_diag == 1) {
            char t[32];
            snprintf(t, sizeof(t), "diag %d", i);
            assert_string_equal(text, t);
            assert_int_equal(kind, i % 2);
            assert_int_equal(line, (uint64_t)i);
            if (i % 4)
                assert_string_equal(stream, "d.log");
            else
                assert_null(stream);
        } else {
            assert_int_equal(ev->kind, want.kind);
            assert_int_equal(ev->level, want.level);
            assert_int_equal(ev->has_ts, want.has_ts);
            assert_true(ev->ts_ns == want.ts_ns);
            assert_true(ev->pid == want.pid);
            assert_int_equal(ev->src.line, want.src.line);
            assert_string_equal(ev->src.stream, want.src.stream);
            str_equal(ev->service, want.service);
            str_equal(ev->host, want.host);
            str_equal(ev->logger, want.logger);
            str_equal(ev->thread, want.thread);
            str_equal(ev->message, want.message);
            str_equal(ev->trace_id, want.trace_id);
            str_equal(ev->span_id, want.span_id);
            str_equal(ev->stream_name, want.stream_name);
            if (want.kind == EV_EXCEPTION) {
                assert_int_equal(ev->u.exc.chain.n, 1);
                str_equal(ev->u.exc.chain.exc[0].type, exc.type);
                assert_int_equal(ev->u.exc.chain.exc[0].frames[0].line, (uint32_t)i);
            } else {
                assert_null(ev->u.exc.chain.exc);
            }
        }
        i++;
    }
    assert_int_equal(i, NITEMS);
    pthread_join(th, NULL);
    handoff_destroy(h);
}

/* The consumer stops early: the producer's next call fails instead of blocking,
 * and both threads finish. */
static void test_cancel_releases_the_producer(void **state)
{
    (void)state;
    struct handoff *h = handoff_create();
    struct producer p = {h, NITEMS * 10};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
    const struct event *ev;
    int kind, n = 0;
    const char *stream, *text;
    uint64_t line;
    while (n < 100 && next_item(h, &ev, &kind, &stream, &line, &text) != 0)
        n++;
    assert_int_equal(n, 100);
    handoff_cancel(h);
    while (next_item(h, &ev, &kind, &stream, &line, &text) != 0)
        n++; /* drain, as the pipeline does */
    assert_true(n < NITEMS * 10);
    pthread_join(th, NULL);
    handoff_destroy(h);
}

/* Help work (handoff_set_help) is done by a side that waits: a consumer whose
 * producer pauses takes every unit there is, and the events still cross unchanged. */
static atomic_int help_left;
static atomic_int help_done;

static int help_unit(void *ctx)
{
    (void)ctx;
    if (atomic_fetch_sub(&help_left, 1) <= 0) {
        atomic_fetch_add(&help_left, 1);
        return 0;
    }
    atomic_fetch_add(&help_done, 1);
    return 1;
}

static void test_waiting_side_helps(void **state)
{
    (void)state;
    atomic_store(&help_left, 300);
    atomic_store(&help_done, 0);
    struct handoff *h = handoff_create();
    assert_non_null(h);
    handoff_set_help(h, help_unit, NULL);
    struct producer p = {h, NITEMS, true};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
    const struct event *ev;
    int kind, n = 0, got;
    const char *stream, *text;
    uint64_t line;
    while ((got = next_item(h, &ev, &kind, &stream, &line, &text)) != 0) {
        if (got == 1)
            assert_int_equal(ev->src.line, (uint64_t)n + 1);
        n++;
    }
    assert_int_equal(n, NITEMS);
    pthread_join(th, NULL);
    handoff_destroy(h);
    assert_int_equal(atomic_load(&help_done), 300);
    assert_int_equal(atomic_load(&help_left), 0);
}

static const char RAW_PARSER[] = "parser";

static void push_log(struct handoff *h, uint64_t line)
{
    struct event ev;
    ev_init(&ev, EV_LOG);
    ev.src.stream = "s.jsonl";
    ev.src.line = line;
    ev.message = ev_str_make("m", 1);
    assert_int_equal(handoff_event(h, &ev), 0);
}

/* Lines go raw only in the share the consumer earned: none before a batch was
 * published to a consumer that had taken everything; one in 64 after one such
 * batch; no more after a batch published while another still waited. */
static void test_offload_share(void **state)
{
    (void)state;
    struct handoff *h = handoff_create();
    assert_non_null(h);
    for (int i = 0; i < 200; i++)
        assert_false(handoff_offload(h));
    uint64_t line = 0;
    for (int i = 0; i <= 1024; i++)
        push_log(h, ++line); /* the 1025th publishes the first 1024 (none was waiting) */
    int raw = 0;
    for (int i = 0; i < 640; i++)
        raw += handoff_offload(h);
    assert_int_equal(raw, 10);
    for (int i = 0; i < 1024; i++)
        push_log(h, ++line); /* publishes the second while the first waits */
    raw = 0;
    for (int i = 0; i < 640; i++)
        raw += handoff_offload(h);
    assert_int_equal(raw, 10);
    /* A raw line between events, and its bytes, line and stream. */
    static const char text[] = "{\"msg\": \"raw\"}";
    assert_int_equal(handoff_raw(h, RAW_PARSER, "s.jsonl", text, sizeof(text) - 1, ++line), 0);
    push_log(h, ++line);
    handoff_close(h);
    struct handoff_item it;
    enum handoff_kind k;
    uint64_t want = 1;
    while ((k = handoff_next(h, &it)) != HO_END) {
        if (want == line - 1) {
            assert_int_equal(k, HO_RAW);
            assert_int_equal(it.len, sizeof(text) - 1);
            assert_memory_equal(it.text, text, it.len);
            assert_int_equal(it.line, want);
            assert_string_equal(it.stream, "s.jsonl");
            assert_ptr_equal(it.parser, RAW_PARSER);
        } else {
            assert_int_equal(k, HO_EVENT);
            assert_int_equal(it.ev->src.line, want);
        }
        want++;
    }
    assert_int_equal(want, line + 1);
    handoff_destroy(h);
}

struct raw_producer {
    struct handoff *h;
    int n;
    int raw; /* lines sent raw */
};

static void *produce_mixed(void *arg)
{
    struct raw_producer *p = arg;
    char buf[64];
    for (int i = 0; i < p->n; i++) {
        if (handoff_offload(p->h)) {
            int len = snprintf(buf, sizeof(buf), "line %d", i);
            if (handoff_raw(p->h, RAW_PARSER, i % 1000 < 500 ? "a.jsonl" : "b.jsonl", buf, (size_t)len,
                            (uint64_t)i + 1) != 0)
                break;
            p->raw++;
        } else {
            push_log(p->h, (uint64_t)i + 1);
        }
    }
    handoff_close(p->h);
    return NULL;
}

/* Across threads, raw lines and events come out in the order they went in, each
 * raw line with its bytes and stream. */
static void test_raw_lines_in_order(void **state)
{
    (void)state;
    struct handoff *h = handoff_create();
    assert_non_null(h);
    struct raw_producer p = {h, 200000, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, produce_mixed, &p), 0);
    struct handoff_item it;
    enum handoff_kind k;
    uint64_t want = 1;
    int raw = 0;
    char buf[64];
    while ((k = handoff_next(h, &it)) != HO_END) {
        if (k == HO_RAW) {
            int len = snprintf(buf, sizeof(buf), "line %d", (int)want - 1);
            assert_int_equal(it.len, (size_t)len);
            assert_memory_equal(it.text, buf, it.len);
            assert_int_equal(it.line, want);
            assert_string_equal(it.stream, (want - 1) % 1000 < 500 ? "a.jsonl" : "b.jsonl");
            raw++;
        } else {
            assert_int_equal(k, HO_EVENT);
            assert_int_equal(it.ev->src.line, want);
        }
        want++;
    }
    pthread_join(th, NULL);
    assert_int_equal(want, 200001);
    assert_int_equal(raw, p.raw);
    handoff_destroy(h);
}

int main(void)
{
    big_text = malloc(BIG);
    if (big_text == NULL)
        return 1;
    for (size_t i = 0; i < BIG; i++)
        big_text[i] = (char)('a' + i % 26);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_cross_unchanged),
        cmocka_unit_test(test_cancel_releases_the_producer),
        cmocka_unit_test(test_waiting_side_helps),
        cmocka_unit_test(test_offload_share),
        cmocka_unit_test(test_raw_lines_in_order),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(big_text);
    return rc;
}
