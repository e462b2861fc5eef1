"""The experiment registry: what `dapo-bench reproduce TARGET` can run.

An experiment names its models (catalogue aliases), where each model's recipe lives, how its
models are evaluated (greedy, and optionally sampled modes stored under a suffix), the labelled
advantage variants of iteration 1 it trains beside the main line, and the paper table its
results fill. The paper's tables register here; plug-ins (the toy) add their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapo_bench.registry import Registry


@dataclass(frozen=True)
class EvalMode:
    """One way of evaluating a model; its results are stored as ``benchmark + suffix``."""

    label: str
    suffix: str = ""
    n: int = 1
    temperature: float = 0.0


GREEDY = EvalMode("greedy")


def sampled(k: int) -> EvalMode:
    """Expected reward of the sampling policy: k samples per problem at T = 1."""
    return EvalMode(f"sampled (T=1, k={k})", f"-t1k{k}", k, 1.0)


@dataclass(frozen=True)
class Experiment:
    name: str
    models: tuple[str, ...]  # catalogue aliases, in table order
    recipe_path: Callable[[str, bool], Path]  # (alias, smoke) -> recipe file
    description: str = ""
    table: str | None = None  # paper table layout the results fill (table1..table3)
    eval_modes: tuple[EvalMode, ...] = (GREEDY,)
    variants: dict[str, str] = field(default_factory=dict)  # name -> advantages.source
    variant_labels: dict[str, str] = field(default_factory=dict)  # name -> report row label
    title: str = ""  # the report's heading (default: "<experiment> / <recipe>")
    # Overrides that shrink any of its recipes to a smoke run (None: the smoke recipe file
    # from recipe_path(alias, True) is already small).
    smoke_overrides: dict[str, Any] | None = None
    smoke_eval_limit: int | None = 5
    # (recipe, data_dir) -> a policy step hook for a validation curve, or None.
    validation: Callable[[Any, Path | None], Any] | None = None
    # Training methods of iteration 1 (default: dapo and the variants above), sweeps
    # (KEY -> "V1,V2,..."), training seeds; --variants, --sweep and --seeds override them.
    # The smoke sweeps and seeds replace them under --smoke.
    methods: tuple[str, ...] = ()
    sweeps: dict[str, str] = field(default_factory=dict)
    seeds: int = 1
    smoke_sweeps: dict[str, str] | None = None
    smoke_seeds: int | None = None

    @property
    def method_names(self) -> tuple[str, ...]:
        return self.methods or ("dapo", *self.variants)


def _ensure_loaded() -> None:
    from dapo_bench.experiments import paper  # noqa: F401 - registers table1..table3
    from dapo_bench.plugins import load_plugins

    load_plugins()


EXPERIMENTS: Registry[Experiment] = Registry("reproduction target", _ensure_loaded)


def register_experiment(experiment: Experiment) -> Experiment:
    return EXPERIMENTS.register(experiment.name, experiment)


def get_experiment(name: str) -> Experiment:
    return EXPERIMENTS.get(name)


def experiment_names() -> list[str]:
    return EXPERIMENTS.names()
