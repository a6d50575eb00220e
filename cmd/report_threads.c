/* report_threads.c -- text evidence for deadlock, wait_chain, blocked_thread,
 * spiking_thread and crash: a deadlock drawn as the cycle it is, "Thread A holds L1
 * waits for L2 held by Thread B ...", each thread with the frame it waits at. */
#include <string.h>

#include "report_text.h"

static const char *or_q(const char *s) { return s ? s : "?"; }

static void thread_label(FILE *out, const json_t *t)
{
    const char *id = text_jstr(t, "id");
    fprintf(out, "thread %s", or_q(id));
    json_int_t nid = json_integer_value(json_object_get(t, "native_id"));
    const char *name = text_jstr(t, "name");
    if (json_is_integer(json_object_get(t, "native_id")) || name != NULL) {
        fputs(" (", out);
        if (json_is_integer(json_object_get(t, "native_id")))
            fprintf(out, "native %lld", (long long)nid);
        if (name != NULL)
            fprintf(out, "%s%s", json_is_integer(json_object_get(t, "native_id")) ? ", " : "", name);
        fputc(')', out);
    }
}

static void frame_line(FILE *out, const struct text_style *st, const json_t *t, int indent)
{
    const char *fr = text_jstr(t, "frame");
    const char *app = text_jstr(t, "app_frame");
    if (fr != NULL)
        fprintf(out, "%*s%sat %s%s\n", indent, "", tx(st, C_DIM), fr, tx(st, C_RESET));
    if (app != NULL)
        fprintf(out, "%*s%scalled from %s%s\n", indent, "", tx(st, C_DIM), app, tx(st, C_RESET));
}

static void holds_text(FILE *out, const json_t *t)
{
    const json_t *holds = json_object_get(t, "holds");
    for (size_t i = 0; i < json_array_size(holds); i++)
        fprintf(out, "%s%s", i ? ", " : " holds ", or_q(json_string_value(json_array_get(holds, i))));
}

/* "thread A holds L1, waits for RLock L2 held by thread B" */
static void wait_line(FILE *out, const struct text_style *st, const json_t *t)
{
    fprintf(out, "%*s", TEXT_INDENT, "");
    fputs(tx(st, C_BOLD), out);
    thread_label(out, t);
    fputs(tx(st, C_RESET), out);
    holds_text(out, t);
    const char *w = text_jstr(t, "waits_for");
    if (w != NULL) {
        const char *kind = text_jstr(t, "lock_kind");
        fprintf(out, "%s waits for %s%s%s", json_array_size(json_object_get(t, "holds")) ? "," : "", kind ? kind : "",
                kind ? " " : "", w);
        const char *owner = text_jstr(t, "waits_for_owner");
        if (owner != NULL)
            fprintf(out, " held by thread %s", owner);
    }
    fputc('\n', out);
    frame_line(out, st, t, TEXT_INDENT + 4);
}

static void artifacts_line(FILE *out, const struct text_style *st, const json_t *ev)
{
    const json_t *arts = json_object_get(ev, "artifacts");
    if (json_array_size(arts) < 2)
        return;
    fprintf(out, "%*s%sjoined from:", TEXT_INDENT, "", tx(st, C_DIM));
    for (size_t i = 0; i < json_array_size(arts); i++) {
        const json_t *a = json_array_get(arts, i);
        const char *s = text_jstr(a, "stream");
        fprintf(out, " %s (%s)", s ? text_basename(s) : "?", or_q(text_jstr(a, "format")));
    }
    fprintf(out, "%s\n", tx(st, C_RESET));
}

static void render_deadlock(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *threads = json_object_get(f->evidence, "threads");
    size_t n = json_array_size(threads);
    for (size_t i = 0; i < n; i++)
        wait_line(out, st, json_array_get(threads, i));
    if (n > 0) {
        const char *first = text_jstr(json_array_get(threads, 0), "id");
        fprintf(out, "%*s%s\u21ba back to thread %s: nobody can go on%s\n", TEXT_INDENT, "", tx(st, C_DIM), or_q(first),
                tx(st, C_RESET));
    }
    const json_t *also = json_object_get(f->evidence, "also_waiting");
    for (size_t i = 0; i < json_array_size(also); i++) {
        fprintf(out, "%*salso stuck behind the cycle: ", TEXT_INDENT, "");
        thread_label(out, json_array_get(also, i));
        fputc('\n', out);
    }
    fprintf(out, "%*sownership %s\n", TEXT_INDENT, "", or_q(text_jstr(f->evidence, "ownership")));
    artifacts_line(out, st, f->evidence);
}

