/* file.c -- the bottom of every chain: read(2) on a descriptor in chunk-sized reads.
 *
 * Detection needs the first bytes before anyone consumes them, and stdin cannot be
 * rewound, so the buffer doubles as a peek window: src_fd_peek fills it without
 * handing anything out and the next read returns the window first. Nothing is read
 * twice and no file is mapped or loaded whole.
 */
#include "src_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long fd_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ]);
static long fd_read_into(struct src_reader *r, char *buf, size_t cap, char err[SRC_ERRSZ]);
static void fd_close(struct src_reader *r);

struct src_fd *src_fd_new(int fd, size_t chunk, char err[SRC_ERRSZ])
{
    struct src_fd *f = calloc(1, sizeof *f);
    char *buf = malloc(chunk);
    if (f == NULL || buf == NULL) {
        free(f);
        free(buf);
        if (fd != STDIN_FILENO)
            close(fd);
        src_errf(err, "%s", strerror(ENOMEM));
        return NULL;
    }
    f->base.read = fd_read;
    f->base.read_into = fd_read_into;
    f->base.close = fd_close;
    f->fd = fd;
    f->close_fd = fd != STDIN_FILENO;
    f->buf = buf;
    f->cap = chunk;
    /* Only files we opened ourselves start at offset 0, which is where libarchive
     * believes the archive starts; stdin is read as a stream with no known size
     * even when the shell redirected a file to it. */
    struct stat st;
    if (f->close_fd && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        f->seekable = true;
        f->total = (uint64_t)st.st_size;
    }
    return f;
}

/* One read(2) into to[0..cap), again when a signal interrupts it; 0 at end of
 * file. The file offset moves on by what was read. */
static long fd_read_raw(struct src_fd *f, char *to, size_t cap, char err[SRC_ERRSZ])
{
    for (;;) {
        ssize_t n = read(f->fd, to, cap);
        if (n >= 0) {
            f->off += (uint64_t)n;
            return (long)n;
        }
        if (errno != EINTR) {
            src_errf(err, "%s", strerror(errno));
            return -1;
        }
    }
}

/* One read(2) into buf[len..cap); 0 at end of file. */
static long fd_fill(struct src_fd *f, char err[SRC_ERRSZ])
{
    long n = fd_read_raw(f, f->buf + f->len, f->cap - f->len, err);
    if (n > 0)
        f->len += (size_t)n;
    return n;
}

long src_fd_peek(struct src_fd *f, size_t want, const char **data, char err[SRC_ERRSZ])
{
    if (want > f->cap) {
        char *nb = realloc(f->buf, want);
        if (nb == NULL) {
            src_errf(err, "%s", strerror(ENOMEM));
            return -1;
        }
        f->buf = nb;
        f->cap = want;
    }
    if (f->pos > 0) {
        memmove(f->buf, f->buf + f->pos, f->len - f->pos);
        f->len -= f->pos;
        f->pos = 0;
    }
    /* Pipes deliver in small pieces: keep reading until the window is full. */
    while (f->len < want) {
        long n = fd_fill(f, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
    }
    *data = f->buf;
    return (long)(f->len < want ? f->len : want);
}

static long fd_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ])
{
    struct src_fd *f = (struct src_fd *)r;
    if (f->pos == f->len) {
        f->pos = f->len = 0;
        long n = fd_fill(f, err);
        if (n <= 0)
            return n;
    }
    size_t n = f->len - f->pos;
    *data = f->buf + f->pos;
    f->pos = f->len;
    f->done += n;
    return (long)n;
}

static long fd_read_into(struct src_reader *r, char *buf, size_t cap, char err[SRC_ERRSZ])
{
    struct src_fd *f = (struct src_fd *)r;
    if (f->pos < f->len) {
        /* What a peek buffered goes first. */
        size_t n = f->len - f->pos;
        if (n > cap)
            n = cap;
        memcpy(buf, f->buf + f->pos, n);
        f->pos += n;
        f->done += n;
        return (long)n;
    }
    f->pos = f->len = 0;
    long n = fd_read_raw(f, buf, cap, err);
    if (n > 0)
        f->done += (uint64_t)n;
    return n;
}

int64_t src_fd_seek(struct src_fd *f, int64_t offset, int whence)
{
    if (!f->seekable)
        return -1;
    off_t target;
    switch (whence) {
    case SEEK_SET:
        target = (off_t)offset;
        break;
    case SEEK_CUR:
        /* The logical position is behind the disk position by what is buffered. */
        target = (off_t)(f->off - (f->len - f->pos)) + (off_t)offset;
        break;
    case SEEK_END: {
        struct stat st;
        if (fstat(f->fd, &st) != 0)
            return -1;
        target = st.st_size + (off_t)offset;
        break;
    }
    default:
        return -1;
    }
    if (target < 0 || lseek(f->fd, target, SEEK_SET) < 0)
        return -1;
    f->pos = f->len = 0;
    f->off = (uint64_t)target;
    return (int64_t)target;
}

static void fd_close(struct src_reader *r)
{
    struct src_fd *f = (struct src_fd *)r;
    if (f == NULL)
        return;
    if (f->close_fd)
        close(f->fd);
    free(f->buf);
    free(f);
}
