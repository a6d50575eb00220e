/* test_prefilter.c -- the literal scanners behind the rules prefilter: byte pairs,
 * Shift-And and the Aho-Corasick DFA find the same literals on any text, and
 * report them in the order they end. test_prefilter_portable.c runs these again
 * on the scanner that machines without SSE2 use. */
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

/* The literal scanners (byte pairs, Shift-And, the DFA) must find the same
 * literals, first occurrence by end position, on any text: random literal sets
 * cut from random texts over a small alphabet (so hits and near misses abound),
 * with NUL and bytes >= 0x80 among the letters, for exact and caseless sets. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static size_t scan_sorted(const struct ac *a, const char *text, size_t n, uint32_t *hits)
{
    uint8_t seen[16] = {0};
    size_t k = ac_scan(a, text, n, seen, 0, hits, 0, 16);
    for (size_t i = 0; i < k; i++)
        assert_true(seen[hits[i]]);
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
    uint32_t seed = 12345;
    for (int round = 0; round < 3000; round++) {
        bool caseless = round % 2;
        char src[200], text[200];
        size_t srcn = 20 + lcg(&seed) % 180, n = lcg(&seed) % 200;
        for (size_t i = 0; i < srcn; i++)
            src[i] = alpha[lcg(&seed) % sizeof(alpha)];
        for (size_t i = 0; i < n; i++)
            text[i] = alpha[lcg(&seed) % sizeof(alpha)];
        if (n > 40 && round % 3 == 0)
            memcpy(text + 10, src, 30); /* some literals will surely be there */
        size_t nl = 1 + lcg(&seed) % 8;
        char lit[8][24];
        const char *lits[8];
        size_t lens[8], total = 0;
        for (size_t i = 0; i < nl; i++) {
            size_t len = 2 + lcg(&seed) % (round % 5 == 0 ? 3 : 12);
            size_t at = lcg(&seed) % (srcn - len);
            for (size_t k = 0; k < len; k++) {
                char c = src[at + k];
                lit[i][k] = caseless && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
            }
            lits[i] = lit[i];
            lens[i] = len;
            total += len;
        }
        struct ac *dfa = ac_build_kind(lits, lens, nl, caseless, AC_DFA);
        struct ac *pairs = ac_build_kind(lits, lens, nl, caseless, AC_PAIRS);
        struct ac *sa = ac_build_kind(lits, lens, nl, caseless, AC_SHIFT_AND);
        assert_non_null(dfa);
        assert_non_null(pairs);
        assert_true((sa != NULL) == (total <= 64));
        uint32_t h1[16], h2[16], h3[16];
        size_t k1 = scan_sorted(dfa, text, n, h1);
        size_t k2 = scan_sorted(pairs, text, n, h2);
        assert_int_equal(k1, k2);
        assert_memory_equal(h1, h2, k1 * sizeof(*h1));
        if (sa != NULL) {
            size_t k3 = scan_sorted(sa, text, n, h3);
            assert_int_equal(k1, k3);
            assert_memory_equal(h1, h3, k1 * sizeof(*h1));
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
    }
}

/* Hits come out in the order the literals end in the text. */
static void test_scanner_hit_order(void **state)
{
    (void)state;
    const char *lits[] = {"connection reset", "pool", "timed out"};
    size_t lens[] = {16, 4, 9};
    const char *text = "pool worker: timed out after connection reset by peer";
    for (int kind = AC_PAIRS; kind <= AC_DFA; kind++) {
        struct ac *a = ac_build_kind(lits, lens, 3, false, (enum ac_kind)kind);
        if (a == NULL)
            continue;
        uint8_t seen[3] = {0};
        uint32_t hits[3];
        assert_int_equal(ac_scan(a, text, strlen(text), seen, 0, hits, 0, 3), 3);
        assert_int_equal(hits[0], 1);
        assert_int_equal(hits[1], 2);
        assert_int_equal(hits[2], 0);
        ac_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aho_corasick),
        cmocka_unit_test(test_scanner_kinds_agree),
        cmocka_unit_test(test_scanner_hit_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
