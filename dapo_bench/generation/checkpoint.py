"""Check a checkpoint argument before anything slow starts: one clear line when it is wrong.

A checkpoint is a local directory saved with ``save_pretrained`` or a hub id. A local
directory must hold ``config.json`` and tokenizer files; transformers 5 otherwise builds an
*empty* tokenizer without complaint, and every prompt would encode to nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dapo_bench.errors import UserInputError

# Files any HF tokenizer loads from; the directory needs at least one of them.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt",
                   "spiece.model", "sentencepiece.bpe.model", "tiktoken.model")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@dataclass(frozen=True)
class Checkpoint:
    """A resolved checkpoint: ``path`` is an absolute directory or a hub id."""

    path: str
    local: bool
    revision: str | None = None  # hub commit, when known
    fingerprint: str | None = None  # local: hash of config.json and weight file names/sizes

    @property
    def default_name(self) -> str:
        """Results name of the model: the directory's (or hub repo's) last component."""
        return Path(self.path).name if self.local else self.path.rsplit("/", 1)[-1]


def resolve_checkpoint(model: str | os.PathLike[str], revision: str | None = None
                       ) -> Checkpoint:
    """Validate ``model`` (a local checkpoint directory or a hub id) and describe it."""
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.exists():
        return _local(path)
    if _HUB_ID.match(text) and not text.startswith((".", "~")):
        return _hub(text, revision)
    raise UserInputError(f"checkpoint {text} does not exist (expected a directory saved with "
                         f"save_pretrained, or a hub id like org/name)")


def _local(path: Path) -> Checkpoint:
    if not path.is_dir():
        raise UserInputError(f"checkpoint {path} is a file; expected a checkpoint directory")
    if not (path / "config.json").is_file():
        raise UserInputError(f"checkpoint {path} has no config.json: not a HF checkpoint "
                             f"directory")
    if not any((path / name).is_file() for name in TOKENIZER_FILES) and not any(
            path.glob("*.tiktoken")):
        raise UserInputError(
            f"checkpoint {path} has no tokenizer (none of {', '.join(TOKENIZER_FILES[:3])}, "
            f"...): save one into it with tokenizer.save_pretrained")
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"checkpoint {path}: config.json is unreadable ({exc})") from exc
    return Checkpoint(path=str(path.resolve()), local=True, fingerprint=_fingerprint(path))


def _fingerprint(path: Path) -> str:
    """Cheap identity of a local checkpoint: config bytes plus weight file names and sizes
    (hashing the weights themselves would cost minutes on a 7B model)."""
    h = hashlib.sha256((path / "config.json").read_bytes())
    for f in sorted(path.iterdir()):
        if f.suffix in _WEIGHT_SUFFIXES or f.name.endswith(".index.json"):
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def _hub(repo: str, revision: str | None) -> Checkpoint:
    """Fetch the hub checkpoint's config and tokenizer now, so a machine without hub access
    fails here with one line rather than deep inside a backend."""
    try:
        from huggingface_hub import snapshot_download

        local = snapshot_download(repo, revision=revision,
                                  allow_patterns=["*.json", "*.model", "*.txt", "*.tiktoken"])
    except Exception as exc:
        raise UserInputError(
            f"checkpoint {repo} is not a local directory and could not be fetched from the hub "
            f"({type(exc).__name__}); pass a local checkpoint directory") from exc
    checked = _local(Path(local))
    commit = Path(local).name if len(Path(local).name) == 40 else revision
    return Checkpoint(path=repo, local=False, revision=commit, fingerprint=checked.fingerprint)


_DTYPE_NAMES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16",
                "bf16": "bfloat16", "float16": "float16", "fp16": "float16", "half": "float16"}


def resolve_dtype(model: str, dtype: str) -> str:
    """``auto`` -> the checkpoint's own dtype (``float32`` when its config names none).

    Both backends get the resolved name: vLLM's own ``auto`` runs float32 checkpoints in
    half precision, so the same command would otherwise compute different things on the
    two backends.
    """
    if dtype != "auto":
        if dtype not in _DTYPE_NAMES:
            raise UserInputError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or "
                                 "float16")
        return _DTYPE_NAMES[dtype]
    config: dict[str, object] = {}
    local = Path(model) / "config.json"
    try:
        if local.is_file():
            config = json.loads(local.read_text(encoding="utf-8"))
        else:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(model).to_dict()
    except Exception:  # unreadable config: the backends will report it in their own words
        return "float32"
    named = config.get("torch_dtype") or config.get("dtype") or "float32"
    return _DTYPE_NAMES.get(str(named).removeprefix("torch."), "float32")
