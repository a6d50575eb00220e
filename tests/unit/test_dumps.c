/* test_dumps.c -- thread dumps and crash reports, golden against the corpus
 * (tests/data/dumps, copied with its MANIFEST entries), and the thread patterns.
 *
 * Parsers: each artifact is detected as its format (faulthandler, gdb, psthreads),
 * its threads are exactly the ones the producing program recorded (idents, native
 * ids, the current thread), gdb's lock waits are the recorded wait-for relation and
 * x/4a's fourth word is the recorded owner.
 * Patterns, per scenario folder: exactly the recorded deadlocked threads and locks
 * with their owners; the recorded spiking thread and no other (the leader row of
 * ps/top is the process total); the recorded crash signal, thread and function.
 * And the rules that keep pycorr honest: no deadlock from an artifact without
 * owners; a crash dump inside a log loses neither the dump nor the tracebacks.
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

#include "correlate/ev_dump.h"
#include "correlate/ev_json.h"
#include "parsers/parser.h"
#include "patterns/pattern.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data/dumps"
#endif

static json_t *manifest;

extern const struct parser parser_faulthandler;

/* ---- harness: parse files as the pipeline does, run every detector ---- */

struct run {
    json_t *events;                 /* event documents */
    struct finding_store *store;
    const struct pattern *pat[32];
    void *st[32];
    size_t npat;
    unsigned diags;
};

static int sink(void *ctx, const struct event *ev)
{
    struct run *r = ctx;
    json_array_append_new(r->events, test_event_doc(ev));
    for (size_t i = 0; i < r->npat; i++)
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

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->events = json_array();
    r->store = finding_store_create(0);
    assert_non_null(r->store);
    for (size_t i = 0; pattern_registry[i] != NULL && r->npat < 32; i++) {
        struct pat_config cfg;
        assert_int_equal(pattern_config_defaults(pattern_registry[i], &cfg), 0);
        r->pat[r->npat] = pattern_registry[i];
        r->st[r->npat] = pattern_registry[i]->create(&cfg, r->store);
        assert_non_null(r->st[r->npat]);
        r->npat++;
    }
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->npat; i++)
        r->pat[i]->destroy(r->st[i]);
    finding_store_destroy(r->store);
    json_decref(r->events);
}

/* Parse buf as a stream named name; returns the parser that won. */
static const char *run_buf(struct run *r, const char *buf, size_t n, const char *name)
{
    int bid;
    const struct parser *p = parser_detect(buf, n < 65536 ? n : 65536, n < 65536, &bid);
    assert_non_null(p);
    struct parser_env env = {
        .stream = name, .emit = sink, .emit_ctx = r, .diag = diag, .diag_ctx = r,
        .limits = &parse_limits_default,
    };
    void *st = p->open(&env);
    assert_non_null(st);
    for (size_t off = 0; off < n; off += 997)
        assert_int_equal(p->feed(st, buf + off, n - off < 997 ? n - off : 997), 0);
    assert_int_equal(p->finish(st), 0);
    p->close(st);
    return p->name;
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

static const char *run_file(struct run *r, const char *rel)
{
    size_t n;
    char *buf = slurp(rel, &n);
    const char *name = run_buf(r, buf, n, rel);
    free(buf);
    return name;
}

/* Findings of one pattern, as DESIGN §4 documents (new array). */
static json_t *findings_of(struct run *r, const char *pattern)
{
    for (size_t i = 0; i < r->npat; i++)
        assert_int_equal(r->pat[i]->flush(r->st[i]), 0);
    size_t n;
    struct finding **f = finding_store_sorted(r->store, &n);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i]->pattern, pattern) == 0)
            json_array_append_new(out, finding_to_json(f[i]));
    return out;
}

