"""LiveCodeBench interop: the export carries our programs and the problems' tests in the form
LiveCodeBench's grader takes, and its grader's verdicts agree with ours on the cross-check
corpus (each fixture problem's reference, wrong, timing-out and crashing programs, plus the
stdin/stdout and call conventions where the two could part), except where the corpus
adjudicates the difference (``why``, a key of ``KNOWN_LCB_DIFFERENCES``).

LiveCodeBench executes programs without isolation, so it runs only in its own virtual
environment, as a child process (made on first use under the cache directory); the programs
here are the project's own, harmless ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.data.code_formats import LCB_IMPORTS
from dapo_bench.data.registry import load_benchmark
from dapo_bench.grading.code import grade_programs
from dapo_bench.interop.livecodebench import (
    KNOWN_LCB_DIFFERENCES,
    cross_check,
    entries,
    evaluation_sample,
)
from dapo_bench.interop.tools import LIVECODEBENCH, tool_python

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"
CORPUS = REPO / "tests" / "fixtures" / "interop" / "lcb_variants.jsonl"


@pytest.fixture(autouse=True)
def _release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPO_BENCH_LCB_RELEASE", "release_v2")  # the fixture has test{,2}.jsonl


def _corpus(benchmark: str | None = None) -> list[dict]:
    rows = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if benchmark is None or r["benchmark"] == benchmark]


@pytest.fixture(scope="module")
def lcb_python() -> str:
    return tool_python(LIVECODEBENCH, create=True)


def test_corpus_covers_every_problem_and_kind() -> None:
    """Reference, wrong, timeout and crash programs for each fixture problem, stdin and
    functional, LiveCodeBench and TACO; every adjudication names a known difference."""
    rows = _corpus()
    for bench in ("livecodebench", "taco"):
        problems = load_benchmark(bench, data_dir=FIXTURES)
        assert {p.extra["mode"] for p in problems} == {"stdio", "function"}
        for p in problems:
            kinds = {r["kind"] for r in rows if r["benchmark"] == bench and r["task_id"] == p.id}
            assert {"reference", "wrong", "timeout", "crash"} <= kinds, (bench, p.id)
    for r in rows:
        assert (r["ours"] != r["lcb"]) == (r["why"] is not None), r
        assert r["why"] is None or r["why"] in KNOWN_LCB_DIFFERENCES, r


def test_evaluation_sample_is_what_lcb_reads() -> None:
    """Functional inputs are one JSON value per line, as in LiveCodeBench's own files; TACO's
    one-element-list answers are unwrapped; stdin tests go as they are, fn_name None."""
    lcb = {p.id: p for p in load_benchmark("livecodebench", data_dir=FIXTURES)}
    raw = json.loads((FIXTURES / "livecodebench" / "test2.jsonl").read_text().splitlines()[0])
    io_spec = json.loads(evaluation_sample(lcb["fixture-top-k"]))
    public = json.loads(raw["public_test_cases"])[0]
    assert io_spec["fn_name"] == "topKSum"
    assert io_spec["inputs"][0] == public["input"] and io_spec["outputs"][0] == public["output"]
    assert len(io_spec["inputs"]) == 3  # public + private tests
    stdin = json.loads(evaluation_sample(lcb["fixture_abc001_a"]))
    assert stdin["fn_name"] is None and stdin["inputs"][0] == "3\n1 2 3\n"
    assert stdin["outputs"] == ["6\n", "-5\n", "100\n"]
    taco = {p.id: p for p in load_benchmark("taco", data_dir=FIXTURES)}
    call = json.loads(evaluation_sample(taco["1"]))
    assert call == {"inputs": ["[1, 2, 3]", "[0.5, 0.25]"], "outputs": ["2.0", "0.375"],
                    "fn_name": "mean_of"}


def test_method_or_function_follows_the_program() -> None:
    """As LiveCodeBench's and APPS's checkers do: Solution().<fn> only when the program has
    class Solution, whatever the starter code showed."""
    lcb = {p.id: p for p in load_benchmark("livecodebench", data_dir=FIXTURES)}
    taco = {p.id: p for p in load_benchmark("taco", data_dir=FIXTURES)}
    by_kind = {(r["task_id"], r["kind"]): r["program"] for r in _corpus()}
    problems = [lcb["fixture-top-k"], lcb["fixture-top-k"], taco["1"], taco["1"]]
    programs = [by_kind["fixture-top-k", "plain-function"], by_kind["fixture-top-k", "wrong"],
                by_kind["1", "class-solution"], by_kind["1", "wrong"]]
    grades = grade_programs(problems, [p.extra["header"] + c for p, c in zip(problems, programs,
                                                                              strict=True)])
    assert [g.correct for g in grades] == [True, False, True, False]


def _store(root: Path, benchmark: str, rows: list[dict]) -> list:
    """A results store as `dapo-bench eval` writes it, for responses holding each corpus
    program in a fenced block, plus one response with no program."""
    from dapo_bench.grading import grade_responses
    from dapo_bench.report.results import BenchmarkResult, ResultsStore, SampleRecord

    problems = {p.id: p for p in load_benchmark(benchmark, data_dir=FIXTURES)}
    chosen = [problems[r["task_id"]] for r in rows]
    responses = [f"Here it is.\n```python\n{r['program']}```\n" for r in rows]
    chosen.append(chosen[0])
    responses.append("I cannot solve this.")
    grades = grade_responses(benchmark, chosen, responses)
    samples = [SampleRecord(id=f"{p.id}#{i}", prompt_hash="0" * 16, output=text,
                            extracted=g.extracted, correct=g.correct, verdict=g.verdict,
                            problem_id=p.id)
               for i, (p, text, g) in enumerate(zip(chosen, responses, grades, strict=True))]
    n_correct = sum(s.correct for s in samples)
    ResultsStore(root).write(BenchmarkResult(
        model="m", benchmark=benchmark, metrics={"accuracy": 100 * n_correct / len(samples)},
        n=len(samples), n_correct=n_correct, provenance={"source": "test"}), samples)
    return samples


def _quick(rows: list[dict]) -> list[dict]:
    """Without the programs that spend LiveCodeBench's whole time limit."""
    return [r for r in rows if r["kind"] not in ("timeout", "wall-clock-sleep")]


