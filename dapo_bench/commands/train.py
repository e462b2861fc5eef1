"""`dapo-bench train`: run one DAPO stage, or the whole chain of a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from dapo_bench.pipeline.runner import STAGES

if TYPE_CHECKING:
    from dapo_bench.config import Recipe


@click.command("train")
@click.argument("stage", type=click.Choice([*STAGES, "all"]))
@click.option("--run", "run_dir", type=click.Path(path_type=Path), required=True,
              help="Run directory: artifacts of every stage live here.")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), default=None,
              help="Recipe YAML (required to start a run; later read from the run dir).")
@click.option("--iteration", type=int, default=1, show_default=True,
              help="DAPO iteration of the stage (with a single STAGE).")
@click.option("--variant", default="", help="Advantage variant name for stages from "
              "advantages on (with --set advantages.source=...).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe field, e.g. --set policy.beta=0.02 (YAML value).")
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
def command(stage: str, run_dir: Path, recipe_file: Path | None, iteration: int, variant: str,
            overrides: tuple[str, ...], no_progress: bool) -> None:
    """Run STAGE of a DAPO run (or `all` stages of every iteration); resumable. The run
    directory is locked while it runs: a second writer is refused with the holder named."""
    import yaml

    from dapo_bench.config import load_recipe
    from dapo_bench.errors import UserInputError
    from dapo_bench.pipeline.chain import run_all, run_stage
    from dapo_bench.pipeline.context import StageContext
    from dapo_bench.pipeline.runlock import hold
    from dapo_bench.pipeline.runner import RunDir
    from dapo_bench.report.tracking import open_tracker, require_trackers

    parsed = {}
    for item in overrides:
        if "=" not in item:
            raise UserInputError(f"--set takes KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        parsed[key] = yaml.safe_load(value)
    run = RunDir(run_dir)
    if recipe_file is not None:
        recipe = load_recipe(recipe_file, parsed)
    else:
        recipe = run.recipe()
        if parsed:
            raise UserInputError("--set needs --recipe (the run dir's recipe is fixed)")
    require_trackers(recipe)  # a tracker that is not installed: one line, nothing started
    _preflight(recipe, run_dir, stage)
    with hold([run_dir], say=lambda line: click.echo(line, err=True)):
        if stage == "all":
            run_all(recipe, run_dir, progress=not no_progress)
            return
        run.bind_recipe(recipe)
        tracker = open_tracker(recipe, run_dir)
        ctx = StageContext(run, recipe, iteration, progress=not no_progress, variant=variant,
                           tracker=tracker)
        try:
            run_stage(ctx, stage)
        finally:
            ctx.close()
            tracker.close()


def _preflight(recipe: Recipe, run_dir: Path, stage: str) -> None:
    """Stop before the first stage when the run cannot finish here: every rank stops, the
    main process says why. The training set is checked where rollouts read it."""
    from dapo_bench.experiments.plan import make_plan
    from dapo_bench.experiments.preflight import preflight, require_preflight
    from dapo_bench.pipeline.launch import is_main

    plan = make_plan("train", None, recipe, data_dir=None, eval_limit=None, variants=[])
    found = preflight(recipe, run_dir, plan=plan, train=stage in ("all", "rollouts"),
                      evaluate=False)
    if found and not is_main():
        raise SystemExit(2)
    require_preflight(found, f"train {stage}")