static size_t count_pattern(struct run *r, const char *pattern)
{
    json_t *a = findings_of(r, pattern);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

/* ---- manifest helpers ---- */

static const json_t *entry(const char *path)
{
    size_t i;
    const json_t *e;
    json_array_foreach(manifest, i, e) if (strcmp(json_string_value(json_object_get(e, "path")), path) == 0) return e;
    fail_msg("no MANIFEST entry for %s", path);
    return NULL;
}

static uint64_t hexv(const char *s)
{
    assert_non_null(s);
    return strtoull(s, NULL, 16);
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The ident of the MANIFEST thread called name. */
static uint64_t ident_of(const json_t *exp, const char *name)
{
    const json_t *threads = json_object_get(exp, "threads");
    if (threads == NULL)
        threads = json_object_get(exp, "thread_list");
    size_t i;
    const json_t *t;
    json_array_foreach(threads, i, t) if (strcmp(jstr(t, "name"), name) == 0) return hexv(jstr(t, "ident_hex"));
    fail_msg("no thread %s", name);
    return 0;
}

static const json_t *only_dump(struct run *r)
{
    const json_t *found = NULL;
    size_t i;
    const json_t *ev;
    json_array_foreach(r->events, i, ev)
    {
        const char *k = jstr(ev, "kind");
        if (strcmp(k, "thread_dump") == 0 || strcmp(k, "thread_cpu") == 0) {
            assert_null(found);
            found = json_object_get(ev, "dump");
        }
    }
    assert_non_null(found);
    return found;
}

static const json_t *dump_thread(const json_t *dump, uint64_t ident)
{
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(dump, "threads"), i, t) if (hexv(jstr(t, "id")) == ident) return t;
    return NULL;
}

/* ---- parsers against the MANIFEST ---- */

static void test_detection(void **state)
{
    (void)state;
    static const struct {
        const char *format, *parser;
    } want[] = {
        {"text/faulthandler", "faulthandler"}, {"text/faulthandler-fatal", "faulthandler"},
        {"text/gdb-py-bt", "gdb"},             {"text/gdb-x4a", "gdb"},
        {"text/ps-threads", "psthreads"},      {"text/top-threads", "psthreads"},
        {"text/python-logging", "text"},
    };
    size_t i, checked = 0;
    const json_t *e;
    json_array_foreach(manifest, i, e)
    {
        const char *fmt = jstr(e, "format");
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            if (strcmp(fmt, want[k].format) != 0)
                continue;
            struct run r;
            run_init(&r);
            const char *got = run_file(&r, jstr(e, "path"));
            if (strcmp(got, want[k].parser) != 0)
                fail_msg("%s: detected as %s, want %s", jstr(e, "path"), got, want[k].parser);
            assert_int_equal(r.diags, 0);
            run_free(&r);
            checked++;
        }
    }
    assert_int_equal(checked, json_array_size(manifest));
}

static void test_faulthandler_threads(void **state)
{
    (void)state;
    size_t i, checked = 0;
    const json_t *e;
    json_array_foreach(manifest, i, e)
    {
        if (strcmp(jstr(e, "format"), "text/faulthandler") != 0)
            continue;
        const json_t *exp = json_object_get(e, "expected");
        struct run r;
        run_init(&r);
        run_file(&r, jstr(e, "path"));
        const json_t *d = only_dump(&r);
        const json_t *threads = json_object_get(d, "threads");
        json_int_t want_n = json_integer_value(json_object_get(exp, "faulthandler_thread_blocks"));
        if (want_n == 0)
            want_n = json_integer_value(json_object_get(exp, "threads"));
        assert_int_equal(json_array_size(threads), want_n);
        const json_t *tl = json_object_get(exp, "threads");
        if (!json_is_array(tl))
            tl = json_object_get(exp, "thread_list");
        size_t k;
        const json_t *t;
        json_array_foreach(tl, k, t)
        {
            const json_t *got = dump_thread(d, hexv(jstr(t, "ident_hex")));
            if (got == NULL)
                fail_msg("%s: thread %s missing", jstr(e, "path"), jstr(t, "name"));
            /* faulthandler prints idents zero-padded to 16 digits, as recorded */
            assert_string_equal(jstr(got, "id"), jstr(t, "ident_hex"));
            bool cur = json_is_true(json_object_get(got, "current"));
            assert_int_equal(cur, strcmp(jstr(t, "name"), "MainThread") == 0);
            assert_true(json_array_size(json_object_get(got, "frames")) > 0);
        }
        run_free(&r);
        checked++;
    }
    assert_int_equal(checked, 4);
}

