/* test_source.c -- the source layer against real files built at test time.
 *
 * Every input is made in a fresh mkdtemp directory (the tests chdir into it, so
 * stream names are the short relative names users see): zstd frames with libzstd,
 * gzip/xz/bzip2/lz4 files and tar/zip archives with libarchive's write API, so the
 * tests need no command-line tools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "source/source.h"
#include "source/src_private.h"

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

/* ---- building inputs ---- */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    mkdir(buf, 0755);
}

/* Deterministic text that does not compress to nothing: numbered log lines. */
static char *make_text(size_t len)
{
    char *p = malloc(len + 1);
    assert_non_null(p);
    size_t at = 0;
    unsigned line = 0;
    while (at < len) {
        char tmp[96];
        int n = snprintf(tmp, sizeof tmp, "2024-05-01T10:00:%02u INFO app line %u value=%u\n",
                         line % 60, line, (line * 2654435761u) >> 7);
        for (int i = 0; i < n && at < len; i++)
            p[at++] = tmp[i];
        line++;
    }
    p[len] = '\0';
    return p;
}

static size_t zstd_frame(void *dst, size_t cap, const char *src, size_t len)
{
    size_t n = ZSTD_compress(dst, cap, src, len, 3);
    assert_false(ZSTD_isError(n));
    return n;
}

/* Frames of parts[i], concatenated, with a skippable frame first when skippable. */
static void write_zstd(const char *path, const char **parts, const size_t *lens, int nparts,
                       bool skippable)
{
    size_t cap = 64;
    for (int i = 0; i < nparts; i++)
        cap += ZSTD_compressBound(lens[i]);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t at = 0;
    if (skippable) {
        /* magic 0x184D2A53, 5 bytes of user data */
        memcpy(buf, "\x53\x2A\x4D\x18\x05\x00\x00\x00" "hello", 13);
        at = 13;
    }
    for (int i = 0; i < nparts; i++)
        at += zstd_frame(buf + at, cap - at, parts[i], lens[i]);
    write_file(path, buf, at);
    free(buf);
}

