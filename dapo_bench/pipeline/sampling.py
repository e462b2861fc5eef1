"""Helpers the sampling stages share: prompts, chunking, seeded sampling, progress bars."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
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

from dapo_bench.generation.base import Prompt
from dapo_bench.generation.workers import Job
from dapo_bench.pipeline.context import StageContext

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), drawn lazily from ``items``."""
    source = iter(items)
    while chunk := list(itertools.islice(source, size)):
        yield chunk


@functools.lru_cache(maxsize=4)
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


def sampling_job(ctx: StageContext, prompts: Sequence[Prompt], *, n: int, temperature: float,
                 top_p: float, max_new_tokens: int, seed_keys: list[str], key: str,
                 problems: list[Any], prefixes: list[str] | None = None) -> Job:
    """A job for the iteration's pool: ``n`` completions per prompt (text or token ids) from
    the reference policy, graded against ``problems`` after ``prefixes``."""
    from dapo_bench.generation.base import SamplingParams, request_seed

    params = SamplingParams(n=n, temperature=temperature, top_p=top_p,
                            max_new_tokens=max_new_tokens, stop=stop_strings(ctx),
                            seed=ctx.recipe.seed)
    seeds = [request_seed(ctx.recipe.seed, k) for k in seed_keys]
    return Job(key=key, prompts=list(prompts), params=params, seeds=seeds, problems=problems,
               prefixes=prefixes)


def prompt_token_ids(ctx: StageContext, prompts: list[str]) -> list[list[int]]:
    """The ids a backend feeds the model for text prompts (special tokens as the tokenizer
    adds them): the start of every state's token sequence."""
    tokenizer = load_tokenizer(ctx.reference_model)
    return [list(ids) for ids in tokenizer(prompts)["input_ids"]]


def decoder(ctx: StageContext) -> Callable[[Sequence[int]], str]:
    tokenizer = load_tokenizer(ctx.reference_model)
    return lambda ids: tokenizer.decode(list(ids), skip_special_tokens=True,
                                        clean_up_tokenization_spaces=False)


@contextmanager
def stage_progress(ctx: StageContext, label: str, total: int, done: int, *,
                   unit: str = "items") -> Iterator[Callable[[int], None]]:
    """A rich progress bar for a stage, with its rate and ETA; yields ``advance(k)``."""
    columns = (TextColumn(f"iter {ctx.iteration} {label}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(f"{{task.fields[rate]}} {unit}/s"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, disable=not ctx.progress, transient=False) as bar:
        task = bar.add_task(label, total=total, completed=done, rate="-")

        def advance(k: int) -> None:
            bar.advance(task, k)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:.2f}" if speed else "-")

        yield advance
