"""The verdict record every grader returns, so evaluation and the pipeline treat math and code
alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleGrade:
    correct: bool
    extracted: str | None  # the answer (math) or program (code) the grader judged
    # math: correct / wrong / timeout; code: pass / fail / timeout / memory / error
    verdict: str
    detail: str | None = None  # which rule decided (math) or the failing test (code)
