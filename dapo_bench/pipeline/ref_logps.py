"""Stage 6, reference log-probs: log pi_ref(a|s) summed over each action's tokens.

pi_ref is fixed within an iteration, so these are computed once and stored; policy training
then holds one model, not two.
"""

from __future__ import annotations

from typing import Any

import torch

from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, read_items
from dapo_bench.pipeline.sampling import stage_progress
from dapo_bench.pipeline.shared_forward import action_logps_shared
from dapo_bench.pipeline.tokens import encode_piece, policy_state_ids

STAGE = "ref_logps"


def load_lm(path: str, dtype: str = "float32", *, place: bool = False) -> Any:
    """A causal LM in the recipe's dtype (float32 on CPU). ``place`` moves it to the GPU
    here (inference stages); for training the Trainer places it (DDP, FSDP, ZeRO-3)."""
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype) if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    return model.cuda() if place and torch.cuda.is_available() else model


def run(ctx: StageContext) -> Manifest:
    advantages = ctx.require("advantages")
    max_length = ctx.recipe.policy.max_length
    fp = fingerprint(STAGE, {"max_length": max_length, "dtype": ctx.recipe.dtype},
                     [advantages, ctx.reference_fingerprint])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    log = StageLog(ctx.dir(STAGE), fp)
    done = log.open()
    items = read_items(ctx.dir("advantages"))
    pending = [it for it in items if it["id"] not in done]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ctx.reference_model)
    model = load_lm(ctx.reference_model, ctx.recipe.dtype, place=True).eval()
    with torch.no_grad(), log.appender() as out, stage_progress(
            ctx, "reference log-probs", len(items), len(items) - len(pending)) as advance:
        for item in pending:
            state = policy_state_ids(tokenizer, item, max_length)
            actions = [encode_piece(tokenizer, a["text"]) for a in item["actions"]]
            logps = action_logps_shared(model, state, actions).tolist()
            out.write({"id": item["id"], "ref_logps": logps})
            advance(1)
    return log.finish(STAGE, {"states": len(items),
                              "pairs": sum(len(it["actions"]) for it in items)})
