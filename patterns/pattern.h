/* pattern.h -- the contract of a pattern detector, declared as data.
 *
 * A detector is one const struct: its pattern name (snake_case of the debugging
 * pattern), a description, the event kinds it consumes, and a table of parameters
 * with types, defaults and help. The rules engine sets parameters through that table
 * and `pycorr rules list` prints it; nothing else names a concrete detector.
 * Detectors never print: they put findings into the store they are given.
 */
#ifndef PYCORR_PATTERN_H
#define PYCORR_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "../correlate/event.h"
#include "finding.h"

enum pat_param_type { PAT_INT, PAT_DOUBLE, PAT_SEVERITY, PAT_BOOL };

struct pat_param {
    const char *name;
    enum pat_param_type type;
    const char *default_value; /* as a user would write it */
    const char *help;
};

/* Parameter values, in the order of the pattern's table. */
union pat_value {
    long long i;
    double d;
    enum severity sev;
    bool b;
};

#define PAT_MAX_PARAMS 16

struct pat_config {
    union pat_value v[PAT_MAX_PARAMS];
};

struct pattern {
    const char *name;
    const char *description;
    unsigned kinds;                  /* bit (1 << EV_...) per kind consumed */
    const struct pat_param *params;  /* terminated by a NULL name */
    /* NULL on allocation failure. The store outlives the detector. */
    void *(*create)(const struct pat_config *cfg, struct finding_store *store);
    /* 0, or -1 when memory ran out (the event is then lost to this detector). */
    int (*on_event)(void *st, const struct event *ev);
    /* End of input: put findings held back into the store. */
    int (*flush)(void *st);
    void (*destroy)(void *st);
};

extern const struct pattern *const pattern_registry[];

/* Fill cfg with p's defaults. Returns 0, or -1 when a default does not parse
 * (a programming error, caught by the tests). */
int pattern_config_defaults(const struct pattern *p, struct pat_config *cfg);

/* Set one parameter from text. Returns 0, or -1 with a message in err. */
int pattern_config_set(const struct pattern *p, struct pat_config *cfg, const char *name,
                       const char *value, char *err, size_t errsz);

#endif
