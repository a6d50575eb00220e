/* termsafe.c -- see termsafe.h. */
#include "termsafe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The length of the character at s[0] (s[0] != 0), and through *bad whether it must
 * be escaped. An invalid sequence is one bad byte. */
static size_t char_at(const unsigned char *s, bool *bad)
{
    unsigned char c = s[0];
    *bad = false;
    if (c < 0x80) {
        *bad = (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f;
        return 1;
    }
    size_t n;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        *bad = true;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) { /* a NUL ends the string here too */
            *bad = true;
            return 1;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *bad = true;
        return 1;
    }
    *bad = cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
    return n;
}

/* The escape of the bad character s[0..n) into out (at least 7 bytes); its length. */
static size_t escape_of(const unsigned char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    if (n == 1) {
        out[0] = '\\', out[1] = 'x', out[2] = hex[s[0] >> 4], out[3] = hex[s[0] & 15];
        return 4;
    }
    uint32_t cp = n == 2 ? (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f)
                         : (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
    out[0] = '\\', out[1] = 'u';
    for (int k = 0; k < 4; k++)
        out[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
    return 6;
}

bool termsafe_ok(const char *s)
{
    if (s == NULL)
        return true;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p >= 0x20 && *p < 0x7f) { /* the common case */
            p++;
            continue;
        }
        bool bad;
        p += char_at(p, &bad);
        if (bad)
            return false;
    }
    return true;
}

char *termsafe_dup(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len * 6 + 1); /* at most \xhh for each byte, or \uhhhh for two */
    if (out == NULL)
        return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        bool bad;
        size_t n = char_at(p, &bad);
        if (bad)
            o += escape_of(p, n, out + o);
        else
            memcpy(out + o, p, n), o += n;
        p += n;
    }
    out[o] = '\0';
    return out;
}

void termsafe_fputs(const char *s, FILE *out)
{
    if (termsafe_ok(s)) {
        fputs(s, out);
        return;
    }
    char *e = termsafe_dup(s);
    fputs(e != NULL ? e : "?", out);
    free(e);
}

static bool json_ok(const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return termsafe_ok(json_string_value(v));
    case JSON_ARRAY:
        json_array_foreach(v, i, x) if (!json_ok(x)) return false;
        return true;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, k, x) if (!termsafe_ok(k) || !json_ok(x)) return false;
        return true;
    default:
        return true;
    }
}

static json_t *json_escaped(json_t *v)
{
    const char *k;
    json_t *x, *out;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_STRING: {
        if (termsafe_ok(json_string_value(v)))
            return json_incref(v);
        char *e = termsafe_dup(json_string_value(v));
        out = e != NULL ? json_string(e) : NULL;
        free(e);
        return out;
    }
    case JSON_ARRAY:
        if ((out = json_array()) == NULL)
            return NULL;
        json_array_foreach(v, i, x) if (json_array_append_new(out, json_escaped(x)) != 0) goto fail;
        return out;
    case JSON_OBJECT:
        if ((out = json_object()) == NULL)
            return NULL;
        json_object_foreach(v, k, x) {
            char *ek = termsafe_ok(k) ? NULL : termsafe_dup(k);
            if (!termsafe_ok(k) && ek == NULL)
                goto fail;
            int rc = json_object_set_new(out, ek != NULL ? ek : k, json_escaped(x));
            free(ek);
            if (rc != 0)
                goto fail;
        }
        return out;
    default:
        return json_incref(v);
    }
fail:
    json_decref(out);
    return NULL;
}

json_t *termsafe_json(json_t *v)
{
    if (v == NULL)
        return NULL;
    return json_ok(v) ? json_incref(v) : json_escaped(v);
}

static bool finding_ok(const struct finding *f)
{
    if (!termsafe_ok(f->title) || !termsafe_ok(f->trace_id) || !termsafe_ok(f->service) || !termsafe_ok(f->host))
        return false;
    for (size_t i = 0; i < f->nsources; i++)
        if (!termsafe_ok(f->sources[i].stream))
            return false;
    return (f->evidence == NULL || json_ok(f->evidence)) && (f->tags == NULL || json_ok(f->tags));
}

/* *dst escaped from src, or src itself; false on ENOMEM. */
static bool field(char **dst, char *src)
{
    *dst = src;
    if (termsafe_ok(src))
        return true;
    return (*dst = termsafe_dup(src)) != NULL;
}

const struct finding *termsafe_finding(const struct finding *f, struct finding *tmp)
{
    if (finding_ok(f))
        return f;
    *tmp = *f;
    tmp->evidence = tmp->tags = NULL;
    tmp->title = tmp->trace_id = tmp->service = tmp->host = NULL;
    tmp->nsources = 0;
    bool ok = field(&tmp->title, f->title) && field(&tmp->trace_id, f->trace_id) &&
              field(&tmp->service, f->service) && field(&tmp->host, f->host);
    for (size_t i = 0; ok && i < f->nsources; i++) {
        ok = field(&tmp->sources[i].stream, f->sources[i].stream);
        tmp->nsources = ok ? i + 1 : i;
    }
    if (ok && f->evidence != NULL)
        ok = (tmp->evidence = termsafe_json(f->evidence)) != NULL;
    if (ok && f->tags != NULL)
        ok = (tmp->tags = termsafe_json(f->tags)) != NULL;
    if (!ok) {
        termsafe_finding_done(tmp, f);
        return NULL;
    }
    return tmp;
}

static void drop(char *copy, const char *orig)
{
    if (copy != orig)
        free(copy);
}

void termsafe_finding_done(const struct finding *shown, const struct finding *f)
{
    if (shown == NULL || shown == f)
        return;
    struct finding *t = (struct finding *)shown;
    drop(t->title, f->title);
    drop(t->trace_id, f->trace_id);
    drop(t->service, f->service);
    drop(t->host, f->host);
    for (size_t i = 0; i < t->nsources; i++)
        drop(t->sources[i].stream, f->sources[i].stream);
    json_decref(t->evidence);
    json_decref(t->tags);
}
