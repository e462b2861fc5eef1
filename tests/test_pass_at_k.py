"""pass@k and maj@k: the exact estimators against brute force over k-subsets, answer clusters
decided by the real grader, a real `eval --n 4 --k 1,2,4` whose stored figures recompute from
its samples, `table --metric`, `check` on differing roots, and bad `--k` values."""

from __future__ import annotations

import itertools
import json
import math
import random
import shutil
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.errors import UserInputError
from dapo_bench.grading.math import grade_many
from dapo_bench.grading.math.cluster import cluster_labels
from dapo_bench.report.passk import (
    bootstrap_interval,
    k_figures,
    maj_at_k,
    parse_ks,
    pass_at_k,
)
from dapo_bench.report.results import BenchmarkResult, ResultsStore, SampleRecord, prompt_hash

REPO = Path(__file__).resolve().parents[1]
TOY_MODEL = REPO / "dapo_bench" / "toy" / "base_model"


# ------------------------------------------------------------------ estimators vs brute force


def _brute_pass(correct: list[bool], k: int) -> Fraction:
    subsets = list(itertools.combinations(correct, k))
    return Fraction(sum(any(s) for s in subsets), len(subsets))


def _brute_maj(labels: list[int | None], k: int) -> Fraction:
    """Label 0 is the gold's cluster, None does not vote; ties split evenly."""
    total = Fraction(0)
    subsets = list(itertools.combinations(labels, k))
    for subset in subsets:
        votes = Counter(x for x in subset if x is not None)
        if not votes:
            continue
        top = max(votes.values())
        tied = [c for c, v in votes.items() if v == top]
        if 0 in tied:
            total += Fraction(1, len(tied))
    return total / len(subsets)


def test_pass_at_k_equals_brute_force_on_small_cases() -> None:
    for n in range(1, 8):
        for c in range(n + 1):
            correct = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(float(_brute_pass(correct, k)),
                                                           abs=1e-12), (n, c, k)


def test_pass_at_k_is_stable_for_large_n() -> None:
    # 1 - C(999, 500) / C(1000, 500) = 1 - 500/1000, where the binomials have ~300 digits
    assert pass_at_k(1000, 1, 500) == pytest.approx(0.5, abs=1e-12)
    assert pass_at_k(200, 3, 10) == pytest.approx(
        1 - math.comb(197, 10) / math.comb(200, 10), abs=1e-12)


def test_maj_at_k_equals_brute_force_on_random_cases() -> None:
    rng = random.Random(0)
    for _ in range(150):
        n = rng.randint(1, 9)
        labels = [rng.choice([0, 0, 1, 1, 2, 3, None]) for _ in range(n)]
        correct = labels.count(0)
        wrong = list(Counter(x for x in labels if x not in (0, None)).values())
        for k in range(1, n + 1):
            got = maj_at_k(correct, wrong, labels.count(None), k)
            assert got == pytest.approx(float(_brute_maj(labels, k)), abs=1e-12), (labels, k)


def test_maj_at_k_simple_values() -> None:
    assert maj_at_k(3, [], 0, 3) == 1.0
    assert maj_at_k(0, [4], 0, 2) == 0.0
    assert maj_at_k(1, [1], 0, 2) == 0.5  # one vote each: a coin flip
    assert maj_at_k(0, [], 3, 2) == 0.0  # nobody answered


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean() -> None:
    rng = random.Random(1)
    values = [rng.random() for _ in range(50)]
    low, high = bootstrap_interval(values)
    assert (low, high) == bootstrap_interval(values)
    mean = sum(values) / len(values)
    assert low < mean < high
    assert bootstrap_interval([0.25] * 10) == pytest.approx((0.25, 0.25))


def test_k_defaults_and_bad_values() -> None:
    assert parse_ks(None, 1) == ()
    assert parse_ks(None, 4) == (1, 2, 4)
    assert parse_ks(None, 12) == (1, 2, 4, 8, 12)
    assert parse_ks("4, 1,4", 4) == (1, 4)
    for bad, what in (("8", "larger than --n 4"), ("0", "at least 1"),
                      ("1.5", "not a positive integer"), ("a", "not a positive integer"),
                      ("-1", "not a positive integer"), (",", "'' is not a positive")):
        with pytest.raises(UserInputError, match=what):
            parse_ks(bad, 4)


# ------------------------------------------------------------------ clusters by the grader


def _graded(responses: list[str], gold: str) -> list[tuple[bool, str | None]]:
    grades = grade_many([(r, gold) for r in responses], "math", workers=1)
    return [(g.correct, g.extracted) for g in grades]


