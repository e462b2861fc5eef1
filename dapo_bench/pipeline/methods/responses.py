"""Whole responses of an iteration's selected rollouts, for the outcome-level methods.

Each problem's kept samples, as generated (prompt ids and sampled token ids), graded, each
distinct response once. The prompt is cut like a policy state (its last ``max_length`` tokens)
and responses are kept whole, as actions are: the token budget rule of the policy stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import iter_items


@dataclass(frozen=True)
class Group:
    problem_id: str
    prompt_ids: list[int]
    responses: list[list[int]]  # distinct selected responses (token ids), first-seen order
    correct: list[bool]


def response_groups(ctx: StageContext) -> Iterator[Group]:
    """One group per problem with at least one selected non-empty response."""
    max_length = ctx.recipe.policy.max_length
    for record in iter_items(ctx.dir("rollouts")):
        seen: set[tuple[int, ...]] = set()
        responses, correct = [], []
        for index in record["selected"]:
            sample = record["samples"][index]
            ids = tuple(sample.get("token_ids") or ())
            if not ids or ids in seen:
                continue
            seen.add(ids)
            responses.append(list(ids))
            correct.append(bool(sample["correct"]))
        if responses:
            prompt = list(record["prompt_ids"])
            if max_length is not None and len(prompt) > max_length:
                prompt = prompt[-max_length:]
            yield Group(record["id"], prompt, responses, correct)
