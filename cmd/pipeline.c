/* pipeline.c -- paths to streams to parsers, merged by time, to the sink; see
 * pipeline.h.
 *
 * Every file named by the user (a directory gives every file below it) is an input
 * with a cursor: its walk (an archive's members are read one after another), the
 * parser of its current stream, and the rest of the last chunk not yet fed. With
 * one input, events go straight to the sink. With several, each input is parsed a
 * slice at a time into its merge cursor and the earliest head event goes on, so the
 * sink sees one stream close to event-time order while each input is read once,
 * in order, in bounded memory.
 */
#include "pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../correlate/merge.h"
#include "handoff.h"
#include "termsafe.h"
#include "../parsers/parser.h"
#include "../source/source.h"

#define DETECT_WINDOW ((size_t)64 << 10)
#define DIAG_SHOWN_PER_STREAM 10
#define SLICE ((size_t)32 << 10)  /* bytes fed per refill of a merged input */
#define MAX_OPEN_INPUTS 128       /* inputs read at once; more wait for a free slot */

struct input {
    char *path;                    /* what to open */
    struct src_walk *walk;
    struct src_stream *stream;     /* NULL between streams */
    const struct parser *p;
    void *pst;
    const char *chunk;             /* unfed rest of the last chunk */
    size_t chunk_len;
    uint64_t diags;                /* malformed records in the current stream */
    struct merge_cursor *mc;       /* NULL when not merging */
    struct handoff *ho;            /* parsed on a second thread: events go here */
    _Atomic uint64_t raw_seen;     /* that thread's progress, for the progress line */
    struct pipeline *pl;
    bool opened, finished;
    bool coop;                     /* read ahead by whichever thread is idle (see run_single) */
    bool offload;                  /* lines go to the analysis thread too (run_threaded) */
    /* The stream the analysis thread may help with (read ahead, note chunks), and
     * the lock that keeps its help and the stream's closing apart. */
    pthread_mutex_t help_mu;
    struct src_stream *help_stream;
};

#define COOP_CHUNK ((size_t)64 << 10) /* a unit of help: about 50 us of work */
_Static_assert(PARSER_NOTE_ZEROED <= SRC_NOTE_ZEROED, "the ring zeroes what parsers' notes need zeroed");
#define COOP_SLOTS 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool pipeline_wants_progress(const struct cli *cli)
{
    return !cli->no_progress && !cli->quiet && isatty(STDERR_FILENO);
}

/* ---- progress ---- */

static void human_bytes(double b, char *buf, size_t n)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

struct run {
    struct pipeline *pl;
    struct input *in;
    size_t nin, capin;
    size_t next_to_open;
    size_t open_now;
    struct merge *merge;
};

static uint64_t raw_done(const struct run *r)
{
    if (r->nin == 1 && r->in[0].ho != NULL)
        return atomic_load_explicit(&r->in[0].raw_seen, memory_order_relaxed);
    uint64_t done = r->pl->done_raw;
    for (size_t i = 0; i < r->nin; i++)
        if (r->in[i].stream != NULL) {
            uint64_t d, t;
            src_stream_progress(r->in[i].stream, &d, &t);
            done += d;
        }
    return done;
}

static void draw_progress(struct run *r, bool force)
{
    struct pipeline *pl = r->pl;
    if (!pl->progress)
        return;
    double t = now_s();
    if (!force && t - pl->last_draw < 0.25)
        return;
    pl->last_draw = t;
    uint64_t done = raw_done(r), total = pl->total_raw;
    double el = t - pl->started;
    double rate = el > 0 ? (double)done / el : 0;
    char a[32], b[32], rt[32];
    human_bytes((double)done, a, sizeof(a));
    human_bytes((double)total, b, sizeof(b));
    human_bytes(rate, rt, sizeof(rt));
    char eta[32] = "";
    if (total > done && rate > 0) {
        unsigned s = (unsigned)((double)(total - done) / rate);
        snprintf(eta, sizeof(eta), "  ETA %u:%02u", s / 60, s % 60);
    }
    if (total > 0)
        fprintf(stderr, "\r\033[K%s / %s (%.0f%%)  %s/s  %llu records  %llu tracebacks%s", a, b,
                100.0 * (double)done / (double)total, rt, (unsigned long long)pl->stats.events,
                (unsigned long long)pl->stats.exceptions, eta);
    else
        fprintf(stderr, "\r\033[K%s  %s/s  %llu records  %llu tracebacks", a, rt,
                (unsigned long long)pl->stats.events, (unsigned long long)pl->stats.exceptions);
    fflush(stderr);
}

