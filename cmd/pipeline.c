/* pipeline.c -- paths to streams to parsers to the sink; see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../parsers/parser.h"
#include "../source/source.h"

#define DETECT_WINDOW ((size_t)64 << 10)
#define DIAG_SHOWN_PER_STREAM 10

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

static void draw_progress(struct pipeline *pl, bool force)
{
    if (!pl->progress)
        return;
    double t = now_s();
    if (!force && t - pl->last_draw < 0.25)
        return;
    pl->last_draw = t;
    uint64_t done = pl->done_raw, total = 0;
    if (pl->cur_src != NULL) {
        uint64_t d, tot;
        src_stream_progress(pl->cur_src, &d, &tot);
        done += d;
    }
    total = pl->total_raw;
    double el = t - pl->started;
    double rate = el > 0 ? (double)done / el : 0;
    char a[32], b[32], r[32];
    human_bytes((double)done, a, sizeof(a));
    human_bytes((double)total, b, sizeof(b));
    human_bytes(rate, r, sizeof(r));
    char eta[32] = "";
    if (total > done && rate > 0) {
        unsigned s = (unsigned)((double)(total - done) / rate);
        snprintf(eta, sizeof(eta), "  ETA %u:%02u", s / 60, s % 60);
    }
    if (total > 0)
        fprintf(stderr, "\r\033[K%s / %s (%.0f%%)  %s/s  %llu records  %llu tracebacks%s", a, b,
                100.0 * (double)done / (double)total, r, (unsigned long long)pl->stats.events,
                (unsigned long long)pl->stats.exceptions, eta);
    else
        fprintf(stderr, "\r\033[K%s  %s/s  %llu records  %llu tracebacks", a, r,
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

static void on_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    struct pipeline *pl = ctx;
    pl->stats.malformed++;
    pl->diag_in_stream++;
    if (pl->cli->quiet || pl->diag_in_stream > DIAG_SHOWN_PER_STREAM)
        return;
    clear_progress(pl);
    if (line)
        fprintf(stderr, "pycorr: warning (at %s:%llu): %s\n", stream, (unsigned long long)line, reason);
    else
        fprintf(stderr, "pycorr: warning (at %s): %s\n", stream, reason);
}

static int on_event(void *ctx, const struct event *ev)
{
    struct pipeline *pl = ctx;
    pl->stats.events++;
    if (ev->kind == EV_EXCEPTION)
        pl->stats.exceptions++;
    if ((pl->stats.events & 4095) == 0)
        draw_progress(pl, false);
    return pl->sink(pl->sink_ctx, ev);
}

static void report_unreadable(struct pipeline *pl, const char *msg)
{
    pl->stats.unreadable++;
    clear_progress(pl);
    fprintf(stderr, "pycorr: error: %s\n", msg);
}

/* One stream: detect, parse, account. Returns -1 only for fatal errors. */
static int run_stream(struct pipeline *pl, struct src_stream *s)
{
    const char *name = src_stream_name(s);
    const char *win;
    long got = src_stream_peek(s, DETECT_WINDOW, &win);
    if (got < 0) {
        char msg[SRC_ERRSZ + 64];
        snprintf(msg, sizeof(msg), "%s", src_stream_error(s));
        report_unreadable(pl, msg);
        return 0;
    }
    if (got == 0)
        return 0; /* empty: nothing to say */
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
        report_unreadable(pl, msg);
        return 0;
    }
    struct parser_env env = {
        .stream = name,
        .emit = on_event,
        .emit_ctx = pl,
        .diag = on_diag,
        .diag_ctx = pl,
        .map = &pl->cli->map,
        .limits = &parse_limits_default,
    };
    void *st = p->open(&env);
    if (st == NULL) {
        fprintf(stderr, "pycorr: error: out of memory\n");
        return -1;
    }
    pl->stats.inputs++;
    pl->diag_in_stream = 0;
    pl->cur_src = s;
    int rc = 0;
    for (;;) {
        const char *data;
        long n = src_stream_read(s, &data);
        if (n == 0)
            break;
        if (n < 0) {
            /* What was parsed stays; the rest of this stream is lost. */
            char msg[SRC_ERRSZ + 64];
            snprintf(msg, sizeof(msg), "%s", src_stream_error(s));
            report_unreadable(pl, msg);
            break;
        }
        pl->stats.bytes += (uint64_t)n;
        rc = p->feed(st, data, (size_t)n);
        if (rc != 0)
            break;
        draw_progress(pl, false);
    }
    if (rc == 0)
        rc = p->finish(st);
    p->close(st);
    uint64_t d, tot;
    src_stream_progress(s, &d, &tot);
    pl->cur_src = NULL;
    pl->done_raw += d;
    if (pl->diag_in_stream > DIAG_SHOWN_PER_STREAM && !pl->cli->quiet) {
        clear_progress(pl);
        fprintf(stderr, "pycorr: warning: %s: %llu malformed records in all (first %d shown)\n", name,
                (unsigned long long)pl->diag_in_stream, DIAG_SHOWN_PER_STREAM);
    }
    if (rc < 0) {
        fprintf(stderr, "pycorr: error: %s: out of memory\n", name);
        return -1;
    }
    if (rc > 0)
        pl->stopped = true;
    return 0;
}

int pipeline_run(struct pipeline *pl)
{
    const struct cli *cli = pl->cli;
    struct src_options opt = {.readahead = true};
    pl->started = now_s();
    pl->total_raw = 0;
    for (size_t i = 0; i < cli->npaths; i++)
        pl->total_raw += src_path_size(cli->paths[i]);
    for (size_t i = 0; i < cli->npaths && !pl->stopped; i++) {
        char err[SRC_ERRSZ];
        struct src_walk *w = src_walk_open(cli->paths[i], &opt, err);
        if (w == NULL) {
            report_unreadable(pl, err);
            continue;
        }
        for (;;) {
            struct src_stream *s;
            int r = src_walk_next(w, &s, err);
            if (r == 0)
                break;
            if (r < 0) {
                report_unreadable(pl, err);
                continue;
            }
            if (run_stream(pl, s) != 0) {
                src_walk_close(w);
                clear_progress(pl);
                return -1;
            }
            if (pl->stopped)
                break;
        }
        src_walk_close(w);
    }
    draw_progress(pl, true);
    clear_progress(pl);
    return 0;
}
