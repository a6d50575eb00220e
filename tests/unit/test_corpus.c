/* test_corpus.c -- golden tests: every traceback and text-log artifact of the corpus
 * (copied to tests/data/corpus with its MANIFEST entries) parsed by the detected
 * parser, checked against the ground truth the producing program recorded.
 *
 * Checked per traceback block: the chain (type, message, relation, printed frame
 * count, innermost frame, notes, frames_total with repeat markers, SyntaxError
 * location) and exception groups recursively (printed members, "and N more").
 * Per log file: record count, records by level, and each block's line, level,
 * logger and message. For the two interleaved processes: every block of both.
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
#include <jansson.h>

#include "correlate/ev_json.h"
#include "parsers/parser.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data/corpus"
#endif

struct collected {
    json_t *events; /* array of event documents */
    unsigned diags;
};

static int collect(void *ctx, const struct event *ev)
{
    struct collected *c = ctx;
    json_array_append_new(c->events, test_event_doc(ev));
    return 0;
}

static void count_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)stream;
    (void)line;
    (void)reason;
    ((struct collected *)ctx)->diags++;
}

/* Parse a whole file as the pipeline would: detect on the first 64 KiB, feed in
 * small chunks so lines straddle chunk boundaries. */
static json_t *parse_file(const char *rel, const char **parser_name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    int bid;
    const struct parser *p = parser_detect(buf, n < 65536 ? n : 65536, n < 65536, &bid);
    assert_non_null(p);
    *parser_name = p->name;
    struct collected c = {json_array(), 0};
    struct parser_env env = {
        .stream = rel, .emit = collect, .emit_ctx = &c, .diag = count_diag, .diag_ctx = &c,
        .limits = &parse_limits_default,
    };
    void *st = p->open(&env);
    assert_non_null(st);
    for (size_t off = 0; off < n; off += 997)
        assert_int_equal(p->feed(st, buf + off, n - off < 997 ? n - off : 997), 0);
    assert_int_equal(p->finish(st), 0);
    p->close(st);
    return c.events;
}

static int failures;

static void fail_at(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "MISMATCH %s: ", where);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static const char *s_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void compare_chain(const json_t *exp, const json_t *got, const char *where, bool check_frames);

static void compare_exc(const json_t *e, const json_t *g, const char *where, bool check_frames)
{
    const char *keys[] = {"type", "message", "relation"};
    for (size_t k = 0; k < 3; k++)
        if (!str_eq(s_of(e, keys[k]), s_of(g, keys[k])))
            fail_at(where, "%s: got '%s', want '%s'", keys[k], s_of(g, keys[k]), s_of(e, keys[k]));
    const json_t *frames = json_object_get(g, "frames");
    json_int_t want_frames = json_integer_value(json_object_get(e, "frames"));
    if (check_frames && (json_int_t)json_array_size(frames) != want_frames)
        fail_at(where, "frames: got %zu, want %lld", json_array_size(frames), (long long)want_frames);
    const json_t *inner = json_object_get(e, "innermost_frame");
    if (inner != NULL) {
        const json_t *last = json_array_get(frames, json_array_size(frames) - 1);
        if (last == NULL || !str_eq(s_of(inner, "file"), s_of(last, "file")) ||
            !str_eq(s_of(inner, "function"), s_of(last, "function")) ||
            json_integer_value(json_object_get(inner, "line")) != json_integer_value(json_object_get(last, "line")))
            fail_at(where, "innermost frame differs");
    }
    if (json_object_get(e, "frames_total") != NULL &&
        json_integer_value(json_object_get(e, "frames_total")) !=
            json_integer_value(json_object_get(g, "frames_total")))
        fail_at(where, "frames_total: got %lld", (long long)json_integer_value(json_object_get(g, "frames_total")));
    const json_t *en = json_object_get(e, "notes"), *gn = json_object_get(g, "notes");
    if (json_array_size(en) != json_array_size(gn)) {
        fail_at(where, "notes: got %zu, want %zu", json_array_size(gn), json_array_size(en));
    } else {
        for (size_t i = 0; i < json_array_size(en); i++)
            if (!json_equal(json_array_get(en, i), json_array_get(gn, i)))
                fail_at(where, "note %zu differs", i);
    }
    const json_t *es = json_object_get(e, "syntax");
    if (es != NULL) {
        const json_t *gs = json_object_get(g, "syntax");
        if (gs == NULL || !str_eq(s_of(es, "filename"), s_of(gs, "filename")) ||
            json_integer_value(json_object_get(es, "lineno")) != json_integer_value(json_object_get(gs, "lineno")))
            fail_at(where, "SyntaxError location differs");
        /* The caret column is only in the text when a caret line was printed. */
        if (gs != NULL && json_object_get(gs, "offset") != NULL &&
            !json_equal(json_object_get(es, "offset"), json_object_get(gs, "offset")))
            fail_at(where, "SyntaxError offset differs");
    }
    const json_t *eg = json_object_get(e, "group");
    if (eg != NULL) {
        const json_t *gg = json_object_get(g, "group");
        if (gg == NULL) {
            fail_at(where, "not parsed as an exception group");
            return;
        }
        json_int_t printed = json_integer_value(json_object_get(eg, "printed_members"));
        if (json_integer_value(json_object_get(gg, "printed_members")) != printed)
            fail_at(where, "group members: got %lld, want %lld",
                    (long long)json_integer_value(json_object_get(gg, "printed_members")), (long long)printed);
        if (!json_equal(json_object_get(eg, "more_exceptions"), json_object_get(gg, "more_exceptions")))
            fail_at(where, "more_exceptions differs");
        const json_t *em = json_object_get(eg, "exceptions"), *gm = json_object_get(gg, "exceptions");
        for (size_t i = 0; i < (size_t)printed && i < json_array_size(gm); i++) {
            char w[600];
            snprintf(w, sizeof(w), "%.400s.g[%zu]", where, i);
            compare_chain(json_array_get(em, i), json_array_get(gm, i), w, check_frames);
        }
    }
}

