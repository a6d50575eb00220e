/* handoff.c -- batches of copied events between two threads; see handoff.h.
 *
 * A batch is a byte buffer of records written one after another, plus an arena for
 * what does not pack. Plain log events (most of any log) are packed: the scalar
 * fields and the strings that are present, each NUL-terminated, about a third of
 * the bytes of a struct event with its strings beside it. The consumer unpacks a
 * record into one event of its own, so what crosses between the cores (and their
 * caches) is the packed bytes, not a struct per event. Other kinds, with payloads
 * (chains, snapshots, dumps), are deep-copied into the arena as before.
 *
 * A side that finds nothing to take (or no room) first does what help work
 * there is (reading ahead, noting chunks: see handoff_set_help), then spins up to
 * half a millisecond before it sleeps. In a VM, waking a sleeping thread costs tens of microseconds (its CPU
 * went idle and the host must run it again); sleeping on every batch made the
 * two threads take turns and a threaded run slower than one thread. A batch
 * takes about 0.2 ms to fill, so a side that waits finds its batch while
 * spinning, and the other side skips the wake-up call, since nobody sleeps
 * (a 256 MB text log: 28 context switches instead of 1400).
 */
#include "handoff.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE2__) && !defined(HANDOFF_PORTABLE)
#include <emmintrin.h>
#define HO_STREAM 1
#endif

#define NBATCH 4                      /* in flight: bounds memory */
#define BATCH_EVENTS 1024             /* records per batch, at most */
#define BATCH_BUF ((size_t)128 << 10) /* a batch's record buffer; grows for a larger record */
#define BATCH_ARENA ((size_t)1 << 20) /* published early when its arena holds this much */
#define SPIN_NS 500000                /* how long a waiting side spins before it sleeps */
#define RAW_SCALE 64                  /* handoff_offload's steps */

enum rec_tag { REC_LOG = 1, REC_LINE, REC_EVENT, REC_DIAG, REC_RAW };

/* The strings of an event, in packing order. */
#define NSTR 8
static ev_str *event_strs(struct event *ev, ev_str *out[NSTR])
{
    out[0] = &ev->service;
    out[1] = &ev->host;
    out[2] = &ev->logger;
    out[3] = &ev->thread;
    out[4] = &ev->message;
    out[5] = &ev->trace_id;
    out[6] = &ev->span_id;
    out[7] = &ev->stream_name;
    return out[0];
}

/* A packed log event; the present strings follow, each as a uint32_t length, the
 * bytes and a NUL. */
struct rec_log {
    uint8_t tag;
    uint8_t level;
    uint8_t has_ts;
    uint8_t strmask;    /* bit i: string i of event_strs() is present */
    uint32_t size;      /* of the whole record, padded */
    int64_t ts_ns;
    int64_t pid;
    uint64_t line;
    const char *stream; /* the batch's copy of the stream name */
};

/* A plain log line (struct ev_line): the part of the line from its first slice
 * on follows, once, with the offsets rebased onto it; then the stream name (its
 * pointer) when the line has one. Kept small: it is most of a text log's
 * records, and every byte crosses to the other core. Lines this cannot describe
 * (64 KiB and more, a pid beyond 32 bits) go as events. */
struct rec_line {
    uint8_t tag;
    uint8_t level;
    uint8_t has_ts;
    uint8_t has_stream_name;
    uint32_t size;
    int64_t ts_ns;
    uint64_t line;
    const char *stream; /* the batch's copy of the stream name */
    int32_t pid;
    uint16_t len, logger_off, logger_len, thread_off, thread_len, msg_off;
};

struct rec_line_name {
    const char *ptr; /* as the parser gave it: it outlives the run */
    uint32_t len;
};

/* Any other event (deep-copied into the batch's arena), or a diagnostic. */
struct rec_ref {
    uint8_t tag;
    uint32_t size;
    const struct event *ev; /* REC_EVENT */
    int diag_kind;          /* REC_DIAG */
    uint64_t diag_line;
    const char *diag_stream, *diag_text; /* in the batch's arena */
};

/* A line for the consumer to parse; its bytes follow. */
struct rec_raw {
    uint8_t tag;
    uint32_t size;
    uint32_t len;
    uint64_t line;
    const char *stream; /* the batch's copy of the stream name */
    const void *parser;
};