static void test_fatal_errors(void **state)
{
    (void)state;
    const char *files[] = {"segfault_ctypes/stderr.txt", "segfault_in_thread/stderr.txt"};
    for (size_t f = 0; f < 2; f++) {
        const json_t *exp = json_object_get(entry(files[f]), "expected");
        struct run r;
        run_init(&r);
        run_file(&r, files[f]);
        const json_t *d = only_dump(&r);
        assert_string_equal(jstr(d, "signal"), jstr(exp, "signal"));
        assert_string_equal(jstr(d, "fatal_error"), jstr(exp, "fatal_error"));
        assert_int_equal(json_array_size(json_object_get(d, "threads")),
                         json_integer_value(json_object_get(exp, "threads_in_dump")));
        const json_t *cur = dump_thread(d, hexv(jstr(exp, "crashing_thread_ident_hex")));
        assert_non_null(cur);
        assert_true(json_is_true(json_object_get(cur, "current")));
        const json_t *top = json_array_get(json_object_get(cur, "frames"), 0);
        assert_string_equal(jstr(top, "function"), jstr(exp, "crashing_function"));

        /* The crash finding: signal, faulting thread, function, exception module. */
        json_t *c = findings_of(&r, "crash");
        assert_int_equal(json_array_size(c), 1);
        const json_t *ev = json_object_get(json_array_get(c, 0), "evidence");
        assert_string_equal(jstr(ev, "signal"), jstr(exp, "signal"));
        assert_string_equal(jstr(json_object_get(ev, "thread"), "id"), jstr(exp, "crashing_thread_ident_hex"));
        assert_non_null(strstr(jstr(ev, "exception_frame"), jstr(exp, "crashing_function")));
        assert_string_equal(jstr(ev, "exception_module"), "ctypes");
        assert_string_equal(jstr(json_array_get(c, 0), "severity"), "critical");
        json_decref(c);
        run_free(&r);
    }
}

static void test_gdb_waits(void **state)
{
    (void)state;
    size_t i, checked = 0;
    const json_t *e;
    json_array_foreach(manifest, i, e)
    {
        if (strcmp(jstr(e, "format"), "text/gdb-py-bt") != 0 || json_object_get(json_object_get(e, "expected"), "wait_for") == NULL)
            continue;
        const json_t *exp = json_object_get(e, "expected");
        struct run r;
        run_init(&r);
        run_file(&r, jstr(e, "path"));
        const json_t *d = only_dump(&r);
        size_t k;
        const json_t *t;
        json_array_foreach(json_object_get(exp, "threads"), k, t)
        {
            const json_t *got = dump_thread(d, hexv(jstr(t, "ident_hex")));
            assert_non_null(got);
            assert_int_equal(json_integer_value(json_object_get(got, "native_id")),
                             json_integer_value(json_object_get(t, "native_id")));
        }
        assert_int_equal(json_array_size(json_object_get(d, "threads")), json_array_size(json_object_get(exp, "threads")));
        const json_t *w;
        json_array_foreach(json_object_get(exp, "wait_for"), k, w)
        {
            const json_t *got = dump_thread(d, ident_of(exp, jstr(w, "thread")));
            assert_non_null(got);
            assert_int_equal(hexv(jstr(got, "waits_for")), hexv(jstr(w, "lock_address")));
        }
        /* Without x/4a nobody's ownership is known, so no thread holds anything. */
        json_array_foreach(json_object_get(d, "threads"), k, t) assert_int_equal(json_array_size(json_object_get(t, "holds")), 0);
        run_free(&r);
        checked++;
    }
    assert_int_equal(checked, 3);
}

static void test_gdb_x4a_owner_words(void **state)
{
    (void)state;
    size_t i, checked = 0;
    const json_t *e;
    json_array_foreach(manifest, i, e)
    {
        if (strcmp(jstr(e, "format"), "text/gdb-x4a") != 0)
            continue;
        const json_t *exp = json_object_get(e, "expected");
        struct run r;
        run_init(&r);
        run_file(&r, jstr(e, "path"));
        const json_t *d = only_dump(&r);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(r.events, 0), "pid")),
                         json_integer_value(json_object_get(exp, "pid")));
        const char *addr;
        const json_t *owner;
        json_object_foreach((json_t *)json_object_get(exp, "rlock_owner_words"), addr, owner)
        {
            const json_t *l = NULL, *x;
            size_t k;
            json_array_foreach(json_object_get(d, "locks"), k, x) if (hexv(jstr(x, "address")) == hexv(addr)) l = x;
            assert_non_null(l);
            const json_t *words = json_object_get(l, "words");
            assert_int_equal(json_array_size(words), 4);
            assert_int_equal(hexv(json_string_value(json_array_get(words, 3))), hexv(json_string_value(owner)));
            /* The file alone does not say the object is an RLock: no owner claimed. */
            assert_string_equal(jstr(l, "ownership"), "unknown");
        }
        run_free(&r);
        checked++;
    }
    assert_int_equal(checked, 3);
}

