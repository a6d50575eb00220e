/* cmd_rules.c -- `pycorr rules list`: the detectors, what they consume, and their
 * parameters with defaults, printed from the detectors' own tables. */
#include <string.h>

#include "../patterns/pattern.h"
#include "commands.h"

int cmd_rules(const struct cli *cli, FILE *out)
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
