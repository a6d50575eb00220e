/* fuzz_memtext.c -- libFuzzer target for the memory text parsers: tracemalloc listings
 * (tmtext.c) and gc/objgraph/counter text (gcstats.c), each fed the same input in
 * chunks a mode byte chooses, so lines straddle feeds. (Memory records in JSON lines
 * are reached through fuzz_jsonlog, via jsonlog's hook.) The sink walks every site,
 * frame and counter so ASan sees a slice that points outside live memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "correlate/ev_memory.h"
#include "parsers/parser.h"

extern const struct parser parser_tmtext;
extern const struct parser parser_gcstats;

static volatile unsigned sink_sum;

static void touch(ev_str s)
{
    unsigned h = 0;
    for (uint32_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.ptr[i];
    sink_sum += h;
}

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    const struct ev_snapshot *s = ev_snapshot_of(ev);
    for (uint32_t i = 0; s != NULL && i < s->nsites; i++) {
        touch(s->sites[i].file);
        for (uint32_t k = 0; k < s->sites[i].ntb; k++)
            touch(s->sites[i].tb[k].file);
    }
    const struct ev_counters *c = ev_counters_of(ev);
    for (uint32_t i = 0; c != NULL && i < c->n; i++) {
        touch(c->v[i].name);
        sink_sum += (unsigned)(c->v[i].value > 0);
    }
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
    uint8_t mode = size ? (uint8_t)(size * 31u + data[size / 2]) : 0;
    const char *in = (const char *)data;
    const struct parser *ps[] = {&parser_tmtext, &parser_gcstats};
    struct parse_limits lim = parse_limits_default;
    if (mode & 0x10)
        lim.max_line = 64;
    for (size_t k = 0; k < 2; k++) {
        ps[k]->bid(in, size, true);
        ps[k]->bid(in, size / 2, false);
        struct parser_env env = {.stream = "fuzz", .emit = sink, .diag = diag, .limits = &lim};
        void *st = ps[k]->open(&env);
        if (st == NULL)
            continue;
        size_t chunk = (size_t)(mode & 0x0f) * 3 + 1;
        int rc = 0;
        for (size_t off = 0; off < size && rc == 0; off += chunk)
            rc = ps[k]->feed(st, in + off, size - off < chunk ? size - off : chunk);
        if (rc == 0)
            ps[k]->finish(st);
        ps[k]->close(st);
    }
    return 0;
}
