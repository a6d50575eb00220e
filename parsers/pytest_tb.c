/* pytest_tb.c -- pytest's failure reports; see pytest_tb.h. */
#include "pytest_tb.h"

#include <string.h>

#include "tb_build.h"
#include "tb_lines.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool pytb_is_header(const char *p, size_t n, size_t *name_off, size_t *name_len)
{
    n = tbl_rtrim(p, n);
    size_t i = 0;
    while (i < n && p[i] == '_')
        i++;
    if (i < 2 || i >= n || p[i] != ' ')
        return false;
    size_t j = n;
    while (j > i && p[j - 1] == '_')
        j--;
    if (n - j < 2 || p[j - 1] != ' ' || j - 1 <= i + 1)
        return false;
    *name_off = i + 1;
    *name_len = j - 1 - (i + 1);
    return true;
}

bool pytb_is_rule(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    size_t i = 0;
    while (i < n && p[i] == '=')
        i++;
    return i >= 3 && (i == n || (p[i] == ' ' && n >= 3 && memcmp(p + n - 3, "===", 3) == 0));
}

bool pytb_is_captured(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    size_t i = 0;
    while (i < n && p[i] == '-')
        i++;
    size_t j = n;
    while (j > i && p[j - 1] == '-')
        j--;
    static const char word[] = " Captured ";
    return i >= 3 && n - j >= 3 && j - i >= sizeof(word) && p[j - 1] == ' ' &&
           memcmp(p + i, word, sizeof(word) - 1) == 0;
}

/* "_ _ _ _": between the entries of one exception. */
static bool is_entry_sep(const char *p, size_t n)
{
    if (n < 3 || p[0] != '_' || p[1] != ' ')
        return false;
    for (size_t i = 2; i < n; i++)
        if (p[i] != '_' && p[i] != ' ')
            return false;
    return true;
}

/* An 'E' line: the exception and its message. */
static bool is_e_line(const char *p, size_t n)
{
    return n >= 1 && p[0] == 'E' && (n == 1 || p[1] == ' ');
}

/* "path:123: rest": a location. The path holds no blank (which keeps locals such as
 * "s = 'a:1:'" and message text out). */
static bool location(const char *p, size_t n, size_t *file_len, uint32_t *line, const char **rest,
                     size_t *rest_len)
{
    if (n < 4 || p[0] == ' ' || p[0] == '\t' || p[0] == '>' || is_e_line(p, n))
        return false;
    for (size_t k = 1; k + 2 < n; k++) {
        if (p[k] == ' ')
            return false;
        if (p[k] != ':' || !is_digit(p[k + 1]))
            continue;
        size_t d = k + 1;
        uint32_t v = 0;
        while (d < n && is_digit(p[d])) {
            if (v < 100000000u)
                v = v * 10 + (uint32_t)(p[d] - '0');
            d++;
        }
        if (d >= n || p[d] != ':' || (d + 1 < n && p[d + 1] != ' '))
            continue;
        *file_len = k;
        *line = v;
        size_t r = d + 1 < n ? d + 2 : n;
        *rest = p + r;
        *rest_len = tbl_rtrim(p + r, n - r);
        return true;
    }
    return false;
}

/* The function a listing line defines: "    def name(" or ">   async def name(". */
static bool def_name(const char *p, size_t n, const char **name, size_t *len)
{
    size_t i = n > 0 && p[0] == '>' ? 1 : 0;
    while (i < n && p[i] == ' ')
        i++;
    if (n - i > 6 && memcmp(p + i, "async ", 6) == 0)
        i += 6;
    if (n - i < 5 || memcmp(p + i, "def ", 4) != 0)
        return false;
    i += 4;
    size_t s = i;
    while (i < n && p[i] != '(' && p[i] != ' ')
        i++;
    if (i == s || i >= n || p[i] != '(')
        return false;
    *name = p + s;
    *len = i - s;
    return true;
}

struct builder {
    struct tb_build tb;
    /* the exception being read */
    const char *pending_func;  /* the listing's def, for the next long location line */
    size_t pending_len;
    const char *loc_type;      /* "JSONDecodeError" on the last location line */
    size_t loc_type_len;
    const char *e_first;       /* the first 'E' line's text */
    size_t e_first_len;
    char *e_more;              /* "\nline" for each 'E' line after it (arena) */
    size_t e_more_len, e_more_cap;
    size_t e_base;             /* the blanks after 'E' on the first line */
    enum ev_relation relation; /* of the exception being read */
};

static void add_frame(struct builder *b, const char *file, size_t file_len, uint32_t line, const char *func,
                      size_t func_len)
{
    tbb_frame(&b->tb, ev_str_make(file, file_len), func ? ev_str_make(func, func_len) : EV_STR_NULL, line);
}

