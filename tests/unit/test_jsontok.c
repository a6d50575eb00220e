/* test_jsontok.c -- the JSON tokenizer (parsers/jsontok.c): a differential test against
 * jansson (and jsmn's token layout, when <jsmn.h> is installed) over thousands of
 * generated and mutated lines, then edge cases a generator is unlikely to hit: escapes
 * and quotes at every offset of a 16-byte block, \u surrogates, nesting at the bound,
 * 65,536-token lines, NUL bytes, invalid UTF-8, every cut of a line, trailing garbage,
 * the bid's fixed-array prefix mode, error offsets.
 *
 * test_jsontok_portable.c runs all of it again on the word-at-a-time string scanner
 * that non-SSE2 machines use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsontok_oracle.h"

/* ---- a deterministic generator of JSON lines ------------------------------------------ */

struct rng {
    uint64_t s;
};

static uint32_t rnd(struct rng *r)
{
    /* xorshift64*: no libc rand, the same lines on every machine */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * UINT64_C(2685821657736338717)) >> 32);
}

static uint32_t below(struct rng *r, uint32_t n)
{
    return n ? rnd(r) % n : 0;
}

struct buf {
    char *p;
    size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putc_(struct buf *b, char c)
{
    put(b, &c, 1);
}

static void gen_ws(struct rng *r, struct buf *b)
{
    static const char ws[] = " \t\r\n";
    uint32_t k = below(r, 8);
    if (k < 5)
        return;
    if (k < 7) {
        putc_(b, ' ');
        return;
    }
    for (uint32_t i = below(r, 4) + 1; i > 0; i--)
        putc_(b, ws[below(r, 4)]);
}

static void gen_string_body(struct rng *r, struct buf *b, uint32_t len)
{
    static const char *const esc[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
    for (uint32_t i = 0; i < len; i++) {
        uint32_t k = below(r, 100);
        char tmp[16];
        if (k < 70) {
            char c = (char)(' ' + below(r, 95));
            if (c == '"' || c == '\\')
                c = 'x';
            putc_(b, c);
        } else if (k < 82) {
            puts_(b, esc[below(r, 8)]);
        } else if (k < 88) {
            static const unsigned cps[] = {0x0000, 0x001f, 0x0041, 0x00e9, 0x20ac, 0xd83d, 0xde00, 0xdbff, 0xdc00, 0xffff};
            unsigned cp = below(r, 3) == 0 ? cps[below(r, 10)] : below(r, 0x10000);
            snprintf(tmp, sizeof(tmp), below(r, 2) ? "\\u%04x" : "\\u%04X", cp);
            puts_(b, tmp);
        } else if (k < 91) {
            puts_(b, "\\ud83d\\ude00"); /* a pair */
        } else if (k < 96) {
            static const char *const utf8[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
            puts_(b, utf8[below(r, 3)]);
        } else {
            putc_(b, (char)(0x80 + below(r, 128))); /* not UTF-8 on its own */
        }
    }
}

static void gen_string(struct rng *r, struct buf *b)
{
    uint32_t k = below(r, 100);
    uint32_t len = k < 60 ? below(r, 12) : k < 95 ? below(r, 80) : 200 + below(r, 3000);
    putc_(b, '"');
    gen_string_body(r, b, len);
    putc_(b, '"');
}

static void gen_number(struct rng *r, struct buf *b)
{
    char tmp[64];
    if (below(r, 2))
        putc_(b, '-');
    if (below(r, 5) == 0) {
        putc_(b, '0');
    } else {
        putc_(b, (char)('1' + below(r, 9)));
        for (uint32_t i = below(r, below(r, 3) ? 6 : 19); i > 0; i--)
            putc_(b, (char)('0' + below(r, 10)));
    }
    if (below(r, 3) == 0) {
        putc_(b, '.');
        for (uint32_t i = below(r, 8) + 1; i > 0; i--)
            putc_(b, (char)('0' + below(r, 10)));
    }
    if (below(r, 5) == 0) {
        /* within a double's range: jansson rejects 1e999 */
        snprintf(tmp, sizeof(tmp), "%c%s%u", below(r, 2) ? 'e' : 'E', below(r, 3) == 0 ? "-" : below(r, 2) ? "+" : "",
                 below(r, 250));
        puts_(b, tmp);
    }
}

static void gen_value(struct rng *r, struct buf *b, int depth);

static void gen_object(struct rng *r, struct buf *b, int depth)
{
    putc_(b, '{');
    gen_ws(r, b);
    uint32_t n = below(r, depth == 0 ? 12 : 6);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) {
            putc_(b, ',');
            gen_ws(r, b);
        }
        /* unique names: a counter, then anything */
        char tmp[16];
        snprintf(tmp, sizeof(tmp), "\"k%u", i);
        puts_(b, tmp);
        gen_string_body(r, b, below(r, 3) ? below(r, 10) : 0);
        putc_(b, '"');
        gen_ws(r, b);
        putc_(b, ':');
        gen_ws(r, b);
        gen_value(r, b, depth + 1);
        gen_ws(r, b);
    }
    putc_(b, '}');
}

static void gen_value(struct rng *r, struct buf *b, int depth)
{
    uint32_t k = below(r, 100);
    if (depth >= 8 && k >= 80)
        k = below(r, 80);
    if (k < 40) {
        gen_string(r, b);
    } else if (k < 60) {
        gen_number(r, b);
    } else if (k < 70) {
        static const char *const lit[] = {"true", "false", "null"};
        puts_(b, lit[below(r, 3)]);
    } else if (k < 75) {
        static const char *const nf[] = {"NaN", "Infinity", "-Infinity"};
        puts_(b, nf[below(r, 3)]);
    } else if (k < 88) {
        gen_object(r, b, depth);
    } else {
        putc_(b, '[');
        gen_ws(r, b);
        uint32_t n = below(r, 6);
        for (uint32_t i = 0; i < n; i++) {
            if (i > 0) {
                putc_(b, ',');
                gen_ws(r, b);
            }
            gen_value(r, b, depth + 1);
            gen_ws(r, b);
        }
        putc_(b, ']');
    }
}

static void gen_line(struct rng *r, struct buf *b)
{
    b->n = 0;
    gen_ws(r, b);
    gen_object(r, b, 0);
    gen_ws(r, b);
}

/* One to three edits that a corrupted or hostile line might show. */
static void mutate(struct rng *r, struct buf *b)
{
    static const char palette[] = "\"\\{}[],: \t0123456789-+.eEtrufalsenNaIy#/bu\x00\x01\x1f\x7f\x80\xff";
    for (uint32_t m = below(r, 3) + 1; m > 0 && b->n > 0; m--) {
        uint32_t at = below(r, (uint32_t)b->n);
        char c = palette[below(r, sizeof(palette) - 1)];
        switch (below(r, 6)) {
        case 0: /* delete */
            memmove(b->p + at, b->p + at + 1, b->n - at - 1);
            b->n--;
            break;
        case 1: /* insert */
            put(b, "", 1);
            memmove(b->p + at + 1, b->p + at, b->n - at - 1);
            b->p[at] = c;
            break;
        case 2: /* replace */
            b->p[at] = c;
            break;
        case 3: /* cut */
            b->n = at;
            break;
        case 4: { /* repeat a slice */
            uint32_t len = below(r, 8) + 1;
            if (at + len > b->n)
                len = (uint32_t)(b->n - at);
            char tmp[8];
            memcpy(tmp, b->p + at, len);
            put(b, tmp, len);
            break;
        }
        default: { /* swap */
            uint32_t o = below(r, (uint32_t)b->n);
            char t = b->p[at];
            b->p[at] = b->p[o];
            b->p[o] = t;
            break;
        }
        }
    }
}

static void check_line(const char *s, size_t n, struct jto_stats *st)
{
    char why[256];
    const char *err = jto_check(s, n, st, why, sizeof(why));
    if (err != NULL) {
        fprintf(stderr, "line (%zu bytes): %.*s\n", n, (int)(n < 400 ? n : 400), s);
        const char *dump = getenv("JT_FAIL_DUMP"); /* the failing line, byte for byte */
        FILE *df = dump != NULL ? fopen(dump, "wb") : NULL;
        if (df != NULL) {
            fwrite(s, 1, n, df);
            fclose(df);
        }
        fail_msg("%s", err);
    }
}

/* ---- the differential test ----------------------------------------------------------- */

static void test_generated_lines(void **state)
{
    (void)state;
    struct rng r = {UINT64_C(0x9E3779B97F4A7C15)};
    struct buf b = {0};
    struct jto_stats st = {0};
    struct jt_parser p;
    jt_init(&p, 0, 0);
    for (int i = 0; i < 4000; i++) {
        gen_line(&r, &b);
        check_line(b.p, b.n, &st);
        /* valid by construction, within the default bounds too */
        int n;
        size_t pos;
        assert_int_equal(jt_parse(&p, b.p, b.n, &n, &pos), JT_OK);
    }
    jt_free(&p);
    /* each line is an object jansson took, compared member by member */
    assert_int_equal(st.accepted, 4000);
#ifdef JSMN_H
    assert_int_equal(st.jsmn_compared, 4000);
#endif
    free(b.p);
}

static void test_mutated_lines(void **state)
{
    (void)state;
    struct rng r = {UINT64_C(0xD1B54A32D192ED03)};
    struct buf b = {0};
    struct jto_stats st = {0};
    for (int i = 0; i < 20000; i++) {
        gen_line(&r, &b);
        mutate(&r, &b);
        check_line(b.p, b.n, &st);
    }
    print_message("mutated: %lu accepted, %lu rejected, %lu skipped, %lu objects with equal keys, "
                  "%lu compared with jsmn\n",
                  st.accepted, st.rejected, st.skipped, st.dup_objects, st.jsmn_compared);
    /* both verdicts are exercised, and hardly anything is out of the comparison */
    assert_true(st.accepted > 2000);
    assert_true(st.rejected > 10000);
    assert_true(st.skipped < 200);
    free(b.p);
}

/* Every cut of a valid line short of its closing brace is JT_TRUNCATED (blank cuts are
 * JT_EMPTY): the reader never mistakes the end of the input for the end of a value. */
static void test_every_cut(void **state)
{
    (void)state;
    struct rng r = {42};
    struct buf b = {0};
    struct jt_parser p;
    jt_init(&p, 0, 0);
    for (int i = 0; i < 300; i++) {
        gen_line(&r, &b);
        size_t close = b.n;
        while (b.p[close - 1] != '}')
            close--;
        size_t lead = 0;
        while (b.p[lead] != '{')
            lead++;
        for (size_t cut = 0; cut < close; cut++) {
            int n;
            size_t pos;
            enum jt_status s = jt_parse(&p, b.p, cut, &n, &pos);
            assert_int_equal(s, cut <= lead ? JT_EMPTY : JT_TRUNCATED);
        }
        for (size_t cut = close; cut <= b.n; cut++) {
            int n;
            size_t pos;
            assert_int_equal(jt_parse(&p, b.p, cut, &n, &pos), JT_OK);
        }
    }
    jt_free(&p);
    free(b.p);
}

/* ---- edge cases ------------------------------------------------------------------------ */

static enum jt_status parse(const char *s, size_t n, int *ntok, size_t *pos)
{
    struct jt_parser p;
    jt_init(&p, 0, 0);
    int nt = -1;
    size_t ps = (size_t)-1;
    enum jt_status st = jt_parse(&p, s, n, &nt, &ps);
    jt_free(&p);
    if (ntok)
        *ntok = nt;
    if (pos)
        *pos = ps;
    return st;
}

static enum jt_status parse_str(const char *s, size_t *pos)
{
    return parse(s, strlen(s), NULL, pos);
}

/* A special byte at every offset from the start of the line and of the string, so each
 * lands in every lane of a 16-byte block, in the tail load and in lines shorter than a
 * block; the input is a heap copy of exact size so ASan sees any read past the end. */
static void test_specials_at_every_offset(void **state)
{
    (void)state;
    static const struct {
        const char *ins;
        enum jt_status want;
        int err_at; /* offset of the error inside ins, for JT_SYNTAX */
    } cases[] = {
        {"\\n", JT_OK, 0},      {"\\\"", JT_OK, 0},     {"\\\\", JT_OK, 0},      {"\\u00e9", JT_OK, 0},
        {"\\ud83d\\ude00", JT_OK, 0}, {"\\x", JT_SYNTAX, 1}, {"\\u12g4", JT_SYNTAX, 4}, {"\t", JT_SYNTAX, 0},
        {"\x01", JT_SYNTAX, 0}, {"\x1f", JT_SYNTAX, 0}, {"\x7f", JT_OK, 0},     {"\x80\xff", JT_OK, 0},
        {"", JT_OK, 0},
    };
    struct jto_stats st = {0};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int pre = 0; pre < 40; pre++) {
            for (int post = 0; post < 40; post++) {
                char line[256];
                int n = snprintf(line, sizeof(line), "{\"k\":\"%.*s%s%.*s\"}", pre,
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", cases[c].ins, post,
                                 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
                char *heap = malloc((size_t)n);
                memcpy(heap, line, (size_t)n);
                int ntok;
                size_t pos;
                enum jt_status s = parse(heap, (size_t)n, &ntok, &pos);
                assert_int_equal(s, cases[c].want);
                if (s == JT_OK) {
                    assert_int_equal(ntok, 3);
                } else {
                    assert_int_equal(pos, 6 + (size_t)pre + (size_t)cases[c].err_at);
                }
                check_line(heap, (size_t)n, &st);
                /* cut inside the string, anywhere: never read past the end */
                for (int cut = 6; cut < n - 2; cut++) {
                    s = parse(heap, (size_t)cut, NULL, &pos);
                    assert_true(s == JT_TRUNCATED || (s == JT_SYNTAX && cases[c].want == JT_SYNTAX));
                }
                free(heap);
            }
        }
    }
}

