/* test_prefilter.c -- the literal scanners behind the rules prefilter: Teddy, byte
 * pairs, Shift-And and the Aho-Corasick DFA find the same literals on any text,
 * and report them in the order they end. test_prefilter_portable.c runs these
 * again on the scanners that machines without SSE2 use (no Teddy there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/prefilter.h"

static void test_aho_corasick(void **state)
{
    (void)state;
    const char *lits[] = {"he", "she", "his", "hers", "timed out"};
    size_t lens[] = {2, 3, 3, 4, 9};
    struct ac *a = ac_build(lits, lens, 5, false);
    assert_non_null(a);
    uint8_t seen[8] = {0};
    uint32_t hits[8];
    const char *text = "ushers were timed out";
    size_t n = ac_scan(a, text, strlen(text), seen, 0, hits, 0, 8);
    assert_true(seen[0] && seen[1] && seen[3] && seen[4]);
    assert_false(seen[2]);
    assert_int_equal(n, 4);
    ac_free(a);
    const char *ci[] = {"timed out"};
    size_t cil[] = {9};
    struct ac *b = ac_build(ci, cil, 1, true);
    uint8_t s2[1] = {0};
    ac_scan(b, "TIMED OUT", 9, s2, 0, hits, 0, 8);
    assert_true(s2[0]);
    ac_free(b);
}

/* Teddy is built wherever it can run: an x86 CPU with SSSE3 and a build without
 * PF_PORTABLE (test_prefilter_portable.c defines it before including this file). */
static bool teddy_expected(void)
{
#if defined(PF_PORTABLE) || !(defined(__x86_64__) || defined(__i386__))
    return false;
#else
    return __builtin_cpu_supports("ssse3");
#endif
}

/* The literal scanners (Teddy, byte pairs, Shift-And, the DFA) must find the same
 * literals, first occurrence by end position, on any text: random literal sets
 * cut from random texts over a small alphabet (so hits and near misses abound),
 * with NUL and bytes >= 0x80 among the letters, for exact and caseless sets. A
 * second alphabet is made of bytes that share a low nibble ('a' 'A' 'q' 'Q' '!'
 * '1' 0xe1 0xc1) or a high one ('`' '@' 'p' 'P'), so Teddy's nibble tables pass
 * many false candidates. Texts are often short (0..40 bytes), and literals are
 * planted at the very start and the very end. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static size_t scan_sorted(const struct ac *a, const char *text, size_t n, uint32_t *hits, uint32_t *order)
{
    uint8_t seen[16] = {0};
    size_t k = ac_scan(a, text, n, seen, 0, hits, 0, 16);
    for (size_t i = 0; i < k; i++)
        assert_true(seen[hits[i]]);
    if (order != NULL)
        memcpy(order, hits, k * sizeof(*hits));
    /* The DFA orders literals ending together longest first, the others by id: sort
     * to compare the sets. */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && hits[j - 1] > hits[j]; j--) {
            uint32_t t = hits[j];
            hits[j] = hits[j - 1];
            hits[j - 1] = t;
        }
    return k;
}

