/* fuzz_memtext.c -- libFuzzer target for the memory text parsers: tracemalloc listings
 * (tmtext.c) and gc/objgraph/counter text (gcstats.c), each fed the same input in
 * chunks a mode byte chooses, so lines straddle feeds. (Memory records in JSON lines
 * are reached through fuzz_jsonlog, via jsonlog's hook.) The sink walks every site,
 * frame and counter so ASan sees a slice that points outside live memory.
 */
#include "correlate/ev_memory.h"
#include "fuzz_feed.h"

extern const struct parser parser_tmtext;
extern const struct parser parser_gcstats;

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    const struct ev_snapshot *s = ev_snapshot_of(ev);
    for (uint32_t i = 0; s != NULL && i < s->nsites; i++) {
        fuzz_touch(s->sites[i].file);
        for (uint32_t k = 0; k < s->sites[i].ntb; k++)
            fuzz_touch(s->sites[i].tb[k].file);
    }
    const struct ev_counters *c = ev_counters_of(ev);
    for (uint32_t i = 0; c != NULL && i < c->n; i++) {
        fuzz_touch(c->v[i].name);
        fuzz_sum += (unsigned)(c->v[i].value > 0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = size ? (uint8_t)(size * 31u + data[size / 2]) : 0;
    const char *in = (const char *)data;
    const struct parser *ps[] = {&parser_tmtext, &parser_gcstats};
    struct parse_limits lim = parse_limits_default;
    if (mode & 0x10)
        lim.max_line = 64;
    for (size_t k = 0; k < 2; k++) {
        fuzz_bid(ps[k], in, size);
        struct parser_env env = {.stream = "fuzz", .emit = sink, .diag = fuzz_diag, .limits = &lim};
        /* No whole-input mode here: (mode & 0x0f) * 3 + 1 bytes at a time. */
        fuzz_feed(ps[k], &env, in, size, (size_t)(mode & 0x0f) * 3 + 1);
    }
    return 0;
}
