/* test_core.c -- the core helpers every parser and pattern leans on: the arena, event
 * time, trace ids, level names, deep copy of events, frame classification and the
 * JSON form of events. Each test pins a promise of the module's header, including
 * what happens on hostile or out-of-range input.
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

#include "evdoc.h"

#include "correlate/arena.h"
#include "correlate/ev_json.h"
#include "correlate/event.h"
#include "correlate/evtime.h"
#include "correlate/pyframe.h"
#include "correlate/traceid.h"

#define NS 1000000000LL
#define T_2024_05_01_10 (1714557600LL * NS) /* 2024-05-01T10:00:00Z */

/* ---- arena ------------------------------------------------------------------------ */

static void test_arena_alignment(void **state)
{
    (void)state;
    struct arena a = {0};
    const size_t sizes[] = {1, 3, 7, 8, 13, 16, 17, 31, 100, 1};
    char *prev = NULL;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *p = arena_alloc(&a, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xab, sizes[i]);
        if (prev != NULL)
            assert_true(p != prev);
        prev = p;
    }
    /* Zero bytes is still a distinct, aligned pointer. */
    char *z1 = arena_alloc(&a, 0), *z2 = arena_alloc(&a, 0);
    assert_non_null(z1);
    assert_non_null(z2);
    assert_true(z1 != z2);
    /* calloc zero-fills and refuses count*size overflow. */
    unsigned char *c = arena_calloc(&a, 10, 10);
    assert_non_null(c);
    for (int i = 0; i < 100; i++)
        assert_int_equal(c[i], 0);
    assert_null(arena_calloc(&a, SIZE_MAX / 2, 4));
    char *s = arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    arena_free(&a);
    assert_null(a.head);
    arena_free(&a); /* twice is harmless */
}

static void test_arena_grow_in_place(void **state)
{
    (void)state;
    struct arena a = {0};
    char *p = arena_alloc(&a, 10);
    memcpy(p, "0123456789", 10);
    char *q = arena_grow(&a, p, 10, 200);
    assert_ptr_equal(p, q); /* the last allocation grows where it is */
    assert_memory_equal(q, "0123456789", 10);
    memset(q + 10, 'x', 190);

    /* Not the last allocation any more: it moves and keeps its bytes. */
    char *r = arena_alloc(&a, 8);
    assert_non_null(r);
    char *q2 = arena_grow(&a, q, 200, 400);
    assert_non_null(q2);
    assert_true(q2 != q);
    assert_memory_equal(q2, "0123456789", 10);
    assert_int_equal(q2[199], 'x');

    /* Growing past the current block moves to a new block. */
    char *big = arena_grow(&a, q2, 400, (size_t)1 << 20);
    assert_non_null(big);
    assert_memory_equal(big, "0123456789", 10);
    /* Growing NULL is an allocation. */
    char *fresh = arena_grow(&a, NULL, 0, 32);
    assert_non_null(fresh);
    arena_free(&a);
}

static void test_arena_cap(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096);
    char *p = arena_alloc(&a, 1000);
    assert_non_null(p);
    memset(p, 'p', 1000);
    size_t used = a.used_total;
    assert_null(arena_alloc(&a, 4000));       /* over the cap */
    assert_int_equal(a.used_total, used);     /* unchanged */
    assert_null(arena_grow(&a, p, 1000, 5000));
    assert_int_equal(p[999], 'p');            /* p stays valid */
    assert_int_equal(a.used_total, used);
    char *q = arena_alloc(&a, 2000);          /* still usable below the cap */
    assert_non_null(q);
    memset(q, 'q', 2000);
    assert_int_equal(p[0], 'p');
    /* Exactly up to the cap is allowed, one more is not. */
    size_t room = 4096 - a.used_total;
    assert_non_null(arena_alloc(&a, room));
    assert_null(arena_alloc(&a, 1));
    assert_null(arena_calloc(&a, 1, 1));
    assert_null(arena_strndup(&a, "x", 1));
    arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    assert_non_null(arena_alloc(&a, 4000));
    arena_free(&a);
}

static void test_arena_huge_requests(void **state)
{
    (void)state;
    struct arena a = {0};
    assert_non_null(arena_alloc(&a, 100)); /* used_total > 0: sums can wrap */
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 64));
    assert_null(arena_alloc(&a, SIZE_MAX / 2 + 1));
    assert_null(arena_grow(&a, NULL, 0, SIZE_MAX - 64));
    assert_non_null(arena_alloc(&a, 16));
    arena_free(&a);
}

static void test_arena_reset_reuse(void **state)
{
    (void)state;
    struct arena a = {0};
    char *small = arena_alloc(&a, 64);
    char *big = arena_alloc(&a, (size_t)100 << 10); /* forces a second, larger block */
    assert_non_null(small);
    assert_non_null(big);
    arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    assert_non_null(a.head);
    /* The largest block is kept, so the same request lands in the same memory. */
    char *again = arena_alloc(&a, (size_t)100 << 10);
    assert_ptr_equal(again, big);
    arena_reset(&a);
    char *first = arena_alloc(&a, 16);
    assert_ptr_equal(first, big);
    arena_free(&a);
}

