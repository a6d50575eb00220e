/* logprefix.c -- logging prefixes; see logprefix.h. */
#include "logprefix.h"

#include <string.h>

#if defined(__SSE2__) && !defined(LOGPREFIX_PORTABLE)
#include <emmintrin.h>
#endif

#include "../correlate/evtime.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

/* Bytes of a logger or level name: a table, since every token of every line of a
 * text log is measured with it. */
static const bool name_chars[256] = {
    ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true, ['_'] = true, ['.'] = true, ['-'] = true,
};

static inline bool name_char(char c)
{
    return name_chars[(unsigned char)c];
}

/* A level word at p (exact length k), case-insensitive via ev_level_parse, but only
 * the common spellings: a message word like "error" in lowercase prose must not be
 * a level, so lowercase is accepted only when bracketed or colon-terminated. */
static enum ev_level level_word(const char *p, size_t k)
{
    if (k < 3 || k > 8)
        return EV_LVL_UNKNOWN;
    return ev_level_parse(p, k);
}

#if defined(__SSE2__) && !defined(LOGPREFIX_PORTABLE)
/* Bit i set when p[i] is a name byte: [A-Za-z0-9_.-]. */
static inline unsigned name_mask16(const char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i punct = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('_')), _mm_cmpeq_epi8(v, _mm_set1_epi8('.'))),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), punct));
}
#endif

/* Every token of every line of a text log is measured here: sixteen bytes a step
 * where the line has them. */
static inline size_t word_len(const char *p, size_t n)
{
    size_t k = 0;
#if defined(__SSE2__) && !defined(LOGPREFIX_PORTABLE)
    for (; k + 16 <= n; k += 16) {
        unsigned m = name_mask16(p + k);
        if (m != 0xFFFFu)
            return k + (size_t)__builtin_ctz(~m);
    }
#endif
    while (k < n && name_char(p[k]))
        k++;
    return k;
}

static bool parse_pid(const char *p, size_t n, int64_t *pid)
{
    if (n == 0 || n > 10)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *pid = v;
    return true;
}

/* Does a level word (in capitals, or any case before ':') start at p[j], after
 * blanks? */
/* Does a bracketed word after the level name a thread rather than a logger?
 * "[%(name)s]" and "[%(threadName)s]" both follow the level in common formats;
 * threading's names have a shape ("MainThread", "Thread-3 (run)", "Dummy-1",
 * "ThreadPoolExecutor-0_0", "asyncio_0", a pool's "worker-2"), loggers' names
 * ("root", "asyncio", "__main__", "app") mostly none. */
static bool thread_shaped(const char *p, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++)
        if ((p[i] == 'T' || p[i] == 't') && memcmp(p + i + 1, "hread", 5) == 0)
            return true;
    if (n > 6 && memcmp(p, "Dummy-", 6) == 0)
        return true;
    /* A name that ends in a number after '-' or '_'. */
    size_t d = n;
    while (d > 0 && is_digit(p[d - 1]))
        d--;
    return d < n && d > 1 && (p[d - 1] == '-' || p[d - 1] == '_');
}

static bool level_follows(const char *p, size_t n, size_t j)
{
    while (j < n && p[j] == ' ')
        j++;
    size_t k = word_len(p + j, n - j);
    if (level_word(p + j, k) == EV_LVL_UNKNOWN)
        return false;
    return (is_upper(p[j]) && is_upper(p[j + 1])) || (j + k < n && p[j + k] == ':');
}

/* absl-py and glog (TensorFlow, JAX): "E1207 14:25:24.238000 4242 app.py:42] message".
 * The month and day carry no year, so the record keeps no time. */
static bool parse_absl_layout(const char *p, size_t n, struct logprefix *out)
{
    static const char letters[] = "IWEF";
    static const enum ev_level levels[] = {EV_LVL_INFO, EV_LVL_WARNING, EV_LVL_ERROR, EV_LVL_CRITICAL};
    const char *l = memchr(letters, p[0], 4);
    if (l == NULL || n < 24 || p[5] != ' ' || p[8] != ':' || p[11] != ':' || p[14] != '.')
        return false;
    for (size_t i = 1; i < 5; i++)
        if (!is_digit(p[i]))
            return false;
    size_t i = 15;
    while (i < n && is_digit(p[i]))
        i++;
    if (i == 15 || i >= n || p[i] != ' ')
        return false;
    while (i < n && p[i] == ' ')
        i++;
    size_t t = i;
    while (i < n && is_digit(p[i]))
        i++;
    if (i == t || i >= n || p[i] != ' ')
        return false;
    size_t f = i + 1, k = word_len(p + f, n - f);
    size_t j = f + k;
    if (k == 0 || j >= n || p[j] != ':')
        return false;
    j++;
    size_t d = j;
    while (j < n && is_digit(p[j]))
        j++;
    if (j == d || j >= n || p[j] != ']')
        return false;
    out->level = levels[l - letters];
    out->thread_off = t;
    out->thread_len = i - t;
    out->logger_off = f;
    out->logger_len = k;
    out->msg_off = j + 1 < n && p[j + 1] == ' ' ? j + 2 : j + 1;
    return true;
}

/* basicConfig: "LEVEL:logger:message" and uvicorn "LEVEL:    message". */
static bool parse_colon_layout(const char *p, size_t n, struct logprefix *out)
{
    size_t k = 0;
    while (k < n && is_upper(p[k]))
        k++;
    if (k == 0 || k >= n || p[k] != ':')
        return false;
    enum ev_level lv = level_word(p, k);
    if (lv == EV_LVL_UNKNOWN)
        return false;
    out->level = lv;
    size_t i = k + 1;
    if (i < n && p[i] == ' ') {
        while (i < n && p[i] == ' ')
            i++;
        out->msg_off = i;
        return true;
    }
    size_t lk = word_len(p + i, n - i);
    if (lk > 0 && i + lk < n && p[i + lk] == ':') {
        out->logger_off = i;
        out->logger_len = lk;
        out->msg_off = i + lk + 1;
        return true;
    }
    out->msg_off = i;
    return true;
}

