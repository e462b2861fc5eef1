"""`dapo-bench reproduce`: one recipe from base model to delta table.

base model -> every DAPO iteration (every pipeline stage) plus the experiment's labelled
advantage variants of iteration 1 -> evaluation of the base and each trained model on the
recipe's benchmarks, in each of the experiment's modes -> the paper's table layout and a report
whose deltas carry 95% confidence intervals and exact paired p-values. Every step is cached:
the same command after an interruption redoes nothing finished, and a finished reproduction
run again rewrites no stage item and no result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.experiments.baselines import Job, Spec
from dapo_bench.experiments.registry import Experiment
from dapo_bench.experiments.report import experiment_report
from dapo_bench.generation import engines
from dapo_bench.jsonio import atomic_write_json, atomic_write_text
from dapo_bench.pipeline.chain import run_all
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import RunDir
from dapo_bench.report.curves import record_results_dir
from dapo_bench.report.results import ResultsStore, variant_name
from dapo_bench.report.tracking import Tracker, open_tracker, require_trackers


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


@dataclass(frozen=True)
class TrainedModel:
    name: str  # store name: NAME, NAME+dapo, NAME+dapo-iter2, NAME+<method>[-<sweep>][-seed<k>]
    path: str
    fingerprint: str | None  # the policy stage's fingerprint (None: the base checkpoint)
    label: str  # what provenance records: the recipe's base model, or a run-relative path


def base_name(recipe: Recipe) -> str:
    """The base model's name in the store: the paper's name for catalogue models."""
    if recipe.model:
        from dapo_bench.models import get_model

        return get_model(recipe.model).paper_name
    return recipe.name


def trained_models(run: RunDir, recipe: Recipe, variants: list[str]) -> list[TrainedModel]:
    base = base_name(recipe)
    models = [TrainedModel(base, StageContext(run, recipe, 1).reference_model, None,
                           recipe.require_base_model())]
    stages = [(it, "policy", variant_name(base, it)) for it in range(1, recipe.iterations + 1)]
    stages += [(1, f"policy-{v}", variant_name(base, 1, v)) for v in variants]
    for it, stage, name in stages:
        manifest = run.require(it, stage)
        models.append(TrainedModel(name, str(run.stage_dir(it, stage) / "model"),
                                   manifest.fingerprint, f"<run>/iter{it}/{stage}/model"))
    return models


class _LazyGenerator:
    """Loads its generator on first use, so a model whose results are all stored starts no
    engine, and the evaluation modes of one model share one engine."""

    def __init__(self, factory: Callable[[], Any], release: Callable[[Any], None]) -> None:
        self._factory, self._release, self._generator = factory, release, None

    def __getattr__(self, name: str) -> Any:
        if self._generator is None:
            self._generator = self._factory()
        return getattr(self._generator, name)

    def close(self) -> None:
        """Hand the engine on to the next model (which loads its weights into it)."""
        if self._generator is not None:
            self._release(self._generator)
            self._generator = None


def evaluate_models(experiment: Experiment, recipe: Recipe, models: list[TrainedModel],
                    results: Path, *, data_dir: Path | None, limit: int | None,
                    progress: bool, timer: Timer, say: Callable[[str], None]) -> None:
    from dapo_bench.commands.evaluate import rich_progress
    from dapo_bench.evaluate import EvalSettings, run_eval
    bar = rich_progress(progress)
    kwargs = {"tensor_parallel_size": recipe.tensor_parallel_size,
              "batch_size": recipe.hf_batch_size}

    on_ray = recipe.distributed.engine == "ray"
    workers: list[Any] = []  # the Ray workers' generator, shared by every model

    def engine(model: TrainedModel) -> Any:
        """Ray workers when the recipe says so (data-parallel evaluation), else the kept
        local engine; either way with this model's weights, loaded in place where the
        backend can."""
        if not on_ray:
            return engines.acquire(model.path, backend=recipe.backend, dtype=recipe.dtype,
                                   seed=recipe.seed, **kwargs)
        if not workers:
            from dapo_bench.generation.workers import PoolGenerator, WorkerSpec, open_pool

            spec = WorkerSpec(model=model.path, backend=recipe.backend, dtype=recipe.dtype,
                              seed=recipe.seed, generator_kwargs=kwargs)
            workers.append(PoolGenerator(open_pool(spec, recipe.distributed)))
        workers[0].switch(model.path)
        return workers[0]

    release = (lambda generator: None) if on_ray else engines.release
    try:
        for model in models:
            generator = _LazyGenerator(lambda m=model: engine(m), release)
            try:
                with timer(f"eval {model.name}"):
                    for mode in experiment.eval_modes:
                        settings = EvalSettings(
                            model=model.path, out=results, benchmarks=list(recipe.eval.benchmarks),
                            name=model.name, backend=recipe.backend,
                            template=recipe.eval.template or recipe.template,
                            max_new_tokens=recipe.eval.max_new_tokens, n=mode.n,
                            temperature=mode.temperature, seed=recipe.seed, dtype=recipe.dtype,
                            limit=limit, data_dir=data_dir, result_suffix=mode.suffix,
                            stop=tuple(recipe.eval.stop), model_label=model.label,
                            model_fingerprint=model.fingerprint, recipe=recipe.name,
                            skip_finished=True, progress=progress, generator=generator)
                        run_eval(settings, say=say, progress=bar)
            finally:
                generator.close()
    finally:
        for shared in workers:
            shared.close()


def default_spec(experiment: Experiment, recipe: Recipe, smoke: bool = False) -> Spec:
    """What the experiment declares: its methods (DAPO and its labelled variants by default),
    sweeps and seeds (the smoke ones under ``smoke``)."""
    from dapo_bench.experiments.baselines import make_spec, parse_sweeps

    sweeps = experiment.smoke_sweeps if smoke and experiment.smoke_sweeps is not None \
        else experiment.sweeps
    seeds = experiment.smoke_seeds if smoke and experiment.smoke_seeds is not None \
        else experiment.seeds
    return make_spec(experiment.method_names,
                     parse_sweeps([f"{k}={v}" for k, v in sweeps.items()], recipe), seeds)


def job_model(job: Job, run_dir: Path, base: str) -> TrainedModel:
    """The model a baseline job trained, named by the naming rule."""
    ctx = job.context(progress=False)
    where = job.root.relative_to(run_dir)
    prefix = "<run>" if str(where) == "." else f"<run>/{where.as_posix()}"
    stage = ctx._name("policy")
    return TrainedModel(job.store_name(base), str(ctx.dir("policy") / "model"),
                        ctx.require("policy").fingerprint, f"{prefix}/iter1/{stage}/model")


def reproduce(experiment: Experiment, recipe: Recipe, run_dir: Path, results_dir: Path, *,
              data_dir: Path | None = None, eval_limit: int | None = None,
              progress: bool = True, say: Callable[[str], None] = print,
              spec: Spec | None = None) -> dict[str, Any]:
    """Train, evaluate and report one recipe; return the report (markdown and summary).

    The report goes to ``report.md`` and ``summary.json`` in the results root (with the
    model's alias in the names when the experiment has several models)."""
    recipe.require_base_model()  # one clear line before anything slow
    require_trackers(recipe)
    run = RunDir(run_dir)
    run.bind_recipe(recipe)
    tracker = open_tracker(recipe, run_dir)
    try:
        return _reproduce(experiment, recipe, run, results_dir, data_dir=data_dir,
                          eval_limit=eval_limit, progress=progress, say=say, tracker=tracker,
                          spec=spec)
    finally:
        tracker.close()


def _reproduce(experiment: Experiment, recipe: Recipe, run: RunDir, results_dir: Path, *,
               data_dir: Path | None, eval_limit: int | None, progress: bool,
               say: Callable[[str], None], tracker: Tracker, spec: Spec | None
               ) -> dict[str, Any]:
    run_dir = run.root
    timer = Timer()
    engines.stats.update(started=0, reloaded=0, reused=0)  # this recipe's, in its summary
    hook = experiment.validation(recipe, data_dir) if experiment.validation else None
    with timer("dapo (all iterations)"):
        run_all(recipe, run.root, progress=progress, step_hook=hook, tracker=tracker)
    from dapo_bench.experiments.baselines import plan_jobs, run_jobs

    spec = spec or default_spec(experiment, recipe)
    jobs = plan_jobs(run_dir, recipe, spec)
    run_jobs(jobs, run_dir, progress=progress, hook=hook, timer=timer, base=base_name(recipe),
             tracker=tracker)

    # The report's advantage variants: the DAPO family's first seeds (NAME+dapo-<variant>).
    variants = [j.variant for j in jobs if j.sweep is None and not j.seed and j.variant
                and j.method.store_tag == f"dapo-{j.variant}"]
    models = trained_models(run, recipe, variants)
    known = {m.name for m in models}
    for job in jobs:
        model = job_model(job, run_dir, base_name(recipe))
        if model.name not in known:
            models.append(model)
            known.add(model.name)
    limit = eval_limit if eval_limit is not None else recipe.eval.limit
    evaluate_models(experiment, recipe, models, results_dir, data_dir=data_dir, limit=limit,
                    progress=progress, timer=timer, say=say)
    engines.close_kept()
    store = ResultsStore(results_dir)
    for model in models:  # eval accuracies, as the results store holds them
        for bench in recipe.eval.benchmarks:
            for mode in experiment.eval_modes:
                if store.exists(model.name, bench + mode.suffix):
                    tracker.scalar(f"eval/{model.name}/{bench}{mode.suffix}",
                                   store.read(model.name, bench + mode.suffix).value, 0)
    tracker.flush()

    benches = {(f"{b} {m.label}" if len(experiment.eval_modes) > 1 else b): f"{b}{m.suffix}"
               for b in recipe.eval.benchmarks for m in experiment.eval_modes}
    title = (experiment.title or f"{experiment.name} / {recipe.name}") + (
        f" (evaluated on the first {limit} problems)" if limit else "")
    labels = {v: experiment.variant_labels.get(v, f"{v} advantages") for v in variants}
    report = experiment_report(store, run, title, base_name(recipe), recipe.iterations,
                               labels, benches, timer.seconds)
    report["summary"]["engines"] = dict(engines.stats)  # started, reloaded in place, reused
    if experiment.table is not None:
        from dapo_bench.report.tables import build_table, render

        built = build_table(experiment.table, store, with_paper=True)
        report["table"] = render(built, "md")
        atomic_write_text(results_dir / f"{experiment.table}.md", report["table"])
    curves = {("iteration 1" if stage == "policy" else stage.removeprefix("policy-")) if it == 1
              else f"iteration {it}": run.stage_dir(it, stage) / "curve.jsonl"
              for it in range(1, recipe.iterations + 1)
              for stage in ["policy", *(f"policy-{v}" for v in variants if it == 1)]}
    curves = {label: path for label, path in curves.items() if path.is_file()}
    if curves:
        from dapo_bench.report.plots import plot_training_curves

        plot_training_curves(curves, results_dir / "training_curve.png")
    tag = f"-{recipe.model}" if len(experiment.models) > 1 and recipe.model else ""
    if not spec.is_plain(experiment.method_names):
        from dapo_bench.report.baselines import write_baselines_report

        report["baselines"] = write_baselines_report(
            store, results_dir, base_name(recipe), jobs, benches, title, tag)
        report["markdown"] += "\n" + report["baselines"]["markdown"]
    atomic_write_text(results_dir / f"report{tag}.md", report["markdown"])
    record_results_dir(run, results_dir, tag)
    atomic_write_json(results_dir / f"summary{tag}.json", report["summary"])
    return report
