/* fuzz_tb.c -- libFuzzer target for the traceback grammar: tb_parse_text on the
 * input (as a structured-log field would hold it), once with the default limits and
 * once with tight ones. Every slice of the result is walked through its JSON
 * document, so ASan sees one that points outside the input or the arena.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "correlate/arena.h"
#include "correlate/ev_json.h"
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
    free(text);
    return 0;
}
