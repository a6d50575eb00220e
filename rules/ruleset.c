/* ruleset.c -- parse rule files into rules, suppressions and tests; list and check
 * them; configure the detectors. See rules.h for the syntax. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../correlate/evtime.h"
#include "fields.h"
#include "ruleset_private.h"

#define SHIPPED_INDEX (1u << 20)

struct ruleset *ruleset_create(void)
{
    return calloc(1, sizeof(struct ruleset));
}

static void rule_free(struct rule *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->description);
    free(r->pattern);
    free(r->title);
    json_decref(r->tags);
    rx_free(r->when);
    rx_free(r->match);
    for (size_t i = 0; i < r->nby; i++)
        free(r->by_names[i]);
    free(r->distinct_name);
    free(r->seq_by_name);
    for (size_t i = 0; i < r->nsteps; i++)
        rx_free(r->steps[i].expr);
    for (size_t i = 0; i < r->nsets; i++) {
        free(r->sets[i].name);
        free(r->sets[i].value);
    }
    free(r->sets);
    free(r);
}

static void sup_free(struct suppression *s)
{
    if (s == NULL)
        return;
    free(s->id);
    free(s->description);
    free(s->finding_id);
    free(s->fingerprint);
    free(s->until_text);
    rx_free(s->when);
    free(s);
}

static void test_free(struct rule_test *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nitems; i++)
        free(t->items[i].json);
    free(t->items);
    free(t->rule_id);
    free(t);
}

void ruleset_free(struct ruleset *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->nrules; i++)
        rule_free(rs->rules[i]);
    for (size_t i = 0; i < rs->nsups; i++)
        sup_free(rs->sups[i]);
    for (size_t i = 0; i < rs->ntests; i++)
        test_free(rs->tests[i]);
    for (size_t i = 0; i < rs->nsources; i++)
        free(rs->sources[i]);
    free(rs->rules);
    free(rs->sups);
    free(rs->tests);
    free(rs->sources);
    free(rs);
}

size_t ruleset_count(const struct ruleset *rs) { return rs->nrules; }

int64_t rules_parse_day(const char *s)
{
    int y, m, d;
    char extra;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    return evtime_days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* ---- the parser ---- */

struct pstate {
    struct ruleset *rs;
    const char *source;
    int line;
    char *err;
    size_t errsz;
    struct rule *rule;
    struct suppression *sup;
    struct rule_test *test;
    bool failed;
};

static int perr(struct pstate *ps, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct pstate *ps, int col, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    ps->failed = true;
    int k = snprintf(ps->err, ps->errsz, "%s:%d:%d: ", ps->source, ps->line, col);
    if (k < 0 || (size_t)k >= ps->errsz)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + k, ps->errsz - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static int push_ptr(void ***arr, size_t *n, void *p)
{
    void **na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (na == NULL)
        return -1;
    na[(*n)++] = p;
    *arr = na;
    return 0;
}

static const char *intern_source(struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->nsources; i++)
        if (strcmp(rs->sources[i], name) == 0)
            return rs->sources[i];
    char *d = strdup(name);
    if (d == NULL || push_ptr((void ***)&rs->sources, &rs->nsources, d) != 0) {
        free(d);
        return "?";
    }
    return d;
}

