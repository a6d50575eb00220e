/* gcstats.c -- gc statistics, objgraph listings and /proc/PID/status counter samples
 * as text.
 *
 * Line families, each recognized on its own so a file may mix them:
 *   len(gc.get_objects())   "15021"                      -> EV_GC counters gc_objects
 *   gc.get_stats()          "[{'collections': 33, ...}]"  -> EV_GC counters gc_*
 *   gc.get_count()          "(621, 0, 0)"                 -> EV_GC counters gc_count0..2
 *   objgraph.show_growth()  "OpenFile      300      +300" -> EV_GC snapshot by type, with deltas
 *   objgraph.show_most_common_types()  "function  3371"  -> EV_GC snapshot by type
 *   counter samples         "03:21:37.027 pid=8384 Threads: 1 VmRSS: 4 kB fds: 3"
 *   /proc/PID/status        "Name:\tpython3" ... "VmRSS:\t 11904 kB" ... "Threads:\t65"
 *                                                          -> EV_COUNTER threads, rss_bytes, fds
 * A bare integer is only taken for gc.get_objects() in a stream that also has
 * gc.get_stats() lines (the bid requires one), since a lone number means nothing.
 * A type listing is one snapshot: a run of its lines, ended by any other line (such
 * as "=== iteration 100") or by a type seen twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_memory.h"
#include "../correlate/evtime.h"
#include "linesplit.h"
#include "parser.h"

#define GS_MAX_TYPES 100000
#define GS_MAX_COUNTERS 32

enum tlist { T_NONE = 0, T_GROWTH, T_COMMON };

struct gs_type {
    uint32_t off, len;
    int64_t count, delta;
};

struct gs {
    struct parser_env env;
    struct linesplit ls;
    int stop;
    /* a type listing in progress */
    enum tlist tl;
    uint64_t tl_line;
    struct gs_type *types;
    uint32_t ntypes, types_cap;
    char *names;
    size_t names_len, names_cap;
    /* a /proc/PID/status block in progress */
    bool in_status;
    uint64_t status_line;
    struct ev_counter status[GS_MAX_COUNTERS];
    char status_names[GS_MAX_COUNTERS][24];
    uint32_t nstatus;
    int64_t status_pid;
    /* time given on a line of its own, for the next sample */
    bool has_ts;
    int64_t ts;
};

/* ---- small scanners --------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_space(char c) { return c == ' ' || c == '\t'; }

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

static bool uint_at(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    if (s == end || !is_digit(*s))
        return false;
    int64_t v = 0;
    while (s < end && is_digit(*s)) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*s++ - '0');
    }
    *out = v;
    *p = s;
    return true;
}

static bool lit(const char **p, const char *end, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
        return false;
    *p += n;
    return true;
}

/* The whole line is one non-negative integer. */
static bool bare_int(const char *l, size_t n, int64_t *v)
{
    const char *p = skip_ws(l, l + n), *end = l + n;
    while (end > p && is_space(end[-1]))
        end--;
    return uint_at(&p, end, v) && p == end;
}

/* "HH:MM:SS[.fff]" at p: nanoseconds of the day. */
static bool clock_at(const char **p, const char *end, int64_t *ns)
{
    const char *s = *p;
    if (end - s < 8 || !is_digit(s[0]) || !is_digit(s[1]) || s[2] != ':' || !is_digit(s[3]) || !is_digit(s[4]) ||
        s[5] != ':' || !is_digit(s[6]) || !is_digit(s[7]))
        return false;
    int64_t h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0'),
            sec = (s[6] - '0') * 10 + (s[7] - '0');
    if (h > 23 || m > 59 || sec > 60)
        return false;
    int64_t frac = 0, scale = 100000000;
    s += 8;
    if (s < end && (*s == '.' || *s == ',')) {
        s++;
        while (s < end && is_digit(*s)) {
            frac += (*s - '0') * scale;
            scale /= 10;
            s++;
        }
    }
    *ns = ((h * 60 + m) * 60 + sec) * 1000000000 + frac;
    *p = s;
    return true;
}