static void test_surrogates_and_escapes(void **state)
{
    (void)state;
    size_t pos;
    /* lone and paired surrogates are all accepted; decoding makes U+FFFD of lone ones */
    assert_int_equal(parse_str("{\"a\":\"\\ud800\",\"b\":\"\\udc00\",\"c\":\"\\ud83d\\ude00\",\"d\":\"\\ud83dx\"}", &pos),
                     JT_OK);
    assert_int_equal(parse_str("{\"a\":\"\\u0000\"}", &pos), JT_OK);
    assert_int_equal(parse_str("{\"\\u0000\":1}", &pos), JT_OK);
    /* escapes cut short are truncated, bad ones are errors where they go wrong */
    assert_int_equal(parse_str("{\"a\":\"\\u12", &pos), JT_TRUNCATED);
    assert_int_equal(parse_str("{\"a\":\"\\", &pos), JT_TRUNCATED);
    assert_int_equal(parse_str("{\"a\":\"\\U0041\"}", &pos), JT_SYNTAX);
    assert_int_equal(pos, 7);
    assert_int_equal(parse_str("{\"a\":\"\\u004G\"}", &pos), JT_SYNTAX);
    assert_int_equal(pos, 11);
    assert_int_equal(parse_str("{\"a\":\"\\'\"}", &pos), JT_SYNTAX);
    assert_int_equal(pos, 7);
    /* decoding */
    char out[32];
    size_t n = jt_unescape("\\ud83d\\ude00\\ud800", 18, out);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "\xf0\x9f\x98\x80\xef\xbf\xbd", 7);
}

