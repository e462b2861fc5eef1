"""What every stage is handed: the run, the recipe, the iteration and shared resources.

The generation pool (a vLLM engine costs tens of seconds to start; on Ray, one engine per
worker) is created once per model and shared by the rollout and Monte-Carlo stages of an
iteration; each worker grades what it generates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.data.registry import Problem, load_benchmark
from dapo_bench.errors import UserInputError
from dapo_bench.pipeline.runner import Manifest, RunDir

VARIANT_STAGES = ("advantages", "ref_logps", "policy")


@dataclass
class StageContext:
    run: RunDir
    recipe: Recipe
    iteration: int
    progress: bool = True
    # Name of an advantage variant ("" for the recipe's own): the stages from advantages on
    # write to "<stage>-<variant>" and share everything upstream with the main line.
    variant: str = ""
    # Where the stages' figures and the trainers' curves go (None: nowhere).
    tracker: Any = field(default=None, repr=False)
    # Stages read from another stored name: a training seed's policy reads the advantages
    # and reference log-probs of its method's first seed (``dapo_bench.experiments.baselines``).
    aliases: dict[str, str] = field(default_factory=dict)
    _pool: Any = field(default=None, repr=False)
    _pool_model: str | None = field(default=None, repr=False)
    _problems: list[Problem] | None = field(default=None, repr=False)

    @property
    def reference_model(self) -> str:
        """pi_ref of this iteration: the base model, then the previous iteration's policy."""
        if self.iteration == 1:
            from dapo_bench.models import resolve_model

            return resolve_model(self.recipe.require_base_model())
        self.run.require(self.iteration - 1, "policy")
        return str(self.run.stage_dir(self.iteration - 1, "policy") / "model")

    @property
    def reference_fingerprint(self) -> str:
        if self.iteration == 1:
            return f"base:{self.recipe.base_model}"
        return self.run.require(self.iteration - 1, "policy").fingerprint

    def _name(self, stage: str) -> str:
        if stage in self.aliases:
            return self.aliases[stage]
        return f"{stage}-{self.variant}" if self.variant and stage in VARIANT_STAGES else stage

    def dir(self, stage: str) -> Path:
        return self.run.stage_dir(self.iteration, self._name(stage))

    def manifest(self, stage: str) -> Manifest | None:
        return self.run.manifest(self.iteration, self._name(stage))

    def finished(self, stage: str, fingerprint: str) -> Manifest | None:
        """The stage's manifest when it already ran with this fingerprint (then it is skipped)."""
        found = self.manifest(stage)
        return found if found is not None and found.fingerprint == fingerprint else None

    def figure_prefix(self, stage: str) -> str:
        """The tracker names' prefix of a stage: ``iter1/critic``, ``iter1/policy-mc``."""
        return f"iter{self.iteration}/{self._name(stage)}"

    def require(self, stage: str) -> Manifest:
        return self.run.require(self.iteration, self._name(stage))

    def problems(self) -> list[Problem]:
        if self._problems is None:
            problems = load_benchmark(self.recipe.train_benchmark, self.recipe.train_data,
                                      limit=self.recipe.rollout.limit_problems)
            if not problems:
                raise UserInputError(f"training set {self.recipe.train_benchmark!r} is empty")
            self._problems = problems
        return self._problems

    def pool(self) -> Any:
        """The iteration's generation pool (local, or Ray actors per ``distributed``)."""
        model = self.reference_model
        if self._pool is None or self._pool_model != model:
            self.close()
            from dapo_bench.generation.workers import WorkerSpec, open_pool

            spec = WorkerSpec(model=model, backend=self.recipe.backend, dtype=self.recipe.dtype,
                              seed=self.recipe.seed, benchmark=self.recipe.train_benchmark,
                              generator_kwargs={
                                  "tensor_parallel_size": self.recipe.tensor_parallel_size,
                                  "batch_size": self.recipe.hf_batch_size})
            self._pool = open_pool(spec, self.recipe.distributed)
            self._pool_model = model
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool, self._pool_model = None, None
