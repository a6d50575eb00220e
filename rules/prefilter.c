/* prefilter.c -- required literals and an Aho-Corasick scanner; see prefilter.h. */
#include "prefilter.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(PF_PORTABLE)
#include <emmintrin.h>
#define PF_SSE2 1
/* Teddy needs SSSE3's pshufb; only its scan function is compiled for it (the
 * target attribute), the rest of the file stays baseline x86-64, and ac_build
 * asks the CPU before it picks Teddy. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <tmmintrin.h>
#define PF_TEDDY 1
#endif
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

/* ---- literal scanners: Teddy, byte pairs, Shift-And, Aho-Corasick ---- */

/* A few literals (Teddy, byte pairs): each is found by a rare anchor in it,
 * sixteen positions at a time, and checked where its anchor occurs. Log text
 * rarely holds a rule's rarest bytes, so most blocks cost a few vector operations
 * and no branch. */
#define FEW_LITS_MAX 16

/* Teddy sorts the literals into up to 8 buckets, one bit of a byte each. */
#define TEDDY_BUCKETS 8

struct anchored_lit {
    char *text;         /* folded when caseless */
    uint32_t len;
    uint32_t anchor;    /* offset of the anchor (pair or Teddy's 3 bytes) in the literal */
    uint8_t a, b;       /* AC_PAIRS: the pair */
};

struct ac {
    enum ac_kind kind;
    bool caseless;
    uint32_t nlits;

    /* AC_PAIRS and AC_TEDDY */
    struct anchored_lit pl[FEW_LITS_MAX];

    /* AC_PAIRS */
    uint8_t pair_a[FEW_LITS_MAX], pair_b[FEW_LITS_MAX]; /* distinct pairs */
    uint8_t pair_va[FEW_LITS_MAX][16], pair_vb[FEW_LITS_MAX][16]; /* the same, broadcast */
    uint32_t npairs;

