"""`dapo-bench reproduce toy`: Tables 1 and 3 of the paper in miniature, on a CPU.

base model -> DAPO iteration 1 -> iteration 2 (every pipeline stage) plus two labelled
variants of iteration 1 (Monte-Carlo advantages; advantages shuffled within states, a control)
-> greedy and sampled evaluation on the held-out test split -> delta tables with paired tests
and confidence intervals -> a plot of validation accuracy over policy training steps.
Every step is cached: rerunning the command after an interruption redoes nothing finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from dapo_bench.config import Recipe
from dapo_bench.data.registry import load_benchmark
from dapo_bench.jsonio import atomic_write_json, atomic_write_text
from dapo_bench.pipeline import advantages, policy, ref_logps
from dapo_bench.pipeline.chain import run_all, run_stage
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import RunDir
from dapo_bench.report.plots import plot_training_curves
from dapo_bench.report.results import ResultsStore, variant_name
from dapo_bench.toy.evaluation import GREEDY, evaluate_model, sampled, validation_hook
from dapo_bench.toy.report import toy_report

console = Console(stderr=True)
BASE_NAME = "toy-base"
TEST_BENCHMARK = "toy_arith"
VAL_BENCHMARK = "toy_arith_val"
# Labelled variants of iteration 1: name -> advantage source.
VARIANTS = {"mc": "mc", "shuffled": "shuffled"}


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] = round(time.perf_counter() - start, 1)


def model_paths(run: RunDir, recipe: Recipe, base_path: str) -> dict[str, str]:
    paths = {BASE_NAME: base_path}
    for it in range(1, recipe.iterations + 1):
        paths[variant_name(BASE_NAME, it)] = str(run.stage_dir(it, "policy") / "model")
    for name in VARIANTS:
        paths[variant_name(BASE_NAME, 1, name)] = str(run.stage_dir(1, f"policy-{name}") / "model")
    return paths


def reproduce_toy(recipe: Recipe, run_dir: Path, results_dir: Path, *, eval_limit: int | None,
                  sample_k: int, val_limit: int, progress: bool = True) -> dict[str, Any]:
    timer = Timer()
    run = RunDir(run_dir)
    run.bind_recipe(recipe)
    val = load_benchmark(VAL_BENCHMARK, limit=val_limit)
    hook = validation_hook(VAL_BENCHMARK, val, recipe.eval.max_new_tokens, recipe.seed)

    with timer("dapo (all iterations)"):
        run_all(recipe, run_dir, progress=progress, step_hook=hook)
    for name, source in VARIANTS.items():
        variant = recipe.model_copy(update={"advantages": recipe.advantages.model_copy(
            update={"source": source})})
        ctx = StageContext(run, variant, 1, progress=progress, variant=name)
        with timer(f"variant {name}"):
            for stage in (advantages.STAGE, ref_logps.STAGE, policy.STAGE):
                run_stage(ctx, stage, hook)

    store = ResultsStore(results_dir)
    test = load_benchmark(TEST_BENCHMARK, limit=eval_limit)
    base_path = StageContext(run, recipe, 1).reference_model
    for name, path in model_paths(run, recipe, base_path).items():
        with timer(f"eval {name}"):
            evaluate_model(store, name, path, TEST_BENCHMARK, test, [GREEDY, sampled(sample_k)],
                           backend=recipe.backend, max_new_tokens=recipe.eval.max_new_tokens,
                           seed=recipe.seed, model_fingerprint=_fingerprint(run, name, path),
                           model_label=_label(run, recipe, path))

    curves = {"paper critic": run.stage_dir(1, "policy") / "curve.jsonl",
              **{f"{n} advantages" if n == "mc" else n: run.stage_dir(1, f"policy-{n}") /
                 "curve.jsonl" for n in VARIANTS},
              "iteration 2": run.stage_dir(2, "policy") / "curve.jsonl"}
    plot_training_curves(curves, results_dir / "training_curve.png")
    report = toy_report(store, run, recipe, BASE_NAME, TEST_BENCHMARK, sample_k, timer.seconds)
    atomic_write_text(results_dir / "report.md", report["markdown"])
    atomic_write_json(results_dir / "summary.json", report["summary"])
    return report


def _label(run: RunDir, recipe: Recipe, path: str) -> str:
    """The base model's recipe name, or a path inside the run ("<run>/iter1/policy/model")."""
    try:
        return "<run>/" + Path(path).resolve().relative_to(run.root.resolve()).as_posix()
    except ValueError:
        return recipe.base_model


def _fingerprint(run: RunDir, name: str, path: str) -> str:
    manifest = Path(path).parent / "manifest.json"
    if manifest.is_file():
        return json.loads(manifest.read_text())["fingerprint"]
    return f"{name}:{path}"

