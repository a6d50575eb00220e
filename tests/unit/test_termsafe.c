/* test_termsafe.c -- what the text report shows of input text (cmd/termsafe.h):
 * every control, C1 control, bidi override and invalid byte escaped, everything
 * else untouched, and a finding copied only when something in it needs escaping.
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

#include "cmd/termsafe.h"

static void expect_shown(const char *in, const char *want)
{
    char *got = termsafe_dup(in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("'%s' shown as '%s', want '%s'", in, got, want);
    assert_int_equal(termsafe_ok(in), strcmp(in, want) == 0);
    free(got);
}

static void test_strings(void **state)
{
    (void)state;
    expect_shown("", "");
    expect_shown("plain text, tabs\tand\nnewlines \\ stay", "plain text, tabs\tand\nnewlines \\ stay");
    expect_shown("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d");
    expect_shown("title \x1b]0;pwned\x07 clear \x1b[2J", "title \\x1b]0;pwned\\x07 clear \\x1b[2J");
    expect_shown("cr\rback\bdel\x7f", "cr\\x0dback\\x08del\\x7f");
    expect_shown("c1 csi \xc2\x9b" "31m nel \xc2\x85", "c1 csi \\u009b31m nel \\u0085");
    expect_shown("\xc2\xa0nbsp stays", "\xc2\xa0nbsp stays");
    expect_shown("rlo \xe2\x80\xae" "gnp.exe lri \xe2\x81\xa6", "rlo \\u202egnp.exe lri \\u2066");
    expect_shown("raw \x9b" "31m", "raw \\x9b31m");
    expect_shown("cut \xe2\x82", "cut \\xe2\\x82");
    expect_shown("overlong \xc0\xaf surrogate \xed\xa0\x80", "overlong \\xc0\\xaf surrogate \\xed\\xa0\\x80");
    expect_shown("too big \xf4\x90\x80\x80 \xff", "too big \\xf4\\x90\\x80\\x80 \\xff");
    assert_true(termsafe_ok(NULL));
}

static void test_json(void **state)
{
    (void)state;
    json_t *clean = json_pack("{s:s, s:[s, i]}", "a", "x", "b", "y", 3);
    json_t *same = termsafe_json(clean);
    assert_ptr_equal(same, clean); /* nothing to escape: no copy */
    json_decref(same);

    json_t *dirty = json_pack("{s:s, s:[s, i], s:{s:s}}", "a", "x", "b", "y\x1b[2J", 3, "k\x07", "in", "z\x1b");
    json_t *shown = termsafe_json(dirty);
    assert_ptr_not_equal(shown, dirty);
    assert_string_equal(json_string_value(json_object_get(dirty, "a")), "x");
    assert_string_equal(json_string_value(json_array_get(json_object_get(shown, "b"), 0)), "y\\x1b[2J");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(shown, "b"), 1)), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(shown, "k\\x07"), "in")), "z\\x1b");
    assert_null(json_object_get(shown, "k\x07"));
    /* The original is untouched. */
    assert_string_equal(json_string_value(json_array_get(json_object_get(dirty, "b"), 0)), "y\x1b[2J");
    json_decref(shown);
    json_decref(dirty);
    json_decref(clean);
}

static void test_finding(void **state)
{
    (void)state;
    struct finding f;
    memset(&f, 0, sizeof(f));
    f.title = strdup("ValueError: fine");
    f.service = strdup("api");
    f.nsources = 2;
    f.sources[0].stream = strdup("ok.log");
    f.sources[1].stream = strdup("ci.tar!evil\x1b[2J.log");
    f.sources[1].line = 7;
    f.evidence = json_pack("{s:s}", "log_message", "boom \x1b]52;c;ZXZpbA==\x07");
    struct finding tmp;
    const struct finding *shown = termsafe_finding(&f, &tmp);
    assert_ptr_equal(shown, &tmp);
    assert_ptr_equal(shown->title, f.title); /* clean strings are shared, not copied */
    assert_ptr_equal(shown->sources[0].stream, f.sources[0].stream);
    assert_string_equal(shown->sources[1].stream, "ci.tar!evil\\x1b[2J.log");
    assert_int_equal(shown->sources[1].line, 7);
    assert_string_equal(json_string_value(json_object_get(shown->evidence, "log_message")),
                        "boom \\x1b]52;c;ZXZpbA==\\x07");
    termsafe_finding_done(shown, &f);
    assert_string_equal(f.sources[1].stream, "ci.tar!evil\x1b[2J.log"); /* the finding itself is unchanged */

    free(f.sources[1].stream);
    f.sources[1].stream = strdup("fine.log");
    json_decref(f.evidence);
    f.evidence = json_pack("{s:s}", "log_message", "boom");
    shown = termsafe_finding(&f, &tmp);
    assert_ptr_equal(shown, &f);
    termsafe_finding_done(shown, &f);

    free(f.title);
    free(f.service);
    free(f.sources[0].stream);
    free(f.sources[1].stream);
    json_decref(f.evidence);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_finding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