/* ---- events ----------------------------------------------------------------------- */

static int emit_counters(struct gs *g, enum ev_kind kind, const char *format, struct ev_counter *v, uint32_t n,
                         uint64_t line, int64_t pid, bool has_clock, int64_t clock, bool has_ts, int64_t ts)
{
    struct ev_counters c = {
        .tag = EV_MEM_COUNTERS, .format = format, .v = v, .n = n, .has_clock = has_clock, .clock_ns = clock,
    };
    struct event ev;
    ev_init(&ev, kind);
    ev.src.stream = g->env.stream;
    ev.src.line = line;
    ev.pid = pid;
    if (has_ts || g->has_ts) {
        ev.has_ts = true;
        ev.ts_ns = has_ts ? ts : g->ts;
        g->has_ts = false;
    }
    ev.u.counters = &c;
    return g->env.emit ? g->env.emit(g->env.emit_ctx, &ev) : 0;
}

/* ---- gc.get_stats(), gc.get_count() ---------------------------------------------- */

/* "[{'collections': 33, 'collected': 152, 'uncollectable': 0}, {...}, {...}]" */
static int gc_stats_line(struct gs *g, const char *l, size_t n, uint64_t lineno, bool *mine)
{
    const char *p = skip_ws(l, l + n), *end = l + n;
    if (!lit(&p, end, "[{"))
        return 0;
    static const char *const keys[] = {"collections", "collected", "uncollectable"};
    static const char *const names[3 * 3] = {
        "gc_gen0_collections", "gc_gen0_collected", "gc_gen0_uncollectable",
        "gc_gen1_collections", "gc_gen1_collected", "gc_gen1_uncollectable",
        "gc_gen2_collections", "gc_gen2_collected", "gc_gen2_uncollectable",
    };
    struct ev_counter v[3 * 3 + 3];
    double tot[3] = {0, 0, 0};
    uint32_t nv = 0;
    for (int gen = 0; gen < 3; gen++) {
        if (gen > 0 && !(lit(&p, end, ", {") || lit(&p, end, ",{")))
            break;
        for (int k = 0; k < 3; k++) {
            p = skip_ws(p, end);
            if (k > 0 && !lit(&p, end, ","))
                return 0;
            p = skip_ws(p, end);
            char key[40];
            snprintf(key, sizeof(key), "'%s':", keys[k]);
            int64_t x;
            if (!lit(&p, end, key)) {
                snprintf(key, sizeof(key), "\"%s\":", keys[k]);
                if (!lit(&p, end, key))
                    return 0;
            }
            p = skip_ws(p, end);
            if (!uint_at(&p, end, &x))
                return 0;
            v[nv].name = ev_str_make(names[gen * 3 + k], strlen(names[gen * 3 + k]));
            v[nv].value = (double)x;
            nv++;
            tot[k] += (double)x;
        }
        p = skip_ws(p, end);
        if (!lit(&p, end, "}"))
            return 0;
    }
    if (!lit(&p, end, "]"))
        return 0;
    *mine = true;
    v[nv++] = (struct ev_counter){EV_STR_LIT("gc_collections"), tot[0]};
    v[nv++] = (struct ev_counter){EV_STR_LIT("gc_collected"), tot[1]};
    v[nv++] = (struct ev_counter){EV_STR_LIT("gc_uncollectable"), tot[2]};
    return emit_counters(g, EV_GC, "gc", v, nv, lineno, -1, false, 0, false, 0);
}

/* "(621, 0, 0)" */
static int gc_count_line(struct gs *g, const char *l, size_t n, uint64_t lineno, bool *mine)
{
    const char *p = skip_ws(l, l + n), *end = l + n;
    while (end > p && is_space(end[-1]))
        end--;
    int64_t c[3];
    if (!lit(&p, end, "(") || !uint_at(&p, end, &c[0]) || !lit(&p, end, ", ") || !uint_at(&p, end, &c[1]) ||
        !lit(&p, end, ", ") || !uint_at(&p, end, &c[2]) || !lit(&p, end, ")") || p != end)
        return 0;
    *mine = true;
    struct ev_counter v[3] = {
        {EV_STR_LIT("gc_count0"), (double)c[0]},
        {EV_STR_LIT("gc_count1"), (double)c[1]},
        {EV_STR_LIT("gc_count2"), (double)c[2]},
    };
    return emit_counters(g, EV_GC, "gc", v, 3, lineno, -1, false, 0, false, 0);
}

