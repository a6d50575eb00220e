/* prefilter.c -- required literals and an Aho-Corasick scanner; see prefilter.h. */
#include "prefilter.h"

#include <stdlib.h>
#include <string.h>

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

size_t prefilter_literal(const char *p, bool caseless, char *out, size_t outsz)
{
    size_t n = strlen(p);
    /* Top-level alternation: the literal could be in any branch. */
    int depth = 0;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
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
            return 0;
    }
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
    /* Split at top-level '|' (outside groups, classes and escapes). */
    size_t k = 0, start = 0;
    int depth = 0;
    bool in_class = false;
    char *branch = malloc(n + 1);
    if (branch == NULL)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? p[i] : '|';
        if (i < n && c == '\\') {
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
        else if (c == '|' && depth == 0) {
            if (k == max) {
                k = 0;
                break;
            }
            memcpy(branch, p + start, i - start);
            branch[i - start] = '\0';
            if (prefilter_literal(branch, caseless, out[k], PREFILTER_LIT_MAX) == 0) {
                k = 0;
                break;
            }
            k++;
            start = i + 1;
        }
    }
    free(branch);
    return k;
}

/* ---- Aho-Corasick as a dense DFA over byte classes ---- */

struct ac {
    /* Few short literals (64 bytes in all): bit-parallel Shift-And, one register
     * step per byte and no dependent table walk. Otherwise the DFA below. */
    bool shift_and;
    uint64_t masks[256];  /* bit k set when byte may stand at literal position k */
    uint64_t starts, finals;
    uint32_t nlits;
    uint8_t final_bit[64]; /* literal i ends at bit final_bit[i] */
    uint8_t cls[256];     /* byte -> class; 0 = a byte no literal has */
    unsigned ncls;
    uint32_t *next;       /* [state * ncls + class] */
    uint32_t *jump;       /* the same, premultiplied: jump[row + class] is the next row */

    uint32_t **out;       /* literal ids ending at a state (with its suffixes'), NULL if none */
    uint32_t *nout;
    uint32_t nstates;
    bool caseless;
};

void ac_free(struct ac *a)
{
    if (a == NULL)
        return;
    if (a->shift_and) {
        free(a);
        return;
    }
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
    a->shift_and = true;
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

struct ac *ac_build(const char *const *lits, const size_t *lens, size_t n, bool caseless)
{
    if (n == 0)
        return NULL;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += lens[i];
    if (bytes <= 64 && n <= 64)
        return build_shift_and(lits, lens, n, caseless);
    struct ac *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
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

size_t ac_scan(const struct ac *a, const char *text, size_t n, uint8_t *seen, uint32_t base, uint32_t *hits,
               size_t nhits, size_t max)
{
    if (a->shift_and) {
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
