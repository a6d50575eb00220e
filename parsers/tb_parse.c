/* tb_parse.c -- the structure of a traceback block: chains, groups, frames, notes.
 *
 * Input is a delimited block of lines; output an ev_chain, root first. Exception
 * groups are parsed recursively by margin depth: a group whose body has margin depth
 * d prints its members at depth d+1 between separator lines "+-+---- 1 ----" (2d
 * spaces) and "+---- 2 ----" (2d+2 spaces), the last closed by "+-----" (2d+2 spaces)
 * unless a nested group's own closing line stands for it.
 */
#include "tb_private.h"
#include "tb_lines.h"

#include <string.h>

struct pctx {
    struct arena *a;
    const struct parse_limits *lim;
    bool truncated;
    bool oom;
    unsigned group_depth;
    char *last_msg; /* the buffer msg_append returned last: it can grow in place */
};

/* Content of line i at margin depth d; false when the line lacks that margin. */
static bool content_at(const struct tb_line *L, size_t i, unsigned d, const char **c, size_t *cn)
{
    return tbl_margin(L[i].p, L[i].n, d, c, cn);
}

/* Growable array in the arena. */
static void *grow_array(struct pctx *c, void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *na = arena_grow(c->a, arr, (size_t)*cap * elem, (size_t)ncap * elem);
    if (na == NULL) {
        c->oom = true;
        return NULL;
    }
    *cap = ncap;
    return na;
}

/* Message text: the first line's remainder, then continuation lines joined by "\n".
 * The first part is a slice of the line; joining copies into the arena. */
static void msg_append(struct pctx *c, ev_str *msg, const char *p, size_t n)
{
    size_t len = msg->len + 1 + n;
    char *buf;
    if (msg->ptr != NULL && msg->ptr == c->last_msg) {
        /* Ours from the previous line: grow it (in place while it is the arena's
         * last allocation), so a message of many lines costs linear memory. */
        buf = arena_grow(c->a, c->last_msg, (size_t)msg->len + 1, len + 1);
    } else {
        buf = arena_alloc(c->a, len + 1);
        if (buf != NULL && msg->len)
            memcpy(buf, msg->ptr, msg->len);
    }
    if (buf == NULL) {
        c->oom = true;
        return;
    }
    c->last_msg = buf;
    buf[msg->len] = '\n';
    memcpy(buf + msg->len + 1, p, n);
    buf[len] = '\0';
    *msg = ev_str_make(buf, len);
}

static size_t rtrim_len(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n;
}

struct exc_builder {
    struct ev_exc e;
    uint32_t frames_cap, notes_cap;
};

static void add_frame(struct pctx *c, struct exc_builder *b, const struct tbl_frame *f)
{
    b->e.frames_total++;
    if (b->e.nframes >= c->lim->max_frames) {
        c->truncated = true;
        return;
    }
    struct ev_frame *fr = grow_array(c, b->e.frames, b->e.nframes, &b->frames_cap, sizeof(*fr));
    if (fr == NULL)
        return;
    b->e.frames = fr;
    fr[b->e.nframes].file = ev_str_make(f->file, f->file_len);
    fr[b->e.nframes].function = f->func ? ev_str_make(f->func, f->func_len) : EV_STR_NULL;
    fr[b->e.nframes].line = f->line;
    b->e.nframes++;
}

static void add_note(struct pctx *c, struct exc_builder *b, const char *p, size_t n)
{
    if (b->e.nnotes >= 64) {
        c->truncated = true;
        return;
    }
    ev_str *notes = grow_array(c, b->e.notes, b->e.nnotes, &b->notes_cap, sizeof(*notes));
    if (notes == NULL)
        return;
    b->e.notes = notes;
    notes[b->e.nnotes++] = ev_str_make(p, rtrim_len(p, n));
}

/* Is the next non-blank line (from i) at depth d a chain separator? */
static bool separator_follows(const struct tb_line *L, size_t n, size_t i, unsigned d)
{
    for (; i < n; i++) {
        const char *c;
        size_t cn;
        if (!content_at(L, i, d, &c, &cn))
            return false;
        if (tbl_is_blank(c, cn))
            continue;
        return tbl_separator(c, cn) != TB_SEP_NONE;
    }
    return false;
}

