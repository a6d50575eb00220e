/* prefilter.c -- required literals and an Aho-Corasick scanner; see prefilter.h. */
#include "prefilter.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(PF_PORTABLE)
#include <emmintrin.h>
#define PF_SSE2 1
#endif

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* The first '|' at or after from that stands at the top level of pattern p (outside
 * groups, classes and escapes), or n when there is none. from is at top level. */
static size_t next_top_bar(const char *p, size_t n, size_t from)
{
    int depth = 0;
    bool in_class = false;
    for (size_t i = from; i < n; i++) {
        char c = p[i];
        if (c == '\\') {
            i++;
            continue;
        }
        if (in_class) {
            if (c == ']')
                in_class = false;
            continue;
        }
        if (c == '[')
            in_class = true;
        else if (c == '(')
            depth++;
        else if (c == ')')
            depth--;
        else if (c == '|' && depth == 0)
            return i;
    }
    return n;
}

size_t prefilter_literal(const char *p, bool caseless, char *out, size_t outsz)
{
    size_t n = strlen(p);
    /* Top-level alternation: the literal could be in any branch. */
    if (next_top_bar(p, n, 0) < n)
        return 0;
    if (n >= 4 && strncmp(p, "(?i)", 4) == 0) {
        caseless = true;
        p += 4;
        n -= 4;
    }
    char run[256], best[256];
    size_t rl = 0, bl = 0;
#define END_RUN()                                                                                                \
    do {                                                                                                         \
        if (rl > bl) {                                                                                           \
            memcpy(best, run, rl);                                                                               \
            bl = rl;                                                                                             \
        }                                                                                                        \
        rl = 0;                                                                                                  \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        char lit = 0;
        bool is_lit = false;
        if (c == '\\') {
            if (i + 1 >= n)
                break;
            char e = p[++i];
            /* An escaped punctuation byte is itself; letters are classes (\d \w)
             * or assertions (\b); \Q \E and the rest: give up on the run. */
            if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
                if (e == 'n' || e == 't') {
                    lit = e == 'n' ? '\n' : '\t';
                    is_lit = true;
                }
            } else {
                lit = e;
                is_lit = true;
            }
        } else if (c == '(') {
            END_RUN();
            int d = 1;
            bool cls = false;
            for (i++; i < n && d > 0; i++) {
                if (p[i] == '\\') {
                    i++;
                    continue;
                }
                if (cls) {
                    if (p[i] == ']')
                        cls = false;
                } else if (p[i] == '[')
                    cls = true;
                else if (p[i] == '(')
                    d++;
                else if (p[i] == ')')
                    d--;
            }
            i--;
            /* A quantified group may be absent: it does not bridge two runs, but
             * neither does a present one, so nothing more to do. */
            continue;
        } else if (c == '[') {
            END_RUN();
            for (i++; i < n && p[i] != ']'; i++)
                if (p[i] == '\\')
                    i++;
            continue;
        } else if (c == '*' || c == '?' || c == '{') {
            /* The byte before is optional: it cannot be part of a required run. */
            if (rl > 0)
                rl--;
            END_RUN();
            if (c == '{')
                while (i < n && p[i] != '}')
                    i++;
            continue;
        } else if (c == '+') {
            END_RUN(); /* the byte before is there at least once: keep it, end here */
            continue;
        } else if (c == '.' || c == '^' || c == '$' || c == ')' || c == ']' || c == '|') {
            END_RUN();
            continue;
        } else {
            lit = c;
            is_lit = true;
        }
        if (!is_lit) {
            END_RUN();
            continue;
        }
        /* A quantifier right after makes this byte optional. */
        if (i + 1 < n && (p[i + 1] == '*' || p[i + 1] == '?' || p[i + 1] == '{')) {
            END_RUN();
            continue;
        }
        if (rl + 1 < sizeof(run))
            run[rl++] = caseless ? fold(lit) : lit;
    }
    END_RUN();
#undef END_RUN
    if (bl < 3 || bl + 1 > outsz)
        return 0;
    memcpy(out, best, bl);
    out[bl] = '\0';
    return bl;
}

