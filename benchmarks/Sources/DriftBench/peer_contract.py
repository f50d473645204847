"""DriftBench peer: the workload contract's drift step (shared/bench/workload.py DriftMonitor:
numpy PSI + scipy ks_2samp) on the same values as DriftBench (c). Prints "<seconds> s, <ns> ns/event".
Usage: python peer_contract.py ROWS.f64 N [OUT.jsonl]   (ROWS: N x 3 float64, little-endian;
OUT: the emitted records as workload.dumps JSON lines, for DriftBench's agreement check)"""
import os
import sys
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "shared", "bench"))
import workload as W  # noqa: E402

rows = np.fromfile(sys.argv[1], dtype="<f8").reshape(-1, 3)
n = int(sys.argv[2])
cols = [rows[:, 0].tolist(), rows[:, 1].tolist(), rows[:, 2].tolist()]
out = []
m = W.DriftMonitor(n, lambda t, k, r: out.append(r))
add = m.add
a, b, c = cols
t0 = time.perf_counter()
for i in range(n):
    add(a[i], b[i], c[i])
t = time.perf_counter() - t0
print(f"{t:.3f} s, {t / n * 1e9:.0f} ns/event ({len(out)} records)")
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        for r in out:
            f.write(W.dumps(r).decode() + "\n")