static void test_scanner_kinds_agree(void **state)
{
    (void)state;
    static const char alpha[] = {'a', 'b', 'A', 'B', ' ', '\0', (char)0xc3, (char)0xa9, 'z'};
    static const char alias[] = {'a', 'A', 'q', 'Q', '!', '1', (char)0xe1, (char)0xc1, '`', '@', 'p', 'P', '\0'};
    uint32_t seed = 12345;
    unsigned built_teddy = 0, teddy_hits = 0;
    for (int round = 0; round < 6000; round++) {
        bool caseless = round % 2;
        const char *al = round % 4 < 2 ? alpha : alias;
        size_t alen = round % 4 < 2 ? sizeof(alpha) : sizeof(alias);
        char src[200], text[200];
        size_t srcn = 20 + lcg(&seed) % 180;
        size_t n = round % 3 == 2 ? lcg(&seed) % 200 : lcg(&seed) % 41;
        for (size_t i = 0; i < srcn; i++)
            src[i] = al[lcg(&seed) % alen];
        for (size_t i = 0; i < n; i++)
            text[i] = al[lcg(&seed) % alen];
        if (n > 40 && round % 5 == 0)
            memcpy(text + 10, src, 30); /* some literals will surely be there */
        /* Up to 16 literals (Teddy's limit; more than its 8 buckets), of 3 bytes
         * or more in most rounds. */
        size_t nl = 1 + lcg(&seed) % (round % 7 == 0 ? 16 : 8);
        size_t minlen = round % 5 == 1 ? 2 : 3;
        char lit[16][24];
        const char *lits[16];
        size_t lens[16], total = 0, shortest = SIZE_MAX;
        for (size_t i = 0; i < nl; i++) {
            size_t len = minlen + lcg(&seed) % (round % 5 == 0 ? 3 : 12);
            size_t at = lcg(&seed) % (srcn - len);
            for (size_t k = 0; k < len; k++) {
                char c = src[at + k];
                lit[i][k] = caseless && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
            }
            lits[i] = lit[i];
            lens[i] = len;
            total += len;
            if (len < shortest)
                shortest = len;
        }
        /* A literal at the very start or the very end of the text, in a random
         * case when caseless. */
        size_t pick = lcg(&seed) % nl;
        if (lens[pick] <= n && round % 3 != 1) {
            size_t at = lcg(&seed) % 2 ? 0 : n - lens[pick];
            for (size_t k = 0; k < lens[pick]; k++) {
                char c = lits[pick][k];
                text[at + k] = caseless && c >= 'a' && c <= 'z' && lcg(&seed) % 2 ? (char)(c - 32) : c;
            }
        }
        struct ac *dfa = ac_build_kind(lits, lens, nl, caseless, AC_DFA);
        struct ac *pairs = ac_build_kind(lits, lens, nl, caseless, AC_PAIRS);
        struct ac *sa = ac_build_kind(lits, lens, nl, caseless, AC_SHIFT_AND);
        struct ac *teddy = ac_build_kind(lits, lens, nl, caseless, AC_TEDDY);
        assert_non_null(dfa);
        assert_non_null(pairs);
        assert_true((sa != NULL) == (total <= 64));
        assert_true((teddy != NULL) == (shortest >= 3 && teddy_expected()));
        uint32_t h1[16], h2[16], h3[16], h4[16], o2[16], o4[16];
        size_t k1 = scan_sorted(dfa, text, n, h1, NULL);
        size_t k2 = scan_sorted(pairs, text, n, h2, o2);
        assert_int_equal(k1, k2);
        assert_memory_equal(h1, h2, k1 * sizeof(*h1));
        if (sa != NULL) {
            size_t k3 = scan_sorted(sa, text, n, h3, NULL);
            assert_int_equal(k1, k3);
            assert_memory_equal(h1, h3, k1 * sizeof(*h1));
        }
        if (teddy != NULL) {
            /* Teddy and the pairs both report by end, then by id: the same order. */
            size_t k4 = scan_sorted(teddy, text, n, h4, o4);
            assert_int_equal(k1, k4);
            assert_memory_equal(h1, h4, k1 * sizeof(*h1));
            assert_memory_equal(o2, o4, k1 * sizeof(*o2));
            built_teddy++;
            teddy_hits += (unsigned)k4;
        }
        /* And the truth, by brute force. */
        for (size_t i = 0; i < nl; i++) {
            bool there = false;
            for (size_t at = 0; !there && at + lens[i] <= n; at++) {
                size_t k = 0;
                while (k < lens[i] && (caseless && text[at + k] >= 'A' && text[at + k] <= 'Z' ? text[at + k] + 32
                                                                                              : text[at + k]) == lits[i][k])
                    k++;
                there = k == lens[i];
            }
            bool reported = false;
            for (size_t j = 0; j < k1; j++)
                reported |= h1[j] == i;
            assert_true(there == reported);
        }
        ac_free(dfa);
        ac_free(pairs);
        ac_free(sa);
        ac_free(teddy);
    }
    /* The comparison above did compare Teddy, and on texts with hits. */
    if (teddy_expected()) {
        assert_true(built_teddy > 2000);
        assert_true(teddy_hits > 2000);
    }
}

/* The shipped rules' literals (caseless): AC_AUTO takes Teddy for them where it
 * can run, and Teddy finds each one at every offset of texts of 0..40 bytes, in
 * mixed case, among filler that shares its nibbles, exactly as the DFA does. */
