/* test_memory.c -- the memory detectors against the corpus ground truth, and the
 * pieces they stand on (series ordering and trend, text and JSON memory parsers).
 *
 * tests/data/memory/MANIFEST.json is the corpus MANIFEST's memory, counters and
 * training entries; the artifacts are under tests/data/memory/corpus/. Files of one
 * scenario and format are analyzed together, as `pycorr ingest DIR` would, and the
 * findings are checked against the entry's expectations: a leak is found at its
 * leak_site (or leaking_type), nothing is found on the controls (leak false, the
 * fixed program, the sawtooth, the healthy training run, the thread pool).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testfile.h"
#include <jansson.h>

#include "correlate/ev_memory.h"
#include "parsers/parser.h"
#include "patterns/object_distribution.h"
#include "patterns/pattern.h"
#include "patterns/series.h"

#define DATA "tests/data/memory"
#define CORPUS DATA "/corpus"

static const char *const memory_patterns[] = {"memory_leak", "object_distribution_anomaly", "handle_leak",
                                              "counter_value", NULL};

/* ---- a small pipeline: files -> detected parser -> the memory detectors ---------- */

struct run {
    const struct pattern *pat[8];
    void *st[8];
    size_t n;
    struct finding_store *store;
    unsigned long events, diags;
    void *oda; /* the object_distribution_anomaly detector */
};

static int sink(void *ctx, const struct event *ev)
{
    struct run *r = ctx;
    r->events++;
    for (size_t i = 0; i < r->n; i++)
        if (r->pat[i]->kinds & (1u << ev->kind))
            assert_int_equal(r->pat[i]->on_event(r->st[i], ev), 0);
    return 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)stream;
    (void)line;
    (void)reason;
    ((struct run *)ctx)->diags++;
}

/* Like sink, with every snapshot marked as a baseline run's reference. */
static int sink_reference(void *ctx, const struct event *ev)
{
    const struct ev_snapshot *s = ev_snapshot_of(ev);
    if (s == NULL)
        return sink(ctx, ev);
    struct ev_snapshot copy = *s;
    copy.reference = true;
    struct event e = *ev;
    e.u.snap = &copy;
    return sink(ctx, &e);
}

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->store = finding_store_create(0);
    for (size_t i = 0; pattern_registry[i] != NULL; i++)
        for (size_t k = 0; memory_patterns[k] != NULL; k++)
            if (strcmp(pattern_registry[i]->name, memory_patterns[k]) == 0) {
                struct pat_config cfg;
                assert_int_equal(pattern_config_defaults(pattern_registry[i], &cfg), 0);
                r->pat[r->n] = pattern_registry[i];
                r->st[r->n] = pattern_registry[i]->create(&cfg, r->store);
                assert_non_null(r->st[r->n]);
                if (strcmp(memory_patterns[k], "object_distribution_anomaly") == 0)
                    r->oda = r->st[r->n];
                r->n++;
            }
    assert_int_equal(r->n, 4);
}

/* Parse one file into sink(ctx) with the parser that wins the bid; returns its name. */
static const char *feed_file(const char *path, ev_sink_fn fn, void *ctx, diag_fn dg)
{
    size_t len;
    char *buf = test_read_file(path, &len);
    if (buf == NULL)
        fail_msg("cannot read %s", path);
    int bid;
    size_t win = len < 65536 ? len : 65536;
    const struct parser *p = parser_detect(buf, win, win == len, &bid);
    if (p == NULL)
        fail_msg("%s: no parser", path);
    struct parser_env env = {.stream = path, .emit = fn, .emit_ctx = ctx, .diag = dg, .diag_ctx = ctx,
                             .limits = &parse_limits_default};
    void *st = p->open(&env);
    assert_non_null(st);
    for (size_t off = 0; off < len; off += 4096)
        assert_int_equal(p->feed(st, buf + off, len - off < 4096 ? len - off : 4096), 0);
    assert_int_equal(p->finish(st), 0);
    p->close(st);
    free(buf);
    return p->name;
}

static void run_flush(struct run *r)
{
    for (size_t i = 0; i < r->n; i++)
        assert_int_equal(r->pat[i]->flush(r->st[i]), 0);
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->n; i++)
        r->pat[i]->destroy(r->st[i]);
    finding_store_destroy(r->store);
}

