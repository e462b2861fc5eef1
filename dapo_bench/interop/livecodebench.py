"""LiveCodeBench's own grader on our LiveCodeBench and TACO samples, and where it differs.

:func:`export_problems` turns ``RESULTS/MODEL/<benchmark>.samples.jsonl`` into what
LiveCodeBench's ``codegen_metrics`` takes, one entry per problem (sorted by id, as its
``custom_evaluator`` sorts): ``question_id``, ``code_list`` (the stored samples' programs in
their stored order, exactly as dapo-bench ran them, less the LiveCodeBench import header that
LiveCodeBench prepends itself) and ``input_output``, the problem's evaluation sample
(``json.dumps({"inputs", "outputs", "fn_name"})``, as ``CodeGenerationProblem.
get_evaluation_sample`` builds it). TACO problems go through the same runner: call-based
arguments become one JSON line each, and TACO's habit of wrapping a return value in a
one-element list is undone (APPS's checker accepts either; LiveCodeBench's ``==`` would not).

:func:`run_livecodebench` scores such entries with LiveCodeBench's
``evaluate_generations`` (the per-sample half of ``codegen_metrics``: that function also
computes pass@k, which insists on equal sample counts and divides by zero on one problem) and
``compute_metrics_from_results``. LiveCodeBench executes the programs with no isolation, so it
never runs in this process or interpreter: it runs in its own virtual environment
(:data:`dapo_bench.interop.tools.LIVECODEBENCH`) as a child process.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dapo_bench.data.code_formats import LCB_IMPORTS
from dapo_bench.data.registry import Problem
from dapo_bench.errors import UserInputError

BENCHMARKS = ("livecodebench", "taco")
#: seconds per test LiveCodeBench's runner is given (its default 6; TACO's limit here is 4)
TIMEOUTS = {"livecodebench": 6, "taco": 4}

#: Why LiveCodeBench's verdict and ours differ, by design or because its runner is wrong;
#: each was read from ``livecodebench/evaluation/testing_util.py`` (26.3).
KNOWN_LCB_DIFFERENCES: dict[str, str] = {
    "stdin-buffer": "LiveCodeBench replaces sys.stdin with a StringIO, which has no .buffer: "
                    "a program reading sys.stdin.buffer dies of AttributeError there; it "
                    "passes on a real stdin (ours, and every contest judge)",
    "stdout-buffer": "LiveCodeBench captures output by replacing sys.stdout with a StringIO, "
                     "which has no .buffer: sys.stdout.buffer.write raises there; it passes "
                     "on a real stdout (ours)",
    "open-fd0": "LiveCodeBench patches builtins.open with mock_open(test input), but the "
                "import header it puts before the program runs `from builtins import *` first, "
                "binding the real open: open(0).read() then reads the grader's own stdin, not "
                "the test's; it passes on a real stdin (ours)",
    "nonzero-exit": "LiveCodeBench swallows SystemExit whatever its code, so a program that "
                    "prints the answer and exits with status 1 passes there; we fail it, as "
                    "contest judges do (runtime error)",
    "wall-clock-sleep": "LiveCodeBench's per-test limit is SIGALRM wall-clock time; ours is CPU "
                        "time (SIGPROF) with a wall-clock allowance of 4x, so a call that "
                        "sleeps past 6 s without computing passes ours and times out there",
    "taco-float-tolerance": "TACO's (APPS's) checker compares stdout tokens as floats within "
                            "rtol 1e-5 / atol 1e-8 when the exact comparison fails; "
                            "LiveCodeBench compares each line's tokens as exact Decimals",
    "taco-wrapped-output": "TACO stores a call-based answer wrapped in a one-element list and "
                           "APPS's checker accepts the return value either bare or wrapped; the "
                           "export unwraps it for LiveCodeBench, whose == then fails the "
                           "wrapped return value",
}

_DRIVER = r'''
import json, sys
import numpy as np
from livecodebench.evaluation.compute_code_generation_metrics import evaluate_generations
from livecodebench.evaluation.pass_k_utils import compute_metrics_from_results

def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    samples, generations, owner = [], [], []
    for q, problem in enumerate(spec["problems"]):
        for code in problem["code_list"]:
            samples.append({"input_output": problem["input_output"]})
            generations.append([code])
            owner.append(q)
    results, metadata = evaluate_generations(samples, generations, debug=False,
                                             num_process_evaluate=spec["workers"],
                                             timeout=spec["timeout"])
    per_problem = {q: [] for q in range(len(spec["problems"]))}
    rows = []
    for i in range(len(samples)):
        res = [r if isinstance(r, (bool, int)) else int(r) for r in results[i][0]]
        per_problem[owner[i]].append(res)
        rows.append({"results": res, "metadata": metadata[i][0],
                     "pass": bool(np.all(np.array(res) > 0))})
    keep = {q: r for q, r in per_problem.items() if r}
    metrics = compute_metrics_from_results(keep, k_list=[1]) if keep else {"pass@1": 0.0}
    out = {"rows": rows, "pass@1": float(metrics["pass@1"])}
    json.dump(out, open(sys.argv[2], "w", encoding="utf-8"), default=str)

if __name__ == "__main__":
    main()
'''


def _check_benchmark(benchmark: str) -> None:
    if benchmark not in BENCHMARKS:
        raise UserInputError(f"LiveCodeBench's grader scores {', '.join(BENCHMARKS)}; not "
                             f"{benchmark!r}")


def _unwrap(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def evaluation_sample(problem: Problem) -> str:
    """The problem's ``input_output`` as LiveCodeBench's runner reads it."""
    ex = problem.extra
    inputs, expected = ex["inputs"]["base"], ex["expected"]["base"]
    if ex["mode"] == "stdio":
        return json.dumps({"inputs": list(inputs), "outputs": list(expected), "fn_name": None})
    outs = [_unwrap(e) for e in expected] if ex["benchmark"] == "taco" else list(expected)
    return json.dumps({"inputs": ["\n".join(json.dumps(a) for a in args) for args in inputs],
                       "outputs": [json.dumps(o) for o in outs],
                       "fn_name": ex["entry_point"]})


def lcb_code(problem: Problem, program: str | None) -> str:
    """The program as LiveCodeBench should run it: ours, less the import header it adds
    itself (LiveCodeBench's); an empty string when no program was found (it fails that)."""
    if program is None:
        return ""
    if problem.extra["benchmark"] == "livecodebench" and program.startswith(LCB_IMPORTS):
        return program[len(LCB_IMPORTS):]
    return program


def entries(problems: Sequence[Problem], programs: Sequence[str | None]
            ) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """LiveCodeBench's per-problem entries for (problem, program) pairs, sorted by id, and
    for each pair the (entry, position in its code_list) it went to."""
    by_id: dict[str, dict[str, Any]] = {}
    for problem in problems:
        if problem.id not in by_id:
            by_id[problem.id] = {"question_id": problem.id, "code_list": [],
                                 "input_output": evaluation_sample(problem)}
    order = sorted(by_id)
    index = {pid: i for i, pid in enumerate(order)}
    where = []
    for problem, program in zip(problems, programs, strict=True):
        entry = by_id[problem.id]
        where.append((index[problem.id], len(entry["code_list"])))
        entry["code_list"].append(lcb_code(problem, program))
    return [by_id[pid] for pid in order], where


def _stored(model_dir: str | Path, benchmark: str) -> list[Any]:
    from dapo_bench.report.results import load_model_samples

    _check_benchmark(benchmark)
    return load_model_samples(model_dir, benchmark)


def _problem_of(rec: Any) -> str:
    return str((rec.model_extra or {}).get("problem_id") or rec.id.split("#", 1)[0])


def export_problems(model_dir: str | Path, benchmark: str, out: str | Path,
                    problems: Sequence[Problem]) -> int:
    """Write the stored samples of ``benchmark`` as LiveCodeBench entries (a JSON list);
    ``problems`` supply the tests. Returns the number of samples."""
    from dapo_bench.jsonio import atomic_write_text

    stored = _stored(model_dir, benchmark)
    known = {p.id: p for p in problems}
    missing = sorted({_problem_of(r) for r in stored} - set(known))
    if missing:
        raise UserInputError(f"{len(missing)} stored problem(s) of {benchmark!r} are not in "
                             f"its data (first: {missing[0]!r}): pass the --data it was "
                             "evaluated on")
    rows, _ = entries([known[_problem_of(r)] for r in stored], [r.extracted for r in stored])
    atomic_write_text(out, json.dumps(rows, indent=1) + "\n")
    return len(stored)


@dataclass(frozen=True)
class LcbVerdict:
    passed: bool
    results: list[Any]  # LiveCodeBench's per-test results: True, False, -1..-4
    error: str | None  # its error_message, when it gives one


@dataclass(frozen=True)
class LcbRun:
    verdicts: list[list[LcbVerdict]]  # per entry, per code_list item
    pass_at_1: float  # LiveCodeBench's compute_metrics_from_results, in percent


def run_livecodebench(problems: list[dict[str, Any]], benchmark: str, work: str | Path, *,
                      workers: int = 2, python: str | None = None,
                      timeout_s: float = 3600) -> LcbRun:
    """LiveCodeBench's verdict on every program of every entry, from its own code in its
    own environment (a child process; its programs run unconfined there)."""
    from dapo_bench.interop.tools import LIVECODEBENCH, tool_python

    _check_benchmark(benchmark)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    python = python or tool_python(LIVECODEBENCH, create=True)
    (work / "lcb_driver.py").write_text(_DRIVER, encoding="utf-8")
    spec = work / "lcb_input.json"
    spec.write_text(json.dumps({"problems": problems, "workers": workers,
                                "timeout": TIMEOUTS[benchmark]}), encoding="utf-8")
    result = work / "lcb_output.json"
    result.unlink(missing_ok=True)
    proc = subprocess.run([python, "-I", str(work / "lcb_driver.py"), str(spec), str(result)],
                          cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout_s)
    if proc.returncode != 0 or not result.is_file():
        raise RuntimeError(f"LiveCodeBench's grader failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout)[-2000:]}")
    out = json.loads(result.read_text(encoding="utf-8"))
    flat = iter(out["rows"])
    verdicts = []
    for entry in problems:
        got = []
        for _ in entry["code_list"]:
            row = next(flat)
            meta = row.get("metadata") or {}
            got.append(LcbVerdict(bool(row["pass"]), row["results"],
                                  meta.get("error_message") if isinstance(meta, dict) else None))
        verdicts.append(got)
    return LcbRun(verdicts, 100.0 * out["pass@1"])


def known_difference(program: str | None, ours: bool, lcb: LcbVerdict) -> str | None:
    """Which of :data:`KNOWN_LCB_DIFFERENCES` explains a disagreement on this program, as far
    as the program text and LiveCodeBench's error tell; None when nothing does."""
    text = program or ""
    if ours and not lcb.passed:
        if re.search(r"sys\.stdin\.buffer", text) and "Runtime Error" in (lcb.error or ""):
            return "stdin-buffer"
        if re.search(r"sys\.stdout\.buffer", text):
            return "stdout-buffer"
        if re.search(r"\bopen\(\s*0\s*[,)]", text):
            return "open-fd0"
        if re.search(r"\bsleep\(", text) and -3 in lcb.results:
            return "wall-clock-sleep"
    if not ours and lcb.passed and re.search(r"\bexit\(\s*[1-9]", text):
        return "nonzero-exit"
    return None


# ------------------------------------------------------------------------ cross-check

@dataclass(frozen=True)
class CrossCheck:
    benchmark: str
    task_id: str
    kind: str
    ours: bool
    ours_verdict: str
    lcb: bool
    lcb_results: list[Any]
    why: str | None  # the corpus's adjudication (a key of KNOWN_LCB_DIFFERENCES), if any

    @property
    def agree(self) -> bool:
        return self.ours == self.lcb

    @property
    def explained(self) -> bool:
        return self.agree or self.why in KNOWN_LCB_DIFFERENCES


def cross_check(benchmark: str, problems: Sequence[Problem], variants: Sequence[dict[str, Any]],
                work: str | Path, *, workers: int = 2, python: str | None = None
                ) -> list[CrossCheck]:
    """Grade each variant (``task_id``, ``kind``, ``program`` as a model would write it,
    optional ``why``) with dapo-bench's sandbox and with LiveCodeBench's runner."""
    from dapo_bench.grading.code import grade_programs

    by_id = {p.id: p for p in problems}
    rows = [v for v in variants if v["benchmark"] == benchmark]
    unknown = sorted({v["task_id"] for v in rows} - set(by_id))
    if unknown:
        raise UserInputError(f"variants name problems not in {benchmark}'s data: {unknown}")
    chosen = [by_id[v["task_id"]] for v in rows]
    programs = [p.extra["header"] + v["program"] for p, v in zip(chosen, rows, strict=True)]
    ours = grade_programs(chosen, programs, workers=workers)
    lcb_entries, where = entries(chosen, programs)
    theirs = run_livecodebench(lcb_entries, benchmark, work, workers=workers, python=python)
    out = []
    for v, g, (e, k) in zip(rows, ours, where, strict=True):
        t = theirs.verdicts[e][k]
        out.append(CrossCheck(benchmark, v["task_id"], v["kind"], g.correct, g.verdict,
                              t.passed, t.results, v.get("why")))
    return out


def rescore_export(model_dir: str | Path, benchmark: str, export_file: str | Path, *,
                   workers: int = 2, python: str | None = None) -> str:
    """Score an exported file with LiveCodeBench's code and compare with the stored verdicts;
    writes the disagreements beside the export and returns a summary line."""
    import tempfile

    from dapo_bench.jsonio import atomic_write_jsonl

    stored = _stored(model_dir, benchmark)
    problems = json.loads(Path(export_file).read_text(encoding="utf-8"))
    index = {e["question_id"]: i for i, e in enumerate(problems)}
    with tempfile.TemporaryDirectory() as tmp:
        run = run_livecodebench(problems, benchmark, tmp, workers=workers, python=python)
    taken: dict[str, int] = {}
    differ = []
    n_lcb = 0
    for rec in stored:
        pid = _problem_of(rec)
        k = taken.get(pid, 0)
        taken[pid] = k + 1
        verdict = run.verdicts[index[pid]][k]
        n_lcb += verdict.passed
        if verdict.passed != rec.correct:
            differ.append({"id": rec.id, "question_id": pid, "dapo_bench": rec.correct,
                           "dapo_bench_verdict": rec.verdict, "livecodebench": verdict.passed,
                           "livecodebench_results": verdict.results,
                           "livecodebench_error": verdict.error,
                           "known_difference": known_difference(rec.extracted, rec.correct,
                                                                verdict),
                           "program": rec.extracted})
    target = Path(export_file).with_suffix(".disagreements.jsonl")
    atomic_write_jsonl(target, differ)
    n = len(stored)
    ours = 100 * sum(r.correct for r in stored) / max(1, n)
    explained = sum(1 for d in differ if d["known_difference"])
    return (f"{benchmark}: pass rate ours {ours:.2f}%, LiveCodeBench {100 * n_lcb / max(1, n):.2f}%"
            f" (its pass@1 {run.pass_at_1:.2f}); verdicts agree on {n - len(differ)}/{n}"
            f" ({explained} of {len(differ)} disagreement(s) known); disagreements in {target}")
