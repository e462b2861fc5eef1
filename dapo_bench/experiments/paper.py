"""The paper's three tables as experiments: one recipe file per (table, model).

Recipes live in ``recipes/paper/<table>/<alias>.yaml`` and extend the domain's base recipe
(``recipes/paper/math-base.yaml``, ``code-base.yaml``), which holds the paper's setup.
"""

from __future__ import annotations

import os
from pathlib import Path

from dapo_bench.errors import UserInputError
from dapo_bench.experiments.registry import Experiment, register_experiment

RECIPES_ENV = "DAPO_BENCH_RECIPES"

#: Any recipe at tiny sizes: every stage runs, on a CPU, in about a minute on a tiny model.
SMOKE_OVERRIDES = {
    "rollout.n_samples": 4, "rollout.n_select": 2, "rollout.limit_problems": 3,
    "rollout.max_new_tokens": 32, "rollout.chunk_size": 8,
    "mc.n_completions": 2, "mc.max_new_tokens": 32, "mc.chunk_size": 32,
    "critic.batch_size": 4, "critic.micro_batch_size": 4, "critic.epochs": 1,
    "critic.max_length": 512,
    "advantages.gap_threshold": 0.0,  # a tiny untrained model's values barely differ
    "policy.states_per_batch": 4, "policy.micro_states": 4, "policy.epochs": 1,
    "policy.max_length": 512,
    "policy.if_empty": "keep_reference",  # few states: an empty iteration is chance
    "eval.max_new_tokens": 32,
}

#: Which models each table has a row for, in the paper's order.
TABLE_MODELS = {
    "table1": ("skywork-math-llama", "llama3.1-8b-instruct", "openo1-llama-8b",
               "qwen2.5-72b-instruct", "qwen2-math", "skywork-o1-llama", "qwen2.5-math"),
    "table2": ("llama3.1-8b-instruct", "openo1-llama-8b"),
    "table3": ("skywork-math-llama", "qwen2-math"),
}
DESCRIPTIONS = {"table1": "math, one DAPO iteration", "table2": "code (TACO), one iteration",
                "table3": "math, two DAPO iterations"}


def recipes_dir() -> Path:
    """The repository's ``recipes/`` (or ``$DAPO_BENCH_RECIPES``)."""
    configured = os.environ.get(RECIPES_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "recipes"


def paper_recipe(table: str, alias: str) -> Path:
    path = recipes_dir() / "paper" / table / f"{alias}.yaml"
    if not path.is_file():
        raise UserInputError(f"no recipe {path} (set {RECIPES_ENV} to a recipes folder, or "
                             "pass --recipe FILE)")
    return path


for _table, _models in TABLE_MODELS.items():
    register_experiment(Experiment(
        name=_table, models=_models, table=_table, description=DESCRIPTIONS[_table],
        recipe_path=lambda alias, smoke, _t=_table: paper_recipe(_t, alias),
        smoke_overrides=SMOKE_OVERRIDES))
