/* test_tb.c -- the traceback grammar (tb_parse_text) and the streaming assembler
 * (tb_asm_*), one layout at a time, with the limits that keep hostile input bounded.
 * The corpus golden test covers real files end to end; these pin each rule alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "correlate/arena.h"
#include "correlate/event.h"
#include "parsers/ipython_tb.h"
#include "parsers/pytest_tb.h"
#include "parsers/rich_tb.h"
#include "parsers/tb.h"
#include "parsers/tb_asm.h"
#include "parsers/tb_lines.h"
#include "parsers/tb_private.h"

/* ---- helpers ---------------------------------------------------------------------- */

static void assert_str(ev_str s, const char *want)
{
    if (!ev_str_eq(s, want))
        fail_msg("got '%.*s' (%u bytes, %s), want '%s'", (int)(s.len > 200 ? 200 : s.len),
                 s.ptr ? s.ptr : "", s.len, s.ptr ? "present" : "absent", want);
}

struct parsed {
    struct arena a;
    struct ev_exception x;
    int rc;
};

static void parse(struct parsed *p, const char *text, const struct parse_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->rc = tb_parse_text(text, strlen(text), lim, &p->a, &p->x);
}

static const struct ev_exc *exc_at(const struct parsed *p, uint32_t i)
{
    assert_true(i < p->x.chain.n);
    return &p->x.chain.exc[i];
}

/* ---- tb_parse_text: one layout each ------------------------------------------------ */

static void test_simple(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/svc/main.py\", line 12, in <module>\n"
          "    main()\n"
          "  File \"/opt/app/svc/main.py\", line 8, in main\n"
          "    return {}[\"k\"]\n"
          "           ~~^^^^^\n"
          "KeyError: 'k'\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->type, "KeyError");
    assert_str(e->message, "'k'");
    assert_int_equal(e->relation, EV_REL_ROOT);
    assert_int_equal(e->nframes, 2);
    assert_int_equal(e->frames_total, 2);
    assert_str(e->frames[0].file, "/opt/app/svc/main.py");
    assert_str(e->frames[0].function, "<module>");
    assert_int_equal(e->frames[0].line, 12);
    assert_str(e->frames[1].function, "main");
    assert_int_equal(e->frames[1].line, 8);
    assert_int_equal(e->nnotes, 0);
    assert_false(e->has_syntax);
    assert_null(e->group);
    arena_free(&p.a);

    /* CRLF line ends and no final newline. */
    parse(&p,
          "Traceback (most recent call last):\r\n"
          "  File \"a.py\", line 1, in f\r\n"
          "ValueError: x\r",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_str(exc_at(&p, 0)->message, "x");
    assert_str(exc_at(&p, 0)->frames[0].function, "f");
    arena_free(&p.a);

    /* No traceback at all. */
    parse(&p, "just a log line\nand another\n", NULL);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.x.chain.n, 0);
    arena_free(&p.a);
    parse(&p, "", NULL);
    assert_int_equal(p.rc, 0);
    arena_free(&p.a);
}

static void test_cause_and_context(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/a.py\", line 3, in load\n"
          "    return int(raw)\n"
          "ValueError: invalid literal for int() with base 10: 'x'\n"
          "\n"
          "The above exception was the direct cause of the following exception:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/a.py\", line 9, in main\n"
          "    load()\n"
          "mypkg.errors.DataError: bad row\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 2);
    assert_str(exc_at(&p, 0)->type, "ValueError");
    assert_int_equal(exc_at(&p, 0)->relation, EV_REL_ROOT);
    assert_str(exc_at(&p, 1)->type, "mypkg.errors.DataError");
    assert_str(exc_at(&p, 1)->message, "bad row");
    assert_int_equal(exc_at(&p, 1)->relation, EV_REL_CAUSE);
    assert_int_equal(exc_at(&p, 1)->nframes, 1);
    arena_free(&p.a);

    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/a.py\", line 3, in f\n"
          "KeyError: 'x'\n"
          "\n"
          "During handling of the above exception, another exception occurred:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/a.py\", line 5, in f\n"
          "NameError: name 'y' is not defined\n",
          NULL);
    assert_int_equal(p.x.chain.n, 2);
    assert_int_equal(exc_at(&p, 1)->relation, EV_REL_CONTEXT);
    assert_str(exc_at(&p, 1)->type, "NameError");
    arena_free(&p.a);
}

static void test_chain_of_four(void **state)
{
    (void)state;
    static const char *const types[] = {"OSError", "ValueError", "KeyError", "RuntimeError"};
    static const char *const seps[] = {
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    };
    char text[4096];
    size_t o = 0;
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "\n%s\n\n", seps[i - 1]);
        o += (size_t)snprintf(text + o, sizeof(text) - o,
                              "Traceback (most recent call last):\n"
                              "  File \"/opt/app/l%d.py\", line %d, in level%d\n"
                              "    step()\n"
                              "%s: level %d\n",
                              i, 10 + i, i, types[i], i);
    }
    struct parsed p;
    parse(&p, text, NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 4);
    const enum ev_relation rel[] = {EV_REL_ROOT, EV_REL_CAUSE, EV_REL_CONTEXT, EV_REL_CAUSE};
    for (uint32_t i = 0; i < 4; i++) {
        const struct ev_exc *e = exc_at(&p, i);
        assert_str(e->type, types[i]);
        assert_int_equal(e->relation, rel[i]);
        assert_int_equal(e->nframes, 1);
        assert_int_equal(e->frames[0].line, 10 + i);
        char msg[32];
        snprintf(msg, sizeof(msg), "level %u", i);
        assert_str(e->message, msg);
    }
    arena_free(&p.a);

    /* max_chain keeps the first exceptions and says so only through the count. */
    struct parse_limits lim = parse_limits_default;
    lim.max_chain = 2;
    parse(&p, text, &lim);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 2);
    assert_str(exc_at(&p, 1)->type, "ValueError");
    arena_free(&p.a);
}

/* A group three levels deep, written as CPython 3.11 prints it: a nested group that
 * is the last member closes once, at the innermost level. */
static const char nested_group[] =
    "  + Exception Group Traceback (most recent call last):\n"
    "  |   File \"/opt/app/a.py\", line 10, in main\n"
    "  |     raise ExceptionGroup(\"top\", [mid, KeyError(\"k\")])\n"
    "  | ExceptionGroup: top (2 sub-exceptions)\n"
    "  +-+---------------- 1 ----------------\n"
    "    | Exception Group Traceback (most recent call last):\n"
    "    |   File \"/opt/app/a.py\", line 20, in mid\n"
    "    |     raise ExceptionGroup(\"mid\", [low])\n"
    "    | ExceptionGroup: mid (1 sub-exception)\n"
    "    +-+---------------- 1 ----------------\n"
    "      | Exception Group Traceback (most recent call last):\n"
    "      |   File \"/opt/app/a.py\", line 30, in low\n"
    "      |     raise ExceptionGroup(\"low\", [ValueError(\"deep\")])\n"
    "      | ExceptionGroup: low (1 sub-exception)\n"
    "      +-+---------------- 1 ----------------\n"
    "        | Traceback (most recent call last):\n"
    "        |   File \"/opt/app/a.py\", line 40, in leaf\n"
    "        |     raise ValueError(\"deep\")\n"
    "        | ValueError: deep\n"
    "        +------------------------------------\n"
    "    +---------------- 2 ----------------\n"
    "    | KeyError: 'k'\n"
    "    +------------------------------------\n";

static void test_group_nested_three(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, nested_group, NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    const struct ev_exc *top = exc_at(&p, 0);
    assert_str(top->type, "ExceptionGroup");
    assert_str(top->message, "top (2 sub-exceptions)");
    assert_int_equal(top->nframes, 1);
    assert_int_equal(top->frames[0].line, 10);
    assert_non_null(top->group);
    assert_int_equal(top->group->n, 2);
    assert_int_equal(top->group->more_exceptions, 0);
    assert_false(top->group->depth_truncated);

    const struct ev_chain *m0 = &top->group->members[0];
    assert_int_equal(m0->n, 1);
    assert_str(m0->exc[0].message, "mid (1 sub-exception)");
    assert_int_equal(m0->exc[0].frames[0].line, 20);
    assert_non_null(m0->exc[0].group);
    assert_int_equal(m0->exc[0].group->n, 1);

    const struct ev_exc *low = &m0->exc[0].group->members[0].exc[0];
    assert_str(low->message, "low (1 sub-exception)");
    assert_non_null(low->group);
    assert_int_equal(low->group->n, 1);
    const struct ev_exc *leaf = &low->group->members[0].exc[0];
    assert_str(leaf->type, "ValueError");
    assert_str(leaf->message, "deep");
    assert_int_equal(leaf->nframes, 1);
    assert_str(leaf->frames[0].function, "leaf");
    assert_null(leaf->group);

    const struct ev_chain *m1 = &top->group->members[1];
    assert_int_equal(m1->n, 1);
    assert_str(m1->exc[0].type, "KeyError");
    assert_str(m1->exc[0].message, "'k'");
    assert_int_equal(m1->exc[0].nframes, 0);
    arena_free(&p.a);

    /* max_group_depth 2: the third level is cut and marked, not parsed. */
    struct parse_limits lim = parse_limits_default;
    lim.max_group_depth = 2;
    parse(&p, nested_group, &lim);
    assert_int_equal(p.rc, 1);
    const struct ev_group *g2 = exc_at(&p, 0)->group->members[0].exc[0].group;
    assert_non_null(g2);
    const struct ev_exc *low2 = &g2->members[0].exc[0];
    assert_str(low2->message, "low (1 sub-exception)");
    assert_non_null(low2->group);
    assert_int_equal(low2->group->n, 0);
    assert_true(low2->group->depth_truncated);
    assert_int_equal(exc_at(&p, 0)->group->n, 2); /* the sibling is still there */
    arena_free(&p.a);

    /* max_group_members 1: only the first member of each group is kept. */
    lim = parse_limits_default;
    lim.max_group_members = 1;
    parse(&p, nested_group, &lim);
    assert_int_equal(exc_at(&p, 0)->group->n, 1);
    arena_free(&p.a);
}