/* pytest's captured log and live log ("%(levelname)-8s %(name)s:%(filename)s:%(lineno)d
 * %(message)s"): after the padded level, "name:file.py:N " gives the logger, and
 * the message follows. */
static void name_file_line(const char *p, size_t n, struct logprefix *out)
{
    size_t i = out->msg_off, name = i;
    while (i < n && i - name < 256 && p[i] != ':' && p[i] != ' ')
        i++;
    if (i == name || i >= n || p[i] != ':')
        return;
    size_t name_end = i++, file = i;
    while (i < n && i - file < 256 && p[i] != ':' && p[i] != ' ')
        i++;
    if (i - file < 4 || i >= n || p[i] != ':' || memcmp(p + i - 3, ".py", 3) != 0)
        return;
    size_t d = ++i;
    while (i < n && is_digit(p[i]))
        i++;
    if (i == d || (i < n && p[i] != ' '))
        return;
    out->logger_off = name;
    out->logger_len = name_end - name;
    out->msg_off = i < n ? i + 1 : i;
}

/* RichHandler's path column: "message   file.py:12" at the end of its first line,
 * set off by blanks: one will do after a time column (a message that fills its column
 * leaves one), two without (less sure it is RichHandler's). */
static void strip_path_column(const char *p, size_t n, struct logprefix *out, size_t blanks)
{
    while (n > out->msg_off && p[n - 1] == ' ')
        n--;
    size_t i = n;
    while (i > out->msg_off && is_digit(p[i - 1]))
        i--;
    if (i == n || i <= out->msg_off + 5 || p[i - 1] != ':')
        return;
    size_t colon = i - 1, s = colon;
    while (s > out->msg_off && p[s - 1] != ' ')
        s--;
    if (colon - s < 4 || memcmp(p + colon - 3, ".py", 3) != 0 || s < out->msg_off + 1 + blanks ||
        (blanks > 1 && p[s - 2] != ' '))
        return;
    size_t path = s;
    while (s > out->msg_off && p[s - 1] == ' ')
        s--;
    if (s > out->msg_off) {
        out->msg_end = s;
        out->col_end = path - 1;
    }
}

/* A level padded to eight columns and a blank, at p[at]: the level, else UNKNOWN. */
static enum ev_level padded_level(const char *p, size_t n, size_t at)
{
    if (at + 10 > n)
        return EV_LVL_UNKNOWN;
    size_t k = 0;
    while (k < 8 && is_upper(p[at + k]))
        k++;
    enum ev_level lv = k > 0 ? level_word(p + at, k) : EV_LVL_UNKNOWN;
    for (size_t j = at + k; j < at + 9; j++)
        if (p[j] != ' ')
            return EV_LVL_UNKNOWN;
    return p[at + 9] == ' ' ? EV_LVL_UNKNOWN : lv;
}

static bool two_digits(const char *p, unsigned *v)
{
    if (!is_digit(p[0]) || !is_digit(p[1]))
        return false;
    *v = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
    return true;
}

/* RichHandler with its time column: "[12/07/26 17:22:34] ERROR    message   file.py:12"
 * ("[%x %X]", the C locale's month/day/year), or twenty blanks where the time would
 * repeat. Then the level padded to eight, the message and the path column. */