/* ---- objgraph type listings ------------------------------------------------------- */

static int cmp_types(const void *a, const void *b)
{
    const struct ev_snap_site *x = a, *y = b;
    return (x->size < y->size) - (x->size > y->size);
}

static int types_emit(struct gs *g)
{
    if (g->tl == T_NONE)
        return 0;
    int rc = 0;
    struct ev_snap_site *sites = g->ntypes ? calloc(g->ntypes, sizeof(*sites)) : NULL;
    if (g->ntypes && sites == NULL)
        return -1;
    for (uint32_t i = 0; i < g->ntypes; i++) {
        sites[i].file = ev_str_make(g->names + g->types[i].off, g->types[i].len);
        sites[i].size = g->types[i].count;
        sites[i].count = -1;
        sites[i].size_diff = g->types[i].delta;
    }
    qsort(sites, g->ntypes, sizeof(*sites), cmp_types);
    struct ev_snapshot snap = {
        .tag = EV_MEM_SNAPSHOT,
        .format = g->tl == T_GROWTH ? "show_growth" : "most_common_types",
        .metric = SNAP_OBJECTS,
        .group = SNAP_BY_TYPE,
        .sites = sites,
        .nsites = g->ntypes,
        .sites_total = g->ntypes,
        .complete = false,
        .has_diff = g->tl == T_GROWTH,
        .total_count = -1,
        .traceback_limit = -1,
        .seq = -1,
    };
    struct event ev;
    ev_init(&ev, EV_GC);
    ev.src.stream = g->env.stream;
    ev.src.line = g->tl_line;
    if (g->has_ts) {
        ev.has_ts = true;
        ev.ts_ns = g->ts;
        g->has_ts = false;
    }
    ev.u.snap = &snap;
    if (g->ntypes > 0 && g->env.emit)
        rc = g->env.emit(g->env.emit_ctx, &ev);
    free(sites);
    g->tl = T_NONE;
    g->ntypes = 0;
    g->names_len = 0;
    return rc;
}

/* "Name   count   +delta" (show_growth) or "Name count" (show_most_common_types). */
static bool type_line(const char *l, size_t n, const char **name, size_t *nlen, int64_t *count, int64_t *delta,
                      bool *has_delta)
{
    const char *p = l, *end = l + n;
    while (end > p && is_space(end[-1]))
        end--;
    if (p == end || is_space(*p) || *p == '=' || *p == '#' || *p == '[')
        return false;
    const char *ne = p;
    while (ne < end && !is_space(*ne))
        ne++;
    if (ne == end || ne - p > 256)
        return false;
    *name = p;
    *nlen = (size_t)(ne - p);
    /* a type name is an identifier, possibly dotted or with '-' (method-wrapper) */
    for (const char *q = p; q < ne; q++)
        if (!(is_digit(*q) || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_' || *q == '.' ||
              *q == '-' || *q == '<' || *q == '>'))
            return false;
    if (is_digit(*p))
        return false;
    const char *s = skip_ws(ne, end);
    if (!uint_at(&s, end, count))
        return false;
    s = skip_ws(s, end);
    *has_delta = false;
    *delta = 0;
    if (s == end)
        return true;
    if (*s != '+' && *s != '-')
        return false;
    bool neg = *s == '-';
    s++;
    if (!uint_at(&s, end, delta) || s != end)
        return false;
    if (neg)
        *delta = -*delta;
    *has_delta = true;
    return true;
}