static void nest(struct buf *b, int depth, char open, char close)
{
    b->n = 0;
    puts_(b, "{\"x\":");
    for (int i = 1; i < depth; i++)
        putc_(b, open);
    puts_(b, "1");
    for (int i = 1; i < depth; i++)
        putc_(b, close);
    putc_(b, '}');
}

static void test_depth_bound(void **state)
{
    (void)state;
    struct buf b = {0};
    struct jt_parser p;
    int n;
    size_t pos;
    jt_init(&p, 0, 0); /* 64 levels */
    for (int k = 0; k < 2; k++) {
        char open = k ? '{' : '[', close = k ? '}' : ']';
        if (k) {
            /* objects need a key per level: {"x":{"x":...}} */
            b.n = 0;
            for (int i = 0; i < 64; i++)
                puts_(&b, "{\"x\":");
            puts_(&b, "1");
            for (int i = 0; i < 64; i++)
                putc_(&b, '}');
            assert_int_equal(jt_parse(&p, b.p, b.n, &n, &pos), JT_OK);
            assert_int_equal(n, 1 + 64 * 2 - 1 + 1);
            b.n = 0;
            for (int i = 0; i < 65; i++)
                puts_(&b, "{\"x\":");
            puts_(&b, "1");
            for (int i = 0; i < 65; i++)
                putc_(&b, '}');
            assert_int_equal(jt_parse(&p, b.p, b.n, &n, &pos), JT_TOO_DEEP);
            continue;
        }
        nest(&b, 64, open, close);
        assert_int_equal(jt_parse(&p, b.p, b.n, &n, &pos), JT_OK);
        assert_int_equal(n, 2 + 63 + 1);
        nest(&b, 65, open, close);
        assert_int_equal(jt_parse(&p, b.p, b.n, &n, &pos), JT_TOO_DEEP);
        /* the first fault in reading order decides: too deep, then cut short */
        b.n -= 10;
        assert_int_equal(jt_parse(&p, b.p, b.n, &n, &pos), JT_TOO_DEEP);
    }
    jt_free(&p);
    /* a caller's bound */
    jt_init(&p, 0, 3);
    assert_int_equal(jt_parse(&p, "{\"a\":[{}]}", 10, &n, &pos), JT_OK);
    assert_int_equal(jt_parse(&p, "{\"a\":[{\"b\":[]}]}", 16, &n, &pos), JT_TOO_DEEP);
    jt_free(&p);
    free(b.p);
}

