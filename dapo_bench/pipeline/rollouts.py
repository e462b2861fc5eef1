"""Stage 1, rollouts: n_samples solutions per training problem, graded, n_select kept.

Kept solutions are as balanced between correct and wrong as the samples allow, chosen by a
generator seeded with the recipe seed and the problem id, so a rerun keeps the same ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from dapo_bench.data.registry import Problem
from dapo_bench.generation.base import Completion
from dapo_bench.generation.workers import Job
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint
from dapo_bench.pipeline.sampling import (
    chunked,
    format_prompts,
    prompt_token_ids,
    sampling_job,
    stage_progress,
)

STAGE = "rollouts"


def select_balanced(correct: list[bool], n_select: int, rng: random.Random) -> list[int]:
    """Indices of up to ``n_select`` samples, half correct and half wrong where possible."""
    right = [i for i, ok in enumerate(correct) if ok]
    wrong = [i for i, ok in enumerate(correct) if not ok]
    rng.shuffle(right)
    rng.shuffle(wrong)
    n_right = min(len(right), max(n_select // 2, n_select - len(wrong)))
    n_wrong = min(len(wrong), n_select - n_right)
    return sorted(right[:n_right] + wrong[:n_wrong])


def run(ctx: StageContext) -> Manifest:
    recipe, cfg = ctx.recipe, ctx.recipe.rollout
    fp = fingerprint(STAGE, {"rollout": cfg, "template": recipe.template, "seed": recipe.seed,
                             "benchmark": recipe.train_benchmark, "data": recipe.train_data,
                             "format": 2},
                     [ctx.reference_fingerprint])
    directory = ctx.dir(STAGE)
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(directory, fp)
    done = log.open(keep=_counts)  # the summary's numbers, not the samples
    problems = ctx.problems()
    pending = [p for p in problems if p.id not in done]
    by_key = {}

    def jobs() -> Iterator[Job]:
        for chunk in chunked(pending, cfg.chunk_size):
            prompts = format_prompts(ctx, [p.question for p in chunk])
            by_key[chunk[0].id] = (chunk, prompts, prompt_token_ids(ctx, prompts))
            yield sampling_job(ctx, prompts, n=cfg.n_samples, temperature=cfg.temperature,
                               top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens,
                               seed_keys=[f"rollout:{p.id}" for p in chunk],
                               key=chunk[0].id, problems=chunk)

    pool = ctx.pool()
    with log.appender() as out, stage_progress(ctx, "rollouts", len(problems),
                                               len(problems) - len(pending),
                                               unit="problems") as advance:
        for result in pool.run(jobs()):
            chunk, prompts, prompt_ids = by_key.pop(result.key)
            for j, problem in enumerate(chunk):
                record = _record(problem, prompts[j], prompt_ids[j], result.completions[j],
                                 result.grades[j], cfg.n_select, recipe.seed)
                out.write(record)
                done[problem.id] = _counts(record)
            advance(len(chunk))
    samples, correct, selected, selected_correct = (sum(c) for c in zip(*done.values(),
                                                                         strict=True)) \
        if done else (0, 0, 0, 0)
    summary = {"problems": len(done), "samples": samples,
               "sample_accuracy": correct / max(samples, 1),
               "selected": selected, "selected_correct": selected_correct}
    return log.finish(STAGE, summary, order=[p.id for p in problems],
                      distributed=pool.describe())


def _counts(record: dict[str, Any]) -> tuple[int, int, int, int]:
    """Samples, correct samples, kept samples, correct kept samples of one problem."""
    samples = record["samples"]
    return (len(samples), sum(s["correct"] for s in samples), len(record["selected"]),
            sum(samples[i]["correct"] for i in record["selected"]))


def _record(problem: Problem, prompt: str, prompt_ids: list[int], completions: list[Completion],
            grades: list[Any], n_select: int, seed: int) -> dict[str, Any]:
    """The problem's samples and the kept ones; kept samples keep their token ids (the states
    stage cuts them into steps), the others only their text."""
    correct = [g.correct for g in grades]
    selected = select_balanced(correct, n_select, random.Random(f"{seed}:{problem.id}"))
    samples = [{"text": c.text, "correct": ok} for c, ok in zip(completions, correct, strict=True)]
    for i in selected:
        samples[i]["token_ids"] = list(completions[i].token_ids)
    return {"id": problem.id, "prompt": prompt, "prompt_ids": prompt_ids, "samples": samples,
            "selected": selected}