static bool valid_id(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Remove a trailing comment: '#' after white space, outside quotes and regexes. */
static void strip_comment(char *s)
{
    bool q = false, re = false;
    char prev_nonspace = '\0';
    for (char *p = s; *p; p++) {
        if (*p == '\\' && (q || re) && p[1]) {
            p++;
            continue;
        }
        if (!re && *p == '"')
            q = !q;
        else if (!q && *p == '/' && (re || prev_nonspace == '~'))
            re = !re;
        else if (!q && !re && *p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
        if (*p != ' ' && *p != '\t')
            prev_nonspace = *p;
    }
}

static int parse_duration(const char *s, int64_t *ns)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    double mult;
    if (strcmp(end, "ms") == 0)
        mult = 1e6;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1e9;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60e9;
    else if (strcmp(end, "h") == 0)
        mult = 3600e9;
    else if (strcmp(end, "d") == 0)
        mult = 86400e9;
    else
        return -1;
    *ns = (int64_t)(v * mult);
    return 0;
}

static struct rx_expr *compile(struct pstate *ps, const struct rx_context *ctx, const char *text, int col)
{
    struct rx_error e;
    struct rx_expr *x = rx_compile(text, ctx, ps->line, col, &e);
    if (x == NULL)
        perr(ps, e.col ? e.col : col, "%s", e.msg);
    return x;
}

static int event_field(struct pstate *ps, const char *name, int col)
{
    enum rx_ftype t;
    int f = rules_event_context.resolve(name, &t);
    if (f < 0)
        perr(ps, col, "unknown event field '%s'", name);
    return f;
}

/* "count [distinct F] >= N within DUR [by F, F]" */
static int parse_count(struct pstate *ps, struct rule *r, char *rest, int col0)
{
    char *save = NULL;
    char *tok = strtok_r(rest, " \t,", &save);
    /* A second count line replaces the first. */
    r->distinct = -1;
    free(r->distinct_name);
    r->distinct_name = NULL;
    for (size_t i = 0; i < r->nby; i++)
        free(r->by_names[i]);
    r->nby = 0;
    if (tok && strcmp(tok, "distinct") == 0) {
        char *f = strtok_r(NULL, " \t,", &save);
        if (f == NULL)
            return perr(ps, col0, "'distinct' needs a field");
        if ((r->distinct = event_field(ps, f, col0)) < 0)
            return -1;
        r->distinct_name = strdup(f);
        tok = strtok_r(NULL, " \t,", &save);
    }
    if (tok == NULL || strcmp(tok, ">=") != 0)
        return perr(ps, col0, "expected 'count >= N within DURATION [by FIELD, ...]'");
    char *n = strtok_r(NULL, " \t,", &save);
    char *end;
    r->count = n ? strtoll(n, &end, 10) : 0;
    if (n == NULL || *end != '\0' || r->count < 1 || r->count > 100000)
        return perr(ps, col0, "count: expected a number from 1 to 100000");
    tok = strtok_r(NULL, " \t,", &save);
    char *d = strtok_r(NULL, " \t,", &save);
    if (tok == NULL || strcmp(tok, "within") != 0 || d == NULL || parse_duration(d, &r->window_ns) != 0)
        return perr(ps, col0, "count: expected 'within DURATION' (e.g. 30s, 5m)");
    tok = strtok_r(NULL, " \t,", &save);
    if (tok != NULL) {
        if (strcmp(tok, "by") != 0)
            return perr(ps, col0, "count: unexpected '%s' (expected 'by FIELD, ...')", tok);
        while ((tok = strtok_r(NULL, " \t,", &save)) != NULL) {
            if (r->nby >= MAX_BY)
                return perr(ps, col0, "count: at most %d 'by' fields", MAX_BY);
            if ((r->by[r->nby] = event_field(ps, tok, col0)) < 0)
                return -1;
            r->by_names[r->nby++] = strdup(tok);
        }
    }
    return 0;
}

static int parse_kv(struct pstate *ps, const char *key, char *value, int col)
{
    struct rule *r = ps->rule;
    struct suppression *s = ps->sup;
    if (r != NULL) {
        if (strcmp(key, "description") == 0) {
            free(r->description);
            r->description = strdup(value);
        } else if (strcmp(key, "pattern") == 0) {
            if (!valid_id(value))
                return perr(ps, col, "pattern: expected a name like nested_exception");
            free(r->pattern);
            r->pattern = strdup(value);
        } else if (strcmp(key, "severity") == 0) {
            if (severity_parse(value, &r->severity) != 0)
                return perr(ps, col, "severity: '%s' is not one of info, low, medium, high, critical", value);
            r->severity_set = true;
        } else if (strcmp(key, "title") == 0) {
            size_t n = strlen(value);
            if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
                value[n - 1] = '\0';
                value++;
            }
            free(r->title);
            r->title = strdup(value);
        } else if (strcmp(key, "tags") == 0) {
            json_decref(r->tags);
            r->tags = json_array();
            char *save = NULL;
            for (char *t = strtok_r(value, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
                json_array_append_new(r->tags, json_string(t));
        } else if (strcmp(key, "enabled") == 0) {
            if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
                r->enabled = true;
            else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
                r->enabled = false;
            else
                return perr(ps, col, "enabled: expected true or false");
        } else {
            return perr(ps, 1, "unknown key '%s' in rule %s (description, pattern, severity, title, tags, enabled)",
                        key, r->id);
        }
        return 0;
    }
    if (s != NULL) {
        if (strcmp(key, "description") == 0) {
            free(s->description);
            s->description = strdup(value);
        } else if (strcmp(key, "id") == 0) {
            if (strlen(value) != FINDING_ID_LEN)
                return perr(ps, col, "id: a finding id has %d hex digits", FINDING_ID_LEN);
            free(s->finding_id);
            s->finding_id = strdup(value);
        } else if (strcmp(key, "fingerprint") == 0) {
            free(s->fingerprint);
            s->fingerprint = strdup(value);
        } else if (strcmp(key, "until") == 0) {
            if ((s->until_day = rules_parse_day(value)) < 0)
                return perr(ps, col, "until: expected a date YYYY-MM-DD");
            free(s->until_text);
            s->until_text = strdup(value);
        } else {
            return perr(ps, 1, "unknown key '%s' in suppress %s (description, id, fingerprint, until)", key, s->id);
        }
        return 0;
    }
    return perr(ps, 1, "'%s:' outside a block (start one with 'rule ID', 'suppress ID' or 'test RULE')", key);
}

static int finish_block(struct pstate *ps)
{
    struct rule *r = ps->rule;
    if (r != NULL) {
        ps->rule = NULL;
        int saved = ps->line;
        ps->line = r->line;
        const char *problem = NULL;
        if (r->nsteps > 0 && r->seq_by < 0)
            problem = "steps need 'sequence by FIELD within DURATION'";
        else if (r->seq_by >= 0 && (r->nsteps < 2 || r->steps[0].negated))
            problem = "a sequence needs 'first EXPR' and a 'then EXPR' or 'not followed by EXPR'";
        else if (r->seq_by >= 0)
            r->kind = RK_SEQUENCE;
        else if (r->match != NULL)
            r->kind = r->count > 0 ? RK_THRESHOLD : RK_MATCH;
        else if (r->count > 0)
            problem = "'count' needs a 'match' condition";
        else if (r->pattern != NULL)
            r->kind = RK_DETECTOR;
        else
            problem = "says nothing to do: give it 'pattern:', 'match' or 'sequence'";
        if (problem != NULL) {
            int rc = perr(ps, 1, "rule %s: %s", r->id, problem);
            ps->line = saved;
            rule_free(r);
            return rc;
        }
        ps->line = saved;
        /* A user rule replaces a shipped one of the same id. */
        for (size_t i = 0; i < ps->rs->nrules; i++) {
            struct rule *o = ps->rs->rules[i];
            if (strcmp(o->id, r->id) != 0)
                continue;
            bool o_shipped = o->index >= SHIPPED_INDEX, r_shipped = r->index >= SHIPPED_INDEX;
            if (o_shipped && !r_shipped) {
                ps->rs->rules[i] = r;
                rule_free(o);
                return 0;
            }
            if (!o_shipped && r_shipped) {
                rule_free(r);
                return 0;
            }
            ps->line = r->line;
            int rc = perr(ps, 6, "rule %s is defined twice (first at %s:%d)", r->id, o->source, o->line);
            rule_free(r);
            return rc;
        }
        if (push_ptr((void ***)&ps->rs->rules, &ps->rs->nrules, r) != 0) {
            rule_free(r);
            return perr(ps, 1, "out of memory");
        }
    }
    if (ps->sup != NULL) {
        struct suppression *s = ps->sup;
        ps->sup = NULL;
        if (s->finding_id == NULL && s->fingerprint == NULL && s->when == NULL) {
            int saved = ps->line;
            ps->line = s->line;
            sup_free(s);
            int rc = perr(ps, 1, "suppress needs 'id:', 'fingerprint:' or 'when EXPR'");
            ps->line = saved;
            return rc;
        }
        if (push_ptr((void ***)&ps->rs->sups, &ps->rs->nsups, s) != 0) {
            sup_free(s);
            return perr(ps, 1, "out of memory");
        }
    }
    if (ps->test != NULL) {
        struct rule_test *t = ps->test;
        ps->test = NULL;
        if (push_ptr((void ***)&ps->rs->tests, &ps->rs->ntests, t) != 0) {
            test_free(t);
            return perr(ps, 1, "out of memory");
        }
    }
    return 0;
}

static int parse_line(struct pstate *ps, char *raw)
{
    strip_comment(raw);
    char *line = trim(raw);
    if (*line == '\0')
        return 0;
    int col = (int)(line - raw) + 1;
    /* the first word */
    size_t wl = 0;
    while (line[wl] && line[wl] != ' ' && line[wl] != '\t' && line[wl] != ':')
        wl++;
    char word[32];
    if (wl >= sizeof(word))
        return perr(ps, col, "unknown directive '%.*s'", (int)wl, line);
    memcpy(word, line, wl);
    word[wl] = '\0';
    char *rest = line + wl;
    int rest_col = col + (int)wl;
    if (*rest == ':') {
        char *v = trim(rest + 1);
        return parse_kv(ps, word, v, col + (int)(v - line));
    }
    char *arg = trim(rest);
    int arg_col = rest_col + (int)(arg - rest);

    if (strcmp(word, "rule") == 0 || strcmp(word, "suppress") == 0 || strcmp(word, "test") == 0) {
        if (finish_block(ps) != 0)
            return -1;
        if (!valid_id(arg))
            return perr(ps, arg_col, "%s: expected an id of letters, digits, '_', '-', '.'", word);
        if (word[0] == 'r') {
            struct rule *r = calloc(1, sizeof(*r));
            if (r == NULL)
                return perr(ps, col, "out of memory");
            r->id = strdup(arg);
            r->enabled = true;
            r->distinct = -1;
            r->seq_by = -1;
            r->source = ps->source;
            r->line = ps->line;
            r->index = ps->rs->next_index++ + (ps->rs->adding_shipped ? SHIPPED_INDEX : 0);
            ps->rule = r;
        } else if (word[0] == 's') {
            struct suppression *s = calloc(1, sizeof(*s));
            if (s == NULL)
                return perr(ps, col, "out of memory");
            s->id = strdup(arg);
            s->until_day = -1;
            s->source = ps->source;
            s->line = ps->line;
            ps->sup = s;
        } else {
            struct rule_test *t = calloc(1, sizeof(*t));
            if (t == NULL)
                return perr(ps, col, "out of memory");
            t->rule_id = strdup(arg);
            t->source = ps->source;
            t->line = ps->line;
            ps->test = t;
        }
        return 0;
    }

    if (ps->test != NULL) {
        struct rule_test *t = ps->test;
        struct test_item it = {.count = -1, .severity = -1, .line = ps->line};
        if (strcmp(word, "event") == 0) {
            if (*arg != '{')
                return perr(ps, arg_col, "event: expected a JSON object");
            it.is_event = true;
            it.json = strdup(arg);
        } else if (strcmp(word, "expect") == 0) {
            char *save = NULL;
            char *tok = strtok_r(arg, " \t", &save);
            if (tok && strcmp(tok, "no") == 0) {
                it.expect_none = true;
                tok = strtok_r(NULL, " \t", &save);
            }
            if (tok == NULL || strcmp(tok, "finding") != 0)
                return perr(ps, arg_col, "expect: 'expect finding [count N] [severity SEV]' or 'expect no finding'");
            while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
                char *v = strtok_r(NULL, " \t", &save);
                if (v == NULL)
                    return perr(ps, arg_col, "expect: '%s' needs a value", tok);
                if (strcmp(tok, "count") == 0) {
                    it.count = strtoll(v, NULL, 10);
                } else if (strcmp(tok, "severity") == 0) {
                    enum severity sv;
                    if (severity_parse(v, &sv) != 0)
                        return perr(ps, arg_col, "expect: unknown severity '%s'", v);
                    it.severity = (int)sv;
                } else {
                    return perr(ps, arg_col, "expect: unknown '%s' (count, severity)", tok);
                }
            }
        } else {
            return perr(ps, col, "unknown directive '%s' in a test (event, expect)", word);
        }
        struct test_item *ni = realloc(t->items, (t->nitems + 1) * sizeof(*ni));
        if (ni == NULL)
            return perr(ps, col, "out of memory");
        t->items = ni;
        t->items[t->nitems++] = it;
        return 0;
    }

    if (ps->sup != NULL) {
        if (strcmp(word, "when") == 0) {
            rx_free(ps->sup->when);
            ps->sup->when = compile(ps, &rules_finding_context, arg, arg_col);
            return ps->sup->when ? 0 : -1;
        }
        return perr(ps, col, "unknown directive '%s' in a suppression (id:, fingerprint:, when, until:)", word);
    }

    struct rule *r = ps->rule;
    if (r == NULL)
        return perr(ps, col, "'%s' outside a block (start one with 'rule ID', 'suppress ID' or 'test RULE')", word);
    if (strcmp(word, "when") == 0) {
        rx_free(r->when);
        r->when = compile(ps, &rules_finding_context, arg, arg_col);
        return r->when ? 0 : -1;
    }
    if (strcmp(word, "match") == 0) {
        rx_free(r->match);
        r->match = compile(ps, &rules_event_context, arg, arg_col);
        return r->match ? 0 : -1;
    }
    if (strcmp(word, "count") == 0)
        return parse_count(ps, r, arg, arg_col);
    if (strcmp(word, "set") == 0) {
        char *eq = strchr(arg, '=');
        if (eq == NULL)
            return perr(ps, arg_col, "set: expected 'set PARAMETER = VALUE'");
        *eq = '\0';
        char *name = trim(arg), *value = trim(eq + 1);
        struct rule_set_param *ns = realloc(r->sets, (r->nsets + 1) * sizeof(*ns));
        if (ns == NULL)
            return perr(ps, col, "out of memory");
        r->sets = ns;
        r->sets[r->nsets].name = strdup(name);
        r->sets[r->nsets].value = strdup(value);
        r->sets[r->nsets].line = ps->line;
        r->sets[r->nsets].col = arg_col;
        r->nsets++;
        return 0;
    }
    if (strcmp(word, "sequence") == 0) {
        char *save = NULL;
        char *by = strtok_r(arg, " \t", &save);
        char *f = strtok_r(NULL, " \t", &save);
        char *within = strtok_r(NULL, " \t", &save);
        char *d = strtok_r(NULL, " \t", &save);
        if (by == NULL || strcmp(by, "by") != 0 || f == NULL || within == NULL || strcmp(within, "within") != 0 ||
            d == NULL || parse_duration(d, &r->span_ns) != 0)
            return perr(ps, arg_col, "expected 'sequence by FIELD within DURATION'");
        if ((r->seq_by = event_field(ps, f, arg_col)) < 0)
            return -1;
        free(r->seq_by_name);
        r->seq_by_name = strdup(f);
        return 0;
    }
    bool negated = false;
    char *step = NULL;
    int step_col = arg_col;
    if (strcmp(word, "first") == 0 || strcmp(word, "then") == 0) {
        step = arg;
        if ((word[0] == 'f') != (r->nsteps == 0))
            return perr(ps, col, "a sequence starts with 'first' and goes on with 'then' / 'not followed by'");
    } else if (strcmp(word, "not") == 0) {
        if (strncmp(arg, "followed by", 11) != 0)
            return perr(ps, arg_col, "expected 'not followed by EXPR'");
        step = trim(arg + 11);
        step_col = arg_col + (int)(step - arg);
        negated = true;
        if (r->nsteps == 0)
            return perr(ps, col, "'not followed by' needs a 'first' step before it");
    }
    if (step != NULL) {
        if (r->nsteps >= MAX_STEPS)
            return perr(ps, col, "a sequence has at most %d steps", MAX_STEPS);
        if (r->nsteps > 0 && r->steps[r->nsteps - 1].negated)
            return perr(ps, col, "'not followed by' must be the last step");
        struct rx_expr *x = compile(ps, &rules_event_context, step, step_col);
        if (x == NULL)
            return -1;
        r->steps[r->nsteps].expr = x;
        r->steps[r->nsteps].negated = negated;
        r->nsteps++;
        return 0;
    }
    return perr(ps, col,
                "unknown directive '%s' (description:, pattern:, severity:, title:, tags:, enabled:, set, when, "
                "match, count, sequence, first, then, not followed by)",
                word);
}

int ruleset_add_text(struct ruleset *rs, const char *name, const char *text, size_t len, char *err, size_t errsz)
{
    struct pstate ps = {.rs = rs, .source = intern_source(rs, name), .err = err, .errsz = errsz};
    err[0] = '\0';
    size_t start = 0;
    char *buf = malloc(4096);
    size_t cap = 4096;
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i <= len && !ps.failed; i++) {
        if (i < len && text[i] != '\n')
            continue;
        ps.line++;
        size_t n = i - start;
        if (n + 1 > cap) {
            char *nb = realloc(buf, n + 1);
            if (nb == NULL)
                break;
            buf = nb;
            cap = n + 1;
        }
        memcpy(buf, text + start, n);
        buf[n] = '\0';
        if (memchr(buf, '\0', n) != NULL) {
            perr(&ps, 1, "a NUL byte in a rule file");
            break;
        }
        parse_line(&ps, buf);
        start = i + 1;
    }
    free(buf);
    if (!ps.failed)
        finish_block(&ps);
    if (ps.failed) {
        /* What was half built is not a rule. */
        if (ps.rule)
            rule_free(ps.rule);
        if (ps.sup)
            sup_free(ps.sup);
        if (ps.test)
            test_free(ps.test);
        return -1;
    }
    return 0;
}

