/* report_text.h -- what the text report's pattern-specific renderers share.
 *
 * The text report prints each finding's headline, keys and sources itself and asks
 * the renderer of the finding's pattern to draw the evidence in between (a chain, a
 * growth sparkline, a wait-for cycle). Each family of patterns keeps its renderers
 * in its own file: report_exceptions.c, report_memory.c, report_threads.c,
 * report_versions.c.
 */
#ifndef PYCORR_REPORT_TEXT_H
#define PYCORR_REPORT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "../patterns/finding.h"

struct text_style {
    bool color;
};

#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_RESET "\033[0m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"

/* code when colour is on, "" otherwise. */
static inline const char *tx(const struct text_style *st, const char *code)
{
    return st->color ? code : "";
}

/* Evidence lines are indented by this much, under the headline. */
#define TEXT_INDENT 9

/* Draw f's evidence; lines start with TEXT_INDENT spaces and end with '\n'. */
typedef void (*text_renderer_fn)(FILE *out, const struct text_style *st, const struct finding *f);

struct text_renderer {
    const char *pattern;
    text_renderer_fn render;
};

/* Each family's table, terminated by a NULL pattern. */
extern const struct text_renderer text_renderers_exceptions[];
extern const struct text_renderer text_renderers_memory[];
extern const struct text_renderer text_renderers_threads[];
extern const struct text_renderer text_renderers_versions[];

/* Helpers for renderers. */
const char *text_jstr(const json_t *o, const char *key);
void text_first_line(FILE *out, const char *s, size_t max);
const char *text_basename(const char *path);

#endif
