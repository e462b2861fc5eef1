"""Recipe schema: every knob of a DAPO run, with the paper's defaults, loaded from YAML.

A recipe fully determines a run: each stage hashes the part of the recipe it reads, so a change
recomputes exactly the stages it affects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dapo_bench.errors import DataError, UserInputError, validated
from dapo_bench.models import BUILTIN_PREFIX


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
    # No state passed the advantage gap filter: stop with an error, or keep the reference
    # policy as this iteration's (a chance outcome at smoke sizes). Not in the fingerprint.
    if_empty: Literal["error", "keep_reference"] = "error"


class EvalConfig(_Section):
    benchmarks: list[str] = Field(default_factory=lambda: ["math", "gsm8k", "minerva_math",
                                                           "olympiadbench", "college_math"])
    max_new_tokens: int = Field(2048, ge=1)
    template: str | None = None  # None: the recipe's template
    stop: list[str] = Field(default_factory=list)  # extra stop strings (the model's own)
    limit: int | None = Field(None, ge=1)


class DistributedConfig(_Section):
    """Where generation runs. Not part of any stage's fingerprint: the samples are the same
    whatever the number of workers (per-request seeds, jobs cut the same way)."""

    engine: Literal["local", "ray"] = "local"
    address: str | None = None  # "auto", "ray://host:10001", or None: a local Ray cluster
    workers: int = Field(1, ge=1)  # generation workers (Ray actors), one engine each
    gpus_per_worker: float = Field(0, ge=0)  # tensor-parallel GPUs inside one worker
    cpus_per_worker: float = Field(1, ge=0)
    max_retries: int = Field(2, ge=0)  # restarts of a dead actor, then its job moves on

    def gpu_mismatch(self, tensor_parallel_size: int) -> str | None:
        """Why these workers cannot hold engines of ``tensor_parallel_size`` GPUs (None: they
        can): a worker's engine spans exactly the GPUs Ray gives it."""
        if self.engine == "ray" and self.gpus_per_worker >= 1 and \
                self.gpus_per_worker != tensor_parallel_size:
            return (f"distributed.gpus_per_worker is {self.gpus_per_worker:g} but the engine's "
                    f"tensor-parallel size is {tensor_parallel_size}: set them equal")
        return None


TRACKERS = ("tensorboard", "wandb", "mlflow")


class LoggingConfig(_Section):
    """Where the stages' figures and the trainers' curves go. Not part of any stage's
    fingerprint: logging changes no weight and no sample."""

    # tensorboard writes under <run>/tensorboard; wandb and mlflow need their package.
    report_to: list[Literal["tensorboard", "wandb", "mlflow"]] = Field(
        default_factory=lambda: ["tensorboard"])
    project: str | None = None  # W&B project / MLflow experiment (default: the recipe name)


class Recipe(_Section):
    name: str
    model: str | None = None  # catalogue alias (dapo_bench.models): fills the fields below
    table: str | None = None  # the paper table this recipe reproduces a row of
    base_model: str | None = None  # checkpoint dir, hub id or builtin:NAME
    train_benchmark: str = "math_train"
    train_data: str | None = None  # HF id, JSONL file or data directory
    template: str = "qwen-cot"
    iterations: int = Field(1, ge=1)
    backend: Literal["auto", "vllm", "hf"] = "auto"
    dtype: str = "bfloat16"
    seed: int = 0
    tensor_parallel_size: int = Field(1, ge=1)
    hf_batch_size: int = Field(64, ge=1)  # sequences per generate() call of the HF backend
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    states: StatesConfig = Field(default_factory=StatesConfig)
    mc: MonteCarloConfig = Field(default_factory=MonteCarloConfig)
    critic: CriticConfig = Field(default_factory=CriticConfig)
    advantages: AdvantageConfig = Field(default_factory=AdvantageConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="before")
    @classmethod
    def _catalogue_defaults(cls, data: Any) -> Any:
        """Fields a recipe leaves out come from its model's catalogue entry."""
        if not isinstance(data, dict) or not data.get("model"):
            return data
        from dapo_bench.models import get_model

        spec = get_model(data["model"])
        out = dict(data)
        for key, value in (("base_model", spec.hub_id), ("template", spec.template),
                           ("dtype", spec.dtype),
                           ("tensor_parallel_size", spec.tensor_parallel_size)):
            if out.get(key) is None and value is not None:
                out[key] = value
        ev = dict(out.get("eval") or {})
        ev.setdefault("max_new_tokens", spec.eval_max_new_tokens)
        ev.setdefault("stop", list(spec.stop))
        out["eval"] = ev
        return out

    @model_validator(mode="after")
    def _workers_fit_their_engines(self) -> Recipe:
        if (why := self.distributed.gpu_mismatch(self.tensor_parallel_size)) is not None:
            raise ValueError(why)
        return self

    def require_base_model(self) -> str:
        if self.base_model:
            return self.base_model
        from dapo_bench.models import get_model

        note = get_model(self.model).note if self.model else ""
        raise UserInputError(f"recipe {self.name!r} names no base model"
                             + (f" ({note})" if note else "; pass --set base_model=PATH"))


