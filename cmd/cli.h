/* cli.h -- what the user asked for: subcommand, options and paths.
 *
 * Options are declared once as data (cli.c); the parser, --help and the README
 * table come from that one table.
 */
#ifndef PYCORR_CLI_H
#define PYCORR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../parsers/parser.h"
#include "../patterns/finding.h"

/* Exit codes (DESIGN §2), documented in --help and the README. */
enum exit_code {
    EXIT_OK = 0,          /* success, nothing at or above --fail-on */
    EXIT_FINDINGS = 1,    /* a finding at or above --fail-on */
    EXIT_USAGE = 2,       /* bad usage or a rule-file error */
    EXIT_INPUT = 3,       /* an input could not be read at all */
    EXIT_OUTPUT = 4,      /* the output could not be written (disk full, broken pipe) */
};

enum command { CMD_NONE = 0, CMD_INGEST, CMD_EVENTS, CMD_GATE, CMD_CONSUME, CMD_RULES };
/* sarif, junit and markdown are written by `pycorr gate` only. */
enum out_format { FMT_TEXT = 0, FMT_JSON, FMT_JSONL, FMT_SARIF, FMT_JUNIT, FMT_MARKDOWN };
enum color_mode { COLOR_AUTO = 0, COLOR_ALWAYS, COLOR_NEVER };

struct cli {
    enum command cmd;
    const char *rules_action;   /* for `rules`: list, check */
    enum out_format format;
    bool format_set;
    const char *output;         /* -o FILE; NULL = stdout */
    bool fail_on_set;
    enum severity fail_on;
    struct field_map map;
    const char *parser;         /* --parser NAME: skip detection */
    bool quiet;
    bool no_progress;
    enum color_mode color;
    const char **rules;         /* --rules PATH (repeatable) */
    size_t nrules;
    /* consume (issue #6) */
    const char *brokers;        /* --brokers; "mock:" = librdkafka's in-process mock cluster */
    const char **topics;        /* --topic (repeatable) */
    size_t ntopics;
    const char *topic_regex;    /* --topic-regex */
    const char *group;          /* --group; NULL = "pycorr" */
    const char *findings_topic; /* --findings-topic */
    const char *dead_letter_topic;
    double stats_interval;      /* seconds; < 0 = the default */
    const char **kafka_props;   /* -X key=value (repeatable), in order */
    size_t nkafka_props;
    bool exit_at_end;           /* --exit-at-end */
    const char **paths;
    size_t npaths;
    /* correlation (issue #4) */
    bool no_correlate;
    bool by_trace;
    int64_t window_ns, lateness_ns, trace_idle_ns; /* 0 = the correlator's defaults */
    size_t max_traces;
    /* gate (issue #7) */
    const char **baselines;     /* --baseline PATH (repeatable): artifacts or a baseline file */
    size_t nbaselines;
    const char *write_baseline; /* --write-baseline FILE */
    const char *sarif_out;      /* --sarif FILE */
    const char *junit_out;      /* --junit FILE */
    const char *markdown_out;   /* --markdown FILE */
};

/* Parse argv into cli. Returns EXIT_OK to go on, or an exit code to stop with
 * (after --help/--version, EXIT_OK with *stop set; usage errors print to stderr). */
int cli_parse(int argc, char **argv, struct cli *cli, bool *stop);
void cli_free(struct cli *cli);
void cli_usage(FILE *out);

#endif
