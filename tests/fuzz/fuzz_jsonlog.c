/* fuzz_jsonlog.c -- libFuzzer target for the JSON-lines parser (and its bid).
 *
 * The first input byte picks how the rest is fed: chunk size (so lines straddle
 * feeds), tight or default limits, and whether a --map is in force; the rest is the
 * stream. The sink reads every byte of every slice it is given so that ASan sees a
 * slice that points outside live memory.
 */
#include "fuzz_feed.h"

extern const struct parser parser_jsonlog;

static void touch_chain(const struct ev_chain *c, int depth)
{
    for (uint32_t i = 0; i < c->n; i++) {
        const struct ev_exc *x = &c->exc[i];
        fuzz_touch(x->type);
        fuzz_touch(x->message);
        for (uint32_t f = 0; f < x->nframes; f++) {
            fuzz_touch(x->frames[f].file);
            fuzz_touch(x->frames[f].function);
        }
        for (uint32_t k = 0; k < x->nnotes; k++)
            fuzz_touch(x->notes[k]);
        if (x->has_syntax) {
            fuzz_touch(x->syntax.filename);
            fuzz_touch(x->syntax.text);
        }
        if (x->group != NULL && depth < 64)
            for (uint32_t m = 0; m < x->group->n; m++)
                touch_chain(&x->group->members[m], depth + 1);
    }
}

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    fuzz_touch(ev->message);
    fuzz_touch(ev->logger);
    fuzz_touch(ev->service);
    fuzz_touch(ev->host);
    fuzz_touch(ev->thread);
    fuzz_touch(ev->trace_id);
    fuzz_touch(ev->span_id);
    if (ev->kind == EV_EXCEPTION)
        touch_chain(&ev->u.exc.chain, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    fuzz_bid(&parser_jsonlog, in, n);

    struct parse_limits lim = parse_limits_default;
    if (mode & 0x10) {
        lim.max_line = 200;
        lim.max_frames = 2;
        lim.max_chain = 2;
        lim.max_group_depth = 1;
        lim.max_group_members = 2;
        lim.max_json_tokens = 32;
        lim.max_json_depth = 3;
    }
    struct field_map map = {0};
    char err[128];
    if (mode & 0x20) {
        field_map_set(&map, "trace_id=a.b", err, sizeof(err));
        field_map_set(&map, "exception=x", err, sizeof(err));
        field_map_set(&map, "message=a", err, sizeof(err));
    }
    struct parser_env env = {
        .stream = "fuzz",
        .emit = sink,
        .diag = fuzz_diag,
        .map = (mode & 0x20) ? &map : NULL,
        .limits = &lim,
    };
    fuzz_feed(&parser_jsonlog, &env, in, n, fuzz_chunk(mode, 7, n));
    return 0;
}
