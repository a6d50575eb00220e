/* pickle.c -- the safe pickle machine; see pickle.h.
 *
 * Layout: values are 64-bit words (tag in the low 3 bits): small ints and the few
 * constants are immediate; everything else is a node in one table, referenced by
 * index and the slot's generation. Container items live in size-classed blocks with
 * free lists, strings in append-only chunks. Nothing is recursive: no nested data,
 * however deep or cyclic, can exhaust the C stack.
 */
#include "pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/hash.h"
#include "../correlate/hugepage.h"

const struct pk_limits pk_limits_default = {
    .max_alloc = (size_t)512 << 20,
    .max_string = (size_t)64 << 10,
    .max_depth = 64,
    .max_memo = 1u << 24,
    .max_stack = 1u << 20,
    .max_marks = 256,
};

/* ---- values ----------------------------------------------------------------------- */

enum { TAG_REF = 0, TAG_INT = 1, TAG_IMM = 2 };
enum { IMM_NONE = 1, IMM_TRUE = 2, IMM_FALSE = 3, IMM_CONSUMED = 4, IMM_GLOBAL0 = 16 };

#define SMALL_MAX ((int64_t)1 << 59)
#define GEN_MASK ((1u << 20) - 1)
#define DEPTH_MAX 127 /* depth travels in 7 bits of a reference */

static inline unsigned vtag(pk_val v) { return (unsigned)(v & 7); }
static inline pk_val imm(unsigned code) { return ((pk_val)code << 3) | TAG_IMM; }
static inline unsigned imm_code(pk_val v) { return (unsigned)(v >> 3); }
static inline pk_val mk_small(int64_t x) { return ((uint64_t)x << 3) | TAG_INT; }
static inline int64_t small_of(pk_val v) { return (int64_t)v >> 3; }
/* A reference: bits 3..34 the node's index, 35 "mutable container" (list, dict,
 * set, instance: its depth may still grow, ask the node), 36..42 the depth of an
 * immutable one (so building a tuple needs no look at its children's nodes, which
 * are scattered across memory), 43..62 the slot's generation. */
static inline pk_val mk_ref(uint32_t idx, uint32_t gen, unsigned depth, bool mut)
{
    return ((pk_val)(gen & GEN_MASK) << 43) | ((pk_val)(depth & DEPTH_MAX) << 36) | ((pk_val)mut << 35) |
           ((pk_val)idx << 3);
}
static inline uint32_t ref_idx(pk_val v) { return (uint32_t)(v >> 3); }
static inline uint32_t ref_gen(pk_val v) { return (uint32_t)(v >> 43) & GEN_MASK; }
static inline bool ref_mut(pk_val v) { return (v >> 35) & 1; }
static inline unsigned ref_depth(pk_val v) { return (unsigned)(v >> 36) & DEPTH_MAX; }

struct pk_node {
    uint8_t type;    /* enum pk_type; PK_T_NULL when free */
    uint8_t flags;
    uint16_t depth;  /* 1 + deepest child, for containers (as they were built) */
    uint32_t gen;
    union {
        struct { const char *p; uint32_t len; uint32_t hash; } s;
        struct { pk_val *items; uint32_t len, cap, memo; } c; /* memo: last memo index + 1 */
        struct { pk_val args, state; uint32_t cls; } o;
        double f;
        int64_t i;
        uint32_t next_free;
    } u;
};
#define NF_STREAMED 1u

/* ---- the machine ----------------------------------------------------------------- */

#define NCLASS 9 /* item blocks of 1, 2, 4 ... 256 values */
#define SLAB_SIZE ((size_t)64 << 10)
#define CARRY_EXTRA 1040 /* an opcode's fixed part, or a GLOBAL line pair */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    /* data follows */
};

struct pk_vm {
    struct pk_limits lim;
    int status;           /* PK_MORE, PK_DONE, PK_ERROR */
    int proto;
    uint64_t off;         /* offset of the next byte to read */
    char err[200];
    uint64_t err_off;

    struct pk_node *nodes;
    uint32_t nnodes, nodes_cap, free_node;

    pk_val *stack;
    uint32_t sp, stack_cap;
    uint32_t *marks;
    uint32_t nmarks, marks_cap;

    pk_val *memo;
    uint32_t memo_cap, memo_count;

    void *item_free[NCLASS];  /* free lists of item blocks */
    struct chunk *slabs;      /* where small item blocks are carved */
    struct chunk *strings;    /* string bytes */

    uint8_t *carry;
    size_t carry_len, carry_cap;

    pk_val result;
    size_t held, peak;

    const char *const *stream_keys;
    pk_stream_fn stream_fn;
    pk_stream_fn stream_prefetch;
    void *stream_ctx;
};

void pk_fail(struct pk_vm *vm, const char *fmt, ...)
{
    if (vm->status == PK_ERROR)
        return;
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof(vm->err) - 8];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(vm->err, sizeof(vm->err), "pickle: %s", msg);
    vm->status = PK_ERROR;
}

static bool charge(struct pk_vm *vm, size_t n)
{
    if (n > vm->lim.max_alloc || vm->held > vm->lim.max_alloc - n) {
        pk_fail(vm, "more than %zu MiB of data (limit)", vm->lim.max_alloc >> 20);
        return false;
    }
    vm->held += n;
    if (vm->held > vm->peak)
        vm->peak = vm->held;
    return true;
}

static void uncharge(struct pk_vm *vm, size_t n) { vm->held = n > vm->held ? 0 : vm->held - n; }

static void *oom(struct pk_vm *vm)
{
    pk_fail(vm, "out of memory");
    return NULL;
}

/* Grow *arr (elements of size esz, capacity *cap) to hold at least need elements. */
static bool grow_array(struct pk_vm *vm, void **arr, uint32_t *cap, size_t need, size_t esz, size_t max)
{
    if (need <= *cap)
        return true;
    if (need > max)
        return false;
    size_t ncap = *cap ? (size_t)*cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > max)
        ncap = max;
    if (!charge(vm, (ncap - *cap) * esz))
        return false;
    void *p = realloc(*arr, ncap * esz);
    if (p == NULL) {
        oom(vm);
        return false;
    }
    hugepage_hint(p, ncap * esz);
    *arr = p;
    *cap = (uint32_t)ncap;
    return true;
}

/* ---- nodes -------------------------------------------------------------------------- */

static struct pk_node *deref(const struct pk_vm *vm, pk_val v)
{
    if (vtag(v) != TAG_REF)
        return NULL;
    uint32_t i = ref_idx(v);
    if (i == 0 || i >= vm->nnodes)
        return NULL;
    struct pk_node *n = &vm->nodes[i];
    if (n->type == PK_T_NULL || (n->gen & GEN_MASK) != ref_gen(v))
        return NULL;
    return n;
}

