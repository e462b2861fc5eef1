"""Code grading: extract each program, run it in the sandbox, decide the verdict outside.

Public API (used by evaluation, the DAPO pipeline and ``dapo-bench grade``):
  :func:`grade_code_responses`  model responses -> :class:`CodeGrade` per response
  :func:`grade_programs`        complete programs -> :class:`CodeGrade` per program
  :func:`grade_samples_file`    a samples JSONL -> a verdicts JSONL and pass@1 (base and plus)

The sandbox is chosen once per process by probing the isolation stacks strongest first
(:mod:`dapo_bench.sandbox.stacks`); nothing runs unconfined unless ``unsafe_no_sandbox`` is set.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dapo_bench.data.registry import Problem
from dapo_bench.errors import DataError, UserInputError
from dapo_bench.grading.code.extract import (
    _defines,
    complete_with_prompt,
    continue_prompt,
    extract_program,
)
from dapo_bench.grading.code.suites import base_job, build_suites
from dapo_bench.grading.code.verdict import Judgement, Suite, decided_by, judge
from dapo_bench.grading.types import SampleGrade
from dapo_bench.sandbox.pool import JailPool, RawOutcome
from dapo_bench.sandbox.runner.policy import DEFAULT_POLICY, Policy
from dapo_bench.sandbox.stacks import STACK_ENV, SandboxUnavailable, candidate_stacks

PROMPT_IS_CODE = ("humaneval", "humaneval_plus")
#: LiveCodeBench's and APPS/TACO's checkers call ``Solution().<fn>`` exactly when the program
#: says ``class Solution``, else the module-level function, whatever the starter code showed.
CLASS_BY_PROGRAM = frozenset({"lcb_call", "taco_call"})
_chosen: dict[tuple[bool, str | None], str] = {}  # (unsafe, forced stack) -> stack that works
_lock = threading.Lock()


@dataclass(frozen=True)
class CodeGrade(SampleGrade):
    """A code verdict. ``correct`` means every test group passed (base and plus for the
    ``*_plus`` benchmarks); ``base_correct`` is the base group alone where there are groups."""

    base_correct: bool | None = None
    failing_test: int | None = None


def program_from_response(problem: Problem, response: str) -> str | None:
    """The program to run for ``response``: extracted, completed with the prompt's code
    (HumanEval-style prompts), and behind the benchmark's import header."""
    ex = problem.extra
    entry = ex["entry_point"]
    code = extract_program(response, entry)
    if ex["benchmark"] in PROMPT_IS_CODE and ex["prompt"]:
        if code is None or not _defines(code, entry):
            code = continue_prompt(ex["prompt"], response, entry) or code
        if code is not None:
            code = complete_with_prompt(code, ex["prompt"])
    if code is None:
        return None
    return ex["header"] + code


def open_pool(workers: int | None, unsafe: bool, policy: Policy) -> JailPool:
    """A pool on the strongest stack that works here, remembered for the process."""
    workers = workers or os.cpu_count() or 1
    key = (unsafe, os.environ.get(STACK_ENV))
    with _lock:
        if key in _chosen:
            return JailPool(_chosen[key], policy.limits, workers)
        failures = []
        for stack in candidate_stacks(unsafe):
            try:
                pool = JailPool(stack, policy.limits, workers)
            except SandboxUnavailable as exc:
                failures.append(str(exc))
                continue
            _chosen[key] = stack
            _announce(pool, failures)
            return pool
    raise SandboxUnavailable(
        "no code sandbox works on this machine (" + "; ".join(failures) + "). Install "
        "bubblewrap (apt-get install bubblewrap) or enable user namespaces; to run untrusted "
        "code with no isolation at all, pass --unsafe-no-sandbox")


def _announce(pool: JailPool, failures: list[str]) -> None:
    facts = pool.facts
    layers = ", ".join(facts.get("layers", []))
    line = f"code sandbox: {pool.stack} ({layers})"
    if failures:
        line += " - stronger stacks unavailable: " + "; ".join(failures)
    if pool.stack == "none":
        line = "WARNING: running untrusted code WITHOUT a sandbox (--unsafe-no-sandbox)"
    print(line, file=sys.stderr)


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=False)
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def run(self, pool: JailPool, jobs: Sequence[tuple[Any, ...]], label: str
            ) -> list[RawOutcome]:
        if self.progress is None or not jobs:
            return pool.run_all(jobs)
        task = self.progress.add_task(label, total=len(jobs))
        return pool.run_all(jobs, on_done=lambda n: self.progress.advance(task, n))


