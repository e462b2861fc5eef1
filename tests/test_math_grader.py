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


@pytest.mark.parametrize(("text", "normal"), [
    (r"3.2 \text{ billion}", "3200000000"),  # scale words multiply exactly
    (r"\$1.25 \text{ million}", "1250000"),
    ("72 heartbeats", "72"),  # words after a number that is the whole answer
    (r"6 \text{ less than } x", "6 less than x"),  # not when a word changes the value
    ("3 dozen", "3 dozen"),
    (r"7:45\text{ p.m.}", "19:45"),  # times of day on the 24-hour clock
    (r"12:15 \text{ AM}", "0:15"),
    ("09:30", "9:30"),
    (r"\theta \in [2, 5)", "[2, 5)"),  # a membership prefix
    (r"x \notin [2, 5)", r"x \notin [2, 5)"),
    (r"\frac{3}{1,024}", r"\frac{3}{1024}"),  # separators inside a TeX group
    (r"\{1,000\}", r"\{1,000\}"),  # but not in a set
    (r"\oslash", r"\emptyset"),
])
def test_third_pass_normalisation(text: str, normal: str) -> None:
    assert normalize_answer(text) == normal


def test_text_answers_come_from_the_end_of_the_last_sentence_only() -> None:
    said = "At first it seems to diverge. By comparison with 1/n^2 the series converges."
    assert extract_answer(said, text_words=1).answer == "converges"
    negated = "Counting on from Sunday, it is Wednesday, not Tuesday."
    assert extract_answer(negated, text_words=1).how != "last-sentence"
    assert not grade(negated, r"\text{Tuesday}", "math")
    assert grade(said, "converges", "college_math")
    assert not grade(said, "diverges", "college_math")
    assert not grade(r"It converges, so \boxed{1}.", "converges", "college_math")  # a box wins
