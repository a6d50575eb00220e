/* expr.h -- the condition language of rule files, compiled once, evaluated per
 * event or per finding.
 *
 *   expr  := or
 *   or    := and ("or" and)*
 *   and   := unary ("and" unary)*
 *   unary := "not" unary | "(" expr ")" | test
 *   test  := FIELD OP VALUE | FIELD "~" /REGEX/flags | FIELD "!~" /REGEX/flags
 *          | FIELD "in" "[" VALUE ("," VALUE)* "]" | FIELD "exists"
 *   OP    := == != < <= > >=
 *   VALUE := "string" | number | a bare word (a level name: ERROR, or a severity)
 *
 * Fields are named by the context (events: level, message, service, exception.type,
 * ...; findings: pattern, severity, service, evidence.chain_length, ...). A field may
 * have several values (exception.types: every type of the chain): a test holds when
 * any value passes it. Regexes are PCRE2, JIT-compiled; flags i (caseless), m, s, x.
 * Comparisons of a level field accept level names (level >= WARNING); of a severity
 * field, severity names. Within "and", cheap tests run before regexes.
 */
#ifndef PYCORR_EXPR_H
#define PYCORR_EXPR_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

/* How a field's values compare. */
enum rx_ftype { RX_F_STR, RX_F_NUM, RX_F_LEVEL, RX_F_SEVERITY };

/* A context describes its fields: resolve gives a field id (>= 0) and type for a
 * name, or -1 when the context has no such field. */
struct rx_context;

/* Values of one field for one subject. get_* fill up to max values and return how
 * many (0 when absent). */
#define RX_MAX_VALUES 64
struct rx_values {
    size_t n;
    ev_str s[RX_MAX_VALUES];
    double d[RX_MAX_VALUES];
    bool is_num[RX_MAX_VALUES];
};

struct rx_context {
    /* Resolve a field name to an id; path receives what follows a "prefix." for
     * open-ended fields (evidence.a.b). -1 when unknown. */
    int (*resolve)(const char *name, enum rx_ftype *type);
    /* Values of field id for subject; path is the dotted rest for open fields. */
    void (*get)(const void *subject, int field, const char *path, struct rx_values *out);
};

struct rx_node;

/* A compiled expression. */
struct rx_expr {
    struct rx_node *root;
    unsigned nregex;
};

struct rx_error {
    int line, col;
    char msg[256];
};

/* Compile text (one line of a rule file, at line/col) against ctx. NULL with err
 * filled on a syntax error, an unknown field, a bad regex or a value of the wrong
 * type. */
struct rx_expr *rx_compile(const char *text, const struct rx_context *ctx, int line, int col,
                           struct rx_error *err);
void rx_free(struct rx_expr *e);

/* Evaluate on subject. Never fails: a regex that errors at match time (match
 * limits) counts as no match. */
bool rx_eval(const struct rx_expr *e, const struct rx_context *ctx, const void *subject);

/* The regexes a match requires (those directly under the top "and"), so a prefilter
 * can skip the expression when a literal these regexes need is absent. Returns how
 * many were written (up to max). */
struct rx_required {
    int field;
    const char *path;
    const char *raw;  /* the pattern as written, owned by the expression */
    bool caseless;    /* the i flag */
};
size_t rx_required_regexes(const struct rx_expr *e, struct rx_required *out, size_t max);

/* A guard: the expression can only hold when one of these regexes matches (each
 * needs a literal the prefilter can look for) or, when exceptions is set, the
 * subject has an exception field. rx_guard returns false when no such guard can be
 * proved (a "not", a regex without a literal, a test that needs neither). */
#define RX_GUARD_MAX 8
struct rx_guard {
    struct rx_required re[RX_GUARD_MAX];
    size_t nre;
    bool exceptions;
};
bool rx_guard(const struct rx_expr *e, bool (*exc_field)(int field), bool (*has_literal)(const struct rx_required *),
              struct rx_guard *g);

/* The least value field must have for the expression to hold, from its "field >=
 * N", "field > N" and "field == N" tests under "and" (an "or" takes the smaller of
 * its sides); 0 when there is no such bound. For a cheap pre-check on levels. */
double rx_min_value(const struct rx_expr *e, int field);

/* True when the expression can only hold if some field for which pred is true has a
 * value (e.g. only exception events can match "exception.type == X"), so a caller can
 * skip it for subjects without such fields. */
bool rx_needs(const struct rx_expr *e, bool (*pred)(int field));

#endif
