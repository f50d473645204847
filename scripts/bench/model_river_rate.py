"""River peer for ModelBench: times LogisticRegression(optimizer=SGD(0.01)) predict_proba_one +
learn_one per event on the stream ModelBench writes (run by ModelBench via Process).

Usage: model_river_rate.py CSV
CSV: header `f0..f24,c0..c4,y`; numeric features as floats, categories as strings `v<id>`.
River gets x = {f0..f24: value, "c<j>=<value>": 1.0 for each category} (one-hot by name).
Dicts are built before timing; only predict_proba_one + learn_one (and the LogLoss update) are
timed; best of two runs, each with a fresh model.
Prints one line: `events <n> seconds <s> rate <events/s> logloss <prequential log loss>`.
"""
import sys
import time

from river import linear_model, metrics, optim


def main():
    path = sys.argv[1]
    xs, ys = [], []
    with open(path) as f:
        header = f.readline().strip().split(",")
        nnum = sum(1 for h in header if h.startswith("f"))
        ncat = sum(1 for h in header if h.startswith("c"))
        for line in f:
            p = line.rstrip("\n").split(",")
            x = {header[i]: float(p[i]) for i in range(nnum)}
            for j in range(ncat):
                x[f"c{j}={p[nnum + j]}"] = 1.0
            xs.append(x)
            ys.append(p[-1] == "1")
    best = None
    for _ in range(2):  # best of two runs (fresh model each), as the Weir side takes its best pass
        model = linear_model.LogisticRegression(optimizer=optim.SGD(0.01))
        ll = metrics.LogLoss()
        t0 = time.perf_counter()
        for x, y in zip(xs, ys):
            p = model.predict_proba_one(x)[True]
            ll.update(y, p)
            model.learn_one(x, y)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    print(f"events {len(xs)} seconds {best:.6f} rate {len(xs) / best:.1f} logloss {ll.get():.6f}")


if __name__ == "__main__":
    main()
