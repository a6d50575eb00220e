/* report_sarif.c -- the gate's verdict as SARIF 2.1.0, for code scanning (GitHub's
 * upload-sarif, GitLab, Azure DevOps, any SARIF viewer).
 *
 * One run of tool "pycorr": driver.rules holds one reportingDescriptor per rule that
 * has a result; each finding is a result with ruleId/ruleIndex, a level from its
 * severity (critical and high: error, medium: warning, low and info: note), the
 * title as message, one location -- the code its evidence points at (the origin
 * frame of an exception chain, the frame a thread waits in, an allocation site), or
 * else the artifact line it was seen at -- the artifacts it was seen in as
 * relatedLocations, the exception chain as stacks, and partialFingerprints from its
 * stable id, so a viewer matches it across runs. With a baseline, baselineState is
 * new or unchanged, and the baseline's fixed findings are results of kind "pass"
 * (level "none") with baselineState "absent". Findings the run could not re-check
 * are no results: they are listed in run.properties.
 *
 * Absolute paths become file:// URIs (upload-sarif relativizes them against the
 * checkout), relative paths stay relative; both percent-encoded.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../correlate/ev_json.h"
#include "../patterns/pattern.h"
#include "gate.h"
#include "version.h"

#define SARIF_SCHEMA "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#define SARIF_FINGERPRINT "pycorrFindingId/v1"
#define MAX_RELATED 5
#define MAX_STACK_FRAMES 64

/* ---- locations ---- */

/* "file:line function" (or "file:line"): the rightmost ":digits" followed by a space
 * or the end ends the file, so paths with colons (C:\...) survive. */
static bool parse_frame_label(const char *s, char *file, size_t filesz, uint32_t *line)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    for (size_t i = n; i-- > 1;) {
        if (s[i] != ':' || !isdigit((unsigned char)s[i + 1]))
            continue;
        size_t j = i + 1;
        unsigned long v = 0;
        while (j < n && isdigit((unsigned char)s[j]) && v < 100000000UL)
            v = v * 10 + (unsigned long)(s[j++] - '0');
        if (j < n && s[j] != ' ')
            continue;
        if (v == 0)
            return false;
        snprintf(file, filesz, "%.*s", (int)i, s);
        *line = (uint32_t)v;
        return true;
    }
    return false;
}

static bool frame_object(const json_t *fr, char *file, size_t filesz, uint32_t *line)
{
    const json_t *f = json_object_get(fr, "file"), *l = json_object_get(fr, "line");
    if (!json_is_string(f) || !json_is_integer(l) || json_integer_value(l) <= 0)
        return false;
    snprintf(file, filesz, "%s", json_string_value(f));
    *line = (uint32_t)json_integer_value(l);
    return true;
}

bool gate_code_location(const json_t *ev, char *file, size_t filesz, uint32_t *line)
{
    static const char *const labels[] = {"origin_frame", "app_frame", "blocking_frame", "exception_frame", "frame"};
    if (!json_is_object(ev))
        return false;
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        const json_t *v = json_object_get(ev, labels[i]);
        if (json_is_string(v) && parse_frame_label(json_string_value(v), file, filesz, line))
            return true;
        if (json_is_object(v) && frame_object(v, file, filesz, line))
            return true;
    }
    size_t k;
    const json_t *t;
    json_array_foreach(json_object_get(ev, "threads"), k, t) {
        for (size_t i = 0; i < 2; i++) {
            const json_t *v = json_object_get(t, i == 0 ? "app_frame" : "frame");
            if (json_is_string(v) && parse_frame_label(json_string_value(v), file, filesz, line))
                return true;
        }
    }
    /* Allocation sites of a leak, the sites whose share changed most in a mix. */
    static const char *const site_lists[] = {"sites", "contributors"};
    for (size_t i = 0; i < sizeof(site_lists) / sizeof(site_lists[0]); i++) {
        json_array_foreach(json_object_get(ev, site_lists[i]), k, t) {
            if (frame_object(t, file, filesz, line))
                return true;
        }
    }
    return false;
}