static void test_cpu_paratext(void **state)
{
    (void)state;
    const char *files[] = {"spiking_thread/ps_threads.txt", "spiking_thread/top_threads.txt"};
    for (size_t f = 0; f < 2; f++) {
        const json_t *exp = json_object_get(entry(files[f]), "expected");
        struct run r;
        run_init(&r);
        run_file(&r, files[f]);
        const json_t *d = only_dump(&r);
        const json_t *rows = json_object_get(d, "threads");
        assert_int_equal(json_array_size(rows), json_integer_value(json_object_get(exp, "threads")));
        size_t k;
        const json_t *t;
        json_array_foreach(json_object_get(exp, "thread_list"), k, t)
        {
            bool found = false;
            size_t j;
            const json_t *row;
            json_array_foreach(rows, j, row) found |= json_integer_value(json_object_get(row, "native_id")) ==
                                                      json_integer_value(json_object_get(t, "native_id"));
            assert_true(found);
        }
        run_free(&r);
    }
}

/* Ids a 64-bit integer cannot hold ("1e20", "inf", twenty digits; found by
 * fuzz_psthreads) leave the pid unknown or skip the row, with a diagnostic:
 * converting them was undefined behaviour, which the sanitizer build catches. */
static void test_ps_ids_out_of_range(void **state)
{
    (void)state;
    static const char text[] = "  PID  SPID %CPU     TIME CMD\n"
                               " 4185 99999999999999999999  1.0 00:00:03 python3\n"
                               " 1e20  8371  0.0 00:00:00 python3\n"
                               "  inf  8372  0.0 00:00:00 python3\n"
                               " 4185  4186  2.0 00:00:01 python3\n";
    struct run r;
    run_init(&r);
    assert_string_equal(run_buf(&r, text, sizeof(text) - 1, "ps.txt"), "psthreads");
    assert_int_equal(r.diags, 2);
    assert_int_equal(json_array_size(r.events), 2);
    const json_t *a = json_array_get(r.events, 0), *b = json_array_get(r.events, 1);
    assert_null(json_object_get(a, "pid"));
    const json_t *ta = json_array_get(json_object_get(json_object_get(a, "dump"), "threads"), 0);
    assert_int_equal(json_integer_value(json_object_get(ta, "native_id")), 8371);
    assert_int_equal(json_integer_value(json_object_get(b, "pid")), 4185);
    const json_t *tb = json_array_get(json_object_get(json_object_get(b, "dump"), "threads"), 0);
    assert_int_equal(json_integer_value(json_object_get(tb, "native_id")), 4186);
    run_free(&r);
}

/* ---- patterns per scenario ---- */

static void run_scenario(struct run *r, const char *dir)
{
    size_t i;
    const json_t *e;
    size_t dl = strlen(dir);
    json_array_foreach(manifest, i, e)
    {
        const char *p = jstr(e, "path");
        if (strncmp(p, dir, dl) == 0 && p[dl] == '/')
            run_file(r, p);
    }
}

