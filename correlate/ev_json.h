/* ev_json.h -- events as JSON documents (the `pycorr events` schema, DESIGN §3).
 *
 * Strings are made valid UTF-8 on the way out: invalid bytes become U+FFFD, so a
 * hostile log line cannot make a document unwritable.
 */
#ifndef PYCORR_EV_JSON_H
#define PYCORR_EV_JSON_H

#include <jansson.h>

#include "event.h"

/* A JSON string of s, repaired to valid UTF-8; json null when s is absent.
 * Returns NULL only when memory is exhausted. */
json_t *ev_json_str(ev_str s);
json_t *ev_json_cstr(const char *s);

/* The whole event; NULL when memory is exhausted. */
json_t *ev_to_json(const struct event *ev);

/* The same event as one compact document, given to write piece by piece (as
 * json_dump_callback does): byte for byte what json_dumps(ev_to_json(ev),
 * JSON_COMPACT) gives, without building the top level as a tree -- for a log
 * event, without building anything. 0, or -1 when write failed or memory ran out. */
int ev_json_dump(const struct event *ev, json_dump_callback_t write, void *ctx);

/* One exception chain as a JSON array (root first). */
json_t *ev_chain_to_json(const struct ev_chain *chain);
json_t *ev_frame_to_json(const struct ev_frame *f);

#endif
