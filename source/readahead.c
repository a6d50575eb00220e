/* readahead.c -- a ring of chunks read ahead of the consumer, filled by a thread of
 * its own or by whichever thread has nothing better to do.
 *
 * The ring holds nslots chunks. In thread mode a reading thread runs the chain and
 * fills free slots as they come back. In cooperative mode there is no such thread:
 * the consumer fills the slot it needs when it finds none ready, and any other
 * thread may call src_ra_help to fill one ahead. On two CPUs both already parse and
 * analyze; a third thread that decompresses only takes turns with them, while a
 * thread that would otherwise wait can decompress in that time instead.
 *
 * A slot may also carry a note: what a parser works out from a chunk's bytes alone
 * (where its lines start, what their prefixes say), computed by src_ra_help ahead of
 * the consumer, so that work too moves to whichever thread is idle. A helper may
 * note the chunk the consumer holds, while the consumer reads it: the note's format
 * (the parser's) keeps the two apart, so a note begun is never wasted.
 *
 * Ownership, all under mu: slots [head, head + count) are filled, the first of them
 * held by the consumer when holding is set; the others are free. Only the thread
 * that set `reading` touches the chain (and the slot at the tail). A note marked
 * busy is being written by a helper; its slot is not filled again until the helper
 * is done.
 */
#include "src_private.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

enum note_state { NOTE_NONE = 0, NOTE_BUSY, NOTE_DONE };

#define RA_HELP_RUN 8 /* chunks a helper reads ahead per call, at most */

struct ra_slot {
    char *buf;             /* the slot's own bytes */
    const char *data;      /* the chunk: buf, or bytes the chain lent */
    long len;              /* > 0 data, 0 end, -1 error (the last slot filled) */
    uint64_t done;         /* raw progress when this chunk was produced */
    void *note;            /* note_cap bytes, when notes were asked for */
    enum note_state note_state;
};

struct src_ra {
    pthread_t thread;
    bool has_thread;
    pthread_mutex_t mu;
    pthread_cond_t not_empty; /* a slot was filled */
    pthread_cond_t not_full;  /* a slot was freed, or the chain was let go */
    pthread_cond_t note_idle; /* a helper finished a note */
    struct src_reader *top;
    const struct src_fd *raw;
    size_t chunk;
    unsigned nslots;
    bool borrow;          /* the chain lends: slots point into it, no copy */
    struct ra_slot *slots;
    unsigned head, count; /* under mu */
    atomic_uint filled;   /* slots published so far, readable without mu */
    bool holding;         /* under mu: slots[head] is the consumer's */
    bool reading;         /* under mu: a thread is in the chain */
    bool at_end;          /* under mu: the end (or error) slot is filled: no more reads */
    bool stop;            /* under mu: closing */
    char err[SRC_ERRSZ];  /* written by the reader before it publishes the -1 slot */

    /* What the chain last handed out and did not fit in one slot; the reader's. */
    const char *pend;
    size_t pend_len;

    src_note_fn note_fn; /* under mu */
    size_t note_cap;

    /* Consumer side only. */
    bool finished;
    long final;
};

/* Fill slot sl from the chain; called by the one thread that set `reading`. */
static void produce(struct src_ra *ra, struct ra_slot *sl)
{
    char why[SRC_ERRSZ] = "";
    long n;
    sl->data = sl->buf;
    if (ra->borrow) {
        /* The decoder's own output, kept for us (SRC_LEND_KEEP): no copy. */
        n = ra->top->lend(ra->top, &sl->data, ra->chunk, why);
    } else if (ra->pend_len == 0 && ra->top->read_into != NULL) {
        /* Straight into the slot: no copy. */
        n = ra->top->read_into(ra->top, sl->buf, ra->chunk, why);
    } else {
        if (ra->pend_len == 0) {
            const char *p = NULL;
            n = ra->top->read(ra->top, &p, why);
            if (n > 0) {
                ra->pend = p;
                ra->pend_len = (size_t)n;
            }
        } else {
            n = 1;
        }
        if (n > 0) {
            /* A chunk larger than a slot (libarchive hands out its own block
             * sizes) is spread over several. */
            size_t piece = ra->pend_len < ra->chunk ? ra->pend_len : ra->chunk;
            memcpy(sl->buf, ra->pend, piece);
            ra->pend += piece;
            ra->pend_len -= piece;
            n = (long)piece;
        }
    }
    sl->len = n;
    if (n < 0)
        memcpy(ra->err, why, sizeof ra->err);
    sl->done = ra->raw != NULL ? ra->raw->done : 0;
}

/* Under mu: take the chain to fill the tail slot, if it is free and nobody is in
 * the chain. Returns the slot, with mu released, or NULL with mu still held. */
