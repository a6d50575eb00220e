/* fuzz_rules -- the rule file parser and the condition compiler on arbitrary bytes:
 * every error is a message, never a crash; a file that loads also runs (an event
 * through the engine, the detector claims on a finding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[RULES_ERRSZ];
    struct ruleset *rs = ruleset_create();
    if (rs == NULL)
        return 0;
    if (ruleset_add_text(rs, "fuzz.rules", (const char *)data, size, err, sizeof(err)) == 0 &&
        ruleset_finalize(rs, err, sizeof(err)) == 0) {
        struct finding_store *st = finding_store_create(64);
        struct rules_engine *e = rules_engine_create(rs, st, 20000);
        if (e != NULL) {
            struct event ev;
            ev_init(&ev, EV_LOG);
            ev.level = EV_LVL_ERROR;
            ev.message = EV_STR_LIT("request failed with status 503 after retrying");
            ev.service = EV_STR_LIT("gateway");
            ev.trace_id = EV_STR_LIT("0af7651916cd43dd8448eb211c80319c");
            ev.has_ts = true;
            ev.ts_ns = 1795490554000000000LL;
            rules_engine_event(e, &ev);
            rules_engine_flush(e);
            size_t n;
            struct finding **f = finding_store_sorted(st, &n);
            bool *keep = malloc((n ? n : 1) * sizeof(*keep));
            if (keep != NULL)
                rules_engine_apply(e, f, n, keep);
            free(keep);
            rules_engine_free(e);
        }
        finding_store_destroy(st);
    }
    ruleset_free(rs);
    return 0;
}
