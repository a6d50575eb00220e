/* packages.c -- package version listings: the "Not My Version" evidence.
 *
 * Text, read line by line:
 *   pip freeze       name==version, name @ URL (direct references), -e VCS#egg=name
 *   pip list         the "Package  Version" table
 *   module listings  "name version" / "name: version" (a sys.modules collection)
 * JSON, one document or several (JSON lines, or concatenated):
 *   pip list --format=json   [{"name", "version"}, ...]
 *   pip inspect              {"installed": [{"metadata": {"name", "version"}}],
 *                             "environment": {"platform_node", "python_full_version"}}
 *   importlib.metadata dump  {"packages" | "distributions": {name: version} or
 *                             [{"name", "version"}], ...}
 *   sys.modules collection   {"modules": {name: version}} or a bare {name: version|null}
 *
 * A listing names no process by itself. Who ran it comes from the artifact: in text,
 * header comments before the packages ("# service: api", "# host: web-1", "# pid: 4242",
 * "# python: 3.11.6", "# time: 2026-11-24T03:00:00Z"; `{ echo "# host: $(hostname)";
 * pip freeze; } > pip-freeze.txt` writes one), a new header after packages starting
 * the next set; in JSON, the keys service, host (hostname, node), pid, python
 * (python_version), ts (time, timestamp) beside the packages, or pip inspect's
 * environment. Each set is one EV_PACKAGES event.
 *
 * Text is streamed; a JSON listing is gathered whole (they are kilobytes; past
 * PKG_MAX_JSON the rest is reported and dropped) and read with jansson, which the
 * design keeps for rare, complex records.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../correlate/ev_packages.h"
#include "../correlate/evtime.h"
#include "linesplit.h"
#include "parser.h"

#define PKG_MAX_JSON ((size_t)8 << 20)
#define PKG_MAX_SET 4096   /* packages kept per set; more are counted */
#define PKG_MAX_NAME 128
#define PKG_MAX_VERSION 256
#define PKG_DIAGS 20

/* ---- lines ---- */

enum pline { PL_BLANK, PL_COMMENT, PL_HEADER, PL_PKG, PL_OTHER };

enum pkey { K_NONE = 0, K_SERVICE, K_HOST, K_PID, K_PYTHON, K_TIME };

struct linfo {
    const char *name, *version, *value;
    size_t name_len, version_len, value_len;
    enum pkey key;
    bool freeze;    /* written by pip freeze (==, @, -e) */
};

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static bool is_name_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }
static bool is_version_char(char c)
{
    return is_alnum(c) || c == '.' || c == '+' || c == '!' || c == '_' || c == '-' || c == '*';
}

static size_t name_span(const char *p, size_t n)
{
    if (n == 0 || !is_alnum(p[0]))
        return 0;
    size_t i = 1;
    while (i < n && is_name_char(p[i]))
        i++;
    return i;
}

static bool key_is(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
        if (c != lit[i])
            return false;
    }
    return true;
}

static enum pkey key_of(const char *p, size_t n)
{
    if (key_is(p, n, "service") || key_is(p, n, "service.name") || key_is(p, n, "app"))
        return K_SERVICE;
    if (key_is(p, n, "host") || key_is(p, n, "hostname") || key_is(p, n, "node"))
        return K_HOST;
    if (key_is(p, n, "pid"))
        return K_PID;
    if (key_is(p, n, "python") || key_is(p, n, "python_version") || key_is(p, n, "python-version"))
        return K_PYTHON;
    if (key_is(p, n, "time") || key_is(p, n, "ts") || key_is(p, n, "timestamp") || key_is(p, n, "date"))
        return K_TIME;
    return K_NONE;
}

/* "# key: value" or "# key = value" with a key we know. */
static bool header_line(const char *p, size_t n, struct linfo *li)
{
    size_t i = 1;
    while (i < n && is_space(p[i]))
        i++;
    size_t ks = i;
    while (i < n && (is_name_char(p[i])))
        i++;
    enum pkey k = key_of(p + ks, i - ks);
    if (k == K_NONE)
        return false;
    while (i < n && is_space(p[i]))
        i++;
    if (i >= n || (p[i] != ':' && p[i] != '='))
        return false;
    i++;
    while (i < n && is_space(p[i]))
        i++;
    size_t e = n;
    while (e > i && is_space(p[e - 1]))
        e--;
    if (e == i)
        return false;
    li->key = k;
    li->value = p + i;
    li->value_len = e - i;
    return true;
}

