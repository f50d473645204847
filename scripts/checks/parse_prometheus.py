"""Parses a Prometheus text exposition (stdin) with prometheus_client's own parser and prints its
samples as JSON lines: {"name": ..., "labels": {...}, "value": ..., "type": ...}.

Used by Tests/WeirCLITests/OperationsTests.swift as an independent check that /metrics is valid
text format 0.0.4. Exits 1 (with the parser's error) when the text does not parse.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
try:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            print(json.dumps({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type}))
except Exception as e:  # the parser raises ValueError (and others) on malformed input
    print(f"not valid Prometheus text: {e}", file=sys.stderr)
    sys.exit(1)
