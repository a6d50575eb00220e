/* test_framing.c -- collectors' line prefixes (parsers/framing.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parsers/framing.h"

static void slice_is(const char *p, size_t n, const char *want)
{
    if (want == NULL) {
        assert_null(p);
        return;
    }
    if (p == NULL || n != strlen(want) || memcmp(p, want, n) != 0)
        fail_msg("got '%.*s', want '%s'", (int)n, p ? p : "", want);
}

struct fcase {
    const char *line;
    enum framing kind;    /* what the line is detected as */
    const char *source, *service, *host;
    int64_t pid;
    const char *content;
};

static const struct fcase cases[] = {
    /* docker compose: v2 and v1 replica names, the name padded, an empty line */
    {"web-1     | 2026-12-07 10:00:00,130 ERROR app.web failed", FR_COMPOSE, "web-1", "web", NULL, -1,
     "2026-12-07 10:00:00,130 ERROR app.web failed"},
    {"db_worker_12 | Traceback (most recent call last):", FR_COMPOSE, "db_worker_12", "db_worker", NULL, -1,
     "Traceback (most recent call last):"},
    {"nginx |", FR_COMPOSE, "nginx", "nginx", NULL, -1, ""},
    {"api2  | x", FR_COMPOSE, "api2", "api2", NULL, -1, "x"}, /* no separator: the number is the name's */
    /* not compose: a level padded before '|' (loguru without its time), a date, no blank */
    {"INFO     | __main__:f:3 - x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    {"2026-12-07 | x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    {"web| x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    /* journalctl -o short: a day padded with a blank or a zero; no pid */
    {"Dec  7 10:00:00 host1 gunicorn[1234]: Traceback (most recent call last):", FR_JOURNAL, "host1 gunicorn[1234]",
     "gunicorn", "host1", 1234, "Traceback (most recent call last):"},
    {"Jan 07 23:59:59 vm kernel: Out of memory: Killed process 42 (python3)", FR_JOURNAL, "vm kernel", "kernel", "vm",
     -1, "Out of memory: Killed process 42 (python3)"},
    {"Dec 08 00:59:13 shop-vm1 shop-web[8369]: ", FR_JOURNAL, "shop-vm1 shop-web[8369]", "shop-web", "shop-vm1", 8369,
     ""},
    /* -o short-iso, with the time (and its zone) */
    {"2026-12-08T00:59:13+0000 shop-vm1 shop-web[8369]: x", FR_JOURNAL, "shop-vm1 shop-web[8369]", "shop-web",
     "shop-vm1", 8369, "x"},
    /* not the journal: Python's "time LEVEL name: msg", a time without its zone */
    {"2026-12-08T00:59:13+0000 INFO app: x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    {"2026-12-08T00:59:13 host app[1]: x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    {"Dec 08 00:59:13 host app[12x]: x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    /* kubectl logs --prefix */
    {"[pod/web-7d9f8c6b5-x2kqp/app] KeyError: 'qty'", FR_KUBECTL, "pod/web-7d9f8c6b5-x2kqp/app", "app",
     "web-7d9f8c6b5-x2kqp", -1, "KeyError: 'qty'"},
    {"[pod/web/] x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    /* heroku logs (logplex): the dyno, and its process type */
    {"2026-12-08T01:05:57.238800+00:00 app[worker.1]: ConnectionError: x", FR_HEROKU, "app[worker.1]", "worker",
     "worker.1", -1, "ConnectionError: x"},
    {"2026-12-08T01:05:57.438800+00:00 heroku[router]: at=error code=H10", FR_HEROKU, "heroku[router]", "router",
     "router", -1, "at=error code=H10"},
    /* a CI runner's log: one writer, the time only */
    {"2026-12-08T01:05:57.2362341Z   File \"/srv/a.py\", line 3, in f", FR_TIMESTAMPED, "", NULL, NULL, -1,
     "  File \"/srv/a.py\", line 3, in f"},
    /* docker logs -t: nine digits; after compose's prefix (compose logs -t) */
    {"2026-12-08T01:05:57.236234100Z Traceback (most recent call last):", FR_TIMESTAMPED, "", NULL, NULL, -1,
     "Traceback (most recent call last):"},
    {"web-1  | 2026-12-08T01:05:57.236234100Z KeyError: 'qty'", FR_COMPOSE, "web-1", "web", NULL, -1,
     "KeyError: 'qty'"},
    {"[pod/web-7d9f/app] 2026-12-08T01:05:57.236234100Z x", FR_KUBECTL, "pod/web-7d9f/app", "app", "web-7d9f", -1,
     "x"},
    /* Ray's driver printing its workers' lines: a task's name, the node's ip */
    {"(f pid=31071) starting shard 3", FR_RAY, "f pid=31071", "f", NULL, 31071, "starting shard 3"},
    {"(train_loop pid=31072, ip=10.0.0.2) RuntimeError: x", FR_RAY, "train_loop pid=31072, ip=10.0.0.2",
     "train_loop", "10.0.0.2", 31072, "RuntimeError: x"},
    {"(pid=45601) task", FR_RAY, "pid=45601", NULL, NULL, 45601, "task"},
    /* not a runner's: Python's six digits, ten digits */
    {"2026-12-08T01:05:57.236234Z INFO x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    {"2026-12-08T01:05:57.2362341001Z x", FR_NONE, NULL, NULL, NULL, -1, NULL},
    {"[pod/a b/c] x", FR_NONE, NULL, NULL, NULL, -1, NULL},
};

static void test_detect_and_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct fcase *c = &cases[i];
        size_t n = strlen(c->line);
        enum framing k = framing_detect(c->line, n);
        if (k == FR_NONE && c->kind == FR_RAY && c->line[0] == '(')
            k = FR_RAY; /* not detected from a first line (textlog looks at every line) */
        if (k != c->kind)
            fail_msg("'%s': detected %d, want %d", c->line, (int)k, (int)c->kind);
        if (k == FR_NONE)
            continue;
        struct framed f;
        assert_true(framing_parse(k, c->line, n, &f));
        slice_is(f.source, f.source_len, c->source);
        slice_is(f.service, f.service_len, c->service);
        slice_is(f.host, f.host_len, c->host);
        assert_int_equal(f.pid, c->pid);
        slice_is(c->line + f.content_off, n - f.content_off, c->content);
    }
}

/* Only the short-iso journal carries a time; each kind reads only its own lines. */
static void test_time_and_kinds(void **state)
{
    (void)state;
    struct framed f;
    const char *iso = "2026-12-08T01:59:13+0100 h app[1]: x";
    assert_true(framing_parse(FR_JOURNAL, iso, strlen(iso), &f));
    assert_true(f.has_ts);
    assert_true(f.ts_ns == INT64_C(1796691553) * 1000000000);
    const char *shrt = "Dec 08 00:59:13 h app[1]: x";
    assert_true(framing_parse(FR_JOURNAL, shrt, strlen(shrt), &f));
    assert_false(f.has_ts);
    assert_false(framing_parse(FR_COMPOSE, shrt, strlen(shrt), &f));
    assert_false(framing_parse(FR_KUBECTL, "web-1 | x", 9, &f));
    assert_false(framing_parse(FR_JOURNAL, "-- Boot 0f5c8e2a6d1b4c3e9a7f6b5d4c3b2a19 --", 43, &f));
    assert_false(framing_parse(FR_RAY, "(retrying) connection lost", 26, &f));
    assert_false(framing_parse(FR_RAY, "(f pid=) x", 10, &f));
    assert_false(framing_parse(FR_RAY, "(f pid=12)x", 11, &f));
    const char *ci = "2026-12-08T01:05:57.2362341Z x";
    assert_true(framing_parse(FR_TIMESTAMPED, ci, strlen(ci), &f));
    assert_true(f.has_ts);
    assert_true(f.ts_ns == INT64_C(1796691957236234100));
    const char *ct = "web-1  | 2026-12-08T01:05:57.236234100Z x";
    assert_true(framing_parse(FR_COMPOSE, ct, strlen(ct), &f));
    assert_true(f.has_ts);
    assert_true(f.ts_ns == INT64_C(1796691957236234100));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_and_parse),
        cmocka_unit_test(test_time_and_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
