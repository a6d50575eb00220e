/* report_exceptions.c -- text evidence for nested_exception and error_message:
 * chains drawn from the root to the outermost exception, groups as indented members,
 * a worker's traceback quoted in a message as an indented chain in its place. */
#include <string.h>

#include "report_text.h"

static void print_chain(FILE *out, const struct text_style *st, const json_t *chain, int indent);

static void print_exc(FILE *out, const struct text_style *st, const json_t *e, int indent, bool first)
{
    const char *type = text_jstr(e, "type");
    const char *msg = text_jstr(e, "message");
    const char *rel = text_jstr(e, "relation");
    fprintf(out, "%*s", indent, "");
    if (!first && rel != NULL)
        fprintf(out, "%s\u2514 %s:%s ", tx(st, C_DIM),
                strcmp(rel, "cause") == 0 ? "raised from it" : "raised while handling it", tx(st, C_RESET));
    fprintf(out, "%s%s%s", tx(st, C_BOLD), type ? type : "?", tx(st, C_RESET));
    const json_t *remote = json_object_get(e, "remote");
    if (msg && *msg && remote == NULL) {
        fputs(": ", out);
        text_first_line(out, msg, 160);
    }
    fputc('\n', out);
    const json_t *frames = json_object_get(e, "frames");
    size_t nf = json_array_size(frames);
    if (nf > 0) {
        const json_t *f = json_array_get(frames, nf - 1);
        const char *file = text_jstr(f, "file");
        const char *fn = text_jstr(f, "function");
        fprintf(out, "%*s   %sat %s:%lld%s%s (%zu frame%s)%s\n", indent, "", tx(st, C_DIM),
                file ? text_basename(file) : "?", (long long)json_integer_value(json_object_get(f, "line")),
                fn ? " in " : "", fn ? fn : "", nf, nf == 1 ? "" : "s", tx(st, C_RESET));
    }
    const json_t *notes = json_object_get(e, "notes");
    for (size_t i = 0; i < json_array_size(notes); i++) {
        fprintf(out, "%*s   %snote: ", indent, "", tx(st, C_DIM));
        text_first_line(out, json_string_value(json_array_get(notes, i)), 160);
        fprintf(out, "%s\n", tx(st, C_RESET));
    }
    if (remote != NULL) {
        fprintf(out, "%*s   %sthe worker's traceback it carries, root first:%s\n", indent, "", tx(st, C_DIM),
                tx(st, C_RESET));
        print_chain(out, st, remote, indent + 5);
    }
    const json_t *g = json_object_get(e, "group");
    if (g != NULL) {
        const json_t *members = json_object_get(g, "exceptions");
        size_t nm = json_array_size(members);
        for (size_t i = 0; i < nm; i++) {
            fprintf(out, "%*s   %s[%zu/%zu]%s\n", indent, "", tx(st, C_DIM), i + 1, nm, tx(st, C_RESET));
            print_chain(out, st, json_array_get(members, i), indent + 5);
        }
        long long more = (long long)json_integer_value(json_object_get(g, "more_exceptions"));
        if (more > 0)
            fprintf(out, "%*s   %s... and %lld more exception%s%s\n", indent, "", tx(st, C_DIM), more,
                    more == 1 ? "" : "s", tx(st, C_RESET));
    }
}

static void print_chain(FILE *out, const struct text_style *st, const json_t *chain, int indent)
{
    for (size_t i = 0; i < json_array_size(chain); i++)
        print_exc(out, st, json_array_get(chain, i), indent + (i ? 2 : 0), i == 0);
}

static void render_nested(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *ev = f->evidence;
    const json_t *chain = json_object_get(ev, "chain");
    if (json_array_size(chain) > 1)
        fprintf(out, "%*s%schain, root first:%s\n", TEXT_INDENT, "", tx(st, C_DIM), tx(st, C_RESET));
    print_chain(out, st, chain, TEXT_INDENT + 2);
    const char *om = text_jstr(ev, "origin_module");
    const char *of = text_jstr(ev, "origin_frame");
    const char *lib = text_jstr(ev, "origin_library");
    if (om != NULL) {
        fprintf(out, "%*sorigin %s%s%s", TEXT_INDENT, "", om, of ? " at " : "", of ? text_basename(of) : "");
        if (lib != NULL)
            fprintf(out, " (raised inside %s)", lib);
        fputc('\n', out);
    }
    const char *logm = text_jstr(ev, "log_message");
    if (logm != NULL) {
        fprintf(out, "%*slogged: ", TEXT_INDENT, "");
        text_first_line(out, logm, 160);
        fputc('\n', out);
    }
}

static void render_error_message(FILE *out, const struct text_style *st, const struct finding *f)
{
    (void)st;
    const char *ex = text_jstr(f->evidence, "example");
    if (ex != NULL) {
        fprintf(out, "%*se.g. ", TEXT_INDENT, "");
        text_first_line(out, ex, 160);
        fputc('\n', out);
    }
}

const struct text_renderer text_renderers_exceptions[] = {
    {"nested_exception", render_nested},
    {"error_message", render_error_message},
    {NULL, NULL},
};
