"""Recipe schema: every knob of a DAPO run, with the paper's defaults, loaded from YAML.

A recipe fully determines a run: each stage hashes the part of the recipe it reads, so a change
recomputes exactly the stages it affects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from dapo_bench.errors import DataError, validated


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RolloutConfig(_Section):
    n_samples: int = Field(128, ge=1)
    n_select: int = Field(6, ge=1)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_new_tokens: int = Field(2048, ge=1)
    limit_problems: int | None = Field(None, ge=1)
    chunk_size: int = Field(64, ge=1)


class StatesConfig(_Section):
    separator: str = "\n"


class MonteCarloConfig(_Section):
    n_completions: int = Field(16, ge=1)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_new_tokens: int = Field(2048, ge=1)
    chunk_size: int = Field(64, ge=1)


class CriticConfig(_Section):
    init: str | None = None  # backbone checkpoint; default: the iteration's reference policy
    lr: float = 5e-6
    batch_size: int = 512
    micro_batch_size: int = 8
    epochs: float = 1.0
    max_length: int = 4096
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    bf16: bool = False


class AdvantageConfig(_Section):
    source: Literal["critic", "mc", "shuffled"] = "critic"
    # unique_mean: mean Q over the unique actions trained on (advantages sum to zero there);
    # count_weighted: mean Q over all sampled actions (an estimate of V(s) under pi_ref).
    baseline: Literal["unique_mean", "count_weighted"] = "unique_mean"
    gap_threshold: float = Field(0.1, ge=0)
    unique_actions: bool = True


class PolicyConfig(_Section):
    beta: float = Field(0.01, gt=0)
    lr: float = 5e-7
    states_per_batch: int = Field(64, ge=1)  # all actions of a state share a batch
    micro_states: int = Field(4, ge=1)  # states per forward pass (gradient accumulation)
    epochs: float = 1.0
    max_length: int = 4096
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    max_grad_norm: float = 1.0
    bf16: bool = False
    eval_every: int | None = None  # steps between validation evaluations (None: never)


class EvalConfig(_Section):
    benchmarks: list[str] = Field(default_factory=lambda: ["math", "gsm8k", "minerva_math",
                                                           "olympiadbench", "college_math"])
    max_new_tokens: int = 2048
    limit: int | None = None


class Recipe(_Section):
    name: str
    base_model: str
    train_benchmark: str = "math_train"
    train_data: str | None = None  # HF id, JSONL file or data directory
    template: str = "qwen-cot"
    iterations: int = Field(1, ge=1)
    backend: Literal["auto", "vllm", "hf"] = "auto"
    dtype: str = "bfloat16"
    seed: int = 0
    tensor_parallel_size: int = 1
    hf_batch_size: int = 64  # sequences per generate() call of the HF backend
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    states: StatesConfig = Field(default_factory=StatesConfig)
    mc: MonteCarloConfig = Field(default_factory=MonteCarloConfig)
    critic: CriticConfig = Field(default_factory=CriticConfig)
    advantages: AdvantageConfig = Field(default_factory=AdvantageConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)


def config_hash(*parts: Any) -> str:
    """Stable hash of JSON-able parts (pydantic models are dumped first)."""
    text = json.dumps(list(parts), sort_keys=True, ensure_ascii=False, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot hash a {type(value).__name__}")


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load a recipe; relative model/data paths resolve against the recipe's folder."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(p, "recipe file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(p, f"invalid YAML: {exc}", line=mark.line + 1 if mark else None) from exc
    if not isinstance(data, dict):
        raise DataError(p, "a recipe is a YAML mapping")
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    recipe = validated(Recipe, data, p)
    assert isinstance(recipe, Recipe)
    return _resolve_paths(recipe, p.parent)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    *heads, last = key.split(".")
    for head in heads:
        node = node.setdefault(head, {})
    node[last] = value


def _resolve_paths(recipe: Recipe, base: Path) -> Recipe:
    def resolve(value: str | None) -> str | None:
        if value is None or Path(value).is_absolute():
            return value
        candidate = base / value
        return str(candidate.resolve()) if candidate.exists() else value

    from dapo_bench.toy.base import BUILTIN_PREFIX

    critic = recipe.critic.model_copy(update={"init": resolve(recipe.critic.init)})
    if recipe.base_model.startswith(BUILTIN_PREFIX):
        return recipe.model_copy(update={"train_data": resolve(recipe.train_data),
                                         "critic": critic})
    return recipe.model_copy(update={"base_model": resolve(recipe.base_model),
                                     "train_data": resolve(recipe.train_data), "critic": critic})