@pytest.mark.slow
def test_export_and_rescore_livecodebench(tmp_path: Path, lcb_python: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _quick(_corpus("livecodebench"))
    samples = _store(tmp_path / "results", "livecodebench", rows)
    assert [s.correct for s in samples[:-1]] == [r["ours"] for r in rows]
    out = tmp_path / "lcb.json"
    args = ["export", "livecodebench", str(tmp_path / "results" / "m"), "--out", str(out),
            "--data", str(FIXTURES)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text())
    assert [e["question_id"] for e in exported] == sorted({s.problem_id for s in samples})
    got = {(e["question_id"], k): code for e in exported for k, code in
           enumerate(e["code_list"])}
    seen: dict[str, int] = {}
    for s in samples:  # each program as we ran it, in stored order, less LCB's own header
        k = seen.get(s.problem_id, 0)
        seen[s.problem_id] = k + 1
        assert LCB_IMPORTS + got[s.problem_id, k] == (s.extracted or LCB_IMPORTS)
    assert got[samples[-1].problem_id, seen[samples[-1].problem_id] - 1] == ""

    monkeypatch.setenv(LIVECODEBENCH.env_var, lcb_python)
    result = CliRunner().invoke(main, [*args, "--rescore", "--no-install"])
    assert result.exit_code == 0, result.output
    differ = [r for r in rows if r["why"]]
    n = len(samples)
    assert f"verdicts agree on {n - len(differ)}/{n} ({len(differ)} of {len(differ)}" \
           in result.output, result.output
    flagged = [json.loads(x) for x in
               out.with_suffix(".disagreements.jsonl").read_text().splitlines()]
    assert sorted(f["known_difference"] for f in flagged) == sorted(r["why"] for r in differ)


@pytest.mark.slow
@pytest.mark.parametrize("bench", ["livecodebench", "taco"])
def test_verdicts_agree_with_livecodebench(tmp_path: Path, lcb_python: str,
                                           bench: str) -> None:
    """The whole corpus, graded by our sandbox and by LiveCodeBench's runner: every verdict
    is the corpus's, and the two differ only where it says why."""
    rows = _corpus(bench)
    problems = load_benchmark(bench, data_dir=FIXTURES)
    checked = cross_check(bench, problems, rows, tmp_path / "work", python=lcb_python)
    assert len(checked) == len(rows)
    for c, r in zip(checked, rows, strict=True):
        assert (c.ours, c.lcb) == (r["ours"], r["lcb"]), (c, r["kind"])
        assert c.explained, c
    timeouts = [c for c in checked if c.kind == "timeout"]
    assert timeouts and all(c.ours_verdict == "timeout" and -3 in c.lcb_results
                            for c in timeouts)


def test_entries_keep_the_stored_order() -> None:
    taco = {p.id: p for p in load_benchmark("taco", data_dir=FIXTURES)}
    problems = [taco["1"], taco["0"], taco["1"]]
    got, where = entries(problems, ["a", "b", None])
    assert [e["question_id"] for e in got] == ["0", "1"]
    assert got[1]["code_list"] == ["a", ""] and got[0]["code_list"] == ["b"]
    assert where == [(1, 0), (0, 0), (1, 1)]


def test_missing_or_unusable_grader_is_one_clear_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path / "results", "taco", _corpus("taco")[:1])
    args = ["export", "livecodebench", str(tmp_path / "results" / "m"), "--benchmark", "taco",
            "--out", str(tmp_path / "t.json"), "--data", str(FIXTURES), "--rescore"]
    monkeypatch.setenv("DAPO_BENCH_CACHE", str(tmp_path / "cache"))  # no environment there
    monkeypatch.delenv(LIVECODEBENCH.env_var, raising=False)
    result = CliRunner().invoke(main, [*args, "--no-install"])
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]  # after the export's own line
    assert line.startswith("error: ") and "pip install --no-deps nvidia-livecodebench==26.3" in line
    assert LIVECODEBENCH.env_var in line
    monkeypatch.setenv(LIVECODEBENCH.env_var, sys.executable)  # this one lacks it
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "cannot import livecodebench.evaluation" in result.output.strip().splitlines()[-1]


def test_missing_samples_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    result = CliRunner().invoke(main, ["export", "livecodebench", str(tmp_path / "m"),
                                       "--out", str(tmp_path / "x.json"),
                                       "--data", str(FIXTURES)])
    assert result.exit_code == 2 and "no stored samples of 'livecodebench'" in result.output
