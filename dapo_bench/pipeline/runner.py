"""Stage bookkeeping: run directories, manifests, resumable per-item logs.

A stage writes into ``<run>/iter<k>/<stage>/``. While it runs, items are appended to
``items.jsonl`` (one record per finished item, keyed by a stable id) next to ``partial.json``,
which holds the stage's fingerprint. It ends by atomically writing ``manifest.json``. A stage is
skipped when its manifest's fingerprint (config hash plus the fingerprints of its inputs)
matches; a partial log with the same fingerprint is resumed; anything else is discarded.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dapo_bench.config import Recipe, config_hash
from dapo_bench.errors import UserInputError
from dapo_bench.jsonio import (
    JsonlAppender,
    atomic_write_json,
    iter_jsonl,
    read_json,
)

STAGES = ("rollouts", "states", "mc", "critic", "advantages", "ref_logps", "policy")
ITEMS = "items.jsonl"
MANIFEST = "manifest.json"
PARTIAL = "partial.json"
RECIPE_COPY = "recipe.json"


@dataclass(frozen=True)
class Manifest:
    stage: str
    fingerprint: str
    summary: dict[str, Any]

    @staticmethod
    def read(path: Path) -> Manifest | None:
        if not path.is_file():
            return None
        data = read_json(path)
        return Manifest(stage=data["stage"], fingerprint=data["fingerprint"],
                        summary=data.get("summary", {}))


class RunDir:
    """One DAPO run: a recipe and, per iteration, one folder per stage."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def stage_dir(self, iteration: int, stage: str) -> Path:
        return self.root / f"iter{iteration}" / stage

    def manifest(self, iteration: int, stage: str) -> Manifest | None:
        return Manifest.read(self.stage_dir(iteration, stage) / MANIFEST)

    def require(self, iteration: int, stage: str) -> Manifest:
        """The manifest of a finished earlier stage, or a clear error naming what to run."""
        found = self.manifest(iteration, stage)
        if found is None:
            raise UserInputError(
                f"stage '{stage}' of iteration {iteration} has not finished in {self.root}; "
                f"run `dapo-bench train {stage} --run {self.root} --iteration {iteration}` "
                f"(or `dapo-bench train all`) first")
        return found

    def bind_recipe(self, recipe: Recipe) -> None:
        """Record the recipe in a new run dir (main process); refuse a run dir made by
        another recipe."""
        from dapo_bench.pipeline import launch

        path = self.root / RECIPE_COPY
        data = recipe.model_dump(mode="json")
        if path.is_file():
            stored = read_json(path)
            if stored.get("name") != recipe.name:
                raise UserInputError(
                    f"{self.root} was made by recipe '{stored.get('name')}', not "
                    f"'{recipe.name}'; use another --run directory")
        if launch.is_main():
            atomic_write_json(path, data)

    def recipe(self) -> Recipe:
        path = self.root / RECIPE_COPY
        if not path.is_file():
            raise UserInputError(f"{self.root} is not a run directory (no {RECIPE_COPY}); "
                                 f"start one with `dapo-bench train all --recipe FILE --run "
                                 f"{self.root}`")
        return Recipe.model_validate(read_json(path))


