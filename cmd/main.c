/* main.c -- the pycorr executable: subcommands, sinks, the one exit path.
 *
 * Only cmd/ prints and chooses exit codes. Every byte of output goes through one
 * FILE, checked once at exit, so a full disk or a closed pipe is never reported as
 * success.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../correlate/ev_json.h"
#include "../patterns/pattern.h"
#include "cli.h"
#include "pipeline.h"
#include "report.h"

/* ---- `pycorr events`: every event as one JSON line ---- */

static int events_sink(void *ctx, const struct event *ev)
{
    FILE *out = ctx;
    json_t *j = ev_to_json(ev);
    if (j == NULL)
        return -1;
    int rc = json_dumpf(j, out, JSON_COMPACT);
    json_decref(j);
    if (rc != 0 || fputc('\n', out) == EOF)
        return ferror(out) ? 1 : -1; /* stop: the output is gone */
    return 0;
}

/* ---- `pycorr ingest` / `gate`: events through the detectors ---- */

struct detectors {
    const struct pattern *pat[16];
    void *st[16];
    size_t n;
    struct finding_store *store;
    bool oom;
};

static int detectors_sink(void *ctx, const struct event *ev)
{
    struct detectors *d = ctx;
    for (size_t i = 0; i < d->n; i++)
        if ((d->pat[i]->kinds & (1u << ev->kind)) && d->pat[i]->on_event(d->st[i], ev) != 0)
            d->oom = true;
    return 0;
}

static int detectors_init(struct detectors *d)
{
    memset(d, 0, sizeof(*d));
    d->store = finding_store_create(0);
    if (d->store == NULL)
        return -1;
    for (size_t i = 0; pattern_registry[i] != NULL && d->n < 16; i++) {
        struct pat_config cfg;
        if (pattern_config_defaults(pattern_registry[i], &cfg) != 0)
            return -1;
        void *st = pattern_registry[i]->create(&cfg, d->store);
        if (st == NULL)
            return -1;
        d->pat[d->n] = pattern_registry[i];
        d->st[d->n] = st;
        d->n++;
    }
    return 0;
}

