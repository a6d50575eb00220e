/* test_textlog.c -- the plain-text parser (parser_text) through its public contract:
 * open/feed/finish with a collecting sink. Logging prefixes one layout at a time,
 * records absorbed into the traceback they introduce, CRI and docker framing with
 * partial lines, introducers, event order, hostile bytes, limits, and chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include "evdoc.h"

#include "testfile.h"
#include <jansson.h>

#include "correlate/arena.h"
#include "correlate/ev_json.h"
#include "correlate/event.h"
#include "correlate/evtime.h"
#include "parsers/ansi.h"
#include "parsers/logprefix.h"
#include "parsers/parser.h"

extern const struct parser parser_text;

#ifndef DATA_DIR
#define DATA_DIR "tests/data/corpus"
#endif

/* ---- a sink that keeps deep copies and JSON documents ------------------------------ */

struct coll {
    struct event ev[256];
    size_t n;
    json_t *docs;
    struct arena a;
    uint64_t diag_line[16];
    char diag_reason[16][96];
    size_t ndiag;
    size_t stop_after; /* 0 = never */
};

static int sink(void *ctx, const struct event *ev)
{
    struct coll *c = ctx;
    json_array_append_new(c->docs, test_event_doc(ev));
    if (c->n < 256)
        assert_int_equal(ev_clone(&c->ev[c->n], ev, &c->a), 0);
    c->n++;
    return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    struct coll *c = ctx;
    assert_string_equal(stream, "t.log");
    if (c->ndiag < 16) {
        c->diag_line[c->ndiag] = line;
        snprintf(c->diag_reason[c->ndiag], sizeof(c->diag_reason[0]), "%s", reason);
    }
    c->ndiag++;
}

static void coll_init(struct coll *c)
{
    memset(c, 0, sizeof(*c));
    c->docs = json_array();
}

static void coll_free(struct coll *c)
{
    json_decref(c->docs);
    arena_free(&c->a);
}

/* How run_lim hands notes (parser.h) to the parser, as the pipeline's ring does
 * (zeroed, then maybe made by a helper before or during feed):
 * 0 none;
 * 1 a note made before each chunk is fed;
 * 2 a note made for every other chunk, the others' never begun, each chunk fed
 *   in two pieces;
 * 3 the helper comes in the middle: the parser takes the chunk's first half, the
 *   note is made from the back down to what the parser claimed, then the rest;
 * 4 a note with room for three lines, made before the chunk is fed. */
#define NOTE_MODES 5
static int note_mode;

/* Feed data in chunks of `chunk` bytes (0 = all at once). Returns finish()'s value. */
static int run_lim(struct coll *c, const char *data, size_t n, size_t chunk, const struct parse_limits *lim)
{
    struct parser_env env = {
        .stream = "t.log", .emit = sink, .emit_ctx = c, .diag = diag, .diag_ctx = c,
        .limits = lim ? lim : &parse_limits_default,
    };
    void *st = parser_text.open(&env);
    assert_non_null(st);
    if (chunk == 0)
        chunk = n ? n : 1;
    int rc = 0;
    size_t note_cap = note_mode == 4 ? PARSER_NOTE_ZEROED + 3 * 48 : ((2 * chunk + 64 + PARSER_NOTE_ZEROED + 63) & ~(size_t)63);
    void *note = note_mode ? aligned_alloc(64, (note_cap + 63) & ~(size_t)63) : NULL;
    size_t k = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk, k++) {
        size_t len = n - off < chunk ? n - off : chunk;
        if (note_mode == 0) {
            rc = parser_text.feed(st, data + off, len);
            continue;
        }
        memset(note, 0, PARSER_NOTE_ZEROED);
        parser_text.take_note(st, note, data + off, len);
        bool made_first = note_mode == 1 || note_mode == 4 || (note_mode == 2 && k % 2 == 0);
        if (made_first)
            parser_text.note(data + off, len, note, note_cap);
        size_t half = note_mode == 2 || note_mode == 3 ? len / 2 : len;
        rc = parser_text.feed(st, data + off, half);
        if (note_mode == 3)
            parser_text.note(data + off, len, note, note_cap);
        if (rc == 0 && half < len)
            rc = parser_text.feed(st, data + off + half, len - half);
    }
    if (rc == 0)
        rc = parser_text.finish(st);
    parser_text.close(st);
    free(note);
    return rc;
}

static void run(struct coll *c, const char *text, size_t chunk)
{
    coll_init(c);
    assert_int_equal(run_lim(c, text, strlen(text), chunk, NULL), 0);
}

static void assert_str(ev_str s, const char *want)
{
    if (!ev_str_eq(s, want))
        fail_msg("got '%.*s' (%s), want '%s'", (int)(s.len > 200 ? 200 : s.len), s.ptr ? s.ptr : "",
                 s.ptr ? "present" : "absent", want);
}

static int64_t ts_of(const char *iso)
{
    int64_t ns = 0;
    assert_true(evtime_parse_field(iso, strlen(iso), &ns));
    return ns;
}

static const struct event *ev_at(const struct coll *c, size_t i)
{
    if (i >= c->n)
        fail_msg("event %zu of %zu", i, c->n);
    return &c->ev[i];
}

/* ---- logging prefixes -------------------------------------------------------------- */

struct prefix_case {
    const char *line;
    bool record;
    const char *ts;      /* NULL = none */
    enum ev_level level;
    const char *logger;  /* NULL = none */
    int64_t pid;
    const char *thread;  /* NULL = none */
    const char *msg;
};