static int add_file(struct ruleset *rs, const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf != NULL && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            if (cap >= ((size_t)16 << 20)) {
                snprintf(err, errsz, "%s: larger than 16 MiB, not a rule file", path);
                free(buf);
                fclose(f);
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL) {
        snprintf(err, errsz, "%s: out of memory", path);
        return -1;
    }
    int rc = ruleset_add_text(rs, path, buf, n, err, errsz);
    free(buf);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ruleset_add_path(struct ruleset *rs, const char *path, char *err, size_t errsz)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(rs, path, err, errsz);
    DIR *d = opendir(path);
    if (d == NULL) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 7 || strcmp(e->d_name + l - 6, ".rules") != 0)
            continue;
        char *full = malloc(strlen(path) + l + 2);
        if (full == NULL)
            break;
        sprintf(full, "%s/%s", path, e->d_name);
        if (push_ptr((void ***)&names, &n, full) != 0) {
            free(full);
            break;
        }
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = add_file(rs, names[i], err, errsz);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* The catalog is compiled in (see rules/embed.sh and the Makefile). */
struct shipped_file {
    const char *name;
    const char *text;
    size_t len;
};
extern const struct shipped_file rules_shipped[];

int ruleset_add_shipped(struct ruleset *rs, char *err, size_t errsz)
{
    rs->adding_shipped = true;
    int rc = 0;
    for (size_t i = 0; rules_shipped[i].name != NULL && rc == 0; i++)
        rc = ruleset_add_text(rs, rules_shipped[i].name, rules_shipped[i].text, rules_shipped[i].len, err, errsz);
    rs->adding_shipped = false;
    return rc;
}