    /* AC_TEDDY: for anchor byte j, the buckets whose byte j may have low nibble x
     * (teddy_lo[j][x]) and high nibble x (teddy_hi[j][x]); a byte of bucket bits
     * -> the literals in those buckets, as bits. */
    uint8_t teddy_lo[3][16], teddy_hi[3][16];
    uint16_t teddy_lits[256];

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
    for (uint32_t i = 0; i < a->nlits && (a->kind == AC_PAIRS || a->kind == AC_TEDDY); i++)
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

/* A scanner of the few-literal kinds with its literals copied (folded when
 * caseless), each anchored on its rarest window of width bytes; NULL when out of
 * memory. */
static struct ac *new_anchored(enum ac_kind kind, const char *const *lits, const size_t *lens, size_t n,
                               bool caseless, uint32_t width)
{
    struct ac *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->kind = kind;
    a->caseless = caseless;
    for (size_t i = 0; i < n; i++) {
        struct anchored_lit *l = &a->pl[i];
        if ((l->text = malloc(lens[i])) == NULL) {
            ac_free(a);
            return NULL;
        }
        a->nlits++;
        l->len = (uint32_t)lens[i];
        for (size_t k = 0; k < lens[i]; k++)
            l->text[k] = caseless ? fold(lits[i][k]) : lits[i][k];
        unsigned best = ~0u;
        for (uint32_t k = 0; k + width <= l->len; k++) {
            unsigned r = 0;
            for (uint32_t j = 0; j < width; j++)
                r += byte_rank((unsigned char)l->text[k + j]);
            if (r < best) {
                best = r;
                l->anchor = k;
            }
        }
    }
    return a;
}

static struct ac *build_pairs(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    struct ac *a = new_anchored(AC_PAIRS, lits, lens, n, caseless, 2);
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        struct anchored_lit *l = &a->pl[i];
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

/* Teddy's buckets while they are formed: the literals in one, and for each of
 * the three anchor bytes the low and high nibbles its literals have there. The
 * tables cannot tell which low nibble went with which high one, so a bucket
 * admits every byte that pairs one of its low nibbles with one of its high ones. */
struct teddy_group {
    uint16_t lits;
    uint16_t lo[3], hi[3];
};

/* How often a group's anchor would pass in log text: the product, over the three
 * anchor bytes, of the byte_rank of the bytes it admits there. */
static double teddy_cost(const struct teddy_group *g)
{
    double cost = 1;
    for (int j = 0; j < 3; j++) {
        unsigned sum = 0;
        for (unsigned lo = 0; lo < 16; lo++) {
            if (!(g->lo[j] >> lo & 1))
                continue;
            for (unsigned hi = 0; hi < 16; hi++)
                if (g->hi[j] >> hi & 1)
                    sum += byte_rank((unsigned char)(hi << 4 | lo));
        }
        cost *= sum;
    }
    return cost;
}

static bool teddy_cpu_ok(void)
{
#ifdef PF_TEDDY
    /* libgcc asks CPUID once at startup; this reads its answer. */
    return __builtin_cpu_supports("ssse3");
#else
    return false;
#endif
}

static struct ac *build_teddy(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    struct ac *a = new_anchored(AC_TEDDY, lits, lens, n, caseless, 3);
    if (a == NULL)
        return NULL;
    /* One group per literal, then while there are more groups than buckets, merge
     * the two whose union adds the least to the false candidates (literals with
     * the same anchor first: that adds nothing). */
    struct teddy_group g[FEW_LITS_MAX];
    size_t ng = n;
    for (size_t i = 0; i < n; i++) {
        const struct anchored_lit *l = &a->pl[i];
        memset(&g[i], 0, sizeof(g[i]));
        g[i].lits = (uint16_t)(1u << i);
        for (int j = 0; j < 3; j++) {
            unsigned char c = (unsigned char)l->text[l->anchor + (uint32_t)j];
            g[i].lo[j] = (uint16_t)(1u << (c & 15));
            g[i].hi[j] = (uint16_t)(1u << (c >> 4));
            /* A caseless letter stands for its capital too: 0x4_/0x6_, 0x5_/0x7_. */
            if (caseless && c >= 'a' && c <= 'z')
                g[i].hi[j] |= (uint16_t)(1u << ((c - 32) >> 4));
        }
    }
    double cost[FEW_LITS_MAX];
    for (size_t i = 0; i < n; i++)
        cost[i] = teddy_cost(&g[i]);
    while (ng > TEDDY_BUCKETS) {
        size_t bx = 0, by = 1;
        double best = 0, best_cost = 0;
        for (size_t x = 0; x < ng; x++)
            for (size_t y = x + 1; y < ng; y++) {
                struct teddy_group u = g[x];
                u.lits |= g[y].lits;
                for (int j = 0; j < 3; j++) {
                    u.lo[j] |= g[y].lo[j];
                    u.hi[j] |= g[y].hi[j];
                }
                double c = teddy_cost(&u), d = c - cost[x] - cost[y];
                if ((x == 0 && y == 1) || d < best) {
                    best = d;
                    best_cost = c;
                    bx = x;
                    by = y;
                }
            }
        g[bx].lits |= g[by].lits;
        for (int j = 0; j < 3; j++) {
            g[bx].lo[j] |= g[by].lo[j];
            g[bx].hi[j] |= g[by].hi[j];
        }
        cost[bx] = best_cost;
        ng--;
        g[by] = g[ng];
        cost[by] = cost[ng];
    }
    for (size_t b = 0; b < ng; b++)
        for (int j = 0; j < 3; j++)
            for (unsigned x = 0; x < 16; x++) {
                if (g[b].lo[j] >> x & 1)
                    a->teddy_lo[j][x] |= (uint8_t)(1u << b);
                if (g[b].hi[j] >> x & 1)
                    a->teddy_hi[j][x] |= (uint8_t)(1u << b);
            }
    for (unsigned v = 0; v < 256; v++)
        for (size_t b = 0; b < ng; b++)
            if (v >> b & 1)
                a->teddy_lits[v] |= g[b].lits;
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
    bool few = n <= FEW_LITS_MAX;
    bool teddy = few && shortest >= 3 && teddy_cpu_ok();
    if (kind == AC_AUTO)
        kind = teddy                     ? AC_TEDDY
               : few && shortest >= 2    ? AC_PAIRS
               : bytes <= 64 && n <= 64 ? AC_SHIFT_AND
                                         : AC_DFA;
    switch (kind) {
    case AC_TEDDY:
        return teddy ? build_teddy(lits, lens, n, caseless) : NULL;
    case AC_PAIRS:
        return few && shortest >= 2 ? build_pairs(lits, lens, n, caseless) : NULL;
    case AC_SHIFT_AND:
        return bytes <= 64 && n <= 64 ? build_shift_and(lits, lens, n, caseless) : NULL;
    default:
        return build_dfa(lits, lens, n, caseless);
    }
}

enum ac_kind ac_kind_of(const struct ac *a)
{
    return a->kind;
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
static bool lit_verify(const struct ac *a, const struct anchored_lit *l, const char *text, size_t n, size_t s)
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

/* An anchor may start at text + q for the literals in cand (bits): record each
 * of them not yet found that is there (bit in *found), with where it ends. */
static void lit_check(const struct ac *a, const char *text, size_t n, size_t q, uint32_t cand, uint32_t *found,
                      uint32_t *found_end)
{
    for (cand &= ~*found; cand != 0; cand &= cand - 1) {
        unsigned i = (unsigned)__builtin_ctz(cand);
        const struct anchored_lit *l = &a->pl[i];
        if (q < l->anchor)
            continue;
        size_t s = q - l->anchor;
        if (lit_verify(a, l, text, n, s)) {
            *found |= 1u << i;
            found_end[i] = (uint32_t)(s + l->len);
        }
    }
}

/* Report the literals found (bits, each ending at found_end[]) in the order the
 * other scanners do: by end position, then by id. */
static size_t report_by_end(uint32_t found, const uint32_t *found_end, uint8_t *seen, uint32_t base, uint32_t *hits,
                            size_t nhits, size_t max)
{
    while (found != 0) {
        unsigned pick = (unsigned)__builtin_ctz(found);
        for (uint32_t f = found & (found - 1); f != 0; f &= f - 1) {
            unsigned i = (unsigned)__builtin_ctz(f);
            if (found_end[i] < found_end[pick])
                pick = i;
        }
        found &= ~(1u << pick);
        uint32_t id = pick + base;
        if (!seen[id]) {
            seen[id] = 1;
            if (nhits < max)
                hits[nhits++] = id;
        }
    }
    return nhits;
}

/* The pair (x, y) stands at text + q: record each literal anchored on it that is
 * there. */
static void pair_check(const struct ac *a, const char *text, size_t n, size_t q, uint8_t x, uint8_t y,
                       uint32_t *found, uint32_t *found_end)
{
    uint32_t cand = 0;
    for (uint32_t i = 0; i < a->nlits; i++)
        if (a->pl[i].a == x && a->pl[i].b == y)
            cand |= 1u << i;
    lit_check(a, text, n, q, cand, found, found_end);
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
    uint32_t found = 0, found_end[FEW_LITS_MAX];
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
            pair_check(a, text, n, at, x, y, &found, found_end);
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
                pair_check(a, text, n, q, x, y, &found, found_end);
                break;
            }
    }
    return report_by_end(found, found_end, seen, base, hits, nhits, max);
}

#ifdef PF_TEDDY
/* Teddy, after Hyperscan's: sixteen positions a step, each byte looked up by its
 * two nibbles in 16-entry tables of bucket bits (pshufb), for the three anchor
 * bytes; a position whose three lookups share a bucket is a candidate. Caseless
 * letters were entered in both cases, so the text is not folded. */
struct teddy_tables {
    __m128i lo[3], hi[3];
};

/* The buckets that admit each byte of v, by its two nibbles. */
__attribute__((target("ssse3"))) static inline __m128i teddy_nibbles(__m128i lo, __m128i hi, __m128i v)
{
    const __m128i nib = _mm_set1_epi8(0x0f);
    return _mm_and_si128(_mm_shuffle_epi8(lo, _mm_and_si128(v, nib)),
                         _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(v, 4), nib)));
}

