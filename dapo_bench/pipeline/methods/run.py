"""Run one stage of a method the way ``chain.run_stage`` runs a DAPO stage (one executor:
ranks, timings, tracker figures, the summary line)."""

from __future__ import annotations

from typing import Any

from dapo_bench.pipeline.chain import execute_stage
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import StageFn
from dapo_bench.pipeline.runner import Manifest


def run_method_stage(ctx: StageContext, stage: str, fn: StageFn, hook: Any = None, *,
                     trainer: bool = False) -> Manifest:
    return execute_stage(ctx, stage, lambda: fn(ctx, hook), trainer=trainer)
