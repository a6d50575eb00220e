/* tmtext.c -- tracemalloc statistics as Python prints them: one EV_TRACEMALLOC event
 * per listing.
 *
 * Layouts (all from CPython's tracemalloc and its documentation's recipes):
 *   statistics('lineno' | 'filename'):  "/app/x.py:32: size=983 KiB, count=15278, average=66 B"
 *   compare_to():        "/app/x.py:32: size=983 KiB (+85.9 KiB), count=15278 (+1563), average=66 B"
 *   statistics('traceback') formatted as the documentation shows:
 *                        "15278 memory blocks: 983.3 KiB" then '  File "x.py", line 32' lines
 *                        (oldest first) and source lines; the last frame is the site
 *   display_top():       "#1: x.py:32: 983.3 KiB", "Total allocated size: 1.0 MiB"
 * A listing is a run of such lines; a blank or any other line after it, or the end of
 * input, ends it. Sizes are as printed (983 KiB is 1006592 bytes, not the exact
 * count). Listings carry no time or process, so each file is one point of a series
 * ordered by the numbers in its name (patterns/series.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_memory.h"
#include "../correlate/hash.h"
#include "linesplit.h"
#include "parser.h"

#define TT_MAX_SITES (1u << 20)
#define TT_MAX_FRAMES 64

enum layout { L_NONE = 0, L_STATS, L_COMPARE, L_TRACEBACK, L_TOP };

struct tt_site {
    uint32_t file_off, file_len;  /* in names */
    uint32_t line;
    int64_t size, count, size_diff, count_diff;
    uint32_t tb_off, ntb;         /* frames of the biggest traceback block, in frames */
    int64_t tb_size;
};

struct tt_frame {
    uint32_t file_off, file_len, line;
};

struct tt {
    struct parser_env env;
    struct linesplit ls;
    enum layout layout;
    bool filename_group;          /* every site has line 0 */
    uint64_t first_line;
    struct tt_site *sites;
    uint32_t nsites, cap;
    uint32_t *slots, slots_cap;   /* (file, line) -> index + 1 */
    char *names;                  /* file names of the listing */
    size_t names_len, names_cap;
    struct tt_frame *frames;      /* frames of traceback blocks */
    uint32_t nframes, frames_cap;
    /* the traceback block being read */
    bool in_block;
    int64_t block_size, block_count;
    uint32_t block_first_frame;
    bool total_known;
    int64_t total;
    bool overflow_said;
    int stop;
};

