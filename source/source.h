/* source.h -- where bytes come from: files, stdin, directories, compressed files and
 * archives, handed out as a sequence of named byte streams.
 *
 * A user path expands to streams: a plain file or "-" is one stream; a directory is
 * every regular file below it (recursive, sorted by name, hidden entries skipped);
 * ".zst" is decompressed with libzstd streaming (multi-frame); ".gz .xz .bz2 .lz4"
 * through libarchive's raw filters; an archive (.tar .tar.* .tgz .zip ...) yields one
 * stream per regular member, read in place and named "archive!member". Formats are
 * found by magic bytes, never by name alone. Nothing is extracted to disk.
 *
 * Decompressed output is bounded: a stream whose output exceeds max_ratio times its
 * compressed input (after the first ratio_grace bytes) is cut with an error, so a
 * decompression bomb costs bounded time. Memory is bounded by the chunk size.
 *
 * Errors are returned, never printed: a path that cannot be opened fails
 * src_walk_open/src_walk_next with a message; a stream that fails midway returns -1
 * from src_stream_read with the message in src_stream_error().
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
};

struct src_walk;
struct src_stream;

#define SRC_ERRSZ 512

/* Start expanding one user path ("-" = stdin). Returns NULL with a message in err
 * ("app.log: No such file or directory") when the path cannot be opened at all. */
struct src_walk *src_walk_open(const char *path, const struct src_options *opt, char err[SRC_ERRSZ]);

/* The next stream of the walk: 1 and *out set (owned by the walk, valid until the next
 * call to src_walk_next or src_walk_close); 0 when the walk is done; -1 on an error
 * that skips one entry (an unreadable file in a directory, a corrupt archive member):
 * err holds "name: reason" and the walk can go on with the next call. */
int src_walk_next(struct src_walk *w, struct src_stream **out, char err[SRC_ERRSZ]);

void src_walk_close(struct src_walk *w);

/* The display name: "app.log", "-", "ci.tar.zst!logs/app.log". */
const char *src_stream_name(const struct src_stream *s);

/* Look at up to want bytes from the current position without consuming them.
 * Returns the number of bytes available at *data (fewer than want only at end of
 * stream), or -1 on error. */
long src_stream_peek(struct src_stream *s, size_t want, const char **data);

/* The next chunk: returns its length (> 0) with *data pointing at it (valid until the
 * next call), 0 at end of stream, -1 on error. */
long src_stream_read(struct src_stream *s, const char **data);

/* The error of the last failed call, or "" when none. */
const char *src_stream_error(const struct src_stream *s);

/* Progress in raw (on-disk, compressed) bytes: consumed so far and the total when
 * known (0 when not, e.g. stdin). */
void src_stream_progress(const struct src_stream *s, uint64_t *done, uint64_t *total);

/* Total on-disk bytes of a path (a file's size, a directory's regular files summed),
 * for progress and ETA; 0 when unknown. Never fails. */
uint64_t src_path_size(const char *path);

#endif
