/* walk.c -- a user path expanded into named streams.
 *
 * Three levels, each resumable from src_walk_next: the path (one file, stdin, or a
 * directory walked depth-first with a stack of sorted listings), the file (sniffed
 * once, then one stream, or one per archive member), and the stream the caller is
 * reading. Errors on one entry are returned and the walk goes on with the next.
 */
#include "src_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct wdir {
    char *path;
    char **names; /* sorted, hidden entries left out */
    size_t n, i;
};

struct wfile {
    char *name;           /* display name: the path as given, or "-" */
    struct src_fd *fd;
    struct src_arc *arc;  /* libarchive: an archive, or a single compressed file */
    bool archive;         /* streams are members of arc */
    bool first_ready;     /* archive: sniffing already read the first member header */
    const char *first_member;
    struct src_stream *single; /* not an archive: the one stream, until handed out */
    /* A member that is itself an archive (a logs.tar.gz or a zip inside the CI tarball)
     * is read one level deep: its members are handed out next, named
     * "archive!member!inner", before the outer archive moves on. */
    struct src_arc *nested;
    struct src_reader *nested_link; /* a compressed member: its decoded stream as a link */
    struct src_stream *nested_base; /* that stream (owning its decoders), or NULL */
    char *nested_name;              /* "archive!member" */
    bool nested_first_ready;
    const char *nested_first;
};

struct src_walk {
    struct src_options opt;
    char *root;
    int root_fd;          /* a file or stdin given as the path, until it is opened */
    struct wdir *dirs;
    size_t ndirs, dcap;
    struct wfile *file;
    struct src_stream *cur;
};

static int cmp_names(const void *a, const void *b)
{
    /* Byte order, not the locale's: the same tree reads in the same order anywhere. */
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The entries of a directory, sorted, without dot-names. -1 with errno set. */
static int list_dir(const char *path, char ***out, size_t *count)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int saved = 0;
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            saved = errno;
            break;
        }
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (nn == NULL) {
                saved = ENOMEM;
                break;
            }
            names = nn;
            cap = nc;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            saved = ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (saved != 0) {
        free_names(names, n);
        errno = saved;
        return -1;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *count = n;
    return 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + nl + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, dl);
    size_t at = dl;
    if (!slash)
        p[at++] = '/';
    memcpy(p + at, name, nl + 1);
    return p;
}

