"""`reproduce --plan`: what a reproduction will cost, before any model is loaded.

Counts that follow from the recipe and the data (problems, rollouts, selected solutions,
completions per state) are exact. Counts that exist only once a stage has run (states, pairs)
are estimates and say so; without the training data present its size comes from the
benchmark's registered size, else it is ``None`` ("unknown"). Token figures are upper bounds
(every generation at its budget) beside an expected figure under stated assumptions, and
GPU-hours follow from a stated throughput.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.errors import UserInputError

#: Assumptions the estimates rest on (printed with the plan and stored in plan.json).
ASSUMPTIONS = {
    "steps_per_solution": 15,  # "\n"-separated steps of a kept solution (7B math models)
    "mean_length_fraction": 0.3,  # mean generated length / max_new_tokens
    "continuation_fraction": 0.5,  # a Monte-Carlo continuation completes half a solution
    "chars_per_token": 4.0,
    "bytes_per_token_id": 8.0,  # a token id written in a JSON list (6 digits and ", ")
    "prompt_tokens": 200,
    # JSON keys and punctuation of the item logs (measured on the smoke runs' logs)
    "record_overhead_bytes": 130,  # a rollout problem, a state
    "sample_overhead_bytes": 50,  # a rollout sample, a Monte-Carlo continuation's action
    # H100, bf16, a 7B model; scaled by 7 / parameters (billions) for other sizes.
    "h100_7b_generation_tokens_per_s": 8000.0,  # vLLM offline, large batches, per GPU
    "h100_7b_training_tokens_per_s": 3000.0,  # full fine-tuning, ZeRO-3, per GPU
}


def _count(benchmark: str, source: str | None, data_dir: Path | None, limit: int | None
           ) -> tuple[int | None, bool]:
    """(problems, exact): loaded when the data is here, else the registered size."""
    from dapo_bench.data.registry import get_benchmark, load_benchmark, resolve_source

    spec = get_benchmark(benchmark)
    try:
        where = resolve_source(spec, source, data_dir)
        if isinstance(where, Path) or where == "builtin":
            n = len(load_benchmark(benchmark, source, data_dir))
            return (min(n, limit) if limit else n), True
    except UserInputError:
        pass
    size = spec.expected_size
    if size is None:
        return (limit if limit else None), False
    return (min(size, limit) if limit else size), False


def _mul(*values: float | int | None) -> float | None:
    out = 1.0
    for v in values:
        if v is None:
            return None
        out *= v
    return out


def _int(value: float | None) -> int | None:
    return None if value is None else math.ceil(value)


def checkpoint_bytes(recipe: Recipe, spec: Any) -> float | None:
    """What a trained critic or policy occupies once its stage has finished (the resume
    checkpoints are removed then): the base checkpoint's weight files when they are here,
    else the catalogue's parameter count in bf16."""
    from dapo_bench.models import resolve_model

    try:
        local = Path(resolve_model(recipe.require_base_model()))
    except UserInputError:  # no base model named yet, or an unknown builtin: the catalogue's
        local = None
    if local is not None and local.is_dir():
        files = [*local.glob("*.safetensors"), *local.glob("*.bin")]
        if files:
            return float(sum(f.stat().st_size for f in files))
    return spec.params_b * 1e9 * 2 if spec is not None else None


def measured_assumptions(run: Path, recipe: Recipe) -> dict[str, float]:
    """The length assumptions as measured on a finished run's first iteration (a ``--smoke``
    run of the same model gives its real solution lengths, steps and tokenizer), on the kept
    samples, the ones logged with their token ids. The logs are read one item at a time: a
    full run's are GBs."""
    from dapo_bench.pipeline.runner import iter_items

    problems = samples = tokens = chars = id_bytes = selected = prompt_tokens = 0
    for item in iter_items(run / "iter1" / "rollouts"):
        problems += 1
        selected += len(item["selected"])
        prompt_tokens += len(item["prompt_ids"])
        for sample in item["samples"]:
            if "token_ids" not in sample:  # only kept samples keep their token ids
                continue
            samples += 1
            tokens += len(sample["token_ids"])
            id_bytes += sum(len(str(i)) + 2 for i in sample["token_ids"])
            chars += len(json.dumps(sample["text"])) - 2  # as logged: "\\n" is two characters
    states = sum(1 for _ in iter_items(run / "iter1" / "states"))
    if not samples or not states or not tokens:
        raise UserInputError(f"{run}: no finished rollouts and states to measure")
    return {**ASSUMPTIONS,
            "steps_per_solution": states / selected,
            "mean_length_fraction": tokens / samples / recipe.rollout.max_new_tokens,
            "chars_per_token": chars / tokens, "bytes_per_token_id": id_bytes / tokens,
            "prompt_tokens": prompt_tokens / problems}


