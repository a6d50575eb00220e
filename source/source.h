/* source.h -- where bytes come from: files, stdin, directories, compressed files and
 * archives, handed out as a sequence of named byte streams.
 *
 * A user path expands to streams: a plain file or "-" is one stream; a directory is
 * every regular file below it (recursive, sorted by name in byte order, hidden
 * entries skipped, links to files followed, links to directories not followed);
 * zstd is decompressed with libzstd streaming (multi-frame, skippable frames);
 * gzip, xz, bzip2, lz4 (and the other filters libarchive has) through libarchive's
 * raw format; an archive (tar, tar.*, zip, cpio, 7z, ... as libarchive reads them)
 * yields one stream per regular member, in archive order, read in place and named
 * "archive!member" (a leading "./" dropped). A member that is itself compressed is
 * decoded one level; a member that is an archive (compressed or not: a logs.tar.gz or
 * a zip inside a CI tarball) is opened one level deep, its members named
 * "archive!member!inner" and read before the outer archive goes on; an archive inside
 * that one is handed out as it is. Formats are found
 * by magic bytes, never by name: a .zst that holds a tar is an archive, text named
 * .zst is text. An empty archive yields no streams; an empty compressed file yields
 * one empty stream. Nothing is extracted to disk.
 *
 * Decompressed output is bounded: a stream whose output exceeds max_ratio times its
 * compressed input (after the first ratio_grace bytes) is cut with the error
 * "NAME: decompression ratio exceeds 1000:1 (possible decompression bomb)", so a bomb
 * costs bounded time; inside an archive the ratio is counted over all members so far
 * and the rest of the archive is skipped. Memory is bounded by the chunk size (a few
 * chunks with readahead, plus a peek of at most SRC_PEEK_MAX).
 *
 * With readahead, reading and decompressing run on a second thread, a few chunks
 * ahead of the caller; the bytes are the same. Closing a stream midway (the next
 * src_walk_next, src_walk_close) stops that thread; on a pipe it first waits for the
 * read(2) in flight. With readahead_coop there is no such thread: the reader reads
 * what it needs, and another thread may read ahead in its idle time through
 * src_stream_help. The functions of one walk and its streams are called from one
 * thread at a time (src_stream_help excepted); different walks are independent.
 *
 * Errors are returned, never printed: a path that cannot be opened fails
 * src_walk_open/src_walk_next with a message; a stream that fails midway returns -1
 * from src_stream_read with the message in src_stream_error(). Every message starts
 * with the name it concerns ("app.log.zst: truncated zstd frame").
 */
#ifndef PYCORR_SOURCE_H
#define PYCORR_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct src_options {
    size_t chunk_size;      /* bytes per read; 0 = 256 KiB */
    uint64_t max_ratio;     /* decompression bomb guard; 0 = 1000 */
    uint64_t ratio_grace;   /* output allowed before the ratio applies; 0 = 64 MiB */
    bool readahead;         /* read/decompress on a second thread */
    bool readahead_decoded_only; /* ...but only when the stream is decompressed */
    bool readahead_coop;    /* read ahead with no thread of its own: src_stream_help */
    unsigned readahead_slots; /* chunks read ahead; 0 = 4 */
};

/* What a parser works out from one chunk's bytes alone, on whichever thread is idle
 * (src_stream_help): fn writes at most cap bytes to note. It must read nothing but
 * chunk[0..len) and note, and keep no pointer to either.
 *
 * A note is made while the chunk is read: fn may run on the chunk the reader holds,
 * at the same time as the reader reads both the chunk and the note, and the reader
 * gets a chunk's note whether or not fn has run yet. The first SRC_NOTE_ZEROED
 * bytes of a note (64-byte aligned) are zero until fn first runs on the chunk, so
 * the note's own format says how far it is made, and the reader can say how far it
 * has come. fn runs at most once per chunk, and the slot is not filled again until
 * it returns. */
typedef void (*src_note_fn)(const char *chunk, size_t len, void *note, size_t cap);
#define SRC_NOTE_ZEROED 128

struct src_walk;
struct src_stream;

#define SRC_ERRSZ 512

