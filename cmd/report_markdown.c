/* report_markdown.c -- the gate's verdict as Markdown: a pull-request comment or a job
 * summary ($GITHUB_STEP_SUMMARY, a GitLab MR note).
 *
 * Short by design: the verdict line, then a table of the new findings (the ones a
 * reviewer must look at), then the known, fixed and unchecked ones folded away in
 * <details>. Tables are cut at MD_MAX_ROWS rows and titles at MD_TITLE_MAX bytes
 * (never inside a UTF-8 sequence); text from the artifacts is escaped so a title
 * cannot break the table or inject markup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "gate.h"
#include "version.h"

#define MD_MAX_ROWS 50
#define MD_TITLE_MAX 140

/* s escaped for a table cell, at most max bytes of it. */
static void md_put(FILE *out, const char *s, size_t max)
{
    if (s == NULL)
        return;
    json_t *fixed = ev_json_cstr(s);
    const char *p = fixed ? json_string_value(fixed) : "?";
    size_t n = strlen(p), used = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (used >= max && (c & 0xC0) != 0x80) {
            fputs("...", out);
            break;
        }
        used++;
        if (c == '\n' || c == '\r' || c == '\t') {
            fputc(' ', out);
        } else if (c == '<') {
            fputs("&lt;", out);
        } else if (c == '>') {
            fputs("&gt;", out);
        } else if (c == '&') {
            fputs("&amp;", out);
        } else if (strchr("\\`*_[]|~#!", c) != NULL) {
            fputc('\\', out);
            fputc(c, out);
        } else if (c < 0x20) {
            fputc(' ', out);
        } else {
            fputc(c, out);
        }
    }
    json_decref(fixed);
}

/* A code span: "order_api.py:55" (the file's last component keeps the column narrow). */
static void md_where(FILE *out, const struct gate_item *it)
{
    const char *path = it->file != NULL ? it->file : it->stream;
    uint64_t line = it->file != NULL ? it->line : it->stream_line;
    if (path == NULL) {
        fputs("-", out);
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* A stream inside an archive: keep the member's name. */
    const char *bang = strrchr(path, '!');
    if (bang != NULL && bang + 1 > base)
        base = bang + 1;
    fputc('`', out);
    json_t *fixed = ev_json_cstr(base);
    for (const char *p = fixed ? json_string_value(fixed) : "?"; *p; p++)
        fputc(*p == '`' || *p == '|' || *p == '\n' ? '\'' : *p, out);
    json_decref(fixed);
    if (line > 0)
        fprintf(out, ":%llu", (unsigned long long)line);
    fputc('`', out);
}

static void table(FILE *out, const struct gate_result *g, enum gate_state st, bool with_count)
{
    fputs("| Severity | Pattern | Finding | Where | ", out);
    fputs(with_count ? "Count | Id |\n| --- | --- | --- | --- | ---: | --- |\n" : "Id |\n| --- | --- | --- | --- | --- |\n",
          out);
    size_t rows = 0, more = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct gate_item *it = &g->items[i];
        if (it->state != st)
            continue;
        if (rows == MD_MAX_ROWS) {
            more++;
            continue;
        }
        rows++;
        fprintf(out, "| %s%s%s | %s | ", it->fails ? "**" : "", severity_name(it->severity), it->fails ? "**" : "",
                it->pattern);
        md_put(out, it->title ? it->title : it->pattern, MD_TITLE_MAX);
        if (it->service != NULL) {
            fputs(" (", out);
            md_put(out, it->service, 40);
            fputs(")", out);
        }
        fputs(" | ", out);
        md_where(out, it);
        if (with_count)
            fprintf(out, " | %llu", (unsigned long long)it->count);
        fprintf(out, " | `%s` |\n", it->id);
    }
    if (more > 0)
        fprintf(out, "\n... and %zu more (the SARIF or JSON report has them all).\n", more);
}

int gate_write_markdown(FILE *out, const struct gate_result *g)
{
    bool failed = g->exit_code != 0;
    fprintf(out, "### pycorr gate: %s\n\n", failed ? "failed" : "passed");
    fputs("**", out);
    md_put(out, g->verdict, 600);
    fputs("**\n\n", out);
    if (g->nnew > 0) {
        fprintf(out, "#### %s (%zu)\n\n", g->has_baseline ? "New findings" : "Findings", g->nnew);
        table(out, g, GATE_NEW, true);
        fputc('\n', out);
    } else {
        fprintf(out, "No %sfindings.\n\n", g->has_baseline ? "new " : "");
    }
    static const char *const heads[] = {NULL, "Known findings (in the baseline)", "Fixed since the baseline",
                                        "Unchecked (in the baseline; this run read no artifacts that could show them)"};
    size_t counts[] = {g->nnew, g->nknown, g->nfixed, g->nunchecked};
    for (int st = GATE_KNOWN; st <= GATE_UNCHECKED; st++) {
        if (counts[st] == 0)
            continue;
        fprintf(out, "<details><summary>%s: %zu</summary>\n\n", heads[st], counts[st]);
        table(out, g, (enum gate_state)st, st == GATE_KNOWN);
        fputs("\n</details>\n\n", out);
    }
    if (g->stats != NULL)
        fprintf(out, "<sub>pycorr %s: %llu input%s, %llu records, %llu tracebacks; fails on new findings at or above "
                     "%s</sub>\n",
                PYCORR_VERSION, (unsigned long long)g->stats->inputs, g->stats->inputs == 1 ? "" : "s",
                (unsigned long long)g->stats->events, (unsigned long long)g->stats->exceptions,
                severity_name(g->fail_on));
    return 0;
}
