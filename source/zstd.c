/* zstd.c -- a .zst file decoded block by block into a round buffer we own.
 *
 * libarchive could decode zstd too, but libzstd directly is faster for the common
 * single-file case, so plain .zst files (and .zst archive members) come here.
 *
 * libzstd's streaming decoder (ZSTD_decompressStream) decodes each block into a
 * window buffer of its own and then copies it out: on 256 MB of JSON lines that
 * copy was a third of the cost of decompression. Its buffer-less API
 * (ZSTD_decompressContinue) instead decodes each block wherever we say, provided
 * the last window's worth of output stays where it was written. So blocks go into
 * a round buffer that we lend out as it is (src_reader.lend): a read-ahead slot
 * points into it rather than holding a copy.
 *
 * The round buffer keeps two promises at once. The decoder's: the last windowSize
 * bytes of the frame stay intact. The reader's: lent bytes stay intact until
 * SRC_LEND_KEEP more have been lent. A block is decoded into BLOCK_MAX bytes of
 * room, wrapping to the start when the end is nearer than that; wrapping wastes at
 * most BLOCK_MAX, so room is only ever made of bytes written more than
 * size - 2 * BLOCK_MAX bytes of output ago. Sized max(window, keep) + 2 * BLOCK_MAX
 * and a margin, both promises hold. (The decoder handles the discontinuity at the
 * wrap itself: the older segment becomes its "external dictionary".)
 *
 * Frames follow each other; each starts the decoder afresh. Skippable frames are
 * skipped here, without the decoder, so a skippable frame that claims 4 GiB is
 * never buffered. A frame whose window is larger than the buffer gets a larger
 * buffer; the old one lives on until nothing lent from it can be in use.
 */
#define ZSTD_STATIC_LINKING_ONLY /* the buffer-less API; exported by libzstd.so */
#include "src_private.h"

#include "../correlate/hugepage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define BLOCK_MAX ((size_t)ZSTD_BLOCKSIZE_MAX)
#define WINDOW_LIMIT ((uint64_t)1 << ZSTD_WINDOWLOG_LIMIT_DEFAULT) /* as the streaming decoder */

struct retired {
    struct retired *next;
    char *buf;
    uint64_t free_after; /* once this many bytes are lent in all */
};

struct zst {
    struct src_reader base;
    struct src_reader *in;
    const struct src_options *opt;
    ZSTD_DCtx *dctx;

    /* Compressed side. */
    const char *ip;   /* unread part of the last chunk from in */
    size_t ilen;
    bool in_end;      /* in said end of input */
    char *stage;      /* a unit that spans chunks of in, put together */
    size_t stage_len;
    unsigned char hdr[ZSTD_FRAMEHEADERSIZE_MAX];
    size_t hdr_len;
    bool in_frame;    /* between a frame's header and its end */
    bool seen_frame;
    uint64_t frame_size; /* what the frame header declares, or ZSTD_CONTENTSIZE_UNKNOWN */
    uint64_t frame_out;
    uint64_t skip;    /* bytes of a skippable frame still to pass over */

    /* Decoded side. */
    char *ring;
    size_t ring_size;
    size_t wpos;      /* where the next block goes (moved to 0 when it will not fit) */
    const char *out;  /* decoded, not yet lent */
    size_t out_len;
    uint64_t lent;
    struct retired *retired;

    uint64_t consumed; /* compressed bytes, for the bomb guard */
    uint64_t produced;
};

/* More compressed bytes into ip/ilen: 1, 0 at the end of input, -1 with err. */
static int pull(struct zst *z, char err[SRC_ERRSZ])
{
    if (z->in_end)
        return 0;
    const char *p;
    long n = z->in->read(z->in, &p, err);
    if (n < 0)
        return -1;
    if (n == 0) {
        z->in_end = true;
        return 0;
    }
    z->ip = p;
    z->ilen = (size_t)n;
    return 1;
}

static int truncated(char err[SRC_ERRSZ])
{
    src_errf(err, "truncated zstd frame");
    return -1;
}

/* Copy compressed bytes into buf until it holds want: 1, 0 when the input ended
 * first, -1 with err. */
static int gather(struct zst *z, char *buf, size_t *have, size_t want, char err[SRC_ERRSZ])
{
    while (*have < want) {
        if (z->ilen == 0) {
            int r = pull(z, err);
            if (r <= 0)
                return r;
        }
        size_t n = want - *have < z->ilen ? want - *have : z->ilen;
        memcpy(buf + *have, z->ip, n);
        *have += n;
        z->ip += n;
        z->ilen -= n;
    }
    return 1;
}

