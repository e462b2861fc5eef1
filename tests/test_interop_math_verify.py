"""Cross-grading with Math-Verify (real Math-Verify, in its bounded worker processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.interop.math_verify import verify_many
from dapo_bench.interop.tools import MATH_VERIFY, tool_python

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
RESPONSES = FIXTURES / "interop" / "math500_responses.jsonl"


@pytest.fixture(scope="module", autouse=True)
def math_verify_python() -> str:
    return tool_python(MATH_VERIFY, create=True)


@pytest.fixture(autouse=True)
def _use_it(monkeypatch: pytest.MonkeyPatch, math_verify_python: str) -> None:
    monkeypatch.setenv(MATH_VERIFY.env_var, math_verify_python)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


def test_grade_cross_grade_writes_both_verdicts_and_disagreements(tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    result = CliRunner().invoke(main, [
        "grade", str(RESPONSES), "--benchmark", "math500", "--data", str(FIXTURES / "data"),
        "--out", str(out), "--workers", "2", "--cross-grade", "math-verify"])
    assert result.exit_code == 0, result.output
    rows = _jsonl(out)
    assert len(rows) == len(_jsonl(RESPONSES))
    for row in rows:
        assert set(row["math_verify"]) == {"correct", "extracted", "verdict"}
    disagreements = _jsonl(tmp_path / "verdicts.disagreements.math-verify.jsonl")
    differ = [r for r in rows if r["correct"] != r["math_verify"]["correct"]]
    assert len(disagreements) == len(differ) >= 1
    assert "agrees on 11/12" in result.output
    by_answer = {d["dapo_bench"]["extracted"]: d for d in disagreements}
    # The documented difference: a repeated list item (ours a multiset, Math-Verify a set).
    # (A decimal within 1e-4 of an exact gold, 0.50001 for 1/2, is wrong for both graders
    # under the strict numeric policy.)
    assert by_answer["-1, 0, 1, 1"]["math-verify"]["correct"] is True
    assert by_answer["-1, 0, 1, 1"]["dapo_bench"]["correct"] is False
    assert "0.50001" not in by_answer
    for d in disagreements:
        assert d["response"] and d["gold"] and d["dapo_bench"]["rule"] and "line" in d


def test_grade_cross_grade_refuses_code(tmp_path: Path) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text('{"task_id": "Fixture/0", "solution": "x"}\n')
    result = CliRunner().invoke(main, ["grade", str(samples), "--benchmark", "humaneval_plus",
                                       "--data", str(FIXTURES / "data"),
                                       "--cross-grade", "math-verify"])
    assert result.exit_code == 2 and "math answers only" in result.output


def test_eval_cross_grade_on_toy(tmp_path: Path) -> None:
    from dapo_bench.toy.base import toy_base_path

    result = CliRunner().invoke(main, [
        "eval", str(toy_base_path()), "--benchmarks", "toy_arith", "--limit", "20",
        "--backend", "hf", "--max-new-tokens", "96", "--out", str(tmp_path), "--name", "toy",
        "--no-progress", "--cross-grade", "math-verify", "--grade-workers", "2"])
    assert result.exit_code == 0, result.output
    assert "toy_arith: math-verify agrees on" in result.output
    samples = _jsonl(tmp_path / "toy" / "toy_arith.samples.jsonl")
    assert len(samples) == 20 and all("math_verify" in s for s in samples)
    stored = json.loads((tmp_path / "toy" / "toy_arith.json").read_text())
    agree = sum(s["correct"] == s["math_verify"]["correct"] for s in samples)
    assert stored["metrics"]["math_verify_agreement"] == pytest.approx(100 * agree / 20)
    assert len(_jsonl(tmp_path / "toy" / "toy_arith.disagreements.math-verify.jsonl")) == 20 - agree


def test_overrun_is_a_timeout_and_the_worker_is_replaced() -> None:
    """The mechanism, with no budget a loaded machine can break: a case given no time at all
    (a huge sum, polled once) cannot answer in time; the ordinary cases after it, on the
    replaced worker, get a budget far beyond any load."""
    from dapo_bench.interop.math_verify import _Worker

    huge = "\\boxed{" + "+".join(f"x_{{{i}}}" for i in range(3000)) + "}"
    worker = _Worker(tool_python(MATH_VERIFY))
    try:
        assert worker.judge("1", "\\boxed{4}", 600.0).verdict == "wrong"  # started and warm
        first = worker.proc
        timed_out = worker.judge("1", huge, 0.0)
        assert timed_out.verdict == "timeout" and not timed_out.correct
        assert worker.proc is None and first is not None and first.poll() is not None
        # a fresh worker needs its start-up, which the answer's budget does not include
        assert worker.judge("4", "\\boxed{4}", 600.0).verdict == "correct"
        assert worker.proc is not None and worker.proc is not first
        assert worker.judge("4", "\\boxed{5}", 600.0).verdict == "wrong"
    finally:
        worker.close()
    verdicts = verify_many([("\\boxed{4}", "4"), ("\\boxed{5}", "4")], workers=1,
                           timeout_s=600.0)
    assert [v.verdict for v in verdicts] == ["correct", "wrong"]


def test_missing_tool_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    from dapo_bench.errors import UserInputError
    from dapo_bench.interop.tools import Tool

    monkeypatch.setenv("DAPO_BENCH_CACHE", str(tmp_path))
    absent = Tool("no-such-tool", "no_such_tool_xyz", "no-such-tool==1.0", own_env=False)
    with pytest.raises(UserInputError, match=r"dapo-bench\[interop\].*DAPO_BENCH_NO_SUCH_TOOL"):
        tool_python(absent)
    monkeypatch.setenv(absent.env_var, str(tmp_path / "python"))
    with pytest.raises(UserInputError, match="cannot import no_such_tool_xyz"):
        tool_python(absent)
