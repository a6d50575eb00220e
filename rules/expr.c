/* expr.c -- compile and evaluate rule conditions; see expr.h. */
#include "expr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../patterns/finding.h"

enum nkind { N_AND, N_OR, N_NOT, N_CMP, N_RE, N_NRE, N_IN, N_EXISTS };
enum cmpop { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct rx_lit {
    char *s;
    size_t n;
    double d;
    bool num;
};

struct rx_node {
    enum nkind kind;
    enum cmpop op;
    int field;
    char *path;
    enum rx_ftype ftype;
    struct rx_lit v;
    struct rx_lit *list;
    size_t nlist;
    pcre2_code *re;
    pcre2_match_data *md;
    char *re_raw;          /* the pattern as written, for prefilters */
    bool re_caseless;
    struct rx_node *a, *b;
    int cost;              /* for ordering "and": tests before regexes */
};

/* ---- lexer ---- */

enum tok { T_END, T_IDENT, T_STRING, T_NUMBER, T_REGEX, T_OP, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK,
           T_COMMA, T_ERROR };

struct lexer {
    const char *s;
    size_t i, n;
    int line, col0;
    enum tok t;
    size_t start;          /* offset of the current token */
    char *text;            /* decoded string / identifier / regex body */
    size_t text_len;
    char op[3];
    unsigned re_flags;
    char re_flag_text[8];
    double num;
    struct rx_error *err;
    bool failed;
};

static void fail(struct lexer *lx, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct lexer *lx, size_t at, const char *fmt, ...)
{
    if (lx->failed)
        return;
    lx->failed = true;
    lx->err->line = lx->line;
    lx->err->col = lx->col0 + (int)at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err->msg, sizeof(lx->err->msg), fmt, ap);
    va_end(ap);
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '/' || c == '@' || c == ':';
}

