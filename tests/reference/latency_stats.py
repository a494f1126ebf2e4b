"""Reference statistics for harness/cost/src/latency.rs, from numpy.

Quantiles use numpy's default (linear interpolation between order statistics, "type 7");
MAD is the unscaled median absolute deviation from the median.
Run: python3 tests/reference/latency_stats.py
"""
import numpy as np

cases = {
    "ten": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0],
    "skewed": [0.0021, 0.0019, 0.0020, 0.0022, 0.0150, 0.0020, 0.0018, 0.0021],
    "one": [7.5],
}
for name, xs in cases.items():
    x = np.array(xs)
    med = np.median(x)
    print(name, "median", repr(med), "p10", repr(np.percentile(x, 10)), "p90", repr(np.percentile(x, 90)),
          "mad", repr(np.median(np.abs(x - med))), "mean", repr(x.mean()))
