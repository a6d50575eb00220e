/* cmd_events.c -- `pycorr events`: every event as one JSON line, as `vector tap`
 * shows what a pipeline understood. */
#include <stdlib.h>

#include "../correlate/ev_json.h"
#include "commands.h"
#include "jsonout.h"
#include "pipeline.h"

static int events_sink(void *ctx, const struct event *ev)
{
    FILE *out = ctx;
    if (jsonout_event(out, ev) != 0)
        return ferror(out) ? 1 : -1; /* 1, stop: the output is gone (main reports it) */
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
