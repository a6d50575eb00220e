/* finding.h -- findings and the store that folds repeated ones.
 *
 * A finding is identified by a stable id (a hash of pattern, fingerprint and key),
 * so the same problem seen again, in this run or another, folds into one finding
 * with a count, first/last seen times and a few sample sources. Evidence is a
 * jansson object whose shape each pattern defines (DESIGN §4).
 *
 * The store is bounded: past max_findings distinct ids, new ones are counted as
 * dropped and reported, never stored.
 */
#ifndef PYCORR_FINDING_H
#define PYCORR_FINDING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

enum severity { SEV_INFO = 0, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };
const char *severity_name(enum severity s);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int severity_parse(const char *name, enum severity *out);

#define FINDING_ID_LEN 16
#define FINDING_MAX_SOURCES 5

struct finding_source {
    char *stream;
    uint64_t line;
};

struct finding {
    char id[FINDING_ID_LEN + 1];
    const char *pattern;   /* static */
    const char *rule;      /* static */
    enum severity severity;
    char *title;
    char *trace_id, *service, *host;
    int64_t pid;           /* -1 when unknown */
    bool has_time;
    int64_t first_seen, last_seen;
    uint64_t count;
    struct finding_source sources[FINDING_MAX_SOURCES];
    size_t nsources;
    uint64_t more_sources; /* occurrences whose source was not kept */
    json_t *evidence;      /* owned */
    uint64_t order;        /* insertion order, for stable output */
    uint64_t drained_count; /* count at the last drain; 0 = not drained yet (new) */
    bool changed;          /* store-private: waiting in the drain list */
    /* Occurrences that were downstream symptoms of another finding's failure in the
     * same trace (a cascade); when every occurrence was, the finding is folded into
     * that one and reported only in its evidence. */
    uint64_t symptom_count;
    char folded_into[FINDING_ID_LEN + 1];
    json_t *tags;          /* from the rule that claimed it: an array, or NULL */
};

struct finding_store;

/* NULL on allocation failure. */
struct finding_store *finding_store_create(size_t max_findings);
void finding_store_destroy(struct finding_store *s);

/* Format the id of (pattern, fingerprint, key) into out. */
void finding_make_id(char out[FINDING_ID_LEN + 1], const char *pattern, uint64_t fingerprint,
                     const char *key, size_t key_len);

/* When a finding with this id exists, fold one more occurrence into it (time and
 * source from ev) and return it; otherwise return NULL and change nothing. */
struct finding *finding_store_touch(struct finding_store *s, const char *id, const struct event *ev);

/* Insert a new finding built by a pattern; the store takes ownership of everything
 * in f (strings and evidence), even on failure. count, times and the first source
 * are taken from ev. Returns the stored finding, or NULL when the store is full or
 * memory ran out (counted in finding_store_dropped). */
struct finding *finding_store_insert(struct finding_store *s, struct finding *f, const struct event *ev);

/* The findings inserted or folded into since the last call, in order (at most
 * FINDING_TOUCHED_MAX; a detector touches one or two per event). The list is reset
 * by the call. */
#define FINDING_TOUCHED_MAX 8
struct finding **finding_store_take_touched(struct finding_store *s, size_t *n);

/* A finding reported on its own: not folded into another. */
static inline bool finding_is_reported(const struct finding *f)
{
    return f->folded_into[0] == '\0' || f->symptom_count < f->count;
}

size_t finding_store_count(const struct finding_store *s);
uint64_t finding_store_dropped(const struct finding_store *s);

/* All findings, most severe first, then by count (descending), then by first
 * occurrence. The array is owned by the store and valid until the next insert. */
struct finding **finding_store_sorted(struct finding_store *s, size_t *n);

/* Streaming (pycorr consume): the findings inserted or folded since the last
 * finding_store_drained(), in the order they first changed. The array is owned by the
 * store and valid until the next insert, touch or drain. A finding whose
 * drained_count is 0 is new; otherwise it was emitted before with that count. */
struct finding **finding_store_changed(struct finding_store *s, size_t *n);
/* Mark what finding_store_changed returned as emitted (drained_count = count) and
 * empty the list. Can't fail. */
void finding_store_drained(struct finding_store *s);
/* Put f back into the list (its publication failed; emit it again). Can't fail: the
 * list has room for every stored finding. */
void finding_store_mark_changed(struct finding_store *s, struct finding *f);

/* The finding as the JSON object of DESIGN §4 (new reference; NULL on OOM). */
json_t *finding_to_json(const struct finding *f);

#endif