/* A version token starting at p: digits first (PEP 440; "1!2.0" epochs too). */
static size_t version_span(const char *p, size_t n, bool need_dot)
{
    if (n == 0 || !(p[0] >= '0' && p[0] <= '9'))
        return 0;
    size_t i = 0;
    bool dot = false;
    while (i < n && is_version_char(p[i])) {
        dot |= p[i] == '.';
        i++;
    }
    return need_dot && !dot ? 0 : i;
}

static enum pline classify_line(const char *p, size_t n, struct linfo *li)
{
    memset(li, 0, sizeof(*li));
    while (n > 0 && is_space(p[n - 1]))
        n--;
    size_t i = 0;
    while (i < n && is_space(p[i]))
        i++;
    p += i;
    n -= i;
    if (n == 0)
        return PL_BLANK;
    if (p[0] == '#')
        return header_line(p, n, li) ? PL_HEADER : PL_COMMENT;
    /* pip list's table head: "Package    Version" and its rule of dashes. */
    if (n >= 7 && memcmp(p, "Package", 7) == 0 && memmem(p, n, "Version", 7) != NULL)
        return PL_COMMENT;
    bool rule = n > 1;
    for (size_t k = 0; k < n && rule; k++)
        rule = p[k] == '-' || p[k] == ' ';
    if (rule)
        return PL_COMMENT;
    bool editable = n > 11 && memcmp(p, "--editable ", 11) == 0;
    if ((n > 3 && memcmp(p, "-e ", 3) == 0) || editable) {
        /* -e git+https://host/repo@rev#egg=name: the name from egg=, the reference as
         * the version (two checkouts differ when their references do). */
        const char *egg = NULL;
        for (size_t k = 0; k + 5 <= n; k++)
            if (memcmp(p + k, "#egg=", 5) == 0)
                egg = p + k + 5;
        if (egg == NULL)
            return PL_OTHER;
        size_t nl = name_span(egg, (size_t)(p + n - egg));
        if (nl == 0)
            return PL_OTHER;
        const char *ref = p + (editable ? 11 : 3);
        while (ref < egg && is_space(*ref))
            ref++;
        li->name = egg;
        li->name_len = nl;
        li->version = ref;
        li->version_len = (size_t)(egg - 5 - ref);
        li->freeze = true;
        return PL_PKG;
    }
    size_t nl = name_span(p, n);
    if (nl == 0)
        return PL_OTHER;
    li->name = p;
    li->name_len = nl;
    i = nl;
    if (i < n && p[i] == '[') { /* extras: name[socks]==1.0 */
        const char *close = memchr(p + i, ']', n - i);
        if (close == NULL)
            return PL_OTHER;
        i = (size_t)(close - p) + 1;
    }
    size_t sp = i;
    while (i < n && is_space(p[i]))
        i++;
    if (i + 1 < n && p[i] == '=' && p[i + 1] == '=') {
        i += 2;
        if (i < n && p[i] == '=')
            i++; /* === arbitrary equality */
        while (i < n && is_space(p[i]))
            i++;
        size_t vs = i;
        while (i < n && !is_space(p[i]) && p[i] != ';' && p[i] != '#')
            i++;
        if (i == vs)
            return PL_OTHER;
        li->version = p + vs;
        li->version_len = i - vs;
        li->freeze = true;
        while (i < n && is_space(p[i]))
            i++;
        return i == n || p[i] == ';' || p[i] == '#' ? PL_PKG : PL_OTHER;
    }
    if (i < n && p[i] == '@' && i > sp) { /* name @ URL */
        i++;
        while (i < n && is_space(p[i]))
            i++;
        size_t vs = i;
        while (i < n && !is_space(p[i]) && p[i] != ';')
            i++;
        if (i == vs)
            return PL_OTHER;
        li->version = p + vs;
        li->version_len = i - vs;
        li->freeze = true;
        return PL_PKG;
    }
    /* "name version", "name: version", "name (version)": a module listing. */
    if (i < n && p[i] == ':' && i == sp) {
        i++;
        while (i < n && is_space(p[i]))
            i++;
    } else if (i == sp) {
        return PL_OTHER;
    }
    bool paren = i < n && p[i] == '(';
    if (paren)
        i++;
    size_t vl = version_span(p + i, n - i, true);
    if (vl == 0)
        return PL_OTHER;
    li->version = p + i;
    li->version_len = vl;
    i += vl;
    if (paren) {
        if (i >= n || p[i] != ')')
            return PL_OTHER;
        i++;
    }
    /* pip list may add an editable location column; nothing else may follow. */
    while (i < n && is_space(p[i]))
        i++;
    return i == n || p[i] == '/' ? PL_PKG : PL_OTHER;
}