static void next(struct lexer *lx)
{
    free(lx->text);
    lx->text = NULL;
    lx->text_len = 0;
    while (lx->i < lx->n && (lx->s[lx->i] == ' ' || lx->s[lx->i] == '\t'))
        lx->i++;
    lx->start = lx->i;
    if (lx->i >= lx->n) {
        lx->t = T_END;
        return;
    }
    char c = lx->s[lx->i];
    switch (c) {
    case '(': lx->t = T_LPAREN; lx->i++; return;
    case ')': lx->t = T_RPAREN; lx->i++; return;
    case '[': lx->t = T_LBRACK; lx->i++; return;
    case ']': lx->t = T_RBRACK; lx->i++; return;
    case ',': lx->t = T_COMMA; lx->i++; return;
    default: break;
    }
    if (c == '"' || c == '\'') {
        char q = c;
        size_t j = lx->i + 1;
        char *buf = malloc(lx->n - lx->i + 1);
        size_t o = 0;
        while (j < lx->n && lx->s[j] != q) {
            if (lx->s[j] == '\\' && j + 1 < lx->n) {
                char e = lx->s[j + 1];
                buf[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
                j += 2;
                continue;
            }
            buf[o++] = lx->s[j++];
        }
        if (j >= lx->n) {
            free(buf);
            fail(lx, lx->i, "unterminated string");
            lx->t = T_ERROR;
            return;
        }
        buf[o] = '\0';
        lx->text = buf;
        lx->text_len = o;
        lx->i = j + 1;
        lx->t = T_STRING;
        return;
    }
    if (c == '/') {
        size_t j = lx->i + 1;
        char *buf = malloc(lx->n - lx->i + 1);
        size_t o = 0;
        while (j < lx->n && lx->s[j] != '/') {
            if (lx->s[j] == '\\' && j + 1 < lx->n && lx->s[j + 1] == '/') {
                buf[o++] = '/';
                j += 2;
                continue;
            }
            if (lx->s[j] == '\\' && j + 1 < lx->n) {
                buf[o++] = lx->s[j++];
            }
            buf[o++] = lx->s[j++];
        }
        if (j >= lx->n) {
            free(buf);
            fail(lx, lx->i, "unterminated regex (missing closing '/')");
            lx->t = T_ERROR;
            return;
        }
        buf[o] = '\0';
        j++;
        lx->re_flags = 0;
        size_t nf = 0;
        while (j < lx->n && strchr("imsx", lx->s[j]) != NULL) {
            char f = lx->s[j++];
            if (nf + 1 < sizeof(lx->re_flag_text))
                lx->re_flag_text[nf++] = f;
            lx->re_flags |= f == 'i' ? PCRE2_CASELESS : f == 'm' ? PCRE2_MULTILINE : f == 's' ? PCRE2_DOTALL
                                                                                              : PCRE2_EXTENDED;
        }
        lx->re_flag_text[nf] = '\0';
        lx->text = buf;
        lx->text_len = o;
        lx->i = j;
        lx->t = T_REGEX;
        return;
    }
    if (strchr("=!<>~", c) != NULL) {
        size_t j = lx->i;
        char a = lx->s[j], b = j + 1 < lx->n ? lx->s[j + 1] : '\0';
        lx->op[0] = a;
        lx->op[1] = '\0';
        lx->op[2] = '\0';
        if ((a == '=' && b == '=') || (a == '!' && b == '=') || (a == '<' && b == '=') || (a == '>' && b == '=') ||
            (a == '!' && b == '~')) {
            lx->op[1] = b;
            lx->i += 2;
        } else if (a == '<' || a == '>' || a == '~') {
            lx->i += 1;
        } else {
            fail(lx, lx->i, "unexpected '%c' (operators: == != < <= > >= ~ !~)", a);
            lx->t = T_ERROR;
            return;
        }
        lx->t = T_OP;
        return;
    }
    if ((c >= '0' && c <= '9') || (c == '-' && lx->i + 1 < lx->n && lx->s[lx->i + 1] >= '0' && lx->s[lx->i + 1] <= '9')) {
        char *end;
        lx->num = strtod(lx->s + lx->i, &end);
        size_t j = (size_t)(end - lx->s);
        if (j < lx->n && ident_char(lx->s[j]) && lx->s[j] != '.') {
            /* "5xx", "2026-01-01": a bare word after all */
        } else {
            lx->text = strndup(lx->s + lx->i, j - lx->i);
            lx->text_len = j - lx->i;
            lx->i = j;
            lx->t = T_NUMBER;
            return;
        }
    }
    if (ident_char(c)) {
        size_t j = lx->i;
        while (j < lx->n && ident_char(lx->s[j]))
            j++;
        lx->text = strndup(lx->s + lx->i, j - lx->i);
        lx->text_len = j - lx->i;
        lx->i = j;
        lx->t = T_IDENT;
        return;
    }
    fail(lx, lx->i, "unexpected '%c'", c);
    lx->t = T_ERROR;
}

static bool is_kw(const struct lexer *lx, const char *kw)
{
    return lx->t == T_IDENT && strcmp(lx->text, kw) == 0;
}

/* ---- nodes ---- */

static void node_free(struct rx_node *n)
{
    if (n == NULL)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->path);
    free(n->v.s);
    for (size_t i = 0; i < n->nlist; i++)
        free(n->list[i].s);
    free(n->list);
    pcre2_match_data_free(n->md);
    pcre2_code_free(n->re);
    free(n->re_raw);
    free(n);
}

static struct rx_node *node_new(enum nkind k)
{
    struct rx_node *n = calloc(1, sizeof(*n));
    if (n != NULL)
        n->kind = k;
    return n;
}