def make_plan(table: str, alias: str | None, recipe: Recipe, *, data_dir: Path | None,
              eval_limit: int | None, variants: list[str], eval_modes: int = 1,
              gpus: int = 8, tokens_per_second: float | None = None,
              train_tokens_per_second: float | None = None,
              assumptions: dict[str, float] | None = None,
              baselines: Any = None) -> dict[str, Any]:
    """``baselines``: a ``dapo_bench.experiments.baselines.Spec`` whose extra methods, sweep
    points and seeds (iteration 1) are counted beside the main line and ``variants``."""
    from dapo_bench.models import get_model

    a = assumptions or ASSUMPTIONS
    spec = get_model(recipe.model) if recipe.model else None
    scale = 7.0 / spec.params_b if spec else 1.0
    gen_tps = tokens_per_second or a["h100_7b_generation_tokens_per_s"] * scale
    train_tps = train_tokens_per_second or a["h100_7b_training_tokens_per_s"] * scale
    problems, exact = _count(recipe.train_benchmark, recipe.train_data, data_dir,
                             recipe.rollout.limit_problems)
    r, mc = recipe.rollout, recipe.mc
    stages: list[dict[str, Any]] = []
    totals = {"generated_tokens_upper": 0.0, "generated_tokens_expected": 0.0,
              "trained_tokens_expected": 0.0, "disk_bytes_expected": 0.0}
    unknown = False

    def add(**row: Any) -> None:
        nonlocal unknown
        stages.append(row)
        for key in ("generated_tokens_upper", "generated_tokens_expected",
                    "trained_tokens_expected", "disk_bytes_expected"):
            value = row.get(key)
            if value is None and key in row:
                unknown = True
            elif value is not None:
                totals[key] += value

    solution_tokens = r.max_new_tokens * a["mean_length_fraction"]
    state_tokens = a["prompt_tokens"] + solution_tokens / 2  # the mean prefix of a state
    text_and_ids = a["chars_per_token"] + a["bytes_per_token_id"]  # a token, logged twice
    problem_bytes = a["record_overhead_bytes"] + a["prompt_tokens"] * text_and_ids
    sample_bytes = a["sample_overhead_bytes"] + solution_tokens * text_and_ids
    state_bytes = a["record_overhead_bytes"] + state_tokens * text_and_ids
    action_bytes = a["sample_overhead_bytes"] + solution_tokens / a["steps_per_solution"] * \
        a["chars_per_token"]
    model_bytes = checkpoint_bytes(recipe, spec)
    for it in range(1, recipe.iterations + 1):
        generations = _mul(problems, r.n_samples)
        selected = _mul(problems, min(r.n_select, r.n_samples))
        states = _mul(selected, a["steps_per_solution"])
        add(iteration=it, stage="rollouts", items=problems, items_exact=exact,
            generations=_int(generations), selected=_int(selected),
            max_new_tokens=r.max_new_tokens,
            generated_tokens_upper=_mul(generations, r.max_new_tokens),
            generated_tokens_expected=_mul(generations, solution_tokens),
            disk_bytes_expected=None if problems is None else
            problems * problem_bytes + generations * sample_bytes)
        add(iteration=it, stage="states", items=_int(selected), items_exact=exact,
            states_estimate=_int(states), disk_bytes_expected=_mul(states, state_bytes))
        completions = _mul(states, mc.n_completions)
        cont_tokens = mc.max_new_tokens * a["mean_length_fraction"] * a["continuation_fraction"]
        add(iteration=it, stage="mc", items=_int(states), items_exact=False,
            generations=_int(completions), n_completions=mc.n_completions,
            max_new_tokens=mc.max_new_tokens,
            generated_tokens_upper=_mul(completions, mc.max_new_tokens),
            generated_tokens_expected=_mul(completions, cont_tokens),
            disk_bytes_expected=_mul(states, state_bytes + mc.n_completions * action_bytes))
        critic_tokens = _mul(states, state_tokens, recipe.critic.epochs)
        add(iteration=it, stage="critic", items=_int(states), items_exact=False,
            optimizer_steps=_int(_mul(states, recipe.critic.epochs,
                                      1 / recipe.critic.batch_size)),
            trained_tokens_expected=critic_tokens, disk_bytes_expected=model_bytes)
        pairs_upper = _mul(states, mc.n_completions)
        add(iteration=it, stage="advantages", items=_int(states), items_exact=False,
            pairs_upper=_int(pairs_upper))
        for name in ["", *variants] if it == 1 else [""]:
            suffix = f"-{name}" if name else ""
            add(iteration=it, stage=f"ref_logps{suffix}", items="after adv.",
                items_exact=False, pairs_upper=_int(pairs_upper))
            add(iteration=it, stage=f"policy{suffix}", items="after adv.",
                items_exact=False, pairs_upper=_int(pairs_upper),
                trained_tokens_expected=_mul(states, state_tokens, recipe.policy.epochs),
                disk_bytes_expected=model_bytes)

    extra_models = 0
    if baselines is not None:
        extra_models = _baseline_rows(add, stages, recipe, baselines, variants, table, alias,
                                      data_dir=data_dir, eval_limit=eval_limit,
                                      assumptions=a)
    template = recipe.eval.template or recipe.template
    evals = []
    models_evaluated = 1 + recipe.iterations + len(variants) + extra_models
    eval_tokens_upper = eval_tokens = 0.0
    for b in recipe.eval.benchmarks:
        n, known = _count(b, None, data_dir, eval_limit or recipe.eval.limit)
        evals.append({"benchmark": b, "problems": n, "problems_exact": known,
                      "max_new_tokens": recipe.eval.max_new_tokens, "template": template})
        if n is None:
            unknown = True
            continue
        eval_tokens_upper += n * recipe.eval.max_new_tokens * models_evaluated * eval_modes
        eval_tokens += n * recipe.eval.max_new_tokens * a["mean_length_fraction"] * \
            models_evaluated * eval_modes
    totals["generated_tokens_upper"] += eval_tokens_upper
    totals["generated_tokens_expected"] += eval_tokens
    gpu_hours = (totals["generated_tokens_expected"] / gen_tps +
                 totals["trained_tokens_expected"] / train_tps) / 3600
    return {
        "table": table, "model": alias, "hub_id": spec.hub_id if spec else None,
        "base_model": recipe.base_model, "critic_init": recipe.critic.init,
        "iterations": recipe.iterations, "recipe": recipe.name,
        "train_benchmark": recipe.train_benchmark, "train_problems": problems,
        "train_problems_exact": exact, "variants": variants,
        "stages": stages, "eval": evals, "models_evaluated": models_evaluated,
        "totals": {**{k: _int(v) for k, v in totals.items()},
                   "eval_generated_tokens_upper": _int(eval_tokens_upper),
                   # while a trainer stage runs: its resume checkpoint (bf16 weights, fp32
                   # master weights and Adam's two moments: 7 times the model), removed when
                   # the stage finishes
                   "training_checkpoint_bytes_peak": _int(_mul(model_bytes, 7)),
                   "incomplete": unknown},
        "throughput": {"gpus": gpus, "generation_tokens_per_s_per_gpu": gen_tps,
                       "training_tokens_per_s_per_gpu": train_tps},
        "gpu_hours": round(gpu_hours, 1), "wall_hours": round(gpu_hours / gpus, 1),
        "assumptions": a,
    }