/* ---- checks, listing, detector configuration ---- */

static const struct pattern *detector_named(const char *name)
{
    for (size_t i = 0; name && pattern_registry[i] != NULL; i++)
        if (strcmp(pattern_registry[i]->name, name) == 0)
            return pattern_registry[i];
    return NULL;
}

static int cmp_rules(const void *a, const void *b)
{
    const struct rule *x = *(const struct rule *const *)a, *y = *(const struct rule *const *)b;
    return x->index < y->index ? -1 : x->index > y->index;
}

int ruleset_finalize(struct ruleset *rs, char *err, size_t errsz)
{
    if (rs->nrules > 1)
        qsort(rs->rules, rs->nrules, sizeof(*rs->rules), cmp_rules);
    for (size_t i = 0; i < rs->nrules; i++) {
        struct rule *r = rs->rules[i];
        if (r->kind == RK_DETECTOR) {
            const struct pattern *p = detector_named(r->pattern);
            if (p == NULL) {
                snprintf(err, errsz, "%s:%d:1: rule %s: no detector named '%s' (see `pycorr rules list`)", r->source,
                         r->line, r->id, r->pattern);
                return -1;
            }
            struct pat_config cfg;
            pattern_config_defaults(p, &cfg);
            for (size_t k = 0; k < r->nsets; k++) {
                char msg[256];
                if (pattern_config_set(p, &cfg, r->sets[k].name, r->sets[k].value, msg, sizeof(msg)) != 0) {
                    snprintf(err, errsz, "%s:%d:%d: %s", r->source, r->sets[k].line, r->sets[k].col, msg);
                    return -1;
                }
            }
        } else if (r->nsets > 0) {
            snprintf(err, errsz, "%s:%d:%d: rule %s: 'set' configures a detector; this rule has none", r->source,
                     r->sets[0].line, r->sets[0].col, r->id);
            return -1;
        }
    }
    for (size_t i = 0; i < rs->ntests; i++) {
        struct rule_test *t = rs->tests[i];
        bool found = false;
        for (size_t k = 0; k < rs->nrules && !found; k++)
            found = strcmp(rs->rules[k]->id, t->rule_id) == 0;
        if (!found) {
            snprintf(err, errsz, "%s:%d:6: test: no rule named '%s'", t->source, t->line, t->rule_id);
            return -1;
        }
    }
    return 0;
}

