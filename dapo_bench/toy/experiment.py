"""`dapo-bench reproduce toy`: Tables 1 and 3 of the paper in miniature, on a CPU.

The generic reproduction with the toy's extras: sampled accuracy (T = 1, k = 4, the expected
reward the paper's theorem is about) stored beside greedy accuracy, two labelled variants of
iteration 1 (Monte-Carlo advantages; advantages shuffled within states, a control), and a
validation curve of greedy accuracy over policy training steps.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dapo_bench.experiments.paper import recipes_dir
from dapo_bench.experiments.registry import GREEDY, Experiment, register_experiment, sampled
from dapo_bench.toy.base import TOY_BASE

VAL_BENCHMARK = "toy_arith_val"
VAL_LIMIT = 200
SAMPLE_K = 4


def toy_recipe(alias: str, smoke: bool) -> Path:
    return recipes_dir() / ("toy-smoke.yaml" if smoke else "toy.yaml")


def validation_hook(recipe: Any, data_dir: Path | None) -> Any:
    """A policy step hook returning greedy accuracy (percent) on the validation split."""
    from transformers import AutoTokenizer

    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.evaluate import EvalSettings, accuracy_with
    from dapo_bench.generation.hf_backend import HFGenerator

    problems = load_benchmark(VAL_BENCHMARK, limit=VAL_LIMIT)
    settings = EvalSettings(model="<in-memory>", out=Path("."), benchmarks=[VAL_BENCHMARK],
                            template=recipe.eval.template or recipe.template,
                            max_new_tokens=recipe.eval.max_new_tokens, seed=recipe.seed,
                            stop=tuple(recipe.eval.stop), progress=False)

    def hook(step: int, model: Any) -> dict[str, float]:
        tokenizer = AutoTokenizer.from_pretrained(model.name_or_path, padding_side="left")
        was_training = model.training
        model.eval()
        try:
            gen = HFGenerator.from_model(model, tokenizer, batch_size=256)
            return {"val_greedy": accuracy_with(gen, VAL_BENCHMARK, problems, settings)}
        finally:
            model.train(was_training)

    return hook


TOY = register_experiment(Experiment(
    name="toy", models=(TOY_BASE,), recipe_path=toy_recipe,
    description="synthetic arithmetic on a 0.9M-parameter model, two iterations, on a CPU",
    title="Toy reproduction (held-out test split)",
    eval_modes=(GREEDY, sampled(SAMPLE_K)), variants={"mc": "mc", "shuffled": "shuffled"},
    variant_labels={"mc": "Monte-Carlo advantages",
                    "shuffled": "shuffled advantages (control)"},
    smoke_overrides=None, smoke_eval_limit=50, validation=validation_hook))

# The toy's comparison of methods on the same iteration-1 artifacts (issue 18): every method,
# three training seeds, and DAPO swept over beta and the Monte-Carlo completions per state.
# --smoke: two seeds and one beta point, on the smoke recipe (the tests run it).
register_experiment(replace(
    TOY, name="toy-baselines",
    description="the toy's methods, seeds and sweeps on the same iteration-1 artifacts",
    title="Toy baselines (held-out test split)",
    methods=("dapo", "rft", "outcome-dpo", "outcome-advantage", "mc", "shuffled"),
    sweeps={"policy.beta": "0.02,0.05,0.1,0.2", "mc.n_completions": "4,8,16"}, seeds=3,
    smoke_sweeps={"policy.beta": "0.05"}, smoke_seeds=2, validation=None))