static void test_group_more_and_stackless(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "  + Exception Group Traceback (most recent call last):\n"
          "  |   File \"/opt/app/imp.py\", line 5, in run\n"
          "  | ExceptionGroup: import failed (3 sub-exceptions)\n"
          "  +-+---------------- 1 ----------------\n"
          "    | Traceback (most recent call last):\n"
          "    |   File \"/opt/app/imp.py\", line 3, in run\n"
          "    | ValueError: row 1\n"
          "    +---------------- ... ----------------\n"
          "    | and 2 more exceptions\n"
          "    +------------------------------------\n",
          NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_group *g = exc_at(&p, 0)->group;
    assert_non_null(g);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->more_exceptions, 2);
    assert_str(g->members[0].exc[0].message, "row 1");
    arena_free(&p.a);

    /* A group that was never raised has no stack: its exception line opens it. */
    parse(&p,
          "  | ExceptionGroup: eg (2 sub-exceptions)\n"
          "  +-+---------------- 1 ----------------\n"
          "    | ValueError: a\n"
          "    +---------------- 2 ----------------\n"
          "    | TypeError: b\n"
          "    +------------------------------------\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    assert_str(exc_at(&p, 0)->type, "ExceptionGroup");
    assert_int_equal(exc_at(&p, 0)->nframes, 0);
    g = exc_at(&p, 0)->group;
    assert_non_null(g);
    assert_int_equal(g->n, 2);
    assert_str(g->members[0].exc[0].type, "ValueError");
    assert_str(g->members[1].exc[0].type, "TypeError");
    assert_str(g->members[1].exc[0].message, "b");
    arena_free(&p.a);
}

static void test_notes_vs_multiline_message(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/w.py\", line 110, in run\n"
          "    raise ValueError(msg)\n"
          "ValueError: 3 rows rejected:\n"
          "  row 3: missing sku\n"
          "  row 9: qty 'x' is not a number\n"
          "while importing prices.csv\n"
          "row 118, column 'unit_price'\n",
          NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->message, "3 rows rejected:\n  row 3: missing sku\n  row 9: qty 'x' is not a number");
    assert_int_equal(e->nnotes, 2);
    assert_str(e->notes[0], "while importing prices.csv");
    assert_str(e->notes[1], "row 118, column 'unit_price'");
    arena_free(&p.a);

    /* After the first note, an indented line is a note too, not message. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "ValueError: one\n"
          "note\n"
          "  indented note\n",
          NULL);
    e = exc_at(&p, 0);
    assert_str(e->message, "one");
    assert_int_equal(e->nnotes, 2);
    assert_str(e->notes[1], "  indented note");
    arena_free(&p.a);

    /* A line that introduces the next report ends the notes: not a note itself. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "ValueError: one\n"
          "note\n"
          "Exception ignored in: <function C.__del__ at 0x7f00>\n"
          "later\n",
          NULL);
    e = exc_at(&p, 0);
    assert_int_equal(e->nnotes, 1);
    assert_str(e->notes[0], "note");
    arena_free(&p.a);

    /* A blank line inside a message that a separator does not follow is message. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "ValueError: para one\n"
          "\n"
          "  para two\n",
          NULL);
    assert_str(exc_at(&p, 0)->message, "para one\n\n  para two");
    arena_free(&p.a);
}

static void test_quoted_remote_traceback(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "concurrent.futures.process._RemoteTraceback: \n"
          "\"\"\"\n"
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/pool.py\", line 11, in region_total\n"
          "    return sum(rows)\n"
          "TypeError: unsupported operand\n"
          "\n"
          "The above exception was the direct cause of the following exception:\n"
          "\n"
          "not a separator of the outer chain\n"
          "\"\"\"\n"
          "\n"
          "The above exception was the direct cause of the following exception:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/pool.py\", line 22, in build_report\n"
          "TypeError: unsupported operand\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 2);
    const struct ev_exc *r = exc_at(&p, 0);
    assert_str(r->type, "concurrent.futures.process._RemoteTraceback");
    assert_int_equal(r->nframes, 0);
    /* The quoted text, separators and all, is the root's message. */
    assert_true(r->message.len > 0);
    assert_non_null(memmem(r->message.ptr, r->message.len, "line 11, in region_total", 24));
    assert_non_null(memmem(r->message.ptr, r->message.len, "not a separator", 15));
    assert_int_equal(memcmp(r->message.ptr + r->message.len - 3, "\"\"\"", 3), 0);
    const struct ev_exc *o = exc_at(&p, 1);
    assert_str(o->type, "TypeError");
    assert_int_equal(o->relation, EV_REL_CAUSE);
    assert_int_equal(o->nframes, 1);
    assert_int_equal(o->frames[0].line, 22);
    /* The quoted traceback is also read: the worker's chain, as printed there. */
    assert_non_null(r->remote);
    assert_int_equal(r->remote->n, 1);
    assert_str(r->remote->exc[0].type, "TypeError");
    assert_int_equal(r->remote->exc[0].nframes, 1);
    assert_str(r->remote->exc[0].frames[0].function, "region_total");
    assert_null(o->remote);
    arena_free(&p.a);

    /* An unterminated quote swallows the rest without running off the end. */
    parse(&p,
          "pkg._RemoteTraceback: \n"
          "\"\"\"\n"
          "Traceback (most recent call last):\n"
          "  File \"x.py\", line 1, in f\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    assert_non_null(memmem(exc_at(&p, 0)->message.ptr, exc_at(&p, 0)->message.len, "x.py", 4));
    arena_free(&p.a);
}

/* A worker of a worker: a quoted traceback quoting another (a ProcessPoolExecutor
 * worker whose multiprocessing.Pool worker failed, as CPython 3.11 printed it). The
 * inner quote is told from the close of the outer by the carrier line before it.
 * Quotes nested deeper than the parser reads stay text, without harm. */
static void test_nested_remote_tracebacks(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "concurrent.futures.process._RemoteTraceback: \n"
          "\"\"\"\n"
          "multiprocessing.pool.RemoteTraceback: \n"
          "\"\"\"\n"
          "Traceback (most recent call last):\n"
          "  File \"/srv/app/pool_app.py\", line 9, in parse_row\n"
          "    return int(row)\n"
          "ValueError: invalid literal for int() with base 10: 'xeu'\n"
          "\"\"\"\n"
          "\n"
          "The above exception was the direct cause of the following exception:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/srv/app/pool_app.py\", line 14, in total\n"
          "    return sum(pool.map(parse_row, rows))\n"
          "ValueError: invalid literal for int() with base 10: 'xeu'\n"
          "\"\"\"\n"
          "\n"
          "The above exception was the direct cause of the following exception:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/srv/app/pool_app.py\", line 19, in region_report\n"
          "    return ex.submit(total, rows).result()\n"
          "ValueError: invalid literal for int() with base 10: 'xeu'\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 2);
    const struct ev_exc *carrier = exc_at(&p, 0);
    assert_str(carrier->type, "concurrent.futures.process._RemoteTraceback");
    assert_non_null(carrier->remote);
    assert_int_equal(carrier->remote->n, 2);
    const struct ev_exc *inner = &carrier->remote->exc[0];
    assert_str(inner->type, "multiprocessing.pool.RemoteTraceback");
    assert_non_null(inner->remote);
    assert_int_equal(inner->remote->n, 1);
    assert_str(inner->remote->exc[0].frames[0].function, "parse_row");
    assert_str(carrier->remote->exc[1].frames[0].function, "total");
    assert_int_equal(carrier->remote->exc[1].relation, EV_REL_CAUSE);
    assert_str(exc_at(&p, 1)->frames[0].function, "region_report");
    arena_free(&p.a);

    /* Twelve carriers deep: read four deep, the rest kept as the message. */
    char text[4096];
    size_t k = 0;
    for (int i = 0; i < 12; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "pkg.RemoteTraceback%d: \n\"\"\"\n", i);
    k += (size_t)snprintf(text + k, sizeof(text) - k,
                          "Traceback (most recent call last):\n  File \"w.py\", line 1, in f\nKeyError: 'k'\n");
    for (int i = 0; i < 12; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "\"\"\"\n");
    parse(&p, text, NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    int depth = 0;
    while (e->remote != NULL) {
        assert_int_equal(e->remote->n, 1);
        e = &e->remote->exc[0];
        depth++;
    }
    assert_int_equal(depth, 4);
    assert_non_null(memmem(e->message.ptr, e->message.len, "KeyError: 'k'", 13));
    arena_free(&p.a);
}

/* IPython 8 prints a SyntaxError with its own location lines: "Cell In[1], line 1"
 * for a cell, "File PATH:LINE" for a file (and frames in its Plain mode as "File
 * PATH:LINE in f", a cell's frame at module level as "Cell In[1], line 1"). */
static void test_ipython_syntax_locations(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "  Cell In[1], line 1\n"
          "    x = = 1\n"
          "        ^\n"
          "SyntaxError: invalid syntax\n",
          NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->type, "SyntaxError");
    assert_true(e->has_syntax);
    assert_str(e->syntax.filename, "Cell In[1]");
    assert_int_equal(e->syntax.lineno, 1);
    assert_str(e->syntax.text, "x = = 1");
    assert_int_equal(e->syntax.offset, 5);
    assert_int_equal(e->nframes, 0);
    arena_free(&p.a);

    parse(&p,
          "Traceback (most recent call last):\n"
          "\n"
          "  File ~/lib/IPython/core/interactiveshell.py:3508 in run_code\n"
          "    exec(code_obj, self.user_global_ns, self.user_ns)\n"
          "\n"
          "  Cell In[1], line 1\n"
          "    exec(open('/tmp/b/syn2.ipy').read())\n"
          "\n"
          "  File <string>:2\n"
          "    return 1 +\n"
          "              ^\n"
          "SyntaxError: invalid syntax\n",
          NULL);
    assert_int_equal(p.rc, 1);
    e = exc_at(&p, 0);
    assert_int_equal(e->nframes, 2);
    assert_str(e->frames[0].file, "~/lib/IPython/core/interactiveshell.py");
    assert_int_equal(e->frames[0].line, 3508);
    assert_str(e->frames[0].function, "run_code");
    assert_str(e->frames[1].file, "Cell In[1]");
    assert_str(e->frames[1].function, "<module>");
    assert_str(e->syntax.filename, "<string>");
    assert_int_equal(e->syntax.lineno, 2);
    assert_str(e->syntax.text, "return 1 +");
    assert_int_equal(e->syntax.offset, 11);
    arena_free(&p.a);

    /* Not locations: no line number, a blank in the path, a quote-less "File" word. */
    struct tbl_frame f;
    static const char *const no[] = {"  File /etc/hosts", "  File my notes.txt:3", "  File :3",
                                     "  Cell In[1], line x", "  Cell In[1] line 1", "  File /x.py:3 in"};
    for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++)
        if (tbl_frame(no[k], strlen(no[k]), &f))
            fail_msg("a frame: %s", no[k]);
}

