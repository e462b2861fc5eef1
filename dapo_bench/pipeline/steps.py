"""Step segmentation: a solution is a sequence of steps ending at the separator.

Rules (the invariant: ``"".join(split_steps(text, sep)) == text``):
- a step keeps its separator; a run of separators (empty lines) stays with the step before it,
  so no step is empty or separator-only;
- separators before the first step belong to the first step;
- text without a separator is a single step, and so is the empty string's absence: "" has none.
With ``"\\n"`` a CRLF line keeps its ``"\\r"`` inside the step.
"""

from __future__ import annotations


def split_steps(text: str, separator: str = "\n") -> list[str]:
    if not separator:
        raise ValueError("the step separator must not be empty")
    if not text:
        return []
    steps: list[str] = []
    pieces = text.split(separator)
    current = ""
    for i, piece in enumerate(pieces):
        is_last = i == len(pieces) - 1
        if piece.strip() and current.strip():
            steps.append(current)
            current = ""
        current += piece if is_last else piece + separator
    if current:
        if steps and not current.strip():
            steps[-1] += current
        else:
            steps.append(current)
    return steps


def first_step(continuation: str, separator: str = "\n") -> tuple[str, bool]:
    """The first step of a continuation and whether it ends the solution (nothing follows)."""
    steps = split_steps(continuation, separator)
    if not steps:
        return "", True
    return steps[0], len(steps) == 1
