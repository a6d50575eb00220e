/* pickle.h -- a safe pickle reader: a small machine over the opcodes of protocols 2 to
 * 5 that builds plain data and never executes anything.
 *
 * It is made for tracemalloc's Snapshot.dump() files. Python's unpickler calls any
 * global a pickle names; this one knows a short list of globals (the tracemalloc
 * classes a snapshot is made of, and builtins tuple/list/dict/set/frozenset) and
 * refuses every other with "pickle: global os.system refused". NEWOBJ, REDUCE and
 * BUILD only ever build a record of (class, arguments, state) for those classes; no
 * Python semantics run. Opcodes of protocols 0 and 1, persistent ids, extension
 * registry codes and out-of-band buffers are refused.
 *
 * Everything is bounded (struct pk_limits): total bytes held, one string's length
 * (checked before anything is allocated for it), container nesting, memo index,
 * stack size and open marks. The machine is push-based and resumable: feed it any
 * chunks; an opcode cut by a chunk boundary is carried (at most one string's worth).
 *
 * Streaming: a list that is the value of a chosen key (tracemalloc's "_traces") can
 * be consumed item by item as APPEND/APPENDS add to it, so a dump of a million traces
 * never holds the traces, only what the consumer keeps. Consumed items are released;
 * a later memo reference to one is an error, never a dangling pointer (every
 * reference carries the generation of the slot it points to).
 *
 * Nothing here prints or exits; errors are kept in the machine (pk_error).
 */
#ifndef PYCORR_PICKLE_H
#define PYCORR_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/event.h"

/* A value: an immediate (None, bools, small ints, globals) or a reference to a node.
 * 0 is "no value". Values stay valid until pk_destroy (or pk_release of the node). */
typedef uint64_t pk_val;
#define PK_NULL ((pk_val)0)

enum pk_type {
    PK_T_NULL = 0, /* no value, or a reference to a released node */
    PK_T_NONE,
    PK_T_BOOL,
    PK_T_INT,      /* fits int64 */
    PK_T_BIGINT,   /* an int beyond int64: its value is not kept */
    PK_T_FLOAT,
    PK_T_STR,
    PK_T_BYTES,
    PK_T_TUPLE,
    PK_T_LIST,
    PK_T_DICT,     /* items are key, value, key, value ... */
    PK_T_SET,      /* set and frozenset */
    PK_T_GLOBAL,   /* one of enum pk_global, as a class not yet called */
    PK_T_OBJ,      /* an instance of a known class: class, args, state */
};

/* The globals a tracemalloc snapshot may name. */
enum pk_global {
    PKG_NONE = 0,
    PKG_SNAPSHOT,   /* tracemalloc.Snapshot */
    PKG_TRACES,     /* tracemalloc._Traces */
    PKG_TRACE,      /* tracemalloc.Trace */
    PKG_TRACEBACK,  /* tracemalloc.Traceback */
    PKG_FRAME,      /* tracemalloc.Frame */
    PKG_STATISTIC,  /* tracemalloc.Statistic */
    PKG_STATDIFF,   /* tracemalloc.StatisticDiff */
    PKG_TUPLE,      /* builtins.tuple (or __builtin__.tuple of protocol 2) */
    PKG_LIST,
    PKG_DICT,
    PKG_SET,
    PKG_FROZENSET,
    PKG_COUNT
};
const char *pk_global_name(enum pk_global g);

struct pk_limits {
    size_t max_alloc;    /* bytes of nodes, strings, memo and stack together */
    size_t max_string;   /* one str/bytes/long; longer is refused before allocating */
    uint32_t max_depth;  /* container nesting */
    uint32_t max_memo;   /* memo indexes must be below this */
    uint32_t max_stack;  /* values on the stack */
    uint32_t max_marks;  /* MARKs open at once */
};
extern const struct pk_limits pk_limits_default;

struct pk_vm;