/* One compressed file through libarchive's raw writer. */
static void write_filtered(const char *path, int (*add_filter)(struct archive *),
                           const char *data, size_t len)
{
    struct archive *a = archive_write_new();
    assert_int_equal(add_filter(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (len > 0)
        assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

struct member {
    const char *name; /* ending in '/' for a directory */
    const char *data;
    size_t len;
};

static void write_archive(const char *path, int (*set_format)(struct archive *),
                          int (*add_filter)(struct archive *), const struct member *m, int n)
{
    struct archive *a = archive_write_new();
    assert_int_equal(set_format(a), ARCHIVE_OK);
    if (add_filter != NULL)
        assert_int_equal(add_filter(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t nl = strlen(m[i].name);
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_mtime(e, 1714557600, 0);
        if (m[i].name[nl - 1] == '/') {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            archive_entry_set_size(e, 0);
            assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        } else {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_size(e, (la_int64_t)m[i].len);
            assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
            if (m[i].len > 0)
                assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
        }
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* ---- reading back ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n + 1)
            nc *= 2;
        b->p = realloc(b->p, nc);
        assert_non_null(b->p);
        b->cap = nc;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* All of a stream; returns the last read result (0 at a clean end, -1 on error). */
static long drain(struct src_stream *s, struct buf *b)
{
    const char *d;
    long n;
    while ((n = src_stream_read(s, &d)) > 0)
        buf_add(b, d, (size_t)n);
    return n;
}

/* One stream of a walk as text: "name\n<len>\n<bytes>\n". */
static void add_stream_record(struct buf *out, const struct src_stream *s, const struct buf *b)
{
    char head[64];
    buf_add(out, src_stream_name(s), strlen(src_stream_name(s)));
    snprintf(head, sizeof head, "\n%zu\n", b->len);
    buf_add(out, head, strlen(head));
    if (b->len)
        buf_add(out, b->p, b->len);
    buf_add(out, "\n", 1);
}

/* A whole walk as text: "name\n<len>\n<bytes>\n" per stream and "ERR err\n" per error.
 * Readahead on and off must give the same text. */
static void walk_all(const char *path, const struct src_options *opt, struct buf *out)
{
    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open(path, opt, err);
    assert_non_null(w);
    struct src_stream *s;
    int r;
    while ((r = src_walk_next(w, &s, err)) != 0) {
        if (r < 0) {
            buf_add(out, "ERR ", 4);
            buf_add(out, err, strlen(err));
            buf_add(out, "\n", 1);
            continue;
        }
        struct buf b = {0};
        long last = drain(s, &b);
        add_stream_record(out, s, &b);
        if (last < 0) {
            buf_add(out, "READERR ", 8);
            buf_add(out, src_stream_error(s), strlen(src_stream_error(s)));
            buf_add(out, "\n", 1);
        }
        free(b.p);
    }
    src_walk_close(w);
}

/* Open path, expect exactly one stream named name with exactly want bytes. */
static void expect_single(const char *path, const struct src_options *opt, const char *name,
                          const char *want, size_t want_len)
{
    char err[SRC_ERRSZ] = "";
    struct src_walk *w = src_walk_open(path, opt, err);
    assert_non_null(w);
    struct src_stream *s = NULL;
    assert_int_equal(src_walk_next(w, &s, err), 1);
    assert_string_equal(src_stream_name(s), name);
    struct buf b = {0};
    if (drain(s, &b) != 0)
        fail_msg("%s: %s", path, src_stream_error(s));
    assert_string_equal(src_stream_error(s), "");
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.p, want, want_len);
    free(b.p);
    assert_int_equal(src_walk_next(w, &s, err), 0);
    src_walk_close(w);
}

/* ---- fixture ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0755);
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    if (getcwd(oldcwd, sizeof oldcwd) == NULL)
        return -1;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/pycorr-src-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (chdir(oldcwd) != 0)
        return -1;
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- tests ---- */

static void test_plain_file(void **state)
{
    (void)state;
    char *text = make_text(300000);
    write_file("plain.log", text, 300000);
    expect_single("plain.log", NULL, "plain.log", text, 300000);

    /* Progress counts raw bytes against the file size. */
    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open("plain.log", NULL, err);
    struct src_stream *s;
    assert_int_equal(src_walk_next(w, &s, err), 1);
    uint64_t done, total;
    src_stream_progress(s, &done, &total);
    assert_int_equal(total, 300000);
    struct buf b = {0};
    drain(s, &b);
    src_stream_progress(s, &done, &total);
    assert_int_equal(done, 300000);
    assert_int_equal(total, 300000);
    free(b.p);
    src_walk_close(w);

    /* An empty file is one empty stream. */
    write_file("empty.log", "", 0);
    expect_single("empty.log", NULL, "empty.log", "", 0);
    free(text);
}

static void test_missing_path(void **state)
{
    (void)state;
    char err[SRC_ERRSZ] = "";
    assert_null(src_walk_open("nope.log", NULL, err));
    assert_string_equal(err, "nope.log: No such file or directory");
    assert_null(src_walk_open("nodir/", NULL, err));
    assert_string_equal(err, "nodir/: No such file or directory");
}

static void test_zstd_multiframe(void **state)
{
    (void)state;
    char *a = make_text(200000);
    const char *b = "second frame\nTraceback (most recent call last):\n";
    const char *parts[] = {a, b, a};
    size_t lens[] = {200000, strlen(b), 1000};
    write_zstd("app.log.zst", parts, lens, 3, true);

    size_t want_len = lens[0] + lens[1] + lens[2];
    char *want = malloc(want_len);
    memcpy(want, a, lens[0]);
    memcpy(want + lens[0], b, lens[1]);
    memcpy(want + lens[0] + lens[1], a, lens[2]);
    expect_single("app.log.zst", NULL, "app.log.zst", want, want_len);

    /* Small chunks make the decoder stop and resume inside frames. */
    struct src_options small = {.chunk_size = 1000};
    expect_single("app.log.zst", &small, "app.log.zst", want, want_len);

    /* Detection is by content: the same bytes under a name without ".zst". */
    rename("app.log.zst", "renamed.dat");
    expect_single("renamed.dat", NULL, "renamed.dat", want, want_len);

    /* ... and text named .zst is read as text. */
    write_file("fake.zst", "just text\n", 10);
    expect_single("fake.zst", NULL, "fake.zst", "just text\n", 10);
    free(want);
    free(a);
}

static void expect_read_error(const char *path, const char *prefix)
{
    char err[SRC_ERRSZ] = "";
    struct src_walk *w = src_walk_open(path, NULL, err);
    assert_non_null(w);
    struct src_stream *s;
    int r = src_walk_next(w, &s, err);
    if (r == 1) {
        struct buf b = {0};
        assert_int_equal(drain(s, &b), -1);
        free(b.p);
        if (strncmp(src_stream_error(s), prefix, strlen(prefix)) != 0)
            fail_msg("error \"%s\" does not start with \"%s\"", src_stream_error(s), prefix);
        /* The failure sticks. */
        const char *d;
        assert_int_equal(src_stream_read(s, &d), -1);
    } else {
        assert_int_equal(r, -1);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
            fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    }
    src_walk_close(w);
}

static void test_zstd_corrupt(void **state)
{
    (void)state;
    char *text = make_text(100000);
    const char *parts[] = {text};
    size_t lens[] = {100000};
    write_zstd("whole.zst", parts, lens, 1, false);
    size_t n;
    char *z = read_whole("whole.zst", &n);

    write_file("app.log.zst", z, n - 7);
    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open("app.log.zst", NULL, err);
    struct src_stream *s;
    assert_int_equal(src_walk_next(w, &s, err), 1);
    struct buf b = {0};
    assert_int_equal(drain(s, &b), -1);
    assert_string_equal(src_stream_error(s), "app.log.zst: truncated zstd frame");
    /* Whatever decoded before the cut is a true prefix of the text. */
    assert_true(b.len < 100000);
    assert_memory_equal(b.p, text, b.len);
    free(b.p);
    src_walk_close(w);

    /* Garbage in the middle of the frame. */
    for (size_t i = n / 3; i < n / 3 + 64; i++)
        z[i] ^= 0x5A;
    write_file("bad.zst", z, n);
    expect_read_error("bad.zst", "bad.zst: corrupt zstd data: ");

    /* Only the magic. */
    write_file("magic.zst", "\x28\xB5\x2F\xFD", 4);
    expect_read_error("magic.zst", "magic.zst: ");
    free(z);
    free(text);
}

/* One frame of src with the window given and long-distance matching, so matches
 * reach megabytes back: across the wrap of the decoder's round buffer. The frame
 * does not declare its size, as a frame compressed from a pipe: such a frame gets
 * the ring of a large one (huge pages, its size rounded up). */
static size_t zstd_frame_long(void *dst, size_t cap, const char *src, size_t len, int wlog)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
    ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    size_t n = ZSTD_compress2(c, dst, cap, src, len);
    assert_false(ZSTD_isError(n));
    ZSTD_freeCCtx(c);
    return n;
}

static void fill_random(char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        p[i] = (char)(' ' + seed % 90);
    }
}

struct lent_view {
    const char *p;
    size_t len, off;
};

/* The zstd link lends views into its round buffer; each must stay as decoded until
 * SRC_LEND_KEEP more bytes are lent, through frames whose windows grow (the buffer
 * is replaced while views into the old one live), skippable frames, and blocks that
 * copy from megabytes back across the wrap. */
static void test_zstd_lend_keeps(void **state)
{
    (void)state;
    const size_t mb = (size_t)1 << 20;
    size_t la = 3 * mb, lb = 11 * mb, lc = 1000;
    char *want = malloc(la + lb + lc);
    assert_non_null(want);
    char *text = make_text(la + lb);
    memcpy(want, text, la);                           /* frame A: window 1 MiB */
    char *b = want + la;                              /* frame B: window 8 MiB */
    fill_random(b, 3 * mb, 42);
    memcpy(b + 3 * mb, text + la, 2 * mb);
    memcpy(b + 5 * mb, b, 3 * mb);                    /* 5 MiB back */
    memcpy(b + 8 * mb, text, 3 * mb);                 /* 8 MiB back */
    memcpy(want + la + lb, text + 7, lc);             /* frame C: small */

    size_t cap = ZSTD_compressBound(la) + ZSTD_compressBound(lb) + ZSTD_compressBound(lc) + 64;
    char *z = malloc(cap);
    assert_non_null(z);
    size_t at = zstd_frame_long(z, cap, want, la, 20);
    memcpy(z + at, "\x5E\x2A\x4D\x18\x03\x00\x00\x00" "abc", 11); /* skippable */
    at += 11;
    size_t zb = zstd_frame_long(z + at, cap - at, b, lb, 23);
    at += zb;
    at += zstd_frame(z + at, cap - at, want + la + lb, lc);
    at += zstd_frame(z + at, cap - at, "", 0);             /* empty frame */
    size_t big_only = zstd_frame_long(z + at, cap - at, b, lb, 20);
    /* With the 8 MiB window the repeats cost next to nothing: matches span megabytes. */
    assert_true(zb * 3 < big_only * 2);
    write_file("lend.zst", z, at);

    char err[SRC_ERRSZ] = "";
    struct src_options opt;
    src_options_resolve(&opt, &(struct src_options){.chunk_size = 65536});
    int fd = open("lend.zst", O_RDONLY);
    assert_true(fd >= 0);
    struct src_fd *f = src_fd_new(fd, 65536, err);
    assert_non_null(f);
    struct src_reader *r = src_zstd_new(&f->base, &opt, err);
    assert_non_null(r);
    assert_non_null(r->lend);

    static struct lent_view live[4096];
    size_t nlive = 0, first = 0, total = 0, round = 0;
    const size_t sizes[] = {65536, 4097, 131072, 1};
    for (;;) {
        const char *p;
        long n = r->lend(r, &p, sizes[round++ % 4], err);
        if (n < 0)
            fail_msg("lend: %s", err);
        if (n == 0)
            break;
        assert_true(total + (size_t)n <= la + lb + lc);
        assert_memory_equal(p, want + total, (size_t)n);
        assert_true(nlive < sizeof live / sizeof live[0]);
        live[nlive++] = (struct lent_view){p, (size_t)n, total};
        total += (size_t)n;
        while (first < nlive && total - (live[first].off + live[first].len) >= SRC_LEND_KEEP)
            first++;
        for (size_t i = first; i < nlive; i++)
            if (memcmp(live[i].p, want + live[i].off, live[i].len) != 0)
                fail_msg("bytes %zu..%zu changed %zu bytes after they were lent", live[i].off,
                         live[i].off + live[i].len, total - live[i].off - live[i].len);
        if (first > 2048) {
            memmove(live, live + first, (nlive - first) * sizeof live[0]);
            nlive -= first;
            first = 0;
        }
    }
    assert_int_equal(total, la + lb + lc);
    r->close(r);
    f->base.close(&f->base);
    free(z);
    free(text);
    free(want);
}

static void test_libarchive_filters(void **state)
{
    (void)state;
    char *text = make_text(150000);
    write_filtered("app.log.gz", archive_write_add_filter_gzip, text, 150000);
    write_filtered("app.log.xz", archive_write_add_filter_xz, text, 150000);
    write_filtered("app.log.bz2", archive_write_add_filter_bzip2, text, 150000);
    write_filtered("app.log.lz4", archive_write_add_filter_lz4, text, 150000);
    expect_single("app.log.gz", NULL, "app.log.gz", text, 150000);
    expect_single("app.log.xz", NULL, "app.log.xz", text, 150000);
    expect_single("app.log.bz2", NULL, "app.log.bz2", text, 150000);
    expect_single("app.log.lz4", NULL, "app.log.lz4", text, 150000);

    /* A gzipped empty file is one empty stream, not an empty archive. */
    write_filtered("empty.gz", archive_write_add_filter_gzip, "", 0);
    expect_single("empty.gz", NULL, "empty.gz", "", 0);

    /* Truncated gzip: libarchive's message, prefixed with the name. */
    size_t n;
    char *gz = read_whole("app.log.gz", &n);
    write_file("cut.gz", gz, n / 2);
    expect_read_error("cut.gz", "cut.gz: ");
    free(gz);
    free(text);
}

static void test_archives(void **state)
{
    (void)state;
    char *big = make_text(400000);
    const struct member m[] = {
        {"logs/", NULL, 0},
        {"logs/app.log", big, 400000},
        {"logs/worker/", NULL, 0},
        {"logs/worker/w1.log", "worker one\n", 11},
        {"logs/worker/empty.log", "", 0},
        {"README", "top level\n", 10},
    };
    const char *want_names[] = {"logs/app.log", "logs/worker/w1.log", "logs/worker/empty.log",
                                "README"};
    const char *want_data[] = {big, "worker one\n", "", "top level\n"};
    size_t want_len[] = {400000, 11, 0, 10};
    struct {
        const char *path;
        int (*fmt)(struct archive *);
        int (*filter)(struct archive *);
    } kinds[] = {
        {"x.tar", archive_write_set_format_pax_restricted, NULL},
        {"x.tar.gz", archive_write_set_format_ustar, archive_write_add_filter_gzip},
        {"x.tar.zst", archive_write_set_format_gnutar, archive_write_add_filter_zstd},
        {"x.tar.xz", archive_write_set_format_pax_restricted, archive_write_add_filter_xz},
        {"x.zip", archive_write_set_format_zip, NULL},
        {"x.cpio", archive_write_set_format_cpio_newc, NULL},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        write_archive(kinds[k].path, kinds[k].fmt, kinds[k].filter, m, 6);
        for (int ra = 0; ra < 2; ra++) {
            struct src_options opt = {.readahead = ra, .chunk_size = 8192};
            char err[SRC_ERRSZ];
            struct src_walk *w = src_walk_open(kinds[k].path, &opt, err);
            assert_non_null(w);
            for (int i = 0; i < 4; i++) {
                struct src_stream *s;
                if (src_walk_next(w, &s, err) != 1)
                    fail_msg("%s: member %d: %s", kinds[k].path, i, err);
                char name[256];
                snprintf(name, sizeof name, "%s!%s", kinds[k].path, want_names[i]);
                assert_string_equal(src_stream_name(s), name);
                struct buf b = {0};
                assert_int_equal(drain(s, &b), 0);
                assert_int_equal(b.len, want_len[i]);
                if (want_len[i])
                    assert_memory_equal(b.p, want_data[i], want_len[i]);
                free(b.p);
            }
            struct src_stream *s;
            assert_int_equal(src_walk_next(w, &s, err), 0);
            src_walk_close(w);
        }
    }
    free(big);
}

static void test_archive_details(void **state)
{
    (void)state;
    /* Members that are themselves gzip or zstd are decoded one level; "./" goes. */
    char *text = make_text(50000);
    write_filtered("inner.gz", archive_write_add_filter_gzip, text, 50000);
    const char *parts[] = {text};
    size_t lens[] = {50000};
    write_zstd("inner.zst", parts, lens, 1, false);
    write_filtered("inner.xz", archive_write_add_filter_xz, text, 50000);
    size_t gzn, zn, xzn;
    char *gz = read_whole("inner.gz", &gzn);
    char *zs = read_whole("inner.zst", &zn);
    char *xz = read_whole("inner.xz", &xzn);
    const struct member m[] = {
        {"./ci/app.log.1.gz", gz, gzn},
        {"./ci/app.log.2.zst", zs, zn},
        {"ci/app.log.3.xz", xz, xzn},
    };
    write_archive("ci.tar", archive_write_set_format_ustar, NULL, m, 3);
    struct buf got = {0};
    walk_all("ci.tar", NULL, &got);
    struct buf want = {0};
    char head[64];
    buf_add(&want, "ci.tar!ci/app.log.1.gz", 22);
    snprintf(head, sizeof head, "\n%d\n", 50000);
    buf_add(&want, head, strlen(head));
    buf_add(&want, text, 50000);
    buf_add(&want, "\n", 1);
    buf_add(&want, "ci.tar!ci/app.log.2.zst", 23);
    buf_add(&want, head, strlen(head));
    buf_add(&want, text, 50000);
    buf_add(&want, "\n", 1);
    buf_add(&want, "ci.tar!ci/app.log.3.xz", 22);
    buf_add(&want, head, strlen(head));
    buf_add(&want, text, 50000);
    buf_add(&want, "\n", 1);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.p, want.p, want.len);
    free(got.p);
    free(want.p);

    /* Empty archives yield no streams. */
    write_archive("empty.tar", archive_write_set_format_ustar, NULL, NULL, 0);
    write_archive("empty.zip", archive_write_set_format_zip, NULL, NULL, 0);
    write_archive("empty.tar.zst", archive_write_set_format_ustar, archive_write_add_filter_zstd,
                  NULL, 0);
    const char *empties[] = {"empty.tar", "empty.zip", "empty.tar.zst"};
    for (int i = 0; i < 3; i++) {
        char err[SRC_ERRSZ];
        struct src_walk *w = src_walk_open(empties[i], NULL, err);
        assert_non_null(w);
        struct src_stream *s;
        int r = src_walk_next(w, &s, err);
        if (r != 0)
            fail_msg("%s: walk_next gave %d (%s)", empties[i], r, r < 0 ? err : src_stream_name(s));
        src_walk_close(w);
    }

    /* A log that starts with NULs (copytruncate) is text, not an empty tar. */
    char nul[4096 + 6] = {0};
    memcpy(nul + 4096, "hello\n", 6);
    write_file("rotated.log", nul, sizeof nul);
    expect_single("rotated.log", NULL, "rotated.log", nul, sizeof nul);

    /* ... also when compressed: libarchive alone would call these empty tars. */
    write_filtered("rotated.log.gz", archive_write_add_filter_gzip, nul, sizeof nul);
    expect_single("rotated.log.gz", NULL, "rotated.log.gz", nul, sizeof nul);
    const char *nparts[] = {nul};
    size_t nlens[] = {sizeof nul};
    write_zstd("rotated.log.zst", nparts, nlens, 1, false);
    expect_single("rotated.log.zst", NULL, "rotated.log.zst", nul, sizeof nul);

    /* A truncated tar.gz fails with a message and does not crash. */
    char *big = make_text(300000);
    const struct member one[] = {{"a.log", big, 300000}, {"b.log", "b\n", 2}};
    write_archive("cut.tar.gz", archive_write_set_format_ustar, archive_write_add_filter_gzip, one, 2);
    size_t n;
    char *cut = read_whole("cut.tar.gz", &n);
    write_file("cut.tar.gz", cut, n / 2);
    expect_read_error("cut.tar.gz", "cut.tar.gz!a.log: ");
    /* ... and a zip with garbage after its magic. */
    static const char junk[] = "PK\x03\x04 this is not a zip at all, just junk bytes";
    write_file("junk.zip", junk, sizeof junk - 1);
    struct buf j = {0};
    walk_all("junk.zip", NULL, &j);
    assert_non_null(strstr(j.p, "junk.zip"));
    assert_true(strstr(j.p, "ERR junk.zip") != NULL || strstr(j.p, "READERR junk.zip") != NULL);
    free(j.p);
    free(cut);
    free(big);
    free(gz);
    free(zs);
    free(xz);
    free(text);
}

/* "name\n<len>\n<bytes>\n" as walk_all writes it. */
static void want_stream(struct buf *want, const char *name, const char *data, size_t len)
{
    char head[64];
    buf_add(want, name, strlen(name));
    snprintf(head, sizeof head, "\n%zu\n", len);
    buf_add(want, head, strlen(head));
    if (len)
        buf_add(want, data, len);
    buf_add(want, "\n", 1);
}

static void test_nested_archives(void **state)
{
    (void)state;
    /* A CI tarball that holds archives: each is opened one level deep and its members
     * are named outer!member!inner, in order, before the outer archive goes on. */
    char *text = make_text(120000);
    const struct member inner_m[] = {
        {"logs/", NULL, 0},
        {"logs/a.log", text, 120000},
        {"logs/b.log", "bee\n", 4},
    };
    write_archive("in.tar.gz", archive_write_set_format_ustar, archive_write_add_filter_gzip, inner_m, 3);
    write_archive("in.tar.zst", archive_write_set_format_pax_restricted, archive_write_add_filter_zstd, inner_m, 3);
    write_archive("in.zip", archive_write_set_format_zip, NULL, inner_m, 3);
    write_archive("in.tar", archive_write_set_format_ustar, NULL, inner_m, 3);
    write_archive("none.tar", archive_write_set_format_ustar, NULL, NULL, 0);
    /* Two levels down is not opened: deep.tar holds in.tar, handed out as it is. */
    size_t tn;
    char *tar = read_whole("in.tar", &tn);
    const struct member deep_m[] = {{"in.tar", tar, tn}};
    write_archive("deep.tar", archive_write_set_format_ustar, NULL, deep_m, 1);
    /* A compressed log that starts with NULs stays a log (no empty tar). */
    char nul[4096 + 6] = {0};
    memcpy(nul + 4096, "hello\n", 6);
    write_filtered("nul.log.gz", archive_write_add_filter_gzip, nul, sizeof nul);
    size_t gzn, zn, zipn, dn, en, nn;
    char *gz = read_whole("in.tar.gz", &gzn);
    char *zs = read_whole("in.tar.zst", &zn);
    char *zip = read_whole("in.zip", &zipn);
    char *deep = read_whole("deep.tar", &dn);
    char *empty = read_whole("none.tar", &en);
    char *nulgz = read_whole("nul.log.gz", &nn);
    const struct member outer_m[] = {
        {"top.log", "top\n", 4},
        {"run/logs.tar.gz", gz, gzn},
        {"run/logs.tar.zst", zs, zn},
        {"run/logs.zip", zip, zipn},
        {"run/plain.tar", tar, tn},
        {"run/empty.tar", empty, en},
        {"run/deep.tar", deep, dn},
        {"run/nul.log.gz", nulgz, nn},
        {"last.log", "last\n", 5},
    };
    struct buf want = {0};
    const char *outers[] = {"ci.tar", "ci.zip"};
    for (int o = 0; o < 2; o++) {
        write_archive(outers[o], o ? archive_write_set_format_zip : archive_write_set_format_pax_restricted, NULL,
                      outer_m, 9);
        want.len = 0;
        char name[256];
        const char *kinds[] = {"logs.tar.gz", "logs.tar.zst", "logs.zip", "plain.tar"};
        snprintf(name, sizeof name, "%s!top.log", outers[o]);
        want_stream(&want, name, "top\n", 4);
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "%s!run/%s!logs/a.log", outers[o], kinds[k]);
            want_stream(&want, name, text, 120000);
            snprintf(name, sizeof name, "%s!run/%s!logs/b.log", outers[o], kinds[k]);
            want_stream(&want, name, "bee\n", 4);
        }
        snprintf(name, sizeof name, "%s!run/deep.tar!in.tar", outers[o]);
        want_stream(&want, name, tar, tn);
        snprintf(name, sizeof name, "%s!run/nul.log.gz", outers[o]);
        want_stream(&want, name, nul, sizeof nul);
        snprintf(name, sizeof name, "%s!last.log", outers[o]);
        want_stream(&want, name, "last\n", 5);
        for (int ra = 0; ra < 2; ra++) {
            struct src_options opt = {.readahead = ra, .chunk_size = 8192};
            struct buf got = {0};
            walk_all(outers[o], &opt, &got);
            if (got.len != want.len || memcmp(got.p, want.p, want.len) != 0) {
                size_t at = 0;
                while (at < got.len && at < want.len && got.p[at] == want.p[at])
                    at++;
                fail_msg("%s (readahead %d): differs at byte %zu: got '%.200s', want '%.200s'", outers[o], ra, at,
                         got.p ? got.p + at : "(nothing)", want.p + at);
            }
            free(got.p);
        }
    }
    /* A corrupt nested archive is reported and the outer archive goes on. */
    char *cut = malloc(gzn / 2);
    assert_non_null(cut);
    memcpy(cut, gz, gzn / 2);
    const struct member bad_m[] = {{"bad.tar.gz", cut, gzn / 2}, {"after.log", "after\n", 6}};
    write_archive("bad.tar", archive_write_set_format_ustar, NULL, bad_m, 2);
    struct buf got = {0};
    walk_all("bad.tar", NULL, &got);
    assert_non_null(strstr(got.p, "bad.tar!bad.tar.gz"));
    assert_non_null(strstr(got.p, "bad.tar!after.log\n6\nafter\n"));
    free(got.p);
    free(cut);
    free(want.p);
    free(text);
    free(tar);
    free(gz);
    free(zs);
    free(zip);
    free(deep);
    free(empty);
    free(nulgz);
}

