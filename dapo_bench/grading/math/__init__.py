"""Math answer grading: extract the final answer, normalise it, decide equivalence with the gold.

Public entry points: :func:`grade` (a bool), :func:`grade_detailed` (also the extracted answer
and the rule that decided), and :func:`grade_many` (a batch, parallel, every answer bounded in
time and memory). Cheap decisions (exact match after normalisation, plain numbers, choice
letters, word answers) happen in the calling process with linear-time string work; everything
that needs sympy runs in the bounded workers of :mod:`dapo_bench.grading.math.pool`, so model
text is never parsed by sympy in the caller and a pathological answer costs one timeout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from dapo_bench.grading.math.equiv import Verdict, equal, fast_equal, structured_fast_equal
from dapo_bench.grading.math.extract import Extraction, extract_answer, last_boxed
from dapo_bench.grading.math.normalize import (
    POLICIES,
    is_text,
    normalize_answer,
    numeric_mode,
    parse_number,
)
from dapo_bench.grading.math.pool import (
    DEFAULT_TIMEOUT_S,
    Judgement,
    shared_pool,
    worker_count,
)
from dapo_bench.grading.types import SampleGrade

__all__ = [
    "DEFAULT_POLICY", "DEFAULT_TIMEOUT_S", "POLICIES", "MathGrade", "equal", "extract_answer",
    "fast_equal", "grade", "grade_detailed", "grade_many", "judge_answer", "last_boxed",
    "normalize_answer", "resolve_policy",
]

DEFAULT_POLICY = "strict"
POLICY_ENV = "DAPO_BENCH_MATH_POLICY"  # what `dapo-bench eval --math-policy` sets

FAST_MAX_CHARS = 4096  # longer answers are normalised inside the bounded workers
_NO_UNIT_STRIPPING = frozenset({"minerva_math"})  # as the Qwen toolkit (skip_unit)
_TIME_GOLD_RE = re.compile(r"\d{1,2}:\d{2}")  # a normalised time of day (24-hour)
_TEXT_WRAP_RE = re.compile(r"\\(?:text|textrm|textbf|textit|mbox|mathrm)\s*\{([^{}]*)\}")


@dataclass(frozen=True)
class MathGrade:
    correct: bool
    extracted: str | None  # the answer found in the response, before normalisation
    rule: str  # exact | numeric | choice | text | structure | equation | symbolic | no-answer | ...
    # boxed | minerva | answer-is | last-number | last-math | whole | given | none
    extraction: str = "none"


def resolve_policy(policy: str | None) -> str:
    """The numeric policy: ``policy``, else $DAPO_BENCH_MATH_POLICY, else "strict"."""
    chosen = policy or os.environ.get(POLICY_ENV) or DEFAULT_POLICY
    if chosen not in POLICIES:
        raise ValueError(f"unknown math numeric policy {chosen!r}; choose from "
                         f"{', '.join(POLICIES)}")
    return chosen


def _strip_units(benchmark: str) -> bool:
    return benchmark not in _NO_UNIT_STRIPPING


@lru_cache(maxsize=65536)
def normalize_gold(gold: str, benchmark: str) -> str:
    return normalize_answer(gold, strip_units=_strip_units(benchmark))


def extract_for(response: str, gold: str, benchmark: str) -> Extraction:
    """Extract with the last-number fallback only where the gold answer is a plain number, the
    last time only where it is a time of day, and the last sentence's end only where it is
    words (``gold_words``)."""
    normal = normalize_gold(gold, benchmark)
    numeric = parse_number(normal) is not None
    return extract_answer(response, numeric_fallback=numeric,
                          time_fallback=_TIME_GOLD_RE.fullmatch(normal) is not None,
                          text_words=gold_words(gold))


@lru_cache(maxsize=65536)
def gold_words(gold: str) -> int:
    """How many words a text gold has ("converges conditionally": 2, "\\text{No solutions}":
    2); 0 when the gold is not plain words."""
    plain = _TEXT_WRAP_RE.sub(r"\1", gold.replace("$", "")).strip().rstrip(".")
    return len(plain.split()) if is_text(plain) else 0


def fast_judge(answer: str, gold: str, benchmark: str, policy: str = DEFAULT_POLICY
               ) -> Verdict | None:
    """Decide without sympy, or None. Bounded by construction: short input, linear scans
    (structure is compared here too when every leaf is a fast decision)."""
    if len(answer) > FAST_MAX_CHARS:
        return None
    return structured_fast_equal(normalize_answer(answer, strip_units=_strip_units(benchmark)),
                                 normalize_gold(gold, benchmark), numeric_mode(policy, benchmark))


def judge_answer(answer: str, gold: str, benchmark: str, policy: str = DEFAULT_POLICY
                 ) -> Verdict:
    """Full judgement of an extracted answer. Unbounded: only the pool's workers call it."""
    pred = normalize_answer(answer, strip_units=_strip_units(benchmark))
    return equal(pred, normalize_gold(gold, benchmark), numeric_mode(policy, benchmark))