static struct finding *find(struct run *r, const char *pattern, size_t nth)
{
    size_t n;
    struct finding **f = finding_store_sorted(r->store, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i]->pattern, pattern) == 0 && nth-- == 0)
            return f[i];
    return NULL;
}

static size_t count_of(struct run *r, const char *pattern)
{
    size_t k = 0;
    while (find(r, pattern, k) != NULL)
        k++;
    return k;
}

/* "file:line" of an evidence site. */
static void site_of(const json_t *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%lld", json_string_value(json_object_get(s, "file")),
             (long long)json_integer_value(json_object_get(s, "line")));
}

/* ---- the corpus ------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The entries of MANIFEST whose path starts with dir and whose format is format. */
static size_t group_paths(const json_t *manifest, const char *dir, const char *format, char paths[][512],
                          size_t max, const json_t **expected)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(manifest); i++) {
        const json_t *e = json_array_get(manifest, i);
        const char *p = jstr(e, "path"), *f = jstr(e, "format");
        if (p == NULL || f == NULL || strncmp(p, dir, strlen(dir)) != 0 || strcmp(f, format) != 0 || n >= max)
            continue;
        snprintf(paths[n++], 512, CORPUS "/%s", p);
        *expected = json_object_get(e, "expected");
    }
    return n;
}

static json_t *manifest(void)
{
    json_error_t err;
    json_t *m = json_load_file(DATA "/MANIFEST.json", 0, &err);
    if (m == NULL)
        fail_msg("MANIFEST: %s", err.text);
    return m;
}

/* Every tracemalloc scenario in every layout: the leak at its site, nothing else. */
static void test_tracemalloc_scenarios(void **state)
{
    (void)state;
    json_t *m = manifest();
    const char *scenarios[] = {"procmon_leak", "procmon_fixed", "sawtooth_cache", "ingest_slow_leak"};
    const char *formats[] = {"binary/tracemalloc-snapshot-pickle", "text/tracemalloc-statistics-lineno",
                             "text/tracemalloc-statistics-traceback", "text/tracemalloc-compare-lineno",
                             "jsonl/tracemalloc-stats"};
    static char paths[64][512];
    size_t checked = 0, leaks = 0;
    for (size_t s = 0; s < 4; s++)
        for (size_t f = 0; f < 5; f++) {
            char dir[128];
            snprintf(dir, sizeof(dir), "memory/tracemalloc/%s/", scenarios[s]);
            const json_t *exp = NULL;
            size_t n = group_paths(m, dir, formats[f], paths, 64, &exp);
            assert_true(n > 0);
            struct run r;
            run_init(&r);
            /* Reverse order: the series rule, not the input order, must put them right. */
            for (size_t i = n; i-- > 0;)
                feed_file(paths[i], sink, &r, diag);
            run_flush(&r);
            bool leak = json_is_true(json_object_get(exp, "leak"));
            struct finding *fl = find(&r, "memory_leak", 0);
            if (leak) {
                if (fl == NULL)
                    fail_msg("%s %s: leak not found", scenarios[s], formats[f]);
                char got[512];
                site_of(json_array_get(json_object_get(fl->evidence, "sites"), 0), got, sizeof(got));
                if (strcmp(got, jstr(exp, "leak_site")) != 0)
                    fail_msg("%s %s: leak at %s, want %s", scenarios[s], formats[f], got, jstr(exp, "leak_site"));
                assert_string_equal(jstr(fl->evidence, "metric"), "tracemalloc");
                /* every snapshot of the run is in the series, in order */
                assert_int_equal(json_integer_value(json_object_get(fl->evidence, "snapshots")),
                                 json_integer_value(json_object_get(exp, "snapshots")));
                const json_t *vals = json_object_get(json_array_get(json_object_get(fl->evidence, "sites"), 0), "values");
                for (size_t i = 1; i < json_array_size(vals); i++)
                    assert_true(json_integer_value(json_array_get(vals, i)) >=
                                json_integer_value(json_array_get(vals, i - 1)));
                /* a second site, if any, is one the ground truth names (the full truth
                 * of a run is on its tracemalloc.jsonl entry) */
                const json_t *full = NULL;
                char jl[1][512];
                assert_int_equal(group_paths(m, dir, "jsonl/tracemalloc-stats", jl, 1, &full), 1);
                const json_t *sec = json_object_get(full, "secondary_sites");
                const json_t *s2 = json_array_get(json_object_get(fl->evidence, "sites"), 1);
                if (s2 != NULL) {
                    site_of(s2, got, sizeof(got));
                    bool named = false;
                    for (size_t k = 0; k < json_array_size(sec); k++)
                        named |= strcmp(got, json_string_value(json_array_get(sec, k))) == 0;
                    if (!named)
                        fail_msg("%s %s: second site %s is not a secondary site of the ground truth", scenarios[s],
                                 formats[f], got);
                }
                if (f == 0) /* dumps with traceback_limit 10 carry the allocation traceback */
                    assert_true(json_array_size(json_object_get(fl->evidence, "traceback")) > 1);
                leaks++;
            } else if (fl != NULL) {
                fail_msg("%s %s: control has a leak finding: %s", scenarios[s], formats[f], fl->title);
            }
            assert_int_equal(count_of(&r, "memory_leak"), leak ? 1 : 0);
            assert_int_equal(count_of(&r, "handle_leak") + count_of(&r, "counter_value"), 0);
            if (!leak)
                assert_int_equal(count_of(&r, "object_distribution_anomaly"), 0);
            run_free(&r);
            checked++;
        }
    assert_int_equal(checked, 20);
    assert_int_equal(leaks, 10);
    json_decref(m);
}

