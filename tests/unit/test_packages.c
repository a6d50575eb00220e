/* test_packages.c -- package listings (parsers/packages.c), Not My Version
 * (patterns/not_my_version.c) and the gate's code locations (cmd/report_sarif.c).
 *
 * Detection: every listing format is claimed by the packages parser, and no artifact
 * of the corpus is (a false bid would turn a log into a listing). Parsing: each format
 * gives the names (PEP 503) and versions it lists, the process its header or keys
 * name, one event per set, the same whether fed whole or a byte at a time; bad lines
 * are reported and skipped. The detector: the skew and drift of tests/data/gate
 * against its MANIFEST, and what is not Not My Version (a package only one process
 * has, two services that differ, a new dependency).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include "evdoc.h"

#include "testfile.h"
#include <jansson.h>

#include "cmd/gate.h"
#include "correlate/ev_json.h"
#include "correlate/ev_packages.h"
#include "parsers/parser.h"
#include "patterns/pattern.h"

/* ---- harness ---- */

struct run {
    json_t *events;        /* ev_to_json of each event */
    unsigned diags;
    const struct pattern *nmv;
    void *st;              /* the detector, when one is running */
    bool reference;        /* mark the listings as a baseline's */
};

static int sink(void *ctx, const struct event *ev)
{
    struct run *r = ctx;
    json_array_append_new(r->events, test_event_doc(ev));
    if (r->st != NULL) {
        struct ev_packages pk;
        struct event e = *ev;
        if (r->reference && ev->kind == EV_PACKAGES) {
            pk = *ev->u.packages;
            pk.reference = true;
            e.u.packages = &pk;
        }
        assert_int_equal(r->nmv->on_event(r->st, &e), 0);
    }
    return 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)stream;
    (void)line;
    (void)reason;
    ((struct run *)ctx)->diags++;
}

/* Parse text with the packages parser, step bytes per feed (0: all at once). */
static void parse(struct run *r, const char *name, const char *text, size_t len, size_t step)
{
    const struct parser *p = parser_by_name("packages");
    assert_non_null(p);
    struct parser_env env = {
        .stream = name, .emit = sink, .emit_ctx = r, .diag = diag, .diag_ctx = r, .limits = &parse_limits_default,
    };
    void *st = p->open(&env);
    assert_non_null(st);
    if (step == 0)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step)
        assert_int_equal(p->feed(st, text + i, len - i < step ? len - i : step), 0);
    assert_int_equal(p->finish(st), 0);
    p->close(st);
}

static char *slurp(const char *path, size_t *len)
{
    char *buf = test_read_file(path, len);
    if (buf == NULL)
        fail_msg("cannot read %s", path);
    return buf;
}

static void parse_file(struct run *r, const char *path)
{
    size_t n;
    char *text = slurp(path, &n);
    parse(r, path, text, n, 0);
    free(text);
}

static void run_init(struct run *r, bool detector)
{
    memset(r, 0, sizeof(*r));
    r->events = json_array();
    if (!detector)
        return;
    for (size_t i = 0; pattern_registry[i] != NULL; i++)
        if (strcmp(pattern_registry[i]->name, "not_my_version") == 0)
            r->nmv = pattern_registry[i];
    assert_non_null(r->nmv);
}

static const char *jpath_str(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *version_of(const json_t *ev, const char *pkg)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(ev, "packages"), "packages"), pkg));
}

static const char *bid_winner(const char *text)
{
    int bid;
    const struct parser *p = parser_detect(text, strlen(text), true, &bid);
    return p ? p->name : "(none)";
}

/* ---- detection ---- */

static const char freeze[] =
    "# service: api\n"
    "# host: web-1\n"
    "# pid: 4242\n"
    "# python: 3.11.6\n"
    "# time: 2026-11-24T03:00:05Z\n"
    "certifi==2023.7.22\r\n"
    "Flask_SQLAlchemy==3.1.1\n"
    "requests[socks]==2.31.0\n"
    "legacy-thing===1.0-custom\n"
    "mylib @ file:///builds/dist/mylib-0.4.0-py3-none-any.whl\n"
    "-e git+https://git.example.com/team/tools.git@5f1c2e9#egg=team_tools\n"
    "# a comment\n"
    "\n"
    "urllib3==2.0.7\n"
    "requests==2.99.0\n";