static const char *kind_name(enum rule_kind k)
{
    switch (k) {
    case RK_DETECTOR: return "detector";
    case RK_MATCH: return "match";
    case RK_THRESHOLD: return "threshold";
    case RK_SEQUENCE: return "sequence";
    case RK_NONE: break;
    }
    return "?";
}

const char *rules_finding_pattern(const struct rule *r);
const char *rules_finding_pattern(const struct rule *r)
{
    if (r->pattern != NULL)
        return r->pattern;
    switch (r->kind) {
    case RK_THRESHOLD: return "threshold";
    case RK_SEQUENCE: return "sequence";
    default: return "match";
    }
}

void ruleset_list(const struct ruleset *rs, FILE *out)
{
    fprintf(out, "%-28s %-10s %-28s %-9s %s\n", "RULE", "KIND", "PATTERN", "SEVERITY", "DESCRIPTION (SOURCE)");
    for (size_t i = 0; i < rs->nrules; i++) {
        const struct rule *r = rs->rules[i];
        fprintf(out, "%-28s %-10s %-28s %-9s %s (%s:%d)%s\n", r->id, kind_name(r->kind), rules_finding_pattern(r),
                r->severity_set ? severity_name(r->severity) : "detector", r->description ? r->description : "-",
                r->source, r->line, r->enabled ? "" : " [disabled]");
    }
    fprintf(out, "\n%zu rules, %zu suppressions, %zu tests\n", rs->nrules, rs->nsups, rs->ntests);
    fprintf(out, "\ndetectors and their parameters (as the rules set them):\n");
    for (size_t i = 0; pattern_registry[i] != NULL; i++) {
        const struct pattern *p = pattern_registry[i];
        struct pat_config cfg;
        bool enabled;
        ruleset_detector_config(rs, p, &cfg, &enabled);
        fprintf(out, "  %s%s: %s\n", p->name, enabled ? "" : " [disabled]", p->description);
        for (size_t k = 0; p->params != NULL && p->params[k].name != NULL; k++) {
            char val[64];
            switch (p->params[k].type) {
            case PAT_INT: snprintf(val, sizeof(val), "%lld", cfg.v[k].i); break;
            case PAT_DOUBLE: snprintf(val, sizeof(val), "%g", cfg.v[k].d); break;
            case PAT_SEVERITY: snprintf(val, sizeof(val), "%s", severity_name(cfg.v[k].sev)); break;
            case PAT_BOOL: snprintf(val, sizeof(val), "%s", cfg.v[k].b ? "true" : "false"); break;
            }
            fprintf(out, "    %-22s = %-10s %s\n", p->params[k].name, val, p->params[k].help);
        }
    }
}