static void test_syntax_error(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "  File \"/opt/app/conf.py\", line 3\n"
          "    x = = 1\n"
          "        ^\n"
          "SyntaxError: invalid syntax\n",
          NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->type, "SyntaxError");
    assert_str(e->message, "invalid syntax");
    assert_int_equal(e->nframes, 0); /* the location line is not a frame */
    assert_true(e->has_syntax);
    assert_str(e->syntax.filename, "/opt/app/conf.py");
    assert_int_equal(e->syntax.lineno, 3);
    assert_str(e->syntax.text, "x = = 1");
    assert_int_equal(e->syntax.offset, 5);
    arena_free(&p.a);

    /* No caret line: offset unknown. With frames before the location. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/rules.py\", line 14, in compile_rule\n"
          "    return compile(source, name, \"exec\")\n"
          "  File \"<rule:discount-5>\", line 3\n"
          "    else\n"
          "IndentationError: expected an indented block\n",
          NULL);
    assert_int_equal(p.rc, 1);
    e = exc_at(&p, 0);
    assert_str(e->type, "IndentationError");
    assert_int_equal(e->nframes, 1);
    assert_str(e->frames[0].function, "compile_rule");
    assert_true(e->has_syntax);
    assert_str(e->syntax.filename, "<rule:discount-5>");
    assert_int_equal(e->syntax.lineno, 3);
    assert_str(e->syntax.text, "else");
    assert_int_equal(e->syntax.offset, 0);
    arena_free(&p.a);

    /* 3.11+ range carets "^^^^" give the first column. */
    parse(&p,
          "  File \"<string>\", line 1\n"
          "    print \"x\"\n"
          "    ^^^^^^^^^\n"
          "SyntaxError: Missing parentheses in call to 'print'.\n",
          NULL);
    e = exc_at(&p, 0);
    assert_int_equal(e->syntax.offset, 1);
    assert_str(e->syntax.text, "print \"x\"");
    arena_free(&p.a);
}

static void test_repeat_marker(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/opt/app/t.py\", line 61, in <module>\n"
          "  File \"/opt/app/t.py\", line 11, in resolve\n"
          "    return resolve(parent)\n"
          "  File \"/opt/app/t.py\", line 11, in resolve\n"
          "  [Previous line repeated 996 more times]\n"
          "  File \"/opt/app/t.py\", line 12, in resolve\n"
          "  [Previous line repeated 1 more time]\n"
          "RecursionError: maximum recursion depth exceeded\n",
          NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_int_equal(e->nframes, 4);
    assert_int_equal(e->frames_total, 4 + 996 + 1);
    assert_int_equal(e->repeat_markers, 2);
    assert_str(e->message, "maximum recursion depth exceeded");
    arena_free(&p.a);

    /* A huge repeat count saturates instead of wrapping. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"t.py\", line 1, in f\n"
          "  [Previous line repeated 99999999999999999999 more times]\n"
          "  [Previous line repeated 4294967295 more times]\n"
          "RecursionError: deep\n",
          NULL);
    assert_int_equal(p.rc, 1);
    e = exc_at(&p, 0);
    assert_int_equal(e->repeat_markers, 2);
    assert_true(e->frames_total >= e->nframes);
    arena_free(&p.a);
}

static void test_odd_exception_lines(void **state)
{
    (void)state;
    struct parsed p;
    /* Empty message: a bare type, and a type with a colon and nothing after. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "KeyboardInterrupt\n",
          NULL);
    assert_str(exc_at(&p, 0)->type, "KeyboardInterrupt");
    assert_int_equal(exc_at(&p, 0)->message.len, 0);
    arena_free(&p.a);
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "ValueError:\n",
          NULL);
    assert_str(exc_at(&p, 0)->type, "ValueError");
    assert_int_equal(exc_at(&p, 0)->message.len, 0);
    arena_free(&p.a);

    /* A class defined in a function. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "mypkg.make.<locals>.LocalError: boom\n",
          NULL);
    assert_str(exc_at(&p, 0)->type, "mypkg.make.<locals>.LocalError");
    assert_str(exc_at(&p, 0)->message, "boom");
    arena_free(&p.a);

    /* A file name containing '", line ' itself and a non-ASCII type. */
    parse(&p,
          "Traceback (most recent call last):\n"
          "  File \"/tmp/we\"ird.py\", line 7, in g\n"
          "  File \"/tmp/x.py\", line 4294967295123, in h\n"
          "Ошибка: сообщение\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_str(exc_at(&p, 0)->frames[0].file, "/tmp/we\"ird.py");
    assert_int_equal(exc_at(&p, 0)->frames[0].line, 7);
    assert_str(exc_at(&p, 0)->type, "Ошибка");
    arena_free(&p.a);
}

static void test_text_before_and_second_traceback(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "request 42 failed for user bob:\n"
          "some more prose here.\n"
          "Traceback (most recent call last):\n"
          "  File \"a.py\", line 1, in f\n"
          "ValueError: first\n"
          "Traceback (most recent call last):\n"
          "  File \"b.py\", line 2, in g\n"
          "KeyError: 'second'\n",
          NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->type, "ValueError");
    assert_str(e->message, "first");
    assert_int_equal(e->nnotes, 0);
    assert_int_equal(e->nframes, 1);
    assert_str(e->frames[0].file, "a.py");
    arena_free(&p.a);

    /* A bare "Type: message" with no stack is an exception of its own. */
    parse(&p, "mypkg.errors.Timeout: upstream did not answer", NULL);
    assert_int_equal(p.rc, 1);
    assert_str(exc_at(&p, 0)->type, "mypkg.errors.Timeout");
    assert_str(exc_at(&p, 0)->message, "upstream did not answer");
    arena_free(&p.a);
    /* ...but lowercase prose is not. */
    parse(&p, "worker: job 5 ok", NULL);
    assert_int_equal(p.rc, 0);
    arena_free(&p.a);
}

/* ---- tb_parse_text: limits --------------------------------------------------------- */

static char *build_frames(size_t nframes)
{
    size_t cap = 64 + nframes * 64, o = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    o += (size_t)snprintf(t + o, cap - o, "Traceback (most recent call last):\n");
    for (size_t i = 0; i < nframes; i++)
        o += (size_t)snprintf(t + o, cap - o, "  File \"/opt/app/r.py\", line %zu, in f\n", i + 1);
    snprintf(t + o, cap - o, "RecursionError: deep\n");
    return t;
}