/* ---- event time ------------------------------------------------------------------- */

static int64_t parse_ok(const char *s, size_t want_used)
{
    int64_t ns = -12345;
    size_t used = evtime_parse_prefix(s, strlen(s), &ns);
    if (used != want_used)
        fail_msg("'%s': consumed %zu, want %zu", s, used, want_used);
    return ns;
}

static void test_evtime_variants(void **state)
{
    (void)state;
    const int64_t T = T_2024_05_01_10;
    assert_int_equal(parse_ok("2024-05-01T10:00:00Z", 20), T);
    assert_int_equal(parse_ok("2024-05-01T10:00:00z", 20), T);
    assert_int_equal(parse_ok("2024-05-01t10:00:00", 19), T);
    assert_int_equal(parse_ok("2024-05-01 10:00:00", 19), T); /* no zone: UTC */
    assert_int_equal(parse_ok("2024-05-01 10:00:00,123", 23), T + 123000000);
    assert_int_equal(parse_ok("2024-05-01 10:00:00,123 INFO x", 23), T + 123000000);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.5Z", 22), T + 500000000);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.123456Z", 27), T + 123456000);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.123456789Z", 30), T + 123456789);
    /* Digits past nanoseconds are consumed and ignored. */
    assert_int_equal(parse_ok("2024-05-01T10:00:00.1234567891234Z", 34), T + 123456789);
    assert_int_equal(parse_ok("2024-05-01T12:00:00+02:00", 25), T);
    assert_int_equal(parse_ok("2024-05-01T12:00:00+0200", 24), T);
    assert_int_equal(parse_ok("2024-05-01T05:00:00-05:00", 25), T);
    assert_int_equal(parse_ok("2024-05-01T15:30:00.250+05:30", 29), T + 250000000);
    assert_int_equal(parse_ok("2024-05-01T10:00:00+00:00 rest", 25), T);
    /* A zone named after the time, and Airflow's comma after the date. */
    assert_int_equal(parse_ok("2024-05-01 10:00:00 UTC", 23), T);
    assert_int_equal(parse_ok("2024-05-01 10:00:00,5 GMT] x", 25), T + 500000000);
    assert_int_equal(parse_ok("2024-05-01 10:00:00 UTCX", 19), T); /* a word, not the zone */
    assert_int_equal(parse_ok("2024-05-01, 10:00:00 UTC] {t.py:1} INFO - x", 24), T);
    assert_int_equal(parse_ok("2024-05-01, 10:00:00.250", 24), T + 250000000);
    /* Leap day of a leap year, and a century leap year. */
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z", 20), 951782400LL * NS);
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z", 20),
                     evtime_days_from_civil(2024, 2, 29) * 86400 * NS);
    /* Before the epoch. */
    assert_int_equal(parse_ok("1969-07-20T20:17:40Z", 20), -14182940LL * NS);
}

static void test_evtime_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2024-05-01",
        "2024-05-01T10:00",
        "2024/05/01 10:00:00",
        "2024-05-01X10:00:00",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-05-00T00:00:00Z",
        "2024-05-32T00:00:00Z",
        "2024-04-31T00:00:00Z", /* April has 30 days */
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* century, not a leap year */
        "2024-02-30T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:60:00Z",
        "2024-05-01T10:00:61Z",
        "2024-05-01T10:00:00.Z", /* a fraction needs digits */
        "2024-05-01,10:00:00",   /* the comma takes a blank after it */
        "2024-05-01, 1:00:00",
        "2024,05-01, 10:00:00",
        "2024-5-01T10:00:00Z",
        "2024-05-01T1a:00:00Z",
        "9999-12-31T23:59:59Z", /* beyond int64 nanoseconds: not silently wrapped */
        "0001-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns = 777;
        size_t used = evtime_parse_prefix(bad[i], strlen(bad[i]), &ns);
        if (used != 0)
            fail_msg("'%s' accepted (%zu bytes)", bad[i], used);
        assert_int_equal(ns, 777); /* unchanged on failure */
        assert_false(evtime_parse_field(bad[i], strlen(bad[i]), &ns));
        assert_int_equal(ns, 777);
    }
    /* A valid timestamp cut short by n is not read past n. */
    int64_t ns = 0;
    assert_int_equal(evtime_parse_prefix("2024-05-01T10:00:00Z", 18, &ns), 0);
}

