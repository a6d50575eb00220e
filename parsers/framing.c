/* framing.c -- collectors' line prefixes; see framing.h. */
#include "framing.h"

#include <string.h>

#include "../correlate/event.h"
#include "../correlate/evtime.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c) { return is_digit(c) || ((unsigned)((c | 0x20) - 'a') < 26u); }

/* A level word standing where a name would ("INFO     | msg", loguru's format
 * without its time; "time INFO app: msg" in the journal's place): not framing. */
static bool is_level(const char *p, size_t n)
{
    return ev_level_parse(p, n) != EV_LVL_UNKNOWN;
}

/* docker compose: "NAME<blanks>| line", the name padded to the longest one's width.
 * Compose v2 names a replica "web-1", v1 "web_1": the service is the name without
 * that number. */
static bool compose_prefix(const char *p, size_t n, struct framed *out)
{
    size_t i = 0;
    bool letter = false;
    while (i < n && i < 64 && (is_alnum(p[i]) || p[i] == '-' || p[i] == '_' || p[i] == '.')) {
        letter |= !is_digit(p[i]) && is_alnum(p[i]);
        i++;
    }
    size_t name = i;
    if (name == 0 || !is_alnum(p[0]) || !letter || is_level(p, name))
        return false;
    while (i < n && p[i] == ' ')
        i++;
    if (i == name || i >= n || p[i] != '|' || (i + 1 < n && p[i + 1] != ' '))
        return false;
    out->content_off = i + 2 < n ? i + 2 : n;
    out->source = p;
    out->source_len = name;
    size_t s = name;
    while (s > 0 && is_digit(p[s - 1]))
        s--;
    if (s > 1 && s < name && (p[s - 1] == '-' || p[s - 1] == '_'))
        s--;
    else
        s = name;
    out->service = p;
    out->service_len = s;
    return true;
}

/* After the journal's time: "HOST IDENT[PID]: line" or "HOST IDENT: line". */
static bool journal_rest(const char *p, size_t n, size_t i, struct framed *out)
{
    size_t h = i;
    while (i < n && i - h < 64 && p[i] != ' ')
        i++;
    if (i == h || i >= n || p[i] != ' ' || is_level(p + h, i - h))
        return false;
    size_t host_end = i++;
    size_t id = i;
    while (i < n && i - id < 64 && p[i] != ' ' && p[i] != '[' && p[i] != ':')
        i++;
    if (i == id || i >= n)
        return false;
    size_t id_end = i;
    int64_t pid = -1;
    if (p[i] == '[') {
        int64_t v = 0;
        size_t d = ++i;
        while (i < n && is_digit(p[i]) && i - d < 10)
            v = v * 10 + (p[i++] - '0');
        if (i == d || i >= n || p[i] != ']')
            return false;
        pid = v;
        i++;
    }
    if (i >= n || p[i] != ':' || (i + 1 < n && p[i + 1] != ' '))
        return false;
    out->content_off = i + 2 < n ? i + 2 : n;
    out->source = p + h;
    out->source_len = i - h;
    out->host = p + h;
    out->host_len = host_end - h;
    out->service = p + id;
    out->service_len = id_end - id;
    out->pid = pid;
    return true;
}

/* journalctl's "short": "Dec 07 10:00:00 " (or "Dec  7"), no year, so no time. */
static bool journal_short(const char *p, size_t n, struct framed *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (n < 17)
        return false;
    bool month = false;
    for (size_t m = 0; m < 36 && !month; m += 3)
        month = memcmp(p, months + m, 3) == 0;
    if (!month || p[3] != ' ' || !(is_digit(p[4]) || p[4] == ' ') || !is_digit(p[5]) || p[6] != ' ' ||
        !is_digit(p[7]) || !is_digit(p[8]) || p[9] != ':' || !is_digit(p[10]) || !is_digit(p[11]) ||
        p[12] != ':' || !is_digit(p[13]) || !is_digit(p[14]) || p[15] != ' ')
        return false;
    return journal_rest(p, n, 16, out);
}

/* journalctl -o short-iso (and -precise): "2026-12-07T10:00:00+0000 ", always with
 * the 'T' and the offset, which Python's logging times seldom have. */
