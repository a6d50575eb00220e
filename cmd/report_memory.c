/* report_memory.c -- text evidence for memory_leak, object_distribution_anomaly,
 * handle_leak and counter_value: each growing site with a sparkline of its series and
 * numbers a person can act on ("+1.9 MiB over 10 snapshots, 190 KiB/snapshot").
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report_text.h"

/* ---- numbers ---------------------------------------------------------------------- */

static void human(double b, bool plus, char *buf, size_t n)
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
}

static void amount(double v, bool bytes, bool plus, char *buf, size_t n)
{
    if (bytes)
        human(v, plus, buf, n);
    else if ((fabs(v - round(v)) < 1e-9 || fabs(v) >= 100) && fabs(v) < 1e15)
        snprintf(buf, n, plus ? "%+.0f" : "%.0f", v);
    else
        snprintf(buf, n, plus ? "%+.3g" : "%.3g", v);
}

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- sparkline -------------------------------------------------------------------- */

#define SPARK_MAX 32

/* Up to SPARK_MAX cells; an unknown value is a blank. */
static void sparkline(FILE *out, const json_t *values)
{
    static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    size_t n = json_array_size(values);
    if (n == 0)
        return;
    double cell[SPARK_MAX];
    size_t cells = n < SPARK_MAX ? n : SPARK_MAX;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < cells; c++) {
        /* Each cell is the mean of its share of the points. */
        size_t a = c * n / cells, b = (c + 1) * n / cells;
        double sum = 0;
        size_t k = 0;
        for (size_t i = a; i < b; i++) {
            const json_t *v = json_array_get(values, i);
            if (json_is_number(v)) {
                sum += json_number_value(v);
                k++;
            }
        }
        cell[c] = k ? sum / (double)k : NAN;
        if (k) {
            if (cell[c] < lo)
                lo = cell[c];
            if (cell[c] > hi)
                hi = cell[c];
        }
    }
    for (size_t c = 0; c < cells; c++) {
        if (isnan(cell[c])) {
            fputc(' ', out);
            continue;
        }
        int lvl = hi > lo ? (int)((cell[c] - lo) / (hi - lo) * 7.0 + 0.5) : 3;
        fputs(bars[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl], out);
    }
    for (size_t c = cells; c < 10; c++)
        fputc(' ', out);
}

/* The name of an evidence site: "monitor.py:32", a type, or a counter. */
static void site_name(const json_t *s, char *buf, size_t n)
{
    const char *file = text_jstr(s, "file");
    if (file != NULL) {
        long long line = (long long)json_integer_value(json_object_get(s, "line"));
        if (line > 0)
            snprintf(buf, n, "%s:%lld", text_basename(file), line);
        else
            snprintf(buf, n, "%s", text_basename(file));
        return;
    }
    const char *t = text_jstr(s, "type");
    if (t == NULL)
        t = text_jstr(s, "counter");
    if (t == NULL)
        t = text_jstr(s, "name");
    snprintf(buf, n, "%s", t ? t : "?");
}

/* ---- memory_leak ------------------------------------------------------------------ */

static void render_leak(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *e = f->evidence;
    const char *metric = text_jstr(e, "metric");
    const char *unit = text_jstr(e, "unit");
    bool bytes = unit != NULL && strcmp(unit, "bytes") == 0;
    long long snaps = (long long)json_integer_value(json_object_get(e, "snapshots"));
    const char *order = text_jstr(e, "order");
    bool snapshots = metric && strcmp(metric, "tracemalloc") == 0;
    const char *what = snapshots ? "snapshots" : "samples";
    const char *each = snapshots ? "snapshot" : "sample";
    fprintf(out, "%*s%s%s, %lld %s%s%s%s%s\n", TEXT_INDENT, "", tx(st, C_DIM), metric ? metric : "?", snaps, what,
            order ? " (ordered by " : "", order ? order : "", order ? ")" : "", tx(st, C_RESET));
    const json_t *sites = json_object_get(e, "sites");
    size_t w = 0;
    char name[256];
    for (size_t i = 0; i < json_array_size(sites); i++) {
        site_name(json_array_get(sites, i), name, sizeof(name));
        if (strlen(name) > w)
            w = strlen(name);
    }
    if (w > 40)
        w = 40;
    double dur = jnum(e, "duration_s");
    for (size_t i = 0; i < json_array_size(sites); i++) {
        const json_t *s = json_array_get(sites, i);
        site_name(s, name, sizeof(name));
        char a[32], b[32], g[32], r[32];
        amount(jnum(s, "first_size"), bytes, false, a, sizeof(a));
        amount(jnum(s, "last_size"), bytes, false, b, sizeof(b));
        amount(jnum(s, "growth"), bytes, true, g, sizeof(g));
        amount(jnum(s, "growth_rate"), bytes, false, r, sizeof(r));
        fprintf(out, "%*s%s", TEXT_INDENT, "", tx(st, C_YELLOW));
        sparkline(out, json_object_get(s, "values"));
        fprintf(out, "%s  %s%-*s%s  %s over %lld %s, %s/%s", tx(st, C_RESET), tx(st, C_BOLD), (int)w, name,
                tx(st, C_RESET), g, snaps, what, r, each);
        double rps = jnum(s, "growth_rate_per_s");
        if (!isnan(rps) && !isnan(dur)) {
            char x[32];
            amount(rps, bytes, false, x, sizeof(x));
            fprintf(out, ", %s/s", x);
        }
        fprintf(out, "  %s(%s \u2192 %s)%s\n", tx(st, C_DIM), a, b, tx(st, C_RESET));
    }
    const json_t *tb = json_object_get(e, "traceback");
    size_t nt = json_array_size(tb);
    if (nt > 0) {
        fprintf(out, "%*s%sallocated at (most recent call last):%s\n", TEXT_INDENT, "", tx(st, C_DIM), tx(st, C_RESET));
        size_t from = nt > 8 ? nt - 8 : 0;
        if (from > 0)
            fprintf(out, "%*s  %s... %zu older frames%s\n", TEXT_INDENT, "", tx(st, C_DIM), from, tx(st, C_RESET));
        for (size_t i = from; i < nt; i++) {
            const json_t *fr = json_array_get(tb, i);
            fprintf(out, "%*s  %s:%lld\n", TEXT_INDENT, "", text_jstr(fr, "file") ? text_jstr(fr, "file") : "?",
                    (long long)json_integer_value(json_object_get(fr, "line")));
        }
    }
}