def grade_many(pairs: Sequence[tuple[str, str]], benchmark: str, *, workers: int | None = None,
               timeout_s: float = DEFAULT_TIMEOUT_S, progress: bool = False,
               extract: bool = True, policy: str | None = None) -> list[SampleGrade]:
    """Grade ``(response, gold)`` pairs; verdicts "correct" / "wrong" / "timeout".

    ``extract=False`` takes each response as the answer itself (grading gold against gold).
    ``policy`` is the numeric policy: "strict" (default; README, table of decisions) or "qwen"
    (the Qwen toolkit's relative 1e-4 whenever a decimal is involved).
    Each answer that needs sympy gets ``timeout_s`` in a worker; ``workers`` defaults to the
    machine's cores. The workers persist between calls (one pool per size).
    """
    policy = resolve_policy(policy)
    results: list[SampleGrade | None] = [None] * len(pairs)
    slow: list[int] = []
    tasks: list[tuple[str, str, str, str]] = []
    answers: list[str | None] = []
    bar = _ProgressBar(len(pairs)) if progress else None
    try:
        for i, (response, gold) in enumerate(pairs):
            found = extract_for(response, gold, benchmark) if extract else Extraction(
                response, "given")
            answers.append(found.answer)
            if found.answer is None:
                results[i] = SampleGrade(False, None, "wrong", "no-answer")
            else:
                verdict = fast_judge(found.answer, gold, benchmark, policy)
                if verdict is None:
                    slow.append(i)
                    tasks.append((found.answer, gold, benchmark, policy))
                    continue
                results[i] = SampleGrade(verdict.correct, found.answer,
                                         "correct" if verdict.correct else "wrong", verdict.rule)
            if bar is not None:
                bar.advance()
        if tasks:
            def done(k: int, judgement: Judgement) -> None:
                if bar is not None:
                    bar.advance()

            pool = shared_pool(worker_count(workers))  # starts min(size, tasks) workers
            for i, j in zip(slow, pool.run(tasks, timeout_s, on_done=done), strict=True):
                results[i] = SampleGrade(j.correct, answers[i], j.verdict, j.rule)
    finally:
        if bar is not None:
            bar.close()
    return [r for r in results if r is not None]


def grade_detailed(response: str, gold: str, benchmark: str, *,
                   timeout_s: float = DEFAULT_TIMEOUT_S, policy: str | None = None
                   ) -> MathGrade:
    """Grade one response and say what was extracted and which rule decided."""
    policy = resolve_policy(policy)
    found = extract_for(response, gold, benchmark)
    if found.answer is None:
        return MathGrade(False, None, "no-answer", found.how)
    verdict = fast_judge(found.answer, gold, benchmark, policy)
    if verdict is not None:
        return MathGrade(verdict.correct, found.answer, verdict.rule, found.how)
    judgement = shared_pool(1).run([(found.answer, gold, benchmark, policy)], timeout_s)[0]
    return MathGrade(judgement.correct, found.answer, judgement.rule, found.how)


def grade(response: str, gold: str, benchmark: str, *, policy: str | None = None) -> bool:
    """True when the response's final answer is equivalent to ``gold`` (bounded in time)."""
    return grade_detailed(response, gold, benchmark, policy=policy).correct


class _ProgressBar:
    """A rich progress bar on stderr, advanced from the grading loop."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._progress = Progress("grading", BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=Console(stderr=True),
                                  transient=False)
        self._task = self._progress.add_task("grading", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def close(self) -> None:
        self._progress.stop()
