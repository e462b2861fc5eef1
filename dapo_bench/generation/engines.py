"""One engine, many checkpoints: an idle engine is kept and handed to the next user, which
loads its checkpoint into it instead of starting another (25-40 s on CPU, minutes for a 7B
model on a GPU).

- :func:`acquire` returns a generator for a checkpoint: the kept one when its settings match
  (new weights loaded in place when the checkpoint differs and the backend can), else a new
  one; :func:`release` keeps a generator for the next :func:`acquire`.
- A checkpoint can go into a running engine only when it has the same architecture and
  tokenizer (see :func:`same_shape`); otherwise, or where the backend cannot reload, the old
  engine is closed and a new one started.
- :func:`free_device_memory` closes a kept engine that holds accelerator memory: the pipeline
  calls it before training, which needs that memory. On CPU the engine stays (its KV cache is
  a fixed, explicitly sized allocation).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from dapo_bench.generation import make_generator, resolve_backend
from dapo_bench.generation.base import BaseGenerator

log = logging.getLogger(__name__)

#: config.json entries that name or describe a checkpoint without changing its shape
#: (transformers 5 writes the loading flags into the config of a model it saves).
_CONFIG_NOISE = {"_name_or_path", "_commit_hash", "transformers_version", "torch_dtype",
                 "dtype", "architectures", "use_cache", "is_local", "local_files_only"}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "vocab.json", "merges.txt", "tokenizer.model")

_kept: tuple[tuple[Any, ...], BaseGenerator] | None = None
stats = {"started": 0, "reloaded": 0, "reused": 0}


def _settings_key(backend: str, dtype: str, seed: int, kwargs: dict[str, Any]) -> tuple:
    chosen, _ = resolve_backend(backend)
    return (chosen, dtype, seed, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))


def _shape_of(path: str) -> tuple[dict[str, Any], str] | None:
    directory = Path(path)
    config = directory / "config.json"
    if not config.is_file():
        return None  # a hub id: nothing local to compare
    digest = hashlib.sha256()
    for name in _TOKENIZER_FILES:
        file = directory / name
        if file.is_file():  # JSON compared as data: a re-saved tokenizer is laid out anew
            content = json.dumps(_meaningful(file), sort_keys=True).encode() \
                if file.suffix == ".json" else file.read_bytes()
            digest.update(name.encode() + b"\0" + content)
    return _meaningful(config), digest.hexdigest()


def _meaningful(file: Path) -> Any:
    data = json.loads(file.read_text())
    return {k: v for k, v in data.items() if k not in _CONFIG_NOISE} \
        if isinstance(data, dict) else data


def same_shape(a: str, b: str) -> bool:
    """Whether checkpoint ``b`` can be loaded into an engine built for ``a``: the same config
    (names and dtype aside) and the same tokenizer files, both local directories."""
    left, right = _shape_of(a), _shape_of(b)
    return left is not None and left == right


def acquire(model_path: str, *, backend: str = "auto", dtype: str = "float32", seed: int = 0,
            **kwargs: Any) -> BaseGenerator:
    """A generator for ``model_path`` (arguments as :func:`make_generator`'s)."""
    global _kept
    from dapo_bench.generation.checkpoint import resolve_checkpoint, resolve_dtype

    path = resolve_checkpoint(model_path).path
    dtype = resolve_dtype(path, dtype)
    key = _settings_key(backend, dtype, seed, kwargs)
    if _kept is not None:
        kept_key, generator = _kept
        _kept = None
        if kept_key == key:
            if generator.model_path == path:
                stats["reused"] += 1
                return generator
            if same_shape(generator.model_path, path) and generator.load_weights(path):
                stats["reloaded"] += 1
                log.info("loaded %s into the running %s engine", path, generator.backend)
                return generator
        generator.close()
    generator = make_generator(path, backend=backend, dtype=dtype, seed=seed, **kwargs)
    generator.engine_key = key  # type: ignore[attr-defined]
    stats["started"] += 1
    return generator


def release(generator: BaseGenerator) -> None:
    """Keep ``generator`` for the next :func:`acquire` (closing one kept before); a generator
    that :func:`acquire` did not make, or that cannot take new weights, is closed."""
    global _kept
    key = getattr(generator, "engine_key", None)
    if key is None or not generator.reloadable:
        generator.close()
        return
    if _kept is not None and _kept[1] is not generator:
        _kept[1].close()
    _kept = (key, generator)


def free_device_memory() -> None:
    """Close the kept engine if it holds accelerator memory."""
    if _kept is not None and _kept[1].holds_device_memory:
        close_kept()


def close_kept() -> None:
    global _kept
    if _kept is not None:
        _kept[1].close()
        _kept = None


atexit.register(close_kept)
