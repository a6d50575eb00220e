/* jsontok_oracle.h -- jansson (and jsmn, when its header is installed) as the reference
 * for jt_parse, shared by tests/unit/test_jsontok.c and tests/fuzz/fuzz_jsontok.c.
 *
 * jt_parse reads strict JSON with three deliberate differences from jansson, so the
 * line jansson judges is a copy with each difference neutralized, byte for byte (token
 * offsets stay those of the original):
 *   - bare NaN / Infinity / -Infinity values (Python writes them): replaced by a number
 *     of the same length where a value may stand;
 *   - no UTF-8 validation (a latin-1 log keeps its records): every byte >= 0x80 becomes
 *     '#', which is valid inside a string and invalid outside, exactly like the byte;
 *   - lone surrogates and \u0000 are fine to us (decoded to U+FFFD and NUL), not to
 *     jansson: the four hex digits of such an escape become 0041 / 0001;
 *   - a raw NUL byte is no JSON anywhere, but jansson's reader skips some of them
 *     ({"a":[1\0]} loads): it becomes 0x01, which both reject wherever it stands.
 * jt_parse must give the copy the very same status, error offset and tokens as the
 * original; then it must accept the copy exactly when jansson decodes it into an
 * object, and for accepted lines the token tree must be jansson's tree: types, member
 * names and values (decoded), sizes, parents, offsets. When <jsmn.h> is present, the
 * token array must also be the one jsmn (strict, parent links) makes of the copy --
 * the layout the walkers were written against.
 */
#ifndef PYCORR_JSONTOK_ORACLE_H
#define PYCORR_JSONTOK_ORACLE_H

#if defined(__has_include)
#if __has_include(<jsmn.h>) && !defined(JSMN_H) && !defined(JTO_NO_JSMN)
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#define JSMN_STATIC
#include <jsmn.h>
#endif
#endif

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/jsontok.h"

/* Deeper than any generated line, shallower than jansson's own bound (2048), so depth
 * never separates the two. */
#define JTO_MAX_DEPTH 1000u
#define JTO_MAX_TOKENS (1u << 22)

struct jto_stats {
    unsigned long lines, accepted, rejected, skipped;
    unsigned long jsmn_compared, dup_objects;
};

static bool jto_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool jto_is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool jto_is_delim(const char *s, size_t len, size_t i)
{
    return i == len || jto_is_ws((unsigned char)s[i]) || s[i] == ',' || s[i] == ']' || s[i] == '}';
}

/* The copy of s[0..len) that jansson is asked about; see the top of the file. */
static void jto_neutralize(const char *s, size_t len, char *out)
{
    memcpy(out, s, len);
    /* escapes: a backslash takes the next byte with it, wherever it stands */
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < len && jto_is_hex((unsigned char)s[i + 2]) &&
            jto_is_hex((unsigned char)s[i + 3]) && jto_is_hex((unsigned char)s[i + 4]) &&
            jto_is_hex((unsigned char)s[i + 5])) {
            char hex[5] = {s[i + 2], s[i + 3], s[i + 4], s[i + 5], 0};
            unsigned long v = strtoul(hex, NULL, 16);
            if (v >= 0xD800 && v <= 0xDFFF)
                memcpy(out + i + 2, "0041", 4);
            else if (v == 0)
                memcpy(out + i + 2, "0001", 4);
            i += 5;
        } else {
            i++;
        }
    }
    /* non-finite values where a value may stand, outside strings */
    bool in_str = false;
    char prev = 0; /* last non-blank byte outside strings */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
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
            continue;
        }
        if (jto_is_ws((unsigned char)c))
            continue;
        if (prev == ':' || prev == ',' || prev == '[') {
            static const struct {
                const char *lit, *num;
            } nf[] = {{"NaN", "0.0"}, {"Infinity", "1.000000"}, {"-Infinity", "-1.000000"}};
            for (size_t k = 0; k < sizeof(nf) / sizeof(nf[0]); k++) {
                size_t n = strlen(nf[k].lit);
                if (i + n <= len && memcmp(s + i, nf[k].lit, n) == 0 && jto_is_delim(s, len, i + n)) {
                    memcpy(out + i, nf[k].num, n);
                    i += n - 1;
                    c = '0';
                    break;
                }
            }
        }
        prev = c;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)out[i] >= 0x80)
            out[i] = '#';
        else if (out[i] == 0)
            out[i] = 1;
    }
}

static const char *jto_fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *jto_fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return why;
}

struct jto_walk {
    const char *js;
    const jt_tok *t;
    int n;
    char *why;
    size_t whylen;
    const char *err;
    unsigned long dups;
};

