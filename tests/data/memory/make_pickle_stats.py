#!/usr/bin/env python3
"""make_pickle_stats.py -- Python's own reading of every test pickle, the oracle of
tests/unit/test_pickle.c: tracemalloc.Snapshot.load() + statistics('lineno') per file,
written to pickle_stats.json. Run at development time (python3 3.11); the output is
committed so the tests need no Python."""
import glob, json, os, tracemalloc

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", "..", ".."))
files = sorted(glob.glob(os.path.join(ROOT, "**", "*.pickle"), recursive=True))
files += sorted(glob.glob(os.path.join(REPO, "tests", "fuzz", "seeds", "pickle", "valid_*.pickle")))
out = {}
for f in files:
    s = tracemalloc.Snapshot.load(f)
    st = s.statistics("lineno")
    tb = s.statistics("traceback")
    top = tb[0].traceback if tb else None
    out[os.path.relpath(f, REPO)] = {
        "traceback_limit": s.traceback_limit,
        "traces": len(s.traces),
        "total_size": sum(x.size for x in st),
        "sites": [[x.traceback[0].filename, x.traceback[0].lineno, x.size, x.count] for x in st],
        # the biggest traceback group: its site and frames, oldest first
        "top_traceback": [[fr.filename, fr.lineno] for fr in top] if top else [],
    }
with open(os.path.join(ROOT, "pickle_stats.json"), "w") as f:
    json.dump(out, f, indent=0)
print(len(out), "files")