static void tt_diag(struct tt *t, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tt_diag(struct tt *t, uint64_t line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (t->env.diag)
        t->env.diag(t->env.diag_ctx, t->env.stream, line, msg);
}

/* ---- scanning helpers ------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool lit(const char **p, const char *end, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool integer(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    bool neg = false;
    if (s < end && (*s == '+' || *s == '-')) {
        neg = *s == '-';
        s++;
    }
    if (s == end || !is_digit(*s))
        return false;
    int64_t v = 0;
    while (s < end && is_digit(*s)) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*s - '0');
        s++;
    }
    *out = neg ? -v : v;
    *p = s;
    return true;
}

/* "983 KiB", "+85.9 KiB", "-12 B" in bytes. */
static bool size_value(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    bool neg = false;
    if (s < end && (*s == '+' || *s == '-')) {
        neg = *s == '-';
        s++;
    }
    if (s == end || !is_digit(*s))
        return false;
    double v = 0;
    while (s < end && is_digit(*s))
        v = v * 10 + (*s++ - '0');
    if (s < end && *s == '.') {
        double scale = 0.1;
        s++;
        while (s < end && is_digit(*s)) {
            v += (*s++ - '0') * scale;
            scale /= 10;
        }
    }
    if (!lit(&s, end, " "))
        return false;
    double mul;
    if (lit(&s, end, "B"))
        mul = 1;
    else if (lit(&s, end, "KiB"))
        mul = 1024.0;
    else if (lit(&s, end, "MiB"))
        mul = 1024.0 * 1024;
    else if (lit(&s, end, "GiB"))
        mul = 1024.0 * 1024 * 1024;
    else if (lit(&s, end, "TiB"))
        mul = 1024.0 * 1024 * 1024 * 1024;
    else
        return false;
    v *= mul;
    if (v > 9e18)
        return false;
    *out = (int64_t)(v + 0.5) * (neg ? -1 : 1);
    *p = s;
    return true;
}

/* Split "file:line" ending at end; false when there is no ":digits" suffix. */
static bool file_line(const char *s, const char *end, const char **fe, uint32_t *line)
{
    const char *q = end;
    while (q > s && is_digit(q[-1]))
        q--;
    if (q == end || q == s || q[-1] != ':' || end - q > 9)
        return false;
    uint32_t v = 0;
    for (const char *r = q; r < end; r++)
        v = v * 10 + (uint32_t)(*r - '0');
    *fe = q - 1;
    *line = v;
    return q - 1 > s;
}

/* One statistic line: "F:L: size=S[ (+D)], count=N[ (+D)][, average=A]". */
struct stat_line {
    const char *file;
    size_t file_len;
    uint32_t line;
    int64_t size, count, size_diff, count_diff;
    bool diff;
};

static bool parse_stat(const char *l, size_t n, struct stat_line *out)
{
    const char *end = l + n;
    const char *key = NULL;
    for (const char *p = l; p + 7 <= end; p++)
        if (memcmp(p, ": size=", 7) == 0) {
            key = p;
            break;
        }
    if (key == NULL)
        return false;
    const char *fe;
    if (!file_line(l, key, &fe, &out->line))
        return false;
    out->file = l;
    out->file_len = (size_t)(fe - l);
    const char *p = key + 7;
    if (!size_value(&p, end, &out->size))
        return false;
    out->diff = false;
    out->size_diff = out->count_diff = 0;
    if (lit(&p, end, " (")) {
        if (!size_value(&p, end, &out->size_diff) || !lit(&p, end, ")"))
            return false;
        out->diff = true;
    }
    if (!lit(&p, end, ", count=") || !integer(&p, end, &out->count))
        return false;
    if (out->diff && (!lit(&p, end, " (") || !integer(&p, end, &out->count_diff) || !lit(&p, end, ")")))
        return false;
    return p == end || lit(&p, end, ", average=");
}

/* display_top(): "#1: x.py:32: 983.3 KiB" */
static bool parse_top(const char *l, size_t n, struct stat_line *out)
{
    const char *end = l + n, *p = l;
    int64_t idx;
    if (!lit(&p, end, "#") || !integer(&p, end, &idx) || !lit(&p, end, ": "))
        return false;
    const char *colon = NULL;
    for (const char *q = end; q > p + 1; q--)
        if (q[-1] == ' ' && q[-2] == ':') {
            colon = q - 2;
            break;
        }
    if (colon == NULL)
        return false;
    const char *fe;
    if (!file_line(p, colon, &fe, &out->line))
        return false;
    out->file = p;
    out->file_len = (size_t)(fe - p);
    const char *s = colon + 2;
    if (!size_value(&s, end, &out->size) || s != end)
        return false;
    out->count = -1;
    out->diff = false;
    out->size_diff = out->count_diff = 0;
    return true;
}

/* "15278 memory blocks: 983.3 KiB" */
static bool parse_block(const char *l, size_t n, int64_t *count, int64_t *size)
{
    const char *end = l + n, *p = l;
    return integer(&p, end, count) && lit(&p, end, " memory blocks: ") && size_value(&p, end, size) && p == end;
}

/* '  File "x.py", line 32' */
static bool parse_file_line(const char *l, size_t n, const char **file, size_t *flen, uint32_t *line)
{
    const char *end = l + n, *p = l;
    if (!lit(&p, end, "  File \""))
        return false;
    const char *q = end;
    while (q > p && is_digit(q[-1]))
        q--;
    if (q == end || end - q > 9 || q - p < 8 || memcmp(q - 8, "\", line ", 8) != 0)
        return false;
    *file = p;
    *flen = (size_t)(q - 8 - p);
    uint32_t v = 0;
    for (const char *r = q; r < end; r++)
        v = v * 10 + (uint32_t)(*r - '0');
    *line = v;
    return true;
}

/* ---- the listing ------------------------------------------------------------------ */

static bool names_add(struct tt *t, const char *s, size_t n, uint32_t *off)
{
    if (t->names_len + n > UINT32_MAX)
        return false;
    /* Allocated on the first name, even an empty one: offsets into names are
     * then always offsets into a buffer. */
    if (t->names == NULL || t->names_len + n > t->names_cap) {
        size_t cap = t->names_cap ? t->names_cap * 2 : 4096;
        while (cap < t->names_len + n)
            cap *= 2;
        char *nn = realloc(t->names, cap);
        if (nn == NULL)
            return false;
        t->names = nn;
        t->names_cap = cap;
    }
    memcpy(t->names + t->names_len, s, n);
    *off = (uint32_t)t->names_len;
    t->names_len += n;
    return true;
}

static uint64_t key_hash(const char *f, size_t n, uint32_t line)
{
    return hash_field(hash_bytes(HASH_INIT, f, n), &line, sizeof(line));
}

static bool slots_rebuild(struct tt *t, uint32_t cap)
{
    uint32_t *s = calloc(cap, sizeof(*s));
    if (s == NULL)
        return false;
    for (uint32_t i = 0; i < t->nsites; i++) {
        const struct tt_site *x = &t->sites[i];
        uint32_t j = (uint32_t)key_hash(t->names + x->file_off, x->file_len, x->line) & (cap - 1);
        while (s[j] != 0)
            j = (j + 1) & (cap - 1);
        s[j] = i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->slots_cap = cap;
    return true;
}

/* The site (file, line) of the listing, added when new; NULL on OOM or overflow. */
static struct tt_site *site_get(struct tt *t, const char *f, size_t n, uint32_t line, uint64_t lineno, int *oom)
{
    if (t->slots_cap == 0 && !slots_rebuild(t, 256)) {
        *oom = 1;
        return NULL;
    }
    uint64_t h = key_hash(f, n, line);
    uint32_t j = (uint32_t)h & (t->slots_cap - 1);
    while (t->slots[j] != 0) {
        struct tt_site *x = &t->sites[t->slots[j] - 1];
        if (x->line == line && x->file_len == n && memcmp(t->names + x->file_off, f, n) == 0)
            return x;
        j = (j + 1) & (t->slots_cap - 1);
    }
    if (t->nsites >= TT_MAX_SITES) {
        if (!t->overflow_said)
            tt_diag(t, lineno, "more than %u sites in one listing; the rest are skipped", TT_MAX_SITES);
        t->overflow_said = true;
        return NULL;
    }
    if (t->nsites == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        struct tt_site *ns = realloc(t->sites, cap * sizeof(*ns));
        if (ns == NULL) {
            *oom = 1;
            return NULL;
        }
        t->sites = ns;
        t->cap = cap;
    }
    struct tt_site *x = &t->sites[t->nsites];
    memset(x, 0, sizeof(*x));
    if (!names_add(t, f, n, &x->file_off)) {
        *oom = 1;
        return NULL;
    }
    x->file_len = (uint32_t)n;
    x->line = line;
    t->nsites++;
    if ((size_t)t->nsites * 2 > t->slots_cap) {
        if (!slots_rebuild(t, t->slots_cap * 2)) {
            *oom = 1;
            return NULL;
        }
    } else {
        t->slots[j] = t->nsites;
    }
    return x;
}

static int cmp_size(const void *a, const void *b)
{
    const struct ev_snap_site *x = a, *y = b;
    return (x->size < y->size) - (x->size > y->size);
}

static const char *format_name(const struct tt *t)
{
    switch (t->layout) {
    case L_COMPARE: return t->filename_group ? "compare_filename" : "compare_lineno";
    case L_TRACEBACK: return "statistics_traceback";
    case L_TOP: return "display_top";
    case L_STATS: break;
    case L_NONE: break;
    }
    return t->filename_group ? "statistics_filename" : "statistics_lineno";
}

static void listing_reset(struct tt *t)
{
    t->layout = L_NONE;
    t->nsites = 0;
    t->names_len = 0;
    t->nframes = 0;
    t->in_block = false;
    t->total_known = false;
    t->total = 0;
    t->filename_group = true;
    t->overflow_said = false;
    if (t->slots != NULL)
        memset(t->slots, 0, t->slots_cap * sizeof(*t->slots));
}

/* Close the traceback block being read: its last frame is the site. */
static int block_close(struct tt *t)
{
    if (!t->in_block)
        return 0;
    t->in_block = false;
    uint32_t nf = t->nframes - t->block_first_frame;
    if (nf == 0)
        return 0;
    const struct tt_frame *last = &t->frames[t->nframes - 1];
    int oom = 0;
    /* copy: site_get may move names */
    uint32_t off = last->file_off, len = last->file_len, line = last->line;
    char buf[1024];
    size_t n = len < sizeof(buf) ? len : sizeof(buf);
    memcpy(buf, t->names + off, n);
    struct tt_site *x = site_get(t, buf, n, line, t->first_line, &oom);
    if (x == NULL)
        return oom ? -1 : 0;
    x->size += t->block_size;
    x->count += t->block_count;
    if (t->block_size > x->tb_size || x->ntb == 0) {
        x->tb_size = t->block_size;
        x->tb_off = t->block_first_frame;
        x->ntb = nf;
    }
    return 0;
}

static int listing_emit(struct tt *t)
{
    if (block_close(t) < 0)
        return -1;
    if (t->layout == L_NONE || t->nsites == 0) {
        listing_reset(t);
        return 0;
    }
    struct ev_snap_site *sites = calloc(t->nsites, sizeof(*sites));
    struct ev_frame *frames = t->nframes ? calloc(t->nframes, sizeof(*frames)) : NULL;
    if (sites == NULL || (t->nframes && frames == NULL)) {
        free(sites);
        free(frames);
        return -1;
    }
    for (uint32_t i = 0; i < t->nframes; i++) {
        frames[i].file = ev_str_make(t->names + t->frames[i].file_off, t->frames[i].file_len);
        frames[i].line = t->frames[i].line;
    }
    for (uint32_t i = 0; i < t->nsites; i++) {
        const struct tt_site *x = &t->sites[i];
        sites[i].file = ev_str_make(t->names + x->file_off, x->file_len);
        sites[i].line = x->line;
        sites[i].size = x->size;
        sites[i].count = x->count;
        sites[i].size_diff = x->size_diff;
        sites[i].count_diff = x->count_diff;
        if (x->ntb > 0) {
            sites[i].tb = frames + x->tb_off;
            sites[i].ntb = x->ntb;
        }
    }
    qsort(sites, t->nsites, sizeof(*sites), cmp_size);
    struct ev_snapshot snap = {
        .tag = EV_MEM_SNAPSHOT,
        .format = format_name(t),
        .metric = SNAP_BYTES,
        .group = t->layout == L_TRACEBACK ? SNAP_BY_TRACEBACK : t->filename_group ? SNAP_BY_FILENAME : SNAP_BY_LINENO,
        .sites = sites,
        .nsites = t->nsites,
        .sites_total = t->nsites,
        .complete = false,
        .has_diff = t->layout == L_COMPARE,
        .has_total = t->total_known,
        .total_size = t->total,
        .total_count = -1,
        .traceback_limit = -1,
        .seq = -1,
    };
    struct event ev;
    ev_init(&ev, EV_TRACEMALLOC);
    ev.src.stream = t->env.stream;
    ev.src.line = t->first_line;
    ev.u.snap = &snap;
    int rc = t->env.emit ? t->env.emit(t->env.emit_ctx, &ev) : 0;
    free(sites);
    free(frames);
    listing_reset(t);
    return rc;
}

/* Start or continue a listing of layout l at line lineno. */
static int listing_at(struct tt *t, enum layout l, uint64_t lineno)
{
    if (t->layout != L_NONE && t->layout != l) {
        int rc = listing_emit(t);
        if (rc != 0)
            return rc;
    }
    if (t->layout == L_NONE) {
        t->layout = l;
        t->first_line = lineno;
    }
    return 0;
}

static int add_stat(struct tt *t, const struct stat_line *s, enum layout l, uint64_t lineno)
{
    int rc = listing_at(t, l, lineno);
    if (rc != 0)
        return rc;
    int oom = 0;
    struct tt_site *x = site_get(t, s->file, s->file_len, s->line, lineno, &oom);
    if (x == NULL)
        return oom ? -1 : 0;
    /* A key printed twice (statistics('traceback') printed with str() shows the
     * oldest frame, shared by many tracebacks): the sizes add up. */
    x->size += s->size;
    x->count = s->count < 0 ? -1 : x->count + s->count;
    x->size_diff += s->size_diff;
    x->count_diff += s->count_diff;
    if (s->line != 0)
        t->filename_group = false;
    return 0;
}

static int on_line(void *ctx, const char *line, size_t len, uint64_t lineno, bool truncated)
{
    struct tt *t = ctx;
    (void)truncated;
    struct stat_line s;
    int64_t a, b;
    const char *f;
    size_t fl;
    uint32_t ln;
    if (parse_stat(line, len, &s))
        return add_stat(t, &s, s.diff ? L_COMPARE : L_STATS, lineno);
    if (parse_top(line, len, &s))
        return add_stat(t, &s, L_TOP, lineno);
    if (parse_block(line, len, &a, &b)) {
        int rc = listing_at(t, L_TRACEBACK, lineno);
        if (rc != 0 || block_close(t) < 0)
            return rc != 0 ? rc : -1;
        t->in_block = true;
        t->block_count = a;
        t->block_size = b;
        t->block_first_frame = t->nframes;
        t->filename_group = false;
        return 0;
    }
    if (t->layout == L_TRACEBACK && t->in_block && parse_file_line(line, len, &f, &fl, &ln)) {
        if (t->nframes - t->block_first_frame >= TT_MAX_FRAMES)
            return 0;
        if (t->nframes == t->frames_cap) {
            uint32_t cap = t->frames_cap ? t->frames_cap * 2 : 64;
            struct tt_frame *nf = realloc(t->frames, cap * sizeof(*nf));
            if (nf == NULL)
                return -1;
            t->frames = nf;
            t->frames_cap = cap;
        }
        struct tt_frame *fr = &t->frames[t->nframes];
        if (!names_add(t, f, fl, &fr->file_off))
            return -1;
        fr->file_len = (uint32_t)fl;
        fr->line = ln;
        t->nframes++;
        return 0;
    }
    if (t->layout == L_TRACEBACK && t->in_block && len > 4 && memcmp(line, "    ", 4) == 0)
        return 0; /* the source line under a frame */
    if (t->layout == L_TOP) {
        const char *p = line, *end = line + len;
        if (len > 4 && memcmp(line, "    ", 4) == 0)
            return 0; /* source line */
        if (lit(&p, end, "Total allocated size: ") && size_value(&p, end, &a)) {
            t->total_known = true;
            t->total = a;
            return listing_emit(t);
        }
        const char *q = line;
        if (integer(&q, end, &a) && lit(&q, end, " other: "))
            return 0; /* "3 other: 1.2 KiB" */
    }
    if (len == 0 && t->layout == L_TRACEBACK)
        return 0; /* blocks printed with blank lines between them */
    /* Anything else ends a listing. */
    return t->layout != L_NONE ? listing_emit(t) : 0;
}

static void *tt_open(const struct parser_env *env)
{
    struct tt *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->env = *env;
    linesplit_init(&t->ls, env->limits ? env->limits->max_line : (size_t)1 << 20);
    listing_reset(t);
    return t;
}

static int tt_feed(void *st, const char *buf, size_t len)
{
    struct tt *t = st;
    if (t->stop)
        return t->stop;
    int rc = linesplit_feed(&t->ls, buf, len, on_line, t);
    if (rc != 0)
        t->stop = rc;
    return rc;
}

static int tt_finish(void *st)
{
    struct tt *t = st;
    if (t->stop)
        return t->stop;
    int rc = linesplit_finish(&t->ls, on_line, t);
    if (rc == 0)
        rc = listing_emit(t);
    return rc;
}

static void tt_close(void *st)
{
    struct tt *t = st;
    if (t == NULL)
        return;
    linesplit_free(&t->ls);
    free(t->sites);
    free(t->slots);
    free(t->names);
    free(t->frames);
    free(t);
}

/* The next non-blank line of the window at *p; false at the end (or a line cut by
 * the window). */
static bool next_line(const char **p, const char *end, bool at_eof, const char **l, size_t *n)
{
    while (*p < end) {
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        if (nl == NULL && !at_eof)
            return false;
        const char *le = nl ? nl : end;
        *l = *p;
        *n = (size_t)(le - *p);
        if (*n > 0 && (*l)[*n - 1] == '\r')
            (*n)--;
        *p = nl ? nl + 1 : end;
        if (*n > 0)
            return true;
    }
    return false;
}

/* Evidence: the first non-blank lines of the window are statistics of one of the
 * layouts (a header such as "[ Top 10 ]" may come first). */
static int tt_bid(const char *buf, size_t len, bool at_eof)
{
    const char *p = buf, *end = buf + len, *l;
    size_t n;
    if (!next_line(&p, end, at_eof, &l, &n))
        return 0;
    if (l[0] == '[' && !next_line(&p, end, at_eof, &l, &n))
        return 0;
    struct stat_line s;
    int64_t a, b;
    const char *f;
    size_t fl;
    uint32_t ln;
    if (parse_block(l, n, &a, &b))
        return next_line(&p, end, at_eof, &l, &n) && parse_file_line(l, n, &f, &fl, &ln) ? 40 : 0;
    if (!parse_stat(l, n, &s) && !parse_top(l, n, &s))
        return 0;
    if (!next_line(&p, end, at_eof, &l, &n))
        return 30; /* a listing of one */
    return parse_stat(l, n, &s) || parse_top(l, n, &s) || (n > 4 && memcmp(l, "    ", 4) == 0) ? 40 : 20;
}

const struct parser parser_tmtext = {
    .name = "tracemalloc-text",
    .description = "tracemalloc statistics() and compare_to() listings as Python prints them",
    .bid = tt_bid,
    .open = tt_open,
    .feed = tt_feed,
    .finish = tt_finish,
    .close = tt_close,
};
