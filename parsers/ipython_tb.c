/* ipython_tb.c -- IPython's tracebacks; see ipython_tb.h. */
#include "ipython_tb.h"

#include <string.h>

#include "tb_build.h"
#include "tb_lines.h"

#define MAX_FRAME_LINES 20000 /* of a block still waiting for its exception line */
#define MAX_MSG_LINES 64      /* of a message, before the block is taken as ended */

enum { S_FRAMES, S_MSG, S_BLANK, S_SEP };

static const char tail[] = "Traceback (most recent call last)";

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool type_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '.';
}

/* The type a header names: its first word. */
static size_t header_type(const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && type_char(p[k]))
        k++;
    return k;
}

bool iptb_is_header(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    const size_t tl = sizeof(tail) - 1;
    if (n < tl + 3 || memcmp(p + n - tl, tail, tl) != 0)
        return false;
    size_t k = header_type(p, n);
    if (k == 0 || is_digit(p[0]) || p[0] == '.')
        return false;
    /* two blanks or more between the type and "Traceback" */
    return k + 2 <= n - tl && p[k] == ' ' && p[k + 1] == ' ' && tbl_rtrim(p, n - tl) == k;
}

/* "-----...": above each header, and printed again between chained exceptions. */
static bool is_rule(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    if (n < 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] != '-')
            return false;
    return true;
}

static bool is_blank(const char *p, size_t n)
{
    return tbl_rtrim(p, n) == 0;
}

/* The exception line of type t: "Type: message" or "Type". */
static bool exception_line(const char *p, size_t n, const char *t, size_t tn)
{
    n = tbl_rtrim(p, n);
    return n >= tn && memcmp(p, t, tn) == 0 && (n == tn || p[tn] == ':');
}

void iptb_begin(struct iptb_follow *f, const char *p, size_t n)
{
    size_t k = header_type(p, n);
    if (k >= sizeof(f->type))
        k = sizeof(f->type) - 1;
    memcpy(f->type, p, k);
    f->type_len = k;
    f->state = S_FRAMES;
    f->lines = 0;
}

bool iptb_takes(struct iptb_follow *f, const char *p, size_t n)
{
    bool blank = is_blank(p, n);
    f->lines++;
    switch (f->state) {
    case S_FRAMES:
        if (!blank && exception_line(p, n, f->type, f->type_len)) {
            f->state = S_MSG;
            f->lines = 0;
            return true;
        }
        return f->lines <= MAX_FRAME_LINES;
    case S_MSG:
    case S_BLANK:
    case S_SEP:
        if (blank) {
            if (f->state == S_MSG)
                f->state = S_BLANK;
            return true;
        }
        if (tbl_separator(p, tbl_rtrim(p, n)) != TB_SEP_NONE || is_rule(p, n)) {
            f->state = S_SEP;
            return true;
        }
        if (iptb_is_header(p, n)) {
            iptb_begin(f, p, n);
            return true;
        }
        /* A message goes on with indented lines until a blank one (a line without
         * indent is as likely the next record of the log); after a blank line only
         * a chain goes on. */
        return f->state == S_MSG && (p[0] == ' ' || p[0] == '\t') && f->lines <= MAX_MSG_LINES;
    }
    return false;
}

struct builder {
    struct tb_build tb;
    bool line_pending;         /* IPython 7: the last frame's line comes with its arrow */
    const char *type;
    size_t type_len;
    bool have_exc;
    ev_str msg;
    uint32_t msg_lines;
    enum ev_relation relation;
};

static bool add_frame(struct builder *b, const char *file, size_t file_len, uint32_t line, const char *func,
                      size_t func_len)
{
    b->line_pending = false;
    return tbb_frame(&b->tb, ev_str_make(file, file_len), ev_str_make(func, func_len), line);
}

/* "in f(x)" -> "f"; "<module>" when there is none. */
static void function_of(const char *p, size_t n, const char **f, size_t *fn)
{
    static const char module[] = "<module>";
    if (n > 3 && memcmp(p, "in ", 3) == 0) {
        size_t k = 3;
        while (k < n && p[k] != '(')
            k++;
        if (k > 3) {
            *f = p + 3;
            *fn = k - 3;
            return;
        }
    }
    *f = module;
    *fn = sizeof(module) - 1;
}

