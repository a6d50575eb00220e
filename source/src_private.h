/* src_private.h -- the pieces behind source.h, shared by the files of source/.
 *
 * A stream is a chain of readers: the bottom reads a file descriptor (file.c), the
 * links above decode (zstd.c: libzstd streaming; archive.c: libarchive filters and
 * formats), and the stream (stream.c) adds peek, error and progress on top, with an
 * optional second thread that runs the chain ahead of the consumer (readahead.c).
 * walk.c turns a user path into files, sniffs each one (sniff.c) and builds chains.
 *
 * Every reader hands out chunks it owns: the pointer stays valid until the next call
 * on the same reader. Reader errors are the reason alone ("truncated zstd frame");
 * the stream prefixes the stream name.
 */
#ifndef PYCORR_SRC_PRIVATE_H
#define PYCORR_SRC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

#define SRC_CHUNK_DEFAULT ((size_t)256 << 10)
#define SRC_RATIO_DEFAULT 1000
#define SRC_GRACE_DEFAULT ((uint64_t)64 << 20)

/* Compressed bytes looked at to tell a .tar.zst from a plain .zst: one zstd block
 * (at most 128 KiB compressed) plus frame headers, so the first decoded bytes are
 * always inside the window. */
#define SRC_PROBE_WINDOW ((size_t)160 << 10)

/* One link of a chain. read returns a chunk length (> 0) with *data set, 0 at end,
 * or -1 with the reason in err. close frees the link itself, never the link below:
 * whoever built a chain closes it top-down. */
struct src_reader {
    long (*read)(struct src_reader *r, const char **data, char err[SRC_ERRSZ]);
    /* Optional: the same bytes as read, up to cap of them written to buf instead of
     * handed out, so a read-ahead slot is filled without a copy. The two may be
     * mixed: each returns the bytes that follow the last either returned. */
    long (*read_into)(struct src_reader *r, char *buf, size_t cap, char err[SRC_ERRSZ]);
    /* Optional: as read, at most max bytes, with a longer promise: the bytes stay
     * unchanged until SRC_LEND_KEEP more have been handed out (by any of the three),
     * so a read-ahead ring can keep pointing at them instead of copying them. */
    long (*lend)(struct src_reader *r, const char **data, size_t max, char err[SRC_ERRSZ]);
    void (*close)(struct src_reader *r);
};

/* How many bytes a lent view outlives; a read-ahead ring of nslots chunks may
 * borrow only if nslots * chunk stays within it. */
#define SRC_LEND_KEEP ((size_t)2 << 20)

/* Options with the zero defaults replaced; what every link sees. */
void src_options_resolve(struct src_options *dst, const struct src_options *src);

/* True when out bytes decoded from in bytes break the bomb guard; err then says so. */
bool src_ratio_exceeded(const struct src_options *opt, uint64_t in, uint64_t out,
                        char err[SRC_ERRSZ]);