def config_hash(*parts: Any) -> str:
    """Stable hash of JSON-able parts (pydantic models are dumped first)."""
    text = json.dumps(list(parts), sort_keys=True, ensure_ascii=False, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot hash a {type(value).__name__}")


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (dotted keys, YAML values) as a mapping, in order."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"--set takes KEY=VALUE (e.g. policy.beta=0.02), got {item!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise UserInputError(f"--set {key}: the value is not valid YAML ({exc})") from None
    return parsed


def distributed_options(workers: int | None, address: str | None,
                        overrides: Iterable[str]) -> DistributedConfig | None:
    """A ``distributed`` section from command-line options (``eval``): ``--workers`` and
    ``--ray-address`` imply Ray; ``--set distributed.KEY=VALUE`` sets the rest. None when
    nothing asks for workers."""
    data: dict[str, Any] = {}
    for key, value in parse_overrides(overrides).items():
        head, _, field = key.partition(".")
        if head != "distributed" or not field or "." in field:
            raise UserInputError(f"--set {key}: here only distributed.KEY=VALUE can be set")
        data[field] = value
    if workers is not None:
        data["workers"] = workers
    if address is not None:
        data["address"] = address
    if not data:
        return None
    data.setdefault("engine", "ray")
    try:
        return DistributedConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise UserInputError(f"--set distributed.{field}: {err['msg']}") from None


def read_recipe_data(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A recipe file as a mapping, with what it ``extends:`` (a path or list of paths,
    relative to the file) merged underneath it, key by key."""
    p = Path(path)
    if p.resolve() in _seen:
        chain = " -> ".join(str(x) for x in (*_seen, p.resolve()))
        raise DataError(p, f"recipes extend each other in a cycle: {chain}", field="extends")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(p, "recipe file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(p, f"invalid YAML: {exc}", line=mark.line + 1 if mark else None) from exc
    if not isinstance(data, dict):
        raise DataError(p, "a recipe is a YAML mapping")
    parents = data.pop("extends", None)
    if parents is None:
        return data
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(x, str) for x in parents):
        raise DataError(p, "a path or a list of paths", field="extends")
    merged: dict[str, Any] = {}
    for parent in parents:
        merged = _deep_merge(merged, read_recipe_data(p.parent / parent, (*_seen, p.resolve())))
    return _deep_merge(merged, data)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load a recipe (with what it extends and the ``--set`` overrides); relative model and
    data paths resolve against the recipe's folder."""
    p = Path(path)
    data = read_recipe_data(p)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    recipe = validated(Recipe, data, p)
    assert isinstance(recipe, Recipe)
    return _resolve_paths(recipe, p.parent)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    *heads, last = key.split(".")
    for head in heads:
        child = node.setdefault(head, {})
        if not isinstance(child, dict):
            raise UserInputError(f"--set {key}: {head!r} is not a section")
        node = child
    node[last] = value


def _resolve_paths(recipe: Recipe, base: Path) -> Recipe:
    def resolve(value: str | None) -> str | None:
        if value is None or value.startswith(BUILTIN_PREFIX) or Path(value).is_absolute():
            return value
        candidate = base / value
        return str(candidate.resolve()) if candidate.exists() else value

    critic = recipe.critic.model_copy(update={"init": resolve(recipe.critic.init)})
    return recipe.model_copy(update={"base_model": resolve(recipe.base_model),
                                     "train_data": resolve(recipe.train_data), "critic": critic})