static void test_limit_frames(void **state)
{
    (void)state;
    char *t = build_frames(10000);
    struct parsed p;
    parse(&p, t, NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_int_equal(e->nframes, parse_limits_default.max_frames);
    assert_int_equal(e->frames_total, 10000);
    assert_int_equal(e->frames[0].line, 1);
    assert_str(e->type, "RecursionError");
    arena_free(&p.a);

    struct parse_limits lim = parse_limits_default;
    lim.max_frames = 3;
    parse(&p, t, &lim);
    assert_int_equal(exc_at(&p, 0)->nframes, 3);
    assert_int_equal(exc_at(&p, 0)->frames_total, 10000);
    arena_free(&p.a);
    free(t);
}

static char *build_deep_group(unsigned depth)
{
    size_t cap = (size_t)depth * depth * 8 + (size_t)depth * 512 + 4096, o = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    /* Level d (1-based) has its body margin at 2d spaces and opens member 1 with a
     * "+-+" at 2d spaces. */
    for (unsigned d = 1; d <= depth; d++) {
        const char *hdr = d == 1 ? "+" : "|";
        o += (size_t)snprintf(t + o, cap - o, "%*s%s Exception Group Traceback (most recent call last):\n",
                              (int)(2 * d), "", hdr);
        o += (size_t)snprintf(t + o, cap - o, "%*s|   File \"/opt/app/g.py\", line %u, in level\n",
                              (int)(2 * d), "", d);
        o += (size_t)snprintf(t + o, cap - o, "%*s| ExceptionGroup: level %u (1 sub-exception)\n",
                              (int)(2 * d), "", d);
        o += (size_t)snprintf(t + o, cap - o, "%*s+-+---------------- 1 ----------------\n",
                              (int)(2 * d), "");
    }
    o += (size_t)snprintf(t + o, cap - o, "%*s| ValueError: bottom\n", (int)(2 * depth + 2), "");
    snprintf(t + o, cap - o, "%*s+------------------------------------\n", (int)(2 * depth + 2), "");
    return t;
}

static void test_limit_group_depth(void **state)
{
    (void)state;
    /* Sanity: a shallow instance of the generator parses to the bottom. */
    char *t = build_deep_group(3);
    struct parsed p;
    parse(&p, t, NULL);
    assert_int_equal(p.rc, 1);
    const struct ev_exc *e = exc_at(&p, 0);
    for (int d = 0; d < 3; d++) {
        assert_non_null(e->group);
        assert_int_equal(e->group->n, 1);
        e = &e->group->members[0].exc[0];
    }
    assert_str(e->type, "ValueError");
    assert_str(e->message, "bottom");
    arena_free(&p.a);
    free(t);

    t = build_deep_group(100);
    parse(&p, t, NULL);
    assert_int_equal(p.rc, 1);
    e = exc_at(&p, 0);
    unsigned depth = 0;
    bool marked = false;
    while (e->group != NULL) {
        depth++;
        /* Groups nested past the limit are kept as their exception line only. */
        assert_true(depth <= parse_limits_default.max_group_depth + 1);
        if (e->group->depth_truncated)
            marked = true;
        if (e->group->n == 0)
            break;
        e = &e->group->members[0].exc[0];
    }
    assert_true(marked);
    assert_int_equal(depth, parse_limits_default.max_group_depth + 1);
    assert_int_equal(e->group->n, 0);
    arena_free(&p.a);
    free(t);
}

static void test_limit_huge_message(void **state)
{
    (void)state;
    const size_t big = (size_t)5 << 20;
    static const char head[] = "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nValueError: ";
    char *t = malloc(sizeof(head) + big + 2);
    assert_non_null(t);
    memcpy(t, head, sizeof(head) - 1);
    memset(t + sizeof(head) - 1, 'm', big);
    memcpy(t + sizeof(head) - 1 + big, "\n", 2);
    struct parsed p;
    parse(&p, t, NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(exc_at(&p, 0)->message.len, big);
    arena_free(&p.a);

    /* 5 MB spread over 100k continuation lines: joining must not be quadratic in
     * arena memory (the default arena cap is 64 MB). */
    const size_t nl = 100000, per = 52;
    size_t cap = sizeof(head) + nl * per + 64, o = 0;
    char *m = malloc(cap);
    assert_non_null(m);
    o += (size_t)snprintf(m, cap, "%sfirst line\n", head);
    for (size_t i = 0; i < nl; i++) {
        memset(m + o, ' ', 2);
        memset(m + o + 2, 'c', per - 3);
        m[o + per - 1] = '\n';
        o += per;
    }
    m[o] = '\0';
    parse(&p, m, NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(exc_at(&p, 0)->message.len, strlen("first line") + nl * per);
    arena_free(&p.a);
    free(m);
    free(t);
}

static void test_arena_exhausted(void **state)
{
    (void)state;
    char *t = build_frames(50);
    struct arena a;
    arena_init(&a, 256);
    struct ev_exception x;
    assert_int_equal(tb_parse_text(t, strlen(t), NULL, &a, &x), -1);
    arena_free(&a);
    free(t);
}

/* ---- tb_asm ----------------------------------------------------------------------- */

struct blk {
    struct event ev;      /* EV_EXCEPTION with a deep copy of the chain */
    uint64_t first_line;
    bool truncated;
    struct tb_meta meta;
};

struct asm_run {
    struct tb_asm *as;
    struct arena a;
    struct blk blk[32];
    size_t nblk;
    uint64_t incomplete[8];
    size_t nincomplete;
    enum tb_claim claims[256];
    uint64_t lineno;
};

static int on_blk(void *ctx, const struct tb_block_out *b)
{
    struct asm_run *r = ctx;
    assert_true(r->nblk < 32);
    struct blk *o = &r->blk[r->nblk++];
    struct event ev;
    ev_init(&ev, EV_EXCEPTION);
    ev.u.exc = *b->exc;
    assert_int_equal(ev_clone(&o->ev, &ev, &r->a), 0);
    o->first_line = b->first_line;
    o->truncated = b->truncated;
    o->meta = *b->meta;
    return 0;
}

static void on_incomplete(void *ctx, uint64_t first_line, const char *reason)
{
    struct asm_run *r = ctx;
    assert_non_null(reason);
    if (r->nincomplete < 8)
        r->incomplete[r->nincomplete++] = first_line;
}

static void run_init(struct asm_run *r, const struct parse_limits *lim)
{
    memset(r, 0, sizeof(*r));
    r->as = tb_asm_create(lim, on_blk, on_incomplete, r);
    assert_non_null(r->as);
}

/* Feed one line; a leading '@' marks a log record (is_record). */
static enum tb_claim feed(struct asm_run *r, const char *line)
{
    bool rec = line[0] == '@';
    if (rec)
        line++;
    enum tb_claim c;
    r->lineno++;
    assert_int_equal(tb_asm_line(r->as, line, strlen(line), r->lineno, rec, &c), 0);
    if (r->lineno < 256)
        r->claims[r->lineno] = c;
    return c;
}

static void feed_all(struct asm_run *r, const char *const *lines)
{
    for (size_t i = 0; lines[i] != NULL; i++)
        feed(r, lines[i]);
}

static void run_done(struct asm_run *r)
{
    tb_asm_destroy(r->as);
    arena_free(&r->a);
}

static const struct ev_exc *blk_exc(const struct asm_run *r, size_t b, uint32_t i)
{
    assert_true(b < r->nblk);
    assert_true(i < r->blk[b].ev.u.exc.chain.n);
    return &r->blk[b].ev.u.exc.chain.exc[i];
}

/* A note (or a message line without indent: they print alike) may go on with indented
 * lines, as add_note("a\n  b") prints: the block keeps them, they are not foreign. */
static void test_asm_indented_after_note(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "ValueError: bad row",
        "while importing prices.csv",
        "  line 118",
        "retry with --lenient",
        NULL,
    };
    feed_all(&r, lines);
    for (int i = 3; i <= 6; i++)
        assert_int_equal(r.claims[i], TB_CLAIMED);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    const struct ev_exc *e = blk_exc(&r, 0, 0);
    assert_str(e->message, "bad row");
    assert_int_equal(e->nnotes, 3);
    assert_str(e->notes[1], "  line 118");
    assert_int_equal(r.blk[0].ev.u.exc.last_line, 6);
    run_done(&r);
}

/* tb_asm_quiet_record stands in for a record's tb_asm_line only when no block is
 * open, and then the assembler goes on as if the record had been fed: a carrier
 * line before it is forgotten, as tb_asm_line forgets it. */
static void test_asm_quiet_record(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    assert_true(tb_asm_quiet_record(r.as)); /* nothing fed yet */
    feed(&r, "Traceback (most recent call last):");
    feed(&r, "  File \"a.py\", line 1, in f");
    assert_false(tb_asm_quiet_record(r.as)); /* a block is open: feed the record instead */
    feed(&r, "ValueError: one");
    /* Records after it: the block waits a few (a note may still come), open. */
    for (int i = 0; i < 16 && r.nblk == 0; i++) {
        assert_false(tb_asm_quiet_record(r.as));
        assert_int_equal(feed(&r, "@2024-05-01 10:00:00 INFO a record"), TB_FOREIGN);
    }
    assert_int_equal(r.nblk, 1);
    assert_true(r.lineno > 4);
    assert_true(tb_asm_quiet_record(r.as)); /* finished by them: quiet again */
    /* "pkg._RemoteTraceback: " carries a quoted traceback only on the next line:
     * a record between (the shortcut's) makes it a line of its own. */
    feed(&r, "concurrent.futures.process._RemoteTraceback: ");
    assert_true(tb_asm_carrier_line(r.as) != 0);
    assert_true(tb_asm_quiet_record(r.as));
    assert_int_equal(tb_asm_carrier_line(r.as), 0);
    r.lineno++;
    assert_int_equal(feed(&r, "\"\"\""), TB_FOREIGN);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    run_done(&r);
}

/* A CI runner's line after an exception is the runner's, not a note. */
static void test_asm_runner_line_not_note(void **state)
{
    (void)state;
    assert_true(tbl_is_runner_line("##[error]Process completed with exit code 1.", 44));
    assert_true(tbl_is_runner_line("##[group]Run pytest", 19));
    assert_true(tbl_is_runner_line("::error file=app.py,line=3::boom", 32));
    assert_false(tbl_is_runner_line("## heading", 10));
    assert_false(tbl_is_runner_line("##[]x", 5));
    assert_false(tbl_is_runner_line("::1 is an address", 17));
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "RuntimeError: config missing",
        "##[error]Process completed with exit code 1.",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[4], TB_FOREIGN);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(blk_exc(&r, 0, 0)->nnotes, 0);
    run_done(&r);
}

static void test_asm_back_to_back(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "    f()",
        "ValueError: one",
        "Traceback (most recent call last):",
        "  File \"b.py\", line 2, in g",
        "KeyError: 'two'",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[1], TB_STARTED);
    assert_int_equal(r.claims[2], TB_CLAIMED);
    assert_int_equal(r.claims[4], TB_CLAIMED);
    assert_int_equal(r.claims[5], TB_STARTED);
    assert_int_equal(r.nblk, 1); /* the first is finished by the second's header */
    assert_int_equal(tb_asm_min_open_line(r.as), 5);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(tb_asm_min_open_line(r.as), UINT64_MAX);
    assert_int_equal(r.nblk, 2);
    assert_str(blk_exc(&r, 0, 0)->message, "one");
    assert_int_equal(r.blk[0].first_line, 1);
    assert_int_equal(r.blk[0].ev.u.exc.last_line, 4);
    assert_false(r.blk[0].ev.u.exc.interleaved);
    assert_str(blk_exc(&r, 1, 0)->type, "KeyError");
    assert_int_equal(r.blk[1].first_line, 5);
    assert_int_equal(r.blk[1].ev.u.exc.last_line, 7);
    assert_int_equal(r.nincomplete, 0);
    run_done(&r);
}