/* A batch's own fields are written by the producer per event: on a cache line
 * of their own (batches allocated side by side shared one, and the consumer's
 * reads of one batch slowed the producer's writes to the next). */
struct batch {
    alignas(64) char *buf;
    size_t len, cap;
    size_t n;           /* records */
    struct arena arena;
    struct batch *next;
    const char *stream_src; /* the last stream name seen, and its copy here */
    const char *stream_copy;
    uint64_t stream_gen;    /* the announcement stream_src was seen under, or 0 */
};

struct handoff {
    /* Shared, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t can_take, can_give;
    struct batch *ready_head, *ready_tail; /* published, in order */
    struct batch *spare;                   /* consumed, for reuse */
    size_t allocated;                      /* batches that exist */
    bool closed, cancelled;
    bool consumer_sleeps, producer_sleeps;
    /* What the lists hold, readable without the lock for spinning. */
    alignas(64) atomic_size_t nready;
    alignas(64) atomic_size_t nspare;
    atomic_bool closed_flag;
    /* Each side's own state on cache lines of its own: the producer touches
     * filling and the consumer pos on every event, and sharing a line made it
     * travel between the cores on every event (a threaded run was slower than
     * one thread). */
    alignas(64) struct batch *filling;     /* the producer's */
    const char *announced;                 /* handoff_stream's name, and its count */
    uint64_t announced_gen;
    unsigned raw_share;                    /* lines in RAW_SCALE that go raw */
    unsigned raw_acc;
    bool raw_fixed;                        /* handoff_fix_offload */
    alignas(64) struct batch *taking;      /* the consumer's */
    size_t pos;                            /* the consumer's offset in taking->buf */
    const char *take_buf;                  /* taking->buf and ->len, read once */
    size_t take_len;
    struct event unpacked;                 /* the consumer's event of a packed record */
    bool unpacked_ready;                   /* unpacked holds ev_init's defaults but for
                                              the fields a packed record sets */
    /* Set before the threads start, read-only after. */
    int (*help)(void *ctx);
    void *help_ctx;
};

void handoff_set_help(struct handoff *h, int (*help)(void *ctx), void *ctx)
{
    h->help = help;
    h->help_ctx = ctx;
}

struct handoff *handoff_create(void)
{
    /* Aligned as its members are: calloc gives 16 bytes, and the sides' fields
     * would share lines with each other and with whatever malloc put beside. */
    size_t size = (sizeof(struct handoff) + 63) & ~(size_t)63;
    struct handoff *h = aligned_alloc(64, size);
    if (h == NULL)
        return NULL;
    memset(h, 0, size);
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
    free(b->buf);
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

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spin until *count is non-zero (or *flag is set); false when the spin ran out. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool spin_for(const struct handoff *h, atomic_size_t *count, atomic_bool *flag)
{
    /* Bounded by time, not rounds: a pause lasts 10 to 140 cycles by CPU. */
    int64_t until = 0;
    bool try_help = h->help != NULL;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(count, memory_order_acquire) != 0 ||
            (flag != NULL && atomic_load_explicit(flag, memory_order_acquire)))
            return true;
        /* Help work turns up while waiting (the other side took a chunk, so there
         * is room to read one ahead): do it, and the wait starts over. */
        if (try_help || (h->help != NULL && (i & 255) == 0)) {
            try_help = h->help(h->help_ctx) != 0;
            if (try_help) {
                until = 0;
                continue;
            }
        }
        cpu_relax();
        if ((i & 255) == 0) {
            int64_t t = now_ns();
            if (until == 0)
                until = t + SPIN_NS;
            else if (t >= until)
                return false;
        }
    }
}

