/* fuzz_dump.h -- the driver shared by the thread-dump parsers' libFuzzer targets
 * (fuzz_faulthandler.c, fuzz_gdb.c, fuzz_psthreads.c, fuzz_pyspy.c).
 *
 * The first input byte picks how the rest is fed: chunk size (so lines straddle
 * feeds) and tight or default limits; the rest is the stream. The sink reads every
 * byte of every slice and every frame of every thread, so ASan sees a slice that
 * points outside live memory, and deep-copies the event as a detector would.
 */
#ifndef PYCORR_FUZZ_DUMP_H
#define PYCORR_FUZZ_DUMP_H

#include "correlate/ev_dump.h"
#include "fuzz_feed.h"

static int fuzz_sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    fuzz_touch(ev->message);
    const struct ev_dump *d = ev->u.dump;
    if ((ev->kind != EV_THREAD_DUMP && ev->kind != EV_THREAD_CPU) || d == NULL)
        return 0;
    fuzz_touch(d->header);
    fuzz_touch(d->fatal_error);
    fuzz_touch(d->signal);
    for (uint32_t i = 0; i < d->nmodules; i++)
        fuzz_touch(d->modules[i]);
    for (uint32_t i = 0; i < d->nthreads; i++) {
        const struct ev_dthread *t = &d->threads[i];
        fuzz_touch(t->id);
        fuzz_touch(t->name);
        for (uint32_t k = 0; k < t->nframes; k++) {
            fuzz_touch(t->frames[k].file);
            fuzz_touch(t->frames[k].function);
        }
        for (uint32_t k = 0; k < t->nholds; k++)
            fuzz_sum += (unsigned)t->holds[k];
    }
    for (uint32_t i = 0; i < d->nlocks; i++)
        fuzz_sum += (unsigned)d->locks[i].owner;
    fuzz_clone_json(ev);
    return 0;
}

static int fuzz_dump_run(const struct parser *p, const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    fuzz_bid(p, in, n);
    struct parse_limits lim = parse_limits_default;
    if (mode & 0x10) {
        lim.max_line = 120;
        lim.max_frames = 2;
        lim.max_record = 4096;
    }
    struct parser_env env = {.stream = "fuzz", .emit = fuzz_sink, .diag = fuzz_diag, .limits = &lim};
    fuzz_feed(p, &env, in, n, fuzz_chunk(mode, 7, n));
    return 0;
}

#endif