enum seg_state { SEG_START, SEG_FRAMES, SEG_SYNTAX, SEG_AFTER_EXC, SEG_QUOTED };

/* Parse the header/frames/exception/message/notes of one chain element at margin
 * depth d, starting at line i. Returns the index of the first line not consumed.
 * For a group element (is_group) it stops at the first member separator. */
static size_t parse_segment(struct pctx *c, const struct tb_line *L, size_t n, size_t i, unsigned d,
                            struct exc_builder *b, bool *found)
{
    enum seg_state st = SEG_START;
    bool notes_started = false;
    bool msg_goes_on = false; /* a message known to span lines (pydantic's) */
    uint32_t syntax_indent = 0;
    unsigned quotes = 0;       /* quotes open, in a quoted remote traceback */
    bool carrier = false;      /* the line before was "pkg.RemoteTraceback: " */
    *found = false;
    for (; i < n && !c->oom; i++) {
        const char *p;
        size_t pn;
        if (!content_at(L, i, d, &p, &pn))
            return i; /* group structure of a deeper level, or the end of this depth */
        struct tbl_frame f;
        uint32_t rep;
        size_t tl, ml;
        const char *m;
        switch (st) {
        case SEG_START:
            if (tbl_is_blank(p, pn))
                continue;
            if (tbl_is_header(p, pn) || tbl_is_group_header(p, pn)) {
                st = SEG_FRAMES;
                continue;
            }
            if (tbl_frame(p, pn, &f)) {
                st = SEG_FRAMES;
                i--; /* reprocess as a frame */
                continue;
            }
            if (tbl_exception_line(p, pn, false, &tl, &m, &ml)) {
                i--;
                st = SEG_FRAMES;
                continue;
            }
            return i;
        case SEG_FRAMES:
        case SEG_SYNTAX:
            if (tbl_frame(p, pn, &f)) {
                if (f.func == NULL) {
                    /* SyntaxError location: not a frame. A second one means the
                     * first was a frame after all: IPython prints a cell's frame
                     * at module level without a function. */
                    if (b->e.has_syntax) {
                        struct tbl_frame prev = {
                            .file = b->e.syntax.filename.ptr,
                            .file_len = b->e.syntax.filename.len,
                            .func = "<module>",
                            .func_len = 8,
                            .line = b->e.syntax.lineno,
                        };
                        add_frame(c, b, &prev);
                        memset(&b->e.syntax, 0, sizeof(b->e.syntax));
                    }
                    b->e.has_syntax = true;
                    b->e.syntax.filename = ev_str_make(f.file, f.file_len);
                    b->e.syntax.lineno = f.line;
                    st = SEG_SYNTAX;
                } else {
                    add_frame(c, b, &f);
                    st = SEG_FRAMES;
                }
                continue;
            }
            if (tbl_repeat_marker(p, pn, &rep)) {
                b->e.frames_total += rep;
                b->e.repeat_markers++;
                continue;
            }
            if (tbl_is_caught_marker(p, pn))
                continue; /* Twisted's: the frames go on below it */
            if (pn > 0 && (p[0] == ' ' || p[0] == '\t')) {
                size_t ind = tbl_indent(p, pn);
                if (st == SEG_SYNTAX) {
                    size_t body = rtrim_len(p + ind, pn - ind);
                    bool caret_only = body > 0;
                    for (size_t k = 0; k < body && caret_only; k++)
                        caret_only = p[ind + k] == '^' || p[ind + k] == '~';
                    if (!caret_only && !ev_str_present(b->e.syntax.text)) {
                        b->e.syntax.text = ev_str_make(p + ind, body);
                        syntax_indent = (uint32_t)ind;
                    } else if (caret_only && b->e.syntax.offset == 0) {
                        b->e.syntax.offset = (int32_t)(ind - syntax_indent + 1);
                    }
                }
                continue; /* source line or caret line */
            }
            if (tbl_exception_line(p, pn, false, &tl, &m, &ml)) {
                b->e.type = tbl_type(p, tl);
                b->e.message = ev_str_make(m, rtrim_len(m, ml));
                msg_goes_on = tbl_message_spans_lines(m, ml);
                if (ml == 0)
                    b->e.message = ev_str_make(p + tl, 0);
                *found = true;
                st = SEG_AFTER_EXC;
                continue;
            }
            if (tbl_is_blank(p, pn))
                continue;
            return i;
        case SEG_AFTER_EXC:
            if (b->e.message.len == 0 && !notes_started && rtrim_len(p, pn) == 3 &&
                memcmp(p, "\"\"\"", 3) == 0) {
                /* A remote traceback quoted in the message (concurrent.futures). */
                msg_append(c, &b->e.message, p, 3);
                st = SEG_QUOTED;
                quotes = 1;
                carrier = false;
                continue;
            }
            if (tbl_is_blank(p, pn)) {
                if (i + 1 >= n || separator_follows(L, n, i + 1, d))
                    return i;
                if (!notes_started)
                    msg_append(c, &b->e.message, p, 0);
                continue;
            }
            if (tbl_separator(p, pn) != TB_SEP_NONE || tbl_is_header(p, pn) ||
                tbl_is_group_header(p, pn) || tbl_introducer(p, pn) != TBL_INTRO_NONE)
                return i;
            if (!notes_started && (p[0] == ' ' || p[0] == '\t' || msg_goes_on || tbl_message_line(p, pn))) {
                msg_append(c, &b->e.message, p, rtrim_len(p, pn));
                continue;
            }
            notes_started = true;
            add_note(c, b, p, pn);
            continue;
        case SEG_QUOTED:
            msg_append(c, &b->e.message, p, rtrim_len(p, pn));
            if (rtrim_len(p, pn) == 3 && memcmp(p, "\"\"\"", 3) == 0) {
                /* After a carrier line a quote opens (a worker of a worker);
                 * otherwise it closes the innermost one. */
                if (carrier && quotes < 64)
                    quotes++;
                else if (--quotes == 0)
                    st = SEG_AFTER_EXC;
                carrier = false;
            } else {
                carrier = tbl_exception_line(p, pn, true, &tl, &m, &ml) && ml == 0 && tl < pn;
            }
            continue;
        }
    }
    return i;
}