/* ---- JSON shapes ---- */

static bool is_pkg_key(const char *k)
{
    return strcmp(k, "packages") == 0 || strcmp(k, "distributions") == 0 || strcmp(k, "modules") == 0 ||
           strcmp(k, "installed_packages") == 0;
}

static bool looks_version(const char *s)
{
    return s != NULL && version_span(s, strlen(s), false) == strlen(s) && strlen(s) > 0;
}

/* {name: version|null, ...} with names that are names and versions that are versions. */
static bool bare_map(const json_t *o)
{
    const char *k;
    const json_t *v;
    size_t good = 0;
    json_object_foreach((json_t *)o, k, v) {
        if (name_span(k, strlen(k)) != strlen(k) && k[0] != '_')
            return false;
        if (json_is_string(v) && looks_version(json_string_value(v)))
            good++;
        else if (!json_is_null(v))
            return false;
    }
    return good >= 3;
}

static bool name_version_array(const json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return false;
    const json_t *e = json_array_get(a, 0);
    return json_is_string(json_object_get(e, "name")) && json_is_string(json_object_get(e, "version"));
}

/* The format of a packages document, or NULL when it is something else. */
static const char *doc_format(const json_t *d)
{
    if (json_is_array(d))
        return name_version_array(d) ? "pip_list" : NULL;
    if (!json_is_object(d))
        return NULL;
    if (json_is_array(json_object_get(d, "installed")) &&
        (json_object_get(d, "pip_version") != NULL || json_object_get(d, "environment") != NULL))
        return "pip_inspect";
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)d, k, v) {
        if (is_pkg_key(k) && (json_is_object(v) || name_version_array(v)))
            return strcmp(k, "modules") == 0 ? "modules" : "importlib_metadata";
    }
    return bare_map(d) ? "modules" : NULL;
}

/* ---- the parser ---- */

struct pkgset {
    struct arena arena;           /* names and versions of the set */
    struct ev_package *v;
    uint32_t n, cap;
    uint64_t total;
    ev_str service, host, python;
    int64_t pid;
    bool has_ts;
    int64_t ts;
    uint64_t line;
    const char *format;
};

struct pkgparse {
    struct parser_env env;
    int mode;                     /* 0 undecided, 1 text, 2 JSON */
    struct linesplit ls;
    char *jbuf;
    size_t jlen, jcap;
    bool jcut;
    struct pkgset set;
    bool text_freeze, text_table;
    uint64_t diags;
    int stop;
    bool oom;
};

