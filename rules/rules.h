/* rules.h -- rule files: the shipped catalog and the user's, parsed, checked and
 * applied.
 *
 * A rule file is a list of blocks, each opened by a keyword at the start of a line:
 *
 *   rule ID            a rule; its lines say what kind:
 *     description: TEXT              one line for `pycorr rules list`
 *     pattern: NAME                  the detector it configures (a detector rule), or
 *                                    the pattern its findings are named by
 *     severity: SEV                  info low medium high critical
 *     set PARAM = VALUE              a detector parameter (`pycorr rules list` shows them)
 *     when EXPR                      detector rule: a condition on the finding
 *     match EXPR                     a condition on each event (a match rule)
 *     count >= N within DUR [by F,...] [distinct F]
 *                                    with match: a threshold rule
 *     sequence by F within DUR       a sequence rule, with steps:
 *     first EXPR / then EXPR         A then B (then C) by key within the span
 *     not followed by EXPR           A not followed by B within the span
 *     title: TEMPLATE                {field} and {evidence.x} are filled in
 *     tags: a, b                     carried into findings
 *     enabled: false                 turn a rule (or a shipped detector) off
 *   suppress ID        a suppression:
 *     id: FINDING_ID | fingerprint: HEX | when EXPR     (on findings)
 *     until: YYYY-MM-DD              stops applying after that day, and says so
 *   test RULE_ID       an example: `event {json}` lines, then `expect finding
 *                      [count N] [severity SEV]` or `expect no finding`
 *
 * '#' starts a comment. A user rule with the id of a shipped rule replaces it. Every
 * error names file:line:col.
 */
#ifndef PYCORR_RULES_H
#define PYCORR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../correlate/event.h"
#include "../patterns/finding.h"
#include "../patterns/pattern.h"

struct ruleset;

#define RULES_ERRSZ 512

/* NULL on allocation failure. */
struct ruleset *ruleset_create(void);
void ruleset_free(struct ruleset *rs);

/* Add the rules of one file (text is its content; name is for messages and `rules
 * list`). Returns 0, or -1 with "name:line:col: message" in err. */
int ruleset_add_text(struct ruleset *rs, const char *name, const char *text, size_t len, char *err,
                     size_t errsz);
/* The same for a path: a file, or a directory of *.rules files (sorted). */
int ruleset_add_path(struct ruleset *rs, const char *path, char *err, size_t errsz);
/* The catalog compiled into the executable (every rules/NAME.rules file). */
int ruleset_add_shipped(struct ruleset *rs, char *err, size_t errsz);

/* Cross-checks after every file is in: a detector rule names a known detector,
 * parameters exist and parse, tests name existing rules. 0 or -1 with err. */
int ruleset_finalize(struct ruleset *rs, char *err, size_t errsz);

/* Print one line per rule: id, pattern, severity, description, source file; then the
 * detectors' parameters as configured. */
void ruleset_list(const struct ruleset *rs, FILE *out);
size_t ruleset_count(const struct ruleset *rs);

/* ---- running ---- */

struct rules_engine;

/* The detectors to run and their parameters, as the rules configure them.
 * enabled[i] for pattern_registry[i]. */
void ruleset_detector_config(const struct ruleset *rs, const struct pattern *p, struct pat_config *cfg,
                             bool *enabled);

/* NULL on allocation failure. Findings go to store. today is the date suppressions
 * are judged against (days since the epoch, UTC). */
struct rules_engine *rules_engine_create(const struct ruleset *rs, struct finding_store *store, int64_t today);
void rules_engine_free(struct rules_engine *e);

/* One event through the match, threshold and sequence rules. 0, or -1 when memory
 * ran out. */
int rules_engine_event(struct rules_engine *e, const struct event *ev);

/* End of input: sequences still waiting for their "not followed by" fire. */
void rules_engine_flush(struct rules_engine *e);

/* After every detector is done: give each detector finding its rule (the first
 * detector rule of its pattern whose condition holds: severity, title, tags), drop
 * findings no rule claims, and hide suppressed ones. Returns how many were
 * suppressed. */
size_t rules_engine_apply(struct rules_engine *e, struct finding *const *f, size_t n, bool *keep);

/* Suppressions that expired (to warn about): writes up to max lines into out. */
size_t rules_engine_expired(const struct rules_engine *e, char out[][160], size_t max);

/* ---- rule tests ---- */

struct rules_test_result {
    unsigned tests, passed;
};

/* Run the test blocks of the ruleset (those from files whose name contains
 * only_source, or all when NULL); failures are described on out. */
int ruleset_run_tests(const struct ruleset *rs, const char *only_source, FILE *out,
                      struct rules_test_result *res);

#endif
