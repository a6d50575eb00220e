/* traceid.c -- trace id normalization; see traceid.h. */
#include "traceid.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copy exactly want hex digits, skipping dashes when allow_dash; lowercased. */
static size_t take_hex(const char *p, size_t n, size_t want, bool allow_dash, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (allow_dash && p[i] == '-')
            continue;
        int v = hexval(p[i]);
        if (v < 0 || k == want)
            return 0;
        out[k++] = "0123456789abcdef"[v];
    }
    if (k != want)
        return 0;
    out[k] = '\0';
    for (size_t i = 0; i < k; i++)
        if (out[i] != '0')
            return k;
    return 0; /* all zeros */
}

static size_t decimal64(const char *p, size_t n, char out[TRACEID_BUFSZ])
{
    if (n == 0 || n > 20)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (v == 0)
        return 0;
    snprintf(out, TRACEID_BUFSZ, "%016llx", (unsigned long long)v);
    return 16;
}

size_t traceid_from_traceparent(const char *p, size_t n, char out[TRACEID_BUFSZ])
{
    /* version "-" trace-id "-" parent-id "-" flags */
    if (n < 55 || p[2] != '-' || p[35] != '-' || p[52] != '-')
        return 0;
    return take_hex(p + 3, 32, 32, false, out);
}

size_t traceid_normalize(const char *p, size_t n, char out[TRACEID_BUFSZ])
{
    while (n > 0 && (*p == ' ' || *p == '"')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '"'))
        n--;
    if (n == 0)
        return 0;
    static const char gcp[] = "/traces/";
    if (n > 9 && memcmp(p, "projects/", 9) == 0) {
        for (size_t i = 9; i + sizeof(gcp) - 1 <= n; i++)
            if (memcmp(p + i, gcp, sizeof(gcp) - 1) == 0) {
                size_t off = i + sizeof(gcp) - 1;
                return traceid_normalize(p + off, n - off, out);
            }
        return 0;
    }
    if (n == 55 && p[2] == '-')
        return traceid_from_traceparent(p, n, out);
    if (n == 32)
        return take_hex(p, n, 32, false, out);
    if (n == 36 && p[8] == '-' && p[13] == '-')
        return take_hex(p, n, 32, true, out);
    if (n == 16) {
        size_t k = take_hex(p, n, 16, false, out);
        if (k)
            return k;
    }
    return decimal64(p, n, out);
}

size_t spanid_normalize(const char *p, size_t n, char out[TRACEID_BUFSZ])
{
    if (n == 16) {
        size_t k = take_hex(p, n, 16, false, out);
        if (k)
            return k;
    }
    return decimal64(p, n, out);
}