/* A literal in the field's type: level and severity names become numbers. */
static bool make_lit(struct lexer *lx, enum rx_ftype ft, struct rx_lit *out)
{
    memset(out, 0, sizeof(*out));
    if (lx->t == T_NUMBER) {
        out->num = true;
        out->d = lx->num;
        out->s = strdup(lx->text);
        out->n = lx->text_len;
        return true;
    }
    if (lx->t != T_STRING && lx->t != T_IDENT) {
        fail(lx, lx->start, "expected a value (a \"string\", a number or a name)");
        return false;
    }
    if (ft == RX_F_LEVEL) {
        enum ev_level l = ev_level_parse(lx->text, lx->text_len);
        if (l == EV_LVL_UNKNOWN) {
            fail(lx, lx->start, "'%s' is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL)", lx->text);
            return false;
        }
        out->num = true;
        out->d = (double)l;
        return true;
    }
    if (ft == RX_F_SEVERITY) {
        enum severity sv;
        if (severity_parse(lx->text, &sv) != 0) {
            fail(lx, lx->start, "'%s' is not a severity (info, low, medium, high, critical)", lx->text);
            return false;
        }
        out->num = true;
        out->d = (double)sv;
        return true;
    }
    if (ft == RX_F_NUM) {
        char *end;
        out->d = strtod(lx->text, &end);
        if (*lx->text == '\0' || *end != '\0') {
            fail(lx, lx->start, "'%s' is not a number", lx->text);
            return false;
        }
        out->num = true;
        return true;
    }
    out->s = lx->text;
    out->n = lx->text_len;
    lx->text = NULL;
    return true;
}

static struct rx_node *parse_or(struct lexer *lx, const struct rx_context *ctx);

static struct rx_node *parse_test(struct lexer *lx, const struct rx_context *ctx)
{
    if (lx->t != T_IDENT) {
        fail(lx, lx->start, "expected a field name");
        return NULL;
    }
    enum rx_ftype ft;
    int field = ctx->resolve(lx->text, &ft);
    if (field < 0) {
        fail(lx, lx->start, "unknown field '%s'", lx->text);
        return NULL;
    }
    char *path = NULL;
    const char *dot = strchr(lx->text, '.');
    if (dot != NULL)
        path = strdup(dot + 1);
    size_t field_at = lx->start;
    next(lx);
    struct rx_node *n = NULL;
    if (is_kw(lx, "exists")) {
        n = node_new(N_EXISTS);
        next(lx);
    } else if (is_kw(lx, "in")) {
        next(lx);
        if (lx->t != T_LBRACK) {
            fail(lx, lx->start, "expected '[' after 'in'");
            free(path);
            return NULL;
        }
        n = node_new(N_IN);
        next(lx);
        while (!lx->failed) {
            struct rx_lit lit;
            if (!make_lit(lx, ft, &lit))
                break;
            struct rx_lit *nl = realloc(n->list, (n->nlist + 1) * sizeof(*nl));
            if (nl == NULL) {
                free(lit.s);
                break;
            }
            n->list = nl;
            n->list[n->nlist++] = lit;
            next(lx);
            if (lx->t == T_COMMA) {
                next(lx);
                continue;
            }
            if (lx->t != T_RBRACK)
                fail(lx, lx->start, "expected ',' or ']' in the list");
            break;
        }
        next(lx);
    } else if (lx->t == T_OP && (strcmp(lx->op, "~") == 0 || strcmp(lx->op, "!~") == 0)) {
        bool neg = lx->op[0] == '!';
        next(lx);
        if (lx->t != T_REGEX && lx->t != T_STRING) {
            fail(lx, lx->start, "expected /regex/ after '%s'", neg ? "!~" : "~");
            free(path);
            return NULL;
        }
        n = node_new(neg ? N_NRE : N_RE);
        int ec;
        PCRE2_SIZE eo;
        unsigned flags = lx->t == T_REGEX ? lx->re_flags : 0;
        n->re = pcre2_compile((PCRE2_SPTR)lx->text, lx->text_len, flags | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec,
                              &eo, NULL);
        if (n->re == NULL) {
            PCRE2_UCHAR msg[200];
            pcre2_get_error_message(ec, msg, sizeof(msg));
            fail(lx, lx->start + 1 + eo, "bad regex: %s", (const char *)msg);
            node_free(n);
            free(path);
            return NULL;
        }
        pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
        n->md = pcre2_match_data_create_from_pattern(n->re, NULL);
        n->re_raw = strndup(lx->text, lx->text_len);
        n->re_caseless = (flags & PCRE2_CASELESS) != 0;
        n->cost = 10;
        next(lx);
    } else if (lx->t == T_OP) {
        n = node_new(N_CMP);
        const char *o = lx->op;
        n->op = strcmp(o, "==") == 0 ? OP_EQ : strcmp(o, "!=") == 0 ? OP_NE : strcmp(o, "<") == 0 ? OP_LT
              : strcmp(o, "<=") == 0 ? OP_LE : strcmp(o, ">") == 0 ? OP_GT : OP_GE;
        next(lx);
        if (!make_lit(lx, ft, &n->v)) {
            node_free(n);
            free(path);
            return NULL;
        }
        if (ft == RX_F_STR && n->op != OP_EQ && n->op != OP_NE && !n->v.num) {
            /* string order comparisons are allowed but rare; keep them */
        }
        next(lx);
    } else {
        fail(lx, lx->start, "expected an operator after '%.*s' (== != < <= > >= ~ !~ in exists)",
             (int)(lx->i > field_at ? 40 : 0), lx->s + field_at);
        free(path);
        return NULL;
    }
    if (n == NULL) {
        free(path);
        return NULL;
    }
    n->field = field;
    n->path = path;
    n->ftype = ft;
    if (lx->failed) {
        node_free(n);
        return NULL;
    }
    return n;
}