class StageLog:
    """The resumable item log of one stage execution."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.path = directory / ITEMS

    def open(self, all_ranks: bool = False, keep: Callable[[dict[str, Any]], Any] | None = None
             ) -> dict[str, Any]:
        """Prepare the directory and return the items already finished under this fingerprint,
        by id: each item, or what ``keep`` takes of it (a stage's summary needs a number or
        two per item, and the Monte-Carlo log of a paper-sized run is tens of GB).
        ``all_ranks``: a trainer stage, run by every launched rank; only the main process
        prepares the directory, the others wait for it."""
        from dapo_bench.pipeline import launch

        if not all_ranks:
            return self._open(keep)
        found = self._open(keep) if launch.is_main() else {}
        launch.wait()
        return found

    def _open(self, keep: Callable[[dict[str, Any]], Any] | None) -> dict[str, Any]:
        partial = self.directory / PARTIAL
        if partial.is_file() and read_json(partial).get("fingerprint") == self.fingerprint:
            take = keep or (lambda obj: obj)
            return {obj["id"]: take(obj)
                    for _, obj in iter_jsonl(self.path, tolerate_torn_tail=True)} \
                if self.path.is_file() else {}
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        atomic_write_json(partial, {"fingerprint": self.fingerprint})
        return {}

    def appender(self) -> JsonlAppender:
        return JsonlAppender(self.path)

    def finish(self, stage: str, summary: dict[str, Any], *, order: list[str] | None = None,
               **facts: Any) -> Manifest:
        """Seal the stage. ``order``: the canonical order of its items (its inputs' order);
        items that finished in another order (resumed, or from several workers) are rewritten
        in it, so what later stages read does not depend on how this one ran. ``facts`` (where
        it ran, the world size) are recorded in the manifest, outside the fingerprint."""
        from dapo_bench.pipeline import launch

        if not launch.is_main():
            return Manifest(stage, self.fingerprint, summary)
        if order is not None and self.path.is_file():
            self._reorder(order)
        stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        atomic_write_json(self.directory / MANIFEST, {
            "stage": stage, "fingerprint": self.fingerprint, "summary": summary,
            "finished_at": stamp, **facts})
        (self.directory / PARTIAL).unlink(missing_ok=True)
        return Manifest(stage, self.fingerprint, summary)


    def _reorder(self, order: list[str]) -> None:
        """Rewrite the log in ``order`` (the last line of an id wins), holding the position of
        each line rather than the lines: memory grows with the number of items, not with the
        log's size, and the log is read twice and written once."""
        rank = {item_id: k for k, item_id in enumerate(order)}
        where: dict[Any, tuple[int, int, int]] = {}  # id -> (rank, offset, length)
        lines = 0
        with self.path.open("rb") as handle:
            offset = 0
            for line in handle:
                if line.strip():
                    item_id = _line_id(line)
                    where[item_id] = (rank.get(item_id, len(rank)), offset, len(line))
                    lines += 1
                offset += len(line)
        spans = list(where.values())
        if lines == len(spans) and all(a[0] < b[0] for a, b in itertools.pairwise(spans)):
            return  # already in order, each item once
        spans.sort()
        tmp = self.path.with_name(self.path.name + ".reorder")
        with self.path.open("rb") as source, tmp.open("wb") as target:
            for _, start, length in spans:
                source.seek(start)
                line = source.read(length)
                target.write(line if line.endswith(b"\n") else line + b"\n")
            target.flush()
            os.fsync(target.fileno())
        os.replace(tmp, self.path)


_ID_PREFIX = b'{"id": "'


def _line_id(line: bytes) -> Any:
    """The ``id`` of a logged item. The stages write it first, so it is read off the line's
    start without parsing the rest (the seal of a tens-of-GB log is bound by this); anything
    else is parsed."""
    if line.startswith(_ID_PREFIX):
        end = line.find(b'"', len(_ID_PREFIX))
        found = line[len(_ID_PREFIX):end]
        if end > 0 and b"\\" not in found:
            return found.decode("utf-8")
    return json.loads(line)["id"]


def fingerprint(stage: str, config: Any, inputs: Iterable[Manifest | str]) -> str:
    """A stage's identity: its own config and the identities of what it reads."""
    return config_hash(stage, config, [m.fingerprint if isinstance(m, Manifest) else m
                                       for m in inputs])


def read_items(directory: Path) -> list[dict[str, Any]]:
    return list(iter_items(directory))


def iter_items(directory: Path) -> Iterator[dict[str, Any]]:
    """A finished stage's items, one at a time (what a later stage streams through)."""
    if (directory / ITEMS).is_file():
        for _, obj in iter_jsonl(directory / ITEMS):
            yield obj


#: An unfinished stage's log larger than this is reported by size, not counted line by line
#: (Ctrl-C should not wait on reading tens of GB).
_COUNT_LIMIT = 1 << 30


def kept_note(root: Path) -> str:
    """What an interrupted run directory keeps, for the line Ctrl-C prints: its finished
    stages and the items its unfinished ones logged (a rerun redoes neither)."""
    finished = sum(1 for _ in root.glob(f"iter*/*/{MANIFEST}"))
    items, size = 0, 0
    for partial in root.glob(f"iter*/*/{PARTIAL}"):
        log = partial.parent / ITEMS
        if not log.is_file() or (partial.parent / MANIFEST).exists():
            continue
        length = log.stat().st_size
        if length > _COUNT_LIMIT:
            size += length
            continue
        with log.open("rb") as handle:
            items += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    logged = f"the {items} item(s) logged so far" + (
        f" (and {size / 1e9:.1f} GB of item logs)" if size else "")
    return f"kept {finished} finished stage(s) and {logged} in {root}"