size_t prefilter_literals(const char *p, bool caseless, char out[][PREFILTER_LIT_MAX], size_t max)
{
    size_t n = strlen(p);
    if (n >= 4 && strncmp(p, "(?i)", 4) == 0) {
        caseless = true;
        p += 4;
        n -= 4;
    }
    /* One literal per top-level branch; none at all when a branch has none. */
    size_t k = 0, start = 0;
    char *branch = malloc(n + 1);
    if (branch == NULL)
        return 0;
    for (;;) {
        size_t bar = next_top_bar(p, n, start);
        if (k == max) {
            k = 0;
            break;
        }
        memcpy(branch, p + start, bar - start);
        branch[bar - start] = '\0';
        if (prefilter_literal(branch, caseless, out[k], PREFILTER_LIT_MAX) == 0) {
            k = 0;
            break;
        }
        k++;
        if (bar == n)
            break;
        start = bar + 1;
    }
    free(branch);
    return k;
}

/* ---- literal scanners: byte pairs, Shift-And, Aho-Corasick ---- */

/* A few literals: each is found by a rare pair of adjacent bytes in it, sixteen
 * positions at a time, and checked where its pair occurs. Log text rarely holds a
 * rule's rarest pair, so most blocks cost a few vector compares and no branch. */
#define PAIR_LITS_MAX 16

struct pair_lit {
    char *text;         /* folded when caseless */
    uint32_t len;
    uint32_t anchor;    /* offset of the pair in the literal */
    uint8_t a, b;       /* the pair */
};

struct ac {
    enum ac_kind kind;
    bool caseless;
    uint32_t nlits;

    /* AC_PAIRS */
    struct pair_lit pl[PAIR_LITS_MAX];
    uint8_t pair_a[PAIR_LITS_MAX], pair_b[PAIR_LITS_MAX]; /* distinct pairs */
    uint8_t pair_va[PAIR_LITS_MAX][16], pair_vb[PAIR_LITS_MAX][16]; /* the same, broadcast */
    uint32_t npairs;

    /* AC_SHIFT_AND: few short literals (64 bytes in all): bit-parallel, one
     * register step per byte and no dependent table walk. */
    uint64_t masks[256];  /* bit k set when byte may stand at literal position k */
    uint64_t starts, finals;
    uint8_t final_bit[64]; /* literal i ends at bit final_bit[i] */

    /* AC_DFA: Aho-Corasick as a dense DFA over byte classes. */
    uint8_t cls[256];     /* byte -> class; 0 = a byte no literal has */
    unsigned ncls;
    uint32_t *next;       /* [state * ncls + class] */
    uint32_t *jump;       /* the same, premultiplied: jump[row + class] is the next row */

    uint32_t **out;       /* literal ids ending at a state (with its suffixes'), NULL if none */
    uint32_t *nout;
    uint32_t nstates;
};

void ac_free(struct ac *a)
{
    if (a == NULL)
        return;
    for (uint32_t i = 0; i < a->nlits && a->kind == AC_PAIRS; i++)
        free(a->pl[i].text);
    for (uint32_t i = 0; i < a->nstates && a->out; i++)
        free(a->out[i]);
    free(a->out);
    free(a->nout);
    free(a->next);
    free(a->jump);
    free(a);
}

static int add_out(struct ac *a, uint32_t s, uint32_t id)
{
    for (uint32_t i = 0; i < a->nout[s]; i++)
        if (a->out[s][i] == id)
            return 0;
    uint32_t *n = realloc(a->out[s], (a->nout[s] + 1) * sizeof(*n));
    if (n == NULL)
        return -1;
    n[a->nout[s]++] = id;
    a->out[s] = n;
    return 0;
}

static struct ac *build_shift_and(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    struct ac *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->kind = AC_SHIFT_AND;
    a->caseless = caseless;
    a->nlits = (uint32_t)n;
    unsigned bit = 0;
    for (size_t i = 0; i < n; i++) {
        a->starts |= 1ULL << bit;
        for (size_t k = 0; k < lens[i]; k++, bit++) {
            unsigned char c = (unsigned char)lits[i][k];
            a->masks[c] |= 1ULL << bit;
            if (caseless && c >= 'a' && c <= 'z')
                a->masks[c - 32] |= 1ULL << bit;
        }
        a->final_bit[i] = (uint8_t)(bit - 1);
        a->finals |= 1ULL << (bit - 1);
    }
    return a;
}

