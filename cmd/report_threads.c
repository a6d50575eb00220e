/* report_threads.c -- text evidence for deadlock, wait_chain, blocked_thread,
 * spiking_thread and crash (issue #8: renderers land with the detectors). */
#include "report_text.h"

const struct text_renderer text_renderers_threads[] = {
    {NULL, NULL},
};
