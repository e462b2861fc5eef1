"""Where the toy base model lives: shipped with the package, rebuilt on demand.

The checkpoint in ``dapo_bench/toy/base_model/`` is the output of :func:`train_base` with the
settings recorded in its ``sft_log.json`` (about 10 minutes on one CPU core). A checkout without
it builds it once into the user's cache directory.
"""

from __future__ import annotations

from pathlib import Path

from dapo_bench.cache import cache_dir

TOY_BASE = "toy-base"
SHIPPED = Path(__file__).resolve().parent / "base_model"
SFT_SETTINGS = {"seed": 0, "n_examples": 32000, "epochs": 3, "batch_size": 64, "lr": 3e-3,
                "shortcut_share": 0.6, "slip_share": 0.15}


def toy_base_path(build: bool = True) -> Path:
    """The shipped checkpoint, else a cached build (made now when ``build``)."""
    if (SHIPPED / "model.safetensors").is_file():
        return SHIPPED
    cached = cache_dir() / TOY_BASE
    if not (cached / "model.safetensors").is_file() and build:
        from dapo_bench.toy.model import train_base

        train_base(cached, **SFT_SETTINGS)
    return cached
