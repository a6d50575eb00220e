/* registry.c -- the one list of parsers, and detection by bidding; see parser.h. */
#include "parser.h"

#include <string.h>

extern const struct parser parser_jsonlog;
extern const struct parser parser_faulthandler;
extern const struct parser parser_gdb;
extern const struct parser parser_psthreads;
extern const struct parser parser_pyspy;
extern const struct parser parser_text;
extern const struct parser parser_packages; /* issue #7: package versions */
extern const struct parser parser_tracemalloc; /* issue #3: memory artifacts */
extern const struct parser parser_tmtext;
extern const struct parser parser_gcstats;

/* Cheap, specific bidders first; the text parser is the generic fallback. */
const struct parser *const parser_registry[] = {
    &parser_tracemalloc,
    &parser_tmtext,
    &parser_gcstats,
    &parser_packages,
    &parser_jsonlog,
    &parser_gdb,
    &parser_psthreads,
    &parser_pyspy,
    &parser_faulthandler,
    &parser_text,
    NULL,
};


const struct parser *parser_detect(const char *buf, size_t len, bool at_eof, int *bid_out)
{
    const struct parser *best = NULL;
    int best_bid = 0;
    for (size_t i = 0; parser_registry[i] != NULL; i++) {
        int bid = parser_registry[i]->bid(buf, len, at_eof);
        if (bid > best_bid) {
            best_bid = bid;
            best = parser_registry[i];
        }
    }
    if (bid_out != NULL)
        *bid_out = best_bid;
    return best;
}

const struct parser *parser_by_name(const char *name)
{
    for (size_t i = 0; parser_registry[i] != NULL; i++)
        if (strcmp(parser_registry[i]->name, name) == 0)
            return parser_registry[i];
    return NULL;
}
