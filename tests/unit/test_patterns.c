/* test_patterns.c -- the finding store and the two core detectors, driven with
 * hand-made events: folding by id, bounds, ordering, the nested_exception
 * fingerprint (what folds and what does not), its severities and evidence, the
 * error_message templates, and parameter handling through the pattern tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "correlate/arena.h"
#include "correlate/event.h"
#include "correlate/evtime.h"
#include "parsers/tb.h"
#include "patterns/finding.h"
#include "patterns/pattern.h"

#define NS 1000000000LL
#define T0 (1714557600LL * NS) /* 2024-05-01T10:00:00Z */

/* ---- helpers ---------------------------------------------------------------------- */

static struct event log_event(enum ev_level lvl, const char *logger, const char *msg, int64_t ts,
                              uint64_t line)
{
    struct event ev;
    ev_init(&ev, EV_LOG);
    ev.level = lvl;
    if (logger != NULL)
        ev.logger = ev_str_make(logger, strlen(logger));
    if (msg != NULL)
        ev.message = ev_str_make(msg, strlen(msg));
    ev.has_ts = ts != 0;
    ev.ts_ns = ts;
    ev.src.stream = "app.log";
    ev.src.line = line;
    return ev;
}

static struct finding *new_finding(uint64_t fp, enum severity sev)
{
    struct finding *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    finding_make_id(f->id, "test_pattern", fp, NULL, 0);
    f->pattern = "test_pattern";
    f->rule = "test.rule";
    f->severity = sev;
    f->title = strdup("a title");
    f->pid = -1;
    f->evidence = json_pack("{s:I}", "fp", (json_int_t)fp);
    return f;
}

static const struct pattern *pattern_named(const char *name)
{
    for (size_t i = 0; pattern_registry[i] != NULL; i++)
        if (strcmp(pattern_registry[i]->name, name) == 0)
            return pattern_registry[i];
    fail_msg("no pattern %s", name);
    return NULL;
}

struct det {
    const struct pattern *p;
    struct pat_config cfg;
    struct finding_store *store;
    void *st;
};

static void det_open(struct det *d, const char *name, const char *param, const char *value)
{
    memset(d, 0, sizeof(*d));
    d->p = pattern_named(name);
    assert_int_equal(pattern_config_defaults(d->p, &d->cfg), 0);
    if (param != NULL) {
        char err[128];
        assert_int_equal(pattern_config_set(d->p, &d->cfg, param, value, err, sizeof(err)), 0);
    }
    d->store = finding_store_create(0);
    assert_non_null(d->store);
    d->st = d->p->create(&d->cfg, d->store);
    assert_non_null(d->st);
}

static void det_feed(struct det *d, const struct event *ev)
{
    assert_int_equal(d->p->on_event(d->st, ev), 0);
}

static struct finding **det_findings(struct det *d, size_t *n)
{
    assert_int_equal(d->p->flush(d->st), 0);
    return finding_store_sorted(d->store, n);
}