static bool parse_rich_layout(const char *p, size_t n, struct logprefix *out)
{
    if (n < 30 || p[19] != ' ' || (p[0] != '[' && p[0] != ' '))
        return false;
    enum ev_level lv = padded_level(p, n, 20);
    if (lv == EV_LVL_UNKNOWN)
        return false;
    if (p[0] == ' ') {
        for (size_t i = 1; i < 19; i++)
            if (p[i] != ' ')
                return false;
        out->time_omitted = true;
    } else {
        unsigned mo, d, y, h, mi, s;
        if (p[18] != ']' || p[3] != '/' || p[6] != '/' || p[9] != ' ' || p[12] != ':' || p[15] != ':' ||
            !two_digits(p + 1, &mo) || !two_digits(p + 4, &d) || !two_digits(p + 7, &y) ||
            !two_digits(p + 10, &h) || !two_digits(p + 13, &mi) || !two_digits(p + 16, &s) || mo < 1 ||
            mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
            return false;
        int64_t days = evtime_days_from_civil(2000 + (int64_t)y, mo, d);
        out->has_ts = true;
        out->ts_ns = ((days * 86400) + h * 3600 + mi * 60 + s) * 1000000000LL;
    }
    out->level = lv;
    out->msg_off = 29;
    out->cont_indent = 29;
    strip_path_column(p, n, out, 1);
    return true;
}

/* coloredlogs' default after the time: " HOST name[PID] LEVEL message". */
static bool parse_host_name_pid(const char *p, size_t n, size_t i, struct logprefix *out)
{
    if (i >= n || p[i] != ' ')
        return false;
    size_t host = i + 1, hl = word_len(p + host, n - host);
    size_t name = host + hl + 1;
    if (hl == 0 || name >= n || p[name - 1] != ' ')
        return false;
    size_t nl = word_len(p + name, n - name), b = name + nl;
    if (nl == 0 || b >= n || p[b] != '[')
        return false;
    const char *close = memchr(p + b + 1, ']', n - b - 1 > 12 ? 12 : n - b - 1);
    int64_t pid;
    if (close == NULL || !parse_pid(p + b + 1, (size_t)(close - p - b - 1), &pid))
        return false;
    size_t lv = (size_t)(close - p) + 2;
    if (lv >= n || close[1] != ' ')
        return false;
    size_t k = 0;
    while (lv + k < n && is_upper(p[lv + k]))
        k++;
    enum ev_level level = level_word(p + lv, k);
    if (level == EV_LVL_UNKNOWN || (lv + k < n && p[lv + k] != ' '))
        return false;
    out->host_off = host;
    out->host_len = hl;
    out->logger_off = name;
    out->logger_len = nl;
    out->pid = pid;
    out->level = level;
    out->msg_off = lv + k < n ? lv + k + 1 : n;
    return true;
}

/* "07/Dec/2026 18:30:00" (Django's runserver) or "07/Dec/2026:18:30:00 +0000" (the
 * common log format): bytes read, 0 when p does not start with one. */
static size_t clf_time(const char *p, size_t n, int64_t *ns)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned d, h, mi, s, y1, y2;
    if (n < 20 || p[2] != '/' || p[6] != '/' || (p[11] != ' ' && p[11] != ':') || p[14] != ':' || p[17] != ':' ||
        !two_digits(p, &d) || !two_digits(p + 7, &y1) || !two_digits(p + 9, &y2) || !two_digits(p + 12, &h) ||
        !two_digits(p + 15, &mi) || !two_digits(p + 18, &s) || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return 0;
    unsigned mo = 0;
    for (unsigned k = 0; k < 12 && mo == 0; k++)
        if (memcmp(p + 3, months + 3 * k, 3) == 0)
            mo = k + 1;
    if (mo == 0)
        return 0;
    int64_t days = evtime_days_from_civil((int64_t)(y1 * 100 + y2), mo, d);
    int64_t t = days * 86400 + h * 3600 + mi * 60 + s;
    size_t used = 20;
    if (n >= 26 && p[20] == ' ' && (p[21] == '+' || p[21] == '-') && is_digit(p[22]) && is_digit(p[23]) &&
        is_digit(p[24]) && is_digit(p[25])) {
        int64_t off = ((p[22] - '0') * 10 + (p[23] - '0')) * 3600 + ((p[24] - '0') * 10 + (p[25] - '0')) * 60;
        t -= p[21] == '-' ? -off : off;
        used = 26;
    }
    *ns = t * 1000000000LL;
    return used;
}

/* A request id at p[i..): hex digits and dashes, 8 to 64 of them, then a blank or a
 * tab. Its length, or 0. */
static size_t request_id(const char *p, size_t n, size_t i)
{
    size_t e = i;
    while (e < n && e - i <= 64 && (is_digit(p[e]) || (unsigned)((p[e] | 0x20) - 'a') < 6u || p[e] == '-'))
        e++;
    return e - i >= 8 && (e == n || p[e] == ' ' || p[e] == '\t') ? e - i : 0;
}

/* AWS Lambda's Python runtime: "[ERROR]\t2026-12-07T18:00:00.456Z\t<request id>\tmsg".
 * The request id is the invocation's: its records are correlated by it. */
static bool parse_lambda_layout(const char *p, size_t n, struct logprefix *out)
{
    const char *close = n > 3 ? memchr(p + 1, ']', n - 1 < 10 ? n - 1 : 10) : NULL;
    if (close == NULL)
        return false;
    size_t i = (size_t)(close - p) + 1;
    enum ev_level lv = level_word(p + 1, i - 2);
    if (lv == EV_LVL_UNKNOWN || i >= n || p[i] != '\t')
        return false;
    int64_t ts;
    size_t used = evtime_parse_prefix(p + i + 1, n - i - 1, &ts);
    if (used == 0 || i + 1 + used >= n || p[i + 1 + used] != '\t')
        return false;
    size_t id = i + 2 + used, len = request_id(p, n, id), e = id + len;
    if (len == 0 || e >= n || p[e] != '\t')
        return false;
    out->level = lv;
    out->has_ts = true;
    out->ts_ns = ts;
    out->trace_off = (uint32_t)id;
    out->trace_len = (uint32_t)(e - id);
    out->msg_off = (uint32_t)(e + 1);
    return true;
}

/* The Lambda platform's lines for an invocation, "START RequestId: <id> Version: 1",
 * "END RequestId: <id>", "REPORT RequestId: <id>\tDuration: ...": records of the
 * invocation's trace, their text the message. */
static bool parse_lambda_platform(const char *p, size_t n, struct logprefix *out)
{
    static const char *const heads[] = {"START RequestId: ", "END RequestId: ", "REPORT RequestId: "};
    for (size_t k = 0; k < 3; k++) {
        size_t h = strlen(heads[k]), id;
        if (n <= h || memcmp(p, heads[k], h) != 0 || (id = request_id(p, n, h)) == 0)
            continue;
        out->level = EV_LVL_INFO;
        out->trace_off = (uint32_t)h;
        out->trace_len = (uint32_t)id;
        out->msg_off = 0;
        return true;
    }
    return false;
}

/* Tornado's LogFormatter, as Tornado apps and Jupyter's servers use it: "[W 181207
 * 14:25:24 web:2239] msg" (the level's initial, "%y%m%d %H:%M:%S", module:line) and
 * Jupyter's "[E 2026-12-07 18:00:01.456 ServerApp] msg". */
static bool parse_tornado_layout(const char *p, size_t n, struct logprefix *out)
{
    if (n < 22 || p[0] != '[' || p[2] != ' ')
        return false;
    enum ev_level lv;
    switch (p[1]) {
    case 'D': lv = EV_LVL_DEBUG; break;
    case 'I': lv = EV_LVL_INFO; break;
    case 'W': lv = EV_LVL_WARNING; break;
    case 'E': lv = EV_LVL_ERROR; break;
    case 'C': lv = EV_LVL_CRITICAL; break;
    default: return false;
    }
    size_t i = 3;
    int64_t ts = 0;
    size_t used = evtime_parse_prefix(p + i, n - i, &ts);
    if (used == 0) {
        /* yymmdd HH:MM:SS */
        unsigned y, mo, d, h, mi, s;
        if (n < i + 16 || p[i + 6] != ' ' || p[i + 9] != ':' || p[i + 12] != ':' || !two_digits(p + i, &y) ||
            !two_digits(p + i + 2, &mo) || !two_digits(p + i + 4, &d) || !two_digits(p + i + 7, &h) ||
            !two_digits(p + i + 10, &mi) || !two_digits(p + i + 13, &s) || mo < 1 || mo > 12 || d < 1 || d > 31 ||
            h > 23 || mi > 59 || s > 60)
            return false;
        ts = ((evtime_days_from_civil(2000 + (int64_t)y, mo, d) * 86400) + h * 3600 + mi * 60 + s) * 1000000000LL;
        used = 15;
    }
    i += used;
    if (i >= n || p[i] != ' ')
        return false;
    size_t name = ++i;
    while (i < n && i - name < 128 && p[i] != ']' && p[i] != ' ')
        i++;
    if (i == name || i >= n || p[i] != ']')
        return false;
    size_t end = i;
    const char *colon = memchr(p + name, ':', end - name);
    out->has_ts = true;
    out->ts_ns = ts;
    out->level = lv;
    out->logger_off = (uint32_t)name;
    out->logger_len = (uint32_t)((colon ? (size_t)(colon - p) : end) - name);
    out->msg_off = (uint32_t)(i + 1 < n && p[i + 1] == ' ' ? i + 2 : i + 1);
    out->cont_indent = 4; /* its formatter indents a message's further lines, and the traceback */
    return true;
}

/* A UUID at p: 8-4-4-4-12 hex digits. */
static bool is_uuid(const char *p)
{
    for (int k = 0; k < 36; k++) {
        bool dash = k == 8 || k == 13 || k == 18 || k == 23;
        if (dash ? p[k] != '-' : !(is_digit(p[k]) || (unsigned)((p[k] | 0x20) - 'a') < 6u))
            return false;
    }
    return true;
}

/* Celery names a task by its id: "Task shop.charge[e729a1a8-73f6-...] received",
 * "... raised unexpected", "Soft time limit (1s) exceeded for shop.slow[...]". The id
 * is the record's trace id, so a task's records are one trace. Looked for near the
 * message's start only. */
static void celery_task_id(const char *p, size_t n, struct logprefix *out)
{
    size_t end = n - out->msg_off > 256 ? out->msg_off + 256 : n;
    for (size_t i = out->msg_off; i + 38 <= end; i++) {
        const char *b = memchr(p + i, '[', end - i);
        if (b == NULL)
            return;
        i = (size_t)(b - p);
        if (i + 38 <= end && p[i + 37] == ']' && is_uuid(p + i + 1)) {
            out->trace_off = (uint32_t)(i + 1);
            out->trace_len = 36;
            return;
        }
    }
}

/* The layouts that start with a time, a level or a bracket (see parse). */
/* Twisted's log observers after the time: " [NAMESPACE#LEVEL] msg" (twisted.logger),
 * " [-] msg" (no namespace, or the legacy twisted.python.log). Further lines of the
 * record (a failure's traceback) are indented by a tab. */
static bool parse_twisted_system(const char *p, size_t n, size_t i, struct logprefix *out)
{
    if (i + 4 > n || p[i] != ' ' || p[i + 1] != '[')
        return false;
    size_t s = i + 2;
    const char *e = memchr(p + s, ']', n - s > 128 ? 128 : n - s);
    if (e == NULL)
        return false;
    size_t close = (size_t)(e - p);
    if (!(close == s + 1 && p[s] == '-')) {
        const char *h = memchr(p + s, '#', close - s);
        if (h == NULL || h == p + s)
            return false;
        size_t hs = (size_t)(h - p) + 1, hn = close - hs;
        static const struct {
            const char *name;
            enum ev_level level;
        } levels[] = {{"debug", EV_LVL_DEBUG}, {"info", EV_LVL_INFO},         {"warn", EV_LVL_WARNING},
                      {"error", EV_LVL_ERROR}, {"critical", EV_LVL_CRITICAL}};
        out->level = EV_LVL_UNKNOWN;
        for (size_t k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
            if (strlen(levels[k].name) == hn && memcmp(p + hs, levels[k].name, hn) == 0)
                out->level = levels[k].level;
        if (out->level == EV_LVL_UNKNOWN || word_len(p + s, (size_t)(h - p) - s) != (size_t)(h - p) - s)
            return false;
        out->logger_off = (uint32_t)s;
        out->logger_len = (uint32_t)((size_t)(h - p) - s);
    }
    out->msg_off = (uint32_t)(close + 1 < n && p[close + 1] == ' ' ? close + 2 : close + 1);
    out->cont_indent = 1;
    out->cont_tab = true;
    return true;
}

static bool parse_layouts(const char *p, size_t n, struct logprefix *out, size_t *ts_end, bool *cacheable)
{
    memset(out, 0, sizeof(*out));
    out->pid = -1;
    *ts_end = 0;
    *cacheable = false;
    bool zoned = false, logger_marked = false, celery = false;
    if (n < 4)
        return false;
    char c = p[0];
    if ((c == '[' || c == ' ') && parse_rich_layout(p, n, out))
        return true;
    if (c == '[' && (parse_tornado_layout(p, n, out) || parse_lambda_layout(p, n, out)))
        return true;
    if ((c == 'S' || c == 'E' || c == 'R') && parse_lambda_platform(p, n, out))
        return true;
    if (!(is_digit(c) || c == '[' || is_upper(c)))
        return false;
    size_t i = 0;
    if (is_upper(c)) {
        if (parse_absl_layout(p, n, out) || parse_colon_layout(p, n, out))
            return true;
        /* Django's verbose formatter: "ERROR 2024-05-01 10:00:00,123 views ...". */
        size_t k = 0;
        while (k < n && is_upper(p[k]))
            k++;
        enum ev_level lv = level_word(p, k);
        size_t used;
        if (lv != EV_LVL_UNKNOWN && k < 9 && n > 9 && p[k] == ' ') {
            /* rich's RichHandler without its time column: the level padded to nine */
            size_t s = k;
            while (s < 9 && p[s] == ' ')
                s++;
            if (s == 9 && p[9] != ' ') {
                out->level = lv;
                out->msg_off = 9;
                name_file_line(p, n, out);
                if (out->logger_len == 0) {
                    /* RichHandler without its time column */
                    out->cont_indent = 9;
                    strip_path_column(p, n, out, 2);
                }
                return true;
            }
        }
        if (lv == EV_LVL_UNKNOWN || k + 1 >= n || p[k] != ' ' ||
            (used = evtime_parse_prefix(p + k + 1, n - k - 1, &out->ts_ns)) == 0)
            return false;
        out->level = lv;
        out->has_ts = true;
        i = k + 1 + used;
        *ts_end = i;
    }
    bool bracket = false;
    if (i == 0 && p[0] == '[') {
        bracket = true;
        i = 1;
    }
    size_t used = out->has_ts ? SIZE_MAX : evtime_parse_prefix(p + i, n - i, &out->ts_ns);
    if (used == SIZE_MAX) {
        /* read above */
    } else if (used == 0) {
        if (!bracket)
            return false;
        size_t clf = clf_time(p + 1, n - 1, &out->ts_ns);
        if (clf > 0 && 1 + clf < n && p[1 + clf] == ']') {
            /* Django's runserver: "[07/Dec/2026 18:30:00] "GET / HTTP/1.1" 200 2" */
            out->has_ts = true;
            out->msg_off = (uint32_t)(2 + clf < n && p[2 + clf] == ' ' ? 3 + clf : 2 + clf);
            return true;
        }
        i = 0; /* "[ERROR] ..." style: no timestamp */
    } else {
        out->has_ts = true;
        i += used;
        *ts_end = i;
        /* "2024-05-01 10:00:00 +0000" (gunicorn) */
        if (i + 6 <= n && p[i] == ' ' && (p[i + 1] == '+' || p[i + 1] == '-') && is_digit(p[i + 2]) &&
            is_digit(p[i + 3]) && is_digit(p[i + 4]) && is_digit(p[i + 5])) {
            zoned = true;
            int64_t off = ((p[i + 2] - '0') * 10 + (p[i + 3] - '0')) * 3600 +
                          ((p[i + 4] - '0') * 10 + (p[i + 5] - '0')) * 60;
            out->ts_ns -= (p[i + 1] == '-' ? -off : off) * 1000000000LL;
            i += 6;
        }
        if (!bracket && parse_twisted_system(p, n, i, out))
            return true;
        if (bracket) {
            /* celery: "[ts: LEVEL/Process] msg" */
            if (i + 2 < n && p[i] == ':' && p[i + 1] == ' ') {
                celery = true;
                size_t k = word_len(p + i + 2, n - i - 2);
                enum ev_level lv = level_word(p + i + 2, k);
                if (lv != EV_LVL_UNKNOWN)
                    out->level = lv;
                while (i < n && p[i] != ']')
                    i++;
            }
            if (i >= n || p[i] != ']')
                return false;
            i++;
        }
    }
    /* Lambda's timeout: "2026-12-07T18:00:03.012Z <request id> Task timed out after
     * 3.00 seconds", written by the platform when it kills the invocation. */
    static const char timeout[] = "Task timed out after ";
    size_t rid;
    if (out->has_ts && !bracket && i < n && p[i] == ' ' && (rid = request_id(p, n, i + 1)) > 0 &&
        n - (i + 2 + rid) > sizeof(timeout) - 1 && p[i + 1 + rid] == ' ' &&
        memcmp(p + i + 2 + rid, timeout, sizeof(timeout) - 1) == 0) {
        out->level = EV_LVL_ERROR;
        out->trace_off = (uint32_t)(i + 1);
        out->trace_len = (uint32_t)rid;
        out->msg_off = (uint32_t)(i + 2 + rid);
        return true;
    }
    /* Up to five tokens of level / pid / logger / thread, then the message. */
    bool have_logger = false;
    for (int tok = 0; tok < 5 && i < n; tok++) {
        size_t save = i;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i + 2 < n && p[i] == '-' && p[i + 1] == ' ') {
            i += 2;
            continue;
        }
        if (i + 3 < n && p[i] == '-' && p[i + 1] == '-' && p[i + 2] == ' ' && have_logger) {
            i += 3; /* Ray's "%(filename)s:%(lineno)s -- %(message)s" */
            continue;
        }
        if (i + 2 < n && p[i] == '|' && p[i + 1] == ' ') {
            i += 2;
            continue;
        }
        if (i >= n)
            break;
        if (p[i] == '[' || p[i] == '(' || p[i] == '{') {
            char close = p[i] == '[' ? ']' : p[i] == '(' ? ')' : '}';
            const char *e = memchr(p + i + 1, close, n - i - 1 > 64 ? 64 : n - i - 1);
            if (e == NULL) {
                i = save;
                break;
            }
            const char *in = p + i + 1;
            size_t inn = (size_t)(e - in);
            /* structlog's console: the level padded inside its brackets, "[info     ]" */
            size_t lvn = inn;
            while (lvn > 0 && in[lvn - 1] == ' ')
                lvn--;
            int64_t pid;
            enum ev_level lv;
            if (inn > 4 && memcmp(in, "pid=", 4) == 0 && parse_pid(in + 4, inn - 4, &pid)) {
                out->pid = pid;
            } else if (parse_pid(in, inn, &pid)) {
                out->pid = pid;
            } else if (close != '}' && (lv = level_word(in, lvn)) != EV_LVL_UNKNOWN && out->level == EV_LVL_UNKNOWN) {
                out->level = lv;
            } else if (close == '}' && !have_logger && word_len(in, inn) < inn && in[word_len(in, inn)] == ':' &&
                       word_len(in, inn) > 0) {
                /* Airflow's "{taskinstance.py:1937}": where the record was made. */
                out->logger_off = (size_t)(in - p);
                out->logger_len = word_len(in, inn);
                have_logger = true;
            } else if (close == ']' && !have_logger && word_len(in, inn) == inn && inn > 0 &&
                       ((out->level != EV_LVL_UNKNOWN &&
                         ((memchr(in, '.', inn) != NULL && in[inn - 1] != '.') || !thread_shaped(in, inn))) ||
                        (out->level == EV_LVL_UNKNOWN && out->has_ts && level_follows(p, n, (size_t)(e - p) + 1)))) {
                /* "[app.db]" (a dotted name is a logger, not a thread), and Scrapy's
                 * "[scrapy.core.scraper] ERROR: ..." before its level. */
                out->logger_off = (size_t)(in - p);
                out->logger_len = inn;
                have_logger = true;
            } else if (close == ']' && out->level != EV_LVL_UNKNOWN && !have_logger && inn > 0 &&
                       (word_len(in, inn) == inn || (inn > 7 && memcmp(in, "Thread-", 7) == 0))) {
                /* "[MainThread]", "[Thread-3 (run)]", "[worker-2]": %(threadName)s. */
                out->thread_off = (size_t)(in - p);
                out->thread_len = inn;
            } else if (close == ')' && out->level != EV_LVL_UNKNOWN && out->thread_len == 0 && inn > 0 &&
                       word_len(in, inn) == inn && thread_shaped(in, inn)) {
                /* Home Assistant's "LEVEL (MainThread) [name]": only a name shaped
                 * like a thread's, for a message may begin with a word in parentheses. */
                out->thread_off = (size_t)(in - p);
                out->thread_len = inn;
            } else {
                i = save;
                break;
            }
            i = (size_t)(e - p) + 1;
            if (i < n && p[i] == ':')
                i++;
            continue;
        }
        if (out->level != EV_LVL_UNKNOWN && have_logger && !(i + 4 < n && memcmp(p + i, "pid=", 4) == 0)) {
            /* With level and logger known only "pid=" can follow: this word is
             * the message's first (measuring it would be wasted). */
            i = save;
            break;
        }
        size_t k = word_len(p + i, n - i);
        if (k == 0) {
            i = save;
            break;
        }
        if (k == 3 && i + 4 < n && memcmp(p + i, "pid=", 4) == 0) {
            /* '=' ends a word, so the digits are measured from after it. */
            size_t d = 0;
            while (i + 4 + d < n && is_digit(p[i + 4 + d]))
                d++;
            int64_t pid;
            if (parse_pid(p + i + 4, d, &pid)) {
                out->pid = pid;
                i += 4 + d;
                continue;
            }
        }
        if (out->level == EV_LVL_UNKNOWN && out->pid < 0 && out->has_ts && is_digit(p[i]) &&
            level_follows(p, n, i + k)) {
            /* Odoo's "time PID LEVEL db name: msg": a bare number before the level. */
            int64_t pid;
            if (parse_pid(p + i, k, &pid)) {
                out->pid = pid;
                i += k;
                continue;
            }
        }
        if (out->level == EV_LVL_UNKNOWN) {
            size_t kk = k;
            if (i + kk < n && p[i + kk] == ':')
                kk = k; /* "ERROR: msg" */
            enum ev_level lv = level_word(p + i, kk);
            /* Lowercase prose ("error while ...") is not a level: require caps or a
             * following ':' / ']'. */
            bool caps = is_upper(p[i]) && (k < 2 || is_upper(p[i + 1]));
            bool colon = i + k < n && p[i + k] == ':';
            if (lv != EV_LVL_UNKNOWN && (caps || colon)) {
                out->level = lv;
                i += k;
                if (i < n && p[i] == ':')
                    i++;
                continue;
            }
        }
        if (!have_logger && out->level != EV_LVL_UNKNOWN && i + k < n && p[i + k] == ':') {
            /* loguru: "name:function:line - message". */
            size_t j = i + k + 1, f = j;
            while (j < n && j - f < 128 && p[j] != ':' && p[j] != ' ')
                j++;
            size_t d = j + 1;
            while (j < n && p[j] == ':' && d < n && is_digit(p[d]))
                d++;
            if (j > f && j < n && p[j] == ':' && d > j + 1 && d + 3 <= n && memcmp(p + d, " - ", 3) == 0) {
                out->logger_off = i;
                out->logger_len = k;
                have_logger = true;
                logger_marked = true;
                i = d + 3;
                continue;
            }
        }
        if (!have_logger && out->level != EV_LVL_UNKNOWN && k == 2 && p[i] == 'i' && p[i + 1] == 'n' &&
            i + 3 < n && p[i + 2] == ' ') {
            /* Flask: "[time] ERROR in app: message" (the module). */
            size_t m = word_len(p + i + 3, n - i - 3), e = i + 3 + m;
            if (m > 0 && e + 1 < n && p[e] == ':' && p[e + 1] == ' ') {
                out->logger_off = i + 3;
                out->logger_len = m;
                have_logger = true;
                logger_marked = true;
                i = e + 1;
                continue;
            }
        }
        if (!have_logger) {
            /* A logger: dotted, or marked by what follows it. */
            bool dotted = memchr(p + i, '.', k) != NULL && p[i + k - 1] != '.';
            bool colon = i + k < n && p[i + k] == ':' && (i + k + 1 == n || p[i + k + 1] == ' ');
            bool dash = i + k + 3 <= n && memcmp(p + i + k, " - ", 3) == 0;
            bool brk = i + k + 2 <= n && memcmp(p + i + k, " [", 2) == 0;
            /* Before the level only " - " marks one, after a timestamp: the
             * cookbook's "%(asctime)s - %(name)s - %(levelname)s - %(message)s". */
            bool is_logger = out->level != EV_LVL_UNKNOWN ? (dotted || colon || dash || brk)
                                                          : (dash && out->has_ts);
            if (is_logger) {
                out->logger_off = i;
                out->logger_len = k;
                have_logger = true;
                /* dash and brk look past the word, maybe into the message */
                logger_marked = dotted || colon;
                i += k;
                if (colon)
                    i++;
                else if (i + 1 < n && p[i] == ':' && is_digit(p[i + 1])) {
                    /* "%(name)s:%(lineno)d" */
                    size_t d = i + 1;
                    while (d < n && is_digit(p[d]))
                        d++;
                    if (d == n || p[d] == ' ')
                        i = d;
                }
                continue;
            }
        }
        i = save;
        break;
    }
    /* Nothing known after the time: maybe coloredlogs' host first (tried only
     * here, so that the common layouts pay nothing for it). */
    if (out->level == EV_LVL_UNKNOWN && !have_logger && out->pid < 0 && out->thread_len == 0 && out->has_ts &&
        !bracket && !zoned && parse_host_name_pid(p, n, *ts_end, out))
        return true;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i + 1 < n && p[i] == '-' && p[i + 1] == ' ')
        i += 2;
    out->msg_off = i;
    if (celery)
        celery_task_id(p, n, out);
    /* A message not set off by a blank may continue the last token's word. */
    *cacheable = out->has_ts && p[0] != '[' && !zoned && out->level != EV_LVL_UNKNOWN && logger_marked &&
                 i + 4 < n && i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t');
    return out->has_ts || out->level != EV_LVL_UNKNOWN;
}

