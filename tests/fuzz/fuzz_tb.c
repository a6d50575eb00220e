/* fuzz_tb.c -- libFuzzer target for the traceback grammar: tb_parse_text on the
 * input (as a structured-log field would hold it), and pytb_parse, iptb_parse and
 * rtb_parse on its lines (as a pytest failure section, an IPython block, a rich box,
 * and the blocks followed line by line), each once with the default limits and once
 * with tight ones. Every slice of the result is walked through its JSON
 * document, so ASan sees one that points outside the input or the arena.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "correlate/arena.h"
#include "correlate/ev_json.h"
#include "parsers/ipython_tb.h"
#include "parsers/pytest_tb.h"
#include "parsers/rich_tb.h"
#include "parsers/tb.h"

static volatile size_t sink_sum;

static void walk(const struct ev_exception *x)
{
    struct event ev;
    ev_init(&ev, EV_EXCEPTION);
    ev.u.exc = *x;
    json_t *doc = ev_to_json(&ev);
    if (doc != NULL) {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s != NULL) {
            sink_sum += strlen(s);
            free(s);
        }
        json_decref(doc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: a read past the end is an ASan report. */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);

    struct parse_limits tight = parse_limits_default;
    tight.max_frames = 2;
    tight.max_chain = 2;
    tight.max_group_depth = 2;
    tight.max_group_members = 2;
    const struct parse_limits *lims[2] = {&parse_limits_default, &tight};
    for (int k = 0; k < 2; k++) {
        struct arena a;
        arena_init(&a, k == 0 ? 0 : (size_t)1 << 20);
        struct ev_exception x;
        int rc = tb_parse_text(text, size, lims[k], &a, &x);
        if (rc == 1)
            walk(&x);
        arena_free(&a);
    }

    /* The same bytes as the lines of a pytest section; each line its own copy, so a
     * read past a line's end is an ASan report too. */
    size_t nlines = 0;
    for (size_t i = 0; i < size; i++)
        nlines += text[i] == '\n';
    nlines++;
    struct tb_line *L = calloc(nlines, sizeof(*L));
    char **own = calloc(nlines, sizeof(*own));
    size_t n = 0;
    for (size_t i = 0; L != NULL && own != NULL && i <= size && n < nlines;) {
        const char *nl = i < size ? memchr(text + i, '\n', size - i) : NULL;
        size_t len = nl ? (size_t)(nl - (text + i)) : size - i;
        own[n] = malloc(len ? len : 1);
        if (own[n] == NULL)
            break;
        memcpy(own[n], text + i, len);
        L[n] = (struct tb_line){own[n], (uint32_t)len, n + 1};
        n++;
        i += len + 1;
    }
    for (int k = 0; k < 2 && L != NULL; k++) {
        struct arena a;
        arena_init(&a, k == 0 ? 0 : (size_t)1 << 20);
        struct ev_exception x;
        memset(&x, 0, sizeof(x));
        bool truncated;
        if (pytb_parse(L, n, lims[k], &a, &x.chain, &truncated) == 1)
            walk(&x);
        arena_reset(&a);
        memset(&x, 0, sizeof(x));
        if (iptb_parse(L, n, lims[k], &a, &x.chain, &truncated) == 1)
            walk(&x);
        arena_reset(&a);
        memset(&x, 0, sizeof(x));
        if (rtb_parse(L, n, lims[k], &a, &x.chain, &truncated) == 1)
            walk(&x);
        arena_free(&a);
    }
    if (L != NULL && n > 0) {
        struct iptb_follow f;
        iptb_begin(&f, L[0].p, L[0].n);
        for (size_t i = 1; i < n && iptb_takes(&f, L[i].p, L[i].n); i++)
            sink_sum++;
        struct rtb_follow r;
        rtb_begin(&r, L[0].p, L[0].n);
        for (size_t i = 1; i < n && rtb_takes(&r, L[i].p, L[i].n); i++)
            sink_sum++;
    }
    for (size_t i = 0; own != NULL && i < n; i++)
        free(own[i]);
    free(own);
    free(L);
    free(text);
    return 0;
}
