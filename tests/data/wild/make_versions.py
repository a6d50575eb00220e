"""Run each scenario under every CPython found and keep what it printed.

    python3 tests/data/wild/make_versions.py /root/.pyenv/versions/3.*/bin/python3

For each interpreter and scenario this writes versions/<X.Y>-<scenario>.txt, the
interpreter's own stderr (uncaught exceptions go through its default excepthook,
coloured from 3.13 on when FORCE_COLOR is set, as the 'color' scenarios do), and
versions/<X.Y>-<scenario>.expect.json, the chain read from the exception objects
themselves by a hook that runs before the interpreter prints: the oracle the tests
compare pycorr's reading of the text with. Paths are rewritten to /srv/app.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "versions")

# The oracle: a sitecustomize that installs itself as sys.excepthook, so the script
# runs as `python script.py` and prints exactly what it would without it. 3.6 syntax.
ORACLE = r'''
import json, os, sys
def _name(t):
    m = t.__module__
    q = getattr(t, "__qualname__", t.__name__)
    return q if m == "builtins" else m + "." + q
def _msg(e):
    if isinstance(e, SyntaxError):
        return e.msg or ""
    try:
        return str(e)
    except Exception:
        return None
def _one(e, rel):
    d = {"relation": rel, "type": _name(type(e)), "message": _msg(e)}
    notes = getattr(e, "__notes__", None)
    if isinstance(notes, list):
        d["notes"] = [str(x) for x in notes]
    subs = getattr(e, "exceptions", None)
    if isinstance(subs, tuple):
        d["members"] = [_name(type(s)) for s in subs]
    return d
def _chain(e):
    out, seen, rel = [], set(), "root"
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out.append(e)
        if e.__cause__ is not None:
            e = e.__cause__
        elif e.__context__ is not None and not e.__suppress_context__:
            e = e.__context__
        else:
            e = None
    out.reverse()
    res = []
    for i, x in enumerate(out):
        if i == 0:
            rel = "root"
        else:
            rel = "cause" if x.__cause__ is out[i - 1] else "context"
        res.append(_one(x, rel))
    return res
_out = os.environ.get("PYCORR_ORACLE_OUT")
_orig = sys.excepthook
def _hook(t, e, tb):
    if _out:
        with open(_out, "w", encoding="utf-8") as f:
            json.dump(_chain(e), f, ensure_ascii=False)
    _orig(t, e, tb)
sys.excepthook = _hook
'''

SCENARIOS = {
    "cause": '''
class ConfigError(Exception):
    pass
def read(path):
    return open(path).read()
def load():
    try:
        read("/nonexistent/app.toml")
    except OSError as e:
        raise ConfigError("cannot load settings") from e
load()
''',
    "context": '''
def parse(v):
    return int(v)
def handler(v):
    try:
        return parse(v)
    except ValueError:
        return {}["fallback"]
handler("x1")
''',
    "from_none": '''
def get(d, k):
    try:
        return d[k]
    except KeyError:
        raise LookupError("no such key: " + k) from None
get({}, "user")
''',
    "chain3": '''
import json
def decode(s):
    return json.loads(s)
def fetch():
    try:
        decode("{bad")
    except ValueError as e:
        try:
            raise RuntimeError("decode failed")
        except RuntimeError as r:
            raise ConnectionError("upstream gave garbage") from r
fetch()
''',
    "multiline": '''
raise ValueError("first line\\nsecond line\\n  indented third")
''',
    "empty": '''
def f():
    raise RuntimeError
f()
''',
    "unicode": '''
raise KeyError("clé — ключ — 鍵")
''',
    "recursion": '''
def down(n):
    return down(n + 1)
down(0)
''',
    "syntax": '''
compile("x = (1,\\n", "<config>", "exec")
''',
    "thread_then_exit": '''
import threading
def work():
    raise ZeroDivisionError("division by zero in worker")
t = threading.Thread(target=work, name="worker-1")
t.start(); t.join()
raise SystemExit("bye") if False else ValueError("main thread done")
''',
    "group": '''
import sys
if sys.version_info < (3, 11):
    raise ImportError("no exception groups before 3.11")
def a():
    raise ValueError("bad value")
def b():
    raise TypeError("bad type")
errs = []
for f in (a, b):
    try:
        f()
    except Exception as e:
        e.add_note("while running " + f.__name__)
        errs.append(e)
try:
    raise ExceptionGroup("inner", [OSError("disk")])
except ExceptionGroup as g:
    errs.append(g)
raise ExceptionGroup("batch failed", errs)
''',
    "notes_multiline": '''
import sys
e = ValueError("bad row\\n  column 'price' is empty")
if sys.version_info >= (3, 11):
    e.add_note("while importing prices.csv\\n  line 118")
    e.add_note("retry with --lenient")
raise e
''',
    "color_cause": '''
def read(path):
    with open(path) as f:
        return f.read()
def main():
    try:
        read("/nonexistent/config.toml")
    except OSError as e:
        raise RuntimeError("config unavailable") from e
main()
''',
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for py in sys.argv[1:]:
        ver = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        for name, src in SCENARIOS.items():
            work = "/tmp/pycorr-wild"
            os.makedirs(work, exist_ok=True)
            script = os.path.join(work, name + ".py")
            with open(script, "w") as f:
                f.write(src.lstrip("\n"))
            oracle = os.path.join(work, "site", "sitecustomize.py")
            os.makedirs(os.path.dirname(oracle), exist_ok=True)
            with open(oracle, "w") as f:
                f.write(ORACLE)
            expect = os.path.join(work, "expect.json")
            if os.path.exists(expect):
                os.remove(expect)
            env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=os.path.dirname(oracle),
                       PYCORR_ORACLE_OUT=expect)
            env.pop("FORCE_COLOR", None)
            env.pop("NO_COLOR", None)
            if name.startswith("color"):
                env["FORCE_COLOR"] = "1"
            r = subprocess.run([py, script], capture_output=True, env=env, cwd=work)
            text = r.stderr.decode("utf-8").replace(work + "/", "/srv/app/")
            base = os.path.join(OUT, "%s-%s" % (ver, name))
            with open(base + ".txt", "w", encoding="utf-8") as f:
                f.write(text)
            with open(expect, encoding="utf-8") as f:
                chain = json.load(f)
            with open(base + ".expect.json", "w", encoding="utf-8") as f:
                json.dump(chain, f, ensure_ascii=False)
                f.write("\n")


if __name__ == "__main__":
    main()
