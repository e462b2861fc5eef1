"""The math grader against the project's labelled corpus, and its building blocks."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from dapo_bench.grading.math import grade, grade_detailed, grade_many
from dapo_bench.grading.math.equiv import equal, split_top, structure
from dapo_bench.grading.math.extract import extract_answer, last_boxed, last_number
from dapo_bench.grading.math.normalize import normalize_answer, parse_number

CORPUS = Path(__file__).parent / "fixtures" / "math_grader_cases.jsonl"
CATEGORIES = {"extraction", "normalisation", "numeric", "symbolic", "structured", "choice",
              "text", "near-miss", "pathological"}


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def test_corpus_is_large_and_covers_every_category() -> None:
    cases = load_corpus()
    assert len(cases) >= 300
    assert {c["category"] for c in cases} == CATEGORIES
    assert len({c["id"] for c in cases}) == len(cases)
    assert all(not c["expected"] for c in cases if c["category"] in {"near-miss", "pathological"})
    assert sum(not c["expected"] for c in cases) >= 100  # plenty of answers that must fail


def test_corpus_passes_in_full() -> None:
    """Every labelled case, graded the way evaluation grades (batch API, 2 workers)."""
    by_benchmark: dict[str, list[dict]] = defaultdict(list)
    for case in load_corpus():
        by_benchmark[case["benchmark"]].append(case)
    failures = []
    for benchmark, cases in by_benchmark.items():
        grades = grade_many([(c["response"], c["gold"]) for c in cases], benchmark, workers=2)
        for case, g in zip(cases, grades, strict=True):
            if g.correct != case["expected"]:
                failures.append((case["id"], case["gold"], g.extracted, g.verdict, g.detail))
    assert failures == []


@pytest.mark.parametrize(("response", "gold", "rule"), [
    (r"so the answer is \boxed{0.5}.", r"\frac12", "numeric"),
    (r"\boxed{(2,1)}", "(1,2)", "structure"),
    (r"\boxed{x^2+2x+1}", "(x+1)^2", "symbolic"),
    (r"\boxed{\text{(B)}}", "B", "choice"),
    (r"\boxed{x=3}", "3", "equation"),
    ("I tried several approaches but could not finish the computation, sorry.", r"\frac{1}{2}",
     "no-answer"),
])
def test_grade_detailed_reports_extracted_answer_and_rule(response: str, gold: str,
                                                          rule: str) -> None:
    result = grade_detailed(response, gold, "math")
    assert result.rule == rule
    assert result.correct is (rule not in {"structure", "no-answer"})
    assert grade(response, gold, "math") is result.correct


def test_extraction_takes_the_last_complete_box() -> None:
    assert last_boxed(r"\boxed{1} then \boxed{\frac{1}{2}} and \boxed{3") == r"\frac{1}{2}"
    assert last_boxed(r"\boxed{\boxed{2}}") == r"\boxed{2}"
    assert last_boxed(r"\boxed{\{1, 2\}}") == r"\{1, 2\}"
    assert last_boxed("no box") is None
    assert last_number("It costs 1,250 dollars, not 3.") == "3"
    assert last_number("pay 1,250.50 dollars") == "1250.50"
    assert extract_answer("The answer is 7. Next question", numeric_fallback=False).answer == "7"
    assert extract_answer("blah 3 blah 4", numeric_fallback=True).how == "last-number"


def test_normalisation() -> None:
    assert normalize_answer(r"\$1,000") == "1000"
    assert normalize_answer(r"10\text{ cm}^2") == "10"
    assert normalize_answer(r"\left( 1, \dfrac{1}{2} \right)") == r"( 1, \frac{1}{2} )"
    assert normalize_answer(r"90^\circ") == "90"
    assert normalize_answer("3m") == "3m"  # a variable, not metres
    assert normalize_answer("3.2 m", strip_units=False) == "3.2 m"
    num = parse_number(r"12.5\%")
    assert num is not None and num.percent and num.inexact
    assert parse_number(r"2\frac{1}{2}").value == 2.5  # type: ignore[union-attr]
    assert parse_number("10^{10^{10}}") is None


def test_structure_parsing() -> None:
    assert split_top(r"(1,2), \{3,4\}, [5,6)") == ["(1,2)", r"\{3,4\}", "[5,6)"]
    assert structure("[1,2)").opener == "["  # type: ignore[union-attr]
    assert structure(r"\{1,2\}").kind == "set"  # type: ignore[union-attr]
    assert structure("(x+1)") == "x+1"


def test_equivalence_is_not_fooled_by_near_misses() -> None:
    assert not equal("0.333", r"\frac{1}{3}").correct
    assert not equal("3.14", r"\pi").correct
    assert not equal("(1,2)", "[1,2]").correct
    assert not equal("-x-1", "x+1").correct
    assert equal(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}").correct
