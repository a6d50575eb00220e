/* rich_tb.c -- tracebacks drawn by rich; see rich_tb.h. */
#include "rich_tb.h"

#include <string.h>

#include "tb_build.h"
#include "tb_lines.h"

#define MAX_BOX_LINES 20000
#define MAX_MSG_LINES 64

enum { S_BOX, S_EXC, S_MSG, S_AFTER };

static const char top_left[] = "\xe2\x95\xad";     /* ╭ */
static const char bottom_left[] = "\xe2\x95\xb0";  /* ╰ */
static const char vertical[] = "\xe2\x94\x82";     /* │ */
static const char title[] = " Traceback (most recent call last) ";

static bool starts(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

/* Characters of UTF-8 text: bytes that do not continue a sequence. */
static size_t chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xc0) != 0x80;
    return c;
}

/* The blanks before a box (RichHandler indents it under its level column). */
static size_t indent_of(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < 64 && p[i] == ' ')
        i++;
    return i;
}

/* p[0..*n) without up to indent leading blanks. */
static const char *dedent(const char *p, size_t *n, size_t indent)
{
    size_t i = 0;
    while (i < *n && i < indent && p[i] == ' ')
        i++;
    *n -= i;
    return p + i;
}

bool rtb_is_header(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    size_t in = indent_of(p, n);
    p += in;
    n -= in;
    if (!starts(p, n, top_left) || n < sizeof(title) + 6)
        return false;
    for (size_t i = 3; i + sizeof(title) - 1 <= n; i++)
        if (p[i] == ' ' && memcmp(p + i, title, sizeof(title) - 1) == 0)
            return true;
    return false;
}

static bool is_blank(const char *p, size_t n)
{
    return tbl_rtrim(p, n) == 0;
}

/* "Type: message" or "Type" after a box. */
static bool exception_line(const char *p, size_t n)
{
    size_t tl, ml;
    const char *m;
    return tbl_exception_line(p, tbl_rtrim(p, n), false, &tl, &m, &ml);
}

void rtb_begin(struct rtb_follow *f, const char *p, size_t n)
{
    f->state = S_BOX;
    f->indent = indent_of(p, n);
    f->width = chars(p, tbl_rtrim(p, n)) - f->indent;
    f->prev_len = 0;
    f->lines = 0;
}

/* Would this line's first word have fitted on the message line before it? If not,
 * the line is that one wrapped. */
static bool is_wrap(const struct rtb_follow *f, const char *p, size_t n)
{
    size_t w = 0;
    while (w < n && p[w] != ' ')
        w++;
    return f->prev_len + 1 + chars(p, w) > f->width;
}

bool rtb_takes(struct rtb_follow *f, const char *p, size_t n)
{
    f->lines++;
    n = tbl_rtrim(p, n);
    p = dedent(p, &n, f->indent);
    switch (f->state) {
    case S_BOX:
        if (starts(p, n, bottom_left))
            f->state = S_EXC;
        return f->lines <= MAX_BOX_LINES;
    case S_EXC:
        if (exception_line(p, n)) {
            f->state = S_MSG;
            f->prev_len = chars(p, n);
            f->lines = 0;
            return true;
        }
        return false;
    case S_MSG:
        if (!is_blank(p, n) && f->lines <= MAX_MSG_LINES && is_wrap(f, p, n)) {
            f->prev_len = chars(p, n);
            return true;
        }
        f->state = S_AFTER;
        /* fall through */
    case S_AFTER:
        if (is_blank(p, n) || tbl_separator(p, tbl_rtrim(p, n)) != TB_SEP_NONE)
            return true;
        if (rtb_is_header(p, n)) {
            size_t outer = f->indent; /* p is already without it */
            rtb_begin(f, p, n);
            f->indent += outer;
            return true;
        }
        return false;
    }
    return false;
}