/* Producer: a batch to fill, waiting while every batch is in flight. */
static struct batch *get_batch(struct handoff *h)
{
    if (h->allocated >= NBATCH && atomic_load_explicit(&h->nspare, memory_order_acquire) == 0) {
        /* The consumer is behind: it gets fewer lines to parse. */
        if (h->raw_share > 0 && !h->raw_fixed)
            h->raw_share--;
        spin_for(h, &h->nspare, NULL);
    }
    pthread_mutex_lock(&h->mu);
    while (h->spare == NULL && h->allocated >= NBATCH && !h->cancelled) {
        h->producer_sleeps = true;
        pthread_cond_wait(&h->can_give, &h->mu);
        h->producer_sleeps = false;
    }
    struct batch *b = NULL;
    if (!h->cancelled) {
        if (h->spare != NULL) {
            b = h->spare;
            h->spare = b->next;
            atomic_fetch_sub_explicit(&h->nspare, 1, memory_order_relaxed);
        } else if ((b = aligned_alloc(64, sizeof(*b))) != NULL) {
            memset(b, 0, sizeof(*b));
            if ((b->buf = malloc(BATCH_BUF)) == NULL) {
                free(b);
                b = NULL;
            } else {
                b->cap = BATCH_BUF;
                arena_init(&b->arena, 0);
                h->allocated++;
            }
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (b != NULL) {
        b->n = 0;
        b->len = 0;
        b->next = NULL;
        b->stream_src = b->stream_copy = NULL;
        b->stream_gen = 0;
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
#ifdef HO_STREAM
    _mm_sfence(); /* the streamed records are visible before the batch is */
#endif
    /* The consumer took every batch before this one: it has time to parse lines. */
    if (atomic_load_explicit(&h->nready, memory_order_relaxed) == 0 && h->raw_share < RAW_SCALE && !h->raw_fixed)
        h->raw_share++;
    pthread_mutex_lock(&h->mu);
    if (h->ready_tail)
        h->ready_tail->next = b;
    else
        h->ready_head = b;
    h->ready_tail = b;
    atomic_fetch_add_explicit(&h->nready, 1, memory_order_release);
    if (h->consumer_sleeps)
        pthread_cond_signal(&h->can_take);
    pthread_mutex_unlock(&h->mu);
}

/* Records start on 16 bytes, so a packed one can be streamed out whole. */
static size_t pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Producer: room for a record of size bytes (a multiple of 8) in the filling
 * batch, publishing a full one first. NULL when memory ran out or the consumer
 * has stopped. */
static char *reserve(struct handoff *h, size_t size)
{
    struct batch *b = h->filling;
    if (b != NULL && b->n > 0 && (b->n == BATCH_EVENTS || b->len + size > b->cap || b->arena.used_total > BATCH_ARENA)) {
        publish(h);
        b = NULL;
    }
    if (b == NULL && (b = h->filling = get_batch(h)) == NULL)
        return NULL;
    if (size > b->cap) {
        /* A record larger than a whole buffer: this batch holds it alone. */
        char *nb = realloc(b->buf, size);
        if (nb == NULL)
            return NULL;
        b->buf = nb;
        b->cap = size;
    }
    return b->buf + b->len;
}

static void commit(struct handoff *h, size_t size)
{
    h->filling->len += size;
    h->filling->n++;
}

void handoff_stream(struct handoff *h, const char *name)
{
    h->announced = name;
    h->announced_gen++;
}

/* The filling batch's copy of a stream name; NULL when out of memory. */
static const char *stream_copy(struct handoff *h, const char *stream)
{
    struct batch *b = h->filling;
    /* Events of a batch mostly come from one stream: copy its name once. The
     * announced name is known to be the same string while it is announced; any
     * other is compared, since a name freed and another made at the same address
     * is not the same name. */
    if (stream == h->announced && b->stream_gen == h->announced_gen && b->stream_copy != NULL &&
        b->stream_src == stream)
        return b->stream_copy;
    if (stream != b->stream_src || b->stream_copy == NULL || strcmp(b->stream_copy, stream) != 0) {
        b->stream_copy = arena_strndup(&b->arena, stream, strlen(stream));
        b->stream_src = b->stream_copy ? stream : NULL;
    }
    b->stream_gen = stream == h->announced ? h->announced_gen : 0;
    return b->stream_copy;
}

/* Write a record built at stage (size bytes, a multiple of 16) to p. */
static void put_staged(char *p, const char *stage, size_t size)
{
#ifdef HO_STREAM
    for (size_t k = 0; k < size; k += 16)
        _mm_stream_si128((__m128i *)(void *)(p + k), _mm_load_si128((const __m128i *)(const void *)(stage + k)));
#else
    memcpy(p, stage, size);
#endif
}

static int pack_log(struct handoff *h, const struct event *ev);

#ifdef HO_STREAM
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HO_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HO_CHECKED 1
#endif
#endif

/* src[0..len) streamed to dst (16-byte aligned) as whole 16-byte pieces, the last
 * one padded with zeros. Each piece goes from one load into a register: a piece
 * staged in memory first would wait for the narrower stores under it. The last
 * piece is loaded whole when that cannot cross into another page (the bytes past
 * the end are masked off), so reading them is harmless; sanitizers, which see
 * any byte read past an object, get the copy. */
static inline void stream_bytes(char *dst, const char *src, size_t len)
{
    __m128i *d = (__m128i *)(void *)dst;
    size_t k = 0;
    for (; k + 16 <= len; k += 16)
        _mm_stream_si128(d++, _mm_loadu_si128((const __m128i *)(const void *)(src + k)));
    size_t rest = len - k;
    if (rest == 0)
        return;
    __m128i v;
#ifndef HO_CHECKED
    if (((uintptr_t)(src + k) & 4095) <= 4096 - 16) {
        static const char ones[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
        v = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(src + k)),
                          _mm_loadu_si128((const __m128i *)(const void *)(ones + 16 - rest)));
    } else
#endif
    {
        _Alignas(16) char tail[16] = {0};
        memcpy(tail, src + k, rest);
        v = _mm_load_si128((const __m128i *)(const void *)tail);
    }
    _mm_stream_si128(d, v);
}
#endif

int handoff_line(struct handoff *h, const struct ev_line *l)
{
    /* From the first slice on: the timestamp and level before it are in the
     * fields already. */
    uint32_t base = l->msg_off;
    if (l->logger_len && l->logger_off < base)
        base = l->logger_off;
    if (l->thread_len && l->thread_off < base)
        base = l->thread_off;
    uint32_t n = l->len - base;
    /* A host in the line (coloredlogs) is rare: such lines go as events. */
    if (n > UINT16_MAX || l->pid < INT32_MIN || l->pid > INT32_MAX || l->host_len) {
        struct event ev;
        ev_init(&ev, EV_LOG);
        ev_from_line(&ev, l);
        return pack_log(h, &ev);
    }
    bool named = l->stream_name != NULL;
    size_t head = sizeof(struct rec_line) + (named ? sizeof(struct rec_line_name) : 0);
    size_t size = pad16(head + n);
    char *p = reserve(h, size);
    if (p == NULL)
        return -1;
    struct rec_line r = {
        .tag = REC_LINE,
        .level = l->level,
        .has_ts = l->has_ts,
        .has_stream_name = named,
        .size = (uint32_t)size,
        .ts_ns = l->ts_ns,
        .line = l->lineno,
        .stream = NULL,
        .pid = (int32_t)l->pid,
        .len = (uint16_t)n,
        .logger_off = (uint16_t)(l->logger_len ? l->logger_off - base : 0),
        .logger_len = (uint16_t)l->logger_len,
        .thread_off = (uint16_t)(l->thread_len ? l->thread_off - base : 0),
        .thread_len = (uint16_t)l->thread_len,
        .msg_off = (uint16_t)(l->msg_off - base),
    };
    if (l->stream != NULL && (r.stream = stream_copy(h, l->stream)) == NULL)
        return -1;
    struct rec_line_name name = {l->stream_name, l->stream_name_len};
#ifdef HO_STREAM
    /* Streamed out, as pack_log does (see there), and built in registers: the
     * header's words in the order of its fields. */
    _Static_assert(sizeof(struct rec_line) == 48 && offsetof(struct rec_line, size) == 4 &&
                       offsetof(struct rec_line, ts_ns) == 8 && offsetof(struct rec_line, pid) == 32 &&
                       offsetof(struct rec_line, len) == 36 && offsetof(struct rec_line, logger_len) == 40 &&
                       offsetof(struct rec_line, msg_off) == 46 && sizeof(struct rec_line_name) == 16 &&
                       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                   "rec_line's words are as handoff_line packs them");
    __m128i *d = (__m128i *)(void *)p;
    uint64_t w0 = (uint64_t)r.tag | (uint64_t)r.level << 8 | (uint64_t)r.has_ts << 16 | (uint64_t)r.has_stream_name << 24 |
                  (uint64_t)r.size << 32;
    uint64_t w4 = (uint64_t)(uint32_t)r.pid | (uint64_t)r.len << 32 | (uint64_t)r.logger_off << 48;
    uint64_t w5 = (uint64_t)r.logger_len | (uint64_t)r.thread_off << 16 | (uint64_t)r.thread_len << 32 |
                  (uint64_t)r.msg_off << 48;
    _mm_stream_si128(d, _mm_set_epi64x(r.ts_ns, (long long)w0));
    _mm_stream_si128(d + 1, _mm_set_epi64x((long long)(uintptr_t)r.stream, (long long)r.line));
    _mm_stream_si128(d + 2, _mm_set_epi64x((long long)w5, (long long)w4));
    if (named)
        _mm_stream_si128(d + 3, _mm_set_epi64x((long long)name.len, (long long)(uintptr_t)name.ptr));
    stream_bytes(p + head, l->p + base, n);
#else
    memcpy(p, &r, sizeof(r));
    if (named)
        memcpy(p + sizeof(r), &name, sizeof(name));
    memcpy(p + head, l->p + base, n);
#endif
    commit(h, size);
    return 0;
}

static int pack_log(struct handoff *h, const struct event *ev)
{
    ev_str *s[NSTR];
    event_strs((struct event *)ev, s); /* read only */
    size_t size = sizeof(struct rec_log);
    uint8_t mask = 0;
    for (int i = 0; i < NSTR; i++)
        if (s[i]->ptr != NULL) {
            mask |= (uint8_t)(1u << i);
            size += sizeof(uint32_t) + s[i]->len + 1;
        }
    size = pad16(size);
    char *p = reserve(h, size);
    if (p == NULL)
        return -1;
    struct rec_log r = {
        .tag = REC_LOG,
        .level = (uint8_t)ev->level,
        .has_ts = ev->has_ts,
        .strmask = mask,
        .size = (uint32_t)size,
        .ts_ns = ev->ts_ns,
        .pid = ev->pid,
        .line = ev->src.line,
        .stream = NULL,
    };
    if (ev->src.stream != NULL && (r.stream = stream_copy(h, ev->src.stream)) == NULL)
        return -1;
#ifdef HO_STREAM
    /* Most records are small: built here, then written with streaming stores.
     * Ordinary stores to the batch (a buffer the consumer read last time round)
     * each first fetch their line back from the other core, and the stores
     * queued behind them stalled the parser; streaming stores fetch nothing.
     * publish() fences them before the batch changes hands. */
    _Alignas(16) char stage[512];
    char *out = size <= sizeof(stage) ? stage : p;
#else
    char *out = p;
#endif
    memcpy(out, &r, sizeof(r));
    char *o = out + sizeof(r);
    for (int i = 0; i < NSTR; i++)
        if (mask & (1u << i)) {
            uint32_t n = s[i]->len;
            memcpy(o, &n, sizeof(n));
            o += sizeof(n);
            memcpy(o, s[i]->ptr, n);
            o[n] = '\0';
            o += n + 1;
        }
#ifdef HO_STREAM
    if (out == stage)
        put_staged(p, stage, size);
#endif
    commit(h, size);
    return 0;
}

static struct rec_ref *ref_record(struct handoff *h, enum rec_tag tag)
{
    size_t size = pad16(sizeof(struct rec_ref));
    struct rec_ref *r = (struct rec_ref *)(void *)reserve(h, size);
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->tag = (uint8_t)tag;
    r->size = (uint32_t)size;
    return r;
}

int handoff_event(struct handoff *h, const struct event *ev)
{
    if (ev->kind == EV_LOG)
        return pack_log(h, ev);
    struct rec_ref *r = ref_record(h, REC_EVENT);
    if (r == NULL)
        return -1;
    struct batch *b = h->filling;
    struct event *copy = arena_alloc(&b->arena, sizeof(*copy));
    const char *stream = NULL;
    if (copy == NULL || (ev->src.stream != NULL && (stream = stream_copy(h, ev->src.stream)) == NULL) ||
        ev_clone_with_stream(copy, ev, &b->arena, stream) != 0)
        return -1;
    r->ev = copy;
    commit(h, r->size);
    return 0;
}

int handoff_diag(struct handoff *h, int kind, const char *stream, uint64_t line, const char *text)
{
    struct rec_ref *r = ref_record(h, REC_DIAG);
    if (r == NULL)
        return -1;
    struct arena *a = &h->filling->arena;
    r->diag_kind = kind;
    r->diag_line = line;
    r->diag_stream = stream ? arena_strndup(a, stream, strlen(stream)) : NULL;
    r->diag_text = arena_strndup(a, text, strlen(text));
    if (r->diag_text == NULL || (stream != NULL && r->diag_stream == NULL))
        return -1;
    commit(h, r->size);
    return 0;
}

void handoff_fix_offload(struct handoff *h, unsigned share64)
{
    h->raw_share = share64 < RAW_SCALE ? share64 : RAW_SCALE;
    h->raw_fixed = true;
}

bool handoff_offload(struct handoff *h)
{
    h->raw_acc += h->raw_share;
    if (h->raw_acc < RAW_SCALE)
        return false;
    h->raw_acc -= RAW_SCALE;
    return true;
}

int handoff_raw(struct handoff *h, const void *parser, const char *stream, const char *line, size_t len,
                uint64_t lineno)
{
    if (len > UINT32_MAX - 64)
        return -1;
    size_t size = pad16(sizeof(struct rec_raw) + len);
    char *p = reserve(h, size);
    if (p == NULL)
        return -1;
    struct rec_raw r = {.tag = REC_RAW, .size = (uint32_t)size, .len = (uint32_t)len, .line = lineno,
                        .parser = parser};
    if (stream != NULL && (r.stream = stream_copy(h, stream)) == NULL)
        return -1;
#ifdef HO_STREAM
    /* Streamed out as pack_log's records are: the batch was last read by the other
     * core, and ordinary stores would each fetch their line back first. */
    _Alignas(16) char stage[sizeof(r) + 16];
    memcpy(stage, &r, sizeof(r));
    size_t head = sizeof(r) & ~(size_t)15; /* whole 16-byte pieces of the header */
    size_t lead = 16 - (sizeof(r) - head);  /* line bytes that complete its last piece */
    if (lead > len)
        lead = len;
    memcpy(stage + sizeof(r), line, lead);
    memset(stage + sizeof(r) + lead, 0, sizeof(stage) - sizeof(r) - lead);
    put_staged(p, stage, head + 16);
    size_t k = lead, at = head + 16;
    for (; k + 16 <= len; k += 16, at += 16)
        _mm_stream_si128((__m128i *)(void *)(p + at), _mm_loadu_si128((const __m128i *)(const void *)(line + k)));
    if (k < len) {
        _Alignas(16) char tail[16] = {0};
        memcpy(tail, line + k, len - k);
        put_staged(p + at, tail, 16);
    }
#else
    memcpy(p, &r, sizeof(r));
    memcpy(p + sizeof(r), line, len);
#endif
    commit(h, size);
    return 0;
}

void handoff_close(struct handoff *h)
{
    publish(h);
    pthread_mutex_lock(&h->mu);
    h->closed = true;
    atomic_store_explicit(&h->closed_flag, true, memory_order_release);
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

/* The consumer's one event for packed records. Every packed record sets the same
 * fields (absent strings too), and nobody else writes it: zeroed once, not per
 * record. */
static struct event *unpacked_event(struct handoff *h)
{
    if (!h->unpacked_ready) {
        ev_init(&h->unpacked, EV_LOG);
        h->unpacked_ready = true;
    }
    return &h->unpacked;
}

static const struct event *unpack_log(struct handoff *h, const char *p)
{
    struct rec_log r;
    memcpy(&r, p, sizeof(r));
    struct event *ev = unpacked_event(h);
    ev->level = (enum ev_level)r.level;
    ev->has_ts = r.has_ts;
    ev->ts_ns = r.ts_ns;
    ev->pid = r.pid;
    ev->src.stream = r.stream;
    ev->src.line = r.line;
    ev_str *s[NSTR];
    event_strs(ev, s);
    const char *o = p + sizeof(r);
    for (int i = 0; i < NSTR; i++)
        if (r.strmask & (1u << i)) {
            uint32_t n;
            memcpy(&n, o, sizeof(n));
            o += sizeof(n);
            *s[i] = ev_str_make(o, n);
            o += n + 1;
        } else {
            *s[i] = EV_STR_NULL;
        }
    return ev;
}

static const struct event *unpack_line(struct handoff *h, const struct rec_line *r, const char *after)
{
    struct event *ev = unpacked_event(h);
    struct rec_line_name name = {NULL, 0};
    if (r->has_stream_name) {
        memcpy(&name, after, sizeof(name));
        after += sizeof(name);
    }
    struct ev_line l = {
        .p = after,
        .len = r->len,
        .logger_off = r->logger_off,
        .logger_len = r->logger_len,
        .thread_off = r->thread_off,
        .thread_len = r->thread_len,
        .msg_off = r->msg_off,
        .has_ts = r->has_ts,
        .level = r->level,
        .ts_ns = r->ts_ns,
        .pid = r->pid,
        .stream = r->stream,
        .lineno = r->line,
        .stream_name = name.ptr,
        .stream_name_len = name.len,
    };
    ev_from_line(ev, &l);
    /* What a line never has; a packed log before it may have set them. (One
     * by one: a chained assignment reads each back, a wide load over narrow
     * stores.) */
    ev->service = EV_STR_NULL;
    ev->host = EV_STR_NULL;
    ev->trace_id = EV_STR_NULL;
    ev->span_id = EV_STR_NULL;
    return ev;
}

enum handoff_kind handoff_next(struct handoff *h, struct handoff_item *it)
{
    while (h->taking == NULL || h->pos == h->take_len) {
        if (h->taking != NULL) {
            /* Done with it: back to the producer. */
            pthread_mutex_lock(&h->mu);
            h->taking->next = h->spare;
            h->spare = h->taking;
            h->taking = NULL;
            atomic_fetch_add_explicit(&h->nspare, 1, memory_order_release);
            if (h->producer_sleeps)
                pthread_cond_signal(&h->can_give);
            pthread_mutex_unlock(&h->mu);
        }
        spin_for(h, &h->nready, &h->closed_flag);
        pthread_mutex_lock(&h->mu);
        while (h->ready_head == NULL && !h->closed) {
            h->consumer_sleeps = true;
            pthread_cond_wait(&h->can_take, &h->mu);
            h->consumer_sleeps = false;
        }
        if (h->ready_head == NULL) {
            pthread_mutex_unlock(&h->mu);
            return HO_END;
        }
        h->taking = h->ready_head;
        h->ready_head = h->taking->next;
        if (h->ready_head == NULL)
            h->ready_tail = NULL;
        atomic_fetch_sub_explicit(&h->nready, 1, memory_order_relaxed);
        h->pos = 0;
        h->take_buf = h->taking->buf;
        h->take_len = h->taking->len;
        pthread_mutex_unlock(&h->mu);
    }
    const char *p = h->take_buf + h->pos;
    if ((uint8_t)p[0] == REC_LINE) {
        struct rec_line r;
        memcpy(&r, p, sizeof(r));
        h->pos += r.size;
        it->ev = unpack_line(h, &r, p + sizeof(r));
        return HO_EVENT;
    }
    if ((uint8_t)p[0] == REC_LOG) {
        struct rec_log r;
        memcpy(&r, p, sizeof(r));
        h->pos += r.size;
        it->ev = unpack_log(h, p);
        return HO_EVENT;
    }
    if ((uint8_t)p[0] == REC_RAW) {
        struct rec_raw r;
        memcpy(&r, p, sizeof(r));
        h->pos += r.size;
        it->stream = r.stream;
        it->line = r.line;
        it->text = p + sizeof(r);
        it->len = r.len;
        it->parser = r.parser;
        return HO_RAW;
    }
    const struct rec_ref *r = (const struct rec_ref *)(const void *)p;
    h->pos += r->size;
    if (r->tag == REC_DIAG) {
        it->diag_kind = r->diag_kind;
        it->stream = r->diag_stream;
        it->line = r->diag_line;
        it->text = r->diag_text;
        return HO_DIAG;
    }
    it->ev = r->ev;
    return HO_EVENT;
}