static void check_deadlock(const char *dir)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "%s/gdb_bt.txt", dir);
    const json_t *exp = json_object_get(entry(rel), "expected");
    struct run r;
    run_init(&r);
    run_scenario(&r, dir);
    json_t *f = findings_of(&r, "deadlock");
    assert_int_equal(json_array_size(f), 1);
    const json_t *ev = json_object_get(json_array_get(f, 0), "evidence");
    assert_string_equal(jstr(ev, "ownership"), "known");
    /* Exactly the deadlocked threads, in wait order. */
    const json_t *cycle = json_object_get(ev, "cycle");
    const json_t *want = json_object_get(exp, "deadlocked_threads");
    assert_int_equal(json_array_size(cycle), json_array_size(want));
    size_t k;
    const json_t *name;
    json_array_foreach(want, k, name)
    {
        uint64_t id = ident_of(exp, json_string_value(name));
        bool in = false;
        size_t j;
        const json_t *c;
        json_array_foreach(cycle, j, c) in |= hexv(json_string_value(c)) == id;
        if (!in)
            fail_msg("%s: %s not in the cycle", dir, json_string_value(name));
    }
    /* Each thread waits for the recorded lock, held by the recorded owner. */
    const json_t *threads = json_object_get(ev, "threads");
    for (size_t j = 0; j < json_array_size(cycle); j++) {
        const json_t *t = json_array_get(threads, j);
        const json_t *w = NULL, *x;
        size_t m;
        json_array_foreach(json_object_get(exp, "wait_for"), m, x) if (ident_of(exp, jstr(x, "thread")) == hexv(jstr(t, "id"))) w = x;
        assert_non_null(w);
        assert_int_equal(hexv(jstr(t, "waits_for")), hexv(jstr(w, "lock_address")));
        assert_int_equal(hexv(jstr(t, "waits_for_owner")), ident_of(exp, jstr(w, "held_by")));
        /* wait order: the next thread of the cycle holds what this one waits for */
        const json_t *nxt = json_array_get(cycle, (j + 1) % json_array_size(cycle));
        assert_int_equal(hexv(jstr(t, "waits_for_owner")), hexv(json_string_value(nxt)));
        assert_non_null(jstr(t, "frame"));
    }
    /* Exactly the recorded locks with their owners. */
    const json_t *locks = json_object_get(ev, "locks");
    assert_int_equal(json_array_size(locks), json_array_size(json_object_get(exp, "locks")));
    json_array_foreach(json_object_get(exp, "locks"), k, name)
    {
        const json_t *l = NULL, *x;
        size_t m;
        json_array_foreach(locks, m, x) if (hexv(jstr(x, "address")) == hexv(jstr(name, "address"))) l = x;
        assert_non_null(l);
        assert_string_equal(jstr(l, "kind"), "RLock");
        assert_int_equal(hexv(jstr(l, "owner")), hexv(jstr(name, "owner_ident_hex")));
    }
    json_decref(f);
    /* The deadlock explains every wait: no chain, no blocked thread beside it. */
    assert_int_equal(count_pattern(&r, "wait_chain"), 0);
    assert_int_equal(count_pattern(&r, "blocked_thread"), 0);
    assert_int_equal(count_pattern(&r, "spiking_thread"), 0);
    assert_int_equal(count_pattern(&r, "crash"), 0);
    run_free(&r);
}

static void test_deadlock_two_locks(void **state)
{
    (void)state;
    check_deadlock("rlock_deadlock");
}

static void test_deadlock_three_way(void **state)
{
    (void)state;
    check_deadlock("rlock_deadlock_3way");
}

static void test_deadlock_after_exception(void **state)
{
    (void)state;
    check_deadlock("rlock_deadlock_exception");
}

/* Ownership is never guessed: the py-bt alone shows waits, not owners. */
static void test_no_owner_no_deadlock(void **state)
{
    (void)state;
    const json_t *exp = json_object_get(entry("rlock_deadlock/gdb_bt.txt"), "expected");
    struct run r;
    run_init(&r);
    run_file(&r, "rlock_deadlock/gdb_bt.txt");
    assert_int_equal(count_pattern(&r, "deadlock"), 0);
    json_t *b = findings_of(&r, "blocked_thread");
    const json_t *want = json_object_get(exp, "blocked_threads");
    assert_int_equal(json_array_size(b), json_array_size(want));
    size_t k;
    const json_t *f;
    json_array_foreach(b, k, f)
    {
        const json_t *ev = json_object_get(f, "evidence");
        assert_string_equal(jstr(ev, "ownership"), "unknown");
        assert_string_equal(jstr(ev, "blocking_module"), "deadlock");
        const json_t *t = json_array_get(json_object_get(ev, "threads"), 0);
        bool listed = false;
        size_t j;
        const json_t *n;
        json_array_foreach(want, j, n) listed |= ident_of(exp, json_string_value(n)) == hexv(jstr(t, "id"));
        assert_true(listed);
    }
    json_decref(b);
    run_free(&r);

    /* faulthandler shows no lock at all: nothing is claimed about locks. */
    run_init(&r);
    run_file(&r, "rlock_deadlock/faulthandler.txt");
    assert_int_equal(count_pattern(&r, "deadlock"), 0);
    assert_int_equal(count_pattern(&r, "wait_chain"), 0);
    run_free(&r);

    /* Regression: a faulthandler dump read after the py-bt of the same threads
     * must not hide the waits the py-bt showed. */
    run_init(&r);
    run_file(&r, "rlock_deadlock/gdb_bt.txt");
    run_file(&r, "rlock_deadlock/faulthandler.txt");
    assert_int_equal(count_pattern(&r, "blocked_thread"), json_array_size(want));
    run_free(&r);
}