static pk_val node_new(struct pk_vm *vm, uint8_t type, struct pk_node **out)
{
    uint32_t i;
    if (vm->free_node != 0) {
        i = vm->free_node;
        vm->free_node = vm->nodes[i].u.next_free;
    } else {
        if (vm->nnodes == vm->nodes_cap) {
            void *arr = vm->nodes;
            if (!grow_array(vm, &arr, &vm->nodes_cap, (size_t)vm->nnodes + 1, sizeof(struct pk_node),
                            (size_t)UINT32_MAX >> 1)) {
                vm->nodes = arr;
                if (vm->status != PK_ERROR)
                    pk_fail(vm, "too many values");
                return PK_NULL;
            }
            vm->nodes = arr;
        }
        i = vm->nnodes++;
        vm->nodes[i].gen = 0;
    }
    struct pk_node *n = &vm->nodes[i];
    uint32_t gen = n->gen & GEN_MASK;
    memset(&n->u, 0, sizeof(n->u));
    n->type = type;
    n->flags = 0;
    n->depth = 0;
    *out = n;
    bool mut = type == PK_T_LIST || type == PK_T_DICT || type == PK_T_SET || type == PK_T_OBJ;
    return mk_ref(i, gen, 0, mut);
}

/* ---- item blocks ------------------------------------------------------------------ */

static unsigned class_of(uint32_t cap)
{
    unsigned c = 0;
    while (((uint32_t)1 << c) < cap)
        c++;
    return c;
}

static pk_val *items_alloc(struct pk_vm *vm, uint32_t want, uint32_t *cap_out)
{
    if (want == 0) {
        *cap_out = 0;
        return NULL;
    }
    unsigned c = class_of(want);
    if (c >= NCLASS) {
        size_t bytes = (size_t)want * sizeof(pk_val);
        if (!charge(vm, bytes))
            return NULL;
        pk_val *p = malloc(bytes);
        if (p == NULL)
            return oom(vm);
        *cap_out = want;
        return p;
    }
    uint32_t cap = (uint32_t)1 << c;
    size_t bytes = (size_t)cap * sizeof(pk_val);
    *cap_out = cap;
    if (vm->item_free[c] != NULL) {
        pk_val *p = vm->item_free[c];
        memcpy(&vm->item_free[c], p, sizeof(void *));
        return p;
    }
    struct chunk *s = vm->slabs;
    if (s == NULL || s->cap - s->used < bytes) {
        if (!charge(vm, SLAB_SIZE))
            return NULL;
        s = malloc(sizeof(struct chunk) + SLAB_SIZE);
        if (s == NULL)
            return oom(vm);
        s->cap = SLAB_SIZE;
        s->used = 0;
        s->next = vm->slabs;
        vm->slabs = s;
    }
    pk_val *p = (pk_val *)((char *)(s + 1) + s->used);
    s->used += bytes;
    return p;
}

static void items_free(struct pk_vm *vm, pk_val *p, uint32_t cap)
{
    if (p == NULL || cap == 0)
        return;
    unsigned c = class_of(cap);
    if (c >= NCLASS || ((uint32_t)1 << c) != cap) {
        uncharge(vm, (size_t)cap * sizeof(pk_val));
        free(p);
        return;
    }
    memcpy(p, &vm->item_free[c], sizeof(void *));
    vm->item_free[c] = p;
}

static uint16_t depth_of(const struct pk_vm *vm, pk_val v)
{
    if (vtag(v) != TAG_REF)
        return 0;
    if (!ref_mut(v))
        return (uint16_t)ref_depth(v);
    const struct pk_node *n = deref(vm, v);
    return n ? n->depth : 0;
}

static bool depth_ok(struct pk_vm *vm, struct pk_node *n, pk_val child)
{
    uint32_t d = (uint32_t)depth_of(vm, child) + 1;
    if (d > vm->lim.max_depth) {
        pk_fail(vm, "nesting deeper than %u levels", vm->lim.max_depth);
        return false;
    }
    if (d > n->depth)
        n->depth = (uint16_t)d;
    return true;
}

/* A container of type t holding vals[0..n). */
static pk_val container_new(struct pk_vm *vm, uint8_t t, const pk_val *vals, uint32_t n)
{
    struct pk_node *node;
    pk_val v = node_new(vm, t, &node);
    if (v == PK_NULL)
        return PK_NULL;
    node->depth = 1;
    if (n > 0) {
        uint32_t cap;
        pk_val *items = items_alloc(vm, n, &cap);
        if (items == NULL)
            return PK_NULL;
        node = deref(vm, v);
        memcpy(items, vals, (size_t)n * sizeof(pk_val));
        node->u.c.items = items;
        node->u.c.len = n;
        node->u.c.cap = cap;
        for (uint32_t i = 0; i < n; i++)
            if (!depth_ok(vm, node, vals[i]))
                return PK_NULL;
    }
    if (t == PK_T_TUPLE)
        v = mk_ref(ref_idx(v), ref_gen(v), node->depth, false);
    return v;
}

/* Append vals[0..n) to container node n (list, set, dict). */
static bool container_add(struct pk_vm *vm, pk_val target, const pk_val *vals, uint32_t n)
{
    struct pk_node *node = deref(vm, target);
    if (node == NULL)
        return false;
    uint32_t need = node->u.c.len + n;
    if (need < node->u.c.len) {
        pk_fail(vm, "container too large");
        return false;
    }
    if (need > node->u.c.cap) {
        uint32_t want = node->u.c.cap ? node->u.c.cap : 4;
        while (want < need)
            want = want > UINT32_MAX / 2 ? need : want * 2;
        uint32_t cap;
        pk_val *items = items_alloc(vm, want, &cap);
        if (items == NULL)
            return false;
        node = deref(vm, target);
        if (node->u.c.len)
            memcpy(items, node->u.c.items, (size_t)node->u.c.len * sizeof(pk_val));
        items_free(vm, node->u.c.items, node->u.c.cap);
        node->u.c.items = items;
        node->u.c.cap = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!depth_ok(vm, node, vals[i]))
            return false;
        node->u.c.items[node->u.c.len++] = vals[i];
    }
    return true;
}

void pk_release(struct pk_vm *vm, pk_val v)
{
    struct pk_node *n = deref(vm, v);
    if (n == NULL)
        return;
    if (n->type == PK_T_TUPLE || n->type == PK_T_LIST || n->type == PK_T_DICT || n->type == PK_T_SET)
        items_free(vm, n->u.c.items, n->u.c.cap);
    if (n->type == PK_T_TUPLE && n->u.c.memo != 0 && n->u.c.memo - 1 < vm->memo_cap &&
        vm->memo[n->u.c.memo - 1] == v)
        vm->memo[n->u.c.memo - 1] = imm(IMM_CONSUMED);
    n->type = PK_T_NULL;
    n->gen = (n->gen + 1) & GEN_MASK;
    n->u.next_free = vm->free_node;
    vm->free_node = ref_idx(v);
}

