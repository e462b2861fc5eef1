"""Graders by domain: ``grading.math`` (answer extraction, normalisation, equivalence, the
bounded sympy pool) and ``grading.code`` (code extraction, test suites, verdicts from the jail)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dapo_bench.data.registry import Problem
    from dapo_bench.grading.types import SampleGrade


def grade_responses(benchmark: str, problems: list[Problem], responses: list[str], *,
                    workers: int | None = None, progress: bool = False,
                    unsafe_no_sandbox: bool = False) -> list[SampleGrade]:
    """Grade one response per problem with the grader the benchmark's kind calls for."""
    from dapo_bench.data.registry import get_benchmark

    if len(problems) != len(responses):
        raise ValueError(f"{len(problems)} problems but {len(responses)} responses")
    spec = get_benchmark(benchmark)
    if spec.kind == "code":
        from dapo_bench.grading.code import grade_code_responses

        return grade_code_responses(problems, responses, benchmark=benchmark, workers=workers,
                                    progress=progress, unsafe_no_sandbox=unsafe_no_sandbox)
    from dapo_bench.grading.math import grade_many

    pairs = []
    for problem, response in zip(problems, responses, strict=True):
        if problem.gold is None:
            raise ValueError(f"problem {problem.id!r} of {benchmark!r} has no gold answer")
        pairs.append((response, problem.gold))
    return grade_many(pairs, benchmark, workers=workers, progress=progress)


class GradingSession:
    """Grades batch after batch of one benchmark. For code, one sandbox pool lives as long
    as the session (a DAPO stage grades thousands of chunks: no pool start per chunk)."""

    def __init__(self, benchmark: str, *, workers: int | None = None,
                 unsafe_no_sandbox: bool = False) -> None:
        from dapo_bench.data.registry import get_benchmark

        self.benchmark = benchmark
        self.kind = get_benchmark(benchmark).kind
        self.workers, self.unsafe = workers, unsafe_no_sandbox
        self._pool: Any = None

    def __enter__(self) -> GradingSession:
        return self

    def __call__(self, problems: list[Problem], responses: list[str]) -> list[SampleGrade]:
        if self.kind != "code":
            return grade_responses(self.benchmark, problems, responses, workers=self.workers)
        from dapo_bench.grading.code import DEFAULT_POLICY, grade_code_responses, open_pool

        if self._pool is None:
            self._pool = open_pool(self.workers, self.unsafe, DEFAULT_POLICY)
        return grade_code_responses(problems, responses, benchmark=self.benchmark,
                                    pool=self._pool)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __exit__(self, *exc: object) -> None:
        self.close()


def grading_session(benchmark: str, *, workers: int | None = None,
                    unsafe_no_sandbox: bool = False) -> GradingSession:
    return GradingSession(benchmark, workers=workers, unsafe_no_sandbox=unsafe_no_sandbox)
