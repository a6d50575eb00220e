/* prefilter.h -- skip rules whose regex cannot match, in one pass over a field.
 *
 * Most regexes in rules need a literal: /CUDA out of memory/ cannot match a message
 * without "CUDA out of memory". The prefilter extracts such a literal from each
 * rule's required regex and builds one Aho-Corasick automaton over all of them, so
 * an event's message is scanned once, whatever the number of rules, and only rules
 * whose literal was seen are evaluated. Caseless regexes get a case-folded
 * automaton. A regex without a usable literal (top-level alternation, classes only)
 * is not prefiltered: its rule is always evaluated.
 */
#ifndef PYCORR_PREFILTER_H
#define PYCORR_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest literal of at least 3 bytes that every match of the PCRE2 pattern
 * contains, written to out (NUL-terminated, lowercased when caseless); returns its
 * length, or 0 when there is none the extractor can prove. Conservative: it gives up
 * on top-level alternation, and a quantified or optional byte ends a literal. */
size_t prefilter_literal(const char *pattern, bool caseless, char *out, size_t outsz);

/* The literals of a pattern whose top level is an alternation "a|b|c": one per
 * branch (each found as prefilter_literal does), so that some literal is in every
 * match. Writes up to max literals (NUL-terminated, 128 bytes each) and returns
 * how many, or 0 when a branch has none (or there are more than max). A pattern
 * without top-level alternation gives its one literal. */
#define PREFILTER_LIT_MAX 128
size_t prefilter_literals(const char *pattern, bool caseless, char out[][PREFILTER_LIT_MAX], size_t max);

struct ac;

/* Build a scanner over n literals (ids 0..n-1). caseless folds ASCII case in the
 * input as the literals were folded. NULL on allocation failure, when n is 0, or
 * when a literal is empty. The kind is chosen by the set: up to 16 literals of 3
 * bytes or more are found by Teddy when the CPU has SSSE3 (a rare 3-byte anchor
 * each, looked up by nibbles sixteen positions a step); otherwise up to 16
 * literals of 2 bytes or more by a rare byte pair each (SSE2, sixteen positions a
 * step); few short ones by Shift-And; the rest by an Aho-Corasick DFA. All report
 * the same hits. */
struct ac *ac_build(const char *const *lits, const size_t *lens, size_t n, bool caseless);

/* The same with the kind forced (tests compare the kinds); NULL also when the set
 * does not suit the kind (AC_PAIRS: at most 16 literals of 2 bytes or more;
 * AC_SHIFT_AND: 64 bytes in all; AC_TEDDY: at most 16 literals of 3 bytes or
 * more, an x86 CPU with SSSE3, and a build without PF_PORTABLE). */
enum ac_kind { AC_AUTO = 0, AC_PAIRS, AC_SHIFT_AND, AC_DFA, AC_TEDDY };
struct ac *ac_build_kind(const char *const *lits, const size_t *lens, size_t n, bool caseless, enum ac_kind kind);
void ac_free(struct ac *a);

/* The kind ac_build chose (never AC_AUTO); this function can't fail. */
enum ac_kind ac_kind_of(const struct ac *a);

/* Scan text; set seen[id + base] for every literal found and append id + base to
 * hits (up to max) the first time it is seen, in the order the literals end in the
 * text. Returns the new number of hits. */
size_t ac_scan(const struct ac *a, const char *text, size_t n, uint8_t *seen, uint32_t base, uint32_t *hits,
               size_t nhits, size_t max);

#endif
