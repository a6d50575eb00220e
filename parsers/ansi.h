/* ansi.h -- terminal escape sequences taken out of text that was meant for a terminal.
 *
 * Python 3.13 and later colour tracebacks when stderr is a terminal or FORCE_COLOR is
 * set (`docker run -t`, CI runners); colourful logging formatters colour levels and
 * loggers. What reaches a log file then carries ECMA-48 sequences between the
 * words a parser looks for. ansi_strip removes them and keeps every other byte:
 *   CSI  ESC [ params intermediates final   (colours: ESC [ 1 ; 35 m)
 *   OSC  ESC ] ... BEL or ESC \             (hyperlinks, window titles)
 *   DCS, SOS, PM, APC: ESC P/X/^/_ ... ESC \
 *   other escapes: ESC, intermediates 0x20-0x2f, one final byte
 * A sequence cut off by the end of the text is dropped up to that end. Reads only
 * in[0..n), writes at most n bytes, and out may be in (stripping in place).
 */
#ifndef PYCORR_ANSI_H
#define PYCORR_ANSI_H

#include <stddef.h>

#define ANSI_ESC 0x1b

/* The bytes of in[0..n) outside escape sequences, into out; returns how many. */
size_t ansi_strip(const char *in, size_t n, char *out);

#endif
