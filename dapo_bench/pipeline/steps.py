"""Step segmentation: a solution is a sequence of steps ending at the separator.

Rules (the invariant: ``"".join(split_steps(text, sep)) == text``):
- a step keeps its separator; a run of separators (empty lines) stays with the step before it,
  so no step is empty or separator-only;
- separators before the first step belong to the first step;
- text without a separator is a single step, and so is the empty string's absence: "" has none.
With ``"\\n"`` a CRLF line keeps its ``"\\r"`` inside the step.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence


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


def cut_token_steps(ids: Sequence[int], decode: Callable[[Sequence[int]], str],
                    separator: str = "\n") -> tuple[list[list[int]], list[str]]:
    """Generated tokens split into steps at token boundaries: (ids, text) per step.

    The steps are those :func:`split_steps` finds in the decoded text; each boundary moves to
    the first token boundary at or after it that decodes cleanly (no partial UTF-8 character),
    so a token that merges a separator with what follows it (``".\\nThe"``) stays whole and
    belongs to the step it ends. Every state is then a prefix of the tokens the model actually
    generated, and ``"".join(texts)`` is the decoded text.
    """
    ids = list(ids)
    text = decode(ids)
    steps = split_steps(text, separator)
    cuts: list[int] = []
    reached = 0
    for step in steps[:-1]:
        reached += len(step)
        b = _first_prefix_reaching(ids, decode, reached, cuts[-1] if cuts else 0)
        while b < len(ids) and decode(ids[:b]).endswith("\ufffd"):
            b += 1
        if b >= len(ids):
            break
        if not cuts or b > cuts[-1]:
            cuts.append(b)
    bounds = [0, *cuts, len(ids)]
    prefixes = [decode(ids[:b]) for b in bounds[1:-1]]
    prefixes = ["", *prefixes, text]
    token_steps = [ids[a:b] for a, b in itertools.pairwise(bounds)]
    texts = []
    for before, after, piece in zip(prefixes[:-1], prefixes[1:], token_steps, strict=True):
        texts.append(after[len(before):] if after.startswith(before) else decode(piece))
    return token_steps, texts


def _first_prefix_reaching(ids: list[int], decode: Callable[[Sequence[int]], str],
                           chars: int, lo: int) -> int:
    """The smallest b >= lo whose prefix ids[:b] decodes to at least ``chars`` characters."""
    hi = len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(decode(ids[:mid]).rstrip("\ufffd")) >= chars:
            hi = mid
        else:
            lo = mid + 1
    return lo
