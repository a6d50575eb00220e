/* report_versions.c -- text evidence for not_my_version: one line per version of
 * the package, with the processes that run it, and the baseline's versions when
 * the finding is a drift from them.
 *
 *     requests   2.28.2  web-2 pid 3117 (Python 3.11.6)
 *                2.31.0  web-1 pid 4242 (Python 3.11.6)
 *
 * The title names at most three processes per version; this names up to eight,
 * with where each listing was read.
 */
#include <string.h>

#include "report_text.h"

#define PROCS_SHOWN 8

static void proc_text(FILE *out, const json_t *p)
{
    const char *host = text_jstr(p, "host");
    const json_t *pid = json_object_get(p, "pid");
    const char *stream = text_jstr(p, "stream");
    if (host != NULL)
        fputs(host, out);
    if (json_is_integer(pid))
        fprintf(out, "%spid %lld", host ? " " : "", (long long)json_integer_value(pid));
    if (host == NULL && !json_is_integer(pid))
        fputs(stream ? text_basename(stream) : "?", out);
    const char *py = text_jstr(p, "python");
    if (py != NULL)
        fprintf(out, " (Python %s)", py);
}

static void render_versions(FILE *out, const struct text_style *st, const struct finding *f)
{
    const char *pkg = text_jstr(f->evidence, "package");
    const json_t *versions = json_object_get(f->evidence, "versions");
    const json_t *base = json_object_get(f->evidence, "baseline_versions");
    int pw = pkg ? (int)strlen(pkg) : 1;
    if (pw < 8)
        pw = 8;
    int vw = 1; /* the widest version: the process lists line up */
    for (size_t i = 0; i < json_array_size(versions); i++) {
        const char *v = text_jstr(json_array_get(versions, i), "version");
        if (v != NULL && (int)strlen(v) > vw)
            vw = (int)strlen(v);
    }
    for (size_t i = 0; i < json_array_size(base); i++) {
        const char *v = json_string_value(json_array_get(base, i));
        if (v != NULL && (int)strlen(v) > vw)
            vw = (int)strlen(v);
    }
    for (size_t i = 0; i < json_array_size(versions); i++) {
        const json_t *v = json_array_get(versions, i);
        const char *ver = text_jstr(v, "version");
        fprintf(out, "%*s%s%-*s%s  %s%-*s%s", TEXT_INDENT, "", tx(st, C_DIM), pw, i == 0 && pkg ? pkg : "",
                tx(st, C_RESET), tx(st, C_BOLD), vw, ver ? ver : "?", tx(st, C_RESET));
        const json_t *procs = json_object_get(v, "processes");
        size_t n = json_array_size(procs);
        for (size_t k = 0; k < n && k < PROCS_SHOWN; k++) {
            fputs(k ? ", " : "  ", out);
            proc_text(out, json_array_get(procs, k));
        }
        if (n > PROCS_SHOWN)
            fprintf(out, " %s+%zu more%s", tx(st, C_DIM), n - PROCS_SHOWN, tx(st, C_RESET));
        fputc('\n', out);
    }
    if (json_array_size(base) > 0) {
        fprintf(out, "%*s%s%-*s  ", TEXT_INDENT, "", tx(st, C_DIM), pw, "baseline");
        for (size_t i = 0; i < json_array_size(base); i++)
            fprintf(out, "%s%s", i ? ", " : "", json_string_value(json_array_get(base, i)));
        fprintf(out, "%s\n", tx(st, C_RESET));
    }
}

const struct text_renderer text_renderers_versions[] = {
    {"not_my_version", render_versions},
    {NULL, NULL},
};
