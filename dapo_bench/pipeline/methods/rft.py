"""``rft``: rejection-sampling fine-tuning on the iteration's selected rollouts.

Token-level NLL (the mean over every response token of the global batch) on the correct
selected responses, each distinct response once, with the policy stage's optimiser, epochs,
batch (``policy.states_per_batch`` prompts a step) and token budget. It reads only the
rollouts: the comparison with DAPO differs in the objective, not the data.
"""

from __future__ import annotations

from typing import Any

import torch

from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import Method, register_method
from dapo_bench.pipeline.methods.responses import response_groups
from dapo_bench.pipeline.methods.trainer import train_rows
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint

STAGE = "policy"


def nll_terms(states: list[dict[str, Any]], logps: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each response's summed NLL, its token count, its row in the micro-batch."""
    device = logps.device
    lengths = torch.tensor([len(a) for s in states for a in s["actions"]], device=device)
    rows = torch.tensor([i for i, s in enumerate(states) for _ in s["actions"]],
                        device=device)
    return -logps, lengths.to(logps.dtype), rows


def run(ctx: StageContext, hook: Any = None) -> Manifest:
    cfg = ctx.recipe.policy
    rollouts = ctx.require("rollouts")
    fp = fingerprint("rft", {"policy": cfg.model_dump(mode="json",
                                                      exclude={"if_empty", "beta"}),
                             "seed": ctx.recipe.seed}, [rollouts, ctx.reference_fingerprint])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    log.open(all_ranks=True)
    rows, responses, tokens = [], 0, 0
    for group in response_groups(ctx):
        correct = [r for r, ok in zip(group.responses, group.correct, strict=True) if ok]
        if correct:
            rows.append({"state": group.prompt_ids, "actions": correct, "row": len(rows)})
            responses += len(correct)
            tokens += sum(len(r) for r in correct)
    return train_rows(ctx, log, STAGE, rows, nll_terms,
                      lambda row: sum(len(a) for a in row["actions"]),
                      {"prompts": len(rows), "responses": responses, "tokens": tokens})


register_method(Method("rft", "rft", ("rollouts",), (("policy", run),), ("policy",),
                       "rejection-sampling fine-tuning"))