static void test_spiking_thread(void **state)
{
    (void)state;
    const json_t *exp = json_object_get(entry("spiking_thread/ps_threads.txt"), "expected");
    const json_t *spike = json_object_get(exp, "spiking_thread");
    const char *sets[][3] = {
        {"spiking_thread", NULL, NULL},
        {"spiking_thread/ps_threads.txt", "spiking_thread/gdb_py_bt.txt", NULL},
        {"spiking_thread/top_threads.txt", "spiking_thread/gdb_py_bt.txt", NULL},
        {"spiking_thread/ps_threads.txt", NULL, NULL},
    };
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        struct run r;
        run_init(&r);
        if (sets[s][1] == NULL && strchr(sets[s][0], '/') == NULL)
            run_scenario(&r, sets[s][0]);
        else
            for (size_t k = 0; k < 3 && sets[s][k] != NULL; k++)
                run_file(&r, sets[s][k]);
        json_t *f = findings_of(&r, "spiking_thread");
        /* One: the leader row (the process total) is not a second spinner. */
        assert_int_equal(json_array_size(f), 1);
        const json_t *ev = json_object_get(json_array_get(f, 0), "evidence");
        const json_t *t = json_array_get(json_object_get(ev, "threads"), 0);
        assert_int_equal(json_integer_value(json_object_get(t, "native_id")),
                         json_integer_value(json_object_get(spike, "native_id")));
        if (sets[s][1] != NULL || strchr(sets[s][0], '/') == NULL) {
            /* joined to its stack: the function the program recorded */
            assert_true(json_is_true(json_object_get(ev, "stack_joined")));
            assert_int_equal(hexv(jstr(t, "id")), hexv(jstr(spike, "ident_hex")));
            assert_non_null(strstr(jstr(t, "frame"), jstr(spike, "function")));
            assert_string_equal(jstr(ev, "role"), "application");
        }
        json_decref(f);
        assert_int_equal(count_pattern(&r, "blocked_thread"), 0);
        assert_int_equal(count_pattern(&r, "deadlock"), 0);
        run_free(&r);
    }
}

/* py-spy: no corpus capture (py-spy is not in Debian); tests/data/pyspy holds dumps
 * written in its exact layout for the corpus processes. */
static void test_pyspy(void **state)
{
    (void)state;
    const json_t *exp = json_object_get(entry("spiking_thread/ps_threads.txt"), "expected");
    const char *files[] = {"../pyspy/spike_dump.txt", "../pyspy/spike_dump.json"};
    for (size_t f = 0; f < 2; f++) {
        struct run r;
        run_init(&r);
        assert_string_equal(run_file(&r, files[f]), "py-spy");
        assert_int_equal(r.diags, 0);
        const json_t *d = only_dump(&r);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(r.events, 0), "pid")),
                         json_integer_value(json_object_get(exp, "pid")));
        size_t k;
        const json_t *t;
        json_array_foreach(json_object_get(exp, "thread_list"), k, t)
        {
            const json_t *got = NULL, *x;
            size_t j;
            json_array_foreach(json_object_get(d, "threads"), j, x) if (json_integer_value(json_object_get(x, "native_id")) ==
                                                                         json_integer_value(json_object_get(t, "native_id"))) got = x;
            assert_non_null(got);
            assert_string_equal(jstr(got, "name"), jstr(t, "name"));
            assert_string_equal(jstr(got, "state"), strcmp(jstr(t, "role"), "busy") == 0 ? "running" : "idle");
        }
        run_file(&r, "spiking_thread/ps_threads.txt");
        json_t *sp = findings_of(&r, "spiking_thread");
        assert_int_equal(json_array_size(sp), 1);
        const json_t *th = json_array_get(json_object_get(json_object_get(json_array_get(sp, 0), "evidence"), "threads"), 0);
        assert_string_equal(jstr(th, "name"), jstr(json_object_get(exp, "spiking_thread"), "name"));
        json_decref(sp);
        run_free(&r);
    }
    /* --native shows threads inside rlock_acquire; py-spy shows no owners. */
    struct run r;
    run_init(&r);
    run_file(&r, "../pyspy/deadlock_native.txt");
    assert_int_equal(count_pattern(&r, "deadlock"), 0);
    json_t *b = findings_of(&r, "blocked_thread");
    assert_int_equal(json_array_size(b), 2);
    size_t k;
    const json_t *f;
    json_array_foreach(b, k, f) assert_string_equal(jstr(json_object_get(f, "evidence"), "ownership"), "unknown");
    json_decref(b);
    run_free(&r);
}

