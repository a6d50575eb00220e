/* hugepage.h -- ask the kernel to back a large heap block with transparent huge pages.
 *
 * Tables that grow to tens of MiB and are touched at random (pickle memo and nodes,
 * hash tables) otherwise take one page fault per 4 KiB on first touch; on the build VM
 * that was an eighth of the time spent loading a large tracemalloc dump. With THP in
 * "madvise" mode (Debian's default) the hint turns those into one fault per 2 MiB.
 * It is only a hint: blocks under 4 MiB are left alone, failures are ignored, and on
 * systems without MADV_HUGEPAGE it compiles to nothing. */
#ifndef PYCORR_HUGEPAGE_H
#define PYCORR_HUGEPAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

static inline void hugepage_hint(void *block, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t page = 4096;
    if (block == NULL || bytes < ((size_t)4 << 20))
        return;
    /* madvise wants a page-aligned start; malloc's large blocks start just past one. */
    uintptr_t start = ((uintptr_t)block + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)block + bytes) & ~(page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)block;
    (void)bytes;
#endif
}

/* A block of at least *bytes that huge pages can back whole: 2 MiB-aligned, its size
 * rounded up to 2 MiB (written back to *bytes), hinted. For a buffer touched all over
 * for a long time, such as a decoder's window: with 4 KiB pages each reach back into
 * 2 MiB of window may miss the TLB. Free it with free(). NULL when out of memory. */
static inline void *hugepage_alloc(size_t *bytes)
{
    const size_t huge = (size_t)2 << 20;
    size_t n = (*bytes + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, n);
    if (p == NULL)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    *bytes = n;
    return p;
}

#endif
