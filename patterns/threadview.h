/* threadview.h -- what the thread detectors (deadlock, wait_chain, blocked_thread,
 * spiking_thread) know of each process: its thread dumps and CPU samples, kept
 * until the end of input and joined then.
 *
 * Artifacts of one process arrive as separate streams in any order: gdb's py-bt in
 * one file, its x/4a lock words in another, ps -T in a third. They are grouped by
 * pid; an artifact without a pid (faulthandler, top -H) joins the process whose
 * threads it shares (same pthread ident or native id), else stays on its own,
 * keyed by its stream. Memory is bounded: at most TV_MAX_PROCS processes and
 * TV_MAX_EVENTS events per process are kept (older ones are dropped and counted).
 *
 * The join (tv_graph_build) is the wait-for graph: every thread once, with its
 * latest stack and wait, and every lock with its kind and owner where an artifact
 * proves it -- an owner is never inferred from anything but the lock's own words.
 */
#ifndef PYCORR_THREADVIEW_H
#define PYCORR_THREADVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../correlate/ev_dump.h"
#include "../correlate/event.h"

#define TV_MAX_PROCS 256
#define TV_MAX_EVENTS 64

struct tv_proc {
    int64_t pid;            /* -1 when no artifact gave it */
    char *key;              /* the stream of a pid-less artifact */
    struct arena arena;     /* the cloned events */
    struct event *ev;       /* thread dumps and CPU samples, arrival order */
    size_t nev, cap;
    uint64_t dropped;
    long merged_into;       /* index of the process this one joined, -1 */
};

struct tv {
    struct tv_proc *procs;
    size_t n, cap;
    uint64_t dropped;       /* events of processes past TV_MAX_PROCS */
    bool resolved;
};

/* Keep a clone of ev (EV_THREAD_DUMP / EV_THREAD_CPU). 0, or -1 when memory ran out. */
int tv_add(struct tv *v, const struct event *ev);
/* Join pid-less processes to the process whose threads they share (idempotent). */
void tv_resolve(struct tv *v);
void tv_free(struct tv *v);

/* Why a thread waits, read from its innermost Python frame. */
enum tv_wait {
    TV_RUNNABLE = 0,  /* nothing shows a wait */
    TV_LOCK,          /* inside a lock's acquire */
    TV_IDLE_WAIT,     /* waiting by design: join, Condition/Event wait, queue get */
};

struct tv_thread {
    const struct ev_dthread *t;   /* the latest record with a stack (or any) */
    const struct event *src;      /* the event it came from */
    uint64_t ident;
    int64_t native_id;
    ev_str id, name;
    uint64_t waits_for;           /* 0 when none is known */
    enum tv_wait wait;
    unsigned seen;                /* thread dumps that show it */
    unsigned same_site;           /* of those, consecutive latest ones with the same innermost frame */
};

struct tv_lock {
    uint64_t address;
    enum ev_lock_kind kind;
    bool owner_known;
    uint64_t owner;               /* ident; 0 = free */
    const struct event *owner_src; /* the artifact that proved the owner */
};

struct tv_graph {
    const struct tv_proc *proc;
    int64_t pid;
    struct tv_thread *threads;
    size_t nthreads;
    struct tv_lock *locks;
    size_t nlocks;
    const struct event *first;    /* the first thread dump (source of findings) */
    const struct event *cpu[TV_MAX_EVENTS]; /* CPU samples of the process, in order */
    size_t ncpu;
};

/* Build the graph of process i (with the processes joined to it). 0, -1 on OOM.
 * The graph points into v: it is valid while v is. */
int tv_graph_build(const struct tv *v, size_t i, struct tv_graph *g);
void tv_graph_free(struct tv_graph *g);

struct tv_thread *tv_thread_by_ident(const struct tv_graph *g, uint64_t ident);
struct tv_thread *tv_thread_by_native(const struct tv_graph *g, int64_t native_id);
const struct tv_lock *tv_lock_at(const struct tv_graph *g, uint64_t address);
/* The thread holding the lock t waits for, when an artifact proves it; NULL else.
 * *gone is set when the owner is proven but not among the process's threads. */
struct tv_thread *tv_owner_of_wait(const struct tv_graph *g, const struct tv_thread *t, bool *gone);

/* The innermost Python frame of a thread, or NULL. */
const struct ev_dframe *tv_innermost_python(const struct ev_dthread *t);
/* The innermost frame in application code (not stdlib / site-packages), or NULL. */
const struct ev_dframe *tv_innermost_app(const struct ev_dthread *t);

/* Evidence helpers. "file:line function" of a frame (json null for NULL). */
json_t *tv_frame_label(const struct ev_dframe *f);
/* The thread as DESIGN §4 evidence: id, native_id, name, waits_for, holds, frame. */
json_t *tv_thread_json(const struct tv_graph *g, const struct tv_thread *t);
/* The artifacts a graph joined: [{"stream", "line", "format"}]. */
json_t *tv_artifacts_json(const struct tv_graph *g);
/* A hex address string; buf of 19 bytes. */
const char *tv_addr(uint64_t a, char *buf);

#endif
