"""DAPO and its advantage variants: the same loss on advantages from another source.

``dapo`` is the recipe's own line (critic advantages); ``mc`` takes Monte-Carlo Q values
(no critic); ``shuffled`` permutes the critic advantages within each state (a control). All
three run the advantages, reference log-prob and policy stages; the permutation of
``shuffled`` is drawn from the seed, so a training seed reruns all three stages there.
"""

from __future__ import annotations

from typing import Any

from dapo_bench.config import Recipe
from dapo_bench.pipeline import advantages, policy, ref_logps
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import Method, register_method
from dapo_bench.pipeline.runner import Manifest


def _advantages(ctx: StageContext, hook: Any) -> Manifest:
    return advantages.run(ctx)


def _ref_logps(ctx: StageContext, hook: Any) -> Manifest:
    return ref_logps.run(ctx)


def _policy(ctx: StageContext, hook: Any) -> Manifest:
    return policy.run(ctx, step_hook=hook)


DAPO_STAGES = (("advantages", _advantages), ("ref_logps", _ref_logps), ("policy", _policy))


def _source(source: str) -> Any:
    def update(recipe: Recipe) -> Recipe:
        return recipe.model_copy(update={"advantages": recipe.advantages.model_copy(
            update={"source": source})})
    return update


register_method(Method("dapo", "dapo", ("rollouts", "states", "mc", "critic"), DAPO_STAGES,
                       ("policy",), "DAPO (critic advantages)"))
register_method(Method("mc", "dapo-mc", ("rollouts", "states", "mc"), DAPO_STAGES, ("policy",),
                       "Monte-Carlo advantages", recipe_update=_source("mc")))
register_method(Method("shuffled", "dapo-shuffled", ("rollouts", "states", "mc", "critic"),
                       DAPO_STAGES, ("advantages", "ref_logps", "policy"),
                       "shuffled advantages (control)", recipe_update=_source("shuffled")))