/* An access log line in the common or combined log format (gunicorn's access log,
 * nginx, Apache): "HOST - USER [07/Dec/2026:19:52:55 +0000] "GET / HTTP/1.1" 200 3
 * ...", or as werkzeug writes it: "HOST - - [07/Dec/2026 19:52:55] "GET / ..." 200 -".
 * A record of its own, so that it ends a traceback before it rather than being read
 * as the exception's note. The whole line is the message: the client and
 * the request are what a reader looks for. Its host is the client's, not the
 * writer's, so it is not taken as the event's host. */
static bool parse_clf_layout(const char *p, size_t n, struct logprefix *out)
{
    size_t i = 0;
    for (int field = 0; field < 3; field++) {
        size_t start = i;
        while (i < n && i - start < 256 && p[i] != ' ' && p[i] != '[' && (unsigned char)p[i] > ' ')
            i++;
        if (i == start || i >= n || p[i] != ' ')
            return false;
        /* The ident field (RFC 1413) is "-" in every server's log: it tells an
         * access record from a message that has a bracketed time in it. */
        if (field == 1 && (i - start != 1 || p[start] != '-'))
            return false;
        i++;
    }
    int64_t ts;
    size_t used = i < n && p[i] == '[' ? clf_time(p + i + 1, n - i - 1, &ts) : 0;
    /* With the zone ("07/Dec/2026:19:52:55 +0000"), or werkzeug's (Flask's
     * development server) time without one ("07/Dec/2026 19:52:55"), then a quoted
     * request. */
    const char *tm = p + i + 1;
    size_t left = n - i - 1;
    bool zoned = used == 26 && tm[11] == ':';
    bool werkzeug = used == 20 && tm[11] == ' ' && left > 22 && tm[21] == ' ' && tm[22] == '"';
    if (!(zoned || werkzeug) || used >= left || tm[used] != ']')
        return false;
    memset(out, 0, sizeof(*out));
    out->pid = -1;
    out->has_ts = true;
    out->ts_ns = ts;
    out->msg_off = 0;
    return true;
}

