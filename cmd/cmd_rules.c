/* cmd_rules.c -- `pycorr rules list | check FILE... | test [FILE...]`.
 *
 * list prints every rule (id, kind, pattern, severity, description, source) and the
 * detectors' parameters as the rules set them. check parses files and reports the
 * first error as file:line:col (exit 2). test runs the example blocks of rule files:
 * each `expect` is judged on a fresh analysis of the events before it, run through
 * the JSON-lines parser exactly as ingest would read them.
 */
#include <stdlib.h>
#include <string.h>

#include "../parsers/parser.h"
#include "../rules/ruleset_private.h"
#include "analysis.h"
#include "commands.h"

static struct ruleset *load(const struct cli *cli, const char *const *files, size_t nfiles, char *err, size_t errsz)
{
    struct ruleset *rs = ruleset_create();
    if (rs == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cli->nrules; i++)
        if (ruleset_add_path(rs, cli->rules[i], err, errsz) != 0)
            goto fail;
    for (size_t i = 0; i < nfiles; i++)
        if (ruleset_add_path(rs, files[i], err, errsz) != 0)
            goto fail;
    if (ruleset_add_shipped(rs, err, errsz) != 0 || ruleset_finalize(rs, err, errsz) != 0)
        goto fail;
    return rs;
fail:
    ruleset_free(rs);
    return NULL;
}

struct feed_ctx {
    struct analysis *an;
    unsigned diags;
    char diag[256];
};

static int to_analysis(void *ctx, const struct event *ev)
{
    return analysis_sink(((struct feed_ctx *)ctx)->an, ev);
}

static void on_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    struct feed_ctx *fc = ctx;
    (void)stream;
    (void)line;
    if (fc->diags++ == 0)
        snprintf(fc->diag, sizeof(fc->diag), "%s", reason);
}

/* Judge expectation k of test t. Returns 1 passed, 0 failed (described on out). */
static int judge(const struct ruleset *rs, const struct rule_test *t, size_t k, FILE *out)
{
    const struct test_item *x = &t->items[k];
    struct cli cli;
    memset(&cli, 0, sizeof(cli));
    cli.no_correlate = true;
    char err[512];
    struct analysis *an = analysis_create(&cli, rs, err, sizeof(err));
    if (an == NULL) {
        fprintf(out, "%s:%d: %s\n", t->source, x->line, err);
        return 0;
    }
    struct feed_ctx fc = {.an = an};
    struct parser_env env = {
        .stream = t->source,
        .emit = to_analysis,
        .emit_ctx = &fc,
        .diag = on_diag,
        .diag_ctx = &fc,
        .limits = &parse_limits_default,
    };
    const struct parser *p = parser_by_name("jsonl");
    void *st = p->open(&env);
    for (size_t i = 0; i < k && st != NULL; i++) {
        if (!t->items[i].is_event)
            continue;
        p->feed(st, t->items[i].json, strlen(t->items[i].json));
        p->feed(st, "\n", 1);
    }
    if (st != NULL) {
        p->finish(st);
        p->close(st);
    }
    int ok = 1;
    if (fc.diags) {
        fprintf(out, "%s:%d: test %s: an event is not valid JSON: %s\n", t->source, x->line, t->rule_id, fc.diag);
        ok = 0;
    }
    analysis_flush(an);
    size_t n;
    struct analysis_counts counts;
    struct finding **f = analysis_findings(an, &n, &counts);
    uint64_t total = 0;
    bool sev_seen = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i]->rule, t->rule_id) != 0)
            continue;
        total += f[i]->count;
        sev_seen |= x->severity < 0 || (int)f[i]->severity == x->severity;
    }
    if (ok && x->expect_none && total > 0) {
        fprintf(out, "%s:%d: test %s: expected no finding, got %llu\n", t->source, x->line, t->rule_id,
                (unsigned long long)total);
        ok = 0;
    } else if (ok && !x->expect_none) {
        if (total == 0) {
            fprintf(out, "%s:%d: test %s: expected a finding, got none\n", t->source, x->line, t->rule_id);
            ok = 0;
        } else if (x->count >= 0 && (long long)total != x->count) {
            fprintf(out, "%s:%d: test %s: expected count %lld, got %llu\n", t->source, x->line, t->rule_id, x->count,
                    (unsigned long long)total);
            ok = 0;
        } else if (!sev_seen) {
            fprintf(out, "%s:%d: test %s: expected severity %s\n", t->source, x->line, t->rule_id,
                    severity_name((enum severity)x->severity));
            ok = 0;
        }
    }
    analysis_destroy(an);
    return ok;
}

