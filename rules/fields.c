/* fields.c -- what rule conditions can name: the fields of events and of findings.
 *
 * Events: level, message, service, host, pid, logger, thread, trace_id, span_id,
 * kind, stream, line, and of an exception: exception.type and exception.message (the
 * outermost), exception.root_type, exception.root_message, exception.types and
 * exception.messages (every exception of the chain, groups and the worker
 * tracebacks quoted in messages included),
 * exception.functions and exception.files (every frame), exception.chain_length.
 * Findings: id, pattern, severity, rule, title, service, host, pid, trace_id, count,
 * and evidence.PATH into the finding's evidence (arrays give all their elements).
 */
#include "fields.h"

#include <stdio.h>
#include <string.h>

#include "../correlate/ev_json.h"
#include "../patterns/finding.h"

enum efield {
    EF_LEVEL, EF_MESSAGE, EF_SERVICE, EF_HOST, EF_PID, EF_LOGGER, EF_THREAD, EF_TRACE, EF_SPAN, EF_KIND,
    EF_STREAM, EF_LINE, EF_EXC_TYPE, EF_EXC_MESSAGE, EF_EXC_ROOT_TYPE, EF_EXC_ROOT_MESSAGE, EF_EXC_TYPES,
    EF_EXC_MESSAGES, EF_EXC_FUNCTIONS, EF_EXC_FILES, EF_EXC_CHAIN_LENGTH,
};

static const struct {
    const char *name;
    enum rx_ftype type;
} event_fields[] = {
    [EF_LEVEL] = {"level", RX_F_LEVEL},
    [EF_MESSAGE] = {"message", RX_F_STR},
    [EF_SERVICE] = {"service", RX_F_STR},
    [EF_HOST] = {"host", RX_F_STR},
    [EF_PID] = {"pid", RX_F_NUM},
    [EF_LOGGER] = {"logger", RX_F_STR},
    [EF_THREAD] = {"thread", RX_F_STR},
    [EF_TRACE] = {"trace_id", RX_F_STR},
    [EF_SPAN] = {"span_id", RX_F_STR},
    [EF_KIND] = {"kind", RX_F_STR},
    [EF_STREAM] = {"stream", RX_F_STR},
    [EF_LINE] = {"line", RX_F_NUM},
    [EF_EXC_TYPE] = {"exception.type", RX_F_STR},
    [EF_EXC_MESSAGE] = {"exception.message", RX_F_STR},
    [EF_EXC_ROOT_TYPE] = {"exception.root_type", RX_F_STR},
    [EF_EXC_ROOT_MESSAGE] = {"exception.root_message", RX_F_STR},
    [EF_EXC_TYPES] = {"exception.types", RX_F_STR},
    [EF_EXC_MESSAGES] = {"exception.messages", RX_F_STR},
    [EF_EXC_FUNCTIONS] = {"exception.functions", RX_F_STR},
    [EF_EXC_FILES] = {"exception.files", RX_F_STR},
    [EF_EXC_CHAIN_LENGTH] = {"exception.chain_length", RX_F_NUM},
};
#define N_EVENT_FIELDS (sizeof(event_fields) / sizeof(event_fields[0]))

static int event_resolve(const char *name, enum rx_ftype *type)
{
    for (size_t i = 0; i < N_EVENT_FIELDS; i++)
        if (strcmp(event_fields[i].name, name) == 0) {
            *type = event_fields[i].type;
            return (int)i;
        }
    return -1;
}

static void put_str(struct rx_values *v, ev_str s)
{
    if (v->n < RX_MAX_VALUES && s.ptr != NULL) {
        v->s[v->n] = s;
        v->is_num[v->n] = false;
        v->n++;
    }
}

static void put_num(struct rx_values *v, double d)
{
    if (v->n < RX_MAX_VALUES) {
        v->s[v->n] = EV_STR_NULL;
        v->d[v->n] = d;
        v->is_num[v->n] = true;
        v->n++;
    }
}

static void chain_values(const struct ev_chain *c, enum efield f, struct rx_values *v, unsigned depth)
{
    for (uint32_t i = 0; i < c->n && v->n < RX_MAX_VALUES; i++) {
        const struct ev_exc *e = &c->exc[i];
        if (f == EF_EXC_TYPES)
            put_str(v, e->type);
        else if (f == EF_EXC_MESSAGES)
            put_str(v, e->message);
        for (uint32_t k = 0; k < e->nframes && (f == EF_EXC_FUNCTIONS || f == EF_EXC_FILES); k++)
            put_str(v, f == EF_EXC_FUNCTIONS ? e->frames[k].function : e->frames[k].file);
        if (e->group != NULL && depth < 8)
            for (uint32_t g = 0; g < e->group->n; g++)
                chain_values(&e->group->members[g], f, v, depth + 1);
        if (e->remote != NULL && depth < 8)
            chain_values(e->remote, f, v, depth + 1);
    }
}

