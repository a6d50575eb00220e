/* ev_packages.c -- names, lookup, copies and JSON of package sets; see ev_packages.h. */
#include "ev_packages.h"

#include <string.h>

#include "ev_json.h"

size_t ev_package_normalize(const char *name, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    bool sep = false;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '-' || c == '_' || c == '.') {
            sep = n > 0;
            continue;
        }
        if (sep && n + 1 < cap)
            out[n++] = '-';
        sep = false;
        if (n + 1 >= cap)
            break;
        out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[n] = '\0';
    return n;
}

static int cmp_name(const char *a, size_t an, ev_str b)
{
    size_t m = an < b.len ? an : b.len;
    int c = memcmp(a, b.ptr, m);
    if (c != 0)
        return c;
    return an < b.len ? -1 : an > b.len ? 1 : 0;
}

const struct ev_package *ev_packages_find(const struct ev_packages *p, const char *name, size_t len)
{
    size_t lo = 0, hi = p != NULL ? p->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_name(name, len, p->pkgs[mid].name);
        if (c == 0)
            return &p->pkgs[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

struct ev_packages *ev_packages_clone(const struct ev_packages *p, struct arena *a)
{
    struct ev_packages *d = arena_alloc(a, sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *p;
    d->pkgs = NULL;
    if (p->n > 0 && (d->pkgs = arena_calloc(a, p->n, sizeof(*d->pkgs))) == NULL)
        return NULL;
    for (uint32_t i = 0; i < p->n; i++) {
        d->pkgs[i].name = ev_str_dup(a, p->pkgs[i].name);
        d->pkgs[i].version = ev_str_dup(a, p->pkgs[i].version);
        if (!ev_str_present(d->pkgs[i].name) || !ev_str_present(d->pkgs[i].version))
            return NULL;
    }
    d->python = ev_str_dup(a, p->python);
    if (ev_str_present(p->python) && !ev_str_present(d->python))
        return NULL;
    return d;
}

json_t *ev_packages_to_json(const struct ev_packages *p)
{
    json_t *o = json_object();
    json_t *pk = json_object();
    if (o == NULL || pk == NULL) {
        json_decref(o);
        json_decref(pk);
        return NULL;
    }
    json_object_set_new(o, "format", json_string(p->format ? p->format : "unknown"));
    if (ev_str_present(p->python))
        json_object_set_new(o, "python", ev_json_str(p->python));
    if (p->reference)
        json_object_set_new(o, "reference", json_true());
    json_object_set_new(o, "total", json_integer((json_int_t)p->total));
    for (uint32_t i = 0; i < p->n; i++) {
        char name[256];
        size_t k = p->pkgs[i].name.len < sizeof(name) - 1 ? p->pkgs[i].name.len : sizeof(name) - 1;
        memcpy(name, p->pkgs[i].name.ptr, k);
        name[k] = '\0';
        json_object_set_new(pk, name, ev_json_str(p->pkgs[i].version));
    }
    json_object_set_new(o, "packages", pk);
    return o;
}
