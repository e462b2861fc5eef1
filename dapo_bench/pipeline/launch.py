"""Running under `accelerate launch`: who is the main process, how the ranks wait for it.

Trainer stages (critic, policy) run on every rank, as `Trainer` expects. The other stages run
on the main process while the other ranks wait at a barrier, then read its manifest: they
generate with vLLM or score with one model and gain nothing from a data-parallel split that the
Ray workers do not already give. Everything that writes the run directory (manifests, item
logs, train logs, curves, the saved model) is done once, on the main process.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


@lru_cache(maxsize=1)
def _state() -> Any:
    """accelerate's process state; on a machine without CUDA it must be told so (``cpu``) to
    join the launched ranks over gloo, as the Trainer's ``use_cpu`` also does."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def wait() -> None:
    """Barrier across the launched ranks (nothing to wait for in one process)."""
    if world_size() > 1:
        _state().wait_for_everyone()