/* Copy a printf-formatted message into err (always NUL-terminated). */
void src_errf(char err[SRC_ERRSZ], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- file.c: the bottom link, read(2) on a descriptor ---- */

struct src_fd {
    struct src_reader base;
    int fd;
    bool close_fd;   /* false for stdin */
    bool seekable;   /* a regular file: libarchive may seek (zip, 7z directories) */
    char *buf;
    size_t cap;
    size_t len, pos; /* buf[pos..len) is read from disk but not yet handed out */
    uint64_t off;    /* file offset of buf[len] */
    uint64_t done;   /* bytes handed out: the progress of the file */
    uint64_t total;  /* on-disk size, 0 when unknown */
};

/* Take over fd (closed by close unless it is stdin). NULL when out of memory (fd is
 * closed then). */
struct src_fd *src_fd_new(int fd, size_t chunk, char err[SRC_ERRSZ]);

/* Make sure at least want bytes (fewer only at end of file) sit unread at the front
 * of the buffer and point *data at them; nothing is consumed. -1 on a read error. */
long src_fd_peek(struct src_fd *f, size_t want, const char **data, char err[SRC_ERRSZ]);

/* Reposition a seekable descriptor (whence as lseek); returns the new offset or -1. */
int64_t src_fd_seek(struct src_fd *f, int64_t offset, int whence);

/* ---- sniff.c: what the first bytes are ---- */

enum src_magic {
    SRC_MAGIC_NONE,    /* plain bytes */
    SRC_MAGIC_ZSTD,    /* zstd frame or skippable frame */
    SRC_MAGIC_GZIP,
    SRC_MAGIC_FILTER,  /* another compression libarchive knows (xz, bzip2, lz4, ...) */
    SRC_MAGIC_ARCHIVE, /* an archive format libarchive knows (tar, zip, cpio, 7z, ...) */
};

/* at_eof: the n bytes are the whole file. */
enum src_magic src_sniff(const unsigned char *p, size_t n, bool at_eof);

/* Bytes src_sniff is shown: a tar header, and the largest common empty tar (zero
 * blocks padded to a 64 KiB record). */
#define SRC_SNIFF_BYTES ((size_t)64 << 10)

/* ---- zstd.c: libzstd's block decoder over any link; it lends ---- */

/* A decoder reading compressed bytes from in (not owned). NULL on failure. */
struct src_reader *src_zstd_new(struct src_reader *in, const struct src_options *opt,
                                char err[SRC_ERRSZ]);

/* ---- archive.c: libarchive over any link ---- */

struct src_arc;

enum src_arc_mode {
    SRC_ARC_ARCHIVE, /* formats and filters: one entry per member */
    SRC_ARC_FILTER,  /* filters with the raw format only: one entry, the decoded bytes */
};

/* Open libarchive reading from in (not owned). seek, when not NULL, is the same file
 * as in and lets zip and 7z read their directories. NULL with err on failure. */
struct src_arc *src_arc_new(struct src_reader *in, struct src_fd *seek, enum src_arc_mode mode,
                            const struct src_options *opt, char err[SRC_ERRSZ]);

/* Advance to the next regular member: 1 with *name set (valid until the next call),
 * 0 at the end, -1 with err. After -1, src_arc_dead() says whether the archive can go
 * on (a bad header) or not (corrupt or truncated stream). Non-regular entries are
 * skipped. */
int src_arc_next(struct src_arc *a, const char **name, char err[SRC_ERRSZ]);
bool src_arc_dead(const struct src_arc *a);

/* After the first src_arc_next: true when libarchive found no archive format (the
 * raw format, or an empty file), so the one entry is a single decoded file. */
bool src_arc_is_single(const struct src_arc *a);

/* The data of the current entry (owned by a, valid until the next src_arc_next).
 * src_arc_peek shows the first block without consuming it. */
struct src_reader *src_arc_data(struct src_arc *a);
/* The current entry's size as its header says, or -1 when the format does not say. */
int64_t src_arc_entry_size(const struct src_arc *a);
long src_arc_peek(struct src_arc *a, const char **data, char err[SRC_ERRSZ]);

void src_arc_free(struct src_arc *a);

/* What libarchive makes of the first n bytes of a file (whole: that is all of it),
 * held in memory, so nothing is consumed. */
enum src_probe {
    SRC_PROBE_UNKNOWN, /* libarchive failed on the window: let the real read decide */
    SRC_PROBE_ARCHIVE, /* an archive with a first member */
    SRC_PROBE_EMPTY,   /* an archive without members */
    SRC_PROBE_SINGLE,  /* one compressed file (raw format) */
};
enum src_probe src_arc_probe(const void *buf, size_t n, bool whole);

/* ---- stream.c ---- */

#define SRC_MAX_LAYERS 4

/* A stream named name reading from top. raw is the bottom link for progress (may be
 * NULL); what it is given with src_stream_own is freed by src_stream_free. NULL with
 * err when out of memory. */
struct src_stream *src_stream_new(const char *name, struct src_reader *top, struct src_fd *raw,
                                  const struct src_options *opt, char err[SRC_ERRSZ]);
/* Hand obj to the stream: fn(obj) runs when the stream is freed, in reverse order of
 * hand-over, so a link goes before the link below it. At most SRC_MAX_LAYERS. */
typedef void (*src_free_fn)(void *obj);
void src_stream_own(struct src_stream *s, src_free_fn fn, void *obj);
/* A src_free_fn for any link. */
void src_reader_close(void *link);
/* A src_free_fn for a src_arc. */
void src_arc_release(void *arc);
/* A src_free_fn for a stream (one a nested archive's raw entry reads through). */
void src_stream_release(void *stream);
/* Stop readahead, close owned links, free. Accepts NULL. */
void src_stream_free(struct src_stream *s);

/* ---- readahead.c: a ring of chunks read ahead ---- */

struct src_ra;

/* A ring of nslots chunks of chunk bytes read ahead from top. Without coop a thread
 * of its own fills it and owns the chain (top down to raw) until src_ra_stop
 * returns; with coop the consumer reads what it needs itself and src_ra_help lets
 * any other thread read ahead. NULL when out of memory or the thread cannot start:
 * the caller then reads synchronously. */
#define SRC_RA_SLOTS 4
struct src_ra *src_ra_start(struct src_reader *top, const struct src_fd *raw, size_t chunk, unsigned nslots,
                            bool coop);

/* The next chunk in order, as src_reader.read; *done is the raw progress at the time
 * the chunk was produced, *note the chunk's note when one was made in time (NULL
 * otherwise). Blocks until the chunk is there (reading it here in coop mode). */
long src_ra_next(struct src_ra *ra, const char **data, const void **note, uint64_t *done, char err[SRC_ERRSZ]);

/* Have fn note each chunk read ahead from now on (cap bytes of note per chunk).
 * Called by the consumer. -1 when out of memory (no notes then). */
int src_ra_set_note(struct src_ra *ra, src_note_fn fn, size_t cap);

/* From any thread but the consumer's: read a run of chunks ahead (coop mode) or note one.
 * 1 when it did, 0 when there was nothing to do. Safe against the consumer's calls,
 * not against src_ra_stop. */
int src_ra_help(struct src_ra *ra);

/* Cancel the thread or wait for a helper, free the ring. Accepts NULL. */
void src_ra_stop(struct src_ra *ra);

#endif