/* A warning as the warnings module prints it to stderr (formatwarning): "PATH:LINE:
 * CategoryWarning: message", then the line of source indented by two. numpy's
 * RuntimeWarnings ("overflow encountered in exp") come before a NaN loss. A record at
 * WARNING, the whole line its message; the source line goes on with it. */
static bool parse_warning_layout(const char *p, size_t n, struct logprefix *out)
{
    const char *w = memmem(p, n < 4096 ? n : 4096, "Warning: ", 9);
    if (w == NULL) {
        w = n >= 8 && memcmp(p + n - 8, "Warning:", 8) == 0 ? p + n - 8 : NULL; /* no message */
        if (w == NULL)
            return false;
    }
    /* Back over the category's name to the ": " before it, and ":LINE" before that. */
    const char *c = w;
    while (c > p && (is_upper(c[-1]) || (c[-1] >= 'a' && c[-1] <= 'z') || is_digit(c[-1]) || c[-1] == '_'))
        c--;
    if (c == w || !is_upper(*c) || c - p < 5 || c[-1] != ' ' || c[-2] != ':')
        return false;
    const char *d = c - 2;
    while (d > p && is_digit(d[-1]))
        d--;
    if (d == c - 2 || d - p < 2 || d[-1] != ':')
        return false;
    memset(out, 0, sizeof(*out));
    out->pid = -1;
    out->level = EV_LVL_WARNING;
    out->msg_off = 0;
    out->cont_indent = 2;
    return true;
}