static const struct prefix_case prefix_cases[] = {
    /* rich's RichHandler without its time: the level padded to nine columns */
    {"ERROR    charge failed", true, NULL, EV_LVL_ERROR, NULL, -1, NULL, "charge failed"},
    {"CRITICAL disk full", true, NULL, EV_LVL_CRITICAL, NULL, -1, NULL, "disk full"},
    {"ERROR   eight wide", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* RichHandler's columns: time ("[%x %X]", or blank when it repeats), level, the
     * message and its path column */
    {"[12/07/26 17:30:01] INFO     worker ready                           rh_app.py:14", true,
     "2026-12-07T17:30:01Z", EV_LVL_INFO, NULL, -1, NULL, "worker ready"},
    {"                    WARNING  cache is cold, the first requests will rh_app.py:15", true, NULL,
     EV_LVL_WARNING, NULL, -1, NULL, "cache is cold, the first requests will"},
    {"[01/31/27 00:00:59] CRITICAL disk full", true, "2027-01-31T00:00:59Z", EV_LVL_CRITICAL, NULL, -1, NULL,
     "disk full"},
    {"[13/07/26 17:30:01] INFO     not a month", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"                    NOTE     not a level", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"                   WARNING  one blank short", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"ERROR    see the file app.py:12", true, NULL, EV_LVL_ERROR, NULL, -1, NULL, "see the file app.py:12"},
    {"ERROR    charge failed            app.py:12", true, NULL, EV_LVL_ERROR, NULL, -1, NULL, "charge failed"},
    /* AWS Lambda's Python runtime: "[LEVEL]\tTIME\tREQUEST-ID\tmessage" */
    {"[ERROR]\t2026-12-07T18:00:00.456Z\t8f5e2a1c-1b2c-4d3e-9f00-123456789abc\torder failed", true,
     "2026-12-07T18:00:00.456Z", EV_LVL_ERROR, NULL, -1, NULL, "order failed"},
    {"[ERROR]\tnot a time\tx\ty", true, NULL, EV_LVL_ERROR, NULL, -1, NULL, "not a time\tx\ty"},
    {"2026-12-07T18:00:03.012Z 8f5e2a1c-1b2c-4d3e-9f00-123456789abc Task timed out after 3.00 seconds", true,
     "2026-12-07T18:00:03.012Z", EV_LVL_ERROR, NULL, -1, NULL, "Task timed out after 3.00 seconds"},
    {"END RequestId: 8f5e2a1c-1b2c-4d3e-9f00-123456789abc", true, NULL, EV_LVL_INFO, NULL, -1, NULL,
     "END RequestId: 8f5e2a1c-1b2c-4d3e-9f00-123456789abc"},
    {"END RequestId: nothing", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* Python's warnings (warnings.formatwarning): the whole line is the message */
    {"/srv/app/train.py:14: RuntimeWarning: overflow encountered in exp", true, NULL, EV_LVL_WARNING, NULL, -1,
     NULL, "/srv/app/train.py:14: RuntimeWarning: overflow encountered in exp"},
    {"<frozen importlib._bootstrap>:241: DeprecationWarning:", true, NULL, EV_LVL_WARNING, NULL, -1, NULL,
     "<frozen importlib._bootstrap>:241: DeprecationWarning:"},
    {"mypkg.SomeWarning: raised bare", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"/srv/a.py:x: UserWarning: no line number", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"see a.py:3: lowercasewarning: no", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* Django's runserver, and the common log format's time */
    {"[07/Dec/2026 18:25:10] \"GET /health/ HTTP/1.1\" 200 12", true, "2026-12-07T18:25:10Z", EV_LVL_UNKNOWN, NULL,
     -1, NULL, "\"GET /health/ HTTP/1.1\" 200 12"},
    {"[07/Dec/2026:18:25:10 +0100] GET /", true, "2026-12-07T17:25:10Z", EV_LVL_UNKNOWN, NULL, -1, NULL, "GET /"},
    {"[07/Foo/2026 18:25:10] no month", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* Celery's "[time: LEVEL/Process]" (its task id, in brackets in the message, is the
     * record's trace id: test_worker_tracebacks) */
    {"[2026-12-07 19:54:15,341: INFO/MainProcess] Task shop.add[12229f40-460b-4907-8403-a2c257140865] received",
     true, "2026-12-07T19:54:15.341Z", EV_LVL_INFO, NULL, -1, NULL,
     "Task shop.add[12229f40-460b-4907-8403-a2c257140865] received"},
    /* An access log in the common/combined log format: the whole line is the message */
    {"127.0.0.1 - - [07/Dec/2026:19:52:55 +0000] \"GET /orders HTTP/1.1\" 500 0 \"-\" \"-\"", true,
     "2026-12-07T19:52:55Z", EV_LVL_UNKNOWN, NULL, -1, NULL,
     "127.0.0.1 - - [07/Dec/2026:19:52:55 +0000] \"GET /orders HTTP/1.1\" 500 0 \"-\" \"-\""},
    {"api.example.com - alice [07/Dec/2026:19:52:55 -0130] \"GET /\" 200 3", true, "2026-12-07T21:22:55Z",
     EV_LVL_UNKNOWN, NULL, -1, NULL, "api.example.com - alice [07/Dec/2026:19:52:55 -0130] \"GET /\" 200 3"},
    {"::1 - - [07/Dec/2026:19:52:55 +0000] \"GET / HTTP/1.1\" 200 3", true, "2026-12-07T19:52:55Z",
     EV_LVL_UNKNOWN, NULL, -1, NULL, "::1 - - [07/Dec/2026:19:52:55 +0000] \"GET / HTTP/1.1\" 200 3"},
    {"127.0.0.1 - - [07/Dec/2026:19:52:55] no zone", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"127.0.0.1 - - [07/Dec/2026 20:24:46] \"GET / HTTP/1.1\" 200 -", true, "2026-12-07T20:24:46Z",
     EV_LVL_UNKNOWN, NULL, -1, NULL, "127.0.0.1 - - [07/Dec/2026 20:24:46] \"GET / HTTP/1.1\" 200 -"},
    {"127.0.0.1 - - [07/Dec/2026 20:24:46] no request", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"ValueError: bad value [07/Dec/2026:19:52:55 +0000]", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* Tornado's LogFormatter (Tornado apps, Jupyter's servers) */
    {"[W 181207 14:25:24 web:2239] 404 GET /favicon.ico (127.0.0.1) 1.02ms", true, "2018-12-07T14:25:24Z",
     EV_LVL_WARNING, "web", -1, NULL, "404 GET /favicon.ico (127.0.0.1) 1.02ms"},
    {"[E 2026-12-07 18:00:01.456 ServerApp] Uncaught exception GET /api/kernels", true, "2026-12-07T18:00:01.456Z",
     EV_LVL_ERROR, "ServerApp", -1, NULL, "Uncaught exception GET /api/kernels"},
    {"[X 181207 14:25:24 web:2239] not a level", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* coloredlogs: "time HOST name[PID] LEVEL message" */
    {"2026-12-07 17:37:39 vm shop.orders[1763] ERROR order 1001 rejected", true, "2026-12-07T17:37:39Z",
     EV_LVL_ERROR, "shop.orders", 1763, NULL, "order 1001 rejected"},
    {"2026-12-07 17:37:39 vm shop.orders[1763] said hello", true, "2026-12-07T17:37:39Z", EV_LVL_UNKNOWN, NULL, -1,
     NULL, "vm shop.orders[1763] said hello"},
    /* structlog's ConsoleRenderer: the level padded inside its brackets */
    {"2026-12-07 17:36:52 [error    ] order rejected                 order_id=1001", true, "2026-12-07T17:36:52Z",
     EV_LVL_ERROR, NULL, -1, NULL, "order rejected                 order_id=1001"},
    {"2026-12-07 17:36:52 [info     ] worker ready", true, "2026-12-07T17:36:52Z", EV_LVL_INFO, NULL, -1, NULL,
     "worker ready"},
    /* pytest's captured and live log: "name:file.py:N" after the padded level */
    {"ERROR    shop.checkout:test_captured.py:15 payment gateway said no", true, NULL, EV_LVL_ERROR,
     "shop.checkout", -1, NULL, "payment gateway said no"},
    {"WARNING  root:conftest.py:3 x", true, NULL, EV_LVL_WARNING, "root", -1, NULL, "x"},
    {"INFO     a:b.py:12", true, NULL, EV_LVL_INFO, "a", -1, NULL, ""},
    {"ERROR    see http://host:80/x.py:3 now", true, NULL, EV_LVL_ERROR, NULL, -1, NULL,
     "see http://host:80/x.py:3 now"},
    {"ERROR    ratio:3.py:x rest", true, NULL, EV_LVL_ERROR, NULL, -1, NULL, "ratio:3.py:x rest"},
    {"ERROR occurred in prose", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* Flask's default: the module after "in" */
    {"[2026-12-07 14:25:24,238] ERROR in app: Exception on /checkout [POST]", true, "2026-12-07T14:25:24.238Z",
     EV_LVL_ERROR, "app", -1, NULL, "Exception on /checkout [POST]"},
    {"[2026-12-07 14:25:24,238] ERROR in the middle", true, "2026-12-07T14:25:24.238Z", EV_LVL_ERROR, NULL, -1,
     NULL, "in the middle"},
    /* a dotted name in brackets is a logger; a plain one stays a thread */
    {"2026-12-07 14:25:24,238 ERROR [shop.http] request failed", true, "2026-12-07T14:25:24.238Z", EV_LVL_ERROR,
     "shop.http", -1, NULL, "request failed"},
    {"2026-12-07 14:25:24,238 ERROR [MainThread] request failed", true, "2026-12-07T14:25:24.238Z", EV_LVL_ERROR,
     NULL, -1, "MainThread", "request failed"},
    /* "[%(name)s]" without a dot is a logger too, unless threading named it */
    {"2026-12-07 22:04:00,447 ERROR [asyncio] Exception in callback cb()", true, "2026-12-07T22:04:00.447Z",
     EV_LVL_ERROR, "asyncio", -1, NULL, "Exception in callback cb()"},
    {"2026-12-07 22:04:00,447 INFO [root] start", true, "2026-12-07T22:04:00.447Z", EV_LVL_INFO, "root", -1, NULL,
     "start"},
    {"2026-12-07 22:04:00,447 INFO [Thread-3 (run)] polling", true, "2026-12-07T22:04:00.447Z", EV_LVL_INFO, NULL,
     -1, "Thread-3 (run)", "polling"},
    {"2026-12-07 22:04:00,447 INFO [ThreadPoolExecutor-0_1] fetched", true, "2026-12-07T22:04:00.447Z", EV_LVL_INFO,
     NULL, -1, "ThreadPoolExecutor-0_1", "fetched"},
    {"2026-12-07 22:04:00,447 INFO [Dummy-1] hello", true, "2026-12-07T22:04:00.447Z", EV_LVL_INFO, NULL, -1,
     "Dummy-1", "hello"},
    /* Scrapy: the logger in brackets before the level */
    {"2026-12-07 14:25:24 [scrapy.core.scraper] ERROR: Spider error processing <GET https://x>", true,
     "2026-12-07T14:25:24Z", EV_LVL_ERROR, "scrapy.core.scraper", -1, NULL, "Spider error processing <GET https://x>"},
    {"2026-12-07 14:25:24 [note] nothing follows", true, "2026-12-07T14:25:24Z", EV_LVL_UNKNOWN, NULL, -1, NULL,
     "[note] nothing follows"},
    /* Airflow: where the record was made, in braces */
    {"[2026-12-07T14:25:24.238+0000] {taskinstance.py:1937} ERROR - Task failed", true, "2026-12-07T14:25:24.238Z",
     EV_LVL_ERROR, "taskinstance.py", -1, NULL, "Task failed"},
    /* Django's verbose formatter: the level first */
    {"ERROR 2026-12-07 14:25:24,238 views 4242 140001 Internal Server Error: /api", true, "2026-12-07T14:25:24.238Z",
     EV_LVL_ERROR, NULL, -1, NULL, "views 4242 140001 Internal Server Error: /api"},
    {"ERROR nothing like a time", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* "%(name)s:%(lineno)d" */
    {"2026-12-07 14:25:24.238 ERROR shop.http:42 request failed", true, "2026-12-07T14:25:24.238Z", EV_LVL_ERROR,
     "shop.http", -1, NULL, "request failed"},
    /* absl-py / glog (TensorFlow, JAX): no year, so no time */
    {"E1207 14:25:24.238000 4242 app.py:42] request failed", true, NULL, EV_LVL_ERROR, "app.py", -1, "4242",
     "request failed"},
    {"W1207 14:25:24.238000  140001 trainer.py:7] loss is nan", true, NULL, EV_LVL_WARNING, "trainer.py", -1,
     "140001", "loss is nan"},
    {"I1207 looks like absl but is not", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    /* loguru's default format */
    {"2026-12-07 14:51:04.360 | ERROR    | app.jobs:run_batch:16 - batch failed", true,
     "2026-12-07T14:51:04.360Z", EV_LVL_ERROR, "app.jobs", -1, NULL, "batch failed"},
    {"2026-12-07 14:51:04.360 | INFO     | __main__:<module>:12 - a - b", true, "2026-12-07T14:51:04.360Z",
     EV_LVL_INFO, "__main__", -1, NULL, "a - b"},
    {"2026-12-07 14:51:04.360 | INFO     | web:GET /:200 - x", true, "2026-12-07T14:51:04.360Z", EV_LVL_INFO,
     NULL, -1, NULL, "web:GET /:200 - x"},
    /* Airflow's task log: a comma after the date and the zone named */
    {"[2022-11-09, 09:59:40 UTC] {taskinstance.py:1851} ERROR - Task failed with exception", true,
     "2022-11-09T09:59:40Z", EV_LVL_ERROR, "taskinstance.py", -1, NULL, "Task failed with exception"},
    {"2024-05-01 10:00:00 UTC INFO app.x hello", true, "2024-05-01T10:00:00Z", EV_LVL_INFO, "app.x", -1, NULL,
     "hello"},
    /* Odoo's "time PID LEVEL db name: message" */
    {"2026-12-07 10:00:00,123 4242 ERROR mydb odoo.http: Exception during request handling.", true,
     "2026-12-07T10:00:00.123Z", EV_LVL_ERROR, NULL, 4242, NULL, "mydb odoo.http: Exception during request handling."},
    /* Home Assistant's "LEVEL (thread) [name]"; a message's first word in
     * parentheses is not a thread */
    {"2026-12-07 10:00:00.123 ERROR (MainThread) [homeassistant.core] Error doing job", true,
     "2026-12-07T10:00:00.123Z", EV_LVL_ERROR, "homeassistant.core", -1, "MainThread", "Error doing job"},
    {"2026-12-07 10:00:00.123 WARNING (retrying) connection lost", true, "2026-12-07T10:00:00.123Z",
     EV_LVL_WARNING, NULL, -1, NULL, "(retrying) connection lost"},
    /* Ray's driver: a tab after the time, " -- " after the file and line */
    {"2024-05-10 18:01:35,772\tINFO worker.py:1740 -- Started a local Ray instance.", true,
     "2024-05-10T18:01:35.772Z", EV_LVL_INFO, "worker.py", -1, NULL, "Started a local Ray instance."},
    /* loguru's own level between INFO and WARNING */
    {"2026-12-07 14:51:04.360 | SUCCESS  | app:f:3 - saved", true, "2026-12-07T14:51:04.360Z", EV_LVL_INFO,
     "app", -1, NULL, "saved"},
    {"2026-11-24 03:22:56,533 INFO shop.http [pid=8655] order api starting", true,
     "2026-11-24T03:22:56.533Z", EV_LVL_INFO, "shop.http", 8655, NULL, "order api starting"},
    {"ERROR:jobs:job 9 failed: bad input", true, NULL, EV_LVL_ERROR, "jobs", -1, NULL,
     "job 9 failed: bad input"},
    {"WARNING:py.warnings:/opt/app/x.py:3: DeprecationWarning: old", true, NULL, EV_LVL_WARNING,
     "py.warnings", -1, NULL, "/opt/app/x.py:3: DeprecationWarning: old"},
    {"ERROR:    Exception in ASGI application", true, NULL, EV_LVL_ERROR, NULL, -1, NULL,
     "Exception in ASGI application"},
    {"INFO:     127.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK", true, NULL, EV_LVL_INFO, NULL, -1, NULL,
     "127.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK"},
    {"[2024-05-01 10:00:00 +0000] [1234] [ERROR] Worker failed to boot.", true,
     "2024-05-01T10:00:00Z", EV_LVL_ERROR, NULL, 1234, NULL, "Worker failed to boot."},
    {"[2024-05-01 10:00:00 +0200] [77] [INFO] Booting worker with pid: 77", true,
     "2024-05-01T08:00:00Z", EV_LVL_INFO, NULL, 77, NULL, "Booting worker with pid: 77"},
    {"[2024-05-01 10:00:00,123: ERROR/ForkPoolWorker-1] Task failed hard", true,
     "2024-05-01T10:00:00.123Z", EV_LVL_ERROR, NULL, -1, NULL, "Task failed hard"},
    {"[2024-05-01 10:00:00,123: WARNING/MainProcess] Connection to broker lost.", true,
     "2024-05-01T10:00:00.123Z", EV_LVL_WARNING, NULL, -1, NULL, "Connection to broker lost."},
    {"2024-05-01 10:00:00,123 - shop.http - ERROR - payment declined", true,
     "2024-05-01T10:00:00.123Z", EV_LVL_ERROR, "shop.http", -1, NULL, "payment declined"},
    {"2024-05-01 10:00:00,123 - root - WARNING - disk at 91%", true, "2024-05-01T10:00:00.123Z",
     EV_LVL_WARNING, "root", -1, NULL, "disk at 91%"},
    {"[ERROR] something broke", true, NULL, EV_LVL_ERROR, NULL, -1, NULL, "something broke"},
    {"[2024-05-01T10:00:00Z] [WARNING] slow request", true, "2024-05-01T10:00:00Z",
     EV_LVL_WARNING, NULL, -1, NULL, "slow request"},
    {"2024-05-01T10:00:00.250+02:00 CRITICAL root: out of memory", true,
     "2024-05-01T08:00:00.250Z", EV_LVL_CRITICAL, "root", -1, NULL, "out of memory"},
    {"2024-05-01 10:00:00,000 WARNING [worker-3] disk almost full", true,
     "2024-05-01T10:00:00Z", EV_LVL_WARNING, NULL, -1, "worker-3", "disk almost full"},
    {"2024-05-01 10:00:00 error while reading config", true, "2024-05-01T10:00:00Z",
     EV_LVL_UNKNOWN, NULL, -1, NULL, "error while reading config"},
    {"2024-05-01 10:00:00,000 DEBUG pid=42 a.b.c: connected", true, "2024-05-01T10:00:00Z",
     EV_LVL_DEBUG, "a.b.c", 42, NULL, "connected"},
    /* Not records. */
    {"worker: job 1 ok", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"Traceback (most recent call last):", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"Error: connection refused", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"ERRORS happen", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"[not a level] text", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"12345 apples", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"2024-13-01 10:00:00 INFO bad month", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
    {"INF", false, NULL, EV_LVL_UNKNOWN, NULL, -1, NULL, NULL},
};

static void test_logprefix_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
        const struct prefix_case *k = &prefix_cases[i];
        struct logprefix lp;
        size_t n = strlen(k->line);
        bool rec = logprefix_parse(k->line, n, &lp);
        if (rec != k->record)
            fail_msg("'%s': record %d, want %d", k->line, rec, k->record);
        if (!rec)
            continue;
        size_t end = lp.msg_end ? lp.msg_end : n;
        if (lp.msg_off > end || end > n || strlen(k->msg) != end - lp.msg_off ||
            memcmp(k->line + lp.msg_off, k->msg, end - lp.msg_off) != 0)
            fail_msg("'%s': message '%.*s', want '%s'", k->line, lp.msg_off <= end ? (int)(end - lp.msg_off) : 1,
                     lp.msg_off <= end ? k->line + lp.msg_off : "?", k->msg);
        if (lp.level != k->level)
            fail_msg("'%s': level %d, want %d", k->line, lp.level, k->level);
        if (lp.pid != k->pid)
            fail_msg("'%s': pid %lld, want %lld", k->line, (long long)lp.pid, (long long)k->pid);
        if (lp.has_ts != (k->ts != NULL) || (k->ts && lp.ts_ns != ts_of(k->ts)))
            fail_msg("'%s': ts wrong", k->line);
        ev_str lg = lp.logger_len ? ev_str_make(k->line + lp.logger_off, lp.logger_len) : EV_STR_NULL;
        if (k->logger ? !ev_str_eq(lg, k->logger) : lp.logger_len != 0)
            fail_msg("'%s': logger '%.*s', want '%s'", k->line, (int)lg.len, lg.ptr ? lg.ptr : "",
                     k->logger ? k->logger : "(none)");
        ev_str th = lp.thread_len ? ev_str_make(k->line + lp.thread_off, lp.thread_len) : EV_STR_NULL;
        if (k->thread ? !ev_str_eq(th, k->thread) : lp.thread_len != 0)
            fail_msg("'%s': thread '%.*s'", k->line, (int)th.len, th.ptr ? th.ptr : "");
    }
}

/* The same table through the parser: one log event per line with those fields. */
/* The prefix cache reads every line as logprefix_parse does: lines built from a
 * grammar of timestamps, levels, loggers, pids, threads and separators, with
 * messages that start with what the parse looks at (brackets, separators,
 * "pid=", spaces, level words), so that lines share prefixes and most lookups are
 * hits that must still agree. */
static uint32_t lp_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void test_logprefix_cache_agrees(void **state)
{
    (void)state;
    static const char *const ts[] = {"2024-05-01 10:00:00,123", "2024-05-01 10:00:01,9", "2024-05-01T10:00:00.123456Z",
                                     "2024-05-01 10:00:00", "[2024-05-01 10:00:00,123]",
                                     "2024-05-01 10:00:00 +0200", "2024-05-01 10:00:00,123+01:00", ""};
    static const char *const sep[] = {" ", "  ", " - ", " | ", "\t", ""};
    static const char *const tok[] = {"INFO",     "ERROR",    "warning",  "[WARNING]", "ERROR:", "app.web",
                                      "app",      "svc:",     "x.y.z",    "a.",        "[pid=12]", "[345]",
                                      "pid=7",    "[MainThread]", "(worker-1)", "-", "db.pool:", "CRITICAL"};
    static const char *const msg[] = {"request ok", "[x] y", "(p) q", "- dash", "-x", "| bar", "|x", "pid=9 rest",
                                      " lead", "\ttab", "INFO again", "a.b: c", ":colon", "", "x", "xy", "xyzw",
                                      "[pid=3] z", "error while x", "- ", "ok", "[", "[unclosed bracket"};
    struct logprefix_cache c;
    logprefix_cache_init(&c);
    /* Found by this test: a message that abuts the logger (no blank between) may
     * continue the logger's word. */
    static const char *const pairs[][2] = {
        {"2024-05-01 10:00:01,900 WARNING [pid=12] app.webERROR:colon and more",
         "2024-05-01 10:00:01,900 WARNING [pid=12] app.webERRORerror while x"},
        {"2024-05-01 10:00:01,900 WARNING app.web - first message here",
         "2024-05-01 10:00:01,900 WARNING app.web - - second"},
        {"2024-05-01 10:00:01,900 INFO app [x] first", "2024-05-01 10:00:01,900 INFO app xyz second"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        for (int k = 0; k < 2; k++) {
            struct logprefix want, got;
            bool w = logprefix_parse(pairs[i][k], strlen(pairs[i][k]), &want);
            bool g = logprefix_cached(&c, pairs[i][k], strlen(pairs[i][k]), &got);
            if (w != g || (w && !logprefix_equal(&want, &got)))
                fail_msg("the cache reads '%s' otherwise", pairs[i][k]);
        }
    uint32_t seed = 7;
    char line[256];
    unsigned records = 0;
    uint32_t shape = 0;
    for (int round = 0; round < 200000; round++) {
        /* Few prefixes, many messages: prefixes repeat as they do in a log. */
        if (lp_rand(&seed) % 4 == 0)
            shape = lp_rand(&seed) % 64;
        uint32_t s2 = shape * 2654435761u + 1;
        size_t len = (size_t)snprintf(line, sizeof(line), "%s", ts[lp_rand(&s2) % 8]);
        if (shape < 24) {
            /* The common layouts: "%(asctime)s %(levelname)s %(name)s [pid] ..." */
            static const char *const lv[] = {"INFO", "ERROR", "WARNING", "DEBUG"};
            static const char *const lg[] = {"app.web", "db.pool:", "x.y.z", "svc.a:"};
            static const char *const tail[] = {"", " [pid=12]", " [MainThread]", " pid=7"};
            len += (size_t)snprintf(line + len, sizeof(line) - len, " %s %s%s", lv[lp_rand(&s2) % 4],
                                    lg[lp_rand(&s2) % 4], tail[lp_rand(&s2) % 4]);
        }
        int ntok = shape < 24 ? 0 : (int)(lp_rand(&s2) % 5);
        for (int k = 0; k < ntok; k++)
            len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", sep[lp_rand(&s2) % 6],
                                    tok[lp_rand(&s2) % 18]);
        /* Half the messages start with a word, half with what the parse looks at. */
        static const char *const plain_msg[] = {"request ok", "order 12 created", "a.b: c", "error while x"};
        const char *mtext = lp_rand(&seed) % 2 ? plain_msg[lp_rand(&seed) % 4] : msg[lp_rand(&seed) % 23];
        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", shape < 24 ? " " : sep[lp_rand(&seed) % 6],
                                mtext);
        if (lp_rand(&seed) % 4 == 0) /* now and then the seconds change */
            line[18] = (char)('0' + lp_rand(&seed) % 10);
        struct logprefix want, got;
        bool w = logprefix_parse(line, len, &want);
        bool g = logprefix_cached(&c, line, len, &got);
        if (w != g || (w && !logprefix_equal(&want, &got)))
            fail_msg("the cache reads '%s' otherwise (record %d/%d, msg_off %zu/%zu, logger %zu/%zu, level %d/%d)",
                     line, w, g, want.msg_off, got.msg_off, want.logger_len, got.logger_len, want.level, got.level);
        records += w;
    }
    assert_true(records > 100000);
    print_message("prefix cache: %llu hits of %u records\n", (unsigned long long)c.hits, records);
    assert_true(c.hits > 10000); /* the compare path was taken, and agreed */
}

static void test_logprefix_through_parser(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
        const struct prefix_case *k = &prefix_cases[i];
        char text[512];
        snprintf(text, sizeof(text), "%s\n", k->line);
        struct coll c;
        run(&c, text, 0);
        if (strncmp(k->line, "Traceback", 9) == 0) {
            /* A header alone is an incomplete traceback: reported, and the line is
             * given back as a line (not lost). */
            assert_int_equal(c.n, 1);
            assert_int_equal(ev_at(&c, 0)->kind, EV_LOG);
            assert_str(ev_at(&c, 0)->message, "Traceback (most recent call last):");
            assert_int_equal(c.ndiag, 1);
            coll_free(&c);
            continue;
        }
        assert_int_equal(c.n, 1);
        const struct event *e = ev_at(&c, 0);
        assert_int_equal(e->kind, EV_LOG);
        assert_int_equal(e->src.line, 1);
        assert_string_equal(e->src.stream, "t.log");
        if (k->record) {
            assert_str(e->message, k->msg);
            assert_int_equal(e->level, k->level);
            assert_int_equal(e->pid, k->pid);
            assert_int_equal(e->has_ts, k->ts != NULL);
            if (k->logger)
                assert_str(e->logger, k->logger);
            else
                assert_false(ev_str_present(e->logger));
        } else {
            assert_str(e->message, k->line);
            assert_int_equal(e->level, EV_LVL_UNKNOWN);
            assert_false(e->has_ts);
        }
        coll_free(&c);
    }
}

/* ---- records and the tracebacks they introduce ------------------------------------- */

static const char absorbed_text[] =
    "2024-05-01 10:00:00,123 INFO shop.http [pid=7] starting\n"
    "2024-05-01 10:00:01,500 ERROR shop.http [pid=7] request failed\n"
    "Traceback (most recent call last):\n"
    "  File \"/opt/app/a.py\", line 3, in handle\n"
    "    return parse(body)\n"
    "ValueError: bad body\n"
    "2024-05-01 10:00:02,000 INFO shop.http [pid=7] next request\n";

static void test_error_record_absorbed(void **state)
{
    (void)state;
    struct coll c;
    run(&c, absorbed_text, 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(ev_at(&c, 0)->kind, EV_LOG);
    const struct event *x = ev_at(&c, 1);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->src.line, 2); /* the record's line, not the header's */
    assert_true(x->has_ts);
    assert_int_equal(x->ts_ns, ts_of("2024-05-01T10:00:01.500Z"));
    assert_int_equal(x->level, EV_LVL_ERROR);
    assert_str(x->logger, "shop.http");
    assert_str(x->message, "request failed");
    assert_int_equal(x->pid, 7);
    assert_int_equal(x->u.exc.origin, EV_TB_LOGGED);
    assert_int_equal(x->u.exc.chain.n, 1);
    assert_str(x->u.exc.chain.exc[0].type, "ValueError");
    assert_str(x->u.exc.chain.exc[0].message, "bad body");
    assert_int_equal(x->u.exc.last_line, 6);
    assert_int_equal(ev_at(&c, 2)->kind, EV_LOG);
    assert_int_equal(ev_at(&c, 2)->src.line, 7);
    assert_str(ev_at(&c, 2)->message, "next request");
    assert_int_equal(c.ndiag, 0);
    coll_free(&c);

    /* WARNING is absorbed too; so is a record of unknown level. */
    run(&c,
        "WARNING:retry:giving up after 3 attempts\n"
        "Traceback (most recent call last):\n"
        "  File \"a.py\", line 1, in f\n"
        "TimeoutError: timed out\n",
        0);
    assert_int_equal(c.n, 1);
    assert_int_equal(ev_at(&c, 0)->level, EV_LVL_WARNING);
    assert_str(ev_at(&c, 0)->logger, "retry");
    assert_int_equal(ev_at(&c, 0)->src.line, 1);
    coll_free(&c);
}

static void test_info_record_not_absorbed(void **state)
{
    (void)state;
    struct coll c;
    run(&c,
        "2024-05-01 10:00:00,000 INFO shop.http [pid=7] about to call upstream\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/a.py\", line 3, in handle\n"
        "ConnectionError: refused\n",
        0);
    assert_int_equal(c.n, 2);
    const struct event *l = ev_at(&c, 0);
    assert_int_equal(l->kind, EV_LOG);
    assert_int_equal(l->level, EV_LVL_INFO);
    assert_str(l->message, "about to call upstream");
    const struct event *x = ev_at(&c, 1);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->src.line, 2);
    assert_int_equal(x->level, EV_LVL_UNKNOWN);
    assert_false(ev_str_present(x->logger));
    assert_false(ev_str_present(x->message));
    assert_int_equal(x->u.exc.origin, EV_TB_PLAIN);
    coll_free(&c);

    /* A record with a blank line between it and the header is not absorbed:
     * logging writes the traceback right after the message. */
    run(&c,
        "ERROR:jobs:job 3 failed\n"
        "\n"
        "Traceback (most recent call last):\n"
        "  File \"a.py\", line 1, in f\n"
        "KeyError: 'x'\n",
        0);
    assert_int_equal(c.n, 2);
    assert_int_equal(ev_at(&c, 0)->level, EV_LVL_ERROR);
    assert_int_equal(ev_at(&c, 1)->kind, EV_EXCEPTION);
    assert_int_equal(ev_at(&c, 1)->src.line, 3);
    coll_free(&c);
}

/* A message of several lines (logging writes its newlines as they are): a traceback
 * after the lines of an ERROR record's message is still that record's (Celery's
 * "Received unregistered task", a message of paragraphs). Lines not followed by a
 * traceback are not known to be the message's (a handler that prints messages alone
 * writes lines like them: werkzeug's banner after its warning) and stay lines, each
 * with its number. A WARNING is not taken across lines: a bare traceback after a
 * warning and some lines keeps its own severity. A line that may start a traceback
 * itself or a rule is not a message's. */
static void check_chunking(const char *what, const char *data, size_t n);

static void test_multiline_messages(void **state)
{
    (void)state;
    struct coll c;
    static const char joined[] = "2026-12-07 19:53:57,169 ERROR celery.worker: Received unregistered task 'a'.\n"
                                 "The message has been ignored and discarded.\n"
                                 "\n"
                                 "Did you remember to import the module?\n"
                                 "Traceback (most recent call last):\n"
                                 "  File \"/srv/c.py\", line 591, in on_task_received\n"
                                 "KeyError: 'a'\n"
                                 "2026-12-07 19:53:58,000 INFO celery.worker: ready\n";
    run(&c, joined, 0);
    assert_int_equal(c.n, 2);
    const struct event *x = ev_at(&c, 0);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->level, EV_LVL_ERROR);
    assert_int_equal(x->src.line, 1);
    assert_str(x->logger, "celery.worker");
    assert_str(x->message, "Received unregistered task 'a'.\nThe message has been ignored and discarded.\n\n"
                           "Did you remember to import the module?");
    assert_int_equal(x->u.exc.origin, EV_TB_LOGGED);
    assert_int_equal(ev_at(&c, 1)->src.line, 8);
    coll_free(&c);
    check_chunking("multi-line message", joined, sizeof(joined) - 1);

    static const char split[] = "ERROR:app:disk full\n"
                                " * Running on http://127.0.0.1:8890\n"
                                "\n"
                                "Press CTRL+C to quit\n"
                                "ERROR:app:failed\n"
                                "-----------------------------------\n"
                                "WARNING:app:dev server\n"
                                "stray output\n"
                                "Traceback (most recent call last):\n"
                                "  File \"a.py\", line 1, in f\n"
                                "KeyError: 'k'\n";
    run(&c, split, 0);
    assert_int_equal(c.n, 8);
    static const uint64_t lines[] = {1, 2, 4, 5, 6, 7, 8, 9};
    for (size_t k = 0; k < c.n; k++)
        assert_int_equal(ev_at(&c, k)->src.line, lines[k]);
    assert_str(ev_at(&c, 0)->message, "disk full");
    assert_int_equal(ev_at(&c, 0)->level, EV_LVL_ERROR);
    assert_str(ev_at(&c, 1)->message, " * Running on http://127.0.0.1:8890");
    assert_int_equal(ev_at(&c, 1)->level, EV_LVL_UNKNOWN);
    assert_str(ev_at(&c, 2)->message, "Press CTRL+C to quit");
    assert_str(ev_at(&c, 3)->message, "failed"); /* the rule is not the message's */
    assert_int_equal(ev_at(&c, 5)->level, EV_LVL_WARNING);
    x = ev_at(&c, 7);
    assert_int_equal(x->kind, EV_EXCEPTION); /* not the warning's */
    assert_int_equal(x->level, EV_LVL_UNKNOWN);
    assert_int_equal(x->u.exc.origin, EV_TB_PLAIN);
    coll_free(&c);
    check_chunking("multi-line message split", split, sizeof(split) - 1);
}

static void test_introducers(void **state)
{
    (void)state;
    struct coll c;
    run(&c,
        "Exception in thread Thread-1 (worker):\n"
        "Traceback (most recent call last):\n"
        "  File \"/usr/lib/python3.11/threading.py\", line 1045, in _bootstrap_inner\n"
        "    self.run()\n"
        "  File \"/opt/app/w.py\", line 5, in worker\n"
        "RuntimeError: boom\n",
        0);
    assert_int_equal(c.n, 1);
    const struct event *x = ev_at(&c, 0);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->src.line, 1);
    assert_int_equal(x->u.exc.origin, EV_TB_THREAD);
    assert_str(x->u.exc.thread_name, "Thread-1 (worker)");
    assert_int_equal(x->u.exc.chain.exc[0].nframes, 2);
    coll_free(&c);

    run(&c,
        "Task exception was never retrieved\n"
        "future: <Task finished name='Task-2' coro=<poll() done, defined at /opt/app/a.py:3> "
        "exception=ValueError('x')>\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/a.py\", line 5, in poll\n"
        "ValueError: x\n",
        0);
    assert_int_equal(c.n, 1);
    x = ev_at(&c, 0);
    assert_int_equal(x->u.exc.origin, EV_TB_ASYNCIO);
    assert_int_equal(x->src.line, 1);
    coll_free(&c);

    /* The asyncio logger's own record, with a prefix. */
    run(&c,
        "ERROR:asyncio:Task exception was never retrieved\n"
        "future: <Task finished name='Task-9' coro=<main() done> exception=KeyError('k')>\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/a.py\", line 9, in main\n"
        "KeyError: 'k'\n",
        0);
    assert_int_equal(c.n, 1);
    x = ev_at(&c, 0);
    assert_int_equal(x->u.exc.origin, EV_TB_ASYNCIO);
    assert_int_equal(x->level, EV_LVL_ERROR);
    assert_str(x->logger, "asyncio");
    assert_int_equal(x->src.line, 1);
    coll_free(&c);

    run(&c,
        "Exception ignored in: <function Conn.__del__ at 0x7f0a>\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/c.py\", line 20, in __del__\n"
        "OSError: [Errno 9] Bad file descriptor\n",
        0);
    assert_int_equal(c.n, 1);
    assert_int_equal(ev_at(&c, 0)->u.exc.origin, EV_TB_UNRAISABLE);
    assert_int_equal(ev_at(&c, 0)->src.line, 1);
    coll_free(&c);

    /* multiprocessing's "Process NAME:"; a sentence that only starts like it is not. */
    run(&c,
        "Process SpawnPoolWorker-2:\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/p.py\", line 3, in work\n"
        "ValueError: bad item 3\n",
        0);
    assert_int_equal(c.n, 1);
    assert_int_equal(ev_at(&c, 0)->u.exc.origin, EV_TB_PROCESS);
    assert_str(ev_at(&c, 0)->message, "Process SpawnPoolWorker-2:");
    assert_int_equal(ev_at(&c, 0)->src.line, 1);
    coll_free(&c);
    run(&c,
        "Process pool shut down:\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/p.py\", line 9, in main\n"
        "KeyError: 'k'\n",
        0);
    assert_int_equal(c.n, 2);
    assert_int_equal(ev_at(&c, 0)->kind, EV_LOG);
    assert_int_equal(ev_at(&c, 1)->u.exc.origin, EV_TB_PLAIN);
    coll_free(&c);

    /* A group printed without a stack, logged by logger.exception. */
    run(&c,
        "ERROR:batch:import failed\n"
        "  | ExceptionGroup: eg (2 sub-exceptions)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | ValueError: a\n"
        "    +---------------- 2 ----------------\n"
        "    | TypeError: b\n"
        "    +------------------------------------\n"
        "INFO:batch:next\n",
        0);
    assert_int_equal(c.n, 2);
    x = ev_at(&c, 0);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->src.line, 1);
    assert_int_equal(x->u.exc.origin, EV_TB_LOGGED);
    assert_str(x->logger, "batch");
    assert_non_null(x->u.exc.chain.exc[0].group);
    assert_int_equal(x->u.exc.chain.exc[0].group->n, 2);
    assert_int_equal(ev_at(&c, 1)->src.line, 8);
    coll_free(&c);

    /* An introducer logged at INFO level is still absorbed: plain INFO records go
     * out at once, but not one that could introduce the next line's traceback. */
    run(&c,
        "2024-05-01 10:00:00,000 INFO app.main [pid=7] request done\n"
        "2024-05-01 10:00:00,001 INFO app.main [pid=7] Exception in thread T-3:\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/t.py\", line 2, in run\n"
        "OSError: gone\n"
        "2024-05-01 10:00:00,002 INFO app.main [pid=7] next\n",
        0);
    assert_int_equal(c.n, 3);
    assert_int_equal(ev_at(&c, 0)->src.line, 1);
    x = ev_at(&c, 1);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->src.line, 2);
    assert_int_equal(x->u.exc.origin, EV_TB_THREAD);
    assert_str(x->u.exc.thread_name, "T-3");
    assert_int_equal(ev_at(&c, 2)->src.line, 6);
    coll_free(&c);

    /* "future:" without its first line is not an asyncio introducer. */
    run(&c,
        "future: <Task finished>\n"
        "Traceback (most recent call last):\n"
        "  File \"a.py\", line 1, in f\n"
        "ValueError: y\n",
        0);
    assert_int_equal(c.n, 2);
    assert_int_equal(ev_at(&c, 1)->u.exc.origin, EV_TB_PLAIN);
    coll_free(&c);
}

static void test_event_order(void **state)
{
    (void)state;
    static const char text[] =
        "INFO:jobs:job 1 done\n"                                /* 1 */
        "worker: job 0 ok\n"                                    /* 2 */
        "worker: job 1 ok\n"                                    /* 3: shape seen twice */
        "Traceback (most recent call last):\n"                  /* 4 */
        "INFO:jobs:job 2 done\n"                                /* 5 interleaved */
        "  File \"/opt/app/r.py\", line 12, in parse\n"         /* 6 */
        "ValueError: seven\n"                                   /* 7 */
        "worker: job 2 ok\n"                                    /* 8: foreign, not a note */
        "ERROR:jobs:job 3 failed\n"                             /* 9 */
        "Traceback (most recent call last):\n"                  /* 10 */
        "  File \"/opt/app/r.py\", line 14, in parse\n"         /* 11 */
        "KeyError: 'qty'\n"                                     /* 12 */
        "\n"                                                    /* 13 */
        "INFO:jobs:job 4 done\n";                               /* 14 */
    struct coll c;
    run(&c, text, 0);
    static const uint64_t want_lines[] = {1, 2, 3, 4, 5, 8, 9, 14};
    static const enum ev_kind want_kind[] = {EV_LOG, EV_LOG, EV_LOG, EV_EXCEPTION,
                                             EV_LOG, EV_LOG, EV_EXCEPTION, EV_LOG};
    assert_int_equal(c.n, sizeof(want_lines) / sizeof(want_lines[0]));
    for (size_t i = 0; i < c.n; i++) {
        if (ev_at(&c, i)->src.line != want_lines[i] || ev_at(&c, i)->kind != want_kind[i])
            fail_msg("event %zu: line %llu kind %d", i, (unsigned long long)ev_at(&c, i)->src.line,
                     ev_at(&c, i)->kind);
    }
    assert_int_equal(ev_at(&c, 3)->u.exc.chain.exc[0].nnotes, 0);
    assert_true(ev_at(&c, 3)->u.exc.interleaved);
    assert_str(ev_at(&c, 6)->logger, "jobs");
    coll_free(&c);
}

/* ---- container framing ------------------------------------------------------------- */

static void test_cri_partial_and_streams(void **state)
{
    (void)state;
    static const char text[] =
        "2024-05-01T10:00:00.000000001Z stderr P Traceback (most rec\n"
        "2024-05-01T10:00:00.000000002Z stderr F ent call last):\n"
        "2024-05-01T10:00:00.000000003Z stdout F 2024-05-01 10:00:00,000 INFO web.access GET / 200\n"
        "2024-05-01T10:00:00.000000004Z stderr F   File \"/opt/app/a.py\", line 3, in f\n"
        "2024-05-01T10:00:00.000000005Z stdout F     return int(raw)\n"
        "2024-05-01T10:00:00.000000006Z stdout F 2024-05-01 10:00:00,001 INFO web.access GET /x 200\n"
        "2024-05-01T10:00:00.000000007Z stderr P ValueError: a very \n"
        "2024-05-01T10:00:00.000000008Z stderr P long\n"
        "2024-05-01T10:00:00.000000009Z stderr F  message\n"
        "2024-05-01T10:00:01Z stdout F plain stdout\n";
    int bid = 0;
    const struct parser *p = parser_detect(text, sizeof(text) - 1, true, &bid);
    assert_non_null(p);
    assert_string_equal(p->name, "text");
    assert_int_equal(bid, 30);

    struct coll c;
    run(&c, text, 0);
    const struct event *x = NULL;
    size_t nlog = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct event *e = ev_at(&c, i);
        if (e->kind == EV_EXCEPTION) {
            assert_null(x);
            x = e;
        } else {
            nlog++;
            assert_str(e->stream_name, "stdout");
            assert_true(e->has_ts);
        }
        if (i > 0)
            assert_true(ev_at(&c, i - 1)->src.line < e->src.line);
    }
    assert_non_null(x);
    assert_int_equal(nlog, 4);
    assert_int_equal(x->src.line, 1);
    assert_str(x->stream_name, "stderr");
    assert_true(x->has_ts);
    assert_int_equal(x->u.exc.chain.n, 1);
    const struct ev_exc *e = &x->u.exc.chain.exc[0];
    assert_str(e->type, "ValueError");
    assert_str(e->message, "a very long message");
    assert_int_equal(e->nframes, 1);
    assert_str(e->frames[0].file, "/opt/app/a.py");
    /* The record on stdout keeps its own prefix fields. */
    assert_int_equal(ev_at(&c, 1)->level, EV_LVL_INFO);
    assert_str(ev_at(&c, 1)->logger, "web.access");
    /* stdout's indented line is stdout's own, not a source line of stderr's block. */
    assert_str(ev_at(&c, 2)->message, "    return int(raw)");
    assert_int_equal(ev_at(&c, 1)->ts_ns, ts_of("2024-05-01T10:00:00Z"));
    /* A line without a record prefix takes the runtime's time. */
    assert_str(ev_at(&c, c.n - 1)->message, "plain stdout");
    assert_int_equal(ev_at(&c, c.n - 1)->ts_ns, ts_of("2024-05-01T10:00:01Z"));
    coll_free(&c);

    /* Empty partials (a CRI "P" with no content, a docker line with "log":"")
     * join to nothing, first or last. */
    run(&c,
        "2024-05-01T10:00:00Z stdout P \n"
        "2024-05-01T10:00:00Z stdout P\n"
        "2024-05-01T10:00:00Z stdout F joined\n"
        "2024-05-01T10:00:00Z stderr P \n",
        0);
    assert_int_equal(c.n, 1);
    assert_str(ev_at(&c, 0)->message, "joined");
    assert_int_equal(ev_at(&c, 0)->src.line, 1);
    coll_free(&c);
    run(&c,
        "{\"log\":\"\",\"stream\":\"stdout\"}\n"
        "{\"log\":\"after empty\\n\",\"stream\":\"stdout\"}\n"
        "{\"log\":\"\",\"stream\":\"stderr\"}\n",
        0);
    assert_int_equal(c.n, 1);
    assert_str(ev_at(&c, 0)->message, "after empty");
    coll_free(&c);

    /* A P line left open at the end of input is still delivered. */
    run(&c, "2024-05-01T10:00:00Z stdout P no final line\n", 0);
    assert_int_equal(c.n, 1);
    assert_str(ev_at(&c, 0)->message, "no final line");
    coll_free(&c);
}