static int type_add(struct gs *g, enum tlist kind, const char *name, size_t nlen, int64_t count, int64_t delta,
                    uint64_t lineno)
{
    if (g->tl != T_NONE && g->tl != kind) {
        int rc = types_emit(g);
        if (rc != 0)
            return rc;
    }
    for (uint32_t i = 0; i < g->ntypes; i++)
        if (g->types[i].len == nlen && memcmp(g->names + g->types[i].off, name, nlen) == 0) {
            int rc = types_emit(g); /* a type seen twice: the next listing */
            if (rc != 0)
                return rc;
            break;
        }
    if (g->tl == T_NONE) {
        g->tl = kind;
        g->tl_line = lineno;
    }
    if (g->ntypes >= GS_MAX_TYPES)
        return 0;
    if (g->ntypes == g->types_cap) {
        uint32_t cap = g->types_cap ? g->types_cap * 2 : 64;
        struct gs_type *nt = realloc(g->types, cap * sizeof(*nt));
        if (nt == NULL)
            return -1;
        g->types = nt;
        g->types_cap = cap;
    }
    if (g->names_len + nlen > g->names_cap) {
        size_t cap = g->names_cap ? g->names_cap * 2 : 4096;
        while (cap < g->names_len + nlen)
            cap *= 2;
        char *nn = realloc(g->names, cap);
        if (nn == NULL)
            return -1;
        g->names = nn;
        g->names_cap = cap;
    }
    memcpy(g->names + g->names_len, name, nlen);
    g->types[g->ntypes++] = (struct gs_type){(uint32_t)g->names_len, (uint32_t)nlen, count, delta};
    g->names_len += nlen;
    return 0;
}

/* ---- process counters ------------------------------------------------------------- */

/* The counter a /proc/PID/status key (or a sampler's label) is, and its scale. */
static const char *counter_of(const char *k, size_t n, double *scale)
{
    *scale = 1;
    if ((n == 7 && memcmp(k, "Threads", 7) == 0) || (n == 7 && memcmp(k, "threads", 7) == 0))
        return EV_CTR_THREADS;
    if (n == 5 && memcmp(k, "VmRSS", 5) == 0) {
        *scale = 1024;
        return EV_CTR_RSS;
    }
    if (n == 6 && memcmp(k, "VmSize", 6) == 0) {
        *scale = 1024;
        return "vms_bytes";
    }
    if (n == 5 && memcmp(k, "VmHWM", 5) == 0) {
        *scale = 1024;
        return "rss_peak_bytes";
    }
    if ((n == 3 && (memcmp(k, "fds", 3) == 0 || memcmp(k, "FDs", 3) == 0)) || (n == 8 && memcmp(k, "open_fds", 8) == 0))
        return EV_CTR_FDS;
    return NULL;
}

/* Add "Key: value [kB]" found at p to out; returns true when it was a known key. */
static bool key_value(const char *k, size_t klen, const char **p, const char *end, struct ev_counter *out,
                      uint32_t *n)
{
    double scale;
    const char *name = counter_of(k, klen, &scale);
    const char *s = skip_ws(*p, end);
    int64_t v;
    if (!uint_at(&s, end, &v))
        return false;
    const char *after = skip_ws(s, end);
    if (lit(&after, end, "kB"))
        s = after;
    *p = s;
    if (name == NULL || *n >= GS_MAX_COUNTERS)
        return true;
    out[*n].name = ev_str_make(name, strlen(name));
    out[*n].value = (double)v * scale;
    (*n)++;
    return true;
}