/* Does object i hold two members of the same (decoded) name? */
static bool jto_dup_keys(const struct jto_walk *w, int i)
{
    const jt_tok *t = w->t;
    int nk = t[i].size, j = i + 1;
    char **keys = calloc((size_t)nk + 1, sizeof(*keys));
    size_t *lens = calloc((size_t)nk + 1, sizeof(*lens));
    bool dup = false;
    for (int m = 0; m < nk && j < w->n; m++) {
        size_t kl = (size_t)(t[j].end - t[j].start);
        keys[m] = malloc(kl + 1);
        lens[m] = jt_unescape(w->js + t[j].start, kl, keys[m]);
        for (int o = 0; o < m && !dup; o++)
            dup = lens[o] == lens[m] && memcmp(keys[o], keys[m], lens[m]) == 0;
        j = j + 1 < w->n ? jt_skip(t, w->n, j + 1) : w->n;
    }
    for (int m = 0; m < nk; m++)
        free(keys[m]);
    free(keys);
    free(lens);
    return dup;
}

/* Compare the subtree at token i with v; returns the index after the subtree. */
static int jto_cmp(struct jto_walk *w, int i, int parent, const json_t *v)
{
    if (w->err != NULL)
        return w->n;
    if (i >= w->n) {
        w->err = jto_fail(w->why, w->whylen, "ran out of tokens at %d", i);
        return w->n;
    }
    const jt_tok *t = &w->t[i];
    const char *js = w->js;
    if (t->parent != parent) {
        w->err = jto_fail(w->why, w->whylen, "token %d: parent %d, want %d", i, t->parent, parent);
        return w->n;
    }
    if (t->start < 0 || t->end < t->start) {
        w->err = jto_fail(w->why, w->whylen, "token %d: bad span %d..%d", i, t->start, t->end);
        return w->n;
    }
    int j = i + 1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (t->type == JSMN_OBJECT && (size_t)t->size != json_object_size(v) && jto_dup_keys(w, i)) {
            w->dups++; /* jansson keeps the last of equal keys: sizes differ, rightly */
            return jt_skip(w->t, w->n, i);
        }
        if (t->type != JSMN_OBJECT || js[t->start] != '{' || js[t->end - 1] != '}' ||
            (size_t)t->size != json_object_size(v)) {
            w->err = jto_fail(w->why, w->whylen, "token %d: want an object of %zu members (type %d size %d)", i,
                              json_object_size(v), (int)t->type, t->size);
            return w->n;
        }
        for (int m = 0; m < t->size && w->err == NULL; m++) {
            if (j >= w->n) {
                w->err = jto_fail(w->why, w->whylen, "object %d: member %d missing", i, m);
                return w->n;
            }
            const jt_tok *k = &w->t[j];
            if (k->type != JSMN_STRING || k->size != 1 || k->parent != i || js[k->start - 1] != '"' ||
                js[k->end] != '"') {
                w->err = jto_fail(w->why, w->whylen, "token %d: not a key of %d", j, i);
                return w->n;
            }
            size_t kl = (size_t)(k->end - k->start);
            char *key = malloc(kl + 1);
            size_t dl = jt_unescape(js + k->start, kl, key);
            const json_t *mv = json_object_getn(v, key, dl);
            free(key);
            if (mv == NULL) {
                w->err = jto_fail(w->why, w->whylen, "token %d: key \"%.*s\" unknown to jansson", j, (int)kl,
                                  js + k->start);
                return w->n;
            }
            j = jto_cmp(w, j + 1, j, mv);
        }
        break;
    }
    case JSON_ARRAY:
        if (t->type != JSMN_ARRAY || js[t->start] != '[' || js[t->end - 1] != ']' ||
            (size_t)t->size != json_array_size(v)) {
            w->err = jto_fail(w->why, w->whylen, "token %d: want an array of %zu (type %d size %d)", i,
                              json_array_size(v), (int)t->type, t->size);
            return w->n;
        }
        for (size_t e = 0; e < json_array_size(v) && w->err == NULL; e++)
            j = jto_cmp(w, j, i, json_array_get(v, e));
        break;
    case JSON_STRING: {
        size_t l = (size_t)(t->end - t->start);
        char *dec = malloc(l + 1);
        size_t dl = t->type == JSMN_STRING ? jt_unescape(js + t->start, l, dec) : 0;
        bool same = t->type == JSMN_STRING && t->size == 0 && js[t->start - 1] == '"' && js[t->end] == '"' &&
                    dl == json_string_length(v) && memcmp(dec, json_string_value(v), dl) == 0;
        free(dec);
        if (!same) {
            w->err = jto_fail(w->why, w->whylen, "token %d: string differs from jansson's", i);
            return w->n;
        }
        break;
    }
    default: {
        char c = js[t->start];
        bool ok = t->type == JSMN_PRIMITIVE && t->size == 0;
        if (ok && json_is_true(v))
            ok = t->end - t->start == 4 && memcmp(js + t->start, "true", 4) == 0;
        else if (ok && json_is_false(v))
            ok = t->end - t->start == 5 && memcmp(js + t->start, "false", 5) == 0;
        else if (ok && json_is_null(v))
            ok = t->end - t->start == 4 && memcmp(js + t->start, "null", 4) == 0;
        else if (ok && json_is_number(v)) {
            char buf[512];
            size_t l = (size_t)(t->end - t->start);
            ok = (c == '-' || (c >= '0' && c <= '9')) && l < sizeof(buf);
            if (ok) {
                memcpy(buf, js + t->start, l);
                buf[l] = 0;
                char *e;
                double d = strtod(buf, &e);
                ok = *e == 0 && (d == json_number_value(v) || (isnan(d) && isnan(json_number_value(v))));
            }
        } else {
            ok = false;
        }
        if (!ok) {
            w->err = jto_fail(w->why, w->whylen, "token %d: primitive \"%.*s\" differs from jansson's", i,
                              t->end - t->start, js + t->start);
            return w->n;
        }
        break;
    }
    }
    /* jt_skip must land where the subtree ends */
    if (w->err == NULL && jt_skip(w->t, w->n, i) != j)
        w->err = jto_fail(w->why, w->whylen, "jt_skip(%d) = %d, subtree ends at %d", i, jt_skip(w->t, w->n, i), j);
    return j;
}