static void test_directory_walk(void **state)
{
    (void)state;
    mkdirs("tree/b/deep");
    mkdirs("tree/a");
    mkdirs("tree/.git");
    write_file("tree/b/deep/z.log", "z\n", 2);
    write_file("tree/b/m.log", "m\n", 2);
    write_file("tree/a/2.log", "a2\n", 3);
    write_file("tree/a/10.log", "a10\n", 4);
    write_file("tree/.hidden.log", "hidden\n", 7);
    write_file("tree/.git/config", "hidden\n", 7);
    write_file("tree/c.log.gz", "", 0);
    remove("tree/c.log.gz");
    write_filtered("tree/c.log.gz", archive_write_add_filter_gzip, "gz text\n", 8);
    assert_int_equal(symlink("b/m.log", "tree/link.log"), 0);  /* to a file: followed */
    assert_int_equal(symlink("..", "tree/b/up"), 0);            /* to a dir: not followed */
    assert_int_equal(symlink("missing", "tree/broken.log"), 0); /* unreadable entry */

    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open("tree", NULL, err);
    assert_non_null(w);
    const char *want[] = {"tree/a/10.log", "tree/a/2.log", "tree/b/deep/z.log", "tree/b/m.log",
                          "ERR tree/broken.log: No such file or directory", "tree/c.log.gz",
                          "tree/link.log"};
    const char *data[] = {"a10\n", "a2\n", "z\n", "m\n", NULL, "gz text\n", "m\n"};
    struct src_stream *s;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int r = src_walk_next(w, &s, err);
        if (data[i] == NULL) {
            assert_int_equal(r, -1);
            assert_string_equal(err, want[i] + 4);
            continue;
        }
        if (r != 1)
            fail_msg("entry %zu (%s): got %d %s", i, want[i], r, err);
        assert_string_equal(src_stream_name(s), want[i]);
        struct buf b = {0};
        assert_int_equal(drain(s, &b), 0);
        assert_string_equal(b.p, data[i]);
        free(b.p);
    }
    assert_int_equal(src_walk_next(w, &s, err), 0);
    assert_int_equal(src_walk_next(w, &s, err), 0);
    src_walk_close(w);

    /* A trailing slash does not double in names. */
    w = src_walk_open("tree/a/", NULL, err);
    assert_int_equal(src_walk_next(w, &s, err), 1);
    assert_string_equal(src_stream_name(s), "tree/a/10.log");
    src_walk_close(w);

    /* Sizes: visible regular files and links to them, hidden ones left out as in
     * the walk. */
    struct stat st;
    assert_int_equal(stat("tree/c.log.gz", &st), 0);
    assert_int_equal(src_path_size("tree"), 4 + 3 + 2 + 2 + (uint64_t)st.st_size + 2);
    assert_int_equal(src_path_size("tree/a/2.log"), 3);
    assert_int_equal(src_path_size("nope"), 0);
    assert_int_equal(src_path_size("-"), 0);

    /* An unreadable file (only testable without root's override). */
    if (geteuid() != 0) {
        mkdirs("locked");
        write_file("locked/a.log", "a\n", 2);
        write_file("locked/b.log", "b\n", 2);
        chmod("locked/a.log", 0);
        w = src_walk_open("locked", NULL, err);
        assert_int_equal(src_walk_next(w, &s, err), -1);
        assert_string_equal(err, "locked/a.log: Permission denied");
        assert_int_equal(src_walk_next(w, &s, err), 1);
        assert_string_equal(src_stream_name(s), "locked/b.log");
        src_walk_close(w);
        char err2[SRC_ERRSZ];
        assert_null(src_walk_open("locked/a.log", NULL, err2));
        assert_string_equal(err2, "locked/a.log: Permission denied");
    }
}

