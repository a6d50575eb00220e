/* report.c -- text, json and jsonl reports of findings; see report.h. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "../correlate/evtime.h"
#include "jsonout.h"
#include "report_text.h"
#include "termsafe.h"
#include "version.h"

/* ---- colour and helpers ---- */

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

const char *text_jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* First line of a message, cut to max bytes. */
void text_first_line(FILE *out, const char *s, size_t max)
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

const char *text_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void upper(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    out[i] = '\0';
}

static text_renderer_fn renderer_for(const char *pattern)
{
    const struct text_renderer *tables[] = {text_renderers_exceptions, text_renderers_memory,
                                            text_renderers_threads, text_renderers_versions};
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct text_renderer *r = tables[t]; r->pattern != NULL; r++)
            if (strcmp(r->pattern, pattern) == 0)
                return r->render;
    return NULL;
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

/* "03:22:34.807349" of an RFC 3339 time: the date is in the headline already. */
static const char *clock_part(const char *rfc3339)
{
    const char *t = rfc3339 ? strchr(rfc3339, 'T') : NULL;
    return t ? t + 1 : (rfc3339 ? rfc3339 : "");
}

static void text_timeline(FILE *out, const struct text_style *st, const json_t *tl, const char *mark_service,
                          int indent, size_t max)
{
    size_t n = json_array_size(tl);
    for (size_t i = 0; i < n; i++) {
        if (n > max && i == max / 2) {
            fprintf(out, "%*s%s... %zu more events ...%s\n", indent, "", tx(st, C_DIM), n - max, tx(st, C_RESET));
            i = n - max / 2;
        }
        const json_t *e = json_array_get(tl, i);
        const char *lvl = text_jstr(e, "level");
        const char *svc = text_jstr(e, "service");
        const char *kind = text_jstr(e, "kind");
        bool err = (kind && strcmp(kind, "exception") == 0) || (lvl && (strcmp(lvl, "ERROR") == 0 ||
                                                                      strcmp(lvl, "CRITICAL") == 0));
        const char *ts = text_jstr(e, "ts");
        fprintf(out, "%*s%s%-16.16s%s %-12.12s %s%-8s%s ", indent, "", tx(st, C_DIM), ts ? clock_part(ts) : "-",
                tx(st, C_RESET), svc ? svc : "-", err ? tx(st, C_RED) : "", lvl ? lvl : (kind ? kind : ""),
                tx(st, C_RESET));
        text_first_line(out, text_jstr(e, "summary"), 100);
        if (json_object_get(e, "joined_by") != NULL)
            fprintf(out, " %s(joined by time)%s", tx(st, C_DIM), tx(st, C_RESET));
        if (mark_service != NULL && err && svc != NULL && strcmp(svc, mark_service) == 0)
            fprintf(out, " %s<- origin%s", tx(st, C_BOLD), tx(st, C_RESET));
        fputc('\n', out);
    }
}

static void text_correlation(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *ev = f->evidence;
    const json_t *cas = json_object_get(ev, "cascade");
    if (json_array_size(cas) > 0) {
        fprintf(out, "%*salso seen downstream as:\n", TEXT_INDENT, "");
        size_t i;
        const json_t *m;
        json_array_foreach(cas, i, m) {
            const char *svc = text_jstr(m, "service");
            fprintf(out, "%*s%s x%lld  ", TEXT_INDENT + 2, "", svc ? svc : "-",
                    (long long)json_integer_value(json_object_get(m, "count")));
            text_first_line(out, text_jstr(m, "title"), 110);
            fputc('\n', out);
        }
    }
    const json_t *tl = json_object_get(ev, "timeline");
    if (json_array_size(tl) > 1) {
        const char *origin = text_jstr(ev, "origin_service");
        fprintf(out, "%*s%strace timeline%s%s%s:%s\n", TEXT_INDENT, "", tx(st, C_DIM), origin ? " (origin " : "",
                origin ? origin : "", origin ? ")" : "", tx(st, C_RESET));
        text_timeline(out, st, tl, origin, TEXT_INDENT + 2, 12);
    }
}