static struct rx_node *parse_unary(struct lexer *lx, const struct rx_context *ctx)
{
    if (is_kw(lx, "not")) {
        next(lx);
        struct rx_node *inner = parse_unary(lx, ctx);
        if (inner == NULL)
            return NULL;
        struct rx_node *n = node_new(N_NOT);
        n->a = inner;
        n->cost = inner->cost;
        return n;
    }
    if (lx->t == T_LPAREN) {
        next(lx);
        struct rx_node *n = parse_or(lx, ctx);
        if (n == NULL)
            return NULL;
        if (lx->t != T_RPAREN) {
            fail(lx, lx->start, "expected ')'");
            node_free(n);
            return NULL;
        }
        next(lx);
        return n;
    }
    return parse_test(lx, ctx);
}

static struct rx_node *parse_and(struct lexer *lx, const struct rx_context *ctx)
{
    struct rx_node *l = parse_unary(lx, ctx);
    while (l != NULL && is_kw(lx, "and")) {
        next(lx);
        struct rx_node *r = parse_unary(lx, ctx);
        if (r == NULL) {
            node_free(l);
            return NULL;
        }
        struct rx_node *n = node_new(N_AND);
        /* Cheap tests first: a level check spares most events their regex. */
        if (r->cost < l->cost) {
            n->a = r;
            n->b = l;
        } else {
            n->a = l;
            n->b = r;
        }
        n->cost = l->cost > r->cost ? l->cost : r->cost;
        l = n;
    }
    return l;
}

static struct rx_node *parse_or(struct lexer *lx, const struct rx_context *ctx)
{
    struct rx_node *l = parse_and(lx, ctx);
    while (l != NULL && is_kw(lx, "or")) {
        next(lx);
        struct rx_node *r = parse_and(lx, ctx);
        if (r == NULL) {
            node_free(l);
            return NULL;
        }
        struct rx_node *n = node_new(N_OR);
        n->a = l;
        n->b = r;
        n->cost = l->cost + r->cost;
        l = n;
    }
    return l;
}

