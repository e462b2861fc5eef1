"""The model catalogue: every base model of the paper, and how the paper evaluated it.

An entry names the model as the paper's tables do (``paper_name``, also its name in a results
store), where its weights live (``hub_id``; None when no weights were published), the prompt
template of the Qwen2.5-Math evaluation toolkit that suits it, its stop strings and its
evaluation budget. Plug-ins add their own models with :func:`register_model`; a model that the
package builds itself is named ``builtin:NAME`` and resolved through its ``resolve`` callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from dapo_bench.errors import UserInputError
from dapo_bench.registry import Registry

BUILTIN_PREFIX = "builtin:"
QWEN_STOP = ("<|im_end|>", "<|endoftext|>")
LLAMA3_STOP = ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")


@dataclass(frozen=True)
class ModelSpec:
    alias: str
    paper_name: str
    hub_id: str | None
    group: Literal["SFT", "RL", "toy"]
    template: str  # prompt template name (dapo_bench.data.templates)
    stop: tuple[str, ...]
    eval_max_new_tokens: int = 2048
    dtype: str = "bfloat16"
    tensor_parallel_size: int = 1
    params_b: float = 7.0  # parameters in billions: scales the plan's throughput defaults
    note: str = ""
    resolve: Callable[[], str] | None = field(default=None, compare=False)

    @property
    def uses_chat_template(self) -> bool:
        from dapo_bench.data.templates import get_template

        return get_template(self.template).uses_chat_template


CATALOGUE: Registry[ModelSpec] = Registry("model")


def register_model(spec: ModelSpec) -> ModelSpec:
    return CATALOGUE.register(spec.alias, spec)


def get_model(alias: str) -> ModelSpec:
    return CATALOGUE.get(alias)


def model_aliases() -> list[str]:
    return CATALOGUE.names()


def resolve_model(name: str) -> str:
    """Turn ``builtin:NAME`` into the checkpoint path its plug-in provides; others pass."""
    if not name.startswith(BUILTIN_PREFIX):
        return name
    alias = name[len(BUILTIN_PREFIX):]
    builtin = {s.alias: s for s in CATALOGUE.values() if s.resolve is not None}
    spec = builtin.get(alias)
    if spec is None or spec.resolve is None:
        known = [f"{BUILTIN_PREFIX}{a}" for a in builtin]
        raise UserInputError(f"unknown builtin model {name!r}; known: {', '.join(known)}")
    return spec.resolve()


# The paper's base models (Tables 1-3). Templates follow the Qwen2.5-Math evaluation toolkit's
# choice per model family; the README's "Reproducing the paper" section gives the sources.
for _spec in (
    ModelSpec("skywork-math-llama", "Skywork-Math-LLama", None, "SFT", "qwen-cot-chat",
              LLAMA3_STOP, params_b=8.0,
              note="no public weights: pass --set base_model=PATH"),
    ModelSpec("llama3.1-8b-instruct", "Meta-Llama-3.1-8B-Instruct",
              "meta-llama/Llama-3.1-8B-Instruct", "SFT", "qwen-cot-chat", LLAMA3_STOP,
              params_b=8.0),
    ModelSpec("openo1-llama-8b", "OpenO1-LLama-8B-v0.1", "O1-OPEN/OpenO1-LLama-8B-v0.1", "SFT",
              "qwen-cot-chat", LLAMA3_STOP, eval_max_new_tokens=4096, params_b=8.0),
    ModelSpec("qwen2.5-72b-instruct", "Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-72B-Instruct",
              "SFT", "qwen25-math-cot", QWEN_STOP, tensor_parallel_size=4, params_b=72.0),
    ModelSpec("qwen2-math", "Qwen2-Math-7B-Instruct", "Qwen/Qwen2-Math-7B-Instruct", "RL",
              "qwen-boxed", QWEN_STOP),
    ModelSpec("skywork-o1-llama", "Skywork-o1-Open-Llama-3.1-8B",
              "Skywork/Skywork-o1-Open-Llama-3.1-8B", "RL", "skywork-o1", LLAMA3_STOP,
              eval_max_new_tokens=4096, params_b=8.0),
    ModelSpec("qwen2.5-math", "Qwen2.5-Math-7B-Instruct", "Qwen/Qwen2.5-Math-7B-Instruct", "RL",
              "qwen25-math-cot", QWEN_STOP),
):
    register_model(_spec)