/* Event i is an exception whose writer the collector named: its fields, and the
 * type of its chain's root. */
static const struct event *framed_exception(const struct coll *c, size_t i, const char *service, const char *host,
                                            int64_t pid, const char *root_type)
{
    const struct event *x = ev_at(c, i);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_str(x->service, service);
    if (host != NULL)
        assert_str(x->host, host);
    assert_int_equal(x->pid, pid);
    assert_str(x->u.exc.chain.exc[0].type, root_type);
    return x;
}

/* Collectors' framing (framing.h): compose's lines of two services interleaved inside
 * a traceback, a journal that starts with its header; each writer's lines keep
 * apart, its events carry what the collector said, and no prefix stays in a message. */
static void test_collector_framing(void **state)
{
    (void)state;
    static const char compose[] =
        "Attaching to web-1, worker-1\n"
        "web-1     | 2026-12-07 10:00:00,130 ERROR app.web request failed\n"
        "web-1     | Traceback (most recent call last):\n"
        "worker-1  | 2026-12-07 10:00:00,131 INFO app.jobs job 7 progress\n"
        "web-1     |   File \"/srv/app/web.py\", line 10, in handle\n"
        "worker-1  | Traceback (most recent call last):\n"
        "web-1     |     return db.fetch(order_id)\n"
        "worker-1  |   File \"/srv/app/jobs.py\", line 4, in run\n"
        "web-1     | KeyError: 'order'\n"
        "worker-1  | ConnectionError: broker went away\n"
        "web-1     | 2026-12-07 10:00:00,140 INFO app.web request 8\n";
    struct coll c;
    run(&c, compose, 0);
    size_t nexc = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct event *e = ev_at(&c, i);
        if (i == 0) {
            assert_str(e->message, "Attaching to web-1, worker-1");
            assert_false(ev_str_present(e->service));
            continue;
        }
        assert_true(ev_str_eq(e->service, "web") || ev_str_eq(e->service, "worker"));
        if (e->kind != EV_EXCEPTION)
            continue;
        nexc++;
        const struct ev_exc *x = &e->u.exc.chain.exc[0];
        if (ev_str_eq(e->service, "web")) {
            assert_str(x->type, "KeyError");
            assert_int_equal(x->nframes, 1);
            assert_str(e->message, "request failed");
        } else {
            assert_str(x->type, "ConnectionError");
            assert_int_equal(x->nframes, 1);
            assert_str(x->frames[0].file, "/srv/app/jobs.py");
        }
    }
    assert_int_equal(nexc, 2);
    assert_int_equal(c.n, 5);
    coll_free(&c);
    check_chunking("compose", compose, sizeof(compose) - 1);

    static const char journal[] =
        "-- Journal begins at Mon 2026-12-07 09:00:00 UTC, ends at Mon 2026-12-07 10:00:01 UTC. --\n"
        "Dec 07 10:00:00 host1 gunicorn[1234]: [2026-12-07 10:00:00 +0000] [1234] [ERROR] Error handling request /x\n"
        "Dec 07 10:00:00 host1 gunicorn[1234]: Traceback (most recent call last):\n"
        "Dec 07 10:00:00 host1 gunicorn[1234]:   File \"/srv/app/web.py\", line 10, in handle\n"
        "Dec 07 10:00:00 host1 gunicorn[1234]: KeyError: 'order'\n"
        "Dec 07 10:00:01 host1 systemd[1]: Started Session 3 of user root.\n";
    run(&c, journal, 0);
    assert_int_equal(c.n, 3);
    const struct event *x = framed_exception(&c, 1, "gunicorn", "host1", 1234, "KeyError");
    assert_int_equal(x->level, EV_LVL_ERROR);
    assert_str(ev_at(&c, 2)->message, "Started Session 3 of user root.");
    assert_str(ev_at(&c, 2)->service, "systemd");
    assert_int_equal(ev_at(&c, 2)->pid, 1);
    coll_free(&c);
    check_chunking("journal", journal, sizeof(journal) - 1);

    /* journalctl indents a message's further lines to its column; a line at the
     * column, deeper (a frame) or blank (only the column's blanks) is that writer's */
    static const char multi[] =
        "Dec 08 01:17:47 vm1 shop-api[42]: request 3 failed\n"
        "Dec 08 01:17:47 vm1 other[7]: unrelated\n"
        "Dec 08 01:17:47 vm1 shop-api[42]: next\n"
        "                                  Traceback (most recent call last):\n"
        "                                    File \"/srv/app/a.py\", line 3, in f\n"
        "                                      g()\n"
        "                                  KeyError: 'k'\n"
        "                                  \n"
        "                                  The above exception was the direct cause of the following exception:\n"
        "                                  \n"
        "                                  Traceback (most recent call last):\n"
        "                                    File \"/srv/app/a.py\", line 5, in f\n"
        "                                  ValueError: v\n"
        "Dec 08 01:17:48 vm1 other[7]: after\n";
    run(&c, multi, 0);
    assert_int_equal(c.n, 4);
    x = framed_exception(&c, 2, "shop-api", "vm1", 42, "KeyError");
    assert_str(x->message, "next"); /* the entry's first line is the record's message */
    assert_int_equal(x->u.exc.origin, EV_TB_LOGGED);
    assert_int_equal(x->u.exc.chain.n, 2);
    assert_str(x->u.exc.chain.exc[1].type, "ValueError");
    assert_str(ev_at(&c, 3)->message, "after");
    assert_str(ev_at(&c, 3)->service, "other");
    coll_free(&c);
    check_chunking("journal continuation", multi, sizeof(multi) - 1);

    /* Ray's driver: its own lines first, its workers' lines from any line on */
    static const char ray[] =
        "2024-05-10 18:01:35,772\tINFO worker.py:1740 -- Started a local Ray instance.\n"
        "2024-05-10 18:01:35,900\tINFO worker.py:1800 -- Connected.\n"
        "2024-05-10 18:01:36,000\tINFO job.py:10 -- submitting\n"
        "2024-05-10 18:01:36,100\tINFO job.py:11 -- submitted\n"
        "(f pid=31071) starting shard 3\n"
        "(train_loop pid=31072, ip=10.0.0.2) Traceback (most recent call last):\n"
        "(f pid=31071) shard 3 done\n"
        "(train_loop pid=31072, ip=10.0.0.2)   File \"/srv/job/train.py\", line 40, in step\n"
        "(train_loop pid=31072, ip=10.0.0.2)     loss = model(batch)\n"
        "(train_loop pid=31072, ip=10.0.0.2) RuntimeError: CUDA out of memory.\n"
        "2024-05-10 18:01:37,000\tERROR job.py:20 -- shard failed\n"
        "(pid=45601) a worker without a task's name\n";
    run(&c, ray, 0);
    assert_int_equal(c.n, 9);
    assert_int_equal(ev_at(&c, 8)->pid, 45601);
    assert_false(ev_str_present(ev_at(&c, 8)->service));
    assert_str(ev_at(&c, 4)->service, "f");
    assert_str(ev_at(&c, 4)->message, "starting shard 3");
    x = framed_exception(&c, 5, "train_loop", "10.0.0.2", 31072, "RuntimeError");
    assert_int_equal(x->u.exc.chain.exc[0].nframes, 1);
    assert_str(ev_at(&c, 7)->message, "shard failed");
    assert_false(ev_str_present(ev_at(&c, 7)->service));
    coll_free(&c);
    check_chunking("ray", ray, sizeof(ray) - 1);

    /* More writers than keys: the rest share one that carries none of their fields
     * (rather than another writer's), and their tracebacks are still read. */
    char many[4096];
    size_t at = 0;
    for (int i = 0; i < 20; i++)
        at += (size_t)snprintf(many + at, sizeof(many) - at, "svc%02d-1  | 2026-12-07 10:00:%02d,000 INFO app hi %d\n", i,
                               i, i);
    at += (size_t)snprintf(many + at, sizeof(many) - at,
                           "svc19-1  | Traceback (most recent call last):\n"
                           "svc19-1  |   File \"/a.py\", line 1, in f\n"
                           "svc19-1  | KeyError: 1\n");
    run(&c, many, 0);
    assert_int_equal(c.n, 21);
    assert_str(ev_at(&c, 0)->service, "svc00");
    assert_str(ev_at(&c, 11)->service, "svc11");
    assert_false(ev_str_present(ev_at(&c, 12)->service));
    assert_false(ev_str_present(ev_at(&c, 19)->service));
    assert_int_equal(ev_at(&c, 20)->kind, EV_EXCEPTION);
    assert_str(ev_at(&c, 20)->u.exc.chain.exc[0].type, "KeyError");
    coll_free(&c);
}