static void test_detect(void **state)
{
    (void)state;
    assert_string_equal(bid_winner(freeze), "packages");
    assert_string_equal(bid_winner("certifi==2023.7.22\nidna==3.4\nrequests==2.31.0\n"), "packages");
    assert_string_equal(bid_winner("Package    Version\n---------- ---------\ncertifi    2023.7.22\n"
                                   "idna       3.4\nrequests   2.31.0\n"),
                        "packages");
    assert_string_equal(bid_winner("[{\"name\": \"certifi\", \"version\": \"2023.7.22\"}, "
                                   "{\"name\": \"idna\", \"version\": \"3.4\"}]"),
                        "packages");
    assert_string_equal(bid_winner("{\"version\": \"1\", \"pip_version\": \"23.3.1\", \"installed\": "
                                   "[{\"metadata\": {\"name\": \"idna\", \"version\": \"3.4\"}}], "
                                   "\"environment\": {\"platform_node\": \"web-3\"}}"),
                        "packages");
    assert_string_equal(bid_winner("{\"host\": \"a\", \"packages\": {\"idna\": \"3.4\"}}\n"
                                   "{\"host\": \"b\", \"packages\": {\"idna\": \"3.4\"}}\n"),
                        "packages");
    assert_string_equal(bid_winner("{\"requests\": \"2.31.0\", \"urllib3\": \"2.0.7\", \"os\": null, "
                                   "\"json\": \"2.0.9\"}"),
                        "packages");
    assert_string_equal(bid_winner("requests 2.31.0\nurllib3 2.0.7\nidna 3.4\n"), "packages");
    /* Not listings. */
    assert_string_equal(bid_winner("{\"level\": \"INFO\", \"message\": \"version 2.31.0 ready\", \"a\": \"1.0\"}\n"),
                        "jsonl");
    assert_string_equal(bid_winner("2026-11-24 03:22:56,548 INFO shop.http started version 2.3.1\n"
                                   "2026-11-24 03:22:57,000 INFO shop.http ready\n"),
                        "text");
    assert_string_equal(bid_winner("Starting worker 2.0\nloaded 3.1 plugins\n"), "text");
}

/* No artifact of the corpus is a package listing. */
static void no_listing_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            no_listing_in(path);
            continue;
        }
        if (strstr(path, "/gate/versions/") != NULL || strstr(path, ".pickle") != NULL)
            continue;
        size_t n;
        char *text = slurp(path, &n);
        size_t w = n < 65536 ? n : 65536;
        int bid;
        const struct parser *p = parser_detect(text, w, w == n, &bid);
        if (p != NULL && strcmp(p->name, "packages") == 0)
            fail_msg("%s is taken for a package listing", path);
        free(text);
    }
    closedir(d);
}

static void test_corpus_is_not_a_listing(void **state)
{
    (void)state;
    no_listing_in("tests/data/corpus");
    no_listing_in("tests/data/structured");
    no_listing_in("tests/data/dumps");
    no_listing_in("tests/data/memory");
}

/* ---- parsing ---- */

