"""Paired statistics for deltas between two models on the same problems.

Greedy accuracy (one 0/1 outcome per problem): exact McNemar test and a Wald interval for the
paired difference of proportions. Sampled accuracy (k outcomes per problem): per-problem mean
reward, exact sign test on the per-problem differences, and a t interval of the mean difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest, t

from dapo_bench.report.check import mcnemar_exact


@dataclass(frozen=True)
class PairedDelta:
    delta: float  # points (percent)
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    test: str


def paired_binary(base: Sequence[bool], new: Sequence[bool], level: float = 0.95
                  ) -> PairedDelta:
    if len(base) != len(new) or not base:
        raise ValueError("paired outcomes must be non-empty and of equal length")
    n = len(base)
    worse = sum(1 for a, b in zip(base, new, strict=True) if a and not b)
    better = sum(1 for a, b in zip(base, new, strict=True) if b and not a)
    diff = (better - worse) / n
    var = max((better + worse) / n - diff**2, 0.0) / n
    z = _z(level)
    return PairedDelta(100 * diff, 100 * (diff - z * math.sqrt(var)),
                       100 * (diff + z * math.sqrt(var)), mcnemar_exact(worse, better), n,
                       "McNemar exact")


def paired_means(base: Sequence[float], new: Sequence[float], level: float = 0.95
                 ) -> PairedDelta:
    if len(base) != len(new) or len(base) < 2:
        raise ValueError("paired means need at least two problems of equal count")
    diffs = [b - a for a, b in zip(base, new, strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = float(t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    pos, neg = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    p = 1.0 if pos + neg == 0 else float(binomtest(pos, pos + neg, 0.5).pvalue)
    return PairedDelta(100 * mean, 100 * (mean - half), 100 * (mean + half), p, n,
                       "sign test exact")


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))
