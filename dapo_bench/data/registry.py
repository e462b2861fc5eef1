"""The benchmark registry: a name -> how to load it, what kind of grading it needs.

A benchmark loads from an HF dataset id, a local JSONL file, or a data directory laid out like
``shared/data`` (one folder per benchmark). Loaders return :class:`Problem` records whose ``id``
is stable across runs (it keys per-sample records and resumption).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dapo_bench.errors import UserInputError

DATA_DIR_ENV = "DAPO_BENCH_DATA"


@dataclass(frozen=True)
class Problem:
    """One benchmark item. ``gold`` is the reference answer for math; code problems keep their
    tests and entry point in ``extra``."""

    id: str
    question: str
    gold: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Loader = Callable[[Path], list[Problem]]


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    kind: Literal["math", "code"]
    folder: str  # folder name inside a data directory
    files: tuple[str, ...]  # candidate file names inside that folder, first found wins
    load_file: Loader  # parses one local JSONL file
    default_template: str = "qwen-cot"  # prompt template name (dapo_bench.data.templates)
    hf_id: str | None = None
    hf_split: str = "test"
    expected_size: int | None = None
    description: str = ""
    load_hf: Callable[[str, str], list[Problem]] | None = None
    # Problems a plug-in makes itself (the toy task): used when no file or folder has them.
    builtin: Callable[[], list[Problem]] | None = None


REGISTRY: dict[str, BenchmarkSpec] = {}


def register(spec: BenchmarkSpec) -> BenchmarkSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"benchmark {spec.name!r} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def _ensure_loaded() -> None:
    """Import the modules that register benchmarks, then the plug-ins (kept out of import
    time of this module)."""
    import importlib

    from dapo_bench.plugins import load_plugins

    for module in ("dapo_bench.data.math_benchmarks", "dapo_bench.data.code_benchmarks"):
        importlib.import_module(module)
    load_plugins()


def get_benchmark(name: str) -> BenchmarkSpec:
    _ensure_loaded()
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise UserInputError(f"unknown benchmark {name!r}; registered: {known}")
    return REGISTRY[name]


def benchmark_names(kind: str | None = None) -> list[str]:
    _ensure_loaded()
    return sorted(n for n, s in REGISTRY.items() if kind is None or s.kind == kind)


def user_data_dir() -> Path:
    """Where `dapo-bench data fetch` puts the data when no directory is named:
    ``$XDG_DATA_HOME/dapo-bench/data`` (``~/.local/share/dapo-bench/data``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join("~", ".local", "share")
    return Path(base).expanduser() / "dapo-bench" / "data"


def default_data_dir() -> Path | None:
    """The data directory a command reads when none is passed: $DAPO_BENCH_DATA, else the
    user data directory once `data fetch` has made it."""
    value = os.environ.get(DATA_DIR_ENV)
    if value:
        return Path(value)
    return user_data_dir() if user_data_dir().is_dir() else None


BUILTIN = "builtin"


def resolve_source(spec: BenchmarkSpec, source: str | Path | None,
                   data_dir: str | Path | None) -> Path | str:
    """Where to load ``spec`` from: an explicit file, a data directory, the package's own
    problems (:data:`BUILTIN`), or the HF hub id."""
    if source is not None and Path(source).is_file():
        return Path(source)
    directory = Path(source) if source is not None and Path(source).is_dir() else (
        Path(data_dir) if data_dir is not None else default_data_dir())
    if directory is not None:
        for base in (directory / spec.folder, directory):
            for name in spec.files:
                if (base / name).is_file():
                    return base / name
        if spec.builtin is not None and source is None:
            return BUILTIN
        implicit = source is None and data_dir is None and not os.environ.get(DATA_DIR_ENV)
        if implicit and spec.hf_id is not None:
            return spec.hf_id  # the user data directory lacks it: the hub, as without one
        raise UserInputError(
            f"no data for benchmark {spec.name!r} in {directory}: expected "
            f"{spec.folder}/{spec.files[0]} (download it: {_fetch_hint(spec.name, directory)})")
    if source is not None:
        return str(source)  # an HF dataset id
    if spec.builtin is not None:
        return BUILTIN
    if spec.hf_id is None:
        raise UserInputError(f"benchmark {spec.name!r} has no hub dataset; pass --data-dir DIR, "
                             f"or download it: {_fetch_hint(spec.name)}")
    return spec.hf_id


def _fetch_hint(name: str, directory: Path | None = None) -> str:
    out = f" --out {directory}" if directory is not None else ""
    return f"dapo-bench data fetch --benchmarks {name}{out}"


def load_benchmark(name: str, source: str | Path | None = None,
                   data_dir: str | Path | None = None, limit: int | None = None
                   ) -> list[Problem]:
    spec = get_benchmark(name)
    where = resolve_source(spec, source, data_dir)
    if isinstance(where, Path):
        problems = spec.load_file(where)
    elif where == BUILTIN and spec.builtin is not None:
        problems = spec.builtin()
    else:
        if spec.load_hf is None:
            raise UserInputError(f"benchmark {name!r} cannot load from the hub; pass --data-dir "
                                 f"DIR, or download it: {_fetch_hint(name)}")
        try:
            problems = spec.load_hf(where, spec.hf_split)
        except Exception as exc:  # network, auth or missing dataset: one clear line
            raise UserInputError(
                f"could not load {name!r} from the hub ({where}): {type(exc).__name__}; "
                f"without hub access pass --data-dir DIR (or set {DATA_DIR_ENV}), or download "
                f"it: {_fetch_hint(name)}") from exc
    if not problems:
        raise UserInputError(f"benchmark {name!r} loaded from {where} holds no problems")
    return problems[:limit] if limit is not None else problems
