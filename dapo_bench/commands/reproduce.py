"""`dapo-bench reproduce`: a paper table end to end, from base model to delta table."""

from __future__ import annotations

from pathlib import Path

import click

REPO_RECIPES = Path(__file__).resolve().parents[2] / "recipes"
SMOKE_EVAL_LIMIT = 50


@click.command("reproduce")
@click.argument("target", type=click.Choice(["toy"]))
@click.option("--smoke", is_flag=True, help="The small smoke configuration (CI), not the full "
              "toy run.")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), default=None,
              help="Recipe YAML (default: recipes/toy.yaml or recipes/toy-smoke.yaml).")
@click.option("--run", "run_dir", type=click.Path(path_type=Path), default=None,
              help="Run directory (default: runs/toy or runs/toy-smoke).")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="Results root to write (default: <run>/results).")
@click.option("--eval-limit", type=int, default=None,
              help="Evaluate on the first N test problems (default: all 1,000; smoke: 50).")
@click.option("--k", "sample_k", type=int, default=4, show_default=True,
              help="Samples per problem for the sampled (T=1) accuracy.")
@click.option("--backend", type=click.Choice(["auto", "vllm", "hf"]), default=None,
              help="Generation backend (default: the recipe's).")
@click.option("--no-progress", is_flag=True)
def command(target: str, smoke: bool, recipe_file: Path | None, run_dir: Path | None,
            results_dir: Path | None, eval_limit: int | None, sample_k: int,
            backend: str | None, no_progress: bool) -> None:
    """Reproduce TARGET: `toy` runs base -> DAPO iteration 1 -> iteration 2 on a synthetic
    arithmetic task on the CPU, evaluates every model and writes delta tables and a plot."""
    from rich.console import Console

    from dapo_bench.config import load_recipe
    from dapo_bench.errors import UserInputError
    from dapo_bench.toy.reproduce import reproduce_toy

    name = "toy-smoke" if smoke else "toy"
    if recipe_file is None:
        recipe_file = REPO_RECIPES / f"{name}.yaml"
        if not recipe_file.is_file():
            raise UserInputError(f"{recipe_file} not found (an installed package without the "
                                 "repository's recipes/): pass --recipe FILE")
    overrides = {"backend": backend} if backend else {}
    recipe = load_recipe(recipe_file, overrides)
    run_dir = run_dir or Path("runs") / name
    results_dir = results_dir or run_dir / "results"
    if eval_limit is None and smoke:
        eval_limit = SMOKE_EVAL_LIMIT
    report = reproduce_toy(recipe, run_dir, results_dir, eval_limit=eval_limit,
                           sample_k=sample_k, val_limit=200,
                           progress=not no_progress)
    Console().print(report["markdown"], markup=False, highlight=False)
    Console().print(f"results: {results_dir} (report.md, summary.json, training_curve.png)")