/* gc statistics, typestats and show_growth: the leaking type, or gc objects. */
static void test_gc_scenarios(void **state)
{
    (void)state;
    json_t *m = manifest();
    const char *dirs[] = {"memory/gc/procmon_leak/", "memory/gc/procmon_fixed/"};
    const char *formats[] = {"jsonl/gc-stats", "text/gc-print", "text/objgraph-show-growth"};
    static char paths[8][512];
    for (size_t d = 0; d < 2; d++)
        for (size_t f = 0; f < 3; f++) {
            const json_t *exp = NULL;
            size_t n = group_paths(m, dirs[d], formats[f], paths, 8, &exp);
            assert_int_equal(n, 1);
            struct run r;
            run_init(&r);
            feed_file(paths[0], sink, &r, diag);
            run_flush(&r);
            bool leak = json_is_true(json_object_get(exp, "leak"));
            if (!leak) {
                size_t n2;
                finding_store_sorted(r.store, &n2);
                if (n2 != 0)
                    fail_msg("%s %s: control has %zu findings", dirs[d], formats[f], n2);
            } else {
                /* By type where the artifact has types, else the gc object count. */
                bool typed = f != 1;
                bool found = false;
                for (size_t k = 0; find(&r, "memory_leak", k) != NULL; k++) {
                    const json_t *ev = find(&r, "memory_leak", k)->evidence;
                    const json_t *site = json_array_get(json_object_get(ev, "sites"), 0);
                    assert_string_equal(jstr(ev, "metric"), "gc_objects");
                    if (typed && jstr(site, "type") && strcmp(jstr(site, "type"), jstr(exp, "leaking_type")) == 0)
                        found = true;
                    if (!typed && jstr(site, "counter") && strcmp(jstr(site, "counter"), "gc_objects") == 0)
                        found = true;
                }
                if (!found)
                    fail_msg("%s %s: leak of %s not found", dirs[d], formats[f],
                             typed ? jstr(exp, "leaking_type") : "gc objects");
            }
            run_free(&r);
        }
    json_decref(m);
}

