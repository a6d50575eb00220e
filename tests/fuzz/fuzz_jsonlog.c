/* fuzz_jsonlog.c -- libFuzzer target for the JSON-lines parser (and its bid).
 *
 * The first input byte picks how the rest is fed: chunk size (so lines straddle
 * feeds), tight or default limits, and whether a --map is in force; the rest is the
 * stream. The sink reads every byte of every slice it is given so that ASan sees a
 * slice that points outside live memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parsers/parser.h"

extern const struct parser parser_jsonlog;

static volatile unsigned sink_sum;

static void touch(ev_str s)
{
    unsigned h = 0;
    for (uint32_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.ptr[i];
    sink_sum += h;
}

static void touch_chain(const struct ev_chain *c, int depth)
{
    for (uint32_t i = 0; i < c->n; i++) {
        const struct ev_exc *x = &c->exc[i];
        touch(x->type);
        touch(x->message);
        for (uint32_t f = 0; f < x->nframes; f++) {
            touch(x->frames[f].file);
            touch(x->frames[f].function);
        }
        for (uint32_t k = 0; k < x->nnotes; k++)
            touch(x->notes[k]);
        if (x->has_syntax) {
            touch(x->syntax.filename);
            touch(x->syntax.text);
        }
        if (x->group != NULL && depth < 64)
            for (uint32_t m = 0; m < x->group->n; m++)
                touch_chain(&x->group->members[m], depth + 1);
    }
}

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    touch(ev->message);
    touch(ev->logger);
    touch(ev->service);
    touch(ev->host);
    touch(ev->thread);
    touch(ev->trace_id);
    touch(ev->span_id);
    if (ev->kind == EV_EXCEPTION)
        touch_chain(&ev->u.exc.chain, 0);
    return 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)ctx;
    (void)stream;
    (void)line;
    sink_sum += (unsigned)strlen(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    parser_jsonlog.bid(in, n, true);
    parser_jsonlog.bid(in, n / 2, false);

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
        .diag = diag,
        .map = (mode & 0x20) ? &map : NULL,
        .limits = &lim,
    };
    void *st = parser_jsonlog.open(&env);
    if (st == NULL)
        return 0;
    size_t chunk = (size_t)(mode & 0x0f) * 7 + 1;
    if (mode & 0x40)
        chunk = n ? n : 1;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = parser_jsonlog.feed(st, in + off, n - off < chunk ? n - off : chunk);
    if (rc == 0)
        parser_jsonlog.finish(st);
    parser_jsonlog.close(st);
    return 0;
}
