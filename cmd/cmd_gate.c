/* cmd_gate.c -- `pycorr gate`: the CI artifact gate.
 *
 * The run is ingest's (the same pipeline, detectors and rules), compared with a
 * baseline when one is given: findings whose stable id the baseline holds are known
 * and never fail the gate; baseline findings gone from this run are fixed (or
 * unchecked, when this run read nothing that could show them). The gate fails (exit 1)
 * on new findings at or above --fail-on (high); an input that cannot be read at all
 * is exit 3, an output that cannot be written exit 4. The report goes to stdout (or
 * -o) in --format; --sarif, --junit and --markdown write more formats in the same
 * run; --write-baseline leaves the baseline for the next. The verdict, and why, is
 * always the last line on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../correlate/ev_memory.h"
#include "../rules/rules.h"
#include "../correlate/ev_json.h"
#include "jsonout.h"
#include "analysis.h"
#include "baseline.h"
#include "commands.h"
#include "gate.h"
#include "pipeline.h"
#include "report.h"
#include "termsafe.h"
#include "version.h"

const char *gate_state_name(enum gate_state s)
{
    switch (s) {
    case GATE_NEW: return "new";
    case GATE_KNOWN: return "known";
    case GATE_FIXED: return "fixed";
    case GATE_UNCHECKED: return "unchecked";
    }
    return "new";
}

static bool want_color(const struct cli *cli, FILE *out)
{
    if (cli->color == COLOR_ALWAYS)
        return true;
    if (cli->color == COLOR_NEVER)
        return false;
    const char *nc = getenv("NO_COLOR");
    if (nc != NULL && nc[0] != '\0')
        return false;
    return isatty(fileno(out));
}

/* ---- references from the baseline ---- */

/* The baseline's package listings go to the detectors before this run's inputs,
 * marked as the reference (not_my_version compares the run's versions with them).
 * They bypass the run observer: they are not what this run read. */
static void hand_over_packages(struct analysis *an, const struct baseline *bl)
{
    const struct event *const *ev;
    size_t n = baseline_packages(bl, &ev);
    for (size_t i = 0; i < n; i++) {
        struct event e = *ev[i];
        e.has_ts = false; /* the previous run's time must not move this run's clock */
        e.ts_ns = 0;
        analysis_sink(an, &e);
    }
}

/* The baseline's memory snapshots are the reference object_distribution_anomaly
 * compares this run with (DESIGN §4: its evidence.baseline says "baseline run"). They
 * go the same way as the package listings: before the run's inputs, each a copy
 * marked reference (ev_snapshot.reference), which the detector files as its baseline
 * and the other memory detectors leave alone. Returns how many were handed over. */
static size_t hand_over_snapshots(struct analysis *an, const struct baseline *bl)
{
    const struct event *const *ev;
    size_t n = baseline_snapshots(bl, &ev), k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ev_snapshot *s = ev_snapshot_of(ev[i]);
        if (s == NULL)
            continue; /* one too big to keep */
        struct ev_snapshot ref = *s;
        ref.reference = true;
        struct event e = *ev[i];
        e.u.snap = &ref;
        e.has_ts = false;
        e.ts_ns = 0;
        analysis_sink(an, &e);
        k++;
    }
    return k;
}

/* ---- the verdict ---- */

static int cmp_items(const void *x, const void *y)
{
    const struct gate_item *a = x, *b = y;
    if (a->state != b->state)
        return (int)a->state - (int)b->state;
    if (a->severity != b->severity)
        return (int)b->severity - (int)a->severity;
    return (a->count < b->count) - (a->count > b->count);
}

static void result_free(struct gate_result *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->items[i].file);
    free(g->items);
    g->items = NULL;
    g->n = 0;
}

static void set_location(struct gate_item *it, const json_t *evidence)
{
    char file[1024];
    uint32_t line;
    if (gate_code_location(evidence, file, sizeof(file), &line)) {
        it->file = strdup(file);
        it->line = line;
    }
}