static void test_freeze(void **state)
{
    (void)state;
    for (size_t step = 0; step <= 1; step++) {
        struct run r;
        run_init(&r, false);
        parse(&r, "f.txt", freeze, sizeof(freeze) - 1, step);
        assert_int_equal(r.diags, 0);
        assert_int_equal(json_array_size(r.events), 1);
        const json_t *ev = json_array_get(r.events, 0);
        assert_string_equal(jpath_str(ev, "kind", NULL), "packages");
        assert_string_equal(jpath_str(ev, "service", NULL), "api");
        assert_string_equal(jpath_str(ev, "host", NULL), "web-1");
        assert_int_equal(json_integer_value(json_object_get(ev, "pid")), 4242);
        assert_string_equal(jpath_str(ev, "ts", NULL), "2026-11-24T03:00:05Z");
        assert_string_equal(jpath_str(ev, "packages", "format"), "pip_freeze");
        assert_string_equal(jpath_str(ev, "packages", "python"), "3.11.6");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "source"), "line")), 1);
        assert_string_equal(version_of(ev, "certifi"), "2023.7.22");    /* \r\n */
        assert_string_equal(version_of(ev, "flask-sqlalchemy"), "3.1.1"); /* PEP 503 */
        assert_string_equal(version_of(ev, "requests"), "2.31.0");      /* extras; the first of two */
        assert_string_equal(version_of(ev, "legacy-thing"), "1.0-custom");
        assert_string_equal(version_of(ev, "mylib"), "file:///builds/dist/mylib-0.4.0-py3-none-any.whl");
        assert_string_equal(version_of(ev, "team-tools"), "git+https://git.example.com/team/tools.git@5f1c2e9");
        assert_int_equal(json_object_size(json_object_get(json_object_get(ev, "packages"), "packages")), 7);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "packages"), "total")), 8);
        json_decref(r.events);
    }
    /* A new header after packages starts the next set; a bad line is reported. */
    static const char two[] = "# host: a\nidna==3.4\nthis is not a package\n# host: b\nidna==3.6\n";
    struct run r;
    run_init(&r, false);
    parse(&r, "two.txt", two, sizeof(two) - 1, 0);
    assert_int_equal(r.diags, 1);
    assert_int_equal(json_array_size(r.events), 2);
    assert_string_equal(jpath_str(json_array_get(r.events, 1), "host", NULL), "b");
    assert_string_equal(version_of(json_array_get(r.events, 1), "idna"), "3.6");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(r.events, 1), "source"), "line")),
                     4);
    json_decref(r.events);
    /* pip list's table and a module listing. */
    static const char table[] = "Package    Version\n---------- -------\nidna       3.4\nrequests   2.31.0\n";
    run_init(&r, false);
    parse(&r, "list.txt", table, sizeof(table) - 1, 0);
    assert_int_equal(r.diags, 0);
    assert_string_equal(jpath_str(json_array_get(r.events, 0), "packages", "format"), "pip_list");
    assert_string_equal(version_of(json_array_get(r.events, 0), "requests"), "2.31.0");
    json_decref(r.events);
    static const char mods[] = "requests: 2.31.0\nurllib3 (2.0.7)\nidna 3.4\n";
    run_init(&r, false);
    parse(&r, "mods.txt", mods, sizeof(mods) - 1, 0);
    assert_int_equal(r.diags, 0);
    assert_string_equal(jpath_str(json_array_get(r.events, 0), "packages", "format"), "modules");
    assert_string_equal(version_of(json_array_get(r.events, 0), "urllib3"), "2.0.7");
    json_decref(r.events);
}

static void test_json_forms(void **state)
{
    (void)state;
    static const char inspect[] =
        "{\n  \"version\": \"1\",\n  \"pip_version\": \"23.3.1\",\n  \"installed\": [\n"
        "    {\"metadata\": {\"name\": \"Requests\", \"version\": \"2.31.0\"}, \"installer\": \"pip\"},\n"
        "    {\"metadata\": {\"name\": \"idna\", \"version\": \"3.4\"}}\n  ],\n"
        "  \"environment\": {\"platform_node\": \"web-3\", \"python_full_version\": \"3.12.1\"}\n}\n";
    static const char modules[] =
        "{\"service\": \"api\", \"pid\": 7, \"modules\": {\"requests\": \"2.31.0\", \"requests.adapters\": \"2.31.0\", "
        "\"_decimal\": \"1.70\", \"decimal\": \"1.70\", \"os\": null}}";
    static const char bare[] = "{\"requests\": \"2.31.0\", \"urllib3\": \"2.0.7\", \"os\": null, \"idna\": \"3.4\"}";
    static const char lines[] =
        "{\"host\": \"a\", \"packages\": [{\"name\": \"idna\", \"version\": \"3.4\"}]}\n"
        "{\"host\": \"b\", \"packages\": {\"idna\": \n"
        "{\"host\": \"c\", \"distributions\": {\"idna\": \"3.6\"}}\n";
    static const char sets[] = "[{\"host\": \"a\", \"packages\": {\"idna\": \"3.4\"}}, "
                               "{\"host\": \"b\", \"packages\": {\"idna\": \"3.6\"}}]";
    for (size_t step = 0; step <= 1; step++) {
        struct run r;
        run_init(&r, false);
        parse(&r, "inspect.json", inspect, sizeof(inspect) - 1, step);
        assert_int_equal(json_array_size(r.events), 1);
        const json_t *ev = json_array_get(r.events, 0);
        assert_string_equal(jpath_str(ev, "packages", "format"), "pip_inspect");
        assert_string_equal(jpath_str(ev, "host", NULL), "web-3");
        assert_string_equal(jpath_str(ev, "packages", "python"), "3.12.1");
        assert_string_equal(version_of(ev, "requests"), "2.31.0");
        json_decref(r.events);

        run_init(&r, false);
        parse(&r, "modules.json", modules, sizeof(modules) - 1, step);
        ev = json_array_get(r.events, 0);
        assert_string_equal(jpath_str(ev, "packages", "format"), "modules");
        assert_string_equal(jpath_str(ev, "service", NULL), "api");
        assert_int_equal(json_integer_value(json_object_get(ev, "pid")), 7);
        /* Submodules and private modules say nothing their package does not. */
        assert_int_equal(json_object_size(json_object_get(json_object_get(ev, "packages"), "packages")), 2);
        json_decref(r.events);

        run_init(&r, false);
        parse(&r, "bare.json", bare, sizeof(bare) - 1, step);
        assert_int_equal(json_object_size(json_object_get(json_object_get(json_array_get(r.events, 0), "packages"),
                                                          "packages")),
                         3);
        json_decref(r.events);

        /* JSON lines: a broken record is reported, the next one read. */
        run_init(&r, false);
        parse(&r, "lines.jsonl", lines, sizeof(lines) - 1, step);
        assert_int_equal(r.diags, 1);
        assert_int_equal(json_array_size(r.events), 2);
        assert_string_equal(jpath_str(json_array_get(r.events, 1), "host", NULL), "c");
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(json_array_get(r.events, 1), "source"), "line")), 3);
        json_decref(r.events);

        run_init(&r, false);
        parse(&r, "sets.json", sets, sizeof(sets) - 1, step);
        assert_int_equal(json_array_size(r.events), 2);
        json_decref(r.events);
    }
}

