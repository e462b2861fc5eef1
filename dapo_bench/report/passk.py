"""pass@k and maj@k: per-problem values from graded samples, their mean, a 95% interval.

Both are exact expectations over the uniformly random k-subsets of a problem's n samples, so
they are deterministic and recompute bit for bit from the stored per-sample records:

- pass@k: the probability that the subset holds a correct sample, ``1 - C(n-c, k) / C(n, k)``
  (the unbiased estimator of Chen et al., 2021);
- maj@k: the probability that the subset's majority vote picks a correct answer. Votes go to
  answer clusters (the ``answer_cluster`` label of each sample: 0 for the gold's cluster,
  1, 2, ... for the wrong ones, None for a sample without an answer, which does not vote);
  ties are broken uniformly at random; a subset with no answer at all is wrong.

Figures are percentages (0-100), averaged over problems; the interval is a percentile
bootstrap over problems (2,000 resamples, seed 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np

from dapo_bench.errors import UserInputError
from dapo_bench.report.results import BenchmarkResult, KFigure, SampleRecord

CLUSTER_FIELD = "answer_cluster"
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
_METRIC_RE = re.compile(r"^(pass|maj)@([0-9]+)$")


def pass_at_k(n: int, c: int, k: int) -> float:
    """``1 - C(n-c, k) / C(n, k)`` as a product (no huge binomials, no cancellation)."""
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"need 1 <= k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def maj_at_k(correct: int, wrong: Sequence[int], unanswered: int, k: int) -> float:
    """Probability that majority voting over a random k-subset picks the gold's cluster.

    ``correct`` is the gold cluster's size, ``wrong`` the sizes of the other clusters,
    ``unanswered`` the samples that do not vote. For each count x of gold votes in the subset,
    the clusters smaller than x can take any count (their ways together are one binomial, by
    Vandermonde's identity); the others (rivals) are counted by a small dynamic programme over
    (votes taken, rivals tied at x), each tie worth 1/(1 + ties).
    """
    n = correct + sum(wrong) + unanswered
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    total = 0.0
    for x in range(1, min(correct, k) + 1):
        budget = k - x
        rivals = [m for m in wrong if m >= x]
        free = unanswered + sum(m for m in wrong if m < x)
        dp = np.zeros((budget + 1, len(rivals) + 1))
        dp[0, 0] = 1.0
        for m in rivals:
            new = np.zeros_like(dp)
            for c in range(min(x, budget) + 1):
                w = float(math.comb(m, c))
                if c == x:
                    new[c:, 1:] += w * dp[:budget + 1 - c, :-1]
                else:
                    new[c:, :] += w * dp[:budget + 1 - c, :]
            dp = new
        free_ways = np.array([float(math.comb(free, budget - s)) for s in range(budget + 1)])
        tie_share = 1.0 / (1.0 + np.arange(len(rivals) + 1))
        total += float(math.comb(correct, x)) * float(free_ways @ dp @ tie_share)
    return total / float(math.comb(n, k))


def bootstrap_interval(values: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over problems (fixed seed: reproducible)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("no values")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // v.size)  # bound memory on large benchmarks
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        means[start:stop] = v[rng.integers(0, v.size, size=(stop - start, v.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def problem_groups(samples: Iterable[SampleRecord]) -> dict[str, list[SampleRecord]]:
    """Samples by problem, in order; the id's ``#k`` suffix names the problem of old records."""
    groups: dict[str, list[SampleRecord]] = {}
    for s in samples:
        pid = (s.model_extra or {}).get("problem_id") or s.id.rsplit("#", 1)[0]
        groups.setdefault(str(pid), []).append(s)
    return groups


def per_problem(kind: str, k: int, groups: dict[str, list[SampleRecord]]) -> dict[str, float]:
    """Each problem's pass@k or maj@k (a probability); maj@k needs cluster labels."""
    out = {}
    for pid, group in groups.items():
        n = len(group)
        if k > n:
            raise UserInputError(f"{kind}@{k} needs {k} samples per problem; problem {pid!r} "
                                 f"has {n}")
        if kind == "pass":
            out[pid] = pass_at_k(n, sum(s.correct for s in group), k)
        else:
            out[pid] = maj_at_k(*cluster_sizes(group), k)
    return out


def cluster_sizes(group: Sequence[SampleRecord]) -> tuple[int, list[int], int]:
    """(gold cluster size, wrong cluster sizes, unanswered) from the stored labels."""
    labels = [(s.model_extra or {}).get(CLUSTER_FIELD) for s in group]
    correct = sum(1 for s in group if s.correct)
    sizes: dict[int, int] = {}
    for s, label in zip(group, labels, strict=True):
        if not s.correct and label is not None:
            sizes[int(label)] = sizes.get(int(label), 0) + 1
    unanswered = len(group) - correct - sum(sizes.values())
    return correct, list(sizes.values()), unanswered


def has_clusters(samples: Sequence[SampleRecord]) -> bool:
    return bool(samples) and all(CLUSTER_FIELD in (s.model_extra or {}) for s in samples)


def k_figures(kind: str, ks: Sequence[int], samples: Sequence[SampleRecord]
              ) -> dict[int, KFigure]:
    """``{k: KFigure}`` of ``kind`` ("pass" or "maj") over the problems of ``samples``."""
    groups = problem_groups(samples)
    figures = {}
    for k in ks:
        values = list(per_problem(kind, k, groups).values())
        low, high = bootstrap_interval(values)
        figures[k] = KFigure(value=100 * float(np.mean(values)), low=100 * low, high=100 * high)
    return figures


def parse_metric(name: str) -> tuple[str, int | None]:
    """``accuracy`` (or any other stored metric) -> (name, None); ``pass@4`` -> ("pass", 4)."""
    m = _METRIC_RE.match(name.strip())
    if m is None:
        if "@" in name:
            raise UserInputError(f"--metric {name!r}: expected accuracy, pass@K or maj@K "
                                 f"(K a positive integer)")
        return name.strip(), None
    k = int(m.group(2))
    if k < 1:
        raise UserInputError(f"--metric {name!r}: K must be at least 1")
    return m.group(1), k


def figures_of(result: BenchmarkResult, kind: str) -> dict[int, KFigure]:
    stored = result.pass_at_k if kind == "pass" else result.maj_at_k
    return dict(stored or {})


def metric_value(result: BenchmarkResult, metric: str) -> float | None:
    """The value of ``metric`` in ``result``, or None where the result lacks it."""
    kind, k = parse_metric(metric)
    if k is None:
        return result.metrics.get(kind)
    figure = figures_of(result, kind).get(k)
    return None if figure is None else figure.value


def parse_ks(text: str | None, n: int) -> tuple[int, ...]:
    """``--k`` as given (``"1,4,16"``), or the defaults for ``--n n``: 1, the powers of two
    between, and n (none when n is 1). Bad values are one clear error."""
    if text is None:
        if n == 1:
            return ()
        ks = {1, n} | {2 ** i for i in range(1, n.bit_length()) if 2 ** i < n}
        return tuple(sorted(ks))
    ks_list = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise UserInputError(f"--k {text!r}: {part!r} is not a positive integer")
        k = int(part)
        if k < 1:
            raise UserInputError(f"--k {text!r}: k must be at least 1, got {k}")
        if k > n:
            raise UserInputError(f"--k {text!r}: k={k} is larger than --n {n} (samples per "
                                 f"problem)")
        ks_list.append(k)
    return tuple(sorted(set(ks_list)))
