#!/usr/bin/env python3
"""Baseline for `make bench`: what `pycorr ingest` does on error records, in plain Python.

    python3 baseline.py [--text] FILE

JSON lines (default): json.loads every line, keep error records that carry a traceback
field, split the traceback into its chained exceptions on CPython's two separator
sentences, take each exception's type, message and frames, fold records by a
fingerprint of the chain (relation + type + file:function of every frame), and print
one JSON summary per fingerprint at the end, most frequent first.

--text: the same over a Python `logging` text log, where tracebacks follow the ERROR
line verbatim and end at the next log record.

This is meant to be the honest script someone would write for the job, so the speed
comparison in bench.sh means something: regexes compiled once, the file iterated line
by line, work per record proportional to the record. Nothing here is slowed down, and
nothing skips the per-line parse that pycorr also has to do.
"""
import argparse
import hashlib
import json
import re
import sys

CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"
CHAIN_SPLIT = re.compile(r"\n\s*\n(%s|%s)\n\s*\n" % (re.escape(CAUSE), re.escape(CONTEXT)))
FRAME = re.compile(r'^  File "([^"]*)", line (\d+), in (.+)$', re.M)
# logging.Formatter("%(asctime)s %(levelname)s %(name)s [pid=%(process)d] %(message)s")
TEXT_RECORD = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ([A-Z]+) (\S+) \[pid=(\d+)\] ")
TB_START = "Traceback (most recent call last):"

# Field names python-json-logger, structlog and ECS-style formatters use for the traceback.
TB_FIELDS = ("exc_info", "exception", "stack_trace", "error.stack_trace", "traceback")
TS_FIELDS = ("timestamp", "asctime", "@timestamp", "time")
ERROR_LEVELS = frozenset(("ERROR", "CRITICAL", "FATAL", "error", "critical", "fatal", "EXCEPTION", "exception"))


def parse_chain(tb):
    """Traceback text -> [(relation, type, message, [(file, line, function), ...])], root first."""
    parts = CHAIN_SPLIT.split(tb)
    chain = []
    for i in range(0, len(parts), 2):
        seg = parts[i]
        if i == 0:
            rel = "root"
        else:
            rel = "cause" if parts[i - 1] == CAUSE else "context"
        frames = FRAME.findall(seg)
        last = seg.rstrip().rpartition("\n")[2]
        etype, _, msg = last.partition(": ")
        chain.append((rel, etype, msg, frames))
    return chain


class Folder:
    """Counts exception chains per fingerprint, keeping first/last seen and one example."""

    def __init__(self):
        self.groups = {}
        self.records = 0
        self.errors = 0
        self.malformed = 0

    def add(self, tb, ts, logger):
        chain = parse_chain(tb)
        if not chain or not chain[-1][1]:
            return
        key = "|".join(
            rel + ":" + etype + "@" + ",".join(f + ":" + fn for f, _, fn in frames)
            for rel, etype, _, frames in chain
        )
        g = self.groups.get(key)
        if g is None:
            self.groups[key] = [1, ts, ts, logger, chain]
        else:
            g[0] += 1
            g[2] = ts

    def report(self, out):
        for key, (count, first, last, logger, chain) in sorted(
            self.groups.items(), key=lambda kv: (-kv[1][0], kv[0])
        ):
            doc = {
                # pycorr's name for a traceback finding, chained or not.
                "pattern": "nested_exception",
                "fingerprint": hashlib.sha1(key.encode()).hexdigest()[:16],
                "count": count,
                "first_seen": first,
                "last_seen": last,
                "logger": logger,
                "chain": [
                    {
                        "type": etype,
                        "message": msg,
                        "relation": rel,
                        "frames": [{"file": f, "line": int(ln), "function": fn} for f, ln, fn in frames],
                    }
                    for rel, etype, msg, frames in chain
                ],
            }
            out.write(json.dumps(doc) + "\n")
        sys.stderr.write(
            "baseline: records=%d errors=%d fingerprints=%d malformed=%d\n"
            % (self.records, self.errors, len(self.groups), self.malformed)
        )


def run_jsonl(fh, folder):
    loads = json.loads
    for line in fh:
        folder.records += 1
        try:
            rec = loads(line)
        except ValueError:
            folder.malformed += 1
            continue
        if not isinstance(rec, dict):
            folder.malformed += 1
            continue
        level = rec.get("level") or rec.get("levelname") or rec.get("log.level")
        if level not in ERROR_LEVELS:
            continue
        folder.errors += 1
        for name in TB_FIELDS:
            tb = rec.get(name)
            if tb:
                break
        else:
            continue
        if not isinstance(tb, str) or TB_START not in tb:
            continue
        ts = None
        for name in TS_FIELDS:
            ts = rec.get(name)
            if ts:
                break
        folder.add(tb, ts, rec.get("logger") or rec.get("name"))


def run_text(fh, folder):
    match = TEXT_RECORD.match
    tb = None  # lines of the traceback being collected
    ts = logger = None
    for line in fh:
        if tb is not None:
            # A traceback runs until the next log record starts.
            if not match(line):
                tb.append(line)
                continue
            folder.add("".join(tb), ts, logger)
            tb = None
        m = match(line)
        if m:
            folder.records += 1
            ts, level, logger = m.group(1, 2, 3)
            if level in ERROR_LEVELS:
                folder.errors += 1
        elif line.startswith(TB_START):
            tb = [line]
    if tb is not None:
        folder.add("".join(tb), ts, logger)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", action="store_true", help="input is a logging text log, not JSON lines")
    ap.add_argument("file", help="input file, - for stdin")
    args = ap.parse_args()
    folder = Folder()
    if args.file == "-":
        fh = sys.stdin
    else:
        fh = open(args.file, encoding="utf-8", errors="replace")
    with fh:
        (run_text if args.text else run_jsonl)(fh, folder)
    folder.report(sys.stdout)


if __name__ == "__main__":
    main()
