"""The paper's math benchmarks and the MATH training split, registered in the benchmark registry.

Each gold answer is derived the way its benchmark defines it (the Qwen2.5-Math toolkit's
``parse_ground_truth``): MATH and Minerva Math take the last ``\\boxed{}`` of the reference
solution, GSM8K the text after ``####``, OlympiadBench ``final_answer[0]`` without ``$``,
College Math ``answer`` without ``$``, MATH500 its ``answer`` field. The gold is kept as written;
the grader normalises both sides. A row without a gold answer is an error naming file and line.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dapo_bench.data.registry import BenchmarkSpec, Problem, register
from dapo_bench.errors import DataError
from dapo_bench.grading.math.extract import last_boxed
from dapo_bench.jsonio import iter_jsonl

Row = dict[str, Any]
GoldRule = Callable[[Row], tuple[str | None, str]]  # (gold or None, the field it comes from)


def _text(row: Row, field: str) -> str | None:
    value = row.get(field)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _boxed_of(row: Row, field: str) -> str | None:
    solution = _text(row, field)
    return last_boxed(solution) if solution else None


def gold_math(row: Row) -> tuple[str | None, str]:
    """MATH: the last box of the solution (hub copies without solution boxes: ``answer``)."""
    if "solution" in row:
        return _boxed_of(row, "solution") or _text(row, "answer"), "solution"
    return _text(row, "answer"), "answer"


def gold_math500(row: Row) -> tuple[str | None, str]:
    if "answer" in row:
        return _text(row, "answer"), "answer"
    return _boxed_of(row, "solution"), "solution"


def gold_gsm8k(row: Row) -> tuple[str | None, str]:
    answer = _text(row, "answer")
    if answer is None or "####" not in answer:
        return None, "answer"
    return answer.split("####")[-1].strip() or None, "answer"


def gold_minerva(row: Row) -> tuple[str | None, str]:
    if "solution" in row:
        return _boxed_of(row, "solution"), "solution"
    return _text(row, "answer"), "answer"


def gold_olympiad(row: Row) -> tuple[str | None, str]:
    final = row.get("final_answer")
    if isinstance(final, list):
        final = final[0] if final else None
    if final is None:
        return None, "final_answer"
    return str(final).strip().strip("$").strip() or None, "final_answer"


def gold_college(row: Row) -> tuple[str | None, str]:
    answer = _text(row, "answer")
    return (answer.replace("$", "").strip() or None) if answer else None, "answer"


def _id_of(benchmark: str, row: Row, index: int) -> str:
    for key in ("unique_id", "idx", "id", "task_id"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    if benchmark == "college_math" and row.get("question_number"):
        source = str(row.get("data_source", "")).removeprefix("college_math.")
        return f"{source}/{row['question_number']}"
    return str(index)


_EXTRA_FIELDS = ("level", "type", "subject", "subfield", "unit", "answer_type",
                 "is_multiple_answer", "data_topic")


def problems_from_rows(benchmark: str, rows: Iterable[tuple[int, Row]], where: object,
                       gold_rule: GoldRule, *, skip_missing_gold: bool = False
                       ) -> list[Problem]:
    """Build problems from ``(line, row)`` pairs; errors name ``where`` and the line.

    ``skip_missing_gold`` (training data only) drops rows without a gold answer with a warning
    that names them, instead of failing: MATH train has one solution whose box is empty.
    """
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    skipped: list[int] = []
    for index, (line, row) in enumerate(rows):
        question = _text(row, "problem") or _text(row, "question")
        if question is None:
            field = "problem" if "problem" in row or "solution" in row else "question"
            raise DataError(where, "missing or empty question", line=line, field=field)
        gold, field = gold_rule(row)
        if gold is None and skip_missing_gold:
            skipped.append(line)
            continue
        if gold is None:
            raise DataError(where, f"no gold answer for benchmark {benchmark!r}", line=line,
                            field=field)
        pid = _id_of(benchmark, row, index)
        if pid in seen:
            raise DataError(where, f"duplicate id {pid!r} (first on line {seen[pid]})",
                            line=line)
        seen[pid] = line
        extra = {k: row[k] for k in _EXTRA_FIELDS if row.get(k) not in (None, "", "None")}
        problems.append(Problem(id=pid, question=question, gold=gold, extra=extra))
    if skipped:
        lines = ", ".join(map(str, skipped[:10])) + (" ..." if len(skipped) > 10 else "")
        warnings.warn(f"{where}: skipped {len(skipped)} row(s) without a gold answer "
                      f"(line {lines})", stacklevel=2)
    return problems


def _file_loader(benchmark: str, gold_rule: GoldRule, skip: bool
                 ) -> Callable[[Path], list[Problem]]:
    def load(path: Path) -> list[Problem]:
        return problems_from_rows(benchmark, iter_jsonl(path), path, gold_rule,
                                  skip_missing_gold=skip)

    return load


def _hf_loader(benchmark: str, gold_rule: GoldRule, skip: bool
               ) -> Callable[[str, str], list[Problem]]:
    def load(dataset_id: str, split: str) -> list[Problem]:
        """``ID`` or ``ID:CONFIG`` on the Hugging Face hub (needs network or a warm cache)."""
        from datasets import load_dataset

        name, _, config = dataset_id.partition(":")
        data = load_dataset(name, config or None, split=split)
        rows = ((i + 1, dict(row)) for i, row in enumerate(data))
        return problems_from_rows(benchmark, rows, f"hf:{dataset_id}[{split}]", gold_rule,
                                  skip_missing_gold=skip)

    return load


def _register(name: str, folder: str, file: str, gold_rule: GoldRule, *, size: int,
              hf_id: str | None, split: str, description: str, training: bool = False) -> None:
    register(BenchmarkSpec(
        name=name, kind="math", folder=folder, files=(file,),
        load_file=_file_loader(name, gold_rule, training), default_template="qwen-cot",
        hf_id=hf_id, hf_split=split, expected_size=size, description=description,
        load_hf=_hf_loader(name, gold_rule, training)))


_register("math", "math", "test.jsonl", gold_math, size=5000,
          hf_id="DigitalLearningGmbH/MATH-lighteval", split="test",
          description="MATH test set (Hendrycks et al.); gold: last \\boxed{} of the solution")
_register("math_train", "math", "train.jsonl", gold_math, size=7500,
          hf_id="DigitalLearningGmbH/MATH-lighteval", split="train",
          description="MATH training split, the DAPO training problems", training=True)
_register("math500", "math500", "test.jsonl", gold_math500, size=500,
          hf_id="HuggingFaceH4/MATH-500", split="test",
          description="MATH500 (PRM800K test split); gold: the answer field")
_register("gsm8k", "gsm8k", "test.jsonl", gold_gsm8k, size=1319,
          hf_id="openai/gsm8k:main", split="test",
          description="GSM8K test set; gold: the text after ####")
_register("minerva_math", "minerva_math", "test.jsonl", gold_minerva, size=272,
          hf_id=None, split="test",
          description="Minerva Math (OCW courses); gold: last \\boxed{} of the solution")
_register("olympiadbench", "olympiadbench", "test.jsonl", gold_olympiad, size=675,
          hf_id=None, split="test",
          description="OlympiadBench (OE_TO_maths_en_COMP); gold: final_answer[0] without $")
_register("college_math", "college_math", "test.jsonl", gold_college, size=2818,
          hf_id=None, split="test",
          description="College Math; gold: the answer field without $")
