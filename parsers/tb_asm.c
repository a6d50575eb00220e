/* tb_asm.c -- streaming traceback assembler; see tb_asm.h.
 *
 * Each open block is a small state machine over the traceback grammar:
 *
 *   FRAMES     after a header: frames, source and caret lines, repeat markers,
 *              SyntaxError location lines, until the exception line
 *   AFTER_EXC  after the exception line: indented message lines, notes, a quoted
 *              remote traceback, a blank line, or a chain separator
 *   QUOTED     inside a '"""' quoted message, until the closing '"""'
 *   BLANK      a blank line after the exception: a separator may follow
 *   AFTER_SEP  after a chain separator: blank lines, then the next header
 *   GROUP      inside exception-group structure ("  | ", "  +-+---- 1 ----")
 *
 * A line that fits no open block's grammar is foreign. A block that is interrupted
 * while it still expects frames (FRAMES, AFTER_SEP) is suspended; one that has its
 * exception (AFTER_EXC, BLANK, GROUP) lingers as a tail for TAIL_GRACE foreign lines
 * in case a separator follows. Either is finished after its grace runs out, when
 * too many blocks are open, or at the end of input.
 *
 * Notes and multi-line messages are indistinguishable from foreign lines by grammar
 * alone, so the assembler learns the shapes (first word) of lines seen outside
 * blocks: a note candidate whose shape was already seen twice outside a block is
 * taken as foreign.
 */
#include "tb_asm.h"

#include <stdlib.h>
#include <string.h>

#include "tb_lines.h"
#include "tb_private.h"

#define TAIL_GRACE 4
#define SUSPEND_GRACE 32
#define SHAPE_SLOTS 512
#define MAX_BLOCK_LINES 20000

enum bstate { BS_FRAMES, BS_AFTER_EXC, BS_QUOTED, BS_BLANK, BS_AFTER_SEP, BS_GROUP };

struct blk_line {
    uint32_t off, len;
    uint64_t lineno;
};

struct block {
    bool open;
    enum bstate st;
    bool headerless;    /* started by a frame line, not a header */
    bool stack;         /* started by "Stack (most recent call last):" (stack_info) */
    bool notes_started;
    bool msg_empty;     /* the exception line had no message (a quote may follow) */
    bool quote_carrier; /* in a quote, the line before was "pkg.RemoteTraceback: " */
    uint8_t quotes;     /* quotes open (a quoted remote traceback may quote another) */
    bool interleaved;
    bool truncated;
    uint32_t idle;      /* foreign lines since the block last claimed one */
    uint64_t seq;       /* recency of the last claim */
    uint64_t first_line;
    char *buf;
    size_t len, cap;
    struct blk_line *lines;
    size_t nlines, lines_cap;
    struct tb_meta meta;
};

struct shape_slot {
    uint32_t hash;
    uint32_t count;
};

struct tb_asm {
    const struct parse_limits *lim;
    tb_block_fn fn;
    tb_incomplete_fn incomplete;
    tb_unclaimed_fn unclaimed;
    void *ctx;
    struct block blocks[TB_ASM_MAX_OPEN];
    struct block *active;   /* the block that claimed the previous line */
    unsigned nopen;         /* open blocks: lets the common case skip every loop */
    struct block *started;  /* the block started by the last line */
    uint64_t seq;
    struct arena arena;     /* for parsing a finished block */
    /* The last foreign line, when it was an exception line without a message: a
     * '"""' on the next line makes it the carrier of a quoted remote traceback. */
    char carrier[512];
    size_t carrier_len;
    uint64_t carrier_line;
    struct shape_slot shapes[SHAPE_SLOTS];
};

struct tb_asm *tb_asm_create(const struct parse_limits *lim, tb_block_fn fn, tb_incomplete_fn inc,
                             void *ctx)
{
    struct tb_asm *as = calloc(1, sizeof(*as));
    if (as == NULL)
        return NULL;
    as->lim = lim ? lim : &parse_limits_default;
    as->fn = fn;
    as->incomplete = inc;
    as->ctx = ctx;
    arena_init(&as->arena, as->lim->max_record * 4 + ((size_t)1 << 20));
    return as;
}

void tb_asm_destroy(struct tb_asm *as)
{
    if (as == NULL)
        return;
    for (size_t i = 0; i < TB_ASM_MAX_OPEN; i++) {
        free(as->blocks[i].buf);
        free(as->blocks[i].lines);
    }
    arena_free(&as->arena);
    free(as);
}

