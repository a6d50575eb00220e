/* jsontok.c -- a strict, bounded JSON tokenizer with jsmn's token layout, and lazy
 * string decoding; see jsontok.h.
 *
 * This replaced jsmn, which read strings a byte at a time through a switch: on the
 * bench's JSON lines (a 1-2 KB escaped traceback on every thirtieth) that was half of
 * all instructions of a run. Here the end of a string is found 16 bytes at a time
 * with SSE2 (part of every x86-64 CPU) or, elsewhere, 8 at a time in a 64-bit word;
 * each token is written once, and a line that outgrows the array grows it in place
 * rather than being tokenized again. jsmn also let malformed members through ({"a"},
 * {"a":1 "b":2}, {"a":tru}) and took NaN only in a patched copy of the line; this
 * reads RFC 8259 strictly, with bare NaN, Infinity and -Infinity as primitives.
 *
 * The reader is a state machine over four places a byte can be: where a value starts,
 * after a value, where a key starts, and (inside scan_string) in a string. It keeps no
 * stack: the innermost open container is found again through the parent links that
 * the token layout has anyway, so nesting costs nothing but the depth counter.
 */
#include "jsontok.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* JT_PORTABLE forces the word-at-a-time path (the tests build it on x86-64 too). */
#if defined(__SSE2__) && !defined(JT_PORTABLE)
#include <emmintrin.h>
#define JT_SSE2 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define JT_LIKELY(x) __builtin_expect(!!(x), 1)
#define JT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define JT_INLINE static inline __attribute__((always_inline))
#else
#define JT_LIKELY(x) (x)
#define JT_UNLIKELY(x) (x)
#define JT_INLINE static inline
#endif

#define JT_DEFAULT_MAX_TOKENS (1u << 16)
#define JT_DEFAULT_MAX_DEPTH 64u
#define JT_INITIAL_CAP 256u

void jt_init(struct jt_parser *p, uint32_t max_tokens, uint32_t max_depth)
{
    memset(p, 0, sizeof(*p));
    p->max_tokens = max_tokens ? max_tokens : JT_DEFAULT_MAX_TOKENS;
    p->max_depth = max_depth ? max_depth : JT_DEFAULT_MAX_DEPTH;
}

void jt_free(struct jt_parser *p)
{
    free(p->tok);
    p->tok = NULL;
    p->cap = 0;
}

/* ' ', '\t', '\n' and '\r' as bits of one constant: a compare and a bit test. */
JT_INLINE bool is_ws(char c)
{
    unsigned char u = (unsigned char)c;
    return u <= ' ' && ((UINT64_C(0x100002600) >> u) & 1u) != 0;
}

JT_INLINE bool is_digit(char c)
{
    return (unsigned char)(c - '0') <= 9;
}

static bool is_hex(char c)
{
    unsigned char u = (unsigned char)c;
    return (unsigned char)(u - '0') <= 9 || (unsigned char)((u | 0x20) - 'a') <= 5;
}

/* 0: grown; 1: already at max_tokens; -1: out of memory. */
static int grow_tokens(struct jt_parser *p)
{
    if (p->cap >= p->max_tokens)
        return 1;
    uint32_t cap = p->cap ? p->cap * 2 : JT_INITIAL_CAP;
    if (cap > p->max_tokens || cap < p->cap)
        cap = p->max_tokens;
    /* On cache lines of its own: the array is rewritten for every line, and a line
     * shared with memory another thread writes (two parsers run at once when the
     * analysis thread parses offloaded lines) made each first store a miss. */
    size_t bytes = ((size_t)cap * sizeof(jt_tok) + 63) & ~(size_t)63;
    jt_tok *t = aligned_alloc(64, bytes);
    if (t == NULL)
        return -1;
    if (p->tok != NULL)
        memcpy(t, p->tok, (size_t)p->cap * sizeof(*t));
    free(p->tok);
    p->tok = t;
    p->cap = cap;
    return 0;
}

/* ---- strings ----------------------------------------------------------------------- */

#ifdef JT_SSE2
/* Bit i set when byte i of v is '"', '\\' or below 0x20. v ^ 0x02 maps '"' to 0x20
 * and permutes 0x00-0x1F among themselves, while every other byte stays above 0x20
 * (bit 1 moves a byte by 2, and 0x20, 0x21 go to 0x22, 0x23): so one unsigned
 * compare, min(x, 0x20) == x, finds quotes and control bytes together. */
JT_INLINE unsigned special_mask(__m128i v)
{
    __m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    __m128i x = _mm_xor_si128(v, _mm_set1_epi8(0x02));
    __m128i qc = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x20)), x);
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(bs, qc));
}
#endif