/* "│ /srv/app/cli.py:6 in load   │" -> a frame. */
static void frame_line(struct tb_build *b, const char *p, size_t n)
{
    size_t v = sizeof(vertical) - 1;
    if (!starts(p, n, vertical))
        return;
    const char *s = p + v;
    size_t sn = tbl_rtrim(s, n - v);
    if (sn >= v && memcmp(s + sn - v, vertical, v) == 0)
        sn = tbl_rtrim(s, sn - v);
    if (sn < 2 || s[0] != ' ' || s[1] == ' ')
        return;
    s++;
    sn--;
    /* the last ":LINE in " ends the path */
    for (size_t i = sn; i-- > 1;) {
        if (s[i] != ':')
            continue;
        size_t d = i + 1;
        uint32_t line = 0;
        while (d < sn && s[d] >= '0' && s[d] <= '9') {
            if (line < 100000000u)
                line = line * 10 + (uint32_t)(s[d] - '0');
            d++;
        }
        if (d == i + 1 || d + 4 > sn || memcmp(s + d, " in ", 4) != 0)
            continue;
        tbb_frame(b, ev_str_make(s, i), ev_str_make(s + d + 4, sn - d - 4), line);
        return;
    }
}

int rtb_parse(const struct tb_line *lines, size_t n, const struct parse_limits *lim, struct arena *a,
              struct ev_chain *out, bool *truncated)
{
    struct tb_build b;
    tbb_init(&b, a, lim, out);
    size_t indent = n > 0 ? indent_of(lines[0].p, lines[0].n) : 0;
    enum ev_relation relation = EV_REL_ROOT;
    int state = S_AFTER;
    ev_str type = EV_STR_NULL, msg = EV_STR_NULL;
    uint32_t msg_lines = 0;
    for (size_t i = 0; i < n && !b.oom; i++) {
        size_t pn = tbl_rtrim(lines[i].p, lines[i].n);
        const char *p = dedent(lines[i].p, &pn, indent);
        switch (state) {
        case S_BOX:
            if (starts(p, pn, bottom_left))
                state = S_EXC;
            else
                frame_line(&b, p, pn);
            continue;
        case S_EXC: {
            size_t tl, ml;
            const char *m;
            if (!tbl_exception_line(p, pn, false, &tl, &m, &ml)) {
                tbb_drop_frames(&b);
                state = S_AFTER;
                continue;
            }
            type = ev_str_make(p, tl);
            msg = ev_str_make(m, ml);
            msg_lines = 0;
            state = S_MSG;
            continue;
        }
        case S_MSG:
            if (pn > 0 && !rtb_is_header(p, pn) && tbl_separator(p, pn) == TB_SEP_NONE) {
                /* a wrapped line: rich broke it at a blank */
                if (msg_lines++ < MAX_MSG_LINES) {
                    char *buf = arena_alloc(a, msg.len + 1 + pn + 1);
                    if (buf == NULL) {
                        b.oom = true;
                        continue;
                    }
                    memcpy(buf, msg.ptr, msg.len);
                    size_t k = msg.len;
                    if (k > 0 && buf[k - 1] != ' ')
                        buf[k++] = ' ';
                    memcpy(buf + k, p, pn);
                    buf[k + pn] = '\0';
                    msg = ev_str_make(buf, k + pn);
                }
                continue;
            }
            tbb_exception(&b, type, ev_str_make(msg.ptr, tbl_rtrim(msg.ptr, msg.len)), relation);
            state = S_AFTER;
            /* fall through */
        case S_AFTER: {
            enum tb_sep sep = tbl_separator(p, pn);
            if (sep != TB_SEP_NONE)
                relation = sep == TB_SEP_CAUSE ? EV_REL_CAUSE : EV_REL_CONTEXT;
            else if (rtb_is_header(p, pn)) {
                indent += indent_of(p, pn);
                state = S_BOX;
            }
            continue;
        }
        }
    }
    if (state == S_MSG)
        tbb_exception(&b, type, ev_str_make(msg.ptr, tbl_rtrim(msg.ptr, msg.len)), relation);
    return tbb_result(&b, truncated);
}
