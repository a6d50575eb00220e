/* main.c -- the pycorr executable: parse, dispatch, and the one exit path.
 *
 * Only cmd/ prints and chooses exit codes. Every byte of output goes through one
 * FILE, checked once here, so a full disk or a closed pipe is never reported as
 * success (exit 4).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static int finish_output(FILE *out, int code)
{
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "pycorr: error: cannot write the output: %s\n", strerror(errno ? errno : EIO));
        if (out != stdout)
            fclose(out);
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
    /* A closed pipe is reported through the exit code, not by dying of SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    /* Growing tables (pickle memo and nodes, hash tables) are realloc'ed to tens of
     * MiB. glibc raises its mmap threshold as mmapped blocks are freed, after which such
     * blocks live in the heap and every doubling copies and faults in the whole table
     * again. A fixed threshold keeps big blocks mmapped, so realloc is an mremap. */
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
    int code = cli_parse(argc, argv, &cli, &stop);
    if (code != EXIT_OK || stop) {
        if (stop)
            code = finish_output(stdout, code);
        cli_free(&cli);
        return code;
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
    switch (cli.cmd) {
    case CMD_EVENTS:
        code = cmd_events(&cli, out);
        break;
    case CMD_RULES:
        code = cmd_rules(&cli, out);
        break;
    case CMD_CONSUME:
        code = cmd_consume(&cli, out);
        break;
    case CMD_INGEST:
        code = cmd_ingest(&cli, out);
        break;
    case CMD_GATE:
        code = cmd_gate(&cli, out);
        break;
    case CMD_NONE:
        code = EXIT_USAGE;
        break;
    }
    code = finish_output(out, code);
    cli_free(&cli);
    return code;
}
