/* fuzz_gdb.c -- libFuzzer target for the gdb output parser; see fuzz_dump.h. */
#include "fuzz_dump.h"

extern const struct parser parser_gdb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_dump_run(&parser_gdb, data, size); }