/* A file path or stream name as a URI reference. */
static char *to_uri(const char *path)
{
    size_t n = strlen(path);
    char *u = malloc(n * 3 + 16);
    if (u == NULL)
        return NULL;
    size_t o = 0;
    bool drive = isalpha((unsigned char)path[0]) && path[1] == ':' && (path[2] == '\\' || path[2] == '/');
    if (path[0] == '/' || drive) {
        memcpy(u, drive ? "file:///" : "file://", drive ? 8 : 7);
        o = drive ? 8 : 7;
    }
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '\\')
            c = '/';
        if (isalnum(c) || strchr("-._~/!$&'()*+,;=@", c) != NULL || (c == ':' && drive && i == 1)) {
            u[o++] = (char)c;
        } else {
            u[o++] = '%';
            u[o++] = hex[c >> 4];
            u[o++] = hex[c & 15];
        }
    }
    u[o] = '\0';
    return u;
}

static json_t *physical(const char *path, uint64_t line)
{
    char *uri = to_uri(path);
    if (uri == NULL)
        return NULL;
    json_t *pl = json_object(), *al = json_object();
    json_object_set_new(al, "uri", json_string(uri));
    free(uri);
    json_object_set_new(pl, "artifactLocation", al);
    if (line > 0) {
        json_t *r = json_object();
        json_object_set_new(r, "startLine", json_integer((json_int_t)line));
        json_object_set_new(pl, "region", r);
    }
    return pl;
}

static json_t *text(const char *s)
{
    json_t *o = json_object();
    /* Titles and messages come from the artifacts: repaired to valid UTF-8. */
    json_object_set_new(o, "text", ev_json_cstr(s != NULL ? s : ""));
    return o;
}

/* ---- rules ---- */

static const char *level_of(enum severity s)
{
    return s >= SEV_HIGH ? "error" : s == SEV_MEDIUM ? "warning" : "note";
}

static const char *rule_id(const struct gate_item *it)
{
    return it->rule != NULL ? it->rule : it->pattern;
}

static const char *pattern_description(const char *pattern)
{
    for (size_t i = 0; pattern_registry[i] != NULL; i++)
        if (strcmp(pattern_registry[i]->name, pattern) == 0)
            return pattern_registry[i]->description;
    return NULL;
}

static json_t *rule_descriptor(const struct gate_item *it, enum severity worst)
{
    json_t *r = json_object();
    const char *desc = pattern_description(it->pattern);
    char buf[512];
    if (desc == NULL) {
        snprintf(buf, sizeof(buf), "%s (a pycorr rule)", it->pattern);
        desc = buf;
    }
    json_object_set_new(r, "id", ev_json_cstr(rule_id(it)));
    json_object_set_new(r, "name", ev_json_cstr(it->pattern));
    json_object_set_new(r, "shortDescription", text(desc));
    char full[768];
    snprintf(full, sizeof(full), "%s. pycorr names this problem %s; `pycorr rules list` shows its parameters.",
             desc, it->pattern);
    json_object_set_new(r, "fullDescription", text(full));
    json_t *cfg = json_object();
    json_object_set_new(cfg, "level", json_string(level_of(worst)));
    json_object_set_new(r, "defaultConfiguration", cfg);
    json_t *props = json_object(), *tags = json_array();
    json_array_append_new(tags, json_string("pycorr"));
    json_array_append_new(tags, ev_json_cstr(it->pattern));
    json_object_set_new(props, "tags", tags);
    json_object_set_new(props, "problem.severity",
                        json_string(worst >= SEV_HIGH ? "error" : worst == SEV_MEDIUM ? "warning" : "recommendation"));
    json_object_set_new(r, "properties", props);
    return r;
}

/* ---- results ---- */

/* The exception chain, outermost exception first, each a stack (innermost frame
 * first, as SARIF orders stacks). */
