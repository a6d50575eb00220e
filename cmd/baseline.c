/* baseline.c -- baselines for pycorr gate and the run observer; see baseline.h.
 *
 * The baseline file is JSON, written whole by jansson and read back the same way:
 *
 *   {"pycorr_baseline": 1, "pycorr": "0.1.0",
 *    "findings": [{"id", "pattern", "rule", "severity", "title", "service", "count",
 *                  "kinds": ["exception", "log"], "location": {"file", "line"},
 *                  "seen_at": {"stream", "line"}}],
 *    "packages": [{"service", "host", "pid", "stream", "format", "python",
 *                  "packages": {"name": "version"}}]}
 *
 * "kinds" are what the finding's detector reads, so that the next run can tell fixed
 * (it read such artifacts and the finding is gone) from unchecked (it read none).
 */
#include "baseline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../correlate/ev_memory.h"
#include "../correlate/ev_packages.h"
#include "../patterns/pattern.h"
#include "../correlate/ev_json.h"
#include "analysis.h"
#include "pipeline.h"
#include "version.h"

#define BASELINE_FORMAT 1
#define BASELINE_MAX_BYTES ((size_t)512 << 20)
#define SNIFF_BYTES ((size_t)64 << 10)
#define SERVICE_SLOTS 2048 /* > 2 * OBS_MAX_SERVICES */

/* ---- run observer ---- */

void observer_init(struct run_observer *o, ev_sink_fn next, void *next_ctx, bool keep_snapshots)
{
    memset(o, 0, sizeof(*o));
    o->next = next;
    o->next_ctx = next_ctx;
    o->keep_snapshots = keep_snapshots;
    arena_init(&o->arena, (size_t)256 << 20);
}

/* A snapshot kept in an arena of its own, so a newer one of the same process
 * replaces it without the memory of the old. */
struct kept_snapshot {
    char key[320];
    struct arena a;
    struct event ev;
};