/* The buckets whose anchor may start at positions 0 .. 15 of v0, a byte each,
 * where v1 and v2 are the text one and two bytes further on. (By hand, not a
 * loop over j: compilers keep a loop's vectors in memory.) */
__attribute__((target("ssse3"))) static inline __m128i teddy_match(struct teddy_tables tt, __m128i v0,
                                                                  __m128i v1, __m128i v2)
{
    return _mm_and_si128(_mm_and_si128(teddy_nibbles(tt.lo[0], tt.hi[0], v0), teddy_nibbles(tt.lo[1], tt.hi[1], v1)),
                         teddy_nibbles(tt.lo[2], tt.hi[2], v2));
}

/* The same for the text at t .. t+17. */
__attribute__((target("ssse3"))) static inline __m128i teddy_block(struct teddy_tables tt, const char *t)
{
    return teddy_match(tt, _mm_loadu_si128((const __m128i *)(const void *)t),
                       _mm_loadu_si128((const __m128i *)(const void *)(t + 1)),
                       _mm_loadu_si128((const __m128i *)(const void *)(t + 2)));
}

/* text[0 .. n-1] in the low lanes of a vector, zeros above (3 <= n <= 16),
 * reading nothing outside the text: a load of h bytes at the start and one at
 * the end moved up into place by pshufb (where the two overlap they hold the
 * same bytes). Unlike a padded copy, no load waits on the copy's stores. */
