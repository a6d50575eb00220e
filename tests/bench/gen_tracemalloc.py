#!/usr/bin/env python3
"""gen_tracemalloc.py TRACES SITES NFRAME OUT -- write a large tracemalloc.Snapshot.dump()
for `make bench`: TRACES traces over SITES allocation sites (file:line of the most
recent frame), each site reached through a few different call stacks of NFRAME frames,
sizes drawn from a seeded generator. The dump is made by tracemalloc itself
(Snapshot(...).dump), so it is byte for byte what a real program's would look like."""
import random, sys, tracemalloc

traces, sites, nframe, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(1)
files = ["/srv/app/pkg%d/module%d.py" % (i % 50, i) for i in range(max(1, sites // 20))]
callers = [("/srv/app/main.py", 100 + i) for i in range(64)]
# tracemalloc shares identical tracebacks; a few per site, most recent frame first
tbs = []
for s in range(sites):
    site = (files[s % len(files)], 1 + s // len(files))
    for v in range(3):
        tbs.append((site,) + tuple(callers[(s * 7 + v * 13 + k) % 64] for k in range(nframe - 1)))
raw = [(0, rnd.randint(16, 4096), tbs[rnd.randrange(len(tbs))], nframe) for _ in range(traces)]
tracemalloc.Snapshot(raw, nframe).dump(out)
