"""Trainer plumbing the critic and policy stages share: arguments, resumption, saving."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

CHECKPOINTS = "checkpoints"


def training_arguments(out: Path, *, lr: float, global_batch: int, micro_batch: int,
                       epochs: float, seed: int, weight_decay: float, warmup_ratio: float,
                       bf16: bool, max_grad_norm: float = 1.0, save_steps: int = 500) -> Any:
    """TrainingArguments with a global batch made of micro-batches times accumulation times
    the launched ranks. Created before the model is loaded, so that under DeepSpeed ZeRO-3
    (an accelerate config) ``from_pretrained`` loads the weights already partitioned."""
    from transformers import TrainingArguments

    from dapo_bench.pipeline.launch import world_size

    ranks = world_size()
    micro = max(1, min(micro_batch, global_batch // ranks or 1))
    steps = max(1, math.ceil(global_batch / (micro * ranks)))
    return TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=micro,
        gradient_accumulation_steps=steps, learning_rate=lr,
        num_train_epochs=epochs, seed=seed, data_seed=seed, weight_decay=weight_decay,
        warmup_steps=warmup_ratio, bf16=bf16, max_grad_norm=max_grad_norm, logging_steps=1,
        save_strategy="steps", save_steps=save_steps, save_total_limit=1, report_to=[],
        remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
        use_cpu=not torch.cuda.is_available())


def tracker_callbacks(tracker: Any, prefix: str) -> list[Any]:
    """A Trainer callback that sends each logged step (loss, KL, learning rate, gradient
    norm) to the run's tracker as it happens, under ``<prefix>/<key>``: the live curves.
    The numbers are the ones ``train_log.json`` keeps; training itself is untouched."""
    if tracker is None:
        return []
    from transformers import TrainerCallback

    from dapo_bench.report.figures import train_log_scalars

    class _ToTracker(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            if state.is_world_process_zero and logs:
                for key, value in train_log_scalars(logs).items():
                    tracker.scalar(f"{prefix}/{key}", value, state.global_step)

    return [_ToTracker()]


class GlobalBatchMean:
    """Mixin for a Trainer subclass whose loss is a mean over items (states, pairs): the mean
    over the items of the *global* batch, however it is cut into micro-batches and ranks, so
    that one process and N ranks optimise the same objective on the same items.

    Trainer's default averages per-micro-batch means, which weighs a short micro-batch (the
    end of an epoch, a rank with fewer pairs) like a full one. Here each micro-batch's mean is
    scaled by its share of the global batch's items (counted over the accumulation steps and
    gathered from every rank) times the ranks that DDP averages over. And the rows accelerate
    repeats at the end of an epoch so that every rank takes the last step (``even_batches``:
    rows from the epoch's start) are given no weight: each row counts once an epoch, as in one
    process. In one process without accumulation the factor is exactly 1.0 and nothing is
    repeated, so single-process results are bit for bit what a plain mean gives.
    """

    loss_is_scaled_for_ga = True  # Trainer must not divide by the accumulation steps again

    def row_items(self, batch: Any) -> list[tuple[int, int]]:
        """(dataset row, items in it) of each row of a micro-batch."""
        raise NotImplementedError

    def get_batch_samples(self, epoch_iterator: Any, num_batches: int, device: Any
                          ) -> tuple[list[Any], Any]:
        from accelerate.utils import gather_object

        batches, _ = super().get_batch_samples(epoch_iterator, num_batches, device)  # type: ignore[misc]
        mine = [self.row_items(b) for b in batches]
        args = self.args  # type: ignore[attr-defined]
        everyone = gather_object([mine]) if args.world_size > 1 else [mine]
        seen: set[int] = self.__dict__.setdefault("_rows_seen", set())
        total = 0
        fresh_here: list[list[bool]] = []
        for step in range(max((len(steps) for steps in everyone), default=0)):
            for rank, steps in enumerate(everyone):  # rank order: the first copy counts
                if step >= len(steps):
                    continue
                fresh = []
                for row, items in steps[step]:
                    fresh.append(row not in seen)
                    if fresh[-1]:
                        seen.add(row)
                        total += items
                if rank == args.process_index:
                    fresh_here.append(fresh)
        if len(seen) >= len(self.train_dataset):  # type: ignore[attr-defined]
            seen.clear()  # the epoch is complete: its repeats, if any, were in this step
        for batch, fresh in zip(batches, fresh_here, strict=True):
            batch["fresh"] = fresh
        return batches, torch.tensor(total, device=device)

    def global_mean(self, mean_loss: torch.Tensor, items: int, num_items_in_batch: Any
                    ) -> torch.Tensor:
        """``mean_loss`` over ``items`` items as its share of the global batch's mean."""
        if num_items_in_batch is None:  # evaluation, or a caller outside the training loop
            return mean_loss
        total = int(num_items_in_batch)
        ranks = self.accelerator.num_processes  # type: ignore[attr-defined]
        return mean_loss * (items * ranks / total)

    def weighted_mean(self, loss: Callable[..., torch.Tensor],
                      tensors: tuple[torch.Tensor, ...], keep: torch.Tensor | None,
                      num_items_in_batch: Any) -> torch.Tensor:
        """``loss(*tensors)`` (a mean over their items) over the items ``keep`` selects
        (None: all), as its share of the global batch's mean. A micro-batch of repeats only
        gives a zero that still takes part in the step, as DDP needs."""
        if keep is None:
            return self.global_mean(loss(*tensors), len(tensors[0]), num_items_in_batch)
        if not keep.any():
            return tensors[0].sum() * 0.0
        return self.global_mean(loss(*(t[keep] for t in tensors)), int(keep.sum()),
                                num_items_in_batch)


def fresh_mask(fresh: list[bool] | None, device: Any) -> torch.Tensor | None:
    """The rows to weigh (None: all of them, the usual case)."""
    if fresh is None or all(fresh):
        return None
    return torch.tensor(fresh, dtype=torch.bool, device=device)


ROWS = "rows.arrow"  # a trainer stage's tokenised training set, while it trains


def memory_mapped_rows(directory: Path, rows: Iterable[dict[str, Any]], *,
                       batch: int = 4096) -> Any:
    """The training rows as a ``datasets.Dataset`` memory-mapped from an Arrow file: written
    by the main process a batch at a time as the rows are made, then opened by every rank.
    Held as Python lists, Table 1's ~675,000 critic states would take ~12 GB on each rank;
    mapped, the page cache holds what the sampler touches. The rows read back are the values
    written (ints and floats as they were), in the same order, so training is unchanged.
    Removed with the resume checkpoints when the stage finishes."""
    import pyarrow as pa
    from datasets import Dataset

    from dapo_bench.pipeline import launch

    path = directory / ROWS
    if launch.is_main():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(ROWS + ".tmp")
        source, writer = iter(rows), None
        with pa.OSFile(str(tmp), "wb") as sink:
            while chunk := list(itertools.islice(source, batch)):
                table = pa.Table.from_pylist(chunk, schema=writer.schema if writer else None)
                writer = writer or pa.ipc.new_stream(sink, table.schema)
                writer.write_table(table)
            if writer is None:
                raise ValueError(f"no training rows for {directory}")
            writer.close()
        os.replace(tmp, path)
    launch.wait()
    return Dataset.from_file(str(path))


def train_and_save(trainer: Any, save: Any, tokenizer: Any, directory: Path) -> dict[str, Any]:
    """Train (resuming from the stage's last checkpoint), then save with ``save(state_dict,
    path)`` on the main process from the consolidated state dict (gathered from every rank
    under ZeRO-3 or FSDP), the tokenizer beside it, and the log history to
    ``train_log.json``; return step and loss figures for the stage summary.

    The Trainer's stdout printer is dropped: the summary and ``train_log.json`` keep the
    numbers, and progress bars stay readable.
    """
    from transformers.trainer_callback import PrinterCallback
    from transformers.trainer_utils import get_last_checkpoint
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    trainer.remove_callback(PrinterCallback)
    checkpoints = directory / CHECKPOINTS
    resume = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    trainer.train(resume_from_checkpoint=resume)
    wrapped = trainer.model_wrapped if trainer.model_wrapped is not None else trainer.model
    state = trainer.accelerator.get_state_dict(wrapped)  # collective: every rank calls it
    history = trainer.state.log_history
    if trainer.is_world_process_zero():
        save(state, directory / "model")
        tokenizer.save_pretrained(directory / "model")
        (directory / "train_log.json").write_text(json.dumps(history, indent=1))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        # Resume points are for an interrupted stage; a finished one keeps only its model
        # (at 7B a checkpoint with Adam's moments is ~100 GB, seven times the model).
        shutil.rmtree(checkpoints, ignore_errors=True)
        (directory / ROWS).unlink(missing_ok=True)
    losses = [h["loss"] for h in history if "loss" in h]
    return {"steps": trainer.state.global_step, "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "world_size": trainer.args.world_size}


def sub_state_dict(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of a wrapper's state dict under ``prefix`` (``"lm."``), prefix removed."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