static struct ra_slot *claim_tail(struct src_ra *ra)
{
    if (ra->reading || ra->at_end || ra->stop || ra->count == ra->nslots)
        return NULL;
    struct ra_slot *sl = &ra->slots[(ra->head + ra->count) % ra->nslots];
    if (sl->note_state == NOTE_BUSY)
        return NULL; /* freed while a helper noted it: not yet */
    sl->note_state = NOTE_NONE; /* a note of what the slot held before */
    if (sl->note != NULL)
        memset(sl->note, 0, SRC_NOTE_ZEROED);
    ra->reading = true;
    pthread_mutex_unlock(&ra->mu);
    return sl;
}

/* After produce: publish the slot (takes mu, leaves it held). */
static void publish(struct src_ra *ra, struct ra_slot *sl)
{
    pthread_mutex_lock(&ra->mu);
    ra->reading = false;
    ra->count++;
    atomic_fetch_add_explicit(&ra->filled, 1, memory_order_release);
    if (sl->len <= 0)
        ra->at_end = true;
    pthread_cond_broadcast(&ra->not_empty);
    pthread_cond_broadcast(&ra->not_full);
}

static void *ra_main(void *arg)
{
    struct src_ra *ra = arg;
    pthread_mutex_lock(&ra->mu);
    for (;;) {
        struct ra_slot *sl = claim_tail(ra);
        if (sl == NULL) {
            if (ra->stop || ra->at_end)
                break;
            pthread_cond_wait(&ra->not_full, &ra->mu);
            continue;
        }
        produce(ra, sl);
        publish(ra, sl);
    }
    pthread_mutex_unlock(&ra->mu);
    return NULL;
}

static void ra_free(struct src_ra *ra)
{
    if (ra->slots != NULL)
        for (unsigned i = 0; i < ra->nslots; i++) {
            free(ra->slots[i].buf);
            free(ra->slots[i].note);
        }
    free(ra->slots);
    free(ra);
}

struct src_ra *src_ra_start(struct src_reader *top, const struct src_fd *raw, size_t chunk, unsigned nslots,
                            bool coop)
{
    struct src_ra *ra = calloc(1, sizeof *ra);
    if (ra == NULL)
        return NULL;
    ra->top = top;
    ra->raw = raw;
    ra->chunk = chunk;
    ra->nslots = nslots < 2 ? 2 : nslots;
    /* The chunks alive at once (the slots, one of them being filled) must all be
     * within what a lending chain keeps. */
    ra->borrow = top->lend != NULL && (size_t)ra->nslots * chunk <= SRC_LEND_KEEP;
    if ((ra->slots = calloc(ra->nslots, sizeof *ra->slots)) == NULL) {
        ra_free(ra);
        return NULL;
    }
    for (unsigned i = 0; i < ra->nslots && !ra->borrow; i++)
        if ((ra->slots[i].buf = malloc(chunk)) == NULL) {
            ra_free(ra);
            return NULL;
        }
    pthread_mutex_init(&ra->mu, NULL);
    pthread_cond_init(&ra->not_empty, NULL);
    pthread_cond_init(&ra->not_full, NULL);
    pthread_cond_init(&ra->note_idle, NULL);
    if (!coop) {
        /* Signals belong to the main thread, which polls the flags their handlers
         * set: the reader is started with every signal blocked. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&ra->thread, NULL, ra_main, ra);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            pthread_cond_destroy(&ra->note_idle);
            pthread_cond_destroy(&ra->not_full);
            pthread_cond_destroy(&ra->not_empty);
            pthread_mutex_destroy(&ra->mu);
            ra_free(ra);
            return NULL;
        }
        ra->has_thread = true;
    }
    return ra;
}

int src_ra_set_note(struct src_ra *ra, src_note_fn fn, size_t cap)
{
    void **bufs = calloc(ra->nslots, sizeof *bufs);
    if (bufs == NULL)
        return -1;
    cap = (cap + 63) & ~(size_t)63;
    if (cap < SRC_NOTE_ZEROED)
        cap = SRC_NOTE_ZEROED;
    for (unsigned i = 0; i < ra->nslots; i++)
        if ((bufs[i] = aligned_alloc(64, cap)) == NULL) {
            for (unsigned k = 0; k < i; k++)
                free(bufs[k]);
            free(bufs);
            return -1;
        }
    pthread_mutex_lock(&ra->mu);
    /* No note can be busy: none was asked for before. */
    for (unsigned i = 0; i < ra->nslots; i++) {
        free(ra->slots[i].note);
        memset(bufs[i], 0, SRC_NOTE_ZEROED);
        ra->slots[i].note = bufs[i];
        ra->slots[i].note_state = NOTE_NONE;
    }
    ra->note_fn = fn;
    ra->note_cap = cap;
    pthread_mutex_unlock(&ra->mu);
    free(bufs);
    return 0;
}

int src_ra_help(struct src_ra *ra)
{
    pthread_mutex_lock(&ra->mu);
    /* Reading ahead first: the consumer needs every chunk, a note only speeds one. */
    if (!ra->has_thread) {
        struct ra_slot *sl = claim_tail(ra);
        if (sl != NULL) {
            /* A run of chunks, not one: a decoder's tables and recent output
             * then stay in this core's cache from block to block, instead of
             * being fetched again after each turn at the helper's own work (on
             * .zst JSON lines, 2% less CPU with runs of eight). Not when chunks
             * get notes: a chunk noted is worth more than one more read ahead,
             * and a run left the text parser to read its prefixes itself. */
            int run = ra->note_fn != NULL ? 1 : RA_HELP_RUN;
            for (int k = 0; sl != NULL; k++) {
                produce(ra, sl);
                publish(ra, sl);
                sl = k + 1 < run ? claim_tail(ra) : NULL;
            }
            pthread_mutex_unlock(&ra->mu);
            return 1;
        }
    }
    if (ra->note_fn != NULL && !ra->stop) {
        /* The consumer's own chunk too: it reads from the front, a note is made
         * from the back, and they stop where they meet. */
        for (unsigned k = 0; k < ra->count; k++) {
            struct ra_slot *sl = &ra->slots[(ra->head + k) % ra->nslots];
            if (sl->len <= 0 || sl->note_state != NOTE_NONE)
                continue;
            sl->note_state = NOTE_BUSY;
            src_note_fn fn = ra->note_fn;
            size_t cap = ra->note_cap;
            pthread_mutex_unlock(&ra->mu);
            fn(sl->data, (size_t)sl->len, sl->note, cap);
            pthread_mutex_lock(&ra->mu);
            sl->note_state = NOTE_DONE;
            pthread_cond_broadcast(&ra->note_idle);
            pthread_mutex_unlock(&ra->mu);
            return 1;
        }
    }
    pthread_mutex_unlock(&ra->mu);
    return 0;
}

/* Under mu, a helper reading the next chunk: wait for it without sleeping, a
 * while (a chunk takes tens of microseconds to decode, and in a VM waking a
 * sleeping thread costs as much: a .zst run slept and woke some 400 times).
 * mu is released meanwhile and held again on return. */
static void wait_briefly(struct src_ra *ra)
{
    unsigned seen = atomic_load_explicit(&ra->filled, memory_order_acquire);
    pthread_mutex_unlock(&ra->mu);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool got = false;
    for (unsigned i = 1; !got; i++) {
        got = atomic_load_explicit(&ra->filled, memory_order_acquire) != seen;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (!got && (i & 255) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 300000)
                break;
        }
    }
    pthread_mutex_lock(&ra->mu);
}