static void det_close(struct det *d)
{
    d->p->destroy(d->st);
    finding_store_destroy(d->store);
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- the finding store ------------------------------------------------------------ */

static void test_store_fold(void **state)
{
    (void)state;
    struct finding_store *s = finding_store_create(0);
    assert_non_null(s);
    struct event e1 = log_event(EV_LVL_ERROR, "a", "m", T0 + 5 * NS, 10);
    struct finding *f = finding_store_insert(s, new_finding(1, SEV_HIGH), &e1);
    assert_non_null(f);
    assert_int_equal(f->count, 1);
    assert_true(f->has_time);
    assert_int_equal(f->first_seen, T0 + 5 * NS);
    char id[FINDING_ID_LEN + 1];
    memcpy(id, f->id, sizeof(id));

    /* Unknown ids are not touched. */
    char other[FINDING_ID_LEN + 1];
    finding_make_id(other, "test_pattern", 2, NULL, 0);
    assert_null(finding_store_touch(s, other, &e1));

    /* Out-of-order times widen the window both ways; an event without a time
     * counts but leaves it alone. */
    struct event e2 = log_event(EV_LVL_ERROR, "a", "m", T0 + 1 * NS, 11);
    struct event e3 = log_event(EV_LVL_ERROR, "a", "m", T0 + 9 * NS, 12);
    struct event e4 = log_event(EV_LVL_ERROR, "a", "m", 0, 13);
    assert_ptr_equal(finding_store_touch(s, id, &e2), f);
    assert_ptr_equal(finding_store_touch(s, id, &e3), f);
    assert_ptr_equal(finding_store_touch(s, id, &e4), f);
    assert_int_equal(f->count, 4);
    assert_int_equal(f->first_seen, T0 + 1 * NS);
    assert_int_equal(f->last_seen, T0 + 9 * NS);
    assert_int_equal(finding_store_count(s), 1);

    /* Sources: the first five kept, the rest counted. */
    for (int i = 0; i < 4; i++) {
        struct event e = log_event(EV_LVL_ERROR, "a", "m", T0 + 3 * NS, 100 + (uint64_t)i);
        finding_store_touch(s, id, &e);
    }
    assert_int_equal(f->count, 8);
    assert_int_equal(f->nsources, FINDING_MAX_SOURCES);
    assert_int_equal(f->more_sources, 8 - FINDING_MAX_SOURCES);
    assert_int_equal(f->sources[0].line, 10);
    assert_int_equal(f->sources[4].line, 100);
    assert_string_equal(f->sources[0].stream, "app.log");

    json_t *j = finding_to_json(f);
    assert_non_null(j);
    assert_string_equal(jstr(j, "id"), id);
    assert_string_equal(jstr(j, "pattern"), "test_pattern");
    assert_string_equal(jstr(j, "severity"), "high");
    assert_string_equal(jstr(j, "rule"), "test.rule");
    assert_string_equal(jstr(j, "first_seen"), "2024-05-01T10:00:01Z");
    assert_string_equal(jstr(j, "last_seen"), "2024-05-01T10:00:09Z");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 8);
    assert_int_equal(json_array_size(json_object_get(j, "sources")), FINDING_MAX_SOURCES);
    assert_int_equal(json_integer_value(json_object_get(j, "more_sources")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "evidence"), "fp")), 1);
    assert_true(json_is_null(json_object_get(j, "trace_id")));
    assert_true(json_is_null(json_object_get(j, "pid")));
    json_decref(j);
    finding_store_destroy(s);
    finding_store_destroy(NULL);
}