/* How often a byte turns up in log text, roughly (per mille of English letters
 * for lowercase; space, digits and punctuation from log lines): the pair scanner
 * anchors each literal on its rarest pair, "xh" in "connection pool exhausted"
 * rather than "co", which half the lines of a service log hold. */
static unsigned byte_rank(unsigned char c)
{
    static const unsigned char lower[26] = {
        82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, /* a..m */
        67, 75, 19, 1, 60, 63, 91, 28, 10, 24, 2, 20, 1,   /* n..z */
    };
    if (c >= 'a' && c <= 'z')
        return lower[c - 'a'];
    if (c >= 'A' && c <= 'Z')
        return lower[c - 'A'] / 8 + 1;
    if (c == ' ')
        return 180;
    if (c >= '0' && c <= '9')
        return 30;
    if (c != 0 && strchr(".,:/_-=\"'()[]", c) != NULL)
        return 20;
    return 3;
}

static struct ac *build_pairs(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    struct ac *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->kind = AC_PAIRS;
    a->caseless = caseless;
    for (size_t i = 0; i < n; i++) {
        struct pair_lit *l = &a->pl[i];
        if ((l->text = malloc(lens[i])) == NULL) {
            ac_free(a);
            return NULL;
        }
        a->nlits++;
        l->len = (uint32_t)lens[i];
        for (size_t k = 0; k < lens[i]; k++)
            l->text[k] = caseless ? fold(lits[i][k]) : lits[i][k];
        unsigned best = ~0u;
        for (uint32_t k = 0; k + 1 < l->len; k++) {
            unsigned r = byte_rank((unsigned char)l->text[k]) + byte_rank((unsigned char)l->text[k + 1]);
            if (r < best) {
                best = r;
                l->anchor = k;
            }
        }
        l->a = (uint8_t)l->text[l->anchor];
        l->b = (uint8_t)l->text[l->anchor + 1];
        uint32_t p = 0;
        while (p < a->npairs && !(a->pair_a[p] == l->a && a->pair_b[p] == l->b))
            p++;
        if (p == a->npairs) {
            a->pair_a[p] = l->a;
            a->pair_b[p] = l->b;
            memset(a->pair_va[p], l->a, 16);
            memset(a->pair_vb[p], l->b, 16);
            a->npairs++;
        }
    }
    return a;
}

static struct ac *build_dfa(const char *const *lits, const size_t *lens, size_t n, bool caseless);

struct ac *ac_build_kind(const char *const *lits, const size_t *lens, size_t n, bool caseless, enum ac_kind kind)
{
    if (n == 0)
        return NULL;
    size_t bytes = 0, shortest = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        bytes += lens[i];
        if (lens[i] < shortest)
            shortest = lens[i];
    }
    if (shortest == 0)
        return NULL;
    if (kind == AC_AUTO)
        kind = n <= PAIR_LITS_MAX && shortest >= 2 ? AC_PAIRS : bytes <= 64 && n <= 64 ? AC_SHIFT_AND : AC_DFA;
    switch (kind) {
    case AC_PAIRS:
        return n <= PAIR_LITS_MAX && shortest >= 2 ? build_pairs(lits, lens, n, caseless) : NULL;
    case AC_SHIFT_AND:
        return bytes <= 64 && n <= 64 ? build_shift_and(lits, lens, n, caseless) : NULL;
    default:
        return build_dfa(lits, lens, n, caseless);
    }
}

struct ac *ac_build(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    return ac_build_kind(lits, lens, n, caseless, AC_AUTO);
}

