"""evalplus interop: the samples export round-trips through evalplus, and evalplus's verdicts
agree with ours on canonical and deliberately wrong programs, except where evalplus is known
to be wrong.

evalplus executes programs without isolation, so it runs only in its own virtual environment,
as a child process (made on first use under the cache directory); the programs here are the
tasks' own canonical solutions and harmless mutations of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.interop.evalplus import (
    WRONG_KINDS,
    cross_check,
    known_evalplus_error,
    run_evalplus,
    variant,
)
from dapo_bench.interop.tools import EVALPLUS, tool_python

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evalplus_python() -> str:
    return tool_python(EVALPLUS, create=True)


def _store_graded_samples(root: Path, benchmark: str) -> list[tuple[bool, str]]:
    """A results store as `dapo-bench eval` writes it, for responses holding each fixture
    task's canonical program and its deliberately wrong variants in a fenced block."""
    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.grading import grade_responses
    from dapo_bench.report.results import BenchmarkResult, ResultsStore, SampleRecord

    problems = load_benchmark(benchmark, data_dir=FIXTURES)
    kinds = ("canonical", *WRONG_KINDS)
    pairs = [(p, k) for p in problems for k in kinds]
    responses = [f"Here is my solution.\n```python\n{variant(p, k)}```\n" for p, k in pairs]
    responses.append("I cannot solve this.")  # no program: exports an empty solution
    pairs.append((problems[0], "none"))
    grades = grade_responses(benchmark, [p for p, _ in pairs], responses)
    samples = [SampleRecord(id=f"{p.id}#{i}", prompt_hash="0" * 16, output=r,
                            extracted=g.extracted, correct=g.correct, verdict=g.verdict,
                            problem_id=p.id)
               for i, ((p, _), r, g) in enumerate(zip(pairs, responses, grades, strict=True))]
    n_correct = sum(s.correct for s in samples)
    ResultsStore(root).write(BenchmarkResult(
        model="m", benchmark=benchmark, metrics={"accuracy": 100 * n_correct / len(samples)},
        n=len(samples), n_correct=n_correct, provenance={"source": "test"}), samples)
    return [(g.correct, p.extra["entry_point"]) for g, (p, _) in zip(grades, pairs, strict=True)]


@pytest.mark.parametrize("bench", ["humaneval_plus", "mbpp_plus"])
def test_export_round_trips_through_evalplus(tmp_path: Path, evalplus_python: str,
                                             bench: str, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    benchmark = bench  # (not the parameter's name: pytest-benchmark owns that fixture name)
    ours = _store_graded_samples(tmp_path / "results", benchmark)
    out = tmp_path / "samples.jsonl"
    result = CliRunner().invoke(main, ["export", "evalplus", str(tmp_path / "results" / "m"),
                                       "--benchmark", benchmark, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == len(ours) and all(set(r) == {"task_id", "solution"} for r in rows)
    assert rows[-1]["solution"] == ""
    from dapo_bench.data.registry import get_benchmark, resolve_source

    data_file = resolve_source(get_benchmark(benchmark), None, FIXTURES)
    theirs = run_evalplus(rows, benchmark, data_file, tmp_path / "evalplus",
                          python=evalplus_python)
    differ = [(r["task_id"], entry, o) for r, (o, entry), t in zip(rows, ours, theirs,
                                                                     strict=True)
              if o != t.plus_pass]
    # Only where evalplus is known to be wrong (the fixture's find_zero task: it fails all).
    assert all(known_evalplus_error(entry) and ok for _, entry, ok in differ), differ
    assert sum(ok for ok, _ in ours) >= 2  # canonical programs pass, through extraction+export

    # The same through the command: --rescore runs evalplus and writes the disagreements.
    monkeypatch.setenv(EVALPLUS.env_var, evalplus_python)
    result = CliRunner().invoke(main, ["export", "evalplus", str(tmp_path / "results" / "m"),
                                       "--benchmark", benchmark, "--out", str(out),
                                       "--rescore", "--data", str(data_file)])
    assert result.exit_code == 0, result.output
    assert f"verdicts agree on {len(rows) - len(differ)}/{len(rows)}" in result.output
    flagged = [json.loads(x) for x in
               out.with_suffix(".disagreements.jsonl").read_text().splitlines()]
    assert len(flagged) == len(differ)
    assert all(f["known_evalplus_error"] for f in flagged)


def test_missing_samples_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    result = CliRunner().invoke(main, ["export", "evalplus", str(tmp_path / "m"),
                                       "--benchmark", "mbpp_plus", "--out",
                                       str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "no stored samples of 'mbpp_plus'" in result.output


@pytest.mark.shared_data
@pytest.mark.parametrize(("bench", "file", "extra"), [
    ("humaneval_plus", "humaneval_plus/HumanEvalPlus-v0.1.10.jsonl", {"HumanEval/32"}),
    ("mbpp_plus", "mbpp_plus/MbppPlus-v0.2.0.jsonl", set()),
])
def test_verdicts_agree_with_evalplus(tmp_path: Path, shared_data: Path, evalplus_python: str,
                                      bench: str, file: str, extra: set[str]) -> None:
    """The first 10 tasks (plus HumanEval/32, the task evalplus gets wrong), each with its
    canonical solution and four deliberately wrong programs."""
    lines = (shared_data / file).read_text(encoding="utf-8").splitlines()
    keep = [x for i, x in enumerate(lines) if i < 10 or json.loads(x)["task_id"] in extra]
    data = tmp_path / "subset.jsonl"
    data.write_text("\n".join(keep) + "\n", encoding="utf-8")
    rows = cross_check(bench, data, tmp_path / "work", python=evalplus_python)
    assert len(rows) == len(keep) * (1 + len(WRONG_KINDS))
    differ = {(r.task_id, r.kind) for r in rows if not r.agree}
    assert all(r.explained for r in rows if not r.agree), differ
    if "HumanEval/32" in extra:  # evalplus fails even its own canonical solution there
        assert ("HumanEval/32", "canonical") in differ
    for r in rows:
        expected = {"canonical": (True, True), "base-only": (True, False)}.get(r.kind,
                                                                              (False, False))
        assert r.ours == expected, r