static void test_docker_lines(void **state)
{
    (void)state;
    static const char text[] =
        "{\"log\":\"say \\\"hi\\\" back\\\\slash caf\\u00e9 \\ud83d\\ude00 tab\\there\\n\","
        "\"stream\":\"stdout\",\"time\":\"2024-05-01T10:00:00.5Z\"}\n"
        "{\"log\":\"part one \",\"stream\":\"stderr\",\"time\":\"2024-05-01T10:00:01Z\"}\n"
        "{\"log\":\"part two\\n\",\"stream\":\"stderr\",\"time\":\"2024-05-01T10:00:01Z\"}\n"
        "{\"log\":\"Traceback (most recent call last):\\n\",\"stream\":\"stderr\",\"time\":\"2024-05-01T10:00:02Z\"}\n"
        "{\"log\":\"  File \\\"/opt/app/a.py\\\", line 3, in f\\n\",\"stream\":\"stderr\",\"time\":\"2024-05-01T10:00:02Z\"}\n"
        "{\"log\":\"KeyError: 'caf\\u00e9'\\r\\n\",\"stream\":\"stderr\",\"time\":\"2024-05-01T10:00:02Z\"}\n"
        "{\"log\":\"lone \\ud800 surrogate\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:00:03Z\"}\n"
        "{\"log\":\"broken \\q escape\\n\",\"stream\":\"stdout\"}\n"
        "not json at all\n";
    int bid = 0;
    const struct parser *p = parser_detect(text, sizeof(text) - 1, true, &bid);
    assert_non_null(p);
    assert_string_equal(p->name, "text");
    assert_int_equal(bid, 40);

    struct coll c;
    run(&c, text, 0);
    assert_int_equal(c.n, 4);
    const struct event *e = ev_at(&c, 0);
    assert_str(e->message, "say \"hi\" back\\slash caf\xc3\xa9 \xf0\x9f\x98\x80 tab\there");
    assert_str(e->stream_name, "stdout");
    assert_int_equal(e->ts_ns, ts_of("2024-05-01T10:00:00.5Z"));
    assert_int_equal(e->src.line, 1);
    e = ev_at(&c, 1);
    assert_str(e->message, "part one part two");
    assert_str(e->stream_name, "stderr");
    assert_int_equal(e->src.line, 2);
    e = ev_at(&c, 2);
    assert_int_equal(e->kind, EV_EXCEPTION);
    assert_int_equal(e->src.line, 4);
    assert_str(e->u.exc.chain.exc[0].message, "'caf\xc3\xa9'");
    assert_str(e->u.exc.chain.exc[0].frames[0].file, "/opt/app/a.py");
    e = ev_at(&c, 3);
    assert_str(e->message, "lone \xef\xbf\xbd surrogate");
    /* The two bad lines are reported with their line numbers, not emitted. */
    assert_int_equal(c.ndiag, 2);
    assert_int_equal(c.diag_line[0], 8);
    assert_int_equal(c.diag_line[1], 9);
    coll_free(&c);
}