/* Baseline and anomalous runs of one service: peers, and the baseline-run API. */
static void test_object_distribution(void **state)
{
    (void)state;
    json_t *m = manifest();
    static char a[4][512], b[4][512];
    const json_t *ea = NULL, *eb = NULL;
    assert_int_equal(group_paths(m, "memory/object_distribution/page_cache/anomalous/", "jsonl/tracemalloc-stats", a, 4, &ea), 1);
    assert_int_equal(group_paths(m, "memory/object_distribution/page_cache/baseline/", "jsonl/tracemalloc-stats", b, 4, &eb), 1);
    assert_true(json_is_true(json_object_get(ea, "anomalous_run")));

    /* Peer processes of the service: the anomalous one, at its site. */
    struct run r;
    run_init(&r);
    feed_file(b[0], sink, &r, diag);
    feed_file(a[0], sink, &r, diag);
    run_flush(&r);
    struct finding *f = find(&r, "object_distribution_anomaly", 0);
    assert_non_null(f);
    assert_int_equal(count_of(&r, "object_distribution_anomaly"), 1);
    assert_int_equal(f->pid, json_integer_value(json_object_get(ea, "pid")));
    assert_string_equal(jstr(f->evidence, "baseline"), "peer processes");
    const json_t *top = json_array_get(json_object_get(f->evidence, "contributors"), 0);
    assert_string_equal(jstr(top, "name"), jstr(ea, "anomalous_site"));
    assert_true(json_real_value(json_object_get(top, "current_share")) >
                json_real_value(json_object_get(top, "baseline_share")));
    const json_t *dv = json_object_get(f->evidence, "divergence");
    assert_string_equal(jstr(dv, "method"), "jensen_shannon");
    double div = json_real_value(json_object_get(dv, "value"));
    assert_true(div >= 0.1 && div <= 1);
    /* The baseline run alone: nothing at all. */
    run_free(&r);
    run_init(&r);
    feed_file(b[0], sink, &r, diag);
    run_flush(&r);
    size_t n;
    finding_store_sorted(r.store, &n);
    assert_int_equal(n, 0);
    run_free(&r);

    /* --baseline: the baseline run loaded apart, the anomalous run analyzed alone. */
    struct oda_baseline *base = oda_baseline_create();
    feed_file(b[0], oda_baseline_sink, base, NULL);
    assert_true(oda_baseline_snapshots(base) == 3);
    run_init(&r);
    oda_set_baseline(r.oda, base); /* the detector owns it now */
    feed_file(a[0], sink, &r, diag);
    run_flush(&r);
    f = find(&r, "object_distribution_anomaly", 0);
    assert_non_null(f);
    assert_string_equal(jstr(f->evidence, "baseline"), "baseline run");
    top = json_array_get(json_object_get(f->evidence, "contributors"), 0);
    assert_string_equal(jstr(top, "name"), jstr(ea, "anomalous_site"));
    run_free(&r);
    /* The same through the event path: reference snapshots first. */
    run_init(&r);
    feed_file(b[0], sink_reference, &r, diag);
    feed_file(a[0], sink, &r, diag);
    run_flush(&r);
    f = find(&r, "object_distribution_anomaly", 0);
    assert_non_null(f);
    assert_string_equal(jstr(f->evidence, "baseline"), "baseline run");
    /* the run's own leak; the reference run is never judged itself */
    assert_int_equal(count_of(&r, "memory_leak"), 1);
    assert_int_equal(find(&r, "memory_leak", 0)->pid, json_integer_value(json_object_get(ea, "pid")));
    run_free(&r);
    /* ... and the baseline run against itself: no anomaly. */
    base = oda_baseline_create();
    feed_file(b[0], oda_baseline_sink, base, NULL);
    run_init(&r);
    oda_set_baseline(r.oda, base);
    feed_file(b[0], sink, &r, diag);
    run_flush(&r);
    assert_int_equal(count_of(&r, "object_distribution_anomaly"), 0);
    run_free(&r);
    json_decref(m);
}

