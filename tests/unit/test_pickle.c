/* test_pickle.c -- the safe pickle machine and the tracemalloc dump parser.
 *
 * Oracle: tests/data/memory/pickle_stats.json, Python's own reading of every test
 * pickle (tracemalloc.Snapshot.load + statistics('lineno'), written by
 * make_pickle_stats.py). Every hostile seed of the fuzz corpus must be refused with
 * the message listed in tests/fuzz/seeds/pickle/hostile.txt and produce no event.
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

#include "correlate/ev_json.h"
#include "correlate/ev_memory.h"
#include "parsers/parser.h"
#include "parsers/pickle.h"

extern const struct parser parser_tracemalloc;

#define STATS "tests/data/memory/pickle_stats.json"
#define SEEDS "tests/fuzz/seeds/pickle"

/* ---- running the parser ------------------------------------------------------------ */

struct run {
    json_t *events;   /* ev_to_json of each event */
    char diag[512];
    int ndiag;
};

static int sink(void *ctx, const struct event *ev)
{
    struct run *r = ctx;
    json_array_append_new(r->events, test_event_doc(ev));
    return 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)stream;
    (void)line;
    struct run *r = ctx;
    if (r->ndiag++ == 0)
        snprintf(r->diag, sizeof(r->diag), "%s", reason);
}

/* Parse buf fed in chunks of chunk bytes. */
static void run_parser(struct run *r, const char *buf, size_t len, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    r->events = json_array();
    struct parser_env env = {
        .stream = "t.pickle", .emit = sink, .emit_ctx = r, .diag = diag, .diag_ctx = r,
        .limits = &parse_limits_default,
    };
    void *st = parser_tracemalloc.open(&env);
    assert_non_null(st);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk)
        rc = parser_tracemalloc.feed(st, buf + off, len - off < chunk ? len - off : chunk);
    if (rc == 0)
        rc = parser_tracemalloc.finish(st);
    assert_int_equal(rc, 0);
    parser_tracemalloc.close(st);
}

/* ---- valid dumps against Python ---------------------------------------------------- */

static void check_against_python(const char *path, const json_t *exp, size_t chunk)
{
    size_t len;
    char *buf = test_read_file(path, &len);
    if (buf == NULL)
        fail_msg("cannot read %s", path);
    struct run r;
    run_parser(&r, buf, len, chunk);
    if (r.ndiag)
        fail_msg("%s: unexpected diagnostic: %s", path, r.diag);
    assert_int_equal(json_array_size(r.events), 1);
    const json_t *snap = json_object_get(json_array_get(r.events, 0), "snapshot");
    assert_non_null(snap);
    assert_int_equal(json_integer_value(json_object_get(snap, "traceback_limit")),
                     json_integer_value(json_object_get(exp, "traceback_limit")));
    assert_int_equal(json_integer_value(json_object_get(snap, "total_count")),
                     json_integer_value(json_object_get(exp, "traces")));
    assert_int_equal(json_integer_value(json_object_get(snap, "total_size")),
                     json_integer_value(json_object_get(exp, "total_size")));
    const json_t *want = json_object_get(exp, "sites");
    const json_t *got = json_object_get(snap, "sites");
    assert_int_equal(json_array_size(got), json_array_size(want));
    /* Same multiset of (file, line, size, count); Python's order breaks ties its own way. */
    for (size_t i = 0; i < json_array_size(want); i++) {
        const json_t *w = json_array_get(want, i);
        bool found = false;
        for (size_t j = 0; j < json_array_size(got) && !found; j++) {
            const json_t *g = json_array_get(got, j);
            found = strcmp(json_string_value(json_object_get(g, "file")), json_string_value(json_array_get(w, 0))) == 0 &&
                    json_integer_value(json_object_get(g, "line")) == json_integer_value(json_array_get(w, 1)) &&
                    json_integer_value(json_object_get(g, "size")) == json_integer_value(json_array_get(w, 2)) &&
                    json_integer_value(json_object_get(g, "count")) == json_integer_value(json_array_get(w, 3));
        }
        if (!found)
            fail_msg("%s: site %s:%lld not found with Python's size and count", path,
                     json_string_value(json_array_get(w, 0)), (long long)json_integer_value(json_array_get(w, 1)));
    }
    /* Largest first. */
    for (size_t j = 1; j < json_array_size(got); j++)
        assert_true(json_integer_value(json_object_get(json_array_get(got, j - 1), "size")) >=
                    json_integer_value(json_object_get(json_array_get(got, j), "size")));
    /* The biggest traceback group of statistics('traceback') is the traceback attached
     * to its site, frame for frame, oldest first. */
    const json_t *top = json_object_get(exp, "top_traceback");
    size_t nt = json_array_size(top);
    if (nt > 1) {
        const json_t *last = json_array_get(top, nt - 1);
        bool seen = false;
        for (size_t j = 0; j < json_array_size(got) && j < 32; j++) {
            const json_t *g = json_array_get(got, j);
            if (strcmp(json_string_value(json_object_get(g, "file")), json_string_value(json_array_get(last, 0))) != 0 ||
                json_integer_value(json_object_get(g, "line")) != json_integer_value(json_array_get(last, 1)))
                continue;
            seen = true;
            const json_t *tb = json_object_get(g, "traceback");
            assert_int_equal(json_array_size(tb), nt);
            for (size_t k = 0; k < nt; k++) {
                assert_string_equal(json_string_value(json_object_get(json_array_get(tb, k), "file")),
                                    json_string_value(json_array_get(json_array_get(top, k), 0)));
                assert_int_equal(json_integer_value(json_object_get(json_array_get(tb, k), "line")),
                                 json_integer_value(json_array_get(json_array_get(top, k), 1)));
            }
        }
        if (!seen)
            fail_msg("%s: the site of the biggest traceback has no traceback", path);
    }
    json_decref(r.events);
    free(buf);
}

