/* fuzz_pyspy.c -- libFuzzer target for the py-spy dump parser (text and --json); see fuzz_dump.h. */
#include "fuzz_dump.h"

extern const struct parser parser_pyspy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_dump_run(&parser_pyspy, data, size); }
