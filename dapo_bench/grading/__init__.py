"""Graders by domain: ``grading.math`` (answer extraction, normalisation, equivalence, the
bounded sympy pool) and ``grading.code`` (code extraction, test suites, verdicts from the jail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
