/* jsonout.h -- a JSON document written to a FILE in one write.
 *
 * jansson's json_dumpf hands the stream each token as it goes, an fwrite (and its
 * lock) per key, string and brace: for `pycorr events` that was a quarter of the
 * run. The document is put together in a buffer kept between calls and written
 * once, with the newline that ends a JSON line when asked.
 */
#ifndef PYCORR_JSONOUT_H
#define PYCORR_JSONOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* 0, or -1 when memory ran out or the stream failed (see ferror). Not for two
 * threads at once: the buffer is one. */
int jsonout_write(FILE *out, const json_t *j, size_t flags, bool newline);

struct event;
/* An event as a JSON line (ev_json_dump); same return values. */
int jsonout_event(FILE *out, const struct event *ev);

#endif
