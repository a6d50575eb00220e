/* ev_packages.h -- the payload of EV_PACKAGES: the package versions one process (or
 * one environment) ran with, from pip freeze, pip list/inspect, an importlib.metadata
 * dump or a collection of sys.modules versions.
 *
 * Names are normalized as PEP 503 does (lowercase, runs of "-", "_", "." become
 * one "-"), so "Flask_SQLAlchemy" in one artifact and "flask-sqlalchemy" in another are
 * the same package; the list is sorted by that name with no duplicates. Like the rest
 * of an event, the payload is a view valid during the sink call; ev_clone() copies it.
 */
#ifndef PYCORR_EV_PACKAGES_H
#define PYCORR_EV_PACKAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"

struct ev_package {
    ev_str name;     /* normalized (PEP 503) */
    ev_str version;  /* as the artifact printed it; "" for a direct reference without one */
};

struct ev_packages {
    const char *format;        /* static: "pip_freeze", "pip_list", "pip_inspect",
                                * "importlib_metadata", "modules" */
    struct ev_package *pkgs;   /* sorted by name, unique */
    uint32_t n;
    uint64_t total;            /* entries the artifact listed (> n when cut or repeated) */
    ev_str python;             /* the interpreter's version when the artifact says */
    /* Not observed in this run: a baseline's set, handed to the detectors before the
     * run's inputs as the reference to compare with (pycorr gate --baseline). */
    bool reference;
};

/* Write the PEP 503 form of name[0..len) into out (at most cap-1 bytes, NUL-terminated);
 * returns its length. Can't fail. */
size_t ev_package_normalize(const char *name, size_t len, char *out, size_t cap);

/* The entry for a normalized name, or NULL. */
const struct ev_package *ev_packages_find(const struct ev_packages *p, const char *name, size_t len);

/* Deep copy into a (NULL when the arena cannot grow). */
struct ev_packages *ev_packages_clone(const struct ev_packages *p, struct arena *a);

/* {"format", "python", "reference", "total", "packages": {name: version}}; NULL on OOM. */
json_t *ev_packages_to_json(const struct ev_packages *p);

#endif
