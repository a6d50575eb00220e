/* archive.c -- libarchive over a chain link: archives member by member, and the
 * compressions libzstd does not cover (gzip, xz, bzip2, lz4, ...).
 *
 * libarchive reads through callbacks from the link below, so it sees exactly the
 * bytes our file layer already holds (the sniffing window is not read twice) and a
 * nested member (a .gz inside a tar) is decoded the same way as a file on disk.
 * Member data is handed out with archive_read_data_block: the blocks libarchive
 * already has, no copy and nothing extracted.
 *
 * The formats are listed one by one instead of archive_read_support_format_all:
 * the mtree reader in "all" claims ordinary text ("Missing type keyword in mtree
 * specification" for a gzipped log), so it is left out.
 */
#include "src_private.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct arc_data {
    struct src_reader base;
    struct src_arc *arc;
};

struct src_arc {
    struct archive *a;
    struct src_reader *in;
    struct src_fd *seek;
    const struct src_options *opt;
    bool dead;        /* a fatal error: libarchive cannot go on */
    bool started;     /* the first header has been read */
    bool single;      /* no archive format: the entry is the decoded file */
    bool at_end;      /* the last header has been read */
    char in_err[SRC_ERRSZ]; /* why the link below failed; truer than libarchive's echo */
    bool in_failed;
    uint64_t produced; /* entry bytes handed out, all entries: the bomb guard's output */

    /* The current entry. */
    struct arc_data data;
    const char *pend;  /* a block fetched (by peek or around a hole) not handed out */
    size_t pend_len;
    uint64_t gap;      /* zeros to hand out before pend: a sparse file's hole */
    int64_t next_off;  /* entry offset of the byte after the last block fetched */
    int64_t size;      /* entry size, -1 when the format does not say */
    bool eof;          /* libarchive reported the end of the entry */
    char *name;
    size_t name_cap;
};

/* Holes of sparse members are handed out from here. */
static const char zeros[16384];

static la_ssize_t arc_read_cb(struct archive *a, void *client, const void **buf)
{
    struct src_arc *x = client;
    const char *p;
    long n = x->in->read(x->in, &p, x->in_err);
    if (n < 0) {
        x->in_failed = true;
        archive_set_error(a, EIO, "%s", x->in_err);
        return -1;
    }
    *buf = p;
    return (la_ssize_t)n;
}

static la_int64_t arc_seek_cb(struct archive *a, void *client, la_int64_t offset, int whence)
{
    struct src_arc *x = client;
    int64_t r = src_fd_seek(x->seek, offset, whence);
    if (r < 0) {
        archive_set_error(a, errno ? errno : EIO, "cannot seek: %s", strerror(errno ? errno : EIO));
        return ARCHIVE_FATAL;
    }
    return r;
}

static void support_archive_formats(struct archive *a)
{
    /* Return values are ignored on purpose: a format libarchive was built without
     * (xar needs libxml2) only means that format is not recognised. */
    archive_read_support_format_7zip(a);
    archive_read_support_format_ar(a);
    archive_read_support_format_cab(a);
    archive_read_support_format_cpio(a);
    archive_read_support_format_empty(a);
    archive_read_support_format_iso9660(a);
    archive_read_support_format_lha(a);
    archive_read_support_format_rar(a);
    archive_read_support_format_rar5(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_warc(a);
    archive_read_support_format_xar(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_raw(a);
}

static void arc_error(const struct src_arc *x, char err[SRC_ERRSZ])
{
    if (x->in_failed) {
        src_errf(err, "%s", x->in_err);
        return;
    }
    const char *msg = archive_error_string(x->a);
    src_errf(err, "%s", msg != NULL && *msg ? msg : "unreadable archive data");
}

static long data_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ]);

