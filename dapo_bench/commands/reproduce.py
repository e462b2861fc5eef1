"""`dapo-bench reproduce`: a paper table (or the toy) end to end, from base model to table."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("reproduce")
@click.argument("target")
@click.option("--model", "alias", default=None, metavar="ALIAS|all",
              help="Catalogue model (`all`: every model of the table). Default: the target's "
                   "only model, when it has one.")
@click.option("--plan", "plan_only", is_flag=True,
              help="Print and write <run>/plan.json: items, generations, tokens, disk and "
                   "GPU-hours per stage. Loads no model, downloads nothing.")
@click.option("--smoke", is_flag=True,
              help="Tiny sizes: every stage end to end in minutes on a CPU.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe field (dotted key, YAML value), e.g. --set "
                   "policy.beta=0.02 --set base_model=PATH. Repeatable.")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), default=None,
              help="Recipe YAML instead of the target's own (with one model only).")
@click.option("--run", "run_root", type=click.Path(path_type=Path), default=None,
              help="Run root: one run directory per model below it (default runs/TARGET, "
                   "runs/TARGET-smoke).")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="Results root (default: <run root>/results).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Data directory laid out like shared/data (training set and benchmarks); "
                   "default $DAPO_BENCH_DATA, else each benchmark's hub id.")
@click.option("--eval-limit", type=click.IntRange(min=1), default=None,
              help="Evaluate on the first N problems of each benchmark (smoke default: 5).")
@click.option("--paper", is_flag=True, help="Print the table with the paper's values beside "
              "ours (the table file always has them).")
@click.option("--gpus", type=click.IntRange(min=1), default=8, show_default=True,
              help="--plan: GPUs the wall-clock estimate divides by.")
@click.option("--tokens-per-second", type=click.FloatRange(min=0, min_open=True), default=None,
              help="--plan: generated tokens/s per GPU (default 8,000 for a 7B model on an "
                   "H100, scaled by model size).")
@click.option("--train-tokens-per-second", type=click.FloatRange(min=0, min_open=True),
              default=None, help="--plan: trained tokens/s per GPU (default 3,000 for 7B).")
@click.option("--calibrate", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="--plan: take the solution lengths, steps per solution and token sizes "
                   "from this finished run directory (e.g. a --smoke run of the same model) "
                   "instead of the stated assumptions.")
@click.option("--variants", "methods", default=None, metavar="M1,M2,...",
              help="Training methods of iteration 1: dapo, rft, outcome-dpo, "
                   "outcome-advantage, mc, shuffled (default: what the target declares).")
@click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2,...",
              help="Train DAPO at each value of a recipe field, e.g. policy.beta=0.01,0.05; "
                   "reruns the stage reading it and what follows. Repeatable (one key at a "
                   "time, not a grid).")
@click.option("--seeds", type=int, default=None, metavar="N",
              help="Training seeds of every method and sweep point (default: the target's).")
@click.option("--backend", type=click.Choice(["auto", "vllm", "hf"]), default=None,
              help="Generation backend (same as --set backend=...).")
@click.option("--verbose", is_flag=True, help="Show vLLM's own log on the terminal too (it "
              "always goes to <run>/vllm.log).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def command(target: str, alias: str | None, plan_only: bool, smoke: bool,
            overrides: tuple[str, ...], recipe_file: Path | None, run_root: Path | None,
            results_dir: Path | None, data_dir: Path | None, eval_limit: int | None,
            paper: bool, gpus: int, tokens_per_second: float | None,
            train_tokens_per_second: float | None, calibrate: Path | None,
            methods: str | None, sweeps: tuple[str, ...], seeds: int | None,
            backend: str | None, verbose: bool,
            no_progress: bool) -> None:
    """Reproduce TARGET (table1, table2, table3, toy) for one model or all of them: train
    every DAPO iteration, evaluate the base and each iteration, render the table and a report
    with confidence intervals. Resumable: the same command after an interruption redoes
    nothing finished. Each model's run directory (RUN/ALIAS) is locked while it runs; --plan
    takes no lock."""
    import contextlib

    from rich.console import Console

    from dapo_bench.config import load_recipe, parse_overrides
    from dapo_bench.errors import UserInputError
    from dapo_bench.experiments.registry import get_experiment
    from dapo_bench.jsonio import atomic_write_json
    from dapo_bench.pipeline.runlock import hold

    out, err = Console(), Console(stderr=True)
    experiment = get_experiment(target)
    if alias is None:
        if len(experiment.models) != 1:
            raise UserInputError(f"{target} has a row per model: pass --model with one of "
                                 f"{', '.join(experiment.models)}, or --model all")
        alias = experiment.models[0]
    aliases = list(experiment.models) if alias == "all" else [alias]
    for a in aliases:
        if a not in experiment.models:
            raise UserInputError(f"{target} has no row for model {a!r}; its models: "
                                 f"{', '.join(experiment.models)}")
    if recipe_file is not None and len(aliases) > 1:
        raise UserInputError("--recipe takes one model; pass --model ALIAS")
    user_sets = parse_overrides(overrides)
    if backend:
        user_sets["backend"] = backend
    if smoke and experiment.smoke_overrides is not None:
        user_sets = {**experiment.smoke_overrides, **user_sets}
    name = f"{target}-smoke" if smoke else target
    run_root = run_root or Path("runs") / name
    results_dir = results_dir or run_root / "results"
    limit = eval_limit if eval_limit is not None else (
        experiment.smoke_eval_limit if smoke else None)
    if data_dir is not None:
        import os

        from dapo_bench.data.registry import DATA_DIR_ENV

        os.environ[DATA_DIR_ENV] = str(data_dir)  # the training stages read it too

    from dapo_bench.experiments.plan import make_plan, measured_assumptions, render_plan
    from dapo_bench.experiments.preflight import preflight, render_findings, require_preflight

    recipes = {a: load_recipe(recipe_file or experiment.recipe_path(a, smoke), user_sets)
               for a in aliases}
    if not plan_only:
        for recipe in recipes.values():
            recipe.require_base_model()  # one clear line before anything starts
    from dapo_bench.experiments.baselines import make_spec, parse_methods, parse_sweeps
    from dapo_bench.experiments.reproduce import default_spec

    specs = {}
    for a, recipe in recipes.items():
        declared = default_spec(experiment, recipe, smoke)
        specs[a] = make_spec(parse_methods(methods, declared.methods),
                             parse_sweeps(sweeps, recipe) if sweeps else declared.sweeps,
                             seeds if seeds is not None else declared.seeds)
    plans, found = {}, {}
    for a, recipe in recipes.items():
        measured = measured_assumptions(calibrate, recipe) if calibrate and plan_only else None
        plans[a] = make_plan(target, a, recipe, data_dir=data_dir, eval_limit=limit,
                             variants=list(experiment.variants),
                             eval_modes=len(experiment.eval_modes), gpus=gpus,
                             tokens_per_second=tokens_per_second,
                             train_tokens_per_second=train_tokens_per_second,
                             assumptions=measured, baselines=specs[a])
        found[a] = preflight(recipe, run_root / a, data_dir=data_dir, plan=plans[a])
        plans[a]["preflight"] = [str(f) for f in found[a]]
    if not plan_only:
        # Every model's problems before any model's first stage. Under `accelerate launch`
        # every rank stops; the main process says why.
        from dapo_bench.pipeline.launch import is_main

        lines = [f"{a}: {f}" if len(aliases) > 1 else str(f)
                 for a in aliases for f in found[a]]
        if lines and not is_main():
            raise SystemExit(2)
        require_preflight(lines, target)

    # One lock per model run directory, all taken before the first model starts: a second
    # writer of any of them is refused at once, and `train --run RUN/ALIAS` takes the same one.
    locks = contextlib.nullcontext() if plan_only else hold(
        [run_root / a for a in aliases],
        say=lambda line: err.print(line, highlight=False, markup=False, soft_wrap=True))
    with locks:
        for a, recipe in recipes.items():
            run_dir = run_root / a
            if plan_only:
                atomic_write_json(run_dir / "plan.json", plans[a])
                click.echo(render_plan(plans[a]), nl=False)
                click.echo(render_findings(found[a]), nl=False)
                out.print(f"written: {run_dir / 'plan.json'}", highlight=False)
                continue
            from dapo_bench.experiments.reproduce import reproduce
            from dapo_bench.generation.vllm_backend import log_to_file

            log_to_file(run_dir / "vllm.log", echo=verbose)

            def say(line: str) -> None:
                err.print(line, highlight=False, markup=False, soft_wrap=True)

            report = reproduce(experiment, recipe, run_dir, results_dir, data_dir=data_dir,
                               eval_limit=limit, progress=not no_progress, say=say,
                               spec=specs[a])
            click.echo(report["markdown"])
            if experiment.table is not None:
                from dapo_bench.report.results import ResultsStore
                from dapo_bench.report.tables import build_table, render

                table = render(build_table(experiment.table, ResultsStore(results_dir),
                                           with_paper=paper), "md")
                click.echo(table)
            tag = f"-{a}" if len(experiment.models) > 1 else ""
            out.print(f"results: {results_dir} (report{tag}.md, summary{tag}.json"
                      + (f", {experiment.table}.md" if experiment.table else "") + f"); vLLM log: "
                      f"{run_dir / 'vllm.log'}", highlight=False)