static int build_result(struct gate_result *g, struct finding **f, size_t n, struct baseline *bl,
                        struct finding_store *store, const struct run_observer *obs, enum severity fail_on)
{
    size_t nb = bl != NULL ? baseline_count(bl) : 0;
    g->items = calloc(n + nb + 1, sizeof(*g->items));
    if (g->items == NULL)
        return -1;
    g->fail_on = fail_on;
    g->has_baseline = bl != NULL;
    for (size_t i = 0; i < n; i++) {
        struct gate_item *it = &g->items[g->n++];
        struct baseline_finding *b = bl != NULL ? baseline_find(bl, f[i]->id) : NULL;
        if (b != NULL)
            b->seen = true;
        it->state = b != NULL ? GATE_KNOWN : GATE_NEW;
        it->fails = b == NULL && f[i]->severity >= fail_on;
        it->id = f[i]->id;
        it->pattern = f[i]->pattern;
        it->rule = f[i]->rule;
        it->title = f[i]->title;
        it->service = f[i]->service;
        it->severity = f[i]->severity;
        it->count = f[i]->count;
        it->f = f[i];
        if (f[i]->nsources > 0) {
            it->stream = f[i]->sources[0].stream;
            it->stream_line = f[i]->sources[0].line;
        }
        set_location(it, f[i]->evidence);
    }
    for (size_t i = 0; i < nb; i++) {
        struct baseline_finding *b = baseline_get(bl, i);
        /* Still there, only not reported on its own (folded into a cascade,
         * suppressed): not fixed. */
        if (b->seen || finding_store_touch(store, b->id, NULL) != NULL)
            continue;
        struct gate_item *it = &g->items[g->n++];
        it->state = observer_covers(obs, b->kinds, b->service) ? GATE_FIXED : GATE_UNCHECKED;
        it->id = b->id;
        it->pattern = b->pattern;
        it->rule = b->rule;
        it->title = b->title;
        it->service = b->service;
        it->severity = b->severity;
        it->count = b->count;
        it->stream = b->stream;
        it->stream_line = b->stream_line;
        if (b->file != NULL) {
            it->file = strdup(b->file);
            it->line = b->line;
        }
    }
    qsort(g->items, g->n, sizeof(*g->items), cmp_items);
    for (size_t i = 0; i < g->n; i++) {
        const struct gate_item *it = &g->items[i];
        g->nnew += it->state == GATE_NEW;
        g->nknown += it->state == GATE_KNOWN;
        g->nfixed += it->state == GATE_FIXED;
        g->nunchecked += it->state == GATE_UNCHECKED;
        g->nfailing += it->fails;
    }
    return 0;
}

struct vbuf {
    char *p;
    size_t cap, len;
};

