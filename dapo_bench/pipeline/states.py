"""Stage 2, states: every kept solution split into steps; a state is the prompt plus its first
k steps (k = 0..T-1). Identical states (same prompt and prefix) are kept once.

A state is the generated token sequence cut at a step boundary (``prompt_ids`` + ``ids``),
so Monte-Carlo continuations start from exactly the tokens the model produced; its text
(``prompt`` + ``steps``) is the decoding of those tokens."""

from __future__ import annotations

import hashlib

from dapo_bench.errors import UserInputError
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.sampling import decoder
from dapo_bench.pipeline.steps import cut_token_steps, split_steps

STAGE = "states"


def state_id(prompt: str, steps: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update(prompt.encode())
    for step in steps:
        digest.update(b"\x00" + step.encode())
    return digest.hexdigest()[:20]


def run(ctx: StageContext) -> Manifest:
    rollouts = ctx.require("rollouts")
    fp = fingerprint(STAGE, {"separator": ctx.recipe.states.separator, "format": 2},
                     [rollouts])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    log.open()
    seen: set[str] = set()
    solutions = 0
    sep = ctx.recipe.states.separator
    decode = None
    with log.appender() as out:
        for record in iter_items(ctx.dir("rollouts")):  # streamed
            for index in record["selected"]:
                sample = record["samples"][index]
                solutions += 1
                if "token_ids" in sample and "prompt_ids" in record:
                    decode = decode or decoder(ctx)
                    token_steps, steps = cut_token_steps(sample["token_ids"], decode, sep)
                else:  # rollouts made without token ids: text steps only
                    token_steps, steps = None, split_steps(sample["text"], sep)
                for k in range(len(steps)):
                    sid = state_id(record["prompt"], steps[:k])
                    if sid in seen:
                        continue
                    seen.add(sid)
                    state = {"id": sid, "problem_id": record["id"], "prompt": record["prompt"],
                             "steps": steps[:k], "k": k}
                    if token_steps is not None:
                        state["prompt_ids"] = record["prompt_ids"]
                        state["ids"] = [t for piece in token_steps[:k] for t in piece]
                    out.write(state)
    if not seen:
        raise UserInputError(f"no states: the rollouts in {ctx.run.root} kept no non-empty "
                             "solution; check the training set and the generator")
    return log.finish(STAGE, {"solutions": solutions, "states": len(seen)})