/* ---- Not My Version ---- */

struct finding_view {
    const char *kind, *package, *service;
    json_t *evidence;
    uint64_t count;
};

static size_t findings(struct finding_store *s, struct finding_view *out, size_t max)
{
    size_t n;
    struct finding **f = finding_store_sorted(s, &n);
    for (size_t i = 0; i < n && i < max; i++) {
        out[i].evidence = f[i]->evidence;
        out[i].kind = json_string_value(json_object_get(f[i]->evidence, "kind"));
        out[i].package = json_string_value(json_object_get(f[i]->evidence, "package"));
        out[i].service = f[i]->service;
        out[i].count = f[i]->count;
        assert_string_equal(f[i]->pattern, "not_my_version");
    }
    return n;
}

static json_t *manifest(void)
{
    json_error_t e;
    json_t *m = json_load_file("tests/data/gate/MANIFEST.json", 0, &e);
    if (m == NULL)
        fail_msg("MANIFEST: %s", e.text);
    return m;
}

static struct finding_store *detect(struct run *r, const char *const *ref, const char *const *paths)
{
    struct finding_store *s = finding_store_create(0);
    struct pat_config cfg;
    assert_int_equal(pattern_config_defaults(r->nmv, &cfg), 0);
    r->st = r->nmv->create(&cfg, s);
    assert_non_null(r->st);
    r->reference = true;
    for (size_t i = 0; ref != NULL && ref[i] != NULL; i++)
        parse_file(r, ref[i]);
    r->reference = false;
    for (size_t i = 0; paths[i] != NULL; i++)
        parse_file(r, paths[i]);
    assert_int_equal(r->nmv->flush(r->st), 0);
    r->nmv->destroy(r->st);
    r->st = NULL;
    return s;
}