/* A frame line of IPython 8 or 7. */
static bool frame_line(struct builder *b, const char *p, size_t n)
{
    const char *f;
    size_t fn, used;
    if (n > 5 && memcmp(p, "File ", 5) == 0) {
        /* "File PATH:LINE, in FUNC(ARGS)" or "File PATH:LINE" */
        const char *in = NULL;
        for (size_t i = 5; i + 5 <= n; i++)
            if (memcmp(p + i, ", in ", 5) == 0) {
                in = p + i;
                break;
            }
        size_t loc_end = in ? (size_t)(in - p) : n;
        size_t path_len;
        uint32_t line;
        if (!tbl_path_line(p + 5, loc_end - 5, &path_len, &line))
            return false;
        if (in != NULL)
            function_of(in + 2, n - loc_end - 2, &f, &fn);
        else
            function_of("", 0, &f, &fn);
        add_frame(b, p + 5, path_len, line, f, fn);
        return true;
    }
    if (n > 8 && memcmp(p, "Cell In[", 8) == 0) {
        /* "Cell In[5], line 2, in f(x)" */
        const char *close = memchr(p, ']', n);
        if (close == NULL || (size_t)(close - p) + 8 > n || memcmp(close + 1, ", line ", 7) != 0)
            return false;
        size_t i = (size_t)(close - p) + 8;
        uint32_t line = tbl_digits(p + i, n - i, &used);
        if (used == 0)
            return false;
        i += used;
        if (i + 2 < n && p[i] == ',' && p[i + 1] == ' ')
            function_of(p + i + 2, n - i - 2, &f, &fn);
        else
            function_of("", 0, &f, &fn);
        add_frame(b, p, (size_t)(close - p) + 1, line, f, fn);
        return true;
    }
    if (p[0] != ' ' && p[0] != '-') {
        /* IPython 7: "<ipython-input-5-1f2e> in f(x)" or "/srv/x.py in f(x)" */
        for (size_t i = 1; i + 4 <= n; i++)
            if (memcmp(p + i, " in ", 4) == 0) {
                if (memchr(p, ' ', i) != NULL)
                    return false;
                function_of(p + i + 1, n - i - 1, &f, &fn);
                /* not for a frame the limit dropped */
                b->line_pending = add_frame(b, p, i, 0, f, fn);
                return true;
            }
    }
    return false;
}

static void finish_exception(struct builder *b)
{
    if (b->have_exc)
        tbb_exception(&b->tb, ev_str_make(b->type, b->type_len), b->msg, b->relation);
    else
        tbb_drop_frames(&b->tb);
    b->have_exc = b->line_pending = false;
    b->msg = EV_STR_NULL;
    b->msg_lines = 0;
}

static void msg_append(struct builder *b, const char *p, size_t n)
{
    size_t len = b->msg.len + 1 + n;
    char *buf = arena_alloc(b->tb.a, len + 1);
    if (buf == NULL) {
        b->tb.oom = true;
        return;
    }
    memcpy(buf, b->msg.ptr, b->msg.len);
    buf[b->msg.len] = '\n';
    memcpy(buf + b->msg.len + 1, p, n);
    buf[len] = '\0';
    b->msg = ev_str_make(buf, len);
}

int iptb_parse(const struct tb_line *lines, size_t n, const struct parse_limits *lim, struct arena *a,
               struct ev_chain *out, bool *truncated)
{
    struct builder b = {.relation = EV_REL_ROOT};
    tbb_init(&b.tb, a, lim, out);
    int state = S_SEP;
    for (size_t i = 0; i < n && !b.tb.oom; i++) {
        const char *p = lines[i].p;
        size_t pn = tbl_rtrim(p, lines[i].n);
        if (pn == 0) {
            if (state == S_MSG)
                state = S_BLANK;
            continue;
        }
        enum tb_sep sep = tbl_separator(p, pn);
        if (sep != TB_SEP_NONE) {
            finish_exception(&b);
            b.relation = sep == TB_SEP_CAUSE ? EV_REL_CAUSE : EV_REL_CONTEXT;
            state = S_SEP;
            continue;
        }
        if (is_rule(p, pn))
            continue;
        if (iptb_is_header(p, pn)) {
            finish_exception(&b);
            b.type = p;
            b.type_len = header_type(p, pn);
            state = S_FRAMES;
            continue;
        }
        if (state == S_MSG) {
            if (b.msg_lines++ < MAX_MSG_LINES)
                msg_append(&b, p, pn);
            continue;
        }
        if (state != S_FRAMES)
            continue;
        if (exception_line(p, pn, b.type, b.type_len)) {
            b.have_exc = true;
            size_t m = b.type_len < pn ? b.type_len + 1 : pn;
            while (m < pn && p[m] == ' ')
                m++;
            b.msg = ev_str_make(p + m, pn - m);
            state = S_MSG;
            continue;
        }
        if (b.line_pending && p[0] == '-') {
            /* "----> 2     return 1 / x": the IPython 7 frame's line */
            size_t k = 0, used;
            while (k < pn && p[k] == '-')
                k++;
            if (k < pn && p[k] == '>') {
                k++;
                while (k < pn && p[k] == ' ')
                    k++;
                uint32_t line = tbl_digits(p + k, pn - k, &used);
                if (used > 0 && b.tb.nframes > 0)
                    b.tb.frames[b.tb.nframes - 1].line = line;
                b.line_pending = false;
            }
            continue;
        }
        frame_line(&b, p, pn);
    }
    finish_exception(&b);
    return tbb_result(&b.tb, truncated);
}