static void test_token_bound(void **state)
{
    (void)state;
    struct buf b = {0};
    struct jt_parser p;
    int n;
    size_t pos;
    jt_init(&p, 0, 0); /* 65,536 tokens */
    /* {"a":[1,1,...]}: 3 tokens plus one per element */
    for (int extra = 0; extra < 2; extra++) {
        b.n = 0;
        puts_(&b, "{\"a\":[");
        for (int i = 0; i < 65536 - 3 + extra; i++)
            puts_(&b, i ? ",1" : "1");
        puts_(&b, "]}");
        enum jt_status s = jt_parse(&p, b.p, b.n, &n, &pos);
        if (extra == 0) {
            assert_int_equal(s, JT_OK);
            assert_int_equal(n, 65536);
            assert_int_equal(p.tok[2].size, 65533);
            assert_int_equal(p.tok[65535].parent, 2);
        } else {
            assert_int_equal(s, JT_TOO_MANY);
        }
    }
    /* the grown array serves the next short line */
    assert_int_equal(jt_parse(&p, "{\"a\":1}", 7, &n, &pos), JT_OK);
    assert_int_equal(n, 3);
    jt_free(&p);
    jt_init(&p, 4, 0);
    assert_int_equal(jt_parse(&p, "{\"a\":[1]}", 9, &n, &pos), JT_OK);
    assert_int_equal(jt_parse(&p, "{\"a\":[1,2]}", 11, &n, &pos), JT_TOO_MANY);
    jt_free(&p);
    free(b.p);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    size_t pos;
    /* jsmn stopped at a NUL; a NUL is just a byte JSON does not allow */
    assert_int_equal(parse("{\"a\":\"x\0y\"}", 11, NULL, &pos), JT_SYNTAX);
    assert_int_equal(pos, 7);
    assert_int_equal(parse("{\"a\":\0}", 7, NULL, &pos), JT_SYNTAX);
    assert_int_equal(pos, 5);
    assert_int_equal(parse("{\"a\":1}\0", 8, NULL, &pos), JT_TRAILING);
    assert_int_equal(pos, 7);
    assert_int_equal(parse("\0{}", 3, NULL, &pos), JT_SYNTAX);
    assert_int_equal(pos, 0);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    size_t pos;
    int n;
    /* inside strings any byte >= 0x80 stands (a latin-1 log keeps its records) */
    assert_int_equal(parse_str("{\"m\":\"caf\xe9 \xff\xfe \xc3\",\"\xe9\":1}", &pos), JT_OK);
    assert_int_equal(parse("{\"\xed\xa0\x80\":\"\xc0\xaf\"}", 12, &n, &pos), JT_OK);
    assert_int_equal(n, 3);
    /* outside them it is no JSON */
    assert_int_equal(parse_str("{\"m\":\xe9}", &pos), JT_SYNTAX);
    assert_int_equal(pos, 5);
    assert_int_equal(parse_str("\xef\xbb\xbf{}", &pos), JT_SYNTAX); /* a BOM is the caller's to strip */
}

