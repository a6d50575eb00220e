/* handoff.c -- batches of copied events between two threads; see handoff.h. */
#include "handoff.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBATCH 4           /* in flight: bounds memory */
#define BATCH_EVENTS 1024
#define BATCH_BYTES ((size_t)1 << 20)

struct item {
    bool is_diag;
    int diag_kind;
    uint64_t diag_line;
    const char *diag_stream, *diag_text; /* in the batch's arena */
    struct event ev;
};

struct batch {
    struct arena arena;
    struct item *items;
    size_t n;
    struct batch *next;
    const char *stream_src;  /* the last stream name seen, and its copy here */
    const char *stream_copy;
};

struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t can_take, can_give;
    struct batch *ready_head, *ready_tail; /* published, in order */
    struct batch *spare;                   /* consumed, for reuse */
    size_t allocated;                      /* batches that exist */
    struct batch *filling;                 /* the producer's */
    struct batch *taking;                  /* the consumer's */
    size_t pos;
    bool closed, cancelled;
};

struct handoff *handoff_create(void)
{
    struct handoff *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->can_take, NULL);
    pthread_cond_init(&h->can_give, NULL);
    return h;
}

static void batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    arena_free(&b->arena);
    free(b->items);
    free(b);
}

void handoff_destroy(struct handoff *h)
{
    if (h == NULL)
        return;
    struct batch *lists[] = {h->ready_head, h->spare};
    for (size_t i = 0; i < 2; i++)
        for (struct batch *b = lists[i]; b != NULL;) {
            struct batch *next = b->next;
            batch_free(b);
            b = next;
        }
    batch_free(h->filling);
    batch_free(h->taking);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->can_take);
    pthread_cond_destroy(&h->can_give);
    free(h);
}

/* Producer: a batch to fill, waiting while every batch is in flight. */
static struct batch *get_batch(struct handoff *h)
{
    pthread_mutex_lock(&h->mu);
    while (h->spare == NULL && h->allocated >= NBATCH && !h->cancelled)
        pthread_cond_wait(&h->can_give, &h->mu);
    struct batch *b = NULL;
    if (!h->cancelled) {
        if (h->spare != NULL) {
            b = h->spare;
            h->spare = b->next;
        } else if ((b = calloc(1, sizeof(*b))) != NULL) {
            b->items = malloc(BATCH_EVENTS * sizeof(*b->items));
            if (b->items == NULL) {
                free(b);
                b = NULL;
            } else {
                arena_init(&b->arena, 0);
                h->allocated++;
            }
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (b != NULL) {
        b->n = 0;
        b->next = NULL;
        b->stream_src = b->stream_copy = NULL;
        arena_reset(&b->arena);
    }
    return b;
}

static void publish(struct handoff *h)
{
    struct batch *b = h->filling;
    h->filling = NULL;
    if (b == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    if (h->ready_tail)
        h->ready_tail->next = b;
    else
        h->ready_head = b;
    h->ready_tail = b;
    pthread_cond_signal(&h->can_take);
    pthread_mutex_unlock(&h->mu);
}

static struct item *slot(struct handoff *h)
{
    if (h->filling != NULL && (h->filling->n == BATCH_EVENTS || h->filling->arena.used_total > BATCH_BYTES))
        publish(h);
    if (h->filling == NULL && (h->filling = get_batch(h)) == NULL)
        return NULL;
    return &h->filling->items[h->filling->n];
}

int handoff_event(struct handoff *h, const struct event *ev)
{
    struct item *it = slot(h);
    if (it == NULL)
        return -1;
    it->is_diag = false;
    /* Events of a batch mostly come from one stream: copy its name once. */
    struct batch *b = h->filling;
    /* A name freed and another made at the same address is not the same name. */
    if (ev->src.stream != NULL &&
        (ev->src.stream != b->stream_src || b->stream_copy == NULL || strcmp(b->stream_copy, ev->src.stream) != 0)) {
        b->stream_copy = arena_strndup(&b->arena, ev->src.stream, strlen(ev->src.stream));
        b->stream_src = b->stream_copy ? ev->src.stream : NULL;
    }
    if (ev_clone_with_stream(&it->ev, ev, &b->arena, ev->src.stream ? b->stream_copy : NULL) != 0)
        return -1;
    h->filling->n++;
    return 0;
}

int handoff_diag(struct handoff *h, int kind, const char *stream, uint64_t line, const char *text)
{
    struct item *it = slot(h);
    if (it == NULL)
        return -1;
    it->is_diag = true;
    it->diag_kind = kind;
    it->diag_line = line;
    it->diag_stream = stream ? arena_strndup(&h->filling->arena, stream, strlen(stream)) : NULL;
    it->diag_text = arena_strndup(&h->filling->arena, text, strlen(text));
    if (it->diag_text == NULL)
        return -1;
    h->filling->n++;
    return 0;
}

void handoff_close(struct handoff *h)
{
    publish(h);
    pthread_mutex_lock(&h->mu);
    h->closed = true;
    pthread_cond_signal(&h->can_take);
    pthread_mutex_unlock(&h->mu);
}

void handoff_cancel(struct handoff *h)
{
    pthread_mutex_lock(&h->mu);
    h->cancelled = true;
    pthread_cond_broadcast(&h->can_give);
    pthread_mutex_unlock(&h->mu);
}

int handoff_next(struct handoff *h, const struct event **ev, int *diag_kind, const char **diag_stream,
                 uint64_t *diag_line, const char **diag_text)
{
    while (h->taking == NULL || h->pos == h->taking->n) {
        pthread_mutex_lock(&h->mu);
        if (h->taking != NULL) {
            /* Done with it: back to the producer. */
            h->taking->next = h->spare;
            h->spare = h->taking;
            h->taking = NULL;
            pthread_cond_signal(&h->can_give);
        }
        while (h->ready_head == NULL && !h->closed)
            pthread_cond_wait(&h->can_take, &h->mu);
        if (h->ready_head == NULL) {
            pthread_mutex_unlock(&h->mu);
            return 0;
        }
        h->taking = h->ready_head;
        h->ready_head = h->taking->next;
        if (h->ready_head == NULL)
            h->ready_tail = NULL;
        h->pos = 0;
        pthread_mutex_unlock(&h->mu);
    }
    const struct item *it = &h->taking->items[h->pos++];
    if (it->is_diag) {
        *diag_kind = it->diag_kind;
        *diag_stream = it->diag_stream;
        *diag_line = it->diag_line;
        *diag_text = it->diag_text;
        return 2;
    }
    *ev = &it->ev;
    return 1;
}
