/* sniff.c -- name what the first bytes of a file are, by magic numbers only.
 *
 * The answer only routes a file: plain bytes skip libarchive entirely (it is the hot
 * path, and libarchive's mtree reader would claim ordinary text), zstd goes to
 * libzstd, and everything else goes to libarchive, which has the last word on
 * whether it is an archive or one compressed file. A false match therefore costs a
 * libarchive open, never wrong bytes: libarchive then reads the file as raw.
 */
#include "src_private.h"

#include <string.h>

struct magic {
    size_t off;
    size_t len;
    const char *bytes;
    enum src_magic kind;
};

static const struct magic magics[] = {
    {0, 4, "\x28\xB5\x2F\xFD", SRC_MAGIC_ZSTD},
    {0, 2, "\x1F\x8B", SRC_MAGIC_GZIP},
    {0, 6, "\xFD" "7zXZ\x00", SRC_MAGIC_FILTER},           /* xz */
    {0, 4, "\x04\x22\x4D\x18", SRC_MAGIC_FILTER},          /* lz4 frame */
    {0, 4, "\x02\x21\x4C\x18", SRC_MAGIC_FILTER},          /* lz4 legacy */
    {0, 4, "LZIP", SRC_MAGIC_FILTER},
    {0, 2, "\x1F\x9D", SRC_MAGIC_FILTER},                  /* compress (.Z) */
    {0, 9, "\x89LZO\x00\x0D\x0A\x1A\x0A", SRC_MAGIC_FILTER}, /* lzop */
    {0, 4, "PK\x03\x04", SRC_MAGIC_ARCHIVE},               /* zip */
    {0, 4, "PK\x05\x06", SRC_MAGIC_ARCHIVE},               /* empty zip */
    {0, 4, "PK\x07\x08", SRC_MAGIC_ARCHIVE},               /* spanned zip */
    {0, 6, "7z\xBC\xAF\x27\x1C", SRC_MAGIC_ARCHIVE},
    {0, 6, "Rar!\x1A\x07", SRC_MAGIC_ARCHIVE},
    {0, 6, "070701", SRC_MAGIC_ARCHIVE},                   /* cpio newc */
    {0, 6, "070702", SRC_MAGIC_ARCHIVE},                   /* cpio crc */
    {0, 6, "070707", SRC_MAGIC_ARCHIVE},                   /* cpio odc */
    {0, 2, "\xC7\x71", SRC_MAGIC_ARCHIVE},                 /* cpio binary, LE */
    {0, 2, "\x71\xC7", SRC_MAGIC_ARCHIVE},                 /* cpio binary, BE */
    {0, 8, "!<arch>\n", SRC_MAGIC_ARCHIVE},
    {0, 4, "xar!", SRC_MAGIC_ARCHIVE},
    {0, 4, "MSCF", SRC_MAGIC_ARCHIVE},                     /* cab */
    {257, 5, "ustar", SRC_MAGIC_ARCHIVE},                  /* POSIX and GNU tar */
};

/* A pre-POSIX (v7) tar header has no magic, only a checksum: the sum of the header
 * bytes with the checksum field read as spaces, written in octal at offset 148. */
static bool tar_checksum_ok(const unsigned char *p)
{
    unsigned long want = 0;
    size_t i = 148;
    while (i < 156 && p[i] == ' ')
        i++;
    if (i == 156 || p[i] < '0' || p[i] > '7')
        return false;
    while (i < 156 && p[i] >= '0' && p[i] <= '7')
        want = want * 8 + (unsigned long)(p[i++] - '0');
    unsigned long sum = 0;
    for (i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : p[i];
    return sum == want;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

enum src_magic src_sniff(const unsigned char *p, size_t n, bool at_eof)
{
    /* zstd skippable frames (0x184D2A50..5F, little endian) may precede the data. */
    if (n >= 4 && (p[0] & 0xF0) == 0x50 && p[1] == 0x2A && p[2] == 0x4D && p[3] == 0x18)
        return SRC_MAGIC_ZSTD;
    if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9')
        return SRC_MAGIC_FILTER; /* bzip2 */
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        const struct magic *m = &magics[i];
        if (n >= m->off + m->len && memcmp(p + m->off, m->bytes, m->len) == 0)
            return m->kind;
    }
    /* A v7 tar has no magic, only a header checksum. */
    if (n >= 512 && tar_checksum_ok(p))
        return SRC_MAGIC_ARCHIVE;
    /* An empty tar is nothing but zero blocks (two at least). A log that merely
     * starts with zeros (copytruncate rotation leaves a NUL prefix) is text: only a
     * file that is zeros to its end, within the window, is taken for a tar. */
    if (at_eof && n >= 1024 && all_zero(p, n))
        return SRC_MAGIC_ARCHIVE;
    return SRC_MAGIC_NONE;
}