static void test_statuses_and_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        enum jt_status want;
        size_t pos; /* for JT_SYNTAX, JT_TRAILING, JT_NOT_OBJECT */
    } cases[] = {
        {"", JT_EMPTY, 0},
        {" \t\r\n ", JT_EMPTY, 0},
        {"{}", JT_OK, 0},
        {" {\"a\" : [ 1 , true , null , \"s\" , { } , [ ] ] } \r", JT_OK, 0},
        {"[1,2]", JT_NOT_OBJECT, 0},
        {"  \"s\"", JT_NOT_OBJECT, 2},
        {"1", JT_SYNTAX, 0},
        {"nope", JT_SYNTAX, 0},
        {"{", JT_TRUNCATED, 0},
        {"{\"a\"", JT_TRUNCATED, 0},
        {"{\"a\":", JT_TRUNCATED, 0},
        {"{\"a\":1", JT_TRUNCATED, 0},
        {"{\"a\":tr", JT_TRUNCATED, 0},
        {"{\"a\":-", JT_TRUNCATED, 0},
        {"{\"a\":1.", JT_TRUNCATED, 0},
        {"{\"a\":1e+", JT_TRUNCATED, 0},
        {"{\"a\":[1,", JT_TRUNCATED, 0},
        {"{\"a\":\"x", JT_TRUNCATED, 0},
        {"{\"a\"}", JT_SYNTAX, 4},
        {"{\"a\" \"b\"}", JT_SYNTAX, 5},
        {"{\"a\":1 \"b\":2}", JT_SYNTAX, 7},
        {"{\"a\":}", JT_SYNTAX, 5},
        {"{\"a\":1,}", JT_SYNTAX, 7},
        {"{,}", JT_SYNTAX, 1},
        {"{\"a\"::1}", JT_SYNTAX, 5},
        {"{1:2}", JT_SYNTAX, 1},
        {"{\"a\":[1,]}", JT_SYNTAX, 8},
        {"{\"a\":[1 2]}", JT_SYNTAX, 8},
        {"{\"a\":[}", JT_SYNTAX, 6},
        {"{\"a\":{]}", JT_SYNTAX, 6},
        {"{\"a\":tru}", JT_SYNTAX, 8},
        {"{\"a\":truex}", JT_SYNTAX, 9},
        {"{\"a\":nul}", JT_SYNTAX, 8},
        {"{\"a\":01}", JT_SYNTAX, 6},
        {"{\"a\":-01}", JT_SYNTAX, 7},
        {"{\"a\":1.}", JT_SYNTAX, 7},
        {"{\"a\":.5}", JT_SYNTAX, 5},
        {"{\"a\":+1}", JT_SYNTAX, 5},
        {"{\"a\":1e}", JT_SYNTAX, 7},
        {"{\"a\":0x10}", JT_SYNTAX, 6},
        {"{\"a\":1.2.3}", JT_SYNTAX, 8},
        {"{\"a\":-}", JT_SYNTAX, 6},
        {"{\"a\":'x'}", JT_SYNTAX, 5},
        {"{\"a\":NaN}", JT_OK, 0},
        {"{\"a\":[NaN,Infinity,-Infinity]}", JT_OK, 0},
        {"{\"a\":NaNa}", JT_SYNTAX, 8},
        {"{\"a\":-NaN}", JT_SYNTAX, 6},
        {"{\"a\":nan}", JT_SYNTAX, 6},
        {"{\"a\":Infinit}", JT_SYNTAX, 12},
        {"{\"a\":-Infinityy}", JT_SYNTAX, 14},
        {"{\"a\":Inf", JT_TRUNCATED, 0},
        {"{NaN:1}", JT_SYNTAX, 1},
        {"{\"a\":1} x", JT_TRAILING, 8},
        {"{\"a\":1}{\"b\":2}", JT_TRAILING, 7},
        {"{\"a\":1},", JT_TRAILING, 7},
        {"{\"a\":1}}", JT_TRAILING, 7},
        {"{\"message\":\"x\"} trailing", JT_TRAILING, 16},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t pos = (size_t)-1;
        enum jt_status s = parse_str(cases[i].in, &pos);
        if (s != cases[i].want)
            fail_msg("%s: %s, want %s", cases[i].in, jt_status_text(s), jt_status_text(cases[i].want));
        if ((s == JT_SYNTAX || s == JT_TRAILING || s == JT_NOT_OBJECT) && pos != cases[i].pos)
            fail_msg("%s: error at %zu, want %zu", cases[i].in, pos, cases[i].pos);
    }
}

