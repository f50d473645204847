"""Validates Weir JSON records (one per line) against schemas/*.schema.json with the independent
`jsonschema` package (Draft 2020-12). The schema is chosen by each record's "record" field, or
for every line by KIND (e.g. `score`: score records have no "record" field).

Usage: python3 scripts/checks/validate_records.py SCHEMA_DIR RECORDS.jsonl [KIND]
Prints "ok N" and exits 0 when every line is valid; otherwise prints each problem as
"line L: message" and exits 1. Also rejects NaN/Infinity tokens (not JSON).
"""
import json
import os
import sys

import jsonschema

SCHEMAS = {"drift": "drift-record.schema.json", "alert": "alert-record.schema.json",
           "retrain_request": "retrain-request.schema.json", "score": "score-record.schema.json"}


def reject_constant(token):
    raise ValueError(f"non-JSON constant {token}")


def main():
    schema_dir, path = sys.argv[1], sys.argv[2]
    forced = sys.argv[3] if len(sys.argv) > 3 else None
    if forced is not None and forced not in SCHEMAS:
        print(f"unknown record kind {forced} (known: {', '.join(SCHEMAS)})")
        sys.exit(2)
    validators = {}
    for kind, name in SCHEMAS.items():
        with open(os.path.join(schema_dir, name)) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[kind] = jsonschema.Draft202012Validator(schema)
    bad = 0
    n = 0
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            try:
                rec = json.loads(line, parse_constant=reject_constant)
            except ValueError as e:
                print(f"line {i}: {e}")
                bad += 1
                continue
            v = validators.get(forced if forced is not None else rec.get("record") if isinstance(rec, dict) else None)
            if v is None:
                print(f"line {i}: unknown record type")
                bad += 1
                continue
            for err in v.iter_errors(rec):
                print(f"line {i}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
                bad += 1
    if bad:
        sys.exit(1)
    print(f"ok {n}")


if __name__ == "__main__":
    main()
