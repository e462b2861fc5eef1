"""Stage 4, the critic V_phi(s): a causal-LM backbone and a scalar head read at the state's
last token through a sigmoid, trained with binary cross-entropy against soft MC targets.

Saved as a checkpoint directory: the backbone (``save_pretrained``), its tokenizer, and
``value_head.safetensors``; :meth:`ValueModel.from_pretrained` reloads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from dapo_bench.models import resolve_model
from dapo_bench.pipeline.context import StageContext
from dapo_bench.pipeline.runner import Manifest, StageLog, fingerprint, iter_items
from dapo_bench.pipeline.shared_forward import last_hidden_shared
from dapo_bench.pipeline.tokens import encode_piece, encode_state
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

STAGE = "critic"
HEAD_FILE = "value_head.safetensors"


class ValueModel(nn.Module):
    """Backbone + linear value head; ``forward`` returns logits (apply sigmoid for V)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.config.hidden_size, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_backbone(cls, path: str, dtype: torch.dtype = torch.float32) -> ValueModel:
        from transformers import AutoModel

        return cls(AutoModel.from_pretrained(path, dtype=dtype))

    @classmethod
    def from_pretrained(cls, path: str | Path, dtype: torch.dtype = torch.float32) -> ValueModel:
        model = cls.from_backbone(str(path), dtype)
        model.head.load_state_dict(load_file(str(Path(path) / HEAD_FILE)))
        return model

    def save_pretrained(self, path: str | Path, state_dict: dict[str, Any] | None = None
                        ) -> None:
        """Backbone as a HF checkpoint plus the head; ``state_dict`` (this module's, e.g.
        gathered from every rank) instead of the live parameters."""
        state = state_dict if state_dict is not None else self.state_dict()
        self.backbone.save_pretrained(path, state_dict=sub_state_dict(state, "backbone."))
        save_file({k: v.contiguous() for k, v in sub_state_dict(state, "head.").items()},
                  str(Path(path) / HEAD_FILE))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask
                               ).last_hidden_state
        last = attention_mask.sum(dim=1) - 1
        picked = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        return self.head(picked.to(self.head.weight.dtype)).squeeze(-1)

    def action_values(self, state: list[int], actions: list[list[int]]) -> torch.Tensor:
        """V(s + a_i) for each action, computing the state once."""
        hidden = last_hidden_shared(self.backbone, state, actions)
        return torch.sigmoid(self.head(hidden.to(self.head.weight.dtype)).squeeze(-1))


def bce_soft(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE against soft targets in [0, 1]. Integer or bool targets are refused: casting MC
    values to bool silently turns 0.25 into 1 and inflates the critic's accuracy."""
    if not targets.is_floating_point():
        raise TypeError(f"critic targets must be float MC values, got {targets.dtype}")
    return nn.functional.binary_cross_entropy_with_logits(logits.float(), targets.float())


class _CriticCollator:
    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row["input_ids"])] = torch.tensor(row["input_ids"])
            mask[i, : len(row["input_ids"])] = 1
        targets = torch.tensor([r["target"] for r in rows], dtype=torch.float32)
        return {"input_ids": ids, "attention_mask": mask, "targets": targets,
                "rows": [r["row"] for r in rows]}


def _trainer_class() -> type:
    from transformers import Trainer

    class CriticTrainer(GlobalBatchMean, Trainer):
        """Trainer whose loss is BCE of the value head against soft MC targets, averaged
        over the states of the global batch."""

        def row_items(self, batch: dict[str, Any]) -> list[tuple[int, int]]:
            return [(row, 1) for row in batch["rows"]]

        def compute_loss(self, model: nn.Module, inputs: dict[str, Any],
                         return_outputs: bool = False, num_items_in_batch: Any = None,
                         **kwargs: Any) -> Any:
            targets = inputs.pop("targets")
            inputs.pop("rows", None)
            keep = fresh_mask(inputs.pop("fresh", None), targets.device)
            logits = model(**inputs)
            loss = self.weighted_mean(bce_soft, (logits, targets), keep, num_items_in_batch)
            return (loss, logits) if return_outputs else loss

    return CriticTrainer


def run(ctx: StageContext) -> Manifest:
    mc = ctx.require("mc")
    cfg = ctx.recipe.critic
    init = resolve_model(cfg.init) if cfg.init else ctx.reference_model
    fp = fingerprint(STAGE, {"critic": cfg, "seed": ctx.recipe.seed, "init": init}, [mc])
    if (found := ctx.finished(STAGE, fp)) is not None:
        return found
    directory = ctx.dir(STAGE)
    log = StageLog(directory, fp)
    log.open(all_ranks=True)
    from transformers import AutoTokenizer, set_seed

    set_seed(ctx.recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(init)
    rows = memory_mapped_rows(directory, (
        {"input_ids": encode_state(tokenizer, r["prompt"], r["steps"], cfg.max_length),
         "target": float(r["mc"]), "row": i} for i, r in enumerate(iter_items(ctx.dir("mc")))))
    args = training_arguments(directory / CHECKPOINTS, lr=cfg.lr, global_batch=cfg.batch_size,
                              micro_batch=cfg.micro_batch_size, epochs=cfg.epochs,
                              seed=ctx.recipe.seed, weight_decay=cfg.weight_decay,
                              warmup_ratio=cfg.warmup_ratio, bf16=cfg.bf16)
    model = ValueModel.from_backbone(init)  # after the arguments: ZeRO-3 loads partitioned
    trainer = _trainer_class()(model=model, args=args, train_dataset=rows,
                               data_collator=_CriticCollator(tokenizer.pad_token_id or 0),
                               callbacks=tracker_callbacks(ctx.tracker,
                                                           ctx.figure_prefix(STAGE)))
    figures = train_and_save(trainer, lambda state, path: model.save_pretrained(
        path, state_dict=state), tokenizer, directory)
    return log.finish(STAGE, {"states": len(rows), **figures},
                      world_size=figures["world_size"])


@torch.no_grad()
def score_actions(model: ValueModel, tokenizer: Any, prompt: str, steps: list[str],
                  actions: list[str], max_length: int) -> list[float]:
    state = encode_state(tokenizer, prompt, steps, max_length)
    ids = [encode_piece(tokenizer, a) for a in actions]
    return model.action_values(state, ids).tolist()