/* ---- hostile input and limits ------------------------------------------------------ */

static void test_invalid_utf8_and_nul(void **state)
{
    (void)state;
    static const char text[] =
        "abc\xff\xfe\0def\n"
        "ERROR:x\xc3:bad \xc0\xaf\n"
        "Traceback (most recent call last):\n"
        "  File \"\xff\0.py\", line 1, in f\xed\xa0\x80\n"
        "Value\xff" "Error: \xc3\n"
        "\0\0\0\n"
        "\r\r\r\n";
    struct coll c;
    coll_init(&c);
    assert_int_equal(run_lim(&c, text, sizeof(text) - 1, 0, NULL), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(ev_at(&c, 1)->kind, EV_EXCEPTION);
    assert_int_equal(ev_at(&c, 1)->src.line, 2);
    assert_int_equal(ev_at(&c, 1)->u.exc.chain.exc[0].frames[0].line, 1);
    /* Every document survives a dump and a reload. */
    char *s = json_dumps(c.docs, JSON_COMPACT);
    assert_non_null(s);
    json_error_t err;
    json_t *back = json_loads(s, 0, &err);
    if (back == NULL)
        fail_msg("reload: %s", err.text);
    assert_true(json_equal(back, c.docs));
    json_decref(back);
    free(s);
    assert_int_equal(ev_at(&c, 0)->message.len, 9); /* the NUL is kept as a byte */
    json_t *x = json_object_get(json_object_get(json_array_get(c.docs, 1), "exception"), "chain");
    assert_string_equal(json_string_value(json_object_get(json_array_get(x, 0), "type")),
                        "Value\xef\xbf\xbd" "Error");
    coll_free(&c);
}

static void test_long_line_truncated(void **state)
{
    (void)state;
    const size_t big = (size_t)2 << 20;
    char *t = malloc(big + 64);
    assert_non_null(t);
    memset(t, 'x', big);
    static const char tail[] = "\nnext line\n";
    memcpy(t + big, tail, sizeof(tail));
    size_t n = big + sizeof(tail) - 1;
    for (int pass = 0; pass < 2; pass++) {
        struct coll c;
        coll_init(&c);
        /* Whole, and in 4 KiB chunks (the carried-line path). */
        assert_int_equal(run_lim(&c, t, n, pass ? 4096 : 0, NULL), 0);
        assert_int_equal(c.n, 2);
        assert_int_equal(ev_at(&c, 0)->message.len, parse_limits_default.max_line);
        assert_int_equal(ev_at(&c, 0)->src.line, 1);
        assert_str(ev_at(&c, 1)->message, "next line");
        assert_int_equal(ev_at(&c, 1)->src.line, 2);
        assert_int_equal(c.ndiag, 1);
        assert_int_equal(c.diag_line[0], 1);
        assert_non_null(strstr(c.diag_reason[0], "truncated"));
        coll_free(&c);
    }
    free(t);
}

static void test_record_limit(void **state)
{
    (void)state;
    struct parse_limits lim = parse_limits_default;
    lim.max_record = 2048;
    size_t cap = 128 * 1024, o = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    o += (size_t)snprintf(t + o, cap - o, "ERROR:app:crashed\nTraceback (most recent call last):\n");
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(t + o, cap - o, "  File \"/opt/app/deep.py\", line %d, in f\n    f()\n", i + 1);
    o += (size_t)snprintf(t + o, cap - o, "RecursionError: too deep\nINFO:app:after\n");
    struct coll c;
    coll_init(&c);
    assert_int_equal(run_lim(&c, t, o, 0, &lim), 0);
    assert_int_equal(c.n, 2);
    const struct event *x = ev_at(&c, 0);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->src.line, 1);
    assert_str(x->u.exc.chain.exc[0].type, "RecursionError");
    assert_true(x->u.exc.chain.exc[0].nframes < 500);
    assert_int_equal(c.ndiag, 1);
    assert_non_null(strstr(c.diag_reason[0], "truncated"));
    coll_free(&c);
    free(t);
}

static void test_sink_stop(void **state)
{
    (void)state;
    struct coll c;
    coll_init(&c);
    c.stop_after = 2;
    static const char text[] = "INFO:a:1\nINFO:a:2\nINFO:a:3\nINFO:a:4\n";
    int rc = run_lim(&c, text, sizeof(text) - 1, 0, NULL);
    assert_int_equal(rc, 7);
    assert_int_equal(c.n, 2);
    coll_free(&c);
}

/* ---- chunking does not change the result ------------------------------------------- */

static json_t *events_of(const char *data, size_t n, size_t chunk)
{
    struct coll c;
    coll_init(&c);
    assert_int_equal(run_lim(&c, data, n, chunk, NULL), 0);
    json_t *docs = json_incref(c.docs);
    coll_free(&c);
    return docs;
}

static void check_chunking(const char *what, const char *data, size_t n)
{
    json_t *whole = events_of(data, n, 0);
    assert_true(json_array_size(whole) > 0);
    const size_t chunks[] = {1, 2, 3, 7, 64, 997, 4096};
    for (int mode = 0; mode < NOTE_MODES; mode++) {
        note_mode = mode;
        for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
            json_t *part = events_of(data, n, chunks[i]);
            if (!json_equal(whole, part))
                fail_msg("%s: chunks of %zu (notes %d) give different events (%zu vs %zu)", what, chunks[i], mode,
                         json_array_size(part), json_array_size(whole));
            json_decref(part);
        }
    }
    note_mode = 0;
    json_decref(whole);
}

static char *slurp(const char *rel, size_t *n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, rel);
    char *buf = test_read_file(path, n);
    if (buf == NULL)
        fail_msg("cannot read %s", path);
    return buf;
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    check_chunking("absorbed", absorbed_text, sizeof(absorbed_text) - 1);
    static const char mixed[] =
        "2024-05-01T10:00:00.000000001Z stderr P Traceback (most rec\n"
        "2024-05-01T10:00:00.000000002Z stderr F ent call last):\r\n"
        "2024-05-01T10:00:00.000000003Z stdout F INFO:web:GET / 200\n"
        "2024-05-01T10:00:00.000000004Z stderr F   File \"/opt/app/a.py\", line 3, in f\n"
        "2024-05-01T10:00:00.000000007Z stderr F ValueError: x\n"
        "2024-05-01T10:00:00.000000008Z stdout P tail without newline";
    check_chunking("cri", mixed, sizeof(mixed) - 1);
    const char *files[] = {"mixed/app_logging_docker.log", "mixed/two_process_interleaved.log",
                           "tracebacks/group_nested.txt", "tracebacks/process_pool_remote.txt"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n;
        char *buf = slurp(files[i], &n);
        check_chunking(files[i], buf, n);
        free(buf);
    }
}

/* Notes (prefixes read ahead on another thread) change no event: every text
 * artifact of the corpus, and the lines where a note and the parser could disagree
 * (CRLF, a line cut at the line limit, framing that moves the content, a line split
 * between chunks), give the same events with notes as without. */
static void test_notes_change_nothing(void **state)
{
    (void)state;
    static const char tricky[] =
        "2024-05-01 10:00:00,001 INFO app.web [pid=7] crlf line\r\n"
        "2024-05-01 10:00:00,002 ERROR app.web [pid=7] failed\r\n"
        "Traceback (most recent call last):\r\n"
        "  File \"/opt/app/a.py\", line 3, in f\r\n"
        "ValueError: x\r\n"
        "\n"
        "WARNING:app.db:slow query\n"
        "Exception in thread worker-1:\n"
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/w.py\", line 9, in run\n"
        "KeyError: 'k'\n"
        "2024-05-01 10:00:01,000 INFO app.web [pid=7] last line without newline";
    check_chunking("tricky", tricky, sizeof(tricky) - 1);

    /* A line longer than the limit is delivered cut: its note (of the whole line)
     * must not be used. */
    struct parse_limits lim = parse_limits_default;
    lim.max_line = 40;
    static const char longl[] = "2024-05-01 10:00:00,001 ERROR app.web a message much longer than the limit\n"
                                "2024-05-01 10:00:00,002 INFO app.web [pid=7] short\n";
    json_t *want = NULL;
    for (int mode = 0; mode < NOTE_MODES; mode++) {
        note_mode = mode;
        struct coll c;
        coll_init(&c);
        assert_int_equal(run_lim(&c, longl, sizeof(longl) - 1, 4096, &lim), 0);
        assert_int_equal(c.n, 2);
        assert_str(ev_at(&c, 0)->message, "a"); /* cut at 40 bytes, its last blank dropped */
        if (want == NULL)
            want = json_incref(c.docs);
        else if (!json_equal(want, c.docs))
            fail_msg("a line cut at the limit: notes %d give other events", mode);
        coll_free(&c);
    }
    json_decref(want);
    note_mode = 0;

    const char *files[] = {"mixed/app_logging.log", "mixed/app_logging_cri.log", "mixed/app_logging_docker.log",
                           "mixed/two_process_interleaved.log", "tracebacks/asyncio_never_retrieved.txt",
                           "tracebacks/thread_exception.txt", "tracebacks/chain4_cause_context_cause.txt",
                           "tracebacks/group_nested.txt", "tracebacks/syntax_compile.txt",
                           "tracebacks/multiline_message.txt"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n;
        char *buf = slurp(files[i], &n);
        check_chunking(files[i], buf, n);
        free(buf);
    }
}

/* ---- terminal colours ------------------------------------------------------------ */

static void test_ansi_strip(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"\x1b[1;35mKeyError\x1b[0m: \x1b[35m'b'\x1b[0m", "KeyError: 'b'"},
        {"\x1b[m\x1b[0;38;5;208mx\x1b[K", "x"},                         /* empty, 256-colour, erase */
        {"a\x1b]8;;file:///a.py\x07" "a.py\x1b]8;;\x07" "b", "aa.pyb"},         /* OSC ended by BEL */
        {"a\x1b]0;title\x1b\\b", "ab"},                                 /* OSC ended by ST */
        {"a\x1bP1$r0m\x1b\\b", "ab"},                                   /* DCS */
        {"a\x1b(Bb\x1b=c\x1b" "7d", "abcd"},                              /* nF and Fp escapes */
        {"a\x1b[31", "a"},                                              /* cut off at the end */
        {"a\x1b", "a"},                                                 /* a lone ESC at the end */
        {"a\x1b]unterminated", "a"},
        {"a\x1b[1\nb", "a\nb"},                                         /* not a CSI: the newline stays */
        {"a\x1b]x\x1b[1mb", "ab"},                                      /* OSC cut by another escape */
        {"\xc3\xa9\x1b[1m\xe2\x82\xac", "\xc3\xa9\xe2\x82\xac"},        /* UTF-8 around it untouched */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128], inplace[128];
        size_t n = strlen(cases[i].in);
        size_t got = ansi_strip(cases[i].in, n, out);
        if (got != strlen(cases[i].want) || memcmp(out, cases[i].want, got) != 0)
            fail_msg("case %zu: got '%.*s'", i, (int)got, out);
        memcpy(inplace, cases[i].in, n);
        assert_int_equal(ansi_strip(inplace, n, inplace), got);
        assert_memory_equal(inplace, out, got);
    }
}

/* A file of tests/data/wild (real output from the wild, see its README). */
static char *wild(const char *name, size_t *n)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "../wild/%s", name);
    return slurp(rel, n);
}

/* Python 3.13 colours an uncaught traceback on a terminal, a formatter colours the
 * level: the events are those of the same output without its colours, however the
 * bytes are chunked and noted (the first ESC may come in a later chunk than the
 * line it belongs to starts in). */