def grade_programs(problems: Sequence[Problem], programs: Sequence[str | None], *,
                   workers: int | None = None, progress: bool = False,
                   unsafe_no_sandbox: bool = False, policy: Policy = DEFAULT_POLICY,
                   report: dict[str, Any] | None = None, pool: JailPool | None = None
                   ) -> list[CodeGrade]:
    """Run each complete program (None: nothing to run) against its problem's tests.

    ``report``, when given, receives ``stack``, ``layers``, ``uids`` (every uid a jail ran
    as) and ``warnings`` (tests dropped because the reference fails on them, ...). ``pool``:
    a pool the caller keeps open across calls (else one is opened and closed here)."""
    if len(problems) != len(programs):
        raise ValueError(f"{len(problems)} problems but {len(programs)} programs")
    owned = pool is None
    with _Progress(progress) as bar, (open_pool(workers, unsafe_no_sandbox, policy) if owned
                                      else contextlib.nullcontext(pool)) as pool:
        suites, notes = build_suites(problems, policy,
                                     lambda jobs, label: bar.run(pool, jobs, label))
        jobs: list[tuple[Any, ...]] = []
        slots: list[int] = []
        for i, (problem, program) in enumerate(zip(problems, programs, strict=True)):
            suite = suites[problem.id]
            if program is None or isinstance(suite, str):
                continue
            jobs.append(candidate_job(suite, program, policy))
            slots.append(i)
        outcomes = bar.run(pool, jobs, "programs")
    if report is not None:
        report.update(stack=pool.stack, layers=pool.facts.get("layers", []),
                      uids=set(pool.uids), warnings=notes)
    by_slot = dict(zip(slots, outcomes, strict=True))
    grades = []
    for i, (problem, program) in enumerate(zip(problems, programs, strict=True)):
        suite = suites[problem.id]
        if isinstance(suite, str):
            grades.append(CodeGrade(False, program, "error", f"cannot grade: {suite}"))
        elif program is None:
            grades.append(CodeGrade(False, None, "error", "no program found in the response",
                                    base_correct=False if _has_plus(suite) else None))
        else:
            grades.append(_grade(program, suite, judge(suite, by_slot[i])))
    return grades


def candidate_job(suite: Suite, program: str, policy: Policy
                  ) -> tuple[dict[str, Any], float, Callable[[dict[str, Any]], bool]]:
    """(job, wall-clock deadline, early-stop check) for one program."""
    deadline = policy.time.deadline(suite.per_test)
    method = ("class Solution" in program if suite.oracle in CLASS_BY_PROGRAM
              else suite.method)
    job = base_job(policy, suite.mode, program, entry_point=suite.entry_point,
                   method=method, tests=suite.inputs, per_test=suite.per_test,
                   cpu_seconds=policy.time.cpu_budget(suite.per_test))
    return job, deadline, functools.partial(decided_by, suite)


def _has_plus(suite: Suite) -> bool:
    return any(name == "plus" for name, _ in suite.groups)


def _grade(program: str, suite: Suite, judgement: Judgement) -> CodeGrade:
    correct = judgement.verdict == "pass"
    base = judgement.group_pass.get("base") if _has_plus(suite) else None
    return CodeGrade(correct, program, judgement.verdict, judgement.detail,
                     base_correct=base, failing_test=judgement.failing_test)


def grade_code_responses(problems: list[Problem], responses: list[str], *, benchmark: str,
                         workers: int | None = None, progress: bool = False,
                         unsafe_no_sandbox: bool = False, pool: JailPool | None = None
                         ) -> list[SampleGrade]:
    """Grade one model response per problem (problems may repeat for several samples)."""
    if len(problems) != len(responses):
        raise ValueError(f"{len(problems)} problems but {len(responses)} responses")
    programs = [program_from_response(p, r) for p, r in zip(problems, responses, strict=True)]
    return list(grade_programs(problems, programs, workers=workers, progress=progress,
                               unsafe_no_sandbox=unsafe_no_sandbox, pool=pool))


# --- dapo-bench grade ---------------------------------------------------------------------

