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
from dapo_bench.report.figures import Figures, summary_figures
from dapo_bench.report.tracking import Tracker, open_tracker, require_trackers

STAGE_FUNCTIONS: dict[str, Callable[[StageContext], Manifest]] = {
    "rollouts": rollouts.run, "states": states.run, "mc": mc.run, "critic": critic.run,
    "advantages": advantages.run, "ref_logps": ref_logps.run, "policy": policy.run,
}
console = Console(stderr=True)
TIMINGS = "timings.jsonl"  # wall seconds of every stage call, skipped ones included


TRAINER_STAGES = ("critic", "policy")  # run on every rank under `accelerate launch`


def run_stage(ctx: StageContext, stage: str, step_hook: policy.StepHook | None = None
              ) -> Manifest:
    """One DAPO stage (see :func:`execute_stage`)."""
    if stage not in STAGE_FUNCTIONS:
        raise UserInputError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")

    def call() -> Manifest:
        if stage == "policy":
            return policy.run(ctx, step_hook=step_hook)
        return STAGE_FUNCTIONS[stage](ctx)

    return execute_stage(ctx, stage, call, trainer=stage in TRAINER_STAGES)


def execute_stage(ctx: StageContext, stage: str, call: Callable[[], Manifest], *,
                  trainer: bool) -> Manifest:
    """Run ``call`` (the stage ``stage`` of ``ctx``). Under a launcher, trainer stages run on
    every rank; the others on the main process while the other ranks wait, then read its
    manifest. The main process times it, sends the figures of a stage that ran (not one that
    was skipped) to the tracker, and prints its summary."""
    started = time.perf_counter()
    before = ctx.manifest(stage) if launch.is_main() else None
    manifest = call() if trainer or launch.is_main() else None
    launch.wait()
    if not launch.is_main():
        return manifest if manifest is not None else ctx.require(stage)
    assert manifest is not None
    with (ctx.run.root / TIMINGS).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"iteration": ctx.iteration, "stage": stage, "variant": ctx.variant,
                              "seconds": round(time.perf_counter() - started, 2)}) + "\n")
    if ctx.tracker is not None and (before is None or before.fingerprint != manifest.fingerprint):
        log_figures(ctx.tracker, summary_figures(ctx.figure_prefix(stage), manifest,
                                                 ctx.dir(stage)))
    label = f"iter {ctx.iteration} {stage}" + (f" ({ctx.variant})" if ctx.variant else "")
    console.print(f"[green]done[/] {escape(label)}: {escape(str(manifest.summary))}",
                  highlight=False)
    return manifest


def log_figures(tracker: Tracker, figures: Figures) -> None:
    """Send figures to a tracker and flush, so that they show while the run goes on."""
    for name, points in figures.scalars.items():
        for step, value in points:
            tracker.scalar(name, value, step)
    for name, values in figures.histograms.items():
        tracker.histogram(name, values, 0)
    tracker.flush()


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
            step_hook: policy.StepHook | None = None, tracker: Tracker | None = None
            ) -> RunDir:
    """Every stage of every iteration of ``recipe`` in ``run_dir``; finished stages are
    skipped, interrupted ones resume. Figures go to ``tracker`` (default: the recipe's
    trackers, opened and closed here)."""
    require_trackers(recipe)  # a missing tracker package: one line before anything starts
    run = RunDir(run_dir)
    run.bind_recipe(recipe)
    own = tracker is None
    active = open_tracker(recipe, run_dir) if tracker is None else tracker
    try:
        for iteration in range(1, recipe.iterations + 1):
            run_iteration(StageContext(run, recipe, iteration, progress=progress,
                                       tracker=active), step_hook=step_hook)
    finally:
        if own:
            active.close()
    return run
