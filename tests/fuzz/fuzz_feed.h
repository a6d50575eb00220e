/* fuzz_feed.h -- what the parsers' libFuzzer targets share: reading every byte of
 * a slice (so ASan sees one that points outside live memory), a diagnostic sink,
 * doing with an event what a detector does, and feeding a stream in chunks so
 * lines and records straddle feeds. Each target keeps its own sink (what it walks
 * is what its parser builds) and its own use of the mode byte.
 */
#ifndef PYCORR_FUZZ_FEED_H
#define PYCORR_FUZZ_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "correlate/ev_json.h"
#include "parsers/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned fuzz_sum;

static void fuzz_touch(ev_str s)
{
    unsigned h = 0;
    for (uint32_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.ptr[i];
    fuzz_sum += h;
}

static void fuzz_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)ctx;
    (void)stream;
    fuzz_sum += (unsigned)line + (unsigned)strlen(reason);
}

/* What a detector does with an event: a deep copy, and the JSON of `pycorr events`. */
static void fuzz_clone_json(const struct event *ev)
{
    struct arena a = {0};
    struct event copy;
    if (ev_clone(&copy, ev, &a) == 0)
        json_decref(ev_to_json(&copy));
    arena_free(&a);
}

/* Both bids a stream meets: the whole of it at its end, and a prefix. */
static void fuzz_bid(const struct parser *p, const char *in, size_t n)
{
    p->bid(in, n, true);
    p->bid(in, n / 2, false);
}

/* The chunk a mode byte picks: (mode & 0x0f) * mul + 1 bytes, or all of it when
 * bit 0x40 is set. */
static size_t fuzz_chunk(uint8_t mode, size_t mul, size_t n)
{
    if (mode & 0x40)
        return n ? n : 1;
    return (size_t)(mode & 0x0f) * mul + 1;
}

/* Open p on env, feed in[0..n) chunk bytes at a time, finish and close, as the
 * pipeline does (a feed that asks to stop ends the feeding). */
static void fuzz_feed(const struct parser *p, const struct parser_env *env, const char *in, size_t n, size_t chunk)
{
    void *st = p->open(env);
    if (st == NULL)
        return;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = p->feed(st, in + off, n - off < chunk ? n - off : chunk);
    if (rc == 0)
        p->finish(st);
    p->close(st);
}

#endif