static json_t *chain_stacks(const json_t *evidence)
{
    const json_t *chain = json_object_get(evidence, "chain");
    if (!json_is_array(chain) || json_array_size(chain) == 0)
        return NULL;
    json_t *stacks = json_array();
    for (size_t k = json_array_size(chain); k-- > 0;) {
        const json_t *e = json_array_get(chain, k);
        const json_t *frames = json_object_get(e, "frames");
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        const char *rel = json_string_value(json_object_get(e, "relation"));
        char head[1024];
        snprintf(head, sizeof(head), "%s%s%s%s", type ? type : "?", msg && *msg ? ": " : "", msg ? msg : "",
                 rel && strcmp(rel, "cause") == 0    ? " (raised from the exception below)"
                 : rel && strcmp(rel, "context") == 0 ? " (raised while handling the exception below)"
                                                     : "");
        json_t *st = json_object(), *fa = json_array();
        json_object_set_new(st, "message", text(head));
        size_t nf = json_array_size(frames);
        for (size_t i = nf, kept = 0; i-- > 0 && kept < MAX_STACK_FRAMES; kept++) {
            const json_t *fr = json_array_get(frames, i);
            const char *file = json_string_value(json_object_get(fr, "file"));
            if (file == NULL)
                continue;
            json_int_t line = json_integer_value(json_object_get(fr, "line"));
            json_t *sf = json_object(), *loc = json_object();
            json_object_set_new(loc, "physicalLocation", physical(file, line > 0 ? (uint64_t)line : 0));
            const char *fn = json_string_value(json_object_get(fr, "function"));
            if (fn != NULL)
                json_object_set_new(loc, "message", text(fn));
            json_object_set_new(sf, "location", loc);
            const char *mod = json_string_value(json_object_get(e, "module"));
            if (mod != NULL && i == nf - 1)
                json_object_set_new(sf, "module", ev_json_cstr(mod));
            json_array_append_new(fa, sf);
        }
        json_object_set_new(st, "frames", fa);
        json_array_append_new(stacks, st);
    }
    return stacks;
}

static json_t *result(const struct gate_item *it, size_t rule_index, bool has_baseline)
{
    json_t *r = json_object();
    json_object_set_new(r, "ruleId", ev_json_cstr(rule_id(it)));
    json_object_set_new(r, "ruleIndex", json_integer((json_int_t)rule_index));
    if (it->state == GATE_FIXED) {
        json_object_set_new(r, "kind", json_string("pass"));
        json_object_set_new(r, "level", json_string("none"));
    } else {
        json_object_set_new(r, "level", json_string(level_of(it->severity)));
    }
    char msg[2048];
    int o = snprintf(msg, sizeof(msg), "%s", it->title ? it->title : it->pattern);
    if (o > 0 && (size_t)o < sizeof(msg)) {
        if (it->state == GATE_FIXED)
            snprintf(msg + o, sizeof(msg) - (size_t)o, " (fixed: in the baseline, gone from this run)");
        else if (it->count > 1 || it->service != NULL)
            snprintf(msg + o, sizeof(msg) - (size_t)o, " (%llu occurrence%s%s%s)", (unsigned long long)it->count,
                     it->count == 1 ? "" : "s", it->service ? " in " : "", it->service ? it->service : "");
    }
    json_object_set_new(r, "message", text(msg));

    /* The location: the code, else the artifact line. */
    json_t *locs = json_array();
    json_t *loc = json_object();
    if (it->file != NULL) {
        json_object_set_new(loc, "physicalLocation", physical(it->file, it->line));
    } else if (it->stream != NULL) {
        /* An artifact without lines (a pickle) is pointed at as a whole: from line 1. */
        json_object_set_new(loc, "physicalLocation", physical(it->stream, it->stream_line ? it->stream_line : 1));
    } else {
        json_decref(loc);
        loc = NULL;
    }
    if (loc != NULL)
        json_array_append_new(locs, loc);
    json_object_set_new(r, "locations", locs);

    if (it->f != NULL && it->f->nsources > 0) {
        json_t *rel = json_array();
        for (size_t i = 0; i < it->f->nsources && i < MAX_RELATED; i++) {
            json_t *l = json_object();
            json_object_set_new(l, "id", json_integer((json_int_t)i + 1));
            json_object_set_new(l, "physicalLocation", physical(it->f->sources[i].stream, it->f->sources[i].line));
            json_object_set_new(l, "message", text("seen in this artifact"));
            json_array_append_new(rel, l);
        }
        json_object_set_new(r, "relatedLocations", rel);
    }
    if (it->f != NULL) {
        json_t *stacks = chain_stacks(it->f->evidence);
        if (stacks != NULL)
            json_object_set_new(r, "stacks", stacks);
    }
    json_t *fp = json_object();
    json_object_set_new(fp, SARIF_FINGERPRINT, ev_json_cstr(it->id));
    json_object_set_new(r, "partialFingerprints", fp);
    if (has_baseline)
        json_object_set_new(r, "baselineState",
                            json_string(it->state == GATE_KNOWN ? "unchanged" : it->state == GATE_FIXED ? "absent"
                                                                                                        : "new"));
    json_t *props = json_object();
    json_object_set_new(props, "pattern", ev_json_cstr(it->pattern));
    json_object_set_new(props, "severity", json_string(severity_name(it->severity)));
    json_object_set_new(props, "count", json_integer((json_int_t)it->count));
    json_object_set_new(props, "id", ev_json_cstr(it->id));
    if (it->service != NULL)
        json_object_set_new(props, "service", ev_json_cstr(it->service));
    if (it->f != NULL && it->f->trace_id != NULL)
        json_object_set_new(props, "trace_id", ev_json_cstr(it->f->trace_id));
    json_object_set_new(r, "properties", props);
    return r;
}