/* Peek must not consume, must gather across chunks, and reads must resume exactly. */
static void check_peek(const char *path, const struct src_options *opt, const char *want,
                       size_t len)
{
    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open(path, opt, err);
    assert_non_null(w);
    struct src_stream *s;
    assert_int_equal(src_walk_next(w, &s, err), 1);
    const char *d;
    assert_int_equal(src_stream_peek(s, 10, &d), 10);
    assert_memory_equal(d, want, 10);
    /* 64 KiB is many 4 KiB chunks. */
    assert_int_equal(src_stream_peek(s, 65536, &d), 65536);
    assert_memory_equal(d, want, 65536);
    assert_int_equal(src_stream_peek(s, 100, &d), 100);
    assert_memory_equal(d, want, 100);

    struct buf b = {0};
    long n = src_stream_read(s, &d);
    assert_true(n > 0);
    buf_add(&b, d, (size_t)n);
    /* Peek again in the middle, past the end of the current chunk. */
    assert_int_equal(src_stream_peek(s, 70000, &d), 70000);
    assert_memory_equal(d, want + b.len, 70000);
    n = src_stream_read(s, &d);
    assert_true(n > 0);
    buf_add(&b, d, (size_t)n);
    assert_int_equal(drain(s, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.p, want, len);
    /* At the end a peek returns what is left: nothing. */
    assert_int_equal(src_stream_peek(s, 10, &d), 0);
    free(b.p);
    src_walk_close(w);

    /* Peeking more than is there returns all of it, fewer than asked. */
    if (len < 200000) {
        w = src_walk_open(path, opt, err);
        assert_int_equal(src_walk_next(w, &s, err), 1);
        assert_int_equal(src_stream_peek(s, len + 1000, &d), (long)len);
        assert_memory_equal(d, want, len);
        b = (struct buf){0};
        assert_int_equal(drain(s, &b), 0);
        assert_int_equal(b.len, len);
        assert_memory_equal(b.p, want, len);
        free(b.p);
        src_walk_close(w);
    }
}

static void test_peek(void **state)
{
    (void)state;
    char *text = make_text(500000);
    write_file("peek.log", text, 500000);
    const char *parts[] = {text};
    size_t lens[] = {500000};
    write_zstd("peek.zst", parts, lens, 1, false);
    write_filtered("small.gz", archive_write_add_filter_gzip, text, 150000);
    for (int ra = 0; ra < 2; ra++) {
        struct src_options opt = {.chunk_size = 4096, .readahead = ra};
        check_peek("peek.log", &opt, text, 500000);
        check_peek("peek.zst", &opt, text, 500000);
        check_peek("small.gz", &opt, text, 150000);
        struct src_options dflt = {.readahead = ra};
        check_peek("peek.zst", &dflt, text, 500000);
    }
    free(text);
}

/* Stream 200 MiB of zeros through a zstd compressor without holding them. */
static void write_zero_bomb(const char *path, size_t total)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
    size_t zlen = (size_t)1 << 20;
    char *zeros = calloc(1, zlen);
    size_t ocap = ZSTD_CStreamOutSize();
    char *out = malloc(ocap);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t done = 0; done < total; done += zlen) {
        ZSTD_inBuffer in = {zeros, zlen, 0};
        ZSTD_EndDirective mode = done + zlen >= total ? ZSTD_e_end : ZSTD_e_continue;
        size_t rem;
        do {
            ZSTD_outBuffer o = {out, ocap, 0};
            rem = ZSTD_compressStream2(c, &o, &in, mode);
            assert_false(ZSTD_isError(rem));
            fwrite(out, 1, o.pos, f);
        } while (mode == ZSTD_e_end ? rem != 0 : in.pos < in.size);
    }
    fclose(f);
    free(out);
    free(zeros);
    ZSTD_freeCCtx(c);
}