static void clear_progress(struct pipeline *pl)
{
    if (pl->progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

/* ---- what the parsers report ---- */

enum say { SAY_MALFORMED = 0, SAY_UNREADABLE = 1, SAY_WARNING = 2, SAY_FATAL = 3, SAY_STREAM_DONE = 4 };

/* Print a message on stderr; only the thread that owns stderr (the consumer)
 * calls this. */
static void print_say(struct pipeline *pl, int kind, const char *stream, uint64_t line, const char *text)
{
    clear_progress(pl);
    /* Names and reasons may quote the input (an archive member's name): escaped
     * as the report escapes it (termsafe.h). */
    switch (kind) {
    case SAY_MALFORMED:
        fputs("pycorr: warning (at ", stderr);
        termsafe_fputs(stream, stderr);
        if (line)
            fprintf(stderr, ":%llu", (unsigned long long)line);
        fputs("): ", stderr);
        break;
    case SAY_UNREADABLE:
    case SAY_FATAL:
        fputs("pycorr: error: ", stderr);
        break;
    default:
        fputs("pycorr: warning: ", stderr);
        break;
    }
    termsafe_fputs(text, stderr);
    fputc('\n', stderr);
}

/* From the parsing side: printed now, or sent along with the events when parsing
 * runs on its own thread. Counters are the parsing side's. */
static void say(struct input *in, int kind, const char *stream, uint64_t line, const char *text)
{
    if (kind == SAY_UNREADABLE)
        in->pl->stats.unreadable++;
    if (in->ho != NULL) {
        if (handoff_diag(in->ho, kind, stream, line, text) != 0)
            in->pl->lost_events++;
        return;
    }
    print_say(in->pl, kind, stream, line, text);
}

static void on_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    struct input *in = ctx;
    struct pipeline *pl = in->pl;
    if (in->ho != NULL) {
        /* Counted and shown by the consumer, which also sees the malformed lines of
         * those it parses itself (offloaded), in order. */
        if (handoff_diag(in->ho, SAY_MALFORMED, stream, line, reason) != 0)
            pl->lost_events++;
        return;
    }
    pl->stats.malformed++;
    in->diags++;
    if (pl->cli->quiet || in->diags > DIAG_SHOWN_PER_STREAM)
        return;
    say(in, SAY_MALFORMED, stream, line, reason);
}

static int deliver(struct pipeline *pl, const struct event *ev)
{
    pl->stats.events++;
    if (ev->kind == EV_EXCEPTION)
        pl->stats.exceptions++;
    return pl->sink(pl->sink_ctx, ev);
}

/* Into the input's merge cursor (several inputs). */
static int on_event_merged(void *ctx, const struct event *ev)
{
    struct input *in = ctx;
    if (merge_push(in->mc, ev) != 0) {
        in->pl->lost_events++;
        return 0;
    }
    return 0;
}

/* One input: to the consumer thread when parsing has one of its own, else
 * straight to the sink. */
static int on_event_single(void *ctx, const struct event *ev)
{
    struct input *in = ctx;
    if (in->ho == NULL)
        return deliver(in->pl, ev);
    if (handoff_event(in->ho, ev) != 0)
        return 1; /* the consumer stopped, or memory ran out: stop parsing */
    return 0;
}

/* A plain log line: packed as it is when a handoff carries it (no event is built
 * on this side), else made into the event here. */
static int on_line_single(void *ctx, const struct ev_line *l)
{
    struct input *in = ctx;
    if (in->ho == NULL) {
        struct event ev;
        ev_init(&ev, EV_LOG);
        ev_from_line(&ev, l);
        return deliver(in->pl, &ev);
    }
    if (handoff_line(in->ho, l) != 0)
        return 1;
    return 0;
}

/* Whether the input's current stream is balanced by handing lines over rather than
 * by the analysis thread's help: a decoded stream of records that are lines of
 * their own (JSON lines). Such a stream is decoded on the parsing thread alone (no
 * help stream), and the analysis thread parses a share of its lines instead
 * (handoff_offload). A decoder whose output (its window) another core reads, or
 * that moves between cores, costs about twice as much: on 256 MB of .zst JSON
 * lines, libzstd took 250 ms of CPU helped from both threads and 130 ms on one. A
 * plain file is read ahead by whichever thread is idle: there the copies of the
 * lines to the other core cost as much as they balance. Decided per stream, so an
 * archive's text members keep their help. */
static bool offloads(const struct input *in)
{
    return in->coop && in->p != NULL && in->p->parse_line != NULL && in->stream != NULL &&
           src_stream_decoded(in->stream);
}

/* Offered each line of a parser whose lines are records of their own: taken raw
 * for the analysis thread to parse in the share that balances the two threads. */
static int on_offload(void *ctx, const char *line, size_t len, uint64_t lineno)
{
    struct input *in = ctx;
    if (!in->offload || in->ho == NULL || in->stream == NULL || !handoff_offload(in->ho))
        return 0;
    /* When it fails (the consumer stopped, no memory), the line is parsed here and
     * its event meets the same end. */
    return handoff_raw(in->ho, in->p, src_stream_name(in->stream), line, len, lineno) == 0;
}

static void report_unreadable_in(struct input *in, const char *msg)
{
    say(in, SAY_UNREADABLE, NULL, 0, msg);
}

static void report_unreadable(struct pipeline *pl, const char *msg)
{
    pl->stats.unreadable++;
    print_say(pl, SAY_UNREADABLE, NULL, 0, msg);
}

/* ---- one input ---- */

/* The analysis thread's help (handoff_set_help): read the stream ahead, or note a
 * chunk. It never waits for the lock: the parsing thread may be closing the stream. */
static int input_help(void *ctx)
{
    struct input *in = ctx;
    if (pthread_mutex_trylock(&in->help_mu) != 0)
        return 0;
    int did = in->help_stream != NULL ? src_stream_help(in->help_stream) : 0;
    pthread_mutex_unlock(&in->help_mu);
    return did;
}

/* From the parsing thread: which stream help goes to (NULL: none, before closing
 * it). Waits for a help call in progress. */
static void set_help_stream(struct input *in, struct src_stream *s)
{
    if (!in->coop)
        return;
    pthread_mutex_lock(&in->help_mu);
    in->help_stream = s;
    pthread_mutex_unlock(&in->help_mu);
}

static void close_stream(struct input *in)
{
    struct pipeline *pl = in->pl;
    if (in->stream == NULL)
        return;
    if (in->ho != NULL)
        set_help_stream(in, NULL);
    if (in->pst != NULL) {
        int rc = in->p->finish(in->pst);
        if (rc < 0) {
            char msg[SRC_ERRSZ + 64];
            snprintf(msg, sizeof(msg), "%s: out of memory", src_stream_name(in->stream));
            say(in, SAY_FATAL, NULL, 0, msg);
            pl->failed = true;
        } else if (rc > 0) {
            pl->stopped = true;
        }
        in->p->close(in->pst);
        in->pst = NULL;
    }
    uint64_t d, t;
    src_stream_progress(in->stream, &d, &t);
    pl->done_raw += d;
    if (in->ho != NULL) {
        /* The consumer keeps the count (on_diag). */
        if (handoff_diag(in->ho, SAY_STREAM_DONE, src_stream_name(in->stream), 0, "") != 0)
            pl->lost_events++;
    } else if (in->diags > DIAG_SHOWN_PER_STREAM && !pl->cli->quiet) {
        char msg[SRC_ERRSZ + 96];
        snprintf(msg, sizeof(msg), "%s: %llu malformed records in all (first %d shown)", src_stream_name(in->stream),
                 (unsigned long long)in->diags, DIAG_SHOWN_PER_STREAM);
        say(in, SAY_WARNING, NULL, 0, msg);
    }
    in->stream = NULL;
    in->chunk_len = 0;
}

/* Move to the input's next stream with a parser. 1 = ready, 0 = the input is done. */
static int next_stream(struct input *in)
{
    struct pipeline *pl = in->pl;
    char err[SRC_ERRSZ];
    if (!in->opened) {
        in->opened = true;
        /* Reading a plain file from the page cache costs little next to parsing it;
         * only decompression earns a reading thread, unless run_single said no. */
        struct src_options opt = {.readahead = true, .readahead_decoded_only = true};
        if (in->coop)
            opt = (struct src_options){.readahead_coop = true, .chunk_size = COOP_CHUNK, .readahead_slots = COOP_SLOTS};
        in->walk = src_walk_open(in->path, &opt, err);
        if (in->walk == NULL) {
            report_unreadable_in(in, err);
            return 0;
        }
    }
    if (in->walk == NULL)
        return 0;
    for (;;) {
        struct src_stream *s;
        int r = src_walk_next(in->walk, &s, err);
        if (r == 0)
            return 0;
        if (r < 0) {
            report_unreadable_in(in, err);
            continue;
        }
        const char *name = src_stream_name(s);
        const char *win;
        long got = src_stream_peek(s, DETECT_WINDOW, &win);
        if (got < 0) {
            report_unreadable_in(in, src_stream_error(s));
            continue;
        }
        if (got == 0)
            continue; /* empty: nothing to say */
        const struct parser *p;
        if (pl->cli->parser != NULL) {
            p = parser_by_name(pl->cli->parser);
        } else {
            int bid;
            p = parser_detect(win, (size_t)got, (size_t)got < DETECT_WINDOW, &bid);
        }
        if (p == NULL) {
            char msg[SRC_ERRSZ + 64];
            snprintf(msg, sizeof(msg), "%s: unrecognized input format", name);
            report_unreadable_in(in, msg);
            continue;
        }
        struct parser_env env = {
            .stream = name,
            .emit = in->mc != NULL ? on_event_merged : on_event_single,
            .emit_line = in->mc != NULL ? NULL : on_line_single,
            .offload = in->mc != NULL || p->parse_line == NULL ? NULL : on_offload,
            .emit_ctx = in,
            .diag = on_diag,
            .diag_ctx = in,
            .map = &pl->cli->map,
            .limits = &parse_limits_default,
        };
        in->pst = p->open(&env);
        if (in->pst == NULL) {
            say(in, SAY_FATAL, NULL, 0, "out of memory");
            pl->failed = true;
            return 0;
        }
        in->p = p;
        in->stream = s;
        /* Notes are made only when someone helps: without a ring they are not. */
        if (in->coop && p->note != NULL)
            src_stream_set_note(s, p->note, 2 * COOP_CHUNK);
        in->offload = offloads(in);
        if (in->ho != NULL) {
            handoff_stream(in->ho, name);
            set_help_stream(in, in->offload ? NULL : s);
        }
        in->diags = 0;
        in->chunk_len = 0;
        pl->stats.inputs++;
        return 1;
    }
}

static void input_end(struct run *r, struct input *in)
{
    close_stream(in);
    src_walk_close(in->walk);
    in->walk = NULL;
    in->finished = true;
    if (in->mc != NULL)
        merge_done(in->mc);
    if (r->open_now > 0)
        r->open_now--;
}

/* Feed the input up to max bytes (the rest of the chunk stays for next time).
 * Returns 1 when bytes were fed, 0 when the input is finished. */
static int feed_some(struct run *r, struct input *in, size_t max)
{
    struct pipeline *pl = in->pl;
    while (!in->finished) {
        if (in->stream == NULL && next_stream(in) == 0) {
            input_end(r, in);
            return 0;
        }
        if (in->chunk_len == 0) {
            long n = src_stream_read(in->stream, &in->chunk);
            if (n == 0) {
                close_stream(in);
                continue;
            }
            if (n < 0) {
                /* What was parsed stays; the rest of this stream is lost. */
                report_unreadable_in(in, src_stream_error(in->stream));
                close_stream(in);
                continue;
            }
            in->chunk_len = (size_t)n;
            if (in->p->take_note != NULL) {
                const char *base = NULL;
                size_t len = 0;
                const void *note = src_stream_note(in->stream, &base, &len);
                in->p->take_note(in->pst, note, base, len);
            }
        }
        if (in->ho != NULL) {
            uint64_t d, t;
            src_stream_progress(in->stream, &d, &t);
            atomic_store_explicit(&in->raw_seen, pl->done_raw + d, memory_order_relaxed);
        }
        size_t k = in->chunk_len < max ? in->chunk_len : max;
        int rc = in->p->feed(in->pst, in->chunk, k);
        pl->stats.bytes += k;
        in->chunk += k;
        in->chunk_len -= k;
        if (rc < 0) {
            char msg[SRC_ERRSZ + 64];
            snprintf(msg, sizeof(msg), "%s: out of memory", src_stream_name(in->stream));
            say(in, SAY_FATAL, NULL, 0, msg);
            pl->failed = true;
            input_end(r, in);
            return 0;
        }
        if (rc > 0) {
            pl->stopped = true;
            input_end(r, in);
            return 0;
        }
        return 1;
    }
    return 0;
}

/* ---- the run ---- */

static int add_input(void *ctx, const char *path, const char *err)
{
    struct run *r = ctx;
    if (path == NULL) {
        report_unreadable(r->pl, err);
        return 0;
    }
    if (r->nin == r->capin) {
        size_t cap = r->capin ? r->capin * 2 : 16;
        struct input *n = realloc(r->in, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        r->in = n;
        r->capin = cap;
    }
    struct input *in = &r->in[r->nin];
    memset(in, 0, sizeof(*in));
    in->pl = r->pl;
    if ((in->path = strdup(path)) == NULL)
        return -1;
    r->nin++;
    return 0;
}

static void *parse_thread(void *arg)
{
    struct run *r = arg;
    struct input *in = &r->in[0];
    while (!r->pl->stopped && !r->pl->failed && feed_some(r, in, (size_t)-1))
        ;
    if (!in->finished)
        input_end(r, in);
    handoff_close(in->ho);
    return NULL;
}

/* The analysis thread's side of a threaded input: the malformed-record account of
 * the current stream (both sides' records come here, in order) and its own parser
 * for the lines the parsing thread offloaded. */
struct consumer {
    struct pipeline *pl;
    uint64_t diags;            /* malformed records of the current stream */
    const struct parser *p;    /* the instance for offloaded lines, of stream name */
    void *pst;
    char *name;
};

static void consumer_say(struct consumer *c, int kind, const char *stream, uint64_t line, const char *text)
{
    struct pipeline *pl = c->pl;
    if (kind == SAY_MALFORMED) {
        pl->stats.malformed++;
        if (++c->diags <= DIAG_SHOWN_PER_STREAM && !pl->cli->quiet)
            print_say(pl, kind, stream, line, text);
        return;
    }
    if (kind == SAY_STREAM_DONE) {
        if (c->diags > DIAG_SHOWN_PER_STREAM && !pl->cli->quiet) {
            char msg[SRC_ERRSZ + 96];
            snprintf(msg, sizeof(msg), "%s: %llu malformed records in all (first %d shown)", stream,
                     (unsigned long long)c->diags, DIAG_SHOWN_PER_STREAM);
            print_say(pl, SAY_WARNING, NULL, 0, msg);
        }
        c->diags = 0;
        return;
    }
    print_say(pl, kind, stream, line, text);
}

static void consumer_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    consumer_say(ctx, SAY_MALFORMED, stream, line, reason);
}

static int consumer_emit(void *ctx, const struct event *ev)
{
    struct consumer *c = ctx;
    return deliver(c->pl, ev);
}

static void consumer_free(struct consumer *c)
{
    if (c->p != NULL)
        c->p->close(c->pst);
    free(c->name);
    c->p = NULL;
    c->pst = NULL;
    c->name = NULL;
}

/* An offloaded line: parsed here by an instance of its parser for its stream. 0,
 * > 0 when the sink asked to stop, < 0 when memory ran out. */
static int consumer_parse(struct consumer *c, const struct handoff_item *it)
{
    const struct parser *p = it->parser;
    const char *name = it->stream != NULL ? it->stream : "";
    if (c->p != p || c->name == NULL || strcmp(c->name, name) != 0) {
        consumer_free(c);
        if ((c->name = strdup(name)) == NULL)
            return -1;
        struct parser_env env = {
            .stream = c->name,
            .emit = consumer_emit,
            .emit_ctx = c,
            .diag = consumer_diag,
            .diag_ctx = c,
            .map = &c->pl->cli->map,
            .limits = &parse_limits_default,
        };
        if ((c->pst = p->open(&env)) == NULL)
            return -1;
        c->p = p;
    }
    return p->parse_line(c->pst, it->text, it->len, it->line);
}

/* Parsing on a second thread, analysis here: the halves overlap on two cores. */
static int run_threaded(struct run *r, struct input *in)
{
    struct pipeline *pl = r->pl;
    if ((in->ho = handoff_create()) == NULL)
        return -1;
    in->offload = offloads(in);
    /* A fixed share, so tests can make sure both sides parse. */
    const char *share = getenv("PYCORR_OFFLOAD_SHARE");
    if (share != NULL && *share != '\0')
        handoff_fix_offload(in->ho, (unsigned)strtoul(share, NULL, 10));
    if (in->coop) {
        pthread_mutex_init(&in->help_mu, NULL);
        handoff_set_help(in->ho, input_help, in);
    }
    if (in->stream != NULL) {
        handoff_stream(in->ho, src_stream_name(in->stream));
        set_help_stream(in, in->offload ? NULL : in->stream);
    }
    pthread_t th;
    if (pthread_create(&th, NULL, parse_thread, r) != 0) {
        set_help_stream(in, NULL);
        handoff_destroy(in->ho);
        in->ho = NULL;
        return -1;
    }
    struct consumer c = {.pl = pl};
    struct handoff_item it;
    enum handoff_kind got;
    uint64_t n = 0;
    bool stop = false;
    while ((got = handoff_next(in->ho, &it)) != HO_END) {
        if (stop)
            continue; /* drain what is left, so the producer can finish */
        int rc = 0;
        if (got == HO_DIAG) {
            consumer_say(&c, it.diag_kind, it.stream, it.line, it.text);
        } else if (got == HO_RAW) {
            rc = consumer_parse(&c, &it);
            if (rc < 0) {
                print_say(pl, SAY_FATAL, NULL, 0, "out of memory");
                pl->failed = true;
            }
        } else {
            rc = deliver(pl, it.ev);
        }
        if (rc != 0) {
            stop = true;
            handoff_cancel(in->ho);
        }
        if ((++n & 4095) == 0)
            draw_progress(r, false);
    }
    pthread_join(th, NULL);
    consumer_free(&c);
    if (stop && !pl->failed)
        pl->stopped = true;
    handoff_destroy(in->ho);
    in->ho = NULL;
    if (in->coop)
        pthread_mutex_destroy(&in->help_mu);
    return 0;
}

static int run_single(struct run *r, struct input *in)
{
    static long ncpu;
    if (ncpu == 0)
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("PYCORR_THREADS");
    bool threads = ncpu > 1 && !(env != NULL && strcmp(env, "1") == 0);
    /* On two CPUs, parsing and analysis already fill both: a third thread that
     * decompresses only takes turns with them (measured on 256 MB of .zst JSON
     * lines, best of 9: 0.62 s with it, 0.59 s without). Instead the stream is
     * read ahead cooperatively: by the parsing thread when it needs a chunk, and
     * by the analysis thread whenever it would wait. It is decided before the
     * parser is known, so a parser that stays on this thread (a memory dump) reads
     * through the ring too, with nobody helping. */
    in->coop = threads && ncpu <= 2;
    /* The first stream decides: a parser whose records cost more to parse than to
     * copy gets a thread of its own (its events go through the handoff from then
     * on; the input's later streams, archive members, stay on it). */
    if (!in->finished && in->stream == NULL && next_stream(in) == 0)
        input_end(r, in);
    if (threads && !in->finished && in->p != NULL && in->p->parse_on_own_thread && run_threaded(r, in) == 0)
        return 0;
    while (!r->pl->stopped && !r->pl->failed && feed_some(r, in, (size_t)-1))
        draw_progress(r, false);
    if (!in->finished)
        input_end(r, in);
    return 0;
}

/* Keep up to MAX_OPEN_INPUTS inputs open; refill every open, empty cursor; hand
 * on the earliest event; repeat. */
static int run_merged(struct run *r)
{
    struct pipeline *pl = r->pl;
    r->merge = merge_create();
    if (r->merge == NULL)
        return -1;
    for (size_t i = 0; i < r->nin; i++)
        if ((r->in[i].mc = merge_add(r->merge)) == NULL)
            return -1;
    uint64_t steps = 0;
    while (!pl->stopped && !pl->failed) {
        while (r->next_to_open < r->nin && r->open_now < MAX_OPEN_INPUTS) {
            r->next_to_open++;
            r->open_now++;
        }
        for (size_t i = 0; i < r->next_to_open; i++) {
            struct input *in = &r->in[i];
            while (!in->finished && merge_pending(in->mc) == 0 && !pl->stopped && !pl->failed)
                feed_some(r, in, SLICE);
        }
        struct merge_cursor *from;
        const struct event *ev = merge_peek(r->merge, &from);
        if (ev == NULL) {
            if (r->next_to_open < r->nin)
                continue;
            break;
        }
        /* A copy without the sort time of an untimed event. */
        if (!ev->has_ts) {
            struct event e = *ev;
            e.ts_ns = 0;
            if (deliver(pl, &e) != 0)
                pl->stopped = true;
        } else if (deliver(pl, ev) != 0) {
            pl->stopped = true;
        }
        merge_pop(from);
        if ((++steps & 4095) == 0)
            draw_progress(r, false);
    }
    return 0;
}

int pipeline_run(struct pipeline *pl)
{
    const struct cli *cli = pl->cli;
    struct run r = {.pl = pl};
    pl->started = now_s();
    pl->total_raw = 0;
    int rc = 0;
    for (size_t i = 0; i < cli->npaths && rc == 0; i++) {
        pl->total_raw += src_path_size(cli->paths[i]);
        rc = src_list_files(cli->paths[i], add_input, &r);
    }
    if (rc != 0) {
        fprintf(stderr, "pycorr: error: out of memory\n");
        pl->failed = true;
    } else if (r.nin == 1) {
        r.open_now = 1;
        run_single(&r, &r.in[0]);
    } else if (r.nin > 1 && run_merged(&r) != 0) {
        fprintf(stderr, "pycorr: error: out of memory\n");
        pl->failed = true;
    }
    for (size_t i = 0; i < r.nin; i++) {
        if (!r.in[i].finished && r.in[i].opened)
            input_end(&r, &r.in[i]);
        free(r.in[i].path);
    }
    free(r.in);
    merge_destroy(r.merge);
    if (pl->lost_events)
        fprintf(stderr, "pycorr: warning: memory ran short; %llu events were not analyzed\n",
                (unsigned long long)pl->lost_events);
    draw_progress(&r, true);
    clear_progress(pl);
    return pl->failed ? -1 : 0;
}
