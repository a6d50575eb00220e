#!/usr/bin/env python3
"""tracemalloc_baseline.py DUMP -- what pycorr is measured against: Python's own
tracemalloc.Snapshot.load() and statistics('lineno'), printing the number of sites and
their total size (the same numbers pycorr's event carries, for the same-work check)."""
import sys, tracemalloc

stats = tracemalloc.Snapshot.load(sys.argv[1]).statistics("lineno")
print("sites=%d total=%d" % (len(stats), sum(s.size for s in stats)))
