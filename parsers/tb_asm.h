/* tb_asm.h -- the streaming traceback assembler: which lines of a text stream belong
 * to a traceback block, with recovery when another process's lines interleave.
 *
 * The caller feeds every line (transport and logging prefixes already recognized)
 * and learns whether the line was claimed by a block. Up to TB_ASM_MAX_OPEN blocks
 * are open at once: a block interrupted while it still expects frames is suspended
 * and resumes when a frame line arrives that no other block wants; a block that has
 * its exception line waits a few lines for a chain separator ("The above exception
 * ...") before it is finished. Finished blocks are parsed by tb_parse_lines and
 * handed to the block callback.
 */
#ifndef PYCORR_TB_ASM_H
#define PYCORR_TB_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

/* What the caller knows of the record that introduced a block. Owned by the block. */
struct tb_meta {
    bool present;
    bool has_ts;
    int64_t ts_ns;
    enum ev_level level;
    int64_t pid;
    enum ev_tb_origin origin;
    uint64_t record_line;     /* line of the introducing record; 0 = the header's */
    char logger[128];
    char thread[128];
    char host[128];
    char trace_id[72];          /* NUL-terminated; "" when none */
    char message[1024];
    uint32_t message_len;
};

struct tb_block_out {
    const struct ev_exception *exc;
    const struct tb_meta *meta;
    uint64_t first_line;      /* the header (or first frame) line */
    bool truncated;           /* limits cut the block */
};

/* Return non-zero to stop the parser (passed back by tb_asm_line/flush). */
typedef int (*tb_block_fn)(void *ctx, const struct tb_block_out *blk);
/* A block that never reached its exception line. */
typedef void (*tb_incomplete_fn)(void *ctx, uint64_t first_line, const char *reason);
/* The lines such a block had claimed, given back in order so that they are not lost
 * (intro_line: the record it had taken as its introducer, 0 when none; stack: the
 * block began with logging's "Stack (most recent call last):", so its lines are that
 * record's stack_info). Return non-zero to stop the parser. */
struct tb_line;
typedef int (*tb_unclaimed_fn)(void *ctx, const struct tb_line *lines, size_t n, uint64_t intro_line, bool stack);

enum tb_claim {
    TB_FOREIGN = 0, /* not part of any block */
    TB_CLAIMED,     /* continues a block */
    TB_STARTED,     /* starts a new block */
};

#define TB_ASM_MAX_OPEN 8

struct tb_asm;

/* NULL on allocation failure. */
struct tb_asm *tb_asm_create(const struct parse_limits *lim, tb_block_fn fn, tb_incomplete_fn inc,
                             void *ctx);
void tb_asm_destroy(struct tb_asm *as);
/* Optional: where the lines of a block without an exception line go (else they are
 * dropped, and a block with a header is reported through the incomplete callback). */
void tb_asm_set_unclaimed(struct tb_asm *as, tb_unclaimed_fn fn);

/* Feed one line. is_record: the line carries a log-record prefix, so it starts a
 * record of its own and can be neither a frame nor a note. *claim says what became
 * of the line. Returns 0, the callback's non-zero value, or -1 on allocation
 * failure. */
int tb_asm_line(struct tb_asm *as, const char *p, size_t n, uint64_t lineno, bool is_record,
                enum tb_claim *claim);

/* A record line when no block is open: tb_asm_line with is_record would find it
 * TB_FOREIGN and only forget the line before. The same, without the call, for a
 * caller that reads many records in a row (textlog's plain records). Returns
 * false, doing nothing, when a block is open: then call tb_asm_line. */
bool tb_asm_quiet_record(struct tb_asm *as);

/* The record of the block started by the last line (TB_STARTED), to fill in with
 * what is known of it: zeroed but for pid = -1. NULL when no block was started. */
struct tb_meta *tb_asm_started_meta(struct tb_asm *as);

/* First line of the block started by the last line: usually that line, but the line
 * before it when that line turned out to carry a quoted remote traceback. */
uint64_t tb_asm_started_line(const struct tb_asm *as);

/* The last line when it may start a block together with the next one (a remote
 * traceback's carrier, "  | ExceptionGroup: ..." of a group printed without a
 * stack); 0 when not. Such a line should stay a line of its own until the next. */
uint64_t tb_asm_carrier_line(const struct tb_asm *as);

/* Finish every open block (end of input). */
int tb_asm_flush(struct tb_asm *as);

/* First line of the oldest open block (or of the record it took as its
 * introducer), or UINT64_MAX when none is open. */
uint64_t tb_asm_min_open_line(const struct tb_asm *as);

#endif