int gate_write_sarif(FILE *out, const struct gate_result *g)
{
    json_t *doc = json_object(), *run = json_object(), *tool = json_object(), *driver = json_object();
    json_t *rules = json_array(), *results = json_array(), *unchecked = json_array();
    const char **ids = calloc(g->n + 1, sizeof(*ids));
    if (doc == NULL || ids == NULL) {
        json_decref(doc);
        free(ids);
        return -1;
    }
    json_object_set_new(doc, "$schema", json_string(SARIF_SCHEMA));
    json_object_set_new(doc, "version", json_string("2.1.0"));
    json_object_set_new(driver, "name", json_string("pycorr"));
    json_object_set_new(driver, "version", json_string(PYCORR_VERSION));
    json_object_set_new(driver, "semanticVersion", json_string(PYCORR_VERSION));

    /* One descriptor per rule, in the order results first use them. */
    size_t nrules = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct gate_item *it = &g->items[i];
        if (it->state == GATE_UNCHECKED) {
            json_array_append_new(unchecked, ev_json_cstr(it->id));
            continue;
        }
        size_t ri = 0;
        while (ri < nrules && strcmp(ids[ri], rule_id(it)) != 0)
            ri++;
        if (ri == nrules) {
            enum severity worst = it->severity;
            for (size_t j = i + 1; j < g->n; j++)
                if (strcmp(rule_id(&g->items[j]), rule_id(it)) == 0 && g->items[j].severity > worst)
                    worst = g->items[j].severity;
            ids[nrules++] = rule_id(it);
            json_array_append_new(rules, rule_descriptor(it, worst));
        }
        json_array_append_new(results, result(it, ri, g->has_baseline));
    }
    free(ids);
    json_object_set_new(driver, "rules", rules);
    json_object_set_new(tool, "driver", driver);
    json_object_set_new(run, "tool", tool);

    json_t *inv = json_object(), *invs = json_array();
    /* The analysis ran to the end when the gate decided (0 or 1); 3 and 4 are failures
     * to read or write. */
    json_object_set_new(inv, "executionSuccessful", json_boolean(g->exit_code <= 1));
    json_object_set_new(inv, "exitCode", json_integer(g->exit_code));
    json_object_set_new(inv, "exitCodeDescription", ev_json_cstr(g->verdict));
    json_array_append_new(invs, inv);
    json_object_set_new(run, "invocations", invs);
    json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
    json_object_set_new(run, "results", results);
    json_t *props = json_object();
    json_object_set_new(props, "verdict", ev_json_cstr(g->verdict));
    json_object_set_new(props, "failOn", json_string(severity_name(g->fail_on)));
    if (json_array_size(unchecked) > 0)
        json_object_set_new(props, "uncheckedFindings", unchecked);
    else
        json_decref(unchecked);
    json_object_set_new(run, "properties", props);
    json_t *runs = json_array();
    json_array_append_new(runs, run);
    json_object_set_new(doc, "runs", runs);
    int rc = json_dumpf(doc, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(doc);
    return rc == 0 ? 0 : -1;
}
