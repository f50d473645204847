"""Peer for StatsBench (b): scipy/numpy closing a current window against a reference.

Usage: stats_close_peer.py REF.f64 CUR.f64 REPEATS
REF/CUR are raw little-endian float64 files written by StatsBench (the same data it uses).
Per close: KS (scipy.stats.ks_2samp, default method), Wasserstein-1 (scipy.stats.wasserstein_distance),
PSI on the reference's decile edges and Jensen-Shannon (scipy.spatial.distance.jensenshannon) on the
same bins. The reference's edges and bin counts are prepared once outside the timed loop (as Weir's
NumericReference is). Prints one JSON line: median and min seconds per close, and the statistics.
"""
import json
import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial import distance


def main():
    ref = np.fromfile(sys.argv[1], dtype="<f8")
    cur = np.fromfile(sys.argv[2], dtype="<f8")
    repeats = int(sys.argv[3])
    ref_sorted = np.sort(ref)
    edges = np.unique(np.quantile(ref_sorted, np.arange(1, 10) / 10))
    ref_counts = np.bincount(np.searchsorted(edges, ref_sorted, side="right"), minlength=len(edges) + 1)
    p = ref_counts / ref_counts.sum()
    p = np.where(p == 0, 1e-4, p)

    def close():
        ks = stats.ks_2samp(ref_sorted, cur)
        w = stats.wasserstein_distance(ref_sorted, cur)
        cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
        q = cc / cc.sum()
        q = np.where(q == 0, 1e-4, q)
        psi = float(np.sum((q - p) * np.log(q / p)))
        js = float(distance.jensenshannon(ref_counts, cc))
        return ks, w, psi, js

    close()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ks, w, psi, js = close()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({
        "median_seconds": times[len(times) // 2], "min_seconds": times[0],
        "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
        "wasserstein": float(w), "psi": psi, "js": js,
    }))


if __name__ == "__main__":
    main()