static void test_skew_and_drift(void **state)
{
    (void)state;
    json_t *m = manifest();
    const char *skew[] = {"tests/data/gate/versions/skew/web-1.pip-freeze.txt",
                          "tests/data/gate/versions/skew/web-2.pip-freeze.txt",
                          "tests/data/gate/versions/workers.importlib.jsonl", NULL};
    const char *control[] = {"tests/data/gate/versions/control/web-1.pip-freeze.txt",
                             "tests/data/gate/versions/control/web-2.pip-freeze.txt",
                             "tests/data/gate/versions/workers.importlib.jsonl", NULL};
    struct run r;
    struct finding_view fv[32];

    /* Control: nothing. */
    run_init(&r, true);
    struct finding_store *s = detect(&r, NULL, control);
    assert_int_equal(findings(s, fv, 32), json_array_size(json_object_get(json_object_get(m, "expected"), "control")));
    finding_store_destroy(s);
    json_decref(r.events);

    /* Skew: each expected package with its versions and hosts. */
    run_init(&r, true);
    s = detect(&r, NULL, skew);
    const json_t *want = json_object_get(json_object_get(m, "expected"), "skew");
    size_t n = findings(s, fv, 32);
    assert_int_equal(n, json_array_size(want));
    size_t i;
    const json_t *w;
    json_array_foreach(want, i, w) {
        const char *pkg = json_string_value(json_object_get(w, "package"));
        size_t k = 0;
        while (k < n && strcmp(fv[k].package, pkg) != 0)
            k++;
        if (k == n)
            fail_msg("no skew finding for %s", pkg);
        assert_string_equal(fv[k].kind, "skew");
        assert_string_equal(fv[k].service, json_string_value(json_object_get(w, "service")));
        const json_t *vers = json_object_get(fv[k].evidence, "versions");
        assert_int_equal(json_array_size(vers), json_object_size(json_object_get(w, "versions")));
        size_t j;
        const json_t *v;
        json_array_foreach(vers, j, v) {
            const json_t *hosts = json_object_get(json_object_get(w, "versions"), json_string_value(json_object_get(v, "version")));
            assert_non_null(hosts);
            const json_t *procs = json_object_get(v, "processes");
            assert_int_equal(json_array_size(procs), json_array_size(hosts));
            assert_string_equal(json_string_value(json_object_get(json_array_get(procs, 0), "host")),
                                json_string_value(json_array_get(hosts, 0)));
        }
    }
    finding_store_destroy(s);
    json_decref(r.events);

    /* Drift: the control listings as the baseline's reference. */
    run_init(&r, true);
    s = detect(&r, control, skew);
    const json_t *drift = json_object_get(json_object_get(json_object_get(m, "expected"), "skew_with_control_as_baseline"),
                                          "drift");
    n = findings(s, fv, 32);
    size_t ndrift = 0;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(fv[k].kind, "drift") != 0)
            continue;
        ndrift++;
        bool found = false;
        json_array_foreach(drift, i, w) {
            if (strcmp(json_string_value(json_object_get(w, "package")), fv[k].package) != 0)
                continue;
            found = true;
            const json_t *vers = json_object_get(fv[k].evidence, "versions");
            /* The run's versions, the baseline's among them too. */
            bool has = false;
            for (size_t j = 0; j < json_array_size(vers); j++)
                has |= strcmp(json_string_value(json_object_get(json_array_get(vers, j), "version")),
                              json_string_value(json_object_get(w, "version"))) == 0;
            assert_true(has);
            assert_true(json_equal(json_object_get(fv[k].evidence, "baseline_versions"),
                                   json_object_get(w, "baseline_versions")));
            /* Its occurrences are the hosts that run the new version (MANIFEST skew). */
            size_t si;
            const json_t *sw;
            json_array_foreach(json_object_get(json_object_get(m, "expected"), "skew"), si, sw) {
                if (strcmp(json_string_value(json_object_get(sw, "package")), fv[k].package) == 0)
                    assert_int_equal(fv[k].count,
                                     json_array_size(json_object_get(json_object_get(sw, "versions"),
                                                                     json_string_value(json_object_get(w, "version")))));
            }
        }
        if (!found)
            fail_msg("unexpected drift of %s", fv[k].package);
    }
    assert_int_equal(ndrift, json_array_size(drift));
    finding_store_destroy(s);
    json_decref(r.events);
    json_decref(m);
}

