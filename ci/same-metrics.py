#!/usr/bin/env python3
"""Checks that two result sets of one suite hold the same runs with the same metrics.

    python3 ci/same-metrics.py REFERENCE_DIR OTHER_DIR

Each DIR is a result set folder (results/<suite>/<commit>/<machine>/). Every run record of
REFERENCE must exist in OTHER, finished, with equal headline scores (best and last checkpoint:
epoch, validation and test accuracy and macro-F1) and parameter count. Timings, hosts and
costs may differ. Exit status 1 lists every difference.
"""
import json
import pathlib
import sys

COMPARED = ("status", "config_hash", "best", "last", "parameters")


def records(folder):
    out = {}
    for path in sorted(pathlib.Path(folder).glob("*.json")):
        if path.name == "machine.json":
            continue
        record = json.loads(path.read_text())
        out[record["key"]] = record
    return out


def main(reference, other):
    a, b = records(reference), records(other)
    if not a:
        return [f"{reference}: no run records"]
    problems = []
    for key, ra in a.items():
        rb = b.get(key)
        if rb is None:
            problems.append(f"{key}: missing in {other}")
            continue
        for field in COMPARED:
            if ra.get(field) != rb.get(field):
                problems.append(f"{key}: {field} differs: {ra.get(field)} vs {rb.get(field)}")
    for key in sorted(set(b) - set(a)):
        problems.append(f"{key}: only in {other}")
    print(f"same-metrics: {len(a)} runs compared, {len(problems)} difference(s)")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    found = main(sys.argv[1], sys.argv[2])
    for p in found:
        print("  " + p)
    sys.exit(1 if found else 0)
