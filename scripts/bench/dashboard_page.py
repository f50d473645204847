#!/usr/bin/env python3
"""Measures the drift dashboard at a long history: page weight, the first /api/state answer,
one /api/histogram answer, and the page's first render with N windows per monitor.

Usage: scripts/bench/dashboard_page.py WEIR CHROMIUM [--windows N] [--runs R]
  WEIR      the weir binary (e.g. .build/release/weir)
  CHROMIUM  headless Chromium (Debian's /usr/bin/chromium)

Starts `weir broker` with card-fraud's sink topics, publishes N drift records for each of the
card-fraud topology's 4 monitors (10-bin histograms, 12 categories for `merchant`, drift in every
50th window; the shapes of docs/records.md) with `weir produce`, starts `weir dashboard` on them,
waits until it holds N windows per monitor, then fetches what the page loads and opens the page
R times in headless Chromium (scripts/dashboard_browser.py render: the page's own
`data-first-render-ms`, i.e. performance.now() when the first state was drawn, navigation
start = 0, fetching /api/state included). Prints one JSON line.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import dashboard_browser  # noqa: E402

MONITORS = ["amount", "device_age_days", "merchant", "score"]
CATEGORIES = ["grocery", "fuel", "restaurant", "travel", "electronics", "fashion", "pharmacy", "entertainment",
              "crypto", "gift_cards", "jewellery", "casino"]


def drift_record(feature, w):
    cat = feature == "merchant"
    drifted = w % 50 == 49
    psi = (0.35 if drifted else 0.01) + 0.0007 * (w % 13) + 0.003 * MONITORS.index(feature)
    r = {"record": "drift", "feature": feature, "kind": "categorical" if cat else "numeric", "window": w,
         "window_type": "count", "window_start": 20000 + w * 5000, "window_end": 25000 + w * 5000,
         "first_event_time": 1_700_000_000_000 + w * 50_000, "last_event_time": 1_700_000_049_990 + w * 50_000,
         "n_current": 5000, "psi": psi, "ks_statistic": None if cat else 0.0123456 + psi / 7,
         "ks_pvalue": None if cat else max(1e-12, 0.6 - psi), "wasserstein_normalized": None if cat else psi / 3,
         "chi2_statistic": 12.345678 if cat else None, "chi2_pvalue": (1e-9 if drifted else 0.4123456) if cat else None,
         "js_distance": psi / 4, "drifted": drifted, "drift_reasons": (["psi", "chi2"] if cat else ["psi", "ks"]) if drifted else []}
    if cat:
        ref = [0.125] * 8 + [0.0] * 4
        cur = ref if not drifted else [0.1] * 8 + [0.05] * 4
        r["histogram"] = {"categories": CATEGORIES, "reference": ref, "current": cur}
    else:
        r["histogram"] = {"edges": [10.0 * k for k in range(1, 10)], "reference": [0.1] * 10,
                          "current": [0.1] * 10 if not drifted else [0.02] * 5 + [0.18] * 5}
    return r


def get(url):
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return body, time.monotonic() - started


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    weir, chromium = argv[0], argv[1]
    n = int(argv[argv.index("--windows") + 1]) if "--windows" in argv else 1000
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    topology = os.path.join(ROOT, "topologies/card-fraud.yaml")
    work = tempfile.mkdtemp(prefix="weir-dashbench-")
    bs_file = os.path.join(work, "bootstrap")
    broker = subprocess.Popen([weir, "broker", "--topic", "card-fraud.drift:2", "--topic", "card-fraud.alerts", "--topic",
                               "card-fraud.retrain", "--topic", "card-fraud.models", "--topic", "card-fraud.scores",
                               "--bootstrap-file", bs_file],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dash = None
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(bs_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        bs = open(bs_file).read().strip()
        records = os.path.join(work, "drift.jsonl")
        with open(records, "w") as f:
            for w in range(n):
                for m in MONITORS:
                    f.write(json.dumps(drift_record(m, w), separators=(",", ":")) + "\n")
        subprocess.run([weir, "produce", records, "--topic", "card-fraud.drift", "--brokers", bs, "--key-field", "feature"],
                       check=True, stdout=subprocess.DEVNULL)
        out = open(os.path.join(work, "dash.out"), "w+")
        dash = subprocess.Popen([weir, "dashboard", topology, "--brokers", bs, "--port", "0"], stdout=out,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        url = ""
        while not url.startswith("http://") and time.monotonic() < deadline:
            time.sleep(0.1)
            out.seek(0)
            url = out.readline().strip()
        deadline = time.monotonic() + 300
        while True:
            state, _ = get(url + "api/state")
            j = json.loads(state)
            if [len(m["windows"]) for m in j["monitors"]] == [n] * len(MONITORS):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the dashboard did not read %d windows per monitor" % n)
            time.sleep(0.5)
        weight = {p or "/": len(get(url + p)[0]) for p in ["", "dashboard.js", "dashboard.css"]}
        state_times = []
        for _ in range(3):
            body, seconds = get(url + "api/state")
            state_times.append(round(seconds * 1000))
        incremental, _ = get(url + "api/state?since=%d&after=%d" % (j["version"] - 1, j["sequence"]))
        hist, _ = get(url + "api/histogram?feature=merchant&window=49")
        rendered = dashboard_browser.render(chromium, url, runs)
        print(json.dumps({"windows_per_monitor": n, "monitors": len(MONITORS), "page_bytes": sum(weight.values()),
                          "page_parts": weight, "state_bytes": len(body), "state_ms": state_times,
                          "state_bytes_per_window": round(len(body) / (n * len(MONITORS)), 1),
                          "incremental_nothing_new_bytes": len(incremental), "histogram_bytes": len(hist),
                          "render": rendered}))
    finally:
        if dash:
            dash.terminate()
            dash.wait()
        broker.terminate()
        broker.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
