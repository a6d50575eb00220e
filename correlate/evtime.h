/* evtime.h -- event time: parse the timestamp spellings of logs, format RFC 3339 UTC.
 *
 * Times are int64 nanoseconds since the Unix epoch, UTC. Parsing never allocates
 * and never consults the local time zone: a timestamp without an offset is taken
 * as UTC (Python's logging asctime is local time; we cannot know the zone, and the
 * README says so).
 */
#ifndef PYCORR_EVTIME_H
#define PYCORR_EVTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse "YYYY-MM-DD[T ]HH:MM:SS[(.|,)fraction][Z|z|+HH:MM|+HHMM|-HH:MM| UTC| GMT]" at
 * the start of p (also "YYYY-MM-DD, HH:MM:SS", Airflow's). Returns the number of bytes consumed, or 0 when p does not start with such a
 * timestamp (*ns is then unchanged). */
size_t evtime_parse_prefix(const char *p, size_t n, int64_t *ns);

/* Parse a whole field value: an RFC 3339 / ISO 8601 timestamp as above (nothing may
 * follow), or a number of seconds, milliseconds, microseconds or nanoseconds since
 * the epoch (the unit is chosen by magnitude). Returns false when it is neither. */
bool evtime_parse_field(const char *p, size_t n, int64_t *ns);

/* Interpret an epoch number whose unit is unknown (by magnitude). */
int64_t evtime_from_epoch(double v);

/* Days from 1970-01-01 of a proleptic Gregorian date (no range checks). */
int64_t evtime_days_from_civil(int64_t y, unsigned m, unsigned d);

#define EVTIME_BUFSZ 40
/* Format as "2026-11-24T03:22:34.751574Z": fraction digits in groups of three, as
 * many as the value needs (none for whole seconds). Returns buf. */
char *evtime_format(int64_t ns, char buf[EVTIME_BUFSZ]);

#endif
