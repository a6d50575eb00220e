/* error_message.c -- the Error Message pattern: log records at ERROR or above that
 * carry no traceback, folded by logger and message template.
 *
 * The template replaces numbers and long hex runs with '#', so "order 1004 failed"
 * and "order 1005 failed" are one finding with a count, while the first message is
 * kept as the example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../correlate/hash.h"
#include "pattern.h"

enum { P_SEVERITY, P_CRITICAL_SEVERITY };

static const struct pat_param params[] = {
    {"severity", PAT_SEVERITY, "medium", "a record logged at ERROR without a traceback"},
    {"critical_severity", PAT_SEVERITY, "high", "a record logged at CRITICAL or FATAL"},
    {NULL, 0, NULL, NULL},
};

struct errmsg {
    struct pat_config cfg;
    struct finding_store *store;
};

static void *em_create(const struct pat_config *cfg, struct finding_store *store)
{
    struct errmsg *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    d->store = store;
    return d;
}

static void em_destroy(void *st) { free(st); }
static int em_flush(void *st) { (void)st; return 0; }

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Write the message template into out; returns its length. */
static size_t template_of(ev_str m, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < m.len && o + 1 < outsz;) {
        char c = m.ptr[i];
        if (is_hex(c)) {
            /* A long hex run, dashes inside allowed ("3f2a9c1e-77b3-..."): request
             * ids and UUIDs must give one template whether they start with a digit
             * or a letter. Plain numbers are left to the rule below. */
            size_t j = i, nhex = 0;
            bool digit = false, letter = false, dash = false;
            while (j < m.len && (is_hex(m.ptr[j]) || (m.ptr[j] == '-' && j + 1 < m.len && is_hex(m.ptr[j + 1])))) {
                if (m.ptr[j] == '-')
                    dash = true;
                else if (m.ptr[j] >= '0' && m.ptr[j] <= '9')
                    digit = true, nhex++;
                else
                    letter = true, nhex++;
                j++;
            }
            if (nhex >= 8 && (dash ? digit : letter)) {
                out[o++] = '#';
                i = j;
                continue;
            }
        }
        if (c >= '0' && c <= '9') {
            while (i < m.len && ((m.ptr[i] >= '0' && m.ptr[i] <= '9') || m.ptr[i] == '.'))
                i++;
            out[o++] = '#';
            continue;
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    return o;
}

static int em_event(void *st, const struct event *ev)
{
    struct errmsg *d = st;
    if (ev->kind != EV_LOG || ev->level < EV_LVL_ERROR || !ev_str_present(ev->message))
        return 0;
    char tmpl[512];
    size_t tl = template_of(ev->message, tmpl, sizeof(tmpl));
    uint64_t fp = hash_field(HASH_INIT, ev->logger.ptr, ev->logger.len);
    fp = hash_field(fp, tmpl, tl);
    fp = hash_field(fp, ev_level_name(ev->level), strlen(ev_level_name(ev->level)));
    char id[FINDING_ID_LEN + 1];
    finding_make_id(id, "error_message", fp, ev->service.ptr, ev->service.len);
    if (finding_store_touch(d->store, id, ev) != NULL)
        return 0;
    struct finding *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    memcpy(f->id, id, sizeof(f->id));
    f->pattern = "error_message";
    f->rule = "builtin.error_message";
    f->severity = ev->level >= EV_LVL_CRITICAL ? d->cfg.v[P_CRITICAL_SEVERITY].sev : d->cfg.v[P_SEVERITY].sev;
    /* A title is one line: a message's first (RichHandler and logging keep a
     * message's newlines), marked when there is more. */
    size_t first = strcspn(tmpl, "\n");
    bool more = first < tl || first > 160;
    if (first > 160)
        first = 160;
    char title[700];
    snprintf(title, sizeof(title), "%s%s%.*s: %.*s%s", ev_level_name(ev->level), ev->logger.len ? " " : "",
             (int)ev->logger.len, ev->logger.ptr ? ev->logger.ptr : "", (int)first, tmpl, more ? " ..." : "");
    f->title = strdup(title);
    f->trace_id = ev_str_present(ev->trace_id) ? strndup(ev->trace_id.ptr, ev->trace_id.len) : NULL;
    f->service = ev_str_present(ev->service) ? strndup(ev->service.ptr, ev->service.len) : NULL;
    f->host = ev_str_present(ev->host) ? strndup(ev->host.ptr, ev->host.len) : NULL;
    f->pid = ev->pid;
    json_t *e = json_object();
    json_object_set_new(e, "level", json_string(ev_level_name(ev->level)));
    json_object_set_new(e, "logger", ev_json_str(ev->logger));
    json_object_set_new(e, "template", ev_json_str(ev_str_make(tmpl, tl)));
    json_object_set_new(e, "example", ev_json_str(ev->message));
    char fph[17];
    snprintf(fph, sizeof(fph), "%016llx", (unsigned long long)fp);
    json_object_set_new(e, "fingerprint", json_string(fph));
    f->evidence = e;
    return finding_store_insert(d->store, f, ev) != NULL || finding_store_dropped(d->store) ? 0 : -1;
}

const struct pattern pattern_error_message = {
    .name = "error_message",
    .description = "log records at ERROR or above without a traceback, folded by logger and message template",
    .kinds = 1u << EV_LOG,
    .params = params,
    .create = em_create,
    .on_event = em_event,
    .flush = em_flush,
    .destroy = em_destroy,
};