static void compare_chain(const json_t *exp, const json_t *got, const char *where, bool check_frames)
{
    if (json_array_size(exp) != json_array_size(got)) {
        fail_at(where, "chain length: got %zu, want %zu", json_array_size(got), json_array_size(exp));
        return;
    }
    for (size_t i = 0; i < json_array_size(exp); i++) {
        char w[600];
        snprintf(w, sizeof(w), "%.400s[%zu]", where, i);
        compare_exc(json_array_get(exp, i), json_array_get(got, i), w, check_frames);
    }
}

static json_t *exceptions_of(const json_t *events)
{
    json_t *out = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
        if (str_eq(s_of(ev, "kind"), "exception"))
            json_array_append(out, ev);
    return out;
}

static json_int_t line_of(const json_t *ev)
{
    return json_integer_value(json_object_get(json_object_get(ev, "source"), "line"));
}

static void check_blocks(const char *path, const json_t *expected, const json_t *events)
{
    json_t *exc = exceptions_of(events);
    const json_t *blocks = json_object_get(expected, "blocks");
    /* The training log's MANIFEST counts frames of the exception's own traceback
     * object, not the printed ones; its innermost frame still has to match. */
    bool check_frames = strncmp(path, "training/", 9) != 0;
    if (json_array_size(blocks) != json_array_size(exc))
        fail_at(path, "traceback blocks: got %zu, want %zu", json_array_size(exc), json_array_size(blocks));
    for (size_t i = 0; i < json_array_size(blocks) && i < json_array_size(exc); i++) {
        const json_t *b = json_array_get(blocks, i), *g = json_array_get(exc, i);
        char w[512];
        snprintf(w, sizeof(w), "%s#%zu", path, i);
        compare_chain(json_object_get(b, "chain"), json_object_get(json_object_get(g, "exception"), "chain"), w,
                      check_frames);
        if (json_object_get(b, "line") != NULL && json_integer_value(json_object_get(b, "line")) != line_of(g))
            fail_at(w, "line: got %lld, want %lld", (long long)line_of(g),
                    (long long)json_integer_value(json_object_get(b, "line")));
        const char *keys[] = {"level", "logger", "message"};
        for (size_t k = 0; k < 3; k++)
            if (s_of(b, keys[k]) != NULL && !str_eq(s_of(b, keys[k]), s_of(g, keys[k])))
                fail_at(w, "%s: got '%s', want '%s'", keys[k], s_of(g, keys[k]), s_of(b, keys[k]));
        const char *kind = s_of(b, "kind");
        const char *origin = s_of(json_object_get(g, "exception"), "origin");
        if (str_eq(kind, "thread") && !str_eq(origin, "thread"))
            fail_at(w, "origin: got %s, want thread", origin);
        if (str_eq(kind, "asyncio") && !str_eq(origin, "asyncio"))
            fail_at(w, "origin: got %s, want asyncio", origin);
        if (s_of(b, "thread_name") != NULL &&
            !str_eq(s_of(b, "thread_name"), s_of(json_object_get(g, "exception"), "thread_name")))
            fail_at(w, "thread_name differs");
    }
    if (json_object_get(expected, "log_records") != NULL) {
        if ((json_int_t)json_array_size(events) != json_integer_value(json_object_get(expected, "log_records")))
            fail_at(path, "records: got %zu, want %lld", json_array_size(events),
                    (long long)json_integer_value(json_object_get(expected, "log_records")));
        const json_t *by = json_object_get(expected, "records_by_level");
        const char *lvl;
        json_t *want;
        json_object_foreach((json_t *)by, lvl, want) {
            json_int_t n = 0;
            size_t i;
            json_t *ev;
            json_array_foreach(events, i, ev) n += str_eq(s_of(ev, "level"), lvl);
            if (n != json_integer_value(want))
                fail_at(path, "records at %s: got %lld, want %lld", lvl, (long long)n,
                        (long long)json_integer_value(want));
        }
    }
    json_decref(exc);
}

