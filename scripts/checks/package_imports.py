#!/usr/bin/env python3
"""Checks that every target of Package.swift declares exactly the modules its files import.

Usage: swift package dump-package | scripts/checks/package_imports.py [REPO_ROOT]
Prints each target's undeclared imports and unused declarations; exits 1 if there is any.
Toolchain modules (Foundation, Glibc, Testing, ...) are not declared and are ignored; a test
target may declare an executable target it runs but does not import (WeirCLITests: `weir`).
"""
import json
import os
import re
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Darwin",
          "Testing", "XCTest", "Swift", "_Concurrency", "Synchronization"}
IMPORT = re.compile(r"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_]\w*)", re.M)


def imports(directory):
    found = set()
    for dirpath, _, files in os.walk(directory):
        for f in files:
            if f.endswith(".swift"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    found.update(IMPORT.findall(fh.read()))
    return found - SYSTEM


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    package = json.load(sys.stdin)
    kinds = {t["name"]: t["type"] for t in package["targets"]}
    problems = 0
    for t in package["targets"]:
        if t["type"] not in ("regular", "executable", "test"):
            continue
        path = t.get("path") or os.path.join("Tests" if t["type"] == "test" else "Sources", t["name"])
        declared = set()
        for d in t.get("dependencies", []):
            (kind, value), = d.items()
            declared.add(value[0])  # byName/target: [name, condition]; product: [name, package, ...]
        used = imports(os.path.join(root, path))
        missing = sorted(used - declared)
        unused = sorted(m for m in declared - used if not (t["type"] == "test" and kinds.get(m) == "executable"))
        for m in missing:
            print(f"{t['name']}: imports {m} but does not declare it")
        for m in unused:
            print(f"{t['name']}: declares {m} but no file imports it")
        problems += len(missing) + len(unused)
    if problems == 0:
        print(f"package imports: {len(package['targets'])} targets declare exactly what they import")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
