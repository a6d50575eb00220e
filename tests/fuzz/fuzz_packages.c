/* fuzz_packages.c -- libFuzzer target for the package-listing parser (pip freeze,
 * pip list, pip inspect, importlib.metadata dumps, sys.modules collections).
 *
 * The first input byte picks the feed: chunk size (so lines and JSON documents
 * straddle feeds) and tight or default limits; the rest is the stream. The sink reads
 * every name and version, looks each one up again (the list must be sorted and
 * unique), and deep-copies the event as a detector does.
 */
#include <stdlib.h>

#include "correlate/ev_packages.h"
#include "fuzz_feed.h"

extern const struct parser parser_packages;

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    const struct ev_packages *p = ev->u.packages;
    if (ev->kind != EV_PACKAGES || p == NULL)
        abort();
    fuzz_touch(ev->service);
    fuzz_touch(ev->host);
    fuzz_touch(p->python);
    for (uint32_t i = 0; i < p->n; i++) {
        fuzz_touch(p->pkgs[i].name);
        fuzz_touch(p->pkgs[i].version);
        if (ev_packages_find(p, p->pkgs[i].name.ptr, p->pkgs[i].name.len) != &p->pkgs[i])
            abort(); /* not sorted, or a name twice */
    }
    fuzz_clone_json(ev);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    fuzz_bid(&parser_packages, in, n);
    struct parse_limits lim = parse_limits_default;
    if (mode & 0x10)
        lim.max_line = 64;
    struct parser_env env = {.stream = "fuzz", .emit = sink, .diag = fuzz_diag, .limits = &lim};
    fuzz_feed(&parser_packages, &env, in, n, fuzz_chunk(mode, 5, n));
    return 0;
}
