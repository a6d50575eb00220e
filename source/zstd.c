/* zstd.c -- a .zst file decoded with libzstd's streaming API.
 *
 * libarchive could decode zstd too, but the project measured libzstd's streaming
 * decoder directly as faster for the common single-file case, so plain .zst files
 * (and .zst archive members) come here. ZSTD_decompressStream moves on to the next
 * frame by itself, which gives multi-frame files and skippable frames for free; all
 * we track is whether the input ended inside a frame.
 */
#include "src_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct zst {
    struct src_reader base;
    struct src_reader *in;
    const struct src_options *opt;
    ZSTD_DCtx *dctx;
    ZSTD_inBuffer zin;
    char *out;
    size_t cap;
    bool in_frame;     /* the decoder holds part of a frame: end of input is truncation */
    bool out_was_full; /* the decoder may hold output that needs no more input */
    bool seen_input;
    uint64_t consumed; /* compressed bytes fed to the decoder, for the bomb guard */
    uint64_t produced;
};

/* Decode into out[0..cap): the number of bytes, 0 at the end, -1 with err. */
static long zst_decode(struct zst *z, char *out, size_t cap, char err[SRC_ERRSZ])
{
    ZSTD_outBuffer zout = {out, cap, 0};
    while (zout.pos == 0) {
        if (z->zin.pos == z->zin.size && !z->out_was_full) {
            const char *p;
            long n = z->in->read(z->in, &p, err);
            if (n < 0)
                return -1;
            if (n == 0) {
                if (z->in_frame || !z->seen_input) {
                    src_errf(err, "truncated zstd frame");
                    return -1;
                }
                return 0;
            }
            z->zin.src = p;
            z->zin.size = (size_t)n;
            z->zin.pos = 0;
            z->seen_input = true;
        }
        size_t before = z->zin.pos, out_before = zout.pos;
        size_t ret = ZSTD_decompressStream(z->dctx, &zout, &z->zin);
        z->consumed += z->zin.pos - before;
        if (ZSTD_isError(ret)) {
            src_errf(err, "corrupt zstd data: %s", ZSTD_getErrorName(ret));
            return -1;
        }
        /* 0 means a frame ended and everything is flushed; more input starts the
         * next frame. A call that moved nothing says nothing: after a frame's end
         * it returns the size of the next frame's header, which is no frame yet. */
        if (ret == 0)
            z->in_frame = false;
        else if (z->zin.pos > before || zout.pos > out_before)
            z->in_frame = true;
        z->out_was_full = zout.pos == zout.size;
    }
    z->produced += zout.pos;
    if (src_ratio_exceeded(z->opt, z->consumed, z->produced, err))
        return -1;
    return (long)zout.pos;
}

static long zst_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ])
{
    struct zst *z = (struct zst *)r;
    long n = zst_decode(z, z->out, z->cap, err);
    if (n > 0)
        *data = z->out;
    return n;
}

static long zst_read_into(struct src_reader *r, char *buf, size_t cap, char err[SRC_ERRSZ])
{
    return zst_decode((struct zst *)r, buf, cap, err);
}

static void zst_close(struct src_reader *r)
{
    struct zst *z = (struct zst *)r;
    if (z == NULL)
        return;
    ZSTD_freeDCtx(z->dctx);
    free(z->out);
    free(z);
}

struct src_reader *src_zstd_new(struct src_reader *in, const struct src_options *opt,
                                char err[SRC_ERRSZ])
{
    struct zst *z = calloc(1, sizeof *z);
    if (z == NULL)
        goto nomem;
    z->cap = opt->chunk_size;
    z->out = malloc(z->cap);
    z->dctx = ZSTD_createDCtx();
    if (z->out == NULL || z->dctx == NULL)
        goto nomem;
    z->base.read = zst_read;
    z->base.read_into = zst_read_into;
    z->base.close = zst_close;
    z->in = in;
    z->opt = opt;
    return &z->base;
nomem:
    if (z != NULL)
        zst_close(&z->base);
    src_errf(err, "%s", strerror(ENOMEM));
    return NULL;
}
