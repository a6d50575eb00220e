/* fuzz_pickle.c -- libFuzzer target for the safe pickle machine and the tracemalloc
 * dump parser.
 *
 * The whole input is the dump (so the seeds are plain pickle files); a mode derived
 * from its length and middle byte picks the chunk size (so opcodes straddle feeds) and
 * whether the machine runs alone under tight limits. The sink walks every site and
 * frame so that ASan sees a slice pointing outside live memory. Seeds in
 * tests/fuzz/seeds/pickle/ include real dumps of protocols 2 to 5 and crafted hostile
 * pickles (GLOBAL os.system + REDUCE, REDUCE chains, deep nesting, huge lengths, memo
 * bombs), written by tests/fuzz/make_pickle_seeds.py.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "correlate/ev_memory.h"
#include "parsers/parser.h"
#include "parsers/pickle.h"

extern const struct parser parser_tracemalloc;

static volatile unsigned sink_sum;

static void touch(ev_str s)
{
    unsigned h = 0;
    for (uint32_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.ptr[i];
    sink_sum += h;
}

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    const struct ev_snapshot *s = ev_snapshot_of(ev);
    if (s == NULL)
        return 0;
    for (uint32_t i = 0; i < s->nsites; i++) {
        touch(s->sites[i].file);
        sink_sum += (unsigned)s->sites[i].size;
        for (uint32_t k = 0; k < s->sites[i].ntb; k++)
            touch(s->sites[i].tb[k].file);
    }
    return 0;
}

static void diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)ctx;
    (void)stream;
    (void)line;
    sink_sum += (unsigned)strlen(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = (uint8_t)(size * 31u + data[size / 2]);
    const char *in = (const char *)data;
    size_t n = size;
    parser_tracemalloc.bid(in, n, true);

    /* The machine alone, with tight limits: every bound must hold. */
    if (mode & 0x80) {
        struct pk_limits lim = {.max_alloc = 1 << 16, .max_string = 64, .max_depth = 4,
                                .max_memo = 64, .max_stack = 64, .max_marks = 4};
        struct pk_vm *vm = pk_create(&lim);
        if (vm != NULL) {
            pk_feed(vm, in, n);
            pk_finish(vm);
            if (pk_bytes_peak(vm) > lim.max_alloc + 4096)
                __builtin_trap();
            pk_destroy(vm);
        }
        return 0;
    }
    struct parser_env env = {
        .stream = "fuzz",
        .emit = sink,
        .diag = diag,
        .limits = &parse_limits_default,
    };
    void *st = parser_tracemalloc.open(&env);
    if (st == NULL)
        return 0;
    size_t chunk = (size_t)(mode & 0x0f) * 5 + 1;
    if (mode & 0x40)
        chunk = n ? n : 1;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = parser_tracemalloc.feed(st, in + off, n - off < chunk ? n - off : chunk);
    if (rc == 0)
        parser_tracemalloc.finish(st);
    parser_tracemalloc.close(st);
    return 0;
}