/* A one-line sample: "[time] [pid=N] Key: V [kB] Key: V ...". */
static int sample_line(struct gs *g, const char *l, size_t n, uint64_t lineno, bool *mine)
{
    const char *p = skip_ws(l, l + n), *end = l + n;
    int64_t clock = 0, ts = 0, pid = -1;
    bool has_clock = false, has_ts = false;
    size_t tl = evtime_parse_prefix(p, (size_t)(end - p), &ts);
    if (tl > 0) {
        has_ts = true;
        p = skip_ws(p + tl, end);
    } else if (clock_at(&p, end, &clock)) {
        has_clock = true;
        p = skip_ws(p, end);
    }
    struct ev_counter v[GS_MAX_COUNTERS];
    uint32_t nv = 0, known = 0;
    while (p < end) {
        const char *k = p;
        while (p < end && !is_space(*p) && *p != ':' && *p != '=')
            p++;
        size_t klen = (size_t)(p - k);
        if (p == end || klen == 0)
            return 0;
        if (*p == '=') {
            p++;
            int64_t x;
            if (klen == 3 && memcmp(k, "pid", 3) == 0 && uint_at(&p, end, &x))
                pid = x;
            else
                while (p < end && !is_space(*p))
                    p++;
        } else if (*p == ':') {
            p++;
            uint32_t before = nv;
            if (!key_value(k, klen, &p, end, v, &nv))
                return 0;
            known += nv > before;
        } else {
            return 0;
        }
        p = skip_ws(p, end);
    }
    if (known == 0)
        return 0;
    *mine = true;
    return emit_counters(g, EV_COUNTER, "proc_status", v, nv, lineno, pid, has_clock, clock, has_ts, ts);
}

static int status_flush(struct gs *g)
{
    if (!g->in_status)
        return 0;
    g->in_status = false;
    if (g->nstatus == 0)
        return 0;
    int rc = emit_counters(g, EV_COUNTER, "proc_status", g->status, g->nstatus, g->status_line, g->status_pid, false, 0,
                           false, 0);
    g->nstatus = 0;
    return rc;
}

/* A line of a /proc/PID/status dump: "Key:\tvalue". */
static int status_line(struct gs *g, const char *l, size_t n, uint64_t lineno, bool *mine)
{
    const char *end = l + n, *p = l;
    while (p < end && *p != ':' && !is_space(*p))
        p++;
    if (p == end || *p != ':' || p == l)
        return 0;
    size_t klen = (size_t)(p - l);
    if (klen == 4 && memcmp(l, "Name", 4) == 0) {
        int rc = status_flush(g);
        g->in_status = true;
        g->status_line = lineno;
        g->status_pid = -1;
        *mine = true;
        return rc;
    }
    if (!g->in_status)
        return 0;
    *mine = true;
    p++;
    int64_t x;
    if (klen == 3 && memcmp(l, "Pid", 3) == 0) {
        const char *s = skip_ws(p, end);
        if (uint_at(&s, end, &x))
            g->status_pid = x;
        return 0;
    }
    double scale;
    const char *name = counter_of(l, klen, &scale);
    if (name == NULL || g->nstatus >= GS_MAX_COUNTERS)
        return 0;
    const char *s = skip_ws(p, end);
    if (!uint_at(&s, end, &x))
        return 0;
    snprintf(g->status_names[g->nstatus], sizeof(g->status_names[0]), "%s", name);
    g->status[g->nstatus].name = ev_str_make(g->status_names[g->nstatus], strlen(g->status_names[g->nstatus]));
    g->status[g->nstatus].value = (double)x * scale;
    g->nstatus++;
    return 0;
}

/* ---- lines ------------------------------------------------------------------------ */

static int on_line(void *ctx, const char *l, size_t n, uint64_t lineno, bool truncated)
{
    struct gs *g = ctx;
    (void)truncated;
    bool mine = false;
    int rc;
    const char *name;
    size_t nlen;
    int64_t count, delta, v;
    bool has_delta;
    if (g->in_status) {
        rc = status_line(g, l, n, lineno, &mine);
        if (rc != 0 || mine)
            return rc;
        if ((rc = status_flush(g)) != 0)
            return rc;
    }
    if (type_line(l, n, &name, &nlen, &count, &delta, &has_delta))
        return type_add(g, has_delta ? T_GROWTH : T_COMMON, name, nlen, count, delta, lineno);
    /* Any other line ends a type listing. */
    if ((rc = types_emit(g)) != 0)
        return rc;
    if (bare_int(l, n, &v)) {
        struct ev_counter c = {EV_STR_LIT(EV_CTR_GC_OBJECTS), (double)v};
        return emit_counters(g, EV_GC, "gc", &c, 1, lineno, -1, false, 0, false, 0);
    }
    if ((rc = gc_stats_line(g, l, n, lineno, &mine)) != 0 || mine)
        return rc;
    if ((rc = gc_count_line(g, l, n, lineno, &mine)) != 0 || mine)
        return rc;
    if ((rc = status_line(g, l, n, lineno, &mine)) != 0 || mine)
        return rc;
    if ((rc = sample_line(g, l, n, lineno, &mine)) != 0 || mine)
        return rc;
    /* A time on a line of its own dates the next sample. */
    int64_t ts;
    const char *p = skip_ws(l, l + n);
    size_t tl = evtime_parse_prefix(p, (size_t)(l + n - p), &ts);
    if (tl > 0) {
        g->has_ts = true;
        g->ts = ts;
    }
    return 0;
}