/* Exactly need contiguous compressed bytes at *src: in place when the chunk holds
 * them, else put together in stage. 0, or -1 with err (end of input is truncation:
 * the decoder asked for them). */
static int take(struct zst *z, size_t need, const char **src, char err[SRC_ERRSZ])
{
    if (z->stage_len == 0 && z->ilen >= need) {
        *src = z->ip;
        z->ip += need;
        z->ilen -= need;
        z->consumed += need;
        return 0;
    }
    if (need > BLOCK_MAX + 8) {
        src_errf(err, "corrupt zstd data: block larger than %zu bytes", BLOCK_MAX);
        return -1;
    }
    int r = gather(z, z->stage, &z->stage_len, need, err);
    if (r <= 0)
        return r < 0 ? -1 : truncated(err);
    z->stage_len = 0;
    z->consumed += need;
    *src = z->stage;
    return 0;
}

/* Free the retired buffers nothing lent can still point into. */
static void reap(struct zst *z, bool all)
{
    struct retired **pp = &z->retired;
    while (*pp != NULL) {
        struct retired *r = *pp;
        if (all || z->lent >= r->free_after) {
            *pp = r->next;
            free(r->buf);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* A frame at least this large (or of unknown size) gets a ring backed by huge pages:
 * the decoder reaches back into the window all over, and with 4 KiB pages that cost
 * a twentieth of the time of a 256 MB frame. A small frame (an archive of many) is
 * not worth rounding the ring up to 4 MiB for. */
#define HUGE_FRAME ((uint64_t)32 << 20)

/* A round buffer that serves a window of window bytes. */
static int ensure_ring(struct zst *z, uint64_t window, uint64_t content, char err[SRC_ERRSZ])
{
    size_t base = window > SRC_LEND_KEEP ? (size_t)window : SRC_LEND_KEEP;
    size_t need = base + 2 * BLOCK_MAX + 4096;
    if (z->ring_size >= need)
        return 0;
    char *nb = content >= HUGE_FRAME ? hugepage_alloc(&need) : malloc(need);
    struct retired *r = z->ring != NULL ? malloc(sizeof *r) : NULL;
    if (nb == NULL || (z->ring != NULL && r == NULL)) {
        free(nb);
        free(r);
        src_errf(err, "%s", strerror(ENOMEM));
        return -1;
    }
    if (r != NULL) {
        r->buf = z->ring;
        r->free_after = z->lent + SRC_LEND_KEEP;
        r->next = z->retired;
        z->retired = r;
    }
    z->ring = nb;
    z->ring_size = need;
    z->wpos = 0;
    return 0;
}

/* A frame header into hdr and through the decoder; skippable frames are noted in
 * skip. 1 when a frame began, 0 at the clean end of input, -1 with err. */
static int begin_frame(struct zst *z, char err[SRC_ERRSZ])
{
    ZSTD_frameHeader fh;
    for (;;) {
        size_t want = ZSTD_getFrameHeader(&fh, z->hdr, z->hdr_len);
        if (ZSTD_isError(want)) {
            src_errf(err, "corrupt zstd data: %s", ZSTD_getErrorName(want));
            return -1;
        }
        if (want == 0)
            break;
        if (want > sizeof z->hdr)
            want = sizeof z->hdr;
        int r = gather(z, (char *)z->hdr, &z->hdr_len, want, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return z->hdr_len == 0 && z->seen_frame ? 0 : truncated(err);
    }
    z->seen_frame = true;
    z->consumed += z->hdr_len;
    if (fh.frameType == ZSTD_skippableFrame) {
        /* The header is all of hdr; what follows it is skipped. */
        z->skip = fh.frameContentSize;
        z->hdr_len = 0;
        return 1;
    }
    if (fh.windowSize > WINDOW_LIMIT) {
        src_errf(err, "corrupt zstd data: Frame requires too much memory for decoding");
        return -1;
    }
    if (ensure_ring(z, fh.windowSize, fh.frameContentSize, err) != 0)
        return -1;
    /* The decoder reads the header again, in the pieces it asks for. */
    size_t rc = ZSTD_decompressBegin(z->dctx);
    for (size_t off = 0; !ZSTD_isError(rc) && off < fh.headerSize;) {
        size_t n = ZSTD_nextSrcSizeToDecompress(z->dctx);
        if (n == 0 || off + n > fh.headerSize) {
            src_errf(err, "corrupt zstd data: frame header of %u bytes", fh.headerSize);
            return -1;
        }
        rc = ZSTD_decompressContinue(z->dctx, z->ring + z->wpos, 0, z->hdr + off, n);
        off += n;
    }
    if (ZSTD_isError(rc)) {
        src_errf(err, "corrupt zstd data: %s", ZSTD_getErrorName(rc));
        return -1;
    }
    z->hdr_len = 0;
    z->in_frame = true;
    z->frame_size = fh.frameContentSize;
    z->frame_out = 0;
    return 1;
}

/* Pass over what is left of a skippable frame. 0, or -1 with err. */
static int skip_frame(struct zst *z, char err[SRC_ERRSZ])
{
    while (z->skip > 0) {
        if (z->ilen == 0) {
            int r = pull(z, err);
            if (r < 0)
                return -1;
            if (r == 0)
                return truncated(err);
        }
        size_t n = z->skip < z->ilen ? (size_t)z->skip : z->ilen;
        z->ip += n;
        z->ilen -= n;
        z->skip -= n;
        z->consumed += n;
    }
    return 0;
}

/* Decode until out holds bytes: 1, 0 at the end, -1 with err. */
static int fill(struct zst *z, char err[SRC_ERRSZ])
{
    while (z->out_len == 0) {
        if (z->skip > 0 && skip_frame(z, err) != 0)
            return -1;
        if (!z->in_frame) {
            int r = begin_frame(z, err);
            if (r <= 0)
                return r;
            continue;
        }
        size_t need = ZSTD_nextSrcSizeToDecompress(z->dctx);
        if (need == 0) {
            /* The frame ended, its checksum checked. libzstd's block decoder
             * checks the declared size only when the last block holds data. */
            z->in_frame = false;
            if (z->frame_size != ZSTD_CONTENTSIZE_UNKNOWN && z->frame_out != z->frame_size) {
                src_errf(err, "corrupt zstd data: frame shorter than its header says");
                return -1;
            }
            continue;
        }
        const char *src;
        if (take(z, need, &src, err) != 0)
            return -1;
        if (z->wpos + BLOCK_MAX > z->ring_size)
            z->wpos = 0;
        char *dst = z->ring + z->wpos;
        size_t got = ZSTD_decompressContinue(z->dctx, dst, BLOCK_MAX, src, need);
        if (ZSTD_isError(got)) {
            src_errf(err, "corrupt zstd data: %s", ZSTD_getErrorName(got));
            return -1;
        }
        if (got > 0) {
            /* libzstd checks this at the frame's end; the streaming decoder, which
             * sizes its buffer by it, fails at the block. So do we: not a byte
             * beyond what the header promised is handed out. */
            z->frame_out += got;
            if (z->frame_size != ZSTD_CONTENTSIZE_UNKNOWN && z->frame_out > z->frame_size) {
                src_errf(err, "corrupt zstd data: frame longer than its header says");
                return -1;
            }
            z->wpos += got;
            z->out = dst;
            z->out_len = got;
            z->produced += got;
            if (src_ratio_exceeded(z->opt, z->consumed, z->produced, err))
                return -1;
        }
    }
    return 1;
}

static long zst_lend(struct src_reader *r, const char **data, size_t max, char err[SRC_ERRSZ])
{
    struct zst *z = (struct zst *)r;
    int rc = fill(z, err);
    if (rc <= 0)
        return rc;
    size_t n = z->out_len < max ? z->out_len : max;
    *data = z->out;
    z->out += n;
    z->out_len -= n;
    z->lent += n;
    if (z->retired != NULL)
        reap(z, false);
    return (long)n;
}

static long zst_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ])
{
    struct zst *z = (struct zst *)r;
    return zst_lend(r, data, z->opt->chunk_size, err);
}

static void zst_close(struct src_reader *r)
{
    struct zst *z = (struct zst *)r;
    if (z == NULL)
        return;
    reap(z, true);
    ZSTD_freeDCtx(z->dctx);
    free(z->ring);
    free(z->stage);
    free(z);
}

struct src_reader *src_zstd_new(struct src_reader *in, const struct src_options *opt,
                                char err[SRC_ERRSZ])
{
    struct zst *z = calloc(1, sizeof *z);
    if (z == NULL)
        goto nomem;
    z->stage = malloc(BLOCK_MAX + 8);
    z->dctx = ZSTD_createDCtx();
    if (z->stage == NULL || z->dctx == NULL)
        goto nomem;
    z->base.read = zst_read;
    z->base.lend = zst_lend;
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
