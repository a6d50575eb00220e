/* traceid.h -- one trace id, many spellings: normalize to lowercase hex.
 *
 * Accepted: 32 or 16 hex digits in any case; UUID form with dashes; W3C traceparent
 * "00-<32 hex>-<16 hex>-<2 hex>"; GCP "projects/P/traces/<hex>"; Datadog decimal
 * 64-bit ids (normalized to 16 hex digits, which match the low 64 bits of a 128-bit
 * id). All-zero ids are invalid, as in W3C Trace Context.
 */
#ifndef PYCORR_TRACEID_H
#define PYCORR_TRACEID_H

#include <stddef.h>
#include <stdint.h>

#define TRACEID_BUFSZ 33

/* Value of each byte as a hex digit (either case), or 0xFF. A table, not a chain of
 * range tests: trace ids are random, so a digit-or-letter branch mispredicts on
 * nearly every other byte. */
extern const uint8_t hex_digit_value[256];

static inline int hex_value(char c)
{
    uint8_t v = hex_digit_value[(unsigned char)c];
    return v == 0xFF ? -1 : v;
}

/* The last 16 hex digits of p as a number, in *out; false when n < 16 or one of
 * them is not a hex digit. */
static inline int hex_tail64(const char *p, size_t n, uint64_t *out)
{
    if (p == NULL || n < 16)
        return 0;
    const unsigned char *q = (const unsigned char *)p + n - 16;
    /* Four independent runs of four digits, joined at the end: the key is where
     * the correlator's table lookup starts, and one run of sixteen shifts is a
     * chain of dependent steps in front of that cache miss. */
    uint64_t part[4];
    unsigned bad = 0;
    for (int r = 0; r < 4; r++) {
        uint64_t k = 0;
        for (int i = 0; i < 4; i++) {
            unsigned v = hex_digit_value[q[4 * r + i]];
            bad |= v;
            k = k << 4 | (v & 15u);
        }
        part[r] = k;
    }
    if (bad & 0x80u)
        return 0;
    *out = part[0] << 48 | part[1] << 32 | part[2] << 16 | part[3];
    return 1;
}

/* Write the normalized trace id to out (NUL-terminated) and return its length
 * (32 or 16); return 0 when p is not a trace id in any known spelling. */
size_t traceid_normalize(const char *p, size_t n, char out[TRACEID_BUFSZ]);

/* Same for a span id: 16 hex digits or a decimal 64-bit id. Returns 16 or 0. */
size_t spanid_normalize(const char *p, size_t n, char out[TRACEID_BUFSZ]);

/* From a W3C traceparent value, take the trace id (32 hex) into out. Returns 32 or 0. */
size_t traceid_from_traceparent(const char *p, size_t n, char out[TRACEID_BUFSZ]);

#endif