/* Start expanding one user path ("-" = stdin). Returns NULL with a message in err
 * ("app.log: No such file or directory") when the path cannot be opened at all: a
 * file is opened and a directory listed here, before any stream. opt may be NULL
 * for the defaults; it is copied. */
struct src_walk *src_walk_open(const char *path, const struct src_options *opt, char err[SRC_ERRSZ]);

/* The next stream of the walk: 1 and *out set (owned by the walk, valid until the next
 * call to src_walk_next or src_walk_close); 0 when the walk is done (and on every call
 * after); -1 on an error that skips one entry (an unreadable file in a directory, a
 * dangling link, a file libarchive cannot open, a corrupt archive member header):
 * err holds "name: reason" and the walk can go on with the next call. Sniffing reads
 * the first bytes of a file here, so a read error may show up here too. */
int src_walk_next(struct src_walk *w, struct src_stream **out, char err[SRC_ERRSZ]);

/* Close the walk and its current stream. Accepts NULL. */
void src_walk_close(struct src_walk *w);

/* The display name: "app.log", "-", "ci.tar.zst!logs/app.log". */
const char *src_stream_name(const struct src_stream *s);

/* Look at up to want bytes from the current position without consuming them.
 * Returns the number of bytes available at *data (fewer than want only at end of
 * stream), or -1 on error. *data is valid until the next call on the stream. want is
 * capped at SRC_PEEK_MAX so a peek costs bounded memory; more than one chunk is
 * gathered in a buffer, and the following reads return those bytes first. */
#define SRC_PEEK_MAX ((size_t)1 << 20)
long src_stream_peek(struct src_stream *s, size_t want, const char **data);

/* The next chunk: returns its length (> 0) with *data pointing at it (valid until the
 * next call on the stream), 0 at end of stream, -1 on error. Errors stick: later
 * calls return -1 again (bytes already peeked are still returned first). */
long src_stream_read(struct src_stream *s, const char **data);

/* The note of the chunk the last src_stream_read returned from (made, being made,
 * or not begun: see src_note_fn), or NULL when it has none (notes asked for too
 * late, bytes gathered by a peek); *base and *len are then the noted chunk, which
 * holds the bytes returned. */
const void *src_stream_note(const struct src_stream *s, const char **base, size_t *len);

/* Ask for notes (see src_note_fn) of the chunks read ahead. Only streams read ahead
 * (options readahead or readahead_coop) make them. Called by the stream's reader. 0,
 * or -1 when out of memory (the stream reads on, without notes). */
int src_stream_set_note(struct src_stream *s, src_note_fn fn, size_t cap);

/* From a thread other than the stream's reader: read a chunk ahead (readahead_coop)
 * or note one. 1 when it did, 0 when there was nothing to do. Safe against the
 * reader's src_stream_read/peek, not against closing the stream: the caller keeps
 * the two apart. */
int src_stream_help(struct src_stream *s);

/* Whether the stream's bytes are decoded (decompressed, or taken out of an archive)
 * rather than a plain file's read as they are. */
bool src_stream_decoded(const struct src_stream *s);

/* The error of the last failed call, or "" when none. */
const char *src_stream_error(const struct src_stream *s);

/* Progress in raw (on-disk, compressed) bytes: consumed so far and the total when
 * known (0 when not, e.g. stdin). For an archive member both count the whole
 * archive file. Either pointer may be NULL. */
void src_stream_progress(const struct src_stream *s, uint64_t *done, uint64_t *total);

/* Expand a user path into the paths a walk of each would read one file at a time:
 * a directory gives every regular file below it (sorted, hidden entries skipped,
 * links to directories not followed); anything else ("-", a file, an archive) is
 * given as is. fn gets each path, or path NULL and a message for an entry that
 * cannot be listed; a non-zero return from fn stops the listing and is returned.
 * This lets a caller open several files of a directory at once (to merge them). */
typedef int (*src_file_fn)(void *ctx, const char *path, const char *err);
int src_list_files(const char *path, src_file_fn fn, void *ctx);

/* Total on-disk bytes of a path (a file's size, a directory's regular files summed,
 * counting what the walk would read: hidden entries left out, links to files in),
 * for progress and ETA; 0 when unknown or "-". Never fails. */
uint64_t src_path_size(const char *path);

#endif