/* The layout the walkers rely on, spelled out for one line. */
static void test_token_layout(void **state)
{
    (void)state;
    static const char in[] = "{\"a\": {\"b\": [1, \"s\"]}, \"c\": NaN}";
    struct jt_parser p;
    jt_init(&p, 0, 0);
    int n;
    size_t pos;
    assert_int_equal(jt_parse(&p, in, sizeof(in) - 1, &n, &pos), JT_OK);
    static const jt_tok want[] = {
        {JSMN_OBJECT, 0, 32, 2, -1}, {JSMN_STRING, 2, 3, 1, 0},  {JSMN_OBJECT, 6, 21, 1, 1},
        {JSMN_STRING, 8, 9, 1, 2},   {JSMN_ARRAY, 12, 20, 2, 3}, {JSMN_PRIMITIVE, 13, 14, 0, 4},
        {JSMN_STRING, 17, 18, 0, 4}, {JSMN_STRING, 24, 25, 1, 0}, {JSMN_PRIMITIVE, 28, 31, 0, 7},
    };
    assert_int_equal(n, 9);
    assert_true(jto_tokens_equal(p.tok, want, n));
    assert_int_equal(jt_skip(p.tok, n, 1), 2);
    assert_int_equal(jt_skip(p.tok, n, 2), 7);
    assert_int_equal(jt_skip(p.tok, n, 0), 9);
    jt_free(&p);
}