static void render_chain(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *threads = json_object_get(f->evidence, "threads");
    size_t n = json_array_size(threads);
    for (size_t i = 0; i + 1 < n; i++)
        wait_line(out, st, json_array_get(threads, i));
    if (n > 0) {
        const json_t *h = json_array_get(threads, n - 1);
        fprintf(out, "%*s", TEXT_INDENT, "");
        thread_label(out, h);
        holds_text(out, h);
        fprintf(out, ": %s\n", or_q(text_jstr(f->evidence, "head_state")));
        frame_line(out, st, h, TEXT_INDENT + 4);
    }
    artifacts_line(out, st, f->evidence);
}

static void render_blocked(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *ev = f->evidence;
    const json_t *t = json_array_get(json_object_get(ev, "threads"), 0);
    if (t != NULL)
        wait_line(out, st, t);
    const char *mod = text_jstr(ev, "blocking_module");
    const char *call = text_jstr(ev, "blocking_call");
    if (mod != NULL || call != NULL)
        fprintf(out, "%*sblocking module %s%s%s\n", TEXT_INDENT, "", or_q(mod), call ? ", call " : "", call ? call : "");
    fprintf(out, "%*sownership %s", TEXT_INDENT, "", or_q(text_jstr(ev, "ownership")));
    if (json_is_false(json_object_get(ev, "owner_alive")))
        fprintf(out, " (owner %s is not among the threads)", or_q(text_jstr(ev, "owner")));
    json_int_t same = json_integer_value(json_object_get(ev, "same_site_dumps"));
    if (same > 1)
        fprintf(out, "; at the same site in %lld consecutive dumps", (long long)same);
    fputc('\n', out);
}

static void render_spiking(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *ev = f->evidence;
    const json_t *t = json_array_get(json_object_get(ev, "threads"), 0);
    if (t != NULL) {
        fprintf(out, "%*s", TEXT_INDENT, "");
        thread_label(out, t);
        fprintf(out, ", %s thread, %.1f%% CPU", or_q(text_jstr(ev, "role")),
                json_real_value(json_object_get(ev, "cpu_percent")));
        const json_t *secs = json_object_get(t, "cpu_seconds");
        if (json_is_real(secs))
            fprintf(out, " (%.2f s)", json_real_value(secs));
        fputc('\n', out);
        const json_t *stack = json_object_get(t, "stack");
        for (size_t i = 0; i < json_array_size(stack) && i < 6; i++)
            fprintf(out, "%*s%s%s%s\n", TEXT_INDENT + 4, "", tx(st, C_DIM), json_string_value(json_array_get(stack, i)),
                    tx(st, C_RESET));
    }
    if (json_is_true(json_object_get(ev, "leader_row_adjusted")))
        fprintf(out, "%*s%sthe leader row shows the whole process; its own share is the rest%s\n", TEXT_INDENT, "",
                tx(st, C_DIM), tx(st, C_RESET));
    artifacts_line(out, st, ev);
}

static void render_crash(FILE *out, const struct text_style *st, const struct finding *f)
{
    const json_t *ev = f->evidence;
    const json_t *t = json_object_get(ev, "thread");
    if (t != NULL && !json_is_null(t)) {
        fprintf(out, "%*sfaulting ", TEXT_INDENT, "");
        thread_label(out, t);
        fputc('\n', out);
        const json_t *frames = json_object_get(t, "frames");
        for (size_t i = 0; i < json_array_size(frames) && i < 8; i++) {
            const json_t *fr = json_array_get(frames, i);
            const char *file = text_jstr(fr, "file");
            fprintf(out, "%*s%s%s", TEXT_INDENT + 4, "", tx(st, C_DIM), file ? file : "");
            if (json_is_integer(json_object_get(fr, "line")))
                fprintf(out, ":%lld", (long long)json_integer_value(json_object_get(fr, "line")));
            fprintf(out, " %s%s\n", or_q(text_jstr(fr, "function")), tx(st, C_RESET));
        }
    }
    const char *mod = text_jstr(ev, "exception_module");
    if (mod != NULL)
        fprintf(out, "%*sexception module %s%s%s\n", TEXT_INDENT, "", mod, text_jstr(ev, "app_module") ? ", from " : "",
                text_jstr(ev, "app_module") ? text_jstr(ev, "app_module") : "");
    json_int_t total = json_integer_value(json_object_get(ev, "extension_modules_total"));
    if (total > 0)
        fprintf(out, "%*sextension modules loaded: %lld\n", TEXT_INDENT, "", (long long)total);
}

const struct text_renderer text_renderers_threads[] = {
    {"deadlock", render_deadlock},
    {"wait_chain", render_chain},
    {"blocked_thread", render_blocked},
    {"spiking_thread", render_spiking},
    {"crash", render_crash},
    {NULL, NULL},
};