static void add_e_line(struct builder *b, const char *p, size_t n)
{
    size_t sp = 1;
    while (sp < n && p[sp] == ' ')
        sp++;
    if (b->e_first == NULL) {
        b->e_base = sp - 1;
        b->e_first = p + sp;
        b->e_first_len = n - sp;
        return;
    }
    size_t skip = 1 + (sp - 1 < b->e_base ? sp - 1 : b->e_base);
    size_t add = n - skip;
    size_t len = b->e_more_len + 1 + add;
    if (len + 1 > b->e_more_cap) {
        /* doubling: a long assertion diff costs linear arena, not quadratic */
        size_t cap = b->e_more_cap ? b->e_more_cap : 256;
        while (cap < len + 1)
            cap *= 2;
        char *buf = arena_alloc(b->tb.a, cap);
        if (buf == NULL) {
            b->tb.oom = true;
            return;
        }
        if (b->e_more_len)
            memcpy(buf, b->e_more, b->e_more_len);
        b->e_more = buf;
        b->e_more_cap = cap;
    }
    b->e_more[b->e_more_len] = '\n';
    memcpy(b->e_more + b->e_more_len + 1, p + skip, add);
    b->e_more[len] = '\0';
    b->e_more_len = len;
}

/* The last dotted component of type[0..n). */
static void last_component(const char *t, size_t n, const char **c, size_t *cn)
{
    size_t i = n;
    while (i > 0 && t[i - 1] != '.')
        i--;
    *c = t + i;
    *cn = n - i;
}

/* The exception read so far onto the chain; then ready for the next. */
static void finish_exception(struct builder *b)
{
    ev_str type = EV_STR_NULL, msg = EV_STR_NULL;
    size_t tl, ml;
    const char *m;
    if (b->e_first != NULL && tbl_exception_line(b->e_first, b->e_first_len, true, &tl, &m, &ml)) {
        const char *c;
        size_t cn;
        last_component(b->e_first, tl, &c, &cn);
        if (b->loc_type == NULL || (cn == b->loc_type_len && memcmp(c, b->loc_type, cn) == 0)) {
            type = ev_str_make(b->e_first, tl);
            msg = ev_str_make(m, ml);
        }
    }
    if (type.ptr == NULL && b->loc_type != NULL) {
        /* "E   assert 1 == 2": the type is the location's, the text all message. */
        type = ev_str_make(b->loc_type, b->loc_type_len);
        if (b->e_first != NULL)
            msg = ev_str_make(b->e_first, b->e_first_len);
    }
    if (type.ptr != NULL && b->e_more_len > 0) {
        /* e_more is "\nline..." for each 'E' line after the first */
        const char *more = msg.len ? b->e_more : b->e_more + 1;
        size_t more_len = msg.len ? b->e_more_len : b->e_more_len - 1;
        char *buf = arena_alloc(b->tb.a, msg.len + more_len + 1);
        if (buf == NULL) {
            b->tb.oom = true;
        } else {
            memcpy(buf, msg.ptr, msg.len);
            memcpy(buf + msg.len, more, more_len);
            buf[msg.len + more_len] = '\0';
            msg = ev_str_make(buf, msg.len + more_len);
        }
    }
    if (type.ptr != NULL)
        tbb_exception(&b->tb, type, msg.ptr != NULL ? msg : ev_str_make(type.ptr + type.len, 0), b->relation);
    else
        tbb_drop_frames(&b->tb);
    b->pending_func = b->loc_type = b->e_first = NULL;
    b->e_more = NULL;
    b->e_more_len = b->e_more_cap = 0;
}

int pytb_parse(const struct tb_line *lines, size_t n, const struct parse_limits *lim, struct arena *a,
               struct ev_chain *out, bool *truncated)
{
    struct builder b = {.relation = EV_REL_ROOT};
    tbb_init(&b.tb, a, lim, out);
    for (size_t i = 0; i < n && !b.tb.oom; i++) {
        const char *p = lines[i].p;
        size_t pn = tbl_rtrim(p, lines[i].n);
        enum tb_sep sep = tbl_separator(p, pn);
        if (sep != TB_SEP_NONE) {
            finish_exception(&b);
            b.relation = sep == TB_SEP_CAUSE ? EV_REL_CAUSE : EV_REL_CONTEXT;
            continue;
        }
        if (is_entry_sep(p, pn)) {
            b.pending_func = NULL;
            continue;
        }
        if (is_e_line(p, pn)) {
            add_e_line(&b, p, pn);
            continue;
        }
        size_t fl, rl;
        uint32_t ln;
        const char *rest;
        if (location(p, pn, &fl, &ln, &rest, &rl)) {
            if (rl > 3 && memcmp(rest, "in ", 3) == 0) {
                add_frame(&b, p, fl, ln, rest + 3, rl - 3);
            } else {
                add_frame(&b, p, fl, ln, b.pending_func, b.pending_len);
                if (rl > 0 && memchr(rest, ' ', rl) == NULL) {
                    b.loc_type = rest;
                    b.loc_type_len = rl;
                }
            }
            b.pending_func = NULL;
            continue;
        }
        const char *fn;
        size_t fnl;
        if (b.pending_func == NULL && def_name(p, pn, &fn, &fnl)) {
            b.pending_func = fn;
            b.pending_len = fnl;
        }
    }
    finish_exception(&b);
    return tbb_result(&b.tb, truncated);
}