static void test_evtime_field_and_epoch(void **state)
{
    (void)state;
    const int64_t T = T_2024_05_01_10;
    struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"1714557600", T},                        /* seconds */
        {"1714557600123", T + 123000000},         /* milliseconds */
        {"1714557600123456", T + 123456000},      /* microseconds */
        {"1714557600123456789", T + 123456789},   /* nanoseconds, exact */
        {"1714557600.5", T + 500000000},          /* fractional seconds */
        {"2024-05-01T10:00:00Z", T},
        {"2024-05-01T12:00:00+02:00", T},
        {"0", 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ns = -1;
        if (!evtime_parse_field(ok[i].in, strlen(ok[i].in), &ns))
            fail_msg("'%s' rejected", ok[i].in);
        if (ns != ok[i].want)
            fail_msg("'%s': got %lld, want %lld", ok[i].in, (long long)ns, (long long)ok[i].want);
    }
    const char *bad[] = {
        "", "abc", "12ab", "2024-05-01T10:00:00Z junk", "1e", "nan", "inf",
        "9999999999999999999",   /* 19 digits past INT64_MAX */
        "99999999999999999999",  /* 20 digits */
        "1e300", "-1e300",       /* finite, but no int64 time */
        "123456789012345678901234567890123456789012345678901234567890",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns = 42;
        if (evtime_parse_field(bad[i], strlen(bad[i]), &ns))
            fail_msg("'%s' accepted as %lld", bad[i], (long long)ns);
        assert_int_equal(ns, 42);
    }
    assert_int_equal(evtime_from_epoch(1714557600.0), T);
    /* Through a double, milliseconds and microseconds are close, not exact. */
    assert_true(llabs(evtime_from_epoch(1714557600123.0) - (T + 123000000)) < 1000);
    assert_true(llabs(evtime_from_epoch(1714557600123456.0) - (T + 123456000)) < 1000);
    assert_int_equal(evtime_from_epoch(1e300), INT64_MAX); /* saturates, no UB */
    assert_int_equal(evtime_from_epoch(-1e300), INT64_MIN);
    assert_int_equal(evtime_from_epoch(-1.5), -1500000000LL);
}

static void test_evtime_format_roundtrip(void **state)
{
    (void)state;
    char buf[EVTIME_BUFSZ];
    const int64_t T = T_2024_05_01_10;
    assert_string_equal(evtime_format(T, buf), "2024-05-01T10:00:00Z");
    assert_string_equal(evtime_format(T + 123000000, buf), "2024-05-01T10:00:00.123Z");
    assert_string_equal(evtime_format(T + 123456000, buf), "2024-05-01T10:00:00.123456Z");
    assert_string_equal(evtime_format(T + 123456789, buf), "2024-05-01T10:00:00.123456789Z");
    assert_string_equal(evtime_format(T + 1000, buf), "2024-05-01T10:00:00.000001Z");
    assert_string_equal(evtime_format(0, buf), "1970-01-01T00:00:00Z");
    assert_string_equal(evtime_format(-1000000, buf), "1969-12-31T23:59:59.999Z");
    assert_string_equal(evtime_format(951782400LL * NS, buf), "2000-02-29T00:00:00Z");
    /* The extremes fit the buffer. */
    assert_true(strlen(evtime_format(INT64_MAX, buf)) < EVTIME_BUFSZ);
    assert_true(strlen(evtime_format(INT64_MIN, buf)) < EVTIME_BUFSZ);

    const int64_t samples[] = {
        0, 1, -1, 999, T, T + 1, T + 999999999, -14182940LL * NS + 7000,
        1000000000000000000LL, 4102444800LL * NS - 1, /* 2099-12-31T23:59:59.999999999 */
        -2208988800LL * NS,                           /* 1900-01-01 */
    };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        evtime_format(samples[i], buf);
        int64_t back = 0;
        assert_int_equal(evtime_parse_prefix(buf, strlen(buf), &back), strlen(buf));
        if (back != samples[i])
            fail_msg("%s: round trip %lld -> %lld", buf, (long long)samples[i], (long long)back);
        assert_true(evtime_parse_field(buf, strlen(buf), &back));
        assert_int_equal(back, samples[i]);
    }
}

/* ---- trace ids -------------------------------------------------------------------- */

#define HEX32 "4bf92f3577b34da6a3ce929d0e0e4736"

static void want_trace(const char *in, const char *want)
{
    char out[TRACEID_BUFSZ];
    memset(out, '?', sizeof(out));
    size_t n = traceid_normalize(in, strlen(in), out);
    if (want == NULL) {
        if (n != 0)
            fail_msg("'%s' accepted as '%s'", in, out);
        return;
    }
    if (n != strlen(want) || strcmp(out, want) != 0)
        fail_msg("'%s': got %zu '%.*s', want '%s'", in, n, (int)n, out, want);
}

static void test_traceid_spellings(void **state)
{
    (void)state;
    want_trace(HEX32, HEX32);
    want_trace("4BF92F3577B34DA6A3CE929D0E0E4736", HEX32);
    want_trace("4Bf92F3577b34dA6a3cE929d0E0e4736", HEX32);
    want_trace("4bf92f35-77b3-4da6-a3ce-929d0e0e4736", HEX32);
    want_trace("4BF92F35-77B3-4DA6-A3CE-929D0E0E4736", HEX32);
    want_trace("00-" HEX32 "-00f067aa0ba902b7-01", HEX32);
    want_trace("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", HEX32);
    want_trace("projects/my-proj/traces/" HEX32, HEX32);
    want_trace("projects/p/traces/4BF92F3577B34DA6A3CE929D0E0E4736", HEX32);
    want_trace("\"" HEX32 "\"", HEX32);
    want_trace("  " HEX32 " ", HEX32);
    want_trace("a3ce929d0e0e4736", "a3ce929d0e0e4736");
    want_trace("A3CE929D0E0E4736", "a3ce929d0e0e4736");
    /* Datadog decimal 64-bit ids: 16 hex digits, zero-padded. */
    want_trace("1234567890123456789", "112210f47de98115");
    want_trace("18446744073709551615", "ffffffffffffffff");
    want_trace("42", "000000000000002a");
    want_trace("12345678901234567", "002bdc545d6b4b87");
}