/* Process counters (text and JSON lines) and training logs. */
static void test_counters_and_training(void **state)
{
    (void)state;
    json_t *m = manifest();
    const char *files[] = {"counters/thread_leak.jsonl", "counters/thread_leak.txt", "counters/thread_pool_control.jsonl",
                           "counters/thread_pool_control.txt", "training/logreg_lr_too_high.jsonl",
                           "training/logreg_healthy.jsonl"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const json_t *exp = NULL;
        for (size_t k = 0; k < json_array_size(m); k++)
            if (strcmp(jstr(json_array_get(m, k), "path"), files[i]) == 0)
                exp = json_object_get(json_array_get(m, k), "expected");
        assert_non_null(exp);
        char path[512];
        snprintf(path, sizeof(path), CORPUS "/%s", files[i]);
        struct run r;
        run_init(&r);
        feed_file(path, sink, &r, diag);
        run_flush(&r);
        size_t n;
        finding_store_sorted(r.store, &n);
        if (strncmp(files[i], "counters/", 9) == 0) {
            bool leak = json_is_true(json_object_get(exp, "leak"));
            assert_int_equal(n, leak ? 1 : 0);
            if (leak) {
                struct finding *f = find(&r, "handle_leak", 0);
                assert_non_null(f);
                assert_string_equal(jstr(f->evidence, "resource"), jstr(exp, "leaked_resource"));
                assert_int_equal(f->pid, json_integer_value(json_object_get(exp, "pid")));
                assert_int_equal(json_integer_value(json_object_get(f->evidence, "samples")),
                                 json_integer_value(json_object_get(exp, "samples")));
            }
        } else {
            const json_t *step = json_object_get(exp, "first_nonfinite_step");
            if (json_is_null(step)) {
                assert_int_equal(n, 0);
            } else {
                assert_int_equal(n, 1);
                struct finding *f = find(&r, "counter_value", 0);
                assert_non_null(f);
                assert_string_equal(jstr(f->evidence, "counter"), "loss");
                assert_string_equal(jstr(f->evidence, "kind"), "non-finite");
                const json_t *first = json_object_get(f->evidence, "first_offending");
                assert_int_equal(json_integer_value(json_object_get(first, "step")), json_integer_value(step));
                /* "inf" in the ground truth, Python's json spelling in the evidence */
                const char *v = jstr(first, "value");
                assert_non_null(v);
                assert_true(strcmp(jstr(exp, "first_nonfinite_value"), "inf") == 0 ? strcmp(v, "Infinity") == 0
                                                                                     : strcmp(v, "NaN") == 0);
                assert_int_equal(json_integer_value(json_object_get(json_object_get(f->evidence, "last_normal"), "step")),
                                 json_integer_value(step) - 1);
            }
        }
        run_free(&r);
    }
    json_decref(m);
}

/* consume flushes at every checkpoint: a series goes on across flushes, and the
 * finding it makes is brought up to date, not counted again. */
static void test_flush_per_checkpoint(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    char path[512];
    for (int i = 1; i <= 10; i++) {
        snprintf(path, sizeof(path), CORPUS "/memory/tracemalloc/procmon_leak/snapshot_%02d.pickle", i);
        feed_file(path, sink, &r, diag);
        if (i == 5 || i == 8)
            run_flush(&r); /* a checkpoint */
    }
    feed_file(CORPUS "/counters/thread_leak.jsonl", sink, &r, diag);
    run_flush(&r);
    run_flush(&r); /* and an idle one with nothing new */
    assert_int_equal(count_of(&r, "memory_leak"), 1);
    struct finding *f = find(&r, "memory_leak", 0);
    assert_int_equal(f->count, 1);
    assert_int_equal(json_integer_value(json_object_get(f->evidence, "snapshots")), 10);
    assert_int_equal(count_of(&r, "handle_leak"), 1);
    assert_int_equal(find(&r, "handle_leak", 0)->count, 1);
    run_free(&r);
}

/* A full table judges the series idle longest to make room for a new one. */
static void test_eviction_judges(void **state)
{
    (void)state;
    struct pat_config cfg;
    const struct pattern *p = NULL;
    for (size_t i = 0; pattern_registry[i] != NULL; i++)
        if (strcmp(pattern_registry[i]->name, "handle_leak") == 0)
            p = pattern_registry[i];
    assert_non_null(p);
    assert_int_equal(pattern_config_defaults(p, &cfg), 0);
    assert_int_equal(pattern_config_set(p, &cfg, "max_series", "1", NULL, 0), 0);
    struct finding_store *store = finding_store_create(0);
    void *st = p->create(&cfg, store);
    /* pid 1 leaks threads, then pid 2 starts: pid 1 is judged when evicted */
    for (int pid = 1; pid <= 2; pid++)
        for (int k = 0; k < 12; k++) {
            struct ev_counter c = {EV_STR_LIT(EV_CTR_THREADS), pid == 1 ? 1.0 + 3 * k : 4.0};
            struct ev_counters cs = {.tag = EV_MEM_COUNTERS, .format = "json", .v = &c, .n = 1};
            struct event ev;
            ev_init(&ev, EV_COUNTER);
            ev.pid = pid;
            ev.src.stream = "s";
            ev.src.line = (uint64_t)k + 1;
            ev.u.counters = &cs;
            assert_int_equal(p->on_event(st, &ev), 0);
        }
    size_t n;
    struct finding **f = finding_store_sorted(store, &n);
    assert_int_equal(n, 1); /* before any flush */
    assert_int_equal(f[0]->pid, 1);
    assert_int_equal(p->flush(st), 0);
    finding_store_sorted(store, &n);
    assert_int_equal(n, 1); /* pid 2 is a steady pool */
    p->destroy(st);
    finding_store_destroy(store);
}