/* ---- mixed streams: nothing lost ---- */

static void count_kinds(const json_t *events, size_t *dumps, size_t *exc, size_t *logs)
{
    *dumps = *exc = *logs = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e)
    {
        const char *k = jstr(e, "kind");
        *dumps += strcmp(k, "thread_dump") == 0;
        *exc += strcmp(k, "exception") == 0;
        *logs += strcmp(k, "log") == 0;
    }
}

static void test_crash_inside_log(void **state)
{
    (void)state;
    static const char tb[] = "Traceback (most recent call last):\n"
                             "  File \"/opt/app/svc/worker.py\", line 10, in run\n"
                             "    decode(x)\n"
                             "ValueError: bad header\n";
    size_t cn;
    char *crash = slurp("segfault_in_thread/stderr.txt", &cn);
    /* A log with a traceback before and after the dump... */
    size_t cap = cn + 4096;
    char *buf = malloc(cap);
    int n = snprintf(buf, cap, "2026-11-24 03:21:28,632 ERROR worker job 7 failed\n%s", tb);
    memcpy(buf + n, crash, cn);
    size_t len = (size_t)n + cn;
    len += (size_t)snprintf(buf + len, cap - len, "%s2026-11-24 03:21:29,001 INFO restarted\n", tb);
    struct run r;
    run_init(&r);
    run_buf(&r, buf, len, "mixed.log");
    size_t dumps, exc, logs;
    count_kinds(r.events, &dumps, &exc, &logs);
    assert_int_equal(dumps, 1);
    assert_int_equal(exc, 2);
    assert_int_equal(logs, 1);
    assert_int_equal(count_pattern(&r, "crash"), 1);
    run_free(&r);

    /* ...and a dump far past the detection window, in what was detected as text. */
    size_t big = 70000 + cn;
    char *b2 = malloc(big + 64);
    size_t o = 0;
    for (unsigned k = 0; o < 70000; k++)
        o += (size_t)snprintf(b2 + o, big + 64 - o, "2026-11-24 03:21:28,632 INFO tick %u\n", k);
    memcpy(b2 + o, crash, cn);
    run_init(&r);
    assert_string_equal(run_buf(&r, b2, o + cn, "long.log"), "text");
    count_kinds(r.events, &dumps, &exc, &logs);
    assert_int_equal(dumps, 1);
    assert_int_equal(count_pattern(&r, "crash"), 1);
    run_free(&r);
    free(b2);
    free(buf);
    free(crash);
}

/* A dump still being read holds its lines back (Kafka commits offsets by this). */
static void test_held_from(void **state)
{
    (void)state;
    static const char part[] = "2026-11-24 03:21:28,632 INFO up\n"
                               "Fatal Python error: Segmentation fault\n\n"
                               "Current thread 0x00007f0000000001 (most recent call first):\n"
                               "  File \"/opt/app/a.py\", line 3 in f\n";
    struct run r;
    run_init(&r);
    const struct parser *p = &parser_faulthandler;
    assert_non_null(p->held_from);
    struct parser_env env = {.stream = "held", .emit = sink, .emit_ctx = &r, .diag = diag, .diag_ctx = &r,
                             .limits = &parse_limits_default};
    void *st = p->open(&env);
    assert_int_equal(p->feed(st, part, sizeof(part) - 1), 0);
    assert_int_equal(p->held_from(st), 2); /* the dump starts on line 2 and is not out yet */
    assert_int_equal(p->finish(st), 0);
    assert_int_equal(p->held_from(st), 0);
    p->close(st);
    run_free(&r);
}

/* ---- synthetic graphs: shapes the corpus has no artifact for ---- */

static void feed_dump(struct run *r, struct ev_dump *d, int64_t pid)
{
    struct event ev;
    ev_init(&ev, EV_THREAD_DUMP);
    ev.pid = pid;
    ev.src.stream = "synthetic";
    ev.src.line = 1;
    ev.u.dump = d;
    sink(r, &ev);
}