static void test_traceid_invalid(void **state)
{
    (void)state;
    want_trace("", NULL);
    want_trace("   ", NULL);
    want_trace("00000000000000000000000000000000", NULL);       /* all zero */
    want_trace("0000000000000000", NULL);
    want_trace("00000000-0000-0000-0000-000000000000", NULL);
    want_trace("00-00000000000000000000000000000000-00f067aa0ba902b7-01", NULL);
    want_trace("projects/p/traces/00000000000000000000000000000000", NULL);
    want_trace("0", NULL);
    want_trace("4bf92f3577b34da6a3ce929d0e0e473", NULL);        /* 31 */
    want_trace("4bf92f3577b34da6a3ce929d0e0e47361", NULL);      /* 33 */
    want_trace("4bf92f3577b34da6a3ce929d0e0e473g", NULL);       /* not hex */
    want_trace("a3ce929d0e0e473", NULL);                        /* 15 hex with a letter */
    want_trace("a3ce929d0e0e47360", NULL);                      /* 17 */
    want_trace("18446744073709551616", NULL);                   /* 2^64: overflow */
    want_trace("123456789012345678901", NULL);                  /* 21 digits */
    want_trace("-12345", NULL);
    want_trace("projects/p/spans/" HEX32, NULL);
    want_trace("projects/p/traces/", NULL);
    want_trace("4bf92f3577b3-4da6-a3ce-929d0e0e4736-", NULL);   /* dashes misplaced */
    want_trace("01-" HEX32 "-00f067aa0ba902b7", NULL);          /* traceparent cut short */

    char out[TRACEID_BUFSZ];
    assert_int_equal(traceid_from_traceparent("00-" HEX32 "-00f067aa0ba902b7-01", 55, out), 32);
    assert_string_equal(out, HEX32);
    assert_int_equal(traceid_from_traceparent("00-" HEX32, 35, out), 0);
    assert_int_equal(traceid_from_traceparent("00_" HEX32 "-00f067aa0ba902b7-01", 55, out), 0);

    assert_int_equal(spanid_normalize("00F067AA0BA902B7", 16, out), 16);
    assert_string_equal(out, "00f067aa0ba902b7");
    assert_int_equal(spanid_normalize("1234567890123456789", 19, out), 16);
    assert_string_equal(out, "112210f47de98115");
    assert_int_equal(spanid_normalize("0000000000000000", 16, out), 0);
    assert_int_equal(spanid_normalize(HEX32, 32, out), 0);
    assert_int_equal(spanid_normalize("", 0, out), 0);
}

/* Every byte against the definition, and the 64-bit tail the correlator keys on. */
static void test_hex_digits(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        int want = b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ? b - 'a' + 10
                 : b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
        assert_int_equal(hex_value((char)b), want);
    }
    uint64_t k = 0;
    assert_true(hex_tail64(HEX32, 32, &k));
    assert_true(k == 0xa3ce929d0e0e4736ull);
    assert_true(hex_tail64("A3CE929D0E0E4736", 16, &k));
    assert_true(k == 0xa3ce929d0e0e4736ull);
    assert_true(hex_tail64("zz" "ffffffffffffffff", 18, &k)); /* only the tail counts */
    assert_true(k == UINT64_MAX);
    k = 7;
    assert_false(hex_tail64("a3ce929d0e0e473", 15, &k));
    assert_false(hex_tail64("a3ce929d0e0e473g", 16, &k));
    assert_false(hex_tail64("g3ce929d0e0e4736", 16, &k));
    assert_false(hex_tail64("a3ce929d" "\xff" "0e0e473", 16, &k));
    assert_false(hex_tail64(NULL, 16, &k));
    assert_true(k == 7); /* untouched on failure */
}

/* ---- levels ----------------------------------------------------------------------- */

