"""The code benchmarks: HumanEval(+), MBPP(+), LiveCodeBench and TACO, and the code prompts.

Each loader returns :class:`Problem` records whose ``question`` is the full instruction for the
model and whose ``extra`` holds what grading needs (see ``_extra``): the mode (``function``
calls an entry point, ``stdio`` feeds stdin), test inputs by group (``base``/``plus``), expected
outputs when the data has them, otherwise the reference program (expected outputs are then
computed by running it in the sandbox, as evalplus does), or assert-style test code that is
turned into input/expected pairs the same way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dapo_bench.data.code_formats import (
    LCB_IMPORTS,
    TACO_IMPORTS,
    contest_question,
    evalplus_question,
    lcb_release_files,
    lcb_tests,
    mbpp_entry_point,
    mbpp_plus_inputs,
)
from dapo_bench.data.registry import BenchmarkSpec, Problem, register
from dapo_bench.errors import DataError
from dapo_bench.grading.code.compare import oracle_for

CODE_TEMPLATE = "code-cot"
LCB_RELEASE_ENV = "DAPO_BENCH_LCB_RELEASE"
LCB_DEFAULT_RELEASE = "release_v4"  # May 2023 - Sep 2024: the latest release before the paper
LCB_SECONDS_PER_TEST = 6.0  # LiveCodeBench's own per-test timeout
TACO_SECONDS_PER_TEST = 4.0


def _extra(benchmark: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "benchmark": benchmark, "mode": "function", "entry_point": None, "method": False,
        "prompt": None, "header": "", "canonical": None, "inputs": None, "expected": None,
        "test_code": None, "check": None, "atol": 0.0, "oracle": None,
        "output_not_none": False, "time_limit": None,
    }
    base.update(fields)
    return base


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    from dapo_bench.jsonio import iter_jsonl

    return list(iter_jsonl(path))


def _need(path: Path, line: int, row: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if field not in row:
            raise DataError(path, "missing", line=line, field=field)


# --- HumanEval and HumanEval+ -----------------------------------------------------------------

def _humaneval_problem(path: Path, line: int, row: dict[str, Any], benchmark: str) -> Problem:
    _need(path, line, row, "task_id", "prompt", "entry_point", "canonical_solution")
    entry = row["entry_point"]
    prompt = row["prompt"]
    canonical = prompt + row["canonical_solution"]
    fields: dict[str, Any] = {"entry_point": entry, "prompt": prompt, "canonical": canonical,
                              "oracle": oracle_for("humaneval", entry)}
    if "base_input" in row and benchmark == "humaneval_plus":
        fields["inputs"] = {"base": row["base_input"], "plus": row.get("plus_input", [])}
        fields["atol"] = float(row.get("atol") or 0.0)
    else:
        _need(path, line, row, "test")
        fields.update(test_code=row["test"], check="check")
        if fields["oracle"] == "find_zero":
            fields["atol"] = 1e-4  # the tolerance HumanEval/32's own assert uses
    return Problem(id=str(row["task_id"]), question=evalplus_question(prompt),
                   extra=_extra(benchmark, **fields))


def load_humaneval(path: Path) -> list[Problem]:
    return [_humaneval_problem(path, ln, row, "humaneval") for ln, row in _rows(path)]


def load_humaneval_plus(path: Path) -> list[Problem]:
    return [_humaneval_problem(path, ln, row, "humaneval_plus") for ln, row in _rows(path)]


# --- MBPP (original, assert tests) and MBPP+ ----------------------------------------------

def load_mbpp(path: Path) -> list[Problem]:
    """Sanitized MBPP (``prompt``/``code``/``test_list``/``test_imports``; all 427 tasks) or the
    full file (``text``/``code``/``test_list``/``test_setup_code``; tasks 11-510, the test
    split)."""
    problems = []
    for line, row in _rows(path):
        _need(path, line, row, "task_id", "code", "test_list")
        full = "text" in row and "prompt" not in row
        if full and not 11 <= int(row["task_id"]) <= 510:
            continue
        description = row["text"] if full else row.get("prompt", "")
        tests = list(row["test_list"])
        setup = row.get("test_setup_code", "") if full else "\n".join(row.get("test_imports", []))
        try:
            entry = mbpp_entry_point(row["code"], tests)
        except ValueError as exc:
            raise DataError(path, str(exc), line=line, field="test_list") from exc
        prompt = f'"""\n{description}\n{tests[0] if tests else ""}\n"""\n'
        oracle = oracle_for("mbpp", entry)
        problems.append(Problem(
            id=f"Mbpp/{row['task_id']}", question=evalplus_question(prompt),
            # full-file setup code builds test objects from the solution's classes: after it
            extra=_extra("mbpp", entry_point=entry,
                         canonical=row["code"] if full else setup + "\n" + row["code"],
                         test_code=setup + "\n" + "\n".join(tests), oracle=oracle,
                         output_not_none=oracle == "not_none")))
    return problems


def load_mbpp_plus(path: Path) -> list[Problem]:
    problems = []
    for line, row in _rows(path):
        _need(path, line, row, "task_id", "prompt", "entry_point", "canonical_solution",
              "base_input", "plus_input")
        entry = row["entry_point"]
        oracle = oracle_for("mbpp", entry)
        problems.append(Problem(
            id=str(row["task_id"]), question=evalplus_question(row["prompt"]),
            extra=_extra(
                "mbpp_plus", entry_point=entry, canonical=row["prompt"] + row["canonical_solution"],
                inputs={"base": mbpp_plus_inputs(row["task_id"], row["base_input"]),
                        "plus": mbpp_plus_inputs(row["task_id"], row["plus_input"])},
                atol=float(row.get("atol") or 0.0), oracle=oracle,
                output_not_none=oracle == "not_none")))
    return problems


# --- LiveCodeBench ------------------------------------------------------------------------

def lcb_problem(row: dict[str, Any], where: str = "") -> Problem:
    tests = lcb_tests(row["public_test_cases"]) + lcb_tests(row.get("private_test_cases") or "[]")
    metadata = row.get("metadata") or "{}"
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    starter = row.get("starter_code") or ""
    functional = bool(tests) and tests[0].get("testtype") == "functional"
    fields: dict[str, Any] = {"header": LCB_IMPORTS, "time_limit": LCB_SECONDS_PER_TEST,
                              "contest_date": row.get("contest_date"),
                              "difficulty": row.get("difficulty"),
                              "platform": row.get("platform")}
    if functional:
        fields.update(
            entry_point=metadata["func_name"], method="class Solution" in starter,
            oracle="lcb_call",
            inputs={"base": [[json.loads(a) for a in t["input"].split("\n")] for t in tests]},
            expected={"base": [json.loads(t["output"]) for t in tests]})
    else:
        fields.update(mode="stdio", oracle="lcb_stdio",
                      inputs={"base": [t["input"] for t in tests]},
                      expected={"base": [t["output"] for t in tests]})
    return Problem(id=str(row["question_id"]),
                   question=contest_question(row["question_content"], starter),
                   extra=_extra("livecodebench", **fields))


def load_livecodebench(path: Path, release: str | None = None) -> list[Problem]:
    """A ``code_generation_lite`` file, or (given one of its ``test*.jsonl`` files, as the
    registry does for a data folder) the files of ``release`` beside it; the release comes from
    $DAPO_BENCH_LCB_RELEASE, default ``release_v4``."""
    release = release or os.environ.get(LCB_RELEASE_ENV) or LCB_DEFAULT_RELEASE
    files = [path]
    if path.name.startswith("test") and path.name.endswith(".jsonl"):
        wanted = lcb_release_files(release)
        missing = [n for n in wanted if not (path.parent / n).is_file()]
        if missing:
            raise DataError(path.parent, f"LiveCodeBench {release} needs {', '.join(missing)} "
                                         f"(set {LCB_RELEASE_ENV} to a release you have)")
        files = [path.parent / n for n in wanted]
    problems = []
    for file in files:
        for line, row in _rows(file):
            _need(file, line, row, "question_id", "question_content", "public_test_cases")
            try:
                problems.append(lcb_problem(row))
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(file, f"unreadable tests: {exc}", line=line) from exc
    return problems


def load_livecodebench_hf(dataset_id: str, split: str) -> list[Problem]:
    from huggingface_hub import hf_hub_download

    release = os.environ.get(LCB_RELEASE_ENV) or LCB_DEFAULT_RELEASE
    problems = []
    for name in lcb_release_files(release):
        local = Path(hf_hub_download(dataset_id, name, repo_type="dataset"))
        problems += [lcb_problem(row) for _, row in _rows(local)]
    return problems


# --- TACO ---------------------------------------------------------------------------------

def taco_problem(row: dict[str, Any], index: int) -> Problem:
    io_spec = row["input_output"]
    io_spec = json.loads(io_spec) if isinstance(io_spec, str) else io_spec
    starter = row.get("starter_code") or ""
    inputs, outputs = io_spec["inputs"], io_spec["outputs"]
    fields: dict[str, Any] = {"header": TACO_IMPORTS, "time_limit": TACO_SECONDS_PER_TEST,
                              "difficulty": row.get("difficulty"), "source": row.get("source")}
    if io_spec.get("fn_name"):
        fields.update(entry_point=io_spec["fn_name"], method="class Solution" in starter,
                      oracle="taco_call",
                      inputs={"base": [a if isinstance(a, list) else [a] for a in inputs]},
                      expected={"base": list(outputs)})
    else:
        def text(x: Any) -> str:
            return "\n".join(map(str, x)) if isinstance(x, list) else str(x)

        fields.update(mode="stdio", oracle="taco_stdio",
                      inputs={"base": [text(x) for x in inputs]},
                      expected={"base": [text(x) for x in outputs]})
    pid = str(row.get("id", row.get("task_id", index)))
    return Problem(id=pid, question=contest_question(row["question"], starter),
                   extra=_extra("taco", **fields))


def load_taco(path: Path) -> list[Problem]:
    problems = []
    for index, (line, row) in enumerate(_rows(path)):
        _need(path, line, row, "question", "input_output")
        try:
            problems.append(taco_problem(row, index))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(path, f"unreadable input_output: {exc}", line=line,
                            field="input_output") from exc
    return problems


def load_taco_hf(dataset_id: str, split: str) -> list[Problem]:
    from datasets import load_dataset

    rows = load_dataset(dataset_id, split=split)
    return [taco_problem(dict(row), i) for i, row in enumerate(rows)]


# --- registration -------------------------------------------------------------------------

def _register() -> None:
    register(BenchmarkSpec(
        name="humaneval", kind="code", folder="humaneval", files=("HumanEval.jsonl",),
        load_file=load_humaneval, default_template=CODE_TEMPLATE, expected_size=164,
        description="OpenAI HumanEval; its check() asserts become input/expected pairs"))
    register(BenchmarkSpec(
        name="humaneval_plus", kind="code", folder="humaneval_plus",
        files=("HumanEvalPlus-v0.1.10.jsonl", "HumanEvalPlus.jsonl"),
        load_file=load_humaneval_plus, default_template=CODE_TEMPLATE, expected_size=164,
        description="evalplus HumanEval+ v0.1.10: base and plus inputs"))
    register(BenchmarkSpec(
        name="mbpp", kind="code", folder="mbpp", files=("sanitized-mbpp.jsonl", "mbpp.jsonl"),
        load_file=load_mbpp, default_template=CODE_TEMPLATE, expected_size=427,
        description="MBPP (sanitized; or the full file's test split); asserts become pairs"))
    register(BenchmarkSpec(
        name="mbpp_plus", kind="code", folder="mbpp_plus",
        files=("MbppPlus-v0.2.0.jsonl", "MbppPlus.jsonl"), load_file=load_mbpp_plus,
        default_template=CODE_TEMPLATE, expected_size=378,
        description="evalplus MBPP+ v0.2.0: base and plus inputs"))
    register(BenchmarkSpec(
        name="livecodebench", kind="code", folder="livecodebench",
        files=tuple(f"test{i if i > 1 else ''}.jsonl" for i in range(1, 7)),
        load_file=load_livecodebench, default_template=CODE_TEMPLATE,
        hf_id="livecodebench/code_generation_lite", load_hf=load_livecodebench_hf,
        description=f"LiveCodeBench code_generation_lite (release from ${LCB_RELEASE_ENV})"))
    register(BenchmarkSpec(
        name="taco", kind="code", folder="taco", files=("train.jsonl", "taco.jsonl"),
        load_file=load_taco, default_template=CODE_TEMPLATE, hf_id="BAAI/TACO",
        hf_split="train", load_hf=load_taco_hf,
        description="TACO training set (stdin and call-based tests), DAPO's code training data"))


def _register_templates() -> None:
    from dapo_bench.data.templates import TEMPLATES, PromptTemplate, register_template

    if CODE_TEMPLATE in TEMPLATES:
        return
    register_template(PromptTemplate(
        name="code-cot",
        text="{question}\nThink it through step by step, then give the complete program in "
             "one ```python code block.",
        uses_chat_template=True,
        description="zero-shot code generation with reasoning, as one user message in the "
                    "model's chat template; the program is taken from the last code block"))
    register_template(PromptTemplate(
        name="code-chat", text="{question}", uses_chat_template=True,
        description="the benchmark's own instruction (evalplus / LiveCodeBench wording) as one "
                    "user message in the model's chat template"))
    register_template(PromptTemplate(
        name="code-plain", text="{question}\n```python\n", stop=("\n```", "</s>",
                                                                 "<|endoftext|>"),
        description="plain text for base models: the response continues a python code block"))


_register()
_register_templates()
