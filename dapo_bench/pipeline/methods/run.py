"""Run one stage of a method the way ``chain.run_stage`` runs a DAPO stage: trainer stages on
every launched rank, the others on the main process while the rest wait; timed in the run's
``timings.jsonl``."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from dapo_bench.pipeline import launch
from dapo_bench.pipeline.chain import TIMINGS
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import StageFn
from dapo_bench.pipeline.runner import Manifest

console = Console(stderr=True)


def run_method_stage(ctx: StageContext, stage: str, fn: StageFn, hook: Any = None, *,
                     trainer: bool = False) -> Manifest:
    started = time.perf_counter()
    manifest = fn(ctx, hook) if trainer or launch.is_main() else None
    launch.wait()
    if not launch.is_main():
        return manifest if manifest is not None else ctx.require(stage)
    assert manifest is not None
    with (ctx.run.root / TIMINGS).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"iteration": ctx.iteration, "stage": stage, "variant": ctx.variant,
                              "seconds": round(time.perf_counter() - started, 2)}) + "\n")
    label = f"iter {ctx.iteration} {stage}" + (f" ({ctx.variant})" if ctx.variant else "")
    console.print(f"[green]done[/] {escape(label)}: {escape(str(manifest.summary))}",
                  highlight=False)
    return manifest
