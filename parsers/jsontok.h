/* jsontok.h -- one JSON line to tokens, and the few decoding steps pycorr needs.
 *
 * Our own tokenizer (jsontok.c): strict JSON (RFC 8259) plus the bare NaN, Infinity
 * and -Infinity that Python's json module writes. It owns a token array that is reused
 * from line to line and grows only when a line needs more tokens, up to a bound; it
 * bounds nesting depth; and string tokens are decoded lazily -- a string without
 * escapes is used in place (a slice of the line), only an escaped one is decoded into
 * an arena. No DOM is built: callers walk the flat token array.
 *
 * The token layout is jsmn's (built with JSMN_PARENT_LINKS and JSMN_STRICT), which
 * this tokenizer replaced: the same type, start, end, size and parent for every valid
 * line, so code written against jsmn's tokens still walks these. Bytes at or above
 * 0x80 are taken as they are (no UTF-8 validation: a latin-1 log keeps its records);
 * raw control bytes inside strings are rejected, as JSON requires.
 */
#ifndef PYCORR_JSONTOK_H
#define PYCORR_JSONTOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../correlate/arena.h"
#include "../correlate/event.h"

/* jsmn's names and layout, so the walkers need not know which tokenizer ran. A
 * translation unit that also includes <jsmn.h> (with JSMN_PARENT_LINKS) gets jsmn's
 * identical definitions instead. */
#ifndef JSMN_H
typedef enum {
    JSMN_UNDEFINED = 0,
    JSMN_OBJECT = 1,
    JSMN_ARRAY = 2,
    JSMN_STRING = 3,
    JSMN_PRIMITIVE = 4 /* number, true, false, null, NaN, Infinity, -Infinity */
} jsmntype_t;

typedef struct {
    jsmntype_t type;
    int start;  /* first byte; for a string the one after the opening quote */
    int end;    /* one past the last byte (a string's closing quote); -1 while open */
    int size;   /* object: keys; array: elements; key: 1 once its value is read */
    int parent; /* object for a key, key for a member's value, array for an element, -1 */
} jsmntok_t;
#endif

typedef jsmntok_t jt_tok;

struct jt_parser {
    jt_tok *tok;         /* tokens of the last parsed line */
    uint32_t cap;        /* entries allocated in tok */
    uint32_t max_tokens; /* a line needing more is rejected */
    uint32_t max_depth;  /* a line nested deeper is rejected */
    bool escaped;        /* after JT_OK: some string of the line has an escape, i.e. the
                          * line has a backslash; when false every string token is its
                          * own decoded value (jt_raw) */
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
 * offsets index js. On JT_SYNTAX and JT_TRAILING *err_pos is the offset of the
 * offending byte. When a line has several faults, the first in reading order decides
 * (a line nested too deeply and cut short is JT_TOO_DEEP). A first non-blank byte other
 * than '{' gives JT_NOT_OBJECT for '[' and '"', else JT_SYNTAX, without reading on.
 * Lines of 2 GiB or more are JT_TOO_MANY.
 *
 * Python's json module writes non-finite floats as bare NaN, Infinity and -Infinity
 * (training logs diverge into them), so those are accepted as primitives. */
enum jt_status jt_parse(struct jt_parser *p, const char *js, size_t len, int *ntok, size_t *err_pos);

/* Tokenize into the caller's fixed array without growing it, to peek at the first
 * bytes of a stream. JT_OK: js[0..len) is complete JSON -- one or more values
 * separated by white space, of any type; not checked to be one object, nor for
 * depth; JT_TOO_MANY: the array filled up; JT_TRUNCATED: the input ends early (also
 * right after a number or literal, which might go on); in both of these the *ntok
 * tokens so far are valid, though containers still open have end -1 and a string or
 * primitive cut short has no token. JT_SYNTAX: not JSON. */
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
