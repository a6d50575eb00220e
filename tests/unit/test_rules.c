/* test_rules.c -- the rules engine's pieces: the expression language, literal
 * extraction for the prefilter (its scanners: test_prefilter.c), the rule file parser and its errors,
 * and each rule kind run on hand-made events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/fields.h"
#include "rules/prefilter.h"
#include "rules/rules.h"

static struct event ev_log(const char *level, const char *message, const char *service)
{
    struct event ev;
    ev_init(&ev, EV_LOG);
    ev.level = ev_level_parse(level, strlen(level));
    ev.message = ev_str_make(message, strlen(message));
    if (service)
        ev.service = ev_str_make(service, strlen(service));
    ev.src.stream = "t.log";
    ev.src.line = 1;
    return ev;
}

static bool holds(const char *expr, const struct event *ev)
{
    struct rx_error err;
    struct rx_expr *x = rx_compile(expr, &rules_event_context, 1, 1, &err);
    if (x == NULL)
        fail_msg("%s: %d:%d %s", expr, err.line, err.col, err.msg);
    bool r = rx_eval(x, &rules_event_context, ev);
    rx_free(x);
    return r;
}

static void test_expr_semantics(void **state)
{
    (void)state;
    struct event e = ev_log("WARNING", "payment to acq-eu-2 timed out after 30s", "payments");
    e.pid = 42;
    assert_true(holds("level >= WARNING", &e));
    assert_false(holds("level >= ERROR", &e));
    assert_true(holds("level == warn", &e)); /* level names in any spelling */
    assert_true(holds("message ~ /timed out/", &e));
    assert_true(holds("message ~ /TIMED OUT/i", &e));
    assert_false(holds("message ~ /TIMED OUT/", &e));
    assert_true(holds("message !~ /refused/", &e));
    assert_true(holds("service == \"payments\" and pid > 40", &e));
    assert_true(holds("service in [orders, payments]", &e));
    assert_false(holds("service in [\"orders\", \"gateway\"]", &e));
    assert_true(holds("not (service == orders) or pid == 1", &e));
    assert_true(holds("pid exists and not trace_id exists", &e));
    assert_false(holds("exception.type exists", &e));
    assert_true(holds("exception.type != \"KeyError\"", &e)); /* absent: != holds */
    assert_true(holds("(level >= ERROR or message ~ /timed/) and service ~ /^pay/", &e));
}

static void test_expr_lists_any(void **state)
{
    (void)state;
    struct ev_exc chain[2];
    memset(chain, 0, sizeof(chain));
    chain[0].type = EV_STR_LIT("TimeoutError");
    chain[0].message = EV_STR_LIT("timed out");
    chain[1].type = EV_STR_LIT("payments.PaymentError");
    chain[1].message = EV_STR_LIT("acquirer did not answer");
    chain[1].relation = EV_REL_CAUSE;
    struct event e;
    ev_init(&e, EV_EXCEPTION);
    e.u.exc.chain.exc = chain;
    e.u.exc.chain.n = 2;
    assert_true(holds("exception.types == \"TimeoutError\"", &e));     /* any of the chain */
    assert_true(holds("exception.type == \"payments.PaymentError\"", &e)); /* the outermost */
    assert_true(holds("exception.root_type == TimeoutError", &e));
    assert_true(holds("exception.chain_length >= 2", &e));
    assert_true(holds("level >= ERROR", &e)); /* a bare traceback counts as an error */
    assert_true(holds("message ~ /acquirer/", &e)); /* no message: the outermost's */
    /* A worker's chain quoted in a message counts as the chain's. */
    struct ev_exc worker = {.type = EV_STR_LIT("json.decoder.JSONDecodeError"), .message = EV_STR_LIT("bad json")};
    struct ev_chain remote = {.exc = &worker, .n = 1};
    assert_false(holds("exception.types == \"json.decoder.JSONDecodeError\"", &e));
    chain[0].remote = &remote;
    assert_true(holds("exception.types == \"json.decoder.JSONDecodeError\"", &e));
    assert_true(holds("exception.messages ~ /bad json/", &e));
    assert_true(holds("exception.root_type == TimeoutError", &e)); /* the chain's own root */
}