def test_equivalent_answers_written_differently_are_one_cluster() -> None:
    # gold 3: the wrong answers \frac{1}{2}, 0.5 and 1/2 are one cluster, and outvote the gold
    responses = [r"So it is \boxed{\frac{1}{2}}.", r"\boxed{0.5}", r"\boxed{3}", r"\boxed{7}",
                 r"The answer is \boxed{1/2}", ""]
    graded = _graded(responses, "3")
    labels = cluster_labels([graded], "math", workers=1)[0]
    assert labels == [1, 1, 0, 2, 1, None]
    assert maj_at_k(1, [3, 1], 1, 6) == 0.0  # the 1/2 cluster wins with three votes

    # gold \frac{1}{2}: 0.5 and \frac{1}{2} are both correct, i.e. the gold's cluster
    graded = _graded([r"\boxed{0.5}", r"\boxed{\frac{1}{2}}", r"\boxed{2}"], r"\frac{1}{2}")
    assert cluster_labels([graded], "math", workers=1)[0] == [0, 0, 1]


def test_clusters_of_several_problems_in_one_pass() -> None:
    groups = [_graded([r"\boxed{x+1}", r"\boxed{1+x}", r"\boxed{x}"], "2"),
              _graded([r"\boxed{4}", r"\boxed{5}", r"\boxed{4.0}", r"\boxed{6}"], "6")]
    assert cluster_labels(groups, "math", workers=1) == [[1, 1, 2], [1, 2, 1, 0]]


# ------------------------------------------------------------------ eval end to end


def _env() -> dict[str, str]:
    import os

    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}


def _eval_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dapo_bench", "eval", str(TOY_MODEL), "--name", "toy-base",
            "--benchmarks", "toy_arith", "--limit", "8", "--backend", "hf", "--no-progress",
            "--temperature", "1.0", "--max-new-tokens", "64", "--grade-workers", "1",
            "--out", str(out), *extra]