void observer_free(struct run_observer *o)
{
    for (size_t i = 0; i < o->nsnapshots; i++) {
        arena_free(&o->kept[i]->a);
        free(o->kept[i]);
    }
    free(o->kept);
    if (o->services != NULL)
        for (size_t i = 0; i < SERVICE_SLOTS; i++)
            free(o->services[i]);
    free(o->services);
    free(o->packages);
    free(o->snapshots);
    arena_free(&o->arena);
    memset(o, 0, sizeof(*o));
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* The slot of name in the service table: where it is, or the empty slot it would go. */
static size_t service_slot(char *const *tab, const char *p, size_t n)
{
    size_t i = (size_t)fnv(p, n) & (SERVICE_SLOTS - 1);
    while (tab[i] != NULL && !(strlen(tab[i]) == n && memcmp(tab[i], p, n) == 0))
        i = (i + 1) & (SERVICE_SLOTS - 1);
    return i;
}

static void note_service(struct run_observer *o, const struct event *ev)
{
    ev_str s = ev->service;
    if (!ev_str_present(s) && ev->logger.len > 0) {
        /* As the correlator infers it: "payments.acquirer" is service payments. */
        const char *dot = memchr(ev->logger.ptr, '.', ev->logger.len);
        if (dot != NULL && dot > ev->logger.ptr)
            s = ev_str_make(ev->logger.ptr, (size_t)(dot - ev->logger.ptr));
    }
    if (s.len == 0 || o->services_full)
        return;
    if (o->services == NULL && (o->services = calloc(SERVICE_SLOTS, sizeof(char *))) == NULL) {
        o->services_full = true; /* cannot tell services apart: claim none unchecked */
        return;
    }
    size_t i = service_slot(o->services, s.ptr, s.len);
    if (o->services[i] != NULL)
        return;
    if (o->nservices >= OBS_MAX_SERVICES || (o->services[i] = strndup(s.ptr, s.len)) == NULL) {
        o->services_full = true;
        return;
    }
    o->nservices++;
}

/* Keep a deep copy of ev in list (bounded by max). */
static void keep_event(struct run_observer *o, const struct event ***list, size_t *n, size_t max,
                       const struct event *ev)
{
    if (*n >= max) {
        o->not_kept++;
        return;
    }
    if (*n == 0 || (*n & (*n - 1)) == 0) { /* grow at powers of two */
        size_t cap = *n ? *n * 2 : 8;
        const struct event **nl = realloc((void *)*list, cap * sizeof(*nl));
        if (nl == NULL) {
            o->not_kept++;
            return;
        }
        *list = nl;
    }
    struct event *copy = arena_alloc(&o->arena, sizeof(*copy));
    if (copy == NULL || ev_clone(copy, ev, &o->arena) != 0) {
        o->not_kept++;
        return;
    }
    (*list)[(*n)++] = copy;
}

/* Keep ev as the last snapshot of its process, format and metric. */
static void keep_snapshot(struct run_observer *o, const struct event *ev)
{
    const struct ev_snapshot *snap = ev_snapshot_of(ev);
    if (snap == NULL || snap->reference)
        return;
    char key[320];
    bool named = ev_str_present(ev->host) || ev->pid >= 0;
    snprintf(key, sizeof(key), "%d|%.*s|%.*s|%lld|%s|%s|%d", (int)ev->kind, (int)(ev->service.len < 64 ? ev->service.len : 64),
             ev->service.ptr ? ev->service.ptr : "", (int)(ev->host.len < 64 ? ev->host.len : 64),
             ev->host.ptr ? ev->host.ptr : "", (long long)ev->pid,
             named || ev->src.stream == NULL ? "" : ev->src.stream, snap->format ? snap->format : "", (int)snap->metric);
    struct kept_snapshot *k = NULL;
    for (size_t i = 0; i < o->nsnapshots && k == NULL; i++)
        if (strcmp(o->kept[i]->key, key) == 0)
            k = o->kept[i];
    if (k == NULL) {
        if (o->nsnapshots >= OBS_MAX_SNAPSHOTS) {
            o->not_kept++;
            return;
        }
        struct kept_snapshot **nk = realloc(o->kept, (o->nsnapshots + 1) * sizeof(*nk));
        if (nk == NULL) {
            o->not_kept++;
            return;
        }
        o->kept = nk;
        const struct event **ns = realloc((void *)o->snapshots, (o->nsnapshots + 1) * sizeof(*ns));
        if (ns == NULL) {
            o->not_kept++;
            return;
        }
        o->snapshots = ns;
        if ((k = calloc(1, sizeof(*k))) == NULL) {
            o->not_kept++;
            return;
        }
        snprintf(k->key, sizeof(k->key), "%s", key);
        arena_init(&k->a, (size_t)64 << 20);
        o->kept[o->nsnapshots] = k;
        o->snapshots[o->nsnapshots] = &k->ev;
        o->nsnapshots++;
    } else {
        arena_reset(&k->a);
    }
    if (ev_clone(&k->ev, ev, &k->a) != 0) {
        /* Too big for its arena: keep nothing rather than half a snapshot. */
        arena_reset(&k->a);
        ev_init(&k->ev, ev->kind);
        o->not_kept++;
    }
}

int observer_sink(void *ctx, const struct event *ev)
{
    struct run_observer *o = ctx;
    if ((unsigned)ev->kind < EV_KIND_COUNT)
        o->kinds |= 1u << ev->kind;
    note_service(o, ev);
    if (ev->kind == EV_PACKAGES && ev->u.packages != NULL)
        keep_event(o, &o->packages, &o->npackages, OBS_MAX_PACKAGES, ev);
    else if (o->keep_snapshots && (ev->kind == EV_TRACEMALLOC || ev->kind == EV_GC))
        keep_snapshot(o, ev);
    return o->next(o->next_ctx, ev);
}

/* Detectors read artifact families, not single kinds: an exception may come in any
 * log, and a run that read logs without one has shown that the exception is gone. */
static unsigned family_of(unsigned kinds)
{
    static const unsigned families[] = {
        (1u << EV_LOG) | (1u << EV_EXCEPTION),
        (1u << EV_TRACEMALLOC) | (1u << EV_GC) | (1u << EV_COUNTER),
        (1u << EV_THREAD_DUMP) | (1u << EV_THREAD_CPU),
        1u << EV_PACKAGES,
    };
    unsigned out = kinds;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (kinds & families[i])
            out |= families[i];
    return out;
}

bool observer_covers(const struct run_observer *o, unsigned kinds, const char *service)
{
    if ((o->kinds & family_of(kinds)) == 0)
        return false;
    if (service == NULL || o->services_full)
        return true;
    return o->services != NULL && o->services[service_slot(o->services, service, strlen(service))] != NULL;
}

/* ---- baseline ---- */

struct baseline {
    struct baseline_finding *f;
    size_t n, cap;
    struct run_observer art;         /* the artifacts' run: listings and snapshots */
    bool art_used;
    struct arena arena;              /* listings read from baseline files */
    const struct event **packages;   /* from files and artifacts, marked reference */
    size_t npackages;
    size_t files, artifact_paths;
};

struct baseline *baseline_create(void)
{
    struct baseline *bl = calloc(1, sizeof(*bl));
    if (bl != NULL)
        arena_init(&bl->arena, (size_t)256 << 20);
    return bl;
}

static void bf_free(struct baseline_finding *b)
{
    free(b->pattern);
    free(b->rule);
    free(b->title);
    free(b->service);
    free(b->file);
    free(b->stream);
}

void baseline_destroy(struct baseline *bl)
{
    if (bl == NULL)
        return;
    for (size_t i = 0; i < bl->n; i++)
        bf_free(&bl->f[i]);
    free(bl->f);
    if (bl->art_used)
        observer_free(&bl->art);
    arena_free(&bl->arena);
    free(bl->packages);
    free(bl);
}

size_t baseline_count(const struct baseline *bl) { return bl->n; }
struct baseline_finding *baseline_get(struct baseline *bl, size_t i) { return &bl->f[i]; }

struct baseline_finding *baseline_find(struct baseline *bl, const char *id)
{
    /* Baselines hold hundreds of findings, not millions: a scan is fine. */
    for (size_t i = 0; i < bl->n; i++)
        if (strcmp(bl->f[i].id, id) == 0)
            return &bl->f[i];
    return NULL;
}

size_t baseline_packages(const struct baseline *bl, const struct event *const **out)
{
    *out = bl->packages;
    return bl->npackages;
}

size_t baseline_snapshots(const struct baseline *bl, const struct event *const **out)
{
    *out = bl->art_used ? bl->art.snapshots : NULL;
    return bl->art_used ? bl->art.nsnapshots : 0;
}

void baseline_sources(const struct baseline *bl, size_t *files, size_t *artifact_paths)
{
    *files = bl->files;
    *artifact_paths = bl->artifact_paths;
}

static unsigned kinds_of_pattern(const char *pattern)
{
    for (size_t i = 0; pattern != NULL && pattern_registry[i] != NULL; i++)
        if (strcmp(pattern_registry[i]->name, pattern) == 0)
            return pattern_registry[i]->kinds;
    return ~0u; /* a rule's own pattern: it may read anything */
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* A new entry (zeroed), or the existing one with the same id (a finding in two
 * baselines is one). NULL when memory ran out. */
static struct baseline_finding *bf_slot(struct baseline *bl, const char *id, bool *existed)
{
    struct baseline_finding *b = baseline_find(bl, id);
    *existed = b != NULL;
    if (b != NULL)
        return b;
    if (bl->n == bl->cap) {
        size_t nc = bl->cap ? bl->cap * 2 : 64;
        struct baseline_finding *nf = realloc(bl->f, nc * sizeof(*nf));
        if (nf == NULL)
            return NULL;
        bl->f = nf;
        bl->cap = nc;
    }
    b = &bl->f[bl->n++];
    memset(b, 0, sizeof(*b));
    snprintf(b->id, sizeof(b->id), "%s", id);
    return b;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool valid_id(const char *id)
{
    if (id == NULL || strlen(id) == 0 || strlen(id) > FINDING_ID_LEN)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* One finding object: a baseline file's entry or a DESIGN §4 finding. Returns 0, 1
 * when it is not a finding (err says why), -1 on OOM. */
static int add_finding_json(struct baseline *bl, const json_t *o, char *err, size_t errsz)
{
    const char *id = jstr(o, "id"), *pattern = jstr(o, "pattern"), *sev = jstr(o, "severity");
    enum severity s;
    if (!valid_id(id) || pattern == NULL || sev == NULL || severity_parse(sev, &s) != 0) {
        snprintf(err, errsz, "a finding without a valid id, pattern and severity");
        return 1;
    }
    bool existed;
    struct baseline_finding *b = bf_slot(bl, id, &existed);
    if (b == NULL)
        return -1;
    if (existed) {
        b->count += (uint64_t)json_integer_value(json_object_get(o, "count"));
        return 0;
    }
    b->severity = s;
    b->pattern = strdup(pattern);
    b->rule = dup_or_null(jstr(o, "rule"));
    b->title = dup_or_null(jstr(o, "title"));
    b->service = dup_or_null(jstr(o, "service"));
    b->count = (uint64_t)json_integer_value(json_object_get(o, "count"));
    const json_t *kinds = json_object_get(o, "kinds");
    if (json_is_array(kinds)) {
        size_t i;
        const json_t *k;
        b->kinds = 0;
        json_array_foreach(kinds, i, k) {
            for (int e = 0; e < EV_KIND_COUNT; e++)
                if (json_is_string(k) && strcmp(json_string_value(k), ev_kind_name((enum ev_kind)e)) == 0)
                    b->kinds |= 1u << e;
        }
        if (b->kinds == 0)
            b->kinds = ~0u;
    } else {
        b->kinds = kinds_of_pattern(pattern);
    }
    const json_t *loc = json_object_get(o, "location");
    const json_t *at = json_object_get(o, "seen_at");
    if (json_is_object(loc) && jstr(loc, "file") != NULL) {
        b->file = strdup(jstr(loc, "file"));
        b->line = (uint32_t)json_integer_value(json_object_get(loc, "line"));
    } else {
        char file[1024];
        uint32_t line;
        if (gate_code_location(json_object_get(o, "evidence"), file, sizeof(file), &line)) {
            b->file = strdup(file);
            b->line = line;
        }
    }
    if (!json_is_object(at)) {
        const json_t *src = json_object_get(o, "sources");
        at = json_is_array(src) ? json_array_get(src, 0) : NULL;
    }
    if (json_is_object(at) && jstr(at, "stream") != NULL) {
        b->stream = strdup(jstr(at, "stream"));
        b->stream_line = (uint64_t)json_integer_value(json_object_get(at, "line"));
    }
    if (b->pattern == NULL)
        return -1;
    return 0;
}

static int cmp_pkg_name(const void *x, const void *y)
{
    const struct ev_package *a = x, *b = y;
    size_t m = a->name.len < b->name.len ? a->name.len : b->name.len;
    int c = memcmp(a->name.ptr, b->name.ptr, m);
    return c != 0 ? c : (a->name.len > b->name.len) - (a->name.len < b->name.len);
}

/* Add one listing (a reference set) from a baseline file. */
static int add_packages_json(struct baseline *bl, const json_t *o)
{
    const json_t *pk = json_object_get(o, "packages");
    if (!json_is_object(pk))
        return 0;
    struct arena *a = &bl->arena;
    struct ev_packages *p = arena_calloc(a, 1, sizeof(*p));
    struct event *ev = arena_alloc(a, sizeof(*ev));
    size_t n = json_object_size(pk);
    if (p == NULL || ev == NULL || (n > 0 && (p->pkgs = arena_calloc(a, n, sizeof(*p->pkgs))) == NULL))
        return -1;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)pk, k, v) {
        if (!json_is_string(v))
            continue;
        char norm[128];
        size_t nl = ev_package_normalize(k, strlen(k), norm, sizeof(norm));
        if (nl == 0)
            continue;
        p->pkgs[p->n].name = ev_str_dup(a, ev_str_make(norm, nl));
        p->pkgs[p->n].version = ev_str_dup(a, ev_str_make(json_string_value(v), strlen(json_string_value(v))));
        if (!ev_str_present(p->pkgs[p->n].name) || !ev_str_present(p->pkgs[p->n].version))
            return -1;
        p->n++;
    }
    /* jansson keeps keys in insertion order; the payload promises sorted names. */
    qsort(p->pkgs, p->n, sizeof(*p->pkgs), cmp_pkg_name);
    p->total = p->n;
    const char *fmt = jstr(o, "format");
    static const char *const formats[] = {"pip_freeze", "pip_list", "pip_inspect", "importlib_metadata", "modules"};
    p->format = "pip_freeze";
    for (size_t i = 0; fmt != NULL && i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(fmt, formats[i]) == 0)
            p->format = formats[i];
    const char *py = jstr(o, "python");
    if (py != NULL)
        p->python = ev_str_dup(a, ev_str_make(py, strlen(py)));
    p->reference = true;
    ev_init(ev, EV_PACKAGES);
    const char *svc = jstr(o, "service"), *host = jstr(o, "host"), *stream = jstr(o, "stream");
    if (svc != NULL)
        ev->service = ev_str_dup(a, ev_str_make(svc, strlen(svc)));
    if (host != NULL)
        ev->host = ev_str_dup(a, ev_str_make(host, strlen(host)));
    if (json_is_integer(json_object_get(o, "pid")))
        ev->pid = (int64_t)json_integer_value(json_object_get(o, "pid"));
    if (stream != NULL)
        ev->src.stream = arena_strndup(a, stream, strlen(stream));
    ev->u.packages = p;
    const struct event **np = realloc((void *)bl->packages, (bl->npackages + 1) * sizeof(*np));
    if (np == NULL)
        return -1;
    bl->packages = np;
    bl->packages[bl->npackages++] = ev;
    return 0;
}

enum file_kind { FK_ARTIFACTS = 0, FK_BASELINE, FK_REPORT, FK_FINDINGS_JSONL };

static bool is_finding_object(const json_t *o)
{
    return json_is_object(o) && valid_id(jstr(o, "id")) && jstr(o, "pattern") != NULL &&
           jstr(o, "severity") != NULL && json_object_get(o, "evidence") != NULL;
}

/* What a --baseline path is, from its first bytes (a directory or an unreadable path
 * is artifacts: the pipeline reports what it cannot read). */
static enum file_kind sniff_kind(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return FK_ARTIFACTS;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return FK_ARTIFACTS;
    char *buf = malloc(SNIFF_BYTES + 1);
    size_t n = buf ? fread(buf, 1, SNIFF_BYTES, fp) : 0;
    fclose(fp);
    enum file_kind k = FK_ARTIFACTS;
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r'))
        i++;
    if (i < n && buf[i] == '{') {
        buf[n] = '\0';
        json_error_t e;
        json_t *d = json_loadb(buf + i, n - i, JSON_DISABLE_EOF_CHECK, &e);
        if (d != NULL) {
            if (json_object_get(d, "pycorr_baseline") != NULL)
                k = FK_BASELINE;
            else if (jstr(d, "pycorr") != NULL && json_is_array(json_object_get(d, "findings")))
                k = FK_REPORT;
            else if (is_finding_object(d))
                k = FK_FINDINGS_JSONL;
            json_decref(d);
        } else if ((size_t)st.st_size > n) {
            /* A document longer than the window: its first keys say what it is. */
            char *head = buf + i;
            if (n - i > 4096)
                head[4096] = '\0';
            if (strstr(head, "\"pycorr_baseline\"") != NULL)
                k = FK_BASELINE;
            else if (strstr(head, "\"pycorr\"") != NULL && strstr(head, "\"command\"") != NULL)
                k = FK_REPORT;
        }
    }
    free(buf);
    return k;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= BASELINE_MAX_BYTES) {
                snprintf(err, errsz, "%s: a baseline file larger than %zu MiB", path, BASELINE_MAX_BYTES >> 20);
                free(buf);
                fclose(fp);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, fp);
        n += k;
        if (k == 0)
            break;
    }
    if (buf == NULL || ferror(fp)) {
        snprintf(err, errsz, "%s: %s", path, buf == NULL ? "out of memory" : strerror(errno ? errno : EIO));
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    *len = n;
    return buf;
}

static int load_file(struct baseline *bl, const char *path, enum file_kind kind, char *err, size_t errsz)
{
    size_t len;
    char *buf = slurp(path, &len, err, errsz);
    if (buf == NULL)
        return EXIT_INPUT;
    int rc = EXIT_OK;
    char why[256] = "";
    if (kind == FK_FINDINGS_JSONL) {
        size_t off = 0;
        unsigned long line = 0;
        while (off < len && rc == EXIT_OK) {
            char *nl = memchr(buf + off, '\n', len - off);
            size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
            line++;
            size_t k = 0;
            while (k < n && (buf[off + k] == ' ' || buf[off + k] == '\t' || buf[off + k] == '\r'))
                k++;
            if (k < n) {
                json_error_t e;
                json_t *o = json_loadb(buf + off, n, 0, &e);
                int r = o == NULL ? 1 : add_finding_json(bl, o, why, sizeof(why));
                json_decref(o);
                if (r < 0) {
                    rc = -1;
                } else if (r > 0) {
                    snprintf(err, errsz, "%s:%lu: %s", path, line, o == NULL ? e.text : why);
                    rc = EXIT_USAGE;
                }
            }
            off += n + 1;
        }
        free(buf);
        return rc;
    }
    json_error_t e;
    json_t *d = json_loadb(buf, len, 0, &e);
    free(buf);
    if (d == NULL) {
        snprintf(err, errsz, "%s:%d: %s", path, e.line, e.text);
        return EXIT_USAGE;
    }
    if (kind == FK_BASELINE) {
        const json_t *v = json_object_get(d, "pycorr_baseline");
        if (!json_is_integer(v) || json_integer_value(v) > BASELINE_FORMAT) {
            snprintf(err, errsz, "%s: not a baseline format this pycorr reads (format %d)", path,
                     BASELINE_FORMAT);
            json_decref(d);
            return EXIT_USAGE;
        }
    }
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(d, "findings"), i, o) {
        int r = add_finding_json(bl, o, why, sizeof(why));
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r > 0) {
            snprintf(err, errsz, "%s: findings[%zu]: %s", path, i, why);
            rc = EXIT_USAGE;
            break;
        }
    }
    json_array_foreach(json_object_get(d, "packages"), i, o) {
        if (rc != EXIT_OK)
            break;
        if (add_packages_json(bl, o) != 0)
            rc = -1;
    }
    json_decref(d);
    return rc;
}