/* ---- line shapes learned outside blocks ---- */

static uint32_t shape_of(const char *p, size_t n)
{
    /* FNV-1a over the first word (to the first space or ':'), digits folded. */
    uint32_t h = 2166136261u;
    size_t i = 0;
    for (; i < n && i < 24 && p[i] != ' ' && p[i] != ':' && p[i] != '\t'; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= '0' && c <= '9')
            c = '0';
        h = (h ^ c) * 16777619u;
    }
    if (i < n && p[i] == ':')
        h = (h ^ ':') * 16777619u;
    return h | 1u; /* 0 marks an empty slot */
}

static void shape_learn(struct tb_asm *as, const char *p, size_t n)
{
    if (n == 0 || p[0] == ' ' || p[0] == '\t')
        return;
    uint32_t h = shape_of(p, n);
    struct shape_slot *s = &as->shapes[h % SHAPE_SLOTS];
    if (s->hash == h) {
        if (s->count < UINT32_MAX)
            s->count++;
    } else if (s->count <= 1) {
        /* Replace a slot seen once: bounded memory, frequent shapes stay. */
        s->hash = h;
        s->count = 1;
    } else {
        s->count--;
    }
}

static bool shape_is_foreign(const struct tb_asm *as, const char *p, size_t n)
{
    uint32_t h = shape_of(p, n);
    const struct shape_slot *s = &as->shapes[h % SHAPE_SLOTS];
    return s->hash == h && s->count >= 2;
}

/* ---- blocks ---- */

/* Frames, source and caret lines: everything indented under the margin (if any). */
static bool frame_material(const char *p, size_t n)
{
    size_t i = tbl_indent(p, n);
    if (i >= 2 && i % 2 == 0 && i < n && (p[i] == '|' || p[i] == '+')) {
        i++;
        if (i < n && p[i] == ' ')
            i++;
        return i < n && (p[i] == ' ' || p[i] == '\t');
    }
    return i > 0 || (n > 0 && p[0] == '\t');
}

static int block_store(struct tb_asm *as, struct block *b, const char *p, size_t n, uint64_t lineno)
{
    if (b->len + n > as->lim->max_record || b->nlines >= MAX_BLOCK_LINES)
        b->truncated = true;
    if (b->truncated) {
        /* Past the limit frames are dropped, but the structure (headers, exception
         * lines, separators, notes) is kept within a reserve, so a cut block still
         * says what was raised. */
        if (frame_material(p, n) || b->len + n > as->lim->max_record + as->lim->max_record / 4 + 4096 ||
            b->nlines >= MAX_BLOCK_LINES + 1024)
            return 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (nb == NULL)
            return -1;
        b->buf = nb;
        b->cap = cap;
    }
    if (b->nlines == b->lines_cap) {
        size_t cap = b->lines_cap ? b->lines_cap * 2 : 64;
        struct blk_line *nl = realloc(b->lines, cap * sizeof(*nl));
        if (nl == NULL)
            return -1;
        b->lines = nl;
        b->lines_cap = cap;
    }
    if (n)
        memcpy(b->buf + b->len, p, n);
    b->lines[b->nlines].off = (uint32_t)b->len;
    b->lines[b->nlines].len = (uint32_t)n;
    b->lines[b->nlines].lineno = lineno;
    b->nlines++;
    b->len += n;
    return 0;
}

static int claim(struct tb_asm *as, struct block *b, const char *p, size_t n, uint64_t lineno)
{
    b->idle = 0;
    b->seq = ++as->seq;
    as->active = b;
    return block_store(as, b, p, n, lineno);
}

void tb_asm_set_unclaimed(struct tb_asm *as, tb_unclaimed_fn fn)
{
    as->unclaimed = fn;
}

