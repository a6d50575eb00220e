/* commands.h -- one function per subcommand; each returns its exit code.
 * out is where results go (stdout or -o FILE); main() checks it once at exit. */
#ifndef PYCORR_COMMANDS_H
#define PYCORR_COMMANDS_H

#include <stdio.h>

#include "cli.h"

int cmd_ingest(const struct cli *cli, FILE *out);
int cmd_gate(const struct cli *cli, FILE *out);    /* cmd_gate.c: the CI gate (issue #7) */
int cmd_events(const struct cli *cli, FILE *out);
int cmd_rules(const struct cli *cli, FILE *out);
int cmd_consume(const struct cli *cli, FILE *out);

#endif