static void event_get(const void *subject, int field, const char *path, struct rx_values *v)
{
    (void)path;
    const struct event *ev = subject;
    const struct ev_chain *c = ev->kind == EV_EXCEPTION ? &ev->u.exc.chain : NULL;
    const struct ev_exc *outer = c && c->n ? &c->exc[c->n - 1] : NULL;
    const struct ev_exc *root = c && c->n ? &c->exc[0] : NULL;
    switch ((enum efield)field) {
    case EF_LEVEL:
        if (ev->level != EV_LVL_UNKNOWN)
            put_num(v, ev->level);
        else if (ev->kind == EV_EXCEPTION)
            put_num(v, EV_LVL_ERROR); /* a bare traceback is an error */
        break;
    case EF_MESSAGE:
        if (ev_str_present(ev->message))
            put_str(v, ev->message);
        else if (outer != NULL)
            put_str(v, outer->message);
        break;
    case EF_SERVICE: put_str(v, ev->service); break;
    case EF_HOST: put_str(v, ev->host); break;
    case EF_PID:
        if (ev->pid >= 0)
            put_num(v, (double)ev->pid);
        break;
    case EF_LOGGER: put_str(v, ev->logger); break;
    case EF_THREAD: put_str(v, ev->thread); break;
    case EF_TRACE: put_str(v, ev->trace_id); break;
    case EF_SPAN: put_str(v, ev->span_id); break;
    case EF_KIND: put_str(v, ev_str_make(ev_kind_name(ev->kind), strlen(ev_kind_name(ev->kind)))); break;
    case EF_STREAM:
        if (ev->src.stream)
            put_str(v, ev_str_make(ev->src.stream, strlen(ev->src.stream)));
        break;
    case EF_LINE:
        if (ev->src.line)
            put_num(v, (double)ev->src.line);
        break;
    case EF_EXC_TYPE:
        if (outer)
            put_str(v, outer->type);
        break;
    case EF_EXC_MESSAGE:
        if (outer)
            put_str(v, outer->message.ptr ? outer->message : EV_STR_LIT(""));
        break;
    case EF_EXC_ROOT_TYPE:
        if (root)
            put_str(v, root->type);
        break;
    case EF_EXC_ROOT_MESSAGE:
        if (root)
            put_str(v, root->message.ptr ? root->message : EV_STR_LIT(""));
        break;
    case EF_EXC_TYPES:
    case EF_EXC_MESSAGES:
    case EF_EXC_FUNCTIONS:
    case EF_EXC_FILES:
        if (c)
            chain_values(c, (enum efield)field, v, 0);
        break;
    case EF_EXC_CHAIN_LENGTH:
        if (c)
            put_num(v, c->n);
        break;
    }
}

const struct rx_context rules_event_context = {event_resolve, event_get};

bool rules_event_field_is_exception(int field)
{
    return field >= EF_EXC_TYPE && field <= EF_EXC_CHAIN_LENGTH;
}

/* ---- findings ---- */

enum ffield { FF_ID, FF_PATTERN, FF_SEVERITY, FF_RULE, FF_TITLE, FF_SERVICE, FF_HOST, FF_PID, FF_TRACE, FF_COUNT,
              FF_EVIDENCE };

static const struct {
    const char *name;
    enum rx_ftype type;
} finding_fields[] = {
    [FF_ID] = {"id", RX_F_STR},
    [FF_PATTERN] = {"pattern", RX_F_STR},
    [FF_SEVERITY] = {"severity", RX_F_SEVERITY},
    [FF_RULE] = {"rule", RX_F_STR},
    [FF_TITLE] = {"title", RX_F_STR},
    [FF_SERVICE] = {"service", RX_F_STR},
    [FF_HOST] = {"host", RX_F_STR},
    [FF_PID] = {"pid", RX_F_NUM},
    [FF_TRACE] = {"trace_id", RX_F_STR},
    [FF_COUNT] = {"count", RX_F_NUM},
};

static int finding_resolve(const char *name, enum rx_ftype *type)
{
    if (strncmp(name, "evidence.", 9) == 0 && name[9] != '\0') {
        /* Evidence is open-ended: numbers compare as numbers, strings as strings. */
        *type = RX_F_STR;
        return FF_EVIDENCE;
    }
    for (size_t i = 0; i < sizeof(finding_fields) / sizeof(finding_fields[0]); i++)
        if (strcmp(finding_fields[i].name, name) == 0) {
            *type = finding_fields[i].type;
            return (int)i;
        }
    return -1;
}