static bool jto_tokens_equal(const jt_tok *a, const jt_tok *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].type != b[i].type || a[i].start != b[i].start || a[i].end != b[i].end ||
            a[i].size != b[i].size || a[i].parent != b[i].parent)
            return false;
    return true;
}

/* NULL when jt_parse and the references agree on js[0..len); else what differs. */
static const char *jto_check(const char *js, size_t len, struct jto_stats *stats, char *why, size_t whylen)
{
    const char *err = NULL;
    stats->lines++;
    struct jt_parser p, q;
    jt_init(&p, JTO_MAX_TOKENS, JTO_MAX_DEPTH);
    jt_init(&q, JTO_MAX_TOKENS, JTO_MAX_DEPTH);
    char *cp = malloc(len ? len : 1);
    jto_neutralize(js, len, cp);

    int n = -1, n2 = -1;
    size_t pos = (size_t)-1, pos2 = (size_t)-1;
    enum jt_status st = jt_parse(&p, js, len, &n, &pos);
    enum jt_status st2 = jt_parse(&q, cp, len, &n2, &pos2);
    if (st != st2) {
        err = jto_fail(why, whylen, "status %s on the line, %s on its neutral copy", jt_status_text(st),
                       jt_status_text(st2));
        goto out;
    }
    if ((st == JT_SYNTAX || st == JT_TRAILING || st == JT_NOT_OBJECT) && pos != pos2) {
        err = jto_fail(why, whylen, "error at %zu on the line, %zu on its copy", pos, pos2);
        goto out;
    }
    if ((st == JT_SYNTAX || st == JT_TRAILING || st == JT_NOT_OBJECT) && pos >= len) {
        err = jto_fail(why, whylen, "error offset %zu past the end (%zu)", pos, len);
        goto out;
    }
    if (st == JT_OK && (n != n2 || !jto_tokens_equal(p.tok, q.tok, n))) {
        err = jto_fail(why, whylen, "tokens of the line and of its copy differ");
        goto out;
    }
    if (st == JT_OK && p.escaped != (memchr(js, '\\', len) != NULL)) {
        err = jto_fail(why, whylen, "escaped is %d, yet the line %s a backslash", p.escaped,
                       p.escaped ? "has no" : "has");
        goto out;
    }
    if (st == JT_TOO_DEEP || st == JT_TOO_MANY || st == JT_NOMEM) {
        stats->skipped++; /* bounds of ours, not JSON */
        goto out;
    }

    json_error_t je;
    json_t *doc = json_loadb(cp, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
    if (doc == NULL && json_error_code(&je) == json_error_numeric_overflow) {
        stats->skipped++; /* 1e999: jansson's range, not its grammar */
        goto out;
    }
    bool ref_ok = doc != NULL && json_is_object(doc);
    if ((st == JT_OK) != ref_ok) {
        err = jto_fail(why, whylen, "jt_parse: %s (at %zu); jansson: %s", jt_status_text(st),
                       st == JT_SYNTAX || st == JT_TRAILING ? pos : 0,
                       doc != NULL ? (json_is_object(doc) ? "an object" : "not an object") : je.text);
        json_decref(doc);
        goto out;
    }
    if (st == JT_OK) {
        stats->accepted++;
        struct jto_walk w = {cp, q.tok, n2, why, whylen, NULL, 0};
        int end = jto_cmp(&w, 0, -1, doc);
        if (w.err == NULL && end != n2)
            w.err = jto_fail(why, whylen, "%d tokens, the tree has %d", n2, end);
        err = w.err;
        stats->dup_objects += w.dups;
#ifdef JSMN_H
        if (err == NULL) {
            jsmn_parser jp;
            jsmn_init(&jp);
            jsmntok_t *jt = malloc(sizeof(*jt) * (size_t)(n2 + 1));
            int r = jsmn_parse(&jp, cp, len, jt, (unsigned)n2 + 1);
            if (r != n2 || !jto_tokens_equal(jt, q.tok, n2))
                err = jto_fail(why, whylen, "jsmn makes %d tokens, differently", r);
            free(jt);
            stats->jsmn_compared++;
        }
#endif
    } else {
        stats->rejected++;
    }
    json_decref(doc);
out:
    free(cp);
    jt_free(&p);
    jt_free(&q);
    return err;
}

#endif