static void test_level_parse(void **state)
{
    (void)state;
    struct {
        const char *in;
        enum ev_level want;
    } t[] = {
        {"ERROR", EV_LVL_ERROR},     {"error", EV_LVL_ERROR},      {"Err", EV_LVL_ERROR},
        {"exception", EV_LVL_ERROR}, {"WARN", EV_LVL_WARNING},     {"warning", EV_LVL_WARNING},
        {"INFO", EV_LVL_INFO},       {"information", EV_LVL_INFO}, {"debug", EV_LVL_DEBUG},
        {"TRACE", EV_LVL_TRACE},     {"notice", EV_LVL_NOTICE},    {"CRITICAL", EV_LVL_CRITICAL},
        {"fatal", EV_LVL_CRITICAL},  {"EMERG", EV_LVL_CRITICAL},   {"panic", EV_LVL_CRITICAL},
        {"INFO2", EV_LVL_INFO},      {"ERROR3", EV_LVL_ERROR},     {"WARN4", EV_LVL_WARNING},
        {"default", EV_LVL_UNKNOWN}, {"ERROR5", EV_LVL_UNKNOWN},   {"bogus", EV_LVL_UNKNOWN},
        {"", EV_LVL_UNKNOWN},        {"ERRORS", EV_LVL_UNKNOWN},   {"er", EV_LVL_UNKNOWN},
        {"averyveryverylongword", EV_LVL_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        enum ev_level got = ev_level_parse(t[i].in, strlen(t[i].in));
        if (got != t[i].want)
            fail_msg("'%s': got %d, want %d", t[i].in, got, t[i].want);
    }
    assert_int_equal(ev_level_parse(NULL, 5), EV_LVL_UNKNOWN);
    assert_int_equal(ev_level_parse("ERROR tail", 5), EV_LVL_ERROR); /* only n bytes */
    assert_true(EV_LVL_WARNING < EV_LVL_ERROR && EV_LVL_ERROR < EV_LVL_CRITICAL);
    assert_string_equal(ev_level_name(EV_LVL_WARNING), "WARNING");
    assert_null(ev_level_name(EV_LVL_UNKNOWN));
    assert_string_equal(ev_kind_name(EV_EXCEPTION), "exception");
    assert_string_equal(ev_kind_name(EV_KIND_COUNT), "unknown");
    assert_string_equal(ev_relation_name(EV_REL_CAUSE), "cause");
    assert_string_equal(ev_tb_origin_name(EV_TB_ASYNCIO), "asyncio");
}

/* ---- ev_clone --------------------------------------------------------------------- */

/* A string in its own heap buffer, so freeing it makes any slice into it dangle. */
static ev_str heap_str(char **owned, size_t *nowned, const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n + 1);
    owned[(*nowned)++] = p;
    return ev_str_make(p, n);
}

static void test_ev_clone_deep(void **state)
{
    (void)state;
    char *owned[64];
    size_t nowned = 0;
    struct ev_frame *frames = calloc(2, sizeof(*frames));
    frames[0] = (struct ev_frame){heap_str(owned, &nowned, "/opt/app/a.py"),
                                  heap_str(owned, &nowned, "main"), 10};
    frames[1] = (struct ev_frame){heap_str(owned, &nowned, "/opt/app/b.py"),
                                  heap_str(owned, &nowned, "helper"), 20};
    ev_str *notes = calloc(1, sizeof(*notes));
    notes[0] = heap_str(owned, &nowned, "a note");
    /* A group with one member chain of one exception. */
    struct ev_exc *member_exc = calloc(1, sizeof(*member_exc));
    member_exc[0].type = heap_str(owned, &nowned, "KeyError");
    member_exc[0].message = heap_str(owned, &nowned, "'k'");
    struct ev_chain *members = calloc(1, sizeof(*members));
    members[0] = (struct ev_chain){member_exc, 1};
    struct ev_group *group = calloc(1, sizeof(*group));
    *group = (struct ev_group){members, 1, 3, true};
    /* A worker's chain quoted in the root's message. */
    struct ev_exc *worker_exc = calloc(1, sizeof(*worker_exc));
    worker_exc[0].type = heap_str(owned, &nowned, "TypeError");
    worker_exc[0].message = heap_str(owned, &nowned, "in the worker");
    struct ev_chain *remote = calloc(1, sizeof(*remote));
    *remote = (struct ev_chain){worker_exc, 1};

    struct ev_exc *exc = calloc(2, sizeof(*exc));
    exc[0].type = heap_str(owned, &nowned, "ValueError");
    exc[0].message = heap_str(owned, &nowned, "bad value");
    exc[0].relation = EV_REL_ROOT;
    exc[0].frames = frames;
    exc[0].nframes = 2;
    exc[0].frames_total = 7;
    exc[0].repeat_markers = 1;
    exc[0].notes = notes;
    exc[0].nnotes = 1;
    exc[0].has_syntax = true;
    exc[0].syntax = (struct ev_syntax){heap_str(owned, &nowned, "conf.py"),
                                       heap_str(owned, &nowned, "x = = 1"), 3, 5};
    exc[0].remote = remote;
    exc[1].type = heap_str(owned, &nowned, "ExceptionGroup");
    exc[1].message = heap_str(owned, &nowned, "eg (4 sub-exceptions)");
    exc[1].relation = EV_REL_CAUSE;
    exc[1].group = group;

    struct event src;
    ev_init(&src, EV_EXCEPTION);
    char *stream = strdup("app.log");
    src.src.stream = stream;
    src.src.line = 12;
    src.has_ts = true;
    src.ts_ns = 5;
    src.pid = 99;
    src.level = EV_LVL_ERROR;
    src.service = heap_str(owned, &nowned, "svc");
    src.host = heap_str(owned, &nowned, "host1");
    src.logger = heap_str(owned, &nowned, "shop.http");
    src.thread = heap_str(owned, &nowned, "MainThread");
    src.message = heap_str(owned, &nowned, "request failed");
    src.trace_id = heap_str(owned, &nowned, HEX32);
    src.span_id = heap_str(owned, &nowned, "00f067aa0ba902b7");
    src.stream_name = heap_str(owned, &nowned, "stderr");
    src.u.exc.chain = (struct ev_chain){exc, 2};
    src.u.exc.origin = EV_TB_THREAD;
    src.u.exc.thread_name = heap_str(owned, &nowned, "Thread-1");
    src.u.exc.last_line = 30;
    src.u.exc.interleaved = true;

    json_t *before = ev_to_json(&src);
    assert_non_null(before);

    struct arena a = {0};
    struct event dst;
    assert_int_equal(ev_clone(&dst, &src, &a), 0);

    /* Overwrite, then free, every source buffer: the copy must not notice (ASan
     * reports any slice still pointing into them). */
    for (size_t i = 0; i < nowned; i++) {
        memset(owned[i], 'X', strlen(owned[i]));
        free(owned[i]);
    }
    memset(stream, 'X', strlen(stream));
    free(stream);
    memset(frames, 0, 2 * sizeof(*frames));
    free(frames);
    free(notes);
    free(member_exc);
    free(members);
    free(group);
    memset(worker_exc, 0, sizeof(*worker_exc));
    free(worker_exc);
    free(remote);
    free(exc);

    json_t *after = ev_to_json(&dst);
    assert_non_null(after);
    if (!json_equal(before, after)) {
        char *x = json_dumps(before, JSON_SORT_KEYS), *y = json_dumps(after, JSON_SORT_KEYS);
        fail_msg("clone differs:\n%s\n%s", x, y);
    }
    assert_true(ev_str_eq(dst.u.exc.chain.exc[0].frames[1].function, "helper"));
    assert_true(ev_str_eq(dst.u.exc.chain.exc[0].syntax.text, "x = = 1"));
    assert_int_equal(dst.u.exc.chain.exc[0].syntax.offset, 5);
    assert_true(ev_str_eq(dst.u.exc.chain.exc[1].group->members[0].exc[0].message, "'k'"));
    assert_int_equal(dst.u.exc.chain.exc[1].group->more_exceptions, 3);
    assert_true(ev_str_eq(dst.u.exc.chain.exc[0].remote->exc[0].message, "in the worker"));
    assert_null(dst.u.exc.chain.exc[1].remote);
    assert_string_equal(dst.src.stream, "app.log");
    json_decref(before);
    json_decref(after);

    /* An arena too small for the copy reports failure instead of a half copy. */
    struct arena tiny;
    arena_init(&tiny, 64);
    struct event d2;
    assert_int_equal(ev_clone(&d2, &dst, &tiny), -1);
    arena_free(&tiny);
    arena_free(&a);
}