static void test_cycle_of_one_and_chain(void **state)
{
    (void)state;
    /* T1 waits for a plain Lock it owns (proven): a cycle of one.
     * T2 waits for an RLock owned by T3, which waits for one owned by T4 (running):
     * a wait chain of two waiters behind T4. */
    struct ev_dframe fr[4] = {
        {EV_DF_PYTHON, EV_STR_LIT("/opt/app/a.py"), EV_STR_LIT("again"), 5, 0},
        {EV_DF_PYTHON, EV_STR_LIT("/opt/app/b.py"), EV_STR_LIT("first"), 7, 0},
        {EV_DF_PYTHON, EV_STR_LIT("/opt/app/c.py"), EV_STR_LIT("second"), 9, 0},
        {EV_DF_PYTHON, EV_STR_LIT("/opt/app/d.py"), EV_STR_LIT("busy"), 11, 0},
    };
    struct ev_dthread th[4];
    memset(th, 0, sizeof(th));
    const char *ids[4] = {"0x1000", "0x2000", "0x3000", "0x4000"};
    for (int i = 0; i < 4; i++) {
        th[i].id = ev_str_make(ids[i], strlen(ids[i]));
        th[i].ident = (uint64_t)(i + 1) << 12;
        th[i].native_id = 100 + i;
        th[i].frames = &fr[i];
        th[i].nframes = th[i].frames_total = th[i].npython = 1;
        th[i].cpu_seconds = -1;
    }
    th[0].waits_for = 0xa0;
    th[1].waits_for = 0xb0;
    th[2].waits_for = 0xc0;
    struct ev_lock locks[3] = {
        {0xa0, EV_LOCK_LOCK, true, 0x1000, -1, {0}, 0},
        {0xb0, EV_LOCK_RLOCK, true, 0x3000, -1, {0}, 0},
        {0xc0, EV_LOCK_RLOCK, true, 0x4000, -1, {0}, 0},
    };
    struct ev_dump d;
    memset(&d, 0, sizeof(d));
    d.format = EV_DUMP_GDB;
    d.threads = th;
    d.nthreads = d.threads_total = 4;
    d.locks = locks;
    d.nlocks = 3;
    d.clock_s = -1;
    struct run r;
    run_init(&r);
    feed_dump(&r, &d, 42);
    json_t *dl = findings_of(&r, "deadlock");
    assert_int_equal(json_array_size(dl), 1);
    const json_t *ev = json_object_get(json_array_get(dl, 0), "evidence");
    assert_int_equal(json_array_size(json_object_get(ev, "cycle")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "cycle"), 0)), "0x1000");
    json_decref(dl);
    json_t *wc = findings_of(&r, "wait_chain");
    assert_int_equal(json_array_size(wc), 1);
    ev = json_object_get(json_array_get(wc, 0), "evidence");
    assert_string_equal(jstr(ev, "head"), "0x4000");
    const json_t *chain = json_object_get(ev, "chain");
    assert_int_equal(json_array_size(chain), 3);
    assert_string_equal(json_string_value(json_array_get(chain, 0)), "0x2000"); /* farthest waiter first */
    assert_string_equal(json_string_value(json_array_get(chain, 2)), "0x4000");
    json_decref(wc);
    run_free(&r);

    /* The same RLock waited for by its own owner is re-entered, not a deadlock; an
     * owner word naming a thread that is gone is an abandoned lock. */
    locks[0].kind = EV_LOCK_RLOCK;
    locks[2].owner = 0x9000;
    run_init(&r);
    feed_dump(&r, &d, 43);
    assert_int_equal(count_pattern(&r, "deadlock"), 0);
    json_t *bl = findings_of(&r, "blocked_thread");
    size_t gone = 0, k;
    const json_t *f;
    json_array_foreach(bl, k, f) gone += json_is_false(json_object_get(json_object_get(f, "evidence"), "owner_alive"));
    assert_int_equal(gone, 1);
    json_decref(bl);
    run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    json_error_t err;
    manifest = json_load_file(DATA_DIR "/MANIFEST.json", 0, &err);
    return manifest == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(manifest);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_faulthandler_threads),
        cmocka_unit_test(test_fatal_errors),
        cmocka_unit_test(test_ps_ids_out_of_range),
        cmocka_unit_test(test_gdb_waits),
        cmocka_unit_test(test_gdb_x4a_owner_words),
        cmocka_unit_test(test_cpu_paratext),
        cmocka_unit_test(test_deadlock_two_locks),
        cmocka_unit_test(test_deadlock_three_way),
        cmocka_unit_test(test_deadlock_after_exception),
        cmocka_unit_test(test_no_owner_no_deadlock),
        cmocka_unit_test(test_spiking_thread),
        cmocka_unit_test(test_pyspy),
        cmocka_unit_test(test_crash_inside_log),
        cmocka_unit_test(test_held_from),
        cmocka_unit_test(test_cycle_of_one_and_chain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