static void test_asm_interrupted_then_resumed(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "Traceback (most recent call last):",
        "worker: job 7 ok",
        "@INFO:jobs:job 12 done",
        "worker: job 8 ok",
        "  File \"/opt/app/records.py\", line 12, in parse_quantity",
        "    return int(raw)",
        "ValueError: invalid literal for int() with base 10: 'seven'",
        "worker: job 9 ok",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[1], TB_STARTED);
    assert_int_equal(r.claims[2], TB_FOREIGN);
    assert_int_equal(r.claims[3], TB_FOREIGN);
    assert_int_equal(r.claims[4], TB_FOREIGN);
    assert_int_equal(r.claims[5], TB_CLAIMED); /* the suspended block resumes */
    assert_int_equal(r.claims[6], TB_CLAIMED);
    assert_int_equal(r.claims[7], TB_CLAIMED);
    assert_int_equal(r.claims[8], TB_FOREIGN);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].first_line, 1);
    assert_true(r.blk[0].ev.u.exc.interleaved);
    assert_int_equal(r.blk[0].ev.u.exc.last_line, 7);
    const struct ev_exc *e = blk_exc(&r, 0, 0);
    assert_str(e->type, "ValueError");
    assert_int_equal(e->nframes, 1);
    assert_int_equal(e->frames[0].line, 12);
    assert_int_equal(e->nnotes, 0);
    run_done(&r);
}

static void test_asm_separator_after_foreign(void **state)
{
    (void)state;
    /* One foreign line between the exception and the separator. */
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "Traceback (most recent call last):",
        "  File \"/opt/app/records.py\", line 12, in parse_quantity",
        "ValueError: bad qty",
        "@INFO:jobs:job 13 done",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        "  File \"/opt/app/job_runner.py\", line 54, in main",
        "mypkg.errors.DataError: record 9 rejected",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[4], TB_FOREIGN);
    assert_int_equal(r.claims[6], TB_CLAIMED);
    assert_int_equal(r.claims[8], TB_CLAIMED);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].ev.u.exc.chain.n, 2);
    assert_int_equal(blk_exc(&r, 0, 1)->relation, EV_REL_CAUSE);
    assert_str(blk_exc(&r, 0, 1)->type, "mypkg.errors.DataError");
    assert_true(r.blk[0].ev.u.exc.interleaved);
    run_done(&r);

    /* The separator itself right after the foreign line (no blank). */
    run_init(&r, NULL);
    static const char *const lines2[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "KeyError: 'x'",
        "@INFO:jobs:job 14 done",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        "  File \"a.py\", line 3, in f",
        "NameError: name 'y' is not defined",
        NULL,
    };
    feed_all(&r, lines2);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].ev.u.exc.chain.n, 2);
    assert_int_equal(blk_exc(&r, 0, 1)->relation, EV_REL_CONTEXT);
    run_done(&r);

    /* Past the grace, a tail is finished: the separator comes too late. */
    run_init(&r, NULL);
    static const char *const lines3[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "KeyError: 'x'",
        "@INFO:jobs:a", "@INFO:jobs:b", "@INFO:jobs:c", "@INFO:jobs:d", "@INFO:jobs:e",
        "@INFO:jobs:f",
        NULL,
    };
    feed_all(&r, lines3);
    assert_int_equal(r.nblk, 1); /* finished without waiting for the end of input */
    assert_int_equal(r.blk[0].ev.u.exc.chain.n, 1);
    run_done(&r);
}

static void test_asm_notes_heuristic(void **state)
{
    (void)state;
    /* A line shape seen twice outside blocks is foreign, not a note. */
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "worker: job 1 ok",
        "worker: job 2 ok",
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "ValueError: x",
        "worker: job 3 ok",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[6], TB_FOREIGN);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(blk_exc(&r, 0, 0)->nnotes, 0);
    run_done(&r);

    /* The same line never seen before is taken as a note. */
    run_init(&r, NULL);
    static const char *const lines2[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "ValueError: x",
        "worker: job 3 ok",
        NULL,
    };
    feed_all(&r, lines2);
    assert_int_equal(r.claims[4], TB_CLAIMED);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(blk_exc(&r, 0, 0)->nnotes, 1);
    assert_str(blk_exc(&r, 0, 0)->notes[0], "worker: job 3 ok");
    run_done(&r);

    /* A log record is never a note. */
    run_init(&r, NULL);
    static const char *const lines3[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in f",
        "ValueError: x",
        "@2024-05-01 10:00:00,000 INFO a.b note-like",
        NULL,
    };
    feed_all(&r, lines3);
    assert_int_equal(r.claims[4], TB_FOREIGN);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(blk_exc(&r, 0, 0)->nnotes, 0);
    run_done(&r);
}

static void test_asm_headerless_syntax_error(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "starting rules engine",
        "  File \"/opt/app/conf.py\", line 3",
        "    x = = 1",
        "        ^",
        "SyntaxError: invalid syntax",
        "done",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[1], TB_FOREIGN);
    assert_int_equal(r.claims[2], TB_STARTED);
    assert_int_equal(r.claims[5], TB_CLAIMED);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].first_line, 2);
    const struct ev_exc *e = blk_exc(&r, 0, 0);
    assert_str(e->type, "SyntaxError");
    assert_true(e->has_syntax);
    assert_int_equal(e->syntax.lineno, 3);
    assert_int_equal(e->syntax.offset, 5);
    assert_int_equal(r.nincomplete, 0);
    run_done(&r);

    /* A stray frame line that never ends in an exception is dropped quietly; a
     * header that never does is reported. */
    run_init(&r, NULL);
    static const char *const lines2[] = {
        "  File \"/opt/app/x.py\", line 3, in f",
        "Traceback (most recent call last):",
        "  File \"/opt/app/x.py\", line 4, in g",
        NULL,
    };
    feed_all(&r, lines2);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 0);
    assert_int_equal(r.nincomplete, 1);
    assert_int_equal(r.incomplete[0], 2);
    run_done(&r);
}

static void test_asm_meta_and_started_line(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    feed(&r, "@2024-05-01 10:00:00,000 ERROR a.b failed");
    assert_int_equal(feed(&r, "Traceback (most recent call last):"), TB_STARTED);
    assert_int_equal(tb_asm_started_line(r.as), 2);
    struct tb_meta *m = tb_asm_started_meta(r.as);
    assert_non_null(m);
    assert_false(m->present); /* a new block's record starts empty, pid unknown */
    assert_int_equal(m->pid, -1);
    m->present = true;
    m->level = EV_LVL_ERROR;
    m->origin = EV_TB_THREAD;
    m->record_line = 1;
    m->pid = 77;
    snprintf(m->thread, sizeof(m->thread), "Thread-3 (worker)");
    feed(&r, "  File \"a.py\", line 1, in f");
    assert_null(tb_asm_started_meta(r.as)); /* that line started nothing */
    feed(&r, "OSError: [Errno 5] I/O error");
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].meta.pid, 77);
    assert_int_equal(r.blk[0].meta.record_line, 1);
    assert_int_equal(r.blk[0].ev.u.exc.origin, EV_TB_THREAD);
    assert_str(r.blk[0].ev.u.exc.thread_name, "Thread-3 (worker)");
    run_done(&r);

    /* The carrier of a quoted remote traceback starts the block on its own line. */
    run_init(&r, NULL);
    feed(&r, "concurrent.futures.process._RemoteTraceback: ");
    assert_int_equal(feed(&r, "\"\"\""), TB_STARTED);
    assert_int_equal(tb_asm_started_line(r.as), 1);
    static const char *const rest[] = {
        "Traceback (most recent call last):",
        "  File \"/opt/app/pool.py\", line 11, in region_total",
        "TypeError: bad",
        "\"\"\"",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        "  File \"/opt/app/pool.py\", line 22, in build_report",
        "TypeError: bad",
        NULL,
    };
    feed_all(&r, rest);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].first_line, 1);
    assert_int_equal(r.blk[0].ev.u.exc.chain.n, 2);
    assert_str(blk_exc(&r, 0, 0)->type, "concurrent.futures.process._RemoteTraceback");
    assert_int_equal(blk_exc(&r, 0, 1)->relation, EV_REL_CAUSE);
    run_done(&r);
}

