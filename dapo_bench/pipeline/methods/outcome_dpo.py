"""``outcome-dpo``: DPO (Rafailov et al., 2023) on whole responses of the selected rollouts.

Every (correct, incorrect) pair of distinct selected responses to the same prompt, with DAPO's
beta and reference model (the iteration's pi_ref). The reference log-probs of each response are
computed once, in their own stage, as DAPO's are; the trainer holds one model.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.methods import Method, register_method
from dapo_bench.pipeline.methods.responses import response_groups
from dapo_bench.pipeline.methods.trainer import train_rows
from dapo_bench.pipeline.ref_logps import load_lm
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.shared_forward import action_logps_shared


def pairs_of(correct: list[bool]) -> list[list[int]]:
    """(chosen, rejected) index pairs: every correct response against every incorrect one."""
    return [[w, lo] for w, ok_w in enumerate(correct) if ok_w
            for lo, ok_l in enumerate(correct) if not ok_l]


def dpo_loss(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """-log sigmoid(beta * (chosen log-ratio - rejected log-ratio)), per pair."""
    margin = (chosen - ref_chosen) - (rejected - ref_rejected)
    return -F.logsigmoid(beta * margin)


def run_ref(ctx: StageContext, hook: Any = None) -> Manifest:
    rollouts = ctx.require("rollouts")
    fp = fingerprint("ref_logps-outcome-dpo", {"max_length": ctx.recipe.policy.max_length,
                                               "dtype": ctx.recipe.dtype},
                     [rollouts, ctx.reference_fingerprint])
    if (found := ctx.finished("ref_logps", fp)) is not None:
        return found
    log = StageLog(ctx.dir("ref_logps"), fp)
    log.open()
    model = load_lm(ctx.reference_model, ctx.recipe.dtype, place=True).eval()
    prompts = pairs = 0
    with torch.no_grad(), log.appender() as out:
        for group in response_groups(ctx):
            pair_list = pairs_of(group.correct)
            if not pair_list:
                continue
            logps = action_logps_shared(model, group.prompt_ids, group.responses).tolist()
            out.write({"id": group.problem_id, "ref_logps": logps, "pairs": pair_list})
            prompts += 1
            pairs += len(pair_list)
    return log.finish("ref_logps", {"prompts": prompts, "pairs": pairs})


def run_policy(ctx: StageContext, hook: Any = None) -> Manifest:
    cfg = ctx.recipe.policy
    refs_manifest = ctx.require("ref_logps")
    fp = fingerprint("outcome-dpo", {"policy": cfg.model_dump(mode="json", exclude={"if_empty"}),
                                     "seed": ctx.recipe.seed},
                     [ctx.require("rollouts"), refs_manifest, ctx.reference_fingerprint])
    if (found := ctx.finished("policy", fp)) is not None:
        return found
    log = StageLog(ctx.dir("policy"), fp)
    log.open(all_ranks=True)
    refs = {r["id"]: r for r in iter_items(ctx.dir("ref_logps"))}
    rows = []
    for group in response_groups(ctx):
        if group.problem_id in refs:
            ref = refs[group.problem_id]
            rows.append({"state": group.prompt_ids, "actions": group.responses,
                         "ref_logps": ref["ref_logps"], "pairs": ref["pairs"],
                         "row": len(rows)})
    beta = cfg.beta

    def terms(states: list[dict[str, Any]], logps: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out, rows_of, start = [], [], 0
        for i, s in enumerate(states):
            lp = logps[start:start + len(s["actions"])]
            ref = torch.tensor(s["ref_logps"], dtype=lp.dtype, device=lp.device)
            w = torch.tensor([p[0] for p in s["pairs"]], device=lp.device)
            lo = torch.tensor([p[1] for p in s["pairs"]], device=lp.device)
            out.append(dpo_loss(lp[w], lp[lo], ref[w], ref[lo], beta))
            rows_of += [i] * len(s["pairs"])
            start += len(s["actions"])
        losses = torch.cat(out)
        return losses, torch.ones_like(losses), torch.tensor(rows_of, device=logps.device)

    return train_rows(ctx, log, "policy", rows, terms, lambda row: len(row["pairs"]),
                      {"prompts": len(rows), "pairs": sum(len(r["pairs"]) for r in rows)})


register_method(Method("outcome-dpo", "outcome-dpo", ("rollouts",),
                       (("ref_logps", run_ref), ("policy", run_policy)), ("policy",),
                       "outcome-level DPO"))