def _read_samples(path: Path, problems: dict[str, Problem]
                  ) -> list[tuple[int, Problem, str | None, str]]:
    """(line, problem, program, kind) per row: ``solution`` (a complete program, run as is),
    ``completion`` (evalplus: appended to the prompt) or ``response`` (extracted)."""
    from dapo_bench.jsonio import iter_jsonl

    if not path.is_file():
        raise UserInputError(f"samples file {path} does not exist")
    rows = []
    for line, row in iter_jsonl(path):
        tid = row.get("task_id", row.get("id"))
        if not isinstance(tid, (str, int)) or isinstance(tid, bool):
            raise DataError(path, "missing or not a string", line=line, field="task_id")
        problem = problems.get(str(tid))
        if problem is None:
            raise DataError(path, f"task {tid!r} is not in the benchmark", line=line,
                            field="task_id")
        for kind in ("solution", "completion", "response"):
            if kind in row:
                text = row[kind]
                if not isinstance(text, str):
                    raise DataError(path, "expected a string", line=line, field=kind)
                break
        else:
            raise DataError(path, "needs one of solution, completion, response", line=line)
        ex = problem.extra
        if kind == "solution":
            program: str | None = ex["header"] + text
        elif kind == "completion":
            program = ex["header"] + (ex["prompt"] or "") + text
        else:
            program = program_from_response(problem, text)
        rows.append((line, problem, program, kind))
    if not rows:
        raise DataError(path, "no samples in the file")
    return rows


def pass_at_1(task_ids: Sequence[str], correct: Sequence[bool]) -> float:
    """Mean over tasks of each task's fraction of correct samples (unbiased pass@1)."""
    per_task: dict[str, list[bool]] = defaultdict(list)
    for tid, ok in zip(task_ids, correct, strict=True):
        per_task[tid].append(ok)
    return 100.0 * sum(sum(v) / len(v) for v in per_task.values()) / max(1, len(per_task))


def grade_samples_file(path: str | Path, benchmark: str, data: str | Path | None,
                       out: str | Path | None, *, unsafe_no_sandbox: bool = False,
                       workers: int | None = None) -> None:
    """Grade a samples JSONL (``task_id`` + ``solution``/``completion``/``response``), write
    per-sample verdicts to ``out`` and print pass@1 (base and plus tests where both exist)."""
    from rich.console import Console
    from rich.table import Table

    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.jsonio import atomic_write_jsonl

    path = Path(path)
    problems = {p.id: p for p in load_benchmark(benchmark, source=data)}
    rows = _read_samples(path, problems)
    report: dict[str, Any] = {}
    grades = grade_programs([r[1] for r in rows], [r[2] for r in rows], progress=True,
                            unsafe_no_sandbox=unsafe_no_sandbox, workers=workers,
                            report=report)
    notes = report.get("warnings", [])
    target = Path(out) if out is not None else path.with_name(path.stem + ".graded.jsonl")
    atomic_write_jsonl(target, [
        {"task_id": problem.id, "line": line, "verdict": g.verdict, "correct": g.correct,
         "base_correct": g.base_correct, "failing_test": g.failing_test, "detail": g.detail}
        for (line, problem, _, _), g in zip(rows, grades, strict=True)])
    ids = [r[1].id for r in rows]
    plus = any(g.base_correct is not None for g in grades)
    console = Console()
    for note in notes[:20]:
        console.print(f"[yellow]warning:[/] {note}", highlight=False)
    console.print(f"{benchmark}: {len(rows)} samples, {len(set(ids))} tasks "
                  f"(sandbox: {report.get('stack', '?')})", highlight=False)
    table = Table()
    table.add_column("tests")
    table.add_column("pass@1", justify="right")
    if plus:
        base = [g.base_correct if g.base_correct is not None else g.correct for g in grades]
        table.add_row("base", f"{pass_at_1(ids, base):.2f}")
        table.add_row("base + plus", f"{pass_at_1(ids, [g.correct for g in grades]):.2f}")
    else:
        table.add_row("all", f"{pass_at_1(ids, [g.correct for g in grades]):.2f}")
    console.print(table)
    counts: dict[str, int] = defaultdict(int)
    for g in grades:
        counts[g.verdict] += 1
    console.print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                  + f"; written to {target}", highlight=False)