/* Where strings are looked for: the input and, with SSE2, a 64-byte window of it whose
 * special bytes ('"', '\\', below 0x20) are one bit mask. A string then costs a shift
 * and a count of trailing zeros, and a run of short strings shares one fill of the
 * window: no loop whose trip count depends on each string's length, which the branch
 * predictor cannot know (a 16-byte loop spent more time on that than on reading). */
struct jt_scan {
    const char *base, *end; /* bytes in [base, end) may be read, nothing outside */
#ifdef JT_SSE2
    const char *at; /* the window is [at, at + 64); bit i of bits is byte at[i] */
    uint64_t bits;
#endif
};

#ifdef JT_SSE2
JT_INLINE uint64_t special_mask64(const char *p)
{
    uint64_t m0 = special_mask(_mm_loadu_si128((const __m128i *)(const void *)p));
    uint64_t m1 = special_mask(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
    uint64_t m2 = special_mask(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
    uint64_t m3 = special_mask(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
}

/* An input shorter than the window: a copy padded with NUL, which counts as special,
 * so a search past the end stops there. */
static __attribute__((noinline)) void window_short(struct jt_scan *s)
{
    char buf[64];
    size_t n = (size_t)(s->end - s->base);
    memset(buf, 0, sizeof(buf));
    memcpy(buf, s->base, n);
    s->at = s->base;
    s->bits = special_mask64(buf);
}

/* Place the window at p, or so that it ends where the input does. */
JT_INLINE void window_fill(struct jt_scan *s, const char *p)
{
    if (JT_LIKELY(s->end - p >= 64))
        s->at = p;
    else if (s->end - s->base >= 64)
        s->at = s->end - 64;
    else {
        window_short(s);
        return;
    }
    s->bits = special_mask64(s->at);
}
#endif

JT_INLINE void scan_init(struct jt_scan *s, const char *base, const char *end)
{
    s->base = base;
    s->end = end;
#ifdef JT_SSE2
    s->at = end; /* p - at wraps around: the first search fills the window */
    s->bits = 0;
#endif
}

/* The first byte in [p, end) that a string cannot simply contain -- '"', '\\' or a
 * control byte below 0x20 -- or end. */
JT_INLINE const char *find_special(struct jt_scan *s, const char *p)
{
#ifdef JT_SSE2
    for (;;) {
        size_t off = (size_t)(p - s->at);
        if (JT_LIKELY(off < 64)) {
            uint64_t b = s->bits >> off;
            if (JT_LIKELY(b != 0)) {
                const char *q = p + __builtin_ctzll(b);
                return q < s->end ? q : s->end;
            }
            p = s->at + 64;
        }
        if (p >= s->end)
            return s->end;
        window_fill(s, p);
    }
#else
    /* Eight bytes per step: a byte's high bit in `hit` is set when the byte is '"',
     * '\\' or below 0x20 (the classic has-zero-byte test). A borrow can set bits
     * above a true hit, never below one, and the byte loop below finds which it is,
     * so this holds on either byte order. */
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    const char *end = s->end;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        uint64_t q = w ^ (ones * '"');
        uint64_t b = w ^ (ones * '\\');
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
        if ((hit & highs) != 0)
            break;
        p += 8;
    }
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20)
            break;
    }
    return p;
#endif
}

/* p is just past an opening quote. Returns the closing quote; or NULL with *st set
 * (and *errp at the offending byte for JT_SYNTAX). Sets *escaped at a backslash. */
JT_INLINE const char *scan_string(struct jt_scan *sc, const char *p, enum jt_status *st, const char **errp,
                                  bool *escaped)
{
    const char *end = sc->end;
    for (;;) {
        p = find_special(sc, p);
        if (JT_LIKELY(p < end && *p == '"'))
            return p;
        if (p == end)
            goto truncated;
        if (*p != '\\') {
            *errp = p; /* a raw control byte */
            *st = JT_SYNTAX;
            return NULL;
        }
        *escaped = true;
        if (end - p < 2)
            goto truncated;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            continue;
        case 'u':
            for (int i = 2; i < 6; i++) {
                if (p + i >= end)
                    goto truncated;
                if (!is_hex(p[i])) {
                    *errp = p + i;
                    *st = JT_SYNTAX;
                    return NULL;
                }
            }
            p += 6;
            continue;
        default:
            *errp = p + 1;
            *st = JT_SYNTAX;
            return NULL;
        }
    }
