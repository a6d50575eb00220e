/* test_prefilter_portable.c -- all of test_prefilter.c again, on the scalar pair
 * scanner that machines without SSE2 use (PF_PORTABLE), so that path is tested on
 * x86-64 too. This binary compiles its own copy of the prefilter; libpycorr's
 * prefilter.o is then not linked in (nothing else here needs it).
 */
#define PF_PORTABLE 1
#include "../../rules/prefilter.c"

#ifdef PF_SSE2
#error "PF_PORTABLE should have left the SSE2 scanner out"
#endif

#include "test_prefilter.c"