/* The parse. *ts_end is set to where the timestamp ended when one was read (0 if
 * not); *cacheable to true when the result depends on nothing past msg_off but
 * the checks logprefix_cached repeats (see there). */
static bool parse(const char *p, size_t n, struct logprefix *out, size_t *ts_end, bool *cacheable)
{
    if (parse_layouts(p, n, out, ts_end, cacheable))
        return true;
    /* Tried last: a line that is no record of the layouts above costs a look at
     * three words, and records of those layouts cost nothing. */
    char c = n > 0 ? p[0] : ' ';
    if (((is_digit(c) || (unsigned)((c | 0x20) - 'a') < 26u || c == ':') && parse_clf_layout(p, n, out)) ||
        (c != ' ' && c != '\t' && parse_warning_layout(p, n, out))) {
        *ts_end = 0;
        *cacheable = false;
        return true;
    }
    return false;
}

bool logprefix_parse(const char *p, size_t n, struct logprefix *out)
{
    size_t ts_end;
    bool cacheable;
    return parse(p, n, out, &ts_end, &cacheable);
}

/* ---- the cache ----
 * After its timestamp, a prefix is read token by token, and with the level and the
 * logger known (the logger marked by a dot or a colon, within its own bytes) and a
 * blank before the message, the parse stops at the message's first word, looking
 * at no more of it than its first bytes (a separator, a bracket, "pid="). So a line
 * with the same bytes from the end of its timestamp to the message, and a message
 * that starts with none of those, has the same prefix but for the time: a compare
 * instead of a parse. test_logprefix_cache_agrees and fuzz_text hold it to that. */

