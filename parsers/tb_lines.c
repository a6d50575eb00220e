/* tb_lines.c -- traceback line recognizers; see tb_lines.h. */
#include "tb_lines.h"

#include <string.h>

#define LIT_EQ(p, n, lit) ((n) == sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

size_t tbl_rtrim(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    return n;
}

bool tbl_is_header(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    return LIT_EQ(p, n, "Traceback (most recent call last):");
}

bool tbl_is_stack_header(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    return LIT_EQ(p, n, "Stack (most recent call last):");
}

bool tbl_is_group_header(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    return LIT_EQ(p, n, "Exception Group Traceback (most recent call last):");
}

enum tb_sep tbl_separator(const char *p, size_t n)
{
    n = tbl_rtrim(p, n);
    if (LIT_EQ(p, n, "The above exception was the direct cause of the following exception:"))
        return TB_SEP_CAUSE;
    if (LIT_EQ(p, n, "During handling of the above exception, another exception occurred:"))
        return TB_SEP_CONTEXT;
    return TB_SEP_NONE;
}

bool tbl_is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

size_t tbl_indent(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] == ' ')
        i++;
    return i;
}

uint32_t tbl_digits(const char *p, size_t n, size_t *used)
{
    uint32_t v = 0;
    size_t k = 0;
    while (k < n && p[k] >= '0' && p[k] <= '9') {
        if (v < 100000000u)
            v = v * 10 + (uint32_t)(p[k] - '0');
        k++;
    }
    *used = k;
    return v;
}

bool tbl_path_line(const char *p, size_t n, size_t *path_len, uint32_t *line)
{
    size_t colon = n;
    while (colon > 0 && p[colon - 1] != ':')
        colon--;
    if (colon < 2)
        return false;
    size_t used;
    *line = tbl_digits(p + colon, n - colon, &used);
    *path_len = colon - 1;
    return used > 0 && colon + used == n;
}

/* IPython 8's own location lines, in its Plain mode and before a SyntaxError:
 * "Cell In[1], line 2" (", in f" after it for a frame) and "File PATH:LINE" (" in f"
 * after it). p[i..n) is the line past its indent. */
static bool ipython_location(const char *p, size_t n, size_t i, struct tbl_frame *out)
{
    const char *end = p + tbl_rtrim(p, n);
    const char *s = p + i, *func = NULL;
    size_t used;
    uint32_t line;
    if (end - s > 8 && memcmp(s, "Cell In[", 8) == 0) {
        const char *close = memchr(s + 8, ']', (size_t)(end - s - 8));
        if (close == NULL || end - close < 8 || memcmp(close + 1, ", line ", 7) != 0)
            return false;
        line = tbl_digits(close + 8, (size_t)(end - close - 8), &used);
        const char *d = close + 8 + used;
        if (used == 0 || (d < end && (end - d < 6 || memcmp(d, ", in ", 5) != 0)))
            return false;
        func = d < end ? d + 5 : NULL;
        out->file = s;
        out->file_len = (size_t)(close + 1 - s);
    } else if (end - s > 7 && memcmp(s, "File ", 5) == 0 && s[5] != '"' && s[5] != ' ') {
        const char *in = NULL;
        for (const char *q = s + 5; q + 4 <= end && in == NULL; q++)
            if (memcmp(q, " in ", 4) == 0)
                in = q;
        const char *loc_end = in != NULL ? in : end;
        size_t path_len;
        if (!tbl_path_line(s + 5, (size_t)(loc_end - (s + 5)), &path_len, &line) ||
            memchr(s + 5, ' ', path_len) != NULL)
            return false;
        func = in != NULL && end - in > 4 ? in + 4 : NULL;
        out->file = s + 5;
        out->file_len = path_len;
    } else {
        return false;
    }
    out->line = line;
    out->func = func;
    out->func_len = func != NULL ? (size_t)(end - func) : 0;
    return true;
}