static void expect_compile_error(const char *expr, int col, const char *needle)
{
    struct rx_error err;
    struct rx_expr *x = rx_compile(expr, &rules_event_context, 7, 3, &err);
    if (x != NULL) {
        rx_free(x);
        fail_msg("compiled: %s", expr);
    }
    assert_int_equal(err.line, 7);
    if (col)
        assert_int_equal(err.col, col);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, err.msg);
}

static void test_expr_errors(void **state)
{
    (void)state;
    expect_compile_error("levl >= ERROR", 3, "unknown field 'levl'");
    expect_compile_error("level >= LOUD", 12, "'LOUD' is not a level");
    expect_compile_error("message ~ /a(b/", 0, "bad regex");
    expect_compile_error("message ~ /abc", 13, "unterminated regex");
    expect_compile_error("pid > many", 9, "'many' is not a number");
    expect_compile_error("level >= ERROR and", 0, "expected a field name");
    expect_compile_error("(level >= ERROR", 0, "expected ')'");
    expect_compile_error("service in [a, b", 0, "expected ',' or ']'");
    expect_compile_error("", 0, "empty condition");
    expect_compile_error("level >= ERROR service == x", 0, "after the condition");
}

static void test_literals(void **state)
{
    (void)state;
    char lit[256];
    assert_int_equal(prefilter_literal("CUDA out of memory", false, lit, sizeof(lit)), 18);
    assert_string_equal(lit, "CUDA out of memory");
    assert_true(prefilter_literal("QueuePool limit of size \\d+ overflow", false, lit, sizeof(lit)) > 0);
    assert_string_equal(lit, "QueuePool limit of size ");
    assert_int_equal(prefilter_literal("a|b", false, lit, sizeof(lit)), 0); /* alternation */
    assert_int_equal(prefilter_literal("(foo|bar)baz", false, lit, sizeof(lit)), 3);
    assert_string_equal(lit, "baz");
    assert_true(prefilter_literal("Timed Out", true, lit, sizeof(lit)) > 0);
    assert_string_equal(lit, "timed out"); /* folded */
    /* An optional byte breaks the run: "colou?r names" guarantees "colo" and "r names". */
    assert_true(prefilter_literal("colou?r names", false, lit, sizeof(lit)) > 0);
    assert_string_equal(lit, "r names");
    assert_int_equal(prefilter_literal("\\d+\\s*[a-z]+", false, lit, sizeof(lit)), 0);
    assert_true(prefilter_literal("status 5\\d\\d", false, lit, sizeof(lit)) > 0);
    assert_string_equal(lit, "status 5");
    assert_true(prefilter_literal("a\\.b\\.c", false, lit, sizeof(lit)) > 0);
    assert_string_equal(lit, "a.b.c");
}

/* One literal per top-level branch, or none when a branch has none. */
static void test_prefilter_literals_per_branch(void **state)
{
    (void)state;
    char out[4][PREFILTER_LIT_MAX];
    assert_int_equal(prefilter_literals("pool exhausted|PoolTimeout|pool (full|gone)", false, out, 4), 3);
    assert_string_equal(out[0], "pool exhausted");
    assert_string_equal(out[1], "PoolTimeout");
    assert_string_equal(out[2], "pool ");
    assert_int_equal(prefilter_literals("(?i)Deadlock found|lock wait", false, out, 4), 2);
    assert_string_equal(out[0], "deadlock found");
    assert_string_equal(out[1], "lock wait");
    assert_int_equal(prefilter_literals("timeout [a|b] here", false, out, 4), 1); /* '|' in a class */
    assert_string_equal(out[0], "timeout ");
    assert_int_equal(prefilter_literals("refused|\\d+", false, out, 4), 0);  /* a branch without one */
    assert_int_equal(prefilter_literals("aaa|bbb|ccc", false, out, 2), 0);     /* more branches than room */
}

static struct ruleset *load(const char *text, char *err, size_t errsz)
{
    struct ruleset *rs = ruleset_create();
    if (ruleset_add_text(rs, "t.rules", text, strlen(text), err, errsz) != 0 ||
        ruleset_finalize(rs, err, errsz) != 0) {
        ruleset_free(rs);
        return NULL;
    }
    return rs;
}