static void expect_bomb(const char *path, const struct src_options *opt, const char *want_err,
                        size_t max_out)
{
    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open(path, opt, err);
    assert_non_null(w);
    struct src_stream *s;
    if (src_walk_next(w, &s, err) != 1)
        fail_msg("%s: %s", path, err);
    const char *d;
    long n;
    size_t out = 0;
    while ((n = src_stream_read(s, &d)) > 0)
        out += (size_t)n;
    assert_int_equal(n, -1);
    assert_string_equal(src_stream_error(s), want_err);
    /* Cut soon after the grace, long before the 200 MiB. */
    if (out > max_out)
        fail_msg("%s: %zu bytes decoded before the guard", path, out);
    src_walk_close(w);
}

static void test_bomb_guard(void **state)
{
    (void)state;
    write_zero_bomb("bomb.zst", (size_t)200 << 20);
    struct stat st;
    assert_int_equal(stat("bomb.zst", &st), 0);
    assert_true(st.st_size < (200 << 20) / 1000); /* really a bomb */

    struct src_options opt = {.max_ratio = 100, .ratio_grace = 1 << 20};
    expect_bomb("bomb.zst", &opt,
                "bomb.zst: decompression ratio exceeds 100:1 (possible decompression bomb)",
                (size_t)8 << 20);
    opt.readahead = true;
    expect_bomb("bomb.zst", &opt,
                "bomb.zst: decompression ratio exceeds 100:1 (possible decompression bomb)",
                (size_t)8 << 20);

    /* The default ratio, 1000:1, is what the message names. */
    struct src_options dflt = {.ratio_grace = 1 << 20};
    expect_bomb("bomb.zst", &dflt,
                "bomb.zst: decompression ratio exceeds 1000:1 (possible decompression bomb)",
                (size_t)64 << 20);

    /* Through libarchive: a gzip bomb, and the same inside a tar.gz. */
    size_t zn = (size_t)16 << 20;
    char *zeros = calloc(1, zn);
    write_filtered("bomb.gz", archive_write_add_filter_gzip, zeros, zn);
    opt.readahead = false;
    expect_bomb("bomb.gz", &opt,
                "bomb.gz: decompression ratio exceeds 100:1 (possible decompression bomb)",
                (size_t)8 << 20);
    const struct member m[] = {{"z.log", zeros, zn}, {"after.log", "x\n", 2}};
    write_archive("bomb.tar.gz", archive_write_set_format_ustar, archive_write_add_filter_gzip, m, 2);
    expect_bomb("bomb.tar.gz", &opt,
                "bomb.tar.gz!z.log: decompression ratio exceeds 100:1 (possible decompression bomb)",
                (size_t)8 << 20);

    /* Under the default guard the same 16 MiB decode fine (inside the 64 MiB grace). */
    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open("bomb.gz", NULL, err);
    struct src_stream *s;
    if (src_walk_next(w, &s, err) != 1)
        fail_msg("%s: %s", "bomb.gz", err);
    const char *d;
    long n;
    size_t out = 0;
    while ((n = src_stream_read(s, &d)) > 0)
        out += (size_t)n;
    assert_int_equal(n, 0);
    assert_int_equal(out, zn);
    src_walk_close(w);
    free(zeros);
}