static ev_str cstr(const char *s)
{
    return s ? ev_str_make(s, strlen(s)) : EV_STR_NULL;
}

/* Every leaf under json j along the dotted path (arrays fan out). */
static void json_values(const json_t *j, const char *path, struct rx_values *v, unsigned depth)
{
    if (j == NULL || depth > 16)
        return;
    if (json_is_array(j)) {
        size_t i;
        const json_t *el;
        json_array_foreach(j, i, el) json_values(el, path, v, depth + 1);
        return;
    }
    if (*path != '\0') {
        if (!json_is_object(j))
            return;
        const char *dot = strchr(path, '.');
        char key[128];
        size_t k = dot ? (size_t)(dot - path) : strlen(path);
        if (k >= sizeof(key))
            return;
        memcpy(key, path, k);
        key[k] = '\0';
        json_values(json_object_get(j, key), dot ? dot + 1 : "", v, depth + 1);
        return;
    }
    if (json_is_string(j))
        put_str(v, ev_str_make(json_string_value(j), json_string_length(j)));
    else if (json_is_number(j))
        put_num(v, json_number_value(j));
    else if (json_is_true(j))
        put_str(v, EV_STR_LIT("true"));
    else if (json_is_false(j))
        put_str(v, EV_STR_LIT("false"));
}

static void finding_get(const void *subject, int field, const char *path, struct rx_values *v)
{
    const struct finding *f = subject;
    switch ((enum ffield)field) {
    case FF_ID: put_str(v, cstr(f->id)); break;
    case FF_PATTERN: put_str(v, cstr(f->pattern)); break;
    case FF_SEVERITY: put_num(v, f->severity); break;
    case FF_RULE: put_str(v, cstr(f->rule)); break;
    case FF_TITLE: put_str(v, cstr(f->title)); break;
    case FF_SERVICE: put_str(v, cstr(f->service)); break;
    case FF_HOST: put_str(v, cstr(f->host)); break;
    case FF_PID:
        if (f->pid >= 0)
            put_num(v, (double)f->pid);
        break;
    case FF_TRACE: put_str(v, cstr(f->trace_id)); break;
    case FF_COUNT: put_num(v, (double)f->count); break;
    case FF_EVIDENCE:
        /* path is "evidence.x.y" minus the field name's first component */
        json_values(f->evidence, path ? path : "", v, 0);
        break;
    }
}

const struct rx_context rules_finding_context = {finding_resolve, finding_get};

/* ---- title templates ---- */

size_t rules_render_template(const char *tmpl, const struct rx_context *ctx, const void *subject, char *out,
                             size_t outsz)
{
    size_t o = 0;
    if (outsz == 0)
        return 0;
    for (const char *p = tmpl; *p && o + 1 < outsz;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close != NULL && close - p < 120) {
                char name[128];
                memcpy(name, p + 1, (size_t)(close - p - 1));
                name[close - p - 1] = '\0';
                enum rx_ftype ft;
                int field = ctx->resolve(name, &ft);
                if (field >= 0) {
                    struct rx_values v;
        v.n = 0; /* the arrays are written before they are read */
                    const char *dot = strchr(name, '.');
                    ctx->get(subject, field, dot ? dot + 1 : NULL, &v);
                    for (size_t i = 0; i < v.n && o + 1 < outsz; i++) {
                        if (i && o + 2 < outsz) {
                            out[o++] = ',';
                            out[o++] = ' ';
                        }
                        char num[64];
                        ev_str s = v.s[i];
                        if (v.is_num[i]) {
                            if (ft == RX_F_LEVEL)
                                snprintf(num, sizeof(num), "%s", ev_level_name((enum ev_level)v.d[i]) ?: "");
                            else if (ft == RX_F_SEVERITY)
                                snprintf(num, sizeof(num), "%s", severity_name((enum severity)v.d[i]));
                            else
                                snprintf(num, sizeof(num), "%g", v.d[i]);
                            s = cstr(num);
                        }
                        size_t k = s.len;
                        const char *nl = k ? memchr(s.ptr, '\n', k) : NULL;
                        if (nl)
                            k = (size_t)(nl - s.ptr);
                        if (k > outsz - 1 - o)
                            k = outsz - 1 - o;
                        memcpy(out + o, s.ptr, k);
                        o += k;
                    }
                    if (v.n == 0 && o + 1 < outsz)
                        out[o++] = '-';
                    p = close + 1;
                    continue;
                }
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    return o;
}