static void expect_file_error(const char *text, const char *where)
{
    char err[RULES_ERRSZ];
    struct ruleset *rs = load(text, err, sizeof(err));
    if (rs != NULL) {
        ruleset_free(rs);
        fail_msg("loaded: %s", text);
    }
    if (strncmp(err, where, strlen(where)) != 0)
        fail_msg("want '%s...', got '%s'", where, err);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_file_error("rule a\n  severity: extreme\n", "t.rules:2:13: severity:");
    expect_file_error("  match level >= ERROR\n", "t.rules:1:3: 'match' outside a block");
    expect_file_error("rule a\n  description: nothing to do\n", "t.rules:1:1: rule a: says nothing to do");
    expect_file_error("rule a\n  match level >= ERROR\nrule a\n  match level >= ERROR\n", "t.rules:3:6: rule a is defined twice");
    expect_file_error("rule a\n  match level >= ERROR\n  count >= 0 within 1m\n", "t.rules:3:9: count: expected a number");
    expect_file_error("rule a\n  match level >= ERROR\n  count >= 5 within soon\n", "t.rules:3:9: count: expected 'within");
    expect_file_error("rule a\n  sequence by trace_id within 10s\n  first level >= ERROR\n",
                      "t.rules:1:1: rule a: a sequence needs");
    expect_file_error("rule a\n  pattern: no_such_detector\n", "t.rules:1:1: rule a: no detector named");
    expect_file_error("suppress s\n  until: 2026-13-01\n  id: 0123456789abcdef\n", "t.rules:2:10: until:");
    expect_file_error("suppress s\n  description: nothing\n", "t.rules:1:1: suppress needs");
    expect_file_error("test nope\n  event {\"a\": 1}\n", "t.rules:1:6: test: no rule named 'nope'");
    expect_file_error("rule a\n  match level >= ERROR # fine\n  tags: x\n  bogus: 1\n", "t.rules:4:1: unknown key 'bogus'");
}

static void test_comments_and_quotes(void **state)
{
    (void)state;
    char err[RULES_ERRSZ];
    /* '#' inside a regex or a string is not a comment. */
    struct ruleset *rs = load("# a file\nrule a   # trailing\n  match message ~ /order #\\d+/ and service != \"x # y\"\n",
                              err, sizeof(err));
    assert_non_null(rs);
    assert_int_equal(ruleset_count(rs), 1);
    ruleset_free(rs);
}

struct store_view {
    struct finding **f;
    size_t n;
};

static size_t count_rule(struct finding_store *s, const char *rule, uint64_t *occurrences)
{
    size_t n, k = 0;
    struct finding **f = finding_store_sorted(s, &n);
    *occurrences = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i]->rule, rule) == 0) {
            k++;
            *occurrences += f[i]->count;
        }
    return k;
}

static void test_engine_kinds(void **state)
{
    (void)state;
    char err[RULES_ERRSZ];
    const char *text = "rule m\n  match level >= ERROR and message ~ /disk full/\n  severity: high\n"
                       "rule t\n  match message ~ /retry/\n  count >= 3 within 10s by service\n"
                       "rule s\n  sequence by trace_id within 5s\n  first message ~ /begin/\n"
                       "  not followed by message ~ /end/\n";
    struct ruleset *rs = load(text, err, sizeof(err));
    assert_non_null(rs);
    struct finding_store *st = finding_store_create(0);
    struct rules_engine *e = rules_engine_create(rs, st, 20000);
    assert_non_null(e);
    int64_t t0 = 1795490554LL * 1000000000LL;
    const char *msgs[][3] = {
        {"ERROR", "disk full on /var", "a"}, {"INFO", "disk full on /var", "a"}, {"ERROR", "disk almost full", "a"},
        {"INFO", "retry 1", "b"},           {"INFO", "retry 2", "b"},           {"INFO", "retry 1", "c"},
        {"INFO", "retry 3", "b"},
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        struct event ev = ev_log(msgs[i][0], msgs[i][1], msgs[i][2]);
        ev.has_ts = true;
        ev.ts_ns = t0 + (int64_t)i * 1000000000LL;
        assert_int_equal(rules_engine_event(e, &ev), 0);
    }
    /* Sequences: trace 1 ends, trace 2 never does. */
    const char *seq[][2] = {{"0af7651916cd43dd8448eb211c80319c", "begin"},
                            {"1af7651916cd43dd8448eb211c80319c", "begin"},
                            {"0af7651916cd43dd8448eb211c80319c", "end"}};
    for (size_t i = 0; i < 3; i++) {
        struct event ev = ev_log("INFO", seq[i][1], "d");
        ev.trace_id = ev_str_make(seq[i][0], 32);
        ev.has_ts = true;
        ev.ts_ns = t0 + (int64_t)(10 + i) * 1000000000LL;
        rules_engine_event(e, &ev);
    }
    struct event late = ev_log("INFO", "tick", "d");
    late.has_ts = true;
    late.ts_ns = t0 + 60LL * 1000000000LL;
    rules_engine_event(e, &late);
    rules_engine_flush(e);
    uint64_t occ;
    assert_int_equal(count_rule(st, "m", &occ), 1);
    assert_int_equal(occ, 1); /* INFO and "almost full" did not match */
    assert_int_equal(count_rule(st, "t", &occ), 1);
    assert_int_equal(occ, 1); /* service b reached 3; c did not */
    assert_int_equal(count_rule(st, "s", &occ), 1);
    assert_int_equal(occ, 1); /* the trace without "end" */
    rules_engine_free(e);
    finding_store_destroy(st);
    ruleset_free(rs);
}

