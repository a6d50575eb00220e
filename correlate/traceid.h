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

#define TRACEID_BUFSZ 33

/* Write the normalized trace id to out (NUL-terminated) and return its length
 * (32 or 16); return 0 when p is not a trace id in any known spelling. */
size_t traceid_normalize(const char *p, size_t n, char out[TRACEID_BUFSZ]);

/* Same for a span id: 16 hex digits or a decimal 64-bit id. Returns 16 or 0. */
size_t spanid_normalize(const char *p, size_t n, char out[TRACEID_BUFSZ]);

/* From a W3C traceparent value, take the trace id (32 hex) into out. Returns 32 or 0. */
size_t traceid_from_traceparent(const char *p, size_t n, char out[TRACEID_BUFSZ]);

#endif
