"""Reference values for harness/train/src/metrics.rs, from scikit-learn.

Run: python3 tests/reference/metrics.py   (pip install scikit-learn)
"""
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

cases = {
    # 5 classes declared; class 4 never occurs in truth or prediction.
    "mixed": ([0, 0, 1, 1, 2, 2, 2, 3], [0, 1, 1, 1, 2, 0, 3, 3], [0, 1, 2, 3, 4]),
    # class 2 is predicted but absent from the truth.
    "absent": ([0, 0, 1], [0, 0, 2], [0, 1, 2]),
}
for name, (y, p, labels) in cases.items():
    present = sorted(set(y) | set(p))
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    print(name)
    print("  accuracy", accuracy_score(y, p))
    print("  macro_f1 (classes in truth or prediction)", f1_score(y, p, labels=present, average="macro", zero_division=0))
    print("  precision", [float(v) for v in prec])
    print("  recall", [float(v) for v in rec])
    print("  f1", [float(v) for v in f1])
    print("  support", [int(v) for v in support])