/* Two processes interleaved line by line: every block of both, by header line. */
static void check_processes(const char *path, const json_t *expected, const json_t *events)
{
    json_t *exc = exceptions_of(events);
    size_t want = 0, interleaved = 0;
    size_t pi;
    json_t *proc;
    json_array_foreach(json_object_get(expected, "processes"), pi, proc) {
        size_t bi;
        json_t *b;
        json_array_foreach(json_object_get(proc, "blocks"), bi, b) {
            want++;
            json_int_t hl = json_integer_value(json_object_get(b, "header_line"));
            const json_t *match = NULL;
            size_t k;
            json_t *g;
            json_array_foreach(exc, k, g) if (line_of(g) == hl) match = g;
            char w[512];
            snprintf(w, sizeof(w), "%s@%lld", path, (long long)hl);
            if (match == NULL) {
                fail_at(w, "block not found");
                continue;
            }
            compare_chain(json_object_get(b, "chain"), json_object_get(json_object_get(match, "exception"), "chain"),
                          w, true);
            if (json_is_true(json_object_get(b, "interleaved_with_other_process"))) {
                interleaved++;
                if (!json_is_true(json_object_get(json_object_get(match, "exception"), "interleaved")))
                    fail_at(w, "recovered block not marked interleaved");
            }
        }
    }
    if (json_array_size(exc) != want)
        fail_at(path, "blocks: got %zu, want %zu", json_array_size(exc), want);
    assert_true(interleaved >= 2); /* the file's point: blocks broken by foreign lines */
    json_decref(exc);
}

static void test_corpus(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *manifest = json_load_file(DATA_DIR "/MANIFEST.json", 0, &jerr);
    assert_non_null(manifest);
    size_t i, checked = 0;
    json_t *e;
    json_array_foreach(manifest, i, e) {
        const char *path = s_of(e, "path");
        const json_t *x = json_object_get(e, "expected");
        const char *pname;
        json_t *events = parse_file(path, &pname);
        const char *fmt = s_of(e, "format");
        if (str_eq(fmt, "jsonl/docker-json-file") || strncmp(fmt, "text/", 5) == 0) {
            if (!str_eq(pname, "text"))
                fail_at(path, "detected parser %s, want text", pname);
        }
        if (json_object_get(x, "processes") != NULL)
            check_processes(path, x, events);
        else
            check_blocks(path, x, events);
        json_decref(events);
        checked++;
    }
    json_decref(manifest);
    assert_int_equal(checked, 39);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