struct src_arc *src_arc_new(struct src_reader *in, struct src_fd *seek, enum src_arc_mode mode,
                            const struct src_options *opt, char err[SRC_ERRSZ])
{
    struct src_arc *x = calloc(1, sizeof *x);
    if (x == NULL || (x->a = archive_read_new()) == NULL) {
        free(x);
        src_errf(err, "%s", strerror(ENOMEM));
        return NULL;
    }
    x->in = in;
    x->seek = seek != NULL && seek->seekable ? seek : NULL;
    x->opt = opt;
    x->data.base.read = data_read;
    x->data.base.close = NULL; /* the entry reader lives inside the archive */
    x->data.arc = x;
    x->size = -1;
    archive_read_support_filter_all(x->a);
    if (mode == SRC_ARC_ARCHIVE) {
        support_archive_formats(x->a);
    } else {
        archive_read_support_format_empty(x->a);
        archive_read_support_format_raw(x->a);
    }
    archive_read_set_read_callback(x->a, arc_read_cb);
    if (x->seek != NULL)
        archive_read_set_seek_callback(x->a, arc_seek_cb);
    archive_read_set_callback_data(x->a, x);
    if (archive_read_open1(x->a) != ARCHIVE_OK) {
        arc_error(x, err);
        src_arc_free(x);
        return NULL;
    }
    return x;
}

static bool format_is_single(struct archive *a)
{
    int f = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;
    return f == ARCHIVE_FORMAT_RAW || f == ARCHIVE_FORMAT_EMPTY;
}

/* The member name as users know it: "logs/app.log", not "./logs/app.log". */
static int set_name(struct src_arc *x, struct archive_entry *e)
{
    const char *p = archive_entry_pathname_utf8(e);
    if (p == NULL)
        p = archive_entry_pathname(e);
    if (p == NULL)
        p = "?";
    for (;;) {
        if (p[0] == '.' && p[1] == '/')
            p += 2;
        else if (p[0] == '/' && p[1] != '\0')
            p++;
        else
            break;
    }
    size_t n = strlen(p) + 1;
    if (n > x->name_cap) {
        char *nn = realloc(x->name, n);
        if (nn == NULL)
            return -1;
        x->name = nn;
        x->name_cap = n;
    }
    memcpy(x->name, p, n);
    return 0;
}

int src_arc_next(struct src_arc *x, const char **name, char err[SRC_ERRSZ])
{
    if (x->dead) {
        src_errf(err, "archive cannot be read further");
        return -1;
    }
    /* libarchive refuses another header call after its end. */
    if (x->at_end)
        return 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(x->a, &e);
        if (!x->started) {
            x->started = true;
            x->single = format_is_single(x->a);
        }
        if (r == ARCHIVE_EOF) {
            /* An empty single file reads as an entry already at its end. */
            x->eof = true;
            x->at_end = true;
            return 0;
        }
        if (r < ARCHIVE_WARN) {
            arc_error(x, err);
            /* FAILED means this header is unusable but the next may be fine. */
            if (r == ARCHIVE_FATAL)
                x->dead = true;
            return -1;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        /* A hard link's data is stored with the file it links to, read already. */
        if (archive_entry_hardlink(e) != NULL && archive_entry_size(e) == 0)
            continue;
        if (set_name(x, e) != 0) {
            src_errf(err, "%s", strerror(ENOMEM));
            return -1;
        }
        x->pend = NULL;
        x->pend_len = 0;
        x->gap = 0;
        x->next_off = 0;
        x->size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        x->eof = false;
        *name = x->name;
        return 1;
    }
}

bool src_arc_dead(const struct src_arc *x)
{
    return x->dead;
}

bool src_arc_is_single(const struct src_arc *x)
{
    return x->single;
}

struct src_reader *src_arc_data(struct src_arc *x)
{
    return &x->data.base;
}

int64_t src_arc_entry_size(const struct src_arc *x)
{
    return x->size;
}

/* Make the next bytes of the entry available as gap or pend; 0 at its end. */
static int fetch(struct src_arc *x, char err[SRC_ERRSZ])
{
    while (x->gap == 0 && x->pend_len == 0 && !x->eof) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(x->a, &buf, &size, &off);
        if (r == ARCHIVE_EOF) {
            x->eof = true;
            /* A sparse file may end in a hole. */
            if (x->size > x->next_off) {
                x->gap = (uint64_t)(x->size - x->next_off);
                x->next_off = x->size;
            }
            break;
        }
        if (r < ARCHIVE_WARN) {
            arc_error(x, err);
            if (r == ARCHIVE_FATAL)
                x->dead = true;
            return -1;
        }
        if (off > x->next_off)
            x->gap = (uint64_t)(off - x->next_off);
        x->pend = buf;
        x->pend_len = size;
        x->next_off = off + (la_int64_t)size;
    }
    return x->gap > 0 || x->pend_len > 0;
}

