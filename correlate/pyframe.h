/* pyframe.h -- where a Python frame's code lives: application, standard library,
 * third-party package, or frozen/builtin; and the module name of a source path.
 */
#ifndef PYCORR_PYFRAME_H
#define PYCORR_PYFRAME_H

#include <stddef.h>

#include "event.h"

enum pyframe_class {
    PYFRAME_APP = 0,     /* the user's own code */
    PYFRAME_STDLIB,      /* .../lib/pythonX.Y/... outside site-packages */
    PYFRAME_THIRD_PARTY, /* site-packages, dist-packages */
    PYFRAME_FROZEN,      /* "<frozen importlib._bootstrap>" */
    PYFRAME_SYNTHETIC,   /* "<string>", "<stdin>", "<rule:x>" */
};
const char *pyframe_class_name(enum pyframe_class c);
enum pyframe_class pyframe_classify(ev_str file);

/* The module a path belongs to, written to buf (NUL-terminated, cut to bufsz):
 * stdlib and site-packages paths give their dotted import path ("json.decoder",
 * "requests.adapters"); frozen modules their name ("importlib._bootstrap");
 * application files the file's stem ("records"; a package's __init__ gives the
 * package directory). Returns the length written. */
size_t pyframe_module(ev_str file, char *buf, size_t bufsz);

#endif
