/* dumpbuild.h -- building one struct ev_dump line by line, for the dump parsers
 * (faulthandler.c, gdbdump.c, pyspy.c, psthreads.c).
 *
 * A dump is assembled in growing arrays owned by the builder and strings copied
 * into its arena; dumpb_emit() lays the arrays out as an ev_dump, derives each
 * thread's held locks from proven lock owners, hands the event to the sink and
 * resets the builder for the next dump. Limits keep hostile input bounded: threads,
 * frames per thread, locks and modules past the limits are counted, not stored.
 */
#ifndef PYCORR_DUMPBUILD_H
#define PYCORR_DUMPBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/ev_dump.h"
#include "parser.h"

#define DUMPB_MAX_THREADS 4096
#define DUMPB_MAX_LOCKS 4096

struct dumpb {
    const struct parser_env *env;
    enum ev_dump_format format;
    struct arena arena;       /* strings of the dump being built */
    struct ev_dump d;         /* scalars; arrays are laid out at emit */
    struct ev_dthread *threads;
    size_t nthreads, thr_cap;
    struct ev_dframe *frames; /* every thread's frames in arrival order */
    uint32_t *fthr;           /* per frame: the index of its thread */
    size_t nframes, fr_cap, fthr_cap;
    struct ev_lock *locks;
    size_t nlocks, lock_cap;
    ev_str *modules;
    size_t nmodules, mod_cap;
    int64_t pid;
    uint64_t first_line;      /* 0 while nothing was added */
    enum ev_level level;
    bool oom;
};

void dumpb_init(struct dumpb *b, const struct parser_env *env, enum ev_dump_format f);
void dumpb_free(struct dumpb *b);
/* Forget the dump being built. */
void dumpb_reset(struct dumpb *b);

/* Note that the dump covers line ln (the first call sets the event's source line). */
void dumpb_touch(struct dumpb *b, uint64_t ln);
bool dumpb_empty(const struct dumpb *b);

/* Copy p[0..n) into the builder's arena; absent on OOM (b->oom is set). */
ev_str dumpb_str(struct dumpb *b, const char *p, size_t n);

/* Append a thread (NULL past the limit or on OOM). Fields start unknown. Thread
 * pointers are valid until the next dumpb_thread call. */
struct ev_dthread *dumpb_thread(struct dumpb *b);
/* The thread with this gdb number / ident / native id in the dump so far, or NULL. */
struct ev_dthread *dumpb_find_number(struct dumpb *b, int32_t number);
struct ev_dthread *dumpb_find_ident(struct dumpb *b, uint64_t ident);
struct ev_dthread *dumpb_find_native(struct dumpb *b, int64_t native_id);
struct ev_dthread *dumpb_last_thread(struct dumpb *b);

/* Append a frame to thread t (a thread of this builder; gdb adds a thread's native
 * frames after every thread's Python frames). Returns NULL when the frame was
 * counted but not stored (limits) or on OOM. The pointer is valid until the next
 * call. */
struct ev_dframe *dumpb_frame(struct dumpb *b, struct ev_dthread *t);

/* Find or add the lock at address (NULL past the limit or on OOM). */
struct ev_lock *dumpb_lock(struct dumpb *b, uint64_t address);

/* Append an extension-module name (counted past EV_DUMP_MAX_MODULES). */
void dumpb_module(struct dumpb *b, const char *p, size_t n);

/* Emit the dump as one event of kind k (when anything was added) and reset.
 * Returns the sink's value, or -1 on OOM. */
int dumpb_emit(struct dumpb *b, enum ev_kind k);

#endif
