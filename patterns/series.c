/* series.c -- per-process series and trend statistics; see series.h. */
#include "series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../correlate/hash.h"

#define DEF_SERIES 1000
#define DEF_POINTS 120
#define DEF_COLS 20

void ser_table_init(struct ser_table *t, uint32_t max_series, uint32_t max_points, uint32_t max_cols)
{
    memset(t, 0, sizeof(*t));
    t->max_series = max_series ? max_series : DEF_SERIES;
    t->max_points = max_points >= 4 ? max_points : DEF_POINTS;
    t->max_cols = max_cols ? max_cols : DEF_COLS;
}

static void series_free(struct ser_table *t, struct series *s)
{
    if (s == NULL)
        return;
    free(s->host);
    free(s->service);
    free(s->scope);
    free(s->pts);
    for (uint32_t i = 0; i < s->ncols; i++) {
        free(s->cols[i].name);
        free(s->cols[i].v);
        if (s->cols[i].aux != NULL && t->aux_free != NULL)
            t->aux_free(s->cols[i].aux);
    }
    free(s->cols);
    for (uint32_t i = 0; i < s->nstreams; i++)
        free(s->streams[i]);
    free(s->streams);
    free(s->mtimes);
    if (s->user != NULL && t->user_free != NULL)
        t->user_free(s->user);
    free(s->reported);
    free(s);
}

void ser_table_free(struct ser_table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        series_free(t, t->s[i]);
    free(t->s);
    memset(t, 0, sizeof(*t));
}

static char *dup_str(ev_str s)
{
    if (!ev_str_present(s))
        return NULL;
    char *p = malloc((size_t)s.len + 1);
    if (p != NULL) {
        memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static bool eq_opt(const char *a, ev_str b)
{
    if (a == NULL)
        return !ev_str_present(b);
    return ev_str_present(b) && strlen(a) == b.len && memcmp(a, b.ptr, b.len) == 0;
}

/* The directory part of a stream name ("a/b/x.pickle" -> "a/b", "t.tar!d/x" -> "t.tar!d"). */
static ev_str dir_of(const char *stream)
{
    if (stream == NULL)
        return EV_STR_LIT("");
    const char *slash = strrchr(stream, '/');
    const char *bang = strrchr(stream, '!');
    const char *cut = slash > bang ? slash : bang;
    if (cut == NULL)
        return EV_STR_LIT(".");
    return ev_str_make(stream, (size_t)(cut - stream));
}

bool ser_unkeyed(const struct series *s) { return s->host == NULL && s->service == NULL && s->pid < 0; }

struct series *ser_find(struct ser_table *t, const struct event *ev, const char *format, bool *oom)
{
    *oom = false;
    bool unkeyed = !ev_str_present(ev->host) && !ev_str_present(ev->service) && ev->pid < 0;
    ev_str scope = unkeyed ? dir_of(ev->src.stream) : EV_STR_NULL;
    uint64_t h = hash_field(HASH_INIT, ev->host.ptr, ev->host.len);
    h = hash_field(h, ev->service.ptr, ev->service.len);
    h = hash_field(h, &ev->pid, sizeof(ev->pid));
    h = hash_field(h, scope.ptr, scope.len);
    h = hash_field(h, format, strlen(format));
    for (uint32_t i = 0; i < t->n; i++) {
        struct series *s = t->s[i];
        if (s->key_hash == h && s->pid == ev->pid && strcmp(s->format, format) == 0 && eq_opt(s->host, ev->host) &&
            eq_opt(s->service, ev->service) && eq_opt(s->scope, scope))
            return s;
    }
    uint32_t slot = t->n;
    if (t->n >= t->max_series) {
        if (t->on_evict == NULL || t->n == 0) {
            t->dropped_series++;
            return NULL;
        }
        /* The series idle longest: its process has most likely gone away. */
        slot = 0;
        for (uint32_t i = 1; i < t->n; i++)
            if (t->s[i]->last_arrival < t->s[slot]->last_arrival)
                slot = i;
        t->on_evict(t->evict_ctx, t->s[slot]);
        series_free(t, t->s[slot]);
        t->s[slot] = t->s[--t->n];
        t->evicted++;
        slot = t->n;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        struct series **ns = realloc(t->s, cap * sizeof(*ns));
        if (ns == NULL) {
            *oom = true;
            return NULL;
        }
        t->s = ns;
        t->cap = cap;
    }
    struct series *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *oom = true;
        return NULL;
    }
    s->host = dup_str(ev->host);
    s->service = dup_str(ev->service);
    s->scope = dup_str(scope);
    s->pid = ev->pid;
    s->format = format;
    s->key_hash = h;
    s->cols = calloc(t->max_cols, sizeof(*s->cols));
    if (s->cols == NULL || (ev_str_present(ev->host) && s->host == NULL) ||
        (ev_str_present(ev->service) && s->service == NULL) || (unkeyed && s->scope == NULL)) {
        series_free(t, s);
        *oom = true;
        return NULL;
    }
    t->s[slot] = s;
    t->n++;
    s->last_arrival = t->arrivals;
    return s;
}

/* ---- ordering --------------------------------------------------------------------- */

int ser_natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            size_t la = 0, lb = 0;
            while (a[la] >= '0' && a[la] <= '9')
                la++;
            while (b[lb] >= '0' && b[lb] <= '9')
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = memcmp(a, b, la);
            if (c != 0)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (*a != 0) - (*b != 0);
}

