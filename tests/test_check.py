"""`dapo-bench check`: passes on identical results, fails on regressions, exits 2 on bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.report.check import mcnemar_exact
from dapo_bench.report.results import BenchmarkResult, ResultsStore, SampleRecord, prompt_hash


def _write(root: Path, correct: list[bool] | None, *, accuracy: float | None = None,
           model: str = "m", benchmark: str = "gsm8k") -> None:
    store = ResultsStore(root)
    if correct is None:
        store.write(BenchmarkResult(model=model, benchmark=benchmark,
                                    metrics={"accuracy": accuracy}))
        return
    samples = [SampleRecord(id=str(i), prompt_hash=prompt_hash(str(i)), output="o",
                            correct=ok) for i, ok in enumerate(correct)]
    acc = 100 * sum(correct) / len(correct)
    store.write(BenchmarkResult(model=model, benchmark=benchmark, metrics={"accuracy": acc},
                                n=len(correct), n_correct=sum(correct)), samples)


def _check(base: Path, cur: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--baseline", str(base), "--current", str(cur),
                                       *extra])
    return result.exit_code, result.output


def test_mcnemar_exact_values() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    # 10 discordant pairs all one way: 2 * 0.5**10.
    assert abs(mcnemar_exact(10, 0) - 2 * 0.5**10) < 1e-12
    assert abs(mcnemar_exact(3, 3) - 1.0) < 1e-12


def test_identical_results_pass(tmp_path: Path) -> None:
    _write(tmp_path / "a", [True] * 30 + [False] * 20)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 0, out
    assert "no regression" in out and "p=1" in out


def test_paired_regression_fails_with_p_value(tmp_path: Path) -> None:
    base = [True] * 60 + [False] * 40
    cur = [False] * 20 + [True] * 40 + [False] * 40  # 20 samples flipped to wrong
    _write(tmp_path / "a", base)
    _write(tmp_path / "b", cur)
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 1, out
    assert "REGRESSION" in out and "-20/+0" in out and "-20.00" in out


def test_paired_small_noise_is_not_a_regression(tmp_path: Path) -> None:
    base = [True] * 60 + [False] * 40
    cur = [False] * 2 + [True] * 58 + [True] + [False] * 39  # -2 / +1: not significant
    _write(tmp_path / "a", base)
    _write(tmp_path / "b", cur)
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 0, out
    assert "changed" in out


def test_unpaired_uses_tolerance(tmp_path: Path) -> None:
    _write(tmp_path / "a", None, accuracy=50.0)
    _write(tmp_path / "b", None, accuracy=49.5)
    _write(tmp_path / "c", None, accuracy=47.0)
    assert _check(tmp_path / "a", tmp_path / "b")[0] == 0
    code, out = _check(tmp_path / "a", tmp_path / "c")
    assert code == 1 and "tolerance" in out
    assert _check(tmp_path / "a", tmp_path / "c", "--tolerance", "5")[0] == 0


def test_malformed_file_exits_2_naming_it(tmp_path: Path) -> None:
    _write(tmp_path / "a", None, accuracy=50.0)
    _write(tmp_path / "b", None, accuracy=50.0)
    bad = tmp_path / "b" / "m" / "gsm8k.json"
    bad.write_text('{"model": "m", "benchmark": "gsm8k", "metrics": ')
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 2
    assert "gsm8k.json" in out and "invalid JSON" in out


def test_mismatched_sample_ids_exit_2(tmp_path: Path) -> None:
    _write(tmp_path / "a", [True, False, True])
    _write(tmp_path / "b", [True, False])
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 2 and "different ids" in out


def test_nothing_in_common_exits_2(tmp_path: Path) -> None:
    _write(tmp_path / "a", None, accuracy=50.0, model="x")
    _write(tmp_path / "b", None, accuracy=50.0, model="y")
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 2 and "no (model, benchmark)" in out
    assert _check(tmp_path / "a", tmp_path / "missing")[0] == 2


def test_packed_baseline_still_pairs_samples_and_catches_a_regression(tmp_path: Path) -> None:
    """A results root stored packed (`dapo-bench pack`) is read like a plain one: the check
    still pairs the samples (McNemar), against a plain current root."""
    _write(tmp_path / "a", [True] * 60 + [False] * 40)
    packed = CliRunner().invoke(main, ["pack", str(tmp_path / "a")])
    assert packed.exit_code == 0 and "packed 1 per-sample file" in packed.output, packed.output
    assert not (tmp_path / "a" / "m" / "gsm8k.samples.jsonl").exists()
    _write(tmp_path / "b", [False] * 20 + [True] * 40 + [False] * 40)
    code, out = _check(tmp_path / "a", tmp_path / "b")
    assert code == 1 and "McNemar (-20/+0)" in out, out