static void test_store_ids(void **state)
{
    (void)state;
    char a[FINDING_ID_LEN + 1], b[FINDING_ID_LEN + 1], c[FINDING_ID_LEN + 1], d[FINDING_ID_LEN + 1];
    finding_make_id(a, "nested_exception", 42, "svc", 3);
    finding_make_id(b, "nested_exception", 42, "svc", 3);
    finding_make_id(c, "nested_exception", 42, "svd", 3);
    finding_make_id(d, "error_message", 42, "svc", 3);
    assert_int_equal(strlen(a), FINDING_ID_LEN);
    assert_string_equal(a, b); /* stable */
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    for (size_t i = 0; i < FINDING_ID_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    enum severity sv;
    assert_int_equal(severity_parse("critical", &sv), 0);
    assert_int_equal(sv, SEV_CRITICAL);
    assert_int_equal(severity_parse("CRITICAL", &sv), -1);
    assert_int_equal(severity_parse("severe", &sv), -1);
    assert_string_equal(severity_name(SEV_MEDIUM), "medium");
}

static void test_store_bounded_and_sorted(void **state)
{
    (void)state;
    struct finding_store *s = finding_store_create(4);
    struct event ev = log_event(EV_LVL_ERROR, "a", "m", T0, 1);
    struct finding *lo1 = finding_store_insert(s, new_finding(1, SEV_LOW), &ev);
    struct finding *hi1 = finding_store_insert(s, new_finding(2, SEV_HIGH), &ev);
    struct finding *hi3 = finding_store_insert(s, new_finding(3, SEV_HIGH), &ev);
    struct finding *crit = finding_store_insert(s, new_finding(4, SEV_CRITICAL), &ev);
    assert_non_null(lo1);
    assert_non_null(crit);
    finding_store_touch(s, hi3->id, &ev);
    finding_store_touch(s, hi3->id, &ev);
    /* Full: new ids are dropped and counted (and the store frees them). */
    for (uint64_t fp = 10; fp < 13; fp++)
        assert_null(finding_store_insert(s, new_finding(fp, SEV_CRITICAL), &ev));
    assert_int_equal(finding_store_count(s), 4);
    assert_int_equal(finding_store_dropped(s), 3);
    /* Existing ids still fold, by touch and by a second insert of the same id. */
    assert_ptr_equal(finding_store_touch(s, lo1->id, &ev), lo1);
    assert_int_equal(lo1->count, 2);
    assert_ptr_equal(finding_store_insert(s, new_finding(1, SEV_LOW), &ev), lo1);
    assert_int_equal(lo1->count, 3);
    assert_int_equal(finding_store_dropped(s), 3);
    /* Without an event there is nothing to fold, and nothing to crash on. */
    assert_ptr_equal(finding_store_insert(s, new_finding(1, SEV_LOW), NULL), lo1);
    assert_int_equal(lo1->count, 3);

    size_t n = 0;
    struct finding **sorted = finding_store_sorted(s, &n);
    assert_int_equal(n, 4);
    assert_ptr_equal(sorted[0], crit);  /* most severe */
    assert_ptr_equal(sorted[1], hi3);   /* same severity: higher count first */
    assert_ptr_equal(sorted[2], hi1);
    assert_ptr_equal(sorted[3], lo1);
    /* A new finding without an event has no count yet. */
    finding_store_destroy(s);
    s = finding_store_create(0);
    struct finding *bare = finding_store_insert(s, new_finding(99, SEV_LOW), NULL);
    assert_non_null(bare);
    assert_int_equal(bare->count, 0);
    assert_false(bare->has_time);
    finding_store_destroy(s);

    /* Many findings: the table grows and every one is still found. */
    s = finding_store_create(0);
    for (uint64_t fp = 0; fp < 5000; fp++)
        assert_non_null(finding_store_insert(s, new_finding(fp, (enum severity)(fp % 5)), &ev));
    for (uint64_t fp = 0; fp < 5000; fp += 97) {
        char id[FINDING_ID_LEN + 1];
        finding_make_id(id, "test_pattern", fp, NULL, 0);
        struct finding *f = finding_store_touch(s, id, &ev);
        assert_non_null(f);
        assert_int_equal(f->count, 2);
    }
    sorted = finding_store_sorted(s, &n);
    assert_int_equal(n, 5000);
    for (size_t i = 1; i < n; i++) {
        assert_true(sorted[i - 1]->severity >= sorted[i]->severity);
        if (sorted[i - 1]->severity == sorted[i]->severity)
            assert_true(sorted[i - 1]->count >= sorted[i]->count);
    }
    finding_store_destroy(s);

    /* An empty store sorts to nothing. */
    s = finding_store_create(0);
    sorted = finding_store_sorted(s, &n);
    assert_int_equal(n, 0);
    finding_store_destroy(s);
}

/* ---- nested_exception ------------------------------------------------------------- */

struct exc_ev {
    struct arena a;
    struct event ev;
};

/* Parse text into an exception event at level lvl. */
static void exc_event(struct exc_ev *x, const char *text, enum ev_level lvl, const char *service)
{
    memset(x, 0, sizeof(*x));
    ev_init(&x->ev, EV_EXCEPTION);
    assert_int_equal(tb_parse_text(text, strlen(text), NULL, &x->a, &x->ev.u.exc), 1);
    x->ev.level = lvl;
    x->ev.src.stream = "app.log";
    x->ev.src.line = 7;
    x->ev.has_ts = true;
    x->ev.ts_ns = T0;
    if (service != NULL)
        x->ev.service = ev_str_make(service, strlen(service));
}

static char *chain_text(int line_shift, const char *attempt, const char *func, const char *root_type)
{
    char *t = malloc(2048);
    assert_non_null(t);
    snprintf(t, 2048,
             "Traceback (most recent call last):\n"
             "  File \"/usr/lib/python3.11/socket.py\", line %d, in create_connection\n"
             "    raise err\n"
             "%s: [Errno 111] Connection refused\n"
             "\n"
             "The above exception was the direct cause of the following exception:\n"
             "\n"
             "Traceback (most recent call last):\n"
             "  File \"/opt/app/svc/main.py\", line %d, in <module>\n"
             "    run()\n"
             "  File \"/opt/app/svc/client.py\", line %d, in %s\n"
             "    raise ServiceUnavailable(\"down\") from e\n"
             "mypkg.errors.ServiceUnavailable: upstream down (%s)\n",
             100 + line_shift, root_type, 5 + line_shift, 40 + line_shift, func, attempt);
    return t;
}

static void test_nested_fold_and_split(void **state)
{
    (void)state;
    struct det d;
    det_open(&d, "nested_exception", NULL, NULL);
    struct {
        int shift;
        const char *attempt, *func, *root;
        const char *service;
    } cases[] = {
        {0, "attempt 1", "fetch", "ConnectionRefusedError", NULL},
        {7, "attempt 2 of 9, after 3.5 s", "fetch", "ConnectionRefusedError", NULL}, /* folds */
        {0, "attempt 1", "fetch_all", "ConnectionRefusedError", NULL},             /* function */
        {0, "attempt 1", "fetch", "ConnectionResetError", NULL},                   /* type */
        {0, "attempt 1", "fetch", "ConnectionRefusedError", "billing"},            /* service */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = chain_text(cases[i].shift, cases[i].attempt, cases[i].func, cases[i].root);
        struct exc_ev x;
        exc_event(&x, t, EV_LVL_ERROR, cases[i].service);
        x.ev.ts_ns = T0 + (int64_t)i * NS;
        det_feed(&d, &x.ev);
        arena_free(&x.a);
        free(t);
    }
    size_t n;
    struct finding **fs = det_findings(&d, &n);
    assert_int_equal(n, 4);
    assert_int_equal(fs[0]->count, 2); /* the folded pair sorts first */
    assert_string_equal(fs[0]->pattern, "nested_exception");
    assert_int_equal(fs[0]->first_seen, T0);
    assert_int_equal(fs[0]->last_seen, T0 + NS);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(fs[i]->count, 1);
    /* The fingerprints of the split findings differ from the folded one. */
    const char *fp0 = jstr(fs[0]->evidence, "fingerprint");
    assert_non_null(fp0);
    assert_int_equal(strlen(fp0), 16);
    int same_fp = 0;
    for (size_t i = 1; i < n; i++)
        same_fp += strcmp(jstr(fs[i]->evidence, "fingerprint"), fp0) == 0;
    assert_int_equal(same_fp, 1); /* only the other service's: same shape, other key */
    det_close(&d);
}

static void test_nested_evidence(void **state)
{
    (void)state;
    struct det d;
    det_open(&d, "nested_exception", NULL, NULL);
    char *t = chain_text(0, "attempt 1", "fetch", "ConnectionRefusedError");
    struct exc_ev x;
    exc_event(&x, t, EV_LVL_ERROR, NULL);
    det_feed(&d, &x.ev);
    size_t n;
    struct finding **fs = det_findings(&d, &n);
    assert_int_equal(n, 1);
    const struct finding *f = fs[0];
    assert_int_equal(f->severity, SEV_HIGH);
    assert_string_equal(f->title,
                        "mypkg.errors.ServiceUnavailable: upstream down (attempt 1) "
                        "(caused by ConnectionRefusedError)");
    const json_t *e = f->evidence;
    const json_t *chain = json_object_get(e, "chain");
    assert_int_equal(json_array_size(chain), 2);
    const json_t *root = json_array_get(chain, 0), *outer = json_array_get(chain, 1);
    assert_string_equal(jstr(root, "type"), "ConnectionRefusedError");
    assert_string_equal(jstr(root, "relation"), "root");
    assert_string_equal(jstr(root, "message"), "[Errno 111] Connection refused");
    assert_string_equal(jstr(root, "module"), "socket");
    assert_int_equal(json_array_size(json_object_get(root, "frames")), 1);
    assert_string_equal(jstr(outer, "type"), "mypkg.errors.ServiceUnavailable");
    assert_string_equal(jstr(outer, "relation"), "cause");
    assert_string_equal(jstr(outer, "module"), "client");
    const json_t *of = json_array_get(json_object_get(outer, "frames"), 1);
    assert_string_equal(jstr(of, "file"), "/opt/app/svc/client.py");
    assert_string_equal(jstr(of, "function"), "fetch");
    assert_int_equal(json_integer_value(json_object_get(of, "line")), 40);
    assert_string_equal(jstr(e, "exception_module"), "client");
    assert_string_equal(jstr(e, "origin_module"), "socket");
    assert_string_equal(jstr(e, "origin_library"), "socket");
    assert_string_equal(jstr(e, "origin_library_kind"), "stdlib");
    assert_string_equal(jstr(e, "root_type"), "ConnectionRefusedError");
    assert_string_equal(jstr(e, "outermost_type"), "mypkg.errors.ServiceUnavailable");
    assert_int_equal(json_integer_value(json_object_get(e, "chain_length")), 2);
    assert_string_equal(jstr(e, "origin"), "structured");
    assert_int_equal(strlen(jstr(e, "fingerprint")), 16);

    /* The same chain again gives the same fingerprint and id in a fresh store. */
    char id1[FINDING_ID_LEN + 1];
    memcpy(id1, f->id, sizeof(id1));
    char fp1[17];
    snprintf(fp1, sizeof(fp1), "%s", jstr(e, "fingerprint"));
    det_close(&d);
    det_open(&d, "nested_exception", NULL, NULL);
    det_feed(&d, &x.ev);
    fs = det_findings(&d, &n);
    assert_string_equal(fs[0]->id, id1);
    assert_string_equal(jstr(fs[0]->evidence, "fingerprint"), fp1);
    det_close(&d);
    arena_free(&x.a);
    free(t);
}

/* A worker's failure quoted in a pool's exception: two failures that reached the
 * caller through the same pool call are two findings (the worker's chain is part of
 * the shape), the origin is where the worker's root was raised, and a carrier that
 * is the whole chain (Celery's) is titled by what it carries. */
static char *pool_text(const char *worker_func, const char *worker_type)
{
    char *t = malloc(2048);
    assert_non_null(t);
    snprintf(t, 2048,
             "concurrent.futures.process._RemoteTraceback: \n"
             "\"\"\"\n"
             "Traceback (most recent call last):\n"
             "  File \"/usr/lib/python3.11/concurrent/futures/process.py\", line 256, in _process_worker\n"
             "    r = call_item.fn(*call_item.args, **call_item.kwargs)\n"
             "  File \"/opt/app/svc/report.py\", line 11, in %s\n"
             "    return sum(rows)\n"
             "%s: bad row\n"
             "\"\"\"\n"
             "\n"
             "The above exception was the direct cause of the following exception:\n"
             "\n"
             "Traceback (most recent call last):\n"
             "  File \"/opt/app/svc/main.py\", line 22, in build\n"
             "    return fut.result()\n"
             "  File \"/usr/lib/python3.11/concurrent/futures/_base.py\", line 401, in __get_result\n"
             "    raise self._exception\n"
             "%s: bad row\n",
             worker_func, worker_type, worker_type);
    return t;
}

static void test_nested_remote_evidence(void **state)
{
    (void)state;
    struct det d;
    det_open(&d, "nested_exception", NULL, NULL);
    const char *funcs[] = {"region_total", "region_total", "region_mean"};
    for (int i = 0; i < 3; i++) {
        char *t = pool_text(funcs[i], "TypeError");
        struct exc_ev x;
        exc_event(&x, t, EV_LVL_ERROR, NULL);
        det_feed(&d, &x.ev);
        arena_free(&x.a);
        free(t);
    }
    size_t n;
    struct finding **fs = det_findings(&d, &n);
    assert_int_equal(n, 2); /* the worker's function tells them apart */
    assert_int_equal(fs[0]->count, 2);
    const json_t *e = fs[0]->evidence;
    assert_string_equal(fs[0]->title, "TypeError: bad row (caused by TypeError in a worker)");
    assert_string_equal(jstr(e, "root_type"), "concurrent.futures.process._RemoteTraceback");
    assert_string_equal(jstr(e, "origin_module"), "report");
    assert_string_equal(jstr(e, "origin_frame"), "/opt/app/svc/report.py:11 region_total");
    assert_string_equal(jstr(e, "origin_type"), "TypeError");
    assert_true(json_is_true(json_object_get(e, "origin_remote")));
    const json_t *remote = json_object_get(json_array_get(json_object_get(e, "chain"), 0), "remote");
    assert_int_equal(json_array_size(remote), 1);
    assert_string_equal(jstr(json_array_get(remote, 0), "type"), "TypeError");
    assert_string_equal(jstr(json_array_get(remote, 0), "module"), "report");
    det_close(&d);

    /* Celery's carrier alone. */
    det_open(&d, "nested_exception", NULL, NULL);
    struct exc_ev x;
    exc_event(&x,
              "Traceback (most recent call last):\n"
              "  File \"/opt/app/tasks.py\", line 26, in charge\n"
              "    raise LookupError(\"order payload unreadable\") from e\n"
              "billiard.einfo.ExceptionWithTraceback: \n"
              "\"\"\"\n"
              "Traceback (most recent call last):\n"
              "  File \"/opt/app/tasks.py\", line 24, in charge\n"
              "    order = json.loads(raw)\n"
              "ValueError: not json\n"
              "\n"
              "The above exception was the direct cause of the following exception:\n"
              "\n"
              "Traceback (most recent call last):\n"
              "  File \"/opt/app/tasks.py\", line 26, in charge\n"
              "    raise LookupError(\"order payload unreadable\") from e\n"
              "LookupError: order payload unreadable\n"
              "\"\"\"\n",
              EV_LVL_ERROR, NULL);
    det_feed(&d, &x.ev);
    fs = det_findings(&d, &n);
    assert_int_equal(n, 1);
    assert_string_equal(fs[0]->title, "LookupError: order payload unreadable (caused by ValueError), in a worker "
                                      "(billiard.einfo.ExceptionWithTraceback)");
    assert_string_equal(jstr(fs[0]->evidence, "origin_frame"), "/opt/app/tasks.py:24 charge");
    assert_string_equal(jstr(fs[0]->evidence, "exception_module"), "tasks");
    det_close(&d);
    arena_free(&x.a);
}

static void test_nested_group_evidence(void **state)
{
    (void)state;
    static const char text[] =
        "  + Exception Group Traceback (most recent call last):\n"
        "  |   File \"/opt/app/imp.py\", line 5, in run\n"
        "  | ExceptionGroup: import failed (3 sub-exceptions)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Traceback (most recent call last):\n"
        "    |   File \"/opt/app/imp.py\", line 3, in row\n"
        "    | ValueError: row 1\n"
        "    +---------------- ... ----------------\n"
        "    | and 2 more exceptions\n"
        "    +------------------------------------\n";
    struct det d;
    det_open(&d, "nested_exception", NULL, NULL);
    struct exc_ev x;
    exc_event(&x, text, EV_LVL_UNKNOWN, NULL);
    det_feed(&d, &x.ev);
    size_t n;
    struct finding **fs = det_findings(&d, &n);
    assert_int_equal(n, 1);
    const json_t *g = json_object_get(fs[0]->evidence, "group");
    assert_non_null(g);
    assert_int_equal(json_integer_value(json_object_get(g, "printed_members")), 1);
    assert_int_equal(json_integer_value(json_object_get(g, "more_exceptions")), 2);
    const json_t *m0 = json_array_get(json_array_get(json_object_get(g, "exceptions"), 0), 0);
    assert_string_equal(jstr(m0, "type"), "ValueError");
    det_close(&d);
    arena_free(&x.a);
}

static void test_nested_severity(void **state)
{
    (void)state;
    static const char plain[] =
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/a.py\", line 1, in f\n"
        "ValueError: x\n";
    static const char interrupt[] =
        "Traceback (most recent call last):\n"
        "  File \"/opt/app/a.py\", line 1, in f\n"
        "KeyboardInterrupt\n";
    struct {
        const char *text;
        enum ev_level lvl;
        enum severity want;
    } t[] = {
        {plain, EV_LVL_UNKNOWN, SEV_HIGH},       /* bare on stderr */
        {plain, EV_LVL_ERROR, SEV_HIGH},
        {plain, EV_LVL_CRITICAL, SEV_HIGH},
        {plain, EV_LVL_WARNING, SEV_MEDIUM},
        {plain, EV_LVL_INFO, SEV_LOW},
        {plain, EV_LVL_DEBUG, SEV_LOW},
        {interrupt, EV_LVL_UNKNOWN, SEV_INFO},
        {interrupt, EV_LVL_ERROR, SEV_INFO},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct det d;
        det_open(&d, "nested_exception", NULL, NULL);
        struct exc_ev x;
        exc_event(&x, t[i].text, t[i].lvl, NULL);
        det_feed(&d, &x.ev);
        size_t n;
        struct finding **fs = det_findings(&d, &n);
        assert_int_equal(n, 1);
        if (fs[0]->severity != t[i].want)
            fail_msg("case %zu: severity %s, want %s", i, severity_name(fs[0]->severity),
                     severity_name(t[i].want));
        det_close(&d);
        arena_free(&x.a);
    }

    /* Parameters change the mapping. */
    struct det d;
    det_open(&d, "nested_exception", "warning_severity", "critical");
    struct exc_ev x;
    exc_event(&x, plain, EV_LVL_WARNING, NULL);
    det_feed(&d, &x.ev);
    size_t n;
    struct finding **fs = det_findings(&d, &n);
    assert_int_equal(fs[0]->severity, SEV_CRITICAL);
    det_close(&d);

    /* min_chain 2: a lone exception is not reported; a log event never is. */
    det_open(&d, "nested_exception", "min_chain", "2");
    det_feed(&d, &x.ev);
    struct event le = log_event(EV_LVL_ERROR, "a", "boom", T0, 1);
    det_feed(&d, &le);
    det_findings(&d, &n);
    assert_int_equal(n, 0);
    det_close(&d);
    arena_free(&x.a);
}

/* ---- error_message ---------------------------------------------------------------- */

static void test_error_message_templates(void **state)
{
    (void)state;
    struct det d;
    det_open(&d, "error_message", NULL, NULL);
    static const struct {
        enum ev_level lvl;
        const char *logger, *msg;
    } evs[] = {
        {EV_LVL_ERROR, "shop.orders", "order 1004 failed"},
        {EV_LVL_ERROR, "shop.orders", "order 1005 failed"},
        {EV_LVL_ERROR, "shop.orders", "order 77 failed"},
        {EV_LVL_ERROR, "shop.pay", "order 1004 failed"},                      /* other logger */
        {EV_LVL_CRITICAL, "shop.orders", "order 1006 failed"},                /* other level */
        {EV_LVL_ERROR, "shop.http", "request 3f2a9c1e-77b3-4da6-a3ce-929d0e0e4736 failed"},
        {EV_LVL_ERROR, "shop.http", "request 9b1d0e7a-1234-4abc-8def-0123456789ab failed"},
        {EV_LVL_ERROR, "shop.http", "request a7c3e2f1-0000-4000-8000-00000000abcd failed"},
        {EV_LVL_WARNING, "shop.orders", "order 1 failed"},                    /* below ERROR */
        {EV_LVL_INFO, "shop.orders", "order 2 failed"},
    };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        struct event ev = log_event(evs[i].lvl, evs[i].logger, evs[i].msg, T0 + (int64_t)i * NS, i + 1);
        det_feed(&d, &ev);
    }
    /* Events it does not take: no message, and exception events. */
    struct event nomsg = log_event(EV_LVL_ERROR, "x", NULL, T0, 50);
    det_feed(&d, &nomsg);
    struct event ex;
    ev_init(&ex, EV_EXCEPTION);
    ex.level = EV_LVL_ERROR;
    ex.message = EV_STR_LIT("failed");
    det_feed(&d, &ex);

    size_t n;
    struct finding **fs = det_findings(&d, &n);
    assert_int_equal(n, 4);
    /* Sorted: the CRITICAL one (high) first, then by count. */
    assert_int_equal(fs[0]->severity, SEV_HIGH);
    assert_string_equal(jstr(fs[0]->evidence, "level"), "CRITICAL");
    assert_int_equal(fs[1]->count, 3);
    assert_int_equal(fs[2]->count, 3);
    assert_int_equal(fs[3]->count, 1);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(fs[i]->severity, SEV_MEDIUM);
    const struct finding *orders = NULL, *http = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *lg = jstr(fs[i]->evidence, "logger");
        if (fs[i]->count == 3 && strcmp(lg, "shop.orders") == 0)
            orders = fs[i];
        if (fs[i]->count == 3 && strcmp(lg, "shop.http") == 0)
            http = fs[i];
    }
    assert_non_null(orders);
    assert_non_null(http);
    assert_string_equal(jstr(orders->evidence, "template"), "order # failed");
    assert_string_equal(jstr(orders->evidence, "example"), "order 1004 failed");
    assert_string_equal(orders->title, "ERROR shop.orders: order # failed");
    assert_string_equal(orders->pattern, "error_message");
    assert_int_equal(orders->first_seen, T0);
    assert_int_equal(orders->last_seen, T0 + 2 * NS);
    /* UUIDs fold whether they start with a digit or a letter. */
    assert_string_equal(jstr(http->evidence, "template"), "request # failed");
    det_close(&d);

    /* critical_severity is a parameter. */
    det_open(&d, "error_message", "critical_severity", "critical");
    struct event c = log_event(EV_LVL_CRITICAL, NULL, "disk full", T0, 1);
    det_feed(&d, &c);
    fs = det_findings(&d, &n);
    assert_int_equal(n, 1);
    assert_int_equal(fs[0]->severity, SEV_CRITICAL);
    assert_string_equal(fs[0]->title, "CRITICAL: disk full");
    det_close(&d);

    /* A title is one line; the example keeps the whole message. */
    det_open(&d, "error_message", NULL, NULL);
    struct event ml = log_event(EV_LVL_ERROR, NULL, "a plain error\nwith a second line", T0, 1);
    det_feed(&d, &ml);
    fs = det_findings(&d, &n);
    assert_int_equal(n, 1);
    assert_string_equal(fs[0]->title, "ERROR: a plain error ...");
    assert_string_equal(jstr(fs[0]->evidence, "example"), "a plain error\nwith a second line");
    det_close(&d);
}

