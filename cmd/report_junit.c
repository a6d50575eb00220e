/* report_junit.c -- the gate's verdict as JUnit XML, for CI test views (GitLab's
 * artifacts:reports:junit, Jenkins, Azure Pipelines, GitHub test reporters).
 *
 * One testsuite "pycorr gate"; one testcase per rule (classname pycorr.PATTERN, name
 * the rule id): a rule with new findings at or above --fail-on fails, and the
 * failure's text lists those findings (severity, title, code location, service, where
 * seen, id); every other finding of the rule (known, new below the threshold, fixed,
 * unchecked) is listed in its system-out. Detectors that found nothing are passing
 * testcases, so the test view shows what was checked. Inputs that could not be read
 * are one errored testcase.
 *
 * Text from the artifacts is made valid UTF-8 and stripped of the characters XML 1.0
 * cannot carry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../correlate/ev_json.h"
#include "../patterns/pattern.h"
#include "gate.h"
#include "version.h"

/* s as XML character data (attr: inside a double-quoted attribute). */
static void xml_put(FILE *out, const char *s, bool attr)
{
    if (s == NULL)
        return;
    json_t *fixed = ev_json_cstr(s); /* valid UTF-8, or NULL when memory ran out */
    const unsigned char *p = (const unsigned char *)(fixed ? json_string_value(fixed) : "?");
    for (; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs(attr ? "&quot;" : "\"", out); break;
        case '\n': fputs(attr ? "&#10;" : "\n", out); break;
        case '\t': fputs(attr ? "&#9;" : "\t", out); break;
        case '\r': fputs("&#13;", out); break;
        default:
            /* Control characters are not XML 1.0 characters at all. */
            if (*p < 0x20)
                fputs("\xEF\xBF\xBD", out);
            else
                fputc(*p, out);
        }
    }
    json_decref(fixed);
}

static const char *rule_id(const struct gate_item *it)
{
    return it->rule != NULL ? it->rule : it->pattern;
}

static void item_text(FILE *out, const struct gate_item *it)
{
    char sev[16];
    const char *s = severity_name(it->severity);
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof(sev); i++)
        sev[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    sev[i] = '\0';
    fprintf(out, "%s [%s] ", sev, gate_state_name(it->state));
    xml_put(out, it->title ? it->title : it->pattern, false);
    if (it->count > 1)
        fprintf(out, " (x%llu)", (unsigned long long)it->count);
    fputs("\n    ", out);
    if (it->file != NULL) {
        fputs("at ", out);
        xml_put(out, it->file, false);
        fprintf(out, ":%u  ", it->line);
    }
    if (it->service != NULL) {
        fputs("service ", out);
        xml_put(out, it->service, false);
        fputs("  ", out);
    }
    if (it->stream != NULL) {
        fputs("seen at ", out);
        xml_put(out, it->stream, false);
        if (it->stream_line)
            fprintf(out, ":%llu", (unsigned long long)it->stream_line);
        fputs("  ", out);
    }
    fprintf(out, "id %s\n", it->id);
}

/* One testcase for the items of rule (indices in order). */
static void testcase(FILE *out, const struct gate_result *g, const char *rule, const char *pattern)
{
    size_t fails = 0, others = 0;
    enum severity worst = SEV_INFO;
    for (size_t i = 0; i < g->n; i++) {
        const struct gate_item *it = &g->items[i];
        if (strcmp(rule_id(it), rule) != 0)
            continue;
        if (it->fails) {
            fails++;
            if (it->severity > worst)
                worst = it->severity;
        } else {
            others++;
        }
    }
    fputs("    <testcase classname=\"pycorr.", out);
    xml_put(out, pattern, true);
    fputs("\" name=\"", out);
    xml_put(out, rule, true);
    fputs("\" time=\"0\"", out);
    if (fails == 0 && others == 0) {
        fputs("/>\n", out);
        return;
    }
    fputs(">\n", out);
    if (fails > 0) {
        fprintf(out, "      <failure type=\"%s\" message=\"%zu new finding%s at or above %s\">", severity_name(worst),
                fails, fails == 1 ? "" : "s", severity_name(g->fail_on));
        for (size_t i = 0; i < g->n; i++)
            if (g->items[i].fails && strcmp(rule_id(&g->items[i]), rule) == 0)
                item_text(out, &g->items[i]);
        fputs("</failure>\n", out);
    }
    if (others > 0) {
        fputs("      <system-out>", out);
        for (size_t i = 0; i < g->n; i++)
            if (!g->items[i].fails && strcmp(rule_id(&g->items[i]), rule) == 0)
                item_text(out, &g->items[i]);
        fputs("</system-out>\n", out);
    }
    fputs("    </testcase>\n", out);
}