static void *gs_open(const struct parser_env *env)
{
    struct gs *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->env = *env;
    linesplit_init(&g->ls, env->limits ? env->limits->max_line : (size_t)1 << 20);
    return g;
}

static int gs_feed(void *st, const char *buf, size_t len)
{
    struct gs *g = st;
    if (g->stop)
        return g->stop;
    int rc = linesplit_feed(&g->ls, buf, len, on_line, g);
    if (rc != 0)
        g->stop = rc;
    return rc;
}

static int gs_finish(void *st)
{
    struct gs *g = st;
    if (g->stop)
        return g->stop;
    int rc = linesplit_finish(&g->ls, on_line, g);
    if (rc == 0)
        rc = types_emit(g);
    if (rc == 0)
        rc = status_flush(g);
    return rc;
}

static void gs_close(void *st)
{
    struct gs *g = st;
    if (g == NULL)
        return;
    linesplit_free(&g->ls);
    free(g->types);
    free(g->names);
    free(g);
}

/* Evidence from the first lines: gc.get_stats() output, show_growth lines, counter
 * samples or a /proc/PID/status dump. */
static int gs_bid(const char *buf, size_t len, bool at_eof)
{
    const char *p = buf, *end = buf + len;
    int lines = 0, growth = 0, common = 0, stats = 0, ints = 0, samples = 0, other = 0;
    bool status_name = false, status_keys = false;
    while (p < end && lines < 40) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL && !at_eof)
            break;
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > 0) {
            const char *name;
            size_t nlen;
            int64_t c, d, v;
            bool hd;
            const char *q = skip_ws(p, p + n);
            if (q == p + n) { /* blanks only: no evidence either way */
                p = nl ? nl + 1 : end;
                continue;
            }
            if (lines == 0 && n > 5 && memcmp(p, "Name:", 5) == 0)
                status_name = true;
            else if (status_name && ((n > 6 && memcmp(p, "VmRSS:", 6) == 0) || (n > 8 && memcmp(p, "Threads:", 8) == 0)))
                status_keys = true;
            if (type_line(p, n, &name, &nlen, &c, &d, &hd)) {
                if (hd)
                    growth++;
                else
                    common++;
            }
            else if (bare_int(p, n, &v))
                ints++;
            else if ((size_t)(p + n - q) > 16 && memcmp(q, "[{'collections'", 15) == 0)
                stats++;
            else if (memmem(p, n, "Threads:", 8) != NULL || memmem(p, n, "VmRSS:", 6) != NULL)
                samples++;
            else if (*q == '=' || *q == '#' || *q == '-' || *q == '[')
                ; /* a header a script printed between listings */
            else
                other++;
            lines++;
        }
        p = nl ? nl + 1 : end;
    }
    if (status_name && status_keys)
        return 40;
    if (stats > 0 && stats + ints >= lines - other && other <= lines / 4)
        return 40;
    if (samples >= 2 && samples >= lines / 2)
        return 36;
    if (growth >= 2 && other <= growth / 4)
        return 34;
    if (common >= 5 && common >= lines * 3 / 4)
        return 18;
    return 0;
}

const struct parser parser_gcstats = {
    .name = "gc-text",
    .description = "gc.get_stats()/get_count()/object counts, objgraph show_growth()/show_most_common_types(), "
                   "/proc/PID/status counter samples",
    .bid = gs_bid,
    .open = gs_open,
    .feed = gs_feed,
    .finish = gs_finish,
    .close = gs_close,
};
