/* fieldmap.c -- --map ROLE=FIELD: which input field plays which event role; see parser.h. */
#include "parser.h"

#include <stdio.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {
    [ROLE_TS] = "ts",
    [ROLE_LEVEL] = "level",
    [ROLE_MESSAGE] = "message",
    [ROLE_LOGGER] = "logger",
    [ROLE_SERVICE] = "service",
    [ROLE_HOST] = "host",
    [ROLE_PID] = "pid",
    [ROLE_THREAD] = "thread",
    [ROLE_TRACE_ID] = "trace_id",
    [ROLE_SPAN_ID] = "span_id",
    [ROLE_EXCEPTION] = "exception",
    [ROLE_EXC_TYPE] = "exc_type",
    [ROLE_EXC_MESSAGE] = "exc_message",
};

const char *field_role_name(enum field_role r)
{
    if ((unsigned)r >= ROLE_COUNT)
        return NULL;
    return role_names[r];
}

static int role_lookup(const char *p, size_t n)
{
    for (int r = 0; r < ROLE_COUNT; r++)
        if (strlen(role_names[r]) == n && memcmp(role_names[r], p, n) == 0)
            return r;
    return -1;
}

/* The FIELD is kept as a pointer into spec, not copied: specs come from argv or
 * rule files that live as long as the run, and the map has no destructor. */
int field_map_set(struct field_map *map, const char *spec, char *err, size_t errsz)
{
    const char *eq = spec ? strchr(spec, '=') : NULL;
    if (eq == NULL || eq == spec) {
        snprintf(err, errsz, "expected ROLE=FIELD, got '%s'", spec ? spec : "");
        return -1;
    }
    size_t rn = (size_t)(eq - spec);
    const char *field = eq + 1;
    int r = role_lookup(spec, rn);
    if (r < 0) {
        /* Help a user who wrote the pair the other way round. */
        int back = role_lookup(field, strlen(field));
        if (back >= 0)
            snprintf(err, errsz, "unknown role '%.*s' (did you mean %s=%.*s?)", (int)rn, spec,
                     role_names[back], (int)rn, spec);
        else
            snprintf(err, errsz,
                     "unknown role '%.*s' (roles: ts, level, message, logger, service, host, pid, "
                     "thread, trace_id, span_id, exception, exc_type, exc_message)",
                     (int)rn, spec);
        return -1;
    }
    if (*field == '\0' || field[0] == '.' || field[strlen(field) - 1] == '.') {
        snprintf(err, errsz, "role '%s' needs a field name (a key, or a dotted path like req.trace)",
                 role_names[r]);
        return -1;
    }
    map->field[r] = field;
    return 0;
}