int gate_write_junit(FILE *out, const struct gate_result *g)
{
    /* The rules with items, in order of first appearance (most severe first). */
    const char **rules = calloc(g->n + 1, sizeof(*rules));
    const char **pats = calloc(g->n + 1, sizeof(*pats));
    if (rules == NULL || pats == NULL) {
        free(rules);
        free(pats);
        return -1;
    }
    size_t nr = 0, failing_rules = 0;
    for (size_t i = 0; i < g->n; i++) {
        const char *r = rule_id(&g->items[i]);
        size_t k = 0;
        while (k < nr && strcmp(rules[k], r) != 0)
            k++;
        if (k == nr) {
            rules[nr] = r;
            pats[nr++] = g->items[i].pattern;
        }
    }
    for (size_t k = 0; k < nr; k++) {
        bool f = false;
        for (size_t i = 0; i < g->n && !f; i++)
            f = g->items[i].fails && strcmp(rule_id(&g->items[i]), rules[k]) == 0;
        failing_rules += f;
    }
    /* Detectors without findings pass. Their rule id is the shipped one (the pattern's
     * name); a detector whose pattern has items already has its testcase. */
    size_t quiet = 0;
    for (size_t i = 0; pattern_registry[i] != NULL; i++) {
        bool has = false;
        for (size_t k = 0; k < nr && !has; k++)
            has = strcmp(pats[k], pattern_registry[i]->name) == 0;
        quiet += !has;
    }
    bool input_error = g->stats != NULL && g->stats->unreadable > 0;
    size_t tests = nr + quiet + (input_error ? 1 : 0);
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out, "<testsuites name=\"pycorr gate\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"0\">\n", tests,
            failing_rules, input_error ? 1 : 0);
    fprintf(out,
            "  <testsuite name=\"pycorr gate\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" skipped=\"0\" "
            "time=\"0\" timestamp=\"%s\">\n",
            tests, failing_rules, input_error ? 1 : 0, ts);
    fputs("    <properties>\n      <property name=\"pycorr.version\" value=\"" PYCORR_VERSION "\"/>\n", out);
    fprintf(out, "      <property name=\"fail_on\" value=\"%s\"/>\n", severity_name(g->fail_on));
    fputs("      <property name=\"verdict\" value=\"", out);
    xml_put(out, g->verdict, true);
    fputs("\"/>\n    </properties>\n", out);
    if (input_error) {
        fprintf(out,
                "    <testcase classname=\"pycorr.gate\" name=\"inputs\" time=\"0\">\n"
                "      <error type=\"unreadable\" message=\"%llu input%s could not be read\"/>\n"
                "    </testcase>\n",
                (unsigned long long)g->stats->unreadable, g->stats->unreadable == 1 ? "" : "s");
    }
    for (size_t k = 0; k < nr; k++)
        testcase(out, g, rules[k], pats[k]);
    for (size_t i = 0; pattern_registry[i] != NULL; i++) {
        bool has = false;
        for (size_t k = 0; k < nr && !has; k++)
            has = strcmp(pats[k], pattern_registry[i]->name) == 0;
        if (has)
            continue;
        char rule[128];
        snprintf(rule, sizeof(rule), "%s", pattern_registry[i]->name); /* the shipped rule id */
        testcase(out, g, rule, pattern_registry[i]->name);
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
    free(rules);
    free(pats);
    return 0;
}