/* counter_value's range: set by the first samples of a counter that moves both ways;
 * a cumulative counter (only grows) has none. */
static void test_counter_range(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    for (int k = 0; k < 40; k++) {
        struct ev_counter c[2] = {
            {EV_STR_LIT("val_loss"), k == 30 ? 50.0 : 1.0 + 0.1 * (k % 3)},
            {EV_STR_LIT("tokens_seen"), 1000.0 * k * k}, /* cumulative: never out of range */
        };
        struct ev_counters cs = {.tag = EV_MEM_COUNTERS, .format = "training", .v = c, .n = 2,
                                 .has_step = true, .step = k};
        struct event ev;
        ev_init(&ev, EV_COUNTER);
        ev.src.stream = "train.jsonl";
        ev.src.line = (uint64_t)k + 1;
        ev.u.counters = &cs;
        sink(&r, &ev);
    }
    run_flush(&r);
    assert_int_equal(count_of(&r, "counter_value"), 1);
    struct finding *f = find(&r, "counter_value", 0);
    assert_string_equal(jstr(f->evidence, "counter"), "val_loss");
    assert_string_equal(jstr(f->evidence, "kind"), "out of range");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(f->evidence, "first_offending"), "step")), 30);
    assert_int_equal(f->severity, SEV_MEDIUM);
    assert_int_equal(json_array_size(json_object_get(f->evidence, "counters")), 1);
    run_free(&r);
}

/* ---- building blocks -------------------------------------------------------------- */