/* A tree of every kind of stream over 700000 bytes of text, for the read-ahead
 * tests: a plain file, a two-frame zstd, an xz, and below sub/ a tar.zst and a zip
 * of two members each. */
static void write_ra_tree(const char *dir, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/a.log", dir);
    write_file(path, text, 700000);
    const char *parts[] = {text, text + 1000};
    size_t lens[] = {300000, 400000};
    snprintf(path, sizeof path, "%s/b.zst", dir);
    write_zstd(path, parts, lens, 2, false);
    snprintf(path, sizeof path, "%s/c.xz", dir);
    write_filtered(path, archive_write_add_filter_xz, text, 700000);
    const struct member m[] = {{"x/1.log", text, 700000}, {"x/2.log", "two\n", 4}};
    snprintf(path, sizeof path, "%s/sub/d.tar.zst", dir);
    write_archive(path, archive_write_set_format_pax_restricted, archive_write_add_filter_zstd, m, 2);
    snprintf(path, sizeof path, "%s/sub/e.zip", dir);
    write_archive(path, archive_write_set_format_zip, NULL, m, 2);
}

static void test_readahead_same_bytes(void **state)
{
    (void)state;
    char *text = make_text(700000);
    write_ra_tree("ra", text);
    size_t sizes[] = {4096, 100000, 0};
    struct buf base = {0};
    walk_all("ra", &(struct src_options){0}, &base);
    assert_non_null(strstr(base.p, "ra/sub/d.tar.zst!x/2.log\n4\ntwo\n"));
    assert_null(strstr(base.p, "ERR"));
    for (int i = 0; i < 3; i++) {
        struct buf on = {0};
        walk_all("ra", &(struct src_options){.readahead = true, .chunk_size = sizes[i]}, &on);
        assert_int_equal(on.len, base.len);
        assert_memory_equal(on.p, base.p, base.len);
        free(on.p);
    }
    free(base.p);

    /* Closing streams midway stops the reader thread; the walk goes on. */
    char err[SRC_ERRSZ];
    struct src_options opt = {.readahead = true, .chunk_size = 4096};
    struct src_walk *w = src_walk_open("ra", &opt, err);
    struct src_stream *s;
    int count = 0;
    while (src_walk_next(w, &s, err) == 1) {
        const char *d;
        assert_true(src_stream_read(s, &d) > 0);
        count++;
    }
    assert_int_equal(count, 7);
    src_walk_close(w);
    w = src_walk_open("ra/b.zst", &opt, err);
    assert_int_equal(src_walk_next(w, &s, err), 1);
    const char *d;
    assert_true(src_stream_peek(s, 50000, &d) == 50000);
    src_walk_close(w); /* with the thread running */
    free(text);
}