static void vput(struct vbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vput(struct vbuf *b, const char *fmt, ...)
{
    if (b->len >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len = w < 0 ? b->cap : b->len + (size_t)w;
}

/* "2 new high findings (memory_leak, deadlock); 1 known, 1 fixed" and the like. */
static void make_verdict(struct gate_result *g, uint64_t unreadable, const char *problem)
{
    struct vbuf b = {g->verdict, sizeof(g->verdict), 0};
    bool failed = g->nfailing > 0 || unreadable > 0 || problem != NULL;
    vput(&b, "gate %s: ", failed ? "failed" : "passed");
    bool any = false;
    if (unreadable > 0) {
        vput(&b, "%llu input%s could not be read", (unsigned long long)unreadable, unreadable == 1 ? "" : "s");
        any = true;
    }
    if (problem != NULL) { /* an output not written, memory that ran out */
        vput(&b, "%s%s", any ? ", " : "", problem);
        any = true;
    }
    if (g->nfailing > 0) {
        /* By severity: "1 new critical and 2 new high findings". */
        size_t by[SEV_CRITICAL + 1] = {0};
        for (size_t i = 0; i < g->n; i++)
            if (g->items[i].fails)
                by[g->items[i].severity]++;
        int parts = 0;
        for (int s = SEV_CRITICAL; s >= SEV_INFO; s--)
            parts += by[s] > 0;
        int done = 0;
        vput(&b, "%s", any ? ", " : "");
        for (int s = SEV_CRITICAL; s >= SEV_INFO; s--) {
            if (by[s] == 0)
                continue;
            done++;
            vput(&b, "%s%zu new %s", done == 1 ? "" : done == parts ? " and " : ", ", by[s],
                 severity_name((enum severity)s));
        }
        vput(&b, " finding%s (", g->nfailing == 1 ? "" : "s");
        /* The patterns, most severe first, each once. */
        size_t named = 0;
        for (size_t i = 0; i < g->n; i++) {
            if (!g->items[i].fails)
                continue;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = g->items[j].fails && strcmp(g->items[j].pattern, g->items[i].pattern) == 0;
            if (seen)
                continue;
            if (named == 5) {
                vput(&b, ", ...");
                break;
            }
            vput(&b, "%s%s", named++ ? ", " : "", g->items[i].pattern);
        }
        vput(&b, ")");
        any = true;
    }
    if (!failed)
        vput(&b, "no new findings at or above %s", severity_name(g->fail_on));
    size_t below = g->nnew - g->nfailing;
    if (g->has_baseline) {
        vput(&b, "; %zu known, %zu fixed", g->nknown, g->nfixed);
        if (g->nunchecked > 0)
            vput(&b, ", %zu unchecked", g->nunchecked);
        if (below > 0)
            vput(&b, ", %zu new below %s", below, severity_name(g->fail_on));
    } else {
        if (below > 0)
            vput(&b, "; %zu finding%s below %s", below, below == 1 ? "" : "s", severity_name(g->fail_on));
        vput(&b, "; no baseline");
    }
}

/* ---- text and JSON reports ---- */

static void text_gone(FILE *out, const struct gate_item *it)
{
    char sev[16];
    const char *s = severity_name(it->severity);
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof(sev); i++)
        sev[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    sev[i] = '\0';
    /* From a baseline file: text from the input once, so escaped as it is (termsafe.h). */
    fprintf(out, "%-8s ", sev);
    termsafe_fputs(it->pattern, out);
    fputs("  ", out);
    termsafe_fputs(it->title ? it->title : "", out);
    fprintf(out, "\n         ");
    if (it->service) {
        fputs("service ", out);
        termsafe_fputs(it->service, out);
        fputs("  ", out);
    }
    if (it->file) {
        fputs("at ", out);
        termsafe_fputs(it->file, out);
        fprintf(out, ":%u  ", it->line);
    }
    fputs("id ", out);
    termsafe_fputs(it->id, out);
    fputs("\n\n", out);
}

static void write_text(FILE *out, bool color, const struct gate_result *g, const struct baseline *bl)
{
    const struct run_stats *s = g->stats;
    fprintf(out, "pycorr gate: %zu finding%s from %llu input%s (%llu records, %llu tracebacks", g->nnew + g->nknown,
            g->nnew + g->nknown == 1 ? "" : "s", (unsigned long long)s->inputs, s->inputs == 1 ? "" : "s",
            (unsigned long long)s->events, (unsigned long long)s->exceptions);
    if (s->malformed)
        fprintf(out, ", %llu malformed", (unsigned long long)s->malformed);
    if (s->unreadable)
        fprintf(out, ", %llu unreadable", (unsigned long long)s->unreadable);
    if (g->suppressed)
        fprintf(out, ", %zu suppressed", g->suppressed);
    fprintf(out, ")");
    if (g->has_baseline) {
        size_t files, arts;
        baseline_sources(bl, &files, &arts);
        fprintf(out, ": %zu new, %zu known; %zu fixed since the baseline (%zu finding%s", g->nnew, g->nknown,
                g->nfixed, baseline_count(bl), baseline_count(bl) == 1 ? "" : "s");
        if (files)
            fprintf(out, " from %zu baseline file%s", files, files == 1 ? "" : "s");
        if (arts)
            fprintf(out, "%s %zu artifact path%s", files ? " and" : " from", arts, arts == 1 ? "" : "s");
        fprintf(out, ")");
    }
    fprintf(out, "\n%s\n", g->verdict);
    static const char *const heads[] = {
        "NEW", "KNOWN (in the baseline)", "FIXED (in the baseline, gone from this run)",
        "UNCHECKED (in the baseline; this run read no artifacts that could show them)",
    };
    for (int st = GATE_NEW; st <= GATE_UNCHECKED; st++) {
        size_t k = 0;
        for (size_t i = 0; i < g->n; i++)
            k += g->items[i].state == (enum gate_state)st;
        if (k == 0 || (!g->has_baseline && st != GATE_NEW))
            continue;
        if (g->has_baseline)
            fprintf(out, "\n== %s: %zu\n\n", heads[st], k);
        else
            fputc('\n', out);
        for (size_t i = 0; i < g->n; i++) {
            const struct gate_item *it = &g->items[i];
            if (it->state != (enum gate_state)st)
                continue;
            if (it->f != NULL)
                report_text_finding(out, color, it->f);
            else
                text_gone(out, it);
        }
    }
}

static json_t *gone_json(const struct gate_item *it)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(it->id));
    json_object_set_new(o, "pattern", ev_json_cstr(it->pattern));
    if (it->rule)
        json_object_set_new(o, "rule", ev_json_cstr(it->rule));
    json_object_set_new(o, "severity", json_string(severity_name(it->severity)));
    if (it->title)
        json_object_set_new(o, "title", ev_json_cstr(it->title));
    json_object_set_new(o, "service", it->service ? ev_json_cstr(it->service) : json_null());
    json_object_set_new(o, "count", json_integer((json_int_t)it->count));
    json_object_set_new(o, "baseline_state", json_string(gate_state_name(it->state)));
    return o;
}

