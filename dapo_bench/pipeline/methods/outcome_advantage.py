"""``outcome-advantage``: DAPO's loss with an outcome-level (GRPO-style) advantage per step.

Every step of a selected response gets the response's group-normalised outcome advantage,
``(r - mean_prompt) / std_prompt`` over the prompt's selected responses (population std, as
GRPO's group statistics). A prompt whose responses are all right or all wrong (std = 0) has
advantage 0 everywhere and is left out: under GRPO it gives no gradient, while DAPO's
regression loss would pull its steps to pi_ref. The states are the states stage's own; a state
that several responses pass through gets each distinct next step once, with the mean advantage
of the responses taking it. Reference log-probs and the policy are DAPO's stages unchanged, so
loss, data and optimiser are DAPO's and only the credit assignment differs.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import Method, register_method
from dapo_bench.pipeline.methods.dapo import _policy, _ref_logps
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.sampling import decoder
from dapo_bench.pipeline.states import state_id
from dapo_bench.pipeline.steps import cut_token_steps, split_steps

STAGE = "advantages"


def group_advantages(rewards: list[float]) -> list[float]:
    """(r - mean) / std over the group (population std); all zeros when std = 0."""
    mean = sum(rewards) / len(rewards)
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards))
    return [0.0 if std == 0 else (r - mean) / std for r in rewards]


def run(ctx: StageContext, hook: Any = None) -> Manifest:
    rollouts, states = ctx.require("rollouts"), ctx.require("states")
    sep = ctx.recipe.states.separator
    fp = fingerprint("outcome-advantage", {"separator": sep}, [rollouts, states])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    log.open()
    # state id -> action text -> advantages of the responses taking it
    taken: dict[str, OrderedDict[str, list[float]]] = {}
    decode = None
    groups = groups_flat = responses = 0
    for record in iter_items(ctx.dir("rollouts")):
        samples = [record["samples"][i] for i in record["selected"]]
        if not samples:
            continue
        advs = group_advantages([float(s["correct"]) for s in samples])
        if all(a == 0 for a in advs):
            groups_flat += 1
            continue
        groups += 1
        for sample, adv in zip(samples, advs, strict=True):
            if "token_ids" in sample and "prompt_ids" in record:
                decode = decode or decoder(ctx)
                _, steps = cut_token_steps(sample["token_ids"], decode, sep)
            else:
                steps = split_steps(sample["text"], sep)
            responses += 1
            for k in range(len(steps)):
                sid = state_id(record["prompt"], steps[:k])
                taken.setdefault(sid, OrderedDict()).setdefault(steps[k], []).append(adv)
    kept = pairs = 0
    with log.appender() as out:
        for state in iter_items(ctx.dir("states")):  # the states stage's order and ids
            actions = taken.get(state["id"])
            if not actions:
                continue
            item = {k: state[k] for k in ("id", "prompt", "steps", "prompt_ids", "ids")
                    if k in state}
            item["actions"] = [{"text": text, "advantage": sum(a) / len(a), "count": len(a)}
                               for text, a in actions.items() if text]
            if item["actions"]:
                out.write(item)
                kept += 1
                pairs += len(item["actions"])
    return log.finish(STAGE, {"prompts": groups, "prompts_without_signal": groups_flat,
                              "responses": responses, "states_kept": kept, "pairs_kept": pairs})


register_method(Method("outcome-advantage", "outcome-advantage", ("rollouts", "states"),
                       (("advantages", run), ("ref_logps", _ref_logps), ("policy", _policy)),
                       ("policy",), "outcome-level advantage, DAPO loss"))