/* ---- parameters ------------------------------------------------------------------- */

static void test_pattern_params(void **state)
{
    (void)state;
    for (size_t i = 0; pattern_registry[i] != NULL; i++) {
        const struct pattern *p = pattern_registry[i];
        assert_non_null(p->name);
        assert_non_null(p->description);
        assert_non_null(p->create);
        assert_non_null(p->on_event);
        assert_true(p->kinds != 0);
        struct pat_config cfg;
        assert_int_equal(pattern_config_defaults(p, &cfg), 0);
        for (size_t k = 0; p->params[k].name != NULL; k++) {
            assert_true(k < PAT_MAX_PARAMS);
            assert_non_null(p->params[k].help);
            for (size_t j = 0; j < k; j++)
                assert_string_not_equal(p->params[j].name, p->params[k].name);
            /* Every default can be set back as text. */
            char err[128];
            assert_int_equal(pattern_config_set(p, &cfg, p->params[k].name, p->params[k].default_value,
                                                err, sizeof(err)), 0);
        }
    }

    const struct pattern *ne = pattern_named("nested_exception");
    struct pat_config cfg;
    pattern_config_defaults(ne, &cfg);
    char err[128];
    err[0] = '\0';
    assert_int_equal(pattern_config_set(ne, &cfg, "bogus", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bogus"));
    assert_non_null(strstr(err, "nested_exception"));
    struct {
        const char *name, *value;
    } bad[] = {
        {"severity", "hgih"}, {"severity", ""}, {"severity", "HIGH"}, {"min_chain", "abc"},
        {"min_chain", "12x"}, {"min_chain", ""}, {"min_chain", "99999999999999999999999"},
        {"min_chain", "1.5"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (pattern_config_set(ne, &cfg, bad[i].name, bad[i].value, err, sizeof(err)) != -1)
            fail_msg("%s=%s accepted", bad[i].name, bad[i].value);
        assert_non_null(strstr(err, bad[i].name));
        assert_non_null(strstr(err, "invalid value"));
    }
    assert_int_equal(pattern_config_set(ne, &cfg, "severity", "low", err, sizeof(err)), 0);
    assert_int_equal(cfg.v[0].sev, SEV_LOW);
    assert_int_equal(pattern_config_set(ne, &cfg, "min_chain", "-3", err, sizeof(err)), 0);
    assert_int_equal(pattern_config_set(pattern_named("error_message"), &cfg, "min_chain", "2", err,
                                        sizeof(err)), -1); /* names are per pattern */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_fold),
        cmocka_unit_test(test_store_ids),
        cmocka_unit_test(test_store_bounded_and_sorted),
        cmocka_unit_test(test_nested_fold_and_split),
        cmocka_unit_test(test_nested_evidence),
        cmocka_unit_test(test_nested_remote_evidence),
        cmocka_unit_test(test_nested_group_evidence),
        cmocka_unit_test(test_nested_severity),
        cmocka_unit_test(test_error_message_templates),
        cmocka_unit_test(test_pattern_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
