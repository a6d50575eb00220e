/* report.c -- text, json and jsonl reports of findings; see report.h. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "../correlate/evtime.h"
#include "version.h"

/* ---- colour ---- */

struct style {
    bool on;
};

static const char *sev_color(enum severity s)
{
    switch (s) {
    case SEV_CRITICAL: return "\033[1;35m";
    case SEV_HIGH: return "\033[1;31m";
    case SEV_MEDIUM: return "\033[33m";
    case SEV_LOW: return "\033[36m";
    case SEV_INFO: break;
    }
    return "\033[2m";
}

#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_RESET "\033[0m"

static const char *c(const struct style *st, const char *code) { return st->on ? code : ""; }

/* ---- helpers ---- */

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void upper(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    out[i] = '\0';
}

/* First line of a message, cut to max display bytes. */
static void print_first_line(FILE *out, const char *s, size_t max)
{
    if (s == NULL)
        return;
    size_t n = strcspn(s, "\n");
    bool more = s[n] == '\n';
    if (n > max) {
        n = max;
        more = true;
    }
    fwrite(s, 1, n, out);
    if (more)
        fputs(" ...", out);
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void print_chain(FILE *out, const struct style *st, const json_t *chain, int indent);

static void print_exc(FILE *out, const struct style *st, const json_t *e, int indent, bool first)
{
    const char *type = jstr(e, "type");
    const char *msg = jstr(e, "message");
    const char *rel = jstr(e, "relation");
    fprintf(out, "%*s", indent, "");
    if (!first && rel != NULL)
        fprintf(out, "%s\u2514 %s:%s ", c(st, C_DIM), strcmp(rel, "cause") == 0 ? "raised from it" : "raised while handling it",
                c(st, C_RESET));
    fprintf(out, "%s%s%s", c(st, C_BOLD), type ? type : "?", c(st, C_RESET));
    if (msg && *msg) {
        fputs(": ", out);
        print_first_line(out, msg, 160);
    }
    fputc('\n', out);
    const json_t *frames = json_object_get(e, "frames");
    size_t nf = json_array_size(frames);
    if (nf > 0) {
        const json_t *f = json_array_get(frames, nf - 1);
        const char *file = jstr(f, "file");
        const char *fn = jstr(f, "function");
        fprintf(out, "%*s   %sat %s:%lld%s%s (%zu frame%s)%s\n", indent, "", c(st, C_DIM),
                file ? basename_of(file) : "?", (long long)json_integer_value(json_object_get(f, "line")),
                fn ? " in " : "", fn ? fn : "", nf, nf == 1 ? "" : "s", c(st, C_RESET));
    }
    const json_t *notes = json_object_get(e, "notes");
    for (size_t i = 0; i < json_array_size(notes); i++) {
        fprintf(out, "%*s   %snote: ", indent, "", c(st, C_DIM));
        print_first_line(out, json_string_value(json_array_get(notes, i)), 160);
        fprintf(out, "%s\n", c(st, C_RESET));
    }
    const json_t *g = json_object_get(e, "group");
    if (g != NULL) {
        const json_t *members = json_object_get(g, "exceptions");
        size_t nm = json_array_size(members);
        for (size_t i = 0; i < nm; i++) {
            fprintf(out, "%*s   %s[%zu/%zu]%s\n", indent, "", c(st, C_DIM), i + 1, nm, c(st, C_RESET));
            print_chain(out, st, json_array_get(members, i), indent + 5);
        }
        long long more = (long long)json_integer_value(json_object_get(g, "more_exceptions"));
        if (more > 0)
            fprintf(out, "%*s   %s... and %lld more exception%s%s\n", indent, "", c(st, C_DIM), more,
                    more == 1 ? "" : "s", c(st, C_RESET));
    }
}

static void print_chain(FILE *out, const struct style *st, const json_t *chain, int indent)
{
    for (size_t i = 0; i < json_array_size(chain); i++)
        print_exc(out, st, json_array_get(chain, i), indent + (i ? 2 : 0), i == 0);
}

static void print_time_range(FILE *out, const struct finding *f)
{
    char a[EVTIME_BUFSZ], b[EVTIME_BUFSZ];
    evtime_format(f->first_seen, a);
    if (f->count > 1 && f->last_seen != f->first_seen) {
        evtime_format(f->last_seen, b);
        fprintf(out, "%s .. %s", a, b);
    } else {
        fputs(a, out);
    }
}

static void text_finding(FILE *out, const struct style *st, const struct finding *f)
{
    char sev[16];
    upper(severity_name(f->severity), sev, sizeof(sev));
    fprintf(out, "%s%-8s%s %s", sev_color(f->severity) && st->on ? sev_color(f->severity) : "", sev,
            c(st, C_RESET), f->pattern);
    if (f->count > 1)
        fprintf(out, " x%llu", (unsigned long long)f->count);
    fprintf(out, "  %s%s%s\n", c(st, C_BOLD), f->title ? f->title : "", c(st, C_RESET));

    /* Where: keys and time. */
    bool any = false;
    fprintf(out, "         ");
    if (f->service) {
        fprintf(out, "service %s", f->service);
        any = true;
    }
    if (f->host) {
        fprintf(out, "%shost %s", any ? "  " : "", f->host);
        any = true;
    }
    if (f->pid >= 0) {
        fprintf(out, "%spid %lld", any ? "  " : "", (long long)f->pid);
        any = true;
    }
    if (f->trace_id) {
        fprintf(out, "%strace %s", any ? "  " : "", f->trace_id);
        any = true;
    }
    if (f->has_time) {
        fprintf(out, "%s", any ? "  " : "");
        print_time_range(out, f);
        any = true;
    }
    if (!any)
        fprintf(out, "%s(no time or correlation keys in the input)%s", c(st, C_DIM), c(st, C_RESET));
    fputc('\n', out);

    const json_t *ev = f->evidence;
    const json_t *chain = json_object_get(ev, "chain");
    if (chain != NULL && strcmp(f->pattern, "nested_exception") == 0) {
        size_t n = json_array_size(chain);
        if (n > 1)
            fprintf(out, "         %schain, root first:%s\n", c(st, C_DIM), c(st, C_RESET));
        print_chain(out, st, chain, 11);
        const char *om = jstr(ev, "origin_module");
        const char *of = jstr(ev, "origin_frame");
        const char *lib = jstr(ev, "origin_library");
        if (om != NULL) {
            fprintf(out, "         origin %s%s%s", om, of ? " at " : "", of ? basename_of(of) : "");
            if (lib != NULL)
                fprintf(out, " (raised inside %s)", lib);
            fputc('\n', out);
        }
        const char *logm = jstr(ev, "log_message");
        if (logm != NULL) {
            fprintf(out, "         logged: ");
            print_first_line(out, logm, 160);
            fputc('\n', out);
        }
    } else if (strcmp(f->pattern, "error_message") == 0) {
        const char *ex = jstr(ev, "example");
        if (ex != NULL) {
            fprintf(out, "         e.g. ");
            print_first_line(out, ex, 160);
            fputc('\n', out);
        }
    }
    /* Sources grouped by stream: "app.log:12,95,117". */
    fprintf(out, "         %sseen at ", c(st, C_DIM));
    for (size_t i = 0; i < f->nsources; i++) {
        bool same = i > 0 && strcmp(f->sources[i].stream, f->sources[i - 1].stream) == 0;
        if (same)
            fputc(',', out);
        else
            fprintf(out, "%s%s", i ? "  " : "", f->sources[i].stream);
        if (f->sources[i].line)
            fprintf(out, "%s%llu", same ? "" : ":", (unsigned long long)f->sources[i].line);
    }
    if (f->more_sources)
        fprintf(out, " (+%llu more)", (unsigned long long)f->more_sources);
    fprintf(out, "   id %s%s\n\n", f->id, c(st, C_RESET));
}

static void text_summary(FILE *out, const struct style *st, struct finding *const *f, size_t n,
                         const struct report_ctx *ctx)
{
    const struct run_stats *s = ctx->stats;
    size_t by[SEV_CRITICAL + 1] = {0};
    for (size_t i = 0; i < n; i++)
        by[f[i]->severity]++;
    fprintf(out, "%spycorr%s: %zu finding%s from %llu input%s (%llu records, %llu tracebacks", c(st, C_BOLD),
            c(st, C_RESET), n, n == 1 ? "" : "s", (unsigned long long)s->inputs, s->inputs == 1 ? "" : "s",
            (unsigned long long)s->events, (unsigned long long)s->exceptions);
    if (s->malformed)
        fprintf(out, ", %llu malformed", (unsigned long long)s->malformed);
    if (s->unreadable)
        fprintf(out, ", %llu unreadable", (unsigned long long)s->unreadable);
    fputs(")", out);
    if (n > 0) {
        fputs(":", out);
        bool first = true;
        for (int sev = SEV_CRITICAL; sev >= SEV_INFO; sev--)
            if (by[sev]) {
                fprintf(out, "%s %s%zu %s%s", first ? "" : ",", st->on ? sev_color((enum severity)sev) : "",
                        by[sev], severity_name((enum severity)sev), c(st, C_RESET));
                first = false;
            }
    }
    fputs("\n", out);
    if (ctx->dropped_findings)
        fprintf(out, "(%llu further findings were dropped: the finding store is full)\n",
                (unsigned long long)ctx->dropped_findings);
    fputs("\n", out);
}

static json_t *summary_json(struct finding *const *f, size_t n, const struct report_ctx *ctx)
{
    const struct run_stats *s = ctx->stats;
    json_t *o = json_object();
    json_object_set_new(o, "inputs", json_integer((json_int_t)s->inputs));
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(o, "records", json_integer((json_int_t)s->events));
    json_object_set_new(o, "tracebacks", json_integer((json_int_t)s->exceptions));
    json_object_set_new(o, "malformed", json_integer((json_int_t)s->malformed));
    json_object_set_new(o, "unreadable", json_integer((json_int_t)s->unreadable));
    json_object_set_new(o, "findings", json_integer((json_int_t)n));
    json_object_set_new(o, "dropped_findings", json_integer((json_int_t)ctx->dropped_findings));
    json_t *by = json_object();
    for (int sev = SEV_INFO; sev <= SEV_CRITICAL; sev++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += f[i]->severity == (enum severity)sev;
        json_object_set_new(by, severity_name((enum severity)sev), json_integer((json_int_t)k));
    }
    json_object_set_new(o, "by_severity", by);
    return o;
}

int report_write(enum out_format fmt, struct finding *const *f, size_t n, const struct report_ctx *ctx)
{
    FILE *out = ctx->out;
    if (fmt == FMT_JSONL) {
        for (size_t i = 0; i < n; i++) {
            json_t *j = finding_to_json(f[i]);
            if (j == NULL || json_dumpf(j, out, JSON_COMPACT) != 0) {
                json_decref(j);
                return -1;
            }
            fputc('\n', out);
            json_decref(j);
        }
        return 0;
    }
    if (fmt == FMT_JSON) {
        json_t *doc = json_object();
        json_object_set_new(doc, "pycorr", json_string(PYCORR_VERSION));
        json_object_set_new(doc, "command", json_string(ctx->command));
        json_object_set_new(doc, "summary", summary_json(f, n, ctx));
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, finding_to_json(f[i]));
        json_object_set_new(doc, "findings", arr);
        int rc = json_dumpf(doc, out, JSON_INDENT(2));
        fputc('\n', out);
        json_decref(doc);
        return rc == 0 ? 0 : -1;
    }
    struct style st = {ctx->color};
    text_summary(out, &st, f, n, ctx);
    for (size_t i = 0; i < n; i++)
        text_finding(out, &st, f[i]);
    return 0;
}
