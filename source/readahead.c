/* readahead.c -- run a chain on a second thread so decoding and parsing overlap.
 *
 * The thread reads the chain and copies each chunk into a ring of SRC_RA_SLOTS
 * buffers; the consumer takes them in order. The copy decouples lifetimes: a chain's
 * chunk is only valid until its next read, but the consumer may still hold one slot
 * while the thread fills the others. Memory stays bounded by slots times chunk size.
 *
 * Ownership: slots [head, head + count) belong to the consumer side (the first may be
 * the one it is reading), the others to the thread; head and count change only under
 * the mutex, so a slot is never written and read at the same time. The thread owns
 * the whole chain until it is joined.
 */
#include "src_private.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct ra_slot {
    char *buf;
    long len;       /* > 0 data, 0 end, -1 error (the last slot the thread fills) */
    uint64_t done;  /* raw progress when this chunk was produced */
};

struct src_ra {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    struct src_reader *top;
    const struct src_fd *raw;
    size_t chunk;
    struct ra_slot slots[SRC_RA_SLOTS];
    unsigned head, count; /* under mu */
    bool stop;            /* under mu: the consumer is closing */
    char err[SRC_ERRSZ];  /* written by the thread before it publishes the -1 slot */

    /* Consumer side only. */
    bool holding;         /* slots[head] was handed out and is released next call */
    bool finished;
    long final;
};

/* Wait for a free slot; false when the consumer is closing. */
static bool wait_free(struct src_ra *ra)
{
    pthread_mutex_lock(&ra->mu);
    while (ra->count == SRC_RA_SLOTS && !ra->stop)
        pthread_cond_wait(&ra->not_full, &ra->mu);
    bool go = !ra->stop;
    pthread_mutex_unlock(&ra->mu);
    return go;
}

static void publish(struct src_ra *ra)
{
    pthread_mutex_lock(&ra->mu);
    ra->count++;
    pthread_cond_signal(&ra->not_empty);
    pthread_mutex_unlock(&ra->mu);
}

static void *ra_main(void *arg)
{
    struct src_ra *ra = arg;
    unsigned tail = 0; /* always (head + count) % SRC_RA_SLOTS: the next free slot */
    for (;;) {
        const char *p = NULL;
        char why[SRC_ERRSZ] = "";
        long n = ra->top->read(ra->top, &p, why);
        uint64_t done = ra->raw != NULL ? ra->raw->done : 0;
        size_t off = 0;
        /* A chunk larger than a slot (libarchive hands out its own block sizes) is
         * split over several slots; end and error take one slot each. */
        do {
            if (!wait_free(ra))
                return NULL;
            struct ra_slot *sl = &ra->slots[tail];
            if (n > 0) {
                size_t piece = (size_t)n - off;
                if (piece > ra->chunk)
                    piece = ra->chunk;
                memcpy(sl->buf, p + off, piece);
                sl->len = (long)piece;
                off += piece;
            } else {
                sl->len = n;
                if (n < 0)
                    memcpy(ra->err, why, sizeof ra->err);
            }
            sl->done = done;
            publish(ra);
            tail = (tail + 1) % SRC_RA_SLOTS;
        } while (n > 0 && off < (size_t)n);
        if (n <= 0)
            return NULL;
    }
}

struct src_ra *src_ra_start(struct src_reader *top, const struct src_fd *raw, size_t chunk)
{
    struct src_ra *ra = calloc(1, sizeof *ra);
    if (ra == NULL)
        return NULL;
    ra->top = top;
    ra->raw = raw;
    ra->chunk = chunk;
    for (int i = 0; i < SRC_RA_SLOTS; i++) {
        if ((ra->slots[i].buf = malloc(chunk)) == NULL)
            goto fail;
    }
    if (pthread_mutex_init(&ra->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&ra->not_empty, NULL) != 0) {
        pthread_mutex_destroy(&ra->mu);
        goto fail;
    }
    if (pthread_cond_init(&ra->not_full, NULL) != 0) {
        pthread_cond_destroy(&ra->not_empty);
        pthread_mutex_destroy(&ra->mu);
        goto fail;
    }
    /* Signals belong to the main thread, which polls the flags their handlers set:
     * the reader is started with every signal blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&ra->thread, NULL, ra_main, ra);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&ra->not_full);
        pthread_cond_destroy(&ra->not_empty);
        pthread_mutex_destroy(&ra->mu);
        goto fail;
    }
    return ra;
fail:
    for (int i = 0; i < SRC_RA_SLOTS; i++)
        free(ra->slots[i].buf);
    free(ra);
    return NULL;
}

long src_ra_next(struct src_ra *ra, const char **data, uint64_t *done, char err[SRC_ERRSZ])
{
    if (ra->finished) {
        if (ra->final < 0)
            memcpy(err, ra->err, SRC_ERRSZ);
        return ra->final;
    }
    pthread_mutex_lock(&ra->mu);
    if (ra->holding) {
        ra->head = (ra->head + 1) % SRC_RA_SLOTS;
        ra->count--;
        ra->holding = false;
        pthread_cond_signal(&ra->not_full);
    }
    while (ra->count == 0)
        pthread_cond_wait(&ra->not_empty, &ra->mu);
    struct ra_slot *sl = &ra->slots[ra->head];
    pthread_mutex_unlock(&ra->mu);
    *done = sl->done;
    if (sl->len > 0) {
        ra->holding = true;
        *data = sl->buf;
        return sl->len;
    }
    ra->finished = true;
    ra->final = sl->len;
    if (ra->final < 0)
        memcpy(err, ra->err, SRC_ERRSZ);
    return ra->final;
}

void src_ra_stop(struct src_ra *ra)
{
    if (ra == NULL)
        return;
    pthread_mutex_lock(&ra->mu);
    ra->stop = true;
    pthread_cond_broadcast(&ra->not_full);
    pthread_mutex_unlock(&ra->mu);
    /* A thread inside a read(2) finishes that read first; for files that is short.
     * On a pipe it waits for the writer, as a synchronous read would have. */
    pthread_join(ra->thread, NULL);
    pthread_cond_destroy(&ra->not_full);
    pthread_cond_destroy(&ra->not_empty);
    pthread_mutex_destroy(&ra->mu);
    for (int i = 0; i < SRC_RA_SLOTS; i++)
        free(ra->slots[i].buf);
    free(ra);
}
