/* fuzz_text.c -- libFuzzer target for the plain-text parser (logging prefixes, CRI
 * and docker framing, the traceback assembler behind it).
 *
 * The first input byte picks the limits (default or tight) and, with the next two,
 * where the rest is cut into two or three chunks, so lines, CRI partials and docker
 * escapes straddle feeds. The sink turns every event into its JSON document (which
 * repairs UTF-8 and walks every slice, so ASan sees one that points outside live
 * memory) and folds it into a hash.
 *
 * Every input is parsed twice: without notes, and with a note (parser.h) made for
 * each chunk -- in a buffer of exactly the capacity given, sometimes too small for
 * all its lines, and (mode bit 4) made when the parser has taken half the chunk,
 * as a helper that comes late does. The two runs must give the same events: a
 * difference traps.
 * Every line is also read by logprefix_parse and through a prefix cache kept over
 * the lines: the two must agree (each line, and the prefix of the line before
 * with each line as its message, so the cache sees prefixes again).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_feed.h"
#include "parsers/logprefix.h"

extern const struct parser parser_text;

static int sink(void *ctx, const struct event *ev)
{
    uint64_t *hash = ctx;
    json_t *doc = ev_to_json(ev);
    if (doc != NULL) {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s != NULL) {
            for (const char *c = s; *c; c++)
                *hash = (*hash ^ (unsigned char)*c) * 1099511628211ull;
            *hash = (*hash ^ 0xff) * 1099511628211ull;
            free(s);
        }
        json_decref(doc);
    }
    return 0;
}

/* Parse the input cut at cuts[]; with notes when note_cap > 0, made halfway
 * through each chunk when late. The events' hash. */
static uint64_t parse(const struct parse_limits *lim, const char *in, const size_t cuts[4], size_t note_cap, bool late)
{
    uint64_t hash = 1469598103934665603ull;
    struct parser_env env = {
        .stream = "fuzz.log",
        .emit = sink,
        .emit_ctx = &hash,
        .diag = fuzz_diag,
        .limits = lim,
    };
    void *st = parser_text.open(&env);
    if (st == NULL)
        return 0;
    int rc = 0;
    void *note = NULL;
    for (int k = 0; k < 3 && rc == 0; k++) {
        size_t len = cuts[k + 1] - cuts[k];
        if (len == 0)
            continue;
        if (note_cap == 0) {
            rc = parser_text.feed(st, in + cuts[k], len);
            continue;
        }
        free(note);
        if ((note = aligned_alloc(64, note_cap)) == NULL)
            break;
        memset(note, 0, PARSER_NOTE_ZEROED); /* as the ring hands it out */
        parser_text.take_note(st, note, in + cuts[k], len);
        size_t first = late ? len / 2 : 0;
        if (first > 0)
            rc = parser_text.feed(st, in + cuts[k], first);
        parser_text.note(in + cuts[k], len, note, note_cap);
        if (rc == 0)
            rc = parser_text.feed(st, in + cuts[k] + first, len - first);
    }
    if (rc == 0)
        parser_text.finish(st);
    parser_text.close(st);
    free(note);
    return hash;
}

static void check_prefix(struct logprefix_cache *c, const char *p, size_t n)
{
    struct logprefix want, got;
    bool w = logprefix_parse(p, n, &want);
    bool g = logprefix_cached(c, p, n, &got);
    if (w != g || (w && !logprefix_equal(&want, &got)))
        __builtin_trap(); /* the cache read a prefix otherwise */
}

/* Each line, and each line's prefix before the next line's text: what a log does
 * (one prefix, many messages), with whatever the fuzzer makes of the message. */
static void check_prefixes(const char *in, size_t n)
{
    static struct logprefix_cache c;
    logprefix_cache_init(&c);
    const char *prev = NULL;
    size_t prev_n = 0;
    for (const char *p = in, *end = in + n; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        check_prefix(&c, p, len);
        struct logprefix lp;
        if (prev != NULL && logprefix_parse(prev, prev_n, &lp) && lp.msg_off <= 256) {
            char mix[512];
            size_t b = len < 255 ? len : 255;
            memcpy(mix, prev, lp.msg_off);
            memcpy(mix + lp.msg_off, p, b);
            check_prefix(&c, mix, lp.msg_off + b);
        }
        prev = p;
        prev_n = len;
        p += len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 3;
    size_t n = size - 3;

    fuzz_bid(&parser_text, in, n);
    check_prefixes(in, n);

    struct parse_limits lim = parse_limits_default;
    if (mode & 1) {
        lim.max_line = 120;
        lim.max_frames = 2;
        lim.max_chain = 2;
        lim.max_group_depth = 1;
        lim.max_group_members = 2;
        lim.max_record = 512;
    }
    /* Two cut points from bytes 1 and 2 (as fractions of n); equal ones give two chunks. */
    size_t c1 = n * data[1] / 255, c2 = n * data[2] / 255;
    if (c1 > c2) {
        size_t t = c1;
        c1 = c2;
        c2 = t;
    }
    const size_t cuts[4] = {0, c1, c2, n};
    uint64_t plain = parse(&lim, in, cuts, 0, false);
    /* A note buffer with room for every line, or (mode bit 2) for a few. */
    size_t cap = PARSER_NOTE_ZEROED + (mode & 2 ? (size_t)(mode >> 4) * 48 : 64 + 64 * n);
    cap = (cap + 63) & ~(size_t)63;
    uint64_t noted = parse(&lim, in, cuts, cap, (mode & 4) != 0);
    if (plain != noted)
        __builtin_trap(); /* notes changed the events */
    fuzz_sum += (unsigned)plain;
    return 0;
}
