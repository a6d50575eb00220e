/* registry.c -- the one list of detectors, and parameter handling; see pattern.h. */
#include "pattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const struct pattern pattern_nested_exception;
extern const struct pattern pattern_error_message;
extern const struct pattern pattern_deadlock;
extern const struct pattern pattern_wait_chain;
extern const struct pattern pattern_blocked_thread;
extern const struct pattern pattern_spiking_thread;
extern const struct pattern pattern_crash;
extern const struct pattern pattern_memory_leak; /* issue #3 */
extern const struct pattern pattern_object_distribution_anomaly;
extern const struct pattern pattern_handle_leak;
extern const struct pattern pattern_counter_value;
extern const struct pattern pattern_not_my_version;

const struct pattern *const pattern_registry[] = {
    &pattern_nested_exception,
    &pattern_error_message,
    &pattern_deadlock,
    &pattern_wait_chain,
    &pattern_blocked_thread,
    &pattern_spiking_thread,
    &pattern_crash,
    &pattern_memory_leak,
    &pattern_object_distribution_anomaly,
    &pattern_handle_leak,
    &pattern_counter_value,
    &pattern_not_my_version,
    NULL,
};

static int parse_value(enum pat_param_type t, const char *s, union pat_value *v)
{
    char *end;
    errno = 0;
    switch (t) {
    case PAT_INT:
        v->i = strtoll(s, &end, 10);
        return (*s && *end == '\0' && errno == 0) ? 0 : -1;
    case PAT_DOUBLE:
        v->d = strtod(s, &end);
        return (*s && *end == '\0' && errno == 0) ? 0 : -1;
    case PAT_SEVERITY:
        return severity_parse(s, &v->sev);
    case PAT_BOOL:
        if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0) {
            v->b = true;
            return 0;
        }
        if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0) {
            v->b = false;
            return 0;
        }
        return -1;
    }
    return -1;
}

int pattern_config_defaults(const struct pattern *p, struct pat_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; p->params != NULL && p->params[i].name != NULL; i++)
        if (i >= PAT_MAX_PARAMS || parse_value(p->params[i].type, p->params[i].default_value, &cfg->v[i]) != 0)
            return -1;
    return 0;
}

int pattern_config_set(const struct pattern *p, struct pat_config *cfg, const char *name,
                       const char *value, char *err, size_t errsz)
{
    for (size_t i = 0; p->params != NULL && p->params[i].name != NULL; i++) {
        if (strcmp(p->params[i].name, name) != 0)
            continue;
        if (parse_value(p->params[i].type, value, &cfg->v[i]) != 0) {
            snprintf(err, errsz, "%s.%s: invalid value '%s'", p->name, name, value);
            return -1;
        }
        return 0;
    }
    snprintf(err, errsz, "%s: no parameter named '%s'", p->name, name);
    return -1;
}
