#!/usr/bin/env python3
"""Checks that the dashboard's colours that share a chart stay distinguishable with colour-vision
deficiencies: each pair below, simulated for protanopia, deuteranopia and tritanopia (Machado,
Oliveira & Fernandes 2009, severity 1.0, on linear sRGB), must differ by CIE76 ΔE >= MIN_DELTA_E
in CIELAB. The colours are read from `const COLOR = {...}` in DashboardPage.swift.

Usage: scripts/checks/dashboard_palette.py [Sources/WeirService/Dashboard/DashboardPage.swift]
Prints each pair's ΔE (normal vision and the three simulations); exit 1 if one is too close.
"""
import os
import re
import sys

MIN_DELTA_E = 30
# Pairs drawn together: timeline lines vs the drifted-window mark, histogram bars vs the
# new-category bar, the reference vs the current window, the performance chart's four series.
PAIRS = [("psi", "drift"), ("ks", "drift"), ("chi2", "drift"), ("cur", "newcat"), ("ref", "cur"), ("thr", "psi"),
         ("champLoss", "challLoss"), ("champAcc", "challAcc"), ("champLoss", "champAcc"), ("challLoss", "challAcc")]
MACHADO = {
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    "normal": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
}


def linear(c):
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def lab(r, g, b):
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.9505
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.089
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def simulate(hex_colour, m):
    v = [linear(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5)]
    return lab(*[max(0.0, min(1.0, sum(m[i][j] * v[j] for j in range(3)))) for i in range(3)])


def main(argv):
    path = argv[0] if argv else os.path.join(os.path.dirname(__file__), "../../Sources/WeirService/Dashboard/DashboardPage.swift")
    text = open(path).read()
    block = re.search(r"const COLOR = \{(.*?)\};", text, re.S).group(1)
    colours = dict(re.findall(r'(\w+): "(#[0-9A-Fa-f]{6})"', block))
    worst, failed = None, False
    for a, b in PAIRS:
        d = {k: sum((p - q) ** 2 for p, q in zip(simulate(colours[a], m), simulate(colours[b], m))) ** 0.5 for k, m in MACHADO.items()}
        low = min(d.values())
        worst = low if worst is None else min(worst, low)
        ok = low >= MIN_DELTA_E
        failed |= not ok
        print("%-22s %s %s  %s%s" % (a + " / " + b, colours[a], colours[b], "  ".join("%s %.0f" % kv for kv in d.items()),
                                     "" if ok else "  TOO CLOSE"))
    print("smallest ΔE: %.1f (minimum %d)" % (worst, MIN_DELTA_E))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