/* ---- strings ---------------------------------------------------------------------- */

static pk_val string_new(struct pk_vm *vm, uint8_t type, const uint8_t *p, size_t n)
{
    struct chunk *c = vm->strings;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > SLAB_SIZE ? n : SLAB_SIZE;
        if (!charge(vm, cap))
            return PK_NULL;
        c = malloc(sizeof(struct chunk) + cap);
        if (c == NULL) {
            oom(vm);
            return PK_NULL;
        }
        c->cap = cap;
        c->used = 0;
        c->next = vm->strings;
        vm->strings = c;
    }
    char *dst = (char *)(c + 1) + c->used;
    if (n)
        memcpy(dst, p, n);
    c->used += n;
    struct pk_node *node;
    pk_val v = node_new(vm, type, &node);
    if (v == PK_NULL)
        return PK_NULL;
    node->u.s.p = dst;
    node->u.s.len = (uint32_t)n;
    node->u.s.hash = 0;
    return v;
}

/* ---- the stack -------------------------------------------------------------------- */

static uint32_t base(const struct pk_vm *vm) { return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0; }

static bool push(struct pk_vm *vm, pk_val v)
{
    if (v == PK_NULL)
        return false; /* the error is already set */
    if (vm->sp == vm->stack_cap) {
        void *arr = vm->stack;
        if (!grow_array(vm, &arr, &vm->stack_cap, (size_t)vm->sp + 1, sizeof(pk_val), vm->lim.max_stack)) {
            vm->stack = arr;
            pk_fail(vm, "more than %u values on the stack", vm->lim.max_stack);
            return false;
        }
        vm->stack = arr;
    }
    vm->stack[vm->sp++] = v;
    return true;
}

static bool need_items(struct pk_vm *vm, uint32_t n, const char *op)
{
    if (vm->sp - base(vm) < n) {
        pk_fail(vm, "stack underflow at %s", op);
        return false;
    }
    return true;
}

static pk_val pop(struct pk_vm *vm) { return vm->stack[--vm->sp]; }

/* The stack from index i (NULL when nothing was ever pushed: no arithmetic on NULL). */
static pk_val *stack_at(struct pk_vm *vm, uint32_t i) { return vm->stack ? vm->stack + i : NULL; }

/* Pop to the last MARK: *first is the index of the first item, *n their count. */
static bool pop_mark(struct pk_vm *vm, uint32_t *first, uint32_t *n, const char *op)
{
    if (vm->nmarks == 0) {
        pk_fail(vm, "%s without MARK", op);
        return false;
    }
    uint32_t m = vm->marks[--vm->nmarks];
    *first = m;
    *n = vm->sp - m;
    vm->sp = m;
    return true;
}

/* ---- globals ---------------------------------------------------------------------- */

static const struct {
    const char *module, *name;
    enum pk_global g;
} allowed[] = {
    {"tracemalloc", "Snapshot", PKG_SNAPSHOT},
    {"tracemalloc", "_Traces", PKG_TRACES},
    {"tracemalloc", "Trace", PKG_TRACE},
    {"tracemalloc", "Traceback", PKG_TRACEBACK},
    {"tracemalloc", "Frame", PKG_FRAME},
    {"tracemalloc", "Statistic", PKG_STATISTIC},
    {"tracemalloc", "StatisticDiff", PKG_STATDIFF},
    {"builtins", "tuple", PKG_TUPLE},
    {"builtins", "list", PKG_LIST},
    {"builtins", "dict", PKG_DICT},
    {"builtins", "set", PKG_SET},
    {"builtins", "frozenset", PKG_FROZENSET},
    /* Protocol 2 pickles written with fix_imports name Python 2's module. */
    {"__builtin__", "tuple", PKG_TUPLE},
    {"__builtin__", "list", PKG_LIST},
    {"__builtin__", "dict", PKG_DICT},
    {"__builtin__", "set", PKG_SET},
    {"__builtin__", "frozenset", PKG_FROZENSET},
};

const char *pk_global_name(enum pk_global g)
{
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (allowed[i].g == g)
            return allowed[i].name;
    return "?";
}

static bool name_is(const uint8_t *p, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

/* Printable text of a hostile name for the message. */
static void printable(const uint8_t *p, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < outsz; i++)
        out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    if (n > 0 && o + 4 >= outsz) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o] = '\0';
}

static pk_val global_of(struct pk_vm *vm, const uint8_t *mod, size_t ml, const uint8_t *name, size_t nl)
{
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (name_is(mod, ml, allowed[i].module) && name_is(name, nl, allowed[i].name))
            return imm(IMM_GLOBAL0 + allowed[i].g);
    char m[64], n[64];
    printable(mod, ml, m, sizeof(m));
    printable(name, nl, n, sizeof(n));
    pk_fail(vm, "global %s.%s refused", m, n);
    return PK_NULL;
}

static enum pk_global global_id(pk_val v)
{
    if (vtag(v) != TAG_IMM || imm_code(v) < IMM_GLOBAL0 || imm_code(v) >= IMM_GLOBAL0 + PKG_COUNT)
        return PKG_NONE;
    return (enum pk_global)(imm_code(v) - IMM_GLOBAL0);
}

/* cls(args) for NEWOBJ and REDUCE: a record for tracemalloc classes, a container for
 * the builtins. Nothing is called. */
static pk_val instantiate(struct pk_vm *vm, pk_val cls, pk_val args, const char *op)
{
    enum pk_global g = global_id(cls);
    if (g == PKG_NONE) {
        pk_fail(vm, "%s on something that is not an allowed class", op);
        return PK_NULL;
    }
    const struct pk_node *a = deref(vm, args);
    if (a == NULL || a->type != PK_T_TUPLE) {
        pk_fail(vm, "%s arguments are not a tuple", op);
        return PK_NULL;
    }
    if (g >= PKG_TUPLE) {
        uint8_t t = g == PKG_TUPLE ? PK_T_TUPLE : g == PKG_LIST ? PK_T_LIST : g == PKG_DICT ? PK_T_DICT : PK_T_SET;
        if (a->u.c.len == 0)
            return container_new(vm, t, NULL, 0);
        const struct pk_node *src = a->u.c.len == 1 ? deref(vm, a->u.c.items[0]) : NULL;
        if (g != PKG_DICT && src != NULL &&
            (src->type == PK_T_TUPLE || src->type == PK_T_LIST || src->type == PK_T_SET)) {
            /* copy: the source's items may move when the new node is made */
            uint32_t n = src->u.c.len;
            pk_val srcv = a->u.c.items[0];
            pk_val v = container_new(vm, t, NULL, 0);
            if (v == PK_NULL)
                return PK_NULL;
            src = deref(vm, srcv);
            if (src == NULL || n == 0)
                return v;
            pk_val tmp[64];
            for (uint32_t i = 0; i < n; i += 64) {
                uint32_t k = n - i < 64 ? n - i : 64;
                src = deref(vm, srcv);
                if (src == NULL || src->u.c.len < i + k)
                    break;
                memcpy(tmp, src->u.c.items + i, k * sizeof(pk_val));
                if (!container_add(vm, v, tmp, k))
                    return PK_NULL;
            }
            return v;
        }
        pk_fail(vm, "cannot build builtins.%s from these arguments", pk_global_name(g));
        return PK_NULL;
    }
    struct pk_node *node;
    pk_val v = node_new(vm, PK_T_OBJ, &node);
    if (v == PK_NULL)
        return PK_NULL;
    node->u.o.cls = g;
    node->u.o.args = args;
    node->u.o.state = PK_NULL;
    node->depth = 1;
    if (!depth_ok(vm, node, args))
        return PK_NULL;
    return v;
}

