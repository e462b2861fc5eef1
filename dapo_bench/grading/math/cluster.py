"""Cluster a problem's sampled answers by the grader's own equivalence, for majority voting.

Samples graded correct form the gold's cluster (label 0): each is equivalent to the gold.
The other extracted answers are clustered greedily in sample order: an answer joins the first
cluster whose representative (its first answer) the grader judges equivalent to it, else it
starts the next cluster (labels 1, 2, ...). A sample without an answer gets None (no vote).

Every comparison goes through :func:`dapo_bench.grading.math.grade_many` with the
representative in the gold's place: linear-time string rules in this process, sympy only in
the bounded pool, so model text stays data. Answers longer than the fast path's limit are
only merged with identical strings (they would each cost a bounded worker call per rival).
Problems are processed side by side: round r compares every problem's r-th distinct answer
with its representatives in one batch, so the pool's workers stay busy.
"""

from __future__ import annotations

from collections.abc import Sequence

from dapo_bench.grading.math import FAST_MAX_CHARS, grade_many


def cluster_labels(groups: Sequence[Sequence[tuple[bool, str | None]]], benchmark: str, *,
                   workers: int | None = None, policy: str | None = None
                   ) -> list[list[int | None]]:
    """Labels per sample for each problem's ``(correct, extracted answer)`` samples."""
    reps: list[list[str]] = [[] for _ in groups]  # reps[p][j]: cluster j + 1's first answer
    label_of: list[dict[str, int]] = [{} for _ in groups]
    pending: list[list[str]] = []
    for group in groups:
        distinct = dict.fromkeys(a for ok, a in group if not ok and a is not None)
        pending.append(list(distinct))
    while any(pending):
        pairs: list[tuple[str, str]] = []
        asked: list[tuple[int, str, list[int]]] = []  # problem, answer, clusters compared
        for p, queue in enumerate(pending):
            if not queue:
                continue
            answer = queue.pop(0)
            rivals = [] if len(answer) > FAST_MAX_CHARS else [
                j for j, rep in enumerate(reps[p]) if len(rep) <= FAST_MAX_CHARS]
            asked.append((p, answer, rivals))
            pairs += [(answer, reps[p][j]) for j in rivals]
        verdicts = iter(grade_many(pairs, benchmark, workers=workers, extract=False,
                                   policy=policy) if pairs else [])
        for p, answer, rivals in asked:
            same = [j for j in rivals if next(verdicts).correct]
            if same:
                label_of[p][answer] = same[0] + 1
            else:
                reps[p].append(answer)
                label_of[p][answer] = len(reps[p])
    return [[0 if ok else (None if a is None else label_of[p][a]) for ok, a in group]
            for p, group in enumerate(groups)]