static void text_finding_shown(FILE *out, const struct text_style *st, const struct finding *f)
{
    char sev[16];
    upper(severity_name(f->severity), sev, sizeof(sev));
    fprintf(out, "%s%-8s%s %s", sev_color(f->severity) && st->color ? sev_color(f->severity) : "", sev,
            tx(st, C_RESET), f->pattern);
    if (f->count > 1)
        fprintf(out, " x%llu", (unsigned long long)f->count);
    /* One line, whatever a rule's title template put in it. */
    fprintf(out, "  %s", tx(st, C_BOLD));
    text_first_line(out, f->title ? f->title : "", 240);
    fprintf(out, "%s\n", tx(st, C_RESET));

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
        fprintf(out, "%s(no time or correlation keys in the input)%s", tx(st, C_DIM), tx(st, C_RESET));
    fputc('\n', out);

    text_renderer_fn render = renderer_for(f->pattern);
    if (render != NULL)
        render(out, st, f);
    text_correlation(out, st, f);
    /* Sources grouped by stream: "app.log:12,95,117". */
    fprintf(out, "         %sseen at ", tx(st, C_DIM));
    for (size_t i = 0; i < f->nsources; i++) {
        bool same = i > 0 && strcmp(f->sources[i].stream, f->sources[i - 1].stream) == 0;
        if (same)
            fputc(',', out);
        else
            fprintf(out, "%s%s", i ? "  " : "", f->sources[i].stream);
        /* Kafka sources carry offset + 1 as their line (kafka_source.h). */
        bool kafka = strncmp(f->sources[i].stream, "kafka:", 6) == 0;
        if (f->sources[i].line)
            fprintf(out, "%s%llu", same ? "" : kafka ? "@" : ":",
                    (unsigned long long)f->sources[i].line - (kafka ? 1 : 0));
    }
    if (f->more_sources)
        fprintf(out, " (+%llu more)", (unsigned long long)f->more_sources);
    fprintf(out, "   id %s%s\n\n", f->id, tx(st, C_RESET));
}

/* Every string of a finding came from the input: it is shown escaped (termsafe.h),
 * so that no log line can drive the terminal that reads the report. */
static void text_finding(FILE *out, const struct text_style *st, const struct finding *f)
{
    struct finding tmp;
    const struct finding *shown = termsafe_finding(f, &tmp);
    if (shown == NULL) {
        fprintf(out, "%s (out of memory to show it)   id %s\n\n", f->pattern, f->id);
        return;
    }
    text_finding_shown(out, st, shown);
    termsafe_finding_done(shown, f);
}

void report_text_finding(FILE *out, bool color, const struct finding *f)
{
    struct text_style st = {color};
    text_finding(out, &st, f);
}

static void text_summary(FILE *out, const struct text_style *st, struct finding *const *f, size_t n,
                         const struct report_ctx *ctx)
{
    const struct run_stats *s = ctx->stats;
    size_t by[SEV_CRITICAL + 1] = {0};
    for (size_t i = 0; i < n; i++)
        by[f[i]->severity]++;
    fprintf(out, "%spycorr%s: %zu finding%s from %llu input%s (%llu records, %llu tracebacks", tx(st, C_BOLD),
            tx(st, C_RESET), n, n == 1 ? "" : "s", (unsigned long long)s->inputs, s->inputs == 1 ? "" : "s",
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
                fprintf(out, "%s %s%zu %s%s", first ? "" : ",", st->color ? sev_color((enum severity)sev) : "",
                        by[sev], severity_name((enum severity)sev), tx(st, C_RESET));
                first = false;
            }
    }
    fputs("\n", out);
    if (ctx->dropped_findings)
        fprintf(out, "(%llu further findings were dropped: the finding store is full)\n",
                (unsigned long long)ctx->dropped_findings);
    if (ctx->suppressed_findings)
        fprintf(out, "%s(%zu finding%s suppressed by rules)%s\n", tx(st, C_DIM), ctx->suppressed_findings,
                ctx->suppressed_findings == 1 ? "" : "s", tx(st, C_RESET));
    if (ctx->corr != NULL && ctx->corr->traces > 0) {
        fprintf(out, "%scorrelated %llu trace%s", tx(st, C_DIM), (unsigned long long)ctx->corr->traces,
                ctx->corr->traces == 1 ? "" : "s");
        if (ctx->corr->joined_by_time)
            fprintf(out, ", %llu events joined by time", (unsigned long long)ctx->corr->joined_by_time);
        if (ctx->folded_findings)
            fprintf(out, "; %zu downstream finding%s folded into the failure that caused %s", ctx->folded_findings,
                    ctx->folded_findings == 1 ? "" : "s", ctx->folded_findings == 1 ? "it" : "them");
        if (ctx->corr->evicted_early)
            fprintf(out, "; %llu traces closed early (open-trace cap; raise --max-traces)",
                    (unsigned long long)ctx->corr->evicted_early);
        fprintf(out, "%s\n", tx(st, C_RESET));
    }
    fputs("\n", out);
}

