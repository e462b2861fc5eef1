"""Math benchmark loaders: fixtures, the shared data, gold derivation and clear errors."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import pytest

from dapo_bench.data.registry import benchmark_names, get_benchmark, load_benchmark
from dapo_bench.errors import DataError, UserInputError
from dapo_bench.grading.math import grade_many

FIXTURES = Path(__file__).parent / "fixtures" / "data"
MATH_BENCHMARKS = ["math", "math500", "gsm8k", "minerva_math", "olympiadbench", "college_math",
                   "math_train"]
SHARED_SIZES = {"math": 5000, "math500": 500, "gsm8k": 1319, "minerva_math": 272,
                "olympiadbench": 675, "college_math": 2818, "math_train": 7498}


def test_all_math_benchmarks_are_registered() -> None:
    assert set(MATH_BENCHMARKS) <= set(benchmark_names("math"))
    assert get_benchmark("math_train").hf_split == "train"


@pytest.mark.parametrize("name", MATH_BENCHMARKS)
def test_fixture_loads_with_ids_questions_and_golds(name: str) -> None:
    problems = load_benchmark(name, data_dir=FIXTURES)
    assert len(problems) >= 6
    assert len({p.id for p in problems}) == len(problems)
    assert all(p.question and p.gold for p in problems)
    again = load_benchmark(name, data_dir=FIXTURES)
    assert [p.id for p in again] == [p.id for p in problems]  # stable ids


def test_gold_rules_follow_each_benchmark() -> None:
    golds = {name: [p.gold for p in load_benchmark(name, data_dir=FIXTURES)]
             for name in MATH_BENCHMARKS}
    assert golds["gsm8k"][3] == "2,280"  # the text after ####, as written
    assert golds["math"][6] == r"\begin{pmatrix} 1 & 4 \\ 0 & 1 \end{pmatrix}"  # last box
    assert golds["olympiadbench"][1] == "(1,6),(2,3)"  # final_answer[0] without $
    assert golds["college_math"][1] == "x=-2,3"  # answer without $
    assert golds["minerva_math"][2] == "3e8"


def test_fixture_golds_grade_equal_to_themselves() -> None:
    for name in MATH_BENCHMARKS:
        problems = load_benchmark(name, data_dir=FIXTURES)
        responses = [(f"Reasoning.\nThe answer is $\\boxed{{{p.gold}}}$.", str(p.gold))
                     for p in problems]
        assert all(g.correct for g in grade_many(responses, name, workers=2)), name


def test_grade_responses_dispatches_math_benchmarks_to_the_math_grader() -> None:
    from dapo_bench.grading import grade_responses

    problems = load_benchmark("olympiadbench", data_dir=FIXTURES)[:3]
    responses = [r"\boxed{15}", r"\boxed{(2,3), (1,6)}", r"\boxed{2}"]
    grades = grade_responses("olympiadbench", problems, responses, workers=1)
    assert [g.correct for g in grades] == [True, True, False]
    assert [g.verdict for g in grades] == ["correct", "correct", "wrong"]
    with pytest.raises(ValueError, match="responses"):
        grade_responses("olympiadbench", problems, responses[:2])


def test_a_single_file_loads_too() -> None:
    problems = load_benchmark("gsm8k", source=FIXTURES / "gsm8k" / "test.jsonl")
    assert problems[0].gold == "7"


def write_rows(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_row_without_gold_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "test.jsonl", [
        {"question": "1+1?", "answer": "2\n#### 2", "idx": 0},
        {"question": "2+2?", "answer": "it is four", "idx": 1},
    ])
    with pytest.raises(DataError) as err:
        load_benchmark("gsm8k", source=path)
    assert err.value.line == 2 and err.value.field == "answer"
    assert str(path) in str(err.value) and "line 2" in str(err.value)


def test_math_row_with_empty_box_is_an_error_for_evaluation(tmp_path: Path) -> None:
    row = {"problem": "p", "solution": r"so $\boxed{}$", "unique_id": "a"}
    path = write_rows(tmp_path / "test.jsonl", [row])
    with pytest.raises(DataError, match=r"line 1: field 'solution'"):
        load_benchmark("math", source=path)


def test_training_split_skips_rows_without_gold_and_names_them(tmp_path: Path) -> None:
    rows = [{"problem": "p1", "solution": r"$\boxed{1}$", "unique_id": "t/1"},
            {"problem": "p2", "solution": r"$\boxed{}$", "unique_id": "t/2"}]
    path = write_rows(tmp_path / "train.jsonl", rows)
    with pytest.warns(UserWarning, match="line 2"):
        problems = load_benchmark("math_train", source=path)
    assert [p.id for p in problems] == ["t/1"]


def test_malformed_line_and_missing_question(tmp_path: Path) -> None:
    bad_json = write_rows(tmp_path / "a.jsonl", [{"problem": "p", "answer": "1"}, "{oops"])
    with pytest.raises(DataError, match="line 2"):
        load_benchmark("math500", source=bad_json)
    no_question = write_rows(tmp_path / "b.jsonl", [{"answer": "1", "unique_id": "x"}])
    with pytest.raises(DataError, match="line 1: field 'question'"):
        load_benchmark("college_math", source=no_question)
    dup = write_rows(tmp_path / "c.jsonl", [{"id": 1, "question": "q", "final_answer": ["1"]},
                                            {"id": 1, "question": "q", "final_answer": ["2"]}])
    with pytest.raises(DataError, match="duplicate id"):
        load_benchmark("olympiadbench", source=dup)


def test_hub_failure_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAPO_BENCH_DATA", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(UserInputError, match="--data-dir"):
        load_benchmark("gsm8k", source="no-such-org/no-such-dataset:main")


@pytest.mark.shared_data
def test_shared_data_sizes_and_every_gold_grades_equal_to_itself(shared_data: Path) -> None:
    for name in MATH_BENCHMARKS:
        with pytest.warns(UserWarning) if name == "math_train" else nullcontext():
            problems = load_benchmark(name, data_dir=shared_data)
        assert len(problems) == SHARED_SIZES[name], name
        golds = [str(p.gold) for p in problems]
        itself = grade_many([(g, g) for g in golds], name, workers=2, extract=False)
        wrapped = grade_many([(f"Let me work it out.\n... so the answer is \\boxed{{{g}}}.", g)
                              for g in golds], name, workers=2)
        assert [i for i, g in enumerate(itself) if not g.correct] == [], name
        assert [i for i, g in enumerate(wrapped) if not g.correct] == [], name

