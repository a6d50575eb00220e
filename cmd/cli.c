/* cli.c -- argument parsing from one table of options; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

enum opt_id {
    OPT_FORMAT,
    OPT_OUTPUT,
    OPT_FAIL_ON,
    OPT_MAP,
    OPT_RULES,
    OPT_PARSER,
    OPT_BROKERS,
    OPT_TOPIC,
    OPT_TOPIC_REGEX,
    OPT_GROUP,
    OPT_FINDINGS_TOPIC,
    OPT_DEAD_LETTER_TOPIC,
    OPT_STATS_INTERVAL,
    OPT_KAFKA_PROP,
    OPT_EXIT_AT_END,
    OPT_QUIET,
    OPT_NO_PROGRESS,
    OPT_COLOR,
    OPT_HELP,
    OPT_VERSION,
    OPT_WINDOW,
    OPT_LATENESS,
    OPT_TRACE_IDLE,
    OPT_MAX_TRACES,
    OPT_BY_TRACE,
    OPT_NO_CORRELATE,
    OPT_BASELINE,
    OPT_WRITE_BASELINE,
    OPT_SARIF,
    OPT_JUNIT,
    OPT_MARKDOWN,
};

#define C(x) (1u << (x))
#define ANALYZE (C(CMD_INGEST) | C(CMD_GATE) | C(CMD_CONSUME))
#define READING (ANALYZE | C(CMD_EVENTS))

struct opt {
    const char *name;
    char short_name;
    const char *metavar; /* NULL for a flag */
    unsigned commands;   /* where it is accepted */
    enum opt_id id;
    const char *help;
};