static void diag(struct pkgparse *st, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void diag(struct pkgparse *st, uint64_t line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st->env.diag(st->env.diag_ctx, st->env.stream, line, msg);
}

static void set_reset(struct pkgset *s)
{
    arena_reset(&s->arena);
    s->n = 0;
    s->total = 0;
    s->service = s->host = s->python = EV_STR_NULL;
    s->pid = -1;
    s->has_ts = false;
    s->line = 0;
    s->format = NULL;
}

static ev_str keep(struct pkgset *s, const char *p, size_t n)
{
    return ev_str_dup(&s->arena, ev_str_make(p, n));
}

static int set_add(struct pkgparse *st, const char *name, size_t nl, const char *ver, size_t vl, uint64_t line)
{
    struct pkgset *s = &st->set;
    char norm[PKG_MAX_NAME];
    size_t k = ev_package_normalize(name, nl, norm, sizeof(norm));
    if (k == 0)
        return 0;
    if (s->line == 0)
        s->line = line;
    s->total++;
    if (s->n >= PKG_MAX_SET)
        return 0;
    if (s->n == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 64;
        struct ev_package *nv = realloc(s->v, nc * sizeof(*nv));
        if (nv == NULL)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    if (vl > PKG_MAX_VERSION)
        vl = PKG_MAX_VERSION;
    ev_str en = keep(s, norm, k), ev = keep(s, ver, vl);
    if (!ev_str_present(en) || !ev_str_present(ev))
        return -1;
    s->v[s->n].name = en;
    s->v[s->n].version = ev;
    s->n++;
    return 0;
}

static int cmp_pkg(const void *a, const void *b)
{
    const struct ev_package *x = a, *y = b;
    size_t m = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.ptr, y->name.ptr, m);
    return c != 0 ? c : (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

static void set_key(struct pkgset *s, enum pkey k, const char *v, size_t n)
{
    switch (k) {
    case K_SERVICE:
        s->service = keep(s, v, n);
        break;
    case K_HOST:
        s->host = keep(s, v, n);
        break;
    case K_PYTHON:
        s->python = keep(s, v, n < 64 ? n : 64);
        break;
    case K_PID: {
        int64_t pid = 0;
        size_t i = 0;
        for (; i < n && i < 12 && v[i] >= '0' && v[i] <= '9'; i++)
            pid = pid * 10 + (v[i] - '0');
        if (i == n && n > 0)
            s->pid = pid;
        break;
    }
    case K_TIME:
        s->has_ts = evtime_parse_field(v, n, &s->ts);
        break;
    case K_NONE:
        break;
    }
}

/* Sort, drop repeats, emit one event, start the next set. */
static int set_emit(struct pkgparse *st)
{
    struct pkgset *s = &st->set;
    int rc = 0;
    if (s->n > 0 && st->stop == 0) {
        qsort(s->v, s->n, sizeof(*s->v), cmp_pkg);
        uint32_t w = 0;
        for (uint32_t i = 0; i < s->n; i++)
            if (w == 0 || cmp_pkg(&s->v[w - 1], &s->v[i]) != 0)
                s->v[w++] = s->v[i];
        struct ev_packages pk = {
            .format = s->format ? s->format : "pip_freeze",
            .pkgs = s->v,
            .n = w,
            .total = s->total,
            .python = s->python,
        };
        struct event ev;
        ev_init(&ev, EV_PACKAGES);
        ev.service = s->service;
        ev.host = s->host;
        ev.pid = s->pid;
        ev.has_ts = s->has_ts;
        ev.ts_ns = s->has_ts ? s->ts : 0;
        ev.src.stream = st->env.stream;
        ev.src.line = s->line;
        ev.u.packages = &pk;
        rc = st->env.emit(st->env.emit_ctx, &ev);
        if (rc != 0)
            st->stop = rc;
    }
    set_reset(s);
    return rc;
}

static int on_line(void *ctx, const char *line, size_t len, uint64_t lineno, bool truncated)
{
    struct pkgparse *st = ctx;
    struct linfo li;
    if (truncated) {
        diag(st, lineno, "line longer than %zu bytes cut", st->env.limits->max_line);
    }
    switch (classify_line(line, len, &li)) {
    case PL_BLANK:
    case PL_COMMENT:
        if (len >= 7 && memcmp(line, "Package", 7) == 0)
            st->text_table = true;
        return 0;
    case PL_HEADER:
        if (st->set.n > 0 && set_emit(st) != 0)
            return st->stop;
        if (st->set.line == 0)
            st->set.line = lineno;
        set_key(&st->set, li.key, li.value, li.value_len);
        return 0;
    case PL_PKG:
        if (set_add(st, li.name, li.name_len, li.version, li.version_len, lineno) != 0) {
            st->oom = true;
            return -1;
        }
        st->text_freeze |= li.freeze;
        st->set.format = st->text_freeze ? "pip_freeze" : st->text_table ? "pip_list" : "modules";
        return 0;
    case PL_OTHER:
        if (++st->diags <= PKG_DIAGS)
            diag(st, lineno, "not a package line");
        return 0;
    }
    return 0;
}

/* ---- JSON documents ---- */

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void doc_keys(struct pkgset *s, const json_t *o)
{
    static const char *const names[] = {"service", "service.name", "app", "host", "hostname", "node",
                                        "pid", "python", "python_version", "ts", "time", "timestamp"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const json_t *v = json_object_get(o, names[i]);
        char num[32];
        const char *p = NULL;
        if (json_is_string(v))
            p = json_string_value(v);
        else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            p = num;
        }
        if (p != NULL)
            set_key(s, key_of(names[i], strlen(names[i])), p, strlen(p));
    }
}

static int add_json_list(struct pkgparse *st, const json_t *v, uint64_t line, bool modules)
{
    if (json_is_object(v)) {
        const char *k;
        const json_t *ver;
        json_object_foreach((json_t *)v, k, ver) {
            /* A sys.modules collection: submodules and private modules say nothing
             * their package does not. */
            if (modules && (k[0] == '_' || strchr(k, '.') != NULL))
                continue;
            if (json_is_string(ver) && set_add(st, k, strlen(k), json_string_value(ver),
                                               strlen(json_string_value(ver)), line) != 0)
                return -1;
        }
        return 0;
    }
    size_t i;
    const json_t *e;
    json_array_foreach((json_t *)v, i, e) {
        const json_t *md = json_object_get(e, "metadata");
        const json_t *src = json_is_object(md) ? md : e;
        const char *n = jstr(src, "name"), *ver = jstr(src, "version");
        if (n != NULL && ver != NULL && set_add(st, n, strlen(n), ver, strlen(ver), line) != 0)
            return -1;
    }
    return 0;
}

static int handle_doc(struct pkgparse *st, const json_t *d, uint64_t line)
{
    const char *fmt = doc_format(d);
    if (fmt == NULL) {
        /* An array of sets: [{"host": ..., "packages": {...}}, ...]. */
        if (json_is_array(d) && json_array_size(d) > 0 && doc_format(json_array_get(d, 0)) != NULL) {
            size_t i;
            const json_t *e;
            json_array_foreach((json_t *)d, i, e)
                if (handle_doc(st, e, line) != 0)
                    return -1;
            return 0;
        }
        if (++st->diags <= PKG_DIAGS)
            diag(st, line, "a JSON document without package versions");
        return 0;
    }
    struct pkgset *s = &st->set;
    set_reset(s);
    s->format = fmt;
    s->line = line;
    int rc = 0;
    if (strcmp(fmt, "pip_list") == 0) {
        rc = add_json_list(st, d, line, false);
    } else if (strcmp(fmt, "pip_inspect") == 0) {
        const json_t *env = json_object_get(d, "environment");
        const char *node = jstr(env, "platform_node"), *py = jstr(env, "python_full_version");
        if (node != NULL)
            set_key(s, K_HOST, node, strlen(node));
        if (py != NULL)
            set_key(s, K_PYTHON, py, strlen(py));
        doc_keys(s, d);
        rc = add_json_list(st, json_object_get(d, "installed"), line, false);
    } else {
        doc_keys(s, d);
        const char *k;
        const json_t *v;
        bool found = false;
        json_object_foreach((json_t *)d, k, v) {
            if (is_pkg_key(k) && (json_is_object(v) || name_version_array(v))) {
                rc = add_json_list(st, v, line, strcmp(fmt, "modules") == 0);
                found = true;
                break;
            }
        }
        if (!found) /* a bare map is the listing itself */
            rc = add_json_list(st, d, line, true);
    }
    if (rc != 0) {
        st->oom = true;
        return -1;
    }
    if (s->line == 0)
        s->line = line;
    return set_emit(st) < 0 ? -1 : 0;
}

static int parse_json(struct pkgparse *st)
{
    size_t off = 0;
    uint64_t line = 1;
    while (off < st->jlen && st->stop == 0 && !st->oom) {
        while (off < st->jlen && (is_space(st->jbuf[off]) || st->jbuf[off] == '\n')) {
            line += st->jbuf[off] == '\n';
            off++;
        }
        if (off >= st->jlen)
            break;
        json_error_t err;
        json_t *d = json_loadb(st->jbuf + off, st->jlen - off, JSON_DISABLE_EOF_CHECK, &err);
        size_t used;
        if (d == NULL) {
            if (!(st->jcut && err.position + off >= st->jlen) && ++st->diags <= PKG_DIAGS)
                diag(st, line + (err.line > 1 ? (uint64_t)err.line - 1 : 0), "invalid JSON: %s", err.text);
            /* Go on at the next line: JSON lines recover from one bad record. */
            const char *nl = memchr(st->jbuf + off, '\n', st->jlen - off);
            used = nl ? (size_t)(nl - (st->jbuf + off)) : st->jlen - off;
        } else {
            used = err.position;
            if (handle_doc(st, d, line) != 0) {
                json_decref(d);
                return -1;
            }
            json_decref(d);
        }
        for (size_t i = 0; i < used; i++)
            line += st->jbuf[off + i] == '\n';
        off += used > 0 ? used : 1;
    }
    return st->oom ? -1 : 0;
}

static void *pkg_open(const struct parser_env *env)
{
    struct pkgparse *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->env = *env;
    linesplit_init(&st->ls, env->limits->max_line);
    arena_init(&st->set.arena, (size_t)16 << 20);
    set_reset(&st->set);
    return st;
}

static int pkg_feed(void *vst, const char *buf, size_t len)
{
    struct pkgparse *st = vst;
    if (st->stop != 0)
        return st->stop;
    if (st->mode == 0) {
        size_t i = 0;
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
            i = 3;
        while (i < len && (is_space(buf[i]) || buf[i] == '\n'))
            i++;
        if (i == len)
            return 0; /* only blanks so far: the first real byte decides */
        st->mode = buf[i] == '{' || buf[i] == '[' ? 2 : 1;
    }
    if (st->mode == 1) {
        int rc = linesplit_feed(&st->ls, buf, len, on_line, st);
        return rc < 0 || st->oom ? -1 : st->stop;
    }
    if (st->jcut)
        return 0;
    size_t room = PKG_MAX_JSON - st->jlen;
    if (len > room) {
        st->jcut = true;
        diag(st, 0, "a JSON package listing larger than %zu MiB: the rest is ignored", PKG_MAX_JSON >> 20);
        len = room;
    }
    if (st->jlen + len > st->jcap) {
        size_t nc = st->jcap ? st->jcap : 64 << 10;
        while (nc < st->jlen + len)
            nc *= 2;
        char *nb = realloc(st->jbuf, nc);
        if (nb == NULL)
            return -1;
        st->jbuf = nb;
        st->jcap = nc;
    }
    memcpy(st->jbuf + st->jlen, buf, len);
    st->jlen += len;
    return 0;
}

static int pkg_finish(void *vst)
{
    struct pkgparse *st = vst;
    if (st->stop != 0)
        return st->stop;
    if (st->mode == 1) {
        if (linesplit_finish(&st->ls, on_line, st) < 0 || st->oom)
            return -1;
        if (st->stop == 0 && set_emit(st) < 0)
            return -1;
        return st->stop;
    }
    if (st->mode == 2 && parse_json(st) != 0)
        return -1;
    return st->stop;
}

static void pkg_close(void *vst)
{
    struct pkgparse *st = vst;
    if (st == NULL)
        return;
    linesplit_free(&st->ls);
    arena_free(&st->set.arena);
    free(st->set.v);
    free(st->jbuf);
    free(st);
}

/* ---- detection ---- */

static int bid_json(const char *buf, size_t len, bool at_eof)
{
    json_error_t err;
    json_t *d = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &err);
    if (d != NULL) {
        const char *f = doc_format(d);
        if (f == NULL && json_is_array(d) && json_array_size(d) > 0)
            f = doc_format(json_array_get(d, 0));
        json_decref(d);
        return f != NULL ? 45 : 0;
    }
    if (at_eof)
        return 0;
    /* A listing longer than the window (pip inspect runs to hundreds of KiB): its
     * marks must be in the first bytes. */
    size_t n = len < 4096 ? len : 4096;
    char head[4097];
    memcpy(head, buf, n);
    head[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (head[i] == '\0')
            head[i] = ' ';
    if (strstr(head, "\"pip_version\"") != NULL && strstr(head, "\"installed\"") != NULL)
        return 45;
    return 0;
}

static int pkg_bid(const char *buf, size_t len, bool at_eof)
{
    size_t i = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (is_space(buf[i]) || buf[i] == '\n'))
        i++;
    if (i == len)
        return 0;
    if (buf[i] == '{' || buf[i] == '[')
        return bid_json(buf + i, len - i, at_eof);
    unsigned pkg = 0, other = 0, freeze = 0, headers = 0;
    while (i < len && other <= pkg / 20 + 1) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL && !at_eof)
            break; /* a line cut by the window says nothing */
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        struct linfo li;
        switch (classify_line(buf + i, n, &li)) {
        case PL_PKG:
            pkg++;
            freeze += li.freeze;
            break;
        case PL_HEADER:
            headers++;
            break;
        case PL_OTHER:
            other++;
            break;
        case PL_BLANK:
        case PL_COMMENT:
            break;
        }
        i += n + 1;
    }
    if (pkg >= 3 && other == 0)
        return 40;
    if (pkg >= 8 && other * 20 <= pkg)
        return 30;
    if (pkg >= 1 && other == 0 && at_eof && (freeze > 0 || headers > 0))
        return 30;
    return 0;
}

const struct parser parser_packages = {
    .name = "packages",
    .description = "package versions: pip freeze, pip list (text, JSON), pip inspect, importlib.metadata "
                   "dumps, sys.modules collections",
    .bid = pkg_bid,
    .open = pkg_open,
    .feed = pkg_feed,
    .finish = pkg_finish,
    .close = pkg_close,
};