static void test_suppression_and_detector_claims(void **state)
{
    (void)state;
    char err[RULES_ERRSZ];
    const char *text = "rule deep\n  pattern: nested_exception\n  when evidence.chain_length >= 2\n  severity: critical\n"
                       "  title: \"{evidence.root_type} in {service}\"\n"
                       "suppress old\n  when service == legacy\n  until: 2000-01-01\n"
                       "suppress quiet\n  when service == quiet\n";
    struct ruleset *rs = load(text, err, sizeof(err));
    assert_non_null(rs);
    struct finding_store *st = finding_store_create(0);
    struct rules_engine *e = rules_engine_create(rs, st, 20000);
    struct finding *f[3];
    for (int i = 0; i < 3; i++) {
        f[i] = calloc(1, sizeof(*f[i]));
        f[i]->pattern = "nested_exception";
        f[i]->rule = "builtin";
        f[i]->pid = -1;
        f[i]->count = 1;
        f[i]->title = strdup("t");
        f[i]->evidence = json_pack("{s:i, s:s}", "chain_length", i == 0 ? 1 : 3, "root_type", "KeyError");
        snprintf(f[i]->id, sizeof(f[i]->id), "%016d", i);
    }
    f[1]->service = strdup("legacy");
    f[2]->service = strdup("quiet");
    bool keep[3];
    size_t nsup = rules_engine_apply(e, f, 3, keep);
    assert_false(keep[0]); /* chain of one: the only rule of the pattern does not claim it */
    assert_true(keep[1]);  /* the suppression expired */
    assert_false(keep[2]); /* suppressed */
    assert_int_equal(nsup, 1);
    assert_int_equal(f[1]->severity, SEV_CRITICAL);
    assert_string_equal(f[1]->title, "KeyError in legacy");
    assert_string_equal(f[1]->rule, "deep");
    char lines[4][160];
    assert_int_equal(rules_engine_expired(e, lines, 4), 1);
    assert_non_null(strstr(lines[0], "suppression old"));
    for (int i = 0; i < 3; i++) {
        free(f[i]->title);
        free(f[i]->service);
        json_decref(f[i]->evidence);
        free(f[i]);
    }
    rules_engine_free(e);
    finding_store_destroy(st);
    ruleset_free(rs);
}

static void test_shipped_catalog_loads(void **state)
{
    (void)state;
    char err[RULES_ERRSZ];
    struct ruleset *rs = ruleset_create();
    assert_int_equal(ruleset_add_shipped(rs, err, sizeof(err)), 0);
    assert_int_equal(ruleset_finalize(rs, err, sizeof(err)), 0);
    assert_true(ruleset_count(rs) >= 10);
    ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefilter_literals_per_branch),
        cmocka_unit_test(test_expr_semantics),
        cmocka_unit_test(test_expr_lists_any),
        cmocka_unit_test(test_expr_errors),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_comments_and_quotes),
        cmocka_unit_test(test_engine_kinds),
        cmocka_unit_test(test_suppression_and_detector_claims),
        cmocka_unit_test(test_shipped_catalog_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
