/* stream.c -- what a consumer sees of a chain: chunks, peek, error, progress.
 *
 * Chunks are handed out zero-copy from the top link. Peek is the one place bytes
 * are copied: when the caller wants more than the current chunk holds, chunks are
 * gathered in a peek buffer, and reads drain that buffer before going back to the
 * chain, so peeking never changes what is read.
 */
#include "src_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct src_stream {
    char *name;
    struct src_reader *top;
    struct src_fd *raw;
    const struct src_options *opt;
    struct {
        src_free_fn fn;
        void *obj;
    } owned[SRC_MAX_LAYERS];
    int nowned;
    struct src_ra *ra;
    bool ra_tried;
    src_note_fn note_fn;   /* asked for before the ring existed */
    size_t note_cap;
    const void *note;      /* of the chunk in cur */
    bool note_from_pb;     /* the last read came from pb: no note */

    /* The chunk last fetched from the chain, cur[cur_pos..cur_len) not yet read. */
    const char *cur;
    size_t cur_len, cur_pos;
    /* Bytes gathered by peek; they come before the rest of cur. */
    char *pb;
    size_t pb_cap, pb_len, pb_pos;

    int state; /* 0 reading, 1 at end, -1 failed */
    char err[SRC_ERRSZ];
    uint64_t done, total;
};

void src_errf(char err[SRC_ERRSZ], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SRC_ERRSZ, fmt, ap);
    va_end(ap);
}

void src_options_resolve(struct src_options *dst, const struct src_options *src)
{
    struct src_options o = {0};
    if (src != NULL)
        o = *src;
    if (o.chunk_size == 0)
        o.chunk_size = SRC_CHUNK_DEFAULT;
    if (o.max_ratio == 0)
        o.max_ratio = SRC_RATIO_DEFAULT;
    if (o.ratio_grace == 0)
        o.ratio_grace = SRC_GRACE_DEFAULT;
    *dst = o;
}

bool src_ratio_exceeded(const struct src_options *opt, uint64_t in, uint64_t out,
                        char err[SRC_ERRSZ])
{
    if (out <= opt->ratio_grace)
        return false;
    /* out > ratio * in, without overflowing the product. */
    if (in > UINT64_MAX / opt->max_ratio || out <= in * opt->max_ratio)
        return false;
    src_errf(err, "decompression ratio exceeds %llu:1 (possible decompression bomb)",
             (unsigned long long)opt->max_ratio);
    return true;
}

struct src_stream *src_stream_new(const char *name, struct src_reader *top, struct src_fd *raw,
                                  const struct src_options *opt, char err[SRC_ERRSZ])
{
    struct src_stream *s = calloc(1, sizeof *s);
    if (s == NULL || (s->name = strdup(name)) == NULL) {
        free(s);
        src_errf(err, "%s: %s", name, strerror(ENOMEM));
        return NULL;
    }
    s->top = top;
    s->raw = raw;
    s->opt = opt;
    s->err[0] = '\0';
    if (raw != NULL) {
        s->done = raw->done;
        s->total = raw->total;
    }
    return s;
}

void src_stream_own(struct src_stream *s, src_free_fn fn, void *obj)
{
    s->owned[s->nowned].fn = fn;
    s->owned[s->nowned].obj = obj;
    s->nowned++;
}

void src_stream_release(void *stream)
{
    src_stream_free(stream);
}

void src_reader_close(void *link)
{
    struct src_reader *r = link;
    r->close(r);
}

void src_stream_free(struct src_stream *s)
{
    if (s == NULL)
        return;
    /* The thread may be inside the chain: stop it before closing any link. */
    src_ra_stop(s->ra);
    for (int i = s->nowned - 1; i >= 0; i--)
        s->owned[i].fn(s->owned[i].obj);
    free(s->pb);
    free(s->name);
    free(s);
}

const char *src_stream_name(const struct src_stream *s)
{
    return s->name;
}

const char *src_stream_error(const struct src_stream *s)
{
    return s->err;
}

void src_stream_progress(const struct src_stream *s, uint64_t *done, uint64_t *total)
{
    uint64_t d = s->done;
    /* Seeks (a zip's directory is read from the end) can count bytes twice. */
    if (s->total != 0 && d > s->total)
        d = s->total;
    if (done != NULL)
        *done = d;
    if (total != NULL)
        *total = s->total;
}