static void test_colored_output(void **state)
{
    (void)state;
    const char *files[] = {"py313-color-logging.txt", "py313-color-chained.txt", "py313-color-group.txt",
                           "py313-color-syntax.txt", "py313-color-logging.cri.log"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n;
        char *buf = wild(files[i], &n);
        char *plain = malloc(n + 1);
        assert_non_null(plain);
        size_t pn = ansi_strip(buf, n, plain);
        assert_true(pn < n);
        json_t *want = events_of(plain, pn, 0);
        json_t *got = events_of(buf, n, 0);
        if (!json_equal(want, got)) {
            char *a = json_dumps(got, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
            fail_msg("%s: coloured gives %.600s\nwithout colours %.600s", files[i], a, b);
        }
        json_decref(want);
        json_decref(got);
        check_chunking(files[i], buf, n);
        free(plain);
        free(buf);
    }

    /* The logging file's own facts: levels read through their colours, the chained
     * uncaught traceback, and no escape left in any message. */
    struct coll c;
    size_t n;
    char *buf = wild("py313-color-logging.txt", &n);
    coll_init(&c);
    assert_int_equal(run_lim(&c, buf, n, 0, NULL), 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(ev_at(&c, 1)->level, EV_LVL_WARNING);
    assert_str(ev_at(&c, 1)->message, "queue depth 120 above 100");
    assert_int_equal(ev_at(&c, 2)->kind, EV_EXCEPTION);
    const struct event *last = ev_at(&c, 4);
    assert_int_equal(last->kind, EV_EXCEPTION);
    char *doc = json_dumps(c.docs, JSON_COMPACT);
    assert_null(strstr(doc, "\\u001b"));
    assert_non_null(strstr(doc, "\"type\":\"FileNotFoundError\""));
    assert_non_null(strstr(doc, "\"type\":\"RuntimeError\",\"message\":\"config unavailable\",\"relation\":\"cause\""));
    free(doc);
    coll_free(&c);
    free(buf);

    /* A quiet stream that turns colourful after megabytes: the first ESC sits in a
     * line that began in the chunk before. */
    static const char quiet[] = "2024-05-01 10:00:00,001 INFO app.web all is well\n";
    static const char loud[] = "Traceback (most recent call last):\n"
                               "  File \x1b[35m\"/srv/app/a.py\"\x1b[0m, line \x1b[35m3\x1b[0m, in \x1b[35mf\x1b[0m\n"
                               "\x1b[1;35mValueError\x1b[0m: \x1b[35mx\x1b[0m\n";
    size_t reps = (3u << 20) / (sizeof(quiet) - 1);
    size_t total = reps * (sizeof(quiet) - 1) + sizeof(loud) - 1;
    char *big = malloc(total);
    assert_non_null(big);
    for (size_t k = 0; k < reps; k++)
        memcpy(big + k * (sizeof(quiet) - 1), quiet, sizeof(quiet) - 1);
    memcpy(big + reps * (sizeof(quiet) - 1), loud, sizeof(loud) - 1);
    for (int mode = 0; mode < NOTE_MODES; mode++) {
        note_mode = mode;
        for (size_t chunk = 65536; chunk <= 65536 + 80; chunk += 40) {
            coll_init(&c);
            c.stop_after = 0;
            assert_int_equal(run_lim(&c, big, total, chunk, NULL), 0);
            assert_int_equal(c.n, reps + 1);
            json_t *lastdoc = json_array_get(c.docs, json_array_size(c.docs) - 1);
            char *d = json_dumps(lastdoc, JSON_COMPACT);
            if (strstr(d, "\"type\":\"ValueError\",\"message\":\"x\"") == NULL ||
                strstr(d, "\"file\":\"/srv/app/a.py\"") == NULL)
                fail_msg("chunks of %zu, notes %d: %s", chunk, mode, d);
            free(d);
            coll_free(&c);
        }
    }
    note_mode = 0;
    free(big);
}

/* pytest's failure sections: every --tb style gives the same chains (types, relations,
 * frame counts, innermost functions), under any chunking and notes. */
static json_t *chains_of(json_t *docs, const char *origin)
{
    json_t *out = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        json_t *x = json_object_get(d, "exception");
        if (x == NULL || (origin != NULL && strcmp(json_string_value(json_object_get(x, "origin")), origin) != 0))
            continue;
        size_t k;
        json_t *e;
        json_t *chain = json_array();
        json_array_foreach(json_object_get(x, "chain"), k, e) {
            json_t *frames = json_object_get(e, "frames");
            json_t *last = json_array_get(frames, json_array_size(frames) - 1);
            json_array_append_new(chain, json_pack("[O, O, i, O]", json_object_get(e, "relation"),
                                                   json_object_get(e, "type"), (int)json_array_size(frames),
                                                   last ? json_object_get(last, "function") : json_null()));
        }
        json_array_append_new(out, chain);
    }
    return out;
}

static void test_pytest_sections(void **state)
{
    (void)state;
    const char *styles[] = {"auto", "long", "short", "native"};
    json_t *want = NULL;
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof(name), "pytest/pytest-7.2-tb-%s.txt", styles[i]);
        size_t n;
        char *buf = wild(name, &n);
        check_chunking(name, buf, n);
        json_t *docs = events_of(buf, n, 0);
        /* native prints CPython tracebacks (but for the collection error, which pytest
         * always prints its own way): every exception, whatever its origin */
        json_t *got = chains_of(docs, NULL);
        if (want == NULL) {
            want = json_incref(got);
            assert_int_equal(json_array_size(want), 6);
            json_t *pytest_only = chains_of(docs, "pytest");
            assert_int_equal(json_array_size(pytest_only), 5); /* the group is CPython's layout */
            json_decref(pytest_only);
            char *s = json_dumps(want, JSON_COMPACT);
            assert_non_null(strstr(s, "[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                                      "[\"cause\",\"RuntimeError\",2,\"load_order\"]]"));
            assert_non_null(strstr(s, "[[\"root\",\"ConnectionError\",1,\"db\"]]"));
            free(s);
        } else if (!json_equal(want, got)) {
            char *a = json_dumps(got, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
            fail_msg("--tb=%s: %s\nwant %s", styles[i], a, b);
        }
        json_decref(got);
        json_decref(docs);
        free(buf);
    }
    json_decref(want);
}

/* What a failing test printed or logged (pytest's "Captured" parts) is not its
 * traceback: an 'E' it printed is no part of the message, and its log records stay
 * records, with their logger. The report's own lines are the event's alone. */
static void test_pytest_captured(void **state)
{
    (void)state;
    size_t n;
    char *buf = wild("pytest/pytest-7.2-captured.txt", &n);
    check_chunking("pytest captured", buf, n);
    json_t *docs = events_of(buf, n, 0);
    json_t *got = chains_of(docs, "pytest");
    char *s = json_dumps(got, JSON_COMPACT);
    assert_string_equal(s, "[[[\"root\",\"ValueError\",2,\"charge\"]],[[\"root\",\"AssertionError\",1,"
                           "\"test_teardown_noise\"]]]");
    free(s);
    json_decref(got);
    size_t i;
    json_t *d;
    int records = 0, printed = 0;
    json_array_foreach(docs, i, d) {
        const char *m = json_string_value(json_object_get(d, "message"));
        json_t *x = json_object_get(d, "exception");
        if (x != NULL) {
            const char *em = json_string_value(json_object_get(json_array_get(json_object_get(x, "chain"), 0), "message"));
            assert_null(strstr(em, "printed line"));
            continue;
        }
        assert_non_null(m);
        /* no line of the report itself */
        assert_null(strstr(m, "def charge"));
        assert_null(strstr(m, "test_captured.py:8: ValueError"));
        assert_null(strstr(m, "________ test_"));
        if (strcmp(m, "E   this printed line only looks like an E line") == 0)
            printed++;
        const char *lg = json_string_value(json_object_get(d, "logger"));
        if (lg != NULL && strcmp(lg, "shop.checkout") == 0 &&
            (strcmp(m, "payment gateway said no") == 0 || strcmp(m, "retrying in 5 s") == 0))
            records++;
    }
    assert_int_equal(printed, 1);
    assert_int_equal(records, 2);
    json_decref(docs);
    free(buf);

    /* A section that holds no exception gives its lines back, in order. */
    static const char none[] = "________________________ test_x ________________________\n"
                               "nothing to see\n"
                               "================ 1 passed ================\n";
    struct coll c;
    run(&c, none, 0);
    assert_int_equal(c.n, 3);
    for (size_t k = 0; k < c.n; k++) {
        assert_int_equal(ev_at(&c, k)->kind, EV_LOG);
        assert_int_equal(ev_at(&c, k)->src.line, k + 1);
    }
    coll_free(&c);
}

/* The events of a file of tests/data/wild, checked to be the same under every
 * chunking and with notes. */
static json_t *wild_events(const char *file)
{
    size_t n;
    char *buf = wild(file, &n);
    check_chunking(file, buf, n);
    json_t *docs = events_of(buf, n, 0);
    free(buf);
    return docs;
}

/* The message (or another string field) of event k of docs; NULL when absent. */
static const char *doc_str(json_t *docs, size_t k, const char *field)
{
    return json_string_value(json_object_get(json_array_get(docs, k), field));
}

/* Element i of the chain of event k of docs (root first); NULL when absent. */
static json_t *chain_at(json_t *docs, size_t k, size_t i)
{
    return json_array_get(json_object_get(json_object_get(json_array_get(docs, k), "exception"), "chain"), i);
}

/* wild_events, whose exceptions of origin have the chains want (chains_of's form). */
static json_t *expect_wild_chains(const char *file, const char *origin, const char *want)
{
    json_t *docs = wild_events(file);
    json_t *got = chains_of(docs, origin);
    char *s = json_dumps(got, JSON_COMPACT);
    if (strcmp(s, want) != 0)
        fail_msg("%s: %s", file, s);
    free(s);
    json_decref(got);
    return docs;
}

/* IPython's tracebacks (a notebook's output), plain and coloured, under any chunking
 * and notes; a log around them stays log. */
static void test_ipython_blocks(void **state)
{
    (void)state;
    static const char *const json_chain = "[[[\"root\",\"JSONDecodeError\",4,\"JSONDecoder.raw_decode\"],"
                                          "[\"cause\",\"RuntimeError\",2,\"load\"]]]";
    json_decref(expect_wild_chains("ipython/ipython-8.5-ip-nocolor.txt", "ipython", json_chain));
    json_decref(expect_wild_chains("ipython/ipython-8.5-ip-color.txt", "ipython", json_chain));
    json_decref(expect_wild_chains("ipython/ipython-8.5-ip-cell.txt", "ipython",
                                   "[[[\"root\",\"ZeroDivisionError\",2,\"f\"]]]"));
    /* IPython 8.12's SyntaxError layout ("Cell In[1], line 1" as its location), in a
     * cell and in code a cell exec'd (its Plain-mode frames before the location). */
    json_t *docs = expect_wild_chains("ipython/ipython-8.12-syntax-cell.txt", NULL,
                                      "[[[\"root\",\"SyntaxError\",0,null]]]");
    json_t *syn = json_object_get(json_array_get(json_object_get(json_object_get(json_array_get(docs, 0),
                                                                                  "exception"), "chain"), 0),
                                  "syntax");
    assert_string_equal(json_string_value(json_object_get(syn, "filename")), "Cell In[1]");
    assert_string_equal(json_string_value(json_object_get(syn, "text")), "x = = 1");
    assert_int_equal(json_array_size(docs), 1);
    json_decref(docs);
    json_decref(expect_wild_chains("ipython/ipython-8.12-syntax-exec.txt", NULL,
                                   "[[[\"root\",\"SyntaxError\",2,\"<module>\"]]]"));
    static const char around[] = "2026-12-07 10:00:00,001 INFO nb starting\n"
                                 "---------------------------------------------------------------------------\n"
                                 "KeyError                                  Traceback (most recent call last)\n"
                                 "Cell In[2], line 1\n"
                                 "----> 1 {}[\"k\"]\n"
                                 "\n"
                                 "KeyError: 'k'\n"
                                 "2026-12-07 10:00:01,001 INFO nb done\n";
    struct coll c;
    run(&c, around, 0);
    size_t i;
    json_t *d;
    int logs = 0, excs = 0;
    json_array_foreach(c.docs, i, d) {
        const char *m = json_string_value(json_object_get(d, "message"));
        if (json_object_get(d, "exception") != NULL)
            excs++;
        else if (m != NULL && strstr(m, "INFO") == NULL && strncmp(m, "nb ", 3) == 0)
            logs++;
    }
    assert_int_equal(excs, 1);
    assert_int_equal(logs, 2);
    coll_free(&c);
    check_chunking("ipython in a log", around, sizeof(around) - 1);

    /* A record at WARNING or above just before it (a rule between) introduces it, as
     * logger.exception's record does a CPython traceback: one event, in order. */
    static const char logged[] = "2026-12-07 10:00:00,001 INFO nb starting\n"
                                 "2026-12-07 10:00:01,002 ERROR papermill cell 2 failed\n"
                                 "---------------------------------------------------------------------------\n"
                                 "KeyError                                  Traceback (most recent call last)\n"
                                 "Cell In[2], line 1\n"
                                 "----> 1 {}[\"k\"]\n"
                                 "\n"
                                 "KeyError: 'k'\n"
                                 "2026-12-07 10:00:02,001 INFO nb done\n";
    run(&c, logged, 0);
    /* The rule and the traceback's lines are the event's, not lines as well. */
    assert_int_equal(c.n, 3);
    assert_int_equal(ev_at(&c, 0)->kind, EV_LOG);
    assert_int_equal(ev_at(&c, 2)->kind, EV_LOG);
    assert_str(ev_at(&c, 2)->message, "nb done");
    const struct event *x = ev_at(&c, 1);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_int_equal(x->u.exc.origin, EV_TB_IPYTHON);
    assert_int_equal(x->src.line, 2);
    assert_int_equal(x->level, EV_LVL_ERROR);
    assert_true(x->has_ts);
    assert_str(x->message, "papermill cell 2 failed");
    for (size_t k = 1; k < c.n; k++)
        assert_true(ev_at(&c, k)->src.line > ev_at(&c, k - 1)->src.line); /* in order */
    coll_free(&c);
    check_chunking("ipython after a record", logged, sizeof(logged) - 1);
}

/* rich's boxes: a traceback of its own, and RichHandler's (indented, padded, the
 * message wrapped), under any chunking and notes; the record after it stays a record. */
static void test_rich_boxes(void **state)
{
    (void)state;
    json_decref(expect_wild_chains("rich/rich-13.3-traceback.txt", "rich",
                                   "[[[\"root\",\"JSONDecodeError\",4,\"raw_decode\"],"
                                   "[\"cause\",\"RuntimeError\",2,\"load\"]]]"));
    json_t *docs = expect_wild_chains("rich/rich-13.3-richhandler.txt", "rich",
                                      "[[[\"root\",\"ValueError\",2,\"charge\"]]]");
    json_t *last = json_array_get(docs, json_array_size(docs) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "level")), "WARNING");
    assert_string_equal(json_string_value(json_object_get(last, "message")), "retrying later"); /* unpadded */
    size_t k;
    json_t *d;
    json_array_foreach(docs, k, d) if (json_object_get(d, "exception") != NULL) {
        const char *m = json_string_value(
            json_object_get(json_array_get(json_object_get(json_object_get(d, "exception"), "chain"), 0), "message"));
        assert_string_equal(m, "negative amount -5 is not allowed for customer account number 12345678 "
                               "in region eu-west");
    }
    json_decref(docs);
}

/* RichHandler as it is configured most (rich's docs: a time column, the level, the
 * message, a path column), 80 and 160 columns wide, with rich's tracebacks and with
 * logging's (formatted into the message column, and wrapped there when narrow): each
 * record is one event with its time (a blank time column repeats the last), its
 * message whole (rejoined where rich wrapped or folded it; a newline it had kept),
 * without the path column; each exception one event with its whole chain. */
static void test_rich_handler_columns(void **state)
{
    (void)state;
    static const struct {
        const char *file, *origin;
    } files[] = {
        {"rich/rich-13.3-richhandler-default.txt", "rich"},
        {"rich/rich-13.3-richhandler-wide.txt", "rich"},
        {"rich/rich-13.3-richhandler-plain-tb.txt", "logged"},
        {"rich/rich-13.3-richhandler-plain-tb-wide.txt", "logged"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        bool rich = strcmp(files[i].origin, "rich") == 0;
        char want[512];
        snprintf(want, sizeof(want),
                 "[[[\"root\",\"%s\",4,\"%s\"],[\"cause\",\"RuntimeError\",2,\"load_order\"]]]",
                 rich ? "JSONDecodeError" : "json.decoder.JSONDecodeError", rich ? "raw_decode" : "raw_decode");
        json_t *docs = expect_wild_chains(files[i].file, files[i].origin, want);
        static const char *const levels[] = {"INFO", "WARNING", "ERROR", "ERROR", "INFO"};
        static const char *const msgs[] = {
            "worker ready", "cache is cold, the first requests will be slow while it warms up from the database",
            "order 1001 rejected", "a plain error\nwith a second line", "done"};
        if (json_array_size(docs) != 5)
            fail_msg("%s: %zu events", files[i].file, json_array_size(docs));
        for (size_t k = 0; k < 5; k++) {
            json_t *d = json_array_get(docs, k);
            assert_string_equal(json_string_value(json_object_get(d, "level")), levels[k]);
            assert_string_equal(json_string_value(json_object_get(d, "message")), msgs[k]);
            const char *ts = json_string_value(json_object_get(d, "ts"));
            assert_non_null(ts);
            assert_int_equal(strncmp(ts, "2026-12-07T17:30:0", 18), 0);
            json_t *x = json_object_get(d, "exception");
            assert_true((x != NULL) == (k == 2));
            if (x != NULL) {
                json_t *f0 = json_array_get(json_object_get(json_array_get(json_object_get(x, "chain"), 0), "frames"), 1);
                assert_string_equal(json_string_value(json_object_get(f0, "file")),
                                    "/usr/lib/python3.11/json/__init__.py"); /* folded at the box's edge */
            }
        }
        json_decref(docs);
    }
}

/* Tornado's LogFormatter indents a message's further lines and the traceback by
 * four: an uncaught exception in a handler is one event, its record's, with the
 * request's repr in the message and the whole chain; the records after it stay
 * records (before, the frames were taken for a traceback without a header, found no
 * exception line in their indent, and were lost). */
static void test_tornado(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("tornado-6.2.txt", "logged",
                                      "[[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                                      "[\"cause\",\"RuntimeError\",3,\"load_order\"]]]");
    assert_int_equal(json_array_size(docs), 4);
    static const char *const levels[] = {"INFO", "ERROR", "ERROR", "WARNING"};
    for (size_t k = 0; k < 4; k++) {
        json_t *d = json_array_get(docs, k);
        assert_string_equal(json_string_value(json_object_get(d, "level")), levels[k]);
        assert_string_equal(json_string_value(json_object_get(d, "logger")), "web");
    }
    const char *m = json_string_value(json_object_get(json_array_get(docs, 1), "message"));
    assert_int_equal(strncmp(m, "Uncaught exception POST /orders (127.0.0.1)\nHTTPServerRequest(", 62), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 3), "message")),
                        "404 GET /missing (127.0.0.1) 0.36ms");
    json_decref(docs);
}

