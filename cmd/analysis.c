/* analysis.c -- detectors, rules and correlation of a run; see analysis.h. */
#include "analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../correlate/correlator.h"
#include "../correlate/evtime.h"
#include "../patterns/cascade.h"
#include "../patterns/pattern.h"
#include "../rules/rules.h"

#define MAX_DETECTORS 32

struct analysis {
    const struct pattern *pat[MAX_DETECTORS];
    void *st[MAX_DETECTORS];
    size_t n;
    unsigned by_kind[EV_KIND_COUNT]; /* bit i: detector i consumes the kind */
    struct finding_store *store;
    struct rules_engine *rules;
    struct correlator *corr;   /* NULL with --no-correlate */
    struct cascade *cascade;
    struct finding **out;
    bool lost;
};

struct ruleset *analysis_load_rules(const struct cli *cli, char *err, size_t errsz)
{
    struct ruleset *rs = ruleset_create();
    if (rs == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cli->nrules; i++)
        if (ruleset_add_path(rs, cli->rules[i], err, errsz) != 0)
            goto fail;
    if (ruleset_add_shipped(rs, err, errsz) != 0 || ruleset_finalize(rs, err, errsz) != 0)
        goto fail;
    return rs;
fail:
    ruleset_free(rs);
    return NULL;
}

static int64_t today_utc(void)
{
    return (int64_t)time(NULL) / 86400;
}

struct analysis *analysis_create(const struct cli *cli, const struct ruleset *rs, char *err, size_t errsz)
{
    struct analysis *a = calloc(1, sizeof(*a));
    if (a == NULL || (a->store = finding_store_create(0)) == NULL) {
        snprintf(err, errsz, "out of memory");
        free(a);
        return NULL;
    }
    if (!cli->no_correlate) {
        struct corr_config cc = {
            .idle_ns = cli->trace_idle_ns,
            .window_ns = cli->window_ns,
            .lateness_ns = cli->lateness_ns,
            .max_traces = cli->max_traces,
            .infer_service = true,
        };
        a->cascade = cascade_create(a->store, cli->by_trace ? 1000 : 0);
        a->corr = a->cascade ? corr_create(&cc, cascade_trace_closed, a->cascade) : NULL;
        if (a->corr == NULL) {
            snprintf(err, errsz, "out of memory");
            analysis_destroy(a);
            return NULL;
        }
    }
    if ((a->rules = rules_engine_create(rs, a->store, today_utc())) == NULL) {
        snprintf(err, errsz, "out of memory");
        analysis_destroy(a);
        return NULL;
    }
    for (size_t i = 0; pattern_registry[i] != NULL && a->n < MAX_DETECTORS; i++) {
        const struct pattern *p = pattern_registry[i];
        struct pat_config cfg;
        bool enabled;
        ruleset_detector_config(rs, p, &cfg, &enabled);
        if (!enabled)
            continue;
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
    rules_engine_free(a->rules);
    corr_destroy(a->corr);
    cascade_destroy(a->cascade);
    finding_store_destroy(a->store);
    free(a->out);
    free(a);
}

int analysis_sink(void *ctx, const struct event *ev)
{
    struct analysis *a = ctx;
    if (a->corr != NULL && corr_event(a->corr, ev, &ev) != 0)
        a->lost = true;
    if (rules_engine_event(a->rules, ev) != 0)
        a->lost = true;
    unsigned mask = (unsigned)ev->kind < EV_KIND_COUNT ? a->by_kind[ev->kind] : 0;
    for (size_t i = 0; mask != 0; i++, mask >>= 1)
        if ((mask & 1u) && a->pat[i]->on_event(a->st[i], ev) != 0)
            a->lost = true;
    /* The findings this event produced belong to its trace. */
    size_t nt;
    struct finding **touched = finding_store_take_touched(a->store, &nt);
    for (size_t i = 0; i < nt && a->corr != NULL; i++)
        corr_mark_last(a->corr, touched[i]);
    return 0;
}

void analysis_flush(struct analysis *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->pat[i]->flush(a->st[i]) != 0)
            a->lost = true;
    rules_engine_flush(a->rules);
    if (a->corr != NULL)
        corr_finish(a->corr);
}

struct finding **analysis_findings(struct analysis *a, size_t *n, struct analysis_counts *counts)
{
    memset(counts, 0, sizeof(*counts));
    size_t all;
    struct finding **f = finding_store_sorted(a->store, &all);
    free(a->out);
    a->out = malloc((all ? all : 1) * sizeof(*a->out));
    bool *keep = malloc((all ? all : 1) * sizeof(*keep));
    if (a->out == NULL || keep == NULL) {
        free(keep);
        *n = 0;
        return a->out;
    }
    counts->suppressed = rules_engine_apply(a->rules, f, all, keep);
    counts->nexpired = rules_engine_expired(a->rules, counts->expired, 8);
    size_t k = 0;
    for (size_t i = 0; i < all; i++) {
        if (!keep[i]) {
            continue;
        }
        if (!finding_is_reported(f[i])) {
            counts->folded++;
            continue;
        }
        a->out[k++] = f[i];
    }
    /* Unclaimed: dropped but not suppressed. */
    size_t dropped = 0;
    for (size_t i = 0; i < all; i++)
        dropped += !keep[i];
    counts->unclaimed = dropped - counts->suppressed;
    free(keep);
    /* Rules may have changed severities: sort again. */
    for (size_t i = 1; i < k; i++) {
        struct finding *x = a->out[i];
        size_t j = i;
        while (j > 0 && (a->out[j - 1]->severity < x->severity ||
                         (a->out[j - 1]->severity == x->severity && a->out[j - 1]->count < x->count))) {
            a->out[j] = a->out[j - 1];
            j--;
        }
        a->out[j] = x;
    }
    *n = k;
    return a->out;
}

struct finding_store *analysis_store(struct analysis *a) { return a->store; }
bool analysis_lost_events(const struct analysis *a) { return a->lost; }

const struct corr_stats *analysis_corr_stats(const struct analysis *a)
{
    return a->corr ? corr_get_stats(a->corr) : NULL;
}

json_t *analysis_failing_traces(struct analysis *a, size_t *dropped)
{
    *dropped = 0;
    return a->cascade ? cascade_traces(a->cascade, dropped) : NULL;
}