truncated:
    *errp = end;
    *st = JT_TRUNCATED;
    return NULL;
}

/* ---- primitives ---------------------------------------------------------------------- */

/* p is at the first letter of lit (n bytes). Returns the byte after it; or NULL with
 * *st and *errp set: JT_TRUNCATED when the input ends inside a correct prefix. */
static const char *match_literal(const char *p, const char *end, const char *lit, size_t n,
                                 enum jt_status *st, const char **errp)
{
    for (size_t i = 0; i < n; i++) {
        if (p + i == end) {
            *errp = end;
            *st = JT_TRUNCATED;
            return NULL;
        }
        if (p[i] != lit[i]) {
            *errp = p + i;
            *st = JT_SYNTAX;
            return NULL;
        }
    }
    return p + n;
}

/* p is at the first byte of a number or literal, or at something that cannot start a
 * value. Returns the byte after the primitive; or NULL with *st and *errp set. What
 * follows is not looked at: the caller's next state rejects "1x" or "truex". */
JT_INLINE const char *scan_primitive(const char *p, const char *end, enum jt_status *st, const char **errp)
{
    switch (*p) {
    case 't': return match_literal(p, end, "true", 4, st, errp);
    case 'f': return match_literal(p, end, "false", 5, st, errp);
    case 'n': return match_literal(p, end, "null", 4, st, errp);
    case 'N': return match_literal(p, end, "NaN", 3, st, errp);
    case 'I': return match_literal(p, end, "Infinity", 8, st, errp);
    case '-':
        if (p + 1 < end && p[1] == 'I')
            return match_literal(p, end, "-Infinity", 9, st, errp);
        p++;
        break;
    default:
        if (!is_digit(*p))
            goto bad;
        break;
    }
    /* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
    if (p == end)
        goto truncated;
    if (*p == '0') {
        p++;
    } else if (is_digit(*p)) {
        while (++p < end && is_digit(*p))
            ;
    } else {
        goto bad;
    }
    if (p < end && *p == '.') {
        if (++p == end)
            goto truncated;
        if (!is_digit(*p))
            goto bad;
        while (++p < end && is_digit(*p))
            ;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p == end)
            goto truncated;
        if (*p == '+' || *p == '-')
            if (++p == end)
                goto truncated;
        if (!is_digit(*p))
            goto bad;
        while (++p < end && is_digit(*p))
            ;
    }
    return p;
bad:
    *errp = p;
    *st = JT_SYNTAX;
    return NULL;
truncated:
    *errp = end;
    *st = JT_TRUNCATED;
    return NULL;
}

/* ---- the reader ------------------------------------------------------------------------ */

/* Past the blanks at p. Inlined where a blank is rare or single (Python writes ", "
 * and ": "), so the usual cost is one compare. */
JT_INLINE const char *skip_ws(const char *p, const char *end)
{
    if (p < end && *p == ' ')
        p++;
    if (p < end && (unsigned char)*p <= ' ')
        while (p < end && is_ws(*p))
            p++;
    return p;
}

/* Tokenize from js[pos], which starts a value (after blanks), into tok[0..cap). gp is
 * the growable owner of tok, or NULL for a fixed array. In prefix mode a top-level
 * value may be followed by more of them; otherwise the reading stops after the first
 * and *stop is where it ended. *escaped is set when a string holds an escape.
 * Inlined twice, so `prefix` costs nothing. */
JT_INLINE enum jt_status tokenize(struct jt_parser *gp, jt_tok *tok, uint32_t cap, const char *js,
                                  size_t len, size_t pos, uint32_t max_depth, bool prefix,
                                  int *ntok, const char **stop, bool *escaped)
{
    const char *const end = js + len;
    const char *p = js + pos;
    const char *q;
    const char *err = p;
    uint32_t n = 0, depth = 0;
    int cur = -1;       /* the innermost open container */
    bool in_obj = false; /* cur is an object (not an array) */
    int par = -1;       /* what the next value hangs under: a key, an array, or -1 */
    enum jt_status st = JT_SYNTAX;
    jt_tok *t;
    char c;
    struct jt_scan sc;
    scan_init(&sc, js, end);

/* t = the next free token, growing the array when it is full. */
#define NEW_TOKEN()                                                                      \
    do {                                                                                 \
        if (JT_UNLIKELY(n == cap)) {                                                     \
            int g_ = gp != NULL ? grow_tokens(gp) : 1;                                   \
            if (g_ != 0) {                                                               \
                st = g_ > 0 ? JT_TOO_MANY : JT_NOMEM;                                    \
                goto fail;                                                               \
            }                                                                            \
            tok = gp->tok;                                                               \
            cap = gp->cap;                                                               \
        }                                                                                \
        t = &tok[n];                                                                     \
    } while (0)
#define SKIP_WS()                                                                        \
    do {                                                                                 \
        p = skip_ws(p, end);                                                             \
        if (JT_UNLIKELY(p == end))                                                       \
            goto truncated;                                                              \
    } while (0)

value:
    SKIP_WS();
    c = *p;
    if (c == '"') {
        q = scan_string(&sc, p + 1, &st, &err, escaped);
        if (JT_UNLIKELY(q == NULL))
            goto fail;
        NEW_TOKEN();
        t->type = JSMN_STRING;
        t->start = (int)(p + 1 - js);
        t->end = (int)(q - js);
        t->size = 0;
        t->parent = par;
        p = q + 1;
    } else if (c == '{' || c == '[') {
        NEW_TOKEN();
        t->type = c == '{' ? JSMN_OBJECT : JSMN_ARRAY;
        t->start = (int)(p - js);
        t->end = -1;
        t->size = 0;
        t->parent = par;
        if (par >= 0)
            tok[par].size++;
        if (JT_UNLIKELY(++depth > max_depth)) {
            st = JT_TOO_DEEP;
            err = p;
            goto fail;
        }
        cur = (int)n++;
        p++;
        SKIP_WS();
        if (c == '{') {
            in_obj = true;
            if (*p == '}')
                goto close;
            goto key;
        }
        in_obj = false;
        if (*p == ']')
            goto close;
        par = cur;
        goto value;
    } else {
        q = scan_primitive(p, end, &st, &err);
        if (JT_UNLIKELY(q == NULL))
            goto fail;
        /* Cut right after a number or literal: "12" might go on as "123". */
        if (JT_UNLIKELY(q == end))
            goto truncated;
        NEW_TOKEN();
        t->type = JSMN_PRIMITIVE;
        t->start = (int)(p - js);
        t->end = (int)(q - js);
        t->size = 0;
        t->parent = par;
        p = q;
    }
    n++;
    /* Only the bid's peek reads scalars at the top; a record is an object. */
    if (prefix && par < 0)
        goto top_done;
    tok[par].size++;

after_value: /* inside cur */
    SKIP_WS();
    c = *p;
    if (c == ',') {
        p++;
        if (in_obj)
            goto key;
        par = cur;
        goto value;
    }
    if (c == (in_obj ? '}' : ']'))
        goto close;
    err = p;
    st = JT_SYNTAX;
    goto fail;

close: /* *p closes cur */
    tok[cur].end = (int)(p + 1 - js);
    p++;
    depth--;
    par = tok[cur].parent;
    if (par < 0)
        goto top_done;
    /* a member's value hangs under its key, and the key under the object */
    if (tok[par].type == JSMN_STRING) {
        cur = tok[par].parent;
        in_obj = true;
    } else {
        cur = par;
        in_obj = false;
    }
    goto after_value;

key: /* after '{' or a member's ',' */
    SKIP_WS();
    if (JT_UNLIKELY(*p != '"')) {
        err = p;
        st = JT_SYNTAX;
        goto fail;
    }
    q = scan_string(&sc, p + 1, &st, &err, escaped);
    if (JT_UNLIKELY(q == NULL))
        goto fail;
    NEW_TOKEN();
    t->type = JSMN_STRING;
    t->start = (int)(p + 1 - js);
    t->end = (int)(q - js);
    t->size = 0;
    t->parent = cur;
    tok[cur].size++;
    par = (int)n++;
    p = q + 1;
    if (JT_LIKELY(p < end && *p == ':')) {
        p++;
    } else {
        SKIP_WS();
        if (JT_UNLIKELY(*p != ':')) {
            err = p;
            st = JT_SYNTAX;
            goto fail;
        }
        p++;
    }
    goto value;

top_done:
    if (prefix) {
        /* jsmn read a run of values; so does the bid's peek */
        p = skip_ws(p, end);
        if (p < end) {
            par = -1;
            cur = -1;
            goto value;
        }
    }
    *ntok = (int)n;
    *stop = p;
    return JT_OK;

truncated:
    st = JT_TRUNCATED;
    err = end;
fail:
    *ntok = (int)n;
    *stop = err;
    return st;
#undef NEW_TOKEN
#undef SKIP_WS
}

enum jt_status jt_parse(struct jt_parser *p, const char *js, size_t len, int *ntok, size_t *err_pos)
{
    p->escaped = false;
    size_t b = 0;
    while (b < len && is_ws(js[b]))
        b++;
    if (b == len)
        return JT_EMPTY;
    if (js[b] != '{') {
        *err_pos = b;
        /* A bare array or scalar is JSON, just not a record. */
        return js[b] == '[' || js[b] == '"' ? JT_NOT_OBJECT : JT_SYNTAX;
    }
    if (len >= (size_t)INT_MAX)
        return JT_TOO_MANY;
    if (p->cap == 0) {
        int g = grow_tokens(p);
        if (g != 0)
            return g > 0 ? JT_TOO_MANY : JT_NOMEM;
    }
    int n = 0;
    const char *stop;
    bool escaped = false;
    enum jt_status st = tokenize(p, p->tok, p->cap, js, len, b, p->max_depth, false, &n, &stop, &escaped);
    p->escaped = escaped;
    if (st == JT_OK) {
        while (stop < js + len && is_ws(*stop))
            stop++;
        if (stop < js + len)
            st = JT_TRAILING;
        else
            *ntok = n;
    }
    if (st == JT_SYNTAX || st == JT_TRAILING)
        *err_pos = (size_t)(stop - js);
    return st;
}

enum jt_status jt_parse_prefix(jt_tok *tok, unsigned cap, const char *js, size_t len, int *ntok)
{
    *ntok = 0;
    if (len >= (size_t)INT_MAX)
        len = (size_t)INT_MAX - 1;
    size_t b = 0;
    while (b < len && is_ws(js[b]))
        b++;
    if (b == len)
        return JT_TRUNCATED;
    const char *stop;
    bool escaped = false;
    return tokenize(NULL, tok, cap, js, len, b, UINT32_MAX, true, ntok, &stop, &escaped);
}

const char *jt_status_text(enum jt_status s)
{
    switch (s) {
    case JT_OK: return "ok";
    case JT_EMPTY: return "empty line";
    case JT_SYNTAX: return "unexpected character";
    case JT_TRUNCATED: return "unexpected end of input";
    case JT_TOO_MANY: return "too many tokens";
    case JT_TOO_DEEP: return "nested too deeply";
    case JT_NOT_OBJECT: return "not an object";
    case JT_TRAILING: return "unexpected data after the object";
    case JT_NOMEM: return "out of memory";
    }
    return "error";
}

ev_str jt_str(const char *js, const jt_tok *t, struct arena *a)
{
    const char *s = js + t->start;
    size_t n = (size_t)(t->end - t->start);
    if (t->type != JSMN_STRING || memchr(s, '\\', n) == NULL)
        return ev_str_make(s, n);
    char *out = arena_alloc(a, n + 1);
    if (out == NULL)
        return EV_STR_NULL;
    size_t m = jt_unescape(s, n, out);
    out[m] = '\0';
    return ev_str_make(out, m);
}

static int hex4(const char *s, size_t n, size_t i)
{
    if (i + 4 > n)
        return -1;
    int v = 0;
    for (size_t k = i; k < i + 4; k++) {
        char c = s[k];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t jt_unescape(const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const char *bs = memchr(s + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
        memmove(out + o, s + i, run);
        o += run;
        i += run;
        if (i >= n)
            break;
        /* s[i] is a backslash */
        if (i + 1 >= n) {
            out[o++] = '\\';
            break;
        }
        char c = s[i + 1];
        char lit = 0;
        switch (c) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': break;
        default:
            /* Not a JSON escape: keep it as written. */
            out[o++] = '\\';
            i++;
            continue;
        }
        if (lit) {
            out[o++] = lit;
            i += 2;
            continue;
        }
        int u = hex4(s, n, i + 2);
        if (u < 0) {
            out[o++] = '\\';
            i++;
            continue;
        }
        i += 6;
        uint32_t cp = (uint32_t)u;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A high surrogate pairs with a following \uDC00-\uDFFF. */
            int lo = (i + 1 < n && s[i] == '\\' && s[i + 1] == 'u') ? hex4(s, n, i + 2) : -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                i += 6;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        /* 6 input bytes give at most 3 output bytes, 12 give 4: never longer. */
        o += put_utf8(out + o, cp);
    }
    return o;
}

bool jt_int(const char *js, const jt_tok *t, int64_t *out)
{
    const char *p = js + t->start;
    const char *e = js + t->end;
    if (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)
        return false;
    bool neg = false;
    if (p < e && *p == '-') {
        neg = true;
        p++;
    }
    if (p == e || *p < '0' || *p > '9')
        return false;
    uint64_t v = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (p < e && *p != '.' && *p != 'e' && *p != 'E')
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}
