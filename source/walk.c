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

static void file_free(struct wfile *f)
{
    if (f == NULL)
        return;
    src_stream_free(f->single);
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

/* A member's stream, decoding one level more when the member is itself compressed
 * (a rotated app.log.1.gz in a CI tarball): zstd through libzstd, the others through
 * libarchive's filters with the raw format. A member that is itself an archive is
 * handed out as it is; archives are not opened recursively. */
static int member_stream(struct src_walk *w, struct wfile *f, const char *member,
                         struct src_stream **out, char err[SRC_ERRSZ])
{
    char why[SRC_ERRSZ];
    size_t nl = strlen(f->name), ml = strlen(member);
    char *name = malloc(nl + ml + 2);
    if (name == NULL) {
        src_errf(err, "%s: %s", f->name, strerror(ENOMEM));
        return -1;
    }
    memcpy(name, f->name, nl);
    name[nl] = '!';
    memcpy(name + nl + 1, member, ml + 1);

    struct src_reader *data = src_arc_data(f->arc);
    struct src_reader *top = data;
    struct src_reader *zst = NULL;
    struct src_arc *inner = NULL;
    struct src_stream *s = NULL;
    const char *p;
    long n = src_arc_peek(f->arc, &p, why);
    if (n < 0)
        goto fail;
    enum src_magic m = src_sniff((const unsigned char *)p, (size_t)n, false);
    if (m == SRC_MAGIC_ZSTD) {
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
    free(name);
    *out = s;
    return 0;
fail:
    src_errf(err, "%s: %s", name, why);
    if (zst != NULL)
        zst->close(zst);
    src_arc_free(inner);
    free(name);
    return -1;
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
    /* A member that failed fatally (a corrupt stream, a decompression bomb) has
     * reported why through its stream; nothing more can be read. */
    if (f->arc == NULL || src_arc_dead(f->arc))
        return 0;
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
    return member_stream(w, f, member, out, err) == 0 ? 1 : -1;
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