static const struct opt options[] = {
    {"format", 'f', "FMT", READING, OPT_FORMAT,
     "output format: text (default on a terminal for findings), json, jsonl; gate also sarif, junit, markdown"},
    {"output", 'o', "FILE", READING, OPT_OUTPUT, "write the output to FILE instead of stdout"},
    {"fail-on", 0, "SEV", ANALYZE, OPT_FAIL_ON,
     "exit 1 when a finding is at or above SEV (info low medium high critical); gate: high"},
    {"map", 0, "ROLE=FIELD", READING, OPT_MAP,
     "structured logs: take ROLE (ts level message logger service host pid thread trace_id "
     "span_id exception exc_type exc_message) from FIELD (dotted for nested objects)"},
    {"rules", 0, "PATH", ANALYZE | C(CMD_RULES), OPT_RULES, "add the rules in PATH to the shipped ones"},
    {"parser", 0, "NAME", READING, OPT_PARSER, "skip format detection and read every input as NAME (text, jsonl)"},
    {"brokers", 0, "HOST:PORT,...", C(CMD_CONSUME), OPT_BROKERS,
     "consume: Kafka bootstrap brokers; 'mock:' starts librdkafka's mock cluster in-process"},
    {"topic", 0, "TOPIC", C(CMD_CONSUME), OPT_TOPIC, "consume: a topic to read (repeatable)"},
    {"topic-regex", 0, "REGEX", C(CMD_CONSUME), OPT_TOPIC_REGEX, "consume: read every topic whose name matches REGEX"},
    {"group", 0, "GROUP", C(CMD_CONSUME), OPT_GROUP, "consume: the consumer group (default pycorr)"},
    {"findings-topic", 0, "TOPIC", C(CMD_CONSUME), OPT_FINDINGS_TOPIC,
     "consume: also publish findings (JSON) to TOPIC, keyed by trace id, idempotently"},
    {"dead-letter-topic", 0, "TOPIC", C(CMD_CONSUME), OPT_DEAD_LETTER_TOPIC,
     "consume: send poison messages (malformed, oversized) to TOPIC"},
    {"stats-interval", 0, "SECONDS", C(CMD_CONSUME), OPT_STATS_INTERVAL,
     "consume: a stats line on stderr every SECONDS (default 60, 0 = only on SIGUSR1)"},
    {"kafka-property", 'X', "KEY=VALUE", C(CMD_CONSUME), OPT_KAFKA_PROP,
     "consume: a librdkafka property, as kcat -X (security.protocol, sasl.*, fetch sizes)"},
    {"exit-at-end", 0, NULL, C(CMD_CONSUME), OPT_EXIT_AT_END,
     "consume: stop once every assigned partition is read to its end (as kcat -e)"},
    {"quiet", 'q', NULL, READING, OPT_QUIET, "no warnings about malformed records, no summary"},
    {"no-progress", 0, NULL, READING, OPT_NO_PROGRESS, "no progress line on stderr"},
    {"color", 0, "WHEN", READING, OPT_COLOR, "colour the text report: auto (default), always, never"},
    {"by-trace", 0, NULL, ANALYZE, OPT_BY_TRACE, "text report: each failing trace as a timeline, across services"},
    {"window", 0, "DUR", ANALYZE, OPT_WINDOW,
     "join an event without a trace id to its process's active trace within DUR (5s)"},
    {"lateness", 0, "DUR", ANALYZE, OPT_LATENESS, "tolerate inputs out of time order by DUR (5s)"},
    {"trace-idle", 0, "DUR", ANALYZE, OPT_TRACE_IDLE, "close a trace after DUR without events (30s)"},
    {"max-traces", 0, "N", ANALYZE, OPT_MAX_TRACES, "open traces kept at most; the oldest is closed early (20000)"},
    {"no-correlate", 0, NULL, ANALYZE, OPT_NO_CORRELATE, "skip correlation by trace and time (for comparison)"},
    {"baseline", 0, "PATH", C(CMD_GATE), OPT_BASELINE,
     "gate: the previous run's artifacts or a --write-baseline file; findings in it are known and do not "
     "fail the gate (repeatable)"},
    {"write-baseline", 0, "FILE", C(CMD_GATE), OPT_WRITE_BASELINE,
     "gate: write this run's findings (and package versions) as a baseline file for the next run"},
    {"sarif", 0, "FILE", C(CMD_GATE), OPT_SARIF, "gate: also write SARIF 2.1.0 to FILE (code scanning)"},
    {"junit", 0, "FILE", C(CMD_GATE), OPT_JUNIT, "gate: also write JUnit XML to FILE, one testcase per rule"},
    {"markdown", 0, "FILE", C(CMD_GATE), OPT_MARKDOWN,
     "gate: also write a Markdown summary to FILE (a PR comment, $GITHUB_STEP_SUMMARY)"},
    {"help", 'h', NULL, ~0u, OPT_HELP, "show this help"},
    {"version", 'V', NULL, ~0u, OPT_VERSION, "show the version"},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct {
    const char *name;
    enum command cmd;
    const char *synopsis;
} commands[] = {
    {"ingest", CMD_INGEST, "ingest [options] PATH...      analyze files, directories, archives, '-' (stdin)"},
    {"events", CMD_EVENTS, "events [options] PATH...      print the normalized events, one JSON object a line"},
    {"gate", CMD_GATE, "gate [--baseline P] PATH...   CI: exit 1 on new findings >= --fail-on (high); SARIF, JUnit"},
    {"consume", CMD_CONSUME, "consume --brokers B --topic T  consume Kafka topics as a consumer group member"},
    {"rules", CMD_RULES, "rules list|check FILE...|test [FILE...]  the rules: list, check, run their tests"},
};

void cli_usage(FILE *out)
{
    fprintf(out,
            "pycorr %s -- read what a Python program left behind, name the problem\n\n"
            "usage: pycorr COMMAND [options] PATH...\n\n",
            PYCORR_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  pycorr %s\n", commands[i].synopsis);
    fprintf(out, "\noptions:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        char left[64];
        if (options[i].short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", options[i].short_name, options[i].name,
                     options[i].metavar ? " " : "", options[i].metavar ? options[i].metavar : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", options[i].name, options[i].metavar ? " " : "",
                     options[i].metavar ? options[i].metavar : "");
        /* Help wrapped at 80 columns under a 30-column left side. */
        const int lw = 30, width = 80;
        int col = fprintf(out, "  %s", left);
        if (col > lw) {
            fputc('\n', out);
            col = 0;
        }
        const char *h = options[i].help;
        while (*h) {
            fprintf(out, "%*s", lw + 1 - col, "");
            col = lw + 1;
            int room = width - col;
            int n = (int)strlen(h);
            if (n > room) {
                n = room;
                while (n > 0 && h[n] != ' ')
                    n--;
                if (n == 0)
                    n = room;
            }
            fprintf(out, "%.*s\n", n, h);
            h += n;
            while (*h == ' ')
                h++;
            col = 0;
        }
    }
    fprintf(out,
            "\nPATH is a file, a directory (read recursively), an archive (.tar .tar.gz .tar.zst\n"
            ".zip: members read in place), a compressed file (.zst .gz .xz .bz2) or '-' for\n"
            "stdin. Formats are detected from the bytes; nothing needs naming.\n"
            "\nexit status:\n"
            "  0  success          1  a finding at or above --fail-on\n"
            "  2  usage error      3  an input could not be read at all\n"
            "  4  the output could not be written\n");
}

static const struct opt *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

static const struct opt *find_short(char c)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

static const char *command_name(enum command c)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].cmd == c)
            return commands[i].name;
    return "pycorr";
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pycorr: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'pycorr --help' for more information.\n");
    va_end(ap);
    return EXIT_USAGE;
}

