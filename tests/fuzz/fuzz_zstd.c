/* fuzz_zstd.c -- libFuzzer target for the .zst link (source/zstd.c), differential.
 *
 * The link drives libzstd's block decoder itself: it assembles frame headers and
 * blocks that straddle the chunks it is given, skips skippable frames on its own
 * and places every block in a round buffer it lends from. libzstd's streaming
 * decoder, which does all of that internally, is the reference.
 *
 * The first input byte picks how the rest is cut into chunks and how much each
 * lend asks for. Both decoders stop at OUT_CAP bytes. Then:
 *  - what the link produced is a prefix of what the reference produced;
 *  - when the reference decoded every frame cleanly, the link did too, with the
 *    same bytes; when the link ended cleanly, so did the reference.
 *  - every lent view is still intact when the next one is lent (ASan sees a view
 *    into a freed buffer).
 * A difference traps.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_d_forceIgnoreChecksum */
#include <zstd.h>

#include "source/src_private.h"

#define OUT_CAP ((size_t)4 << 20)

struct memr {
    struct src_reader base;
    const uint8_t *p;
    size_t n, pos, step;
};

static long mem_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ])
{
    (void)err;
    struct memr *m = (struct memr *)r;
    size_t k = m->n - m->pos < m->step ? m->n - m->pos : m->step;
    *data = (const char *)m->p + m->pos;
    m->pos += k;
    return (long)k;
}

/* The reference, twice. Whole, it says whether every frame decodes cleanly (1) or
 * not (0), or reaches OUT_CAP (1). A byte at a time and with checksums ignored, it
 * gives every byte it can decode: a call that fails returns none of its output,
 * and fed one byte, a call completes at most one block. *len bytes into out. */
static int reference(const uint8_t *p, size_t n, char *out, size_t *len)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (d == NULL)
        abort();
    ZSTD_inBuffer in = {p, n, 0};
    ZSTD_outBuffer o = {out, OUT_CAP, 0};
    int ok = 0;
    for (;;) {
        size_t before_in = in.pos, before_out = o.pos;
        size_t ret = ZSTD_decompressStream(d, &o, &in);
        if (ZSTD_isError(ret))
            break;
        if (o.pos == o.size) {
            ok = 1;
            break;
        }
        if (in.pos == in.size && (ret == 0 || o.pos == before_out)) {
            ok = ret == 0 && n > 0;
            break;
        }
        if (in.pos == before_in && o.pos == before_out)
            break;
    }
    ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
    ZSTD_DCtx_setParameter(d, ZSTD_d_forceIgnoreChecksum, ZSTD_d_ignoreChecksum);
    o.pos = 0;
    for (size_t i = 0; i < n && o.pos < o.size; i++) {
        ZSTD_inBuffer one = {p + i, 1, 0};
        size_t ret;
        do
            ret = ZSTD_decompressStream(d, &o, &one);
        while (!ZSTD_isError(ret) && one.pos == 0 && o.pos < o.size);
        if (ZSTD_isError(ret))
            break;
    }
    *len = o.pos;
    ZSTD_freeDCtx(d);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t steps[] = {1, 7, 512, 4096, 65536, 1 << 20};
    static const size_t asks[] = {1, 100, 4096, 65536, 200000};
    size_t step = steps[data[0] % 6], ask = asks[(data[0] / 6) % 5];
    data++;
    size--;

    static char ref[OUT_CAP];
    size_t ref_len;
    int ref_ok = reference(data, size, ref, &ref_len);

    struct src_options opt;
    src_options_resolve(&opt, &(struct src_options){.chunk_size = ask, .ratio_grace = OUT_CAP});
    opt.max_ratio = UINT64_MAX / 2; /* the reference has no guard */
    struct memr m = {.base = {.read = mem_read}, .p = data, .n = size, .step = step};
    char err[SRC_ERRSZ];
    struct src_reader *z = src_zstd_new(&m.base, &opt, err);
    if (z == NULL)
        return 0;
    size_t total = 0;
    const char *prev = NULL;
    size_t prev_len = 0, prev_off = 0;
    long r = 0;
    while (total < OUT_CAP) {
        const char *p;
        r = z->lend(z, &p, ask, err);
        if (r <= 0)
            break;
        size_t k = (size_t)r;
        if (total + k > ref_len || memcmp(p, ref + total, k) != 0)
            __builtin_trap(); /* not what the reference decoded */
        if (prev != NULL && memcmp(prev, ref + prev_off, prev_len) != 0)
            __builtin_trap(); /* a view changed one lend later */
        prev = p;
        prev_len = k;
        prev_off = total;
        total += k;
    }
    if (total >= OUT_CAP) {
        if (ref_len < OUT_CAP)
            __builtin_trap();
    } else if (r == 0) {
        /* libzstd itself disagrees on one degenerate frame: an empty one whose last
         * block is RLE of size 0 (checksum right) passes its block decoder, which
         * the link drives, and fails its streaming one ("Data corruption detected").
         * Nothing was decoded either way; any other disagreement traps. */
        bool empty_both = total == 0 && ref_len == 0;
        if ((!ref_ok && !empty_both) || total != ref_len)
            __builtin_trap(); /* clean end here, not there */
    } else if (ref_ok && ref_len < OUT_CAP) {
        __builtin_trap(); /* an error here, a clean run there */
    }
    z->close(z);
    return 0;
}