static int parse_chain_at(struct pctx *c, const struct tb_line *L, size_t n, unsigned d,
                          struct ev_chain *out, size_t *consumed);

/* Is line i this group's member separator (body depth d)? Sets *title_kind:
 * 1 numbered member, 2 "..." (truncated), 3 closing. */
static bool member_separator(const struct tb_line *L, size_t i, unsigned d, int *kind)
{
    const char *p = L[i].p;
    size_t n = L[i].n;
    size_t sp = tbl_indent(p, n);
    const char *s;
    if (sp == 2u * d && n >= sp + 4 && memcmp(p + sp, "+-+-", 4) == 0) {
        s = p + sp + 3;
    } else if (sp == 2u * d + 2 && n >= sp + 2 && memcmp(p + sp, "+-", 2) == 0) {
        s = p + sp + 1;
    } else {
        return false;
    }
    const char *end = p + rtrim_len(p, n);
    while (s < end && *s == '-')
        s++;
    if (s == end) {
        *kind = 3;
        return true;
    }
    if (*s != ' ')
        return false;
    s++;
    if (end - s >= 3 && memcmp(s, "...", 3) == 0)
        *kind = 2;
    else if (*s >= '0' && *s <= '9')
        *kind = 1;
    else
        return false;
    return true;
}

/* A group element whose body has margin depth d, starting at line i. */
static size_t parse_group_members(struct pctx *c, const struct tb_line *L, size_t n, size_t i,
                                  unsigned d, struct exc_builder *b);

static size_t parse_group(struct pctx *c, const struct tb_line *L, size_t n, size_t i, unsigned d,
                          struct exc_builder *b, bool *found)
{
    i = parse_segment(c, L, n, i, d, b, found);
    return parse_group_members(c, L, n, i, d, b);
}