static void test_matches_python(void **state)
{
    (void)state;
    json_error_t e;
    json_t *all = json_load_file(STATS, 0, &e);
    assert_non_null(all);
    const char *path;
    json_t *exp;
    size_t n = 0, with_tb = 0;
    json_object_foreach(all, path, exp) {
        check_against_python(path, exp, 1 << 16);
        n++;
        with_tb += json_integer_value(json_object_get(exp, "traceback_limit")) > 1;
    }
    assert_true(n >= 40);   /* the corpus dumps and the seeds were all checked */
    assert_true(with_tb > 0); /* including dumps with full allocation tracebacks */
    json_decref(all);
}

/* An opcode cut anywhere by a chunk boundary is carried over. */
static void test_chunked(void **state)
{
    (void)state;
    json_error_t e;
    json_t *all = json_load_file(STATS, 0, &e);
    assert_non_null(all);
    const char *files[] = {SEEDS "/valid_p2_tb4.pickle", SEEDS "/valid_p5_tb4.pickle",
                           "tests/data/memory/corpus/memory/tracemalloc/procmon_leak/snapshot_03.pickle"};
    const size_t chunks[] = {1, 2, 3, 7, 64, 4093};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const json_t *exp = json_object_get(all, files[i]);
        assert_non_null(exp);
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
            check_against_python(files[i], exp, chunks[c]);
    }
    json_decref(all);
}

/* ---- hostile pickles --------------------------------------------------------------- */

static void test_hostile_refused(void **state)
{
    (void)state;
    FILE *f = fopen(SEEDS "/hostile.txt", "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        const char *want = tab + 1;
        char path[1200];
        snprintf(path, sizeof(path), SEEDS "/%s", line);
        size_t len;
        char *buf = test_read_file(path, &len);
        if (buf == NULL)
            fail_msg("cannot read %s", path);
        for (size_t chunk = 1; chunk <= 1 << 16; chunk <<= 8) {
            struct run r;
            run_parser(&r, buf, len, chunk);
            if (json_array_size(r.events) != 0)
                fail_msg("%s: a hostile pickle produced an event", line);
            if (r.ndiag == 0 || strstr(r.diag, want) == NULL)
                fail_msg("%s (chunk %zu): want '%s', got '%s'", line, chunk, want, r.ndiag ? r.diag : "(nothing)");
            json_decref(r.events);
        }
        free(buf);
        n++;
    }
    fclose(f);
    assert_true(n >= 20);
}

