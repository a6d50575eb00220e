/* cmd_consume.c -- `pycorr consume`: the Kafka consumer (issue #6, not built yet). */
#include "commands.h"

int cmd_consume(const struct cli *cli, FILE *out)
{
    (void)cli;
    (void)out;
    fprintf(stderr, "pycorr: consume: the Kafka consumer is not built yet\n");
    return EXIT_USAGE;
}