/* The members after a group's own exception line (and notes), from line i. */
static size_t parse_group_members(struct pctx *c, const struct tb_line *L, size_t n, size_t i,
                                  unsigned d, struct exc_builder *b)
{
    struct ev_group *g = arena_calloc(c->a, 1, sizeof(*g));
    if (g == NULL) {
        c->oom = true;
        return n;
    }
    b->e.group = g;
    uint32_t cap = 0;
    c->group_depth++;
    while (i < n && !c->oom) {
        int kind;
        if (!member_separator(L, i, d, &kind))
            break;
        i++;
        if (kind == 3)
            continue;
        /* Member lines: margin depth d+1 or deeper structure, up to the next
         * separator of this group. */
        size_t start = i;
        while (i < n) {
            int k2;
            if (member_separator(L, i, d, &k2))
                break;
            size_t sp = tbl_indent(L[i].p, L[i].n);
            if (!(sp >= 2u * d + 2 && tbl_is_group_structure(L[i].p, L[i].n)))
                break;
            i++;
        }
        if (kind == 2) {
            for (size_t k = start; k < i; k++) {
                const char *p;
                size_t pn;
                if (!content_at(L, k, d + 1, &p, &pn))
                    continue;
                static const char lead[] = "and ";
                if (pn > 4 && memcmp(p, lead, 4) == 0) {
                    uint32_t v = 0;
                    for (size_t j = 4; j < pn && p[j] >= '0' && p[j] <= '9'; j++)
                        v = v * 10 + (uint32_t)(p[j] - '0');
                    g->more_exceptions = v;
                }
            }
            continue;
        }
        if (c->group_depth > c->lim->max_group_depth || g->n >= c->lim->max_group_members) {
            c->truncated = true;
            if (c->group_depth > c->lim->max_group_depth)
                g->depth_truncated = true;
            continue;
        }
        struct ev_chain *members = grow_array(c, g->members, g->n, &cap, sizeof(*members));
        if (members == NULL)
            break;
        g->members = members;
        size_t used;
        memset(&members[g->n], 0, sizeof(members[g->n]));
        if (parse_chain_at(c, L + start, i - start, d + 1, &members[g->n], &used) < 0)
            break;
        if (members[g->n].n > 0)
            g->n++;
    }
    /* "... (max_group_depth is N)" printed in place of a too-deep group. */
    c->group_depth--;
    return i;
}

static void append_exc(struct pctx *c, struct ev_chain *out, uint32_t *cap, const struct ev_exc *e)
{
    if (out->n >= c->lim->max_chain) {
        c->truncated = true;
        return;
    }
    struct ev_exc *arr = grow_array(c, out->exc, out->n, cap, sizeof(*arr));
    if (arr == NULL)
        return;
    out->exc = arr;
    arr[out->n++] = *e;
}

static int parse_chain_at(struct pctx *c, const struct tb_line *L, size_t n, unsigned d,
                          struct ev_chain *out, size_t *consumed)
{
    uint32_t cap = 0;
    enum ev_relation next_rel = EV_REL_ROOT;
    size_t i = 0;
    out->exc = NULL;
    out->n = 0;
    while (i < n && !c->oom) {
        const char *p;
        size_t pn;
        bool has_margin = content_at(L, i, d, &p, &pn);
        /* At depth 0 a top-level group starts with a "  + " or "  | " margin. */
        bool top_group = d == 0 && tbl_is_group_structure(L[i].p, L[i].n) &&
                         tbl_indent(L[i].p, L[i].n) == 2;
        if (!has_margin && !top_group) {
            i++;
            continue;
        }
        if (!top_group) {
            if (tbl_is_blank(p, pn)) {
                i++;
                continue;
            }
            enum tb_sep sep = tbl_separator(p, pn);
            if (sep != TB_SEP_NONE) {
                next_rel = sep == TB_SEP_CAUSE ? EV_REL_CAUSE : EV_REL_CONTEXT;
                i++;
                continue;
            }
        }
        if (out->n > 0 && next_rel == EV_REL_ROOT)
            break; /* a second, unrelated traceback: not part of this chain */
        struct exc_builder b;
        memset(&b, 0, sizeof(b));
        bool found;
        size_t next;
        if (top_group)
            next = parse_group(c, L, n, i, 1, &b, &found);
        else if (d > 0 && tbl_is_group_header(p, pn))
            next = parse_group(c, L, n, i, d, &b, &found);
        else
            next = parse_segment(c, L, n, i, d, &b, &found);
        int sep_kind;
        if (!top_group && found && next < n && member_separator(L, next, d, &sep_kind))
            next = parse_group_members(c, L, n, next, d, &b); /* a group printed without a stack */
        i = next == i ? i + 1 : next; /* an unrecognized line is skipped */
        if (!found)
            continue;
        b.e.relation = out->n == 0 ? EV_REL_ROOT : next_rel;
        next_rel = EV_REL_ROOT;
        append_exc(c, out, &cap, &b.e);
    }
    *consumed = i;
    return c->oom ? -1 : 0;
}