__attribute__((target("ssse3"))) static inline __m128i teddy_load_short(const char *text, size_t n)
{
    /* loadu(shift_up + 16 - k) moves lane i to lane i + k, zeros below. */
    static const int8_t shift_up[32] = {
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    };
    __m128i head, tail;
    size_t h;
    if (n == 16)
        return _mm_loadu_si128((const __m128i *)(const void *)text);
    if (n >= 8) {
        h = 8;
        head = _mm_loadl_epi64((const __m128i *)(const void *)text);
        tail = _mm_loadl_epi64((const __m128i *)(const void *)(text + n - 8));
    } else if (n >= 4) {
        uint32_t x, y;
        h = 4;
        memcpy(&x, text, 4);
        memcpy(&y, text + n - 4, 4);
        head = _mm_cvtsi32_si128((int)x);
        tail = _mm_cvtsi32_si128((int)y);
    } else {
        uint16_t x, y;
        h = 2;
        memcpy(&x, text, 2);
        memcpy(&y, text + n - 2, 2);
        head = _mm_cvtsi32_si128(x);
        tail = _mm_cvtsi32_si128(y);
    }
    __m128i up = _mm_loadu_si128((const __m128i *)(const void *)(shift_up + 16 - (n - h)));
    return _mm_or_si128(head, _mm_shuffle_epi8(tail, up));
}

/* The rare case: anchors start at at0 + i for the bits i of bits, in the buckets
 * rb[i]; record the literals of those buckets that are there. Out of line, so
 * the scan loop keeps its registers. */
__attribute__((noinline)) static void teddy_verify(const struct ac *a, const char *text, size_t n, size_t at0,
                                                   const uint8_t *rb, unsigned bits, uint32_t *found,
                                                   uint32_t *found_end)
{
    for (; bits != 0; bits &= bits - 1) {
        unsigned i = (unsigned)__builtin_ctz(bits);
        lit_check(a, text, n, at0 + i, a->teddy_lits[rb[i]], found, found_end);
    }
}

/* Check the candidates of a block at text + at0: bit i of keep allows position
 * at0 + i. */
__attribute__((target("ssse3"))) static inline void teddy_candidates(const struct ac *a, const char *text, size_t n,
                                                                   size_t at0, __m128i r, unsigned keep,
                                                                   uint32_t *found, uint32_t *found_end)
{
    unsigned bits = ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(r, _mm_setzero_si128())) ^ 0xffffu) & keep;
    if (__builtin_expect(bits != 0, 0)) {
        uint8_t rb[16];
        _mm_storeu_si128((__m128i *)(void *)rb, r);
        teddy_verify(a, text, n, at0, rb, bits, found, found_end);
    }
}

__attribute__((target("ssse3"))) static size_t scan_teddy(const struct ac *a, const char *text, size_t n,
                                                          uint8_t *seen, uint32_t base, uint32_t *hits, size_t nhits,
                                                          size_t max)
{
    if (n < 3) /* every literal has 3 bytes or more */
        return nhits;
    const struct teddy_tables tt = {
        .lo = {_mm_loadu_si128((const __m128i *)(const void *)a->teddy_lo[0]),
               _mm_loadu_si128((const __m128i *)(const void *)a->teddy_lo[1]),
               _mm_loadu_si128((const __m128i *)(const void *)a->teddy_lo[2])},
        .hi = {_mm_loadu_si128((const __m128i *)(const void *)a->teddy_hi[0]),
               _mm_loadu_si128((const __m128i *)(const void *)a->teddy_hi[1]),
               _mm_loadu_si128((const __m128i *)(const void *)a->teddy_hi[2])},
    };
    uint32_t found = 0, found_end[FEW_LITS_MAX];
    if (n < 18) {
        /* Too short for the loads at +1 and +2: the text in one or two vectors,
         * with the positions whose anchor would run past the end masked off. */
        __m128i v0, v1;
        if (n <= 16) {
            v0 = teddy_load_short(text, n);
            v1 = _mm_srli_si128(v0, 1);
        } else {
            v0 = _mm_loadu_si128((const __m128i *)(const void *)text);
            v1 = _mm_loadu_si128((const __m128i *)(const void *)(text + 1));
        }
        __m128i r = teddy_match(tt, v0, v1, _mm_srli_si128(v1, 1));
        teddy_candidates(a, text, n, 0, r, (1u << (n - 2)) - 1, &found, found_end);
    } else {
        for (size_t q = 0; q + 2 < n;) {
            size_t at0 = q;
            unsigned keep = 0xffff;
            if (q + 18 > n) {
                /* The last positions: the block ending at the end of the text,
                 * the positions already scanned masked off. */
                at0 = n - 18;
                keep &= ~((1u << (q - at0)) - 1);
            }
            teddy_candidates(a, text, n, at0, teddy_block(tt, text + at0), keep, &found, found_end);
            q = at0 + 16;
        }
    }
    return report_by_end(found, found_end, seen, base, hits, nhits, max);
}
#endif

size_t ac_scan(const struct ac *a, const char *text, size_t n, uint8_t *seen, uint32_t base, uint32_t *hits,
               size_t nhits, size_t max)
{
#ifdef PF_TEDDY
    if (a->kind == AC_TEDDY)
        return scan_teddy(a, text, n, seen, base, hits, nhits, max);
#endif
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