struct rx_expr *rx_compile(const char *text, const struct rx_context *ctx, int line, int col,
                           struct rx_error *err)
{
    struct lexer lx = {.s = text, .n = strlen(text), .line = line, .col0 = col, .err = err};
    memset(err, 0, sizeof(*err));
    next(&lx);
    if (lx.t == T_END) {
        fail(&lx, 0, "empty condition");
        free(lx.text);
        return NULL;
    }
    struct rx_node *root = parse_or(&lx, ctx);
    if (root != NULL && lx.t != T_END && !lx.failed)
        fail(&lx, lx.start, "unexpected '%.*s' after the condition (use 'and' / 'or')",
             (int)(lx.text_len ? lx.text_len : 1), lx.text ? lx.text : lx.s + lx.start);
    free(lx.text);
    if (lx.failed || root == NULL) {
        node_free(root);
        if (!lx.failed) {
            err->line = line;
            err->col = col;
            snprintf(err->msg, sizeof(err->msg), "invalid condition");
        }
        return NULL;
    }
    struct rx_expr *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        node_free(root);
        return NULL;
    }
    e->root = root;
    return e;
}

void rx_free(struct rx_expr *e)
{
    if (e == NULL)
        return;
    node_free(e->root);
    free(e);
}

/* ---- evaluation ---- */

static bool num_of(ev_str s, double *d)
{
    char buf[64];
    if (s.ptr == NULL || s.len == 0 || s.len >= sizeof(buf))
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    char *end;
    *d = strtod(buf, &end);
    return *end == '\0';
}

static int cmp_str(ev_str a, const struct rx_lit *b)
{
    size_t n = a.len < b->n ? a.len : b->n;
    int c = n ? memcmp(a.ptr, b->s, n) : 0;
    if (c != 0)
        return c;
    return a.len < b->n ? -1 : a.len > b->n;
}

static bool value_cmp(const struct rx_values *v, size_t i, const struct rx_lit *lit, enum cmpop op)
{
    int c;
    if (lit->num) {
        double d;
        if (v->is_num[i])
            d = v->d[i];
        else if (!num_of(v->s[i], &d))
            return op == OP_NE;
        c = d < lit->d ? -1 : d > lit->d;
    } else {
        if (v->is_num[i] && v->s[i].ptr == NULL)
            return op == OP_NE;
        c = cmp_str(v->s[i], lit);
    }
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    }
    return false;
}

static bool re_match(const struct rx_node *n, ev_str s)
{
    if (s.ptr == NULL)
        return false;
    int rc = pcre2_match(n->re, (PCRE2_SPTR)s.ptr, s.len, 0, 0, n->md, NULL);
    return rc >= 0;
}

static bool eval(const struct rx_node *n, const struct rx_context *ctx, const void *subj)
{
    struct rx_values v;
    switch (n->kind) {
    case N_AND:
        return eval(n->a, ctx, subj) && eval(n->b, ctx, subj);
    case N_OR:
        return eval(n->a, ctx, subj) || eval(n->b, ctx, subj);
    case N_NOT:
        return !eval(n->a, ctx, subj);
    default:
        break;
    }
    v.n = 0;
    ctx->get(subj, n->field, n->path, &v);
    switch (n->kind) {
    case N_EXISTS:
        return v.n > 0;
    case N_CMP:
        if (n->op == OP_NE) {
            for (size_t i = 0; i < v.n; i++)
                if (value_cmp(&v, i, &n->v, OP_EQ))
                    return false;
            return true;
        }
        for (size_t i = 0; i < v.n; i++)
            if (value_cmp(&v, i, &n->v, n->op))
                return true;
        return false;
    case N_IN:
        for (size_t i = 0; i < v.n; i++)
            for (size_t k = 0; k < n->nlist; k++)
                if (value_cmp(&v, i, &n->list[k], OP_EQ))
                    return true;
        return false;
    case N_RE:
        for (size_t i = 0; i < v.n; i++)
            if (re_match(n, v.s[i]))
                return true;
        return false;
    case N_NRE:
        for (size_t i = 0; i < v.n; i++)
            if (re_match(n, v.s[i]))
                return false;
        return true;
    default:
        return false;
    }
}

bool rx_eval(const struct rx_expr *e, const struct rx_context *ctx, const void *subject)
{
    return e != NULL && eval(e->root, ctx, subject);
}