void ruleset_detector_config(const struct ruleset *rs, const struct pattern *p, struct pat_config *cfg,
                             bool *enabled)
{
    pattern_config_defaults(p, cfg);
    /* Without a rule a detector runs with its defaults; a rule that is disabled and
     * is the only one for it turns it off. Parameters: the first rule setting one
     * wins (user rules come first). */
    bool any = false, any_enabled = false;
    bool set[PAT_MAX_PARAMS] = {0};
    for (size_t i = 0; rs != NULL && i < rs->nrules; i++) {
        const struct rule *r = rs->rules[i];
        if (r->kind != RK_DETECTOR || strcmp(r->pattern, p->name) != 0)
            continue;
        any = true;
        if (!r->enabled)
            continue;
        any_enabled = true;
        for (size_t k = 0; k < r->nsets; k++) {
            for (size_t j = 0; p->params && p->params[j].name; j++) {
                if (strcmp(p->params[j].name, r->sets[k].name) != 0 || set[j])
                    continue;
                char msg[128];
                struct pat_config one = *cfg;
                if (pattern_config_set(p, &one, r->sets[k].name, r->sets[k].value, msg, sizeof(msg)) == 0) {
                    cfg->v[j] = one.v[j];
                    set[j] = true;
                }
            }
        }
    }
    *enabled = !any || any_enabled;
}