@pytest.fixture(scope="module")
def eval_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("passk") / "results"
    proc = subprocess.run(_eval_cmd(out, "--n", "4", "--k", "1,2,4"), capture_output=True,
                          text=True, env=_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pass@4" in proc.stdout and "maj@4" in proc.stdout
    return out


def _stored(root: Path) -> tuple[dict, list[dict]]:
    result = json.loads((root / "toy-base" / "toy_arith.json").read_text())
    lines = (root / "toy-base" / "toy_arith.samples.jsonl").read_text().splitlines()
    return result, [json.loads(x) for x in lines]


def test_eval_stores_figures_that_recompute_from_the_samples(eval_root: Path) -> None:
    result, samples = _stored(eval_root)
    assert set(result["pass_at_k"]) == set(result["maj_at_k"]) == {"1", "2", "4"}
    by_problem: dict[str, list[dict]] = {}
    for s in samples:
        by_problem.setdefault(s["problem_id"], []).append(s)
    assert len(by_problem) == 8 and all(len(g) == 4 for g in by_problem.values())
    for k in (1, 2, 4):
        passes = [_brute_pass([s["correct"] for s in g], k) for g in by_problem.values()]
        majs = [_brute_maj([s["answer_cluster"] for s in g], k) for g in by_problem.values()]
        for field, values in (("pass_at_k", passes), ("maj_at_k", majs)):
            fig = result[field][str(k)]
            assert fig["value"] == pytest.approx(100 * float(sum(values)) / len(values),
                                                 abs=1e-9)
            assert fig["low"] <= fig["value"] <= fig["high"]
    # pass@1 is the accuracy; maj@1 too (one vote); a stored label matches the verdict
    assert result["pass_at_k"]["1"]["value"] == pytest.approx(result["metrics"]["accuracy"])
    assert result["maj_at_k"]["1"]["value"] == pytest.approx(result["metrics"]["accuracy"])
    assert all((s["answer_cluster"] == 0) == s["correct"] for s in samples)
    # the sampled toy model is right sometimes and wrong sometimes: the figures say something
    assert 0 < result["pass_at_k"]["1"]["value"] < result["pass_at_k"]["4"]["value"]


def test_wrong_answers_sharing_a_cluster_are_equivalent_for_the_grader(eval_root: Path
                                                                       ) -> None:
    _, samples = _stored(eval_root)
    pairs = []
    for s, t in itertools.combinations([s for s in samples if not s["correct"]
                                        and s["extracted"] is not None], 2):
        if s["problem_id"] == t["problem_id"]:
            pairs.append(((s["extracted"], t["extracted"]),
                          s["answer_cluster"] == t["answer_cluster"]))
    assert pairs
    verdicts = grade_many([p for p, _ in pairs], "toy_arith", workers=1, extract=False)
    for (pair, same), verdict in zip(pairs, verdicts, strict=True):
        if same:
            assert verdict.correct, pair


def test_greedy_run_stores_no_k_figures(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    path = store.write(BenchmarkResult(model="m", benchmark="b", metrics={"accuracy": 1.0}))
    data = json.loads(path.read_text())
    assert "pass_at_k" not in data and "maj_at_k" not in data
    assert store.read("m", "b").pass_at_k is None


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_table_renders_the_chosen_metric(eval_root: Path) -> None:
    result, _ = _stored(eval_root)
    common = ["table", "table1", "--results", str(eval_root), "--benchmarks", "toy_arith",
              "--format", "md"]
    code, out = _cli(*common, "--metric", "pass@4")
    assert code == 0, out
    assert f"{result['pass_at_k']['4']['value']:.2f}" in out and "[pass@4]" in out
    code, out = _cli(*common)
    assert code == 0 and f"{result['metrics']['accuracy']:.2f}" in out
    code, out = _cli(*common, "--metric", "maj@16")
    assert code == 2 and "holds maj@16" in out
    code, out = _cli(*common, "--metric", "pass@x")
    assert code == 2 and "pass@K" in out


def _problem_samples(correct_counts: list[int], n: int) -> list[SampleRecord]:
    """n samples for each problem, the first c of problem i correct; wrong ones in cluster 1."""
    out = []
    for i, c in enumerate(correct_counts):
        for j in range(n):
            ok = j < c
            out.append(SampleRecord(id=f"p{i}#{j}", prompt_hash=prompt_hash(f"p{i}"),
                                    output="o", extracted="1" if ok else "2", correct=ok,
                                    problem_id=f"p{i}", answer_cluster=0 if ok else 1))
    return out


def _write_k_root(root: Path, correct_counts: list[int], n: int = 4,
                  with_samples: bool = True) -> None:
    samples = _problem_samples(correct_counts, n)
    acc = 100 * sum(s.correct for s in samples) / len(samples)
    result = BenchmarkResult(model="m", benchmark="math", metrics={"accuracy": acc},
                             n=len(samples), n_correct=sum(s.correct for s in samples),
                             pass_at_k=k_figures("pass", (1, 4), samples),
                             maj_at_k=k_figures("maj", (1, 4), samples))
    ResultsStore(root).write(result, samples if with_samples else None)


def test_check_compares_pass_and_maj_per_problem(tmp_path: Path) -> None:
    base = [2] * 30 + [0] * 10
    _write_k_root(tmp_path / "a", base)
    shutil.copytree(tmp_path / "a", tmp_path / "same")
    code, out = _cli("check", "--baseline", str(tmp_path / "a"), "--current",
                     str(tmp_path / "same"))
    assert code == 0, out
    assert "math pass@4" in out and "math maj@4" in out and "sign test" in out

    # 20 problems that had two correct samples of four now have none
    _write_k_root(tmp_path / "b", [0] * 20 + [2] * 10 + [0] * 10)
    code, out = _cli("check", "--baseline", str(tmp_path / "a"), "--current",
                     str(tmp_path / "b"))
    assert code == 1, out
    assert "-20/+0 problems" in out
    last = next(x for x in out.splitlines() if "regression(s)" in x)
    assert "m/math pass@4" in last and "m/math maj@4" in last


def test_check_without_samples_uses_the_tolerance(eval_root: Path, tmp_path: Path) -> None:
    _write_k_root(tmp_path / "a", [2] * 30 + [0] * 10, with_samples=False)
    _write_k_root(tmp_path / "b", [2] * 29 + [0] * 11, with_samples=False)
    code, out = _cli("check", "--baseline", str(tmp_path / "a"), "--current",
                     str(tmp_path / "b"), "--tolerance", "5")
    assert code == 0, out
    assert "math pass@4" in out and "tolerance" in out
    code, out = _cli("check", "--baseline", str(tmp_path / "a"), "--current",
                     str(tmp_path / "b"), "--tolerance", "1")
    assert code == 1 and "m/math pass@4" in out

    code, out = _cli("check", "--baseline", str(eval_root), "--current", str(eval_root))
    assert code == 0 and "toy_arith maj@2" in out


@pytest.mark.parametrize("k", ["8", "0", "1.5"])
def test_bad_k_is_one_line_and_exit_2(k: str, tmp_path: Path) -> None:
    proc = subprocess.run(_eval_cmd(tmp_path, "--n", "4", "--k", k), capture_output=True,
                          text=True, env=_env(), timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --k"), proc.stderr
    assert not (tmp_path / "toy-base").exists()  # refused before anything was written


def test_regrade_takes_n_from_the_log(eval_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "results"
    shutil.copytree(eval_root, root)
    code, out = _cli("eval", str(TOY_MODEL), "--name", "toy-base", "--benchmarks", "toy_arith",
                     "--limit", "8", "--out", str(root), "--regrade", "--no-progress",
                     "--grade-workers", "1", "--k", "8")
    assert code == 2 and "--k 8 is larger than the 4 sample(s)" in out
    before, _ = _stored(eval_root)
    code, out = _cli("eval", str(TOY_MODEL), "--name", "toy-base", "--benchmarks", "toy_arith",
                     "--limit", "8", "--out", str(root), "--regrade", "--no-progress",
                     "--grade-workers", "1")
    assert code == 0, out
    after, _ = _stored(root)
    assert after["pass_at_k"] == before["pass_at_k"] and after["maj_at_k"] == before["maj_at_k"]