static void detectors_free(struct detectors *d)
{
    for (size_t i = 0; i < d->n; i++)
        d->pat[i]->destroy(d->st[i]);
    finding_store_destroy(d->store);
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

static void print_summary_line(const struct cli *cli, const struct run_stats *s, size_t nfind,
                               size_t at_or_above)
{
    if (cli->quiet)
        return;
    if (cli->cmd == CMD_GATE) {
        if (at_or_above > 0)
            fprintf(stderr, "pycorr: gate failed: %zu finding%s at or above %s\n", at_or_above,
                    at_or_above == 1 ? "" : "s", severity_name(cli->fail_on));
        else
            fprintf(stderr, "pycorr: gate passed: %zu finding%s, none at or above %s\n", nfind,
                    nfind == 1 ? "" : "s", severity_name(cli->fail_on));
    }
    (void)s;
}

static int run_rules(const struct cli *cli, FILE *out)
{
    const char *action = cli->rules_action ? cli->rules_action : "list";
    if (strcmp(action, "list") != 0) {
        fprintf(stderr, "pycorr: rules %s: not available in this version (the rules engine is not built yet)\n",
                action);
        return EXIT_USAGE;
    }
    for (size_t i = 0; pattern_registry[i] != NULL; i++) {
        const struct pattern *p = pattern_registry[i];
        fprintf(out, "%-20s builtin.%s\n  %s\n  consumes:", p->name, p->name, p->description);
        for (int k = 0; k < EV_KIND_COUNT; k++)
            if (p->kinds & (1u << k))
                fprintf(out, " %s", ev_kind_name((enum ev_kind)k));
        fputc('\n', out);
        for (size_t j = 0; p->params != NULL && p->params[j].name != NULL; j++)
            fprintf(out, "  %-20s = %-8s %s\n", p->params[j].name, p->params[j].default_value, p->params[j].help);
        fputc('\n', out);
    }
    return EXIT_OK;
}

static int finish_output(FILE *out, int code)
{
    if (fflush(out) != 0 || ferror(out)) {
        if (errno != EPIPE)
            fprintf(stderr, "pycorr: error: cannot write the output: %s\n", strerror(errno));
        return EXIT_OUTPUT;
    }
    if (out != stdout && fclose(out) != 0) {
        fprintf(stderr, "pycorr: error: cannot write the output: %s\n", strerror(errno));
        return EXIT_OUTPUT;
    }
    return code;
}

int main(int argc, char **argv)
{
    struct cli cli;
    bool stop;
    /* A closed pipe is an error we report through the exit code, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    int code = cli_parse(argc, argv, &cli, &stop);
    if (code != EXIT_OK || stop) {
        if (stop && (fflush(stdout) != 0 || ferror(stdout)))
            code = EXIT_OUTPUT;
        cli_free(&cli);
        return code;
    }
    if (cli.nrules > 0) {
        fprintf(stderr, "pycorr: --rules: the rules engine is not built yet; only the shipped detectors run\n");
        cli_free(&cli);
        return EXIT_USAGE;
    }
    if (cli.cmd == CMD_CONSUME) {
        fprintf(stderr, "pycorr: consume: the Kafka consumer is not built yet\n");
        cli_free(&cli);
        return EXIT_USAGE;
    }
    FILE *out = stdout;
    if (cli.output != NULL && strcmp(cli.output, "-") != 0) {
        out = fopen(cli.output, "w");
        if (out == NULL) {
            fprintf(stderr, "pycorr: error: cannot open %s for writing: %s\n", cli.output, strerror(errno));
            cli_free(&cli);
            return EXIT_OUTPUT;
        }
    }
    if (cli.cmd == CMD_RULES) {
        code = finish_output(out, run_rules(&cli, out));
        cli_free(&cli);
        return code;
    }

    struct pipeline pl = {.cli = &cli, .progress = pipeline_wants_progress(&cli)};
    if (cli.cmd == CMD_EVENTS) {
        pl.sink = events_sink;
        pl.sink_ctx = out;
        int rc = pipeline_run(&pl);
        code = rc < 0 ? EXIT_INPUT : (pl.stats.unreadable ? EXIT_INPUT : EXIT_OK);
        code = finish_output(out, code);
        cli_free(&cli);
        return code;
    }

    struct detectors det;
    if (detectors_init(&det) != 0) {
        fprintf(stderr, "pycorr: error: out of memory\n");
        detectors_free(&det);
        cli_free(&cli);
        return EXIT_INPUT;
    }
    pl.sink = detectors_sink;
    pl.sink_ctx = &det;
    int rc = pipeline_run(&pl);
    for (size_t i = 0; i < det.n; i++)
        if (det.pat[i]->flush(det.st[i]) != 0)
            det.oom = true;
    if (det.oom)
        fprintf(stderr, "pycorr: warning: memory ran short; some events were not analyzed\n");
    size_t n;
    struct finding **f = finding_store_sorted(det.store, &n);
    enum out_format fmt = cli.format_set ? cli.format : FMT_TEXT;
    struct report_ctx rctx = {
        .out = out,
        .color = fmt == FMT_TEXT && want_color(&cli, out),
        .stats = &pl.stats,
        .dropped_findings = finding_store_dropped(det.store),
        .command = cli.cmd == CMD_GATE ? "gate" : "ingest",
    };
    if (report_write(fmt, f, n, &rctx) != 0)
        fprintf(stderr, "pycorr: error: out of memory while writing the report\n");
    size_t above = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i]->severity >= cli.fail_on && (cli.fail_on_set || cli.cmd == CMD_GATE))
            above++;
    code = above > 0 ? EXIT_FINDINGS : EXIT_OK;
    if (rc < 0 || pl.stats.unreadable > 0)
        code = EXIT_INPUT;
    print_summary_line(&cli, &pl.stats, n, above);
    code = finish_output(out, code);
    detectors_free(&det);
    cli_free(&cli);
    return code;
}
