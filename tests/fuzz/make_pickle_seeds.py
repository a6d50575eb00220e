#!/usr/bin/env python3
"""make_pickle_seeds.py -- write the seed corpus of fuzz_pickle (tests/fuzz/seeds/pickle/).

Run once at development time; the files it writes are committed. Valid seeds are real
tracemalloc.Snapshot dumps of a synthetic snapshot in protocols 2 to 5 (and with
traceback_limit 1 and > 1); hostile seeds are hand-assembled pickles that a naive
unpickler would execute or blow up on. tests/unit/test_pickle.c asserts that every
hostile_* seed is refused with the message listed in hostile.txt.
"""
import os, pickle, struct, sys, tracemalloc

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "pickle")
os.makedirs(OUT, exist_ok=True)
expect = []

def w(name, data, msg=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    if msg is not None:
        expect.append("%s\t%s" % (name, msg))

# ---- valid snapshots ----------------------------------------------------------------
def traces(nframe):
    out = []
    for i in range(40):
        site = ("/srv/app/mod%d.py" % (i % 5), 10 + i % 7)
        tb = (site,) + tuple(("/srv/app/main.py", 100 + k) for k in range(nframe - 1))
        out.append((0, 64 * (i + 1), tb, nframe))
    out.append((389047, 4096, (("<unknown>", 0),), 1))  # another domain
    return out

for proto in (2, 3, 4, 5):
    snap = tracemalloc.Snapshot(traces(4), 4)
    w("valid_p%d_tb4.pickle" % proto, pickle.dumps(snap, protocol=proto))
w("valid_p5_tb1.pickle", pickle.dumps(tracemalloc.Snapshot(traces(1), 1), protocol=5))
w("valid_p4_empty.pickle", pickle.dumps(tracemalloc.Snapshot([], 1), protocol=4))

# ---- hostile pickles ----------------------------------------------------------------
def su(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b

P2, P4 = b"\x80\x02", b"\x80\x04"
w("hostile_global_os_system.pickle", P2 + b"cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
  "pickle: global os.system refused")
w("hostile_stack_global_os_system.pickle", P4 + su("os") + su("system") + b"\x93" + su("id") + b"\x85R.",
  "pickle: global os.system refused")
w("hostile_builtins_eval.pickle", P2 + b"cbuiltins\neval\nX\x04\x00\x00\x001+1;\x85R.",
  "pickle: global builtins.eval refused")
w("hostile_subprocess_in_traces.pickle",
  P4 + su("tracemalloc") + su("Snapshot") + b"\x93)\x81}(" + su("traces") + b"](" +
  su("subprocess") + su("Popen") + b"\x93" + su("sh") + b"\x85R" + b"eu" + b"b.",
  "pickle: global subprocess.Popen refused")
w("hostile_reduce_chain.pickle",
  P4 + su("tracemalloc") + su("Snapshot") + b"\x93" + b")R" + b")R" + b".",
  "pickle: REDUCE on something that is not an allowed class")
w("hostile_reduce_on_string.pickle", P4 + su("os.system") + su("id") + b"\x85R.",
  "pickle: REDUCE on something that is not an allowed class")
w("hostile_build_setstate.pickle", P4 + b"]" + su("x") + b"b.",
  "pickle: BUILD on something that is not an instance of an allowed class")
w("hostile_deep_tuples.pickle", P4 + su("x") + b"\x85" * 5000 + b".",
  "pickle: nesting deeper than 64 levels")
w("hostile_deep_marks.pickle", P4 + b"(" * 100000 + b".",
  "pickle: more than 256 open MARKs")
w("hostile_deep_lists.pickle", P4 + b"]" * 200 + b"a" * 199 + b".",
  "pickle: nesting deeper than 64 levels")
w("hostile_huge_binunicode8.pickle", P4 + b"\x8d" + struct.pack("<Q", 1 << 62) + b"abc",
  "pickle: string of 4611686018427387904 bytes refused")
w("hostile_huge_binbytes.pickle", P4 + b"B" + struct.pack("<I", 0xFFFFFFF0) + b"abc",
  "pickle: string of 4294967280 bytes refused")
w("hostile_huge_long4.pickle", P4 + b"\x8b" + struct.pack("<i", 0x7FFFFFFF) + b"\x01",
  "pickle: integer of 2147483647 bytes refused")
w("hostile_negative_binstring.pickle", P2 + b"T" + struct.pack("<i", -5) + b"abc",
  "pickle: negative length")
w("hostile_memo_bomb.pickle", P4 + b"N" + b"r" + struct.pack("<I", 0xFFFFFFF0) + b".",
  "pickle: memo index 4294967280 refused")
w("hostile_memo_missing.pickle", P4 + b"j" + struct.pack("<I", 7) + b".",
  "pickle: memo key 7 missing")
# a billion laughs: each list holds its predecessor ten times, by reference
laughs = P4 + b"]\x94"
for i in range(1, 40):
    laughs += b"](" + (b"h" + bytes([i - 1])) * 10 + b"e\x94"
w("hostile_billion_laughs.pickle", laughs + b".",
  "pickle: not a tracemalloc snapshot")
# a trace consumed while streaming, then fetched from the memo again
tr = b"(K\x00K\x10" + su("/a.py") + b"K\x01\x86\x94\x85\x94K\x01t\x94"
w("hostile_memo_consumed_trace.pickle",
  P4 + su("tracemalloc") + su("Snapshot") + b"\x93)\x81}(" + su("_traces") + b"](" + tr + b"e" +
  b"h\x02" + b"u" + b"b.",
  "pickle: memo key 2 refers to a consumed trace")
w("hostile_persid.pickle", P4 + su("x") + b"Q.", "pickle: opcode BINPERSID refused")
w("hostile_ext1.pickle", P4 + b"\x82\x01.", "pickle: opcode EXT1 refused")
w("hostile_inst.pickle", P2 + b"(ios\nsystem\n.", "pickle: opcode INST refused")
w("hostile_protocol0.pickle", b"cos\nsystem\n(S'id'\ntR.",
  "pickle: not a pickle of protocol 2 or later (no PROTO opcode first)")
w("hostile_protocol9.pickle", b"\x80\x09N.", "pickle: protocol 9 is not supported (2 to 5 are)")
w("hostile_out_of_band.pickle", P4 + b"\x97.", "pickle: opcode NEXT_BUFFER refused")
w("hostile_stack_underflow.pickle", P4 + b"t.", "pickle: TUPLE without MARK")
w("hostile_truncated.pickle",
  pickle.dumps(tracemalloc.Snapshot(traces(3), 3), protocol=4)[:300],
  "pickle: truncated: no STOP opcode")
w("hostile_not_snapshot.pickle", pickle.dumps({"a": [1, 2, 3]}, protocol=4),
  "pickle: not a tracemalloc snapshot")
w("hostile_global_newline.pickle", P2 + b"c" + b"A" * 600, "pickle: GLOBAL name too long")

with open(os.path.join(OUT, "hostile.txt"), "w") as f:
    f.write("# seed<TAB>the error it must be refused with (tests/unit/test_pickle.c)\n")
    f.write("\n".join(expect) + "\n")
print("wrote", len(os.listdir(OUT)), "files to", OUT)
