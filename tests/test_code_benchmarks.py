"""The code benchmarks on the project's own fixtures (tests/fixtures/data, each in its real
format): loading, prompts, program extraction, and end-to-end verdicts in the real sandbox."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest
from sandbox_support import private_reference_cache  # noqa: F401 - autouse fixture

from dapo_bench.data.code_formats import lcb_release_files, lcb_tests, mbpp_plus_inputs
from dapo_bench.data.registry import benchmark_names, get_benchmark, load_benchmark
from dapo_bench.errors import DataError, UserInputError
from dapo_bench.grading.code import grade_code_responses, program_from_response

DATA = Path(__file__).parent / "fixtures" / "data"
CODE_BENCHMARKS = ("humaneval", "humaneval_plus", "mbpp", "mbpp_plus", "livecodebench", "taco")


@pytest.fixture(autouse=True)
def _lcb_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPO_BENCH_LCB_RELEASE", "release_v2")  # the fixture has test{,2}.jsonl


def test_all_code_benchmarks_are_registered_with_a_code_template() -> None:
    from dapo_bench.data.templates import get_template

    assert set(CODE_BENCHMARKS) <= set(benchmark_names("code"))
    for name in CODE_BENCHMARKS:
        spec = get_benchmark(name)
        template = get_template(spec.default_template)
        assert template.uses_chat_template and "{question}" in template.text


@pytest.mark.parametrize("name", CODE_BENCHMARKS)
def test_fixture_loads_with_tests_and_prompt(name: str) -> None:
    problems = load_benchmark(name, data_dir=DATA)
    assert problems
    for p in problems:
        ex = p.extra
        assert p.gold is None and ex["benchmark"] == name and ex["mode"] in ("function", "stdio")
        assert ex["inputs"] is not None or ex["test_code"] is not None
        assert "```" in p.question  # the instruction asks for a fenced program
        # expected outputs never sit beside the program that will run: only in ``expected``
        assert ex["expected"] is None or ex["mode"] in ("stdio", "function")


def test_mbpp_plus_inputs_become_tuples_as_in_the_original_tasks() -> None:
    (first, _) = load_benchmark("mbpp_plus", data_dir=DATA)
    assert first.extra["inputs"]["base"][0] == [(3, 4, 5, 6), (5, 7, 4, 10)]
    assert mbpp_plus_inputs("Mbpp/124", [["1.5", "1+2j"]]) == [(1.5, 1 + 2j)]
    assert mbpp_plus_inputs("Mbpp/3", [[[1, 2]]]) == [[[1, 2]]]


def test_livecodebench_release_selection_and_private_tests(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert lcb_release_files("release_v3") == ["test.jsonl", "test2.jsonl", "test3.jsonl"]
    assert lcb_release_files("v2") == ["test2.jsonl"]
    assert lcb_release_files("v1_v2") == ["test.jsonl", "test2.jsonl"]
    both = load_benchmark("livecodebench", data_dir=DATA)
    assert [p.extra["mode"] for p in both] == ["stdio", "function"]
    assert len(both[0].extra["inputs"]["base"]) == 3  # 1 public + 2 private (decoded)
    assert both[1].extra["method"] and both[1].extra["entry_point"] == "topKSum"
    monkeypatch.setenv("DAPO_BENCH_LCB_RELEASE", "release_v1")
    assert len(load_benchmark("livecodebench", data_dir=DATA)) == 1
    monkeypatch.setenv("DAPO_BENCH_LCB_RELEASE", "release_v5")
    with pytest.raises(DataError, match=r"test3\.jsonl"):
        load_benchmark("livecodebench", data_dir=DATA)
    with pytest.raises(UserInputError):
        lcb_release_files("latest-and-greatest")


def test_livecodebench_private_tests_never_unpickle_objects(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    evil = base64.b64encode(zlib.compress(pickle.dumps(Boom()))).decode()
    with pytest.raises(pickle.UnpicklingError):
        lcb_tests(evil)


def test_program_extraction_and_prompt_completion() -> None:
    sq, _fz, _mean = load_benchmark("humaneval", data_dir=DATA)
    body_only = "    return sum(x * x for x in xs)\n"
    fenced = "Sure.\n```python\ndef sum_of_squares(xs):\n    return sum(x*x for x in xs)\n```\n"
    for response in (fenced, body_only):
        program = program_from_response(sq, response)
        assert program is not None and "def sum_of_squares" in program
    assert program_from_response(sq, "I cannot help with that.") is None
    lcb_stdin = load_benchmark("livecodebench", data_dir=DATA)[0]
    program = program_from_response(lcb_stdin, "```python\nprint(1)\n```")
    assert program is not None and program.startswith("from string import *")


def _responses() -> dict[str, list[tuple[str, str]]]:
    """Per benchmark: (response, expected verdict) for each fixture problem, in order."""
    fence = "Here is the program:\n```python\n{}\n```\nIt works."
    return {
        "humaneval": [
            (fence.format("def sum_of_squares(xs):\n    return sum(x * x for x in xs)"), "pass"),
            # a different root than the reference's: the find_zero oracle accepts it
            (fence.format("def find_zero(xs):\n    x = 10.0\n    for _ in range(200):\n"
                          "        d = sum(i * c * x ** (i - 1) for i, c in enumerate(xs) if i)\n"
                          "        x = x + 1e-3 if d == 0 else x - poly(xs, x) / d\n"
                          "    return x"), "pass"),
            (fence.format("def mean(xs):\n    return sum(xs) // len(xs)"), "fail"),
        ],
        "humaneval_plus": [
            # passes the base tests, fails the plus ones (big ints)
            (fence.format("def sum_of_squares(xs):\n"
                          "    return int(sum(float(x) ** 2 for x in xs))"), "fail"),
            (fence.format("def find_zero(xs):\n    while True:\n        pass"), "timeout"),
            (fence.format("def mean(xs):\n    return sum(xs) / len(xs)"), "pass"),
        ],
        "mbpp": [
            (fence.format("def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b),"
                          " reverse=True))"), "pass"),  # order-free: evalplus's set oracle
            (fence.format("def hypot(a, b):\n    return a + b"), "fail"),
        ],
        "mbpp_plus": [
            (fence.format("def similar_elements(a, b):\n    return list(set(a) & set(b))"),
             "pass"),
            (fence.format("def running_max(xs):\n    import itertools\n"
                          "    return list(itertools.accumulate(xs, max))\n"
                          "def unused(:\n"), "pass"),  # a broken tail is cut off
        ],
        "livecodebench": [
            (fence.format("n = int(input())\nprint(sum(map(int, input().split())))"), "pass"),
            (fence.format("class Solution:\n    def topKSum(self, nums, k):\n"
                          "        return sum(nums[:k])"), "fail"),
        ],
        "taco": [
            (fence.format("a, b = map(int, input().split())\nprint(a + b)\nprint(a * b)"),
             "fail"),
            (fence.format("def mean_of(xs):\n    return sum(xs) / len(xs)"), "pass"),
        ],
    }


def test_responses_get_their_verdicts_in_the_sandbox() -> None:
    problems, responses, expected = [], [], []
    cases = _responses()
    for name in CODE_BENCHMARKS:
        loaded = load_benchmark(name, data_dir=DATA)
        assert len(loaded) == len(cases[name])
        for problem, (response, verdict) in zip(loaded, cases[name], strict=True):
            problems.append(problem)
            responses.append(response)
            expected.append((name, problem.id, verdict))
    # one call per benchmark, as the evaluation does
    got = []
    start = 0
    for name in CODE_BENCHMARKS:
        n = len(cases[name])
        got += grade_code_responses(problems[start:start + n], responses[start:start + n],
                                    benchmark=name, workers=2)
        start += n
    for (name, pid, verdict), grade in zip(expected, got, strict=True):
        assert grade.verdict == verdict, f"{name} {pid}: {grade.verdict} ({grade.detail})"
        assert grade.correct == (verdict == "pass")
    plus = got[3:6]
    assert plus[0].base_correct is True and plus[0].correct is False  # base ok, plus not


def test_grade_rejects_mismatched_lengths() -> None:
    problems = load_benchmark("mbpp", data_dir=DATA)
    with pytest.raises(ValueError):
        grade_code_responses(problems, [""], benchmark="mbpp")


def test_user_humaneval_file_of_asserts(tmp_path: Path) -> None:
    """--data: one's own HumanEval-format tasks; the asserts become input/expected pairs by
    running them against the canonical solution (in the sandbox)."""
    task = {"task_id": "Mine/0", "prompt": "def double(x):\n    \"\"\"Twice x.\"\"\"\n",
            "entry_point": "double", "canonical_solution": "    return 2 * x\n",
            "test": "def check(candidate):\n    for v in (1, 5, -3):\n"
                    "        assert candidate(v) == v + v\n"}
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(task) + "\n")
    problems = load_benchmark("humaneval", source=path)
    good, bad = grade_code_responses(
        problems * 2, ["```python\ndef double(x):\n    return x * 2\n```",
                       "```python\ndef double(x):\n    return x ** 2\n```"], benchmark="humaneval")
    assert good.verdict == "pass"
    assert bad.verdict == "fail" and "expected 2, got 1" in (bad.detail or "")