/* jt_parse_prefix: the bid's peek at a window, into a fixed array. */
static void test_prefix_mode(void **state)
{
    (void)state;
    jt_tok tok[8];
    int n;
    static const char full[] = "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"t\"}";
    assert_int_equal(jt_parse_prefix(tok, 8, full, sizeof(full) - 1, &n), JT_OK);
    assert_int_equal(n, 7);
    assert_int_equal(tok[0].end, (int)sizeof(full) - 1);
    /* cut by the window: what was read is there; the open object has end -1 and the
     * string cut short has no token */
    assert_int_equal(jt_parse_prefix(tok, 8, full, 24, &n), JT_TRUNCATED);
    assert_int_equal(n, 4);
    assert_int_equal(tok[0].end, -1);
    assert_int_equal(tok[3].type, JSMN_STRING);
    assert_int_equal(tok[3].parent, 0);
    /* the array is full */
    assert_int_equal(jt_parse_prefix(tok, 3, full, sizeof(full) - 1, &n), JT_TOO_MANY);
    assert_int_equal(n, 3);
    assert_int_equal(tok[2].parent, 1);
    /* a number at the end might go on */
    assert_int_equal(jt_parse_prefix(tok, 8, "{\"a\":12", 7, &n), JT_TRUNCATED);
    assert_int_equal(n, 2);
    /* several values, of any type */
    assert_int_equal(jt_parse_prefix(tok, 8, "{\"a\":1} [2] \"s\" 3 ", 18, &n), JT_OK);
    assert_int_equal(n, 7);
    assert_int_equal(tok[3].type, JSMN_ARRAY);
    assert_int_equal(tok[4].parent, 3);
    assert_int_equal(tok[5].type, JSMN_STRING);
    assert_int_equal(tok[5].parent, -1);
    assert_int_equal(tok[6].type, JSMN_PRIMITIVE);
    assert_int_equal(jt_parse_prefix(tok, 8, "{\"a\":1} x", 9, &n), JT_SYNTAX);
    assert_int_equal(jt_parse_prefix(tok, 8, "   ", 3, &n), JT_TRUNCATED);
    assert_int_equal(n, 0);
    /* no depth bound but the array's */
    char deep[200];
    memset(deep, '[', sizeof(deep));
    assert_int_equal(jt_parse_prefix(tok, 8, deep, sizeof(deep), &n), JT_TOO_MANY);
}

/* Python's json.dumps output as pycorr meets it: ", " and ": " separators, an escaped
 * traceback string, ensure_ascii escapes. */
static void test_python_lines(void **state)
{
    (void)state;
    static const char in[] =
        "{\"level\": \"ERROR\", \"message\": \"boom \\u00e9\", \"exc_info\": \"Traceback (most recent call "
        "last):\\n  File \\\"/app/x.py\\\", line 3, in <module>\\n    f()\\nZeroDivisionError: division by "
        "zero\", \"duration_ms\": 13.06, \"loss\": NaN, \"n\": -Infinity}";
    struct jto_stats st = {0};
    check_line(in, sizeof(in) - 1, &st);
    assert_int_equal(st.accepted, 1);
    int n;
    assert_int_equal(parse(in, sizeof(in) - 1, &n, NULL), JT_OK);
    assert_int_equal(n, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_lines),
        cmocka_unit_test(test_mutated_lines),
        cmocka_unit_test(test_every_cut),
        cmocka_unit_test(test_specials_at_every_offset),
        cmocka_unit_test(test_surrogates_and_escapes),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_token_bound),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_statuses_and_offsets),
        cmocka_unit_test(test_token_layout),
        cmocka_unit_test(test_prefix_mode),
        cmocka_unit_test(test_python_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