static int64_t mtime_of(const char *stream)
{
    /* Only plain files on disk have one: not stdin, archive members or Kafka. */
    if (stream == NULL || strcmp(stream, "-") == 0 || strchr(stream, '!') != NULL || strncmp(stream, "kafka:", 6) == 0)
        return -1;
    struct stat st;
    if (stat(stream, &st) != 0)
        return -1;
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static int stream_index(struct series *s, const char *stream, bool *oom)
{
    const char *name = stream ? stream : "";
    for (uint32_t i = 0; i < s->nstreams; i++)
        if (strcmp(s->streams[i], name) == 0)
            return (int)i;
    char **ns = realloc(s->streams, (s->nstreams + 1) * sizeof(*ns));
    if (ns == NULL) {
        *oom = true;
        return -1;
    }
    s->streams = ns;
    int64_t *nm = realloc(s->mtimes, (s->nstreams + 1) * sizeof(*nm));
    if (nm == NULL) {
        *oom = true;
        return -1;
    }
    s->mtimes = nm;
    char *copy = strdup(name);
    if (copy == NULL) {
        *oom = true;
        return -1;
    }
    s->streams[s->nstreams] = copy;
    s->mtimes[s->nstreams] = mtime_of(stream);
    return (int)s->nstreams++;
}

static bool all_timed(const struct series *s)
{
    for (uint32_t i = 0; i < s->npts; i++)
        if (!s->pts[i].has_ts)
            return false;
    return s->npts > 0;
}

/* qsort has no context argument in C11: the series being sorted. */
static const struct series *sort_ctx;
static bool sort_by_ts;

static int cmp_points(const void *x, const void *y)
{
    const struct ser_point *a = &sort_ctx->pts[*(const uint32_t *)x];
    const struct ser_point *b = &sort_ctx->pts[*(const uint32_t *)y];
    if (sort_by_ts && a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (!sort_by_ts && a->stream != b->stream) {
        int c = ser_natural_cmp(sort_ctx->streams[a->stream], sort_ctx->streams[b->stream]);
        if (c != 0)
            return c;
        int64_t ma = sort_ctx->mtimes[a->stream], mb = sort_ctx->mtimes[b->stream];
        if (ma >= 0 && mb >= 0 && ma != mb)
            return ma < mb ? -1 : 1;
    }
    if (a->stream == b->stream && a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

void ser_sort(struct series *s)
{
    if (s->sorted || s->npts < 2) {
        s->sorted = true;
        return;
    }
    uint32_t *perm = malloc(s->npts * sizeof(*perm));
    struct ser_point *pts = malloc(s->npts * sizeof(*pts));
    double *tmp = malloc(s->npts * sizeof(*tmp));
    if (perm == NULL || pts == NULL || tmp == NULL) {
        free(perm);
        free(pts);
        free(tmp);
        return; /* left in arrival order */
    }
    for (uint32_t i = 0; i < s->npts; i++)
        perm[i] = i;
    sort_ctx = s;
    sort_by_ts = all_timed(s);
    qsort(perm, s->npts, sizeof(*perm), cmp_points);
    sort_ctx = NULL;
    for (uint32_t i = 0; i < s->npts; i++)
        pts[i] = s->pts[perm[i]];
    memcpy(s->pts, pts, s->npts * sizeof(*pts));
    for (uint32_t c = 0; c < s->ncols; c++) {
        for (uint32_t i = 0; i < s->npts; i++)
            tmp[i] = s->cols[c].v[perm[i]];
        memcpy(s->cols[c].v, tmp, s->npts * sizeof(*tmp));
    }
    free(perm);
    free(pts);
    free(tmp);
    s->sorted = true;
}

const char *ser_order_rule(const struct series *s)
{
    if (all_timed(s))
        return "timestamp";
    if (s->nstreams <= 1)
        return "line in the file";
    return "file name number, then modification time";
}

/* Keep every other point, the first and the last. */
static void decimate(struct series *s)
{
    ser_sort(s);
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->npts; i++) {
        if (i % 2 != 0 && i != s->npts - 1)
            continue;
        s->pts[k] = s->pts[i];
        for (uint32_t c = 0; c < s->ncols; c++)
            s->cols[c].v[k] = s->cols[c].v[i];
        k++;
    }
    s->decimated += s->npts - k;
    s->npts = k;
}

int ser_point_add(struct ser_table *t, struct series *s, const struct event *ev, bool complete)
{
    if (s->npts >= t->max_points)
        decimate(s);
    if (s->npts == s->cap_pts) {
        uint32_t cap = s->cap_pts ? s->cap_pts * 2 : 16;
        if (cap > t->max_points)
            cap = t->max_points;
        struct ser_point *np = realloc(s->pts, cap * sizeof(*np));
        if (np == NULL)
            return -1;
        s->pts = np;
        for (uint32_t c = 0; c < s->ncols; c++) {
            double *nv = realloc(s->cols[c].v, cap * sizeof(*nv));
            if (nv == NULL)
                return -1;
            s->cols[c].v = nv;
        }
        s->cap_pts = cap;
    }
    bool oom = false;
    int si = stream_index(s, ev->src.stream, &oom);
    if (oom)
        return -1;
    uint32_t p = s->npts++;
    struct ser_point *pt = &s->pts[p];
    memset(pt, 0, sizeof(*pt));
    pt->has_ts = ev->has_ts;
    pt->ts = ev->ts_ns;
    pt->stream = (uint32_t)si;
    pt->line = ev->src.line;
    pt->arrival = t->arrivals++;
    s->last_arrival = pt->arrival;
    pt->complete = complete;
    for (uint32_t c = 0; c < s->ncols; c++)
        s->cols[c].v[p] = complete ? 0.0 : NAN;
    s->sorted = false;
    return (int)p;
}

static uint64_t col_hash(ev_str name, uint32_t line)
{
    return hash_field(hash_field(HASH_INIT, name.ptr, name.len), &line, sizeof(line));
}

int ser_set(struct ser_table *t, struct series *s, int p, ev_str name, uint32_t line, double value)
{
    uint64_t h = col_hash(name, line);
    for (uint32_t c = 0; c < s->ncols; c++) {
        struct ser_col *col = &s->cols[c];
        if (col->hash == h && col->line == line && strlen(col->name) == name.len &&
            memcmp(col->name, name.ptr, name.len) == 0) {
            col->v[p] = value;
            if (value > col->peak)
                col->peak = value;
            return (int)c;
        }
    }
    uint32_t c;
    if (s->ncols < t->max_cols) {
        c = s->ncols;
        double *v = malloc(s->cap_pts * sizeof(*v));
        if (v == NULL)
            return -2;
        s->cols[c].v = v;
        s->ncols++;
    } else {
        /* Evict the column with the smallest peak, if this one beats it. */
        c = 0;
        for (uint32_t i = 1; i < s->ncols; i++)
            if (s->cols[i].peak < s->cols[c].peak)
                c = i;
        if (!(value > s->cols[c].peak))
            return -1;
        free(s->cols[c].name);
        if (s->cols[c].aux != NULL && t->aux_free != NULL)
            t->aux_free(s->cols[c].aux);
        s->cols[c].aux = NULL;
    }
    struct ser_col *col = &s->cols[c];
    col->name = malloc((size_t)name.len + 1);
    if (col->name == NULL) {
        col->name = strdup("");
        return -2;
    }
    memcpy(col->name, name.ptr, name.len);
    col->name[name.len] = '\0';
    col->line = line;
    col->hash = h;
    col->peak = value;
    for (uint32_t i = 0; i < s->npts; i++)
        col->v[i] = NAN; /* not tracked before: unknown */
    col->v[p] = value;
    return (int)c;
}

bool ser_seconds(const struct series *s, uint32_t a, uint32_t b, double *out)
{
    const struct ser_point *x = &s->pts[a], *y = &s->pts[b];
    if (x->has_ts && y->has_ts) {
        *out = (double)(y->ts - x->ts) / 1e9;
        return true;
    }
    if (x->has_clock && y->has_clock && x->stream == y->stream) {
        int64_t d = y->clock_ns - x->clock_ns;
        if (d < 0)
            d += (int64_t)86400 * 1000000000; /* past midnight */
        *out = (double)d / 1e9;
        return true;
    }
    return false;
}

/* ---- trend ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bool ser_trend(const double *v, uint32_t n, struct ser_trend *out)
{
    memset(out, 0, sizeof(*out));
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            m++;
    out->n = m;
    if (m < 2)
        return false;
    size_t npairs = (size_t)m * (m - 1) / 2;
    double *slopes = malloc(npairs * sizeof(*slopes));
    if (slopes == NULL)
        return false;
    size_t k = 0;
    long s = 0;
    double rise = 0, fall = 0, prev = NAN;
    uint32_t first_i = 0, last_i = 0;
    bool seen = false;
    for (uint32_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        if (!seen) {
            out->first = out->min = out->max = v[i];
            first_i = i;
            seen = true;
        }
        out->last = v[i];
        last_i = i;
        if (v[i] < out->min)
            out->min = v[i];
        if (v[i] > out->max)
            out->max = v[i];
        if (!isnan(prev)) {
            if (v[i] > prev)
                rise += v[i] - prev;
            else
                fall += prev - v[i];
        }
        prev = v[i];
        for (uint32_t j = i + 1; j < n; j++) {
            if (isnan(v[j]))
                continue;
            slopes[k++] = (v[j] - v[i]) / (double)(j - i);
            s += (v[j] > v[i]) - (v[j] < v[i]);
        }
    }
    qsort(slopes, k, sizeof(*slopes), cmp_double);
    out->slope = k % 2 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;
    out->growth = out->slope * (double)(last_i - first_i);
    out->tau = (double)s / (double)npairs;
    out->release = rise > 0 ? fall / rise : (fall > 0 ? 1.0 : 0.0);
    free(slopes);
    return true;
}

/* ---- findings --------------------------------------------------------------------- */

char *ser_human_bytes(double b, bool plus, char *buf, size_t n)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double a = fabs(b);
    int u = 0;
    while (a >= 1024 && u < 4) {
        a /= 1024;
        u++;
    }
    const char *sign = b < 0 ? "-" : plus ? "+" : "";
    if (u == 0)
        snprintf(buf, n, "%s%.0f %s", sign, a, units[u]);
    else
        snprintf(buf, n, a < 100 ? "%s%.1f %s" : "%s%.0f %s", sign, a, units[u]);
    return buf;
}

void ser_point_event(const struct series *s, uint32_t p, struct event *ev)
{
    ev_init(ev, EV_TRACEMALLOC);
    if (s->host != NULL)
        ev->host = ev_str_make(s->host, strlen(s->host));
    if (s->service != NULL)
        ev->service = ev_str_make(s->service, strlen(s->service));
    ev->pid = s->pid;
    if (p < s->npts) {
        const struct ser_point *pt = &s->pts[p];
        ev->has_ts = pt->has_ts;
        ev->ts_ns = pt->ts;
        ev->src.stream = s->streams[pt->stream];
        ev->src.line = pt->line;
    }
}

static void add_src(struct finding *f, const char *stream, uint64_t line)
{
    for (size_t i = 0; i < f->nsources; i++)
        if (strcmp(f->sources[i].stream, stream) == 0)
            return;
    if (f->nsources >= FINDING_MAX_SOURCES) {
        f->more_sources++;
        return;
    }
    char *c = strdup(stream);
    if (c == NULL) {
        f->more_sources++;
        return;
    }
    f->sources[f->nsources].stream = c;
    f->sources[f->nsources].line = line;
    f->nsources++;
}

static void finding_free_parts(struct finding *f)
{
    json_decref(f->evidence);
    free(f->title);
    free(f->trace_id);
    free(f->service);
    free(f->host);
    free(f);
}

/* -1: s has not reported id; 0: it was folded into it; 1: s made it. */
static int reported_by(const struct series *s, const char *id)
{
    for (uint32_t i = 0; i < s->nreported; i++)
        if (memcmp(s->reported[i].id, id, FINDING_ID_LEN) == 0)
            return s->reported[i].owned;
    return -1;
}

static void extend_time(struct finding *f, const struct event *ev)
{
    if (!ev->has_ts)
        return;
    if (!f->has_time || ev->ts_ns < f->first_seen)
        f->first_seen = ev->ts_ns;
    if (!f->has_time || ev->ts_ns > f->last_seen)
        f->last_seen = ev->ts_ns;
    f->has_time = true;
}

struct finding *ser_report(struct finding_store *st, struct finding *f, struct series *s, const struct event *ev)
{
    struct finding *old = finding_store_touch(st, f->id, NULL);
    int before = old != NULL ? reported_by(s, f->id) : -1;
    if (before == 1) {
        /* The same series judged again, longer: the newer evidence stands. */
        json_decref(old->evidence);
        old->evidence = f->evidence;
        f->evidence = NULL;
        free(old->title);
        old->title = f->title;
        f->title = NULL;
        old->severity = f->severity > old->severity ? f->severity : old->severity;
        extend_time(old, ev);
        finding_free_parts(f);
        return old;
    }
    if (before == 0) {
        extend_time(old, ev);
        finding_free_parts(f);
        return old;
    }
    bool owned = old == NULL;
    if (old != NULL) {
        /* Another view of the same problem (the same leak seen in the dumps and in the
         * JSON lines of a run): one finding, counted, with this series' source. */
        struct event e = *ev;
        e.pid = old->pid;
        finding_store_touch(st, f->id, &e);
        finding_free_parts(f);
    } else {
        old = finding_store_insert(st, f, ev);
        if (old == NULL)
            return NULL;
    }
    struct ser_reported *nr = realloc(s->reported, (s->nreported + 1) * sizeof(*nr));
    if (nr != NULL) {
        s->reported = nr;
        memcpy(nr[s->nreported].id, old->id, sizeof(nr[0].id));
        nr[s->nreported].owned = owned;
        s->nreported++;
    }
    return old;
}

struct finding *ser_insert_finding(struct finding_store *st, struct finding *f, struct series *s)
{
    struct event ev;
    ser_point_event(s, 0, &ev);
    struct finding *in = ser_report(st, f, s, &ev);
    if (in == NULL)
        return NULL;
    /* The other snapshots: the time range and the streams they came from. */
    for (uint32_t i = 1; i < s->npts; i++) {
        const struct ser_point *pt = &s->pts[i];
        struct event e;
        ser_point_event(s, i, &e);
        extend_time(in, &e);
        add_src(in, s->streams[pt->stream], pt->line);
    }
    return in;
}