/* The set of a line by up to 16 bytes after its timestamp: the level and most of
 * the logger name. */
static inline unsigned cache_set(const char *p, size_t len)
{
    /* len >= 8: fixed-size loads, which compile to a move each */
    uint64_t a, b = 0;
    memcpy(&a, p, 8);
    if (len >= 16)
        memcpy(&b, p + 8, 8);
    uint64_t h = (a ^ (b * 0xC2B2AE3D27D4EB4Full)) * 0x9E3779B97F4A7C15ull;
    return (unsigned)(h >> 59) & (LOGPREFIX_CACHE_SETS - 1);
}

/* p[0..k) == q[0..k), sixteen bytes a step, the last step ending at k (reading
 * nothing past either). */
static inline bool same_bytes(const char *p, const char *q, size_t k)
{
#if defined(__SSE2__) && !defined(LOGPREFIX_PORTABLE)
    if (k >= 16) {
        size_t i = 0;
        for (; i + 16 < k; i += 16)
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)),
                                                 _mm_loadu_si128((const __m128i *)(const void *)(q + i)))) != 0xffff)
                return false;
        return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + k - 16)),
                                                _mm_loadu_si128((const __m128i *)(const void *)(q + k - 16)))) == 0xffff;
    }
#endif
    return memcmp(p, q, k) == 0;
}

