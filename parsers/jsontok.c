/* jsontok.c -- jsmn wrapper: bounded tokenizing, lazy string decoding; see jsontok.h.
 *
 * This is the one translation unit that compiles jsmn's implementation (static, so
 * no other object can clash with it).
 */
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#define JSMN_STATIC
#include <jsmn.h>

#include "jsontok.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
    free(p->depth);
    free(p->patched);
    p->tok = NULL;
    p->depth = NULL;
    p->patched = NULL;
    p->cap = p->depth_cap = 0;
    p->patched_cap = 0;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int grow_tokens(struct jt_parser *p)
{
    uint32_t cap = p->cap ? p->cap * 2 : JT_INITIAL_CAP;
    if (cap > p->max_tokens || cap < p->cap)
        cap = p->max_tokens;
    jt_tok *t = realloc(p->tok, (size_t)cap * sizeof(*t));
    if (t == NULL)
        return -1;
    p->tok = t;
    p->cap = cap;
    return 0;
}

/* Depth can only exceed the bound when there are more tokens than levels, so the
 * common short line never pays for this pass. */
static enum jt_status check_depth(struct jt_parser *p, int n)
{
    if ((uint32_t)n <= p->max_depth)
        return JT_OK;
    if (p->depth_cap < (uint32_t)n) {
        uint32_t *d = realloc(p->depth, (size_t)p->cap * sizeof(*d));
        if (d == NULL)
            return JT_NOMEM;
        p->depth = d;
        p->depth_cap = p->cap;
    }
    /* Parents precede their children, so one forward pass suffices. */
    for (int i = 0; i < n; i++) {
        const jt_tok *t = &p->tok[i];
        uint32_t d = t->parent >= 0 ? p->depth[t->parent] : 0;
        if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
            d++;
            if (d > p->max_depth)
                return JT_TOO_DEEP;
        }
        p->depth[i] = d;
    }
    return JT_OK;
}

static bool nonfinite_at(const char *js, size_t len, size_t i)
{
    if (i + 3 <= len && memcmp(js + i, "NaN", 3) == 0)
        return true;
    return i + 8 <= len && memcmp(js + i, "Infinity", 8) == 0;
}

/* Copy js and turn the first letter of every bare NaN / Infinity value into 'n', which
 * strict jsmn takes as the start of a primitive (it checks only the first letter),
 * so token offsets stay those of the original line. Strings are skipped. Returns the
 * copy, or NULL when there is nothing to patch or no memory. */
static const char *patch_nonfinite(struct jt_parser *p, const char *js, size_t len)
{
    if (p->patched_cap < len) {
        char *b = realloc(p->patched, len);
        if (b == NULL)
            return NULL;
        p->patched = b;
        p->patched_cap = len;
    }
    char *out = p->patched;
    memcpy(out, js, len);
    bool in_str = false, any = false;
    char prev = 0; /* last non-space byte outside strings */
    for (size_t i = 0; i < len; i++) {
        char c = js[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
            prev = c;
        } else if ((c == 'N' || c == 'I') && (prev == ':' || prev == ',' || prev == '[') &&
                   nonfinite_at(js, len, i)) {
            out[i] = 'n';
            any = true;
            prev = 'n';
        } else if (!is_ws(c)) {
            prev = c;
        }
    }
    return any ? out : NULL;
}

static int run_jsmn(struct jt_parser *p, const char *js, size_t len, jsmn_parser *jp)
{
    for (;;) {
        jsmn_init(jp);
        int r = jsmn_parse(jp, js, len, p->tok, p->cap);
        if (r != JSMN_ERROR_NOMEM)
            return r;
        /* Reparse from the start with room to spare; the array keeps its size for
         * the lines that follow, so this happens a handful of times per stream. */
        if (p->cap >= p->max_tokens)
            return JSMN_ERROR_NOMEM;
        if (grow_tokens(p) != 0)
            return INT_MIN;
    }
}

enum jt_status jt_parse(struct jt_parser *p, const char *js, size_t len, int *ntok, size_t *err_pos)
{
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
    if (p->cap == 0 && grow_tokens(p) != 0)
        return JT_NOMEM;

    jsmn_parser jp;
    int r = run_jsmn(p, js, len, &jp);
    if (r == JSMN_ERROR_INVAL && nonfinite_at(js, len, jp.pos)) {
        /* Rare (a diverging run), so the common line never pays for the copy. */
        const char *patched = patch_nonfinite(p, js, len);
        if (patched != NULL)
            r = run_jsmn(p, patched, len, &jp);
    }
    if (r == INT_MIN)
        return JT_NOMEM;
    if (r == JSMN_ERROR_NOMEM)
        return JT_TOO_MANY;
    if (r == JSMN_ERROR_INVAL) {
        *err_pos = jp.pos;
        return JT_SYNTAX;
    }
    if (r == JSMN_ERROR_PART)
        return JT_TRUNCATED;
    int n = (int)jp.toknext;
    if (n <= 0 || p->tok[0].type != JSMN_OBJECT)
        return JT_NOT_OBJECT;
    /* jsmn accepts several top-level values and stops at a NUL byte; a record is
     * exactly one object. */
    for (size_t i = (size_t)p->tok[0].end; i < len; i++)
        if (!is_ws(js[i])) {
            *err_pos = i;
            return JT_TRAILING;
        }
    enum jt_status st = check_depth(p, n);
    if (st != JT_OK)
        return st;
    *ntok = n;
    return JT_OK;
}

enum jt_status jt_parse_prefix(jt_tok *tok, unsigned cap, const char *js, size_t len, int *ntok)
{
    jsmn_parser jp;
    *ntok = 0;
    if (len >= (size_t)INT_MAX)
        len = (size_t)INT_MAX - 1;
    jsmn_init(&jp);
    int r = jsmn_parse(&jp, js, len, tok, cap);
    *ntok = (int)jp.toknext;
    switch (r) {
    case JSMN_ERROR_NOMEM: return JT_TOO_MANY;
    case JSMN_ERROR_PART: return JT_TRUNCATED;
    case JSMN_ERROR_INVAL: return JT_SYNTAX;
    default: return JT_OK;
    }
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
