/* pyframe.c -- classify frame paths and name their modules; see pyframe.h. */
#include "pyframe.h"

#include <string.h>

const char *pyframe_class_name(enum pyframe_class c)
{
    switch (c) {
    case PYFRAME_STDLIB: return "stdlib";
    case PYFRAME_THIRD_PARTY: return "third_party";
    case PYFRAME_FROZEN: return "frozen";
    case PYFRAME_SYNTHETIC: return "synthetic";
    case PYFRAME_APP: break;
    }
    return "app";
}

static const char *find(const char *p, size_t n, const char *needle)
{
    /* Every needle starts with a separator, and a path has few: jump from one to
     * the next (a compare at every byte was a tenth of a text log's analysis). */
    size_t k = strlen(needle);
    const char *end = p + n;
    for (const char *q = p; (size_t)(end - q) >= k; q++) {
        q = memchr(q, needle[0], (size_t)(end - q) - k + 1);
        if (q == NULL)
            return NULL;
        if (memcmp(q, needle, k) == 0)
            return q;
    }
    return NULL;
}

/* The end of a "/lib/pythonX.Y/" (or "\Lib\") component, or NULL. */
static const char *stdlib_root(const char *p, size_t n)
{
    const char *s = find(p, n, "/lib/python");
    size_t k = 11;
    if (s == NULL) {
        s = find(p, n, "/lib64/python");
        k = 13;
    }
    /* "python3.11", "python2.7": a version, not "/lib/python_utils/". */
    if (s != NULL && (s + k >= p + n || s[k] < '0' || s[k] > '9'))
        s = NULL;
    if (s != NULL) {
        const char *e = memchr(s + 1, '/', (size_t)(p + n - (s + 1)));
        if (e != NULL) {
            e = memchr(e + 1, '/', (size_t)(p + n - (e + 1)));
            if (e != NULL)
                return e + 1;
        }
    }
    s = find(p, n, "\\Lib\\");
    return s != NULL ? s + 5 : NULL;
}

static const char *site_root(const char *p, size_t n)
{
    static const char *const markers[] = {"/site-packages/", "/dist-packages/", "\\site-packages\\"};
    for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
        const char *s = find(p, n, markers[i]);
        if (s != NULL)
            return s + strlen(markers[i]);
    }
    return NULL;
}

enum pyframe_class pyframe_classify(ev_str file)
{
    const char *p = file.ptr;
    size_t n = file.len;
    if (p == NULL || n == 0)
        return PYFRAME_SYNTHETIC;
    if (p[0] == '<') {
        if (n > 8 && memcmp(p, "<frozen ", 8) == 0)
            return PYFRAME_FROZEN;
        return PYFRAME_SYNTHETIC;
    }
    if (site_root(p, n) != NULL)
        return PYFRAME_THIRD_PARTY;
    if (stdlib_root(p, n) != NULL)
        return PYFRAME_STDLIB;
    return PYFRAME_APP;
}

/* Write a relative path "a/b/c.py" as "a.b.c" (dropping ".py" and "__init__"). */
static size_t dotted(const char *p, size_t n, char *buf, size_t bufsz)
{
    if (n > 3 && memcmp(p + n - 3, ".py", 3) == 0)
        n -= 3;
    if (n >= 9 && (p[n - 9] == '/' || p[n - 9] == '\\') && memcmp(p + n - 8, "__init__", 8) == 0)
        n -= 9;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < bufsz; i++)
        buf[k++] = (p[i] == '/' || p[i] == '\\') ? '.' : p[i];
    buf[k] = '\0';
    return k;
}

size_t pyframe_module(ev_str file, char *buf, size_t bufsz)
{
    const char *p = file.ptr;
    size_t n = file.len;
    if (bufsz == 0)
        return 0;
    buf[0] = '\0';
    if (p == NULL || n == 0)
        return 0;
    if (n > 9 && memcmp(p, "<frozen ", 8) == 0 && p[n - 1] == '>')
        return dotted(p + 8, n - 9, buf, bufsz);
    if (p[0] == '<')
        return dotted(p, n, buf, bufsz);
    const char *root = site_root(p, n);
    if (root == NULL)
        root = stdlib_root(p, n);
    if (root != NULL)
        return dotted(root, (size_t)(p + n - root), buf, bufsz);
    /* Application code: without sys.path the package root is unknown, so name the
     * file's own module; a package's __init__.py is named by its directory. */
    size_t end = n;
    if (end > 3 && memcmp(p + end - 3, ".py", 3) == 0)
        end -= 3;
    size_t start = end;
    while (start > 0 && p[start - 1] != '/' && p[start - 1] != '\\')
        start--;
    if (end - start == 8 && memcmp(p + start, "__init__", 8) == 0 && start > 1) {
        end = start - 1;
        start = end;
        while (start > 0 && p[start - 1] != '/' && p[start - 1] != '\\')
            start--;
    }
    return dotted(p + start, end - start, buf, bufsz);
}