static size_t collect_required(const struct rx_node *n, struct rx_required *out, size_t k, size_t max)
{
    if (n == NULL || k >= max)
        return k;
    if (n->kind == N_AND) {
        k = collect_required(n->a, out, k, max);
        return collect_required(n->b, out, k, max);
    }
    if (n->kind == N_RE && n->re_raw != NULL) {
        out[k].field = n->field;
        out[k].path = n->path;
        out[k].raw = n->re_raw;
        out[k].caseless = n->re_caseless;
        k++;
    }
    return k;
}

size_t rx_required_regexes(const struct rx_expr *e, struct rx_required *out, size_t max)
{
    return e ? collect_required(e->root, out, 0, max) : 0;
}

static bool needs(const struct rx_node *n, bool (*pred)(int field))
{
    switch (n->kind) {
    case N_AND: return needs(n->a, pred) || needs(n->b, pred);
    case N_OR: return needs(n->a, pred) && needs(n->b, pred);
    case N_NOT: return false;
    case N_NRE: return false; /* holds when the field is absent */
    case N_CMP: return n->op != OP_NE && pred(n->field);
    default: return pred(n->field);
    }
}

bool rx_needs(const struct rx_expr *e, bool (*pred)(int field))
{
    return e != NULL && needs(e->root, pred);
}

static bool guard(const struct rx_node *n, bool (*exc_field)(int), bool (*has_literal)(const struct rx_required *),
                  struct rx_guard *g)
{
    switch (n->kind) {
    case N_AND: {
        /* Either side's guard will do: prefer the one built on literals. */
        struct rx_guard a = {0}, b = {0};
        bool ga = guard(n->a, exc_field, has_literal, &a), gb = guard(n->b, exc_field, has_literal, &b);
        if (ga && (!gb || a.nre > 0 || !b.nre)) {
            *g = a;
            return true;
        }
        if (gb) {
            *g = b;
            return true;
        }
        return false;
    }
    case N_OR: {
        struct rx_guard a = {0}, b = {0};
        if (!guard(n->a, exc_field, has_literal, &a) || !guard(n->b, exc_field, has_literal, &b) ||
            a.nre + b.nre > RX_GUARD_MAX)
            return false;
        *g = a;
        for (size_t i = 0; i < b.nre; i++)
            g->re[g->nre++] = b.re[i];
        g->exceptions = a.exceptions || b.exceptions;
        return true;
    }
    case N_RE: {
        struct rx_required r = {n->field, n->path, n->re_raw, n->re_caseless};
        if (n->re_raw != NULL && has_literal(&r)) {
            memset(g, 0, sizeof(*g));
            g->re[0] = r;
            g->nre = 1;
            return true;
        }
        break;
    }
    default:
        break;
    }
    /* A test that holds only with an exception field present. */
    if (n->kind != N_NOT && n->kind != N_NRE && !(n->kind == N_CMP && n->op == OP_NE) && n->kind != N_AND &&
        n->kind != N_OR && exc_field(n->field)) {
        memset(g, 0, sizeof(*g));
        g->exceptions = true;
        return true;
    }
    return false;
}

bool rx_guard(const struct rx_expr *e, bool (*exc_field)(int field), bool (*has_literal)(const struct rx_required *),
              struct rx_guard *g)
{
    memset(g, 0, sizeof(*g));
    return e != NULL && guard(e->root, exc_field, has_literal, g);
}

static double min_value(const struct rx_node *n, int field)
{
    switch (n->kind) {
    case N_AND: {
        double a = min_value(n->a, field), b = min_value(n->b, field);
        return a > b ? a : b;
    }
    case N_OR: {
        double a = min_value(n->a, field), b = min_value(n->b, field);
        return a < b ? a : b;
    }
    case N_CMP:
        if (n->field == field && n->v.num && (n->op == OP_GE || n->op == OP_EQ))
            return n->v.d;
        if (n->field == field && n->v.num && n->op == OP_GT)
            return n->v.d; /* a little loose: enough for a pre-check */
        return 0;
    default:
        return 0;
    }
}

double rx_min_value(const struct rx_expr *e, int field)
{
    return e != NULL ? min_value(e->root, field) : 0;
}
