"""Acceptance on the real benchmarks (../shared/data): every canonical solution of HumanEval,
HumanEval+ and MBPP+ passes all of its tests in the sandbox, with no test dropped; and
known-wrong programs (each canonical solution with its answer perturbed, and a stub) fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sandbox_support import private_reference_cache  # noqa: F401 - autouse fixture

from dapo_bench.data.registry import Problem, load_benchmark
from dapo_bench.grading.code import grade_programs

pytestmark = pytest.mark.shared_data

PERTURB = '''

def _perturb(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, (list, tuple)):
        return type(value)(list(value) + [None])
    if value is None:
        return 0
    return None


_reference = {entry}


def {entry}(*args, **kwargs):
    return _perturb(_reference(*args, **kwargs))
'''


def _canonical(problem: Problem) -> str:
    return problem.extra["canonical"]


def _perturbed(problem: Problem) -> str:
    return _canonical(problem) + PERTURB.format(entry=problem.extra["entry_point"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["humaneval", "humaneval_plus", "mbpp_plus"])
def test_every_canonical_solution_passes(shared_data: Path, name: str) -> None:
    problems = load_benchmark(name, data_dir=shared_data)
    report: dict[str, Any] = {}
    grades = grade_programs(problems, [_canonical(p) for p in problems], workers=2,
                            report=report)
    failed = [(p.id, g.verdict, g.detail) for p, g in zip(problems, grades, strict=True)
              if not g.correct]
    assert not failed, failed[:5]
    assert not report["warnings"], report["warnings"][:5]  # no test was dropped
    if name.endswith("_plus"):
        assert all(g.base_correct for g in grades)


@pytest.mark.parametrize("name", ["humaneval", "humaneval_plus", "mbpp_plus"])
def test_known_wrong_solutions_fail(shared_data: Path, name: str) -> None:
    # tasks whose evalplus oracle accepts any output (Mbpp/164) cannot have a wrong answer
    problems = [p for p in load_benchmark(name, data_dir=shared_data)
                if p.extra["oracle"] != "always"]
    stubs = [f"def {p.extra['entry_point']}(*args, **kwargs):\n    return None\n"
             for p in problems]
    grades = grade_programs(problems * 2, [_perturbed(p) for p in problems] + stubs, workers=2)
    passed = [(p.id, g.extracted[-80:] if g.extracted else None)
              for p, g in zip(problems * 2, grades, strict=True) if g.correct]
    assert not passed, passed[:5]