/* ---- object_distribution_anomaly -------------------------------------------------- */

/* A share as a bar of up to 20 cells. */
static void share_bar(FILE *out, double share)
{
    int cells = (int)(share * 20 + 0.5);
    for (int i = 0; i < 20; i++)
        fputs(i < cells ? "\u2588" : "\u00b7", out);
}

static void render_oda(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *e = f->evidence;
    const json_t *dv = json_object_get(e, "divergence");
    const char *base = text_jstr(e, "baseline");
    fprintf(out, "%*s%scompared with the %s: %s divergence %.3f (0 = same mix, 1 = nothing shared)%s\n", TEXT_INDENT,
            "", tx(st, C_DIM), base ? base : "baseline", text_jstr(dv, "method") ? text_jstr(dv, "method") : "?",
            jnum(dv, "value"), tx(st, C_RESET));
    const json_t *c = json_object_get(e, "contributors");
    size_t w = 0;
    char name[256];
    for (size_t i = 0; i < json_array_size(c) && i < 6; i++) {
        site_name(json_array_get(c, i), name, sizeof(name));
        if (text_jstr(json_array_get(c, i), "file") == NULL)
            snprintf(name, sizeof(name), "%s", text_jstr(json_array_get(c, i), "name"));
        if (strlen(name) > w)
            w = strlen(name);
    }
    for (size_t i = 0; i < json_array_size(c) && i < 6; i++) {
        const json_t *x = json_array_get(c, i);
        site_name(x, name, sizeof(name));
        if (text_jstr(x, "file") == NULL)
            snprintf(name, sizeof(name), "%s", text_jstr(x, "name"));
        double b = jnum(x, "baseline_share"), cur = jnum(x, "current_share");
        fprintf(out, "%*s%-*s  %s", TEXT_INDENT, "", (int)w, name, cur > b ? tx(st, C_YELLOW) : "");
        share_bar(out, cur);
        fprintf(out, "%s %5.1f%%  %s(was %.1f%%)%s\n", tx(st, C_RESET), cur * 100, tx(st, C_DIM), b * 100,
                tx(st, C_RESET));
    }
}

/* ---- handle_leak ------------------------------------------------------------------ */

static void render_handles(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *e = f->evidence;
    const char *res = text_jstr(e, "resource");
    fprintf(out, "%*s%s", TEXT_INDENT, "", tx(st, C_YELLOW));
    sparkline(out, json_object_get(e, "values"));
    fprintf(out, "%s  %s %.0f \u2192 %.0f over %.0f samples, %+.1f/sample", tx(st, C_RESET),
            res && strcmp(res, "fds") == 0 ? "open fds" : "threads", jnum(e, "first"), jnum(e, "last"),
            jnum(e, "samples"), jnum(e, "growth_rate"));
    if (!isnan(jnum(e, "growth_rate_per_s")))
        fprintf(out, ", %.1f/s over %.1f s", jnum(e, "growth_rate_per_s"), jnum(e, "duration_s"));
    fputc('\n', out);
}

/* ---- counter_value ---------------------------------------------------------------- */

static void print_at(FILE *out, const json_t *a)
{
    const json_t *v = json_object_get(a, "value");
    if (json_is_string(v))
        fputs(json_string_value(v), out);
    else
        fprintf(out, "%.6g", json_number_value(v));
    if (json_object_get(a, "step") != NULL)
        fprintf(out, " at step %lld", (long long)json_integer_value(json_object_get(a, "step")));
    const json_t *src = json_object_get(a, "source");
    if (json_object_get(src, "line") != NULL)
        fprintf(out, " (line %lld)", (long long)json_integer_value(json_object_get(src, "line")));
}

static void render_counter(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *list = json_object_get(f->evidence, "counters");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *c = json_array_get(list, i);
        fprintf(out, "%*s%s%s%s %s: first ", TEXT_INDENT, "", tx(st, C_BOLD), text_jstr(c, "counter"),
                tx(st, C_RESET), text_jstr(c, "kind"));
        print_at(out, json_object_get(c, "first_offending"));
        const json_t *ln = json_object_get(c, "last_normal");
        if (ln != NULL) {
            fprintf(out, "%s, last normal ", tx(st, C_DIM));
            print_at(out, ln);
            fputs(tx(st, C_RESET), out);
        }
        const json_t *r = json_object_get(c, "normal_range");
        if (json_array_size(r) == 2)
            fprintf(out, "%s, normal range %.4g .. %.4g%s", tx(st, C_DIM), json_number_value(json_array_get(r, 0)),
                    json_number_value(json_array_get(r, 1)), tx(st, C_RESET));
        fputc('\n', out);
    }
}

const struct text_renderer text_renderers_memory[] = {
    {"memory_leak", render_leak},
    {"object_distribution_anomaly", render_oda},
    {"handle_leak", render_handles},
    {"counter_value", render_counter},
    {NULL, NULL},
};