static int push_dir(struct src_walk *w, const char *path)
{
    if (w->ndirs == w->dcap) {
        size_t nc = w->dcap ? w->dcap * 2 : 8;
        struct wdir *nd = realloc(w->dirs, nc * sizeof *nd);
        if (nd == NULL) {
            errno = ENOMEM;
            return -1;
        }
        w->dirs = nd;
        w->dcap = nc;
    }
    struct wdir d = {0};
    if ((d.path = strdup(path)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (list_dir(path, &d.names, &d.n) != 0) {
        int saved = errno;
        free(d.path);
        errno = saved;
        return -1;
    }
    w->dirs[w->ndirs++] = d;
    return 0;
}

static void pop_dir(struct src_walk *w)
{
    struct wdir *d = &w->dirs[--w->ndirs];
    free_names(d->names, d->n);
    free(d->path);
}

/* The next file to read: 1 with a path (malloc'd) and an open descriptor, 0 when the
 * walk is done, -1 with err for an entry that cannot be read. */
static int next_path(struct src_walk *w, char **path, int *fd, char err[SRC_ERRSZ])
{
    if (w->root_fd >= 0) {
        if ((*path = strdup(w->root)) == NULL) {
            src_errf(err, "%s: %s", w->root, strerror(ENOMEM));
            return -1;
        }
        *fd = w->root_fd;
        w->root_fd = -1;
        return 1;
    }
    while (w->ndirs > 0) {
        struct wdir *d = &w->dirs[w->ndirs - 1];
        if (d->i == d->n) {
            pop_dir(w);
            continue;
        }
        char *p = join_path(d->path, d->names[d->i++]);
        if (p == NULL) {
            src_errf(err, "%s: %s", d->path, strerror(ENOMEM));
            return -1;
        }
        struct stat st;
        if (lstat(p, &st) != 0)
            goto fail;
        if (S_ISLNK(st.st_mode)) {
            /* Links to files are followed; links to directories are not, which is
             * what keeps a link back up the tree from looping. */
            if (stat(p, &st) != 0)
                goto fail;
            if (!S_ISREG(st.st_mode)) {
                free(p);
                continue;
            }
        } else if (S_ISDIR(st.st_mode)) {
            int rc = push_dir(w, p);
            if (rc != 0)
                goto fail;
            free(p);
            continue;
        } else if (!S_ISREG(st.st_mode)) {
            free(p); /* sockets, fifos, devices: not artifacts */
            continue;
        }
        int f = open(p, O_RDONLY | O_CLOEXEC);
        if (f < 0)
            goto fail;
        *path = p;
        *fd = f;
        return 1;
fail:
        src_errf(err, "%s: %s", p, strerror(errno));
        free(p);
        return -1;
    }
    return 0;
}

static void nested_free(struct wfile *f)
{
    /* Top down: the archive reads the link, which reads the base stream. */
    src_arc_free(f->nested);
    free(f->nested_link);
    src_stream_free(f->nested_base);
    free(f->nested_name);
    f->nested = NULL;
    f->nested_link = NULL;
    f->nested_base = NULL;
    f->nested_name = NULL;
    f->nested_first_ready = false;
}

/* A stream as a chain link, so libarchive can read a decoded member (with the bytes
 * sniffing peeked) as an archive. */
struct stream_link {
    struct src_reader base;
    struct src_stream *s;
};

static long stream_link_read(struct src_reader *r, const char **data, char err[SRC_ERRSZ])
{
    struct stream_link *l = (struct stream_link *)r;
    long n = src_stream_read(l->s, data);
    if (n < 0)
        src_errf(err, "%s", src_stream_error(l->s));
    return n;
}

static void file_free(struct wfile *f)
{
    if (f == NULL)
        return;
    src_stream_free(f->single);
    nested_free(f); /* it reads from the outer archive: it goes first */
    src_arc_free(f->arc);
    if (f->fd != NULL)
        f->fd->base.close(&f->fd->base);
    free(f->name);
    free(f);
}

/* The one stream of a file that is not an archive, reading from top. */
static int make_single(struct src_walk *w, struct wfile *f, struct src_reader *top,
                       struct src_reader *owned, char err[SRC_ERRSZ])
{
    f->single = src_stream_new(f->name, top, f->fd, &w->opt, err);
    if (f->single == NULL) {
        if (owned != NULL)
            owned->close(owned);
        return -1;
    }
    if (owned != NULL)
        src_stream_own(f->single, src_reader_close, owned);
    return 0;
}

/* Open libarchive on the file: an archive (first member header read), or a single
 * compressed file libarchive decodes. */
static int open_libarchive(struct src_walk *w, struct wfile *f, enum src_arc_mode mode,
                           char err[SRC_ERRSZ])
{
    char why[SRC_ERRSZ];
    f->arc = src_arc_new(&f->fd->base, f->fd, mode, &w->opt, why);
    if (f->arc == NULL) {
        src_errf(err, "%s: %s", f->name, why);
        return -1;
    }
    int r = src_arc_next(f->arc, &f->first_member, why);
    if (r < 0) {
        src_errf(err, "%s: %s", f->name, why);
        return -1;
    }
    if (src_arc_is_single(f->arc))
        return make_single(w, f, src_arc_data(f->arc), NULL, err);
    f->archive = true;
    f->first_ready = r == 1; /* 0: an empty archive, no streams */
    return 0;
}

/* Sniff a freshly opened file and set it up to hand out its streams. */
static int file_open(struct src_walk *w, char *path, int fd, struct wfile **out,
                     char err[SRC_ERRSZ])
{
    char why[SRC_ERRSZ];
    struct wfile *f = calloc(1, sizeof *f);
    if (f == NULL) {
        if (fd != STDIN_FILENO)
            close(fd);
        src_errf(err, "%s: %s", path, strerror(ENOMEM));
        free(path);
        return -1;
    }
    f->name = path; /* the file owns the path now */
    f->fd = src_fd_new(fd, w->opt.chunk_size, why);
    if (f->fd == NULL)
        goto fail;

    const char *p;
    long n = src_fd_peek(f->fd, 512, &p, why);
    if (n < 0)
        goto fail;
    bool at_eof = n < 512;
    if (n == 512 && p[0] == '\0') {
        /* Maybe an empty tar (all zero blocks): look at a whole tar record. */
        n = src_fd_peek(f->fd, SRC_SNIFF_BYTES + 1, &p, why);
        if (n < 0)
            goto fail;
        at_eof = (size_t)n <= SRC_SNIFF_BYTES;
        if (!at_eof)
            n = (long)SRC_SNIFF_BYTES;
    }
    enum src_magic magic = src_sniff((const unsigned char *)p, (size_t)n, at_eof);
    if (magic == SRC_MAGIC_NONE) {
        if (make_single(w, f, &f->fd->base, NULL, err) != 0)
            goto fail_quiet;
        *out = f;
        return 0;
    }
    /* Archive or one compressed file? Ask libarchive's bidders about a window of
     * the raw bytes, consuming nothing; the window holds a whole zstd block, so the
     * first decoded bytes are always in it. */
    n = src_fd_peek(f->fd, SRC_PROBE_WINDOW + 1, &p, why);
    if (n < 0)
        goto fail;
    bool whole = (size_t)n <= SRC_PROBE_WINDOW;
    enum src_probe probe = src_arc_probe(p, whole ? (size_t)n : SRC_PROBE_WINDOW, whole);
    int rc;
    if (probe == SRC_PROBE_EMPTY) {
        f->archive = true; /* with no members */
        rc = 0;
    } else if (magic == SRC_MAGIC_ZSTD && probe != SRC_PROBE_ARCHIVE) {
        /* A plain .zst: libzstd (also the clearer errors for a broken one). */
        struct src_reader *z = src_zstd_new(&f->fd->base, &w->opt, why);
        if (z == NULL)
            goto fail;
        rc = make_single(w, f, z, z, err);
    } else {
        /* SINGLE reads with the raw format only, so that a log starting with zero
         * blocks cannot turn into an empty tar on the real read. */
        rc = open_libarchive(w, f, probe == SRC_PROBE_SINGLE ? SRC_ARC_FILTER : SRC_ARC_ARCHIVE,
                             err);
    }
    if (rc != 0) {
        file_free(f);
        return -1;
    }
    *out = f;
    return 0;
fail:
    src_errf(err, "%s: %s", f->name, why);
fail_quiet:
    file_free(f);
    return -1;
}

/* Open the nested archive over link (a member's data, or its decoded stream) and
 * read its first header. 1: it is an archive, f->nested is set (f owns arc, link and
 * base from here); 0: libarchive found no archive after all, *single is the raw
 * entry to read (arc returned in *arc_out for the caller to own); -1 with why. */
static int open_nested(struct src_walk *w, struct wfile *f, struct src_reader *link, struct src_arc **arc_out,
                       char why[SRC_ERRSZ])
{
    struct src_arc *arc = src_arc_new(link, NULL, SRC_ARC_ARCHIVE, &w->opt, why);
    if (arc == NULL)
        return -1;
    const char *first;
    int r = src_arc_next(arc, &first, why);
    if (r < 0) {
        src_arc_free(arc);
        return -1;
    }
    if (src_arc_is_single(arc)) {
        *arc_out = arc;
        return 0;
    }
    f->nested = arc;
    f->nested_first = first;
    f->nested_first_ready = r == 1; /* 0: an empty archive, no streams */
    return 1;
}

/* A member's stream, decoding one level more when the member is itself compressed
 * (a rotated app.log.1.gz in a CI tarball): zstd through libzstd, the others through
 * libarchive's filters. With may_nest, a member that is an archive -- by the magic of
 * its bytes, or of its decoded bytes when it is compressed (a logs.tar.gz, a zip in a
 * tar) -- becomes f->nested and 2 is returned; its members come next, each read with
 * may_nest false, so archives open one level deep and an archive inside those is
 * handed out as it is. The decoded bytes are sniffed as a file's are (a log with a
 * NUL prefix stays a log). Returns 1 with *out, 2 for a nested archive, -1 with err. */
static int member_stream(struct src_walk *w, struct wfile *f, struct src_arc *arc, const char *prefix,
                         const char *member, bool may_nest, struct src_stream **out, char err[SRC_ERRSZ])
{
    char why[SRC_ERRSZ];
    size_t nl = strlen(prefix), ml = strlen(member);
    char *name = malloc(nl + ml + 2);
    if (name == NULL) {
        src_errf(err, "%s: %s", prefix, strerror(ENOMEM));
        return -1;
    }
    memcpy(name, prefix, nl);
    name[nl] = '!';
    memcpy(name + nl + 1, member, ml + 1);

    struct src_reader *data = src_arc_data(arc);
    struct src_reader *top = data;
    struct src_reader *zst = NULL;
    struct src_arc *inner = NULL;
    struct src_stream *s = NULL;
    struct stream_link *link = NULL;
    const char *p;
    long n = src_arc_peek(arc, &p, why);
    if (n < 0)
        goto fail;
    /* The first block is the whole member when its header says so (an empty tar in
     * a tar is zero blocks to its end). */
    int64_t size = src_arc_entry_size(arc);
    enum src_magic m = src_sniff((const unsigned char *)p, (size_t)n, size >= 0 && size <= n);
    if (may_nest && m == SRC_MAGIC_ARCHIVE) {
        int r = open_nested(w, f, data, &inner, why);
        if (r < 0)
            goto fail;
        if (r == 1) {
            f->nested_name = name; /* f owns it now */
            return 2;
        }
        top = src_arc_data(inner); /* not an archive after all: its raw bytes */
    } else if (m == SRC_MAGIC_ZSTD) {
        if ((zst = src_zstd_new(data, &w->opt, why)) == NULL)
            goto fail;
        top = zst;
    } else if (m == SRC_MAGIC_GZIP || m == SRC_MAGIC_FILTER) {
        inner = src_arc_new(data, NULL, SRC_ARC_FILTER, &w->opt, why);
        if (inner == NULL)
            goto fail;
        const char *ignored;
        if (src_arc_next(inner, &ignored, why) < 0)
            goto fail;
        top = src_arc_data(inner);
    }
    s = src_stream_new(name, top, f->fd, &w->opt, why);
    if (s == NULL)
        goto fail;
    if (zst != NULL)
        src_stream_own(s, src_reader_close, zst);
    if (inner != NULL)
        src_stream_own(s, src_arc_release, inner);
    zst = NULL; /* the stream owns the decoders now */
    inner = NULL;
    if (may_nest && (m == SRC_MAGIC_ZSTD || m == SRC_MAGIC_GZIP || m == SRC_MAGIC_FILTER)) {
        /* Compressed: is what it decodes to an archive? Peeked bytes are read again. */
        const char *d;
        long k = src_stream_peek(s, SRC_SNIFF_BYTES, &d);
        if (k < 0) {
            src_errf(err, "%s", src_stream_error(s));
            src_stream_free(s);
            free(name);
            return -1;
        }
        if (src_sniff((const unsigned char *)d, (size_t)k, (size_t)k < SRC_SNIFF_BYTES) == SRC_MAGIC_ARCHIVE) {
            if ((link = calloc(1, sizeof(*link))) == NULL) {
                src_errf(why, "%s", strerror(ENOMEM));
                goto fail;
            }
            link->base.read = stream_link_read;
            link->s = s;
            int r = open_nested(w, f, &link->base, &inner, why);
            if (r < 0)
                goto fail;
            if (r == 1) {
                /* f owns the link, the decoded stream and the name now. */
                f->nested_link = &link->base;
                f->nested_base = s;
                f->nested_name = name;
                return 2;
            }
            /* Not an archive after all: the raw entry over the link is the member. */
            struct src_stream *s2 = src_stream_new(name, src_arc_data(inner), f->fd, &w->opt, why);
            if (s2 == NULL)
                goto fail;
            src_stream_own(s2, src_stream_release, s);
            src_stream_own(s2, free, link);
            src_stream_own(s2, src_arc_release, inner);
            s = s2;
        }
    }
    free(name);
    *out = s;
    return 1;
fail:
    src_errf(err, "%s: %s", name, why);
    src_arc_free(inner);
    free(link);
    src_stream_free(s);
    if (zst != NULL)
        zst->close(zst);
    free(name);
    return -1;
}

/* The next member of the nested archive: 1 with *out, 0 when it has no more (it is
 * freed then), -1 with err. */
static int nested_next(struct src_walk *w, struct wfile *f, struct src_stream **out, char err[SRC_ERRSZ])
{
    const char *member;
    int r;
    char why[SRC_ERRSZ];
    if (f->nested_first_ready) {
        f->nested_first_ready = false;
        member = f->nested_first;
        r = 1;
    } else if (src_arc_dead(f->nested)) {
        r = 0; /* what broke it was reported through its stream or its header */
    } else {
        r = src_arc_next(f->nested, &member, why);
    }
    if (r == 1)
        return member_stream(w, f, f->nested, f->nested_name, member, false, out, err) == 1 ? 1 : -1;
    if (r < 0) {
        src_errf(err, "%s: %s", f->nested_name, why);
        if (!src_arc_dead(f->nested))
            return -1; /* a bad header: the next one may be fine */
    }
    nested_free(f);
    return r < 0 ? -1 : 0;
}

/* The next stream of the current file: 1, 0 when it has no more, -1 with err. */
static int file_next(struct src_walk *w, struct wfile *f, struct src_stream **out,
                     char err[SRC_ERRSZ])
{
    if (!f->archive) {
        if (f->single == NULL)
            return 0;
        *out = f->single;
        f->single = NULL; /* the walk owns it now, as w->cur */
        return 1;
    }
    /* A loop, not recursion: a hostile tar of many empty archives costs no stack. */
    for (;;) {
        /* A member that failed fatally (a corrupt stream, a decompression bomb) has
         * reported why through its stream; nothing more can be read. */
        if (f->arc == NULL || src_arc_dead(f->arc))
            return 0;
        if (f->nested != NULL) {
            int r = nested_next(w, f, out, err);
            if (r != 0)
                return r;
        }
        const char *member;
        if (f->first_ready) {
            f->first_ready = false;
            member = f->first_member;
        } else {
            char why[SRC_ERRSZ];
            int r = src_arc_next(f->arc, &member, why);
            if (r <= 0) {
                if (r < 0)
                    src_errf(err, "%s: %s", f->name, why);
                return r;
            }
        }
        int r = member_stream(w, f, f->arc, f->name, member, true, out, err);
        if (r != 2)
            return r;
        /* An archive in the archive: its first member next (or, when it is empty,
         * the outer archive's next). */
    }
}

struct src_walk *src_walk_open(const char *path, const struct src_options *opt, char err[SRC_ERRSZ])
{
    struct src_walk *w = calloc(1, sizeof *w);
    if (w == NULL || (w->root = strdup(path)) == NULL) {
        free(w);
        src_errf(err, "%s: %s", path, strerror(ENOMEM));
        return NULL;
    }
    src_options_resolve(&w->opt, opt);
    w->root_fd = -1;
    if (strcmp(path, "-") == 0) {
        w->root_fd = STDIN_FILENO;
        return w;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        if (push_dir(w, path) != 0)
            goto fail;
        return w;
    }
    /* Opened now so that a file that cannot be read fails here, not midway. FIFOs
     * and devices named explicitly (<(zcat x), /dev/stdin) are read like files. */
    if ((w->root_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        goto fail;
    return w;
fail:
    src_errf(err, "%s: %s", path, strerror(errno));
    src_walk_close(w);
    return NULL;
}

int src_walk_next(struct src_walk *w, struct src_stream **out, char err[SRC_ERRSZ])
{
    /* The previous stream goes first: it may be reading the current file's archive. */
    src_stream_free(w->cur);
    w->cur = NULL;
    err[0] = '\0';
    for (;;) {
        if (w->file != NULL) {
            int r = file_next(w, w->file, &w->cur, err);
            if (r == 1) {
                *out = w->cur;
                return 1;
            }
            if (r == 0 || (w->file->arc != NULL && src_arc_dead(w->file->arc))) {
                file_free(w->file);
                w->file = NULL;
            }
            if (r < 0)
                return -1;
            continue;
        }
        char *path;
        int fd;
        int r = next_path(w, &path, &fd, err);
        if (r <= 0)
            return r;
        /* file_open owns path and fd from here, on success and on failure. */
        if (file_open(w, path, fd, &w->file, err) != 0)
            return -1;
    }
}

void src_walk_close(struct src_walk *w)
{
    if (w == NULL)
        return;
    src_stream_free(w->cur);
    file_free(w->file);
    while (w->ndirs > 0)
        pop_dir(w);
    free(w->dirs);
    if (w->root_fd > STDIN_FILENO)
        close(w->root_fd);
    free(w->root);
    free(w);
}

static uint64_t dir_size(const char *path)
{
    char **names;
    size_t n;
    if (list_dir(path, &names, &n) != 0)
        return 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        char *p = join_path(path, names[i]);
        struct stat st;
        if (p == NULL)
            continue;
        if (lstat(p, &st) == 0) {
            if (S_ISLNK(st.st_mode)) {
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                    sum += (uint64_t)st.st_size;
            } else if (S_ISDIR(st.st_mode)) {
                sum += dir_size(p);
            } else if (S_ISREG(st.st_mode)) {
                sum += (uint64_t)st.st_size;
            }
        }
        free(p);
    }
    free_names(names, n);
    return sum;
}

static int list_tree(const char *path, src_file_fn fn, void *ctx, char err[SRC_ERRSZ], unsigned depth)
{
    char **names;
    size_t n;
    if (depth > 64) {
        src_errf(err, "%s: directories nested too deep", path);
        return fn(ctx, NULL, err);
    }
    if (list_dir(path, &names, &n) != 0) {
        src_errf(err, "%s: %s", path, strerror(errno));
        return fn(ctx, NULL, err);
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *p = join_path(path, names[i]);
        struct stat st;
        if (p == NULL) {
            src_errf(err, "%s: %s", path, strerror(ENOMEM));
            rc = fn(ctx, NULL, err);
            continue;
        }
        if (lstat(p, &st) != 0) {
            src_errf(err, "%s: %s", p, strerror(errno));
            rc = fn(ctx, NULL, err);
        } else if (S_ISLNK(st.st_mode)) {
            /* As in the walk: links to files are followed, links to directories not. */
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                rc = fn(ctx, p, err);
        } else if (S_ISDIR(st.st_mode)) {
            rc = list_tree(p, fn, ctx, err, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            rc = fn(ctx, p, err);
        }
        free(p);
    }
    free_names(names, n);
    return rc;
}

int src_list_files(const char *path, src_file_fn fn, void *ctx)
{
    char err[SRC_ERRSZ];
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return list_tree(path, fn, ctx, err, 0);
    return fn(ctx, path, err);
}

uint64_t src_path_size(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        return dir_size(path);
    return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}
