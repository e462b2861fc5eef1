"""The math grader's numeric policy is recorded in every result's provenance (issue 19), and
results written before the field existed still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.evaluate import _math_policy
from dapo_bench.grading.math import POLICY_ENV
from dapo_bench.report.results import BenchmarkResult, ResultsStore, load_result
from dapo_bench.testing import cached_tiny_qwen2

FIXTURES = Path(__file__).parent / "fixtures" / "data"
STORED = Path(__file__).resolve().parents[1] / "results" / "toy"


def _eval(*args: str) -> str:
    result = CliRunner().invoke(main, ["eval", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_eval_records_the_policy_and_a_regrade_under_another_records_that(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)  # and restored after --math-policy sets it
    model = cached_tiny_qwen2()
    base = [str(model), "--benchmarks", "math", "--data-dir", str(FIXTURES), "--out",
            str(tmp_path), "--limit", "2", "--backend", "hf", "--no-progress",
            "--max-new-tokens", "3"]
    _eval(*base)
    path = tmp_path / model.name / "math.json"
    assert json.loads(path.read_text())["provenance"]["math_policy"] == "strict"
    _eval(*base, "--regrade", "--math-policy", "qwen")
    assert load_result(path).provenance.math_policy == "qwen"


def test_code_benchmarks_record_no_math_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POLICY_ENV, "qwen")
    assert _math_policy("humaneval") is None
    assert _math_policy("gsm8k") == "qwen"


def test_results_written_before_the_field_still_load(tmp_path: Path) -> None:
    old = {"schema_version": 1, "model": "m", "benchmark": "gsm8k",
           "metrics": {"accuracy": 50.0}, "provenance": {"recipe": "toy"}}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "gsm8k.json").write_text(json.dumps(old))
    assert load_result(tmp_path / "m" / "gsm8k.json").provenance.math_policy is None
    stored = ResultsStore(STORED).results()
    assert stored, "the stored toy results are part of the repository"
    assert all(isinstance(r, BenchmarkResult) for r in stored.values())