static void test_asm_stackless_group(void **state)
{
    (void)state;
    struct asm_run r;
    run_init(&r, NULL);
    static const char *const lines[] = {
        "@ERROR:batch:import failed",
        "  | ExceptionGroup: eg (2 sub-exceptions)",
        "  +-+---------------- 1 ----------------",
        "    | ValueError: a",
        "    +---------------- 2 ----------------",
        "    | TypeError: b",
        "    +------------------------------------",
        "@INFO:batch:next",
        NULL,
    };
    feed_all(&r, lines);
    assert_int_equal(r.claims[2], TB_FOREIGN); /* not yet known to be a group */
    assert_int_equal(r.claims[3], TB_STARTED);
    assert_int_equal(r.claims[7], TB_CLAIMED);
    assert_int_equal(r.claims[8], TB_FOREIGN);
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 1);
    assert_int_equal(r.blk[0].first_line, 2);
    const struct ev_exc *e = blk_exc(&r, 0, 0);
    assert_str(e->type, "ExceptionGroup");
    assert_non_null(e->group);
    assert_int_equal(e->group->n, 2);
    assert_str(e->group->members[1].exc[0].type, "TypeError");
    run_done(&r);

    /* The same line without a member separator after it stays foreign. */
    run_init(&r, NULL);
    feed(&r, "  | ValueError: not a group");
    feed(&r, "plain text");
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 0);
    assert_int_equal(r.claims[1], TB_FOREIGN);
    assert_int_equal(r.claims[2], TB_FOREIGN);
    run_done(&r);
}

static void test_asm_truncated_block(void **state)
{
    (void)state;
    struct parse_limits lim = parse_limits_default;
    lim.max_record = 4096;
    struct asm_run r;
    run_init(&r, &lim);
    feed(&r, "Traceback (most recent call last):");
    for (int i = 0; i < 1000; i++) {
        char line[96];
        snprintf(line, sizeof(line), "  File \"/opt/app/deep.py\", line %d, in recurse", i + 1);
        assert_int_equal(feed(&r, line), TB_CLAIMED);
        assert_int_equal(feed(&r, "    return recurse(n - 1)"), TB_CLAIMED);
    }
    feed(&r, "RecursionError: maximum recursion depth exceeded");
    feed(&r, "@INFO:x:after");
    assert_int_equal(tb_asm_flush(r.as), 0);
    /* The block is cut, flagged, and still says what was raised. */
    assert_int_equal(r.nblk, 1);
    assert_true(r.blk[0].truncated);
    const struct ev_exc *e = blk_exc(&r, 0, 0);
    assert_str(e->type, "RecursionError");
    assert_str(e->message, "maximum recursion depth exceeded");
    assert_true(e->nframes > 0);
    assert_true(e->nframes < 1000);
    assert_int_equal(r.nincomplete, 0);
    run_done(&r);
}

static void test_asm_many_open_blocks(void **state)
{
    (void)state;
    /* More suspended blocks than slots: the oldest is finished (and reported as
     * incomplete), nothing is lost silently and nothing overflows. */
    struct asm_run r;
    run_init(&r, NULL);
    for (int i = 0; i < TB_ASM_MAX_OPEN + 3; i++) {
        feed(&r, "Traceback (most recent call last):");
        feed(&r, "@INFO:x:interleaved");
    }
    assert_int_equal(tb_asm_flush(r.as), 0);
    assert_int_equal(r.nblk, 0);
    assert_true(r.nincomplete >= 3);
    run_done(&r);
}

#define SL(s) (s), strlen(s)

static void test_tb_lines(void **state)
{
    (void)state;
    struct tbl_frame f;
    assert_true(tbl_frame(SL("  File \"a.py\", line 3, in f"), &f));
    assert_int_equal(f.line, 3);
    assert_int_equal(f.func_len, 1);
    assert_false(tbl_frame(SL("File \"a.py\", line 3, in f"), &f)); /* needs indent */
    assert_true(tbl_frame(SL("> File \"/srv/b.py\", line 14, in <module>"), &f)); /* loguru's mark */
    assert_int_equal(f.line, 14);
    assert_int_equal(f.file_len, 9);
    assert_false(tbl_frame(SL(">File \"a.py\", line 3, in f"), &f));
    assert_false(tbl_frame(SL(">  File \"a.py\", line 3, in f"), &f));
    assert_false(tbl_frame(SL("  File \"a.py\", line x, in f"), &f));
    assert_false(tbl_frame(SL("  File \"a.py\""), &f));
    uint32_t c = 0;
    assert_true(tbl_repeat_marker(SL("  [Previous line repeated 5 more times]"), &c));
    assert_int_equal(c, 5);
    assert_false(tbl_repeat_marker(SL("  [Previous line repeated  more times]"), &c));
    assert_true(tbl_is_header("Traceback (most recent call last):  \r", 37));
    assert_false(tbl_is_header(" Traceback (most recent call last):", 35));
    size_t tl, ml;
    const char *m;
    assert_true(tbl_exception_line(SL("socket.gaierror: x"), true, &tl, &m, &ml));
    assert_false(tbl_exception_line(SL("e.g: blah"), true, &tl, &m, &ml));
    assert_false(tbl_exception_line(SL("worker: ok"), true, &tl, &m, &ml));
    assert_true(tbl_exception_line(SL("worker: ok"), false, &tl, &m, &ml));
    assert_false(tbl_exception_line(SL("Value Error: x"), false, &tl, &m, &ml));
    assert_false(tbl_exception_line(SL("ValueError:x"), false, &tl, &m, &ml));
    const char *cc;
    size_t cn;
    assert_true(tbl_margin(SL("    | x"), 2, &cc, &cn));
    assert_int_equal(cn, 1);
    assert_false(tbl_margin(SL("    +-+--- 1 ---"), 2, &cc, &cn));
    assert_false(tbl_margin(SL("  | x"), 2, &cc, &cn));
    /* Introducers, by CPython version and asyncio's report. */
    assert_int_equal(tbl_introducer(SL("Exception in thread Thread-1 (worker):")), TBL_INTRO_THREAD);
    assert_int_equal(tbl_introducer(SL("Exception in thread :")), TBL_INTRO_NONE);
    assert_int_equal(tbl_introducer(SL("Exception ignored in: <function C.__del__ at 0x7f>")), TBL_INTRO_UNRAISABLE);
    assert_int_equal(tbl_introducer(SL("Exception ignored in atexit callback: <function f at 0x7f>")),
                     TBL_INTRO_UNRAISABLE);
    assert_int_equal(tbl_introducer(SL("Exception ignored while calling deallocator <function C.__del__>:")),
                     TBL_INTRO_UNRAISABLE);
    assert_int_equal(tbl_introducer(SL("Error in atexit._run_exitfuncs:\r")), TBL_INTRO_UNRAISABLE);
    assert_int_equal(tbl_introducer(SL("Exception ignored because I said so")), TBL_INTRO_NONE);
    assert_int_equal(tbl_introducer(SL("Process SpawnProcess-3:")), TBL_INTRO_PROCESS);
    assert_int_equal(tbl_introducer(SL("Process finished with 3 errors:")), TBL_INTRO_NONE);
    assert_int_equal(tbl_introducer(SL("Task exception was never retrieved")), TBL_INTRO_ASYNCIO);
    assert_int_equal(tbl_introducer(SL("Future exception was never retrieved")), TBL_INTRO_ASYNCIO);
    assert_int_equal(tbl_introducer(SL("Exception in callback cb() at a.py:2")), TBL_INTRO_ASYNCIO);
    assert_int_equal(tbl_introducer(SL("handle: <Handle cb() at a.py:2>")), TBL_INTRO_ASYNCIO_CONTEXT);
    assert_int_equal(tbl_introducer(SL("future: <Task finished name='Task-2'>")), TBL_INTRO_ASYNCIO_CONTEXT);
    assert_int_equal(tbl_introducer(SL("note: see the docs")), TBL_INTRO_NONE);
    assert_int_equal(tbl_introducer(SL("Fatal error: protocol.data_received() call failed.")), TBL_INTRO_ASYNCIO);
    assert_int_equal(tbl_introducer(SL("Fatal read error on socket transport")), TBL_INTRO_ASYNCIO);
    assert_int_equal(tbl_introducer(SL("Fatal error: config missing")), TBL_INTRO_NONE);
    assert_int_equal(tbl_introducer(SL("protocol: <__main__.P object at 0x7f>")), TBL_INTRO_ASYNCIO_CONTEXT);
    assert_int_equal(tbl_introducer(SL("transport: <_SelectorSocketTransport fd=8>")), TBL_INTRO_ASYNCIO_CONTEXT);
    assert_int_equal(tbl_introducer(SL("protocol: HTTP/1.1")), TBL_INTRO_NONE);
    assert_true(tbl_is_caught_marker(SL("--- <exception caught here> ---")));
    assert_true(tbl_is_caught_marker(SL("\t--- <exception caught here> ---  ")));
    assert_false(tbl_is_caught_marker(SL("--- <exception caught there> ---")));
    ev_str ty = tbl_type(SL("builtins.KeyError"));
    assert_int_equal(ty.len, 8);
    assert_memory_equal(ty.ptr, "KeyError", 8);
    ty = tbl_type(SL("json.decoder.JSONDecodeError"));
    assert_int_equal(ty.len, 28);
    assert_true(tbl_message_line(SL("[SQL: select 1]")));
    assert_true(tbl_message_line(SL("[parameters: (1, None)]")));
    assert_true(tbl_message_line(SL("(Background on this error at: https://sqlalche.me/e/14/gkpj)")));
    assert_false(tbl_message_line(SL("[SQL]")));
    assert_false(tbl_message_line(SL("while importing prices.csv")));
    assert_true(tbl_message_spans_lines(SL("2 validation errors for Order")));
    assert_true(tbl_message_spans_lines(SL("1 validation error for Order ")));
    assert_false(tbl_message_spans_lines(SL("2 validation errors for the order form")));
    assert_false(tbl_message_spans_lines(SL("validation errors for Order")));
}

