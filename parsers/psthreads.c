/* psthreads.c -- per-thread CPU paratext: `ps -T -o pid,spid,time,pcpu,comm`,
 * `ps -L`, `ps -eLf` and `top -H -b`.
 *
 * The header names the columns, so any column order ps was asked for is read:
 *   PID, SPID|LWP|TID (the thread's native id), TIME|TIME+ (CPU time),
 *   %CPU|PCPU|C, S|STAT (state), COMMAND|CMD|COMM (the rest of the line).
 * In `top -H` the PID column holds thread ids and the process id is not printed.
 * Each sample (a header; for top, a "top - HH:MM:SS" line) becomes one EV_THREAD_CPU
 * event per process, its threads with cpu_percent and cpu_seconds as printed.
 *
 * Values are reported as printed. In particular ps and top show the process-wide
 * CPU time on the row of the thread-group leader (the thread whose id is the
 * process id); telling that apart is the spiking_thread detector's business, which
 * sees every row.
 */
#include <stdlib.h>
#include <string.h>

#include "dumpbuild.h"
#include "linesplit.h"
#include "parser.h"

enum col { C_NONE = 0, C_PID, C_TID, C_TIME, C_CPU, C_STATE, C_CMD, C_OTHER };

#define MAX_COLS 24

struct psthreads {
    struct parser_env env;
    struct linesplit ls;
    struct dumpb b;
    enum col cols[MAX_COLS];
    unsigned ncols;
    bool top;           /* a top batch: PID is the thread id */
    bool top_threads;   /* top said "Threads:", so rows are threads */
    int32_t clock_s;    /* from the "top - HH:MM:SS" line */
    int64_t cur_pid;    /* process of the rows being collected */
    int stop;
    bool oom;
};

