/* ruleset_private.h -- the parsed form of rule files, shared by the parser, the
 * engine and the test runner. */
#ifndef PYCORR_RULESET_PRIVATE_H
#define PYCORR_RULESET_PRIVATE_H

#include "expr.h"
#include "rules.h"

enum rule_kind { RK_NONE = 0, RK_DETECTOR, RK_MATCH, RK_THRESHOLD, RK_SEQUENCE };

#define MAX_STEPS 6
#define MAX_BY 4

struct rule_set_param {
    char *name, *value;
    int line, col;
};

struct seq_step {
    struct rx_expr *expr;
    bool negated;          /* "not followed by" */
};

struct rule {
    char *id;
    char *description;
    char *pattern;
    bool severity_set;
    enum severity severity;
    char *title;
    json_t *tags;          /* array of strings, or NULL */
    bool enabled;
    enum rule_kind kind;
    struct rx_expr *when;  /* detector rule: on the finding */
    struct rx_expr *match; /* match and threshold rules: on the event */
    /* threshold */
    long long count;
    int64_t window_ns;
    int by[MAX_BY];        /* event field ids */
    char *by_names[MAX_BY];
    size_t nby;
    int distinct;          /* event field id, or -1 */
    char *distinct_name;
    /* sequence */
    int seq_by;
    char *seq_by_name;
    int64_t span_ns;
    struct seq_step steps[MAX_STEPS];
    size_t nsteps;
    /* detector parameters */
    struct rule_set_param *sets;
    size_t nsets;
    const char *source;    /* interned file name */
    int line;
    unsigned index;        /* order: user rules before shipped ones */
};

struct suppression {
    char *id;
    char *description;
    char *finding_id;
    char *fingerprint;
    struct rx_expr *when;
    int64_t until_day;     /* days since the epoch; -1 = no expiry */
    char *until_text;
    const char *source;
    int line;
};

struct test_item {
    bool is_event;
    char *json;            /* event */
    bool expect_none;      /* expect */
    long long count;       /* -1 = any */
    int severity;          /* -1 = any */
    int line;
};

struct rule_test {
    char *rule_id;
    const char *source;
    int line;
    struct test_item *items;
    size_t nitems;
};

struct ruleset {
    struct rule **rules;
    size_t nrules;
    struct suppression **sups;
    size_t nsups;
    struct rule_test **tests;
    size_t ntests;
    char **sources;        /* interned file names */
    size_t nsources;
    unsigned next_index;
    bool adding_shipped;   /* shipped rules go after the user's */
};

/* Days since the epoch of "YYYY-MM-DD"; -1 when it is not a date. */
int64_t rules_parse_day(const char *s);

#endif
