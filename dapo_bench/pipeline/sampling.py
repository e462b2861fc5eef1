"""Helpers the sampling stages share: prompts, chunking, seeded sampling, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dapo_bench.pipeline.context import StageContext

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)


def format_prompts(ctx: StageContext, questions: list[str]) -> list[str]:
    from dapo_bench.data.templates import get_template

    template = get_template(ctx.recipe.template)
    tokenizer = load_tokenizer(ctx.reference_model) if template.uses_chat_template else None
    return [template.format(q, tokenizer) for q in questions]


def stop_strings(ctx: StageContext) -> list[str]:
    from dapo_bench.data.templates import get_template

    return list(get_template(ctx.recipe.template).stop)


def sample_texts(ctx: StageContext, prompts: list[str], *, n: int, temperature: float,
                 top_p: float, max_new_tokens: int, seed_keys: list[str]) -> list[list[str]]:
    """``n`` completions per prompt from the iteration's reference policy."""
    from dapo_bench.generation.base import SamplingParams, request_seed

    params = SamplingParams(n=n, temperature=temperature, top_p=top_p,
                            max_new_tokens=max_new_tokens, stop=stop_strings(ctx),
                            seed=ctx.recipe.seed)
    seeds = [request_seed(ctx.recipe.seed, key) for key in seed_keys]
    outputs = ctx.generator().generate(prompts, params, seeds=seeds)
    return [[c.text for c in group] for group in outputs]


@contextmanager
def stage_progress(ctx: StageContext, label: str, total: int, done: int
                   ) -> Iterator[Callable[[int], None]]:
    """A rich progress bar for a stage; yields ``advance(k)``."""
    columns = (TextColumn(f"iter {ctx.iteration} {label}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not ctx.progress, transient=False) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda k: bar.advance(task, k)