static int block_finish(struct tb_asm *as, struct block *b)
{
    int rc = 0;
    if (!b->open)
        return 0;
    b->open = false;
    as->nopen--;
    if (as->active == b)
        as->active = NULL;
    if (as->started == b)
        as->started = NULL;
    struct tb_line *L = arena_alloc(&as->arena, (b->nlines ? b->nlines : 1) * sizeof(*L));
    if (L == NULL) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < b->nlines; i++) {
        L[i].p = b->buf + b->lines[i].off;
        L[i].n = b->lines[i].len;
        L[i].lineno = b->lines[i].lineno;
    }
    struct ev_exception x;
    memset(&x, 0, sizeof(x));
    bool truncated = false;
    int prc = tb_parse_lines(L, b->nlines, as->lim, &as->arena, &x.chain, &truncated);
    if (prc < 0) {
        rc = -1;
        goto out;
    }
    if (prc == 0) {
        if (!b->headerless && !b->stack && as->incomplete != NULL)
            as->incomplete(as->ctx, b->first_line,
                           as->unclaimed ? "traceback without an exception line, read as lines"
                                         : "traceback without an exception line, skipped");
        if (as->unclaimed != NULL)
            rc = as->unclaimed(as->ctx, L, b->nlines, b->meta.present ? b->meta.record_line : 0, b->stack);
        goto out;
    }
    x.origin = b->meta.present ? b->meta.origin : EV_TB_PLAIN;
    /* The thread an "Exception in thread NAME:" names; a record's own thread field
     * goes to the event's thread instead. */
    if (b->meta.thread[0] && b->meta.origin == EV_TB_THREAD)
        x.thread_name = ev_str_make(b->meta.thread, strlen(b->meta.thread));
    x.last_line = b->nlines ? b->lines[b->nlines - 1].lineno : b->first_line;
    x.interleaved = b->interleaved;
    struct tb_block_out out = {
        .exc = &x,
        .meta = &b->meta,
        .first_line = b->first_line,
        .truncated = truncated || b->truncated,
    };
    rc = as->fn(as->ctx, &out);
out:
    arena_reset(&as->arena);
    b->len = 0;
    b->nlines = 0;
    return rc;
}

static struct block *block_new(struct tb_asm *as, uint64_t lineno, enum bstate st, int *rc)
{
    struct block *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < TB_ASM_MAX_OPEN; i++) {
        struct block *b = &as->blocks[i];
        if (!b->open) {
            slot = b;
            break;
        }
        if (oldest == NULL || b->seq < oldest->seq)
            oldest = b;
    }
    if (slot == NULL) {
        *rc = block_finish(as, oldest);
        slot = oldest;
    }
    char *buf = slot->buf;
    struct blk_line *lines = slot->lines;
    size_t cap = slot->cap, lcap = slot->lines_cap;
    memset(slot, 0, sizeof(*slot));
    slot->buf = buf;
    slot->lines = lines;
    slot->cap = cap;
    slot->lines_cap = lcap;
    slot->open = true;
    as->nopen++;
    slot->st = st;
    slot->first_line = lineno;
    slot->meta.pid = -1;
    as->started = slot;
    return slot;
}

/* The most recently active open block in one of the given states (a bit mask). */
static struct block *find_block(struct tb_asm *as, unsigned states, const struct block *except)
{
    struct block *best = NULL;
    for (size_t i = 0; i < TB_ASM_MAX_OPEN; i++) {
        struct block *b = &as->blocks[i];
        if (b->open && b != except && (states & (1u << b->st)) && (best == NULL || b->seq > best->seq))
            best = b;
    }
    return best;
}

#define S(x) (1u << (x))
#define WANTS_FRAMES (S(BS_FRAMES))
#define TAILS (S(BS_AFTER_EXC) | S(BS_BLANK) | S(BS_GROUP))