void logprefix_cache_init(struct logprefix_cache *c)
{
    for (unsigned i = 0; i < LOGPREFIX_CACHE_SETS; i++) {
        c->set[i].e[0].ts_end = c->set[i].e[1].ts_end = 0;
        c->set[i].last = 0;
    }
    c->hits = 0;
}

bool logprefix_equal(const struct logprefix *a, const struct logprefix *b)
{
    return a->has_ts == b->has_ts && (!a->has_ts || a->ts_ns == b->ts_ns) && a->level == b->level &&
           a->pid == b->pid && a->logger_off == b->logger_off && a->logger_len == b->logger_len &&
           a->thread_off == b->thread_off && a->thread_len == b->thread_len && a->msg_off == b->msg_off &&
           a->host_off == b->host_off && a->host_len == b->host_len && a->trace_off == b->trace_off &&
           a->trace_len == b->trace_len && a->msg_end == b->msg_end &&
           a->col_end == b->col_end && a->time_omitted == b->time_omitted &&
           a->cont_indent == b->cont_indent && a->cont_tab == b->cont_tab;
}

/* *out = *res with the time ts. The time and the pid go in one store: copied
 * whole and then given the time by a store of its own, the pair could not be
 * loaded by the caller at once before both stores were done (a failed store
 * forward: most of the cost of a note's line). */
static inline void copy_with_time(struct logprefix *out, const struct logprefix *res, int64_t ts)
{
#if defined(__SSE2__) && !defined(LOGPREFIX_PORTABLE)
    _Static_assert(offsetof(struct logprefix, ts_ns) == 0 && offsetof(struct logprefix, pid) == 8,
                   "the time and the pid are the first 16 bytes");
    _Static_assert(sizeof(struct logprefix) == 72, "four 16-byte pieces and 8 bytes");
    const __m128i *s = (const __m128i *)(const void *)res;
    __m128i *d = (__m128i *)(void *)out;
    __m128i head = _mm_loadu_si128(s);
    head = _mm_castpd_si128(_mm_move_sd(_mm_castsi128_pd(head), _mm_castsi128_pd(_mm_cvtsi64_si128(ts))));
    _mm_storeu_si128(d, head);
    /* By hand: as a memcpy of 56 bytes it became `rep movs`, slow to start. */
    _mm_storeu_si128(d + 1, _mm_loadu_si128(s + 1));
    _mm_storeu_si128(d + 2, _mm_loadu_si128(s + 2));
    _mm_storeu_si128(d + 3, _mm_loadu_si128(s + 3));
    uint64_t last;
    memcpy(&last, (const char *)res + 64, 8);
    memcpy((char *)out + 64, &last, 8);
#else
    *out = *res;
    out->ts_ns = ts;
#endif
}

bool logprefix_cached(struct logprefix_cache *c, const char *p, size_t n, struct logprefix *out)
{
    if (n > 20 && is_digit(p[0])) {
        int64_t ts;
        size_t t = evtime_parse_prefix(p, n, &ts);
        if (t > 0 && t + 8 <= n) {
            struct logprefix_cache_set *set = &c->set[cache_set(p + t, n - t)];
            for (unsigned w = 0; w < 2; w++) {
                const struct logprefix_cache_entry *e = &set->e[w];
                size_t m = e->res.msg_off;
                if (e->ts_end != t || m + 4 >= n || !same_bytes(p + t, e->bytes, m - t))
                    continue;
                char c0 = p[m];
                if (c0 == ' ' || c0 == '\t' || c0 == '-' || c0 == '|' || c0 == '[' || c0 == '(' ||
                    memcmp(p + m, "pid=", 4) == 0)
                    break; /* the parse would look further: parse */
                copy_with_time(out, &e->res, ts);
                set->last = (uint8_t)w;
                c->hits++;
                return true;
            }
        }
    }
    size_t ts_end;
    bool cacheable;
    bool rec = parse(p, n, out, &ts_end, &cacheable);
    if (rec && cacheable && out->msg_off - ts_end <= LOGPREFIX_CACHE_BYTES && ts_end + 8 <= n) {
        struct logprefix_cache_set *set = &c->set[cache_set(p + ts_end, n - ts_end)];
        set->last ^= 1; /* the way not used last */
        struct logprefix_cache_entry *e = &set->e[set->last];
        e->ts_end = (uint32_t)ts_end;
        e->res = *out;
        memcpy(e->bytes, p + ts_end, out->msg_off - ts_end);
    }
    return rec;
}