/* Django's runserver with DEBUG on: "Internal Server Error: /orders/" introduces the
 * traceback (its record, at ERROR, printed as the message alone), and the access
 * records after the exception stay records (they were read as its notes). */
static void test_django_runserver(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("django-3.2-runserver.txt", "logged",
                                      "[[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                                      "[\"cause\",\"RuntimeError\",5,\"load_order\"]]]");
    size_t n = json_array_size(docs), k;
    json_t *d;
    int access = 0;
    json_array_foreach(docs, k, d) {
        json_t *x = json_object_get(d, "exception");
        if (x != NULL) {
            assert_string_equal(json_string_value(json_object_get(d, "message")), "Internal Server Error: /orders/");
            assert_string_equal(json_string_value(json_object_get(d, "level")), "ERROR");
            assert_null(json_object_get(json_array_get(json_object_get(x, "chain"), 1), "notes"));
            assert_true(k + 3 < n);
        }
        const char *m = json_string_value(json_object_get(d, "message"));
        if (m != NULL && m[0] == '"' && json_object_get(d, "ts") != NULL)
            access++;
    }
    assert_int_equal(access, 3);
    json_decref(docs);
}

/* Web servers' logs from the wild, each with the same chained failure of a request.
 * gunicorn 20.1 with --access-logfile -: its error log ("[time +0000] [pid] [LEVEL]")
 * and the access log (common log format) on one stream. The access record after the
 * traceback is a record of its own (it was read as the exception's note), and the
 * exception has the pid and time of "Error handling request". uvicorn 0.17's
 * "LEVEL:    message", plain and coloured, gives the same chain. */
static void test_web_servers(void **state)
{
    (void)state;
    static const char *const chain = "[[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                                     "[\"cause\",\"LookupError\",4,\"load_order\"]]]";
    json_t *docs = expect_wild_chains("gunicorn-20.1.txt", "logged", chain);
    size_t k;
    json_t *d;
    int access = 0;
    json_array_foreach(docs, k, d) {
        json_t *x = json_object_get(d, "exception");
        const char *m = json_string_value(json_object_get(d, "message"));
        if (x != NULL) {
            assert_string_equal(m, "Error handling request /orders");
            assert_int_equal(json_integer_value(json_object_get(d, "pid")), 13064);
            assert_string_equal(json_string_value(json_object_get(d, "ts")), "2026-12-07T19:52:55Z");
            assert_null(json_object_get(json_array_get(json_object_get(x, "chain"), 1), "notes"));
        }
        if (m != NULL && strncmp(m, "127.0.0.1 - - [07/Dec/2026:", 27) == 0) {
            assert_non_null(json_object_get(d, "ts"));
            access++;
        }
        if (m != NULL && strcmp(m, "WORKER TIMEOUT (pid:13064)") == 0)
            assert_string_equal(json_string_value(json_object_get(d, "level")), "CRITICAL");
    }
    assert_int_equal(access, 3);
    json_decref(docs);
    /* Flask 2.2's development server (werkzeug): "ERROR in app:" introduces the
     * traceback; werkzeug's access lines ("HOST - - [07/Dec/2026 20:24:46] ...", no
     * zone) are records, not the exception's notes; its banner after "WARNING:"
     * stays lines. aiohttp 3.8 with basicConfig: "ERROR:aiohttp.server:Error
     * handling request". */
    docs = expect_wild_chains("flask-2.2-devserver.txt", "logged",
                              "[[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                              "[\"cause\",\"LookupError\",6,\"load_order\"]]]");
    assert_int_equal(json_array_size(docs), 9);
    access = 0;
    json_array_foreach(docs, k, d) {
        json_t *x = json_object_get(d, "exception");
        const char *m = json_string_value(json_object_get(d, "message"));
        if (x != NULL) {
            assert_string_equal(m, "Exception on /orders [GET]");
            assert_null(json_object_get(json_array_get(json_object_get(x, "chain"), 1), "notes"));
        }
        if (strncmp(m, "127.0.0.1 - - [07/Dec/2026 20:24:46] \"GET", 41) == 0) {
            assert_string_equal(json_string_value(json_object_get(d, "ts")), "2026-12-07T20:24:46Z");
            access++;
        }
    }
    assert_int_equal(access, 3);
    json_decref(docs);
    docs = expect_wild_chains("aiohttp-3.8.txt", "logged", chain);
    json_array_foreach(docs, k, d) {
        if (json_object_get(d, "exception") != NULL) {
            assert_string_equal(json_string_value(json_object_get(d, "message")), "Error handling request");
            assert_string_equal(json_string_value(json_object_get(d, "logger")), "aiohttp.server");
        }
    }
    json_decref(docs);
    static const char *const uchain = "[[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                                      "[\"cause\",\"LookupError\",4,\"load_order\"]]]";
    const char *ufiles[] = {"uvicorn-0.17.txt", "uvicorn-0.17-color.txt"};
    for (int i = 0; i < 2; i++) {
        docs = expect_wild_chains(ufiles[i], "logged", uchain);
        json_array_foreach(docs, k, d) {
            if (json_object_get(d, "exception") != NULL) {
                assert_string_equal(json_string_value(json_object_get(d, "message")), "Exception in ASGI application");
                assert_string_equal(json_string_value(json_object_get(d, "level")), "ERROR");
            }
        }
        json_decref(docs);
    }
}

/* The types of the worker chains quoted in the messages of docs' exceptions, each
 * as "Carrier>[Type,Type]" with deeper quotes inside the brackets, joined by ' '. */
static void remote_types(json_t *chain, char *out, size_t cap)
{
    size_t k;
    json_t *e;
    json_array_foreach(chain, k, e) {
        json_t *r = json_object_get(e, "remote");
        if (r == NULL)
            continue;
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s>[", json_string_value(json_object_get(e, "type")));
        size_t j;
        json_t *x;
        json_array_foreach(r, j, x) {
            used = strlen(out);
            snprintf(out + used, cap - used, "%s%s", j ? "," : "", json_string_value(json_object_get(x, "type")));
        }
        used = strlen(out);
        snprintf(out + used, cap - used, " "); /* then the quotes within, if any */
        remote_types(r, out, cap);
        used = strlen(out);
        snprintf(out + used, cap - used, "] ");
    }
}

static void expect_remotes(json_t *docs, const char *want)
{
    char got[1024] = "";
    size_t k;
    json_t *d;
    json_array_foreach(docs, k, d) {
        json_t *x = json_object_get(d, "exception");
        if (x != NULL)
            remote_types(json_object_get(x, "chain"), got, sizeof(got));
    }
    assert_string_equal(got, want);
}

/* Workers' tracebacks quoted in a message, read under every chunking: Celery 5.2's
 * prefork pool (billiard's ExceptionWithTraceback, the only exception of its
 * chain, logged by "Task ... raised unexpected"), CPython 3.11's multiprocessing
 * Pool (RemoteTraceback as the cause), and a ProcessPoolExecutor worker whose Pool
 * worker failed: a quote inside a quote. */
static void test_worker_tracebacks(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("celery-5.2.txt", "logged",
                                      "[[[\"root\",\"billiard.einfo.ExceptionWithTraceback\",3,\"charge\"]],"
                                      "[[\"root\",\"billiard.einfo.ExceptionWithTraceback\",4,"
                                      "\"soft_timeout_sighandler\"]]]");
    expect_remotes(docs, "billiard.einfo.ExceptionWithTraceback>[json.decoder.JSONDecodeError,LookupError ] "
                         "billiard.einfo.ExceptionWithTraceback>[billiard.exceptions.SoftTimeLimitExceeded ] ");
    /* The task's id is each of its records' trace id: received, the soft time limit's
     * warning, the failure. */
    size_t k;
    json_t *d;
    int charge = 0, slow = 0;
    json_array_foreach(docs, k, d) {
        const char *tid = json_string_value(json_object_get(d, "trace_id"));
        charge += tid != NULL && strcmp(tid, "e729a1a873f640e78ab82197b43da558") == 0;
        slow += tid != NULL && strcmp(tid, "1caa8527379d4f41861b959fa5a95c92") == 0;
        if (json_object_get(d, "exception") != NULL) {
            const char *m = json_string_value(json_object_get(d, "message"));
            assert_non_null(strstr(m, "raised unexpected: ExceptionWithTraceback()"));
            assert_string_equal(json_string_value(json_object_get(d, "level")), "ERROR");
            assert_non_null(tid);
        }
    }
    assert_int_equal(charge, 2);
    assert_int_equal(slow, 3);
    json_decref(docs);
    /* Celery's unregistered-task error: a message of paragraphs, then the traceback. */
    docs = expect_wild_chains("celery-5.2-unregistered.txt", "logged",
                              "[[[\"root\",\"KeyError\",1,\"on_task_received\"]],"
                              "[[\"root\",\"KeyError\",1,\"on_task_received\"]],"
                              "[[\"root\",\"KeyError\",1,\"on_task_received\"]]]");
    json_array_foreach(docs, k, d) {
        if (json_object_get(d, "exception") != NULL) {
            const char *m = json_string_value(json_object_get(d, "message"));
            assert_int_equal(strncmp(m, "Received unregistered task of type 'shop.", 41), 0);
            assert_non_null(strstr(m, "\nThe delivery info for this task is:\n{'exchange': ''"));
            assert_string_equal(json_string_value(json_object_get(d, "level")), "ERROR");
            assert_non_null(json_object_get(d, "ts"));
        }
    }
    json_decref(docs);
    docs = expect_wild_chains("py311-pool-remote.txt", "traceback",
                              "[[[\"root\",\"multiprocessing.pool.RemoteTraceback\",0,null],"
                              "[\"cause\",\"ValueError\",4,\"get\"]]]");
    expect_remotes(docs, "multiprocessing.pool.RemoteTraceback>[ValueError ] ");
    json_decref(docs);
    docs = expect_wild_chains("py311-pool-nested-remote.txt", "traceback",
                              "[[[\"root\",\"concurrent.futures.process._RemoteTraceback\",0,null],"
                              "[\"cause\",\"ValueError\",4,\"__get_result\"]]]");
    expect_remotes(docs, "concurrent.futures.process._RemoteTraceback>[multiprocessing.pool.RemoteTraceback,"
                         "ValueError multiprocessing.pool.RemoteTraceback>[ValueError ] ] ");
    json_decref(docs);
}

/* logging's stack_info from the wild (CPython 3.11): at WARNING, and at ERROR after a
 * message of two lines, the stack is the record's message; at INFO (a record that
 * goes out as it is) its lines stay lines; traceback.print_stack's frames too. */
static void test_stack_info(void **state)
{
    (void)state;
    json_t *docs = wild_events("py311-stack-info.txt");
    assert_int_equal(json_array_size(docs), 14);
    const char *m = doc_str(docs, 1, "message");
    assert_int_equal(strncmp(m, "slow batch, where are we?\nStack (most recent call last):\n", 57), 0);
    assert_non_null(strstr(m, "line 10, in worker\n    log.warning("));
    m = doc_str(docs, 2, "message");
    assert_int_equal(strncmp(m, "lost the lease\nretrying from the last checkpoint\nStack (most recent", 67), 0);
    assert_string_equal(doc_str(docs, 2, "level"), "ERROR");
    assert_string_equal(doc_str(docs, 4, "message"), "Stack (most recent call last):");
    json_decref(docs);
}

/* The lines that say whose traceback follows (sys.unraisablehook's, asyncio's,
 * unittest's) introduce the next exception: never notes of the one before, as an
 * unindented line after an exception line otherwise may be. Each names its event. */
static void test_wild_introducers(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("py311-unraisable.txt", "unraisable",
                                      "[[[\"root\",\"ZeroDivisionError\",1,\"__del__\"]],"
                                      "[[\"root\",\"ValueError\",1,\"rows\"]],"
                                      "[[\"root\",\"RuntimeError\",1,\"flush\"]]]");
    assert_int_equal(json_array_size(docs), 3);
    assert_int_equal(strncmp(doc_str(docs, 0, "message"), "Exception ignored in: <function Conn.__del__ at 0x", 50), 0);
    assert_int_equal(strncmp(doc_str(docs, 1, "message"), "Exception ignored in: <generator object rows at", 47), 0);
    assert_int_equal(strncmp(doc_str(docs, 2, "message"), "Exception ignored in atexit callback: <function flush", 53),
                     0);
    for (size_t k = 0; k < 3; k++)
        assert_null(json_object_get(chain_at(docs, k, 0), "notes"));
    json_decref(docs);

    /* asyncio's reports, printed alone and through logging: at ERROR, named by
     * their first line; the TaskGroup's group after them is a traceback of its own. */
    static const char *const aio = "[[[\"root\",\"ValueError\",2,\"on_timer\"]],[[\"root\",\"KeyError\",1,\"fetch\"]]]";
    docs = expect_wild_chains("py311-asyncio.txt", "asyncio", aio);
    assert_int_equal(json_array_size(docs), 3);
    assert_string_equal(doc_str(docs, 0, "message"), "Exception in callback on_timer() at /srv/app/asyncio_app.py:20");
    assert_string_equal(doc_str(docs, 0, "level"), "ERROR");
    assert_string_equal(doc_str(docs, 1, "message"), "Task exception was never retrieved");
    json_decref(docs);
    docs = expect_wild_chains("py311-asyncio-logging.txt", "asyncio", aio);
    assert_int_equal(json_array_size(docs), 5);
    assert_string_equal(doc_str(docs, 1, "logger"), "asyncio");
    assert_string_equal(doc_str(docs, 1, "ts"), "2026-12-07T22:04:25.484Z");
    assert_string_equal(doc_str(docs, 3, "message"), "gathering");
    json_decref(docs);
    /* A protocol's failure: its message, then two context lines. */
    docs = expect_wild_chains("py311-asyncio-fatal.txt", "asyncio", "[[[\"root\",\"ValueError\",2,\"data_received\"]]]");
    assert_int_equal(json_array_size(docs), 1);
    assert_string_equal(doc_str(docs, 0, "message"), "Fatal error: protocol.data_received() call failed.");
    assert_string_equal(doc_str(docs, 0, "level"), "ERROR");
    json_decref(docs);

    /* unittest's report: "ERROR: test (id)" (which logging's default format would
     * read as a level) or "FAIL: ...", a rule, the traceback. */
    docs = expect_wild_chains("py311-unittest.txt", "unittest",
                              "[[[\"root\",\"OSError\",1,\"setUpClass\"]],"
                              "[[\"root\",\"ValueError\",1,\"test_parse\"],"
                              "[\"cause\",\"RuntimeError\",1,\"test_parse\"]],"
                              "[[\"root\",\"AssertionError\",1,\"test_limits\"]],"
                              "[[\"root\",\"AssertionError\",1,\"test_limits\"]]]");
    assert_int_equal(json_array_size(docs), 17);
    assert_string_equal(doc_str(docs, 7, "message"), "ERROR: setUpClass (__main__.Db)");
    assert_string_equal(doc_str(docs, 11, "message"), "FAIL: test_limits (__main__.Orders.test_limits) (i=1)");
    assert_string_equal(doc_str(docs, 11, "level"), "ERROR");
    json_decref(docs);
}

/* Twisted's logs: twisted.logger's "TIME [namespace#level] msg" and the legacy
 * "TIME [-] msg", a failure's traceback indented by a tab under its record, with
 * "--- <exception caught here> ---" between the frames and "builtins." before the
 * type. An unhandled Deferred's two records ("Unhandled error in Deferred:" and an
 * empty one holding the traceback) are one event. */
static void test_twisted(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("twisted-22.4.txt", "logged",
                                      "[[[\"root\",\"RuntimeError\",6,\"charge\"]],"
                                      "[[\"root\",\"KeyError\",5,\"main\"]]]");
    assert_int_equal(json_array_size(docs), 3);
    assert_string_equal(doc_str(docs, 0, "message"), "Unhandled error in Deferred:");
    assert_string_equal(doc_str(docs, 0, "level"), "CRITICAL");
    assert_string_equal(doc_str(docs, 0, "logger"), "twisted.internet.defer");
    assert_string_equal(doc_str(docs, 1, "message"), "lookup failed");
    assert_string_equal(doc_str(docs, 1, "logger"), "shop.orders");
    assert_string_equal(doc_str(docs, 2, "message"), "Main loop terminated.");
    assert_null(doc_str(docs, 2, "logger"));
    json_decref(docs);
    docs = expect_wild_chains("twisted-22.4-legacy.txt", "logged", "[[[\"root\",\"ZeroDivisionError\",1,\"<module>\"]]]");
    assert_int_equal(json_array_size(docs), 4);
    assert_string_equal(doc_str(docs, 2, "message"), "division went wrong");
    assert_non_null(doc_str(docs, 2, "ts"));
    json_decref(docs);
}

/* Chains as SQLAlchemy, requests and pydantic raise them, logged by logger.exception:
 * SQLAlchemy's message lines ("[SQL: ...]", "(Background on this error at: ...)")
 * are its message, not notes; urllib3's retries give four exceptions, each raised
 * while handling the one before. */
static void test_sqlalchemy_requests(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains(
        "sqlalchemy-1.4-requests-2.28.txt", "logged",
        "[[[\"root\",\"sqlite3.IntegrityError\",2,\"do_execute\"],"
        "[\"cause\",\"sqlalchemy.exc.IntegrityError\",9,\"do_execute\"]],"
        "[[\"root\",\"ConnectionRefusedError\",3,\"create_connection\"],"
        "[\"context\",\"urllib3.exceptions.NewConnectionError\",10,\"_new_conn\"],"
        "[\"context\",\"urllib3.exceptions.MaxRetryError\",3,\"increment\"],"
        "[\"context\",\"requests.exceptions.ConnectionError\",6,\"send\"]]]");
    assert_int_equal(json_array_size(docs), 2);
    json_t *outer = chain_at(docs, 0, 1);
    assert_string_equal(json_string_value(json_object_get(outer, "message")),
                        "(sqlite3.IntegrityError) NOT NULL constraint failed: orders.sku\n"
                        "[SQL: insert into orders (id, sku) values (1, null)]\n"
                        "(Background on this error at: https://sqlalche.me/e/14/gkpj)");
    assert_null(json_object_get(outer, "notes"));
    assert_string_equal(doc_str(docs, 1, "message"), "health check failed");
    json_decref(docs);

    /* pydantic's "N validation errors for Model": the fields' lines (their names
     * unindented) are the message's, logged or uncaught. */
    docs = wild_events("pydantic-1.10.txt");
    assert_int_equal(json_array_size(docs), 2);
    for (size_t k = 0; k < 2; k++) {
        json_t *e = chain_at(docs, k, 0);
        assert_string_equal(json_string_value(json_object_get(e, "type")), "pydantic.error_wrappers.ValidationError");
        assert_string_equal(json_string_value(json_object_get(e, "message")),
                            "2 validation errors for Order\nsku\n  field required (type=value_error.missing)\n"
                            "qty\n  value is not a valid integer (type=type_error.integer)");
        assert_null(json_object_get(e, "notes"));
    }
    json_decref(docs);
}

/* numpy's RuntimeWarnings and other warnings as Python prints them between logging
 * records: each a record at WARNING, its source line (indented by two) part of it; a
 * second line of the message stays a line. */
static void test_python_warnings(void **state)
{
    (void)state;
    json_t *docs = wild_events("numpy-1.24-warnings.txt");
    assert_int_equal(json_array_size(docs), 9);
    assert_string_equal(doc_str(docs, 1, "level"), "WARNING");
    assert_string_equal(doc_str(docs, 1, "message"),
                        "/srv/app/warn_app.py:14: RuntimeWarning: overflow encountered in exp\n"
                        "return 1 / (1 + np.exp(-x))");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(docs, 1), "source"), "line")),
                     2);
    assert_string_equal(doc_str(docs, 4, "level"), "WARNING");
    assert_non_null(strstr(doc_str(docs, 4, "message"), "DeprecationWarning: the 'lr'"));
    assert_string_equal(doc_str(docs, 6, "message"), "they are skipped");
    assert_null(doc_str(docs, 6, "level"));
    json_decref(docs);
}

/* AWS Lambda's Python runtime (its LambdaLoggerHandler's format, "[%(levelname)s]\t
 * %(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"): the request id is
 * each record's trace id, normalized, and the exception event logger.exception's
 * record introduces has it too; other invocations' records keep theirs. */
static void test_lambda_request_ids(void **state)
{
    (void)state;
    static const char text[] =
        "START RequestId: 8f5e2a1c-1b2c-4d3e-9f00-123456789abc Version: $LATEST\n"
        "[INFO]\t2026-12-07T18:00:00.123Z\t8f5e2a1c-1b2c-4d3e-9f00-123456789abc\tprocessing order 7\n"
        "[ERROR]\t2026-12-07T18:00:00.456Z\t8f5e2a1c-1b2c-4d3e-9f00-123456789abc\torder failed\n"
        "Traceback (most recent call last):\n"
        "  File \"/var/task/app.py\", line 12, in handler\n"
        "    process(event)\n"
        "KeyError: 'order_id'\n"
        "[INFO]\t2026-12-07T18:00:01.000Z\t0a1b2c3d-0000-4000-8000-00000000beef\tnext invocation\n"
        "2026-12-07T18:00:04.012Z 0a1b2c3d-0000-4000-8000-00000000beef Task timed out after 3.00 seconds\n";
    struct coll c;
    run(&c, text, 0);
    assert_int_equal(c.n, 5);
    assert_str(ev_at(&c, 0)->trace_id, "8f5e2a1c1b2c4d3e9f00123456789abc"); /* START */
    assert_int_equal(ev_at(&c, 4)->level, EV_LVL_ERROR);
    assert_str(ev_at(&c, 4)->trace_id, "0a1b2c3d00004000800000000000beef");
    assert_str(ev_at(&c, 4)->message, "Task timed out after 3.00 seconds");
    assert_str(ev_at(&c, 1)->trace_id, "8f5e2a1c1b2c4d3e9f00123456789abc");
    const struct event *x = ev_at(&c, 2);
    assert_int_equal(x->kind, EV_EXCEPTION);
    assert_str(x->trace_id, "8f5e2a1c1b2c4d3e9f00123456789abc");
    assert_str(x->message, "order failed");
    assert_int_equal(x->level, EV_LVL_ERROR);
    assert_str(ev_at(&c, 3)->trace_id, "0a1b2c3d00004000800000000000beef");
    coll_free(&c);
    check_chunking("lambda", text, sizeof(text) - 1);
}

/* What looks like a traceback but never reaches an exception line is given back
 * as lines, in order: traceback.print_stack's frames, with the record before them,
 * which the frames had taken as their introducer. All of it was lost before.
 * logging's stack_info ("Stack (most recent call last):" and the frames, right after
 * the record) is that record's message: one event. */
static void test_unfinished_blocks_given_back(void **state)
{
    (void)state;
    static const char text[] = "2026-12-07 18:19:13,761 INFO app.jobs: start\n"
                               "2026-12-07 18:19:13,762 WARNING app.jobs: slow batch, where are we?\n"
                               "Stack (most recent call last):\n"
                               "  File \"/srv/app/stack_app.py\", line 11, in <module>\n"
                               "    worker()\n"
                               "  File \"/srv/app/stack_app.py\", line 7, in worker\n"
                               "    log.warning(\"slow batch, where are we?\", stack_info=True)\n"
                               "other text\n"
                               "2026-12-07 18:19:13,762 WARNING app.jobs: print_stack next\n"
                               "  File \"/srv/app/stack_app.py\", line 8, in worker\n"
                               "    traceback.print_stack(limit=2)\n"
                               "2026-12-07 18:19:13,762 INFO app.jobs: done\n";
    struct coll c;
    run(&c, text, 0);
    static const uint64_t lines[] = {1, 2, 8, 9, 10, 11, 12};
    assert_int_equal(c.n, 7);
    for (size_t k = 0; k < c.n; k++) {
        assert_int_equal(ev_at(&c, k)->kind, EV_LOG);
        assert_int_equal(ev_at(&c, k)->src.line, lines[k]);
    }
    assert_int_equal(ev_at(&c, 1)->level, EV_LVL_WARNING);
    assert_str(ev_at(&c, 1)->message, "slow batch, where are we?\nStack (most recent call last):\n"
                                      "  File \"/srv/app/stack_app.py\", line 11, in <module>\n"
                                      "    worker()\n"
                                      "  File \"/srv/app/stack_app.py\", line 7, in worker\n"
                                      "    log.warning(\"slow batch, where are we?\", stack_info=True)");
    assert_str(ev_at(&c, 2)->message, "other text");
    assert_str(ev_at(&c, 3)->message, "print_stack next"); /* given back: a record again */
    assert_int_equal(ev_at(&c, 3)->level, EV_LVL_WARNING);
    assert_str(ev_at(&c, 4)->message, "  File \"/srv/app/stack_app.py\", line 8, in worker");
    assert_int_equal(c.ndiag, 0);
    coll_free(&c);
    check_chunking("unfinished blocks", text, sizeof(text) - 1);
}

/* coloredlogs' default layout (with colours, as on a terminal): the host, logger
 * and pid of each record, and of the exception event logger.exception's record
 * introduces. */
static void test_coloredlogs(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("coloredlogs-15.0.txt", "logged",
                                      "[[[\"root\",\"json.decoder.JSONDecodeError\",4,\"raw_decode\"],"
                                      "[\"cause\",\"RuntimeError\",2,\"load_order\"]]]");
    assert_int_equal(json_array_size(docs), 3);
    static const char *const levels[] = {"INFO", "ERROR", "WARNING"};
    static const char *const msgs[] = {"worker ready", "order 1001 rejected", "slow request took 812 ms"};
    for (size_t k = 0; k < 3; k++) {
        json_t *d = json_array_get(docs, k);
        assert_string_equal(json_string_value(json_object_get(d, "level")), levels[k]);
        assert_string_equal(json_string_value(json_object_get(d, "message")), msgs[k]);
        assert_string_equal(json_string_value(json_object_get(d, "host")), "vm");
        assert_string_equal(json_string_value(json_object_get(d, "logger")), "shop.orders");
        assert_int_equal(json_integer_value(json_object_get(d, "pid")), 1763);
    }
    json_decref(docs);
}

/* structlog's ConsoleRenderer with rich installed: "[error    ]" records, and the
 * exception drawn by rich (coloured, with locals boxes) after the record of
 * log.exception, which it joins. */
static void test_structlog_console(void **state)
{
    (void)state;
    json_t *docs = expect_wild_chains("structlog-22.3-console.txt", "rich",
                                      "[[[\"root\",\"JSONDecodeError\",4,\"raw_decode\"],"
                                      "[\"cause\",\"RuntimeError\",2,\"load_order\"]]]");
    assert_int_equal(json_array_size(docs), 3);
    static const char *const levels[] = {"INFO", "ERROR", "WARNING"};
    for (size_t k = 0; k < 3; k++) {
        json_t *d = json_array_get(docs, k);
        assert_string_equal(json_string_value(json_object_get(d, "level")), levels[k]);
        assert_non_null(json_object_get(d, "ts"));
    }
    assert_int_equal(strncmp(json_string_value(json_object_get(json_array_get(docs, 1), "message")),
                             "order rejected", 14),
                     0);
    json_decref(docs);
}

/* An open section holds its lines back (a Kafka checkpoint must not pass them) until
 * the next section or rule closes it. */
static void test_pytest_held(void **state)
{
    (void)state;
    static const char part[] = "..F\n"
                               "=================================== FAILURES ===================================\n"
                               "__________________________________ test_x __________________________________\n"
                               "t.py:3: in test_x\n"
                               "E   ValueError: v\n";
    struct coll c;
    coll_init(&c);
    struct parser_env env = {.stream = "t.log", .emit = sink, .emit_ctx = &c, .diag = diag, .diag_ctx = &c,
                             .limits = &parse_limits_default};
    void *st = parser_text.open(&env);
    assert_int_equal(parser_text.feed(st, part, sizeof(part) - 1), 0);
    uint64_t held = parser_text.held_from(st);
    assert_true(held >= 1 && held <= 3); /* at or before the header, line 3 */
    static const char rest[] = "=========================== short test summary info ============================\n";
    assert_int_equal(parser_text.feed(st, rest, sizeof(rest) - 1), 0);
    size_t i;
    json_t *d;
    bool found = false;
    json_array_foreach(c.docs, i, d) if (json_object_get(d, "exception") != NULL) found = true;
    assert_true(found); /* out at the rule, before the end of input */
    assert_true(parser_text.held_from(st) == 0 || parser_text.held_from(st) > 3);
    assert_int_equal(parser_text.finish(st), 0);
    parser_text.close(st);
    coll_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logprefix_table),
        cmocka_unit_test(test_logprefix_cache_agrees),
        cmocka_unit_test(test_logprefix_through_parser),
        cmocka_unit_test(test_error_record_absorbed),
        cmocka_unit_test(test_info_record_not_absorbed),
        cmocka_unit_test(test_multiline_messages),
        cmocka_unit_test(test_introducers),
        cmocka_unit_test(test_event_order),
        cmocka_unit_test(test_cri_partial_and_streams),
        cmocka_unit_test(test_collector_framing),
        cmocka_unit_test(test_docker_lines),
        cmocka_unit_test(test_invalid_utf8_and_nul),
        cmocka_unit_test(test_long_line_truncated),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_sink_stop),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_notes_change_nothing),
        cmocka_unit_test(test_ansi_strip),
        cmocka_unit_test(test_colored_output),
        cmocka_unit_test(test_pytest_sections),
        cmocka_unit_test(test_pytest_held),
        cmocka_unit_test(test_ipython_blocks),
        cmocka_unit_test(test_pytest_captured),
        cmocka_unit_test(test_rich_handler_columns),
        cmocka_unit_test(test_structlog_console),
        cmocka_unit_test(test_coloredlogs),
        cmocka_unit_test(test_tornado),
        cmocka_unit_test(test_django_runserver),
        cmocka_unit_test(test_web_servers),
        cmocka_unit_test(test_worker_tracebacks),
        cmocka_unit_test(test_python_warnings),
        cmocka_unit_test(test_stack_info),
        cmocka_unit_test(test_wild_introducers),
        cmocka_unit_test(test_twisted),
        cmocka_unit_test(test_sqlalchemy_requests),
        cmocka_unit_test(test_lambda_request_ids),
        cmocka_unit_test(test_unfinished_blocks_given_back),
        cmocka_unit_test(test_rich_boxes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