static void test_ev_clone_absent_stays_absent(void **state)
{
    (void)state;
    struct event src, dst;
    ev_init(&src, EV_LOG);
    src.message = ev_str_make("", 0); /* present but empty */
    struct arena a = {0};
    assert_int_equal(ev_clone(&dst, &src, &a), 0);
    assert_false(ev_str_present(dst.logger));
    assert_false(ev_str_present(dst.trace_id));
    assert_null(dst.src.stream);
    assert_true(ev_str_present(dst.message));
    assert_int_equal(dst.message.len, 0);
    assert_int_equal(dst.pid, -1);
    arena_free(&a);
}

/* ---- pyframe ---------------------------------------------------------------------- */

static void test_pyframe(void **state)
{
    (void)state;
    struct {
        const char *file;
        enum pyframe_class cls;
        const char *module;
    } t[] = {
        {"/usr/lib/python3.11/json/decoder.py", PYFRAME_STDLIB, "json.decoder"},
        {"/usr/lib/python3.11/json/__init__.py", PYFRAME_STDLIB, "json"},
        {"/usr/local/lib/python3.12/concurrent/futures/_base.py", PYFRAME_STDLIB,
         "concurrent.futures._base"},
        {"/usr/lib64/python3.9/socket.py", PYFRAME_STDLIB, "socket"},
        {"/usr/lib/python3.11/site-packages/requests/adapters.py", PYFRAME_THIRD_PARTY,
         "requests.adapters"},
        {"/srv/venv/lib/python3.12/site-packages/urllib3/connectionpool.py", PYFRAME_THIRD_PARTY,
         "urllib3.connectionpool"},
        {"/usr/lib/python3/dist-packages/yaml/__init__.py", PYFRAME_THIRD_PARTY, "yaml"},
        {"/srv/venv/lib/python3.12/site-packages/six.py", PYFRAME_THIRD_PARTY, "six"},
        {"<frozen importlib._bootstrap>", PYFRAME_FROZEN, "importlib._bootstrap"},
        {"<frozen runpy>", PYFRAME_FROZEN, "runpy"},
        {"/opt/app/svc/mypkg/__init__.py", PYFRAME_APP, "mypkg"},
        {"/opt/app/svc/mypkg/records.py", PYFRAME_APP, "records"},
        {"/opt/app/x.py", PYFRAME_APP, "x"},
        {"x.py", PYFRAME_APP, "x"},
        {"/home/u/lib/pythonista/app.py", PYFRAME_APP, "app"},
        {"<string>", PYFRAME_SYNTHETIC, "<string>"},
        {"<stdin>", PYFRAME_SYNTHETIC, "<stdin>"},
        {"C:\\Python311\\Lib\\json\\decoder.py", PYFRAME_STDLIB, "json.decoder"},
        {"C:\\Python311\\Lib\\json\\__init__.py", PYFRAME_STDLIB, "json"},
        {"C:\\app\\venv\\Lib\\site-packages\\requests\\api.py", PYFRAME_THIRD_PARTY, "requests.api"},
        /* markers cut short at the end, or after a run of separators */
        {"/srv/a/site-packages", PYFRAME_APP, "site-packages"},
        {"/srv/lib/python", PYFRAME_APP, "python"},
        {"//srv//site-packages/pkg/m.py", PYFRAME_THIRD_PARTY, "pkg.m"},
        {"/usr/lib/lib/python3.11/os.py", PYFRAME_STDLIB, "os"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ev_str f = ev_str_make(t[i].file, strlen(t[i].file));
        enum pyframe_class c = pyframe_classify(f);
        if (c != t[i].cls)
            fail_msg("%s: class %s, want %s", t[i].file, pyframe_class_name(c),
                     pyframe_class_name(t[i].cls));
        char buf[128];
        size_t n = pyframe_module(f, buf, sizeof(buf));
        if (strcmp(buf, t[i].module) != 0 || n != strlen(t[i].module))
            fail_msg("%s: module '%s' (%zu), want '%s'", t[i].file, buf, n, t[i].module);
    }
    assert_int_equal(pyframe_classify(EV_STR_NULL), PYFRAME_SYNTHETIC);
    char buf[8];
    assert_int_equal(pyframe_module(EV_STR_NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    /* Cut to the buffer, always terminated. */
    ev_str f = EV_STR_LIT("/usr/lib/python3.11/concurrent/futures/process.py");
    assert_int_equal(pyframe_module(f, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "concurr");
    assert_int_equal(pyframe_module(f, buf, 1), 0);
    assert_string_equal(buf, "");
    assert_int_equal(pyframe_module(f, buf, 0), 0);
}

/* ---- ev_json ---------------------------------------------------------------------- */

static json_t *reload(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    assert_non_null(s);
    json_error_t err;
    json_t *back = json_loads(s, 0, &err);
    if (back == NULL)
        fail_msg("jansson cannot reload %s: %s", s, err.text);
    free(s);
    return back;
}

static void test_ev_json_repairs_utf8(void **state)
{
    (void)state;
    struct {
        const char *in;
        size_t n;
        const char *want;
    } t[] = {
        {"plain", 5, "plain"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "caf\xc3\xa9 \xf0\x9f\x98\x80"},
        {"ab\xff" "cd", 5, "ab\xef\xbf\xbd" "cd"},
        {"\xc3\x28", 2, "\xef\xbf\xbd("},                    /* bad continuation */
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},         /* overlong '/' */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"end\xe2\x82", 5, "end\xef\xbf\xbd\xef\xbf\xbd"},   /* cut short */
        {"a\0b", 3, "a\xef\xbf\xbd" "b"},                    /* NUL */
        {"\xef\xbf\xbd", 3, "\xef\xbf\xbd"},                 /* a real U+FFFD stays */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *j = ev_json_str(ev_str_make(t[i].in, t[i].n));
        assert_non_null(j);
        assert_true(json_is_string(j));
        if (strcmp(json_string_value(j), t[i].want) != 0 ||
            json_string_length(j) != strlen(t[i].want))
            fail_msg("case %zu: got '%s'", i, json_string_value(j));
        json_decref(j);
    }
    json_t *j = ev_json_str(EV_STR_NULL);
    assert_true(json_is_null(j));
    json_decref(j);
    j = ev_json_cstr(NULL);
    assert_true(json_is_null(j));
    json_decref(j);

    /* A whole event with hostile bytes in every string is a document jansson reads
     * back, with the same repaired strings. */
    static const char bad[] = "x\xff\xfe\x00y\xc3";
    ev_str b = ev_str_make(bad, sizeof(bad) - 1);
    struct ev_frame fr = {b, b, 7};
    ev_str note = b;
    struct ev_exc exc = {.type = b, .message = b, .frames = &fr, .nframes = 1, .frames_total = 1,
                         .notes = &note, .nnotes = 1};
    struct event ev;
    ev_init(&ev, EV_EXCEPTION);
    ev.src.stream = "bad\xff.log";
    ev.src.line = 3;
    ev.logger = b;
    ev.message = b;
    ev.service = b;
    ev.u.exc.chain = (struct ev_chain){&exc, 1};
    ev.u.exc.thread_name = b;
    json_t *doc = ev_to_json(&ev);
    assert_non_null(doc);
    json_t *back = reload(doc);
    assert_non_null(back);
    assert_true(json_equal(doc, back));
    const char *want = "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd";
    assert_string_equal(json_string_value(json_object_get(back, "message")), want);
    json_t *e0 = json_array_get(json_object_get(json_object_get(back, "exception"), "chain"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "type")), want);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e0, "notes"), 0)), want);
    json_t *f0 = json_array_get(json_object_get(e0, "frames"), 0);
    assert_string_equal(json_string_value(json_object_get(f0, "file")), want);
    assert_int_equal(json_integer_value(json_object_get(f0, "line")), 7);
    assert_string_equal(json_string_value(json_object_get(json_object_get(back, "source"), "stream")),
                        "bad\xef\xbf\xbd.log");
    json_decref(doc);
    json_decref(back);
}

