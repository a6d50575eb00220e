/* jsontok.h -- one JSON line to tokens, and the few decoding steps pycorr needs.
 *
 * A thin layer over jsmn (libjsmn-dev): it owns a token array that is reused from
 * line to line and grows only when a line needs more tokens, up to a bound; it checks
 * nesting depth; and it decodes string tokens lazily -- a string without escapes is
 * used in place (a slice of the line), only an escaped one is decoded into an arena.
 * No DOM is built: callers walk the flat token array.
 *
 * jsmn is compiled once, in jsontok.c, with parent links (they make closing brackets
 * and commas O(1) instead of a backward scan, which is quadratic on wide objects) and
 * in strict mode. Its token layout depends on those switches, so they are fixed here
 * for every includer.
 */
#ifndef PYCORR_JSONTOK_H
#define PYCORR_JSONTOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef JSMN_PARENT_LINKS
#define JSMN_PARENT_LINKS
#endif
#ifndef JSMN_STRICT
#define JSMN_STRICT
#endif
#ifndef JSMN_H
#define JSMN_HEADER
#include <jsmn.h>
#undef JSMN_HEADER
#endif

#include "../correlate/arena.h"
#include "../correlate/event.h"

typedef jsmntok_t jt_tok;

struct jt_parser {
    jt_tok *tok;         /* tokens of the last parsed line */
    uint32_t *depth;     /* scratch for the depth check; allocated only when needed */
    char *patched;       /* a line's copy with NaN/Infinity made tokenizable */
    size_t patched_cap;
    uint32_t cap;        /* entries allocated in tok */
    uint32_t depth_cap;
    uint32_t max_tokens; /* a line needing more is rejected */
    uint32_t max_depth;  /* a line nested deeper is rejected */
};

enum jt_status {
    JT_OK = 0,
    JT_EMPTY,         /* nothing but white space */
    JT_SYNTAX,        /* not JSON; *err_pos is the byte offset of the trouble */
    JT_TRUNCATED,     /* ends inside a string, object or array */
    JT_TOO_MANY,      /* more than max_tokens tokens */
    JT_TOO_DEEP,      /* nested deeper than max_depth */
    JT_NOT_OBJECT,    /* valid start, but the top-level value is not an object */
    JT_TRAILING,      /* something follows the top-level object */
    JT_NOMEM,         /* the token array could not grow */
};

/* max_tokens 0 means 65536, max_depth 0 means 64. Never fails. */
void jt_init(struct jt_parser *p, uint32_t max_tokens, uint32_t max_depth);
void jt_free(struct jt_parser *p);

/* Tokenize js[0..len) which must hold exactly one JSON object (white space around it
 * allowed). On JT_OK *ntok is the token count and p->tok[0] is the object; token
 * offsets index js. On JT_SYNTAX *err_pos is where it went wrong. Lines of 2 GiB or
 * more are JT_TOO_MANY.
 *
 * Python's json module writes non-finite floats as bare NaN, Infinity and -Infinity
 * (training logs diverge into them), so those are accepted as primitives. */
enum jt_status jt_parse(struct jt_parser *p, const char *js, size_t len, int *ntok, size_t *err_pos);

/* Tokenize into the caller's fixed array without growing it, to peek at the first
 * bytes of a stream. JT_OK: js[0..len) is complete JSON (not checked to be one
 * object); JT_TOO_MANY: the array filled up; JT_TRUNCATED: the input ends early; in
 * both of these the *ntok tokens so far are valid, though containers still open
 * have end -1. JT_SYNTAX: not JSON. */
enum jt_status jt_parse_prefix(jt_tok *tok, unsigned cap, const char *js, size_t len, int *ntok);

/* A short English phrase for a status ("unexpected end of input"). */
const char *jt_status_text(enum jt_status s);

/* Index of the first token after the subtree rooted at i (i's next sibling, or n). */
static inline int jt_skip(const jt_tok *t, int n, int i)
{
    int end = t[i].end;
    int j = i + 1;
    while (j < n && t[j].start < end)
        j++;
    return j;
}

/* The raw bytes of token i (for a string: between the quotes, still escaped). */
static inline ev_str jt_raw(const char *js, const jt_tok *t)
{
    return ev_str_make(js + t->start, (size_t)(t->end - t->start));
}

/* True when token t is a string equal to lit as raw bytes (no unescaping; fine for
 * the ASCII names pycorr looks up). */
static inline bool jt_eq(const char *js, const jt_tok *t, const char *lit)
{
    size_t n = strlen(lit);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, lit, n) == 0;
}

/* The decoded value of string token t: a slice of js when it has no escapes,
 * otherwise decoded into arena a. A primitive gives its raw text. Absent when the
 * arena is exhausted. */
ev_str jt_str(const char *js, const jt_tok *t, struct arena *a);

/* Decode JSON string escapes of s[0..n) into out (which needs n bytes: decoding
 * never lengthens). \uXXXX becomes UTF-8, surrogate pairs are joined, a lone
 * surrogate becomes U+FFFD, an invalid escape is kept as written. Returns the
 * decoded length. */
size_t jt_unescape(const char *s, size_t n, char *out);

/* Parse a primitive or string token as a signed 64-bit integer (an optional
 * fraction is ignored). Returns false when it is not a number in range. */
bool jt_int(const char *js, const jt_tok *t, int64_t *out);

/* True for the primitive `true`. */
static inline bool jt_is_true(const char *js, const jt_tok *t)
{
    return t->type == JSMN_PRIMITIVE && js[t->start] == 't';
}

#endif