long src_arc_peek(struct src_arc *x, const char **data, char err[SRC_ERRSZ])
{
    int r = fetch(x, err);
    if (r <= 0)
        return r;
    if (x->gap > 0) {
        *data = zeros;
        return (long)(x->gap < sizeof zeros ? x->gap : sizeof zeros);
    }
    *data = x->pend;
    return (long)x->pend_len;
}

static long data_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ])
{
    struct src_arc *x = ((struct arc_data *)r)->arc;
    int f = fetch(x, err);
    if (f <= 0)
        return f;
    size_t n;
    if (x->gap > 0) {
        n = x->gap < sizeof zeros ? (size_t)x->gap : sizeof zeros;
        x->gap -= n;
        *data = zeros;
    } else {
        n = x->pend_len;
        *data = x->pend;
        x->pend_len = 0;
    }
    x->produced += n;
    if (src_ratio_exceeded(x->opt, (uint64_t)archive_filter_bytes(x->a, -1), x->produced, err)) {
        /* Going on would only decode more of the bomb. */
        x->dead = true;
        return -1;
    }
    return (long)n;
}

void src_arc_release(void *arc)
{
    src_arc_free(arc);
}

void src_arc_free(struct src_arc *x)
{
    if (x == NULL)
        return;
    archive_read_free(x->a);
    free(x->name);
    free(x);
}

/* The decoded bytes of a window (the whole file) are nothing but zeros, and not many:
 * what an empty tar is, and what a log with a NUL prefix (copytruncate rotation) is
 * not. libarchive calls both an empty tar. */
static bool decodes_to_zero_blocks(const void *buf, size_t n)
{
    struct archive *a = archive_read_new();
    if (a == NULL)
        return false;
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    archive_read_support_format_empty(a);
    bool only_zeros = false;
    struct archive_entry *e;
    if (archive_read_open_memory(a, buf, n) == ARCHIVE_OK &&
        archive_read_next_header(a, &e) == ARCHIVE_OK) {
        char tmp[4096];
        size_t total = 0;
        for (;;) {
            la_ssize_t k = archive_read_data(a, tmp, sizeof tmp);
            if (k < 0)
                break;
            if (k == 0) {
                only_zeros = true;
                break;
            }
            size_t i;
            for (i = 0; i < (size_t)k && tmp[i] == 0; i++)
                ;
            total += (size_t)k;
            if (i < (size_t)k || total > SRC_SNIFF_BYTES)
                break;
        }
    }
    archive_read_free(a);
    return only_zeros;
}

enum src_probe src_arc_probe(const void *buf, size_t n, bool whole)
{
    struct archive *a = archive_read_new();
    if (a == NULL)
        return SRC_PROBE_UNKNOWN;
    archive_read_support_filter_all(a);
    support_archive_formats(a);
    enum src_probe verdict = SRC_PROBE_UNKNOWN;
    struct archive_entry *e;
    if (archive_read_open_memory(a, buf, n) == ARCHIVE_OK) {
        int r = archive_read_next_header(a, &e);
        int fmt = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;
        if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
            verdict = format_is_single(a) ? SRC_PROBE_SINGLE : SRC_PROBE_ARCHIVE;
        else if (r == ARCHIVE_EOF && format_is_single(a))
            verdict = SRC_PROBE_SINGLE;
        else if (r == ARCHIVE_EOF && fmt != ARCHIVE_FORMAT_TAR)
            verdict = SRC_PROBE_EMPTY;
        else if (r == ARCHIVE_EOF)
            verdict = whole && decodes_to_zero_blocks(buf, n) ? SRC_PROBE_EMPTY : SRC_PROBE_SINGLE;
    }
    archive_read_free(a);
    return verdict;
}