static int push(const char ***arr, size_t *n, const char *v)
{
    const char **na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (na == NULL)
        return -1;
    na[(*n)++] = v;
    *arr = na;
    return 0;
}

/* "250ms", "5s", "2m", "1h", or a number of seconds. */
static int parse_duration(const char *s, int64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || v < 0 || v > 1e7)
        return -1;
    double mult = 1e9;
    if (strcmp(end, "ms") == 0)
        mult = 1e6;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1e9;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60e9;
    else if (strcmp(end, "h") == 0)
        mult = 3600e9;
    else
        return -1;
    *ns = (int64_t)(v * mult);
    return *ns > 0 ? 0 : -1;
}

static int apply(struct cli *cli, const struct opt *o, const char *value, bool *stop)
{
    char err[256];
    switch (o->id) {
    case OPT_HELP:
        cli_usage(stdout);
        *stop = true;
        return EXIT_OK;
    case OPT_VERSION:
        printf("pycorr %s\n", PYCORR_VERSION);
        *stop = true;
        return EXIT_OK;
    case OPT_FORMAT:
        if (strcmp(value, "text") == 0)
            cli->format = FMT_TEXT;
        else if (strcmp(value, "json") == 0)
            cli->format = FMT_JSON;
        else if (strcmp(value, "jsonl") == 0)
            cli->format = FMT_JSONL;
        else if (strcmp(value, "sarif") == 0)
            cli->format = FMT_SARIF;
        else if (strcmp(value, "junit") == 0)
            cli->format = FMT_JUNIT;
        else if (strcmp(value, "markdown") == 0)
            cli->format = FMT_MARKDOWN;
        else if (strcmp(value, "html") == 0)
            return usage_error("--format html: not available in this version (text, json, jsonl; gate: sarif, "
                               "junit, markdown)");
        else
            return usage_error("--format: unknown format '%s' (text, json, jsonl; gate: sarif, junit, markdown)",
                               value);
        cli->format_set = true;
        return EXIT_OK;
    case OPT_OUTPUT:
        cli->output = value;
        return EXIT_OK;
    case OPT_FAIL_ON:
        if (severity_parse(value, &cli->fail_on) != 0)
            return usage_error("--fail-on: unknown severity '%s' (info, low, medium, high, critical)", value);
        cli->fail_on_set = true;
        return EXIT_OK;
    case OPT_MAP:
        if (field_map_set(&cli->map, value, err, sizeof(err)) != 0)
            return usage_error("--map %s: %s", value, err);
        return EXIT_OK;
    case OPT_RULES:
        return push(&cli->rules, &cli->nrules, value) == 0 ? EXIT_OK : EXIT_USAGE;
    case OPT_PARSER:
        if (parser_by_name(value) == NULL)
            return usage_error("--parser: no parser named '%s' (text, jsonl)", value);
        cli->parser = value;
        return EXIT_OK;
    case OPT_BROKERS:
        cli->brokers = value;
        return EXIT_OK;
    case OPT_TOPIC:
        if (*value == '\0')
            return usage_error("--topic: empty topic name");
        return push(&cli->topics, &cli->ntopics, value) == 0 ? EXIT_OK : EXIT_USAGE;
    case OPT_TOPIC_REGEX:
        cli->topic_regex = value;
        return EXIT_OK;
    case OPT_GROUP:
        cli->group = value;
        return EXIT_OK;
    case OPT_FINDINGS_TOPIC:
        cli->findings_topic = value;
        return EXIT_OK;
    case OPT_DEAD_LETTER_TOPIC:
        cli->dead_letter_topic = value;
        return EXIT_OK;
    case OPT_STATS_INTERVAL: {
        char *end;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || !(v >= 0 && v <= 86400))
            return usage_error("--stats-interval: '%s' is not a number of seconds (0 to 86400)", value);
        cli->stats_interval = v;
        return EXIT_OK;
    }
    case OPT_KAFKA_PROP:
        if (strchr(value, '=') == NULL || value[0] == '=')
            return usage_error("-X %s: expected KEY=VALUE", value);
        return push(&cli->kafka_props, &cli->nkafka_props, value) == 0 ? EXIT_OK : EXIT_USAGE;
    case OPT_EXIT_AT_END:
        cli->exit_at_end = true;
        return EXIT_OK;
    case OPT_QUIET:
        cli->quiet = true;
        return EXIT_OK;
    case OPT_BY_TRACE:
        cli->by_trace = true;
        return EXIT_OK;
    case OPT_NO_CORRELATE:
        cli->no_correlate = true;
        return EXIT_OK;
    case OPT_WINDOW:
    case OPT_LATENESS:
    case OPT_TRACE_IDLE: {
        int64_t *dst = o->id == OPT_WINDOW ? &cli->window_ns : o->id == OPT_LATENESS ? &cli->lateness_ns
                                                                                      : &cli->trace_idle_ns;
        if (parse_duration(value, dst) != 0)
            return usage_error("--%s: '%s' is not a duration (e.g. 500ms, 5s, 2m)", o->name, value);
        return EXIT_OK;
    }
    case OPT_MAX_TRACES: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0 || v < 1 || v > 100000000)
            return usage_error("--max-traces: '%s' is not a count between 1 and 100000000", value);
        cli->max_traces = (size_t)v;
        return EXIT_OK;
    }
    case OPT_NO_PROGRESS:
        cli->no_progress = true;
        return EXIT_OK;
    case OPT_BASELINE:
        return push(&cli->baselines, &cli->nbaselines, value) == 0 ? EXIT_OK : EXIT_USAGE;
    case OPT_WRITE_BASELINE:
        cli->write_baseline = value;
        return EXIT_OK;
    case OPT_SARIF:
        cli->sarif_out = value;
        return EXIT_OK;
    case OPT_JUNIT:
        cli->junit_out = value;
        return EXIT_OK;
    case OPT_MARKDOWN:
        cli->markdown_out = value;
        return EXIT_OK;
    case OPT_COLOR:
        if (strcmp(value, "auto") == 0)
            cli->color = COLOR_AUTO;
        else if (strcmp(value, "always") == 0)
            cli->color = COLOR_ALWAYS;
        else if (strcmp(value, "never") == 0)
            cli->color = COLOR_NEVER;
        else
            return usage_error("--color: expected auto, always or never, not '%s'", value);
        return EXIT_OK;
    }
    return EXIT_OK;
}