/* ---- cooperative read-ahead: a helper reads and notes chunks ahead ---- */

/* The note the test asks for: the chunk's length and a hash of its bytes, so the
 * reader can check that a note describes exactly the chunk it came with. */
/* Zero as it arrives (SRC_NOTE_ZEROED); `done` says the rest is made. */
struct test_note {
    _Atomic uint64_t done;
    uint64_t len, hash;
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static void note_hash(const char *chunk, size_t len, void *note, size_t cap)
{
    assert_true(cap >= sizeof(struct test_note));
    struct test_note *t = note;
    assert_true(atomic_load(&t->done) == 0); /* once per chunk, and zeroed before */
    t->len = len;
    t->hash = fnv(chunk, len);
    atomic_store_explicit(&t->done, 1, memory_order_release);
}

struct helper {
    pthread_mutex_t mu;         /* keeps help and closing apart, as the pipeline does */
    struct src_stream *s;
    atomic_bool quit;
    unsigned long helped;
};

static void *help_main(void *arg)
{
    struct helper *h = arg;
    while (!atomic_load(&h->quit)) {
        pthread_mutex_lock(&h->mu);
        if (h->s != NULL && src_stream_help(h->s))
            h->helped++;
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

static void set_helped(struct helper *h, struct src_stream *s)
{
    pthread_mutex_lock(&h->mu);
    h->s = s;
    pthread_mutex_unlock(&h->mu);
}

static void test_readahead_coop(void **state)
{
    (void)state;
    char *text = make_text(700000);
    write_ra_tree("coop", text);
    struct buf base = {0};
    walk_all("coop", &(struct src_options){0}, &base);
    assert_null(strstr(base.p, "ERR"));

    /* Without a helper the reader reads every chunk itself: the same bytes. */
    size_t sizes[] = {4096, 100000, 0};
    for (int i = 0; i < 3; i++) {
        struct buf on = {0};
        walk_all("coop", &(struct src_options){.readahead_coop = true, .chunk_size = sizes[i], .readahead_slots = 3},
                 &on);
        assert_int_equal(on.len, base.len);
        assert_memory_equal(on.p, base.p, base.len);
        free(on.p);
    }

    /* With a helper thread reading and noting ahead: the same bytes again, and
     * every note that comes with a chunk describes that chunk once it is made (it
     * may be made while the chunk is read). */
    struct helper h = {.s = NULL};
    pthread_mutex_init(&h.mu, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, help_main, &h), 0);
    char err[SRC_ERRSZ];
    struct src_options opt = {.readahead_coop = true, .chunk_size = 8192, .readahead_slots = 8};
    struct src_walk *w = src_walk_open("coop", &opt, err);
    assert_non_null(w);
    struct buf got = {0};
    struct src_stream *s;
    int r;
    unsigned long noted = 0, chunks = 0;
    while ((r = src_walk_next(w, &s, err)) == 1) {
        const char *peeked;
        assert_true(src_stream_peek(s, 100, &peeked) >= 0); /* as detection does */
        assert_int_equal(src_stream_set_note(s, note_hash, sizeof(struct test_note)), 0);
        set_helped(&h, s);
        struct buf b = {0};
        const char *d;
        long n;
        while ((n = src_stream_read(s, &d)) > 0) {
            chunks++;
            const char *nbase = NULL;
            size_t nlen = 0;
            const struct test_note *note = src_stream_note(s, &nbase, &nlen);
            if (note != NULL) {
                assert_true(((uintptr_t)note & 63) == 0);
                assert_true(d >= nbase && d + n <= nbase + nlen);
            }
            buf_add(&b, d, (size_t)n);
            if (chunks % 4 == 0)
                usleep(2000); /* a slow reader: the helper gets ahead */
            if (note != NULL && atomic_load_explicit(&note->done, memory_order_acquire)) {
                noted++;
                assert_true(note->len == nlen);
                assert_true(note->hash == fnv(nbase, nlen));
            }
        }
        assert_int_equal(n, 0);
        set_helped(&h, NULL); /* before the walk frees the stream */
        add_stream_record(&got, s, &b);
        free(b.p);
    }
    assert_int_equal(r, 0);
    src_walk_close(w);
    atomic_store(&h.quit, true);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&h.mu);
    assert_int_equal(got.len, base.len);
    assert_memory_equal(got.p, base.p, base.len);
    assert_true(h.helped > 0);
    assert_true(noted > 0);
    free(got.p);
    free(base.p);
    free(text);
}

static void test_stdin(void **state)
{
    (void)state;
    char *text = make_text(120000);
    const char *parts[] = {text};
    size_t lens[] = {120000};
    write_zstd("in.zst", parts, lens, 1, false);
    int saved = dup(STDIN_FILENO);
    int fd = open("in.zst", O_RDONLY);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);