def _baseline_rows(add: Any, stages: list[dict[str, Any]], recipe: Recipe, spec: Any,
                   variants: list[str], table: str, alias: str | None, **kwargs: Any) -> int:
    """Rows for what ``spec`` trains beyond the main line and ``variants``; the number of
    extra models it evaluates."""
    from dapo_bench.experiments.baselines import first_stage, plan_jobs
    from dapo_bench.pipeline.runner import STAGES

    rows = {s["stage"]: s for s in stages if s["iteration"] == 1}
    counted: set[str] = set(rows)
    extra = 0
    sweep_plans: dict[str, dict[str, Any]] = {}
    for job in plan_jobs(Path("."), recipe, spec):
        if job.sweep is None and not job.seed and (job.method.name == "dapo"
                                                   or job.variant in variants):
            continue
        extra += 1
        point = f" [{job.sweep.key}={job.sweep.text}]" if job.sweep else ""
        source = rows
        if job.sweep is not None and job.recipe == recipe and not job.seed:
            continue  # the main line itself, evaluated under the point's name
        if job.sweep is not None and job.recipe != recipe:
            if point not in sweep_plans:
                sweep_plans[point] = make_plan(table, alias, job.recipe.model_copy(
                    update={"iterations": 1}), variants=[], **kwargs)
                first = STAGES.index(first_stage(job.sweep.key))
                for row in sweep_plans[point]["stages"]:  # run once for all its seeds
                    if row["stage"] != "policy" and STAGES.index(row["stage"]) >= first:
                        add(**{**row, "stage": row["stage"] + point})
            source = {r["stage"]: r for r in sweep_plans[point]["stages"]}
        for stage, _ in job.method.stages:
            if job.seed and stage not in job.method.seeded:
                continue
            if job.sweep is not None and stage != "policy":
                continue  # the point's own advantages and ref_logps are counted above
            name = f"{stage}-{job.variant}" if job.variant else stage
            if name + point in counted:
                continue
            counted.add(name + point)
            like = source.get(stage) or rows.get(stage) or {}
            add(**{**{k: v for k, v in like.items() if k not in ("stage",)}, "iteration": 1,
                   "stage": name + point})
    return extra