/* The next chunk from the chain (or its thread) into cur; the state on 0 or -1. */
static long fetch(struct src_stream *s)
{
    if (s->state != 0)
        return s->state == 1 ? 0 : -1;
    /* readahead_decoded_only: a plain file is read in place by the caller's thread;
     * only decompression earns a thread of its own. */
    if (!s->ra_tried && (s->opt->readahead_coop || (s->opt->readahead && !(s->opt->readahead_decoded_only &&
                                                                          (const void *)s->top == (const void *)s->raw)))) {
        s->ra_tried = true;
        unsigned slots = s->opt->readahead_slots ? s->opt->readahead_slots : SRC_RA_SLOTS;
        s->ra = src_ra_start(s->top, s->raw, s->opt->chunk_size, slots, s->opt->readahead_coop);
        if (s->ra != NULL && s->note_fn != NULL && src_ra_set_note(s->ra, s->note_fn, s->note_cap) != 0)
            s->note_fn = NULL;
    }
    char why[SRC_ERRSZ] = "";
    const char *p = NULL;
    long n;
    s->note = NULL;
    if (s->ra != NULL) {
        n = src_ra_next(s->ra, &p, &s->note, &s->done, why);
    } else {
        n = s->top->read(s->top, &p, why);
        if (s->raw != NULL)
            s->done = s->raw->done;
    }
    if (n < 0) {
        src_errf(s->err, "%s: %s", s->name, why[0] ? why : "read failed");
        s->state = -1;
        return -1;
    }
    if (n == 0) {
        s->state = 1;
        return 0;
    }
    s->cur = p;
    s->cur_len = (size_t)n;
    s->cur_pos = 0;
    return n;
}

const void *src_stream_note(const struct src_stream *s, const char **base, size_t *len)
{
    if (s->note_from_pb || s->note == NULL)
        return NULL;
    *base = s->cur;
    *len = s->cur_len;
    return s->note;
}

int src_stream_set_note(struct src_stream *s, src_note_fn fn, size_t cap)
{
    if (s->ra == NULL) {
        /* Not read ahead (yet): the ring takes it when it starts. */
        s->note_fn = fn;
        s->note_cap = cap;
        return 0;
    }
    return src_ra_set_note(s->ra, fn, cap);
}

bool src_stream_decoded(const struct src_stream *s)
{
    return (const void *)s->top != (const void *)s->raw;
}

int src_stream_help(struct src_stream *s)
{
    return s->ra != NULL ? src_ra_help(s->ra) : 0;
}

long src_stream_read(struct src_stream *s, const char **data)
{
    /* What peek gathered comes first, then the rest of the chunk it came from. */
    if (s->pb_pos < s->pb_len) {
        *data = s->pb + s->pb_pos;
        long n = (long)(s->pb_len - s->pb_pos);
        s->pb_pos = s->pb_len = 0;
        s->note_from_pb = true;
        return n;
    }
    s->note_from_pb = false;
    if (s->cur_pos == s->cur_len) {
        long n = fetch(s);
        if (n <= 0)
            return n;
    }
    *data = s->cur + s->cur_pos;
    long n = (long)(s->cur_len - s->cur_pos);
    s->cur_pos = s->cur_len;
    return n;
}

long src_stream_peek(struct src_stream *s, size_t want, const char **data)
{
    if (want > SRC_PEEK_MAX)
        want = SRC_PEEK_MAX;
    if (want == 0) {
        *data = "";
        return 0;
    }
    size_t have = s->pb_len - s->pb_pos;
    if (have == 0 && s->cur_len - s->cur_pos >= want) {
        /* The common case: the current chunk already holds it, no copy. */
        *data = s->cur + s->cur_pos;
        return (long)want;
    }
    if (have >= want) {
        *data = s->pb + s->pb_pos;
        return (long)want;
    }
    if (s->pb_cap < want) {
        char *nb = malloc(want);
        if (nb == NULL) {
            src_errf(s->err, "%s: %s", s->name, strerror(ENOMEM));
            return -1;
        }
        if (have > 0)
            memcpy(nb, s->pb + s->pb_pos, have);
        free(s->pb);
        s->pb = nb;
        s->pb_cap = want;
    } else if (s->pb_pos > 0) {
        memmove(s->pb, s->pb + s->pb_pos, have);
    }
    s->pb_pos = 0;
    s->pb_len = have;
    /* Move bytes from the chain into pb until it holds want; what is left of the last
     * chunk stays in cur, behind pb, valid until the next fetch. */
    while (s->pb_len < want) {
        if (s->cur_pos == s->cur_len) {
            long n = fetch(s);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
        }
        size_t take = s->cur_len - s->cur_pos;
        if (take > want - s->pb_len)
            take = want - s->pb_len;
        memcpy(s->pb + s->pb_len, s->cur + s->cur_pos, take);
        s->pb_len += take;
        s->cur_pos += take;
    }
    *data = s->pb;
    return (long)s->pb_len;
}
