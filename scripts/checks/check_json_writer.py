#!/usr/bin/env python3
"""Checks WeirJSON's JSONWriter output with Python's json module (an independent parser).

Each line of the input file is `KEYHEX<TAB>STRHEX<TAB>DOUBLES<TAB>JSON`:
- KEYHEX: the raw bytes given to `value(utf8:)` (may be invalid UTF-8), hex;
- STRHEX: the UTF-8 of a Swift string given to `value(_:)` and used as a member key, hex;
- DOUBLES: comma-separated 16-hex-digit bit patterns of the doubles written;
- JSON: the writer's output, `[key, string, {string: 0}, [doubles...]]`.
Rules checked (README of WeirJSON): the line is strict UTF-8 and strict JSON (no NaN/Infinity, no raw
control characters, no raw U+2028/U+2029); invalid UTF-8 reads back as Python's
`decode("utf-8", "replace")`; strings read back exactly; a finite whole double below 2**53 is an
integer, another finite double a float with the same bits, NaN/inf are null.
Prints the number of cases and every failure (up to 20); exits 1 on any failure.
"""
import json
import math
import struct
import sys


def refuse(name):
    raise ValueError("non-finite literal " + name)


failures = []
cases = 0
with open(sys.argv[1], "rb") as f:
    for n, raw in enumerate(f, 1):
        raw = raw.rstrip(b"\n")
        key_hex, str_hex, doubles_hex, out = raw.split(b"\t", 3)
        cases += 1

        def fail(msg):
            if len(failures) < 20:
                failures.append(f"line {n}: {msg}: {out[:200]!r}")
            else:
                failures.append(None)

        try:
            text = out.decode("utf-8")  # strict
        except UnicodeDecodeError as e:
            fail(f"not UTF-8 ({e})")
            continue
        if "\u2028" in text or "\u2029" in text:
            fail("raw U+2028/U+2029")
        if any(ord(c) < 0x20 for c in text):
            fail("raw control character")
        try:
            v = json.loads(text, parse_constant=refuse)
        except ValueError as e:
            fail(f"not JSON ({e})")
            continue
        key = bytes.fromhex(key_hex.decode()).decode("utf-8", "replace")
        s = bytes.fromhex(str_hex.decode()).decode("utf-8")  # strict: Swift strings are valid UTF-8
        if v[0] != key:
            fail(f"key {v[0]!r} != {key!r}")
        if v[1] != s:
            fail(f"string {v[1]!r} != {s!r}")
        if list(v[2].keys()) != [s]:
            fail(f"member key {list(v[2].keys())!r} != {[s]!r}")
        expected = [struct.unpack(">d", bytes.fromhex(h))[0] for h in doubles_hex.decode().split(",") if h]
        if len(v[3]) != len(expected):
            fail("number count")
            continue
        for got, x in zip(v[3], expected):
            if not math.isfinite(x):
                if got is not None:
                    fail(f"{x!r} written as {got!r}, not null")
            elif x == math.floor(x) and abs(x) < 2.0**53:
                if type(got) is not int or got != int(x):
                    fail(f"whole {x!r} read back as {got!r} ({type(got).__name__}), not an integer")
            elif type(got) is not float or struct.pack(">d", got) != struct.pack(">d", x):
                fail(f"{x!r} read back as {got!r}")

print(f"{cases} cases, {len(failures)} failures")
for m in failures:
    if m:
        print(m)
sys.exit(1 if failures else 0)