static struct ac *build_dfa(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    struct ac *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->kind = AC_DFA;
    a->caseless = caseless;
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        total += lens[i];
        for (size_t k = 0; k < lens[i]; k++) {
            unsigned char b = (unsigned char)lits[i][k];
            if (a->cls[b] == 0)
                a->cls[b] = (uint8_t)(++a->ncls);
            if (a->ncls >= 255)
                break;
        }
    }
    if (caseless)
        for (int c = 'A'; c <= 'Z'; c++)
            a->cls[c] = a->cls[c + 32];
    a->ncls++; /* class 0 */
    a->next = calloc(total * a->ncls, sizeof(*a->next));
    a->out = calloc(total, sizeof(*a->out));
    a->nout = calloc(total, sizeof(*a->nout));
    uint32_t *fail = calloc(total, sizeof(*fail));
    uint32_t *queue = calloc(total, sizeof(*queue));
    if (a->next == NULL || a->out == NULL || a->nout == NULL || fail == NULL || queue == NULL) {
        free(fail);
        free(queue);
        a->nstates = (uint32_t)total;
        ac_free(a);
        return NULL;
    }
    /* The trie; 0 in next[] means "no edge" until the fail links fill it. */
    a->nstates = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = 0;
        for (size_t k = 0; k < lens[i]; k++) {
            unsigned c = a->cls[(unsigned char)lits[i][k]];
            uint32_t *e = &a->next[s * a->ncls + c];
            if (*e == 0)
                *e = a->nstates++;
            s = *e;
        }
        if (add_out(a, s, (uint32_t)i) != 0)
            goto oom;
    }
    /* Breadth first: fail links, and missing edges completed from them. */
    size_t qh = 0, qt = 0;
    for (unsigned c = 0; c < a->ncls; c++) {
        uint32_t s = a->next[c];
        if (s != 0) {
            fail[s] = 0;
            queue[qt++] = s;
        }
    }
    while (qh < qt) {
        uint32_t s = queue[qh++];
        for (uint32_t i = 0; i < a->nout[fail[s]]; i++)
            if (add_out(a, s, a->out[fail[s]][i]) != 0)
                goto oom;
        for (unsigned c = 0; c < a->ncls; c++) {
            uint32_t *e = &a->next[s * a->ncls + c];
            if (*e != 0) {
                fail[*e] = a->next[fail[s] * a->ncls + c];
                queue[qt++] = *e;
            } else {
                *e = a->next[fail[s] * a->ncls + c];
            }
        }
    }
    free(fail);
    free(queue);
    /* The scan loop wants one load per byte: rows premultiplied by the class count. */
    a->jump = malloc((size_t)a->nstates * a->ncls * sizeof(*a->jump));
    if (a->jump == NULL) {
        ac_free(a);
        return NULL;
    }
    /* Bit 0 of an entry says the next state ends a literal; the rest is its row. */
    for (size_t i = 0; i < (size_t)a->nstates * a->ncls; i++)
        a->jump[i] = (a->next[i] * a->ncls) << 1 | (a->nout[a->next[i]] != 0);
    return a;
oom:
    free(fail);
    free(queue);
    ac_free(a);
    return NULL;
}

/* Literal l at text + s? */
static bool pair_verify(const struct ac *a, const struct pair_lit *l, const char *text, size_t n, size_t s)
{
    if (s + l->len > n)
        return false;
    if (!a->caseless)
        return memcmp(text + s, l->text, l->len) == 0;
    for (uint32_t k = 0; k < l->len; k++)
        if (fold(text[s + k]) != l->text[k])
            return false;
    return true;
}

/* The pair (x, y) stands at text + q: record each literal anchored on it that is
 * there, with where it ends. */
static uint32_t pair_check(const struct ac *a, const char *text, size_t n, size_t q, uint8_t x, uint8_t y,
                           uint32_t *found_end, bool *found)
{
    uint32_t got = 0;
    for (uint32_t i = 0; i < a->nlits; i++) {
        const struct pair_lit *l = &a->pl[i];
        if (found[i] || l->a != x || l->b != y || q < l->anchor)
            continue;
        size_t s = q - l->anchor;
        if (pair_verify(a, l, text, n, s)) {
            found[i] = true;
            found_end[i] = (uint32_t)(s + l->len);
            got++;
        }
    }
    return got;
}

#ifdef PF_SSE2
static inline __m128i fold16(__m128i v)
{
    __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    return _mm_add_epi8(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
}
#endif

#ifdef PF_SSE2
/* Positions q .. q+15 of t where one of the pairs stands, as bits. */
static inline unsigned pair_block(const struct ac *a, const char *t)
{
    __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)t);
    __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(t + 1));
    if (a->caseless) {
        v0 = fold16(v0);
        v1 = fold16(v1);
    }
    __m128i m = _mm_setzero_si128();
    for (uint32_t p = 0; p < a->npairs; p++) {
        __m128i ea = _mm_cmpeq_epi8(v0, _mm_loadu_si128((const __m128i *)(const void *)a->pair_va[p]));
        __m128i eb = _mm_cmpeq_epi8(v1, _mm_loadu_si128((const __m128i *)(const void *)a->pair_vb[p]));
        m = _mm_or_si128(m, _mm_and_si128(ea, eb));
    }
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

