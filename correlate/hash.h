/* hash.h -- FNV-1a 64: stable across runs and machines, for ids and fingerprints. */
#ifndef PYCORR_HASH_H
#define PYCORR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT 14695981039346656037ULL

static inline uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

/* Hash a field and a separator, so ("ab","c") and ("a","bc") differ. */
static inline uint64_t hash_field(uint64_t h, const void *p, size_t n)
{
    h = hash_bytes(h, p, n);
    return (h ^ 0xffu) * 1099511628211ULL;
}

#endif
