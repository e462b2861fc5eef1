"""The smallest recipe that runs every DAPO stage on the toy model in seconds (the HF backend,
3 training problems); tests of the stage runner, resumption and the run lock write it out."""

from __future__ import annotations

from typing import Any

TINY_RECIPE: dict[str, Any] = {
    "name": "e2e", "base_model": "builtin:toy-base", "train_benchmark": "toy_arith_train",
    "template": "toy", "iterations": 1, "backend": "hf", "dtype": "float32", "seed": 3,
    "rollout": {"n_samples": 4, "n_select": 2, "max_new_tokens": 48, "limit_problems": 3,
                "chunk_size": 3},
    "mc": {"n_completions": 4, "max_new_tokens": 48, "chunk_size": 1},
    "critic": {"lr": 1e-3, "batch_size": 8, "micro_batch_size": 8, "epochs": 1,
               "max_length": 128},
    "advantages": {"source": "mc", "gap_threshold": 0.0},
    "policy": {"beta": 0.1, "lr": 1e-4, "states_per_batch": 4, "micro_states": 2, "epochs": 1,
               "max_length": 128},
}