static bool journal_iso(const char *p, size_t n, struct framed *out)
{
    int64_t ts;
    size_t used = evtime_parse_prefix(p, n, &ts);
    if (used < 20 || p[10] != 'T' || used >= n || p[used] != ' ')
        return false;
    bool zoned = p[used - 1] == 'Z' || p[used - 5] == '+' || p[used - 5] == '-' || p[used - 6] == '+' ||
                 p[used - 6] == '-';
    if (!zoned || !journal_rest(p, n, used + 1, out))
        return false;
    out->has_ts = true;
    out->ts_ns = ts;
    return true;
}

/* kubectl logs --prefix: "[pod/NAME/CONTAINER] line". */
static bool kubectl_prefix(const char *p, size_t n, struct framed *out)
{
    if (n < 9 || memcmp(p, "[pod/", 5) != 0)
        return false;
    const char *end = memchr(p, ']', n < FRAMING_SOURCE_MAX + 2 ? n : FRAMING_SOURCE_MAX + 2);
    if (end == NULL)
        return false;
    const char *slash = memchr(p + 5, '/', (size_t)(end - (p + 5)));
    if (slash == NULL || slash == p + 5 || slash + 1 == end || memchr(p, ' ', (size_t)(end - p)) != NULL)
        return false;
    size_t i = (size_t)(end - p) + 1;
    if (i < n && p[i] != ' ')
        return false;
    out->content_off = i + 1 < n ? i + 1 : n;
    out->source = p + 1;
    out->source_len = (size_t)(end - (p + 1));
    out->host = p + 5;
    out->host_len = (size_t)(slash - (p + 5));
    out->service = slash + 1;
    out->service_len = (size_t)(end - (slash + 1));
    return true;
}

/* heroku logs: "2026-12-07T10:00:00.123456+00:00 app[web.1]: line" (logplex). The
 * dyno names the writer; its process type ("web" of "web.1") is the service. */
static bool heroku_prefix(const char *p, size_t n, struct framed *out)
{
    int64_t ts;
    size_t used = evtime_parse_prefix(p, n, &ts);
    if (used < 26 || p[10] != 'T' || used >= n || p[used] != ' ' || p[used - 3] != ':' ||
        (p[used - 6] != '+' && p[used - 6] != '-'))
        return false;
    size_t i = used + 1, id = i;
    while (i < n && i - id < 32 && (is_alnum(p[i]) || p[i] == '-' || p[i] == '_'))
        i++;
    if (i == id || i >= n || p[i] != '[')
        return false;
    size_t dyno = ++i;
    while (i < n && i - dyno < 64 && p[i] != ']' && p[i] != ' ')
        i++;
    if (i == dyno || i + 1 >= n || p[i] != ']' || p[i + 1] != ':' || (i + 2 < n && p[i + 2] != ' '))
        return false;
    size_t type = dyno;
    while (type < i && p[type] != '.')
        type++;
    out->content_off = i + 3 < n ? i + 3 : n;
    out->source = p + id;
    out->source_len = i + 1 - id;
    out->service = p + dyno;
    out->service_len = type - dyno;
    out->host = p + dyno;
    out->host_len = i - dyno;
    out->has_ts = true;
    out->ts_ns = ts;
    return true;
}

/* A collector's own time before a line, "2026-12-07T10:00:00.1234567Z ": seven to
 * nine digits of fraction and Z, which no Python time has (datetime stops at
 * microseconds). The bytes it takes with its blank, or 0. */
static size_t collector_time(const char *p, size_t n, int64_t *ts)
{
    if (n < 29 || p[10] != 'T' || p[19] != '.')
        return 0;
    size_t d = 20;
    while (d < n && d < 30 && is_digit(p[d]))
        d++;
    if (d - 20 < 7 || d - 20 > 9 || d + 1 >= n || p[d] != 'Z' || p[d + 1] != ' ' ||
        evtime_parse_prefix(p, n, ts) != d + 1)
        return 0;
    return d + 2;
}

/* After compose's or kubectl's prefix, the time `docker compose logs -t` and
 * `kubectl logs --prefix --timestamps` add. */