static void test_not_my_version_is_not(void **state)
{
    (void)state;
    /* A package one host lacks, two services that differ, a new dependency: none of
     * these is a version mismatch. */
    static const char a[] = "# service: api\n# host: a\nidna==3.4\nrequests==2.31.0\n";
    static const char b[] = "# service: api\n# host: b\nidna==3.4\nrequests==2.31.0\nsentry-sdk==1.39.1\n";
    static const char c[] = "# service: batch\n# host: c\nidna==3.6\nrequests==2.28.2\n";
    struct run r;
    run_init(&r, true);
    struct finding_store *s = finding_store_create(0);
    struct pat_config cfg;
    assert_int_equal(pattern_config_defaults(r.nmv, &cfg), 0);
    r.st = r.nmv->create(&cfg, s);
    r.reference = true;
    parse(&r, "base-a.txt", a, sizeof(a) - 1, 0);
    r.reference = false;
    parse(&r, "a.txt", a, sizeof(a) - 1, 0);
    parse(&r, "b.txt", b, sizeof(b) - 1, 0);
    parse(&r, "c.txt", c, sizeof(c) - 1, 0);
    /* A later listing of the same process replaces the first. */
    parse(&r, "a-again.txt", a, sizeof(a) - 1, 0);
    assert_int_equal(r.nmv->flush(r.st), 0);
    r.nmv->destroy(r.st);
    assert_int_equal(finding_store_count(s), 0);
    finding_store_destroy(s);
    json_decref(r.events);

    /* Unnamed processes (no header) are told apart by their streams. */
    static const char x[] = "idna==3.4\nrequests==2.31.0\ncertifi==2023.7.22\n";
    static const char y[] = "idna==3.4\nrequests==2.32.3\ncertifi==2023.7.22\n";
    run_init(&r, true);
    s = finding_store_create(0);
    r.st = r.nmv->create(&cfg, s);
    parse(&r, "x/pip-freeze.txt", x, sizeof(x) - 1, 0);
    parse(&r, "y/pip-freeze.txt", y, sizeof(y) - 1, 0);
    assert_int_equal(r.nmv->flush(r.st), 0);
    r.nmv->destroy(r.st);
    size_t n;
    struct finding **f = finding_store_sorted(s, &n);
    assert_int_equal(n, 1);
    assert_string_equal(f[0]->title, "processes run 2 versions of requests: 2.31.0 (x/pip-freeze.txt), "
                                     "2.32.3 (y/pip-freeze.txt)");
    assert_int_equal(f[0]->severity, SEV_MEDIUM);
    assert_int_equal(f[0]->count, 2);
    finding_store_destroy(s);
    json_decref(r.events);
}

static void test_normalize(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(ev_package_normalize("Flask_SQLAlchemy", 16, out, sizeof(out)), 16);
    assert_string_equal(out, "flask-sqlalchemy");
    ev_package_normalize("zope..interface", 15, out, sizeof(out));
    assert_string_equal(out, "zope-interface");
    ev_package_normalize("_private", 8, out, sizeof(out));
    assert_string_equal(out, "private");
    ev_package_normalize("abcdefgh", 8, out, 4);
    assert_string_equal(out, "abc");
}

/* ---- the gate's code locations ---- */

static void test_code_location(void **state)
{
    (void)state;
    char file[256];
    uint32_t line;
    json_t *e = json_pack("{s:s}", "origin_frame", "/opt/app/svc/order_api.py:55 charge");
    assert_true(gate_code_location(e, file, sizeof(file), &line));
    assert_string_equal(file, "/opt/app/svc/order_api.py");
    assert_int_equal(line, 55);
    json_decref(e);
    e = json_pack("{s:s}", "origin_frame", "C:\\app\\x.py:7 <module>");
    assert_true(gate_code_location(e, file, sizeof(file), &line));
    assert_string_equal(file, "C:\\app\\x.py");
    assert_int_equal(line, 7);
    json_decref(e);
    e = json_pack("{s:[{s:s},{s:s}]}", "threads", "name", "idle", "frame", "/srv/lock.py:25 take");
    assert_true(gate_code_location(e, file, sizeof(file), &line));
    assert_string_equal(file, "/srv/lock.py");
    assert_int_equal(line, 25);
    json_decref(e);
    e = json_pack("{s:[{s:s,s:i}]}", "sites", "file", "/srv/cache.py", "line", 88);
    assert_true(gate_code_location(e, file, sizeof(file), &line));
    assert_int_equal(line, 88);
    json_decref(e);
    e = json_pack("{s:s,s:[{s:s,s:i}]}", "origin_frame", "<string>", "sites", "file", "dict", "line", 0);
    assert_false(gate_code_location(e, file, sizeof(file), &line)); /* no line anywhere */
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_corpus_is_not_a_listing),
        cmocka_unit_test(test_freeze),
        cmocka_unit_test(test_json_forms),
        cmocka_unit_test(test_skew_and_drift),
        cmocka_unit_test(test_not_my_version_is_not),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_code_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
