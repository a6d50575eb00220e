/* ev_dump.h -- the payload of EV_THREAD_DUMP and EV_THREAD_CPU events: the threads of
 * one process at one moment, the locks the artifact shows, and the fatal error of a
 * crash report.
 *
 * One struct serves every dump family (faulthandler, gdb, py-spy, ps -T / top -H):
 * each parser fills what its artifact holds and leaves the rest unknown. Unknown is
 * never guessed: a lock's owner is set only when the artifact proves it (an RLock's
 * owner word read with gdb x/4a), a thread's native id only when printed.
 *
 * Like the rest of the event model these are views: slices and arrays live in the
 * parser's arena and are valid only during the sink call; ev_clone() deep-copies.
 */
#ifndef PYCORR_EV_DUMP_H
#define PYCORR_EV_DUMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"

enum ev_dump_format {
    EV_DUMP_FAULTHANDLER = 0, /* faulthandler.dump_traceback / fatal error report */
    EV_DUMP_GDB,              /* gdb: info threads, thread apply all bt / py-bt, x/4a */
    EV_DUMP_PYSPY,            /* py-spy dump, text or --json */
    EV_DUMP_PS,               /* ps -T -o pid,spid,time,pcpu,comm (and ps -L) */
    EV_DUMP_TOP,              /* top -H -b */
};
const char *ev_dump_format_name(enum ev_dump_format f);

/* What a frame is. Managed frames are Python code; the others are told apart so a
 * detector never mistakes a C function for a Python site. */
enum ev_dframe_kind {
    EV_DF_PYTHON = 0, /* a Python frame: file, line, function */
    EV_DF_NATIVE,     /* a C frame: gdb "#N ... in func (...) at file:line", py-spy --native */
    EV_DF_BUILTIN,    /* gdb py-bt "<built-in method acquire of _thread.lock object at remote 0x..>" */
    EV_DF_MARKER,     /* "Waiting for the GIL", "Garbage-collecting", "<no Python frame>" */
};
const char *ev_dframe_kind_name(enum ev_dframe_kind k);

struct ev_dframe {
    enum ev_dframe_kind kind;
    ev_str file;      /* source path, native source file or library; absent when unknown */
    ev_str function;  /* function, or the marker/built-in text */
    uint32_t line;    /* 0 when unknown */
    uint64_t object;  /* EV_DF_BUILTIN / native "self=0x..": the object's address, else 0 */
};

enum ev_thread_state {
    EV_TS_UNKNOWN = 0,
    EV_TS_RUNNING,    /* on CPU: py-spy active, top/ps R */
    EV_TS_IDLE,       /* py-spy idle; top/ps S */
    EV_TS_GIL_WAIT,   /* gdb py-bt "Waiting for the GIL" */
    EV_TS_DISK,       /* top/ps D */
    EV_TS_STOPPED,    /* top/ps T, t */
    EV_TS_ZOMBIE,     /* top/ps Z */
};
const char *ev_thread_state_name(enum ev_thread_state s);

struct ev_dthread {
    ev_str id;            /* as the dump prints it: "0x00007f1fcaff3040", "0x7f..", "8372" */
    uint64_t ident;       /* the pthread ident (threading.get_ident()), 0 when unknown */
    int64_t native_id;    /* LWP / SPID / os_thread_id, -1 when unknown */
    int32_t number;       /* gdb's thread number, 0 when none */
    ev_str name;          /* Python name (py-spy), OS name (gdb, ps comm); absent when none */
    bool is_current;      /* faulthandler "Current thread", gdb "*" */
    bool gil;             /* py-spy "active+gil" */
    enum ev_thread_state state;
    /* Innermost (most recent call) first, as every dump format prints them. */
    struct ev_dframe *frames;
    uint32_t nframes;
    uint32_t frames_total; /* printed frames, including those past the limit */
    uint32_t npython;      /* how many frames are EV_DF_PYTHON */
    uint64_t waits_for;    /* address of the lock being acquired, 0 when none is known */
    uint64_t *holds;       /* lock addresses this thread owns (only when proven) */
    uint32_t nholds;
    bool has_cpu;
    double cpu_percent;    /* as printed (ps: lifetime average; top: last interval) */
    double cpu_seconds;    /* cumulative CPU time, -1 when not printed */
};

enum ev_lock_kind { EV_LOCK_UNKNOWN = 0, EV_LOCK_LOCK, EV_LOCK_RLOCK };
const char *ev_lock_kind_name(enum ev_lock_kind k);

struct ev_lock {
    uint64_t address;     /* the Python lock object */
    enum ev_lock_kind kind;
    bool owner_known;     /* owner proven by the artifact (RLock x/4a owner word) */
    uint64_t owner;       /* owner thread ident; 0 with owner_known = the lock is free */
    int64_t count;        /* RLock recursion count when shown, else -1 */
    uint64_t words[4];    /* gdb x/4a words read at address */
    uint8_t nwords;
};

#define EV_DUMP_MAX_MODULES 512

struct ev_dump {
    enum ev_dump_format format;
    ev_str header;        /* "Fatal Python error: ...", "Timeout (0:00:05)!", py-spy "Process N: cmd" */
    ev_str fatal_error;   /* the text after "Fatal Python error: " (or "Windows fatal exception: ") */
    ev_str signal;        /* "SIGSEGV" when the fatal error names a signal */
    ev_str python;        /* py-spy "Python v3.11.2 (/usr/bin/python3.11)" version */
    ev_str *modules;      /* faulthandler "Extension modules: ..." */
    uint32_t nmodules;
    uint32_t modules_total; /* "(total: N)" when printed, else nmodules */
    struct ev_dthread *threads;
    uint32_t nthreads;
    uint32_t threads_total; /* threads printed, including those past the limit */
    struct ev_lock *locks;
    uint32_t nlocks;
    int32_t clock_s;      /* top "top - HH:MM:SS": seconds since midnight, -1 when absent */
    uint64_t last_line;   /* last line of the dump in its stream */
};

/* The thread of d with this ident / native id, or NULL. */
const struct ev_dthread *ev_dump_thread_by_ident(const struct ev_dump *d, uint64_t ident);
const struct ev_dthread *ev_dump_thread_by_native(const struct ev_dump *d, int64_t native_id);
const struct ev_lock *ev_dump_lock(const struct ev_dump *d, uint64_t address);

/* The owner an RLock's x/4a words prove: the fourth word (rlock_owner, after the
 * object header and the inner lock pointer; the same place in CPython 3.2 to 3.13).
 * Returns true and sets *owner (0 = free) only when kind is RLock and 4 words are
 * known; a plain Lock has no owner field, so its owner is never read. */
bool ev_lock_owner_from_words(enum ev_lock_kind kind, const uint64_t *words, unsigned nwords,
                              uint64_t *owner);

/* The signal a fatal-error text names ("Segmentation fault" -> "SIGSEGV"), or NULL. */
const char *ev_dump_signal_of(const char *text, size_t n);

/* Parse "0x7f..", "0X7F..", or decimal digits. Returns false when p is neither. */
bool ev_dump_parse_u64(const char *p, size_t n, uint64_t *out);

/* Deep-copy src into the arena; NULL when the arena cannot grow. */
struct ev_dump *ev_dump_clone(const struct ev_dump *src, struct arena *a);

/* The dump as JSON (the `dump` member of a `pycorr events` line); NULL on OOM. */
json_t *ev_dump_to_json(const struct ev_dump *d);

/* "0x7f387e98f5c0" for an address (buf of at least 19 bytes). */
const char *ev_dump_addr(uint64_t a, char *buf);

#endif