static void content_time(const char *p, size_t n, struct framed *out)
{
    size_t k = collector_time(p + out->content_off, n - out->content_off, &out->ts_ns);
    if (k > 0) {
        out->content_off += k;
        out->has_ts = true;
    }
}

/* A time before every line and nothing else: a CI job's log (GitHub Actions, Azure
 * Pipelines: seven digits), `docker logs -t` and `kubectl logs --timestamps` (nine).
 * One writer. */
static bool timestamped_prefix(const char *p, size_t n, struct framed *out)
{
    size_t k = collector_time(p, n, &out->ts_ns);
    if (k == 0)
        return false;
    out->content_off = k;
    out->source = p;
    out->source_len = 0;
    out->has_ts = true;
    return true;
}

/* Ray's driver printing a worker's line: "(NAME pid=N) line", "(pid=N, ip=IP) line"
 * (NAME the task or actor; the ip when the worker is on another node). */
static bool ray_prefix(const char *p, size_t n, struct framed *out)
{
    if (n < 8 || p[0] != '(')
        return false;
    size_t i = 1;
    while (i < n && i < 64 && (is_alnum(p[i]) || p[i] == '_' || p[i] == '.' || p[i] == ':' || p[i] == '-'))
        i++;
    size_t name_end = 1;
    if (i < n && p[i] == ' ' && i > 1) {
        name_end = i;
        i++;
    } else {
        i = 1; /* no name: "(pid=..." */
    }
    if (n - i < 6 || memcmp(p + i, "pid=", 4) != 0)
        return false;
    i += 4;
    size_t d = i;
    int64_t pid = 0;
    while (i < n && is_digit(p[i]) && i - d < 10)
        pid = pid * 10 + (p[i++] - '0');
    if (i == d)
        return false;
    size_t ip = 0, ip_end = 0;
    if (n - i > 5 && memcmp(p + i, ", ip=", 5) == 0) {
        ip = i += 5;
        while (i < n && i - ip < 46 && (is_alnum(p[i]) || p[i] == '.' || p[i] == ':'))
            i++;
        ip_end = i;
        if (ip_end == ip)
            return false;
    }
    if (i >= n || p[i] != ')' || (i + 1 < n && p[i + 1] != ' '))
        return false;
    out->content_off = i + 2 < n ? i + 2 : n;
    out->source = p + 1;
    out->source_len = i - 1;
    out->service = name_end > 1 ? p + 1 : NULL;
    out->service_len = name_end - 1;
    out->host = ip_end > ip ? p + ip : NULL;
    out->host_len = ip_end - ip;
    out->pid = pid;
    return true;
}

bool framing_parse(enum framing kind, const char *p, size_t n, struct framed *out)
{
    memset(out, 0, sizeof(*out));
    out->pid = -1;
    bool ok = false;
    switch (kind) {
    case FR_COMPOSE:
        if ((ok = compose_prefix(p, n, out)))
            content_time(p, n, out);
        break;
    case FR_JOURNAL:
        ok = n > 0 && (is_digit(p[0]) ? journal_iso(p, n, out) : journal_short(p, n, out));
        break;
    case FR_KUBECTL:
        if ((ok = kubectl_prefix(p, n, out)))
            content_time(p, n, out);
        break;
    case FR_HEROKU:
        ok = heroku_prefix(p, n, out);
        break;
    case FR_TIMESTAMPED:
        return timestamped_prefix(p, n, out);
    case FR_RAY:
        ok = ray_prefix(p, n, out);
        break;
    case FR_NONE:
        break;
    }
    return ok && out->source_len > 0 && out->source_len <= FRAMING_SOURCE_MAX;
}

enum framing framing_detect(const char *p, size_t n)
{
    struct framed f;
    if (n > 0 && p[0] == '[')
        return framing_parse(FR_KUBECTL, p, n, &f) ? FR_KUBECTL : FR_NONE;
    if (framing_parse(FR_TIMESTAMPED, p, n, &f))
        return FR_TIMESTAMPED;
    if (framing_parse(FR_HEROKU, p, n, &f))
        return FR_HEROKU;
    if (framing_parse(FR_JOURNAL, p, n, &f))
        return FR_JOURNAL;
    if (framing_parse(FR_COMPOSE, p, n, &f))
        return FR_COMPOSE;
    return FR_NONE;
}