static int add_finding(struct baseline *bl, const struct finding *f)
{
    bool existed;
    struct baseline_finding *b = bf_slot(bl, f->id, &existed);
    if (b == NULL)
        return -1;
    if (existed) {
        b->count += f->count;
        return 0;
    }
    b->severity = f->severity;
    b->count = f->count;
    b->pattern = strdup(f->pattern);
    b->rule = dup_or_null(f->rule);
    b->title = dup_or_null(f->title);
    b->service = dup_or_null(f->service);
    b->kinds = kinds_of_pattern(f->pattern);
    char file[1024];
    uint32_t line;
    if (gate_code_location(f->evidence, file, sizeof(file), &line)) {
        b->file = strdup(file);
        b->line = line;
    }
    if (f->nsources > 0) {
        b->stream = dup_or_null(f->sources[0].stream);
        b->stream_line = f->sources[0].line;
    }
    return b->pattern == NULL ? -1 : 0;
}

/* The previous run's artifacts, all paths as one run, as the gate reads its own. */
static int load_artifacts(struct baseline *bl, const struct cli *cli, const struct ruleset *rs,
                          const char **paths, size_t n, char *err, size_t errsz)
{
    struct cli c = *cli;
    c.paths = paths;
    c.npaths = n;
    c.by_trace = false;
    struct analysis *an = analysis_create(&c, rs, err, errsz);
    if (an == NULL)
        return -1;
    observer_init(&bl->art, analysis_sink, an, true);
    bl->art_used = true;
    struct pipeline pl = {.cli = &c, .progress = pipeline_wants_progress(&c)};
    pl.sink = observer_sink;
    pl.sink_ctx = &bl->art;
    int rc = pipeline_run(&pl);
    analysis_flush(an);
    size_t nf;
    struct analysis_counts counts;
    struct finding **f = analysis_findings(an, &nf, &counts);
    for (size_t i = 0; i < nf && rc == 0; i++)
        if (add_finding(bl, f[i]) != 0)
            rc = -1;
    analysis_destroy(an);
    bl->art.next = NULL; /* the analysis is gone */
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < bl->art.npackages; i++) {
        /* Kept in the observer's arena, which is ours: mark them as the reference. */
        ((struct ev_packages *)bl->art.packages[i]->u.packages)->reference = true;
        const struct event **np = realloc((void *)bl->packages, (bl->npackages + 1) * sizeof(*np));
        if (np == NULL)
            return -1;
        bl->packages = np;
        bl->packages[bl->npackages++] = bl->art.packages[i];
    }
    if (pl.stats.unreadable > 0) {
        snprintf(err, errsz, "--baseline: %llu input%s of the baseline could not be read",
                 (unsigned long long)pl.stats.unreadable, pl.stats.unreadable == 1 ? "" : "s");
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

int baseline_load(struct baseline *bl, const struct cli *cli, const struct ruleset *rs, char *err, size_t errsz)
{
    const char **art = calloc(cli->nbaselines ? cli->nbaselines : 1, sizeof(*art));
    if (art == NULL)
        return -1;
    size_t nart = 0;
    int rc = EXIT_OK;
    for (size_t i = 0; i < cli->nbaselines && rc == EXIT_OK; i++) {
        enum file_kind k = sniff_kind(cli->baselines[i]);
        if (k == FK_ARTIFACTS) {
            art[nart++] = cli->baselines[i];
            continue;
        }
        rc = load_file(bl, cli->baselines[i], k, err, errsz);
        bl->files++;
    }
    bl->artifact_paths = nart;
    if (rc == EXIT_OK && nart > 0)
        rc = load_artifacts(bl, cli, rs, art, nart, err, errsz);
    free(art);
    return rc;
}

/* ---- writing ---- */

static json_t *kinds_json(unsigned kinds)
{
    json_t *a = json_array();
    for (int k = 0; k < EV_KIND_COUNT && kinds != ~0u; k++)
        if (kinds & (1u << k))
            json_array_append_new(a, json_string(ev_kind_name((enum ev_kind)k)));
    return a;
}

static json_t *item_json(const char *id, const char *pattern, const char *rule, enum severity sev,
                         const char *title, const char *service, uint64_t count, unsigned kinds,
                         const char *file, uint32_t line, const char *stream, uint64_t stream_line)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "pattern", ev_json_cstr(pattern));
    if (rule != NULL)
        json_object_set_new(o, "rule", ev_json_cstr(rule));
    json_object_set_new(o, "severity", json_string(severity_name(sev)));
    if (title != NULL)
        json_object_set_new(o, "title", ev_json_cstr(title));
    if (service != NULL)
        json_object_set_new(o, "service", ev_json_cstr(service));
    json_object_set_new(o, "count", json_integer((json_int_t)count));
    if (kinds != ~0u)
        json_object_set_new(o, "kinds", kinds_json(kinds));
    if (file != NULL) {
        json_t *l = json_object();
        json_object_set_new(l, "file", ev_json_cstr(file));
        json_object_set_new(l, "line", json_integer(line));
        json_object_set_new(o, "location", l);
    }
    if (stream != NULL) {
        json_t *s = json_object();
        json_object_set_new(s, "stream", ev_json_cstr(stream));
        json_object_set_new(s, "line", json_integer((json_int_t)stream_line));
        json_object_set_new(o, "seen_at", s);
    }
    return o;
}

