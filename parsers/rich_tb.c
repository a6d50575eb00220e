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
    if (!starts(p, n, top_left))
        return false;
    /* In a narrow box (RichHandler's message column) the title is cut short:
     * "╭─ Traceback (most recent call l─╮". Its start is enough, then the rule. */
    static const char start[] = " Traceback (";
    static const char rule[] = "\xe2\x94\x80"; /* ─ */
    for (size_t i = 3; i + sizeof(start) - 1 <= n; i++) {
        if (p[i] != ' ' || memcmp(p + i, start, sizeof(start) - 1) != 0)
            continue;
        size_t j = i + sizeof(start) - 1, k = sizeof(start) - 1;
        while (j < n && k < sizeof(title) - 1 && p[j] == title[k])
            j++, k++;
        return k == sizeof(title) - 1 || (n - j >= 3 && memcmp(p + j, rule, 3) == 0);
    }
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
    f->sep = 0;
    f->sep_at = 0;
    f->state = S_BOX;
    f->indent = indent_of(p, n);
    f->width = chars(p, tbl_rtrim(p, n)) - f->indent;
    f->prev_len = 0;
    f->lines = 0;
}

/* The sentences between a chain's tracebacks, which a narrow box wraps. */
static const char *const sentences[] = {
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
};

/* Does p[0..n) go on with sentence *which, read up to *at (0: not begun)? Advances
 * them and returns true; a sentence read to its end starts over at 0. */
static bool sentence_piece(int *which, size_t *at, const char *p, size_t n)
{
    for (int w = *at ? *which : 0; w < 2; w++) {
        const char *s = sentences[w];
        size_t len = strlen(s), a = *at;
        if (a > 0 && a < len && s[a] == ' ')
            a++; /* the blank the wrap took */
        if (n == 0 || a + n > len || memcmp(s + a, p, n) != 0) {
            if (*at)
                return false;
            continue;
        }
        a += n;
        *which = w;
        *at = a == len ? 0 : a;
        return true;
    }
    return false;
}

/* Does a sentence between tracebacks start here (whole or wrapped)? Blank lines
 * do not reach the parser, so this, not a blank, ends a message before one. */
static bool sentence_starts(const char *p, size_t n)
{
    int which = 0;
    size_t at = 0;
    return n >= 12 && sentence_piece(&which, &at, p, n);
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
    if (n > 0 && indent_of(p, n) < f->indent)
        return false; /* out of the column the box is in: the next record */
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
        if (!is_blank(p, n) && f->lines <= MAX_MSG_LINES && is_wrap(f, p, n) && !sentence_starts(p, n)) {
            f->prev_len = chars(p, n);
            return true;
        }
        f->state = S_AFTER;
        /* fall through */
    case S_AFTER:
        if (is_blank(p, n) || tbl_separator(p, tbl_rtrim(p, n)) != TB_SEP_NONE ||
            sentence_piece(&f->sep, &f->sep_at, p, n))
            return true;
        f->sep_at = 0;
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

/* What a box line holds between its borders, without the blanks around it: its
 * start in *s; the length, or 0 when it is not a box line. *lead: it began with
 * blanks (code, not a location). */
static size_t box_content(const char *p, size_t n, const char **s, bool *lead)
{
    size_t v = sizeof(vertical) - 1;
    *lead = false;
    if (!starts(p, n, vertical))
        return 0;
    const char *c = p + v;
    size_t cn = tbl_rtrim(c, n - v);
    if (cn >= v && memcmp(c + cn - v, vertical, v) == 0)
        cn = tbl_rtrim(c, cn - v);
    if (cn < 2 || c[0] != ' ')
        return 0;
    *lead = c[1] == ' ';
    *s = c + 1;
    return cn - 1;
}

/* "/srv/app/cli.py:6 in load" -> a frame. */
static void frame_text(struct tb_build *b, const char *s, size_t sn)
{
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

/* A frame's location, which a narrow box wraps over lines: pieces put back
 * together. rich breaks at a blank when it can (the blank is gone: "path:12" /
 * "in f", "path:12 in" / "f") and folds a word longer than the box anywhere. */
struct location {
    char text[1024];
    size_t len;
    unsigned pieces;
};

static void location_add(struct location *l, const char *s, size_t n)
{
    bool blank = false;
    if (l->len > 0) {
        const char *t = l->text;
        size_t k = l->len;
        blank = (t[k - 1] >= '0' && t[k - 1] <= '9' && n >= 3 && memcmp(s, "in ", 3) == 0) ||
                (k >= 3 && memcmp(t + k - 3, " in", 3) == 0);
    }
    if (l->len + blank + n > sizeof(l->text) || l->pieces >= 8)
        return;
    if (blank)
        l->text[l->len++] = ' ';
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->pieces++;
}

static void location_end(struct tb_build *b, struct location *l)
{
    if (l->len > 0) {
        /* the frame keeps its strings: they live in the arena, not here */
        char *s = arena_alloc(b->a, l->len);
        if (s == NULL)
            b->oom = true;
        else
            frame_text(b, (const char *)memcpy(s, l->text, l->len), l->len);
    }
    l->len = 0;
    l->pieces = 0;
}

/* "│ /srv/app/cli.py:6 in load   │": a location's line (maybe a piece of it); any
 * other line of the box ends one. */
static void box_line(struct tb_build *b, struct location *l, const char *p, size_t n)
{
    const char *s;
    bool lead;
    size_t sn = box_content(p, n, &s, &lead);
    /* code ("   12 x = 1", "❱ 12 ...") and rich's nested boxes (locals) are not */
    if (sn == 0 || lead || (unsigned char)s[0] == 0xe2) {
        location_end(b, l);
        return;
    }
    location_add(l, s, sn);
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
    struct location loc = {.len = 0};
    int sent = 0;       /* a sentence between tracebacks, wrapped: which, and how far read */
    size_t sent_at = 0;
    for (size_t i = 0; i < n && !b.oom; i++) {
        size_t pn = tbl_rtrim(lines[i].p, lines[i].n);
        const char *p = dedent(lines[i].p, &pn, indent);
        switch (state) {
        case S_BOX:
            if (starts(p, pn, bottom_left)) {
                location_end(&b, &loc);
                state = S_EXC;
            } else {
                box_line(&b, &loc, p, pn);
            }
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
            if (pn > 0 && !rtb_is_header(p, pn) && !sentence_starts(p, pn)) {
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
            if (sep != TB_SEP_NONE) {
                relation = sep == TB_SEP_CAUSE ? EV_REL_CAUSE : EV_REL_CONTEXT;
                sent_at = 0;
            } else if (pn > 0 && sentence_piece(&sent, &sent_at, p, pn)) {
                if (sent_at == 0) /* read to its end */
                    relation = sent == 0 ? EV_REL_CAUSE : EV_REL_CONTEXT;
            } else if (rtb_is_header(p, pn)) {
                indent += indent_of(p, pn);
                state = S_BOX;
                sent_at = 0;
            } else if (pn > 0) {
                sent_at = 0;
            }
            continue;
        }
        }
    }
    if (state == S_MSG)
        tbb_exception(&b, type, ev_str_make(msg.ptr, tbl_rtrim(msg.ptr, msg.len)), relation);
    return tbb_result(&b, truncated);
}
