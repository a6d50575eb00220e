/* fuzz_psthreads.c -- libFuzzer target for the ps -T / top -H parser; see fuzz_dump.h. */
#include "fuzz_dump.h"

extern const struct parser parser_psthreads;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_dump_run(&parser_psthreads, data, size); }