static size_t scan_pairs(const struct ac *a, const char *text, size_t n, uint8_t *seen, uint32_t base, uint32_t *hits,
                         size_t nhits, size_t max)
{
    bool found[PAIR_LITS_MAX];
    uint32_t found_end[PAIR_LITS_MAX];
    uint32_t nfound = 0;
    memset(found, 0, a->nlits);
    size_t q = 0;
#ifdef PF_SSE2
    while (q + 17 <= n || (q + 1 < n && n >= 17)) {
        unsigned bits;
        size_t at0 = q;
        if (q + 17 <= n) {
            bits = pair_block(a, text + q);
        } else {
            /* The last positions: the block ending at the end of the text, with
             * the positions already scanned masked off (no copy to pad it, which
             * would stall the load on the copy's stores). */
            at0 = n - 17;
            bits = pair_block(a, text + at0) & ~((1u << (q - at0)) - 1);
        }
        while (bits != 0) {
            size_t at = at0 + (size_t)__builtin_ctz(bits);
            bits &= bits - 1;
            uint8_t x = (uint8_t)text[at], y = (uint8_t)text[at + 1];
            if (a->caseless) {
                x = (uint8_t)fold((char)x);
                y = (uint8_t)fold((char)y);
            }
            nfound += pair_check(a, text, n, at, x, y, found_end, found);
        }
        q = at0 + 16;
    }
#endif
    /* Short texts (and targets without SSE2): position by position. */
    for (; q + 1 < n; q++) {
        uint8_t x = (uint8_t)text[q], y = (uint8_t)text[q + 1];
        if (a->caseless) {
            x = (uint8_t)fold((char)x);
            y = (uint8_t)fold((char)y);
        }
        for (uint32_t p = 0; p < a->npairs; p++)
            if (a->pair_a[p] == x && a->pair_b[p] == y) {
                nfound += pair_check(a, text, n, q, x, y, found_end, found);
                break;
            }
    }
    /* Report in the order the other scanners do: by end position, then by id. */
    while (nfound-- > 0) {
        uint32_t pick = UINT32_MAX;
        for (uint32_t i = 0; i < a->nlits; i++)
            if (found[i] && (pick == UINT32_MAX || found_end[i] < found_end[pick]))
                pick = i;
        found[pick] = false;
        uint32_t id = pick + base;
        if (!seen[id]) {
            seen[id] = 1;
            if (nhits < max)
                hits[nhits++] = id;
        }
    }
    return nhits;
}

size_t ac_scan(const struct ac *a, const char *text, size_t n, uint8_t *seen, uint32_t base, uint32_t *hits,
               size_t nhits, size_t max)
{
    if (a->kind == AC_PAIRS)
        return scan_pairs(a, text, n, seen, base, hits, nhits, max);
    if (a->kind == AC_SHIFT_AND) {
        uint64_t d = 0;
        const uint64_t starts = a->starts, finals = a->finals;
        for (size_t i = 0; i < n; i++) {
            d = ((d << 1) | starts) & a->masks[(unsigned char)text[i]];
            if (__builtin_expect((d & finals) != 0, 0)) {
                for (uint32_t k = 0; k < a->nlits; k++) {
                    uint32_t id = k + base;
                    if ((d >> a->final_bit[k]) & 1 && !seen[id]) {
                        seen[id] = 1;
                        if (nhits < max)
                            hits[nhits++] = id;
                    }
                }
            }
        }
        return nhits;
    }
    uint32_t e = 0;
    const uint32_t ncls = a->ncls;
    const uint32_t *jump = a->jump;
    const uint8_t *cls = a->cls;
    for (size_t i = 0; i < n; i++) {
        e = jump[(e >> 1) + cls[(unsigned char)text[i]]];
        if (!(e & 1))
            continue;
        uint32_t s = (e >> 1) / ncls;
        for (uint32_t k = 0; k < a->nout[s]; k++) {
            uint32_t id = a->out[s][k] + base;
            if (!seen[id]) {
                seen[id] = 1;
                if (nhits < max)
                    hits[nhits++] = id;
            }
        }
    }
    return nhits;
}
