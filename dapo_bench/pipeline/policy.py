"""Stage 7, the policy: fit log(pi_theta / pi_ref) of each action to A / beta.

The loss is ``0.5 * mean over (s, a) of (A/beta - (log pi_theta(a|s) - log pi_ref(a|s)))^2``.
Training is a thin ``transformers.Trainer`` subclass, so ``accelerate launch`` with DeepSpeed
ZeRO-3 or FSDP works unchanged. A batch item is a whole state with all its actions (the paper's
state-wise batches); the state is computed once per item and shared by its actions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from dapo_bench.errors import UserInputError
from dapo_bench.pipeline import launch
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.ref_logps import load_lm
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.shared_forward import action_logps_shared
from dapo_bench.pipeline.tokens import encode_piece, policy_state_ids
from dapo_bench.pipeline.training import (
    CHECKPOINTS,
    GlobalBatchMean,
    fresh_mask,
    memory_mapped_rows,
    sub_state_dict,
    tracker_callbacks,
    train_and_save,
    training_arguments,
)

STAGE = "policy"
console = Console(stderr=True)
StepHook = Callable[[int, nn.Module], dict[str, float] | None]


def dapo_loss(policy_logps: torch.Tensor, ref_logps: torch.Tensor, advantages: torch.Tensor,
              beta: float) -> torch.Tensor:
    """The DAPO objective (eq. 3.6) averaged over (state, action) pairs."""
    target = advantages.to(policy_logps.dtype) / beta
    ratio = policy_logps - ref_logps.to(policy_logps.dtype)
    return 0.5 * ((target - ratio) ** 2).mean()


def _collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"states": rows}


class PolicyLogps(nn.Module):
    """log pi_theta(a|s) of every action of a batch of states, in one module call.

    A state is run once and its actions against the cached state (two passes of the LM); the
    wrapper makes that one forward, which is what DDP, FSDP and ZeRO-3 synchronise on."""

    def __init__(self, lm: nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, states: list[dict[str, Any]]) -> torch.Tensor:
        return torch.cat([action_logps_shared(self.lm, s["state"], s["actions"])
                          for s in states])


def drop_shared_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep the first name of each tensor that several names share (safetensors refuses
    aliases)."""
    seen: set[tuple[int, int]] = set()
    out = {}
    for name, tensor in state.items():
        key = (tensor.data_ptr(), tensor.numel())
        if tensor.numel() and key in seen:
            continue
        seen.add(key)
        out[name] = tensor
    return out