    char err[SRC_ERRSZ];
    struct src_walk *w = src_walk_open("-", NULL, err);
    assert_non_null(w);
    struct src_stream *s;
    assert_int_equal(src_walk_next(w, &s, err), 1);
    assert_string_equal(src_stream_name(s), "-");
    struct buf b = {0};
    assert_int_equal(drain(s, &b), 0);
    assert_int_equal(b.len, 120000);
    assert_memory_equal(b.p, text, 120000);
    uint64_t done, total;
    src_stream_progress(s, &done, &total);
    assert_int_equal(total, 0);
    assert_true(done > 0);
    assert_int_equal(src_walk_next(w, &s, err), 0);
    src_walk_close(w);
    free(b.p);

    /* A tar through a pipe: members without seeking. */
    const struct member m[] = {{"p/1.log", text, 120000}};
    write_archive("pipe.tar.gz", archive_write_set_format_ustar, archive_write_add_filter_gzip, m, 1);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        size_t n;
        char *all = read_whole("pipe.tar.gz", &n);
        for (size_t at = 0; at < n;) {
            ssize_t k = write(pfd[1], all + at, n - at > 1000 ? 1000 : n - at);
            if (k <= 0)
                _exit(1);
            at += (size_t)k;
        }
        _exit(0);
    }
    close(pfd[1]);
    dup2(pfd[0], STDIN_FILENO);
    close(pfd[0]);
    w = src_walk_open("-", &(struct src_options){.readahead = true}, err);
    assert_int_equal(src_walk_next(w, &s, err), 1);
    assert_string_equal(src_stream_name(s), "-!p/1.log");
    b = (struct buf){0};
    assert_int_equal(drain(s, &b), 0);
    assert_int_equal(b.len, 120000);
    assert_memory_equal(b.p, text, 120000);
    free(b.p);
    assert_int_equal(src_walk_next(w, &s, err), 0);
    src_walk_close(w);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    dup2(saved, STDIN_FILENO);
    close(saved);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_file),
        cmocka_unit_test(test_missing_path),
        cmocka_unit_test(test_zstd_multiframe),
        cmocka_unit_test(test_zstd_corrupt),
        cmocka_unit_test(test_zstd_lend_keeps),
        cmocka_unit_test(test_libarchive_filters),
        cmocka_unit_test(test_archives),
        cmocka_unit_test(test_archive_details),
        cmocka_unit_test(test_nested_archives),
        cmocka_unit_test(test_directory_walk),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_bomb_guard),
        cmocka_unit_test(test_readahead_same_bytes),
        cmocka_unit_test(test_readahead_coop),
        cmocka_unit_test(test_stdin),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
