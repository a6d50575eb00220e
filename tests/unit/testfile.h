/* testfile.h -- reading a test's data file whole, for the unit tests. */
#ifndef PYCORR_TESTFILE_H
#define PYCORR_TESTFILE_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file at path, NUL-terminated, its length in *len; NULL (with *len 0)
 * when it cannot be opened or memory runs out. The caller frees it. */
static inline char *test_read_file(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (nb == NULL)
            free(buf);
        buf = nb;
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

#endif
