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
#include "correlate/ev_memory.h"
#include "fuzz_feed.h"
#include "parsers/pickle.h"

extern const struct parser parser_tracemalloc;

static int sink(void *ctx, const struct event *ev)
{
    (void)ctx;
    const struct ev_snapshot *s = ev_snapshot_of(ev);
    if (s == NULL)
        return 0;
    for (uint32_t i = 0; i < s->nsites; i++) {
        fuzz_touch(s->sites[i].file);
        fuzz_sum += (unsigned)s->sites[i].size;
        for (uint32_t k = 0; k < s->sites[i].ntb; k++)
            fuzz_touch(s->sites[i].tb[k].file);
    }
    return 0;
}

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
    struct parser_env env = {.stream = "fuzz", .emit = sink, .diag = fuzz_diag, .limits = &parse_limits_default};
    fuzz_feed(&parser_tracemalloc, &env, in, n, fuzz_chunk(mode, 5, n));
    return 0;
}
