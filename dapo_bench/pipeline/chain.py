"""Run DAPO stages in order, one iteration after another."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from dapo_bench.config import Recipe
from dapo_bench.errors import UserInputError
from dapo_bench.generation import engines
from dapo_bench.pipeline import (
    advantages,
    critic,
    launch,
    mc,
    policy,
    ref_logps,
    rollouts,
    states,
)
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import STAGES, Manifest, RunDir

STAGE_FUNCTIONS: dict[str, Callable[[StageContext], Manifest]] = {
    "rollouts": rollouts.run, "states": states.run, "mc": mc.run, "critic": critic.run,
    "advantages": advantages.run, "ref_logps": ref_logps.run, "policy": policy.run,
}
console = Console(stderr=True)
TIMINGS = "timings.jsonl"  # wall seconds of every stage call, skipped ones included


TRAINER_STAGES = ("critic", "policy")  # run on every rank under `accelerate launch`


def run_stage(ctx: StageContext, stage: str, step_hook: policy.StepHook | None = None
              ) -> Manifest:
    """One stage. Under a launcher, trainer stages run on every rank; the others on the main
    process while the other ranks wait, then read its manifest."""
    if stage not in STAGE_FUNCTIONS:
        raise UserInputError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    started = time.perf_counter()
    if stage in TRAINER_STAGES or launch.is_main():
        manifest = policy.run(ctx, step_hook=step_hook) if stage == "policy" else \
            STAGE_FUNCTIONS[stage](ctx)
    launch.wait()
    if not launch.is_main():
        return manifest if stage in TRAINER_STAGES else ctx.require(stage)
    with (ctx.run.root / TIMINGS).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"iteration": ctx.iteration, "stage": stage, "variant": ctx.variant,
                              "seconds": round(time.perf_counter() - started, 2)}) + "\n")
    label = f"iter {ctx.iteration} {stage}" + (f" ({ctx.variant})" if ctx.variant else "")
    console.print(f"[green]done[/] {escape(label)}: {escape(str(manifest.summary))}",
                  highlight=False)
    return manifest


def run_iteration(ctx: StageContext, stages: tuple[str, ...] = STAGES,
                  step_hook: policy.StepHook | None = None) -> None:
    try:
        for stage in stages:
            if stage == "advantages":  # the generator's memory goes back before training
                ctx.close()
                engines.free_device_memory()  # a kept CPU engine waits for the next stage
            run_stage(ctx, stage, step_hook)
    finally:
        ctx.close()


def run_all(recipe: Recipe, run_dir: str | Path, *, progress: bool = True,
            step_hook: policy.StepHook | None = None) -> RunDir:
    """Every stage of every iteration of ``recipe`` in ``run_dir``; finished stages are
    skipped, interrupted ones resume."""
    run = RunDir(run_dir)
    run.bind_recipe(recipe)
    for iteration in range(1, recipe.iterations + 1):
        run_iteration(StageContext(run, recipe, iteration, progress=progress),
                      step_hook=step_hook)
    return run