def render_plan(plan: dict[str, Any]) -> str:
    """The plan as text tables (rich renders them in the CLI)."""
    from rich.console import Console
    from rich.table import Table

    def n(value: Any) -> str:
        if value is None:
            return "unknown"
        return f"{value:,}" if isinstance(value, int | float) else str(value)

    def tokens(value: Any) -> str:
        return "unknown" if value is None else f"{value / 1e6:,.1f}M"

    console = Console(record=True, width=132)
    with console.capture() as cap:
        console.print(f"plan: {plan['table']} / {plan['model'] or plan['recipe']} - base "
                      f"{plan['base_model'] or 'NONE (pass --set base_model=PATH)'}, critic "
                      f"from {plan['critic_init'] or 'the reference policy'}, "
                      f"{plan['iterations']} iteration(s)", highlight=False)
        table = Table(title="stages (~: estimate; counts exact once the stage before has run)")
        for col in ("it", "stage", "items", "generations", "selected", "n_compl",
                    "max_new", "tokens (upper)", "tokens (exp.)", "trained tok.", "disk"):
            table.add_column(col, justify="left" if col in ("stage",) else "right")
        for s in plan["stages"]:
            is_states = s["stage"] == "states"
            approx = "" if s.get("items_exact") and not is_states else "~"
            items = s.get("states_estimate") if is_states else s.get("items")
            table.add_row(
                str(s["iteration"]), s["stage"],
                approx + n(items) if isinstance(items, int) else n(items),
                n(s.get("generations")) if "generations" in s else "",
                n(s.get("selected")) if "selected" in s else "",
                n(s.get("n_completions")) if "n_completions" in s else "",
                n(s.get("max_new_tokens")) if "max_new_tokens" in s else "",
                tokens(s["generated_tokens_upper"]) if "generated_tokens_upper" in s else "",
                "~" + tokens(s["generated_tokens_expected"])
                if "generated_tokens_expected" in s else "",
                "~" + tokens(s["trained_tokens_expected"])
                if "trained_tokens_expected" in s else "",
                "~" + _bytes(s["disk_bytes_expected"]) if "disk_bytes_expected" in s else "")
        console.print(table)
        ev = Table(title=f"evaluation ({plan['models_evaluated']} models)")
        for col in ("benchmark", "problems", "max_new_tokens", "template"):
            ev.add_column(col)
        for e in plan["eval"]:
            ev.add_row(e["benchmark"], n(e["problems"]), str(e["max_new_tokens"]),
                       e["template"])
        console.print(ev)
        t, tp = plan["totals"], plan["throughput"]
        console.print(
            f"generated tokens: upper bound {tokens(t['generated_tokens_upper'])}, expected "
            f"~{tokens(t['generated_tokens_expected'])}; trained tokens "
            f"~{tokens(t['trained_tokens_expected'])}; artifacts ~"
            f"{_bytes(t['disk_bytes_expected'])}, plus ~"
            f"{_bytes(t['training_checkpoint_bytes_peak'])} while a trainer stage keeps its "
            "resume checkpoint", highlight=False)
        console.print(
            f"at {tp['generation_tokens_per_s_per_gpu']:,.0f} generated and "
            f"{tp['training_tokens_per_s_per_gpu']:,.0f} trained tokens/s per GPU: "
            f"~{plan['gpu_hours']:,} GPU-hours, ~{plan['wall_hours']:,} h on {tp['gpus']} GPUs"
            + (" (incomplete: some counts are unknown)" if t["incomplete"] else ""),
            highlight=False)
    return cap.get()


def _bytes(value: float | None) -> str:
    if value is None:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000:
            return f"{value:,.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} PB"
