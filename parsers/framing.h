/* framing.h -- the prefixes log collectors put before every line a program wrote.
 *
 * Engineers often have a service's output only as a collector shows it:
 *   docker compose logs     "web-1     | <line>"
 *   journalctl              "Dec 07 10:00:00 host1 gunicorn[1234]: <line>"
 *                           "2026-12-07T10:00:00+0000 host1 gunicorn[1234]: <line>" (-o short-iso)
 *   kubectl logs --prefix   "[pod/web-7d9f-x2/app] <line>"
 *   heroku logs             "2026-12-07T10:00:00.123456+00:00 app[web.1]: <line>"
 *   GitHub Actions, Azure   "2026-12-07T10:00:00.1234567Z <line>" (a CI job's log)
 *   Ray, on its driver      "(f pid=31071) <line>", "(pid=45601, ip=10.0.0.2) <line>"
 *                           (its workers' output among the driver's own lines)
 *   docker logs -t          "2026-12-07T10:00:00.123456789Z <line>" (and kubectl
 *                           logs --timestamps; after compose's and kubectl's prefix too)
 * The program's own line (a logging record, a traceback line) follows the prefix, and
 * lines of several writers interleave. A framed line says who wrote it (the source,
 * which keys the interleaving apart) and what the collector knows of that writer.
 * Detection looks at a stream's first line; each kind is then read line by line, and
 * a line without the prefix (journalctl's "-- Boot ... --") is the stream's own.
 */
#ifndef PYCORR_FRAMING_H
#define PYCORR_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum framing { FR_NONE = 0, FR_COMPOSE, FR_JOURNAL, FR_KUBECTL, FR_HEROKU, FR_TIMESTAMPED, FR_RAY };

/* What a framed line's prefix says; every slice points into the line. */
struct framed {
    size_t content_off;                /* the program's line starts here */
    const char *source;                /* the writer, as the collector names it (a CI
                                          job's log has one writer: empty) */
    size_t source_len;
    const char *service;               /* compose's service without its replica number,
                                          the journal's identifier, the pod's container,
                                          heroku's process type */
    size_t service_len;
    const char *host;                  /* the journal's host, the pod, heroku's dyno;
                                          NULL if unknown */
    size_t host_len;
    int64_t pid;                       /* the journal's [PID], or -1 */
    bool has_ts;                       /* a time with its year (not journalctl -o short) */
    int64_t ts_ns;
};

/* Longest source name kept apart; longer names are not taken as framing. */
#define FRAMING_SOURCE_MAX 96

/* The framing a stream whose first line is p[0..n) has, or FR_NONE. (Ray's is not
 * looked for here: its driver's own lines come first; textlog looks at any line.) */
enum framing framing_detect(const char *p, size_t n);

/* Read kind's prefix at the start of p[0..n); false when the line has none. */
bool framing_parse(enum framing kind, const char *p, size_t n, struct framed *out);

#endif
