"""Reference values for harness/suite/src/stats.rs: log-gamma, the regularised incomplete beta
function, the Student-t CDF and Welch's t-test, from scipy.

Run: python3 tests/reference/welch.py
"""
import math

import scipy
from scipy import special, stats

print("scipy", scipy.__version__)
print("== lgamma")
for x in [0.5, 3.7, 25.25]:
    print(f"lgamma({x}) = {special.gammaln(x)!r}")
print("== betainc")
for a, b, x in [(2, 3, 0.4), (0.5, 0.5, 0.2), (10.5, 0.5, 0.95), (1.35, 0.5, 0.01)]:
    print(f"betainc({a}, {b}, {x}) = {special.betainc(a, b, x)!r}")
print("== t.cdf")
for t, df in [(2.0, 3), (-1.3, 7.5), (0.0, 4), (10.0, 2.2)]:
    print(f"t.cdf({t}, {df}) = {stats.t.cdf(t, df)!r}")
print("== welch")
cases = [
    ([0.91, 0.93, 0.92], [0.85, 0.86, 0.84]),
    ([0.90, 0.92, 0.88, 0.91], [0.89, 0.93, 0.90]),
    ([0.5, 0.6, 0.55, 0.52, 0.58], [0.51, 0.49]),
]
for a, b in cases:
    r = stats.ttest_ind(a, b, equal_var=False)
    print(f"welch({a}, {b}): t = {r.statistic!r}, p = {r.pvalue!r}, df = {r.df!r}")
print("== diff fixture")
# The hand-built result sets of harness/suite/src/diff.rs's tests.
fixture = {
    "clear": ([0.90, 0.91, 0.92], [0.80, 0.81, 0.82]),
    "noise": ([0.90, 0.93, 0.87], [0.91, 0.88, 0.92]),
}
for name, (a, b) in fixture.items():
    r = stats.ttest_ind(b, a, equal_var=False)
    print(f"{name}: mean_a = {sum(a)/len(a)!r}, mean_b = {sum(b)/len(b)!r}, t = {r.statistic!r}, p = {r.pvalue!r}")
