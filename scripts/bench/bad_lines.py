#!/usr/bin/env python3
"""Writes N card-fraud events that all lack the required `amount` (every one a dead letter).

Usage: scripts/bench/bad_lines.py N OUT.jsonl
For measuring `weir replay topologies/card-fraud.yaml` on dead letters only (benchmarks/RESULTS.md).
"""
import sys

n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    for start in range(0, n, 100_000):
        f.write("".join(
            f'{{"event_id":"e{i}","ts":{1_700_000_000_000 + i * 10},"user":"u{i % 5000}",'
            f'"merchant":"grocery","country":"DE","device_age_days":{i % 900}}}\n'
            for i in range(start, min(n, start + 100_000))))