static int parse_text_at(const char *text, size_t n, const struct parse_limits *lim, struct arena *a,
                         struct ev_exception *out, unsigned remote_depth);
static int parse_lines_at(const struct tb_line *lines, size_t n, const struct parse_limits *lim,
                          struct arena *a, struct ev_chain *out, bool *truncated, unsigned remote_depth);

/* Remote tracebacks quoted within quoted ones, read at most this deep. */
#define REMOTE_DEPTH 4

/* The traceback text quoted in a message ('"""' alone on the first line that is not
 * blank and on the last), without the quote lines; false when msg is not so quoted. */
static bool quoted_text(ev_str msg, const char **text, size_t *n)
{
    const char *p = msg.ptr, *end = msg.ptr + msg.len;
    if (p == NULL)
        return false;
    while (p < end && (*p == '\n' || *p == ' '))
        p++;
    while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
        end--;
    if (end - p < 8 || memcmp(p, "\"\"\"\n", 4) != 0 || memcmp(end - 4, "\n\"\"\"", 4) != 0)
        return false;
    *text = p + 4;
    *n = (size_t)(end - 4 - (p + 4));
    return true;
}

/* Read the remote tracebacks quoted in the messages of chain ch (and of its groups'
 * members) into their exceptions' remote chains. */
static void read_remotes(struct pctx *c, struct ev_chain *ch, unsigned depth)
{
    for (uint32_t i = 0; i < ch->n && !c->oom; i++) {
        struct ev_exc *e = &ch->exc[i];
        if (e->group != NULL)
            for (uint32_t g = 0; g < e->group->n; g++)
                read_remotes(c, &e->group->members[g], depth);
        const char *text;
        size_t n;
        if (depth >= REMOTE_DEPTH || !quoted_text(e->message, &text, &n))
            continue;
        struct ev_exception x;
        int rc = parse_text_at(text, n, c->lim, c->a, &x, depth + 1);
        if (rc < 0) {
            c->oom = true;
            return;
        }
        if (rc == 0)
            continue;
        struct ev_chain *r = arena_alloc(c->a, sizeof(*r));
        if (r == NULL) {
            c->oom = true;
            return;
        }
        *r = x.chain;
        e->remote = r;
    }
}

static int parse_lines_at(const struct tb_line *lines, size_t n, const struct parse_limits *lim,
                          struct arena *a, struct ev_chain *out, bool *truncated, unsigned remote_depth)
{
    struct pctx c = {.a = a, .lim = lim};
    size_t used;
    int rc = parse_chain_at(&c, lines, n, 0, out, &used);
    if (rc == 0)
        read_remotes(&c, out, remote_depth);
    if (truncated != NULL)
        *truncated = c.truncated;
    if (rc < 0 || c.oom)
        return -1;
    return out->n > 0 ? 1 : 0;
}

int tb_parse_lines(const struct tb_line *lines, size_t n, const struct parse_limits *lim,
                   struct arena *a, struct ev_chain *out, bool *truncated)
{
    return parse_lines_at(lines, n, lim, a, out, truncated, 0);
}

/* A group that was never raised prints no stack: "  | ExceptionGroup: msg" directly
 * followed by its first member separator "  +-+---...". Is that the line at start? */
static bool stackless_group_at(const char *text, size_t n, size_t start, size_t len)
{
    const char *p = text + start, *cc, *m;
    size_t cn, tl, ml;
    if (len < 4 || p[2] != '|' || !tbl_margin(p, len, 1, &cc, &cn) ||
        !tbl_exception_line(cc, cn, true, &tl, &m, &ml))
        return false;
    size_t next = start + len;
    while (next < n && text[next] != '\n')
        next++; /* past a '\r' */
    next++;
    return next + 6 <= n && memcmp(text + next, "  +-+-", 6) == 0;
}