/* The machine itself, without the tracemalloc layer. */
static void test_vm_refuses_and_bounds(void **state)
{
    (void)state;
    /* pickle.dumps({'a': [1, -2, 3.5, 'x', b'y', None, True, 2**70]}, protocol=4) */
    static const unsigned char ok[] =
        "\x80\x04\x95\x31\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x01\x61\x94\x5d\x94\x28\x4b\x01"
        "\x4a\xfe\xff\xff\xff\x47\x40\x0c\x00\x00\x00\x00\x00\x00\x8c\x01\x78\x94\x43\x01\x79\x94"
        "\x4e\x88\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40\x65\x73\x2e";
    struct pk_vm *vm = pk_create(NULL);
    assert_int_equal(pk_feed(vm, ok, sizeof(ok) - 1), PK_DONE);
    pk_val d = pk_result(vm);
    assert_int_equal(pk_type(vm, d), PK_T_DICT);
    pk_val l = pk_dict_get(vm, d, "a");
    assert_int_equal(pk_type(vm, l), PK_T_LIST);
    assert_int_equal(pk_len(vm, l), 8);
    int64_t i;
    double x;
    ev_str s;
    assert_true(pk_int(vm, pk_item(vm, l, 0), &i) && i == 1);
    assert_true(pk_int(vm, pk_item(vm, l, 1), &i) && i == -2);
    assert_true(pk_float(vm, pk_item(vm, l, 2), &x) && x == 3.5);
    assert_true(pk_str(vm, pk_item(vm, l, 3), &s) && s.len == 1 && s.ptr[0] == 'x');
    assert_int_equal(pk_type(vm, pk_item(vm, l, 4)), PK_T_BYTES);
    assert_int_equal(pk_type(vm, pk_item(vm, l, 5)), PK_T_NONE);
    assert_true(pk_int(vm, pk_item(vm, l, 6), &i) && i == 1);
    assert_int_equal(pk_type(vm, pk_item(vm, l, 7)), PK_T_BIGINT);
    assert_false(pk_int(vm, pk_item(vm, l, 7), &i));
    /* out of range and wrong-type reads are harmless */
    assert_int_equal(pk_item(vm, l, 99), PK_NULL);
    assert_int_equal(pk_len(vm, pk_item(vm, l, 0)), 0);
    assert_false(pk_str(vm, d, &s));
    pk_destroy(vm);

    /* A byte budget: the same data under a tiny max_alloc is refused, not grown. */
    struct pk_limits lim = pk_limits_default;
    lim.max_alloc = 4096;
    vm = pk_create(&lim);
    unsigned char big[8192];
    size_t n = 0;
    big[n++] = 0x80;
    big[n++] = 4;
    big[n++] = ']';
    big[n++] = '(';
    for (int k = 0; k < 1000 && n + 8 < sizeof(big); k++) {
        big[n++] = 0x8c;
        big[n++] = 4;
        memcpy(big + n, "abcd", 4);
        n += 4;
    }
    assert_int_equal(pk_feed(vm, big, n), PK_ERROR);
    assert_non_null(strstr(pk_error(vm), "of data (limit)"));
    assert_true(pk_bytes_peak(vm) <= 4096);
    pk_destroy(vm);

    /* A MARK and LIST before anything was ever pushed (found by fuzz_pickle: no
     * pointer arithmetic on the empty stack). */
    vm = pk_create(NULL);
    assert_int_equal(pk_feed(vm, "\x80\x02(l.", 5), PK_DONE);
    assert_int_equal(pk_type(vm, pk_result(vm)), PK_T_LIST);
    assert_int_equal(pk_len(vm, pk_result(vm)), 0);
    pk_destroy(vm);

    /* Errors stick; nothing after them runs. */
    vm = pk_create(NULL);
    assert_int_equal(pk_feed(vm, "\x80\x02" "cposix\nsystem\n", 16), PK_ERROR);
    assert_string_equal(pk_error(vm), "pickle: global posix.system refused");
    assert_int_equal(pk_feed(vm, "N.", 2), PK_ERROR);
    assert_int_equal(pk_result(vm), PK_NULL);
    pk_destroy(vm);
}

/* Detection: a dump wins over the other parsers, other pickles still reach us. */
static void test_bid(void **state)
{
    (void)state;
    size_t len;
    char *buf = test_read_file(SEEDS "/valid_p4_tb4.pickle", &len);
    assert_non_null(buf);
    int bid;
    const struct parser *p = parser_detect(buf, len, true, &bid);
    assert_non_null(p);
    assert_string_equal(p->name, "tracemalloc");
    assert_true(bid >= 40);
    free(buf);
    buf = test_read_file(SEEDS "/hostile_global_os_system.pickle", &len);
    p = parser_detect(buf, len, true, &bid);
    assert_non_null(p);
    assert_string_equal(p->name, "tracemalloc");
    free(buf);
    assert_int_equal(parser_tracemalloc.bid("{\"a\": 1}\n", 9, true), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_python),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_hostile_refused),
        cmocka_unit_test(test_vm_refuses_and_bounds),
        cmocka_unit_test(test_bid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
