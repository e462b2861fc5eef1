"""`dapo-bench grade SAMPLES --benchmark <code benchmark>`: per-sample verdicts to a file and
pass@1 for the base and the plus tests, with clear errors for bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sandbox_support import private_reference_cache  # noqa: F401 - autouse fixture

from dapo_bench.cli import main
from dapo_bench.grading.code import pass_at_1

DATA = Path(__file__).parent / "fixtures" / "data"


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_grade_code_samples(tmp_path: Path) -> None:
    samples = _write(tmp_path / "samples.jsonl", [
        # a complete program, run as is
        {"task_id": "Fixture/0",
         "solution": "def sum_of_squares(xs):\n    return sum(x * x for x in xs)\n"},
        # a model response: the program is extracted; base ok, plus (big ints) wrong
        {"task_id": "Fixture/0", "response": "```python\ndef sum_of_squares(xs):\n"
                                             "    return int(sum(float(x) ** 2 for x in xs))\n```"},
        # evalplus-style completion, appended to the prompt
        {"task_id": "Fixture/2", "completion": "    return sum(xs) / len(xs)\n"},
        {"task_id": "Fixture/1", "response": "no code"},
    ])
    out = tmp_path / "verdicts.jsonl"
    result = CliRunner().invoke(main, ["grade", str(samples), "--benchmark", "humaneval_plus",
                                       "--data", str(DATA), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["verdict"] for r in rows] == ["pass", "fail", "pass", "error"]
    assert [r["base_correct"] for r in rows] == [True, True, True, False]
    assert rows[1]["failing_test"] is not None and "plus test" in rows[1]["detail"]
    # pass@1 per task, averaged: base (0: 2/2, 2: 1/1, 1: 0/1) and plus (0: 1/2, 2: 1, 1: 0)
    assert "66.67" in result.output and "50.00" in result.output


@pytest.mark.parametrize(("row", "message"), [
    ({"task_id": "Nope/1", "solution": "x = 1"}, "not in the benchmark"),
    ({"task_id": "Fixture/0"}, "needs one of solution, completion, response"),
    ({"task_id": "Fixture/0", "solution": 3}, "field 'solution'"),
])
def test_bad_rows_name_file_line_and_field(tmp_path: Path, row: dict, message: str) -> None:
    samples = _write(tmp_path / "s.jsonl", [row])
    result = CliRunner().invoke(main, ["grade", str(samples), "--benchmark", "humaneval",
                                       "--data", str(DATA)])
    assert result.exit_code == 2
    assert message in result.output and "line 1" in result.output


def test_pass_at_1_averages_tasks() -> None:
    assert pass_at_1(["a", "a", "b"], [True, False, True]) == 75.0
