"""`dapo-bench grade`: verdicts, accuracy, and clear errors naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main

DATA = Path(__file__).parent / "fixtures" / "data"


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_grade_writes_verdicts_and_prints_accuracy(tmp_path: Path) -> None:
    responses = write(tmp_path / "r.jsonl", [
        {"id": 0, "response": "24 + 18 = 42, 42 - 35 = 7. The answer is 7."},
        {"id": "1", "response": r"So he reads $\boxed{168}$ pages."},
        {"id": 2, "response": r"The sale price is $\boxed{\$190}$."},
        {"id": 3, "response": "She earns 2,280 dollars."},
    ])
    out = tmp_path / "verdicts.jsonl"
    code, output = run("grade", str(responses), "--benchmark", "gsm8k", "--data", str(DATA),
                       "--out", str(out), "--workers", "1")
    assert code == 0, output
    assert "3/4 correct" in output and "75.00%" in output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["correct"] for r in records] == [True, True, False, True]
    assert records[2]["extracted"] == r"\$190" and records[2]["gold"] == "180"
    assert records[0]["rule"] == "exact" and records[1]["verdict"] == "correct"
    assert records[2]["rule"] == "numeric" and records[2]["verdict"] == "wrong"


def test_default_output_is_beside_the_input(tmp_path: Path) -> None:
    responses = write(tmp_path / "math.jsonl", [
        {"id": "test/algebra/1.json", "response": r"$x = \boxed{5}$"},
        {"id": "test/precalculus/7.json",
         "response": r"$\boxed{\begin{pmatrix}1&4\\0&1\end{pmatrix}}$"},
    ])
    code, output = run("grade", str(responses), "--benchmark", "math", "--data", str(DATA))
    assert code == 0, output
    assert "2/2 correct" in output
    assert (tmp_path / "math.graded.jsonl").is_file()


@pytest.mark.parametrize(("rows", "message"), [
    (["{not json"], "line 1"),
    ([{"id": 0}], "line 1: field 'response'"),
    ([{"id": 0, "response": "7"}, {"response": "7"}], "line 2: field 'id'"),
    ([{"id": 0, "response": 7}], "field 'response': expected a string"),
    ([{"id": 999, "response": "7"}], "line 1: field 'id': id '999' is not a problem"),
])
def test_bad_input_exits_2_naming_the_problem(tmp_path: Path, rows: list[object],
                                              message: str) -> None:
    responses = write(tmp_path / "r.jsonl", rows)
    code, output = run("grade", str(responses), "--benchmark", "gsm8k", "--data", str(DATA))
    assert code == 2
    assert message in " ".join(output.split())
    assert str(responses) in " ".join(output.split()).replace("\n", "")


def test_missing_file_and_unknown_benchmark(tmp_path: Path) -> None:
    code, output = run("grade", str(tmp_path / "nope.jsonl"), "--benchmark", "gsm8k",
                       "--data", str(DATA))
    assert code == 2 and "does not exist" in output
    code, output = run("grade", str(tmp_path / "nope.jsonl"), "--benchmark", "nope")
    assert code == 2 and "unknown benchmark" in output


def test_math_policy_option(tmp_path: Path) -> None:
    """strict (default): a decimal never stands for an exact gold; qwen: relative 1e-4."""
    responses = write(tmp_path / "r.jsonl", [
        {"id": 0, "response": "24 + 18 = 42, 42 - 35 = 7. The answer is 7.00001."},
    ])
    verdicts = []
    for policy in ([], ["--math-policy", "strict"], ["--math-policy", "qwen"]):
        out = tmp_path / f"v{len(verdicts)}.jsonl"
        code, output = run("grade", str(responses), "--benchmark", "gsm8k", "--data", str(DATA),
                           "--out", str(out), "--workers", "1", *policy)
        assert code == 0, output
        verdicts.append(json.loads(out.read_text().splitlines()[0])["correct"])
    assert verdicts == [False, False, True]
    code, output = run("grade", str(responses), "--benchmark", "gsm8k", "--math-policy", "loose")
    assert code != 0 and "loose" in output