static int run_tests(const struct ruleset *rs, const char *const *files, size_t nfiles, FILE *out)
{
    unsigned tests = 0, failed = 0, expects = 0;
    for (size_t i = 0; i < rs->ntests; i++) {
        const struct rule_test *t = rs->tests[i];
        bool wanted = nfiles == 0;
        for (size_t k = 0; k < nfiles && !wanted; k++)
            wanted = strcmp(t->source, files[k]) == 0 || strncmp(t->source, files[k], strlen(files[k])) == 0;
        if (!wanted)
            continue;
        tests++;
        bool ok = true;
        for (size_t k = 0; k < t->nitems; k++) {
            if (t->items[k].is_event)
                continue;
            expects++;
            if (!judge(rs, t, k, stderr))
                ok = false;
        }
        if (!ok)
            failed++;
        fprintf(out, "%s %s (%s:%d)\n", ok ? "ok  " : "FAIL", t->rule_id, t->source, t->line);
    }
    fprintf(out, "%u rule tests, %u expectations: %u passed, %u failed\n", tests, expects, tests - failed, failed);
    if (tests == 0 && nfiles > 0) {
        fprintf(stderr, "pycorr: rules test: no test blocks in the given files\n");
        return EXIT_USAGE;
    }
    return failed ? EXIT_FINDINGS : EXIT_OK;
}

int cmd_rules(const struct cli *cli, FILE *out)
{
    const char *action = cli->rules_action ? cli->rules_action : "list";
    char err[RULES_ERRSZ];
    bool check = strcmp(action, "check") == 0, test = strcmp(action, "test") == 0;
    if (!check && !test && strcmp(action, "list") != 0) {
        fprintf(stderr, "pycorr: rules: unknown action '%s' (list, check FILE..., test [FILE...])\n", action);
        return EXIT_USAGE;
    }
    if (check && cli->npaths == 0) {
        fprintf(stderr, "pycorr: rules check: name the rule files to check\n");
        return EXIT_USAGE;
    }
    struct ruleset *rs = load(cli, cli->paths, cli->npaths, err, sizeof(err));
    if (rs == NULL) {
        fprintf(stderr, "pycorr: %s\n", err);
        return EXIT_USAGE;
    }
    int code = EXIT_OK;
    if (check) {
        for (size_t i = 0; i < cli->npaths; i++) {
            size_t nr = 0, ns = 0, nt = 0;
            for (size_t k = 0; k < rs->nrules; k++)
                nr += strcmp(rs->rules[k]->source, cli->paths[i]) == 0;
            for (size_t k = 0; k < rs->nsups; k++)
                ns += strcmp(rs->sups[k]->source, cli->paths[i]) == 0;
            for (size_t k = 0; k < rs->ntests; k++)
                nt += strcmp(rs->tests[k]->source, cli->paths[i]) == 0;
            fprintf(out, "%s: ok (%zu rules, %zu suppressions, %zu tests)\n", cli->paths[i], nr, ns, nt);
        }
    } else if (test) {
        code = run_tests(rs, cli->paths, cli->npaths, out);
    } else {
        ruleset_list(rs, out);
    }
    ruleset_free(rs);
    return code;
}
