/* termsafe.h -- text from the input made safe to print on a terminal.
 *
 * Findings carry text from the artifacts they came from: messages, exception types,
 * file and archive member names, services. A log line can hold terminal control
 * sequences (set the window title, clear the screen, move the cursor to rewrite what
 * was printed above, or OSC 52 to fill the clipboard), and the text report prints
 * to a terminal. So before printing, each of these becomes a visible escape:
 *   - C0 controls except tab and newline, and DEL: \x1b
 *   - C1 controls U+0080-U+009F (CSI is U+009B): \u009b
 *   - bidirectional embeddings, overrides and isolates (U+202A-U+202E,
 *     U+2066-U+2069), which show text in an order other than its bytes': \u202e
 *   - a byte that is not part of valid UTF-8: \xff
 * A backslash stays a backslash; nothing else changes. Machine formats (JSON, SARIF,
 * JUnit, Markdown) keep the exact text; their own encoders escape as they must.
 */
#ifndef PYCORR_TERMSAFE_H
#define PYCORR_TERMSAFE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "../patterns/finding.h"

/* True when s needs no escape (NULL included). */
bool termsafe_ok(const char *s);
/* s with its escapes, malloc'd; NULL when memory ran out. */
char *termsafe_dup(const char *s);
/* Write s with its escapes. */
void termsafe_fputs(const char *s, FILE *out);
/* A new reference to v when none of its strings (keys included) needs an escape,
 * else to a deep copy whose strings are escaped. NULL for NULL or on ENOMEM. */
json_t *termsafe_json(json_t *v);

/* The finding as a terminal should show it: f itself when nothing in it needs an
 * escape, else *tmp filled as a copy whose strings are escaped (NULL on ENOMEM).
 * Release with termsafe_finding_done(shown, f). */
const struct finding *termsafe_finding(const struct finding *f, struct finding *tmp);
void termsafe_finding_done(const struct finding *shown, const struct finding *f);

#endif