bool tbl_frame(const char *p, size_t n, struct tbl_frame *out)
{
    static const char lead[] = "File \"";
    size_t i = tbl_indent(p, n);
    if (i == 0 && n > 2 && p[0] == '>' && p[1] == ' ')
        i = 2; /* loguru marks the frame that caught the exception: "> File ..." */
    if (i < 2 || n - i < sizeof(lead) - 1)
        return false;
    if (memcmp(p + i, lead, sizeof(lead) - 1) != 0)
        return (p[i] == 'C' || p[i] == 'F') && ipython_location(p, n, i, out);
    const char *file = p + i + sizeof(lead) - 1;
    const char *end = p + n;
    /* The file name may itself contain '"'; the marker '", line ' ends it. */
    const char *q = NULL;
    for (const char *s = file; s + 8 <= end; s++)
        if (memcmp(s, "\", line ", 8) == 0) {
            q = s;
            break;
        }
    if (q == NULL)
        return false;
    const char *d = q + 8;
    uint32_t line = 0;
    const char *dstart = d;
    while (d < end && *d >= '0' && *d <= '9') {
        if (line < 100000000u)
            line = line * 10 + (uint32_t)(*d - '0');
        d++;
    }
    if (d == dstart)
        return false;
    out->file = file;
    out->file_len = (size_t)(q - file);
    out->line = line;
    out->func = NULL;
    out->func_len = 0;
    if (d == end || tbl_rtrim(d, (size_t)(end - d)) == 0)
        return true;
    if (end - d >= 5 && memcmp(d, ", in ", 5) == 0) {
        out->func = d + 5;
        out->func_len = tbl_rtrim(d + 5, (size_t)(end - d - 5));
        return true;
    }
    return false;
}

bool tbl_repeat_marker(const char *p, size_t n, uint32_t *count)
{
    static const char lead[] = "[Previous line repeated ";
    size_t i = tbl_indent(p, n);
    n = tbl_rtrim(p, n);
    if (n < i + sizeof(lead) - 1 || memcmp(p + i, lead, sizeof(lead) - 1) != 0)
        return false;
    size_t j = i + sizeof(lead) - 1;
    uint32_t v = 0;
    size_t start = j;
    while (j < n && p[j] >= '0' && p[j] <= '9') {
        if (v < 100000000u)
            v = v * 10 + (uint32_t)(p[j] - '0');
        j++;
    }
    if (j == start)
        return false;
    static const char tail1[] = " more times]";
    static const char tail2[] = " more time]";
    if (!((n - j == sizeof(tail1) - 1 && memcmp(p + j, tail1, n - j) == 0) ||
          (n - j == sizeof(tail2) - 1 && memcmp(p + j, tail2, n - j) == 0)))
        return false;
    *count = v;
    return true;
}

static bool ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (unsigned char)c >= 0x80;
}

static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

bool tbl_exception_line(const char *p, size_t n, bool strict, size_t *type_len,
                        const char **msg, size_t *msg_len)
{
    if (n == 0 || !ident_start(p[0]))
        return false;
    size_t i = 0, last_comp = 0;
    bool dotted = false;
    for (;;) {
        /* One dotted component: an identifier or "<locals>". */
        if (i < n && p[i] == '<') {
            static const char loc[] = "<locals>";
            if (n - i < sizeof(loc) - 1 || memcmp(p + i, loc, sizeof(loc) - 1) != 0)
                return false;
            i += sizeof(loc) - 1;
        } else {
            if (i >= n || !ident_start(p[i]))
                return false;
            last_comp = i;
            while (i < n && ident_char(p[i]))
                i++;
        }
        if (i < n && p[i] == '.') {
            dotted = true;
            i++;
            continue;
        }
        break;
    }
    size_t tl = i;
    const char *m = p + n;
    size_t ml = 0;
    if (i == n) {
        /* bare type */
    } else if (p[i] == ':') {
        if (i + 1 == n) {
            m = p + n;
        } else if (p[i + 1] == ' ') {
            m = p + i + 2;
            ml = n - i - 2;
        } else {
            return false;
        }
    } else {
        return false;
    }
    if (strict && !dotted) {
        /* Exception classes are CamelCase by convention; a bare lowercase word
         * followed by ": text" is far more often a log line than a type. */
        char c = p[last_comp];
        if (!(c >= 'A' && c <= 'Z'))
            return false;
    }
    if (strict && dotted) {
        /* "socket.gaierror" is real; "e.g: blah" is not: the last component must
         * be at least two characters. */
        if (tl - last_comp < 2)
            return false;
    }
    *type_len = tl;
    *msg = m;
    *msg_len = ml;
    return true;
}

bool tbl_margin(const char *p, size_t n, unsigned d, const char **content, size_t *content_len)
{
    if (d == 0) {
        *content = p;
        *content_len = n;
        return true;
    }
    size_t sp = 2u * d;
    if (n < sp + 1)
        return false;
    for (size_t i = 0; i < sp; i++)
        if (p[i] != ' ')
            return false;
    if (p[sp] != '|' && p[sp] != '+')
        return false;
    /* "+-+----" and "+-----" are group separators, not a "+ " margin. */
    if (p[sp] == '+' && sp + 1 < n && p[sp + 1] != ' ')
        return false;
    size_t off = sp + 1;
    if (off < n && p[off] == ' ')
        off++;
    *content = p + off;
    *content_len = n - off;
    return true;
}