/* ---- pytest failure sections (pytest_tb.h) -------------------------------------------- */

/* Split text into lines and parse them as one section. */
static int pytest_parse(struct parsed *p, const char *text, const struct parse_limits *lim)
{
    memset(p, 0, sizeof(*p));
    static struct tb_line L[256];
    size_t n = 0;
    for (const char *s = text; *s && n < 256;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        L[n] = (struct tb_line){s, (uint32_t)len, n + 2};
        n++;
        s += len + (nl ? 1 : 0);
    }
    bool truncated = false;
    p->rc = pytb_parse(L, n, lim ? lim : &parse_limits_default, &p->a, &p->x.chain, &truncated);
    return truncated;
}

static void test_pytest_lines(void **state)
{
    (void)state;
    size_t off, len;
    const char *h = "________________________ ERROR at setup of test_db _________________________";
    assert_true(pytb_is_header(h, strlen(h), &off, &len));
    assert_int_equal(len, strlen("ERROR at setup of test_db"));
    assert_memory_equal(h + off, "ERROR at setup of test_db", len);
    assert_false(pytb_is_header(SL("_ _ _ _ _ _ _ _ _ _"), &off, &len)); /* between entries */
    assert_false(pytb_is_header(SL("__init__.py"), &off, &len));
    assert_false(pytb_is_header(SL("____  ____"), &off, &len));
    assert_true(pytb_is_rule(SL("=========================== short test summary info ============================")));
    assert_true(pytb_is_rule(SL("=================================== FAILURES ===================================")));
    assert_false(pytb_is_rule(SL("== not a rule")));
}

static void test_pytest_long_chain(void **state)
{
    (void)state;
    struct parsed p;
    pytest_parse(&p,
                 "raw = '{bad'\n"
                 "\n"
                 "    def load_order(raw):\n"
                 "        try:\n"
                 ">           data = json.loads(raw)\n"
                 "\n"
                 "test_shop.py:9: \n"
                 "_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \n"
                 "/usr/lib/python3.11/json/__init__.py:346: in loads\n"
                 "    return _default_decoder.decode(s)\n"
                 "_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \n"
                 "self = <json.decoder.JSONDecoder object at 0x7f3a1c2d4e50>, s = '{bad', idx = 0\n"
                 "\n"
                 "    async def raw_decode(self, s, idx=0):\n"
                 "        \"\"\"Decode a JSON document from ``s``: def not_this(x):\n"
                 "        try:\n"
                 ">           obj, end = self.scan_once(s, idx)\n"
                 "E           json.decoder.JSONDecodeError: Expecting property name: line 1 column 2 (char 1)\n"
                 "\n"
                 "/usr/lib/python3.11/json/decoder.py:353: JSONDecodeError\n"
                 "\n"
                 "The above exception was the direct cause of the following exception:\n"
                 "\n"
                 "    def test_order():\n"
                 ">       load_order(\"{bad\")\n"
                 "\n"
                 "test_shop.py:21: \n"
                 "_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \n"
                 "\n"
                 "    def load_order(raw):\n"
                 ">           raise RuntimeError(\"order payload is not JSON\") from e\n"
                 "E           RuntimeError: order payload is not JSON\n"
                 "\n"
                 "test_shop.py:11: RuntimeError\n",
                 NULL);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 2);
    const struct ev_exc *root = exc_at(&p, 0);
    assert_str(root->type, "json.decoder.JSONDecodeError");
    assert_str(root->message, "Expecting property name: line 1 column 2 (char 1)");
    assert_int_equal(root->relation, EV_REL_ROOT);
    assert_int_equal(root->nframes, 3);
    assert_str(root->frames[0].function, "load_order"); /* the listing's def */
    assert_int_equal(root->frames[0].line, 9);
    assert_str(root->frames[1].function, "loads");       /* a short entry names it */
    assert_str(root->frames[2].file, "/usr/lib/python3.11/json/decoder.py");
    assert_str(root->frames[2].function, "raw_decode"); /* async def; not the docstring's */
    const struct ev_exc *top = exc_at(&p, 1);
    assert_str(top->type, "RuntimeError");
    assert_int_equal(top->relation, EV_REL_CAUSE);
    assert_int_equal(top->nframes, 2);
    assert_str(top->frames[0].function, "test_order");
    assert_str(top->frames[1].function, "load_order");
    arena_free(&p.a);
}

static void test_pytest_short_and_assert(void **state)
{
    (void)state;
    struct parsed p;
    /* --tb=short, and a collection error with text before its entries */
    pytest_parse(&p,
                 "ImportError while importing test module '/srv/app/test_y.py'.\n"
                 "Traceback:\n"
                 "/usr/lib/python3.11/importlib/__init__.py:126: in import_module\n"
                 "    return _bootstrap._gcd_import(name[level:], package)\n"
                 "test_y.py:1: in <module>\n"
                 "    import nosuch\n"
                 "E   ModuleNotFoundError: No module named 'nosuch'\n",
                 NULL);
    assert_int_equal(p.rc, 1);
    assert_str(exc_at(&p, 0)->type, "ModuleNotFoundError");
    assert_str(exc_at(&p, 0)->message, "No module named 'nosuch'");
    assert_int_equal(exc_at(&p, 0)->nframes, 2);
    assert_str(exc_at(&p, 0)->frames[1].function, "<module>");
    arena_free(&p.a);

    /* A rewritten assertion: the type is the location's, the 'E' text the message,
     * continuation lines kept with their indent past the first's. */
    pytest_parse(&p,
                 "    def test_compare():\n"
                 ">       assert {\"a\": 1} == {\"a\": 2}\n"
                 "E       assert {'a': 1} == {'a': 2}\n"
                 "E         Differing items:\n"
                 "E\n"
                 "E         Use -v to get more diff\n"
                 "\n"
                 "test_shop.py:24: AssertionError\n",
                 NULL);
    assert_int_equal(p.rc, 1);
    assert_str(exc_at(&p, 0)->type, "AssertionError");
    assert_str(exc_at(&p, 0)->message, "assert {'a': 1} == {'a': 2}\n  Differing items:\n\n  Use -v to get more diff");
    assert_str(exc_at(&p, 0)->frames[0].function, "test_compare");
    arena_free(&p.a);

    /* An 'E' line whose type disagrees with the location's is message, not type. */
    pytest_parse(&p,
                 "E       KeyError: looks like a type\n"
                 "\n"
                 "t.py:3: ValueError\n",
                 NULL);
    assert_str(exc_at(&p, 0)->type, "ValueError");
    assert_str(exc_at(&p, 0)->message, "KeyError: looks like a type");
    arena_free(&p.a);

    /* Nothing that names an exception: no chain. Locals with "path:1:" in them are
     * not locations. */
    pytest_parse(&p,
                 "s = 'a:1: b', t = 'x:2:'\n"
                 "    def f():\n"
                 "some text\n",
                 NULL);
    assert_int_equal(p.rc, 0);
    arena_free(&p.a);
}

static void test_pytest_limits(void **state)
{
    (void)state;
    struct parse_limits lim = parse_limits_default;
    lim.max_frames = 2;
    lim.max_chain = 1;
    struct parsed p;
    bool truncated = pytest_parse(&p,
                                  "a.py:1: in f\n"
                                  "b.py:2: in g\n"
                                  "c.py:3: in h\n"
                                  "E   ValueError: x\n"
                                  "\n"
                                  "During handling of the above exception, another exception occurred:\n"
                                  "\n"
                                  "d.py:4: in k\n"
                                  "E   KeyError: 'y'\n",
                                  &lim);
    assert_true(truncated);
    assert_int_equal(p.rc, 1);
    assert_int_equal(p.x.chain.n, 1);
    assert_int_equal(exc_at(&p, 0)->nframes, 2);
    assert_int_equal(exc_at(&p, 0)->frames_total, 3);
    arena_free(&p.a);
}

/* ---- IPython tracebacks (ipython_tb.h) ------------------------------------------------ */

