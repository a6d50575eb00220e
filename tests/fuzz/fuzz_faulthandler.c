/* fuzz_faulthandler.c -- libFuzzer target for the faulthandler parser (the text parser with its dump hook); see fuzz_dump.h. */
#include "fuzz_dump.h"

extern const struct parser parser_faulthandler;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_dump_run(&parser_faulthandler, data, size); }
