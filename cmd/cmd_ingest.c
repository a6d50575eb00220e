/* cmd_ingest.c -- `pycorr ingest`: events through the detectors,
 * findings to the report, the exit code from --fail-on. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../rules/rules.h"
#include "analysis.h"
#include "commands.h"
#include "pipeline.h"
#include "report.h"

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

int cmd_ingest(const struct cli *cli, FILE *out)
{
    char err[512];
    struct ruleset *rs = analysis_load_rules(cli, err, sizeof(err));
    if (rs == NULL) {
        fprintf(stderr, "pycorr: error: %s\n", err);
        return EXIT_USAGE;
    }
    struct analysis *an = analysis_create(cli, rs, err, sizeof(err));
    if (an == NULL) {
        fprintf(stderr, "pycorr: error: %s\n", err);
        ruleset_free(rs);
        return EXIT_USAGE;
    }
    struct pipeline pl = {.cli = cli, .progress = pipeline_wants_progress(cli)};
    pl.sink = analysis_sink;
    pl.sink_ctx = an;
    int rc = pipeline_run(&pl);
    analysis_flush(an);
    if (analysis_lost_events(an))
        fprintf(stderr, "pycorr: warning: memory ran short; some events were not analyzed\n");
    size_t n;
    struct analysis_counts counts;
    struct finding **f = analysis_findings(an, &n, &counts);
    for (size_t i = 0; i < counts.nexpired && !cli->quiet; i++)
        fprintf(stderr, "pycorr: warning: %s\n", counts.expired[i]);
    size_t traces_dropped = 0;
    enum out_format fmt = cli->format_set ? cli->format : FMT_TEXT;
    struct report_ctx rctx = {
        .out = out,
        .color = fmt == FMT_TEXT && want_color(cli, out),
        .stats = &pl.stats,
        .dropped_findings = finding_store_dropped(analysis_store(an)),
        .folded_findings = counts.folded,
        .suppressed_findings = counts.suppressed,
        .corr = analysis_corr_stats(an),
        .traces = cli->by_trace ? analysis_failing_traces(an, &traces_dropped) : NULL,
        .command = "ingest",
    };
    rctx.traces_dropped = traces_dropped;
    if (report_write(fmt, f, n, &rctx) != 0)
        fprintf(stderr, "pycorr: error: out of memory while writing the report\n");
    size_t above = 0;
    bool gating = cli->fail_on_set; /* pycorr gate is cmd_gate.c */
    for (size_t i = 0; i < n && gating; i++)
        above += f[i]->severity >= cli->fail_on;
    int code = above > 0 ? EXIT_FINDINGS : EXIT_OK;
    if (rc < 0 || pl.stats.unreadable > 0)
        code = EXIT_INPUT;
    analysis_destroy(an);
    ruleset_free(rs);
    return code;
}