long src_ra_next(struct src_ra *ra, const char **data, const void **note, uint64_t *done, char err[SRC_ERRSZ])
{
    *note = NULL;
    if (ra->finished) {
        if (ra->final < 0)
            memcpy(err, ra->err, SRC_ERRSZ);
        return ra->final;
    }
    pthread_mutex_lock(&ra->mu);
    if (ra->holding) {
        /* Freed even while a helper still notes it (it was taken without the
         * note): claim_tail waits for that note before the slot is filled again. */
        ra->head = (ra->head + 1) % ra->nslots;
        ra->count--;
        ra->holding = false;
        pthread_cond_broadcast(&ra->not_full);
    }
    bool spun = false;
    while (ra->count == 0) {
        struct ra_slot *sl = ra->has_thread ? NULL : claim_tail(ra);
        if (sl != NULL) {
            /* Nothing read ahead: read it here. */
            produce(ra, sl);
            publish(ra, sl);
            continue;
        }
        /* The thread or a helper is reading, or (the ring went round) a helper
         * still notes the slot to fill next. A helper's chunk comes soon: wait
         * for it awake once, then asleep (the loop checks again under mu before
         * it sleeps, so no wake-up is lost). */
        if (!ra->has_thread && !ra->reading)
            pthread_cond_wait(&ra->note_idle, &ra->mu);
        else if (!ra->has_thread && !spun) {
            spun = true;
            wait_briefly(ra);
        } else
            pthread_cond_wait(&ra->not_empty, &ra->mu);
    }
    struct ra_slot *sl = &ra->slots[ra->head];
    ra->holding = true;
    *note = sl->note;
    pthread_mutex_unlock(&ra->mu);
    *done = sl->done;
    if (sl->len > 0) {
        *data = sl->data;
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
    /* A helper inside the chain or a note finishes that first. */
    for (;;) {
        bool busy = ra->reading && !ra->has_thread;
        for (unsigned i = 0; i < ra->nslots && !busy; i++)
            busy = ra->slots[i].note_state == NOTE_BUSY;
        if (!busy)
            break;
        pthread_cond_wait(ra->reading ? &ra->not_empty : &ra->note_idle, &ra->mu);
    }
    pthread_mutex_unlock(&ra->mu);
    /* A thread inside a read(2) finishes that read first; for files that is short.
     * On a pipe it waits for the writer, as a synchronous read would have. */
    if (ra->has_thread)
        pthread_join(ra->thread, NULL);
    pthread_cond_destroy(&ra->note_idle);
    pthread_cond_destroy(&ra->not_full);
    pthread_cond_destroy(&ra->not_empty);
    pthread_mutex_destroy(&ra->mu);
    ra_free(ra);
}