int tb_parse_text(const char *text, size_t n, const struct parse_limits *lim, struct arena *a,
                  struct ev_exception *out)
{
    return parse_text_at(text, n, lim, a, out, 0);
}

static int parse_text_at(const char *text, size_t n, const struct parse_limits *lim, struct arena *a,
                         struct ev_exception *out, unsigned remote_depth)
{
    memset(out, 0, sizeof(*out));
    if (lim == NULL)
        lim = &parse_limits_default;
    /* Split into lines in the arena; start at the first line a traceback can start
     * with, so text before it (a log message) is not mistaken for a note. */
    size_t nlines = 1;
    for (size_t i = 0; i < n; i++)
        nlines += text[i] == '\n';
    struct tb_line *L = arena_alloc(a, nlines * sizeof(*L));
    if (L == NULL)
        return -1;
    size_t k = 0, start = 0;
    bool begun = false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || text[i] == '\n') {
            const char *p = text + start;
            size_t len = i - start;
            if (len > 0 && p[len - 1] == '\r')
                len--;
            struct tbl_frame f;
            if (!begun) {
                const char *cc, *m;
                size_t cn, tl, ml;
                /* A chain may open with an exception printed without a stack (a
                 * remote traceback's carrier), but only as the text's first line. */
                begun = tbl_is_header(p, len) || tbl_frame(p, len, &f) ||
                        (tbl_margin(p, len, 1, &cc, &cn) && tbl_is_group_header(cc, cn)) ||
                        (start == 0 && tbl_exception_line(p, len, true, &tl, &m, &ml)) ||
                        stackless_group_at(text, n, start, len);
            }
            if (begun) {
                L[k].p = p;
                L[k].n = (uint32_t)len;
                L[k].lineno = k + 1;
                k++;
            }
            start = i + 1;
        }
    }
    if (k == 0) {
        /* No header: a bare "Type: message" (an exception without a stack). */
        size_t tl, ml;
        const char *m;
        size_t len = n;
        const char *nl = memchr(text, '\n', n);
        if (nl != NULL)
            len = (size_t)(nl - text);
        if (!tbl_exception_line(text, len, true, &tl, &m, &ml))
            return 0;
        L[0].p = text;
        L[0].n = (uint32_t)n;
        k = 1;
    }
    bool truncated = false;
    int rc = parse_lines_at(L, k, lim, a, &out->chain, &truncated, remote_depth);
    out->origin = EV_TB_STRUCTURED;
    return rc;
}

bool tb_is_builtin_exception(const char *name, size_t n)
{
    static const char *const builtins[] = {
        "ArithmeticError", "AssertionError", "AttributeError", "BaseException",
        "BaseExceptionGroup", "BlockingIOError", "BrokenPipeError", "BufferError",
        "BytesWarning", "ChildProcessError", "ConnectionAbortedError", "ConnectionError",
        "ConnectionRefusedError", "ConnectionResetError", "DeprecationWarning", "EOFError",
        "EncodingWarning", "EnvironmentError", "Exception", "ExceptionGroup",
        "FileExistsError", "FileNotFoundError", "FloatingPointError", "FutureWarning",
        "GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError",
        "IndexError", "InterruptedError", "IsADirectoryError", "KeyError",
        "KeyboardInterrupt", "LookupError", "MemoryError", "ModuleNotFoundError",
        "NameError", "NotADirectoryError", "NotImplementedError", "OSError",
        "OverflowError", "PendingDeprecationWarning", "PermissionError",
        "ProcessLookupError", "RecursionError", "ReferenceError", "ResourceWarning",
        "RuntimeError", "RuntimeWarning", "StopAsyncIteration", "StopIteration",
        "SyntaxError", "SyntaxWarning", "SystemError", "SystemExit", "TabError",
        "TimeoutError", "TypeError", "UnboundLocalError", "UnicodeDecodeError",
        "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError", "UnicodeWarning",
        "UserWarning", "ValueError", "Warning", "ZeroDivisionError",
    };
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (strlen(builtins[i]) == n && memcmp(builtins[i], name, n) == 0)
            return true;
    return false;
}
