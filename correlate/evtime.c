/* evtime.c -- timestamp parsing and formatting; see evtime.h. */
#include "evtime.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int64_t evtime_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static bool digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

static inline unsigned d2(const char *p, bool *ok)
{
    unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');
    if (a > 9 || b > 9)
        *ok = false;
    return a * 10 + b;
}

static bool name_byte(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

size_t evtime_parse_prefix(const char *p, size_t n, int64_t *ns)
{
    /* Called for every line of a text log: fixed-width digits, and the last
     * "YYYY-MM-DD HH:MM:SS" seen kept with its seconds, since consecutive lines
     * mostly share the second (a line then costs a compare and its fraction). */
    static _Thread_local char cached_text[19];
    static _Thread_local int64_t cached_secs;
    static _Thread_local bool cached;
    if (n < 19)
        return 0;
    if (n >= 20 && p[10] == ',' && p[11] == ' ' && p[4] == '-') {
        /* Airflow's task logs: "2022-11-09, 09:59:40 UTC". Read as the usual form. */
        char tmp[48];
        size_t m = n - 1 < sizeof(tmp) ? n - 1 : sizeof(tmp);
        memcpy(tmp, p, 10);
        tmp[10] = ' ';
        memcpy(tmp + 11, p + 12, m - 11);
        size_t used = evtime_parse_prefix(tmp, m, ns);
        return used > 0 ? used + 1 : 0;
    }
    int64_t base;
    if (cached && memcmp(cached_text, p, 19) == 0) {
        base = cached_secs;
    } else {
        if (p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ' && p[10] != 't') || p[13] != ':' ||
            p[16] != ':')
            return 0;
        bool ok = true;
        unsigned Y = d2(p, &ok) * 100 + d2(p + 2, &ok), M = d2(p + 5, &ok), D = d2(p + 8, &ok);
        unsigned h = d2(p + 11, &ok), mi = d2(p + 14, &ok), s = d2(p + 17, &ok);
        static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (!ok || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || s > 60)
            return 0;
        if (M == 2 && D == 29 && !(Y % 4 == 0 && (Y % 100 != 0 || Y % 400 == 0)))
            return 0;
        base = evtime_days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + s;
        memcpy(cached_text, p, 19);
        cached_secs = base;
        cached = true;
    }
    size_t i = 19;
    int64_t frac_ns = 0;
    if (i < n && (p[i] == '.' || p[i] == ',')) {
        /* Digits beyond nanoseconds are read and dropped; no division per digit. */
        static const int64_t scale[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                          10000,      1000,      100,      10,      1};
        size_t j = i + 1;
        int64_t v = 0;
        unsigned k = 0;
        while (j < n && p[j] >= '0' && p[j] <= '9') {
            if (k < 9) {
                v = v * 10 + (p[j] - '0');
                k++;
            }
            j++;
        }
        if (j == i + 1)
            return 0;
        frac_ns = v * scale[k];
        i = j;
    }
    int64_t offset_s = 0;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 4 <= n && p[i] == ' ' && (memcmp(p + i + 1, "UTC", 3) == 0 || memcmp(p + i + 1, "GMT", 3) == 0) &&
               (i + 4 == n || !name_byte(p[i + 4]))) {
        i += 4; /* a zone named after the time: "10:00:00 UTC" */
    } else if (i < n && (p[i] == '+' || p[i] == '-') && i + 3 <= n) {
        unsigned oh, om = 0;
        size_t j = i + 1;
        if (digits(p + j, 2, &oh)) {
            j += 2;
            if (j < n && p[j] == ':' && j + 3 <= n && digits(p + j + 1, 2, &om))
                j += 3;
            else if (j + 2 <= n && digits(p + j, 2, &om))
                j += 2;
            offset_s = (int64_t)(oh * 3600 + om * 60);
            if (p[i] == '-')
                offset_s = -offset_s;
            i = j;
        }
    }
    int64_t secs = base - offset_s;
    /* int64 nanoseconds span the years 1677..2262; outside that no time can be
     * represented, and the product below would overflow. */
    if (secs >= INT64_MAX / 1000000000LL || secs <= INT64_MIN / 1000000000LL)
        return 0;
    *ns = secs * 1000000000LL + frac_ns;
    return i;
}