/* Called for each item appended to a streamed list. Return 1 when the item was
 * consumed (the machine releases it and does not keep it in the list), 0 to keep it,
 * -1 to stop with an error (set one with pk_fail, or a generic one is used). */
typedef int (*pk_stream_fn)(void *ctx, struct pk_vm *vm, pk_val item);

/* NULL when memory is exhausted. lim may be NULL for the defaults; it is copied. */
struct pk_vm *pk_create(const struct pk_limits *lim);
void pk_destroy(struct pk_vm *vm);

/* Stream the lists that are the value of a str key in keys (NULL-terminated, kept by
 * reference: static strings). */
void pk_set_stream(struct pk_vm *vm, const char *const *keys, pk_stream_fn fn, void *ctx);

/* Optional: called with an item a few places ahead of the one the stream function is
 * about to get, so the consumer can prefetch what it will look up (its return is
 * ignored; it must only read). */
void pk_set_stream_prefetch(struct pk_vm *vm, pk_stream_fn prefetch);

enum { PK_MORE = 0, PK_DONE = 1, PK_ERROR = -1 };

/* Consume bytes. PK_MORE: go on; PK_DONE: STOP was read (bytes after it are
 * ignored); PK_ERROR: the pickle is refused or broken, see pk_error (sticky). */
int pk_feed(struct pk_vm *vm, const void *buf, size_t len);
/* End of input: PK_DONE, or PK_ERROR when STOP was never read. */
int pk_finish(struct pk_vm *vm);

/* "pickle: global os.system refused"; "" when there was no error. */
const char *pk_error(const struct pk_vm *vm);
/* Byte offset of the opcode that failed (or of the end of input). */
uint64_t pk_error_offset(const struct pk_vm *vm);
/* Set an error from a stream callback; printf-like. */
void pk_fail(struct pk_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value STOP returned; PK_NULL before PK_DONE. */
pk_val pk_result(const struct pk_vm *vm);
/* The protocol of the PROTO opcode (0 before it was read). */
int pk_protocol(const struct pk_vm *vm);

/* Reading values. Every accessor checks the type and the reference: on a mismatch it
 * returns false / 0 / PK_NULL, never crashes. */
enum pk_type pk_type(const struct pk_vm *vm, pk_val v);
bool pk_int(const struct pk_vm *vm, pk_val v, int64_t *out);   /* PK_T_INT and PK_T_BOOL */
bool pk_float(const struct pk_vm *vm, pk_val v, double *out);  /* PK_T_FLOAT and PK_T_INT */
/* str and bytes: a view valid until pk_destroy. */
bool pk_str(const struct pk_vm *vm, pk_val v, ev_str *out);
bool pk_str_eq(const struct pk_vm *vm, pk_val v, const char *lit);
/* FNV-1a of a str's bytes, cached in the node. */
uint64_t pk_str_hash(struct pk_vm *vm, pk_val v);
/* tuple, list, set: items; dict: 2 x pairs. */
uint32_t pk_len(const struct pk_vm *vm, pk_val v);
pk_val pk_item(const struct pk_vm *vm, pk_val v, uint32_t i);
/* The value of a str key in a dict (the last one set), or PK_NULL. */
pk_val pk_dict_get(const struct pk_vm *vm, pk_val dict, const char *key);
/* For PK_T_OBJ (and PK_T_GLOBAL: the global itself). */
enum pk_global pk_obj_class(const struct pk_vm *vm, pk_val v);
pk_val pk_obj_args(const struct pk_vm *vm, pk_val v);
pk_val pk_obj_state(const struct pk_vm *vm, pk_val v);

/* Forget a node (not its children): later references to it read as PK_T_NULL. For
 * consumers of streamed items; immediates are ignored. */
void pk_release(struct pk_vm *vm, pk_val v);

/* Bytes held now, and the most held at any time. */
size_t pk_bytes_held(const struct pk_vm *vm);
size_t pk_bytes_peak(const struct pk_vm *vm);

#endif
