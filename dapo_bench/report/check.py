"""Regression check of current results against a stored baseline.

Where both sides kept per-sample records for the same sample ids, the change is judged by an
exact McNemar test on the discordant pairs (a sample right before and wrong now, or the reverse):
a drop is a regression only when it is significant. Without samples on both sides, a drop larger
than the tolerance (percentage points) is a regression.

pass@k and maj@k figures present on both sides are compared too, each k on its own: with
samples on both sides for the same problems, by an exact sign test on the per-problem values
recomputed from the samples (a drop is a regression when significant); otherwise by the
tolerance on the stored figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scipy.stats import binomtest

from dapo_bench.errors import DataError, UserInputError
from dapo_bench.report.results import BenchmarkResult, ResultsStore, SampleRecord


@dataclass(frozen=True)
class Comparison:
    model: str
    benchmark: str
    baseline: float
    current: float
    method: str  # "paired", "paired-problems" (sign test) or "tolerance"
    p_value: float | None = None
    worse: int | None = None  # right in the baseline, wrong now
    better: int | None = None  # wrong in the baseline, right now
    regression: bool = False
    metric: str = "accuracy"  # or pass@K / maj@K

    @property
    def delta(self) -> float:
        return self.current - self.baseline


@dataclass
class CheckReport:
    comparisons: list[Comparison]
    only_baseline: list[tuple[str, str]]
    only_current: list[tuple[str, str]]

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.regression]


def mcnemar_exact(worse: int, better: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs at 1/2."""
    n = worse + better
    if n == 0:
        return 1.0
    return float(binomtest(better, n, 0.5, alternative="two-sided").pvalue)


def paired_counts(base: list[SampleRecord], cur: list[SampleRecord], where: str
                  ) -> tuple[int, int]:
    base_by_id = {s.id: s.correct for s in base}
    cur_by_id = {s.id: s.correct for s in cur}
    if base_by_id.keys() != cur_by_id.keys():
        missing = sorted(base_by_id.keys() - cur_by_id.keys())[:3]
        extra = sorted(cur_by_id.keys() - base_by_id.keys())[:3]
        raise UserInputError(
            f"{where}: baseline and current samples cover different ids "
            f"(only in baseline: {missing}, only in current: {extra})")
    worse = sum(1 for k, ok in base_by_id.items() if ok and not cur_by_id[k])
    better = sum(1 for k, ok in base_by_id.items() if not ok and cur_by_id[k])
    return worse, better


def compare_one(base: BenchmarkResult, cur: BenchmarkResult,
                base_samples: list[SampleRecord] | None, cur_samples: list[SampleRecord] | None,
                *, tolerance: float, alpha: float) -> Comparison:
    if base.primary_metric != cur.primary_metric:
        raise UserInputError(f"{cur.model}/{cur.benchmark}: primary metric differs "
                             f"({base.primary_metric!r} vs {cur.primary_metric!r})")
    if base_samples is not None and cur_samples is not None:
        worse, better = paired_counts(base_samples, cur_samples, f"{cur.model}/{cur.benchmark}")
        p = mcnemar_exact(worse, better)
        return Comparison(cur.model, cur.benchmark, base.value, cur.value, "paired", p, worse,
                          better, regression=worse > better and p < alpha)
    return Comparison(cur.model, cur.benchmark, base.value, cur.value, "tolerance",
                      regression=cur.value < base.value - tolerance)


def compare_k(base: BenchmarkResult, cur: BenchmarkResult,
              base_samples: list[SampleRecord] | None, cur_samples: list[SampleRecord] | None,
              *, tolerance: float, alpha: float) -> list[Comparison]:
    """One comparison per pass@k / maj@k figure both results hold."""
    from dapo_bench.report.passk import figures_of, has_clusters, per_problem, problem_groups

    where = f"{cur.model}/{cur.benchmark}"
    paired = base_samples is not None and cur_samples is not None
    if paired:
        assert base_samples is not None and cur_samples is not None
        base_groups, cur_groups = problem_groups(base_samples), problem_groups(cur_samples)
        if base_groups.keys() != cur_groups.keys():
            paired = False  # different problems: nothing to pair
    out = []
    for kind in ("pass", "maj"):
        base_f, cur_f = figures_of(base, kind), figures_of(cur, kind)
        for k in sorted(base_f.keys() & cur_f.keys()):
            metric = f"{kind}@{k}"
            b, c = base_f[k].value, cur_f[k].value
            usable = paired and (kind == "pass" or (
                has_clusters(base_samples or []) and has_clusters(cur_samples or [])))
            if not usable:
                out.append(Comparison(cur.model, cur.benchmark, b, c, "tolerance",
                                      regression=c < b - tolerance, metric=metric))
                continue
            try:
                bv = per_problem(kind, k, base_groups)
                cv = per_problem(kind, k, cur_groups)
            except UserInputError as exc:
                raise UserInputError(f"{where}: {exc}") from None
            worse = sum(1 for p in bv if cv[p] < bv[p] - 1e-12)
            better = sum(1 for p in bv if cv[p] > bv[p] + 1e-12)
            p_value = mcnemar_exact(worse, better)  # the sign test: same binomial at 1/2
            out.append(Comparison(cur.model, cur.benchmark, b, c, "paired-problems", p_value,
                                  worse, better, metric=metric,
                                  regression=c < b and worse > better and p_value < alpha))
    return out


def check(baseline: Path, current: Path, *, tolerance: float = 1.0, alpha: float = 0.05
          ) -> CheckReport:
    for side, path in (("baseline", baseline), ("current", current)):
        if not path.is_dir():
            raise UserInputError(f"{side} results directory {path} does not exist")
    base_store, cur_store = ResultsStore(baseline), ResultsStore(current)
    base_results, cur_results = base_store.results(), cur_store.results()
    common = sorted(base_results.keys() & cur_results.keys())
    if not common:
        raise UserInputError(f"no (model, benchmark) result is present in both {baseline} and "
                             f"{current}")
    comparisons = []
    for key in common:
        base, cur = base_results[key], cur_results[key]
        base_s = _samples_or_none(base_store, base)
        cur_s = _samples_or_none(cur_store, cur)
        comparisons.append(compare_one(base, cur, base_s, cur_s, tolerance=tolerance,
                                       alpha=alpha))
        comparisons += compare_k(base, cur, base_s, cur_s, tolerance=tolerance, alpha=alpha)
    return CheckReport(comparisons,
                       only_baseline=sorted(base_results.keys() - cur_results.keys()),
                       only_current=sorted(cur_results.keys() - base_results.keys()))


def _samples_or_none(store: ResultsStore, result: BenchmarkResult) -> list[SampleRecord] | None:
    if result.samples is None:
        return None
    path = store.root / result.model / result.samples
    if not path.is_file():
        raise DataError(path, "per-sample file named by the result does not exist")
    return store.read_samples(result)