bool tbl_is_group_structure(const char *p, size_t n)
{
    size_t i = tbl_indent(p, n);
    return i >= 2 && i % 2 == 0 && i < n && (p[i] == '|' || p[i] == '+');
}

#define LIT_STARTS(p, n, lit) ((n) >= sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

enum tbl_intro tbl_introducer(const char *p, size_t n)
{
    /* Asked of every record's message: most lines fail on the first byte. */
    if (n < 8 || (p[0] != 'E' && p[0] != 'P' && p[0] != 'T' && p[0] != 'F' && p[0] != 'f' && p[0] != 'h' &&
                  p[0] != 'p' && p[0] != 't' && p[0] != 's'))
        return TBL_INTRO_NONE;
    n = tbl_rtrim(p, n);
    if (n < 8)
        return TBL_INTRO_NONE;
    if (LIT_STARTS(p, n, "Exception in thread ") && n > 21 && p[n - 1] == ':')
        return TBL_INTRO_THREAD;
    /* sys.unraisablehook's "Exception ignored WHERE: OBJ" (WHERE is "in", "in atexit
     * callback", "on calling ctypes callback function", "while ..." by version). */
    if ((LIT_STARTS(p, n, "Exception ignored ") && memchr(p, ':', n) != NULL) ||
        LIT_EQ(p, n, "Error in atexit._run_exitfuncs:"))
        return TBL_INTRO_UNRAISABLE;
    if (LIT_STARTS(p, n, "Process ") && n > 9 && n <= 72 && p[n - 1] == ':' && memchr(p + 8, ' ', n - 9) == NULL)
        return TBL_INTRO_PROCESS;
    if (LIT_EQ(p, n, "Task exception was never retrieved") || LIT_EQ(p, n, "Future exception was never retrieved") ||
        (LIT_STARTS(p, n, "Exception in callback ") && n > 22) || LIT_STARTS(p, n, "Fatal error: protocol.") ||
        LIT_STARTS(p, n, "Fatal error on ") || LIT_STARTS(p, n, "Fatal read error on ") ||
        LIT_STARTS(p, n, "Fatal write error on "))
        return TBL_INTRO_ASYNCIO;
    if (LIT_STARTS(p, n, "future: <") || LIT_STARTS(p, n, "handle: <") || LIT_STARTS(p, n, "protocol: <") ||
        LIT_STARTS(p, n, "transport: <") || LIT_STARTS(p, n, "socket: <"))
        return TBL_INTRO_ASYNCIO_CONTEXT;
    return TBL_INTRO_NONE;
}

bool tbl_is_runner_line(const char *p, size_t n)
{
    if (n >= 5 && p[0] == '#' && p[1] == '#' && p[2] == '[') {
        const char *e = memchr(p + 3, ']', n - 3 < 24 ? n - 3 : 24);
        return e != NULL && e > p + 3;
    }
    if (n >= 5 && p[0] == ':' && p[1] == ':') {
        size_t i = 2;
        while (i < n && i < 24 && ((p[i] >= 'a' && p[i] <= 'z') || p[i] == '-'))
            i++;
        return i > 2 && i < n && (p[i] == ':' || p[i] == ' ');
    }
    return false;
}

bool tbl_is_caught_marker(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    n = tbl_rtrim(p, n);
    return LIT_EQ(p + i, n - i, "--- <exception caught here> ---");
}

ev_str tbl_type(const char *p, size_t type_len)
{
    if (type_len > 9 && memcmp(p, "builtins.", 9) == 0)
        return ev_str_make(p + 9, type_len - 9);
    return ev_str_make(p, type_len);
}

bool tbl_message_line(const char *p, size_t n)
{
    return (n > 6 && p[0] == '[' && (LIT_STARTS(p, n, "[SQL: ") || LIT_STARTS(p, n, "[parameters: "))) ||
           (n > 31 && p[0] == '(' && LIT_STARTS(p, n, "(Background on this error at: "));
}

bool tbl_message_spans_lines(const char *msg, size_t n)
{
    n = tbl_rtrim(msg, n);
    size_t i = 0;
    while (i < n && msg[i] >= '0' && msg[i] <= '9')
        i++;
    if (i == 0 || i > 6)
        return false;
    const char *r = msg + i;
    size_t rn = n - i;
    size_t k = LIT_STARTS(r, rn, " validation errors for ") ? 23 : LIT_STARTS(r, rn, " validation error for ") ? 22 : 0;
    return k > 0 && k < rn && memchr(r + k, ' ', rn - k) == NULL;
}