def _trainer_class() -> type:
    from transformers import Trainer

    class DAPOTrainer(GlobalBatchMean, Trainer):
        """Trainer with the DAPO loss over state-wise batches, averaged over the (state,
        action) pairs of the global batch."""

        def __init__(self, *args: Any, beta: float, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.beta = beta
            self._kl = [0.0, 0]  # sum of log-ratios and pairs since the last log

        def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
            """Add ``kl``: the mean of log pi_ref(a|s) - log pi_theta(a|s) over the pairs
            trained on since the last log, on every rank, measured before each update. The
            actions were sampled from pi_ref, so this estimates KL(pi_ref || pi_theta) on
            the trained states (biased: each unique action counts once)."""
            if "loss" in logs:
                total = torch.tensor(self._kl, dtype=torch.float64,
                                     device=self.accelerator.device)
                if self.args.world_size > 1:
                    total = self.accelerator.reduce(total, "sum")
                if total[1] > 0:
                    logs["kl"] = float(total[0] / total[1])
                self._kl = [0.0, 0]
            super().log(logs, *args, **kwargs)

        def row_items(self, batch: dict[str, Any]) -> list[tuple[int, int]]:
            return [(s["row"], len(s["actions"])) for s in batch["states"]]

        def compute_loss(self, model: nn.Module, inputs: dict[str, Any],
                         return_outputs: bool = False, num_items_in_batch: Any = None,
                         **kwargs: Any) -> Any:
            states = inputs["states"]
            logps = model(states=states)
            refs = torch.tensor([r for s in states for r in s["ref_logps"]],
                                device=logps.device)
            advs = torch.tensor([a for s in states for a in s["advantages"]],
                                device=logps.device)
            keep = fresh_mask(inputs.get("fresh"), logps.device)
            if keep is not None:  # a state's pairs share its weight
                keep = torch.repeat_interleave(keep, torch.tensor(
                    [len(s["actions"]) for s in states], device=logps.device))
            ratio = refs.to(logps.dtype) - logps.detach()
            ratio = ratio if keep is None else ratio[keep]
            self._kl[0] += float(ratio.double().sum())
            self._kl[1] += int(ratio.numel())
            loss = self.weighted_mean(lambda lp, rf, ad: dapo_loss(lp, rf, ad, self.beta),
                                      (logps, refs, advs), keep, num_items_in_batch)
            return (loss, None) if return_outputs else loss

        def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
            """Checkpoints of the wrapper: tied weights (embeddings and LM head) are stored
            once; resuming loads non-strictly and the tie restores the other."""
            state = state_dict if state_dict is not None else self.model.state_dict()
            super()._save(output_dir, state_dict=drop_shared_tensors(state))

    return DAPOTrainer


def training_rows(ctx: StageContext, tokenizer: Any) -> Iterator[dict[str, Any]] | None:
    """The kept states as training rows, made as they are read; None when no state passed
    the gap filter (and ``policy.if_empty`` allows that)."""
    if next(iter_items(ctx.dir("advantages")), None) is None:
        why = (f"empty training set: no state passed the advantage gap filter in "
               f"{ctx.dir('advantages')}; lower advantages.gap_threshold or sample more")
        if ctx.recipe.policy.if_empty == "error":
            raise UserInputError(why + " (or set policy.if_empty=keep_reference)")
        if launch.is_main():
            console.print(f"[yellow]warning[/] {escape(why)}: iteration {ctx.iteration} keeps "
                          "the reference policy (policy.if_empty=keep_reference)",
                          highlight=False)
        return None
    max_length = ctx.recipe.policy.max_length

    def rows() -> Iterator[dict[str, Any]]:
        refs = {r["id"]: r["ref_logps"] for r in iter_items(ctx.dir("ref_logps"))}
        for row, it in enumerate(iter_items(ctx.dir("advantages"))):
            yield {"state": policy_state_ids(tokenizer, it, max_length),
                   "actions": [encode_piece(tokenizer, a["text"]) for a in it["actions"]],
                   "advantages": [a["advantage"] for a in it["actions"]],
                   "ref_logps": refs[it["id"]], "row": row}

    return rows()


def run(ctx: StageContext, step_hook: StepHook | None = None) -> Manifest:
    """Train the policy. ``step_hook(step, model)`` runs every ``policy.eval_every`` steps and
    at the end; what it returns is logged to ``curve.jsonl`` (e.g. validation accuracy)."""
    cfg = ctx.recipe.policy
    inputs = [ctx.require("advantages"), ctx.require("ref_logps")]
    fp = fingerprint(STAGE, {"policy": cfg.model_dump(mode="json", exclude={"if_empty"}),
                             "seed": ctx.recipe.seed},
                     [*inputs, ctx.reference_fingerprint])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    directory = ctx.dir(STAGE)
    log = StageLog(directory, fp)
    log.open(all_ranks=True)
    from transformers import AutoTokenizer, TrainerCallback, set_seed

    set_seed(ctx.recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(ctx.reference_model)
    rows = training_rows(ctx, tokenizer)
    args = training_arguments(directory / CHECKPOINTS, lr=cfg.lr,
                              global_batch=cfg.states_per_batch, micro_batch=cfg.micro_states,
                              epochs=cfg.epochs, seed=ctx.recipe.seed,
                              weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
                              bf16=cfg.bf16, max_grad_norm=cfg.max_grad_norm)
    model = load_lm(ctx.reference_model, ctx.recipe.dtype)  # after the arguments (ZeRO-3)
    if rows is None:  # nothing to fit: this iteration's policy is the reference, saved as is
        if launch.is_main():
            model.save_pretrained(directory / "model")
            tokenizer.save_pretrained(directory / "model")
        launch.wait()
        return log.finish(STAGE, {"states": 0, "pairs": 0, "steps": 0, "trained": False,
                                  "world_size": launch.world_size()},
                          world_size=launch.world_size())
    curve_path = directory / "curve.jsonl"
    # The validation curve generates on the main process with the unsharded model: under a
    # launcher it is drawn only without parameter sharding (DDP), on rank 0.
    hook = step_hook if cfg.eval_every and launch.is_main() else None

    class _Curve(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if hook is not None and state.global_step % cfg.eval_every == 0:
                _log_point(curve_path, state.global_step, hook(state.global_step, model))

    dataset = memory_mapped_rows(directory, rows)
    trainer = _trainer_class()(model=PolicyLogps(model), args=args, train_dataset=dataset,
                               data_collator=_collate, beta=cfg.beta,
                               callbacks=[_Curve(), *tracker_callbacks(
                                   ctx.tracker, ctx.figure_prefix(STAGE))])
    if hook is not None and not curve_path.exists():
        _log_point(curve_path, 0, hook(0, model))

    def save(state: dict[str, Any], path: Any) -> None:
        model.save_pretrained(path, state_dict=sub_state_dict(state, "lm."))

    figures = train_and_save(trainer, save, tokenizer, directory)
    if hook is not None and trainer.state.global_step % cfg.eval_every:
        _log_point(curve_path, trainer.state.global_step, hook(trainer.state.global_step, model))
    return log.finish(STAGE, {"states": len(dataset),
                              "pairs": sum(len(a) for a in dataset["advantages"]), **figures},
                      world_size=figures["world_size"])


def _log_point(path: Any, step: int, values: dict[str, float] | None) -> None:
    if values is None:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, **values}) + "\n")
