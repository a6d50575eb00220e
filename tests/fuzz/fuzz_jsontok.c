/* fuzz_jsontok.c -- libFuzzer target: the JSON tokenizer against jansson (and jsmn's
 * token layout when <jsmn.h> is installed), on the whole input as one line; see
 * tests/unit/jsontok_oracle.h for what "agree" means. Any difference aborts. Also
 * drives the bid's fixed-array prefix mode and the default bounds, and decodes every
 * string of an accepted line so ASan sees each read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/jsontok_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jto_stats stats;
    const char *js = (const char *)data;
    char why[256];
    const char *err = jto_check(js, size, &stats, why, sizeof(why));
    if (err != NULL) {
        fprintf(stderr, "jt_parse and the reference differ: %s\n", err);
        abort();
    }

    /* the default bounds only add JT_TOO_DEEP / JT_TOO_MANY to the verdict */
    struct jt_parser p, big;
    jt_init(&p, 0, 0);
    jt_init(&big, JTO_MAX_TOKENS, JTO_MAX_DEPTH);
    int n = 0, nb = 0;
    size_t pos = 0, posb = 0;
    enum jt_status s = jt_parse(&p, js, size, &n, &pos);
    enum jt_status sb = jt_parse(&big, js, size, &nb, &posb);
    if (s != sb && s != JT_TOO_DEEP && s != JT_TOO_MANY) {
        fprintf(stderr, "default bounds: %s, wide bounds: %s\n", jt_status_text(s), jt_status_text(sb));
        abort();
    }
    if (s == JT_OK) {
        struct arena a;
        arena_init(&a, 0);
        unsigned h = 0;
        for (int i = 0; i < n; i++) {
            ev_str v = jt_str(js, &p.tok[i], &a);
            for (uint32_t k = 0; k < v.len; k++)
                h += (unsigned char)v.ptr[k];
            int64_t iv;
            if (jt_int(js, &p.tok[i], &iv))
                h += (unsigned)iv;
        }
        arena_free(&a);
        if (h == 0x5eed)
            fprintf(stderr, "%u\n", h); /* keep h alive */
    }
    jt_free(&p);
    jt_free(&big);

    /* prefix mode into a small fixed array: tokens stay inside the input */
    jt_tok tok[12];
    int np = 0;
    s = jt_parse_prefix(tok, 12, js, size, &np);
    if (np < 0 || np > 12)
        abort();
    for (int i = 0; i < np; i++) {
        if (tok[i].start < 0 || (size_t)tok[i].start > size || tok[i].end > (int)size ||
            (tok[i].end != -1 && tok[i].end < tok[i].start) || tok[i].parent >= i)
            abort();
    }
    (void)s;
    return 0;
}