static json_t *listing_json(const struct event *ev)
{
    json_t *o = ev_packages_to_json(ev->u.packages);
    if (o == NULL)
        return NULL;
    json_object_del(o, "reference");
    json_object_del(o, "total");
    if (ev_str_present(ev->service))
        json_object_set_new(o, "service", json_stringn(ev->service.ptr, ev->service.len));
    if (ev_str_present(ev->host))
        json_object_set_new(o, "host", json_stringn(ev->host.ptr, ev->host.len));
    if (ev->pid >= 0)
        json_object_set_new(o, "pid", json_integer(ev->pid));
    if (ev->src.stream != NULL)
        json_object_set_new(o, "stream", ev_json_cstr(ev->src.stream));
    return o;
}

static bool same_service(const struct event *a, const struct event *b)
{
    return a->service.len == b->service.len && ev_str_present(a->service) == ev_str_present(b->service) &&
           (a->service.len == 0 || memcmp(a->service.ptr, b->service.ptr, a->service.len) == 0);
}

int baseline_write(FILE *out, const struct gate_result *g, const struct run_observer *run,
                   const struct baseline *bl)
{
    json_t *doc = json_object(), *fa = json_array(), *pa = json_array();
    if (doc == NULL || fa == NULL || pa == NULL) {
        json_decref(doc);
        json_decref(fa);
        json_decref(pa);
        return -1;
    }
    json_object_set_new(doc, "pycorr_baseline", json_integer(BASELINE_FORMAT));
    json_object_set_new(doc, "pycorr", json_string(PYCORR_VERSION));
    for (size_t i = 0; i < g->n; i++) {
        const struct gate_item *it = &g->items[i];
        if (it->state == GATE_FIXED)
            continue;
        unsigned kinds = kinds_of_pattern(it->pattern);
        if (it->state == GATE_UNCHECKED && bl != NULL) {
            const struct baseline_finding *b = baseline_find((struct baseline *)bl, it->id);
            if (b != NULL)
                kinds = b->kinds;
        }
        json_array_append_new(fa, item_json(it->id, it->pattern, it->rule, it->severity, it->title, it->service,
                                            it->count, kinds, it->file, it->line, it->stream, it->stream_line));
    }
    json_object_set_new(doc, "findings", fa);
    for (size_t i = 0; i < run->npackages; i++)
        json_array_append_new(pa, listing_json(run->packages[i]));
    /* The baseline's listings of services this run listed nothing for stay the
     * reference: an absent listing is no evidence of another version. */
    for (size_t i = 0; bl != NULL && i < bl->npackages; i++) {
        bool listed = false;
        for (size_t j = 0; j < run->npackages && !listed; j++)
            listed = same_service(bl->packages[i], run->packages[j]);
        if (!listed)
            json_array_append_new(pa, listing_json(bl->packages[i]));
    }
    json_object_set_new(doc, "packages", pa);
    int rc = json_dumpf(doc, out, JSON_INDENT(1));
    fputc('\n', out);
    json_decref(doc);
    return rc == 0 ? 0 : -1;
}