/* Finish the tails (blocks that already have their exception). */
static int finish_tails(struct tb_asm *as)
{
    for (size_t i = 0; i < TB_ASM_MAX_OPEN; i++) {
        struct block *b = &as->blocks[i];
        if (b->open && (TAILS & S(b->st)) && b != as->active) {
            int rc = block_finish(as, b);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

enum lclass {
    LC_OTHER,
    LC_BLANK,
    LC_HEADER,
    LC_GROUP_TOP,    /* "  + Exception Group Traceback ..." */
    LC_GROUP_LINE,   /* other group structure */
    LC_FRAME,
    LC_REPEAT,
    LC_INDENTED,     /* source, caret, or message continuation */
    LC_SEPARATOR,
    LC_EXCEPTION,
};

static enum lclass classify(const char *p, size_t n)
{
    if (tbl_is_blank(p, n))
        return LC_BLANK;
    char c = p[0];
    if (c == ' ' || c == '\t') {
        struct tbl_frame f;
        uint32_t rep;
        if (tbl_is_group_structure(p, n)) {
            const char *cc;
            size_t cn;
            if (tbl_margin(p, n, 1, &cc, &cn) && p[2] == '+' && tbl_is_group_header(cc, cn))
                return LC_GROUP_TOP;
            return LC_GROUP_LINE;
        }
        if (tbl_frame(p, n, &f))
            return LC_FRAME;
        if (tbl_repeat_marker(p, n, &rep))
            return LC_REPEAT;
        return LC_INDENTED;
    }
    if (c == '>') {
        struct tbl_frame f;
        if (tbl_frame(p, n, &f))
            return LC_FRAME;
    }
    if (c == '-' && tbl_is_caught_marker(p, n))
        return LC_REPEAT; /* Twisted's, between frames: taken where a repeat marker is */
    if ((c == 'T' && tbl_is_header(p, n)) || (c == 'S' && tbl_is_stack_header(p, n)))
        return LC_HEADER;
    if ((c == 'T' || c == 'D') && tbl_separator(p, n) != TB_SEP_NONE)
        return LC_SEPARATOR;
    size_t tl, ml;
    const char *m;
    if (tbl_exception_line(p, n, true, &tl, &m, &ml))
        return LC_EXCEPTION;
    return LC_OTHER;
}

static bool is_triple_quote(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n == 3 && memcmp(p, "\"\"\"", 3) == 0;
}

/* Does block b take line (class lc) as the natural continuation of its state?
 * Updates b's state when it does. */
static bool takes(struct tb_asm *as, struct block *b, enum lclass lc, const char *p, size_t n,
                  bool is_record)
{
    if (is_record)
        return false;
    switch (b->st) {
    case BS_FRAMES:
        switch (lc) {
        case LC_FRAME:
        case LC_REPEAT:
        case LC_INDENTED:
            return true;
        case LC_EXCEPTION:
            b->st = BS_AFTER_EXC;
            b->notes_started = false;
            {
                size_t tl, ml;
                const char *m;
                tbl_exception_line(p, n, true, &tl, &m, &ml);
                b->msg_empty = ml == 0;
            }
            return true;
        default:
            return false;
        }
    case BS_AFTER_EXC:
        switch (lc) {
        case LC_BLANK:
            b->st = BS_BLANK;
            return true;
        case LC_SEPARATOR:
            b->st = BS_AFTER_SEP;
            return true;
        case LC_INDENTED:
            /* After a note, an indented line goes on with it: a note, like a
             * message, prints its own newlines as they are. */
            return !b->notes_started || !shape_is_foreign(as, p, n);
        case LC_REPEAT:
            return !b->notes_started;
        case LC_FRAME:
            /* A suspended block that wants frames gets first pick. */
            if (find_block(as, WANTS_FRAMES | S(BS_AFTER_SEP), b) != NULL)
                return false;
            return !b->notes_started;
        case LC_OTHER:
        case LC_EXCEPTION:
            if (b->msg_empty && !b->notes_started && is_triple_quote(p, n)) {
                b->st = BS_QUOTED;
                b->quotes = 1;
                b->quote_carrier = false;
                return true;
            }
            if (shape_is_foreign(as, p, n) || tbl_introducer(p, n) != TBL_INTRO_NONE || tbl_is_runner_line(p, n))
                return false;
            b->notes_started = true;
            return true;
        default:
            return false;
        }
    case BS_QUOTED:
        if (is_triple_quote(p, n)) {
            /* After a carrier line a quote opens (a worker of a worker);
             * otherwise it closes the innermost one. */
            if (b->quote_carrier && b->quotes < 64)
                b->quotes++;
            else if (b->quotes <= 1)
                b->st = BS_AFTER_EXC;
            else
                b->quotes--;
            b->quote_carrier = false;
        } else {
            size_t tl, ml;
            const char *m;
            b->quote_carrier = lc == LC_EXCEPTION && tbl_exception_line(p, n, true, &tl, &m, &ml) && ml == 0 &&
                               tl < n;
        }
        return true;
    case BS_BLANK:
        if (lc == LC_BLANK)
            return true;
        if (lc == LC_SEPARATOR) {
            b->st = BS_AFTER_SEP;
            return true;
        }
        return false;
    case BS_AFTER_SEP:
        switch (lc) {
        case LC_BLANK:
            return true;
        case LC_HEADER:
            if (p[0] == 'S')
                return false; /* a stack_info stack is no chained exception */
            b->st = BS_FRAMES;
            return true;
        case LC_FRAME:
            b->st = BS_FRAMES;
            return true;
        case LC_GROUP_TOP:
            b->st = BS_GROUP;
            return true;
        case LC_EXCEPTION:
            b->st = BS_AFTER_EXC;
            b->notes_started = false;
            b->msg_empty = false;
            return true;
        default:
            return false;
        }
    case BS_GROUP:
        if (lc == LC_GROUP_LINE || lc == LC_GROUP_TOP)
            return true;
        if (lc == LC_BLANK) {
            b->st = BS_BLANK;
            return true;
        }
        if (lc == LC_SEPARATOR) {
            b->st = BS_AFTER_SEP;
            return true;
        }
        return false;
    }
    return false;
}

/* A foreign line: every open block idles; graces run out. */
static int foreign(struct tb_asm *as, const char *p, size_t n, bool is_record, uint64_t lineno)
{
    as->carrier_line = 0;
    if (!is_record) {
        size_t tl, ml, cn;
        const char *m, *cc;
        shape_learn(as, p, n);
        bool remote = tbl_exception_line(p, n, true, &tl, &m, &ml) && tbl_is_blank(m, ml);
        /* "  | ExceptionGroup: ..." outside any block: a group printed without a
         * stack, when its first member separator follows. */
        bool group = !remote && n > 3 && p[2] == '|' && tbl_margin(p, n, 1, &cc, &cn) &&
                     tbl_exception_line(cc, cn, true, &tl, &m, &ml);
        if (n < sizeof(as->carrier) && (remote || group)) {
            memcpy(as->carrier, p, n);
            as->carrier_len = n;
            as->carrier_line = lineno;
        }
    }
    as->active = NULL;
    for (size_t i = 0; i < TB_ASM_MAX_OPEN && as->nopen > 0; i++) {
        struct block *b = &as->blocks[i];
        if (!b->open)
            continue;
        b->idle++;
        /* logging prints a stack_info stack whole: a foreign line ends it. */
        uint32_t grace = b->stack ? 0 : (TAILS & S(b->st)) ? TAIL_GRACE : SUSPEND_GRACE;
        if (b->idle > grace) {
            int rc = block_finish(as, b);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

bool tb_asm_quiet_record(struct tb_asm *as)
{
    if (as->nopen != 0)
        return false;
    /* What tb_asm_line and foreign do with a record when no block is open. */
    as->started = NULL;
    as->carrier_line = 0;
    as->active = NULL;
    return true;
}

int tb_asm_line(struct tb_asm *as, const char *p, size_t n, uint64_t lineno, bool is_record,
                enum tb_claim *claimp)
{
    enum lclass lc = is_record ? LC_OTHER : classify(p, n);
    struct block *a = as->active;
    int rc = 0;
    *claimp = TB_FOREIGN;
    as->started = NULL;

    /* 1. The natural continuation of the active block. */
    if (a != NULL && a->open && takes(as, a, lc, p, n, is_record)) {
        *claimp = TB_CLAIMED;
        return claim(as, a, p, n, lineno);
    }
    if (is_record)
        return foreign(as, p, n, true, lineno);

    if (as->carrier_line != 0 && as->carrier_line + 1 == lineno && as->carrier[0] == ' ' &&
        n >= 6 && memcmp(p, "  +-+-", 6) == 0) {
        /* "  | ExceptionGroup: ..." then "  +-+---- 1 ----": a group that was never
         * raised, printed without a stack, starting on the line before. */
        uint64_t cl = as->carrier_line;
        as->carrier_line = 0;
        as->active = NULL;
        if ((rc = finish_tails(as)) != 0)
            return rc;
        struct block *b = block_new(as, cl, BS_GROUP, &rc);
        if (rc != 0)
            return rc;
        if ((rc = claim(as, b, as->carrier, as->carrier_len, cl)) != 0)
            return rc;
        *claimp = TB_STARTED;
        return claim(as, b, p, n, lineno);
    }
    if (as->carrier_line != 0 && as->carrier_line + 1 == lineno && as->carrier[0] != ' ' &&
        is_triple_quote(p, n)) {
        /* "pkg._RemoteTraceback: " then '"""': a block that starts on the line
         * before, with the remote traceback quoted in its message. */
        uint64_t cl = as->carrier_line;
        as->carrier_line = 0;
        as->active = NULL;
        if ((rc = finish_tails(as)) != 0)
            return rc;
        struct block *b = block_new(as, cl, BS_QUOTED, &rc);
        if (rc != 0)
            return rc;
        b->quotes = 1;
        if ((rc = claim(as, b, as->carrier, as->carrier_len, cl)) != 0)
            return rc;
        *claimp = TB_STARTED;
        return claim(as, b, p, n, lineno);
    }
    as->carrier_line = 0;

    switch (lc) {
    case LC_HEADER:
    case LC_GROUP_TOP: {
        /* A block waiting after a separator takes the next header. */
        struct block *b = find_block(as, S(BS_AFTER_SEP), NULL);
        if (b != NULL && takes(as, b, lc, p, n, false)) {
            b->interleaved = true;
            *claimp = TB_CLAIMED;
            return claim(as, b, p, n, lineno);
        }
        /* A new traceback: tails can no longer continue. Blocks that still expect
         * frames stay suspended: another process may be mid-traceback. */
        as->active = NULL;
        if ((rc = finish_tails(as)) != 0)
            return rc;
        b = block_new(as, lineno, lc == LC_HEADER ? BS_FRAMES : BS_GROUP, &rc);
        if (rc != 0)
            return rc;
        b->stack = p[0] == 'S';
        *claimp = TB_STARTED;
        return claim(as, b, p, n, lineno);
    }
    case LC_FRAME:
    case LC_REPEAT:
    case LC_INDENTED:
    case LC_EXCEPTION: {
        struct block *b = find_block(as, WANTS_FRAMES | (lc == LC_INDENTED ? 0 : S(BS_AFTER_SEP)), a);
        if (b != NULL && takes(as, b, lc, p, n, false)) {
            b->interleaved = true;
            *claimp = TB_CLAIMED;
            return claim(as, b, p, n, lineno);
        }
        if (lc == LC_FRAME) {
            /* A frame with no header: a SyntaxError printed without a traceback, or
             * a traceback whose header was lost. Dropped quietly if it never ends in
             * an exception line. */
            if ((rc = finish_tails(as)) != 0)
                return rc;
            b = block_new(as, lineno, BS_FRAMES, &rc);
            if (rc != 0)
                return rc;
            b->headerless = true;
            *claimp = TB_STARTED;
            return claim(as, b, p, n, lineno);
        }
        break;
    }
    case LC_SEPARATOR: {
        struct block *b = find_block(as, S(BS_AFTER_EXC) | S(BS_BLANK) | S(BS_GROUP), NULL);
        if (b != NULL) {
            b->st = BS_AFTER_SEP;
            b->interleaved = b->idle > 0 || b->interleaved;
            *claimp = TB_CLAIMED;
            return claim(as, b, p, n, lineno);
        }
        break;
    }
    case LC_BLANK: {
        /* A blank line right after an exception may precede a separator. */
        struct block *b = find_block(as, S(BS_AFTER_EXC) | S(BS_GROUP), NULL);
        if (b != NULL && b->idle > 0 && b->idle <= TAIL_GRACE) {
            b->st = BS_BLANK;
            b->idle++;
            return 0; /* not claimed: it may as well be the other process's */
        }
        break;
    }
    default:
        break;
    }
    return foreign(as, p, n, false, lineno);
}

struct tb_meta *tb_asm_started_meta(struct tb_asm *as)
{
    return as->started != NULL && as->started->open ? &as->started->meta : NULL;
}

int tb_asm_flush(struct tb_asm *as)
{
    for (;;) {
        struct block *oldest = NULL;
        for (size_t i = 0; i < TB_ASM_MAX_OPEN; i++) {
            struct block *b = &as->blocks[i];
            if (b->open && (oldest == NULL || b->first_line < oldest->first_line))
                oldest = b;
        }
        if (oldest == NULL)
            return 0;
        int rc = block_finish(as, oldest);
        if (rc != 0)
            return rc;
    }
}

uint64_t tb_asm_started_line(const struct tb_asm *as)
{
    return as->started != NULL ? as->started->first_line : 0;
}

uint64_t tb_asm_carrier_line(const struct tb_asm *as)
{
    return as->carrier_line;
}

uint64_t tb_asm_min_open_line(const struct tb_asm *as)
{
    uint64_t m = UINT64_MAX;
    if (as->nopen == 0)
        return m;
    for (size_t i = 0; i < TB_ASM_MAX_OPEN; i++) {
        const struct block *b = &as->blocks[i];
        if (!b->open)
            continue;
        /* The record it took as its introducer too: should the block be given
         * back, that record is a record again (see tb_unclaimed_fn). */
        uint64_t first = b->meta.present && b->meta.record_line != 0 && b->meta.record_line < b->first_line
                             ? b->meta.record_line
                             : b->first_line;
        if (first < m)
            m = first;
    }
    return m;
}