int cli_parse(int argc, char **argv, struct cli *cli, bool *stop)
{
    memset(cli, 0, sizeof(*cli));
    cli->fail_on = SEV_CRITICAL;
    cli->stats_interval = -1;
    *stop = false;
    bool only_paths = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_paths && strcmp(a, "--") == 0) {
            only_paths = true;
            continue;
        }
        if (!only_paths && a[0] == '-' && a[1] != '\0') {
            const struct opt *o;
            const char *value = NULL;
            if (a[1] == '-') {
                const char *eq = strchr(a + 2, '=');
                size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
                o = find_long(a + 2, len);
                if (o == NULL)
                    return usage_error("unknown option '%s'", a);
                if (eq != NULL) {
                    if (o->metavar == NULL)
                        return usage_error("option '--%s' takes no value", o->name);
                    value = eq + 1;
                }
            } else {
                o = find_short(a[1]);
                if (o == NULL || a[2] != '\0')
                    return usage_error("unknown option '%s'", a);
            }
            if (o->metavar != NULL && value == NULL) {
                if (i + 1 >= argc)
                    return usage_error("option '%s' needs a value (%s)", a, o->metavar);
                value = argv[++i];
            }
            if (cli->cmd != CMD_NONE && !(o->commands & C(cli->cmd)))
                return usage_error("option '--%s' does not apply to 'pycorr %s'", o->name, command_name(cli->cmd));
            int rc = apply(cli, o, value, stop);
            if (rc != EXIT_OK || *stop)
                return rc;
            continue;
        }
        if (cli->cmd == CMD_NONE) {
            for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (strcmp(a, commands[k].name) == 0)
                    cli->cmd = commands[k].cmd;
            if (cli->cmd == CMD_NONE)
                return usage_error("unknown command '%s' (ingest, events, gate, consume, rules)", a);
            continue;
        }
        if (cli->cmd == CMD_RULES && cli->rules_action == NULL) { /* list, check, test */
            cli->rules_action = a;
            continue;
        }
        if (push(&cli->paths, &cli->npaths, a) != 0)
            return EXIT_USAGE;
    }
    if (cli->cmd == CMD_NONE) {
        cli_usage(stderr);
        return EXIT_USAGE;
    }
    if (cli->cmd == CMD_GATE && !cli->fail_on_set)
        cli->fail_on = SEV_HIGH;
    if (cli->format_set && cli->format >= FMT_SARIF && cli->cmd != CMD_GATE)
        return usage_error("--format %s: only pycorr gate writes it",
                           cli->format == FMT_SARIF ? "sarif" : cli->format == FMT_JUNIT ? "junit" : "markdown");
    if ((cli->cmd == CMD_INGEST || cli->cmd == CMD_EVENTS || cli->cmd == CMD_GATE) && cli->npaths == 0)
        return usage_error("%s: no input given (a path, or '-' for stdin)", command_name(cli->cmd));
    if (cli->cmd == CMD_CONSUME) {
        if (cli->npaths > 0)
            return usage_error("consume reads Kafka topics, not paths ('%s'); use --topic", cli->paths[0]);
        if (cli->brokers == NULL)
            return usage_error("consume: --brokers is required (or --brokers mock: to try it without Kafka)");
        if (cli->ntopics == 0 && cli->topic_regex == NULL)
            return usage_error("consume: name a --topic or a --topic-regex");
    }
    return EXIT_OK;
}

void cli_free(struct cli *cli)
{
    free(cli->paths);
    free(cli->rules);
    free(cli->topics);
    free(cli->kafka_props);
    free(cli->baselines);
    cli->baselines = NULL;
    cli->paths = NULL;
    cli->rules = NULL;
    cli->topics = NULL;
    cli->kafka_props = NULL;
}
