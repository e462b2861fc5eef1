"""Stage 7, the policy: fit log(pi_theta / pi_ref) of each action to A / beta.

The loss is ``0.5 * mean over (s, a) of (A/beta - (log pi_theta(a|s) - log pi_ref(a|s)))^2``.
Training is a thin ``transformers.Trainer`` subclass, so ``accelerate launch`` with DeepSpeed
ZeRO-3 or FSDP works unchanged. A batch item is a whole state with all its actions (the paper's
state-wise batches); the state is computed once per item and shared by its actions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from dapo_bench.errors import UserInputError
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.ref_logps import load_lm
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, read_items
from dapo_bench.pipeline.shared_forward import action_logps_shared
from dapo_bench.pipeline.tokens import encode_piece, policy_state_ids
from dapo_bench.pipeline.training import CHECKPOINTS, train_and_save, training_arguments

STAGE = "policy"
StepHook = Callable[[int, nn.Module], dict[str, float] | None]


def dapo_loss(policy_logps: torch.Tensor, ref_logps: torch.Tensor, advantages: torch.Tensor,
              beta: float) -> torch.Tensor:
    """The DAPO objective (eq. 3.6) averaged over (state, action) pairs."""
    target = advantages.to(policy_logps.dtype) / beta
    ratio = policy_logps - ref_logps.to(policy_logps.dtype)
    return 0.5 * ((target - ratio) ** 2).mean()


def _collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"states": rows}


def _trainer_class() -> type:
    from transformers import Trainer

    class DAPOTrainer(Trainer):
        """Trainer with the DAPO loss over state-wise batches."""

        def __init__(self, *args: Any, beta: float, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.beta = beta

        def compute_loss(self, model: nn.Module, inputs: dict[str, Any],
                         return_outputs: bool = False, **kwargs: Any) -> Any:
            device = next(model.parameters()).device
            logps, refs, advs = [], [], []
            for state in inputs["states"]:
                logps.append(action_logps_shared(model, state["state"], state["actions"]))
                refs.append(torch.tensor(state["ref_logps"], device=device))
                advs.append(torch.tensor(state["advantages"], device=device))
            loss = dapo_loss(torch.cat(logps), torch.cat(refs), torch.cat(advs), self.beta)
            return (loss, None) if return_outputs else loss

    return DAPOTrainer


def training_rows(ctx: StageContext, tokenizer: Any) -> list[dict[str, Any]]:
    items = read_items(ctx.dir("advantages"))
    refs = {r["id"]: r["ref_logps"] for r in read_items(ctx.dir("ref_logps"))}
    if not items:
        raise UserInputError(
            f"empty training set: no state passed the advantage gap filter in "
            f"{ctx.dir('advantages')}; lower advantages.gap_threshold or sample more")
    max_length = ctx.recipe.policy.max_length
    return [{"state": policy_state_ids(tokenizer, it, max_length),
             "actions": [encode_piece(tokenizer, a["text"]) for a in it["actions"]],
             "advantages": [a["advantage"] for a in it["actions"]],
             "ref_logps": refs[it["id"]]} for it in items]


def run(ctx: StageContext, step_hook: StepHook | None = None) -> Manifest:
    """Train the policy. ``step_hook(step, model)`` runs every ``policy.eval_every`` steps and
    at the end; what it returns is logged to ``curve.jsonl`` (e.g. validation accuracy)."""
    cfg = ctx.recipe.policy
    inputs = [ctx.require("advantages"), ctx.require("ref_logps")]
    fp = fingerprint(STAGE, {"policy": cfg, "seed": ctx.recipe.seed},
                     [*inputs, ctx.reference_fingerprint])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    directory = ctx.dir(STAGE)
    log = StageLog(directory, fp)
    log.open()
    from transformers import AutoTokenizer, TrainerCallback, set_seed

    set_seed(ctx.recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(ctx.reference_model)
    rows = training_rows(ctx, tokenizer)
    model = load_lm(ctx.reference_model, ctx.recipe.dtype)
    args = training_arguments(directory / CHECKPOINTS, lr=cfg.lr,
                              global_batch=cfg.states_per_batch, micro_batch=cfg.micro_states,
                              epochs=cfg.epochs, seed=ctx.recipe.seed,
                              weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
                              bf16=cfg.bf16, max_grad_norm=cfg.max_grad_norm)
    curve_path = directory / "curve.jsonl"
    hook = step_hook if cfg.eval_every else None

    class _Curve(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if hook is not None and state.global_step % cfg.eval_every == 0:
                _log_point(curve_path, state.global_step, hook(state.global_step, model))

    trainer = _trainer_class()(model=model, args=args, train_dataset=rows, data_collator=_collate,
                               beta=cfg.beta, callbacks=[_Curve()])
    if hook is not None and not curve_path.exists():
        _log_point(curve_path, 0, hook(0, model))
    figures = train_and_save(trainer, model, tokenizer, directory)
    if hook is not None and trainer.state.global_step % cfg.eval_every:
        _log_point(curve_path, trainer.state.global_step, hook(trainer.state.global_step, model))
    return log.finish(STAGE, {"states": len(rows),
                              "pairs": sum(len(r["actions"]) for r in rows), **figures})


def _log_point(path: Any, step: int, values: dict[str, float] | None) -> None:
    if values is None:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, **values}) + "\n")
