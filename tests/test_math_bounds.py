"""The grader's bounds: pathological answers end in bounded time, the pool survives them, and
answers that look like code are never executed or handed to sympy's string parser."""

from __future__ import annotations

import json
from pathlib import Path

import latex2sympy2_extended.latex2sympy2 as l2s
import pytest
import sympy.parsing.sympy_parser as sympy_parser

from dapo_bench.grading.math import grade_many
from dapo_bench.grading.math.equiv import equal
from dapo_bench.grading.math.normalize import normalize_answer

CORPUS = Path(__file__).parent / "fixtures" / "math_grader_cases.jsonl"


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]

PATHOLOGICAL = [
    r"\boxed{10^{10^{10^{10}}}}",
    r"\boxed{" + "(" * 10_000 + "1" + ")" * 10_000 + "}",
    "{" * 10_000 + "1" + "}" * 10_000,
    "x" * 1_000_000,
    r"\boxed{" + "x+" * 500_000 + "1}",
    r"\boxed{\frac{" + "1}{" * 5000 + "2}}",
    r"\boxed{9^{9^{9^{9}}}}",
    r"\boxed{1000000!}",
]


def test_pathological_answers_are_false_in_bounded_time() -> None:
    # Bounded by the pool's per-answer budget, whatever the load: each answer ends as a wrong
    # verdict or a timeout (the time it takes is measured by benchmarks/grader_bench.py, not here).
    grades = grade_many([(r, "2") for r in PATHOLOGICAL], "math", workers=2, timeout_s=3.0)
    assert [g.correct for g in grades] == [False] * len(PATHOLOGICAL)


def test_a_timeout_kills_the_worker_and_the_pool_keeps_working() -> None:
    hard = (r"\boxed{\sin^{2}(x) + \cos^{2}(x) + \tan(x)\cot(x)}", "2")
    # No time at all: the pool polls the worker once, so the verdict cannot depend on load.
    grades = grade_many([hard], "math", workers=1, timeout_s=0.0)
    assert grades[0].verdict == "timeout" and not grades[0].correct
    after = grade_many([hard, (r"\boxed{(x+1)^2}", "x^2+2x+1")], "math", workers=1,
                       timeout_s=600.0)
    assert [g.correct for g in after] == [True, True]


INJECTIONS = [
    r"\boxed{__import__('os').system('touch {p}')}",
    r"The answer is __import__('os').system('touch {p}')",
    r"\boxed{eval(\"__import__('os').system('touch {p}')\")}",
    r"\boxed{exec(\"import os; os.system('touch {p}')\")}",
    r"\boxed{\text{__import__('os').system('touch {p}')}}",
    r"\boxed{x = __import__('os').system('touch {p}')}",
    r"\boxed{(__import__('os').system('touch {p}'), 1)}",
    r"\boxed{\operatorname{__import__}('os').system('touch {p}')}",
    r"\boxed{\frac{__import__('subprocess').call(['touch', '{p}'])}{1}}",
    r"\boxed{Symbol('x').__class__.__base__.__subclasses__()}",
    r"\boxed{\sqrt{__import__('os').system('touch {p}')}}",
]


def test_injection_attempts_execute_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "SENTINEL"
    responses = [r.replace("{p}", str(sentinel)) for r in INJECTIONS]
    grades = grade_many([(r, "0") for r in responses], "math", workers=2)
    grades += grade_many([(r, r"x^2") for r in responses], "math500", workers=2)
    assert not any(g.correct for g in grades)
    assert not sentinel.exists()


@pytest.fixture
def string_parser_tripwire(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make sympy's string parser (behind ``sympify(str)``) fail loudly if anything calls it."""
    calls: list[object] = []

    def tripwire(*args: object, **kwargs: object) -> None:
        calls.append(args[0] if args else kwargs)
        raise AssertionError("parse_expr called on a string")

    monkeypatch.setattr(sympy_parser, "parse_expr", tripwire)
    monkeypatch.setattr(l2s, "parse_expr", tripwire)
    return calls


def test_the_tripwire_catches_upstreams_number_path(string_parser_tripwire: list[object]
                                                    ) -> None:
    """Sanity check of the tripwire: unguarded latex2sympy turns a number token into sympy
    through sympify, which the tripwire sees."""
    with pytest.raises(AssertionError):
        l2s._Latex2Sympy().parse("12")
    assert string_parser_tripwire


def test_model_text_never_reaches_sympys_string_parser(
        string_parser_tripwire: list[object]) -> None:
    """The worker's full comparison over every corpus answer (and the injections) in-process."""
    from dapo_bench.grading.math import extract_for

    extra = [json.loads(line)
             for name in ("math_heldout_cases", "math_blind_cases", "math_blind3_cases")
             for line in (CORPUS.parent / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
             if line]
    pairs = [(c["response"], c["gold"], c["benchmark"]) for c in [*load_corpus(), *extra]
             if c["category"] != "pathological"]
    pairs += [(r.replace("{p}", "/nonexistent/x"), "0", "math") for r in INJECTIONS]
    symbolic = 0
    for response, gold, benchmark in pairs:
        found = extract_for(response, gold, benchmark)
        if found.answer is None:
            continue
        strip = benchmark != "minerva_math"
        mode = "rounded" if benchmark == "minerva_math" else "exact"
        verdict = equal(normalize_answer(found.answer, strip_units=strip),
                        normalize_answer(gold, strip_units=strip), mode)
        symbolic += verdict.rule == "symbolic"
    assert symbolic > 50  # the symbolic path really ran
    assert string_parser_tripwire == []


def test_caller_side_structure_hands_over_after_its_budget() -> None:
    """Structure is compared in the caller only up to a fixed number of leaf comparisons; a
    larger matching goes to the bounded workers (None from the caller-side judge)."""
    from dapo_bench.grading.math.equiv import FAST_BUDGET, structured_fast_equal

    n = 120  # an unordered matching of n items costs about n**2 / 2 comparisons
    assert n * n // 2 > FAST_BUDGET
    pred = "\\{" + ",".join(str(i) for i in range(n)) + "\\}"
    gold = "\\{" + ",".join(str(i) for i in reversed(range(n))) + "\\}"
    assert structured_fast_equal(pred, gold) is None
    small = "\\{" + ",".join(str(i) for i in range(20)) + "\\}"
    verdict = structured_fast_equal(small, "\\{" + ",".join(str(19 - i) for i in range(20)) + "\\}")
    assert verdict is not None and verdict.correct
    [grade] = grade_many([(pred, gold)], "math", workers=1, extract=False)
    assert grade.correct
