/* cmd_events.c -- `pycorr events`: every event as one JSON line, as `vector tap`
 * shows what a pipeline understood. */
#include <stdlib.h>

#include "../correlate/ev_json.h"
#include "commands.h"
#include "pipeline.h"

static int events_sink(void *ctx, const struct event *ev)
{
    FILE *out = ctx;
    json_t *j = ev_to_json(ev);
    if (j == NULL)
        return -1;
    int rc = json_dumpf(j, out, JSON_COMPACT);
    json_decref(j);
    if (rc != 0 || fputc('\n', out) == EOF)
        return 1; /* stop: the output is gone; main reports it */
    return 0;
}

int cmd_events(const struct cli *cli, FILE *out)
{
    struct pipeline pl = {.cli = cli, .progress = pipeline_wants_progress(cli)};
    pl.sink = events_sink;
    pl.sink_ctx = out;
    int rc = pipeline_run(&pl);
    return rc < 0 || pl.stats.unreadable ? EXIT_INPUT : EXIT_OK;
}
