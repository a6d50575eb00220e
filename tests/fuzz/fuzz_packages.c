/* fuzz_packages.c -- libFuzzer target for the package-listing parser (pip freeze,
 * pip list, pip inspect, importlib.metadata dumps, sys.modules collections).
 *
 * The first input byte picks the feed: chunk size (so lines and JSON documents
 * straddle feeds) and tight or default limits; the rest is the stream. The sink reads
 * every name and version, looks each one up again (the list must be sorted and
 * unique), and deep-copies the event as a detector does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/ev_json.h"
#include "correlate/ev_packages.h"
#include "parsers/parser.h"

extern const struct parser parser_packages;

static volatile unsigned fuzz_sum;

static void touch(ev_str s)
{
    for (uint32_t i = 0; i < s.len; i++)
        fuzz_sum = fuzz_sum * 31 + (unsigned char)s.ptr[i];
}

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    const struct ev_packages *p = ev->u.packages;
    if (ev->kind != EV_PACKAGES || p == NULL)
        abort();
    touch(ev->service);
    touch(ev->host);
    touch(p->python);
    for (uint32_t i = 0; i < p->n; i++) {
        touch(p->pkgs[i].name);
        touch(p->pkgs[i].version);
        if (ev_packages_find(p, p->pkgs[i].name.ptr, p->pkgs[i].name.len) != &p->pkgs[i])
            abort(); /* not sorted, or a name twice */
    }
    struct arena a = {0};
    struct event copy;
    if (ev_clone(&copy, ev, &a) == 0)
        json_decref(ev_to_json(&copy));
    arena_free(&a);
    return 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)ctx;
    (void)stream;
    (void)line;
    fuzz_sum += (unsigned)strlen(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    parser_packages.bid(in, n, true);
    parser_packages.bid(in, n / 2, false);
    struct parse_limits lim = parse_limits_default;
    if (mode & 0x10)
        lim.max_line = 64;
    struct parser_env env = {.stream = "fuzz", .emit = sink, .diag = diag, .limits = &lim};
    void *st = parser_packages.open(&env);
    if (st == NULL)
        return 0;
    size_t chunk = (size_t)(mode & 0x0f) * 5 + 1;
    if (mode & 0x40)
        chunk = n ? n : 1;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = parser_packages.feed(st, in + off, n - off < chunk ? n - off : chunk);
    if (rc == 0)
        parser_packages.finish(st);
    parser_packages.close(st);
    return 0;
}