static void lines_of(const char *text, struct tb_line *L, size_t *n, size_t max)
{
    *n = 0;
    for (const char *s = text; *s && *n < max;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        L[*n] = (struct tb_line){s, (uint32_t)len, *n + 1};
        (*n)++;
        s += len + (nl ? 1 : 0);
    }
}

static void test_ipython(void **state)
{
    (void)state;
    assert_true(iptb_is_header(SL("JSONDecodeError                           Traceback (most recent call last)")));
    assert_true(iptb_is_header(SL("json.decoder.JSONDecodeError  Traceback (most recent call last)")));
    assert_false(iptb_is_header(SL("Traceback (most recent call last):")));
    assert_false(iptb_is_header(SL("saw a Traceback (most recent call last)")));
    assert_false(iptb_is_header(SL("ValueError Traceback (most recent call last)"))); /* one blank */

    /* IPython 7: cells as <ipython-input-...>, lines from the arrows */
    static const char v7[] = "---------------------------------------------------------------------------\n"
                             "ZeroDivisionError                         Traceback (most recent call last)\n"
                             "<ipython-input-1-9e1622b385b6> in <module>\n"
                             "      2     return 1 / x\n"
                             "----> 4 f(0)\n"
                             "\n"
                             "/srv/nb/lib.py in f(x)\n"
                             "      1 def f(x):\n"
                             "----> 2     return 1 / x\n"
                             "\n"
                             "ZeroDivisionError: division by zero\n"
                             "  (while scoring batch 7)\n";
    struct tb_line L[64];
    size_t n;
    lines_of(v7, L, &n, 64);
    struct parsed p;
    memset(&p, 0, sizeof(p));
    bool truncated = false;
    assert_int_equal(iptb_parse(L, n, &parse_limits_default, &p.a, &p.x.chain, &truncated), 1);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->type, "ZeroDivisionError");
    assert_str(e->message, "division by zero\n  (while scoring batch 7)");
    assert_int_equal(e->nframes, 2);
    assert_str(e->frames[0].file, "<ipython-input-1-9e1622b385b6>");
    assert_str(e->frames[0].function, "<module>");
    assert_int_equal(e->frames[0].line, 4);
    assert_str(e->frames[1].file, "/srv/nb/lib.py");
    assert_str(e->frames[1].function, "f");
    assert_int_equal(e->frames[1].line, 2);
    arena_free(&p.a);

    /* Following a block: it takes its chain and ends at the first line after a blank
     * that is neither a chain sentence, a rule nor a header. */
    struct iptb_follow f;
    static const char *const flow[] = {
        "KeyError                                  Traceback (most recent call last)",
        "File /srv/a.py:3, in f(d)",
        "----> 3 return d[\"k\"]",
        "",
        "KeyError: 'k'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "---------------------------------------------------------------------------",
        "ValueError                                Traceback (most recent call last)",
        "File /srv/a.py:5, in g()",
        "ValueError: bad",
        "  indented, the message goes on",
        "",
        "2026-12-07 10:00:00 INFO next record",
        NULL,
    };
    iptb_begin(&f, flow[0], strlen(flow[0]));
    size_t k = 1;
    while (flow[k] != NULL && iptb_takes(&f, flow[k], strlen(flow[k])))
        k++;
    assert_int_equal(k, 14); /* ends before the log record */

    lines_of("ValueError                                Traceback (most recent call last)\n"
             "File /srv/a.py:5, in g()\n"
             "ValueError: bad\n"
             "2026-12-07 10:00:00 INFO next record\n",
             L, &n, 64);
    iptb_begin(&f, L[0].p, L[0].n);
    assert_true(iptb_takes(&f, L[1].p, L[1].n));
    assert_true(iptb_takes(&f, L[2].p, L[2].n));
    assert_false(iptb_takes(&f, L[3].p, L[3].n)); /* not indented: the log goes on */

    /* Limits: frames cut, the IPython 7 line of a dropped frame not put on another. */
    struct parse_limits lim = parse_limits_default;
    lim.max_frames = 1;
    lines_of(v7, L, &n, 64);
    memset(&p, 0, sizeof(p));
    assert_int_equal(iptb_parse(L, n, &lim, &p.a, &p.x.chain, &truncated), 1);
    assert_true(truncated);
    assert_int_equal(exc_at(&p, 0)->nframes, 1);
    assert_int_equal(exc_at(&p, 0)->frames_total, 2);
    assert_int_equal(exc_at(&p, 0)->frames[0].line, 4);
    arena_free(&p.a);
}

/* ---- rich tracebacks (rich_tb.h) -------------------------------------------------------- */

#define TOP "\xe2\x95\xad\xe2\x94\x80\xe2\x94\x80 Traceback (most recent call last) \xe2\x94\x80\xe2\x94\x80\xe2\x95\xae"
#define V "\xe2\x94\x82"
#define BOTTOM "\xe2\x95\xb0\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x95\xaf"

static void test_rich(void **state)
{
    (void)state;
    assert_true(rtb_is_header(SL(TOP)));
    assert_true(rtb_is_header(SL("         " TOP "   ")));
    assert_false(rtb_is_header(SL("Traceback (most recent call last):")));
    /* A box 42 characters wide: the message wraps at it. */
    static const char text[] = "  " TOP "\n"
                               "  " V " /srv/app/cli.py:6 in load" V "\n"
                               "  " V " \xe2\x9d\xb1  6 return json.loads(raw)" V "\n"
                               "  " V " C:\\app\\x y.py:12 in <module>" V "\n"
                               "  " BOTTOM "\n"
                               "  JSONDecodeError: Expecting property name enclosed\n"
                               "  in quotes\n"
                               "\n"
                               "  The above exception was the direct cause of the following exception:\n"
                               "\n"
                               "  " TOP "\n"
                               "  " V " /srv/app/cli.py:9 in main" V "\n"
                               "  " BOTTOM "\n"
                               "  RuntimeError: payload is not JSON\n"
                               "  WARNING next record\n";
    struct tb_line L[64];
    size_t n;
    lines_of(text, L, &n, 64);
    struct rtb_follow f;
    rtb_begin(&f, L[0].p, L[0].n);
    size_t k = 1;
    while (k < n && rtb_takes(&f, L[k].p, L[k].n))
        k++;
    assert_int_equal(k, 14); /* the record after the short last line is not its wrap */
    struct parsed p;
    memset(&p, 0, sizeof(p));
    bool truncated = false;
    assert_int_equal(rtb_parse(L, k, &parse_limits_default, &p.a, &p.x.chain, &truncated), 1);
    assert_int_equal(p.x.chain.n, 2);
    const struct ev_exc *e = exc_at(&p, 0);
    assert_str(e->type, "JSONDecodeError");
    assert_str(e->message, "Expecting property name enclosed in quotes");
    assert_int_equal(e->nframes, 2);
    assert_str(e->frames[0].file, "/srv/app/cli.py");
    assert_str(e->frames[0].function, "load");
    assert_int_equal(e->frames[0].line, 6);
    assert_str(e->frames[1].file, "C:\\app\\x y.py");
    assert_str(e->frames[1].function, "<module>");
    assert_str(exc_at(&p, 1)->type, "RuntimeError");
    assert_int_equal(exc_at(&p, 1)->relation, EV_REL_CAUSE);
    arena_free(&p.a);

    /* A box without an exception line after it is no traceback. */
    lines_of(TOP "\n" V " /srv/a.py:1 in f" V "\n" BOTTOM "\nsomething else\n", L, &n, 64);
    memset(&p, 0, sizeof(p));
    assert_int_equal(rtb_parse(L, n, &parse_limits_default, &p.a, &p.x.chain, &truncated), 0);
    arena_free(&p.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_cause_and_context),
        cmocka_unit_test(test_chain_of_four),
        cmocka_unit_test(test_group_nested_three),
        cmocka_unit_test(test_group_more_and_stackless),
        cmocka_unit_test(test_notes_vs_multiline_message),
        cmocka_unit_test(test_quoted_remote_traceback),
        cmocka_unit_test(test_nested_remote_tracebacks),
        cmocka_unit_test(test_ipython_syntax_locations),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_repeat_marker),
        cmocka_unit_test(test_odd_exception_lines),
        cmocka_unit_test(test_text_before_and_second_traceback),
        cmocka_unit_test(test_limit_frames),
        cmocka_unit_test(test_limit_group_depth),
        cmocka_unit_test(test_limit_huge_message),
        cmocka_unit_test(test_arena_exhausted),
        cmocka_unit_test(test_asm_back_to_back),
        cmocka_unit_test(test_asm_quiet_record),
        cmocka_unit_test(test_asm_runner_line_not_note),
        cmocka_unit_test(test_asm_indented_after_note),
        cmocka_unit_test(test_pytest_lines),
        cmocka_unit_test(test_pytest_long_chain),
        cmocka_unit_test(test_pytest_short_and_assert),
        cmocka_unit_test(test_pytest_limits),
        cmocka_unit_test(test_ipython),
        cmocka_unit_test(test_rich),
        cmocka_unit_test(test_asm_interrupted_then_resumed),
        cmocka_unit_test(test_asm_separator_after_foreign),
        cmocka_unit_test(test_asm_notes_heuristic),
        cmocka_unit_test(test_asm_headerless_syntax_error),
        cmocka_unit_test(test_asm_meta_and_started_line),
        cmocka_unit_test(test_asm_stackless_group),
        cmocka_unit_test(test_asm_truncated_block),
        cmocka_unit_test(test_asm_many_open_blocks),
        cmocka_unit_test(test_tb_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