static void test_series_rules(void **state)
{
    (void)state;
    assert_true(ser_natural_cmp("snapshot_2.pickle", "snapshot_10.pickle") < 0);
    assert_true(ser_natural_cmp("snapshot_02.pickle", "snapshot_2.pickle") == 0);
    assert_true(ser_natural_cmp("a/compare_10_vs_09.txt", "a/compare_09_vs_08.txt") > 0);
    assert_true(ser_natural_cmp("x", "x1") < 0);

    /* A leak, a sawtooth, noise, and a pool that fills at once. */
    double leak[] = {10, 20, 30, 41, 50, 61, 70, 80};
    double saw[] = {10, 20, 30, 5, 15, 25, 35, 8, 18, 28};
    double noise[] = {50, 48, 53, 49, 51, 47, 52, 50};
    double pool[] = {1, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    struct ser_trend t;
    assert_true(ser_trend(leak, 8, &t));
    assert_true(t.tau > 0.99 && t.release == 0 && fabs(t.growth - 70) < 2);
    assert_true(ser_trend(saw, 10, &t));
    assert_true(t.release > 0.25 || t.tau < 0.8);
    assert_true(ser_trend(noise, 8, &t));
    assert_true(fabs(t.tau) < 0.5);
    assert_true(ser_trend(pool, 10, &t));
    assert_true(t.growth == 0);
    double gaps[] = {NAN, 10, NAN, 30, 40};
    assert_true(ser_trend(gaps, 5, &t));
    assert_int_equal(t.n, 3);
    assert_true(t.first == 10 && t.last == 40);
    assert_false(ser_trend(gaps, 2, &t));
}

/* A snapshot of 100k sites costs the series only its top columns; a long series is
 * decimated, first and last kept. */
static void test_series_bounded(void **state)
{
    (void)state;
    struct ser_table t;
    ser_table_init(&t, 4, 16, 8);
    static char names[100000][16];
    struct event ev;
    ev_init(&ev, EV_TRACEMALLOC);
    ev.src.stream = "run/snap.pickle";
    bool oom;
    struct series *s = ser_find(&t, &ev, "pickle", &oom);
    assert_non_null(s);
    for (int k = 0; k < 40; k++) {
        ev.src.line = (uint64_t)k + 1;
        int p = ser_point_add(&t, s, &ev, true);
        assert_true(p >= 0);
        for (int i = 0; i < 100000; i++) {
            snprintf(names[i], sizeof(names[i]), "f%d.py", i);
            ser_set(&t, s, p, ev_str_make(names[i], strlen(names[i])), 1, (double)(100000 - i + k * (i == 99999 ? 1000000 : 0)));
        }
        assert_true(s->ncols <= 8);
        assert_true(s->npts <= 16);
    }
    /* The site that grew into the top was admitted, the smallest evicted. */
    bool grower = false;
    for (uint32_t c = 0; c < s->ncols; c++)
        grower |= strcmp(s->cols[c].name, "f99999.py") == 0;
    assert_true(grower);
    ser_sort(s);
    assert_int_equal(s->pts[0].line, 1);
    assert_int_equal(s->pts[s->npts - 1].line, 40);
    assert_true(s->decimated > 0);
    /* Series beyond max_series are counted, not kept. */
    char host[8][8];
    for (int i = 0; i < 8; i++) {
        snprintf(host[i], sizeof(host[i]), "h%d", i);
        ev.host = ev_str_make(host[i], strlen(host[i]));
        ser_find(&t, &ev, "pickle", &oom);
    }
    assert_int_equal(t.n, 4);
    assert_true(t.dropped_series > 0);
    ser_table_free(&t);
}

/* Parsers of the text and JSON layouts, on lines written here. */
struct got {
    struct event ev[16];
    struct ev_snapshot *snap[16];
    struct ev_counters *ctr[16];
    size_t n;
    struct arena a;
};

static int keep(void *ctx, const struct event *ev)
{
    struct got *g = ctx;
    if (g->n >= 16)
        return 0;
    assert_int_equal(ev_clone(&g->ev[g->n], ev, &g->a), 0);
    g->snap[g->n] = (struct ev_snapshot *)ev_snapshot_of(&g->ev[g->n]);
    g->ctr[g->n] = (struct ev_counters *)ev_counters_of(&g->ev[g->n]);
    g->n++;
    return 0;
}

static const char *parse_text(struct got *g, const char *text)
{
    memset(g, 0, sizeof(*g));
    int bid;
    const struct parser *p = parser_detect(text, strlen(text), true, &bid);
    assert_non_null(p);
    struct parser_env env = {.stream = "t", .emit = keep, .emit_ctx = g, .limits = &parse_limits_default};
    void *st = p->open(&env);
    /* one byte at a time: every line straddles feeds */
    for (size_t i = 0; text[i]; i++)
        assert_int_equal(p->feed(st, text + i, 1), 0);
    assert_int_equal(p->finish(st), 0);
    p->close(st);
    return p->name;
}

static void test_text_and_json_layouts(void **state)
{
    (void)state;
    struct got g;
    /* A window ending in a line of blanks, exactly sized (found by fuzz_memtext:
     * the bid read past it; ASan in `make sanitize` sees any regression). */
    static const char tail[] = "OpenFile      300      +300\nlist  457  +5\n  ";
    char *win = malloc(sizeof(tail) - 1);
    memcpy(win, tail, sizeof(tail) - 1);
    int bid;
    const struct parser *p = parser_detect(win, sizeof(tail) - 1, true, &bid);
    assert_non_null(p);
    assert_string_equal(p->name, "gc-text");
    free(win);

    assert_string_equal(parse_text(&g, "[ Top 10 ]\n"
                                       "/app/x.py:32: size=983 KiB, count=15278, average=66 B\n"
                                       "<frozen importlib._bootstrap>:241: size=30.5 KiB, count=975, average=32 B\n"
                                       "\n"
                                       "/app/x.py:32: size=1.5 MiB (+512 KiB), count=20000 (+4722), average=78 B\n"),
                        "tracemalloc-text");
    assert_int_equal(g.n, 2);
    assert_string_equal(g.snap[0]->format, "statistics_lineno");
    assert_int_equal(g.snap[0]->nsites, 2);
    assert_int_equal(g.snap[0]->sites[0].size, 983 * 1024);
    assert_int_equal(g.snap[0]->sites[1].line, 241);
    assert_true(ev_str_eq(g.snap[0]->sites[1].file, "<frozen importlib._bootstrap>"));
    assert_string_equal(g.snap[1]->format, "compare_lineno");
    assert_true(g.snap[1]->has_diff);
    assert_int_equal(g.snap[1]->sites[0].size, (int64_t)(1.5 * 1024 * 1024));
    assert_int_equal(g.snap[1]->sites[0].size_diff, 512 * 1024);
    assert_int_equal(g.snap[1]->sites[0].count_diff, 4722);
    arena_free(&g.a);

    assert_string_equal(parse_text(&g, "2 memory blocks: 0.3 KiB\n"
                                       "  File \"/app/main.py\", line 68\n"
                                       "    main()\n"
                                       "  File \"/app/mon.py\", line 32\n"
                                       "    self.t[k] = v\n"
                                       "5 memory blocks: 1.0 KiB\n"
                                       "  File \"/app/main.py\", line 70\n"
                                       "  File \"/app/mon.py\", line 32\n"),
                        "tracemalloc-text");
    assert_int_equal(g.n, 1);
    assert_int_equal(g.snap[0]->nsites, 1); /* both blocks end at mon.py:32 */
    assert_int_equal(g.snap[0]->sites[0].count, 7);
    assert_int_equal(g.snap[0]->sites[0].ntb, 2);
    assert_int_equal(g.snap[0]->sites[0].tb[0].line, 70); /* the bigger block's, oldest first */
    arena_free(&g.a);

    assert_string_equal(parse_text(&g, "Name:\tpython3\nPid:\t42\nVmRSS:\t  2048 kB\nThreads:\t7\n"
                                       "Name:\tpython3\nPid:\t42\nVmRSS:\t  4096 kB\nThreads:\t9\n"),
                        "gc-text");
    assert_int_equal(g.n, 2);
    assert_int_equal(g.ev[1].pid, 42);
    assert_true(ev_counters_get(g.ctr[1], EV_CTR_RSS)->value == 4096.0 * 1024);
    assert_true(ev_counters_get(g.ctr[1], EV_CTR_THREADS)->value == 9);
    arena_free(&g.a);

    assert_string_equal(parse_text(&g, "{\"ts\": 1.5e9, \"pid\": 7, \"step\": 3, \"loss\": NaN, \"lr\": 0.1}\n"
                                       "{\"ts\": 1.5e9, \"pid\": 7, \"threads\": 12, \"rss_bytes\": 1000}\n"
                                       "{\"pid\": 7, \"stats\": [{\"file\": \"a.py\", \"line\": 3, \"size\": 10, \"count\": 1},"
                                       " {\"file\": \"b.py\", \"line\": 4, \"size\": 99, \"count\": 2}]}\n"
                                       "{\"level\": \"INFO\", \"message\": \"step 4 done\", \"step\": 4, \"loss\": 0.5}\n"),
                        "jsonl");
    assert_int_equal(g.n, 4);
    assert_int_equal(g.ev[0].kind, EV_COUNTER);
    assert_string_equal(g.ctr[0]->format, "training");
    assert_true(g.ctr[0]->has_step && g.ctr[0]->step == 3);
    assert_true(isnan(ev_counters_get(g.ctr[0], "loss")->value));
    assert_null(ev_counters_get(g.ctr[0], "step")); /* keys are not counters */
    assert_int_equal(g.ev[1].kind, EV_COUNTER);
    assert_true(ev_counters_get(g.ctr[1], EV_CTR_THREADS)->value == 12);
    assert_int_equal(g.ev[2].kind, EV_TRACEMALLOC);
    assert_true(ev_str_eq(g.snap[2]->sites[0].file, "b.py")); /* largest first */
    assert_int_equal(g.ev[3].kind, EV_LOG); /* a message: a log record, not metrics */
    arena_free(&g.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracemalloc_scenarios),
        cmocka_unit_test(test_gc_scenarios),
        cmocka_unit_test(test_object_distribution),
        cmocka_unit_test(test_counters_and_training),
        cmocka_unit_test(test_flush_per_checkpoint),
        cmocka_unit_test(test_eviction_judges),
        cmocka_unit_test(test_counter_range),
        cmocka_unit_test(test_series_rules),
        cmocka_unit_test(test_series_bounded),
        cmocka_unit_test(test_text_and_json_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
