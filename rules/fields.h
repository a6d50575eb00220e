/* fields.h -- the field contexts of rule conditions: events and findings. */
#ifndef PYCORR_FIELDS_H
#define PYCORR_FIELDS_H

#include <stddef.h>

#include "expr.h"

extern const struct rx_context rules_event_context;   /* subject: const struct event * */
extern const struct rx_context rules_finding_context; /* subject: const struct finding * */

/* Whether an event field exists only on exception events (exception.*). */
bool rules_event_field_is_exception(int field);

/* Fill "{field}" placeholders of tmpl from subject (unknown names stay as written,
 * absent values become "-"); returns the length written to out (NUL-terminated). */
size_t rules_render_template(const char *tmpl, const struct rx_context *ctx, const void *subject, char *out,
                             size_t outsz);

#endif