/* The direct writer (ev_json_dump) against the tree (ev_to_json), on strings
 * that need every kind of care: escapes, control characters, DEL, NUL, UTF-8 of
 * every length, and what is not UTF-8 (overlong, surrogate, beyond U+10FFFF, cut
 * short at the end). Exceptions, times far from now, every optional field. */
static void test_ev_json_dump_agrees(void **state)
{
    (void)state;
    static const char *const strs[] = {
        "", "plain", "q\"uote", "back\\slash", "\b\f\n\r\t", "\x01\x1b[31mred\x1f", "del\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "cut\xe2\x82", "\xff", "/slash/", "\xe2\x80\xa8sep", "tab\tend\\"};
    size_t ns = sizeof(strs) / sizeof(strs[0]);
    static const char nul[] = "a\0b";
    static const int64_t times[] = {0, 1, 1000, 1000000, T_2024_05_01_10 + 123456789, -1, -86400LL * 1000000000LL,
                                    4102444800LL * 1000000000LL + 999999999,
                                    INT64_MAX, INT64_MIN + 1};
    for (size_t i = 0; i < ns + 1; i++) {
        ev_str s = i < ns ? ev_str_make(strs[i], strlen(strs[i])) : ev_str_make(nul, 3);
        ev_str t = ev_str_make(strs[(i + 3) % ns], strlen(strs[(i + 3) % ns]));
        struct ev_frame fr = {s, t, (uint32_t)i};
        struct ev_exc exc = {.type = t, .message = s, .frames = &fr, .nframes = 1, .frames_total = 2};
        for (int kind = 0; kind < 2; kind++) {
            struct event ev;
            ev_init(&ev, kind ? EV_EXCEPTION : EV_LOG);
            ev.has_ts = true;
            ev.ts_ns = times[i % (sizeof(times) / sizeof(times[0]))];
            ev.service = s;
            ev.host = t;
            ev.pid = (int64_t)i * 1000003;
            ev.trace_id = s;
            ev.span_id = t;
            ev.level = (enum ev_level)(i % 6);
            ev.logger = t;
            ev.thread = s;
            ev.message = s;
            ev.stream_name = t;
            ev.src.stream = i % 3 ? strs[i % ns] : NULL;
            ev.src.line = i % 2 ? UINT64_C(18446744073709551615) : (uint64_t)i;
            if (kind)
                ev.u.exc.chain = (struct ev_chain){&exc, 1};
            json_decref(test_event_doc(&ev));
        }
    }
}

static void test_ev_json_shape(void **state)
{
    (void)state;
    struct event ev;
    ev_init(&ev, EV_LOG);
    json_t *doc = ev_to_json(&ev);
    /* Absent fields are absent, not null. */
    assert_null(json_object_get(doc, "ts"));
    assert_null(json_object_get(doc, "pid"));
    assert_null(json_object_get(doc, "level"));
    assert_null(json_object_get(doc, "exception"));
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "log");
    json_decref(doc);

    ev.has_ts = true;
    ev.ts_ns = T_2024_05_01_10 + 5000000;
    ev.pid = 0;
    ev.level = EV_LVL_CRITICAL;
    doc = ev_to_json(&ev);
    assert_string_equal(json_string_value(json_object_get(doc, "ts")), "2024-05-01T10:00:00.005Z");
    assert_int_equal(json_integer_value(json_object_get(doc, "pid")), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "level")), "CRITICAL");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment),
        cmocka_unit_test(test_arena_grow_in_place),
        cmocka_unit_test(test_arena_cap),
        cmocka_unit_test(test_arena_huge_requests),
        cmocka_unit_test(test_arena_reset_reuse),
        cmocka_unit_test(test_evtime_variants),
        cmocka_unit_test(test_evtime_invalid),
        cmocka_unit_test(test_evtime_field_and_epoch),
        cmocka_unit_test(test_evtime_format_roundtrip),
        cmocka_unit_test(test_traceid_spellings),
        cmocka_unit_test(test_traceid_invalid),
        cmocka_unit_test(test_hex_digits),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_ev_clone_deep),
        cmocka_unit_test(test_ev_clone_absent_stays_absent),
        cmocka_unit_test(test_pyframe),
        cmocka_unit_test(test_ev_json_repairs_utf8),
        cmocka_unit_test(test_ev_json_shape),
        cmocka_unit_test(test_ev_json_dump_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
