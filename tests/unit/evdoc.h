/* evdoc.h -- an event's document for the unit tests, checked both ways.
 *
 * `pycorr events` writes events with ev_json_dump, which must give what
 * ev_to_json builds, byte for byte. Every test that looks at events' documents
 * gets them through here, so every event the parsers make in the tests holds the
 * two writers to each other. Include after cmocka.h.
 */
#ifndef PYCORR_EVDOC_H
#define PYCORR_EVDOC_H

#include <stdlib.h>
#include <string.h>

#include "../../correlate/ev_json.h"

struct evdoc_buf {
    char *p;
    size_t len, cap;
};

static inline int evdoc_append(const char *s, size_t n, void *ctx)
{
    struct evdoc_buf *b = ctx;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static inline json_t *test_event_doc(const struct event *ev)
{
    json_t *doc = ev_to_json(ev);
    assert_non_null(doc);
    char *tree = json_dumps(doc, JSON_COMPACT);
    assert_non_null(tree);
    struct evdoc_buf b = {NULL, 0, 0};
    assert_int_equal(ev_json_dump(ev, evdoc_append, &b), 0);
    if (b.p == NULL || strcmp(tree, b.p) != 0)
        fail_msg("ev_json_dump differs from ev_to_json:\n%s\n%s", b.p ? b.p : "(nothing)", tree);
    free(b.p);
    free(tree);
    return doc;
}

#endif
