#!/usr/bin/env python3
"""Checks that the teachers in a teacher store are the ones a result set's records learnt from.

    python3 ci/teacher-matches-record.py RESULT_SET_DIR TEACHER_STORE_DIR

RESULT_SET_DIR is a result set folder (results/<suite>/<commit>/<machine>/); TEACHER_STORE_DIR
is the store the suite runs with (results/teachers/, or <results>/teachers/ under --results).

The store is not committed, so a fresh machine trains its teachers again before the distilled
rows. Those rows belong in the result set only if the retrained teachers equal the recorded ones:
a CPU with other kernels (SIMD level, cache sizes) trains the same seed to other numbers from
the first epoch on (docs/results.md, "Numbers depend on the CPU's kernels"). For every stored
teacher that has a teacher record of the same dataset, fold and seed in the set, this compares
every epoch's training loss and validation scores and both checkpoints' scores with the record,
exactly.

Run it as soon as the store has its teachers (their .json appears when one finishes; the
distilled runs after it take half an hour or more), and stop the suite if it fails. Exit status
0: every stored teacher with a record matches; 1: a difference (the first one of each teacher
is printed); 2: nothing to compare or bad arguments.
"""
import json
import pathlib
import sys

EPOCH_FIELDS = ("train_loss", "val_accuracy", "val_macro_f1")
SCORES = ("epoch", "val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1")


def load(path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"error: cannot read {path}: {e}")


def teacher_records(result_set):
    """Teacher records by (dataset, fold label, seed)."""
    out = {}
    for path in sorted(pathlib.Path(result_set).glob("*.json")):
        if path.name == "machine.json":
            continue
        record = load(path)
        config = record.get("config", {})
        if config.get("role") == "teacher" and record.get("status") == "finished":
            out[(config["dataset"], config["fold_label"], config["seed"])] = (path, record)
    return out


def checkpoint_scores(kept):
    """A store outcome's checkpoint in the record's flat form."""
    val, test = kept.get("val") or {}, kept.get("test") or {}
    return {
        "epoch": kept.get("epoch"),
        "val_accuracy": val.get("accuracy"),
        "val_macro_f1": val.get("macro_f1"),
        "test_accuracy": test.get("accuracy"),
        "test_macro_f1": test.get("macro_f1"),
    }


def first_difference(stored, record):
    recorded_history = record["output"]["outcome"]["history"]
    history = stored["outcome"]["history"]
    if len(history) != len(recorded_history):
        return f"{len(history)} epochs stored, {len(recorded_history)} recorded"
    for got, want in zip(history, recorded_history):
        for field in EPOCH_FIELDS:
            if got[field] != want[field]:
                return f"epoch {got['epoch']} {field}: stored {got[field]!r}, recorded {want[field]!r}"
    for which in ("best", "last"):
        got, want = checkpoint_scores(stored["outcome"][which]), record[which]
        for field in SCORES:
            if got[field] != want.get(field):
                return f"{which} checkpoint {field}: stored {got[field]!r}, recorded {want.get(field)!r}"
    return None


def main(result_set, store):
    records = teacher_records(result_set)
    if not records:
        print(f"error: {result_set} holds no finished teacher record", file=sys.stderr)
        return 2
    entries = sorted(pathlib.Path(store).glob("*.json"))
    compared, differing = 0, 0
    for path in entries:
        stored = load(path)
        identity = stored.get("identity", {})
        seed = identity.get("train", {}).get("seed")
        key = (identity.get("dataset"), identity.get("fold"), seed)
        if key not in records:
            print(f"skip  {path.name[:12]}: no teacher record of {key[0]} fold {key[1]} seed {seed}")
            continue
        record_path, record = records[key]
        compared += 1
        difference = first_difference(stored, record)
        if difference:
            differing += 1
            print(f"DIFF  {path.name[:12]} vs {record_path.name}: {difference}")
        else:
            print(f"same  {path.name[:12]} vs {record_path.name}: every epoch and both checkpoints")
    if compared == 0:
        print(f"error: no entry of {store} has a teacher record in {result_set}", file=sys.stderr)
        return 2
    return 1 if differing else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