/* ---- opcodes ---------------------------------------------------------------------- */

enum op {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
    OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V',
    OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
    OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_OBJ = 'o', OP_PUT = 'p',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G', OP_BINBYTES = 'B',
    OP_SHORT_BINBYTES = 'C',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_EXT1 = 0x82, OP_EXT2 = 0x83, OP_EXT4 = 0x84,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88,
    OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b, OP_SHORT_BINUNICODE = 0x8c,
    OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e, OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90,
    OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92, OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94,
    OP_FRAME = 0x95, OP_BYTEARRAY8 = 0x96, OP_NEXT_BUFFER = 0x97, OP_READONLY_BUFFER = 0x98,
};

static const char *refused_name(unsigned op)
{
    switch (op) {
    case OP_FLOAT: return "FLOAT (protocol 0)";
    case OP_INT: return "INT (protocol 0)";
    case OP_LONG: return "LONG (protocol 0)";
    case OP_STRING: return "STRING (protocol 0)";
    case OP_UNICODE: return "UNICODE (protocol 0)";
    case OP_GET: return "GET (protocol 0)";
    case OP_PUT: return "PUT (protocol 0)";
    case OP_INST: return "INST";
    case OP_OBJ: return "OBJ";
    case OP_PERSID: return "PERSID";
    case OP_BINPERSID: return "BINPERSID";
    case OP_EXT1: return "EXT1";
    case OP_EXT2: return "EXT2";
    case OP_EXT4: return "EXT4";
    case OP_NEXT_BUFFER: return "NEXT_BUFFER";
    case OP_READONLY_BUFFER: return "READONLY_BUFFER";
    default: return NULL;
    }
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Bytes the opcode at p needs in all: 0 when p[0..n) is too short to tell, SIZE_MAX
 * when the opcode is refused or a length is over the limit (the error is set). */
static size_t op_size(struct pk_vm *vm, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    unsigned op = p[0];
    size_t hdr = 0, len = 0;
    switch (op) {
    case OP_MARK: case OP_STOP: case OP_POP: case OP_POP_MARK: case OP_DUP: case OP_NONE:
    case OP_NEWTRUE: case OP_NEWFALSE: case OP_EMPTY_TUPLE: case OP_TUPLE: case OP_TUPLE1:
    case OP_TUPLE2: case OP_TUPLE3: case OP_EMPTY_LIST: case OP_APPEND: case OP_APPENDS:
    case OP_LIST: case OP_EMPTY_DICT: case OP_SETITEM: case OP_SETITEMS: case OP_DICT:
    case OP_EMPTY_SET: case OP_ADDITEMS: case OP_FROZENSET: case OP_MEMOIZE:
    case OP_STACK_GLOBAL: case OP_NEWOBJ: case OP_NEWOBJ_EX: case OP_REDUCE: case OP_BUILD:
        return 1;
    case OP_PROTO: case OP_BININT1: case OP_BINPUT: case OP_BINGET:
        return 2;
    case OP_BININT2:
        return 3;
    case OP_BININT: case OP_LONG_BINPUT: case OP_LONG_BINGET:
        return 5;
    case OP_BINFLOAT: case OP_FRAME:
        return 9;
    case OP_LONG1: case OP_SHORT_BINUNICODE: case OP_SHORT_BINBYTES: case OP_SHORT_BINSTRING:
        hdr = 2;
        if (n < 2)
            return 0;
        len = p[1];
        break;
    case OP_LONG4: case OP_BINUNICODE: case OP_BINBYTES: case OP_BINSTRING:
        hdr = 5;
        if (n < 5)
            return 0;
        len = (size_t)le(p + 1, 4);
        if (op == OP_LONG4 || op == OP_BINSTRING) {
            if (len & 0x80000000u) {
                pk_fail(vm, "negative length");
                return SIZE_MAX;
            }
        }
        break;
    case OP_BINUNICODE8: case OP_BINBYTES8: case OP_BYTEARRAY8: {
        hdr = 9;
        if (n < 9)
            return 0;
        uint64_t l = le(p + 1, 8);
        if (l > vm->lim.max_string) {
            pk_fail(vm, "string of %llu bytes refused (limit %zu)", (unsigned long long)l, vm->lim.max_string);
            return SIZE_MAX;
        }
        len = (size_t)l;
        break;
    }
    case OP_GLOBAL: {
        /* "c" module "\n" name "\n", each at most 256 bytes */
        size_t nl = 0;
        for (size_t i = 1; i < n && i < 1 + 2 * 257; i++)
            if (p[i] == '\n' && ++nl == 2)
                return i + 1;
        if (n >= 1 + 2 * 257) {
            pk_fail(vm, "GLOBAL name too long");
            return SIZE_MAX;
        }
        return 0;
    }
    default: {
        const char *r = refused_name(op);
        if (r != NULL)
            pk_fail(vm, "opcode %s refused", r);
        else
            pk_fail(vm, "unknown opcode 0x%02x", op);
        return SIZE_MAX;
    }
    }
    if (len > vm->lim.max_string) {
        pk_fail(vm, "%s of %zu bytes refused (limit %zu)", op == OP_LONG1 || op == OP_LONG4 ? "integer" : "string",
                len, vm->lim.max_string);
        return SIZE_MAX;
    }
    return hdr + len;
}

static pk_val int_value(struct pk_vm *vm, int64_t x)
{
    if (x > -SMALL_MAX && x < SMALL_MAX)
        return mk_small(x);
    struct pk_node *node;
    pk_val v = node_new(vm, PK_T_INT, &node);
    if (v != PK_NULL)
        node->u.i = x;
    return v;
}

/* LONG1/LONG4: little-endian two's complement. */
static pk_val long_value(struct pk_vm *vm, const uint8_t *p, size_t n)
{
    if (n == 0)
        return mk_small(0);
    bool neg = (p[n - 1] & 0x80) != 0;
    /* Drop sign-extension bytes beyond 8. */
    size_t k = n;
    while (k > 8 && p[k - 1] == (neg ? 0xff : 0x00))
        k--;
    if (k > 8 || (k == 8 && ((p[7] & 0x80) != 0) != neg)) {
        struct pk_node *node;
        return node_new(vm, PK_T_BIGINT, &node);
    }
    uint64_t u = le(p, (unsigned)k);
    if (neg && k < 8)
        u |= ~(uint64_t)0 << (8 * k);
    return int_value(vm, (int64_t)u);
}

static bool memo_put(struct pk_vm *vm, uint64_t idx)
{
    if (vm->sp == base(vm)) {
        pk_fail(vm, "memo put with an empty stack");
        return false;
    }
    /* Python writes memo indexes in sequence; a sparse one would only make the memo
     * array grow without input to show for it (a memo bomb). */
    if (idx >= vm->lim.max_memo || idx > 2 * (uint64_t)vm->memo_count + 1024) {
        pk_fail(vm, "memo index %llu refused (%u entries so far, limit %u)", (unsigned long long)idx,
                vm->memo_count, vm->lim.max_memo);
        return false;
    }
    if (idx >= vm->memo_cap) {
        uint32_t old = vm->memo_cap;
        void *arr = vm->memo;
        if (!grow_array(vm, &arr, &vm->memo_cap, (size_t)idx + 1, sizeof(pk_val), vm->lim.max_memo)) {
            vm->memo = arr;
            if (vm->status != PK_ERROR)
                pk_fail(vm, "memo too large");
            return false;
        }
        vm->memo = arr;
        memset(vm->memo + old, 0, (size_t)(vm->memo_cap - old) * sizeof(pk_val));
    }
    if (vm->memo[idx] == PK_NULL)
        vm->memo_count++;
    pk_val v = vm->stack[vm->sp - 1];
    vm->memo[idx] = v;
    /* A tuple remembers where it was memoized, so releasing it (a consumed trace)
     * can leave a tombstone there: memo_get then needs no look at the node. */
    struct pk_node *n = deref(vm, v);
    if (n != NULL && n->type == PK_T_TUPLE && idx < UINT32_MAX)
        n->u.c.memo = (uint32_t)idx + 1;
    return true;
}

static bool memo_get(struct pk_vm *vm, uint64_t idx)
{
    if (idx >= vm->memo_cap || vm->memo[idx] == PK_NULL) {
        pk_fail(vm, "memo key %llu missing", (unsigned long long)idx);
        return false;
    }
    pk_val v = vm->memo[idx];
    if (v == imm(IMM_CONSUMED)) {
        pk_fail(vm, "memo key %llu refers to a consumed trace", (unsigned long long)idx);
        return false;
    }
    /* Any other stale reference (a tuple memoized twice, then consumed) reads as no
     * value wherever it is used: every accessor checks the generation. */
    return push(vm, v);
}

static bool is_stream_key(const struct pk_vm *vm, pk_val v)
{
    if (vm->stream_keys == NULL)
        return false;
    for (size_t i = 0; vm->stream_keys[i] != NULL; i++)
        if (pk_str_eq(vm, v, vm->stream_keys[i]))
            return true;
    return false;
}

/* APPEND/APPENDS/ADDITEMS/SETITEMS: vals[0..n) into the container at the stack top. */
static bool add_to_top(struct pk_vm *vm, uint32_t first, uint32_t n, uint8_t want, const char *op)
{
    if (vm->sp == base(vm)) {
        pk_fail(vm, "stack underflow at %s", op);
        return false;
    }
    pk_val target = vm->stack[vm->sp - 1];
    struct pk_node *t = deref(vm, target);
    if (t == NULL || t->type != want) {
        pk_fail(vm, "%s on something that is not a %s", op,
                want == PK_T_LIST ? "list" : want == PK_T_DICT ? "dict" : "set");
        return false;
    }
    if (want == PK_T_DICT && n % 2 != 0) {
        pk_fail(vm, "%s with an odd number of items", op);
        return false;
    }
    if (!(t->flags & NF_STREAMED) || vm->stream_fn == NULL)
        return container_add(vm, target, stack_at(vm, first), n);
    /* The items sit above the stack pointer now; callbacks do not push. */
    for (uint32_t i = 0; i < n; i++) {
        pk_val item = vm->stack[first + i];
        if (vm->stream_prefetch != NULL && i + 8 < n)
            vm->stream_prefetch(vm->stream_ctx, vm, vm->stack[first + i + 8]);
        int rc = vm->stream_fn(vm->stream_ctx, vm, item);
        if (rc < 0 || vm->status == PK_ERROR) {
            pk_fail(vm, "a trace could not be read");
            return false;
        }
        if (rc == 1) {
            enum pk_type ty = pk_type(vm, item);
            if (ty == PK_T_TUPLE || ty == PK_T_OBJ)
                pk_release(vm, item);
            continue;
        }
        if (!container_add(vm, target, &item, 1))
            return false;
    }
    return true;
}

static bool exec_op(struct pk_vm *vm, const uint8_t *p, size_t size)
{
    unsigned op = p[0];
    uint32_t first, n;
    switch (op) {
    case OP_PROTO:
        if (p[1] < 2 || p[1] > 5) {
            pk_fail(vm, "protocol %u is not supported (2 to 5 are)", p[1]);
            return false;
        }
        vm->proto = p[1];
        return true;
    case OP_FRAME:
        return true; /* framing is only a read-ahead hint */
    case OP_STOP:
        if (!need_items(vm, 1, "STOP"))
            return false;
        vm->result = vm->stack[vm->sp - 1];
        vm->status = PK_DONE;
        return true;
    case OP_MARK:
        if (vm->nmarks >= vm->lim.max_marks) {
            pk_fail(vm, "more than %u open MARKs", vm->lim.max_marks);
            return false;
        }
        if (vm->nmarks == vm->marks_cap) {
            void *arr = vm->marks;
            if (!grow_array(vm, &arr, &vm->marks_cap, (size_t)vm->nmarks + 1, sizeof(uint32_t), vm->lim.max_marks))
                return false;
            vm->marks = arr;
        }
        vm->marks[vm->nmarks++] = vm->sp;
        return true;
    case OP_POP:
        if (vm->sp > base(vm))
            vm->sp--;
        else if (vm->nmarks > 0)
            vm->nmarks--;
        else {
            pk_fail(vm, "stack underflow at POP");
            return false;
        }
        return true;
    case OP_POP_MARK:
        return pop_mark(vm, &first, &n, "POP_MARK");
    case OP_DUP:
        if (!need_items(vm, 1, "DUP"))
            return false;
        return push(vm, vm->stack[vm->sp - 1]);
    case OP_NONE:
        return push(vm, imm(IMM_NONE));
    case OP_NEWTRUE:
        return push(vm, imm(IMM_TRUE));
    case OP_NEWFALSE:
        return push(vm, imm(IMM_FALSE));
    case OP_BININT:
        return push(vm, int_value(vm, (int32_t)(uint32_t)le(p + 1, 4)));
    case OP_BININT1:
        return push(vm, mk_small(p[1]));
    case OP_BININT2:
        return push(vm, mk_small((int64_t)le(p + 1, 2)));
    case OP_LONG1:
        return push(vm, long_value(vm, p + 2, size - 2));
    case OP_LONG4:
        return push(vm, long_value(vm, p + 5, size - 5));
    case OP_BINFLOAT: {
        uint64_t u = 0;
        for (int i = 1; i <= 8; i++)
            u = (u << 8) | p[i];
        double d;
        memcpy(&d, &u, sizeof(d));
        struct pk_node *node;
        pk_val v = node_new(vm, PK_T_FLOAT, &node);
        if (v != PK_NULL)
            node->u.f = d;
        return push(vm, v);
    }
    case OP_SHORT_BINUNICODE: case OP_SHORT_BINSTRING:
        return push(vm, string_new(vm, PK_T_STR, p + 2, size - 2));
    case OP_BINUNICODE: case OP_BINSTRING:
        return push(vm, string_new(vm, PK_T_STR, p + 5, size - 5));
    case OP_BINUNICODE8:
        return push(vm, string_new(vm, PK_T_STR, p + 9, size - 9));
    case OP_SHORT_BINBYTES:
        return push(vm, string_new(vm, PK_T_BYTES, p + 2, size - 2));
    case OP_BINBYTES:
        return push(vm, string_new(vm, PK_T_BYTES, p + 5, size - 5));
    case OP_BINBYTES8: case OP_BYTEARRAY8:
        return push(vm, string_new(vm, PK_T_BYTES, p + 9, size - 9));
    case OP_EMPTY_TUPLE:
        return push(vm, container_new(vm, PK_T_TUPLE, NULL, 0));
    case OP_TUPLE1: case OP_TUPLE2: case OP_TUPLE3: {
        uint32_t k = op - OP_TUPLE1 + 1;
        if (!need_items(vm, k, "TUPLE"))
            return false;
        vm->sp -= k;
        return push(vm, container_new(vm, PK_T_TUPLE, stack_at(vm, vm->sp), k));
    }
    case OP_TUPLE:
        if (!pop_mark(vm, &first, &n, "TUPLE"))
            return false;
        return push(vm, container_new(vm, PK_T_TUPLE, stack_at(vm, first), n));
    case OP_EMPTY_LIST: {
        bool streamed = vm->sp > base(vm) && is_stream_key(vm, vm->stack[vm->sp - 1]);
        pk_val v = container_new(vm, PK_T_LIST, NULL, 0);
        struct pk_node *node = deref(vm, v);
        if (node != NULL && streamed)
            node->flags |= NF_STREAMED;
        return push(vm, v);
    }
    case OP_LIST:
        if (!pop_mark(vm, &first, &n, "LIST"))
            return false;
        return push(vm, container_new(vm, PK_T_LIST, stack_at(vm, first), n));
    case OP_APPEND:
        if (!need_items(vm, 2, "APPEND"))
            return false;
        vm->sp--;
        return add_to_top(vm, vm->sp, 1, PK_T_LIST, "APPEND");
    case OP_APPENDS:
        if (!pop_mark(vm, &first, &n, "APPENDS"))
            return false;
        return add_to_top(vm, first, n, PK_T_LIST, "APPENDS");
    case OP_EMPTY_DICT:
        return push(vm, container_new(vm, PK_T_DICT, NULL, 0));
    case OP_DICT:
        if (!pop_mark(vm, &first, &n, "DICT"))
            return false;
        if (n % 2 != 0) {
            pk_fail(vm, "DICT with an odd number of items");
            return false;
        }
        return push(vm, container_new(vm, PK_T_DICT, stack_at(vm, first), n));
    case OP_SETITEM:
        if (!need_items(vm, 3, "SETITEM"))
            return false;
        vm->sp -= 2;
        return add_to_top(vm, vm->sp, 2, PK_T_DICT, "SETITEM");
    case OP_SETITEMS:
        if (!pop_mark(vm, &first, &n, "SETITEMS"))
            return false;
        return add_to_top(vm, first, n, PK_T_DICT, "SETITEMS");
    case OP_EMPTY_SET:
        return push(vm, container_new(vm, PK_T_SET, NULL, 0));
    case OP_ADDITEMS:
        if (!pop_mark(vm, &first, &n, "ADDITEMS"))
            return false;
        return add_to_top(vm, first, n, PK_T_SET, "ADDITEMS");
    case OP_FROZENSET:
        if (!pop_mark(vm, &first, &n, "FROZENSET"))
            return false;
        return push(vm, container_new(vm, PK_T_SET, stack_at(vm, first), n));
    case OP_BINPUT:
        return memo_put(vm, p[1]);
    case OP_LONG_BINPUT:
        return memo_put(vm, le(p + 1, 4));
    case OP_MEMOIZE:
        return memo_put(vm, vm->memo_count);
    case OP_BINGET:
        return memo_get(vm, p[1]);
    case OP_LONG_BINGET:
        return memo_get(vm, le(p + 1, 4));
    case OP_GLOBAL: {
        const uint8_t *mod = p + 1;
        const uint8_t *nl = memchr(mod, '\n', size - 1);
        const uint8_t *name = nl + 1;
        size_t namelen = (size_t)(p + size - 1 - name);
        return push(vm, global_of(vm, mod, (size_t)(nl - mod), name, namelen));
    }
    case OP_STACK_GLOBAL: {
        if (!need_items(vm, 2, "STACK_GLOBAL"))
            return false;
        pk_val name = pop(vm), mod = pop(vm);
        ev_str m, nm;
        if (pk_type(vm, mod) != PK_T_STR || pk_type(vm, name) != PK_T_STR || !pk_str(vm, mod, &m) ||
            !pk_str(vm, name, &nm)) {
            pk_fail(vm, "STACK_GLOBAL of something that is not a name");
            return false;
        }
        return push(vm, global_of(vm, (const uint8_t *)m.ptr, m.len, (const uint8_t *)nm.ptr, nm.len));
    }
    case OP_NEWOBJ: {
        if (!need_items(vm, 2, "NEWOBJ"))
            return false;
        pk_val args = pop(vm), cls = pop(vm);
        return push(vm, instantiate(vm, cls, args, "NEWOBJ"));
    }
    case OP_NEWOBJ_EX: {
        if (!need_items(vm, 3, "NEWOBJ_EX"))
            return false;
        pk_val kw = pop(vm), args = pop(vm), cls = pop(vm);
        if (pk_type(vm, kw) != PK_T_DICT || pk_len(vm, kw) != 0) {
            pk_fail(vm, "NEWOBJ_EX with keyword arguments refused");
            return false;
        }
        return push(vm, instantiate(vm, cls, args, "NEWOBJ_EX"));
    }
    case OP_REDUCE: {
        if (!need_items(vm, 2, "REDUCE"))
            return false;
        pk_val args = pop(vm), fn = pop(vm);
        return push(vm, instantiate(vm, fn, args, "REDUCE"));
    }
    case OP_BUILD: {
        if (!need_items(vm, 2, "BUILD"))
            return false;
        pk_val state = pop(vm);
        struct pk_node *o = deref(vm, vm->stack[vm->sp - 1]);
        if (o == NULL || o->type != PK_T_OBJ) {
            pk_fail(vm, "BUILD on something that is not an instance of an allowed class");
            return false;
        }
        o->u.o.state = state;
        return depth_ok(vm, o, state);
    }
    default:
        pk_fail(vm, "unknown opcode 0x%02x", op);
        return false;
    }
}

/* ---- feeding ---------------------------------------------------------------------- */

static bool carry_reserve(struct pk_vm *vm, size_t need)
{
    if (need <= vm->carry_cap)
        return true;
    size_t cap = vm->carry_cap ? vm->carry_cap : 64;
    while (cap < need)
        cap *= 2;
    if (!charge(vm, cap - vm->carry_cap))
        return false;
    uint8_t *c = realloc(vm->carry, cap);
    if (c == NULL) {
        oom(vm);
        return false;
    }
    vm->carry = c;
    vm->carry_cap = cap;
    return true;
}

/* Run one opcode of size bytes at p. */
static bool run_one(struct pk_vm *vm, const uint8_t *p, size_t size)
{
    if (vm->proto == 0 && p[0] != OP_PROTO) {
        pk_fail(vm, "not a pickle of protocol 2 or later (no PROTO opcode first)");
        return false;
    }
    if (!exec_op(vm, p, size)) {
        if (vm->status != PK_ERROR)
            pk_fail(vm, "out of memory");
        return false;
    }
    vm->off += size;
    return true;
}

/* The length of the opcode at p when it is cheap to tell and valid, else 0. Used only
 * to look ahead (no errors are raised here; op_size judges when the op is run). */
static size_t peek_size(const uint8_t *p, size_t n)
{
    switch (p[0]) {
    case OP_MARK: case OP_POP: case OP_EMPTY_TUPLE: case OP_TUPLE: case OP_TUPLE1: case OP_TUPLE2:
    case OP_TUPLE3: case OP_EMPTY_LIST: case OP_APPENDS: case OP_MEMOIZE: case OP_NONE:
        return 1;
    case OP_BININT1: case OP_BINGET: case OP_BINPUT:
        return 2;
    case OP_BININT2:
        return 3;
    case OP_BININT: case OP_LONG_BINGET: case OP_LONG_BINPUT:
        return 5;
    case OP_LONG1: case OP_SHORT_BINUNICODE:
        return n >= 2 ? 2 + (size_t)p[1] : 0;
    case OP_BINUNICODE:
        return n >= 5 ? 5 + (size_t)le(p + 1, 4) : 0;
    default:
        return 0;
    }
}

/* Prefetch the memo slots the BINGETs of the next bytes will read: a dump's tracebacks
 * are fetched from all over a memo of millions of entries, one cache miss each. */
static const uint8_t *look_ahead(const struct pk_vm *vm, const uint8_t *ahead, const uint8_t *end,
                                 const uint8_t *limit)
{
    while (ahead < end && ahead < limit) {
        size_t k = peek_size(ahead, (size_t)(end - ahead));
        if (k == 0 || k > (size_t)(end - ahead))
            return end; /* not a simple op: stop looking in this chunk */
        uint64_t idx = ahead[0] == OP_BINGET ? ahead[1] : ahead[0] == OP_LONG_BINGET ? le(ahead + 1, 4) : UINT64_MAX;
        if (idx < vm->memo_cap)
            __builtin_prefetch(&vm->memo[idx]);
        ahead += k;
    }
    return ahead;
}

#define LOOKAHEAD 256

int pk_feed(struct pk_vm *vm, const void *buf, size_t len)
{
    const uint8_t *in = buf, *end = in + len, *ahead = in;
    while (vm->status == PK_MORE) {
        if (vm->carry_len > 0) {
            size_t need = op_size(vm, vm->carry, vm->carry_len);
            if (need == SIZE_MAX)
                break;
            if (need != 0 && vm->carry_len >= need) {
                if (!run_one(vm, vm->carry, need))
                    break;
                memmove(vm->carry, vm->carry + need, vm->carry_len - need);
                vm->carry_len -= need;
                continue;
            }
            if (len == 0)
                return PK_MORE;
            size_t want = need ? need - vm->carry_len : 16;
            if (want > len)
                want = len;
            if (!carry_reserve(vm, vm->carry_len + want))
                break;
            memcpy(vm->carry + vm->carry_len, in, want);
            vm->carry_len += want;
            in += want;
            len -= want;
            continue;
        }
        if (len == 0)
            return PK_MORE;
        size_t need = op_size(vm, in, len);
        if (need == SIZE_MAX)
            break;
        if (need == 0 || need > len) {
            if (!carry_reserve(vm, len > CARRY_EXTRA ? len : CARRY_EXTRA))
                break;
            memcpy(vm->carry, in, len);
            vm->carry_len = len;
            return PK_MORE;
        }
        if (ahead < in)
            ahead = in; /* resynchronized on an opcode boundary */
        if (ahead - in < LOOKAHEAD / 2)
            ahead = look_ahead(vm, ahead, end, in + LOOKAHEAD);
        if (!run_one(vm, in, need))
            break;
        in += need;
        len -= need;
    }
    if (vm->status == PK_ERROR && vm->err_off == 0)
        vm->err_off = vm->off;
    return vm->status;
}

int pk_finish(struct pk_vm *vm)
{
    if (vm->status == PK_MORE) {
        pk_fail(vm, vm->off == 0 && vm->carry_len == 0 ? "empty input" : "truncated: no STOP opcode");
        vm->err_off = vm->off;
    }
    return vm->status;
}

/* ---- life cycle ------------------------------------------------------------------- */

struct pk_vm *pk_create(const struct pk_limits *lim)
{
    struct pk_vm *vm = calloc(1, sizeof(*vm));
    if (vm == NULL)
        return NULL;
    vm->lim = lim ? *lim : pk_limits_default;
    if (vm->lim.max_depth > DEPTH_MAX)
        vm->lim.max_depth = DEPTH_MAX;
    vm->nnodes = 1; /* index 0 is "no value" */
    vm->nodes = calloc(64, sizeof(*vm->nodes));
    if (vm->nodes == NULL) {
        free(vm);
        return NULL;
    }
    vm->nodes_cap = 64;
    vm->held = 64 * sizeof(*vm->nodes);
    return vm;
}

static void free_chunks(struct chunk *c)
{
    while (c != NULL) {
        struct chunk *nx = c->next;
        free(c);
        c = nx;
    }
}

void pk_destroy(struct pk_vm *vm)
{
    if (vm == NULL)
        return;
    /* Big item blocks were malloc'ed one by one; small ones live in slabs. */
    for (uint32_t i = 1; i < vm->nnodes; i++) {
        struct pk_node *n = &vm->nodes[i];
        if ((n->type == PK_T_TUPLE || n->type == PK_T_LIST || n->type == PK_T_DICT || n->type == PK_T_SET) &&
            n->u.c.cap > 0 && class_of(n->u.c.cap) >= NCLASS)
            free(n->u.c.items);
    }
    free_chunks(vm->slabs);
    free_chunks(vm->strings);
    free(vm->nodes);
    free(vm->stack);
    free(vm->marks);
    free(vm->memo);
    free(vm->carry);
    free(vm);
}

void pk_set_stream(struct pk_vm *vm, const char *const *keys, pk_stream_fn fn, void *ctx)
{
    vm->stream_keys = keys;
    vm->stream_fn = fn;
    vm->stream_ctx = ctx;
}

void pk_set_stream_prefetch(struct pk_vm *vm, pk_stream_fn prefetch) { vm->stream_prefetch = prefetch; }

const char *pk_error(const struct pk_vm *vm) { return vm->status == PK_ERROR ? vm->err : ""; }
uint64_t pk_error_offset(const struct pk_vm *vm) { return vm->err_off; }
pk_val pk_result(const struct pk_vm *vm) { return vm->status == PK_DONE ? vm->result : PK_NULL; }
int pk_protocol(const struct pk_vm *vm) { return vm->proto; }
size_t pk_bytes_held(const struct pk_vm *vm) { return vm->held; }
size_t pk_bytes_peak(const struct pk_vm *vm) { return vm->peak; }

/* ---- reading values --------------------------------------------------------------- */

enum pk_type pk_type(const struct pk_vm *vm, pk_val v)
{
    switch (vtag(v)) {
    case TAG_INT:
        return PK_T_INT;
    case TAG_IMM:
        switch (imm_code(v)) {
        case IMM_NONE: return PK_T_NONE;
        case IMM_TRUE: case IMM_FALSE: return PK_T_BOOL;
        default: return global_id(v) != PKG_NONE ? PK_T_GLOBAL : PK_T_NULL;
        }
    case TAG_REF: {
        const struct pk_node *n = deref(vm, v);
        return n ? (enum pk_type)n->type : PK_T_NULL;
    }
    default:
        return PK_T_NULL;
    }
}

bool pk_int(const struct pk_vm *vm, pk_val v, int64_t *out)
{
    if (vtag(v) == TAG_INT) {
        *out = small_of(v);
        return true;
    }
    if (vtag(v) == TAG_IMM && (imm_code(v) == IMM_TRUE || imm_code(v) == IMM_FALSE)) {
        *out = imm_code(v) == IMM_TRUE;
        return true;
    }
    const struct pk_node *n = deref(vm, v);
    if (n == NULL || n->type != PK_T_INT)
        return false;
    *out = n->u.i;
    return true;
}

bool pk_float(const struct pk_vm *vm, pk_val v, double *out)
{
    int64_t i;
    if (pk_int(vm, v, &i)) {
        *out = (double)i;
        return true;
    }
    const struct pk_node *n = deref(vm, v);
    if (n == NULL || n->type != PK_T_FLOAT)
        return false;
    *out = n->u.f;
    return true;
}

bool pk_str(const struct pk_vm *vm, pk_val v, ev_str *out)
{
    const struct pk_node *n = deref(vm, v);
    if (n == NULL || (n->type != PK_T_STR && n->type != PK_T_BYTES))
        return false;
    *out = ev_str_make(n->u.s.p, n->u.s.len);
    return true;
}

bool pk_str_eq(const struct pk_vm *vm, pk_val v, const char *lit)
{
    const struct pk_node *n = deref(vm, v);
    if (n == NULL || n->type != PK_T_STR)
        return false;
    size_t l = strlen(lit);
    return n->u.s.len == l && memcmp(n->u.s.p, lit, l) == 0;
}

uint64_t pk_str_hash(struct pk_vm *vm, pk_val v)
{
    struct pk_node *n = deref(vm, v);
    if (n == NULL || (n->type != PK_T_STR && n->type != PK_T_BYTES))
        return 0;
    if (n->u.s.hash == 0) {
        uint64_t h = hash_bytes(HASH_INIT, n->u.s.p, n->u.s.len);
        n->u.s.hash = (uint32_t)(h ^ (h >> 32)) | 1u;
    }
    return n->u.s.hash;
}

uint32_t pk_len(const struct pk_vm *vm, pk_val v)
{
    const struct pk_node *n = deref(vm, v);
    if (n == NULL || !(n->type == PK_T_TUPLE || n->type == PK_T_LIST || n->type == PK_T_DICT || n->type == PK_T_SET))
        return 0;
    return n->u.c.len;
}

pk_val pk_item(const struct pk_vm *vm, pk_val v, uint32_t i)
{
    const struct pk_node *n = deref(vm, v);
    if (n == NULL || !(n->type == PK_T_TUPLE || n->type == PK_T_LIST || n->type == PK_T_DICT || n->type == PK_T_SET) ||
        i >= n->u.c.len)
        return PK_NULL;
    return n->u.c.items[i];
}

pk_val pk_dict_get(const struct pk_vm *vm, pk_val dict, const char *key)
{
    const struct pk_node *n = deref(vm, dict);
    if (n == NULL || n->type != PK_T_DICT)
        return PK_NULL;
    for (uint32_t i = n->u.c.len; i >= 2; i -= 2)
        if (pk_str_eq(vm, n->u.c.items[i - 2], key))
            return n->u.c.items[i - 1];
    return PK_NULL;
}

enum pk_global pk_obj_class(const struct pk_vm *vm, pk_val v)
{
    if (vtag(v) == TAG_IMM)
        return global_id(v);
    const struct pk_node *n = deref(vm, v);
    return n && n->type == PK_T_OBJ ? (enum pk_global)n->u.o.cls : PKG_NONE;
}

pk_val pk_obj_args(const struct pk_vm *vm, pk_val v)
{
    const struct pk_node *n = deref(vm, v);
    return n && n->type == PK_T_OBJ ? n->u.o.args : PK_NULL;
}

pk_val pk_obj_state(const struct pk_vm *vm, pk_val v)
{
    const struct pk_node *n = deref(vm, v);
    return n && n->type == PK_T_OBJ ? n->u.o.state : PK_NULL;
}
