/* ansi.c -- see ansi.h. */
#include "ansi.h"

#include <string.h>

/* The end of the sequence that starts with ESC at in[i]: the index after it. */
static size_t sequence_end(const unsigned char *in, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j >= n)
        return n;
    unsigned char c = in[j];
    if (c == '[') { /* CSI: parameters and intermediates 0x20-0x3f, a final 0x40-0x7e */
        for (j++; j < n; j++)
            if (in[j] >= 0x40 && in[j] <= 0x7e)
                return j + 1;
            else if (in[j] < 0x20 || in[j] > 0x3f)
                return j; /* not a CSI after all: keep what follows */
        return n;
    }
    if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') {
        /* A string up to ST (ESC \), or BEL for OSC as xterm ends it. */
        for (j++; j < n; j++) {
            if (in[j] == 0x07 && c == ']')
                return j + 1;
            if (in[j] == ANSI_ESC)
                return j + 1 < n && in[j + 1] == '\\' ? j + 2 : j;
        }
        return n;
    }
    while (j < n && in[j] >= 0x20 && in[j] <= 0x2f) /* nF: intermediates, then a final */
        j++;
    if (j < n && in[j] >= 0x30 && in[j] <= 0x7e)
        return j + 1;
    return j; /* a lone ESC: drop it alone */
}

size_t ansi_strip(const char *in, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0, i = 0;
    while (i < n) {
        const unsigned char *esc = memchr(s + i, ANSI_ESC, n - i);
        size_t run = esc != NULL ? (size_t)(esc - s) - i : n - i;
        if (out + o != in + i)
            memmove(out + o, in + i, run);
        o += run;
        i += run;
        if (esc != NULL)
            i = sequence_end(s, n, i);
    }
    return o;
}
