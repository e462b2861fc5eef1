"""Training methods: what an iteration's artifacts can be trained with, besides DAPO.

A method names the shared artifacts (stages) of its iteration it reads, the stages it runs
itself under its own stage names (``<stage>-<variant>``, see ``StageContext``), which of those
a training seed reruns, and the recipe change it implies (the DAPO family differs only in
``advantages.source``). Methods register themselves on import; the shared stages (rollouts,
states, Monte-Carlo values, critic) run once per iteration whatever methods are asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.errors import UserInputError
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest
from dapo_bench.registry import Registry

StageFn = Callable[[StageContext, Any], Manifest]  # (ctx, policy step hook) -> manifest
SHARED_STAGES = ("rollouts", "states", "mc", "critic")


@dataclass(frozen=True)
class Method:
    name: str
    store_tag: str  # the stored model is NAME+<store_tag>[-<sweep>][-seed<k>]
    needs: tuple[str, ...]  # shared stages of the iteration it reads
    stages: tuple[tuple[str, StageFn], ...]  # (stage, function) it runs, in order
    seeded: tuple[str, ...]  # of its stages, those a training seed > 0 reruns
    label: str = ""
    uses_trainer: tuple[str, ...] = ("policy",)  # stages that run on every launched rank
    recipe_update: Callable[[Recipe], Recipe] | None = None

    def recipe_for(self, recipe: Recipe) -> Recipe:
        return self.recipe_update(recipe) if self.recipe_update else recipe

    def check_needs(self, ctx: StageContext) -> None:
        """One line naming the stage that makes a missing artifact."""
        for stage in self.needs:
            if ctx.run.manifest(ctx.iteration, stage) is None:
                raise UserInputError(
                    f"method {self.name!r} needs the '{stage}' artifact of iteration "
                    f"{ctx.iteration} in {ctx.run.root}, which the '{stage}' stage makes; run "
                    f"`dapo-bench train {stage} --run {ctx.run.root} --iteration "
                    f"{ctx.iteration}` first")


def _ensure_loaded() -> None:
    from dapo_bench.pipeline.methods import (  # noqa: F401 - each registers itself
        dapo,
        outcome_advantage,
        outcome_dpo,
        rft,
    )


METHODS: Registry[Method] = Registry("training method", _ensure_loaded)


def register_method(method: Method) -> Method:
    return METHODS.register(method.name, method)


def get_method(name: str) -> Method:
    return METHODS.get(name)


def method_names() -> list[str]:
    return METHODS.names()
