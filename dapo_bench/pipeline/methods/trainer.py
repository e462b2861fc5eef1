"""The trainer the response-level methods share: the policy stage's optimiser, epochs,
batching and saving, with another loss.

A row is one prompt with some of its responses (``state`` and ``actions`` as in the policy
stage, so the prompt is computed once and shared by its responses). A method's loss is a sum
of terms over units (a response's tokens for RFT, a pair for DPO) divided by the units' item
count, taken over the *global* batch like DAPO's mean over (state, action) pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from dapo_bench.errors import UserInputError
from dapo_bench.pipeline import launch
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.policy import PolicyLogps, drop_shared_tensors
from dapo_bench.pipeline.ref_logps import load_lm
from dapo_bench.pipeline.runner import Manifest, StageLog
from dapo_bench.pipeline.training import (
    CHECKPOINTS,
    GlobalBatchMean,
    fresh_mask,
    memory_mapped_rows,
    sub_state_dict,
    train_and_save,
    training_arguments,
)

console = Console(stderr=True)
# (rows of the micro-batch, summed log-prob of each of their responses) ->
# (term of each unit, items each unit counts for, the row of each unit)
Terms = Callable[[list[dict[str, Any]], torch.Tensor],
                 tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def _collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"states": rows}


def _trainer_class() -> type:
    from transformers import Trainer

    class ResponseTrainer(GlobalBatchMean, Trainer):
        def __init__(self, *args: Any, terms: Terms, items: Callable[[dict[str, Any]], int],
                     **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.terms, self.items = terms, items

        def row_items(self, batch: dict[str, Any]) -> list[tuple[int, int]]:
            return [(s["row"], self.items(s)) for s in batch["states"]]

        def compute_loss(self, model: nn.Module, inputs: dict[str, Any],
                         return_outputs: bool = False, num_items_in_batch: Any = None,
                         **kwargs: Any) -> Any:
            states = inputs["states"]
            logps = model(states=states)
            terms, counts, rows = self.terms(states, logps)
            keep = fresh_mask(inputs.get("fresh"), logps.device)
            if keep is not None:
                unit_keep = keep[rows]
                if not unit_keep.any():
                    loss = logps.sum() * 0.0
                    return (loss, None) if return_outputs else loss
                terms, counts = terms[unit_keep], counts[unit_keep]
            total = counts.sum()
            loss = self.global_mean(terms.sum() / total, int(total), num_items_in_batch)
            return (loss, None) if return_outputs else loss

        def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
            state = state_dict if state_dict is not None else self.model.state_dict()
            super()._save(output_dir, state_dict=drop_shared_tensors(state))

    return ResponseTrainer


def train_rows(ctx: StageContext, log: StageLog, stage: str, rows: Iterable[dict[str, Any]],
               terms: Terms, items: Callable[[dict[str, Any]], int],
               summary: dict[str, Any]) -> Manifest:
    """Train ``rows`` (already opened ``log``) with the policy stage's settings and save the
    model to ``<stage dir>/model``. No rows: the reference policy is kept (``policy.if_empty``
    allows that) or the stage refuses."""
    from transformers import AutoTokenizer, set_seed

    cfg = ctx.recipe.policy
    directory = log.directory
    set_seed(ctx.recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(ctx.reference_model)
    rows = list(rows)
    args = training_arguments(directory / CHECKPOINTS, lr=cfg.lr,
                              global_batch=cfg.states_per_batch, micro_batch=cfg.micro_states,
                              epochs=cfg.epochs, seed=ctx.recipe.seed,
                              weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
                              bf16=cfg.bf16, max_grad_norm=cfg.max_grad_norm)
    model = load_lm(ctx.reference_model, ctx.recipe.dtype)
    if not rows:
        why = f"empty training set for {directory}: {summary}"
        if cfg.if_empty == "error":
            raise UserInputError(why + " (or set policy.if_empty=keep_reference)")
        if launch.is_main():
            console.print(f"[yellow]warning[/] {escape(why)}: the reference policy is kept",
                          highlight=False)
            model.save_pretrained(directory / "model")
            tokenizer.save_pretrained(directory / "model")
        launch.wait()
        return log.finish(stage, {**summary, "steps": 0, "trained": False,
                                  "world_size": launch.world_size()},
                          world_size=launch.world_size())
    dataset = memory_mapped_rows(directory, rows)
    trainer = _trainer_class()(model=PolicyLogps(model), args=args, train_dataset=dataset,
                               data_collator=_collate, terms=terms, items=items)

    def save(state: dict[str, Any], path: Any) -> None:
        model.save_pretrained(path, state_dict=sub_state_dict(state, "lm."))

    figures = train_and_save(trainer, save, tokenizer, directory)
    return log.finish(stage, {**summary, **figures}, world_size=figures["world_size"])
