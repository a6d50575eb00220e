/* test_jsontok_portable.c -- all of test_jsontok.c again, on the word-at-a-time string
 * scanner that machines without SSE2 use (JT_PORTABLE), so that path is tested on
 * x86-64 too. This binary compiles its own copy of the tokenizer; libpycorr's
 * jsontok.o is then not linked in (nothing else here needs it).
 */
#include "jsontok_oracle.h"

#define JT_PORTABLE 1
#include "../../parsers/jsontok.c"

#ifdef JT_SSE2
#error "JT_PORTABLE should have left the SSE2 scanner out"
#endif

#include "test_jsontok.c"