static void test_teddy_every_offset(void **state)
{
    (void)state;
    static const char *const lits[] = {
        "cuda out of memory",     "loss",        "queuepool limit of size ", "connection pool exhausted",
        "connection pool is full", "pooltimeout", "deadlock detected",        "deadlock found when trying to get lock",
        "lock wait timeout exceeded", "could not obtain lock",
    };
    enum { NL = sizeof(lits) / sizeof(lits[0]) };
    size_t lens[NL];
    for (size_t i = 0; i < NL; i++)
        lens[i] = strlen(lits[i]);
    struct ac *a = ac_build(lits, lens, NL, true);
    struct ac *dfa = ac_build_kind(lits, lens, NL, true, AC_DFA);
    assert_non_null(a);
    assert_non_null(dfa);
    assert_int_equal(ac_kind_of(a), teddy_expected() ? AC_TEDDY : AC_PAIRS);
    static const char filler[] = "OCKLOSloscKoL@`/O\xef\x0f";
    uint32_t seed = 7;
    unsigned found = 0;
    for (size_t n = 0; n <= 40; n++)
        for (size_t i = 0; i < NL; i++)
            for (size_t at = 0; at + lens[i] <= n || (at == 0 && lens[i] > n); at++) {
                char *text = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
                assert_non_null(text);
                for (size_t k = 0; k < n; k++)
                    text[k] = filler[lcg(&seed) % (sizeof(filler) - 1)];
                if (lens[i] <= n)
                    for (size_t k = 0; k < lens[i]; k++) {
                        char c = lits[i][k];
                        text[at + k] = c >= 'a' && c <= 'z' && lcg(&seed) % 2 ? (char)(c - 32) : c;
                    }
                uint32_t h1[NL], h2[NL];
                size_t k1 = scan_sorted(dfa, text, n, h1, NULL);
                size_t k2 = scan_sorted(a, text, n, h2, NULL);
                assert_int_equal(k1, k2);
                assert_memory_equal(h1, h2, k1 * sizeof(*h1));
                bool there = false;
                for (size_t k = 0; k < k2; k++)
                    there |= h2[k] == i;
                assert_true(there == (lens[i] <= n));
                found += there;
                free(text);
            }
    assert_true(found > 1000);
    ac_free(a);
    ac_free(dfa);
}

/* AC_AUTO: Teddy for up to 16 literals of 3 bytes or more (where it can run),
 * byte pairs when one has 2 bytes, Shift-And past 16 short literals. */
static void test_auto_kind(void **state)
{
    (void)state;
    const char *lits[17] = {"abc", "bcd", "cde", "def", "efg", "fgh", "ghi", "hij", "ijk",
                            "jkl", "klm", "lmn", "mno", "nop", "opq", "pqr", "qrs"};
    size_t lens[17];
    for (size_t i = 0; i < 17; i++)
        lens[i] = 3;
    struct ac *a = ac_build(lits, lens, 16, false);
    assert_int_equal(ac_kind_of(a), teddy_expected() ? AC_TEDDY : AC_PAIRS);
    ac_free(a);
    a = ac_build(lits, lens, 17, false);
    assert_int_equal(ac_kind_of(a), AC_SHIFT_AND);
    assert_null(ac_build_kind(lits, lens, 17, false, AC_TEDDY));
    ac_free(a);
    lens[3] = 2;
    a = ac_build(lits, lens, 5, true);
    assert_int_equal(ac_kind_of(a), AC_PAIRS);
    assert_null(ac_build_kind(lits, lens, 5, true, AC_TEDDY));
    ac_free(a);
}

/* Hits come out in the order the literals end in the text. */
static void test_scanner_hit_order(void **state)
{
    (void)state;
    const char *lits[] = {"connection reset", "pool", "timed out"};
    size_t lens[] = {16, 4, 9};
    const char *text = "pool worker: timed out after connection reset by peer";
    unsigned kinds = 0;
    for (int kind = AC_PAIRS; kind <= AC_TEDDY; kind++) {
        struct ac *a = ac_build_kind(lits, lens, 3, false, (enum ac_kind)kind);
        if (a == NULL)
            continue;
        kinds++;
        uint8_t seen[3] = {0};
        uint32_t hits[3];
        assert_int_equal(ac_scan(a, text, strlen(text), seen, 0, hits, 0, 3), 3);
        assert_int_equal(hits[0], 1);
        assert_int_equal(hits[1], 2);
        assert_int_equal(hits[2], 0);
        /* Past max, a hit is still seen but not listed. */
        memset(seen, 0, sizeof(seen));
        assert_int_equal(ac_scan(a, text, strlen(text), seen, 0, hits, 0, 1), 1);
        assert_int_equal(hits[0], 1);
        assert_true(seen[0] && seen[1] && seen[2]);
        ac_free(a);
    }
    assert_int_equal(kinds, teddy_expected() ? 4 : 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aho_corasick),
        cmocka_unit_test(test_scanner_kinds_agree),
        cmocka_unit_test(test_teddy_every_offset),
        cmocka_unit_test(test_auto_kind),
        cmocka_unit_test(test_scanner_hit_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
