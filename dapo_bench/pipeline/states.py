"""Stage 2, states: every kept solution split into steps; a state is the prompt plus its first
k steps (k = 0..T-1). Identical states (same prompt and prefix) are kept once."""

from __future__ import annotations

import hashlib

from dapo_bench.errors import UserInputError
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, read_items
from dapo_bench.pipeline.steps import split_steps

STAGE = "states"


def state_id(prompt: str, steps: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update(prompt.encode())
    for step in steps:
        digest.update(b"\x00" + step.encode())
    return digest.hexdigest()[:20]


def run(ctx: StageContext) -> Manifest:
    rollouts = ctx.require("rollouts")
    fp = fingerprint(STAGE, {"separator": ctx.recipe.states.separator}, [rollouts])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    log.open()
    seen: set[str] = set()
    solutions = 0
    with log.appender() as out:
        for record in read_items(ctx.dir("rollouts")):
            for index in record["selected"]:
                steps = split_steps(record["samples"][index]["text"], ctx.recipe.states.separator)
                solutions += 1
                for k in range(len(steps)):
                    sid = state_id(record["prompt"], steps[:k])
                    if sid in seen:
                        continue
                    seen.add(sid)
                    out.write({"id": sid, "problem_id": record["id"], "prompt": record["prompt"],
                               "steps": steps[:k], "k": k})
    if not seen:
        raise UserInputError(f"no states: the rollouts in {ctx.run.root} kept no non-empty "
                             "solution; check the training set and the generator")
    return log.finish(STAGE, {"solutions": solutions, "states": len(seen)})