static json_t *finding_json(const struct gate_item *it)
{
    json_t *o = finding_to_json(it->f);
    if (o != NULL)
        json_object_set_new(o, "baseline_state", json_string(gate_state_name(it->state)));
    return o;
}

static int write_json(FILE *out, enum out_format fmt, const struct gate_result *g, const struct baseline *bl,
                      size_t snapshots_used)
{
    if (fmt == FMT_JSONL) {
        for (size_t i = 0; i < g->n; i++) {
            if (g->items[i].f == NULL)
                continue;
            json_t *j = finding_json(&g->items[i]);
            if (j == NULL || jsonout_write(out, j, JSON_COMPACT, true) != 0) {
                json_decref(j);
                return -1;
            }
            json_decref(j);
        }
        return 0;
    }
    const struct run_stats *s = g->stats;
    json_t *doc = json_object(), *v = json_object(), *sum = json_object();
    json_t *fa = json_array(), *fixed = json_array(), *unch = json_array();
    json_object_set_new(doc, "pycorr", json_string(PYCORR_VERSION));
    json_object_set_new(doc, "command", json_string("gate"));
    json_object_set_new(v, "passed", json_boolean(g->exit_code == EXIT_OK));
    json_object_set_new(v, "exit_code", json_integer(g->exit_code));
    json_object_set_new(v, "text", ev_json_cstr(g->verdict));
    json_object_set_new(v, "fail_on", json_string(severity_name(g->fail_on)));
    json_object_set_new(v, "failing", json_integer((json_int_t)g->nfailing));
    json_object_set_new(v, "new", json_integer((json_int_t)g->nnew));
    json_object_set_new(v, "known", json_integer((json_int_t)g->nknown));
    json_object_set_new(v, "fixed", json_integer((json_int_t)g->nfixed));
    json_object_set_new(v, "unchecked", json_integer((json_int_t)g->nunchecked));
    json_object_set_new(doc, "verdict", v);
    json_object_set_new(sum, "inputs", json_integer((json_int_t)s->inputs));
    json_object_set_new(sum, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(sum, "records", json_integer((json_int_t)s->events));
    json_object_set_new(sum, "tracebacks", json_integer((json_int_t)s->exceptions));
    json_object_set_new(sum, "malformed", json_integer((json_int_t)s->malformed));
    json_object_set_new(sum, "unreadable", json_integer((json_int_t)s->unreadable));
    json_object_set_new(sum, "findings", json_integer((json_int_t)(g->nnew + g->nknown)));
    json_object_set_new(sum, "folded_findings", json_integer((json_int_t)g->folded));
    json_object_set_new(sum, "suppressed_findings", json_integer((json_int_t)g->suppressed));
    json_object_set_new(doc, "summary", sum);
    if (g->has_baseline) {
        json_t *b = json_object();
        size_t files, arts;
        const struct event *const *ev;
        baseline_sources(bl, &files, &arts);
        json_object_set_new(b, "files", json_integer((json_int_t)files));
        json_object_set_new(b, "artifact_paths", json_integer((json_int_t)arts));
        json_object_set_new(b, "findings", json_integer((json_int_t)baseline_count(bl)));
        json_object_set_new(b, "package_listings", json_integer((json_int_t)baseline_packages(bl, &ev)));
        json_object_set_new(b, "memory_snapshots", json_integer((json_int_t)baseline_snapshots(bl, &ev)));
        json_object_set_new(b, "memory_snapshots_used", json_integer((json_int_t)snapshots_used));
        json_object_set_new(doc, "baseline", b);
    }
    for (size_t i = 0; i < g->n; i++) {
        const struct gate_item *it = &g->items[i];
        if (it->f != NULL)
            json_array_append_new(fa, finding_json(it));
        else
            json_array_append_new(it->state == GATE_FIXED ? fixed : unch, gone_json(it));
    }
    json_object_set_new(doc, "findings", fa);
    json_object_set_new(doc, "fixed", fixed);
    json_object_set_new(doc, "unchecked", unch);
    int rc = json_dumpf(doc, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(doc);
    return rc == 0 ? 0 : -1;
}

/* ---- outputs ---- */

struct extra_out {
    const char *path;
    const char *what;       /* "SARIF", "JUnit", "Markdown", "baseline" */
    enum out_format fmt;    /* FMT_TEXT for the baseline file */
    FILE *fp;
    char *tmp;              /* written here, renamed to path when complete */
};

/* Open an output: "-" is stdout; a regular file (or none yet) is written beside its
 * path and renamed over it at the end, so a half-written report never replaces a good
 * one and --write-baseline may name the --baseline it reads; anything else (a FIFO,
 * /dev/stdout) is opened as it is. */
static int extra_open(struct extra_out *x)
{
    if (strcmp(x->path, "-") == 0) {
        x->fp = stdout;
        return 0;
    }
    struct stat st;
    if (stat(x->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        x->fp = fopen(x->path, "w");
        return x->fp != NULL ? 0 : -1;
    }
    size_t n = strlen(x->path) + 40;
    if ((x->tmp = malloc(n)) == NULL)
        return -1;
    snprintf(x->tmp, n, "%s.pycorr-tmp.%ld", x->path, (long)getpid());
    x->fp = fopen(x->tmp, "w");
    return x->fp != NULL ? 0 : -1;
}

/* Close it: 0, or -1 with errno (the temporary file is removed then). */
static int extra_close(struct extra_out *x, bool ok)
{
    int rc = 0;
    if (x->fp != NULL && x->fp != stdout && fclose(x->fp) != 0)
        rc = -1;
    x->fp = NULL;
    if (x->tmp != NULL) {
        int saved = errno;
        if (ok && rc == 0 && rename(x->tmp, x->path) != 0)
            rc = -1;
        saved = rc != 0 ? errno : saved;
        if (!ok || rc != 0)
            unlink(x->tmp);
        free(x->tmp);
        x->tmp = NULL;
        errno = saved;
    }
    return rc;
}

static int write_format(FILE *out, enum out_format fmt, const struct gate_result *g, const struct cli *cli,
                        const struct baseline *bl, size_t snapshots_used)
{
    switch (fmt) {
    case FMT_SARIF: return gate_write_sarif(out, g);
    case FMT_JUNIT: return gate_write_junit(out, g);
    case FMT_MARKDOWN: return gate_write_markdown(out, g);
    case FMT_JSON:
    case FMT_JSONL: return write_json(out, fmt, g, bl, snapshots_used);
    case FMT_TEXT: write_text(out, want_color(cli, out), g, bl); return 0;
    }
    return 0;
}

int cmd_gate(const struct cli *cli, FILE *out)
{
    char err[1024];
    int code = EXIT_OK;
    struct ruleset *rs = analysis_load_rules(cli, err, sizeof(err));
    if (rs == NULL) {
        fprintf(stderr, "pycorr: error: %s\n", err);
        fprintf(stderr, "pycorr: gate failed: the rules could not be loaded\n");
        return EXIT_USAGE;
    }
    /* Outputs are opened first: a path that cannot be written fails before the work. */
    struct extra_out xo[] = {
        {cli->sarif_out, "SARIF", FMT_SARIF, NULL},
        {cli->junit_out, "JUnit", FMT_JUNIT, NULL},
        {cli->markdown_out, "Markdown", FMT_MARKDOWN, NULL},
        {cli->write_baseline, "baseline", FMT_TEXT, NULL},
    };
    const size_t nxo = sizeof(xo) / sizeof(xo[0]);
    struct baseline *bl = NULL;
    struct analysis *an = NULL;
    struct run_observer obs;
    struct gate_result g = {0};
    bool obs_used = false;
    for (size_t i = 0; i < nxo; i++) {
        if (xo[i].path == NULL)
            continue;
        if (extra_open(&xo[i]) != 0) {
            fprintf(stderr, "pycorr: error: cannot open %s for writing: %s\n", xo[i].path, strerror(errno));
            fprintf(stderr, "pycorr: gate failed: the %s output could not be written\n", xo[i].what);
            code = EXIT_OUTPUT;
            goto done;
        }
    }

    if (cli->nbaselines > 0) {
        if ((bl = baseline_create()) == NULL)
            goto oom;
        int rc = baseline_load(bl, cli, rs, err, sizeof(err));
        if (rc < 0)
            goto oom;
        if (rc != EXIT_OK) {
            fprintf(stderr, "pycorr: error: %s\n", err);
            fprintf(stderr, "pycorr: gate failed: the baseline could not be read\n");
            code = rc;
            goto done;
        }
    }
    if ((an = analysis_create(cli, rs, err, sizeof(err))) == NULL) {
        fprintf(stderr, "pycorr: error: %s\n", err);
        code = EXIT_USAGE;
        goto done;
    }
    observer_init(&obs, analysis_sink, an, false);
    obs_used = true;
    size_t snapshots_used = 0;
    if (bl != NULL) {
        hand_over_packages(an, bl);
        snapshots_used = hand_over_snapshots(an, bl);
    }
    struct pipeline pl = {.cli = cli, .progress = pipeline_wants_progress(cli)};
    pl.sink = observer_sink;
    pl.sink_ctx = &obs;
    int rc = pipeline_run(&pl);
    analysis_flush(an);
    if (analysis_lost_events(an))
        fprintf(stderr, "pycorr: warning: memory ran short; some events were not analyzed\n");
    size_t n;
    struct analysis_counts counts;
    struct finding **f = analysis_findings(an, &n, &counts);
    for (size_t i = 0; i < counts.nexpired && !cli->quiet; i++)
        fprintf(stderr, "pycorr: warning: %s\n", counts.expired[i]);
    if (build_result(&g, f, n, bl, analysis_store(an), &obs, cli->fail_on) != 0)
        goto oom;
    g.stats = &pl.stats;
    g.folded = counts.folded;
    g.suppressed = counts.suppressed;
    code = g.nfailing > 0 ? EXIT_FINDINGS : EXIT_OK;
    if (rc < 0 || pl.stats.unreadable > 0)
        code = EXIT_INPUT;
    g.exit_code = code;
    const char *read_error = rc < 0 ? "memory ran out while reading the inputs" : NULL;
    make_verdict(&g, pl.stats.unreadable, read_error);

    enum out_format fmt = cli->format_set ? cli->format : FMT_TEXT;
    if (write_format(out, fmt, &g, cli, bl, snapshots_used) != 0)
        fprintf(stderr, "pycorr: error: out of memory while writing the report\n");
    const char *write_error = NULL;
    char werr[256];
    for (size_t i = 0; i < nxo; i++) {
        if (xo[i].fp == NULL)
            continue;
        int wr = xo[i].fmt == FMT_TEXT ? baseline_write(xo[i].fp, &g, &obs, bl)
                                       : write_format(xo[i].fp, xo[i].fmt, &g, cli, bl, snapshots_used);
        errno = 0;
        bool ioerr = fflush(xo[i].fp) != 0 || ferror(xo[i].fp);
        int saved = errno;
        bool bad = ioerr || wr != 0;
        if (extra_close(&xo[i], !bad) != 0 && !bad) {
            bad = ioerr = true;
            saved = errno;
        }
        if (bad && write_error == NULL) {
            fprintf(stderr, "pycorr: error: cannot write %s: %s\n", xo[i].path,
                    ioerr ? strerror(saved ? saved : EIO) : "out of memory");
            snprintf(werr, sizeof(werr), "the %s output could not be written", xo[i].what);
            write_error = werr;
        }
    }
    if (write_error != NULL) {
        code = EXIT_OUTPUT;
        make_verdict(&g, pl.stats.unreadable, write_error);
    }
    /* Always, even with --quiet: a CI log's last line says why the job failed. */
    fprintf(stderr, "pycorr: %s\n", g.verdict);
    goto done;
oom:
    fprintf(stderr, "pycorr: error: out of memory\n");
    fprintf(stderr, "pycorr: gate failed: out of memory\n");
    code = EXIT_INPUT;
done:
    for (size_t i = 0; i < nxo; i++)
        extra_close(&xo[i], false);
    result_free(&g);
    if (obs_used)
        observer_free(&obs);
    analysis_destroy(an);
    baseline_destroy(bl);
    ruleset_free(rs);
    return code;
}
