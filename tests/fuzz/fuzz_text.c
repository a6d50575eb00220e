/* fuzz_text.c -- libFuzzer target for the plain-text parser (logging prefixes, CRI
 * and docker framing, the traceback assembler behind it).
 *
 * The first input byte picks the limits (default or tight) and, with the next two,
 * where the rest is cut into two or three chunks, so lines, CRI partials and docker
 * escapes straddle feeds. The sink turns every event into its JSON document (which
 * repairs UTF-8 and walks every slice, so ASan sees one that points outside live
 * memory) and drops it. Nothing is checked but the absence of crashes and leaks.
 */
#include <stdlib.h>

#include <jansson.h>

#include "fuzz_feed.h"

extern const struct parser parser_text;

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    json_t *doc = ev_to_json(ev);
    if (doc != NULL) {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s != NULL) {
            fuzz_sum += (unsigned)strlen(s);
            free(s);
        }
        json_decref(doc);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 3;
    size_t n = size - 3;

    fuzz_bid(&parser_text, in, n);

    struct parse_limits lim = parse_limits_default;
    if (mode & 1) {
        lim.max_line = 120;
        lim.max_frames = 2;
        lim.max_chain = 2;
        lim.max_group_depth = 1;
        lim.max_group_members = 2;
        lim.max_record = 512;
    }
    struct parser_env env = {
        .stream = "fuzz.log",
        .emit = sink,
        .diag = fuzz_diag,
        .limits = &lim,
    };
    void *st = parser_text.open(&env);
    if (st == NULL)
        return 0;
    /* Two cut points from bytes 1 and 2 (as fractions of n); equal ones give two chunks. */
    size_t c1 = n * data[1] / 255, c2 = n * data[2] / 255;
    if (c1 > c2) {
        size_t t = c1;
        c1 = c2;
        c2 = t;
    }
    const size_t cuts[4] = {0, c1, c2, n};
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++)
        if (cuts[k + 1] > cuts[k])
            rc = parser_text.feed(st, in + cuts[k], cuts[k + 1] - cuts[k]);
    if (rc == 0)
        parser_text.finish(st);
    parser_text.close(st);
    return 0;
}