int64_t evtime_from_epoch(double v)
{
    double a = fabs(v), r;
    if (a < 1e11)       /* seconds: until year 5138 */
        r = v * 1e9;
    else if (a < 1e14)  /* milliseconds */
        r = v * 1e6;
    else if (a < 1e17)  /* microseconds */
        r = v * 1e3;
    else
        r = v;          /* nanoseconds */
    /* Saturate: converting an out-of-range double to int64 is undefined. */
    if (!(r < 9223372036854775807.0))
        return INT64_MAX;
    if (!(r > -9223372036854775807.0))
        return INT64_MIN;
    return (int64_t)llround(r);
}

/* The number of nanoseconds per unit of an integer epoch value, by magnitude. */
static int64_t epoch_scale(uint64_t v)
{
    if (v < 100000000000ULL)
        return 1000000000LL;
    if (v < 100000000000000ULL)
        return 1000000LL;
    if (v < 100000000000000000ULL)
        return 1000LL;
    return 1;
}

bool evtime_parse_field(const char *p, size_t n, int64_t *ns)
{
    if (n == 0)
        return false;
    int64_t t;
    size_t used = evtime_parse_prefix(p, n, &t);
    if (used != 0) {
        if (used != n)
            return false;
        *ns = t;
        return true;
    }
    /* A plain integer of up to 19 digits: keep full precision for nanoseconds. */
    bool all_digits = n <= 19;
    for (size_t i = 0; i < n && all_digits; i++)
        all_digits = p[i] >= '0' && p[i] <= '9';
    if (all_digits) {
        /* Integer arithmetic: a double cannot hold nanoseconds of today exactly, so
         * milliseconds would come back as ".123000064". */
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (uint64_t)(p[i] - '0'); /* 19 digits fit in uint64 */
        int64_t scale = epoch_scale(v);
        if (v > (uint64_t)(INT64_MAX / scale))
            return false;
        *ns = (int64_t)v * scale;
        return true;
    }
    char tmp[48];
    if (n >= sizeof(tmp))
        return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (end != tmp + n || !isfinite(v))
        return false;
    int64_t t2 = evtime_from_epoch(v);
    if (t2 == INT64_MAX || t2 == INT64_MIN)
        return false; /* not a time int64 nanoseconds can hold */
    *ns = t2;
    return true;
}

/* v in exactly width decimal digits (v < 10^width). */
static void put_digits(char *p, uint64_t v, unsigned width)
{
    for (unsigned i = width; i > 0; i--) {
        p[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
}

char *evtime_format(int64_t ns, char buf[EVTIME_BUFSZ])
{
    int64_t secs = ns / 1000000000LL;
    int64_t frac = ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        secs -= 1;
    }
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int len;
    if (y >= 0 && y <= 9999) {
        /* Digits by hand: `pycorr events` writes a time per event, and snprintf was
         * a tenth of its run. */
        put_digits(buf, (uint64_t)y, 4);
        buf[4] = '-';
        put_digits(buf + 5, m, 2);
        buf[7] = '-';
        put_digits(buf + 8, d, 2);
        buf[10] = 'T';
        put_digits(buf + 11, (uint64_t)(rem / 3600), 2);
        buf[13] = ':';
        put_digits(buf + 14, (uint64_t)(rem / 60 % 60), 2);
        buf[16] = ':';
        put_digits(buf + 17, (uint64_t)(rem % 60), 2);
        len = 19;
        unsigned width = frac == 0 ? 0 : frac % 1000000 == 0 ? 3 : frac % 1000 == 0 ? 6 : 9;
        if (width > 0) {
            buf[len++] = '.';
            put_digits(buf + len, (uint64_t)(width == 3 ? frac / 1000000 : width == 6 ? frac / 1000 : frac), width);
            len += (int)width;
        }
        buf[len++] = 'Z';
        buf[len] = '\0';
        return buf;
    }
    len = snprintf(buf, EVTIME_BUFSZ, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, m, d,
                   (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    if (len < 0)
        len = 0;
    if (frac != 0) {
        if (frac % 1000000 == 0)
            len += snprintf(buf + len, EVTIME_BUFSZ - (size_t)len, ".%03lld", (long long)(frac / 1000000));
        else if (frac % 1000 == 0)
            len += snprintf(buf + len, EVTIME_BUFSZ - (size_t)len, ".%06lld", (long long)(frac / 1000));
        else
            len += snprintf(buf + len, EVTIME_BUFSZ - (size_t)len, ".%09lld", (long long)frac);
    }
    snprintf(buf + len, EVTIME_BUFSZ - (size_t)len, "Z");
    return buf;
}