static void text_traces(FILE *out, const struct text_style *st, const json_t *traces, size_t dropped)
{
    size_t i;
    const json_t *t;
    fprintf(out, "%s%zu failing trace%s%s\n\n", tx(st, C_BOLD), json_array_size(traces),
            json_array_size(traces) == 1 ? "" : "s", tx(st, C_RESET));
    json_array_foreach(traces, i, t) {
        const char *id = text_jstr(t, "trace_id");
        const char *origin = text_jstr(t, "origin_service");
        fprintf(out, "%strace %s%s  ", tx(st, C_BOLD), id ? id : "(no id)", tx(st, C_RESET));
        const json_t *svcs = json_object_get(t, "services");
        for (size_t k = 0; k < json_array_size(svcs); k++)
            fprintf(out, "%s%s", k ? " > " : "", json_string_value(json_array_get(svcs, k)));
        if (origin != NULL)
            fprintf(out, "   failed first: %s%s%s", tx(st, C_BOLD), origin, tx(st, C_RESET));
        fputc('\n', out);
        const char *first = text_jstr(t, "first_seen");
        if (first != NULL)
            fprintf(out, "  %s%s .. %s%s\n", tx(st, C_DIM), first, clock_part(text_jstr(t, "last_seen")),
                    tx(st, C_RESET));
        text_timeline(out, st, json_object_get(t, "timeline"), origin, 2, 40);
        size_t k;
        const json_t *fo;
        json_array_foreach(json_object_get(t, "findings"), k, fo) {
            fprintf(out, "  %s->%s %s %s [%s]  ", tx(st, C_DIM), tx(st, C_RESET), text_jstr(fo, "severity"),
                    text_jstr(fo, "pattern"), text_jstr(fo, "service") ? text_jstr(fo, "service") : "-");
            text_first_line(out, text_jstr(fo, "title"), 100);
            fprintf(out, "  %sid %s%s\n", tx(st, C_DIM), text_jstr(fo, "id"), tx(st, C_RESET));
        }
        fputc('\n', out);
    }
    if (dropped)
        fprintf(out, "(%zu more failing traces not shown)\n", dropped);
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
    json_object_set_new(o, "folded_findings", json_integer((json_int_t)ctx->folded_findings));
    json_object_set_new(o, "suppressed_findings", json_integer((json_int_t)ctx->suppressed_findings));
    if (ctx->corr != NULL) {
        json_t *c = json_object();
        json_object_set_new(c, "traces", json_integer((json_int_t)ctx->corr->traces));
        json_object_set_new(c, "open_traces_peak", json_integer((json_int_t)ctx->corr->open_peak));
        json_object_set_new(c, "closed_early", json_integer((json_int_t)ctx->corr->evicted_early));
        json_object_set_new(c, "joined_by_time", json_integer((json_int_t)ctx->corr->joined_by_time));
        json_object_set_new(c, "late_events", json_integer((json_int_t)ctx->corr->late_events));
        json_object_set_new(c, "services_inferred", json_integer((json_int_t)ctx->corr->services_inferred));
        json_object_set_new(o, "correlation", c);
    }
    return o;
}

int report_write(enum out_format fmt, struct finding *const *f, size_t n, const struct report_ctx *ctx)
{
    FILE *out = ctx->out;
    if (fmt == FMT_JSONL && ctx->traces != NULL) {
        size_t i;
        json_t *t;
        json_array_foreach(ctx->traces, i, t) {
            if (jsonout_write(out, t, JSON_COMPACT, true) != 0)
                return -1;
        }
        return 0;
    }
    if (fmt == FMT_JSONL) {
        for (size_t i = 0; i < n; i++) {
            json_t *j = finding_to_json(f[i]);
            if (j == NULL || jsonout_write(out, j, JSON_COMPACT, true) != 0) {
                json_decref(j);
                return -1;
            }
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
        if (ctx->traces != NULL)
            json_object_set(doc, "traces", ctx->traces);
        int rc = jsonout_write(out, doc, JSON_INDENT(2), true);
        json_decref(doc);
        return rc == 0 ? 0 : -1;
    }
    struct text_style st = {ctx->color};
    text_summary(out, &st, f, n, ctx);
    if (ctx->traces != NULL) {
        json_t *traces = termsafe_json(ctx->traces); /* ids and services from the input */
        if (traces != NULL)
            text_traces(out, &st, traces, ctx->traces_dropped);
        json_decref(traces);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        text_finding(out, &st, f[i]);
    return 0;
}
