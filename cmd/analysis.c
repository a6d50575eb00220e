/* analysis.c -- detectors and their store; see analysis.h. */
#include "analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../patterns/pattern.h"

#define MAX_DETECTORS 32

struct analysis {
    const struct pattern *pat[MAX_DETECTORS];
    void *st[MAX_DETECTORS];
    size_t n;
    unsigned by_kind[EV_KIND_COUNT]; /* bit i: detector i consumes the kind */
    struct finding_store *store;
    bool lost;
};

struct analysis *analysis_create(const struct cli *cli, char *err, size_t errsz)
{
    (void)cli;
    struct analysis *a = calloc(1, sizeof(*a));
    if (a == NULL || (a->store = finding_store_create(0)) == NULL) {
        snprintf(err, errsz, "out of memory");
        free(a);
        return NULL;
    }
    for (size_t i = 0; pattern_registry[i] != NULL && a->n < MAX_DETECTORS; i++) {
        const struct pattern *p = pattern_registry[i];
        struct pat_config cfg;
        if (pattern_config_defaults(p, &cfg) != 0) {
            snprintf(err, errsz, "%s: a default parameter does not parse", p->name);
            analysis_destroy(a);
            return NULL;
        }
        void *st = p->create(&cfg, a->store);
        if (st == NULL) {
            snprintf(err, errsz, "out of memory");
            analysis_destroy(a);
            return NULL;
        }
        for (int k = 0; k < EV_KIND_COUNT; k++)
            if (p->kinds & (1u << k))
                a->by_kind[k] |= 1u << a->n;
        a->pat[a->n] = p;
        a->st[a->n] = st;
        a->n++;
    }
    return a;
}

void analysis_destroy(struct analysis *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        a->pat[i]->destroy(a->st[i]);
    finding_store_destroy(a->store);
    free(a);
}

int analysis_sink(void *ctx, const struct event *ev)
{
    struct analysis *a = ctx;
    unsigned mask = (unsigned)ev->kind < EV_KIND_COUNT ? a->by_kind[ev->kind] : 0;
    for (size_t i = 0; mask != 0; i++, mask >>= 1)
        if ((mask & 1u) && a->pat[i]->on_event(a->st[i], ev) != 0)
            a->lost = true;
    return 0;
}

void analysis_flush(struct analysis *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->pat[i]->flush(a->st[i]) != 0)
            a->lost = true;
}

struct finding_store *analysis_store(struct analysis *a) { return a->store; }
bool analysis_lost_events(const struct analysis *a) { return a->lost; }