static bool starts(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

static bool tok_is(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

static enum col col_of(const char *p, size_t n)
{
    if (tok_is(p, n, "PID"))
        return C_PID;
    if (tok_is(p, n, "SPID") || tok_is(p, n, "LWP") || tok_is(p, n, "TID"))
        return C_TID;
    if (tok_is(p, n, "TIME") || tok_is(p, n, "TIME+") || tok_is(p, n, "CPUTIME"))
        return C_TIME;
    if (tok_is(p, n, "%CPU") || tok_is(p, n, "PCPU") || tok_is(p, n, "C"))
        return C_CPU;
    if (tok_is(p, n, "S") || tok_is(p, n, "STAT") || tok_is(p, n, "STATE"))
        return C_STATE;
    if (tok_is(p, n, "COMMAND") || tok_is(p, n, "CMD") || tok_is(p, n, "COMM") || tok_is(p, n, "ARGS"))
        return C_CMD;
    return C_OTHER;
}

/* Split p into whitespace-separated tokens (at most max); returns the count. */
static unsigned tokens(const char *p, size_t n, const char **tp, size_t *tl, unsigned max)
{
    unsigned k = 0;
    size_t i = 0;
    while (i < n && k < max) {
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= n)
            break;
        size_t s = i;
        while (i < n && p[i] != ' ' && p[i] != '\t')
            i++;
        tp[k] = p + s;
        tl[k] = i - s;
        k++;
    }
    return k;
}

/* A header names PID and a CPU column (percent or time). */
static bool parse_header(const char *p, size_t n, enum col *cols, unsigned *ncols)
{
    const char *tp[MAX_COLS];
    size_t tl[MAX_COLS];
    unsigned k = tokens(p, n, tp, tl, MAX_COLS);
    bool pid = false, cpu = false;
    for (unsigned i = 0; i < k; i++) {
        cols[i] = col_of(tp[i], tl[i]);
        pid |= cols[i] == C_PID;
        cpu |= cols[i] == C_CPU || cols[i] == C_TIME;
    }
    *ncols = k;
    return pid && cpu && k >= 3;
}

static bool parse_num(const char *p, size_t n, double *out)
{
    if (n == 0 || n > 31)
        return false;
    char buf[32];
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0' || v != v || v < 0)
        return false;
    *out = v;
    return true;
}

/* "00:00:03", "1-02:03:04", "03:04" (ps); "0:03.20", "123:45.67" (top TIME+). */
static bool parse_cputime(const char *p, size_t n, double *out)
{
    double days = 0;
    const char *dash = memchr(p, '-', n);
    if (dash != NULL) {
        if (!parse_num(p, (size_t)(dash - p), &days))
            return false;
        n -= (size_t)(dash + 1 - p);
        p = dash + 1;
    }
    double part[3];
    unsigned np = 0;
    size_t i = 0;
    while (i <= n && np < 3) {
        size_t s = i;
        while (i < n && p[i] != ':')
            i++;
        if (!parse_num(p + s, i - s, &part[np++]))
            return false;
        i++;
    }
    if (i <= n)
        return false; /* more than three parts */
    double v;
    if (np == 3)
        v = part[0] * 3600 + part[1] * 60 + part[2];
    else if (np == 2)
        v = part[0] * 60 + part[1]; /* ps MM:SS and top M:SS.hh alike */
    else
        v = part[0];
    *out = days * 86400 + v;
    return true;
}

static enum ev_thread_state state_of(char c)
{
    switch (c) {
    case 'R': return EV_TS_RUNNING;
    case 'S': case 'I': return EV_TS_IDLE;
    case 'D': return EV_TS_DISK;
    case 'T': case 't': return EV_TS_STOPPED;
    case 'Z': return EV_TS_ZOMBIE;
    default: return EV_TS_UNKNOWN;
    }
}

static int emit_sample(struct psthreads *s)
{
    int rc = dumpb_emit(&s->b, EV_THREAD_CPU);
    if (rc < 0)
        s->oom = true;
    else if (rc > 0)
        s->stop = rc;
    return rc;
}

static void begin_sample(struct psthreads *s)
{
    s->b.d.format = s->top ? EV_DUMP_TOP : EV_DUMP_PS;
    s->b.d.clock_s = s->top ? s->clock_s : -1;
    s->b.pid = s->top ? -1 : s->cur_pid;
}

/* A pid or tid column an int64 can hold (a crafted "1e20" or "inf" would not
 * convert); anything else leaves the id unknown. */
static bool id_in_range(double v)
{
    return v >= 0 && v < 9.2e18;
}

static int row(struct psthreads *s, const char *p, size_t n, uint64_t ln)
{
    const char *tp[MAX_COLS];
    size_t tl[MAX_COLS];
    unsigned k = tokens(p, n, tp, tl, MAX_COLS);
    if (k < s->ncols) {
        if (s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, ln, "thread row with fewer columns than its header, skipped");
        return 0;
    }
    int64_t pid = -1, tid = -1;
    double cpu = -1, tm = -1;
    enum ev_thread_state st = EV_TS_UNKNOWN;
    const char *cmd = NULL;
    size_t cmdl = 0;
    for (unsigned i = 0; i < s->ncols; i++) {
        double v;
        switch (s->cols[i]) {
        case C_PID:
            if (parse_num(tp[i], tl[i], &v) && id_in_range(v))
                pid = (int64_t)v;
            break;
        case C_TID:
            if (parse_num(tp[i], tl[i], &v) && id_in_range(v))
                tid = (int64_t)v;
            break;
        case C_CPU:
            if (parse_num(tp[i], tl[i], &v))
                cpu = v;
            break;
        case C_TIME:
            if (parse_cputime(tp[i], tl[i], &v))
                tm = v;
            break;
        case C_STATE:
            st = state_of(tp[i][0]);
            break;
        case C_CMD:
            cmd = tp[i];
            /* The last column takes the rest of the line (commands have spaces). */
            cmdl = i + 1 == s->ncols ? (size_t)(p + n - tp[i]) : tl[i];
            while (cmdl > 0 && (cmd[cmdl - 1] == ' ' || cmd[cmdl - 1] == '\t'))
                cmdl--;
            break;
        default:
            break;
        }
    }
    if (s->top) {
        tid = pid; /* top -H: the PID column is the thread's id */
        pid = -1;
    }
    if (tid < 0 || (cpu < 0 && tm < 0)) {
        if (s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, ln, "thread row without a thread id or CPU value, skipped");
        return 0;
    }
    if (!s->top && pid != s->cur_pid && !dumpb_empty(&s->b)) {
        if (emit_sample(s) != 0)
            return s->oom ? -1 : s->stop;
    }
    if (dumpb_empty(&s->b)) {
        s->cur_pid = pid;
        begin_sample(s);
    }
    dumpb_touch(&s->b, ln);
    struct ev_dthread *t = dumpb_thread(&s->b);
    if (t == NULL)
        return s->b.oom ? -1 : 0;
    for (unsigned i = 0; i < s->ncols; i++)
        if (s->cols[i] == (s->top ? C_PID : C_TID))
            t->id = dumpb_str(&s->b, tp[i], tl[i]);
    t->native_id = tid;
    t->has_cpu = true;
    t->cpu_percent = cpu < 0 ? 0 : cpu;
    t->cpu_seconds = tm;
    t->state = st;
    if (cmd != NULL && cmdl > 0)
        t->name = dumpb_str(&s->b, cmd, cmdl);
    return s->b.oom ? -1 : 0;
}

/* "top - 03:21:35 up  1:23, ..." */
static int32_t top_clock(const char *p, size_t n)
{
    if (n < 14 || p[8] != ':' || p[11] != ':')
        return -1;
    for (int i = 6; i < 14; i++)
        if (i != 8 && i != 11 && (p[i] < '0' || p[i] > '9'))
            return -1;
    return ((p[6] - '0') * 10 + (p[7] - '0')) * 3600 + ((p[9] - '0') * 10 + (p[10] - '0')) * 60 +
           (p[12] - '0') * 10 + (p[13] - '0');
}

static int on_line(void *ctx, const char *p, size_t n, uint64_t ln, bool truncated)
{
    struct psthreads *s = ctx;
    (void)truncated;
    if (s->stop)
        return s->stop;
    if (starts(p, n, "top - ")) {
        if (emit_sample(s) != 0)
            return s->oom ? -1 : s->stop;
        s->top = true;
        s->top_threads = false;
        s->ncols = 0;
        s->clock_s = top_clock(p, n);
        return 0;
    }
    if (s->top && starts(p, n, "Threads:")) {
        s->top_threads = true;
        return 0;
    }
    enum col cols[MAX_COLS];
    unsigned nc;
    if (parse_header(p, n, cols, &nc)) {
        if (emit_sample(s) != 0)
            return s->oom ? -1 : s->stop;
        memcpy(s->cols, cols, sizeof(cols));
        s->ncols = nc;
        if (s->top && !s->top_threads && s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, ln, "top without -H lists processes, not threads; rows skipped");
        return 0;
    }
    if (s->ncols == 0 || n == 0)
        return 0;
    if (s->top && !s->top_threads)
        return 0;
    size_t i = 0;
    while (i < n && p[i] == ' ')
        i++;
    if (i == n || p[i] < '0' || p[i] > '9') {
        if (s->top)
            return 0; /* top's summary lines ("%Cpu(s):", "MiB Mem :") */
        if (s->env.diag)
            s->env.diag(s->env.diag_ctx, s->env.stream, ln, "not a thread row, skipped");
        return 0;
    }
    return row(s, p, n, ln);
}

static void *ps_open(const struct parser_env *env)
{
    struct psthreads *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->env = *env;
    if (s->env.limits == NULL)
        s->env.limits = &parse_limits_default;
    linesplit_init(&s->ls, s->env.limits->max_line);
    dumpb_init(&s->b, &s->env, EV_DUMP_PS);
    s->clock_s = -1;
    s->cur_pid = -1;
    return s;
}

static int ps_feed(void *st, const char *buf, size_t len)
{
    struct psthreads *s = st;
    int rc = linesplit_feed(&s->ls, buf, len, on_line, s);
    return s->oom ? -1 : rc;
}

static int ps_finish(void *st)
{
    struct psthreads *s = st;
    int rc = linesplit_finish(&s->ls, on_line, s);
    if (rc == 0)
        rc = emit_sample(s);
    return s->oom ? -1 : rc;
}

static void ps_close(void *st)
{
    struct psthreads *s = st;
    if (s == NULL)
        return;
    linesplit_free(&s->ls);
    dumpb_free(&s->b);
    free(s);
}

/* Evidence: a ps header with a thread-id column, or top's banner with "Threads:". */
static int ps_bid(const char *buf, size_t len, bool at_eof)
{
    (void)at_eof;
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) : len;
    if (starts(buf, n, "top - ") && top_clock(buf, n) >= 0) {
        const char *l2 = nl ? nl + 1 : NULL;
        if (l2 != NULL && (size_t)(buf + len - l2) >= 8 && memcmp(l2, "Threads:", 8) == 0)
            return 50;
        return 12; /* top listing processes: recognized, nothing to read */
    }
    enum col cols[MAX_COLS];
    unsigned nc;
    if (!parse_header(buf, n, cols, &nc))
        return 0;
    for (unsigned i = 0; i < nc; i++)
        if (cols[i] == C_TID)
            return 50;
    return 10;
}

const struct parser parser_psthreads = {
    .name = "psthreads",
    .description = "per-thread CPU: ps -T / ps -L / ps -eLf and top -H -b output",
    .bid = ps_bid,
    .open = ps_open,
    .feed = ps_feed,
    .finish = ps_finish,
    .close = ps_close,
};
